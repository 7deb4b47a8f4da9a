// Tests of juicefs.hpp, the header-only C++17 wrapper over the C ABI (built with -std=c++17 and
// linked against libjuicefs.so only, as a user program would be).
#include <fcntl.h>
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <juicefs/juicefs.hpp>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace {

static_assert(!std::is_copy_constructible_v<juicefs::Volume>);
static_assert(std::is_nothrow_move_constructible_v<juicefs::Volume>);
static_assert(!std::is_copy_constructible_v<juicefs::File>);
static_assert(std::is_nothrow_move_assignable_v<juicefs::File>);
static_assert(!std::is_copy_constructible_v<juicefs::Dir>);

// A formatted SQLite volume in a fresh temporary directory, removed at the end.
struct TempVolume {
  std::filesystem::path dir;
  std::string url;
  TempVolume() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jfs-cpp-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    url = "sqlite3://" + (dir / "meta.db").string();
    juicefs::FormatOptions opts;
    opts.bucket = (dir / "bucket").string();
    opts.trash_days = 0;
    juicefs::Volume::format(url, "cpp-test", opts);
  }
  ~TempVolume() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  juicefs::Volume Open() const {
    juicefs::Volume v = juicefs::Volume::open(url);
    v.set_credentials(0, {0}, 022);
    return v;
  }
};

int ErrnoOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const juicefs::Error& e) {
    return e.errnum();
  }
  return 0;
}

}  // namespace

TEST_CASE("version matches the header") {
  REQUIRE(juicefs::version() == std::to_string(JFS_VERSION_MAJOR) + "." +
                                    std::to_string(JFS_VERSION_MINOR) + "." +
                                    std::to_string(JFS_VERSION_PATCH));
}

TEST_CASE("open errors are exceptions with errno and message, or error codes") {
  TempVolume tv;
  try {
    juicefs::Volume::open("nosuch://x");
    FAIL("no exception");
  } catch (const juicefs::Error& e) {
    REQUIRE(e.errnum() == EINVAL);
    REQUIRE(e.code() == std::errc::invalid_argument);
    REQUIRE(std::string(e.what()).find("jfs_open_volume") != std::string::npos);
  }
  std::error_code ec;
  juicefs::Volume v = juicefs::Volume::open("sqlite3://" + (tv.dir / "none.db").string(), {}, ec);
  REQUIRE(ec == std::errc::no_such_file_or_directory);
  REQUIRE(!v);
  REQUIRE(ErrnoOf([&] { juicefs::Volume::format(tv.url, "Bad Name"); }) == EINVAL);
}

TEST_CASE("files: write, read, seek, truncate, stat") {
  TempVolume tv;
  juicefs::Volume vol = tv.Open();
  REQUIRE(vol);

  vol.write_file("/a.txt", "hello world");
  REQUIRE(vol.read_file("/a.txt") == "hello world");

  juicefs::File f = vol.open_file("/a.txt", O_RDWR);
  char buf[16] = {};
  REQUIRE(f.read(buf, 5) == 5);
  REQUIRE(std::string(buf, 5) == "hello");
  REQUIRE(f.seek(0, JFS_SEEK_CUR) == 5);
  REQUIRE(f.pwrite("W", 6) == 1);
  REQUIRE(f.pread(buf, 5, 6) == 5);
  REQUIRE(std::string(buf, 5) == "World");
  REQUIRE(f.seek(0, JFS_SEEK_END) == 11);
  REQUIRE(f.write(std::string_view("!!")) == 2);
  REQUIRE(f.stat().size == 13);
  f.truncate(5);
  REQUIRE(f.seek(0) == 0);
  REQUIRE(f.read_all() == "hello");
  f.flush();
  f.fsync();
  REQUIRE(ErrnoOf([&] { f.seek(-1); }) == EINVAL);
  f.close();
  REQUIRE(!f);
  f.close();  // closing an empty File is a no-op

  juicefs::File ro = vol.open_file("/a.txt", O_RDONLY);
  try {
    ro.write("x", 1);
    FAIL("no exception");
  } catch (const juicefs::Error& e) {
    REQUIRE(e.errnum() == EBADF);
    REQUIRE(std::string(e.what()).find("jfs_write") != std::string::npos);
  }

  std::error_code ec;
  juicefs::File missing = vol.open_file("/missing", O_RDONLY, 0, ec);
  REQUIRE(ec == std::errc::no_such_file_or_directory);
  REQUIRE(!missing);
  REQUIRE(ErrnoOf([&] { vol.open_file("/missing", O_RDONLY); }) == ENOENT);
}

TEST_CASE("moves transfer ownership; the destructor releases") {
  TempVolume tv;
  juicefs::Volume a = tv.Open();
  jfs_fs_t* raw = a.get();
  juicefs::Volume b = std::move(a);
  REQUIRE(!a);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  REQUIRE(b.get() == raw);

  juicefs::File f = b.create("/f");
  jfs_file_t* fraw = f.get();
  juicefs::File g;
  g = std::move(f);
  REQUIRE(g.get() == fraw);
  REQUIRE(!f);  // NOLINT(bugprone-use-after-move)
  g.write("data");
  { juicefs::File h = std::move(g); }  // closes (and flushes) the file
  char c;
  REQUIRE(jfs_read(fraw, &c, 1) == -EBADF);  // released: detected by the library
  REQUIRE(b.stat("/f").size == 4);

  // Assigning over a Volume closes the old one: its files fail with EBADF.
  juicefs::File open_in_old = b.open_file("/f", O_RDONLY);
  b = tv.Open();
  REQUIRE(jfs_stat(raw, "/", nullptr) == -EBADF);
  REQUIRE(ErrnoOf([&] { open_in_old.read(&c, 1); }) == EBADF);
  REQUIRE(b.stat("/f").size == 4);
}

TEST_CASE("namespace operations and error_code overloads") {
  TempVolume tv;
  juicefs::Volume vol = tv.Open();

  vol.mkdir_all("/a/b/c");
  REQUIRE(vol.stat("/a/b/c").is_dir());
  REQUIRE(vol.exists("/a/b"));
  REQUIRE(!vol.exists("/a/x"));
  REQUIRE(ErrnoOf([&] { vol.mkdir("/a"); }) == EEXIST);

  std::error_code ec;
  vol.mkdir("/a", 0755, ec);
  REQUIRE(ec == std::errc::file_exists);
  vol.rmdir("/a", ec);
  REQUIRE(ec == std::errc::directory_not_empty);
  vol.unlink("/nope", ec);
  REQUIRE(ec == std::errc::no_such_file_or_directory);
  juicefs::Stat st = vol.stat("/nope", ec);
  REQUIRE(ec == std::errc::no_such_file_or_directory);
  REQUIRE(st.ino == 0);
  vol.access("/a", 4, ec);
  REQUIRE(!ec);

  vol.write_file("/a/f", "xyz", 0600);
  REQUIRE(vol.stat("/a/f").perm() == 0600);
  vol.chmod("/a/f", 0640);
  REQUIRE(vol.stat("/a/f").perm() == 0640);
  vol.chown("/a/f", 10, 20);
  REQUIRE(vol.stat("/a/f").uid == 10);
  vol.symlink("f", "/a/l");
  REQUIRE(vol.lstat("/a/l").is_symlink());
  REQUIRE(vol.stat("/a/l").is_regular());
  REQUIRE(vol.readlink("/a/l") == "f");
  REQUIRE(vol.realpath("/a/./b/../l") == "/a/f");
  vol.lchown("/a/l", 30, 40);
  REQUIRE(vol.lstat("/a/l").uid == 30);
  REQUIRE(vol.stat("/a/l").uid == 10);
  vol.link("/a/f", "/a/f2");
  REQUIRE(vol.stat("/a/f").nlink == 2);
  vol.utimens("/a/f", {100, 1}, {200, 2});
  REQUIRE(vol.stat("/a/f").mtime.sec == 200);
  REQUIRE(vol.stat("/a/f").atime.nsec == 1);
  vol.utimens("/a/l", {300, 0}, {400, 0}, /*follow=*/false);
  REQUIRE(vol.lstat("/a/l").mtime.sec == 400);
  REQUIRE(vol.stat("/a/f").mtime.sec == 200);
  vol.truncate("/a/f", 1);
  REQUIRE(vol.read_file("/a/f2") == "x");
  vol.mknod("/a/fifo", 0010600);
  REQUIRE(vol.lstat("/a/fifo").is_fifo());
  vol.mknod("/a/sock", 0140600);
  REQUIRE(vol.lstat("/a/sock").is_socket());

  vol.rename("/a/fifo", "/a/sock", JFS_RENAME_NOREPLACE, ec);
  REQUIRE(ec == std::errc::file_exists);
  vol.rename("/a/fifo", "/a/sock", JFS_RENAME_EXCHANGE);
  REQUIRE(vol.lstat("/a/fifo").is_socket());
  vol.rename("/a/fifo", "/a/moved");
  REQUIRE(!vol.exists("/a/fifo"));
  vol.unlink("/a/moved");
  vol.unlink("/a/f2");
  REQUIRE(vol.stat("/a/f").nlink == 1);

  juicefs::StatVfs sv = vol.statvfs();
  REQUIRE(sv.max_name == 255);
  REQUIRE(sv.free_bytes <= sv.total_bytes);
}

TEST_CASE("extended attributes") {
  TempVolume tv;
  juicefs::Volume vol = tv.Open();
  vol.write_file("/f", "");
  vol.symlink("f", "/l");
  REQUIRE(vol.listxattr("/f").empty());
  vol.setxattr("/f", "user.k", std::string("v\0v", 3));
  vol.setxattr("/f", "user.e", "");
  REQUIRE(vol.getxattr("/f", "user.k") == std::string("v\0v", 3));
  REQUIRE(vol.getxattr("/l", "user.e").empty());
  REQUIRE(ErrnoOf([&] { vol.getxattr("/l", "user.k", /*follow=*/false); }) == ENODATA);
  REQUIRE(ErrnoOf([&] { vol.setxattr("/f", "user.k", "x", JFS_XATTR_CREATE); }) == EEXIST);
  std::vector<std::string> names = vol.listxattr("/l");
  std::sort(names.begin(), names.end());
  REQUIRE(names == std::vector<std::string>{"user.e", "user.k"});
  vol.removexattr("/f", "user.k");
  REQUIRE(vol.listxattr("/f") == std::vector<std::string>{"user.e"});
}

TEST_CASE("Dir is a range of entries with attributes") {
  TempVolume tv;
  juicefs::Volume vol = tv.Open();
  vol.mkdir("/d");
  std::set<std::string> want;
  for (int i = 0; i < 700; i++) {  // several pages
    std::string name = "entry-" + std::to_string(i);
    if (i % 7 == 0) {
      vol.mkdir("/d/" + name);
    } else {
      vol.write_file("/d/" + name, std::string(static_cast<size_t>(i % 13), 'z'));
    }
    want.insert(name);
  }

  std::set<std::string> got;
  for (const juicefs::DirEntry& e : vol.opendir("/d")) {
    REQUIRE(got.insert(e.name).second);
    int i = std::stoi(e.name.substr(6));
    if (i % 7 == 0) {
      REQUIRE(e.stat.is_dir());
    } else {
      REQUIRE(e.stat.is_regular());
      REQUIRE(e.stat.size == static_cast<uint64_t>(i % 13));
    }
  }
  REQUIRE(got == want);
  REQUIRE(vol.list_dir("/d").size() == 700);

  juicefs::Dir d = vol.opendir("/d");
  juicefs::DirEntry e;
  REQUIRE(d.next(e));
  d.close();
  REQUIRE(!d);
  REQUIRE(ErrnoOf([&] { vol.opendir("/d/entry-1"); }) == ENOTDIR);
  REQUIRE(vol.list_dir("/d/entry-0").empty());
}
