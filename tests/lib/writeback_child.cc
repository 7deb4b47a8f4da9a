// Helper of writeback_test.cc: opens the volume with a writeback disk cache and appends to files
// /f0, /f1, ... in random pieces, fsyncing now and then. After every successful Fsync it writes
// one line "<file> <length>\n" to stdout (unbuffered): those bytes must survive a SIGKILL.
// Usage: test_lib_writeback_child META-URL CACHE-DIR SEED. Runs until killed or 200 fsyncs.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "lib/volume.h"
#include "tests/lib/writeback_pattern.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s META-URL CACHE-DIR SEED\n", argv[0]);
    return 2;
  }
  jfs::lib::VolumeOptions vo;
  vo.cache_dir = argv[2];
  vo.cache_size = 1ull << 30;
  vo.free_space_ratio = 0;
  vo.writeback = true;
  const uint64_t seed = std::strtoull(argv[3], nullptr, 10);
  std::unique_ptr<jfs::lib::Volume> vol;
  jfs::Status st = jfs::lib::Volume::Open(argv[1], vo, &vol);
  if (!st.ok()) {
    std::fprintf(stderr, "open: %s\n", st.ToString().c_str());
    return 1;
  }
  jfs::meta::Context ctx;
  ctx.check_permission = false;
  std::mt19937_64 rng(seed);
  int fsyncs = 0;
  for (int f = 0; fsyncs < 200; ++f) {
    const std::string path = "/f" + std::to_string(f);
    std::shared_ptr<jfs::lib::File> file;
    st = vol->OpenFile(ctx, path, O_CREAT | O_WRONLY | O_TRUNC, 0644, &file);
    if (!st.ok()) {
      std::fprintf(stderr, "create %s: %s\n", path.c_str(), st.ToString().c_str());
      return 1;
    }
    uint64_t len = 0;
    const int syncs = 1 + static_cast<int>(rng() % 4);
    for (int s = 0; s < syncs; ++s) {
      const int writes = 1 + static_cast<int>(rng() % 5);
      for (int w = 0; w < writes; ++w) {
        const uint64_t n = 1 + rng() % (150 * 1024);
        const std::string data = jfs::testing::WritebackPattern(seed, f, len, n);
        uint64_t done = 0;
        st = file->Pwrite(data.data(), n, len, &done);
        if (!st.ok() || done != n) {
          std::fprintf(stderr, "write %s: %s\n", path.c_str(), st.ToString().c_str());
          return 1;
        }
        len += n;
      }
      st = file->Fsync();
      if (!st.ok()) {
        std::fprintf(stderr, "fsync %s: %s\n", path.c_str(), st.ToString().c_str());
        return 1;
      }
      const std::string line = std::to_string(f) + " " + std::to_string(len) + "\n";
      if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) return 1;
      ++fsyncs;
    }
    (void)file->Close();
  }
  (void)vol->Close();
  return 0;
}
