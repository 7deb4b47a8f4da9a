# MariaDB on 127.0.0.1:13306 for the mysql:// metadata engine tests (tooling.md §5). A scratch
# data directory, no system config (--no-defaults); user jfs/jfspass owns database jfs.
# A throwaway server without durability, like the PostgreSQL one (fsync=off): a commit flushes
# neither the redo log (innodb_flush_log_at_trx_commit=0) nor a binary log (none), so latency
# benchmarks (bench/meta_sql_rtt) measure the client and the server's work, not the disk.
# Exports JFS_TEST_MYSQL_URL (JuiceFS's URL form).
JFS_TEST_PACKAGES+=(mariadb-server mariadb-client)
JFS_SERVERS+=(mariadb)

jfs_start_mariadb() {  # jfs_start_mariadb DIR
  local dir=$1 i
  jfs_stop_mariadb
  mkdir -p "$dir"
  rm -rf "$dir/data"
  mariadb-install-db --no-defaults --user=root --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 || return 1
  # start.sh / stop.sh are also what the restart test (tests/meta/sql_server_test.cc) runs.
  cat >"$dir/start.sh" <<SH
#!/bin/sh
mariadbd --no-defaults --user=root --datadir="$dir/data" --socket="$dir/mysqld.sock" \\
  --port=13306 --bind-address=127.0.0.1 --pid-file="$dir/mysqld.pid" \\
  --log-error="$dir/err.log" --skip-name-resolve --innodb-flush-log-at-trx-commit=0 \\
  --skip-log-bin --sync-binlog=0 \\
  --innodb-file-per-table=0 --innodb-doublewrite=0 --max-connections=500 >/dev/null 2>&1 </dev/null &
i=0
while [ \$i -lt 400 ]; do
  mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -uroot ping >/dev/null 2>&1 && exit 0
  sleep 0.05; i=\$((i+1))
done
exit 1
SH
  cat >"$dir/stop.sh" <<SH
#!/bin/sh
pid=\$(cat "$dir/mysqld.pid" 2>/dev/null) || exit 0
kill "\$pid" 2>/dev/null || exit 0
while kill -0 "\$pid" 2>/dev/null; do sleep 0.05; done
SH
  printf '#!/bin/sh\n"%s/stop.sh" && exec "%s/start.sh"\n' "$dir" "$dir" >"$dir/restart.sh"
  chmod +x "$dir/start.sh" "$dir/stop.sh" "$dir/restart.sh"
  echo "$dir" >/tmp/jfs-test-mariadb.dir
  "$dir/start.sh" || return 1
  mariadb --no-defaults -S "$dir/mysqld.sock" -uroot -e "CREATE DATABASE jfs; \
    CREATE USER 'jfs'@'127.0.0.1' IDENTIFIED BY 'jfspass'; GRANT ALL ON *.* TO 'jfs'@'127.0.0.1'" \
    >"$dir/setup.log" 2>&1 || return 1
  export JFS_TEST_MYSQL_URL="mysql://jfs:jfspass@(127.0.0.1:13306)/jfs"
  export JFS_TEST_MYSQL_RESTART="$dir/restart.sh"
}

jfs_stop_mariadb() {
  local dir pid
  dir=$(cat /tmp/jfs-test-mariadb.dir 2>/dev/null) || true
  if [ -n "$dir" ] && [ -f "$dir/mysqld.pid" ]; then
    pid=$(cat "$dir/mysqld.pid")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
      while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
    fi
  fi
  rm -f /tmp/jfs-test-mariadb.dir
  return 0
}
