#!/usr/bin/env bash
# jfs mount vs the local disk vs libfuse's passthrough_ll (the FUSE baseline), in one run:
#   bench/fuse_vs_local.sh JFS [SIZE_MIB]
# Volume: SQLite + a local-directory bucket in a temp dir on the same disk as the local runs.
# Big-file sequential write/read with fio (1 MiB psync, end_fsync), metadata ops (create/stat/unlink
# of empty files) with a small Python loop, and `jfs bench` (juicefs bench's workloads) on the mount
# and on the local disk. Reads start cold on every target without needing
# drop_caches (not allowed on shared machines): posix_fadvise(DONTNEED) evicts the read file from
# the page cache and, behind a FUSE mount, also the files that back it (jfs: the volume's block
# files in the local bucket; passthrough_ll: its source file), so each target reads from the disk.
# Prints MiB/s and ops/s per target and the ratios the issue asks for, plus the load average
# (the machine is shared: numbers are only comparable within one run). Needs root, /dev/fuse,
# fio, gcc and libfuse3-dev. Not a test.
set -eu
JFS=$1
SIZE=${2:-512}
NFILES=${NFILES:-2000}
for t in fio gcc python3 fusermount3; do command -v $t >/dev/null || { echo "needs $t"; exit 1; }; done
T=$(mktemp -d /var/tmp/jfs-fuse-bench.XXXXXX)
MNT=$T/jfs
PT=$T/pt
mkdir -p "$MNT" "$PT" "$T/local" "$T/ptsrc"
cleanup() {
  for m in "$MNT" "$PT"; do
    mountpoint -q "$m" && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
  done
  rm -rf "$T"
}
trap cleanup EXIT

EX=/usr/share/doc/libfuse3-dev/examples
gcc -O2 -Wall "$EX/passthrough_ll.c" -I"$EX" -o "$T/passthrough_ll" $(pkg-config --cflags --libs fuse3)
"$T/passthrough_ll" -o source="$T/ptsrc",allow_other,default_permissions "$PT"

"$JFS" format "sqlite3://$T/meta.db" fusebench --bucket "$T/data" --trash-days 0 >/dev/null
"$JFS" mount "sqlite3://$T/meta.db" "$MNT" -d

# Evicts every regular file under the given paths from the page cache (clean pages only: the
# writes ended with fsync, and `sync` covers the files behind the FUSE mounts).
evict() {
  sync
  python3 - "$@" <<'PY'
import os, sys
for top in sys.argv[1:]:
    for root, _, files in os.walk(top):
        for f in files:
            try:
                fd = os.open(os.path.join(root, f), os.O_RDONLY)
            except OSError:
                continue
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            os.close(fd)
PY
}

# fio bandwidth in MiB/s of one job: $1 dir, $2 rw (write|read)
fio_bw() {
  local out
  out=$(fio --name=seq --directory="$1" --rw="$2" --bs=1M --size="${SIZE}M" --ioengine=psync \
    --end_fsync=1 --numjobs=1 --group_reporting --output-format=terse --terse-version=3 2>/dev/null)
  # terse v3: field 7 = read KiB/s, field 48 = write KiB/s
  if [ "$2" = write ]; then echo "$out" | awk -F';' '{printf "%.1f", $48/1024}'
  else echo "$out" | awk -F';' '{printf "%.1f", $7/1024}'; fi
}

# ops/s of create, stat, unlink of NFILES empty files in $1
meta_ops() {
  python3 - "$1" "$NFILES" <<'EOF'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(d, "m"), exist_ok=True)
names = [os.path.join(d, "m", "f%06d" % i) for i in range(n)]
res = []
t = time.perf_counter()
for p in names: os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
res.append(n / (time.perf_counter() - t))
t = time.perf_counter()
for p in names: os.stat(p)
res.append(n / (time.perf_counter() - t))
t = time.perf_counter()
for p in names: os.unlink(p)
res.append(n / (time.perf_counter() - t))
print(" ".join("%.0f" % r for r in res))
EOF
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A W R M
for target in local jfs pt; do
  case $target in local) dir=$T/local ;; jfs) dir=$MNT ;; pt) dir=$PT ;; esac
  W[$target]=$(fio_bw "$dir" write)
  case $target in
    local) evict "$dir" ;;
    jfs) evict "$dir" "$T/data" ;;
    pt) evict "$dir" "$T/ptsrc" ;;
  esac
  R[$target]=$(fio_bw "$dir" read)
  rm -f "$dir"/seq.*
  M[$target]=$(meta_ops "$dir")
done
# `jfs bench` (juicefs bench's workloads: a SIZE MiB file, 100 files of 128 KiB, stat) on the
# mount and on the local disk, with plain system calls; before each read phase it fsyncs the files
# and drops them from the page cache (posix_fadvise), which behind the mount leaves the volume's
# block files cached: its read rows are warm for jfs, cold for the local disk.
for target in local jfs; do
  case $target in local) dir=$T/local ;; jfs) dir=$MNT ;; esac
  "$JFS" bench "$dir" --big-file-size "${SIZE}M" --json >"$T/bench.$target"
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %12s %12s %10s %10s %10s\n' target "write MiB/s" "read MiB/s" create/s stat/s unlink/s
for target in local jfs pt; do
  read -r c s u <<<"${M[$target]}"
  printf '%-16s %12s %12s %10s %10s %10s\n' "$target" "${W[$target]}" "${R[$target]}" "$c" "$s" "$u"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
read -r jc js ju <<<"${M[jfs]}"
read -r pc ps pu <<<"${M[pt]}"
echo "jfs/local: write $(ratio "${W[jfs]}" "${W[local]}")x (goal >= 0.7), read $(ratio "${R[jfs]}" "${R[local]}")x (goal >= 0.7)"
echo "jfs/passthrough_ll: create $(ratio "$jc" "$pc")x, stat $(ratio "$js" "$ps")x, unlink $(ratio "$ju" "$pu")x (goal >= 0.5)"
python3 - "$T/bench.local" "$T/bench.jfs" <<'PY'
import json, sys
local, jfs = ({r["item"]: r for r in json.load(open(f))["results"]} for f in sys.argv[1:3])
print("jfs bench          local        jfs mount    ratio")
for item, r in local.items():
    j = jfs[item]
    print("%-17s %9.1f %-8s %9.1f %-8s %5.2fx" % (item, r["value"], r["unit"], j["value"], j["unit"],
                                                   j["value"] / r["value"]))
PY
