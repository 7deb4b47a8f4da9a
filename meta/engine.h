// Engine: the small transactional primitives one database offers to BaseMeta (meta/base.h), which
// implements every file-system operation once on top of them. An engine knows storage layout
// (tables / keys and their binary encodings, format.md §2–§3) but no file-system rules.
//
// A Tx is valid only inside Engine::Txn's callback. Reads observe a consistent state that includes
// the transaction's own earlier writes. Missing rows → ENOENT (ENODATA for xattrs). Engine failures
// → EIO (retryable() when the engine considers it transient); conflicts are retried by Txn itself.
//
// Engine-specific encodings hidden here (format.md §2.5): counter "last used" vs "next free"
// (Alloc), refcount "refs-1" vs real count (IncrSliceRef), explicit parent hashes vs derived from
// edges (AdjustParent/ListParents).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "meta/types.h"
#include "util/status.h"

namespace jfs::meta {

// A lock record as the engines store it (see Tx::ListLocks).
enum class LockKind : uint8_t { kFlock, kPlock };
struct LockRecord {
  uint64_t sid = 0;
  uint64_t owner = 0;
  std::string value;
};

class Tx {
 public:
  virtual ~Tx() = default;

  // Nodes (jfs_node / i{ino}).
  virtual Status GetAttr(Ino ino, Attr* attr) = 0;
  virtual Status PutAttr(Ino ino, const Attr& attr) = 0;  // insert or replace
  virtual Status DeleteAttr(Ino ino) = 0;                 // OK if missing

  // Directory entries (jfs_edge / d{parent}).
  virtual Status GetEntry(Ino parent, std::string_view name, Ino* ino, uint8_t* type) = 0;
  virtual Status PutEntry(Ino parent, std::string_view name, Ino ino, uint8_t type) = 0;
  virtual Status DeleteEntry(Ino parent, std::string_view name) = 0;  // OK if missing
  virtual Status HasEntries(Ino parent, bool* any) = 0;
  // One page of a directory: up to `limit` entries (name, inode, attr.typ) after the opaque
  // *cursor ("" = start); *cursor is set to the continuation, "" when the listing is complete.
  virtual Status ListEntries(Ino parent, std::string* cursor, size_t limit,
                             std::vector<Entry>* out) = 0;
  // ListEntries plus every entry's full attributes (an entry whose node is missing keeps just
  // attr.typ). Engines that can join entries with nodes in one query override this.
  virtual Status ListEntriesPlus(Ino parent, std::string* cursor, size_t limit,
                                 std::vector<Entry>* out) {
    JFS_RETURN_IF_ERROR(ListEntries(parent, cursor, limit, out));
    std::vector<Ino> inodes;
    inodes.reserve(out->size());
    for (const Entry& e : *out) inodes.push_back(e.inode);
    std::vector<Attr> attrs;
    std::vector<bool> found;
    JFS_RETURN_IF_ERROR(GetAttrs(inodes, &attrs, &found));  // one batch on KV engines
    for (size_t i = 0; i < out->size(); ++i) {
      if (found[i]) (*out)[i].attr = attrs[i];  // a dangling entry keeps just its type
    }
    return Status::OK();
  }

  // The lookup path in one step: GetAttr(parent) (its error when that fails), then, when `name`
  // is in it (*entry_found), the entry's *ino and *type, and the child's attributes when its node
  // exists (*child_found). Engines that can join these in one query override this.
  virtual Status LookupPlus(Ino parent, std::string_view name, Attr* parent_attr, bool* entry_found,
                            Ino* ino, uint8_t* type, bool* child_found, Attr* child_attr) {
    *entry_found = *child_found = false;
    JFS_RETURN_IF_ERROR(GetAttr(parent, parent_attr));
    Status st = GetEntry(parent, name, ino, type);
    if (st.IsNotFound()) return Status::OK();
    JFS_RETURN_IF_ERROR(st);
    *entry_found = true;
    st = GetAttr(*ino, child_attr);
    if (st.IsNotFound()) return Status::OK();
    JFS_RETURN_IF_ERROR(st);
    *child_found = true;
    return Status::OK();
  }

  // Attributes of many inodes at once (Readdir with attributes): (*found)[i] tells whether
  // inodes[i] exists. Engines that can batch (Redis MGET) override it; the default loops GetAttr.
  virtual Status GetAttrs(const std::vector<Ino>& inodes, std::vector<Attr>* attrs,
                          std::vector<bool>* found) {
    attrs->assign(inodes.size(), Attr());
    found->assign(inodes.size(), false);
    for (size_t i = 0; i < inodes.size(); ++i) {
      Status st = GetAttr(inodes[i], &(*attrs)[i]);
      if (st.ok()) {
        (*found)[i] = true;
      } else if (!st.IsNotFound()) {
        return st;
      }
    }
    return Status::OK();
  }

  // A hint that this transaction is about to read GetAttr(parent), GetEntry(parent, name) and the
  // attributes of the entry's inode (lookup, create, unlink, rename, link): engines that can
  // fetch them in fewer round trips (Redis: one pipeline, or one Lua script when read-only) do so
  // now and answer those reads from what they fetched. Never required for correctness.
  virtual Status Prefetch(Ino /*parent*/, std::string_view /*name*/) { return Status::OK(); }
  // A hint that this transaction is about to read GetAttr(dir) and then list dir's entries
  // (Readdir): engines that can fetch both in one round trip (Redis: GET + HGETALL pipelined) do
  // so with the GetAttr. Never required for correctness.
  virtual Status PrefetchEntries(Ino /*dir*/) { return Status::OK(); }

  // Hard-link parents. Engines that store them (Redis p{ino}) add `delta` to the link count of
  // `parent`, deleting the field at 0; engines that derive them from entries (SQL) do nothing.
  virtual Status AdjustParent(Ino ino, Ino parent, int delta) = 0;
  // Parent inode → number of links from that parent.
  virtual Status ListParents(Ino ino, std::map<Ino, int>* parents) = 0;

  // Symlink targets (jfs_symlink / s{ino}).
  virtual Status GetSymlink(Ino ino, std::string* target) = 0;
  virtual Status PutSymlink(Ino ino, std::string_view target) = 0;
  virtual Status DeleteSymlink(Ino ino) = 0;

  // Chunks: the concatenated 24-byte slice records of chunk `indx` of `ino`.
  virtual Status GetChunk(Ino ino, uint32_t indx, std::string* records) = 0;  // ENOENT if none
  virtual Status AppendChunk(Ino ino, uint32_t indx, std::string_view records) = 0;
  virtual Status PutChunk(Ino ino, uint32_t indx, std::string_view records) = 0;  // replace
  virtual Status DeleteChunk(Ino ino, uint32_t indx) = 0;
  // Chunk indices stored for `ino`, ascending (used when deleting a file's data).
  virtual Status ListChunks(Ino ino, std::vector<uint32_t>* indices) = 0;
  // ListChunks of a file whose attr is gone, `length` being its last known length (delfiles
  // keeps it): engines with a chunk index ignore it; Redis, which has none, probes the indices
  // below it (instead of below the attr's length, which it cannot read any more).
  virtual Status ListChunksBelow(Ino ino, uint64_t /*length*/, std::vector<uint32_t>* indices) {
    return ListChunks(ino, indices);
  }

  // Slice reference counts, in real-count terms: a freshly written slice has 1 (NewSliceRef),
  // each extra chunk record pointing at it adds 1. *refs receives the count after the change.
  virtual Status NewSliceRef(uint64_t id, uint32_t size) = 0;
  virtual Status IncrSliceRef(uint64_t id, uint32_t size, int64_t delta, int64_t* refs) = 0;
  virtual Status DeleteSliceRef(uint64_t id, uint32_t size) = 0;

  // Extended attributes (jfs_xattr / x{ino}). Missing → ENODATA.
  virtual Status GetXattr(Ino ino, std::string_view name, std::string* value) = 0;
  virtual Status PutXattr(Ino ino, std::string_view name, std::string_view value) = 0;
  virtual Status DeleteXattr(Ino ino, std::string_view name) = 0;  // ENODATA if missing
  virtual Status ListXattr(Ino ino, std::vector<std::string>* names) = 0;
  virtual Status DeleteAllXattr(Ino ino) = 0;

  // Counters. Names as in format.md: "nextInode", "nextChunk", "nextSession", "nextTrash",
  // "usedSpace", "totalInodes", "nextCleanupSlices", "lastCleanup*".
  // Allocates `n` consecutive ids from a "next..." counter; *first is the first of them.
  virtual Status Alloc(std::string_view counter, uint64_t n, uint64_t* first) = 0;
  virtual Status IncrCounter(std::string_view name, int64_t delta, int64_t* value) = 0;
  virtual Status GetCounter(std::string_view name, int64_t* value) = 0;  // missing → 0, OK

  // Open-but-unlinked inodes of a session (jfs_sustained / session{sid}).
  virtual Status AddSustained(uint64_t sid, Ino ino) = 0;
  virtual Status RemoveSustained(uint64_t sid, Ino ino) = 0;
  virtual Status ListSustained(uint64_t sid, std::vector<Ino>* inodes) = 0;
  // Files whose data awaits deletion (jfs_delfile / delfiles).
  virtual Status AddDelFile(Ino ino, uint64_t length, int64_t when) = 0;
  virtual Status RemoveDelFile(Ino ino) = 0;
  // Every queued file (metadata dump). Engines that cannot list them say ENOTSUP.
  virtual Status ListDelFiles(std::vector<DelFileRecord>* out) {
    out->clear();
    return Status::NotSupported("listing deleted files is not supported by this engine");
  }

  // Slices a compaction replaced while the trash is on (delSlices / jfs_delslices): `slices` is
  // DelSliceRecord::slices. Remove is OK when missing. Engines without them say ENOTSUP.
  virtual Status AddDelSlices(uint64_t /*id*/, int64_t /*deleted*/, std::string_view /*slices*/) {
    return Status::NotSupported("delayed slices are not supported by this engine");
  }
  // One record's slices; missing → ENOENT (in write transactions the row is locked / watched).
  virtual Status GetDelSlices(uint64_t /*id*/, int64_t /*deleted*/, std::string* /*slices*/) {
    return Status::NotSupported("delayed slices are not supported by this engine");
  }
  virtual Status RemoveDelSlices(uint64_t /*id*/, int64_t /*deleted*/) {
    return Status::NotSupported("delayed slices are not supported by this engine");
  }
  virtual Status ListDelSlices(std::vector<DelSliceRecord>* out) {  // ordered by id
    out->clear();
    return Status::NotSupported("delayed slices are not supported by this engine");
  }

  // POSIX ACL rules by id (jfs_acl / acl hash). BaseMeta does not enforce ACLs yet; dump/load
  // carry them so a volume keeps them. Missing → ENOENT. Engines without them say ENOTSUP.
  virtual Status GetAcl(uint32_t /*id*/, AclRule* /*rule*/) {
    return Status::NotSupported("ACLs are not supported by this engine");
  }
  // Stores `rule` under `id` (insert or replace).
  virtual Status PutAcl(uint32_t /*id*/, const AclRule& /*rule*/) {
    return Status::NotSupported("ACLs are not supported by this engine");
  }
  // Quotas (jfs_dir_quota, jfs_user_group_quota / dirQuota*, userQuota*, groupQuota*), keyed by
  // directory inode, uid or gid. BaseMeta enforces directory quotas; user/group ones are carried
  // by dump/load.
  virtual Status PutQuota(QuotaKind /*kind*/, uint64_t /*key*/, const QuotaRecord& /*q*/) {
    return Status::NotSupported("quotas are not supported by this engine");
  }
  virtual Status ListQuotas(QuotaKind /*kind*/, std::map<uint64_t, QuotaRecord>* out) {
    out->clear();
    return Status::NotSupported("quotas are not supported by this engine");
  }
  // One quota; missing → ENOENT.
  virtual Status GetQuota(QuotaKind /*kind*/, uint64_t /*key*/, QuotaRecord* /*q*/) {
    return Status::NotSupported("quotas are not supported by this engine");
  }
  // Adds to the used space / inodes of an existing quota; a missing quota is left missing (OK).
  virtual Status IncrQuotaUsed(QuotaKind /*kind*/, uint64_t /*key*/, int64_t /*space*/,
                               int64_t /*inodes*/) {
    return Status::NotSupported("quotas are not supported by this engine");
  }
  // Removes a quota with its usage; OK when missing.
  virtual Status DeleteQuota(QuotaKind /*kind*/, uint64_t /*key*/) {
    return Status::NotSupported("quotas are not supported by this engine");
  }

  // Directory statistics (jfs_dir_stats / dirDataLength + dirUsedSpace + dirUsedInodes).
  // Missing → ENOENT (JuiceFS computes a missing one from the children, as BaseMeta does).
  virtual Status GetDirStat(Ino /*dir*/, DirStat* /*st*/) {
    return Status::NotSupported("directory statistics are not supported by this engine");
  }
  virtual Status PutDirStat(Ino /*dir*/, const DirStat& /*st*/) {  // insert or replace
    return Status::NotSupported("directory statistics are not supported by this engine");
  }
  // Adds `delta` to an existing statistic; *found = false (and nothing written) when missing.
  virtual Status IncrDirStat(Ino /*dir*/, const DirStat& /*delta*/, bool* /*found*/) {
    return Status::NotSupported("directory statistics are not supported by this engine");
  }
  virtual Status DeleteDirStat(Ino /*dir*/) {  // OK when missing
    return Status::NotSupported("directory statistics are not supported by this engine");
  }

  // File locks of one inode (format.md §2.2, §3.2): one record per (sid, owner). A flock record's
  // value is "R" or "W" (jfs_flock.ltype / lockf{ino}); a plock record's value is its packed
  // 24-byte lock records (jfs_plock.records / lockp{ino}). Put inserts or replaces and records
  // that session `sid` holds locks on the inode (Redis locked{sid}); Delete is OK if missing.
  // Engines without locks say ENOTSUP.
  virtual Status ListLocks(LockKind /*kind*/, Ino /*ino*/, std::vector<LockRecord>* out) {
    out->clear();
    return Status::NotSupported("file locks are not supported by this engine");
  }
  virtual Status PutLock(LockKind /*kind*/, Ino /*ino*/, uint64_t /*sid*/, uint64_t /*owner*/,
                         std::string_view /*value*/) {
    return Status::NotSupported("file locks are not supported by this engine");
  }
  virtual Status DeleteLock(LockKind /*kind*/, Ino /*ino*/, uint64_t /*sid*/, uint64_t /*owner*/) {
    return Status::NotSupported("file locks are not supported by this engine");
  }
  // Removes every flock and plock record of session `sid` (its close, or stale-session cleanup).
  virtual Status DeleteSessionLocks(uint64_t /*sid*/) {
    return Status::NotSupported("file locks are not supported by this engine");
  }

  // Sessions (jfs_session2 / allSessions + sessionInfos). info is the SessionInfo JSON.
  virtual Status PutSession(uint64_t sid, int64_t expire, std::string_view info) = 0;
  virtual Status DeleteSession(uint64_t sid) = 0;
  // Every registered session, by sid. Engines that cannot list them yet say ENOTSUP.
  virtual Status ListSessions(std::vector<SessionRecord>* out) {
    out->clear();
    return Status::NotSupported("listing sessions is not supported by this engine");
  }

  // The Format JSON (jfs_setting name='format' / setting).
  virtual Status GetSetting(std::string* json) = 0;  // ENOENT when not formatted
  virtual Status PutSetting(std::string_view json) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string Name() const = 0;

  // Creates every table / structure the volume uses if missing (idempotent), and the root-level
  // counters with their initial values when absent.
  virtual Status InitSchema() = 0;

  // Removes everything of this volume from the database (JuiceFS's Meta.Reset): every table /
  // key the engine owns, so that InitSchema + Init can format it again. Other data in the same
  // database (tables with another prefix, unrelated keys) is left alone. Used by `jfs destroy`
  // and by tests that need an empty database on a shared server.
  virtual Status Reset() = 0;

  // Runs `fn` in one transaction and commits when it returns OK; rolls back and returns its status
  // otherwise. On a write conflict or a transient engine error the transaction is rolled back and
  // `fn` runs again from the start, so `fn` must derive everything from the Tx and its captures.
  // `read_only` transactions may run concurrently with writers and must not write.
  virtual Status Txn(const std::function<Status(Tx&)>& fn, bool read_only = false) = 0;

  // A read-only Txn whose `fn` normally needs a single read (getattr, lookup). Engines that can
  // run one statement without a transaction (SQL: no BEGIN / COMMIT) do so, and rerun `fn` in a
  // full read-only Txn when it reads more than once. Same contract as Txn(fn, true).
  virtual Status ReadSingle(const std::function<Status(Tx&)>& fn) { return Txn(fn, true); }
};

// Engine factories. `path` / `dsn` come from the META-URL. Without `create`, a database file that
// does not exist → ENOENT and nothing is created (opening a volume must not leave files behind).
Status NewSQLiteEngine(const std::string& path, std::unique_ptr<Engine>* out, bool create = true);
// redis://[user:password@]host[:port][/db] or unix:///path.sock?db=N (meta/redis/redis_engine.h).
Status NewRedisEngine(const std::string& url, std::unique_ptr<Engine>* out);
// Any engine by META-URL (the part of NewMeta before the BaseMeta): for tools that work on the
// stored layout directly (dump, load). Same URL rules and `create_if_missing` as NewMeta.
Status NewEngine(const std::string& url, std::unique_ptr<Engine>* out,
                 bool create_if_missing = false);

}  // namespace jfs::meta
