// Byte-level compatibility of the Redis engine with JuiceFS (format.md §2): after a scripted set of
// operations, the raw keys are read with a plain client and their names, types and bytes checked.
// Also: URL parsing, a database with foreign keys, a wrong password, and a volume written "by
// JuiceFS" (raw keys set by hand) read back through the engine; readdir's flat fast path.
// Databases / hash tags 51..54 and 57.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "meta/codec.h"
#include "meta/meta.h"
#include "meta/redis/redis_client.h"
#include "tests/meta/redis_test_util.h"
#include "tests/support/status_checks.h"

namespace jfs::meta {
namespace {

using testing::RawRedis;

std::string Be(uint64_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
uint64_t ReadBe(const std::string& s, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

Format TestFormat() {
  Format f;
  f.name = "redisfmt";
  f.uuid = "5b0e0c1a-1111-4222-8333-944445555666";
  f.storage = "file";
  f.bucket = "/tmp/jfs-redisfmt/";
  f.block_size_kib = 4096;
  f.compression = "none";
  f.trash_days = 0;  // these checks look at keys removed at once, not moved to the trash
  return f;
}

void CheckLayout(bool cluster) {
  const std::string url = testing::RedisBaseUrl(cluster) + "/51";
  std::unique_ptr<Meta> m = testing::FreshRedisMeta(url);
  RawRedis raw(url);
  if (cluster) {
    CHECK(raw.client->prefix() == "{51}");
  } else {
    CHECK(raw.client->prefix().empty());
  }
  REQUIRE_OK(m->Init(TestFormat(), false));
  REQUIRE_OK(m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}));
  Context root;

  // setting: the Format JSON as a string.
  CHECK(raw.Type("setting") == "string");
  Format loaded;
  REQUIRE_OK(DecodeFormat(raw.Get("setting"), &loaded));
  CHECK(loaded.name == "redisfmt");

  Ino d = 0, f = 0, sym = 0;
  REQUIRE_OK(m->Mkdir(root, kRootIno, "dir", 0755, 0, &d, nullptr));
  REQUIRE_OK(m->Create(root, d, "file", 0644, 0, 0, &f, nullptr));
  REQUIRE_OK(m->Close(root, f));
  REQUIRE_OK(m->Symlink(root, kRootIno, "link", "dir/file", &sym, nullptr));
  uint64_t id = 0;
  REQUIRE_OK(m->NewSlice(root, &id));
  Slice s;
  s.id = id;
  s.size = 5000;
  s.len = 5000;
  REQUIRE_OK(m->Write(root, f, 0, 100, s));
  REQUIRE_OK(m->SetXattr(root, f, "user.k", std::string("v\0x", 3), 0));
  REQUIRE_OK(m->Link(root, f, kRootIno, "hard", nullptr));
  REQUIRE_OK(m->FlushStats());

  // Counters hold the last used id (format.md §2.5): one batch of 1024 inodes, 4096 slice ids.
  CHECK(raw.Type("nextinode") == "string");
  CHECK(raw.Get("nextinode") == "1024");
  CHECK(raw.Get("nextchunk") == "4096");
  CHECK(raw.Get("nextsession") == "1");
  CHECK(d == 2);
  CHECK(id == 1);
  CHECK(raw.Get("totalInodes") == "3");
  CHECK(raw.Get("usedSpace") == std::to_string(4096 + 8192 + 4096));

  // i1: 72-byte Attr, root dir 0777, nlink 3 (one subdirectory), length 4096, parent 1, pad 0.
  std::string a1 = raw.Get("i1");
  REQUIRE(a1.size() == 72);
  CHECK(a1[0] == 0);
  CHECK(ReadBe(a1, 1, 2) == 0x21ff);
  CHECK(ReadBe(a1, 47, 4) == 3);
  CHECK(ReadBe(a1, 51, 8) == 4096);
  CHECK(ReadBe(a1, 63, 8) == 1);
  CHECK(a1[71] == 0);

  // The file: type 1, mode 0644, length 5100, hard-linked → parent 0, nlink 2.
  std::string af = raw.Get("i" + std::to_string(f));
  REQUIRE(af.size() == 72);
  CHECK(ReadBe(af, 1, 2) == ((1u << 12) | 0644));
  CHECK(ReadBe(af, 47, 4) == 2);
  CHECK(ReadBe(af, 51, 8) == 5100);
  CHECK(ReadBe(af, 63, 8) == 0);

  // d1 / d{dir}: hashes name → type u8 + inode u64 BE.
  CHECK(raw.Type("d1") == "hash");
  redis::Reply e = raw.Do({"HGET", raw.Key("d1"), "dir"});
  REQUIRE(e->type == REDIS_REPLY_STRING);
  CHECK(std::string(e->str, e->len) == std::string(1, '\x02') + Be(d, 8));
  e = raw.Do({"HGET", raw.Key("d" + std::to_string(d)), "file"});
  REQUIRE(e->type == REDIS_REPLY_STRING);
  CHECK(std::string(e->str, e->len) == std::string(1, '\x01') + Be(f, 8));
  e = raw.Do({"HGET", raw.Key("d1"), "link"});
  REQUIRE(e->type == REDIS_REPLY_STRING);
  CHECK(std::string(e->str, e->len) == std::string(1, '\x03') + Be(sym, 8));
  CHECK(raw.Do({"HLEN", raw.Key("d1")})->integer == 3);

  // p{file}: parent (dec) → links (dec), one in dir, one in root.
  CHECK(raw.Type("p" + std::to_string(f)) == "hash");
  e = raw.Do({"HGET", raw.Key("p" + std::to_string(f)), std::to_string(d)});
  CHECK(std::string(e->str, e->len) == "1");
  e = raw.Do({"HGET", raw.Key("p" + std::to_string(f)), "1"});
  CHECK(std::string(e->str, e->len) == "1");

  // c{file}_0: a list of one 24-byte slice record {pos 100, id, size 5000, off 0, len 5000}.
  const std::string ck = "c" + std::to_string(f) + "_0";
  CHECK(raw.Type(ck) == "list");
  redis::Reply l = raw.Do({"LRANGE", raw.Key(ck), "0", "-1"});
  REQUIRE(l->elements == 1);
  CHECK(std::string(l->element[0]->str, l->element[0]->len) ==
        Be(100, 4) + Be(id, 8) + Be(5000, 4) + Be(0, 4) + Be(5000, 4));
  // A fresh slice has refcount 1, stored as no sliceRef field at all.
  CHECK(raw.Do({"HEXISTS", raw.Key("sliceRef"), "k" + std::to_string(id) + "_5000"})->integer == 0);

  // s{sym}: the raw target; x{file}: raw xattr value.
  CHECK(raw.Get("s" + std::to_string(sym)) == "dir/file");
  e = raw.Do({"HGET", raw.Key("x" + std::to_string(f)), "user.k"});
  CHECK(std::string(e->str, e->len) == std::string("v\0x", 3));

  // Sessions: allSessions zset (sid → expiry), sessionInfos hash (sid → JSON).
  CHECK(raw.Type("allSessions") == "zset");
  CHECK(raw.Do({"ZSCORE", raw.Key("allSessions"), "1"})->type == REDIS_REPLY_STRING);
  e = raw.Do({"HGET", raw.Key("sessionInfos"), "1"});
  REQUIRE(e->type == REDIS_REPLY_STRING);
  CHECK(std::string(e->str, e->len).find("\"Version\"") != std::string::npos);

  // Removing both links frees the file: chunk list, attr, xattrs, parents gone; no refcount left.
  REQUIRE_OK(m->Unlink(root, d, "file"));
  CHECK(raw.Do({"HLEN", raw.Key("p" + std::to_string(f))})->integer == 1);
  REQUIRE_OK(m->Unlink(root, kRootIno, "hard"));
  bool exists = true;
  raw.Get("i" + std::to_string(f), &exists);
  CHECK_FALSE(exists);
  for (const std::string& k :
       {ck, "x" + std::to_string(f), "p" + std::to_string(f), std::string("sliceRef")}) {
    INFO(k);
    CHECK(raw.Do({"EXISTS", raw.Key(k)})->integer == 0);
  }
  REQUIRE_OK(m->CloseSession());
  CHECK(raw.Do({"ZSCORE", raw.Key("allSessions"), "1"})->type == REDIS_REPLY_NIL);

  // Nothing outside the prefix on a cluster (except nothing at all): every key carries it.
  if (cluster) {
    redis::Reply keys = raw.Do({"KEYS", "*"});
    for (size_t i = 0; i < keys->elements; ++i) {
      std::string k(keys->element[i]->str, keys->element[i]->len);
      if (k.rfind("{51}", 0) == 0) continue;
      // Other tests' volumes use other tags; just make sure none of ours escaped the prefix.
      CHECK(k.find('{') == 0);
    }
  }
}

// delSlices (format.md §2.1, §6.2): with the trash on, a compaction keeps the replaced slices
// in a hash field "{newId}_{unix ts}" of 12-byte {id u64, size u32} BE records, their sliceRef
// untouched, until the trash period is over.
void CheckDelSlices(bool cluster) {
  const std::string url = testing::RedisBaseUrl(cluster) + "/58";
  std::unique_ptr<Meta> m = testing::FreshRedisMeta(url);
  RawRedis raw(url);
  Format fmt = TestFormat();
  fmt.trash_days = 1;
  REQUIRE_OK(m->Init(fmt, false));
  REQUIRE_OK(m->Load(nullptr));
  Context root;
  Ino f = 0;
  REQUIRE_OK(m->Mknod(root, kRootIno, "f", kTypeFile, 0644, 0, 0, &f, nullptr));
  uint64_t s1 = 0, s2 = 0, merged = 0;
  REQUIRE_OK(m->NewSlice(root, &s1));
  REQUIRE_OK(m->Write(root, f, 0, 0, Slice{0, s1, 100, 0, 100}));
  REQUIRE_OK(m->NewSlice(root, &s2));
  REQUIRE_OK(m->Write(root, f, 0, 10, Slice{0, s2, 20, 0, 20}));
  std::vector<Slice> old;
  REQUIRE_OK(m->ReadChunk(root, f, 0, &old));
  REQUIRE_OK(m->NewSlice(root, &merged));
  const int64_t before = static_cast<int64_t>(std::time(nullptr));
  bool replaced = false;
  std::vector<std::pair<uint64_t, uint32_t>> released;
  REQUIRE_OK(
      m->CompactChunk(root, f, 0, old, 0, Slice{0, merged, 100, 0, 100}, &replaced, &released));
  const int64_t after = static_cast<int64_t>(std::time(nullptr));
  REQUIRE(replaced);
  CHECK(released.empty());
  CHECK(raw.Type("delSlices") == "hash");
  redis::Reply all = raw.Do({"HGETALL", raw.Key("delSlices")});
  REQUIRE(all->elements == 2);
  const std::string field(all->element[0]->str, all->element[0]->len);
  const std::string value(all->element[1]->str, all->element[1]->len);
  const std::string prefix = std::to_string(merged) + "_";
  REQUIRE(field.rfind(prefix, 0) == 0);
  const int64_t ts = std::stoll(field.substr(prefix.size()));
  CHECK(ts >= before);
  CHECK(ts <= after);
  CHECK(value == Be(s1, 8) + Be(100, 4) + Be(s2, 8) + Be(20, 4));
  // Their references are kept (refcount 1: no sliceRef field), the merged slice is new (none).
  CHECK(raw.Do({"EXISTS", raw.Key("sliceRef")})->integer == 0);

  std::set<std::pair<uint64_t, uint32_t>> gone;
  m->OnDeleteSlice([&](uint64_t id, uint32_t size) { gone.insert({id, size}); });
  uint64_t n = 0;
  REQUIRE_OK(m->CleanupDelSlices(after, false, &n));
  CHECK(n == 0);
  CHECK(raw.Do({"HLEN", raw.Key("delSlices")})->integer == 1);
  REQUIRE_OK(m->CleanupDelSlices(after + 24 * 3600 + 1, false, &n));
  CHECK(n == 1);
  CHECK(gone == std::set<std::pair<uint64_t, uint32_t>>{{s1, 100}, {s2, 20}});
  CHECK(raw.Do({"EXISTS", raw.Key("delSlices")})->integer == 0);
  CHECK(raw.Do({"EXISTS", raw.Key("sliceRef")})->integer == 0);
  m->OnDeleteSlice(nullptr);
  REQUIRE_OK(m->Reset());
}

TEST_CASE("Redis delSlices are JuiceFS's (standalone)", "[meta][redis]") {
  CheckDelSlices(false);
}

TEST_CASE("Redis delSlices are JuiceFS's (cluster)", "[meta][redis]") {
  CheckDelSlices(true);
}

TEST_CASE("Redis keys, types and bytes are JuiceFS's (standalone)", "[meta][redis]") {
  CheckLayout(false);
}

TEST_CASE("Redis keys, types and bytes are JuiceFS's (cluster: {db} hash tag)", "[meta][redis]") {
  CheckLayout(true);
}

// Keys as JuiceFS writes them, set by hand: the engine reads the volume (counters "last used",
// refcount − 1, hard-link parents) and keeps writing in the same conventions.
TEST_CASE("a volume written in JuiceFS's layout is read and extended", "[meta][redis]") {
  const std::string url = testing::RedisBaseUrl(false) + "/52";
  std::unique_ptr<Meta> m = testing::FreshRedisMeta(url);
  RawRedis raw(url);
  Attr root;
  root.typ = kTypeDirectory;
  root.mode = 0777;
  root.nlink = 2;
  root.length = 4096;
  root.parent = 1;
  root.mtime = root.ctime = root.atime = 1700000000;
  Attr file;
  file.typ = kTypeFile;
  file.mode = 0600;
  file.nlink = 1;
  file.length = 10;
  file.parent = 1;
  raw.Do({"SET", "setting", EncodeFormat(TestFormat())});
  raw.Do({"SET", "i1", EncodeAttr(root)});
  raw.Do({"SET", "i5", EncodeAttr(file)});
  raw.Do({"HSET", "d1", "old", EncodeEntry(kTypeFile, 5)});
  raw.Do({"SET", "nextinode", "1024"});
  raw.Do({"SET", "nextchunk", "4096"});
  Slice s;
  s.id = 77;
  s.size = 10;
  s.len = 10;
  raw.Do({"RPUSH", "c5_0", EncodeSlice(s)});
  raw.Do({"HSET", "sliceRef", "k77_10", "1"});  // refcount 2: another file shares slice 77
  raw.Do({"SET", "totalInodes", "1"});
  raw.Do({"SET", "usedSpace", "4096"});

  Format f;
  REQUIRE_OK(m->Load(&f));
  CHECK(f.name == "redisfmt");
  Context ctx;
  Ino ino = 0;
  Attr a;
  REQUIRE_OK(m->Lookup(ctx, kRootIno, "old", &ino, &a));
  CHECK(ino == 5);
  CHECK(a.length == 10);
  std::vector<SliceView> views;
  REQUIRE_OK(m->Read(ctx, 5, 0, &views));
  REQUIRE(views.size() == 1);
  CHECK(views[0].id == 77);
  // New inodes come after the last used one.
  Ino d = 0;
  REQUIRE_OK(m->Mkdir(ctx, kRootIno, "new", 0755, 0, &d, nullptr));
  CHECK(d == 1025);
  CHECK(raw.Get("nextinode") == "2048");
  // Deleting the file drops one reference of slice 77: refcount 1 = stored 0 (or no field); the
  // slice data is not deleted.
  std::vector<uint64_t> freed;
  m->OnDeleteSlice([&](uint64_t id, uint32_t) { freed.push_back(id); });
  REQUIRE_OK(m->Unlink(ctx, kRootIno, "old"));
  CHECK(freed.empty());
  redis::Reply r = raw.Do({"HGET", "sliceRef", "k77_10"});
  CHECK((r->type == REDIS_REPLY_NIL || std::string(r->str, r->len) == "0"));
  CHECK(raw.Do({"EXISTS", "c5_0"})->integer == 0);
}

TEST_CASE("Redis META-URLs", "[meta][redis]") {
  redis::RedisUrl u;
  REQUIRE_OK(redis::ParseRedisUrl("redis://user:p%40ss@example.com:6380/7", &u));
  CHECK(u.host == "example.com");
  CHECK(u.port == 6380);
  CHECK(u.db == 7);
  CHECK(u.user == "user");
  CHECK(u.password == "p@ss");
  CHECK(u.display.find("p@ss") == std::string::npos);
  REQUIRE_OK(redis::ParseRedisUrl("redis://:secret@h/3", &u));
  CHECK(u.user.empty());
  CHECK(u.password == "secret");
  CHECK(u.port == 6379);
  REQUIRE_OK(redis::ParseRedisUrl("unix:///run/redis.sock?db=4", &u));
  CHECK(u.unix_path == "/run/redis.sock");
  CHECK(u.db == 4);
  ::setenv("REDIS_PASSWORD", "fromenv", 1);
  REQUIRE_OK(redis::ParseRedisUrl("redis://h:1/0", &u));
  CHECK(u.password == "fromenv");
  ::unsetenv("REDIS_PASSWORD");
  ::setenv("META_PASSWORD", "meta", 1);
  REQUIRE_OK(redis::ParseRedisUrl("redis://h:1/0", &u));
  CHECK(u.password == "meta");
  ::unsetenv("META_PASSWORD");
  for (const char* bad : {"redis://h:x/1", "redis://h:1/abc", "redis://h:70000/1",
                          "unix://rel.sock", "redis://u:p%4@h/1", "foo://h"}) {
    INFO(bad);
    CHECK(redis::ParseRedisUrl(bad, &u).code() == EINVAL);
  }
  CHECK(redis::ParseRedisUrl("rediss://h/1", &u).code() == ENOTSUP);
  CHECK(redis::ParseRedisUrl("redis://m,s1,s2:26379/1", &u).code() == ENOTSUP);
  CHECK(redis::KeySlot("{51}i1") == redis::KeySlot("51"));
  CHECK(redis::KeySlot("123456789") == 12739);  // the Redis Cluster spec's CRC16 check value
}

TEST_CASE("a database with foreign keys is refused, and nothing is overwritten", "[meta][redis]") {
  for (bool cluster : {false, true}) {
    INFO("cluster " << cluster);
    const std::string url = testing::RedisBaseUrl(cluster) + "/53";
    std::unique_ptr<Meta> m = testing::FreshRedisMeta(url);
    RawRedis raw(url);
    raw.Do({"SET", raw.Key("i1"), "not an attr"});
    raw.Do({"SET", raw.Key("user:42"), "alice"});
    Format f;
    Status st = m->Load(&f);
    CHECK(st.code() == ENOENT);
    st = m->Init(TestFormat(), false);
    INFO(st.ToString());
    CHECK(st.code() == EEXIST);
    CHECK(st.message().find("not empty") != std::string::npos);
    st = m->Init(TestFormat(), true);
    CHECK(st.code() == EEXIST);
    CHECK(raw.Get("i1") == "not an attr");
    CHECK(raw.Get("user:42") == "alice");
    bool exists = true;
    raw.Get("setting", &exists);
    CHECK_FALSE(exists);
    // A setting key of the wrong type is a clear error too.
    REQUIRE_OK(m->Reset());
    raw.Do({"HSET", raw.Key("setting"), "a", "b"});
    st = m->Load(&f);
    INFO(st.ToString());
    CHECK(st.code() == EIO);
    CHECK(st.message().find("is this a JuiceFS database?") != std::string::npos);
    REQUIRE_OK(m->Reset());
  }
}

TEST_CASE("a wrong password is a clear error", "[meta][redis]") {
  const std::string base = testing::RedisBaseUrl(false);
  // The test server has no password: AUTH with one fails.
  std::unique_ptr<Meta> m;
  std::string url = base;
  url.insert(url.find("://") + 3, ":wrong@");
  Status st = NewMeta(url + "/54", &m);
  INFO(st.ToString());
  CHECK_FALSE(st.ok());
  CHECK(st.code() == EACCES);
  CHECK(st.message().find("AUTH") != std::string::npos);
  // Nothing listens here.
  st = NewMeta("redis://127.0.0.1:1/0", &m);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("127.0.0.1:1") != std::string::npos);
}

}  // namespace
}  // namespace jfs::meta

namespace jfs::meta {
namespace {

// Readdir's fast path reads HGETALL and MGET as flat replies (redis_client.h FlatReply) and builds
// the MGET in place (RawCmd): the listing must be the same as the general path's, page by page.
void CheckReaddir(bool cluster) {
  const std::string url = testing::RedisBaseUrl(cluster) + "/57";
  std::unique_ptr<Meta> m = testing::FreshRedisMeta(url);
  RawRedis raw(url);
  Format f = TestFormat();
  REQUIRE_OK(m->Init(f, false));
  REQUIRE_OK(m->NewSession(SessionInfo{"t", "h", {}, "/", 0, 1}));
  Context ctx;
  Ino dir = 0;
  REQUIRE_OK(m->Mkdir(ctx, kRootIno, "dir", 0755, 0, &dir, nullptr));
  // Names sharing their first 8 bytes, shorter and longer ones, bytes above 0x7f.
  std::set<std::string> names;
  for (int i = 0; i < 300; ++i) names.insert("commonpf" + std::to_string(i));
  for (std::string n : {"a", "commonp", "commonpf", "z\xff", "\x01x", "commonpe999"})
    names.insert(n);
  for (const std::string& n : names) {
    REQUIRE_OK(m->Mknod(ctx, dir, n, kTypeFile, 0640, 0, 0, nullptr, nullptr));
  }
  for (bool plus : {false, true}) {
    for (size_t limit : {size_t(7), size_t(0)}) {
      INFO("plus " << plus << " limit " << limit);
      std::vector<std::string> got;
      std::string cursor;
      std::vector<Entry> page;
      do {
        REQUIRE_OK(m->Readdir(ctx, dir, plus, &cursor, limit, &page));
        for (const Entry& e : page) {
          got.push_back(e.name);
          CHECK(e.attr.typ == kTypeFile);
          if (plus) {
            Attr a;
            REQUIRE_OK(m->GetAttr(ctx, e.inode, &a));
            CHECK(e.attr == a);
          }
        }
      } while (!cursor.empty());
      CHECK(got == std::vector<std::string>(names.begin(), names.end()));
    }
  }
  // A dangling entry (no i{ino}) keeps just its type.
  const std::string dkey = raw.Key("d" + std::to_string(dir));
  raw.Do({"HSET", dkey, "ghost", EncodeEntry(kTypeFile, 999999)});
  std::string cursor;
  std::vector<Entry> page;
  REQUIRE_OK(m->Readdir(ctx, dir, true, &cursor, 0, &page));
  REQUIRE(page.size() == names.size() + 1);
  bool seen = false;
  for (const Entry& e : page) {
    if (e.name != "ghost") continue;
    seen = true;
    CHECK(e.inode == 999999);
    CHECK(e.attr.typ == kTypeFile);
    CHECK(e.attr.nlink == 0);
  }
  CHECK(seen);
  // Bad bytes are errors, not crashes: a short entry, a short attribute, a directory key of the
  // wrong type.
  raw.Do({"HSET", dkey, "ghost", "xyz"});
  cursor.clear();
  CHECK_FALSE(m->Readdir(ctx, dir, false, &cursor, 0, &page).ok());
  raw.Do({"HDEL", dkey, "ghost"});
  Ino victim = 0;
  REQUIRE_OK(m->Lookup(ctx, dir, "a", &victim, nullptr));
  raw.Do({"SET", raw.Key("i" + std::to_string(victim)), "short"});
  cursor.clear();
  CHECK_FALSE(m->Readdir(ctx, dir, true, &cursor, 0, &page).ok());
  raw.Do({"DEL", dkey});
  raw.Do({"SET", dkey, "not a hash"});
  cursor.clear();
  Status st = m->Readdir(ctx, dir, true, &cursor, 0, &page);
  INFO(st.ToString());
  CHECK_FALSE(st.ok());
}

TEST_CASE("readdir pages and attributes (standalone)", "[meta][redis]") {
  CheckReaddir(false);
}

TEST_CASE("readdir pages and attributes (cluster)", "[meta][redis]") {
  CheckReaddir(true);
}

TEST_CASE("RawCmd writes the Redis protocol", "[meta][redis]") {
  redis::RawCmd c(3);
  c.Arg("MGET").Arg("{7}i", 0).Arg("", 18446744073709551615ull);
  CHECK(c.data() == "*3\r\n$4\r\nMGET\r\n$5\r\n{7}i0\r\n$20\r\n18446744073709551615\r\n");
}

}  // namespace
}  // namespace jfs::meta
