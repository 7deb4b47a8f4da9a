// Metadata dump / load (meta/dump.h) on SQLite: the real JuiceFS sample dumps load and dump back
// identically (apart from the differences listed below), a volume written through BaseMeta
// survives dump → load → dump, and bad input is refused with its position, leaving the target
// database empty.
#include "meta/dump.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "meta/base.h"
#include "meta/codec.h"
#include "meta/engine.h"
#include "meta/meta.h"

namespace fs = std::filesystem;
using namespace jfs;
using namespace jfs::meta;

namespace {

std::string TestData(const std::string& name) {
  return std::string(JFS_TESTDATA_DIR) + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/jfs_dump_test.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

class StringWriter : public DumpWriter {
 public:
  Status Write(std::string_view d) override {
    out.append(d);
    return Status::OK();
  }
  std::string out;
};

class StringReader : public DumpReader {
 public:
  explicit StringReader(std::string s) : data(std::move(s)) {}
  Status Read(char* buf, size_t n, size_t* got) override {
    *got = std::min(n, data.size() - pos);
    std::memcpy(buf, data.data() + pos, *got);
    pos += *got;
    return Status::OK();
  }
  std::string data;
  size_t pos = 0;
};

std::unique_ptr<Engine> NewSqlite(const std::string& path) {
  std::unique_ptr<Engine> e;
  REQUIRE(NewSQLiteEngine(path, &e).ok());
  return e;
}

std::string Dump(Engine& e, DumpOptions o = {}) {
  StringWriter w;
  Status st = DumpMeta(e, o, &w);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return w.out;
}

Status Load(Engine& e, const std::string& json, size_t batch = 512) {
  StringReader r(json);
  LoadOptions o;
  o.batch_entries = batch;
  return LoadMeta(e, &r, o);
}

void Replace(std::string* s, const std::string& from, const std::string& to) {
  size_t at = s->find(from);
  INFO(from);
  REQUIRE(at != std::string::npos);
  s->replace(at, from.size(), to);
}

bool IsEmpty(Engine& e) {
  std::string setting;
  Status st = e.Txn([&](Tx& tx) { return tx.GetSetting(&setting); }, true);
  return st.IsNotFound();
}

}  // namespace

TEST_CASE("escaping of names follows JuiceFS") {
  CHECK(EscapeDumpString("plain") == "plain");
  CHECK(EscapeDumpString("果汁%25") == "果汁%2525");
  CHECK(EscapeDumpString("a\"b\\c\nd e") == "a%22b%5Cc%0Ad e");
  CHECK(EscapeDumpString("GBK\xb9\xfb\xd6\xad") == "GBK%B9%FB\xd6\xad");
  // U+FFFD is escaped byte by byte (JuiceFS writes only %EF for it; see dump.h).
  CHECK(EscapeDumpString("x\xef\xbf\xbd") == "x%EF%BF%BD");
  for (std::string raw : {std::string("GBK\xb9\xfb\xd6\xad"), std::string("a%b"),
                          std::string("\x01\xff\xfe%%"), std::string("x\xef\xbf\xbd")}) {
    CHECK(UnescapeDumpString(EscapeDumpString(raw)) == raw);
  }
  CHECK(UnescapeDumpString("no percent") == "no percent");
  CHECK(UnescapeDumpString("%zz%4") == "%zz%4");  // not escapes: kept
}

TEST_CASE("the JuiceFS sample dump loads into SQLite and dumps back identically") {
  TempDir dir;
  auto e = NewSqlite(dir.path + "/m.db");
  const std::string input = ReadFile(TestData("metadata.sample"));
  REQUIRE(!input.empty());
  Status st = Load(*e, input, /*batch=*/3);  // small batches: many transactions
  INFO(st.ToString());
  REQUIRE(st.ok());

  // The rebuilt state, through the engine.
  REQUIRE(e->Txn(
               [&](Tx& tx) {
                 Attr a;
                 REQUIRE(tx.GetAttr(4, &a).ok());  // f11 / l1: one inode, two names
                 CHECK(a.nlink == 2);
                 CHECK(a.parent == 0);
                 std::map<Ino, int> parents;
                 REQUIRE(tx.ListParents(4, &parents).ok());
                 CHECK(parents == std::map<Ino, int>{{1, 1}, {3, 1}});
                 REQUIRE(tx.GetAttr(1, &a).ok());
                 CHECK(a.nlink == 5);
                 REQUIRE(tx.GetAttr(5, &a).ok());
                 CHECK(a.typ == kTypeSymlink);
                 std::string target;
                 REQUIRE(tx.GetSymlink(5, &target).ok());
                 CHECK(target ==
                       "GBK\xb9\xfb\xd6\xad\xca\xfd\xbe\xdd\xbf\xc6\xbc\xbc\xd3\xd0\xcf\xde"
                       "\xb9\xab\xcb\xbe\xce\xc4\xbc\xfe");
                 CHECK(a.length == target.size());
                 int64_t refs = 0;  // slice 2 is in f1 and in f11 (counted once for the link)
                 REQUIRE(tx.IncrSliceRef(2, 12, 0, &refs).ok());
                 CHECK(refs == 2);
                 REQUIRE(tx.IncrSliceRef(5, 67108864, 0, &refs).ok());
                 CHECK(refs == 1);
                 int64_t v = 0;
                 REQUIRE(tx.GetCounter("usedSpace", &v).ok());
                 CHECK(v == 115392512);
                 REQUIRE(tx.GetCounter("totalInodes", &v).ok());
                 CHECK(v == 14);
                 REQUIRE(tx.GetCounter("nextInode", &v).ok());
                 CHECK(v == 35);
                 REQUIRE(tx.GetCounter("nextChunk", &v).ok());
                 CHECK(v == 9);
                 AclRule acl;
                 REQUIRE(tx.GetAttr(2, &a).ok());
                 REQUIRE(a.access_acl != 0);
                 REQUIRE(tx.GetAcl(a.access_acl, &acl).ok());
                 CHECK(acl.users == std::vector<AclEntry>{{1, 6}, {2, 7}});
                 std::map<uint64_t, QuotaRecord> q;
                 REQUIRE(tx.ListQuotas(QuotaKind::kUser, &q).ok());
                 REQUIRE(q.count(501));
                 CHECK(q[501].max_inodes == 1000000);
                 return Status::OK();
               },
               /*read_only=*/false)  // IncrSliceRef(..., 0) reads the count
              .ok());

  DumpOptions keep;
  keep.keep_secret_key = true;
  CHECK(Dump(*e, keep) == input);

  // Without --keep-secret-key the secrets are "removed" (this sample's already are), and
  // --skip-trash leaves the Trash out.
  DumpOptions skip;
  skip.skip_trash = true;
  const std::string no_trash = Dump(*e, skip);
  CHECK(no_trash.find("\"Trash\"") == std::string::npos);
  CHECK(no_trash.find("\"SecretKey\": \"removed\"") != std::string::npos);
}

TEST_CASE("a secret key is removed from dumps unless kept") {
  TempDir dir;
  auto e = NewSqlite(dir.path + "/m.db");
  std::string input = ReadFile(TestData("metadata.sample"));
  Replace(&input, "\"SecretKey\": \"removed\"", "\"SecretKey\": \"s3cr3t\"");
  REQUIRE(Load(*e, input).ok());
  CHECK(Dump(*e).find("\"SecretKey\": \"removed\"") != std::string::npos);
  DumpOptions keep;
  keep.keep_secret_key = true;
  CHECK(Dump(*e, keep).find("\"SecretKey\": \"s3cr3t\"") != std::string::npos);
}

TEST_CASE("the JuiceFS sub-directory sample loads as the root") {
  TempDir dir;
  auto e = NewSqlite(dir.path + "/m.db");
  const std::string input = ReadFile(TestData("metadata-sub.sample"));
  REQUIRE(Load(*e, input).ok());
  // Documented differences: the dumped directory (inode 3) becomes the root (inode 1), as
  // JuiceFS loads it; f11 keeps one of its two links (the other was outside the sub-tree), so its
  // nlink is rebuilt as 1; usedSpace / usedInodes are rebuilt from what was loaded.
  std::string expected = input;
  Replace(&expected, "\"usedSpace\": 115392512", "\"usedSpace\": 104861696");
  Replace(&expected, "\"usedInodes\": 14", "\"usedInodes\": 2");
  Replace(&expected, "\"attr\": {\"inode\":3,", "\"attr\": {\"inode\":1,");
  Replace(&expected, "\"ctimensec\":591590333,\"nlink\":2,",
          "\"ctimensec\":591590333,\"nlink\":1,");
  DumpOptions keep;
  keep.keep_secret_key = true;
  CHECK(Dump(*e, keep) == expected + "");
}

TEST_CASE("a volume written through BaseMeta survives dump, load and dump") {
  TempDir dir;
  std::unique_ptr<Meta> m;
  REQUIRE(NewMeta("sqlite3://" + dir.path + "/a.db", &m, true).ok());
  Format f;
  f.name = "roundtrip";
  f.uuid = "5a1e4c5e-0000-4000-8000-000000000001";
  f.bucket = dir.path + "/bucket/";
  f.secret_key = "";
  REQUIRE(m->Init(f, false).ok());
  REQUIRE(m->Load(&f).ok());
  Context ctx;
  Ino d = 0, file = 0, sub = 0;
  REQUIRE(m->Mkdir(ctx, 1, "dir \"quoted\"", 0755, 0, &d, nullptr).ok());
  REQUIRE(m->Mkdir(ctx, d, "sub", 0700, 0, &sub, nullptr).ok());
  REQUIRE(m->Create(ctx, d, "file\xff\x01", 0644, 0, 0, &file, nullptr).ok());
  uint64_t id = 0;
  REQUIRE(m->NewSlice(ctx, &id).ok());
  REQUIRE(m->Write(ctx, file, 0, 100, Slice{0, id, 5000, 0, 5000}).ok());
  REQUIRE(m->NewSlice(ctx, &id).ok());
  REQUIRE(m->Write(ctx, file, 1, 0, Slice{0, id, 300, 0, 300}).ok());
  REQUIRE(m->Truncate(ctx, file, kChunkSize + 200, true, nullptr).ok());  // a hole record
  REQUIRE(m->Close(ctx, file).ok());
  REQUIRE(m->Link(ctx, file, sub, "hard", nullptr).ok());
  REQUIRE(m->Symlink(ctx, sub, "link", "../file\xff\x01", nullptr, nullptr).ok());
  REQUIRE(m->SetXattr(ctx, file, "user.bin", std::string("\x00\x01%<>&", 6), 0).ok());
  Ino fifo = 0;
  REQUIRE(m->Mknod(ctx, 1, "fifo", kTypeFIFO, 0600, 0, 0, &fifo, nullptr).ok());
  REQUIRE(m->CloseSession().ok());
  m.reset();

  auto a = NewSqlite(dir.path + "/a.db");
  const std::string first = Dump(*a);
  CHECK(first.find("\"hard\"") != std::string::npos);
  CHECK(first.find("%FF%01") != std::string::npos);
  CHECK(first.find("\"id\":0,\"pos\":200") != std::string::npos);  // the hole from the truncate

  auto b = NewSqlite(dir.path + "/b.db");
  Status st = Load(*b, first, 2);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(Dump(*b) == first);

  // The loaded volume works: BaseMeta can read and extend it.
  b.reset();
  REQUIRE(NewMeta("sqlite3://" + dir.path + "/b.db", &m).ok());
  REQUIRE(m->Load(&f).ok());
  Attr attr;
  Ino ino = 0;
  REQUIRE(m->Lookup(ctx, sub, "hard", &ino, &attr).ok());
  CHECK(ino == file);
  CHECK(attr.nlink == 2);
  CHECK(attr.length == kChunkSize + 200);
  std::string v;
  REQUIRE(m->GetXattr(ctx, file, "user.bin", &v).ok());
  CHECK(v == std::string("\x00\x01%<>&", 6));
  Ino fresh = 0;
  REQUIRE(m->Mkdir(ctx, 1, "new", 0755, 0, &fresh, nullptr).ok());
  CHECK(fresh > fifo);  // ids are not reused
  REQUIRE(m->Unlink(ctx, d, "file\xff\x01").ok());
  REQUIRE(m->Unlink(ctx, sub, "hard").ok());
}

TEST_CASE("load refuses a database that holds a volume, writing nothing") {
  TempDir dir;
  std::unique_ptr<Meta> m;
  REQUIRE(NewMeta("sqlite3://" + dir.path + "/m.db", &m, true).ok());
  Format f;
  f.name = "occupied";
  f.uuid = "5a1e4c5e-0000-4000-8000-000000000002";
  REQUIRE(m->Init(f, false).ok());
  auto e = NewSqlite(dir.path + "/m.db");
  const std::string before = Dump(*e);
  Status st = Load(*e, ReadFile(TestData("metadata.sample")));
  CHECK(st.code() == EEXIST);
  CHECK(st.message().find("not empty") != std::string::npos);
  CHECK(st.message().find("occupied") != std::string::npos);
  CHECK(Dump(*e) == before);
}

TEST_CASE("bad dumps are refused with their position and leave the database empty") {
  TempDir dir;
  const std::string good = ReadFile(TestData("metadata.sample"));
  struct Case {
    const char* what;
    std::string text;
    const char* message;  // a part of the expected error
  };
  std::vector<Case> cases;
  cases.push_back({"truncated", good.substr(0, good.size() / 2), "unexpected end of input"});
  cases.push_back({"truncated in the header", good.substr(0, 200), "line"});
  cases.push_back({"empty", "", "parse error"});
  cases.push_back({"not an object", "[1,2]", "not a JSON object"});
  {
    std::string t = good;
    Replace(&t, "\"mode\":493,\"uid\":501,\"gid\":20,\"atime\":1623746591",
            "\"mode\":\"493\",\"uid\":501,\"gid\":20,\"atime\":1623746591");
    cases.push_back({"wrong type", t, "\"mode\" must be a non-negative integer"});
  }
  {
    std::string t = good;
    Replace(&t, "\"attr\": {\"inode\":26,", "\"attr\": {\"inode\":25,");
    cases.push_back({"duplicate directory inode", t, "duplicate inode 25"});
  }
  {
    std::string t = good;
    Replace(&t, "\"attr\": {\"inode\":33,", "\"attr\": {\"inode\":34,");
    cases.push_back({"duplicate file inode", t, "duplicate inode 34"});
  }
  {
    std::string t = good;
    Replace(&t, "\"f1\": {", "\"d1\": {");
    cases.push_back({"duplicate name", t, "duplicate name \"d1\" in directory inode 1"});
  }
  {
    std::string t = good;
    Replace(&t, "\"UTF8果汁数据科技有限公司文件\": {", "\"UTF8果汁数据科技有限公司目录\": {");
    cases.push_back({"duplicate UTF-8 name", t, "duplicate name"});
  }
  {
    std::string t = good;
    Replace(&t, "{\"id\":7,\"size\":11,\"len\":11}",
            "{\"id\":7,\"pos\":100,\"size\":11,\"len\":11}");
    cases.push_back({"slice beyond the length", t, "beyond the file length 11"});
  }
  {
    std::string t = good;
    Replace(&t, "\"type\":\"symlink\",\"mode\":420,\"uid\":1,",
            "\"type\":\"symlnk\",\"mode\":420,\"uid\":1,");
    cases.push_back({"unknown type", t, "unknown type \"symlnk\""});
  }
  {
    std::string t = good;
    Replace(&t, "\"Counters\": {", "\"Countrs\": {");
    cases.push_back({"no counters", t, "no \"Counters\""});
  }
  {
    std::string t = good;
    Replace(&t, "{\"id\":1,\"size\":6,\"len\":6}", "{\"id\":1,\"size\":6,\"off\":3,\"len\":6}");
    cases.push_back({"slice past its size", t, "off + len exceeds the slice size"});
  }
  {
    std::string t = good;
    t += "garbage";
    cases.push_back({"trailing garbage", t, "syntax error"});
  }
  for (const Case& c : cases) {
    SECTION(c.what) {
      auto e = NewSqlite(dir.path + "/bad.db");
      Status st = Load(*e, c.text, 2);
      INFO(st.ToString());
      CHECK(st.code() == EINVAL);
      CHECK(st.message().find(c.message) != std::string::npos);
      CHECK(st.message().find("line") != std::string::npos);
      CHECK(IsEmpty(*e));
      // Nothing was left behind: the good dump loads afterwards.
      REQUIRE(Load(*e, good).ok());
    }
  }
}

TEST_CASE("an error names the line of the bad entry") {
  TempDir dir;
  auto e = NewSqlite(dir.path + "/m.db");
  std::string t = ReadFile(TestData("metadata.sample"));
  Replace(&t, "\"attr\": {\"inode\":26,", "\"attr\": {\"inode\":25,");
  // Line of the replaced attr, 1-based.
  const size_t at = t.find("\"attr\": {\"inode\":25,\"type\":\"symlink\"");
  const size_t line = 1 + static_cast<size_t>(std::count(t.begin(), t.begin() + at, '\n'));
  Status st = Load(*e, t);
  INFO(st.ToString());
  CHECK(st.message().find("line " + std::to_string(line) + " ") != std::string::npos);
}

TEST_CASE("dump and load files, gzipped or plain") {
  TempDir dir;
  auto a = NewSqlite(dir.path + "/a.db");
  REQUIRE(LoadMetaFromFile(*a, TestData("metadata.sample"), {}).ok());
  DumpOptions keep;
  keep.keep_secret_key = true;
  REQUIRE(DumpMetaToFile(*a, dir.path + "/d.json.gz", keep).ok());
  const std::string gz = ReadFile(dir.path + "/d.json.gz");
  REQUIRE(gz.size() > 2);
  CHECK(static_cast<uint8_t>(gz[0]) == 0x1f);
  CHECK(static_cast<uint8_t>(gz[1]) == 0x8b);
  auto b = NewSqlite(dir.path + "/b.db");
  REQUIRE(LoadMetaFromFile(*b, dir.path + "/d.json.gz", {}).ok());
  REQUIRE(DumpMetaToFile(*b, dir.path + "/d.json", keep).ok());
  CHECK(ReadFile(dir.path + "/d.json") == ReadFile(TestData("metadata.sample")));
  DumpOptions sub;
  sub.subdir = "/d1";
  REQUIRE(DumpMetaToFile(*b, dir.path + "/sub.json", sub).ok());
  CHECK(ReadFile(dir.path + "/sub.json").find("\"attr\": {\"inode\":3,") != std::string::npos);
  sub.subdir = "/nope";
  CHECK(DumpMetaToFile(*b, dir.path + "/x.json", sub).code() == ENOENT);
  CHECK(LoadMetaFromFile(*b, dir.path + "/missing.json", {}).code() == ENOENT);
}
