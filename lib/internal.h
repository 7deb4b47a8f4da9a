// Internals of the lib layer shared by volume.cc, io.cc, file.cc and path.cc. Not part of any
// contract: only lib/ includes this.
//
// Ownership: a Volume (VolumeImpl) owns a shared VolumeCore; every File and DirStream holds a
// shared_ptr to the same core, so a handle outliving its Volume stays memory-safe and answers
// EBADF once the core is closed.
//
// Locking order (never acquired in the other direction):
//   FileImpl::mu_  →  InodeState::mu  →  VolumeCore::mu_
// No thread holds two InodeState::mu at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chunk/chunk_store.h"
#include "lib/volume.h"
#include "meta/meta.h"
#include "object/object_store.h"

namespace jfs::lib {

// Writes a warning to stderr (errors that must not fail the caller, e.g. a failed object delete).
void LogWarning(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- paths ------------------------------------------------------------------------------------

struct ParsedPath {
  std::deque<std::string> comps;
  bool absolute = false;
  bool trailing_slash = false;  // the path ends with '/' after at least one component
};

// Splits `path` into components (empty ones from duplicate slashes dropped). `require_absolute`
// rejects relative paths (EINVAL); empty → ENOENT; a component over 255 bytes → ENAMETOOLONG;
// a NUL byte → EINVAL.
Status ParsePath(std::string_view path, bool require_absolute, ParsedPath* out);

// Turns an inode that meta Open / Create already counted as open into a handle of `core`: the
// open-inode table, O_TRUNC (W permission was checked by meta Open), the handle registry. On
// failure the meta open is released. `*out_attr` (optional) = `attr` after the truncation, with
// the length this Volume has buffered. Used by the path API (Volume::OpenFile) and InodeFs alike.
class VolumeCore;
Status MakeHandle(const std::shared_ptr<VolumeCore>& core, const Context& ctx, Ino ino, int flags,
                  bool created, const meta::Attr& attr, std::shared_ptr<File>* out,
                  meta::Attr* out_attr);

// statvfs of the volume from the metadata engine's usage counters (both APIs).
Status VolumeStatFs(VolumeCore& core, const Context& ctx, StatVfs* out);

// The meta type of mknod(2)'s `mode` (S_IFMT bits: 0 or S_IFREG, S_IFIFO, S_IFSOCK, and
// S_IFCHR/S_IFBLK for root only); EPERM / EINVAL otherwise.
Status MknodType(const Context& ctx, uint32_t mode, uint8_t* type);

// ---- per-inode data state ---------------------------------------------------------------------

// A slice being written: bytes live in the chunk layer's writer until Commit.
struct PendingSlice {
  std::unique_ptr<chunk::SliceWriter> writer;
  uint64_t id = 0;
  uint32_t pos = 0;      // chunk offset of slice byte 0
  uint32_t len = 0;      // bytes written so far (slice-relative end)
  uint32_t flushed = 0;  // slice offset below which blocks were handed to FlushTo: immutable now
};

// State of one regular file that is open in this Volume, shared by all its Files.
struct InodeState {
  explicit InodeState(Ino i) : ino(i) {}
  const Ino ino;
  int open_count = 0;  // guarded by VolumeCore::mu_

  std::mutex mu;  // guards everything below
  // Length as committed to meta (as last seen by this client).
  uint64_t length = 0;
  // Uncommitted slices per chunk index, in creation order (commit order).
  std::map<uint32_t, std::vector<PendingSlice>> pending;
  uint64_t pending_end = 0;  // max file offset covered by a pending slice, 0 when none
  // Resolved slices per chunk (close-to-open: dropped on open and on our own writes/truncates).
  std::unordered_map<uint32_t, std::shared_ptr<const std::vector<meta::SliceView>>> slices;
  // Slices this client committed per chunk since the chunk was last queued for compaction
  // (lib/slice_ops.cc; format.md §6.2 triggers on many slices in one chunk).
  std::unordered_map<uint32_t, uint32_t> commits_since_compact;
  // First error of a commit nobody waited for (buffer pressure from another file); reported by
  // the next Write/Flush/Fsync/Close of any handle.
  Status error;

  uint64_t LocalLength() const { return length > pending_end ? length : pending_end; }
  bool HasPending() const { return !pending.empty(); }
};

class FileImpl;

// Everything a Volume's handles share.
class VolumeCore {
 public:
  VolumeCore(const VolumeOptions& opts, meta::Format format,
             std::shared_ptr<object::ObjectStore> store, std::unique_ptr<chunk::ChunkStore> chunks,
             std::unique_ptr<meta::Meta> meta);
  ~VolumeCore();

  meta::Meta& meta() { return *meta_; }
  chunk::ChunkStore& chunks() { return *chunks_; }
  // The volume's data store (names relative to the volume; encrypted when the volume is).
  object::ObjectStore& store() { return *store_; }
  const meta::Format& format() const { return format_; }
  const VolumeOptions& options() const { return opts_; }
  bool read_only() const { return opts_.read_only; }
  bool closed() const { return closed_.load(std::memory_order_acquire); }
  void MarkClosed() { closed_.store(true, std::memory_order_release); }

  // Open-inode table. Acquire registers one more open handle and resets the caches from `attr`
  // (close-to-open); Release drops it.
  std::shared_ptr<InodeState> AcquireInode(Ino ino, const meta::Attr& attr);
  void ReleaseInode(const std::shared_ptr<InodeState>& st);
  // The state of `ino` if some handle of this Volume has it open.
  std::shared_ptr<InodeState> FindInode(Ino ino);

  // Registry of open files, so Close can flush and invalidate them.
  void RegisterFile(uint64_t* id, const std::shared_ptr<FileImpl>& f);
  void UnregisterFile(uint64_t id);
  std::vector<std::shared_ptr<FileImpl>> OpenFiles();

  // ---- data path (io.cc). Functions taking `InodeState&` expect st.mu to be held. ----
  // Buffers `size` bytes at `off` into pending slices, committing as the rules require.
  Status WriteLocked(InodeState& st, const char* buf, uint64_t size, uint64_t off);
  // Commits every pending slice of the inode / of chunk `indx`, in creation order.
  Status CommitAllLocked(InodeState& st);
  // Commits chunks in index order until the volume is under opts_.buffer_size again.
  Status CommitOldestLocked(InodeState& st);
  Status CommitChunkLocked(InodeState& st, uint32_t indx);
  // Reads [off, off+size) clamped to the local length; *n = bytes produced. Takes st.mu itself
  // (dropped while object data is fetched).
  Status Read(InodeState& st, char* buf, uint64_t size, uint64_t off, uint64_t* n);
  // Copies the part of [off, end) that lies in chunk `indx` into buf (which starts at file offset
  // `off`), resolving it through `views` (the chunk's slice list); holes read as zeros.
  Status ReadChunkPiece(uint64_t ino, uint32_t indx, const std::vector<meta::SliceView>& views,
                        uint64_t off, uint64_t end, char* buf);
  // Flushes pending writes then truncates in meta and resets the caches. Takes st.mu itself.
  Status Truncate(const Context& ctx, InodeState& st, uint64_t length, bool skip_perm_check,
                  meta::Attr* attr);
  // After a write: if the volume holds more than buffer_size unflushed bytes, commits other open
  // inodes' slices (errors become their sticky errors). Call with no inode lock held.
  void RelieveBufferPressure();

  // ---- compaction (lib/slice_ops.cc) ----
  // Compacts chunk `indx` of `ino` now (format.md §6.2): reads the resolved bytes of its first
  // ≤1000 records (leading large, still visible slices are skipped), writes them as one new
  // slice, and swaps the records in one metadata transaction if they did not change meanwhile
  // (else the new slice is deleted and nothing happens). Old slices that lost their last
  // reference are deleted after opts.compact_delete_delay (DeleteDueSlices), so readers holding the
  // old list still read correct bytes; a reader that finds a block gone re-resolves (Read).
  // *did (optional) tells whether the chunk was rewritten; *written adds the bytes uploaded.
  // `background` (the write-path trigger) also skips a chunk whose new slices are small next to
  // what the rewrite would upload (< 1/8 of it, until 1000 records): this bounds the write
  // amplification of random small overwrites of a big chunk.
  Status CompactChunk(Ino ino, uint32_t indx, bool* did, uint64_t* written,
                      bool background = false);
  // Queues a background compaction of (ino, indx) (de-duplicated; dropped when over 10 are
  // queued, as JuiceFS skips them when busy). Starts the worker thread on first use.
  void ScheduleCompaction(Ino ino, uint32_t indx);
  // Deletes the released slices whose delay passed (all of them with `all`). Called by the
  // Volume's background tick and at Close.
  void DeleteDueSlices(bool all);
  // Stops the compaction worker (waits for the running compaction). Idempotent.
  void StopCompaction();
  // Slices released by compactions and awaiting deletion.
  size_t delayed_slices();
  uint64_t buffered_bytes() const { return buffered_.load(); }

  // ---- locks (file.cc) ----
  // Owner of POSIX (process-associated) locks taken through this Volume, and of handle locks.
  uint64_t process_lock_owner() const { return process_owner_; }
  static uint64_t HandleLockOwner(uint64_t registry_id) { return (1ull << 63) | registry_id; }
  // Wait settings for a blocking request: the volume's timeout; interrupted when it closes.
  meta::LockWait LockWaitFor(const meta::LockWait& in) const;
  // Process POSIX locks: remembers that the process may hold some on `ino`; Take... returns
  // (and forgets) whether it might, so closing a handle releases them only when needed.
  void NoteProcessLock(Ino ino);
  bool TakeProcessLock(Ino ino);

  // ---- durability (io.cc) ----
  // Records that slice (id, size) of `ino` was committed but its blocks may not be durable yet
  // (ChunkStore::Sync). Bounded: past kMaxUnsynced slices the records give way to "sync all".
  void NoteUnsynced(Ino ino, uint64_t id, uint32_t size);
  // Data recorded otherwise than by this process's writes to the inode (copy_file_range, clone)
  // may reference unsynced slices of other inodes: the next SyncInode syncs everything.
  void NoteUnsyncedAll();
  // Makes every slice committed for `ino` (through any handle) durable. Serialized, so that an
  // fsync never returns while another one is still flushing the same slices.
  Status SyncInode(Ino ino);

  // Internal credentials for data-path meta calls (permissions were checked at open).
  const Context& data_ctx() const { return data_ctx_; }

 private:
  PendingSlice* FindWritable(std::vector<PendingSlice>& list, uint32_t cpos, uint32_t n);
  void RecomputePendingEnd(InodeState& st);

  const VolumeOptions opts_;
  const meta::Format format_;
  std::shared_ptr<object::ObjectStore> store_;
  // Declared before meta_ so it is destroyed after it: meta's OnDeleteSlice callback uses it.
  std::unique_ptr<chunk::ChunkStore> chunks_;
  std::unique_ptr<meta::Meta> meta_;
  Context data_ctx_;
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> buffered_{0};

  const uint64_t process_owner_;
  std::mutex lock_mu_;
  std::unordered_set<Ino> process_locked_;  // guarded by lock_mu_
  // After a commit to chunk `indx` (st.mu held): queues a compaction every kCompactEvery slices.
  void MaybeCompact(InodeState& st, uint32_t indx);
  void CompactionLoop();
  std::mutex compact_mu_;  // guards the compaction queue, worker and delayed deletions
  std::condition_variable compact_cv_;
  std::deque<std::pair<Ino, uint32_t>> compact_queue_;
  std::set<std::pair<Ino, uint32_t>> compact_queued_;  // queued or being compacted
  // Chunks triggered again while being compacted: the running pass read the older records, so
  // they are queued once more when it ends instead of the trigger being lost.
  std::set<std::pair<Ino, uint32_t>> compact_again_;
  std::optional<std::pair<Ino, uint32_t>> compact_running_;
  std::thread compact_worker_;
  bool compact_stop_ = false;
  // (due time in steady-clock seconds, slice id, slice size)
  std::deque<std::tuple<double, uint64_t, uint32_t>> delayed_deletes_;

  static constexpr size_t kMaxUnsynced = 65536;
  std::mutex sync_run_mu_;  // held through SyncInode
  std::mutex unsynced_mu_;  // guards the three below
  std::unordered_map<Ino, std::vector<std::pair<uint64_t, uint32_t>>> unsynced_;
  size_t unsynced_count_ = 0;
  bool unsynced_all_ = false;

  std::mutex mu_;  // guards inodes_, files_, next_file_id_
  std::unordered_map<Ino, std::shared_ptr<InodeState>> inodes_;
  std::map<uint64_t, std::weak_ptr<FileImpl>> files_;
  uint64_t next_file_id_ = 1;
};

// ---- handles (file.cc) ------------------------------------------------------------------------

class FileImpl : public File, public std::enable_shared_from_this<FileImpl> {
 public:
  // `st` is null for directories.
  FileImpl(std::shared_ptr<VolumeCore> core, const Context& ctx, Ino ino, int flags, bool is_dir,
           std::shared_ptr<InodeState> st);
  ~FileImpl() override;

  Ino inode() const override { return ino_; }
  int flags() const override { return flags_; }
  Status Read(char* buf, uint64_t size, uint64_t* n) override;
  Status Write(const char* buf, uint64_t size, uint64_t* n) override;
  Status Pread(char* buf, uint64_t size, uint64_t offset, uint64_t* n) override;
  Status Pwrite(const char* buf, uint64_t size, uint64_t offset, uint64_t* n) override;
  Status Lseek(int64_t offset, int whence, uint64_t* pos) override;
  Status Ftruncate(uint64_t length) override;
  Status Flush() override;
  Status Fsync() override;
  Status Fstat(Attr* attr) override;
  Status Close() override;
  Status Flock(uint32_t type, const meta::LockWait& wait) override;
  Status Getlk(bool ofd, meta::PosixLock* lk) override;
  Status Setlk(bool ofd, const meta::PosixLock& lk, const meta::LockWait& wait) override;

  // For the slice operations (lib/slice_ops.cc): runs `fn` while the handle is held open, after
  // checking it is open (EBADF), a regular file (EISDIR for a directory) and open for reading /
  // writing as asked (EBADF). The inode lock is not held.
  Status WithData(bool need_read, bool need_write,
                  const std::function<Status(VolumeCore&, InodeState&, const Context&)>& fn);
  void set_registry_id(uint64_t id) { registry_id_ = id; }

 private:
  bool readable() const;
  bool writable() const;
  Status CheckOpen() const;  // requires mu_ (shared or exclusive)
  Status ReadAt(char* buf, uint64_t size, uint64_t offset, uint64_t* n);
  // Writes at `offset`, or at the end of file when `append`; *at = where the bytes went.
  Status WriteAt(const char* buf, uint64_t size, uint64_t offset, bool append, uint64_t* n,
                 uint64_t* at);
  Status FlushData();

  const std::shared_ptr<VolumeCore> core_;
  const Context ctx_;
  const Ino ino_;
  const int flags_;
  const bool is_dir_;
  std::shared_ptr<InodeState> st_;
  uint64_t registry_id_ = 0;

  // Exclusive for Read/Write/Lseek (they use the position) and Close; shared for the rest.
  std::shared_mutex mu_;
  uint64_t pos_ = 0;
  bool closed_ = false;
  // Whether this handle ever took a flock / OFD lock (Close then releases them).
  std::atomic<bool> flocked_{false}, ofd_locked_{false};
};

// The shared core of a Volume that came from Volume::Open (lib/inode_fs.cc builds on it).
std::shared_ptr<VolumeCore> CoreOf(Volume& volume);

class DirStreamImpl : public DirStream {
 public:
  DirStreamImpl(std::shared_ptr<VolumeCore> core, const Context& ctx, Ino ino);
  Status Next(DirEntry* entry, bool* end) override;
  Status Close() override;

 private:
  static constexpr size_t kPageSize = 1000;
  const std::shared_ptr<VolumeCore> core_;
  const Context ctx_;
  const Ino ino_;
  std::mutex mu_;
  std::vector<meta::Entry> page_;
  size_t next_ = 0;
  std::string cursor_;
  bool started_ = false;
  bool closed_ = false;
};

// ---- shared with the maintenance commands (lib/maintenance.cc) ----------------------------

// The data store stack of a volume (encryption, "{name}/" prefix, backend); `create` makes the
// bucket (format time only).
Status BuildStore(const meta::Format& f, bool create, std::shared_ptr<object::ObjectStore>* out);
// Chunk store settings of a volume.
chunk::Config ChunkConfig(const meta::Format& f, int upload_threads, uint64_t buffer_size);

}  // namespace jfs::lib
