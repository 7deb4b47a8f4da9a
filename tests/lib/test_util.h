// Helpers for the lib/ tests: a temporary SQLite + file-store volume and file shortcuts.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "lib/volume.h"
#include "tests/support/status_checks.h"

namespace jfs::lib::testing {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "jfs_lib_test_XXXXXX").string();
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    REQUIRE(mkdtemp(buf.data()) != nullptr);
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string StatusText(const Status& s) {
  return s.ToString();
}

#define CHECK_ERRNO(expr, want_errno)       \
  do {                                      \
    ::jfs::Status _s = (expr);              \
    INFO(#expr << " -> " << _s.ToString()); \
    CHECK(_s.code() == (want_errno));       \
  } while (0)

// A formatted volume in a temp dir: sqlite3://<dir>/meta.db, data in <dir>/data/.
struct TestVolume {
  TempDir dir;
  std::string url;
  std::string bucket;
  meta::Format format;
  std::unique_ptr<Volume> vol;
  Context ctx;  // root

  explicit TestVolume(uint32_t block_kib = 4096, VolumeOptions vopts = {},
                      const std::string& name = "testvol", int trash_days = 0) {
    url = "sqlite3://" + dir.path() + "/meta.db";
    bucket = dir.path() + "/data/";
    FormatOptions fo;
    fo.name = name;
    fo.bucket = bucket;
    fo.block_size_kib = block_kib;
    fo.trash_days = trash_days;  // 0 (default): deletions free data at once
    REQUIRE_OK(Format(url, fo, &format));
    REQUIRE_OK(Volume::Open(url, vopts, &vol));
  }
  ~TestVolume() {
    if (vol) CHECK_OK(vol->Close());
  }

  std::unique_ptr<Volume> OpenAnother(VolumeOptions vopts = {}) {
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(url, vopts, &v));
    return v;
  }

  // Every regular file under the volume's data prefix, as keys relative to the bucket.
  std::vector<std::string> Objects(const std::string& under = "") const {
    std::vector<std::string> out;
    fs::path root = fs::path(bucket);
    fs::path start = root / format.name / under;
    std::error_code ec;
    if (!fs::exists(start, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(start, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      if (it->is_regular_file()) out.push_back(fs::relative(it->path(), root).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

inline std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    memcpy(&s[i], &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

inline Status WriteAll(File& f, std::string_view data) {
  uint64_t n = 0;
  JFS_RETURN_IF_ERROR(f.Write(data.data(), data.size(), &n));
  if (n != data.size()) return Status::IOError("short write");
  return Status::OK();
}

inline Status WriteFile(Volume& v, const Context& ctx, std::string_view path, std::string_view data,
                        int extra_flags = 0) {
  std::shared_ptr<File> f;
  JFS_RETURN_IF_ERROR(v.OpenFile(ctx, path, O_WRONLY | O_CREAT | O_TRUNC | extra_flags, 0644, &f));
  JFS_RETURN_IF_ERROR(WriteAll(*f, data));
  return f->Close();
}

inline Status ReadFile(Volume& v, const Context& ctx, std::string_view path, std::string* out) {
  std::shared_ptr<File> f;
  JFS_RETURN_IF_ERROR(v.OpenFile(ctx, path, O_RDONLY, 0, &f));
  out->clear();
  std::string buf(1 << 20, '\0');
  while (true) {
    uint64_t n = 0;
    JFS_RETURN_IF_ERROR(f->Read(buf.data(), buf.size(), &n));
    if (n == 0) break;
    out->append(buf.data(), n);
  }
  return f->Close();
}

inline Status PreadAll(File& f, uint64_t off, uint64_t size, std::string* out) {
  out->assign(size, '\0');
  uint64_t n = 0;
  JFS_RETURN_IF_ERROR(f.Pread(out->data(), size, off, &n));
  out->resize(n);
  return Status::OK();
}

}  // namespace jfs::lib::testing
