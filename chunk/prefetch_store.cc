// Readahead and single-flight block fetches over any ChunkStore (see prefetch_store.h).
//
// Memory accounting: every cached block and every block being fetched is charged its length
// against PrefetchConfig::memory. Fetched blocks are kept in LRU order and evicted oldest first;
// a block being fetched is never evicted. When nothing can be evicted, a reader falls back to a
// ranged read of just the bytes it needs and a prefetch is skipped: memory is never exceeded.
#include "chunk/prefetch_store.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "chunk/block_buffer.h"
#include "chunk/thread_pool.h"

namespace jfs::chunk {
namespace {

constexpr uint64_t kMaxSliceSize = uint64_t{1} << 26;
// Sequential-read state is kept for this many slices at most (then forgotten all at once).
constexpr size_t kMaxStreams = 1024;
// How far out of order the reads of a sequential run may arrive (see TrackLocked).
constexpr uint64_t kReorderBytes = uint64_t{16} << 20;

struct Key {
  uint64_t id;
  uint32_t indx;
  bool operator==(const Key& o) const { return id == o.id && indx == o.indx; }
};
struct KeyHash {
  size_t operator()(const Key& k) const { return std::hash<uint64_t>()(k.id * 131 + k.indx); }
};

// One block of a slice, whole. Fields are guarded by PrefetchStore::mu_ until `ready`; after
// that `data` and `status` never change, so holders of the shared_ptr read them without the lock.
struct Entry {
  explicit Entry(BufferPool* p) : pool(p) {}
  ~Entry() { pool->Put(std::move(data)); }  // the pool outlives every entry (member order)
  Entry(const Entry&) = delete;
  Entry& operator=(const Entry&) = delete;

  BufferPool* const pool;
  bool ready = false;
  Status status;
  BlockBuffer data;
  uint32_t charge = 0;             // bytes charged against the memory limit
  bool cached = false;             // in lru_ (ready and ok, not evicted)
  std::list<Key>::iterator where;  // position in lru_ when cached
};

class PrefetchStore final : public ChunkStore {
 public:
  PrefetchStore(std::unique_ptr<ChunkStore> inner, const PrefetchConfig& cfg)
      : inner_(std::move(inner)),
        cfg_(cfg),
        bs_(inner_->config().block_size),
        buffers_(bs_, static_cast<size_t>(cfg.memory / bs_)) {}

  ~PrefetchStore() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;  // queued fetches return at once; the pool then joins
    }
  }

  Status Start() { return pool_.Start(cfg_.download_threads); }

  std::unique_ptr<SliceWriter> NewWriter(uint64_t id) override { return inner_->NewWriter(id); }

  Status ReadAt(uint64_t id, uint32_t size, uint32_t off, uint32_t len, char* dst) override {
    // The inner store reports malformed requests; this layer only handles well-formed ones.
    if (size > kMaxSliceSize || uint64_t{off} + len > size || len == 0 || dst == nullptr) {
      return inner_->ReadAt(id, size, off, len, dst);
    }
    // Uses none of this layer's blocks or buffers (so it does not count as use for
    // ReleaseIdleBuffers either).
    if (cfg_.direct_from > 0 && len >= cfg_.direct_from)
      return inner_->ReadAt(id, size, off, len, dst);
    const uint32_t first = off / bs_;
    const uint32_t last = static_cast<uint32_t>((uint64_t{off} + len - 1) / bs_);
    uint32_t window = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      used_ = true;
      window = TrackLocked(id, off, len);
    }
    for (uint32_t i = first; i <= last; ++i) {
      const uint64_t bstart = uint64_t{i} * bs_;
      const uint32_t blen = static_cast<uint32_t>(std::min<uint64_t>(bs_, size - bstart));
      const uint64_t from = std::max<uint64_t>(off, bstart);
      const uint64_t to = std::min<uint64_t>(uint64_t{off} + len, bstart + blen);
      char* out = dst + (from - off);
      std::shared_ptr<Entry> e;
      // A read of a whole block fetches it as a block (the same bytes) even when not sequential:
      // concurrent readers of that block then share one fetch, whoever comes first.
      const bool whole = from == bstart && to == bstart + blen;
      JFS_RETURN_IF_ERROR(Block(Key{id, i}, size, blen, window > 0 || whole, &e));
      if (e) {
        std::memcpy(out, e->data.get() + (from - bstart), to - from);
      } else {  // not sequential, or no memory for the whole block: just the bytes asked for
        JFS_RETURN_IF_ERROR(inner_->ReadAt(id, size, static_cast<uint32_t>(from),
                                           static_cast<uint32_t>(to - from), out));
      }
    }
    if (window > 0) {
      const uint32_t nblocks = static_cast<uint32_t>((uint64_t{size} + bs_ - 1) / bs_);
      for (uint32_t i = last + 1; i <= last + window && i < nblocks; ++i) Prefetch(id, size, i);
    }
    return Status::OK();
  }

  Status Remove(uint64_t id, uint32_t size) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      streams_.erase(id);
      const uint32_t n = static_cast<uint32_t>(
          (uint64_t{std::min<uint64_t>(size, kMaxSliceSize)} + bs_ - 1) / bs_);
      for (uint32_t i = 0; i < n; ++i) {
        auto it = entries_.find(Key{id, i});
        // A block still being fetched stays: its fetch publishes it and LRU ages it out.
        if (it != entries_.end() && it->second->cached) EvictLocked(it);
      }
    }
    return inner_->Remove(id, size);
  }

  const Config& config() const override { return inner_->config(); }
  ChunkStats Stats() override { return inner_->Stats(); }
  Status WaitWriteback() override { return inner_->WaitWriteback(); }
  Status Sync(const std::vector<std::pair<uint64_t, uint32_t>>& slices) override {
    return inner_->Sync(slices);
  }
  Status SyncAll() override { return inner_->SyncAll(); }

  void DropIdleBuffers() override {
    inner_->DropIdleBuffers();
    {
      std::lock_guard<std::mutex> lock(mu_);
      while (!lru_.empty()) EvictLocked(entries_.find(lru_.back()));
    }
    buffers_.ReleaseNow();
  }

  void ReleaseIdleBuffers() override {
    inner_->ReleaseIdleBuffers();
    std::lock_guard<std::mutex> lock(mu_);
    if (!used_) {
      while (!lru_.empty()) EvictLocked(entries_.find(lru_.back()));
      streams_.clear();
      buffers_.ReleaseNow();
    }
    used_ = false;
  }

 private:
  struct Stream {
    uint64_t last_off = 0, last_end = 0;  // the previous read of the slice
    uint64_t hi = 0;                      // furthest end read by the current sequential run
    uint32_t window = 0;                  // readahead in blocks; 0 = not sequential
  };

  // Records a read of [off, off+len) of slice `id`; returns the readahead window in blocks
  // (0 when the read is not part of a sequential run).
  //
  // A run starts with a read at offset 0 or one adjacent to the previous read (on either side:
  // two reads of a sequential reader may arrive swapped). Once running, reads may arrive out of
  // order within kReorderBytes of the furthest read: a FUSE mount serves the kernel's readahead
  // (several requests in flight) with several threads, so a sequential reader's requests reach
  // this layer reordered. A read further away ends the run; random reads rarely start one, as
  // they are seldom exactly adjacent to the read before.
  uint32_t TrackLocked(uint64_t id, uint32_t off, uint32_t len) {
    if (cfg_.memory == 0) return 0;
    auto it = streams_.find(id);
    if (it == streams_.end()) {
      if (streams_.size() >= kMaxStreams) streams_.clear();
      it = streams_.emplace(id, Stream{}).first;
    }
    Stream& s = it->second;
    const uint32_t max_window = static_cast<uint32_t>(std::max<uint64_t>(
        1, std::min<uint64_t>(static_cast<uint64_t>(std::max(cfg_.readahead_blocks, 1)),
                              cfg_.memory / 2 / bs_)));
    const uint64_t end = uint64_t{off} + len;
    bool sequential;
    if (s.window > 0) {
      sequential = off + kReorderBytes >= s.hi && off <= s.hi + kReorderBytes;
    } else {
      sequential = off == 0 || off == s.last_end || end == s.last_off;
      if (sequential) s.hi = std::max(s.last_end, end);
    }
    if (sequential) {
      s.window = s.window == 0 ? 1 : std::min(s.window * 2, max_window);
      s.hi = std::max(s.hi, end);
    } else {
      s.window = 0;
    }
    s.last_off = off;
    s.last_end = end;
    return s.window;
  }

  // Makes room for `n` more bytes, evicting cached blocks oldest first. Requires mu_.
  bool ReserveLocked(uint32_t n) {
    while (charged_ + n > cfg_.memory && !lru_.empty()) EvictLocked(entries_.find(lru_.back()));
    if (charged_ + n > cfg_.memory) return false;
    charged_ += n;
    return true;
  }

  void EvictLocked(std::unordered_map<Key, std::shared_ptr<Entry>, KeyHash>::iterator it) {
    Entry& e = *it->second;
    // A reader that waited for this entry may still hold it: `where` must not look valid then.
    if (e.cached) {
      lru_.erase(e.where);
      e.cached = false;
    }
    charged_ -= e.charge;
    entries_.erase(it);
  }

  // Publishes the outcome of a fetch of `key` into `e`. Requires mu_.
  void PublishLocked(const Key& key, const std::shared_ptr<Entry>& e, Status st) {
    e->status = std::move(st);
    e->ready = true;
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second == e) {
      if (e->status.ok()) {
        lru_.push_front(key);
        e->where = lru_.begin();
        e->cached = true;
      } else {
        EvictLocked(it);  // a failed fetch is not cached; the next reader tries again
      }
    }
    cv_.notify_all();
  }

  // Sets *out to block `key` (of `blen` bytes) of a slice of `size` bytes: from the cache,
  // waiting for a fetch in flight, or (if `fetch`) fetched now. *out stays null when the caller
  // should read the bytes it needs itself: not cached and !fetch, or no memory for the block.
  Status Block(const Key& key, uint32_t size, uint32_t blen, bool fetch,
               std::shared_ptr<Entry>* out) {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      auto it = entries_.find(key);
      if (it == entries_.end()) break;
      std::shared_ptr<Entry> e = it->second;
      cv_.wait(lock, [&] { return e->ready; });
      if (e->status.ok()) {
        if (e->cached) lru_.splice(lru_.begin(), lru_, e->where);
        *out = std::move(e);
        return Status::OK();
      }
      // A failed fetch (e.g. a prefetch of a block deleted meanwhile) is never left in
      // entries_ (PublishLocked): look again, and fetch it ourselves if nobody else does.
    }
    if (!fetch || !ReserveLocked(blen)) return Status::OK();
    auto e = std::make_shared<Entry>(&buffers_);
    e->charge = blen;
    entries_[key] = e;
    lock.unlock();
    // The volume's memory budget is shared: write buffers kept for reuse give way to reading.
    inner_->DropIdleBuffers();
    Status st = Fetch(key, size, blen, e.get());
    lock.lock();
    PublishLocked(key, e, st);
    if (!st.ok()) return st;
    *out = std::move(e);
    return Status::OK();
  }

  Status Fetch(const Key& key, uint32_t size, uint32_t blen, Entry* e) {
    e->data = buffers_.Get();
    if (!e->data) {
      return Status::Error(ENOMEM, "cannot allocate a block of " + std::to_string(blen) + " bytes");
    }
    return inner_->ReadAt(key.id, size, key.indx * bs_, blen, e->data.get());
  }

  void Prefetch(uint64_t id, uint32_t size, uint32_t indx) {
    const Key key{id, indx};
    const uint32_t blen =
        static_cast<uint32_t>(std::min<uint64_t>(bs_, size - uint64_t{indx} * bs_));
    std::shared_ptr<Entry> e;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_ || entries_.count(key) != 0 || !ReserveLocked(blen)) return;
      e = std::make_shared<Entry>(&buffers_);
      e->charge = blen;
      entries_[key] = e;
    }
    try {
      pool_.Submit([this, key, size, blen, e] {
        bool stop;
        {
          std::lock_guard<std::mutex> lock(mu_);
          stop = stopping_;
        }
        Status st =
            stop ? Status::Error(ECANCELED, "volume closing") : Fetch(key, size, blen, e.get());
        std::lock_guard<std::mutex> lock(mu_);
        PublishLocked(key, e, std::move(st));
      });
    } catch (const std::bad_alloc&) {
      std::lock_guard<std::mutex> lock(mu_);
      PublishLocked(key, e, Status::Error(ENOMEM, "cannot queue a prefetch"));
    }
  }

  std::unique_ptr<ChunkStore> inner_;
  const PrefetchConfig cfg_;
  const uint32_t bs_;

  // Buffers of evicted blocks, for the next fetches. Idle + charged_ never exceeds the memory
  // limit: a buffer is only idle after its entry's charge was released.
  BufferPool buffers_;
  std::mutex mu_;
  std::condition_variable cv_;  // an entry became ready
  std::unordered_map<Key, std::shared_ptr<Entry>, KeyHash> entries_;
  std::list<Key> lru_;  // cached entries, most recently used first
  uint64_t charged_ = 0;
  std::unordered_map<uint64_t, Stream> streams_;
  bool used_ = false;  // since the last ReleaseIdleBuffers
  bool stopping_ = false;
  ThreadPool pool_;  // last member: joined before anything its tasks use goes away
};

}  // namespace

Status NewPrefetchStore(std::unique_ptr<ChunkStore> inner, const PrefetchConfig& config,
                        std::unique_ptr<ChunkStore>* out) {
  if (!inner) return Status::Invalid("prefetch store: no inner chunk store");
  if (config.download_threads < 1 || config.download_threads > 256) {
    return Status::Invalid("prefetch store: download_threads must be between 1 and 256");
  }
  if (config.readahead_blocks < 0) return Status::Invalid("prefetch store: negative readahead");
  auto impl = std::make_unique<PrefetchStore>(std::move(inner), config);
  JFS_RETURN_IF_ERROR(impl->Start());
  *out = std::move(impl);
  return Status::OK();
}

}  // namespace jfs::chunk
