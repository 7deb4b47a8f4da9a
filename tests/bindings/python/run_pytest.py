#!/usr/bin/python3
"""Runs the Python binding tests under pytest for meson (suite 'unit').

Writes "<program> <passed> <failed>" to $JFS_TEST_COUNTS_DIR/counts-<pid>, as tests/catch2_main.cc
does for Catch2 programs, so scripts/summarize_tests.py counts each pytest test. Skipped tests and
errors count as failures (a test never skips). Arguments are passed on to pytest.
"""
import os
import sys

import pytest


class Counter:
    def __init__(self):
        self.passed_ids, self.failed_ids = set(), set()

    def pytest_runtest_logreport(self, report):
        if report.failed or report.skipped:
            self.failed_ids.add(report.nodeid)
        elif report.when == "call" and report.passed:
            self.passed_ids.add(report.nodeid)

    def counts(self):
        return len(self.passed_ids - self.failed_ids), len(self.failed_ids)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    counter = Counter()
    rc = pytest.main(["-q", "-p", "no:cacheprovider", "-rfEs", here] + sys.argv[1:],
                     plugins=[counter])
    d = os.environ.get("JFS_TEST_COUNTS_DIR")
    passed, failed = counter.counts()
    if d:
        with open(os.path.join(d, f"counts-{os.getpid()}"), "a") as f:
            f.write(f"{os.path.basename(sys.argv[0])} {passed} {failed}\n")
    if rc == 0 and passed == 0:
        rc = 1  # nothing ran: never a silent pass
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
