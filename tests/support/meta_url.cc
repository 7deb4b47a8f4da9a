#include "tests/support/meta_url.h"

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
  *url = WithTablePrefix(base, tag);
  return ResetDatabase(*url, error);
}

}  // namespace jfs::testing
