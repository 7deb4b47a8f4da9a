// Server side of AWS Signature Version 4 for the S3 gateway: checks the Authorization header or
// a presigned query against the gateway's credentials, and decodes/verifies
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD (aws-chunked) bodies chunk by chunk.
//
// The canonical request and signing key come from object/sigv4.h, the signer the S3 client
// uses, so client and server can never disagree on the algorithm.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http/http_server.h"

namespace jfs::server::s3 {

// How the request body is authenticated.
enum class PayloadMode {
  kSigned,     // x-amz-content-sha256 is the hex SHA-256 of the body: check it at the end
  kUnsigned,   // UNSIGNED-PAYLOAD (and presigned URLs)
  kStreaming,  // STREAMING-AWS4-HMAC-SHA256-PAYLOAD: aws-chunked body, each chunk signed
};

struct AuthResult {
  // Empty when the request is authenticated; otherwise the S3 error code and message.
  std::string error_code, error_message;
  PayloadMode mode = PayloadMode::kUnsigned;
  std::string payload_sha256;  // kSigned: expected hex digest
  // kStreaming: what chunk signatures chain from.
  std::string seed_signature, signing_key, amz_date, scope;
};

struct Credentials {
  std::string access_key, secret_key;
};

// Checks request `req` (its path already decoded into `path`, its query decoded into `query`).
// `now` is the current Unix time (requests more than 15 minutes off, and expired presigned URLs,
// are refused).
AuthResult Authenticate(const http::Request& req, std::string_view path,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const Credentials& creds, int64_t now);

// Decodes an aws-chunked body: "<hex-size>;chunk-signature=<sig>\r\n<data>\r\n" ... ending with a
// zero-size chunk. Verified payload bytes go to `sink` as they arrive (before the chunk's
// signature can be checked: callers write them aside and discard everything on failure).
class ChunkDecoder {
 public:
  using Sink = std::function<bool(std::string_view)>;
  ChunkDecoder(const AuthResult& auth, Sink sink);
  ~ChunkDecoder();
  // Feeds raw body bytes. False on a framing or signature error (see error()).
  bool Feed(std::string_view data);
  // True when the final chunk was seen and verified.
  bool Finished() const { return state_ == State::kDone; }
  const std::string& error_code() const { return error_code_; }
  uint64_t decoded_bytes() const { return decoded_; }

 private:
  enum class State { kHeader, kData, kDataCrLf, kDone, kFailed };
  bool Fail(std::string code);
  bool ParseHeader();
  bool CheckChunk();

  std::string signing_key_, amz_date_, scope_, prev_sig_;
  Sink sink_;
  State state_ = State::kHeader;
  std::string line_;        // header line (or the CRLF after data) being read
  uint64_t remaining_ = 0;  // data bytes left in the current chunk
  uint64_t chunk_size_ = 0;
  std::string chunk_sig_;
  std::unique_ptr<class Digest> digest_;  // SHA-256 of the current chunk's data
  uint64_t decoded_ = 0;
  std::string error_code_;
};

// Incremental SHA-256 / MD5 (OpenSSL EVP), hex results.
class Digest {
 public:
  explicit Digest(bool md5);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void Update(std::string_view data);
  std::string FinishRaw();  // raw bytes; the digest restarts afterwards
  std::string FinishHex();

 private:
  void* ctx_;  // EVP_MD_CTX
  bool md5_;
};

}  // namespace jfs::server::s3
