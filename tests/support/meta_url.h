// The META-URL a test formats its volume on, for the engine under test.
//
// Tests that run against every metadata engine (the model test, the two-process test, ...) are
// registered once per engine in meson with JFS_TEST_ENGINE set ("sqlite3" when unset). The servers
// are started by scripts/test.sh (scripts/servers.d/) and reached through their JFS_TEST_* URLs; a
// missing variable is a failure, never a skip.
#pragma once

#include <string>

namespace jfs::testing {

// The engine under test: $JFS_TEST_ENGINE, or "sqlite3".
std::string TestEngine();

// `url` with the JuiceFS option table_prefix=`prefix` appended to its query string.
std::string WithTablePrefix(const std::string& url, const std::string& prefix);

// Writes to *url a META-URL of an empty database for the engine under test, distinct for every
// `tag` (a short [a-z0-9_] name unique among the test programs that may run at the same time), and
// removes whatever an earlier run left there. `dir` is the test's scratch directory (SQLite puts
// its file there). Returns false with *error set when the engine is unknown, its server variable
// is unset or the database cannot be reset.
bool FreshMetaUrl(const std::string& dir, const std::string& tag, std::string* url,
                  std::string* error);

}  // namespace jfs::testing
