// A ChunkStore decorator that makes sequential reads fast over any object store: whole blocks of
// slices read in order are fetched ahead of the reader, in parallel, into a bounded in-memory
// block cache; concurrent readers of one block share one fetch (single flight).
//
// Slices are immutable (a slice id is never reused for other bytes), so a cached block is never
// stale; Remove drops a slice's blocks. Reads that do not look sequential go straight to the
// inner store as ranged reads, so random small reads never fetch whole blocks; a read of a whole
// block is fetched and cached as one (it costs no extra bytes).
//
// Thread-safety: as ChunkStore. Writers are the inner store's.
#pragma once

#include <cstdint>
#include <memory>

#include "chunk/chunk_store.h"

namespace jfs::chunk {

struct PrefetchConfig {
  // Bytes of fetched blocks held at most (cached and in flight). 0 disables the decorator's
  // cache and readahead: every read goes to the inner store.
  uint64_t memory = 64ull << 20;
  // Parallel block downloads for readahead (JuiceFS: max-downloads).
  int download_threads = 8;
  // Blocks fetched ahead of a sequential reader, at most; the window starts at 1 block and
  // doubles with every sequential read, as JuiceFS's readahead grows. Capped to memory / 2.
  int readahead_blocks = 8;
  // Reads of at least this many bytes go straight to the inner store (0: none do). For an inner
  // store whose reads are cheap local copies (plain block files, read from the page cache), one
  // copy into the caller's buffer beats fetching whole blocks into memory and copying again;
  // smaller reads still gain from a fetched block (one read of the store serves many).
  uint32_t direct_from = 0;
};

// Wraps `inner`. On error `*out` is untouched and `inner` is released.
Status NewPrefetchStore(std::unique_ptr<ChunkStore> inner, const PrefetchConfig& config,
                        std::unique_ptr<ChunkStore>* out);

}  // namespace jfs::chunk
