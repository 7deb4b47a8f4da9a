# PostgreSQL 15 on 127.0.0.1:15432 for the postgres:// metadata engine tests (tooling.md §4).
# initdb and the server run as the postgres user (initdb refuses root); trust authentication for
# the superuser, plus a password user for the wrong-password test. Exports JFS_TEST_PG_URL.
JFS_TEST_PACKAGES+=(postgresql postgresql-client)
JFS_SERVERS+=(postgres)

_jfs_pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

jfs_start_postgres() {  # jfs_start_postgres DIR
  local dir=$1 bin
  bin=$(_jfs_pg_bin)
  [ -n "$bin" ] || { echo "postgres: no /usr/lib/postgresql/*/bin" >&2; return 1; }
  jfs_stop_postgres
  mkdir -p "$dir"
  rm -rf "$dir/data"
  chown postgres:postgres "$dir"
  runuser -u postgres -- "$bin/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 \
    >"$dir/initdb.log" 2>&1 || return 1
  # Password authentication on TCP so that a wrong password is rejected; trust on the socket.
  cat >"$dir/data/pg_hba.conf" <<HBA
local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
HBA
  runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
    -o "-p 15432 -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
    -w start >"$dir/pg_ctl.log" 2>&1 || return 1
  echo "$dir" >/tmp/jfs-test-postgres.dir
  psql -q -h "$dir" -p 15432 -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE USER jfs PASSWORD 'jfspass'" -c "CREATE DATABASE jfs OWNER jfs" \
    >"$dir/setup.log" 2>&1 || return 1
  # The restart test (tests/meta/sql_server_test.cc) runs this between operations.
  cat >"$dir/restart.sh" <<SH
#!/bin/sh
exec runuser -u postgres -- $bin/pg_ctl -D $dir/data -m fast -w restart >>$dir/pg_ctl.log 2>&1
SH
  chmod +x "$dir/restart.sh"
  export JFS_TEST_PG_URL="postgres://jfs:jfspass@127.0.0.1:15432/jfs?sslmode=disable"
  export JFS_TEST_PG_RESTART="$dir/restart.sh"
}

jfs_stop_postgres() {
  local bin dir
  bin=$(_jfs_pg_bin)
  dir=$(cat /tmp/jfs-test-postgres.dir 2>/dev/null) || true
  if [ -n "$bin" ] && [ -n "$dir" ] && [ -f "$dir/data/postmaster.pid" ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
  fi
  rm -f /tmp/jfs-test-postgres.dir
  return 0
}
