// `jfs gc` time per million objects on the file backend (format.md §6.7), scaled down: a volume
// with a few referenced files plus N planted block objects (default 50 000), then lib::Gc (no
// --delete) against a raw listing of the same store (object::ListAll) in the same run.
//   build/bench/gc_bench [DIR] [N]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "lib/maintenance.h"
#include "lib/volume.h"
#include "object/object_store.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  const std::string base = argc > 1 ? argv[1] : "/tmp";
  const long n = argc > 2 ? std::atol(argv[2]) : 50000;
  const fs::path dir = fs::path(base) / ("jfs_gc_bench_" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string url = "sqlite3://" + (dir / "meta.db").string();
  jfs::lib::FormatOptions fo;
  fo.name = "gcb";
  fo.bucket = (dir / "data").string() + "/";
  if (jfs::Status s = jfs::lib::Format(url, fo, nullptr); !s.ok()) {
    std::fprintf(stderr, "format: %s\n", s.ToString().c_str());
    return 1;
  }
  // Planted objects: 1000 per directory, as chunks/{id/1000/1000}/{id/1000}/{id}_0_4.
  for (long i = 0; i < n; ++i) {
    const uint64_t id = 1000000 + static_cast<uint64_t>(i);
    fs::path p = dir / "data" / "gcb" / "chunks" / std::to_string(id / 1000 / 1000) /
                 std::to_string(id / 1000);
    if (i % 1000 == 0) fs::create_directories(p);
    std::ofstream(p / (std::to_string(id) + "_0_4")) << "junk";
  }
  std::unique_ptr<jfs::object::ObjectStore> raw;
  if (!jfs::object::CreateStorage("file", (dir / "data" / "gcb").string() + "/", "", "", &raw)
           .ok()) {
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::vector<jfs::object::ObjectInfo> all;
  (void)jfs::object::ListAll(*raw, "chunks/", &all);
  auto t1 = std::chrono::steady_clock::now();
  jfs::lib::GcReport r;
  jfs::Status s = jfs::lib::Gc(url, false, nullptr, &r);
  auto t2 = std::chrono::steady_clock::now();
  if (!s.ok()) {
    std::fprintf(stderr, "gc: %s\n", s.ToString().c_str());
    return 1;
  }
  const double list_s = std::chrono::duration<double>(t1 - t0).count();
  const double gc_s = std::chrono::duration<double>(t2 - t1).count();
  std::printf("objects: %zu listed raw, %llu by gc (%llu leaked candidates)\n", all.size(),
              static_cast<unsigned long long>(r.objects),
              static_cast<unsigned long long>(r.skipped_recent + r.leaked));
  std::printf("raw list: %.3f s (%.1f s per million)\n", list_s, list_s * 1e6 / all.size());
  std::printf("jfs gc:   %.3f s (%.1f s per million)  ratio gc/raw %.2f\n", gc_s,
              gc_s * 1e6 / r.objects, gc_s / list_s);
  fs::remove_all(dir);
  return 0;
}
