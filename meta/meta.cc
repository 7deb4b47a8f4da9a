// NewMeta: META-URL → Engine → BaseMeta.
#include <memory>
#include <string>

#include "meta/base.h"
#include "meta/engine.h"
#include "meta/mem_engine.h"
#include "meta/meta.h"
#include "meta/sql/mysql_driver.h"
#include "meta/sql/postgres_driver.h"

namespace jfs::meta {

namespace {

constexpr const char* kSupported =
    "supported: sqlite3://PATH, redis://[user:password@]host[:port][/db], "
    "unix:///path/redis.sock?db=N, postgres://USER:PASS@HOST:PORT/DB, "
    "mysql://USER:PASS@(HOST:PORT)/DB";

Status Unsupported(const std::string& url) {
  return Status::Invalid("unsupported meta URL '" + url + "' (" + kSupported + ")");
}

}  // namespace

Status NewMeta(const std::string& url, std::unique_ptr<Meta>* out, bool create_if_missing) {
  std::unique_ptr<Engine> engine;
  JFS_RETURN_IF_ERROR(NewEngine(url, &engine, create_if_missing));
  *out = std::make_unique<BaseMeta>(std::move(engine));
  return Status::OK();
}

Status NewEngine(const std::string& url, std::unique_ptr<Engine>* out, bool create_if_missing) {
  const size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) return Unsupported(url);
  const std::string scheme = url.substr(0, sep);
  std::unique_ptr<Engine> engine;
  if (scheme == "redis" || scheme == "rediss" || scheme == "unix") {
    // Nothing is created by opening: Redis keys appear only when the volume is formatted.
    return NewRedisEngine(url, out);
  }
  // Query parameters (e.g. "?_journal=WAL") are accepted and, for now, ignored.
  std::string rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find('?'));

  if (scheme == "sqlite3") {
    // "sqlite3:///abs/x.db" leaves "/abs/x.db"; "sqlite3://rel.db" leaves the relative "rel.db".
    if (rest.empty()) {
      return Status::Invalid("meta URL '" + url + "' has no database path (" + kSupported + ")");
    }
    JFS_RETURN_IF_ERROR(NewSQLiteEngine(rest, &engine, create_if_missing));
  } else if (scheme == "postgres" || scheme == "postgresql") {
    // The whole URL: libpq reads host, port, database and TLS options from it.
    JFS_RETURN_IF_ERROR(NewPostgresEngine(url, &engine));
  } else if (scheme == "mysql") {
    JFS_RETURN_IF_ERROR(NewMySQLEngine(url, &engine));
  } else if (scheme == "mem") {
    // A private in-memory database (for tests); anything after "mem://" is ignored.
    engine = std::make_unique<MemEngine>();
  } else {
    return Unsupported(url);
  }
  *out = std::move(engine);
  return Status::OK();
}

}  // namespace jfs::meta
