// Slice maintenance operations of BaseMeta (meta/meta.h): reading a chunk's raw records and
// replacing them by a compacted slice (format.md §6.2), fallocate and copy_file_range as pure
// metadata operations over refcounted slices (format.md §9). Kept apart from base.cc so the slice
// rules live in one place.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <string>

#include "meta/base.h"
#include "meta/codec.h"
#include "meta/slice.h"

namespace jfs::meta {

namespace {

// Chunk indexes are uint32 and JuiceFS documents 2^31 chunks: the largest file offset + 1.
constexpr uint64_t kMaxFileSize = uint64_t{1} << (kChunkBits + 31);

int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void TouchData(Attr* a) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  a->mtime = a->ctime = ns / 1000000000;
  a->mtimensec = a->ctimensec = static_cast<uint32_t>(ns % 1000000000);
}

// A run of destination bytes [at, at+len) that must read as slice `id` from slice-data offset
// `off` (id 0: zeros).
struct Piece {
  uint64_t at = 0;
  uint64_t id = 0;
  uint32_t size = 0;
  uint32_t off = 0;
  uint64_t len = 0;
};

void AddPiece(std::vector<Piece>* out, const Piece& p) {
  if (p.len == 0) return;
  if (p.id == 0 && !out->empty() && out->back().id == 0 &&
      out->back().at + out->back().len == p.at) {
    out->back().len += p.len;  // adjacent holes become one record
    return;
  }
  out->push_back(p);
}

// Encodes `pieces` (file offsets) as slice records grouped by chunk index, split at chunk
// boundaries.
std::map<uint32_t, std::string> ToRecords(const std::vector<Piece>& pieces) {
  std::map<uint32_t, std::string> by_chunk;
  for (const Piece& p : pieces) {
    uint64_t at = p.at, left = p.len, off = p.off;
    while (left > 0) {
      const auto indx = static_cast<uint32_t>(at >> kChunkBits);
      const uint64_t cpos = at & (kChunkSize - 1);
      const uint64_t n = std::min(left, kChunkSize - cpos);
      Slice s;
      s.pos = static_cast<uint32_t>(cpos);
      s.id = p.id;
      s.size = p.id == 0 ? 0 : p.size;
      s.off = p.id == 0 ? 0 : static_cast<uint32_t>(off);
      s.len = static_cast<uint32_t>(n);
      by_chunk[indx] += EncodeSlice(s);
      at += n, left -= n, off += n;
    }
  }
  return by_chunk;
}

}  // namespace

Status BaseMeta::ReadChunk(const Context&, Ino ino, uint32_t indx, std::vector<Slice>* records) {
  if (!records) return Status::Invalid("ReadChunk: null output");
  ino = ino == 0 ? kRootIno : ino;
  std::vector<Slice> out;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    out.clear();
    std::string data;
    Status st = tx.GetChunk(ino, indx, &data);
    if (st.IsNotFound()) {
      Attr a;
      return tx.GetAttr(ino, &a);
    }
    JFS_RETURN_IF_ERROR(st);
    return DecodeSlices(data, &out);
  }));
  *records = std::move(out);
  return Status::OK();
}

Status BaseMeta::CompactChunk(const Context&, Ino ino, uint32_t indx, const std::vector<Slice>& old,
                              size_t skipped, const Slice& merged, bool* replaced,
                              std::vector<std::pair<uint64_t, uint32_t>>* released) {
  if (!replaced || !released) return Status::Invalid("CompactChunk: null output");
  if (old.empty() || skipped > old.size()) return Status::Invalid("CompactChunk: bad record range");
  if (merged.id != 0 && (merged.off != 0 || merged.len != merged.size || merged.len == 0 ||
                         uint64_t{merged.pos} + merged.len > kChunkSize)) {
    return Status::Invalid("CompactChunk: the merged slice must be whole and inside the chunk");
  }
  ino = ino == 0 ? kRootIno : ino;
  std::string expected;
  for (const Slice& s : old) expected += EncodeSlice(s);
  std::string keep;
  for (size_t i = 0; i < skipped; ++i) keep += EncodeSlice(old[i]);
  if (merged.id != 0) keep += EncodeSlice(merged);

  bool done = false;
  std::vector<std::pair<uint64_t, uint32_t>> freed;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
    done = false;
    freed.clear();
    std::string cur;
    Status st = tx.GetChunk(ino, indx, &cur);
    if (st.IsNotFound()) return Status::OK();  // deleted or truncated away meanwhile
    JFS_RETURN_IF_ERROR(st);
    if (cur.size() < expected.size() || cur.compare(0, expected.size(), expected) != 0) {
      return Status::OK();  // changed by someone else: the caller drops its merged slice
    }
    std::string next = keep + cur.substr(expected.size());
    if (next.empty()) {
      JFS_RETURN_IF_ERROR(tx.DeleteChunk(ino, indx));
    } else {
      JFS_RETURN_IF_ERROR(tx.PutChunk(ino, indx, next));
    }
    if (merged.id != 0) JFS_RETURN_IF_ERROR(tx.NewSliceRef(merged.id, merged.size));
    if (trash_days_.load() > 0 && merged.id != 0) {
      // Trash on (§6.2): the replaced slices keep their references, recorded in delSlices under
      // the new id, and are released when the trash period is over (CleanupDelSlices).
      std::string records;
      for (size_t i = skipped; i < old.size(); ++i) {
        if (old[i].id != 0) AppendDelayedSlice(&records, old[i].id, old[i].size);
      }
      if (!records.empty()) {
        JFS_RETURN_IF_ERROR(tx.AddDelSlices(merged.id, UnixSeconds(), records));
      }
      done = true;
      return Status::OK();
    }
    for (size_t i = skipped; i < old.size(); ++i) {
      JFS_RETURN_IF_ERROR(DropSliceRef(tx, old[i].id, old[i].size, &freed));
    }
    done = true;
    return Status::OK();
  }));
  *replaced = done;
  *released = std::move(freed);
  return Status::OK();
}

Status BaseMeta::Fallocate(const Context&, Ino ino, int mode, uint64_t off, uint64_t size,
                           Attr* attr) {
  ino = ino == 0 ? kRootIno : ino;
  constexpr int kKnown = kFallocKeepSize | kFallocPunchHole | kFallocZeroRange;
  if (mode & (kFallocCollapseRange | kFallocInsertRange)) {
    return Status::NotSupported("fallocate: COLLAPSE_RANGE and INSERT_RANGE are not supported");
  }
  if (mode & ~kKnown) return Status::NotSupported("fallocate: unknown mode bits");
  const bool punch = mode & kFallocPunchHole, zero = mode & kFallocZeroRange;
  if (punch && !(mode & kFallocKeepSize)) {
    return Status::Invalid("fallocate: PUNCH_HOLE needs KEEP_SIZE");
  }
  if (punch && zero) return Status::Invalid("fallocate: PUNCH_HOLE with ZERO_RANGE");
  if (size == 0) return Status::Invalid("fallocate: zero length");
  if (off >= kMaxFileSize || size > kMaxFileSize - off) {
    return Status::Error(EFBIG, "fallocate beyond the maximum file size");
  }
  Attr result;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    if (a.typ == kTypeDirectory) return Status::Error(EISDIR, "is a directory");
    if (a.typ == kTypeFIFO) return Status::Error(EPIPE, "fallocate on a FIFO");
    if (a.typ != kTypeFile) return Status::Error(ENODEV, "not a regular file");
    if (a.flags & kFlagImmutable) return Status::Error(EPERM, "file is immutable");
    if ((a.flags & kFlagAppend) && (punch || zero)) {
      return Status::Error(EPERM, "file is append-only");
    }
    const uint64_t old = a.length;
    uint64_t length = old;
    if (!(mode & kFallocKeepSize)) length = std::max(old, off + size);
    const int64_t space = Align4K(length) - Align4K(old);
    if (space > 0) JFS_RETURN_IF_ERROR(CheckQuota(tx, space, 0));
    if (punch || zero) {
      const uint64_t end = std::min(off + size, old);
      if (off < end) {
        std::vector<Piece> holes;
        AddPiece(&holes, Piece{off, 0, 0, 0, end - off});
        for (const auto& [indx, recs] : ToRecords(holes)) {
          JFS_RETURN_IF_ERROR(tx.AppendChunk(ino, indx, recs));
        }
      }
    }
    a.length = length;
    TouchData(&a);
    JFS_RETURN_IF_ERROR(tx.PutAttr(ino, a));
    fx.space += space;
    result = a;
    return Status::OK();
  }));
  if (attr) *attr = result;
  return Status::OK();
}

Status BaseMeta::CopyFileRange(const Context&, Ino fin, uint64_t off_in, Ino fout, uint64_t off_out,
                               uint64_t size, uint32_t flags, uint64_t* copied, Attr* out_attr) {
  fin = fin == 0 ? kRootIno : fin;
  fout = fout == 0 ? kRootIno : fout;
  if (flags != 0) return Status::Invalid("copy_file_range: flags must be 0");
  if (off_in >= kMaxFileSize || off_out >= kMaxFileSize) {
    return Status::Error(EFBIG, "copy_file_range: offset beyond the maximum file size");
  }
  uint64_t n_copied = 0;
  Attr result;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
    n_copied = 0;
    Attr ai, ao;
    JFS_RETURN_IF_ERROR(tx.GetAttr(fin, &ai));
    JFS_RETURN_IF_ERROR(tx.GetAttr(fout, &ao));
    for (const Attr* a : {&ai, &ao}) {
      if (a->typ == kTypeDirectory) return Status::Error(EISDIR, "is a directory");
      if (a->typ != kTypeFile) return Status::Invalid("copy_file_range: not a regular file");
    }
    if (ao.flags & (kFlagImmutable | kFlagAppend)) {
      return Status::Error(EPERM, "destination is immutable or append-only");
    }
    result = ao;
    if (off_in >= ai.length || size == 0) return Status::OK();
    const uint64_t n = std::min(size, ai.length - off_in);
    if (fin == fout && off_in < off_out + n && off_out < off_in + n) {
      return Status::Invalid("copy_file_range: overlapping ranges in one file");
    }
    if (n > kMaxFileSize - off_out) {
      return Status::Error(EFBIG, "copy_file_range: beyond the maximum file size");
    }
    // What [off_in, off_in+n) of the source resolves to, at destination offsets.
    std::vector<Piece> pieces;
    const uint64_t in_end = off_in + n;
    const int64_t shift = static_cast<int64_t>(off_out) - static_cast<int64_t>(off_in);
    for (uint64_t c = off_in >> kChunkBits; c <= (in_end - 1) >> kChunkBits; ++c) {
      const uint64_t base = c << kChunkBits;
      std::string data;
      std::vector<Slice> recs;
      Status st = tx.GetChunk(fin, static_cast<uint32_t>(c), &data);
      if (!st.IsNotFound()) {
        JFS_RETURN_IF_ERROR(st);
        JFS_RETURN_IF_ERROR(DecodeSlices(data, &recs));
      }
      uint64_t p = base;  // file offset of the current view
      auto emit = [&](uint64_t from, uint64_t to, uint64_t id, uint32_t ssize, uint64_t soff) {
        const uint64_t a = std::max(from, off_in), b = std::min(to, in_end);
        if (a >= b) return;
        Piece pc;
        pc.at = static_cast<uint64_t>(static_cast<int64_t>(a) + shift);
        pc.id = id;
        pc.size = ssize;
        pc.off = id == 0 ? 0 : static_cast<uint32_t>(soff + (a - from));
        pc.len = b - a;
        AddPiece(&pieces, pc);
      };
      for (const SliceView& v : BuildSlices(recs)) {
        emit(p, p + v.len, v.id, v.size, v.off);
        p += v.len;
      }
      emit(p, base + kChunkSize, 0, 0, 0);  // after the last view: zeros
    }
    const uint64_t length = std::max(ao.length, off_out + n);
    const int64_t space = Align4K(length) - Align4K(ao.length);
    if (space > 0) JFS_RETURN_IF_ERROR(CheckQuota(tx, space, 0));
    for (const auto& [indx, recs] : ToRecords(pieces)) {
      JFS_RETURN_IF_ERROR(tx.AppendChunk(fout, indx, recs));
    }
    for (const Piece& pc : pieces) {
      if (pc.id == 0) continue;
      // One reference per stored record (a piece split at a chunk boundary is two records).
      const uint64_t first = pc.at >> kChunkBits, last = (pc.at + pc.len - 1) >> kChunkBits;
      JFS_RETURN_IF_ERROR(tx.IncrSliceRef(pc.id, pc.size, int64_t(last - first + 1), nullptr));
    }
    ao.length = length;
    TouchData(&ao);
    JFS_RETURN_IF_ERROR(tx.PutAttr(fout, ao));
    fx.space += space;
    result = ao;
    n_copied = n;
    return Status::OK();
  }));
  if (copied) *copied = n_copied;
  if (out_attr) *out_attr = result;
  return Status::OK();
}

}  // namespace jfs::meta
