/*
 * libjuicefs — the stable C ABI.
 *
 * A JuiceFS 1.x compatible file system as a library: metadata in a database named by a META-URL
 * (e.g. "sqlite3:///path/to/meta.db"), data as blocks in object storage. A volume written through
 * this library can be mounted by `juicefs`, and the other way round.
 *
 * Rules that hold for every function below
 * ----------------------------------------
 * Handles.  Three opaque, typed handles: jfs_fs_t (an open volume), jfs_file_t (an open file),
 *   jfs_dir_t (a directory stream). They are created by jfs_open_volume / jfs_open / jfs_create /
 *   jfs_opendir and released by jfs_close_volume / jfs_close / jfs_closedir, which always release
 *   the handle, even when they report an error. Handles are validated on every call: a NULL
 *   handle gives -EINVAL, a handle that was already released gives -EBADF (best effort: once the
 *   library hands the same address to a new handle, a stale pointer cannot be told apart).
 *   Files and directory streams may outlive their volume handle: after jfs_close_volume they fail
 *   with -EBADF and must still be released with jfs_close / jfs_closedir.
 *
 * Errors.  Every function returns 0 (or a non-negative count/offset) on success and a negated
 *   errno value of Linux (-ENOENT, -EIO, ...) on failure, on every platform. There is no other
 *   error convention: opening a volume also returns 0 / -errno and hands the handle out through an
 *   out-parameter. NULL for a required pointer and a negative offset or length give -EINVAL; no
 *   input makes the library crash. No C++ exception ever crosses this ABI.
 *   A readable message for the last failure is available from jfs_last_error(fs) (failures of
 *   calls on that volume and on its files and directories) or jfs_last_open_error() (failures
 *   that have no volume handle: jfs_format, jfs_open_volume, and calls given a NULL or released
 *   handle). Messages are kept per calling thread.
 *
 * Memory.  Strings passed in are NUL-terminated and borrowed for the duration of the call only.
 *   Every buffer the library returns (readlink, realpath, getxattr, listxattr) is allocated by the
 *   library and must be released with jfs_free(). Memory the library returns by `const` pointer
 *   (jfs_last_error, jfs_readdir entries, jfs_version) stays owned by the library for the lifetime
 *   stated at the function. On failure, out-parameters are left untouched.
 *
 * Sizes.  Offsets, lengths and byte counts are 64-bit (int64_t / uint64_t), so files and single
 *   transfers larger than 2 GiB work on every platform.
 *
 * Threads.  Every function is thread-safe. One volume handle may be used from many threads at
 *   once; so may one file handle, but its position (jfs_read, jfs_write, jfs_lseek) is shared
 *   state, as with a POSIX file descriptor: concurrent position-based calls on one file are
 *   serialized. Use jfs_pread / jfs_pwrite for independent positions. A directory stream should be
 *   read by one thread at a time (calls are serialized, entries are not duplicated or lost).
 *
 * Paths.  Absolute inside the volume ("/dir/file"); "." and ".." are resolved, duplicate slashes
 *   ignored. A component longer than 255 bytes gives -ENAMETOOLONG. Symlinks are followed except
 *   where a function says otherwise (the l-variants, jfs_readlink, jfs_unlink, jfs_rename, ...).
 *
 * Identity.  Each volume handle carries the credentials (uid, groups, umask) used for permission
 *   checks and for the owner of new files. They default to the process's effective uid, effective
 *   gid and supplementary groups with umask 022, and are changed with jfs_set_credentials.
 *   uid 0 bypasses permission checks as root does.
 *
 * Consistency.  Close-to-open: data written through a file is visible to other clients after
 *   jfs_flush, jfs_fsync or jfs_close of that file; metadata changes are visible when the call
 *   returns.
 *
 * Embedding.  The library installs no signal handlers, changes no process-wide setting, and runs
 *   threads only while a volume is open (jfs_close_volume joins them). fork(): a process that has
 *   no volume open may fork, and parent and child may then both use the library. A child forked
 *   while a volume is open must not use inherited handles (the volume's threads do not exist in
 *   the child) and, as POSIX allows for the child of a multithreaded process, should only exec or
 *   _exit. Volumes still open at exit are not flushed: close them first.
 *
 * Compatibility.  The ABI grows by addition only: new functions, new flag bits, new fields at the
 * end of the option structs (which carry their own size, see jfs_format_options_init). Existing
 * functions never change meaning. JFS_VERSION_* describe this header; jfs_version() the library.
 */
#ifndef JUICEFS_JUICEFS_H_
#define JUICEFS_JUICEFS_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define JFS_EXPORT __declspec(dllexport)
#else
#define JFS_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------------- */

#define JFS_VERSION_MAJOR 0
#define JFS_VERSION_MINOR 1
#define JFS_VERSION_PATCH 0

/* "MAJOR.MINOR.PATCH" of the library actually loaded (may be newer than this header). Static
 * storage; never NULL. */
JFS_EXPORT const char* jfs_version(void);

/* ---------------------------------------------------------------------------------------------
 * Handles and plain data types
 * ------------------------------------------------------------------------------------------- */

typedef struct jfs_fs jfs_fs_t;     /* an open volume */
typedef struct jfs_file jfs_file_t; /* an open file */
typedef struct jfs_dir jfs_dir_t;   /* an open directory stream */

/* A point in time: seconds since the Unix epoch and nanoseconds (0..999999999), or one of the
 * special nsec values JFS_UTIME_NOW / JFS_UTIME_OMIT in jfs_utimens. */
typedef struct jfs_timespec {
  int64_t sec;
  int64_t nsec;
} jfs_timespec_t;

/* The values of Linux's UTIME_NOW / UTIME_OMIT. */
#define JFS_UTIME_NOW ((1l << 30) - 1l)
#define JFS_UTIME_OMIT ((1l << 30) - 2l)

/* File attributes. A fixed layout on every platform (unlike `struct stat`). */
typedef struct jfs_stat {
  uint64_t ino;     /* inode number; the root directory is 1 */
  uint32_t mode;    /* file type (Linux S_IFMT values) | permission bits (07777) */
  uint32_t nlink;   /* hard links; for a directory 2 + number of subdirectories */
  uint32_t uid;     /* owner */
  uint32_t gid;     /* group */
  uint32_t rdev;    /* device number of a character or block device, else 0 */
  uint32_t flags;   /* JuiceFS inode flags: JFS_FLAG_IMMUTABLE, JFS_FLAG_APPEND */
  uint64_t size;    /* bytes (symlink: length of the target) */
  uint64_t blocks;  /* 512-byte units charged to the volume (size rounded up to 4 KiB) */
  uint32_t blksize; /* preferred I/O size: the volume's block size */
  uint32_t spare0_; /* zero; reserved */
  jfs_timespec_t atime;
  jfs_timespec_t mtime;
  jfs_timespec_t ctime;
  uint64_t spare_[4]; /* zero; reserved for fields added later */
} jfs_stat_t;

#define JFS_FLAG_IMMUTABLE 0x01
#define JFS_FLAG_APPEND 0x02

/* File system usage, as reported by jfs_statvfs. */
typedef struct jfs_statvfs {
  uint64_t block_size;   /* unit of the *_blocks fields of statvfs(3) */
  uint64_t total_bytes;  /* capacity (the format's --capacity, or a large value if unlimited) */
  uint64_t free_bytes;   /* bytes still available */
  uint64_t total_inodes; /* inode limit (or a large value if unlimited) */
  uint64_t free_inodes;  /* inodes still available */
  uint64_t max_name;     /* longest file name: 255 */
  uint64_t spare_[4];    /* zero; reserved */
} jfs_statvfs_t;

/* One directory entry, with its attributes ("readdir-plus"). */
typedef struct jfs_dirent {
  const char* name; /* NUL-terminated, never contains '/'; "." and ".." are not returned */
  size_t name_len;  /* strlen(name) */
  jfs_stat_t stat;  /* attributes of the entry (ino, type, size, times, ...) */
} jfs_dirent_t;

/* ---------------------------------------------------------------------------------------------
 * Errors and memory
 * ------------------------------------------------------------------------------------------- */

/* Message of the last failed call made *by the calling thread* on `fs` or on a file or directory
 * opened from it, e.g. "jfs_open /a/b: ENOENT (No such file or directory): ...". Successful calls
 * do not clear it; "" when no call failed yet. With fs == NULL (or a released handle) this is
 * jfs_last_open_error(). Owned by the library; valid until this thread's next call on `fs` or
 * until `fs` is closed, whichever comes first. Never NULL. */
JFS_EXPORT const char* jfs_last_error(jfs_fs_t* fs);

/* Message of the last failed call of the calling thread that had no open volume to record it
 * on: jfs_format, jfs_open_volume, jfs_close_volume, any call given a NULL or released handle,
 * and calls on files and directories whose volume was closed. Owned by the library; valid until
 * the calling thread's next such call. Never NULL; "" when none failed. */
JFS_EXPORT const char* jfs_last_open_error(void);

/* Releases memory the library returned (readlink, realpath, getxattr, listxattr). NULL is a
 * no-op. Never pass memory of another allocator, nor jfs_last_error / jfs_readdir results. */
JFS_EXPORT void jfs_free(void* p);

/* ---------------------------------------------------------------------------------------------
 * Formatting a volume
 * ------------------------------------------------------------------------------------------- */

#define JFS_FORMAT_FORCE 0x1 /* re-format an existing volume (name and block size must match) */
#define JFS_FORMAT_HASH_PREFIX 0x2 /* spread object names over hashed prefixes */

/* Options of jfs_format. Always initialize with jfs_format_options_init, then set fields: the
 * `size` it records lets newer libraries add fields at the end without breaking older callers
 * (fields beyond `size` take their defaults). Strings are borrowed for the call; NULL = default. */
typedef struct jfs_format_options {
  uint32_t size;           /* sizeof(jfs_format_options_t) as compiled by the caller */
  uint32_t flags;          /* JFS_FORMAT_* bits; default 0 */
  const char* storage;     /* object storage type: "file" (default), "s3", "mem" */
  const char* bucket;      /* file: a directory (created if missing); s3: the bucket URL */
  const char* access_key;  /* object storage credentials; default none */
  const char* secret_key;  /* */
  const char* compression; /* "none" (default), "lz4", "zstd"; cannot be changed later */
  uint32_t block_size_kib; /* block size in KiB, default 4096 */
  int32_t trash_days;      /* days deleted files stay in .trash; 0 disables; default 1 */
  uint64_t capacity;       /* volume quota in bytes; 0 (default) = unlimited */
  uint64_t inodes;         /* inode quota; 0 (default) = unlimited */
  /* Encryption at rest: an RSA private key as PEM text (PKCS#1 or PKCS#8; a passphrase-protected
   * key needs JFS_RSA_PASSPHRASE in the environment at format and at every open). NULL (default)
   * = no encryption. Stored in the volume's settings; cannot be changed later. */
  const char* encrypt_rsa_key;
  const char* encrypt_algo; /* "aes256gcm-rsa" (default) or "chacha20-rsa" */
} jfs_format_options_t;

/* Fills the first `size` bytes of *opts (the struct as the caller compiled it) with the defaults
 * and sets opts->size = size; never writes beyond `size`. Fields this library does not know are
 * zeroed. Call it through the jfs_format_options_init macro, which passes sizeof(*opts). */
JFS_EXPORT void jfs_format_options_init_sized(jfs_format_options_t* opts, size_t size);
/* The 1.0 entry point, kept for binaries built against 1.0 headers: it initializes the 1.0 layout
 * only (up to and including `inodes`), which is all such a caller allocated. */
JFS_EXPORT void jfs_format_options_init(jfs_format_options_t* opts);
#define jfs_format_options_init(opts) jfs_format_options_init_sized((opts), sizeof(*(opts)))

/* Formats a new volume named `name` (3-63 characters of [a-z0-9-], as JuiceFS requires) in the
 * metadata engine at `meta_url`; `opts` may be NULL for the defaults. Writes `juicefs_uuid` to
 * the data store first (proving it is writable), then the settings. On failure nothing is left
 * behind. Errors: -EINVAL bad URL, name or option (-E2BIG: opts->size larger than this library
 * knows, with non-zero unknown fields), -EEXIST already formatted (without JFS_FORMAT_FORCE),
 * -EIO engine or storage failure. Message: jfs_last_open_error(). */
JFS_EXPORT int jfs_format(const char* meta_url, const char* name, const jfs_format_options_t* opts);

/* ---------------------------------------------------------------------------------------------
 * Opening a volume
 * ------------------------------------------------------------------------------------------- */

#define JFS_VOLUME_READ_ONLY 0x1 /* no writes, no session registered */
/* Writeback (JuiceFS --writeback; needs the disk cache): a written block is acknowledged once
 * stored in the cache directory (flushed to disk by jfs_fsync), and uploaded in the background.
 * Blocks staged by a process that died are uploaded when the volume is next opened with the same
 * cache directory. Other clients see the data only once it is uploaded. */
#define JFS_VOLUME_WRITEBACK 0x2
/* With the disk cache, also cache full-size blocks when they are written (JuiceFS
 * --cache-large-write). Without it, as in JuiceFS, written blocks shorter than the block size
 * (small files, the tails of files) are cached and full blocks only once read: a big write then
 * writes each block once, not twice. */
#define JFS_VOLUME_CACHE_LARGE_WRITE 0x4

/* Options of jfs_open_volume; same growth rules as jfs_format_options_t. */
typedef struct jfs_volume_options {
  uint32_t size;           /* sizeof(jfs_volume_options_t) as compiled by the caller */
  uint32_t flags;          /* JFS_VOLUME_* bits; default 0 */
  uint64_t buffer_size;    /* bytes of unflushed write data before writers block; default 300 MiB */
  int32_t upload_threads;  /* parallel block uploads; default 8 */
  uint32_t spare0_;        /* zero */
  const char* mount_point; /* informational, shown as the session's mount point; "libjuicefs" */
  /* ---- added with the disk cache (names as JuiceFS's mount options) ---- */
  /* Cache directories separated by ':'; NULL = JuiceFS's default, $HOME/.juicefs/cache
   * (/var/jfsCache when running as root). Blocks go to <dir>/<volume UUID>/raw/. */
  const char* cache_dir;
  uint64_t cache_size;               /* MiB over all directories; default 0 = no disk cache */
  double free_space_ratio;           /* share of the cache disk kept free; default 0.1 */
  const char* cache_eviction;        /* "2-random" (default) or "none" */
  const char* verify_cache_checksum; /* "none", "full", "shrink", "extend" (default) */
  int32_t prefetch;         /* background whole-block fetches after a partial read; default 1 */
  int32_t download_threads; /* parallel block downloads (JuiceFS max-downloads); default 8 */
  /* ---- added with automatic metadata backups (abi 1.2) ---- */
  /* Seconds between automatic metadata backups into the volume's own object store, as
   * `meta/dump-YYYY-MM-DD-HHMMSS.json.gz` (JuiceFS's --backup-meta; any writable client may take
   * the turn, the time of the last one is shared through the volume). 0 = none (default), else at
   * least 300. Old backups are thinned out: all of 2 days, then one a day, week, month. */
  int64_t backup_meta;
  uint32_t backup_flags; /* JFS_BACKUP_SKIP_TRASH: leave the trash out of backups */
  uint32_t spare1_;      /* zero */
  /* ---- added with locks (abi 1.2) ---- */
  /* Session heartbeat in seconds (JuiceFS --heartbeat), 1..600; default 12. Each heartbeat also
   * cleans up sessions of crashed clients (releasing their locks). */
  int32_t heartbeat;
  /* Seconds the session stays valid after a heartbeat; 0 (default) = 5 x heartbeat, as JuiceFS.
   * Otherwise it must be longer than the heartbeat. Locks of a crashed process are released by
   * another client once its session has been expired for up to one heartbeat. */
  int32_t session_ttl;
  /* Upper bound in milliseconds for blocking lock requests (jfs_flock without JFS_LOCK_NB,
   * JFS_F_SETLKW, JFS_F_OFD_SETLKW), which then fail with -ETIMEDOUT; -1 (default) = no limit. */
  int64_t lock_timeout_ms;
} jfs_volume_options_t;

#define JFS_BACKUP_SKIP_TRASH 0x1u

/* As jfs_format_options_init_sized / jfs_format_options_init, for jfs_volume_options_t (the 1.0
 * layout ends with mount_point). */
JFS_EXPORT void jfs_volume_options_init_sized(jfs_volume_options_t* opts, size_t size);
JFS_EXPORT void jfs_volume_options_init(jfs_volume_options_t* opts);
#define jfs_volume_options_init(opts) jfs_volume_options_init_sized((opts), sizeof(*(opts)))

/* Opens the volume at `meta_url` (e.g. "sqlite3:///var/lib/jfs/meta.db"); `opts` may be NULL.
 * On success returns 0 and stores a new handle in *out, which the caller releases with
 * jfs_close_volume. Errors: -EINVAL malformed or unsupported URL or options, -ENOENT database
 * missing or volume not formatted, -EIO engine or storage failure; *out is left unchanged.
 * Message: jfs_last_open_error(). */
JFS_EXPORT int jfs_open_volume(const char* meta_url, const jfs_volume_options_t* opts,
                               jfs_fs_t** out);

/* Flushes every open file of the volume, closes its session and releases the handle (always, even
 * when an error is returned: the error says some data may not have been flushed; its message is
 * in jfs_last_open_error()). Files and directories still open fail with -EBADF afterwards and must
 * still be released with jfs_close / jfs_closedir (which then return 0). */
JFS_EXPORT int jfs_close_volume(jfs_fs_t* fs);

/* Counters of an open volume since it was opened (what `juicefs bench` reads from .stats). The
 * struct grows at the end like the option structs: pass sizeof(jfs_stats_t); the library fills
 * min(size, its own size) bytes and sets `size` to that. */
typedef struct jfs_stats {
  uint32_t size;
  uint32_t spare0_;
  uint64_t cache_hit_ops, cache_hit_bytes;     /* reads served by the disk cache */
  uint64_t cache_miss_ops, cache_miss_bytes;   /* disk cache lookups that missed */
  uint64_t cache_write_ops, cache_write_bytes; /* blocks written into the cache (or staged) */
  uint64_t cache_evict_ops, cache_evict_bytes; /* blocks evicted */
  uint64_t cache_bad_blocks;                   /* cached blocks dropped: bad checksum or size */
  uint64_t cache_used_bytes, cache_blocks;     /* the disk cache now */
  uint64_t staged_blocks;                      /* writeback: staged, not yet uploaded */
  uint64_t put_ops, put_bytes;                 /* block objects uploaded */
  uint64_t get_ops, get_bytes;                 /* object reads (downloads) */
  uint64_t delete_ops, put_errors, get_errors; /* object deletes, failed uploads / reads */
  uint64_t meta_calls;                         /* metadata transactions */
} jfs_stats_t;

/* Fills *out (see jfs_stats_t). Errors: -EBADF closed handle, -EINVAL out NULL or size < 8. */
JFS_EXPORT int jfs_stats(jfs_fs_t* fs, jfs_stats_t* out, size_t size);

/* Sets the credentials of all later calls through `fs` (from every thread): uid, groups
 * (gids[0] is the primary group, given to new files; ngids >= 1), and the umask applied to the
 * mode of new files and directories (0..0777). The array is copied. */
JFS_EXPORT int jfs_set_credentials(jfs_fs_t* fs, uint32_t uid, const uint32_t* gids, size_t ngids,
                                   uint16_t umask);

/* Usage of the whole volume. */
JFS_EXPORT int jfs_statvfs(jfs_fs_t* fs, jfs_statvfs_t* out);

/* ---------------------------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------------------------- */

/* Whence values of jfs_lseek (Linux values). */
#define JFS_SEEK_SET 0
#define JFS_SEEK_CUR 1
#define JFS_SEEK_END 2
/* DATA / HOLE: the next offset >= `offset` in data / in a hole; -ENXIO if `offset` is at or past
 * the end. The end of the file counts as a hole; as Linux allows, the library may report every
 * byte before the end as data. */
#define JFS_SEEK_DATA 3
#define JFS_SEEK_HOLE 4

/* open(2): `flags` are Linux O_* values: O_RDONLY / O_WRONLY / O_RDWR, optionally with O_CREAT,
 * O_EXCL, O_TRUNC, O_APPEND, O_NOFOLLOW, O_DIRECTORY. `mode` (permission bits, the umask
 * applied) is used with O_CREAT. A directory may be opened read-only (for jfs_fstat / jfs_fsync);
 * reading it gives -EISDIR and opening it for writing -EISDIR. On success *out is a new handle
 * with position 0, released with jfs_close. */
JFS_EXPORT int jfs_open(jfs_fs_t* fs, const char* path, int flags, uint32_t mode, jfs_file_t** out);

/* jfs_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, mode, out), like creat(2). */
JFS_EXPORT int jfs_create(jfs_fs_t* fs, const char* path, uint32_t mode, jfs_file_t** out);

/* Reads up to `count` bytes at the file position into `buf` and advances the position. Returns
 * the number of bytes read, 0 at end of file. -EBADF if the file was opened write-only. */
JFS_EXPORT int64_t jfs_read(jfs_file_t* f, void* buf, uint64_t count);

/* Reads up to `count` bytes at `offset` (>= 0); the position is unchanged. */
JFS_EXPORT int64_t jfs_pread(jfs_file_t* f, void* buf, uint64_t count, int64_t offset);

/* Writes `count` bytes at the file position (at the end with O_APPEND) and advances it. Returns
 * the number of bytes written (all of them unless an error occurs). -EBADF if opened read-only.
 * Data becomes visible to other clients after jfs_flush / jfs_fsync / jfs_close. */
JFS_EXPORT int64_t jfs_write(jfs_file_t* f, const void* buf, uint64_t count);

/* Writes `count` bytes at `offset` (>= 0); the position is unchanged (also with O_APPEND). */
JFS_EXPORT int64_t jfs_pwrite(jfs_file_t* f, const void* buf, uint64_t count, int64_t offset);

/* Moves the file position (JFS_SEEK_*) and returns the new offset. A resulting negative offset
 * gives -EINVAL. */
JFS_EXPORT int64_t jfs_lseek(jfs_file_t* f, int64_t offset, int whence);

/* Sets the file length (>= 0) through an open, writable file. */
JFS_EXPORT int jfs_ftruncate(jfs_file_t* f, int64_t length);

/* Makes data written so far visible to other clients (uploads it and commits it to metadata). */
JFS_EXPORT int jfs_flush(jfs_file_t* f);

/* jfs_flush, then makes the file's data durable: the blocks of every write committed for this file
 * (through any handle of this volume) since its last fsync are flushed to stable storage where the
 * data store does not do that on each write (the local-directory store and the writeback cache;
 * S3 stores are durable on upload). Close and jfs_flush make data visible, not power-loss durable.
 * Metadata durability is the engine's (README, "Durability"). */
JFS_EXPORT int jfs_fsync(jfs_file_t* f);

/* Attributes of the open file (size includes data not yet flushed). */
JFS_EXPORT int jfs_fstat(jfs_file_t* f, jfs_stat_t* out);

/* Flushes the file and releases the handle (always, even when the flush fails; then data written
 * since the last successful flush may be lost, which the error reports). */
JFS_EXPORT int jfs_close(jfs_file_t* f);

/* ---- added with slice operations (abi 1.3) ---- */

/* fallocate(2) modes (Linux values). */
#define JFS_FALLOC_KEEP_SIZE 0x01  /* do not change the file length */
#define JFS_FALLOC_PUNCH_HOLE 0x02 /* the range reads as zeros; needs JFS_FALLOC_KEEP_SIZE */
#define JFS_FALLOC_ZERO_RANGE 0x10 /* the range reads as zeros */

/* fallocate(2) on a file open for writing (offset >= 0, len > 0). Mode 0 (or KEEP_SIZE) grows the
 * length to offset+len unless KEEP_SIZE (no space is reserved in the object store: JuiceFS
 * allocates on write); PUNCH_HOLE|KEEP_SIZE and ZERO_RANGE make [offset, offset+len) read as
 * zeros. Metadata only: no data objects are written. Errors: -EBADF not open for writing,
 * -EISDIR, -EINVAL bad length/combination, -EOPNOTSUPP (= -ENOTSUP) other mode bits, -EFBIG,
 * -EPERM immutable/append-only, -ENOSPC over the volume capacity. */
JFS_EXPORT int jfs_fallocate(jfs_file_t* f, int mode, int64_t offset, int64_t len);

/* copy_file_range(2) with explicit offsets (>= 0; the handles' positions are unchanged): copies
 * up to `len` bytes from `in` at off_in to `out` at off_out, clamped to the source length, by
 * sharing the source's data slices (metadata only, refcounted; no bytes are read or written).
 * Both handles must belong to one volume (-EXDEV), `in` readable and `out` writable and not
 * O_APPEND (-EBADF); flags must be 0 (-EINVAL); overlapping ranges of one file → -EINVAL.
 * Returns the number of bytes copied (0 at or past the source's end) or -errno. */
JFS_EXPORT int64_t jfs_copy_file_range(jfs_file_t* in, int64_t off_in, jfs_file_t* out,
                                       int64_t off_out, uint64_t len, uint32_t flags);

/* Clones the file, symlink or directory tree `src` to `dst` (which must not exist: -EEXIST),
 * sharing file data (copy_file_range of every file); mode, owner (as root), times and xattrs are
 * copied. Not atomic: after an error a partial copy may remain. */
JFS_EXPORT int jfs_clone(jfs_fs_t* fs, const char* src, const char* dst);

/* Compacts the slices of file `path` (or of every file below directory `path`): each chunk's
 * data is rewritten as one slice and the old slices are released. Safe while other clients read
 * and write; needs write permission on each file (-EACCES). */
JFS_EXPORT int jfs_compact(jfs_fs_t* fs, const char* path);

/* ---------------------------------------------------------------------------------------------
 * Locks
 *
 * Advisory locks stored in the volume's metadata (as JuiceFS stores them), so they hold between
 * threads, processes and machines using the same volume, including `juicefs mount` clients and
 * FUSE mounts of the `jfs` tool. They are released when their owner unlocks, when the handle
 * (or, for process locks, any handle of the file) is closed, when the volume is closed, and —
 * for a process that died without closing — by another client once the dead client's session
 * has expired (jfs_volume_options_t.session_ttl, 60 s by default).
 *
 * Waiting: there is no notification between clients, so a blocking request polls the database
 * (1 ms, doubling up to 50 ms; at once when a lock is released through the same volume handle).
 * It fails with -ETIMEDOUT after jfs_volume_options_t.lock_timeout_ms (no limit by default) and
 * with -EINTR when the volume is closed meanwhile. No deadlock detection (no -EDEADLK).
 * A read-only volume has no session to own locks: every lock call gives -EROFS.
 * ------------------------------------------------------------------------------------------- */

/* flock(2) operations (Linux values). */
#define JFS_LOCK_SH 1 /* shared */
#define JFS_LOCK_EX 2 /* exclusive */
#define JFS_LOCK_NB 4 /* with SH or EX: fail with -EAGAIN (-EWOULDBLOCK) instead of waiting */
#define JFS_LOCK_UN 8 /* unlock */

/* BSD flock(2) on the whole file. The owner is the file handle: two handles conflict even in one
 * thread, and the lock goes with jfs_close of that handle. Converting SH <-> EX is allowed (not
 * atomic, as in flock(2)). Errors: -EAGAIN conflict with JFS_LOCK_NB, -EINVAL bad op. */
JFS_EXPORT int jfs_flock(jfs_file_t* f, int op);

/* Lock types and fcntl(2) commands (Linux values). */
#define JFS_F_RDLCK 0
#define JFS_F_WRLCK 1
#define JFS_F_UNLCK 2
#define JFS_F_GETLK 5
#define JFS_F_SETLK 6
#define JFS_F_SETLKW 7
#define JFS_F_OFD_GETLK 36
#define JFS_F_OFD_SETLK 37
#define JFS_F_OFD_SETLKW 38

/* A byte-range lock request, as `struct flock` but with a fixed layout on every platform. */
typedef struct jfs_posix_lock {
  int16_t type;   /* JFS_F_RDLCK, JFS_F_WRLCK, JFS_F_UNLCK */
  int16_t whence; /* JFS_SEEK_SET, JFS_SEEK_CUR (file position), JFS_SEEK_END (file size) */
  int32_t pid;    /* GETLK result: the holder's pid when it is a process of this volume handle's
                     session (this process), else 0 */
  int64_t start;  /* offset relative to `whence` */
  int64_t len;    /* bytes; 0 = to the end of the file (and beyond); negative = the `-len` bytes
                     before `start` */
} jfs_posix_lock_t;

/* fcntl(2) byte-range locks. `cmd`:
 *  JFS_F_SETLK / JFS_F_SETLKW: lock (type RDLCK or WRLCK) or unlock (UNLCK) the range; SETLK fails
 *    with -EAGAIN on a conflict, SETLKW waits. The owner is the process: every handle of this
 *    volume handle shares the locks (they never conflict with each other), and closing ANY handle
 *    of the file releases them — POSIX semantics. A read lock needs the file open for reading, a
 *    write lock for writing (-EBADF).
 *  JFS_F_OFD_SETLK / JFS_F_OFD_SETLKW: the same with the file handle as owner (Linux "open file
 *    description" locks): handles conflict with each other, the locks go with jfs_close of this
 *    handle only. Process and OFD locks of one process conflict with each other.
 *  JFS_F_GETLK / JFS_F_OFD_GETLK: if a lock of another owner conflicts with *lk (type RDLCK or
 *    WRLCK), *lk is overwritten with it (whence SEEK_SET, start, len 0 if to the end, pid);
 *    otherwise only lk->type is set to JFS_F_UNLCK.
 * Ranges are split and merged per owner as POSIX says. Errors: -EINVAL bad cmd, type, whence or
 * a range starting before 0, -EOVERFLOW a range end beyond INT64_MAX. */
JFS_EXPORT int jfs_fcntl_lock(jfs_file_t* f, int cmd, jfs_posix_lock_t* lk);

/* ---------------------------------------------------------------------------------------------
 * Namespace
 * ------------------------------------------------------------------------------------------- */

/* Attributes of `path`, following a final symlink (jfs_stat) or not (jfs_lstat). */
JFS_EXPORT int jfs_stat(jfs_fs_t* fs, const char* path, jfs_stat_t* out);
JFS_EXPORT int jfs_lstat(jfs_fs_t* fs, const char* path, jfs_stat_t* out);

/* access(2): `mask` is F_OK (0) or a combination of R_OK (4), W_OK (2), X_OK (1). */
JFS_EXPORT int jfs_access(jfs_fs_t* fs, const char* path, int mask);

/* mkdir(2); `mode` permission bits, the umask applied. -EEXIST if `path` exists. */
JFS_EXPORT int jfs_mkdir(jfs_fs_t* fs, const char* path, uint32_t mode);

/* mkdir -p: creates missing parents too; existing directories are fine, an existing
 * non-directory along the way gives -ENOTDIR (or -EEXIST for the last component). */
JFS_EXPORT int jfs_mkdir_all(jfs_fs_t* fs, const char* path, uint32_t mode);

/* rmdir(2): -ENOTEMPTY if the directory has entries. */
JFS_EXPORT int jfs_rmdir(jfs_fs_t* fs, const char* path);

/* unlink(2): removes a non-directory (a symlink itself, not its target). With trash enabled the
 * data stays in /.trash for the volume's trash days. */
JFS_EXPORT int jfs_unlink(jfs_fs_t* fs, const char* path);

#define JFS_RENAME_NOREPLACE 0x1 /* fail with -EEXIST if `to` exists */
#define JFS_RENAME_EXCHANGE 0x2  /* atomically swap `from` and `to` (both must exist) */

/* renameat2(2): `flags` 0 or one of JFS_RENAME_*. Neither path's final symlink is followed. */
JFS_EXPORT int jfs_rename(jfs_fs_t* fs, const char* from, const char* to, uint32_t flags);

/* link(2): a new name `newpath` for the existing non-directory `existing`. */
JFS_EXPORT int jfs_link(jfs_fs_t* fs, const char* existing, const char* newpath);

/* symlink(2): creates `linkpath` pointing at `target` (stored verbatim, up to 4096 bytes). */
JFS_EXPORT int jfs_symlink(jfs_fs_t* fs, const char* target, const char* linkpath);

/* readlink(2): on success *target is a NUL-terminated copy of the link's target, allocated by the
 * library (release with jfs_free), and *len (if len is not NULL) its length. -EINVAL if `path` is
 * not a symlink. */
JFS_EXPORT int jfs_readlink(jfs_fs_t* fs, const char* path, char** target, size_t* len);

/* chmod(2): permission bits 07777 (other bits are ignored). */
JFS_EXPORT int jfs_chmod(jfs_fs_t* fs, const char* path, uint32_t mode);

/* chown(2) / lchown(2): (uint32_t)-1 leaves uid or gid unchanged. */
JFS_EXPORT int jfs_chown(jfs_fs_t* fs, const char* path, uint32_t uid, uint32_t gid);
JFS_EXPORT int jfs_lchown(jfs_fs_t* fs, const char* path, uint32_t uid, uint32_t gid);

/* utimensat(2): times[0] = atime, times[1] = mtime; nsec may be JFS_UTIME_NOW or JFS_UTIME_OMIT;
 * times == NULL sets both to now. jfs_lutimens acts on a symlink itself. */
JFS_EXPORT int jfs_utimens(jfs_fs_t* fs, const char* path, const jfs_timespec_t times[2]);
JFS_EXPORT int jfs_lutimens(jfs_fs_t* fs, const char* path, const jfs_timespec_t times[2]);

/* truncate(2): sets the length (>= 0) of a regular file. */
JFS_EXPORT int jfs_truncate(jfs_fs_t* fs, const char* path, int64_t length);

/* mknod(2): `mode` = file type (S_IFIFO, S_IFSOCK, S_IFREG; S_IFCHR / S_IFBLK need uid 0) |
 * permission bits; `rdev` for devices. */
JFS_EXPORT int jfs_mknod(jfs_fs_t* fs, const char* path, uint32_t mode, uint32_t rdev);

/* The canonical absolute path of `path` (symlinks resolved; no ".", ".." or duplicate slashes).
 * *resolved is allocated by the library (release with jfs_free). */
JFS_EXPORT int jfs_realpath(jfs_fs_t* fs, const char* path, char** resolved);

/* ---------------------------------------------------------------------------------------------
 * Directory streams
 * ------------------------------------------------------------------------------------------- */

/* Opens a stream over the entries of directory `path` (-ENOTDIR if it is not one). Memory stays
 * bounded however large the directory is: entries are fetched in pages. */
JFS_EXPORT int jfs_opendir(jfs_fs_t* fs, const char* path, jfs_dir_t** out);

/* Returns 1 and points *entry at the next entry, 0 at the end, or -errno. The entry is owned by
 * the stream and valid until the next jfs_readdir or jfs_closedir on it. Entries created or
 * removed while the stream is read may or may not be returned. */
JFS_EXPORT int jfs_readdir(jfs_dir_t* dir, const jfs_dirent_t** entry);

/* Releases the stream (always). */
JFS_EXPORT int jfs_closedir(jfs_dir_t* dir);

/* ---------------------------------------------------------------------------------------------
 * Extended attributes (names like "user.foo"; values up to 64 KiB)
 * The l-variants act on a symlink itself instead of its target.
 * ------------------------------------------------------------------------------------------- */

#define JFS_XATTR_CREATE 0x1  /* fail with -EEXIST if the attribute exists */
#define JFS_XATTR_REPLACE 0x2 /* fail with -ENODATA if it does not */

/* On success *value is a library-allocated copy of the value (release with jfs_free; never NULL,
 * and followed by a NUL byte not counted in the length, so text values can be used as C strings)
 * and *size (if not NULL) its length. -ENODATA if the attribute does not exist. */
JFS_EXPORT int jfs_getxattr(jfs_fs_t* fs, const char* path, const char* name, void** value,
                            size_t* size);
JFS_EXPORT int jfs_lgetxattr(jfs_fs_t* fs, const char* path, const char* name, void** value,
                             size_t* size);

/* Sets attribute `name` to `size` bytes at `value` (value may be NULL when size is 0). `flags` 0,
 * JFS_XATTR_CREATE or JFS_XATTR_REPLACE. */
JFS_EXPORT int jfs_setxattr(jfs_fs_t* fs, const char* path, const char* name, const void* value,
                            size_t size, int flags);
JFS_EXPORT int jfs_lsetxattr(jfs_fs_t* fs, const char* path, const char* name, const void* value,
                             size_t size, int flags);

/* On success *list is a library-allocated buffer of the attribute names, each followed by a NUL
 * byte, as listxattr(2) fills it (release with jfs_free; never NULL, also when empty), and *size
 * (if not NULL) its length in bytes, NULs included (0 when there are no attributes). */
JFS_EXPORT int jfs_listxattr(jfs_fs_t* fs, const char* path, char** list, size_t* size);
JFS_EXPORT int jfs_llistxattr(jfs_fs_t* fs, const char* path, char** list, size_t* size);

/* Removes attribute `name`; -ENODATA if it does not exist. */
JFS_EXPORT int jfs_removexattr(jfs_fs_t* fs, const char* path, const char* name);
JFS_EXPORT int jfs_lremovexattr(jfs_fs_t* fs, const char* path, const char* name);

/* ---------------------------------------------------------------------------------------------
 * Metadata dump and load (JuiceFS's JSON format: `juicefs dump` / `juicefs load`)
 * ------------------------------------------------------------------------------------------- */

#define JFS_DUMP_KEEP_SECRET_KEY 0x1 /* keep SecretKey / SessionToken instead of "removed" */
#define JFS_DUMP_SKIP_TRASH 0x2      /* leave the trash out */

/* Writes the metadata of the volume at `meta_url` as JuiceFS's JSON dump to `path` ("-" =
 * standard output; a name ending in ".gz" is gzipped). `subdir` NULL or "/" dumps the whole
 * volume, else only that directory ("/a/b"). `flags`: JFS_DUMP_* bits. Streams: memory does not
 * grow with the volume. A volume that changes meanwhile gives a dump that is not one snapshot.
 * Errors: -EINVAL bad URL or flags, -ENOENT not formatted or no such subdir, -EIO engine or write
 * failure. Message: jfs_last_open_error(). */
JFS_EXPORT int jfs_dump(const char* meta_url, const char* path, const char* subdir, uint32_t flags);

/* Loads a JuiceFS JSON dump (plain or gzipped; "-" = standard input) into the EMPTY database at
 * `meta_url` (any engine), rebuilding link counts, reference counts and usage counters.
 * Errors: -EEXIST the database holds a volume (nothing is written), -EINVAL malformed dump (the
 * message names the line and byte offset; the database is left empty), -EIO engine failure.
 * Message: jfs_last_open_error(). */
JFS_EXPORT int jfs_load(const char* meta_url, const char* path);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* JUICEFS_JUICEFS_H_ */
