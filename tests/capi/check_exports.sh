#!/bin/sh
# Checks the dynamic symbol table of libjuicefs.so: it exports exactly the functions declared
# JFS_EXPORT in juicefs.h (no internal C++ symbol leaks, none is missing), and its SONAME is the
# expected one.
#   check_exports.sh LIBJUICEFS.so juicefs.h EXPECTED_SONAME
set -eu
lib=$1
header=$2
soname=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u > "$tmp/exported"
# Declarations may span lines: join the header, then take the name before '(' of each JFS_EXPORT.
grep -v '^#define JFS_EXPORT' "$header" | tr '\n' ' ' | grep -o 'JFS_EXPORT[^;(]*(' | sed 's/($//; s/.*[ *]//' | sort -u \
  > "$tmp/declared"

status=0
if [ ! -s "$tmp/declared" ]; then
  echo "no JFS_EXPORT declarations found in $header"; status=1
fi
extra=$(comm -23 "$tmp/exported" "$tmp/declared")
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
if [ -n "$extra" ]; then
  echo "exported but not declared in juicefs.h:"; echo "$extra" | head -50; status=1
fi
if [ -n "$missing" ]; then
  echo "declared in juicefs.h but not exported:"; echo "$missing"; status=1
fi
if ! readelf -d "$lib" | grep -q "(SONAME).*\[$soname\]"; then
  echo "SONAME is not $soname:"; readelf -d "$lib" | grep SONAME || true; status=1
fi
[ $status -eq 0 ] && echo "$(wc -l < "$tmp/exported") jfs_* symbols exported, SONAME $soname"
exit $status
