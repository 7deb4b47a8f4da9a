#!/usr/bin/env bash
# End-to-end test of the `jfs` command on a temporary volume (SQLite metadata, local directory
# data): format, info, status, mkdir, cp round trips (a multi-MiB file and a directory tree),
# ls, cat, stat, rm, bench, mdtest, and the error contract (one line on stderr starting with
# "jfs: ", exit 1 for failures and 2 for usage errors).
#
# Usage: cli_test.sh PATH/TO/jfs
set -uo pipefail

JFS=${1:?usage: cli_test.sh PATH/TO/jfs}
T=$(mktemp -d "${TMPDIR:-/tmp}/jfs_cli_test.XXXXXX")
trap 'rm -rf "$T"' EXIT
URL="sqlite3://$T/meta.db"
export JFS_META_URL=$URL
# shellcheck source=tests/tools/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

# ---- errors before there is a volume -------------------------------------------------------
fails 2 "unknown command 'frobnicate'" frobnicate
fails 2 "command is required"
fails 2 "^jfs: ls: .*(--bogus|bogus)" ls --bogus jfs:/
JFS_META_URL= fails 2 "JFS_META_URL" ls jfs:/
(unset JFS_META_URL; fails 2 "JFS_META_URL" cat jfs:/x) || exit 1
fails 2 "not a volume path" ls /etc
fails 1 "^jfs: ls: cannot open volume sqlite3://$T/none.db" --meta "sqlite3://$T/none.db" ls jfs:/
fails 1 "^jfs: ls: cannot open volume bogus://x" --meta bogus://x ls jfs:/
fails 1 "^jfs: info: " info "sqlite3://$T/none.db"
fails 1 "^jfs: status: " --meta "sqlite3://$T/none.db" status
[ ! -e "$T/none.db" ] || fail "a failed open created the database file"
fails 2 "block-size" format "$URL" testvol --bucket "$T/data" --block-size 4X
fails 2 "Expected|required|NAME" format "$URL"
ok --version
out_has "^jfs \(libjuicefs\) [0-9]+\.[0-9]+\.[0-9]+"
ok --help
out_has "format"

# ---- format / info / status ------------------------------------------------------------------
ok format "$URL" testvol --storage file --bucket "$T/data" --block-size 1M --capacity 1 \
  --inodes 100000 --trash-days 0
out_has "^Volume is formatted as \{$"
out_has "^\"Name\": \"testvol\",$"
out_has "^\"BlockSize\": 1024,$"
fails 1 "^jfs: format: " format "$URL" testvol --bucket "$T/data"
ok info
out_has "^Name: +testvol$"
out_has "^UUID: +[0-9a-f-]{36}$"
out_has "^Storage: +file$"
out_has "^Bucket: +$T/data/?$"
out_has "^Block size: +1\.0 MiB \(1024 KiB\)$"
out_has "^Capacity: +1\.0 GiB \(1073741824 bytes\)$"
out_has "^Inodes: +100000$"
out_has "^Trash days: +0"
out_has "^Used inodes: +[0-9]+$"
ok status
python3 - "$T/out" <<'EOF' || fail "status is not the expected JSON"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["Setting"]
for k in ("Name", "UUID", "Storage", "Bucket", "BlockSize", "TrashDays"):
    assert k in s, k
assert s["Name"] == "testvol" and s["BlockSize"] == 1024 and s["TrashDays"] == 0, s
assert isinstance(d["Sessions"], list), d
EOF
# A second volume: plain --block-size is KiB; info also takes the META-URL as an argument.
URL2="sqlite3://$T/meta2.db"
ok format "$URL2" second-vol --bucket "$T/data2" --block-size 4096
ok info "$URL2"
out_has "^Block size: +4\.0 MiB \(4096 KiB\)$"
out_has "^Capacity: +unlimited$"
ok status "$URL2"
out_has "\"Name\": \"second-vol\""

# ---- mkdir ------------------------------------------------------------------------------------
ok mkdir -p jfs:/a/b/c
ok mkdir -p jfs:/a/b
ok mkdir jfs:/a/d
fails 1 "^jfs: mkdir: cannot create directory jfs:/a/d: File exists$" mkdir jfs:/a/d
fails 1 "^jfs: mkdir: .*No such file or directory" mkdir jfs:/x/y
ok ls --meta "$URL" jfs:/a   # --meta after the command name

# ---- cp ---------------------------------------------------------------------------------------
mkdir -p "$T/src/sub/deeper"
printf 'hello, volume\n' >"$T/src/small.txt"
head -c $((5 * 1024 * 1024 + 123)) /dev/urandom >"$T/src/big.bin"
: >"$T/src/empty"
printf 'nested\n' >"$T/src/sub/deeper/nested.txt"
head -c 70000 /dev/urandom >"$T/src/sub/medium.bin"
ln -s small.txt "$T/src/link"

ok cp "$T/src/big.bin" jfs:/a/big.bin
ok cp jfs:/a/big.bin "$T/big.back"
cmp "$T/src/big.bin" "$T/big.back" || fail "big file differs after local → jfs → local"
ok cp jfs:/a/big.bin jfs:/a/copy.bin
ok cp jfs:/a/copy.bin "$T/copy.back"
cmp "$T/src/big.bin" "$T/copy.back" || fail "big file differs after jfs → jfs"
ok cp "$T/src/small.txt" "$T/src/empty" jfs:/a/d
ok cp -r "$T/src" jfs:/a/b
ok cp -r jfs:/a/b/src "$T/back"
diff -r --no-dereference "$T/src" "$T/back" || fail "tree differs after cp -r round trip"
[ "$(readlink "$T/back/link")" = small.txt ] || fail "symlink not copied as a symlink"
ok cp -r jfs:/a/b/src jfs:/a/src2
ok cp -r jfs:/a/src2 "$T/back2"
diff -r --no-dereference "$T/src" "$T/back2" || fail "tree differs after jfs → jfs cp -r"
fails 1 "^jfs: cp: -r not specified; omitting directory jfs:/a/b$" cp jfs:/a/b "$T/nope"
fails 1 "^jfs: cp: .*jfs:/a/missing: No such file or directory" cp jfs:/a/missing "$T/nope"
fails 1 "^jfs: cp: .*$T/missing: No such file or directory" cp "$T/missing" jfs:/a/x
fails 1 "into itself" cp -r jfs:/a/b jfs:/a/b/c
fails 1 "same file" cp jfs:/a/big.bin jfs:/a/big.bin
fails 1 "not a directory" cp "$T/src/small.txt" "$T/src/empty" jfs:/a/big.bin
fails 2 "source and a destination" cp jfs:/a/big.bin
[ ! -e "$T/nope" ] || fail "a failed cp left $T/nope behind"

# ---- ls / cat / stat --------------------------------------------------------------------------
ok ls jfs:/a
[ "$(cat "$T/out")" = "$(printf 'b\nbig.bin\ncopy.bin\nd\nsrc2')" ] || fail "ls jfs:/a"
ok ls -l jfs:/a
out_has "^-rw-r--r-- +1 .* 5243003 .* big\.bin$"
out_has "^d[rwx-]{9} +[0-9]+ .* b$"
ok ls -l jfs:/a/b/src
out_has "^l.* link -> small\.txt$"
ok ls jfs:/a/big.bin
out_has "^jfs:/a/big\.bin$"
ok ls -a jfs:/a/d
out_has "^\.$"
out_has "^\.\.$"
out_has "^small\.txt$"
ok ls jfs:/
out_has "^a$"
out_lacks "^\."
fails 1 "^jfs: ls: cannot access jfs:/nothing: No such file or directory$" ls jfs:/nothing
ok cat jfs:/a/d/small.txt
[ "$(cat "$T/out")" = "hello, volume" ] || fail "cat"
ok cat jfs:/a/d/small.txt jfs:/a/b/src/sub/deeper/nested.txt
[ "$(cat "$T/out")" = "$(printf 'hello, volume\nnested')" ] || fail "cat of two files"
"$JFS" cat jfs:/a/big.bin | cmp - "$T/src/big.bin" || fail "cat of the big file"
fails 1 "^jfs: cat: jfs:/a/b: Is a directory" cat jfs:/a/b
fails 1 "^jfs: cat: jfs:/a/none: No such file or directory$" cat jfs:/a/none
ok stat jfs:/a/big.bin
out_has "^  File: jfs:/a/big\.bin$"
out_has "^  Size: 5243003 .*regular file$"
out_has "^Access: \(0644/-rw-r--r--\)"
out_has "^Modify: [0-9]{4}-[0-9]{2}-[0-9]{2} "
ok stat jfs:/a/b/src/link jfs:/a/d/empty jfs:/a
out_has "^  File: jfs:/a/b/src/link -> small\.txt$"
out_has "symbolic link$"
out_has "regular empty file$"
out_has "directory$"
fails 1 "^jfs: stat: cannot stat jfs:/zz: No such file or directory$" stat jfs:/zz

# ---- rm -----------------------------------------------------------------------------------------
fails 1 "^jfs: rm: cannot remove jfs:/a/b: Is a directory$" rm jfs:/a/b
fails 1 "^jfs: rm: cannot remove jfs:/a/zz: No such file or directory$" rm jfs:/a/zz
ok rm -f jfs:/a/zz
fails 1 "refusing to remove" rm -r jfs:/
ok rm jfs:/a/copy.bin
ok rm -r jfs:/a/b jfs:/a/src2
ok ls jfs:/a
[ "$(cat "$T/out")" = "$(printf 'big.bin\nd')" ] || fail "ls after rm"
fails 1 "No such file or directory" stat jfs:/a/b/src/small.txt

# ---- bench --------------------------------------------------------------------------------------
ok bench jfs:/bench --big-file-size 4M --small-file-count 5 --small-file-size 16K
out_has "^\| +ITEM +\| +VALUE +\| +COST +\|$"
out_has "^\| +Write big file \| +[0-9.]+ MiB/s \| +[0-9.]+ s/file \|$"
out_has "^\| +Read big file \| +[0-9.]+ MiB/s \| +[0-9.]+ s/file \|$"
out_has "^\| Write small file \| +[0-9.]+ files/s \| +[0-9.]+ ms/file \|$"
out_has "^\| +Read small file \| +[0-9.]+ files/s \| +[0-9.]+ ms/file \|$"
out_has "^\| +Stat file \| +[0-9.]+ files/s \| +[0-9.]+ ms/file \|$"
ok ls -a jfs:/bench
[ ! -s "$T/out" ] || [ "$(cat "$T/out")" = "$(printf '.\n..')" ] || fail "bench left files"
ok bench jfs:/bench -p 2 --block-size 256K --big-file-size 1M --small-file-count 3 --json
python3 - "$T/out" <<'EOF' || fail "bench --json"
import json, sys
d = json.load(open(sys.argv[1]))
items = [r["item"] for r in d["results"]]
assert items == ["Write big file", "Read big file", "Write small file", "Read small file",
                 "Stat file"], items
assert d["threads"] == 2 and d["block_size"] == 262144 and d["small_file_count"] == 3, d
assert all(r["value"] > 0 and r["cost"] > 0 for r in d["results"]), d
EOF
fails 2 "threads" bench jfs:/bench --threads 0
fails 2 "big-file-size" bench jfs:/bench --big-file-size lots
# The same workloads on a local directory (what a mount point is to it): plain system calls, no
# volume counters, the work directory removed.
mkdir -p "$T/localbench"
ok bench "$T/localbench" -p 2 --big-file-size 2M --small-file-count 4 --small-file-size 8K
out_has "^\| +Write big file \| +[0-9.]+ MiB/s \| +[0-9.]+ s/file \|$"
out_has "^\| +Stat file \| +[0-9.]+ files/s \| +[0-9.]+ ms/file \|$"
! grep -q "Put object" "$T/out" || fail "bench of a local directory printed volume counters"
[ -z "$(ls -A "$T/localbench")" ] || fail "bench left files in a local directory"
fails 2 "neither a volume path" bench "$T/localbench/missing"
fails 2 "neither a volume path" bench "$T/out"

# ---- mdtest -------------------------------------------------------------------------------------
ok mdtest "$URL" /md --dirs 2 --depth 1 --files 3 --threads 2
out_has "^Created 3 dirs in [0-9.]+(µs|ms|s) \([0-9]+ dirs/s\)$"
out_has "^Created 18 files in [0-9.]+(µs|ms|s) \([0-9]+ files/s\)$"
ok ls jfs:/md/test-dir.0-0/mdtest_tree.0
[ "$(wc -l <"$T/out")" -eq 8 ] || fail "mdtest tree root should hold 6 files and 2 dirs"
out_has "^file\.mdtest\.1\.2$"
out_has "^mdtest_tree\.1$"
ok ls jfs:/md/test-dir.0-0/mdtest_tree.0/mdtest_tree.1
[ "$(wc -l <"$T/out")" -eq 6 ] || fail "mdtest leaf should hold 6 files"
fails 1 "^jfs: mdtest: .*test-dir\.0-0: File exists" mdtest "$URL" /md --files 1
ok mdtest "$URL" /md2/deep --dirs 1 --depth 0 --files 2 --write 100K
ok stat jfs:/md2/deep/test-dir.0-0/mdtest_tree.0/file.mdtest.0.1
out_has "^  Size: 102400 "

ok info
out_has "^Used inodes: +[1-9][0-9]*$"

echo "cli_test: all $CHECKS checks passed"
