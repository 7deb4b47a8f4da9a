#!/usr/bin/env bash
# Installs the Debian packages libjuicefs needs to build and test (idempotent, quiet when nothing is
# missing). Sourced by quickstart.sh and test.sh; can also be run on its own. Sourcing it changes no
# shell options: test.sh must keep going after a failing test run to print its summary.

JFS_BUILD_PACKAGES=(
  meson ninja-build pkg-config g++ python3
  libabsl-dev libsqlite3-dev libssl-dev libzstd-dev liblz4-dev libcurl4-openssl-dev
  libhiredis-dev libpq-dev libmariadb-dev nlohmann-json3-dev libcli11-dev catch2 sqlite3
  libpugixml-dev zlib1g-dev libfuse3-dev fuse3 libmicrohttpd-dev
  openssl zstd
  openjdk-17-jdk-headless  # bindings/java (javac, jar, JNI headers)
)

jfs_missing_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  echo "${missing[@]:-}"
}

jfs_install_packages() {
  local missing
  missing=$(jfs_missing_packages "$@")
  [ -z "$missing" ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: $missing"
  $sudo apt-get update -qq >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing \
    >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  jfs_install_packages "${JFS_BUILD_PACKAGES[@]}"
fi
