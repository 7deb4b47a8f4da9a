#include "lib/maintenance.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "chunk/chunk_store.h"
#include "lib/format_secrets.h"
#include "lib/internal.h"
#include "meta/codec.h"
#include "meta/engine.h"
#include "meta/meta.h"
#include "object/object_store.h"

namespace jfs::lib {
namespace {

using meta::Attr;
using meta::Entry;
using meta::Ino;
using meta::Tx;

constexpr size_t kPage = 1000;
constexpr uint64_t kProgressEvery = 1000;

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Tick(const ProgressFn& progress, const char* stage, uint64_t n, bool force = false) {
  if (progress && (force || n % kProgressEvery == 0)) progress(stage, n);
}

// Everything a scan learns: the summary plus every referenced slice (id → size).
struct ScanState {
  ScanSummary sum;
  std::unordered_map<uint64_t, uint32_t> slices;
};

// Adds the chunk records of file `ino` to st->slices.
// `length` > 0: the inode is deleted and that was its length (delfiles), through which engines
// without a chunk index (Redis) find its chunks (Tx::ListChunksBelow).
Status ScanChunks(meta::Engine& e, Ino ino, ScanState* st, uint64_t length = 0) {
  return e.Txn(
      [&](Tx& tx) {
        std::vector<uint32_t> indices;
        JFS_RETURN_IF_ERROR(length > 0 ? tx.ListChunksBelow(ino, length, &indices)
                                       : tx.ListChunks(ino, &indices));
        for (uint32_t indx : indices) {
          std::string records;
          Status s = tx.GetChunk(ino, indx, &records);
          if (s.IsNotFound()) continue;
          JFS_RETURN_IF_ERROR(s);
          std::vector<meta::Slice> list;
          JFS_RETURN_IF_ERROR(meta::DecodeSlices(records, &list));
          for (const meta::Slice& sl : list) {
            if (sl.id != 0) st->slices.emplace(sl.id, sl.size);
          }
        }
        return Status::OK();
      },
      /*read_only=*/true);
}

// Counts one inode (root and .trash excluded) and collects its slices.
Status CountInode(meta::Engine& e, Ino ino, const Attr& a, ScanState* st) {
  st->sum.total_inodes += 1;
  switch (a.typ) {
    case meta::kTypeFile:
      st->sum.files++;
      st->sum.used_space += meta::Align4K(a.length);
      return ScanChunks(e, ino, st);
    case meta::kTypeDirectory:
      st->sum.dirs++;
      break;
    case meta::kTypeSymlink:
      st->sum.symlinks++;
      break;
    default:
      st->sum.others++;
  }
  st->sum.used_space += 4096;
  return Status::OK();
}

Status ScanAll(meta::Engine& e, const ProgressFn& progress, ScanState* st) {
  std::unordered_set<Ino> seen;
  std::deque<std::pair<Ino, bool>> dirs;  // (dir, inside .trash)
  dirs.emplace_back(meta::kRootIno, false);
  dirs.emplace_back(meta::kTrashIno, true);
  uint64_t n = 0;
  while (!dirs.empty()) {
    auto [dir, in_trash] = dirs.front();
    dirs.pop_front();
    std::string cursor;
    do {
      std::vector<Entry> page;
      Status s = e.Txn([&](Tx& tx) { return tx.ListEntriesPlus(dir, &cursor, kPage, &page); },
                       /*read_only=*/true);
      if (s.IsNotFound()) break;
      JFS_RETURN_IF_ERROR(s.WithContext("listing directory " + std::to_string(dir)));
      for (const Entry& en : page) {
        if (!seen.insert(en.inode).second) continue;  // another hard link
        if (en.inode == meta::kRootIno || en.inode == meta::kTrashIno) continue;
        const bool hour_dir = dir == meta::kTrashIno;
        if (in_trash && !hour_dir) {
          st->sum.trash_entries++;
          if (en.attr.typ == meta::kTypeFile) st->sum.trash_bytes += en.attr.length;
        }
        JFS_RETURN_IF_ERROR(CountInode(e, en.inode, en.attr, st));
        if (en.attr.typ == meta::kTypeDirectory) dirs.emplace_back(en.inode, in_trash);
        Tick(progress, "inodes", ++n);
      }
    } while (!cursor.empty());
  }
  // Sustained inodes (no entry any more) and files waiting for their data to go.
  std::vector<meta::SessionRecord> sessions;
  std::vector<meta::DelFileRecord> delfiles;
  std::vector<meta::DelSliceRecord> delslices;
  JFS_RETURN_IF_ERROR(e.Txn(
      [&](Tx& tx) {
        JFS_RETURN_IF_ERROR(tx.GetCounter("usedSpace", &st->sum.stored_used_space));
        JFS_RETURN_IF_ERROR(tx.GetCounter("totalInodes", &st->sum.stored_total_inodes));
        JFS_RETURN_IF_ERROR(tx.ListSessions(&sessions));
        JFS_RETURN_IF_ERROR(tx.ListDelFiles(&delfiles));
        Status ds = tx.ListDelSlices(&delslices);
        return ds.Is(ENOTSUP) ? Status::OK() : ds;
      },
      /*read_only=*/true));
  // Slices replaced by compactions while the trash is on are still referenced (§6.2).
  for (const meta::DelSliceRecord& r : delslices) {
    std::vector<std::pair<uint64_t, uint32_t>> slices;
    JFS_RETURN_IF_ERROR(meta::DecodeDelayedSlices(r.slices, &slices)
                            .WithContext("delayed slices of " + std::to_string(r.id)));
    for (const auto& [id, size] : slices) {
      st->sum.delslices++;
      st->sum.delslice_bytes += size;
      if (id != 0) st->slices.emplace(id, size);
    }
  }
  for (const meta::SessionRecord& sr : sessions) {
    std::vector<Ino> inodes;
    JFS_RETURN_IF_ERROR(
        e.Txn([&](Tx& tx) { return tx.ListSustained(sr.sid, &inodes); }, /*read_only=*/true));
    for (Ino ino : inodes) {
      if (!seen.insert(ino).second) continue;
      Attr a;
      Status s = e.Txn([&](Tx& tx) { return tx.GetAttr(ino, &a); }, /*read_only=*/true);
      if (s.IsNotFound()) continue;
      JFS_RETURN_IF_ERROR(s);
      st->sum.sustained++;
      JFS_RETURN_IF_ERROR(CountInode(e, ino, a, st));
    }
  }
  for (const meta::DelFileRecord& d : delfiles) {
    st->sum.delfiles++;
    st->sum.delfile_bytes += d.length;
    if (seen.count(d.inode)) continue;
    JFS_RETURN_IF_ERROR(ScanChunks(e, d.inode, st, d.length));  // not counted: subtracted
  }
  st->sum.slices = st->slices.size();
  Tick(progress, "inodes", n, true);
  return Status::OK();
}

// Block keys of every referenced slice.
std::unordered_set<std::string> ExpectedKeys(const ScanState& st, const meta::Format& f) {
  std::unordered_set<std::string> keys;
  const uint64_t bs = f.BlockSizeBytes();
  for (const auto& [id, size] : st.slices) {
    for (uint64_t off = 0, indx = 0; off < size; off += bs, ++indx) {
      const uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(bs, size - off));
      keys.insert(chunk::BlockKey(id, static_cast<uint32_t>(indx), len, f.hash_prefix));
    }
  }
  return keys;
}

// Opens what a maintenance command needs: the Meta (Format loaded), the raw engine for scans and
// the volume's data store.
struct Opened {
  std::unique_ptr<meta::Meta> meta;
  std::unique_ptr<meta::Engine> engine;
  meta::Format format;
  std::shared_ptr<object::ObjectStore> store;
};

Status OpenAll(const std::string& url, bool need_store, Opened* o) {
  JFS_RETURN_IF_ERROR(meta::NewMeta(url, &o->meta));
  JFS_RETURN_IF_ERROR(o->meta->Load(&o->format));
  JFS_RETURN_IF_ERROR(meta::NewEngine(url, &o->engine));
  if (!need_store) return Status::OK();
  JFS_RETURN_IF_ERROR(DecryptFormatSecrets(&o->format));
  return BuildStore(o->format, false, &o->store);
}

int64_t SkipSeconds() {
  const char* env = std::getenv("JFS_GC_SKIPPEDTIME");
  if (env == nullptr || *env == '\0') return 3600;
  char* end = nullptr;
  long long v = std::strtoll(env, &end, 10);
  if (end == env || *end != '\0' || v < 0) return 3600;
  return v;
}

}  // namespace

Status Scan(const std::string& meta_url, const ProgressFn& progress, ScanSummary* out) {
  Opened o;
  JFS_RETURN_IF_ERROR(OpenAll(meta_url, false, &o));
  ScanState st;
  JFS_RETURN_IF_ERROR(ScanAll(*o.engine, progress, &st));
  *out = st.sum;
  return Status::OK();
}

Status Gc(const std::string& meta_url, bool delete_leaked, const ProgressFn& progress,
          GcReport* out) {
  *out = GcReport();
  Opened o;
  JFS_RETURN_IF_ERROR(OpenAll(meta_url, true, &o));
  if (delete_leaked) {
    // Finish what clients left: expired trash, then queued file deletions (their slices' objects
    // go through the chunk store).
    std::unique_ptr<chunk::ChunkStore> chunks;
    JFS_RETURN_IF_ERROR(
        chunk::NewChunkStore(ChunkConfig(o.format, 4, 64ull << 20), o.store, &chunks));
    chunk::ChunkStore* cs = chunks.get();
    o.meta->OnDeleteSlice([cs](uint64_t id, uint32_t size) { (void)cs->Remove(id, size); });
    JFS_RETURN_IF_ERROR(o.meta->CleanupTrash(UnixNow(), false, &out->trash_removed));
    std::vector<meta::DelFileRecord> pending;
    JFS_RETURN_IF_ERROR(o.meta->ListDelFiles(&pending));
    for (const meta::DelFileRecord& d : pending) {
      JFS_RETURN_IF_ERROR(o.meta->DeleteFileData(d.inode, d.length));
      Tick(progress, "pending files", ++out->delfiles_done);
    }
    o.meta->OnDeleteSlice(nullptr);
    JFS_RETURN_IF_ERROR(o.meta->FlushStats());  // what the deletions freed
  }
  ScanState st;
  JFS_RETURN_IF_ERROR(ScanAll(*o.engine, progress, &st));
  out->scan = st.sum;
  const std::unordered_set<std::string> expected = ExpectedKeys(st, o.format);
  const int64_t edge_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count() -
                          SkipSeconds() * 1000000000LL;
  std::string marker;
  for (;;) {
    std::vector<object::ObjectInfo> page;
    bool truncated = false;
    JFS_RETURN_IF_ERROR(o.store->List("chunks/", marker, "", 1000, &page, &truncated));
    for (const object::ObjectInfo& obj : page) {
      if (obj.is_dir) continue;
      out->objects++;
      out->object_bytes += obj.size;
      Tick(progress, "objects", out->objects);
      if (expected.count(obj.key)) {
        out->referenced++;
        continue;
      }
      if (obj.mtime_ns > edge_ns) {
        out->skipped_recent++;
        continue;
      }
      out->leaked++;
      out->leaked_bytes += obj.size;
      if (out->leaked_keys.size() < 100) out->leaked_keys.push_back(obj.key);
      if (delete_leaked) {
        JFS_RETURN_IF_ERROR(o.store->Delete(obj.key).WithContext("deleting " + obj.key));
        out->deleted++;
      }
    }
    if (!truncated || page.empty()) break;
    marker = page.back().key;
  }
  Tick(progress, "objects", out->objects, true);
  return Status::OK();
}

Status Fsck(const std::string& meta_url, bool repair, const ProgressFn& progress, FsckReport* out) {
  *out = FsckReport();
  Opened o;
  JFS_RETURN_IF_ERROR(OpenAll(meta_url, true, &o));
  ScanState st;
  JFS_RETURN_IF_ERROR(ScanAll(*o.engine, progress, &st));
  out->scan = st.sum;
  std::unordered_set<std::string> expected = ExpectedKeys(st, o.format);
  std::string marker;
  uint64_t listed = 0;
  for (;;) {
    std::vector<object::ObjectInfo> page;
    bool truncated = false;
    JFS_RETURN_IF_ERROR(o.store->List("chunks/", marker, "", 1000, &page, &truncated));
    for (const object::ObjectInfo& obj : page) {
      if (!obj.is_dir) expected.erase(obj.key);
      Tick(progress, "objects", ++listed);
    }
    if (!truncated || page.empty()) break;
    marker = page.back().key;
  }
  out->missing_objects = expected.size();
  for (const std::string& k : expected) {
    if (out->missing_keys.size() >= 100) break;
    out->missing_keys.push_back(k);
  }
  std::sort(out->missing_keys.begin(), out->missing_keys.end());
  out->counters_ok = st.sum.used_space == st.sum.stored_used_space &&
                     st.sum.total_inodes == st.sum.stored_total_inodes;
  if (!out->counters_ok && repair) {
    JFS_RETURN_IF_ERROR(o.engine->Txn([&](Tx& tx) {
      int64_t space = 0, inodes = 0;
      JFS_RETURN_IF_ERROR(tx.GetCounter("usedSpace", &space));
      JFS_RETURN_IF_ERROR(tx.GetCounter("totalInodes", &inodes));
      if (space != st.sum.used_space) {
        JFS_RETURN_IF_ERROR(tx.IncrCounter("usedSpace", st.sum.used_space - space, nullptr));
      }
      if (inodes != st.sum.total_inodes) {
        JFS_RETURN_IF_ERROR(tx.IncrCounter("totalInodes", st.sum.total_inodes - inodes, nullptr));
      }
      return Status::OK();
    }));
    out->repaired = true;
  }
  return Status::OK();
}

Status Destroy(const std::string& meta_url, const std::string& uuid, bool force,
               const ProgressFn& progress, uint64_t* objects) {
  *objects = 0;
  Opened o;
  JFS_RETURN_IF_ERROR(OpenAll(meta_url, true, &o));
  if (uuid != o.format.uuid) {
    return Status::Invalid("UUID '" + uuid + "' is not the volume's (see `jfs status`)");
  }
  std::vector<meta::SessionRecord> sessions;
  Status ls = o.meta->ListSessions(&sessions);
  if (!ls.ok() && !ls.Is(ENOTSUP)) return ls;
  if (!sessions.empty() && !force) {
    return Status::Error(EBUSY, std::to_string(sessions.size()) +
                                    " session(s) still use the volume (close them or --force)");
  }
  std::vector<object::ObjectInfo> all;
  JFS_RETURN_IF_ERROR(object::ListAll(*o.store, "", &all));
  for (const object::ObjectInfo& obj : all) {
    if (obj.is_dir) continue;
    JFS_RETURN_IF_ERROR(o.store->Delete(obj.key).WithContext("deleting " + obj.key));
    Tick(progress, "objects deleted", ++*objects);
  }
  return o.meta->Reset();
}

Status Restore(const std::string& meta_url, const std::vector<std::string>& hours, bool put_back,
               std::vector<TrashEntry>* out) {
  out->clear();
  Opened o;
  JFS_RETURN_IF_ERROR(OpenAll(meta_url, false, &o));
  meta::Context root;
  std::vector<Entry> hour_dirs;
  {
    std::string cursor;
    do {
      std::vector<Entry> page;
      Status s = o.meta->Readdir(root, meta::kTrashIno, false, &cursor, kPage, &page);
      if (s.IsNotFound()) return Status::OK();  // no trash at all
      JFS_RETURN_IF_ERROR(s);
      hour_dirs.insert(hour_dirs.end(), page.begin(), page.end());
    } while (!cursor.empty());
  }
  for (const std::string& h : hours) {
    bool found = false;
    for (const Entry& e : hour_dirs) found = found || e.name == h;
    if (!found) return Status::NotFound("no trash directory '" + h + "'");
  }
  for (const Entry& hd : hour_dirs) {
    if (!hours.empty() && std::find(hours.begin(), hours.end(), hd.name) == hours.end()) continue;
    std::vector<Entry> entries;
    std::string cursor;
    do {
      std::vector<Entry> page;
      JFS_RETURN_IF_ERROR(o.meta->Readdir(root, hd.inode, false, &cursor, kPage, &page));
      entries.insert(entries.end(), page.begin(), page.end());
    } while (!cursor.empty());
    // Directories first, so their former children find them back in place.
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return (a.attr.typ == meta::kTypeDirectory) > (b.attr.typ == meta::kTypeDirectory);
    });
    for (const Entry& e : entries) {
      TrashEntry t;
      t.hour = hd.name;
      t.name = e.name;
      t.inode = e.inode;
      const size_t d1 = e.name.find('-');
      const size_t d2 = d1 == std::string::npos ? d1 : e.name.find('-', d1 + 1);
      if (d2 == std::string::npos) {
        t.error = "not a trash entry name";
        out->push_back(std::move(t));
        continue;
      }
      t.parent = std::strtoull(e.name.substr(0, d1).c_str(), nullptr, 10);
      t.original = e.name.substr(d2 + 1);
      if (put_back) {
        Status s = o.meta->Rename(root, hd.inode, e.name, t.parent, t.original,
                                  meta::kRenameNoReplace, nullptr, nullptr);
        if (s.ok()) {
          t.restored = true;
        } else {
          t.error = s.ToString();
        }
      }
      out->push_back(std::move(t));
    }
  }
  return Status::OK();
}

Status Rmr(const std::string& meta_url, const meta::Context& ctx, meta::Ino parent,
           std::string_view name, bool skip_trash, uint64_t* count) {
  Opened o;
  JFS_RETURN_IF_ERROR(OpenAll(meta_url, true, &o));
  std::unique_ptr<chunk::ChunkStore> chunks;
  JFS_RETURN_IF_ERROR(
      chunk::NewChunkStore(ChunkConfig(o.format, 4, 64ull << 20), o.store, &chunks));
  chunk::ChunkStore* cs = chunks.get();
  o.meta->OnDeleteSlice([cs](uint64_t id, uint32_t size) { (void)cs->Remove(id, size); });
  Status st = o.meta->Remove(ctx, parent, name, skip_trash, count);
  o.meta->OnDeleteSlice(nullptr);
  Status fs = o.meta->FlushStats();
  return st.ok() ? fs : st;
}

Status ResolvePath(const std::string& meta_url, const meta::Context& ctx, const std::string& path,
                   meta::Ino* parent, std::string* name) {
  std::unique_ptr<meta::Meta> m;
  JFS_RETURN_IF_ERROR(meta::NewMeta(meta_url, &m));
  JFS_RETURN_IF_ERROR(m->Load(nullptr));
  std::vector<std::string> comps;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) comps.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (comps.empty()) return Status::Invalid("cannot remove the root");
  Ino cur = meta::kRootIno;
  for (size_t k = 0; k + 1 < comps.size(); ++k) {
    Attr a;
    JFS_RETURN_IF_ERROR(m->Lookup(ctx, cur, comps[k], &cur, &a).WithContext(comps[k]));
    if (a.typ != meta::kTypeDirectory)
      return Status::Error(ENOTDIR, comps[k] + ": not a directory");
  }
  *parent = cur;
  *name = comps.back();
  if (*name == "." || *name == "..") return Status::Invalid("cannot remove '.' or '..'");
  return Status::OK();
}

}  // namespace jfs::lib
