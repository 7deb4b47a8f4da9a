"""ctypes declarations of include/juicefs/juicefs.h (the C ABI) and the library lookup.

The library is found, in this order:
  1. $JUICEFS_LIBRARY: the path of libjuicefs.so (or any name ctypes can load);
  2. the build tree of the repository this package sits in (<repo>/build/capi/libjuicefs.so),
     when the package is used from a clone;
  3. ctypes.util.find_library("juicefs"), then "libjuicefs.so.1" (installed with meson install).
ctypes.CDLL releases the GIL around every foreign call, so calls from many threads run in parallel.
"""
import ctypes
import ctypes.util
import os
import pathlib

c_int, c_int64, c_uint32, c_uint64, c_size_t = (ctypes.c_int, ctypes.c_int64, ctypes.c_uint32,
                                                 ctypes.c_uint64, ctypes.c_size_t)
c_char_p, c_void_p, POINTER = ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER


class jfs_timespec_t(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_int64), ("nsec", ctypes.c_int64)]


class jfs_stat_t(ctypes.Structure):
    _fields_ = [("ino", c_uint64), ("mode", c_uint32), ("nlink", c_uint32), ("uid", c_uint32),
                ("gid", c_uint32), ("rdev", c_uint32), ("flags", c_uint32), ("size", c_uint64),
                ("blocks", c_uint64), ("blksize", c_uint32), ("spare0_", c_uint32),
                ("atime", jfs_timespec_t), ("mtime", jfs_timespec_t), ("ctime", jfs_timespec_t),
                ("spare_", c_uint64 * 4)]


class jfs_statvfs_t(ctypes.Structure):
    _fields_ = [("block_size", c_uint64), ("total_bytes", c_uint64), ("free_bytes", c_uint64),
                ("total_inodes", c_uint64), ("free_inodes", c_uint64), ("max_name", c_uint64),
                ("spare_", c_uint64 * 4)]


class jfs_dirent_t(ctypes.Structure):
    _fields_ = [("name", c_char_p), ("name_len", c_size_t), ("stat", jfs_stat_t)]


class jfs_format_options_t(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("flags", c_uint32), ("storage", c_char_p),
                ("bucket", c_char_p), ("access_key", c_char_p), ("secret_key", c_char_p),
                ("compression", c_char_p), ("block_size_kib", c_uint32),
                ("trash_days", ctypes.c_int32), ("capacity", c_uint64), ("inodes", c_uint64),
                ("encrypt_rsa_key", c_char_p), ("encrypt_algo", c_char_p)]


class jfs_volume_options_t(ctypes.Structure):
    _fields_ = [("size", c_uint32), ("flags", c_uint32), ("buffer_size", c_uint64),
                ("upload_threads", ctypes.c_int32), ("spare0_", c_uint32),
                ("mount_point", c_char_p)]


JFS_FORMAT_FORCE = 0x1
JFS_FORMAT_HASH_PREFIX = 0x2
JFS_VOLUME_READ_ONLY = 0x1
JFS_UTIME_NOW = (1 << 30) - 1
JFS_UTIME_OMIT = (1 << 30) - 2
JFS_RENAME_NOREPLACE = 0x1
JFS_RENAME_EXCHANGE = 0x2

fs_p = c_void_p
file_p = c_void_p
dir_p = c_void_p

# name: (restype, argtypes)
_PROTOS = {
    "jfs_version": (c_char_p, []),
    "jfs_last_error": (c_char_p, [fs_p]),
    "jfs_last_open_error": (c_char_p, []),
    "jfs_free": (None, [c_void_p]),
    # The *_init_sized entry points take the struct size as this module lays it out, so an older
    # or newer library never writes beyond it (juicefs.h: options grow by addition).
    "jfs_format_options_init_sized": (None, [POINTER(jfs_format_options_t), c_size_t]),
    "jfs_format": (c_int, [c_char_p, c_char_p, POINTER(jfs_format_options_t)]),
    "jfs_volume_options_init_sized": (None, [POINTER(jfs_volume_options_t), c_size_t]),
    "jfs_open_volume": (c_int, [c_char_p, POINTER(jfs_volume_options_t), POINTER(fs_p)]),
    "jfs_close_volume": (c_int, [fs_p]),
    "jfs_set_credentials": (c_int, [fs_p, c_uint32, POINTER(c_uint32), c_size_t,
                                    ctypes.c_uint16]),
    "jfs_statvfs": (c_int, [fs_p, POINTER(jfs_statvfs_t)]),
    "jfs_open": (c_int, [fs_p, c_char_p, c_int, c_uint32, POINTER(file_p)]),
    "jfs_read": (c_int64, [file_p, c_void_p, c_uint64]),
    "jfs_pread": (c_int64, [file_p, c_void_p, c_uint64, c_int64]),
    "jfs_write": (c_int64, [file_p, c_void_p, c_uint64]),
    "jfs_pwrite": (c_int64, [file_p, c_void_p, c_uint64, c_int64]),
    "jfs_lseek": (c_int64, [file_p, c_int64, c_int]),
    "jfs_ftruncate": (c_int, [file_p, c_int64]),
    "jfs_flush": (c_int, [file_p]),
    "jfs_fsync": (c_int, [file_p]),
    "jfs_fstat": (c_int, [file_p, POINTER(jfs_stat_t)]),
    "jfs_close": (c_int, [file_p]),
    "jfs_stat": (c_int, [fs_p, c_char_p, POINTER(jfs_stat_t)]),
    "jfs_lstat": (c_int, [fs_p, c_char_p, POINTER(jfs_stat_t)]),
    "jfs_access": (c_int, [fs_p, c_char_p, c_int]),
    "jfs_mkdir": (c_int, [fs_p, c_char_p, c_uint32]),
    "jfs_mkdir_all": (c_int, [fs_p, c_char_p, c_uint32]),
    "jfs_rmdir": (c_int, [fs_p, c_char_p]),
    "jfs_unlink": (c_int, [fs_p, c_char_p]),
    "jfs_rename": (c_int, [fs_p, c_char_p, c_char_p, c_uint32]),
    "jfs_link": (c_int, [fs_p, c_char_p, c_char_p]),
    "jfs_symlink": (c_int, [fs_p, c_char_p, c_char_p]),
    "jfs_readlink": (c_int, [fs_p, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "jfs_chmod": (c_int, [fs_p, c_char_p, c_uint32]),
    "jfs_chown": (c_int, [fs_p, c_char_p, c_uint32, c_uint32]),
    "jfs_lchown": (c_int, [fs_p, c_char_p, c_uint32, c_uint32]),
    "jfs_utimens": (c_int, [fs_p, c_char_p, POINTER(jfs_timespec_t)]),
    "jfs_lutimens": (c_int, [fs_p, c_char_p, POINTER(jfs_timespec_t)]),
    "jfs_truncate": (c_int, [fs_p, c_char_p, c_int64]),
    "jfs_realpath": (c_int, [fs_p, c_char_p, POINTER(c_void_p)]),
    "jfs_opendir": (c_int, [fs_p, c_char_p, POINTER(dir_p)]),
    "jfs_readdir": (c_int, [dir_p, POINTER(POINTER(jfs_dirent_t))]),
    "jfs_closedir": (c_int, [dir_p]),
    "jfs_getxattr": (c_int, [fs_p, c_char_p, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "jfs_lgetxattr": (c_int, [fs_p, c_char_p, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "jfs_setxattr": (c_int, [fs_p, c_char_p, c_char_p, c_void_p, c_size_t, c_int]),
    "jfs_lsetxattr": (c_int, [fs_p, c_char_p, c_char_p, c_void_p, c_size_t, c_int]),
    "jfs_listxattr": (c_int, [fs_p, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "jfs_llistxattr": (c_int, [fs_p, c_char_p, POINTER(c_void_p), POINTER(c_size_t)]),
    "jfs_removexattr": (c_int, [fs_p, c_char_p, c_char_p]),
    "jfs_lremovexattr": (c_int, [fs_p, c_char_p, c_char_p]),
}


def _candidates():
    env = os.environ.get("JUICEFS_LIBRARY")
    if env:
        yield env
        return
    repo = pathlib.Path(__file__).resolve().parents[3]
    for build in ("build", "build-release", "builddir"):
        for name in ("libjuicefs.so.1", "libjuicefs.so"):
            p = repo / build / "capi" / name
            if p.exists():
                yield str(p)
    found = ctypes.util.find_library("juicefs")
    if found:
        yield found
    yield "libjuicefs.so.1"


def load():
    """Loads libjuicefs and declares every function; raises OSError naming what was tried."""
    tried = []
    for cand in _candidates():
        try:
            lib = ctypes.CDLL(cand)
            break
        except OSError as e:
            tried.append(f"{cand}: {e}")
    else:
        raise OSError("libjuicefs not found (set JUICEFS_LIBRARY to the path of libjuicefs.so); "
                      "tried: " + "; ".join(tried))
    for name, (res, args) in _PROTOS.items():
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args
    return lib


lib = load()
