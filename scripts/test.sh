#!/usr/bin/env bash
# Builds libjuicefs (normal and AddressSanitizer+UndefinedBehaviorSanitizer), starts the servers the
# integration tests need on loopback, runs every test, stops the servers and prints
# `N passed, N failed` as its last line. Idempotent; quiet when everything passes.
#
#   ./scripts/test.sh            everything
#   JFS_TEST_NO_ASAN=1 ./scripts/test.sh    skip the sanitizer build (local iteration only)
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
# shellcheck source=scripts/servers.sh
source scripts/servers.sh

RUN_DIR=$ROOT/.test-run
rm -rf "$RUN_DIR"
mkdir -p "$RUN_DIR"

fail_early() {
  echo "$1" >&2
  echo "0 passed, 1 failed"
  exit 1
}

jfs_install_packages "${JFS_BUILD_PACKAGES[@]}" "${JFS_TEST_PACKAGES[@]}" ||
  fail_early "error: installing packages failed"

build() {  # build DIR "SUITE..."|all [meson options...]: configures DIR, builds what SUITEs need
  local dir=$1 suite=$2 targets=()
  shift 2
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >"$RUN_DIR/setup-$(basename "$dir").log" 2>&1 ||
      { cat "$RUN_DIR/setup-$(basename "$dir").log" >&2; return 1; }
  fi
  if [ "$suite" != all ]; then
    local list
    # shellcheck disable=SC2086  # a space-separated list of suites
    list=$(python3 scripts/suite_targets.py "$dir" $suite) || return 1
    mapfile -t targets <<<"$list"
  fi
  ninja -C "$dir" "${targets[@]}" >"$RUN_DIR/build-$(basename "$dir").log" 2>&1 ||
    { grep -E -B2 -A12 'error|FAILED' "$RUN_DIR/build-$(basename "$dir").log" | head -150 >&2; return 1; }
}

build build all || fail_early "error: build failed (log: $RUN_DIR/build-build.log)"
if [ -z "${JFS_TEST_NO_ASAN:-}" ]; then
  # The unit suite, plus the S3 integration tests (suite 's3': object, lib and tools on s3rver),
  # which cost about three minutes more and cover the libcurl/SigV4/retry code only a server reaches,
  # and the `jfs gateway` end-to-end tests (suite 'gateway': only tools/jfs more to build; about
  # 1.5 minutes; a sanitizer report or leak makes the gateway exit non-zero, which the tests check).
  # -O1 with line tables only (-g1): the usual sanitizer settings, and 3-5x faster to compile
  # than -O2 -g (the Catch2 test files dominate); reports still name file and line.
  build build-asan "unit s3 gateway" -Db_sanitize=address,undefined -Db_lundef=false \
    -Doptimization=1 -Dc_args=-g1 -Dcpp_args=-g1 ||
    fail_early "error: sanitizer build failed (log: $RUN_DIR/build-build-asan.log)"
fi

# The tests write up to 5 GiB at once under the temporary directory (the memory test's 4 GiB file,
# /var/tmp without TMPDIR). On a fuller disk they fail with short writes and ENOSPC wherever the
# space runs out; this says why beforehand.
for dir in "${TMPDIR:-/tmp}" /var/tmp; do
  free_mib=$(df -Pm "$dir" 2>/dev/null | awk 'NR == 2 { print $4 }')
  if [ -n "$free_mib" ] && [ "$free_mib" -lt 6144 ]; then
    echo "warning: $free_mib MiB free under $dir; the tests write up to 5 GiB there at once" >&2
  fi
done

jfs_start_servers "$RUN_DIR/servers" || { jfs_stop_servers; fail_early "error: starting test servers failed"; }
trap jfs_stop_servers EXIT

run_suite() {  # run_suite BUILD_DIR NAME [meson test args...]
  local dir=$1 name=$2
  shift 2
  mkdir -p "$RUN_DIR/$name"
  JFS_TEST_COUNTS_DIR="$RUN_DIR/$name" \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C "$dir" --no-rebuild --print-errorlogs "$@" >"$RUN_DIR/$name/meson.log" 2>&1
  cp "$dir/meson-logs/testlog.json" "$RUN_DIR/$name/testlog.json" 2>/dev/null || true
}

run_suite build all --no-suite asan-integration --timeout-multiplier 2
if [ -z "${JFS_TEST_NO_ASAN:-}" ]; then
  # 'asan-integration': the system tests on the server engines (Redis, Redis Cluster, PostgreSQL,
  # MySQL) with fewer model operations; built with 'unit' (same programs). 's3': the S3
  # integration tests (object, lib and tools on s3rver). 'gateway': jfs gateway under ASan.
  run_suite build-asan asan --suite unit --suite asan-integration --suite s3 --suite gateway \
    --timeout-multiplier 4
fi

jfs_stop_servers
trap - EXIT

python3 scripts/summarize_tests.py "$RUN_DIR"/all ${JFS_TEST_NO_ASAN:+} \
  $([ -z "${JFS_TEST_NO_ASAN:-}" ] && echo "$RUN_DIR/asan")
