# shellcheck shell=bash
# Not a server: the Debian packages the Java binding tests (tests/bindings/java) need: JUnit 5
# (the JDK itself is a build package in scripts/deps.sh). Sourced by scripts/servers.sh with the
# server files; it adds no entry to JFS_SERVERS.
JFS_TEST_PACKAGES+=(junit5)
