// The ObjectStore conformance suite: every case is written only against the ObjectStore interface
// and runs once per backend (file, mem) and per wrapper over them (WithPrefix). A new backend is
// added by writing one fixture type and listing it in kBackends.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "object/object_store.h"
#include "tests/object/temp_dir.h"
#ifdef JFS_CONFORMANCE_S3
#include "tests/object/s3_env.h"
#endif

using jfs::Status;
using jfs::object::ObjectInfo;
using jfs::object::ObjectStore;

namespace {

// Every fixture says whether its server replaces an object atomically on overwrite (the
// ObjectStore contract). A server that does not (s3rver) can leave an object whose bytes mix two
// PUTs; the suite then still demands that no wrong data is ever returned: the client must detect
// the tear (CRC-32C) and fail with EIO "checksum mismatch".
struct MemBackend {
  static constexpr bool kAtomicOverwrite = true;
  std::unique_ptr<ObjectStore> store = jfs::object::NewMemStore();
};

struct FileBackend {
  static constexpr bool kAtomicOverwrite = true;
  jfs::testing::TempDir dir;
  std::unique_ptr<ObjectStore> store;
  FileBackend() {
    REQUIRE(jfs::object::NewFileStore(dir.path() + "/bucket", &store).ok());
    REQUIRE(store->Create().ok());
  }
};

// The prefixed view shares its bucket with neighbours whose keys sort right next to the prefix;
// none of them may ever leak into the view.
void AddNeighbours(ObjectStore& inner) {
  for (const char* k : {"vol.x", "vol0", "vok/z", "vom", "vo"}) REQUIRE(inner.Put(k, "n").ok());
}

struct PrefixMemBackend {
  static constexpr bool kAtomicOverwrite = true;
  std::unique_ptr<ObjectStore> store;
  PrefixMemBackend() {
    auto inner = jfs::object::NewMemStore();
    AddNeighbours(*inner);
    store = jfs::object::WithPrefix(std::move(inner), "vol/");
  }
};

struct PrefixFileBackend {
  static constexpr bool kAtomicOverwrite = true;
  jfs::testing::TempDir dir;
  std::unique_ptr<ObjectStore> store;
  PrefixFileBackend() {
    std::unique_ptr<ObjectStore> inner;
    REQUIRE(jfs::object::NewFileStore(dir.path() + "/bucket/", &inner).ok());
    REQUIRE(inner->Create().ok());
    AddNeighbours(*inner);
    store = jfs::object::WithPrefix(std::move(inner), "vol/");
  }
};

#ifdef JFS_CONFORMANCE_S3
// Built a second time as an integration test program against the S3 test server; each fixture
// gets a bucket of its own.
struct S3Backend {
  static constexpr bool kAtomicOverwrite = jfs::testing::kS3TestServerAtomicOverwrite;
  std::unique_ptr<ObjectStore> store = jfs::testing::FreshS3Store("conf");
};

struct PrefixS3Backend {
  static constexpr bool kAtomicOverwrite = jfs::testing::kS3TestServerAtomicOverwrite;
  std::unique_ptr<ObjectStore> store;
  PrefixS3Backend() {
    std::unique_ptr<ObjectStore> inner = jfs::testing::FreshS3Store("confp");
    AddNeighbours(*inner);
    store = jfs::object::WithPrefix(std::move(inner), "vol/");
  }
};

#define BACKENDS S3Backend, PrefixS3Backend
#else
#define BACKENDS MemBackend, FileBackend, PrefixMemBackend, PrefixFileBackend
#endif

std::string GetAll(ObjectStore& s, const std::string& key) {
  std::string out;
  Status st = s.Get(key, 0, -1, &out);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& v) {
  std::vector<std::string> keys;
  for (const auto& e : v) keys.push_back(e.key + (e.is_dir ? " (dir)" : ""));
  return keys;
}

std::vector<std::string> ListKeys(ObjectStore& s, const std::string& prefix,
                                  const std::string& marker = "", const std::string& delim = "",
                                  int limit = 0) {
  std::vector<ObjectInfo> out;
  bool truncated = true;
  Status st = s.List(prefix, marker, delim, limit, &out, &truncated);
  INFO(st.ToString());
  REQUIRE(st.ok());
  if (limit <= 0) CHECK_FALSE(truncated);
  return Keys(out);
}

// Pages through List with `limit` entries per call, continuing from the last key each time.
std::vector<std::string> PageAll(ObjectStore& s, const std::string& prefix,
                                 const std::string& delim, int limit) {
  std::vector<std::string> all;
  std::string marker;
  for (int pages = 0; pages < 100000; ++pages) {
    std::vector<ObjectInfo> out;
    bool truncated = false;
    REQUIRE(s.List(prefix, marker, delim, limit, &out, &truncated).ok());
    REQUIRE(out.size() <= static_cast<size_t>(limit));
    if (truncated) REQUIRE(out.size() == static_cast<size_t>(limit));
    for (const auto& k : Keys(out)) all.push_back(k);
    if (!truncated) return all;
    marker = out.back().key;
  }
  FAIL("paging did not terminate");
  return all;
}

// Keys chosen so that byte order differs from "directory first" order: '-' < '.' < '/' < '0'.
const std::vector<std::string> kTreeKeys = {"a/b-x",   "a/b.txt", "a/b/c", "a/b0",
                                            "a/c/d/e", "a1",      "b",     "ba/x"};

void PutTree(ObjectStore& s) {
  for (const auto& k : kTreeKeys) REQUIRE(s.Put(k, "data of " + k).ok());
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEMPLATE_TEST_CASE("put, get and overwrite", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  CHECK_FALSE(s.Describe().empty());
  CHECK(s.Create().ok());  // idempotent
  REQUIRE(s.Put("a/b/c", "hello world").ok());
  CHECK(GetAll(s, "a/b/c") == "hello world");
  REQUIRE(s.Put("a/b/c", "hi").ok());
  std::string out = "stale content that must be replaced";
  REQUIRE(s.Get("a/b/c", 0, -1, &out).ok());
  CHECK(out == "hi");
  REQUIRE(s.Put("top", "level").ok());
  CHECK(GetAll(s, "top") == "level");
}

TEMPLATE_TEST_CASE("ranged get", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>('a' + i % 26);
  REQUIRE(s.Put("r", data).ok());
  std::string out;
  REQUIRE(s.Get("r", 0, 10, &out).ok());
  CHECK(out == data.substr(0, 10));
  // One byte at offset 0 (s3rver answers "bytes=0-0" with everything).
  REQUIRE(s.Get("r", 0, 1, &out).ok());
  CHECK(out == "a");
  REQUIRE(s.Get("r", 999, 1, &out).ok());
  CHECK(out == data.substr(999));
  REQUIRE(s.Get("r", 123, 77, &out).ok());
  CHECK(out == data.substr(123, 77));
  REQUIRE(s.Get("r", 10, -1, &out).ok());
  CHECK(out == data.substr(10));
  REQUIRE(s.Get("r", 990, 100, &out).ok());  // short read at the end is not an error
  CHECK(out == data.substr(990));
  REQUIRE(s.Get("r", 1000, 5, &out).ok());
  CHECK(out.empty());
  out = "x";
  REQUIRE(s.Get("r", 5000, -1, &out).ok());
  CHECK(out.empty());
  REQUIRE(s.Get("r", 3, 0, &out).ok());
  CHECK(out.empty());
  CHECK(s.Get("r", -1, 10, &out).code() == EINVAL);
  CHECK(s.Get("missing", 5, 10, &out).code() == ENOENT);
}

TEMPLATE_TEST_CASE("get into caller memory", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>('A' + i % 26);
  REQUIRE(s.Put("g", data).ok());
  std::string buf(2000, '#');
  int64_t n = -1;
  REQUIRE(s.GetInto("g", 0, 1000, buf.data(), &n).ok());
  CHECK(n == 1000);
  CHECK(buf.substr(0, 1000) == data);
  CHECK(buf[1000] == '#');  // nothing written beyond what was read
  REQUIRE(s.GetInto("g", 123, 77, buf.data(), &n).ok());
  CHECK(n == 77);
  CHECK(buf.substr(0, 77) == data.substr(123, 77));
  REQUIRE(s.GetInto("g", 990, 100, buf.data(), &n).ok());  // short at the end
  CHECK(n == 10);
  CHECK(buf.substr(0, 10) == data.substr(990));
  REQUIRE(s.GetInto("g", 5000, 10, buf.data(), &n).ok());
  CHECK(n == 0);
  CHECK(s.GetInto("g", -1, 10, buf.data(), &n).code() == EINVAL);
  CHECK(s.GetInto("g", 0, -1, buf.data(), &n).code() == EINVAL);
  CHECK(s.GetInto("g", 0, 10, nullptr, &n).code() == EINVAL);
  CHECK(s.GetInto("missing", 0, 10, buf.data(), &n).code() == ENOENT);
}

TEMPLATE_TEST_CASE("head reports size and mtime", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  REQUIRE(s.Put("h/obj", std::string(4321, 'z')).ok());
  ObjectInfo info;
  REQUIRE(s.Head("h/obj", &info).ok());
  CHECK(info.key == "h/obj");
  CHECK(info.size == 4321);
  CHECK_FALSE(info.is_dir);
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  CHECK(info.mtime_ns > now - int64_t{3600} * 1000000000);
  CHECK(info.mtime_ns < now + int64_t{3600} * 1000000000);
  CHECK(s.Head("h/missing", &info).code() == ENOENT);
}

TEMPLATE_TEST_CASE("delete is idempotent", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  REQUIRE(s.Put("d/x", "1").ok());
  REQUIRE(s.Put("d/y", "2").ok());
  REQUIRE(s.Delete("d/x").ok());
  std::string out;
  CHECK(s.Get("d/x", 0, -1, &out).code() == ENOENT);
  CHECK(s.Delete("d/x").ok());
  CHECK(s.Delete("never/existed").ok());
  CHECK(GetAll(s, "d/y") == "2");
  REQUIRE(s.Delete("d/y").ok());
  CHECK(ListKeys(s, "").empty());
  // The key can be written again after the delete removed its directory.
  REQUIRE(s.Put("d/x", "3").ok());
  CHECK(GetAll(s, "d/x") == "3");
}

TEMPLATE_TEST_CASE("missing objects are ENOENT", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  REQUIRE(s.Put("p/q/r", "x").ok());
  std::string out;
  ObjectInfo info;
  // "p" and "p/q" are only key prefixes, not objects.
  for (const char* k : {"nope", "p", "p/q", "p/q/r/s", "p/q/rr"}) {
    INFO(k);
    CHECK(s.Get(k, 0, -1, &out).code() == ENOENT);
    CHECK(s.Head(k, &info).code() == ENOENT);
  }
}

TEMPLATE_TEST_CASE("invalid keys are EINVAL", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  std::string out;
  ObjectInfo info;
  for (const char* k : {"", "/abs"}) {
    INFO(k);
    CHECK(s.Put(k, "x").code() == EINVAL);
    CHECK(s.Get(k, 0, -1, &out).code() == EINVAL);
    CHECK(s.Head(k, &info).code() == EINVAL);
    CHECK(s.Delete(k).code() == EINVAL);
  }
  CHECK(ListKeys(s, "").empty());
}

TEMPLATE_TEST_CASE("list by prefix in byte order", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  PutTree(s);
  CHECK(ListKeys(s, "") == Sorted(kTreeKeys));
  CHECK(ListKeys(s, "a/") ==
        std::vector<std::string>{"a/b-x", "a/b.txt", "a/b/c", "a/b0", "a/c/d/e"});
  CHECK(ListKeys(s, "a/b") == std::vector<std::string>{"a/b-x", "a/b.txt", "a/b/c", "a/b0"});
  CHECK(ListKeys(s, "a/b/") == std::vector<std::string>{"a/b/c"});
  CHECK(ListKeys(s, "a/c/d/e") == std::vector<std::string>{"a/c/d/e"});
  CHECK(ListKeys(s, "a") ==
        std::vector<std::string>{"a/b-x", "a/b.txt", "a/b/c", "a/b0", "a/c/d/e", "a1"});
  CHECK(ListKeys(s, "b") == std::vector<std::string>{"b", "ba/x"});
  CHECK(ListKeys(s, "zzz").empty());
  CHECK(ListKeys(s, "a/zz/").empty());

  std::vector<ObjectInfo> out;
  bool truncated = true;
  REQUIRE(s.List("a/b.", "", "", 0, &out, &truncated).ok());
  REQUIRE(out.size() == 1);
  CHECK(out[0].key == "a/b.txt");
  CHECK(out[0].size == std::string("data of a/b.txt").size());
  CHECK_FALSE(out[0].is_dir);
  CHECK_FALSE(truncated);
}

TEMPLATE_TEST_CASE("list after a marker", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  PutTree(s);
  CHECK(ListKeys(s, "", "a/b.txt") ==
        std::vector<std::string>{"a/b/c", "a/b0", "a/c/d/e", "a1", "b", "ba/x"});
  CHECK(ListKeys(s, "", "a/b/") ==  // between keys
        std::vector<std::string>{"a/b/c", "a/b0", "a/c/d/e", "a1", "b", "ba/x"});
  CHECK(ListKeys(s, "a/", "a/b/c/zzz") == std::vector<std::string>{"a/b0", "a/c/d/e"});
  CHECK(ListKeys(s, "a/", "0") == ListKeys(s, "a/"));  // marker before the prefix
  CHECK(ListKeys(s, "a/", "a/c/d/e").empty());
  CHECK(ListKeys(s, "", "ba/x").empty());
  CHECK(ListKeys(s, "", "zzz").empty());
}

TEMPLATE_TEST_CASE("list pages with limit and truncated", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  PutTree(s);
  for (int limit : {1, 2, 3, 7, 8, 100}) {
    INFO("limit " << limit);
    CHECK(PageAll(s, "", "", limit) == Sorted(kTreeKeys));
    CHECK(PageAll(s, "a/", "", limit) == ListKeys(s, "a/"));
  }
  std::vector<ObjectInfo> out;
  bool truncated = false;
  REQUIRE(s.List("", "", "", 3, &out, &truncated).ok());
  CHECK(out.size() == 3);
  CHECK(truncated);
  REQUIRE(s.List("", "", "", 8, &out, &truncated).ok());
  CHECK(out.size() == 8);
  REQUIRE(s.List("", "a1", "", 3, &out, &truncated).ok());
  CHECK(Keys(out) == std::vector<std::string>{"b", "ba/x"});
  CHECK_FALSE(truncated);
}

TEMPLATE_TEST_CASE("list rolls up common prefixes at the delimiter", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  PutTree(s);
  CHECK(ListKeys(s, "", "", "/") == std::vector<std::string>{"a/ (dir)", "a1", "b", "ba/ (dir)"});
  CHECK(ListKeys(s, "a/", "", "/") ==
        std::vector<std::string>{"a/b-x", "a/b.txt", "a/b/ (dir)", "a/b0", "a/c/ (dir)"});
  CHECK(ListKeys(s, "a/b", "", "/") ==
        std::vector<std::string>{"a/b-x", "a/b.txt", "a/b/ (dir)", "a/b0"});
  CHECK(ListKeys(s, "a/c/", "", "/") == std::vector<std::string>{"a/c/d/ (dir)"});
  CHECK(ListKeys(s, "a/c/d/", "", "/") == std::vector<std::string>{"a/c/d/e"});
  // A common prefix at or before the marker was returned by an earlier page.
  CHECK(ListKeys(s, "a/", "a/b/c", "/") == std::vector<std::string>{"a/b0", "a/c/ (dir)"});
  CHECK(ListKeys(s, "a/", "a/b/", "/") == std::vector<std::string>{"a/b0", "a/c/ (dir)"});
  CHECK(ListKeys(s, "", "a/", "/") == std::vector<std::string>{"a1", "b", "ba/ (dir)"});
  CHECK(ListKeys(s, "", "ba/", "/").empty());
  // A delimiter other than "/".
  CHECK(ListKeys(s, "a/", "", "b") == std::vector<std::string>{"a/b (dir)", "a/c/d/e"});
  CHECK(ListKeys(s, "", "", ".") == std::vector<std::string>{"a/b-x", "a/b. (dir)", "a/b/c", "a/b0",
                                                             "a/c/d/e", "a1", "b", "ba/x"});
  for (int limit : {1, 2, 3}) {
    INFO("limit " << limit);
    CHECK(PageAll(s, "", "/", limit) == ListKeys(s, "", "", "/"));
    CHECK(PageAll(s, "a/", "/", limit) == ListKeys(s, "a/", "", "/"));
  }
  std::vector<ObjectInfo> out;
  bool truncated = false;
  REQUIRE(s.List("a/", "", "/", 0, &out, &truncated).ok());
  for (const auto& e : out) CHECK(e.is_dir == (e.key.back() == '/'));
}

TEMPLATE_TEST_CASE("binary and empty objects", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes += static_cast<char>(i);
  all_bytes += std::string(3, '\0');
  REQUIRE(s.Put("bin/bytes", all_bytes).ok());
  CHECK(GetAll(s, "bin/bytes") == all_bytes);

  std::mt19937 rng(42);
  std::string big(1 << 20, '\0');
  for (char& c : big) c = static_cast<char>(rng());
  REQUIRE(s.Put("bin/big", big).ok());
  CHECK(GetAll(s, "bin/big") == big);
  std::string out;
  REQUIRE(s.Get("bin/big", 500000, 70000, &out).ok());
  CHECK(out == big.substr(500000, 70000));

  REQUIRE(s.Put("bin/empty", "").ok());
  out = "x";
  REQUIRE(s.Get("bin/empty", 0, -1, &out).ok());
  CHECK(out.empty());
  ObjectInfo info;
  REQUIRE(s.Head("bin/empty", &info).ok());
  CHECK(info.size == 0);
  std::vector<ObjectInfo> list;
  bool truncated = false;
  REQUIRE(s.List("bin/e", "", "", 0, &list, &truncated).ok());
  REQUIRE(list.size() == 1);
  CHECK(list[0].size == 0);
}

TEMPLATE_TEST_CASE("keys with spaces and unicode", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  std::vector<std::string> keys = {"dir with space/file name.txt", "ünïcødé/日本語", "emoji 😀/x",
                                   "tab\there", "x+y=z&%20"};
  for (const auto& k : keys) REQUIRE(s.Put(k, k).ok());
  for (const auto& k : keys) CHECK(GetAll(s, k) == k);
  CHECK(ListKeys(s, "") == Sorted(keys));
  CHECK(ListKeys(s, "ünï") == std::vector<std::string>{"ünïcødé/日本語"});
}

TEMPLATE_TEST_CASE("concurrent put and get never show a mix", "[object]", BACKENDS) {
  TestType b;
  ObjectStore& s = *b.store;
  // Version v is `size(v)` copies of one byte, so a torn read shows up as a wrong length or a
  // mixed byte.
  auto size_of = [](char v) { return 20000 + 3000 * (v - 'A'); };
  REQUIRE(s.Put("c/obj", std::string(size_of('A'), 'A')).ok());
  std::atomic<bool> stop{false};
  // errors: every failed call; torn: failed GETs that detected a torn object (EIO "checksum
  // mismatch"), the only failure allowed, and only when the server's overwrite is not atomic.
  std::atomic<int> bad{0}, reads{0}, errors{0}, torn{0};
  std::mutex first_error_mu;
  std::string first_error;  // shown on failure, to tell a server hiccup from our bug
  auto failed = [&](const std::string& what, const Status& st) {
    const bool detected_tear = what.rfind("get", 0) == 0 && st.Is(EIO) &&
                               st.message().find("checksum mismatch") != std::string::npos;
    if (detected_tear) torn++;
    std::lock_guard<std::mutex> l(first_error_mu);
    if (first_error.empty() && !(detected_tear && !TestType::kAtomicOverwrite)) {
      first_error = what + ": " + st.ToString();
    }
    errors++;
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < 3; ++w) {
    threads.emplace_back([&, w] {
      // Start once readers are running, so that reads and writes really overlap.
      while (reads == 0 && errors == 0) std::this_thread::yield();
      for (int i = 0; i < 40; ++i) {
        std::this_thread::yield();
        char v = static_cast<char>('A' + (w * 7 + i) % 20);
        Status st = s.Put("c/obj", std::string(size_of(v), v));
        if (!st.ok()) failed("put c/obj", st);
        st = s.Put("c/own" + std::to_string(w), std::string(100, v));
        if (!st.ok()) failed("put c/own", st);
      }
    });
  }
  for (int r = 0; r < 3; ++r) {
    threads.emplace_back([&] {
      std::string out;
      while (!stop) {
        Status st = s.Get("c/obj", 0, -1, &out);
        if (!st.ok()) {
          failed("get c/obj", st);
          continue;
        }
        reads++;
        char v = out.empty() ? 0 : out[0];
        if (v < 'A' || v > 'T' || out.size() != static_cast<size_t>(size_of(v)) ||
            out.find_first_not_of(v) != std::string::npos) {
          bad++;
        }
      }
    });
  }
  for (int w = 0; w < 3; ++w) threads[w].join();
  stop = true;
  for (size_t i = 3; i < threads.size(); ++i) threads[i].join();
  INFO("first error: " << first_error << " (detected torn objects: " << torn << ")");
  if (TestType::kAtomicOverwrite) {
    CHECK(errors == 0);
  } else {
    CHECK(errors == torn);
  }
  CHECK(bad == 0);
  CHECK(reads > 0);
  for (int w = 0; w < 3; ++w) {
    char last = static_cast<char>('A' + (w * 7 + 39) % 20);
    CHECK(GetAll(s, "c/own" + std::to_string(w)) == std::string(100, last));
  }
}

TEST_CASE("ListAll pages through more than one default page", "[object]") {
  auto s = jfs::object::NewMemStore();
  std::set<std::string> want;
  for (int i = 0; i < 2500; ++i) {
    std::string k = "k/" + std::to_string(i);
    want.insert(k);
    REQUIRE(s->Put(k, "v").ok());
  }
  REQUIRE(s->Put("other", "v").ok());
  std::vector<ObjectInfo> all;
  REQUIRE(jfs::object::ListAll(*s, "k/", &all).ok());
  REQUIRE(all.size() == want.size());
  CHECK(std::equal(all.begin(), all.end(), want.begin(),
                   [](const ObjectInfo& a, const std::string& b) { return a.key == b; }));
}

TEST_CASE("CreateStorage picks the backend by type", "[object]") {
  jfs::testing::TempDir dir;
  std::unique_ptr<ObjectStore> s;
  REQUIRE(jfs::object::CreateStorage("file", dir.path() + "/b/", "", "", &s).ok());
  CHECK(s->Describe() == "file://" + dir.path() + "/b/");
  REQUIRE(s->Put("k", "v").ok());
  CHECK(GetAll(*s, "k") == "v");
  REQUIRE(jfs::object::CreateStorage("FILE", dir.path() + "/c", "", "", &s).ok());
  CHECK(s->Describe() == "file://" + dir.path() + "/c/");
  REQUIRE(jfs::object::CreateStorage("mem", "anything", "", "", &s).ok());
  CHECK(s->Describe() == "mem://");
  Status st = jfs::object::CreateStorage("s4", "b", "", "", &s);
  CHECK(st.code() == EINVAL);
  CHECK(st.message() == "unknown storage type 's4' (supported: file, mem, s3, minio)");
  CHECK(jfs::object::CreateStorage("file", "", "", "", &s).code() == EINVAL);
}
