// Volume: the file system a program opens. Wires meta/ (metadata engine chosen by the META-URL)
// and chunk/ over object/ (the data store named in the Format), and offers path-level POSIX
// operations plus open files and directory streams. This is the C++ API that capi/ exposes as the
// C ABI; it is internal (not installed).
//
// Paths are absolute inside the volume ("/a/b"); "." and ".." components are resolved, duplicate
// slashes ignored. Symlinks are followed in every component but the last unless the operation says
// otherwise (lstat, readlink, unlink, rename, symlink, both names of link — as in Linux link(2)
// a symlink is linked itself —, lchown, utimens with no-follow); more than 40 symlinks → ELOOP.
// Each call takes the caller's credentials (Context).
//
// Consistency: close-to-open. Data written through a File is visible to other clients after the
// file's Flush/Fsync/Close; metadata changes are visible as soon as the call returns.
//
// Thread-safety: a Volume and its Files may be used from many threads at once. A single File's
// position (Read/Write/Lseek) is shared state: concurrent Read/Write on one File serialize.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "meta/types.h"
#include "util/status.h"

namespace jfs::lib {

using meta::Attr;
using meta::Context;
using meta::Ino;

struct VolumeOptions {
  bool read_only = false;
  // Bytes of unflushed write data one Volume may hold before writers block (flush sooner).
  uint64_t buffer_size = 300ull << 20;
  int upload_threads = 8;
  // Parallel block downloads of readahead (JuiceFS: max-downloads), and how many blocks a
  // sequential reader is read ahead. Fetched blocks are held within buffer_size / 4.
  int download_threads = 8;
  int readahead_blocks = 8;
  // Local disk block cache (chunk/disk_cache.h, layout format.md §1.9): directories separated by
  // ':' (JuiceFS cache-dir); an empty cache_dir or cache_size 0 disables it.
  std::string cache_dir;
  uint64_t cache_size = 0;                       // bytes over all directories
  double free_space_ratio = 0.1;                 // keep this share of the cache disk free
  std::string cache_eviction = "2-random";       // or "none"
  std::string verify_cache_checksum = "extend";  // none, full, shrink, extend
  // With a cache: blocks are acknowledged once staged on the cache disk (durable at fsync) and
  // uploaded in the background; blocks staged by a process that died are uploaded at the next
  // open.
  bool writeback = false;
  // With a cache: written full-size blocks are cached too (JuiceFS --cache-large-write); without
  // it only shorter blocks are, and full blocks once read.
  bool cache_large_write = false;
  // The disk cache is not used when the volume stores its blocks as plain files (a local
  // directory, no compression or encryption) on the same file system as every cache directory, and
  // writeback is off: a cached copy would be read no faster and cost a second write of each block.
  // True keeps it anyway (tests of the cache over the file backend).
  bool cache_same_disk = false;
  // With a cache: background whole-block fetches after a partial read missed (0: none).
  int prefetch = 1;
  // Seconds the objects of slices released by a compaction are kept before they are deleted, so
  // readers that resolved the chunk before the compaction still find them (a reader that comes
  // later re-resolves the chunk). Deleted at the latest when the Volume closes.
  double compact_delete_delay = 5.0;
  // Background compaction of chunks that received many slices (format.md §6.2).
  bool compact = true;
  // Informational: shown in `jfs status` as the session's mount point.
  std::string mount_point = "libjuicefs";
  // Automatic metadata backups (lib/backup.h; JuiceFS --backup-meta): seconds between backups,
  // at least 300; 0 = none (the library's default; `jfs mount` uses JuiceFS's 3600). Checked
  // about every interval / 10 by writable volumes.
  int64_t backup_meta = 0;
  bool backup_skip_trash = false;  // leave the trash out of the backups
  // Tests: seconds between backup checks instead of interval / 10 (0 = that default).
  int backup_check_every = 0;
  // Session heartbeat period in seconds (JuiceFS --heartbeat, 1..600). The session stays valid
  // for session_ttl seconds after each beat (0: 5 x heartbeat, as JuiceFS; else > heartbeat).
  // Every heartbeat this client also cleans sessions past their expiry (crashed clients): their
  // locks are released and their open-but-unlinked files freed.
  int heartbeat = 12;
  int session_ttl = 0;
  // How long a blocking lock request (File::Flock / Setlk with block) waits before ETIMEDOUT;
  // negative: no limit.
  int64_t lock_timeout_ms = -1;
};

struct FormatOptions {
  std::string name;
  std::string storage = "file";
  std::string bucket;  // file: a directory (created if missing); default ~/.juicefs/local
  std::string access_key, secret_key;
  uint32_t block_size_kib = 4096;
  uint64_t capacity = 0;  // bytes, 0 = unlimited
  uint64_t inodes = 0;    // 0 = unlimited
  int trash_days = 1;
  bool hash_prefix = false;
  std::string compression;  // "none" (default), "lz4", "zstd" (format.md §1.6); immutable
  // Encryption at rest (format.md §1.7): the RSA private key as PEM text (PKCS#1 or PKCS#8; a
  // protected key needs JFS_RSA_PASSPHRASE, at format and at every open). Stored in the Format
  // (EncryptKey, itself encrypted with the UUID). Empty: no encryption. Cannot be changed later.
  std::string encrypt_rsa_key;
  std::string encrypt_algo;  // "aes256gcm-rsa" (default) or "chacha20-rsa"
  bool force = false;        // re-format an existing volume (Name/UUID/BlockSize must match)
};

// Formats a new volume: validates options, writes `juicefs_uuid` to the data store (checking it is
// writable), then stores the Format in the metadata engine. On error nothing is left behind.
Status Format(const std::string& meta_url, const FormatOptions& opts, meta::Format* out = nullptr);

struct StatVfs {
  uint64_t block_size = 4096;
  uint64_t total_bytes = 0, free_bytes = 0;
  uint64_t total_inodes = 0, free_inodes = 0;
  uint64_t max_name = 255;
};

// Counters of one open Volume since it opened (JuiceFS's .stats / `juicefs bench` figures).
struct VolumeStats {
  uint64_t cache_hit_ops = 0, cache_hit_bytes = 0;      // reads served by the disk cache
  uint64_t cache_miss_ops = 0, cache_miss_bytes = 0;    // disk cache lookups that missed
  uint64_t cache_write_ops = 0, cache_write_bytes = 0;  // blocks written into the cache / staged
  uint64_t cache_evict_ops = 0, cache_evict_bytes = 0;
  uint64_t cache_bad_blocks = 0;  // cached blocks dropped for a bad checksum or size
  uint64_t cache_used_bytes = 0, cache_blocks = 0, staged_blocks = 0;
  uint64_t put_ops = 0, put_bytes = 0;  // block objects uploaded
  uint64_t get_ops = 0, get_bytes = 0;  // object reads
  uint64_t delete_ops = 0, put_errors = 0, get_errors = 0;
  uint64_t writeback_pending = 0;  // staged blocks not yet uploaded
  uint64_t meta_calls = 0;         // metadata transactions
};

// An entry of a directory stream, with attributes (readdir-plus).
struct DirEntry {
  std::string name;
  Ino inode = 0;
  Attr attr;
};

class File;
class DirStream;

class Volume {
 public:
  // Opens the volume named by `meta_url` (sqlite3://…): loads the Format, builds the data store
  // stack, registers a session (unless read-only). Errors: EINVAL bad URL, ENOENT not formatted or
  // missing database, EIO engine/storage failures — each with a message saying which.
  static Status Open(const std::string& meta_url, const VolumeOptions& opts,
                     std::unique_ptr<Volume>* out);
  virtual ~Volume() = default;

  // Flushes every open file, closes the session. Files still open become invalid (EBADF).
  // Called by the destructor when not called explicitly.
  virtual Status Close() = 0;

  virtual const meta::Format& format() const = 0;
  virtual uint64_t session_id() const = 0;
  virtual VolumeStats Stats() = 0;

  // ---- namespace (path based) ----
  virtual Status Stat(const Context& ctx, std::string_view path, Attr* attr, Ino* ino) = 0;
  virtual Status Lstat(const Context& ctx, std::string_view path, Attr* attr, Ino* ino) = 0;
  virtual Status Access(const Context& ctx, std::string_view path, int mask) = 0;
  virtual Status Mkdir(const Context& ctx, std::string_view path, uint16_t mode) = 0;
  // mkdir -p: existing directories along the way are fine; an existing non-directory → ENOTDIR /
  // EEXIST.
  virtual Status MkdirAll(const Context& ctx, std::string_view path, uint16_t mode) = 0;
  virtual Status Rmdir(const Context& ctx, std::string_view path) = 0;
  virtual Status Unlink(const Context& ctx, std::string_view path) = 0;
  virtual Status Rename(const Context& ctx, std::string_view from, std::string_view to,
                        uint32_t flags) = 0;
  virtual Status Link(const Context& ctx, std::string_view existing, std::string_view newpath) = 0;
  virtual Status Symlink(const Context& ctx, std::string_view target,
                         std::string_view linkpath) = 0;
  virtual Status Readlink(const Context& ctx, std::string_view path, std::string* target) = 0;
  virtual Status Chmod(const Context& ctx, std::string_view path, uint16_t mode) = 0;
  // uid/gid of (uint32_t)-1 leave that field unchanged. follow=false acts on a symlink itself.
  virtual Status Chown(const Context& ctx, std::string_view path, uint32_t uid, uint32_t gid,
                       bool follow) = 0;
  // times[0] = atime, times[1] = mtime; tv_nsec may be UTIME_NOW / UTIME_OMIT.
  virtual Status Utimens(const Context& ctx, std::string_view path, const struct timespec times[2],
                         bool follow) = 0;
  virtual Status Truncate(const Context& ctx, std::string_view path, uint64_t length) = 0;
  // type: S_IFIFO / S_IFSOCK / S_IFREG (/ S_IFCHR, S_IFBLK for root) in `mode`'s format bits.
  virtual Status Mknod(const Context& ctx, std::string_view path, uint32_t mode, uint32_t rdev) = 0;
  virtual Status GetXattr(const Context& ctx, std::string_view path, std::string_view name,
                          std::string* value, bool follow = true) = 0;
  virtual Status SetXattr(const Context& ctx, std::string_view path, std::string_view name,
                          std::string_view value, int flags, bool follow = true) = 0;
  virtual Status ListXattr(const Context& ctx, std::string_view path,
                           std::vector<std::string>* names, bool follow = true) = 0;
  virtual Status RemoveXattr(const Context& ctx, std::string_view path, std::string_view name,
                             bool follow = true) = 0;
  virtual Status StatFs(const Context& ctx, StatVfs* out) = 0;
  // The canonical absolute path: symlinks resolved, no ".", "..", or duplicate slashes.
  virtual Status Realpath(const Context& ctx, std::string_view path, std::string* out) = 0;

  // ---- files and directories ----
  // open(2): flags O_RDONLY/O_WRONLY/O_RDWR | O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW,
  // O_DIRECTORY; `mode` for O_CREAT. Opening a directory for writing → EISDIR.
  virtual Status OpenFile(const Context& ctx, std::string_view path, int flags, uint16_t mode,
                          std::shared_ptr<File>* out) = 0;
  virtual Status OpenDir(const Context& ctx, std::string_view path,
                         std::unique_ptr<DirStream>* out) = 0;
};

class File {
 public:
  virtual ~File() = default;  // closes if still open (errors are lost: call Close to see them)
  virtual Ino inode() const = 0;
  virtual int flags() const = 0;
  // read(2)/write(2) at the current position, advancing it. Reading a write-only file, or writing
  // a read-only one → EBADF. Returns the byte count in *n (0 at end of file).
  virtual Status Read(char* buf, uint64_t size, uint64_t* n) = 0;
  virtual Status Write(const char* buf, uint64_t size, uint64_t* n) = 0;
  // pread(2)/pwrite(2): position unchanged (pwrite with O_APPEND still writes at offset, as Linux
  // documents as a bug; we follow POSIX: at offset).
  virtual Status Pread(char* buf, uint64_t size, uint64_t offset, uint64_t* n) = 0;
  virtual Status Pwrite(const char* buf, uint64_t size, uint64_t offset, uint64_t* n) = 0;
  // SEEK_SET / SEEK_CUR / SEEK_END / SEEK_DATA / SEEK_HOLE. Negative result → EINVAL.
  virtual Status Lseek(int64_t offset, int whence, uint64_t* pos) = 0;
  virtual Status Ftruncate(uint64_t length) = 0;
  // Makes written data visible to other clients (blocks stored, slices recorded in meta).
  virtual Status Flush() = 0;
  // Flush, then makes the blocks of every slice committed for this inode since its last fsync
  // durable (ChunkStore::Sync: the file backend and the writeback cache do not flush each block).
  virtual Status Fsync() = 0;
  virtual Status Fstat(Attr* attr) = 0;
  // Flushes and releases the handle. Further calls → EBADF. Releases this handle's flock and
  // OFD locks, and the process's POSIX locks on the file (as close(2) of any descriptor does).
  virtual Status Close() = 0;

  // ---- locks (meta::Meta::Flock / Getlk / Setlk; shared by every client of the volume) ----
  // BSD flock(2): the owner is this handle. type meta::kLockRead / kLockWrite / kLockUnlock.
  // A blocking wait ends with ETIMEDOUT after VolumeOptions::lock_timeout_ms and with EINTR when
  // the volume closes or `wait.interrupted` says so. Read-only volume (no session) → EROFS.
  virtual Status Flock(uint32_t type, const meta::LockWait& wait) = 0;
  // POSIX byte-range locks over absolute bytes [start, end]. `ofd` false: the owner is the process
  // (every handle of this Volume: they never conflict with each other, and closing any of them
  // releases the locks on that file, as POSIX says); true: the owner is this handle (Linux open
  // file description locks), released when this handle closes.
  virtual Status Getlk(bool ofd, meta::PosixLock* lk) = 0;
  virtual Status Setlk(bool ofd, const meta::PosixLock& lk, const meta::LockWait& wait) = 0;
};

class DirStream {
 public:
  virtual ~DirStream() = default;
  // Next entry ("." and ".." are not returned). *end = true when exhausted. Memory stays bounded
  // however large the directory (entries are fetched in pages).
  virtual Status Next(DirEntry* entry, bool* end) = 0;
  virtual Status Close() = 0;
};

}  // namespace jfs::lib
