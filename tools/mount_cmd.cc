// jfs mount / jfs umount: the volume as a local directory through FUSE (libfuse3 low-level API).
//
// Every request carries inode numbers; they go straight to the volume's inode-level interface
// (lib/inode_fs.h), never through a path lookup. The caller's uid, gid and supplementary groups
// (fuse_req_getgroups) form the Context of each request, so the Meta layer checks permissions as
// a kernel file system does; by default the kernel checks them too (default_permissions, as
// JuiceFS mounts), from the attributes it caches.
//
// Locks: flock(2) and fcntl(2) POSIX locks go to the volume (lib::InodeFs::Flock / Getlk / Setlk)
// with the kernel's lock_owner as owner, so they hold across mounts and library clients; a
// blocking request polls until granted and ends with EINTR when the kernel interrupts it (a
// signal to the waiting process). A process's POSIX locks on a file go at its flush (close of any
// descriptor), a flock at the release of its open file description, as JuiceFS does. fallocate
// and copy_file_range are metadata operations on the slices (lib/slice_ops.h); ioctl and poll are
// not implemented (ENOSYS / EOPNOTSUPP to programs).
//
// `.stats` in the mount root is answered here (counters of this mount), never by the volume.
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>

#include <CLI/CLI.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "lib/backup.h"
#include "lib/inode_fs.h"
#include "lib/volume.h"
#include "meta/types.h"
#include "tools/common.h"
#include "tools/serve.h"
#include "util/status.h"
#include "util/unique_fd.h"

namespace jfs::tools {
namespace {

using lib::DirEntry;
using lib::File;
using lib::InodeFs;
using meta::Attr;
using meta::Context;
using meta::Ino;

struct MountArgs {
  std::string meta_url;
  std::string mountpoint;
  bool background = false;
  bool read_only = false;
  bool enable_xattr = false;
  bool writeback_cache = false;
  bool non_default_permission = false;
  std::vector<std::string> fuse_opts;  // -o values (comma lists)
  double attr_cache = 1.0, entry_cache = 1.0, dir_entry_cache = 1.0;
  std::string backup_meta = "1h";  // JuiceFS's mount default
  bool backup_skip_trash = false;
  std::string log_file;  // background mode: where stderr goes (default /dev/null)
};

// ---- the file system ----------------------------------------------------------------------------

struct DirHandle {
  std::mutex mu;
  Ino ino = 0;
  Ino parent = 1;
  std::vector<DirEntry> entries;  // loaded so far, in listing order
  std::string cursor;
  bool loaded_all = false;
  bool started = false;
};

class FuseFs {
 public:
  FuseFs(InodeFs* fs, const MountArgs& a) : fs_(fs), args_(a) {}

  InodeFs& fs() { return *fs_; }
  const MountArgs& args() const { return args_; }

  uint64_t AddFile(std::shared_ptr<File> f) {
    std::lock_guard lk(mu_);
    const uint64_t id = next_id_++;
    files_[id] = std::move(f);
    return id;
  }
  std::shared_ptr<File> GetFile(uint64_t id) {
    std::lock_guard lk(mu_);
    auto it = files_.find(id);
    return it == files_.end() ? nullptr : it->second;
  }
  std::shared_ptr<File> TakeFile(uint64_t id) {
    std::lock_guard lk(mu_);
    auto it = files_.find(id);
    if (it == files_.end()) return nullptr;
    auto f = std::move(it->second);
    files_.erase(it);
    return f;
  }
  void NotePosixLock(uint64_t ino) {
    std::lock_guard lk(mu_);
    posix_locked_.insert(ino);
  }
  bool MayHavePosixLocks(uint64_t ino) {
    std::lock_guard lk(mu_);
    return posix_locked_.count(ino) != 0;
  }

  uint64_t AddDir(std::shared_ptr<DirHandle> d) {
    std::lock_guard lk(mu_);
    const uint64_t id = next_id_++;
    dirs_[id] = std::move(d);
    return id;
  }
  std::shared_ptr<DirHandle> GetDir(uint64_t id) {
    std::lock_guard lk(mu_);
    auto it = dirs_.find(id);
    return it == dirs_.end() ? nullptr : it->second;
  }
  void DropDir(uint64_t id) {
    std::lock_guard lk(mu_);
    dirs_.erase(id);
  }

  uint32_t blksize() const { return 1u << 16; }

  // ---- .stats ----
  void Count(int op, uint64_t bytes = 0) {
    ops_[op].fetch_add(1, std::memory_order_relaxed);
    if (bytes) bytes_[op].fetch_add(bytes, std::memory_order_relaxed);
  }
  uint64_t AddStats(std::string snapshot) {
    std::lock_guard lk(mu_);
    const uint64_t id = next_id_++;
    stats_[id] = std::make_shared<const std::string>(std::move(snapshot));
    return id;
  }
  std::shared_ptr<const std::string> GetStats(uint64_t id) {
    std::lock_guard lk(mu_);
    auto it = stats_.find(id);
    return it == stats_.end() ? nullptr : it->second;
  }
  bool DropStats(uint64_t id) {
    std::lock_guard lk(mu_);
    return stats_.erase(id) > 0;
  }
  // The text of .stats: one "name value" line per counter (JuiceFS's .stats style).
  std::string StatsText() {
    std::string out;
    auto line = [&out](const std::string& k, uint64_t v) {
      out += k + " " + std::to_string(v) + "\n";
    };
    lib::StatVfs v;
    Context root;
    if (fs_->StatFs(root, &v).ok()) {
      line("juicefs_used_space", v.total_bytes - v.free_bytes);
      line("juicefs_total_space", v.total_bytes);
      line("juicefs_used_inodes", v.total_inodes - v.free_inodes);
    }
    {
      std::lock_guard lk(mu_);
      line("juicefs_open_files", files_.size());
      line("juicefs_open_dirs", dirs_.size());
    }
    line("juicefs_uptime_seconds", static_cast<uint64_t>(time(nullptr) - start_));
    for (int i = 0; i < kNumOps; ++i) {
      line(std::string("juicefs_fuse_ops_total{method=\"") + kOpNames[i] + "\"}",
           ops_[i].load(std::memory_order_relaxed));
    }
    line("juicefs_fuse_read_size_bytes_total", bytes_[kOpRead].load());
    line("juicefs_fuse_written_size_bytes_total", bytes_[kOpWrite].load());
    return out;
  }

  enum OpIndex {
    kOpLookup,
    kOpGetattr,
    kOpSetattr,
    kOpMknod,
    kOpMkdir,
    kOpUnlink,
    kOpRmdir,
    kOpSymlink,
    kOpReadlink,
    kOpRename,
    kOpLink,
    kOpOpen,
    kOpCreate,
    kOpRead,
    kOpWrite,
    kOpFlush,
    kOpRelease,
    kOpFsync,
    kOpOpendir,
    kOpReaddir,
    kOpStatfs,
    kOpXattr,
    kOpAccess,
    kOpFallocate,
    kOpCopyFileRange,
    kNumOps
  };
  static constexpr const char* kOpNames[kNumOps] = {
      "lookup",  "getattr",  "setattr",   "mknod",          "mkdir",   "unlink",  "rmdir",
      "symlink", "readlink", "rename",    "link",           "open",    "create",  "read",
      "write",   "flush",    "release",   "fsync",          "opendir", "readdir", "statfs",
      "xattr",   "access",   "fallocate", "copy_file_range"};

 private:
  const time_t start_ = time(nullptr);
  std::atomic<uint64_t> ops_[kNumOps] = {};
  std::atomic<uint64_t> bytes_[kNumOps] = {};
  std::unordered_map<uint64_t, std::shared_ptr<const std::string>> stats_;
  InodeFs* fs_;
  MountArgs args_;
  std::mutex mu_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<File>> files_;
  std::unordered_map<uint64_t, std::shared_ptr<DirHandle>> dirs_;
  std::unordered_set<uint64_t> posix_locked_;  // inodes someone took a POSIX lock on; under mu_
};

FuseFs& Self(fuse_req_t req) {
  return *static_cast<FuseFs*>(fuse_req_userdata(req));
}

// `.stats` in the mount root: a read-only virtual file (JuiceFS's internal inode number for it),
// answered by the daemon itself and absent from listings.
constexpr Ino kStatsIno = 0x7FFFFFFF00000003ULL;
constexpr const char* kStatsName = ".stats";

Attr StatsAttr(size_t size) {
  Attr a;
  a.typ = meta::kTypeFile;
  a.mode = 0444;
  a.nlink = 1;
  a.length = size;
  const time_t now = time(nullptr);
  a.atime = a.mtime = a.ctime = now;
  return a;
}

// The caller's credentials: uid, primary gid first, then the supplementary groups. The kernel
// already applied the umask to modes it passes (no FUSE_CAP_DONT_MASK), so ours is 0.
Context MakeContext(fuse_req_t req) {
  const fuse_ctx* c = fuse_req_ctx(req);
  Context ctx;
  ctx.uid = c->uid;
  ctx.gids = {c->gid};
  ctx.pid = static_cast<uint32_t>(c->pid);
  ctx.umask = 0;
  if (c->uid != 0) {  // root passes every check: its groups are never consulted
    std::vector<gid_t> groups(64);
    int n = fuse_req_getgroups(req, static_cast<int>(groups.size()), groups.data());
    if (n > static_cast<int>(groups.size())) {
      groups.resize(static_cast<size_t>(n));
      n = fuse_req_getgroups(req, n, groups.data());
    }
    for (int i = 0; i < n && i < static_cast<int>(groups.size()); ++i) {
      if (groups[static_cast<size_t>(i)] != c->gid)
        ctx.gids.push_back(groups[static_cast<size_t>(i)]);
    }
  }
  return ctx;
}

void ReplyStatus(fuse_req_t req, const Status& s) {
  int err = s.code();
  if (err <= 0) err = EIO;
  fuse_reply_err(req, err);
}

void ToStat(Ino ino, const Attr& a, uint32_t blksize, struct stat* st) {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = ino;
  st->st_mode = a.SMode();
  st->st_nlink = a.nlink;
  st->st_uid = a.uid;
  st->st_gid = a.gid;
  st->st_rdev = a.rdev;
  st->st_size = static_cast<off_t>(a.length);
  st->st_blksize = blksize;
  st->st_blocks = static_cast<blkcnt_t>((a.length + 511) / 512);
  st->st_atim.tv_sec = a.atime;
  st->st_atim.tv_nsec = a.atimensec;
  st->st_mtim.tv_sec = a.mtime;
  st->st_mtim.tv_nsec = a.mtimensec;
  st->st_ctim.tv_sec = a.ctime;
  st->st_ctim.tv_nsec = a.ctimensec;
}

void FillEntry(FuseFs& self, Ino ino, const Attr& a, fuse_entry_param* e) {
  std::memset(e, 0, sizeof(*e));
  e->ino = ino;
  e->generation = 1;
  ToStat(ino, a, self.blksize(), &e->attr);
  e->attr_timeout = self.args().attr_cache;
  e->entry_timeout =
      a.typ == meta::kTypeDirectory ? self.args().dir_entry_cache : self.args().entry_cache;
}

void ReplyEntry(fuse_req_t req, Ino ino, const Attr& a) {
  fuse_entry_param e;
  FillEntry(Self(req), ino, a, &e);
  fuse_reply_entry(req, &e);
}

void ReplyAttr(fuse_req_t req, Ino ino, const Attr& a) {
  struct stat st;
  ToStat(ino, a, Self(req).blksize(), &st);
  fuse_reply_attr(req, &st, Self(req).args().attr_cache);
}

// ---- operations ---------------------------------------------------------------------------------

// Kernel readahead of a FUSE file: one default block (4 MiB) ahead, in requests of up to
// max_write (1 MiB); the volume's block readahead goes further (see RaiseKernelReadahead).
constexpr uint32_t kKernelReadahead = 4u << 20;

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* self = static_cast<FuseFs*>(userdata);
  conn->max_write = 1u << 20;
  conn->max_readahead = std::max(conn->max_readahead, kKernelReadahead);
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  conn->want &= ~static_cast<unsigned>(FUSE_CAP_READDIRPLUS_AUTO);
  if (self->args().writeback_cache && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
    conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  }
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Self(req).Count(FuseFs::kOpLookup);
  if (parent == meta::kRootIno && std::strcmp(name, kStatsName) == 0) {
    fuse_entry_param e;
    FillEntry(Self(req), kStatsIno, StatsAttr(Self(req).StatsText().size()), &e);
    e.attr_timeout = 0;
    e.entry_timeout = 0;
    fuse_reply_entry(req, &e);
    return;
  }
  Context ctx = MakeContext(req);
  Ino ino = 0;
  Attr a;
  Status s = Self(req).fs().Lookup(ctx, parent, name, &ino, &a);
  if (s.IsNotFound()) {
    // A negative entry with timeout 0: the kernel asks again next time (no negative cache).
    fuse_entry_param e;
    std::memset(&e, 0, sizeof(e));
    fuse_reply_entry(req, &e);
    return;
  }
  if (!s.ok()) return ReplyStatus(req, s);
  ReplyEntry(req, ino, a);
}

// Lookup counts: nothing is kept per looked-up inode (each request reads Meta), so forgetting an
// inode releases nothing. Open files are tracked by their handles, not by lookups.
void OpForget(fuse_req_t req, fuse_ino_t, uint64_t) {
  fuse_reply_none(req);
}
void OpForgetMulti(fuse_req_t req, size_t, fuse_forget_data*) {
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpGetattr);
  if (ino == kStatsIno) {
    struct stat st;
    ToStat(ino, StatsAttr(Self(req).StatsText().size()), Self(req).blksize(), &st);
    fuse_reply_attr(req, &st, 0);
    return;
  }
  FuseFs& self = Self(req);
  Attr a;
  Status s;
  std::shared_ptr<File> f = fi != nullptr ? self.GetFile(fi->fh) : nullptr;
  if (f != nullptr && f->inode() == ino) {
    s = f->Fstat(&a);
  } else {
    s = self.fs().GetAttr(MakeContext(req), ino, &a);
  }
  if (!s.ok()) return ReplyStatus(req, s);
  ReplyAttr(req, ino, a);
}

void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpSetattr);
  if (ino == kStatsIno) return (void)fuse_reply_err(req, EPERM);
  FuseFs& self = Self(req);
  uint32_t mask = 0;
  Attr in;
  if (to_set & FUSE_SET_ATTR_MODE) {
    mask |= meta::kSetMode;
    in.mode = static_cast<uint16_t>(attr->st_mode & 07777);
  }
  if (to_set & FUSE_SET_ATTR_UID) {
    mask |= meta::kSetUid;
    in.uid = attr->st_uid;
  }
  if (to_set & FUSE_SET_ATTR_GID) {
    mask |= meta::kSetGid;
    in.gid = attr->st_gid;
  }
  if (to_set & FUSE_SET_ATTR_SIZE) {
    mask |= meta::kSetSize;
    in.length = static_cast<uint64_t>(attr->st_size);
  }
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    mask |= meta::kSetAtimeNow;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    mask |= meta::kSetAtime;
    in.atime = attr->st_atim.tv_sec;
    in.atimensec = static_cast<uint32_t>(attr->st_atim.tv_nsec);
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    mask |= meta::kSetMtimeNow;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    mask |= meta::kSetMtime;
    in.mtime = attr->st_mtim.tv_sec;
    in.mtimensec = static_cast<uint32_t>(attr->st_mtim.tv_nsec);
  }
  if (to_set & FUSE_SET_ATTR_CTIME) {
    mask |= meta::kSetCtime;
    in.ctime = attr->st_ctim.tv_sec;
    in.ctimensec = static_cast<uint32_t>(attr->st_ctim.tv_nsec);
  }
  std::shared_ptr<File> f = fi != nullptr ? self.GetFile(fi->fh) : nullptr;
  if (f != nullptr && f->inode() != ino) f = nullptr;
  // ftruncate through a handle not open for writing is truncate(2) by path for us.
  if (f != nullptr && (f->flags() & O_ACCMODE) == O_RDONLY) f = nullptr;
  Context ctx = MakeContext(req);
  if ((mask & meta::kSetMode) && !ctx.IsRoot()) {
    // The kernel clears setuid/setgid when a non-owner writes or truncates (no
    // FUSE_CAP_HANDLE_KILLPRIV): it sends a chmod that only drops those bits, with the writer's
    // credentials. chmod is the owner's right, so this one runs privileged, provided the caller may
    // write the file (as JuiceFS allows a non-owner to clear the bits).
    Attr cur;
    Status g = self.fs().GetAttr(ctx, ino, &cur);
    if (g.ok() && cur.uid != ctx.uid && (in.mode | 06000) == (cur.mode | 06000) &&
        (in.mode & ~cur.mode & 06000) == 0 && in.mode != cur.mode) {
      Status w = self.fs().Access(ctx, ino, W_OK);
      if (!w.ok()) return ReplyStatus(req, w);
      Context root = ctx;
      root.uid = 0;
      root.gids = {0};
      Status k = self.fs().SetAttr(root, ino, meta::kSetMode, in, nullptr, nullptr);
      if (!k.ok()) return ReplyStatus(req, k);
      mask &= ~static_cast<uint32_t>(meta::kSetMode);
    }
  }
  Attr out;
  Status s = self.fs().SetAttr(ctx, ino, mask, in, f.get(), &out);
  if (!s.ok()) return ReplyStatus(req, s);
  ReplyAttr(req, ino, out);
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  Self(req).Count(FuseFs::kOpReadlink);
  std::string target;
  Status s = Self(req).fs().Readlink(MakeContext(req), ino, &target);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_readlink(req, target.c_str());
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  if (parent == meta::kRootIno && std::strcmp(name, kStatsName) == 0) {
    return (void)fuse_reply_err(req, EEXIST);
  }
  Self(req).Count(FuseFs::kOpMknod);
  Ino ino = 0;
  Attr a;
  Status s = Self(req).fs().Mknod(MakeContext(req), parent, name, mode, 0,
                                  static_cast<uint32_t>(rdev), &ino, &a);
  if (!s.ok()) return ReplyStatus(req, s);
  ReplyEntry(req, ino, a);
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  if (parent == meta::kRootIno && std::strcmp(name, kStatsName) == 0) {
    return (void)fuse_reply_err(req, EEXIST);
  }
  Self(req).Count(FuseFs::kOpMkdir);
  Ino ino = 0;
  Attr a;
  Status s = Self(req).fs().Mkdir(MakeContext(req), parent, name,
                                  static_cast<uint16_t>(mode & 07777), 0, &ino, &a);
  if (!s.ok()) return ReplyStatus(req, s);
  ReplyEntry(req, ino, a);
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Self(req).Count(FuseFs::kOpUnlink);
  Status s = Self(req).fs().Unlink(MakeContext(req), parent, name);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Self(req).Count(FuseFs::kOpRmdir);
  Status s = Self(req).fs().Rmdir(MakeContext(req), parent, name);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

void OpSymlink(fuse_req_t req, const char* link, fuse_ino_t parent, const char* name) {
  if (parent == meta::kRootIno && std::strcmp(name, kStatsName) == 0) {
    return (void)fuse_reply_err(req, EEXIST);
  }
  Self(req).Count(FuseFs::kOpSymlink);
  Ino ino = 0;
  Attr a;
  Status s = Self(req).fs().Symlink(MakeContext(req), parent, name, link, &ino, &a);
  if (!s.ok()) return ReplyStatus(req, s);
  ReplyEntry(req, ino, a);
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
              const char* newname, unsigned int flags) {
  Self(req).Count(FuseFs::kOpRename);
  Status s = Self(req).fs().Rename(MakeContext(req), parent, name, newparent, newname, flags);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char* newname) {
  Self(req).Count(FuseFs::kOpLink);
  Attr a;
  Status s = Self(req).fs().Link(MakeContext(req), ino, newparent, newname, &a);
  if (!s.ok()) return ReplyStatus(req, s);
  ReplyEntry(req, ino, a);
}

// Open flags as the volume should see them. With the FUSE writeback cache the kernel reads pages
// of write-only files and appends itself, so the handle must be readable and not O_APPEND.
int VolumeFlags(const FuseFs& self, int flags) {
  if (self.args().writeback_cache) {
    if ((flags & O_ACCMODE) == O_WRONLY) flags = (flags & ~O_ACCMODE) | O_RDWR;
    flags &= ~O_APPEND;
  }
  return flags;
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpOpen);
  if (ino == kStatsIno) {
    if ((fi->flags & O_ACCMODE) != O_RDONLY) return (void)fuse_reply_err(req, EACCES);
    fi->direct_io = 1;  // the size changes with every snapshot
    fi->fh = Self(req).AddStats(Self(req).StatsText());
    if (fuse_reply_open(req, fi) != 0) Self(req).DropStats(fi->fh);
    return;
  }
  FuseFs& self = Self(req);
  std::shared_ptr<File> f;
  Attr a;
  Status s = self.fs().Open(MakeContext(req), ino, VolumeFlags(self, fi->flags), &f, &a);
  if (!s.ok()) return ReplyStatus(req, s);
  // Close-to-open: the kernel drops its cached pages at open (keep_cache = 0).
  fi->keep_cache = 0;
  fi->fh = self.AddFile(f);
  if (fuse_reply_open(req, fi) != 0) {
    // Interrupted: the kernel will not release this handle.
    if (auto g = self.TakeFile(fi->fh)) (void)g->Close();
  }
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
              fuse_file_info* fi) {
  if (parent == meta::kRootIno && std::strcmp(name, kStatsName) == 0) {
    return (void)fuse_reply_err(req, EEXIST);
  }
  Self(req).Count(FuseFs::kOpCreate);
  FuseFs& self = Self(req);
  std::shared_ptr<File> f;
  Ino ino = 0;
  Attr a;
  Status s = self.fs().Create(MakeContext(req), parent, name, static_cast<uint16_t>(mode & 07777),
                              0, VolumeFlags(self, fi->flags), &f, &ino, &a);
  if (!s.ok()) return ReplyStatus(req, s);
  fi->keep_cache = 0;
  fi->fh = self.AddFile(f);
  fuse_entry_param e;
  FillEntry(self, ino, a, &e);
  if (fuse_reply_create(req, &e, fi) != 0) {
    if (auto g = self.TakeFile(fi->fh)) (void)g->Close();
  }
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  if (ino == kStatsIno) {
    auto text = Self(req).GetStats(fi->fh);
    if (text == nullptr) return (void)fuse_reply_err(req, EBADF);
    const size_t start = std::min(text->size(), static_cast<size_t>(off));
    const size_t n = std::min(size, text->size() - start);
    fuse_reply_buf(req, text->data() + start, n);
    return;
  }
  std::shared_ptr<File> f = Self(req).GetFile(fi->fh);
  if (f == nullptr) return (void)fuse_reply_err(req, EBADF);
  thread_local std::vector<char> buf;
  if (buf.size() < size) buf.resize(size);
  uint64_t n = 0;
  Status s = f->Pread(buf.data(), size, static_cast<uint64_t>(off), &n);
  if (!s.ok()) return ReplyStatus(req, s);
  Self(req).Count(FuseFs::kOpRead, n);
  fuse_reply_buf(req, buf.data(), n);
}

void OpWrite(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t off,
             fuse_file_info* fi) {
  std::shared_ptr<File> f = Self(req).GetFile(fi->fh);
  if (f == nullptr) return (void)fuse_reply_err(req, EBADF);
  uint64_t n = 0;
  Status s = f->Pwrite(data, size, static_cast<uint64_t>(off), &n);
  if (!s.ok()) return ReplyStatus(req, s);
  Self(req).Count(FuseFs::kOpWrite, n);
  fuse_reply_write(req, n);
}

// Each close(2) of a descriptor: makes the data visible to other clients (close-to-open) and
// reports a failed upload to the closing program.
void OpFlush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpFlush);
  if (ino == kStatsIno) return (void)fuse_reply_err(req, 0);
  std::shared_ptr<File> f = Self(req).GetFile(fi->fh);
  if (f == nullptr) return (void)fuse_reply_err(req, EBADF);
  Status s = f->Flush();
  // close(2) of any descriptor drops the process's POSIX locks on the file (the kernel leaves
  // that to us when the file system implements them). Only inodes someone locked here pay for it.
  if (Self(req).MayHavePosixLocks(ino)) {
    const meta::PosixLock all{meta::kLockUnlock, 0, meta::kLockEndMax, 0};
    Status u = Self(req).fs().Setlk(MakeContext(req), ino, fi->lock_owner, all, {});
    if (s.ok() && !u.ok()) s = u;
  }
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpRelease);
  if (ino == kStatsIno) {
    Self(req).DropStats(fi->fh);
    return (void)fuse_reply_err(req, 0);
  }
  if (fi->flock_release) {  // the last close of an open file description that used flock(2)
    Status u = Self(req).fs().Flock(MakeContext(req), ino, fi->lock_owner, meta::kLockUnlock, {});
    if (!u.ok()) std::fprintf(stderr, "jfs: mount: releasing a flock: %s\n", u.ToString().c_str());
  }
  std::shared_ptr<File> f = Self(req).TakeFile(fi->fh);
  if (f != nullptr) {
    Status s = f->Close();
    // release has no caller to tell (close(2) got flush's answer): log it.
    if (!s.ok()) std::fprintf(stderr, "jfs: mount: closing a file: %s\n", s.ToString().c_str());
  }
  fuse_reply_err(req, 0);
}

void OpFsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpFsync);
  if (ino == kStatsIno) return (void)fuse_reply_err(req, 0);
  std::shared_ptr<File> f = Self(req).GetFile(fi->fh);
  if (f == nullptr) return (void)fuse_reply_err(req, EBADF);
  Status s = f->Fsync();
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

// fallocate(2) and copy_file_range(2): metadata-only operations on the slices (lib/slice_ops.h).
void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                 fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpFallocate);
  if (ino == kStatsIno) return (void)fuse_reply_err(req, EPERM);
  std::shared_ptr<File> f = Self(req).GetFile(fi->fh);
  if (f == nullptr) return (void)fuse_reply_err(req, EBADF);
  if (offset < 0 || length <= 0) return (void)fuse_reply_err(req, EINVAL);
  Status s = Self(req).fs().Fallocate(MakeContext(req), f.get(), mode,
                                      static_cast<uint64_t>(offset), static_cast<uint64_t>(length));
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

void OpCopyFileRange(fuse_req_t req, fuse_ino_t ino_in, off_t off_in, fuse_file_info* fi_in,
                     fuse_ino_t ino_out, off_t off_out, fuse_file_info* fi_out, size_t len,
                     int flags) {
  Self(req).Count(FuseFs::kOpCopyFileRange);
  if (ino_in == kStatsIno || ino_out == kStatsIno) return (void)fuse_reply_err(req, EXDEV);
  std::shared_ptr<File> in = Self(req).GetFile(fi_in->fh);
  std::shared_ptr<File> out = Self(req).GetFile(fi_out->fh);
  if (in == nullptr || out == nullptr) return (void)fuse_reply_err(req, EBADF);
  if (off_in < 0 || off_out < 0) return (void)fuse_reply_err(req, EINVAL);
  uint64_t n = 0;
  Status s = Self(req).fs().CopyFileRange(MakeContext(req), in.get(), static_cast<uint64_t>(off_in),
                                          out.get(), static_cast<uint64_t>(off_out), len,
                                          static_cast<uint32_t>(flags), &n);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_write(req, n);
}

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Self(req).Count(FuseFs::kOpOpendir);
  FuseFs& self = Self(req);
  Context ctx = MakeContext(req);
  Attr a;
  Status s = self.fs().GetAttr(ctx, ino, &a);
  if (s.ok() && a.typ != meta::kTypeDirectory) s = Status::Error(ENOTDIR, "not a directory");
  if (s.ok()) s = self.fs().Access(ctx, ino, R_OK);
  if (!s.ok()) return ReplyStatus(req, s);
  auto d = std::make_shared<DirHandle>();
  d->ino = ino;
  d->parent = a.parent != 0 ? a.parent : ino;
  fi->fh = self.AddDir(std::move(d));
  if (fuse_reply_open(req, fi) != 0) self.DropDir(fi->fh);
}

// Offsets: 1 follows ".", 2 follows "..", 2 + i + 1 follows entries[i]. The entries are loaded
// page by page as offsets reach them; offset 0 (a new listing or rewinddir) starts afresh.
void ReaddirCommon(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi,
                   bool plus) {
  Self(req).Count(FuseFs::kOpReaddir);
  FuseFs& self = Self(req);
  std::shared_ptr<DirHandle> d = self.GetDir(fi->fh);
  if (d == nullptr) return (void)fuse_reply_err(req, EBADF);
  Context ctx = MakeContext(req);
  std::lock_guard lk(d->mu);
  if (off == 0 || !d->started) {
    d->entries.clear();
    d->cursor.clear();
    d->loaded_all = false;
    d->started = true;
  }
  std::vector<char> buf(size);
  size_t used = 0;
  off_t pos = off;
  auto add = [&](const std::string& name, Ino eino, const Attr& a, bool dot) -> bool {
    const off_t next = pos + 1;
    size_t need = 0;
    if (plus) {
      fuse_entry_param e;
      if (dot) {
        std::memset(&e, 0, sizeof(e));
        e.attr.st_ino = eino;
        e.attr.st_mode = S_IFDIR;
      } else {
        FillEntry(self, eino, a, &e);
      }
      need = fuse_add_direntry_plus(req, buf.data() + used, size - used, name.c_str(), &e, next);
    } else {
      struct stat st;
      std::memset(&st, 0, sizeof(st));
      st.st_ino = eino;
      st.st_mode = a.SMode() & S_IFMT;
      if (dot) st.st_mode = S_IFDIR;
      need = fuse_add_direntry(req, buf.data() + used, size - used, name.c_str(), &st, next);
    }
    if (need > size - used) return false;
    used += need;
    pos = next;
    return true;
  };
  Attr none;
  while (true) {
    if (pos == 0) {
      if (!add(".", ino, none, true)) break;
      continue;
    }
    if (pos == 1) {
      if (!add("..", d->parent, none, true)) break;
      continue;
    }
    const size_t idx = static_cast<size_t>(pos - 2);
    if (idx >= d->entries.size()) {
      if (d->loaded_all) break;
      std::vector<DirEntry> page;
      Status s = self.fs().Readdir(ctx, ino, plus, &d->cursor, 1000, &page);
      if (s.IsNotFound()) {  // removed while open: the listing ends, as on Linux
        d->loaded_all = true;
        break;
      }
      if (!s.ok()) {
        if (used > 0) break;  // return what fits; the error comes with the next call
        return ReplyStatus(req, s);
      }
      for (auto& e : page) d->entries.push_back(std::move(e));
      if (d->cursor.empty()) d->loaded_all = true;
      continue;
    }
    const DirEntry& e = d->entries[idx];
    if (!add(e.name, e.inode, e.attr, false)) break;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReaddirCommon(req, ino, size, off, fi, false);
}
void OpReaddirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  ReaddirCommon(req, ino, size, off, fi, true);
}

// ---- locks ----

// libfuse hands the kernel's [start, end] over as l_start / l_len (0: to OFFSET_MAX).
void LockRange(const struct flock& fl, meta::PosixLock* lk) {
  lk->start = static_cast<uint64_t>(fl.l_start);
  lk->end = fl.l_len <= 0 ? meta::kLockEndMax : static_cast<uint64_t>(fl.l_start + fl.l_len - 1);
  lk->pid = static_cast<uint32_t>(fl.l_pid);
}

meta::LockWait FuseWait(fuse_req_t req, bool block) {
  meta::LockWait w;
  w.block = block;
  w.interrupted = [req] { return fuse_req_interrupted(req) != 0; };
  return w;
}

void OpGetlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock) {
  if (ino == kStatsIno) return (void)fuse_reply_err(req, EINVAL);
  meta::PosixLock lk;
  lk.type = lock->l_type == F_WRLCK ? meta::kLockWrite : meta::kLockRead;
  LockRange(*lock, &lk);
  Status s = Self(req).fs().Getlk(MakeContext(req), ino, fi->lock_owner, &lk);
  if (!s.ok()) return ReplyStatus(req, s);
  struct flock out = *lock;
  if (lk.type == meta::kLockUnlock) {
    out.l_type = F_UNLCK;
  } else {
    out.l_type = lk.type == meta::kLockWrite ? F_WRLCK : F_RDLCK;
    out.l_whence = SEEK_SET;
    out.l_start = static_cast<off_t>(lk.start);
    out.l_len = lk.end >= meta::kLockEndMax ? 0 : static_cast<off_t>(lk.end - lk.start + 1);
    out.l_pid = static_cast<pid_t>(lk.pid);
  }
  fuse_reply_lock(req, &out);
}

void OpSetlk(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, struct flock* lock, int sleep) {
  if (ino == kStatsIno) return (void)fuse_reply_err(req, EINVAL);
  meta::PosixLock lk;
  lk.type = lock->l_type == F_WRLCK   ? meta::kLockWrite
            : lock->l_type == F_RDLCK ? meta::kLockRead
                                      : meta::kLockUnlock;
  LockRange(*lock, &lk);
  if (lk.type != meta::kLockUnlock) Self(req).NotePosixLock(ino);
  Status s = Self(req).fs().Setlk(MakeContext(req), ino, fi->lock_owner, lk, FuseWait(req, sleep));
  fuse_reply_err(req, s.ok() ? 0 : s.code());
}

void OpFlock(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi, int op) {
  if (ino == kStatsIno) return (void)fuse_reply_err(req, EINVAL);
  uint32_t type;
  switch (op & ~LOCK_NB) {
    case LOCK_SH:
      type = meta::kLockRead;
      break;
    case LOCK_EX:
      type = meta::kLockWrite;
      break;
    case LOCK_UN:
      type = meta::kLockUnlock;
      break;
    default:
      return (void)fuse_reply_err(req, EINVAL);
  }
  Status s = Self(req).fs().Flock(MakeContext(req), ino, fi->lock_owner, type,
                                  FuseWait(req, (op & LOCK_NB) == 0));
  fuse_reply_err(req, s.ok() ? 0 : s.code());
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Self(req).DropDir(fi->fh);
  fuse_reply_err(req, 0);
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);  // metadata changes are committed when each call returns
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  Self(req).Count(FuseFs::kOpStatfs);
  lib::StatVfs v;
  Status s = Self(req).fs().StatFs(MakeContext(req), &v);
  if (!s.ok()) return ReplyStatus(req, s);
  struct statvfs st;
  std::memset(&st, 0, sizeof(st));
  constexpr uint64_t kBlock = 4096;
  st.f_bsize = kBlock;
  st.f_frsize = kBlock;
  st.f_blocks = v.total_bytes / kBlock;
  st.f_bfree = v.free_bytes / kBlock;
  st.f_bavail = v.free_bytes / kBlock;
  st.f_files = v.total_inodes;
  st.f_ffree = v.free_inodes;
  st.f_favail = v.free_inodes;
  st.f_namemax = v.max_name;
  fuse_reply_statfs(req, &st);
}

bool XattrEnabled(fuse_req_t req) {
  Self(req).Count(FuseFs::kOpXattr);
  if (Self(req).args().enable_xattr) return true;
  fuse_reply_err(req, ENOTSUP);
  return false;
}

void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size,
                int flags) {
  if (!XattrEnabled(req)) return;
  Status s =
      Self(req).fs().SetXattr(MakeContext(req), ino, name, std::string_view(value, size), flags);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

void OpGetxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  if (!XattrEnabled(req)) return;
  std::string value;
  Status s = Self(req).fs().GetXattr(MakeContext(req), ino, name, &value);
  if (!s.ok()) return ReplyStatus(req, s);
  if (size == 0) return (void)fuse_reply_xattr(req, value.size());
  if (size < value.size()) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, value.data(), value.size());
}

void OpListxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  if (!XattrEnabled(req)) return;
  std::vector<std::string> names;
  Status s = Self(req).fs().ListXattr(MakeContext(req), ino, &names);
  if (!s.ok()) return ReplyStatus(req, s);
  std::string out;
  for (auto& n : names) {
    out += n;
    out.push_back('\0');
  }
  if (size == 0) return (void)fuse_reply_xattr(req, out.size());
  if (size < out.size()) return (void)fuse_reply_err(req, ERANGE);
  fuse_reply_buf(req, out.data(), out.size());
}

void OpRemovexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  if (!XattrEnabled(req)) return;
  Status s = Self(req).fs().RemoveXattr(MakeContext(req), ino, name);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

void OpAccess(fuse_req_t req, fuse_ino_t ino, int mask) {
  if (ino == kStatsIno) return (void)fuse_reply_err(req, (mask & W_OK) ? EACCES : 0);
  Self(req).Count(FuseFs::kOpAccess);
  Status s = Self(req).fs().Access(MakeContext(req), ino, mask);
  if (!s.ok()) return ReplyStatus(req, s);
  fuse_reply_err(req, 0);
}

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops ops;
  std::memset(&ops, 0, sizeof(ops));
  ops.init = OpInit;
  ops.lookup = OpLookup;
  ops.forget = OpForget;
  ops.forget_multi = OpForgetMulti;
  ops.getattr = OpGetattr;
  ops.setattr = OpSetattr;
  ops.readlink = OpReadlink;
  ops.mknod = OpMknod;
  ops.mkdir = OpMkdir;
  ops.unlink = OpUnlink;
  ops.rmdir = OpRmdir;
  ops.symlink = OpSymlink;
  ops.rename = OpRename;
  ops.link = OpLink;
  ops.open = OpOpen;
  ops.read = OpRead;
  ops.write = OpWrite;
  ops.flush = OpFlush;
  ops.release = OpRelease;
  ops.fsync = OpFsync;
  ops.opendir = OpOpendir;
  ops.readdir = OpReaddir;
  ops.readdirplus = OpReaddirplus;
  ops.releasedir = OpReleasedir;
  ops.fsyncdir = OpFsyncdir;
  ops.statfs = OpStatfs;
  ops.setxattr = OpSetxattr;
  ops.getxattr = OpGetxattr;
  ops.listxattr = OpListxattr;
  ops.removexattr = OpRemovexattr;
  ops.access = OpAccess;
  ops.create = OpCreate;
  // With getlk/setlk and flock set, libfuse asks the kernel for FUSE_CAP_POSIX_LOCKS and
  // FUSE_CAP_FLOCK_LOCKS, so the kernel forwards locks instead of keeping them local.
  ops.getlk = OpGetlk;
  ops.setlk = OpSetlk;
  ops.flock = OpFlock;
  ops.fallocate = OpFallocate;
  ops.copy_file_range = OpCopyFileRange;
  return ops;
}

// ---- mounting -----------------------------------------------------------------------------------

struct SessionDeleter {
  void operator()(fuse_session* se) const noexcept { fuse_session_destroy(se); }
};
using SessionHandle = std::unique_ptr<fuse_session, SessionDeleter>;

struct ArgsDeleter {
  void operator()(fuse_args* a) const noexcept { fuse_opt_free_args(a); }
};

// Tells the parent of a background mount how the start went: "ok" or the error line.
class ReadyPipe {
 public:
  ReadyPipe() = default;
  explicit ReadyPipe(int fd) : fd_(fd) {}
  ReadyPipe(const ReadyPipe&) = delete;
  ReadyPipe& operator=(const ReadyPipe&) = delete;
  ~ReadyPipe() { Close(); }
  bool active() const { return fd_ >= 0; }
  void Send(const std::string& msg) {
    if (fd_ < 0) return;
    size_t done = 0;
    while (done < msg.size()) {
      ssize_t n = ::write(fd_, msg.data() + done, msg.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    Close();
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Reports a failure to start: on stderr in the foreground, through the pipe in the background.
int StartFailure(ReadyPipe& ready, const std::string& message) {
  if (ready.active()) {
    ready.Send("error: " + message);
  } else {
    PrintError("mount", message);
  }
  return kExitError;
}

// The volume flags (common to the commands that open a volume, tools/common.h: cache, transfers,
// buffer) were parsed into `c` as for the C ABI; the mount opens the volume through lib/ itself.
bool ParseVolumeOptions(const MountArgs& a, const jfs_volume_options_t& c, lib::VolumeOptions* vo,
                        std::string* err) {
  int64_t backup = 0;
  if (!ParseDuration(a.backup_meta, &backup) || (backup != 0 && backup < lib::kMinBackupInterval)) {
    *err = "bad --backup-meta '" + a.backup_meta + "' (0 disables; at least 5m)";
    return false;
  }
  vo->backup_meta = backup;
  vo->backup_skip_trash = a.backup_skip_trash;
  if (!ToLibVolumeOptions(c, vo, err)) return false;
  vo->read_only = a.read_only;
  vo->mount_point = a.mountpoint;
  return true;
}

// The kernel reads a FUSE file ahead by at most its mount's bdi read_ahead_kb (128 KiB unless
// raised, whatever max_readahead says), in requests of that size: a big sequential read then costs
// a round trip per 128 KiB and the kernel's window lags far behind the volume's block readahead.
// Raises it for this mount's own bdi to `kib` (JuiceFS's docs advise the same by hand). Best
// effort: it needs root and sysfs, and a failure only costs speed. `real_mountpoint` is the
// canonical path (resolved before mounting: resolving it now would ask this very mount).
void RaiseKernelReadahead(const std::string& real_mountpoint, uint32_t kib) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen("/proc/self/mountinfo", "re"), &std::fclose);
  if (!f) return;
  auto unescape = [](const std::string& in) {  // mountinfo writes ' ', '\t', '\n', '\\' as \ooo
    std::string out;
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] == '\\' && i + 3 < in.size()) {
        const std::string oct = in.substr(i + 1, 3);
        if (oct.size() == 3 &&
            std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
          out += static_cast<char>(std::stoi(oct, nullptr, 8));
          i += 3;
          continue;
        }
      }
      out += in[i];
    }
    return out;
  };
  std::string dev;  // "major:minor" of the last (topmost) FUSE mount on the mount point
  char line[8192];
  while (std::fgets(line, sizeof(line), f.get()) != nullptr) {
    // id parent major:minor root mountpoint options... - fstype source superoptions
    char id[32], parent[32], majmin[64], root[4096], mp[4096];
    if (std::sscanf(line, "%31s %31s %63s %4095s %4095s", id, parent, majmin, root, mp) != 5) {
      continue;
    }
    const char* sep = std::strstr(line, " - ");
    if (sep == nullptr || std::strncmp(sep + 3, "fuse", 4) != 0) continue;
    if (unescape(mp) == real_mountpoint) dev = majmin;
  }
  if (dev.empty()) return;
  const std::string path = "/sys/class/bdi/" + dev + "/read_ahead_kb";
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (fd.get() < 0) return;
  const std::string v = std::to_string(kib) + "\n";
  if (::write(fd.get(), v.data(), v.size()) < 0) {
    // Not fatal: reads work, with the kernel's default readahead.
  }
}

// Runs the mount in this process until it is unmounted or signalled. `ready` is the background
// parent's pipe (inactive in the foreground).
int ServeMount(const MountArgs& a, const jfs_volume_options_t& c, ReadyPipe& ready) {
  lib::VolumeOptions vo;
  std::string err;
  if (!ParseVolumeOptions(a, c, &vo, &err)) return StartFailure(ready, err);
  std::unique_ptr<lib::Volume> volume;
  Status s = lib::Volume::Open(a.meta_url, vo, &volume);
  if (!s.ok()) return StartFailure(ready, "cannot open volume " + a.meta_url + ": " + s.ToString());
  std::unique_ptr<InodeFs> ifs;
  s = lib::NewInodeFs(volume.get(), &ifs);
  if (!s.ok()) return StartFailure(ready, s.ToString());
  FuseFs self(ifs.get(), a);

  // libfuse's own options: identity in /proc/mounts, then the user's -o list.
  std::vector<std::string> argv_s = {"jfs"};
  std::string opts = "fsname=JuiceFS:" + volume->format().name + ",subtype=juicefs";
  if (!a.non_default_permission) opts += ",default_permissions";
  if (a.read_only) opts += ",ro";
  for (const auto& o : a.fuse_opts) {
    if (o.empty()) continue;
    opts += "," + o;
  }
  argv_s.push_back("-o");
  argv_s.push_back(opts);
  std::vector<char*> argv;
  for (auto& x : argv_s) argv.push_back(x.data());
  fuse_args fargs = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  std::unique_ptr<fuse_args, ArgsDeleter> fargs_owner(&fargs);
  const fuse_lowlevel_ops ops = MakeOps();
  SessionHandle se(fuse_session_new(&fargs, &ops, sizeof(ops), &self));
  if (!se) return StartFailure(ready, "bad FUSE options '" + opts + "' (see the message above)");
  // SIGINT and SIGTERM always unmount cleanly, even when inherited as ignored (a job started with
  // `&` by a non-interactive shell ignores SIGINT; libfuse only catches signals left at default).
  // SIGHUP keeps its disposition, so `nohup jfs mount` survives its terminal.
  (void)signal(SIGINT, SIG_DFL);
  (void)signal(SIGTERM, SIG_DFL);
  if (fuse_set_signal_handlers(se.get()) != 0) {
    return StartFailure(ready, "cannot install signal handlers");
  }
  char real[PATH_MAX];
  const std::string real_mountpoint =
      realpath(a.mountpoint.c_str(), real) != nullptr ? real : a.mountpoint;
  if (fuse_session_mount(se.get(), a.mountpoint.c_str()) != 0) {
    fuse_remove_signal_handlers(se.get());
    return StartFailure(ready, "cannot mount on " + a.mountpoint +
                                   " (see the message above; needs /dev/fuse and fusermount3)");
  }
  // The kernel clamps it to the max_readahead of the INIT reply (OpInit), which comes later.
  RaiseKernelReadahead(real_mountpoint, kKernelReadahead / 1024);
  if (ready.active()) {
    // Detach from the terminal before the parent exits: stdio to the log (or /dev/null).
    const char* log = a.log_file.empty() ? "/dev/null" : a.log_file.c_str();
    int fd = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null_in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      (void)dup2(fd, STDOUT_FILENO);
      (void)dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    if (null_in >= 0) {
      (void)dup2(null_in, STDIN_FILENO);
      ::close(null_in);
    }
    (void)setsid();
    if (chdir("/") != 0) {
      // Harmless: the daemon only uses absolute paths.
    }
    ready.Send("ok");
  }
  fuse_loop_config cfg;
  std::memset(&cfg, 0, sizeof(cfg));
  cfg.clone_fd = 0;
  cfg.max_idle_threads = 16;
  const int rc = fuse_session_loop_mt(se.get(), &cfg);
  fuse_session_unmount(se.get());
  fuse_remove_signal_handlers(se.get());
  se.reset();
  ifs.reset();
  Status cs = volume->Close();
  if (!cs.ok()) {
    PrintError("mount", "closing the volume: " + cs.ToString());
    return kExitError;
  }
  // A signal (SIGTERM/SIGINT/SIGHUP) is a clean stop; a negative value is a FUSE failure.
  if (rc < 0) {
    PrintError("mount", std::string("FUSE session failed: ") + std::strerror(-rc));
    return kExitError;
  }
  return kExitOk;
}

int RunMount(const MountArgs& a, const jfs_volume_options_t& c) {
  struct stat st;
  if (::stat(a.mountpoint.c_str(), &st) != 0) {
    PrintErrno("mount", a.mountpoint, errno);
    return kExitError;
  }
  if (!S_ISDIR(st.st_mode)) {
    PrintErrno("mount", a.mountpoint, ENOTDIR);
    return kExitError;
  }
  if (!a.background) {
    ReadyPipe none;
    return ServeMount(a, c, none);
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    PrintErrno("mount", "pipe", errno);
    return kExitError;
  }
  // Forked before the volume starts any thread; the child reports readiness through the pipe.
  const pid_t pid = fork();
  if (pid < 0) {
    PrintErrno("mount", "fork", errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return kExitError;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ReadyPipe ready(fds[1]);
    const int rc = ServeMount(a, c, ready);
    _exit(rc);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  while (true) {
    ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  if (msg == "ok") return kExitOk;
  int status = 0;
  (void)waitpid(pid, &status, 0);
  if (msg.rfind("error: ", 0) == 0) {
    PrintError("mount", msg.substr(7));
  } else {
    PrintError("mount", "the mount process exited before the mount was ready");
  }
  return kExitError;
}

// ---- umount -------------------------------------------------------------------------------------

int RunProgram(const std::vector<std::string>& args) {
  const pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& x : args) argv.push_back(const_cast<char*>(x.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool IsMounted(const std::string& mountpoint) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen("/proc/self/mounts", "re"), &std::fclose);
  if (!f) return false;
  char line[8192];
  char real[PATH_MAX];
  std::string want = realpath(mountpoint.c_str(), real) != nullptr ? real : mountpoint;
  while (std::fgets(line, sizeof(line), f.get()) != nullptr) {
    char* sp = std::strchr(line, ' ');
    if (sp == nullptr) continue;
    char* mp = sp + 1;
    char* end = std::strchr(mp, ' ');
    if (end == nullptr) continue;
    if (std::string(mp, end) == want || std::string(mp, end) == mountpoint) return true;
  }
  return false;
}

// umount: as root the umount2 syscall (MNT_FORCE aborts a FUSE connection, MNT_DETACH detaches a
// busy mount); otherwise fusermount3 -u (-z with --force).
int RunUmount(const std::string& mountpoint, bool force) {
  if (!IsMounted(mountpoint)) {
    struct stat st;
    if (::stat(mountpoint.c_str(), &st) != 0 && errno != ENOTCONN) {
      PrintErrno("umount", mountpoint, errno);
    } else {
      PrintError("umount", mountpoint + ": not mounted");
    }
    return kExitError;
  }
  if (geteuid() == 0) {
    if (umount2(mountpoint.c_str(), 0) == 0) return kExitOk;
    const int err = errno;
    if (!force) {
      PrintErrno("umount", mountpoint, err, err == EBUSY ? "in use; --force detaches it" : "");
      return kExitError;
    }
    (void)umount2(mountpoint.c_str(), MNT_FORCE);  // aborts a dead or hung FUSE connection
    if (!IsMounted(mountpoint)) return kExitOk;
    if (umount2(mountpoint.c_str(), MNT_DETACH) == 0) return kExitOk;
    PrintErrno("umount", mountpoint, errno);
    return kExitError;
  }
  std::vector<std::string> args = {"fusermount3", "-u"};
  if (force) args.push_back("-z");
  args.push_back(mountpoint);
  const int rc = RunProgram(args);
  if (rc == 0) return kExitOk;
  PrintError("umount", mountpoint + ": fusermount3 failed" +
                           (rc == 127 ? std::string(" (not installed)") : std::string()));
  return kExitError;
}

}  // namespace

void AddMountCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto a = std::make_shared<MountArgs>();
  CLI::App* c = app.add_subcommand("mount", "mount a volume on a directory (FUSE)");
  c->add_option("META-URL", a->meta_url, "metadata engine, e.g. sqlite3:///var/lib/jfs/meta.db")
      ->required();
  c->add_option("MOUNTPOINT", a->mountpoint, "directory to mount on")->required();
  c->add_flag("-d,--background", a->background, "run in the background once the mount is ready");
  c->add_option("-o", a->fuse_opts, "FUSE options, comma separated (allow_other, ...)")
      ->delimiter(',');
  c->add_flag("--read-only", a->read_only, "mount read-only");
  c->add_option("--attr-cache", a->attr_cache, "attribute cache timeout in seconds (default 1)")
      ->check(CLI::Range(0.0, 86400.0));
  c->add_option("--entry-cache", a->entry_cache, "file entry cache timeout in seconds (default 1)")
      ->check(CLI::Range(0.0, 86400.0));
  c->add_option("--dir-entry-cache", a->dir_entry_cache,
                "directory entry cache timeout in seconds (default 1)")
      ->check(CLI::Range(0.0, 86400.0));
  c->add_flag("--enable-xattr", a->enable_xattr, "support extended attributes");
  c->add_flag("--writeback-cache", a->writeback_cache, "use the FUSE writeback cache");
  c->add_flag("--non-default-permission", a->non_default_permission,
              "no kernel permission checks (the volume still checks)");
  c->add_option("--backup-meta", a->backup_meta,
                "interval of automatic metadata backups into the object store: seconds or with "
                "s/m/h/d; 0 disables (default 1h)");
  c->add_flag("--backup-skip-trash", a->backup_skip_trash, "leave the trash out of the backups");
  c->add_option("--log", a->log_file, "background mode: append messages to this file");
  c->callback([a, action, g = &global] {
    *action = [a, g] {
      jfs_volume_options_t vopts;
      jfs_volume_options_init(&vopts);
      if (int rc = ApplyVolumeOptions("mount", *g, &vopts); rc != kExitOk) return rc;
      MountArgs args = *a;
      // "-o writeback_cache" as JuiceFS spells it is our flag, not a libfuse session option.
      auto& o = args.fuse_opts;
      auto it = std::find(o.begin(), o.end(), "writeback_cache");
      if (it != o.end()) {
        args.writeback_cache = true;
        o.erase(it);
      }
      return RunMount(args, vopts);
    };
  });

  auto mp = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  CLI::App* u = app.add_subcommand("umount", "unmount a mounted volume");
  u->add_option("MOUNTPOINT", *mp, "mount point")->required();
  u->add_flag("-f,--force", *force, "force: abort a dead or hung mount, detach a busy one");
  u->callback([mp, force, action] { *action = [mp, force] { return RunUmount(*mp, *force); }; });
}

}  // namespace jfs::tools
