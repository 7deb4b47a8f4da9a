#!/usr/bin/env bash
# s3_vs_objbench: the library's big-file write and read on an S3 volume against the S3 server's own
# throughput as `jfs objbench` measures it, in ONE run on the same server (issue 6 goal: >= 0.8x).
#   bench/s3_vs_objbench.sh JFS ENDPOINT [MiB]
# e.g. bench/s3_vs_objbench.sh build/tools/jfs http://127.0.0.1:14569 1024
# objbench: its defaults (4 MiB blocks, 4 threads), a big object of MiB. The volume: SQLite
# metadata in a temp dir, data in a fresh bucket of the same server, no disk cache (the library's
# default, so the read fetches every block from the server); `jfs bench` writes one big file of MiB
# in 1 MiB writes and reads it back, one thread, through the library (no FUSE). Credentials:
# ACCESS_KEY / SECRET_KEY (default S3RVER/S3RVER, the test server's). Not a test.
set -euo pipefail
USAGE="usage: s3_vs_objbench.sh JFS ENDPOINT [MiB]"
JFS=${1:?$USAGE}
EP=${2:?$USAGE}
MIB=${3:-1024}
export ACCESS_KEY=${ACCESS_KEY:-S3RVER} SECRET_KEY=${SECRET_KEY:-S3RVER}
T=$(mktemp -d "${TMPDIR:-/tmp}/s3_vs_objbench.XXXXXX")
trap 'rm -rf "$T"' EXIT

echo "load: $(uptime | sed 's/.*load average/load average/')"
"$JFS" objbench "$EP/objbench-$$" --storage s3 --skip-functional-tests \
  --big-object-size "${MIB}M" >"$T/objbench" 2>&1 || { cat "$T/objbench"; exit 1; }
row() { grep -E "^\| +$1 " "$2" | awk -F'|' '{print $3+0}'; }
up=$(row "upload objects" "$T/objbench")
down=$(row "download objects" "$T/objbench")

"$JFS" format "sqlite3://$T/meta.db" s3bench --storage s3 --bucket "$EP/volume-$$" \
  --access-key "$ACCESS_KEY" --secret-key "$SECRET_KEY" --trash-days 0 >/dev/null
"$JFS" bench jfs:/ --meta "sqlite3://$T/meta.db" --big-file-size "${MIB}M" \
  --small-file-count 1 >"$T/bench" 2>&1 || { cat "$T/bench"; exit 1; }
write=$(row "Write big file" "$T/bench")
read=$(row "Read big file" "$T/bench")
echo "load: $(uptime | sed 's/.*load average/load average/')"

awk -v up="$up" -v down="$down" -v w="$write" -v r="$read" -v mib="$MIB" 'BEGIN {
  printf "%-34s %10s %10s %8s %6s\n", "big file, " mib " MiB", "jfs MiB/s", "objbench", "ratio", "goal"
  printf "%-34s %10.1f %10.1f %8.2f %6.1f %s\n", "write (library vs upload objects)", w, up, w / up, 0.8, (w / up >= 0.8 ? "ok" : "UNDER")
  printf "%-34s %10.1f %10.1f %8.2f %6.1f %s\n", "read (library vs download objects)", r, down, r / down, 0.8, (r / down >= 0.8 ? "ok" : "UNDER")
}'
