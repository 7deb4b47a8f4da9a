# Redis for the Redis metadata engine's tests (shared/tooling.md §3): a standalone server on
# 127.0.0.1:16379 (64 databases, so every test program gets its own) and a 3-master Redis Cluster
# on 127.0.0.1:17001-17003. Exports
#   JFS_TEST_REDIS_URL          redis://127.0.0.1:16379   (tests append /DB)
#   JFS_TEST_REDIS_CLUSTER_URL  redis://127.0.0.1:17001   (tests append /DB: the "{DB}" hash tag)
#   JFS_TEST_REDIS_SERVER       the redis-server binary (fault tests start private servers)
JFS_TEST_PACKAGES+=(redis-server redis-tools)
JFS_SERVERS+=(redis)

_jfs_redis_wait() {  # _jfs_redis_wait PORT
  local i
  for i in $(seq 1 100); do
    redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  return 1
}

_jfs_redis_kill_port() {  # stops whatever redis-server listens on PORT (a stale run)
  redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
  local i
  for i in $(seq 1 50); do
    redis-cli -p "$1" ping >/dev/null 2>&1 || return 0
    sleep 0.05
  done
}

jfs_start_redis() {  # jfs_start_redis DIR
  local dir=$1 p
  jfs_stop_redis
  mkdir -p "$dir/standalone"
  redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no --databases 64 \
    --dir "$dir/standalone" --daemonize yes --logfile "$dir/standalone/r.log" \
    --pidfile "$dir/standalone/r.pid" >/dev/null || return 1
  _jfs_redis_wait 16379 || return 1
  for p in 17001 17002 17003; do
    mkdir -p "$dir/cluster/$p"
    redis-server --port "$p" --bind 127.0.0.1 --dir "$dir/cluster/$p" --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 2000 --save '' --appendonly no \
      --daemonize yes --logfile "$dir/cluster/$p/r.log" --pidfile "$dir/cluster/$p/r.pid" \
      >/dev/null || return 1
  done
  for p in 17001 17002 17003; do _jfs_redis_wait "$p" || return 1; done
  redis-cli --cluster create 127.0.0.1:17001 127.0.0.1:17002 127.0.0.1:17003 \
    --cluster-replicas 0 --cluster-yes >"$dir/cluster/create.log" 2>&1 || return 1
  local i
  for i in $(seq 1 100); do
    if redis-cli -p 17001 cluster info 2>/dev/null | grep -q cluster_state:ok &&
      redis-cli -p 17002 cluster info 2>/dev/null | grep -q cluster_state:ok &&
      redis-cli -p 17003 cluster info 2>/dev/null | grep -q cluster_state:ok; then
      export JFS_TEST_REDIS_URL=redis://127.0.0.1:16379
      export JFS_TEST_REDIS_CLUSTER_URL=redis://127.0.0.1:17001
      JFS_TEST_REDIS_SERVER=$(command -v redis-server)
      export JFS_TEST_REDIS_SERVER
      return 0
    fi
    sleep 0.1
  done
  return 1
}

jfs_stop_redis() {
  local p
  for p in 16379 17001 17002 17003; do _jfs_redis_kill_port "$p"; done
  return 0
}
