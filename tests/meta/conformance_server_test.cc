// The Meta conformance suite over the server SQL engines (PostgreSQL, MySQL/MariaDB), reached the
// way users reach them: NewMeta("postgres://..." / "mysql://..."). The engine comes from
// JFS_TEST_ENGINE (meson registers this program once per engine); every database of the suite is
// a fresh table prefix in the server's test database (tests/support/meta_url.h).
#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "meta/meta.h"
#include "tests/meta/conformance.h"
#include "tests/support/meta_url.h"

namespace jfs::meta {
namespace {

TEST_CASE("BaseMeta over a server SQL database passes the Meta conformance suite", "[meta][sql]") {
  const std::string engine = jfs::testing::TestEngine();
  INFO("engine " << engine);
  REQUIRE((engine == "postgres" || engine == "mysql"));
  int n = 0;
  std::string url;  // of the database new_database made last
  testing::MetaBackend backend;
  backend.new_database = [&]() -> std::unique_ptr<Meta> {
    std::string error;
    bool ok = jfs::testing::FreshMetaUrl("", "conf" + std::to_string(++n), &url, &error);
    INFO(error);
    REQUIRE(ok);
    std::unique_ptr<Meta> m;
    Status st = NewMeta(url, &m, /*create_if_missing=*/true);
    INFO(url << ": " << st.ToString());
    REQUIRE(st.ok());
    CHECK(m->Name() == engine);
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

}  // namespace
}  // namespace jfs::meta
