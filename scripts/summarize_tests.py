#!/usr/bin/env python3
"""Summarizes test runs for scripts/test.sh.

Each argument is a run directory holding meson's testlog.json and counts files written by the
Catch2 listener (tests/catch2_main.cc): one line "<program> <passed> <failed>" per program run.
Catch2 programs count their test cases; other programs count as one test. A program that meson saw
fail (crash, sanitizer report, timeout, skip) but whose Catch2 counts show no failure adds one
failure. Prints failing tests, then `N passed, N failed` as the last line; exits 1 on any failure.
"""
import json
import os
import sys


def load_counts(run_dir):
    counts = {}
    for fname in os.listdir(run_dir):
        if not fname.startswith("counts"):
            continue
        with open(os.path.join(run_dir, fname)) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                prog, p, fl = parts[0], int(parts[1]), int(parts[2])
                op, of = counts.get(prog, (0, 0))
                counts[prog] = (op + p, of + fl)
    return counts


def main():
    passed = failed = 0
    problems = []
    for run_dir in sys.argv[1:]:
        label = os.path.basename(run_dir)
        counts = load_counts(run_dir)
        log = os.path.join(run_dir, "testlog.json")
        if not os.path.exists(log):
            problems.append(f"[{label}] no test log (meson test did not run)")
            failed += 1
            continue
        seen = set()
        with open(log) as f:
            for line in f:
                if not line.strip():
                    continue
                t = json.loads(line)
                cmd = t.get("command") or t.get("cmd")
                prog = os.path.basename(cmd[0]) if cmd else t["name"]
                ok = t["result"] == "OK"
                if prog in counts and prog not in seen:
                    seen.add(prog)
                    p, fl = counts[prog]
                    passed += p
                    failed += fl
                    if fl:
                        problems.append(f"[{label}] {t['name']}: {fl} test case(s) failed")
                    if not ok and fl == 0:
                        failed += 1
                        problems.append(f"[{label}] {t['name']}: {t['result']}")
                elif ok:
                    passed += 1
                else:
                    failed += 1
                    problems.append(f"[{label}] {t['name']}: {t['result']}")
    for p in problems:
        print("FAILED " + p)
    if problems:
        print("logs: " + ", ".join(os.path.join(d, "meson.log") for d in sys.argv[1:]))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
