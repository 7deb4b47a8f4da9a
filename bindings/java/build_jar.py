#!/usr/bin/env python3
"""Builds juicefs.jar for meson: javac the sources, then jar them with META-INF/services.

  build_jar.py JAVAC JAR OUT.jar CLASSES_DIR RESOURCES_DIR SOURCE...
"""
import os
import shutil
import subprocess
import sys


def main():
    javac, jar, out, classes, resources = sys.argv[1:6]
    sources = sys.argv[6:]
    shutil.rmtree(classes, ignore_errors=True)
    os.makedirs(classes)
    subprocess.run([javac, "--release", "17", "-Xlint:all", "-Werror", "-encoding", "UTF-8",
                    "-d", classes] + sources, check=True)
    if os.path.exists(out):
        os.remove(out)
    subprocess.run([jar, "--create", "--file", out, "-C", classes, ".", "-C", resources,
                    "META-INF/services"], check=True)


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        sys.exit(e.returncode or 1)
