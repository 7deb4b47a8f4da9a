"""Bad input gives the usual Python exception, never a crash; threads and fork()."""
import os
import threading

import pytest

import juicefs


@pytest.mark.parametrize("bad", [None, 42, 3.5, object()])
def test_wrong_path_types(fs, bad):
    with pytest.raises(TypeError):
        fs.stat(bad)
    with pytest.raises(TypeError):
        fs.open(bad)
    with pytest.raises(TypeError):
        fs.mkdir(bad)


def test_embedded_nul_and_other_bad_values(fs, tmp_path):
    for call in (lambda: fs.stat("/a\0b"), lambda: fs.open("/a\0"), lambda: fs.listdir("/\0"),
                 lambda: fs.setxattr("/", "user.\0", b""), lambda: fs.rename("/a", "/b\0"),
                 lambda: juicefs.Client("sqlite3://\0"), lambda: fs.symlink("a\0", "/l")):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(TypeError):
        fs.open("/x", 5)
    with pytest.raises(TypeError):
        juicefs.Client(None)
    with pytest.raises(TypeError):
        juicefs.Client("sqlite3:///x.db", bogus=1)
    with pytest.raises(FileNotFoundError):
        juicefs.Client(f"sqlite3://{tmp_path}/none.db")
    with pytest.raises(OSError):
        juicefs.Client("nosuchscheme://x")
    with pytest.raises(TypeError):
        fs.setxattr("/", "user.a", "text")
    with pytest.raises(OSError):
        juicefs.format(f"sqlite3://{tmp_path}/m.db", "Bad_Name!", bucket=str(tmp_path / "d"))


def test_bad_offsets(fs):
    with fs.open("/f", "w+b", buffering=0) as f:
        f.write(b"abc")
        with pytest.raises(OSError):
            f.seek(-1)
        with pytest.raises(OverflowError):
            f.seek(1 << 70)
        with pytest.raises(ValueError):
            f.seek(0, 9)
        with pytest.raises(TypeError):
            f.seek("0")
        with pytest.raises(ValueError):
            f.pread(1, -1)
        with pytest.raises(ValueError):
            f.pwrite(b"x", -5)
        with pytest.raises(OSError):
            f.truncate(-1)
        with pytest.raises(TypeError):
            f.write("str")
        f.seek((1 << 62))  # a huge but valid position reads nothing
        assert f.read(10) == b""
        assert f.pread(10, (1 << 63) - 1) == b""
        with pytest.raises(TypeError):
            f.readinto(b"readonly")


def test_concurrent_threads(fs):
    n, size = 8, 512 * 1024
    payloads = [os.urandom(size) for _ in range(n)]
    errors = []

    def worker(i):
        try:
            for round_ in range(3):
                p = f"/t{i}"
                with fs.open(p, "wb") as f:
                    f.write(payloads[i])
                with fs.open(p, "rb") as f:
                    assert f.read() == payloads[i]
                fs.stat(p)
                fs.listdir("/")
        except Exception as e:  # reported below, in the main thread
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # one shared file: independent positions with pread/pwrite from many threads
    with fs.open("/shared", "w+b", buffering=0) as f:
        def pw(i):
            f.pwrite(bytes([i]) * 4096, i * 4096)
        ts = [threading.Thread(target=pw, args=(i,)) for i in range(16)]
        [t.start() for t in ts]
        [t.join() for t in ts]
        for i in range(16):
            assert f.pread(4096, i * 4096) == bytes([i]) * 4096


def _child(fn):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = fn()
        except BaseException:
            import traceback
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_fork_child_refuses_parent_client(fs):
    with fs.open("/f", "wb") as f:
        f.write(b"parent")
    f = fs.open("/f", "rb")

    def child():
        for call in (lambda: fs.stat("/f"), lambda: fs.open("/f"), lambda: f.read(),
                     lambda: fs.listdir("/")):
            try:
                call()
                return 2
            except juicefs.ForkedClientError:
                pass
        fs.close()  # drops the inherited handle without touching the library
        return 0

    assert _child(child) == 0
    assert f.read() == b"parent"  # the parent is unaffected
    f.close()
    assert fs.stat("/f").st_size == 6


def test_fork_without_open_volume_child_opens_its_own(volume):
    meta = volume[0]

    def child():
        with juicefs.Client(meta) as c:
            with c.open("/from-child", "w") as f:
                f.write("hi")
        return 0

    assert _child(child) == 0
    with juicefs.Client(meta) as c:
        assert c.open("/from-child").read() == "hi"
