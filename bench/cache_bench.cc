// cache_bench: the performance goals of the cache issue, libjuicefs (file backend + disk cache,
// through the C ABI) against plain files on the same disk, in ONE run:
//   big file:   write N MiB in 1 MiB writes + fsync, vs write(2) + fdatasync (dd conv=fdatasync);
//               cold read (page cache dropped for every file of the run, disk cache emptied), vs
//               reading the raw file cold; re-read, vs reading the raw file from the page cache;
//   small files: F files of K KiB, one write + close each, vs plain files (in turns, a tenth at a
//               time); read them back;
//   threads:    the big write and the small-file write with 2 threads vs 1, with the cores the
//               process kept busy in each (the library also writes in background threads), and
//               the same with plain files; and the disk's rate for one and two writers of 4 MiB
//               O_DIRECT writes, which is how the file store writes the blocks of big files.
// Every phase of the thread comparison starts after sync(2), with nothing left to write back.
// The volume is opened with a disk cache in DIR, as a user would, but with the file backend in the
// same file system the library does not use it (a second copy of each block on the same disk;
// lib/volume.h cache_same_disk): the "cache:" line then shows no hits, and re-reads come from the
// block files in the page cache.
// Prints rates and ratios, and the load average (the machine may be shared). Not a test:
//   build/bench/cache_bench [DIR] [--mib 4096] [--files 10000] [--file-kib 128]
#include <fcntl.h>
#include <ftw.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "juicefs/juicefs.h"

namespace {

using bench::Check;
using bench::Clock;
using bench::Die;
using bench::Seconds;

constexpr size_t kIo = 1 << 20;

int DropOne(const char* path, const struct stat*, int type, struct FTW*) {
  if (type != FTW_F) return 0;
  int fd = ::open(path, O_RDONLY);
  if (fd >= 0) {
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  return 0;
}

// Evicts every file under `dir` from the page cache.
void DropCaches(const std::string& dir) {
  ::nftw(dir.c_str(), DropOne, 32, FTW_PHYS);
}

std::string LoadAvg() {
  double l[3] = {0, 0, 0};
  if (::getloadavg(l, 3) != 3) return "?";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2f %.2f %.2f", l[0], l[1], l[2]);
  return buf;
}

struct Volume {
  jfs_fs_t* fs = nullptr;
  Volume(const std::string& url, const std::string& cache) {
    jfs_volume_options_t vo;
    jfs_volume_options_init(&vo);
    vo.cache_dir = cache.c_str();
    vo.cache_size = 1 << 20;  // MiB: effectively unlimited
    vo.free_space_ratio = 0.05;
    Check(jfs_open_volume(url.c_str(), &vo, &fs), "open volume");
    const uint32_t root[] = {0};
    Check(jfs_set_credentials(fs, 0, root, 1, 022), "credentials", fs);
  }
  ~Volume() { Check(jfs_close_volume(fs), "close volume"); }
};

void JfsWrite(jfs_fs_t* fs, const std::string& path, uint64_t mib, const std::string& buf) {
  jfs_file_t* f = nullptr;
  Check(jfs_create(fs, path.c_str(), 0644, &f), "create " + path, fs);
  for (uint64_t i = 0; i < mib; ++i) {
    Check(jfs_write(f, buf.data(), kIo) == static_cast<int64_t>(kIo) ? 0 : -EIO, "write", fs);
  }
  Check(jfs_fsync(f), "fsync", fs);
  Check(jfs_close(f), "close", fs);
}

void JfsRead(jfs_fs_t* fs, const std::string& path, uint64_t mib, std::string* buf) {
  jfs_file_t* f = nullptr;
  Check(jfs_open(fs, path.c_str(), O_RDONLY, 0, &f), "open " + path, fs);
  for (uint64_t i = 0; i < mib; ++i) {
    Check(jfs_read(f, buf->data(), kIo) == static_cast<int64_t>(kIo) ? 0 : -EIO, "read", fs);
  }
  Check(jfs_close(f), "close", fs);
}

void RawWrite(const std::string& path, uint64_t mib, const std::string& buf) {
  bench::Fd fd(::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644));
  if (fd.get() < 0) Die("create " + path);
  for (uint64_t i = 0; i < mib; ++i) {
    if (::write(fd.get(), buf.data(), kIo) != static_cast<ssize_t>(kIo)) Die("write " + path);
  }
  if (::fdatasync(fd.get()) != 0) Die("fdatasync");
  fd.Close(path);
}

// The disk's own rate for what the file store does with the blocks of big files: 4 MiB writes
// with O_DIRECT from an aligned buffer, fdatasync at the end.
void RawDirectWrite(const std::string& path, uint64_t mib) {
  constexpr size_t kBlock = 4 << 20;
  bench::Fd fd(::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_DIRECT, 0644));
  if (fd.get() < 0) Die("create (O_DIRECT) " + path);
  void* mem = ::mmap(nullptr, kBlock, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) Die("mmap");
  std::memset(mem, 'd', kBlock);
  for (uint64_t i = 0; i < mib / 4; ++i) {
    if (::pwrite(fd.get(), mem, kBlock, static_cast<off_t>(i * kBlock)) !=
        static_cast<ssize_t>(kBlock)) {
      Die("write (O_DIRECT) " + path);
    }
  }
  ::munmap(mem, kBlock);
  if (::fdatasync(fd.get()) != 0) Die("fdatasync");
  fd.Close(path);
}

void RawRead(const std::string& path, uint64_t mib, std::string* buf) {
  bench::Fd fd(::open(path.c_str(), O_RDONLY));
  if (fd.get() < 0) Die("open " + path);
  for (uint64_t i = 0; i < mib; ++i) {
    if (::read(fd.get(), buf->data(), kIo) != static_cast<ssize_t>(kIo)) Die("read " + path);
  }
}

// Runs fn(thread) on `threads` threads; seconds taken.
// CPU seconds of this process (all threads, user + system).
double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

template <typename Fn>
double Parallel(int threads, Fn fn, double* cores = nullptr) {
  const auto t0 = Clock::now();
  const double cpu0 = ProcessCpuSeconds();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) ts.emplace_back([&, t] { fn(t); });
  for (auto& t : ts) t.join();
  const double wall = Seconds(t0);
  if (cores) *cores = (ProcessCpuSeconds() - cpu0) / wall;
  return wall;
}

// How far more writer threads can go: the library works in background threads too (uploads), so
// one writer may already keep more than one core busy; with all cores busy, two writers can at
// most be (cores / what one writer used) times faster.
void ScalingCeiling(double one_cores, double two_cores) {
  const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  std::printf(
      "  CPU: 1 writer kept %.2f cores busy, 2 writers %.2f; on %u cores the most 2 "
      "writers can gain is %.2fx\n",
      one_cores, two_cores, n, n / std::max(one_cores, 1e-9));
}

void Row(const char* what, double jfs, double raw, const char* unit, double goal) {
  std::printf("%-34s jfs %9.1f %-8s raw %9.1f %-8s ratio %.2f (goal >= %.2f)\n", what, jfs, unit,
              raw, unit, jfs / raw, goal);
}

// ext4 without a journal (Linux fs/ext4/ialloc.c, recently_deleted) does not reuse an inode
// freed less than 1 minute ago (6 while its inode table block is unwritten): every file creation
// scans past all of them, which can make creating files several times slower for minutes after
// many deletions (an earlier run's cleanup, a test suite). Says so when `dir` is on such a file
// system, as the small-file rates then depend on what was deleted before the run.
void NoteNoJournal(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return;
  char link[64];
  std::snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
  std::error_code ec;
  const auto dev = std::filesystem::read_symlink(link, ec);
  if (ec) return;
  std::ifstream task("/sys/fs/ext4/" + dev.filename().string() + "/journal_task");
  std::string line;
  if (!std::getline(task, line)) return;  // not ext4
  if (line == "<none>") {
    std::printf(
        "  note: %s is on ext4 without a journal, which skips inodes freed in the last 1-6 "
        "minutes when it creates files: after many deletions, small-file rates drop\n",
        dir.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"disk cache benchmark: libjuicefs vs plain files"};
  std::string dir = "/var/tmp";
  uint64_t mib = 4096;
  int files = 10000, file_kib = 128;
  app.add_option("DIR", dir, "work directory (same disk for both sides)");
  app.add_option("--mib", mib, "big file size in MiB");
  app.add_option("--files", files, "small files");
  app.add_option("--file-kib", file_kib, "small file size in KiB");
  CLI11_PARSE(app, argc, argv);

  const std::string root = dir + "/cache_bench_" + std::to_string(::getpid());
  std::filesystem::create_directories(root + "/raw");
  const std::string url = "sqlite3://" + root + "/meta.db";
  const std::string cache = root + "/cache";
  {
    jfs_format_options_t fo;
    jfs_format_options_init(&fo);
    const std::string bucket = root + "/bucket";
    fo.bucket = bucket.c_str();
    fo.trash_days = 0;
    Check(jfs_format(url.c_str(), "cbench", &fo), "format");
  }
  std::string buf(kIo, '\0');
  for (size_t i = 0; i < kIo; ++i) buf[i] = static_cast<char>(i * 31 + i / 4096);
  std::printf("load average at start: %s\n", LoadAvg().c_str());

  {  // big file
    Volume v(url, cache);
    auto t0 = Clock::now();
    RawWrite(root + "/raw/big", mib, buf);
    const double raw_w = static_cast<double>(mib) / Seconds(t0);
    t0 = Clock::now();
    JfsWrite(v.fs, "/big", mib, buf);
    const double jfs_w = static_cast<double>(mib) / Seconds(t0);
    Row("big write (MiB/s)", jfs_w, raw_w, "MiB/s", 0.9);
  }
  std::filesystem::remove_all(cache);
  DropCaches(root);
  {
    std::string rb(kIo, '\0');
    Volume v(url, cache);
    auto t0 = Clock::now();
    RawRead(root + "/raw/big", mib, &rb);
    const double raw_r = static_cast<double>(mib) / Seconds(t0);
    t0 = Clock::now();
    JfsRead(v.fs, "/big", mib, &rb);
    const double jfs_r = static_cast<double>(mib) / Seconds(t0);
    Row("big cold read (MiB/s)", jfs_r, raw_r, "MiB/s", 0.8);
    t0 = Clock::now();
    RawRead(root + "/raw/big", mib, &rb);  // now in the page cache
    const double raw_hot = static_cast<double>(mib) / Seconds(t0);
    t0 = Clock::now();
    JfsRead(v.fs, "/big", mib, &rb);
    const double jfs_hot = static_cast<double>(mib) / Seconds(t0);
    Row("big re-read (MiB/s)", jfs_hot, raw_hot, "MiB/s", 0.5);
    jfs_stats_t st;
    jfs_stats(v.fs, &st, sizeof(st));
    std::printf("  cache: %llu hits (%.0f MiB), %llu misses, %llu object gets\n",
                static_cast<unsigned long long>(st.cache_hit_ops), st.cache_hit_bytes / 1048576.0,
                static_cast<unsigned long long>(st.cache_miss_ops),
                static_cast<unsigned long long>(st.get_ops));
  }
  std::string small(static_cast<size_t>(file_kib) * 1024, 'x');
  {  // small files
    Volume v(url, cache);
    Check(jfs_mkdir(v.fs, "/small", 0755), "mkdir", v.fs);
    std::filesystem::create_directories(root + "/raw/small");
    // Both sides in turns, kRounds rounds each, so that both meet the same state of the machine
    // (page cache, writeback of earlier phases, the file system's inode allocator).
    constexpr int kRounds = 10;
    double raw_s = 0, jfs_s = 0;
    for (int r = 0; r < kRounds; ++r) {
      const int from = files * r / kRounds, to = files * (r + 1) / kRounds;
      auto t0 = Clock::now();
      for (int i = from; i < to; ++i) {
        const std::string p = root + "/raw/small/" + std::to_string(i);
        bench::Fd fd(::open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644));
        if (::write(fd.get(), small.data(), small.size()) != static_cast<ssize_t>(small.size()))
          Die("write");
        fd.Close(p);
      }
      raw_s += Seconds(t0);
      t0 = Clock::now();
      for (int i = from; i < to; ++i) {
        jfs_file_t* f = nullptr;
        Check(jfs_create(v.fs, ("/small/" + std::to_string(i)).c_str(), 0644, &f), "create", v.fs);
        Check(jfs_write(f, small.data(), small.size()) == static_cast<int64_t>(small.size()) ? 0
                                                                                             : -EIO,
              "write", v.fs);
        Check(jfs_close(f), "close", v.fs);
      }
      jfs_s += Seconds(t0);
    }
    const double raw_w = files / raw_s;
    const double jfs_w = files / jfs_s;
    Row("small write+close (files/s)", jfs_w, raw_w, "files/s", 0.3);
    NoteNoJournal(root);
    std::string rb(small.size(), '\0');
    auto t0 = Clock::now();
    for (int i = 0; i < files; ++i) {
      bench::Fd fd(::open((root + "/raw/small/" + std::to_string(i)).c_str(), O_RDONLY));
      if (::read(fd.get(), rb.data(), rb.size()) != static_cast<ssize_t>(rb.size())) Die("read");
    }
    const double raw_r = files / Seconds(t0);
    t0 = Clock::now();
    for (int i = 0; i < files; ++i) {
      jfs_file_t* f = nullptr;
      Check(jfs_open(v.fs, ("/small/" + std::to_string(i)).c_str(), O_RDONLY, 0, &f), "open", v.fs);
      Check(jfs_read(f, rb.data(), rb.size()) == static_cast<int64_t>(rb.size()) ? 0 : -EIO, "read",
            v.fs);
      Check(jfs_close(f), "close", v.fs);
    }
    const double jfs_r = files / Seconds(t0);
    Row("small read (files/s)", jfs_r, raw_r, "files/s", 0.5);
  }
  {  // 2 threads vs 1
    Volume v(url, cache);
    const uint64_t part = std::max<uint64_t>(mib / 4, 1);
    double c1 = 0, c2 = 0;
    // Each phase starts with the disk idle: what earlier phases left dirty is written out first
    // (else the one-writer phase, which runs first, pays for it).
    ::sync();
    const double one = Parallel(
        1, [&](int t) { JfsWrite(v.fs, "/t1_" + std::to_string(t), 2 * part, buf); }, &c1);
    ::sync();
    const double two = Parallel(
        2, [&](int t) { JfsWrite(v.fs, "/t2_" + std::to_string(t), part, buf); }, &c2);
    Row("big write, 2 threads vs 1 (MiB/s)", 2.0 * part / two, 2.0 * part / one, "MiB/s", 1.7);
    ScalingCeiling(c1, c2);
    const int n = std::max(files / 4, 2);
    Check(jfs_mkdir(v.fs, "/ts1", 0755), "mkdir", v.fs);
    Check(jfs_mkdir(v.fs, "/ts2", 0755), "mkdir", v.fs);
    auto smalls = [&](const std::string& d, int t, int count) {
      for (int i = 0; i < count; ++i) {
        jfs_file_t* f = nullptr;
        Check(jfs_create(v.fs, (d + "/" + std::to_string(t) + "_" + std::to_string(i)).c_str(),
                         0644, &f),
              "create", v.fs);
        Check(jfs_write(f, small.data(), small.size()) == static_cast<int64_t>(small.size()) ? 0
                                                                                             : -EIO,
              "write", v.fs);
        Check(jfs_close(f), "close", v.fs);
      }
    };
    ::sync();
    const double s1 = Parallel(
        1, [&](int t) { smalls("/ts1", t, n); }, &c1);
    ::sync();
    const double s2 = Parallel(
        2, [&](int t) { smalls("/ts2", t, n / 2); }, &c2);
    Row("small write, 2 threads vs 1 (files/s)", n / s2, n / s1, "files/s", 1.7);
    ScalingCeiling(c1, c2);
    // The same with plain files: how far two threads can scale on this disk at all.
    ::sync();
    const double r1 =
        Parallel(1, [&](int t) { RawWrite(root + "/raw/t1_" + std::to_string(t), 2 * part, buf); });
    ::sync();
    const double r2 =
        Parallel(2, [&](int t) { RawWrite(root + "/raw/t2_" + std::to_string(t), part, buf); });
    ::sync();
    const double d1 = Parallel(
        1, [&](int t) { RawDirectWrite(root + "/raw/d1_" + std::to_string(t), 2 * part); });
    ::sync();
    const double d2 =
        Parallel(2, [&](int t) { RawDirectWrite(root + "/raw/d2_" + std::to_string(t), part); });
    std::filesystem::create_directories(root + "/raw/ts1");
    std::filesystem::create_directories(root + "/raw/ts2");
    auto raw_smalls = [&](const std::string& d, int t, int count) {
      for (int i = 0; i < count; ++i) {
        const std::string p = d + "/" + std::to_string(t) + "_" + std::to_string(i);
        bench::Fd fd(::open(p.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644));
        if (fd.get() < 0 ||
            ::write(fd.get(), small.data(), small.size()) != static_cast<ssize_t>(small.size())) {
          Die("write " + p);
        }
        fd.Close(p);
      }
    };
    ::sync();
    const double q1 = Parallel(1, [&](int t) { raw_smalls(root + "/raw/ts1", t, n); });
    ::sync();
    const double q2 = Parallel(2, [&](int t) { raw_smalls(root + "/raw/ts2", t, n / 2); });
    std::printf("  plain files, 2 threads vs 1: big write %.2f, small write %.2f\n", r1 / r2,
                q1 / q2);
    // The file store writes the blocks of big files with direct I/O (object/file_store.cc), so
    // the disk's direct-I/O rate bounds the library's big writes: when one library writer
    // already reaches it, two cannot gain.
    std::printf(
        "  disk, 4 MiB O_DIRECT writes: 1 writer %.1f MiB/s, 2 writers %.1f MiB/s (%.2fx); "
        "library: 1 writer = %.2fx of 2 direct writers, 2 writers = %.2fx\n",
        2.0 * part / d1, 2.0 * part / d2, d1 / d2, d2 / one, d2 / two);
  }
  std::printf("load average at end: %s\n", LoadAvg().c_str());
  std::filesystem::remove_all(root);
  return 0;
}
