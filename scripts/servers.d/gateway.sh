# shellcheck shell=bash
# Not a server: the S3 clients the `jfs gateway` tests (tests/server) drive against the gateway,
# which each test starts itself on a free loopback port. Adds no entry to JFS_SERVERS.
JFS_TEST_PACKAGES+=(awscli python3-boto3 curl rclone s3fs)
