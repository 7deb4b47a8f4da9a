// ObjectStore: the contract every data backend implements (file, mem, s3, and the wrappers:
// prefix, encryption, sharding, retry, fault injection).
//
// Keys are arbitrary byte strings without a leading '/', using '/' as the hierarchy separator
// (e.g. "myvol/chunks/0/0/1_0_4194304"). Objects are immutable blobs: Put replaces the whole object
// atomically, so a concurrent Get sees either the old or the new content, never a mix.
//
// Errors (Status codes):
//   ENOENT  the object does not exist (Get, Head; Delete of a missing key is OK, see below)
//   EINVAL  a bad key or argument
//   EIO     anything else; Status::retryable() tells whether the same call may succeed later
//
// Thread-safety: every method may be called concurrently from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jfs::object {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // last modification, nanoseconds since the Unix epoch (0 when unknown)
  bool is_dir = false;   // a common prefix in a delimited listing
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // A short description, e.g. "file:///data/jfs/" or "s3://bucket/", for logs and `jfs status`.
  virtual std::string Describe() const = 0;

  // Creates the bucket / root directory if it does not exist. OK if it already exists.
  virtual Status Create() = 0;

  // Reads `length` bytes starting at `offset` into *out (replacing its content). length < 0 means
  // "to the end". Reading past the end returns the bytes that exist (possibly none): a short read
  // is not an error. offset < 0 → EINVAL. Missing object → ENOENT.
  virtual Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) = 0;
  // Get into caller memory: reads up to `length` (>= 0) bytes at `offset` into dst, which has room
  // for `length` bytes; *n = bytes read (fewer only at the end of the object). Same errors as Get.
  // The default calls Get and copies; backends that can read straight into dst (file) override
  // it, sparing a copy per block read.
  virtual Status GetInto(std::string_view key, int64_t offset, int64_t length, char* dst,
                         int64_t* n);

  // A hint that a sequential reader is about to read object `key` (whole): a backend that can
  // start fetching it without blocking may do so (the file backend asks the kernel to read the
  // file ahead). Never fails and never waits; a missing or bad key is ignored. Default: nothing.
  virtual void WillRead(std::string_view key) { (void)key; }

  // Stores `data` under `key`, replacing any existing object atomically.
  virtual Status Put(std::string_view key, std::string_view data) = 0;

  // Durability. A Put is visible to every reader when it returns; whether it also survives a
  // power loss at that point is the backend's: S3 and mem answer yes, the file backend no (like
  // JuiceFS's, it does not fsync each Put, which would cost a disk flush per block). Sync makes the
  // named objects (and the directory entries leading to them) durable; keys that no longer exist
  // are skipped. SyncAll makes every Put completed before the call durable. Both default to OK,
  // which is right for backends whose Put is durable on return.
  virtual Status Sync(const std::vector<std::string>& keys);
  virtual Status SyncAll();

  // Removes the object. Deleting a key that does not exist succeeds (idempotent), as in S3.
  virtual Status Delete(std::string_view key) = 0;

  // Size and mtime of one object. Missing → ENOENT.
  virtual Status Head(std::string_view key, ObjectInfo* info) = 0;

  // Lists objects whose key starts with `prefix` and sorts strictly after `marker` (byte order),
  // in ascending byte order, at most `limit` entries (limit <= 0 means the backend's default page,
  // at least 1000). *out is replaced. *truncated is set when more entries may follow; the caller
  // continues with marker = last key returned. With a non-empty `delimiter` ("/"), keys containing
  // the delimiter after the prefix are rolled up into one entry per common prefix (is_dir = true,
  // key ends with the delimiter), as S3 ListObjects does.
  virtual Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
                      int limit, std::vector<ObjectInfo>* out, bool* truncated) = 0;
};

// Lists every object under `prefix` by paging through List (no delimiter). Convenience for tests,
// gc and tools; memory grows with the number of keys.
Status ListAll(ObjectStore& store, std::string_view prefix, std::vector<ObjectInfo>* out);

// Backends and wrappers. Each returns nullptr-free ownership to the caller.
//
// `file`: objects are files under `root` (created on demand); the directory layout mirrors the
// keys. Put writes a temporary file in the same directory and renames it into place, without
// fsync; Sync fsyncs the files and their directories, SyncAll is a syncfs(2) of the root's
// file system.
Status NewFileStore(const std::string& root, std::unique_ptr<ObjectStore>* out);
// The file store keeps an object open after a ranged read of at least this many bytes (the last
// 16 such objects), so that the kernel sees a sequential reader and reads ahead as for a plain
// file; smaller reads open the object each time. 128 KiB: the kernel's FUSE read requests of a
// sequential reader.
inline constexpr uint64_t kFileStoreReadAheadFrom = 128 << 10;
// Whether the file store writes big objects with direct I/O on the file system `fd` is on: on
// local disk file systems only (ext2/3/4, XFS, Btrfs, F2FS, bcachefs; see object/file_store.cc).
// False when fstatfs fails.
bool FileStoreWritesDirect(int fd);
// `mem`: a process-local map, for unit tests.
std::unique_ptr<ObjectStore> NewMemStore();
// Prepends `prefix` (e.g. "myvol/") to every key; strips it from listed keys.
std::unique_ptr<ObjectStore> WithPrefix(std::unique_ptr<ObjectStore> inner, std::string prefix);

// Builds a backend from a storage type and bucket as stored in the Format ("file" + "/data/jfs/",
// "mem" + anything, "s3" + "http(s)://host:port/bucket" or
// "https://bucket.s3.region.amazonaws.com", "minio" = s3 with path style; see object/s3_store.h).
// Empty S3 keys fall back to AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. Unknown
// type → EINVAL with a message naming the supported types.
Status CreateStorage(const std::string& storage, const std::string& bucket,
                     const std::string& access_key, const std::string& secret_key,
                     std::unique_ptr<ObjectStore>* out);
// The type CreateStorage dispatches on: `storage` lower-cased, as JuiceFS does ("S3" is "s3").
std::string StorageType(std::string_view storage);

}  // namespace jfs::object
