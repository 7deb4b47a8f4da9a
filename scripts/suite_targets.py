#!/usr/bin/env python3
"""Prints the ninja targets (paths relative to BUILD_DIR) that the tests of the SUITEs need.

Used by scripts/test.sh to build only what the sanitizer run executes, instead of every target
(benchmarks, tools and integration tests the sanitizer run never starts).

  python3 scripts/suite_targets.py BUILD_DIR SUITE [SUITE...]
"""
import json
import os
import subprocess
import sys


def introspect(build_dir, what):
    out = subprocess.run(["meson", "introspect", build_dir, what], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: suite_targets.py BUILD_DIR SUITE [SUITE...]")
    build_dir, suites = sys.argv[1], sys.argv[2:]
    build_abs = os.path.abspath(build_dir)
    files = {t["id"]: t["filename"] for t in introspect(build_dir, "--targets")}
    wanted = set()
    for test in introspect(build_dir, "--tests"):
        if not any(s == q or s.endswith(":" + q) for s in test["suite"] for q in suites):
            continue
        for dep in test["depends"]:
            for f in files.get(dep, []):
                wanted.add(os.path.relpath(f, build_abs))
    if not wanted:
        sys.exit(f"suite_targets.py: no test of suites {suites} in {build_dir}")
    print("\n".join(sorted(wanted)))


if __name__ == "__main__":
    main()
