import sys
import juicefs

meta_url, bucket = sys.argv[1], sys.argv[2]  # e.g. sqlite3:///tmp/meta.db /tmp/data
try:
    juicefs.format(meta_url, "hello", bucket=bucket)
except FileExistsError:
    pass  # formatted by an earlier run
with juicefs.Client(meta_url) as fs, fs.open("/hello.txt", "w+") as f:
    f.write("hello, juicefs")
    f.seek(0)
    print(fs.listdir("/"), f.read())
