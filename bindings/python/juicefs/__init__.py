"""juicefs: Python bindings of libjuicefs (ctypes over the C ABI, no compiled extension).

    import juicefs
    juicefs.format("sqlite3:///tmp/meta.db", "myvol", bucket="/tmp/data")
    with juicefs.Client("sqlite3:///tmp/meta.db") as fs:
        with fs.open("/hello.txt", "w") as f:
            f.write("hello")

Importing the package also registers the fsspec protocol "jfs" when fsspec is installed
(juicefs.spec.JuiceFileSystem).
"""
from ._client import Client, DirEntry, FileIO, ForkedClientError, ScandirIterator, format, version

__all__ = ["Client", "DirEntry", "FileIO", "ForkedClientError", "ScandirIterator", "format",
           "version"]

try:
    import fsspec as _fsspec
except ImportError:  # fsspec is optional
    pass
else:
    _fsspec.register_implementation("jfs", "juicefs.spec.JuiceFileSystem", clobber=True)
