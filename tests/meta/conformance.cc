#include "tests/meta/conformance.h"

#include <fcntl.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "meta/types.h"
#include "tests/support/status_checks.h"

#define CHECK_ERR(expr, err)                \
  do {                                      \
    ::jfs::Status s_ = (expr);              \
    INFO(#expr << " -> " << s_.ToString()); \
    CHECK(s_.code() == (err));              \
  } while (0)

namespace jfs::meta::testing {

namespace {

using SliceKey = std::pair<uint64_t, uint32_t>;  // (id, size) as OnDeleteSlice reports it

constexpr uint64_t kMiB = 1 << 20;

Format TestFormat() {
  Format f;
  f.name = "conformance";
  f.uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  f.storage = "file";
  f.bucket = "/tmp/jfs-conformance/";
  f.block_size_kib = 4096;
  f.compression = "none";
  f.trash_days = 0;  // removals are immediate; the trash cases use TrashFormat()
  return f;
}

Format TrashFormat() {
  Format f = TestFormat();
  f.trash_days = 1;
  return f;
}

Context Ctx(uint32_t uid, std::vector<uint32_t> gids) {
  Context c;
  c.uid = uid;
  c.gids = std::move(gids);
  return c;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
int64_t Ns(int64_t sec, uint32_t nsec) {
  return sec * 1000000000 + nsec;
}
int64_t MtimeNs(const Attr& a) {
  return Ns(a.mtime, a.mtimensec);
}
int64_t CtimeNs(const Attr& a) {
  return Ns(a.ctime, a.ctimensec);
}

// A formatted volume with a session, a root context and helpers that REQUIRE success.
struct Fixture {
  explicit Fixture(const MetaBackend& b, const Format& format = TestFormat()) : backend(b) {
    m = b.new_database();
    REQUIRE(m);
    REQUIRE_OK(m->Init(format, false));
    REQUIRE_OK(m->Load(nullptr));
    REQUIRE_OK(m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}));
    m->OnDeleteSlice([this](uint64_t id, uint32_t size) {
      std::lock_guard<std::mutex> l(mu);
      deleted.emplace_back(id, size);
    });
  }
  ~Fixture() {
    if (m) (void)m->CloseSession();
  }

  Ino Mkdir(Ino parent, const std::string& name, uint16_t mode = 0755,
            const Context* ctx = nullptr) {
    Ino ino = 0;
    REQUIRE_OK(m->Mkdir(ctx ? *ctx : root, parent, name, mode, 0, &ino, nullptr));
    return ino;
  }
  Ino File(Ino parent, const std::string& name, uint16_t mode = 0644,
           const Context* ctx = nullptr) {
    Ino ino = 0;
    REQUIRE_OK(m->Mknod(ctx ? *ctx : root, parent, name, kTypeFile, mode, 0, 0, &ino, nullptr));
    return ino;
  }
  Attr Get(Ino ino) {
    Attr a;
    REQUIRE_OK(m->GetAttr(root, ino, &a));
    return a;
  }
  bool Exists(Ino ino) {
    Attr a;
    Status st = m->GetAttr(root, ino, &a);
    REQUIRE((st.ok() || st.IsNotFound()));
    return st.ok();
  }
  Ino Find(Ino parent, const std::string& name) {
    Ino ino = 0;
    REQUIRE_OK(m->Lookup(root, parent, name, &ino, nullptr));
    return ino;
  }
  // Writes a fresh slice of `len` bytes at chunk `indx`, offset `pos`; returns its id.
  uint64_t Write(Ino ino, uint32_t indx, uint32_t pos, uint32_t len) {
    uint64_t id = 0;
    REQUIRE_OK(m->NewSlice(root, &id));
    Slice s;
    s.id = id;
    s.size = len;
    s.len = len;
    REQUIRE_OK(m->Write(root, ino, indx, pos, s));
    return id;
  }
  std::vector<SliceView> Read(Ino ino, uint32_t indx) {
    std::vector<SliceView> out;
    REQUIRE_OK(m->Read(root, ino, indx, &out));
    return out;
  }
  std::set<SliceKey> TakeDeleted() {
    std::lock_guard<std::mutex> l(mu);
    std::set<SliceKey> out(deleted.begin(), deleted.end());
    CHECK(out.size() == deleted.size());  // each slice reported once
    deleted.clear();
    return out;
  }
  struct StatFS Stat(Meta* meta = nullptr) {
    struct StatFS s;
    REQUIRE_OK((meta ? meta : m.get())->StatFS(root, &s));
    return s;
  }
  uint64_t UsedSpace(Meta* meta = nullptr) {
    struct StatFS s = Stat(meta);
    return s.total_space - s.avail_space;
  }
  std::vector<Entry> ListAll(Ino dir, bool plus = false, size_t limit = 1000) {
    std::vector<Entry> all, page;
    std::string cursor;
    do {
      REQUIRE_OK(m->Readdir(root, dir, plus, &cursor, limit, &page));
      all.insert(all.end(), page.begin(), page.end());
    } while (!cursor.empty());
    return all;
  }

  const MetaBackend& backend;
  std::unique_ptr<Meta> m;
  Context root;
  std::mutex mu;
  std::vector<SliceKey> deleted;
};

// ---- volume lifecycle ----------------------------------------------------------------------

void TestLifecycle(const MetaBackend& b) {
  auto m = b.new_database();
  Context root;
  SECTION("Load before Init says the database is not formatted") {
    Format f;
    Status st = m->Load(&f);
    CHECK(st.code() == ENOENT);
    CHECK(st.message().find("not formatted") != std::string::npos);
  }
  SECTION("Init stores the format, root and trash") {
    Format in = TrashFormat();
    in.capacity = 5ULL << 30;
    in.inodes = 1000;
    REQUIRE_OK(m->Init(in, false));
    Format out;
    REQUIRE_OK(m->Load(&out));
    CHECK(out.name == in.name);
    CHECK(out.uuid == in.uuid);
    CHECK(out.storage == in.storage);
    CHECK(out.bucket == in.bucket);
    CHECK(out.block_size_kib == in.block_size_kib);
    CHECK(out.capacity == in.capacity);
    CHECK(out.inodes == in.inodes);
    CHECK(out.trash_days == 1);

    Attr r;
    REQUIRE_OK(m->GetAttr(root, kRootIno, &r));
    CHECK(r.typ == kTypeDirectory);
    CHECK(r.mode == 0777);
    CHECK(r.nlink == 2);
    CHECK(r.length == 4096);
    CHECK(r.parent == kRootIno);
    CHECK(r.uid == 0);
    CHECK(r.gid == 0);
    CHECK(r.mtime > 1600000000);
    Attr r0;
    REQUIRE_OK(m->GetAttr(root, 0, &r0));  // 0 aliases the root
    CHECK(r0 == r);

    Attr t;
    REQUIRE_OK(m->GetAttr(root, kTrashIno, &t));
    CHECK(t.typ == kTypeDirectory);
    CHECK(t.mode == 0555);
    CHECK(t.parent == kRootIno);
    Ino ino = 0;
    REQUIRE_OK(m->Lookup(root, kRootIno, ".trash", &ino, nullptr));
    CHECK(ino == kTrashIno);
    // The trash is not an entry of the root.
    std::string cursor;
    std::vector<Entry> page;
    REQUIRE_OK(m->Readdir(root, kRootIno, false, &cursor, 100, &page));
    CHECK(page.empty());

    // Root and trash are not counted.
    struct StatFS s;
    REQUIRE_OK(m->StatFS(root, &s));
    CHECK(s.used_inodes == 0);
    CHECK(s.total_space == in.capacity);
    CHECK(s.avail_space == in.capacity);
    CHECK(s.avail_inodes == 1000);
  }
  SECTION("without trash days there is no trash") {
    Format in = TestFormat();
    in.trash_days = 0;
    REQUIRE_OK(m->Init(in, false));
    Attr t;
    CHECK_ERR(m->GetAttr(root, kTrashIno, &t), ENOENT);
    Ino ino = 0;
    CHECK_ERR(m->Lookup(root, kRootIno, ".trash", &ino, nullptr), ENOENT);
    Format out;
    REQUIRE_OK(m->Load(&out));
    CHECK(out.trash_days == 0);
  }
  SECTION("Init on a formatted volume: EEXIST, or force within the immutable settings") {
    REQUIRE_OK(m->Init(TestFormat(), false));
    Ino dir = 0;
    REQUIRE_OK(m->Mkdir(root, kRootIno, "keep", 0755, 0, &dir, nullptr));
    CHECK_ERR(m->Init(TestFormat(), false), EEXIST);

    Format f = TestFormat();
    f.name = "other";
    CHECK_ERR(m->Init(f, true), EINVAL);
    f = TestFormat();
    f.uuid = "ffffffff-2d3c-4b5a-6978-8796a5b4c3d2";
    CHECK_ERR(m->Init(f, true), EINVAL);
    f = TestFormat();
    f.block_size_kib = 1024;
    CHECK_ERR(m->Init(f, true), EINVAL);
    f = TestFormat();
    f.compression = "zstd";
    CHECK_ERR(m->Init(f, true), EINVAL);

    f = TestFormat();
    f.capacity = 1 << 30;
    REQUIRE_OK(m->Init(f, true));
    Format out;
    REQUIRE_OK(m->Load(&out));
    CHECK(out.capacity == 1u << 30);
    // Force keeps the namespace.
    Ino again = 0;
    REQUIRE_OK(m->Lookup(root, kRootIno, "keep", &again, nullptr));
    CHECK(again == dir);
  }
  SECTION("another client sees the same volume") {
    REQUIRE_OK(m->Init(TestFormat(), false));
    Ino dir = 0;
    REQUIRE_OK(m->Mkdir(root, kRootIno, "shared", 0755, 0, &dir, nullptr));
    auto other = b.another_client();
    Format out;
    REQUIRE_OK(other->Load(&out));
    CHECK(out.uuid == TestFormat().uuid);
    Ino seen = 0;
    REQUIRE_OK(other->Lookup(root, kRootIno, "shared", &seen, nullptr));
    CHECK(seen == dir);
    // Inode batches of two clients never overlap.
    std::set<Ino> inodes{dir};
    for (int i = 0; i < 20; ++i) {
      Ino a = 0, c = 0;
      REQUIRE_OK(
          m->Mknod(root, kRootIno, "m" + std::to_string(i), kTypeFile, 0644, 0, 0, &a, nullptr));
      REQUIRE_OK(other->Mknod(root, kRootIno, "o" + std::to_string(i), kTypeFile, 0644, 0, 0, &c,
                              nullptr));
      CHECK(inodes.insert(a).second);
      CHECK(inodes.insert(c).second);
    }
    for (Ino i : inodes) CHECK(i > kRootIno);
  }
}

void TestSessions(const MetaBackend& b) {
  auto m = b.new_database();
  REQUIRE_OK(m->Init(TestFormat(), false));
  CHECK(m->SessionId() == 0);
  REQUIRE_OK(m->NewSession(SessionInfo{"1.0", "h", {"127.0.0.1"}, "/mnt", 1700000000, 42}));
  uint64_t sid = m->SessionId();
  CHECK(sid > 0);
  CHECK_ERR(m->NewSession(SessionInfo{}), EINVAL);
  auto other = b.another_client();
  REQUIRE_OK(other->Load(nullptr));
  REQUIRE_OK(other->NewSession(SessionInfo{}));
  CHECK(other->SessionId() > 0);
  CHECK(other->SessionId() != sid);

  // Both sessions are listed, each with the info its client registered.
  std::vector<SessionRecord> list;
  REQUIRE_OK(other->ListSessions(&list));
  REQUIRE(list.size() == 2);
  const auto mine =
      std::find_if(list.begin(), list.end(), [&](const SessionRecord& s) { return s.sid == sid; });
  REQUIRE(mine != list.end());
  CHECK(mine->info_json.find("\"ProcessID\":42") != std::string::npos);
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  CHECK(mine->expire > now);
  // The heartbeat keeps the session and its info; it never moves the expiry backwards.
  const int64_t before = mine->expire;
  const std::string info = mine->info_json;
  REQUIRE_OK(m->Heartbeat());
  REQUIRE_OK(m->ListSessions(&list));
  REQUIRE(list.size() == 2);
  for (const SessionRecord& s : list) {
    if (s.sid != sid) continue;
    CHECK(s.expire >= before);
    CHECK(s.info_json == info);
  }

  REQUIRE_OK(other->CloseSession());
  CHECK(other->SessionId() == 0);
  REQUIRE_OK(other->Heartbeat());  // without a session: nothing to refresh
  REQUIRE_OK(m->ListSessions(&list));
  REQUIRE(list.size() == 1);
  CHECK(list[0].sid == sid);
  REQUIRE_OK(m->CloseSession());
  CHECK(m->SessionId() == 0);
  REQUIRE_OK(m->ListSessions(&list));
  CHECK(list.empty());
}

// ---- names ---------------------------------------------------------------------------------

void TestNames(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino dir = f.Mkdir(kRootIno, "d");
  Ino file = f.File(dir, "f");
  Ino ino = 0;
  const std::string nul("a\0b", 3);
  for (const std::string& bad : {std::string(), std::string("a/b"), nul}) {
    CHECK_ERR(m.Mkdir(c, dir, bad, 0755, 0, &ino, nullptr), EINVAL);
    CHECK_ERR(m.Mknod(c, dir, bad, kTypeFile, 0644, 0, 0, &ino, nullptr), EINVAL);
    CHECK_ERR(m.Create(c, dir, bad, 0644, 0, O_RDWR, &ino, nullptr), EINVAL);
    CHECK_ERR(m.Symlink(c, dir, bad, "t", &ino, nullptr), EINVAL);
    CHECK_ERR(m.Link(c, file, dir, bad, nullptr), EINVAL);
    CHECK_ERR(m.Rename(c, dir, "f", dir, bad, 0, nullptr, nullptr), EINVAL);
    CHECK_ERR(m.Lookup(c, dir, bad, &ino, nullptr), EINVAL);
  }
  for (const char* dot : {".", ".."}) {
    CHECK_ERR(m.Mkdir(c, dir, dot, 0755, 0, &ino, nullptr), EINVAL);
    CHECK_ERR(m.Mknod(c, dir, dot, kTypeFile, 0644, 0, 0, &ino, nullptr), EINVAL);
    CHECK_ERR(m.Unlink(c, dir, dot), EINVAL);
    CHECK_ERR(m.Link(c, file, dir, dot, nullptr), EINVAL);
    CHECK_ERR(m.Rename(c, dir, "f", dir, dot, 0, nullptr, nullptr), EINVAL);
    CHECK_ERR(m.Rename(c, dir, dot, dir, "x", 0, nullptr, nullptr), EINVAL);
  }
  CHECK_ERR(m.Rmdir(c, dir, "."), EINVAL);
  CHECK_ERR(m.Rmdir(c, dir, ".."), ENOTEMPTY);

  const std::string longest(255, 'n'), too_long(256, 'n');
  CHECK_ERR(m.Mkdir(c, dir, too_long, 0755, 0, &ino, nullptr), ENAMETOOLONG);
  CHECK_ERR(m.Mknod(c, dir, too_long, kTypeFile, 0644, 0, 0, &ino, nullptr), ENAMETOOLONG);
  CHECK_ERR(m.Lookup(c, dir, too_long, &ino, nullptr), ENAMETOOLONG);
  CHECK_ERR(m.Rename(c, dir, "f", dir, too_long, 0, nullptr, nullptr), ENAMETOOLONG);
  Ino longest_ino = 0;
  REQUIRE_OK(m.Mknod(c, dir, longest, kTypeFile, 0644, 0, 0, &longest_ino, nullptr));
  CHECK(f.Find(dir, longest) == longest_ino);
  // Names are bytes: UTF-8 and odd bytes are fine.
  const std::string odd = "\xe4\xb8\xad\xff\x01 x";
  Ino odd_ino = f.File(dir, odd);
  CHECK(f.Find(dir, odd) == odd_ino);

  // `.trash` is reserved in the root only.
  CHECK_ERR(m.Mkdir(c, kRootIno, ".trash", 0755, 0, &ino, nullptr), EPERM);
  CHECK_ERR(m.Mknod(c, kRootIno, ".trash", kTypeFile, 0644, 0, 0, &ino, nullptr), EPERM);
  CHECK_ERR(m.Create(c, kRootIno, ".trash", 0644, 0, O_RDWR, &ino, nullptr), EPERM);
  CHECK_ERR(m.Symlink(c, kRootIno, ".trash", "x", &ino, nullptr), EPERM);
  CHECK_ERR(m.Link(c, file, kRootIno, ".trash", nullptr), EPERM);
  CHECK_ERR(m.Rename(c, dir, "f", kRootIno, ".trash", 0, nullptr, nullptr), EPERM);
  CHECK_ERR(m.Rename(c, kRootIno, ".trash", dir, "t", 0, nullptr, nullptr), EPERM);
  CHECK_ERR(m.Unlink(c, kRootIno, ".trash"), EPERM);
  CHECK_ERR(m.Rmdir(c, kRootIno, ".trash"), EPERM);
  Ino sub_trash = f.Mkdir(dir, ".trash");
  CHECK(f.Find(dir, ".trash") == sub_trash);

  // Missing required outputs are refused, not dereferenced.
  std::string cursor;
  std::vector<Entry> page;
  CHECK_ERR(m.Readdir(c, dir, false, nullptr, 10, &page), EINVAL);
  CHECK_ERR(m.Readdir(c, dir, false, &cursor, 10, nullptr), EINVAL);
  CHECK_ERR(m.Read(c, file, 0, nullptr), EINVAL);
  {
    std::vector<SliceView> none;  // a chunk of an inode that does not exist
    CHECK_ERR(m.Read(c, 987654321, 0, &none), ENOENT);
  }
  CHECK_ERR(m.NewSlice(c, nullptr), EINVAL);
  CHECK_ERR(m.StatFS(c, nullptr), EINVAL);
  CHECK_ERR(m.ReadLink(c, file, nullptr), EINVAL);
  CHECK_ERR(m.GetXattr(c, file, "user.x", nullptr), EINVAL);
  CHECK_ERR(m.ListXattr(c, file, nullptr), EINVAL);
  CHECK_ERR(m.Access(c, file, 8, nullptr), EINVAL);
}

// ---- creating ------------------------------------------------------------------------------

void TestCreate(const MetaBackend& b) {
  Fixture f(b, TrashFormat());
  Meta& m = *f.m;
  const Context& c = f.root;
  const Context user = Ctx(1000, {1000, 20});

  SECTION("mkdir") {
    Attr root_before = f.Get(kRootIno);
    int64_t t0 = NowNs();
    Ino ino = 0;
    Attr a;
    REQUIRE_OK(m.Mkdir(user, kRootIno, "d", 0777, 022, &ino, &a));
    CHECK(ino > kRootIno);
    CHECK(a.typ == kTypeDirectory);
    CHECK(a.mode == 0755);
    CHECK(a.nlink == 2);
    CHECK(a.length == 4096);
    CHECK(a.parent == kRootIno);
    CHECK(a.uid == 1000);
    CHECK(a.gid == 1000);
    CHECK(MtimeNs(a) >= t0);
    CHECK(Ns(a.atime, a.atimensec) == MtimeNs(a));
    CHECK(CtimeNs(a) == MtimeNs(a));
    CHECK(a == f.Get(ino));
    Attr root_after = f.Get(kRootIno);
    CHECK(root_after.nlink == root_before.nlink + 1);
    CHECK(MtimeNs(root_after) >= t0);
    CHECK(CtimeNs(root_after) >= t0);
    Attr looked;
    Ino found = 0;
    REQUIRE_OK(m.Lookup(c, kRootIno, "d", &found, &looked));
    CHECK(found == ino);
    CHECK(looked == a);
    // Nested directories count in their parent only.
    f.Mkdir(ino, "e");
    CHECK(f.Get(ino).nlink == 3);
    CHECK(f.Get(kRootIno).nlink == root_before.nlink + 1);
  }
  SECTION("regular files and special nodes") {
    Attr root_before = f.Get(kRootIno);
    Ino ino = 0;
    Attr a;
    REQUIRE_OK(m.Mknod(user, kRootIno, "f", kTypeFile, 0666, 027, 99, &ino, &a));
    CHECK(a.typ == kTypeFile);
    CHECK(a.mode == 0640);
    CHECK(a.nlink == 1);
    CHECK(a.length == 0);
    CHECK(a.rdev == 0);
    CHECK(a.parent == kRootIno);
    CHECK(f.Get(kRootIno).nlink == root_before.nlink);  // files do not change nlink

    REQUIRE_OK(m.Mknod(c, kRootIno, "chr", kTypeCharDev, 0600, 0, 0x0501, &ino, &a));
    CHECK(a.typ == kTypeCharDev);
    CHECK(a.rdev == 0x0501);
    REQUIRE_OK(m.Mknod(c, kRootIno, "blk", kTypeBlockDev, 0600, 0, 0x0803, &ino, &a));
    CHECK(a.rdev == 0x0803);
    REQUIRE_OK(m.Mknod(c, kRootIno, "fifo", kTypeFIFO, 0600, 0, 0, &ino, &a));
    CHECK(f.Get(ino).typ == kTypeFIFO);
    REQUIRE_OK(m.Mknod(c, kRootIno, "sock", kTypeSocket, 0600, 0, 0, &ino, &a));
    CHECK(f.Get(ino).typ == kTypeSocket);
    REQUIRE_OK(m.Mknod(c, kRootIno, "dir", kTypeDirectory, 0700, 0, 0, &ino, &a));
    CHECK(a.nlink == 2);
    CHECK(f.Get(kRootIno).nlink == root_before.nlink + 1);
    CHECK_ERR(m.Mknod(c, kRootIno, "sym", kTypeSymlink, 0777, 0, 0, &ino, &a), EINVAL);
    CHECK_ERR(m.Mknod(c, kRootIno, "bad", 0, 0777, 0, 0, &ino, &a), EINVAL);
    CHECK_ERR(m.Mknod(c, kRootIno, "bad", 9, 0777, 0, 0, &ino, &a), EINVAL);
  }
  SECTION("create opens the new file") {
    Ino ino = 0;
    Attr a;
    REQUIRE_OK(m.Create(c, kRootIno, "f", 0644, 0, O_RDWR, &ino, &a));
    CHECK(a.typ == kTypeFile);
    CHECK(a.nlink == 1);
    REQUIRE_OK(m.Close(c, ino));
    CHECK_ERR(m.Close(c, ino), EBADF);
  }
  SECTION("symlinks") {
    Ino ino = 0;
    Attr a;
    REQUIRE_OK(m.Symlink(user, kRootIno, "s", "../some/where", &ino, &a));
    CHECK(a.typ == kTypeSymlink);
    CHECK(a.mode == 0777);
    CHECK(a.length == 13);
    CHECK(a.nlink == 1);
    std::string target;
    REQUIRE_OK(m.ReadLink(c, ino, &target));
    CHECK(target == "../some/where");
    const std::string longest(kMaxSymlink, 'x');
    REQUIRE_OK(m.Symlink(c, kRootIno, "long", longest, &ino, &a));
    CHECK(a.length == kMaxSymlink);
    REQUIRE_OK(m.ReadLink(c, ino, &target));
    CHECK(target == longest);
    CHECK_ERR(m.Symlink(c, kRootIno, "toolong", longest + "x", &ino, &a), ENAMETOOLONG);
    CHECK_ERR(m.Symlink(c, kRootIno, "empty", "", &ino, &a), ENOENT);
    Ino file = f.File(kRootIno, "file");
    CHECK_ERR(m.ReadLink(c, file, &target), EINVAL);
    CHECK_ERR(m.ReadLink(c, 999999, &target), ENOENT);
  }
  SECTION("existing names, missing and non-directory parents") {
    Ino dir = f.Mkdir(kRootIno, "d");
    Ino ino = 0;
    Attr a;
    CHECK_ERR(m.Mkdir(c, kRootIno, "d", 0755, 0, &ino, &a), EEXIST);
    CHECK(ino == dir);
    CHECK(a.typ == kTypeDirectory);
    ino = 0;
    CHECK_ERR(m.Create(c, kRootIno, "d", 0644, 0, O_RDWR, &ino, &a), EEXIST);
    CHECK(ino == dir);
    CHECK_ERR(m.Mknod(c, kRootIno, "d", kTypeFile, 0644, 0, 0, &ino, &a), EEXIST);
    CHECK_ERR(m.Symlink(c, kRootIno, "d", "x", &ino, &a), EEXIST);
    CHECK(f.Get(kRootIno).nlink == 3);  // the failed mkdir did not count

    Ino file = f.File(kRootIno, "file");
    CHECK_ERR(m.Mkdir(c, file, "x", 0755, 0, &ino, &a), ENOTDIR);
    CHECK_ERR(m.Mknod(c, file, "x", kTypeFile, 0644, 0, 0, &ino, &a), ENOTDIR);
    CHECK_ERR(m.Symlink(c, file, "x", "t", &ino, &a), ENOTDIR);
    CHECK_ERR(m.Mkdir(c, 123456789, "x", 0755, 0, &ino, &a), ENOENT);
    CHECK_ERR(m.Create(c, 123456789, "x", 0644, 0, O_RDWR, &ino, &a), ENOENT);
    // Nothing can be created in the trash.
    CHECK_ERR(m.Mkdir(c, kTrashIno, "x", 0755, 0, &ino, &a), EPERM);
  }
  SECTION("setgid directories pass their group on") {
    Ino shared = f.Mkdir(kRootIno, "shared", 0777);
    Attr set;
    set.gid = 50;
    set.mode = 02777;
    REQUIRE_OK(m.SetAttr(c, shared, kSetGid | kSetMode, set, nullptr));
    Ino ino = 0;
    Attr a;
    REQUIRE_OK(m.Mknod(user, shared, "file", kTypeFile, 0644, 0, 0, &ino, &a));
    CHECK(a.gid == 50);
    CHECK(a.mode == 0644);
    REQUIRE_OK(m.Mkdir(user, shared, "sub", 0755, 0, &ino, &a));
    CHECK(a.gid == 50);
    CHECK(a.mode == 02755);
    // A non-member cannot create a setgid, group-executable file there.
    REQUIRE_OK(m.Mknod(user, shared, "sg", kTypeFile, 02755, 0, 0, &ino, &a));
    CHECK(a.mode == 0755);
    const Context member = Ctx(1001, {1001, 50});
    REQUIRE_OK(m.Mknod(member, shared, "sg2", kTypeFile, 02755, 0, 0, &ino, &a));
    CHECK(a.mode == 02755);
    // Without setgid the creator's primary group is used.
    REQUIRE_OK(m.Mknod(user, kRootIno, "plain", kTypeFile, 0644, 0, 0, &ino, &a));
    CHECK(a.gid == 1000);
  }
}

// ---- lookup --------------------------------------------------------------------------------

void TestLookup(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino d = f.Mkdir(kRootIno, "d");
  Ino e = f.Mkdir(d, "e");
  Ino file = f.File(e, "file");
  Ino ino = 0;
  Attr a;
  REQUIRE_OK(m.Lookup(c, e, ".", &ino, &a));
  CHECK(ino == e);
  CHECK(a == f.Get(e));
  REQUIRE_OK(m.Lookup(c, e, "..", &ino, &a));
  CHECK(ino == d);
  CHECK(a == f.Get(d));
  REQUIRE_OK(m.Lookup(c, kRootIno, "..", &ino, &a));
  CHECK(ino == kRootIno);
  REQUIRE_OK(m.Lookup(c, 0, "d", &ino, nullptr));
  CHECK(ino == d);
  REQUIRE_OK(m.Lookup(c, e, "file", &ino, &a));
  CHECK(ino == file);
  CHECK(a.typ == kTypeFile);
  CHECK_ERR(m.Lookup(c, e, "missing", &ino, &a), ENOENT);
  CHECK_ERR(m.Lookup(c, file, "x", &ino, &a), ENOTDIR);
  CHECK_ERR(m.Lookup(c, 987654321, "x", &ino, &a), ENOENT);
  CHECK_ERR(m.GetAttr(c, 987654321, &a), ENOENT);
  // Search permission on the directory is needed, "." and ".." included.
  Ino priv = f.Mkdir(kRootIno, "private", 0700);
  f.File(priv, "secret");
  const Context user = Ctx(1000, {1000});
  CHECK_ERR(m.Lookup(user, priv, "secret", &ino, &a), EACCES);
  CHECK_ERR(m.Lookup(user, priv, "..", &ino, &a), EACCES);
  REQUIRE_OK(m.Lookup(user, d, "e", &ino, &a));
  Context nocheck = user;
  nocheck.check_permission = false;
  REQUIRE_OK(m.Lookup(nocheck, priv, "secret", &ino, &a));
}

// ---- permissions ---------------------------------------------------------------------------

void TestPermissions(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  const Context alice = Ctx(1000, {1000});
  const Context bob = Ctx(2000, {2000, 1000});  // secondary group 1000
  const Context eve = Ctx(3000, {3000});
  Ino ino = 0;
  Attr a;

  SECTION("creating needs write and search permission on the parent") {
    Ino ro = f.Mkdir(kRootIno, "ro", 0755);
    CHECK_ERR(m.Mknod(alice, ro, "x", kTypeFile, 0644, 0, 0, &ino, &a), EACCES);
    CHECK_ERR(m.Mkdir(alice, ro, "x", 0755, 0, &ino, &a), EACCES);
    CHECK_ERR(m.Symlink(alice, ro, "x", "t", &ino, &a), EACCES);
    Ino wonly = f.Mkdir(kRootIno, "wonly", 0722);
    CHECK_ERR(m.Mknod(alice, wonly, "x", kTypeFile, 0644, 0, 0, &ino, &a), EACCES);
    Ino open = f.Mkdir(kRootIno, "open", 0777);
    REQUIRE_OK(m.Mknod(alice, open, "x", kTypeFile, 0644, 0, 0, &ino, &a));
    CHECK(a.uid == 1000);
    // Group class through a secondary group.
    Ino grp = f.Mkdir(kRootIno, "grp", 0070);
    Attr set;
    set.gid = 1000;
    REQUIRE_OK(m.SetAttr(c, grp, kSetGid, set, nullptr));
    REQUIRE_OK(m.Mknod(bob, grp, "y", kTypeFile, 0644, 0, 0, &ino, &a));
    CHECK(a.gid == 2000);
    CHECK_ERR(m.Mknod(eve, grp, "z", kTypeFile, 0644, 0, 0, &ino, &a), EACCES);
    // The owner class wins even when it grants less than the group class.
    Ino own = f.Mkdir(kRootIno, "own", 0777);
    REQUIRE_OK(m.SetAttr(
        c, own, kSetUid | kSetGid | kSetMode,
        [] {
          Attr s;
          s.uid = 1000;
          s.gid = 1000;
          s.mode = 0077;
          return s;
        }(),
        nullptr));
    CHECK_ERR(m.Mknod(alice, own, "x", kTypeFile, 0644, 0, 0, &ino, &a), EACCES);
    REQUIRE_OK(m.Mknod(bob, own, "x", kTypeFile, 0644, 0, 0, &ino, &a));
  }
  SECTION("removing and renaming need write and search permission") {
    Ino dir = f.Mkdir(kRootIno, "dir", 0755);
    f.File(dir, "f");
    f.Mkdir(dir, "sub");
    Ino other = f.Mkdir(kRootIno, "other", 0777);
    CHECK_ERR(m.Unlink(alice, dir, "f"), EACCES);
    CHECK_ERR(m.Rmdir(alice, dir, "sub"), EACCES);
    CHECK_ERR(m.Rename(alice, dir, "f", other, "f", 0, nullptr, nullptr), EACCES);
    CHECK_ERR(m.Rename(alice, other, "missing", dir, "f", 0, nullptr, nullptr), EACCES);
    Ino file = f.File(other, "g");
    CHECK_ERR(m.Link(alice, file, dir, "g", nullptr), EACCES);
    REQUIRE_OK(m.Link(alice, file, other, "g2", nullptr));
    REQUIRE_OK(m.Unlink(alice, other, "g2"));
  }
  SECTION("moving a directory to another parent needs write permission on it") {
    Ino open1 = f.Mkdir(kRootIno, "o1", 0777);
    Ino open2 = f.Mkdir(kRootIno, "o2", 0777);
    f.Mkdir(open1, "rootdir", 0755);  // owned by root
    CHECK_ERR(m.Rename(alice, open1, "rootdir", open2, "rootdir", 0, nullptr, nullptr), EACCES);
    REQUIRE_OK(m.Rename(alice, open1, "rootdir", open1, "renamed", 0, nullptr, nullptr));
  }
  SECTION("sticky directories protect other users' entries") {
    Ino tmp = f.Mkdir(kRootIno, "tmp", 01777);
    REQUIRE_OK(m.Mknod(alice, tmp, "a", kTypeFile, 0666, 0, 0, &ino, &a));
    REQUIRE_OK(m.Mkdir(alice, tmp, "adir", 0777, 0, &ino, &a));
    REQUIRE_OK(m.Mknod(alice, tmp, "a2", kTypeFile, 0666, 0, 0, &ino, &a));
    REQUIRE_OK(m.Mknod(eve, tmp, "e", kTypeFile, 0666, 0, 0, &ino, &a));
    CHECK_ERR(m.Unlink(eve, tmp, "a"), EPERM);
    CHECK_ERR(m.Rmdir(eve, tmp, "adir"), EPERM);
    CHECK_ERR(m.Rename(eve, tmp, "a", tmp, "b", 0, nullptr, nullptr), EPERM);
    CHECK_ERR(m.Rename(eve, tmp, "e", tmp, "a", 0, nullptr, nullptr), EPERM);  // over alice's
    REQUIRE_OK(m.Unlink(alice, tmp, "a"));
    REQUIRE_OK(m.Rmdir(alice, tmp, "adir"));
    REQUIRE_OK(m.Unlink(c, tmp, "a2"));  // root may
    REQUIRE_OK(m.Rename(eve, tmp, "e", tmp, "e2", 0, nullptr, nullptr));
    // The directory's owner may remove anything in it.
    Ino mine = f.Mkdir(tmp, "mine", 0777, &alice);
    Attr set;
    set.mode = 01777;
    REQUIRE_OK(m.SetAttr(alice, mine, kSetMode, set, nullptr));
    REQUIRE_OK(m.Mknod(eve, mine, "x", kTypeFile, 0644, 0, 0, &ino, &a));
    REQUIRE_OK(m.Unlink(alice, mine, "x"));
  }
  SECTION("readdir needs read permission, open follows the access mode") {
    Ino dir = f.Mkdir(kRootIno, "d", 0711);
    std::string cursor;
    std::vector<Entry> page;
    CHECK_ERR(m.Readdir(alice, dir, false, &cursor, 10, &page), EACCES);
    REQUIRE_OK(m.Readdir(c, dir, false, &cursor, 10, &page));
    Ino file = f.File(kRootIno, "f", 0644);
    REQUIRE_OK(m.Open(alice, file, O_RDONLY, &a));
    CHECK(a.typ == kTypeFile);
    REQUIRE_OK(m.Close(alice, file));
    CHECK_ERR(m.Open(alice, file, O_WRONLY, &a), EACCES);
    CHECK_ERR(m.Open(alice, file, O_RDWR, &a), EACCES);
    CHECK_ERR(m.Open(alice, file, O_RDONLY | O_TRUNC, &a), EACCES);
    CHECK_ERR(m.Close(alice, file), EBADF);  // failed opens are not counted
    REQUIRE_OK(m.Open(c, file, O_RDWR, &a));
    REQUIRE_OK(m.Close(c, file));
    Ino wonly = f.File(kRootIno, "w", 0602);
    CHECK_ERR(m.Open(alice, wonly, O_RDONLY, &a), EACCES);
    REQUIRE_OK(m.Open(alice, wonly, O_WRONLY, &a));
    REQUIRE_OK(m.Close(alice, wonly));
    // Directories open read-only only.
    REQUIRE_OK(m.Open(c, dir, O_RDONLY, &a));
    REQUIRE_OK(m.Close(c, dir));
    CHECK_ERR(m.Open(c, dir, O_WRONLY, &a), EISDIR);
    CHECK_ERR(m.Open(c, dir, O_RDWR, &a), EISDIR);
    CHECK_ERR(m.Open(c, 987654321, O_RDONLY, &a), ENOENT);
    // OpenKnown checks the attributes the caller read (a lookup's) exactly as Open checks its own,
    // and counts the open the same way.
    Attr known;
    REQUIRE_OK(m.GetAttr(c, file, &known));
    REQUIRE_OK(m.OpenKnown(alice, file, O_RDONLY, known));
    REQUIRE_OK(m.Close(alice, file));
    CHECK_ERR(m.OpenKnown(alice, file, O_WRONLY, known), EACCES);
    CHECK_ERR(m.Close(alice, file), EBADF);
    Attr known_dir;
    REQUIRE_OK(m.GetAttr(c, dir, &known_dir));
    CHECK_ERR(m.OpenKnown(c, dir, O_RDWR, known_dir), EISDIR);
    // Truncate needs write permission unless the handle was opened for writing.
    CHECK_ERR(m.Truncate(alice, file, 10, false, &a), EACCES);
    REQUIRE_OK(m.Truncate(alice, file, 10, true, &a));
    CHECK(a.length == 10);
  }
  SECTION("Access") {
    Ino file = f.File(kRootIno, "f", 0640);
    Attr set;
    set.gid = 1000;
    REQUIRE_OK(m.SetAttr(c, file, kSetGid, set, nullptr));
    CHECK_OK(m.Access(alice, file, 4, nullptr));
    CHECK_ERR(m.Access(alice, file, 2, nullptr), EACCES);
    CHECK_ERR(m.Access(alice, file, 1, nullptr), EACCES);
    CHECK_ERR(m.Access(eve, file, 4, nullptr), EACCES);
    CHECK_OK(m.Access(eve, file, 0, nullptr));
    CHECK_OK(m.Access(c, file, 7, nullptr));
    CHECK_ERR(m.Access(c, 987654321, 0, nullptr), ENOENT);
    Attr given = f.Get(file);
    given.mode = 0604;
    CHECK_OK(m.Access(eve, file, 4, &given));  // the caller's attr is used as is
    Context nocheck = eve;
    nocheck.check_permission = false;
    CHECK_OK(m.Access(nocheck, file, 7, nullptr));
  }
}

// ---- SetAttr -------------------------------------------------------------------------------

void TestSetAttr(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  const Context alice = Ctx(1000, {1000, 60});
  const Context eve = Ctx(3000, {3000});
  Ino dir = f.Mkdir(kRootIno, "d", 0777);
  Ino file = f.File(dir, "f", 0644, &alice);
  Attr in, out;

  SECTION("chmod") {
    int64_t t0 = NowNs();
    in.mode = 0600;
    REQUIRE_OK(m.SetAttr(alice, file, kSetMode, in, &out));
    CHECK(out.mode == 0600);
    CHECK(CtimeNs(out) >= t0);
    CHECK(f.Get(file) == out);
    in.mode = 0666;
    CHECK_ERR(m.SetAttr(eve, file, kSetMode, in, &out), EPERM);
    REQUIRE_OK(m.SetAttr(c, file, kSetMode, in, &out));
    CHECK(out.mode == 0666);
    in.mode = 0100644;  // type bits are ignored
    REQUIRE_OK(m.SetAttr(c, file, kSetMode, in, &out));
    CHECK(out.mode == 0644);
    CHECK(out.typ == kTypeFile);
    // Setting setgid on a file of a group the caller is not in drops it silently.
    in.gid = 50;
    REQUIRE_OK(m.SetAttr(c, file, kSetGid, in, &out));
    in.mode = 02755;
    REQUIRE_OK(m.SetAttr(alice, file, kSetMode, in, &out));
    CHECK(out.mode == 0755);
    REQUIRE_OK(m.SetAttr(c, file, kSetMode, in, &out));
    CHECK(out.mode == 02755);
  }
  SECTION("chown and chgrp") {
    in.uid = 3000;
    CHECK_ERR(m.SetAttr(alice, file, kSetUid, in, &out), EPERM);
    in.uid = 1000;
    REQUIRE_OK(m.SetAttr(alice, file, kSetUid, in, &out));  // to itself: allowed
    CHECK_ERR(m.SetAttr(eve, file, kSetUid, in, &out), EPERM);
    in.gid = 60;
    REQUIRE_OK(m.SetAttr(alice, file, kSetGid, in, &out));
    CHECK(out.gid == 60);
    in.gid = 70;
    CHECK_ERR(m.SetAttr(alice, file, kSetGid, in, &out), EPERM);
    in.gid = 3000;
    CHECK_ERR(m.SetAttr(eve, file, kSetGid, in, &out), EPERM);  // not the owner
    in.uid = 3000;
    in.gid = 3000;
    REQUIRE_OK(m.SetAttr(c, file, kSetUid | kSetGid, in, &out));
    CHECK(out.uid == 3000);
    CHECK(out.gid == 3000);
    CHECK(f.Get(file) == out);
  }
  SECTION("chown clears setuid and setgid") {
    in.mode = 06755;
    REQUIRE_OK(m.SetAttr(c, file, kSetMode, in, &out));
    in.gid = 60;
    REQUIRE_OK(m.SetAttr(alice, file, kSetGid, in, &out));
    CHECK(out.mode == 0755);
    // Root keeps setgid of a file that is not group-executable (mandatory locking).
    in.mode = 06644;
    REQUIRE_OK(m.SetAttr(c, file, kSetMode, in, &out));
    in.uid = 1000;
    REQUIRE_OK(m.SetAttr(c, file, kSetUid, in, &out));
    CHECK(out.mode == 02644);
    in.mode = 06755;
    REQUIRE_OK(m.SetAttr(c, file, kSetMode, in, &out));
    REQUIRE_OK(m.SetAttr(c, file, kSetUid, in, &out));
    CHECK(out.mode == 0755);
    // Directories keep them.
    in.mode = 02755;
    REQUIRE_OK(m.SetAttr(c, dir, kSetMode, in, &out));
    in.gid = 60;
    REQUIRE_OK(m.SetAttr(c, dir, kSetGid, in, &out));
    CHECK(out.mode == 02755);
  }
  SECTION("utimens") {
    in.atime = 1234567890;
    in.atimensec = 123456789;
    in.mtime = 1300000000;
    in.mtimensec = 987654321;
    REQUIRE_OK(m.SetAttr(alice, file, kSetAtime | kSetMtime, in, &out));
    CHECK(out.atime == 1234567890);
    CHECK(out.atimensec == 123456789);
    CHECK(out.mtime == 1300000000);
    CHECK(out.mtimensec == 987654321);
    CHECK(f.Get(file) == out);
    // Explicit times need ownership even with write access; "now" needs write access.
    in.mode = 0666;
    REQUIRE_OK(m.SetAttr(alice, file, kSetMode, in, &out));
    CHECK_ERR(m.SetAttr(eve, file, kSetMtime, in, &out), EPERM);
    int64_t t0 = NowNs();
    REQUIRE_OK(m.SetAttr(eve, file, kSetAtimeNow | kSetMtimeNow, in, &out));
    CHECK(MtimeNs(out) >= t0);
    CHECK(Ns(out.atime, out.atimensec) >= t0);
    in.mode = 0644;
    REQUIRE_OK(m.SetAttr(alice, file, kSetMode, in, &out));
    CHECK_ERR(m.SetAttr(eve, file, kSetMtimeNow, in, &out), EACCES);
    REQUIRE_OK(m.SetAttr(alice, file, kSetMtimeNow, in, &out));
  }
  SECTION("invalid masks") {
    in.length = 10;
    CHECK_ERR(m.SetAttr(c, file, kSetSize, in, &out), EINVAL);
    CHECK_ERR(m.SetAttr(c, file, 1u << 20, in, &out), EINVAL);
    CHECK_ERR(m.SetAttr(c, 987654321, kSetMode, in, &out), ENOENT);
  }
  SECTION("immutable and append-only flags") {
    uint64_t id = f.Write(file, 0, 0, 100);
    (void)id;
    in.flags = kFlagImmutable;
    CHECK_ERR(m.SetAttr(alice, file, kSetFlags, in, &out), EPERM);  // root only
    REQUIRE_OK(m.SetAttr(c, file, kSetFlags, in, &out));
    CHECK(out.flags == kFlagImmutable);
    Attr a;
    CHECK_ERR(m.Unlink(c, dir, "f"), EPERM);
    CHECK_ERR(m.Rename(c, dir, "f", dir, "g", 0, nullptr, nullptr), EPERM);
    CHECK_ERR(m.Link(c, file, dir, "g", nullptr), EPERM);
    CHECK_ERR(m.Open(c, file, O_WRONLY, &a), EPERM);
    REQUIRE_OK(m.Open(c, file, O_RDONLY, &a));
    REQUIRE_OK(m.Close(c, file));
    CHECK_ERR(m.Truncate(c, file, 0, false, &a), EPERM);
    Slice s;
    s.id = 0;
    s.len = 10;
    CHECK_ERR(m.Write(c, file, 0, 0, s), EPERM);
    in.mode = 0600;
    CHECK_ERR(m.SetAttr(c, file, kSetMode, in, &out), EPERM);
    CHECK_ERR(m.SetXattr(c, file, "user.x", "v", 0), EPERM);
    in.flags = 0;
    REQUIRE_OK(m.SetAttr(c, file, kSetFlags, in, &out));
    REQUIRE_OK(m.Truncate(c, file, 0, false, &a));

    in.flags = kFlagAppend;
    REQUIRE_OK(m.SetAttr(c, file, kSetFlags, in, &out));
    CHECK_ERR(m.Open(c, file, O_WRONLY, &a), EPERM);
    CHECK_ERR(m.Open(c, file, O_WRONLY | O_APPEND | O_TRUNC, &a), EPERM);
    REQUIRE_OK(m.Open(c, file, O_WRONLY | O_APPEND, &a));
    REQUIRE_OK(m.Close(c, file));
    CHECK_ERR(m.Truncate(c, file, 0, false, &a), EPERM);
    CHECK_ERR(m.Unlink(c, dir, "f"), EPERM);
    // Entries of an immutable directory cannot change.
    in.flags = 0;
    REQUIRE_OK(m.SetAttr(c, file, kSetFlags, in, &out));
    in.flags = kFlagImmutable;
    REQUIRE_OK(m.SetAttr(c, dir, kSetFlags, in, &out));
    Ino ino = 0;
    CHECK_ERR(m.Mknod(c, dir, "new", kTypeFile, 0644, 0, 0, &ino, &a), EPERM);
    CHECK_ERR(m.Unlink(c, dir, "f"), EPERM);
    in.flags = 0;
    REQUIRE_OK(m.SetAttr(c, dir, kSetFlags, in, &out));
    REQUIRE_OK(m.Unlink(c, dir, "f"));
  }
}

// ---- hard links ----------------------------------------------------------------------------

void TestHardLinks(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino d1 = f.Mkdir(kRootIno, "d1");
  Ino d2 = f.Mkdir(kRootIno, "d2");
  Ino file = f.File(d1, "f");
  uint64_t id = f.Write(file, 0, 0, 5000);
  Attr before = f.Get(file);
  CHECK(before.parent == d1);

  int64_t t0 = NowNs();
  Attr a;
  REQUIRE_OK(m.Link(c, file, d2, "g", &a));
  CHECK(a.nlink == 2);
  CHECK(a.parent == 0);
  CHECK(CtimeNs(a) >= t0);
  CHECK(f.Get(file) == a);
  CHECK(f.Find(d2, "g") == file);
  CHECK(f.Find(d1, "f") == file);
  CHECK(MtimeNs(f.Get(d2)) >= t0);
  REQUIRE_OK(m.Link(c, file, d1, "f2", &a));  // a second link in the original parent
  CHECK(a.nlink == 3);

  CHECK_ERR(m.Link(c, file, d2, "g", &a), EEXIST);
  CHECK_ERR(m.Link(c, d1, d2, "dirlink", &a), EPERM);
  CHECK_ERR(m.Link(c, 987654321, d2, "x", &a), ENOENT);
  CHECK_ERR(m.Link(c, file, file, "x", &a), ENOTDIR);
  CHECK(f.Get(d2).nlink == 2);  // file links do not count

  // Moving one name keeps the inode hard-linked.
  REQUIRE_OK(m.Rename(c, d2, "g", kRootIno, "g", 0, nullptr, &a));
  CHECK(a.parent == 0);
  CHECK(a.nlink == 3);

  // Unlinking names keeps the data until the last one goes.
  REQUIRE_OK(m.Unlink(c, d1, "f"));
  CHECK(f.Get(file).nlink == 2);
  REQUIRE_OK(m.Unlink(c, d1, "f2"));
  CHECK(f.Get(file).nlink == 1);
  CHECK(f.Get(file).length == 5000);
  std::vector<SliceView> views = f.Read(file, 0);
  REQUIRE(views.size() == 1);
  CHECK(views[0].id == id);
  CHECK(f.TakeDeleted().empty());
  Ino ino = 0;
  CHECK_ERR(m.Lookup(c, d1, "f", &ino, &a), ENOENT);
  REQUIRE_OK(m.Unlink(c, kRootIno, "g"));
  CHECK_FALSE(f.Exists(file));
  CHECK(f.TakeDeleted() == std::set<SliceKey>{{id, 5000}});
}

// ---- unlink and rmdir ----------------------------------------------------------------------

void TestRemove(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino d = f.Mkdir(kRootIno, "d");
  Ino sub = f.Mkdir(d, "sub");
  Ino file = f.File(d, "f");
  Ino sym = 0;
  REQUIRE_OK(m.Symlink(c, d, "s", "target", &sym, nullptr));
  REQUIRE_OK(m.SetXattr(c, file, "user.k", "v", 0));

  SECTION("unlink") {
    int64_t t0 = NowNs();
    REQUIRE_OK(m.Unlink(c, d, "f"));
    CHECK_FALSE(f.Exists(file));
    Ino ino = 0;
    Attr a;
    CHECK_ERR(m.Lookup(c, d, "f", &ino, &a), ENOENT);
    CHECK(MtimeNs(f.Get(d)) >= t0);
    CHECK(CtimeNs(f.Get(d)) >= t0);
    CHECK_ERR(m.Unlink(c, d, "f"), ENOENT);
    CHECK_ERR(m.Unlink(c, d, "sub"), EISDIR);
    CHECK_ERR(m.Unlink(c, file, "x"), ENOENT);  // the parent is gone
    Ino other = f.File(d, "other");
    CHECK_ERR(m.Unlink(c, other, "x"), ENOTDIR);
    REQUIRE_OK(m.Unlink(c, d, "s"));
    std::string target;
    CHECK_ERR(m.ReadLink(c, sym, &target), ENOENT);
  }
  SECTION("rmdir") {
    uint32_t nlink = f.Get(d).nlink;
    CHECK_ERR(m.Rmdir(c, kRootIno, "d"), ENOTEMPTY);
    CHECK_ERR(m.Rmdir(c, d, "f"), ENOTDIR);
    CHECK_ERR(m.Rmdir(c, d, "missing"), ENOENT);
    CHECK_ERR(m.Rmdir(c, file, "x"), ENOTDIR);
    int64_t t0 = NowNs();
    REQUIRE_OK(m.Rmdir(c, d, "sub"));
    CHECK_FALSE(f.Exists(sub));
    Attr da = f.Get(d);
    CHECK(da.nlink == nlink - 1);
    CHECK(MtimeNs(da) >= t0);
    REQUIRE_OK(m.Unlink(c, d, "f"));
    REQUIRE_OK(m.Unlink(c, d, "s"));
    uint32_t root_nlink = f.Get(kRootIno).nlink;
    REQUIRE_OK(m.Rmdir(c, kRootIno, "d"));
    CHECK(f.Get(kRootIno).nlink == root_nlink - 1);
    CHECK_FALSE(f.Exists(d));
  }
}

// ---- rename --------------------------------------------------------------------------------

void TestRename(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino d1 = f.Mkdir(kRootIno, "d1");
  Ino d2 = f.Mkdir(kRootIno, "d2");
  Ino file = f.File(d1, "f");
  Ino ino = 0;
  Attr a;

  SECTION("within a directory") {
    int64_t t0 = NowNs();
    REQUIRE_OK(m.Rename(c, d1, "f", d1, "g", 0, &ino, &a));
    CHECK(ino == file);
    CHECK(a.parent == d1);
    CHECK(CtimeNs(a) >= t0);
    CHECK(f.Get(file) == a);
    CHECK_ERR(m.Lookup(c, d1, "f", &ino, &a), ENOENT);
    CHECK(f.Find(d1, "g") == file);
    CHECK(MtimeNs(f.Get(d1)) >= t0);
    REQUIRE_OK(m.Rename(c, d1, "g", d1, "g", 0, &ino, &a));  // onto itself
    CHECK(f.Find(d1, "g") == file);
    CHECK_ERR(m.Rename(c, d1, "missing", d1, "x", 0, &ino, &a), ENOENT);
    CHECK_ERR(m.Rename(c, d1, "g", 987654321, "x", 0, &ino, &a), ENOENT);
    CHECK_ERR(m.Rename(c, d1, "g", file, "x", 0, &ino, &a), ENOTDIR);
  }
  SECTION("across directories") {
    Ino sub = f.Mkdir(d1, "sub");
    f.File(sub, "inside");
    uint32_t n1 = f.Get(d1).nlink, n2 = f.Get(d2).nlink;
    int64_t t0 = NowNs();
    REQUIRE_OK(m.Rename(c, d1, "f", d2, "f", 0, &ino, &a));
    CHECK(a.parent == d2);
    REQUIRE_OK(m.Rename(c, d1, "sub", d2, "moved", 0, &ino, &a));
    CHECK(ino == sub);
    CHECK(a.parent == d2);
    Attr a1 = f.Get(d1), a2 = f.Get(d2);
    CHECK(a1.nlink == n1 - 1);
    CHECK(a2.nlink == n2 + 1);
    CHECK(MtimeNs(a1) >= t0);
    CHECK(MtimeNs(a2) >= t0);
    REQUIRE_OK(m.Lookup(c, sub, "..", &ino, &a));
    CHECK(ino == d2);
    CHECK(f.Find(sub, "inside") > 0);
  }
  SECTION("over an existing file") {
    Ino victim = f.File(d2, "v");
    uint64_t id = f.Write(victim, 0, 0, 4096);
    REQUIRE_OK(m.Rename(c, d1, "f", d2, "v", 0, &ino, &a));
    CHECK(ino == file);
    CHECK(f.Find(d2, "v") == file);
    CHECK_FALSE(f.Exists(victim));
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{id, 4096}});
    CHECK(f.ListAll(d1).empty());
  }
  SECTION("over a hard-linked file keeps its other name") {
    Ino victim = f.File(d2, "v");
    REQUIRE_OK(m.Link(c, victim, d1, "v2", nullptr));
    REQUIRE_OK(m.Rename(c, d1, "f", d2, "v", 0, &ino, &a));
    Attr va = f.Get(victim);
    CHECK(va.nlink == 1);
    CHECK(f.Find(d1, "v2") == victim);
  }
  SECTION("directories over directories") {
    Ino a1 = f.Mkdir(d1, "a");
    Ino empty = f.Mkdir(d2, "empty");
    Ino full = f.Mkdir(d2, "full");
    f.File(full, "x");
    uint32_t n1 = f.Get(d1).nlink, n2 = f.Get(d2).nlink;
    CHECK_ERR(m.Rename(c, d1, "a", d2, "full", 0, &ino, &a), ENOTEMPTY);
    REQUIRE_OK(m.Rename(c, d1, "a", d2, "empty", 0, &ino, &a));
    CHECK(ino == a1);
    CHECK_FALSE(f.Exists(empty));
    CHECK(f.Get(d1).nlink == n1 - 1);
    CHECK(f.Get(d2).nlink == n2);  // one directory left, one arrived
    CHECK(f.Get(a1).parent == d2);
    // Same parent: replacing a sibling directory drops one link.
    Ino s1 = f.Mkdir(d1, "s1");
    f.Mkdir(d1, "s2");
    uint32_t n = f.Get(d1).nlink;
    REQUIRE_OK(m.Rename(c, d1, "s1", d1, "s2", 0, &ino, &a));
    CHECK(ino == s1);
    CHECK(f.Get(d1).nlink == n - 1);
  }
  SECTION("type mismatches") {
    Ino dir = f.Mkdir(d2, "dir");
    f.File(d2, "file2");
    CHECK_ERR(m.Rename(c, d1, "f", d2, "dir", 0, &ino, &a), EISDIR);
    CHECK_ERR(m.Rename(c, d2, "dir", d2, "file2", 0, &ino, &a), ENOTDIR);
    CHECK(f.Find(d2, "dir") == dir);
    CHECK(f.Find(d1, "f") == file);
  }
  SECTION("a directory cannot move into its own subtree") {
    Ino a1 = f.Mkdir(d1, "a");
    Ino b1 = f.Mkdir(a1, "b");
    Ino c1 = f.Mkdir(b1, "c");
    CHECK_ERR(m.Rename(c, d1, "a", c1, "x", 0, &ino, &a), EINVAL);
    CHECK_ERR(m.Rename(c, d1, "a", a1, "x", 0, &ino, &a), EINVAL);
    CHECK_ERR(m.Rename(c, kRootIno, "d1", b1, "x", 0, &ino, &a), EINVAL);
    CHECK_ERR(m.Rename(c, d1, "a", b1, "x", kRenameExchange, &ino, &a), ENOENT);
    // Moving a directory up, out of itself, is fine.
    REQUIRE_OK(m.Rename(c, b1, "c", kRootIno, "c", 0, &ino, &a));
    CHECK(f.Get(c1).parent == kRootIno);
    // Replacing an ancestor of the source fails as the ancestor is not empty.
    CHECK_ERR(m.Rename(c, a1, "b", kRootIno, "d1", 0, &ino, &a), ENOTEMPTY);
  }
  SECTION("two names of one inode") {
    REQUIRE_OK(m.Link(c, file, d2, "other", nullptr));
    REQUIRE_OK(m.Rename(c, d1, "f", d2, "other", 0, &ino, &a));
    CHECK(f.Find(d1, "f") == file);
    CHECK(f.Find(d2, "other") == file);
    CHECK(f.Get(file).nlink == 2);
  }
  SECTION("RENAME_NOREPLACE") {
    f.File(d2, "exists");
    CHECK_ERR(m.Rename(c, d1, "f", d2, "exists", kRenameNoReplace, &ino, &a), EEXIST);
    CHECK(f.Find(d1, "f") == file);
    REQUIRE_OK(m.Rename(c, d1, "f", d2, "fresh", kRenameNoReplace, &ino, &a));
    CHECK(f.Find(d2, "fresh") == file);
  }
  SECTION("RENAME_EXCHANGE swaps a file and a directory across parents") {
    Ino dir = f.Mkdir(d2, "dir");
    f.File(dir, "child");
    uint32_t n1 = f.Get(d1).nlink, n2 = f.Get(d2).nlink;
    int64_t t0 = NowNs();
    REQUIRE_OK(m.Rename(c, d1, "f", d2, "dir", kRenameExchange, &ino, &a));
    CHECK(ino == file);
    CHECK(f.Find(d1, "f") == dir);
    CHECK(f.Find(d2, "dir") == file);
    Attr fa = f.Get(file), da = f.Get(dir);
    CHECK(fa.parent == d2);
    CHECK(da.parent == d1);
    CHECK(CtimeNs(fa) >= t0);
    CHECK(CtimeNs(da) >= t0);
    CHECK(f.Get(d1).nlink == n1 + 1);
    CHECK(f.Get(d2).nlink == n2 - 1);
    REQUIRE_OK(m.Lookup(c, dir, "..", &ino, &a));
    CHECK(ino == d1);
    CHECK(f.Find(dir, "child") > 0);
    CHECK_ERR(m.Rename(c, d1, "f", d2, "nothing", kRenameExchange, &ino, &a), ENOENT);
    // A directory cannot be exchanged into its own subtree.
    Ino inner = f.Mkdir(dir, "inner");
    f.File(inner, "x");
    CHECK_ERR(m.Rename(c, d1, "f", inner, "x", kRenameExchange, &ino, &a), EINVAL);
  }
  SECTION("flags") {
    CHECK_ERR(m.Rename(c, d1, "f", d2, "x", kRenameWhiteout, &ino, &a), ENOTSUP);
    CHECK_ERR(m.Rename(c, d1, "f", d2, "x", 8, &ino, &a), EINVAL);
    CHECK_ERR(m.Rename(c, d1, "f", d2, "x", kRenameNoReplace | kRenameExchange, &ino, &a), EINVAL);
    CHECK(f.Find(d1, "f") == file);
  }
}

// ---- readdir -------------------------------------------------------------------------------

void TestReaddir(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino d = f.Mkdir(kRootIno, "d");
  std::string cursor;
  std::vector<Entry> page;

  SECTION("empty, missing and non-directories") {
    REQUIRE_OK(m.Readdir(c, d, true, &cursor, 10, &page));
    CHECK(page.empty());
    CHECK(cursor.empty());
    Ino file = f.File(d, "f");
    CHECK_ERR(m.Readdir(c, file, false, &cursor, 10, &page), ENOTDIR);
    CHECK_ERR(m.Readdir(c, 987654321, false, &cursor, 10, &page), ENOENT);
  }
  SECTION("plus fills attributes, plain gives the type") {
    Ino sub = f.Mkdir(d, "sub");
    Ino file = f.File(d, "file");
    Ino sym = 0;
    REQUIRE_OK(m.Symlink(c, d, "sym", "file", &sym, nullptr));
    f.Write(file, 0, 0, 777);
    std::map<std::string, Entry> byname;
    for (Entry& e : f.ListAll(d, true)) byname[e.name] = e;
    REQUIRE(byname.size() == 3);
    CHECK(byname["sub"].inode == sub);
    CHECK(byname["sub"].attr == f.Get(sub));
    CHECK(byname["file"].attr == f.Get(file));
    CHECK(byname["file"].attr.length == 777);
    CHECK(byname["sym"].attr == f.Get(sym));
    byname.clear();
    for (Entry& e : f.ListAll(d, false)) byname[e.name] = e;
    CHECK(byname["sub"].attr.typ == kTypeDirectory);
    CHECK(byname["file"].attr.typ == kTypeFile);
    CHECK(byname["sym"].attr.typ == kTypeSymlink);
    CHECK(byname["file"].inode == file);
  }
  SECTION("a large directory pages every name exactly once") {
    const int kCount = 5000;
    std::set<std::string> expected;
    for (int i = 0; i < kCount; ++i) {
      std::string name = "entry-" + std::to_string(i * 7919 % 100003);
      f.File(d, name);
      expected.insert(name);
    }
    std::map<std::string, int> seen;
    int pages = 0;
    do {
      REQUIRE_OK(m.Readdir(c, d, pages % 2 == 1, &cursor, 100, &page));
      CHECK(page.size() <= 100);
      for (const Entry& e : page) ++seen[e.name];
      ++pages;
      REQUIRE(pages <= kCount);
    } while (!cursor.empty());
    CHECK(seen.size() == expected.size());
    bool each_once = std::all_of(seen.begin(), seen.end(), [&](const auto& kv) {
      return kv.second == 1 && expected.count(kv.first) == 1;
    });
    CHECK(each_once);
    CHECK(pages >= kCount / 100);
  }
}

// ---- data ----------------------------------------------------------------------------------

void TestReadWrite(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino file = f.File(kRootIno, "f");

  SECTION("slice ids are unique across batches") {
    std::set<uint64_t> ids;
    for (int i = 0; i < 5000; ++i) {
      uint64_t id = 0;
      REQUIRE_OK(m.NewSlice(c, &id));
      CHECK(id != 0);
      ids.insert(id);
    }
    CHECK(ids.size() == 5000);
  }
  SECTION("writes extend the file and read back as resolved slices") {
    int64_t t0 = NowNs();
    uint64_t a = f.Write(file, 0, 0, 100);
    Attr at = f.Get(file);
    CHECK(at.length == 100);
    CHECK(MtimeNs(at) >= t0);
    CHECK(CtimeNs(at) >= t0);
    CHECK(f.Read(file, 0) == std::vector<SliceView>{{a, 100, 0, 100}});
    // A later write over the middle wins there.
    uint64_t bid = f.Write(file, 0, 40, 20);
    CHECK(f.Get(file).length == 100);
    CHECK(f.Read(file, 0) ==
          std::vector<SliceView>{{a, 100, 0, 40}, {bid, 20, 0, 20}, {a, 100, 60, 40}});
    // Other chunks: a leading gap is a hole; missing chunks are empty.
    uint64_t cid = f.Write(file, 2, 10, 30);
    CHECK(f.Get(file).length == 2 * kChunkSize + 40);
    CHECK(f.Read(file, 2) == std::vector<SliceView>{{0, 10, 0, 10}, {cid, 30, 0, 30}});
    CHECK(f.Read(file, 1).empty());
    CHECK(f.Read(file, 7).empty());
  }
  SECTION("the format reference example") {
    // format.md §1.3: three overlapping writes in chunk 0.
    std::vector<Slice> writes = {{10 * kMiB, 10, 30 * kMiB, 0, 30 * kMiB},
                                 {20 * kMiB, 11, 16 * kMiB, 0, 16 * kMiB},
                                 {16 * kMiB, 12, 10 * kMiB, 0, 10 * kMiB}};
    for (const Slice& s : writes) REQUIRE_OK(m.Write(c, file, 0, s.pos, s));
    std::vector<SliceView> want = {{0, 10 * kMiB, 0, 10 * kMiB},
                                   {10, 30 * kMiB, 0, 6 * kMiB},
                                   {12, 10 * kMiB, 0, 10 * kMiB},
                                   {11, 16 * kMiB, 6 * kMiB, 10 * kMiB},
                                   {10, 30 * kMiB, 26 * kMiB, 4 * kMiB}};
    CHECK(f.Read(file, 0) == want);
    CHECK(f.Get(file).length == 40 * kMiB);
    // A slice may expose part of its data (off/len inside size).
    Slice part{0, 13, 8192, 4096, 1000};
    REQUIRE_OK(m.Write(c, file, 1, 0, part));
    CHECK(f.Read(file, 1) == std::vector<SliceView>{{13, 8192, 4096, 1000}});
  }
  SECTION("errors") {
    Slice s{0, 0, 100, 0, 100};
    REQUIRE_OK(m.NewSlice(c, &s.id));
    Ino dir = f.Mkdir(kRootIno, "d");
    CHECK_ERR(m.Write(c, dir, 0, 0, s), EPERM);
    Ino sym = 0;
    REQUIRE_OK(m.Symlink(c, kRootIno, "s", "f", &sym, nullptr));
    CHECK_ERR(m.Write(c, sym, 0, 0, s), EPERM);
    CHECK_ERR(m.Write(c, 987654321, 0, 0, s), ENOENT);
    CHECK_ERR(m.Write(c, file, 0, kChunkSize - 50, s), EINVAL);  // crosses the chunk end
    Slice zero = s;
    zero.len = 0;
    CHECK_ERR(m.Write(c, file, 0, 0, zero), EINVAL);
    Slice beyond = s;
    beyond.off = 50;
    CHECK_ERR(m.Write(c, file, 0, 0, beyond), EINVAL);  // off + len > size
    std::vector<SliceView> out;
    CHECK_ERR(m.Read(c, 987654321, 0, &out), ENOENT);
    CHECK(f.Get(file).length == 0);
    CHECK(f.Read(file, 0).empty());
  }
}

void TestTruncate(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino file = f.File(kRootIno, "f");
  Attr a;

  SECTION("shrink then grow never shows old data") {
    uint64_t id = f.Write(file, 0, 0, kMiB);
    int64_t t0 = NowNs();
    REQUIRE_OK(m.Truncate(c, file, 100, false, &a));
    CHECK(a.length == 100);
    CHECK(MtimeNs(a) >= t0);
    CHECK(CtimeNs(a) >= t0);
    CHECK(f.Get(file) == a);
    std::vector<SliceView> v = f.Read(file, 0);
    REQUIRE(!v.empty());
    CHECK(v[0] == SliceView{id, kMiB, 0, 100});
    for (size_t i = 1; i < v.size(); ++i) CHECK(v[i].id == 0);
    REQUIRE_OK(m.Truncate(c, file, 2 * kMiB, false, &a));
    CHECK(a.length == 2 * kMiB);
    v = f.Read(file, 0);
    REQUIRE(!v.empty());
    CHECK(v[0] == SliceView{id, kMiB, 0, 100});
    for (size_t i = 1; i < v.size(); ++i) CHECK(v[i].id == 0);
    CHECK(f.TakeDeleted().empty());  // the slice is still partly visible
  }
  SECTION("growing covers stale data of a chunk with a hole") {
    uint64_t id = f.Write(file, 0, 0, 1000);
    REQUIRE_OK(m.Truncate(c, file, 10, false, &a));
    REQUIRE_OK(m.Truncate(c, file, 600, false, &a));
    std::vector<SliceView> v = f.Read(file, 0);
    REQUIRE(!v.empty());
    CHECK(v[0] == SliceView{id, 1000, 0, 10});
    uint64_t covered = 0;
    for (const SliceView& s : v) {
      if (s.id != 0) covered += s.len;
    }
    CHECK(covered == 10);
  }
  SECTION("chunks beyond the new length are deleted") {
    uint64_t a0 = f.Write(file, 0, 0, 4096);
    uint64_t a1 = f.Write(file, 1, 0, 8192);
    uint64_t a2 = f.Write(file, 2, 0, 100);
    REQUIRE_OK(m.Truncate(c, file, kChunkSize + 5, false, &a));
    CHECK(f.Read(file, 2).empty());
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{a2, 100}});
    std::vector<SliceView> v1 = f.Read(file, 1);
    REQUIRE(!v1.empty());
    CHECK(v1[0] == SliceView{a1, 8192, 0, 5});
    CHECK(f.Read(file, 0) == std::vector<SliceView>{{a0, 4096, 0, 4096}});
    REQUIRE_OK(m.Truncate(c, file, kChunkSize, false, &a));  // exactly at a chunk boundary
    CHECK(f.Read(file, 1).empty());
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{a1, 8192}});
    REQUIRE_OK(m.Truncate(c, file, 0, false, &a));
    CHECK(f.Read(file, 0).empty());
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{a0, 4096}});
    CHECK(f.Get(file).length == 0);
  }
  SECTION("errors and no-ops") {
    Ino dir = f.Mkdir(kRootIno, "d");
    CHECK_ERR(m.Truncate(c, dir, 0, false, &a), EISDIR);
    Ino sym = 0;
    REQUIRE_OK(m.Symlink(c, kRootIno, "s", "f", &sym, nullptr));
    CHECK_ERR(m.Truncate(c, sym, 0, false, &a), EINVAL);
    Ino fifo = 0;
    REQUIRE_OK(m.Mknod(c, kRootIno, "p", kTypeFIFO, 0644, 0, 0, &fifo, nullptr));
    CHECK_ERR(m.Truncate(c, fifo, 0, false, &a), EINVAL);
    CHECK_ERR(m.Truncate(c, 987654321, 0, false, &a), ENOENT);
    Attr before = f.Get(file);
    REQUIRE_OK(m.Truncate(c, file, 0, false, &a));
    CHECK(a == before);
  }
}

// ---- accounting and limits -----------------------------------------------------------------

void TestAccounting(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  struct StatFS s = f.Stat();
  CHECK(s.used_inodes == 0);
  CHECK(s.total_space == 1ULL << 50);
  CHECK(s.total_space - s.avail_space == 0);
  CHECK(s.avail_inodes == 10u << 20);

  Ino d = f.Mkdir(kRootIno, "d");
  Ino file = f.File(d, "f");
  Ino sym = 0;
  REQUIRE_OK(m.Symlink(c, d, "s", "a-rather-long-target", &sym, nullptr));
  CHECK(f.Stat().used_inodes == 3);
  CHECK(f.UsedSpace() == 3 * 4096);
  f.Write(file, 0, 0, 5000);
  CHECK(f.UsedSpace() == 2 * 4096 + 8192);
  f.Write(file, 1, 0, 1);  // length 64 MiB + 1
  CHECK(f.UsedSpace() == 2 * 4096 + kChunkSize + 4096);
  Attr a;
  REQUIRE_OK(m.Truncate(c, file, 4097, false, &a));
  CHECK(f.UsedSpace() == 2 * 4096 + 8192);
  REQUIRE_OK(m.Link(c, file, kRootIno, "hard", nullptr));
  CHECK(f.Stat().used_inodes == 3);  // links add no inode

  // The counters reach the database with FlushStats: another client sees them.
  REQUIRE_OK(m.FlushStats());
  auto other = b.another_client();
  REQUIRE_OK(other->Load(nullptr));
  CHECK(f.Stat(other.get()).used_inodes == 3);
  CHECK(f.UsedSpace(other.get()) == 2 * 4096 + 8192);
  REQUIRE_OK(m.FlushStats());  // nothing pending: no change
  CHECK(f.UsedSpace(other.get()) == 2 * 4096 + 8192);

  REQUIRE_OK(m.Unlink(c, d, "f"));
  REQUIRE_OK(m.Unlink(c, kRootIno, "hard"));
  REQUIRE_OK(m.Unlink(c, d, "s"));
  REQUIRE_OK(m.Rmdir(c, kRootIno, "d"));
  CHECK(f.Stat().used_inodes == 0);
  CHECK(f.UsedSpace() == 0);
  CHECK(f.Stat(other.get()).used_inodes == 3);  // not flushed yet
  REQUIRE_OK(m.FlushStats());
  CHECK(f.Stat(other.get()).used_inodes == 0);
  CHECK(f.UsedSpace(other.get()) == 0);

  // Deltas of two clients add up.
  REQUIRE_OK(other->Mkdir(c, kRootIno, "x", 0755, 0, nullptr, nullptr));
  f.Mkdir(kRootIno, "y");
  REQUIRE_OK(other->FlushStats());
  REQUIRE_OK(m.FlushStats());
  CHECK(f.Stat().used_inodes == 2);
  CHECK(f.Stat(other.get()).used_inodes == 2);
  // CloseSession flushes as well.
  f.Mkdir(kRootIno, "z");
  REQUIRE_OK(m.CloseSession());
  CHECK(f.Stat(other.get()).used_inodes == 3);
}

void TestLimits(const MetaBackend& b) {
  SECTION("capacity") {
    Format fmt = TestFormat();
    fmt.capacity = 16 * 4096;
    Fixture f(b, fmt);
    Meta& m = *f.m;
    const Context& c = f.root;
    std::vector<Ino> files;
    for (int i = 0; i < 16; ++i) files.push_back(f.File(kRootIno, "f" + std::to_string(i)));
    Ino ino = 0;
    CHECK_ERR(m.Mknod(c, kRootIno, "more", kTypeFile, 0644, 0, 0, &ino, nullptr), ENOSPC);
    CHECK_ERR(m.Mkdir(c, kRootIno, "more", 0755, 0, &ino, nullptr), ENOSPC);
    CHECK_ERR(m.Symlink(c, kRootIno, "more", "t", &ino, nullptr), ENOSPC);
    struct StatFS s = f.Stat();
    CHECK(s.total_space == 16 * 4096);
    CHECK(s.avail_space == 0);
    // Writing within the 4 KiB already charged is free; growing is not.
    Slice sl{0, 0, 4096, 0, 4096};
    REQUIRE_OK(m.NewSlice(c, &sl.id));
    REQUIRE_OK(m.Write(c, files[0], 0, 0, sl));
    Slice more{0, 0, 1, 0, 1};
    REQUIRE_OK(m.NewSlice(c, &more.id));
    CHECK_ERR(m.Write(c, files[0], 0, 4096, more), ENOSPC);
    Attr a;
    CHECK_ERR(m.Truncate(c, files[0], 4097, false, &a), ENOSPC);
    CHECK(f.Get(files[0]).length == 4096);
    // Freeing space makes room again, flushed or not.
    REQUIRE_OK(m.Unlink(c, kRootIno, "f1"));
    REQUIRE_OK(m.FlushStats());
    REQUIRE_OK(m.Write(c, files[0], 0, 4096, more));
    CHECK_ERR(m.Mknod(c, kRootIno, "more", kTypeFile, 0644, 0, 0, &ino, nullptr), ENOSPC);
    REQUIRE_OK(m.Truncate(c, files[0], 0, false, &a));
    REQUIRE_OK(m.Mknod(c, kRootIno, "more", kTypeFile, 0644, 0, 0, &ino, nullptr));
  }
  SECTION("inodes") {
    Format fmt = TestFormat();
    fmt.inodes = 10;
    Fixture f(b, fmt);
    Meta& m = *f.m;
    const Context& c = f.root;
    for (int i = 0; i < 5; ++i) f.File(kRootIno, "f" + std::to_string(i));
    REQUIRE_OK(m.FlushStats());
    for (int i = 5; i < 10; ++i) f.Mkdir(kRootIno, "d" + std::to_string(i));
    Ino ino = 0;
    CHECK_ERR(m.Mknod(c, kRootIno, "more", kTypeFile, 0644, 0, 0, &ino, nullptr), ENOSPC);
    CHECK_ERR(m.Create(c, kRootIno, "more", 0644, 0, O_RDWR, &ino, nullptr), ENOSPC);
    struct StatFS s = f.Stat();
    CHECK(s.used_inodes == 10);
    CHECK(s.avail_inodes == 0);
    REQUIRE_OK(m.Link(c, f.Find(kRootIno, "f0"), kRootIno, "link", nullptr));  // not an inode
    REQUIRE_OK(m.Rmdir(c, kRootIno, "d9"));
    CHECK(f.Stat().avail_inodes == 1);
    REQUIRE_OK(m.Mknod(c, kRootIno, "more", kTypeFile, 0644, 0, 0, &ino, nullptr));
    // Another client counts the flushed usage too.
    REQUIRE_OK(m.FlushStats());
    auto other = b.another_client();
    REQUIRE_OK(other->Load(nullptr));
    CHECK_ERR(other->Mkdir(c, kRootIno, "x", 0755, 0, &ino, nullptr), ENOSPC);
  }
}

// ---- xattrs --------------------------------------------------------------------------------

void TestXattr(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Ino file = f.File(kRootIno, "f", 0644);
  Ino dir = f.Mkdir(kRootIno, "d");
  std::string v;
  std::vector<std::string> names;

  REQUIRE_OK(m.ListXattr(c, file, &names));
  CHECK(names.empty());
  CHECK_ERR(m.GetXattr(c, file, "user.a", &v), ENODATA);
  REQUIRE_OK(m.SetXattr(c, file, "user.a", "1", 0));
  REQUIRE_OK(m.SetXattr(c, file, "user.b", std::string("\0\x01\xff", 3), 0));
  REQUIRE_OK(m.SetXattr(c, file, "user.empty", "", 0));
  REQUIRE_OK(m.GetXattr(c, file, "user.a", &v));
  CHECK(v == "1");
  REQUIRE_OK(m.GetXattr(c, file, "user.b", &v));
  CHECK(v == std::string("\0\x01\xff", 3));
  REQUIRE_OK(m.GetXattr(c, file, "user.empty", &v));
  CHECK(v.empty());
  REQUIRE_OK(m.SetXattr(c, file, "user.a", "2", 0));  // upsert
  REQUIRE_OK(m.GetXattr(c, file, "user.a", &v));
  CHECK(v == "2");
  CHECK_ERR(m.SetXattr(c, file, "user.a", "3", kXattrCreate), EEXIST);
  REQUIRE_OK(m.SetXattr(c, file, "user.a", "3", kXattrReplace));
  CHECK_ERR(m.SetXattr(c, file, "user.new", "x", kXattrReplace), ENODATA);
  REQUIRE_OK(m.SetXattr(c, file, "user.new", "x", kXattrCreate));
  CHECK_ERR(m.SetXattr(c, file, "user.z", "x", kXattrCreate | kXattrReplace), EINVAL);
  CHECK_ERR(m.SetXattr(c, file, "user.z", "x", 8), EINVAL);
  REQUIRE_OK(m.ListXattr(c, file, &names));
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"user.a", "user.b", "user.empty", "user.new"});
  REQUIRE_OK(m.RemoveXattr(c, file, "user.a"));
  CHECK_ERR(m.RemoveXattr(c, file, "user.a"), ENODATA);
  CHECK_ERR(m.GetXattr(c, file, "user.a", &v), ENODATA);
  REQUIRE_OK(m.ListXattr(c, file, &names));
  CHECK(names.size() == 3);
  // Per inode: the directory has none, the root may have its own.
  REQUIRE_OK(m.ListXattr(c, dir, &names));
  CHECK(names.empty());
  REQUIRE_OK(m.SetXattr(c, 0, "user.root", "r", 0));
  REQUIRE_OK(m.GetXattr(c, kRootIno, "user.root", &v));
  CHECK(v == "r");

  // Limits.
  CHECK_ERR(m.SetXattr(c, file, "", "x", 0), EINVAL);
  CHECK_ERR(m.GetXattr(c, file, "", &v), EINVAL);
  CHECK_ERR(m.SetXattr(c, file, "user." + std::string(251, 'n'), "x", 0), ERANGE);
  REQUIRE_OK(m.SetXattr(c, file, "user." + std::string(250, 'n'), "x", 0));
  REQUIRE_OK(m.SetXattr(c, file, "user.big", std::string(kMaxXattrValue, 'v'), 0));
  REQUIRE_OK(m.GetXattr(c, file, "user.big", &v));
  CHECK(v.size() == kMaxXattrValue);
  CHECK_ERR(m.SetXattr(c, file, "user.big", std::string(kMaxXattrValue + 1, 'v'), 0), E2BIG);
  CHECK_ERR(m.SetXattr(c, file, "system.posix_acl_access", "x", 0), ENOTSUP);
  CHECK_ERR(m.GetXattr(c, file, "system.posix_acl_default", &v), ENOTSUP);
  CHECK_ERR(m.SetXattr(c, 987654321, "user.a", "x", 0), ENOENT);
  CHECK_ERR(m.GetXattr(c, 987654321, "user.a", &v), ENOENT);
  CHECK_ERR(m.ListXattr(c, 987654321, &names), ENOENT);
  CHECK_ERR(m.RemoveXattr(c, 987654321, "user.a"), ENOENT);

  // Permissions: user.* follows the file mode, trusted.* is root's.
  const Context alice = Ctx(1000, {1000});
  REQUIRE_OK(m.GetXattr(alice, file, "user.b", &v));
  CHECK_ERR(m.SetXattr(alice, file, "user.b", "x", 0), EACCES);
  CHECK_ERR(m.RemoveXattr(alice, file, "user.b"), EACCES);
  CHECK_ERR(m.SetXattr(alice, file, "trusted.t", "x", 0), EPERM);
  REQUIRE_OK(m.SetXattr(c, file, "trusted.t", "x", 0));
  CHECK_ERR(m.GetXattr(alice, file, "trusted.t", &v), EPERM);
  Ino mine = f.File(kRootIno, "mine", 0600, &alice);
  REQUIRE_OK(m.SetXattr(alice, mine, "user.k", "v", 0));
  REQUIRE_OK(m.GetXattr(alice, mine, "user.k", &v));
}

// ---- open files ----------------------------------------------------------------------------

void TestOpenFiles(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  Attr a;

  SECTION("unlinked while open: data stays until the last close") {
    Ino ino = 0;
    REQUIRE_OK(m.Create(c, kRootIno, "f", 0644, 0, O_RDWR, &ino, &a));
    uint64_t id = f.Write(ino, 0, 0, 3000);
    REQUIRE_OK(m.Open(c, ino, O_RDONLY, &a));  // a second handle
    uint64_t used = f.UsedSpace();
    REQUIRE_OK(m.Unlink(c, kRootIno, "f"));
    Ino found = 0;
    CHECK_ERR(m.Lookup(c, kRootIno, "f", &found, &a), ENOENT);
    Attr open_attr = f.Get(ino);
    CHECK(open_attr.nlink == 0);
    CHECK(f.Read(ino, 0) == std::vector<SliceView>{{id, 3000, 0, 3000}});
    CHECK(f.UsedSpace() == used);  // still held
    CHECK(f.TakeDeleted().empty());
    // Writes to the open, unlinked file still work.
    uint64_t id2 = f.Write(ino, 0, 3000, 10);
    REQUIRE_OK(m.Close(c, ino));
    CHECK(f.Exists(ino));
    CHECK(f.TakeDeleted().empty());
    REQUIRE_OK(m.Close(c, ino));
    CHECK_FALSE(f.Exists(ino));
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{id, 3000}, {id2, 10}});
    CHECK(f.UsedSpace() == used - 4096);
    CHECK_ERR(m.Close(c, ino), EBADF);
  }
  SECTION("closing a linked file frees nothing") {
    Ino ino = 0;
    REQUIRE_OK(m.Create(c, kRootIno, "f", 0644, 0, O_RDWR, &ino, &a));
    uint64_t id = f.Write(ino, 0, 0, 10);
    REQUIRE_OK(m.Close(c, ino));
    CHECK(f.Exists(ino));
    CHECK(f.Read(ino, 0) == std::vector<SliceView>{{id, 10, 0, 10}});
    REQUIRE_OK(m.Unlink(c, kRootIno, "f"));  // not open: freed at once
    CHECK_FALSE(f.Exists(ino));
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{id, 10}});
  }
  SECTION("a file replaced by rename while open") {
    Ino victim = 0;
    REQUIRE_OK(m.Create(c, kRootIno, "victim", 0644, 0, O_RDWR, &victim, &a));
    uint64_t id = f.Write(victim, 0, 0, 10);
    f.File(kRootIno, "new");
    REQUIRE_OK(m.Rename(c, kRootIno, "new", kRootIno, "victim", 0, nullptr, nullptr));
    CHECK(f.Get(victim).nlink == 0);
    CHECK(f.TakeDeleted().empty());
    REQUIRE_OK(m.Close(c, victim));
    CHECK_FALSE(f.Exists(victim));
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{id, 10}});
  }
  SECTION("a directory removed while open answers GetAttr (nlink 0) until its last close") {
    Ino dir = f.Mkdir(kRootIno, "d");
    const uint64_t used = f.UsedSpace();
    REQUIRE_OK(m.Open(c, dir, O_RDONLY, &a));
    REQUIRE_OK(m.Rmdir(c, kRootIno, "d"));
    Ino found = 0;
    CHECK_ERR(m.Lookup(c, kRootIno, "d", &found, &a), ENOENT);
    Attr open_attr = f.Get(dir);
    CHECK(open_attr.typ == kTypeDirectory);
    CHECK(open_attr.nlink == 0);
    CHECK(f.Get(kRootIno).nlink == 2);
    Attr chmod;
    chmod.mode = 0700;
    REQUIRE_OK(m.SetAttr(c, dir, kSetMode, chmod, &a));  // fchmod of the removed directory
    CHECK(f.Get(dir).mode == 0700);
    REQUIRE_OK(m.Close(c, dir));
    CHECK_FALSE(f.Exists(dir));
    CHECK(f.UsedSpace() == used - 4096);
  }
  SECTION("a directory replaced by rename while open") {
    Ino victim = f.Mkdir(kRootIno, "victim");
    f.Mkdir(kRootIno, "new");
    REQUIRE_OK(m.Open(c, victim, O_RDONLY, &a));
    REQUIRE_OK(m.Rename(c, kRootIno, "new", kRootIno, "victim", 0, nullptr, nullptr));
    CHECK(f.Get(victim).nlink == 0);
    REQUIRE_OK(m.Close(c, victim));
    CHECK_FALSE(f.Exists(victim));
  }
  SECTION("CloseSession releases what is still sustained") {
    Ino ino = 0;
    REQUIRE_OK(m.Create(c, kRootIno, "f", 0644, 0, O_RDWR, &ino, &a));
    uint64_t id = f.Write(ino, 0, 0, 10);
    REQUIRE_OK(m.Unlink(c, kRootIno, "f"));
    CHECK(f.Exists(ino));
    REQUIRE_OK(m.CloseSession());
    auto other = b.another_client();
    Attr gone;
    CHECK_ERR(other->GetAttr(c, ino, &gone), ENOENT);
    CHECK(f.TakeDeleted() == std::set<SliceKey>{{id, 10}});
    struct StatFS s = f.Stat(other.get());
    CHECK(s.used_inodes == 0);
    CHECK(s.total_space - s.avail_space == 0);
  }
}

// ---- file locks ------------------------------------------------------------------------------

PosixLock Range(uint32_t type, uint64_t start, uint64_t end, uint32_t pid = 7) {
  return PosixLock{type, start, end, pid};
}

void TestLocks(const MetaBackend& b) {
  Fixture f(b);
  Meta& m = *f.m;
  const Context& c = f.root;
  const Ino ino = f.File(kRootIno, "locked");
  const LockWait nb;  // non-blocking

  SECTION("flock: shared, exclusive, conversion, unlock") {
    REQUIRE_OK(m.Flock(c, ino, 1, kLockRead, nb));
    REQUIRE_OK(m.Flock(c, ino, 2, kLockRead, nb));
    CHECK_ERR(m.Flock(c, ino, 3, kLockWrite, nb), EAGAIN);
    CHECK_ERR(m.Flock(c, ino, 1, kLockWrite, nb), EAGAIN);  // 2 still shares it
    REQUIRE_OK(m.Flock(c, ino, 2, kLockUnlock, nb));
    REQUIRE_OK(m.Flock(c, ino, 1, kLockWrite, nb));  // upgrade once alone
    CHECK_ERR(m.Flock(c, ino, 2, kLockRead, nb), EAGAIN);
    REQUIRE_OK(m.Flock(c, ino, 1, kLockWrite, nb));  // again: no change
    REQUIRE_OK(m.Flock(c, ino, 1, kLockRead, nb));   // downgrade lets readers in
    REQUIRE_OK(m.Flock(c, ino, 2, kLockRead, nb));
    REQUIRE_OK(m.Flock(c, ino, 1, kLockUnlock, nb));
    REQUIRE_OK(m.Flock(c, ino, 1, kLockUnlock, nb));  // unlocking nothing is fine
    REQUIRE_OK(m.Flock(c, ino, 2, kLockUnlock, nb));
    REQUIRE_OK(m.Flock(c, ino, 3, kLockWrite, nb));
    // flock and POSIX locks are independent.
    REQUIRE_OK(m.Setlk(c, ino, 4, Range(kLockWrite, 0, kLockEndMax), nb));
    CHECK_ERR(m.Flock(c, ino, 3, 9, nb), EINVAL);
    CHECK_ERR(m.Flock(c, 999999, 3, kLockWrite, nb), ENOENT);
  }

  SECTION("flock and POSIX locks conflict across clients, not within one owner") {
    auto other = b.another_client();
    REQUIRE_OK(other->Load(nullptr));
    REQUIRE_OK(other->NewSession(SessionInfo{}));
    REQUIRE_OK(m.Flock(c, ino, 1, kLockRead, nb));
    CHECK_ERR(other->Flock(c, ino, 1, kLockWrite, nb), EAGAIN);  // same owner id, other session
    REQUIRE_OK(other->Flock(c, ino, 1, kLockRead, nb));
    REQUIRE_OK(m.Setlk(c, ino, 1, Range(kLockWrite, 0, 99, 11), nb));
    CHECK_ERR(other->Setlk(c, ino, 1, Range(kLockRead, 99, 99), nb), EAGAIN);
    PosixLock q = Range(kLockRead, 50, 50);
    REQUIRE_OK(other->Getlk(c, ino, 1, &q));
    CHECK(q.type == kLockWrite);
    CHECK(q.start == 0);
    CHECK(q.end == 99);
    CHECK(q.pid == 0);  // a pid of another client means nothing here
    q = Range(kLockRead, 50, 50);
    REQUIRE_OK(m.Getlk(c, ino, 2, &q));
    CHECK(q.type == kLockWrite);
    CHECK(q.pid == 11);  // same session: the holder's pid
    q = Range(kLockWrite, 0, 10);
    REQUIRE_OK(m.Getlk(c, ino, 1, &q));  // its own locks never conflict
    CHECK(q.type == kLockUnlock);
    // CloseSession drops every lock of that session.
    REQUIRE_OK(other->Setlk(c, ino, 5, Range(kLockRead, 200, 300), nb));
    CHECK_ERR(m.Setlk(c, ino, 2, Range(kLockWrite, 250, 250), nb), EAGAIN);
    CHECK_ERR(m.Flock(c, ino, 1, kLockWrite, nb), EAGAIN);
    REQUIRE_OK(other->CloseSession());
    REQUIRE_OK(m.Setlk(c, ino, 2, Range(kLockWrite, 250, 250), nb));
    REQUIRE_OK(m.Flock(c, ino, 1, kLockWrite, nb));  // the other client's shared lock is gone
  }

  SECTION("POSIX locks: conflicts, split, merge, unlock of part of a range") {
    REQUIRE_OK(m.Setlk(c, ino, 1, Range(kLockWrite, 0, 99), nb));
    CHECK_ERR(m.Setlk(c, ino, 2, Range(kLockRead, 50, 60), nb), EAGAIN);
    REQUIRE_OK(m.Setlk(c, ino, 2, Range(kLockRead, 100, 199), nb));  // adjacent: no overlap
    REQUIRE_OK(m.Setlk(c, ino, 3, Range(kLockRead, 150, 250), nb));  // readers share
    CHECK_ERR(m.Setlk(c, ino, 3, Range(kLockWrite, 150, 150), nb), EAGAIN);
    // Unlocking the middle splits owner 1's lock in two.
    REQUIRE_OK(m.Setlk(c, ino, 1, Range(kLockUnlock, 20, 29), nb));
    REQUIRE_OK(m.Setlk(c, ino, 2, Range(kLockWrite, 20, 29), nb));
    PosixLock q = Range(kLockRead, 0, 99);
    REQUIRE_OK(m.Getlk(c, ino, 4, &q));
    CHECK(q.type == kLockWrite);
    CHECK(q.start == 0);
    CHECK(q.end == 19);
    q = Range(kLockRead, 30, 30);
    REQUIRE_OK(m.Getlk(c, ino, 4, &q));
    CHECK(q.start == 30);
    CHECK(q.end == 99);
    // Re-locking adjacent ranges of one owner merges them: [300,399] + [400,499].
    REQUIRE_OK(m.Setlk(c, ino, 5, Range(kLockWrite, 300, 399), nb));
    REQUIRE_OK(m.Setlk(c, ino, 5, Range(kLockWrite, 400, 499), nb));
    q = Range(kLockRead, 450, 450);
    REQUIRE_OK(m.Getlk(c, ino, 4, &q));
    CHECK(q.start == 300);
    CHECK(q.end == 499);
    // Downgrading part of a write lock to read lets readers in there only.
    REQUIRE_OK(m.Setlk(c, ino, 5, Range(kLockRead, 300, 349), nb));
    REQUIRE_OK(m.Setlk(c, ino, 6, Range(kLockRead, 300, 349), nb));
    CHECK_ERR(m.Setlk(c, ino, 6, Range(kLockRead, 350, 350), nb), EAGAIN);
    // Unlock everything of owner 5, then [300, 499] is only read-locked by 6.
    REQUIRE_OK(m.Setlk(c, ino, 5, Range(kLockUnlock, 0, kLockEndMax), nb));
    REQUIRE_OK(m.Setlk(c, ino, 7, Range(kLockWrite, 350, kLockEndMax), nb));
    q = Range(kLockWrite, 1000000, 1000000);
    REQUIRE_OK(m.Getlk(c, ino, 4, &q));
    CHECK(q.start == 350);
    CHECK(q.end == kLockEndMax);
    CHECK_ERR(m.Setlk(c, ino, 1, Range(kLockWrite, 10, 5), nb), EINVAL);
    CHECK_ERR(m.Setlk(c, 999999, 1, Range(kLockWrite, 0, 5), nb), ENOENT);
    PosixLock bad = Range(kLockUnlock, 0, 1);
    CHECK_ERR(m.Getlk(c, ino, 1, &bad), EINVAL);
  }

  SECTION("blocking requests wait, time out, or are interrupted") {
    REQUIRE_OK(m.Flock(c, ino, 1, kLockWrite, nb));
    REQUIRE_OK(m.Setlk(c, ino, 1, Range(kLockWrite, 0, 9), nb));
    LockWait timed;
    timed.block = true;
    timed.timeout_ms = 30;
    CHECK_ERR(m.Flock(c, ino, 2, kLockRead, timed), ETIMEDOUT);
    CHECK_ERR(m.Setlk(c, ino, 2, Range(kLockRead, 5, 5), timed), ETIMEDOUT);
    LockWait intr;
    intr.block = true;
    int polls = 0;
    intr.interrupted = [&] { return ++polls == 3; };
    CHECK_ERR(m.Flock(c, ino, 2, kLockWrite, intr), EINTR);
    CHECK(polls == 3);
    // A waiter in another thread gets the lock once the holder releases it.
    std::atomic<int> got{0};
    LockWait forever;
    forever.block = true;
    std::thread flocker([&] {
      if (m.Flock(c, ino, 2, kLockWrite, forever).ok()) got |= 1;
    });
    std::thread plocker([&] {
      if (m.Setlk(c, ino, 3, Range(kLockWrite, 0, 0), forever).ok()) got |= 2;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    CHECK(got.load() == 0);
    REQUIRE_OK(m.Flock(c, ino, 1, kLockUnlock, nb));
    REQUIRE_OK(m.Setlk(c, ino, 1, Range(kLockUnlock, 0, kLockEndMax), nb));
    flocker.join();
    plocker.join();
    CHECK(got.load() == 3);
    CHECK_ERR(m.Flock(c, ino, 1, kLockRead, nb), EAGAIN);
  }

  SECTION("a stale session's locks are released by a live client") {
    auto other = b.another_client();
    REQUIRE_OK(other->Load(nullptr));
    other->SetSessionTTL(-5);  // expired as soon as registered: a crashed client
    REQUIRE_OK(other->NewSession(SessionInfo{}));
    const uint64_t dead = other->SessionId();
    REQUIRE_OK(other->Flock(c, ino, 1, kLockWrite, nb));
    REQUIRE_OK(other->Setlk(c, ino, 1, Range(kLockWrite, 0, kLockEndMax), nb));
    const Ino other_file = f.File(kRootIno, "second");
    REQUIRE_OK(other->Setlk(c, other_file, 2, Range(kLockRead, 0, 0), nb));
    CHECK_ERR(m.Flock(c, ino, 1, kLockRead, nb), EAGAIN);
    CHECK_ERR(m.Setlk(c, other_file, 1, Range(kLockWrite, 0, 0), nb), EAGAIN);
    int cleaned = -1;
    REQUIRE_OK(m.CleanStaleSessions(&cleaned));
    CHECK(cleaned == 1);
    REQUIRE_OK(m.Flock(c, ino, 1, kLockWrite, nb));
    REQUIRE_OK(m.Setlk(c, ino, 1, Range(kLockWrite, 0, kLockEndMax), nb));
    REQUIRE_OK(m.Setlk(c, other_file, 1, Range(kLockWrite, 0, 0), nb));
    std::vector<SessionRecord> list;
    REQUIRE_OK(m.ListSessions(&list));
    REQUIRE(list.size() == 1);  // the live session stays
    CHECK(list[0].sid == m.SessionId());
    CHECK(list[0].sid != dead);
    REQUIRE_OK(m.CleanStaleSessions(&cleaned));
    CHECK(cleaned == 0);
  }
}

}  // namespace

// ---- trash (format.md §6.5) ------------------------------------------------------------

// "YYYY-MM-DD-HH" of the UTC hour of unix time t.
std::string HourOf(int64_t t) {
  const time_t tt = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d-%H", &tm);
  return buf;
}

int64_t UnixNow() {
  return static_cast<int64_t>(std::time(nullptr));
}

void TestTrash(const MetaBackend& b) {
  Fixture f(b, TrashFormat());
  const uint64_t base_space = f.UsedSpace();
  const uint64_t base_inodes = f.Stat().used_inodes;
  const std::string hour_before = HourOf(UnixNow());
  Ino d = f.Mkdir(kRootIno, "d");
  Ino x = f.File(d, "x");
  uint64_t sx = f.Write(x, 0, 0, 5000);
  REQUIRE_OK(f.m->Unlink(f.root, d, "x"));
  const std::string hour_after = HourOf(UnixNow());
  CHECK(f.TakeDeleted().empty());  // data kept in the trash

  // The trash root and the hour directory, as JuiceFS lays them out.
  CHECK(f.Find(kRootIno, ".trash") == kTrashIno);
  std::vector<Entry> hours = f.ListAll(kTrashIno, true);
  REQUIRE(hours.size() == 1);
  CHECK((hours[0].name == hour_before || hours[0].name == hour_after));
  const Ino hour = hours[0].inode;
  CHECK(hour > kTrashIno);
  Attr ha = f.Get(hour);
  CHECK(ha.typ == kTypeDirectory);
  CHECK(ha.mode == 0555);
  CHECK(ha.uid == 0);
  CHECK(ha.gid == 0);
  CHECK(ha.nlink == 2);
  CHECK(ha.length == 4096);
  CHECK(ha.parent == kTrashIno);
  CHECK(f.Get(kTrashIno).nlink == 3);

  const std::string xname = std::to_string(d) + "-" + std::to_string(x) + "-x";
  CHECK(TrashEntryName(d, x, "x") == xname);
  CHECK(f.Find(hour, xname) == x);
  Attr xa = f.Get(x);
  CHECK(xa.parent == hour);
  CHECK(xa.nlink == 1);
  CHECK(f.Read(x, 0).size() == 1);
  // Counters: the entry keeps its space; the hour directory is one more directory.
  CHECK(f.UsedSpace() == base_space + 4096 + 4096 + Align4K(5000));
  CHECK(f.Stat().used_inodes == base_inodes + 3);

  // Nothing can be created in or moved into the trash; only root takes things out.
  Context user = Ctx(1000, {1000});
  CHECK_ERR(f.m->Mknod(f.root, hour, "n", kTypeFile, 0644, 0, 0, nullptr, nullptr), EPERM);
  Ino y = f.File(d, "y");
  CHECK_ERR(f.m->Rename(f.root, d, "y", hour, "y", 0, nullptr, nullptr), EPERM);
  CHECK_ERR(f.m->Rename(user, hour, xname, d, "x", 0, nullptr, nullptr), EPERM);

  // rmdir and rename over an existing name trash too.
  Ino e = f.Mkdir(d, "e");
  REQUIRE_OK(f.m->Rmdir(f.root, d, "e"));
  CHECK(f.Find(hour, std::to_string(d) + "-" + std::to_string(e) + "-e") == e);
  CHECK(f.Get(e).parent == hour);
  Ino z = f.File(d, "z");
  uint64_t sz = f.Write(z, 0, 0, 100);
  REQUIRE_OK(f.m->Rename(f.root, d, "y", d, "z", 0, nullptr, nullptr));
  CHECK(f.Find(d, "z") == y);
  CHECK(f.Find(hour, std::to_string(d) + "-" + std::to_string(z) + "-z") == z);
  CHECK(f.TakeDeleted().empty());

  // A hard link goes to the trash as a link: nlink unchanged, parents follow.
  Ino k = f.File(d, "k");
  REQUIRE_OK(f.m->Link(f.root, k, d, "k2", nullptr));
  REQUIRE_OK(f.m->Unlink(f.root, d, "k"));
  CHECK(f.Get(k).nlink == 2);
  CHECK(f.Find(hour, std::to_string(d) + "-" + std::to_string(k) + "-k") == k);

  // Another client sees the same trash.
  {
    std::unique_ptr<Meta> other = b.another_client();
    REQUIRE_OK(other->Load(nullptr));
    Ino found = 0;
    REQUIRE_OK(other->Lookup(f.root, hour, xname, &found, nullptr));
    CHECK(found == x);
  }

  // Restore: root renames the entry back.
  REQUIRE_OK(f.m->Rename(f.root, hour, xname, d, "x", kRenameNoReplace, nullptr, nullptr));
  CHECK(f.Find(d, "x") == x);
  CHECK(f.Get(x).parent == d);

  // Removing inside the trash is for real.
  REQUIRE_OK(f.m->Unlink(f.root, hour, std::to_string(d) + "-" + std::to_string(z) + "-z"));
  CHECK(!f.Exists(z));
  CHECK(f.TakeDeleted() == std::set<SliceKey>{{sz, 100}});

  // Expiry: nothing is due now; TrashDays (+2 h) later everything goes.
  uint64_t removed = 0;
  REQUIRE_OK(f.m->CleanupTrash(UnixNow(), false, &removed));
  CHECK(removed == 0);
  CHECK(f.Exists(e));
  REQUIRE_OK(f.m->Unlink(f.root, d, "x"));  // back into the trash
  REQUIRE_OK(f.m->CleanupTrash(UnixNow() + 26 * 3600 + 3600, false, &removed));
  CHECK(removed == 3);  // x, e, k
  CHECK(!f.Exists(x));
  CHECK(!f.Exists(e));
  CHECK(f.Exists(k));  // k2 still links it
  CHECK(f.Get(k).nlink == 1);
  CHECK(!f.Exists(hour));
  CHECK(f.ListAll(kTrashIno).empty());
  CHECK(f.Get(kTrashIno).nlink == 2);
  CHECK(f.TakeDeleted() == std::set<SliceKey>{{sx, 5000}});
  // d, y (as z), k: back to the counts of what is left.
  CHECK(f.UsedSpace() == base_space + 3 * 4096);
  CHECK(f.Stat().used_inodes == base_inodes + 3);
}

void TestRemoveTree(const MetaBackend& b) {
  Fixture f(b, TrashFormat());
  Ino r = f.Mkdir(kRootIno, "r");
  Ino a = f.File(r, "a");
  Ino sub = f.Mkdir(r, "sub");
  Ino c = f.File(sub, "c");
  uint64_t sc = f.Write(c, 0, 0, 10);
  uint64_t n = 0;
  REQUIRE_OK(f.m->Remove(f.root, kRootIno, "r", false, &n));
  CHECK(n == 4);
  CHECK_ERR(f.m->Lookup(f.root, kRootIno, "r", nullptr, nullptr), ENOENT);
  std::vector<Entry> hours = f.ListAll(kTrashIno);
  REQUIRE(hours.size() == 1);
  std::set<Ino> trashed;
  for (const Entry& e : f.ListAll(hours[0].inode)) trashed.insert(e.inode);
  CHECK(trashed == std::set<Ino>{r, a, sub, c});
  CHECK(f.TakeDeleted().empty());

  Ino s = f.Mkdir(kRootIno, "s");
  Ino t = f.File(s, "t");
  uint64_t st = f.Write(t, 0, 0, 20);
  REQUIRE_OK(f.m->Remove(f.root, kRootIno, "s", true, &n));
  CHECK(n == 2);
  CHECK(f.ListAll(hours[0].inode).size() == 4);
  CHECK(f.TakeDeleted() == std::set<SliceKey>{{st, 20}});
  CHECK(!f.Exists(s));
  CHECK(!f.Exists(t));

  // Bad input changes nothing.
  CHECK_ERR(f.m->Remove(f.root, kRootIno, "missing", false, &n), ENOENT);
  Context user = Ctx(1000, {1000});
  Ino p = f.Mkdir(kRootIno, "p", 0755);
  f.File(p, "q");
  CHECK_ERR(f.m->Remove(user, kRootIno, "p", false, &n), EACCES);
  CHECK(f.Find(p, "q") != 0);
  (void)sc;
}

// ---- deferred deletion (format.md §6.3) --------------------------------------------------

void TestDelFiles(const MetaBackend& b) {
  Fixture f(b);
  std::mutex qmu;
  std::vector<std::pair<Ino, uint64_t>> queued;
  f.m->OnDeleteFile([&](Ino ino, uint64_t len) {
    std::lock_guard<std::mutex> l(qmu);
    queued.emplace_back(ino, len);
  });
  Ino x = f.File(kRootIno, "x");
  uint64_t s1 = f.Write(x, 0, 0, 1000);
  uint64_t s2 = f.Write(x, 1, 0, 2000);
  const uint64_t before = f.UsedSpace();
  REQUIRE_OK(f.m->Unlink(f.root, kRootIno, "x"));
  CHECK(!f.Exists(x));
  CHECK(f.UsedSpace() == before - static_cast<uint64_t>(Align4K(kChunkSize + 2000)));
  REQUIRE(queued.size() == 1);
  CHECK(queued[0] == std::make_pair(x, kChunkSize + 2000));
  CHECK(f.TakeDeleted().empty());  // nothing released yet

  std::vector<DelFileRecord> pending;
  REQUIRE_OK(f.m->ListDelFiles(&pending));
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].inode == x);
  CHECK(pending[0].length == kChunkSize + 2000);

  // A client that did not queue it (as after a crash) finishes it.
  std::unique_ptr<Meta> other = b.another_client();
  REQUIRE_OK(other->Load(nullptr));
  std::set<SliceKey> freed;
  other->OnDeleteSlice([&](uint64_t id, uint32_t size) { freed.emplace(id, size); });
  REQUIRE_OK(other->ListDelFiles(&pending));
  REQUIRE(pending.size() == 1);
  REQUIRE_OK(other->DeleteFileData(pending[0].inode, pending[0].length));
  CHECK(freed == std::set<SliceKey>{{s1, 1000}, {s2, 2000}});
  REQUIRE_OK(f.m->ListDelFiles(&pending));
  CHECK(pending.empty());
  REQUIRE_OK(f.m->DeleteFileData(x, 0));  // again: nothing left, still fine
  CHECK(f.TakeDeleted().empty());

  // An empty file needs no queue entry; without a callback data goes at once.
  f.m->OnDeleteFile(nullptr);
  queued.clear();
  f.File(kRootIno, "empty");
  REQUIRE_OK(f.m->Unlink(f.root, kRootIno, "empty"));
  REQUIRE_OK(f.m->ListDelFiles(&pending));
  CHECK(pending.empty());
  Ino y = f.File(kRootIno, "y");
  uint64_t s3 = f.Write(y, 0, 0, 10);
  REQUIRE_OK(f.m->Unlink(f.root, kRootIno, "y"));
  CHECK(f.TakeDeleted() == std::set<SliceKey>{{s3, 10}});
  REQUIRE_OK(f.m->ListDelFiles(&pending));
  CHECK(pending.empty());
  CHECK(queued.empty());
}

void TestGate(const MetaBackend& b) {
  Fixture f(b);
  std::unique_ptr<Meta> other = b.another_client();
  REQUIRE_OK(other->Load(nullptr));
  bool won = false;
  const int64_t now = UnixNow();
  REQUIRE_OK(f.m->TryGate("lastCleanupTrash", now, 3600, &won));
  CHECK(won);
  REQUIRE_OK(other->TryGate("lastCleanupTrash", now + 10, 3600, &won));
  CHECK(!won);
  REQUIRE_OK(other->TryGate("lastCleanupTrash", now + 3600, 3600, &won));
  CHECK(won);
  REQUIRE_OK(other->TryGate("lastCleanupFiles", now, 3600, &won));
  CHECK(won);
}

void RunMetaConformance(const MetaBackend& backend) {
  SECTION("lifecycle") {
    TestLifecycle(backend);
  }
  SECTION("sessions") {
    TestSessions(backend);
  }
  SECTION("locks") {
    TestLocks(backend);
  }
  SECTION("names") {
    TestNames(backend);
  }
  SECTION("create") {
    TestCreate(backend);
  }
  SECTION("lookup") {
    TestLookup(backend);
  }
  SECTION("permissions") {
    TestPermissions(backend);
  }
  SECTION("setattr") {
    TestSetAttr(backend);
  }
  SECTION("hard links") {
    TestHardLinks(backend);
  }
  SECTION("unlink and rmdir") {
    TestRemove(backend);
  }
  SECTION("rename") {
    TestRename(backend);
  }
  SECTION("readdir") {
    TestReaddir(backend);
  }
  SECTION("read and write") {
    TestReadWrite(backend);
  }
  SECTION("truncate") {
    TestTruncate(backend);
  }
  SECTION("accounting") {
    TestAccounting(backend);
  }
  SECTION("limits") {
    TestLimits(backend);
  }
  SECTION("xattrs") {
    TestXattr(backend);
  }
  SECTION("open files") {
    TestOpenFiles(backend);
  }
  SECTION("quotas and directory statistics") {
    RunQuotaConformance(backend);
  }
  SECTION("trash") {
    TestTrash(backend);
  }
  SECTION("rm -r") {
    TestRemoveTree(backend);
  }
  SECTION("deferred deletion") {
    TestDelFiles(backend);
  }
  SECTION("job gates") {
    TestGate(backend);
  }
  SECTION("slice operations") {
    TestSliceOps(backend);
  }
  SECTION("delayed slices") {
    TestDelSlices(backend);
  }
}

}  // namespace jfs::meta::testing
