#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "lib/internal.h"

namespace jfs::lib {

namespace {
Status BadHandle() {
  return Status::Error(EBADF, "file is closed");
}
}  // namespace

FileImpl::FileImpl(std::shared_ptr<VolumeCore> core, const Context& ctx, Ino ino, int flags,
                   bool is_dir, std::shared_ptr<InodeState> st)
    : core_(std::move(core)),
      ctx_(ctx),
      ino_(ino),
      flags_(flags),
      is_dir_(is_dir),
      st_(std::move(st)) {}

FileImpl::~FileImpl() {
  if (!closed_) (void)Close();
}

bool FileImpl::readable() const {
  const int acc = flags_ & O_ACCMODE;
  return acc == O_RDONLY || acc == O_RDWR;
}

bool FileImpl::writable() const {
  const int acc = flags_ & O_ACCMODE;
  return acc == O_WRONLY || acc == O_RDWR;
}

Status FileImpl::CheckOpen() const {
  if (closed_ || core_->closed()) return BadHandle();
  return Status::OK();
}

Status FileImpl::WithData(
    bool need_read, bool need_write,
    const std::function<Status(VolumeCore&, InodeState&, const Context&)>& fn) {
  std::shared_lock lk(mu_);
  JFS_RETURN_IF_ERROR(CheckOpen());
  // Access mode first, as Linux's fallocate(2) does (a directory is never open for writing).
  if (need_read && !readable()) return Status::Error(EBADF, "file not open for reading");
  if (need_write && !writable()) return Status::Error(EBADF, "file not open for writing");
  if (is_dir_ || !st_) return Status::Error(EISDIR, "is a directory");
  return fn(*core_, *st_, ctx_);
}

Status FileImpl::ReadAt(char* buf, uint64_t size, uint64_t offset, uint64_t* n) {
  *n = 0;
  JFS_RETURN_IF_ERROR(CheckOpen());
  if (!readable()) return Status::Error(EBADF, "file not open for reading");
  if (is_dir_) return Status::Error(EISDIR, "cannot read a directory");
  if (size > 0 && buf == nullptr) return Status::Invalid("null buffer");
  return core_->Read(*st_, buf, size, offset, n);
}

Status FileImpl::WriteAt(const char* buf, uint64_t size, uint64_t offset, bool append, uint64_t* n,
                         uint64_t* at) {
  *n = 0;
  JFS_RETURN_IF_ERROR(CheckOpen());
  if (!writable() || is_dir_) return Status::Error(EBADF, "file not open for writing");
  if (size > 0 && buf == nullptr) return Status::Invalid("null buffer");
  {
    std::lock_guard lk(st_->mu);
    if (append) offset = st_->LocalLength();
    JFS_RETURN_IF_ERROR(core_->WriteLocked(*st_, buf, size, offset));
  }
  *n = size;
  *at = offset;
  return Status::OK();
}

Status FileImpl::Read(char* buf, uint64_t size, uint64_t* n) {
  std::unique_lock lk(mu_);
  JFS_RETURN_IF_ERROR(ReadAt(buf, size, pos_, n));
  pos_ += *n;
  return Status::OK();
}

Status FileImpl::Pread(char* buf, uint64_t size, uint64_t offset, uint64_t* n) {
  std::shared_lock lk(mu_);
  return ReadAt(buf, size, offset, n);
}

Status FileImpl::Write(const char* buf, uint64_t size, uint64_t* n) {
  {
    std::unique_lock lk(mu_);
    uint64_t at = 0;
    JFS_RETURN_IF_ERROR(WriteAt(buf, size, pos_, (flags_ & O_APPEND) != 0, n, &at));
    // As on Linux, an empty write leaves the position alone, even with O_APPEND.
    if (size > 0) pos_ = at + *n;
  }
  core_->RelieveBufferPressure();
  return Status::OK();
}

Status FileImpl::Pwrite(const char* buf, uint64_t size, uint64_t offset, uint64_t* n) {
  {
    std::shared_lock lk(mu_);
    uint64_t at = 0;
    JFS_RETURN_IF_ERROR(WriteAt(buf, size, offset, false, n, &at));
  }
  core_->RelieveBufferPressure();
  return Status::OK();
}

Status FileImpl::Lseek(int64_t offset, int whence, uint64_t* pos) {
  std::unique_lock lk(mu_);
  JFS_RETURN_IF_ERROR(CheckOpen());
  uint64_t length = 0;
  if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE) {
    if (st_) {
      std::lock_guard ilk(st_->mu);
      length = st_->LocalLength();
    } else {
      Attr attr;
      JFS_RETURN_IF_ERROR(core_->meta().GetAttr(ctx_, ino_, &attr));
      length = attr.length;
    }
  }
  uint64_t base = 0;
  switch (whence) {
    case SEEK_SET:
      base = 0;
      break;
    case SEEK_CUR:
      base = pos_;
      break;
    case SEEK_END:
      base = length;
      break;
    case SEEK_DATA:
    case SEEK_HOLE:
      // Without hole tracking the whole file is data followed by the implicit hole at EOF.
      if (offset < 0 || static_cast<uint64_t>(offset) >= length) {
        return Status::Error(ENXIO, "offset beyond end of file");
      }
      pos_ = whence == SEEK_DATA ? static_cast<uint64_t>(offset) : length;
      if (pos) *pos = pos_;
      return Status::OK();
    default:
      return Status::Invalid("bad whence " + std::to_string(whence));
  }
  if (base > static_cast<uint64_t>(INT64_MAX) ||
      (offset > 0 && static_cast<int64_t>(base) > INT64_MAX - offset)) {
    return Status::Error(EOVERFLOW, "resulting offset too large");
  }
  const int64_t result = static_cast<int64_t>(base) + offset;
  if (result < 0) return Status::Invalid("resulting offset is negative");
  pos_ = static_cast<uint64_t>(result);
  if (pos) *pos = pos_;
  return Status::OK();
}

Status FileImpl::Ftruncate(uint64_t length) {
  std::shared_lock lk(mu_);
  JFS_RETURN_IF_ERROR(CheckOpen());
  // ftruncate(2) on Linux: EINVAL for anything but a regular file open for writing.
  if (is_dir_) return Status::Invalid("cannot truncate a directory");
  if (!writable()) return Status::Invalid("file not open for writing");
  if (core_->read_only()) return Status::Error(EROFS, "read-only volume");
  // The handle was opened for writing, which already checked W permission (as ftruncate(2)).
  return core_->Truncate(ctx_, *st_, length, /*skip_perm_check=*/true, nullptr);
}

Status FileImpl::FlushData() {
  if (!st_) return Status::OK();
  std::lock_guard lk(st_->mu);
  Status s = core_->CommitAllLocked(*st_);
  Status sticky = std::move(st_->error);
  st_->error = Status::OK();
  return s.ok() ? sticky : s;
}

Status FileImpl::Flush() {
  std::shared_lock lk(mu_);
  JFS_RETURN_IF_ERROR(CheckOpen());
  return FlushData();
}

Status FileImpl::Fsync() {
  // Flush commits the pending slices (their blocks stored, meta recording them); the blocks of
  // every slice committed for this inode since its last fsync are then made durable.
  JFS_RETURN_IF_ERROR(Flush());
  return core_->SyncInode(ino_);
}

Status FileImpl::Fstat(Attr* attr) {
  std::shared_lock lk(mu_);
  JFS_RETURN_IF_ERROR(CheckOpen());
  if (!st_) return core_->meta().GetAttr(ctx_, ino_, attr);
  std::lock_guard ilk(st_->mu);
  JFS_RETURN_IF_ERROR(core_->meta().GetAttr(ctx_, ino_, attr));
  if (attr->length != st_->length) {
    // Another client changed the length: our cached slice lists are stale too.
    st_->length = attr->length;
    st_->slices.clear();
  }
  attr->length = std::max(attr->length, st_->pending_end);
  return Status::OK();
}

Status FileImpl::Close() {
  std::unique_lock lk(mu_);
  if (closed_) return BadHandle();
  closed_ = true;
  Status s = FlushData();
  Status c = core_->meta().Close(ctx_, ino_);
  if (s.ok() && !c.ok()) s = std::move(c);
  if (!core_->read_only()) {
    // close(2) semantics: this handle's flock and OFD locks, and the process's POSIX locks on
    // the file, go away. Failures are reported but do not keep the handle open.
    const meta::PosixLock all{meta::kLockUnlock, 0, meta::kLockEndMax, 0};
    meta::Meta& m = core_->meta();
    const uint64_t mine = VolumeCore::HandleLockOwner(registry_id_);
    Status u;
    if (flocked_.load()) u = m.Flock(ctx_, ino_, mine, meta::kLockUnlock, {});
    if (u.ok() && ofd_locked_.load()) u = m.Setlk(ctx_, ino_, mine, all, {});
    if (u.ok() && core_->TakeProcessLock(ino_)) {
      u = m.Setlk(ctx_, ino_, core_->process_lock_owner(), all, {});
    }
    if (s.ok() && !u.ok()) s = u.WithContext("releasing locks");
  }
  if (st_) core_->ReleaseInode(st_);
  core_->UnregisterFile(registry_id_);
  return s;
}

// ---- locks --------------------------------------------------------------------------------------

meta::LockWait VolumeCore::LockWaitFor(const meta::LockWait& in) const {
  meta::LockWait w;
  w.block = in.block;
  w.timeout_ms = in.timeout_ms >= 0 ? in.timeout_ms : opts_.lock_timeout_ms;
  if (opts_.lock_timeout_ms >= 0 && w.timeout_ms > opts_.lock_timeout_ms) {
    w.timeout_ms = opts_.lock_timeout_ms;
  }
  std::function<bool()> outer = in.interrupted;
  w.interrupted = [this, outer] { return closed() || (outer && outer()); };
  return w;
}

void VolumeCore::NoteProcessLock(Ino ino) {
  std::lock_guard l(lock_mu_);
  process_locked_.insert(ino);
}

bool VolumeCore::TakeProcessLock(Ino ino) {
  std::lock_guard l(lock_mu_);
  return process_locked_.erase(ino) > 0;
}

namespace {
Status NoLocksReadOnly() {
  return Status::Error(EROFS, "locks need a session: the volume is opened read-only");
}
}  // namespace

Status FileImpl::Flock(uint32_t type, const meta::LockWait& wait) {
  {
    std::shared_lock lk(mu_);
    JFS_RETURN_IF_ERROR(CheckOpen());
  }
  if (core_->read_only()) return NoLocksReadOnly();
  if (type != meta::kLockUnlock) flocked_ = true;  // before: a racing Close must release it
  return core_->meta().Flock(ctx_, ino_, VolumeCore::HandleLockOwner(registry_id_), type,
                             core_->LockWaitFor(wait));
}

Status FileImpl::Getlk(bool ofd, meta::PosixLock* lk) {
  {
    std::shared_lock l(mu_);
    JFS_RETURN_IF_ERROR(CheckOpen());
  }
  if (core_->read_only()) return NoLocksReadOnly();
  const uint64_t owner =
      ofd ? VolumeCore::HandleLockOwner(registry_id_) : core_->process_lock_owner();
  return core_->meta().Getlk(ctx_, ino_, owner, lk);
}

Status FileImpl::Setlk(bool ofd, const meta::PosixLock& lk, const meta::LockWait& wait) {
  {
    std::shared_lock l(mu_);
    JFS_RETURN_IF_ERROR(CheckOpen());
  }
  if (core_->read_only()) return NoLocksReadOnly();
  // fcntl(2): a read lock needs the file open for reading, a write lock for writing.
  if (lk.type == meta::kLockRead && !readable()) {
    return Status::Error(EBADF, "a read lock needs a file opened for reading");
  }
  if (lk.type == meta::kLockWrite && !writable()) {
    return Status::Error(EBADF, "a write lock needs a file opened for writing");
  }
  uint64_t owner;
  if (ofd) {
    owner = VolumeCore::HandleLockOwner(registry_id_);
    if (lk.type != meta::kLockUnlock) ofd_locked_ = true;
  } else {
    owner = core_->process_lock_owner();
    if (lk.type != meta::kLockUnlock) core_->NoteProcessLock(ino_);
  }
  return core_->meta().Setlk(ctx_, ino_, owner, lk, core_->LockWaitFor(wait));
}

// ---- directory streams ------------------------------------------------------------------------

DirStreamImpl::DirStreamImpl(std::shared_ptr<VolumeCore> core, const Context& ctx, Ino ino)
    : core_(std::move(core)), ctx_(ctx), ino_(ino) {}

Status DirStreamImpl::Next(DirEntry* entry, bool* end) {
  std::lock_guard lk(mu_);
  *end = false;
  if (closed_ || core_->closed()) return Status::Error(EBADF, "directory stream is closed");
  while (true) {
    while (next_ < page_.size()) {
      meta::Entry& e = page_[next_++];
      if (e.name == "." || e.name == "..") continue;
      entry->name = std::move(e.name);
      entry->inode = e.inode;
      entry->attr = e.attr;
      if (e.attr.typ == meta::kTypeFile) {
        // Include what this Volume has buffered for a file being written.
        if (auto st = core_->FindInode(e.inode)) {
          std::lock_guard ilk(st->mu);
          entry->attr.length = std::max(entry->attr.length, st->pending_end);
        }
      }
      return Status::OK();
    }
    if (started_ && cursor_.empty()) {
      page_.clear();
      page_.shrink_to_fit();
      *end = true;
      return Status::OK();
    }
    page_.clear();
    next_ = 0;
    Status st = core_->meta().Readdir(ctx_, ino_, true, &cursor_, kPageSize, &page_);
    if (st.IsNotFound()) {
      // The directory was removed since it was opened: like getdents(2) on Linux, the stream
      // ends (a removed directory has no entries left).
      page_.clear();
      cursor_.clear();
      started_ = true;
      continue;
    }
    JFS_RETURN_IF_ERROR(st);
    started_ = true;
  }
}

Status DirStreamImpl::Close() {
  std::lock_guard lk(mu_);
  if (closed_) return Status::Error(EBADF, "directory stream is closed");
  closed_ = true;
  page_.clear();
  page_.shrink_to_fit();
  return Status::OK();
}

}  // namespace jfs::lib

namespace jfs::lib {

// ---- handles and mknod types, shared by the path API and InodeFs ------------------------------

Status MakeHandle(const std::shared_ptr<VolumeCore>& core, const Context& ctx, Ino ino, int flags,
                  bool created, const meta::Attr& attr, std::shared_ptr<File>* out,
                  meta::Attr* out_attr) {
  const bool is_dir = attr.typ == meta::kTypeDirectory;
  const bool wants_write = (flags & O_ACCMODE) != O_RDONLY;
  std::shared_ptr<InodeState> st;
  if (!is_dir) st = core->AcquireInode(ino, attr);
  meta::Attr result = attr;
  if (!created && !is_dir && wants_write && (flags & O_TRUNC)) {
    uint64_t len = 0;
    {
      std::lock_guard lk(st->mu);
      len = st->LocalLength();
    }
    if (len > 0) {
      // meta Open checked W permission for O_TRUNC already.
      Status s = core->Truncate(ctx, *st, 0, /*skip_perm_check=*/true, &result);
      if (!s.ok()) {
        core->ReleaseInode(st);
        (void)core->meta().Close(ctx, ino);
        return s;
      }
    }
  }
  if (st) {
    std::lock_guard lk(st->mu);
    result.length = std::max(result.length, st->pending_end);
  }
  auto f = std::make_shared<FileImpl>(core, ctx, ino, flags, is_dir, std::move(st));
  uint64_t id = 0;
  core->RegisterFile(&id, f);
  f->set_registry_id(id);
  *out = std::move(f);
  if (out_attr) *out_attr = result;
  return Status::OK();
}

Status VolumeStatFs(VolumeCore& core, const Context& ctx, StatVfs* out) {
  meta::StatFS s;
  JFS_RETURN_IF_ERROR(core.meta().StatFS(ctx, &s));
  *out = StatVfs{};
  out->total_bytes = s.total_space;
  out->free_bytes = s.avail_space;
  out->total_inodes = s.used_inodes + s.avail_inodes;
  out->free_inodes = s.avail_inodes;
  out->max_name = meta::kMaxName;
  return Status::OK();
}

Status MknodType(const Context& ctx, uint32_t mode, uint8_t* type) {
  switch (mode & S_IFMT) {
    case 0:
    case S_IFREG:
      *type = meta::kTypeFile;
      return Status::OK();
    case S_IFIFO:
      *type = meta::kTypeFIFO;
      return Status::OK();
    case S_IFSOCK:
      *type = meta::kTypeSocket;
      return Status::OK();
    case S_IFCHR:
    case S_IFBLK:
      if (!ctx.IsRoot()) return Status::Error(EPERM, "only root may create device nodes");
      *type = (mode & S_IFMT) == S_IFCHR ? meta::kTypeCharDev : meta::kTypeBlockDev;
      return Status::OK();
    default:
      return Status::Invalid("mknod creates regular files, FIFOs, sockets and devices only");
  }
}

}  // namespace jfs::lib
