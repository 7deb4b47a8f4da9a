#!/usr/bin/env bash
# `jfs objbench` end to end: the functional rows and the performance rows it prints, the exit
# status, and that the bucket holds nothing afterwards; bad input gives one error line.
#
# Usage: objbench_test.sh PATH/TO/jfs file   (no server)
#        objbench_test.sh PATH/TO/jfs s3     (needs JFS_TEST_S3_* from scripts/servers.d/s3.sh)
set -uo pipefail

JFS=${1:?usage: objbench_test.sh PATH/TO/jfs file|s3}
MODE=${2:?usage: objbench_test.sh PATH/TO/jfs file|s3}
T=$(mktemp -d "${TMPDIR:-/tmp}/jfs_objbench_test.XXXXXX")
trap 'rm -rf "$T"' EXIT

fail() { echo "FAIL: $*" >&2; cat "$T/out" "$T/err" >&2 2>/dev/null; exit 1; }

# The RESULT / VALUE cell of a table row: "| a | b | c |" → the last cell, trimmed.
cell() { # cell FILE TITLE
  grep -E "^\|[^|]*\| +$2 \|" "$1" | head -1 | awk -F'|' '{gsub(/^ +| +$/, "", $(NF-1)); print $(NF-1)}'
}
row_value() { # row_value FILE ITEM → the VALUE cell of a performance row
  grep -E "^\| +$2 \|" "$1" | head -1 | awk -F'|' '{gsub(/^ +| +$/, "", $3); print $3}'
}
expect_cell() { # expect_cell TITLE WANT
  local got
  got=$(cell "$T/out" "$1")
  [ "$got" = "$2" ] || fail "functional test '$1': expected '$2', got '$got'"
}
expect_rate() { # expect_rate ITEM UNIT: a positive number with its unit
  local got
  got=$(row_value "$T/out" "$1")
  [[ "$got" =~ ^[0-9]+\.[0-9]{2}\ $2$ ]] || fail "performance row '$1': '$got' is not a rate in $2"
  [[ "$got" =~ ^0\.00 ]] && fail "performance row '$1' is zero"
  return 0
}

SMALL=(--big-object-size 8M --block-size 1M --small-object-size 16K --small-objects 20 -p 3)

if [ "$MODE" = file ]; then
  B="$T/bucket"
  ARGS=("$B")
  # Bad input: one line on stderr, non-zero exit, nothing created.
  "$JFS" objbench "$B" --storage nosuch >"$T/out" 2>"$T/err" && fail "unknown storage accepted"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "unknown storage: not one error line"
  grep -q "unknown storage type 'nosuch'" "$T/err" || fail "unknown storage: unclear message"
  "$JFS" objbench http://127.0.0.1:0/bkt --storage s3 --access-key a --secret-key b \
    >"$T/out" 2>"$T/err" && fail "an unreachable endpoint was accepted"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "unreachable endpoint: not one error line"
  grep -q "cannot access" "$T/err" || fail "unreachable endpoint: unclear message"
  "$JFS" objbench "$B" --block-size 0 >"$T/out" 2>"$T/err" && fail "--block-size 0 accepted"
  grep -q "invalid --block-size" "$T/err" || fail "bad --block-size: unclear message"
  [ -e "$B" ] && fail "bad input created the bucket directory"
elif [ "$MODE" = s3 ]; then
  for v in JFS_TEST_S3_ENDPOINT JFS_TEST_S3_ACCESS_KEY JFS_TEST_S3_SECRET_KEY; do
    [ -n "${!v:-}" ] || { echo "FAIL: $v is not set: start the S3 test server" >&2; exit 1; }
  done
  BUCKET_NAME="jfs-objbench-$$-$RANDOM"
  ARGS=("$JFS_TEST_S3_ENDPOINT/$BUCKET_NAME" --storage s3)
  # A wrong secret key: one line naming the problem, exit 1, the secret never printed.
  "$JFS" objbench "${ARGS[@]}" --access-key "$JFS_TEST_S3_ACCESS_KEY" \
    --secret-key wrong-secret-zz9 >"$T/out" 2>"$T/err" && fail "a wrong secret key was accepted"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "wrong key: not one error line"
  grep -q "Permission denied.*SignatureDoesNotMatch" "$T/err" || fail "wrong key: unclear message"
  grep -q "wrong-secret-zz9" "$T/out" "$T/err" && fail "the secret key was printed"
  # Keys from the AWS variables, as format takes them.
  export AWS_ACCESS_KEY_ID=$JFS_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$JFS_TEST_S3_SECRET_KEY
  export AWS_DEFAULT_REGION=us-east-1
else
  fail "mode must be file or s3"
fi

"$JFS" objbench "${ARGS[@]}" "${SMALL[@]}" >"$T/out" 2>"$T/err" || fail "objbench failed"
grep -q "^Start Functional Testing" "$T/out" || fail "no functional tests"
for t in "create a bucket" "put an object" "get an object" "get non-exist" \
  "get partial object" "head an object" "delete an object" "delete non-exist" "list objects" \
  "special key" "put a big object"; do
  expect_cell "$t" pass
done
if [ "$MODE" = file ]; then
  expect_cell "multipart upload" "not support"
  expect_cell "change permission" pass
  expect_cell "change mtime" pass
  if [ "$(id -u)" -eq 0 ]; then expect_cell "change owner/group" pass; else
    expect_cell "change owner/group" "root required"; fi
else
  expect_cell "put an empty object" pass
  expect_cell "multipart upload" pass
  for t in "change owner/group" "change permission" "change mtime"; do
    expect_cell "$t" "not support"
  done
fi
grep -q "^Benchmark finished! block-size: 1.0 MiB, big-object-size: 8.0 MiB, small-object-size: 16 KiB, small-objects: 20, NumThreads: 3$" \
  "$T/out" || fail "no or wrong summary line"
expect_rate "upload objects" "MiB/s"
expect_rate "download objects" "MiB/s"
for t in "put small objects" "get small objects" "list objects" "head objects" "delete objects"; do
  expect_rate "$t" "objects/s"
done
grep -qE "^\| +list objects \|.*ms/ 28 objects \|$" "$T/out" || fail "list cost is not per 28 objects"
# The rows come in juicefs's order.
order=$(grep -E "^\| +(upload|download|put small|get small|list|head|delete) objects \|" "$T/out" |
  awk -F'|' '{gsub(/^ +| +$/, "", $2); printf "%s;", $2}')
[ "$order" = "upload objects;download objects;put small objects;get small objects;list objects;head objects;delete objects;" ] ||
  fail "rows out of order: $order"
if [ "$MODE" = file ]; then
  expect_rate "change permissions" "objects/s"
  expect_rate "update mtime" "objects/s"
  # Clean: the bucket directory is empty again.
  [ -z "$(ls -A "$B")" ] || fail "objects left in the bucket: $(find "$B" | head)"
  # --skip-functional-tests goes straight to the performance tests.
  "$JFS" objbench "$B" "${SMALL[@]}" --skip-functional-tests >"$T/out" 2>"$T/err" ||
    fail "objbench --skip-functional-tests failed"
  grep -q "Functional" "$T/out" && fail "functional tests ran despite --skip-functional-tests"
  expect_rate "upload objects" "MiB/s"
  [ -z "$(ls -A "$B")" ] || fail "objects left in the bucket after the second run"
else
  for t in "update mtime" "change permissions" "change owner/group"; do
    [ "$(row_value "$T/out" "$t")" = "not support" ] || fail "'$t' should be 'not support' on S3"
  done
  # Clean: the bucket lists no object.
  /usr/bin/aws --endpoint-url "$JFS_TEST_S3_ENDPOINT" s3 ls --recursive "s3://$BUCKET_NAME" \
    >"$T/left" 2>"$T/err" || fail "cannot list the bucket with aws-cli"
  left=$(wc -l <"$T/left")
  [ "$left" = 0 ] || fail "objects left in the bucket: $left"
fi
echo "objbench $MODE: all checks passed"
