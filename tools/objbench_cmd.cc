// jfs objbench: the checks and benchmarks of `juicefs objbench` (format.md §8.3, cmd/objbench.go)
// on an object storage, without a volume.
//
// Everything lives under a fresh prefix __juicefs_benchmark_<ns>__/ of the bucket, which is
// emptied at the end whatever happened (for `file` the emptied directories go too).
//
// 1. Functional tests (skipped with --skip-functional-tests), one row each, "pass", "not support"
//    or the first 45 characters of what went wrong: create a bucket, put/get an object, get
//    non-exist, get partial object, head, delete, delete non-exist, list, special key, a 256 MiB
//    object, an empty object, multipart upload (S3 only), change owner/group / permission /
//    mtime (file only; owner needs root).
// 2. Performance, as juicefs measures it: `--small-objects` objects of `--small-object-size`
//    put and read back; the big object as ceil(big-object-size / block-size) objects of
//    `--block-size` uploaded and downloaded; list (≤1000 objects per request, once per thread);
//    head; mtime/mode/owner changes (file only); delete. Every item runs on `--threads`
//    concurrent workers; objects/s and MiB/s count all of them, the cost per object is
//    threads × time / count (the latency one worker sees).
//
// Downloads are compared with what was uploaded (whole content). Bad input (unknown storage,
// unreachable endpoint, wrong keys) is found by a probe before anything is written and reported
// as one line, exit 1.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "object/object_store.h"
#include "object/s3_store.h"
#include "tools/common.h"

namespace jfs::tools {
namespace {

constexpr std::string_view kCmd = "objbench";
const std::string kPass = "pass";
const std::string kNotSupport = "not support";
const std::string kSkipped = "skipped";
const std::string kFailed = "failed";

struct ObjbenchArgs {
  std::string bucket;
  std::string storage = "file";
  std::string access_key, secret_key;
  std::string block_size = "4M";
  std::string big_object_size = "1G";
  std::string small_object_size = "128K";
  unsigned small_objects = 100;
  unsigned threads = 4;
  bool skip_functional = false;
};

std::string EnvOr(const std::string& v, const char* name) {
  if (!v.empty()) return v;
  const char* e = std::getenv(name);
  return e ? e : "";
}

// The storage under test. `root` is the directory of a `file` storage (with a trailing '/'),
// where mode, owner and mtime of the objects can be changed; empty for the others.
struct Target {
  std::unique_ptr<object::ObjectStore> store;
  object::S3Store* s3 = nullptr;  // multipart upload, when the storage is S3
  std::string root;
};

// Builds the storage; `attempts` > 0 overrides the S3 retry count (the probe tries only briefly,
// so an unreachable endpoint is reported within a second or two).
Status OpenTarget(const ObjbenchArgs& a, int attempts, Target* t) {
  const std::string type = object::StorageType(a.storage);
  if (type == "s3" || type == "minio") {
    object::S3Options o;
    JFS_RETURN_IF_ERROR(object::ParseS3Bucket(a.bucket, type == "minio", &o));
    const bool region_from_url = o.endpoint.find(".amazonaws.com") != std::string::npos;
    // --access-key, then juicefs's ACCESS_KEY/SECRET_KEY, then the AWS_* variables.
    o.credentials.access_key = EnvOr(a.access_key, "ACCESS_KEY");
    o.credentials.secret_key = EnvOr(a.secret_key, "SECRET_KEY");
    object::ApplyAwsEnvironment(&o, region_from_url);
    if (attempts > 0) {
      o.max_attempts = attempts;
      o.connect_timeout_ms = 3000;
    }
    std::unique_ptr<object::S3Store> s3;
    JFS_RETURN_IF_ERROR(object::NewS3Store(o, &s3));
    t->s3 = s3.get();
    t->store = std::move(s3);
    return Status::OK();
  }
  if (type == "file") {
    std::string root = a.bucket;
    if (root.empty()) return Status::Invalid("file storage needs a directory as BUCKET");
    if (root.find("://") != std::string::npos) {
      return Status::Invalid("'" + root +
                             "' is not a directory (did you forget --storage s3 or minio?)");
    }
    if (root[0] != '/') {
      char cwd[4096];
      if (getcwd(cwd, sizeof(cwd)) == nullptr) return Status::Error(errno, "current directory");
      root = std::string(cwd) + "/" + root;
    }
    if (root.back() != '/') root += '/';
    t->root = root;
    return object::NewFileStore(root, &t->store);
  }
  if (type == "mem") {
    t->store = object::NewMemStore();
    return Status::OK();
  }
  return Status::Invalid("unknown storage type '" + a.storage +
                         "' (supported: file, s3, minio, mem)");
}

// Object `idx` of a series: `seed` rotated left by idx bytes (getMockData of cmd/objbench.go),
// so every object differs and none has to be kept to be verified.
void MockData(const std::string& seed, size_t idx, std::string* out) {
  out->resize(seed.size());
  if (seed.empty()) return;
  size_t i = idx % seed.size();
  std::memcpy(out->data(), seed.data() + i, seed.size() - i);
  std::memcpy(out->data() + seed.size() - i, seed.data(), i);
}

bool MatchesMock(const std::string& seed, size_t idx, const std::string& got) {
  if (got.size() != seed.size()) return false;
  if (seed.empty()) return true;
  size_t i = idx % seed.size();
  return std::memcmp(got.data(), seed.data() + i, seed.size() - i) == 0 &&
         std::memcmp(got.data() + seed.size() - i, seed.data(), i) == 0;
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  std::mt19937_64 rng(seed);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(s.data() + i, &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

// The reusable object buffer of the calling worker thread.
std::string& Buf() {
  thread_local std::string buf;
  return buf;
}

std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

// cmd/objbench.go colorize without colour: the value with 2 decimals, the cost with 2 decimals
// or, below 0.01, 2 significant digits.
std::string Cost(double c) {
  return c < 0.01 ? Fmt("%.2g", c) : Fmt("%.2f", c);
}

class Objbench {
 public:
  Objbench(Target* t, std::string prefix) : t_(t), s_(*t->store), prefix_(std::move(prefix)) {}

  std::string K(std::string_view key) const { return prefix_ + std::string(key); }
  std::string Path(std::string_view key) const { return t_->root + K(key); }
  bool IsFile() const { return !t_->root.empty(); }

  // ---- functional tests ----

  void Functional(std::vector<std::vector<std::string>>* rows) {
    auto run = [&](const std::string& title, bool sync, const std::function<Status()>& fn) {
      Status st = fn();
      std::string r = kPass;
      if (st.Is(ENOTSUP)) {
        r = kNotSupport;
      } else if (!st.ok()) {
        r = st.message().empty() ? ErrnoName(st.code()) : st.message();
        if (r.size() > 45) r = r.substr(0, 45) + "...";
      }
      rows->push_back({sync ? "sync" : "basic", title, r});
    };
    const std::string key = "put_test_file";
    auto put_hello = [&]() -> Status {
      Status st = s_.Put(K(key), "hello");
      if (!st.ok()) return Status::IOError("put object failed: " + st.message());
      return st;
    };
    auto get = [&](std::string_view k, int64_t off, int64_t len, std::string* out) {
      return s_.Get(K(k), off, len, out);
    };

    run("create a bucket", false, [&]() -> Status {
      Status put = s_.Put(K(key), "1");
      Status st = Status::OK();
      if (!put.ok()) {
        st = s_.Create();
        if (!st.ok()) st = Status::IOError("can't create bucket: " + st.message());
      }
      if (st.ok() && !s_.Create().ok()) {
        st = Status::IOError("creating a bucket that already exists returns an error");
      }
      (void)s_.Delete(K(key));
      return st;
    });
    run("put an object", false, [&]() -> Status {
      Status st = put_hello();
      (void)s_.Delete(K(key));
      return st;
    });
    run("get an object", false, [&]() -> Status {
      JFS_RETURN_IF_ERROR(put_hello());
      std::string d;
      Status st = get(key, 0, -1, &d);
      if (st.ok() && d == "hello") st = get(key, 0, 5, &d);
      (void)s_.Delete(K(key));
      if (!st.ok() || d != "hello") {
        return Status::IOError("failed to get an object: expect \"hello\", but got \"" + d +
                               "\", error: " + st.ToString());
      }
      return Status::OK();
    });
    run("get non-exist", false, [&]() -> Status {
      std::string d;
      Status st = get("not_exists_file", 0, -1, &d);
      if (st.ok()) return Status::IOError("get not existed object should fail");
      if (!st.IsNotFound()) return Status::IOError("get not existed object: " + st.ToString());
      return Status::OK();
    });
    run("get partial object", false, [&]() -> Status {
      JFS_RETURN_IF_ERROR(put_hello());
      struct Case {
        int64_t off, len;
        const char* want;
        const char* what;
      };
      const Case cases[] = {{0, 1, "h", "the first byte"},
                            {4, 1, "o", "the last byte"},
                            {2, 3, "llo", "the last three bytes"},
                            {2, 2, "ll", "two bytes"},
                            {4, 2, "o", "object with the end out of range"},
                            {6, 2, "", "object with the offset out of range"}};
      Status res = Status::OK();
      for (const Case& c : cases) {
        std::string d;
        Status st = get(key, c.off, c.len, &d);
        if (!st.ok() || d != c.want) {
          res = Status::IOError(std::string("failed to get ") + c.what + ": expect \"" + c.want +
                                "\", but got \"" + d + "\", error: " + st.ToString());
          break;
        }
      }
      (void)s_.Delete(K(key));
      return res;
    });
    run("head an object", false, [&]() -> Status {
      JFS_RETURN_IF_ERROR(put_hello());
      object::ObjectInfo info;
      Status st = s_.Head(K(key), &info);
      (void)s_.Delete(K(key));
      if (!st.ok()) return Status::IOError("failed to head object: " + st.message());
      if (info.key != K(key) || info.size != 5) {
        return Status::IOError("head returned key '" + info.key + "' size " +
                               std::to_string(info.size));
      }
      return Status::OK();
    });
    run("delete an object", false, [&]() -> Status {
      JFS_RETURN_IF_ERROR(put_hello());
      Status st = s_.Delete(K(key));
      if (!st.ok()) return Status::IOError("delete failed: " + st.message());
      object::ObjectInfo info;
      if (s_.Head(K(key), &info).ok()) return Status::IOError("the object is there after delete");
      st = s_.Delete(K(key));
      if (!st.ok()) return Status::IOError("delete not existed: " + st.message());
      return Status::OK();
    });
    run("delete non-exist", false, [&]() -> Status {
      Status st = s_.Delete(K(key));
      if (!st.ok()) {
        return Status::IOError("deleting a non-existent object returns an error: " + st.message());
      }
      return Status::OK();
    });
    run("list objects", false, [&]() { return ListTest(key); });
    run("special key", true, [&]() -> Status {
      const std::string special =
          std::string("测试编码文件") + "{\"name\":\"juicefs\"}" + '\x1f' + "%uFF081%uFF09.jpg";
      Status st = s_.Put(K(special), "1");
      if (st.ok()) {
        std::vector<object::ObjectInfo> objs;
        bool more = false;
        st = s_.List(prefix_, K("测试编码文件"), "", 1, &objs, &more);
        if (!st.ok()) {
          st = Status::IOError("list encode file failed: " + st.message());
        } else if (objs.size() != 1 || objs[0].key != K(special)) {
          st = Status::IOError("list encode file failed: got '" +
                               (objs.empty() ? std::string() : objs[0].key) + "'");
        }
      } else {
        st = Status::IOError("put encode file failed: " + st.message());
      }
      (void)s_.Delete(K(special));
      return st;
    });
    run("put a big object", true, [&]() -> Status {
      // 256 MiB: a 4 MiB random buffer repeated, in one Put as juicefs does.
      const std::string block = RandomBytes(4 << 20, 7);
      std::string content;
      content.reserve(256u << 20);
      for (int i = 0; i < 64; ++i) content += block;
      Status st = s_.Put(K(key), content);
      (void)s_.Delete(K(key));
      return st;
    });
    run("put an empty object", true, [&]() -> Status {
      Status st = s_.Put(K("empty_test_file"), "");
      if (st.ok()) {
        std::string d = "x";
        st = s_.Get(K("empty_test_file"), 0, -1, &d);
        if (st.ok() && !d.empty()) st = Status::IOError("the empty object has content");
      }
      (void)s_.Delete(K("empty_test_file"));
      if (!st.ok()) return st;
      // A '/'-suffixed key (how juicefs sync stores a directory).
      st = s_.Put(K("slash_test_file/"), "1");
      (void)s_.Delete(K("slash_test_file/"));
      if (!st.ok()) return Status::IOError("put `/` suffixed object failed: " + st.message());
      return Status::OK();
    });
    run("multipart upload", true, [&]() { return MultipartTest(); });
    FileCase(run, "change owner/group", [&]() -> Status {
      if (geteuid() != 0) return Status::IOError("root required");
      struct passwd* pw = getpwnam("nobody");
      if (pw == nullptr) return Status::IOError("no user nobody");
      if (::chown(Path(key).c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        return Status::IOError(std::string("failed to chown object: ") + std::strerror(errno));
      }
      struct stat st {};
      if (::stat(Path(key).c_str(), &st) != 0 || st.st_uid != pw->pw_uid ||
          st.st_gid != pw->pw_gid) {
        return Status::IOError("owner/group did not change");
      }
      return Status::OK();
    });
    FileCase(run, "change permission", [&]() -> Status {
      if (::chmod(Path(key).c_str(), 0777) != 0) {
        return Status::IOError(std::string("failed to chmod object: ") + std::strerror(errno));
      }
      struct stat st {};
      if (::stat(Path(key).c_str(), &st) != 0 || (st.st_mode & 07777) != 0777) {
        return Status::IOError("expect mode 777 but got " + std::to_string(st.st_mode & 07777));
      }
      return Status::OK();
    });
    FileCase(run, "change mtime", [&]() -> Status {
      const auto now = std::chrono::system_clock::now();
      const int64_t want = std::chrono::duration_cast<std::chrono::seconds>(
                               (now - std::chrono::minutes(10)).time_since_epoch())
                               .count();
      JFS_RETURN_IF_ERROR(SetMtime(key, want));
      object::ObjectInfo info;
      Status st = s_.Head(K(key), &info);
      if (!st.ok()) return Status::IOError("failed to head object: " + st.message());
      if (std::llabs(info.mtime_ns / 1000000000 - want) > 2) {
        return Status::IOError("mtime deviation is too large");
      }
      return Status::OK();
    });
  }

  // ---- performance ----

  // Runs fn(i) for i in [0, count) on `threads` workers. Returns the seconds taken, or -1 after
  // a failure (the first one is kept in *err).
  double Run(size_t count, unsigned threads, const std::function<Status(size_t)>& fn, Status* err) {
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < count && !failed; i = next++) {
          Status st = fn(i);
          if (!st.ok()) {
            std::lock_guard<std::mutex> l(mu);
            if (!failed.exchange(true)) *err = st;
          }
        }
      });
    }
    for (auto& w : workers) w.join();
    if (failed) return -1;
    return std::max(
        1e-9, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }

  Status SetMtime(std::string_view key, int64_t secs) {
    struct timespec ts[2];
    ts[0].tv_sec = secs;
    ts[0].tv_nsec = 0;
    ts[1] = ts[0];
    if (::utimensat(AT_FDCWD, Path(key).c_str(), ts, 0) != 0) {
      return Status::IOError(std::string("failed to chtimes: ") + std::strerror(errno));
    }
    return Status::OK();
  }

  // Removes every object left under the prefix. False when something could not be removed.
  bool Cleanup() {
    bool ok = true;
    for (int round = 0; round < 3; ++round) {
      std::vector<object::ObjectInfo> left;
      Status st = object::ListAll(s_, prefix_, &left);
      if (!st.ok()) {
        PrintError(kCmd,
                   "cannot list " + s_.Describe() + prefix_ + " to clean up: " + st.ToString());
        return false;
      }
      if (left.empty()) return ok;
      for (const auto& o : left) {
        Status d = s_.Delete(o.key);
        if (!d.ok() && round == 2) {
          PrintError(kCmd, "cannot delete " + o.key + ": " + d.ToString());
          ok = false;
        }
      }
    }
    return ok;
  }

 private:
  template <typename RunFn>
  void FileCase(RunFn& run, const std::string& title, const std::function<Status()>& fn) {
    run(title, true, [&]() -> Status {
      if (!IsFile()) return Status::NotSupported();
      Status st = s_.Put(K("put_test_file"), "hello");
      if (!st.ok()) return Status::IOError("put object failed: " + st.message());
      st = fn();
      (void)s_.Delete(K("put_test_file"));
      return st;
    });
  }

  Status ListTest(const std::string& key) {
    Status st = s_.Put(K(key), "hello");
    if (!st.ok()) return Status::IOError("put object failed: " + st.message());
    st = ListChecks(key);
    (void)s_.Delete(K(key));
    return st;
  }

  Status ListChecks(const std::string& key) {
    std::vector<object::ObjectInfo> objs;
    bool more = false;
    Status st = s_.List(prefix_, "", "", 1, &objs, &more);
    if (!st.ok()) return Status::IOError("list failed: " + st.message());
    if (objs.size() != 1) {
      return Status::IOError("list should return 1 keys, but got " + std::to_string(objs.size()));
    }
    if (objs[0].key != K(key)) return Status::IOError("first key should be " + key);
    if (objs[0].size != 5) return Status::IOError("size of first key should be 5");
    const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    if (std::llabs(objs[0].mtime_ns - now) > 30'000'000'000LL) {
      return Status::IOError("mtime of key should be within 30 seconds");
    }
    st = s_.List(prefix_, K("test2"), "", 1, &objs, &more);
    if (!st.ok()) return Status::IOError("list failed: " + st.message());
    if (!objs.empty()) return Status::IOError("list should not return anything after test2");
    constexpr int kKeys = 100;
    std::vector<std::string> keys;
    Status put = Status::OK();
    for (int i = 0; i < kKeys && put.ok(); ++i) {
      keys.push_back("hashKey" + std::to_string(i));
      put = s_.Put(K(keys.back()), "hello");
    }
    std::sort(keys.begin(), keys.end());
    if (put.ok()) {
      st = object::ListAll(s_, K("hashKey"), &objs);
      if (st.ok() && objs.size() != keys.size()) st = Status::IOError("list missed keys");
      for (size_t i = 0; st.ok() && i < keys.size(); ++i) {
        if (objs[i].key != K(keys[i])) st = Status::IOError("the result for list is incorrect");
      }
      if (!st.ok() && !st.Is(EIO)) st = Status::IOError("list failed: " + st.message());
    } else {
      st = Status::IOError("put object failed: " + put.message());
    }
    for (const auto& k : keys) (void)s_.Delete(K(k));
    return st;
  }

  Status MultipartTest() {
    if (t_->s3 == nullptr) return Status::NotSupported();
    object::S3Store& s3 = *t_->s3;
    const std::string key = K("multi_test_file");
    std::string upload;
    Status st = s3.CreateMultipart(key, &upload);
    if (!st.ok()) return Status::IOError("create multipart upload failed: " + st.message());
    constexpr size_t kMinPart = 5u << 20;
    const std::string seed = RandomBytes(kMinPart, 11);
    std::vector<std::string> content(3), etags(3);
    for (size_t i = 0; i < 3; ++i) MockData(seed, i, &content[i]);
    std::vector<Status> errs(3);
    std::vector<std::thread> workers;
    for (int i = 0; i < 3; ++i) {
      workers.emplace_back(
          [&, i] { errs[i] = s3.UploadPart(key, upload, i + 1, content[i], &etags[i]); });
    }
    for (auto& w : workers) w.join();
    for (const auto& e : errs) {
      if (!e.ok()) st = e;
    }
    // Overwrite the first part (with a bigger one) and the last (with a tiny one).
    if (st.ok()) {
      content[0] = seed + seed;
      st = s3.UploadPart(key, upload, 1, content[0], &etags[0]);
    }
    if (st.ok()) {
      content[2] = "hello";
      st = s3.UploadPart(key, upload, 3, content[2], &etags[2]);
    }
    if (!st.ok()) {
      (void)s3.AbortMultipart(key, upload);
      return Status::IOError("multipart upload error: " + st.message());
    }
    st = s3.CompleteMultipart(key, upload, etags);
    if (!st.ok()) {
      (void)s3.AbortMultipart(key, upload);
      return Status::IOError("failed to complete multipart upload: " + st.message());
    }
    std::string got;
    st = s3.Get(key, 0, -1, &got);
    (void)s3.Delete(key);
    if (!st.ok()) return Status::IOError("failed to get multipart upload file: " + st.message());
    if (got != content[0] + content[1] + content[2]) {
      return Status::IOError("the content of the multipart upload file is incorrect");
    }
    return Status::OK();
  }

  Target* t_;
  object::ObjectStore& s_;
  std::string prefix_;
};

int RunObjbench(const ObjbenchArgs& a) {
  // Units of bare numbers follow juicefs: block and small object in KiB, big object in MiB.
  uint64_t bsize = 0, fsize = 0, ssize = 0;
  if (!ParseSize(a.block_size, 1 << 10, &bsize) || bsize == 0 || bsize > (1ull << 30)) {
    PrintError(kCmd, "invalid --block-size '" + a.block_size + "' (1 B .. 1 GiB, e.g. 4M)");
    return kExitUsage;
  }
  if (!ParseSize(a.big_object_size, 1 << 20, &fsize) || fsize == 0 || fsize > (1ull << 40)) {
    PrintError(kCmd, "invalid --big-object-size '" + a.big_object_size + "' (e.g. 1G, 64M)");
    return kExitUsage;
  }
  if (!ParseSize(a.small_object_size, 1 << 10, &ssize) || ssize == 0 || ssize > (1ull << 30)) {
    PrintError(kCmd, "invalid --small-object-size '" + a.small_object_size + "' (e.g. 128K)");
    return kExitUsage;
  }
  if (a.small_objects == 0 || a.small_objects > 1000000) {
    PrintError(kCmd, "--small-objects must be between 1 and 1000000");
    return kExitUsage;
  }
  if (a.threads == 0 || a.threads > 1024) {
    PrintError(kCmd, "--threads must be between 1 and 1024");
    return kExitUsage;
  }
  const size_t bcount = static_cast<size_t>((fsize + bsize - 1) / bsize);
  const size_t scount = a.small_objects;
  if (bcount > 1000000) {
    PrintError(kCmd, "--big-object-size / --block-size makes more than a million objects");
    return kExitUsage;
  }
  const size_t list_count = std::min<size_t>(scount + bcount, 1000);
  unsigned threads = a.threads;
  if (threads > bcount || threads > scount) {
    threads = static_cast<unsigned>(std::min(bcount, scount));
    std::fprintf(stderr,
                 "jfs: objbench: the number of threads was set too large and has been reduced "
                 "to %u\n",
                 threads);
  }

  // The probe: a read of a key that does not exist answers "not found" from a reachable service
  // with valid keys (also when the bucket does not exist yet); anything else is bad input.
  Target t;
  {
    Target probe;
    Status st = OpenTarget(a, 2, &probe);
    if (!st.ok()) {
      PrintErrno(kCmd, "cannot use storage " + a.storage + " " + a.bucket, st.code(), st.message());
      return st.Is(EINVAL) ? kExitUsage : kExitError;
    }
    // A GET, not a HEAD: its error document names the problem (SignatureDoesNotMatch, ...).
    std::string body;
    st = probe.store->Get("__juicefs_benchmark_probe__", 0, -1, &body);
    if (!st.ok() && !st.IsNotFound()) {
      PrintErrno(kCmd, "cannot access " + probe.store->Describe(), st.code(), st.message());
      return kExitError;
    }
  }
  if (Status st = OpenTarget(a, 0, &t); !st.ok()) {
    PrintErrno(kCmd, "cannot use storage " + a.storage + " " + a.bucket, st.code(), st.message());
    return kExitError;
  }
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  Objbench bm(&t, "__juicefs_benchmark_" + std::to_string(ns) + "__/");
  object::ObjectStore& s = *t.store;

  if (a.skip_functional) {
    if (Status st = s.Create(); !st.ok()) {
      PrintErrno(kCmd, "can't create bucket " + s.Describe(), st.code(), st.message());
      return kExitError;
    }
  } else {
    std::printf("Start Functional Testing ...\n");
    std::fflush(stdout);
    std::vector<std::vector<std::string>> rows = {{"CATEGORY", "TEST", "RESULT"}};
    bm.Functional(&rows);
    PrintTable(rows);
    std::printf("\n");
    if (Status st = s.Create(); !st.ok()) {
      bm.Cleanup();
      PrintErrno(kCmd, "can't create bucket " + s.Describe(), st.code(), st.message());
      return kExitError;
    }
  }

  std::printf("Start Performance Testing ...\n");
  std::fflush(stdout);
  const std::string seed = RandomBytes(bsize, 1);
  const std::string small_seed = RandomBytes(ssize, 2);
  const double th = threads;
  const double all = static_cast<double>(scount + bcount);
  struct Item {
    std::string title;
    std::string value, cost;
  };
  std::vector<Item> items;
  bool failed = false;
  auto key = [](size_t i) { return std::to_string(i); };
  // Runs one item; `result` turns the seconds into the value and cost cells.
  auto item = [&](const std::string& title, size_t count, const std::function<Status(size_t)>& fn,
                  const std::function<Item(double)>& result) {
    Status err;
    double secs = bm.Run(count, threads, fn, &err);
    if (secs < 0) {
      PrintError(kCmd, title + " failed: " + err.ToString());
      failed = true;
      items.push_back({title, kFailed, kFailed});
      return;
    }
    Item it = result(secs);
    it.title = title;
    items.push_back(it);
  };
  auto per_object = [&](double count, const char* unit) {
    return [count, unit, th](double secs) {
      return Item{"", Fmt("%.2f", count / secs) + " " + unit,
                  Cost(th * secs * 1000 / count) + " ms/object"};
    };
  };
  auto mib = [&](double count) {
    return [count, th, bsize](double secs) {
      return Item{"",
                  Fmt("%.2f", static_cast<double>(bsize) / 1024 / 1024 * count / secs) + " MiB/s",
                  Cost(th * secs * 1000 / count) + " ms/object"};
    };
  };
  // Each worker's buffer (a function: GCC mis-resolves block-scope thread_locals in lambdas).
  // Order of cmd/objbench.go: small objects, big object, list, head, mtime/mode/owner, delete.
  item(
      "put small objects", scount,
      [&](size_t i) {
        MockData(small_seed, i, &Buf());
        return s.Put(bm.K(key(i)), Buf());
      },
      per_object(static_cast<double>(scount), "objects/s"));
  item(
      "get small objects", scount,
      [&](size_t i) {
        JFS_RETURN_IF_ERROR(s.Get(bm.K(key(i)), 0, -1, &Buf()));
        if (!MatchesMock(small_seed, i, Buf())) {
          return Status::IOError("the downloaded content of " + key(i) + " is incorrect");
        }
        return Status::OK();
      },
      per_object(static_cast<double>(scount), "objects/s"));
  item(
      "upload objects", bcount,
      [&](size_t i) {
        MockData(seed, i, &Buf());
        return s.Put(bm.K(key(scount + i)), Buf());
      },
      mib(static_cast<double>(bcount)));
  item(
      "download objects", bcount,
      [&](size_t i) {
        JFS_RETURN_IF_ERROR(s.Get(bm.K(key(scount + i)), 0, -1, &Buf()));
        if (!MatchesMock(seed, i, Buf())) {
          return Status::IOError("the downloaded content of " + key(scount + i) + " is incorrect");
        }
        return Status::OK();
      },
      mib(static_cast<double>(bcount)));
  item(
      "list objects", threads,
      [&](size_t) {
        std::vector<object::ObjectInfo> objs;
        bool more = false;
        JFS_RETURN_IF_ERROR(s.List(bm.K(""), "", "", static_cast<int>(list_count), &objs, &more));
        if (objs.size() != list_count) {
          return Status::IOError("list returned " + std::to_string(objs.size()) + " of " +
                                 std::to_string(list_count) + " objects");
        }
        return Status::OK();
      },
      [&](double secs) {
        return Item{"", Fmt("%.2f", static_cast<double>(list_count) * th / secs) + " objects/s",
                    Cost(secs * 1000) + " ms/ " + std::to_string(list_count) + " objects"};
      });
  item(
      "head objects", scount + bcount,
      [&](size_t i) {
        object::ObjectInfo info;
        return s.Head(bm.K(key(i)), &info);
      },
      per_object(all, "objects/s"));
  auto file_item = [&](const std::string& title, bool root_only,
                       const std::function<Status(size_t)>& fn) {
    if (!bm.IsFile()) {
      items.push_back({title, kNotSupport, kNotSupport});
    } else if (root_only && geteuid() != 0) {
      std::fprintf(stderr, "jfs: objbench: the %s test should be run by root\n", title.c_str());
      items.push_back({title, kSkipped, kSkipped});
    } else {
      item(title, scount + bcount, fn, per_object(all, "objects/s"));
    }
  };
  file_item("update mtime", false, [&](size_t i) {
    return bm.SetMtime(key(i), std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
  });
  file_item("change permissions", false, [&](size_t i) {
    if (::chmod(bm.Path(key(i)).c_str(), 0755) != 0) {
      return Status::IOError("chmod " + key(i) + ": " + std::strerror(errno));
    }
    return Status::OK();
  });
  file_item("change owner/group", true, [&](size_t i) {
    struct passwd* pw = getpwnam("nobody");
    if (pw == nullptr) return Status::IOError("no user nobody");
    if (::chown(bm.Path(key(i)).c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return Status::IOError("chown " + key(i) + ": " + std::strerror(errno));
    }
    return Status::OK();
  });
  item(
      "delete objects", scount + bcount, [&](size_t i) { return s.Delete(bm.K(key(i))); },
      per_object(all, "objects/s"));

  const bool clean = bm.Cleanup();
  std::printf(
      "Benchmark finished! block-size: %s, big-object-size: %s, small-object-size: %s, "
      "small-objects: %zu, NumThreads: %u\n",
      HumanBytes(bsize).c_str(), HumanBytes(fsize).c_str(), HumanBytes(ssize).c_str(), scount,
      threads);
  // Printed in juicefs's order: the big object first.
  const char* order[] = {"upload objects",    "download objects",   "put small objects",
                         "get small objects", "list objects",       "head objects",
                         "delete objects",    "change permissions", "change owner/group",
                         "update mtime"};
  std::vector<std::vector<std::string>> table = {{"ITEM", "VALUE", "COST"}};
  for (const char* name : order) {
    for (const Item& it : items) {
      if (it.title == name) table.push_back({it.title, it.value, it.cost});
    }
  }
  PrintTable(table);
  return failed || !clean ? kExitError : kExitOk;
}

}  // namespace

void AddObjbenchCommand(CLI::App& app, Action* action) {
  auto a = std::make_shared<ObjbenchArgs>();
  CLI::App* c = app.add_subcommand(
      "objbench", "Check and benchmark an object storage (the tests of `juicefs objbench`)");
  c->add_option("BUCKET", a->bucket,
                "for file storage a directory; for s3/minio http(s)://host:port/bucket or "
                "https://bucket.s3.region.amazonaws.com")
      ->required();
  c->add_option("--storage", a->storage, "object storage type: file, s3, minio")
      ->capture_default_str();
  c->add_option("--access-key", a->access_key,
                "access key (default: $ACCESS_KEY, then $AWS_ACCESS_KEY_ID)");
  c->add_option("--secret-key", a->secret_key,
                "secret key (default: $SECRET_KEY, then $AWS_SECRET_ACCESS_KEY)");
  c->add_option("--block-size", a->block_size,
                "size of each big-object block (KiB, or with a unit)")
      ->capture_default_str();
  c->add_option("--big-object-size", a->big_object_size,
                "size of the big object (MiB, or with a unit)")
      ->capture_default_str();
  c->add_option("--small-object-size", a->small_object_size,
                "size of each small object (KiB, or with a unit)")
      ->capture_default_str();
  c->add_option("--small-objects", a->small_objects, "number of small objects")
      ->capture_default_str();
  c->add_option("-p,--threads", a->threads, "number of concurrent threads")->capture_default_str();
  c->add_flag("--skip-functional-tests", a->skip_functional, "skip the functional tests");
  c->callback([a, action] { *action = [a] { return RunObjbench(*a); }; });
}

}  // namespace jfs::tools
