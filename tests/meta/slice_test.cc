#include "meta/slice.h"

#include <catch2/catch.hpp>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>

using namespace jfs::meta;

namespace {

constexpr uint32_t M = 1u << 20;

std::string Show(const std::vector<SliceView>& v) {
  std::ostringstream os;
  for (const auto& s : v) os << "{" << s.id << "," << s.size << "," << s.off << "," << s.len << "}";
  return os.str();
}

std::string Show(const std::vector<Slice>& v) {
  std::ostringstream os;
  for (const auto& s : v) {
    os << "{" << s.pos << "," << s.id << "," << s.size << "," << s.off << "," << s.len << "}";
  }
  return os.str();
}

// A line-by-line, recursive, pointer-based port of Go's buildSlice (pkg/meta/slice.go), used as
// an oracle for the exact output (including id-0 filler pieces with size 0 and their offsets,
// and zero-length pieces), independently of the iterative production code.
struct GoSlice {
  uint64_t id;
  uint32_t size, off, len, pos;
  GoSlice* left = nullptr;
  GoSlice* right = nullptr;
};

struct GoOracle {
  std::vector<std::unique_ptr<GoSlice>> arena;

  GoSlice* New(uint32_t pos, uint64_t id, uint32_t size, uint32_t off, uint32_t len) {
    if (len == 0) return nullptr;
    arena.push_back(std::make_unique<GoSlice>(GoSlice{id, size, off, len, pos}));
    return arena.back().get();
  }

  std::pair<GoSlice*, GoSlice*> Cut(GoSlice* s, uint32_t pos) {
    if (s == nullptr) return {nullptr, nullptr};
    if (pos <= s->pos) {
      if (s->left == nullptr) s->left = New(pos, 0, 0, 0, s->pos - pos);
      auto [left, rest] = Cut(s->left, pos);
      s->left = rest;
      return {left, s};
    } else if (pos < s->pos + s->len) {
      uint32_t l = pos - s->pos;
      GoSlice* right = New(pos, s->id, s->size, s->off + l, s->len - l);
      right->right = s->right;
      s->len = l;
      s->right = nullptr;
      return {s, right};
    } else {
      if (s->right == nullptr) s->right = New(s->pos + s->len, 0, 0, 0, pos - s->pos - s->len);
      auto [rest, right] = Cut(s->right, pos);
      s->right = rest;
      return {s, right};
    }
  }

  void Visit(GoSlice* s, std::vector<GoSlice*>* out) {
    if (s == nullptr) return;
    Visit(s->left, out);
    out->push_back(s);
    Visit(s->right, out);
  }

  std::vector<SliceView> Build(const std::vector<Slice>& ss) {
    GoSlice* root = nullptr;
    for (const auto& r : ss) {
      arena.push_back(std::make_unique<GoSlice>(GoSlice{r.id, r.size, r.off, r.len, r.pos}));
      GoSlice* s = arena.back().get();
      auto [left, right] = Cut(root, s->pos);
      s->left = left;
      s->right = Cut(right, s->pos + s->len).second;
      root = s;
    }
    std::vector<GoSlice*> nodes;
    Visit(root, &nodes);
    std::vector<SliceView> chunk;
    uint32_t pos = 0;
    for (GoSlice* s : nodes) {
      if (s->pos > pos) {
        chunk.push_back({0, s->pos - pos, 0, s->pos - pos});
        pos = s->pos;
      }
      chunk.push_back({s->id, s->size, s->off, s->len});
      pos += s->len;
    }
    return chunk;
  }
};

// What a reader sees at one byte of the chunk: zeros, or byte `off` of slice `id` (of `size`).
struct ByteSource {
  uint64_t id = 0;
  uint32_t size = 0;
  uint32_t off = 0;
};

// Brute force: paint the records in stored order onto a byte map; later records win.
std::vector<std::optional<ByteSource>> PaintModel(const std::vector<Slice>& recs, uint32_t span) {
  std::vector<std::optional<ByteSource>> bytes(span);
  for (const auto& r : recs) {
    for (uint32_t k = 0; k < r.len; ++k) {
      if (r.id == 0) {
        bytes[r.pos + k] = ByteSource{};
      } else {
        bytes[r.pos + k] = ByteSource{r.id, r.size, r.off + k};
      }
    }
  }
  return bytes;
}

}  // namespace

TEST_CASE("BuildSlices resolves the worked example of format.md", "[slice]") {
  std::vector<Slice> recs = {
      {10 * M, 10, 30 * M, 0, 30 * M},
      {20 * M, 11, 16 * M, 0, 16 * M},
      {16 * M, 12, 10 * M, 0, 10 * M},
  };
  // [0,10M) zero, [10M,16M) id10 off0, [16M,26M) id12, [26M,36M) id11 off 6M, [36M,40M) id10
  // off 26M, rest zero (not emitted).
  std::vector<SliceView> want = {
      {0, 10 * M, 0, 10 * M},      {10, 30 * M, 0, 6 * M},      {12, 10 * M, 0, 10 * M},
      {11, 16 * M, 6 * M, 10 * M}, {10, 30 * M, 26 * M, 4 * M},
  };
  CHECK(BuildSlices(recs) == want);
}

TEST_CASE("BuildSlices of no records is empty", "[slice]") {
  CHECK(BuildSlices({}).empty());
}

TEST_CASE("BuildSlices with a single slice", "[slice]") {
  CHECK(BuildSlices({{0, 1, 64 * M, 0, 64 * M}}) == std::vector<SliceView>{{1, 64 * M, 0, 64 * M}});
  // A leading gap is emitted with size == len.
  CHECK(BuildSlices({{50, 1, 100, 0, 100}}) ==
        std::vector<SliceView>{{0, 50, 0, 50}, {1, 100, 0, 100}});
}

TEST_CASE("BuildSlices: a later slice over the whole range replaces earlier ones", "[slice]") {
  CHECK(BuildSlices({{0, 1, 100, 0, 100}, {0, 2, 100, 0, 100}}) ==
        std::vector<SliceView>{{2, 100, 0, 100}});
  CHECK(BuildSlices({{10, 1, 10, 0, 10}, {30, 3, 5, 0, 5}, {0, 2, 50, 0, 50}}) ==
        std::vector<SliceView>{{2, 50, 0, 50}});
  // An earlier slice never shows through a later one, even if it is larger.
  CHECK(BuildSlices({{0, 2, 50, 0, 50}, {0, 1, 10, 0, 10}}) ==
        std::vector<SliceView>{{1, 10, 0, 10}, {2, 50, 10, 40}});
}

TEST_CASE("BuildSlices: an overwrite in the middle splits the older slice", "[slice]") {
  CHECK(BuildSlices({{0, 1, 100, 0, 100}, {40, 2, 20, 0, 20}}) ==
        std::vector<SliceView>{{1, 100, 0, 40}, {2, 20, 0, 20}, {1, 100, 60, 40}});
  // A partial overlap at the end.
  CHECK(BuildSlices({{0, 1, 10, 0, 10}, {5, 2, 10, 0, 10}}) ==
        std::vector<SliceView>{{1, 10, 0, 5}, {2, 10, 0, 10}});
}

TEST_CASE("BuildSlices: truncate-style id-0 records read as zeros", "[slice]") {
  // Write 100 bytes, truncate to 30 (zeros over [30,100)), grow to 200 (zeros over [30,200)).
  std::vector<Slice> recs = {{0, 1, 100, 0, 100}, {30, 0, 0, 0, 70}};
  CHECK(BuildSlices(recs) == std::vector<SliceView>{{1, 100, 0, 30}, {0, 0, 0, 70}});
  recs.push_back({30, 0, 0, 0, 170});
  CHECK(BuildSlices(recs) == std::vector<SliceView>{{1, 100, 0, 30}, {0, 0, 0, 170}});
  // A punched hole in the middle of data.
  CHECK(BuildSlices({{0, 1, 100, 0, 100}, {10, 0, 0, 0, 20}}) ==
        std::vector<SliceView>{{1, 100, 0, 10}, {0, 0, 0, 20}, {1, 100, 30, 70}});
}

TEST_CASE("BuildSlices: adjacent slices and gaps between them", "[slice]") {
  CHECK(BuildSlices({{0, 1, 10, 0, 10}, {10, 2, 10, 0, 10}}) ==
        std::vector<SliceView>{{1, 10, 0, 10}, {2, 10, 0, 10}});
  CHECK(BuildSlices({{10, 2, 10, 0, 10}, {0, 1, 10, 0, 10}}) ==
        std::vector<SliceView>{{1, 10, 0, 10}, {2, 10, 0, 10}});
  // A gap that the cut walks through becomes an id-0 filler piece with size 0 (Go quirk),
  // unlike the leading gap, whose size is its length.
  CHECK(BuildSlices({{0, 1, 10, 0, 10}, {20, 2, 10, 0, 10}}) ==
        std::vector<SliceView>{{1, 10, 0, 10}, {0, 0, 0, 10}, {2, 10, 0, 10}});
  // A filler that is cut again keeps an offset, as Go's cut does for every piece.
  CHECK(BuildSlices({{10, 1, 10, 0, 10}, {0, 2, 5, 0, 5}}) ==
        std::vector<SliceView>{{2, 5, 0, 5}, {0, 0, 5, 5}, {1, 10, 0, 10}});
}

TEST_CASE("BuildSlices: records with a non-zero offset", "[slice]") {
  CHECK(BuildSlices({{0, 7, 100, 30, 50}}) == std::vector<SliceView>{{7, 100, 30, 50}});
  CHECK(BuildSlices({{0, 7, 100, 30, 50}, {20, 8, 10, 0, 10}}) ==
        std::vector<SliceView>{{7, 100, 30, 20}, {8, 10, 0, 10}, {7, 100, 60, 20}});
  // A cloned range (copy_file_range) placed later in the chunk.
  CHECK(BuildSlices({{4 * M, 9, 8 * M, 2 * M, 3 * M}, {5 * M, 10, M, 512, 1024}}) ==
        std::vector<SliceView>{{0, 4 * M, 0, 4 * M},
                               {9, 8 * M, 2 * M, M},
                               {10, M, 512, 1024},
                               {9, 8 * M, 3 * M + 1024, 2 * M - 1024}});
}

TEST_CASE("BuildSlices: zero-length records are kept as zero-length pieces", "[slice]") {
  CHECK(BuildSlices({{0, 1, 10, 0, 10}, {5, 2, 0, 0, 0}}) ==
        std::vector<SliceView>{{1, 10, 0, 5}, {2, 0, 0, 0}, {1, 10, 5, 5}});
  CHECK(BuildSlices({{0, 1, 10, 0, 10}, {20, 2, 0, 0, 0}}) ==
        std::vector<SliceView>{{1, 10, 0, 10}, {0, 0, 0, 10}, {2, 0, 0, 0}});
}

TEST_CASE("BuildSlices agrees with a brute-force byte map on random record lists", "[slice]") {
  constexpr uint32_t kSpan = 96;
  std::mt19937_64 rng(20240611);
  auto rnd = [&](uint32_t n) { return static_cast<uint32_t>(rng() % n); };
  uint64_t next_id = 1;
  for (int iter = 0; iter < 5000; ++iter) {
    std::vector<Slice> recs(1 + rnd(iter % 7 == 0 ? 40 : 12));
    uint32_t end = 0;
    for (auto& r : recs) {
      r.pos = rnd(kSpan - 24);
      r.len = rnd(8) == 0 ? 0 : 1 + rnd(24);
      r.id = rnd(10) == 0 ? 0 : next_id++;
      r.off = rnd(4) == 0 ? rnd(50) : 0;
      r.size = r.id == 0 ? 0 : r.off + r.len + (rnd(2) ? rnd(30) : 0);
      end = std::max(end, r.pos + r.len);
    }
    INFO("records " << Show(recs));
    auto got = BuildSlices(recs);
    INFO("resolved " << Show(got));

    // Exactly cover [0, end of the furthest record), with the right bytes everywhere.
    auto model = PaintModel(recs, kSpan);
    uint32_t pos = 0;
    for (const auto& v : got) {
      for (uint32_t k = 0; k < v.len; ++k) {
        const auto& want = model[pos + k];
        if (v.id == 0) {
          REQUIRE((!want.has_value() || want->id == 0));
        } else {
          REQUIRE(want.has_value());
          REQUIRE(want->id == v.id);
          REQUIRE(want->size == v.size);
          REQUIRE(want->off == v.off + k);
        }
      }
      pos += v.len;
    }
    REQUIRE(pos == end);

    // And exactly the pieces Go's recursive buildSlice produces.
    REQUIRE(got == GoOracle().Build(recs));
  }
}

TEST_CASE("BuildSlices matches Go on corrupt records whose positions wrap uint32", "[slice]") {
  std::mt19937_64 rng(7);
  for (int iter = 0; iter < 2000; ++iter) {
    std::vector<Slice> recs(1 + rng() % 10);
    for (auto& r : recs) {
      bool high = rng() % 2;
      r.pos =
          high ? 0xFFFFFF00u + static_cast<uint32_t>(rng() % 256) : static_cast<uint32_t>(rng());
      r.len = static_cast<uint32_t>(rng() % 3 == 0 ? rng() : rng() % 512);
      r.id = rng() % 5;
      r.size = static_cast<uint32_t>(rng());
      r.off = static_cast<uint32_t>(rng());
    }
    INFO("records " << Show(recs));
    REQUIRE(BuildSlices(recs) == GoOracle().Build(recs));
  }
}

TEST_CASE("BuildSlices handles long record lists without deep recursion", "[slice]") {
  // Sequential 1 KiB appends over a whole chunk build a list-shaped tree 65536 nodes deep.
  std::vector<Slice> recs;
  constexpr uint32_t kPiece = 1024;
  for (uint32_t pos = 0; pos < 64 * M; pos += kPiece)
    recs.push_back({pos, pos + 1, kPiece, 0, kPiece});
  auto got = BuildSlices(recs);
  REQUIRE(got.size() == recs.size());
  for (size_t i = 0; i < got.size(); ++i) {
    REQUIRE(got[i] == SliceView{recs[i].id, kPiece, 0, kPiece});
  }
  // Reversed order nests the other way.
  std::vector<Slice> rev(recs.rbegin(), recs.rend());
  got = BuildSlices(rev);
  REQUIRE(got.size() == recs.size());
  CHECK(got.front() == SliceView{1, kPiece, 0, kPiece});
  CHECK(got.back() == SliceView{recs.back().id, kPiece, 0, kPiece});
}
