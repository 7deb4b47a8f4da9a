"""The Client (an open volume), its file objects and the os/shutil-like API."""
import atexit
import ctypes
import errno
import io
import os
import stat as _stat
import struct
import sys
import threading
import weakref

from . import _lib
from ._lib import lib

# fork(): the C ABI forbids a child to use handles inherited from its parent (the volume's threads
# do not exist there; a call could block forever on a lock or a queue nobody serves). Every handle
# records the fork generation it was created in; the generation changes in each forked child, so a
# stale handle is recognised without a system call and refused with ForkedClientError; it is also
# dropped without calling the library when garbage-collected.
_generation = 0


def _after_fork_in_child():
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_after_fork_in_child)

# Volumes still open at exit are not flushed by the library: close the ones left open (e.g. by
# fsspec's instance cache) when the interpreter exits.
_open_clients = weakref.WeakSet()


@atexit.register
def _close_all_at_exit():
    for c in list(_open_clients):
        try:
            c.close()
        except Exception:
            pass


class ForkedClientError(RuntimeError):
    """A Client (or a file, directory stream) opened before os.fork() was used in the child."""


def _decode(b):
    return b.decode("utf-8", "replace") if b else ""


def _raise(rc, fs, *paths):
    """Raises the OSError subclass of -rc with the library's message of the calling thread."""
    err = -rc
    msg = lib.jfs_last_error(fs) if fs else lib.jfs_last_open_error()
    text = _decode(msg) or os.strerror(err)
    p = [os.fsdecode(x) if isinstance(x, bytes) else x for x in paths]
    if len(p) >= 2:
        raise OSError(err, text, p[0], None, p[1])
    if p:
        raise OSError(err, text, p[0])
    raise OSError(err, text)


_FSENC = sys.getfilesystemencoding()


def _path(path, arg="path"):
    """bytes for the C ABI from str / bytes / os.PathLike; absolute inside the volume."""
    if type(path) is str and path[:1] == "/" and "\0" not in path:  # the common case, fast
        return path.encode(_FSENC, "surrogateescape")
    if path is None:
        raise TypeError(f"{arg} should be string, bytes or os.PathLike, not NoneType")
    try:
        p = os.fspath(path)
    except TypeError:
        raise TypeError(f"{arg} should be string, bytes or os.PathLike, not "
                        f"{type(path).__name__}") from None
    b = os.fsencode(p)
    if b"\0" in b:
        raise ValueError(f"{arg}: embedded null byte")
    if not b.startswith(b"/"):
        b = b"/" + b
    return b


def _int(v, name):
    if isinstance(v, bool) or not isinstance(v, int):
        if hasattr(v, "__index__"):
            return v.__index__()
        raise TypeError(f"{name} must be an integer, not {type(v).__name__}")
    return v


# jfs_stat_t up to ctime, unpacked in one step (ctypes field access costs ~0.3 us a field).
_STAT = struct.Struct("=QIIIIIIQQIIqqqqqq")
assert _STAT.size + 32 == ctypes.sizeof(_lib.jfs_stat_t)


def _stat_result(st):
    (ino, mode, nlink, uid, gid, rdev, _flags, size, blocks, blksize, _s, asec, ansec, msec, mnsec,
     csec, cnsec) = _STAT.unpack_from(st)
    return os.stat_result((
        mode, ino, 0, nlink, uid, gid, size, asec, msec, csec,
        asec + ansec * 1e-9, msec + mnsec * 1e-9, csec + cnsec * 1e-9,
        asec * 1000000000 + ansec, msec * 1000000000 + mnsec, csec * 1000000000 + cnsec,
        blksize, blocks, rdev))


class Client:
    """An open JuiceFS volume: Client("sqlite3:///path/meta.db", read_only=False, ...).

    Options (jfs_volume_options_t): read_only (bool), buffer_size (bytes of unflushed write data),
    upload_threads (int), mount_point (str shown as the session's mount point).
    Use as a context manager, or call close(): volumes still open at exit are not flushed.
    """

    def __init__(self, meta_url, *, read_only=False, buffer_size=None, upload_threads=None,
                 mount_point=None):
        self._h, self._gen, self._lock = None, _generation, threading.Lock()
        if not isinstance(meta_url, str):
            raise TypeError("meta_url must be a str")
        if "\0" in meta_url:
            raise ValueError("meta_url: embedded null byte")
        opts = _lib.jfs_volume_options_t()
        lib.jfs_volume_options_init_sized(ctypes.byref(opts), ctypes.sizeof(opts))
        if read_only:
            opts.flags |= _lib.JFS_VOLUME_READ_ONLY
        if buffer_size is not None:
            v = _int(buffer_size, "buffer_size")
            if v <= 0 or v >= 1 << 63:
                raise ValueError("buffer_size must be positive")
            opts.buffer_size = v
        if upload_threads is not None:
            v = _int(upload_threads, "upload_threads")
            if not 0 < v < 1 << 31:
                raise ValueError("upload_threads must be positive")
            opts.upload_threads = v
        mp = None
        if mount_point is not None:
            mp = _path(mount_point, "mount_point")
            opts.mount_point = mp
        h = _lib.fs_p()
        rc = lib.jfs_open_volume(meta_url.encode(), ctypes.byref(opts), ctypes.byref(h))
        if rc < 0:
            _raise(rc, None, meta_url)
        self._h = h.value
        self._gen = _generation
        _open_clients.add(self)
        self.meta_url = meta_url

    # -- handle management --------------------------------------------------------------------
    @property
    def _fs(self):
        h = self._h
        if self._gen != _generation:
            raise ForkedClientError(
                "this juicefs.Client was opened before os.fork(); a child process must open its "
                "own Client (see the fork() contract in juicefs.h)")
        if h is None:
            raise ValueError("I/O operation on closed juicefs.Client")
        return h

    @property
    def closed(self):
        return self._h is None

    def close(self):
        """Flushes open files, closes the session and releases the volume (idempotent)."""
        with self._lock:
            h, self._h = self._h, None
        if h is None or self._gen != _generation:
            return  # a forked child drops the parent's handle without touching it
        rc = lib.jfs_close_volume(h)
        if rc < 0:
            _raise(rc, None, self.meta_url)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _check(self, rc, *paths):
        if rc < 0:
            _raise(rc, self._h, *paths)
        return rc

    # -- volume-wide ----------------------------------------------------------------------------
    def set_credentials(self, uid, gids, umask=0o022):
        """Credentials for every later call: uid, groups (gids[0] the primary one), umask."""
        gids = [_int(g, "gid") for g in gids]
        if not gids:
            raise ValueError("gids must not be empty")
        arr = (ctypes.c_uint32 * len(gids))(*gids)
        self._check(lib.jfs_set_credentials(self._fs, _int(uid, "uid"), arr, len(gids),
                                            _int(umask, "umask")))

    def statvfs(self, path="/"):
        out = _lib.jfs_statvfs_t()
        self._check(lib.jfs_statvfs(self._fs, ctypes.byref(out)))
        bs = out.block_size or 4096
        return os.statvfs_result((bs, bs, out.total_bytes // bs, out.free_bytes // bs,
                                  out.free_bytes // bs, out.total_inodes, out.free_inodes,
                                  out.free_inodes, 0, out.max_name))

    # -- files ----------------------------------------------------------------------------------
    def open(self, path, mode="r", buffering=-1, encoding=None, errors=None, newline=None,
             perm=0o666):
        """Like builtin open(): returns FileIO-like raw, Buffered* or TextIOWrapper objects."""
        if not isinstance(mode, str):
            raise TypeError(f"open() argument 'mode' must be str, not {type(mode).__name__}")
        if not isinstance(buffering, int) or isinstance(buffering, bool):
            raise TypeError("buffering must be an integer")
        modes = set(mode)
        if modes - set("rwaxbt+") or len(mode) > len(modes):
            raise ValueError(f"invalid mode: '{mode}'")
        creating, reading, writing, appending = "x" in modes, "r" in modes, "w" in modes, \
            "a" in modes
        updating, text, binary = "+" in modes, "t" in modes, "b" in modes
        if text and binary:
            raise ValueError("can't have text and binary mode at once")
        if creating + reading + writing + appending != 1:
            raise ValueError("must have exactly one of create/read/write/append mode")
        if binary and encoding is not None:
            raise ValueError("binary mode doesn't take an encoding argument")
        if binary and errors is not None:
            raise ValueError("binary mode doesn't take an errors argument")
        if binary and newline is not None:
            raise ValueError("binary mode doesn't take a newline argument")
        if binary and buffering == 1:
            import warnings
            warnings.warn("line buffering (buffering=1) isn't supported in binary mode, the "
                          "default buffer size will be used", RuntimeWarning, 2)
        raw = FileIO(self, path, (creating and "x" or reading and "r" or writing and "w" or "a")
                     + (updating and "+" or ""), perm)
        result = raw
        try:
            line_buffering = False
            if buffering == 1 or buffering < 0 and raw.isatty():
                buffering = -1
                line_buffering = True
            if buffering < 0:
                buffering = raw._blksize
            if buffering == 0:
                if binary:
                    return result
                raise ValueError("can't have unbuffered text I/O")
            if updating:
                buf = _BufferedRandom(raw, buffering)
            elif creating or writing or appending:
                buf = _BufferedWriter(raw, buffering)
            else:
                buf = io.BufferedReader(raw, buffering)
            result = buf
            if binary:
                return result
            text_io = io.TextIOWrapper(buf, encoding if encoding is not None else
                                       io.text_encoding(None), errors, newline, line_buffering)
            result = text_io
            text_io.mode = mode
            return result
        except BaseException:
            result.close()
            raise

    # -- namespace ------------------------------------------------------------------------------
    def stat(self, path, *, follow_symlinks=True):
        p = _path(path)
        out = _lib.jfs_stat_t()
        fn = lib.jfs_stat if follow_symlinks else lib.jfs_lstat
        self._check(fn(self._fs, p, ctypes.byref(out)), path)
        return _stat_result(out)

    def lstat(self, path):
        return self.stat(path, follow_symlinks=False)

    def access(self, path, mode):
        """os.access: True when the calling credentials have `mode` (F_OK/R_OK/W_OK/X_OK)."""
        p = _path(path)
        return lib.jfs_access(self._fs, p, _int(mode, "mode")) == 0

    def exists(self, path):
        try:
            self.stat(path)
        except (OSError, ValueError):
            return False
        return True

    def lexists(self, path):
        try:
            self.lstat(path)
        except (OSError, ValueError):
            return False
        return True

    def _is(self, path, test, follow=True):
        try:
            return test(self.stat(path, follow_symlinks=follow).st_mode)
        except (OSError, ValueError):
            return False

    def isdir(self, path):
        return self._is(path, _stat.S_ISDIR)

    def isfile(self, path):
        return self._is(path, _stat.S_ISREG)

    def islink(self, path):
        return self._is(path, _stat.S_ISLNK, follow=False)

    def getsize(self, path):
        return self.stat(path).st_size

    def mkdir(self, path, mode=0o777):
        self._check(lib.jfs_mkdir(self._fs, _path(path), _int(mode, "mode") & 0o7777), path)

    def makedirs(self, name, mode=0o777, exist_ok=False):
        p = _path(name)
        mode = _int(mode, "mode") & 0o7777
        if exist_ok:
            rc = lib.jfs_mkdir_all(self._fs, p, mode)
            if rc == -errno.EEXIST and self.isdir(name):
                return
            self._check(rc, name)
            return
        rc = lib.jfs_mkdir(self._fs, p, mode)
        if rc == -errno.ENOENT:
            parent = p.rstrip(b"/").rsplit(b"/", 1)[0] or b"/"
            self._check(lib.jfs_mkdir_all(self._fs, parent, 0o777), name)
            rc = lib.jfs_mkdir(self._fs, p, mode)
        self._check(rc, name)

    def rmdir(self, path):
        self._check(lib.jfs_rmdir(self._fs, _path(path)), path)

    def remove(self, path):
        self._check(lib.jfs_unlink(self._fs, _path(path)), path)

    unlink = remove

    def rename(self, src, dst):
        self._check(lib.jfs_rename(self._fs, _path(src, "src"), _path(dst, "dst"), 0), src, dst)

    replace = rename

    def symlink(self, src, dst, target_is_directory=False):
        """Creates dst pointing at src (stored verbatim)."""
        if src is None:
            raise TypeError("src should be string, bytes or os.PathLike, not NoneType")
        t = os.fsencode(os.fspath(src))
        if b"\0" in t:
            raise ValueError("src: embedded null byte")
        self._check(lib.jfs_symlink(self._fs, t, _path(dst, "dst")), src, dst)

    def link(self, src, dst):
        self._check(lib.jfs_link(self._fs, _path(src, "src"), _path(dst, "dst")), src, dst)

    def _take_buffer(self, ptr, size):
        try:
            return ctypes.string_at(ptr.value, size) if size else b""
        finally:
            lib.jfs_free(ptr)

    def readlink(self, path):
        p = _path(path)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.jfs_readlink(self._fs, p, ctypes.byref(out), ctypes.byref(n)), path)
        b = self._take_buffer(out, n.value)
        return b if isinstance(os.fspath(path), bytes) else os.fsdecode(b)

    def realpath(self, path):
        p = _path(path)
        out = ctypes.c_void_p()
        self._check(lib.jfs_realpath(self._fs, p, ctypes.byref(out)), path)
        try:
            b = ctypes.string_at(out.value)
        finally:
            lib.jfs_free(out)
        return b if isinstance(os.fspath(path), bytes) else os.fsdecode(b)

    def chmod(self, path, mode, *, follow_symlinks=True):
        if not follow_symlinks:
            raise NotImplementedError("chmod: follow_symlinks unavailable on this platform")
        self._check(lib.jfs_chmod(self._fs, _path(path), _int(mode, "mode") & 0o7777), path)

    def chown(self, path, uid, gid, *, follow_symlinks=True):
        uid, gid = _int(uid, "uid"), _int(gid, "gid")
        if not (-1 <= uid < 1 << 32 and -1 <= gid < 1 << 32):
            raise OverflowError("uid/gid out of range")
        fn = lib.jfs_chown if follow_symlinks else lib.jfs_lchown
        self._check(fn(self._fs, _path(path), uid & 0xFFFFFFFF, gid & 0xFFFFFFFF), path)

    def lchown(self, path, uid, gid):
        self.chown(path, uid, gid, follow_symlinks=False)

    def utime(self, path, times=None, *, ns=None, follow_symlinks=True):
        """os.utime: times=(atime, mtime) in seconds or ns=(atime_ns, mtime_ns); neither = now."""
        p = _path(path)
        if times is not None and ns is not None:
            raise ValueError("utime: you may specify either 'times' or 'ns' but not both")
        arr = None
        if times is not None or ns is not None:
            pair = times if times is not None else ns
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise TypeError("utime: 'times' must be either a tuple of two ints or None"
                                if times is not None else "utime: 'ns' must be a tuple of two ints")
            arr = (_lib.jfs_timespec_t * 2)()
            for i, v in enumerate(pair):
                if times is not None:
                    if not isinstance(v, (int, float)) or isinstance(v, bool):
                        raise TypeError("utime: times must be numbers")
                    total = int(round(v * 1e9)) if isinstance(v, float) else v * 1000000000
                else:
                    total = _int(v, "ns")
                sec, nsec = divmod(total, 1000000000)
                if not -(1 << 63) <= sec < 1 << 63:
                    raise OverflowError("timestamp out of range")
                arr[i].sec, arr[i].nsec = sec, nsec
        fn = lib.jfs_utimens if follow_symlinks else lib.jfs_lutimens
        self._check(fn(self._fs, p, arr), path)

    def truncate(self, path, length):
        length = _int(length, "length")
        if length < 0 or length >= 1 << 63:
            raise OSError(errno.EINVAL, "Invalid argument", path)
        self._check(lib.jfs_truncate(self._fs, _path(path), length), path)

    # -- directories ----------------------------------------------------------------------------
    def scandir(self, path="/"):
        return ScandirIterator(self, path)

    def listdir(self, path="/"):
        with self.scandir(path) as it:
            return [e.name for e in it]

    def walk(self, top="/", topdown=True, onerror=None, followlinks=False):
        """os.walk over the volume: yields (dirpath, dirnames, filenames)."""
        stack = [top]
        while stack:
            top = stack.pop()
            if isinstance(top, tuple):
                yield top
                continue
            dirs, nondirs, walk_dirs = [], [], []
            try:
                it = self.scandir(top)
            except OSError as e:
                if onerror is not None:
                    onerror(e)
                continue
            with it:
                for entry in it:
                    try:
                        is_dir = entry.is_dir()
                    except OSError:
                        is_dir = False
                    (dirs if is_dir else nondirs).append(entry.name)
                    if not topdown and is_dir:
                        if followlinks or not entry.is_symlink():
                            walk_dirs.append(entry.path)
            if topdown:
                yield top, dirs, nondirs
                sep = "/" if isinstance(top, str) else b"/"
                for d in reversed(dirs):
                    new = top.rstrip(sep) + sep + d
                    if followlinks or not self.islink(new):
                        stack.append(new)
            else:
                stack.append((top, dirs, nondirs))
                for new in reversed(walk_dirs):
                    stack.append(new)

    def rmtree(self, path, ignore_errors=False, onerror=None):
        """shutil.rmtree: removes `path` and everything below it (not following symlinks)."""
        if ignore_errors:
            def onerror(*args):
                pass
        elif onerror is None:
            def onerror(*args):
                raise args[2][1]
        import sys
        try:
            if self.islink(path):
                raise OSError(errno.ENOTDIR, "Cannot call rmtree on a symbolic link", path)
        except OSError:
            onerror(self.islink, path, sys.exc_info())
            return
        entries = []
        try:
            with self.scandir(path) as it:
                entries = list(it)
        except OSError:
            onerror(self.scandir, path, sys.exc_info())
        for e in entries:
            try:
                is_dir = e.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                self.rmtree(e.path, ignore_errors, onerror)
            else:
                try:
                    self.remove(e.path)
                except OSError:
                    onerror(self.remove, e.path, sys.exc_info())
        try:
            self.rmdir(path)
        except OSError:
            onerror(self.rmdir, path, sys.exc_info())

    # -- extended attributes --------------------------------------------------------------------
    @staticmethod
    def _attr(name):
        if name is None or not isinstance(name, (str, bytes)):
            raise TypeError("attribute name must be str or bytes")
        b = os.fsencode(name)
        if b"\0" in b:
            raise ValueError("attribute: embedded null byte")
        return b

    def getxattr(self, path, attribute, *, follow_symlinks=True):
        p, a = _path(path), self._attr(attribute)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        fn = lib.jfs_getxattr if follow_symlinks else lib.jfs_lgetxattr
        self._check(fn(self._fs, p, a, ctypes.byref(out), ctypes.byref(n)), path)
        return self._take_buffer(out, n.value)

    def setxattr(self, path, attribute, value, flags=0, *, follow_symlinks=True):
        p, a = _path(path), self._attr(attribute)
        if isinstance(value, str) or value is None:
            raise TypeError("value must be a bytes-like object")
        v = bytes(memoryview(value))
        fn = lib.jfs_setxattr if follow_symlinks else lib.jfs_lsetxattr
        self._check(fn(self._fs, p, a, v, len(v), _int(flags, "flags")), path)

    def listxattr(self, path, *, follow_symlinks=True):
        p = _path(path)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        fn = lib.jfs_listxattr if follow_symlinks else lib.jfs_llistxattr
        self._check(fn(self._fs, p, ctypes.byref(out), ctypes.byref(n)), path)
        b = self._take_buffer(out, n.value)
        return [os.fsdecode(x) for x in b.split(b"\0") if x]

    def removexattr(self, path, attribute, *, follow_symlinks=True):
        p, a = _path(path), self._attr(attribute)
        fn = lib.jfs_removexattr if follow_symlinks else lib.jfs_lremovexattr
        self._check(fn(self._fs, p, a), path)


class DirEntry:
    """Like os.DirEntry: attributes come with the listing (no extra call unless a symlink is
    followed)."""
    __slots__ = ("name", "path", "_client", "_lst", "_st")

    def __init__(self, client, name, path, st):
        self._client, self.name, self.path, self._lst, self._st = client, name, path, st, None

    def __repr__(self):
        return f"<juicefs.DirEntry {self.name!r}>"

    def __fspath__(self):
        return self.path

    def inode(self):
        return self._lst.ino

    def is_symlink(self):
        return _stat.S_ISLNK(self._lst.mode)

    def stat(self, *, follow_symlinks=True):
        if not follow_symlinks or not self.is_symlink():
            return _stat_result(self._lst)
        if self._st is None:
            self._st = self._client.stat(self.path)
        return self._st

    def _mode(self, follow_symlinks):
        if follow_symlinks and self.is_symlink():
            try:
                return self.stat().st_mode
            except FileNotFoundError:
                return 0
        return self._lst.mode

    def is_dir(self, *, follow_symlinks=True):
        return _stat.S_ISDIR(self._mode(follow_symlinks))

    def is_file(self, *, follow_symlinks=True):
        return _stat.S_ISREG(self._mode(follow_symlinks))


class ScandirIterator:
    """Iterator of DirEntry over a jfs_dir_t stream; a context manager (close() releases it)."""

    def __init__(self, client, path):
        self._h = None
        p = _path(path)
        h = _lib.dir_p()
        client._check(lib.jfs_opendir(client._fs, p, ctypes.byref(h)), path)
        self._client, self._h, self._gen = client, h.value, _generation
        self._bytes = isinstance(os.fspath(path), bytes)
        base = os.fspath(path)
        sep = b"/" if self._bytes else "/"
        self._prefix = base if base.endswith(sep) else base + sep
        self._entry = ctypes.POINTER(_lib.jfs_dirent_t)()

    def __iter__(self):
        return self

    def __next__(self):
        if self._h is None:
            raise StopIteration
        if self._gen != _generation:
            raise ForkedClientError("directory stream opened before os.fork()")
        rc = lib.jfs_readdir(self._h, ctypes.byref(self._entry))
        if rc == 0:
            self.close()
            raise StopIteration
        if rc < 0:
            self._client._check(rc)
        e = self._entry.contents
        raw = ctypes.string_at(e.name, e.name_len)
        st = _lib.jfs_stat_t.from_buffer_copy(e.stat)
        name = raw if self._bytes else os.fsdecode(raw)
        return DirEntry(self._client, name, self._prefix + name, st)

    def close(self):
        h, self._h = self._h, None
        if h is not None and self._gen == _generation:
            lib.jfs_closedir(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()


class _BufferedWriter(io.BufferedWriter):
    """flush() also flushes the raw file (io's buffered classes do not), so that data becomes
    visible to other clients, as the user of flush() expects."""

    def flush(self):
        super().flush()
        self.raw.flush()


class _BufferedRandom(io.BufferedRandom):
    __doc__ = _BufferedWriter.__doc__

    def flush(self):
        super().flush()
        self.raw.flush()


_O = {"r": os.O_RDONLY, "r+": os.O_RDWR, "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
      "w+": os.O_RDWR | os.O_CREAT | os.O_TRUNC, "a": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
      "a+": os.O_RDWR | os.O_CREAT | os.O_APPEND, "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
      "x+": os.O_RDWR | os.O_CREAT | os.O_EXCL}


class FileIO(io.RawIOBase):
    """A raw, unbuffered file of a volume (like io.FileIO). mode: r, w, a, x, optionally +."""

    def __init__(self, client, path, mode="r", perm=0o666):
        super().__init__()
        self._h = None
        if mode not in _O:
            raise ValueError(f"invalid mode: '{mode}'")
        p = _path(path)
        h = _lib.file_p()
        client._check(lib.jfs_open(client._fs, p, _O[mode], _int(perm, "perm") & 0o7777,
                                   ctypes.byref(h)), path)
        self._h, self._client, self._gen = h.value, client, _generation
        self.name, self.mode = path, (mode.replace("+", "") + "b+" if "+" in mode
                                      else mode + "b")
        self._readable = mode.startswith("r") or "+" in mode
        self._writable = not mode.startswith("r") or "+" in mode
        st = self._fstat()
        if _stat.S_ISDIR(st.mode):
            self.close()
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        # Buffer size of Buffered*: large enough to make small reads and writes cheap, smaller
        # than typical big I/O (1 MiB), which then goes straight to the caller's buffer.
        self._blksize = min(max(st.blksize, io.DEFAULT_BUFFER_SIZE), 256 << 10)
        if mode.startswith("a"):
            self.seek(0, os.SEEK_END)

    def _file(self):
        if self._h is None:
            raise ValueError("I/O operation on closed file")
        if self._gen != _generation:
            raise ForkedClientError("file opened before os.fork() used in the child")
        return self._h

    def _check(self, rc):
        if rc < 0:
            fs = self._client._h if self._client._h is not None else None
            _raise(rc, fs, self.name)
        return rc

    def _fstat(self):
        st = _lib.jfs_stat_t()
        self._check(lib.jfs_fstat(self._file(), ctypes.byref(st)))
        return st

    def __repr__(self):
        return f"<juicefs.FileIO name={self.name!r} mode={self.mode!r} closed={self.closed}>"

    def readable(self):
        self._file()
        return self._readable

    def writable(self):
        self._file()
        return self._writable

    def seekable(self):
        self._file()
        return True

    def fileno(self):
        raise io.UnsupportedOperation("juicefs files have no file descriptor")

    def isatty(self):
        self._file()
        return False

    def readinto(self, b):
        h = self._file()
        if not self._readable:
            raise io.UnsupportedOperation("File not open for reading")
        with memoryview(b) as mv, mv.cast("B") as m:
            n = len(m)
            if n == 0:
                return 0
            if m.readonly:
                raise TypeError("readinto() argument must be read-write bytes-like object")
            buf = (ctypes.c_char * n).from_buffer(m)
            try:
                return self._check(lib.jfs_read(h, buf, n))
            finally:
                del buf

    def readall(self):
        chunks = []
        size = max(self._blksize, 1 << 16)
        while True:
            b = bytearray(size)
            n = self.readinto(b)
            if not n:
                break
            del b[n:]
            chunks.append(b)
        return b"".join(chunks)

    def write(self, b):
        h = self._file()
        if not self._writable:
            raise io.UnsupportedOperation("File not open for writing")
        if isinstance(b, str):
            raise TypeError("a bytes-like object is required, not 'str'")
        if isinstance(b, bytes):
            return self._check(lib.jfs_write(h, b, len(b)))
        with memoryview(b) as mv, mv.cast("B") as m:
            n = len(m)
            if n == 0:
                return 0
            if m.readonly:
                return self._check(lib.jfs_write(h, bytes(m), n))
            buf = (ctypes.c_char * n).from_buffer(m)
            try:
                return self._check(lib.jfs_write(h, buf, n))
            finally:
                del buf

    def pread(self, size, offset):
        """Reads up to `size` bytes at `offset` without moving the position."""
        h = self._file()
        size, offset = _int(size, "size"), _int(offset, "offset")
        if size < 0 or offset < 0 or offset >= 1 << 63:
            raise ValueError("negative size or offset")
        buf = ctypes.create_string_buffer(size)
        n = self._check(lib.jfs_pread(h, buf, size, offset))
        return buf.raw[:n]

    def pwrite(self, data, offset):
        h = self._file()
        offset = _int(offset, "offset")
        if offset < 0 or offset >= 1 << 63:
            raise ValueError("negative offset")
        data = bytes(memoryview(data))
        return self._check(lib.jfs_pwrite(h, data, len(data), offset))

    def seek(self, pos, whence=os.SEEK_SET):
        h = self._file()
        pos, whence = _int(pos, "pos"), _int(whence, "whence")
        if whence not in (0, 1, 2, 3, 4):
            raise ValueError(f"invalid whence ({whence})")
        if not -(1 << 63) <= pos < 1 << 63:
            raise OverflowError("seek offset out of range")
        return self._check(lib.jfs_lseek(h, pos, whence))

    def tell(self):
        return self._check(lib.jfs_lseek(self._file(), 0, os.SEEK_CUR))

    def truncate(self, size=None):
        h = self._file()
        if not self._writable:
            raise io.UnsupportedOperation("File not open for writing")
        size = self.tell() if size is None else _int(size, "size")
        if size < 0 or size >= 1 << 63:
            raise OSError(errno.EINVAL, "Invalid argument", self.name)
        self._check(lib.jfs_ftruncate(h, size))
        return size

    def flush(self):
        """Makes data written so far visible to other clients (jfs_flush)."""
        if self._h is not None and self._writable and self._gen == _generation:
            self._check(lib.jfs_flush(self._h))
        super().flush()

    def fsync(self):
        self._check(lib.jfs_fsync(self._file()))

    def fstat(self):
        return _stat_result(self._fstat())

    def close(self):
        h, self._h = self._h, None
        if h is None:
            super().close()
            return
        try:
            if self._gen == _generation:
                self._check(lib.jfs_close(h))
        finally:
            super().close()


def format(meta_url, name, *, storage="file", bucket=None, access_key=None, secret_key=None,
           compression=None, block_size=None, trash_days=None, capacity=None, inodes=None,
           force=False, hash_prefix=False, encrypt_rsa_key=None, encrypt_algo=None):
    """Formats a volume (jfs_format). block_size is in KiB (as `juicefs format --block-size`).
    encrypt_rsa_key is the PEM text of an RSA private key (encryption at rest)."""
    if not isinstance(meta_url, str) or not isinstance(name, str):
        raise TypeError("meta_url and name must be str")
    opts = _lib.jfs_format_options_t()
    lib.jfs_format_options_init_sized(ctypes.byref(opts), ctypes.sizeof(opts))
    keep = []

    def s(v, what):
        if v is None:
            return None
        b = os.fsencode(os.fspath(v))
        if b"\0" in b:
            raise ValueError(f"{what}: embedded null byte")
        keep.append(b)
        return b

    opts.storage = s(storage, "storage")
    opts.bucket = s(bucket, "bucket")
    opts.access_key = s(access_key, "access_key")
    opts.secret_key = s(secret_key, "secret_key")
    opts.compression = s(compression, "compression")
    opts.encrypt_rsa_key = s(encrypt_rsa_key, "encrypt_rsa_key")
    opts.encrypt_algo = s(encrypt_algo, "encrypt_algo")
    for field, v, lim in (("block_size_kib", block_size, 1 << 32), ("trash_days", trash_days,
                                                                     1 << 31),
                          ("capacity", capacity, 1 << 64), ("inodes", inodes, 1 << 64)):
        if v is not None:
            v = _int(v, field)
            if not 0 <= v < lim:
                raise ValueError(f"{field} out of range")
            setattr(opts, field, v)
    opts.flags = (_lib.JFS_FORMAT_FORCE if force else 0) | \
        (_lib.JFS_FORMAT_HASH_PREFIX if hash_prefix else 0)
    for x in (meta_url, name):
        if "\0" in x:
            raise ValueError("embedded null byte")
    rc = lib.jfs_format(meta_url.encode(), name.encode(), ctypes.byref(opts))
    if rc < 0:
        _raise(rc, None, meta_url)


def version():
    return lib.jfs_version().decode()
