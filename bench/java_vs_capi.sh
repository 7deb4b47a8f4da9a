#!/usr/bin/env bash
# Java bindings vs the C ABI (bench/JavaVsCapi.java) on a fresh volume in DIR; not a test.
#   bench/java_vs_capi.sh BUILD_DIR DIR [--mib 256] [--rounds 3] [--stats 20000]
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR DIR [--mib N] [--rounds N] [--stats N]" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
exec java -Djuicefs.jni.library="$build/bindings/java/libjuicefs_jni.so" \
  -cp "$build/bindings/java/juicefs.jar" "$here/JavaVsCapi.java" "$build/bench/capi_io" "$@"
