#!/usr/bin/env bash
# Starting and stopping the real servers integration tests run against, on loopback, without
# systemd (recipes: shared/tooling.md). Sourced by test.sh. Each server exports the URL the tests
# read (JFS_TEST_*); a test whose variable is unset fails rather than skips.
#
# The core library needs no server: SQLite and the local directory are embedded. Redis, PostgreSQL,
# MariaDB and the S3 server are added here by the issues that bring those engines.

JFS_TEST_PACKAGES=()
JFS_SERVER_PIDS=()

jfs_start_servers() {  # jfs_start_servers SCRATCH_DIR
  mkdir -p "$1"
  return 0
}

jfs_stop_servers() {
  local pid
  for pid in "${JFS_SERVER_PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  JFS_SERVER_PIDS=()
  return 0
}
