// Two processes using one volume at the same time, each through its own jfs_fs_t (as two JuiceFS
// clients would): concurrent writers on one SQLite database, close-to-open consistency between
// them, races on the same names, and the volume's counters afterwards.
//
// The processes are forked before either opens the volume (the C ABI allows fork only while no
// volume is open). Each child runs under alarm(120), reports the first unexpected result on
// stderr and _exits with a status the parent checks. The children line up their phases with two
// pipes (a barrier: write one byte to the peer, read one from it); a child that dies closes its
// ends, so its peer's barrier fails instead of hanging. Every libjuicefs call must succeed or fail
// with the errno the race allows (EEXIST for the loser of an O_EXCL create); "database is
// locked" (EBUSY/EIO) or any other error fails the test.
#include <fcntl.h>
#include <juicefs/juicefs.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/meta_url.h"

namespace {

namespace fs = std::filesystem;

constexpr int kFiles = 30;             // files per process in its own directory
constexpr uint64_t kBlock = 64 << 10;  // the volume's block size
constexpr uint64_t kVictimOld = 200 * 1024 + 17;
constexpr uint64_t kVictimNew = 150 * 1024 + 3;
constexpr uint64_t kVictimCut = 140 * 1024 + 1;  // the overwriter truncates to this
constexpr int kSharedBlocks = 12;                // /shared/both: blocks alternate A, B

// ---- deterministic contents ------------------------------------------------------------------

uint64_t Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// Bytes [off, off+len) of the content stream `key`.
std::string Pattern(uint64_t key, uint64_t off, uint64_t len) {
  std::string s(len, '\0');
  for (uint64_t i = 0; i < len; ++i) {
    const uint64_t p = off + i;
    s[i] = static_cast<char>(Mix(key * 1000003 + p / 8) >> (8 * (p % 8)));
  }
  return s;
}

uint64_t FileKey(char who, int i) {
  return (static_cast<uint64_t>(who) << 32) | static_cast<uint64_t>(i);
}

// Sizes from empty to several blocks, many not block-aligned.
uint64_t FileSize(int i) {
  if (i == 0) return 0;
  return (static_cast<uint64_t>(i) * 37 * 1024 + static_cast<uint64_t>(i * i) * 1013) %
         (300 * 1024);
}

char Other(char who) {
  return who == 'A' ? 'B' : 'A';
}
std::string Lower(char who) {
  return std::string(1, static_cast<char>(who - 'A' + 'a'));
}

struct VolumeCloser {
  void operator()(jfs_fs_t* fs) const { (void)jfs_close_volume(fs); }
};
struct FileCloser {
  void operator()(jfs_file_t* f) const { (void)jfs_close(f); }
};
struct DirCloser {
  void operator()(jfs_dir_t* d) const { (void)jfs_closedir(d); }
};
using VolumePtr = std::unique_ptr<jfs_fs_t, VolumeCloser>;
using JFilePtr = std::unique_ptr<jfs_file_t, FileCloser>;
using JDirPtr = std::unique_ptr<jfs_dir_t, DirCloser>;

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

class TempDir {
 public:
  TempDir() {
    std::string t = (fs::temp_directory_path() / "jfs-multiproc-XXXXXX").string();
    if (mkdtemp(t.data()) != nullptr) path_ = t;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Rc(int64_t rc) {
  if (rc >= 0) return std::to_string(rc);
  const char* n = strerrorname_np(static_cast<int>(-rc));
  return n != nullptr ? std::string("-") + n : std::to_string(rc);
}

// Reads a whole file through a new handle; returns 0 or -errno.
int ReadAll(jfs_fs_t* fs, const std::string& path, std::string* out) {
  out->clear();
  jfs_file_t* f = nullptr;
  const int r = jfs_open(fs, path.c_str(), O_RDONLY, 0, &f);
  if (r != 0) return r;
  JFilePtr own(f);
  char buf[64 * 1024];
  while (true) {
    const int64_t n = jfs_read(f, buf, sizeof(buf));
    if (n < 0) return static_cast<int>(n);
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  return jfs_close(own.release());
}

// Writes `data` to `path` (created or truncated) in pieces of varying size, alternating
// jfs_write and jfs_pwrite, then closes it. Returns 0 or the first -errno.
int WriteFile(jfs_fs_t* fs, const std::string& path, const std::string& data, int flags) {
  jfs_file_t* f = nullptr;
  const int r = jfs_open(fs, path.c_str(), flags, 0644, &f);
  if (r != 0) return r;
  JFilePtr own(f);
  uint64_t off = 0;
  uint64_t piece = 1000;
  bool positional = false;
  while (off < data.size()) {
    const uint64_t n = std::min<uint64_t>(piece, data.size() - off);
    const int64_t w = positional ? jfs_pwrite(f, data.data() + off, n, static_cast<int64_t>(off))
                                 : jfs_write(f, data.data() + off, n);
    if (w < 0) return static_cast<int>(w);
    if (static_cast<uint64_t>(w) != n) return -EIO;
    off += n;
    if (positional && jfs_lseek(f, static_cast<int64_t>(off), JFS_SEEK_SET) < 0) return -EIO;
    positional = !positional;
    piece = piece * 3 % (97 * 1024) + 511;
  }
  return jfs_close(own.release());
}

// One child process: `who` is 'A' or 'B'.
class Child {
 public:
  Child(char who, std::string url, std::string results, int to_peer, int from_peer)
      : who_(who),
        other_(Other(who)),
        url_(std::move(url)),
        results_(std::move(results)),
        to_peer_(to_peer),
        from_peer_(from_peer) {}

  int Run() {
    alarm(120);  // watchdog: a hang kills the child with SIGALRM, which the parent reports
    jfs_volume_options_t vo;
    jfs_volume_options_init(&vo);
    jfs_fs_t* fs = nullptr;
    int r = jfs_open_volume(url_.c_str(), &vo, &fs);
    if (r != 0) return Error("jfs_open_volume: %s %s", Rc(r).c_str(), jfs_last_open_error());
    fs_.reset(fs);
    const uint32_t gid = 0;
    if (!Ok(jfs_set_credentials(fs, 0, &gid, 1, 022), "set_credentials")) return 1;

    if (!Phase1() || !Barrier("after writing") || !Phase2() || !Barrier("before victims") ||
        !VictimsOpen() || !Barrier("readers hold victims open") || !VictimsOverwrite() ||
        !Barrier("victims overwritten") || !VictimsReread() || !Barrier("before shared file") ||
        !SharedFileWrite() || !Barrier("shared file written") || !SharedFileVerify() ||
        !Barrier("done")) {
      return 1;
    }
    r = jfs_close_volume(fs_.release());
    if (r != 0) return Error("jfs_close_volume: %s %s", Rc(r).c_str(), jfs_last_open_error());
    std::ofstream out(results_);
    out << log_.str();
    out.close();
    return out ? 0 : Error("cannot write %s", results_.c_str());
  }

 private:
  int Error(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "child %c (pid %d): %s\n", who_, getpid(), buf);
    return 1;
  }

  // True when `rc` is 0 or one of `allowed`; otherwise reports the call and its libjuicefs error.
  bool Ok(int64_t rc, const std::string& what, std::initializer_list<int> allowed = {}) {
    if (rc >= 0) return true;
    for (int e : allowed) {
      if (rc == -e) return true;
    }
    Error("%s: unexpected %s (%s)", what.c_str(), Rc(rc).c_str(),
          fs_ ? jfs_last_error(fs_.get()) : "");
    return false;
  }

  bool Barrier(const char* name) {
    const char c = who_;
    char in = 0;
    if (write(to_peer_, &c, 1) != 1 || read(from_peer_, &in, 1) != 1 || in != other_) {
      Error("barrier \"%s\": peer is gone", name);
      return false;
    }
    return true;
  }

  bool CheckFile(const std::string& path, const std::string& want) {
    std::string got;
    if (!Ok(ReadAll(fs_.get(), path, &got), "read " + path)) return false;
    if (got.size() != want.size()) {
      Error("%s: %zu bytes, expected %zu", path.c_str(), got.size(), want.size());
      return false;
    }
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i] != want[i]) {
        Error("%s: byte %zu differs", path.c_str(), i);
        return false;
      }
    }
    jfs_stat_t st;
    if (!Ok(jfs_stat(fs_.get(), path.c_str(), &st), "stat " + path)) return false;
    if (st.size != want.size()) {
      Error("%s: stat size %llu, expected %zu", path.c_str(),
            static_cast<unsigned long long>(st.size), want.size());
      return false;
    }
    return true;
  }

  // Both processes write their own directory and race in /shared.
  bool Phase1() {
    jfs_fs_t* fs = fs_.get();
    const std::string mine = "/" + Lower(who_);
    if (!Ok(jfs_mkdir(fs, mine.c_str(), 0755), "mkdir " + mine)) return false;
    const int sr = jfs_mkdir(fs, "/shared", 0755);
    if (!Ok(sr, "mkdir /shared", {EEXIST})) return false;
    log_ << "mkdir-shared " << sr << "\n";
    if (who_ == 'A') {  // the victims and the shared file exist before the phases that use them
      for (char v : {'A', 'B'}) {
        const std::string p = std::string("/shared/victim-") + v;
        if (!Ok(WriteFile(fs, p, Pattern(FileKey(v, 1000), 0, kVictimOld),
                          O_CREAT | O_WRONLY | O_TRUNC),
                "write " + p)) {
          return false;
        }
      }
      if (!Ok(WriteFile(fs, "/shared/both", "", O_CREAT | O_WRONLY | O_TRUNC), "create both")) {
        return false;
      }
    }
    for (int i = 0; i < kFiles; ++i) {
      const std::string p = mine + "/" + std::to_string(i);
      if (!Ok(WriteFile(fs, p, Pattern(FileKey(who_, i), 0, FileSize(i)),
                        O_CREAT | O_WRONLY | O_TRUNC),
              "write " + p)) {
        return false;
      }
      // Private names in the shared directory: kept, renamed, or unlinked by i % 3.
      const std::string s = "/shared/" + std::string(1, who_) + "-" + std::to_string(i);
      const std::string text = std::string(1, who_) + " " + std::to_string(i);
      if (!Ok(WriteFile(fs, s, text, O_CREAT | O_EXCL | O_WRONLY), "create " + s)) return false;
      if (i % 3 == 1 && !Ok(jfs_rename(fs, s.c_str(), (s + ".r").c_str(), 0), "rename " + s)) {
        return false;
      }
      if (i % 3 == 2 && !Ok(jfs_unlink(fs, s.c_str()), "unlink " + s)) return false;

      // Races on the same names: exactly one creator wins (the parent checks the pair).
      const std::string c = "/shared/common-" + std::to_string(i);
      jfs_file_t* f = nullptr;
      int r = jfs_open(fs, c.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644, &f);
      if (!Ok(r, "exclusive create " + c, {EEXIST})) return false;
      if (r == 0) {
        JFilePtr own(f);
        if (!Ok(jfs_write(f, &who_, 1), "write " + c) ||
            !Ok(jfs_close(own.release()), "close " + c)) {
          return false;
        }
      }
      log_ << "common " << i << " " << r << "\n";

      const std::string d = "/shared/dir-" + std::to_string(i);
      r = jfs_mkdir(fs, d.c_str(), 0755);
      if (!Ok(r, "mkdir " + d, {EEXIST})) return false;
      log_ << "dir " << i << " " << r << "\n";

      // Both rename their own temporary file over target-i (both succeed, one replaces the
      // other's), and with NOREPLACE over nr-i (one wins; the loser removes its file).
      for (const char* kind : {"target", "nr"}) {
        const bool nr = kind[0] == 'n';
        const std::string tmp =
            "/shared/tmp-" + std::string(kind) + "-" + std::string(1, who_) + std::to_string(i);
        const std::string dst = "/shared/" + std::string(kind) + "-" + std::to_string(i);
        if (!Ok(WriteFile(fs, tmp, std::string(1, who_), O_CREAT | O_EXCL | O_WRONLY),
                "create " + tmp)) {
          return false;
        }
        r = jfs_rename(fs, tmp.c_str(), dst.c_str(), nr ? JFS_RENAME_NOREPLACE : 0);
        if (!Ok(r, "rename " + tmp + " " + dst,
                nr ? std::initializer_list<int>{EEXIST} : std::initializer_list<int>{})) {
          return false;
        }
        if (r != 0 && !Ok(jfs_unlink(fs, tmp.c_str()), "unlink " + tmp)) return false;
        if (nr) log_ << "nr " << i << " " << r << "\n";
      }
    }
    return true;
  }

  // Close-to-open: every file the peer closed is visible byte for byte.
  bool Phase2() {
    for (char w : {other_, who_}) {
      for (int i = 0; i < kFiles; ++i) {
        const std::string p = "/" + Lower(w) + "/" + std::to_string(i);
        if (!CheckFile(p, Pattern(FileKey(w, i), 0, FileSize(i)))) return false;
      }
    }
    for (int i = 0; i < kFiles; ++i) {
      std::string got;
      const std::string c = "/shared/common-" + std::to_string(i);
      if (!Ok(ReadAll(fs_.get(), c, &got), "read " + c)) return false;
      if (got != "A" && got != "B") return Error("%s holds \"%s\"", c.c_str(), got.c_str()) == 0;
    }
    return true;
  }

  // This process reads victim-<who> and keeps it open; the peer overwrites it meanwhile.
  bool VictimsOpen() {
    const std::string p = std::string("/shared/victim-") + who_;
    jfs_file_t* f = nullptr;
    if (!Ok(jfs_open(fs_.get(), p.c_str(), O_RDONLY, 0, &f), "open " + p)) return false;
    reader_.reset(f);
    std::string buf(kVictimOld, '\0');
    const int64_t n = jfs_pread(f, buf.data(), kVictimOld, 0);
    if (!Ok(n, "pread " + p)) return false;
    if (static_cast<uint64_t>(n) != kVictimOld || buf != Pattern(FileKey(who_, 1000), 0, n)) {
      return Error("%s: old contents wrong before the overwrite (%lld bytes)", p.c_str(),
                   static_cast<long long>(n)) == 0;
    }
    return true;
  }

  bool VictimsOverwrite() {
    const std::string p = std::string("/shared/victim-") + other_;
    jfs_file_t* f = nullptr;
    if (!Ok(jfs_open(fs_.get(), p.c_str(), O_WRONLY | O_TRUNC, 0, &f), "open " + p)) return false;
    JFilePtr own(f);
    const std::string data = Pattern(FileKey(other_, 2000), 0, kVictimNew);
    const int64_t w = jfs_write(f, data.data(), data.size());
    if (!Ok(w, "write " + p)) return false;
    if (!Ok(jfs_ftruncate(f, kVictimCut), "ftruncate " + p)) return false;
    return Ok(jfs_close(own.release()), "close " + p);
  }

  bool VictimsReread() {
    const std::string p = std::string("/shared/victim-") + who_;
    // The handle opened before the overwrite may see old or new data (close-to-open promises
    // nothing for it), but it must keep working.
    std::string buf(kVictimOld, '\0');
    if (!Ok(jfs_pread(reader_.get(), buf.data(), buf.size(), 0), "pread stale " + p)) return false;
    if (!Ok(jfs_close(reader_.release()), "close stale " + p)) return false;
    return CheckFile(p, Pattern(FileKey(who_, 2000), 0, kVictimCut));
  }

  // Both processes write alternate blocks of one file at the same time, each through its own
  // handle; after both closed, each block holds its writer's data.
  bool SharedFileWrite() {
    jfs_file_t* f = nullptr;
    if (!Ok(jfs_open(fs_.get(), "/shared/both", O_WRONLY, 0, &f), "open both")) return false;
    JFilePtr own(f);
    const int first = who_ == 'A' ? 0 : 1;
    for (int b = first; b < kSharedBlocks; b += 2) {
      const std::string data = Pattern(FileKey(who_, 3000), b * kBlock, kBlock);
      if (!Ok(jfs_pwrite(f, data.data(), kBlock, static_cast<int64_t>(b * kBlock)),
              "pwrite both")) {
        return false;
      }
      if (b % 4 == first && !Ok(jfs_flush(f), "flush both")) return false;
    }
    return Ok(jfs_close(own.release()), "close both");
  }

  bool SharedFileVerify() {
    std::string want;
    for (int b = 0; b < kSharedBlocks; ++b) {
      want += Pattern(FileKey(b % 2 == 0 ? 'A' : 'B', 3000), b * kBlock, kBlock);
    }
    return CheckFile("/shared/both", want);
  }

  const char who_, other_;
  const std::string url_, results_;
  const int to_peer_, from_peer_;
  VolumePtr fs_;
  JFilePtr reader_;  // declared after fs_: released before the volume
  std::ostringstream log_;
};

// "key i" -> result, from a child's results file.
std::map<std::string, int> ReadResults(const std::string& path) {
  std::map<std::string, int> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind, idx;
    int rc = 0;
    ls >> kind;
    if (kind != "mkdir-shared") ls >> idx;
    ls >> rc;
    out[kind + " " + idx] = rc;
  }
  return out;
}

struct TreeTotals {
  uint64_t inodes = 0;
  uint64_t space = 0;
};

// Walks the volume, counting inodes (hard links once, root excluded) and the space JuiceFS
// charges for them: align4K(length) for files (4 KiB when empty), 4 KiB for everything else.
void Walk(jfs_fs_t* fs, const std::string& dir, std::set<uint64_t>* seen, TreeTotals* t) {
  jfs_dir_t* d = nullptr;
  REQUIRE(jfs_opendir(fs, dir.c_str(), &d) == 0);
  JDirPtr own(d);
  while (true) {
    const jfs_dirent_t* e = nullptr;
    const int n = jfs_readdir(d, &e);
    REQUIRE(n >= 0);
    if (n == 0) break;
    const std::string path = (dir == "/" ? "" : dir) + "/" + e->name;
    if (seen->insert(e->stat.ino).second) {
      ++t->inodes;
      const uint64_t len = e->stat.size;
      t->space += S_ISREG(e->stat.mode) && len > 0 ? (len + 4095) / 4096 * 4096 : 4096;
    }
    if (S_ISDIR(e->stat.mode)) Walk(fs, path, seen, t);
  }
}

std::string ReadOrEmpty(jfs_fs_t* fs, const std::string& path) {
  std::string s;
  INFO(path);
  REQUIRE(ReadAll(fs, path, &s) == 0);
  return s;
}

std::set<std::string> List(jfs_fs_t* fs, const std::string& dir) {
  std::set<std::string> names;
  jfs_dir_t* d = nullptr;
  REQUIRE(jfs_opendir(fs, dir.c_str(), &d) == 0);
  JDirPtr own(d);
  const jfs_dirent_t* e = nullptr;
  int n;
  while ((n = jfs_readdir(d, &e)) == 1) names.insert(e->name);
  REQUIRE(n == 0);
  return names;
}

}  // namespace

TEST_CASE("two processes share one volume") {
  TempDir tmp;
  REQUIRE(!tmp.path().empty());
  std::string url, error;
  const bool fresh = jfs::testing::FreshMetaUrl(tmp.path(), "multiproc", &url, &error);
  INFO(error);
  REQUIRE(fresh);
  const std::string bucket = tmp.path() + "/bucket";
  {
    jfs_format_options_t fo;
    jfs_format_options_init(&fo);
    fo.bucket = bucket.c_str();
    fo.block_size_kib = kBlock / 1024;
    fo.trash_days = 0;
    INFO(jfs_last_open_error());
    REQUIRE(jfs_format(url.c_str(), "multiproc", &fo) == 0);
  }
  int a2b[2], b2a[2];
  REQUIRE(pipe2(a2b, O_CLOEXEC) == 0);
  REQUIRE(pipe2(b2a, O_CLOEXEC) == 0);
  UniqueFd a2b_r(a2b[0]), a2b_w(a2b[1]), b2a_r(b2a[0]), b2a_w(b2a[1]);
  const std::string res_a = tmp.path() + "/results-A", res_b = tmp.path() + "/results-B";

  fflush(stdout);
  fflush(stderr);
  std::vector<pid_t> pids;
  for (char who : {'A', 'B'}) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Only this child's own ends stay open, so that the peer's exit is seen as end of file.
      ::close(who == 'A' ? a2b[0] : b2a[0]);
      ::close(who == 'A' ? b2a[1] : a2b[1]);
      int status = 1;
      try {
        Child c(who, url, who == 'A' ? res_a : res_b, who == 'A' ? a2b[1] : b2a[1],
                who == 'A' ? b2a[0] : a2b[0]);
        status = c.Run();
      } catch (...) {
        fprintf(stderr, "child %c: exception\n", who);
      }
      // Closing the pipe ends happens on _exit; its peer's barrier then fails.
      _exit(status);
    }
    pids.push_back(pid);
  }
  a2b_r.reset();
  a2b_w.reset();
  b2a_r.reset();
  b2a_w.reset();
  for (size_t i = 0; i < pids.size(); ++i) {
    int status = 0;
    REQUIRE(waitpid(pids[i], &status, 0) == pids[i]);
    INFO("child " << static_cast<char>('A' + i) << " status " << status);
    if (WIFSIGNALED(status)) {
      FAIL("child " << static_cast<char>('A' + i) << " killed by signal " << WTERMSIG(status)
                    << (WTERMSIG(status) == SIGALRM ? " (watchdog: it hung)" : ""));
    }
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
  }

  // Exactly one process won each race.
  const auto ra = ReadResults(res_a), rb = ReadResults(res_b);
  REQUIRE(ra.size() == rb.size());
  for (auto& [key, rca] : ra) {
    INFO(key);
    REQUIRE(rb.count(key) == 1);
    const int rcb = rb.at(key);
    REQUIRE(((rca == 0 && rcb == -EEXIST) || (rca == -EEXIST && rcb == 0)));
  }

  // A fresh client sees the final state.
  jfs_fs_t* fs = nullptr;
  REQUIRE(jfs_open_volume(url.c_str(), nullptr, &fs) == 0);
  VolumePtr vol(fs);
  const uint32_t gid = 0;
  REQUIRE(jfs_set_credentials(fs, 0, &gid, 1, 022) == 0);

  std::set<std::string> want;
  for (int i = 0; i < kFiles; ++i) {
    for (char w : {'A', 'B'}) {
      const std::string base = std::string(1, w) + "-" + std::to_string(i);
      if (i % 3 == 0) want.insert(base);
      if (i % 3 == 1) want.insert(base + ".r");
      const std::string p = "/" + Lower(w) + "/" + std::to_string(i);
      INFO(p);
      REQUIRE(ReadOrEmpty(fs, p) == Pattern(FileKey(w, i), 0, FileSize(i)));
    }
    for (const char* k : {"common-", "dir-", "target-", "nr-"}) want.insert(k + std::to_string(i));
    const std::string idx = std::to_string(i);
    const char common_winner = ra.at("common " + idx) == 0 ? 'A' : 'B';
    REQUIRE(ReadOrEmpty(fs, "/shared/common-" + idx) == std::string(1, common_winner));
    const char nr_winner = ra.at("nr " + idx) == 0 ? 'A' : 'B';
    REQUIRE(ReadOrEmpty(fs, "/shared/nr-" + idx) == std::string(1, nr_winner));
    const std::string target = ReadOrEmpty(fs, "/shared/target-" + idx);
    REQUIRE((target == "A" || target == "B"));
    jfs_stat_t st;
    REQUIRE(jfs_stat(fs, ("/shared/dir-" + idx).c_str(), &st) == 0);
    REQUIRE(S_ISDIR(st.mode));
  }
  want.insert({"victim-A", "victim-B", "both"});
  REQUIRE(List(fs, "/shared") == want);
  REQUIRE(List(fs, "/") == std::set<std::string>{"a", "b", "shared"});

  // The volume's counters (kept by two clients, each flushing its deltas) match the tree.
  std::set<uint64_t> seen;
  TreeTotals t;
  Walk(fs, "/", &seen, &t);
  jfs_statvfs_t sv;
  REQUIRE(jfs_statvfs(fs, &sv) == 0);
  INFO("tree: " << t.inodes << " inodes, " << t.space << " bytes; statvfs: total_inodes "
                << sv.total_inodes << " free_inodes " << sv.free_inodes << " total_bytes "
                << sv.total_bytes << " free_bytes " << sv.free_bytes);
  CHECK(sv.total_inodes - sv.free_inodes == t.inodes);
  CHECK(sv.total_bytes - sv.free_bytes == t.space);
  REQUIRE(jfs_close_volume(vol.release()) == 0);
}
