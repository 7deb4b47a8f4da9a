// Behaviour specific to the `file` backend: what it leaves on disk, which keys it refuses, and
// listing of large directory trees. The interface-level behaviour is in conformance_test.cc.
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "object/object_store.h"
#include "tests/object/temp_dir.h"
#include "util/unique_fd.h"

namespace fs = std::filesystem;
using jfs::Status;
using jfs::UniqueFd;
using jfs::object::ObjectInfo;
using jfs::object::ObjectStore;

namespace {

std::unique_ptr<ObjectStore> Open(const std::string& root) {
  std::unique_ptr<ObjectStore> s;
  REQUIRE(jfs::object::NewFileStore(root, &s).ok());
  return s;
}

// Every regular file under `root`, as keys relative to it.
std::set<std::string> FilesOnDisk(const std::string& root) {
  std::set<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) files.insert(fs::relative(e.path(), root).string());
  }
  return files;
}

void WriteRaw(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << data;
}

std::vector<std::string> ListKeys(ObjectStore& s, const std::string& prefix,
                                  const std::string& delim = "") {
  std::vector<ObjectInfo> out;
  bool truncated = true;
  Status st = s.List(prefix, "", delim, 0, &out, &truncated);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK_FALSE(truncated);
  std::vector<std::string> keys;
  for (const auto& e : out) keys.push_back(e.key);
  return keys;
}

}  // namespace

TEST_CASE("file: objects are plain files mirroring the keys, no temp files left", "[object]") {
  jfs::testing::TempDir dir;
  std::string root = dir.path() + "/root";
  auto s = Open(root);
  REQUIRE(s->Put("chunks/0/0/1_0_4194304", "block").ok());
  REQUIRE(s->Put("chunks/0/0/1_0_4194304", "block v2").ok());
  REQUIRE(s->Put("juicefs_uuid", "uuid").ok());
  for (int i = 0; i < 20; ++i) REQUIRE(s->Put("many/" + std::to_string(i % 5), "x").ok());
  CHECK(FilesOnDisk(root) == std::set<std::string>{"chunks/0/0/1_0_4194304", "juicefs_uuid",
                                                   "many/0", "many/1", "many/2", "many/3",
                                                   "many/4"});
  std::ifstream in(root + "/chunks/0/0/1_0_4194304", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "block v2");
}

TEST_CASE("file: a failed put leaves nothing behind", "[object]") {
  jfs::testing::TempDir dir;
  std::string root = dir.path() + "/root";
  auto s = Open(root);
  REQUIRE(s->Put("f", "a file").ok());
  Status st = s->Put("f/g", "under a file");  // the directory "f" cannot be created
  CHECK(st.code() == EIO);
  CHECK_FALSE(st.message().empty());
  REQUIRE(s->Put("d/inner", "x").ok());
  st = s->Put("d", "over a directory");  // rename cannot replace a directory
  CHECK(st.code() == EIO);
  CHECK(FilesOnDisk(root) == std::set<std::string>{"f", "d/inner"});
  std::string out;
  CHECK(s->Get("d", 0, -1, &out).code() == ENOENT);
}

TEST_CASE("file: keys that could escape the root are EINVAL", "[object]") {
  jfs::testing::TempDir dir;
  std::string root = dir.path() + "/root";
  auto s = Open(root);
  REQUIRE(s->Create().ok());
  WriteRaw(dir.path() + "/secret", "outside");
  std::vector<std::string> bad = {"..",
                                  "../secret",
                                  "a/../../secret",
                                  "a/..",
                                  ".",
                                  "./a",
                                  "a/./b",
                                  "a//b",
                                  "a/",
                                  "/etc/passwd",
                                  std::string("a\0b", 3),
                                  std::string(256, 'n'),
                                  "a/.jfs-tmp.0123"};
  for (const auto& k : bad) {
    INFO("key '" << k << "'");
    std::string out;
    ObjectInfo info;
    CHECK(s->Put(k, "x").code() == EINVAL);
    CHECK(s->Get(k, 0, -1, &out).code() == EINVAL);
    CHECK(s->Head(k, &info).code() == EINVAL);
    CHECK(s->Delete(k).code() == EINVAL);
  }
  CHECK(FilesOnDisk(dir.path()) == std::set<std::string>{"secret"});
  // A component of exactly NAME_MAX bytes is fine.
  REQUIRE(s->Put(std::string(255, 'n'), "ok").ok());
  // Prefixes that no valid key can start with list nothing (and read nothing outside the root).
  CHECK(ListKeys(*s, "../").empty());
  CHECK(ListKeys(*s, "../s").empty());
  CHECK(ListKeys(*s, "/").empty());
  CHECK(ListKeys(*s, "a//").empty());
}

TEST_CASE("file: list skips temp files, other file types and empty directories", "[object]") {
  jfs::testing::TempDir dir;
  std::string root = dir.path() + "/root";
  auto s = Open(root);
  REQUIRE(s->Put("a/x", "1").ok());
  REQUIRE(s->Put("c/y", "2").ok());
  WriteRaw(root + "/a/.jfs-tmp.deadbeef", "partial upload");
  WriteRaw(root + "/b/.jfs-tmp.0000", "partial upload");  // a directory holding only a temp file
  fs::create_directories(root + "/empty/deeper");
  fs::create_symlink(root + "/a", root + "/c/link-to-dir");
  REQUIRE(::mkfifo((root + "/c/fifo").c_str(), 0644) == 0);
  CHECK(ListKeys(*s, "") == std::vector<std::string>{"a/x", "c/y"});
  CHECK(ListKeys(*s, "", "/") == std::vector<std::string>{"a/", "c/"});
  std::string out;
  CHECK(s->Get("c/fifo", 0, -1, &out).code() == ENOENT);
  ObjectInfo info;
  CHECK(s->Head("c/fifo", &info).code() == ENOENT);
}

TEST_CASE("file: delete removes emptied directories but never the root", "[object]") {
  jfs::testing::TempDir dir;
  std::string root = dir.path() + "/root";
  auto s = Open(root);
  REQUIRE(s->Put("x/y/z", "1").ok());
  REQUIRE(s->Put("x/w", "2").ok());
  REQUIRE(s->Delete("x/y/z").ok());
  CHECK_FALSE(fs::exists(root + "/x/y"));
  CHECK(fs::exists(root + "/x/w"));
  REQUIRE(s->Delete("x/w").ok());
  CHECK(fs::exists(root));
  CHECK(fs::is_empty(root));
  REQUIRE(s->Put("top", "t").ok());
  REQUIRE(s->Delete("top").ok());
  CHECK(fs::exists(root));
}

TEST_CASE("file: root handling", "[object]") {
  std::unique_ptr<ObjectStore> s;
  CHECK(jfs::object::NewFileStore("", &s).code() == EINVAL);
  jfs::testing::TempDir dir;
  std::string cwd = fs::current_path();
  REQUIRE(::chdir(dir.path().c_str()) == 0);
  Status st = jfs::object::NewFileStore("rel/bucket", &s);
  REQUIRE(::chdir(cwd.c_str()) == 0);
  REQUIRE(st.ok());
  CHECK(s->Describe() == "file://" + dir.path() + "/rel/bucket/");
  // The root is created on demand by Put, and explicitly by Create.
  REQUIRE(s->Put("k", "v").ok());
  CHECK(fs::exists(dir.path() + "/rel/bucket/k"));
  auto s2 = Open(dir.path() + "/made/by/create");
  REQUIRE(s2->Create().ok());
  CHECK(fs::is_directory(dir.path() + "/made/by/create"));
  CHECK(s2->Create().ok());
  // A listing of a root that does not exist yet is empty, not an error.
  auto s3 = Open(dir.path() + "/not/there");
  CHECK(ListKeys(*s3, "").empty());
}

TEST_CASE("file: listing a big tree pages correctly", "[object]") {
  jfs::testing::TempDir dir;
  std::string root = dir.path() + "/root";
  auto s = Open(root);
  // Block-like keys: numeric and byte order differ ("10_..." < "9_...").
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) {
    keys.push_back("chunks/" + std::to_string(i / 1000) + "/" + std::to_string(i / 100) + "/" +
                   std::to_string(i) + "_0_" + std::to_string(4096 + i));
  }
  for (const auto& k : keys) REQUIRE(s->Put(k, "").ok());
  std::sort(keys.begin(), keys.end());

  std::vector<std::string> paged;
  std::string marker;
  int pages = 0;
  for (;;) {
    std::vector<ObjectInfo> out;
    bool truncated = false;
    REQUIRE(s->List("chunks/", marker, "", 100, &out, &truncated).ok());
    ++pages;
    for (const auto& e : out) paged.push_back(e.key);
    if (!truncated) break;
    REQUIRE(out.size() == 100);
    marker = out.back().key;
  }
  CHECK(paged == keys);
  CHECK(pages == 30);

  std::vector<ObjectInfo> all;
  REQUIRE(jfs::object::ListAll(*s, "", &all).ok());
  REQUIRE(all.size() == keys.size());
  for (size_t i = 0; i < all.size(); ++i) REQUIRE(all[i].key == keys[i]);

  // A prefix and a marker in the middle of one directory.
  std::vector<ObjectInfo> out;
  bool truncated = false;
  REQUIRE(s->List("chunks/1/12/", "chunks/1/12/1250_0_5346", "", 5, &out, &truncated).ok());
  std::vector<std::string> got;
  for (const auto& e : out) got.push_back(e.key);
  CHECK(got == std::vector<std::string>{"chunks/1/12/1251_0_5347", "chunks/1/12/1252_0_5348",
                                        "chunks/1/12/1253_0_5349", "chunks/1/12/1254_0_5350",
                                        "chunks/1/12/1255_0_5351"});
  CHECK(truncated);

  // Directory listing of one level, as `juicefs gc` walks it.
  std::vector<std::string> level = ListKeys(*s, "chunks/1/", "/");
  REQUIRE(level.size() == 10);
  CHECK(level.front() == "chunks/1/10/");
  CHECK(level.back() == "chunks/1/19/");
}

TEST_CASE("file: Sync flushes named objects, skips gone ones, rejects bad keys", "[object]") {
  jfs::testing::TempDir dir;
  std::string root = dir.path() + "/root";
  auto s = Open(root);
  REQUIRE(s->Put("chunks/0/0/1_0_5", "block").ok());
  REQUIRE(s->Put("juicefs_uuid", "uuid").ok());
  CHECK(s->Sync({"chunks/0/0/1_0_5", "juicefs_uuid"}).ok());
  CHECK(s->Sync({}).ok());
  // Deleted meanwhile (a removed slice), or a path through a regular file: nothing to flush.
  CHECK(s->Sync({"chunks/0/0/2_0_5", "juicefs_uuid/x", "gone/dir/key"}).ok());
  CHECK(s->Sync({"../escape"}).code() == EINVAL);
  CHECK(s->Sync({"chunks/0/0/1_0_5", ""}).code() == EINVAL);
  CHECK(s->SyncAll().ok());
  // Through the volume prefix: the prefixed keys are flushed, bad keys still rejected.
  auto p = jfs::object::WithPrefix(Open(root), "vol/");
  REQUIRE(p->Put("chunks/0/0/3_0_5", "other").ok());
  CHECK(p->Sync({"chunks/0/0/3_0_5"}).ok());
  CHECK(p->Sync({"/abs"}).code() == EINVAL);
  CHECK(p->SyncAll().ok());
  // Sync changes nothing the store holds.
  CHECK(FilesOnDisk(root) ==
        std::set<std::string>{"chunks/0/0/1_0_5", "juicefs_uuid", "vol/chunks/0/0/3_0_5"});
  // A root that went away is an error, not a silent success.
  fs::remove_all(root);
  CHECK_FALSE(s->SyncAll().ok());
}

// Large ranged reads keep the object open between calls (object_store.h): what they return must
// still follow the object, whoever deletes or replaces it, and however many objects are read.
TEST_CASE("file: large reads follow deleted and replaced objects", "[object]") {
  jfs::testing::TempDir dir;
  const std::string root = dir.path() + "/root";
  auto s = Open(root);
  const size_t big = jfs::object::kFileStoreReadAheadFrom * 2;
  auto content = [&](char c, size_t n) {
    std::string d(n, c);
    for (size_t i = 0; i < n; i += 4096) d[i] = static_cast<char>('a' + i / 4096 % 26);
    return d;
  };
  auto read = [&](const std::string& key, int64_t off, std::string* out) {
    out->assign(big, '\0');
    int64_t n = 0;
    Status st = s->GetInto(key, off, static_cast<int64_t>(big), out->data(), &n);
    out->resize(st.ok() ? static_cast<size_t>(n) : 0);
    return st;
  };
  const std::string key = "chunks/0/0/7_0_4194304";
  const std::string v1 = content('1', big * 2);
  REQUIRE(s->Put(key, v1).ok());
  std::string got;
  REQUIRE(read(key, 0, &got).ok());
  CHECK(got == v1.substr(0, big));

  SECTION("deleted through the store") {
    REQUIRE(s->Delete(key).ok());
    CHECK(read(key, static_cast<int64_t>(big), &got).IsNotFound());
  }
  SECTION("deleted behind the store (another client)") {
    REQUIRE(fs::remove(root + "/" + key));
    CHECK(read(key, static_cast<int64_t>(big), &got).IsNotFound());
  }
  SECTION("replaced through the store") {
    const std::string v2 = content('2', big + 100);
    REQUIRE(s->Put(key, v2).ok());
    REQUIRE(read(key, 100, &got).ok());
    CHECK(got == v2.substr(100));
  }
  SECTION("replaced behind the store") {
    const std::string v3 = content('3', big * 3);
    WriteRaw(root + "/other", v3);
    fs::rename(root + "/other", root + "/" + key);
    REQUIRE(read(key, static_cast<int64_t>(big), &got).ok());
    CHECK(got == v3.substr(big, big));
  }
  SECTION("more objects than are kept open, read in turns") {
    std::vector<std::string> keys, data;
    for (int i = 0; i < 40; ++i) {
      keys.push_back("chunks/0/1/" + std::to_string(100 + i) + "_0_4194304");
      data.push_back(content(static_cast<char>('A' + i % 26), big * 2 + static_cast<size_t>(i)));
      REQUIRE(s->Put(keys.back(), data.back()).ok());
    }
    for (int round = 0; round < 2; ++round) {
      for (size_t i = 0; i < keys.size(); ++i) {
        INFO(keys[i] << " round " << round);
        const int64_t off = round == 0 ? 0 : static_cast<int64_t>(big + i);
        REQUIRE(read(keys[i], off, &got).ok());
        CHECK(got == data[i].substr(static_cast<size_t>(off), big));
      }
    }
    // Reads past the end stop at the object's length.
    REQUIRE(read(keys[5], static_cast<int64_t>(data[5].size() - 10), &got).ok());
    CHECK(got == data[5].substr(data[5].size() - 10));
    REQUIRE(read(keys[5], static_cast<int64_t>(data[5].size() + 10), &got).ok());
    CHECK(got.empty());
  }
}

// WillRead starts the kernel's readahead of an object that is not in the page cache, without
// waiting for it; it ignores missing and bad keys.
TEST_CASE("file: WillRead reads an object ahead, and ignores bad keys", "[object]") {
  jfs::testing::TempDir dir;
  const std::string root = dir.path() + "/root";
  auto s = Open(root);
  const std::string key = "chunks/0/0/9_0_4194304";
  std::string data(4 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  REQUIRE(s->Put(key, data).ok());
  const std::string path = root + "/" + key;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  void* map = ::mmap(nullptr, data.size(), PROT_READ, MAP_SHARED, fd, 0);
  REQUIRE(map != MAP_FAILED);
  // Whether the page at `off` is in the page cache (mincore reads nothing in, unlike a read).
  auto cached = [&](size_t off) {
    unsigned char vec[1] = {0};
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    return ::mincore(static_cast<char*>(map) + off / page * page, 1, vec) == 0 && (vec[0] & 1);
  };
  REQUIRE(::fdatasync(fd) == 0);
  REQUIRE(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
  // On a file system whose pages cannot be dropped (tmpfs), there is nothing to read ahead.
  const bool evicted = !cached(0) && !cached(data.size() - 1);
  s->WillRead(key);
  if (evicted) {
    bool ahead = false;
    for (int i = 0; i < 500 && !ahead; ++i) {
      ahead = cached(0) && cached(data.size() - 1);
      if (!ahead) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(ahead);
  }
  ::munmap(map, data.size());
  ::close(fd);
  std::string got(data.size(), '\0');
  int64_t n = 0;
  REQUIRE(s->GetInto(key, 0, static_cast<int64_t>(data.size()), got.data(), &n).ok());
  CHECK(static_cast<size_t>(n) == data.size());
  CHECK(got == data);
  s->WillRead("chunks/0/0/missing");
  s->WillRead("../escape");
  s->WillRead("");
  REQUIRE(fs::remove(path));
  s->WillRead(key);
  CHECK(s->GetInto(key, 0, 1 << 20, got.data(), &n).IsNotFound());
}

namespace {

// How many pages of the file at `path` are in the page cache.
size_t CachedPages(const std::string& path) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  struct stat st;
  REQUIRE(::fstat(fd.get(), &st) == 0);
  const size_t len = static_cast<size_t>(st.st_size);
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  void* map = ::mmap(nullptr, len, PROT_READ, MAP_SHARED, fd.get(), 0);
  REQUIRE(map != MAP_FAILED);
  std::vector<unsigned char> vec((len + page - 1) / page);
  REQUIRE(::mincore(map, len, vec.data()) == 0);
  ::munmap(map, len);
  return static_cast<size_t>(
      std::count_if(vec.begin(), vec.end(), [](unsigned char v) { return (v & 1) != 0; }));
}

// Whether the file store writes direct under `dir` (FileStoreWritesDirect), and O_DIRECT writes
// there bypass the page cache: a file system may refuse them or, as tmpfs, take them but keep every
// page in memory.
bool DirectIoBypassesCache(const std::string& dir) {
  const UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d.valid() || !jfs::object::FileStoreWritesDirect(d.get())) return false;
  const std::string probe = dir + "/direct_probe";
  bool written = false;
  {
    const UniqueFd fd(::open(probe.c_str(), O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0644));
    if (fd.valid()) {
      void* buf = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      written = buf != MAP_FAILED && ::pwrite(fd.get(), buf, 4096, 0) == 4096;
      if (buf != MAP_FAILED) ::munmap(buf, 4096);
    }
  }
  const bool bypassed = written && CachedPages(probe) == 0;
  ::unlink(probe.c_str());
  return bypassed;
}

}  // namespace

// Big objects from page-aligned buffers go to the disk with direct I/O, their unaligned tails and
// unaligned buffers through the page cache: every way round, the object reads back whole.
TEST_CASE("file: big objects are written with direct I/O, tails and unaligned ones buffered",
          "[object]") {
  jfs::testing::TempDir dir;
  const std::string root = dir.path() + "/root";
  auto s = Open(root);
  const size_t cap = (4 << 20) + 8192;
  void* mem = ::mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(mem != MAP_FAILED);
  char* aligned = static_cast<char*>(mem);
  for (size_t i = 0; i < cap; ++i) aligned[i] = static_cast<char>(i * 13 + i / 4096);
  struct Case {
    const char* key;
    size_t offset;  // into the mapping: non-zero makes the buffer unaligned
    size_t size;
  };
  const Case cases[] = {
      {"chunks/0/0/1_0_4194304", 0, 4 << 20},            // a whole block
      {"chunks/0/0/2_0_4195304", 0, (4 << 20) + 1000},   // and an unaligned tail
      {"chunks/0/0/3_0_1060864", 0, (1 << 20) + 12288},  // the smallest "big" object, and more
      {"chunks/0/0/4_0_2097152", 1, 2 << 20},            // an unaligned buffer
      {"chunks/0/0/5_0_1048575", 0, (1 << 20) - 1},      // below the direct I/O size
  };
  for (const Case& c : cases) {
    INFO(c.key);
    const std::string_view data(aligned + c.offset, c.size);
    REQUIRE(s->Put(c.key, data).ok());
    std::string got;
    REQUIRE(s->Get(c.key, 0, -1, &got).ok());
    CHECK(got.size() == data.size());
    CHECK(got == data);
    REQUIRE(s->Get(c.key, static_cast<int64_t>(c.size - 5000), 5000, &got).ok());
    CHECK(got == data.substr(c.size - 5000));
  }
  // Replacing a direct-written object keeps the atomic rename: readers see the new bytes.
  const std::string_view v2(aligned + 4096, 4 << 20);
  REQUIRE(s->Put(cases[0].key, v2).ok());
  std::string got;
  REQUIRE(s->Get(cases[0].key, 0, -1, &got).ok());
  CHECK(got == v2);
  CHECK(FilesOnDisk(root).size() == std::size(cases));
  if (DirectIoBypassesCache(dir.path())) {
    // Fresh objects (the Gets above read the others into the page cache): nothing of a whole
    // block went through the page cache, and of a block with a 1000-byte tail only that tail.
    REQUIRE(s->Put("chunks/0/0/6_0_4194304", std::string_view(aligned, 4 << 20)).ok());
    CHECK(CachedPages(root + "/chunks/0/0/6_0_4194304") == 0);
    REQUIRE(s->Put("chunks/0/0/7_0_4195304", std::string_view(aligned, (4 << 20) + 1000)).ok());
    CHECK(CachedPages(root + "/chunks/0/0/7_0_4195304") == 1);
  }
  ::munmap(mem, cap);
}

// On a file system that refuses O_DIRECT (ramfs: EINVAL from fcntl F_SETFL), big objects are
// written through the page cache and read back whole. ramfs is mounted in a private mount
// namespace of a child process (a user namespace too when not root), so nothing outside sees it.
// The child reports by exit code: 0 ok, 10 no namespace or mount (the test cannot run here),
// 20+ a failed step.
TEST_CASE("file: a file system without direct I/O gets big objects written buffered", "[object]") {
  jfs::testing::TempDir dir;
  const std::string mnt = dir.path() + "/ramfs";
  REQUIRE(fs::create_directory(mnt));
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    const uid_t uid = ::geteuid();
    const gid_t gid = ::getegid();
    if (::unshare(uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0) ::_exit(10);
    // In a new user namespace, files can be created only by a mapped user: map ours to root.
    auto write_file = [](const char* path, const std::string& text) {
      const UniqueFd fd(::open(path, O_WRONLY | O_CLOEXEC));
      return fd.valid() &&
             ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
    };
    if (uid != 0 && (!write_file("/proc/self/setgroups", "deny") ||
                     !write_file("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
                     !write_file("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))) {
      ::_exit(10);
    }
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("ramfs", mnt.c_str(), "ramfs", 0, nullptr) != 0) {
      ::_exit(10);
    }
    std::unique_ptr<ObjectStore> s;
    if (!jfs::object::NewFileStore(mnt + "/root", &s).ok()) ::_exit(20);
    const size_t len = (4 << 20) + 1000;  // a whole block and a tail
    void* mem = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) ::_exit(21);
    char* p = static_cast<char*>(mem);
    for (int round = 0; round < 2; ++round) {  // the first Put finds out, the second knows
      for (size_t i = 0; i < len; ++i) p[i] = static_cast<char>(i * 11 + i / 4096 + round);
      const std::string key = "chunks/0/0/" + std::to_string(round + 1) + "_0_4195304";
      if (!s->Put(key, std::string_view(p, len)).ok()) ::_exit(22);
      std::string got;
      if (!s->Get(key, 0, -1, &got).ok()) ::_exit(23);
      if (got != std::string_view(p, len)) ::_exit(24);
    }
    ::_exit(0);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  INFO("child exit code " << WEXITSTATUS(status)
                          << " (10: no mount namespace for ramfs here; 20+: a failed step)");
  CHECK(WEXITSTATUS(status) == 0);
}

// Large reads (kept fds, WillRead hints) from several threads while another thread replaces and
// deletes the objects: every read returns one whole version of the object, or NotFound.
TEST_CASE("file: concurrent large reads while objects are replaced and deleted", "[object]") {
  jfs::testing::TempDir dir;
  auto s = Open(dir.path() + "/root");
  const size_t size = jfs::object::kFileStoreReadAheadFrom * 2;
  const int kObjects = 24;  // more than the store keeps open
  auto key = [](int i) { return "chunks/0/2/" + std::to_string(i) + "_0_4194304"; };
  for (int i = 0; i < kObjects; ++i) REQUIRE(s->Put(key(i), std::string(size, 'a')).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0}, reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&, r] {
      std::string buf(size, '\0');
      for (int n = 0; !stop; ++n) {
        const int i = (n * 5 + r) % kObjects;
        s->WillRead(key((i + 1) % kObjects));
        int64_t got = 0;
        Status st = s->GetInto(key(i), 0, static_cast<int64_t>(size), buf.data(), &got);
        if (st.IsNotFound()) continue;
        if (!st.ok() || got != static_cast<int64_t>(size) ||
            buf.find_first_not_of(buf[0]) != std::string::npos || buf[0] < 'a' || buf[0] > 'z') {
          bad++;
        }
        reads++;
      }
    });
  }
  for (int round = 0; round < 200; ++round) {
    const int i = round % kObjects;
    if (round % 7 == 3) {
      REQUIRE(s->Delete(key(i)).ok());
    } else {
      REQUIRE(s->Put(key(i), std::string(size, static_cast<char>('a' + round % 26))).ok());
    }
  }
  while (reads < 200 && bad == 0) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  CHECK(bad == 0);
}
