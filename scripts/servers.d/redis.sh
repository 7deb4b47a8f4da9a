# Redis for the Redis metadata engine's tests (shared/tooling.md §3): a standalone server on
# 127.0.0.1:16379 (64 databases, so every test program gets its own) and a 3-master Redis Cluster
# on 127.0.0.1:17001-17003; for the failover test a second cluster of 3 masters with one replica
# each on 127.0.0.1:17011-17016 (cluster-node-timeout 1000 ms, so a killed master is replaced
# within a few seconds; its nodes run from redis.conf files so the test can restart one). Exports
#   JFS_TEST_REDIS_URL          redis://127.0.0.1:16379   (tests append /DB)
#   JFS_TEST_REDIS_CLUSTER_URL  redis://127.0.0.1:17001   (tests append /DB: the "{DB}" hash tag)
#   JFS_TEST_REDIS_FAILOVER_URL redis://127.0.0.1:17011   (tests append /DB)
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

_jfs_redis_alive() {  # PID runs (a zombie left unreaped by a container's init does not count)
  [ -e "/proc/$1" ] && ! awk '{exit ($3 == "Z") ? 0 : 1}' "/proc/$1/stat" 2>/dev/null
}

_jfs_redis_kill_port() {  # stops whatever redis-server listens on PORT (a stale run)
  local pid i
  pid=$(redis-cli -p "$1" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')
  [ -n "$pid" ] || return 0
  # NOW: a master does not wait (up to shutdown-timeout) for its replicas to catch up.
  redis-cli -p "$1" shutdown nosave now >/dev/null 2>&1 ||
    redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
  for i in $(seq 1 40); do
    _jfs_redis_alive "$pid" || return 0
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null
  for i in $(seq 1 40); do
    _jfs_redis_alive "$pid" || return 0
    sleep 0.05
  done
}

_jfs_redis_cluster_ok() {  # _jfs_redis_cluster_ok PORT... : every node reports cluster_state:ok
  local p
  for p in "$@"; do
    redis-cli -p "$p" cluster info 2>/dev/null | grep -q cluster_state:ok || return 1
  done
}

# _jfs_redis_cluster DIR REPLICAS PORT... : starts one cluster-enabled node per port (from
# DIR/PORT/redis.conf) and joins them, REPLICAS replicas per master.
_jfs_redis_cluster() {
  local dir=$1 replicas=$2 p i addrs=()
  shift 2
  for p in "$@"; do
    rm -rf "${dir:?}/$p"  # no nodes.conf or replica dump.rdb of an earlier run
    mkdir -p "$dir/$p"
    cat >"$dir/$p/redis.conf" <<EOF
port $p
bind 127.0.0.1
dir $dir/$p
cluster-enabled yes
cluster-config-file nodes.conf
cluster-node-timeout $((replicas > 0 ? 1000 : 2000))
save ""
appendonly no
daemonize yes
logfile $dir/$p/r.log
pidfile $dir/$p/r.pid
EOF
    redis-server "$dir/$p/redis.conf" >/dev/null || return 1
    addrs+=("127.0.0.1:$p")
  done
  for p in "$@"; do _jfs_redis_wait "$p" || return 1; done
  redis-cli --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes \
    >"$dir/create.log" 2>&1 || return 1
  for i in $(seq 1 100); do
    _jfs_redis_cluster_ok "$@" && return 0
    sleep 0.1
  done
  return 1
}

jfs_start_redis() {  # jfs_start_redis DIR
  local dir=$1 p
  jfs_stop_redis
  mkdir -p "$dir/standalone"
  redis-server --port 16379 --bind 127.0.0.1 --save '' --appendonly no --databases 64 \
    --dir "$dir/standalone" --daemonize yes --logfile "$dir/standalone/r.log" \
    --pidfile "$dir/standalone/r.pid" >/dev/null || return 1
  _jfs_redis_wait 16379 || return 1
  # The two clusters form at the same time (each spends most of its start waiting for gossip);
  # in a subshell, so an interactive shell prints no job messages.
  (
    _jfs_redis_cluster "$dir/cluster" 0 17001 17002 17003 &
    main=$!
    _jfs_redis_cluster "$dir/failover" 1 17011 17012 17013 17014 17015 17016 &
    failover=$!
    wait "$main"
    rc=$?
    wait "$failover" && [ "$rc" = 0 ]
  ) || return 1
  export JFS_TEST_REDIS_URL=redis://127.0.0.1:16379
  export JFS_TEST_REDIS_CLUSTER_URL=redis://127.0.0.1:17001
  export JFS_TEST_REDIS_FAILOVER_URL=redis://127.0.0.1:17011
  JFS_TEST_REDIS_SERVER=$(command -v redis-server)
  export JFS_TEST_REDIS_SERVER
}

jfs_stop_redis() {
  local p
  for p in 16379 17001 17002 17003 17011 17012 17013 17014 17015 17016; do
    _jfs_redis_kill_port "$p"
  done
  return 0
}
