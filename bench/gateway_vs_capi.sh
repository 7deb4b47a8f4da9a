#!/usr/bin/env bash
# Big-object PUT/GET through `jfs gateway` with the aws CLI vs the same bytes through the C ABI
# (bench/capi_io), on one SQLite + local-directory volume, in the same run. Prints MiB/s and the
# ratios (gateway / C ABI).
#   bench/gateway_vs_capi.sh BUILD_DIR SCRATCH_DIR [MIB]     (default 256 MiB)
set -euo pipefail
BUILD=$(cd "$1" && pwd)
DIR=$2
MIB=${3:-256}
JFS=$BUILD/tools/jfs
CAPI=$BUILD/bench/capi_io
rm -rf "$DIR" && mkdir -p "$DIR"
META="sqlite3://$DIR/meta.db"
"$JFS" format "$META" benchvol --storage file --bucket "$DIR/data" >/dev/null

# C ABI: write then read MIB MiB.
mapfile -t capi < <(printf 'write /capi.bin %d\nread /capi.bin %d\nquit\n' "$MIB" "$MIB" | "$CAPI" "$META")
capi_w=${capi[0]}
capi_r=${capi[1]}

# Gateway + aws CLI.
export AWS_ACCESS_KEY_ID=benchadmin AWS_SECRET_ACCESS_KEY=benchsecret AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$DIR/awsconfig AWS_SHARED_CREDENTIALS_FILE=/dev/null
printf '[default]\ns3 =\n  multipart_chunksize = 16MB\n  max_concurrent_requests = 8\n' >"$AWS_CONFIG_FILE"
"$JFS" gateway "$META" 127.0.0.1:0 --port-file "$DIR/port" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" 2>"$DIR/gateway.log" &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$DIR/port" ] && break; sleep 0.1; done
EP="http://127.0.0.1:$(cat "$DIR/port")"
head -c $((MIB << 20)) /dev/zero | tr '\0' 'x' >"$DIR/src.bin"
t0=$(date +%s.%N)
/usr/bin/aws --endpoint-url "$EP" s3 cp --quiet "$DIR/src.bin" s3://benchvol/aws.bin
t1=$(date +%s.%N)
/usr/bin/aws --endpoint-url "$EP" s3 cp --quiet s3://benchvol/aws.bin "$DIR/back.bin"
t2=$(date +%s.%N)
cmp -s "$DIR/src.bin" "$DIR/back.bin" || { echo "GET returned other bytes" >&2; exit 1; }
t3=$(date +%s.%N); /usr/bin/aws --version >/dev/null; t4=$(date +%s.%N)
kill -TERM $GW && wait $GW || true
trap - EXIT
python3 - "$MIB" "$capi_w" "$capi_r" "$t0" "$t1" "$t2" "$t3" "$t4" <<'PY'
import sys
mib, cw, cr, t0, t1, t2, t3, t4 = int(sys.argv[1]), *map(float, sys.argv[2:])
gw, gr = t1 - t0, t2 - t1
print("%d MiB object        C ABI MiB/s   gateway+awscli MiB/s   ratio" % mib)
print("PUT (write)        %10.1f   %20.1f   %5.2fx" % (mib / cw, mib / gw, cw / gw))
print("GET (read)         %10.1f   %20.1f   %5.2fx" % (mib / cr, mib / gr, cr / gr))
st = t4 - t3
print("(awscli start-up alone: %.2f s per command; without it: PUT %.2fx, GET %.2fx)" % (st, cw / max(gw - st, 1e-3), cr / max(gr - st, 1e-3)))
PY
