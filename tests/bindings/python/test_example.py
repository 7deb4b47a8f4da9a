"""Runs bindings/python/examples/hello.py as a user would, on a fresh volume."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PKG = os.path.join(HERE, "..", "..", "..", "bindings", "python")


def test_hello_example(tmp_path):
    env = dict(os.environ, PYTHONPATH=PKG)
    meta = f"sqlite3://{tmp_path}/meta.db"
    out = subprocess.run([sys.executable, os.path.join(PKG, "examples", "hello.py"), meta,
                          str(tmp_path / "data")], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "['hello.txt'] hello, juicefs\n"
    # run again: the volume exists now and is reopened
    out = subprocess.run([sys.executable, os.path.join(PKG, "examples", "hello.py"), meta,
                          str(tmp_path / "data")], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr


def test_library_lookup_errors_name_the_variable(tmp_path):
    env = dict(os.environ, PYTHONPATH=PKG, JUICEFS_LIBRARY=str(tmp_path / "no-such-lib.so"))
    out = subprocess.run([sys.executable, "-c", "import juicefs"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode != 0
    assert "JUICEFS_LIBRARY" in out.stderr and "no-such-lib.so" in out.stderr


def test_library_from_variable_is_used():
    import juicefs
    from juicefs import _lib
    assert os.environ.get("JUICEFS_LIBRARY"), "meson sets JUICEFS_LIBRARY for this test"
    assert _lib.lib._name == os.environ["JUICEFS_LIBRARY"]
    assert juicefs.version()
