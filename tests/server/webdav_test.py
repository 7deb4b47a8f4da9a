#!/usr/bin/python3
"""End-to-end test of `jfs webdav` on loopback: Debian's litmus suite and curl.

Usage: webdav_test.py JFS_BINARY [GROUP...]   (groups: litmus files auth tls; default all)

Formats a SQLite + local-directory volume in a temporary directory, starts the server on a free
port, runs the checks, then stops it with SIGTERM (which must exit 0). What is written over
WebDAV is read back through the library (`jfs cat/ls/cp` through the C ABI) and the other way.
litmus -k exits 0 even when tests fail: its summary lines are what is checked.
"""
import concurrent.futures
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

JFS = os.path.abspath(sys.argv[1])
GROUPS = set(sys.argv[2:]) or {"all"}
USER, PASSWORD = "davuser", "dav-secret-1"
TMP = tempfile.mkdtemp(prefix="jfs-dav-")
META = "sqlite3://" + os.path.join(TMP, "meta.db")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def jfs(*args, **kw):
    return subprocess.run([JFS, *args], capture_output=True, check=False, **kw)


def lib_cat(path):
    r = jfs("--meta", META, "cat", "jfs:" + path)
    return r.stdout if r.returncode == 0 else None


def start(extra=(), env=None, creds=True):
    port_file = os.path.join(TMP, "port.%d" % time.monotonic_ns())
    e = dict(os.environ)
    if env:
        e.update(env)
    log = open(os.path.join(TMP, "webdav.log"), "ab")
    args = [JFS, "webdav", META, "127.0.0.1:0", "--port-file", port_file, "--cache-size", "0", *extra]
    if creds:
        args += ["--user", USER, "--password", PASSWORD]
    p = subprocess.Popen(args, stdout=log, stderr=log, env=e)
    for _ in range(300):
        if os.path.exists(port_file):
            return p, int(open(port_file).read())
        if p.poll() is not None:
            raise SystemExit("webdav exited: " + open(os.path.join(TMP, "webdav.log")).read())
        time.sleep(0.05)
    p.kill()
    raise SystemExit("webdav did not start")


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = -1
    check(rc == 0, "webdav exits 0 on SIGTERM (got %s)" % rc)


def curl(port, method, path, *extra, data=None, auth="digest", user=USER, password=PASSWORD, scheme="http"):
    """Returns (status, headers text, body bytes)."""
    hdr = os.path.join(TMP, "hdr.%d" % time.monotonic_ns())
    args = ["curl", "-s", "-g", "-X", method, "-D", hdr, "-o", "-",
            "%s://127.0.0.1:%d%s" % (scheme, port, path)]
    if method == "HEAD":
        args[args.index("-X"):args.index("-X") + 2] = ["-I"]
    if auth:
        args += ["--" + auth, "-u", "%s:%s" % (user, password)]
    body_file = None
    if data is not None:
        body_file = os.path.join(TMP, "body.%d" % time.monotonic_ns())
        open(body_file, "wb").write(data)
        args += ["--data-binary", "@" + body_file]
    args += list(extra)
    r = subprocess.run(args, capture_output=True, check=False)
    if body_file:
        os.unlink(body_file)
    head = open(hdr, encoding="latin-1").read() if os.path.exists(hdr) else ""
    if os.path.exists(hdr):
        os.unlink(hdr)
    codes = re.findall(r"^HTTP/[0-9.]+ (\d+)", head, re.M)
    return (int(codes[-1]) if codes else 0), head, r.stdout


def test_litmus(port):
    work = os.path.join(TMP, "litmus")
    os.makedirs(work, exist_ok=True)
    st, _, _ = curl(port, "MKCOL", "/litmus/")
    check(st == 201, "MKCOL /litmus/: 201 (got %d)" % st)
    r = subprocess.run(["litmus", "-k", "http://127.0.0.1:%d/litmus/" % port, USER, PASSWORD],
                       capture_output=True, cwd=work, timeout=600, check=False)
    out = r.stdout.decode(errors="replace")
    summaries = {s: (int(n), pct) for s, n, pct in
                 re.findall(r"<- summary for `(\w+)': of (\d+) tests run: .*?(\d+\.\d+)%", out)}
    # Debian 12's litmus 0.13 runs this many tests per suite: fewer means a suite stopped early.
    for suite, count in (("basic", 16), ("copymove", 13), ("props", 30), ("locks", 41), ("http", 4)):
        n, pct = summaries.get(suite, (0, None))
        check(pct == "100.0" and n >= count, "litmus %s: %s tests at %s%% (want >= %d at 100%%)" % (suite, n, pct, count))
    check("WARNING" not in out and "warning:" not in out, "litmus without warnings")
    if failures:
        print(out[-4000:])
    else:
        print("\n".join(l for l in out.splitlines() if l.startswith("<- summary")))


def test_files(port):
    # Large file, streamed both ways; read back through the library.
    big = os.path.join(TMP, "big.bin")
    with open(big, "wb") as f:
        for i in range(64):
            f.write(hashlib.sha256(str(i).encode()).digest() * (1 << 15))
    want = hashlib.sha256(open(big, "rb").read()).hexdigest()
    st, _, _ = curl(port, "PUT", "/big.bin", "-T", big)
    check(st == 201, "PUT 64 MiB: 201 (got %d)" % st)
    st, head, body = curl(port, "GET", "/big.bin")
    check(st == 200 and hashlib.sha256(body).hexdigest() == want, "GET 64 MiB round trip")
    lib = lib_cat("/big.bin")
    check(lib is not None and hashlib.sha256(lib).hexdigest() == want, "64 MiB file seen by the library")
    st, head, body = curl(port, "PUT", "/big.bin", "-T", big)
    check(st == 204, "PUT over an existing file: 204 (got %d)" % st)

    # Range
    raw = open(big, "rb").read()
    st, head, body = curl(port, "GET", "/big.bin", "-H", "Range: bytes=1000-1999")
    check(st == 206 and body == raw[1000:2000], "Range 1000-1999")
    check("Content-Range: bytes 1000-1999/%d" % len(raw) in head, "Content-Range of a range")
    st, head, body = curl(port, "GET", "/big.bin", "-H", "Range: bytes=-100")
    check(st == 206 and body == raw[-100:], "suffix range")
    st, head, body = curl(port, "GET", "/big.bin", "-H", "Range: bytes=%d-" % (len(raw) - 10))
    check(st == 206 and body == raw[-10:], "open range")
    st, head, _ = curl(port, "GET", "/big.bin", "-H", "Range: bytes=%d-" % len(raw))
    check(st == 416, "unsatisfiable range: 416 (got %d)" % st)
    etag = re.search(r"^ETag: (.*?)\r?$", head, re.M | re.I)
    st, _, _ = curl(port, "GET", "/big.bin", "-H", "If-None-Match: %s" % (etag.group(1) if etag else "x"))
    check(st == 304, "If-None-Match with the ETag: 304 (got %d)" % st)
    st, _, _ = curl(port, "PUT", "/big.bin", "-H", "If-Match: \"nope\"", data=b"x")
    check(st == 412, "PUT with a failing If-Match: 412 (got %d)" % st)

    # Content-Range on PUT is refused and changes nothing.
    st, _, _ = curl(port, "PUT", "/big.bin", "-H", "Content-Range: bytes 0-0/1", data=b"y")
    check(st == 400, "PUT with Content-Range: 400 (got %d)" % st)
    check(hashlib.sha256(lib_cat("/big.bin") or b"").hexdigest() == want, "refused PUT left the file as it was")

    # Concurrent PUTs of one path: the result is one of the bodies, whole.
    bodies = [bytes([65 + i]) * (3 << 20) for i in range(6)]

    def put(b):
        return curl(port, "PUT", "/race.bin", data=b)[0]

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        codes = list(ex.map(put, bodies))
    check(all(c in (201, 204) for c in codes), "concurrent PUTs all succeed (%s)" % codes)
    got = lib_cat("/race.bin")
    check(got in bodies, "concurrent PUTs leave one whole body")
    r = jfs("--meta", META, "ls", "jfs:/.jfs-webdav/tmp")
    check(r.returncode == 0 and r.stdout.strip() == b"", "no temporary files left behind")

    # Names with spaces, percent signs and UTF-8.
    names = ["with space.txt", "100% sure.txt", "Grüße—日本.txt", "a+b&c=d;e.txt"]
    st, _, _ = curl(port, "MKCOL", "/odd%20dir/")
    check(st == 201, "MKCOL with a space: 201 (got %d)" % st)
    from urllib.parse import quote
    for n in names:
        st, _, _ = curl(port, "PUT", "/odd%20dir/" + quote(n), data=n.encode())
        check(st == 201, "PUT %r: 201 (got %d)" % (n, st))
        check(lib_cat("/odd dir/" + n) == n.encode(), "library reads %r" % n)
    st, _, body = curl(port, "PROPFIND", "/odd%20dir/", "-H", "Depth: 1")
    check(st == 207, "PROPFIND Depth 1: 207 (got %d)" % st)
    hrefs = set(re.findall(r"<D:href>(.*?)</D:href>", body.decode()))
    for n in names:
        want_href = "/odd%20dir/" + quote(n, safe="~").replace("&", "&amp;")
        check(want_href in hrefs or want_href.replace("%7E", "~") in hrefs, "href of %r in PROPFIND (%s)" % (n, sorted(hrefs)))
    st, _, body = curl(port, "GET", "/odd%20dir/")
    check(st == 200 and b"<html" in body and "Grüße".encode() in body, "GET of a collection: HTML listing")

    # The library writes, WebDAV reads.
    local = os.path.join(TMP, "fromlib.txt")
    open(local, "wb").write(b"written by the library\n")
    r = jfs("--meta", META, "cp", local, "jfs:/odd dir/from lib.txt")
    check(r.returncode == 0, "jfs cp: %s" % r.stderr)
    st, _, body = curl(port, "GET", "/odd%20dir/from%20lib.txt")
    check(st == 200 and body == b"written by the library\n", "file written by the library read over WebDAV")

    # MOVE and DELETE seen by the library.
    st, _, _ = curl(port, "MOVE", "/odd%20dir/", "-H", "Destination: http://127.0.0.1:%d/moved/" % port)
    check(st == 201, "MOVE collection: 201 (got %d)" % st)
    check(lib_cat("/moved/with space.txt") == b"with space.txt", "library sees the moved tree")
    st, _, _ = curl(port, "DELETE", "/moved/")
    check(st == 204, "DELETE collection: 204 (got %d)" % st)
    check(lib_cat("/moved/with space.txt") is None, "library sees the deleted tree gone")
    st, _, _ = curl(port, "GET", "/.jfs-webdav/tmp/")
    check(st == 404, "work directory hidden: 404 (got %d)" % st)


def test_auth(port):
    st, _, _ = curl(port, "PUT", "/secret.txt", data=b"x", auth=None)
    check(st == 401, "no credentials: 401 (got %d)" % st)
    st, _, _ = curl(port, "PUT", "/secret.txt", data=b"x", password="wrong-password")
    check(st == 401, "wrong Digest password: 401 (got %d)" % st)
    st, _, _ = curl(port, "PUT", "/secret.txt", data=b"x", user="other")
    check(st == 401, "wrong user: 401 (got %d)" % st)
    st, head, _ = curl(port, "PUT", "/secret.txt", data=b"x", auth="basic")
    check(st == 401, "Basic over plain HTTP refused: 401 (got %d)" % st)
    check("Basic" not in head, "Basic not offered over plain HTTP")
    st, _, _ = curl(port, "DELETE", "/big.bin", auth=None)
    check(st == 401, "DELETE without credentials: 401 (got %d)" % st)
    check(lib_cat("/secret.txt") is None, "refused PUTs created nothing")
    check(lib_cat("/big.bin") is not None or "files" not in GROUPS and "all" not in GROUPS,
          "refused DELETE removed nothing")
    st, _, _ = curl(port, "PUT", "/secret.txt", data=b"ok")
    check(st == 201 and lib_cat("/secret.txt") == b"ok", "Digest PUT works")
    # --insecure-basic and the environment variables
    p2, port2 = start(["--insecure-basic"], env={"JFS_WEBDAV_USER": "envuser", "JFS_WEBDAV_PASSWORD": "envpass"},
                      creds=False)
    try:
        st, _, body = curl(port2, "GET", "/secret.txt", auth="basic", user="envuser", password="envpass")
        check(st == 200 and body == b"ok", "Basic with --insecure-basic and env credentials (got %d)" % st)
        st, _, _ = curl(port2, "GET", "/secret.txt", auth="basic", user="envuser", password="bad")
        check(st == 401, "bad Basic password: 401 (got %d)" % st)
    finally:
        stop(p2)
    r = jfs("webdav", META, "127.0.0.1:0")
    check(r.returncode == 2 and b"credentials" in r.stderr, "no credentials: usage error")


def test_tls():
    cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True)
    check(r.returncode == 0, "openssl req: %s" % r.stderr[-300:])
    p, port = start(["--tls-cert", cert, "--tls-key", key])
    try:
        st, _, _ = curl(port, "PUT", "/tls.txt", "--cacert", cert, data=b"over tls", auth="basic", scheme="https")
        check(st == 201, "Basic over HTTPS: 201 (got %d)" % st)
        st, _, body = curl(port, "GET", "/tls.txt", "--cacert", cert, scheme="https")
        check(st == 200 and body == b"over tls", "Digest over HTTPS")
        st, _, _ = curl(port, "GET", "/tls.txt")
        check(st != 200, "plain HTTP on the TLS port does not work")
    finally:
        stop(p)


def main():
    r = jfs("format", META, "davvol", "--storage", "file", "--bucket", os.path.join(TMP, "data"))
    if r.returncode != 0:
        raise SystemExit("format failed: %s" % r.stderr)
    p, port = start()
    try:
        if GROUPS & {"all", "litmus"}:
            test_litmus(port)
        if GROUPS & {"all", "files"}:
            test_files(port)
        if GROUPS & {"all", "auth"}:
            test_auth(port)
    finally:
        stop(p)
    if GROUPS & {"all", "tls"}:
        test_tls()
    if failures:
        print("%d checks failed" % len(failures))
        sys.exit(1)
    print("all checks passed")
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
