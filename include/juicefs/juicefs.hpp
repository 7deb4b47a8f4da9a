// libjuicefs — header-only C++17 wrapper over the C ABI (juicefs.h).
//
// RAII owners for the three C handles: juicefs::Volume (closes the volume), juicefs::File (closes
// the file), juicefs::Dir (closes the stream, and is a range of DirEntry). All are move-only.
//
// Errors: a failing call throws juicefs::Error, a std::system_error whose code() is the errno
// (generic category) and whose what() carries the library's message (jfs_last_error). The
// exceptions are thrown here, in the caller's code, never across the C ABI. Calls that commonly
// fail as part of normal control flow also have `std::error_code&` overloads that do not throw.
// Destructors never throw: they release the handle and drop any error (call close() to see it).
//
// Thread-safety is that of the C ABI: one Volume may be used from many threads; a File's position
// is shared between threads using it; a Dir should be iterated by one thread at a time.
//
// This header uses only juicefs.h and the standard library.
#ifndef JUICEFS_JUICEFS_HPP_
#define JUICEFS_JUICEFS_HPP_

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "juicefs/juicefs.h"

namespace juicefs {

// A failed call: code().value() is the errno (ENOENT, EIO, ...), what() the library's message.
class Error : public std::system_error {
 public:
  Error(int errnum, const std::string& message)
      : std::system_error(errnum, std::generic_category(), message) {}
  int errnum() const noexcept { return code().value(); }
};

// jfs_stat_t with type tests. `mode` holds the Linux S_IFMT type bits and the permission bits.
struct Stat : jfs_stat_t {
  Stat() : jfs_stat_t{} {}
  explicit Stat(const jfs_stat_t& s) : jfs_stat_t(s) {}
  uint32_t type() const { return mode & 0170000; }
  uint32_t perm() const { return mode & 07777; }
  bool is_regular() const { return type() == 0100000; }
  bool is_dir() const { return type() == 0040000; }
  bool is_symlink() const { return type() == 0120000; }
  bool is_fifo() const { return type() == 0010000; }
  bool is_socket() const { return type() == 0140000; }
};

using StatVfs = jfs_statvfs_t;

struct DirEntry {
  std::string name;
  Stat stat;
};

struct FormatOptions {
  std::string storage = "file";
  std::string bucket;  // file: a directory; empty = the library's default
  std::string access_key, secret_key;
  std::string compression;  // empty = "none"
  uint32_t block_size_kib = 4096;
  int32_t trash_days = 1;
  uint64_t capacity = 0;  // bytes; 0 = unlimited
  uint64_t inodes = 0;    // 0 = unlimited
  bool force = false;
  bool hash_prefix = false;
};

struct VolumeOptions {
  bool read_only = false;
  uint64_t buffer_size = 0;  // 0 = library default
  int32_t upload_threads = 0;
  std::string mount_point;  // empty = library default
};

namespace detail {

inline const char* CStrOrNull(const std::string& s) {
  return s.empty() ? nullptr : s.c_str();
}

// Throws for a negative return value, with the message recorded for `fs` (or the thread's
// handle-less message when fs is NULL).
inline int64_t Check(int64_t rc, jfs_fs_t* fs) {
  if (rc < 0) throw Error(static_cast<int>(-rc), jfs_last_error(fs));
  return rc;
}

inline bool Check(int64_t rc, std::error_code& ec) noexcept {
  if (rc < 0) {
    ec.assign(static_cast<int>(-rc), std::generic_category());
    return false;
  }
  ec.clear();
  return true;
}

struct Freer {
  void operator()(void* p) const noexcept { jfs_free(p); }
};
using Owned = std::unique_ptr<char, Freer>;

}  // namespace detail

class Volume;

// An open file. Position-based calls (read, write, seek) share one position.
class File {
 public:
  File() noexcept = default;
  File(File&& o) noexcept : f_(std::exchange(o.f_, nullptr)), fs_(o.fs_) {}
  File& operator=(File&& o) noexcept {
    if (this != &o) {
      reset();
      f_ = std::exchange(o.f_, nullptr);
      fs_ = o.fs_;
    }
    return *this;
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File() { reset(); }

  explicit operator bool() const noexcept { return f_ != nullptr; }
  jfs_file_t* get() const noexcept { return f_; }

  // Reads up to n bytes; 0 at end of file.
  size_t read(void* buf, size_t n) { return static_cast<size_t>(check(jfs_read(f_, buf, n))); }
  size_t pread(void* buf, size_t n, int64_t offset) {
    return static_cast<size_t>(check(jfs_pread(f_, buf, n, offset)));
  }
  // Reads from the current position to the end of the file.
  std::string read_all() {
    std::string out;
    char buf[65536];
    for (size_t n; (n = read(buf, sizeof(buf))) > 0;) out.append(buf, n);
    return out;
  }
  size_t write(const void* buf, size_t n) {
    return static_cast<size_t>(check(jfs_write(f_, buf, n)));
  }
  size_t write(std::string_view data) { return write(data.data(), data.size()); }
  size_t pwrite(const void* buf, size_t n, int64_t offset) {
    return static_cast<size_t>(check(jfs_pwrite(f_, buf, n, offset)));
  }
  size_t pwrite(std::string_view data, int64_t offset) {
    return pwrite(data.data(), data.size(), offset);
  }
  // whence: JFS_SEEK_SET / CUR / END / DATA / HOLE. Returns the new position.
  int64_t seek(int64_t offset, int whence = JFS_SEEK_SET) {
    return check(jfs_lseek(f_, offset, whence));
  }
  void truncate(int64_t length) { check(jfs_ftruncate(f_, length)); }
  void flush() { check(jfs_flush(f_)); }
  void fsync() { check(jfs_fsync(f_)); }
  Stat stat() {
    Stat s;
    check(jfs_fstat(f_, &s));
    return s;
  }
  // jfs_flock: JFS_LOCK_SH / JFS_LOCK_EX / JFS_LOCK_UN, optionally | JFS_LOCK_NB. Returns false
  // when JFS_LOCK_NB was given and another owner holds a conflicting lock; throws otherwise.
  bool flock(int op) {
    int64_t r = jfs_flock(f_, op);
    if (r == -EAGAIN && (op & JFS_LOCK_NB)) return false;
    check(r);
    return true;
  }
  // jfs_fcntl_lock (JFS_F_GETLK / SETLK / SETLKW and the OFD forms). Returns false when a SETLK
  // conflicts (-EAGAIN); throws otherwise. GETLK fills `lk` as jfs_fcntl_lock says.
  bool lock(int cmd, jfs_posix_lock_t& lk) {
    int64_t r = jfs_fcntl_lock(f_, cmd, &lk);
    if (r == -EAGAIN && (cmd == JFS_F_SETLK || cmd == JFS_F_OFD_SETLK)) return false;
    check(r);
    return true;
  }
  // Flushes and closes; throws if the flush failed (the handle is released either way).
  void close() {
    if (f_ != nullptr) check(jfs_close(std::exchange(f_, nullptr)));
  }

 private:
  friend class Volume;
  File(jfs_file_t* f, jfs_fs_t* fs) noexcept : f_(f), fs_(fs) {}
  int64_t check(int64_t rc) const { return detail::Check(rc, fs_); }
  void reset() noexcept {
    if (f_ != nullptr) jfs_close(std::exchange(f_, nullptr));
  }
  jfs_file_t* f_ = nullptr;
  jfs_fs_t* fs_ = nullptr;  // for jfs_last_error; validated by the library, never dereferenced
};

// A directory stream and an input range over its entries:
//   for (const juicefs::DirEntry& e : vol.opendir("/")) ...
class Dir {
 public:
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = DirEntry;
    using difference_type = std::ptrdiff_t;
    using pointer = const DirEntry*;
    using reference = const DirEntry&;

    iterator() noexcept = default;
    reference operator*() const { return entry_; }
    pointer operator->() const { return &entry_; }
    iterator& operator++() {
      if (!dir_->next(entry_)) dir_ = nullptr;
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.dir_ == b.dir_; }
    friend bool operator!=(const iterator& a, const iterator& b) { return a.dir_ != b.dir_; }

   private:
    friend class Dir;
    explicit iterator(Dir* d) : dir_(d) { ++*this; }
    Dir* dir_ = nullptr;
    DirEntry entry_;
  };

  Dir() noexcept = default;
  Dir(Dir&& o) noexcept : d_(std::exchange(o.d_, nullptr)), fs_(o.fs_) {}
  Dir& operator=(Dir&& o) noexcept {
    if (this != &o) {
      reset();
      d_ = std::exchange(o.d_, nullptr);
      fs_ = o.fs_;
    }
    return *this;
  }
  Dir(const Dir&) = delete;
  Dir& operator=(const Dir&) = delete;
  ~Dir() { reset(); }

  explicit operator bool() const noexcept { return d_ != nullptr; }
  jfs_dir_t* get() const noexcept { return d_; }

  // Reads the next entry into `e`; false at the end.
  bool next(DirEntry& e) {
    const jfs_dirent_t* ent = nullptr;
    if (detail::Check(jfs_readdir(d_, &ent), fs_) == 0) return false;
    e.name.assign(ent->name, ent->name_len);
    e.stat = Stat(ent->stat);
    return true;
  }
  // Each call continues the same stream: a Dir is read once.
  iterator begin() { return iterator(this); }
  iterator end() noexcept { return iterator(); }

  void close() {
    if (d_ != nullptr) detail::Check(jfs_closedir(std::exchange(d_, nullptr)), fs_);
  }

 private:
  friend class Volume;
  Dir(jfs_dir_t* d, jfs_fs_t* fs) noexcept : d_(d), fs_(fs) {}
  void reset() noexcept {
    if (d_ != nullptr) jfs_closedir(std::exchange(d_, nullptr));
  }
  jfs_dir_t* d_ = nullptr;
  jfs_fs_t* fs_ = nullptr;
};

// An open volume.
class Volume {
 public:
  // Formats a new volume (see jfs_format).
  static void format(const std::string& meta_url, const std::string& name,
                     const FormatOptions& opts = {}) {
    jfs_format_options_t o;
    jfs_format_options_init(&o);
    o.storage = detail::CStrOrNull(opts.storage);
    o.bucket = detail::CStrOrNull(opts.bucket);
    o.access_key = detail::CStrOrNull(opts.access_key);
    o.secret_key = detail::CStrOrNull(opts.secret_key);
    o.compression = detail::CStrOrNull(opts.compression);
    o.block_size_kib = opts.block_size_kib;
    o.trash_days = opts.trash_days;
    o.capacity = opts.capacity;
    o.inodes = opts.inodes;
    o.flags =
        (opts.force ? JFS_FORMAT_FORCE : 0u) | (opts.hash_prefix ? JFS_FORMAT_HASH_PREFIX : 0u);
    detail::Check(jfs_format(meta_url.c_str(), name.c_str(), &o), nullptr);
  }

  static Volume open(const std::string& meta_url, const VolumeOptions& opts = {}) {
    std::error_code ec;
    Volume v = open(meta_url, opts, ec);
    if (ec) throw Error(ec.value(), jfs_last_open_error());
    return v;
  }
  static Volume open(const std::string& meta_url, const VolumeOptions& opts,
                     std::error_code& ec) noexcept {
    jfs_volume_options_t o;
    jfs_volume_options_init(&o);
    if (opts.read_only) o.flags |= JFS_VOLUME_READ_ONLY;
    if (opts.buffer_size != 0) o.buffer_size = opts.buffer_size;
    if (opts.upload_threads != 0) o.upload_threads = opts.upload_threads;
    o.mount_point = detail::CStrOrNull(opts.mount_point);
    jfs_fs_t* fs = nullptr;
    if (!detail::Check(jfs_open_volume(meta_url.c_str(), &o, &fs), ec)) return Volume();
    return Volume(fs);
  }

  Volume() noexcept = default;
  // Adopts a handle from jfs_open_volume.
  explicit Volume(jfs_fs_t* fs) noexcept : fs_(fs) {}
  Volume(Volume&& o) noexcept : fs_(std::exchange(o.fs_, nullptr)) {}
  Volume& operator=(Volume&& o) noexcept {
    if (this != &o) {
      reset();
      fs_ = std::exchange(o.fs_, nullptr);
    }
    return *this;
  }
  Volume(const Volume&) = delete;
  Volume& operator=(const Volume&) = delete;
  ~Volume() { reset(); }

  explicit operator bool() const noexcept { return fs_ != nullptr; }
  jfs_fs_t* get() const noexcept { return fs_; }
  // Gives up ownership of the handle.
  jfs_fs_t* release() noexcept { return std::exchange(fs_, nullptr); }

  // Closes the volume (flushing open files); throws if that failed. Files and Dirs of this volume
  // must not be used afterwards (they fail with EBADF).
  void close() {
    if (fs_ != nullptr) detail::Check(jfs_close_volume(std::exchange(fs_, nullptr)), nullptr);
  }

  // Message of this thread's last failed call on the volume.
  std::string last_error() const { return jfs_last_error(fs_); }

  void set_credentials(uint32_t uid, const std::vector<uint32_t>& gids, uint16_t umask = 022) {
    check(jfs_set_credentials(fs_, uid, gids.data(), gids.size(), umask));
  }

  StatVfs statvfs() const {
    StatVfs s{};
    check(jfs_statvfs(fs_, &s));
    return s;
  }

  // ---- files and directories ----
  // flags: O_* values (fcntl.h); mode for O_CREAT.
  File open_file(const std::string& path, int flags, uint32_t mode = 0666) const {
    jfs_file_t* f = nullptr;
    check(jfs_open(fs_, path.c_str(), flags, mode, &f));
    return File(f, fs_);
  }
  File open_file(const std::string& path, int flags, uint32_t mode,
                 std::error_code& ec) const noexcept {
    jfs_file_t* f = nullptr;
    if (!detail::Check(jfs_open(fs_, path.c_str(), flags, mode, &f), ec)) return File();
    return File(f, fs_);
  }
  // Creates or truncates a file opened write-only.
  File create(const std::string& path, uint32_t mode = 0666) const {
    jfs_file_t* f = nullptr;
    check(jfs_create(fs_, path.c_str(), mode, &f));
    return File(f, fs_);
  }
  Dir opendir(const std::string& path) const {
    jfs_dir_t* d = nullptr;
    check(jfs_opendir(fs_, path.c_str(), &d));
    return Dir(d, fs_);
  }
  // Every entry of a directory, read to the end.
  std::vector<DirEntry> list_dir(const std::string& path) const {
    std::vector<DirEntry> out;
    Dir d = opendir(path);
    for (DirEntry e; d.next(e);) out.push_back(std::move(e));
    d.close();
    return out;
  }
  // The whole content of a file.
  std::string read_file(const std::string& path) const {
    File f = open_file(path, 0 /* O_RDONLY */);
    std::string data = f.read_all();
    f.close();
    return data;
  }
  // Creates or replaces a file with `data`; it is visible to other clients on return.
  void write_file(const std::string& path, std::string_view data, uint32_t mode = 0666) const {
    File f = create(path, mode);
    f.write(data);
    f.close();
  }

  // ---- namespace ----
  Stat stat(const std::string& path) const {
    Stat s;
    check(jfs_stat(fs_, path.c_str(), &s));
    return s;
  }
  Stat stat(const std::string& path, std::error_code& ec) const noexcept {
    Stat s;
    detail::Check(jfs_stat(fs_, path.c_str(), &s), ec);
    return s;
  }
  Stat lstat(const std::string& path) const {
    Stat s;
    check(jfs_lstat(fs_, path.c_str(), &s));
    return s;
  }
  Stat lstat(const std::string& path, std::error_code& ec) const noexcept {
    Stat s;
    detail::Check(jfs_lstat(fs_, path.c_str(), &s), ec);
    return s;
  }
  // True if `path` exists (final symlink not followed); throws for errors other than ENOENT.
  bool exists(const std::string& path) const {
    std::error_code ec;
    lstat(path, ec);
    if (ec.value() == ENOENT) return false;
    if (ec) throw Error(ec.value(), jfs_last_error(fs_));
    return true;
  }
  void access(const std::string& path, int mask) const {
    check(jfs_access(fs_, path.c_str(), mask));
  }
  void access(const std::string& path, int mask, std::error_code& ec) const noexcept {
    detail::Check(jfs_access(fs_, path.c_str(), mask), ec);
  }
  void mkdir(const std::string& path, uint32_t mode = 0777) const {
    check(jfs_mkdir(fs_, path.c_str(), mode));
  }
  void mkdir(const std::string& path, uint32_t mode, std::error_code& ec) const noexcept {
    detail::Check(jfs_mkdir(fs_, path.c_str(), mode), ec);
  }
  void mkdir_all(const std::string& path, uint32_t mode = 0777) const {
    check(jfs_mkdir_all(fs_, path.c_str(), mode));
  }
  void rmdir(const std::string& path) const { check(jfs_rmdir(fs_, path.c_str())); }
  void rmdir(const std::string& path, std::error_code& ec) const noexcept {
    detail::Check(jfs_rmdir(fs_, path.c_str()), ec);
  }
  void unlink(const std::string& path) const { check(jfs_unlink(fs_, path.c_str())); }
  void unlink(const std::string& path, std::error_code& ec) const noexcept {
    detail::Check(jfs_unlink(fs_, path.c_str()), ec);
  }
  // flags: 0, JFS_RENAME_NOREPLACE or JFS_RENAME_EXCHANGE.
  void rename(const std::string& from, const std::string& to, uint32_t flags = 0) const {
    check(jfs_rename(fs_, from.c_str(), to.c_str(), flags));
  }
  void rename(const std::string& from, const std::string& to, uint32_t flags,
              std::error_code& ec) const noexcept {
    detail::Check(jfs_rename(fs_, from.c_str(), to.c_str(), flags), ec);
  }
  void link(const std::string& existing, const std::string& newpath) const {
    check(jfs_link(fs_, existing.c_str(), newpath.c_str()));
  }
  void symlink(const std::string& target, const std::string& linkpath) const {
    check(jfs_symlink(fs_, target.c_str(), linkpath.c_str()));
  }
  std::string readlink(const std::string& path) const {
    char* t = nullptr;
    size_t len = 0;
    check(jfs_readlink(fs_, path.c_str(), &t, &len));
    detail::Owned owned(t);
    return std::string(t, len);
  }
  std::string realpath(const std::string& path) const {
    char* r = nullptr;
    check(jfs_realpath(fs_, path.c_str(), &r));
    detail::Owned owned(r);
    return std::string(r);
  }
  void chmod(const std::string& path, uint32_t mode) const {
    check(jfs_chmod(fs_, path.c_str(), mode));
  }
  // uint32_t(-1) leaves uid or gid unchanged.
  void chown(const std::string& path, uint32_t uid, uint32_t gid) const {
    check(jfs_chown(fs_, path.c_str(), uid, gid));
  }
  void lchown(const std::string& path, uint32_t uid, uint32_t gid) const {
    check(jfs_lchown(fs_, path.c_str(), uid, gid));
  }
  // nsec may be JFS_UTIME_NOW or JFS_UTIME_OMIT.
  void utimens(const std::string& path, jfs_timespec_t atime, jfs_timespec_t mtime,
               bool follow = true) const {
    const jfs_timespec_t t[2] = {atime, mtime};
    check(follow ? jfs_utimens(fs_, path.c_str(), t) : jfs_lutimens(fs_, path.c_str(), t));
  }
  void truncate(const std::string& path, int64_t length) const {
    check(jfs_truncate(fs_, path.c_str(), length));
  }
  void mknod(const std::string& path, uint32_t mode, uint32_t rdev = 0) const {
    check(jfs_mknod(fs_, path.c_str(), mode, rdev));
  }

  // ---- extended attributes (follow = false acts on a symlink itself) ----
  std::string getxattr(const std::string& path, const std::string& name, bool follow = true) const {
    void* v = nullptr;
    size_t size = 0;
    check(follow ? jfs_getxattr(fs_, path.c_str(), name.c_str(), &v, &size)
                 : jfs_lgetxattr(fs_, path.c_str(), name.c_str(), &v, &size));
    detail::Owned owned(static_cast<char*>(v));
    return std::string(static_cast<const char*>(v), size);
  }
  // flags: 0, JFS_XATTR_CREATE or JFS_XATTR_REPLACE.
  void setxattr(const std::string& path, const std::string& name, std::string_view value,
                int flags = 0, bool follow = true) const {
    check(follow
              ? jfs_setxattr(fs_, path.c_str(), name.c_str(), value.data(), value.size(), flags)
              : jfs_lsetxattr(fs_, path.c_str(), name.c_str(), value.data(), value.size(), flags));
  }
  std::vector<std::string> listxattr(const std::string& path, bool follow = true) const {
    char* list = nullptr;
    size_t size = 0;
    check(follow ? jfs_listxattr(fs_, path.c_str(), &list, &size)
                 : jfs_llistxattr(fs_, path.c_str(), &list, &size));
    detail::Owned owned(list);
    std::vector<std::string> names;
    for (size_t i = 0; i < size;) {
      size_t n = std::strlen(list + i);
      names.emplace_back(list + i, n);
      i += n + 1;
    }
    return names;
  }
  void removexattr(const std::string& path, const std::string& name, bool follow = true) const {
    check(follow ? jfs_removexattr(fs_, path.c_str(), name.c_str())
                 : jfs_lremovexattr(fs_, path.c_str(), name.c_str()));
  }

 private:
  int64_t check(int64_t rc) const { return detail::Check(rc, fs_); }
  void reset() noexcept {
    if (fs_ != nullptr) jfs_close_volume(std::exchange(fs_, nullptr));
  }
  jfs_fs_t* fs_ = nullptr;
};

// The version of the loaded library ("MAJOR.MINOR.PATCH").
inline std::string version() {
  return jfs_version();
}

}  // namespace juicefs

#endif  // JUICEFS_JUICEFS_HPP_
