// The S3 test server (scripts/servers.d/s3.sh exports JFS_TEST_S3_*). A test that needs it fails,
// never skips, when the variables are unset.
#pragma once

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>

#include "object/s3_store.h"

namespace jfs::testing {

inline std::string S3Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    FAIL(std::string(name) + " is not set: start the S3 test server (scripts/servers.sh)");
  }
  return v;
}

// The test server (s3rver 4.0.4, whose quirks TestS3Options sets) does not replace an object
// atomically: PutObject truncates and rewrites the object file in place, then writes its metadata
// (ETag, x-amz-meta-crc32c) in a second file, with no lock between concurrent PUTs of one key. Two
// overlapping PUTs can leave for good a body mixing both versions' bytes under either one's
// checksum, so no amount of retrying reads it back: the client must report EIO "checksum
// mismatch", never return the bytes. Retrying a GET only helps while one PUT is in progress.
constexpr bool kS3TestServerAtomicOverwrite = false;

// A bucket name no other test (or earlier run against the same server) uses.
inline std::string FreshBucketName(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch().count();
  return "jfs-" + tag + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(static_cast<unsigned long long>(now) % 1000000007ull) + "-" +
         std::to_string(counter++);
}

// Options for the test server, bucket `bucket`, endpoint overridable (a fault proxy in front).
inline object::S3Options TestS3Options(const std::string& bucket, std::string endpoint = "") {
  object::S3Options o;
  o.endpoint = endpoint.empty() ? S3Env("JFS_TEST_S3_ENDPOINT") : endpoint;
  o.bucket = bucket;
  o.path_style = true;
  o.credentials.access_key = S3Env("JFS_TEST_S3_ACCESS_KEY");
  o.credentials.secret_key = S3Env("JFS_TEST_S3_SECRET_KEY");
  o.base_backoff_ms = 5;
  o.max_backoff_ms = 100;
  // s3rver writes objects in place: a GET racing a PUT may see a half-written object (a short
  // body, a 500, a checksum mismatch) and retries until that PUT is done.
  o.max_attempts = 30;
  o.list_keys_escaped_twice = true;
  o.emulate_delimiter = true;
  return o;
}

// A store on a freshly created bucket.
inline std::unique_ptr<object::S3Store> FreshS3Store(const std::string& tag) {
  std::unique_ptr<object::S3Store> s;
  REQUIRE(object::NewS3Store(TestS3Options(FreshBucketName(tag)), &s).ok());
  Status st = s->Create();
  INFO(st.ToString());
  REQUIRE(st.ok());
  return s;
}

}  // namespace jfs::testing
