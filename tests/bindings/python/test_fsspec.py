"""The fsspec file system "jfs" (juicefs.spec.JuiceFileSystem)."""
import datetime

import fsspec
import pytest

import juicefs  # noqa: F401  (registers "jfs")
from juicefs.spec import JuiceFileSystem


@pytest.fixture
def jfs(volume):
    fs = fsspec.filesystem("jfs", meta_url=volume[0], skip_instance_cache=True)
    yield fs
    fs.client.close()


def test_registered_and_open(volume, jfs):
    assert isinstance(jfs, JuiceFileSystem)
    with fsspec.open("jfs:///dir/hello.txt", "w", meta_url=volume[0]) as f:
        f.write("hello fsspec")
    with fsspec.open("jfs:///dir/hello.txt", "r", meta_url=volume[0]) as f:
        assert f.read() == "hello fsspec"
    with jfs.open("/dir/hello.txt", "rb") as f:
        assert f.read(5) == b"hello"
        f.seek(6)
        assert f.read() == b"fsspec"
    with pytest.raises(ValueError):
        fsspec.filesystem("jfs", skip_instance_cache=True)


def test_ls_info(jfs):
    jfs.pipe_file("/d/a.bin", b"12345")
    jfs.mkdir("/d/sub")
    listing = {i["name"]: i for i in jfs.ls("/d", detail=True)}
    assert set(listing) == {"/d/a.bin", "/d/sub"}
    assert listing["/d/a.bin"]["type"] == "file" and listing["/d/a.bin"]["size"] == 5
    assert listing["/d/sub"]["type"] == "directory"
    assert sorted(jfs.ls("jfs:///d/", detail=False)) == ["/d/a.bin", "/d/sub"]
    info = jfs.info("jfs:///d/a.bin")
    assert info["name"] == "/d/a.bin" and info["size"] == 5 and info["type"] == "file"
    assert jfs.info("/d")["type"] == "directory"
    with pytest.raises(FileNotFoundError):
        jfs.info("/d/none")
    assert jfs.exists("/d/a.bin") and not jfs.exists("/d/none")
    assert jfs.isdir("/d") and jfs.isfile("/d/a.bin")
    assert isinstance(jfs.modified("/d/a.bin"), datetime.datetime)
    assert isinstance(jfs.created("/d/a.bin"), datetime.datetime)
    assert sorted(jfs.find("/d")) == ["/d/a.bin"]


def test_cat_pipe(jfs):
    jfs.pipe_file("/f", b"0123456789")
    assert jfs.cat_file("/f") == b"0123456789"
    assert jfs.cat_file("/f", start=2, end=5) == b"234"
    assert jfs.cat_file("/f", start=-3) == b"789"
    assert jfs.cat_file("/f", start=8, end=100) == b"89"
    assert jfs.cat_file("/f", start=5, end=2) == b""
    assert jfs.cat("/f") == b"0123456789"
    jfs.pipe({"/p/1": b"one", "/p/2": b"two"})
    assert jfs.cat_file("/p/2") == b"two"
    with pytest.raises(FileNotFoundError):
        jfs.cat_file("/none")


def test_rm_mv_cp_dirs(jfs):
    jfs.pipe_file("/t/a/b/c", b"c")
    jfs.pipe_file("/t/x", b"x")
    jfs.cp_file("/t/x", "/t/y")
    assert jfs.cat_file("/t/y") == b"x"
    jfs.mv("/t/y", "/t/z")
    assert not jfs.exists("/t/y") and jfs.cat_file("/t/z") == b"x"
    jfs.rm("/t/z")
    assert not jfs.exists("/t/z")
    with pytest.raises(OSError):
        jfs.rm("/t/a")  # a non-empty directory without recursive
    jfs.rm("/t", recursive=True)
    assert not jfs.exists("/t")
    jfs.makedirs("/m/n")
    with pytest.raises(FileExistsError):
        jfs.makedirs("/m/n")
    jfs.makedirs("/m/n", exist_ok=True)
    jfs.rmdir("/m/n")
    assert not jfs.exists("/m/n") and jfs.exists("/m")
