#!/usr/bin/env bash
# Starting and stopping the real servers integration tests run against, on loopback, without
# systemd (recipes: shared/tooling.md). Sourced by test.sh.
#
# Each server lives in its own file under scripts/servers.d/NAME.sh, which
#   - appends the Debian packages it needs to JFS_TEST_PACKAGES,
#   - defines jfs_start_NAME SCRATCH_DIR (start, wait until ready, export the JFS_TEST_* variables
#     the tests read) and jfs_stop_NAME (stop; must be safe to call when nothing was started),
#   - appends NAME to JFS_SERVERS.
# A test whose JFS_TEST_* variable is unset fails rather than skips.
# The ports are fixed loopback ports; a stale server from an interrupted run is stopped first.

JFS_TEST_PACKAGES=()
JFS_SERVERS=()

for _jfs_server_file in "$(dirname "${BASH_SOURCE[0]}")"/servers.d/*.sh; do
  [ -e "$_jfs_server_file" ] || continue
  # shellcheck disable=SC1090
  source "$_jfs_server_file"
done
unset _jfs_server_file

jfs_start_servers() {  # jfs_start_servers SCRATCH_DIR
  local s
  mkdir -p "$1"
  for s in "${JFS_SERVERS[@]:-}"; do
    [ -n "$s" ] || continue
    mkdir -p "$1/$s"
    "jfs_start_$s" "$1/$s" || { echo "error: starting $s failed (logs: $1/$s)" >&2; return 1; }
  done
  return 0
}

jfs_stop_servers() {
  local s
  for s in "${JFS_SERVERS[@]:-}"; do
    [ -n "$s" ] && "jfs_stop_$s" >/dev/null 2>&1
  done
  return 0
}
