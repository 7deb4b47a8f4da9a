#!/usr/bin/env bash
# `jfs` on the S3 test server: format --storage s3 (bucket created), cp round trip, ls, and the
# secret key never printed (format output, status, info); a wrong secret key is one clear error
# at format and nothing is stored.
#
# Usage: cli_s3_test.sh PATH/TO/jfs   (needs JFS_TEST_S3_* from scripts/servers.d/s3.sh)
set -uo pipefail

JFS=${1:?usage: cli_s3_test.sh PATH/TO/jfs}
for v in JFS_TEST_S3_ENDPOINT JFS_TEST_S3_ACCESS_KEY JFS_TEST_S3_SECRET_KEY; do
  [ -n "${!v:-}" ] || { echo "FAIL: $v is not set: start the S3 test server" >&2; exit 1; }
done
T=$(mktemp -d "${TMPDIR:-/tmp}/jfs_cli_s3_test.XXXXXX")
trap 'rm -rf "$T"' EXIT
export JFS_META_URL="sqlite3://$T/meta.db"
BUCKET="$JFS_TEST_S3_ENDPOINT/jfs-cli-$$-$RANDOM"
SK=$JFS_TEST_S3_SECRET_KEY

fail() { echo "FAIL: $*" >&2; cat "$T/out" "$T/err" >&2 2>/dev/null; exit 1; }

# Wrong secret: exit 1, one line naming the signature problem, no volume afterwards.
"$JFS" format "$JFS_META_URL" clivol --storage s3 --bucket "$BUCKET" \
  --access-key "$JFS_TEST_S3_ACCESS_KEY" --secret-key wrong-secret-zz9 >"$T/out" 2>"$T/err"
[ $? -eq 1 ] || fail "format with a wrong secret did not exit 1"
grep -q "SignatureDoesNotMatch" "$T/err" || fail "no SignatureDoesNotMatch in the error"
grep -q "wrong-secret-zz9" "$T/out" "$T/err" && fail "the secret key was printed"
"$JFS" status >"$T/out" 2>"$T/err" && fail "status succeeded on an unformatted volume"

"$JFS" format "$JFS_META_URL" clivol --storage s3 --bucket "$BUCKET" \
  --access-key "$JFS_TEST_S3_ACCESS_KEY" --secret-key "$SK" >"$T/out" 2>"$T/err" ||
  fail "format failed"
grep -q '"SecretKey": "removed"' "$T/out" || fail "format output does not hide the secret"
for cmd in status info; do
  "$JFS" $cmd >"$T/out" 2>"$T/err" || fail "$cmd failed"
  # (The test server's access key equals its secret: ignore the AccessKey line.)
  grep -v '"AccessKey"' "$T/out" | grep -q "$SK" && fail "$cmd printed the secret key"
done
grep -q '"KeyEncrypted": true' <("$JFS" status) || fail "status does not show KeyEncrypted"

head -c 3000000 /dev/urandom >"$T/src"
"$JFS" cp "$T/src" jfs:/f.bin >"$T/out" 2>"$T/err" || fail "cp in failed"
"$JFS" cp jfs:/f.bin "$T/back" >"$T/out" 2>"$T/err" || fail "cp out failed"
cmp -s "$T/src" "$T/back" || fail "data differs after the round trip"
"$JFS" ls jfs:/ >"$T/out" 2>"$T/err" || fail "ls failed"
grep -q "f.bin" "$T/out" || fail "ls does not show f.bin"
echo "cli s3: all checks passed"
