#!/usr/bin/env python3
"""Summarizes test runs for scripts/test.sh.

Each argument is a run directory holding meson's testlog.json and counts files written by the
Catch2 listener (tests/catch2_main.cc): one line per program run, "<program> <passed> <failed>"
followed by tab-separated fields, "@ARG" for each argument and KEY=VALUE for the run's JFS_*
environment (programs that write the first part alone are matched by program name). One
program runs as several meson tests that differ only in their arguments or environment
(JFS_TEST_ENGINE=postgres...); a test's counts are the line whose program, arguments and JFS_*
environment match the test's. Catch2 programs count their test cases; other programs count as
one test. A program that meson saw fail (crash, sanitizer report,
timeout, skip) but whose Catch2 counts show no failure adds one failure.

Prints each failing test with the lines of its output that say what failed, then `N passed,
N failed` as the last line; exits 1 on any failure.
"""
import json
import os
import re
import sys

# Lines of a failed test's output worth showing: Catch2's failure reports, sanitizer reports,
# and the programs' own error lines, including what a randomized test needs to be rerun (the
# model test's "MODEL DIVERGENCE (seed N, step M)" and "reproduce:" lines, and its log of the
# operations before the failure, "step N: ...", for failures that a rerun does not repeat).
FAILURE_LINE = re.compile(
    r"FAILED|failed|error|ERROR|Error|with expansion|REQUIRE|CHECK|child |runtime error|"
    r"SUMMARY|unexpected|differs|expected|timed out|Assertion|DIVERGENCE|reproduce|seed|MiB free|"
    r"^\s*step \d+:")
# Past this many lines, the first MAX_EXCERPT_HEAD and the last ones are kept: a failure report
# starts with what failed and ends with what happened last.
MAX_EXCERPT_LINES = 40
MAX_EXCERPT_HEAD = 12


def env_key(pairs):
    """The part of a run's environment that tells its meson tests apart."""
    out = []
    for kv in pairs:
        if not kv.startswith("JFS_") or kv.startswith("JFS_TEST_COUNTS_DIR="):
            continue
        out.append(kv.replace("\t", " ").replace("\n", " "))
    return tuple(sorted(out))


def load_counts(run_dir):
    """{(program, arguments, env_key): (passed, failed)}"""
    counts = {}
    for fname in os.listdir(run_dir):
        if not fname.startswith("counts"):
            continue
        with open(os.path.join(run_dir, fname)) as f:
            for line in f:
                fields = line.rstrip("\n").split("\t")
                parts = fields[0].split()
                if len(parts) != 3:
                    continue
                if len(fields) == 1:  # "<program> <passed> <failed>" alone (the bindings' runners)
                    key = (parts[0], None, None)
                else:
                    args = tuple(x[1:] for x in fields[1:] if x.startswith("@"))
                    key = (parts[0], args, env_key(x for x in fields[1:] if not x.startswith("@")))
                op, of = counts.get(key, (0, 0))
                counts[key] = (op + int(parts[1]), of + int(parts[2]))
    return counts


def excerpt(text):
    lines = [l for l in (text or "").splitlines() if FAILURE_LINE.search(l)]
    if not lines:
        lines = [l for l in (text or "").splitlines() if l.strip()][-10:]
    if len(lines) > MAX_EXCERPT_LINES:
        tail = MAX_EXCERPT_LINES - MAX_EXCERPT_HEAD
        lines = (lines[:MAX_EXCERPT_HEAD] +
                 [f"... ({len(lines) - MAX_EXCERPT_LINES} more)"] + lines[-tail:])
    return ["    " + l[:300] for l in lines]


def main():
    passed = failed = 0
    problems = []
    for run_dir in sys.argv[1:]:
        label = os.path.basename(run_dir)
        counts = load_counts(run_dir)
        log = os.path.join(run_dir, "testlog.json")
        if not os.path.exists(log):
            problems.append([f"[{label}] no test log (meson test did not run)"])
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
                env = t.get("env") or {}
                args = tuple(a.replace("\t", " ").replace("\n", " ") for a in (cmd or [])[1:])
                key = (prog, args, env_key(f"{k}={v}" for k, v in env.items()))
                if key not in counts:
                    key = (prog, None, None)  # a program that writes no arguments or environment
                ok = t["result"] == "OK"
                out = t.get("stdout", "") + "\n" + (t.get("stderr") or "")
                if key in counts and key not in seen:
                    seen.add(key)
                    p, fl = counts[key]
                    passed += p
                    failed += fl
                    if fl:
                        problems.append([f"[{label}] {t['name']}: {fl} test case(s) failed"] +
                                        excerpt(out))
                    if not ok and fl == 0:
                        failed += 1
                        problems.append([f"[{label}] {t['name']}: {t['result']}"] + excerpt(out))
                elif ok:
                    passed += 1
                else:
                    failed += 1
                    problems.append([f"[{label}] {t['name']}: {t['result']}"] + excerpt(out))
    for p in problems:
        print("FAILED " + p[0])
        for l in p[1:]:
            print(l)
    if problems:
        print("logs: " + ", ".join(os.path.join(d, "meson.log") for d in sys.argv[1:]))
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
