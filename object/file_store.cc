// `file` backend: one regular file per object under a root directory, the directory tree
// mirroring the '/'-separated key ("a/b/c" → root/a/b/c).
//
// Atomicity: Put writes a uniquely named temporary file in the destination directory and renames
// it over the target, so readers (who hold an fd to either inode) never see a mix.
// Durability: Put does not fsync (JuiceFS's file store does not either): a flush per 4 MiB block
// or per small file dominated the cost of writing. The chunk layer calls Sync for the blocks a
// file's fsync or a compaction needs durable; Sync fsyncs each file and the directories from the
// root down to it, SyncAll is syncfs(2) of the root's file system.
// Big objects (1 MiB or more: the blocks of big files) are written with direct I/O (O_DIRECT)
// when their buffer is page-aligned, as the chunk layer's block buffers are: the data goes from
// that buffer to the disk without a copy into the page cache, which was most of a big write's
// CPU (a writer kept more than a core busy copying at 350-550 MiB/s where the disk takes 2 GB/s),
// a later fsync finds nothing to flush, and the page cache is not filled with blocks the chunk
// layer already buffered. The cost: a block read right after it was written comes from the disk,
// not from the page cache. Direct I/O is used on local disk file systems only (ext2/3/4, XFS,
// Btrfs, F2FS, bcachefs: FileStoreWritesDirect). A bucket directory on NFS, CIFS, CephFS, 9p or
// FUSE (a NAS shared by several hosts, the usual way to share a `file` bucket) accepts O_DIRECT
// too, but there each direct write waits for the server, where buffered writes are flushed in bulk
// by the later fsync; tmpfs keeps the pages in memory either way. Unaligned tails, whole objects on
// other file systems and on one that refuses O_DIRECT after all (EINVAL) go through the page cache;
// there, objects of 1 MiB or more have their writeback started at once (sync_file_range WRITE,
// no wait, as RocksDB's bytes_per_sync does), so the disk works while the rest of the file is
// written and a later fsync finds little left to flush.
// Temporary files start with kTempPrefix; List and Get never expose them, and keys whose
// components start with it are rejected so that no object can be mistaken for one.
//
// Delete removes parent directories that became empty (never the root). A Put racing with that
// cleanup may find its directory gone; it then recreates the directories and retries.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "object/object_store.h"
#include "util/unique_fd.h"

namespace jfs::object {

// bcachefs's magic (fs/bcachefs/bcachefs_format.h); <linux/magic.h> of older kernels lacks it.
constexpr int64_t kBcachefsMagic = 0xca451a4e;

bool FileStoreWritesDirect(int fd) {
  struct statfs st;
  if (::fstatfs(fd, &st) != 0) return false;
  switch (static_cast<int64_t>(st.f_type)) {
    case EXT4_SUPER_MAGIC:  // also ext2 and ext3
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case F2FS_SUPER_MAGIC:
    case kBcachefsMagic:
      return true;
    default:
      return false;
  }
}

namespace {

constexpr std::string_view kTempPrefix = ".jfs-tmp.";
constexpr int kPutAttempts = 8;

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};
using UniqueDir = std::unique_ptr<DIR, DirCloser>;

bool StartsWith(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

std::string ErrText(int err) {
  return std::strerror(err);
}

// An error of the operating system, as the contract wants it: EIO carrying the OS text.
Status OsError(std::string_view op, std::string_view key, const std::string& what, int err) {
  std::string msg(op);
  msg += ' ';
  msg += key;
  msg += ": ";
  msg += what;
  msg += ": ";
  msg += ErrText(err);
  return Status::IOError(msg);
}

bool IsTempName(std::string_view name) {
  return StartsWith(name, kTempPrefix);
}

// Checks that the '/'-separated components of `path` cannot leave the root or alias another key.
Status CheckComponents(std::string_view path, std::string_view what) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(start, end - start);
    if (comp.empty()) return Status::Invalid(std::string(what) + " has an empty path component");
    if (comp == "." || comp == "..") {
      return Status::Invalid(std::string(what) + " has a '.' or '..' component");
    }
    if (comp.size() > NAME_MAX) {
      return Status::Invalid(std::string(what) + " has a component longer than " +
                             std::to_string(NAME_MAX) + " bytes");
    }
    if (IsTempName(comp)) {
      return Status::Invalid(std::string(what) + " has a component starting with '" +
                             std::string(kTempPrefix) + "' (reserved for temporary files)");
    }
    start = end + 1;
  }
  return Status::OK();
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::Invalid("empty object key");
  std::string what = "object key '" + std::string(key) + "'";
  if (key.front() == '/') return Status::Invalid(what + " starts with '/'");
  if (key.find('\0') != std::string_view::npos) return Status::Invalid(what + " contains NUL");
  return CheckComponents(key, what);
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

std::string RandomSuffix() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return seed ^ std::hash<std::thread::id>{}(std::this_thread::get_id());
  }());
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string s(16, '0');
  for (char& c : s) {
    c = kHex[v & 15];
    v >>= 4;
  }
  return s;
}

// mkdir -p. An existing non-directory on the way is reported by the caller's next open().
int MakeDirs(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return errno;
  size_t slash = dir.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return ENOENT;
  int err = MakeDirs(dir.substr(0, slash));
  if (err != 0) return err;
  if (::mkdir(dir.c_str(), 0755) == 0 || errno == EEXIST) return 0;
  return errno;
}

struct DirEntry {
  std::string name;  // directories carry a trailing '/' so that sorting gives key order
  bool is_dir;
};

// Reads one directory, skipping temporary files and anything that is neither a regular file nor
// a directory. A directory that does not exist (or vanished) reads as empty.
Status ReadDirSorted(const std::string& path, std::vector<DirEntry>* out) {
  out->clear();
  UniqueDir dir(::opendir(path.c_str()));
  if (!dir) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::OK();
    return OsError("list", path, "opendir", errno);
  }
  for (;;) {
    errno = 0;
    struct dirent* de = ::readdir(dir.get());
    if (de == nullptr) {
      if (errno != 0) return OsError("list", path, "readdir", errno);
      break;
    }
    std::string_view name(de->d_name);
    if (name == "." || name == ".." || IsTempName(name)) continue;
    bool is_dir;
    if (de->d_type == DT_DIR) {
      is_dir = true;
    } else if (de->d_type == DT_REG) {
      is_dir = false;
    } else if (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN) {
      // Symlinks count only when they point at a regular file: following links to directories
      // could loop or leave the root.
      struct stat st;
      if (::fstatat(::dirfd(dir.get()), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      bool link = S_ISLNK(st.st_mode);
      if (link && ::fstatat(::dirfd(dir.get()), de->d_name, &st, 0) != 0) continue;
      if (S_ISREG(st.st_mode)) {
        is_dir = false;
      } else if (S_ISDIR(st.st_mode) && !link) {
        is_dir = true;
      } else {
        continue;
      }
    } else {
      continue;
    }
    out->push_back(DirEntry{std::string(name) + (is_dir ? "/" : ""), is_dir});
  }
  std::sort(out->begin(), out->end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return Status::OK();
}

// True if the subtree holds at least one object; empty directories left behind must not show up
// as common prefixes.
Status HasAnyObject(const std::string& dir, bool* found) {
  std::vector<DirEntry> entries;
  JFS_RETURN_IF_ERROR(ReadDirSorted(dir, &entries));
  for (const auto& e : entries) {
    if (!e.is_dir) {
      *found = true;
      return Status::OK();
    }
  }
  for (const auto& e : entries) {
    JFS_RETURN_IF_ERROR(HasAnyObject(dir + e.name, found));
    if (*found) return Status::OK();
  }
  *found = false;
  return Status::OK();
}

// One List call. The walk visits directories depth-first with entries sorted as described in
// ReadDirSorted, which yields keys in ascending byte order, and prunes every subtree whose keys
// cannot start with the prefix or all sort at or before the marker. It stops as soon as one entry
// beyond the limit is found, so a page costs the directories on its path, not the whole tree.
class Lister {
 public:
  Lister(std::string_view root, std::string_view prefix, std::string_view marker,
         std::string_view delimiter, size_t limit, std::vector<ObjectInfo>* out)
      : root_(root),
        prefix_(prefix),
        marker_(marker),
        delim_(delimiter),
        limit_(limit),
        out_(out) {}

  // `dir_key` is the key prefix of directory root_ + dir_key (empty or ending with '/').
  Status Walk(const std::string& dir_key) {
    std::vector<DirEntry> entries;
    JFS_RETURN_IF_ERROR(ReadDirSorted(root_ + dir_key, &entries));
    for (const auto& e : entries) {
      if (done_) break;
      std::string key = dir_key + e.name;
      bool under_prefix = StartsWith(key, prefix_);
      if (!under_prefix) {
        // Entries are sorted: once past the prefix nothing later can start with it.
        if (key > prefix_) break;
        // A directory on the way down to the prefix ("a/" for prefix "a/b").
        if (!e.is_dir || !StartsWith(prefix_, key)) continue;
      }
      if (!skip_.empty() && StartsWith(key, skip_)) continue;
      if (key <= marker_ && !(e.is_dir && StartsWith(marker_, key))) continue;
      if (under_prefix && !delim_.empty()) {
        size_t pos = key.find(delim_, prefix_.size());
        if (pos != std::string::npos) {
          // Every key in this entry (a file, or a whole subtree) rolls up into `common`.
          // A common prefix at or before the marker was returned by an earlier page.
          std::string common = key.substr(0, pos + delim_.size());
          if (common > marker_) {
            bool nonempty = true;
            if (e.is_dir) JFS_RETURN_IF_ERROR(HasAnyObject(root_ + key, &nonempty));
            if (!nonempty) continue;
            Emit(ObjectInfo{common, 0, 0, true});
          }
          skip_ = std::move(common);
          continue;
        }
      }
      if (e.is_dir) {
        JFS_RETURN_IF_ERROR(Walk(key));
        continue;
      }
      struct stat st;
      if (::stat((root_ + key).c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // deleted while we listed
        return OsError("list", key, "stat", errno);
      }
      Emit(ObjectInfo{key, static_cast<uint64_t>(st.st_size), MtimeNs(st), false});
    }
    return Status::OK();
  }

  bool truncated() const { return truncated_; }

 private:
  void Emit(ObjectInfo info) {
    if (out_->size() == limit_) {
      truncated_ = true;
      done_ = true;
      return;
    }
    out_->push_back(std::move(info));
  }

  std::string root_;
  std::string_view prefix_, marker_, delim_;
  size_t limit_;
  std::vector<ObjectInfo>* out_;
  std::string skip_;  // the last common prefix emitted: later keys under it are already covered
  bool truncated_ = false;
  bool done_ = false;
};

class FileStore final : public ObjectStore {
 public:
  explicit FileStore(std::string root) : root_(std::move(root)) {}

  std::string Describe() const override { return "file://" + root_; }

  Status Create() override {
    std::string dir = root_.size() > 1 ? root_.substr(0, root_.size() - 1) : root_;
    int err = MakeDirs(dir);
    if (err != 0) return OsError("create", root_, "mkdir", err);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) return OsError("create", root_, "stat", errno);
    if (!S_ISDIR(st.st_mode)) return Status::IOError("create " + root_ + ": not a directory");
    return Status::OK();
  }

  Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) override {
    out->clear();
    UniqueFd fd;
    uint64_t want = 0;
    JFS_RETURN_IF_ERROR(OpenForRead(key, offset, length, &fd, &want));
    if (want == 0) return Status::OK();
    out->resize(want);
    uint64_t got = 0;
    Status st = ReadFully(key, fd.get(), static_cast<uint64_t>(offset), want, out->data(), &got);
    out->resize(st.ok() ? got : 0);
    return st;
  }

  Status Sync(const std::vector<std::string>& keys) override {
    std::set<std::string> dirs;  // relative to the root, "" = the root; synced after the files
    for (const auto& key : keys) {
      JFS_RETURN_IF_ERROR(CheckKey(key));
      JFS_RETURN_IF_ERROR(SyncPath(key, Path(key), /*missing_ok=*/true));
      for (size_t slash = key.find('/'); slash != std::string::npos;
           slash = key.find('/', slash + 1)) {
        dirs.insert(key.substr(0, slash));
      }
      dirs.insert("");
    }
    for (const auto& dir : dirs) {
      JFS_RETURN_IF_ERROR(SyncPath(dir, root_ + dir, /*missing_ok=*/true));
    }
    return Status::OK();
  }

  Status SyncAll() override {
    UniqueFd fd(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return OsError("sync", "", "open " + root_, errno);
    if (::syncfs(fd.get()) != 0) return OsError("sync", "", "syncfs " + root_, errno);
    return Status::OK();
  }

  Status GetInto(std::string_view key, int64_t offset, int64_t length, char* dst,
                 int64_t* n) override {
    *n = 0;
    if (length < 0) return Status::Invalid("negative length");
    if (dst == nullptr && length > 0) return Status::Invalid("null read buffer");
    if (static_cast<uint64_t>(length) >= kFileStoreReadAheadFrom) {
      return GetLarge(key, offset, length, dst, n);
    }
    UniqueFd fd;
    uint64_t want = 0;
    JFS_RETURN_IF_ERROR(OpenForRead(key, offset, length, &fd, &want));
    uint64_t got = 0;
    JFS_RETURN_IF_ERROR(ReadFully(key, fd.get(), static_cast<uint64_t>(offset), want, dst, &got));
    *n = static_cast<int64_t>(got);
    return Status::OK();
  }

  // Opens the object into the kept fds (GetLarge reads it from there next) and, unless its last
  // byte is in the page cache already (a re-read), starts the kernel's readahead of its first
  // kWillReadBytes with a non-blocking read: RWF_NOWAIT returns EAGAIN at the first page not
  // cached, after starting the read of the missing pages, so nothing waits and nothing is copied
  // but pages already cached. That readahead is the one a sequential reader of the file would
  // start (large page-cache folios), unlike fadvise(WILLNEED), which reads into 4 KiB pages.
  void WillRead(std::string_view key) override {
    OpenObject o;
    if (!KeptOrOpen(key, &o).ok() || o.size == 0) return;  // a bad or missing key included
    char last = 0;
    iovec probe{&last, 1};
    if (::preadv2(o.fd->get(), &probe, 1, static_cast<off_t>(o.size - 1), RWF_NOWAIT) == 1) return;
    // What lands here (only pages cached already) is never looked at: one buffer serves all.
    static const std::unique_ptr<char[]> scratch =
        std::make_unique_for_overwrite<char[]>(kWillReadBytes);
    iovec all{scratch.get(), static_cast<size_t>(std::min<uint64_t>(o.size, kWillReadBytes))};
    (void)::preadv2(o.fd->get(), &all, 1, 0, RWF_NOWAIT);
  }

  // Objects from this size on (the blocks of big files) are written with direct I/O, or get their
  // writeback started (see the top of the file). kDirectAlign: the alignment of address, offset
  // and length direct I/O needs; 4096 covers every logical block size short of exotic devices,
  // whose EINVAL makes Put fall back to buffered writes.
  static constexpr size_t kBigObject = size_t{1} << 20;
  static constexpr size_t kDirectAlign = 4096;
  Status Put(std::string_view key, std::string_view data) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    std::string path = Path(key);
    std::string dir = path.substr(0, path.find_last_of('/'));
    std::string tmp;
    UniqueFd fd;
    for (int attempt = 0;; ++attempt) {
      tmp = dir + "/" + std::string(kTempPrefix) + RandomSuffix();
      fd.Reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (fd.get() >= 0) break;
      int err = errno;
      if (attempt + 1 >= kPutAttempts) return OsError("put", key, "create temporary file", err);
      if (err == ENOENT) {
        // The directory is missing, or a concurrent Delete just removed it as empty.
        int mk = MakeDirs(dir);
        if (mk != 0 && mk != ENOENT) return OsError("put", key, "mkdir " + dir, mk);
      } else if (err != EEXIST) {
        return OsError("put", key, "create temporary file", err);
      }
    }
    Status st = WriteAndRename(key, fd, tmp, path, data);
    if (!st.ok()) ::unlink(tmp.c_str());
    Forget(key);
    return st;
  }

  Status Delete(std::string_view key) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    Forget(key);
    std::string path = Path(key);
    if (::unlink(path.c_str()) != 0) {
      // No regular file at that name means no object: deleting is idempotent.
      if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return Status::OK();
      return OsError("delete", key, "unlink", errno);
    }
    // Best effort: rmdir fails (ENOTEMPTY) as soon as a directory still holds something.
    std::string dir = path.substr(0, path.find_last_of('/'));
    while (dir.size() >= root_.size() && ::rmdir(dir.c_str()) == 0) {
      dir.resize(dir.find_last_of('/'));
    }
    return Status::OK();
  }

  Status Head(std::string_view key, ObjectInfo* info) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    struct stat st;
    if (::stat(Path(key).c_str(), &st) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(std::string(key));
      return OsError("head", key, "stat", errno);
    }
    if (!S_ISREG(st.st_mode)) return Status::NotFound(std::string(key));
    *info = ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size), MtimeNs(st), false};
    return Status::OK();
  }

  Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
              int limit, std::vector<ObjectInfo>* out, bool* truncated) override {
    out->clear();
    *truncated = false;
    // Start at the deepest directory the prefix names. A prefix no valid key can start with
    // (e.g. "../", "a//") matches nothing, and must not make us read outside the root.
    size_t slash = prefix.find_last_of('/');
    std::string start = slash == std::string_view::npos ? "" : std::string(prefix.substr(0, slash));
    if (!start.empty() || slash != std::string_view::npos) {
      if (prefix.find('\0') != std::string_view::npos || prefix.front() == '/' ||
          !CheckComponents(start, "prefix").ok()) {
        return Status::OK();
      }
      start += '/';
    }
    Lister lister(root_, prefix, marker, delimiter, limit > 0 ? static_cast<size_t>(limit) : 1000,
                  out);
    Status st = lister.Walk(start);
    if (!st.ok()) {
      out->clear();
      return st;
    }
    *truncated = lister.truncated();
    return Status::OK();
  }

 private:
  // An object open for large reads (see GetLarge).
  struct OpenObject {
    std::string key;
    std::shared_ptr<UniqueFd> fd;
    uint64_t size = 0;
  };
  static constexpr size_t kMaxOpenObjects = 16;
  static constexpr uint64_t kWillReadBytes = 4 << 20;  // a default block

  // Large reads (kFileStoreReadAheadFrom or more: a sequential reader, as the layers above pass
  // small reads through their own readahead) keep the object open between calls. Opening it per
  // read cost open + fstat + close and, worse, left the kernel's readahead with a fresh file each
  // time: it read exactly what was asked, synchronously, into small page-cache folios (a re-read
  // from them copied at half the speed of a plain file's). With the fd kept, the kernel sees one
  // sequential reader, as for a plain file. An fd of an object deleted or replaced meanwhile (by
  // another client too) has no links left: fstat tells, and the path is opened again.
  Status GetLarge(std::string_view key, int64_t offset, int64_t length, char* dst, int64_t* n) {
    if (offset < 0) return Status::Invalid("negative offset");
    OpenObject o;
    JFS_RETURN_IF_ERROR(KeptOrOpen(key, &o));
    const uint64_t want = InRange(o.size, offset, length);
    uint64_t got = 0;
    JFS_RETURN_IF_ERROR(
        ReadFully(key, o.fd->get(), static_cast<uint64_t>(offset), want, dst, &got));
    *n = static_cast<int64_t>(got);
    return Status::OK();
  }

  // The kept fd of `key` (checked: still linked), else the object opened and kept (OpenForRead
  // checks the key; a kept one was checked when opened).
  Status KeptOrOpen(std::string_view key, OpenObject* out) {
    OpenObject o;
    {
      std::lock_guard<std::mutex> l(open_mu_);
      for (auto it = open_.begin(); it != open_.end(); ++it) {
        if (it->key == key) {
          o = *it;
          if (it != open_.begin()) std::rotate(open_.begin(), it, it + 1);  // most recent first
          break;
        }
      }
    }
    if (o.fd) {
      struct stat st;
      if (::fstat(o.fd->get(), &st) != 0 || st.st_nlink == 0) {
        Forget(key);
        o = OpenObject{};
      }
    }
    if (!o.fd) {
      auto fd = std::make_shared<UniqueFd>();
      uint64_t size = 0;
      JFS_RETURN_IF_ERROR(OpenForRead(key, 0, -1, fd.get(), &size));
      o = OpenObject{std::string(key), std::move(fd), size};
      std::lock_guard<std::mutex> l(open_mu_);
      open_.insert(open_.begin(), o);
      if (open_.size() > kMaxOpenObjects) open_.pop_back();
    }
    *out = std::move(o);
    return Status::OK();
  }

  // Closes the kept fd of `key` (once no read uses it).
  void Forget(std::string_view key) {
    std::lock_guard<std::mutex> l(open_mu_);
    open_.erase(std::remove_if(open_.begin(), open_.end(),
                               [&](const OpenObject& o) { return o.key == key; }),
                open_.end());
  }

  // Opens object `key` for a read of `length` bytes (< 0: to the end) at `offset`; *want = bytes
  // that exist in that range.
  Status OpenForRead(std::string_view key, int64_t offset, int64_t length, UniqueFd* fd,
                     uint64_t* want) {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    if (offset < 0) return Status::Invalid("negative offset");
    std::string path = Path(key);
    // O_NONBLOCK: a FIFO placed in the tree must not hang the reader (regular files ignore it).
    fd->Reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd->get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(std::string(key));
      return OsError("get", key, "open", errno);
    }
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return OsError("get", key, "fstat", errno);
    if (!S_ISREG(st.st_mode)) return Status::NotFound(std::string(key));
    *want = InRange(static_cast<uint64_t>(st.st_size), offset, length);
    return Status::OK();
  }

  // Bytes of an object of `size` bytes in the range of `length` (< 0: to the end) at `offset` >= 0.
  static uint64_t InRange(uint64_t size, int64_t offset, int64_t length) {
    const uint64_t off = static_cast<uint64_t>(offset);
    const uint64_t n = off >= size ? 0 : size - off;
    return length < 0 ? n : std::min<uint64_t>(n, static_cast<uint64_t>(length));
  }

  static Status ReadFully(std::string_view key, int fd, uint64_t off, uint64_t want, char* dst,
                          uint64_t* got) {
    *got = 0;
    while (*got < want) {
      ssize_t n = ::pread(fd, dst + *got, want - *got, static_cast<off_t>(off + *got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return OsError("get", key, "pread", errno);
      }
      if (n == 0) break;  // the file is immutable once renamed in, so this is just EOF
      *got += static_cast<uint64_t>(n);
    }
    return Status::OK();
  }

  std::string Path(std::string_view key) const { return root_ + std::string(key); }

  // fsync of a file or directory; a missing one (deleted meanwhile) is skipped when missing_ok.
  static Status SyncPath(std::string_view key, const std::string& path, bool missing_ok) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) {
      if (missing_ok && (errno == ENOENT || errno == ENOTDIR)) return Status::OK();
      return OsError("sync", key, "open " + path, errno);
    }
    if (::fsync(fd.get()) != 0) return OsError("sync", key, "fsync " + path, errno);
    return Status::OK();
  }

  // Writes data[*done, end) at offset *done, advancing *done; false with errno set on failure.
  static bool WriteAll(int fd, std::string_view data, size_t* done, size_t end) {
    while (*done < end) {
      ssize_t n = ::pwrite(fd, data.data() + *done, end - *done, static_cast<off_t>(*done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      *done += static_cast<size_t>(n);
    }
    return true;
  }

  // Writes the block-aligned head of `data` with O_DIRECT (see the top of the file); the bytes
  // written are counted in *done, the rest is left to buffered writes. False with errno set only
  // for a failure that buffered writes would meet too.
  bool WriteDirect(int fd, std::string_view data, size_t* done) {
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_DIRECT) != 0) {
      direct_.store(DirectIo::kOff, std::memory_order_relaxed);  // no direct I/O here after all
      return true;
    }
    const size_t head = data.size() & ~(kDirectAlign - 1);
    if (!WriteAll(fd, data, done, head)) {
      const int err = errno;
      // EINVAL: this file system wants other alignment after all. Whatever was written is
      // written again, buffered, from the start.
      if (err != EINVAL) return false;
      if (*done == 0) direct_.store(DirectIo::kOff, std::memory_order_relaxed);
      *done = 0;
    }
    if (::fcntl(fd, F_SETFL, flags) != 0) return false;
    return true;
  }

  Status WriteAndRename(std::string_view key, UniqueFd& fd, const std::string& tmp,
                        const std::string& path, std::string_view data) {
    size_t done = 0;
    bool direct =
        data.size() >= kBigObject && reinterpret_cast<uintptr_t>(data.data()) % kDirectAlign == 0;
    if (direct) {
      DirectIo d = direct_.load(std::memory_order_relaxed);
      if (d == DirectIo::kUnknown) {
        // The first big object tells which file system the bucket is on. Racing Puts may both
        // look; the first answer stays (a refusal seen meanwhile is not overwritten).
        const DirectIo seen = FileStoreWritesDirect(fd.get()) ? DirectIo::kOn : DirectIo::kOff;
        if (direct_.compare_exchange_strong(d, seen, std::memory_order_relaxed)) d = seen;
      }
      direct = d == DirectIo::kOn;
    }
    if (direct && !WriteDirect(fd.get(), data, &done)) {
      return OsError("put", key, "write " + tmp, errno);
    }
    const size_t direct_bytes = done;
    if (!WriteAll(fd.get(), data, &done, data.size())) {
      return OsError("put", key, "write " + tmp, errno);
    }
    if (data.size() - direct_bytes >= kBigObject) {
      // A big object written through the page cache (direct I/O refused, or an unaligned
      // buffer): start its writeback. A hint: durability still comes from Sync, which also
      // reports any writeback error.
      (void)::sync_file_range(fd.get(), 0, 0, SYNC_FILE_RANGE_WRITE);
    }
    if (int rc = fd.Close(); rc != 0) return OsError("put", key, "close " + tmp, -rc);
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      return OsError("put", key, "rename to " + path, errno);
    }
    return Status::OK();
  }

  std::string root_;  // absolute, ends with '/'
  // Whether big objects are written direct: unknown until the first one tells the file system
  // (FileStoreWritesDirect); off also once the file system refused O_DIRECT. Off: every later Put
  // is buffered.
  enum class DirectIo : uint8_t { kUnknown, kOn, kOff };
  std::atomic<DirectIo> direct_{DirectIo::kUnknown};
  std::mutex open_mu_;
  std::vector<OpenObject> open_;  // most recently used first; guarded by open_mu_
};

}  // namespace

Status NewFileStore(const std::string& root, std::unique_ptr<ObjectStore>* out) {
  if (root.empty()) return Status::Invalid("file store: empty root directory");
  if (root.find('\0') != std::string::npos) return Status::Invalid("file store: root contains NUL");
  std::string abs = root;
  if (abs.front() != '/') {
    // Resolve now: a later chdir() of the embedding application must not move the volume.
    std::string cwd(PATH_MAX, '\0');
    if (::getcwd(cwd.data(), cwd.size()) == nullptr) {
      return Status::IOError("file store: getcwd: " + ErrText(errno));
    }
    cwd.resize(std::strlen(cwd.c_str()));
    abs = cwd + (cwd.back() == '/' ? "" : "/") + root;
  }
  if (abs.back() != '/') abs += '/';
  *out = std::make_unique<FileStore>(std::move(abs));
  return Status::OK();
}

}  // namespace jfs::object
