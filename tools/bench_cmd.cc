// jfs bench: the workloads of `juicefs bench` (format.md §8.1, cmd/bench.go), run in-process
// through the C ABI instead of through a mount (so there is no page cache to drop).
//
// Per thread t: write bigfile.t.0 in --block-size writes → read it back → write
// --small-file-count files smallfile.t.i of --small-file-size each → read them → stat them; then
// the work directory PATH/__juicefs_benchmark_<ns>__ is removed. Values and costs are computed as
// juicefs does (cost is per file of one thread).
#include <fcntl.h>
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "juicefs/juicefs.h"
#include "tools/common.h"

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

struct Row {
  std::string item;
  double value = 0, cost = 0;
  std::string unit, cost_unit;
  int precision = 2;
};

class Bench {
 public:
  Bench(jfs_fs_t* fs, std::string dir, unsigned threads)
      : fs_(fs), dir_(std::move(dir)), threads_(threads) {}

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
    PrintErrno(kCmd, what + " jfs:" + path, err, UsefulDetail(jfs_last_error(fs_), err));
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
      jfs_file_t* raw = nullptr;
      if (int rc = jfs_create(fs_, path.c_str(), 0644, &raw); rc < 0) {
        return Fail("cannot create", path, -rc);
      }
      FileHandle f(raw);
      for (uint64_t j = 0; j < c.bcount; ++j) {
        int64_t n = jfs_write(f.get(), buf.data(), buf.size());
        if (n < 0) return Fail("cannot write", path, static_cast<int>(-n));
      }
      if (int rc = jfs_close(f.release()); rc < 0) return Fail("cannot close", path, -rc);
    }
  }

  void ReadFiles(const Case& c, unsigned t) {
    std::vector<char> buf(c.bsize);
    for (uint64_t i = 0; i < c.fcount && !failed_; ++i) {
      const std::string path = FileName(c, t, i);
      jfs_file_t* raw = nullptr;
      if (int rc = jfs_open(fs_, path.c_str(), O_RDONLY, 0, &raw); rc < 0) {
        return Fail("cannot open", path, -rc);
      }
      FileHandle f(raw);
      for (uint64_t j = 0; j < c.bcount; ++j) {
        // A block must come back whole (juicefs fails on a short read); fill it across short
        // reads, which POSIX allows.
        uint64_t got = 0;
        while (got < buf.size()) {
          int64_t n = jfs_read(f.get(), buf.data() + got, buf.size() - got);
          if (n < 0) return Fail("cannot read", path, static_cast<int>(-n));
          if (n == 0) return Fail("short read of", path, EIO);
          got += static_cast<uint64_t>(n);
        }
      }
      if (int rc = jfs_close(f.release()); rc < 0) return Fail("cannot close", path, -rc);
    }
  }

  void StatFiles(const Case& c, unsigned t) {
    for (uint64_t i = 0; i < c.fcount && !failed_; ++i) {
      const std::string path = FileName(c, t, i);
      jfs_stat_t st{};
      if (int rc = jfs_stat(fs_, path.c_str(), &st); rc < 0) return Fail("cannot stat", path, -rc);
    }
  }

  jfs_fs_t* fs_;
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
  if (!IsVolumePath(a.path)) {
    PrintError(kCmd, "'" + a.path + "' is not a volume path (write it as jfs:/dir)");
    return kExitUsage;
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
  if (int rc = OpenVolume(kCmd, global, false, &fs); rc != kExitOk) return rc;
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::string base = VolumePathOf(a.path);
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  const std::string dir =
      (base == "/" ? "" : base) + "/__juicefs_benchmark_" + std::to_string(ns) + "__";
  if (int rc = jfs_mkdir_all(fs.get(), dir.c_str(), 0777); rc < 0) {
    PrintErrno(kCmd, "cannot create jfs:" + dir, -rc, UsefulDetail(jfs_last_error(fs.get()), -rc));
    CloseVolume(kCmd, std::move(fs));
    return kExitError;
  }

  jfs_stats_t before{}, after{};
  jfs_stats(fs.get(), &before, sizeof(before));
  Bench bench(fs.get(), dir, a.threads);
  std::vector<Row> rows;
  const double threads = a.threads;
  bool ok = true;
  auto phase = [&](const Case& c, const std::string& what, const std::string& item, bool bigfile) {
    if (!ok) return;
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
  jfs_stats(fs.get(), &after, sizeof(after));
  // The work directory goes whatever happened.
  bool cleaned = RemoveTree(kCmd, fs.get(), dir);
  int result = ok && cleaned ? kExitOk : kExitError;
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
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
  // What the data path did (JuiceFS adds these rows from .stats when the path is a mount).
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
      "bench", "Run the workloads of `juicefs bench` on a directory of the volume");
  c->add_option("PATH", a->path, "jfs:/dir (the work directory is created inside)")->required();
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
