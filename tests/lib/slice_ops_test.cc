// lib/slice_ops.h: fallocate, copy_file_range, clone and compaction through open Volumes,
// including compaction while other clients overwrite and read the same file.
#include "lib/slice_ops.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <thread>

#include "lib/internal.h"
#include "lib/maintenance.h"
#include "tests/lib/test_util.h"

using namespace jfs;
using namespace jfs::lib;
using namespace jfs::lib::testing;

namespace {

std::shared_ptr<File> Open(Volume& v, const Context& ctx, const std::string& path, int flags) {
  std::shared_ptr<File> f;
  REQUIRE_OK(v.OpenFile(ctx, path, flags, 0644, &f));
  return f;
}

std::string Slurp(Volume& v, const Context& ctx, const std::string& path) {
  std::string s;
  REQUIRE_OK(ReadFile(v, ctx, path, &s));
  return s;
}

std::vector<meta::Slice> Records(Volume& v, const Context& ctx, const std::string& path,
                                 uint32_t indx = 0) {
  Attr a;
  Ino ino = 0;
  REQUIRE_OK(v.Stat(ctx, path, &a, &ino));
  std::vector<meta::Slice> recs;
  REQUIRE_OK(CoreOf(v)->meta().ReadChunk(ctx, ino, indx, &recs));
  return recs;
}

void Pwrite(File& f, uint64_t off, std::string_view data) {
  uint64_t n = 0;
  REQUIRE_OK(f.Pwrite(data.data(), data.size(), off, &n));
  REQUIRE(n == data.size());
}

// Region `r` of 4 KiB at version `ver`: every 8-byte word is r*2^32 + ver, xor'ed with its index,
// so a reader can tell a whole region of one version from a mix or from zeros.
constexpr size_t kRegion = 4096;
std::string RegionBytes(uint64_t r, uint64_t ver) {
  std::string s(kRegion, '\0');
  for (size_t i = 0; i < kRegion / 8; ++i) {
    uint64_t w = ((r << 32) | ver) ^ (uint64_t{i} * 0x9E3779B97F4A7C15ULL);
    std::memcpy(&s[i * 8], &w, 8);
  }
  return s;
}
// The version of region `r` in `data`, or -1 when the bytes are not exactly one version.
int64_t RegionVersion(uint64_t r, const char* data) {
  uint64_t w0 = 0;
  std::memcpy(&w0, data, 8);
  uint64_t ver = w0 & 0xFFFFFFFFULL;
  if ((w0 >> 32) != r) return -1;
  return std::memcmp(data, RegionBytes(r, ver).data(), kRegion) == 0 ? int64_t(ver) : -1;
}

}  // namespace

TEST_CASE("fallocate through a handle", "[slices]") {
  TestVolume tv;
  Volume& v = *tv.vol;
  const std::string data = RandomBytes(100000, 1);
  REQUIRE_OK(WriteFile(v, tv.ctx, "/f", data));
  auto f = Open(v, tv.ctx, "/f", O_RDWR);
  // Buffered (unflushed) data inside the punched range must be covered too.
  Pwrite(*f, 1000, std::string(500, 'x'));
  REQUIRE_OK(Fallocate(*f, meta::kFallocPunchHole | meta::kFallocKeepSize, 800, 1000));
  std::string got;
  REQUIRE_OK(PreadAll(*f, 0, 200000, &got));
  REQUIRE(got.size() == 100000);
  CHECK(got.substr(0, 800) == data.substr(0, 800));
  CHECK(got.substr(800, 1000) == std::string(1000, '\0'));
  CHECK(got.substr(1800) == data.substr(1800));

  REQUIRE_OK(Fallocate(*f, meta::kFallocZeroRange, 99000, 2000));
  Attr a;
  REQUIRE_OK(f->Fstat(&a));
  CHECK(a.length == 101000);
  REQUIRE_OK(Fallocate(*f, 0, 200000, 100));
  REQUIRE_OK(f->Fstat(&a));
  CHECK(a.length == 200100);
  REQUIRE_OK(Fallocate(*f, meta::kFallocKeepSize, 300000, 100));
  REQUIRE_OK(f->Fstat(&a));
  CHECK(a.length == 200100);
  REQUIRE_OK(f->Close());
  std::string all = Slurp(v, tv.ctx, "/f");
  REQUIRE(all.size() == 200100);
  CHECK(all.substr(99000) == std::string(200100 - 99000, '\0'));
  CHECK(all.substr(1800, 97200) == data.substr(1800, 97200));

  auto ro = Open(v, tv.ctx, "/f", O_RDONLY);
  CHECK_ERRNO(Fallocate(*ro, 0, 0, 10), EBADF);
  CHECK_ERRNO(Fallocate(*Open(v, tv.ctx, "/f", O_WRONLY), meta::kFallocPunchHole, 0, 10), EINVAL);
  REQUIRE_OK(v.Mkdir(tv.ctx, "/d", 0755));
  auto d = Open(v, tv.ctx, "/d", O_RDONLY);
  CHECK_ERRNO(Fallocate(*d, 0, 0, 10), EBADF);  // as Linux: a directory is never open for writing
}

TEST_CASE("copy_file_range shares data between files", "[slices]") {
  TestVolume tv;
  Volume& v = *tv.vol;
  std::string src = RandomBytes(9 << 20, 2);
  REQUIRE_OK(WriteFile(v, tv.ctx, "/src", src));
  auto in = Open(v, tv.ctx, "/src", O_RDWR);
  Pwrite(*in, 5000, std::string(3000, 'y'));  // unflushed: must be copied too
  src.replace(5000, 3000, std::string(3000, 'y'));
  auto out = Open(v, tv.ctx, "/dst", O_RDWR | O_CREAT);
  Pwrite(*out, 0, std::string(100, 'z'));

  const size_t objects_before = tv.Objects("chunks").size();
  uint64_t n = 0;
  REQUIRE_OK(CopyFileRange(*in, 1000, *out, 50, 8 << 20, 0, &n));
  CHECK(n == 8u << 20);
  REQUIRE_OK(CopyFileRange(*in, (9 << 20) - 10, *out, (8 << 20) + 50, 100, 0, &n));
  CHECK(n == 10);  // clamped to the source's end
  REQUIRE_OK(CopyFileRange(*in, 9 << 20, *out, 0, 100, 0, &n));
  CHECK(n == 0);
  CHECK(tv.Objects("chunks").size() == objects_before + 2);  // the two buffered writes only

  std::string expect =
      std::string(50, 'z') + src.substr(1000, 8 << 20) + src.substr(src.size() - 10);
  std::string got;
  REQUIRE_OK(PreadAll(*out, 0, 20 << 20, &got));
  CHECK((got == expect));
  REQUIRE_OK(out->Close());
  REQUIRE_OK(in->Close());

  // The copy outlives the source, and another client reads it.
  REQUIRE_OK(v.Unlink(tv.ctx, "/src"));
  auto other = tv.OpenAnother();
  CHECK((Slurp(*other, tv.ctx, "/dst") == expect));
  REQUIRE_OK(other->Close());

  // Overwriting the copy does not change what other copies share.
  REQUIRE_OK(WriteFile(v, tv.ctx, "/a", std::string(10000, 'a')));
  auto a = Open(v, tv.ctx, "/a", O_RDONLY);
  auto b = Open(v, tv.ctx, "/b", O_RDWR | O_CREAT);
  REQUIRE_OK(CopyFileRange(*a, 0, *b, 0, 10000, 0, &n));
  Pwrite(*b, 10, "BBBB");
  REQUIRE_OK(b->Close());
  CHECK(Slurp(v, tv.ctx, "/a") == std::string(10000, 'a'));
  CHECK(Slurp(v, tv.ctx, "/b").substr(8, 8) == "aaBBBBaa");

  // Errors.
  auto same = Open(v, tv.ctx, "/a", O_RDWR);
  CHECK_ERRNO(CopyFileRange(*same, 0, *same, 100, 1000, 0, &n), EINVAL);
  CHECK_ERRNO(CopyFileRange(*a, 0, *same, 20000, 10, 1, &n), EINVAL);
  CHECK_ERRNO(CopyFileRange(*a, 0, *a, 20000, 10, 0, &n), EBADF);  // a is read-only
  auto wo = Open(v, tv.ctx, "/a", O_WRONLY);
  CHECK_ERRNO(CopyFileRange(*wo, 0, *same, 20000, 10, 0, &n), EBADF);
  auto app = Open(v, tv.ctx, "/b", O_WRONLY | O_APPEND);
  CHECK_ERRNO(CopyFileRange(*a, 0, *app, 0, 10, 0, &n), EBADF);
}

TEST_CASE("clone copies a tree sharing the data", "[slices]") {
  TestVolume tv;
  Volume& v = *tv.vol;
  REQUIRE_OK(v.MkdirAll(tv.ctx, "/t/sub", 0750));
  const std::string big = RandomBytes(5 << 20, 3);
  REQUIRE_OK(WriteFile(v, tv.ctx, "/t/big", big));
  REQUIRE_OK(WriteFile(v, tv.ctx, "/t/sub/small", "hello"));
  REQUIRE_OK(WriteFile(v, tv.ctx, "/t/empty", ""));
  REQUIRE_OK(v.Symlink(tv.ctx, "sub/small", "/t/link"));
  REQUIRE_OK(v.SetXattr(tv.ctx, "/t/big", "user.k", "v", 0));
  REQUIRE_OK(v.Chmod(tv.ctx, "/t/big", 0600));
  const size_t objects = tv.Objects("chunks").size();

  REQUIRE_OK(Clone(v, tv.ctx, "/t", "/c"));
  CHECK(tv.Objects("chunks").size() == objects);  // no data copied
  CHECK((Slurp(v, tv.ctx, "/c/big") == big));
  CHECK(Slurp(v, tv.ctx, "/c/sub/small") == "hello");
  CHECK(Slurp(v, tv.ctx, "/c/link") == "hello");
  CHECK(Slurp(v, tv.ctx, "/c/empty").empty());
  std::string val;
  REQUIRE_OK(v.GetXattr(tv.ctx, "/c/big", "user.k", &val));
  CHECK(val == "v");
  Attr sa, ca;
  REQUIRE_OK(v.Stat(tv.ctx, "/t/big", &sa, nullptr));
  REQUIRE_OK(v.Stat(tv.ctx, "/c/big", &ca, nullptr));
  CHECK(ca.mode == 0600);
  CHECK(ca.mtime == sa.mtime);
  REQUIRE_OK(v.Stat(tv.ctx, "/c/sub", &ca, nullptr));
  CHECK(ca.mode == 0750);

  // Independent afterwards.
  REQUIRE_OK(WriteFile(v, tv.ctx, "/c/sub/small", "changed"));
  CHECK(Slurp(v, tv.ctx, "/t/sub/small") == "hello");
  REQUIRE_OK(v.Unlink(tv.ctx, "/t/big"));
  CHECK((Slurp(v, tv.ctx, "/c/big") == big));

  CHECK_ERRNO(Clone(v, tv.ctx, "/t", "/c"), EEXIST);
  CHECK_ERRNO(Clone(v, tv.ctx, "/t", "/t/inner"), EINVAL);
  CHECK_ERRNO(Clone(v, tv.ctx, "/missing", "/x"), ENOENT);
}

TEST_CASE("compact rewrites a fragmented chunk as one slice", "[slices]") {
  VolumeOptions o;
  o.compact = false;  // only the explicit compaction below
  o.compact_delete_delay = 0;
  TestVolume tv(4096, o);
  Volume& v = *tv.vol;
  std::string expect = RandomBytes(1 << 20, 4);
  REQUIRE_OK(WriteFile(v, tv.ctx, "/f", expect));
  auto f = Open(v, tv.ctx, "/f", O_RDWR);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200; ++i) {
    uint64_t off = rng() % ((1 << 20) - 4096);
    std::string d = RandomBytes(1 + rng() % 4096, 100 + i);
    Pwrite(*f, off, d);
    expect.replace(off, d.size(), d);
    REQUIRE_OK(f->Flush());
  }
  CHECK(Records(v, tv.ctx, "/f").size() == 201);
  const size_t before = tv.Objects("chunks").size();
  CHECK(before == 201);

  CompactStats st;
  REQUIRE_OK(Compact(v, tv.ctx, "/f", &st));
  CHECK(st.files == 1);
  CHECK(st.compacted == 1);
  CHECK(st.bytes_written == 1u << 20);
  auto recs = Records(v, tv.ctx, "/f");
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].len == 1u << 20);
  // The open handle's cached slice list is stale: it still reads the right bytes.
  std::string got;
  REQUIRE_OK(PreadAll(*f, 0, 2 << 20, &got));
  CHECK((got == expect));
  CoreOf(v)->DeleteDueSlices(true);
  CHECK(tv.Objects("chunks").size() == 1);
  REQUIRE_OK(PreadAll(*f, 0, 2 << 20, &got));
  CHECK((got == expect));
  REQUIRE_OK(f->Close());
  auto other = tv.OpenAnother();
  CHECK((Slurp(*other, tv.ctx, "/f") == expect));
  REQUIRE_OK(other->Close());

  // Once compact, a second run changes nothing; a directory compacts every file below it.
  REQUIRE_OK(Compact(v, tv.ctx, "/", &st));
  CHECK(st.files == 1);
  CHECK(st.compacted == 0);
  CHECK_ERRNO(Compact(v, tv.ctx, "/missing", &st), ENOENT);
}

TEST_CASE("compaction keeps large leading slices and bounds write amplification", "[slices]") {
  VolumeOptions o;
  o.compact = false;
  TestVolume tv(1024, o);
  Volume& v = *tv.vol;
  // A big file written at once, then small appends: compaction must not rewrite the big slice.
  std::string expect = RandomBytes(8 << 20, 6);
  REQUIRE_OK(WriteFile(v, tv.ctx, "/log", expect));
  auto f = Open(v, tv.ctx, "/log", O_WRONLY | O_APPEND);
  for (int i = 0; i < 50; ++i) {
    std::string d = RandomBytes(1000, 200 + i);
    REQUIRE_OK(WriteAll(*f, d));
    REQUIRE_OK(f->Flush());
    expect += d;
  }
  REQUIRE_OK(f->Close());
  CompactStats st;
  REQUIRE_OK(Compact(v, tv.ctx, "/log", &st));
  CHECK(st.compacted == 1);
  CHECK(st.bytes_written == 50000);  // only the appends, not the 8 MiB slice
  auto recs = Records(v, tv.ctx, "/log");
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].len == 8u << 20);
  CHECK(recs[1].len == 50000);
  CHECK((Slurp(v, tv.ctx, "/log") == expect));
}

TEST_CASE("the write path compacts a chunk in the background after many slices", "[slices]") {
  VolumeOptions o;
  o.compact_delete_delay = 0;
  TestVolume tv(4096, o);
  Volume& v = *tv.vol;
  std::string expect(250 << 10, '\0');
  auto f = Open(v, tv.ctx, "/f", O_RDWR | O_CREAT);
  for (int i = 0; i < 250; ++i) {
    std::string d = RandomBytes(1024, 300 + i);
    uint64_t off = uint64_t(i % 256) * 1024;
    Pwrite(*f, off, d);
    expect.replace(off, d.size(), d);
    REQUIRE_OK(f->Flush());
  }
  // Two compactions were queued (at 100 and 200 slices); wait for them to finish.
  size_t n = 0;
  for (int i = 0; i < 500; ++i) {
    n = Records(v, tv.ctx, "/f").size();
    if (n < 100) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(n < 100);
  std::string got;
  REQUIRE_OK(PreadAll(*f, 0, 1 << 20, &got));
  CHECK((got == expect));
  REQUIRE_OK(f->Close());
}

TEST_CASE("compaction under load: overwrites, readers and compactions, no wrong byte, no EIO",
          "[slices]") {
  // Trash on: replaced slices are kept in delSlices (§6.2) and must count as referenced.
  const int trash_days = GENERATE(0, 1);
  INFO("trash days " << trash_days);
  VolumeOptions o;
  o.compact_delete_delay = 0;  // old slices go at the next tick: readers must re-resolve
  TestVolume tv(64, o, "testvol", trash_days);  // 64 KiB blocks: many objects per slice
  constexpr uint64_t kRegions = 256;            // 1 MiB file
  {
    auto f = Open(*tv.vol, tv.ctx, "/hot", O_WRONLY | O_CREAT);
    for (uint64_t r = 0; r < kRegions; ++r) Pwrite(*f, r * kRegion, RegionBytes(r, 0));
    REQUIRE_OK(f->Close());
  }
  auto writer_vol = tv.OpenAnother(o);
  auto reader_vol = tv.OpenAnother(o);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> writes{0}, reads{0}, compactions{0};
  std::string failure;
  std::mutex failure_mu;
  auto fail = [&](const std::string& what) {
    std::lock_guard lk(failure_mu);
    if (failure.empty()) failure = what;
    stop = true;
  };

  std::thread writer([&] {
    std::shared_ptr<File> f;
    Status s = writer_vol->OpenFile(tv.ctx, "/hot", O_WRONLY, 0, &f);
    if (!s.ok()) return fail("writer open: " + s.ToString());
    std::mt19937_64 rng(7);
    for (uint64_t ver = 1; !stop && ver < 100000; ++ver) {
      // 1-3 adjacent regions per write, committed as one slice.
      uint64_t r = rng() % (kRegions - 2), k = 1 + rng() % 3;
      std::string d;
      for (uint64_t i = 0; i < k; ++i) d += RegionBytes(r + i, ver);
      uint64_t n = 0;
      s = f->Pwrite(d.data(), d.size(), r * kRegion, &n);
      if (s.ok()) s = f->Flush();
      if (!s.ok()) return fail("writer: " + s.ToString());
      ++writes;
    }
    s = f->Close();
    if (!s.ok()) fail("writer close: " + s.ToString());
  });
  auto verify = [&](File& f) {
    std::string got;
    Status s = PreadAll(f, 0, kRegions * kRegion, &got);
    if (!s.ok()) return fail("read: " + s.ToString());
    if (got.size() != kRegions * kRegion) return fail("short read");
    for (uint64_t r = 0; r < kRegions; ++r) {
      if (RegionVersion(r, got.data() + r * kRegion) < 0) {
        return fail("region " + std::to_string(r) + " holds wrong bytes");
      }
    }
    ++reads;
  };
  std::thread reader([&] {
    // One long-lived handle (its cached slice lists go stale) and fresh opens.
    std::shared_ptr<File> held;
    Status s = reader_vol->OpenFile(tv.ctx, "/hot", O_RDONLY, 0, &held);
    if (!s.ok()) return fail("reader open: " + s.ToString());
    while (!stop) {
      verify(*held);
      std::shared_ptr<File> f;
      s = reader_vol->OpenFile(tv.ctx, "/hot", O_RDONLY, 0, &f);
      if (!s.ok()) return fail("reader open: " + s.ToString());
      verify(*f);
      (void)f->Close();
    }
    (void)held->Close();
  });
  std::thread compactor([&] {
    while (!stop) {
      CompactStats st;
      Status s = Compact(*tv.vol, tv.ctx, "/hot", &st);
      if (!s.ok()) return fail("compact: " + s.ToString());
      compactions += st.compacted;
      CoreOf(*tv.vol)->DeleteDueSlices(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(8);
  while (!stop && std::chrono::steady_clock::now() < deadline &&
         (writes < 600 || compactions < 5 || reads < 20)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stop = true;
  writer.join();
  reader.join();
  compactor.join();
  INFO("writes " << writes << ", reads " << reads << ", compactions " << compactions);
  CHECK(failure == "");
  CHECK(compactions > 0);
  CHECK(reads > 0);
  REQUIRE_OK(writer_vol->Close());
  REQUIRE_OK(reader_vol->Close());

  // Final state: compacted once more, every region whole, no object left behind that nothing
  // references.
  CompactStats st;
  REQUIRE_OK(Compact(*tv.vol, tv.ctx, "/hot", &st));
  CoreOf(*tv.vol)->DeleteDueSlices(true);
  auto recs = Records(*tv.vol, tv.ctx, "/hot");
  CHECK(recs.size() == 1);
  std::string got = Slurp(*tv.vol, tv.ctx, "/hot");
  REQUIRE(got.size() == kRegions * kRegion);
  for (uint64_t r = 0; r < kRegions; ++r) CHECK(RegionVersion(r, got.data() + r * kRegion) >= 0);
  // gc finds nothing leaked (objects of any age considered), fsck finds nothing missing. This
  // client's usage deltas (the file's first write) reach the counters on a periodic tick, which a
  // short run may not have seen yet: flush them, as closing the volume would.
  REQUIRE_OK(CoreOf(*tv.vol)->meta().FlushStats());
  setenv("JFS_GC_SKIPPEDTIME", "0", 1);
  GcReport gr;
  REQUIRE_OK(Gc(tv.url, false, nullptr, &gr));
  CHECK(gr.leaked == 0);
  CHECK(gr.referenced == gr.objects);
  FsckReport fr;
  REQUIRE_OK(Fsck(tv.url, false, nullptr, &fr));
  CHECK(fr.missing_objects == 0);
  CHECK(fr.counters_ok);
  if (trash_days > 0) {
    // The replaced slices wait for the trash period; releasing them leaves the merged slice.
    CHECK(gr.scan.delslices > 0);
    CHECK(tv.Objects("chunks").size() > 16);
    uint64_t released = 0;
    REQUIRE_OK(CoreOf(*tv.vol)->meta().CleanupDelSlices(std::time(nullptr), true, &released));
    CHECK(released > 0);
    REQUIRE_OK(Gc(tv.url, false, nullptr, &gr));
    CHECK(gr.leaked == 0);
    CHECK(gr.scan.delslices == 0);
  } else {
    CHECK(gr.scan.delslices == 0);
  }
  unsetenv("JFS_GC_SKIPPEDTIME");
  // 1 MiB in 64 KiB blocks: exactly the merged slice's 16 objects remain.
  CHECK(tv.Objects("chunks").size() == 16);
}
