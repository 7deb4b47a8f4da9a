// BaseMeta: trash (format.md §6.5), deferred file deletion through delfiles (§6.3), rm -r, and
// the gate of background jobs. Kept apart from base.cc: these are the parts where removals stop
// being immediate.
//
// Layout, as JuiceFS writes it (so each client sees the other's trash):
//  * `.trash` = inode kTrashIno (dir 0555, parent 1), found by name under the root, no edge;
//  * hour directories `YYYY-MM-DD-HH` (UTC hour of the removal), inode kTrashIno + nextTrash,
//    dir 0555 uid/gid 0 nlink 2 length 4096 parent kTrashIno; counted in usedSpace/totalInodes
//    like any directory;
//  * entries `{parent}-{ino}-{name}` (truncated to 255 bytes) that keep their link: the node's
//    parent becomes the hour directory (hard links: its parent counts move), nlink unchanged.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <string>

#include "meta/base.h"
#include "meta/codec.h"

namespace jfs::meta {

namespace {

constexpr int kMaxRemoveDepth = 1 << 12;
constexpr size_t kListPage = 1000;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void StampNow(Attr* a, bool mtime) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  const int64_t sec = ns / 1000000000;
  const uint32_t nsec = static_cast<uint32_t>(ns % 1000000000);
  a->ctime = sec, a->ctimensec = nsec;
  if (mtime) a->mtime = sec, a->mtimensec = nsec;
}

// "2006-01-02-15" of the UTC hour containing `t`.
std::string HourName(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d-%H", &tm);
  return buf;
}

// Parses an hour directory name; false when it is not one.
bool ParseHourName(const std::string& name, int64_t* t) {
  struct tm tm {};
  int y, mo, d, h;
  char extra;
  if (name.size() != 13 ||
      std::sscanf(name.c_str(), "%4d-%2d-%2d-%2d%c", &y, &mo, &d, &h, &extra) != 4) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23) return false;
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d, tm.tm_hour = h;
  *t = static_cast<int64_t>(timegm(&tm));
  return true;
}

Attr TrashDirAttr(Ino parent) {
  Attr a;
  a.typ = kTypeDirectory;
  a.mode = 0555;
  a.nlink = 2;
  a.length = 4096;
  a.parent = parent;
  StampNow(&a, true);
  a.atime = a.mtime, a.atimensec = a.mtimensec;
  return a;
}

}  // namespace

std::string TrashEntryName(Ino parent, Ino ino, std::string_view name) {
  std::string s = std::to_string(parent) + "-" + std::to_string(ino) + "-" + std::string(name);
  if (s.size() > kMaxName) s.resize(kMaxName);
  return s;
}

Status BaseMeta::TrashDir(Ino parent, Ino* trash) {
  *trash = 0;
  if (trash_days_.load() <= 0 || parent >= kTrashIno) return Status::OK();
  const std::string name = HourName(UnixNow());
  {
    std::lock_guard<std::mutex> l(trash_mu_);
    if (name == trash_hour_name_) {
      *trash = trash_hour_ino_;
      return Status::OK();
    }
  }
  Ino found = 0;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
    uint8_t type = 0;
    Status st = tx.GetEntry(kTrashIno, name, &found, &type);
    if (st.ok()) return Status::OK();
    if (!st.IsNotFound()) return st;
    Attr root;
    st = tx.GetAttr(kTrashIno, &root);
    if (st.IsNotFound()) {  // trash enabled after formatting without it
      root = TrashDirAttr(kRootIno);
    } else if (!st.ok()) {
      return st;
    }
    int64_t next = 0;
    JFS_RETURN_IF_ERROR(tx.IncrCounter("nextTrash", 1, &next));
    found = kTrashIno + static_cast<uint64_t>(next);
    JFS_RETURN_IF_ERROR(tx.PutAttr(found, TrashDirAttr(kTrashIno)));
    JFS_RETURN_IF_ERROR(tx.PutEntry(kTrashIno, name, found, kTypeDirectory));
    ++root.nlink;
    StampNow(&root, true);
    JFS_RETURN_IF_ERROR(tx.PutAttr(kTrashIno, root));
    fx.space += 4096;
    fx.inodes += 1;
    return Status::OK();
  }));
  if (found <= kTrashIno) return Status::Corruption("invalid trash directory inode");
  std::lock_guard<std::mutex> l(trash_mu_);
  trash_hour_name_ = name;
  trash_hour_ino_ = found;
  *trash = found;
  return Status::OK();
}

Status BaseMeta::MoveToTrash(Tx& tx, Ino parent, std::string_view name, Ino ino, Attr* attr,
                             Ino trash, bool* moved) {
  *moved = false;
  if (attr->flags & kFlagSkipTrash) return Status::OK();
  const std::string entry = TrashEntryName(parent, ino, name);
  if (attr->typ != kTypeDirectory && attr->nlink > 1) {
    // The same link removed twice in one hour (re-created, removed again): drop it for real.
    Ino other = 0;
    uint8_t type = 0;
    Status st = tx.GetEntry(trash, entry, &other, &type);
    if (st.ok()) return Status::OK();
    if (!st.IsNotFound()) return st;
  }
  if (attr->typ != kTypeDirectory && attr->parent == 0) {
    JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, parent, -1));
    JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, trash, 1));
  } else {
    attr->parent = trash;
  }
  StampNow(attr, false);
  JFS_RETURN_IF_ERROR(tx.PutAttr(ino, *attr));
  JFS_RETURN_IF_ERROR(tx.PutEntry(trash, entry, ino, attr->typ));
  *moved = true;
  return Status::OK();
}

// ---- rm -r ---------------------------------------------------------------------------------

Status BaseMeta::Remove(const Context& ctx, Ino parent, std::string_view name, bool skip_trash,
                        uint64_t* count) {
  uint64_t n = 0;
  Ino ino = 0;
  Attr a;
  JFS_RETURN_IF_ERROR(Lookup(ctx, parent, name, &ino, &a));
  if (name == "." || name == "..") return Status::Invalid("cannot remove '.' or '..'");
  Status st;
  if (a.typ == kTypeDirectory) {
    st = RemoveTree(ctx, ino, skip_trash, 0, &n);
    if (st.ok()) st = RmdirImpl(ctx, parent, name, skip_trash);
  } else {
    st = UnlinkImpl(ctx, parent, name, skip_trash);
  }
  if (st.ok()) ++n;
  if (count) *count = n;
  return st;
}

Status BaseMeta::RemoveTree(const Context& ctx, Ino dir, bool skip_trash, int depth,
                            uint64_t* count) {
  if (depth > kMaxRemoveDepth) return Status::Error(ELOOP, "directory tree too deep");
  // Entries are removed while listing, so every page starts again from the beginning.
  for (;;) {
    std::vector<Entry> page;
    std::string cursor;
    JFS_RETURN_IF_ERROR(Readdir(ctx, dir, false, &cursor, kListPage, &page));
    if (page.empty()) return Status::OK();
    for (const Entry& e : page) {
      Status st;
      if (e.attr.typ == kTypeDirectory) {
        st = RemoveTree(ctx, e.inode, skip_trash, depth + 1, count);
        if (st.ok()) st = RmdirImpl(ctx, dir, e.name, skip_trash);
      } else {
        st = UnlinkImpl(ctx, dir, e.name, skip_trash);
      }
      if (st.IsNotFound()) continue;  // removed meanwhile by someone else
      JFS_RETURN_IF_ERROR(st.WithContext(e.name));
      ++*count;
    }
  }
}

// ---- deferred deletion -------------------------------------------------------------------

Status BaseMeta::QueueFileData(Tx& tx, Effects& fx, Ino ino, uint64_t length) {
  if (length == 0) {
    std::vector<uint32_t> chunks;
    JFS_RETURN_IF_ERROR(tx.ListChunks(ino, &chunks));
    if (chunks.empty()) return Status::OK();
  }
  JFS_RETURN_IF_ERROR(tx.AddDelFile(ino, length, UnixNow()));
  fx.deleted_files.emplace_back(ino, length);
  return Status::OK();
}

void BaseMeta::ReleaseDeletedFiles(const std::vector<std::pair<Ino, uint64_t>>& files) {
  std::function<void(Ino, uint64_t)> cb;
  {
    std::lock_guard<std::mutex> l(mu_);
    cb = on_delete_file_;
  }
  for (const auto& [ino, length] : files) {
    if (cb) {
      cb(ino, length);
    } else {
      (void)DeleteFileData(ino, length);  // on failure the delfiles record stays for a later try
    }
  }
}

void BaseMeta::OnDeleteFile(std::function<void(Ino ino, uint64_t length)> fn) {
  std::lock_guard<std::mutex> l(mu_);
  on_delete_file_ = std::move(fn);
}

Status BaseMeta::DeleteFileData(Ino ino, uint64_t length) {
  std::vector<uint32_t> chunks;
  bool alive = false;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    Attr a;
    Status st = tx.GetAttr(ino, &a);
    alive = st.ok();
    if (!st.ok() && !st.IsNotFound()) return st;
    // Engines without a chunk index (Redis) find chunks by the length, which delfiles keeps; the
    // others list what exists, so a sparse file costs one transaction per stored chunk.
    return alive ? Status::OK() : tx.ListChunksBelow(ino, length, &chunks);
  }));
  // One transaction per chunk keeps each small; a crash in between leaves the rest listed.
  for (uint32_t indx : chunks) {
    JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
      Attr a;
      Status st = tx.GetAttr(ino, &a);
      if (st.ok()) return Status::OK();  // the inode exists again: never touch live data
      if (!st.IsNotFound()) return st;
      return DeleteChunk(tx, fx, ino, indx);
    }));
  }
  return Mutate([&](Tx& tx, Effects&) { return tx.RemoveDelFile(ino); });
}

Status BaseMeta::ListDelFiles(std::vector<DelFileRecord>* out) {
  return ReadOnly([&](Tx& tx) { return tx.ListDelFiles(out); });
}

// ---- trash expiry ------------------------------------------------------------------------

Status BaseMeta::CleanupDelSlices(int64_t now, bool all, uint64_t* released) {
  if (released) *released = 0;
  std::vector<DelSliceRecord> recs;
  Status ls = ReadOnly([&](Tx& tx) { return tx.ListDelSlices(&recs); });
  if (ls.Is(ENOTSUP)) return Status::OK();  // an engine that never records them
  JFS_RETURN_IF_ERROR(ls);
  const int days = trash_days_.load();
  const int64_t edge = now - 24 * static_cast<int64_t>(days > 0 ? days : 0) * 3600;
  for (const DelSliceRecord& r : recs) {
    if (!all && r.deleted >= edge) continue;
    // One transaction per record: the record goes with the references it held, or neither.
    bool mine = false;
    JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects& fx) {
      mine = false;
      std::string data;
      Status gs = tx.GetDelSlices(r.id, r.deleted, &data);
      if (gs.IsNotFound()) return Status::OK();  // another client released it meanwhile
      JFS_RETURN_IF_ERROR(gs);
      std::vector<std::pair<uint64_t, uint32_t>> slices;
      JFS_RETURN_IF_ERROR(DecodeDelayedSlices(data, &slices));
      JFS_RETURN_IF_ERROR(tx.RemoveDelSlices(r.id, r.deleted));
      for (const auto& [id, size] : slices) {
        JFS_RETURN_IF_ERROR(DropSliceRef(tx, id, size, &fx.freed_slices));
      }
      mine = true;
      return Status::OK();
    }));
    if (released && mine) ++*released;
  }
  return Status::OK();
}

Status BaseMeta::CleanupTrash(int64_t now, bool all, uint64_t* removed) {
  uint64_t n = 0;
  if (removed) *removed = 0;
  // §6.5: the same job releases the slices compactions replaced more than TrashDays ago.
  JFS_RETURN_IF_ERROR(CleanupDelSlices(now, all, nullptr));
  std::vector<Entry> hours;
  {
    std::string cursor;
    do {
      std::vector<Entry> page;
      Status st =
          ReadOnly([&](Tx& tx) { return tx.ListEntries(kTrashIno, &cursor, kListPage, &page); });
      if (st.IsNotFound()) return Status::OK();
      JFS_RETURN_IF_ERROR(st);
      hours.insert(hours.end(), page.begin(), page.end());
    } while (!cursor.empty());
  }
  const int days = trash_days_.load();
  const int64_t edge = now - (24 * static_cast<int64_t>(days > 0 ? days : 0) + 2) * 3600;
  Context root;  // uid 0: the trash is root's
  for (const Entry& e : hours) {
    int64_t t = 0;
    if (!ParseHourName(e.name, &t)) continue;  // not an hour directory: left alone
    if (!all && t >= edge) continue;
    Status st = RemoveTree(root, e.inode, /*skip_trash=*/true, 0, &n);
    if (st.ok()) st = RmdirImpl(root, kTrashIno, e.name, /*skip_trash=*/true);
    if (st.IsNotFound()) continue;  // another client cleaned it meanwhile
    if (!st.ok()) {
      if (removed) *removed = n;
      return st.WithContext("trash directory " + e.name);
    }
  }
  {
    std::lock_guard<std::mutex> l(trash_mu_);
    trash_hour_name_.clear();  // may have been removed
    trash_hour_ino_ = 0;
  }
  if (removed) *removed = n;
  return Status::OK();
}

Status BaseMeta::TryGate(std::string_view name, int64_t now, int64_t window, bool* won) {
  *won = false;
  return Mutate([&](Tx& tx, Effects&) {
    *won = false;
    int64_t v = 0;
    JFS_RETURN_IF_ERROR(tx.GetCounter(name, &v));
    if (v > now - window) return Status::OK();
    JFS_RETURN_IF_ERROR(tx.IncrCounter(name, now - v, nullptr));
    *won = true;
    return Status::OK();
  });
}

}  // namespace jfs::meta
