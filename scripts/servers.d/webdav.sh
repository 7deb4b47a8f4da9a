# shellcheck shell=bash
# Not a server: the WebDAV clients the `jfs webdav` tests (tests/server/webdav_test.py) drive
# against the server, which each test starts itself on a free loopback port: litmus (the WebDAV
# test suite), curl and openssl (TLS certificates). Adds no entry to JFS_SERVERS.
JFS_TEST_PACKAGES+=(litmus curl openssl)
