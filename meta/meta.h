// Meta: the inode-level metadata interface of a JuiceFS volume, mirroring JuiceFS's `Meta`
// (pkg/meta/interface.go). One implementation, BaseMeta (meta/base.h), holds all the file-system
// semantics (names, permissions, hard links, rename rules, accounting, limits) and runs them over
// an Engine (meta/engine.h) that supplies small transactional primitives for one database.
//
// Conventions for every method:
//  * Returns OK or a Status whose code() is the POSIX errno a kernel file system would return for
//    the same request (ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, EACCES, EPERM, EINVAL,
//    ENAMETOOLONG, ENOSPC, EIO, ...). On error nothing was changed.
//  * Names are single path components: non-empty, no '/' or NUL, at most 255 bytes (ENAMETOOLONG).
//    "." and ".." are accepted by Lookup only.
//  * Ino 0 is accepted as an alias for the root (1).
//  * Out-pointers may be nullptr where the caller does not need the value.
//  * Every method is thread-safe. Each mutation is one engine transaction, so other clients of the
//    same database see it entirely or not at all.
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

class Meta {
 public:
  virtual ~Meta() = default;

  // Engine name: "sqlite3", "redis", "postgres", "mysql".
  virtual std::string Name() const = 0;

  // ---- volume lifecycle --------------------------------------------------------------------
  // Formats the database: creates the schema, root inode (and trash root when trash_days > 0),
  // counters, and stores `format`. On an already formatted database: EEXIST unless `force`, and
  // even with force the Name, UUID, BlockSize and Compression must not change (EINVAL).
  virtual Status Init(const Format& format, bool force) = 0;
  // Deletes the whole volume from the database (see Engine::Reset). Not undoable.
  virtual Status Reset() = 0;
  // Reads the stored Format. Not formatted → ENOENT with a message saying so.
  virtual Status Load(Format* format) = 0;
  // Registers this client as a session (allocates a session id). Call once after Load.
  virtual Status NewSession(const SessionInfo& info) = 0;
  // Flushes pending counters, releases sustained inodes of this session and unregisters it.
  virtual Status CloseSession() = 0;
  // Pushes this client's session expiry forward (the heartbeat; call at least every 12 s, as
  // JuiceFS does, so other clients do not take the session for a crashed one). No-op without one.
  virtual Status Heartbeat() = 0;
  // Every registered session of the volume (for `jfs status`).
  virtual Status ListSessions(std::vector<SessionRecord>* out) = 0;
  // How long a session stays valid without a heartbeat (seconds; default 60 = JuiceFS's
  // 5 x 12 s heartbeat). Used by NewSession and Heartbeat; set it before NewSession. Tests use
  // a value <= 0 for a session that is stale at once.
  virtual void SetSessionTTL(int64_t seconds) = 0;
  // Removes sessions whose expiry has passed (crashed clients): their flock and plock records,
  // their sustained inodes (freed as by a last close) and the session itself, one transaction per
  // session. Any live client may run it (JuiceFS does on every heartbeat). *cleaned (may be null)
  // receives the number of sessions removed.
  virtual Status CleanStaleSessions(int* cleaned) = 0;
  // Session id of this client, 0 before NewSession.
  virtual uint64_t SessionId() const = 0;
  // Writes counter deltas (usedSpace, totalInodes) buffered in memory to the database.
  virtual Status FlushStats() = 0;
  // File-system operations this client ran against the database so far (one per metadata
  // transaction), for statistics. 0 when an implementation does not count.
  virtual uint64_t Calls() const { return 0; }
  // Called with (slice id, slice size) whenever a slice's last reference is dropped, so the data
  // layer can delete its objects. Set before use; the callback must be thread-safe.
  virtual void OnDeleteSlice(std::function<void(uint64_t id, uint32_t size)> fn) = 0;

  // ---- attributes and lookup ---------------------------------------------------------------
  virtual Status StatFS(const Context& ctx, StatFS* out) = 0;
  // Checks `mask` (R_OK=4, W_OK=2, X_OK=1; 0 = existence) against attr (fetched when nullptr).
  virtual Status Access(const Context& ctx, Ino ino, int mask, const Attr* attr) = 0;
  // Resolves one name in a directory. Needs X on parent. ".." of root is root.
  virtual Status Lookup(const Context& ctx, Ino parent, std::string_view name, Ino* ino,
                        Attr* attr) = 0;
  virtual Status GetAttr(const Context& ctx, Ino ino, Attr* attr) = 0;
  // Applies the fields of `in` selected by `mask` (SetAttrMask) with chmod/chown/utimens
  // permission rules; ctime is updated. Size changes go through Truncate.
  virtual Status SetAttr(const Context& ctx, Ino ino, uint32_t mask, const Attr& in, Attr* out) = 0;

  // ---- namespace ---------------------------------------------------------------------------
  // Creates a node of `type` (file, fifo, socket, char/block device, directory). mode is masked
  // by `cumask`. Existing name → EEXIST (with *ino/*attr set to the existing inode's when
  // non-null).
  virtual Status Mknod(const Context& ctx, Ino parent, std::string_view name, uint8_t type,
                       uint16_t mode, uint16_t cumask, uint32_t rdev, Ino* ino, Attr* attr) = 0;
  virtual Status Mkdir(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                       uint16_t cumask, Ino* ino, Attr* attr) = 0;
  // Mknod(file) + Open in one step. EEXIST when the name exists.
  virtual Status Create(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                        uint16_t cumask, int open_flags, Ino* ino, Attr* attr) = 0;
  virtual Status Symlink(const Context& ctx, Ino parent, std::string_view name,
                         std::string_view target, Ino* ino, Attr* attr) = 0;
  virtual Status ReadLink(const Context& ctx, Ino ino, std::string* target) = 0;
  // Removes a non-directory name. The inode is freed when its last link goes, unless this client
  // still has it open (then it lingers with nlink 0 until the last Close).
  virtual Status Unlink(const Context& ctx, Ino parent, std::string_view name) = 0;
  virtual Status Rmdir(const Context& ctx, Ino parent, std::string_view name) = 0;
  // rename(2) / renameat2(2) semantics; flags from RenameFlag. *ino/*attr describe the moved inode.
  virtual Status Rename(const Context& ctx, Ino parent_src, std::string_view name_src,
                        Ino parent_dst, std::string_view name_dst, uint32_t flags, Ino* ino,
                        Attr* attr) = 0;
  // Adds a hard link to `ino` (not a directory: EPERM).
  virtual Status Link(const Context& ctx, Ino ino, Ino parent, std::string_view name,
                      Attr* attr) = 0;
  // Lists a directory in pages, without "." and "..". *cursor is "" on the first call and is
  // replaced by an opaque continuation; it is "" again after the last page. With plus, each entry's
  // attr is filled; otherwise only attr.typ. Needs R on the directory. The order is engine-defined.
  virtual Status Readdir(const Context& ctx, Ino dir, bool plus, std::string* cursor, size_t limit,
                         std::vector<Entry>* out) = 0;

  // ---- files -------------------------------------------------------------------------------
  // Checks access for `open_flags` (O_RDONLY/O_WRONLY/O_RDWR, O_TRUNC needs W) and counts the open
  // so an unlinked file keeps its data until Close. Directories are accepted for O_RDONLY.
  virtual Status Open(const Context& ctx, Ino ino, int open_flags, Attr* attr) = 0;
  // Open of an inode whose attributes `known` the caller has just read (the lookup that found
  // it): they are checked instead of being read again, as JuiceFS's Open does with a full Attr.
  virtual Status OpenKnown(const Context& ctx, Ino ino, int open_flags, const Attr& known) = 0;
  virtual Status Close(const Context& ctx, Ino ino) = 0;
  // The resolved slices of chunk `indx` (format.md §1.3). Missing chunk → OK with empty result.
  virtual Status Read(const Context& ctx, Ino ino, uint32_t indx, std::vector<SliceView>* out) = 0;
  // A new globally unique slice id (allocated in batches of 4096).
  virtual Status NewSlice(const Context& ctx, uint64_t* id) = 0;
  // Appends a written slice to chunk `indx` at chunk offset `pos`: length grows to cover it,
  // mtime/ctime become now, usedSpace changes by the align4K delta. Not a file → EPERM.
  virtual Status Write(const Context& ctx, Ino ino, uint32_t indx, uint32_t pos,
                       const Slice& slice) = 0;
  // Sets the length; the changed range reads as zeros. Needs W unless `skip_perm_check`
  // (ftruncate on a handle opened for writing).
  virtual Status Truncate(const Context& ctx, Ino ino, uint64_t length, bool skip_perm_check,
                          Attr* attr) = 0;

  // ---- file locks (format.md §2.2, §3.2, §9) ------------------------------------------------
  // A lock belongs to (this client's session, `owner`): the caller chooses owner ids (the FUSE
  // lock_owner; in the library a handle or the process). Different owners conflict even within
  // one client; one owner never conflicts with itself. Locks live in the database, so they hold
  // across processes and clients, and they go when their session closes or is found stale
  // (CleanStaleSessions). Locking needs no permission beyond an open file (the caller's concern).
  // Missing inode → ENOENT. A conflict → EAGAIN without wait.block; a blocking request waits as
  // LockWait says (EINTR when interrupted, ETIMEDOUT after its timeout).
  //
  // BSD flock(2): `type` kLockRead (shared), kLockWrite (exclusive) or kLockUnlock. A shared lock
  // is granted unless another owner holds an exclusive one; an exclusive lock needs no other
  // owner at all. Re-locking converts the owner's lock (not atomically in flock(2) either).
  virtual Status Flock(const Context& ctx, Ino ino, uint64_t owner, uint32_t type,
                       const LockWait& wait) = 0;
  // fcntl(F_GETLK): `*lk` is the request (type kLockRead or kLockWrite, [start, end]). When a lock
  // of another owner conflicts, *lk becomes that lock (type, range, and its pid when it belongs to
  // this client's session, else 0, as JuiceFS); otherwise lk->type becomes kLockUnlock.
  virtual Status Getlk(const Context& ctx, Ino ino, uint64_t owner, PosixLock* lk) = 0;
  // fcntl(F_SETLK / F_SETLKW): locks (kLockRead / kLockWrite) or unlocks (kLockUnlock) the bytes
  // [lk.start, lk.end] for `owner`, splitting and merging its existing ranges; lk.pid is stored
  // for Getlk. start > end → EINVAL.
  virtual Status Setlk(const Context& ctx, Ino ino, uint64_t owner, const PosixLock& lk,
                       const LockWait& wait) = 0;

  // ---- slice maintenance: compaction, copy_file_range, fallocate (meta/slice_ops.cc) --------
  // The stored (unresolved) slice records of chunk `indx`, oldest first. Missing chunk → OK,
  // empty; missing inode → ENOENT.
  virtual Status ReadChunk(const Context& ctx, Ino ino, uint32_t indx,
                           std::vector<Slice>* records) = 0;
  // Replaces the first old.size() records of chunk `indx` in one transaction, but only if they
  // are still byte-identical to `old` (records appended since stay, after the replacement).
  // The replacement is old[0, skipped) followed by `merged` (nothing when merged.id == 0: the
  // compacted records resolved to zeros only). `merged` must already be written in full; it gets
  // refcount 1. Each non-hole record of old[skipped, end) loses one reference; the slices whose
  // last reference went are returned in *released (not passed to OnDeleteSlice: the caller
  // deletes their objects later, once readers holding the old list are done). *replaced = false
  // (and nothing changed) when the list changed meanwhile; the caller then deletes `merged`.
  virtual Status CompactChunk(const Context& ctx, Ino ino, uint32_t indx,
                              const std::vector<Slice>& old, size_t skipped, const Slice& merged,
                              bool* replaced,
                              std::vector<std::pair<uint64_t, uint32_t>>* released) = 0;
  // fallocate(2) without data objects (format.md §9): mode 0 / kFallocKeepSize reserve (length
  // grows to off+size unless KEEP_SIZE), kFallocPunchHole (needs KEEP_SIZE) and kFallocZeroRange
  // record holes over [off, min(off+size, length)). size 0 → EINVAL; COLLAPSE/INSERT_RANGE and
  // unknown bits → ENOTSUP; directory → EISDIR; FIFO → EPIPE; other non-files → ENODEV;
  // immutable (or append-only for PUNCH/ZERO) → EPERM. No permission check: the caller holds a
  // handle open for writing. *attr = attributes afterwards.
  virtual Status Fallocate(const Context& ctx, Ino ino, int mode, uint64_t off, uint64_t size,
                           Attr* attr) = 0;
  // copy_file_range(2) as metadata only (format.md §9): the resolved slices of [off_in,
  // off_in+size) of `fin` (clamped to its length) are appended to `fout` at off_out, split at
  // chunk boundaries, every non-hole record taking one more slice reference; ranges without
  // data become holes so the destination reads exactly as the source. flags ≠ 0 → EINVAL;
  // overlapping ranges of one file → EINVAL; a directory → EISDIR, other non-files → EINVAL;
  // destination immutable/append-only → EPERM. *copied = bytes copied (0 at/after EOF).
  // *out_attr = the destination's attributes afterwards. No permission check (handles).
  virtual Status CopyFileRange(const Context& ctx, Ino fin, uint64_t off_in, Ino fout,
                               uint64_t off_out, uint64_t size, uint32_t flags, uint64_t* copied,
                               Attr* out_attr) = 0;

  // ---- extended attributes -----------------------------------------------------------------
  // Missing → ENODATA. Name empty → EINVAL; name > 255 or value > 64 KiB → ERANGE.
  virtual Status GetXattr(const Context& ctx, Ino ino, std::string_view name,
                          std::string* value) = 0;
  // flags: 0 upsert, kXattrCreate (EEXIST if present), kXattrReplace (ENODATA if absent).
  virtual Status SetXattr(const Context& ctx, Ino ino, std::string_view name,
                          std::string_view value, int flags) = 0;
  virtual Status ListXattr(const Context& ctx, Ino ino, std::vector<std::string>* names) = 0;
  virtual Status RemoveXattr(const Context& ctx, Ino ino, std::string_view name) = 0;

  // ---- directory statistics and quotas (format.md §9 "Quotas") -------------------------------
  // Usage by `dir`'s direct children (Σ file lengths, Σ Align4K space, entry count) as stored
  // plus this client's unflushed changes. A statistic that is missing (volumes from older
  // clients, dumps) is computed from the children and stored, as JuiceFS does. ENOTDIR for a
  // non-directory.
  virtual Status GetDirStat(const Context& /*ctx*/, Ino /*dir*/, DirStat* /*out*/) {
    return Status::NotSupported("directory statistics are not supported");
  }
  // Recursive usage of `ino` and everything below it (JuiceFS GetSummary / `juicefs info`).
  // Each hard link counts once per name.
  virtual Status GetSummary(const Context& /*ctx*/, Ino /*ino*/, Summary* /*out*/) {
    return Status::NotSupported("summaries are not supported");
  }
  // Sets the quota of directory `dir`: max_space bytes and max_inodes inodes below it (0 =
  // unlimited, negative = keep the current limit). A new quota's usage is computed from the tree
  // (the directory itself excluded, as JuiceFS does). Turns the volume's DirStats on if it was
  // off. Root only (EPERM); a non-directory → ENOTDIR; the trash → EPERM.
  virtual Status SetQuota(const Context& /*ctx*/, Ino /*dir*/, int64_t /*max_space*/,
                          int64_t /*max_inodes*/) {
    return Status::NotSupported("quotas are not supported");
  }
  // The quota of `dir` (ENOENT when it has none); usage includes this client's unflushed changes.
  virtual Status GetQuota(const Context& /*ctx*/, Ino /*dir*/, QuotaRecord* /*out*/) {
    return Status::NotSupported("quotas are not supported");
  }
  // Removes the quota of `dir` (ENOENT when it has none). Root only.
  virtual Status DeleteQuota(const Context& /*ctx*/, Ino /*dir*/) {
    return Status::NotSupported("quotas are not supported");
  }
  // Every directory quota, by directory inode.
  virtual Status ListQuotas(const Context& /*ctx*/, std::map<Ino, QuotaRecord>* /*out*/) {
    return Status::NotSupported("quotas are not supported");
  }
  // Recomputes the usage below `dir` and compares it with its quota's stored usage: *stored and
  // *computed receive both. With `repair` (root only) the computed usage is written. ENOENT when
  // `dir` has no quota.
  virtual Status CheckQuotaUsage(const Context& /*ctx*/, Ino /*dir*/, bool /*repair*/,
                                 QuotaRecord* /*stored*/, QuotaRecord* /*computed*/) {
    return Status::NotSupported("quotas are not supported");
  }

  // ---- trash and deferred deletion (format.md §6.3, §6.5) ------------------------------------
  // With Format.TrashDays > 0, Unlink / Rmdir / a Rename over an existing target move the removed
  // entry to `.trash/YYYY-MM-DD-HH/{parent}-{ino}-{name}` (UTC hour) instead of deleting it, as
  // JuiceFS does; entries already in the trash, and inodes flagged kFlagSkipTrash, go for real.
  // A file deleted for real gets a `delfiles` record in the same transaction; its data (chunks,
  // slice refs, objects) is released afterwards by DeleteFileData, so a crash in between only
  // leaves work that any client resumes.

  // rm -r: removes `name` in `parent` and, for a directory, everything below it (bottom-up).
  // skip_trash deletes for real even with trash enabled. *count (optional) = entries removed.
  virtual Status Remove(const Context& ctx, Ino parent, std::string_view name, bool skip_trash,
                        uint64_t* count) = 0;
  // Called after each commit with every file queued in delfiles, so its owner can release the
  // data in the background (DeleteFileData). Without a callback the data is released at once,
  // in the calling thread. The callback must be thread-safe and must not block for long.
  virtual void OnDeleteFile(std::function<void(Ino ino, uint64_t length)> fn) = 0;
  // Releases the data of a queued file (one transaction per chunk: slice refs decremented,
  // slices whose last reference goes are handed to OnDeleteSlice), then drops its delfiles record.
  // Idempotent; a file whose inode still exists is only dequeued.
  virtual Status DeleteFileData(Ino ino, uint64_t length) = 0;
  // Every file waiting in delfiles.
  virtual Status ListDelFiles(std::vector<DelFileRecord>* out) = 0;
  // Deletes for real the trash hour directories older than TrashDays (+2 h, as JuiceFS) at `now`
  // (unix seconds), or all of them with `all`, with their entries. *removed = entries deleted.
  virtual Status CleanupTrash(int64_t now, bool all, uint64_t* removed) = 0;
  // Releases the slices compactions replaced while the trash was on (delSlices, §6.2) once
  // TrashDays have passed since (all: every record): their references drop, slices reaching none
  // are deleted (OnDeleteSlice). *released = records handled. CleanupTrash runs it first.
  virtual Status CleanupDelSlices(int64_t now, bool all, uint64_t* released) = 0;
  // JuiceFS's setIfSmall gate for background jobs run by one client at a time: when counter
  // `name` is <= now - window, sets it to now and *won = true; otherwise *won = false.
  virtual Status TryGate(std::string_view name, int64_t now, int64_t window, bool* won) = 0;
};

// Name of a removed entry in a trash hour directory: "{parent}-{ino}-{name}", cut to 255 bytes.
std::string TrashEntryName(Ino parent, Ino ino, std::string_view name);

// Opens the metadata engine named by a META-URL: "sqlite3:///abs/path.db", "sqlite3://rel.db"
// (more schemes come with later engines). Connects but does not read the Format. Unknown scheme
// or malformed URL → EINVAL with a message listing the supported schemes. Only with
// `create_if_missing` (formatting) is a missing embedded database created; otherwise → ENOENT.
Status NewMeta(const std::string& url, std::unique_ptr<Meta>* out, bool create_if_missing = false);

}  // namespace jfs::meta
