// Data path of lib::File: writer slices, reader, positions, flags.
#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "tests/lib/test_util.h"

using namespace jfs;
using namespace jfs::lib;
using namespace jfs::lib::testing;

namespace {

constexpr uint64_t MiB = 1 << 20;
constexpr uint64_t kChunk = 64 * MiB;

// Reads [off, off+size) through `f` in pieces and compares with `want` (same length).
void CheckRange(File& f, uint64_t off, const std::string& want) {
  std::string got;
  REQUIRE_OK(PreadAll(f, off, want.size(), &got));
  REQUIRE(got.size() == want.size());
  if (got != want) {
    size_t i = 0;
    while (got[i] == want[i]) ++i;
    FAIL("first difference at file offset " << off + i);
  }
}

}  // namespace

TEST_CASE("small file round trip", "[io]") {
  TestVolume tv;
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/hello.txt", "hello, world"));
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/hello.txt", &got));
  CHECK(got == "hello, world");
  Attr attr;
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/hello.txt", &attr, nullptr));
  CHECK(attr.length == 12);
  CHECK(attr.typ == meta::kTypeFile);

  // An empty file.
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/empty", ""));
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/empty", &got));
  CHECK(got.empty());
}

TEST_CASE("no disk cache on the file system of a local-directory store, unless asked", "[io]") {
  for (const bool keep : {false, true}) {
    TempDir cache;  // on the file system of the volume's data: both are in the temp directory
    VolumeOptions vo;
    vo.cache_dir = cache.path();
    vo.cache_size = 64ull << 20;
    vo.cache_same_disk = keep;
    TestVolume tv(4096, vo);
    REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/small", "cached only when kept"));
    std::string got;
    REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/small", &got));
    CHECK(got == "cached only when kept");
    REQUIRE_OK(tv.vol->Close());  // writes what the cache has queued
    tv.vol.reset();
    size_t files = 0;
    if (fs::exists(cache.path())) {
      for (const auto& e : fs::recursive_directory_iterator(cache.path())) {
        files += e.is_regular_file() ? 1 : 0;
      }
    }
    INFO("keep=" << keep);
    CHECK((files > 0) == keep);
  }
}

TEST_CASE("10 MiB file: data and object names follow format.md 1.4", "[io]") {
  TestVolume tv;  // 4 MiB blocks
  const std::string data = RandomBytes(10 * MiB, 1);
  {
    std::shared_ptr<File> f;
    REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/big", O_WRONLY | O_CREAT, 0644, &f));
    // Odd-sized sequential writes: they must extend one slice.
    size_t off = 0, step = 1 * MiB + 4097;
    while (off < data.size()) {
      size_t n = std::min(step, data.size() - off);
      REQUIRE_OK(WriteAll(*f, std::string_view(data).substr(off, n)));
      off += n;
    }
    REQUIRE_OK(f->Close());
  }
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/big", &got));
  REQUIRE(got.size() == data.size());
  CHECK(got == data);

  std::vector<std::string> objs = tv.Objects("chunks");
  REQUIRE(objs.size() == 3);
  // All three blocks belong to one slice id.
  const std::string base = fs::path(objs[0]).filename().string();
  const uint64_t id = std::stoull(base.substr(0, base.find('_')));
  const std::string dir = "testvol/chunks/" + std::to_string(id / 1000 / 1000) + "/" +
                          std::to_string(id / 1000) + "/" + std::to_string(id);
  std::vector<std::string> want = {dir + "_0_4194304", dir + "_1_4194304", dir + "_2_2097152"};
  std::sort(want.begin(), want.end());
  CHECK(objs == want);
  // Block contents are the raw bytes (compression none).
  std::ifstream in(tv.bucket + dir + "_2_2097152", std::ios::binary);
  std::string block((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(block == data.substr(8 * MiB));

  // The volume's uuid object.
  std::ifstream uin(tv.bucket + "testvol/juicefs_uuid", std::ios::binary);
  std::string uuid((std::istreambuf_iterator<char>(uin)), std::istreambuf_iterator<char>());
  CHECK(uuid == tv.format.uuid);
}

TEST_CASE("uncommitted slices are extended and overwritten in place", "[io]") {
  TestVolume tv;  // 4 MiB blocks: nothing below is flushed early
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/w", O_RDWR | O_CREAT, 0644, &f));
  std::string model = RandomBytes(MiB, 31);
  uint64_t n = 0;
  REQUIRE_OK(f->Pwrite(model.data(), model.size(), 0, &n));
  REQUIRE_OK(f->Pwrite("inside", 6, 1000, &n));       // inside: same slice
  REQUIRE_OK(f->Pwrite("append", 6, MiB, &n));        // contiguous: same slice
  REQUIRE_OK(f->Pwrite("tail", 4, MiB + 6 - 2, &n));  // overlapping the end: same slice
  model.replace(1000, 6, "inside");
  model += "appe";
  model += "tail";
  REQUIRE_OK(f->Close());
  std::vector<std::string> objs = tv.Objects("chunks");
  REQUIRE(objs.size() == 1);  // one slice, one block
  CHECK(objs[0].substr(objs[0].rfind('_')) == "_" + std::to_string(model.size()));
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/w", &got));
  CHECK(got == model);

  // A gap, or a write below the slice start, needs a new slice; a later write may extend the
  // newer slice but never an older one it overlaps.
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/w", O_RDWR, 0, &f));
  REQUIRE_OK(f->Pwrite("A", 1, 3 * MiB, &n));      // slice 2 (gap)
  REQUIRE_OK(f->Pwrite("B", 1, 10, &n));           // slice 3 (below)
  REQUIRE_OK(f->Pwrite("C", 1, 11, &n));           // extends slice 3
  REQUIRE_OK(f->Pwrite("D", 1, 3 * MiB + 1, &n));  // extends slice 2
  REQUIRE_OK(f->Close());
  CHECK(tv.Objects("chunks").size() == 3);
  model.resize(3 * MiB + 2, '\0');
  model.replace(10, 2, "BC");
  model.replace(3 * MiB, 2, "AD");
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/w", &got));
  CHECK(got == model);
}

TEST_CASE("full blocks of a growing slice upload early and are never rewritten", "[io]") {
  TestVolume tv(64);  // 64 KiB blocks
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/e", O_RDWR | O_CREAT, 0644, &f));
  std::string model = RandomBytes(200 << 10, 32);
  uint64_t n = 0;
  REQUIRE_OK(f->Pwrite(model.data(), model.size(), 0, &n));
  // Blocks 0-2 are uploaded (or uploading) before any commit.
  for (int i = 0; i < 100 && tv.Objects("chunks").size() < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(tv.Objects("chunks").size() == 3);
  // Overwriting an uploaded block goes to a new slice; the unflushed tail is still writable.
  REQUIRE_OK(f->Pwrite("X", 1, 100, &n));
  REQUIRE_OK(f->Pwrite("Y", 1, (200 << 10) - 1, &n));
  model[100] = 'X';
  model[(200 << 10) - 1] = 'Y';
  std::string got;
  REQUIRE_OK(PreadAll(*f, 0, model.size(), &got));
  CHECK(got == model);
  REQUIRE_OK(f->Close());
  CHECK(tv.Objects("chunks").size() == 5);  // 4 blocks of the first slice + 1 of the second
}

TEST_CASE("writes across a chunk boundary and sparse regions", "[io]") {
  TestVolume tv(1024);  // 1 MiB blocks
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/sparse", O_RDWR | O_CREAT, 0644, &f));
  const std::string a = RandomBytes(3 * MiB, 2);  // [64M - 1.5M, 64M + 1.5M)
  const std::string b = RandomBytes(100000, 3);   // at 130 MiB + 7
  const std::string c = RandomBytes(5000, 4);     // at 10
  const uint64_t aoff = kChunk - 3 * MiB / 2, boff = 130 * MiB + 7, coff = 10;
  uint64_t n = 0;
  REQUIRE_OK(f->Pwrite(a.data(), a.size(), aoff, &n));
  REQUIRE(n == a.size());
  REQUIRE_OK(f->Pwrite(b.data(), b.size(), boff, &n));
  REQUIRE_OK(f->Pwrite(c.data(), c.size(), coff, &n));

  Attr attr;
  REQUIRE_OK(f->Fstat(&attr));
  CHECK(attr.length == boff + b.size());  // includes uncommitted writes

  auto check_all = [&](File& file) {
    CheckRange(file, aoff, a);
    CheckRange(file, boff, b);
    CheckRange(file, coff, c);
    // Holes read as zeros, including across the chunk boundary before b.
    CheckRange(file, 0, std::string(coff, '\0'));
    CheckRange(file, coff + c.size(), std::string(MiB, '\0'));
    CheckRange(file, aoff + a.size(), std::string(3 * MiB, '\0'));
    CheckRange(file, 2 * kChunk - MiB, std::string(2 * MiB, '\0'));
    // One read spanning a's end and zeros.
    std::string mixed = a.substr(a.size() - 1000) + std::string(1000, '\0');
    CheckRange(file, aoff + a.size() - 1000, mixed);
    // Reading past EOF is short, at EOF it is empty.
    std::string tail;
    REQUIRE_OK(PreadAll(file, boff + b.size() - 10, 100, &tail));
    CHECK(tail == b.substr(b.size() - 10));
    REQUIRE_OK(PreadAll(file, boff + b.size(), 100, &tail));
    CHECK(tail.empty());
  };
  check_all(*f);
  REQUIRE_OK(f->Close());

  // From a fresh Volume (everything committed, read from objects).
  auto v2 = tv.OpenAnother();
  std::shared_ptr<File> g;
  REQUIRE_OK(v2->OpenFile(tv.ctx, "/sparse", O_RDONLY, 0, &g));
  REQUIRE_OK(g->Fstat(&attr));
  CHECK(attr.length == boff + b.size());
  check_all(*g);
  REQUIRE_OK(g->Close());
  REQUIRE_OK(v2->Close());
}

// Random writes, reads, flushes and truncates compared with an in-memory model of the file.
static void RandomPattern(uint32_t block_kib, uint64_t buffer_size, uint64_t seed) {
  VolumeOptions vo;
  vo.buffer_size = buffer_size;
  TestVolume tv(block_kib, vo);
  const uint64_t bs = uint64_t{block_kib} * 1024;
  // Offsets live in two windows: the file start and around the first chunk boundary.
  const uint64_t w2 = kChunk - 2 * MiB;
  auto pick_offset = [&](std::mt19937_64& rng) -> uint64_t {
    return (rng() % 2) ? rng() % (3 * MiB) : w2 + rng() % (4 * MiB);
  };
  std::string model;  // file contents
  std::mt19937_64 rng(seed);
  std::shared_ptr<File> f, f2;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/rand", O_RDWR | O_CREAT, 0644, &f));
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/rand", O_RDWR, 0, &f2));  // a second handle
  uint64_t last_end = 0, last_off = 0;
  auto apply = [&](uint64_t off, const std::string& d) {
    if (model.size() < off + d.size()) model.resize(off + d.size(), '\0');
    memcpy(&model[off], d.data(), d.size());
  };
  for (int step = 0; step < 400; ++step) {
    const int op = static_cast<int>(rng() % 100);
    File& h = (rng() % 4 == 0) ? *f2 : *f;
    if (op < 60) {
      uint64_t off;
      const int kind = static_cast<int>(rng() % 4);
      if (kind == 0) {
        off = last_end;  // contiguous: extends the slice
      } else if (kind == 1 && last_end > last_off) {
        off = last_off + rng() % (last_end - last_off);  // inside the last write
      } else if (kind == 2) {
        off = last_end > 100 ? last_end - rng() % 100 : 0;  // overlapping its tail
      } else {
        off = pick_offset(rng);
      }
      const uint64_t len = 1 + rng() % ((rng() % 8 == 0) ? 2 * bs : 70000);
      std::string d = RandomBytes(len, rng());
      uint64_t n = 0;
      REQUIRE_OK(h.Pwrite(d.data(), d.size(), off, &n));
      REQUIRE(n == len);
      apply(off, d);
      last_off = off;
      last_end = off + len;
    } else if (op < 85) {
      const uint64_t off = (rng() % 3 == 0) ? last_off : pick_offset(rng);
      const uint64_t len = 1 + rng() % (3 * bs);
      std::string got;
      REQUIRE_OK(PreadAll(h, off, len, &got));
      std::string want;
      if (off < model.size()) want = model.substr(off, len);
      INFO("step " << step << " read " << off << "+" << len);
      REQUIRE(got.size() == want.size());
      REQUIRE(got == want);
    } else if (op < 92) {
      Attr attr;
      REQUIRE_OK(h.Fstat(&attr));
      REQUIRE(attr.length == model.size());
      uint64_t pos = 0;
      REQUIRE_OK(h.Lseek(0, SEEK_END, &pos));
      REQUIRE(pos == model.size());
    } else if (op < 97) {
      REQUIRE_OK(h.Flush());
    } else {
      const uint64_t len = pick_offset(rng);
      REQUIRE_OK(h.Ftruncate(len));
      model.resize(len, '\0');
      last_end = std::min(last_end, len);
      last_off = std::min(last_off, last_end);
    }
  }
  REQUIRE_OK(f2->Close());
  REQUIRE_OK(f->Close());

  // Everything is in meta and objects now: check from another Volume.
  auto v2 = tv.OpenAnother();
  std::shared_ptr<File> g;
  REQUIRE_OK(v2->OpenFile(tv.ctx, "/rand", O_RDONLY, 0, &g));
  Attr attr;
  REQUIRE_OK(g->Fstat(&attr));
  REQUIRE(attr.length == model.size());
  for (uint64_t off = 0; off < model.size(); off += 4 * MiB) {
    CheckRange(*g, off, model.substr(off, 4 * MiB));
  }
  REQUIRE_OK(g->Close());
  REQUIRE_OK(v2->Close());
}

TEST_CASE("random pwrite patterns match a byte model", "[io][model]") {
  SECTION("64 KiB blocks, default buffer") {
    RandomPattern(64, 300 * MiB, 11);
  }
  SECTION("64 KiB blocks, tiny buffer forces early commits") {
    RandomPattern(64, 256 << 10, 12);
  }
  SECTION("1 MiB blocks") {
    RandomPattern(1024, 300 * MiB, 13);
  }
}

TEST_CASE("sequential Read/Write keep the position", "[io]") {
  TestVolume tv;
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/pos", O_RDWR | O_CREAT, 0644, &f));
  REQUIRE_OK(WriteAll(*f, "abc"));
  REQUIRE_OK(WriteAll(*f, "defg"));
  uint64_t pos = 0;
  REQUIRE_OK(f->Lseek(0, SEEK_CUR, &pos));
  CHECK(pos == 7);
  REQUIRE_OK(f->Lseek(1, SEEK_SET, &pos));
  char buf[16];
  uint64_t n = 0;
  REQUIRE_OK(f->Read(buf, 3, &n));
  CHECK(std::string(buf, n) == "bcd");
  REQUIRE_OK(f->Read(buf, sizeof(buf), &n));
  CHECK(std::string(buf, n) == "efg");
  REQUIRE_OK(f->Read(buf, sizeof(buf), &n));
  CHECK(n == 0);
  // Pread/Pwrite leave the position alone.
  REQUIRE_OK(f->Pwrite("XY", 2, 0, &n));
  REQUIRE_OK(f->Pread(buf, 2, 0, &n));
  CHECK(std::string(buf, n) == "XY");
  REQUIRE_OK(f->Lseek(0, SEEK_CUR, &pos));
  CHECK(pos == 7);
  // Writing after a seek past EOF leaves a hole of zeros.
  REQUIRE_OK(f->Lseek(10, SEEK_SET, &pos));
  REQUIRE_OK(WriteAll(*f, "Z"));
  std::string got;
  REQUIRE_OK(PreadAll(*f, 0, 100, &got));
  CHECK(got == std::string("XYcdefg\0\0\0Z", 11));
  REQUIRE_OK(f->Close());
}

TEST_CASE("O_APPEND writes at the end of file", "[io]") {
  TestVolume tv;
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/log", "start;"));
  std::shared_ptr<File> a, b;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/log", O_WRONLY | O_APPEND, 0, &a));
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/log", O_RDWR | O_APPEND, 0, &b));
  uint64_t pos = 0;
  REQUIRE_OK(a->Lseek(0, SEEK_SET, &pos));
  REQUIRE_OK(WriteAll(*a, "a1;"));
  REQUIRE_OK(WriteAll(*b, "b1;"));  // b's position is 0, but appends after a's bytes
  REQUIRE_OK(WriteAll(*a, "a2;"));
  REQUIRE_OK(a->Lseek(0, SEEK_CUR, &pos));
  CHECK(pos == 15);
  // pwrite on an O_APPEND handle writes at the given offset (POSIX).
  uint64_t n = 0;
  REQUIRE_OK(b->Pwrite("S", 1, 0, &n));
  REQUIRE_OK(a->Close());
  REQUIRE_OK(b->Close());
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/log", &got));
  CHECK(got == "Start;a1;b1;a2;");
}

TEST_CASE("O_TRUNC, O_EXCL, O_CREAT", "[io]") {
  TestVolume tv;
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/f", std::string(100, 'x')));
  std::shared_ptr<File> f;
  Attr attr;
  // O_TRUNC with read-only access does not truncate.
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/f", O_RDONLY | O_TRUNC, 0, &f));
  REQUIRE_OK(f->Close());
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/f", &attr, nullptr));
  CHECK(attr.length == 100);
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/f", O_WRONLY | O_TRUNC, 0, &f));
  REQUIRE_OK(f->Fstat(&attr));
  CHECK(attr.length == 0);
  REQUIRE_OK(WriteAll(*f, "new"));
  REQUIRE_OK(f->Close());
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/f", &got));
  CHECK(got == "new");

  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/f", O_WRONLY | O_CREAT | O_EXCL, 0644, &f), EEXIST);
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/g", O_WRONLY | O_CREAT | O_EXCL, 0640, &f));
  REQUIRE_OK(f->Close());
  REQUIRE_OK(tv.vol->Stat(tv.ctx, "/g", &attr, nullptr));
  CHECK(attr.mode == (0640 & ~022));
  // O_CREAT without O_EXCL opens an existing file and keeps its data.
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/f", O_RDWR | O_CREAT, 0644, &f));
  REQUIRE_OK(f->Fstat(&attr));
  CHECK(attr.length == 3);
  REQUIRE_OK(f->Close());
  // Missing without O_CREAT.
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/missing", O_RDONLY, 0, &f), ENOENT);
  // O_CREAT|O_EXCL on a dangling symlink: EEXIST, nothing created.
  REQUIRE_OK(tv.vol->Symlink(tv.ctx, "/target", "/dangling"));
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/dangling", O_WRONLY | O_CREAT | O_EXCL, 0644, &f), EEXIST);
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/target", nullptr, nullptr), ENOENT);
  // O_CREAT alone follows it and creates the target.
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/dangling", O_WRONLY | O_CREAT, 0644, &f));
  REQUIRE_OK(WriteAll(*f, "via link"));
  REQUIRE_OK(f->Close());
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/target", &got));
  CHECK(got == "via link");
  // O_CREAT with a trailing slash.
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/newdir/", O_WRONLY | O_CREAT, 0644, &f), EISDIR);
}

TEST_CASE("handle access modes and directories", "[io]") {
  TestVolume tv;
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/f", "data"));
  REQUIRE_OK(tv.vol->Mkdir(tv.ctx, "/d", 0755));
  std::shared_ptr<File> w, r, d;
  char buf[8];
  uint64_t n = 0;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/f", O_WRONLY, 0, &w));
  CHECK_ERRNO(w->Read(buf, sizeof(buf), &n), EBADF);
  CHECK_ERRNO(w->Pread(buf, sizeof(buf), 0, &n), EBADF);
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/f", O_RDONLY, 0, &r));
  CHECK_ERRNO(r->Write("x", 1, &n), EBADF);
  CHECK_ERRNO(r->Pwrite("x", 1, 0, &n), EBADF);
  CHECK_ERRNO(r->Ftruncate(0), EINVAL);
  REQUIRE_OK(w->Close());
  REQUIRE_OK(r->Close());
  // Closed handles.
  CHECK_ERRNO(r->Read(buf, sizeof(buf), &n), EBADF);
  CHECK_ERRNO(r->Close(), EBADF);

  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/d", O_RDONLY | O_DIRECTORY, 0, &d));
  CHECK_ERRNO(d->Read(buf, sizeof(buf), &n), EISDIR);
  Attr attr;
  REQUIRE_OK(d->Fstat(&attr));
  CHECK(attr.typ == meta::kTypeDirectory);
  REQUIRE_OK(d->Close());
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/d", O_WRONLY, 0, &d), EISDIR);
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/d", O_RDWR, 0, &d), EISDIR);
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/d", O_RDONLY | O_CREAT, 0644, &d), EISDIR);
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/f", O_RDONLY | O_DIRECTORY, 0, &d), ENOTDIR);
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/f/", O_RDONLY, 0, &d), ENOTDIR);
  CHECK_ERRNO(tv.vol->OpenFile(tv.ctx, "/f", O_ACCMODE, 0, &d), EINVAL);

  // Permissions come from meta->Open.
  Context user;
  user.uid = 1000;
  user.gids = {1000};
  REQUIRE_OK(tv.vol->Chmod(tv.ctx, "/f", 0644));
  CHECK_ERRNO(tv.vol->OpenFile(user, "/f", O_WRONLY, 0, &d), EACCES);
  REQUIRE_OK(tv.vol->OpenFile(user, "/f", O_RDONLY, 0, &d));
  REQUIRE_OK(d->Close());
}

TEST_CASE("lseek", "[io]") {
  TestVolume tv;
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/s", O_RDWR | O_CREAT, 0644, &f));
  REQUIRE_OK(WriteAll(*f, std::string(1000, 'a')));  // uncommitted
  uint64_t pos = 0;
  REQUIRE_OK(f->Lseek(0, SEEK_END, &pos));
  CHECK(pos == 1000);
  REQUIRE_OK(f->Lseek(-10, SEEK_END, &pos));
  CHECK(pos == 990);
  REQUIRE_OK(f->Lseek(5, SEEK_CUR, &pos));
  CHECK(pos == 995);
  REQUIRE_OK(f->Lseek(-995, SEEK_CUR, &pos));
  CHECK(pos == 0);
  CHECK_ERRNO(f->Lseek(-1, SEEK_CUR, &pos), EINVAL);
  CHECK_ERRNO(f->Lseek(-1, SEEK_SET, &pos), EINVAL);
  CHECK_ERRNO(f->Lseek(-1001, SEEK_END, &pos), EINVAL);
  CHECK_ERRNO(f->Lseek(0, 12345, &pos), EINVAL);
  REQUIRE_OK(f->Lseek(0, SEEK_CUR, &pos));
  CHECK(pos == 0);  // failed seeks leave the position
  REQUIRE_OK(f->Lseek(5000, SEEK_SET, &pos));
  CHECK(pos == 5000);
  char buf[4];
  uint64_t n = 1;
  REQUIRE_OK(f->Read(buf, 4, &n));
  CHECK(n == 0);
  REQUIRE_OK(f->Lseek(100, SEEK_DATA, &pos));
  CHECK(pos == 100);
  REQUIRE_OK(f->Lseek(100, SEEK_HOLE, &pos));
  CHECK(pos == 1000);
  CHECK_ERRNO(f->Lseek(1000, SEEK_DATA, &pos), ENXIO);
  CHECK_ERRNO(f->Lseek(2000, SEEK_HOLE, &pos), ENXIO);
  REQUIRE_OK(f->Close());
}

TEST_CASE("ftruncate and truncate flush pending writes first", "[io]") {
  TestVolume tv;
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/t", O_RDWR | O_CREAT, 0644, &f));
  const std::string d = RandomBytes(3 * MiB, 5);
  REQUIRE_OK(WriteAll(*f, d));
  REQUIRE_OK(f->Ftruncate(MiB));
  Attr attr;
  REQUIRE_OK(f->Fstat(&attr));
  CHECK(attr.length == MiB);
  CheckRange(*f, 0, d.substr(0, MiB));
  // Growing reads zeros.
  REQUIRE_OK(f->Ftruncate(2 * MiB));
  CheckRange(*f, 0, d.substr(0, MiB) + std::string(MiB, '\0'));
  // Path truncate while this Volume holds uncommitted data for the inode.
  uint64_t n = 0;
  REQUIRE_OK(f->Pwrite("zzzz", 4, 10, &n));
  REQUIRE_OK(tv.vol->Truncate(tv.ctx, "/t", 12));
  std::string got;
  REQUIRE_OK(PreadAll(*f, 0, 100, &got));
  CHECK(got == d.substr(0, 10) + "zz");
  REQUIRE_OK(f->Close());
  CHECK_ERRNO(tv.vol->Truncate(tv.ctx, "/", 0), EISDIR);
}

TEST_CASE("unlink while open keeps data until close, then objects are deleted", "[io]") {
  TestVolume tv(1024);
  const std::string d = RandomBytes(5 * MiB + 3, 6);
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/doomed", d));
  CHECK(tv.Objects("chunks").size() == 6);
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/doomed", O_RDONLY, 0, &f));
  REQUIRE_OK(tv.vol->Unlink(tv.ctx, "/doomed"));
  CHECK_ERRNO(tv.vol->Stat(tv.ctx, "/doomed", nullptr, nullptr), ENOENT);
  CheckRange(*f, 0, d);
  CHECK(tv.Objects("chunks").size() == 6);
  REQUIRE_OK(f->Close());
  // Deletion may run in the background: wait up to 10 s.
  for (int i = 0; i < 100 && !tv.Objects("chunks").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(tv.Objects("chunks").empty());

  // Written but never flushed before the unlink: nothing leaks either.
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/doomed2", O_RDWR | O_CREAT, 0644, &f));
  REQUIRE_OK(WriteAll(*f, d));
  REQUIRE_OK(tv.vol->Unlink(tv.ctx, "/doomed2"));
  CheckRange(*f, 0, d);
  REQUIRE_OK(f->Close());
  for (int i = 0; i < 100 && !tv.Objects("chunks").empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(tv.Objects("chunks").empty());
}

TEST_CASE("close-to-open between two Volumes", "[io]") {
  TestVolume tv;
  auto other = tv.OpenAnother();
  std::shared_ptr<File> w, r;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/shared", O_WRONLY | O_CREAT, 0644, &w));
  REQUIRE_OK(WriteAll(*w, "version1"));
  REQUIRE_OK(w->Close());
  std::string got;
  REQUIRE_OK(ReadFile(*other, tv.ctx, "/shared", &got));
  CHECK(got == "version1");

  // Buffered (unflushed) data is not visible to the other client; after Flush it is.
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/shared", O_WRONLY, 0, &w));
  uint64_t n = 0;
  REQUIRE_OK(w->Pwrite("-more", 5, 8, &n));
  REQUIRE_OK(ReadFile(*other, tv.ctx, "/shared", &got));
  CHECK(got == "version1");
  REQUIRE_OK(w->Flush());
  REQUIRE_OK(ReadFile(*other, tv.ctx, "/shared", &got));
  CHECK(got == "version1-more");

  // The other client writes; our fresh open sees it.
  REQUIRE_OK(WriteFile(*other, tv.ctx, "/shared", "from other"));
  REQUIRE_OK(w->Close());
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/shared", &got));
  CHECK(got == "from other");
  REQUIRE_OK(other->Close());
}

TEST_CASE("Volume::Close flushes open files and invalidates handles", "[io]") {
  TestVolume tv;
  auto v = tv.OpenAnother();
  std::shared_ptr<File> f;
  REQUIRE_OK(v->OpenFile(tv.ctx, "/late", O_WRONLY | O_CREAT, 0644, &f));
  REQUIRE_OK(WriteAll(*f, "unflushed"));
  std::unique_ptr<DirStream> ds;
  REQUIRE_OK(v->OpenDir(tv.ctx, "/", &ds));
  REQUIRE_OK(v->Close());
  uint64_t n = 0;
  CHECK_ERRNO(f->Write("x", 1, &n), EBADF);
  CHECK_ERRNO(f->Close(), EBADF);
  DirEntry e;
  bool end = false;
  CHECK_ERRNO(ds->Next(&e, &end), EBADF);
  CHECK_ERRNO(v->Mkdir(tv.ctx, "/x", 0755), EBADF);
  v.reset();
  f.reset();  // a handle outliving its Volume is safe
  std::string got;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/late", &got));
  CHECK(got == "unflushed");
}

TEST_CASE("concurrent writers under buffer pressure", "[io]") {
  VolumeOptions vo;
  vo.buffer_size = 2 * MiB;
  TestVolume tv(64, vo);
  constexpr int kThreads = 4;
  std::vector<std::string> data;
  for (int i = 0; i < kThreads; ++i) data.push_back(RandomBytes(3 * MiB + i * 1111, 100 + i));
  std::vector<Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      std::shared_ptr<File> f;
      std::string path = "/c" + std::to_string(i);
      Status s = tv.vol->OpenFile(tv.ctx, path, O_WRONLY | O_CREAT, 0644, &f);
      for (size_t off = 0; s.ok() && off < data[i].size(); off += 50000) {
        uint64_t n = 0;
        s = f->Write(data[i].data() + off, std::min<size_t>(50000, data[i].size() - off), &n);
      }
      if (s.ok()) s = f->Close();
      results[i] = s;
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    INFO("thread " << i << ": " << results[i].ToString());
    CHECK(results[i].ok());
    std::string got;
    REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/c" + std::to_string(i), &got));
    CHECK(got == data[i]);
  }
}

TEST_CASE("offsets beyond 4 GiB", "[io]") {
  TestVolume tv;
  const uint64_t off = (uint64_t{5} << 30) - 3 * MiB;  // chunk 79, around the 5 GiB mark
  const std::string d = RandomBytes(6 * MiB, 21);
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/far", O_RDWR | O_CREAT, 0644, &f));
  uint64_t n = 0;
  REQUIRE_OK(f->Pwrite(d.data(), d.size(), off, &n));
  REQUIRE_OK(f->Close());
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/far", O_RDONLY, 0, &f));
  Attr attr;
  REQUIRE_OK(f->Fstat(&attr));
  CHECK(attr.length == off + d.size());
  uint64_t pos = 0;
  REQUIRE_OK(f->Lseek(-static_cast<int64_t>(d.size()) - 100, SEEK_END, &pos));
  CHECK(pos == off - 100);
  std::string got(d.size() + 1000, 'x');
  REQUIRE_OK(f->Read(got.data(), got.size(), &n));
  CHECK(n == d.size() + 100);
  got.resize(n);
  CHECK(got == std::string(100, '\0') + d);
  REQUIRE_OK(f->Close());
}

namespace {

// A buffer of `windows` x 64 MiB whose first and last windows are private memory and whose middle
// windows all alias one shared 64 MiB page set: a > 2 GiB read target that needs ~192 MiB of RAM.
// Only zeros may land in the middle (they overwrite each other harmlessly).
class AliasedBuffer {
 public:
  explicit AliasedBuffer(size_t windows) : size_(windows * kChunk) {
    void* base =
        mmap(nullptr, size_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) return;
    base_ = static_cast<char*>(base);
    fd_ = memfd_create("jfs-test-window", 0);
    if (fd_ < 0 || ftruncate(fd_, kChunk) != 0) return;
    for (size_t w = 0; w < windows; ++w) {
      const bool edge = w == 0 || w + 1 == windows;
      void* at = base_ + w * kChunk;
      void* p = edge ? mmap(at, kChunk, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)
                     : mmap(at, kChunk, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd_, 0);
      if (p == MAP_FAILED) return;
    }
    ok_ = true;
  }
  ~AliasedBuffer() {
    if (base_ != nullptr) munmap(base_, size_);
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }
  char* data() { return base_; }
  size_t size() const { return size_; }

 private:
  size_t size_;
  char* base_ = nullptr;
  int fd_ = -1;
  bool ok_ = false;
};

}  // namespace

// Hidden (run with `test_lib "[large]"`): touching 2 GiB of buffer takes ~30 s in a micro-VM,
// where page faults are slow.
TEST_CASE("one read of more than 2 GiB", "[.][large]") {
  TestVolume tv;
  const uint64_t len = (uint64_t{2} << 30) + 5000;
  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/huge", O_RDWR | O_CREAT, 0644, &f));
  uint64_t n = 0;
  REQUIRE_OK(f->Pwrite("head", 4, 0, &n));
  REQUIRE_OK(f->Pwrite("tail", 4, len - 4, &n));
  REQUIRE_OK(f->Flush());
  AliasedBuffer m(33);  // 2 GiB + 64 MiB
  REQUIRE(m.ok());
  memset(m.data() + len - 8, 'x', 108);
  memset(m.data() + 5, 'x', 100);
  REQUIRE_OK(f->Pread(m.data(), len + 100, 0, &n));
  CHECK(n == len);
  CHECK(std::string(m.data(), 8) == std::string("head\0\0\0\0", 8));
  CHECK(std::string(m.data() + len - 8, 8) == std::string("\0\0\0\0tail", 8));
  CHECK(m.data()[len] == 'x');  // nothing past the end was touched
  CHECK(m.data()[(uint64_t{1} << 31) + 17] == 0);
  CHECK(m.data()[kChunk + 5] == 0);
  REQUIRE_OK(f->Close());
}

// Blocks in the file backend are not flushed per write; fsync flushes the blocks of the slices
// committed for the inode. A block object replaced by a FIFO cannot be fsync'd (EINVAL), which
// shows which objects an fsync touches.
TEST_CASE("fsync flushes the inode's unsynced blocks, once, through any handle", "[io]") {
  TestVolume tv;
  auto block_of = [&](const std::string& before_marker) {
    std::vector<std::string> objs = tv.Objects("chunks");
    REQUIRE(!objs.empty());
    for (const auto& o : objs) {
      if (o > before_marker) return tv.bucket + o;
    }
    FAIL("no new block object");
    return std::string();
  };
  auto to_fifo = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    REQUIRE(::unlink(path.c_str()) == 0);
    REQUIRE(::mkfifo(path.c_str(), 0644) == 0);
    return bytes;
  };
  auto restore = [](const std::string& path, const std::string& bytes) {
    REQUIRE(::unlink(path.c_str()) == 0);
    std::ofstream(path, std::ios::binary) << bytes;
  };

  std::shared_ptr<File> f;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/a", O_RDWR | O_CREAT, 0644, &f));
  REQUIRE_OK(WriteAll(*f, RandomBytes(5000, 1)));
  REQUIRE_OK(f->Flush());  // committed, not yet durable
  const std::string a_block = block_of("");
  std::string saved = to_fifo(a_block);
  CHECK_FALSE(f->Fsync().ok());  // the block could not be flushed: fsync says so
  CHECK_FALSE(f->Fsync().ok());  // and it stays to be flushed
  restore(a_block, saved);
  CHECK_OK(f->Fsync());
  saved = to_fifo(a_block);
  CHECK_OK(f->Fsync());  // already durable: nothing flushed again
  restore(a_block, saved);
  REQUIRE_OK(f->Close());

  // Written through a handle closed without fsync; flushed by an fsync of a later handle.
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/b", RandomBytes(7000, 2)));
  const std::string b_block = block_of(a_block.substr(tv.bucket.size()));
  saved = to_fifo(b_block);
  std::shared_ptr<File> other, rd;
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/a", O_RDONLY, 0, &other));
  CHECK_OK(other->Fsync());  // another inode's unsynced blocks are not its business
  REQUIRE_OK(tv.vol->OpenFile(tv.ctx, "/b", O_RDONLY, 0, &rd));
  CHECK_FALSE(rd->Fsync().ok());
  restore(b_block, saved);
  CHECK_OK(rd->Fsync());
  std::string back;
  REQUIRE_OK(ReadFile(*tv.vol, tv.ctx, "/b", &back));
  CHECK(back == RandomBytes(7000, 2));
  REQUIRE_OK(rd->Close());
  REQUIRE_OK(other->Close());
}
