// The C ABI (include/juicefs/juicefs.h) over lib::Volume / lib::File / lib::DirStream.
//
// Three things live here and nowhere else:
//  * the boundary: every exported function runs its body through Run(), which maps a Status to
//    0 / -errno (ErrnoOf is the only errno mapping of the library), records the message for
//    jfs_last_error, and turns any exception into -ENOMEM / -EIO, so none crosses the ABI;
//  * handle validation: a C handle is a small struct owned by a registry (one per handle type).
//    A call first looks its pointer up there and copies out a shared_ptr to the handle's state,
//    so a released or foreign pointer is never dereferenced (-EBADF), and a handle released by
//    one thread while another is inside a call on it stays alive until that call returns;
//  * per-thread last-error messages, keyed by volume serial number in thread-local storage.
//
// Handles are allocated with std::make_unique and owned by their registry until released; the
// caller only ever holds the raw address, which the registry's map key makes valid.
#include "juicefs/juicefs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lib/slice_ops.h"
#include "lib/volume.h"
#include "meta/dump.h"
#include "meta/engine.h"
#include "util/status.h"

namespace {

using jfs::Status;
namespace lib = jfs::lib;
namespace meta = jfs::meta;

#ifndef JFS_VERSION_STRING
#error "JFS_VERSION_STRING must be defined by the build (the project version)"
#endif
#define JFS_STRINGIFY2(x) #x
#define JFS_STRINGIFY(x) JFS_STRINGIFY2(x)
static_assert(std::string_view(JFS_VERSION_STRING) ==
                  JFS_STRINGIFY(JFS_VERSION_MAJOR) "." JFS_STRINGIFY(
                      JFS_VERSION_MINOR) "." JFS_STRINGIFY(JFS_VERSION_PATCH),
              "JFS_VERSION_* in juicefs.h must match the project version in meson.build");

// ---------------------------------------------------------------------------------------------
// Handle state
// ---------------------------------------------------------------------------------------------

// What one jfs_fs_t stands for. Shared with the volume's files and directory streams, which may
// outlive the jfs_fs_t (they then fail with EBADF): the lib::Volume object must outlive every
// lib::File / lib::DirStream made from it, even after Volume::Close.
class VolumeState {
 public:
  VolumeState(uint64_t serial, std::unique_ptr<lib::Volume> volume, meta::Context ctx)
      : serial_(serial),
        block_size_(volume->format().BlockSizeBytes()),
        volume_(std::move(volume)),
        ctx_(std::make_shared<const meta::Context>(std::move(ctx))) {}

  uint64_t serial() const { return serial_; }
  uint32_t block_size() const { return block_size_; }
  lib::Volume& volume() { return *volume_; }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

  Status Close() {
    closed_.store(true, std::memory_order_release);
    return volume_->Close();
  }

  std::shared_ptr<const meta::Context> context() const {
    std::lock_guard lock(ctx_mu_);
    return ctx_;
  }
  void set_context(meta::Context ctx) {
    auto p = std::make_shared<const meta::Context>(std::move(ctx));
    std::lock_guard lock(ctx_mu_);
    ctx_ = std::move(p);
  }

 private:
  const uint64_t serial_;
  const uint32_t block_size_;
  std::unique_ptr<lib::Volume> volume_;
  std::atomic<bool> closed_{false};
  mutable std::mutex ctx_mu_;
  std::shared_ptr<const meta::Context> ctx_;  // replaced, never mutated: calls copy the pointer
};

struct FileState {
  std::shared_ptr<VolumeState> vol;  // declared first: destroyed after `file`
  std::shared_ptr<lib::File> file;
};

struct DirState {
  std::shared_ptr<VolumeState> vol;  // declared first: destroyed after `stream`
  std::mutex mu;                     // serializes Next() and guards the entry below
  std::unique_ptr<lib::DirStream> stream;
  lib::DirEntry current;  // storage behind `entry.name`
  jfs_dirent_t entry{};
};

constexpr uint64_t kFsMagic = 0x6a66732d766f6c31;    // "jfs-vol1"
constexpr uint64_t kFileMagic = 0x6a66732d66696c31;  // "jfs-fil1"
constexpr uint64_t kDirMagic = 0x6a66732d64697231;   // "jfs-dir1"

}  // namespace

// The C handle types. The registry is the authority on which addresses are live; the magic is a
// second check against memory corruption and handles of the wrong type.
struct jfs_fs {
  uint64_t magic = kFsMagic;
  std::shared_ptr<VolumeState> state;
};
struct jfs_file {
  uint64_t magic = kFileMagic;
  std::shared_ptr<FileState> state;
};
struct jfs_dir {
  uint64_t magic = kDirMagic;
  std::shared_ptr<DirState> state;
};

namespace {

template <typename Handle, uint64_t kMagic, typename State>
class Registry {
 public:
  Handle* Add(std::shared_ptr<State> state) {
    auto h = std::make_unique<Handle>();
    h->state = std::move(state);
    Handle* raw = h.get();
    std::unique_lock lock(mu_);
    live_.emplace(raw, std::move(h));
    return raw;
  }
  // The state of a live handle, or null. Never dereferences a pointer that is not registered.
  std::shared_ptr<State> Find(const Handle* h) const {
    std::shared_lock lock(mu_);
    auto it = live_.find(h);
    if (it == live_.end() || it->second->magic != kMagic) return nullptr;
    return it->second->state;
  }
  // Unregisters `h` and returns its state (null if `h` was not live).
  std::shared_ptr<State> Remove(const Handle* h) {
    std::unique_ptr<Handle> owned;
    {
      std::unique_lock lock(mu_);
      auto it = live_.find(h);
      if (it == live_.end()) return nullptr;
      owned = std::move(it->second);
      live_.erase(it);
    }
    owned->magic = 0;
    return std::move(owned->state);
  }

 private:
  mutable std::shared_mutex mu_;
  std::unordered_map<const Handle*, std::unique_ptr<Handle>> live_;
};

using FsRegistry = Registry<jfs_fs, kFsMagic, VolumeState>;
using FileRegistry = Registry<jfs_file, kFileMagic, FileState>;
using DirRegistry = Registry<jfs_dir, kDirMagic, DirState>;

// Intentionally never destroyed: a volume left open at exit must not be closed by a static
// destructor racing the application's own threads (the header documents that it is not flushed).
template <typename R>
R& Instance() {
  static R& r = *std::make_unique<R>().release();
  return r;
}
FsRegistry& Volumes() {
  return Instance<FsRegistry>();
}
FileRegistry& Files() {
  return Instance<FileRegistry>();
}
DirRegistry& Dirs() {
  return Instance<DirRegistry>();
}

std::atomic<uint64_t> g_next_serial{1};

// ---------------------------------------------------------------------------------------------
// Last-error messages (thread-local)
// ---------------------------------------------------------------------------------------------

struct ThreadErrors {
  std::string open_error;  // jfs_last_open_error()
  struct PerVolume {
    std::weak_ptr<VolumeState> vol;
    std::string message;
  };
  std::unordered_map<uint64_t, PerVolume> by_volume;  // key: VolumeState::serial()

  void Record(const std::shared_ptr<VolumeState>& vol, std::string msg) {
    // Entries of closed volumes are dropped now and then; their messages are no longer reachable
    // (jfs_last_error of a released handle reads open_error), so no promised pointer dangles.
    if (by_volume.size() >= 16 && by_volume.find(vol->serial()) == by_volume.end()) {
      for (auto it = by_volume.begin(); it != by_volume.end();) {
        auto v = it->second.vol.lock();
        it = (!v || v->closed()) ? by_volume.erase(it) : std::next(it);
      }
    }
    PerVolume& e = by_volume[vol->serial()];
    e.vol = vol;
    e.message = std::move(msg);
  }
  const char* Get(const VolumeState& vol) const {
    auto it = by_volume.find(vol.serial());
    return it == by_volume.end() ? "" : it->second.message.c_str();
  }
};

ThreadErrors& Errors() {
  thread_local ThreadErrors errors;
  return errors;
}

// ---------------------------------------------------------------------------------------------
// The boundary
// ---------------------------------------------------------------------------------------------

// The one errno mapping: a failed Status becomes -code; a code that is not a valid errno
// (0 on a failure path, negative, beyond Linux's MAX_ERRNO) becomes -EIO.
int ErrnoOf(const Status& st) {
  int code = st.code();
  return (code > 0 && code < 4096) ? code : EIO;
}

// One exported call in progress: its name and path (for the message) and the volume whose
// last-error slot receives the message (none: the thread's open_error).
struct Call {
  const char* op;
  const char* path;
  std::shared_ptr<VolumeState> vol;
};

// Records the message and returns -errno. Never throws: a failure to format or store the message
// (out of memory) only loses the message.
int Fail(Call& c, int code, const std::string* detail) noexcept {
  try {
    std::string msg = c.op;
    if (c.path != nullptr) {
      msg += ' ';
      msg += c.path;
    }
    msg += ": ";
    msg += detail != nullptr ? *detail : std::string(std::strerror(code));
    if (c.vol && !c.vol->closed()) {
      Errors().Record(c.vol, std::move(msg));
    } else {
      Errors().open_error = std::move(msg);
    }
  } catch (...) {
  }
  return -code;
}

int Fail(Call& c, const Status& st) noexcept {
  int code = ErrnoOf(st);
  try {
    std::string detail = st.ToString();
    if (st.code() != code) detail += " (reported as EIO)";
    return Fail(c, code, &detail);
  } catch (...) {
    return Fail(c, code, nullptr);
  }
}

// Runs the body of an exported function: `body(Call&) -> Status`. Returns 0 or -errno.
template <typename Body>
int Run(const char* op, const char* path, Body&& body) noexcept {
  Call c{op, path, nullptr};
  try {
    Status st = body(c);
    return st.ok() ? 0 : Fail(c, st);
  } catch (const std::bad_alloc&) {
    return Fail(c, ENOMEM, nullptr);
  } catch (...) {
    // A bug below us; report it without letting it unwind into C.
    static const std::string kWhat = "internal error: unexpected C++ exception";
    return Fail(c, EIO, &kWhat);
  }
}

// ---- argument and handle checks (each returns the Status the call fails with) ----

Status Required(const void* p, const char* what) {
  if (p != nullptr) return Status::OK();
  return Status::Invalid(std::string(what) + " is NULL");
}

Status UseVolume(Call& c, jfs_fs_t* fs) {
  if (fs == nullptr) return Status::Invalid("volume handle is NULL");
  auto vol = Volumes().Find(fs);
  if (!vol) return Status::Error(EBADF, "volume handle is closed or invalid");
  c.vol = std::move(vol);
  return Status::OK();
}

Status UseFile(Call& c, jfs_file_t* f, std::shared_ptr<FileState>* out) {
  if (f == nullptr) return Status::Invalid("file handle is NULL");
  auto st = Files().Find(f);
  if (!st) return Status::Error(EBADF, "file handle is closed or invalid");
  c.vol = st->vol;
  if (st->vol->closed()) return Status::Error(EBADF, "the file's volume was closed");
  *out = std::move(st);
  return Status::OK();
}

Status NonNegative(int64_t v, const char* what) {
  if (v >= 0) return Status::OK();
  return Status::Invalid(std::string(what) + " is negative");
}

// Byte counts must fit the int64_t the call returns.
Status Count(const void* buf, uint64_t count) {
  if (count > static_cast<uint64_t>(INT64_MAX)) return Status::Invalid("count exceeds INT64_MAX");
  if (buf == nullptr && count > 0) return Status::Invalid("buffer is NULL");
  return Status::OK();
}

// ---- conversions ----

void FillStat(const meta::Attr& a, meta::Ino ino, uint32_t block_size, jfs_stat_t* st) {
  *st = jfs_stat_t{};
  st->ino = ino;
  st->mode = a.SMode();
  st->nlink = a.nlink;
  st->uid = a.uid;
  st->gid = a.gid;
  st->rdev = a.rdev;
  st->flags = a.flags & (JFS_FLAG_IMMUTABLE | JFS_FLAG_APPEND);
  st->size = a.length;
  st->blocks = (a.length + 4095) / 4096 * 8;
  st->blksize = block_size;
  st->atime = {a.atime, static_cast<int64_t>(a.atimensec)};
  st->mtime = {a.mtime, static_cast<int64_t>(a.mtimensec)};
  st->ctime = {a.ctime, static_cast<int64_t>(a.ctimensec)};
}

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// A malloc'ed copy of `bytes` followed by a NUL (so text can be used as a C string), released by
// the caller with jfs_free.
Status MallocCopy(std::string_view bytes, void** out) {
  std::unique_ptr<char, FreeDeleter> p(static_cast<char*>(std::malloc(bytes.size() + 1)));
  if (!p) return Status::Error(ENOMEM, "out of memory");
  if (!bytes.empty()) std::memcpy(p.get(), bytes.data(), bytes.size());
  p.get()[bytes.size()] = '\0';
  *out = p.release();
  return Status::OK();
}

// Applies a caller's option struct over the library's defaults in *dst, the way Linux's
// copy_struct_from_user does: fields the caller's (older) header lacks keep their defaults;
// fields of a newer header this library does not know must be zero (else E2BIG).
Status ApplyOptions(const void* src, void* dst, size_t dst_size, const char* init_fn) {
  uint32_t src_size = 0;
  std::memcpy(&src_size, src, sizeof(src_size));
  if (src_size < 2 * sizeof(uint32_t)) {
    return Status::Invalid(std::string("options size is not set: call ") + init_fn);
  }
  if (src_size > 4096) return Status::Invalid("options size is implausible (uninitialized?)");
  const auto* bytes = static_cast<const unsigned char*>(src);
  for (size_t i = dst_size; i < src_size; i++) {
    if (bytes[i] != 0) return Status::Error(E2BIG, "options carry fields this library lacks");
  }
  std::memcpy(dst, src, std::min<size_t>(src_size, dst_size));
  return Status::OK();
}

// The credentials a new volume handle starts with: the process's effective identity.
meta::Context ProcessContext() {
  meta::Context ctx;
  ctx.uid = geteuid();
  ctx.gids = {getegid()};
  int n = getgroups(0, nullptr);
  if (n > 0) {
    std::vector<gid_t> groups(static_cast<size_t>(n));
    n = getgroups(n, groups.data());
    for (int i = 0; i < n; i++) {
      if (groups[i] != ctx.gids[0]) ctx.gids.push_back(groups[i]);
    }
  }
  ctx.umask = 022;
  ctx.pid = static_cast<uint32_t>(getpid());
  return ctx;
}

// Path-level calls share this shape: check the handle and path, then call the volume.
template <typename Op>
int PathCall(const char* name, jfs_fs_t* fs, const char* path, Op&& op) noexcept {
  return Run(name, path, [&](Call& c) -> Status {
    JFS_RETURN_IF_ERROR(UseVolume(c, fs));
    JFS_RETURN_IF_ERROR(Required(path, "path"));
    auto ctx = c.vol->context();
    return op(c.vol->volume(), *ctx);
  });
}

// File calls returning a byte count or offset.
template <typename Op>
int64_t FileCall64(const char* name, jfs_file_t* f, Op&& op) noexcept {
  uint64_t n = 0;
  int rc = Run(name, nullptr, [&](Call& c) -> Status {
    std::shared_ptr<FileState> st;
    JFS_RETURN_IF_ERROR(UseFile(c, f, &st));
    JFS_RETURN_IF_ERROR(op(*st->file, &n));
    if (n > static_cast<uint64_t>(INT64_MAX)) return Status::Error(EOVERFLOW, "result too large");
    return Status::OK();
  });
  return rc < 0 ? rc : static_cast<int64_t>(n);
}

template <typename Op>
int FileCall(const char* name, jfs_file_t* f, Op&& op) noexcept {
  return Run(name, nullptr, [&](Call& c) -> Status {
    std::shared_ptr<FileState> st;
    JFS_RETURN_IF_ERROR(UseFile(c, f, &st));
    return op(*st);
  });
}

Status ToTimespec(const jfs_timespec_t* in, struct timespec out[2]) {
  for (int i = 0; i < 2; i++) {
    if (in == nullptr) {
      out[i] = {0, UTIME_NOW};
      continue;
    }
    int64_t ns = in[i].nsec;
    bool special = ns == JFS_UTIME_NOW || ns == JFS_UTIME_OMIT;
    if (!special && (ns < 0 || ns > 999999999)) return Status::Invalid("nsec out of range");
    out[i].tv_sec = static_cast<time_t>(in[i].sec);
    out[i].tv_nsec = static_cast<long>(ns);
  }
  return Status::OK();
}

// ---- extended attributes (shared by the plain and l-variants) ----

int GetXattr(const char* op, bool follow, jfs_fs_t* fs, const char* path, const char* name,
             void** value, size_t* size) noexcept {
  return PathCall(op, fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(name, "name"));
    JFS_RETURN_IF_ERROR(Required(value, "value"));
    std::string val;
    JFS_RETURN_IF_ERROR(v.GetXattr(ctx, path, name, &val, follow));
    JFS_RETURN_IF_ERROR(MallocCopy(val, value));
    if (size != nullptr) *size = val.size();
    return Status::OK();
  });
}

int SetXattr(const char* op, bool follow, jfs_fs_t* fs, const char* path, const char* name,
             const void* value, size_t size, int flags) noexcept {
  return PathCall(op, fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(name, "name"));
    if (value == nullptr && size > 0) return Status::Invalid("value is NULL");
    if (flags != 0 && flags != JFS_XATTR_CREATE && flags != JFS_XATTR_REPLACE) {
      return Status::Invalid("xattr flags must be 0, CREATE or REPLACE");
    }
    std::string_view val(size > 0 ? static_cast<const char*>(value) : "", size);
    return v.SetXattr(ctx, path, name, val, flags, follow);
  });
}

int ListXattr(const char* op, bool follow, jfs_fs_t* fs, const char* path, char** list,
              size_t* size) noexcept {
  return PathCall(op, fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(list, "list"));
    std::vector<std::string> names;
    JFS_RETURN_IF_ERROR(v.ListXattr(ctx, path, &names, follow));
    std::string joined;
    for (const auto& n : names) {
      joined += n;
      joined += '\0';
    }
    void* p = nullptr;
    JFS_RETURN_IF_ERROR(MallocCopy(joined, &p));
    *list = static_cast<char*>(p);
    if (size != nullptr) *size = joined.size();
    return Status::OK();
  });
}

int RemoveXattr(const char* op, bool follow, jfs_fs_t* fs, const char* path,
                const char* name) noexcept {
  return PathCall(op, fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(name, "name"));
    return v.RemoveXattr(ctx, path, name, follow);
  });
}

}  // namespace

// =============================================================================================
// Exported functions
// =============================================================================================

namespace {

// Copies the defaults `d` into the caller's struct of `size` bytes: never more than it has, zero
// for what this library does not know, and `size` recorded.
template <typename T>
void InitSized(T* opts, size_t size, const T& d) {
  if (opts == nullptr || size < sizeof(uint32_t)) return;
  auto* out = reinterpret_cast<unsigned char*>(opts);
  const size_t known = std::min(size, sizeof(T));
  std::memcpy(out, &d, known);
  if (size > known) std::memset(out + known, 0, size - known);
  const uint32_t sz = static_cast<uint32_t>(std::min<size_t>(size, UINT32_MAX));
  std::memcpy(out, &sz, sizeof(sz));  // `size` is the first field of every options struct
}

jfs_format_options_t FormatDefaults() {
  jfs_format_options_t d{};
  d.size = sizeof(d);
  d.block_size_kib = 4096;
  d.trash_days = 1;
  return d;
}

// JuiceFS's default cache directory: /var/jfsCache for root, else $HOME/.juicefs/cache.
std::string DefaultCacheDir() {
  if (geteuid() == 0) return "/var/jfsCache";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "/var/jfsCache";
  return std::string(home) + "/.juicefs/cache";
}

jfs_volume_options_t VolumeDefaults() {
  jfs_volume_options_t d{};
  d.size = sizeof(d);
  lib::VolumeOptions defaults;
  d.buffer_size = defaults.buffer_size;
  d.upload_threads = defaults.upload_threads;
  // Off unless asked for: an embedded library writes nowhere it was not told to (JuiceFS's mount
  // default, 102400 MiB under $HOME/.juicefs/cache, is one option away).
  d.cache_size = 0;
  d.free_space_ratio = defaults.free_space_ratio;
  d.prefetch = defaults.prefetch;
  d.download_threads = defaults.download_threads;
  d.heartbeat = defaults.heartbeat;
  d.session_ttl = defaults.session_ttl;
  d.lock_timeout_ms = defaults.lock_timeout_ms;
  return d;
}

}  // namespace

extern "C" {

const char* jfs_version(void) {
  return JFS_VERSION_STRING;
}

const char* jfs_last_error(jfs_fs_t* fs) {
  try {
    auto vol = fs != nullptr ? Volumes().Find(fs) : nullptr;
    return vol ? Errors().Get(*vol) : Errors().open_error.c_str();
  } catch (...) {
    return "";
  }
}

const char* jfs_last_open_error(void) {
  try {
    return Errors().open_error.c_str();
  } catch (...) {
    return "";
  }
}

void jfs_free(void* p) {
  std::free(p);
}

// ---- format / open / close ----

void jfs_format_options_init_sized(jfs_format_options_t* opts, size_t size) {
  InitSized(opts, size, FormatDefaults());
}

// The macro of the same name must not expand here: parentheses around the name.
void(jfs_format_options_init)(jfs_format_options_t* opts) {
  InitSized(opts, offsetof(jfs_format_options_t, encrypt_rsa_key), FormatDefaults());
}

void jfs_volume_options_init_sized(jfs_volume_options_t* opts, size_t size) {
  InitSized(opts, size, VolumeDefaults());
}

void(jfs_volume_options_init)(jfs_volume_options_t* opts) {
  InitSized(opts, offsetof(jfs_volume_options_t, cache_dir), VolumeDefaults());
}

int jfs_format(const char* meta_url, const char* name, const jfs_format_options_t* opts) {
  return Run("jfs_format", meta_url, [&](Call&) -> Status {
    JFS_RETURN_IF_ERROR(Required(meta_url, "meta_url"));
    JFS_RETURN_IF_ERROR(Required(name, "name"));
    jfs_format_options_t o;
    jfs_format_options_init(&o);
    if (opts != nullptr) {
      JFS_RETURN_IF_ERROR(ApplyOptions(opts, &o, sizeof(o), "jfs_format_options_init"));
    }
    if (o.trash_days < 0) return Status::Invalid("trash_days is negative");
    if (o.flags & ~uint32_t{JFS_FORMAT_FORCE | JFS_FORMAT_HASH_PREFIX}) {
      return Status::Invalid("unknown format flags");
    }
    lib::FormatOptions fo;
    fo.name = name;
    if (o.storage != nullptr) fo.storage = o.storage;
    if (o.bucket != nullptr) fo.bucket = o.bucket;
    if (o.access_key != nullptr) fo.access_key = o.access_key;
    if (o.secret_key != nullptr) fo.secret_key = o.secret_key;
    if (o.compression != nullptr) fo.compression = o.compression;
    if (o.encrypt_rsa_key != nullptr) fo.encrypt_rsa_key = o.encrypt_rsa_key;
    if (o.encrypt_algo != nullptr) fo.encrypt_algo = o.encrypt_algo;
    fo.block_size_kib = o.block_size_kib;
    fo.trash_days = o.trash_days;
    fo.capacity = o.capacity;
    fo.inodes = o.inodes;
    fo.force = (o.flags & JFS_FORMAT_FORCE) != 0;
    fo.hash_prefix = (o.flags & JFS_FORMAT_HASH_PREFIX) != 0;
    return lib::Format(meta_url, fo);
  });
}

int jfs_dump(const char* meta_url, const char* path, const char* subdir, uint32_t flags) {
  return Run("jfs_dump", meta_url, [&](Call&) -> Status {
    JFS_RETURN_IF_ERROR(Required(meta_url, "meta_url"));
    JFS_RETURN_IF_ERROR(Required(path, "path"));
    if (flags & ~uint32_t{JFS_DUMP_KEEP_SECRET_KEY | JFS_DUMP_SKIP_TRASH}) {
      return Status::Invalid("unknown dump flags");
    }
    std::unique_ptr<meta::Engine> engine;
    JFS_RETURN_IF_ERROR(meta::NewEngine(meta_url, &engine));
    meta::DumpOptions o;
    if (subdir != nullptr) o.subdir = subdir;
    o.keep_secret_key = (flags & JFS_DUMP_KEEP_SECRET_KEY) != 0;
    o.skip_trash = (flags & JFS_DUMP_SKIP_TRASH) != 0;
    return meta::DumpMetaToFile(*engine, path, o);
  });
}

int jfs_load(const char* meta_url, const char* path) {
  return Run("jfs_load", meta_url, [&](Call&) -> Status {
    JFS_RETURN_IF_ERROR(Required(meta_url, "meta_url"));
    JFS_RETURN_IF_ERROR(Required(path, "path"));
    std::unique_ptr<meta::Engine> engine;
    JFS_RETURN_IF_ERROR(meta::NewEngine(meta_url, &engine, /*create_if_missing=*/true));
    return meta::LoadMetaFromFile(*engine, path, meta::LoadOptions());
  });
}

int jfs_open_volume(const char* meta_url, const jfs_volume_options_t* opts, jfs_fs_t** out) {
  return Run("jfs_open_volume", meta_url, [&](Call&) -> Status {
    JFS_RETURN_IF_ERROR(Required(meta_url, "meta_url"));
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    jfs_volume_options_t o;
    jfs_volume_options_init(&o);
    if (opts != nullptr) {
      JFS_RETURN_IF_ERROR(ApplyOptions(opts, &o, sizeof(o), "jfs_volume_options_init"));
    }
    if (o.flags &
        ~uint32_t{JFS_VOLUME_READ_ONLY | JFS_VOLUME_WRITEBACK | JFS_VOLUME_CACHE_LARGE_WRITE}) {
      return Status::Invalid("unknown volume flags");
    }
    if (o.upload_threads < 0) return Status::Invalid("upload_threads is negative");
    if (o.download_threads < 0) return Status::Invalid("download_threads is negative");
    if (o.cache_size > (uint64_t{1} << 40)) return Status::Invalid("cache_size is implausible");
    lib::VolumeOptions vo;
    vo.read_only = (o.flags & JFS_VOLUME_READ_ONLY) != 0;
    if (o.buffer_size != 0) vo.buffer_size = o.buffer_size;
    if (o.upload_threads != 0) vo.upload_threads = o.upload_threads;
    if (o.mount_point != nullptr) vo.mount_point = o.mount_point;
    vo.cache_dir = o.cache_dir != nullptr ? std::string(o.cache_dir) : DefaultCacheDir();
    vo.cache_size = o.cache_size << 20;
    vo.free_space_ratio = o.free_space_ratio;
    if (o.cache_eviction != nullptr) vo.cache_eviction = o.cache_eviction;
    if (o.verify_cache_checksum != nullptr) vo.verify_cache_checksum = o.verify_cache_checksum;
    vo.writeback = (o.flags & JFS_VOLUME_WRITEBACK) != 0;
    vo.cache_large_write = (o.flags & JFS_VOLUME_CACHE_LARGE_WRITE) != 0;
    vo.prefetch = o.prefetch;
    if (o.download_threads != 0) vo.download_threads = o.download_threads;
    if (o.backup_flags & ~uint32_t{JFS_BACKUP_SKIP_TRASH}) {
      return Status::Invalid("unknown backup flags");
    }
    vo.backup_meta = o.backup_meta;  // validated by Volume::Open
    vo.backup_skip_trash = (o.backup_flags & JFS_BACKUP_SKIP_TRASH) != 0;
    if (o.heartbeat != 0) vo.heartbeat = o.heartbeat;
    vo.session_ttl = o.session_ttl;
    vo.lock_timeout_ms = o.lock_timeout_ms < 0 ? -1 : o.lock_timeout_ms;
    if (vo.writeback && (vo.cache_size == 0 || vo.cache_dir.empty())) {
      return Status::Invalid("writeback needs the disk cache (cache_size > 0)");
    }

    std::unique_ptr<lib::Volume> volume;
    JFS_RETURN_IF_ERROR(lib::Volume::Open(meta_url, vo, &volume));
    auto state = std::make_shared<VolumeState>(g_next_serial.fetch_add(1), std::move(volume),
                                               ProcessContext());
    *out = Volumes().Add(std::move(state));
    return Status::OK();
  });
}

int jfs_close_volume(jfs_fs_t* fs) {
  return Run("jfs_close_volume", nullptr, [&](Call&) -> Status {
    if (fs == nullptr) return Status::Invalid("volume handle is NULL");
    auto vol = Volumes().Remove(fs);
    if (!vol) return Status::Error(EBADF, "volume handle is closed or invalid");
    return vol->Close();  // the message goes to open_error: the handle no longer exists
  });
}

int jfs_stats(jfs_fs_t* fs, jfs_stats_t* out, size_t size) {
  return Run("jfs_stats", nullptr, [&](Call& c) -> Status {
    JFS_RETURN_IF_ERROR(UseVolume(c, fs));
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    if (size < 2 * sizeof(uint32_t)) return Status::Invalid("jfs_stats: size too small");
    const lib::VolumeStats v = c.vol->volume().Stats();
    jfs_stats_t s{};
    s.cache_hit_ops = v.cache_hit_ops;
    s.cache_hit_bytes = v.cache_hit_bytes;
    s.cache_miss_ops = v.cache_miss_ops;
    s.cache_miss_bytes = v.cache_miss_bytes;
    s.cache_write_ops = v.cache_write_ops;
    s.cache_write_bytes = v.cache_write_bytes;
    s.cache_evict_ops = v.cache_evict_ops;
    s.cache_evict_bytes = v.cache_evict_bytes;
    s.cache_bad_blocks = v.cache_bad_blocks;
    s.cache_used_bytes = v.cache_used_bytes;
    s.cache_blocks = v.cache_blocks;
    s.staged_blocks = v.staged_blocks;
    s.put_ops = v.put_ops;
    s.put_bytes = v.put_bytes;
    s.get_ops = v.get_ops;
    s.get_bytes = v.get_bytes;
    s.delete_ops = v.delete_ops;
    s.put_errors = v.put_errors;
    s.get_errors = v.get_errors;
    s.meta_calls = v.meta_calls;
    const size_t n = std::min(size, sizeof(s));
    s.size = static_cast<uint32_t>(n);
    std::memcpy(out, &s, n);
    return Status::OK();
  });
}

int jfs_set_credentials(jfs_fs_t* fs, uint32_t uid, const uint32_t* gids, size_t ngids,
                        uint16_t umask) {
  return Run("jfs_set_credentials", nullptr, [&](Call& c) -> Status {
    JFS_RETURN_IF_ERROR(UseVolume(c, fs));
    JFS_RETURN_IF_ERROR(Required(gids, "gids"));
    if (ngids == 0) return Status::Invalid("ngids is 0: a primary group is required");
    if (ngids > 65536) return Status::Invalid("too many groups");
    if (umask > 0777) return Status::Invalid("umask beyond 0777");
    meta::Context ctx = *c.vol->context();
    ctx.uid = uid;
    ctx.gids.assign(gids, gids + ngids);
    ctx.umask = umask;
    c.vol->set_context(std::move(ctx));
    return Status::OK();
  });
}

int jfs_statvfs(jfs_fs_t* fs, jfs_statvfs_t* out) {
  return Run("jfs_statvfs", nullptr, [&](Call& c) -> Status {
    JFS_RETURN_IF_ERROR(UseVolume(c, fs));
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    lib::StatVfs sv;
    JFS_RETURN_IF_ERROR(c.vol->volume().StatFs(*c.vol->context(), &sv));
    *out = jfs_statvfs_t{};
    out->block_size = sv.block_size;
    out->total_bytes = sv.total_bytes;
    out->free_bytes = sv.free_bytes;
    out->total_inodes = sv.total_inodes;
    out->free_inodes = sv.free_inodes;
    out->max_name = sv.max_name;
    return Status::OK();
  });
}

// ---- files ----

int jfs_open(jfs_fs_t* fs, const char* path, int flags, uint32_t mode, jfs_file_t** out) {
  return Run("jfs_open", path, [&](Call& c) -> Status {
    JFS_RETURN_IF_ERROR(UseVolume(c, fs));
    JFS_RETURN_IF_ERROR(Required(path, "path"));
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    auto st = std::make_shared<FileState>();
    st->vol = c.vol;
    JFS_RETURN_IF_ERROR(c.vol->volume().OpenFile(*c.vol->context(), path, flags,
                                                 static_cast<uint16_t>(mode & 07777), &st->file));
    if (!st->file) return Status::IOError("volume returned no file");
    *out = Files().Add(std::move(st));
    return Status::OK();
  });
}

int jfs_create(jfs_fs_t* fs, const char* path, uint32_t mode, jfs_file_t** out) {
  return jfs_open(fs, path, O_CREAT | O_WRONLY | O_TRUNC, mode, out);
}

int64_t jfs_read(jfs_file_t* f, void* buf, uint64_t count) {
  return FileCall64("jfs_read", f, [&](lib::File& file, uint64_t* n) -> Status {
    JFS_RETURN_IF_ERROR(Count(buf, count));
    return file.Read(static_cast<char*>(buf), count, n);
  });
}

int64_t jfs_pread(jfs_file_t* f, void* buf, uint64_t count, int64_t offset) {
  return FileCall64("jfs_pread", f, [&](lib::File& file, uint64_t* n) -> Status {
    JFS_RETURN_IF_ERROR(Count(buf, count));
    JFS_RETURN_IF_ERROR(NonNegative(offset, "offset"));
    return file.Pread(static_cast<char*>(buf), count, static_cast<uint64_t>(offset), n);
  });
}

int64_t jfs_write(jfs_file_t* f, const void* buf, uint64_t count) {
  return FileCall64("jfs_write", f, [&](lib::File& file, uint64_t* n) -> Status {
    JFS_RETURN_IF_ERROR(Count(buf, count));
    return file.Write(static_cast<const char*>(buf), count, n);
  });
}

int64_t jfs_pwrite(jfs_file_t* f, const void* buf, uint64_t count, int64_t offset) {
  return FileCall64("jfs_pwrite", f, [&](lib::File& file, uint64_t* n) -> Status {
    JFS_RETURN_IF_ERROR(Count(buf, count));
    JFS_RETURN_IF_ERROR(NonNegative(offset, "offset"));
    return file.Pwrite(static_cast<const char*>(buf), count, static_cast<uint64_t>(offset), n);
  });
}

int64_t jfs_lseek(jfs_file_t* f, int64_t offset, int whence) {
  return FileCall64("jfs_lseek", f, [&](lib::File& file, uint64_t* pos) -> Status {
    if (whence < JFS_SEEK_SET || whence > JFS_SEEK_HOLE) return Status::Invalid("bad whence");
    return file.Lseek(offset, whence, pos);
  });
}

int jfs_ftruncate(jfs_file_t* f, int64_t length) {
  return FileCall("jfs_ftruncate", f, [&](FileState& st) -> Status {
    JFS_RETURN_IF_ERROR(NonNegative(length, "length"));
    return st.file->Ftruncate(static_cast<uint64_t>(length));
  });
}

int jfs_flush(jfs_file_t* f) {
  return FileCall("jfs_flush", f, [&](FileState& st) { return st.file->Flush(); });
}

int jfs_fsync(jfs_file_t* f) {
  return FileCall("jfs_fsync", f, [&](FileState& st) { return st.file->Fsync(); });
}

int jfs_fstat(jfs_file_t* f, jfs_stat_t* out) {
  return FileCall("jfs_fstat", f, [&](FileState& st) -> Status {
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    meta::Attr attr;
    JFS_RETURN_IF_ERROR(st.file->Fstat(&attr));
    FillStat(attr, st.file->inode(), st.vol->block_size(), out);
    return Status::OK();
  });
}

int jfs_flock(jfs_file_t* f, int op) {
  return FileCall("jfs_flock", f, [&](FileState& st) -> Status {
    meta::LockWait wait;
    wait.block = (op & JFS_LOCK_NB) == 0;
    uint32_t type;
    switch (op & ~JFS_LOCK_NB) {
      case JFS_LOCK_SH:
        type = meta::kLockRead;
        break;
      case JFS_LOCK_EX:
        type = meta::kLockWrite;
        break;
      case JFS_LOCK_UN:
        type = meta::kLockUnlock;
        break;
      default:
        return Status::Invalid("flock: op must be one of LOCK_SH, LOCK_EX, LOCK_UN");
    }
    return st.file->Flock(type, wait);
  });
}

int jfs_fcntl_lock(jfs_file_t* f, int cmd, jfs_posix_lock_t* lk) {
  return FileCall("jfs_fcntl_lock", f, [&](FileState& st) -> Status {
    JFS_RETURN_IF_ERROR(Required(lk, "lk"));
    const bool ofd = cmd == JFS_F_OFD_GETLK || cmd == JFS_F_OFD_SETLK || cmd == JFS_F_OFD_SETLKW;
    const bool get = cmd == JFS_F_GETLK || cmd == JFS_F_OFD_GETLK;
    const bool wait = cmd == JFS_F_SETLKW || cmd == JFS_F_OFD_SETLKW;
    if (!ofd && !get && !wait && cmd != JFS_F_SETLK) return Status::Invalid("unknown lock cmd");
    if (lk->type != JFS_F_RDLCK && lk->type != JFS_F_WRLCK && lk->type != JFS_F_UNLCK) {
      return Status::Invalid("lock type must be F_RDLCK, F_WRLCK or F_UNLCK");
    }
    if (get && lk->type == JFS_F_UNLCK) return Status::Invalid("GETLK needs F_RDLCK or F_WRLCK");
    // The absolute range [start, end] (end inclusive), as fcntl(2) defines it.
    int64_t base = 0;
    if (lk->whence == JFS_SEEK_CUR) {
      uint64_t pos = 0;
      JFS_RETURN_IF_ERROR(st.file->Lseek(0, JFS_SEEK_CUR, &pos));
      base = static_cast<int64_t>(pos);
    } else if (lk->whence == JFS_SEEK_END) {
      meta::Attr a;
      JFS_RETURN_IF_ERROR(st.file->Fstat(&a));
      base = static_cast<int64_t>(a.length);
    } else if (lk->whence != JFS_SEEK_SET) {
      return Status::Invalid("lock whence must be SEEK_SET, SEEK_CUR or SEEK_END");
    }
    int64_t start = 0, end = 0;
    if (__builtin_add_overflow(base, lk->start, &start)) {
      return Status::Error(EOVERFLOW, "lock start overflows");
    }
    if (lk->len > 0) {
      if (__builtin_add_overflow(start, lk->len - 1, &end)) {
        return Status::Error(EOVERFLOW, "lock range ends beyond INT64_MAX");
      }
    } else if (lk->len == 0) {
      end = INT64_MAX;
    } else {
      end = start - 1;
      if (__builtin_add_overflow(start, lk->len, &start)) {
        return Status::Invalid("lock range starts before 0");
      }
    }
    if (start < 0) return Status::Invalid("lock range starts before 0");
    meta::PosixLock req;
    req.type = static_cast<uint32_t>(lk->type);
    req.start = static_cast<uint64_t>(start);
    req.end = static_cast<uint64_t>(end);
    req.pid = static_cast<uint32_t>(getpid());
    if (get) {
      JFS_RETURN_IF_ERROR(st.file->Getlk(ofd, &req));
      if (req.type == meta::kLockUnlock) {
        lk->type = JFS_F_UNLCK;
        return Status::OK();
      }
      lk->type = static_cast<int16_t>(req.type);
      lk->whence = JFS_SEEK_SET;
      lk->start = static_cast<int64_t>(req.start);
      lk->len = req.end >= meta::kLockEndMax ? 0 : static_cast<int64_t>(req.end - req.start + 1);
      lk->pid = static_cast<int32_t>(req.pid);
      return Status::OK();
    }
    meta::LockWait w;
    w.block = wait;
    return st.file->Setlk(ofd, req, w);
  });
}

int jfs_fallocate(jfs_file_t* f, int mode, int64_t offset, int64_t len) {
  return FileCall("jfs_fallocate", f, [&](FileState& st) -> Status {
    JFS_RETURN_IF_ERROR(NonNegative(offset, "offset"));
    if (len <= 0) return Status::Invalid("len must be positive");
    return lib::Fallocate(*st.file, mode, static_cast<uint64_t>(offset),
                          static_cast<uint64_t>(len));
  });
}

int64_t jfs_copy_file_range(jfs_file_t* in, int64_t off_in, jfs_file_t* out, int64_t off_out,
                            uint64_t len, uint32_t flags) {
  return FileCall64("jfs_copy_file_range", in, [&](lib::File& src, uint64_t* n) -> Status {
    JFS_RETURN_IF_ERROR(NonNegative(off_in, "off_in"));
    JFS_RETURN_IF_ERROR(NonNegative(off_out, "off_out"));
    if (out == nullptr) return Status::Invalid("out is NULL");
    auto dst = Files().Find(out);
    if (!dst) return Status::Error(EBADF, "out is closed or invalid");
    auto src_st = Files().Find(in);
    if (!src_st || src_st->vol != dst->vol) {
      return Status::Error(EXDEV, "files of different volumes");
    }
    if (len > static_cast<uint64_t>(INT64_MAX)) len = static_cast<uint64_t>(INT64_MAX);
    return lib::CopyFileRange(src, static_cast<uint64_t>(off_in), *dst->file,
                              static_cast<uint64_t>(off_out), len, flags, n);
  });
}

int jfs_close(jfs_file_t* f) {
  return Run("jfs_close", nullptr, [&](Call& c) -> Status {
    if (f == nullptr) return Status::Invalid("file handle is NULL");
    auto st = Files().Remove(f);
    if (!st) return Status::Error(EBADF, "file handle is closed or invalid");
    c.vol = st->vol;
    if (st->vol->closed()) return Status::OK();  // the volume's close already flushed it
    return st->file->Close();
  });
}

// ---- namespace ----

int jfs_stat(jfs_fs_t* fs, const char* path, jfs_stat_t* out) {
  return PathCall("jfs_stat", fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    meta::Attr attr;
    meta::Ino ino = 0;
    JFS_RETURN_IF_ERROR(v.Stat(ctx, path, &attr, &ino));
    FillStat(attr, ino, v.format().BlockSizeBytes(), out);
    return Status::OK();
  });
}

int jfs_lstat(jfs_fs_t* fs, const char* path, jfs_stat_t* out) {
  return PathCall("jfs_lstat", fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    meta::Attr attr;
    meta::Ino ino = 0;
    JFS_RETURN_IF_ERROR(v.Lstat(ctx, path, &attr, &ino));
    FillStat(attr, ino, v.format().BlockSizeBytes(), out);
    return Status::OK();
  });
}

int jfs_access(jfs_fs_t* fs, const char* path, int mask) {
  return PathCall("jfs_access", fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    if (mask & ~(R_OK | W_OK | X_OK)) return Status::Invalid("bad access mask");
    return v.Access(ctx, path, mask);
  });
}

int jfs_mkdir(jfs_fs_t* fs, const char* path, uint32_t mode) {
  return PathCall("jfs_mkdir", fs, path, [&](lib::Volume& v, const meta::Context& ctx) {
    return v.Mkdir(ctx, path, static_cast<uint16_t>(mode & 07777));
  });
}

int jfs_mkdir_all(jfs_fs_t* fs, const char* path, uint32_t mode) {
  return PathCall("jfs_mkdir_all", fs, path, [&](lib::Volume& v, const meta::Context& ctx) {
    return v.MkdirAll(ctx, path, static_cast<uint16_t>(mode & 07777));
  });
}

int jfs_rmdir(jfs_fs_t* fs, const char* path) {
  return PathCall("jfs_rmdir", fs, path,
                  [&](lib::Volume& v, const meta::Context& ctx) { return v.Rmdir(ctx, path); });
}

int jfs_unlink(jfs_fs_t* fs, const char* path) {
  return PathCall("jfs_unlink", fs, path,
                  [&](lib::Volume& v, const meta::Context& ctx) { return v.Unlink(ctx, path); });
}

int jfs_rename(jfs_fs_t* fs, const char* from, const char* to, uint32_t flags) {
  return PathCall("jfs_rename", fs, from, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(to, "to"));
    if (flags != 0 && flags != JFS_RENAME_NOREPLACE && flags != JFS_RENAME_EXCHANGE) {
      return Status::Invalid("rename flags must be 0, NOREPLACE or EXCHANGE");
    }
    return v.Rename(ctx, from, to, flags);
  });
}

int jfs_link(jfs_fs_t* fs, const char* existing, const char* newpath) {
  return PathCall("jfs_link", fs, existing,
                  [&](lib::Volume& v, const meta::Context& ctx) -> Status {
                    JFS_RETURN_IF_ERROR(Required(newpath, "newpath"));
                    return v.Link(ctx, existing, newpath);
                  });
}

int jfs_symlink(jfs_fs_t* fs, const char* target, const char* linkpath) {
  return PathCall("jfs_symlink", fs, linkpath,
                  [&](lib::Volume& v, const meta::Context& ctx) -> Status {
                    JFS_RETURN_IF_ERROR(Required(target, "target"));
                    return v.Symlink(ctx, target, linkpath);
                  });
}

int jfs_readlink(jfs_fs_t* fs, const char* path, char** target, size_t* len) {
  return PathCall("jfs_readlink", fs, path,
                  [&](lib::Volume& v, const meta::Context& ctx) -> Status {
                    JFS_RETURN_IF_ERROR(Required(target, "target"));
                    std::string t;
                    JFS_RETURN_IF_ERROR(v.Readlink(ctx, path, &t));
                    void* p = nullptr;
                    JFS_RETURN_IF_ERROR(MallocCopy(t, &p));
                    *target = static_cast<char*>(p);
                    if (len != nullptr) *len = t.size();
                    return Status::OK();
                  });
}

int jfs_chmod(jfs_fs_t* fs, const char* path, uint32_t mode) {
  return PathCall("jfs_chmod", fs, path, [&](lib::Volume& v, const meta::Context& ctx) {
    return v.Chmod(ctx, path, static_cast<uint16_t>(mode & 07777));
  });
}

int jfs_chown(jfs_fs_t* fs, const char* path, uint32_t uid, uint32_t gid) {
  return PathCall("jfs_chown", fs, path, [&](lib::Volume& v, const meta::Context& ctx) {
    return v.Chown(ctx, path, uid, gid, /*follow=*/true);
  });
}

int jfs_lchown(jfs_fs_t* fs, const char* path, uint32_t uid, uint32_t gid) {
  return PathCall("jfs_lchown", fs, path, [&](lib::Volume& v, const meta::Context& ctx) {
    return v.Chown(ctx, path, uid, gid, /*follow=*/false);
  });
}

int jfs_utimens(jfs_fs_t* fs, const char* path, const jfs_timespec_t times[2]) {
  return PathCall("jfs_utimens", fs, path, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    struct timespec ts[2];
    JFS_RETURN_IF_ERROR(ToTimespec(times, ts));
    return v.Utimens(ctx, path, ts, /*follow=*/true);
  });
}

int jfs_lutimens(jfs_fs_t* fs, const char* path, const jfs_timespec_t times[2]) {
  return PathCall("jfs_lutimens", fs, path,
                  [&](lib::Volume& v, const meta::Context& ctx) -> Status {
                    struct timespec ts[2];
                    JFS_RETURN_IF_ERROR(ToTimespec(times, ts));
                    return v.Utimens(ctx, path, ts, /*follow=*/false);
                  });
}

int jfs_truncate(jfs_fs_t* fs, const char* path, int64_t length) {
  return PathCall("jfs_truncate", fs, path,
                  [&](lib::Volume& v, const meta::Context& ctx) -> Status {
                    JFS_RETURN_IF_ERROR(NonNegative(length, "length"));
                    return v.Truncate(ctx, path, static_cast<uint64_t>(length));
                  });
}

int jfs_clone(jfs_fs_t* fs, const char* src, const char* dst) {
  return PathCall("jfs_clone", fs, src, [&](lib::Volume& v, const meta::Context& ctx) -> Status {
    JFS_RETURN_IF_ERROR(Required(dst, "dst"));
    return lib::Clone(v, ctx, src, dst);
  });
}

int jfs_compact(jfs_fs_t* fs, const char* path) {
  return PathCall("jfs_compact", fs, path, [&](lib::Volume& v, const meta::Context& ctx) {
    return lib::Compact(v, ctx, path, nullptr);
  });
}

int jfs_mknod(jfs_fs_t* fs, const char* path, uint32_t mode, uint32_t rdev) {
  return PathCall("jfs_mknod", fs, path, [&](lib::Volume& v, const meta::Context& ctx) {
    return v.Mknod(ctx, path, mode, rdev);
  });
}

int jfs_realpath(jfs_fs_t* fs, const char* path, char** resolved) {
  return PathCall("jfs_realpath", fs, path,
                  [&](lib::Volume& v, const meta::Context& ctx) -> Status {
                    JFS_RETURN_IF_ERROR(Required(resolved, "resolved"));
                    std::string r;
                    JFS_RETURN_IF_ERROR(v.Realpath(ctx, path, &r));
                    void* p = nullptr;
                    JFS_RETURN_IF_ERROR(MallocCopy(r, &p));
                    *resolved = static_cast<char*>(p);
                    return Status::OK();
                  });
}

// ---- directory streams ----

int jfs_opendir(jfs_fs_t* fs, const char* path, jfs_dir_t** out) {
  return Run("jfs_opendir", path, [&](Call& c) -> Status {
    JFS_RETURN_IF_ERROR(UseVolume(c, fs));
    JFS_RETURN_IF_ERROR(Required(path, "path"));
    JFS_RETURN_IF_ERROR(Required(out, "out"));
    auto st = std::make_shared<DirState>();
    st->vol = c.vol;
    JFS_RETURN_IF_ERROR(c.vol->volume().OpenDir(*c.vol->context(), path, &st->stream));
    if (!st->stream) return Status::IOError("volume returned no stream");
    *out = Dirs().Add(std::move(st));
    return Status::OK();
  });
}

int jfs_readdir(jfs_dir_t* dir, const jfs_dirent_t** entry) {
  int found = 0;
  int rc = Run("jfs_readdir", nullptr, [&](Call& c) -> Status {
    if (dir == nullptr) return Status::Invalid("directory handle is NULL");
    auto st = Dirs().Find(dir);
    if (!st) return Status::Error(EBADF, "directory handle is closed or invalid");
    c.vol = st->vol;
    if (st->vol->closed()) return Status::Error(EBADF, "the directory's volume was closed");
    JFS_RETURN_IF_ERROR(Required(entry, "entry"));
    std::lock_guard lock(st->mu);
    bool end = false;
    lib::DirEntry next;
    JFS_RETURN_IF_ERROR(st->stream->Next(&next, &end));
    if (end) {
      *entry = nullptr;
      return Status::OK();
    }
    st->current = std::move(next);
    st->entry.name = st->current.name.c_str();
    st->entry.name_len = st->current.name.size();
    FillStat(st->current.attr, st->current.inode, st->vol->block_size(), &st->entry.stat);
    *entry = &st->entry;
    found = 1;
    return Status::OK();
  });
  return rc < 0 ? rc : found;
}

int jfs_closedir(jfs_dir_t* dir) {
  return Run("jfs_closedir", nullptr, [&](Call& c) -> Status {
    if (dir == nullptr) return Status::Invalid("directory handle is NULL");
    auto st = Dirs().Remove(dir);
    if (!st) return Status::Error(EBADF, "directory handle is closed or invalid");
    c.vol = st->vol;
    if (st->vol->closed()) return Status::OK();
    std::lock_guard lock(st->mu);
    return st->stream->Close();
  });
}

// ---- extended attributes ----

int jfs_getxattr(jfs_fs_t* fs, const char* path, const char* name, void** value, size_t* size) {
  return GetXattr("jfs_getxattr", true, fs, path, name, value, size);
}
int jfs_lgetxattr(jfs_fs_t* fs, const char* path, const char* name, void** value, size_t* size) {
  return GetXattr("jfs_lgetxattr", false, fs, path, name, value, size);
}
int jfs_setxattr(jfs_fs_t* fs, const char* path, const char* name, const void* value, size_t size,
                 int flags) {
  return SetXattr("jfs_setxattr", true, fs, path, name, value, size, flags);
}
int jfs_lsetxattr(jfs_fs_t* fs, const char* path, const char* name, const void* value, size_t size,
                  int flags) {
  return SetXattr("jfs_lsetxattr", false, fs, path, name, value, size, flags);
}
int jfs_listxattr(jfs_fs_t* fs, const char* path, char** list, size_t* size) {
  return ListXattr("jfs_listxattr", true, fs, path, list, size);
}
int jfs_llistxattr(jfs_fs_t* fs, const char* path, char** list, size_t* size) {
  return ListXattr("jfs_llistxattr", false, fs, path, list, size);
}
int jfs_removexattr(jfs_fs_t* fs, const char* path, const char* name) {
  return RemoveXattr("jfs_removexattr", true, fs, path, name);
}
int jfs_lremovexattr(jfs_fs_t* fs, const char* path, const char* name) {
  return RemoveXattr("jfs_lremovexattr", false, fs, path, name);
}

}  // extern "C"
