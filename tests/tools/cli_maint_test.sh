#!/usr/bin/env bash
# End-to-end test of the maintenance commands (no server): trash through `jfs rm` and `jfs rmr`,
# `jfs restore` (list, --put-back), `jfs status` statistics, `jfs fsck` (clean, then a missing
# object), `jfs gc` (finds exactly a planted leaked object, --delete removes it and nothing
# referenced), `jfs destroy`; bad input gives one clear error line and changes nothing.
#
# Usage: cli_maint_test.sh PATH/TO/jfs
set -uo pipefail

JFS=${1:?usage: cli_maint_test.sh PATH/TO/jfs}
T=$(mktemp -d "${TMPDIR:-/tmp}/jfs_cli_maint.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset JFS_META_URL JFS_GC_SKIPPEDTIME
# shellcheck source=tests/tools/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

u="sqlite3://$T/m.db"
run format "$u" maintvol --bucket "$T/data"
[ "$RC" -eq 0 ] || fail "format"
CH="$T/data/maintvol/chunks"
head -c 300000 /dev/urandom >"$T/blob"
printf 'hello\n' >"$T/small"
ok --meta "$u" mkdir jfs:/d jfs:/t jfs:/t/sub
ok --meta "$u" cp "$T/blob" jfs:/d/blob
ok --meta "$u" cp "$T/small" jfs:/t/sub/s
ok --meta "$u" cp "$T/small" jfs:/t/s2
ok fsck "$u"
out_has '^ok$'

# rm moves to the trash; the data stays.
nobj=$(find "$CH" -type f | wc -l)
ok --meta "$u" rm jfs:/d/blob
[ "$(find "$CH" -type f | wc -l)" -eq "$nobj" ] || fail "objects went away with trash enabled"
ok restore "$u"
out_has '^[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{2}/[0-9]+-[0-9]+-blob$'
out_has '^1 entries'
ok status "$u"
out_has '"TrashFileCount": 1'
out_has "\"TrashFileSize\": 300000"
ok restore "$u" --put-back
out_has '^1 restored, 0 failed'
ok --meta "$u" cat jfs:/d/blob
cmp -s "$T/out" "$T/blob" || fail "restored file differs"
ok restore "$u"
out_has '^0 entries'

# rmr into the trash, rmr --skip-trash for real.
ok --meta "$u" rmr jfs:/t
out_has 'jfs:/t: 4 entries removed'
ok restore "$u"
out_has '^4 entries'
ok --meta "$u" mkdir jfs:/u
ok --meta "$u" cp "$T/small" jfs:/u/x
ok --meta "$u" rmr --skip-trash jfs:/u
out_has 'jfs:/u: 2 entries removed'
ok restore "$u"
out_has '^4 entries'
fails 1 'rmr: jfs:/nope: .*No such file' --meta "$u" rmr jfs:/nope
fails 2 'not a volume path' --meta "$u" rmr /tmp/x
fails 2 'no volume given' rmr jfs:/d
fails 1 'restore: .*no trash directory' restore "$u" 1999-01-01-00
ok fsck "$u"
out_has '^ok$'

# gc: a planted old object is leaked; recent ones are not; --delete removes exactly it.
mkdir -p "$CH/0/0"
printf 'junk' >"$CH/0/0/999999_0_4"
touch -d '2 hours ago' "$CH/0/0/999999_0_4"
printf 'junk' >"$CH/0/0/999998_0_4"  # too recent to judge
ok gc "$u"
out_has '^leaked: chunks/0/0/999999_0_4$'
out_lacks '999998'
out_has 'leaked: 1 '
out_has 'recent \(skipped\): 1'
[ -f "$CH/0/0/999999_0_4" ] || fail "gc without --delete deleted"
before=$(find "$CH" -type f | wc -l)
ok gc "$u" --delete
out_has 'deleted: 1 leaked objects'
[ ! -f "$CH/0/0/999999_0_4" ] || fail "leaked object still there"
[ -f "$CH/0/0/999998_0_4" ] || fail "recent object deleted"
[ "$(find "$CH" -type f | wc -l)" -eq $((before - 1)) ] || fail "gc --delete removed more"
JFS_GC_SKIPPEDTIME=0 ok gc "$u"
out_has '^leaked: chunks/0/0/999998_0_4$'
rm -f "$CH/0/0/999998_0_4"
ok fsck "$u"
out_has '^ok$'
ok --meta "$u" cat jfs:/d/blob
cmp -s "$T/out" "$T/blob" || fail "file damaged by gc"

# fsck finds a missing object of a referenced slice.
victim=$(find "$CH" -type f | head -n 1)
mv "$victim" "$T/victim"
fails 1 'fsck: volume has missing objects' fsck "$u"
out_has "^missing object: chunks/"
mv "$T/victim" "$victim"
ok fsck "$u"

# Bad input.
fails 1 'gc: sqlite3://.*nothere' gc "sqlite3://$T/nothere.db"
fails 1 'fsck: ' fsck "sqlite3://$T/nothere.db"
fails 2 'add --yes' destroy "$u" 00000000-0000-0000-0000-000000000000
uuid=$("$JFS" info "$u" | sed -n 's/^UUID: *//p')
[ -n "$uuid" ] || fail "no UUID in jfs info"
fails 1 'destroy: .*is not the volume' destroy "$u" 00000000-0000-0000-0000-000000000000 --yes
ok --meta "$u" cat jfs:/d/blob  # still there
cmp -s "$T/out" "$T/blob" || fail "volume changed by a refused destroy"

# destroy: every object and the metadata go.
ok destroy "$u" "$uuid" --yes
out_has 'volume destroyed'
[ "$(find "$T/data/maintvol" -type f 2>/dev/null | wc -l)" -eq 0 ] || fail "objects left after destroy"
fails 1 'not formatted' info "$u"

echo "cli_maint_test: $CHECKS checks passed"
