// DiskCache: blocks of one volume kept on local disks, as JuiceFS's disk cache
// (pkg/chunk/disk_cache.go). Layout (format.md §1.9), for each cache directory D:
//   D/{UUID}/raw/{key}         cached blocks (uncompressed block data)
//   D/{UUID}/rawstaging/{key}  writeback: blocks acknowledged to the writer, not yet uploaded
// where {key} is the block's object key relative to the volume prefix ("chunks/0/0/1_0_4194304").
// A block goes to directory hash(key) % number of dirs.
//
// File format: the block's `blen` data bytes, then one CRC-32C (Castagnoli, little endian) per
// 32 KiB segment of the data (the last segment may be shorter). A file whose size is not exactly
// that, or whose checksums do not match the data read, is deleted and reported as a miss: the
// cache never returns wrong data. Files are written as "*.tmp" and renamed into place, without
// fsync; SyncStaged makes staged blocks durable (a file's fsync calls it).
//
// Cache writes happen in a background thread, as JuiceFS's do, so a reader or an upload never
// waits for the cache disk: Cache copies the block into a queue and returns. When the queue holds
// kMaxQueuedCacheBytes (the disk is behind), the block is not cached. A queued block reads as a
// miss until written. Drain waits for the queue; destroying the cache writes what is queued.
//
// Failures of the cache disk (unwritable directory, disk full, I/O errors) never fail a read or a
// write of the volume: Cache is best effort and Stage returns an error so the caller uploads
// directly. Existing files are indexed when the cache opens, so a cache survives restarts.
//
// Size: `capacity` bytes over all directories (split evenly); before a block is cached, blocks are
// evicted ("2-random": of two random blocks the less recently used goes) until it fits and the
// disk keeps `free_space_ratio` of its space free; with eviction "none" a block that does not fit
// is not cached. Staged blocks do not count against capacity (they must not be lost) but still
// respect free_space_ratio.
//
// Thread-safety: every method may be called from many threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jfs::chunk {

struct DiskCacheConfig {
  std::vector<std::string> dirs;  // at least one
  std::string uuid;               // the volume's UUID (a directory level, format.md §1.9)
  uint64_t capacity = 100ull << 30;
  double free_space_ratio = 0.1;      // 0 .. 0.9
  std::string eviction = "2-random";  // or "none"
  // JuiceFS's verify-cache-checksum levels: "none" (no verification on read), "full" (the whole
  // block on every read), "shrink" (segments lying entirely inside the bytes read), "extend"
  // (every segment the read touches; the default).
  std::string checksum = "extend";
};

// Splits a JuiceFS cache-dir value ("a:b:c") into directories; empty parts are dropped.
std::vector<std::string> SplitCacheDirs(std::string_view value);

struct DiskCacheStats {
  uint64_t hit_ops = 0, hit_bytes = 0;      // reads served from the cache
  uint64_t miss_ops = 0, miss_bytes = 0;    // reads the cache could not serve
  uint64_t write_ops = 0, write_bytes = 0;  // blocks written into the cache (and staged)
  uint64_t evicted_ops = 0, evicted_bytes = 0;
  uint64_t bad_blocks = 0;     // files dropped for a bad size or checksum
  uint64_t used_bytes = 0;     // cached blocks now (files on disk, checksums included)
  uint64_t blocks = 0;         // cached blocks now
  uint64_t staged_blocks = 0;  // staged, not yet uploaded
};

// Checks the settings that do not depend on a directory (free_space_ratio, eviction, checksum):
// bad values are refused even when the cache is off, so a typo never goes unnoticed.
Status CheckDiskCacheSettings(const DiskCacheConfig& config);

// Bytes of blocks queued for the background cache writer; more are not cached.
inline constexpr uint64_t kMaxQueuedCacheBytes = 16ull << 20;

class DiskCache {
 public:
  // Opens the cache: creates D/{UUID}/raw and rawstaging where possible and indexes what is
  // there (deleting leftover temporary files and files of the wrong size). A directory that cannot
  // be used is logged and skipped. Errors only for a bad configuration (EINVAL).
  static Status Open(const DiskCacheConfig& config, std::unique_ptr<DiskCache>* out);
  virtual ~DiskCache() = default;

  // Copies bytes [off, off+len) of block `key` (of `blen` data bytes) into dst when the block is
  // cached or staged and its checksums hold; false otherwise (dst is then unspecified).
  virtual bool Load(const std::string& key, uint32_t blen, uint32_t off, uint32_t len,
                    char* dst) = 0;
  // Whether the block is cached or staged (no verification).
  virtual bool Contains(const std::string& key) = 0;
  // Stores a copy of a whole block, best effort (skipped when it does not fit or the disk fails),
  // in the background (see above): the caller may reuse `block` when this returns.
  virtual void Cache(const std::string& key, std::string_view block) = 0;
  // Returns once every block handed to Cache before the call is written (or given up on).
  virtual void Drain() = 0;
  // Writes a whole block to rawstaging (not yet durable: see SyncStaged). An error means it is not
  // staged.
  virtual Status Stage(const std::string& key, std::string_view block) = 0;
  // Makes every block staged so far durable (syncfs of each cache disk holding staged blocks).
  virtual Status SyncStaged() = 0;
  // Reads a staged block back (verified). ENOENT when it is no longer staged (removed).
  virtual Status ReadStaged(const std::string& key, std::string* block) = 0;
  // The staged block was uploaded: it moves into the cache (or is deleted when it does not fit).
  virtual void Uploaded(const std::string& key) = 0;
  // Forgets a block: deletes its cached and staged files.
  virtual void Remove(const std::string& key) = 0;
  // Keys of every staged block (those found at Open included).
  virtual std::vector<std::string> StagedKeys() = 0;
  virtual DiskCacheStats Stats() = 0;
};

}  // namespace jfs::chunk
