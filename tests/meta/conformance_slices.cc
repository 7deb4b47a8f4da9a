// Conformance cases for the slice maintenance operations of Meta (meta/meta.h): ReadChunk,
// CompactChunk, Fallocate and CopyFileRange. Run on every engine through RunMetaConformance.
#include <catch2/catch.hpp>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "meta/slice.h"
#include "meta/types.h"
#include "tests/meta/conformance.h"
#include "tests/support/status_checks.h"

#define CHECK_ERR(expr, err)                \
  do {                                      \
    ::jfs::Status s_ = (expr);              \
    INFO(#expr << " -> " << s_.ToString()); \
    CHECK(s_.code() == (err));              \
  } while (0)

namespace jfs::meta::testing {

namespace {

using SliceKey = std::pair<uint64_t, uint32_t>;
constexpr uint64_t kMiB = 1 << 20;

struct SliceFixture {
  explicit SliceFixture(const MetaBackend& b, int trash_days = 0) {
    m = b.new_database();
    REQUIRE(m);
    Format f;
    f.name = "slices";
    f.uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f1";
    f.bucket = "/tmp/jfs-conformance/";
    f.compression = "none";
    f.trash_days = trash_days;  // 0: the cases check slices freed at unlink, not kept in the trash
    REQUIRE_OK(m->Init(f, false));
    REQUIRE_OK(m->Load(nullptr));
    REQUIRE_OK(m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}));
    m->OnDeleteSlice([this](uint64_t id, uint32_t size) {
      std::lock_guard<std::mutex> l(mu);
      deleted.insert({id, size});
    });
  }
  ~SliceFixture() {
    if (m) (void)m->CloseSession();
  }
  Ino File(const std::string& name) {
    Ino ino = 0;
    REQUIRE_OK(m->Mknod(root, kRootIno, name, kTypeFile, 0644, 0, 0, &ino, nullptr));
    return ino;
  }
  uint64_t Write(Ino ino, uint32_t indx, uint32_t pos, uint32_t len) {
    uint64_t id = 0;
    REQUIRE_OK(m->NewSlice(root, &id));
    Slice s;
    s.id = id;
    s.size = s.len = len;
    REQUIRE_OK(m->Write(root, ino, indx, pos, s));
    return id;
  }
  std::vector<SliceView> Read(Ino ino, uint32_t indx) {
    std::vector<SliceView> out;
    REQUIRE_OK(m->Read(root, ino, indx, &out));
    return out;
  }
  std::vector<Slice> Records(Ino ino, uint32_t indx) {
    std::vector<Slice> out;
    REQUIRE_OK(m->ReadChunk(root, ino, indx, &out));
    return out;
  }
  Attr Get(Ino ino) {
    Attr a;
    REQUIRE_OK(m->GetAttr(root, ino, &a));
    return a;
  }
  uint64_t Used() {
    struct StatFS s;
    REQUIRE_OK(m->StatFS(root, &s));
    return s.total_space - s.avail_space;
  }
  std::set<SliceKey> Deleted() {
    std::lock_guard<std::mutex> l(mu);
    auto out = deleted;
    deleted.clear();
    return out;
  }

  std::unique_ptr<Meta> m;
  Context root;
  std::mutex mu;
  std::set<SliceKey> deleted;
};

// The byte map of a resolved chunk: for each byte of [0, n) which (slice id, slice offset) it
// reads (id 0: zero).
std::vector<std::pair<uint64_t, uint64_t>> Bytes(const std::vector<SliceView>& views, uint32_t n) {
  std::vector<std::pair<uint64_t, uint64_t>> out(n, {0, 0});
  uint64_t p = 0;
  for (const SliceView& v : views) {
    for (uint64_t i = 0; i < v.len && p + i < n; ++i) {
      if (v.id != 0) out[p + i] = {v.id, v.off + i};
    }
    p += v.len;
  }
  return out;
}

}  // namespace

void TestSliceOps(const MetaBackend& b) {
  SliceFixture f(b);
  Context& root = f.root;
  Meta& m = *f.m;

  SECTION("ReadChunk returns the stored records in order") {
    Ino ino = f.File("a");
    CHECK(f.Records(ino, 0).empty());
    uint64_t s1 = f.Write(ino, 0, 0, 100);
    uint64_t s2 = f.Write(ino, 0, 50, 10);
    auto recs = f.Records(ino, 0);
    REQUIRE(recs.size() == 2);
    CHECK(recs[0] == Slice{0, s1, 100, 0, 100});
    CHECK(recs[1] == Slice{50, s2, 10, 0, 10});
    std::vector<Slice> none;
    CHECK_ERR(m.ReadChunk(root, 999999, 0, &none), ENOENT);
  }

  SECTION("CompactChunk swaps an unchanged prefix, keeps later appends, releases old slices") {
    Ino ino = f.File("c");
    uint64_t s1 = f.Write(ino, 0, 0, 100);
    uint64_t s2 = f.Write(ino, 0, 10, 20);
    auto old = f.Records(ino, 0);
    uint64_t s3 = f.Write(ino, 0, 90, 20);  // appended after the compaction read the list
    uint64_t merged_id = 0;
    REQUIRE_OK(m.NewSlice(root, &merged_id));
    Slice merged{0, merged_id, 100, 0, 100};
    bool replaced = false;
    std::vector<std::pair<uint64_t, uint32_t>> released;
    REQUIRE_OK(m.CompactChunk(root, ino, 0, old, 0, merged, &replaced, &released));
    CHECK(replaced);
    std::set<SliceKey> rel(released.begin(), released.end());
    CHECK(rel == std::set<SliceKey>{{s1, 100}, {s2, 20}});
    CHECK(f.Deleted().empty());  // the caller deletes them later, not OnDeleteSlice
    auto recs = f.Records(ino, 0);
    REQUIRE(recs.size() == 2);
    CHECK(recs[0] == merged);
    CHECK(recs[1] == Slice{90, s3, 20, 0, 20});
    CHECK(f.Get(ino).length == 110);

    // The merged slice is referenced once: deleting the file frees it (and s3).
    REQUIRE_OK(m.Unlink(root, kRootIno, "c"));
    CHECK(f.Deleted() == std::set<SliceKey>{{merged_id, 100}, {s3, 20}});
  }

  SECTION("CompactChunk does nothing when the prefix changed") {
    Ino ino = f.File("d");
    f.Write(ino, 0, 0, 100);
    f.Write(ino, 0, 10, 20);
    auto old = f.Records(ino, 0);
    REQUIRE_OK(m.Truncate(root, ino, 50, false, nullptr));  // appends a hole: prefix still same
    // A stale expectation (one record different) is refused.
    auto stale = old;
    stale[1].len = 19;
    uint64_t id = 0;
    REQUIRE_OK(m.NewSlice(root, &id));
    bool replaced = true;
    std::vector<std::pair<uint64_t, uint32_t>> released;
    REQUIRE_OK(
        m.CompactChunk(root, ino, 0, stale, 0, Slice{0, id, 100, 0, 100}, &replaced, &released));
    CHECK_FALSE(replaced);
    CHECK(released.empty());
    CHECK(f.Records(ino, 0).size() == 3);
    // A chunk that went away entirely.
    REQUIRE_OK(m.Truncate(root, ino, 0, false, nullptr));
    REQUIRE_OK(
        m.CompactChunk(root, ino, 0, old, 0, Slice{0, id, 100, 0, 100}, &replaced, &released));
    CHECK_FALSE(replaced);
  }

  SECTION("CompactChunk keeps skipped records and can drop all-zero records") {
    Ino ino = f.File("e");
    uint64_t big = f.Write(ino, 0, 0, 2 * kMiB);
    f.Write(ino, 0, 3 * kMiB, 10);
    REQUIRE_OK(m.Truncate(root, ino, 3 * kMiB, false, nullptr));  // hides the small one
    auto old = f.Records(ino, 0);
    REQUIRE(old.size() == 3);
    bool replaced = false;
    std::vector<std::pair<uint64_t, uint32_t>> released;
    REQUIRE_OK(m.CompactChunk(root, ino, 0, old, 1, Slice{}, &replaced, &released));
    CHECK(replaced);
    CHECK(released.size() == 1);
    auto recs = f.Records(ino, 0);
    REQUIRE(recs.size() == 1);
    CHECK(recs[0].id == big);
    // Invalid requests change nothing.
    CHECK_ERR(m.CompactChunk(root, ino, 0, {}, 0, Slice{}, &replaced, &released), EINVAL);
    CHECK_ERR(m.CompactChunk(root, ino, 0, recs, 2, Slice{}, &replaced, &released), EINVAL);
    CHECK_ERR(m.CompactChunk(root, ino, 0, recs, 0, Slice{0, 5, 10, 1, 9}, &replaced, &released),
              EINVAL);
    CHECK(f.Records(ino, 0).size() == 1);
  }

  SECTION("Fallocate grows the length, KEEP_SIZE does not, punch/zero read as zeros") {
    Ino ino = f.File("g");
    Attr a;
    const uint64_t used = f.Used();
    REQUIRE_OK(m.Fallocate(root, ino, 0, 0, 10000, &a));
    CHECK(a.length == 10000);
    CHECK(f.Get(ino).length == 10000);
    CHECK(f.Used() == used + 2 * 4096);  // 4 KiB for the empty file → 12 KiB
    REQUIRE_OK(m.Fallocate(root, ino, kFallocKeepSize, 0, 1 << 20, &a));
    CHECK(a.length == 10000);
    CHECK(f.Records(ino, 0).empty());  // nothing is stored for an allocation

    uint64_t id = f.Write(ino, 0, 0, 10000);
    REQUIRE_OK(m.Fallocate(root, ino, kFallocPunchHole | kFallocKeepSize, 100, 200, &a));
    CHECK(a.length == 10000);
    auto bytes = Bytes(f.Read(ino, 0), 10000);
    CHECK(bytes[99].first == id);
    CHECK(bytes[100].first == 0);
    CHECK(bytes[299].first == 0);
    CHECK(bytes[300] == std::make_pair(id, uint64_t{300}));

    // ZERO_RANGE past the end grows the file; the tail beyond the old length is zeros anyway.
    REQUIRE_OK(m.Fallocate(root, ino, kFallocZeroRange, 9000, 2000, &a));
    CHECK(a.length == 11000);
    bytes = Bytes(f.Read(ino, 0), 11000);
    CHECK(bytes[8999].first == id);
    CHECK(bytes[9000].first == 0);
    CHECK(bytes[9999].first == 0);

    // A range over a chunk boundary stores a hole in each chunk.
    REQUIRE_OK(m.Fallocate(root, ino, 0, kChunkSize - 10, 20, &a));
    f.Write(ino, 1, 0, 100);
    REQUIRE_OK(m.Fallocate(root, ino, kFallocPunchHole | kFallocKeepSize, kChunkSize - 10, 20, &a));
    CHECK(f.Records(ino, 1).back() == Slice{0, 0, 0, 0, 10});
    CHECK(f.Records(ino, 0).back() == Slice{uint32_t(kChunkSize - 10), 0, 0, 0, 10});
  }

  SECTION("Fallocate errors change nothing") {
    Ino ino = f.File("h");
    Ino dir = 0;
    REQUIRE_OK(m.Mkdir(root, kRootIno, "dir", 0755, 0, &dir, nullptr));
    Ino fifo = 0;
    REQUIRE_OK(m.Mknod(root, kRootIno, "fifo", kTypeFIFO, 0644, 0, 0, &fifo, nullptr));
    Attr a;
    CHECK_ERR(m.Fallocate(root, ino, 0, 0, 0, &a), EINVAL);
    CHECK_ERR(m.Fallocate(root, ino, kFallocPunchHole, 0, 10, &a), EINVAL);
    CHECK_ERR(
        m.Fallocate(root, ino, kFallocPunchHole | kFallocZeroRange | kFallocKeepSize, 0, 10, &a),
        EINVAL);
    CHECK_ERR(m.Fallocate(root, ino, kFallocCollapseRange, 0, 10, &a), ENOTSUP);
    CHECK_ERR(m.Fallocate(root, ino, kFallocInsertRange, 0, 10, &a), ENOTSUP);
    CHECK_ERR(m.Fallocate(root, ino, 0x40, 0, 10, &a), ENOTSUP);
    CHECK_ERR(m.Fallocate(root, dir, 0, 0, 10, &a), EISDIR);
    CHECK_ERR(m.Fallocate(root, fifo, 0, 0, 10, &a), EPIPE);
    CHECK_ERR(m.Fallocate(root, ino, 0, uint64_t{1} << 60, 10, &a), EFBIG);
    CHECK_ERR(m.Fallocate(root, 999999, 0, 0, 10, &a), ENOENT);
    Attr in;
    in.flags = kFlagImmutable;
    REQUIRE_OK(m.SetAttr(root, ino, kSetFlags, in, nullptr));
    CHECK_ERR(m.Fallocate(root, ino, 0, 0, 10, &a), EPERM);
    in.flags = kFlagAppend;
    REQUIRE_OK(m.SetAttr(root, ino, kSetFlags, in, nullptr));
    CHECK_ERR(m.Fallocate(root, ino, kFallocZeroRange, 0, 10, &a), EPERM);
    REQUIRE_OK(m.Fallocate(root, ino, 0, 0, 10, &a));  // plain allocation is fine
    CHECK(f.Get(ino).length == 10);
  }

  SECTION("CopyFileRange shares slices, keeps holes, counts references") {
    Ino src = f.File("src");
    Ino dst = f.File("dst");
    uint64_t s1 = f.Write(src, 0, 0, 1000);
    uint64_t s2 = f.Write(src, 0, 500, 100);
    REQUIRE_OK(m.Truncate(root, src, 3000, false, nullptr));  // [1000, 3000) zeros
    // Destination has old data everywhere that the copy must cover, holes included.
    uint64_t old = f.Write(dst, 0, 0, 5000);
    uint64_t copied = 0;
    Attr a;
    REQUIRE_OK(m.CopyFileRange(root, src, 400, dst, 2000, 10000, 0, &copied, &a));
    CHECK(copied == 2600);  // clamped to the source length
    CHECK(a.length == 5000);
    auto sb = Bytes(f.Read(src, 0), 3000);
    auto db = Bytes(f.Read(dst, 0), 5000);
    for (uint64_t i = 0; i < 2600; ++i) {
      INFO(i);
      REQUIRE(db[2000 + i] == sb[400 + i]);
    }
    CHECK(db[1999] == std::make_pair(old, uint64_t{1999}));
    CHECK(db[2000] == std::make_pair(s1, uint64_t{400}));
    CHECK(db[2100].first == s2);
    CHECK(db[4599].first == 0);
    CHECK(db[4600] == std::make_pair(old, uint64_t{4600}));

    // References: src's slices outlive the source file while dst shares them.
    REQUIRE_OK(m.Unlink(root, kRootIno, "src"));
    CHECK(f.Deleted().empty());
    REQUIRE_OK(m.Unlink(root, kRootIno, "dst"));
    CHECK(f.Deleted() == std::set<SliceKey>{{s1, 1000}, {s2, 100}, {old, 5000}});
  }

  SECTION("CopyFileRange across chunk boundaries, into a new chunk, growing the file") {
    Ino src = f.File("s");
    Ino dst = f.File("t");
    uint64_t s1 = f.Write(src, 0, uint32_t(kChunkSize - 100), 100);
    uint64_t s2 = f.Write(src, 1, 0, 100);
    uint64_t used = f.Used();
    uint64_t copied = 0;
    Attr a;
    REQUIRE_OK(m.CopyFileRange(root, src, kChunkSize - 100, dst, 50, 200, 0, &copied, &a));
    CHECK(copied == 200);
    CHECK(a.length == 250);
    CHECK(f.Used() == used);  // 250 bytes still round to the empty file's 4 KiB
    auto db = Bytes(f.Read(dst, 0), 250);
    CHECK(db[50] == std::make_pair(s1, uint64_t{0}));
    CHECK(db[149] == std::make_pair(s1, uint64_t{99}));
    CHECK(db[150] == std::make_pair(s2, uint64_t{0}));
    CHECK(db[249] == std::make_pair(s2, uint64_t{99}));
    CHECK(db[49].first == 0);
    // Copy to a destination offset that splits one source piece over two chunks.
    REQUIRE_OK(
        m.CopyFileRange(root, src, kChunkSize - 100, dst, kChunkSize - 30, 100, 0, &copied, &a));
    CHECK(copied == 100);
    CHECK(a.length == kChunkSize + 70);
    auto c1 = Bytes(f.Read(dst, 1), 70);
    CHECK(c1[0] == std::make_pair(s1, uint64_t{30}));
    CHECK(c1[69] == std::make_pair(s1, uint64_t{99}));
    REQUIRE_OK(m.Unlink(root, kRootIno, "s"));
    CHECK(f.Deleted().empty());
    REQUIRE_OK(m.Unlink(root, kRootIno, "t"));
    CHECK(f.Deleted() == std::set<SliceKey>{{s1, 100}, {s2, 100}});
  }

  SECTION("CopyFileRange within one file and its errors") {
    Ino ino = f.File("one");
    uint64_t s1 = f.Write(ino, 0, 0, 1000);
    uint64_t copied = 0;
    Attr a;
    REQUIRE_OK(m.CopyFileRange(root, ino, 0, ino, 1000, 1000, 0, &copied, &a));
    CHECK(copied == 1000);
    CHECK(a.length == 2000);
    auto b1 = Bytes(f.Read(ino, 0), 2000);
    CHECK(b1[1500] == std::make_pair(s1, uint64_t{500}));
    CHECK_ERR(m.CopyFileRange(root, ino, 0, ino, 500, 1000, 0, &copied, &a), EINVAL);
    CHECK_ERR(m.CopyFileRange(root, ino, 0, ino, 5000, 10, 1, &copied, &a), EINVAL);
    REQUIRE_OK(m.CopyFileRange(root, ino, 5000, ino, 9000, 10, 0, &copied, &a));
    CHECK(copied == 0);  // at/after EOF
    CHECK(f.Get(ino).length == 2000);
    Ino dir = 0;
    REQUIRE_OK(m.Mkdir(root, kRootIno, "dir", 0755, 0, &dir, nullptr));
    CHECK_ERR(m.CopyFileRange(root, dir, 0, ino, 0, 10, 0, &copied, &a), EISDIR);
    CHECK_ERR(m.CopyFileRange(root, ino, 0, dir, 0, 10, 0, &copied, &a), EISDIR);
    CHECK_ERR(m.CopyFileRange(root, ino, 0, 999999, 0, 10, 0, &copied, &a), ENOENT);
    Ino dst = f.File("ro");
    Attr in;
    in.flags = kFlagImmutable;
    REQUIRE_OK(m.SetAttr(root, dst, kSetFlags, in, nullptr));
    CHECK_ERR(m.CopyFileRange(root, ino, 0, dst, 0, 10, 0, &copied, &a), EPERM);
    CHECK(f.Get(dst).length == 0);
  }

  SECTION("another client sees copies and compactions") {
    Ino src = f.File("x");
    f.Write(src, 0, 0, 100);
    f.Write(src, 0, 20, 10);
    auto other = b.another_client();
    REQUIRE(other);
    REQUIRE_OK(other->Load(nullptr));
    std::vector<Slice> recs;
    REQUIRE_OK(other->ReadChunk(root, src, 0, &recs));
    CHECK(recs.size() == 2);
    uint64_t id = 0;
    REQUIRE_OK(other->NewSlice(root, &id));
    bool replaced = false;
    std::vector<std::pair<uint64_t, uint32_t>> released;
    REQUIRE_OK(other->CompactChunk(root, src, 0, recs, 0, Slice{0, id, 100, 0, 100}, &replaced,
                                   &released));
    CHECK(replaced);
    auto views = f.Read(src, 0);
    REQUIRE(views.size() == 1);
    CHECK(views[0] == SliceView{id, 100, 0, 100});
  }
}

void TestDelSlices(const MetaBackend& b) {
  SliceFixture f(b, /*trash_days=*/1);
  Context& root = f.root;
  Meta& m = *f.m;
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  constexpr int64_t kDay = 24 * 3600;
  auto compact = [&](Meta& meta, Ino ino) {
    std::vector<Slice> old;
    REQUIRE_OK(meta.ReadChunk(root, ino, 0, &old));
    uint64_t id = 0;
    REQUIRE_OK(meta.NewSlice(root, &id));
    bool replaced = false;
    std::vector<std::pair<uint64_t, uint32_t>> released;
    REQUIRE_OK(
        meta.CompactChunk(root, ino, 0, old, 0, Slice{0, id, 100, 0, 100}, &replaced, &released));
    CHECK(replaced);
    CHECK(released.empty());  // kept for the trash period, not handed back
    return id;
  };

  SECTION("with the trash on, replaced slices wait TrashDays, then go") {
    Ino ino = f.File("a");
    uint64_t s1 = f.Write(ino, 0, 0, 100);
    uint64_t s2 = f.Write(ino, 0, 10, 20);
    uint64_t merged = compact(m, ino);
    CHECK(f.Records(ino, 0) == std::vector<Slice>{Slice{0, merged, 100, 0, 100}});
    CHECK(f.Deleted().empty());
    uint64_t released = 9;
    REQUIRE_OK(m.CleanupDelSlices(now, false, &released));
    CHECK(released == 0);  // younger than TrashDays
    REQUIRE_OK(m.CleanupDelSlices(now + kDay - 3600, false, &released));
    CHECK(released == 0);
    CHECK(f.Deleted().empty());
    REQUIRE_OK(m.CleanupDelSlices(now + kDay + 60, false, &released));
    CHECK(released == 1);
    CHECK(f.Deleted() == std::set<SliceKey>{{s1, 100}, {s2, 20}});
    REQUIRE_OK(m.CleanupDelSlices(now + 2 * kDay, true, &released));
    CHECK(released == 0);
    CHECK(f.Deleted().empty());
    CHECK(f.Records(ino, 0) == std::vector<Slice>{Slice{0, merged, 100, 0, 100}});
  }

  SECTION("a replaced slice still referenced elsewhere keeps its data") {
    Ino a = f.File("a"), c = f.File("c");
    uint64_t s1 = f.Write(a, 0, 0, 100);
    uint64_t s2 = f.Write(a, 0, 50, 10);
    uint64_t copied = 0;
    REQUIRE_OK(m.CopyFileRange(root, a, 0, c, 0, 100, 0, &copied, nullptr));
    REQUIRE(copied == 100);
    compact(m, a);
    uint64_t released = 0;
    REQUIRE_OK(m.CleanupDelSlices(now, true, &released));
    CHECK(released == 1);
    CHECK(f.Deleted().empty());  // c still reads s1 and s2
    REQUIRE_OK(m.Unlink(root, kRootIno, "c"));
    CHECK(f.Deleted().empty());  // c is in the trash, its slices with it
    uint64_t removed = 0;
    REQUIRE_OK(m.CleanupTrash(now, true, &removed));
    CHECK(removed == 1);
    CHECK(f.Deleted() == std::set<SliceKey>{{s1, 100}, {s2, 10}});
  }

  SECTION("trash expiry in another client releases them") {
    Ino ino = f.File("x");
    uint64_t s1 = f.Write(ino, 0, 0, 100);
    uint64_t s2 = f.Write(ino, 0, 20, 10);
    auto other = b.another_client();
    REQUIRE(other);
    REQUIRE_OK(other->Load(nullptr));
    compact(*other, ino);
    std::set<SliceKey> gone;
    other->OnDeleteSlice([&](uint64_t id, uint32_t size) { gone.insert({id, size}); });
    uint64_t removed = 0;
    REQUIRE_OK(other->CleanupTrash(now, false, &removed));
    CHECK(gone.empty());
    REQUIRE_OK(other->CleanupTrash(now + kDay + 60, false, &removed));
    CHECK(gone == std::set<SliceKey>{{s1, 100}, {s2, 10}});
    other->OnDeleteSlice(nullptr);
    CHECK(f.Deleted().empty());
  }

  SECTION("a lost compaction race records nothing") {
    Ino ino = f.File("r");
    f.Write(ino, 0, 0, 100);
    std::vector<Slice> stale;
    REQUIRE_OK(m.ReadChunk(root, ino, 0, &stale));
    REQUIRE_OK(m.Truncate(root, ino, 0, false, nullptr));  // changes the list under the compaction
    f.Write(ino, 0, 0, 50);
    uint64_t id = 0;
    REQUIRE_OK(m.NewSlice(root, &id));
    bool replaced = true;
    std::vector<std::pair<uint64_t, uint32_t>> released;
    REQUIRE_OK(
        m.CompactChunk(root, ino, 0, stale, 0, Slice{0, id, 100, 0, 100}, &replaced, &released));
    CHECK_FALSE(replaced);
    uint64_t n = 9;
    REQUIRE_OK(m.CleanupDelSlices(now + 10 * kDay, true, &n));
    CHECK(n == 0);
  }
}

}  // namespace jfs::meta::testing
