# Helpers for the `jfs` command tests; sourced after JFS (the jfs binary) and T (a scratch
# directory) are set. Each check counts in CHECKS.
#   run ARGS...                 runs jfs: stdout in $T/out, stderr in $T/err, status in RC
#   ok ARGS...                  jfs must succeed with nothing on stderr
#   fails CODE PATTERN ARGS...  jfs must exit CODE with exactly one stderr line starting with
#                               "jfs: " and matching the extended regex PATTERN
#   out_has / out_lacks REGEX   on the last stdout
#   fail MESSAGE                stops the test, showing the last stdout/stderr
CHECKS=0

fail() {
  echo "FAIL: $*" >&2
  echo "--- stdout:" >&2; cat "$T/out" >&2 2>/dev/null
  echo "--- stderr:" >&2; cat "$T/err" >&2 2>/dev/null
  exit 1
}

run() {
  "$JFS" "$@" >"$T/out" 2>"$T/err"
  RC=$?
  CHECKS=$((CHECKS + 1))
}

ok() {
  run "$@"
  [ "$RC" -eq 0 ] || fail "jfs $* exited $RC"
  [ ! -s "$T/err" ] || fail "jfs $* wrote to stderr"
}

fails() {
  local code=$1 pattern=$2
  shift 2
  run "$@"
  [ "$RC" -eq "$code" ] || fail "jfs $* exited $RC, expected $code"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "jfs $*: expected one line on stderr"
  grep -q '^jfs: ' "$T/err" || fail "jfs $*: stderr does not start with 'jfs: '"
  grep -Eq -- "$pattern" "$T/err" || fail "jfs $*: stderr does not match /$pattern/"
}

out_has() { grep -Eq -- "$1" "$T/out" || fail "stdout does not match /$1/"; }
out_lacks() { ! grep -Eq -- "$1" "$T/out" || fail "stdout unexpectedly matches /$1/"; }
