// PostgreSQL driver for the SQL engine: libpq connections and the PostgreSQL dialect.
//
// META-URL: postgres://[user[:password]@]host[:port]/db[?options] (also postgresql://). Options
// other than table_prefix are passed to libpq unchanged (sslmode=disable|require|verify-full,
// sslrootcert=, host=/socket/dir, connect_timeout=, ...). META_PASSWORD supplies the password
// when the URL has none.
//
// Round trips: every connection runs in libpq pipeline mode. BEGIN travels with a transaction's
// first statement; statements whose results nobody reads (plain INSERT/UPDATE/DELETE) are queued
// and sent with the next statement that returns rows or with COMMIT; the COMMIT of a read-only
// transaction is not waited for (its result is collected when the connection is next used). A
// failed queued statement aborts the transaction, and its error is returned by the next call that
// waits, so the transaction still fails as a whole.
//
// Transactions run at REPEATABLE READ (read-only ones READ ONLY); serialization failures and
// deadlocks come back retryable, so the engine reruns the transaction.
#pragma once

#include <memory>
#include <string>

#include "meta/engine.h"
#include "meta/sql/driver.h"
#include "util/status.h"

namespace jfs::meta::sql {

const Dialect& PostgresDialect();

// Connects to the database of `url` (a META-URL as above). A missing database → ENOENT, a rejected
// password → EACCES, an unreachable server → EIO; all name the server. *table_prefix receives the
// engine table prefix ("jfs_" or "jfs_{table_prefix}_").
Status OpenPostgres(const std::string& url, std::unique_ptr<SqlDb>* out, std::string* table_prefix);

}  // namespace jfs::meta::sql

namespace jfs::meta {

// The SQL engine over PostgreSQL for a postgres:// META-URL.
Status NewPostgresEngine(const std::string& url, std::unique_ptr<Engine>* out);

}  // namespace jfs::meta
