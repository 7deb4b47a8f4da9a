// InodeFs over a Volume's core: each call is one Meta call (plus the open-file table for data).
#include "lib/inode_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "lib/internal.h"
#include "lib/slice_ops.h"

namespace jfs::lib {

namespace {

Status ReadOnlyError() {
  return Status::Error(EROFS, "volume is opened read-only");
}

class InodeFsImpl : public InodeFs {
 public:
  explicit InodeFsImpl(std::shared_ptr<VolumeCore> core) : core_(std::move(core)) {}

  const meta::Format& format() const override { return core_->format(); }
  bool read_only() const override { return core_->read_only(); }

  Status Lookup(const Context& ctx, Ino parent, std::string_view name, Ino* ino,
                Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    Attr a;
    Ino i = 0;
    JFS_RETURN_IF_ERROR(core_->meta().Lookup(ctx, parent, name, &i, &a));
    AddLocalLength(i, &a);
    if (ino) *ino = i;
    if (attr) *attr = a;
    return Status::OK();
  }

  Status GetAttr(const Context& ctx, Ino ino, Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    JFS_RETURN_IF_ERROR(core_->meta().GetAttr(ctx, ino, attr));
    AddLocalLength(ino, attr);
    return Status::OK();
  }

  Status Access(const Context& ctx, Ino ino, int mask) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    if (mask & ~(R_OK | W_OK | X_OK)) return Status::Invalid("bad access mask");
    if ((mask & W_OK) && core_->read_only()) return ReadOnlyError();
    return core_->meta().Access(ctx, ino, mask, nullptr);
  }

  Status SetAttr(const Context& ctx, Ino ino, uint32_t mask, const Attr& in, File* fh,
                 Attr* out) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    if (mask & meta::kSetSize) {
      if (fh != nullptr) {
        JFS_RETURN_IF_ERROR(fh->Ftruncate(in.length));
      } else {
        Attr cur;
        JFS_RETURN_IF_ERROR(core_->meta().GetAttr(ctx, ino, &cur));
        if (cur.typ == meta::kTypeDirectory) return Status::Error(EISDIR, "is a directory");
        if (cur.typ != meta::kTypeFile) return Status::Invalid("not a regular file");
        if (auto st = core_->FindInode(ino)) {
          JFS_RETURN_IF_ERROR(core_->Truncate(ctx, *st, in.length, false, nullptr));
        } else {
          JFS_RETURN_IF_ERROR(core_->meta().Truncate(ctx, ino, in.length, false, nullptr));
        }
      }
    }
    const uint32_t rest = mask & ~static_cast<uint32_t>(meta::kSetSize);
    if (rest != 0) {
      JFS_RETURN_IF_ERROR(core_->meta().SetAttr(ctx, ino, rest, in, nullptr));
    }
    if (out != nullptr) return GetAttr(ctx, ino, out);
    return Status::OK();
  }

  Status Mknod(const Context& ctx, Ino parent, std::string_view name, uint32_t mode,
               uint16_t cumask, uint32_t rdev, Ino* ino, Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    uint8_t type = 0;
    JFS_RETURN_IF_ERROR(MknodType(ctx, mode, &type));
    return core_->meta().Mknod(ctx, parent, name, type, mode & 07777, cumask, rdev, ino, attr);
  }

  Status Mkdir(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
               uint16_t cumask, Ino* ino, Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    return core_->meta().Mkdir(ctx, parent, name, mode & 07777, cumask, ino, attr);
  }

  Status Unlink(const Context& ctx, Ino parent, std::string_view name) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    return core_->meta().Unlink(ctx, parent, name);
  }

  Status Rmdir(const Context& ctx, Ino parent, std::string_view name) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    return core_->meta().Rmdir(ctx, parent, name);
  }

  Status Rename(const Context& ctx, Ino parent, std::string_view name, Ino new_parent,
                std::string_view new_name, uint32_t flags) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    return core_->meta().Rename(ctx, parent, name, new_parent, new_name, flags, nullptr, nullptr);
  }

  Status Link(const Context& ctx, Ino ino, Ino new_parent, std::string_view new_name,
              Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    JFS_RETURN_IF_ERROR(core_->meta().Link(ctx, ino, new_parent, new_name, attr));
    if (attr) AddLocalLength(ino, attr);
    return Status::OK();
  }

  Status Symlink(const Context& ctx, Ino parent, std::string_view name, std::string_view target,
                 Ino* ino, Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    if (target.empty()) return Status::NotFound("empty symlink target");
    if (target.size() > meta::kMaxSymlink) {
      return Status::Error(ENAMETOOLONG, "symlink target longer than 4096 bytes");
    }
    return core_->meta().Symlink(ctx, parent, name, target, ino, attr);
  }

  Status Readlink(const Context& ctx, Ino ino, std::string* target) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    return core_->meta().ReadLink(ctx, ino, target);
  }

  Status Open(const Context& ctx, Ino ino, int flags, std::shared_ptr<File>* out,
              Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    flags &= ~(O_CREAT | O_EXCL);
    const int acc = flags & O_ACCMODE;
    if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR) {
      return Status::Invalid("bad access mode in open flags");
    }
    const bool wants_write = acc != O_RDONLY;
    if (core_->read_only() && (wants_write || (flags & O_TRUNC))) return ReadOnlyError();
    Attr a;
    JFS_RETURN_IF_ERROR(core_->meta().GetAttr(ctx, ino, &a));
    if (a.typ == meta::kTypeDirectory) {
      if (wants_write || (flags & O_TRUNC)) return Status::Error(EISDIR, "is a directory");
    } else if (a.typ == meta::kTypeSocket) {
      return Status::Error(ENXIO, "cannot open a socket");
    } else if (a.typ != meta::kTypeFile) {
      return Status::NotSupported("only regular files and directories can be opened");
    }
    JFS_RETURN_IF_ERROR(core_->meta().Open(ctx, ino, flags, &a));
    return MakeHandle(core_, ctx, ino, flags, /*created=*/false, a, out, attr);
  }

  Status Create(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                uint16_t cumask, int flags, std::shared_ptr<File>* out, Ino* ino,
                Attr* attr) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    flags &= ~(O_CREAT | O_EXCL);
    const int acc = flags & O_ACCMODE;
    if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR) {
      return Status::Invalid("bad access mode in open flags");
    }
    Ino i = 0;
    Attr a;
    JFS_RETURN_IF_ERROR(
        core_->meta().Create(ctx, parent, name, mode & 07777, cumask, flags, &i, &a));
    if (ino) *ino = i;
    return MakeHandle(core_, ctx, i, flags, /*created=*/true, a, out, attr);
  }

  Status Readdir(const Context& ctx, Ino dir, bool plus, std::string* cursor, size_t limit,
                 std::vector<DirEntry>* out) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    out->clear();
    std::vector<meta::Entry> page;
    JFS_RETURN_IF_ERROR(core_->meta().Readdir(ctx, dir, plus, cursor, limit, &page));
    out->reserve(page.size());
    for (auto& e : page) {
      if (e.name == "." || e.name == "..") continue;
      DirEntry d;
      d.name = std::move(e.name);
      d.inode = e.inode;
      d.attr = e.attr;
      if (plus) AddLocalLength(d.inode, &d.attr);
      out->push_back(std::move(d));
    }
    return Status::OK();
  }

  Status GetXattr(const Context& ctx, Ino ino, std::string_view name, std::string* value) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    return core_->meta().GetXattr(ctx, ino, name, value);
  }
  Status SetXattr(const Context& ctx, Ino ino, std::string_view name, std::string_view value,
                  int flags) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    return core_->meta().SetXattr(ctx, ino, name, value, flags);
  }
  Status ListXattr(const Context& ctx, Ino ino, std::vector<std::string>* names) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    return core_->meta().ListXattr(ctx, ino, names);
  }
  Status RemoveXattr(const Context& ctx, Ino ino, std::string_view name) override {
    JFS_RETURN_IF_ERROR(CheckWritable());
    return core_->meta().RemoveXattr(ctx, ino, name);
  }

  Status Flock(const Context& ctx, Ino ino, uint64_t owner, uint32_t type,
               const meta::LockWait& wait) override {
    JFS_RETURN_IF_ERROR(CheckLocks());
    return core_->meta().Flock(ctx, ino, owner, type, core_->LockWaitFor(wait));
  }
  Status Getlk(const Context& ctx, Ino ino, uint64_t owner, meta::PosixLock* lk) override {
    JFS_RETURN_IF_ERROR(CheckLocks());
    return core_->meta().Getlk(ctx, ino, owner, lk);
  }
  Status Setlk(const Context& ctx, Ino ino, uint64_t owner, const meta::PosixLock& lk,
               const meta::LockWait& wait) override {
    JFS_RETURN_IF_ERROR(CheckLocks());
    return core_->meta().Setlk(ctx, ino, owner, lk, core_->LockWaitFor(wait));
  }
  Status CheckLocks() const {
    JFS_RETURN_IF_ERROR(CheckUsable());
    if (core_->read_only()) {
      return Status::Error(EROFS, "locks need a session: the volume is opened read-only");
    }
    return Status::OK();
  }

  Status StatFs(const Context& ctx, StatVfs* out) override {
    JFS_RETURN_IF_ERROR(CheckUsable());
    return VolumeStatFs(*core_, ctx, out);
  }

  Status Fallocate(const Context&, File* fh, int mode, uint64_t off, uint64_t len) override {
    if (fh == nullptr) return Status::Error(EBADF, "no file handle");
    return lib::Fallocate(*fh, mode, off, len);
  }

  Status CopyFileRange(const Context&, File* in, uint64_t off_in, File* out, uint64_t off_out,
                       uint64_t len, uint32_t flags, uint64_t* copied) override {
    if (in == nullptr || out == nullptr) return Status::Error(EBADF, "no file handle");
    return lib::CopyFileRange(*in, off_in, *out, off_out, len, flags, copied);
  }

 private:
  Status CheckUsable() const {
    if (core_->closed()) return Status::Error(EBADF, "volume is closed");
    return Status::OK();
  }
  Status CheckWritable() const {
    JFS_RETURN_IF_ERROR(CheckUsable());
    if (core_->read_only()) return ReadOnlyError();
    return Status::OK();
  }

  void AddLocalLength(Ino ino, Attr* attr) {
    if (attr->typ != meta::kTypeFile) return;
    if (auto st = core_->FindInode(ino)) {
      std::lock_guard lk(st->mu);
      attr->length = std::max(attr->length, st->pending_end);
    }
  }

  const std::shared_ptr<VolumeCore> core_;
};

}  // namespace

Status NewInodeFs(Volume* volume, std::unique_ptr<InodeFs>* out) {
  if (volume == nullptr) return Status::Invalid("no volume");
  auto core = CoreOf(*volume);
  if (core->closed()) return Status::Error(EBADF, "volume is closed");
  *out = std::make_unique<InodeFsImpl>(std::move(core));
  return Status::OK();
}

}  // namespace jfs::lib
