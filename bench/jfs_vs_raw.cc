// jfs_vs_raw: libjuicefs against the raw backends it sits on, in ONE run on the same disk.
//
//   (a) big-file write: jfs_create + N MiB of 1 MiB jfs_write + jfs_close, against write(2) of
//       1 MiB blocks + fdatasync (what `dd bs=1M conv=fdatasync` does);
//   (b) big-file read of the same data, after evicting it from the page cache
//       (posix_fadvise(DONTNEED) on the raw file and on every block file of the volume);
//   (c) empty-file create+close (jfs_create + jfs_close of N files in one directory), against raw
//       SQLite with the same pragmas (WAL, synchronous=NORMAL, busy_timeout) doing one
//       BEGIN IMMEDIATE / INSERT / COMMIT per row into a separate database file.
//
// Prints the rates, the ratios with their targets (write >= 0.7x dd, create >= 0.4x raw SQLite)
// and the peak RSS of the process. Not a test: run it by hand, e.g.
//   build/bench/jfs_vs_raw [DIR] [--mib 1024] [--files 10000] [--rounds 3] [--keep] [--json]
// The big write runs --rounds times, alternating which side goes first; the row shows the round
// with the median ratio.
#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_util.h"
#include "juicefs/juicefs.h"

namespace {

using bench::Check;
using bench::Clock;
using bench::Die;
using bench::Fd;
using bench::Seconds;
using bench::Volume;

constexpr size_t kBlock = 1 << 20;

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Volume OpenVolume(const std::string& url) {
  jfs_fs_t* fs = nullptr;
  Check(jfs_open_volume(url.c_str(), nullptr, &fs), "open volume " + url);
  return Volume(fs);
}

void CloseVolume(Volume v) {
  if (int rc = jfs_close_volume(v.release()); rc < 0) {
    Die(std::string("close volume: ") + std::strerror(-rc) + " (" + jfs_last_open_error() + ")");
  }
}

// ---- page cache --------------------------------------------------------------------------------

// Drops the clean cached pages of one file; false when the kernel refused.
bool Evict(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Fd owner(fd);
  ::fdatasync(fd);  // dirty pages cannot be dropped
  return ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0;
}

int g_evict_failures = 0;
int EvictEntry(const char* path, const struct stat*, int type, struct FTW*) {
  if (type == FTW_F && !Evict(path)) ++g_evict_failures;
  return 0;
}

// Evicts every file under `dir`; returns how many could not be evicted.
int EvictTree(const std::string& dir) {
  g_evict_failures = 0;
  ::nftw(dir.c_str(), EvictEntry, 16, FTW_PHYS);
  return g_evict_failures;
}

// Fraction of a file's pages in the page cache (mincore), or -1 when unknown.
double Resident(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  Fd owner(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size == 0) return -1;
  void* map = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return -1;
  const long page = ::sysconf(_SC_PAGESIZE);
  const size_t pages = (static_cast<size_t>(st.st_size) + page - 1) / page;
  std::vector<unsigned char> vec(pages);
  double result = -1;
  if (::mincore(map, static_cast<size_t>(st.st_size), vec.data()) == 0) {
    size_t in = 0;
    for (unsigned char v : vec) in += v & 1;
    result = static_cast<double>(in) / static_cast<double>(pages);
  }
  ::munmap(map, static_cast<size_t>(st.st_size));
  return result;
}

// ---- (a) + (b) big file ------------------------------------------------------------------------

double JfsWrite(jfs_fs_t* fs, const std::string& path, const std::vector<char>& block,
                uint64_t mib) {
  auto start = Clock::now();
  jfs_file_t* f = nullptr;
  Check(jfs_create(fs, path.c_str(), 0644, &f), "jfs_create " + path, fs);
  for (uint64_t i = 0; i < mib; ++i) {
    int64_t n = jfs_write(f, block.data(), block.size());
    if (n != static_cast<int64_t>(block.size())) {
      jfs_close(f);
      Check(n < 0 ? static_cast<int>(n) : -EIO, "jfs_write " + path, fs);
    }
  }
  Check(jfs_close(f), "jfs_close " + path, fs);
  return static_cast<double>(mib) / Seconds(start);
}

double RawWrite(const std::string& path, const std::vector<char>& block, uint64_t mib) {
  auto start = Clock::now();
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) Die("open " + path + ": " + std::strerror(errno));
  for (uint64_t i = 0; i < mib; ++i) {
    size_t done = 0;
    while (done < block.size()) {
      ssize_t n = ::write(fd.get(), block.data() + done, block.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Die("write " + path + ": " + std::strerror(errno));
      done += static_cast<size_t>(n);
    }
  }
  if (::fdatasync(fd.get()) != 0) Die("fdatasync " + path + ": " + std::strerror(errno));
  fd.Close(path);
  return static_cast<double>(mib) / Seconds(start);
}

double JfsRead(jfs_fs_t* fs, const std::string& path, const std::vector<char>& block,
               uint64_t mib) {
  std::vector<char> buf(kBlock);
  auto start = Clock::now();
  jfs_file_t* f = nullptr;
  Check(jfs_open(fs, path.c_str(), O_RDONLY, 0, &f), "jfs_open " + path, fs);
  uint64_t total = 0;
  for (;;) {
    size_t got = 0;
    while (got < buf.size()) {
      int64_t n = jfs_read(f, buf.data() + got, buf.size() - got);
      if (n < 0) {
        jfs_close(f);
        Check(static_cast<int>(n), "jfs_read " + path, fs);
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == 0) break;
    if (got != buf.size() || std::memcmp(buf.data(), block.data(), got) != 0) {
      jfs_close(f);
      Die("jfs_read " + path + ": data differs from what was written at MiB " +
          std::to_string(total / kBlock));
    }
    total += got;
  }
  Check(jfs_close(f), "jfs_close " + path, fs);
  if (total != mib * kBlock) Die("jfs_read " + path + ": wrong size " + std::to_string(total));
  return static_cast<double>(mib) / Seconds(start);
}

double RawRead(const std::string& path, const std::vector<char>& block, uint64_t mib) {
  std::vector<char> buf(kBlock);
  auto start = Clock::now();
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) Die("open " + path + ": " + std::strerror(errno));
  uint64_t total = 0;
  for (;;) {
    size_t got = 0;
    while (got < buf.size()) {
      ssize_t n = ::read(fd.get(), buf.data() + got, buf.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) Die("read " + path + ": " + std::strerror(errno));
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    if (got == 0) break;
    if (got != buf.size() || std::memcmp(buf.data(), block.data(), got) != 0) {
      Die("read " + path + ": data differs from what was written");
    }
    total += got;
  }
  fd.Close(path);
  if (total != mib * kBlock) Die("read " + path + ": wrong size " + std::to_string(total));
  return static_cast<double>(mib) / Seconds(start);
}

// ---- (c) create rate ---------------------------------------------------------------------------

double JfsCreate(jfs_fs_t* fs, const std::string& dir, uint64_t files) {
  Check(jfs_mkdir(fs, dir.c_str(), 0755), "jfs_mkdir " + dir, fs);
  auto start = Clock::now();
  for (uint64_t i = 0; i < files; ++i) {
    const std::string path = dir + "/f" + std::to_string(i);
    jfs_file_t* f = nullptr;
    Check(jfs_create(fs, path.c_str(), 0644, &f), "jfs_create " + path, fs);
    Check(jfs_close(f), "jfs_close " + path, fs);
  }
  return static_cast<double>(files) / Seconds(start);
}

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    Die(std::string("sqlite: ") + sql + ": " + msg);
  }
}

Stmt Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) {
    Die(std::string("sqlite: prepare ") + sql + ": " + sqlite3_errmsg(db));
  }
  return Stmt(s);
}

void Step(sqlite3* db, sqlite3_stmt* s) {
  if (sqlite3_step(s) != SQLITE_DONE) Die(std::string("sqlite: step: ") + sqlite3_errmsg(db));
  sqlite3_reset(s);
}

double RawSqliteInsert(const std::string& path, uint64_t rows) {
  sqlite3* raw = nullptr;
  if (sqlite3_open(path.c_str(), &raw) != SQLITE_OK) {
    std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : "out of memory";
    sqlite3_close(raw);
    Die("sqlite: open " + path + ": " + msg);
  }
  Db db(raw);
  Exec(db.get(), "PRAGMA journal_mode=WAL");
  Exec(db.get(), "PRAGMA synchronous=NORMAL");
  Exec(db.get(), "PRAGMA busy_timeout=5000");
  // Shaped like a directory entry table (jfs_edge): a unique (parent, name) key.
  Exec(db.get(),
       "CREATE TABLE IF NOT EXISTS edge(id INTEGER PRIMARY KEY AUTOINCREMENT, parent INTEGER NOT "
       "NULL, name BLOB NOT NULL, inode INTEGER NOT NULL, type INTEGER NOT NULL, "
       "UNIQUE(parent, name))");
  Stmt begin = Prepare(db.get(), "BEGIN IMMEDIATE");
  Stmt insert =
      Prepare(db.get(), "INSERT INTO edge(parent, name, inode, type) VALUES (?1, ?2, ?3, 1)");
  Stmt commit = Prepare(db.get(), "COMMIT");
  auto start = Clock::now();
  for (uint64_t i = 0; i < rows; ++i) {
    const std::string name = "f" + std::to_string(i);
    Step(db.get(), begin.get());
    sqlite3_bind_int64(insert.get(), 1, 2);
    sqlite3_bind_blob(insert.get(), 2, name.data(), static_cast<int>(name.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(insert.get(), 3, static_cast<sqlite3_int64>(i + 100));
    Step(db.get(), insert.get());
    Step(db.get(), commit.get());
  }
  return static_cast<double>(rows) / Seconds(start);
}

// ---- report ------------------------------------------------------------------------------------

struct Result {
  std::string name, unit;
  double jfs = 0, raw = 0;
  double target = 0;  // 0: informational
  double Ratio() const { return raw > 0 ? jfs / raw : 0; }
};

double PeakRssMiB() {
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"libjuicefs against the raw disk and raw SQLite, in one run on one disk",
               "jfs_vs_raw"};
  std::string dir;
  uint64_t mib = 1024, files = 10000;
  bool keep = false, json = false;
  int rounds = 3;
  app.add_option("DIR", dir, "directory on the disk to test (default: a new one under /var/tmp)");
  app.add_option("--mib", mib, "size of the big file in MiB")->capture_default_str();
  app.add_option("--files", files, "number of empty files to create")->capture_default_str();
  app.add_option("--rounds", rounds, "big-write rounds, alternating which side runs first")
      ->capture_default_str()
      ->check(CLI::Range(1, 99));
  app.add_flag("--keep", keep, "keep the work directory");
  app.add_flag("--json", json, "print the results as JSON");
  CLI11_PARSE(app, argc, argv);
  if (mib == 0 || files == 0) Die("--mib and --files must be at least 1");

  std::string work;
  if (dir.empty()) {
    char tmpl[] = "/var/tmp/jfs_vs_raw.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) Die(std::string("mkdtemp: ") + std::strerror(errno));
    work = tmpl;
  } else {
    work = std::filesystem::absolute(dir).string() + "/jfs_vs_raw." + std::to_string(getpid());
  }
  std::error_code ec;
  std::filesystem::create_directories(work + "/raw", ec);
  if (ec) Die("create " + work + "/raw: " + ec.message());
  const std::string meta_url = "sqlite3://" + work + "/vol/meta.db";
  const std::string data_dir = work + "/vol/data";
  std::filesystem::create_directories(work + "/vol", ec);
  if (ec) Die("create " + work + "/vol: " + ec.message());

  jfs_format_options_t fo;
  jfs_format_options_init(&fo);
  fo.storage = "file";
  fo.bucket = data_dir.c_str();
  fo.trash_days = 0;
  Check(jfs_format(meta_url.c_str(), "jfs-vs-raw", &fo), "format " + meta_url);

  std::vector<char> block(kBlock);
  std::mt19937_64 rng(42);
  for (size_t i = 0; i + 8 <= block.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(block.data() + i, &v, 8);
  }
  const std::string raw_file = work + "/raw/big";

  if (!json) {
    std::printf("jfs_vs_raw: %s (volume %s, data %s)\n", work.c_str(), meta_url.c_str(),
                data_dir.c_str());
    std::fflush(stdout);
  }
  std::vector<Result> results;

  // (a) write, `rounds` times, alternating which side goes first (a virtual disk's speed drifts
  // over minutes; pairing each jfs run with a raw run next to it, in both orders, keeps that drift
  // out of the ratio). Everything is synced between runs so one side's dirty pages do not slow the
  // other down (the file store fsyncs its blocks anyway). The row reports the round with the
  // median ratio; every round is printed.
  Result write{"big write " + std::to_string(mib) + " MiB", "MiB/s", 0, 0, 0.7};
  std::vector<Result> rounds_done;
  for (int r = 0; r < rounds; ++r) {
    const std::string jfs_path = "/big" + std::to_string(r);
    const std::string raw_path = raw_file + std::to_string(r);
    Result one = write;
    auto run_jfs = [&] {
      Volume v = OpenVolume(meta_url);
      one.jfs = JfsWrite(v.get(), jfs_path, block, mib);
      CloseVolume(std::move(v));
      ::sync();
    };
    auto run_raw = [&] {
      one.raw = RawWrite(raw_path, block, mib);
      ::sync();
    };
    if (r % 2 == 0) {
      run_jfs();
      run_raw();
    } else {
      run_raw();
      run_jfs();
    }
    if (!json) {
      std::printf("  write round %d (%s first): jfs %.1f MiB/s, raw %.1f MiB/s, ratio %.2fx\n",
                  r + 1, r % 2 == 0 ? "jfs" : "raw", one.jfs, one.raw, one.Ratio());
      std::fflush(stdout);
    }
    rounds_done.push_back(one);
  }
  std::sort(rounds_done.begin(), rounds_done.end(),
            [](const Result& a, const Result& b) { return a.Ratio() < b.Ratio(); });
  write = rounds_done[rounds_done.size() / 2];
  results.push_back(write);
  // Only round 1's files are read back; the others go now so the read phase sees a quiet disk.
  {
    Volume v = OpenVolume(meta_url);
    for (int r = 1; r < rounds; ++r) {
      Check(jfs_unlink(v.get(), ("/big" + std::to_string(r)).c_str()), "jfs_unlink", v.get());
      std::filesystem::remove(raw_file + std::to_string(r), ec);
    }
    CloseVolume(std::move(v));
    ::sync();
  }

  // (b) read, cold: a fresh volume handle (no block cache of the library), evicted files.
  const int evict_failed = EvictTree(data_dir) + (Evict(raw_file + "0") ? 0 : 1);
  const double raw_resident = Resident(raw_file + "0");
  Result read{"big read " + std::to_string(mib) + " MiB", "MiB/s", 0, 0, 0};
  Volume vol = OpenVolume(meta_url);
  read.jfs = JfsRead(vol.get(), "/big0", block, mib);
  read.raw = RawRead(raw_file + "0", block, mib);
  results.push_back(read);

  // (c) create + close of empty files vs. one-row SQLite transactions.
  Result create{"create+close " + std::to_string(files) + " files", "ops/s", 0, 0, 0.4};
  create.jfs = JfsCreate(vol.get(), "/files", files);
  CloseVolume(std::move(vol));
  create.raw = RawSqliteInsert(work + "/raw/sqlite.db", files);
  results.push_back(create);

  const double rss = PeakRssMiB();
  std::string cache_note;
  if (evict_failed > 0) {
    cache_note = std::to_string(evict_failed) +
                 " file(s) could not be evicted: reads may be served by the page cache";
  } else if (raw_resident < 0) {
    cache_note = "eviction requested (posix_fadvise DONTNEED); residency unknown";
  } else {
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "evicted with posix_fadvise(DONTNEED); %.0f%% of the raw file was still cached "
                  "before reading%s",
                  raw_resident * 100,
                  raw_resident > 0.05 ? " (raw read partly from page cache)" : "");
    cache_note = buf;
  }

  bool all_met = true;
  for (const Result& r : results) {
    if (r.target > 0 && r.Ratio() < r.target) all_met = false;
  }
  if (json) {
    nlohmann::ordered_json out;
    out["dir"] = work;
    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    for (const Result& r : results) {
      nlohmann::ordered_json row = {
          {"name", r.name}, {"unit", r.unit}, {"jfs", r.jfs}, {"raw", r.raw}, {"ratio", r.Ratio()}};
      if (r.target > 0) {
        row["target"] = r.target;
        row["met"] = r.Ratio() >= r.target;
      }
      rows.push_back(std::move(row));
    }
    out["results"] = std::move(rows);
    out["read_cache"] = cache_note;
    out["peak_rss_mib"] = rss;
    out["targets_met"] = all_met;
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("\n%-30s %12s %12s %8s  %s\n", "workload", "jfs", "raw", "ratio", "target");
    for (const Result& r : results) {
      std::string target = "(info)";
      if (r.target > 0) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), ">= %.2fx %s", r.target,
                      r.Ratio() >= r.target ? "met" : "NOT MET");
        target = buf;
      }
      std::printf("%-30s %12.1f %12.1f %7.2fx  %s\n", (r.name + " (" + r.unit + ")").c_str(), r.jfs,
                  r.raw, r.Ratio(), target.c_str());
    }
    std::printf(
        "\nraw write = write(2) of 1 MiB blocks + fdatasync (dd conv=fdatasync); jfs "
        "write = jfs_write + jfs_close\n");
    std::printf(
        "raw create = SQLite WAL, synchronous=NORMAL, one BEGIN IMMEDIATE/INSERT/COMMIT "
        "per row\n");
    std::printf("read cache: %s\n", cache_note.c_str());
    std::printf(
        "            the raw read goes through the page cache (readahead included), and "
        "caches below this kernel\n            (e.g. a virtual disk's host cache) cannot be "
        "evicted from here: treat the read ratio as indicative\n");
    std::printf("peak RSS: %.1f MiB\n", rss);
  }

  if (!keep) {
    std::filesystem::remove_all(work, ec);
    if (ec)
      std::fprintf(stderr, "jfs_vs_raw: cleanup of %s: %s\n", work.c_str(), ec.message().c_str());
  }
  return 0;
}
