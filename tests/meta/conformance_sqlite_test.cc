// The Meta conformance suite over SQLite, reached the way users reach it: NewMeta("sqlite3://...").
#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "meta/meta.h"
#include "tests/meta/conformance.h"
#include "tests/object/temp_dir.h"

namespace jfs::meta {
namespace {

TEST_CASE("BaseMeta over SQLite passes the Meta conformance suite", "[meta][sqlite]") {
  jfs::testing::TempDir dir;
  int n = 0;
  std::string url;  // of the database new_database made last
  testing::MetaBackend backend;
  backend.new_database = [&]() -> std::unique_ptr<Meta> {
    url = "sqlite3://" + dir.path() + "/db" + std::to_string(++n) + ".db";
    std::unique_ptr<Meta> m;
    Status st = NewMeta(url, &m, /*create_if_missing=*/true);
    INFO(url << ": " << st.ToString());
    REQUIRE(st.ok());
    return m;
  };
  backend.another_client = [&]() -> std::unique_ptr<Meta> {
    std::unique_ptr<Meta> m;
    Status st = NewMeta(url, &m);
    INFO(url << ": " << st.ToString());
    REQUIRE(st.ok());
    return m;
  };
  testing::RunMetaConformance(backend);
}

TEST_CASE("NewMeta parses META-URLs", "[meta]") {
  jfs::testing::TempDir dir;
  std::unique_ptr<Meta> m;
  Context root;

  SECTION("sqlite3 with an absolute path and ignored query parameters") {
    const std::string path = dir.path() + "/vol.db";
    REQUIRE(NewMeta("sqlite3://" + path + "?_journal=WAL&cache=shared", &m, true).ok());
    REQUIRE(m);
    CHECK(m->Name() == "sqlite3");
    Format f;
    f.name = "url";
    f.uuid = "7e0d2a52-0000-4000-8000-00000000000a";
    REQUIRE(m->Init(f, false).ok());
    // The same file through a second URL form sees the volume.
    std::unique_ptr<Meta> again;
    REQUIRE(NewMeta("sqlite3://" + path, &again).ok());
    Format loaded;
    REQUIRE(again->Load(&loaded).ok());
    CHECK(loaded.name == "url");
  }
  SECTION("an unformatted database says so; a missing one is not created") {
    const std::string missing = dir.path() + "/missing.db";
    CHECK(NewMeta("sqlite3://" + missing, &m).code() == ENOENT);
    CHECK_FALSE(std::filesystem::exists(missing));
    REQUIRE(NewMeta("sqlite3://" + dir.path() + "/empty.db", &m, true).ok());
    Format f;
    Status st = m->Load(&f);
    CHECK(st.code() == ENOENT);
    CHECK(st.message().find("not formatted") != std::string::npos);
  }
  SECTION("mem:// is a private in-memory database") {
    REQUIRE(NewMeta("mem://", &m).ok());
    Format f;
    f.name = "m";
    f.uuid = "7e0d2a52-0000-4000-8000-00000000000b";
    REQUIRE(m->Init(f, false).ok());
    Ino ino = 0;
    CHECK(m->Mkdir(root, kRootIno, "d", 0755, 0, &ino, nullptr).ok());
    std::unique_ptr<Meta> other;
    REQUIRE(NewMeta("mem://", &other).ok());
    CHECK(other->Load(&f).code() == ENOENT);
  }
  SECTION("bad URLs are EINVAL and name the supported schemes") {
    for (const std::string& bad :
         {std::string(), std::string("garbage"), std::string("://x"), std::string("sqlite3://"),
          std::string("sqlite3://?x=1"), std::string("redis:/localhost:6379/1"),
          std::string("SQLITE3:///tmp/x.db"), std::string("/tmp/x.db")}) {
      INFO("url: '" << bad << "'");
      m.reset();
      Status st = NewMeta(bad, &m);
      CHECK(st.code() == EINVAL);
      CHECK(st.message().find("sqlite3://") != std::string::npos);
      CHECK_FALSE(m);
    }
  }
  SECTION("a missing directory is reported") {
    Status st = NewMeta("sqlite3://" + dir.path() + "/no/such/dir/x.db", &m, true);
    CHECK_FALSE(st.ok());
    CHECK(st.code() != EINVAL);
  }
}

}  // namespace
}  // namespace jfs::meta
