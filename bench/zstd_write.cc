// zstd_write: a zstd-compressed big-file write through the C ABI (file backend) against the `zstd`
// command compressing the same data, in ONE run on the same disk.
//
//   jfs:  jfs_format --compress zstd (file storage), then jfs_create + N MiB of 1 MiB jfs_write +
//         jfs_close. Blocks (4 MiB) are compressed at level 1 in the upload threads and each block
//         file is fsynced by the file store.
//   zstd: `zstd -1 -T0 -q -f IN -o OUT` of the same bytes (IN is in the page cache), then fsync
//         of OUT: the same level, all cores, and the same durability.
//
// The data is moderately compressible (words with ~10% random bytes, about 2.5:1 at level 1).
// Prints both rates, the compressed sizes and the ratio jfs/zstd (goal >= 0.8). Not a test:
//   build/bench/zstd_write [DIR] [--mib 1024] [--keep]
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "juicefs/juicefs.h"

namespace {

namespace fs = std::filesystem;
using bench::Check;
using bench::Clock;
using bench::Die;
using bench::Fd;
using bench::Seconds;
constexpr size_t kMiB = 1 << 20;
constexpr size_t kPattern = 64 * kMiB;  // longer than any zstd -1 window: no cross-repeat matches

std::string Pattern() {
  static const char* kWords[] = {"alpha ", "beta ", "gamma ", "delta ",   "epsilon ", "zeta ",
                                 "eta ",   "\n",    "theta ", "iota ",    "kappa ",   "lambda ",
                                 "mu ",    "nu ",   "xi ",    "omicron ", "pi ",      "rho "};
  std::mt19937_64 rng(42);
  std::string s;
  s.reserve(kPattern + 16);
  while (s.size() < kPattern) {
    const uint64_t r = rng();
    if (r % 10 == 0) {
      s.push_back(static_cast<char>(r >> 8));
    } else {
      s += kWords[(r >> 16) % 18];
    }
  }
  s.resize(kPattern);
  return s;
}

uint64_t TreeBytes(const fs::path& dir) {
  uint64_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("zstd-compressed big-file write: libjuicefs vs the zstd command");
  std::string base = "/var/tmp";
  size_t mib = 1024;
  bool keep = false;
  app.add_option("DIR", base, "directory for the data (a real disk)");
  app.add_option("--mib", mib, "MiB to write")->check(CLI::Range(64, 1 << 20));
  app.add_flag("--keep", keep, "keep the files");
  CLI11_PARSE(app, argc, argv);
  if (std::system("zstd --version >/dev/null 2>&1") != 0) {
    Die("the zstd command is missing (scripts/deps.sh installs it)");
  }

  char tmpl[4096];
  std::snprintf(tmpl, sizeof tmpl, "%s/zstd_write.XXXXXX", base.c_str());
  if (mkdtemp(tmpl) == nullptr) Die(std::string("mkdtemp: ") + std::strerror(errno));
  const fs::path dir = tmpl;
  const std::string pattern = Pattern();
  const uint64_t total = uint64_t{mib} * kMiB;

  // The input file for zstd, written (and synced) before any timing.
  const std::string in = (dir / "input").string();
  {
    Fd fd(::open(in.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
    if (fd.get() < 0) Die("open " + in + ": " + std::strerror(errno));
    for (uint64_t done = 0; done < total; done += kMiB) {
      const char* p = pattern.data() + done % kPattern;
      if (::write(fd.get(), p, kMiB) != static_cast<ssize_t>(kMiB)) Die("write " + in);
    }
    if (::fsync(fd.get()) != 0) Die("fsync " + in);
  }

  // (1) zstd -1 -T0, then fsync of the output.
  const std::string out = (dir / "input.zst").string();
  auto t0 = Clock::now();
  const std::string cmd = "zstd -1 -T0 -q -f '" + in + "' -o '" + out + "'";
  if (std::system(cmd.c_str()) != 0) Die("failed: " + cmd);
  {
    Fd fd(::open(out.c_str(), O_RDONLY));
    if (fd.get() < 0 || ::fsync(fd.get()) != 0) Die("fsync " + out);
  }
  const double zstd_s = Seconds(t0);
  const uint64_t zstd_bytes = fs::file_size(out);

  // (2) libjuicefs, zstd volume on the file backend.
  const std::string url = "sqlite3://" + (dir / "meta.db").string();
  const std::string bucket = (dir / "data").string();
  jfs_format_options_t fo;
  jfs_format_options_init(&fo);
  fo.storage = "file";
  fo.bucket = bucket.c_str();
  fo.compression = "zstd";
  fo.trash_days = 0;
  Check(jfs_format(url.c_str(), "zbench", &fo), "jfs_format " + url);
  jfs_fs_t* raw = nullptr;
  Check(jfs_open_volume(url.c_str(), nullptr, &raw), "open " + url);
  bench::Volume vol(raw);
  t0 = Clock::now();
  jfs_file_t* f = nullptr;
  Check(jfs_create(vol.get(), "/big", 0644, &f), "jfs_create /big", vol.get());
  for (uint64_t done = 0; done < total; done += kMiB) {
    const int64_t n = jfs_write(f, pattern.data() + done % kPattern, kMiB);
    if (n != static_cast<int64_t>(kMiB)) {
      jfs_close(f);
      Check(n < 0 ? n : -EIO, "jfs_write", vol.get());
    }
  }
  Check(jfs_close(f), "jfs_close /big", vol.get());
  const double jfs_s = Seconds(t0);
  Check(jfs_close_volume(vol.release()), "jfs_close_volume");
  const uint64_t jfs_bytes = TreeBytes(fs::path(bucket) / "zbench" / "chunks");

  const double zstd_rate = static_cast<double>(mib) / zstd_s;
  const double jfs_rate = static_cast<double>(mib) / jfs_s;
  std::printf("zstd-compressed write of %zu MiB (level 1), %u CPUs\n", mib,
              std::thread::hardware_concurrency());
  std::printf("  zstd -1 -T0 + fsync : %8.1f MiB/s  (%.2f s, %.1f MiB stored, %.2f:1)\n", zstd_rate,
              zstd_s, static_cast<double>(zstd_bytes) / kMiB,
              static_cast<double>(total) / static_cast<double>(zstd_bytes));
  std::printf("  libjuicefs (zstd)   : %8.1f MiB/s  (%.2f s, %.1f MiB stored, %.2f:1)\n", jfs_rate,
              jfs_s, static_cast<double>(jfs_bytes) / kMiB,
              static_cast<double>(total) / static_cast<double>(jfs_bytes));
  std::printf("  ratio jfs/zstd      : %8.2fx  (goal >= 0.80x)\n", jfs_rate / zstd_rate);

  if (!keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}
