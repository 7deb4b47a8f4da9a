# shellcheck shell=bash
# Not a server: the Debian packages the Python binding tests (tests/bindings/python) need.
# Sourced by scripts/servers.sh with the server files; it adds no entry to JFS_SERVERS.
JFS_TEST_PACKAGES+=(python3-pytest python3-fsspec)
