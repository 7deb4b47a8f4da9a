// The server SQL engines (JFS_TEST_ENGINE = postgres | mysql) at the row level and under faults:
//   * rows written through Meta read back with a raw client (libpq / MySQL C API) and compared
//     byte for byte with format.md §3 (the tables, columns and values JuiceFS uses);
//   * two clients racing on one directory lose nothing;
//   * a wrong password, a missing database and an unreachable server are clear errors that leave
//     nothing behind; a server restart mid-run is survived by retrying on new connections.
#include <fcntl.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta.h"
#include "meta/sql/driver.h"
#include "meta/sql/mysql_driver.h"
#include "meta/sql/postgres_driver.h"
#include "tests/support/meta_url.h"

namespace jfs::meta {
namespace {

struct PgFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct MyClose {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct MyFree {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};

using Rows = std::vector<std::vector<std::string>>;

std::string Engine() {
  return jfs::testing::TestEngine();
}

std::string BaseUrl() {
  const char* v = std::getenv(Engine() == "postgres" ? "JFS_TEST_PG_URL" : "JFS_TEST_MYSQL_URL");
  return v ? v : "";
}

// A raw client on the test database; every value comes back as text.
class RawDb {
 public:
  RawDb() {
    const std::string url = BaseUrl();
    if (Engine() == "postgres") {
      pg_.reset(PQconnectdb(url.c_str()));
      ok_ = PQstatus(pg_.get()) == CONNECTION_OK;
    } else {
      // mysql://jfs:jfspass@(127.0.0.1:13306)/jfs, as scripts/servers.d/mariadb.sh exports it.
      std::string rest = url.substr(8);
      size_t open = rest.find('('), close = rest.find(')'), at = rest.rfind('@', open);
      std::string user = rest.substr(0, at), pass;
      if (size_t c = user.find(':'); c != std::string::npos) {
        pass = user.substr(c + 1);
        user.resize(c);
      }
      std::string hp = rest.substr(open + 1, close - open - 1);
      std::string db = rest.substr(rest.find('/', close) + 1);
      my_.reset(mysql_init(nullptr));
      ok_ = mysql_real_connect(my_.get(), hp.substr(0, hp.rfind(':')).c_str(), user.c_str(),
                               pass.c_str(), db.c_str(),
                               std::atoi(hp.substr(hp.rfind(':') + 1).c_str()), nullptr, 0);
    }
  }
  bool ok() const { return ok_; }

  // Hex of a byte column, lower case.
  static std::string Hex(const std::string& col) {
    return Engine() == "postgres" ? "encode(" + col + ",'hex')" : "LOWER(HEX(" + col + "))";
  }

  Rows Query(const std::string& sql) {
    Rows rows;
    if (pg_) {
      std::unique_ptr<PGresult, PgClear> r(PQexec(pg_.get(), sql.c_str()));
      INFO(sql << ": " << PQresultErrorMessage(r.get()));
      REQUIRE(PQresultStatus(r.get()) == PGRES_TUPLES_OK);
      for (int i = 0; i < PQntuples(r.get()); i++) {
        auto& row = rows.emplace_back();
        for (int j = 0; j < PQnfields(r.get()); j++) row.emplace_back(PQgetvalue(r.get(), i, j));
      }
    } else {
      INFO(sql << ": " << mysql_error(my_.get()));
      REQUIRE(mysql_query(my_.get(), sql.c_str()) == 0);
      std::unique_ptr<MYSQL_RES, MyFree> r(mysql_store_result(my_.get()));
      REQUIRE(r);
      const unsigned n = mysql_num_fields(r.get());
      while (MYSQL_ROW row = mysql_fetch_row(r.get())) {
        unsigned long* lens = mysql_fetch_lengths(r.get());
        auto& out = rows.emplace_back();
        for (unsigned j = 0; j < n; j++) out.emplace_back(row[j] ? row[j] : "", lens[j]);
      }
    }
    return rows;
  }

  std::string One(const std::string& sql) {
    Rows r = Query(sql);
    INFO(sql);
    REQUIRE(r.size() == 1);
    REQUIRE(r[0].size() == 1);
    return r[0][0];
  }

 private:
  bool ok_ = false;
  std::unique_ptr<PGconn, PgFinish> pg_;
  std::unique_ptr<MYSQL, MyClose> my_;
};

std::string FreshUrl(const std::string& tag) {
  std::string url, error;
  bool ok = jfs::testing::FreshMetaUrl("", tag, &url, &error);
  INFO(error);
  REQUIRE(ok);
  return url;
}

std::unique_ptr<Meta> Formatted(const std::string& url, const std::string& name,
                                int trash_days = 1) {
  std::unique_ptr<Meta> m;
  Status st = NewMeta(url, &m, true);
  INFO(url << ": " << st.ToString());
  REQUIRE(st.ok());
  Format f;
  f.name = name;
  f.uuid = "7e0d2a52-0000-4000-8000-0000000000f1";
  f.trash_days = trash_days;
  st = m->Init(f, false);
  INFO(st.ToString());
  REQUIRE(st.ok());
  return m;
}

std::string BeHex(uint64_t v, int bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (int i = bytes - 1; i >= 0; i--) {
    uint8_t b = static_cast<uint8_t>(v >> (8 * i));
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string AsciiHex(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += BeHex(c, 1);
  return out;
}

TEST_CASE("Rows in the server database are JuiceFS's (format.md §3)", "[sql][format]") {
  INFO("engine " << Engine());
  RawDb raw;
  REQUIRE(raw.ok());
  const std::string url = FreshUrl("fmt");
  auto m = Formatted(url, "rows");
  const std::string p = "jfs_fmt_";  // the table prefix FreshMetaUrl chose (tag "fmt")
  Context ctx;
  Ino dir = 0, file = 0, link = 0;
  Attr fa;
  REQUIRE(m->Mkdir(ctx, kRootIno, "dir", 0755, 022, &dir, nullptr).ok());
  REQUIRE(m->Create(ctx, dir, "file\x01\xff", 0644, 022, O_RDWR, &file, &fa).ok());
  REQUIRE(m->Symlink(ctx, dir, "ln", "../target/x", &link, nullptr).ok());
  REQUIRE(m->SetXattr(ctx, file, "user.k", std::string("v\0w", 3), 0).ok());
  uint64_t id1 = 0, id2 = 0;
  REQUIRE(m->NewSlice(ctx, &id1).ok());
  REQUIRE(m->NewSlice(ctx, &id2).ok());
  Slice s1{0, id1, 8192, 0, 8192}, s2{4096, id2, 4096, 0, 4096};
  REQUIRE(m->Write(ctx, file, 0, 0, s1).ok());
  REQUIRE(m->Write(ctx, file, 0, 4096, s2).ok());
  REQUIRE(m->FlushStats().ok());
  REQUIRE(m->GetAttr(ctx, file, &fa).ok());

  SECTION("jfs_node: type, 12 mode bits, times as microseconds + extra nanoseconds") {
    Rows r = raw.Query(
        "SELECT type,flags,mode,uid,gid,atime,mtime,ctime,atimensec,mtimensec,ctimensec,nlink,"
        "length,rdev,parent FROM " +
        p + "node WHERE inode=" + std::to_string(file));
    REQUIRE(r.size() == 1);
    CHECK(r[0][0] == "1");  // file
    CHECK(r[0][1] == "0");
    CHECK(r[0][2] == std::to_string(0644));
    CHECK(r[0][3] == "0");
    CHECK(r[0][4] == "0");
    CHECK(r[0][5] == std::to_string(fa.atime * 1000000 + fa.atimensec / 1000));
    CHECK(r[0][6] == std::to_string(fa.mtime * 1000000 + fa.mtimensec / 1000));
    CHECK(r[0][7] == std::to_string(fa.ctime * 1000000 + fa.ctimensec / 1000));
    CHECK(r[0][8] == std::to_string(fa.atimensec % 1000));
    CHECK(r[0][9] == std::to_string(fa.mtimensec % 1000));
    CHECK(r[0][10] == std::to_string(fa.ctimensec % 1000));
    CHECK(r[0][11] == "1");
    CHECK(r[0][12] == "8192");
    CHECK(r[0][13] == "0");
    CHECK(r[0][14] == std::to_string(dir));
    // The root: inode 1, directory, mode 0777 as JuiceFS's doInit writes it, parent 1.
    Rows root = raw.Query("SELECT type,mode,nlink,length,parent FROM " + p + "node WHERE inode=1");
    REQUIRE(root.size() == 1);
    CHECK(root[0][0] == "2");
    CHECK(root[0][4] == "1");
  }
  SECTION("jfs_edge: raw name bytes, inode, type") {
    Rows r = raw.Query("SELECT " + RawDb::Hex("name") + ",inode,type FROM " + p +
                       "edge WHERE parent=" + std::to_string(dir) + " ORDER BY name");
    REQUIRE(r.size() == 2);
    CHECK(r[0][0] == "66696c6501ff");  // "file\x01\xff" sorts before "ln"
    CHECK(r[0][1] == std::to_string(file));
    CHECK(r[0][2] == "1");
    CHECK(r[1][0] == AsciiHex("ln"));
    CHECK(r[1][2] == "3");  // symlink
  }
  SECTION("jfs_chunk: concatenated 24-byte slice records, appended") {
    std::string want = BeHex(0, 4) + BeHex(id1, 8) + BeHex(8192, 4) + BeHex(0, 4) + BeHex(8192, 4) +
                       BeHex(4096, 4) + BeHex(id2, 8) + BeHex(4096, 4) + BeHex(0, 4) +
                       BeHex(4096, 4);
    CHECK(raw.One("SELECT " + RawDb::Hex("slices") + " FROM " + p +
                  "chunk WHERE inode=" + std::to_string(file) + " AND indx=0") == want);
    Rows refs = raw.Query("SELECT chunkid,size,refs FROM " + p + "chunk_ref ORDER BY chunkid");
    REQUIRE(refs.size() == 2);
    CHECK(refs[0] == std::vector<std::string>{std::to_string(id1), "8192", "1"});
    CHECK(refs[1] == std::vector<std::string>{std::to_string(id2), "4096", "1"});
  }
  SECTION("jfs_symlink, jfs_xattr") {
    CHECK(raw.One("SELECT " + RawDb::Hex("target") + " FROM " + p +
                  "symlink WHERE inode=" + std::to_string(link)) == AsciiHex("../target/x"));
    Rows x = raw.Query("SELECT name," + RawDb::Hex("value") + " FROM " + p +
                       "xattr WHERE inode=" + std::to_string(file));
    REQUIRE(x.size() == 1);
    CHECK(x[0][0] == "user.k");
    CHECK(x[0][1] == "760077");
  }
  SECTION("jfs_counter holds next-free values; jfs_setting the Format JSON") {
    int64_t next_inode =
        std::stoll(raw.One("SELECT value FROM " + p + "counter WHERE name='nextInode'"));
    CHECK(next_inode > static_cast<int64_t>(link));
    int64_t next_chunk =
        std::stoll(raw.One("SELECT value FROM " + p + "counter WHERE name='nextChunk'"));
    CHECK(next_chunk > static_cast<int64_t>(id2));
    CHECK(raw.One("SELECT value FROM " + p + "counter WHERE name='totalInodes'") == "3");
    std::string json = raw.One("SELECT value FROM " + p + "setting WHERE name='format'");
    INFO(json);
    CHECK(json.find("\"Name\"") != std::string::npos);
    CHECK(json.find("\"rows\"") != std::string::npos);
    CHECK(json.find("7e0d2a52-0000-4000-8000-0000000000f1") != std::string::npos);
  }
  SECTION("column types as xorm creates them") {
    const std::string schema_cond =
        Engine() == "postgres" ? "table_schema=current_schema()" : "table_schema=DATABASE()";
    auto type_of = [&](const std::string& table, const std::string& col) {
      std::string t =
          raw.One("SELECT data_type FROM information_schema.columns WHERE " + schema_cond +
                  " AND table_name='" + p + table + "' AND column_name='" + col + "'");
      for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return t;
    };
    const bool pg = Engine() == "postgres";
    CHECK(type_of("node", "inode") == "bigint");
    CHECK(type_of("node", "atimensec") == "smallint");
    CHECK(type_of("node", "mode") == (pg ? "integer" : "int"));
    CHECK(type_of("edge", "name") == (pg ? "bytea" : "varbinary"));
    CHECK(type_of("chunk", "slices") == (pg ? "bytea" : "mediumblob"));
    CHECK(type_of("setting", "value") == "text");
    CHECK(type_of("xattr", "name") == (pg ? "character varying" : "varchar"));
  }
  REQUIRE(m->Reset().ok());
}

// Round trips (times the client waited for the server) of one call, as the drivers count them.
template <typename F>
uint64_t RoundTrips(F&& fn) {
  auto& counters = sql::GlobalSqlCounters();
  const uint64_t before = counters.round_trips;
  fn();
  return counters.round_trips - before;
}

template <typename F>
uint64_t Statements(F&& fn) {
  auto& counters = sql::GlobalSqlCounters();
  const uint64_t before = counters.statements;
  fn();
  return counters.statements - before;
}

TEST_CASE("Hot operations cost few round trips", "[sql][rtt]") {
  INFO("engine " << Engine());
  const std::string url = FreshUrl("rtt");
  auto m = Formatted(url, "rtt");
  Context ctx;
  Ino dir = 0, file = 0;
  // Warm up: inode and slice ids come in batches, and statements get prepared once.
  REQUIRE(m->Mkdir(ctx, kRootIno, "d", 0755, 0, &dir, nullptr).ok());
  for (const char* name : {"w1", "w2"}) {
    REQUIRE(m->Create(ctx, dir, name, 0644, 0, O_RDWR, &file, nullptr).ok());
    REQUIRE(m->Close(ctx, file).ok());
    REQUIRE(m->Rename(ctx, dir, name, dir, std::string(name) + "r", 0, nullptr, nullptr).ok());
    REQUIRE(m->Unlink(ctx, dir, std::string(name) + "r").ok());
  }
  REQUIRE(m->Create(ctx, dir, "f", 0644, 0, O_RDWR, &file, nullptr).ok());
  uint64_t id = 0;
  REQUIRE(m->NewSlice(ctx, &id).ok());
  Attr a;
  REQUIRE(m->GetAttr(ctx, file, &a).ok());
  REQUIRE(m->Lookup(ctx, dir, "f", nullptr, &a).ok());

  CHECK(RoundTrips([&] { REQUIRE(m->GetAttr(ctx, file, &a).ok()); }) == 1);
  CHECK(RoundTrips([&] { REQUIRE(m->Lookup(ctx, dir, "f", nullptr, &a).ok()); }) == 1);
  CHECK(RoundTrips([&] { CHECK(m->Lookup(ctx, dir, "nope", nullptr, &a).code() == ENOENT); }) == 1);
  // A single-statement read runs alone: no BEGIN, no COMMIT (MySQL: autocommit).
  CHECK(Statements([&] { REQUIRE(m->GetAttr(ctx, file, &a).ok()); }) == 1);
  CHECK(Statements([&] { REQUIRE(m->Lookup(ctx, dir, "f", nullptr, &a).ok()); }) == 1);
  Ino ino = 0;
  CHECK(RoundTrips(
            [&] { REQUIRE(m->Create(ctx, dir, "c", 0644, 0, O_RDWR, &ino, nullptr).ok()); }) <= 2);
  CHECK(RoundTrips([&] {
          CHECK(m->Create(ctx, dir, "c", 0644, 0, O_RDWR, nullptr, nullptr).code() == EEXIST);
        }) <= 2);
  REQUIRE(m->Close(ctx, ino).ok());
  CHECK(RoundTrips([&] { REQUIRE(m->Mkdir(ctx, dir, "m", 0755, 0, nullptr, nullptr).ok()); }) <= 2);
  CHECK(RoundTrips(
            [&] { REQUIRE(m->Rename(ctx, dir, "c", dir, "r", 0, nullptr, nullptr).ok()); }) <= 2);
  CHECK(RoundTrips([&] { REQUIRE(m->Unlink(ctx, dir, "r").ok()); }) <= 3);
  Slice s;
  s.id = id;
  s.size = s.len = 4096;
  CHECK(RoundTrips([&] { REQUIRE(m->Write(ctx, file, 0, 0, s).ok()); }) <= 2);
  std::string cursor;
  std::vector<Entry> out;
  CHECK(RoundTrips([&] { REQUIRE(m->Readdir(ctx, dir, true, &cursor, 0, &out).ok()); }) <= 2);
  CHECK(out.size() == 2);  // f and m
}

TEST_CASE("Long values and large pages read back whole", "[sql][rows]") {
  // Row buffers start small and grow when a value is longer (MySQL reads rows unbuffered;
  // PostgreSQL one row per result): a long slice list, a 64 KiB xattr and a page of long names
  // must come back intact, and the connection must stay usable after them.
  INFO("engine " << Engine());
  const std::string url = FreshUrl("rows");
  auto m = Formatted(url, "rows");
  Context ctx;
  Ino dir = 0, file = 0;
  REQUIRE(m->Mkdir(ctx, kRootIno, "d", 0755, 0, &dir, nullptr).ok());
  REQUIRE(m->Create(ctx, dir, "f", 0644, 0, O_RDWR, &file, nullptr).ok());
  std::vector<SliceView> want;
  for (uint32_t i = 0; i < 40; i++) {  // 40 records of 24 bytes: 960 bytes in one row
    uint64_t id = 0;
    REQUIRE(m->NewSlice(ctx, &id).ok());
    Slice s;
    s.id = id;
    s.size = s.len = 4096;
    s.pos = i * 4096;
    REQUIRE(m->Write(ctx, file, 0, s.pos, s).ok());
    want.push_back({id, 4096, 0, 4096});
  }
  std::vector<SliceView> got;
  REQUIRE(m->Read(ctx, file, 0, &got).ok());
  std::vector<SliceView> data;
  for (const SliceView& v : got) {
    if (v.id != 0) data.push_back(v);
  }
  CHECK(data == want);
  const std::string big(64 * 1024, 'v');
  REQUIRE(m->SetXattr(ctx, file, "user.big", big, 0).ok());
  std::string value;
  REQUIRE(m->GetXattr(ctx, file, "user.big", &value).ok());
  CHECK(value == big);
  std::set<std::string> names;
  for (int i = 0; i < 300; i++) {
    std::string name = std::string(200, 'n') + std::to_string(1000 + i);
    names.insert(name);
    REQUIRE(m->Mknod(ctx, dir, name, kTypeFile, 0644, 0, 0, nullptr, nullptr).ok());
  }
  names.insert("f");
  std::string cursor;
  std::vector<Entry> out;
  std::set<std::string> seen;
  do {
    REQUIRE(m->Readdir(ctx, dir, true, &cursor, 128, &out).ok());
    for (const Entry& e : out) {
      seen.insert(e.name);
      CHECK(e.attr.typ == kTypeFile);
    }
  } while (!cursor.empty());
  CHECK(seen == names);
  Attr a;
  REQUIRE(m->GetAttr(ctx, file, &a).ok());
  CHECK(a.length == 40 * 4096);
}

TEST_CASE("Removing a file with many chunks frees every chunk", "[sql][rows]") {
  // A write transaction's lookup brings the child's chunk list along (one aggregate column),
  // which MySQL 8 cuts at group_concat_max_len (1024 bytes by default; MariaDB's default is 1 MiB):
  // 300 chunks with 7-digit indices (2400 bytes) must all be freed either way.
  INFO("engine " << Engine());
  const std::string url = FreshUrl("chunks");
  auto m = Formatted(url, "chunks", /*trash_days=*/0);  // removed for real, not trashed
  Context ctx;
  Ino file = 0, small = 0;
  REQUIRE(m->Create(ctx, kRootIno, "f", 0644, 0, O_RDWR, &file, nullptr).ok());
  REQUIRE(m->Close(ctx, file).ok());
  REQUIRE(m->Create(ctx, kRootIno, "g", 0644, 0, O_RDWR, &small, nullptr).ok());
  REQUIRE(m->Close(ctx, small).ok());
  auto write = [&](Ino ino, uint32_t indx) {
    uint64_t id = 0;
    REQUIRE(m->NewSlice(ctx, &id).ok());
    Slice s;
    s.id = id;
    s.size = s.len = 4096;
    REQUIRE(m->Write(ctx, ino, indx, 0, s).ok());
  };
  for (uint32_t i = 0; i < 300; i++) write(file, 1000000 + i * 7);
  for (uint32_t i = 0; i < 3; i++) write(small, i * 2);
  RawDb raw;
  REQUIRE(raw.ok());
  const std::string p = "jfs_chunks_";  // the table prefix FreshMetaUrl chose (tag "chunks")
  auto count = [&](Ino ino) {
    return raw.Query("SELECT COUNT(*) FROM " + p + "chunk WHERE inode=" + std::to_string(ino));
  };
  CHECK(count(file) == Rows{{"300"}});
  CHECK(count(small) == Rows{{"3"}});
  REQUIRE(m->Unlink(ctx, kRootIno, "f").ok());
  REQUIRE(m->Unlink(ctx, kRootIno, "g").ok());
  CHECK(count(file) == Rows{{"0"}});
  CHECK(count(small) == Rows{{"0"}});
}

TEST_CASE("Two clients racing on one directory lose nothing", "[sql][race]") {
  INFO("engine " << Engine());
  const std::string url = FreshUrl("race");
  auto setup = Formatted(url, "race");
  Context ctx;
  Ino dir = 0;
  REQUIRE(setup->Mkdir(ctx, kRootIno, "d", 0777, 0, &dir, nullptr).ok());
  constexpr int kPerClient = 60;
  std::vector<std::string> errors[2];
  std::vector<std::thread> threads;
  for (int c = 0; c < 2; c++) {
    threads.emplace_back([&, c] {
      std::unique_ptr<Meta> m;
      Status st = NewMeta(url, &m);
      if (!st.ok()) {
        errors[c].push_back(st.ToString());
        return;
      }
      Format f;
      if (!(st = m->Load(&f)).ok()) errors[c].push_back(st.ToString());
      for (int i = 0; i < kPerClient; i++) {
        // Both clients create the same shared names (exactly one wins each), their own names,
        // rename their own file over a shared target and unlink half of their own files.
        std::string own = "c" + std::to_string(c) + "_" + std::to_string(i);
        Ino ino = 0;
        st = m->Create(ctx, dir, "shared" + std::to_string(i), 0644, 0, O_RDWR, &ino, nullptr);
        if (st.ok()) {
          (void)m->Close(ctx, ino);
        } else if (st.code() != EEXIST) {
          errors[c].push_back("create shared: " + st.ToString());
        }
        if (!(st = m->Create(ctx, dir, own, 0644, 0, O_RDWR, &ino, nullptr)).ok()) {
          errors[c].push_back("create own: " + st.ToString());
          continue;
        }
        (void)m->Close(ctx, ino);
        if (i % 3 == 0) {
          st = m->Rename(ctx, dir, own, dir, "target" + std::to_string(i % 9), 0, nullptr, nullptr);
          if (!st.ok()) errors[c].push_back("rename: " + st.ToString());
        } else if (i % 3 == 1) {
          if (!(st = m->Unlink(ctx, dir, own)).ok())
            errors[c].push_back("unlink: " + st.ToString());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    for (auto& msg : e) FAIL_CHECK(msg);
  }
  // Expected: kPerClient shared names, the own names with i % 3 == 2 of both clients, targets.
  std::set<std::string> want;
  for (int i = 0; i < kPerClient; i++) {
    want.insert("shared" + std::to_string(i));
    for (int c = 0; c < 2; c++) {
      if (i % 3 == 2) want.insert("c" + std::to_string(c) + "_" + std::to_string(i));
    }
    if (i % 3 == 0) want.insert("target" + std::to_string(i % 9));
  }
  std::set<std::string> got;
  std::string cursor;
  std::vector<Entry> page;
  do {
    REQUIRE(setup->Readdir(ctx, dir, true, &cursor, 50, &page).ok());
    for (auto& e : page) {
      CHECK(e.attr.nlink == 1);  // every entry has its node
      got.insert(e.name);
    }
  } while (!cursor.empty());
  CHECK(got == want);
  Attr da;
  REQUIRE(setup->GetAttr(ctx, dir, &da).ok());
  CHECK(da.nlink == 2);
  REQUIRE(setup->Reset().ok());
}

TEST_CASE("Connection faults are clear errors that leave nothing behind", "[sql][faults]") {
  INFO("engine " << Engine());
  const std::string base = BaseUrl();
  REQUIRE(!base.empty());
  std::unique_ptr<Meta> m;
  const bool pg = Engine() == "postgres";
  SECTION("wrong password") {
    std::string bad = base;
    bad.replace(bad.find(":jfspass@"), 9, ":wrong@");
    Status st = NewMeta(bad, &m, true);
    INFO(st.ToString());
    CHECK(st.code() == EACCES);
    CHECK(st.message().find("wrong") == std::string::npos);  // the password is not echoed
    CHECK_FALSE(m);
  }
  SECTION("META_PASSWORD supplies a missing password") {
    std::string nopass = base;
    nopass.replace(nopass.find(":jfspass@"), 9, "@");
    setenv("META_PASSWORD", "jfspass", 1);
    Status st = NewMeta(nopass, &m, true);
    unsetenv("META_PASSWORD");
    INFO(st.ToString());
    CHECK(st.ok());
  }
  SECTION("missing database") {
    // (A MySQL user without rights on the database gets EACCES naming it instead.)
    std::string bad = base;
    size_t slash = pg ? bad.find("/jfs?") : bad.rfind("/jfs");
    REQUIRE(slash != std::string::npos);
    bad.replace(slash, 4, "/nosuchdb");
    Status st = NewMeta(bad, &m, true);
    INFO(st.ToString());
    CHECK(st.code() == ENOENT);
    CHECK(st.message().find("nosuchdb") != std::string::npos);
    CHECK_FALSE(m);
  }
  SECTION("unreachable server") {
    std::string bad = pg ? "postgres://jfs:x@127.0.0.1:1/jfs?sslmode=disable&connect_timeout=2"
                         : "mysql://jfs:x@(127.0.0.1:1)/jfs";
    Status st = NewMeta(bad, &m, true);
    INFO(st.ToString());
    CHECK(st.code() == EIO);
    CHECK_FALSE(m);
  }
  SECTION("bad URLs are EINVAL") {
    for (const std::string& bad :
         {std::string("mysql://jfs:x@(127.0.0.1:notaport)/jfs"), std::string("mysql://jfs@(h:1)"),
          base + (base.find('?') == std::string::npos ? "?" : "&") + "table_prefix=a-b"}) {
      INFO(bad);
      CHECK(NewMeta(bad, &m, true).code() == EINVAL);
    }
  }
  SECTION("opening an unformatted prefix creates no tables") {
    const std::string url =
        base + (base.find('?') == std::string::npos ? "?" : "&") + "table_prefix=never";
    REQUIRE(NewMeta(url, &m).ok());
    Format f;
    CHECK(m->Load(&f).code() == ENOENT);
    RawDb raw;
    REQUIRE(raw.ok());
    CHECK(raw.Query(std::string("SELECT table_name FROM information_schema.tables WHERE ") +
                    (pg ? "table_schema=current_schema()" : "table_schema=DATABASE()") +
                    " AND table_name LIKE 'jfs_never_%'")
              .empty());
  }
}

// A transaction that fails at COMMIT (PostgreSQL sends statements nobody reads the result of with
// the COMMIT; one failing makes the server skip the COMMIT) must not leave its connection inside
// an aborted transaction: the pool hands the connection on, and every statement of the next
// transaction (a lone read without BEGIN, say) then failed with "current transaction is aborted".
TEST_CASE("A transaction failing at COMMIT leaves its connection usable", "[sql][faults]") {
  INFO("engine " << Engine());
  const bool pg = Engine() == "postgres";
  std::unique_ptr<sql::SqlDb> db;
  std::string prefix;
  Status st =
      pg ? sql::OpenPostgres(BaseUrl(), &db, &prefix) : sql::OpenMySQL(BaseUrl(), &db, &prefix);
  INFO(st.ToString());
  REQUIRE(st.ok());
  const std::string table = "jfs_test_commit_" + std::to_string(getpid());
  {
    sql::SqlDb::Lease l;
    REQUIRE(db->Acquire(true, &l).ok());
    REQUIRE(l->Exec("CREATE TABLE " + table + " (k INT PRIMARY KEY)").ok());
  }
  const std::string insert = "INSERT INTO " + table + " (k) VALUES (1)";
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    {
      // The second insert violates the primary key: at its Query or at the Commit.
      sql::SqlDb::Lease l;
      REQUIRE(db->Acquire(true, &l).ok());
      REQUIRE(l->Begin(true).ok());
      Status w = l->Query(insert, {}, {}, nullptr);
      if (w.ok()) w = l->Query(insert, {}, {}, nullptr);
      if (w.ok()) w = l->Commit();
      INFO(w.ToString());
      CHECK(w.code() == EEXIST);
      // SqlEngine::RunOnce rolls back after any failure; the last round does not, and the next
      // transaction on the connection must end the aborted one itself.
      if (round < 2) (void)l->Rollback();
      CHECK_FALSE(l->Broken());
    }
    // The pool holds one idle connection: the one just used.
    int64_t rows = -1;
    auto count = [&](const sql::Row& r) {
      rows = r.Int(0);
      return Status::OK();
    };
    sql::SqlDb::Lease l;
    REQUIRE(db->Acquire(false, &l).ok());
    REQUIRE(l->BeginSingleRead().ok());
    Status r = l->Query("SELECT COUNT(*) FROM " + table, {}, count, nullptr);
    INFO(r.ToString());
    REQUIRE(r.ok());
    REQUIRE(l->Commit().ok());
    CHECK(rows == 0);  // nothing of the failed transaction stayed
    REQUIRE(l->Begin(false).ok());
    rows = -1;
    r = l->Query("SELECT COUNT(*) FROM " + table, {}, count, nullptr);
    INFO(r.ToString());
    REQUIRE(r.ok());
    REQUIRE(l->Commit().ok());
    CHECK(rows == 0);
  }
  sql::SqlDb::Lease l;
  REQUIRE(db->Acquire(true, &l).ok());
  CHECK(l->Exec("DROP TABLE " + table).ok());
}

// Needs the server's control script: JFS_TEST_RESTART_CMD restarts the server (test.sh sets it).
TEST_CASE("A server restart mid-run is survived", "[sql][faults][restart]") {
  INFO("engine " << Engine());
  const char* restart =
      std::getenv(Engine() == "postgres" ? "JFS_TEST_PG_RESTART" : "JFS_TEST_MYSQL_RESTART");
  INFO("the restart command variable is unset");
  REQUIRE(restart);
  const std::string url = FreshUrl("restart");
  auto m = Formatted(url, "restart");
  Context ctx;
  for (int i = 0; i < 10; i++) {
    REQUIRE(m->Mkdir(ctx, kRootIno, "before" + std::to_string(i), 0755, 0, nullptr, nullptr).ok());
  }
  REQUIRE(std::system(restart) == 0);
  // Pooled connections are dead now; every operation must still succeed (retried on new ones).
  for (int i = 0; i < 10; i++) {
    Status st = m->Mkdir(ctx, kRootIno, "after" + std::to_string(i), 0755, 0, nullptr, nullptr);
    INFO(st.ToString());
    REQUIRE(st.ok());
  }
  std::string cursor;
  std::vector<Entry> out;
  REQUIRE(m->Readdir(ctx, kRootIno, false, &cursor, 0, &out).ok());
  CHECK(out.size() == 20);
  REQUIRE(m->Reset().ok());
}

}  // namespace
}  // namespace jfs::meta
