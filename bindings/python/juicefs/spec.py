"""fsspec file system "jfs" over a juicefs.Client.

The volume is named by its META-URL, given as a storage option (never inside the path):

    fs = fsspec.filesystem("jfs", meta_url="sqlite3:///tmp/meta.db")
    with fsspec.open("jfs:///dir/file.txt", "w", meta_url="sqlite3:///tmp/meta.db") as f: ...

$JUICEFS_META_URL is used when meta_url is not given. Options of juicefs.Client (read_only,
buffer_size, upload_threads, mount_point) pass through. Paths are absolute inside the volume:
"jfs:///a/b", "jfs://a/b" and "/a/b" all mean /a/b, and names in listings are "/a/b".
"""
import datetime
import os
import stat as _stat

from fsspec.spec import AbstractFileSystem

from ._client import Client


class JuiceFileSystem(AbstractFileSystem):
    protocol = "jfs"
    root_marker = "/"

    def __init__(self, meta_url=None, **kwargs):
        client_opts = {k: kwargs.pop(k) for k in ("read_only", "buffer_size", "upload_threads",
                                                  "mount_point") if k in kwargs}
        super().__init__(**kwargs)
        meta_url = meta_url or os.environ.get("JUICEFS_META_URL")
        if not meta_url:
            raise ValueError("jfs: give the volume's META-URL as meta_url=... (storage option) "
                             "or in $JUICEFS_META_URL")
        self.meta_url = meta_url
        self.client = Client(meta_url, **client_opts)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = os.fspath(path)
        if path.startswith("jfs://"):
            path = path[len("jfs://"):]
        elif path.startswith("jfs:"):
            path = path[len("jfs:"):]
        path = "/" + path.lstrip("/")
        return path.rstrip("/") or "/"

    def unstrip_protocol(self, name):
        return "jfs://" + self._strip_protocol(name)

    def _info(self, path, st):
        if _stat.S_ISDIR(st.st_mode):
            kind = "directory"
        elif _stat.S_ISREG(st.st_mode):
            kind = "file"
        else:
            kind = "other"
        return {"name": path, "size": st.st_size, "type": kind, "mode": st.st_mode,
                "ino": st.st_ino, "nlink": st.st_nlink, "uid": st.st_uid, "gid": st.st_gid,
                "created": st.st_ctime, "mtime": st.st_mtime, "islink": _stat.S_ISLNK(st.st_mode)}

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        st = self.client.lstat(path)
        out = self._info(path, st)
        if out["islink"]:
            out["destination"] = self.client.readlink(path)
            try:
                st = self.client.stat(path)
                out.update(size=st.st_size, type=self._info(path, st)["type"])
            except FileNotFoundError:
                pass
        return out

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        if not self.client.isdir(path):
            info = self.info(path)  # FileNotFoundError if missing
            return [info] if detail else [path]
        out = []
        prefix = path.rstrip("/") + "/"
        with self.client.scandir(path) as it:
            for e in it:
                name = prefix + e.name
                if detail:
                    i = self._info(name, e.stat(follow_symlinks=False))
                    if i["islink"]:
                        i["destination"] = self.client.readlink(name)
                        try:
                            st = e.stat()
                            i.update(size=st.st_size, type=self._info(name, st)["type"])
                        except FileNotFoundError:
                            pass
                    out.append(i)
                else:
                    out.append(name)
        return out

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None,
              **kwargs):
        path = self._strip_protocol(path)
        if "w" in mode or "a" in mode or "x" in mode:
            parent = self._parent(path)
            if parent and not self.client.exists(parent) and self.auto_mkdir:
                self.client.makedirs(parent, exist_ok=True)
        buffering = -1 if not block_size or block_size == "default" else int(block_size)
        return self.client.open(path, mode if "b" in mode else mode + "b", buffering=buffering)

    auto_mkdir = True

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        with self.client.open(path, "rb", buffering=0) as f:
            size = None
            if start is not None and start < 0 or end is not None and end < 0:
                size = f.fstat().st_size
            start = 0 if start is None else (max(size + start, 0) if start < 0 else start)
            if end is None:
                f.seek(start)
                return f.readall()
            end = max(size + end, 0) if end < 0 else end
            if end <= start:
                return b""
            return f.pread(end - start, start)

    def pipe_file(self, path, value, mode="overwrite", **kwargs):
        path = self._strip_protocol(path)
        parent = self._parent(path)
        if parent and not self.client.exists(parent):
            self.client.makedirs(parent, exist_ok=True)
        with self.client.open(path, "xb" if mode == "create" else "wb", buffering=0) as f:
            mv = memoryview(value)
            while mv:
                n = f.write(mv)
                mv = mv[n:]

    def mkdir(self, path, create_parents=True, **kwargs):
        path = self._strip_protocol(path)
        if create_parents:
            self.makedirs(path, exist_ok=True)
        else:
            self.client.mkdir(path)

    def makedirs(self, path, exist_ok=False):
        self.client.makedirs(self._strip_protocol(path), exist_ok=exist_ok)

    def rmdir(self, path):
        self.client.rmdir(self._strip_protocol(path))

    def _rm(self, path):
        path = self._strip_protocol(path)
        if self.client.isdir(path) and not self.client.islink(path):
            self.client.rmdir(path)
        else:
            self.client.remove(path)

    def rm(self, path, recursive=False, maxdepth=None):
        if isinstance(path, str) and recursive and maxdepth is None:
            p = self._strip_protocol(path)
            if self.client.lexists(p) and self.client.isdir(p) and not self.client.islink(p):
                self.client.rmtree(p)
                return
        super().rm(path, recursive=recursive, maxdepth=maxdepth)

    def mv(self, path1, path2, recursive=True, maxdepth=None, **kwargs):
        p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if isinstance(path1, str) and isinstance(path2, str) and maxdepth is None:
            self.client.rename(p1, p2)
        else:
            super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    def cp_file(self, path1, path2, **kwargs):
        p1, p2 = self._strip_protocol(path1), self._strip_protocol(path2)
        if self.client.isdir(p1):
            self.makedirs(p2, exist_ok=True)
            return
        with self.client.open(p1, "rb", buffering=0) as src, \
                self.client.open(p2, "wb", buffering=0) as dst:
            buf = bytearray(1 << 20)
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                dst.write(memoryview(buf)[:n])

    def created(self, path):
        # JuiceFS keeps no birth time; ctime (last status change) is the closest.
        st = self.client.stat(self._strip_protocol(path))
        return datetime.datetime.fromtimestamp(st.st_ctime, tz=datetime.timezone.utc)

    def modified(self, path):
        st = self.client.stat(self._strip_protocol(path))
        return datetime.datetime.fromtimestamp(st.st_mtime, tz=datetime.timezone.utc)

    def exists(self, path, **kwargs):
        try:
            return self.client.lexists(self._strip_protocol(path))
        except ValueError:
            return False

    def isdir(self, path):
        return self.client.isdir(self._strip_protocol(path))

    def isfile(self, path):
        return self.client.isfile(self._strip_protocol(path))

    def touch(self, path, truncate=True, **kwargs):
        path = self._strip_protocol(path)
        if truncate or not self.client.exists(path):
            with self.client.open(path, "wb"):
                pass
        else:
            self.client.utime(path)

