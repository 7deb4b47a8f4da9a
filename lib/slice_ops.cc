// fallocate, copy_file_range, clone and compaction (lib/slice_ops.h), and the compaction machinery
// of VolumeCore (lib/internal.h): the background worker fed by the write path and the delayed
// deletion of slices a compaction released.
#include "lib/slice_ops.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "lib/internal.h"
#include "meta/slice.h"

namespace jfs::lib {

namespace {

// format.md §6.2: a chunk is compacted after this many slices were appended to it.
constexpr uint32_t kCompactEvery = 100;
// At most this many background compactions wait (JuiceFS skips them beyond 10 running).
constexpr size_t kMaxQueuedCompactions = 10;
// Records compacted in one go (JuiceFS takes the first ≤1000).
constexpr size_t kMaxCompactRecords = 1000;

double SteadyNow() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// JuiceFS compactChunk (pkg/meta/slice.go): resolves `ss` and trims zero pieces at both ends.
// size 0: the records resolve to zeros only.
struct Resolved {
  uint32_t pos = 0;
  uint32_t size = 0;
  std::vector<meta::SliceView> views;  // untrimmed, from chunk offset 0
  size_t first = 0;                    // index of the first non-trimmed view
};

Resolved Resolve(const std::vector<meta::Slice>& ss) {
  Resolved r;
  r.views = meta::BuildSlices(ss);
  size_t b = 0, e = r.views.size();
  while (e - b > 1) {
    if (r.views[b].id == 0) {
      r.pos += r.views[b].len;
      ++b;
    } else if (r.views[e - 1].id == 0) {
      --e;
    } else {
      break;
    }
  }
  r.first = b;
  if (e - b == 1 && r.views[b].id == 0) return r;  // zeros only
  uint64_t size = 0;
  for (size_t i = b; i < e; ++i) size += r.views[i].len;
  r.size = static_cast<uint32_t>(std::min<uint64_t>(size, meta::kChunkSize));
  return r;
}

// JuiceFS skipSome: leading records that are large (≥1 MiB and ≥1/5 of what follows resolves to)
// and still wholly visible are left alone, so appending to a big file does not rewrite it.
size_t SkipSome(const std::vector<meta::Slice>& recs) {
  size_t skipped = 0;
  while (skipped < recs.size()) {
    std::vector<meta::Slice> ss(recs.begin() + static_cast<std::ptrdiff_t>(skipped), recs.end());
    Resolved r = Resolve(ss);
    const meta::Slice& first = ss[0];
    if (first.len < (1u << 20) || uint64_t{first.len} * 5 < r.size || r.size == 0) break;
    const meta::SliceView& v = r.views[r.first];
    if (!(r.pos == first.pos && v.id == first.id && v.off == first.off && v.len == first.len)) {
      break;
    }
    for (size_t i = 1; i < ss.size(); ++i) {
      if (ss[i] == first) return skipped;
    }
    ++skipped;
  }
  return skipped;
}

FileImpl* Impl(File& f) {
  return dynamic_cast<FileImpl*>(&f);
}

}  // namespace

// ---- VolumeCore: compaction ------------------------------------------------------------------

void VolumeCore::MaybeCompact(InodeState& st, uint32_t indx) {
  if (opts_.read_only || !opts_.compact) return;
  if (++st.commits_since_compact[indx] < kCompactEvery) return;
  st.commits_since_compact[indx] = 0;
  ScheduleCompaction(st.ino, indx);
}

void VolumeCore::ScheduleCompaction(Ino ino, uint32_t indx) {
  std::lock_guard lk(compact_mu_);
  if (compact_stop_ || compact_queue_.size() >= kMaxQueuedCompactions) return;
  if (!compact_queued_.insert({ino, indx}).second) {
    // A queued pass will read the new records; a running one has read its records already.
    if (compact_running_ == std::make_pair(ino, indx)) compact_again_.insert({ino, indx});
    return;
  }
  compact_queue_.emplace_back(ino, indx);
  if (!compact_worker_.joinable()) {
    try {
      compact_worker_ = std::thread([this] { CompactionLoop(); });
    } catch (const std::exception& e) {
      compact_queue_.clear();
      compact_queued_.clear();
      LogWarning("cannot start the compaction thread: %s", e.what());
      return;
    }
  }
  compact_cv_.notify_one();
}

void VolumeCore::CompactionLoop() {
  std::unique_lock lk(compact_mu_);
  while (true) {
    compact_cv_.wait(lk, [this] { return compact_stop_ || !compact_queue_.empty(); });
    if (compact_stop_) return;
    auto [ino, indx] = compact_queue_.front();
    compact_queue_.pop_front();
    compact_running_.emplace(ino, indx);
    lk.unlock();
    Status s = CompactChunk(ino, indx, nullptr, nullptr, /*background=*/true);
    if (!s.ok() && !s.IsNotFound()) {
      LogWarning("compacting inode %llu chunk %u: %s", static_cast<unsigned long long>(ino), indx,
                 s.ToString().c_str());
    }
    lk.lock();
    compact_running_.reset();
    if (compact_again_.erase({ino, indx}) != 0 && !compact_stop_) {
      compact_queue_.emplace_back(ino, indx);  // stays in compact_queued_
    } else {
      compact_queued_.erase({ino, indx});
    }
  }
}

void VolumeCore::StopCompaction() {
  {
    std::lock_guard lk(compact_mu_);
    compact_stop_ = true;
    compact_queue_.clear();
    compact_queued_.clear();
    compact_again_.clear();
  }
  compact_cv_.notify_all();
  if (compact_worker_.joinable() && compact_worker_.get_id() != std::this_thread::get_id()) {
    compact_worker_.join();
  }
}

void VolumeCore::DeleteDueSlices(bool all) {
  std::vector<std::pair<uint64_t, uint32_t>> due;
  {
    std::lock_guard lk(compact_mu_);
    const double now = SteadyNow();
    while (!delayed_deletes_.empty() && (all || std::get<0>(delayed_deletes_.front()) <= now)) {
      due.emplace_back(std::get<1>(delayed_deletes_.front()),
                       std::get<2>(delayed_deletes_.front()));
      delayed_deletes_.pop_front();
    }
  }
  for (const auto& [id, size] : due) {
    Status s = chunks_->Remove(id, size);
    if (!s.ok()) {
      LogWarning("deleting compacted slice %llu: %s", static_cast<unsigned long long>(id),
                 s.ToString().c_str());
    }
  }
}

size_t VolumeCore::delayed_slices() {
  std::lock_guard lk(compact_mu_);
  return delayed_deletes_.size();
}

Status VolumeCore::CompactChunk(Ino ino, uint32_t indx, bool* did, uint64_t* written,
                                bool background) {
  if (did) *did = false;
  if (opts_.read_only) return Status::Error(EROFS, "read-only volume");
  std::vector<meta::Slice> recs;
  JFS_RETURN_IF_ERROR(meta_->ReadChunk(data_ctx_, ino, indx, &recs));
  if (recs.size() > kMaxCompactRecords) recs.resize(kMaxCompactRecords);
  const size_t skipped = SkipSome(recs);
  std::vector<meta::Slice> rest(recs.begin() + static_cast<std::ptrdiff_t>(skipped), recs.end());
  if (rest.size() < 2) return Status::OK();  // one record (or none) is already compact
  const Resolved r = Resolve(rest);
  if (background && recs.size() < kMaxCompactRecords) {
    uint64_t fresh = 0;  // bytes of the records on top of the oldest one
    for (size_t i = 1; i < rest.size(); ++i) fresh += rest[i].len;
    if (fresh * 8 < r.size) return Status::OK();
  }

  meta::Slice merged;
  std::unique_ptr<chunk::SliceWriter> writer;
  if (r.size > 0) {
    uint64_t id = 0;
    JFS_RETURN_IF_ERROR(meta_->NewSlice(data_ctx_, &id));
    writer = chunks_->NewWriter(id);
    const uint32_t bs = format_.BlockSizeBytes();
    const uint64_t base = (uint64_t{indx} << meta::kChunkBits) + r.pos;
    std::string buf(bs, '\0');
    for (uint32_t o = 0; o < r.size; o += bs) {
      const uint32_t n = std::min(bs, r.size - o);
      Status s = ReadChunkPiece(ino, indx, r.views, base + o, base + o + n, buf.data());
      if (s.ok()) s = writer->WriteAt(std::string_view(buf.data(), n), o);
      if (s.ok()) s = writer->FlushTo(o + n);
      if (!s.ok()) {
        writer->Abort();
        // A slice read fails when another client rewrote the chunk meanwhile (and its old
        // objects went away): then there is nothing to do here.
        std::vector<meta::Slice> now;
        if (meta_->ReadChunk(data_ctx_, ino, indx, &now).ok() &&
            !(now.size() >= recs.size() && std::equal(recs.begin(), recs.end(), now.begin()))) {
          return Status::OK();
        }
        return s.WithContext("reading the pieces to compact");
      }
    }
    Status s = writer->Finish(r.size);
    // The merged slice replaces records whose data may already be durable: it must be too,
    // before meta swaps them.
    if (s.ok()) s = chunks_->Sync({{id, r.size}});
    if (!s.ok()) {
      writer->Abort();
      return s;
    }
    merged.pos = r.pos;
    merged.id = id;
    merged.size = merged.len = r.size;
  }
  bool replaced = false;
  std::vector<std::pair<uint64_t, uint32_t>> released;
  Status s = meta_->CompactChunk(data_ctx_, ino, indx, recs, skipped, merged, &replaced, &released);
  if (!s.ok()) {
    // Whether the swap committed is unknown for some engines: the new slice stays (garbage at
    // worst, which gc finds; never a dangling record).
    return s;
  }
  if (!replaced) {
    if (merged.id != 0) (void)chunks_->Remove(merged.id, merged.size);
    return Status::OK();
  }
  {
    std::lock_guard lk(compact_mu_);
    const double due = SteadyNow() + std::max(0.0, opts_.compact_delete_delay);
    for (const auto& [id, size] : released) delayed_deletes_.emplace_back(due, id, size);
  }
  if (auto st = FindInode(ino)) {
    std::lock_guard lk(st->mu);
    st->slices.erase(indx);
  }
  if (did) *did = true;
  if (written) *written += merged.size;
  return Status::OK();
}

// ---- file operations -------------------------------------------------------------------------

Status Fallocate(File& f, int mode, uint64_t off, uint64_t len) {
  FileImpl* fi = Impl(f);
  if (!fi) return Status::Error(EBADF, "not a handle of this library");
  return fi->WithData(false, true, [&](VolumeCore& core, InodeState& st, const Context& ctx) {
    if (core.read_only()) return Status::Error(EROFS, "read-only volume");
    std::lock_guard lk(st.mu);
    // Buffered writes first: a hole recorded before them would not cover them.
    JFS_RETURN_IF_ERROR(core.CommitAllLocked(st));
    meta::Attr a;
    JFS_RETURN_IF_ERROR(core.meta().Fallocate(ctx, st.ino, mode, off, len, &a));
    st.length = a.length;
    st.slices.clear();
    return Status::OK();
  });
}

Status CopyFileRange(File& in, uint64_t off_in, File& out, uint64_t off_out, uint64_t len,
                     uint32_t flags, uint64_t* copied) {
  if (copied) *copied = 0;
  FileImpl* fin = Impl(in);
  FileImpl* fout = Impl(out);
  if (!fin || !fout) return Status::Error(EBADF, "not a handle of this library");
  // Linux's order: flags, then file types, then access modes.
  if (flags != 0) return Status::Invalid("copy_file_range: flags must be 0");
  for (FileImpl* fi : {fin, fout}) {
    Status d = fi->WithData(false, false,
                            [](VolumeCore&, InodeState&, const Context&) { return Status::OK(); });
    if (d.Is(EISDIR)) return d;
  }
  if (fout->flags() & O_APPEND) return Status::Error(EBADF, "destination opened with O_APPEND");
  // The source's buffered writes become visible in meta first (one handle held at a time: no
  // lock order between handles is needed).
  Ino src = 0;
  JFS_RETURN_IF_ERROR(
      fin->WithData(true, false, [&](VolumeCore& core, InodeState& st, const Context&) {
        std::lock_guard lk(st.mu);
        src = st.ino;
        return core.CommitAllLocked(st);
      }));
  return fout->WithData(false, true, [&](VolumeCore& core, InodeState& st, const Context& ctx) {
    if (core.read_only()) return Status::Error(EROFS, "read-only volume");
    std::lock_guard lk(st.mu);
    JFS_RETURN_IF_ERROR(core.CommitAllLocked(st));
    uint64_t n = 0;
    meta::Attr a;
    JFS_RETURN_IF_ERROR(
        core.meta().CopyFileRange(ctx, src, off_in, st.ino, off_out, len, flags, &n, &a));
    if (n > 0) core.NoteUnsyncedAll();  // the copied records may name unsynced slices
    st.length = a.length;
    st.slices.clear();
    if (copied) *copied = n;
    return Status::OK();
  });
}

// ---- clone -----------------------------------------------------------------------------------

namespace {

std::string Join(std::string_view dir, std::string_view name) {
  std::string p(dir);
  if (p.empty() || p.back() != '/') p += '/';
  p += name;
  return p;
}

// Owner, mode, times and xattrs of `src` onto `dst` (a symlink keeps its own mode).
Status CopyMeta(Volume& v, const Context& ctx, std::string_view src, std::string_view dst,
                const Attr& a) {
  const bool link = a.typ == meta::kTypeSymlink;
  std::vector<std::string> names;
  Status s = v.ListXattr(ctx, src, &names, !link);
  if (s.ok()) {
    for (const std::string& n : names) {
      std::string value;
      if (!v.GetXattr(ctx, src, n, &value, !link).ok()) continue;
      JFS_RETURN_IF_ERROR(v.SetXattr(ctx, dst, n, value, 0, !link));
    }
  }
  if (ctx.uid == 0 || !ctx.check_permission) {
    JFS_RETURN_IF_ERROR(v.Chown(ctx, dst, a.uid, a.gid, !link));
  }
  if (!link) JFS_RETURN_IF_ERROR(v.Chmod(ctx, dst, a.mode));
  struct timespec times[2];
  times[0].tv_sec = a.atime, times[0].tv_nsec = a.atimensec;
  times[1].tv_sec = a.mtime, times[1].tv_nsec = a.mtimensec;
  return v.Utimens(ctx, dst, times, !link);
}

Status CloneTree(Volume& v, const Context& ctx, const std::string& src, const std::string& dst,
                 int depth) {
  if (depth > 4096) return Status::Error(ELOOP, "clone: directory tree too deep");
  Attr a;
  JFS_RETURN_IF_ERROR(v.Lstat(ctx, src, &a, nullptr));
  switch (a.typ) {
    case meta::kTypeFile: {
      std::shared_ptr<File> in, out;
      JFS_RETURN_IF_ERROR(v.OpenFile(ctx, src, O_RDONLY, 0, &in));
      JFS_RETURN_IF_ERROR(v.OpenFile(ctx, dst, O_WRONLY | O_CREAT | O_EXCL,
                                     static_cast<uint16_t>(a.mode | 0200), &out));
      Attr ia;
      JFS_RETURN_IF_ERROR(in->Fstat(&ia));
      uint64_t done = 0;
      if (ia.length > 0) {
        JFS_RETURN_IF_ERROR(CopyFileRange(*in, 0, *out, 0, ia.length, 0, &done));
      }
      JFS_RETURN_IF_ERROR(out->Close());
      JFS_RETURN_IF_ERROR(in->Close());
      break;
    }
    case meta::kTypeDirectory: {
      JFS_RETURN_IF_ERROR(v.Mkdir(ctx, dst, static_cast<uint16_t>(a.mode | 0700)));
      std::unique_ptr<DirStream> d;
      JFS_RETURN_IF_ERROR(v.OpenDir(ctx, src, &d));
      while (true) {
        DirEntry e;
        bool end = false;
        JFS_RETURN_IF_ERROR(d->Next(&e, &end));
        if (end) break;
        JFS_RETURN_IF_ERROR(CloneTree(v, ctx, Join(src, e.name), Join(dst, e.name), depth + 1));
      }
      JFS_RETURN_IF_ERROR(d->Close());
      break;
    }
    case meta::kTypeSymlink: {
      std::string target;
      JFS_RETURN_IF_ERROR(v.Readlink(ctx, src, &target));
      JFS_RETURN_IF_ERROR(v.Symlink(ctx, target, dst));
      break;
    }
    default: {
      const uint32_t fmt = a.SMode() & S_IFMT;
      JFS_RETURN_IF_ERROR(v.Mknod(ctx, dst, fmt | a.mode, a.rdev));
      break;
    }
  }
  return CopyMeta(v, ctx, src, dst, a);
}

}  // namespace

Status Clone(Volume& v, const Context& ctx, std::string_view src, std::string_view dst) {
  std::string s, d;
  JFS_RETURN_IF_ERROR(v.Realpath(ctx, src, &s));
  Attr tmp;
  Status e = v.Lstat(ctx, dst, &tmp, nullptr);
  if (e.ok()) return Status::Exists("clone: '" + std::string(dst) + "' exists");
  if (!e.IsNotFound()) return e;
  d = std::string(dst);
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (d == s || (d.size() > s.size() && d.compare(0, s.size(), s) == 0 && d[s.size()] == '/')) {
    return Status::Invalid("clone: destination inside the source");
  }
  return CloneTree(v, ctx, s, d, 0);
}

// ---- compact ---------------------------------------------------------------------------------

namespace {

Status CompactTree(Volume& v, VolumeCore& core, const Context& ctx, const std::string& path,
                   CompactStats* stats, int depth) {
  if (depth > 4096) return Status::Error(ELOOP, "compact: directory tree too deep");
  Attr a;
  Ino ino = 0;
  JFS_RETURN_IF_ERROR(v.Lstat(ctx, path, &a, &ino));
  if (a.typ == meta::kTypeDirectory) {
    std::unique_ptr<DirStream> d;
    JFS_RETURN_IF_ERROR(v.OpenDir(ctx, path, &d));
    while (true) {
      DirEntry e;
      bool end = false;
      JFS_RETURN_IF_ERROR(d->Next(&e, &end));
      if (end) break;
      if (e.attr.typ != meta::kTypeFile && e.attr.typ != meta::kTypeDirectory) continue;
      JFS_RETURN_IF_ERROR(CompactTree(v, core, ctx, Join(path, e.name), stats, depth + 1));
    }
    return d->Close();
  }
  if (a.typ != meta::kTypeFile) return Status::OK();
  JFS_RETURN_IF_ERROR(v.Access(ctx, path, W_OK));
  ++stats->files;
  const uint64_t nchunks = (a.length + meta::kChunkSize - 1) >> meta::kChunkBits;
  for (uint64_t c = 0; c < nchunks; ++c) {
    ++stats->chunks;
    bool did = false;
    Status s = core.CompactChunk(ino, static_cast<uint32_t>(c), &did, &stats->bytes_written);
    if (s.IsNotFound()) return Status::OK();  // removed meanwhile
    JFS_RETURN_IF_ERROR(s);
    if (did) ++stats->compacted;
  }
  return Status::OK();
}

}  // namespace

Status Compact(Volume& v, const Context& ctx, std::string_view path, CompactStats* stats) {
  std::shared_ptr<VolumeCore> core = CoreOf(v);
  if (!core) return Status::Error(EBADF, "volume is not open");
  if (core->read_only()) return Status::Error(EROFS, "read-only volume");
  CompactStats local;
  std::string real;
  JFS_RETURN_IF_ERROR(v.Realpath(ctx, path, &real));
  Status s = CompactTree(v, *core, ctx, real, &local, 0);
  if (stats) *stats = local;
  return s;
}

}  // namespace jfs::lib
