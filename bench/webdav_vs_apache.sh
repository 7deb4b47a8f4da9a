#!/bin/bash
# jfs webdav vs Apache 2.4 mod_dav (Debian's apache2) on the same machine, in the same run:
# GET and PUT of one big file and PROPFIND Depth 1 of a 10,000-entry collection, with curl as
# the client on loopback. Prints the times and the ratios (jfs throughput / Apache throughput;
# goals: big GET/PUT >= 0.5x, PROPFIND >= 1x).
#
#   bench/webdav_vs_apache.sh [JFS_BINARY]      (default build/tools/jfs)
#   JFS_BENCH_BIG_MB=1024 (size of the big file), JFS_BENCH_ENTRIES=10000
#
# jfs serves a SQLite + local-directory volume; Apache serves a local directory (DavLockDB in the
# same temp dir) on its own loopback port, started as a plain process with its own config (no
# systemd). jfs is asked with pre-emptive Basic auth (--insecure-basic: one round trip per request,
# as Apache without auth); Apache has no auth. The bench installs nothing: it says what is missing.
set -euo pipefail
JFS=$(readlink -f "${1:-build/tools/jfs}")
BIG_MB=${JFS_BENCH_BIG_MB:-1024}
ENTRIES=${JFS_BENCH_ENTRIES:-10000}
missing=()
[ -x "$JFS" ] || missing+=("jfs binary at $JFS (build it first)")
command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
command -v python3 >/dev/null || missing+=("python3 (apt-get install python3)")
[ -x /usr/sbin/apache2 ] || missing+=("apache2 (apt-get install apache2)")
[ -f /usr/lib/apache2/modules/mod_dav_fs.so ] || missing+=("mod_dav_fs (apt-get install apache2)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'missing: %s\n' "${missing[@]}" >&2
  exit 2
fi

T=$(mktemp -d /tmp/jfs-davbench-XXXXXX)
JPID="" APID=""
cleanup() {
  [ -n "$JPID" ] && kill "$JPID" 2>/dev/null && wait "$JPID" 2>/dev/null || true
  [ -n "$APID" ] && kill "$APID" 2>/dev/null || true
  sleep 0.5
  rm -rf "$T"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ---- Apache ----
APORT=$(free_port)
mkdir -p "$T/apache/dav" "$T/apache/run"
chown -R www-data:www-data "$T/apache"
chmod 755 "$T"
cat > "$T/apache/httpd.conf" <<CONF
ServerRoot "$T/apache"
ServerName 127.0.0.1
Listen 127.0.0.1:$APORT
PidFile $T/apache/run/httpd.pid
ErrorLog $T/apache/error.log
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule dav_module /usr/lib/apache2/modules/mod_dav.so
LoadModule dav_fs_module /usr/lib/apache2/modules/mod_dav_fs.so
User www-data
Group www-data
DavLockDB $T/apache/run/DavLock
DocumentRoot $T/apache/dav
<Directory $T/apache/dav>
  Dav On
  Require all granted
</Directory>
LimitRequestBody 0
CONF
/usr/sbin/apache2 -f "$T/apache/httpd.conf" -k start
for _ in $(seq 100); do [ -s "$T/apache/run/httpd.pid" ] && break; sleep 0.1; done
APID=$(cat "$T/apache/run/httpd.pid")
AURL="http://127.0.0.1:$APORT"

# ---- jfs webdav ----
META="sqlite3://$T/meta.db"
"$JFS" format "$META" davbench --storage file --bucket "$T/data" >/dev/null
"$JFS" webdav "$META" 127.0.0.1:0 --user bench --password bench-pass --insecure-basic \
  --cache-size 0 --port-file "$T/port" 2>"$T/jfs.log" &
JPID=$!
for _ in $(seq 200); do [ -s "$T/port" ] && break; sleep 0.05; done
JURL="http://127.0.0.1:$(cat "$T/port")"
JAUTH=(--basic -u bench:bench-pass)

# ---- data ----
head -c $((BIG_MB << 20)) /dev/urandom > "$T/big.bin"
python3 - "$T/apache/dav/many" "$ENTRIES" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
for i in range(n):
    with open(os.path.join(d, "file-%05d.txt" % i), "w") as f:
        f.write("x" * 100)
PY
chown -R www-data:www-data "$T/apache/dav/many"
"$JFS" --meta "$META" cp -r "$T/apache/dav/many" jfs:/many >/dev/null

t() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "$@"; }
run() {  # run LABEL CURL-ARGS...: prints seconds (best of 2), checks the status
  local best="" out code sec
  for _ in 1 2; do
    out=$(t "$@")
    code=${out% *}
    sec=${out#* }
    case "$code" in 2??) ;; *) echo "request failed ($code): $*" >&2; exit 1 ;; esac
    if [ -z "$best" ] || awk "BEGIN{exit !($sec < $best)}"; then best=$sec; fi
  done
  echo "$best"
}
PF='<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>'

a_put=$(run "$AURL/big.bin" -T "$T/big.bin")
j_put=$(run "$JURL/big.bin" -T "$T/big.bin" "${JAUTH[@]}")
sync
a_get=$(run "$AURL/big.bin")
j_get=$(run "$JURL/big.bin" "${JAUTH[@]}")
a_pf=$(run -X PROPFIND -H 'Depth: 1' -H 'Content-Type: application/xml' --data-binary "$PF" "$AURL/many/")
j_pf=$(run -X PROPFIND -H 'Depth: 1' -H 'Content-Type: application/xml' --data-binary "$PF" "$JURL/many/" "${JAUTH[@]}")
# Both listings must name every entry.
na=$(curl -s -X PROPFIND -H 'Depth: 1' --data-binary "$PF" "$AURL/many/" | grep -o '<D:href>' | wc -l)
nj=$(curl -s -X PROPFIND -H 'Depth: 1' --data-binary "$PF" "$JURL/many/" "${JAUTH[@]}" | grep -o '<D:href>' | wc -l)

awk -v mb="$BIG_MB" -v n="$ENTRIES" -v ap="$a_put" -v jp="$j_put" -v ag="$a_get" -v jg="$j_get" \
    -v af="$a_pf" -v jf="$j_pf" -v na="$na" -v nj="$nj" 'BEGIN {
  printf "%-28s %12s %12s %10s %8s\n", "operation", "apache", "jfs webdav", "ratio", "goal"
  printf "%-28s %9.1f MB/s %7.1f MB/s %9.2fx %8s\n", "PUT " mb " MiB", mb/ap, mb/jp, ap/jp, ">=0.5x"
  printf "%-28s %9.1f MB/s %7.1f MB/s %9.2fx %8s\n", "GET " mb " MiB", mb/ag, mb/jg, ag/jg, ">=0.5x"
  printf "%-28s %10.3f s %10.3f s %9.2fx %8s\n", "PROPFIND Depth 1, " n " entries", af, jf, af/jf, ">=1x"
  printf "(entries listed: apache %d, jfs %d; ratio = jfs speed / apache speed, best of 2)\n", na, nj
}'
