// SigV4 against published AWS examples and botocore known answers, the S3 XML parsers, and the
// retry classification of S3 responses. No server needed.
#include <catch2/catch.hpp>

#include "object/s3_store.h"
#include "object/sigv4.h"

using jfs::Status;
namespace sigv4 = jfs::object::sigv4;
namespace s3i = jfs::object::s3internal;

TEST_CASE("SHA-256, HMAC, URI encoding and CRC-32C helpers", "[sigv4]") {
  CHECK(sigv4::Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sigv4::Sha256Hex("hello world") ==
        "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  // RFC 4231 test case 2.
  CHECK(sigv4::Hex(sigv4::HmacSha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(sigv4::UriEncode("a b/ü+x=y&%~_-.", true) == "a%20b/%C3%BC%2Bx%3Dy%26%25~_-.");
  CHECK(sigv4::UriEncode("a/b", false) == "a%2Fb");
  CHECK(sigv4::Crc32c("123456789") == 0xE3069283u);  // the CRC-32C check value
  CHECK(sigv4::Crc32c("") == 0u);
  CHECK(sigv4::Crc32c("6789", sigv4::Crc32c("12345")) == 0xE3069283u);
  CHECK(sigv4::Crc32cPortable("123456789") == 0xE3069283u);
  CHECK(sigv4::Crc32cPortable("6789", sigv4::Crc32cPortable("12345")) == 0xE3069283u);
  // The hardware and table versions agree on every length and alignment (the 8-byte loops and
  // the byte tails), and HashPayload gives the same digests as the separate functions.
  std::string data;
  for (int i = 0; i < 200000; ++i) data += static_cast<char>((i * 131 + i / 7) & 0xff);
  for (size_t off : {0, 1, 3, 7}) {
    for (size_t len : {0, 1, 7, 8, 9, 15, 64, 1000, 131072 + 5}) {
      std::string_view v(data.data() + off, len);
      CHECK(sigv4::Crc32c(v) == sigv4::Crc32cPortable(v));
    }
  }
  std::string hex;
  uint32_t crc = 0;
  sigv4::HashPayload(data, &hex, &crc);
  CHECK(hex == sigv4::Sha256Hex(data));
  CHECK(crc == sigv4::Crc32cPortable(data));
  sigv4::HashPayload("", &hex, &crc);
  CHECK(hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(crc == 0u);
}

// AWS General Reference, "Signature Version 4 signing process" example (IAM ListUsers).
TEST_CASE("SigV4: the AWS documentation's IAM example", "[sigv4]") {
  sigv4::Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.query = {{"Version", "2010-05-08"}, {"Action", "ListUsers"}};
  r.headers = {{"Host", "iam.amazonaws.com"},
               {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"X-Amz-Date", "20150830T123600Z"}};
  r.payload_hash = sigv4::Sha256Hex("");
  std::string signed_headers;
  CHECK(sigv4::CanonicalRequest(r, &signed_headers) ==
        "GET\n/\nAction=ListUsers&Version=2010-05-08\n"
        "content-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
        "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sigv4::StringToSign(r, "20150830T123600Z", "us-east-1", "iam") ==
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
  CHECK(sigv4::Hex(sigv4::SigningKey("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20150830",
                                     "us-east-1", "iam")) ==
        "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
  sigv4::Credentials c{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  CHECK(sigv4::Authorization(r, c, "20150830T123600Z", "us-east-1", "iam") ==
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
}

// Amazon S3 API Reference, "Signature calculations for the Authorization header" examples.
TEST_CASE("SigV4: the S3 documentation's GET object and list examples", "[sigv4]") {
  sigv4::Credentials c{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
  const std::string empty = sigv4::Sha256Hex("");
  sigv4::Request get;
  get.method = "GET";
  get.canonical_uri = "/test.txt";
  get.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                 {"Range", "bytes=0-9"},
                 {"x-amz-content-sha256", empty},
                 {"x-amz-date", "20130524T000000Z"}};
  get.payload_hash = empty;
  CHECK(sigv4::Authorization(get, c, "20130524T000000Z", "us-east-1", "s3") ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");

  sigv4::Request list;
  list.method = "GET";
  list.canonical_uri = "/";
  list.query = {{"max-keys", "2"}, {"prefix", "J"}};
  list.headers = {{"Host", "examplebucket.s3.amazonaws.com"},
                  {"x-amz-content-sha256", empty},
                  {"x-amz-date", "20130524T000000Z"}};
  list.payload_hash = empty;
  CHECK(sigv4::Authorization(list, c, "20130524T000000Z", "us-east-1", "s3") ==
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

// Known answers produced once with botocore 1.43 (botocore.auth.S3SigV4Auth) for requests shaped
// like the ones S3Store sends: escaped keys, a session token, metadata, list and multipart queries.
TEST_CASE("SigV4: botocore known answers", "[sigv4]") {
  const std::string date = "20261127T151842Z";
  const std::string empty = sigv4::Sha256Hex("");
  struct Case {
    std::string method, uri;
    std::vector<std::pair<std::string, std::string>> query, headers;
    std::string body;
    sigv4::Credentials creds;
    std::string region, signed_headers, signature;
  };
  std::vector<Case> cases = {
      {"GET",
       "/bucket/a%20b/%C3%BCn%C3%AF%2Bx%3Dy%26%25.txt",
       {},
       {{"Host", "127.0.0.1:14569"}, {"Range", "bytes=100-199"}},
       "",
       {"S3RVER", "S3RVER", ""},
       "us-east-1",
       "host;range;x-amz-content-sha256;x-amz-date",
       "12e95ce762165efea94853511514c1fd919e639711926aa1d7b6689034c381b2"},
      {"PUT",
       "/chunks/0/0/1_0_4194304",
       {},
       {{"Host", "examplebucket.s3.eu-west-1.amazonaws.com"},
        {"x-amz-meta-crc32c", "3632233996"},
        {"X-Amz-Security-Token", "FQoGZXIvYXdzEXAMPLETOKEN/+="}},
       "hello world",
       {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "FQoGZXIvYXdzEXAMPLETOKEN/+="},
       "eu-west-1",
       "host;x-amz-content-sha256;x-amz-date;x-amz-meta-crc32c;x-amz-security-token",
       "00605c34440339dd51dcf753cb18a718b1d5a57984e2694e27201f68a2a10f54"},
      {"GET",
       "/jfs",
       {{"list-type", "2"},
        {"prefix", "vol/a b"},
        {"delimiter", "/"},
        {"max-keys", "3"},
        {"start-after", "vol/a+b=c"}},
       {{"Host", "127.0.0.1:9000"}},
       "",
       {"minioadmin", "minioadmin", ""},
       "us-east-1",
       "host;x-amz-content-sha256;x-amz-date",
       "644a060f8e74c4c32a40163fef8cec230b74d7362fb0bf98a799bff83d0f9d85"},
      {"POST",
       "/jfs/big",
       {{"uploads", ""}},
       {{"Host", "127.0.0.1:9000"}},
       "",
       {"minioadmin", "minioadmin", ""},
       "us-east-1",
       "host;x-amz-content-sha256;x-amz-date",
       "b6a9b1a93442f61a0f908be09e56fe34e4728192827bc6ff312aeb541c23c879"},
  };
  for (const auto& k : cases) {
    INFO(k.method << " " << k.uri);
    sigv4::Request r;
    r.method = k.method;
    r.canonical_uri = k.uri;
    r.query = k.query;
    r.headers = k.headers;
    r.payload_hash = sigv4::Sha256Hex(k.body);
    r.headers.emplace_back("X-Amz-Date", date);
    r.headers.emplace_back("X-Amz-Content-SHA256", r.payload_hash);
    std::string auth = sigv4::Authorization(r, k.creds, date, k.region, "s3");
    CHECK(auth == "AWS4-HMAC-SHA256 Credential=" + k.creds.access_key + "/20261127/" + k.region +
                      "/s3/aws4_request, SignedHeaders=" + k.signed_headers +
                      ", Signature=" + k.signature);
  }
  // Changing any signed input changes the signature.
  sigv4::Request r;
  r.method = "GET";
  r.canonical_uri = "/jfs";
  r.headers = {{"host", "h"}, {"x-amz-date", date}};
  r.payload_hash = empty;
  sigv4::Credentials c{"a", "b", ""};
  std::string base = sigv4::Authorization(r, c, date, "us-east-1", "s3");
  r.canonical_uri = "/jfs2";
  CHECK(sigv4::Authorization(r, c, date, "us-east-1", "s3") != base);
  r.canonical_uri = "/jfs";
  c.secret_key = "c";
  CHECK(sigv4::Authorization(r, c, date, "us-east-1", "s3") != base);
}

TEST_CASE("SigV4 canonical headers trim and join values", "[sigv4]") {
  sigv4::Request r;
  r.method = "GET";
  r.canonical_uri = "/";
  r.headers = {{"X-Amz-Meta-A", "  two   spaces  "}, {"x-amz-meta-a", "second"}, {"Host", "h"}};
  r.payload_hash = "UNSIGNED-PAYLOAD";
  std::string sh;
  CHECK(sigv4::CanonicalRequest(r, &sh) ==
        "GET\n/\n\nhost:h\nx-amz-meta-a:second,two spaces\n\nhost;x-amz-meta-a\nUNSIGNED-PAYLOAD");
  CHECK(sh == "host;x-amz-meta-a");
  CHECK(sigv4::CanonicalQuery({{"b", "x y"}, {"a", ""}, {"a/b", "~"}}) == "a=&a%2Fb=~&b=x%20y");
}

TEST_CASE("ListObjectsV2 and error XML parsing", "[s3]") {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>jfs</Name><Prefix>a/</Prefix><KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>
  <IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>
  <Contents><Key>a/x &amp; y</Key><LastModified>2026-11-27T15:00:01.500Z</LastModified>
    <ETag>"abc"</ETag><Size>12345678901</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>a/z</Key><LastModified>2026-11-27T15:00:00Z</LastModified><Size>0</Size></Contents>
  <CommonPrefixes><Prefix>a/d/</Prefix></CommonPrefixes>
</ListBucketResult>)";
  s3i::ListPage page;
  REQUIRE(s3i::ParseListV2(xml, &page).ok());
  CHECK(page.truncated);
  CHECK(page.next_token == "tok+/=");
  REQUIRE(page.objects.size() == 3);
  CHECK(page.objects[0].key == "a/x & y");
  CHECK(page.objects[0].size == 12345678901ull);
  CHECK(page.objects[0].mtime_ns == 1795791601500000000);
  CHECK(page.objects[1].size == 0);
  CHECK(page.objects[1].mtime_ns == 1795791600000000000);
  CHECK(page.objects[2].key == "a/d/");
  CHECK(page.objects[2].is_dir);

  CHECK(s3i::ParseListV2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>",
                         &page)
            .ok());
  CHECK(page.objects.empty());
  CHECK_FALSE(page.truncated);
  // Malformed documents are errors, never a silently empty listing.
  for (const char* bad : {"", "not xml", "<Other/>",
                          "<ListBucketResult><Contents><Key>k</Key><Size>x</Size>"
                          "</Contents></ListBucketResult>",
                          "<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>",
                          "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
                          "<ListBucketResult><Contents><Key>k</Key><Size>1</Size></Contents>"}) {
    INFO(bad);
    CHECK(s3i::ParseListV2(bad, &page).code() == EIO);
  }

  std::string code, msg;
  REQUIRE(
      s3i::ParseError("<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>"
                      "<Message>The request signature we calculated does not match"
                      "</Message></Error>",
                      &code, &msg));
  CHECK(code == "SignatureDoesNotMatch");
  CHECK(msg == "The request signature we calculated does not match");
  CHECK_FALSE(s3i::ParseError("", &code, &msg));
  CHECK_FALSE(s3i::ParseError("<ListBucketResult/>", &code, &msg));

  int64_t ns = 0;
  CHECK(s3i::ParseHttpDate("Fri, 27 Nov 2026 15:00:00 GMT", &ns));
  CHECK(ns == 1795791600000000000);
  CHECK_FALSE(s3i::ParseHttpDate("yesterday", &ns));
  CHECK_FALSE(s3i::ParseIso8601("2026-11-27T15:00:00", &ns));
}

TEST_CASE("S3 outcomes are classified: retry 5xx/429/SlowDown/network, never other 4xx", "[s3]") {
  auto classify = [](int curl, long http, const std::string& code) {
    return s3i::Classify(curl, "", http, code, "msg", "get k");
  };
  CHECK(classify(0, 200, "").ok());
  CHECK(classify(0, 204, "").ok());
  for (long http : {500L, 502L, 503L, 504L, 429L}) {
    INFO(http);
    Status st = classify(0, http, "");
    CHECK(st.code() == EIO);
    CHECK(st.retryable());
  }
  CHECK(classify(0, 503, "SlowDown").retryable());
  CHECK(classify(0, 400, "RequestTimeout").retryable());
  Status nf = classify(0, 404, "NoSuchKey");
  CHECK(nf.code() == ENOENT);
  CHECK_FALSE(nf.retryable());
  for (const char* code : {"AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId"}) {
    Status st = classify(0, 403, code);
    CHECK(st.code() == EACCES);
    CHECK_FALSE(st.retryable());
    CHECK(st.message().find(code) != std::string::npos);
  }
  for (long http : {400L, 405L, 409L, 411L, 416L}) {
    INFO(http);
    Status st = classify(0, http, "Whatever");
    CHECK(st.code() == EIO);
    CHECK_FALSE(st.retryable());
  }
  // libcurl failures: timeouts, resets, truncated bodies are retried; bad URLs are not.
  for (int c : {7 /*COULDNT_CONNECT*/, 18 /*PARTIAL_FILE*/, 28 /*OPERATION_TIMEDOUT*/,
                52 /*GOT_NOTHING*/, 55 /*SEND_ERROR*/, 56 /*RECV_ERROR*/}) {
    INFO(c);
    CHECK(classify(c, 0, "").retryable());
  }
  CHECK(classify(3 /*URL_MALFORMAT*/, 0, "").code() == EINVAL);
  CHECK_FALSE(classify(60 /*PEER_FAILED_VERIFICATION*/, 0, "").retryable());
}

TEST_CASE("S3 bucket URLs: path style, virtual-hosted, minio", "[s3]") {
  jfs::object::S3Options o;
  REQUIRE(jfs::object::ParseS3Bucket("http://127.0.0.1:14569/jfs", false, &o).ok());
  CHECK(o.endpoint == "http://127.0.0.1:14569");
  CHECK(o.bucket == "jfs");
  CHECK(o.path_style);
  o = {};
  REQUIRE(
      jfs::object::ParseS3Bucket("https://mybucket.s3.eu-central-1.amazonaws.com", false, &o).ok());
  CHECK(o.endpoint == "https://mybucket.s3.eu-central-1.amazonaws.com");
  CHECK(o.bucket == "mybucket");
  CHECK_FALSE(o.path_style);
  CHECK(o.region == "eu-central-1");
  o = {};
  REQUIRE(jfs::object::ParseS3Bucket("https://s3.us-west-2.amazonaws.com/b1/", false, &o).ok());
  CHECK(o.bucket == "b1");
  CHECK(o.region == "us-west-2");
  CHECK(o.path_style);
  o = {};
  CHECK(jfs::object::ParseS3Bucket("http://minio:9000", true, &o).code() == EINVAL);
  for (const char* bad : {"", "jfs", "ftp://h/b", "http:///b", "http://h/b/extra", "http://host"}) {
    INFO(bad);
    o = {};
    CHECK(jfs::object::ParseS3Bucket(bad, false, &o).code() == EINVAL);
  }
}
