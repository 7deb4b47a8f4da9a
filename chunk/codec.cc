#include "chunk/codec.h"

#include <lz4.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <new>

namespace jfs::chunk {
namespace {

constexpr int kZstdLevel = 1;  // JuiceFS's ZSTD_LEVEL: the fastest level

std::string Lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return r;
}

struct ZstdCCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDCtxDeleter {
  void operator()(ZSTD_DCtx* c) const { ZSTD_freeDCtx(c); }
};

class Zstd final : public Compressor {
 public:
  const char* name() const override { return "zstd"; }

  Status Compress(std::string_view in, std::string* out) const override {
    // One context per thread: creating a context per block costs ~1 MB of allocations, and the
    // upload threads compress concurrently.
    thread_local std::unique_ptr<ZSTD_CCtx, ZstdCCtxDeleter> cctx(NewCCtx());
    if (!cctx) return Status::Error(ENOMEM, "zstd: cannot create a compression context");
    try {
      out->resize(ZSTD_compressBound(in.size()));
    } catch (const std::bad_alloc&) {
      return Status::Error(ENOMEM, "zstd: cannot allocate the output buffer");
    }
    const size_t n = ZSTD_compress2(cctx.get(), out->data(), out->size(), in.data(), in.size());
    if (ZSTD_isError(n)) {
      out->clear();
      return Status::IOError(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
    }
    out->resize(n);
    return Status::OK();
  }

  // Level 1 (JuiceFS's) plus the frame's content checksum: still a standard frame that JuiceFS
  // (DataDog/zstd) decodes and verifies, and a flipped byte in a stored block becomes EIO rather
  // than wrong data. Frames without a checksum (JuiceFS's own) decode as well.
  static ZSTD_CCtx* NewCCtx() {
    ZSTD_CCtx* c = ZSTD_createCCtx();
    if (c != nullptr &&
        (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, kZstdLevel)) ||
         ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)))) {
      ZSTD_freeCCtx(c);
      return nullptr;
    }
    return c;
  }

  Status Decompress(std::string_view in, char* dst, size_t len) const override {
    thread_local std::unique_ptr<ZSTD_DCtx, ZstdDCtxDeleter> dctx(ZSTD_createDCtx());
    if (!dctx) return Status::Error(ENOMEM, "zstd: cannot create a decompression context");
    // A frame that claims more than `len` bytes fails with "Destination buffer is too small"
    // rather than writing beyond dst.
    const size_t n = ZSTD_decompressDCtx(dctx.get(), dst, len, in.data(), in.size());
    if (ZSTD_isError(n)) {
      return Status::IOError(std::string("zstd decompression failed: ") + ZSTD_getErrorName(n));
    }
    if (n != len) {
      return Status::IOError("zstd decompression gave " + std::to_string(n) + " bytes, expected " +
                             std::to_string(len));
    }
    return Status::OK();
  }
};

class Lz4 final : public Compressor {
 public:
  const char* name() const override { return "lz4"; }

  Status Compress(std::string_view in, std::string* out) const override {
    if (in.size() > LZ4_MAX_INPUT_SIZE) return Status::Invalid("lz4: block too large");
    const int bound = LZ4_compressBound(static_cast<int>(in.size()));
    try {
      out->resize(static_cast<size_t>(bound));
    } catch (const std::bad_alloc&) {
      return Status::Error(ENOMEM, "lz4: cannot allocate the output buffer");
    }
    const int n = LZ4_compress_default(in.data(), out->data(), static_cast<int>(in.size()), bound);
    if (n <= 0) {
      out->clear();
      return Status::IOError("lz4 compression failed");
    }
    out->resize(static_cast<size_t>(n));
    return Status::OK();
  }

  Status Decompress(std::string_view in, char* dst, size_t len) const override {
    if (in.empty()) return Status::IOError("lz4 decompression of an empty object");
    if (in.size() > INT_MAX || len > INT_MAX) return Status::IOError("lz4: block too large");
    // The _safe variant never reads or writes outside the given buffers, whatever the input.
    const int n =
        LZ4_decompress_safe(in.data(), dst, static_cast<int>(in.size()), static_cast<int>(len));
    if (n < 0) return Status::IOError("lz4 decompression failed: malformed block data");
    if (static_cast<size_t>(n) != len) {
      return Status::IOError("lz4 decompression gave " + std::to_string(n) + " bytes, expected " +
                             std::to_string(len));
    }
    return Status::OK();
  }
};

}  // namespace

bool IsKnownCompression(std::string_view name) {
  const std::string n = Lower(name);
  return n.empty() || n == "none" || n == "zstd" || n == "lz4";
}

Status NewCompressor(std::string_view name, std::unique_ptr<Compressor>* out) {
  const std::string n = Lower(name);
  out->reset();
  if (n.empty() || n == "none") return Status::OK();
  if (n == "zstd") {
    *out = std::make_unique<Zstd>();
    return Status::OK();
  }
  if (n == "lz4") {
    *out = std::make_unique<Lz4>();
    return Status::OK();
  }
  return Status::Invalid("unknown compression '" + std::string(name) +
                         "' (supported: none, lz4, zstd)");
}

}  // namespace jfs::chunk
