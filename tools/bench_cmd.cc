// jfs bench: the workloads of `juicefs bench` (format.md §8.1, cmd/bench.go), run either in-process
// through the C ABI on a directory of the volume (jfs:/dir: no mount, no kernel page cache), or
// with plain POSIX calls on a local directory (e.g. a `jfs mount`, and the local disk under it, to
// compare the two with the same workloads as the FUSE issue asks).
//
// Per thread t: write bigfile.t.0 in --block-size writes → read it back → write
// --small-file-count files smallfile.t.i of --small-file-size each → read them → stat them; then
// the work directory PATH/__juicefs_benchmark_<ns>__ is removed. Values and costs are computed as
// juicefs does (cost is per file of one thread). On a local directory, the files to be read are
// first fsync'd and dropped from the page cache (posix_fadvise DONTNEED, what an unprivileged
// process can do; juicefs drops every cache as root), outside the timed part.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "juicefs/juicefs.h"
#include "tools/common.h"
#include "util/unique_fd.h"

namespace jfs::tools {
namespace {

constexpr std::string_view kCmd = "bench";

struct BenchArgs {
  std::string path;
  std::string block_size = "1M";
  std::string big_file_size = "1G";
  std::string small_file_size = "128K";
  unsigned small_file_count = 100;
  unsigned threads = 1;
  bool json = false;
};

// One workload: `fcount` files per thread of `bcount` writes of `bsize` bytes (newCase of
// cmd/bench.go: a file smaller than a block is written in one piece; a larger one is rounded up
// to whole blocks).
struct Case {
  std::string name;
  uint64_t fsize = 0, bsize = 0;
  uint64_t fcount = 0, bcount = 0;
};

Case MakeCase(std::string name, uint64_t fsize, uint64_t fcount, uint64_t bsize) {
  Case c{std::move(name), fsize, bsize, fcount, 1};
  if (fsize <= bsize) {
    c.bsize = fsize;
  } else {
    c.bcount = (fsize - 1) / bsize + 1;
    c.fsize = c.bcount * bsize;
  }
  return c;
}

// An open file of a Target. Write/Read return bytes or -errno; Close returns 0 or -errno.
class TargetFile {
 public:
  virtual ~TargetFile() = default;
  virtual int64_t Write(const char* buf, size_t n) = 0;
  virtual int64_t Read(char* buf, size_t n) = 0;
  virtual int Close() = 0;
};

// Where the workloads run: the volume through the C ABI, or a local directory. Every call returns
// 0 or -errno; paths are absolute in the target.
class Target {
 public:
  virtual ~Target() = default;
  virtual int Create(const std::string& path, std::unique_ptr<TargetFile>* out) = 0;
  virtual int Open(const std::string& path, std::unique_ptr<TargetFile>* out) = 0;
  virtual int Stat(const std::string& path) = 0;
  virtual int MkdirAll(const std::string& path) = 0;
  // Removes `path` and everything below, reporting failures itself; true when all went.
  virtual bool RemoveTree(const std::string& path) = 0;
  // Makes the next read of `path` come from below the page cache, where the target can.
  virtual void Evict(const std::string& path) = 0;
  // `path` as the user names it, and what to add to an errno in messages.
  virtual std::string Display(const std::string& path) const = 0;
  virtual std::string Detail(int err) const = 0;
};

class VolumeFile final : public TargetFile {
 public:
  explicit VolumeFile(jfs_file_t* f) : f_(f) {}
  int64_t Write(const char* buf, size_t n) override { return jfs_write(f_.get(), buf, n); }
  int64_t Read(char* buf, size_t n) override { return jfs_read(f_.get(), buf, n); }
  int Close() override { return jfs_close(f_.release()); }

 private:
  FileHandle f_;
};

class VolumeTarget final : public Target {
 public:
  explicit VolumeTarget(jfs_fs_t* fs) : fs_(fs) {}
  int Create(const std::string& path, std::unique_ptr<TargetFile>* out) override {
    jfs_file_t* f = nullptr;
    if (int rc = jfs_create(fs_, path.c_str(), 0644, &f); rc < 0) return rc;
    *out = std::make_unique<VolumeFile>(f);
    return 0;
  }
  int Open(const std::string& path, std::unique_ptr<TargetFile>* out) override {
    jfs_file_t* f = nullptr;
    if (int rc = jfs_open(fs_, path.c_str(), O_RDONLY, 0, &f); rc < 0) return rc;
    *out = std::make_unique<VolumeFile>(f);
    return 0;
  }
  int Stat(const std::string& path) override {
    jfs_stat_t st{};
    return jfs_stat(fs_, path.c_str(), &st);
  }
  int MkdirAll(const std::string& path) override { return jfs_mkdir_all(fs_, path.c_str(), 0777); }
  bool RemoveTree(const std::string& path) override { return tools::RemoveTree(kCmd, fs_, path); }
  void Evict(const std::string&) override {}  // the library has no kernel page cache to drop
  std::string Display(const std::string& path) const override { return "jfs:" + path; }
  std::string Detail(int err) const override { return UsefulDetail(jfs_last_error(fs_), err); }

 private:
  jfs_fs_t* fs_;
};

class LocalFile final : public TargetFile {
 public:
  explicit LocalFile(int fd) : fd_(fd) {}
  int64_t Write(const char* buf, size_t n) override {
    ssize_t w = ::write(fd_.get(), buf, n);
    return w < 0 ? -errno : w;
  }
  int64_t Read(char* buf, size_t n) override {
    ssize_t r = ::read(fd_.get(), buf, n);
    return r < 0 ? -errno : r;
  }
  int Close() override { return fd_.Close(); }

 private:
  UniqueFd fd_;
};

class LocalTarget final : public Target {
 public:
  int Create(const std::string& path, std::unique_ptr<TargetFile>* out) override {
    int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    *out = std::make_unique<LocalFile>(fd);
    return 0;
  }
  int Open(const std::string& path, std::unique_ptr<TargetFile>* out) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    *out = std::make_unique<LocalFile>(fd);
    return 0;
  }
  int Stat(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 ? 0 : -errno;
  }
  int MkdirAll(const std::string& path) override {
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    return ec ? -ec.value() : 0;
  }
  bool RemoveTree(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec) PrintErrno(kCmd, "cannot remove " + path, ec.value(), "");
    return !ec;
  }
  void Evict(const std::string& path) override {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return;  // the read reports it
    (void)::fsync(fd.get());  // only clean pages can be dropped
    (void)::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED);
  }
  std::string Display(const std::string& path) const override { return path; }
  std::string Detail(int) const override { return ""; }
};

struct Row {
  std::string item;
  double value = 0, cost = 0;
  std::string unit, cost_unit;
  int precision = 2;
};

class Bench {
 public:
  Bench(Target* target, std::string dir, unsigned threads)
      : target_(target), dir_(std::move(dir)), threads_(threads) {}

  // Drops the files `c` wrote from the page cache before they are read (not timed).
  void Evict(const Case& c) {
    for (unsigned t = 0; t < threads_; ++t) {
      for (uint64_t i = 0; i < c.fcount; ++i) target_->Evict(FileName(c, t, i));
    }
  }

  // Runs `phase` ("write", "read", "stat") of `c` on every thread; returns the seconds taken, or
  // a negative value after a failure (reported once).
  double Run(const Case& c, const std::string& phase) {
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads_; ++t) {
      workers.emplace_back([this, &c, &phase, t] {
        if (phase == "write") {
          WriteFiles(c, t);
        } else if (phase == "read") {
          ReadFiles(c, t);
        } else {
          StatFiles(c, t);
        }
      });
    }
    for (auto& w : workers) w.join();
    if (failed_) return -1;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  std::string FileName(const Case& c, unsigned t, uint64_t i) const {
    return dir_ + "/" + c.name + "." + std::to_string(t) + "." + std::to_string(i);
  }

  void Fail(const std::string& what, const std::string& path, int err) {
    std::lock_guard<std::mutex> lock(mu_);
    if (failed_.exchange(true)) return;
    PrintErrno(kCmd, what + " " + target_->Display(path), err, target_->Detail(err));
  }

  void WriteFiles(const Case& c, unsigned t) {
    std::vector<char> buf(c.bsize);
    std::mt19937_64 rng(t * 7919 + 1);
    for (size_t i = 0; i + 8 <= buf.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(buf.data() + i, &v, 8);
    }
    for (uint64_t i = 0; i < c.fcount && !failed_; ++i) {
      const std::string path = FileName(c, t, i);
      std::unique_ptr<TargetFile> f;
      if (int rc = target_->Create(path, &f); rc < 0) return Fail("cannot create", path, -rc);
      for (uint64_t j = 0; j < c.bcount; ++j) {
        // A block goes in whole: a short write is retried with the rest.
        uint64_t put = 0;
        while (put < buf.size()) {
          int64_t n = f->Write(buf.data() + put, buf.size() - put);
          if (n < 0) return Fail("cannot write", path, static_cast<int>(-n));
          if (n == 0) return Fail("cannot write", path, EIO);
          put += static_cast<uint64_t>(n);
        }
      }
      if (int rc = f->Close(); rc < 0) return Fail("cannot close", path, -rc);
    }
  }

  void ReadFiles(const Case& c, unsigned t) {
    std::vector<char> buf(c.bsize);
    for (uint64_t i = 0; i < c.fcount && !failed_; ++i) {
      const std::string path = FileName(c, t, i);
      std::unique_ptr<TargetFile> f;
      if (int rc = target_->Open(path, &f); rc < 0) return Fail("cannot open", path, -rc);
      for (uint64_t j = 0; j < c.bcount; ++j) {
        // A block must come back whole (juicefs fails on a short read); fill it across short
        // reads, which POSIX allows.
        uint64_t got = 0;
        while (got < buf.size()) {
          int64_t n = f->Read(buf.data() + got, buf.size() - got);
          if (n < 0) return Fail("cannot read", path, static_cast<int>(-n));
          if (n == 0) return Fail("short read of", path, EIO);
          got += static_cast<uint64_t>(n);
        }
      }
      if (int rc = f->Close(); rc < 0) return Fail("cannot close", path, -rc);
    }
  }

  void StatFiles(const Case& c, unsigned t) {
    for (uint64_t i = 0; i < c.fcount && !failed_; ++i) {
      const std::string path = FileName(c, t, i);
      if (int rc = target_->Stat(path); rc < 0) return Fail("cannot stat", path, -rc);
    }
  }

  Target* target_;
  std::string dir_;
  unsigned threads_;
  std::atomic<bool> failed_{false};
  std::mutex mu_;
};

std::string Fixed(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", precision, v);
  return buf;
}

int RunBench(const GlobalOptions& global, const BenchArgs& a) {
  const bool on_volume = IsVolumePath(a.path);
  if (!on_volume) {
    struct stat st;
    if (a.path.empty() || ::stat(a.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      PrintError(kCmd, "'" + a.path +
                           "' is neither a volume path (jfs:/dir) nor an existing local directory");
      return kExitUsage;
    }
  }
  // Units of bare numbers follow juicefs: block and big file in MiB, small file in KiB.
  uint64_t block = 0, big = 0, small = 0;
  if (!ParseSize(a.block_size, 1 << 20, &block) || block == 0 || block > (1ull << 30)) {
    PrintError(kCmd, "invalid --block-size '" + a.block_size + "' (1 B .. 1 GiB, e.g. 1M)");
    return kExitUsage;
  }
  if (!ParseSize(a.big_file_size, 1 << 20, &big)) {
    PrintError(kCmd, "invalid --big-file-size '" + a.big_file_size + "' (e.g. 1G, 64M)");
    return kExitUsage;
  }
  if (!ParseSize(a.small_file_size, 1 << 10, &small) || small > (1ull << 30)) {
    PrintError(kCmd, "invalid --small-file-size '" + a.small_file_size + "' (e.g. 128K)");
    return kExitUsage;
  }
  if (a.threads == 0 || a.threads > 1024) {
    PrintError(kCmd, "--threads must be between 1 and 1024");
    return kExitUsage;
  }
  const bool has_big = big > 0;
  const bool has_small = small > 0 && a.small_file_count > 0;
  if (!has_big && !has_small) {
    PrintError(kCmd, "nothing to do: both the big-file and the small-file workloads are empty");
    return kExitUsage;
  }
  const Case big_case = MakeCase("bigfile", big, 1, block);
  const Case small_case = MakeCase("smallfile", small, a.small_file_count, block);

  VolumeHandle fs;
  std::unique_ptr<Target> target;
  std::string base;
  if (on_volume) {
    if (int rc = OpenVolume(kCmd, global, false, &fs); rc != kExitOk) return rc;
    target = std::make_unique<VolumeTarget>(fs.get());
    base = VolumePathOf(a.path);
  } else {
    target = std::make_unique<LocalTarget>();
    std::error_code ec;
    base = std::filesystem::absolute(a.path, ec).lexically_normal().string();
    if (ec) {
      PrintErrno(kCmd, "cannot resolve " + a.path, ec.value());
      return kExitError;
    }
  }
  // Closes the volume (if any); returns kExitOk or kExitError.
  auto close = [&] { return fs ? CloseVolume(kCmd, std::move(fs)) : kExitOk; };
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string dir =
      (base == "/" ? "" : base) + "/__juicefs_benchmark_" + std::to_string(ns) + "__";
  if (int rc = target->MkdirAll(dir); rc < 0) {
    PrintErrno(kCmd, "cannot create " + target->Display(dir), -rc, target->Detail(-rc));
    close();
    return kExitError;
  }

  jfs_stats_t before{}, after{};
  if (fs) jfs_stats(fs.get(), &before, sizeof(before));
  Bench bench(target.get(), dir, a.threads);
  std::vector<Row> rows;
  const double threads = a.threads;
  bool ok = true;
  auto phase = [&](const Case& c, const std::string& what, const std::string& item, bool bigfile) {
    if (!ok) return;
    if (what == "read") bench.Evict(c);
    double cost = bench.Run(c, what);
    if (cost < 0) {
      ok = false;
      return;
    }
    cost = std::max(cost, 1e-9);
    const double files = static_cast<double>(c.fcount);
    if (bigfile) {
      rows.push_back(Row{item, static_cast<double>(c.fsize) / 1024 / 1024 * files * threads / cost,
                         cost / files, "MiB/s", "s/file", 2});
    } else {
      rows.push_back(
          Row{item, files * threads / cost, cost * 1000 / files, "files/s", "ms/file", 1});
    }
  };
  if (has_big) {
    phase(big_case, "write", "Write big file", true);
    phase(big_case, "read", "Read big file", true);
  }
  if (has_small) {
    phase(small_case, "write", "Write small file", false);
    phase(small_case, "read", "Read small file", false);
    phase(small_case, "stat", "Stat file", false);
  }
  if (fs) jfs_stats(fs.get(), &after, sizeof(after));
  // The work directory goes whatever happened.
  bool cleaned = target->RemoveTree(dir);
  int result = ok && cleaned ? kExitOk : kExitError;
  if (close() != kExitOk) result = kExitError;
  if (!ok) return result;

  if (a.json) {
    nlohmann::ordered_json out;
    out["path"] = a.path;
    out["block_size"] = block;
    out["big_file_size"] = has_big ? big_case.fsize : 0;
    out["small_file_size"] = small;
    out["small_file_count"] = a.small_file_count;
    out["threads"] = a.threads;
    nlohmann::ordered_json results = nlohmann::ordered_json::array();
    for (const Row& r : rows) {
      results.push_back({{"item", r.item},
                         {"value", r.value},
                         {"unit", r.unit},
                         {"cost", r.cost},
                         {"cost_unit", r.cost_unit}});
    }
    out["results"] = std::move(results);
    std::printf("%s\n", out.dump(2).c_str());
    return result;
  }
  std::printf("Benchmark finished!\n");
  std::printf(
      "BlockSize: %s, BigFileSize: %s, SmallFileSize: %s, SmallFileCount: %u, "
      "NumThreads: %u\n",
      HumanBytes(block).c_str(), HumanBytes(big).c_str(), HumanBytes(small).c_str(),
      a.small_file_count, a.threads);
  std::vector<std::vector<std::string>> table = {{"ITEM", "VALUE", "COST"}};
  for (const Row& r : rows) {
    table.push_back(
        {r.item, Fixed(r.value, r.precision) + " " + r.unit, Fixed(r.cost, 2) + " " + r.cost_unit});
  }
  // What the data path did (JuiceFS adds these rows from .stats when the path is a mount); only
  // known for a run through the library.
  if (!on_volume) {
    PrintTable(table);
    return result;
  }
  auto ops = [](uint64_t n) { return std::to_string(n) + " operations"; };
  auto mib = [](uint64_t n) { return Fixed(static_cast<double>(n) / 1024 / 1024, 2) + " MiB"; };
  table.push_back({"Update meta", ops(after.meta_calls - before.meta_calls), ""});
  table.push_back(
      {"Put object", ops(after.put_ops - before.put_ops), mib(after.put_bytes - before.put_bytes)});
  table.push_back(
      {"Get object", ops(after.get_ops - before.get_ops), mib(after.get_bytes - before.get_bytes)});
  table.push_back({"Write into cache", ops(after.cache_write_ops - before.cache_write_ops),
                   mib(after.cache_write_bytes - before.cache_write_bytes)});
  table.push_back({"Read from cache", ops(after.cache_hit_ops - before.cache_hit_ops),
                   mib(after.cache_hit_bytes - before.cache_hit_bytes)});
  PrintTable(table);
  return result;
}

}  // namespace

void AddBenchCommand(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* c = app.add_subcommand(
      "bench",
      "Run the workloads of `juicefs bench` on a directory of the volume or a local directory");
  c->add_option("PATH", a->path,
                "jfs:/dir of the volume (through the library), or a local directory such as a "
                "mount point (plain system calls); the work directory is created inside")
      ->required();
  c->add_option("--block-size", a->block_size, "size of each I/O (MiB, or with a unit)")
      ->capture_default_str();
  c->add_option("--big-file-size", a->big_file_size, "size of each big file (MiB, or with a unit)")
      ->capture_default_str();
  c->add_option("--small-file-size", a->small_file_size,
                "size of each small file (KiB, or with a unit)")
      ->capture_default_str();
  c->add_option("--small-file-count", a->small_file_count, "small files per thread")
      ->capture_default_str();
  c->add_option("-p,--threads", a->threads, "number of concurrent threads")->capture_default_str();
  c->add_flag("--json", a->json, "print the results as JSON instead of the table");
  c->callback([a, action, &global] { *action = [a, &global] { return RunBench(global, *a); }; });
}

}  // namespace jfs::tools
