// AWS Signature Version 4 (header form) for S3 requests, computed with OpenSSL, plus the hashing
// and encoding helpers the S3 client shares with it (SHA-256, HMAC-SHA256, URI encoding, CRC-32C).
//
// The signer is a pure function of its inputs (no clock, no I/O) so it can be checked against the
// published AWS test vectors and botocore known answers (tests/object/sigv4_test.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace jfs::object::sigv4 {

// Lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);
// Raw 32-byte HMAC-SHA256.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string Hex(std::string_view bytes);
// RFC 3986 percent-encoding as SigV4 requires: unreserved characters (A-Z a-z 0-9 - _ . ~) stay,
// everything else becomes %XY (upper-case hex); '/' stays when `keep_slash` (object key paths).
std::string UriEncode(std::string_view s, bool keep_slash);
// CRC-32C (Castagnoli) of `data`, continuing from `crc` (0 for a fresh checksum).
// Uses the SSE4.2 crc32 instruction where the CPU has it, slice-by-8 tables otherwise.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);
// The table version, whatever the CPU (for tests comparing the two).
uint32_t Crc32cPortable(std::string_view data, uint32_t crc = 0);
// Sha256Hex and Crc32c of `data` in one pass over memory (what a PUT needs).
void HashPayload(std::string_view data, std::string* sha256_hex, uint32_t* crc32c);

struct Credentials {
  std::string access_key, secret_key;
  std::string session_token;  // sent as x-amz-security-token when set
};

struct Request {
  std::string method;         // "GET", "PUT", ...
  std::string canonical_uri;  // already URI-encoded path, e.g. "/bucket/a%20b"
  // Query parameters, not encoded; a parameter without value has an empty second.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign (names any case; values are trimmed and inner runs of spaces collapsed).
  // Must include host and x-amz-date; x-amz-content-sha256 for S3.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload_hash;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// The encoded, sorted query string (also what the client must send, so the two never disagree).
std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query);
std::string CanonicalRequest(const Request& r, std::string* signed_headers);
// `amz_date` is "YYYYMMDDTHHMMSSZ"; the scope uses its first 8 characters.
std::string StringToSign(const Request& r, std::string_view amz_date, std::string_view region,
                         std::string_view service);
std::string SigningKey(std::string_view secret_key, std::string_view date8, std::string_view region,
                       std::string_view service);
// The Authorization header value:
// "AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request, SignedHeaders=...,
// Signature=..."
std::string Authorization(const Request& r, const Credentials& c, std::string_view amz_date,
                          std::string_view region, std::string_view service);

}  // namespace jfs::object::sigv4
