#!/usr/bin/env bash
# Real-mount tests of `jfs mount` / `jfs umount`:
#   fuse_test.sh PART JFS POSIX_CHECK RW_FUZZ
# PART: posix      POSIX behaviour suite on the mount vs a local directory (results and errno)
#       rw         randomized pwrite/pread/truncate/mmap workload vs a local file (seed printed)
#       crash      kill -9 of the mount process, `jfs umount --force`, remount sees fsync'd data
#       locks      flock(2) and fcntl(2) locks between processes on two mounts of one volume:
#                  conflicts, F_GETLK, blocking until the holder closes, a signal interrupting
#                  a blocked flock
#       lifecycle  foreground/background mounts, SIGTERM/SIGINT unmount, start failures,
#                  two mounts of one volume (close-to-open), statfs, xattrs, .trash
# Needs root and /dev/fuse (a missing one FAILS). Every step that touches the mount runs under
# `timeout`; on exit the mount is torn down even when hung (connection abort, lazy unmount).
set -u
PART=$1
JFS=$2
POSIX_CHECK=$3
RW_FUZZ=$4

fail() {
  echo "FAIL [$PART]: $*" >&2
  for f in "$T"/*.log; do [ -s "$f" ] && { echo "--- $f:" >&2; tail -20 "$f" >&2; }; done
  exit 1
}

[ "$(id -u)" -eq 0 ] || { echo "FAIL: FUSE mount tests need root" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "FAIL: /dev/fuse is missing" >&2; exit 1; }

T=$(mktemp -d /tmp/jfs-fuse-test.XXXXXX)
chmod 755 "$T"
MNT=$T/mnt
MNT2=$T/mnt2
mkdir -p "$MNT" "$MNT2"
META="sqlite3://$T/meta.db"
PIDS=()

# Aborts the FUSE connection of a mount (for a hung daemon), then detaches it.
teardown_mount() {
  local m=$1
  mountpoint -q "$m" 2>/dev/null || return 0
  timeout 10 fusermount3 -u "$m" 2>/dev/null && return 0
  local dev
  dev=$(mountpoint -d "$m" 2>/dev/null)
  if [ -n "$dev" ]; then
    mountpoint -q /sys/fs/fuse/connections || mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
    echo 1 >"/sys/fs/fuse/connections/${dev#*:}/abort" 2>/dev/null
  fi
  timeout 10 fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
}

cleanup() {
  teardown_mount "$MNT"
  teardown_mount "$MNT2"
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$T"
}
trap cleanup EXIT

# Waits (up to 10 s) until $1 is a mount point.
wait_mounted() {
  local i
  for i in $(seq 100); do
    mountpoint -q "$1" && return 0
    sleep 0.1
  done
  return 1
}

# Waits (up to 20 s) for process $1 to exit; its status in WAIT_RC.
wait_exit() {
  local i
  for i in $(seq 200); do
    if ! kill -0 "$1" 2>/dev/null; then
      wait "$1" 2>/dev/null
      WAIT_RC=$?
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Starts a foreground mount as a child of this shell: pid in MOUNT_PID.
mount_fg() {
  local m=$1
  shift
  "$JFS" mount "$META" "$m" "$@" >>"$T/mount.log" 2>&1 &
  MOUNT_PID=$!
  PIDS+=("$MOUNT_PID")
  wait_mounted "$m" || fail "mount on $m did not come up"
}

# Unmounts and waits for the daemon to finish (it flushes and closes the session).
umount_wait() {
  timeout 30 "$JFS" umount "$1" || fail "jfs umount $1 failed"
  wait_exit "$2" || fail "mount process $2 did not exit after umount"
  [ "$WAIT_RC" -eq 0 ] || fail "mount process exited with $WAIT_RC"
}

timeout 30 "$JFS" format "$META" fusevol --bucket "$T/data" --trash-days 0 >"$T/format.log" 2>&1 ||
  fail "jfs format failed"

case "$PART" in
posix)
  mount_fg "$MNT" -o allow_other
  mkdir "$T/local" "$MNT/posix" || fail "mkdir on the mount failed"
  chmod 755 "$T/local" "$MNT/posix"
  timeout 120 "$POSIX_CHECK" "$T/local" >"$T/expected.txt" 2>&1 || fail "posix_check on local dir"
  timeout 120 "$POSIX_CHECK" "$MNT/posix" >"$T/actual.txt" 2>&1 || fail "posix_check on the mount"
  [ "$(wc -l <"$T/expected.txt")" -gt 150 ] || fail "posix_check printed too little"
  if ! diff -u "$T/expected.txt" "$T/actual.txt" >"$T/posix.diff"; then
    cat "$T/posix.diff" >&2
    fail "the mount differs from the local file system (- local, + mount)"
  fi
  echo "posix: $(wc -l <"$T/expected.txt") checks identical to the local file system"
  # The same suite without kernel permission checks: the volume's own checks must agree too.
  # (With no caches: a cached dentry lets the kernel walk a path without asking the volume.)
  umount_wait "$MNT" "$MOUNT_PID"
  mount_fg "$MNT" -o allow_other --non-default-permission --attr-cache 0 --entry-cache 0 \
    --dir-entry-cache 0
  mkdir "$MNT/posix2" && chmod 755 "$MNT/posix2"
  timeout 120 "$POSIX_CHECK" "$MNT/posix2" >"$T/actual2.txt" 2>&1 ||
    fail "posix_check on the mount (non-default-permission)"
  if ! diff -u "$T/expected.txt" "$T/actual2.txt" >"$T/posix2.diff"; then
    cat "$T/posix2.diff" >&2
    fail "without default_permissions the mount differs from the local file system"
  fi
  umount_wait "$MNT" "$MOUNT_PID"
  echo "posix: also identical with --non-default-permission"
  ;;

rw)
  mount_fg "$MNT" -o allow_other
  SEED=${JFS_TEST_SEED:-$(date +%s)}
  timeout 240 "$RW_FUZZ" "$MNT/fuzz" "$T/model" "$SEED" 1500 || fail "rw_fuzz (seed $SEED)"
  # Remount: the data must come back from the volume, not from caches.
  umount_wait "$MNT" "$MOUNT_PID"
  mount_fg "$MNT" -o allow_other
  timeout 60 cmp "$MNT/fuzz" "$T/model" || fail "after remount the file differs (seed $SEED)"
  # The kernel reads ahead 4 MiB in 1 MiB requests (its default is 128 KiB, one request each).
  RA=$(cat "/sys/class/bdi/$(mountpoint -d "$MNT")/read_ahead_kb") || fail "no bdi for the mount"
  [ "$RA" = 4096 ] || fail "kernel readahead of the mount is $RA KiB, not 4096"
  # Big sequential files across block and chunk boundaries.
  head -c $((70 << 20)) /dev/urandom >"$T/big"
  timeout 120 dd if="$T/big" of="$MNT/big" bs=1M status=none || fail "dd to the mount"
  timeout 60 cmp "$T/big" "$MNT/big" || fail "big file differs"
  umount_wait "$MNT" "$MOUNT_PID"
  # The same workload with the kernel's writeback cache (the kernel appends and reads pages of
  # write-only files itself).
  mount_fg "$MNT" -o writeback_cache
  timeout 240 "$RW_FUZZ" "$MNT/fuzz-wb" "$T/model-wb" "$((SEED + 1))" 500 ||
    fail "rw_fuzz with writeback_cache (seed $((SEED + 1)))"
  printf 'abc\n' >"$MNT/wo" && printf 'def\n' >>"$MNT/wo"
  [ "$(cat "$MNT/wo")" = "$(printf 'abc\ndef')" ] || fail "O_APPEND with writeback_cache"
  umount_wait "$MNT" "$MOUNT_PID"
  echo "rw: seed $SEED OK"
  ;;

crash)
  mount_fg "$MNT" -o allow_other
  head -c $((5 << 20)) /dev/urandom >"$T/a.ref"
  head -c $((3 << 20)) /dev/urandom >"$T/b.ref"
  timeout 60 dd if="$T/a.ref" of="$MNT/a" bs=1M conv=fsync status=none || fail "dd a"
  mkdir "$MNT/dir" || fail "mkdir dir"
  # b is still open (fd 3) when the daemon dies; its data was fsync'd through another handle.
  exec 3>"$MNT/dir/b"
  cat "$T/b.ref" >&3
  timeout 30 sync "$MNT/dir/b" || fail "fsync b"
  kill -9 "$MOUNT_PID"
  wait_exit "$MOUNT_PID" || fail "killed daemon still there"
  exec 3>&-
  if timeout 10 stat "$MNT" >/dev/null 2>&1; then fail "mount still answers after kill -9"; fi
  mountpoint -q "$MNT" 2>/dev/null || grep -q " $MNT " /proc/mounts || fail "mount vanished by itself"
  timeout 30 "$JFS" umount "$MNT" --force || fail "jfs umount --force failed"
  grep -q " $MNT " /proc/mounts && fail "still mounted after umount --force"
  timeout 10 stat "$MNT" >/dev/null || fail "mount point not usable after umount --force"
  mount_fg "$MNT" -o allow_other
  timeout 60 cmp "$T/a.ref" "$MNT/a" || fail "fsync'd file a lost after kill -9"
  timeout 60 cmp "$T/b.ref" "$MNT/dir/b" || fail "fsync'd file b lost after kill -9"
  umount_wait "$MNT" "$MOUNT_PID"
  echo "crash: kill -9, umount --force and remount kept every fsync'd byte"
  ;;

locks)
  mount_fg "$MNT"
  M1=$MOUNT_PID
  mount_fg "$MNT2"
  M2=$MOUNT_PID
  echo data >"$MNT/lockfile" || fail "create lockfile"
  timeout 60 python3 - "$MNT/lockfile" "$MNT2/lockfile" >"$T/locks.log" 2>&1 <<'PY' || fail "locks through two mounts: $(cat "$T/locks.log")"
import fcntl, os, signal, struct, sys, time
a, b = sys.argv[1], sys.argv[2]
up_r, up_w = os.pipe()
down_r, down_w = os.pipe()
pid = os.fork()
if pid == 0:  # the holder, on the first mount
    fa = open(a, 'r+')
    fcntl.flock(fa, fcntl.LOCK_EX)
    fcntl.lockf(fa, fcntl.LOCK_EX, 10, 0)  # bytes [0, 10)
    os.write(up_w, b'1')
    os.read(down_r, 1)
    time.sleep(0.5)
    fa.close()  # releases the flock and the POSIX lock
    os._exit(0)
os.read(up_r, 1)
fb = open(b, 'r+')  # the other mount: another client of the volume
def conflicts(fn):
    try:
        fn()
    except (BlockingIOError, PermissionError):
        return True
    return False
if not conflicts(lambda: fcntl.flock(fb, fcntl.LOCK_EX | fcntl.LOCK_NB)):
    sys.exit("flock did not conflict across mounts")
if not conflicts(lambda: fcntl.flock(fb, fcntl.LOCK_SH | fcntl.LOCK_NB)):
    sys.exit("shared flock did not conflict with an exclusive one")
if not conflicts(lambda: fcntl.lockf(fb, fcntl.LOCK_SH | fcntl.LOCK_NB, 1, 5)):
    sys.exit("fcntl lock did not conflict across mounts")
fcntl.lockf(fb, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 20)  # outside the held range
fcntl.lockf(fb, fcntl.LOCK_UN, 1, 20)
# F_GETLK reports the holder's range (struct flock on x86-64/aarch64: 32 bytes).
q = struct.pack('hhxxxxqqi4x', fcntl.F_WRLCK, os.SEEK_SET, 3, 1, 0)
t, wh, st, ln, lpid = struct.unpack('hhxxxxqqi4x', fcntl.fcntl(fb, fcntl.F_GETLK, q))
if (t, st, ln) != (fcntl.F_WRLCK, 0, 10):
    sys.exit("F_GETLK returned type %d start %d len %d" % (t, st, ln))
# A signal interrupts a blocked flock (FUSE INTERRUPT), the lock is still held elsewhere.
class Alarm(Exception):
    pass
def on_alarm(sig, frame):
    raise Alarm()
signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, 0.3)
try:
    fcntl.flock(fb, fcntl.LOCK_EX)
    sys.exit("blocking flock returned while the lock was held")
except Alarm:
    pass
signal.setitimer(signal.ITIMER_REAL, 0)
if not conflicts(lambda: fcntl.flock(fb, fcntl.LOCK_EX | fcntl.LOCK_NB)):
    sys.exit("the interrupted waiter took the lock")
# Blocking waits end when the holder closes its file.
t0 = time.time()
os.write(down_w, b'g')
fcntl.flock(fb, fcntl.LOCK_EX)
fcntl.lockf(fb, fcntl.LOCK_EX, 10, 0)
waited = time.time() - t0
if waited < 0.4:
    sys.exit("blocking flock returned after %.2f s, before the holder closed" % waited)
os.waitpid(pid, 0)
print("waited %.2f s" % waited)
PY
  umount_wait "$MNT2" "$M2"
  umount_wait "$MNT" "$M1"
  ;;
lifecycle)
  # Start failures: say why, exit non-zero, leave nothing mounted.
  out=$(timeout 30 "$JFS" mount "sqlite3://$T/none.db" "$MNT" 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "mount of a missing volume exited $rc"
  echo "$out" | grep -q "jfs: mount:" || fail "no error message for a missing volume: $out"
  mountpoint -q "$MNT" && fail "mounted despite the error"
  out=$(timeout 30 "$JFS" mount "sqlite3://$T/none.db" "$MNT" -d 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "background mount of a missing volume exited $rc"
  echo "$out" | grep -q "cannot open volume" || fail "background error not reported: $out"
  out=$(timeout 30 "$JFS" mount "$META" "$T/nodir" 2>&1)
  [ $? -eq 1 ] || fail "mount on a missing directory succeeded"
  out=$(timeout 30 "$JFS" mount "$META" "$MNT" -o no_such_option 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] || fail "mount with a bad -o exited $rc"
  mountpoint -q "$MNT" && fail "mounted despite a bad option"

  # Background mount: returns once mounted; umount stops the daemon.
  timeout 30 "$JFS" mount "$META" "$MNT" -d --enable-xattr || fail "background mount failed"
  mountpoint -q "$MNT" || fail "background mount returned before the mount was ready"
  grep " $MNT " /proc/mounts | grep -q "fuse.juicefs" || fail "no fuse.juicefs entry in /proc/mounts"
  echo hello >"$MNT/x" || fail "write through the background mount"
  [ "$(cat "$MNT/x")" = hello ] || fail "read back"
  setfattr_out=$(python3 -c "
import os; os.setxattr('$MNT/x', 'user.k', b'v1'); print(os.getxattr('$MNT/x', 'user.k').decode(), sorted(os.listxattr('$MNT/x')))" 2>&1) ||
    fail "xattr: $setfattr_out"
  [ "$setfattr_out" = "v1 ['user.k']" ] || fail "xattr round trip: $setfattr_out"
  # .stats: readable counters, hidden from listings, read-only.
  timeout 10 grep -q '^juicefs_fuse_ops_total{method="write"} [1-9]' "$MNT/.stats" ||
    fail ".stats does not count the write: $(timeout 10 cat "$MNT/.stats" 2>&1 | head -20)"
  timeout 10 ls -a "$MNT" | grep -qx .stats && fail ".stats is listed"
  (echo x >"$MNT/.stats") 2>/dev/null && fail ".stats is writable"
  timeout 10 mkdir "$MNT/.stats" 2>/dev/null && fail "mkdir .stats succeeded"
  df_out=$(timeout 10 df -P "$MNT" | tail -1) || fail "statfs"
  echo "$df_out" | grep -q "JuiceFS:fusevol" || fail "df does not name the volume: $df_out"
  timeout 30 "$JFS" umount "$MNT" || fail "umount of the background mount"
  mountpoint -q "$MNT" && fail "still mounted after umount"
  for i in $(seq 100); do
    pgrep -f "jfs mount $META $MNT" >/dev/null || break
    sleep 0.1
  done
  pgrep -f "jfs mount $META $MNT" >/dev/null && fail "background daemon did not exit after umount"

  # Without --enable-xattr, xattrs are not supported.
  mount_fg "$MNT" -o allow_other
  python3 -c "import os; os.setxattr('$MNT/x', 'user.k', b'v')" 2>/dev/null &&
    fail "xattr accepted without --enable-xattr"
  # Locks are not forwarded yet (ENOSYS to the kernel): flock and fcntl locks work locally.
  timeout 10 python3 -c "
import fcntl, os
fd = os.open('$MNT/x', os.O_RDWR)
fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
fd2 = os.open('$MNT/x', os.O_RDWR)
try:
    fcntl.flock(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
    raise SystemExit('second flock granted')
except BlockingIOError:
    pass" || fail "local flock/fcntl locks on the mount"
  # Busy mount: plain umount refuses, --force detaches.
  exec 4<"$MNT/x"
  timeout 10 "$JFS" umount "$MNT" 2>"$T/umount.err" && fail "umount of a busy mount succeeded"
  grep -q "jfs: umount:" "$T/umount.err" || fail "busy umount gave no message"
  exec 4<&-
  # SIGTERM: a clean unmount, exit status 0, data flushed.
  echo "written before SIGTERM" >"$MNT/term"
  kill -TERM "$MOUNT_PID"
  wait_exit "$MOUNT_PID" || fail "SIGTERM did not stop the mount"
  [ "$WAIT_RC" -eq 0 ] || fail "SIGTERM exit status $WAIT_RC"
  mountpoint -q "$MNT" && fail "still mounted after SIGTERM"

  # Two mounts of one volume: close-to-open between them.
  mount_fg "$MNT" -o allow_other
  P1=$MOUNT_PID
  mount_fg "$MNT2"
  P2=$MOUNT_PID
  [ "$(cat "$MNT2/term")" = "written before SIGTERM" ] || fail "data written before SIGTERM lost"
  printf 'version-1' >"$MNT/shared"
  [ "$(cat "$MNT2/shared")" = version-1 ] || fail "second mount does not see a closed file"
  printf 'version-2' >"$MNT/shared"
  [ "$(cat "$MNT2/shared")" = version-2 ] || fail "second mount reads stale data after close"
  mkdir "$MNT2/fromtwo" && touch "$MNT2/fromtwo/f"
  [ -e "$MNT/fromtwo/f" ] || fail "first mount does not see the second's new file"
  rm "$MNT/shared"
  sleep 1.2  # attribute/entry cache of the second mount (1 s)
  [ -e "$MNT2/shared" ] && fail "second mount still sees a removed file after the cache timeout"
  # SIGINT stops the second mount cleanly too.
  kill -INT "$P2"
  wait_exit "$P2" || fail "SIGINT did not stop the mount"
  [ "$WAIT_RC" -eq 0 ] || fail "SIGINT exit status $WAIT_RC"
  umount_wait "$MNT" "$P1"

  # Read-only mount.
  mount_fg "$MNT" --read-only
  touch "$MNT/ro" 2>/dev/null && fail "created a file on a read-only mount"
  [ "$(cat "$MNT/x")" = hello ] || fail "read on a read-only mount"
  umount_wait "$MNT" "$MOUNT_PID"

  # Volume flags: malformed → usage error (2), invalid → start failure (1); nothing mounted.
  out=$(timeout 30 "$JFS" mount "$META" "$MNT" --cache-size lots 2>&1)
  rc=$?
  [ "$rc" -eq 2 ] || fail "mount --cache-size lots exited $rc: $out"
  out=$(timeout 30 "$JFS" mount "$META" "$MNT" --backup-meta 1m 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] && echo "$out" | grep -q "backup-meta" || fail "mount --backup-meta 1m: $rc $out"
  out=$(timeout 30 "$JFS" mount "$META" "$MNT" --writeback 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] && echo "$out" | grep -q "cache-size" || fail "writeback without cache: $rc $out"
  mountpoint -q "$MNT" && fail "mounted despite bad volume flags"
  # The disk cache with writeback through a mount: blocks land in the cache directory and read
  # back after a remount.
  mount_fg "$MNT" --cache-dir "$T/cache" --cache-size 64 --writeback --backup-meta 0
  head -c 3000000 /dev/urandom >"$T/cached.bin"
  cp "$T/cached.bin" "$MNT/cached.bin" || fail "write through a cached mount"
  umount_wait "$MNT" "$MOUNT_PID"
  [ -n "$(find "$T/cache" -path '*/raw/*' -type f | head -1)" ] || fail "nothing in the disk cache"
  mount_fg "$MNT"
  cmp "$T/cached.bin" "$MNT/cached.bin" || fail "data written with writeback differs"
  umount_wait "$MNT" "$MOUNT_PID"
  echo "lifecycle: OK"
  ;;

*)
  fail "unknown part $PART"
  ;;
esac
exit 0
