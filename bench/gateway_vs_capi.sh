#!/usr/bin/env bash
# Big-object PUT/GET through `jfs gateway` with the aws CLI (multipart, 8 parallel 64 MiB parts)
# and with curl on presigned URLs (one request), vs the same bytes through the C ABI
# (bench/capi_io), on one SQLite + local-directory volume, in the same run. Prints MiB/s and the
# ratios (gateway / C ABI) and the load average. The C ABI is timed twice: from/to memory, and
# file to file as `aws s3 cp` works (a local file into the volume, and back out into a local
# file); awscli's own CPU time is printed too.
#   bench/gateway_vs_capi.sh BUILD_DIR SCRATCH_DIR [MIB]     (default 1024 MiB)
set -euo pipefail
BUILD=$(cd "$1" && pwd)
DIR=$2
MIB=${3:-1024}
JFS=$BUILD/tools/jfs
CAPI=$BUILD/bench/capi_io
rm -rf "$DIR" && mkdir -p "$DIR"
META="sqlite3://$DIR/meta.db"
"$JFS" format "$META" benchvol --storage file --bucket "$DIR/data" >/dev/null

head -c $((MIB << 20)) /dev/urandom >"$DIR/src.bin"
# C ABI: write then read MIB MiB from/to memory; then what `aws s3 cp` does, file to file: the
# local src.bin into the volume, and back out into a local file.
mapfile -t capi < <(printf 'write /capi.bin %d\nread /capi.bin %d\nquit\n' "$MIB" "$MIB" | "$CAPI" "$META")
capi_w=${capi[0]}
capi_r=${capi[1]}
# Each file-to-file copy in its own process, to have its CPU seconds (user + system) as well.
capi_up=$(printf 'upload /up.bin %s\nquit\n' "$DIR/src.bin" |
  /usr/bin/time -f "%U %S" -o "$DIR/capi_up.cpu" "$CAPI" "$META")
capi_down=$(printf 'download /up.bin %s\nquit\n' "$DIR/capi_back.bin" |
  /usr/bin/time -f "%U %S" -o "$DIR/capi_down.cpu" "$CAPI" "$META")
capi_up_cpu=$(awk '{print $1 + $2}' "$DIR/capi_up.cpu")
capi_down_cpu=$(awk '{print $1 + $2}' "$DIR/capi_down.cpu")
cmp -s "$DIR/src.bin" "$DIR/capi_back.bin" || { echo "C ABI download returned other bytes" >&2; exit 1; }
rm -f "$DIR/capi_back.bin"

# Gateway + aws CLI.
export AWS_ACCESS_KEY_ID=benchadmin AWS_SECRET_ACCESS_KEY=benchsecret AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$DIR/awsconfig AWS_SHARED_CREDENTIALS_FILE=/dev/null
printf '[default]\ns3 =\n  multipart_chunksize = 64MB\n  max_concurrent_requests = 8\n' >"$AWS_CONFIG_FILE"
"$JFS" gateway "$META" 127.0.0.1:0 --port-file "$DIR/port" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" 2>"$DIR/gateway.log" &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$DIR/port" ] && break; sleep 0.1; done
EP="http://127.0.0.1:$(cat "$DIR/port")"
# awscli's own CPU seconds (user + system) per command: with 2 cores, the client's share says
# how much of the machine was left for the gateway.
t0=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$DIR/aws_put.cpu" \
  /usr/bin/aws --endpoint-url "$EP" s3 cp --quiet "$DIR/src.bin" s3://benchvol/aws.bin
t1=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$DIR/aws_get.cpu" \
  /usr/bin/aws --endpoint-url "$EP" s3 cp --quiet s3://benchvol/aws.bin "$DIR/back.bin"
t2=$(date +%s.%N)
aws_put_cpu=$(awk '{print $1 + $2}' "$DIR/aws_put.cpu")
aws_get_cpu=$(awk '{print $1 + $2}' "$DIR/aws_get.cpu")
cmp -s "$DIR/src.bin" "$DIR/back.bin" || { echo "GET returned other bytes" >&2; exit 1; }
t3=$(date +%s.%N); /usr/bin/aws --version >/dev/null; t4=$(date +%s.%N)
presign() {
  python3 - "$EP" "$1" "$2" <<'PY'
import sys, boto3
from botocore.config import Config
ep, method, key = sys.argv[1:4]
c = boto3.client("s3", endpoint_url=ep, region_name="us-east-1", config=Config(signature_version="s3v4"))
print(c.generate_presigned_url("put_object" if method == "PUT" else "get_object",
                               Params={"Bucket": "benchvol", "Key": key}, ExpiresIn=3600))
PY
}
rm -f "$DIR/back.bin"
url=$(presign PUT curl.bin)
t5=$(date +%s.%N); curl -sf -T "$DIR/src.bin" "$url" -o /dev/null; t6=$(date +%s.%N)
url=$(presign GET curl.bin)
t7=$(date +%s.%N); curl -sf "$url" -o "$DIR/back.bin"; t8=$(date +%s.%N)
cmp -s "$DIR/src.bin" "$DIR/back.bin" || { echo "curl GET returned other bytes" >&2; exit 1; }
rm -f "$DIR/src.bin" "$DIR/back.bin"
kill -TERM $GW && wait $GW || true
trap - EXIT
python3 - "$MIB" "$capi_w" "$capi_r" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$t6" "$t7" "$t8" \
  "$capi_up" "$capi_down" "$aws_put_cpu" "$aws_get_cpu" "$capi_up_cpu" "$capi_down_cpu" <<'PY'
import os, sys
mib, cw, cr, t0, t1, t2, t3, t4, t5, t6, t7, t8, cu, cd, apc, agc, cuc, cdc = int(sys.argv[1]), *map(float, sys.argv[2:])
gw, gr = t1 - t0, t2 - t1
print("%d MiB object        C ABI MiB/s   gateway+awscli MiB/s   ratio" % mib)
print("PUT (write)        %10.1f   %20.1f   %5.2fx" % (mib / cw, mib / gw, cw / gw))
print("GET (read)         %10.1f   %20.1f   %5.2fx" % (mib / cr, mib / gr, cr / gr))
print("file to file, as aws s3 cp (C ABI: read(2) + jfs_write / jfs_read + write(2)):")
print("PUT (local file in) %9.1f   %20.1f   %5.2fx" % (mib / cu, mib / gw, cu / gw))
print("GET (local file out)%9.1f   %20.1f   %5.2fx" % (mib / cd, mib / gr, cd / gr))
print("awscli CPU: PUT %.2f s in %.2f s (%.2f cores), GET %.2f s in %.2f s (%.2f cores)"
      % (apc, gw, apc / gw, agc, gr, agc / gr))
# However well the gateway overlaps its work, awscli's own CPU and the volume's own (the C ABI
# copy's CPU, a lower bound for the gateway's) share the cores: that bounds the ratio from above.
n = os.cpu_count() or 1
print("C ABI copy CPU: PUT %.2f s, GET %.2f s; ceiling on %d cores, (C ABI time) / ((awscli CPU +"
      " C ABI CPU) / %d): PUT %.2fx, GET %.2fx"
      % (cuc, cdc, n, n, cu / ((apc + cuc) / n), cd / ((agc + cdc) / n)))
st = t4 - t3
print("curl presigned PUT  %10.1f   %20.1f   %5.2fx" % (mib / cw, mib / (t6 - t5), cw / (t6 - t5)))
print("curl presigned GET  %10.1f   %20.1f   %5.2fx" % (mib / cr, mib / (t8 - t7), cr / (t8 - t7)))
print("load average: %.2f %.2f %.2f" % os.getloadavg())
print("(awscli start-up alone: %.2f s per command; without it: PUT %.2fx, GET %.2fx)" % (st, cw / max(gw - st, 1e-3), cr / max(gr - st, 1e-3)))
PY
