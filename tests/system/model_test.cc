// Randomized model test of libjuicefs: the same random operations are applied to a libjuicefs
// volume (metadata on the engine under test, JFS_TEST_ENGINE — SQLite by default — and a file
// bucket, 64 KiB blocks) and, as real POSIX system calls, to a
// directory of the local file system, which serves as the model. After every operation the
// results (return value or errno, bytes read) must agree; every kCompareEvery steps and at the end
// both trees are compared recursively (names, types, modes, nlink, sizes, symlink targets, file
// contents, xattrs, hard-link structure).
//
// Reproducing a failure: every failure message starts with the seed and the step, e.g.
//   JFS_MODEL_SEED=1234 JFS_MODEL_OPS=812 build/tests/system/test_system_model
// JFS_MODEL_SEED fixes the seed (default: time-based, so each CI run explores a new sequence),
// JFS_MODEL_OPS the number of operations (default 3000), JFS_MODEL_VERBOSE=1 prints every
// operation as it runs, JFS_MODEL_KEEP=1 keeps the temporary directory (both trees, the SQLite
// database and the bucket) for inspection.
//
// Credentials: the volume is used with uid 0 and the local side runs as whatever user runs the
// test (root in CI and locally), so permission checks never apply on either side. When not root,
// the local side would refuse operations the volume's uid 0 allows, so the test is skipped.
//
// The operations use a small name pool ("a".."d", up to three levels) so that collisions, missing
// parents, non-empty directories and similar error paths happen often. Symlink targets are
// relative names from the same pool: they resolve the same way in both trees (absolute targets
// would point outside the local tree).
#include <dirent.h>
#include <fcntl.h>
#include <juicefs/juicefs.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/meta_url.h"
#include "util/unique_fd.h"

#ifndef RWF_NOAPPEND
#define RWF_NOAPPEND 0x00000020
#endif

namespace {

namespace fs = std::filesystem;

constexpr uint64_t kBlock = 64 * 1024;               // the volume's block size
constexpr uint64_t kChunk = 64ull << 20;             // JuiceFS chunk size
constexpr uint64_t kSmallFile = 1536 * 1024;         // most writes stay below this
constexpr uint64_t kMaxFile = kChunk + (512 << 10);  // rare writes cross the first chunk boundary
constexpr size_t kMaxHandles = 8;
constexpr int kCompareEvery = 50;
constexpr int kContentsEvery = 100;
constexpr size_t kLogLines = 40;

// Names that usually are directories, and names that usually are not. Operations mostly pick the
// kind they act on, so that most of them get past path resolution, yet collisions of the wrong
// kind (EISDIR, ENOTDIR, EEXIST) still happen regularly.
const char* const kDirNames[] = {"d", "e"};
const char* const kFileNames[] = {"f", "g", "h"};
const char* const kAllNames[] = {"d", "e", "f", "g", "h"};
enum class Kind { kFile, kDir, kAny };
const char* const kXattrNames[] = {"user.x", "user.y", "user.long.name"};
const uint32_t kFileModes[] = {0644, 0600, 0755, 0640, 0444, 0666};
const uint32_t kChmodModes[] = {0644, 0600, 0755, 0700, 0444, 0000, 01777, 02755, 04755, 0777};

template <class... A>
std::string Str(const A&... a) {
  std::ostringstream os;
  (os << ... << a);
  return os.str();
}

std::string Oct(uint32_t v) {
  char b[16];
  snprintf(b, sizeof(b), "0%o", v);
  return b;
}

// "-ENOENT" for negative errno results, the number otherwise.
std::string Rc(int64_t rc) {
  if (rc >= 0) return std::to_string(rc);
  const char* n = strerrorname_np(static_cast<int>(-rc));
  return n != nullptr ? std::string("-") + n : std::to_string(rc);
}

// A system call's result in the C ABI's convention (-errno on failure). Call right after the
// system call, before anything can change errno.
int64_t Sys(int64_t rc) {
  return rc < 0 ? -static_cast<int64_t>(errno) : rc;
}

std::string FlagStr(int flags) {
  std::string s;
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      s = "RDONLY";
      break;
    case O_WRONLY:
      s = "WRONLY";
      break;
    default:
      s = "RDWR";
  }
  if (flags & O_CREAT) s += "|CREAT";
  if (flags & O_EXCL) s += "|EXCL";
  if (flags & O_TRUNC) s += "|TRUNC";
  if (flags & O_APPEND) s += "|APPEND";
  if (flags & O_NOFOLLOW) s += "|NOFOLLOW";
  if (flags & O_DIRECTORY) s += "|DIRECTORY";
  return s;
}

uint64_t EnvU64(const char* name, uint64_t def) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return def;
  return strtoull(v, nullptr, 0);
}

// Deterministic for a seed on every platform: mt19937_64 is fully specified, and no
// <random> distribution (implementation-defined) is used.
class Rng {
 public:
  explicit Rng(uint64_t seed) : g_(seed) {}
  uint64_t Next() { return g_(); }
  uint64_t Below(uint64_t n) { return n == 0 ? 0 : g_() % n; }
  bool Chance(double p) { return static_cast<double>(g_() >> 11) * 0x1.0p-53 < p; }
  template <class T, size_t N>
  const T& Pick(const T (&a)[N]) {
    return a[Below(N)];
  }
  std::string Bytes(size_t n) {
    std::string s(n, '\0');
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const uint64_t v = g_();
      memcpy(&s[i], &v, 8);
    }
    if (i < n) {
      const uint64_t v = g_();
      memcpy(&s[i], &v, n - i);
    }
    return s;
  }

 private:
  std::mt19937_64 g_;
};

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "jfs-model-XXXXXX").string();
    if (mkdtemp(t.data()) != nullptr) path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    if (path_.empty()) return;
    if (EnvU64("JFS_MODEL_KEEP", 0) != 0) {
      fprintf(stderr, "model test: kept %s (local tree, meta.db, bucket)\n", path_.c_str());
      return;
    }
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using jfs::UniqueFd;

struct VolumeCloser {
  void operator()(jfs_fs_t* fs) const { (void)jfs_close_volume(fs); }
};
struct FileCloser {
  void operator()(jfs_file_t* f) const { (void)jfs_close(f); }
};
struct DirCloser {
  void operator()(jfs_dir_t* d) const { (void)jfs_closedir(d); }
};
struct FreeDeleter {
  void operator()(void* p) const { jfs_free(p); }
};
struct LocalDirCloser {
  void operator()(DIR* d) const { closedir(d); }
};
using VolumePtr = std::unique_ptr<jfs_fs_t, VolumeCloser>;
using JFilePtr = std::unique_ptr<jfs_file_t, FileCloser>;
using JDirPtr = std::unique_ptr<jfs_dir_t, DirCloser>;
using JMem = std::unique_ptr<void, FreeDeleter>;
using LocalDirPtr = std::unique_ptr<DIR, LocalDirCloser>;

// One open file on both sides.
struct Handle {
  int id = 0;
  std::string path;  // as opened (the file may have been renamed or unlinked since)
  int flags = 0;
  bool is_dir = false;
  JFilePtr jf;
  UniqueFd fd;
};

// The attributes both sides can be compared on.
struct Attrs {
  uint32_t mode = 0;
  uint64_t nlink = 0;
  uint64_t size = 0;
  uint64_t ino = 0;
  int64_t atime = 0, atime_ns = 0, mtime = 0, mtime_ns = 0;
};

Attrs FromLocal(const struct stat& st) {
  Attrs a;
  a.mode = st.st_mode;
  a.nlink = st.st_nlink;
  a.size = static_cast<uint64_t>(st.st_size);
  a.ino = st.st_ino;
  a.atime = st.st_atim.tv_sec;
  a.atime_ns = st.st_atim.tv_nsec;
  a.mtime = st.st_mtim.tv_sec;
  a.mtime_ns = st.st_mtim.tv_nsec;
  return a;
}

Attrs FromJfs(const jfs_stat_t& st) {
  Attrs a;
  a.mode = st.mode;
  a.nlink = st.nlink;
  a.size = st.size;
  a.ino = st.ino;
  a.atime = st.atime.sec;
  a.atime_ns = st.atime.nsec;
  a.mtime = st.mtime.sec;
  a.mtime_ns = st.mtime.nsec;
  return a;
}

std::string AttrStr(const Attrs& a) {
  return Str("mode=", Oct(a.mode), " nlink=", a.nlink, " size=", a.size);
}

class ModelTest {
 public:
  ModelTest(uint64_t seed, int ops, bool verbose)
      : seed_(seed), ops_(ops), verbose_(verbose), rng_(seed) {}

  void Run() {
    Setup();
    for (step_ = 1; step_ <= ops_; ++step_) {
      RandomOp();
      if (step_ % kCompareEvery == 0) CompareTrees(step_ % kContentsEvery == 0);
    }
    step_ = ops_;
    Begin("final comparison with files still open");
    CompareTrees(true);
    Begin("close every handle");
    while (!handles_.empty()) CloseHandle(handles_.size() - 1);
    CompareTrees(true);
    Begin("close and reopen the volume");
    const int rc = jfs_close_volume(fs_.release());
    if (rc != 0) Fail(Str("jfs_close_volume: ", Rc(rc), " ", jfs_last_open_error()));
    OpenVolume();
    CompareTrees(true);
    CheckInodeCount();
    Begin("done");
    Note(Str(checks_, " comparisons"));
    if (!errno_diffs_.empty()) Fail("both sides failed, but with different errors");
  }

  uint64_t checks() const { return checks_; }

 private:
  // ---- set-up ----------------------------------------------------------------------------------

  void Setup() {
    if (tmp_.path().empty()) Fail("mkdtemp failed");
    local_root_ = tmp_.path() + "/local";
    if (mkdir(local_root_.c_str(), 0755) != 0) Fail("mkdir local root failed");
    {
      // Canonical, so that realpath(3) results can be compared after removing this prefix.
      std::unique_ptr<char, decltype(&free)> canon(realpath(local_root_.c_str(), nullptr), &free);
      if (!canon) Fail("realpath of the local root failed");
      local_root_ = canon.get();
    }
    umask(022);
    static const uint64_t kBuffers[] = {0 /* default */, 256 << 10, 2 << 20};
    buffer_size_ = rng_.Pick(kBuffers);
    upload_threads_ = 1 + static_cast<int>(rng_.Below(8));
    std::string error;
    if (!jfs::testing::FreshMetaUrl(tmp_.path(), "model", &url_, &error)) Fail(error);
    const std::string bucket = tmp_.path() + "/bucket";
    jfs_format_options_t fo;
    jfs_format_options_init(&fo);
    fo.bucket = bucket.c_str();
    fo.block_size_kib = kBlock / 1024;
    fo.trash_days = 0;  // unlinked files go away at once, as on the local side
    const int rc = jfs_format(url_.c_str(), "model-test", &fo);
    if (rc != 0) Fail(Str("jfs_format: ", Rc(rc), " ", jfs_last_open_error()));
    OpenVolume();

    // User xattrs need file system support (ext4/xfs/btrfs have it; tmpfs before 6.6 and some
    // overlays do not). Without it, libjuicefs is checked against an in-memory model instead.
    const std::string probe = tmp_.path() + "/xattr-probe";
    UniqueFd pfd(open(probe.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    local_xattr_ = pfd.get() >= 0 && setxattr(probe.c_str(), "user.probe", "1", 1, 0) == 0;
    // pwrite on an O_APPEND descriptor appends on Linux (a documented deviation from POSIX);
    // RWF_NOAPPEND (Linux 6.9) gives the POSIX behaviour libjuicefs implements.
    if (pfd.get() >= 0) {
      UniqueFd afd(open(probe.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
      char c = 'x';
      struct iovec iov = {&c, 1};
      noappend_ = afd.get() >= 0 && pwritev2(afd.get(), &iov, 1, 0, RWF_NOAPPEND) == 1;
      // Nanosecond timestamps (ext4 with small inodes, and some other file systems, round them).
      const struct timespec t[2] = {{1500000000, 123456789}, {1500000000, 987654321}};
      struct stat st;
      ns_times_ = utimensat(AT_FDCWD, probe.c_str(), t, 0) == 0 && stat(probe.c_str(), &st) == 0 &&
                  st.st_atim.tv_nsec == t[0].tv_nsec && st.st_mtim.tv_nsec == t[1].tv_nsec;
    }
    {
      // A directory's nlink is 2 + its subdirectories on ext4/xfs/tmpfs, always 1 on btrfs.
      const std::string d = tmp_.path() + "/nlink-probe";
      struct stat st;
      dir_nlink_ = mkdir(d.c_str(), 0755) == 0 && mkdir((d + "/sub").c_str(), 0755) == 0 &&
                   stat(d.c_str(), &st) == 0 && st.st_nlink == 3;
    }
    printf(
        "model test: seed %llu, %d operations, buffer %llu, %d upload threads, local xattrs %s, "
        "RWF_NOAPPEND %s, ns times %s, dir nlink %s\n",
        static_cast<unsigned long long>(seed_), ops_, static_cast<unsigned long long>(buffer_size_),
        upload_threads_, local_xattr_ ? "yes" : "no (model)", noappend_ ? "yes" : "no",
        ns_times_ ? "yes" : "no", dir_nlink_ ? "yes" : "no");
    fflush(stdout);
  }

  void OpenVolume() {
    jfs_volume_options_t vo;
    jfs_volume_options_init(&vo);
    // A small write buffer makes writes to one file commit other open files' data early (buffer
    // pressure), a path the default 300 MiB never reaches here.
    if (buffer_size_ != 0) vo.buffer_size = buffer_size_;
    vo.upload_threads = upload_threads_;
    jfs_fs_t* fs = nullptr;
    const int rc = jfs_open_volume(url_.c_str(), &vo, &fs);
    if (rc != 0) Fail(Str("jfs_open_volume: ", Rc(rc), " ", jfs_last_open_error()));
    fs_.reset(fs);
    const uint32_t gid = 0;
    const int cr = jfs_set_credentials(fs, 0, &gid, 1, 022);
    if (cr != 0) Fail(Str("jfs_set_credentials: ", Rc(cr)));
  }

  // ---- reporting -------------------------------------------------------------------------------

  void Begin(const std::string& desc) {
    log_.push_back(Str("step ", step_, ": ", desc));
    while (log_.size() > kLogLines) log_.pop_front();
    if (verbose_) fprintf(stderr, "%s\n", log_.back().c_str());
  }
  void Note(const std::string& s) {
    log_.back() += " " + s;
    if (verbose_) fprintf(stderr, "    %s\n", s.c_str());
  }

  [[noreturn]] void Fail(const std::string& what) {
    std::string msg = Str("MODEL DIVERGENCE (seed ", seed_, ", step ", step_, "): ", what,
                          "\n  reproduce: JFS_MODEL_SEED=", seed_, " JFS_MODEL_OPS=", step_,
                          " JFS_MODEL_VERBOSE=1 test_system_model\n  recent operations:\n");
    for (auto& l : log_) msg += "    " + l + "\n";
    if (!errno_diffs_.empty()) {
      msg += Str("  earlier operations where both sides failed with different errors (",
                 errno_diffs_.size(), "):\n");
      for (size_t i = 0; i < errno_diffs_.size() && i < 30; ++i) {
        msg += "    " + errno_diffs_[i] + "\n";
      }
    }
    if (fs_) msg += Str("  last libjuicefs error: ", jfs_last_error(fs_.get()), "\n");
    msg +=
        Str("  space: ", FreeSpace(), " under ", tmp_.path(), " (the local tree and the bucket)\n");
    FAIL(msg);
    abort();  // FAIL throws; this is never reached
  }

  void Same(const std::string& what, int64_t jfs, int64_t local) {
    ++checks_;
    if (jfs == local) return;
    LocalEnvironment(what, local);
    Fail(Str(what, ": libjuicefs ", Rc(jfs), ", local ", Rc(local)));
  }

  // A local write to a regular file that wrote less than asked: the local file system is full.
  void LocalShortWrite(const std::string& what, int64_t lr, uint64_t len) {
    if (lr >= 0 && static_cast<uint64_t>(lr) < len) {
      EnvironmentFail(what, Str("the local side wrote ", lr, " of ", len, " bytes"));
    }
  }

  // A local failure that no file system semantics explain (the disk is full, the process ran out
  // of descriptors or memory, the disk failed) says nothing about libjuicefs: it is reported as
  // what it is, with the free space, instead of as a divergence.
  void LocalEnvironment(const std::string& what, int64_t lr) {
    if (lr == -ENOSPC || lr == -EDQUOT || lr == -EMFILE || lr == -ENFILE || lr == -ENOMEM ||
        lr == -EIO) {
      EnvironmentFail(what, Str("the local side failed with ", Rc(lr)));
    }
  }

  [[noreturn]] void EnvironmentFail(const std::string& what, const std::string& detail) {
    Fail(Str(what, ": ", detail, " (", FreeSpace(),
             "): the test machine ran out of space or another resource; this says nothing "
             "about libjuicefs"));
  }

  std::string FreeSpace() const {
    struct statvfs sv;
    if (tmp_.path().empty() || statvfs(tmp_.path().c_str(), &sv) != 0) return "free space unknown";
    return Str(static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize / 1048576, " MiB free");
  }

  // Both results, recorded in the log and compared. When both sides fail with different errors,
  // neither changed anything, so the run goes on and the difference is reported at the end
  // (more differences per run); `unspecified` may accept the pair when POSIX leaves the choice
  // open in the current state (checked on the local tree, which the failure left unchanged).
  void Results(const std::string& what, int64_t jr, int64_t lr,
               const std::function<bool(int64_t, int64_t)>& unspecified = {}) {
    Note(Str("-> ", Rc(jr), (jr == lr ? "" : Str(" / local ", Rc(lr)))));
    ++checks_;
    if (jr == lr) return;
    LocalEnvironment(what, lr);
    if (jr < 0 && lr < 0) {
      if (unspecified && unspecified(jr, lr)) return Note("(POSIX leaves the error open)");
      errno_diffs_.push_back(Str(log_.back(), " [", jfs_last_error(fs_.get()), "]"));
      return;
    }
    Fail(Str(what, ": libjuicefs ", Rc(jr), ", local ", Rc(lr)));
  }

  // True when {jr, lr} is {-a, -b} in either order.
  static bool ErrPair(int64_t jr, int64_t lr, int a, int b) {
    return (jr == -a && lr == -b) || (jr == -b && lr == -a);
  }

  // The file type of `rel` on the local side without following a final symlink (trailing slashes
  // ignored, unless `slash_follows`: then "link/" is what the link points to), or 0 when it does
  // not exist.
  uint32_t LocalType(const std::string& rel, bool slash_follows = false) {
    std::string p = LPath(rel);
    struct stat st;
    if (slash_follows && p.back() == '/') {
      return stat(p.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
    }
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return lstat(p.c_str(), &st) == 0 ? (st.st_mode & S_IFMT) : 0;
  }

  bool LocalNonEmptyDir(const std::string& rel) {
    if (LocalType(rel) != S_IFDIR) return false;
    std::vector<std::string> names;
    return LocalList(LPath(rel), &names) == 0 && !names.empty();
  }

  void SameBytes(const std::string& what, const char* j, const char* l, size_t n,
                 uint64_t base = 0) {
    ++checks_;
    if (memcmp(j, l, n) == 0) return;
    size_t i = 0;
    while (j[i] == l[i]) ++i;
    Fail(Str(what, ": data differs at offset ", base + i, " (libjuicefs byte 0x", std::hex,
             static_cast<int>(static_cast<uint8_t>(j[i])), ", local 0x",
             static_cast<int>(static_cast<uint8_t>(l[i])), std::dec, ")"));
  }

  // ---- paths -----------------------------------------------------------------------------------

  std::string JPath(const std::string& rel) const { return "/" + rel; }
  std::string LPath(const std::string& rel) const { return local_root_ + "/" + rel; }

  // A path of one to three names from the pool, the last of kind `k` (mostly); sometimes with
  // "." or ".." as an inner component, sometimes with a trailing slash. ".." is never first (it
  // would leave the local tree) nor last (rename/rmdir of "." and ".." are separate,
  // platform-specific corner cases).
  std::string GenPath(Kind k) {
    const size_t depth = rng_.Chance(0.4) ? 1 : rng_.Chance(0.65) ? 2 : 3;
    std::vector<std::string> comps;
    for (size_t i = 0; i + 1 < depth; ++i) {
      comps.push_back(rng_.Chance(0.85) ? rng_.Pick(kDirNames) : rng_.Pick(kAllNames));
    }
    if (k == Kind::kAny || rng_.Chance(0.2)) {
      comps.push_back(rng_.Pick(kAllNames));
    } else {
      comps.push_back(k == Kind::kDir ? rng_.Pick(kDirNames) : rng_.Pick(kFileNames));
    }
    if (depth >= 2 && rng_.Chance(0.05)) {
      comps.insert(comps.begin() + 1 + rng_.Below(depth - 1), rng_.Chance(0.5) ? ".." : ".");
    }
    std::string p;
    for (auto& c : comps) p += (p.empty() ? "" : "/") + c;
    if (rng_.Chance(0.03)) p += "/";
    return p;
  }

  // The kind of the last name of `rel`.
  static Kind KindOf(const std::string& rel) {
    std::string last = rel;
    while (!last.empty() && last.back() == '/') last.pop_back();
    last = last.substr(last.rfind('/') + 1);
    return last == "d" || last == "e" ? Kind::kDir : Kind::kFile;
  }

  std::string GenTarget() {
    if (rng_.Chance(0.02)) return "";  // ENOENT on both sides
    std::string t = rng_.Pick(kAllNames);
    if (rng_.Chance(0.35)) t = std::string(rng_.Pick(kDirNames)) + "/" + rng_.Pick(kAllNames);
    return t;
  }

  bool LocalIsFifo(const std::string& rel) {
    struct stat st;
    return stat(LPath(rel).c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
  }

  // ---- sizes and offsets -----------------------------------------------------------------------

  uint64_t GenLen() {
    switch (rng_.Below(10)) {
      case 0:
        return 0;
      case 1:
      case 2:
      case 3:
        return 1 + rng_.Below(100);
      case 4:
      case 5:
        return 1 + rng_.Below(8192);
      case 6:
      case 7:
        return kBlock - 100 + rng_.Below(200);  // about one block
      default:
        return 1 + rng_.Below(300 * 1024);
    }
  }

  uint64_t GenOffset(uint64_t size) {
    uint64_t off = 0;
    switch (rng_.Below(7)) {
      case 0:
        off = rng_.Below(size + 1);
        break;
      case 1:
        off = size;
        break;
      case 2: {  // near a block boundary
        const uint64_t b = (1 + rng_.Below(10)) * kBlock;
        off = b - 200 + rng_.Below(400);
        break;
      }
      case 3:  // sparse, past the end of file
        off = size + rng_.Below(200 * 1024);
        break;
      case 4:
        off = rng_.Below(4096);
        break;
      case 5:
        // Rarely across the first chunk boundary (sparse; later operations keep the size).
        off = rng_.Chance(0.03) ? kChunk - (256 << 10) + rng_.Below(512 << 10)
                                : rng_.Below(kSmallFile);
        break;
      default:
        off = rng_.Below(kSmallFile);
    }
    return std::min(off, kMaxFile);
  }

  uint64_t LocalSize(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) Fail(Str("local fstat: ", strerror(errno)));
    return static_cast<uint64_t>(st.st_size);
  }

  // ---- handles ---------------------------------------------------------------------------------

  Handle& PickHandle(const char* op) {
    Handle& h = *handles_[rng_.Below(handles_.size())];
    Begin(Str(op, " h", h.id, "(", h.path, (h.is_dir ? ",dir" : ""), ",", FlagStr(h.flags), ")"));
    return h;
  }

  void CloseHandle(size_t i) {
    Handle& h = *handles_[i];
    Begin(Str("close h", h.id, "(", h.path, ")"));
    const int jr = jfs_close(h.jf.release());
    const int lr = static_cast<int>(Sys(::close(h.fd.Release())));
    Results("close", jr, lr);
    handles_.erase(handles_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  // ---- operations ------------------------------------------------------------------------------

  void RandomOp() {
    struct Op {
      int weight;
      void (ModelTest::*fn)();
    };
    static const Op kOps[] = {
        {14, &ModelTest::OpOpen},         {5, &ModelTest::OpClose},
        {12, &ModelTest::OpPwrite},       {6, &ModelTest::OpWrite},
        {8, &ModelTest::OpPread},         {5, &ModelTest::OpRead},
        {3, &ModelTest::OpLseek},         {4, &ModelTest::OpFtruncate},
        {3, &ModelTest::OpTruncate},      {3, &ModelTest::OpFsync},
        {3, &ModelTest::OpFstat},         {6, &ModelTest::OpMkdir},
        {3, &ModelTest::OpRmdir},         {5, &ModelTest::OpUnlink},
        {8, &ModelTest::OpRename},        {3, &ModelTest::OpLink},
        {3, &ModelTest::OpSymlink},       {2, &ModelTest::OpReadlink},
        {2, &ModelTest::OpChmod},         {3, &ModelTest::OpStat},
        {1, &ModelTest::OpUtimens},       {1, &ModelTest::OpMknod},
        {3, &ModelTest::OpSetxattr},      {2, &ModelTest::OpGetxattr},
        {1, &ModelTest::OpRemovexattr},   {1, &ModelTest::OpListxattr},
        {2, &ModelTest::OpListdir},       {1, &ModelTest::OpRealpath},
        {1, &ModelTest::OpAccess},        {3, &ModelTest::OpFallocate},
        {3, &ModelTest::OpCopyFileRange}, {1, &ModelTest::OpCompact},
    };
    int total = 0;
    for (auto& op : kOps) total += op.weight;
    int r = static_cast<int>(rng_.Below(static_cast<uint64_t>(total)));
    for (auto& op : kOps) {
      if (r < op.weight) {
        (this->*op.fn)();
        return;
      }
      r -= op.weight;
    }
  }

  void OpOpen() {
    if (handles_.size() >= kMaxHandles) {
      CloseHandle(rng_.Below(handles_.size()));
      return;
    }
    const std::string rel = GenPath(Kind::kFile);
    static const int kAcc[] = {O_RDONLY, O_WRONLY, O_RDWR, O_RDWR};
    int flags = rng_.Pick(kAcc);
    if (rng_.Chance(0.55)) {
      flags |= O_CREAT;
      if (rng_.Chance(0.25)) flags |= O_EXCL;
    }
    // O_TRUNC with O_RDONLY is unspecified by POSIX (Linux truncates), so it is not generated.
    if ((flags & O_ACCMODE) != O_RDONLY && rng_.Chance(0.2)) flags |= O_TRUNC;
    if (rng_.Chance(0.2)) flags |= O_APPEND;
    if (rng_.Chance(0.04)) flags |= O_NOFOLLOW;
    // O_DIRECTORY with O_CREAT is unspecified (EINVAL on Linux 6.4+, a file before).
    if (!(flags & O_CREAT) && rng_.Chance(0.04)) flags |= O_DIRECTORY;
    const uint32_t mode = rng_.Pick(kFileModes);
    Begin(Str("open ", rel, " ", FlagStr(flags), " ", Oct(mode), " as h", next_handle_));
    // Opening a FIFO blocks on Linux until a peer opens it; libjuicefs does not open FIFOs.
    if (LocalIsFifo(rel)) return Note("(skipped: FIFO)");
    jfs_file_t* jf = nullptr;
    const int jr = jfs_open(fs_.get(), JPath(rel).c_str(), flags, mode, &jf);
    JFilePtr jown(jr == 0 ? jf : nullptr);
    UniqueFd fd(open(LPath(rel).c_str(), flags | O_CLOEXEC, mode));
    const int lr = fd.get() < 0 ? -errno : 0;
    Results("open", jr, lr, [&](int64_t j, int64_t l) {
      // O_CREAT on "name/": Linux answers EISDIR before even resolving the path. Other
      // conditions that hold may be reported instead (XSH 2.3): the error resolving the path
      // gives (POSIX asks for ENOTDIR when "name" is not a directory; ELOOP, ENOENT, ...), or
      // EEXIST with O_EXCL when it resolves.
      // A symlink with O_NOFOLLOW | O_DIRECTORY: ELOOP and ENOTDIR both hold.
      if (ErrPair(j, l, ELOOP, ENOTDIR) && (flags & O_NOFOLLOW) && (flags & O_DIRECTORY) &&
          LocalType(rel) == S_IFLNK) {
        return true;
      }
      if (l != -EISDIR || !(flags & O_CREAT) || rel.back() != '/') return false;
      struct stat st;
      const int64_t sr = Sys(stat(LPath(rel).c_str(), &st));
      return (sr < 0 && j == sr) || (sr == 0 && (flags & O_EXCL) && j == -EEXIST);
    });
    if (jr != 0) return;
    auto h = std::make_unique<Handle>();
    h->id = next_handle_++;
    h->path = rel;
    h->flags = flags;
    struct stat st;
    if (fstat(fd.get(), &st) != 0) Fail("local fstat failed");
    h->is_dir = S_ISDIR(st.st_mode);
    h->jf = std::move(jown);
    h->fd = std::move(fd);
    handles_.push_back(std::move(h));
  }

  void OpClose() {
    if (handles_.empty()) return OpOpen();
    CloseHandle(rng_.Below(handles_.size()));
  }

  void OpPwrite() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("pwrite");
    if (h.is_dir) return OpPread();
    const uint64_t size = LocalSize(h.fd.get());
    const uint64_t off = GenOffset(size);
    const uint64_t len = std::min(GenLen(), kMaxFile - off);
    Note(Str("off=", off, " len=", len));
    if ((h.flags & O_APPEND) && !noappend_) return Note("(skipped: no RWF_NOAPPEND here)");
    const std::string data = rng_.Bytes(len);
    const int64_t jr = jfs_pwrite(h.jf.get(), data.data(), len, static_cast<int64_t>(off));
    int64_t lr;
    if (h.flags & O_APPEND) {
      struct iovec iov = {const_cast<char*>(data.data()), len};
      lr = Sys(pwritev2(h.fd.get(), &iov, 1, static_cast<off_t>(off), RWF_NOAPPEND));
    } else {
      lr = Sys(pwrite(h.fd.get(), data.data(), len, static_cast<off_t>(off)));
    }
    LocalShortWrite("pwrite", lr, len);
    Results("pwrite", jr, lr);
  }

  void OpWrite() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("write");
    const uint64_t len = std::min<uint64_t>(GenLen(), 300 * 1024);
    Note(Str("len=", len));
    if (h.is_dir) {
      // Directories are only ever open read-only: EBADF on both sides.
      const int64_t jr = jfs_write(h.jf.get(), "x", 1);
      const int64_t lr = Sys(::write(h.fd.get(), "x", 1));
      return Results("write", jr, lr);
    }
    const off_t pos = lseek(h.fd.get(), 0, SEEK_CUR);
    const uint64_t end = (h.flags & O_APPEND) ? LocalSize(h.fd.get()) : static_cast<uint64_t>(pos);
    if (end + len > kMaxFile) return Note("(skipped: file would grow too large)");
    const std::string data = rng_.Bytes(len);
    const int64_t jr = jfs_write(h.jf.get(), data.data(), len);
    const int64_t lr = Sys(::write(h.fd.get(), data.data(), len));
    LocalShortWrite("write", lr, len);
    Results("write", jr, lr);
    ComparePosition(h);
  }

  void OpPread() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("pread");
    const uint64_t size = h.is_dir ? 0 : LocalSize(h.fd.get());
    // Mostly inside the file, sometimes past its end.
    const uint64_t off = rng_.Chance(0.8) ? rng_.Below(size + 1) : GenOffset(size);
    // A zero-byte read of a directory is unspecified (Linux: EISDIR or 0 by file system).
    const uint64_t len = h.is_dir ? 1 + rng_.Below(100) : GenLen();
    Note(Str("off=", off, " len=", len));
    std::string jb(len, '\0'), lb(len, '\0');
    const int64_t jr = jfs_pread(h.jf.get(), jb.data(), len, static_cast<int64_t>(off));
    const int64_t lr = Sys(pread(h.fd.get(), lb.data(), len, static_cast<off_t>(off)));
    Results("pread", jr, lr);
    if (jr > 0) SameBytes("pread", jb.data(), lb.data(), static_cast<size_t>(jr), off);
  }

  void OpRead() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("read");
    const uint64_t len = h.is_dir ? 1 + rng_.Below(100) : GenLen();
    const off_t pos = lseek(h.fd.get(), 0, SEEK_CUR);
    Note(Str("pos=", pos, " len=", len));
    std::string jb(len, '\0'), lb(len, '\0');
    const int64_t jr = jfs_read(h.jf.get(), jb.data(), len);
    const int64_t lr = Sys(::read(h.fd.get(), lb.data(), len));
    Results("read", jr, lr);
    if (jr > 0) SameBytes("read", jb.data(), lb.data(), static_cast<size_t>(jr), pos);
    if (!h.is_dir) ComparePosition(h);
  }

  // The file positions of both sides, through lseek(SEEK_CUR).
  void ComparePosition(Handle& h) {
    const int64_t jp = jfs_lseek(h.jf.get(), 0, JFS_SEEK_CUR);
    const int64_t lp = Sys(lseek(h.fd.get(), 0, SEEK_CUR));
    Same("file position", jp, lp);
  }

  void OpLseek() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("lseek");
    // Seeking in a directory means positioning a readdir stream: not comparable.
    if (h.is_dir) return Note("(skipped: directory)");
    const int64_t size = static_cast<int64_t>(LocalSize(h.fd.get()));
    const int64_t pos = lseek(h.fd.get(), 0, SEEK_CUR);
    int whence = static_cast<int>(rng_.Below(3));
    int64_t off = 0;
    switch (whence) {
      case SEEK_SET:
        off = static_cast<int64_t>(GenOffset(static_cast<uint64_t>(size)));
        if (rng_.Chance(0.05)) off = -1 - static_cast<int64_t>(rng_.Below(10));
        break;
      case SEEK_CUR:
        off = static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(pos) + 100 * 1024)) - pos - 10;
        break;
      default:
        off =
            static_cast<int64_t>(rng_.Below(static_cast<uint64_t>(size) + 100 * 1024)) - size - 10;
    }
    Note(Str("off=", off, " whence=", whence));
    const int64_t jr = jfs_lseek(h.jf.get(), off, whence);
    const int64_t lr = Sys(lseek(h.fd.get(), off, whence));
    Results("lseek", jr, lr);
  }

  void OpFtruncate() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("ftruncate");
    const uint64_t len = GenOffset(h.is_dir ? 0 : LocalSize(h.fd.get()));
    Note(Str("len=", len));
    const int jr = jfs_ftruncate(h.jf.get(), static_cast<int64_t>(len));
    const int64_t lr = Sys(ftruncate(h.fd.get(), static_cast<off_t>(len)));
    Results("ftruncate", jr, lr);
  }

  // fallocate(2): mode 0, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE (± KEEP_SIZE).
  void OpFallocate() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("fallocate");
    static const int kModes[] = {0,
                                 FALLOC_FL_KEEP_SIZE,
                                 FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                 FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                 FALLOC_FL_ZERO_RANGE,
                                 FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE};
    const int mode = rng_.Pick(kModes);
    const uint64_t size = h.is_dir ? 0 : LocalSize(h.fd.get());
    const uint64_t off = rng_.Chance(0.8) ? rng_.Below(size + 1) : GenOffset(size);
    const uint64_t len =
        std::max<uint64_t>(1, std::min(GenLen(), kMaxFile - std::min(off, kMaxFile - 1)));
    Note(Str("mode=", mode, " off=", off, " len=", len));
    const int64_t lr =
        Sys(fallocate(h.fd.get(), mode, static_cast<off_t>(off), static_cast<off_t>(len)));
    if (lr == -EOPNOTSUPP) return Note("(skipped: the local file system does not support it)");
    const int jr =
        jfs_fallocate(h.jf.get(), mode, static_cast<int64_t>(off), static_cast<int64_t>(len));
    Results("fallocate", jr, lr);
  }

  // copy_file_range(2) with explicit offsets between two open handles (possibly one file).
  void OpCopyFileRange() {
    if (handles_.size() < 2) return OpOpen();
    Handle& in = *handles_[rng_.Below(handles_.size())];
    Handle& out = *handles_[rng_.Below(handles_.size())];
    Begin(Str("copy_file_range h", in.id, "(", in.path, ") -> h", out.id, "(", out.path, ")"));
    if (in.is_dir || out.is_dir) return Note("(skipped: directory)");
    const uint64_t isize = LocalSize(in.fd.get());
    const uint64_t osize = LocalSize(out.fd.get());
    uint64_t off_in = rng_.Chance(0.9) ? rng_.Below(isize + 1) : GenOffset(isize);
    uint64_t off_out = rng_.Chance(0.8) ? rng_.Below(osize + 1) : GenOffset(osize);
    off_in = std::min(off_in, kMaxFile), off_out = std::min(off_out, kMaxFile);
    const uint64_t len = std::min(GenLen(), kMaxFile - off_out);
    Note(Str("off_in=", off_in, " off_out=", off_out, " len=", len));
    loff_t li = static_cast<loff_t>(off_in), lo = static_cast<loff_t>(off_out);
    const int64_t lr = Sys(copy_file_range(in.fd.get(), &li, out.fd.get(), &lo, len, 0));
    if (lr == -EXDEV || lr == -EOPNOTSUPP) return Note("(skipped: local file system)");
    const int64_t jr = jfs_copy_file_range(in.jf.get(), static_cast<int64_t>(off_in), out.jf.get(),
                                           static_cast<int64_t>(off_out), len, 0);
    Results("copy_file_range", jr, lr);
  }

  // `jfs compact` of a random path: changes no visible byte (checked by the next comparisons).
  void OpCompact() {
    const std::string rel = GenPath(Kind::kAny);
    Begin(Str("compact ", rel));
    const int jr = jfs_compact(fs_.get(), JPath(rel).c_str());
    Note(Str("-> ", Rc(jr)));
    if (jr < 0 && jr != -ENOENT && jr != -ENOTDIR && jr != -ELOOP && jr != -ENAMETOOLONG) {
      Fail(Str("compact: ", Rc(jr), " [", jfs_last_error(fs_.get()), "]"));
    }
  }

  void OpFsync() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("fsync");
    const bool flush = rng_.Chance(0.5);
    Note(flush ? "(jfs_flush)" : "(jfs_fsync)");
    const int jr = flush ? jfs_flush(h.jf.get()) : jfs_fsync(h.jf.get());
    // fsync(2) of an open descriptor succeeds on the local side whatever the file; calling it
    // would only cost a disk flush per call, so the model just checks the descriptor.
    const int64_t lr = fcntl(h.fd.get(), F_GETFD) < 0 ? -errno : 0;
    Results("fsync", jr, lr);
  }

  void OpFstat() {
    if (handles_.empty()) return OpOpen();
    Handle& h = PickHandle("fstat");
    jfs_stat_t js;
    struct stat ls;
    const int jr = jfs_fstat(h.jf.get(), &js);
    const int64_t lr = Sys(fstat(h.fd.get(), &ls));
    Results("fstat", jr, lr);
    if (jr == 0) CompareAttrs("fstat", FromJfs(js), FromLocal(ls), false);
  }

  // Mode, nlink and (except for directories, whose size is file-system specific) size.
  void CompareAttrs(const std::string& what, const Attrs& j, const Attrs& l, bool times) {
    ++checks_;
    const bool dir = S_ISDIR(l.mode);
    const bool nlink_differs = j.nlink != l.nlink && (!dir || dir_nlink_);
    if (j.mode != l.mode || nlink_differs || (!dir && j.size != l.size)) {
      Fail(Str(what, ": attributes differ: libjuicefs ", AttrStr(j), ", local ", AttrStr(l)));
    }
    if (times && (j.atime != l.atime || j.mtime != l.mtime ||
                  (ns_times_ && (j.atime_ns != l.atime_ns || j.mtime_ns != l.mtime_ns)))) {
      Fail(Str(what, ": times differ: libjuicefs atime ", j.atime, ".", j.atime_ns, " mtime ",
               j.mtime, ".", j.mtime_ns, ", local atime ", l.atime, ".", l.atime_ns, " mtime ",
               l.mtime, ".", l.mtime_ns));
    }
  }

  void OpTruncate() {
    const std::string rel = GenPath(Kind::kFile);
    struct stat st;
    const bool reg = stat(LPath(rel).c_str(), &st) == 0 && S_ISREG(st.st_mode);
    const uint64_t len = GenOffset(reg ? static_cast<uint64_t>(st.st_size) : 0);
    Begin(Str("truncate ", rel, " ", len));
    if (LocalIsFifo(rel)) return Note("(skipped: FIFO)");  // truncate(2) of a FIFO: EINVAL
    const int jr = jfs_truncate(fs_.get(), JPath(rel).c_str(), static_cast<int64_t>(len));
    const int64_t lr = Sys(truncate(LPath(rel).c_str(), static_cast<off_t>(len)));
    Results("truncate", jr, lr);
  }

  void OpMkdir() {
    const std::string rel = GenPath(Kind::kDir);
    // No S_ISGID: its meaning in mkdir's mode is implementation-defined (Linux drops it; a setgid
    // directory comes from chmod or from inheritance, which the chmod modes exercise).
    const uint32_t mode = rng_.Chance(0.1) ? 01777 : rng_.Chance(0.5) ? 0755 : 0777;
    Begin(Str("mkdir ", rel, " ", Oct(mode)));
    const int jr = jfs_mkdir(fs_.get(), JPath(rel).c_str(), mode);
    const int64_t lr = Sys(mkdir(LPath(rel).c_str(), mode));
    Results("mkdir", jr, lr);
  }

  void OpRmdir() {
    const std::string rel = GenPath(Kind::kDir);
    Begin(Str("rmdir ", rel));
    const int jr = jfs_rmdir(fs_.get(), JPath(rel).c_str());
    const int64_t lr = Sys(rmdir(LPath(rel).c_str()));
    Results("rmdir", jr, lr);
  }

  void OpUnlink() {
    const std::string rel = GenPath(Kind::kFile);
    Begin(Str("unlink ", rel));
    const int jr = jfs_unlink(fs_.get(), JPath(rel).c_str());
    const int64_t lr = Sys(unlink(LPath(rel).c_str()));
    Results("unlink", jr, lr);
  }

  void OpRename() {
    const std::string from = GenPath(Kind::kAny);
    const std::string to = rng_.Chance(0.03)  ? from
                           : rng_.Chance(0.6) ? GenPath(KindOf(from))
                                              : GenPath(Kind::kAny);
    const uint32_t flags = rng_.Chance(0.6)   ? 0
                           : rng_.Chance(0.5) ? JFS_RENAME_NOREPLACE
                                              : JFS_RENAME_EXCHANGE;
    Begin(Str("rename ", from, " ", to,
              flags == 0                      ? ""
              : flags == JFS_RENAME_NOREPLACE ? " NOREPLACE"
                                              : " EXCHANGE"));
    const int jr = jfs_rename(fs_.get(), JPath(from).c_str(), JPath(to).c_str(), flags);
    // RENAME_NOREPLACE / RENAME_EXCHANGE have the same values as JFS_RENAME_*.
    const int64_t lr = Sys(
        syscall(SYS_renameat2, AT_FDCWD, LPath(from).c_str(), AT_FDCWD, LPath(to).c_str(), flags));
    // When several error conditions hold, POSIX leaves open which one is reported (XSH 2.3,
    // "Error Numbers"); each case below checks that libjuicefs' error does hold.
    Results("rename", jr, lr, [&](int64_t j, int64_t l) {
      const uint32_t from_type = LocalType(from);
      // A non-directory onto a non-empty directory: EISDIR and ENOTEMPTY (Linux reports
      // ENOTEMPTY first when `to` is an ancestor of `from`).
      if (ErrPair(j, l, EISDIR, ENOTEMPTY) && LocalNonEmptyDir(to) && from_type != S_IFDIR &&
          from_type != 0) {
        return true;
      }
      // A directory into its own subdirectory, which is not empty: EINVAL and ENOTEMPTY; or onto
      // a non-directory below itself: EINVAL and ENOTDIR.
      if (ErrPair(j, l, EINVAL, ENOTEMPTY) && LocalNonEmptyDir(to)) return true;
      const uint32_t to_type = LocalType(to);
      if (ErrPair(j, l, EINVAL, ENOTDIR) && from_type == S_IFDIR && to_type != 0 &&
          to_type != S_IFDIR) {
        return true;
      }
      // A trailing slash on either name while `from` is not a directory: ENOTDIR, whatever else
      // holds too (`to` missing for EXCHANGE, `to` existing for NOREPLACE, ...).
      const bool slash = from.back() == '/' || to.back() == '/';
      return j == -ENOTDIR && slash && from_type != S_IFDIR && from_type != 0;
    });
  }

  void OpLink() {
    const std::string from = GenPath(Kind::kFile);
    const std::string to = GenPath(Kind::kFile);
    Begin(Str("link ", from, " ", to));
    const int jr = jfs_link(fs_.get(), JPath(from).c_str(), JPath(to).c_str());
    const int64_t lr = Sys(link(LPath(from).c_str(), LPath(to).c_str()));
    Results("link", jr, lr, [&](int64_t j, int64_t l) {
      // Linking a directory to a name that exists: EPERM and EEXIST both apply; the order of
      // detection is open (XSH 2.3).
      return ErrPair(j, l, EPERM, EEXIST) && LocalType(from, true) == S_IFDIR && LocalType(to) != 0;
    });
  }

  void OpSymlink() {
    const std::string target = GenTarget();
    const std::string rel = GenPath(Kind::kFile);
    Begin(Str("symlink ", rel, " -> \"", target, "\""));
    const int jr = jfs_symlink(fs_.get(), target.c_str(), JPath(rel).c_str());
    const int64_t lr = Sys(symlink(target.c_str(), LPath(rel).c_str()));
    Results("symlink", jr, lr);
  }

  void OpReadlink() {
    const std::string rel = GenPath(Kind::kFile);
    Begin(Str("readlink ", rel));
    char* jt = nullptr;
    size_t jlen = 0;
    const int jr = jfs_readlink(fs_.get(), JPath(rel).c_str(), &jt, &jlen);
    JMem jown(jr == 0 ? jt : nullptr);
    char lt[8192];
    const int64_t lr = Sys(readlink(LPath(rel).c_str(), lt, sizeof(lt)));
    Results("readlink", jr, lr < 0 ? lr : 0);
    if (jr == 0) {
      ++checks_;
      const std::string a(jt, jlen), b(lt, static_cast<size_t>(lr));
      if (a != b) Fail(Str("readlink: libjuicefs \"", a, "\", local \"", b, "\""));
    }
  }

  void OpChmod() {
    const std::string rel = GenPath(Kind::kAny);
    const uint32_t mode = rng_.Pick(kChmodModes);
    Begin(Str("chmod ", rel, " ", Oct(mode)));
    const int jr = jfs_chmod(fs_.get(), JPath(rel).c_str(), mode);
    const int64_t lr = Sys(chmod(LPath(rel).c_str(), mode));
    Results("chmod", jr, lr);
  }

  void OpStat() {
    const std::string rel = GenPath(Kind::kAny);
    const bool follow = rng_.Chance(0.5);
    Begin(Str(follow ? "stat " : "lstat ", rel));
    jfs_stat_t js;
    struct stat ls;
    const int jr = follow ? jfs_stat(fs_.get(), JPath(rel).c_str(), &js)
                          : jfs_lstat(fs_.get(), JPath(rel).c_str(), &js);
    const int64_t lr = Sys(follow ? stat(LPath(rel).c_str(), &ls) : lstat(LPath(rel).c_str(), &ls));
    Results("stat", jr, lr);
    if (jr == 0) CompareAttrs("stat " + rel, FromJfs(js), FromLocal(ls), false);
  }

  void OpUtimens() {
    const std::string rel = GenPath(Kind::kAny);
    const bool follow = rng_.Chance(0.7);
    jfs_timespec_t jt[2];
    struct timespec lt[2];
    for (int i = 0; i < 2; ++i) {
      lt[i].tv_sec = static_cast<time_t>(1000000000 + rng_.Below(1000000000));
      lt[i].tv_nsec = static_cast<long>(rng_.Below(1000000000));
      if (rng_.Chance(0.15)) lt[i].tv_nsec = UTIME_OMIT;
    }
    // Both omitted: Linux succeeds without even looking the path up (utimensat(2) NOTES), a
    // Linux quirk POSIX does not ask for; not generated.
    if (lt[0].tv_nsec == UTIME_OMIT && lt[1].tv_nsec == UTIME_OMIT) lt[1].tv_nsec = 0;
    for (int i = 0; i < 2; ++i) {
      jt[i].sec = lt[i].tv_sec;
      jt[i].nsec = lt[i].tv_nsec;
    }
    Begin(Str(follow ? "utimens " : "lutimens ", rel, " ", lt[0].tv_sec, ".", lt[0].tv_nsec, " ",
              lt[1].tv_sec, ".", lt[1].tv_nsec));
    const int jr = follow ? jfs_utimens(fs_.get(), JPath(rel).c_str(), jt)
                          : jfs_lutimens(fs_.get(), JPath(rel).c_str(), jt);
    const int64_t lr =
        Sys(utimensat(AT_FDCWD, LPath(rel).c_str(), lt, follow ? 0 : AT_SYMLINK_NOFOLLOW));
    Results("utimens", jr, lr);
    if (jr != 0) return;
    jfs_stat_t js;
    struct stat ls;
    const int jr2 = follow ? jfs_stat(fs_.get(), JPath(rel).c_str(), &js)
                           : jfs_lstat(fs_.get(), JPath(rel).c_str(), &js);
    const int64_t lr2 =
        Sys(follow ? stat(LPath(rel).c_str(), &ls) : lstat(LPath(rel).c_str(), &ls));
    Same("stat after utimens", jr2, lr2);
    if (jr2 != 0) return;
    // An omitted time keeps whatever reads/writes made it, which differs between the sides.
    Attrs ja = FromJfs(js), la = FromLocal(ls);
    if (lt[0].tv_nsec == UTIME_OMIT) ja.atime = la.atime, ja.atime_ns = la.atime_ns;
    if (lt[1].tv_nsec == UTIME_OMIT) ja.mtime = la.mtime, ja.mtime_ns = la.mtime_ns;
    CompareAttrs("stat after utimens", ja, la, true);
  }

  void OpRealpath() {
    const std::string rel = GenPath(Kind::kAny);
    Begin(Str("realpath ", rel));
    char* jp = nullptr;
    const int jr = jfs_realpath(fs_.get(), JPath(rel).c_str(), &jp);
    JMem jown(jr == 0 ? jp : nullptr);
    std::unique_ptr<char, decltype(&free)> lp(realpath(LPath(rel).c_str(), nullptr), &free);
    const int64_t lr = lp ? 0 : -errno;
    Results("realpath", jr, lr);
    if (jr != 0) return;
    // Symlink targets never contain "..", so the result stays inside the local root.
    const std::string local = lp.get();
    std::string want = local.substr(std::min(local.size(), local_root_.size()));
    if (want.empty()) want = "/";
    ++checks_;
    if (jp != want) Fail(Str("realpath ", rel, ": libjuicefs \"", jp, "\", local \"", want, "\""));
  }

  void OpAccess() {
    const std::string rel = GenPath(Kind::kAny);
    const int mask = static_cast<int>(rng_.Below(8));  // F_OK or any of R_OK | W_OK | X_OK
    Begin(Str("access ", rel, " ", mask));
    const int jr = jfs_access(fs_.get(), JPath(rel).c_str(), mask);
    const int64_t lr = Sys(access(LPath(rel).c_str(), mask));
    // X_OK for a privileged process on a file nobody may execute: POSIX lets an implementation
    // indicate success (access(2) APPLICATION USAGE / RATIONALE); Linux says EACCES.
    struct stat st;
    const bool unexecutable = stat(LPath(rel).c_str(), &st) == 0 && !S_ISDIR(st.st_mode) &&
                              (st.st_mode & 0111) == 0 && (mask & X_OK);
    if (unexecutable && jr == 0 && lr == -EACCES) {
      return Note("-> 0 / local -EACCES (X_OK for root on a file nobody may execute: open)");
    }
    Results("access", jr, lr);
  }

  void OpMknod() {
    const std::string rel = GenPath(Kind::kFile);
    Begin(Str("mkfifo ", rel));
    const int jr = jfs_mknod(fs_.get(), JPath(rel).c_str(), S_IFIFO | 0644, 0);
    const int64_t lr = Sys(mknod(LPath(rel).c_str(), S_IFIFO | 0644, 0));
    Results("mknod", jr, lr);
  }

  // ---- xattrs ----------------------------------------------------------------------------------

  // Linux refuses user.* attributes on anything but regular files and directories (xattr(7));
  // libjuicefs, like JuiceFS, allows them on every inode. A policy of Linux, so such targets
  // (FIFOs here) are not used for xattr operations.
  bool XattrTargetOk(const std::string& rel) { return !LocalIsFifo(rel); }

  // In-memory xattrs per libjuicefs inode, used only when the local FS lacks user xattrs.
  int64_t ModelXattrInode(const std::string& rel, uint64_t* ino) {
    struct stat ls;
    const int64_t lr = Sys(stat(LPath(rel).c_str(), &ls));
    if (lr != 0) return lr;
    jfs_stat_t js;
    const int jr = jfs_stat(fs_.get(), JPath(rel).c_str(), &js);
    if (jr != 0) Fail(Str("stat for the xattr model: libjuicefs ", Rc(jr), ", local 0"));
    *ino = js.ino;
    return 0;
  }

  int64_t LocalSetxattr(const std::string& rel, const char* name, const std::string& v, int flags) {
    if (local_xattr_) {
      return Sys(setxattr(LPath(rel).c_str(), name, v.data(), v.size(), flags));
    }
    uint64_t ino = 0;
    if (int64_t r = ModelXattrInode(rel, &ino); r != 0) return r;
    auto& m = xattr_model_[ino];
    const bool has = m.count(name) != 0;
    if ((flags & XATTR_CREATE) && has) return -EEXIST;
    if ((flags & XATTR_REPLACE) && !has) return -ENODATA;
    m[name] = v;
    return 0;
  }

  int64_t LocalGetxattr(const std::string& rel, const char* name, std::string* v) {
    if (local_xattr_) {
      char buf[65536];
      const int64_t r = Sys(getxattr(LPath(rel).c_str(), name, buf, sizeof(buf)));
      if (r >= 0) v->assign(buf, static_cast<size_t>(r));
      return r < 0 ? r : 0;
    }
    uint64_t ino = 0;
    if (int64_t r = ModelXattrInode(rel, &ino); r != 0) return r;
    auto& m = xattr_model_[ino];
    auto it = m.find(name);
    if (it == m.end()) return -ENODATA;
    *v = it->second;
    return 0;
  }

  int64_t LocalRemovexattr(const std::string& rel, const char* name) {
    if (local_xattr_) return Sys(removexattr(LPath(rel).c_str(), name));
    uint64_t ino = 0;
    if (int64_t r = ModelXattrInode(rel, &ino); r != 0) return r;
    return xattr_model_[ino].erase(name) != 0 ? 0 : -ENODATA;
  }

  // Sorted names (user.* only: a local file system may add security.* labels).
  int64_t LocalListxattr(const std::string& lpath, const std::string& rel, bool follow,
                         std::vector<std::string>* names) {
    names->clear();
    if (local_xattr_) {
      char buf[65536];
      const int64_t r = Sys(follow ? listxattr(lpath.c_str(), buf, sizeof(buf))
                                   : llistxattr(lpath.c_str(), buf, sizeof(buf)));
      if (r < 0) return r;
      for (int64_t i = 0; i < r;) {
        std::string n(buf + i);
        i += static_cast<int64_t>(n.size()) + 1;
        if (n.rfind("user.", 0) == 0) names->push_back(n);
      }
    } else {
      uint64_t ino = 0;
      if (int64_t r = ModelXattrInode(rel, &ino); r != 0) return r;
      for (auto& [n, v] : xattr_model_[ino]) names->push_back(n);
    }
    std::sort(names->begin(), names->end());
    return 0;
  }

  int JfsListxattr(const std::string& jpath, bool follow, std::vector<std::string>* names) {
    names->clear();
    char* list = nullptr;
    size_t size = 0;
    const int jr = follow ? jfs_listxattr(fs_.get(), jpath.c_str(), &list, &size)
                          : jfs_llistxattr(fs_.get(), jpath.c_str(), &list, &size);
    JMem own(jr == 0 ? list : nullptr);
    if (jr != 0) return jr;
    for (size_t i = 0; i < size;) {
      std::string n(list + i, strnlen(list + i, size - i));
      i += n.size() + 1;
      names->push_back(n);
    }
    std::sort(names->begin(), names->end());
    return 0;
  }

  void OpSetxattr() {
    const std::string rel = GenPath(Kind::kAny);
    const char* name = rng_.Pick(kXattrNames);
    const int flags = rng_.Chance(0.6) ? 0 : rng_.Chance(0.5) ? XATTR_CREATE : XATTR_REPLACE;
    const std::string value = rng_.Bytes(rng_.Below(120));
    Begin(Str("setxattr ", rel, " ", name, " len=", value.size(), " flags=", flags));
    if (!XattrTargetOk(rel)) return Note("(skipped: FIFO)");
    const int jr =
        jfs_setxattr(fs_.get(), JPath(rel).c_str(), name, value.data(), value.size(), flags);
    const int64_t lr = LocalSetxattr(rel, name, value, flags);
    Results("setxattr", jr, lr);
  }

  void OpGetxattr() {
    const std::string rel = GenPath(Kind::kAny);
    const char* name = rng_.Pick(kXattrNames);
    Begin(Str("getxattr ", rel, " ", name));
    if (!XattrTargetOk(rel)) return Note("(skipped: FIFO)");
    void* v = nullptr;
    size_t size = 0;
    const int jr = jfs_getxattr(fs_.get(), JPath(rel).c_str(), name, &v, &size);
    JMem own(jr == 0 ? v : nullptr);
    std::string lv;
    const int64_t lr = LocalGetxattr(rel, name, &lv);
    Results("getxattr", jr, lr);
    if (jr == 0) {
      ++checks_;
      if (std::string(static_cast<const char*>(v), size) != lv) {
        Fail(Str("getxattr ", name, ": values differ (", size, " vs ", lv.size(), " bytes)"));
      }
    }
  }

  void OpRemovexattr() {
    const std::string rel = GenPath(Kind::kAny);
    const char* name = rng_.Pick(kXattrNames);
    Begin(Str("removexattr ", rel, " ", name));
    if (!XattrTargetOk(rel)) return Note("(skipped: FIFO)");
    const int jr = jfs_removexattr(fs_.get(), JPath(rel).c_str(), name);
    const int64_t lr = LocalRemovexattr(rel, name);
    Results("removexattr", jr, lr);
  }

  void OpListxattr() {
    const std::string rel = GenPath(Kind::kAny);
    Begin(Str("listxattr ", rel));
    if (!XattrTargetOk(rel)) return Note("(skipped: FIFO)");
    std::vector<std::string> jn, ln;
    const int jr = JfsListxattr(JPath(rel), true, &jn);
    const int64_t lr = LocalListxattr(LPath(rel), rel, true, &ln);
    Results("listxattr", jr, lr);
    if (jr == 0) SameNames("listxattr " + rel, jn, ln);
  }

  void SameNames(const std::string& what, const std::vector<std::string>& j,
                 const std::vector<std::string>& l) {
    ++checks_;
    if (j == l) return;
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (auto& n : v) s += (s.empty() ? "" : " ") + n;
      return "[" + s + "]";
    };
    Fail(Str(what, ": libjuicefs ", join(j), ", local ", join(l)));
  }

  // ---- directories -----------------------------------------------------------------------------

  struct JEntry {
    std::string name;
    jfs_stat_t st;
  };

  int JfsList(const std::string& jpath, std::vector<JEntry>* out) {
    out->clear();
    jfs_dir_t* d = nullptr;
    const int r = jfs_opendir(fs_.get(), jpath.c_str(), &d);
    if (r != 0) return r;
    JDirPtr own(d);
    while (true) {
      const jfs_dirent_t* e = nullptr;
      const int n = jfs_readdir(d, &e);
      if (n < 0) return n;
      if (n == 0) break;
      out->push_back({std::string(e->name, e->name_len), e->stat});
    }
    std::sort(out->begin(), out->end(),
              [](const JEntry& a, const JEntry& b) { return a.name < b.name; });
    return 0;
  }

  int64_t LocalList(const std::string& lpath, std::vector<std::string>* out) {
    out->clear();
    LocalDirPtr d(opendir(lpath.c_str()));
    if (!d) return -errno;
    while (struct dirent* e = readdir(d.get())) {
      const std::string n = e->d_name;
      if (n != "." && n != "..") out->push_back(n);
    }
    std::sort(out->begin(), out->end());
    return 0;
  }

  void OpListdir() {
    const std::string rel = rng_.Chance(0.2) ? "" : GenPath(Kind::kDir);
    Begin(Str("readdir /", rel));
    std::vector<JEntry> je;
    std::vector<std::string> jn, ln;
    const int jr = JfsList(JPath(rel), &je);
    const int64_t lr = LocalList(LPath(rel), &ln);
    Results("readdir", jr, lr);
    for (auto& e : je) jn.push_back(e.name);
    if (jr == 0) SameNames("readdir /" + rel, jn, ln);
  }

  // ---- whole-tree comparison -------------------------------------------------------------------

  void CompareTrees(bool contents) {
    Begin(Str("compare trees", contents ? " with contents" : ""));
    l2j_.clear();
    j2l_.clear();
    inodes_ = 0;
    CompareDir("", contents);
  }

  void CompareDir(const std::string& rel, bool contents) {
    const std::string jdir = rel.empty() ? "/" : JPath(rel);
    const std::string ldir = rel.empty() ? local_root_ : LPath(rel);
    std::vector<JEntry> je;
    std::vector<std::string> jn, ln;
    const int jr = JfsList(jdir, &je);
    const int64_t lr = LocalList(ldir, &ln);
    Same("list " + jdir, jr, lr);
    for (auto& e : je) jn.push_back(e.name);
    SameNames("entries of " + jdir, jn, ln);
    for (auto& e : je) {
      const std::string crel = rel.empty() ? e.name : rel + "/" + e.name;
      const std::string what = "/" + crel;
      jfs_stat_t js;
      struct stat ls;
      const int jr2 = jfs_lstat(fs_.get(), JPath(crel).c_str(), &js);
      const int64_t lr2 = Sys(lstat(LPath(crel).c_str(), &ls));
      Same("lstat " + what, jr2, lr2);
      const Attrs ja = FromJfs(js), la = FromLocal(ls);
      CompareAttrs(what, ja, la, false);
      // readdir-plus must agree with lstat.
      CompareAttrs(what + " (readdir entry vs lstat)", FromJfs(e.st), ja, false);
      ++checks_;
      if (e.st.ino != js.ino) Fail(Str(what, ": readdir ino ", e.st.ino, " lstat ino ", js.ino));
      CheckInodeMap(what, ja.ino, la.ino);
      if (S_ISLNK(ls.st_mode)) {
        char* jt = nullptr;
        size_t jlen = 0;
        const int r = jfs_readlink(fs_.get(), JPath(crel).c_str(), &jt, &jlen);
        JMem own(r == 0 ? jt : nullptr);
        char lt[8192];
        const ssize_t n = readlink(LPath(crel).c_str(), lt, sizeof(lt));
        Same("readlink " + what, r, n < 0 ? -errno : 0);
        ++checks_;
        if (std::string(jt, jlen) != std::string(lt, static_cast<size_t>(n))) {
          Fail(Str(what, ": symlink targets differ"));
        }
      }
      if (S_ISREG(ls.st_mode) || S_ISDIR(ls.st_mode)) {
        std::vector<std::string> jx, lx;
        const int xr = JfsListxattr(JPath(crel), false, &jx);
        const int64_t lxr = LocalListxattr(LPath(crel), crel, false, &lx);
        Same("listxattr " + what, xr, lxr);
        SameNames("xattrs of " + what, jx, lx);
        for (auto& name : jx) {
          void* v = nullptr;
          size_t size = 0;
          const int gr = jfs_getxattr(fs_.get(), JPath(crel).c_str(), name.c_str(), &v, &size);
          JMem vown(gr == 0 ? v : nullptr);
          std::string lv;
          Same("getxattr " + what + " " + name, gr, LocalGetxattr(crel, name.c_str(), &lv));
          ++checks_;
          if (std::string(static_cast<const char*>(v), size) != lv) {
            Fail(Str(what, ": value of xattr ", name, " differs"));
          }
        }
      }
      if (S_ISREG(ls.st_mode) && contents) CompareContents(crel, ls.st_size);
      if (S_ISDIR(ls.st_mode)) CompareDir(crel, contents);
    }
  }

  // Hard links: the same local inode must always be the same libjuicefs inode and vice versa.
  void CheckInodeMap(const std::string& what, uint64_t jino, uint64_t lino) {
    ++checks_;
    auto [it, fresh] = l2j_.emplace(lino, jino);
    auto [it2, fresh2] = j2l_.emplace(jino, lino);
    if (it->second != jino || it2->second != lino) {
      Fail(Str(what, ": hard-link structure differs (libjuicefs inode ", jino, ", local ", lino,
               ")"));
    }
    if (fresh) ++inodes_;
    (void)fresh2;
  }

  void CompareContents(const std::string& rel, off_t size) {
    const std::string what = "/" + rel;
    UniqueFd fd(open(LPath(rel).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) Fail(Str("local open ", what, ": ", strerror(errno)));
    jfs_file_t* jf = nullptr;
    const int jr = jfs_open(fs_.get(), JPath(rel).c_str(), O_RDONLY, 0, &jf);
    if (jr != 0) Fail(Str("jfs_open ", what, " for reading: ", Rc(jr)));
    JFilePtr own(jf);
    constexpr uint64_t kPiece = 1 << 20;
    std::string jb(kPiece, '\0'), lb(kPiece, '\0');
    uint64_t off = 0;
    while (true) {
      const int64_t n = jfs_pread(jf, jb.data(), kPiece, static_cast<int64_t>(off));
      const int64_t m = Sys(pread(fd.get(), lb.data(), kPiece, static_cast<off_t>(off)));
      Same(Str("pread ", what, " at ", off, " (size ", size, ")"), n, m);
      if (n <= 0) break;
      SameBytes("contents of " + what, jb.data(), lb.data(), static_cast<size_t>(n), off);
      off += static_cast<uint64_t>(n);
    }
    Same("bytes read from " + what, static_cast<int64_t>(off), size);
    Same("close " + what, jfs_close(own.release()), 0);
  }

  // After everything is closed and the volume reopened: inodes in use as the volume counts them
  // equal the inodes in the tree (the root is not counted, as in JuiceFS).
  void CheckInodeCount() {
    Begin("statvfs inode count");
    // The counters are flushed in the background: the reopen above made them current.
    jfs_statvfs_t sv;
    const int r = jfs_statvfs(fs_.get(), &sv);
    Same("statvfs", r, 0);
    const uint64_t used = sv.total_inodes - sv.free_inodes;
    Note(Str("used ", used, ", tree ", inodes_));
    Same("used inodes vs inodes in the tree", static_cast<int64_t>(used),
         static_cast<int64_t>(inodes_));
  }

  const uint64_t seed_;
  const int ops_;
  const bool verbose_;
  Rng rng_;
  TempDir tmp_;
  std::string local_root_, url_;
  bool local_xattr_ = false;
  bool noappend_ = false;
  bool ns_times_ = true;      // the local FS keeps nanoseconds
  bool dir_nlink_ = true;     // the local FS counts subdirectories in a directory's nlink
  uint64_t buffer_size_ = 0;  // jfs_volume_options_t.buffer_size; 0 = the default
  int upload_threads_ = 8;
  int step_ = 0;
  uint64_t checks_ = 0;
  std::deque<std::string> log_;
  std::vector<std::string> errno_diffs_;  // both sides failed, with different errors
  std::map<uint64_t, std::map<std::string, std::string>> xattr_model_;
  std::map<uint64_t, uint64_t> l2j_, j2l_;
  uint64_t inodes_ = 0;
  // Declared after tmp_ and before handles_: handles close first, then the volume, then the
  // directory goes.
  VolumePtr fs_;
  std::vector<std::unique_ptr<Handle>> handles_;
  int next_handle_ = 1;
};

}  // namespace

TEST_CASE("random operations agree with the local file system") {
  if (geteuid() != 0) {
    WARN("skipped: the model test needs root (the volume is used as uid 0)");
    return;
  }
  const uint64_t seed =
      EnvU64("JFS_MODEL_SEED",
             static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
                 static_cast<uint64_t>(getpid()));
  const int ops = static_cast<int>(EnvU64("JFS_MODEL_OPS", 3000));
  const bool verbose = EnvU64("JFS_MODEL_VERBOSE", 0) != 0;
  INFO("seed " << seed << " (rerun with JFS_MODEL_SEED=" << seed << ")");
  ModelTest t(seed, ops, verbose);
  t.Run();
  REQUIRE(t.checks() > static_cast<uint64_t>(ops));
}
