#!/usr/bin/env bash
# Installs what libjuicefs needs, builds it, formats a volume (SQLite metadata + local directory
# data) under .quickstart/, and shows the library at work: the C example, a few `jfs` commands and
# a short benchmark. Idempotent: a second run reuses the build and the volume.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=scripts/deps.sh
source scripts/deps.sh
jfs_install_packages "${JFS_BUILD_PACKAGES[@]}"

if [ ! -f build/build.ninja ]; then
  meson setup build >/dev/null
fi
ninja -C build >/dev/null

QS=$ROOT/.quickstart
mkdir -p "$QS"
export JFS_META_URL="sqlite3://$QS/meta.db"
JFS=$ROOT/build/tools/jfs

if ! "$JFS" status >/dev/null 2>&1; then
  "$JFS" format "$JFS_META_URL" quickstart --storage file --bucket "$QS/data"
fi

echo "== volume"
"$JFS" info
echo "== the C example (examples/hello.c)"
"$ROOT/build/examples/hello_c" "$JFS_META_URL" "$QS/data"
echo "== jfs commands"
"$JFS" mkdir -p jfs:/docs
"$JFS" cp README.md jfs:/docs/README.md
"$JFS" ls -l jfs:/docs
"$JFS" cat jfs:/docs/README.md | head -3
echo "== a short benchmark"
"$JFS" bench jfs:/bench --big-file-size 64M --small-file-count 50
echo
echo "Volume: $JFS_META_URL (data in $QS/data). Try: export JFS_META_URL=$JFS_META_URL; $JFS ls jfs:/"
