// The SQL metadata engine: meta::Engine over the JuiceFS SQL schema (format.md §3), written once
// for every SQL database through the driver seam (driver.h). Table and column layout, counter and
// refcount semantics are exactly JuiceFS's, so a volume can be shared with the Go client.
//
// Storage conventions (format.md §2.5, §3.2):
//   * jfs_node times: atime/mtime/ctime hold microseconds, atimensec/... the extra 0–999 ns;
//     mode holds the 12 permission bits, type the file type.
//   * Counters hold the *next free* value (nextInode starts at 2, nextChunk at 1).
//   * jfs_chunk_ref.refs is the real reference count.
//   * Hard-link parents are derived from jfs_edge (AdjustParent is a no-op).
//   * ListEntries orders by name bytes; the cursor is the last returned name.
//
// Thread-safety: Txn may be called from any number of threads. Txn is not reentrant: fn must not
// start another transaction on the same engine.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "meta/engine.h"
#include "meta/sql/driver.h"
#include "util/status.h"

namespace jfs::meta::sql {

struct SqlEngineOptions {
  // "jfs_" or "jfs_{table_prefix}_" (JuiceFS's ?table_prefix= URL option).
  std::string table_prefix = "jfs_";
  // A transaction failing with a retryable error is rerun until it succeeds, this many attempts
  // were made, or this much time has passed; then Txn returns EIO.
  int max_attempts = 50;
  std::chrono::milliseconds give_up_after{60000};
};

class SqlEngine final : public Engine {
 public:
  static Status Open(std::unique_ptr<SqlDb> db, SqlEngineOptions options,
                     std::unique_ptr<SqlEngine>* out);
  ~SqlEngine() override;

  std::string Name() const override;
  Status InitSchema() override;
  Status Reset() override;
  Status Txn(const std::function<Status(Tx&)>& fn, bool read_only = false) override;
  // One statement without BEGIN / COMMIT (SqlConn::BeginSingleRead); a body that reads more is
  // rerun in a full read-only transaction.
  Status ReadSingle(const std::function<Status(Tx&)>& fn) override;

  const std::string& table_prefix() const { return options_.table_prefix; }
  SqlDb& db() { return *db_; }

  struct Statements;  // the engine's SQL, rendered once for the dialect (sql_engine.cc)

 private:
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // Use Open.
  SqlEngine(PrivateTag, std::unique_ptr<SqlDb> db, SqlEngineOptions options);

 private:
  using ConnWork = FunctionRef<Status(SqlConn*)>;
  // One attempt: lease a connection, begin (BeginSingleRead when `single`), run `work`, commit;
  // roll back on any failure.
  Status RunOnce(ConnWork work, bool read_only, bool single = false);
  // RunOnce until it succeeds, fails for good, or the attempt / time budget is spent.
  Status Retry(ConnWork work, bool read_only, bool single = false);

  std::unique_ptr<SqlDb> db_;
  SqlEngineOptions options_;
  std::unique_ptr<const Statements> sql_;
};

// The SQL engine over a server database: `open` (OpenPostgres, OpenMySQL) connects to `url` and
// says which table prefix the URL asks for.
using ServerOpener = Status (*)(const std::string& url, std::unique_ptr<SqlDb>* db,
                                std::string* table_prefix);
Status NewServerSqlEngine(ServerOpener open, const std::string& url, std::unique_ptr<Engine>* out);

}  // namespace jfs::meta::sql
