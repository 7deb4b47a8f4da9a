#!/usr/bin/env bash
# ListObjectsV2 over one big directory through `jfs gateway` (boto3, pages of 1,000) vs reading the
# same directory through the C ABI (jfs_opendir/jfs_readdir, bench/capi_io), on one SQLite +
# local-directory volume, in the same run. Prints seconds and the ratio (gateway / C ABI).
#   bench/gateway_list.sh BUILD_DIR SCRATCH_DIR [FILES]     (default 100000)
set -euo pipefail
BUILD=$(cd "$1" && pwd)
DIR=$2
N=${3:-100000}
JFS=$BUILD/tools/jfs
CAPI=$BUILD/bench/capi_io
rm -rf "$DIR" && mkdir -p "$DIR"
META="sqlite3://$DIR/meta.db"
"$JFS" format "$META" benchvol --storage file --bucket "$DIR/data" >/dev/null
# Creating the files, then the `ls` twice (the second one is the number: warm SQLite pages, as the
# gateway's listing gets after its first page).
mapfile -t capi < <(printf 'mkfiles /big %d\nls /big %d\nls /big %d\nquit\n' "$N" "$N" "$N" | "$CAPI" "$META")
ls_s=${capi[2]}

export AWS_ACCESS_KEY_ID=benchadmin AWS_SECRET_ACCESS_KEY=benchsecret AWS_DEFAULT_REGION=us-east-1
"$JFS" gateway "$META" 127.0.0.1:0 --port-file "$DIR/port" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" 2>"$DIR/gateway.log" &
GW=$!
trap 'kill $GW 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$DIR/port" ] && break; sleep 0.1; done
EP="http://127.0.0.1:$(cat "$DIR/port")"
python3 - "$EP" "$N" "$ls_s" "${capi[0]}" "$GW" <<'PY'
import os, sys, time, boto3
ep, n, ls_s, mk_s, gw_pid = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
def gw_cpu():  # user + system seconds of the gateway process so far
    f = open("/proc/%d/stat" % gw_pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1")
s3.list_buckets()  # connection and client set up outside the timing
def run():
    t0, keys, pages, first = time.monotonic(), 0, 0, None
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="benchvol", Prefix="big/", PaginationConfig={"PageSize": 1000}):
        keys += page["KeyCount"]
        pages += 1
        if first is None:
            first = time.monotonic() - t0
    if keys != n:
        sys.exit("listed %d keys, want %d" % (keys, n))
    return time.monotonic() - t0, pages, first
def run_raw():
    # The same pages with a thin client (SigV4 from botocore, http.client keep-alive, the token
    # and key count picked out with a regex): the gateway's time without boto3's XML parsing.
    import http.client, re, urllib.parse
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    creds = s3._request_signer._credentials
    u = urllib.parse.urlparse(ep)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    t0, keys, pages, token = time.monotonic(), 0, 0, None
    while True:
        q = {"list-type": "2", "prefix": "big/", "max-keys": "1000"}
        if token:
            q["continuation-token"] = token
        url = ep + "/benchvol?" + urllib.parse.urlencode(q)
        req = AWSRequest(method="GET", url=url)
        S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
        conn.request("GET", url[len(ep):], headers=dict(req.headers.items()))
        body = conn.getresponse().read().decode()
        keys += body.count("<Key>")
        pages += 1
        m = re.search(r"<NextContinuationToken>([^<]*)<", body)
        if not m:
            break
        token = m.group(1)
    if keys != n:
        sys.exit("raw: listed %d keys, want %d" % (keys, n))
    return time.monotonic() - t0
total, pages, first = run()
total2, _, _ = run()
c0 = gw_cpu()
raw = run_raw()
raw_gw_cpu = gw_cpu() - c0
print("%d files (created in %.1f s through the C ABI)" % (n, mk_s))
print("C ABI readdir of the directory:            %8.3f s" % ls_s)
print("gateway ListObjectsV2, %3d pages of 1,000:  %8.3f s (first page %.3f s)   ratio %.2fx" % (pages, total, first, total / ls_s))
print("  again (listing cached):                   %8.3f s                       ratio %.2fx" % (total2, total2 / ls_s))
print("  thin client (no boto3 parsing):           %8.3f s                       ratio %.2fx" % (raw, raw / ls_s))
print("  gateway CPU during the thin client's run: %8.3f s                       ratio %.2fx" % (raw_gw_cpu, raw_gw_cpu / ls_s))
print("  per page: %.1f ms; C ABI readdir per 1,000 entries: %.1f ms" % (total / pages * 1e3, ls_s / n * 1e6))
PY
kill -TERM $GW && wait $GW || true
trap - EXIT
