// The workload every compressed / encrypted volume test runs (file, mem and S3 backends): big and
// small files, partial reads across blocks, overwrites in the middle, appends and truncation,
// checked against an in-memory model.
#pragma once

#include <fcntl.h>

#include <map>
#include <string>

#include "tests/lib/test_util.h"

namespace jfs::lib::testing {

// Moderately compressible data: words from a small vocabulary with some random bytes.
inline std::string CompressibleBytes(size_t n, uint32_t seed) {
  static const char* kWords[] = {"alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta ",
                                 "eta ",   "\n",    "theta ", "iota ",  "kappa ",   "lambda "};
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n + 16);
  while (s.size() < n) {
    if (rng() % 10 == 0) {
      s.push_back(static_cast<char>(rng()));
    } else {
      s += kWords[rng() % 12];
    }
  }
  s.resize(n);
  return s;
}

// Writes the files, checks them, and returns the model (path → content) to re-check after a
// reopen. `bs` is the volume's block size in bytes.
inline std::map<std::string, std::string> RoundTrip(Volume& v, uint32_t bs) {
  Context ctx;
  std::map<std::string, std::string> model;
  REQUIRE_OK(v.MkdirAll(ctx, "/d", 0755));
  model["/d/big"] = CompressibleBytes(5 * bs + 12345, 1);
  model["/d/random"] = RandomBytes(2 * bs + 7, 2);
  model["/d/small"] = "hello, compressed and encrypted world\n";
  model["/d/empty"] = "";
  for (auto& [path, data] : model) REQUIRE_OK(WriteFile(v, ctx, path, data));

  auto check_all = [&] {
    for (auto& [path, data] : model) {
      INFO(path);
      std::string got;
      REQUIRE_OK(ReadFile(v, ctx, path, &got));
      CHECK(got.size() == data.size());
      CHECK(got == data);
    }
  };
  check_all();

  // Partial reads: inside a block, across block boundaries, the tail.
  {
    const std::string& big = model["/d/big"];
    std::shared_ptr<File> f;
    REQUIRE_OK(v.OpenFile(ctx, "/d/big", O_RDONLY, 0, &f));
    for (auto [off, len] : {std::pair<uint64_t, uint64_t>{0, 1},
                            {7, 100},
                            {bs - 10, 20},
                            {uint64_t{bs} * 2 + 5, uint64_t{bs} * 2},
                            {big.size() - 3, 100},
                            {big.size() + 10, 10}}) {
      INFO("pread " << off << " +" << len);
      std::string got;
      REQUIRE_OK(PreadAll(*f, off, len, &got));
      CHECK(got == (off < big.size() ? big.substr(off, len) : std::string()));
    }
    REQUIRE_OK(f->Close());
  }

  // Overwrite in the middle (a new slice over part of old blocks), append, truncate.
  {
    std::string& big = model["/d/big"];
    std::shared_ptr<File> f;
    REQUIRE_OK(v.OpenFile(ctx, "/d/big", O_RDWR, 0, &f));
    const std::string patch = CompressibleBytes(bs + 999, 3);
    const uint64_t at = bs / 2 + 3;
    uint64_t n = 0;
    REQUIRE_OK(f->Pwrite(patch.data(), patch.size(), at, &n));
    REQUIRE(n == patch.size());
    big.replace(at, patch.size(), patch);
    const std::string tail = RandomBytes(bs / 3, 4);
    REQUIRE_OK(f->Pwrite(tail.data(), tail.size(), big.size(), &n));
    big += tail;
    REQUIRE_OK(f->Close());

    std::string& small = model["/d/small"];
    REQUIRE_OK(v.OpenFile(ctx, "/d/small", O_RDWR, 0, &f));
    REQUIRE_OK(f->Pwrite("HELLO", 5, 0, &n));
    small.replace(0, 5, "HELLO");
    REQUIRE_OK(f->Ftruncate(20));
    small.resize(20);
    REQUIRE_OK(f->Close());
  }
  check_all();
  return model;
}

inline void CheckModel(Volume& v, const std::map<std::string, std::string>& model) {
  Context ctx;
  for (auto& [path, data] : model) {
    INFO(path);
    std::string got;
    REQUIRE_OK(ReadFile(v, ctx, path, &got));
    CHECK(got == data);
  }
}

}  // namespace jfs::lib::testing
