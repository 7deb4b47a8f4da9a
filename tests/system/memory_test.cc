// Memory bound of the data path (issue 6): while a process writes a big file through the C ABI
// and reads it back, its resident set stays within the volume's buffer-size + 64 MiB.
//
// The peak is the kernel's VmHWM of this process, which includes the test's own memory, so each
// configuration runs in a fresh process: JFS_MEMORY_TEST_MIB (file size, default 4096) and
// JFS_MEMORY_TEST_BUFFER_MIB (buffer-size, default 300, the library's default). Not run under the
// sanitizers (their shadow memory and quarantine are not the library's).
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "juicefs/juicefs.h"

namespace {

constexpr uint64_t MiB = 1 << 20;

// VmHWM (peak resident set) or VmRSS of this process, in bytes.
uint64_t ProcStatus(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0)
      return std::strtoull(line.c_str() + std::strlen(field), nullptr, 10) * 1024;
  }
  FAIL("no " << field << " in /proc/self/status");
  return 0;
}

// Resets VmHWM to the current RSS (Linux >= 4.0: write 5 to clear_refs).
void ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/var/tmp") + "/jfs-memory.XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

}  // namespace

TEST_CASE("writing and reading a big file stays within buffer-size + 64 MiB", "[memory]") {
  uint64_t mib = 4096, buffer_mib = 300;
  if (const char* env = std::getenv("JFS_MEMORY_TEST_MIB")) mib = std::strtoull(env, nullptr, 10);
  if (const char* env = std::getenv("JFS_MEMORY_TEST_BUFFER_MIB")) {
    buffer_mib = std::strtoull(env, nullptr, 10);
  }
  REQUIRE(mib > 0);
  REQUIRE(buffer_mib > 0);
  TempDir dir;
  const std::string url = "sqlite3://" + dir.path + "/meta.db";
  const std::string bucket = dir.path + "/data";
  jfs_format_options_t fo;
  jfs_format_options_init(&fo);
  fo.storage = "file";
  fo.bucket = bucket.c_str();
  fo.trash_days = 0;
  REQUIRE(jfs_format(url.c_str(), "memory-test", &fo) == 0);

  {
    const uint64_t buffer_size = buffer_mib * MiB;
    INFO("buffer-size " << buffer_size / MiB << " MiB, file " << mib << " MiB");
    jfs_volume_options_t vo;
    jfs_volume_options_init(&vo);
    vo.buffer_size = buffer_size;
    // With the disk cache on (as by default), inside the test's directory so nothing stays.
    const std::string cache_dir = dir.path + "/cache";
    vo.cache_dir = cache_dir.c_str();
    jfs_fs_t* fs = nullptr;
    REQUIRE(jfs_open_volume(url.c_str(), &vo, &fs) == 0);

    std::vector<char> block(MiB);
    std::mt19937_64 rng(buffer_size);
    for (size_t i = 0; i + 8 <= block.size(); i += 8) {
      const uint64_t v = rng();
      std::memcpy(block.data() + i, &v, 8);
    }
    std::vector<char> back(MiB);
    ResetPeak();
    const uint64_t before = ProcStatus("VmRSS:");

    jfs_file_t* f = nullptr;
    REQUIRE(jfs_create(fs, "/big", 0644, &f) == 0);
    for (uint64_t i = 0; i < mib; ++i) {
      // Vary each MiB so a misplaced block would be caught on read-back.
      std::memcpy(block.data(), &i, sizeof(i));
      REQUIRE(jfs_write(f, block.data(), block.size()) == static_cast<int64_t>(block.size()));
    }
    REQUIRE(jfs_close(f) == 0);
    const uint64_t after_write = ProcStatus("VmHWM:");

    REQUIRE(jfs_open(fs, "/big", O_RDONLY, 0, &f) == 0);
    for (uint64_t i = 0; i < mib; ++i) {
      REQUIRE(jfs_read(f, back.data(), back.size()) == static_cast<int64_t>(back.size()));
      uint64_t tag = 0;
      std::memcpy(&tag, back.data(), sizeof(tag));
      REQUIRE(tag == i);
      REQUIRE(std::memcmp(back.data() + 8, block.data() + 8, block.size() - 8) == 0);
    }
    REQUIRE(jfs_read(f, back.data(), back.size()) == 0);
    REQUIRE(jfs_close(f) == 0);
    const uint64_t peak = ProcStatus("VmHWM:");
    std::printf(
        "buffer-size %llu MiB: RSS before %llu MiB, peak while writing %llu MiB, "
        "peak overall %llu MiB (limit %llu MiB)\n",
        static_cast<unsigned long long>(buffer_size / MiB),
        static_cast<unsigned long long>(before / MiB),
        static_cast<unsigned long long>(after_write / MiB),
        static_cast<unsigned long long>(peak / MiB),
        static_cast<unsigned long long>((buffer_size + 64 * MiB) / MiB));
    CHECK(peak <= buffer_size + 64 * MiB);
    REQUIRE(jfs_unlink(fs, "/big") == 0);
    REQUIRE(jfs_close_volume(fs) == 0);
  }
}
