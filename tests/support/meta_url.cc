#include "tests/support/meta_url.h"

#include <cstdint>
#include <cstdlib>
#include <memory>

#include "meta/meta.h"

namespace jfs::testing {

namespace {

// Deletes everything a previous run left in the database behind `url`.
bool ResetDatabase(const std::string& url, std::string* error) {
  std::unique_ptr<meta::Meta> m;
  Status st = meta::NewMeta(url, &m, /*create_if_missing=*/true);
  if (st.ok()) st = m->Reset();
  if (!st.ok()) *error = url + ": " + st.ToString();
  return st.ok();
}

}  // namespace

std::string WithTablePrefix(const std::string& url, const std::string& prefix) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "table_prefix=" + prefix;
}

std::string TestEngine() {
  const char* e = std::getenv("JFS_TEST_ENGINE");
  return e && *e ? e : "sqlite3";
}

bool FreshMetaUrl(const std::string& dir, const std::string& tag, std::string* url,
                  std::string* error) {
  const std::string engine = TestEngine();
  if (engine == "sqlite3") {
    *url = "sqlite3://" + dir + "/" + tag + ".db";
    return true;
  }
  if (engine == "redis" || engine == "redis-cluster") {
    // Standalone: one database number per tag (the test server has 64). Cluster: databases do
    // not exist, but the number becomes the "{N}" hash tag every key carries, so distinct numbers
    // are distinct volumes there too. Known tags get fixed numbers; others hash into 10..49
    // (50..63 belong to the tests in tests/meta/redis_*, 60 to bench/redis_meta).
    const char* var = engine == "redis" ? "JFS_TEST_REDIS_URL" : "JFS_TEST_REDIS_CLUSTER_URL";
    const char* base = std::getenv(var);
    if (!base || !*base) {
      *error = std::string(var) + " is not set (start the servers with scripts/servers.sh)";
      return false;
    }
    int db = 0;
    if (tag == "model") {
      db = 1;
    } else if (tag == "multiproc") {
      db = 2;
    } else {
      uint32_t h = 2166136261u;
      for (unsigned char c : tag) h = (h ^ c) * 16777619u;
      db = 10 + static_cast<int>(h % 40);
    }
    *url = std::string(base) + "/" + std::to_string(db);
    return ResetDatabase(*url, error);
  }
  // Server engines: one shared database, a table prefix per tag.
  const char* var = engine == "postgres" ? "JFS_TEST_PG_URL"
                    : engine == "mysql"  ? "JFS_TEST_MYSQL_URL"
                                         : nullptr;
  if (!var) {
    *error = "unknown JFS_TEST_ENGINE '" + engine + "'";
    return false;
  }
  const char* base = std::getenv(var);
  if (!base || !*base) {
    *error = std::string(var) + " is not set (start the server with scripts/servers.sh)";
    return false;
  }
  // JFS_TEST_TABLE_PREFIX (optional) keeps concurrent runs against one server apart.
  const char* own = std::getenv("JFS_TEST_TABLE_PREFIX");
  *url = WithTablePrefix(base, std::string(own ? own : "") + tag);
  return ResetDatabase(*url, error);
}

}  // namespace jfs::testing
