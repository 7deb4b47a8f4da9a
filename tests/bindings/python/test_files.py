"""File objects: builtin open()'s mode handling, buffering layers, read/write/seek/tell."""
import io
import os

import pytest


def test_text_roundtrip_with_encoding_and_newlines(fs):
    with fs.open("/t.txt", "w", encoding="utf-16", newline="\r\n") as f:
        assert isinstance(f, io.TextIOWrapper)
        f.write("héllo\nwörld\n")
    with fs.open("/t.txt", "rb") as f:
        raw = f.read()
    assert raw == "héllo\r\nwörld\r\n".encode("utf-16")
    with fs.open("/t.txt", encoding="utf-16") as f:  # universal newlines on read
        assert f.readlines() == ["héllo\n", "wörld\n"]
    with fs.open("/t.txt", encoding="utf-16", newline="") as f:
        assert f.read() == "héllo\r\nwörld\r\n"


def test_mode_layers(fs):
    with fs.open("/b", "wb") as f:
        assert isinstance(f, io.BufferedWriter)
        assert f.write(b"0123456789") == 10
    with fs.open("/b", "rb") as f:
        assert isinstance(f, io.BufferedReader)
    with fs.open("/b", "r+b") as f:
        assert isinstance(f, io.BufferedRandom)
    with fs.open("/b", "rb", buffering=0) as f:
        assert isinstance(f, io.RawIOBase)
        assert f.mode == "rb"
    with pytest.raises(ValueError):
        fs.open("/b", "r", buffering=0)
    for bad in ("rw", "rr", "q", "rbt", "", "+"):
        with pytest.raises(ValueError):
            fs.open("/b", bad)
    with pytest.raises(ValueError):
        fs.open("/b", "rb", encoding="utf-8")


def test_write_read_seek_tell_readinto(fs):
    data = os.urandom(3 * 1024 * 1024 + 17)
    with fs.open("/big", "wb") as f:
        f.write(data)
        assert f.tell() == len(data)
    with fs.open("/big", "rb") as f:
        assert f.read() == data
        f.seek(1000)
        assert f.tell() == 1000
        buf = bytearray(5000)
        assert f.readinto(buf) == 5000
        assert bytes(buf) == data[1000:6000]
        f.seek(-10, os.SEEK_END)
        assert f.read() == data[-10:]
        assert f.read() == b""
    with fs.open("/big", "rb", buffering=0) as raw:
        mv = memoryview(bytearray(100))
        assert raw.readinto(mv[10:20]) == 10
        assert bytes(mv[10:20]) == data[:10]
        assert raw.pread(4, 2) == data[2:6]


def test_append_exclusive_truncate_update(fs):
    with fs.open("/a", "w") as f:
        f.write("one\n")
    with fs.open("/a", "a") as f:
        f.write("two\n")
    assert fs.open("/a").read() == "one\ntwo\n"
    with pytest.raises(FileExistsError):
        fs.open("/a", "x")
    with fs.open("/new", "x") as f:
        f.write("x")
    with fs.open("/a", "r+") as f:
        f.seek(1)
        f.write("N")
        f.truncate(6)
    assert fs.open("/a").read() == "oNe\ntw"
    with fs.open("/a", "w+") as f:
        assert f.read() == ""
        f.write("abc")
        f.seek(0)
        assert f.read() == "abc"
    with fs.open("/a", "a+b") as f:
        f.write(b"d")
        f.seek(0)
        assert f.read() == b"abcd"


def test_open_errors(fs):
    with pytest.raises(FileNotFoundError) as e:
        fs.open("/missing")
    assert e.value.filename == "/missing"
    assert e.value.strerror  # the library's message
    fs.mkdir("/d")
    with pytest.raises(IsADirectoryError):
        fs.open("/d")
    with pytest.raises(IsADirectoryError):
        fs.open("/d", "w")
    with pytest.raises(NotADirectoryError):
        with fs.open("/f", "w"):
            pass
        fs.open("/f/x")
    with fs.open("/f", "rb") as f:
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")
        with pytest.raises(io.UnsupportedOperation):
            f.fileno()
    with fs.open("/f", "wb") as f:
        with pytest.raises(io.UnsupportedOperation):
            f.read()


def test_closed_file_and_closed_client(volume):
    import juicefs
    c = juicefs.Client(volume[0])
    f = c.open("/x", "wb", buffering=0)
    f.write(b"abc")
    g = c.open("/x", "rb")
    f.close()
    f.close()  # idempotent
    with pytest.raises(ValueError):
        f.write(b"x")
    with pytest.raises(ValueError):
        f.seek(0)
    c.close()
    c.close()
    with pytest.raises(ValueError):
        c.stat("/x")
    with pytest.raises(OSError):  # the file outlives its volume and fails with EBADF
        g.read()
    g.close()


def test_flush_makes_data_visible_to_another_client(volume, fs):
    import juicefs
    with juicefs.Client(volume[0]) as other:
        with fs.open("/v", "wb") as f:
            f.write(b"visible")
            f.flush()
            assert other.open("/v", "rb").read() == b"visible"
