"""The os / shutil-like API of Client."""
import errno
import os
import stat

import pytest

import juicefs


def write(fs, path, data=b"x"):
    with fs.open(path, "wb") as f:
        f.write(data)


def test_version_and_statvfs(fs):
    assert juicefs.version().count(".") == 2
    v = fs.statvfs("/")
    assert isinstance(v, os.statvfs_result)
    assert v.f_bsize > 0 and v.f_namemax == 255 and v.f_blocks >= v.f_bfree


def test_stat_lstat_symlink_readlink_realpath(fs):
    write(fs, "/f", b"12345")
    st = fs.stat("/f")
    assert isinstance(st, os.stat_result)
    assert stat.S_ISREG(st.st_mode) and st.st_size == 5 and st.st_nlink == 1
    assert st.st_mtime_ns // 1_000_000_000 == st[stat.ST_MTIME]
    fs.symlink("f", "/l")
    assert stat.S_ISLNK(fs.lstat("/l").st_mode)
    assert fs.stat("/l").st_ino == st.st_ino
    assert fs.readlink("/l") == "f"
    assert fs.readlink(b"/l") == b"f"
    assert fs.realpath("/l") == "/f"
    assert fs.islink("/l") and fs.isfile("/l") and not fs.isdir("/l")
    with pytest.raises(OSError) as e:
        fs.readlink("/f")
    assert e.value.errno == errno.EINVAL
    assert fs.exists("/f") and not fs.exists("/nope")
    fs.symlink("nowhere", "/dangling")
    assert not fs.exists("/dangling") and fs.lexists("/dangling")


def test_mkdir_makedirs_rmdir(fs):
    fs.mkdir("/d")
    with pytest.raises(FileExistsError):
        fs.mkdir("/d")
    fs.makedirs("/a/b/c")
    assert fs.isdir("/a/b/c")
    with pytest.raises(FileExistsError):
        fs.makedirs("/a/b/c")
    fs.makedirs("/a/b/c", exist_ok=True)
    write(fs, "/a/file")
    with pytest.raises(FileExistsError):
        fs.makedirs("/a/file", exist_ok=True)
    with pytest.raises(OSError) as e:
        fs.rmdir("/a")
    assert e.value.errno == errno.ENOTEMPTY
    with pytest.raises(FileNotFoundError):
        fs.rmdir("/zzz")
    with pytest.raises(NotADirectoryError):
        fs.rmdir("/a/file")
    fs.rmdir("/a/b/c")
    assert not fs.exists("/a/b/c")


def test_listdir_scandir(fs):
    fs.mkdir("/d")
    write(fs, "/d/f", b"abc")
    fs.mkdir("/d/sub")
    fs.symlink("sub", "/d/ls")
    assert sorted(fs.listdir("/d")) == ["f", "ls", "sub"]
    assert sorted(fs.listdir(b"/d")) == [b"f", b"ls", b"sub"]
    with fs.scandir("/d") as it:
        entries = {e.name: e for e in it}
    f, sub, ls = entries["f"], entries["sub"], entries["ls"]
    assert f.path == "/d/f" and f.is_file() and not f.is_dir() and f.stat().st_size == 3
    assert f.inode() == fs.stat("/d/f").st_ino
    assert sub.is_dir() and not sub.is_symlink()
    assert ls.is_symlink() and ls.is_dir() and not ls.is_dir(follow_symlinks=False)
    assert ls.stat().st_ino == sub.inode()
    with pytest.raises(NotADirectoryError):
        fs.listdir("/d/f")
    with pytest.raises(FileNotFoundError):
        fs.scandir("/none")
    many = [f"n{i:04d}" for i in range(1200)]
    fs.mkdir("/many")
    for n in many:
        fs.mkdir("/many/" + n)
    assert sorted(fs.listdir("/many")) == many


def test_remove_rename_replace_link(fs):
    write(fs, "/a", b"A")
    write(fs, "/b", b"B")
    fs.rename("/a", "/c")
    assert not fs.exists("/a")
    fs.replace("/c", "/b")
    assert fs.open("/b", "rb").read() == b"A"
    fs.link("/b", "/h")
    assert fs.stat("/h").st_nlink == 2
    fs.remove("/b")
    fs.unlink("/h")
    assert fs.listdir("/") == [] or set(fs.listdir("/")) <= {".trash"}
    with pytest.raises(FileNotFoundError) as e:
        fs.rename("/x", "/y")
    assert e.value.filename == "/x" and e.value.filename2 == "/y"
    fs.mkdir("/dir")
    with pytest.raises(IsADirectoryError):
        fs.remove("/dir")


def test_chmod_chown_utime_truncate_access(fs):
    write(fs, "/f", b"0123456789")
    fs.chmod("/f", 0o640)
    assert stat.S_IMODE(fs.stat("/f").st_mode) == 0o640
    st = fs.stat("/f")
    fs.chown("/f", -1, -1)
    assert (fs.stat("/f").st_uid, fs.stat("/f").st_gid) == (st.st_uid, st.st_gid)
    if os.geteuid() == 0:
        fs.chown("/f", 1234, 5678)
        assert (fs.stat("/f").st_uid, fs.stat("/f").st_gid) == (1234, 5678)
    fs.utime("/f", (1000, 2000.5))
    st = fs.stat("/f")
    assert st.st_atime_ns == 1000 * 10**9 and st.st_mtime_ns == 2000 * 10**9 + 500_000_000
    fs.utime("/f", ns=(5, 7_000_000_123))
    st = fs.stat("/f")
    assert st.st_atime_ns == 5 and st.st_mtime_ns == 7_000_000_123
    fs.utime("/f")
    assert fs.stat("/f").st_mtime > 1e9
    with pytest.raises(ValueError):
        fs.utime("/f", (1, 2), ns=(1, 2))
    fs.truncate("/f", 4)
    assert fs.open("/f", "rb").read() == b"0123"
    fs.truncate("/f", 6)
    assert fs.open("/f", "rb").read() == b"0123\0\0"
    with pytest.raises(OSError):
        fs.truncate("/f", -1)
    assert fs.access("/f", os.R_OK) and fs.access("/f", os.F_OK)
    assert not fs.access("/nope", os.F_OK)


def test_permission_error(fs):
    write(fs, "/secret")
    fs.chmod("/secret", 0o600)
    fs.set_credentials(4321, [4321])
    with pytest.raises(PermissionError):
        fs.open("/secret")
    assert not fs.access("/secret", os.R_OK)


def test_walk_and_rmtree(fs):
    fs.makedirs("/t/a/b")
    fs.makedirs("/t/c")
    write(fs, "/t/1")
    write(fs, "/t/a/2")
    write(fs, "/t/a/b/3")
    fs.symlink("/t/a", "/t/link")
    top = list(fs.walk("/t"))
    assert top[0] == ("/t", sorted(top[0][1]) and top[0][1], top[0][2])
    got = {d: (sorted(ds), sorted(fs_)) for d, ds, fs_ in top}
    assert got == {"/t": (["a", "c", "link"], ["1"]), "/t/a": (["b"], ["2"]),
                   "/t/a/b": ([], ["3"]), "/t/c": ([], [])}
    bottom = [d for d, _, _ in fs.walk("/t", topdown=False)]
    assert bottom.index("/t/a/b") < bottom.index("/t/a") < bottom.index("/t")
    errors = []
    assert list(fs.walk("/none", onerror=errors.append)) == []
    assert isinstance(errors[0], FileNotFoundError)
    fs.rmtree("/t")
    assert not fs.exists("/t")
    with pytest.raises(FileNotFoundError):
        fs.rmtree("/t")
    fs.rmtree("/t", ignore_errors=True)


def test_xattrs(fs):
    write(fs, "/f")
    fs.setxattr("/f", "user.a", b"1")
    fs.setxattr("/f", "user.b", bytearray(b"two"))
    assert fs.getxattr("/f", "user.b") == b"two"
    assert sorted(fs.listxattr("/f")) == ["user.a", "user.b"]
    with pytest.raises(FileExistsError):
        fs.setxattr("/f", "user.a", b"x", os.XATTR_CREATE)
    with pytest.raises(OSError) as e:
        fs.setxattr("/f", "user.c", b"x", os.XATTR_REPLACE)
    assert e.value.errno == errno.ENODATA
    fs.setxattr("/f", "user.a", b"", os.XATTR_REPLACE)
    assert fs.getxattr("/f", "user.a") == b""
    fs.removexattr("/f", "user.a")
    with pytest.raises(OSError) as e:
        fs.getxattr("/f", "user.a")
    assert e.value.errno == errno.ENODATA
    assert fs.listxattr("/f") == ["user.b"]


def test_client_options(volume):
    meta = volume[0]
    with juicefs.Client(meta, buffer_size=64 << 20, upload_threads=2,
                        mount_point="/mnt/py") as c:
        write(c, "/f", b"data")
    with juicefs.Client(meta, read_only=True) as ro:
        assert ro.open("/f", "rb").read() == b"data"
        with pytest.raises(OSError) as e:
            ro.open("/g", "wb")
        assert e.value.errno == errno.EROFS
        with pytest.raises(OSError):
            ro.mkdir("/d")
    for bad in ({"buffer_size": -1}, {"upload_threads": 0}):
        with pytest.raises(ValueError):
            juicefs.Client(meta, **bad)
    with pytest.raises(TypeError):
        juicefs.Client(meta, upload_threads="4")


def test_format_existing_and_force(volume):
    meta, bucket = volume
    with pytest.raises(FileExistsError):
        juicefs.format(meta, "pytest", bucket=bucket)
    juicefs.format(meta, "pytest", bucket=bucket, force=True, trash_days=0)
