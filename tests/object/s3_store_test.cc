// S3Store against the S3 test server (s3rver 4.0.4, strict SigV4): operations beyond the common
// ObjectStore contract, wrong credentials, and fault injection through a proxy.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <random>

#include "object/s3_store.h"
#include "tests/object/fault_proxy.h"
#include "tests/object/s3_env.h"

using jfs::Status;
using jfs::object::ObjectInfo;
using jfs::object::S3Store;
using jfs::testing::Fault;
using jfs::testing::FaultProxy;

namespace {

std::string RandomBytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

int PortOf(const std::string& endpoint) {
  return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

}  // namespace

TEST_CASE("s3: multipart upload, parallel download and copy", "[s3]") {
  auto s = jfs::testing::FreshS3Store("mpu");
  std::string data = RandomBytes((12 << 20) + 12345, 7);
  REQUIRE(jfs::object::PutMultipart(*s, "big/obj", data, 5 << 20, 3).ok());
  ObjectInfo info;
  REQUIRE(s->Head("big/obj", &info).ok());
  CHECK(info.size == data.size());
  std::string got;
  REQUIRE(jfs::object::GetParallel(*s, "big/obj", data.size(), 4 << 20, 3, &got).ok());
  CHECK(got == data);
  REQUIRE(s->Get("big/obj", 0, -1, &got).ok());
  CHECK(got == data);

  // An aborted upload leaves nothing visible.
  std::string id;
  REQUIRE(s->CreateMultipart("big/aborted", &id).ok());
  std::string etag;
  REQUIRE(s->UploadPart("big/aborted", id, 1, std::string(6 << 20, 'x'), &etag).ok());
  Status abort = s->AbortMultipart("big/aborted", id);
  INFO(abort.ToString());
  CHECK((abort.ok() || abort.code() == ENOTSUP));  // s3rver answers 405
  CHECK(s->Head("big/aborted", &info).code() == ENOENT);

  REQUIRE(s->Put("src key ü", "copy me").ok());
  // (s3rver decodes x-amz-copy-source with decodeURI, so no reserved characters like + here.)
  Status cp = s->Copy("dst/copied", "src key ü");
  INFO(cp.ToString());
  REQUIRE(cp.ok());
  REQUIRE(s->Get("dst/copied", 0, -1, &got).ok());
  CHECK(got == "copy me");
  CHECK(s->Copy("dst/x", "no such source").code() == ENOENT);
}

TEST_CASE("s3: wrong secret key is a clear EACCES and writes nothing", "[s3]") {
  auto good = jfs::testing::FreshS3Store("auth");
  auto o = jfs::testing::TestS3Options(jfs::testing::FreshBucketName("authbad"));
  o.credentials.secret_key = "not-the-secret";
  std::unique_ptr<S3Store> bad;
  REQUIRE(jfs::object::NewS3Store(o, &bad).ok());
  Status st = bad->Create();
  CHECK(st.code() == EACCES);
  CHECK_FALSE(st.retryable());
  CHECK(st.message().find("SignatureDoesNotMatch") != std::string::npos);
  // The bucket was not created.
  auto probe_opts = jfs::testing::TestS3Options(o.bucket);
  std::unique_ptr<S3Store> probe;
  REQUIRE(jfs::object::NewS3Store(probe_opts, &probe).ok());
  std::vector<ObjectInfo> list;
  bool truncated = false;
  CHECK_FALSE(probe->List("", "", "", 0, &list, &truncated).ok());

  // Against an existing bucket: every operation is refused, nothing is written.
  o.bucket = good->Describe().substr(5, good->Describe().size() - 6);
  REQUIRE(jfs::object::NewS3Store(o, &bad).ok());
  CHECK(bad->Put("k", "v").code() == EACCES);
  std::string out;
  CHECK(bad->Get("k", 0, -1, &out).code() == EACCES);
  CHECK(bad->List("", "", "", 0, &list, &truncated).code() == EACCES);
  REQUIRE(good->List("", "", "", 0, &list, &truncated).ok());
  CHECK(list.empty());

  auto unknown = jfs::testing::TestS3Options(o.bucket);
  unknown.credentials.access_key = "NOBODY";
  REQUIRE(jfs::object::NewS3Store(unknown, &bad).ok());
  st = bad->Put("k", "v");
  CHECK(st.code() == EACCES);
  CHECK(st.message().find("InvalidAccessKeyId") != std::string::npos);
}

TEST_CASE("s3: a stored checksum is verified on whole-object reads", "[s3]") {
  auto s = jfs::testing::FreshS3Store("crc");
  std::string data = RandomBytes(100000, 3);
  REQUIRE(s->Put("obj", data).ok());
  // Every response body is corrupted in flight: whole reads detect it (crc32c), never return it.
  FaultProxy proxy(PortOf(jfs::testing::S3Env("JFS_TEST_S3_ENDPOINT")),
                   [] { return Fault::kCorrupt; });
  auto o = jfs::testing::TestS3Options(s->Describe().substr(5, s->Describe().size() - 6),
                                       proxy.endpoint());
  o.max_attempts = 3;
  std::unique_ptr<S3Store> via;
  REQUIRE(jfs::object::NewS3Store(o, &via).ok());
  std::string out;
  Status st = via->Get("obj", 0, -1, &out);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("checksum mismatch") != std::string::npos);
  CHECK(out.empty());
}

TEST_CASE("s3: connection resets, 5xx, truncation, delays and stalls are retried", "[s3]") {
  auto direct = jfs::testing::FreshS3Store("fault");
  const std::string bucket = direct->Describe().substr(5, direct->Describe().size() - 6);
  std::mutex mu;
  std::mt19937 rng(1234);
  const Fault faults[] = {Fault::kDrop,    Fault::k500,   Fault::k503,  Fault::kTruncate,
                          Fault::kCorrupt, Fault::kDelay, Fault::kStall};
  int stalls = 0;
  FaultProxy proxy(PortOf(jfs::testing::S3Env("JFS_TEST_S3_ENDPOINT")), [&] {
    std::lock_guard<std::mutex> l(mu);
    if (rng() % 100 >= 35) return Fault::kPass;
    Fault f = faults[rng() % 7];
    if (f == Fault::kStall && ++stalls > 2) return Fault::k503;  // each stall costs a second
    return f;
  });
  auto o = jfs::testing::TestS3Options(bucket, proxy.endpoint());
  o.max_attempts = 12;
  o.stall_timeout_s = 1;
  std::unique_ptr<S3Store> s;
  REQUIRE(jfs::object::NewS3Store(o, &s).ok());

  std::vector<std::string> data;
  for (int i = 0; i < 30; ++i) data.push_back(RandomBytes(1000 + i * 3000, i));
  for (int i = 0; i < 30; ++i) {
    Status st = s->Put("f/" + std::to_string(i), data[i]);
    INFO(st.ToString());
    REQUIRE(st.ok());
  }
  for (int i = 0; i < 30; ++i) {
    std::string out;
    Status st = s->Get("f/" + std::to_string(i), 0, -1, &out);
    INFO(st.ToString());
    REQUIRE(st.ok());
    CHECK(out == data[i]);
    ObjectInfo info;
    st = s->Head("f/" + std::to_string(i), &info);
    INFO(st.ToString());
    REQUIRE(st.ok());
    CHECK(info.size == data[i].size());
  }
  std::vector<ObjectInfo> all;
  REQUIRE(jfs::object::ListAll(*s, "f/", &all).ok());
  CHECK(all.size() == 30);
  for (int i = 0; i < 30; i += 2) REQUIRE(s->Delete("f/" + std::to_string(i)).ok());
  REQUIRE(jfs::object::ListAll(*direct, "f/", &all).ok());
  CHECK(all.size() == 15);
  CHECK(proxy.faults() > 10);
}

TEST_CASE("s3: ranged reads into caller memory survive drops, 5xx and truncation", "[s3]") {
  // GetInto writes a 2xx body straight into the caller's buffer: a retried or cut-short transfer
  // must not leave stale bytes counted, and a body longer than asked (s3rver answers bytes=0-0
  // with the whole object) must still yield exactly the asked range. No kCorrupt here: ranged
  // reads carry no checksum (whole-object reads do; tested above).
  auto direct = jfs::testing::FreshS3Store("rfault");
  const std::string bucket = direct->Describe().substr(5, direct->Describe().size() - 6);
  std::mutex mu;
  std::mt19937 rng(99);
  const Fault faults[] = {Fault::kDrop, Fault::k500, Fault::k503, Fault::kTruncate, Fault::kDelay};
  FaultProxy proxy(PortOf(jfs::testing::S3Env("JFS_TEST_S3_ENDPOINT")), [&] {
    std::lock_guard<std::mutex> l(mu);
    if (rng() % 100 >= 40) return Fault::kPass;
    return faults[rng() % 5];
  });
  auto o = jfs::testing::TestS3Options(bucket, proxy.endpoint());
  o.max_attempts = 12;
  std::unique_ptr<S3Store> s;
  REQUIRE(jfs::object::NewS3Store(o, &s).ok());
  const std::string data = RandomBytes(300000, 7);
  REQUIRE(direct->Put("r", data).ok());
  struct Case {
    int64_t off, len;
  } cases[] = {{0, 300000},   {0, 1},       {1, 1}, {12345, 100000},
               {299990, 100}, {300000, 10}, {0, 2}, {7, 0}};
  for (const Case& c : cases) {
    for (int rep = 0; rep < 4; ++rep) {
      std::string buf(static_cast<size_t>(c.len) + 16, '\x7f');
      int64_t n = -1;
      Status st = s->GetInto("r", c.off, c.len, buf.data(), &n);
      INFO("off " << c.off << " len " << c.len << ": " << st.ToString());
      REQUIRE(st.ok());
      const size_t want =
          static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>(c.len, 300000 - c.off)));
      REQUIRE(n == static_cast<int64_t>(want));
      CHECK(buf.compare(0, want, data, static_cast<size_t>(std::min<int64_t>(c.off, 300000)),
                        want) == 0);
      CHECK(buf.find_first_not_of('\x7f', static_cast<size_t>(c.len)) == std::string::npos);
      std::string out = "stale";
      st = s->Get("r", c.off, c.len, &out);
      REQUIRE(st.ok());
      CHECK(out == data.substr(static_cast<size_t>(std::min<int64_t>(c.off, 300000)), want));
    }
  }
  std::string small(10, '\0');
  int64_t n = -1;
  CHECK(s->GetInto("missing", 0, 10, small.data(), &n).code() == ENOENT);
  CHECK(proxy.faults() > 10);
}

TEST_CASE("s3: when faults persist, operations fail cleanly and nothing is half-visible", "[s3]") {
  auto direct = jfs::testing::FreshS3Store("failclean");
  const std::string bucket = direct->Describe().substr(5, direct->Describe().size() - 6);
  REQUIRE(direct->Put("existing", "old").ok());
  for (Fault f : {Fault::k503, Fault::kDrop, Fault::kTruncate}) {
    INFO(static_cast<int>(f));
    FaultProxy proxy(PortOf(jfs::testing::S3Env("JFS_TEST_S3_ENDPOINT")), [f] { return f; });
    auto o = jfs::testing::TestS3Options(bucket, proxy.endpoint());
    o.max_attempts = 3;
    std::unique_ptr<S3Store> s;
    REQUIRE(jfs::object::NewS3Store(o, &s).ok());
    Status st = s->Put("new", "data");
    CHECK(st.code() == EIO);
    CHECK(st.retryable());
    std::string out = "sentinel";
    st = s->Get("existing", 0, -1, &out);
    CHECK(st.code() == EIO);
    CHECK(st.retryable());
    CHECK(out.empty());
    CHECK(proxy.requests() == 6);  // 3 attempts each, no more
    ObjectInfo info;
    // A truncated PUT response may come after the server stored the object: then it is whole.
    Status h = direct->Head("new", &info);
    if (h.ok()) {
      REQUIRE(direct->Get("new", 0, -1, &out).ok());
      CHECK(out == "data");
      REQUIRE(direct->Delete("new").ok());
    } else {
      CHECK(h.code() == ENOENT);
    }
  }
  // A 4xx other than throttling is never retried.
  std::atomic<int> calls{0};
  FaultProxy proxy(PortOf(jfs::testing::S3Env("JFS_TEST_S3_ENDPOINT")), [&] {
    ++calls;
    return Fault::kPass;
  });
  auto o = jfs::testing::TestS3Options(bucket, proxy.endpoint());
  o.credentials.secret_key = "wrong";
  std::unique_ptr<S3Store> s;
  REQUIRE(jfs::object::NewS3Store(o, &s).ok());
  CHECK(s->Put("k", "v").code() == EACCES);
  CHECK(calls == 1);
}
