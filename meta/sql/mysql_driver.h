// MySQL / MariaDB driver for the SQL engine: the MySQL C API (MariaDB Connector/C) and the MySQL
// dialect.
//
// META-URL (JuiceFS's form): mysql://[user[:password]@](host[:port])/db[?table_prefix=NAME]; also
// mysql://user:password@tcp(host:port)/db, mysql://user:password@unix(/path/to/socket)/db and
// mysql://user:password@host:port/db. META_PASSWORD supplies the password when the URL has none.
//
// Sessions run at REPEATABLE READ (like JuiceFS) with autocommit off, so a transaction starts with
// its first statement and needs no BEGIN round trip; reads of write transactions lock their rows
// (FOR UPDATE), and deadlocks / lock wait timeouts come back retryable. Every statement is a
// server-side prepared statement cached per connection. The COMMIT of a read-only transaction is
// sent without waiting; its reply is read when the connection is used next.
#pragma once

#include <memory>
#include <string>

#include "meta/engine.h"
#include "meta/sql/driver.h"
#include "util/status.h"

namespace jfs::meta::sql {

const Dialect& MySQLDialect();

// Connects to the database of `url`. A missing database → ENOENT, a rejected password → EACCES, an
// unreachable server → EIO. *table_prefix receives the engine table prefix.
Status OpenMySQL(const std::string& url, std::unique_ptr<SqlDb>* out, std::string* table_prefix);

}  // namespace jfs::meta::sql

namespace jfs::meta {

// The SQL engine over MySQL / MariaDB for a mysql:// META-URL.
Status NewMySQLEngine(const std::string& url, std::unique_ptr<Engine>* out);

}  // namespace jfs::meta
