// SQLite driver for the SQL engine: libsqlite3 connections, the SQLite dialect, and the pool
// policy SQLite needs (one writer at a time).
//
// Every connection runs with journal_mode=WAL (readers never block the writer), synchronous=NORMAL,
// busy_timeout and foreign_keys=OFF, like JuiceFS's own SQLite client. Write transactions are
// serialized inside the process and start with BEGIN IMMEDIATE, so across processes SQLite's write
// lock queues them; a lock that outlasts busy_timeout comes back as a retryable Status, which the
// engine retries until its deadline. Callers never see "database is locked" before that.
//
// fork(): connections must not be used in a child process; a child opens its own database.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "meta/sql/driver.h"
#include "util/status.h"

namespace jfs::meta::sql {

struct SqliteOptions {
  int busy_timeout_ms = 5000;
  size_t max_conns = 8;  // concurrent transactions; ":memory:" always uses one connection
  bool create = true;    // create the file when missing; otherwise a missing file → ENOENT
};

const Dialect& SqliteDialect();

// Opens the database file `path` (creating it when missing and options.create). A plain path whose
// directory does not exist → ENOENT; a file that is not an SQLite database → EIO "... not a
// database". `path` may also be a "file:" URI or ":memory:" (a private in-memory database, for
// tests).
Status OpenSqlite(const std::string& path, const SqliteOptions& options,
                  std::unique_ptr<SqlDb>* out);

}  // namespace jfs::meta::sql
