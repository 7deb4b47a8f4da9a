// The gateway's SigV4 verifier and aws-chunked decoder against the published AWS example
// ("Signature Calculations for the Authorization Header: Transferring Payload in Multiple
// Chunks"), requests signed by the client-side signer, presigned URLs, and the key rules.
#include <catch2/catch.hpp>

#include "object/sigv4.h"
#include "server/s3/auth.h"
#include "server/s3/names.h"

namespace s3 = jfs::server::s3;
namespace http = jfs::server::http;
namespace sigv4 = jfs::object::sigv4;

namespace {

const s3::Credentials kAws{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
constexpr int64_t k20130524 = 1369353600;

http::Request ChunkedExample() {
  http::Request r;
  r.method = "PUT";
  r.raw_path = "/examplebucket/chunkObject.txt";
  r.headers = {
      {"host", "s3.amazonaws.com"},
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"authorization",
       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
       "x-amz-decoded-content-length;x-amz-storage-class,"
       "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"},
      {"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
      {"content-encoding", "aws-chunked"},
      {"x-amz-decoded-content-length", "66560"},
      {"content-length", "66824"},
  };
  return r;
}

std::string ChunkedBody(char first_byte = 'a') {
  std::string body =
      "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n";
  body += first_byte;
  body += std::string(65535, 'a') + "\r\n";
  body +=
      "400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n";
  body += std::string(1024, 'a') + "\r\n";
  body +=
      "0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n";
  return body;
}

}  // namespace

TEST_CASE("the AWS aws-chunked example verifies, whatever the piece sizes", "[s3auth]") {
  http::Request r = ChunkedExample();
  s3::AuthResult a = s3::Authenticate(r, r.raw_path, {}, kAws, k20130524);
  REQUIRE(a.error_code == "");
  REQUIRE(a.mode == s3::PayloadMode::kStreaming);
  const std::string body = ChunkedBody();
  CHECK(body.size() == 66824);
  for (size_t piece : {size_t{1}, size_t{7}, size_t{4096}, body.size()}) {
    std::string out;
    s3::ChunkDecoder d(a, [&](std::string_view x) {
      out.append(x);
      return true;
    });
    bool ok = true;
    for (size_t i = 0; i < body.size() && ok; i += piece)
      ok = d.Feed(std::string_view(body).substr(i, piece));
    CHECK(ok);
    CHECK(d.Finished());
    CHECK(out == std::string(66560, 'a'));
    CHECK(d.decoded_bytes() == 66560);
  }
  // One changed data byte breaks the first chunk's signature.
  s3::ChunkDecoder bad(a, [](std::string_view) { return true; });
  CHECK_FALSE(bad.Feed(ChunkedBody('b')));
  CHECK(bad.error_code() == "SignatureDoesNotMatch");
  // A truncated body never finishes.
  s3::ChunkDecoder cut(a, [](std::string_view) { return true; });
  CHECK(cut.Feed(body.substr(0, 70000 - 4000)));
  CHECK_FALSE(cut.Finished());
  // Framing errors.
  s3::ChunkDecoder junk(a, [](std::string_view) { return true; });
  CHECK_FALSE(junk.Feed("zz;chunk-signature=00\r\n"));
}

TEST_CASE("header auth of a request signed by the client signer", "[s3auth]") {
  const int64_t now = k20130524 + 30;
  sigv4::Request sr;
  sr.method = "GET";
  sr.canonical_uri = "/bucket/a%20b/c%2Bd";
  sr.query = {{"list-type", "2"}, {"prefix", "a b/"}};
  sr.headers = {{"host", "127.0.0.1:9000"},
                {"x-amz-date", "20130524T000000Z"},
                {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"}};
  sr.payload_hash = "UNSIGNED-PAYLOAD";
  sigv4::Credentials c{kAws.access_key, kAws.secret_key, ""};
  http::Request r;
  r.method = "GET";
  r.headers = {
      {"host", "127.0.0.1:9000"},
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-content-sha256", "UNSIGNED-PAYLOAD"},
      {"authorization", sigv4::Authorization(sr, c, "20130524T000000Z", "us-east-1", "s3")}};
  std::vector<std::pair<std::string, std::string>> q = {{"list-type", "2"}, {"prefix", "a b/"}};
  CHECK(s3::Authenticate(r, "/bucket/a b/c+d", q, kAws, now).error_code == "");
  CHECK(s3::Authenticate(r, "/bucket/a b/c+d", {}, kAws, now).error_code ==
        "SignatureDoesNotMatch");
  CHECK(s3::Authenticate(r, "/bucket/other", q, kAws, now).error_code == "SignatureDoesNotMatch");
  CHECK(s3::Authenticate(r, "/bucket/a b/c+d", q, {kAws.access_key, "wrong-secret"}, now)
            .error_code == "SignatureDoesNotMatch");
  CHECK(s3::Authenticate(r, "/bucket/a b/c+d", q, {"OTHER", kAws.secret_key}, now).error_code ==
        "InvalidAccessKeyId");
  CHECK(s3::Authenticate(r, "/bucket/a b/c+d", q, kAws, now + 3600).error_code ==
        "RequestTimeTooSkewed");
  http::Request anon = r;
  anon.headers.pop_back();
  CHECK(s3::Authenticate(anon, "/bucket/a b/c+d", q, kAws, now).error_code == "AccessDenied");
  http::Request v2 = anon;
  v2.headers.emplace_back("authorization", "AWS AKIA:abc");
  CHECK(s3::Authenticate(v2, "/bucket/a b/c+d", q, kAws, now).error_code == "AccessDenied");
  // A SigV2 presigned URL is named as such, not taken for an anonymous request.
  auto v2q = s3::Authenticate(anon, "/bucket/k", {{"AWSAccessKeyId", "AK"}, {"Signature", "x"}},
                              kAws, now);
  CHECK(v2q.error_code == "AccessDenied");
  CHECK(v2q.error_message.find("Version 2") != std::string::npos);
}

TEST_CASE("presigned URLs: valid, expired, tampered", "[s3auth]") {
  // Sign a presigned GET by hand with the shared primitives.
  std::vector<std::pair<std::string, std::string>> q = {
      {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
      {"X-Amz-Credential", kAws.access_key + "/20130524/us-east-1/s3/aws4_request"},
      {"X-Amz-Date", "20130524T000000Z"},
      {"X-Amz-Expires", "86400"},
      {"X-Amz-SignedHeaders", "host"}};
  sigv4::Request sr;
  sr.method = "GET";
  sr.canonical_uri = "/test.txt";
  sr.query = q;
  sr.headers = {{"host", "examplebucket.s3.amazonaws.com"}};
  sr.payload_hash = "UNSIGNED-PAYLOAD";
  std::string sig = sigv4::Hex(
      sigv4::HmacSha256(sigv4::SigningKey(kAws.secret_key, "20130524", "us-east-1", "s3"),
                        sigv4::StringToSign(sr, "20130524T000000Z", "us-east-1", "s3")));
  // The AWS documentation's presigned URL example.
  CHECK(sig == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  q.emplace_back("X-Amz-Signature", sig);
  http::Request r;
  r.method = "GET";
  r.headers = {{"host", "examplebucket.s3.amazonaws.com"}};
  CHECK(s3::Authenticate(r, "/test.txt", q, kAws, k20130524 + 100).error_code == "");
  auto res = s3::Authenticate(r, "/test.txt", q, kAws, k20130524 + 86401);
  CHECK(res.error_code == "AccessDenied");
  CHECK(res.error_message == "Request has expired");
  q.back().second[0] = q.back().second[0] == '0' ? '1' : '0';
  CHECK(s3::Authenticate(r, "/test.txt", q, kAws, k20130524 + 100).error_code ==
        "SignatureDoesNotMatch");
}

TEST_CASE("object keys and bucket names the gateway accepts", "[s3auth]") {
  CHECK(s3::ValidObjectKey("a/b/c.txt"));
  CHECK(s3::ValidObjectKey("dir/"));
  CHECK(s3::ValidObjectKey("ünï cødé+&=?.txt"));
  CHECK_FALSE(s3::ValidObjectKey(""));
  CHECK_FALSE(s3::ValidObjectKey("a/../b"));
  CHECK_FALSE(s3::ValidObjectKey(".."));
  CHECK_FALSE(s3::ValidObjectKey("./a"));
  CHECK_FALSE(s3::ValidObjectKey("a//b"));
  CHECK_FALSE(s3::ValidObjectKey(std::string("a\0b", 3)));
  CHECK_FALSE(s3::ValidObjectKey(std::string(256, 'x')));
  CHECK_FALSE(s3::ValidObjectKey(std::string(1025, 'x')));
  CHECK(s3::ValidBucketName("my-bucket.1"));
  CHECK_FALSE(s3::ValidBucketName("ab"));
  CHECK_FALSE(s3::ValidBucketName("Upper"));
  CHECK_FALSE(s3::ValidBucketName(".jfs-gateway"));
  CHECK_FALSE(s3::ValidBucketName("a_b"));
}
