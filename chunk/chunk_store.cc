// The slice writer and block reader over an ObjectStore (format.md §1.4), with the optional disk
// cache (chunk/disk_cache.h) and writeback. Without a cache every ReadAt goes to the object
// store, with ranged GETs when blocks are stored uncompressed.
// Compressed blocks (format.md §1.6) are compressed in the upload threads and read whole, then
// decompressed and sliced, as JuiceFS does.
#include "chunk/chunk_store.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "chunk/block_buffer.h"
#include "chunk/codec.h"
#include "chunk/thread_pool.h"

namespace jfs::chunk {
namespace {

constexpr uint64_t kMaxSliceSize = uint64_t{1} << 26;  // one chunk, 64 MiB (format.md §1.1)
constexpr uint32_t kMinBlockSize = 64u << 10;
constexpr uint32_t kMaxBlockSize = 16u << 20;
constexpr int kMaxUploadThreads = 256;
constexpr size_t kMaxSyncKeys = 256;  // ChunkStore::Sync of more blocks: one SyncAll instead

// Length of block `indx` of a slice of `size` bytes: full blocks, then the remainder.
uint32_t BlockLen(uint32_t indx, uint32_t size, uint32_t block_size) {
  uint64_t start = uint64_t{indx} * block_size;
  return static_cast<uint32_t>(std::min<uint64_t>(block_size, size - start));
}

uint32_t NumBlocks(uint32_t size, uint32_t block_size) {
  return static_cast<uint32_t>((uint64_t{size} + block_size - 1) / block_size);
}

class ChunkStoreImpl;

// Life cycle: open (WriteAt / FlushTo) → Finish → done, or → Abort at any time. Block buffers are
// allocated on first write and released as soon as the block is uploaded. Upload tasks run on the
// store's pool and refer to this writer, so every exit path waits until none is pending.
class SliceWriterImpl final : public SliceWriter {
 public:
  SliceWriterImpl(ChunkStoreImpl& store, uint64_t id);
  ~SliceWriterImpl() override;

  uint64_t id() const override { return id_; }
  Status WriteAt(std::string_view data, uint32_t off) override;
  Status FlushTo(uint32_t offset) override;
  Status Finish(uint32_t length) override;
  void Abort() override;

 private:
  enum class BlockState { kBuffered, kQueued, kUploaded, kFailed, kSkipped };
  struct Block {
    // block_size_ bytes. Only [0, filled) is initialized (written, or zeroed where a later write
    // skipped ahead): zero-filling 4 MiB up front for every block cost ~7% of a big write.
    BlockBuffer data;
    uint32_t filled = 0;
    BlockState state = BlockState::kBuffered;
    uint32_t len = 0;  // object length, fixed when queued
  };
  enum class Phase { kOpen, kFinished, kAborted };

  // Queues block `indx` for upload as an object of `len` bytes: submitted to the upload pool, or
  // (submit=false) left for the caller to run Upload(indx) itself. Requires mu_.
  Status QueueLocked(uint32_t indx, uint32_t len, bool submit = true);
  Status AllocLocked(Block& b);
  void Upload(uint32_t indx);
  Status CheckOpenLocked() const;

  ChunkStoreImpl& store_;
  const uint64_t id_;
  const uint32_t block_size_;

  std::mutex mu_;
  std::condition_variable idle_;  // signalled when pending_ drops
  std::vector<Block> blocks_;
  int pending_ = 0;             // queued or running uploads
  uint32_t queued_blocks_ = 0;  // 1 + highest block index ever queued
  Status first_error_;          // of any upload
  bool canceled_ = false;       // Abort: queued uploads are skipped
  Phase phase_ = Phase::kOpen;
  bool finished_ok_ = false;
};

class ChunkStoreImpl final : public ChunkStore {
 public:
  ChunkStoreImpl(const Config& config, std::shared_ptr<object::ObjectStore> store,
                 std::unique_ptr<Compressor> compressor)
      : config_(config),
        store_(std::move(store)),
        compressor_(std::move(compressor)),
        buffers_(config.block_size,
                 static_cast<size_t>(std::max<uint64_t>(
                     2, config.max_idle_buffer_bytes / std::max<uint32_t>(config.block_size, 1)))) {
  }
  ~ChunkStoreImpl() override {
    // Writers hold references to the pool and the store; they must be gone first.
    assert(live_writers_.load() == 0);
    stopping_ = true;  // queued prefetches are skipped; staged uploads still run (pool joins)
  }

  Status Start() {
    JFS_RETURN_IF_ERROR(pool_.Start(config_.upload_threads));
    if (!config_.cache) return Status::OK();
    if (config_.prefetch > 0) JFS_RETURN_IF_ERROR(fetch_pool_.Start(config_.prefetch));
    // Blocks a dead process staged but never uploaded go first.
    std::vector<std::string> staged = config_.cache->StagedKeys();
    if (config_.writeback || !staged.empty()) {
      JFS_RETURN_IF_ERROR(wb_pool_.Start(config_.upload_threads));
    }
    for (const auto& key : staged) QueueWriteback(key);
    return Status::OK();
  }

  std::unique_ptr<SliceWriter> NewWriter(uint64_t id) override {
    return std::make_unique<SliceWriterImpl>(*this, id);
  }

  Status ReadAt(uint64_t id, uint32_t size, uint32_t off, uint32_t len, char* dst) override {
    if (size > kMaxSliceSize) return Status::Invalid("slice size exceeds 64 MiB");
    if (uint64_t{off} + len > size) {
      return Status::Invalid("read [" + std::to_string(off) + ", +" + std::to_string(len) +
                             ") beyond slice " + std::to_string(id) + " of " +
                             std::to_string(size) + " bytes");
    }
    if (len == 0) return Status::OK();
    if (dst == nullptr) return Status::Invalid("null read buffer");
    const uint32_t bs = config_.block_size;
    const uint64_t end = uint64_t{off} + len;
    std::string buf;  // compressed blocks only
    for (uint32_t i = off / bs; uint64_t{i} * bs < end; ++i) {
      const uint64_t block_start = uint64_t{i} * bs;
      const uint32_t blen = BlockLen(i, size, bs);
      const uint64_t from = std::max<uint64_t>(off, block_start);
      const uint64_t to = std::min<uint64_t>(end, block_start + blen);
      const std::string key = BlockKey(id, i, blen, config_.hash_prefix);
      JFS_RETURN_IF_ERROR(ReadBlock(key, blen, static_cast<uint32_t>(from - block_start),
                                    static_cast<uint32_t>(to - from), dst + (from - off), &buf));
      // A large read from a block's start looks sequential: the next block of the slice is read
      // next, so the store may start fetching it now (it reads ahead within one object only).
      if (from == block_start && to - from >= object::kFileStoreReadAheadFrom &&
          compressor_ == nullptr && block_start + blen < size) {
        store_->WillRead(BlockKey(id, i + 1, BlockLen(i + 1, size, bs), config_.hash_prefix));
      }
    }
    return Status::OK();
  }

  // Bytes [from, from+len) of block `key` (blen bytes): from the disk cache when it has them,
  // else from the object store. A whole block read (and any read of a compressed block, which
  // fetches the whole object anyway) goes into the cache; a partial miss queues a background
  // fetch of the whole block into the cache (prefetch).
  Status ReadBlock(const std::string& key, uint32_t blen, uint32_t from, uint32_t len, char* dst,
                   std::string* buf) {
    DiskCache* cache = config_.cache.get();
    if (cache == nullptr) return GetBlock(key, blen, from, len, dst, buf);
    if (cache->Load(key, blen, from, len, dst)) return Status::OK();
    if (from == 0 && len == blen) {
      JFS_RETURN_IF_ERROR(GetBlock(key, blen, 0, blen, dst, buf));
      cache->Cache(key, std::string_view(dst, blen));
      return Status::OK();
    }
    if (compressor_ != nullptr) {
      BlockBuffer whole = AllocBlockBuffer(blen);
      if (whole) {
        JFS_RETURN_IF_ERROR(GetBlock(key, blen, 0, blen, whole.get(), buf));
        cache->Cache(key, std::string_view(whole.get(), blen));
        std::memcpy(dst, whole.get() + from, len);
        return Status::OK();
      }
    }
    JFS_RETURN_IF_ERROR(GetBlock(key, blen, from, len, dst, buf));
    SchedulePrefetch(key, blen);
    return Status::OK();
  }

  void SchedulePrefetch(const std::string& key, uint32_t blen) {
    if (config_.prefetch <= 0) return;
    {
      std::lock_guard<std::mutex> lock(fetch_mu_);
      if (fetching_.size() >= 2 * static_cast<size_t>(config_.prefetch)) return;
      if (!fetching_.insert(key).second) return;
    }
    auto task = [this, key, blen] {
      if (!stopping_.load()) {
        BlockBuffer b = AllocBlockBuffer(blen);
        std::string scratch;
        if (b && GetBlock(key, blen, 0, blen, b.get(), &scratch).ok()) {
          config_.cache->Cache(key, std::string_view(b.get(), blen));
        }
      }
      std::lock_guard<std::mutex> lock(fetch_mu_);
      fetching_.erase(key);
    };
    try {
      fetch_pool_.Submit(task);
    } catch (const std::bad_alloc&) {
      std::lock_guard<std::mutex> lock(fetch_mu_);
      fetching_.erase(key);
    }
  }

  // Stores a finished block: staged for writeback when configured (falling back to a direct
  // upload when staging fails), else uploaded, then cached (full blocks only with
  // cache_large_write).
  Status StoreBlock(const std::string& key, std::string_view data) {
    DiskCache* cache = config_.cache.get();
    if (cache != nullptr && config_.writeback) {
      if (cache->Stage(key, data).ok()) {
        QueueWriteback(key);
        return Status::OK();
      }
    }
    JFS_RETURN_IF_ERROR(PutBlock(key, data));
    if (cache != nullptr && (data.size() < config_.block_size || config_.cache_large_write)) {
      cache->Cache(key, data);
    }
    return Status::OK();
  }

  void QueueWriteback(const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(wb_mu_);
      ++wb_pending_;
    }
    try {
      wb_pool_.Submit([this, key] { UploadStaged(key); });
    } catch (const std::bad_alloc&) {
      // Stays staged: uploaded when the volume next opens.
      std::lock_guard<std::mutex> lock(wb_mu_);
      --wb_pending_;
      wb_cv_.notify_all();
    }
  }

  void UploadStaged(const std::string& key) {
    std::string data;
    Status st = config_.cache->ReadStaged(key, &data);
    if (st.ok()) {
      for (int attempt = 0; attempt < 4; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
        try {
          st = PutBlock(key, data);
        } catch (const std::exception& e) {
          st = Status::IOError(std::string("upload failed: ") + e.what());
        }
        if (st.ok()) break;
      }
      if (st.ok()) st = store_->Sync({key});
      if (st.ok()) config_.cache->Uploaded(key);
    } else if (st.IsNotFound()) {
      st = Status::OK();  // the slice was removed meanwhile
    }
    std::lock_guard<std::mutex> lock(wb_mu_);
    if (!st.ok()) {
      std::fprintf(stderr, "libjuicefs: writeback of %s: %s (kept staged)\n", key.c_str(),
                   st.ToString().c_str());
      if (wb_error_.ok()) wb_error_ = st.WithContext("writeback upload of " + key);
    }
    --wb_pending_;
    wb_cv_.notify_all();
  }

  Status WaitWriteback() override {
    std::unique_lock<std::mutex> lock(wb_mu_);
    wb_cv_.wait(lock, [this] { return wb_pending_ == 0; });
    Status st = std::move(wb_error_);
    wb_error_ = Status::OK();
    return st;
  }

  ChunkStats Stats() override {
    ChunkStats s;
    s.put_ops = put_ops_;
    s.put_bytes = put_bytes_;
    s.get_ops = get_ops_;
    s.get_bytes = get_bytes_;
    s.delete_ops = delete_ops_;
    s.put_errors = put_errors_;
    s.get_errors = get_errors_;
    {
      std::lock_guard<std::mutex> lock(wb_mu_);
      s.writeback_pending = static_cast<uint64_t>(wb_pending_);
    }
    if (config_.cache) s.cache = config_.cache->Stats();
    return s;
  }

  // Stores one block object: compressed first when the volume says so. Runs in the upload threads,
  // so blocks are compressed in parallel.
  Status PutBlock(const std::string& key, std::string_view data) {
    std::string packed;
    if (compressor_) {
      JFS_RETURN_IF_ERROR(
          compressor_->Compress(data, &packed).WithContext("compress block " + key));
      data = packed;
    }
    Status st = store_->Put(key, data);
    if (st.ok()) {
      put_ops_++;
      put_bytes_ += data.size();
    } else {
      put_errors_++;
    }
    return st;
  }

  // Reads bytes [from, from+len) of the block object `key` (of blen uncompressed bytes) into dst.
  // Uncompressed blocks are read with a ranged GET; compressed ones whole, then decompressed.
  // `buf` is scratch space reused across blocks.
  Status GetBlock(const std::string& key, uint32_t blen, uint32_t from, uint32_t len, char* dst,
                  std::string* buf) {
    Status st = GetObject(key, blen, from, len, dst, buf);
    if (st.ok()) {
      get_ops_++;
      get_bytes_ += compressor_ == nullptr ? len : buf->size();
    } else {
      get_errors_++;
    }
    return st;
  }

  Status GetObject(const std::string& key, uint32_t blen, uint32_t from, uint32_t len, char* dst,
                   std::string* buf) {
    if (compressor_ == nullptr) {  // a ranged read straight into the caller's memory
      int64_t got = 0;
      Status st = store_->GetInto(key, from, len, dst, &got);
      if (st.IsNotFound()) return Status::IOError("block object " + key + " is missing");
      if (!st.ok()) {
        // Keep the backend's code (and retryability) but say which block failed.
        return st.WithContext("read block " + key);
      }
      if (static_cast<uint64_t>(got) != len) {
        return Status::IOError("block object " + key + " is shorter than " + std::to_string(blen) +
                               " bytes");
      }
      return Status::OK();
    }
    Status st = store_->Get(key, 0, -1, buf);
    if (st.IsNotFound()) return Status::IOError("block object " + key + " is missing");
    if (!st.ok()) return st.WithContext("read block " + key);
    auto damaged = [&](const Status& s) {
      if (s.code() == ENOMEM) return s;
      return Status::IOError("block object " + key + " cannot be decompressed (" +
                             compressor_->name() + "): " + s.message() +
                             "; the object is damaged or was not written by this volume");
    };
    if (from == 0 && len == blen) {  // the whole block: decode straight into the caller's buffer
      Status ds = compressor_->Decompress(*buf, dst, blen);
      return ds.ok() ? ds : damaged(ds);
    }
    std::unique_ptr<char[]> plain;
    try {
      plain = std::make_unique_for_overwrite<char[]>(blen);
    } catch (const std::bad_alloc&) {
      return Status::Error(ENOMEM,
                           "cannot allocate a block buffer of " + std::to_string(blen) + " bytes");
    }
    Status ds = compressor_->Decompress(*buf, plain.get(), blen);
    if (!ds.ok()) return damaged(ds);
    std::memcpy(dst, plain.get() + from, len);
    return Status::OK();
  }

  Status Sync(const std::vector<std::pair<uint64_t, uint32_t>>& slices) override {
    std::vector<std::string> keys;
    for (const auto& [id, size] : slices) {
      if (size > kMaxSliceSize) return Status::Invalid("slice size exceeds 64 MiB");
      const uint32_t n = NumBlocks(size, config_.block_size);
      for (uint32_t i = 0; i < n; ++i) keys.push_back(KeyOf(id, i, size));
      // Past this many blocks one syncfs costs less than a flush per file.
      if (keys.size() > kMaxSyncKeys) return SyncAll();
    }
    if (keys.empty()) return Status::OK();
    // Staged copies first: a block uploaded meanwhile was synced in the store by UploadStaged.
    if (config_.cache && config_.writeback) JFS_RETURN_IF_ERROR(config_.cache->SyncStaged());
    return store_->Sync(keys).WithContext("sync blocks");
  }

  Status SyncAll() override {
    if (config_.cache && config_.writeback) JFS_RETURN_IF_ERROR(config_.cache->SyncStaged());
    return store_->SyncAll().WithContext("sync data store");
  }

  Status Remove(uint64_t id, uint32_t size) override {
    if (size > kMaxSliceSize) return Status::Invalid("slice size exceeds 64 MiB");
    Status first;
    const uint32_t n = NumBlocks(size, config_.block_size);
    for (uint32_t i = 0; i < n; ++i) {
      const std::string key = KeyOf(id, i, size);
      if (config_.cache) config_.cache->Remove(key);
      Status st = store_->Delete(key);
      delete_ops_++;
      if (!st.ok() && first.ok()) first = st.WithContext("delete block " + key);
    }
    return first;
  }

  const Config& config() const override { return config_; }
  // Key of block `indx` of slice `id` of `size` bytes (Sync and Remove name every block).
  std::string KeyOf(uint64_t id, uint32_t indx, uint32_t size) const {
    return BlockKey(id, indx, BlockLen(indx, size, config_.block_size), config_.hash_prefix);
  }
  void ReleaseIdleBuffers() override { buffers_.ReleaseIfIdle(); }
  void DropIdleBuffers() override { buffers_.ReleaseNow(); }

  object::ObjectStore& objects() { return *store_; }
  ThreadPool& pool() { return pool_; }
  BufferPool& buffers() { return buffers_; }
  std::atomic<int>& live_writers() { return live_writers_; }

 private:
  const Config config_;
  std::shared_ptr<object::ObjectStore> store_;
  const std::unique_ptr<Compressor> compressor_;  // null: blocks are stored as they are
  std::atomic<int> live_writers_{0};
  BufferPool buffers_;
  std::atomic<uint64_t> put_ops_{0}, put_bytes_{0}, get_ops_{0}, get_bytes_{0}, delete_ops_{0};
  std::atomic<uint64_t> put_errors_{0}, get_errors_{0};
  std::atomic<bool> stopping_{false};
  std::mutex fetch_mu_;
  std::unordered_set<std::string> fetching_;  // keys of queued / running prefetches
  std::mutex wb_mu_;
  std::condition_variable wb_cv_;
  int wb_pending_ = 0;  // staged blocks queued or uploading
  Status wb_error_;
  // Pools last, joined in reverse order before anything they use goes away: upload tasks may
  // queue writeback uploads, so pool_ goes first.
  ThreadPool fetch_pool_;
  ThreadPool wb_pool_;
  ThreadPool pool_;
};

SliceWriterImpl::SliceWriterImpl(ChunkStoreImpl& store, uint64_t id)
    : store_(store),
      id_(id),
      block_size_(store.config().block_size),
      blocks_(kMaxSliceSize / block_size_) {
  store_.live_writers()++;
}

SliceWriterImpl::~SliceWriterImpl() {
  bool abort;
  {
    std::lock_guard<std::mutex> lock(mu_);
    abort = phase_ == Phase::kOpen || (phase_ == Phase::kFinished && !finished_ok_);
  }
  if (abort) Abort();
  store_.live_writers()--;
}

Status SliceWriterImpl::CheckOpenLocked() const {
  if (phase_ == Phase::kFinished) {
    return Status::Invalid("slice " + std::to_string(id_) + " is already finished");
  }
  if (phase_ == Phase::kAborted) {
    return Status::Invalid("slice " + std::to_string(id_) + " was aborted");
  }
  return Status::OK();
}

Status SliceWriterImpl::WriteAt(std::string_view data, uint32_t off) {
  std::lock_guard<std::mutex> lock(mu_);
  JFS_RETURN_IF_ERROR(CheckOpenLocked());
  const uint64_t end = uint64_t{off} + data.size();
  if (end > kMaxSliceSize) {
    return Status::Invalid("write [" + std::to_string(off) + ", " + std::to_string(end) +
                           ") beyond the 64 MiB slice limit");
  }
  if (data.empty()) return Status::OK();
  const uint32_t first = off / block_size_;
  const uint32_t last = static_cast<uint32_t>((end - 1) / block_size_);
  for (uint32_t i = first; i <= last; ++i) {
    // A queued block's object is (being) written; changing its buffer now would be lost or torn.
    if (blocks_[i].state != BlockState::kBuffered) {
      return Status::Invalid("write to block " + std::to_string(i) + " of slice " +
                             std::to_string(id_) + ", which was already flushed");
    }
  }
  for (uint32_t i = first; i <= last; ++i) JFS_RETURN_IF_ERROR(AllocLocked(blocks_[i]));
  for (uint32_t i = first; i <= last; ++i) {
    Block& b = blocks_[i];
    const uint64_t block_start = uint64_t{i} * block_size_;
    const uint64_t from = std::max<uint64_t>(off, block_start);
    const uint64_t to = std::min<uint64_t>(end, block_start + block_size_);
    const auto bo = static_cast<uint32_t>(from - block_start);
    if (bo > b.filled) std::memset(b.data.get() + b.filled, 0, bo - b.filled);
    std::memcpy(b.data.get() + bo, data.data() + (from - off), to - from);
    b.filled = std::max(b.filled, static_cast<uint32_t>(to - block_start));
  }
  return Status::OK();
}

Status SliceWriterImpl::FlushTo(uint32_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  JFS_RETURN_IF_ERROR(CheckOpenLocked());
  if (offset > kMaxSliceSize) return Status::Invalid("flush offset beyond the 64 MiB slice limit");
  for (uint32_t i = 0; i < offset / block_size_; ++i) {
    if (blocks_[i].state == BlockState::kBuffered) JFS_RETURN_IF_ERROR(QueueLocked(i, block_size_));
  }
  return first_error_;
}

Status SliceWriterImpl::Finish(uint32_t length) {
  std::unique_lock<std::mutex> lock(mu_);
  JFS_RETURN_IF_ERROR(CheckOpenLocked());
  if (length > kMaxSliceSize) return Status::Invalid("slice length exceeds 64 MiB");
  // Flushed blocks were named as full blocks; a shorter slice would need other names.
  if (uint64_t{queued_blocks_} * block_size_ > length) {
    return Status::Invalid("slice length " + std::to_string(length) + " is shorter than the " +
                           std::to_string(uint64_t{queued_blocks_} * block_size_) +
                           " bytes already flushed");
  }
  const uint32_t n = NumBlocks(length, block_size_);
  Status queued;
  int64_t here = -1;  // the block this thread uploads
  for (uint32_t i = 0; i < n && queued.ok(); ++i) {
    if (blocks_[i].state == BlockState::kBuffered) {
      // The last block is uploaded by this thread, which would only wait otherwise: for a small
      // file that spares handing the block to a pool thread and being woken by it.
      const bool last = i + 1 == n;
      queued = QueueLocked(i, BlockLen(i, length, block_size_), /*submit=*/!last);
      if (queued.ok() && last) here = i;
    }
  }
  if (here >= 0) {
    lock.unlock();
    Upload(static_cast<uint32_t>(here));
    lock.lock();
  }
  idle_.wait(lock, [this] { return pending_ == 0; });
  if (!queued.ok()) return queued;  // still open: Finish may be retried, or Abort called
  for (auto& b : blocks_) store_.buffers().Put(std::move(b.data));  // bytes beyond `length` drop
  phase_ = Phase::kFinished;
  finished_ok_ = first_error_.ok();
  return first_error_;
}

void SliceWriterImpl::Abort() {
  std::vector<std::string> keys;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (phase_ == Phase::kAborted) return;
    canceled_ = true;
    idle_.wait(lock, [this] { return pending_ == 0; });
    phase_ = Phase::kAborted;
    for (uint32_t i = 0; i < blocks_.size(); ++i) {
      Block& b = blocks_[i];
      store_.buffers().Put(std::move(b.data));
      // A failed Put may still have stored the object (e.g. a timeout after the write).
      if (b.state == BlockState::kUploaded || b.state == BlockState::kFailed) {
        keys.push_back(BlockKey(id_, i, b.len, store_.config().hash_prefix));
      }
    }
  }
  // Best effort: whatever stays behind is unreferenced and `gc` will find it.
  for (const auto& key : keys) {
    if (store_.config().cache) store_.config().cache->Remove(key);
    (void)store_.objects().Delete(key);
  }
}

Status SliceWriterImpl::AllocLocked(Block& b) {
  if (b.data) return Status::OK();
  b.data = store_.buffers().Get();
  b.filled = 0;
  if (!b.data) {
    return Status::Error(
        ENOMEM, "cannot allocate a block buffer of " + std::to_string(block_size_) + " bytes");
  }
  return Status::OK();
}

Status SliceWriterImpl::QueueLocked(uint32_t indx, uint32_t len, bool submit) {
  Block& b = blocks_[indx];
  // Sparse slices still need every block object: readers fetch each block of `size`.
  JFS_RETURN_IF_ERROR(AllocLocked(b));
  if (len > b.filled) {  // never-written bytes of the object read as zeros
    std::memset(b.data.get() + b.filled, 0, len - b.filled);
    b.filled = len;
  }
  if (submit) {
    try {
      store_.pool().Submit([this, indx] { Upload(indx); });
    } catch (const std::bad_alloc&) {
      return Status::Error(ENOMEM, "cannot queue a block upload");
    }
  }
  // The task cannot look at the block before we release mu_.
  b.state = BlockState::kQueued;
  b.len = len;
  ++pending_;
  queued_blocks_ = std::max(queued_blocks_, indx + 1);
  return Status::OK();
}

void SliceWriterImpl::Upload(uint32_t indx) {
  std::string key;
  std::string_view data;
  bool canceled;
  {
    std::lock_guard<std::mutex> lock(mu_);
    canceled = canceled_;
    key = BlockKey(id_, indx, blocks_[indx].len, store_.config().hash_prefix);
    data = std::string_view(blocks_[indx].data.get(), blocks_[indx].len);
  }
  // The buffer is stable while the block is queued: WriteAt refuses queued blocks and nothing
  // frees buffers while uploads are pending.
  Status st;
  if (!canceled) {
    try {
      st = store_.StoreBlock(key, data);
    } catch (const std::exception& e) {  // e.g. bad_alloc in a backend: never kill the pool
      st = Status::IOError(std::string("upload failed: ") + e.what());
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  Block& b = blocks_[indx];
  store_.buffers().Put(std::move(b.data));
  if (canceled) {
    b.state = BlockState::kSkipped;
  } else if (st.ok()) {
    b.state = BlockState::kUploaded;
  } else {
    b.state = BlockState::kFailed;
    if (first_error_.ok()) first_error_ = st.WithContext("upload block " + key);
  }
  --pending_;
  // Notify under the lock: once pending_ is 0 the writer may be destroyed right away.
  idle_.notify_all();
}

}  // namespace

std::string BlockKey(uint64_t id, uint32_t indx, uint32_t block_len, bool hash_prefix) {
  std::string key = "chunks/";
  if (hash_prefix) {
    char hex[4];
    std::snprintf(hex, sizeof(hex), "%02X", static_cast<unsigned>(id % 256));
    key += hex;
  } else {
    key += std::to_string(id / 1000 / 1000);
  }
  key += '/';
  key += std::to_string(hash_prefix ? id / 1000 / 1000 : id / 1000);
  key += '/';
  key += std::to_string(id);
  key += '_';
  key += std::to_string(indx);
  key += '_';
  key += std::to_string(block_len);
  return key;
}

Status NewChunkStore(const Config& config, std::shared_ptr<object::ObjectStore> store,
                     std::unique_ptr<ChunkStore>* out) {
  if (!store) return Status::Invalid("chunk store: no object store");
  const uint32_t bs = config.block_size;
  if (bs < kMinBlockSize || bs > kMaxBlockSize || (bs & (bs - 1)) != 0) {
    return Status::Invalid("chunk store: block size " + std::to_string(bs) +
                           " is not a power of two between 64 KiB and 16 MiB");
  }
  std::unique_ptr<Compressor> compressor;
  JFS_RETURN_IF_ERROR(NewCompressor(config.compression, &compressor).WithContext("chunk store"));
  if (config.upload_threads < 1 || config.upload_threads > kMaxUploadThreads) {
    return Status::Invalid("chunk store: upload_threads must be between 1 and " +
                           std::to_string(kMaxUploadThreads));
  }
  auto impl = std::make_unique<ChunkStoreImpl>(config, std::move(store), std::move(compressor));
  JFS_RETURN_IF_ERROR(impl->Start());
  *out = std::move(impl);
  return Status::OK();
}

}  // namespace jfs::chunk
