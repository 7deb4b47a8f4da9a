#!/usr/bin/python3
"""End-to-end test of `jfs gateway` with real S3 clients on loopback: boto3, the aws CLI and curl.

Usage: gateway_test.py JFS_BINARY [GROUP...]   (groups: basic list multipart bad cli rclone s3fs
                                          buckets tls timeout all)

Formats a SQLite + local-directory volume in a temporary directory, starts the gateway on a free
port, runs the checks, then stops it with SIGTERM (which must exit 0). Every check compares with
what the library sees (`jfs cat/ls` through the C ABI) where it matters.
"""
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import boto3
import botocore
from botocore.config import Config

JFS = os.path.abspath(sys.argv[1])
GROUPS = set(sys.argv[2:]) or {"all"}
AK, SK = "testadmin", "testsecret123"
TMP = tempfile.mkdtemp(prefix="jfs-gw-")
META = "sqlite3://" + os.path.join(TMP, "meta.db")
VOL = "gwvol"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def jfs(*args, **kw):
    return subprocess.run([JFS, *args], capture_output=True, check=False, **kw)


def start_gateway(extra=(), env=None):
    port_file = os.path.join(TMP, "port.%d" % time.monotonic_ns())
    e = dict(os.environ)
    if env:
        e.update(env)
    log = open(os.path.join(TMP, "gateway.log"), "ab")
    args = [JFS, "gateway", META, "127.0.0.1:0", "--port-file", port_file, *extra]
    if not env:
        args += ["--access-key", AK, "--secret-key", SK]
    p = subprocess.Popen(args, stdout=log, stderr=log, env=e)
    for _ in range(300):
        if os.path.exists(port_file):
            return p, int(open(port_file).read())
        if p.poll() is not None:
            raise SystemExit("gateway exited: " + open(os.path.join(TMP, "gateway.log")).read())
        time.sleep(0.05)
    p.kill()
    raise SystemExit("gateway did not start")


def stop_gateway(p):
    p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = -1
    check(rc == 0, "gateway exits 0 on SIGTERM (got %s)" % rc)


def client(port, **kw):
    return boto3.client(
        "s3", endpoint_url="http://127.0.0.1:%d" % port, aws_access_key_id=kw.get("ak", AK),
        aws_secret_access_key=kw.get("sk", SK), region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      signature_version="s3v4"))


def err_code(fn):
    try:
        fn()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    return None


def lib_cat(path):
    r = jfs("--meta", META, "cat", "jfs:" + path)
    return r.stdout if r.returncode == 0 else None


def test_basic(s3):
    b = VOL
    check([x["Name"] for x in s3.list_buckets()["Buckets"]] == [b], "one bucket named after the volume")
    s3.head_bucket(Bucket=b)
    check(err_code(lambda: s3.head_bucket(Bucket="nosuch")) in ("404", "NoSuchBucket"), "head missing bucket")
    check(err_code(lambda: s3.get_object(Bucket="nosuch", Key="x")) == "NoSuchBucket", "NoSuchBucket")
    data = os.urandom(300000)
    r = s3.put_object(Bucket=b, Key="a/b/c.bin", Body=data, ContentType="application/x-test",
                      Metadata={"color": "blue", "n": "1"}, CacheControl="max-age=60",
                      ContentDisposition="attachment", ContentEncoding="identity")
    check(r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest(), "PUT ETag is the MD5")
    check(lib_cat("/a/b/c.bin") == data, "object is the file /a/b/c.bin for the library")
    g = s3.get_object(Bucket=b, Key="a/b/c.bin")
    check(g["Body"].read() == data, "GET returns the data")
    check(g["ContentType"] == "application/x-test", "Content-Type kept")
    check(g["Metadata"] == {"color": "blue", "n": "1"}, "user metadata kept: %r" % g["Metadata"])
    check(g.get("CacheControl") == "max-age=60" and g.get("ContentDisposition") == "attachment",
          "Cache-Control / Content-Disposition kept")
    h = s3.head_object(Bucket=b, Key="a/b/c.bin")
    check(h["ContentLength"] == len(data) and h["ETag"] == r["ETag"], "HEAD size and ETag")
    # ranges
    check(s3.get_object(Bucket=b, Key="a/b/c.bin", Range="bytes=10-19")["Body"].read() == data[10:20], "range a-b")
    check(s3.get_object(Bucket=b, Key="a/b/c.bin", Range="bytes=299990-")["Body"].read() == data[299990:], "range a-")
    check(s3.get_object(Bucket=b, Key="a/b/c.bin", Range="bytes=-7")["Body"].read() == data[-7:], "suffix range")
    rr = s3.get_object(Bucket=b, Key="a/b/c.bin", Range="bytes=5-5000000")
    check(rr["ContentRange"] == "bytes 5-299999/300000", "range clipped: %s" % rr.get("ContentRange"))
    check(err_code(lambda: s3.get_object(Bucket=b, Key="a/b/c.bin", Range="bytes=300000-")) == "InvalidRange", "InvalidRange")
    # conditionals
    check(err_code(lambda: s3.get_object(Bucket=b, Key="a/b/c.bin", IfMatch='"0000"')) == "PreconditionFailed", "If-Match fails")
    check(s3.get_object(Bucket=b, Key="a/b/c.bin", IfMatch=r["ETag"])["ContentLength"] == len(data), "If-Match ok")
    check(err_code(lambda: s3.get_object(Bucket=b, Key="a/b/c.bin", IfNoneMatch=r["ETag"])) == "304", "If-None-Match → 304")
    check(err_code(lambda: s3.get_object(Bucket=b, Key="a/b/c.bin", IfModifiedSince=h["LastModified"])) == "304", "If-Modified-Since → 304")
    check(err_code(lambda: s3.get_object(Bucket=b, Key="a/b/nope")) == "NoSuchKey", "NoSuchKey")
    # overwrite, copy
    s3.put_object(Bucket=b, Key="a/b/c.bin", Body=b"short")
    check(lib_cat("/a/b/c.bin") == b"short", "overwrite visible to the library")
    check(s3.head_object(Bucket=b, Key="a/b/c.bin")["Metadata"] == {}, "overwrite drops old metadata")
    s3.put_object(Bucket=b, Key="src.txt", Body=b"copy me", Metadata={"k": "v"}, ContentType="text/plain")
    c = s3.copy_object(Bucket=b, Key="dst/copy.txt", CopySource={"Bucket": b, "Key": "src.txt"})
    check(c["CopyObjectResult"]["ETag"] == '"%s"' % hashlib.md5(b"copy me").hexdigest(), "copy ETag")
    h2 = s3.head_object(Bucket=b, Key="dst/copy.txt")
    check(h2["Metadata"] == {"k": "v"} and h2["ContentType"] == "text/plain", "COPY keeps metadata")
    s3.copy_object(Bucket=b, Key="dst/copy.txt", CopySource={"Bucket": b, "Key": "src.txt"},
                   MetadataDirective="REPLACE", Metadata={"new": "x"}, ContentType="text/x")
    h3 = s3.head_object(Bucket=b, Key="dst/copy.txt")
    check(h3["Metadata"] == {"new": "x"} and h3["ContentType"] == "text/x", "REPLACE metadata")
    check(err_code(lambda: s3.copy_object(Bucket=b, Key="src.txt", CopySource={"Bucket": b, "Key": "src.txt"})) == "InvalidRequest", "copy onto itself")
    check(err_code(lambda: s3.copy_object(Bucket=b, Key="x", CopySource={"Bucket": b, "Key": "none"})) == "NoSuchKey", "copy of missing")
    # empty object, unicode keys
    s3.put_object(Bucket=b, Key="empty", Body=b"")
    check(s3.get_object(Bucket=b, Key="empty")["Body"].read() == b"", "empty object")
    uk = "ünï cødé/with space+plus&amp=eq?.txt"
    s3.put_object(Bucket=b, Key=uk, Body=b"u")
    check(s3.get_object(Bucket=b, Key=uk)["Body"].read() == b"u", "unicode/special key round trip")
    check(lib_cat("/" + uk) == b"u", "special key is that file")
    # files written by the library are objects
    src = os.path.join(TMP, "fromlib")
    open(src, "wb").write(b"from the library")
    check(jfs("--meta", META, "cp", src, "jfs:/libfile.txt").returncode == 0, "jfs cp")
    check(s3.get_object(Bucket=b, Key="libfile.txt")["Body"].read() == b"from the library", "library file via S3")
    # delete: empty parents go
    s3.delete_object(Bucket=b, Key="a/b/c.bin")
    check(jfs("--meta", META, "stat", "jfs:/a").returncode != 0, "empty directories removed on DELETE")
    s3.delete_object(Bucket=b, Key="never-existed")
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "src.txt"}, {"Key": "dst/copy.txt"}, {"Key": "nothing"}]})
    check(len(r.get("Deleted", [])) == 3 and not r.get("Errors"), "DeleteObjects: %r" % r)
    check(err_code(lambda: s3.head_object(Bucket=b, Key="src.txt")) == "404", "deleted")
    # presigned URLs with curl
    s3.put_object(Bucket=b, Key="pre.txt", Body=b"presigned body")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "pre.txt"}, ExpiresIn=60)
    out = subprocess.run(["curl", "-s", "-f", url], capture_output=True)
    check(out.returncode == 0 and out.stdout == b"presigned body", "presigned GET with curl")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "pre-put.txt"}, ExpiresIn=60)
    out = subprocess.run(["curl", "-s", "-f", "-X", "PUT", "--data-binary", "via curl", url.split("?")[0]], capture_output=True)
    check(out.returncode != 0, "anonymous PUT refused")
    out = subprocess.run(["curl", "-s", "-f", "-X", "PUT", "-H", "Content-Type:", "--data-binary", "via curl", put_url], capture_output=True)
    check(out.returncode == 0 and lib_cat("/pre-put.txt") == b"via curl", "presigned PUT with curl")
    bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    out = subprocess.run(["curl", "-s", bad], capture_output=True)
    check(b"<Code>SignatureDoesNotMatch</Code>" in out.stdout or b"AuthorizationQueryParametersError" in out.stdout, "tampered presign refused")
    # an expired presigned URL: signed 2 seconds ago for 1 second
    old = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "pre.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    out = subprocess.run(["curl", "-s", old], capture_output=True)
    check(b"<Code>AccessDenied</Code>" in out.stdout and b"expired" in out.stdout, "expired presign: %r" % out.stdout[:200])
    # anonymous GET
    out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url.split("?")[0]], capture_output=True)
    check(out.stdout == b"403", "anonymous GET refused")


def test_list(s3):
    b = VOL
    # 1,200 keys: 3 dirs x 400 plus a few top-level files
    keys = ["d%d/f%04d" % (d, i) for d in range(3) for i in range(400)] + ["top1", "top2", "d1x"]
    root = os.path.join(TMP, "tree")
    for k in keys:
        os.makedirs(os.path.dirname(os.path.join(root, k)) or root, exist_ok=True)
        open(os.path.join(root, k), "w").write(k)
    check(jfs("--meta", META, "cp", "-r", root, "jfs:/lst").returncode == 0, "jfs cp -r tree")
    want = sorted("lst/" + k for k in keys)
    got = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix="lst/", PaginationConfig={"PageSize": 250}):
        got += [o["Key"] for o in page.get("Contents", [])]
    check(got == want, "ListObjectsV2 across pages: %d keys vs %d" % (len(got), len(want)))
    got = []
    for page in s3.get_paginator("list_objects").paginate(Bucket=b, Prefix="lst/", PaginationConfig={"PageSize": 333}):
        got += [o["Key"] for o in page.get("Contents", [])]
    check(got == want, "ListObjects v1 across pages")
    r = s3.list_objects_v2(Bucket=b, Prefix="lst/", Delimiter="/")
    check([p["Prefix"] for p in r.get("CommonPrefixes", [])] == ["lst/d0/", "lst/d1/", "lst/d2/"], "delimiter prefixes %r" % r.get("CommonPrefixes"))
    check([o["Key"] for o in r.get("Contents", [])] == ["lst/d1x", "lst/top1", "lst/top2"], "delimiter contents")
    # pages of size 2 with delimiter
    items = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix="lst/", Delimiter="/", PaginationConfig={"PageSize": 2}):
        items += [p["Prefix"] for p in page.get("CommonPrefixes", [])] + [o["Key"] for o in page.get("Contents", [])]
    check(sorted(items) == ["lst/d0/", "lst/d1/", "lst/d1x", "lst/d2/", "lst/top1", "lst/top2"], "delimiter across pages %r" % items)
    r = s3.list_objects_v2(Bucket=b, Prefix="lst/d1/f03", StartAfter="lst/d1/f0350", MaxKeys=1000)
    check([o["Key"] for o in r["Contents"]] == ["lst/d1/f%04d" % i for i in range(351, 400)], "prefix + start-after")
    r = s3.list_objects(Bucket=b, Prefix="lst/d2/", Marker="lst/d2/f0397")
    check([o["Key"] for o in r["Contents"]] == ["lst/d2/f0398", "lst/d2/f0399"], "marker")
    r = s3.list_objects_v2(Bucket=b, Prefix="lst/", MaxKeys=0)
    check(r["KeyCount"] == 0, "max-keys 0")
    r = s3.list_objects_v2(Bucket=b, Prefix="nothing/")
    check(r["KeyCount"] == 0 and not r["IsTruncated"], "missing prefix lists nothing")
    # encoding-type=url (boto3 decodes it back)
    s3.put_object(Bucket=b, Key="enc/a b+c", Body=b"")
    r = s3.list_objects_v2(Bucket=b, Prefix="enc/", EncodingType="url")
    check([urllib.parse.unquote_plus(o["Key"]) for o in r["Contents"]] == ["enc/a b+c"] and "%" in r["Contents"][0]["Key"],
          "encoding-type=url %r" % r["Contents"])
    # a directory big enough for the gateway to keep its sorted listing between pages: changes
    # made between two listings (through S3 and through the library) show in the second one
    big = os.path.join(TMP, "bigtree", "big")
    os.makedirs(big)
    for i in range(1500):
        open(os.path.join(big, "k%05d" % (i * 2)), "w").close()
    check(jfs("--meta", META, "cp", "-r", os.path.dirname(big), "jfs:/bl").returncode == 0, "jfs cp -r big")

    def list_big(page):
        keys = []
        for pg in s3.get_paginator("list_objects_v2").paginate(Bucket=b, Prefix="bl/big/", PaginationConfig={"PageSize": page}):
            keys += [o["Key"] for o in pg.get("Contents", [])]
        return keys
    want = ["bl/big/k%05d" % (i * 2) for i in range(1500)]
    check(list_big(400) == want, "big directory across pages")
    r = s3.list_objects_v2(Bucket=b, Prefix="bl/big/k0100", MaxKeys=3)
    check([o["Key"] for o in r["Contents"]] == ["bl/big/k01000", "bl/big/k01002", "bl/big/k01004"], "big dir prefix %r" % r["Contents"])
    s3.put_object(Bucket=b, Key="bl/big/k00001", Body=b"new")
    s3.delete_object(Bucket=b, Key="bl/big/k00000")
    check(jfs("--meta", META, "rm", "jfs:/bl/big/k00002").returncode == 0, "jfs rm")
    want = ["bl/big/k00001"] + want[2:]
    got = list_big(700)
    check(got == want, "changes show in the next listing: %r" % got[:4])
    # the work directory never shows
    r = s3.list_objects_v2(Bucket=b, Delimiter="/")
    check(not any(p["Prefix"].startswith(".jfs") for p in r.get("CommonPrefixes", [])), "work dir hidden")


def test_multipart(s3):
    b = VOL
    part = 5 << 20
    data = os.urandom(2 * part + 12345)
    up = s3.create_multipart_upload(Bucket=b, Key="mp/big.bin", ContentType="video/x", Metadata={"m": "1"})
    uid = up["UploadId"]
    check(any(u["UploadId"] == uid for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", [])), "ListMultipartUploads")
    etags = []
    for i in range(3):
        r = s3.upload_part(Bucket=b, Key="mp/big.bin", UploadId=uid, PartNumber=i + 1, Body=data[i * part:(i + 1) * part])
        etags.append(r["ETag"])
    lp = s3.list_parts(Bucket=b, Key="mp/big.bin", UploadId=uid)
    check([p["PartNumber"] for p in lp["Parts"]] == [1, 2, 3] and lp["Parts"][2]["Size"] == 12345, "ListParts")
    check(err_code(lambda: s3.complete_multipart_upload(Bucket=b, Key="mp/big.bin", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]})) == "InvalidPartOrder", "parts out of order")
    check(err_code(lambda: s3.complete_multipart_upload(Bucket=b, Key="mp/big.bin", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": '"00000000000000000000000000000000"'}]})) == "InvalidPart", "wrong part ETag")
    check(err_code(lambda: s3.head_object(Bucket=b, Key="mp/big.bin")) == "404", "nothing visible before completion")
    r = s3.complete_multipart_upload(Bucket=b, Key="mp/big.bin", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": i + 1, "ETag": etags[i]} for i in range(3)]})
    want = hashlib.md5(b"".join(bytes.fromhex(e.strip('"')) for e in etags)).hexdigest() + "-3"
    check(r["ETag"] == '"%s"' % want, "multipart ETag MD5-of-MD5s-N")
    check(lib_cat("/mp/big.bin") == data, "multipart object is the file")
    h = s3.head_object(Bucket=b, Key="mp/big.bin")
    check(h["ContentType"] == "video/x" and h["Metadata"] == {"m": "1"}, "multipart metadata")
    check(err_code(lambda: s3.list_parts(Bucket=b, Key="mp/big.bin", UploadId=uid)) == "NoSuchUpload", "upload gone after completion")
    # Parts of one size are written in place into the upload's data file; completion then keeps
    # that file. Uploaded last part first, a part re-uploaded with other bytes, a part past the
    # listed ones (dropped), and a completion with a gap (parts copied instead).
    d2 = os.urandom(3 * part + 777)
    def upload(key, order, extra=()):
        uid = s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
        et = {}
        for n in order:
            et[n] = s3.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=n, Body=d2[(n - 1) * part:n * part])["ETag"]
        for n, body in extra:
            et[n] = s3.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=n, Body=body)["ETag"]
        return uid, et
    uid, et = upload("mp/rev.bin", [4, 3, 2, 1], [(2, b"z" * part), (5, b"q" * part)])
    lp = s3.list_parts(Bucket=b, Key="mp/rev.bin", UploadId=uid)
    check([(p["PartNumber"], p["Size"]) for p in lp["Parts"]] == [(1, part), (2, part), (3, part), (4, 777), (5, part)], "ListParts sizes %r" % lp["Parts"])
    et[2] = s3.upload_part(Bucket=b, Key="mp/rev.bin", UploadId=uid, PartNumber=2, Body=d2[part:2 * part])["ETag"]  # right bytes again
    s3.complete_multipart_upload(Bucket=b, Key="mp/rev.bin", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": n, "ETag": et[n]} for n in (1, 2, 3, 4)]})
    check(lib_cat("/mp/rev.bin") == d2, "in-place multipart (last part first, re-upload, extra part)")
    uid, et = upload("mp/gap.bin", [1, 2, 4])
    s3.complete_multipart_upload(Bucket=b, Key="mp/gap.bin", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": n, "ETag": et[n]} for n in (1, 2, 4)]})
    check(lib_cat("/mp/gap.bin") == d2[:2 * part] + d2[3 * part:], "multipart with a gap in part numbers")
    uid, et = upload("mp/mixed.bin", [1], [(2, b"s" * (part + 1)), (3, b"t" * 10)])
    s3.complete_multipart_upload(Bucket=b, Key="mp/mixed.bin", UploadId=uid, MultipartUpload={"Parts": [
        {"PartNumber": n, "ETag": et[n]} for n in (1, 2, 3)]})
    check(lib_cat("/mp/mixed.bin") == d2[:part] + b"s" * (part + 1) + b"t" * 10, "multipart with a longer middle part")
    # too-small parts, upload part copy, abort
    up = s3.create_multipart_upload(Bucket=b, Key="mp/small")
    e1 = s3.upload_part(Bucket=b, Key="mp/small", UploadId=up["UploadId"], PartNumber=1, Body=b"x" * 100)["ETag"]
    e2 = s3.upload_part_copy(Bucket=b, Key="mp/small", UploadId=up["UploadId"], PartNumber=2,
                             CopySource={"Bucket": b, "Key": "mp/big.bin"}, CopySourceRange="bytes=0-99")["CopyPartResult"]["ETag"]
    check(e2 == '"%s"' % hashlib.md5(data[:100]).hexdigest(), "UploadPartCopy ETag")
    check(err_code(lambda: s3.complete_multipart_upload(Bucket=b, Key="mp/small", UploadId=up["UploadId"], MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})) == "EntityTooSmall", "EntityTooSmall")
    s3.abort_multipart_upload(Bucket=b, Key="mp/small", UploadId=up["UploadId"])
    check(err_code(lambda: s3.list_parts(Bucket=b, Key="mp/small", UploadId=up["UploadId"])) == "NoSuchUpload", "abort")
    # invalid XML in CompleteMultipartUpload (raw request signed by botocore)
    up = s3.create_multipart_upload(Bucket=b, Key="mp/xml")
    s3.upload_part(Bucket=b, Key="mp/xml", UploadId=up["UploadId"], PartNumber=1, Body=b"y")
    code = raw_request(s3, "POST", "/%s/mp/xml" % b, {"uploadId": up["UploadId"]}, b"<CompleteMultipartUpload><Part>")
    check(code[0] == 400 and b"MalformedXML" in code[1], "invalid XML → MalformedXML")
    check(err_code(lambda: s3.head_object(Bucket=b, Key="mp/xml")) == "404", "nothing written after bad XML")


def raw_request(s3, method, path, query, body, headers=None, send_body=None):
    """A request signed with SigV4 by botocore, sent with http.client (bodies botocore won't build)."""
    import http.client
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    port = int(s3.meta.endpoint_url.rsplit(":", 1)[1])
    url = "http://127.0.0.1:%d%s" % (port, urllib.parse.quote(path))
    if query:
        url += "?" + urllib.parse.urlencode(query)
    req = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    S3SigV4Auth(botocore.credentials.Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, url[len("http://127.0.0.1:%d" % port):], body=body if send_body is None else send_body,
                 headers=dict(req.headers))
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


def streaming_put(port, key, payload, chunk=65536, tamper=False, decoded_len=None):
    """PUT with STREAMING-AWS4-HMAC-SHA256-PAYLOAD, signed by hand (as the AWS SDKs do)."""
    import http.client
    amz = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    scope = "%s/us-east-1/s3/aws4_request" % amz[:8]
    path = "/%s/%s" % (VOL, urllib.parse.quote(key))
    chunks = [payload[i:i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    body_len = sum(len("%x;chunk-signature=" % len(c)) + 64 + 2 + len(c) + 2 for c in chunks)
    hdrs = {"host": "127.0.0.1:%d" % port, "x-amz-date": amz,
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            "x-amz-decoded-content-length": str(decoded_len if decoded_len is not None else len(payload)),
            "content-encoding": "aws-chunked", "content-length": str(body_len)}
    names = sorted(hdrs)
    creq = "\n".join(["PUT", path, "", *("%s:%s" % (n, hdrs[n]) for n in names), "", ";".join(names),
                      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, hashlib.sha256(creq.encode()).hexdigest()])
    k = ("AWS4" + SK).encode()
    for m in (amz[:8], "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    hdrs["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (AK, scope, ";".join(names), sig)
    body = b""
    prev = sig
    empty = hashlib.sha256(b"").hexdigest()
    for i, c in enumerate(chunks):
        s = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz, scope, prev, empty, hashlib.sha256(c).hexdigest()])
        prev = hmac.new(k, s.encode(), hashlib.sha256).hexdigest()
        if tamper and i == 1:
            c = b"X" + c[1:]
        body += b"%x;chunk-signature=%s\r\n" % (len(c), prev.encode()) + c + b"\r\n"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("PUT", path, body=body, headers=hdrs)
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


def test_bad(s3, port):
    b = VOL
    wrong = client(port, sk="wrong-secret")
    check(err_code(lambda: wrong.put_object(Bucket=b, Key="bad/wrong", Body=b"x")) == "SignatureDoesNotMatch", "wrong secret")
    check(err_code(lambda: client(port, ak="nobody").list_buckets()) == "InvalidAccessKeyId", "unknown access key")
    check(lib_cat("/bad/wrong") is None, "nothing written with a wrong signature")
    # payload hash mismatch: signed for one body, another sent
    st, body = raw_request(s3, "PUT", "/%s/bad/hash" % b, None, b"good", send_body=b"evil")
    check(st == 400 and b"XAmzContentSHA256Mismatch" in body, "payload hash verified: %d %r" % (st, body[:120]))
    check(lib_cat("/bad/hash") is None, "nothing written on hash mismatch")
    st, body = raw_request(s3, "PUT", "/%s/bad/md5" % b, None, b"data", {"Content-MD5": base64.b64encode(hashlib.md5(b"x").digest()).decode()})
    check(st == 400 and b"BadDigest" in body, "Content-MD5 verified")
    for key in ["a/../b", "../etc", "a//b", "./x"]:
        st, body = raw_request(s3, "PUT", "/%s/%s" % (b, key), None, b"x")
        check(st == 400 and b"InvalidArgument" in body, "bad key %r refused: %d" % (key, st))
    st, body = raw_request(s3, "PUT", "/%s/nul\0key" % b, None, b"x")
    check(st == 400, "NUL in key refused")
    st, body = raw_request(s3, "PUT", "/%s/.jfs-gateway/tmp/x" % b, None, b"x")
    check(st == 403, "work directory not writable")
    r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": ".jfs-gateway/tmp"}, {"Key": ".jfs-gateway"}]})
    check(len(r.get("Errors", [])) == 2 and jfs("--meta", META, "stat", "jfs:/.jfs-gateway/tmp").returncode == 0,
          "DeleteObjects cannot touch the work directory")
    check(err_code(lambda: s3.copy_object(Bucket=b, Key="stolen", CopySource={"Bucket": b, "Key": ".jfs-gateway/x"})) == "InvalidArgument",
          "CopyObject cannot read the work directory")
    # streaming (aws-chunked) uploads
    payload = os.urandom(200000)
    st, body = streaming_put(port, "chunked/ok.bin", payload)
    check(st == 200 and lib_cat("/chunked/ok.bin") == payload, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload: %d %r" % (st, body[:200]))
    st, body = streaming_put(port, "chunked/bad.bin", payload, tamper=True)
    check(st == 403 and b"SignatureDoesNotMatch" in body and lib_cat("/chunked/bad.bin") is None, "tampered chunk refused")
    st, body = streaming_put(port, "chunked/len.bin", payload, decoded_len=len(payload) + 1)
    check(st == 400 and lib_cat("/chunked/len.bin") is None, "decoded length mismatch refused")
    # a body shorter than Content-Length: the client gives up; nothing appears
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"PUT /%s/short HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n"
                 b"Authorization: AWS4-HMAC-SHA256 Credential=%s/20200101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00\r\n\r\nabc" % (b.encode(), AK.encode()))
    sock.shutdown(socket.SHUT_WR)
    resp = sock.recv(4096)
    sock.close()
    check(b" 200 " not in resp.split(b"\r\n")[0], "short body not accepted")
    # short body with a valid signature (UNSIGNED-PAYLOAD): connection cut, nothing stored
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    url = "http://127.0.0.1:%d/%s/short2" % (port, b)
    req = AWSRequest(method="PUT", url=url, data=b"x" * 1000, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    S3SigV4Auth(botocore.credentials.Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
    sock = socket.create_connection(("127.0.0.1", port))
    head = "PUT /%s/short2 HTTP/1.1\r\n" % b + "".join("%s: %s\r\n" % kv for kv in req.headers.items()) + "Content-Length: 1000\r\n\r\n"
    sock.sendall(head.encode() + b"x" * 10)
    sock.shutdown(socket.SHUT_WR)
    resp = sock.recv(4096)
    sock.close()
    time.sleep(0.3)
    check(b" 200 " not in resp.split(b"\r\n")[0] and lib_cat("/short2") is None, "short signed body: nothing written")
    check(err_code(lambda: s3.create_bucket(Bucket="other")) == "AccessDenied", "single bucket mode refuses new buckets")


def test_cli(port):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.path.join(TMP, "awsconfig"), AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    open(env["AWS_CONFIG_FILE"], "w").write("[default]\ns3 =\n  multipart_threshold = 8MB\n  multipart_chunksize = 8MB\n")
    aws = shutil.which("aws", path="/usr/bin") or "aws"
    ep = ["--endpoint-url", "http://127.0.0.1:%d" % port]
    big = os.path.join(TMP, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(20 << 20))
    r = subprocess.run([aws, *ep, "s3", "cp", big, "s3://%s/cli/big.bin" % VOL], env=env, capture_output=True)
    check(r.returncode == 0, "aws s3 cp upload (multipart): %s" % r.stderr[-500:])
    back = os.path.join(TMP, "big.back")
    r = subprocess.run([aws, *ep, "s3", "cp", "s3://%s/cli/big.bin" % VOL, back], env=env, capture_output=True)
    check(r.returncode == 0 and open(back, "rb").read() == open(big, "rb").read(), "aws s3 cp download")
    check(lib_cat("/cli/big.bin") == open(big, "rb").read(), "aws upload is the file")
    r = subprocess.run([aws, *ep, "s3api", "head-object", "--bucket", VOL, "--key", "cli/big.bin"], env=env, capture_output=True)
    check(r.returncode == 0 and json.loads(r.stdout)["ETag"].endswith('-3"'), "aws multipart ETag: %s" % r.stdout[:300])
    r = subprocess.run([aws, *ep, "s3", "ls", "s3://%s/cli/" % VOL], env=env, capture_output=True)
    check(r.returncode == 0 and b"big.bin" in r.stdout, "aws s3 ls")
    src = os.path.join(TMP, "syncsrc")
    os.makedirs(os.path.join(src, "x/y"), exist_ok=True)
    for i in range(20):
        open(os.path.join(src, "x/y" if i % 2 else "x", "f%d" % i), "w").write(str(i))
    r = subprocess.run([aws, *ep, "s3", "sync", src, "s3://%s/sync/" % VOL], env=env, capture_output=True)
    check(r.returncode == 0 and lib_cat("/sync/x/y/f3") == b"3", "aws s3 sync")
    r = subprocess.run([aws, *ep, "s3", "rm", "--recursive", "s3://%s/sync/" % VOL], env=env, capture_output=True)
    check(r.returncode == 0 and jfs("--meta", META, "stat", "jfs:/sync").returncode != 0, "aws s3 rm --recursive removes dirs")
    r = subprocess.run([aws, *ep, "s3api", "get-object", "--bucket", VOL, "--key", "cli/big.bin", "--range", "bytes=100-199", os.path.join(TMP, "rng")], env=env, capture_output=True)
    check(r.returncode == 0 and open(os.path.join(TMP, "rng"), "rb").read() == open(big, "rb").read()[100:200], "aws range get")


def test_multi_buckets():
    p, port = start_gateway(["--multi-buckets"])
    try:
        s3 = client(port)
        s3.create_bucket(Bucket="alpha")
        check(err_code(lambda: s3.create_bucket(Bucket="alpha")) == "BucketAlreadyOwnedByYou", "bucket exists")
        check(err_code(lambda: s3.create_bucket(Bucket="Bad_Name")) == "InvalidBucketName", "invalid bucket name")
        s3.put_object(Bucket="alpha", Key="k/v", Body=b"1")
        check(lib_cat("/alpha/k/v") == b"1", "bucket is a top-level directory")
        names = [x["Name"] for x in s3.list_buckets()["Buckets"]]
        check("alpha" in names and ".jfs-gateway" not in names, "ListBuckets %r" % names)
        check(err_code(lambda: s3.delete_bucket(Bucket="alpha")) == "BucketNotEmpty", "BucketNotEmpty")
        s3.delete_object(Bucket="alpha", Key="k/v")
        s3.delete_bucket(Bucket="alpha")
        check(err_code(lambda: s3.head_bucket(Bucket="alpha")) == "404", "bucket deleted")
    finally:
        stop_gateway(p)


def test_tls():
    cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True)
    check(r.returncode == 0, "openssl req: %s" % r.stderr[-300:])
    p, port = start_gateway(["--tls-cert", cert, "--tls-key", key])
    try:
        s3 = boto3.client("s3", endpoint_url="https://127.0.0.1:%d" % port, aws_access_key_id=AK,
                          aws_secret_access_key=SK, region_name="us-east-1", verify=cert,
                          config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
        s3.put_object(Bucket=VOL, Key="tls/x", Body=b"over tls")
        check(s3.get_object(Bucket=VOL, Key="tls/x")["Body"].read() == b"over tls", "HTTPS round trip")
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:%d/" % port], capture_output=True)
        check(out.stdout != b"200", "plain HTTP on the TLS port does not work")
    finally:
        stop_gateway(p)


def test_timeout():
    """A client that stalls mid-body is cut off after --timeout; its upload leaves nothing."""
    p, port = start_gateway(["--timeout", "1"])
    try:
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        url = "http://127.0.0.1:%d/%s/slow" % (port, VOL)
        req = AWSRequest(method="PUT", url=url, data=b"x" * 1000, headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        S3SigV4Auth(botocore.credentials.Credentials(AK, SK), "s3", "us-east-1").add_auth(req)
        sock = socket.create_connection(("127.0.0.1", port))
        sock.settimeout(30)
        head = "PUT /%s/slow HTTP/1.1\r\n" % VOL + "".join("%s: %s\r\n" % kv for kv in req.headers.items()) + "Content-Length: 1000\r\n\r\n"
        sock.sendall(head.encode() + b"x" * 10)
        try:
            got = sock.recv(4096)
            closed = b" 200 " not in got[:20]
        except ConnectionResetError:
            closed = True
        except socket.timeout:
            closed = False
        sock.close()
        check(closed, "stalled upload closed by the server")
        check(lib_cat("/slow") is None, "stalled upload left nothing")
    finally:
        stop_gateway(p)


def make_tree(root):
    """A tree of files for the sync tests: empty, small, multipart-sized, odd names, nesting."""
    files = {
        "empty": b"",
        "small.txt": b"hello gateway\n",
        "dir one/space name.txt": b"spaces",
        "dir one/ünïcödé.bin": os.urandom(1000),
        "deep/a/b/c/d.dat": os.urandom(70000),
        "deep/a/plus+sign&amp.txt": b"plus",
        "big.bin": os.urandom(12 << 20),
    }
    for i in range(30):
        files["many/f%03d" % i] = str(i).encode() * (i + 1)
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
    return files


def read_tree(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            path = os.path.join(d, n)
            out[os.path.relpath(path, root)] = open(path, "rb").read()
    return out


def test_rclone(port):
    """rclone (the Debian package) syncs a tree into the gateway and back; the library sees it."""
    env = dict(os.environ, RCLONE_CONFIG=os.path.join(TMP, "rclone.conf"))
    env.pop("AWS_CA_BUNDLE", None)  # plain HTTP; rclone 1.60 fails on a CA bundle with its transport
    open(env["RCLONE_CONFIG"], "w").write(
        "[gw]\ntype = s3\nprovider = Other\naccess_key_id = %s\nsecret_access_key = %s\n"
        "endpoint = http://127.0.0.1:%d\nregion = us-east-1\nforce_path_style = true\n" % (AK, SK, port))
    # small cut-off and chunks so big.bin goes up as a multipart upload of 3 parts
    opts = ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--transfers", "4", "--retries", "1",
            "--low-level-retries", "1"]

    def rclone(*args):
        r = subprocess.run(["/usr/bin/rclone", *opts, *args], env=env, capture_output=True)
        check(r.returncode == 0, "rclone %s: %s" % (" ".join(args), r.stderr[-800:]))
        return r

    src, back = os.path.join(TMP, "rc-src"), os.path.join(TMP, "rc-back")
    files = make_tree(src)
    rclone("sync", src, "gw:%s/rc" % VOL)
    for rel, data in files.items():
        check(lib_cat("/rc/" + rel) == data, "rclone upload of %r is the file for the library" % rel)
    rclone("check", src, "gw:%s/rc" % VOL)
    listed = json.loads(rclone("lsjson", "-R", "--files-only", "gw:%s/rc" % VOL).stdout or b"[]")
    check(sorted(x["Path"] for x in listed) == sorted(files), "rclone lsjson lists the tree: %r" % sorted(x["Path"] for x in listed)[:8])
    check(all(x["Size"] == len(files[x["Path"]]) for x in listed if x["Path"] in files), "rclone lsjson sizes")
    rclone("sync", "gw:%s/rc" % VOL, back)
    check(read_tree(back) == files, "rclone sync back returns the same tree")
    # a second sync after local changes: changed, new and deleted files, server-side move
    os.remove(os.path.join(src, "many/f007"))
    open(os.path.join(src, "small.txt"), "wb").write(b"changed")
    open(os.path.join(src, "deep/new.txt"), "wb").write(b"new")
    rclone("sync", src, "gw:%s/rc" % VOL)
    check(lib_cat("/rc/many/f007") is None, "rclone sync deletes on the volume")
    check(lib_cat("/rc/small.txt") == b"changed" and lib_cat("/rc/deep/new.txt") == b"new", "rclone sync updates")
    rclone("moveto", "gw:%s/rc/dir one/space name.txt" % VOL, "gw:%s/rc/moved/space name.txt" % VOL)
    check(lib_cat("/rc/moved/space name.txt") == b"spaces" and lib_cat("/rc/dir one/space name.txt") is None,
          "rclone moveto (server-side copy + delete)")
    # files written through the library are seen by rclone
    r = jfs("--meta", META, "cp", os.path.join(src, "small.txt"), "jfs:/rc/fromlib.txt")
    check(r.returncode == 0, "jfs cp: %s" % r.stderr[-300:])
    check(rclone("cat", "gw:%s/rc/fromlib.txt" % VOL).stdout == b"changed", "rclone reads a file the library wrote")
    rclone("purge", "gw:%s/rc" % VOL)
    check(jfs("--meta", META, "stat", "jfs:/rc").returncode != 0, "rclone purge removes the tree and its dirs")


def test_s3fs(port):
    """s3fs (the Debian package) mounts the gateway; files written there are files of the volume."""
    mnt = os.path.join(TMP, "s3fs-mnt")
    os.makedirs(mnt)
    pw = os.path.join(TMP, "s3fs.passwd")
    open(pw, "w").write("%s:%s\n" % (AK, SK))
    os.chmod(pw, 0o600)
    r = subprocess.run(["/usr/bin/s3fs", VOL, mnt, "-o", "passwd_file=" + pw, "-o", "url=http://127.0.0.1:%d" % port,
                        "-o", "use_path_request_style", "-o", "sigv4", "-o", "endpoint=us-east-1",
                        "-o", "stat_cache_expire=0", "-o", "enable_noobj_cache", "-o", "dbglevel=warn",
                        "-o", "logfile=" + os.path.join(TMP, "s3fs.log")], capture_output=True)
    check(r.returncode == 0, "s3fs mount: %s" % r.stderr[-500:])
    if r.returncode != 0:
        return
    try:
        for _ in range(100):
            if os.path.ismount(mnt):
                break
            time.sleep(0.1)
        check(os.path.ismount(mnt), "s3fs mounted")
        data = os.urandom(3 << 20)
        os.makedirs(os.path.join(mnt, "fs/sub"))
        with open(os.path.join(mnt, "fs/sub/a.bin"), "wb") as f:
            f.write(data)
        with open(os.path.join(mnt, "fs/b.txt"), "w") as f:
            f.write("bee")
        check(lib_cat("/fs/sub/a.bin") == data, "file written through s3fs is the file for the library")
        check(sorted(os.listdir(os.path.join(mnt, "fs"))) == ["b.txt", "sub"], "s3fs lists: %r" % os.listdir(os.path.join(mnt, "fs")))
        os.rename(os.path.join(mnt, "fs/b.txt"), os.path.join(mnt, "fs/sub/c.txt"))
        check(lib_cat("/fs/sub/c.txt") == b"bee" and lib_cat("/fs/b.txt") is None, "rename through s3fs")
        with open(os.path.join(mnt, "fs/sub/c.txt"), "a") as f:
            f.write("-more")
        check(lib_cat("/fs/sub/c.txt") == b"bee-more", "append through s3fs")
        r = jfs("--meta", META, "cp", "/etc/hostname", "jfs:/fs/fromlib")
        check(r.returncode == 0 and open(os.path.join(mnt, "fs/fromlib"), "rb").read() == open("/etc/hostname", "rb").read(),
              "s3fs reads a file the library wrote")
        check(open(os.path.join(mnt, "fs/sub/a.bin"), "rb").read() == data, "read back through s3fs")
        os.remove(os.path.join(mnt, "fs/sub/a.bin"))
        os.remove(os.path.join(mnt, "fs/sub/c.txt"))
        os.rmdir(os.path.join(mnt, "fs/sub"))
        os.remove(os.path.join(mnt, "fs/fromlib"))
        check(lib_cat("/fs/sub/a.bin") is None, "delete through s3fs")
        check(jfs("--meta", META, "stat", "jfs:/fs/sub").returncode != 0, "rmdir through s3fs")
    finally:
        u = subprocess.run(["fusermount", "-u", mnt], capture_output=True)
        if u.returncode != 0:
            subprocess.run(["umount", "-l", mnt], capture_output=True)


def main():
    r = jfs("format", META, VOL, "--storage", "file", "--bucket", os.path.join(TMP, "data"))
    if r.returncode != 0:
        raise SystemExit("format failed: %s" % r.stderr)
    os.environ["JFS_META_URL"] = META
    p, port = start_gateway()
    try:
        s3 = client(port)
        if GROUPS & {"all", "basic"}:
            test_basic(s3)
        if GROUPS & {"all", "list"}:
            test_list(s3)
        if GROUPS & {"all", "multipart"}:
            test_multipart(s3)
        if GROUPS & {"all", "bad"}:
            test_bad(s3, port)
        if GROUPS & {"all", "cli"}:
            test_cli(port)
        if GROUPS & {"all", "rclone"}:
            test_rclone(port)
        if GROUPS & {"all", "s3fs"}:
            test_s3fs(port)
    finally:
        stop_gateway(p)
    if GROUPS & {"all", "buckets"}:
        test_multi_buckets()
    if GROUPS & {"all", "timeout"}:
        test_timeout()
    if GROUPS & {"all", "tls"}:
        test_tls()
    # MINIO_ROOT_USER / MINIO_ROOT_PASSWORD as credentials
    if GROUPS & {"all", "basic"}:
        p, port = start_gateway(env={"MINIO_ROOT_USER": "minio", "MINIO_ROOT_PASSWORD": "minio-pass"})
        try:
            check([x["Name"] for x in client(port, ak="minio", sk="minio-pass").list_buckets()["Buckets"]] == [VOL], "MINIO_ROOT_* credentials")
        finally:
            stop_gateway(p)
    if failures:
        print("%d check(s) failed; gateway log: %s" % (len(failures), os.path.join(TMP, "gateway.log")))
        sys.exit(1)
    shutil.rmtree(TMP, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()
