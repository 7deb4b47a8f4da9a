// Path resolution and path-level operations of lib::Volume.
#include <set>

#include "tests/lib/test_util.h"

using namespace jfs;
using namespace jfs::lib;
using namespace jfs::lib::testing;

TEST_CASE("path syntax", "[path]") {
  TestVolume tv;
  Attr attr;
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "", &attr, nullptr), ENOENT);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "relative/path", &attr, nullptr), EINVAL);
  CHECK_ERRNO(tv.vol->Mkdir(tv.ctx, "dir", 0755), EINVAL);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/" + std::string(256, 'n'), &attr, nullptr), ENAMETOOLONG);
  CHECK_ERRNO(tv.vol->Mkdir(tv.ctx, "/" + std::string(256, 'n'), 0755), ENAMETOOLONG);
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/" + std::string(255, 'n'), 0755));
  Ino ino = 0;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/", &attr, &ino));
  CHECK(ino == meta::kRootIno);
  CHECK(attr.typ == meta::kTypeDirectory);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "//", &attr, &ino));
  CHECK(ino == meta::kRootIno);

  REQUIRE_OK(tv.vol->MkdirAll(tv.ctx, "/a/b/c", 0755));
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/a/b/file", "x"));
  Ino c = 0;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a/b/c", nullptr, &c));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "//a///b/./c/", nullptr, &ino));
  CHECK(ino == c);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a/b/c/../../b/c", nullptr, &ino));
  CHECK(ino == c);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/../../a/b/c", nullptr, &ino));  // ".." of root is root
  CHECK(ino == c);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/a/b/file/", nullptr, nullptr), ENOTDIR);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/a/b/file/x", nullptr, nullptr), ENOTDIR);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/a/b/file/..", nullptr, nullptr), ENOTDIR);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/a/missing/c", nullptr, nullptr), ENOENT);
}

TEST_CASE("symlink resolution", "[path]") {
  TestVolume tv;
  REQUIRE_OK(tv.vol->MkdirAll(tv.ctx, "/a/b", 0755));
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/a/b/f", "payload"));
  Ino f = 0, b = 0;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a/b/f", nullptr, &f));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a/b", nullptr, &b));

  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "b/f", "/a/rel"));     // relative to /a
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "/a/b", "/abs"));      // absolute: from volume root
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "../b/", "/a/b/up"));  // relative with ".."
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "/", "/root"));

  Ino ino = 0;
  Attr attr;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a/rel", &attr, &ino));
  CHECK(ino == f);
  CHECK(attr.typ == meta::kTypeFile);
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/a/rel", &attr, &ino));
  CHECK(attr.typ == meta::kTypeSymlink);
  CHECK(ino != f);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/abs/f", nullptr, &ino));
  CHECK(ino == f);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a/b/up", nullptr, &ino));
  CHECK(ino == b);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a/b/up/up/up/f", nullptr, &ino));
  CHECK(ino == f);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/root/a/rel", nullptr, &ino));
  CHECK(ino == f);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/root", nullptr, &ino));
  CHECK(ino == meta::kRootIno);
  // ".." after a symlinked directory is the parent of the target (physical).
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/abs/..", nullptr, &ino));
  Ino a = 0;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/a", nullptr, &a));
  CHECK(ino == a);
  // A trailing slash follows a symlink in the last component, even for lstat.
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/abs/", &attr, &ino));
  CHECK(ino == b);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/a/rel/", nullptr, nullptr), ENOTDIR);

  std::string target;
  REQUIRE_OK(tv.vol->Readlink(tv.ctx, "/a/rel", &target));
  CHECK(target == "b/f");
  CHECK_ERRNO(tv.vol->Readlink(tv.ctx, "/a/b/f", &target), EINVAL);
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/a/rel", &got));
  CHECK(got == "payload");

  // O_NOFOLLOW on a symlink in the last component.
  std::shared_ptr<File> h;
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/a/rel", O_RDONLY | O_NOFOLLOW, 0, &h), ELOOP);
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/abs/f", O_RDONLY | O_NOFOLLOW, 0, &h));
  REQUIRE_OK(h->Close());

  // Loops and chains.
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "/loop2", "/loop1"));
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "loop1", "/loop2"));
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/loop1", nullptr, nullptr), ELOOP);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/loop1/x", nullptr, nullptr), ELOOP);
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/loop1", &attr, nullptr));
  CHECK(attr.typ == meta::kTypeSymlink);
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "a/b/f", "/l0"));
  for (int i = 1; i <= 41; ++i) {
    REQUIRE_OK(tv.vol->Symlink(tv.ctx, "l" + std::to_string(i - 1), "/l" + std::to_string(i)));
  }
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/l39", nullptr, &ino));  // 40 links
  CHECK(ino == f);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/l40", nullptr, nullptr), ELOOP);  // 41 links

  // Dangling.
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "nowhere", "/dangling"));
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/dangling", nullptr, nullptr), ENOENT);
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/dangling", nullptr, nullptr));
  CHECK_ERRNO(tv.vol->Symlink(tv.ctx, "", "/empty"), ENOENT);
  CHECK_ERRNO(tv.vol->Symlink(tv.ctx, "x", "/dangling"), EEXIST);
}

TEST_CASE("realpath", "[path]") {
  TestVolume tv;
  REQUIRE_OK(tv.vol->MkdirAll(tv.ctx, "/a/b/c", 0755));
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "/a/b", "/lb"));
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "b/c", "/a/lc"));
  std::string p;
  REQUIRE_OK(tv.vol->Realpath(tv.ctx, "/", &p));
  CHECK(p == "/");
  REQUIRE_OK(tv.vol->Realpath(tv.ctx, "//a/./b//c/", &p));
  CHECK(p == "/a/b/c");
  REQUIRE_OK(tv.vol->Realpath(tv.ctx, "/lb/c/..", &p));
  CHECK(p == "/a/b");
  REQUIRE_OK(tv.vol->Realpath(tv.ctx, "/a/lc", &p));
  CHECK(p == "/a/b/c");
  REQUIRE_OK(tv.vol->Realpath(tv.ctx, "/a/lc/../../..", &p));
  CHECK(p == "/");
  CHECK_ERRNO(tv.vol->Realpath(tv.ctx, "/a/nope", &p), ENOENT);
}

TEST_CASE("directories: mkdir, mkdir -p, rmdir, rename, readdir", "[ns]") {
  TestVolume tv;
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/d", 0755));
  CHECK_ERRNO(tv.vol->Mkdir(tv.ctx, "/d", 0755), EEXIST);
  CHECK_ERRNO(tv.vol->Mkdir(tv.ctx, "/", 0755), EEXIST);
  CHECK_ERRNO(tv.vol->Mkdir(tv.ctx, "/d/.", 0755), EEXIST);
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/d/sub/", 0755));
  CHECK_ERRNO(tv.vol->Mkdir(tv.ctx, "/nope/sub", 0755), ENOENT);
  REQUIRE_OK(tv.vol->MkdirAll(tv.ctx, "/d/x/y/z", 0755));
  REQUIRE_OK(tv.vol->MkdirAll(tv.ctx, "/d/x/y/z", 0755));  // already there
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/d/file", "f"));
  CHECK_ERRNO(tv.vol->MkdirAll(tv.ctx, "/d/file", 0755), EEXIST);
  CHECK_ERRNO(tv.vol->MkdirAll(tv.ctx, "/d/file/x", 0755), ENOTDIR);

  CHECK_ERRNO(tv.vol->Rmdir(tv.ctx, "/d"), ENOTEMPTY);
  CHECK_ERRNO(tv.vol->Rmdir(tv.ctx, "/"), EBUSY);
  CHECK_ERRNO(tv.vol->Rmdir(tv.ctx, "/d/."), EINVAL);
  CHECK_ERRNO(tv.vol->Rmdir(tv.ctx, "/d/file"), ENOTDIR);
  REQUIRE_OK(tv.vol->Rmdir(tv.ctx, "/d/sub/"));
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/d/sub", nullptr, nullptr), ENOENT);

  CHECK_ERRNO(tv.vol->Unlink(tv.ctx, "/d/x"), EISDIR);
  CHECK_ERRNO(tv.vol->Unlink(tv.ctx, "/d/file/"), ENOTDIR);
  CHECK_ERRNO(tv.vol->Unlink(tv.ctx, "/"), EISDIR);

  // Non-directories are never created under a name with a trailing slash (as on Linux).
  CHECK_ERRNO(tv.vol->Symlink(tv.ctx, "t", "/d/new/"), ENOENT);
  CHECK_ERRNO(tv.vol->Symlink(tv.ctx, "t", "/d/file/"), EEXIST);
  CHECK_ERRNO(tv.vol->Mknod(tv.ctx, "/d/new/", S_IFIFO | 0644, 0), ENOENT);
  CHECK_ERRNO(tv.vol->Link(tv.ctx, "/d/file", "/d/new/"), ENOENT);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/d/new", nullptr, nullptr), ENOENT);

  REQUIRE_OK(tv.vol->Rename(tv.ctx, "/d/file", "/d/x/renamed", 0));
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/d/file", nullptr, nullptr), ENOENT);
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/d/x/renamed", &got));
  CHECK(got == "f");
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/d/other", "o"));
  CHECK_ERRNO(tv.vol->Rename(tv.ctx, "/d/other", "/d/x/renamed", meta::kRenameNoReplace), EEXIST);
  REQUIRE_OK(tv.vol->Rename(tv.ctx, "/d/other", "/d/x/renamed", meta::kRenameExchange));
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/d/x/renamed", &got));
  CHECK(got == "o");
  CHECK_ERRNO(tv.vol->Rename(tv.ctx, "/d/other/", "/d/o2", 0), ENOTDIR);
  CHECK_ERRNO(tv.vol->Rename(tv.ctx, "/", "/d/o2", 0), EBUSY);

  // Directory listing in pages.
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/many", 0755));
  std::set<std::string> want;
  for (int i = 0; i < 1100; ++i) {
    std::string name = "n" + std::to_string(i);
    REQUIRE_OK(tv.vol->Mknod(tv.ctx, "/many/" + name, S_IFREG | 0644, 0));
    want.insert(name);
  }
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/many/sub", 0700));
  want.insert("sub");
  std::unique_ptr<DirStream> ds;
  REQUIRE_OK(tv.vol->OpenDir(tv.ctx, "/many", &ds));
  std::set<std::string> seen;
  while (true) {
    DirEntry e;
    bool end = false;
    REQUIRE_OK(ds->Next(&e, &end));
    if (end) break;
    CHECK(seen.insert(e.name).second);
    CHECK(e.inode != 0);
    if (e.name == "sub") {
      CHECK(e.attr.typ == meta::kTypeDirectory);
      CHECK(e.attr.mode == 0700);
    } else {
      CHECK(e.attr.typ == meta::kTypeFile);
    }
  }
  CHECK(seen == want);
  DirEntry e;
  bool end = false;
  REQUIRE_OK(ds->Next(&e, &end));
  CHECK(end);
  REQUIRE_OK(ds->Close());
  CHECK_ERRNO(ds->Next(&e, &end), EBADF);
  CHECK_ERRNO(tv.vol->OpenDir(tv.ctx, "/d/x/renamed", &ds), ENOTDIR);
  Context user;
  user.uid = 1000;
  user.gids = {1000};
  CHECK_ERRNO(tv.vol->OpenDir(user, "/many/sub", &ds), EACCES);

  // A stream on a directory removed since it was opened ends, as getdents(2) does on Linux.
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/gone", 0755));
  REQUIRE_OK(tv.vol->OpenDir(tv.ctx, "/gone", &ds));
  REQUIRE_OK(tv.vol->Rmdir(tv.ctx, "/gone"));
  end = false;
  REQUIRE_OK(ds->Next(&e, &end));
  CHECK(end);
  REQUIRE_OK(ds->Close());
}

TEST_CASE("links, attributes, mknod, xattrs, statfs, access", "[ns]") {
  TestVolume tv;
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/f", "12345"));
  REQUIRE_OK(tv.vol->Link(tv.ctx, "/f", "/hard"));
  Attr attr;
  Ino a = 0, b = 0;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/hard", &attr, &a));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", nullptr, &b));
  CHECK(a == b);
  CHECK(attr.nlink == 2);
  CHECK_ERRNO(tv.vol->Link(tv.ctx, "/f", "/hard"), EEXIST);
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "f", "/sl"));
  REQUIRE_OK(tv.vol->Link(tv.ctx, "/sl", "/sl2"));  // links the symlink itself
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/sl2", &attr, nullptr));
  CHECK(attr.typ == meta::kTypeSymlink);

  REQUIRE_OK(tv.vol->Chmod(tv.ctx, "/sl", 0600));  // follows
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.mode == 0600);
  REQUIRE_OK(tv.vol->Chown(tv.ctx, "/f", 7, static_cast<uint32_t>(-1), true));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.uid == 7);
  CHECK(attr.gid == 0);
  REQUIRE_OK(tv.vol->Chown(tv.ctx, "/sl", static_cast<uint32_t>(-1), 9, false));
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/sl", &attr, nullptr));
  CHECK(attr.gid == 9);
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.gid == 0);

  struct timespec ts[2] = {{1000, 5}, {2000, UTIME_OMIT}};
  Attr before;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &before, nullptr));
  REQUIRE_OK(tv.vol->Utimens(tv.ctx, "/f", ts, true));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.atime == 1000);
  CHECK(attr.atimensec == 5);
  CHECK(attr.mtime == before.mtime);
  struct timespec ts2[2] = {{0, UTIME_OMIT}, {3000, 0}};
  REQUIRE_OK(tv.vol->Utimens(tv.ctx, "/f", ts2, true));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.atime == 1000);
  CHECK(attr.mtime == 3000);
  struct timespec bad[2] = {{0, 2000000000L}, {0, 0}};
  CHECK_ERRNO(tv.vol->Utimens(tv.ctx, "/f", bad, true), EINVAL);
  REQUIRE_OK(tv.vol->Utimens(tv.ctx, "/f", nullptr, true));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.mtime > 3000);

  REQUIRE_OK(tv.vol->Mknod(tv.ctx, "/fifo", S_IFIFO | 0644, 0));
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/fifo", &attr, nullptr));
  CHECK(attr.typ == meta::kTypeFIFO);
  REQUIRE_OK(tv.vol->Mknod(tv.ctx, "/sock", S_IFSOCK | 0644, 0));
  REQUIRE_OK(tv.vol->Mknod(tv.ctx, "/chr", S_IFCHR | 0644, 0x0102));
  REQUIRE_OK(tv.vol->Lstat(tv.ctx, "/chr", &attr, nullptr));
  CHECK(attr.typ == meta::kTypeCharDev);
  CHECK(attr.rdev == 0x0102);
  Context user;
  user.uid = 1000;
  user.gids = {1000};
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/pub", 0777));
  REQUIRE_OK(tv.vol->Chmod(tv.ctx, "/pub", 0777));
  CHECK_ERRNO(tv.vol->Mknod(user, "/pub/blk", S_IFBLK | 0644, 1), EPERM);
  REQUIRE_OK(tv.vol->Mknod(user, "/pub/fifo", S_IFIFO | 0644, 0));
  CHECK_ERRNO(tv.vol->Mknod(tv.ctx, "/dir", S_IFDIR | 0755, 0), EINVAL);
  std::shared_ptr<File> h;
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/sock", O_RDONLY, 0, &h), ENXIO);

  REQUIRE_OK(tv.vol->SetXattr(tv.ctx, "/f", "user.k", "v1", 0));
  std::string v;
  REQUIRE_OK(tv.vol->GetXattr(tv.ctx, "/sl", "user.k", &v));  // follows
  CHECK(v == "v1");
  CHECK_ERRNO(tv.vol->GetXattr(tv.ctx, "/sl", "user.k", &v, false), ENODATA);
  CHECK_ERRNO(tv.vol->SetXattr(tv.ctx, "/f", "user.k", "v2", meta::kXattrCreate), EEXIST);
  std::vector<std::string> names;
  REQUIRE_OK(tv.vol->ListXattr(tv.ctx, "/f", &names));
  CHECK(names == std::vector<std::string>{"user.k"});
  REQUIRE_OK(tv.vol->RemoveXattr(tv.ctx, "/f", "user.k"));
  CHECK_ERRNO(tv.vol->GetXattr(tv.ctx, "/f", "user.k", &v), ENODATA);

  StatVfs sv;
  REQUIRE_OK(tv.vol->StatFs(tv.ctx, &sv));
  CHECK(sv.total_bytes > 0);
  CHECK(sv.free_bytes <= sv.total_bytes);
  CHECK(sv.total_inodes >= sv.free_inodes);
  CHECK(sv.max_name == 255);

  REQUIRE_OK(tv.vol->Access(tv.ctx, "/f", R_OK | W_OK));
  REQUIRE_OK(tv.vol->Chmod(tv.ctx, "/f", 0640));
  CHECK_ERRNO(tv.vol->Access(user, "/f", R_OK), EACCES);
  REQUIRE_OK(tv.vol->Access(user, "/f", 0));
  CHECK_ERRNO(tv.vol->Access(tv.ctx, "/nope", 0), ENOENT);

  REQUIRE_OK(tv.vol->Unlink(tv.ctx, "/hard"));
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.nlink == 1);
}
