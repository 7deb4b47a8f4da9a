#include "meta/base.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <string>

#include "meta/codec.h"
#include "meta/locks.h"
#include "meta/slice.h"

namespace jfs::meta {

namespace {

constexpr int kMaskR = 4, kMaskW = 2, kMaskX = 1;
constexpr uint16_t kModeSetuid = 04000, kModeSetgid = 02000, kModeSticky = 01000;
constexpr int64_t kDirSpace = 4096;  // usedSpace charge of every non-file inode
constexpr size_t kDefaultReaddirLimit = 1024;
constexpr int kMaxDirDepth = 1 << 16;  // bound on ancestor walks, against corrupted loops

struct Timespec {
  int64_t sec;
  uint32_t nsec;
};

Timespec Now() {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  return {ns / 1000000000, static_cast<uint32_t>(ns % 1000000000)};
}

void SetAtime(Attr* a, Timespec t) {
  a->atime = t.sec, a->atimensec = t.nsec;
}
void SetMtime(Attr* a, Timespec t) {
  a->mtime = t.sec, a->mtimensec = t.nsec;
}
void SetCtime(Attr* a, Timespec t) {
  a->ctime = t.sec, a->ctimensec = t.nsec;
}
// A directory whose entries changed.
void TouchDir(Attr* a, Timespec t) {
  SetMtime(a, t), SetCtime(a, t);
}

Ino Root(Ino ino) {
  return ino == 0 ? kRootIno : ino;
}
bool IsTrash(Ino ino) {
  return ino >= kTrashIno;
}
bool IsDir(const Attr& a) {
  return a.typ == kTypeDirectory;
}
bool IsProtected(const Attr& a) {
  return (a.flags & (kFlagImmutable | kFlagAppend)) != 0;
}
bool IsTrashName(Ino parent, std::string_view name) {
  return parent == kRootIno && name == kTrashName;
}

// Rules for a single path component that names something to create, remove or rename.
Status CheckName(std::string_view name) {
  if (name.empty()) return Status::Invalid("empty name");
  if (name.size() > kMaxName) {
    return Status::Error(ENAMETOOLONG, "name longer than 255 bytes");
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::Invalid("name contains '/' or NUL");
  }
  if (name == "." || name == "..") return Status::Invalid("'.' and '..' are not valid here");
  return Status::OK();
}

// Callers whose permission checks are skipped: root, and contexts that opt out.
bool Privileged(const Context& ctx) {
  return ctx.uid == 0 || !ctx.check_permission;
}

uint32_t PrimaryGid(const Context& ctx) {
  return ctx.gids.empty() ? 0 : ctx.gids[0];
}

// R/W/X bits `ctx` gets on an inode: owner class, else group class (any of ctx.gids), else other.
int PermBits(const Context& ctx, const Attr& a) {
  if (ctx.uid == a.uid) return (a.mode >> 6) & 7;
  if (ctx.InGroup(a.gid)) return (a.mode >> 3) & 7;
  return a.mode & 7;
}

Status CheckAccess(const Context& ctx, const Attr& a, int mask) {
  if (Privileged(ctx) || (PermBits(ctx, a) & mask) == mask) return Status::OK();
  return Status::Error(EACCES, "permission denied");
}

// Sticky directories let only the entry's owner, the directory's owner or root remove or rename it.
Status CheckSticky(const Context& ctx, const Attr& dir, const Attr& child) {
  if (Privileged(ctx) || (dir.mode & kModeSticky) == 0 || ctx.uid == dir.uid ||
      ctx.uid == child.uid) {
    return Status::OK();
  }
  return Status::Error(EPERM, "sticky directory: not the owner");
}

Status NotDir() {
  return Status::Error(ENOTDIR, "not a directory");
}

Status GetDir(Tx& tx, Ino ino, Attr* a) {
  JFS_RETURN_IF_ERROR(tx.GetAttr(ino, a));
  return IsDir(*a) ? Status::OK() : NotDir();
}

// The range [lo, hi) of file offsets that falls into chunk `indx`, as a hole record.
Slice HoleIn(uint32_t indx, uint64_t lo, uint64_t hi) {
  uint64_t base = static_cast<uint64_t>(indx) * kChunkSize;
  Slice s;
  s.pos = static_cast<uint32_t>(lo - base);
  s.len = static_cast<uint32_t>(hi - lo);
  return s;
}

}  // namespace

BaseMeta::BaseMeta(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}
BaseMeta::~BaseMeta() = default;

std::string BaseMeta::Name() const {
  return engine_->Name();
}

// ---- transactions and in-memory state ------------------------------------------------------

Status BaseMeta::Mutate(const TxnBody& body) {
  txns_.fetch_add(1, std::memory_order_relaxed);
  Effects fx;
  Status st = engine_->Txn([&](Tx& tx) {
    fx = Effects();
    return body(tx, fx);
  });
  if (st.ok()) Apply(fx);
  return st;
}

Status BaseMeta::ReadOnly(const std::function<Status(Tx&)>& body) {
  txns_.fetch_add(1, std::memory_order_relaxed);
  return engine_->Txn(body, /*read_only=*/true);
}

Status BaseMeta::ReadSingle(const std::function<Status(Tx&)>& body) {
  txns_.fetch_add(1, std::memory_order_relaxed);
  return engine_->ReadSingle(body);
}

void BaseMeta::Apply(const Effects& fx) {
  pending_space_ += fx.space;
  pending_inodes_ += fx.inodes;
  AddPending(fx);
  if (!fx.freed_slices.empty()) {
    std::function<void(uint64_t, uint32_t)> cb;
    {
      std::lock_guard<std::mutex> l(mu_);
      cb = on_delete_slice_;
    }
    if (cb) {
      for (const auto& [id, size] : fx.freed_slices) cb(id, size);
    }
  }
  if (!fx.deleted_files.empty()) ReleaseDeletedFiles(fx.deleted_files);
}

void BaseMeta::SetFormat(const Format& f) {
  capacity_ = f.capacity;
  inode_limit_ = f.inodes;
  dir_stats_ = f.dir_stats;
  trash_days_ = f.trash_days;
}

Status BaseMeta::NextInode(Ino* ino) {
  std::lock_guard<std::mutex> l(ino_mu_);
  while (next_ino_ >= ino_end_ || next_ino_ <= kRootIno) {
    if (next_ino_ >= ino_end_) {
      uint64_t first = 0;
      JFS_RETURN_IF_ERROR(
          engine_->Txn([&](Tx& tx) { return tx.Alloc("nextInode", kInodeBatch, &first); }));
      next_ino_ = first;
      ino_end_ = first + kInodeBatch;
    } else {
      ++next_ino_;  // 0 and 1 are never handed out (0 = none, 1 = root)
    }
  }
  if (next_ino_ > kMaxNormalIno) return Status::Error(ENOSPC, "inode numbers exhausted");
  *ino = next_ino_++;
  return Status::OK();
}

Status BaseMeta::NewSlice(const Context&, uint64_t* id) {
  if (!id) return Status::Invalid("NewSlice: null output");
  std::lock_guard<std::mutex> l(slice_mu_);
  while (next_slice_ >= slice_end_ || next_slice_ == 0) {
    if (next_slice_ >= slice_end_) {
      uint64_t first = 0;
      JFS_RETURN_IF_ERROR(
          engine_->Txn([&](Tx& tx) { return tx.Alloc("nextChunk", kSliceIdBatch, &first); }));
      next_slice_ = first;
      slice_end_ = first + kSliceIdBatch;
    } else {
      ++next_slice_;  // id 0 means "hole"
    }
  }
  *id = next_slice_++;
  return Status::OK();
}

Status BaseMeta::CheckQuota(Tx& tx, int64_t space, int64_t inodes) {
  uint64_t capacity = capacity_.load(), limit = inode_limit_.load();
  if (space > 0 && capacity > 0) {
    int64_t used = 0;
    JFS_RETURN_IF_ERROR(tx.GetCounter("usedSpace", &used));
    if (used + pending_space_.load() + space > static_cast<int64_t>(capacity)) {
      return Status::Error(ENOSPC, "volume capacity exceeded");
    }
  }
  if (inodes > 0 && limit > 0) {
    int64_t used = 0;
    JFS_RETURN_IF_ERROR(tx.GetCounter("totalInodes", &used));
    if (used + pending_inodes_.load() + inodes > static_cast<int64_t>(limit)) {
      return Status::Error(ENOSPC, "volume inode limit reached");
    }
  }
  return Status::OK();
}

bool BaseMeta::IsOpen(Ino ino) {
  std::lock_guard<std::mutex> l(open_mu_);
  return open_counts_.count(ino) != 0;
}

Status BaseMeta::ReleaseOpen(Ino ino) {
  {
    std::lock_guard<std::mutex> l(open_mu_);
    auto it = open_counts_.find(ino);
    if (it == open_counts_.end()) {
      return Status::Error(EBADF, "inode " + std::to_string(ino) + " is not open");
    }
    if (--it->second > 0) return Status::OK();
    open_counts_.erase(it);
    if (sustained_here_.erase(ino) == 0) return Status::OK();  // still linked, or not ours
  }
  // Most closes find the file still linked; only take a write transaction when it is not.
  Attr a;
  Status st = ReadOnly([&](Tx& tx) { return tx.GetAttr(ino, &a); });
  if (st.IsNotFound()) return Status::OK();
  JFS_RETURN_IF_ERROR(st);
  if (a.nlink > 0 || (a.typ != kTypeFile && a.typ != kTypeDirectory)) return Status::OK();
  uint64_t sid = sid_.load();
  return Mutate([&](Tx& tx, Effects& fx) {
    Attr cur;
    Status g = tx.GetAttr(ino, &cur);
    if (g.IsNotFound()) return Status::OK();
    JFS_RETURN_IF_ERROR(g);
    if (cur.nlink > 0) return Status::OK();
    JFS_RETURN_IF_ERROR(FreeInode(tx, fx, ino, cur));
    return sid != 0 ? tx.RemoveSustained(sid, ino) : Status::OK();
  });
}

// ---- deletion ----------------------------------------------------------------------------

Status BaseMeta::DeleteChunk(Tx& tx, Effects& fx, Ino ino, uint32_t indx) {
  std::string records;
  Status st = tx.GetChunk(ino, indx, &records);
  if (st.IsNotFound()) return Status::OK();
  JFS_RETURN_IF_ERROR(st);
  std::vector<Slice> slices;
  JFS_RETURN_IF_ERROR(DecodeSlices(records, &slices));
  for (const Slice& s : slices) {
    JFS_RETURN_IF_ERROR(DropSliceRef(tx, s.id, s.size, &fx.freed_slices));
  }
  return tx.DeleteChunk(ino, indx);
}

Status BaseMeta::DropSliceRef(Tx& tx, uint64_t id, uint32_t size,
                              std::vector<std::pair<uint64_t, uint32_t>>* freed) {
  if (id == 0) return Status::OK();
  int64_t refs = 0;
  Status st = tx.IncrSliceRef(id, size, -1, &refs);
  if (st.IsNotFound()) return Status::OK();  // already released (e.g. by an older client)
  JFS_RETURN_IF_ERROR(st);
  if (refs > 0) return Status::OK();
  JFS_RETURN_IF_ERROR(tx.DeleteSliceRef(id, size));
  freed->emplace_back(id, size);
  return Status::OK();
}

Status BaseMeta::FreeInode(Tx& tx, Effects& fx, Ino ino, const Attr& attr) {
  JFS_RETURN_IF_ERROR(tx.DeleteAttr(ino));
  JFS_RETURN_IF_ERROR(tx.DeleteAllXattr(ino));
  if (attr.typ == kTypeSymlink) JFS_RETURN_IF_ERROR(tx.DeleteSymlink(ino));
  if (attr.typ == kTypeFile) JFS_RETURN_IF_ERROR(QueueFileData(tx, fx, ino, attr.length));
  fx.space -= attr.typ == kTypeFile ? Align4K(attr.length) : kDirSpace;
  fx.inodes -= 1;
  return Status::OK();
}

Status BaseMeta::DropLink(Tx& tx, Effects& fx, Ino parent, Ino ino, Attr* attr) {
  if (IsDir(*attr)) {
    attr->nlink = 0;  // a removed directory has no links, not even its own "."
  } else {
    if (attr->parent == 0) JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, parent, -1));
    if (attr->nlink > 0) --attr->nlink;
  }
  SetCtime(attr, Now());
  if (attr->nlink > 0) return tx.PutAttr(ino, *attr);
  uint64_t sid = sid_.load();
  bool keep = false;
  // Files and directories open here stay (nlink 0) until their last Close, as on Linux, where
  // fstat of a removed directory's descriptor still answers.
  if ((attr->typ == kTypeFile || attr->typ == kTypeDirectory) && sid != 0) {
    std::lock_guard<std::mutex> l(open_mu_);
    keep = open_counts_.count(ino) != 0;
    if (keep) sustained_here_.insert(ino);  // its last Close deletes it
  }
  if (keep) {
    // Open here: keep the data until the last Close (or until a stale-session cleanup).
    JFS_RETURN_IF_ERROR(tx.PutAttr(ino, *attr));
    return tx.AddSustained(sid, ino);
  }
  return FreeInode(tx, fx, ino, *attr);
}

// ---- volume lifecycle --------------------------------------------------------------------

Status BaseMeta::Reset() {
  return engine_->Reset();
}

Status BaseMeta::Init(const Format& format, bool force) {
  JFS_RETURN_IF_ERROR(engine_->InitSchema());
  Format fmt;
  Status st = Mutate([&](Tx& tx, Effects&) {
    fmt = format;
    std::string json;
    Status g = tx.GetSetting(&json);
    if (g.ok()) {
      if (!force) return Status::Exists("volume is already formatted");
      Format old;
      JFS_RETURN_IF_ERROR(DecodeFormat(json, &old));
      if (fmt.uuid.empty()) fmt.uuid = old.uuid;
      auto compression = [](const std::string& c) { return c.empty() ? std::string("none") : c; };
      if (fmt.name != old.name) return Status::Invalid("cannot change the volume name");
      if (fmt.uuid != old.uuid) return Status::Invalid("cannot change the volume UUID");
      if (fmt.block_size_kib != old.block_size_kib) {
        return Status::Invalid("cannot change the block size");
      }
      if (compression(fmt.compression) != compression(old.compression)) {
        return Status::Invalid("cannot change the compression");
      }
    } else if (!g.IsNotFound()) {
      return g;
    }
    Timespec now = Now();
    auto make_dir = [&](uint16_t mode) {
      Attr a;
      a.typ = kTypeDirectory;
      a.mode = mode;
      a.nlink = 2;
      a.length = 4096;
      a.parent = kRootIno;
      SetAtime(&a, now), SetMtime(&a, now), SetCtime(&a, now);
      return a;
    };
    Attr existing;
    Status r = tx.GetAttr(kRootIno, &existing);
    if (r.IsNotFound()) {
      JFS_RETURN_IF_ERROR(tx.PutAttr(kRootIno, make_dir(0777)));
    } else {
      JFS_RETURN_IF_ERROR(r);
    }
    if (fmt.trash_days > 0) {
      r = tx.GetAttr(kTrashIno, &existing);
      if (r.IsNotFound()) {
        JFS_RETURN_IF_ERROR(tx.PutAttr(kTrashIno, make_dir(0555)));
      } else {
        JFS_RETURN_IF_ERROR(r);
      }
    }
    return tx.PutSetting(EncodeFormat(fmt));
  });
  if (st.ok()) SetFormat(fmt);
  return st;
}

Status BaseMeta::Load(Format* format) {
  std::string json;
  Status st = ReadOnly([&](Tx& tx) { return tx.GetSetting(&json); });
  if (st.IsNotFound()) return Status::NotFound("database is not formatted (run `jfs format`)");
  JFS_RETURN_IF_ERROR(st);
  Format f;
  JFS_RETURN_IF_ERROR(DecodeFormat(json, &f));
  if (f.meta_version > 1) {
    return Status::NotSupported("meta version " + std::to_string(f.meta_version) +
                                " is newer than this client supports (1)");
  }
  SetFormat(f);
  JFS_RETURN_IF_ERROR(ReloadQuotas());
  if (format) *format = f;
  return Status::OK();
}

Status BaseMeta::NewSession(const SessionInfo& info) {
  if (sid_.load() != 0) return Status::Invalid("session already registered");
  int64_t sid = 0;
  std::string json = EncodeSessionInfo(info);
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
    JFS_RETURN_IF_ERROR(tx.IncrCounter("nextSession", 1, &sid));
    return tx.PutSession(static_cast<uint64_t>(sid), Now().sec + session_ttl_.load(), json);
  }));
  sid_ = static_cast<uint64_t>(sid);
  session_json_ = std::move(json);
  return Status::OK();
}

Status BaseMeta::Heartbeat() {
  const uint64_t sid = sid_.load();
  if (sid == 0) return Status::OK();
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
    return tx.PutSession(sid, Now().sec + session_ttl_.load(), session_json_);
  }));
  return ReloadQuotas();  // quotas other clients set or removed
}

Status BaseMeta::ListSessions(std::vector<SessionRecord>* out) {
  return engine_->Txn([&](Tx& tx) { return tx.ListSessions(out); }, /*read_only=*/true);
}

Status BaseMeta::CloseSession() {
  uint64_t sid = sid_.load();
  if (sid == 0) return FlushStats();
  JFS_RETURN_IF_ERROR(FlushDirStats());
  // One transaction releases the sustained inodes, unregisters the session and flushes the
  // counters (including what the releases freed), so a failure leaves the session intact.
  std::lock_guard<std::mutex> l(flush_mu_);
  const int64_t space = pending_space_.load(), inodes = pending_inodes_.load();
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
    JFS_RETURN_IF_ERROR(DropSession(tx, fx, sid));
    JFS_RETURN_IF_ERROR(WriteStats(tx, space + fx.space, inodes + fx.inodes));
    // Written already: after the commit only the flushed part leaves the pending deltas.
    fx.space = -space;
    fx.inodes = -inodes;
    return Status::OK();
  }));
  sid_ = 0;
  LockReleased();
  return Status::OK();
}

Status BaseMeta::DropSession(Tx& tx, Effects& fx, uint64_t sid) {
  std::vector<Ino> sustained;
  JFS_RETURN_IF_ERROR(tx.ListSustained(sid, &sustained));
  for (Ino ino : sustained) {
    Attr a;
    Status g = tx.GetAttr(ino, &a);
    if (g.ok() && a.nlink == 0) {
      JFS_RETURN_IF_ERROR(FreeInode(tx, fx, ino, a));
    } else if (!g.ok() && !g.IsNotFound()) {
      return g;
    }
    JFS_RETURN_IF_ERROR(tx.RemoveSustained(sid, ino));
  }
  JFS_RETURN_IF_ERROR(tx.DeleteSessionLocks(sid));
  return tx.DeleteSession(sid);
}

void BaseMeta::SetSessionTTL(int64_t seconds) {
  session_ttl_ = seconds;
}

Status BaseMeta::CleanStaleSessions(int* cleaned) {
  if (cleaned) *cleaned = 0;
  std::vector<SessionRecord> sessions;
  JFS_RETURN_IF_ERROR(ListSessions(&sessions));
  const int64_t now = Now().sec;
  const uint64_t own = sid_.load();
  int n = 0;
  for (const SessionRecord& rec : sessions) {
    if (rec.expire >= now || rec.sid == own) continue;
    bool dropped = false;
    JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
                          // Re-checked inside the transaction: the session may have been refreshed
                          // (a client that was only slow) or cleaned by another client since the
                          // listing.
                          std::vector<SessionRecord> now_sessions;
                          JFS_RETURN_IF_ERROR(tx.ListSessions(&now_sessions));
                          dropped = false;
                          for (const SessionRecord& cur : now_sessions) {
                            if (cur.sid != rec.sid) continue;
                            if (cur.expire >= now) return Status::OK();
                            dropped = true;
                            return DropSession(tx, fx, rec.sid);
                          }
                          return Status::OK();
                        }).WithContext("cleaning stale session " + std::to_string(rec.sid)));
    if (dropped) ++n;
  }
  if (n > 0) LockReleased();  // their locks are gone: local waiters may proceed
  if (cleaned) *cleaned = n;
  return Status::OK();
}

uint64_t BaseMeta::SessionId() const {
  return sid_.load();
}

Status BaseMeta::WriteStats(Tx& tx, int64_t space, int64_t inodes) {
  if (space != 0) JFS_RETURN_IF_ERROR(tx.IncrCounter("usedSpace", space, nullptr));
  if (inodes != 0) JFS_RETURN_IF_ERROR(tx.IncrCounter("totalInodes", inodes, nullptr));
  return Status::OK();
}

Status BaseMeta::FlushStats() {
  std::lock_guard<std::mutex> l(flush_mu_);
  // The deltas stay pending until the commit, so quota checks never see them missing.
  int64_t space = pending_space_.load(), inodes = pending_inodes_.load();
  if (space != 0 || inodes != 0) {
    JFS_RETURN_IF_ERROR(engine_->Txn([&](Tx& tx) { return WriteStats(tx, space, inodes); }));
    pending_space_ -= space;
    pending_inodes_ -= inodes;
  }
  return FlushDirStats();
}

void BaseMeta::OnDeleteSlice(std::function<void(uint64_t id, uint32_t size)> fn) {
  std::lock_guard<std::mutex> l(mu_);
  on_delete_slice_ = std::move(fn);
}

// ---- attributes and lookup ---------------------------------------------------------------

Status BaseMeta::StatFS(const Context&, struct StatFS* out) {
  if (!out) return Status::Invalid("StatFS: null output");
  int64_t used = 0, inodes = 0;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    JFS_RETURN_IF_ERROR(tx.GetCounter("usedSpace", &used));
    return tx.GetCounter("totalInodes", &inodes);
  }));
  used = std::max<int64_t>(0, used + pending_space_.load());
  inodes = std::max<int64_t>(0, inodes + pending_inodes_.load());
  uint64_t u = static_cast<uint64_t>(used), i = static_cast<uint64_t>(inodes);
  uint64_t capacity = capacity_.load(), limit = inode_limit_.load();
  // JuiceFS's rule (base.go StatFS), without its 64 KiB rounding of `used`: a volume without a
  // capacity reports 1 PiB, doubled until it is at most 80 % full.
  uint64_t total = capacity;
  if (capacity > 0) {
    total = std::max(capacity, u);
  } else {
    total = 1ULL << 50;
    while (u * 10 > total * 8) total *= 2;
  }
  out->total_space = total;
  out->avail_space = total - u;
  out->used_inodes = i;
  if (limit > 0) {
    out->avail_inodes = i >= limit ? 0 : limit - i;
  } else {
    uint64_t avail = 10ULL << 20;
    while (i * 10 > (i + avail) * 8) avail *= 2;
    out->avail_inodes = avail;
  }
  return Status::OK();
}

Status BaseMeta::Access(const Context& ctx, Ino ino, int mask, const Attr* attr) {
  if (mask & ~7) return Status::Invalid("bad access mask");
  Attr a;
  if (!attr) {
    JFS_RETURN_IF_ERROR(ReadSingle([&](Tx& tx) { return tx.GetAttr(Root(ino), &a); }));
    attr = &a;
  }
  return CheckAccess(ctx, *attr, mask);
}

Status BaseMeta::Lookup(const Context& ctx, Ino parent, std::string_view name, Ino* ino,
                        Attr* attr) {
  parent = Root(parent);
  bool dot = name == ".", dotdot = name == "..";
  if (!dot && !dotdot) JFS_RETURN_IF_ERROR(CheckName(name));
  Ino child = 0;
  Attr ca;
  const bool special = dot || dotdot || IsTrashName(parent, name);
  JFS_RETURN_IF_ERROR(ReadSingle([&](Tx& tx) {
    if (!dot && !dotdot) JFS_RETURN_IF_ERROR(tx.Prefetch(parent, name));
    Attr pa;
    bool entry = false, node = false;
    uint8_t type = 0;
    if (special) {
      JFS_RETURN_IF_ERROR(GetDir(tx, parent, &pa));
    } else {
      // Parent, entry and child in one step (one query on SQL engines).
      JFS_RETURN_IF_ERROR(tx.LookupPlus(parent, name, &pa, &entry, &child, &type, &node, &ca));
      if (!IsDir(pa)) return NotDir();
    }
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, pa, kMaskX));
    if (!special) {
      if (!entry) return Status::NotFound("entry " + std::string(name));
      if (!node) {
        // A dangling entry is still reported, so that it can be seen and removed.
        ca = Attr();
        ca.typ = type;
        ca.parent = parent;
      }
      return Status::OK();
    }
    if (dot) {
      child = parent, ca = pa;
      return Status::OK();
    }
    if (dotdot) {
      child = parent == kRootIno || pa.parent == 0 ? kRootIno : pa.parent;
      return tx.GetAttr(child, &ca);
    }
    child = kTrashIno;  // IsTrashName(parent, name)
    return tx.GetAttr(kTrashIno, &ca);
  }));
  if (ino) *ino = child;
  if (attr) *attr = ca;
  return Status::OK();
}

Status BaseMeta::GetAttr(const Context&, Ino ino, Attr* attr) {
  Attr a;
  JFS_RETURN_IF_ERROR(ReadSingle([&](Tx& tx) { return tx.GetAttr(Root(ino), &a); }));
  if (attr) *attr = a;
  return Status::OK();
}

Status BaseMeta::SetAttr(const Context& ctx, Ino ino, uint32_t mask, const Attr& in, Attr* out) {
  constexpr uint32_t kKnown = kSetMode | kSetUid | kSetGid | kSetAtime | kSetMtime | kSetAtimeNow |
                              kSetMtimeNow | kSetCtime | kSetFlags;
  if (mask & kSetSize) return Status::Invalid("size changes go through Truncate");
  if (mask & ~kKnown) return Status::Invalid("unknown SetAttr mask bits");
  ino = Root(ino);
  Attr result;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
    Attr cur;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &cur));
    if (cur.parent > kTrashIno) return Status::Error(EPERM, "inode is in the trash");
    const bool priv = Privileged(ctx);
    const bool owner = priv || ctx.uid == cur.uid;
    constexpr uint32_t kNeedsUnprotected = kSetMode | kSetUid | kSetGid | kSetAtime | kSetMtime |
                                           kSetAtimeNow | kSetMtimeNow | kSetCtime;
    if ((mask & kNeedsUnprotected) && IsProtected(cur)) {
      return Status::Error(EPERM, "inode is immutable or append-only");
    }
    Timespec now = Now();
    Attr next = cur;
    if (mask & kSetFlags) {
      if (!owner) return Status::Error(EPERM, "only the owner may change flags");
      constexpr uint8_t kRootOnly = kFlagImmutable | kFlagAppend;
      if (((in.flags ^ cur.flags) & kRootOnly) && !priv) {
        return Status::Error(EPERM, "only root may change the immutable/append-only flags");
      }
      next.flags = in.flags;
    }
    const bool chown = (mask & (kSetUid | kSetGid)) != 0;
    if (mask & kSetUid) {
      // chown(2): only root changes the owner; the owner may "change" it to itself.
      if (!priv && (in.uid != cur.uid || ctx.uid != cur.uid)) {
        return Status::Error(EPERM, "only root may change the owner");
      }
      next.uid = in.uid;
    }
    if (mask & kSetGid) {
      if (!priv && (ctx.uid != cur.uid || (in.gid != cur.gid && !ctx.InGroup(in.gid)))) {
        return Status::Error(EPERM, "only the owner may change the group, to one of theirs");
      }
      next.gid = in.gid;
    }
    if (mask & kSetMode) {
      if (!owner) return Status::Error(EPERM, "only the owner may change the mode");
      uint16_t mode = in.mode & 07777;
      // Like Linux: a non-member may not keep setgid on a file of that group.
      if (!priv && (mode & kModeSetgid) && !ctx.InGroup(next.gid)) mode &= ~kModeSetgid;
      next.mode = mode;
    }
    if (chown && !IsDir(cur) && (next.mode & (kModeSetuid | kModeSetgid))) {
      // Linux (and JuiceFS clearSUGID): chown drops setuid, and setgid too unless root chowns a
      // file that is not group-executable (then setgid marks mandatory locking).
      if (ctx.uid != 0 || (next.mode & 010)) {
        next.mode &= ~(kModeSetuid | kModeSetgid);
      } else {
        next.mode &= ~kModeSetuid;
      }
    }
    if (mask & (kSetAtimeNow | kSetMtimeNow)) {
      if (!owner && !CheckAccess(ctx, cur, kMaskW).ok()) {
        return Status::Error(EACCES, "setting times to now needs ownership or write access");
      }
    }
    const bool explicit_a = (mask & kSetAtime) && !(mask & kSetAtimeNow);
    const bool explicit_m = (mask & kSetMtime) && !(mask & kSetMtimeNow);
    if ((explicit_a || explicit_m || (mask & kSetCtime)) && !owner) {
      return Status::Error(EPERM, "setting explicit times needs ownership");
    }
    if (mask & kSetAtimeNow) {
      SetAtime(&next, now);
    } else if (mask & kSetAtime) {
      next.atime = in.atime, next.atimensec = in.atimensec;
    }
    if (mask & kSetMtimeNow) {
      SetMtime(&next, now);
    } else if (mask & kSetMtime) {
      next.mtime = in.mtime, next.mtimensec = in.mtimensec;
    }
    if (mask & kSetCtime) {
      next.ctime = in.ctime, next.ctimensec = in.ctimensec;
    } else if (mask != 0) {
      SetCtime(&next, now);
    }
    result = next;
    return mask != 0 ? tx.PutAttr(ino, next) : Status::OK();
  }));
  if (out) *out = result;
  return Status::OK();
}

// ---- namespace ---------------------------------------------------------------------------

Status BaseMeta::DoMknod(const Context& ctx, Ino parent, std::string_view name, uint8_t type,
                         uint16_t mode, uint16_t cumask, uint32_t rdev, std::string_view target,
                         Ino* ino_out, Attr* attr_out, bool open) {
  parent = Root(parent);
  JFS_RETURN_IF_ERROR(CheckName(name));
  if (IsTrashName(parent, name)) return Status::Error(EPERM, "'.trash' is reserved");
  Ino ino = 0;
  JFS_RETURN_IF_ERROR(NextInode(&ino));
  if (open) {
    // Counted before the commit so that the new file is already "open" when it becomes visible.
    std::lock_guard<std::mutex> l(open_mu_);
    ++open_counts_[ino];
  }
  Ino found = 0;
  Attr result;
  Status st = Mutate([&](Tx& tx, Effects& fx) {
    found = 0;
    JFS_RETURN_IF_ERROR(tx.Prefetch(parent, name));
    Attr pa;
    JFS_RETURN_IF_ERROR(GetDir(tx, parent, &pa));
    if (IsTrash(parent)) return Status::Error(EPERM, "cannot create in the trash");
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, pa, kMaskW | kMaskX));
    if (pa.flags & kFlagImmutable) return Status::Error(EPERM, "directory is immutable");
    uint8_t etype = 0;
    Status e = tx.GetEntry(parent, name, &found, &etype);
    if (e.ok()) {
      if (!tx.GetAttr(found, &result).ok()) {
        result = Attr();
        result.typ = etype;
      }
      return Status::Exists("'" + std::string(name) + "' exists");
    }
    if (!e.IsNotFound()) return e;
    found = 0;
    JFS_RETURN_IF_ERROR(CheckQuota(tx, kDirSpace, 1));
    JFS_RETURN_IF_ERROR(ChargeEntry(tx, fx, parent, {0, kDirSpace, 1}, true));
    if (type == kTypeDirectory) JFS_RETURN_IF_ERROR(InitDirStat(tx, ino));

    Timespec now = Now();
    Attr a;
    a.typ = type;
    a.mode = mode & 07777 & ~cumask;
    a.uid = ctx.uid;
    a.gid = PrimaryGid(ctx);
    SetAtime(&a, now), SetMtime(&a, now), SetCtime(&a, now);
    a.parent = parent;
    if (type == kTypeDirectory) {
      a.nlink = 2;
      a.length = 4096;
    } else {
      a.nlink = 1;
      a.length = type == kTypeSymlink ? target.size() : 0;
      if (type == kTypeBlockDev || type == kTypeCharDev) a.rdev = rdev;
    }
    if (pa.mode & kModeSetgid) {
      // BSD group semantics under a setgid directory (Linux): inherit its group, and directories
      // stay setgid; a non-member cannot create a setgid, group-executable file there.
      a.gid = pa.gid;
      if (type == kTypeDirectory) {
        a.mode |= kModeSetgid;
      } else if ((a.mode & 02010) == 02010 && !Privileged(ctx) && !ctx.InGroup(pa.gid)) {
        a.mode &= ~kModeSetgid;
      }
    }
    JFS_RETURN_IF_ERROR(tx.PutAttr(ino, a));
    JFS_RETURN_IF_ERROR(tx.PutEntry(parent, name, ino, type));
    if (type == kTypeSymlink) JFS_RETURN_IF_ERROR(tx.PutSymlink(ino, target));
    if (type == kTypeDirectory) ++pa.nlink;
    TouchDir(&pa, now);
    JFS_RETURN_IF_ERROR(tx.PutAttr(parent, pa));
    fx.space += kDirSpace;
    fx.inodes += 1;
    result = a;
    return Status::OK();
  });
  if (!st.ok()) {
    if (open) {
      // The new inode never became visible, so dropping the count cannot orphan anything.
      std::lock_guard<std::mutex> l(open_mu_);
      if (--open_counts_[ino] == 0) open_counts_.erase(ino);
    }
    if (st.code() == EEXIST && found != 0) {
      if (ino_out) *ino_out = found;
      if (attr_out) *attr_out = result;
    }
    return st;
  }
  if (ino_out) *ino_out = ino;
  if (attr_out) *attr_out = result;
  return Status::OK();
}

Status BaseMeta::Mknod(const Context& ctx, Ino parent, std::string_view name, uint8_t type,
                       uint16_t mode, uint16_t cumask, uint32_t rdev, Ino* ino, Attr* attr) {
  switch (type) {
    case kTypeFile:
    case kTypeDirectory:
    case kTypeFIFO:
    case kTypeBlockDev:
    case kTypeCharDev:
    case kTypeSocket:
      break;
    default:
      return Status::Invalid("Mknod: bad file type " + std::to_string(type));
  }
  return DoMknod(ctx, parent, name, type, mode, cumask, rdev, {}, ino, attr, false);
}

Status BaseMeta::Mkdir(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                       uint16_t cumask, Ino* ino, Attr* attr) {
  return DoMknod(ctx, parent, name, kTypeDirectory, mode, cumask, 0, {}, ino, attr, false);
}

Status BaseMeta::Create(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                        uint16_t cumask, int open_flags, Ino* ino, Attr* attr) {
  if ((open_flags & O_ACCMODE) == O_ACCMODE) return Status::Invalid("bad open flags");
  return DoMknod(ctx, parent, name, kTypeFile, mode, cumask, 0, {}, ino, attr, true);
}

Status BaseMeta::Symlink(const Context& ctx, Ino parent, std::string_view name,
                         std::string_view target, Ino* ino, Attr* attr) {
  if (target.empty()) return Status::NotFound("empty symlink target");
  if (target.size() > kMaxSymlink) {
    return Status::Error(ENAMETOOLONG, "symlink target longer than 4096 bytes");
  }
  if (target.find('\0') != std::string_view::npos) {
    return Status::Invalid("symlink target contains NUL");
  }
  return DoMknod(ctx, parent, name, kTypeSymlink, 0777, 0, 0, target, ino, attr, false);
}

Status BaseMeta::ReadLink(const Context&, Ino ino, std::string* target) {
  if (!target) return Status::Invalid("ReadLink: null output");
  std::string t;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(Root(ino), &a));
    if (a.typ != kTypeSymlink) return Status::Invalid("not a symlink");
    return tx.GetSymlink(Root(ino), &t);
  }));
  *target = std::move(t);
  return Status::OK();
}

Status BaseMeta::Unlink(const Context& ctx, Ino parent, std::string_view name) {
  return UnlinkImpl(ctx, parent, name, /*skip_trash=*/false);
}

Status BaseMeta::UnlinkImpl(const Context& ctx, Ino parent, std::string_view name,
                            bool skip_trash) {
  parent = Root(parent);
  JFS_RETURN_IF_ERROR(CheckName(name));
  if (IsTrashName(parent, name)) return Status::Error(EPERM, "'.trash' is reserved");
  Ino trash = 0;
  if (!skip_trash) JFS_RETURN_IF_ERROR(TrashDir(parent, &trash));
  return Mutate([&](Tx& tx, Effects& fx) {
    JFS_RETURN_IF_ERROR(tx.Prefetch(parent, name));
    Attr pa;
    JFS_RETURN_IF_ERROR(GetDir(tx, parent, &pa));
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, pa, kMaskW | kMaskX));
    if (IsProtected(pa)) return Status::Error(EPERM, "directory is immutable or append-only");
    Ino ino = 0;
    uint8_t type = 0;
    JFS_RETURN_IF_ERROR(tx.GetEntry(parent, name, &ino, &type));
    if (type == kTypeDirectory) return Status::Error(EISDIR, "is a directory");
    Attr a;
    Status g = tx.GetAttr(ino, &a);
    if (g.ok()) {
      if (IsDir(a)) return Status::Error(EISDIR, "is a directory");
      JFS_RETURN_IF_ERROR(CheckSticky(ctx, pa, a));
      if (IsProtected(a)) return Status::Error(EPERM, "file is immutable or append-only");
    } else if (!g.IsNotFound()) {
      return g;
    }
    JFS_RETURN_IF_ERROR(tx.DeleteEntry(parent, name));
    JFS_RETURN_IF_ERROR(ChargeEntry(tx, fx, parent, EntryUsage(g.ok() ? &a : nullptr, -1), false));
    if (g.ok()) {  // else: dangling entry
      bool moved = false;
      if (trash != 0) JFS_RETURN_IF_ERROR(MoveToTrash(tx, parent, name, ino, &a, trash, &moved));
      if (!moved) JFS_RETURN_IF_ERROR(DropLink(tx, fx, parent, ino, &a));
    }
    TouchDir(&pa, Now());
    return tx.PutAttr(parent, pa);
  });
}

Status BaseMeta::Rmdir(const Context& ctx, Ino parent, std::string_view name) {
  return RmdirImpl(ctx, parent, name, /*skip_trash=*/false);
}

Status BaseMeta::RmdirImpl(const Context& ctx, Ino parent, std::string_view name, bool skip_trash) {
  parent = Root(parent);
  if (name == "..") return Status::Error(ENOTEMPTY, "'..' is not empty");
  JFS_RETURN_IF_ERROR(CheckName(name));
  if (IsTrashName(parent, name)) return Status::Error(EPERM, "'.trash' is reserved");
  Ino trash = 0;
  if (!skip_trash) JFS_RETURN_IF_ERROR(TrashDir(parent, &trash));
  return Mutate([&](Tx& tx, Effects& fx) {
    JFS_RETURN_IF_ERROR(tx.Prefetch(parent, name));
    Attr pa;
    JFS_RETURN_IF_ERROR(GetDir(tx, parent, &pa));
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, pa, kMaskW | kMaskX));
    if (IsProtected(pa)) return Status::Error(EPERM, "directory is immutable or append-only");
    Ino ino = 0;
    uint8_t type = 0;
    JFS_RETURN_IF_ERROR(tx.GetEntry(parent, name, &ino, &type));
    if (ino == kRootIno) return Status::Error(EBUSY, "cannot remove the root");
    Attr a;
    Status g = tx.GetAttr(ino, &a);
    if (g.ok()) {
      if (!IsDir(a)) return NotDir();
      JFS_RETURN_IF_ERROR(CheckSticky(ctx, pa, a));
      if (IsProtected(a)) return Status::Error(EPERM, "directory is immutable or append-only");
      bool any = false;
      JFS_RETURN_IF_ERROR(tx.HasEntries(ino, &any));
      if (any) return Status::Error(ENOTEMPTY, "directory not empty");
    } else if (!g.IsNotFound()) {
      return g;
    } else if (type != kTypeDirectory) {
      return NotDir();
    }
    JFS_RETURN_IF_ERROR(tx.DeleteEntry(parent, name));
    JFS_RETURN_IF_ERROR(ChargeEntry(tx, fx, parent, {0, -kDirSpace, -1}, false));
    JFS_RETURN_IF_ERROR(DropDirStat(tx, ino));
    if (g.ok()) {
      bool moved = false;
      if (trash != 0) JFS_RETURN_IF_ERROR(MoveToTrash(tx, parent, name, ino, &a, trash, &moved));
      if (!moved) JFS_RETURN_IF_ERROR(DropLink(tx, fx, parent, ino, &a));
    }
    if (pa.nlink > 2) --pa.nlink;
    TouchDir(&pa, Now());
    return tx.PutAttr(parent, pa);
  });
}

namespace {

// EINVAL when `dir` is `ancestor` or lies below it: moving `ancestor` into `dir` would detach a
// loop from the tree.
Status CheckNotInside(Tx& tx, Ino ancestor, Ino dir) {
  for (int depth = 0; depth < kMaxDirDepth; ++depth) {
    if (dir == ancestor) return Status::Invalid("cannot move a directory into itself");
    if (dir == kRootIno || dir == 0) return Status::OK();
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(dir, &a));
    dir = a.parent;
  }
  return Status::Corruption("directory nesting too deep (loop in the tree?)");
}

// Re-parents `ino` from directory `from` to `to`: directories carry their parent in the attr and
// count in the parents' nlink; hard-linked files are tracked through AdjustParent.
Status MoveParent(Tx& tx, Ino ino, Attr* a, Ino from, Attr* from_attr, Ino to, Attr* to_attr) {
  if (IsDir(*a)) {
    --from_attr->nlink;
    ++to_attr->nlink;
    a->parent = to;
  } else if (a->parent == 0) {
    JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, from, -1));
    JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, to, 1));
  } else {
    a->parent = to;
  }
  return Status::OK();
}

}  // namespace

Status BaseMeta::Rename(const Context& ctx, Ino parent_src, std::string_view name_src,
                        Ino parent_dst, std::string_view name_dst, uint32_t flags, Ino* ino,
                        Attr* attr) {
  const Ino ps = Root(parent_src), pd = Root(parent_dst);
  if (flags & ~uint32_t(kRenameNoReplace | kRenameExchange | kRenameWhiteout)) {
    return Status::Invalid("unknown rename flags");
  }
  if (flags & kRenameWhiteout) return Status::NotSupported("RENAME_WHITEOUT is not supported");
  const bool exchange = flags & kRenameExchange, noreplace = flags & kRenameNoReplace;
  if (exchange && noreplace) return Status::Invalid("RENAME_EXCHANGE with RENAME_NOREPLACE");
  JFS_RETURN_IF_ERROR(CheckName(name_src));
  JFS_RETURN_IF_ERROR(CheckName(name_dst));
  if (IsTrashName(ps, name_src) || IsTrashName(pd, name_dst)) {
    return Status::Error(EPERM, "'.trash' is reserved");
  }
  Ino moved = 0;
  Attr moved_attr;
  Ino trash = 0;  // where an overwritten target goes
  if (!exchange && !noreplace) JFS_RETURN_IF_ERROR(TrashDir(pd, &trash));
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
    JFS_RETURN_IF_ERROR(tx.Prefetch(ps, name_src));
    JFS_RETURN_IF_ERROR(tx.Prefetch(pd, name_dst));
    Attr psa, pda_own;
    JFS_RETURN_IF_ERROR(GetDir(tx, ps, &psa));
    Attr* pda = &psa;  // one object when both names are in the same directory
    if (pd != ps) {
      JFS_RETURN_IF_ERROR(GetDir(tx, pd, &pda_own));
      pda = &pda_own;
    }
    if (IsTrash(pd)) return Status::Error(EPERM, "cannot move into the trash");
    if (IsTrash(ps) && ctx.uid != 0) return Status::Error(EPERM, "only root may restore");
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, psa, kMaskW | kMaskX));
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, *pda, kMaskW | kMaskX));
    if (IsProtected(psa) || IsProtected(*pda)) {
      return Status::Error(EPERM, "directory is immutable or append-only");
    }

    Ino si = 0;
    uint8_t stype = 0;
    JFS_RETURN_IF_ERROR(tx.GetEntry(ps, name_src, &si, &stype));
    Attr sa;
    JFS_RETURN_IF_ERROR(tx.GetAttr(si, &sa));
    JFS_RETURN_IF_ERROR(CheckSticky(ctx, psa, sa));
    if (IsProtected(sa)) return Status::Error(EPERM, "inode is immutable or append-only");

    Ino di = 0;
    uint8_t dtype = 0;
    Attr da;
    Status e = tx.GetEntry(pd, name_dst, &di, &dtype);
    if (!e.ok() && !e.IsNotFound()) return e;
    const bool dst_exists = e.ok();
    if (dst_exists) {
      if (noreplace) return Status::Exists("'" + std::string(name_dst) + "' exists");
      if (di == si) {  // two names of one inode: rename(2) does nothing
        moved = si, moved_attr = sa;
        return Status::OK();
      }
      JFS_RETURN_IF_ERROR(tx.GetAttr(di, &da));
      JFS_RETURN_IF_ERROR(CheckSticky(ctx, *pda, da));
      if (IsProtected(da)) return Status::Error(EPERM, "target is immutable or append-only");
      if (!exchange) {
        if (IsDir(da)) {
          if (!IsDir(sa)) return Status::Error(EISDIR, "cannot replace a directory by a file");
          bool any = false;
          JFS_RETURN_IF_ERROR(tx.HasEntries(di, &any));
          if (any) return Status::Error(ENOTEMPTY, "target directory not empty");
        } else if (IsDir(sa)) {
          return NotDir();
        }
      }
    } else if (exchange) {
      return Status::NotFound("RENAME_EXCHANGE target does not exist");
    }
    if (ps != pd) {
      // A directory changing parent rewrites its "..": it needs write access and must not end up
      // inside itself.
      if (IsDir(sa)) {
        JFS_RETURN_IF_ERROR(CheckAccess(ctx, sa, kMaskW));
        JFS_RETURN_IF_ERROR(CheckNotInside(tx, si, pd));
      }
      if (exchange && IsDir(da)) {
        JFS_RETURN_IF_ERROR(CheckAccess(ctx, da, kMaskW));
        JFS_RETURN_IF_ERROR(CheckNotInside(tx, di, ps));
      }
    }

    JFS_RETURN_IF_ERROR(ChargeRename(tx, fx, ps, pd, si, sa, dst_exists ? di : 0, da, exchange));
    Timespec now = Now();
    if (exchange) {
      JFS_RETURN_IF_ERROR(tx.PutEntry(ps, name_src, di, da.typ));
      JFS_RETURN_IF_ERROR(tx.PutEntry(pd, name_dst, si, sa.typ));
      if (ps != pd) {
        JFS_RETURN_IF_ERROR(MoveParent(tx, si, &sa, ps, &psa, pd, pda));
        JFS_RETURN_IF_ERROR(MoveParent(tx, di, &da, pd, pda, ps, &psa));
      }
      SetCtime(&da, now);
      JFS_RETURN_IF_ERROR(tx.PutAttr(di, da));
    } else {
      JFS_RETURN_IF_ERROR(tx.DeleteEntry(ps, name_src));
      if (dst_exists) {
        if (IsDir(da)) --pda->nlink;
        bool trashed = false;
        if (trash != 0) {
          JFS_RETURN_IF_ERROR(MoveToTrash(tx, pd, name_dst, di, &da, trash, &trashed));
        }
        if (!trashed) JFS_RETURN_IF_ERROR(DropLink(tx, fx, pd, di, &da));
      }
      JFS_RETURN_IF_ERROR(tx.PutEntry(pd, name_dst, si, sa.typ));
      if (ps != pd) JFS_RETURN_IF_ERROR(MoveParent(tx, si, &sa, ps, &psa, pd, pda));
    }
    SetCtime(&sa, now);
    JFS_RETURN_IF_ERROR(tx.PutAttr(si, sa));
    TouchDir(&psa, now);
    JFS_RETURN_IF_ERROR(tx.PutAttr(ps, psa));
    if (pd != ps) {
      TouchDir(pda, now);
      JFS_RETURN_IF_ERROR(tx.PutAttr(pd, *pda));
    }
    moved = si, moved_attr = sa;
    return Status::OK();
  }));
  if (ino) *ino = moved;
  if (attr) *attr = moved_attr;
  return Status::OK();
}

Status BaseMeta::Link(const Context& ctx, Ino ino, Ino parent, std::string_view name, Attr* attr) {
  ino = Root(ino);
  parent = Root(parent);
  JFS_RETURN_IF_ERROR(CheckName(name));
  if (IsTrashName(parent, name)) return Status::Error(EPERM, "'.trash' is reserved");
  Attr result;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
    JFS_RETURN_IF_ERROR(tx.Prefetch(parent, name));
    Attr pa;
    JFS_RETURN_IF_ERROR(GetDir(tx, parent, &pa));
    if (IsTrash(parent)) return Status::Error(EPERM, "cannot link into the trash");
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, pa, kMaskW | kMaskX));
    if (pa.flags & kFlagImmutable) return Status::Error(EPERM, "directory is immutable");
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    if (IsDir(a)) return Status::Error(EPERM, "cannot hard-link a directory");
    if (IsProtected(a)) return Status::Error(EPERM, "inode is immutable or append-only");
    if (a.nlink == 0) return Status::NotFound("inode has been unlinked");
    Status e = tx.GetEntry(parent, name, nullptr, nullptr);
    if (e.ok()) return Status::Exists("'" + std::string(name) + "' exists");
    if (!e.IsNotFound()) return e;
    JFS_RETURN_IF_ERROR(ChargeEntry(tx, fx, parent, EntryUsage(&a, 1), true));
    if (a.parent != 0) {
      // From now on the parents are tracked separately, the original one included.
      JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, a.parent, 1));
      a.parent = 0;
    }
    JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, parent, 1));
    Timespec now = Now();
    ++a.nlink;
    SetCtime(&a, now);
    JFS_RETURN_IF_ERROR(tx.PutAttr(ino, a));
    JFS_RETURN_IF_ERROR(tx.PutEntry(parent, name, ino, a.typ));
    TouchDir(&pa, now);
    JFS_RETURN_IF_ERROR(tx.PutAttr(parent, pa));
    result = a;
    return Status::OK();
  }));
  if (attr) *attr = result;
  return Status::OK();
}

Status BaseMeta::Readdir(const Context& ctx, Ino dir, bool plus, std::string* cursor, size_t limit,
                         std::vector<Entry>* out) {
  dir = Root(dir);
  if (!cursor || !out) return Status::Invalid("Readdir: null cursor or output");
  if (limit == 0) limit = kDefaultReaddirLimit;
  std::string next;
  std::vector<Entry> entries;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    JFS_RETURN_IF_ERROR(tx.PrefetchEntries(dir));
    Attr da;
    JFS_RETURN_IF_ERROR(GetDir(tx, dir, &da));
    JFS_RETURN_IF_ERROR(CheckAccess(ctx, da, kMaskR));
    next = *cursor;
    // A dangling entry keeps just its type.
    return plus ? tx.ListEntriesPlus(dir, &next, limit, &entries)
                : tx.ListEntries(dir, &next, limit, &entries);
  }));
  *cursor = std::move(next);
  *out = std::move(entries);
  return Status::OK();
}

// ---- files -------------------------------------------------------------------------------

namespace {

// Whether an inode with attributes `a` may be opened for `mask` (kMaskR/kMaskW) with `open_flags`.
Status CheckOpen(const Context& ctx, const Attr& a, int mask, int open_flags) {
  if (IsDir(a) && (mask & kMaskW)) return Status::Error(EISDIR, "is a directory");
  if ((mask & kMaskW) && (a.flags & kFlagImmutable)) {
    return Status::Error(EPERM, "file is immutable");
  }
  if ((a.flags & kFlagAppend) &&
      (((mask & kMaskW) && !(open_flags & O_APPEND)) || (open_flags & O_TRUNC))) {
    return Status::Error(EPERM, "file is append-only");
  }
  return CheckAccess(ctx, a, mask);
}

}  // namespace

Status BaseMeta::Open(const Context& ctx, Ino ino, int open_flags, Attr* attr) {
  return OpenWith(ctx, ino, open_flags, nullptr, attr);
}

Status BaseMeta::OpenKnown(const Context& ctx, Ino ino, int open_flags, const Attr& known) {
  return OpenWith(ctx, ino, open_flags, &known, nullptr);
}

Status BaseMeta::OpenWith(const Context& ctx, Ino ino, int open_flags, const Attr* known,
                          Attr* out) {
  ino = Root(ino);
  const int acc = open_flags & O_ACCMODE;
  if (acc == O_ACCMODE) return Status::Invalid("bad open flags");
  int mask = acc == O_RDONLY ? kMaskR : acc == O_WRONLY ? kMaskW : kMaskR | kMaskW;
  if (open_flags & O_TRUNC) mask |= kMaskW;
  {
    // Counted before the check so that an Unlink racing with this Open keeps the inode.
    std::lock_guard<std::mutex> l(open_mu_);
    ++open_counts_[ino];
  }
  Attr read;
  Status st;
  if (known != nullptr) {
    st = CheckOpen(ctx, *known, mask, open_flags);
  } else {
    st = ReadSingle([&](Tx& tx) {
      JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &read));
      return CheckOpen(ctx, read, mask, open_flags);
    });
  }
  if (!st.ok()) {
    (void)ReleaseOpen(ino);  // the check failed; its own error is the one to report
    return st;
  }
  if (out) *out = known != nullptr ? *known : read;
  return Status::OK();
}

Status BaseMeta::Close(const Context&, Ino ino) {
  return ReleaseOpen(Root(ino));
}

Status BaseMeta::Read(const Context&, Ino ino, uint32_t indx, std::vector<SliceView>* out) {
  if (!out) return Status::Invalid("Read: null output");
  ino = Root(ino);
  std::vector<Slice> records;
  // One statement when the chunk exists (the usual case); a missing one also reads the inode.
  JFS_RETURN_IF_ERROR(ReadSingle([&](Tx& tx) {
    records.clear();
    std::string data;
    Status st = tx.GetChunk(ino, indx, &data);
    if (st.IsNotFound()) {
      Attr a;  // no chunk: fine for an existing file, ENOENT otherwise
      return tx.GetAttr(ino, &a);
    }
    JFS_RETURN_IF_ERROR(st);
    return DecodeSlices(data, &records);
  }));
  *out = BuildSlices(records);
  return Status::OK();
}

Status BaseMeta::Write(const Context&, Ino ino, uint32_t indx, uint32_t pos, const Slice& slice) {
  ino = Root(ino);
  if (slice.len == 0 || uint64_t(pos) + slice.len > kChunkSize) {
    return Status::Invalid("slice does not fit in its chunk");
  }
  if (uint64_t(slice.off) + slice.len > slice.size && slice.id != 0) {
    return Status::Invalid("slice range beyond its data");
  }
  Slice record = slice;
  record.pos = pos;
  std::string encoded = EncodeSlice(record);
  return Mutate([&](Tx& tx, Effects& fx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    if (a.typ != kTypeFile) return Status::Error(EPERM, "not a regular file");
    if (a.flags & kFlagImmutable) return Status::Error(EPERM, "file is immutable");
    uint64_t end = uint64_t(indx) * kChunkSize + pos + slice.len;
    uint64_t length = std::max(a.length, end);
    int64_t space = Align4K(length) - Align4K(a.length);
    if (space > 0) JFS_RETURN_IF_ERROR(CheckQuota(tx, space, 0));
    if (length != a.length) {
      DirStat d{static_cast<int64_t>(length - a.length), space, 0};
      JFS_RETURN_IF_ERROR(ChargeFile(tx, fx, ino, a, d, true));
    }
    JFS_RETURN_IF_ERROR(tx.AppendChunk(ino, indx, encoded));
    if (slice.id != 0) JFS_RETURN_IF_ERROR(tx.NewSliceRef(slice.id, slice.size));
    Timespec now = Now();
    a.length = length;
    SetMtime(&a, now), SetCtime(&a, now);
    JFS_RETURN_IF_ERROR(tx.PutAttr(ino, a));
    fx.space += space;
    return Status::OK();
  });
}

Status BaseMeta::Truncate(const Context& ctx, Ino ino, uint64_t length, bool skip_perm_check,
                          Attr* attr) {
  ino = Root(ino);
  if (length > (uint64_t(UINT32_MAX) + 1) * kChunkSize) {
    return Status::Error(EFBIG, "length beyond the largest file");
  }
  Attr result;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    if (IsDir(a)) return Status::Error(EISDIR, "is a directory");
    if (a.typ != kTypeFile) return Status::Invalid("not a regular file");
    if (IsProtected(a)) return Status::Error(EPERM, "file is immutable or append-only");
    if (a.parent > kTrashIno) return Status::Error(EPERM, "file is in the trash");
    if (!skip_perm_check) JFS_RETURN_IF_ERROR(CheckAccess(ctx, a, kMaskW));
    result = a;
    const uint64_t old = a.length;
    if (length == old) return Status::OK();
    int64_t space = Align4K(length) - Align4K(old);
    if (space > 0) JFS_RETURN_IF_ERROR(CheckQuota(tx, space, 0));
    DirStat d{static_cast<int64_t>(length) - static_cast<int64_t>(old), space, 0};
    JFS_RETURN_IF_ERROR(ChargeFile(tx, fx, ino, a, d, true));
    // Only stored chunks can hold stale data; a missing chunk already reads as zeros.
    std::vector<uint32_t> chunks;
    JFS_RETURN_IF_ERROR(tx.ListChunks(ino, &chunks));
    for (uint32_t indx : chunks) {
      const uint64_t base = uint64_t(indx) * kChunkSize, end = base + kChunkSize;
      if (length < old && base >= length) {
        JFS_RETURN_IF_ERROR(DeleteChunk(tx, fx, ino, indx));
        continue;
      }
      // Cover the part of [min, max) of the two lengths inside this chunk with a hole, so that
      // nothing written before (past an earlier shrink, or by a client that kept the chunks)
      // reappears.
      uint64_t lo = std::max(std::min(length, old), base),
               hi = std::min(std::max(length, old), end);
      if (lo < hi)
        JFS_RETURN_IF_ERROR(tx.AppendChunk(ino, indx, EncodeSlice(HoleIn(indx, lo, hi))));
    }
    Timespec now = Now();
    a.length = length;
    SetMtime(&a, now), SetCtime(&a, now);
    JFS_RETURN_IF_ERROR(tx.PutAttr(ino, a));
    fx.space += space;
    result = a;
    return Status::OK();
  }));
  if (attr) *attr = result;
  return Status::OK();
}

// ---- extended attributes -----------------------------------------------------------------

namespace {

Status CheckXattrName(std::string_view name) {
  if (name.empty()) return Status::Invalid("empty xattr name");
  if (name.size() > kMaxXattrName) return Status::Error(ERANGE, "xattr name longer than 255 bytes");
  if (name == "system.posix_acl_access" || name == "system.posix_acl_default") {
    return Status::NotSupported("POSIX ACLs are not enabled");
  }
  return Status::OK();
}

// Linux xattr_permission: trusted.* is root's, user.* follows the inode's R/W bits, other
// namespaces are left to their own rules.
Status CheckXattrAccess(const Context& ctx, const Attr& a, std::string_view name, int mask) {
  if (name.substr(0, 8) == "trusted." && !Privileged(ctx)) {
    return Status::Error(EPERM, "trusted.* attributes need root");
  }
  if (name.substr(0, 5) == "user.") return CheckAccess(ctx, a, mask);
  return Status::OK();
}

}  // namespace

Status BaseMeta::GetXattr(const Context& ctx, Ino ino, std::string_view name, std::string* value) {
  ino = Root(ino);
  if (!value) return Status::Invalid("GetXattr: null output");
  JFS_RETURN_IF_ERROR(CheckXattrName(name));
  std::string v;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    JFS_RETURN_IF_ERROR(CheckXattrAccess(ctx, a, name, kMaskR));
    return tx.GetXattr(ino, name, &v);
  }));
  *value = std::move(v);
  return Status::OK();
}

Status BaseMeta::SetXattr(const Context& ctx, Ino ino, std::string_view name,
                          std::string_view value, int flags) {
  ino = Root(ino);
  JFS_RETURN_IF_ERROR(CheckXattrName(name));
  if (value.size() > kMaxXattrValue) return Status::Error(E2BIG, "xattr value larger than 64 KiB");
  if ((flags & ~(kXattrCreate | kXattrReplace)) || flags == (kXattrCreate | kXattrReplace)) {
    return Status::Invalid("bad xattr flags");
  }
  return Mutate([&](Tx& tx, Effects&) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    if (IsProtected(a)) return Status::Error(EPERM, "inode is immutable or append-only");
    JFS_RETURN_IF_ERROR(CheckXattrAccess(ctx, a, name, kMaskW));
    if (flags != 0) {
      std::string old;
      Status g = tx.GetXattr(ino, name, &old);
      if (!g.ok() && g.code() != ENODATA) return g;
      if ((flags & kXattrCreate) && g.ok()) return Status::Exists("xattr exists");
      if ((flags & kXattrReplace) && !g.ok()) return g;
    }
    return tx.PutXattr(ino, name, value);
  });
}

Status BaseMeta::ListXattr(const Context&, Ino ino, std::vector<std::string>* names) {
  ino = Root(ino);
  if (!names) return Status::Invalid("ListXattr: null output");
  std::vector<std::string> result;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    return tx.ListXattr(ino, &result);
  }));
  *names = std::move(result);
  return Status::OK();
}

Status BaseMeta::RemoveXattr(const Context& ctx, Ino ino, std::string_view name) {
  ino = Root(ino);
  JFS_RETURN_IF_ERROR(CheckXattrName(name));
  return Mutate([&](Tx& tx, Effects&) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    if (IsProtected(a)) return Status::Error(EPERM, "inode is immutable or append-only");
    JFS_RETURN_IF_ERROR(CheckXattrAccess(ctx, a, name, kMaskW));
    return tx.DeleteXattr(ino, name);
  });
}

// ---- file locks --------------------------------------------------------------------------------

namespace {

Status LockConflict() {
  return Status::Error(EAGAIN, "the lock is held by another owner");
}

}  // namespace

void BaseMeta::LockReleased() {
  {
    std::lock_guard<std::mutex> l(lock_mu_);
    ++lock_releases_;
  }
  lock_cv_.notify_all();
}

Status BaseMeta::WaitLock(const LockWait& wait, const std::function<Status()>& attempt) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  // JuiceFS polls every 1 ms (write) / 10 ms (read) for as long as it takes; a bounded backoff
  // keeps a long wait from costing the database a thousand transactions a second.
  constexpr auto kFirst = std::chrono::milliseconds(1), kMax = std::chrono::milliseconds(50);
  auto delay = std::chrono::milliseconds(kFirst);
  for (;;) {
    uint64_t seen;
    {
      std::lock_guard<std::mutex> l(lock_mu_);
      seen = lock_releases_;
    }
    Status st = attempt();
    if (!st.Is(EAGAIN) || !wait.block) return st;
    if (wait.interrupted && wait.interrupted()) {
      return Status::Error(EINTR, "interrupted while waiting for a lock");
    }
    auto until = Clock::now() + delay;
    if (wait.timeout_ms >= 0) {
      const auto deadline = start + std::chrono::milliseconds(wait.timeout_ms);
      if (Clock::now() >= deadline) {
        return Status::Error(ETIMEDOUT, "timed out waiting for a lock held by another owner");
      }
      until = std::min(until, deadline);
    }
    {
      std::unique_lock<std::mutex> l(lock_mu_);
      lock_cv_.wait_until(l, until, [&] { return lock_releases_ != seen; });
    }
    delay = std::min<std::chrono::milliseconds>(delay * 2, kMax);
  }
}

Status BaseMeta::Flock(const Context&, Ino ino, uint64_t owner, uint32_t type,
                       const LockWait& wait) {
  ino = Root(ino);
  if (type != kLockRead && type != kLockWrite && type != kLockUnlock) {
    return Status::Invalid("flock: unknown lock type " + std::to_string(type));
  }
  const uint64_t sid = sid_.load();
  if (type == kLockUnlock) {
    JFS_RETURN_IF_ERROR(
        Mutate([&](Tx& tx, Effects&) { return tx.DeleteLock(LockKind::kFlock, ino, sid, owner); }));
    LockReleased();
    return Status::OK();
  }
  const std::string want = type == kLockWrite ? "W" : "R";
  bool downgraded = false;
  JFS_RETURN_IF_ERROR(WaitLock(wait, [&] {
    return Mutate([&](Tx& tx, Effects&) {
      Attr a;
      JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));  // also serializes lockers of this inode (SQL)
      std::vector<LockRecord> held;
      JFS_RETURN_IF_ERROR(tx.ListLocks(LockKind::kFlock, ino, &held));
      std::string mine;
      for (const LockRecord& r : held) {
        if (r.sid == sid && r.owner == owner) {
          mine = r.value;
        } else if (type == kLockWrite || r.value == "W") {
          return LockConflict();
        }
      }
      downgraded = mine == "W" && want == "R";
      if (mine == want) return Status::OK();
      return tx.PutLock(LockKind::kFlock, ino, sid, owner, want);
    });
  }));
  if (downgraded) LockReleased();
  return Status::OK();
}

Status BaseMeta::Getlk(const Context&, Ino ino, uint64_t owner, PosixLock* lk) {
  ino = Root(ino);
  if (lk->type != kLockRead && lk->type != kLockWrite) {
    return Status::Invalid("getlk: the request must be a read or write lock");
  }
  if (lk->start > lk->end) return Status::Invalid("getlk: start beyond end");
  const uint64_t sid = sid_.load();
  PosixLock found;
  found.type = kLockUnlock;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    found = PosixLock();
    found.type = kLockUnlock;
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    std::vector<LockRecord> held;
    JFS_RETURN_IF_ERROR(tx.ListLocks(LockKind::kPlock, ino, &held));
    for (const LockRecord& r : held) {
      if (r.sid == sid && r.owner == owner) continue;
      std::vector<PosixLock> ls;
      if (!DecodePlocks(r.value, &ls)) {
        return Status::Corruption("corrupted plock records of inode " + std::to_string(ino));
      }
      for (const PosixLock& l : ls) {
        if (PlockConflicts(l, lk->type, lk->start, lk->end)) {
          found = l;
          if (r.sid != sid) found.pid = 0;  // a pid means nothing on another client
          return Status::OK();
        }
      }
    }
    return Status::OK();
  }));
  if (found.type == kLockUnlock) {
    lk->type = kLockUnlock;
  } else {
    *lk = found;
  }
  return Status::OK();
}

Status BaseMeta::Setlk(const Context&, Ino ino, uint64_t owner, const PosixLock& lk,
                       const LockWait& wait) {
  ino = Root(ino);
  if (lk.type != kLockRead && lk.type != kLockWrite && lk.type != kLockUnlock) {
    return Status::Invalid("setlk: unknown lock type " + std::to_string(lk.type));
  }
  if (lk.start > lk.end) return Status::Invalid("setlk: start beyond end");
  const uint64_t sid = sid_.load();
  auto corrupt = [&] {
    return Status::Corruption("corrupted plock records of inode " + std::to_string(ino));
  };
  if (lk.type == kLockUnlock) {
    bool changed = false;
    JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
      changed = false;
      std::vector<LockRecord> held;
      JFS_RETURN_IF_ERROR(tx.ListLocks(LockKind::kPlock, ino, &held));
      for (const LockRecord& r : held) {
        if (r.sid != sid || r.owner != owner) continue;
        std::vector<PosixLock> ls;
        if (!DecodePlocks(r.value, &ls)) return corrupt();
        const size_t before = ls.size();
        const std::string old = r.value;
        UpdatePlocks(&ls, lk);
        if (ls.empty()) {
          changed = before > 0;
          return tx.DeleteLock(LockKind::kPlock, ino, sid, owner);
        }
        std::string now = EncodePlocks(ls);
        if (now == old) return Status::OK();
        changed = true;
        return tx.PutLock(LockKind::kPlock, ino, sid, owner, now);
      }
      return Status::OK();
    }));
    if (changed) LockReleased();
    return Status::OK();
  }
  bool released = false;
  JFS_RETURN_IF_ERROR(WaitLock(wait, [&] {
    return Mutate([&](Tx& tx, Effects&) {
      Attr a;
      JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));  // also serializes lockers of this inode (SQL)
      std::vector<LockRecord> held;
      JFS_RETURN_IF_ERROR(tx.ListLocks(LockKind::kPlock, ino, &held));
      std::vector<PosixLock> mine;
      std::string old;
      for (const LockRecord& r : held) {
        std::vector<PosixLock> ls;
        if (!DecodePlocks(r.value, &ls)) return corrupt();
        if (r.sid == sid && r.owner == owner) {
          mine = std::move(ls);
          old = r.value;
          continue;
        }
        for (const PosixLock& l : ls) {
          if (PlockConflicts(l, lk.type, lk.start, lk.end)) return LockConflict();
        }
      }
      // A write lock turned into a read lock lets readers of other owners in.
      released = false;
      for (const PosixLock& l : mine) {
        if (l.type == kLockWrite && lk.type == kLockRead && lk.end >= l.start &&
            lk.start <= l.end) {
          released = true;
        }
      }
      UpdatePlocks(&mine, lk);
      std::string now = EncodePlocks(mine);
      if (now == old) return Status::OK();
      return tx.PutLock(LockKind::kPlock, ino, sid, owner, now);
    });
  }));
  if (released) LockReleased();
  return Status::OK();
}

}  // namespace jfs::meta
