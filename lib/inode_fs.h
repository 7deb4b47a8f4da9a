// InodeFs: the inode-level entry into an open Volume, for callers that already hold inode numbers
// (the FUSE low-level daemon of `jfs mount`): every call goes straight to the Meta layer with the
// given inode, never through a path walk.
//
// It shares the Volume's core: open files are the same FileImpl handles Volume::OpenFile returns,
// so reads, writes, close-to-open consistency, buffer limits and sustained (open but unlinked)
// inodes behave exactly as through the path API and the C ABI. The Volume must stay open while the
// InodeFs is used; once the Volume is closed every call answers EBADF.
//
// Conventions: errors are the POSIX errno a kernel file system returns (see meta/meta.h); names
// are single components (no '/'); `ctx` carries the caller's credentials and is used for every
// permission check. Creation calls take `cumask`, the umask still to apply (0 when the caller,
// e.g. the kernel, already applied it). Attributes returned for regular files include data this
// Volume has buffered but not yet committed (the length a local reader sees).
//
// Thread-safety: every method may be called from many threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/volume.h"

namespace jfs::lib {

class InodeFs {
 public:
  virtual ~InodeFs() = default;

  virtual const meta::Format& format() const = 0;
  virtual bool read_only() const = 0;

  virtual Status Lookup(const Context& ctx, Ino parent, std::string_view name, Ino* ino,
                        Attr* attr) = 0;
  virtual Status GetAttr(const Context& ctx, Ino ino, Attr* attr) = 0;
  // R_OK/W_OK/X_OK (0 = existence). W_OK on a read-only volume → EROFS.
  virtual Status Access(const Context& ctx, Ino ino, int mask) = 0;
  // Applies the fields selected by `mask` (meta::SetAttrMask). meta::kSetSize truncates to
  // in.length: through `fh` when given (a handle open for writing: no permission check, as
  // ftruncate(2)), otherwise with a W check (truncate(2)). *out = the attributes afterwards.
  virtual Status SetAttr(const Context& ctx, Ino ino, uint32_t mask, const Attr& in, File* fh,
                         Attr* out) = 0;

  // mknod(2): `mode` carries the S_IFMT type bits (0 or S_IFREG = regular file, S_IFIFO,
  // S_IFSOCK, S_IFCHR/S_IFBLK for root only). Existing name → EEXIST.
  virtual Status Mknod(const Context& ctx, Ino parent, std::string_view name, uint32_t mode,
                       uint16_t cumask, uint32_t rdev, Ino* ino, Attr* attr) = 0;
  virtual Status Mkdir(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                       uint16_t cumask, Ino* ino, Attr* attr) = 0;
  virtual Status Unlink(const Context& ctx, Ino parent, std::string_view name) = 0;
  virtual Status Rmdir(const Context& ctx, Ino parent, std::string_view name) = 0;
  // renameat2(2); flags from meta::RenameFlag (RENAME_NOREPLACE / RENAME_EXCHANGE).
  virtual Status Rename(const Context& ctx, Ino parent, std::string_view name, Ino new_parent,
                        std::string_view new_name, uint32_t flags) = 0;
  virtual Status Link(const Context& ctx, Ino ino, Ino new_parent, std::string_view new_name,
                      Attr* attr) = 0;
  virtual Status Symlink(const Context& ctx, Ino parent, std::string_view name,
                         std::string_view target, Ino* ino, Attr* attr) = 0;
  virtual Status Readlink(const Context& ctx, Ino ino, std::string* target) = 0;

  // open(2) of an existing inode: `flags` are the access mode plus O_TRUNC / O_APPEND (O_CREAT and
  // O_EXCL were resolved by the caller and are ignored). Checks permissions, counts the open (so
  // an unlinked file lives until the handle's Close) and truncates for O_TRUNC. Directories open
  // read-only only (EISDIR otherwise); sockets → ENXIO; FIFOs and devices → ENOTSUP (the kernel
  // serves those itself). *attr = the attributes after the open.
  virtual Status Open(const Context& ctx, Ino ino, int flags, std::shared_ptr<File>* out,
                      Attr* attr) = 0;
  // Creates a regular file and opens it (O_EXCL semantics: an existing name → EEXIST).
  virtual Status Create(const Context& ctx, Ino parent, std::string_view name, uint16_t mode,
                        uint16_t cumask, int flags, std::shared_ptr<File>* out, Ino* ino,
                        Attr* attr) = 0;

  // One page of directory `dir` (no "." / ".."): *cursor is "" on the first call and "" again
  // after the last page (meta::Meta::Readdir). With `plus` each entry carries its attributes.
  // Needs R on the directory.
  virtual Status Readdir(const Context& ctx, Ino dir, bool plus, std::string* cursor, size_t limit,
                         std::vector<DirEntry>* out) = 0;

  virtual Status GetXattr(const Context& ctx, Ino ino, std::string_view name,
                          std::string* value) = 0;
  virtual Status SetXattr(const Context& ctx, Ino ino, std::string_view name,
                          std::string_view value, int flags) = 0;
  virtual Status ListXattr(const Context& ctx, Ino ino, std::vector<std::string>* names) = 0;
  virtual Status RemoveXattr(const Context& ctx, Ino ino, std::string_view name) = 0;
  virtual Status StatFs(const Context& ctx, StatVfs* out) = 0;

  // File locks with the caller's owner id (FUSE: the kernel's lock_owner), as meta::Meta::Flock /
  // Getlk / Setlk. Blocking waits also end when the Volume closes (EINTR) and after the Volume's
  // lock_timeout_ms (ETIMEDOUT). Read-only volume → EROFS (no session to own locks).
  virtual Status Flock(const Context& ctx, Ino ino, uint64_t owner, uint32_t type,
                       const meta::LockWait& wait) = 0;
  virtual Status Getlk(const Context& ctx, Ino ino, uint64_t owner, meta::PosixLock* lk) = 0;
  virtual Status Setlk(const Context& ctx, Ino ino, uint64_t owner, const meta::PosixLock& lk,
                       const meta::LockWait& wait) = 0;
  // fallocate(2) / copy_file_range(2) on open handles (lib/slice_ops.h has the contracts).
  virtual Status Fallocate(const Context& ctx, File* fh, int mode, uint64_t off, uint64_t len) = 0;
  virtual Status CopyFileRange(const Context& ctx, File* in, uint64_t off_in, File* out,
                               uint64_t off_out, uint64_t len, uint32_t flags,
                               uint64_t* copied) = 0;
};

// The inode-level view of `volume` (which must have come from Volume::Open and outlive *out).
Status NewInodeFs(Volume* volume, std::unique_ptr<InodeFs>* out);

}  // namespace jfs::lib
