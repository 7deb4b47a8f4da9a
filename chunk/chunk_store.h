// ChunkStore: the data layer. Turns slices (contiguous byte ranges written by one client, at most
// one 64 MiB chunk long) into block objects named as JuiceFS names them (format.md §1.4), and reads
// byte ranges of slices back. It knows nothing about inodes or metadata: lib/ asks meta for slice
// ids and records the finished slices.
//
// Thread-safety: a ChunkStore may be used from many threads; one SliceWriter from one at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chunk/disk_cache.h"
#include "object/object_store.h"
#include "util/status.h"

namespace jfs::chunk {

struct Config {
  uint32_t block_size = 4u << 20;  // bytes; a power of two, 64 KiB .. 16 MiB
  bool hash_prefix = false;
  std::string compression;  // "", "none", "lz4", "zstd" (format.md §1.6; chunk/codec.h)
  int upload_threads = 4;   // concurrent block uploads per store
  // Block buffers kept for reuse once their block is uploaded (bytes; at least 2 buffers). A big
  // sequential write cycles through as many buffers as the writer holds in flight (lib/'s buffer
  // limit); allocating each anew costs a page fault and a zeroed page per 4 KiB. Idle buffers
  // are freed by ReleaseIdleBuffers.
  uint64_t max_idle_buffer_bytes = 64ull << 20;
  // Local disk cache of blocks; null: none. Blocks read whole, and written blocks shorter than
  // block_size (small files, tails), are cached; reads are served from it when it has the block.
  std::shared_ptr<DiskCache> cache;
  // With a cache: also cache written full-size blocks (JuiceFS --cache-large-write). Off by
  // default, as in JuiceFS: a big write then costs one write of each block, not two; a block is
  // cached when first read.
  bool cache_large_write = false;
  // With a cache: a finished block is acknowledged once staged on the cache disk (made durable
  // by Sync/SyncAll, like a block in the file backend) and uploaded in the background by
  // `upload_threads` more threads. Blocks staged by an earlier process (found when the cache
  // opened) are uploaded from the start.
  bool writeback = false;
  // With a cache: threads fetching a whole block into the cache in the background after a read
  // of part of it missed (JuiceFS --prefetch). 0: none.
  int prefetch = 1;
};

// Counters of one store since it was created.
struct ChunkStats {
  uint64_t put_ops = 0, put_bytes = 0;  // block objects uploaded (bytes as stored)
  uint64_t get_ops = 0, get_bytes = 0;  // object reads (bytes received)
  uint64_t delete_ops = 0;
  uint64_t put_errors = 0, get_errors = 0;
  uint64_t writeback_pending = 0;  // staged blocks waiting for upload
  DiskCacheStats cache;            // zeros without a cache
};

// Key of block `indx` (of `block_len` bytes) of slice `id`, relative to the volume prefix:
// "chunks/{id/1000/1000}/{id/1000}/{id}_{indx}_{block_len}" (hash_prefix:
// "chunks/{id%256:02X}/...").
std::string BlockKey(uint64_t id, uint32_t indx, uint32_t block_len, bool hash_prefix);

// Buffers the bytes of one slice and uploads its blocks. Full blocks may be uploaded early
// (FlushTo); the final partial block only at Finish, because its object name carries its length.
class SliceWriter {
 public:
  virtual ~SliceWriter() = default;  // a writer destroyed unfinished behaves like Abort()
  virtual uint64_t id() const = 0;
  // Copies `data` to slice offset `off`. off + data.size() must be <= 64 MiB (EINVAL otherwise).
  // Bytes never written read back as zeros.
  virtual Status WriteAt(std::string_view data, uint32_t off) = 0;
  // Starts uploading (in the background) every block that lies entirely below `offset`.
  virtual Status FlushTo(uint32_t offset) = 0;
  // Uploads every remaining block of the first `length` bytes and waits for all uploads; returns
  // the first error of any of them. After Finish the slice of `length` bytes is readable.
  virtual Status Finish(uint32_t length) = 0;
  // Stops and deletes whatever was uploaded.
  virtual void Abort() = 0;
};

class ChunkStore {
 public:
  virtual ~ChunkStore() = default;
  virtual std::unique_ptr<SliceWriter> NewWriter(uint64_t id) = 0;
  // Reads `len` bytes starting at offset `off` of slice `id` whose total size is `size` into dst.
  // Requires off + len <= size (EINVAL). A missing block object → EIO naming the object key.
  virtual Status ReadAt(uint64_t id, uint32_t size, uint32_t off, uint32_t len, char* dst) = 0;
  // Deletes every block of a slice (missing blocks are fine).
  virtual Status Remove(uint64_t id, uint32_t size) = 0;
  virtual const Config& config() const = 0;
  // Frees the reusable block buffers if none was taken or returned since the previous call.
  // Meant for a periodic background tick (lib/ calls it every few seconds).
  virtual void ReleaseIdleBuffers() = 0;
  // Frees the reusable block buffers now: another user of the same memory budget (the read
  // cache) is about to need it.
  virtual void DropIdleBuffers() = 0;
  virtual ChunkStats Stats() = 0;
  // Durability of finished slices (object::ObjectStore::Sync: the file backend and the writeback
  // cache do not flush each block). Sync makes the blocks of the given (id, size) slices durable,
  // wherever they are (staged or stored; removed slices are skipped); SyncAll every block
  // finished so far. A block uploaded from the writeback cache is synced before its staged copy
  // goes, so it never depends on a later Sync.
  virtual Status Sync(const std::vector<std::pair<uint64_t, uint32_t>>& slices) = 0;
  virtual Status SyncAll() = 0;
  // Waits until every block staged for writeback so far was uploaded (or failed to upload);
  // returns the first upload error since the last call. OK at once without writeback.
  virtual Status WaitWriteback() = 0;
};

// `store` must already carry the volume prefix ("{name}/").
Status NewChunkStore(const Config& config, std::shared_ptr<object::ObjectStore> store,
                     std::unique_ptr<ChunkStore>* out);

}  // namespace jfs::chunk
