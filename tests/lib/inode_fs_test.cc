// InodeFs: the inode-level entry into a Volume (lib/inode_fs.h), checked against the path API of
// the same Volume.
#include "lib/inode_fs.h"

#include <set>

#include "tests/lib/test_util.h"

using namespace jfs;
using namespace jfs::lib;
using namespace jfs::lib::testing;

namespace {

std::unique_ptr<InodeFs> Inodes(Volume* v) {
  std::unique_ptr<InodeFs> ifs;
  REQUIRE_OK(NewInodeFs(v, &ifs));
  return ifs;
}

Context User(uint32_t uid, std::vector<uint32_t> gids) {
  Context c;
  c.uid = uid;
  c.gids = std::move(gids);
  return c;
}

}  // namespace

TEST_CASE("InodeFs creates, looks up and lists by inode", "[inode_fs]") {
  TestVolume tv;
  auto ifs = Inodes(tv.vol.get());
  const Context& ctx = tv.ctx;
  Ino dir = 0;
  Attr a;
  REQUIRE_OK(ifs->Mkdir(ctx, meta::kRootIno, "d", 0755, 0, &dir, &a));
  CHECK(a.typ == meta::kTypeDirectory);
  CHECK(a.mode == 0755);
  // The path API sees the same inode.
  Ino by_path = 0;
  REQUIRE_OK(tv.vol->Stat(ctx, "/d", nullptr, &by_path));
  CHECK(by_path == dir);
  CHECK_ERRNO(ifs->Mkdir(ctx, meta::kRootIno, "d", 0755, 0, nullptr, nullptr), EEXIST);
  // cumask applies.
  Ino sub = 0;
  REQUIRE_OK(ifs->Mkdir(ctx, dir, "masked", 0777, 027, &sub, &a));
  CHECK(a.mode == 0750);

  std::set<std::string> want;
  for (int i = 0; i < 25; ++i) {
    const std::string name = "f" + std::to_string(i);
    Ino ino = 0;
    REQUIRE_OK(ifs->Mknod(ctx, dir, name, S_IFREG | 0640, 0, 0, &ino, &a));
    CHECK(a.typ == meta::kTypeFile);
    want.insert(name);
  }
  want.insert("masked");
  // Paged listing: every entry exactly once, with attributes.
  std::set<std::string> got;
  std::string cursor;
  int pages = 0;
  do {
    std::vector<DirEntry> page;
    REQUIRE_OK(ifs->Readdir(ctx, dir, true, &cursor, 7, &page));
    CHECK(page.size() <= 7);
    for (auto& e : page) {
      CHECK(got.insert(e.name).second);
      CHECK(e.inode != 0);
      CHECK(e.attr.typ != 0);
      if (e.name != "masked") CHECK(e.attr.mode == 0640);
    }
    ++pages;
  } while (!cursor.empty() && pages < 100);
  CHECK(got == want);

  Ino ino = 0;
  REQUIRE_OK(ifs->Lookup(ctx, dir, "f3", &ino, &a));
  CHECK(a.typ == meta::kTypeFile);
  CHECK_ERRNO(ifs->Lookup(ctx, dir, "missing", &ino, &a), ENOENT);
  CHECK_ERRNO(ifs->Lookup(ctx, dir, std::string(256, 'x'), &ino, &a), ENAMETOOLONG);

  // Rename with flags, link, symlink, unlink, rmdir.
  CHECK_ERRNO(ifs->Rename(ctx, dir, "f1", dir, "f2", meta::kRenameNoReplace), EEXIST);
  REQUIRE_OK(ifs->Rename(ctx, dir, "f1", meta::kRootIno, "moved", 0));
  REQUIRE_OK(tv.vol->Stat(ctx, "/moved", nullptr, nullptr));
  REQUIRE_OK(ifs->Link(ctx, ino, meta::kRootIno, "hard", &a));
  CHECK(a.nlink == 2);
  Ino sl = 0;
  REQUIRE_OK(ifs->Symlink(ctx, meta::kRootIno, "sl", "d/f3", &sl, &a));
  std::string target;
  REQUIRE_OK(ifs->Readlink(ctx, sl, &target));
  CHECK(target == "d/f3");
  CHECK_ERRNO(ifs->Symlink(ctx, meta::kRootIno, "sl2", "", nullptr, nullptr), ENOENT);
  CHECK_ERRNO(ifs->Rmdir(ctx, meta::kRootIno, "d"), ENOTEMPTY);
  CHECK_ERRNO(ifs->Unlink(ctx, meta::kRootIno, "d"), EISDIR);
  REQUIRE_OK(ifs->Unlink(ctx, meta::kRootIno, "hard"));
  REQUIRE_OK(ifs->Rmdir(ctx, dir, "masked"));
  CHECK_ERRNO(ifs->Mknod(ctx, dir, "dev", S_IFCHR | 0600, 0, 0, nullptr, nullptr), 0);
  CHECK_ERRNO(ifs->Mknod(User(1000, {1000}), dir, "dev2", S_IFCHR | 0600, 0, 0, nullptr, nullptr),
              EPERM);
}

TEST_CASE("InodeFs files share the Volume's data path", "[inode_fs]") {
  TestVolume tv;
  auto ifs = Inodes(tv.vol.get());
  const Context& ctx = tv.ctx;
  std::shared_ptr<File> f;
  Ino ino = 0;
  Attr a;
  REQUIRE_OK(ifs->Create(ctx, meta::kRootIno, "file", 0644, 0, O_RDWR, &f, &ino, &a));
  CHECK(f->inode() == ino);
  CHECK_ERRNO(ifs->Create(ctx, meta::kRootIno, "file", 0644, 0, O_RDWR, &f, &ino, &a), EEXIST);
  const std::string data(3 << 20, 'q');
  uint64_t n = 0;
  REQUIRE_OK(f->Pwrite(data.data(), data.size(), 1000, &n));
  // Buffered, uncommitted bytes count in the attributes this Volume reports.
  REQUIRE_OK(ifs->GetAttr(ctx, ino, &a));
  CHECK(a.length == 1000 + data.size());
  REQUIRE_OK(ifs->Lookup(ctx, meta::kRootIno, "file", nullptr, &a));
  CHECK(a.length == 1000 + data.size());
  // A second handle of the same inode sees the data (one InodeState).
  std::shared_ptr<File> g;
  REQUIRE_OK(ifs->Open(ctx, ino, O_RDONLY, &g, &a));
  std::string back(10, '\0');
  REQUIRE_OK(g->Pread(back.data(), back.size(), 1000, &n));
  CHECK(n == 10);
  CHECK(back == std::string(10, 'q'));
  REQUIRE_OK(f->Close());

  // Truncate through SetAttr: by handle (no permission check) and by inode.
  Attr in;
  in.length = 5;
  std::shared_ptr<File> w;
  REQUIRE_OK(ifs->Open(ctx, ino, O_WRONLY, &w, &a));
  REQUIRE_OK(ifs->SetAttr(ctx, ino, meta::kSetSize, in, w.get(), &a));
  CHECK(a.length == 5);
  in.length = 100;
  in.mode = 0600;
  REQUIRE_OK(ifs->SetAttr(ctx, ino, meta::kSetSize | meta::kSetMode, in, nullptr, &a));
  CHECK(a.length == 100);
  CHECK(a.mode == 0600);
  REQUIRE_OK(w->Close());
  // The path API agrees.
  Attr pa;
  REQUIRE_OK(tv.vol->Stat(ctx, "/file", &pa, nullptr));
  CHECK(pa.length == 100);

  // O_TRUNC at open; directories only read-only; sockets refused.
  REQUIRE_OK(ifs->Open(ctx, ino, O_WRONLY | O_TRUNC, &w, &a));
  CHECK(a.length == 0);
  REQUIRE_OK(w->Close());
  Ino d = 0;
  REQUIRE_OK(ifs->Mkdir(ctx, meta::kRootIno, "dir", 0755, 0, &d, nullptr));
  CHECK_ERRNO(ifs->Open(ctx, d, O_WRONLY, &w, &a), EISDIR);
  REQUIRE_OK(ifs->Open(ctx, d, O_RDONLY, &w, &a));
  REQUIRE_OK(w->Close());
  Ino sock = 0;
  REQUIRE_OK(ifs->Mknod(ctx, meta::kRootIno, "sock", S_IFSOCK | 0644, 0, 0, &sock, nullptr));
  CHECK_ERRNO(ifs->Open(ctx, sock, O_RDONLY, &w, &a), ENXIO);

  // An unlinked open file lives until its handle closes (sustained inode).
  REQUIRE_OK(ifs->Open(ctx, ino, O_RDWR, &w, &a));
  REQUIRE_OK(w->Pwrite("alive", 5, 0, &n));
  REQUIRE_OK(w->Flush());
  REQUIRE_OK(ifs->Unlink(ctx, meta::kRootIno, "file"));
  CHECK_ERRNO(ifs->Lookup(ctx, meta::kRootIno, "file", nullptr, nullptr), ENOENT);
  REQUIRE_OK(w->Pread(back.data(), 5, 0, &n));
  CHECK(back.substr(0, 5) == "alive");
  REQUIRE_OK(g->Close());
  REQUIRE_OK(w->Close());
  CHECK_ERRNO(ifs->GetAttr(ctx, ino, &a), ENOENT);
}

TEST_CASE("InodeFs checks the caller's credentials", "[inode_fs]") {
  TestVolume tv;
  auto ifs = Inodes(tv.vol.get());
  const Context& root = tv.ctx;
  Ino priv = 0, grp = 0;
  REQUIRE_OK(ifs->Mkdir(root, meta::kRootIno, "priv", 0700, 0, &priv, nullptr));
  std::shared_ptr<File> f;
  Ino file = 0;
  REQUIRE_OK(ifs->Create(root, meta::kRootIno, "grp", 0060, 0, O_RDWR, &f, &grp, nullptr));
  REQUIRE_OK(f->Close());
  Attr in;
  in.gid = 4242;
  REQUIRE_OK(ifs->SetAttr(root, grp, meta::kSetGid, in, nullptr, nullptr));

  const Context nobody = User(65534, {65534});
  const Context member = User(65534, {65534, 4242});  // supplementary group
  CHECK_ERRNO(ifs->Lookup(nobody, priv, "x", nullptr, nullptr), EACCES);
  Ino shared = 0;  // (the volume root is 0777, as in JuiceFS)
  REQUIRE_OK(ifs->Mkdir(root, meta::kRootIno, "shared", 0755, 0, &shared, nullptr));
  CHECK_ERRNO(ifs->Mkdir(nobody, shared, "n", 0755, 0, nullptr, nullptr), EACCES);
  CHECK_ERRNO(ifs->Open(nobody, grp, O_RDWR, &f, nullptr), EACCES);
  REQUIRE_OK(ifs->Open(member, grp, O_RDWR, &f, nullptr));
  REQUIRE_OK(f->Close());
  CHECK_ERRNO(ifs->Access(nobody, grp, R_OK), EACCES);
  REQUIRE_OK(ifs->Access(member, grp, R_OK | W_OK));
  in.mode = 0777;
  CHECK_ERRNO(ifs->SetAttr(nobody, grp, meta::kSetMode, in, nullptr, nullptr), EPERM);
  in.length = 0;
  CHECK_ERRNO(ifs->SetAttr(nobody, grp, meta::kSetSize, in, nullptr, nullptr), EACCES);
  std::vector<DirEntry> page;
  std::string cursor;
  CHECK_ERRNO(ifs->Readdir(nobody, priv, false, &cursor, 100, &page), EACCES);
  (void)file;
}

TEST_CASE("InodeFs on a read-only or closed volume", "[inode_fs]") {
  TestVolume tv;
  {
    auto ifs = Inodes(tv.vol.get());
    Ino ino = 0;
    REQUIRE_OK(ifs->Mknod(tv.ctx, meta::kRootIno, "f", S_IFREG | 0644, 0, 0, &ino, nullptr));
  }
  REQUIRE_OK(tv.vol->Close());
  tv.vol.reset();
  VolumeOptions ro;
  ro.read_only = true;
  REQUIRE_OK(Volume::Open(tv.url, ro, &tv.vol));
  auto ifs = Inodes(tv.vol.get());
  CHECK(ifs->read_only());
  Ino ino = 0;
  Attr a;
  REQUIRE_OK(ifs->Lookup(tv.ctx, meta::kRootIno, "f", &ino, &a));
  std::shared_ptr<File> f;
  CHECK_ERRNO(ifs->Open(tv.ctx, ino, O_WRONLY, &f, &a), EROFS);
  CHECK_ERRNO(ifs->Open(tv.ctx, ino, O_RDONLY | O_TRUNC, &f, &a), EROFS);
  REQUIRE_OK(ifs->Open(tv.ctx, ino, O_RDONLY, &f, &a));
  REQUIRE_OK(f->Close());
  CHECK_ERRNO(ifs->Mkdir(tv.ctx, meta::kRootIno, "d", 0755, 0, nullptr, nullptr), EROFS);
  CHECK_ERRNO(ifs->Access(tv.ctx, ino, W_OK), EROFS);
  CHECK_ERRNO(ifs->SetXattr(tv.ctx, ino, "user.a", "b", 0), EROFS);
  REQUIRE_OK(tv.vol->Close());
  CHECK_ERRNO(ifs->GetAttr(tv.ctx, ino, &a), EBADF);
  CHECK_ERRNO(ifs->Lookup(tv.ctx, meta::kRootIno, "f", &ino, &a), EBADF);
  std::unique_ptr<InodeFs> again;
  CHECK_ERRNO(NewInodeFs(tv.vol.get(), &again), EBADF);
  CHECK_ERRNO(NewInodeFs(nullptr, &again), EINVAL);
}

TEST_CASE("InodeFs xattrs and statfs", "[inode_fs]") {
  TestVolume tv;
  auto ifs = Inodes(tv.vol.get());
  Ino ino = 0;
  REQUIRE_OK(ifs->Mknod(tv.ctx, meta::kRootIno, "f", S_IFREG | 0644, 0, 0, &ino, nullptr));
  REQUIRE_OK(ifs->SetXattr(tv.ctx, ino, "user.k", "v", 0));
  CHECK_ERRNO(ifs->SetXattr(tv.ctx, ino, "user.k", "v", meta::kXattrCreate), EEXIST);
  std::string v;
  REQUIRE_OK(ifs->GetXattr(tv.ctx, ino, "user.k", &v));
  CHECK(v == "v");
  std::vector<std::string> names;
  REQUIRE_OK(ifs->ListXattr(tv.ctx, ino, &names));
  CHECK(names == std::vector<std::string>{"user.k"});
  REQUIRE_OK(ifs->RemoveXattr(tv.ctx, ino, "user.k"));
  CHECK_ERRNO(ifs->GetXattr(tv.ctx, ino, "user.k", &v), ENODATA);
  StatVfs sv;
  REQUIRE_OK(ifs->StatFs(tv.ctx, &sv));
  CHECK(sv.max_name == 255);
  CHECK(sv.total_bytes >= sv.free_bytes);
}
