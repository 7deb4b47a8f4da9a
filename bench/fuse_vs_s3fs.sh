#!/usr/bin/env bash
# jfs mount vs s3fs (Debian's s3fs-fuse) on the same loopback S3 server, in one run:
#   bench/fuse_vs_s3fs.sh JFS [SIZE_MIB]
# The server is s3rver 3.7.1 (npm package `s3rver`: s3fs 1.90 fails SigV4 against
# @20minutes/s3rver 4.0.4), started here on port 14570 over a temp dir, one bucket per client.
# jfs: SQLite metadata in the temp dir + that S3 bucket for data. s3fs: its own bucket, path-style.
# Measures big-file sequential write/read with fio (1 MiB psync, end_fsync; reads start cold: both
# are remounted after the write, jfs has no disk cache configured) and the
# creation of NFILES small files (4 KiB each, written and closed). Prints MiB/s, files/s, the
# ratios the issue asks for (write/read >= 2x, small-file create >= 20x) and the load average, and
# the server's own ceilings: its big-object GET rate (`jfs objbench`, one curl GET), and its rate
# of 4 KiB PUTs sent one at a time (`jfs objbench -p 1`), each as a multiple of s3fs's figure.
# jfs runs with its defaults (no disk cache, so every close uploads its block before returning,
# as JuiceFS without --writeback does); a last row remounts jfs with a disk cache in the temp dir
# and --writeback (close returns once the block is staged on the local disk) for small files.
# Needs root, /dev/fuse, fio, s3fs and s3rver 3.7.1 installed under $S3RVER3_DIR (default
# .test-tools/s3rver3 in the repo); says what is missing instead of installing it. Not a test.
set -eu
JFS=$1
SIZE=${2:-256}
NFILES=${NFILES:-500}
PORT=14570
REPO=$(cd "$(dirname "$0")/.." && pwd)
S3RVER3_DIR=${S3RVER3_DIR:-$REPO/.test-tools/s3rver3}
CLI=$S3RVER3_DIR/node_modules/s3rver/bin/s3rver.js

missing=()
for t in fio python3 fusermount3 node curl; do command -v $t >/dev/null || missing+=("$t"); done
command -v s3fs >/dev/null || missing+=("s3fs (apt-get install s3fs)")
[ -f "$CLI" ] || missing+=("s3rver 3.7.1 (mkdir -p $S3RVER3_DIR && cd $S3RVER3_DIR && npm install s3rver@3.7.1)")
if [ ${#missing[@]} -gt 0 ]; then
  echo "fuse_vs_s3fs: missing, not run:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi

T=$(mktemp -d /var/tmp/jfs-s3fs-bench.XXXXXX)
MNT=$T/jfs
S3FS=$T/s3fs
mkdir -p "$MNT" "$S3FS" "$T/s3data"
SRV_PID=
cleanup() {
  for m in "$MNT" "$S3FS"; do
    mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
  done
  # Waits for the server to exit: the next run's server must find the port free.
  [ -n "$SRV_PID" ] && { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; }
  rm -rf "$T"
}
trap cleanup EXIT

# Another server on the port (an earlier run still exiting) would answer for ours.
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  echo "fuse_vs_s3fs: port $PORT is already in use" >&2
  exit 1
fi
node "$CLI" -d "$T/s3data" -a 127.0.0.1 -p $PORT --silent \
  --configure-bucket jfsbench --configure-bucket s3fsbench --configure-bucket objbench \
  >"$T/s3rver.log" 2>&1 &
SRV_PID=$!
for _ in $(seq 1 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 "$SRV_PID" 2>/dev/null || { cat "$T/s3rver.log" >&2; exit 1; }
  sleep 0.1
done
kill -0 "$SRV_PID" 2>/dev/null || { cat "$T/s3rver.log" >&2; exit 1; }
EP=http://127.0.0.1:$PORT

"$JFS" format "sqlite3://$T/meta.db" jfsbench --storage s3 --bucket "$EP/jfsbench" \
  --access-key S3RVER --secret-key S3RVER --trash-days 0 >/dev/null
echo "S3RVER:S3RVER" >"$T/passwd"
chmod 600 "$T/passwd"
# (Re)mounts a target: a fresh mount holds no data from earlier writes (s3fs keeps written files in
# its local temp files while cached), so reads after a remount come from the S3 server.
mount_target() {
  case $1 in
    jfs) "$JFS" mount "sqlite3://$T/meta.db" "$MNT" -d ;;
    s3fs)
      s3fs s3fsbench "$S3FS" -o url="$EP",use_path_request_style,passwd_file="$T/passwd"
      for _ in $(seq 1 50); do mountpoint -q "$S3FS" && break; sleep 0.1; done
      mountpoint -q "$S3FS" || { echo "s3fs did not mount" >&2; exit 1; } ;;
  esac
}
remount_target() {
  local m=$MNT
  [ "$1" = s3fs ] && m=$S3FS
  sync
  fusermount3 -u "$m"
  for _ in $(seq 1 50); do mountpoint -q "$m" || break; sleep 0.1; done
  mount_target "$1"
}
mount_target jfs
mount_target s3fs

evict() {
  sync
  python3 - "$@" <<'PY'
import os, sys
for top in sys.argv[1:]:
    for root, _, files in os.walk(top):
        for f in files:
            fd = os.open(os.path.join(root, f), os.O_RDONLY)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
PY
}

fio_bw() {  # $1 dir, $2 write|read: MiB/s
  local out
  out=$(fio --name=seq --directory="$1" --rw="$2" --bs=1M --size="${SIZE}M" --ioengine=psync \
    --end_fsync=1 --numjobs=1 --group_reporting --output-format=terse --terse-version=3 2>/dev/null)
  if [ "$2" = write ]; then echo "$out" | awk -F';' '{printf "%.1f", $48/1024}'
  else echo "$out" | awk -F';' '{printf "%.1f", $7/1024}'; fi
}

small_files() {  # $1 dir: files/s creating NFILES files of 4 KiB
  python3 - "$1" "$NFILES" <<'PY'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(d, "small"), exist_ok=True)
data = os.urandom(4096)
t = time.perf_counter()
for i in range(n):
    fd = os.open(os.path.join(d, "small", "f%06d" % i), os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, data)
    os.close(fd)
print("%.0f" % (n / (time.perf_counter() - t)))
PY
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A W R C
for target in jfs s3fs; do
  case $target in jfs) dir=$MNT ;; s3fs) dir=$S3FS ;; esac
  W[$target]=$(fio_bw "$dir" write)
  remount_target $target
  evict "$dir"
  R[$target]=$(fio_bw "$dir" read)
  rm -f "$dir"/seq.*
  C[$target]=$(small_files "$dir")
done
# Small files again with the disk cache and --writeback (blocks staged locally, uploaded later).
fusermount3 -u "$MNT"
for _ in $(seq 1 50); do mountpoint -q "$MNT" || break; sleep 0.1; done
"$JFS" mount "sqlite3://$T/meta.db" "$MNT" -d --cache-dir "$T/cache" --cache-size 1024 --writeback
mkdir -p "$MNT/wb"
C[jfs-wb]=$(small_files "$MNT/wb")
# The server's own rates (`jfs objbench` on a third bucket): big-object GETs with 8 in flight, what
# any client can read at most; and 4 KiB PUTs one at a time, what a client whose close waits for
# its upload (jfs without --writeback, as JuiceFS) can create at most.
objrow() { grep -E "^\| +$1 " "$2" | awk -F'|' '{print $3+0}'; }
"$JFS" objbench "$EP/objbench" --storage s3 --access-key S3RVER --secret-key S3RVER \
  --skip-functional-tests --big-object-size "${SIZE}M" --small-objects 1 -p 8 >"$T/ob-big" 2>&1 ||
  { cat "$T/ob-big" >&2; exit 1; }
"$JFS" objbench "$EP/objbench" --storage s3 --access-key S3RVER --secret-key S3RVER \
  --skip-functional-tests --big-object-size 4M --small-object-size 4K --small-objects 200 -p 1 \
  >"$T/ob-small" 2>&1 || { cat "$T/ob-small" >&2; exit 1; }
# And one SIZE MiB object streamed by curl to /dev/null (best of two): s3rver 3.7.1 is one
# Node.js process, whose rate does not grow with parallel requests.
head -c $((SIZE << 20)) /dev/urandom >"$T/obj"
CURL=(curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "S3RVER:S3RVER"
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
"${CURL[@]}" -T "$T/obj" "$EP/objbench/curl-big" -o /dev/null
rm -f "$T/obj"
best=0
for _ in 1 2; do
  t0=$(date +%s.%N)
  "${CURL[@]}" "$EP/objbench/curl-big" -o /dev/null
  t1=$(date +%s.%N)
  best=$(awk -v b="$best" -v m="$SIZE" -v t0="$t0" -v t1="$t1" \
    'BEGIN { r = m / (t1 - t0); printf "%.1f", (r > b ? r : b) }')
done
SRV_GET=$(awk -v a="$(objrow "download objects" "$T/ob-big")" -v b="$best" \
  'BEGIN { printf "%.1f", (a > b ? a : b) }')
SRV_PUT=$(objrow "put small objects" "$T/ob-small")
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %12s %12s %16s\n' target "write MiB/s" "read MiB/s" "small files/s"
for target in jfs s3fs; do
  printf '%-8s %12s %12s %16s\n' "$target" "${W[$target]}" "${R[$target]}" "${C[$target]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
echo "jfs/s3fs: write $(ratio "${W[jfs]}" "${W[s3fs]}")x, read $(ratio "${R[jfs]}" "${R[s3fs]}")x" \
  "(goal >= 2), small-file create $(ratio "${C[jfs]}" "${C[s3fs]}")x (goal >= 20)"
echo "jfs --writeback: ${C[jfs-wb]} small files/s, $(ratio "${C[jfs-wb]}" "${C[s3fs]}")x s3fs"
echo "server: GET ${SRV_GET} MiB/s (best of objbench -p 8 and one curl GET) = $(ratio "$SRV_GET" "${R[s3fs]}")x" \
  "s3fs's read; 4 KiB PUTs one at a time ${SRV_PUT}/s = $(ratio "$SRV_PUT" "${C[s3fs]}")x s3fs's" \
  "small-file rate (the most any client reaches if each close waits for its PUT)"
