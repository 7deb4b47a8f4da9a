#!/usr/bin/python3
"""Runs the Java binding tests (JUnit 5 from Debian's junit5) for meson (suite 'unit').

Compiles tests/bindings/java/io/juicefs/*Test.java against build/bindings/java/juicefs.jar, runs
them with the JUnit console launcher, and writes "<program> <passed> <failed>" to
$JFS_TEST_COUNTS_DIR/counts-<pid> from its XML report, as run_pytest.py does, so
scripts/summarize_tests.py counts each JUnit test. Skipped or aborted tests count as failures.

Environment (set by tests/bindings/java/meson.build): JFS_JAVA, JFS_JAVAC, JUICEFS_JAR,
JUICEFS_JNI_LIBRARY, JFS_JAVA_EXAMPLES. Extra arguments go to the launcher (e.g.
--select-method io.juicefs.ClientTest#readsWhatItWrote).
"""
import glob
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

JARS = "/usr/share/java"
COMPILE_CP = ["junit-jupiter-api.jar", "apiguardian-api.jar", "opentest4j.jar"]
LAUNCHER = "junit-platform-console-standalone.jar"


def write_counts(passed, failed):
    d = os.environ.get("JFS_TEST_COUNTS_DIR")
    if d:
        with open(os.path.join(d, f"counts-{os.getpid()}"), "a") as f:
            f.write(f"{os.path.basename(sys.argv[0])} {passed} {failed}\n")


def count(reports):
    passed = failed = 0
    names = []
    for xml in glob.glob(os.path.join(reports, "*.xml")):
        for case in ET.parse(xml).getroot().iter("testcase"):
            bad = [c for c in case if c.tag in ("failure", "error", "skipped")]
            if bad:
                failed += 1
                names.append(f"{case.get('classname')}.{case.get('name')}")
            else:
                passed += 1
    return passed, failed, names


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    java, javac = os.environ["JFS_JAVA"], os.environ["JFS_JAVAC"]
    jar, jni = os.environ["JUICEFS_JAR"], os.environ["JUICEFS_JNI_LIBRARY"]
    missing = [j for j in COMPILE_CP + [LAUNCHER] if not os.path.exists(os.path.join(JARS, j))]
    if missing:
        print(f"error: JUnit 5 jars missing in {JARS}: {missing} (apt-get install junit5)",
              file=sys.stderr)
        write_counts(0, 1)
        return 1
    with tempfile.TemporaryDirectory(prefix="jfs-junit-") as tmp:
        classes = os.path.join(tmp, "classes")
        cp = os.pathsep.join([jar] + [os.path.join(JARS, j) for j in COMPILE_CP])
        sources = sorted(glob.glob(os.path.join(here, "io", "juicefs", "*.java")))
        rc = subprocess.run([javac, "--release", "17", "-encoding", "UTF-8", "-Xlint:all",
                             "-Werror", "-cp", cp, "-d", classes] + sources).returncode
        if rc != 0:
            print("error: compiling the tests failed", file=sys.stderr)
            write_counts(0, 1)
            return 1
        reports = os.path.join(tmp, "reports")
        cmd = [java, "-Xss4m", "-Xcheck:jni", f"-Djuicefs.jni.library={jni}",
               f"-Djfs.test.jar={jar}", f"-Djfs.test.java={java}",
               f"-Djfs.test.examples={os.environ['JFS_JAVA_EXAMPLES']}",
               f"-Djava.io.tmpdir={tmp}",
               # on the system class path (not the launcher's --class-path): NIO finds installed
               # FileSystemProviders with the system class loader only
               "-cp", os.pathsep.join([jar, classes, os.path.join(JARS, LAUNCHER)]),
               "org.junit.platform.console.ConsoleLauncher", "--disable-banner",
               "--details=tree", "--disable-ansi-colors", "--fail-if-no-tests",
               "--reports-dir", reports] + (sys.argv[1:] or ["--scan-class-path", classes])
        rc = subprocess.run(cmd).returncode
        passed, failed, names = count(reports)
    for n in names:
        print(f"FAILED {n}")
    print(f"junit: {passed} passed, {failed} failed")
    write_counts(passed, failed)
    if rc == 0 and (failed or passed == 0):
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
