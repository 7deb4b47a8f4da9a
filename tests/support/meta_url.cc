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
  *error = "unknown JFS_TEST_ENGINE '" + engine + "'";
  (void)ResetDatabase;
  return false;
}

}  // namespace jfs::testing
