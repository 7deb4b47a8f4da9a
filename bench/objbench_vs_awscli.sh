#!/usr/bin/env bash
# objbench_vs_awscli: `jfs objbench`'s big-object rows (upload/download objects) against
# Debian's aws-cli (`/usr/bin/aws s3 cp`) moving the same number of bytes to/from the same S3
# server, in ONE run, plus a ceiling: the same bytes PUT/GET by curl directly (one 8 MiB object
# per request, as many requests in flight as objbench threads), i.e. what the server allows.
# Prints MiB/s of each and the ratios (issue 5 goal: objbench >= 2x aws-cli). Not a test:
#   bench/objbench_vs_awscli.sh build/tools/jfs http://127.0.0.1:14569 [MiB] [threads]
# Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default S3RVER/S3RVER).
set -euo pipefail
JFS=${1:?usage: objbench_vs_awscli.sh JFS ENDPOINT [MiB] [threads]}
EP=${2:?usage: objbench_vs_awscli.sh JFS ENDPOINT [MiB] [threads]}
MIB=${3:-256}
THREADS=${4:-10}
AWS=${AWS:-/usr/bin/aws}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-S3RVER} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-S3RVER}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1}
BUCKET="bench-objbench-$$"
T=$(mktemp -d "${TMPDIR:-/tmp}/objbench_vs_awscli.XXXXXX")
trap 'rm -rf "$T"; "$AWS" --endpoint-url "$EP" s3 rb --force "s3://$BUCKET" >/dev/null 2>&1 || true' EXIT
now() { date +%s.%N; }
rate() { awk -v m="$MIB" -v s="$1" 'BEGIN { printf "%.1f", m / s }'; }

echo "load: $(uptime | sed 's/.*load average/load average/')"
# objbench: the big object as 8 MiB blocks (aws-cli's part size), THREADS workers.
"$JFS" objbench "$EP/$BUCKET" --storage s3 --skip-functional-tests --block-size 8M \
  --big-object-size "${MIB}M" --small-objects "$THREADS" --small-object-size 4K -p "$THREADS" \
  >"$T/objbench" 2>&1 || { cat "$T/objbench"; exit 1; }
up=$(grep -E '^\| +upload objects' "$T/objbench" | awk -F'|' '{print $3+0}')
down=$(grep -E '^\| +download objects' "$T/objbench" | awk -F'|' '{print $3+0}')

head -c $((MIB << 20)) /dev/urandom >"$T/src"
t0=$(now)
"$AWS" --endpoint-url "$EP" s3 cp --only-show-errors "$T/src" "s3://$BUCKET/aws-obj"
t1=$(now)
"$AWS" --endpoint-url "$EP" s3 cp --only-show-errors "s3://$BUCKET/aws-obj" "$T/dst"
t2=$(now)
aws_up=$(rate "$(echo "$t1 - $t0" | bc -l)")
aws_down=$(rate "$(echo "$t2 - $t1" | bc -l)")

# Ceiling: curl itself, SigV4 by curl (--aws-sigv4, unsigned payload), 8 MiB objects.
n=$((MIB / 8))
head -c $((8 << 20)) "$T/src" >"$T/part"
CURL=(curl -sS --fail --aws-sigv4 "aws:amz:us-east-1:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"
  -H "x-amz-content-sha256: UNSIGNED-PAYLOAD")
t0=$(now)
seq 0 $((n - 1)) | xargs -P "$THREADS" -I{} "${CURL[@]}" -o /dev/null -T "$T/part" "$EP/$BUCKET/curl-{}"
t1=$(now)
seq 0 $((n - 1)) | xargs -P "$THREADS" -I{} "${CURL[@]}" -o /dev/null "$EP/$BUCKET/curl-{}"
t2=$(now)
curl_up=$(rate "$(echo "$t1 - $t0" | bc -l)")
curl_down=$(rate "$(echo "$t2 - $t1" | bc -l)")

echo "big object ${MIB} MiB: jfs objbench (8 MiB blocks, -p $THREADS), aws s3 cp (defaults), curl x$THREADS"
printf "upload:   objbench %7.1f MiB/s  aws-cli %7.1f MiB/s  ratio %.2fx (goal >= 2x)  curl %7.1f MiB/s (objbench/curl %.2f)\n" \
  "$up" "$aws_up" "$(echo "$up / $aws_up" | bc -l)" "$curl_up" "$(echo "$up / $curl_up" | bc -l)"
printf "download: objbench %7.1f MiB/s  aws-cli %7.1f MiB/s  ratio %.2fx (goal >= 2x)  curl %7.1f MiB/s (objbench/curl %.2f)\n" \
  "$down" "$aws_down" "$(echo "$down / $aws_down" | bc -l)" "$curl_down" "$(echo "$down / $curl_down" | bc -l)"
echo "load: $(uptime | sed 's/.*load average/load average/')"
