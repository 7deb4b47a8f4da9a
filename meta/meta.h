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
};

// Opens the metadata engine named by a META-URL: "sqlite3:///abs/path.db", "sqlite3://rel.db"
// (more schemes come with later engines). Connects but does not read the Format. Unknown scheme
// or malformed URL → EINVAL with a message listing the supported schemes. Only with
// `create_if_missing` (formatting) is a missing embedded database created; otherwise → ENOENT.
Status NewMeta(const std::string& url, std::unique_ptr<Meta>* out, bool create_if_missing = false);

}  // namespace jfs::meta
