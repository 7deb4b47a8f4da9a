#!/usr/bin/python3
"""Python bindings vs the C ABI, in the same run, on one SQLite + local-directory volume.

  PYTHONPATH=bindings/python JUICEFS_LIBRARY=build/capi/libjuicefs.so \
      bench/python_vs_capi.py /var/tmp/pybench [--mib 256] [--stats 20000]

Big-file throughput: Client.open(..., "wb").write() of 1 MiB pieces (through BufferedWriter) and
readinto() of a 1 MiB bytearray (through BufferedReader), against jfs_create/jfs_write/jfs_read
called directly through ctypes on the same buffer (ctypes is the thinnest way to call the C ABI
from this process; it adds the same foreign-call cost to both sides). Rounds alternate between
the two, best of --rounds; reads are measured right after the write (data from the object
store) and again from the warm block cache, where only the binding's own cost is left. Per-call overhead: Client.stat() vs jfs_stat() through ctypes, and
jfs_stat through ctypes vs an empty ctypes call (jfs_version) to show the ctypes share. Prints ratios.
Not a test.
"""
import argparse
import ctypes
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings",
                                "python"))
import juicefs  # noqa: E402
from juicefs import _lib  # noqa: E402

MIB = 1 << 20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stats", type=int, default=20000)
    a = ap.parse_args()
    shutil.rmtree(a.dir, ignore_errors=True)
    os.makedirs(a.dir)
    meta = f"sqlite3://{os.path.abspath(a.dir)}/meta.db"
    juicefs.format(meta, "bench", bucket=os.path.join(a.dir, "data"), trash_days=0)
    lib = _lib.lib
    piece = os.urandom(MIB)
    cbuf = (ctypes.c_char * MIB).from_buffer_copy(piece)
    with juicefs.Client(meta) as fs:
        h = fs._h

        def py_write(path):
            with fs.open(path, "wb") as f:
                for _ in range(a.mib):
                    f.write(piece)

        def c_write(path):
            fh = _lib.file_p()
            # jfs_open as jfs_create does (the binding declares jfs_open's argument types; an
            # undeclared function would get the 64-bit handle truncated to an int)
            flags = os.O_CREAT | os.O_WRONLY | os.O_TRUNC
            assert lib.jfs_open(h, path.encode(), flags, 0o644, ctypes.byref(fh)) == 0
            for _ in range(a.mib):
                assert lib.jfs_write(fh, cbuf, MIB) == MIB
            assert lib.jfs_close(fh) == 0

        def py_read(path):
            buf = bytearray(MIB)
            total = 0
            with fs.open(path, "rb") as f:
                while (n := f.readinto(buf)):
                    total += n
            assert total == a.mib * MIB

        def py_raw_read(path):
            buf = bytearray(MIB)
            total = 0
            with fs.open(path, "rb", buffering=0) as f:
                while (n := f.readinto(buf)):
                    total += n
            assert total == a.mib * MIB

        def c_read(path):
            fh = _lib.file_p()
            assert lib.jfs_open(h, path.encode(), os.O_RDONLY, 0, ctypes.byref(fh)) == 0
            total = 0
            while (n := lib.jfs_read(fh, cbuf, MIB)) > 0:
                total += n
            assert lib.jfs_close(fh) == 0 and total == a.mib * MIB

        best = {}
        for r in range(a.rounds):
            # alternate the order and the files each side reads, so that neither gets a
            # systematic advantage from caches or from running first
            x, y = ("/c", "/p") if r % 2 else ("/p", "/c")
            steps = [("c_write", c_write, "/c"), ("py_write", py_write, "/p"),
                     ("py_read", py_read, x), ("c_read", c_read, y)]
            if r % 2:
                steps = [steps[1], steps[0], steps[3], steps[2]]
            for name, fn, path in steps:
                t = time.perf_counter()
                fn(path)
                dt = time.perf_counter() - t
                best[name] = min(best.get(name, dt), dt)
        # Reads again from a warm cache: what is left is the cost of the binding itself.
        warm = {}
        for r in range(a.rounds):
            steps = [("py_read", py_read), ("py_raw_read", py_raw_read), ("c_read", c_read)]
            for name, fn in (steps if r % 2 else steps[::-1]):
                t = time.perf_counter()
                fn("/p")
                dt = time.perf_counter() - t
                warm[name] = min(warm.get(name, dt), dt)
        rate = {k: a.mib / v for k, v in best.items()}
        wrate = {k: a.mib / v for k, v in warm.items()}
        print(f"write {a.mib} MiB, 1 MiB I/O: python {rate['py_write']:8.1f} MiB/s   C ABI "
              f"{rate['c_write']:8.1f} MiB/s   python/C = {rate['py_write'] / rate['c_write']:.2f}x")
        print(f"read (first, after write):    python {rate['py_read']:8.1f} MiB/s   C ABI "
              f"{rate['c_read']:8.1f} MiB/s   python/C = {rate['py_read'] / rate['c_read']:.2f}x")
        print(f"read (again, cached):         python {wrate['py_read']:8.1f} MiB/s   C ABI "
              f"{wrate['c_read']:8.1f} MiB/s   python/C = {wrate['py_read'] / wrate['c_read']:.2f}x"
              f"   (unbuffered FileIO {wrate['py_raw_read'] / wrate['c_read']:.2f}x)")

        st = _lib.jfs_stat_t()
        pst = ctypes.byref(st)
        # interleaved blocks, best block of each: robust against load from other processes
        block = 500
        best_py = best_c = best_empty = float("inf")
        for _ in range(max(a.stats // block, 1)):
            t = time.perf_counter()
            for _ in range(block):
                fs.stat("/p")
            best_py = min(best_py, (time.perf_counter() - t) / block)
            t = time.perf_counter()
            for _ in range(block):
                lib.jfs_stat(h, b"/p", pst)
            best_c = min(best_c, (time.perf_counter() - t) / block)
            t = time.perf_counter()
            for _ in range(block):
                lib.jfs_version()
            best_empty = min(best_empty, (time.perf_counter() - t) / block)
        py_stat, c_stat, empty = best_py, best_c, best_empty
        print(f"stat: python Client.stat {py_stat * 1e6:7.2f} us   jfs_stat via ctypes "
              f"{c_stat * 1e6:7.2f} us   (empty ctypes call {empty * 1e6:.2f} us)   "
              f"python/C = {py_stat / c_stat:.2f}x, +{(py_stat - c_stat) * 1e6:.2f} us per call")
    shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
