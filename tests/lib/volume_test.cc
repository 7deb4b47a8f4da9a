// lib::Format and Volume::Open: validation, errors, the stored Format, read-only volumes.
#include <chrono>
#include <fstream>
#include <thread>

#include "tests/lib/test_util.h"

using namespace jfs;
using namespace jfs::lib;
using namespace jfs::lib::testing;

namespace {

FormatOptions Opts(const TempDir& dir, const std::string& name = "vol") {
  FormatOptions o;
  o.name = name;
  o.bucket = dir.path() + "/data";
  o.trash_days = 0;
  return o;
}

std::string Url(const TempDir& dir) {
  return "sqlite3://" + dir.path() + "/meta.db";
}

bool IsUuidV4(const std::string& s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i])) ||
               std::isupper(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return s[14] == '4' && std::string("89ab").find(s[19]) != std::string::npos;
}

}  // namespace

TEST_CASE("Format validates the volume name", "[format]") {
  TempDir dir;
  for (const std::string& bad : std::vector<std::string>{"ab", "", "-abc", "abc-", "Abc", "ab_c",
                                                         "a.bc", std::string(64, 'a')}) {
    INFO("name \"" << bad << "\"");
    Status s = Format(Url(dir), Opts(dir, bad));
    CHECK(s.code() == EINVAL);
    CHECK(s.message().find("3-63") != std::string::npos);
  }
  // Nothing was created by the failed attempts.
  CHECK_FALSE(fs::exists(dir.path() + "/data"));
  meta::Format f;
  REQUIRE_OK(Format(Url(dir), Opts(dir, "a-" + std::string(61, '9')), &f));
  CHECK(f.name.size() == 63);
}

TEST_CASE("Format stores the settings", "[format]") {
  TempDir dir;
  FormatOptions o = Opts(dir, "my-vol1");
  o.block_size_kib = 1000;  // rounded down to a power of two
  o.capacity = 1 << 30;
  o.trash_days = 3;
  meta::Format f;
  REQUIRE_OK(Format(Url(dir), o, &f));
  CHECK(f.block_size_kib == 512);
  CHECK(f.bucket == dir.path() + "/data/");
  CHECK(f.storage == "file");
  CHECK(IsUuidV4(f.uuid));
  std::ifstream in(dir.path() + "/data/my-vol1/juicefs_uuid");
  std::string uuid;
  std::getline(in, uuid);
  CHECK(uuid == f.uuid);

  std::unique_ptr<Volume> v;
  REQUIRE_OK(Volume::Open(Url(dir), {}, &v));
  CHECK(v->format().uuid == f.uuid);
  CHECK(v->format().block_size_kib == 512);
  CHECK(v->format().capacity == uint64_t{1} << 30);
  CHECK(v->format().trash_days == 3);
  CHECK(v->session_id() != 0);
  REQUIRE_OK(v->Close());

  // A second format never yields the same UUID.
  TempDir dir2;
  meta::Format f2;
  REQUIRE_OK(Format(Url(dir2), Opts(dir2, "my-vol1"), &f2));
  CHECK(f2.uuid != f.uuid);
}

TEST_CASE("Format errors", "[format]") {
  TempDir dir;
  FormatOptions o = Opts(dir);
  o.block_size_kib = 32;
  CHECK_ERRNO(Format(Url(dir), o), EINVAL);
  o.block_size_kib = 32768;
  CHECK_ERRNO(Format(Url(dir), o), EINVAL);
  o = Opts(dir);
  o.storage = "nosuchstore";
  CHECK_ERRNO(Format(Url(dir), o), EINVAL);
  CHECK_ERRNO(Format("nosuch://x", Opts(dir)), EINVAL);
  CHECK_ERRNO(Format("not a url", Opts(dir)), EINVAL);

  meta::Format f;
  REQUIRE_OK(Format(Url(dir), Opts(dir), &f));
  Status s = Format(Url(dir), Opts(dir));
  CHECK(s.code() == EEXIST);
  CHECK(s.message().find("already formatted") != std::string::npos);
  // Force keeps the identity and applies the new settings.
  o = Opts(dir);
  o.force = true;
  o.capacity = uint64_t{12345} << 20;
  meta::Format f2;
  REQUIRE_OK(Format(Url(dir), o, &f2));
  CHECK(f2.uuid == f.uuid);
  std::unique_ptr<Volume> v;
  REQUIRE_OK(Volume::Open(Url(dir), {}, &v));
  CHECK(v->format().capacity == uint64_t{12345} << 20);
  REQUIRE_OK(v->Close());

  // A fresh database over a bucket that already holds this volume's objects is refused, and
  // the existing uuid object is left alone.
  TempDir other;
  s = Format("sqlite3://" + other.path() + "/meta.db", Opts(dir));
  CHECK(s.code() == EEXIST);
  std::ifstream in(dir.path() + "/data/vol/juicefs_uuid");
  std::string uuid;
  std::getline(in, uuid);
  CHECK(uuid == f.uuid);
}

TEST_CASE("Format defaults and relative buckets", "[format]") {
  TempDir dir;
  const char* old_home = std::getenv("HOME");
  std::string saved = old_home ? old_home : "";
  setenv("HOME", dir.path().c_str(), 1);
  FormatOptions o;
  o.name = "homevol";
  meta::Format f;
  Status s = Format(Url(dir), o, &f);
  if (old_home) {
    setenv("HOME", saved.c_str(), 1);
  } else {
    unsetenv("HOME");
  }
  REQUIRE_OK(s);
  CHECK(f.bucket == dir.path() + "/.juicefs/local/");
  CHECK(fs::exists(dir.path() + "/.juicefs/local/homevol/juicefs_uuid"));

  // Relative bucket: made absolute against the working directory.
  TempDir dir2;
  auto cwd = fs::current_path();
  fs::current_path(dir2.path());
  FormatOptions o2 = Opts(dir2, "relvol");
  o2.bucket = "./x/../rel";
  s = Format(Url(dir2), o2, &f);
  fs::current_path(cwd);
  REQUIRE_OK(s);
  CHECK(f.bucket == fs::canonical(dir2.path()).string() + "/rel/");
}

TEST_CASE("Volume::Open errors", "[open]") {
  TempDir dir;
  std::unique_ptr<Volume> v;
  Status s = Volume::Open(Url(dir), {}, &v);
  CHECK(s.code() == ENOENT);
  CHECK_FALSE(v);
  CHECK_ERRNO(Volume::Open("bogus://whatever", {}, &v), EINVAL);
  CHECK_ERRNO(Volume::Open("", {}, &v), EINVAL);
  VolumeOptions vo;
  vo.upload_threads = 0;
  REQUIRE_OK(Format(Url(dir), Opts(dir)));
  CHECK_ERRNO(Volume::Open(Url(dir), vo, &v), EINVAL);
}

TEST_CASE("read-only volumes refuse every mutation", "[open]") {
  TestVolume tv;
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/d", 0755));
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/f", "content"));
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "f", "/l"));
  VolumeOptions ro;
  ro.read_only = true;
  auto v = tv.OpenAnother(ro);
  CHECK(v->session_id() == 0);
  const Context& c = tv.ctx;
  std::shared_ptr<File> f;
  CHECK_ERRNO(v->Mkdir(c, "/x", 0755), EROFS);
  CHECK_ERRNO(v->MkdirAll(c, "/x/y", 0755), EROFS);
  REQUIRE_OK(v->MkdirAll(c, "/d", 0755));  // nothing to create
  CHECK_ERRNO(v->Rmdir(c, "/d"), EROFS);
  CHECK_ERRNO(v->Unlink(c, "/f"), EROFS);
  CHECK_ERRNO(v->Rename(c, "/f", "/g", 0), EROFS);
  CHECK_ERRNO(v->Link(c, "/f", "/g"), EROFS);
  CHECK_ERRNO(v->Symlink(c, "f", "/g"), EROFS);
  CHECK_ERRNO(v->Chmod(c, "/f", 0600), EROFS);
  CHECK_ERRNO(v->Chown(c, "/f", 1, 1, true), EROFS);
  CHECK_ERRNO(v->Utimens(c, "/f", nullptr, true), EROFS);
  CHECK_ERRNO(v->Truncate(c, "/f", 0), EROFS);
  CHECK_ERRNO(v->Mknod(c, "/p", S_IFIFO | 0644, 0), EROFS);
  CHECK_ERRNO(v->SetXattr(c, "/f", "user.a", "b", 0), EROFS);
  CHECK_ERRNO(v->RemoveXattr(c, "/f", "user.a"), EROFS);
  CHECK_ERRNO(v->Access(c, "/f", W_OK), EROFS);
  CHECK_ERRNO(v->OpenFile(c, "/f", O_WRONLY, 0, &f), EROFS);
  CHECK_ERRNO(v->OpenFile(c, "/f", O_RDWR, 0, &f), EROFS);
  CHECK_ERRNO(v->OpenFile(c, "/new", O_RDONLY | O_CREAT, 0644, &f), EROFS);
  // Reading works.
  std::string got;
  REQUIRE_OK(ReadFile(*v, c, "/l", &got));
  CHECK(got == "content");
  REQUIRE_OK(v->OpenFile(c, "/f", O_RDONLY | O_CREAT, 0644, &f));  // exists: plain open
  REQUIRE_OK(f->Close());
  std::unique_ptr<DirStream> ds;
  REQUIRE_OK(v->OpenDir(c, "/", &ds));
  int count = 0;
  while (true) {
    DirEntry e;
    bool end = false;
    REQUIRE_OK(ds->Next(&e, &end));
    if (end) break;
    ++count;
  }
  CHECK(count == 3);
  REQUIRE_OK(v->Close());
}

TEST_CASE("usage counters reach other clients through the background flush", "[open]") {
  TestVolume tv;
  auto other = tv.OpenAnother();
  StatVfs before;
  REQUIRE_OK(other->StatFs(tv.ctx, &before));
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/blob", std::string(3 << 20, 'b')));
  // tv.vol stays open: only its once-a-second FlushStats can publish the new usage.
  uint64_t used = 0;
  for (int i = 0; i < 50; ++i) {
    StatVfs now;
    REQUIRE_OK(other->StatFs(tv.ctx, &now));
    used = (now.total_bytes - now.free_bytes) - (before.total_bytes - before.free_bytes);
    if (used >= (3u << 20)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(used >= (3u << 20));
  REQUIRE_OK(other->Close());
}
