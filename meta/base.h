// BaseMeta: the one implementation of Meta (meta/meta.h). It holds every file-system rule (names,
// permissions, hard links, rename, deletion, accounting, limits) and runs each operation as one
// Engine transaction over the Tx primitives (meta/engine.h); engines supply storage only.
//
// In-memory state kept by one BaseMeta (one client):
//  * inode and slice-id batches (1024 / 4096 ids per counter increment, JuiceFS inodeBatch /
//    sliceIdBatch);
//  * open counts per inode, so a file unlinked (or a directory removed) while open here stays
//    (nlink 0, registered as "sustained" for this session) until the last Close;
//  * usedSpace / totalInodes deltas, written to the counters by FlushStats. BaseMeta starts no
//    threads: the owner calls FlushStats periodically (and CloseSession does).
//
// Transactions may be re-run by the engine after a conflict, so every transaction body derives its
// results from the Tx only; side effects outside the database (counter deltas, OnDeleteSlice
// callbacks) are collected per attempt and applied once, after the commit.
//
// Where this deliberately differs from JuiceFS (base.go / sql.go):
//  * errno values follow Linux: unlink of a directory is EISDIR, sticky-bit refusals are EPERM,
//    explicit utimens by a non-owner is EPERM;
//  * Truncate deletes chunks that lie wholly beyond the new length inside its transaction (a
//    removed file's data goes through delfiles as in JuiceFS);
//  * StatFS reports usedSpace exactly (JuiceFS rounds it up to 64 KiB);
//  * directory mtime is updated on every entry change (no --skip-dir-mtime window).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "meta/engine.h"
#include "meta/meta.h"

namespace jfs::meta {

class BaseMeta : public Meta {
 public:
  explicit BaseMeta(std::unique_ptr<Engine> engine);
  ~BaseMeta() override;

  std::string Name() const override;

  Status Init(const Format& format, bool force) override;
  Status Load(Format* format) override;
  Status Reset() override;
  Status NewSession(const SessionInfo& info) override;
  Status Heartbeat() override;
  Status ListSessions(std::vector<SessionRecord>* out) override;
  Status CloseSession() override;
  void SetSessionTTL(int64_t seconds) override;
  Status CleanStaleSessions(int* cleaned) override;
  uint64_t SessionId() const override;
  Status FlushStats() override;
  uint64_t Calls() const override { return txns_.load(std::memory_order_relaxed); }
  void OnDeleteSlice(std::function<void(uint64_t id, uint32_t size)> fn) override;

  Status StatFS(const Context& ctx, struct StatFS* out) override;
  Status Access(const Context& ctx, Ino ino, int mask, const Attr* attr) override;
  Status Lookup(const Context& ctx, Ino parent, std::string_view name, Ino* ino,
                Attr* attr) override;
  Status GetAttr(const Context& ctx, Ino ino, Attr* attr) override;
  Status SetAttr(const Context& ctx, Ino ino, uint32_t mask, const Attr& in, Attr* out) override;

  Status Mknod(const Context& ctx, Ino parent, std::string_view name, uint8_t type, uint16_t mode,
               uint16_t cumask, uint32_t rdev, Ino* ino, Attr* attr) override;
  Status Mkdir(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
               uint16_t cumask, Ino* ino, Attr* attr) override;
  Status Create(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                uint16_t cumask, int open_flags, Ino* ino, Attr* attr) override;
  Status Symlink(const Context& ctx, Ino parent, std::string_view name, std::string_view target,
                 Ino* ino, Attr* attr) override;
  Status ReadLink(const Context& ctx, Ino ino, std::string* target) override;
  Status Unlink(const Context& ctx, Ino parent, std::string_view name) override;
  Status Rmdir(const Context& ctx, Ino parent, std::string_view name) override;
  Status Rename(const Context& ctx, Ino parent_src, std::string_view name_src, Ino parent_dst,
                std::string_view name_dst, uint32_t flags, Ino* ino, Attr* attr) override;
  Status Link(const Context& ctx, Ino ino, Ino parent, std::string_view name, Attr* attr) override;
  Status Readdir(const Context& ctx, Ino dir, bool plus, std::string* cursor, size_t limit,
                 std::vector<Entry>* out) override;

  Status Open(const Context& ctx, Ino ino, int open_flags, Attr* attr) override;
  Status OpenKnown(const Context& ctx, Ino ino, int open_flags, const Attr& known) override;
  Status Close(const Context& ctx, Ino ino) override;
  Status Read(const Context& ctx, Ino ino, uint32_t indx, std::vector<SliceView>* out) override;
  Status NewSlice(const Context& ctx, uint64_t* id) override;
  Status Write(const Context& ctx, Ino ino, uint32_t indx, uint32_t pos,
               const Slice& slice) override;
  Status Truncate(const Context& ctx, Ino ino, uint64_t length, bool skip_perm_check,
                  Attr* attr) override;

  Status Flock(const Context& ctx, Ino ino, uint64_t owner, uint32_t type,
               const LockWait& wait) override;
  Status Getlk(const Context& ctx, Ino ino, uint64_t owner, PosixLock* lk) override;
  Status Setlk(const Context& ctx, Ino ino, uint64_t owner, const PosixLock& lk,
               const LockWait& wait) override;
  // meta/slice_ops.cc
  Status ReadChunk(const Context& ctx, Ino ino, uint32_t indx,
                   std::vector<Slice>* records) override;
  Status CompactChunk(const Context& ctx, Ino ino, uint32_t indx, const std::vector<Slice>& old,
                      size_t skipped, const Slice& merged, bool* replaced,
                      std::vector<std::pair<uint64_t, uint32_t>>* released) override;
  Status Fallocate(const Context& ctx, Ino ino, int mode, uint64_t off, uint64_t size,
                   Attr* attr) override;
  Status CopyFileRange(const Context& ctx, Ino fin, uint64_t off_in, Ino fout, uint64_t off_out,
                       uint64_t size, uint32_t flags, uint64_t* copied, Attr* out_attr) override;

  Status GetXattr(const Context& ctx, Ino ino, std::string_view name, std::string* value) override;
  Status SetXattr(const Context& ctx, Ino ino, std::string_view name, std::string_view value,
                  int flags) override;
  Status ListXattr(const Context& ctx, Ino ino, std::vector<std::string>* names) override;
  Status RemoveXattr(const Context& ctx, Ino ino, std::string_view name) override;

  // Directory statistics and quotas (meta/quota.cc).
  Status GetDirStat(const Context& ctx, Ino dir, DirStat* out) override;
  Status GetSummary(const Context& ctx, Ino ino, Summary* out) override;
  Status SetQuota(const Context& ctx, Ino dir, int64_t max_space, int64_t max_inodes) override;
  Status GetQuota(const Context& ctx, Ino dir, QuotaRecord* out) override;
  Status DeleteQuota(const Context& ctx, Ino dir) override;
  Status ListQuotas(const Context& ctx, std::map<Ino, QuotaRecord>* out) override;
  Status CheckQuotaUsage(const Context& ctx, Ino dir, bool repair, QuotaRecord* stored,
                         QuotaRecord* computed) override;
  // Trash and deferred deletion: meta/base_trash.cc.
  Status Remove(const Context& ctx, Ino parent, std::string_view name, bool skip_trash,
                uint64_t* count) override;
  void OnDeleteFile(std::function<void(Ino ino, uint64_t length)> fn) override;
  Status DeleteFileData(Ino ino, uint64_t length) override;
  Status ListDelFiles(std::vector<DelFileRecord>* out) override;
  Status CleanupTrash(int64_t now, bool all, uint64_t* removed) override;
  Status CleanupDelSlices(int64_t now, bool all, uint64_t* released) override;
  Status TryGate(std::string_view name, int64_t now, int64_t window, bool* won) override;

 private:
  // What a committed transaction changes outside the database. Reset before every attempt.
  struct Effects {
    int64_t space = 0;                                        // usedSpace delta
    int64_t inodes = 0;                                       // totalInodes delta
    std::vector<std::pair<uint64_t, uint32_t>> freed_slices;  // (id, size) whose last ref went
    std::vector<std::pair<Ino, DirStat>> dir_deltas;          // directory statistics deltas
    std::vector<std::pair<Ino, DirStat>> quota_deltas;        // quota usage (space, inodes)
    std::vector<std::pair<Ino, uint64_t>> deleted_files;      // (ino, length) queued in delfiles
  };
  using TxnBody = std::function<Status(Tx&, Effects&)>;

  // Runs `body` as one write transaction and applies its Effects after the commit.
  Status Mutate(const TxnBody& body);
  Status ReadOnly(const std::function<Status(Tx&)>& body);
  // ReadOnly for a body that normally reads once (Engine::ReadSingle).
  Status ReadSingle(const std::function<Status(Tx&)>& body);
  void Apply(const Effects& fx);

  Status NextInode(Ino* ino);
  // Adds counter deltas to usedSpace / totalInodes.
  static Status WriteStats(Tx& tx, int64_t space, int64_t inodes);
  void SetFormat(const Format& f);  // keeps the limits the quota checks need
  // ENOSPC when adding `space` bytes / `inodes` inodes would exceed the volume's Capacity / Inodes.
  Status CheckQuota(Tx& tx, int64_t space, int64_t inodes);

  // Shared bodies of the create family and of every way a link goes away.
  Status DoMknod(const Context& ctx, Ino parent, std::string_view name, uint8_t type, uint16_t mode,
                 uint16_t cumask, uint32_t rdev, std::string_view target, Ino* ino, Attr* attr,
                 bool open);
  // Drops one link to `ino` (whose current attr is `*attr`) from `parent`; the directory entry
  // itself is the caller's business. A directory, or a non-directory losing its last link, is freed
  // unless it is a file or directory open in this client, which stays with nlink 0 as a sustained
  // inode.
  Status DropLink(Tx& tx, Effects& fx, Ino parent, Ino ino, Attr* attr);
  // Deletes an inode for good: attr, xattrs, symlink target, file data; counters follow.
  Status FreeInode(Tx& tx, Effects& fx, Ino ino, const Attr& attr);
  // Deletes chunk `indx` of `ino`, releasing one reference of each slice it names.
  Status DeleteChunk(Tx& tx, Effects& fx, Ino ino, uint32_t indx);
  // Releases one reference of slice (id, size); when that was the last, deletes its counter and
  // appends it to `*freed` (its objects are the caller's to delete after commit). A slice id 0
  // (a hole) or one already released is nothing to do.
  static Status DropSliceRef(Tx& tx, uint64_t id, uint32_t size,
                             std::vector<std::pair<uint64_t, uint32_t>>* freed);

  // Runs `attempt` (one lock transaction; EAGAIN = conflict) until it succeeds, fails otherwise,
  // or `wait` gives up (LockWait). Waiters also wake when this client releases a lock.
  Status WaitLock(const LockWait& wait, const std::function<Status()>& attempt);
  void LockReleased();
  // Frees the sustained inodes of session `sid`, drops its locks and unregisters it (one tx).
  Status DropSession(Tx& tx, Effects& fx, uint64_t sid);
  // ---- directory statistics and quotas (meta/quota.cc) ----
  // JuiceFS keeps both as in-memory deltas flushed periodically (dirStats every second, quotas
  // every 3 s); here FlushStats writes both. A directory's statistic covers its direct children,
  // a quota everything below its directory; hard links count once per name.
  //
  // The directories with a quota on the path from `dir` up to the root (nearest first); empty
  // when the volume has no quota (no reads then).
  Status QuotaRoots(Tx& tx, Ino dir, std::vector<Ino>* roots);
  // EDQUOT when adding `space` / `inodes` below any of `roots` exceeds its quota, counting the
  // stored usage and this client's unflushed deltas.
  Status CheckDirQuotas(Tx& tx, const std::vector<Ino>& roots, int64_t space, int64_t inodes);
  // Charges a change of one entry of directory `parent` (length, space, inodes deltas) to the
  // parent's statistic and to every quota above it; quotas are checked first when `check` and
  // the change grows.
  Status ChargeEntry(Tx& tx, Effects& fx, Ino parent, const DirStat& delta, bool check);
  // ChargeEntry for every name of file `ino` (attr `a`, before the change): the stored parent,
  // or each hard-link parent as many times as it links the file.
  Status ChargeFile(Tx& tx, Effects& fx, Ino ino, const Attr& a, const DirStat& delta, bool check);
  // Quota bookkeeping of a rename between two directories: moves the usage of the moved tree(s)
  // from the quotas above `from` only to those above `to` only, checking those.
  // Statistics and quotas of a rename of `si` (attr `sa`) from `ps` to `pd`, replacing or
  // exchanging with `di` (0 when the target name is free; attr `da`).
  Status ChargeRename(Tx& tx, Effects& fx, Ino ps, Ino pd, Ino si, const Attr& sa, Ino di,
                      const Attr& da, bool exchange);
  // What one entry naming an inode with attr `a` (nullptr: unknown, a dangling entry) adds to
  // its directory, times `sign`.
  static DirStat EntryUsage(const Attr* a, int sign);
  // New directory `ino`: an empty statistic. Removed directory: its statistic and quota go.
  Status InitDirStat(Tx& tx, Ino ino);
  Status DropDirStat(Tx& tx, Ino ino);
  // Space and inodes of `ino` and everything below it (a directory counts itself).
  static Status TreeUsage(Tx& tx, Ino ino, const Attr& a, int64_t* space, int64_t* inodes,
                          Summary* summary = nullptr);
  // Statistic of `dir` computed from its children.
  static Status ComputeDirStat(Tx& tx, Ino dir, DirStat* out);
  Status FlushDirStats();
  Status ReloadQuotas();  // the set of quota directories and Format.DirStats
  void AddPending(const Effects& fx);
  // ---- trash (meta/base_trash.cc) ----
  // The trash hour directory for removals from `parent` now (created on demand, as JuiceFS's
  // checkTrash), or 0 when the removal is for real (trash off, `parent` already in the trash).
  Status TrashDir(Ino parent, Ino* trash);
  // Moves the link `name` -> `ino` (attr *attr), already removed from `parent`, into hour
  // directory `trash` as "{parent}-{ino}-{name}" (nlink unchanged). *moved = false when the link
  // must be dropped for real instead (skip-trash flag; a hard link whose trash name exists).
  Status MoveToTrash(Tx& tx, Ino parent, std::string_view name, Ino ino, Attr* attr, Ino trash,
                     bool* moved);
  Status UnlinkImpl(const Context& ctx, Ino parent, std::string_view name, bool skip_trash);
  Status RmdirImpl(const Context& ctx, Ino parent, std::string_view name, bool skip_trash);
  Status RemoveTree(const Context& ctx, Ino dir, bool skip_trash, int depth, uint64_t* count);
  // Queues a removed file's data in delfiles (inside the removing transaction); an empty file
  // without chunks needs nothing.
  Status QueueFileData(Tx& tx, Effects& fx, Ino ino, uint64_t length);
  // After a commit: hands queued files to OnDeleteFile, or releases them here without one.
  void ReleaseDeletedFiles(const std::vector<std::pair<Ino, uint64_t>>& files);

  bool IsOpen(Ino ino);
  // Forgets one open of `ino`; frees it if it was the last one and the inode has no links left.
  Status ReleaseOpen(Ino ino);
  // Open and OpenKnown: counts the open, then checks `known` (or the attributes read now, when
  // null); on success *out (optional) receives the attributes checked.
  Status OpenWith(const Context& ctx, Ino ino, int open_flags, const Attr* known, Attr* out);

  std::unique_ptr<Engine> engine_;

  std::mutex mu_;  // guards on_delete_slice_, on_delete_file_
  std::function<void(uint64_t, uint32_t)> on_delete_slice_;
  std::atomic<uint64_t> capacity_{0}, inode_limit_{0};  // Format.Capacity / Format.Inodes
  std::atomic<int> trash_days_{0};                      // Format.TrashDays
  std::function<void(Ino, uint64_t)> on_delete_file_;   // guarded by mu_
  std::mutex trash_mu_;                                 // guards the cached hour directory
  std::string trash_hour_name_;
  Ino trash_hour_ino_ = 0;
  std::atomic<uint64_t> sid_{0};
  std::atomic<uint64_t> txns_{0};  // file-system operations run (Calls)
  std::string session_json_;       // written by NewSession before any Heartbeat

  std::mutex ino_mu_;
  uint64_t next_ino_ = 0, ino_end_ = 0;  // [next, end) of the local inode batch
  std::mutex slice_mu_;
  uint64_t next_slice_ = 0, slice_end_ = 0;

  std::mutex open_mu_;
  std::unordered_map<Ino, int> open_counts_;
  // Open inodes whose last link this client removed (kept as sustained): the only ones whose last
  // Close has anything to delete, since other clients free an inode they unlink at once (as
  // JuiceFS's removedFiles). May hold inodes whose unlink did not commit; that costs a check.
  std::unordered_set<Ino> sustained_here_;  // guarded by open_mu_

  std::atomic<int64_t> session_ttl_{60};
  // Bumped and notified on every lock release of this client, so local waiters retry at once.
  std::mutex lock_mu_;
  std::condition_variable lock_cv_;
  uint64_t lock_releases_ = 0;  // guarded by lock_mu_

  std::mutex flush_mu_;  // one FlushStats at a time
  std::atomic<int64_t> pending_space_{0};
  std::atomic<int64_t> pending_inodes_{0};

  std::atomic<bool> dir_stats_{false};  // Format.DirStats
  std::mutex quota_mu_;                 // guards the three members below
  // Directories with a quota (reloaded by Heartbeat); replaced, never changed in place, so a
  // transaction can walk a snapshot without the lock.
  std::shared_ptr<const std::set<Ino>> quota_dirs_;
  std::map<Ino, DirStat> pending_dirs_;    // unflushed directory statistics deltas
  std::map<Ino, DirStat> pending_quotas_;  // unflushed quota usage deltas (length unused)
  std::mutex dir_flush_mu_;                // one FlushDirStats at a time
};

}  // namespace jfs::meta
