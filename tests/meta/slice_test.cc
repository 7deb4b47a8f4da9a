#include "meta/slice.h"

#include <catch2/catch.hpp>

using namespace jfs::meta;

TEST_CASE("BuildSlices resolves the worked example of format.md", "[slice]") {
  constexpr uint32_t M = 1u << 20;
  std::vector<Slice> recs = {
      {10 * M, 10, 30 * M, 0, 30 * M},
      {20 * M, 11, 16 * M, 0, 16 * M},
      {16 * M, 12, 10 * M, 0, 10 * M},
  };
  std::vector<SliceView> want = {
      {0, 10 * M, 0, 10 * M},      {10, 30 * M, 0, 6 * M},      {12, 10 * M, 0, 10 * M},
      {11, 16 * M, 6 * M, 10 * M}, {10, 30 * M, 26 * M, 4 * M},
  };
  CHECK(BuildSlices(recs) == want);
}
