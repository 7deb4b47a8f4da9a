// Block compression (format.md §1.6), byte-compatible with JuiceFS's pkg/compress: every block is
// compressed on its own, with no header, length prefix or checksum of ours.
//   zstd: one standard zstd frame at level 1 (JuiceFS's level; any level decodes), with the
//         frame's content checksum on, so damage is detected (JuiceFS decodes and checks it).
//   lz4:  the raw LZ4 block format (no frame header), default acceleration; decoding needs the
//         uncompressed length, which is the `blen` in the object name.
// "" and "none" mean no compression (NewCompressor yields nullptr). Names are case-insensitive.
//
// Thread-safety: a Compressor is stateless and may be used from many threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace jfs::chunk {

class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual const char* name() const = 0;  // "zstd" or "lz4"
  // Replaces *out with the compressed form of `in`.
  virtual Status Compress(std::string_view in, std::string* out) const = 0;
  // Decodes `in` into dst, which must receive exactly `len` bytes: a stream that is damaged,
  // decodes to another length, or is not of this algorithm → EIO describing what is wrong.
  virtual Status Decompress(std::string_view in, char* dst, size_t len) const = 0;
};

// `name` as stored in Format.Compression. Unknown → EINVAL naming the supported values.
Status NewCompressor(std::string_view name, std::unique_ptr<Compressor>* out);

// True for the names NewCompressor accepts (including "" and "none").
bool IsKnownCompression(std::string_view name);

}  // namespace jfs::chunk
