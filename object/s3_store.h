// S3Store: an ObjectStore for S3-compatible services (AWS S3, MinIO, Ceph RGW, s3rver) over
// libcurl, signed with SigV4 (object/sigv4.h), XML parsed with pugixml.
//
// Addressing: path style ("http://127.0.0.1:9000/bucket/key") or virtual-hosted
// ("https://bucket.s3.us-east-1.amazonaws.com/key"); ParseS3Bucket decides from the --bucket URL.
//
// Behaviour (format.md §1.8): PUT attaches x-amz-meta-crc32c (decimal CRC-32C of the body); a GET
// of a whole object verifies it when present (mismatch → EIO "checksum mismatch").
//
// Errors: 404/NoSuchKey → ENOENT; 403 (AccessDenied, SignatureDoesNotMatch, InvalidAccessKeyId) →
// EACCES; other 4xx → EIO (never retried); 5xx, 429, SlowDown, timeouts and connection resets or
// truncated bodies are retried with exponential backoff and full jitter, and returned as
// retryable EIO when the attempts run out.
//
// Connections: a pool of CURL easy handles keeps connections alive between requests; any number of
// requests may run concurrently (each borrows its own handle). TLS verifies certificates against
// the system CA store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "object/object_store.h"
#include "object/sigv4.h"

namespace jfs::object {

struct S3Options {
  std::string endpoint;  // "scheme://host[:port]" (virtual-hosted: includes the bucket label)
  std::string bucket;
  bool path_style = true;
  std::string region = "us-east-1";
  sigv4::Credentials credentials;
  // Retries: `max_attempts` tries in total; sleep before retry n is uniform in
  // [0, min(max_backoff_ms, base_backoff_ms * 2^n)].
  int max_attempts = 8;
  int base_backoff_ms = 100;
  int max_backoff_ms = 5000;
  long connect_timeout_ms = 10000;
  // A transfer slower than 1 KiB/s for this long is aborted (and retried): stalls never hang.
  long stall_timeout_s = 30;
  bool verify_tls = true;
  // Server quirk: s3rver 4.0.4 XML-escapes listed keys twice ("&" arrives as "&amp;amp;"). Set
  // only for such a server; AWS, MinIO and RGW escape once.
  bool list_keys_escaped_twice = false;
  // Server quirk: s3rver 4.0.4 omits common prefixes more than one level below the prefix
  // ("a/c/" for "a/c/d/e"). When set, listings with a delimiter are fetched flat and rolled up
  // by the client (slower on big buckets, correct everywhere).
  bool emulate_delimiter = false;
};

// Fills endpoint, bucket, path_style and (for AWS hosts) region from a --bucket URL.
// `force_path_style` is set for the `minio` storage type.
Status ParseS3Bucket(const std::string& url, bool force_path_style, S3Options* o);

// Credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN where `o` has
// none, and the region from AWS_REGION / AWS_DEFAULT_REGION when the URL did not name one.
void ApplyAwsEnvironment(S3Options* o, bool region_from_url);

class S3Store : public ObjectStore {
 public:
  ~S3Store() override = default;

  // S3-specific operations (used by big-object transfers and tools).
  virtual Status CreateMultipart(std::string_view key, std::string* upload_id) = 0;
  virtual Status UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                            std::string_view data, std::string* etag) = 0;
  virtual Status CompleteMultipart(std::string_view key, std::string_view upload_id,
                                   const std::vector<std::string>& etags) = 0;
  virtual Status AbortMultipart(std::string_view key, std::string_view upload_id) = 0;
  virtual Status Copy(std::string_view dst, std::string_view src) = 0;
};

Status NewS3Store(const S3Options& o, std::unique_ptr<S3Store>* out);

// Uploads `data` as `part_size` parts over `threads` concurrent requests (multipart upload; the
// upload is aborted on failure, so nothing half-written becomes visible).
Status PutMultipart(S3Store& s, std::string_view key, std::string_view data, size_t part_size,
                    int threads);
// Downloads a whole object of `size` bytes with `threads` concurrent ranged GETs.
Status GetParallel(ObjectStore& s, std::string_view key, uint64_t size, size_t part_size,
                   int threads, std::string* out);

namespace s3internal {  // exposed for unit tests

// Maps an HTTP outcome to a Status. `curl_code` is a CURLcode (0 = transfer completed),
// `s3_code`/`message` come from the XML error body (may be empty).
Status Classify(int curl_code, const std::string& curl_error, long http_status,
                const std::string& s3_code, const std::string& message, const std::string& what);
// Parses an S3 <Error> document; false when `xml` is not one.
bool ParseError(std::string_view xml, std::string* code, std::string* message);
struct ListPage {
  std::vector<ObjectInfo> objects;  // Contents, then CommonPrefixes (is_dir), each in server order
  bool truncated = false;
  std::string next_token;
};
Status ParseListV2(std::string_view xml, ListPage* page);
// "2026-11-27T15:00:00.000Z" → ns since the epoch; false when malformed.
bool ParseIso8601(std::string_view s, int64_t* ns);
// "Fri, 27 Nov 2026 15:00:00 GMT" → ns since the epoch; false when malformed.
bool ParseHttpDate(std::string_view s, int64_t* ns);

}  // namespace s3internal
}  // namespace jfs::object
