# S3 test server: @20minutes/s3rver 4.0.4 (npm), which verifies SigV4 signatures (shared/tooling.md
# §7). Installed once into .test-tools/s3rver4 inside the repo (gitignored); reruns are offline.
# Needs node >= 20; Debian's nodejs/npm are installed only when no node is on PATH.
# Port 14569. Exports JFS_TEST_S3_ENDPOINT, JFS_TEST_S3_ACCESS_KEY, JFS_TEST_S3_SECRET_KEY.

command -v node >/dev/null 2>&1 || JFS_TEST_PACKAGES+=(nodejs npm)
JFS_TEST_PACKAGES+=(awscli)  # the baseline of bench/s3_vs_awscli
JFS_SERVERS+=(s3)

JFS_S3_PORT=14569
JFS_S3_TOOLS="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.test-tools/s3rver4"

jfs_s3_install() {
  [ -f "$JFS_S3_TOOLS/node_modules/@20minutes/s3rver/lib/cli.js" ] && return 0
  mkdir -p "$JFS_S3_TOOLS"
  (cd "$JFS_S3_TOOLS" && npm install --no-audit --no-fund --silent @20minutes/s3rver@4.0.4) \
    >"$JFS_S3_TOOLS/npm-install.log" 2>&1 || { cat "$JFS_S3_TOOLS/npm-install.log" >&2; return 1; }
}

jfs_start_s3() {  # jfs_start_s3 DIR
  local dir=$1 i
  jfs_stop_s3
  jfs_s3_install || return 1
  printf "%s\n" "require('@20minutes/s3rver/lib/cli.js').parseAsync(process.argv);" \
    >"$JFS_S3_TOOLS/s3rver4.js"
  rm -rf "$dir/data"
  mkdir -p "$dir/data"
  # --openssl-legacy-provider: continuation tokens use DES, which Node's OpenSSL 3 rejects otherwise.
  (cd "$JFS_S3_TOOLS" && exec node --openssl-legacy-provider s3rver4.js -d "$dir/data" \
    -a 127.0.0.1 -p "$JFS_S3_PORT" --silent) >"$dir/s3rver.log" 2>&1 &
  echo $! >"$dir/s3rver.pid"
  echo "$dir/s3rver.pid" >"$JFS_S3_TOOLS/last-pidfile"
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$JFS_S3_PORT") 2>/dev/null; then
      export JFS_TEST_S3_ENDPOINT="http://127.0.0.1:$JFS_S3_PORT"
      export JFS_TEST_S3_ACCESS_KEY=S3RVER JFS_TEST_S3_SECRET_KEY=S3RVER
      return 0
    fi
    kill -0 "$(cat "$dir/s3rver.pid")" 2>/dev/null || { cat "$dir/s3rver.log" >&2; return 1; }
    sleep 0.1
  done
  echo "s3rver did not start on port $JFS_S3_PORT" >&2
  return 1
}

jfs_stop_s3() {
  local pidfile pid
  pidfile=$(cat "$JFS_S3_TOOLS/last-pidfile" 2>/dev/null) || true
  if [ -n "$pidfile" ] && [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    # Only our launcher: the pid must still be a node running s3rver4.js.
    if grep -q s3rver4.js "/proc/$pid/cmdline" 2>/dev/null; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null
    fi
    rm -f "$pidfile"
  fi
  rm -f "$JFS_S3_TOOLS/last-pidfile"
  return 0
}
