// Tests of the SQL metadata engine with the SQLite driver: every Tx primitive, the exact JuiceFS
// schema and encodings (checked with raw SQL), rollback and retry, and concurrent writers from
// threads, engines and processes.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "meta/codec.h"
#include "meta/engine.h"
#include "meta/sql/driver.h"
#include "meta/sql/sql_engine.h"
#include "meta/sql/sqlite_driver.h"

using namespace jfs;
using namespace jfs::meta;
using jfs::meta::sql::SqlEngine;

namespace {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jfs_sql_test_XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    REQUIRE(p != nullptr);
    path_ = p;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::unique_ptr<Engine> OpenEngine(const std::string& path) {
  std::unique_ptr<Engine> e;
  Status st = NewSQLiteEngine(path, &e);
  INFO(st.ToString());
  REQUIRE(st.ok());
  REQUIRE(e->InitSchema().ok());
  return e;
}

std::unique_ptr<SqlEngine> OpenSqlEngine(const std::string& path, int busy_timeout_ms,
                                         sql::SqlEngineOptions opts = {}) {
  sql::SqliteOptions so;
  so.busy_timeout_ms = busy_timeout_ms;
  std::unique_ptr<sql::SqlDb> db;
  REQUIRE(sql::OpenSqlite(path, so, &db).ok());
  std::unique_ptr<SqlEngine> e;
  REQUIRE(SqlEngine::Open(std::move(db), std::move(opts), &e).ok());
  REQUIRE(e->InitSchema().ok());
  return e;
}

// A raw libsqlite3 handle for checking what the engine stored.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                            nullptr) == SQLITE_OK);
    db_.reset(db);
    sqlite3_busy_timeout(db, 5000);
  }
  // Rows as strings; blobs as hex prefixed with "x'".
  std::vector<std::vector<std::string>> Rows(const std::string& q) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), q.c_str(), -1, &raw, nullptr);
    INFO(q << ": " << sqlite3_errmsg(db_.get()));
    REQUIRE(rc == SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> s(raw, &sqlite3_finalize);
    std::vector<std::vector<std::string>> out;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(s.get()); i++) {
        switch (sqlite3_column_type(s.get(), i)) {
          case SQLITE_NULL:
            row.push_back("NULL");
            break;
          case SQLITE_BLOB: {
            const auto* p = static_cast<const unsigned char*>(sqlite3_column_blob(s.get(), i));
            std::string hex = "x'";
            static const char* kDigits = "0123456789abcdef";
            for (int j = 0; j < sqlite3_column_bytes(s.get(), i); j++) {
              hex += kDigits[p[j] >> 4];
              hex += kDigits[p[j] & 15];
            }
            row.push_back(hex + "'");
            break;
          }
          default:
            row.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s.get(), i)),
                             sqlite3_column_bytes(s.get(), i));
        }
      }
      out.push_back(std::move(row));
    }
    REQUIRE(rc == SQLITE_DONE);
    return out;
  }
  std::string One(const std::string& q) {
    auto rows = Rows(q);
    REQUIRE(rows.size() == 1);
    REQUIRE(rows[0].size() == 1);
    return rows[0][0];
  }
  // No assertions: usable from helper threads.
  int ExecRc(const std::string& q) {
    return sqlite3_exec(db_.get(), q.c_str(), nullptr, nullptr, nullptr);
  }
  void Exec(const std::string& q) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), q.c_str(), nullptr, nullptr, &err);
    std::string msg = err ? err : "";
    sqlite3_free(err);
    INFO(q << ": " << msg);
    REQUIRE(rc == SQLITE_OK);
  }

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Closer> db_;
};

Status Write(Engine& e, const std::function<Status(Tx&)>& fn) {
  return e.Txn(fn, false);
}
Status Read(Engine& e, const std::function<Status(Tx&)>& fn) {
  return e.Txn(fn, true);
}

void PutU32(std::string* s, uint32_t v) {
  for (int i = 3; i >= 0; i--) s->push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string* s, uint64_t v) {
  for (int i = 7; i >= 0; i--) s->push_back(static_cast<char>(v >> (8 * i)));
}
std::string SliceRecord(uint32_t pos, uint64_t id, uint32_t size, uint32_t off, uint32_t len) {
  std::string s;
  PutU32(&s, pos);
  PutU64(&s, id);
  PutU32(&s, size);
  PutU32(&s, off);
  PutU32(&s, len);
  return s;
}

Attr SampleAttr() {
  Attr a;
  a.flags = kFlagAppend;
  a.typ = kTypeFile;
  a.mode = 04755;
  a.uid = 4000000000u;
  a.gid = 1001;
  a.atime = 1700000000;
  a.atimensec = 123456789;
  a.mtime = 1700000001;
  a.mtimensec = 999999999;
  a.ctime = 1700000002;
  a.ctimensec = 1000;
  a.nlink = 3;
  a.length = (1ULL << 40) + 5;
  a.rdev = 77;
  a.parent = 9;
  a.access_acl = 2;
  a.default_acl = 3;
  a.tier = 1;
  return a;
}

}  // namespace

TEST_CASE("Opening bad paths gives clear errors", "[sql]") {
  TempDir dir;
  std::unique_ptr<Engine> e;
  Status st = NewSQLiteEngine(dir.File("missing/sub/meta.db"), &e);
  CHECK(st.code() == ENOENT);
  CHECK(st.message().find("does not exist") != std::string::npos);
  CHECK(e == nullptr);

  std::string junk = dir.File("junk.db");
  {
    std::ofstream f(junk);
    f << std::string(8192, 'x');
  }
  st = NewSQLiteEngine(junk, &e);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("not a database") != std::string::npos);
  CHECK_FALSE(st.retryable());

  st = NewSQLiteEngine("", &e);
  CHECK(st.code() == EINVAL);

  // Without `create`, a missing file is ENOENT and stays missing.
  std::string absent = dir.File("absent.db");
  st = NewSQLiteEngine(absent, &e, /*create=*/false);
  CHECK(st.code() == ENOENT);
  CHECK_FALSE(std::filesystem::exists(absent));

  // A database nobody formatted reads as "not formatted", even before InitSchema.
  REQUIRE(NewSQLiteEngine(dir.File("empty.db"), &e).ok());
  std::string json;
  st = e->Txn([&](Tx& tx) { return tx.GetSetting(&json); }, true);
  CHECK(st.code() == ENOENT);
}

TEST_CASE("Schema matches JuiceFS", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  CHECK(e->Name() == "sqlite3");
  REQUIRE(e->InitSchema().ok());  // idempotent

  RawDb raw(path);
  CHECK(raw.One("PRAGMA journal_mode") == "wal");

  auto columns = [&](const std::string& table) {
    std::vector<std::string> out;
    for (auto& r :
         raw.Rows("SELECT name, type, \"notnull\", pk FROM pragma_table_info('" + table + "')")) {
      out.push_back(r[0] + " " + r[1] + (r[2] == "1" ? " NN" : "") + (r[3] != "0" ? " PK" : ""));
    }
    return out;
  };
  CHECK(columns("jfs_node") ==
        std::vector<std::string>{"inode INTEGER NN PK", "type INTEGER NN", "flags INTEGER NN",
                                 "mode INTEGER NN", "uid INTEGER NN", "gid INTEGER NN",
                                 "atime INTEGER NN", "mtime INTEGER NN", "ctime INTEGER NN",
                                 "atimensec INTEGER NN", "mtimensec INTEGER NN",
                                 "ctimensec INTEGER NN", "nlink INTEGER NN", "length INTEGER NN",
                                 "rdev INTEGER", "parent INTEGER", "access_acl_id INTEGER",
                                 "default_acl_id INTEGER", "tier_id INTEGER"});
  CHECK(columns("jfs_edge") == std::vector<std::string>{"id INTEGER NN PK", "parent INTEGER NN",
                                                        "name BLOB NN", "inode INTEGER NN",
                                                        "type INTEGER NN"});
  CHECK(columns("jfs_chunk") == std::vector<std::string>{"id INTEGER NN PK", "inode INTEGER NN",
                                                         "indx INTEGER NN", "slices BLOB NN"});
  CHECK(columns("jfs_chunk_ref") ==
        std::vector<std::string>{"chunkid INTEGER NN PK", "size INTEGER NN", "refs INTEGER NN"});
  CHECK(columns("jfs_setting") == std::vector<std::string>{"name TEXT NN PK", "value TEXT NN"});
  CHECK(columns("jfs_counter") == std::vector<std::string>{"name TEXT NN PK", "value INTEGER NN"});
  CHECK(columns("jfs_symlink") ==
        std::vector<std::string>{"inode INTEGER NN PK", "target BLOB NN"});
  CHECK(columns("jfs_xattr") == std::vector<std::string>{"id INTEGER NN PK", "inode INTEGER NN",
                                                         "name TEXT NN", "value BLOB NN"});
  CHECK(columns("jfs_session2") ==
        std::vector<std::string>{"sid INTEGER NN PK", "expire INTEGER NN", "info BLOB"});
  CHECK(columns("jfs_sustained") ==
        std::vector<std::string>{"id INTEGER NN PK", "sid INTEGER NN", "inode INTEGER NN"});
  CHECK(columns("jfs_delfile") ==
        std::vector<std::string>{"inode INTEGER NN PK", "length INTEGER NN", "expire INTEGER NN"});
  CHECK(columns("jfs_delslices") ==
        std::vector<std::string>{"chunkid INTEGER NN PK", "deleted INTEGER NN", "slices BLOB NN"});
  CHECK(columns("jfs_user_group_quota") ==
        std::vector<std::string>{"qtype INTEGER NN PK", "qkey INTEGER NN PK",
                                 "max_space INTEGER NN", "max_inodes INTEGER NN",
                                 "used_space INTEGER NN", "used_inodes INTEGER NN"});
  for (const char* t : {"jfs_flock", "jfs_plock", "jfs_dir_stats", "jfs_detached_node",
                        "jfs_dir_quota", "jfs_acl"}) {
    INFO(t);
    CHECK_FALSE(columns(t).empty());
  }
  CHECK(columns("jfs_acl")[2] == "group INTEGER");
  // The nsec columns default to 0 (a row inserted by an old client has no value for them).
  CHECK(raw.One("SELECT dflt_value FROM pragma_table_info('jfs_node') WHERE name='atimensec'") ==
        "0");

  // xorm's index names, and no "IF NOT EXISTS" left in the stored text (xorm parses it).
  auto indexes = raw.Rows(
      "SELECT name, tbl_name, sql FROM sqlite_master WHERE type='index' AND sql IS NOT NULL "
      "ORDER BY name");
  std::map<std::string, std::string> by_name;
  for (auto& r : indexes) {
    by_name[r[0]] = r[1];
    CHECK(r[2].find("IF NOT EXISTS") == std::string::npos);
  }
  CHECK(by_name == std::map<std::string, std::string>{
                       {"IDX_jfs_chunk_ref_refs", "jfs_chunk_ref"},
                       {"IDX_jfs_edge_inode", "jfs_edge"},
                       {"UQE_jfs_chunk_chunk", "jfs_chunk"},
                       {"UQE_jfs_edge_edge", "jfs_edge"},
                       {"UQE_jfs_flock_flock", "jfs_flock"},
                       {"UQE_jfs_plock_plock", "jfs_plock"},
                       {"UQE_jfs_sustained_sustained", "jfs_sustained"},
                       {"UQE_jfs_xattr_name", "jfs_xattr"},
                   });
  CHECK(raw.One("SELECT sql FROM sqlite_master WHERE name='UQE_jfs_edge_edge'") ==
        "CREATE UNIQUE INDEX `UQE_jfs_edge_edge` ON `jfs_edge` (`parent`,`name`)");

  // Initial counters in "next free" terms.
  std::map<std::string, std::string> counters;
  for (auto& r : raw.Rows("SELECT name, value FROM jfs_counter")) counters[r[0]] = r[1];
  CHECK(counters == std::map<std::string, std::string>{{"nextInode", "2"},
                                                       {"nextChunk", "1"},
                                                       {"nextSession", "0"},
                                                       {"usedSpace", "0"},
                                                       {"totalInodes", "0"},
                                                       {"nextCleanupSlices", "0"},
                                                       {"nextTrash", "0"}});
}

TEST_CASE("InitSchema keeps existing counters and upgrades old tables", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  {
    RawDb raw(path);
    // jfs_node as JuiceFS 1.0 created it: no nsec, ACL or tier columns.
    raw.Exec(
        "CREATE TABLE `jfs_node` (`inode` INTEGER PRIMARY KEY NOT NULL, `type` INTEGER NOT NULL, "
        "`flags` INTEGER NOT NULL, `mode` INTEGER NOT NULL, `uid` INTEGER NOT NULL, `gid` "
        "INTEGER NOT NULL, `atime` INTEGER NOT NULL, `mtime` INTEGER NOT NULL, `ctime` INTEGER "
        "NOT NULL, `nlink` INTEGER NOT NULL, `length` INTEGER NOT NULL, `rdev` INTEGER NULL, "
        "`parent` INTEGER NULL)");
    raw.Exec(
        "INSERT INTO jfs_node VALUES(1, 2, 0, 511, 0, 0, 1700000000123456, 1700000000123456, "
        "1700000000123456, 2, 4096, 0, 1)");
    raw.Exec(
        "CREATE TABLE `jfs_counter` (`name` TEXT PRIMARY KEY NOT NULL, `value` INTEGER "
        "NOT NULL)");
    raw.Exec("INSERT INTO jfs_counter VALUES('nextInode', 1000)");
  }
  auto e = OpenEngine(path);
  Attr a;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetAttr(1, &a); }).ok());
  CHECK(a.typ == kTypeDirectory);
  CHECK(a.mode == 0777);
  CHECK(a.atime == 1700000000);
  CHECK(a.atimensec == 123456000);
  CHECK(a.tier == 0);
  CHECK(a.access_acl == 0);
  int64_t v = 0;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetCounter("nextInode", &v); }).ok());
  CHECK(v == 1000);
  // The upgraded table takes full rows.
  Attr b = SampleAttr();
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutAttr(50, b); }).ok());
  Attr got;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetAttr(50, &got); }).ok());
  CHECK(got == b);
}

TEST_CASE("Attributes round-trip and use JuiceFS's columns", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  Attr a = SampleAttr();
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutAttr(42, a); }).ok());
  Attr got;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetAttr(42, &got); }).ok());
  CHECK(got == a);

  RawDb raw(path);
  auto row = raw.Rows(
      "SELECT type, flags, mode, uid, gid, atime, atimensec, mtime, mtimensec, ctime, ctimensec, "
      "nlink, length, rdev, parent, access_acl_id, default_acl_id, tier_id FROM jfs_node WHERE "
      "inode=42");
  REQUIRE(row.size() == 1);
  CHECK(row[0] == std::vector<std::string>{"1", "2", "2541", "4000000000", "1001",
                                           "1700000000123456", "789", "1700000001999999", "999",
                                           "1700000002000001", "0", "3", "1099511627781", "77", "9",
                                           "2", "3", "1"});

  // Replace, then times before 1970 (Go's truncating split; read back exactly).
  a.mode = 0644;
  a.atime = -2;
  a.atimensec = 500;
  a.mtime = 0;
  a.mtimensec = 0;
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutAttr(42, a); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetAttr(42, &got); }).ok());
  CHECK(got == a);
  CHECK(raw.One("SELECT atime || ',' || atimensec FROM jfs_node WHERE inode=42") ==
        "-1999999,-500");

  REQUIRE(Write(*e, [&](Tx& tx) { return tx.DeleteAttr(42); }).ok());
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.DeleteAttr(42); }).ok());  // missing is OK
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetAttr(42, &got); }).code() == ENOENT);
}

TEST_CASE("Directory entries, listing and parents", "[sql]") {
  TempDir dir;
  auto e = OpenEngine(dir.File("meta.db"));
  const std::string binary("b\0\xff", 3);
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.PutEntry(1, "c", 10, kTypeFile));
            JFS_RETURN_IF_ERROR(tx.PutEntry(1, "a", 11, kTypeDirectory));
            JFS_RETURN_IF_ERROR(tx.PutEntry(1, binary, 12, kTypeSymlink));
            JFS_RETURN_IF_ERROR(tx.PutEntry(1, "b", 13, kTypeFile));
            JFS_RETURN_IF_ERROR(tx.PutEntry(11, "x", 10, kTypeFile));  // hard link
            return tx.PutEntry(11, "y", 10, kTypeFile);
          }).ok());

  Ino ino = 0;
  uint8_t type = 0;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetEntry(1, binary, &ino, &type); }).ok());
  CHECK(ino == 12);
  CHECK(type == kTypeSymlink);
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetEntry(1, "zz", &ino, &type); }).code() == ENOENT);
  CHECK(Read(*e, [&](Tx& tx) {
          return tx.GetEntry(1, std::string("b\0", 2), &ino, &type);
        }).code() == ENOENT);

  // Replace keeps one row per (parent, name).
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutEntry(1, "b", 14, kTypeDirectory); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetEntry(1, "b", &ino, &type); }).ok());
  CHECK(ino == 14);
  CHECK(type == kTypeDirectory);

  // Pages of 2, in byte order: "a" < "b" < "b\0\xff" < "c".
  std::vector<std::string> names;
  std::vector<Ino> inodes;
  std::string cursor;
  int pages = 0;
  do {
    std::vector<Entry> page;
    REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListEntries(1, &cursor, 2, &page); }).ok());
    CHECK(page.size() <= 2);
    for (auto& en : page) {
      names.push_back(en.name);
      inodes.push_back(en.inode);
    }
    pages++;
  } while (!cursor.empty() && pages < 10);
  CHECK(names == std::vector<std::string>{"a", "b", binary, "c"});
  CHECK(inodes == std::vector<Ino>{11, 14, 12, 10});
  CHECK(pages == 2);  // the second page ends the listing without an extra empty call

  std::vector<Entry> all;
  cursor.clear();
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListEntries(1, &cursor, 100, &all); }).ok());
  CHECK(all.size() == 4);
  CHECK(all[0].attr.typ == kTypeDirectory);
  CHECK(cursor.empty());
  cursor.clear();
  CHECK(Read(*e, [&](Tx& tx) { return tx.ListEntries(1, &cursor, 0, &all); }).code() == EINVAL);

  bool any = false;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.HasEntries(1, &any); }).ok());
  CHECK(any);
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.HasEntries(99, &any); }).ok());
  CHECK_FALSE(any);

  std::map<Ino, int> parents;
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.AdjustParent(10, 11, 1); }).ok());  // no-op
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListParents(10, &parents); }).ok());
  CHECK(parents == std::map<Ino, int>{{1, 1}, {11, 2}});

  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.DeleteEntry(11, "x"));
            return tx.DeleteEntry(11, "missing");
          }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListParents(10, &parents); }).ok());
  CHECK(parents == std::map<Ino, int>{{1, 1}, {11, 1}});
}

TEST_CASE("Symlinks, xattrs, sessions, settings", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  std::string s;
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetSymlink(5, &s); }).code() == ENOENT);
  std::string target("/a/b\xfe", 5);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutSymlink(5, target); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetSymlink(5, &s); }).ok());
  CHECK(s == target);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.DeleteSymlink(5); }).ok());
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetSymlink(5, &s); }).code() == ENOENT);

  CHECK(Read(*e, [&](Tx& tx) { return tx.GetXattr(5, "user.a", &s); }).code() == ENODATA);
  CHECK(Write(*e, [&](Tx& tx) { return tx.DeleteXattr(5, "user.a"); }).code() == ENODATA);
  const std::string value("v\0w", 3);
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.PutXattr(5, "user.b", "1"));
            JFS_RETURN_IF_ERROR(tx.PutXattr(5, "user.a", "0"));
            JFS_RETURN_IF_ERROR(tx.PutXattr(5, "user.a", value));  // replace
            JFS_RETURN_IF_ERROR(tx.PutXattr(6, "user.empty", ""));
            return tx.PutXattr(6, "user.c", "2");
          }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetXattr(5, "user.a", &s); }).ok());
  CHECK(s == value);
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetXattr(6, "user.empty", &s); }).ok());
  CHECK(s.empty());
  std::vector<std::string> names;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListXattr(5, &names); }).ok());
  CHECK(names == std::vector<std::string>{"user.a", "user.b"});
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.DeleteXattr(5, "user.b"); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListXattr(5, &names); }).ok());
  CHECK(names == std::vector<std::string>{"user.a"});
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.DeleteAllXattr(6); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListXattr(6, &names); }).ok());
  CHECK(names.empty());

  CHECK(Read(*e, [&](Tx& tx) { return tx.GetSetting(&s); }).code() == ENOENT);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutSetting(R"({"Name":"v1"})"); }).ok());
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutSetting(R"({"Name":"v2"})"); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetSetting(&s); }).ok());
  CHECK(s == R"({"Name":"v2"})");

  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.PutSession(7, 1700000060, R"({"Version":"x"})"));
            JFS_RETURN_IF_ERROR(tx.PutSession(7, 1700000120, R"({"Version":"y"})"));
            JFS_RETURN_IF_ERROR(tx.PutSession(8, 1, "{}"));
            JFS_RETURN_IF_ERROR(tx.AddSustained(7, 100));
            JFS_RETURN_IF_ERROR(tx.AddSustained(7, 100));  // idempotent
            JFS_RETURN_IF_ERROR(tx.AddSustained(7, 101));
            JFS_RETURN_IF_ERROR(tx.AddSustained(8, 102));
            JFS_RETURN_IF_ERROR(tx.AddDelFile(100, 12345, 1700000000));
            JFS_RETURN_IF_ERROR(tx.AddDelFile(101, 0, 1700000001));
            return tx.DeleteSession(8);
          }).ok());
  std::vector<Ino> sustained;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListSustained(7, &sustained); }).ok());
  CHECK(sustained == std::vector<Ino>{100, 101});
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.RemoveSustained(7, 100));
            return tx.RemoveDelFile(101);
          }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListSustained(7, &sustained); }).ok());
  CHECK(sustained == std::vector<Ino>{101});

  RawDb raw(path);
  CHECK(raw.Rows("SELECT sid, expire, CAST(info AS TEXT), typeof(info) FROM jfs_session2") ==
        std::vector<std::vector<std::string>>{{"7", "1700000120", R"({"Version":"y"})", "blob"}});
  CHECK(raw.Rows("SELECT inode, length, expire FROM jfs_delfile") ==
        std::vector<std::vector<std::string>>{{"100", "12345", "1700000000"}});
  CHECK(raw.Rows("SELECT name, value, typeof(value) FROM jfs_setting") ==
        std::vector<std::vector<std::string>>{{"format", R"({"Name":"v2"})", "text"}});
  CHECK(raw.Rows("SELECT inode, name, typeof(name) FROM jfs_xattr WHERE inode=5") ==
        std::vector<std::vector<std::string>>{{"5", "user.a", "text"}});
}

TEST_CASE("Chunks are concatenated 24-byte records", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  std::string r1 = SliceRecord(0, 5, 64 << 20, 0, 64 << 20);
  std::string r2 = SliceRecord(4096, 6, 8192, 0, 100);
  std::string records;
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetChunk(30, 0, &records); }).code() == ENOENT);
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.AppendChunk(30, 1, r1));
            return tx.AppendChunk(30, 1, r2);
          }).ok());
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.AppendChunk(30, 1, r1); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetChunk(30, 1, &records); }).ok());
  CHECK(records == r1 + r2 + r1);

  RawDb raw(path);
  CHECK(raw.Rows("SELECT inode, indx, length(slices), typeof(slices), hex(substr(slices, 1, 24)) "
                 "FROM jfs_chunk") ==
        std::vector<std::vector<std::string>>{
            {"30", "1", "72", "blob", "000000000000000000000005040000000000000004000000"}});

  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.PutChunk(30, 1, r2));  // replace
            JFS_RETURN_IF_ERROR(tx.PutChunk(30, 7, r1));  // insert
            return tx.AppendChunk(31, 0, r2);
          }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetChunk(30, 1, &records); }).ok());
  CHECK(records == r2);
  std::vector<uint32_t> indices;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListChunks(30, &indices); }).ok());
  CHECK(indices == std::vector<uint32_t>{1, 7});
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.DeleteChunk(30, 1); }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListChunks(30, &indices); }).ok());
  CHECK(indices == std::vector<uint32_t>{7});
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetChunk(30, 1, &records); }).code() == ENOENT);
}

TEST_CASE("Delayed slices are 12-byte records keyed by the compacted slice", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  std::string recs;
  AppendDelayedSlice(&recs, 0x0102030405060708ULL, 4096);
  AppendDelayedSlice(&recs, 9, 100);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.AddDelSlices(77, 1700000000, recs); }).ok());
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.AddDelSlices(78, 1700000100, recs.substr(12)); }).ok());
  RawDb raw(path);
  CHECK(raw.Rows("SELECT chunkid, deleted, typeof(slices), hex(slices) FROM jfs_delslices "
                 "ORDER BY chunkid") ==
        std::vector<std::vector<std::string>>{
            {"77", "1700000000", "blob", "010203040506070800001000000000000000000900000064"},
            {"78", "1700000100", "blob", "000000000000000900000064"}});
  std::vector<DelSliceRecord> list;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.ListDelSlices(&list); }).ok());
  REQUIRE(list.size() == 2);
  CHECK(list[0].id == 77);
  CHECK(list[0].deleted == 1700000000);
  CHECK(list[0].slices == recs);
  std::vector<std::pair<uint64_t, uint32_t>> decoded;
  REQUIRE(DecodeDelayedSlices(list[0].slices, &decoded).ok());
  CHECK(decoded ==
        std::vector<std::pair<uint64_t, uint32_t>>{{0x0102030405060708ULL, 4096}, {9, 100}});
  CHECK(DecodeDelayedSlices("12345", &decoded).code() == EIO);
  std::string got;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetDelSlices(77, 1700000000, &got); }).ok());
  CHECK(got == recs);
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetDelSlices(77, 1, &got); }).code() == ENOENT);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.RemoveDelSlices(77, 1700000000); }).ok());
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.RemoveDelSlices(77, 1700000000); }).ok());  // gone: OK
  CHECK(raw.One("SELECT count(*) FROM jfs_delslices") == "1");
  CHECK(Read(*e, [&](Tx& tx) { return tx.AddDelSlices(79, 1, recs); }).code() == EINVAL);
}

TEST_CASE("Slice references hold real counts", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  int64_t refs = -100;
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.NewSliceRef(1000, 4096); }).ok());
  RawDb raw(path);
  CHECK(raw.Rows("SELECT chunkid, size, refs FROM jfs_chunk_ref") ==
        std::vector<std::vector<std::string>>{{"1000", "4096", "1"}});
  CHECK(Write(*e, [&](Tx& tx) { return tx.NewSliceRef(1000, 4096); }).code() == EEXIST);

  REQUIRE(Write(*e, [&](Tx& tx) { return tx.IncrSliceRef(1000, 4096, 2, &refs); }).ok());
  CHECK(refs == 3);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.IncrSliceRef(1000, 4096, -3, &refs); }).ok());
  CHECK(refs == 0);
  CHECK(raw.One("SELECT refs FROM jfs_chunk_ref WHERE chunkid=1000") == "0");
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.DeleteSliceRef(1000, 4096); }).ok());
  CHECK(raw.One("SELECT count(*) FROM jfs_chunk_ref") == "0");

  // A missing row counts as zero references.
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.IncrSliceRef(2000, 100, -1, &refs); }).ok());
  CHECK(refs == -1);
  CHECK(raw.One("SELECT count(*) FROM jfs_chunk_ref") == "0");
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.IncrSliceRef(2000, 100, 1, &refs); }).ok());
  CHECK(refs == 1);
  CHECK(raw.One("SELECT refs FROM jfs_chunk_ref WHERE chunkid=2000") == "1");
}

TEST_CASE("Counters allocate in next-free terms", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  uint64_t first = 0;
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.Alloc("nextInode", 1024, &first); }).ok());
  CHECK(first == 2);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.Alloc("nextInode", 1024, &first); }).ok());
  CHECK(first == 1026);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.Alloc("nextChunk", 4096, &first); }).ok());
  CHECK(first == 1);
  RawDb raw(path);
  CHECK(raw.One("SELECT value FROM jfs_counter WHERE name='nextInode'") == "2050");
  CHECK(raw.One("SELECT value FROM jfs_counter WHERE name='nextChunk'") == "4097");

  // A missing counter starts from its initial value.
  raw.Exec("DELETE FROM jfs_counter WHERE name IN ('nextInode', 'nextChunk')");
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.Alloc("nextInode", 10, &first); }).ok());
  CHECK(first == 2);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.Alloc("nextChunk", 10, &first); }).ok());
  CHECK(first == 1);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.Alloc("aclMaxId", 1, &first); }).ok());
  CHECK(first == 0);
  CHECK(raw.One("SELECT value FROM jfs_counter WHERE name='nextInode'") == "12");
  CHECK(Write(*e, [&](Tx& tx) { return tx.Alloc("nextInode", UINT64_MAX, &first); }).code() ==
        EINVAL);

  int64_t v = -1;
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.IncrCounter("usedSpace", 4096, &v); }).ok());
  CHECK(v == 4096);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.IncrCounter("usedSpace", -1000, &v); }).ok());
  CHECK(v == 3096);
  REQUIRE(Write(*e, [&](Tx& tx) { return tx.IncrCounter("lastCleanupFiles", 17, &v); }).ok());
  CHECK(v == 17);
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetCounter("usedSpace", &v); }).ok());
  CHECK(v == 3096);
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetCounter("noSuchCounter", &v); }).ok());
  CHECK(v == 0);
  // Reads inside the write transaction see its own writes.
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.IncrCounter("totalInodes", 5, nullptr));
            return tx.GetCounter("totalInodes", &v);
          }).ok());
  CHECK(v == 5);
}

TEST_CASE("A failed transaction leaves nothing behind", "[sql]") {
  TempDir dir;
  auto e = OpenEngine(dir.File("meta.db"));
  Attr a = SampleAttr();
  Status st = Write(*e, [&](Tx& tx) {
    JFS_RETURN_IF_ERROR(tx.PutAttr(7, a));
    JFS_RETURN_IF_ERROR(tx.PutEntry(1, "f", 7, kTypeFile));
    JFS_RETURN_IF_ERROR(tx.IncrCounter("totalInodes", 1, nullptr));
    return Status::Exists("simulated failure");
  });
  CHECK(st.code() == EEXIST);
  CHECK(st.message() == "simulated failure");

  st = Write(*e, [&](Tx& tx) -> Status {
    JFS_RETURN_IF_ERROR(tx.PutAttr(8, a));
    throw std::runtime_error("boom");
  });
  CHECK(st.code() == EIO);
  CHECK(st.message().find("boom") != std::string::npos);

  Attr got;
  Ino ino;
  uint8_t type;
  int64_t v = -1;
  REQUIRE(Read(*e, [&](Tx& tx) {
            CHECK(tx.GetAttr(7, &got).code() == ENOENT);
            CHECK(tx.GetAttr(8, &got).code() == ENOENT);
            CHECK(tx.GetEntry(1, "f", &ino, &type).code() == ENOENT);
            return tx.GetCounter("totalInodes", &v);
          }).ok());
  CHECK(v == 0);
}

TEST_CASE("Read-only transactions refuse writes", "[sql]") {
  TempDir dir;
  auto e = OpenEngine(dir.File("meta.db"));
  Status st = Read(*e, [&](Tx& tx) { return tx.PutSymlink(3, "x"); });
  CHECK(st.code() == EINVAL);
  uint64_t first;
  CHECK(Read(*e, [&](Tx& tx) { return tx.Alloc("nextInode", 1, &first); }).code() == EINVAL);
  std::string s;
  CHECK(Read(*e, [&](Tx& tx) { return tx.GetSymlink(3, &s); }).code() == ENOENT);
}

TEST_CASE("Retryable failures rerun the transaction from scratch", "[sql]") {
  TempDir dir;
  auto e = OpenEngine(dir.File("meta.db"));
  int calls = 0;
  Status st = Write(*e, [&](Tx& tx) -> Status {
    calls++;
    JFS_RETURN_IF_ERROR(tx.IncrCounter("totalInodes", 1, nullptr));
    if (calls < 4) return Status::Retryable(EIO, "simulated conflict");
    return Status::OK();
  });
  REQUIRE(st.ok());
  CHECK(calls == 4);
  int64_t v = 0;
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetCounter("totalInodes", &v); }).ok());
  CHECK(v == 1);  // the three rolled-back attempts left no trace

  calls = 0;
  st = Write(*e, [&](Tx&) {
    calls++;
    return Status::NotFound("not retried");
  });
  CHECK(st.code() == ENOENT);
  CHECK(calls == 1);

  // Bounded: a transaction that always conflicts gives up with a non-retryable EIO.
  TempDir dir2;
  sql::SqlEngineOptions opts;
  opts.max_attempts = 5;
  auto e2 = OpenSqlEngine(dir2.File("meta.db"), 5000, opts);
  calls = 0;
  st = e2->Txn([&](Tx&) {
    calls++;
    return Status::Retryable(EIO, "always");
  });
  CHECK(calls == 5);
  CHECK(st.code() == EIO);
  CHECK_FALSE(st.retryable());
  CHECK(st.message().find("gave up after 5 attempts") != std::string::npos);
  CHECK(st.message().find("always") != std::string::npos);
}

TEST_CASE("A lock held by another connection past busy_timeout is waited out", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e = OpenSqlEngine(path, /*busy_timeout_ms=*/20);
  RawDb holder(path);
  holder.Exec("BEGIN IMMEDIATE");
  holder.Exec("INSERT INTO jfs_counter VALUES('held', 1)");
  std::atomic<int> commit_rc{-1};
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    commit_rc = holder.ExecRc("COMMIT");
  });
  auto start = std::chrono::steady_clock::now();
  int calls = 0;
  Status st = e->Txn([&](Tx& tx) {
    calls++;
    return tx.IncrCounter("held", 1, nullptr);
  });
  auto waited = std::chrono::steady_clock::now() - start;
  release.join();
  CHECK(commit_rc == SQLITE_OK);
  INFO(st.ToString());
  REQUIRE(st.ok());
  CHECK(waited >= std::chrono::milliseconds(300));
  CHECK(calls == 1);  // BEGIN IMMEDIATE failed, not fn: it ran once, after the lock was free
  int64_t v = 0;
  REQUIRE(e->Txn([&](Tx& tx) { return tx.GetCounter("held", &v); }, true).ok());
  CHECK(v == 2);

  // Readers are not blocked by a writer (WAL).
  holder.Exec("BEGIN IMMEDIATE");
  REQUIRE(e->Txn([&](Tx& tx) { return tx.GetCounter("held", &v); }, true).ok());
  CHECK(v == 2);

  // ...and the wait is bounded.
  sql::SqlEngineOptions opts;
  opts.give_up_after = std::chrono::milliseconds(200);
  auto e3 = std::unique_ptr<SqlEngine>();
  {
    std::unique_ptr<sql::SqlDb> db;
    sql::SqliteOptions so;
    so.busy_timeout_ms = 20;
    REQUIRE(sql::OpenSqlite(path, so, &db).ok());
    REQUIRE(SqlEngine::Open(std::move(db), opts, &e3).ok());
  }
  st = e3->Txn([&](Tx& tx) { return tx.IncrCounter("held", 1, nullptr); });
  CHECK(st.code() == EIO);
  CHECK_FALSE(st.retryable());
  CHECK(st.message().find("gave up") != std::string::npos);
  holder.Exec("ROLLBACK");
  REQUIRE(e3->Txn([&](Tx& tx) { return tx.IncrCounter("held", 1, nullptr); }).ok());
}

TEST_CASE("Concurrent writers in threads and engines never see a busy database", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  auto e1 = OpenEngine(path);
  auto e2 = OpenEngine(path);
  constexpr int kThreads = 4, kTxns = 150;
  std::atomic<int> failures{0};
  std::string first_error;
  std::mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    Engine* e = t % 2 ? e2.get() : e1.get();
    threads.emplace_back([&, e, t] {
      for (int i = 0; i < kTxns; i++) {
        Status st = e->Txn([&](Tx& tx) {
          uint64_t ino = 0;
          JFS_RETURN_IF_ERROR(tx.Alloc("nextInode", 1, &ino));
          Attr a = SampleAttr();
          JFS_RETURN_IF_ERROR(tx.PutAttr(ino, a));
          JFS_RETURN_IF_ERROR(
              tx.PutEntry(1, "t" + std::to_string(t) + "_" + std::to_string(i), ino, kTypeFile));
          return tx.IncrCounter("totalInodes", 1, nullptr);
        });
        if (i % 10 == 0 && st.ok()) {  // interleave readers
          int64_t v;
          st = e->Txn([&](Tx& tx) { return tx.GetCounter("totalInodes", &v); }, true);
        }
        if (!st.ok()) {
          failures++;
          std::lock_guard<std::mutex> lock(mu);
          if (first_error.empty()) first_error = st.ToString();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  INFO(first_error);
  CHECK(failures == 0);
  int64_t total = 0, next = 0;
  REQUIRE(e1->Txn(
                [&](Tx& tx) {
                  JFS_RETURN_IF_ERROR(tx.GetCounter("totalInodes", &total));
                  return tx.GetCounter("nextInode", &next);
                },
                true)
              .ok());
  CHECK(total == kThreads * kTxns);
  CHECK(next == 2 + kThreads * kTxns);  // every Alloc got a distinct inode
  std::vector<Entry> entries;
  std::string cursor;
  REQUIRE(e2->Txn([&](Tx& tx) { return tx.ListEntries(1, &cursor, 100000, &entries); }, true).ok());
  CHECK(entries.size() == static_cast<size_t>(kThreads * kTxns));
}

TEST_CASE("A forked child process writes concurrently with its parent", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  OpenEngine(path);  // create the schema, then close
  constexpr int kTxns = 200;
  auto work = [&](Engine& e, const char* who) {
    for (int i = 0; i < kTxns; i++) {
      Status st = e.Txn([&](Tx& tx) {
        JFS_RETURN_IF_ERROR(tx.IncrCounter("totalInodes", 1, nullptr));
        return tx.PutEntry(1, std::string(who) + std::to_string(i), 100 + i, kTypeFile);
      });
      if (!st.ok()) return st;
    }
    return Status::OK();
  };
  fflush(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The child opens its own engine (connections never cross fork) and leaves without running
    // the parent's destructors or Catch2's reporting.
    std::unique_ptr<Engine> e;
    Status st = NewSQLiteEngine(path, &e);
    if (st.ok()) st = work(*e, "child");
    if (!st.ok()) fprintf(stderr, "child: %s\n", st.ToString().c_str());
    e.reset();
    _exit(st.ok() ? 0 : 1);
  }
  auto e = OpenEngine(path);
  Status st = work(*e, "parent");
  int wstatus = 0;
  REQUIRE(waitpid(pid, &wstatus, 0) == pid);
  INFO(st.ToString());
  CHECK(st.ok());
  CHECK(WIFEXITED(wstatus));
  CHECK(WEXITSTATUS(wstatus) == 0);
  int64_t total = 0;
  REQUIRE(e->Txn([&](Tx& tx) { return tx.GetCounter("totalInodes", &total); }, true).ok());
  CHECK(total == 2 * kTxns);
  Ino ino;
  uint8_t type;
  REQUIRE(e->Txn([&](Tx& tx) { return tx.GetEntry(1, "child199", &ino, &type); }, true).ok());
  CHECK(ino == 299);
}

TEST_CASE("Table prefix and in-memory databases", "[sql]") {
  TempDir dir;
  std::string path = dir.File("meta.db");
  sql::SqlEngineOptions opts;
  opts.table_prefix = "jfs_vol2_";
  auto e = OpenSqlEngine(path, 5000, opts);
  REQUIRE(e->Txn([&](Tx& tx) { return tx.PutSymlink(4, "t"); }).ok());
  RawDb raw(path);
  CHECK(raw.One("SELECT CAST(target AS TEXT) FROM jfs_vol2_symlink") == "t");
  CHECK(raw.One("SELECT count(*) FROM sqlite_master WHERE name='UQE_jfs_vol2_edge_edge'") == "1");
  CHECK(raw.One("SELECT count(*) FROM sqlite_master WHERE name='jfs_symlink'") == "0");

  opts.table_prefix = "bad prefix;";
  std::unique_ptr<sql::SqlDb> db;
  REQUIRE(sql::OpenSqlite(path, {}, &db).ok());
  std::unique_ptr<SqlEngine> bad;
  CHECK(SqlEngine::Open(std::move(db), opts, &bad).code() == EINVAL);

  std::unique_ptr<Engine> mem;
  REQUIRE(NewSQLiteEngine(":memory:", &mem).ok());
  REQUIRE(mem->InitSchema().ok());
  uint64_t first = 0;
  REQUIRE(mem->Txn([&](Tx& tx) { return tx.Alloc("nextInode", 1, &first); }).ok());
  REQUIRE(mem->Txn([&](Tx& tx) { return tx.Alloc("nextInode", 1, &first); }).ok());
  CHECK(first == 3);
}

TEST_CASE("Dialects render the engine's neutral SQL", "[sql]") {
  const sql::Dialect& lite = sql::SqliteDialect();
  CHECK(lite.Rewrite("SELECT a FROM t WHERE b=? AND c='?'") ==
        "SELECT a FROM t WHERE b=? AND c='?'");
  CHECK(lite.Upsert("jfs_edge", {"parent", "name", "inode", "type"}, {"parent", "name"},
                    {"inode", "type"}) ==
        "INSERT INTO jfs_edge(parent,name,inode,type) VALUES(?,?,?,?) ON CONFLICT(parent,name) "
        "DO UPDATE SET inode=excluded.inode,type=excluded.type");
  CHECK(lite.UpsertAppend("jfs_chunk", {"inode", "indx", "slices"}, {"inode", "indx"}, "slices") ==
        "INSERT INTO jfs_chunk(inode,indx,slices) VALUES(?,?,?) ON CONFLICT(inode,indx) DO "
        "UPDATE SET slices=CAST(jfs_chunk.slices || excluded.slices AS BLOB)");
  CHECK(lite.InsertIgnore("jfs_sustained", {"sid", "inode"}, {"sid", "inode"}) ==
        "INSERT INTO jfs_sustained(sid,inode) VALUES(?,?) ON CONFLICT(sid,inode) DO NOTHING");

  // What a PostgreSQL and a MySQL dialect would produce from the same calls.
  sql::Dialect pg = lite;
  pg.placeholders = sql::PlaceholderStyle::kDollar;
  pg.concat_yields_text = false;
  CHECK(pg.Rewrite("UPDATE t SET v=v+? WHERE n=? AND s='a?b'") ==
        "UPDATE t SET v=v+$1 WHERE n=$2 AND s='a?b'");
  CHECK(pg.Rewrite(pg.UpsertAppend("jfs_chunk", {"inode", "indx", "slices"}, {"inode", "indx"},
                                   "slices")) ==
        "INSERT INTO jfs_chunk(inode,indx,slices) VALUES($1,$2,$3) ON CONFLICT(inode,indx) DO "
        "UPDATE SET slices=jfs_chunk.slices || excluded.slices");
  sql::Dialect my = lite;
  my.upsert = sql::UpsertStyle::kOnDuplicateKey;
  CHECK(my.Upsert("jfs_symlink", {"inode", "target"}, {"inode"}, {"target"}) ==
        "INSERT INTO jfs_symlink(inode,target) VALUES(?,?) ON DUPLICATE KEY UPDATE "
        "target=VALUES(target)");
  CHECK(my.UpsertAppend("jfs_chunk", {"inode", "indx", "slices"}, {"inode", "indx"}, "slices") ==
        "INSERT INTO jfs_chunk(inode,indx,slices) VALUES(?,?,?) ON DUPLICATE KEY UPDATE "
        "slices=concat(slices,VALUES(slices))");
  CHECK(my.InsertIgnore("jfs_sustained", {"sid", "inode"}, {"sid", "inode"}) ==
        "INSERT IGNORE INTO jfs_sustained(sid,inode) VALUES(?,?)");
}

TEST_CASE("One pooled connection serves concurrent readers and writers", "[sql]") {
  // ":memory:" has a single connection: readers and writers must queue, never deadlock.
  std::unique_ptr<Engine> e;
  REQUIRE(NewSQLiteEngine(":memory:", &e).ok());
  REQUIRE(e->InitSchema().ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; i++) {
        int64_t v = 0;
        Status st = t % 2 ? e->Txn([&](Tx& tx) { return tx.IncrCounter("totalInodes", 1, &v); })
                          : e->Txn([&](Tx& tx) { return tx.GetCounter("totalInodes", &v); }, true);
        if (!st.ok()) failures++;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  int64_t v = 0;
  REQUIRE(e->Txn([&](Tx& tx) { return tx.GetCounter("totalInodes", &v); }, true).ok());
  CHECK(v == 200);
}

TEST_CASE("Prefetched rows and the transaction's own writes agree", "[sql]") {
  TempDir dir;
  auto e = OpenEngine(dir.File("meta.db"));
  Attr d = SampleAttr(), f = SampleAttr();
  d.typ = kTypeDirectory;
  f.mode = 0644;
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.PutAttr(1, d));
            JFS_RETURN_IF_ERROR(tx.PutAttr(10, f));
            JFS_RETURN_IF_ERROR(tx.PutEntry(1, "f", 10, kTypeFile));
            return tx.PutEntry(1, "dangling", 99, kTypeFile);
          }).ok());
  // A mode beyond 12 bits and a nanosecond count past a second read back as the columns keep
  // them, whether the read is answered from the transaction's cache or from the database.
  Attr odd = SampleAttr();
  odd.mode = 0100644;
  odd.mtimensec = 1500000000;
  Attr in_txn, in_db;
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.Prefetch(1, "f"));
            JFS_RETURN_IF_ERROR(tx.Prefetch(1, "g"));
            Attr a;
            JFS_RETURN_IF_ERROR(tx.GetAttr(1, &a));
            CHECK(a == d);
            Ino ino = 0;
            uint8_t type = 0;
            JFS_RETURN_IF_ERROR(tx.GetEntry(1, "f", &ino, &type));
            CHECK(ino == 10);
            CHECK(type == kTypeFile);
            CHECK(tx.GetEntry(1, "g", &ino, &type).code() == ENOENT);
            JFS_RETURN_IF_ERROR(tx.DeleteEntry(1, "f"));
            CHECK(tx.GetEntry(1, "f", &ino, &type).code() == ENOENT);
            JFS_RETURN_IF_ERROR(tx.PutEntry(1, "g", 11, kTypeDirectory));
            JFS_RETURN_IF_ERROR(tx.GetEntry(1, "g", &ino, &type));
            CHECK(ino == 11);
            CHECK(type == kTypeDirectory);
            JFS_RETURN_IF_ERROR(tx.DeleteAttr(10));
            CHECK(tx.GetAttr(10, &a).code() == ENOENT);
            JFS_RETURN_IF_ERROR(tx.PutAttr(11, odd));
            return tx.GetAttr(11, &in_txn);
          }).ok());
  REQUIRE(Read(*e, [&](Tx& tx) { return tx.GetAttr(11, &in_db); }).ok());
  CHECK(in_txn == in_db);
  CHECK(in_db.mode == 0644);

  // LookupPlus: a present child, a dangling entry, a missing name, a missing parent.
  REQUIRE(Read(*e, [&](Tx& tx) {
            Attr pa, ca;
            bool entry = false, child = false;
            Ino ino = 0;
            uint8_t type = 0;
            JFS_RETURN_IF_ERROR(tx.LookupPlus(1, "g", &pa, &entry, &ino, &type, &child, &ca));
            CHECK(pa == d);
            CHECK((entry && child && ino == 11 && type == kTypeDirectory && ca == in_db));
            JFS_RETURN_IF_ERROR(
                tx.LookupPlus(1, "dangling", &pa, &entry, &ino, &type, &child, &ca));
            CHECK((entry && !child && ino == 99));
            JFS_RETURN_IF_ERROR(tx.LookupPlus(1, "f", &pa, &entry, &ino, &type, &child, &ca));
            CHECK(!entry);
            CHECK(tx.LookupPlus(5, "f", &pa, &entry, &ino, &type, &child, &ca).code() == ENOENT);
            return Status::OK();
          }).ok());
}

TEST_CASE("ReadSingle reruns a body that reads more than once", "[sql]") {
  TempDir dir;
  auto e = OpenEngine(dir.File("meta.db"));
  Attr a = SampleAttr(), b = SampleAttr();
  b.uid = 7;
  REQUIRE(Write(*e, [&](Tx& tx) {
            JFS_RETURN_IF_ERROR(tx.PutAttr(2, a));
            return tx.PutAttr(3, b);
          }).ok());
  int calls = 0;
  Attr x;
  REQUIRE(e->ReadSingle([&](Tx& tx) {
             ++calls;
             return tx.GetAttr(2, &x);
           }).ok());
  CHECK(calls == 1);
  CHECK(x == a);
  // The second read is refused in the single-statement attempt; a body that swallows that error
  // still ends with the right answer, from the full transaction that follows.
  calls = 0;
  bool second = false;
  Attr y;
  REQUIRE(e->ReadSingle([&](Tx& tx) {
             ++calls;
             JFS_RETURN_IF_ERROR(tx.GetAttr(2, &x));
             second = tx.GetAttr(3, &y).ok();
             return Status::OK();
           }).ok());
  CHECK(calls == 2);
  CHECK(second);
  CHECK(y == b);
  CHECK(e->ReadSingle([&](Tx& tx) { return tx.GetAttr(4, &x); }).code() == ENOENT);
  CHECK(e->ReadSingle([&](Tx& tx) { return tx.PutAttr(4, a); }).code() == EINVAL);
}

TEST_CASE("The WAL is checkpointed in the background while the database is open", "[sql]") {
  TempDir dir;
  const std::string path = dir.File("meta.db");
  auto e = OpenEngine(path);
  const auto initial = std::filesystem::file_size(path);
  // Each transaction appends at least one page to the WAL: well past the 1000 pages that start a
  // checkpoint, well short of the 8000 at which a committer would checkpoint itself.
  for (Ino ino = 2; ino < 2000; ino++) {
    Attr a = SampleAttr();
    a.length = ino;
    REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutAttr(ino, a); }).ok());
  }
  // Checkpointed pages land in the database file, which then grows past its schema-only size.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::filesystem::file_size(path) <= initial &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(std::filesystem::file_size(path) > initial);
  Attr got;
  REQUIRE(e->ReadSingle([&](Tx& tx) { return tx.GetAttr(1999, &got); }).ok());
  CHECK(got.length == 1999);

  // One checkpoint per 1000 pages or so, not one per commit: a writer following the last one
  // closely finds the WAL still holding pages (its predecessor's checkpoint is running), so the
  // WAL keeps its length, and waking the thread whenever it was past 1000 pages checkpointed after
  // every commit (two fsyncs each).
  const uint64_t before = sql::GlobalSqlCounters().checkpoints.load();
  for (Ino ino = 2; ino < 3000; ino++) {
    Attr a = SampleAttr();
    a.length = ino + 1;
    REQUIRE(Write(*e, [&](Tx& tx) { return tx.PutAttr(ino, a); }).ok());
  }
  const uint64_t ran = sql::GlobalSqlCounters().checkpoints.load() - before;
  INFO(ran << " checkpoints for 2998 commits");
  CHECK(ran >= 1);
  CHECK(ran <= 30);
}
