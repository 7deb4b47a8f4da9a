#!/usr/bin/env bash
# End-to-end test of `jfs quota set|get|list|delete|check` and `jfs info PATH` on SQLite (no
# server): limits set by one process are enforced on writes by later processes (EDQUOT), usage and
# summaries match what was written, and bad input gives one clear error line and changes nothing.
#
# Usage: cli_quota_test.sh PATH/TO/jfs
set -uo pipefail

JFS=${1:?usage: cli_quota_test.sh PATH/TO/jfs}
T=$(mktemp -d "${TMPDIR:-/tmp}/jfs_cli_quota.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset JFS_META_URL
# shellcheck source=tests/tools/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

a="sqlite3://$T/q.db"
run format "$a" quotavol --bucket "$T/data"
[ "$RC" -eq 0 ] || fail "format"
printf 'hello\n' >"$T/small"
head -c 10000 /dev/urandom >"$T/blob"
ok --meta "$a" mkdir -p jfs:/p/q
ok --meta "$a" mkdir jfs:/other

# ---- set / get / list -----------------------------------------------------------------------
ok quota set "$a" --path /p --capacity 1 --inodes 4
out_has '^\| /p +\| +1\.0 GiB \| +4\.0 KiB \| +0% \| +4 \| +1 \| +25% \|$'
ok quota get "$a" --path /p
out_has 'Path +\| +Size +\| +Used +\| Use% \| Inodes \| IUsed \| IUse% \|'
out_has '^\| /p '
ok --meta "$a" quota set --path jfs:/p/q --inodes 2
ok quota list "$a"
out_has '^\| /p +\|'
out_has '^\| /p/q +\| +\| '

# ---- enforcement by other processes ----------------------------------------------------------
ok --meta "$a" cp "$T/small" jfs:/p/f1
ok --meta "$a" cp "$T/blob" jfs:/p/q/f2
ok --meta "$a" cp "$T/small" jfs:/p/q/f3
fails 1 'quota' --meta "$a" cp "$T/small" jfs:/p/q/f4     # /p/q: 2 inodes
fails 1 'quota' --meta "$a" mkdir jfs:/p/f5               # /p: q, f1, f2, f3
ok --meta "$a" cp "$T/small" jfs:/other/free               # no quota there
ok quota get "$a" --path /p
out_has '^\| /p +\| +1\.0 GiB \| +24 KiB \| +0% \| +4 \| +4 \| +100% \|$'
ok quota check "$a"
out_has '^/p: quota usage is correct \(space 24576, inodes 4\)$'
out_has '^/p/q: quota usage is correct'

# ---- info PATH ------------------------------------------------------------------------------
ok --meta "$a" info jfs:/p
out_has '^  files: 3$'
out_has '^   dirs: 2$'
out_has '^ length: 9\.8 KiB \(10012 Bytes\)$'
out_has '^   size: 28 KiB \(28672 Bytes\)$'
out_has 'quota: space 1\.0 GiB, inodes 4'
ok info "$a" /p/q
out_has '^  files: 2$'
out_has '^   dirs: 1$'
ok info "$a"
out_has '^Used inodes: +7$'

# ---- bad input: one error line, nothing changed ----------------------------------------------
fails 2 'capacity and/or --inodes' quota set "$a" --path /p
fails 2 'capacity' quota set "$a" --path /p --capacity -1
fails 2 'inodes' quota set "$a" --path /p --inodes lots
fails 2 'absolute path' quota set "$a" --path p --inodes 1
fails 2 'path is required' quota get "$a"
fails 1 'No such file' quota set "$a" --path /missing --inodes 1
fails 1 'Not a directory' quota set "$a" --path /p/f1 --inodes 1
fails 1 'no quota' quota get "$a" --path /other
fails 1 'no quota' quota delete "$a" --path /other
fails 2 'not expected' info "$a" jfs:/p jfs:/q
fails 1 'No such file' info "$a" jfs:/missing
ok quota get "$a" --path /p
out_has '^\| /p +\| +1\.0 GiB \| +24 KiB \| +0% \| +4 \| +4 \| +100% \|$'

# ---- delete ----------------------------------------------------------------------------------
ok quota delete "$a" --path /p/q
fails 1 'no quota' quota get "$a" --path /p/q
ok quota list "$a"
out_lacks '/p/q'
ok quota set "$a" --path /p --inodes 0
ok --meta "$a" cp "$T/small" jfs:/p/q/f4
ok quota get "$a" --path /p
out_has '^\| /p +\| +1\.0 GiB \| +28 KiB \| +0% \| +\| +5 \| +\|$'

echo "cli_quota_test: $CHECKS checks passed"
