// The deterministic file contents shared by writeback_test.cc and its child program.
#pragma once

#include <cstdint>
#include <string>

namespace jfs::testing {

// Bytes [off, off+len) of file number `file` of the run with `seed`.
inline std::string WritebackPattern(uint64_t seed, uint64_t file, uint64_t off, uint64_t len) {
  std::string s(len, '\0');
  for (uint64_t i = 0; i < len; ++i) {
    uint64_t x = (off + i) / 8 * 0x9E3779B97F4A7C15ull + seed * 1000003 + file * 7919;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    s[i] = static_cast<char>(x >> (8 * ((off + i) % 8)));
  }
  return s;
}

}  // namespace jfs::testing
