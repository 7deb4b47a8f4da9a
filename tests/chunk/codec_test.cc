// Block compression (format.md §1.6): the stored bytes are exactly what the plain zstd / lz4 APIs
// produce and accept (a zstd frame; a raw LZ4 block without a frame header), through the codec and
// through a ChunkStore; damaged objects are EIO, never wrong data.
#include "chunk/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "chunk/chunk_store.h"
#include "tests/support/status_checks.h"

using jfs::Status;
using jfs::chunk::BlockKey;
using jfs::chunk::ChunkStore;
using jfs::chunk::Compressor;
using jfs::chunk::Config;
using jfs::chunk::NewCompressor;

namespace {

// Moderately compressible: random words from a small vocabulary, plus some random bytes.
std::string Text(size_t n, uint32_t seed) {
  static const char* kWords[] = {"block ", "slice ", "chunk ", "volume ", "juicefs ", "object ",
                                 "meta ",  "inode ", "\n",     "data ",   "zstd ",    "lz4 "};
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(n + 16);
  while (s.size() < n) {
    if (rng() % 8 == 0) {
      s.push_back(static_cast<char>(rng()));
    } else {
      s += kWords[rng() % 12];
    }
  }
  s.resize(n);
  return s;
}

std::unique_ptr<Compressor> Make(const char* name) {
  std::unique_ptr<Compressor> c;
  REQUIRE_OK(NewCompressor(name, &c));
  REQUIRE(c);
  return c;
}

std::string PlainZstdDecompress(const std::string& in, size_t len) {
  std::string out(len, '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), in.data(), in.size());
  REQUIRE_FALSE(ZSTD_isError(n));
  REQUIRE(n == len);
  return out;
}

std::string PlainLz4Decompress(const std::string& in, size_t len) {
  std::string out(len, '\0');
  int n = LZ4_decompress_safe(in.data(), out.data(), static_cast<int>(in.size()),
                              static_cast<int>(len));
  REQUIRE(n == static_cast<int>(len));
  return out;
}

uint32_t Le32(const std::string& s) {
  REQUIRE(s.size() >= 4);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

TEST_CASE("compressor names", "[codec]") {
  std::unique_ptr<Compressor> c;
  REQUIRE_OK(NewCompressor("", &c));
  CHECK_FALSE(c);
  REQUIRE_OK(NewCompressor("none", &c));
  CHECK_FALSE(c);
  REQUIRE_OK(NewCompressor("ZSTD", &c));  // case-insensitive, as JuiceFS
  REQUIRE(c);
  CHECK(std::string(c->name()) == "zstd");
  REQUIRE_OK(NewCompressor("Lz4", &c));
  REQUIRE(c);
  CHECK(std::string(c->name()) == "lz4");
  Status st = NewCompressor("gzip", &c);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("gzip") != std::string::npos);
  CHECK(st.message().find("zstd") != std::string::npos);
  CHECK_FALSE(jfs::chunk::IsKnownCompression("snappy"));
  CHECK(jfs::chunk::IsKnownCompression("NONE"));
}

TEST_CASE("zstd: a standard frame that the plain API decodes", "[codec]") {
  auto c = Make("zstd");
  const std::string data = Text(1 << 20, 1);
  std::string packed;
  REQUIRE_OK(c->Compress(data, &packed));
  CHECK(packed.size() < data.size() / 2);
  CHECK(Le32(packed) == 0xFD2FB528u);  // zstd frame magic, no header of ours in front
  CHECK(PlainZstdDecompress(packed, data.size()) == data);
  // And what the plain API writes (any level) decodes through the codec.
  std::string other(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(other.data(), other.size(), data.data(), data.size(), 9);
  REQUIRE_FALSE(ZSTD_isError(n));
  other.resize(n);
  std::string back(data.size(), '\0');
  REQUIRE_OK(c->Decompress(other, back.data(), back.size()));
  CHECK(back == data);
}

TEST_CASE("lz4: a raw block (no frame) that the plain API decodes", "[codec]") {
  auto c = Make("lz4");
  const std::string data = Text(1 << 20, 2);
  std::string packed;
  REQUIRE_OK(c->Compress(data, &packed));
  CHECK(packed.size() < data.size() / 2);
  CHECK(Le32(packed) != 0x184D2204u);  // not an LZ4 frame
  CHECK(PlainLz4Decompress(packed, data.size()) == data);
  std::string other(LZ4_compressBound(static_cast<int>(data.size())), '\0');
  int n = LZ4_compress_default(data.data(), other.data(), static_cast<int>(data.size()),
                               static_cast<int>(other.size()));
  REQUIRE(n > 0);
  other.resize(static_cast<size_t>(n));
  std::string back(data.size(), '\0');
  REQUIRE_OK(c->Decompress(other, back.data(), back.size()));
  CHECK(back == data);
}

TEST_CASE("incompressible and tiny blocks round trip", "[codec]") {
  for (const char* name : {"zstd", "lz4"}) {
    auto c = Make(name);
    std::mt19937 rng(7);
    for (size_t len : {size_t{1}, size_t{100}, size_t{65536}}) {
      std::string data(len, '\0');
      for (auto& ch : data) ch = static_cast<char>(rng());
      std::string packed, back(len, '\0');
      REQUIRE_OK(c->Compress(data, &packed));
      REQUIRE_OK(c->Decompress(packed, back.data(), len));
      CHECK(back == data);
    }
  }
}

TEST_CASE("damaged or mismatched input is EIO", "[codec]") {
  for (const char* name : {"zstd", "lz4"}) {
    INFO(name);
    auto c = Make(name);
    const std::string data = Text(200000, 3);
    std::string packed;
    REQUIRE_OK(c->Compress(data, &packed));
    std::string back(data.size(), '\0');
    // Wrong expected length (longer and shorter).
    std::string big(data.size() + 10, '\0');
    CHECK(c->Decompress(packed, big.data(), big.size()).code() == EIO);
    CHECK(c->Decompress(packed, back.data(), back.size() - 10).code() == EIO);
    // Truncated.
    CHECK(c->Decompress(packed.substr(0, packed.size() / 2), back.data(), back.size()).code() ==
          EIO);
    CHECK(c->Decompress("", back.data(), back.size()).code() == EIO);
    // Garbage.
    CHECK(c->Decompress(std::string(1000, '\xff'), back.data(), back.size()).code() == EIO);
  }
  // zstd frames carry a content checksum: any flipped byte is EIO. Raw LZ4 blocks have no
  // checksum (format.md §1.6), so a flip in a literal can decode to other bytes: there the codec
  // only promises not to crash nor write beyond the buffer (ASan checks it); the encryption's AEAD
  // or S3's crc32c catch such damage.
  {
    auto z = Make("zstd");
    const std::string data = Text(100000, 4);
    std::string packed;
    REQUIRE_OK(z->Compress(data, &packed));
    for (size_t i = 0; i < packed.size(); i += packed.size() / 60 + 1) {
      std::string bad = packed;
      bad[i] = static_cast<char>(bad[i] ^ 0x5a);
      std::string back(data.size(), '\0');
      INFO("flipped byte " << i << " of " << packed.size());
      CHECK(z->Decompress(bad, back.data(), back.size()).code() == EIO);
    }
  }
  auto c = Make("lz4");
  const std::string data = Text(100000, 4);
  std::string packed;
  REQUIRE_OK(c->Compress(data, &packed));
  for (size_t i = 0; i < packed.size(); i += packed.size() / 50 + 1) {
    std::string bad = packed;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    std::string back(data.size(), '\0');
    (void)c->Decompress(bad, back.data(), back.size());
  }
}

// ---- through the chunk store ----------------------------------------------------------------

TEST_CASE("chunk store compresses each block; partial reads decode whole blocks", "[codec]") {
  for (const char* name : {"zstd", "lz4", "ZSTD"}) {
    INFO(name);
    std::shared_ptr<jfs::object::ObjectStore> objects = jfs::object::NewMemStore();
    Config cfg;
    cfg.block_size = 64 * 1024;
    cfg.compression = name;
    std::unique_ptr<ChunkStore> cs;
    REQUIRE_OK(jfs::chunk::NewChunkStore(cfg, objects, &cs));
    const std::string data = Text(3 * 65536 + 1000, 5);
    auto w = cs->NewWriter(42);
    REQUIRE_OK(w->WriteAt(data, 0));
    REQUIRE_OK(w->Finish(static_cast<uint32_t>(data.size())));

    // Each stored object is the plain-API compression of its block, named with the raw length.
    for (uint32_t i = 0; i < 4; ++i) {
      const uint32_t blen = i < 3 ? 65536 : 1000;
      std::string stored;
      REQUIRE_OK(objects->Get(BlockKey(42, i, blen, false), 0, -1, &stored));
      CHECK(stored.size() < blen);
      const std::string want = data.substr(size_t{i} * 65536, blen);
      if (std::string(name) == "lz4") {
        CHECK(PlainLz4Decompress(stored, blen) == want);
      } else {
        CHECK(PlainZstdDecompress(stored, blen) == want);
      }
    }
    // Whole, partial, and block-straddling reads.
    for (auto [off, len] : {std::pair<uint32_t, uint32_t>{0, uint32_t(data.size())},
                            {1, 10},
                            {65530, 20},
                            {65536, 65536},
                            {3 * 65536 + 999, 1},
                            {100, 3 * 65536}}) {
      std::string got(len, '\0');
      REQUIRE_OK(cs->ReadAt(42, static_cast<uint32_t>(data.size()), off, len, got.data()));
      CHECK(got == data.substr(off, len));
    }

    // A damaged object → EIO naming the object, never other bytes.
    const std::string key = BlockKey(42, 1, 65536, false);
    std::string stored;
    REQUIRE_OK(objects->Get(key, 0, -1, &stored));
    REQUIRE_OK(objects->Put(key, stored.substr(0, stored.size() - 7)));
    std::string got(100, '\0');
    Status st = cs->ReadAt(42, static_cast<uint32_t>(data.size()), 65536 + 5, 100, got.data());
    CHECK(st.code() == EIO);
    CHECK(st.message().find(key) != std::string::npos);
    CHECK(st.message().find("decompress") != std::string::npos);
    if (std::string(name) != "lz4") {  // zstd: a flipped byte is caught by the frame checksum
      const std::string key2 = BlockKey(42, 2, 65536, false);
      REQUIRE_OK(objects->Get(key2, 0, -1, &stored));
      stored[stored.size() / 2] = static_cast<char>(stored[stored.size() / 2] ^ 1);
      REQUIRE_OK(objects->Put(key2, stored));
      st = cs->ReadAt(42, static_cast<uint32_t>(data.size()), 2 * 65536, 10, got.data());
      CHECK(st.code() == EIO);
      CHECK(st.message().find(key2) != std::string::npos);
    }
    REQUIRE_OK(cs->Remove(42, static_cast<uint32_t>(data.size())));
  }
}

TEST_CASE("chunk store refuses an unknown compression", "[codec]") {
  Config cfg;
  cfg.compression = "brotli";
  std::unique_ptr<ChunkStore> cs;
  Status st = jfs::chunk::NewChunkStore(cfg, jfs::object::NewMemStore(), &cs);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("brotli") != std::string::npos);
}
