#!/usr/bin/env bash
# Small-object PUT rate: 16 parallel boto3 clients (one process each) PUTting 16 KiB objects through
# `jfs gateway` (SQLite + local-directory volume) vs directly into @20minutes/s3rver 4.0.4, both on
# this machine, in the same run. Starts its own s3rver and gateway on free loopback ports (never the
# shared test server) and stops them (by PID) at the end. Prints objects/s, the ratio and the load
# average, and each server's CPU time per PUT (the clients share the same CPUs: on a small machine
# the 16 Python clients dominate and bound both rates; the clients' own CPU per PUT and the ceiling
# it puts on the ratio are printed too). Not a test.
#   bench/gateway_small_vs_s3rver.sh BUILD_DIR [OBJECTS_PER_CLIENT]   (default 200)
# s3rver 4.0.4 is looked for in $S3RVER4_DIR (default .test-tools/s3rver4 of the repo, where
# scripts/servers.d/s3.sh installs it).
set -euo pipefail
BUILD=$(cd "$1" && pwd)
N=${2:-200}
CLIENTS=16
JFS=$BUILD/tools/jfs
REPO=$(cd "$(dirname "$0")/.." && pwd)
S3RVER4_DIR=${S3RVER4_DIR:-$REPO/.test-tools/s3rver4}
CLI=$S3RVER4_DIR/node_modules/@20minutes/s3rver/lib/cli.js
[ -f "$CLI" ] || { echo "s3rver 4.0.4 not found at $CLI (scripts/servers.d/s3.sh installs it)" >&2; exit 1; }
T=$(mktemp -d /var/tmp/jfs-gwsmall.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# s3rver 4.0.4 with one bucket (--openssl-legacy-provider: see scripts/servers.d/s3.sh).
SPORT=$(free_port)
mkdir -p "$T/s3rver"
printf "require(%s).parseAsync(process.argv);\n" "'$CLI'" >"$T/s3rver.js"
node --openssl-legacy-provider "$T/s3rver.js" -d "$T/s3rver" -a 127.0.0.1 -p "$SPORT" --silent \
  --configure-bucket smallbench >"$T/s3rver.log" 2>&1 &
PIDS+=($!)
SPID=$!
# The gateway over a fresh volume.
META="sqlite3://$T/meta.db"
"$JFS" format "$META" smallbench --storage file --bucket "$T/data" >/dev/null
"$JFS" gateway "$META" 127.0.0.1:0 --port-file "$T/port" --access-key benchadmin \
  --secret-key benchsecret123 2>"$T/gateway.log" &
PIDS+=($!)
GPID=$!
for _ in $(seq 1 200); do
  [ -s "$T/port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null && break
  sleep 0.1
done
GPORT=$(cat "$T/port")

unset AWS_CA_BUNDLE
python3 - "$SPORT" "$GPORT" "$CLIENTS" "$N" "$SPID" "$GPID" <<'PY'
import multiprocessing as mp, os, sys, time
import boto3
from botocore.config import Config

sport, gport, clients, n, spid, gpid = map(int, sys.argv[1:7])


def cpu_seconds(pid):  # user + system time of a server process so far
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
body = os.urandom(16 << 10)


def worker(args):
    ep, ak, sk, i, start = args
    c = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk,
                     region_name="us-east-1",
                     config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    c.put_object(Bucket="smallbench", Key="warm/%d" % i, Body=body)  # connection + client set up
    start.wait()
    t0, cpu0 = time.monotonic(), time.process_time()
    for k in range(n):
        c.put_object(Bucket="smallbench", Key="c%02d/o%05d" % (i, k), Body=body)
    return time.monotonic() - t0, time.process_time() - cpu0


def run(ep, ak, sk):
    with mp.Manager() as m:
        start = m.Barrier(clients + 1)
        with mp.Pool(clients) as pool:
            res = pool.map_async(worker, [(ep, ak, sk, i, start) for i in range(clients)])
            start.wait()
            t0 = time.monotonic()
            client_cpu = sum(cpu for _, cpu in res.get())
            wall = time.monotonic() - t0
    # objects/s, and the clients' own CPU ms per PUT
    return clients * n / wall, client_cpu / (clients * n) * 1000


c0 = cpu_seconds(spid)
s3rver, s3rver_client = run("http://127.0.0.1:%d" % sport, "S3RVER", "S3RVER")
s3rver_cpu = (cpu_seconds(spid) - c0) / (clients * (n + 1)) * 1000
c0 = cpu_seconds(gpid)
gw, gw_client = run("http://127.0.0.1:%d" % gport, "benchadmin", "benchsecret123")
gw_cpu = (cpu_seconds(gpid) - c0) / (clients * (n + 1)) * 1000
print("%d clients x %d PUTs of 16 KiB    objects/s   server CPU ms/PUT" % (clients, n))
print("s3rver 4.0.4 (direct)          %10.0f   %17.2f" % (s3rver, s3rver_cpu))
print("jfs gateway (SQLite + dir)     %10.0f   %17.2f" % (gw, gw_cpu))
print("ratio gateway / s3rver         %10.2fx  %16.2fx less CPU" % (gw / s3rver, s3rver_cpu / gw_cpu))
# The clients run on the same cores: however little CPU the gateway used, the gateway run cannot
# PUT faster than the cores can run the clients alone (cores / client CPU per PUT), which bounds
# the ratio to the s3rver rate measured here.
cores = os.cpu_count() or 1
ceiling = cores / (gw_client / 1000)
print("client CPU ms/PUT: %.2f (s3rver run), %.2f (gateway run); the clients alone can PUT at "
      "most %.0f/s on %d cores: ratio ceiling %.2fx with a gateway costing no CPU"
      % (s3rver_client, gw_client, ceiling, cores, ceiling / s3rver))
print("load average: %.2f %.2f %.2f (%d CPUs)" % (*os.getloadavg(), os.cpu_count()))
PY
# Check the gateway wrote real files.
"$JFS" --meta "$META" stat "jfs:/c15/o$(printf %05d $((N - 1)))" >/dev/null
