#!/usr/bin/env bash
# End-to-end test of `jfs dump` and `jfs load` (no server): a volume with files, a hard link and a
# symlink is dumped (plain, .gz, stdout, --subdir), loaded into a new SQLite database and dumped
# again identically; the loaded volume reads back the same file contents; a real JuiceFS dump
# loads; a non-empty target, a truncated dump and a bad URL give one clear error line and leave
# the target as it was.
#
# Usage: cli_dump_test.sh PATH/TO/jfs SAMPLE.json
set -uo pipefail

JFS=${1:?usage: cli_dump_test.sh PATH/TO/jfs SAMPLE}
SAMPLE=${2:?usage: cli_dump_test.sh PATH/TO/jfs SAMPLE}
T=$(mktemp -d "${TMPDIR:-/tmp}/jfs_cli_dump.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset JFS_META_URL
# shellcheck source=tests/tools/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

a="sqlite3://$T/a.db"
run format "$a" dumpvol --bucket "$T/data"
[ "$RC" -eq 0 ] || fail "format"
head -c 100000 /dev/urandom >"$T/blob"
printf 'hello\n' >"$T/small"
ok --meta "$a" mkdir jfs:/dir
ok --meta "$a" cp "$T/blob" jfs:/dir/blob
ok --meta "$a" cp "$T/small" jfs:/small

# Dumps: plain file, gzip, stdout — the same JSON.
ok dump "$a" "$T/a.json" -q
ok dump "$a" "$T/a.json.gz" -q
gzip -dc "$T/a.json.gz" >"$T/a-gz.json" || fail "gunzip"
cmp -s "$T/a.json" "$T/a-gz.json" || fail "the .gz dump differs from the plain one"
ok dump "$a"
cmp -s "$T/a.json" "$T/out" || fail "the stdout dump differs from the file"
grep -q '"FSTree": {' "$T/a.json" || fail "no FSTree in the dump"
grep -q '"nextInodes": ' "$T/a.json" || fail "no nextInodes counter"
ok dump "$a" "$T/sub.json" --subdir /dir -q
grep -q '"blob": {' "$T/sub.json" || fail "subdir dump lacks blob"
! grep -q '"small": {' "$T/sub.json" || fail "subdir dump has a file from outside"
ok dump "$a" "$T/notrash.json" --skip-trash -q
! grep -q '"Trash": {' "$T/notrash.json" || fail "--skip-trash dump has the trash"

# Load into a new database (from the .gz and from stdin), dump again: identical.
b="sqlite3://$T/b.db"
ok load "$b" "$T/a.json.gz" -q
ok dump "$b" "$T/b.json" -q
cmp -s "$T/a.json" "$T/b.json" || fail "dump → load → dump changed the JSON"
c="sqlite3://$T/c.db"
run load "$c" -q <"$T/a.json"
[ "$RC" -eq 0 ] || fail "load from stdin exited $RC"
ok --meta "$c" cat jfs:/dir/blob
cmp -s "$T/out" "$T/blob" || fail "the loaded volume reads back other contents"
ok --meta "$c" cat jfs:/small
cmp -s "$T/out" "$T/small" || fail "the loaded volume reads back other contents (small)"
# Without -q (not a terminal): no progress, one summary line on stderr.
d="sqlite3://$T/d.db"
run load "$d" "$T/a.json"
[ "$RC" -eq 0 ] || fail "load exited $RC"
grep -q '^Loaded [0-9]* entries' "$T/err" || fail "no load summary"

# A real JuiceFS dump.
j="sqlite3://$T/j.db"
ok load "$j" "$SAMPLE" -q
ok dump "$j" "$T/j.json" --keep-secret-key -q
cmp -s "$SAMPLE" "$T/j.json" || fail "the JuiceFS sample does not dump back identically"

# Errors: one line, the target unchanged.
fails 1 "^jfs: load: cannot load .*not empty" load "$b" "$T/a.json" -q
ok dump "$b" "$T/b2.json" -q
cmp -s "$T/a.json" "$T/b2.json" || fail "a refused load changed the database"
head -c 500 "$T/a.json" >"$T/trunc.json"
e="sqlite3://$T/e.db"
fails 1 "^jfs: load: cannot load .*line [0-9]+" load "$e" "$T/trunc.json" -q
ok load "$e" "$T/a.json" -q  # the failed load left it empty
fails 1 "^jfs: load: cannot load .*No such file" load "sqlite3://$T/f.db" "$T/missing.json" -q
fails 1 "^jfs: dump: .*unsupported meta URL" dump "nope://x" "$T/x.json" -q
fails 1 "^jfs: dump: cannot dump .*subdir" dump "$a" "$T/x.json" --subdir /nope -q
fails 2 "^jfs: dump: " dump

echo "cli_dump_test: all $CHECKS checks passed"
