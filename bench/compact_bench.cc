// Compaction: write amplification and throughput for 10,000 random 4 KiB overwrites of a 64 MiB
// file (issue 7), on a SQLite + file-store volume under DIR.
//
//   build/bench/compact_bench [DIR] [--overwrites N]
//
// Each overwrite is flushed (one slice each, as a FUSE client committing small writes does).
// Reports bytes written to the object store / bytes written by the user, before and after an
// explicit compaction (background compaction off), and again with background compaction on
// (§6.2 trigger); compaction throughput is compared with writing the same bytes as plain files
// in DIR (the raw backend of the file store).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "lib/slice_ops.h"
#include "lib/volume.h"

using namespace jfs;

namespace {

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) {
  return std::max(std::chrono::duration<double>(Clock::now() - t).count(), 1e-9);
}

[[noreturn]] void Die(const std::string& what, const Status& s) {
  std::fprintf(stderr, "compact_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
  std::exit(1);
}
void Check(const Status& s, const std::string& what) {
  if (!s.ok()) Die(what, s);
}

constexpr uint64_t kFile = 64ull << 20;
constexpr uint64_t kPage = 4096;

struct Result {
  uint64_t user = 0, stored_before = 0, stored_after = 0;
  double overwrite_s = 0, compact_s = 0;
  uint64_t compacted_bytes = 0;
};

Result Run(const std::string& dir, bool background, int overwrites) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string url = "sqlite3://" + dir + "/meta.db";
  lib::FormatOptions fo;
  fo.name = "bench";
  fo.bucket = dir + "/data";
  fo.trash_days = 0;
  Check(lib::Format(url, fo), "format");
  lib::VolumeOptions vo;
  vo.compact = background;
  vo.compact_delete_delay = 0;
  std::unique_ptr<lib::Volume> v;
  Check(lib::Volume::Open(url, vo, &v), "open");
  meta::Context ctx;
  Result r;
  std::string buf(4 << 20, 'x');
  std::shared_ptr<lib::File> f;
  Check(v->OpenFile(ctx, "/big", O_RDWR | O_CREAT, 0644, &f), "create");
  uint64_t n = 0;
  for (uint64_t off = 0; off < kFile; off += buf.size()) {
    Check(f->Pwrite(buf.data(), buf.size(), off, &n), "fill");
  }
  Check(f->Flush(), "flush");
  const uint64_t base = v->Stats().put_bytes;
  std::mt19937_64 rng(42);
  std::string page(kPage, 'y');
  auto t = Clock::now();
  for (int i = 0; i < overwrites; ++i) {
    page[0] = static_cast<char>(i);
    Check(f->Pwrite(page.data(), kPage, (rng() % (kFile / kPage)) * kPage, &n), "overwrite");
    Check(f->Flush(), "flush");
    r.user += kPage;
  }
  r.overwrite_s = Since(t);
  r.stored_before = v->Stats().put_bytes - base;
  lib::CompactStats st;
  t = Clock::now();
  Check(lib::Compact(*v, ctx, "/big", &st), "compact");
  r.compact_s = Since(t);
  r.compacted_bytes = st.bytes_written;
  r.stored_after = v->Stats().put_bytes - base;
  Check(f->Close(), "close");
  Check(v->Close(), "close volume");
  return r;
}

// Writing `bytes` as 4 MiB files into DIR/raw: what the file store's backend does at best.
double RawWrite(const std::string& dir, uint64_t bytes) {
  const std::string raw = dir + "/raw";
  std::filesystem::create_directories(raw);
  std::string buf(4 << 20, 'r');
  auto t = Clock::now();
  for (uint64_t done = 0, i = 0; done < bytes; done += buf.size(), ++i) {
    const std::string p = raw + "/" + std::to_string(i);
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ::write(fd, buf.data(), buf.size()) != ssize_t(buf.size())) {
      std::fprintf(stderr, "compact_bench: raw write failed\n");
      std::exit(1);
    }
    ::close(fd);
  }
  double s = Since(t);
  std::filesystem::remove_all(raw);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/var/tmp/jfs_compact_bench";
  int overwrites = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--overwrites" && i + 1 < argc) {
      overwrites = std::atoi(argv[++i]);
    } else {
      dir = a;
    }
  }
  const double mib = 1 << 20;
  for (bool background : {false, true}) {
    Result r = Run(dir + "/vol", background, overwrites);
    std::printf("%s background compaction: %d random 4 KiB overwrites of a 64 MiB file\n",
                background ? "WITH" : "WITHOUT", overwrites);
    std::printf("  overwrites: %.2f s (%.0f ops/s)\n", r.overwrite_s, overwrites / r.overwrite_s);
    std::printf("  write amplification before compact: %.3f (%.1f MiB stored / %.1f MiB user)\n",
                double(r.stored_before) / r.user, r.stored_before / mib, r.user / mib);
    std::printf("  write amplification after compact:  %.3f (%.1f MiB stored / %.1f MiB user)\n",
                double(r.stored_after) / r.user, r.stored_after / mib, r.user / mib);
    if (r.compacted_bytes > 0) {
      const double raw = RawWrite(dir, r.compacted_bytes);
      std::printf(
          "  explicit compact: %.1f MiB rewritten in %.2f s = %.1f MiB/s; raw file writes of the "
          "same bytes %.1f MiB/s; ratio %.2f\n",
          r.compacted_bytes / mib, r.compact_s, r.compacted_bytes / mib / r.compact_s,
          r.compacted_bytes / mib / raw,
          (r.compacted_bytes / r.compact_s) / (r.compacted_bytes / raw));
    } else {
      std::printf("  explicit compact: nothing left to compact (%.3f s)\n", r.compact_s);
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
