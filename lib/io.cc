// The data path of a Volume: JuiceFS-style slice writer and chunk reader (pkg/vfs/writer.go,
// pkg/vfs/reader.go), plus the open-inode and open-file tables.
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "lib/internal.h"

namespace jfs::lib {

namespace {

constexpr uint64_t kChunkMask = meta::kChunkSize - 1;
// More uncommitted slices than this in one chunk (random small writes) commits the chunk: each
// slice holds its own buffers, and JuiceFS likewise freezes older slices early.
constexpr size_t kMaxPendingPerChunk = 32;
// Chunk indexes are uint32 and JuiceFS documents 2^31 chunks: the largest file offset + 1.
constexpr uint64_t kMaxFileSize = uint64_t{1} << (meta::kChunkBits + 31);
// Resolved slice lists kept per open inode before the cache is reset (bounds memory for huge
// files read end to end).
constexpr size_t kMaxCachedChunks = 4096;

// Memory a slice of `len` bytes holds in the chunk layer, which buffers whole blocks.
uint64_t Charge(uint32_t len, uint32_t block_size) {
  return (uint64_t{len} + block_size - 1) / block_size * block_size;
}

}  // namespace

VolumeCore::VolumeCore(const VolumeOptions& opts, meta::Format format,
                       std::shared_ptr<object::ObjectStore> store,
                       std::unique_ptr<chunk::ChunkStore> chunks, std::unique_ptr<meta::Meta> meta)
    : opts_(opts),
      format_(std::move(format)),
      store_(std::move(store)),
      chunks_(std::move(chunks)),
      meta_(std::move(meta)),
      process_owner_(static_cast<uint64_t>(getpid())) {
  data_ctx_.uid = 0;
  data_ctx_.gids = {0};
  data_ctx_.check_permission = false;
}

VolumeCore::~VolumeCore() {
  StopCompaction();
  DeleteDueSlices(true);
}

std::shared_ptr<InodeState> VolumeCore::AcquireInode(Ino ino, const meta::Attr& attr) {
  std::shared_ptr<InodeState> st;
  bool first = false;
  {
    std::lock_guard lk(mu_);
    auto& slot = inodes_[ino];
    if (!slot) slot = std::make_shared<InodeState>(ino);
    first = slot->open_count == 0;
    ++slot->open_count;
    st = slot;
  }
  std::lock_guard lk(st->mu);
  // Close-to-open: a fresh open sees what other clients committed. While other handles of this
  // Volume are open, st->length already tracks our own commits, which `attr` may predate.
  st->length = first ? attr.length : std::max(st->length, attr.length);
  st->slices.clear();
  return st;
}

void VolumeCore::ReleaseInode(const std::shared_ptr<InodeState>& st) {
  std::lock_guard lk(mu_);
  if (--st->open_count > 0) return;
  auto it = inodes_.find(st->ino);
  if (it != inodes_.end() && it->second == st) inodes_.erase(it);
}

std::shared_ptr<InodeState> VolumeCore::FindInode(Ino ino) {
  std::lock_guard lk(mu_);
  auto it = inodes_.find(ino);
  return it == inodes_.end() ? nullptr : it->second;
}

void VolumeCore::RegisterFile(uint64_t* id, const std::shared_ptr<FileImpl>& f) {
  std::lock_guard lk(mu_);
  *id = next_file_id_++;
  files_[*id] = f;
}

void VolumeCore::UnregisterFile(uint64_t id) {
  std::lock_guard lk(mu_);
  files_.erase(id);
}

std::vector<std::shared_ptr<FileImpl>> VolumeCore::OpenFiles() {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<FileImpl>> out;
  for (auto& [id, weak] : files_) {
    if (auto f = weak.lock()) out.push_back(std::move(f));
  }
  return out;
}

// ---- writer ---------------------------------------------------------------------------------

// The newest slice that can take a write at chunk offset `cpos`: one whose end the write touches
// or overlaps, above its already-uploading blocks. Older slices overlapped by the write range are
// never modified, because a newer slice may cover them (later wins on read).
PendingSlice* VolumeCore::FindWritable(std::vector<PendingSlice>& list, uint32_t cpos, uint32_t n) {
  for (size_t i = list.size(); i-- > 0;) {
    PendingSlice& s = list[i];
    const uint64_t start = s.pos, end = uint64_t{s.pos} + s.len;
    if (cpos >= start + s.flushed && cpos <= end) return &s;
    if (cpos < end && start < uint64_t{cpos} + n) return nullptr;
  }
  return nullptr;
}

void VolumeCore::RecomputePendingEnd(InodeState& st) {
  uint64_t end = 0;
  for (auto& [indx, list] : st.pending) {
    for (auto& s : list) {
      end = std::max(end, (uint64_t{indx} << meta::kChunkBits) + s.pos + s.len);
    }
  }
  st.pending_end = end;
}

Status VolumeCore::WriteLocked(InodeState& st, const char* buf, uint64_t size, uint64_t off) {
  if (!st.error.ok()) return st.error;
  if (size == 0) return Status::OK();
  if (off >= kMaxFileSize || size > kMaxFileSize - off) {
    return Status::Error(EFBIG, "write beyond the maximum file size");
  }
  const uint32_t bs = format_.BlockSizeBytes();
  uint64_t done = 0;
  while (done < size) {
    const uint64_t at = off + done;
    const auto indx = static_cast<uint32_t>(at >> meta::kChunkBits);
    const auto cpos = static_cast<uint32_t>(at & kChunkMask);
    // At most one block per step, so buffer pressure is checked at block granularity.
    const auto n = static_cast<uint32_t>(
        std::min<uint64_t>({size - done, meta::kChunkSize - cpos, uint64_t{bs}}));

    PendingSlice* s = nullptr;
    auto it = st.pending.find(indx);
    if (it != st.pending.end()) {
      s = FindWritable(it->second, cpos, n);
      if (s == nullptr && it->second.size() >= kMaxPendingPerChunk) {
        JFS_RETURN_IF_ERROR(CommitChunkLocked(st, indx));
      }
    }
    if (s == nullptr) {
      uint64_t id = 0;
      JFS_RETURN_IF_ERROR(meta_->NewSlice(data_ctx_, &id));
      PendingSlice ps;
      ps.writer = chunks_->NewWriter(id);
      ps.id = id;
      ps.pos = cpos;
      auto& list = st.pending[indx];
      list.push_back(std::move(ps));
      s = &list.back();
    }

    const uint32_t soff = cpos - s->pos;
    Status ws = s->writer->WriteAt(std::string_view(buf + done, n), soff);
    if (!ws.ok()) {
      if (s->len == 0) {  // a slice created for this write: drop it, it holds nothing
        s->writer->Abort();
        auto& list = st.pending[indx];
        list.pop_back();
        if (list.empty()) st.pending.erase(indx);
      }
      return ws;
    }
    if (soff + n > s->len) {
      buffered_ += Charge(soff + n, bs) - Charge(s->len, bs);
      s->len = soff + n;
    }
    st.pending_end =
        std::max(st.pending_end, (uint64_t{indx} << meta::kChunkBits) + s->pos + s->len);
    done += n;

    // Full blocks go to the upload pool at once. A slice that fills its chunk is not committed
    // here: waiting for its last uploads would stall the caller every 64 MiB. It stays pending
    // (its blocks uploading) until the buffer limit, a read of the chunk, flush or close commits
    // it.
    const uint32_t full = s->len / bs * bs;
    if (full > s->flushed) {
      JFS_RETURN_IF_ERROR(s->writer->FlushTo(full));
      s->flushed = full;
    }
    if (buffered_.load() > opts_.buffer_size) JFS_RETURN_IF_ERROR(CommitOldestLocked(st));
  }
  return Status::OK();
}

// Commits this file's chunks in index order until the volume is back under its buffer limit.
// Committing only as much as needed (not everything) keeps the upload pool busy: the younger
// chunks' blocks go on uploading while the writer waits for the oldest, which were queued first.
Status VolumeCore::CommitOldestLocked(InodeState& st) {
  while (buffered_.load() > opts_.buffer_size && !st.pending.empty()) {
    JFS_RETURN_IF_ERROR(CommitChunkLocked(st, st.pending.begin()->first));
  }
  return Status::OK();
}

Status VolumeCore::CommitChunkLocked(InodeState& st, uint32_t indx) {
  auto it = st.pending.find(indx);
  if (it == st.pending.end()) return Status::OK();
  std::vector<PendingSlice> list = std::move(it->second);
  st.pending.erase(it);
  st.slices.erase(indx);

  Status first;
  for (auto& s : list) {
    Status c = s.writer->Finish(s.len);
    if (c.ok()) {
      meta::Slice rec;
      rec.pos = s.pos;
      rec.id = s.id;
      rec.size = s.len;
      rec.off = 0;
      rec.len = s.len;
      c = meta_->Write(data_ctx_, st.ino, indx, s.pos, rec);
      if (c.ok()) {
        NoteUnsynced(st.ino, s.id, s.len);
        st.length = std::max(st.length, (uint64_t{indx} << meta::kChunkBits) + s.pos + s.len);
        MaybeCompact(st, indx);
      } else {
        // The objects stay: whether the record landed is unknown for some engines, and an
        // unreferenced object is only garbage (gc removes it), never lost data.
        LogWarning("inode %llu: recording slice %llu failed: %s",
                   static_cast<unsigned long long>(st.ino), static_cast<unsigned long long>(s.id),
                   c.ToString().c_str());
      }
    } else {
      s.writer->Abort();
    }
    buffered_ -= Charge(s.len, format_.BlockSizeBytes());
    if (!c.ok() && first.ok()) {
      first = c.WithContext("inode " + std::to_string(st.ino) + ": writing slice " +
                            std::to_string(s.id) + " of chunk " + std::to_string(indx));
    }
  }
  RecomputePendingEnd(st);
  if (!first.ok() && st.error.ok()) st.error = first;
  return first;
}

Status VolumeCore::CommitAllLocked(InodeState& st) {
  Status first;
  while (!st.pending.empty()) {
    Status s = CommitChunkLocked(st, st.pending.begin()->first);
    if (!s.ok() && first.ok()) first = std::move(s);
  }
  return first;
}

void VolumeCore::RelieveBufferPressure() {
  if (buffered_.load() <= opts_.buffer_size) return;
  std::vector<std::shared_ptr<InodeState>> open;
  {
    std::lock_guard lk(mu_);
    open.reserve(inodes_.size());
    for (auto& [ino, st] : inodes_) open.push_back(st);
  }
  for (auto& st : open) {
    if (buffered_.load() <= opts_.buffer_size) break;
    std::lock_guard lk(st->mu);
    // A failure is kept in st->error (CommitChunkLocked) for that file's next Flush/Close.
    if (st->HasPending()) (void)CommitAllLocked(*st);
  }
}

// ---- reader ---------------------------------------------------------------------------------

Status VolumeCore::Read(InodeState& st, char* buf, uint64_t size, uint64_t off, uint64_t* n) {
  *n = 0;
  using Views = std::shared_ptr<const std::vector<meta::SliceView>>;
  std::vector<std::pair<uint32_t, Views>> plan;
  uint64_t end = 0;
  {
    std::lock_guard lk(st.mu);
    const uint64_t len = st.LocalLength();
    if (size == 0 || off >= len) return Status::OK();
    end = off + std::min(size, len - off);
    const auto first = static_cast<uint32_t>(off >> meta::kChunkBits);
    const auto last = static_cast<uint32_t>((end - 1) >> meta::kChunkBits);
    // Read-your-writes: what this Volume buffered for these chunks becomes visible in meta.
    for (auto it = st.pending.lower_bound(first); it != st.pending.end() && it->first <= last;) {
      const uint32_t indx = it->first;
      ++it;  // CommitChunkLocked erases `indx` only
      JFS_RETURN_IF_ERROR(CommitChunkLocked(st, indx));
    }
    plan.reserve(last - first + 1);
    for (uint64_t i = first; i <= last; ++i) {
      const auto indx = static_cast<uint32_t>(i);
      auto c = st.slices.find(indx);
      if (c != st.slices.end()) {
        plan.emplace_back(indx, c->second);
        continue;
      }
      std::vector<meta::SliceView> views;
      JFS_RETURN_IF_ERROR(meta_->Read(data_ctx_, st.ino, indx, &views));
      if (st.slices.size() >= kMaxCachedChunks) st.slices.clear();
      auto shared = std::make_shared<const std::vector<meta::SliceView>>(std::move(views));
      st.slices[indx] = shared;
      plan.emplace_back(indx, std::move(shared));
    }
  }

  // Object data is fetched without the inode lock. Slices are immutable, but another client may
  // drop them (truncate, overwrite with O_TRUNC, compaction) after this handle resolved the chunk,
  // and their objects then go away. A block read that fails is therefore retried with the
  // chunk's current slice list when that list differs from the one used; only a failure on the
  // current list is reported.
  for (auto& [indx, views] : plan) {
    for (int attempt = 0;; ++attempt) {
      Status r = ReadChunkPiece(st.ino, indx, *views, off, end, buf);
      if (r.ok()) break;
      if (attempt >= 3) return r;
      std::vector<meta::SliceView> fresh;
      {
        std::lock_guard lk(st.mu);
        if (!meta_->Read(data_ctx_, st.ino, indx, &fresh).ok()) return r;
        auto same = [](const meta::SliceView& a, const meta::SliceView& b) {
          return a.id == b.id && a.size == b.size && a.off == b.off && a.len == b.len;
        };
        if (std::equal(fresh.begin(), fresh.end(), views->begin(), views->end(), same)) return r;
        views = std::make_shared<const std::vector<meta::SliceView>>(std::move(fresh));
        st.slices[indx] = views;
      }
    }
  }
  *n = end - off;
  return Status::OK();
}

Status VolumeCore::ReadChunkPiece(uint64_t ino, uint32_t indx,
                                  const std::vector<meta::SliceView>& views, uint64_t off,
                                  uint64_t end, char* buf) {
  const uint64_t cstart = uint64_t{indx} << meta::kChunkBits;
  const uint64_t rs = std::max(off, cstart) - cstart;  // chunk-relative read range [rs, re)
  const uint64_t re = std::min(end, cstart + meta::kChunkSize) - cstart;
  char* dst = buf + (cstart + rs - off);
  uint64_t p = 0;  // chunk offset of the current piece
  for (const auto& v : views) {
    if (p >= re) break;
    const uint64_t vend = p + v.len;
    if (vend > rs) {
      const uint64_t a = std::max(p, rs), b = std::min(vend, re);
      if (v.id == 0) {
        std::memset(dst + (a - rs), 0, b - a);
      } else {
        const uint64_t soff = uint64_t{v.off} + (a - p);
        if (soff > UINT32_MAX) return Status::Corruption("slice offset out of range");
        Status r = chunks_->ReadAt(v.id, v.size, static_cast<uint32_t>(soff),
                                   static_cast<uint32_t>(b - a), dst + (a - rs));
        if (!r.ok()) {
          return r.WithContext("inode " + std::to_string(ino) + " chunk " + std::to_string(indx));
        }
      }
    }
    p = vend;
  }
  const uint64_t z = std::max(p, rs);
  if (z < re) std::memset(dst + (z - rs), 0, re - z);
  return Status::OK();
}

Status VolumeCore::Truncate(const Context& ctx, InodeState& st, uint64_t length,
                            bool skip_perm_check, meta::Attr* attr) {
  if (length > kMaxFileSize) return Status::Error(EFBIG, "length beyond the maximum file size");
  std::lock_guard lk(st.mu);
  JFS_RETURN_IF_ERROR(CommitAllLocked(st));
  meta::Attr a;
  JFS_RETURN_IF_ERROR(meta_->Truncate(ctx, st.ino, length, skip_perm_check, &a));
  st.length = length;
  st.slices.clear();
  if (attr != nullptr) *attr = a;
  return Status::OK();
}

// ---- durability ------------------------------------------------------------------------------

void VolumeCore::NoteUnsynced(Ino ino, uint64_t id, uint32_t size) {
  std::lock_guard lk(unsynced_mu_);
  if (unsynced_all_) return;
  if (unsynced_count_ >= kMaxUnsynced) {
    unsynced_.clear();
    unsynced_count_ = 0;
    unsynced_all_ = true;
    return;
  }
  unsynced_[ino].emplace_back(id, size);
  ++unsynced_count_;
}

void VolumeCore::NoteUnsyncedAll() {
  std::lock_guard lk(unsynced_mu_);
  unsynced_.clear();
  unsynced_count_ = 0;
  unsynced_all_ = true;
}

Status VolumeCore::SyncInode(Ino ino) {
  std::lock_guard run(sync_run_mu_);
  std::vector<std::pair<uint64_t, uint32_t>> slices;
  bool all = false;
  {
    std::lock_guard lk(unsynced_mu_);
    if (unsynced_all_) {
      all = true;
      unsynced_.clear();
      unsynced_count_ = 0;
      unsynced_all_ = false;
    } else {
      auto it = unsynced_.find(ino);
      if (it == unsynced_.end()) return Status::OK();
      slices = std::move(it->second);
      unsynced_count_ -= slices.size();
      unsynced_.erase(it);
    }
  }
  Status s = all ? chunks_->SyncAll() : chunks_->Sync(slices);
  if (!s.ok()) {
    // Not durable: the next fsync tries again.
    if (all) {
      NoteUnsyncedAll();
    } else {
      for (const auto& [id, size] : slices) NoteUnsynced(ino, id, size);
    }
  }
  return s;
}

}  // namespace jfs::lib
