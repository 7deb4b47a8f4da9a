#include "meta/sql/postgres_driver.h"

#include <libpq-fe.h>

#include <cstring>
#include <deque>
#include <functional>
#include <unordered_map>
#include <vector>

#include "meta/sql/server_url.h"
#include "meta/sql/sql_engine.h"

namespace jfs::meta::sql {

namespace {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct ResultClearer {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;
using ResultPtr = std::unique_ptr<PGresult, ResultClearer>;

// Deferred statements queued before the pipeline is synced anyway.
constexpr size_t kMaxQueued = 256;
constexpr size_t kMaxCachedStatements = 512;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Maps a failed statement to the driver error contract (driver.h) by SQLSTATE.
Status StatusFromResult(const PGresult* res, std::string_view what) {
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  std::string code = state ? state : "";
  std::string msg = "postgres: " + std::string(what) + ": " + Trim(PQresultErrorMessage(res));
  if (code == "40001" || code == "40P01" || code == "55P03") return Status::Retryable(EIO, msg);
  if (code == "23505") return Status::Exists(msg);
  if (code == "53100") return Status::Error(ENOSPC, msg);
  if (code == "53200") return Status::Error(ENOMEM, msg);
  if (code == "25006") return Status::Error(EROFS, msg);
  if (code == "42501" || code.rfind("28", 0) == 0) return Status::Error(EACCES, msg);
  if (code == "3D000") return Status::NotFound(msg);
  // Connection failures and server shutdown: the transaction did not happen; retry elsewhere.
  if (code.rfind("08", 0) == 0 || code == "57P01" || code == "57P02" || code == "57P03") {
    return Status::Retryable(EIO, msg);
  }
  return Status::IOError(msg);
}

int64_t ReadBigEndian(const char* p, int len) {
  uint64_t v = 0;
  for (int i = 0; i < len; i++) v = (v << 8) | static_cast<uint8_t>(p[i]);
  switch (len) {
    case 1:
      return static_cast<int8_t>(v);
    case 2:
      return static_cast<int16_t>(v);
    case 4:
      return static_cast<int32_t>(v);
    default:
      return static_cast<int64_t>(v);
  }
}

// A row of a binary-format result: integers arrive big-endian in their column's width.
class PgRow final : public Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  bool IsNull(int col) const override { return PQgetisnull(r_, row_, col); }
  int64_t Int(int col) const override {
    if (PQgetisnull(r_, row_, col)) return 0;
    int len = PQgetlength(r_, row_, col);
    if (len != 1 && len != 2 && len != 4 && len != 8) return 0;
    return ReadBigEndian(PQgetvalue(r_, row_, col), len);
  }
  std::string_view Bytes(int col) const override {
    if (PQgetisnull(r_, row_, col)) return {};
    return {PQgetvalue(r_, row_, col), static_cast<size_t>(PQgetlength(r_, row_, col))};
  }

 private:
  const PGresult* r_;
  int row_;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class PgConn final : public SqlConn {
 public:
  explicit PgConn(ConnPtr conn) : conn_(std::move(conn)) {}

  Status Exec(std::string_view sql) override {
    // Multi-statement text needs the simple protocol, which pipeline mode does not allow.
    JFS_RETURN_IF_ERROR(SendBegin());
    JFS_RETURN_IF_ERROR(Flush());
    if (!PQexitPipelineMode(conn_.get())) return ConnError("leave pipeline mode");
    std::string text(sql);
    ResultPtr res(PQexec(conn_.get(), text.c_str()));
    Status st;
    ExecStatusType s = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (!res) {
      st = ConnError(AbbrevSql(sql));
    } else if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
      st = StatusFromResult(res.get(), AbbrevSql(sql));
    }
    if (!PQenterPipelineMode(conn_.get())) return ConnError("enter pipeline mode");
    CheckConnection(&st);
    return st;
  }

  Status Query(std::string_view sql, std::span<const Param> params, RowFn on_row,
               int64_t* changes) override {
    JFS_RETURN_IF_ERROR(Send(sql, params, on_row, changes));
    // A statement nobody reads the result of travels with the next one that is read.
    if (!on_row && !changes && state_ == State::kInTxn && queue_.size() < kMaxQueued) {
      return Status::OK();
    }
    return Flush();
  }

  Status QueryBatch(std::span<const BatchStmt> stmts) override {
    for (const BatchStmt& b : stmts) JFS_RETURN_IF_ERROR(Send(b.sql, b.params, b.on_row, nullptr));
    return Flush();
  }

  Status ListColumns(std::string_view table, std::vector<std::string>* cols) override {
    cols->clear();
    auto add = [&](const Row& r) {
      cols->emplace_back(r.Bytes(0));
      return Status::OK();
    };
    Param p[] = {Param::Text(table)};
    return Query(
        "SELECT column_name::text FROM information_schema.columns WHERE "
        "table_schema=current_schema() AND table_name=$1",
        p, add, nullptr);
  }

  Status Begin(bool write) override {
    JFS_RETURN_IF_ERROR(EndPrevious());
    state_ = State::kBeginPending;
    begin_sql_ = write ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
                       : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    read_only_ = !write;
    return Status::OK();
  }

  Status BeginSingleRead() override {
    JFS_RETURN_IF_ERROR(EndPrevious());
    state_ = State::kSingle;  // no BEGIN: the statement runs in its own implicit transaction
    read_only_ = true;
    return Status::OK();
  }

  Status Commit() override {
    if (state_ != State::kInTxn) {
      state_ = State::kIdle;  // nothing was sent: nothing to commit
      return Status::OK();
    }
    state_ = State::kIdle;
    if (!Send("COMMIT")) return ConnError("COMMIT");
    if (read_only_) {
      // Nothing to lose: the result is collected when the connection is used next.
      if (!PQpipelineSync(conn_.get())) return ConnError("COMMIT");
      synced_ = true;
      return Status::OK();
    }
    Status st = Flush();
    if (!st.ok() && st.retryable() && broken_) {
      // The connection died with the COMMIT in flight: it may or may not have happened.
      return Status::IOError(st.message() + " (connection lost during COMMIT; outcome unknown)");
    }
    // A deferred statement that failed made the server skip the COMMIT queued behind it: the
    // transaction is still open, aborted. The engine's Rollback must end it (as in MySQL's driver).
    if (!st.ok()) state_ = State::kInTxn;
    return st;
  }

  Status Rollback() override {
    if (state_ != State::kInTxn) {
      state_ = State::kIdle;
      return Status::OK();
    }
    state_ = State::kIdle;
    if (!Send("ROLLBACK")) return ConnError("ROLLBACK");
    Status st = Flush();  // errors of statements queued before are moot now
    // A connection whose transaction state is unknown must not be reused.
    if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) broken_ = true;
    return broken_ ? st : Status::OK();
  }

  bool Broken() const override { return broken_; }

 private:
  // kSingle: a single-statement read (BeginSingleRead), run without BEGIN.
  enum class State { kIdle, kBeginPending, kInTxn, kSingle };
  struct Pending {
    enum Kind { kPrepare, kCommand } kind;
    std::string sql;  // for kPrepare: the statement text (dropped from the cache on failure)
    RowFn on_row;
    int64_t* changes;
  };

  // Queues one statement (and BEGIN before the transaction's first one) without waiting.
  Status Send(std::string_view sql, std::span<const Param> params, RowFn on_row, int64_t* changes) {
    JFS_RETURN_IF_ERROR(SendBegin());
    std::string name;
    JFS_RETURN_IF_ERROR(Prepare(sql, params.size(), &name));
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size()), formats(params.size());
    std::vector<std::string> text(params.size());  // NUL-terminated text-format values
    for (size_t i = 0; i < params.size(); i++) {
      const Param& p = params[i];
      switch (p.kind()) {
        case Param::Kind::kNull:
          values[i] = nullptr;
          break;
        case Param::Kind::kInt:
          text[i] = std::to_string(p.int_value());
          values[i] = text[i].c_str();
          break;
        case Param::Kind::kText:
          text[i].assign(p.bytes());
          values[i] = text[i].c_str();
          break;
        case Param::Kind::kBlob:
          values[i] = p.bytes().empty() ? "" : p.bytes().data();
          lengths[i] = static_cast<int>(p.bytes().size());
          formats[i] = 1;
          break;
      }
    }
    if (!PQsendQueryPrepared(conn_.get(), name.c_str(), static_cast<int>(params.size()),
                             values.data(), lengths.data(), formats.data(), /*binary=*/1)) {
      return ConnError(AbbrevSql(sql));
    }
    queue_.push_back({Pending::kCommand, std::string(sql), on_row, changes});
    GlobalSqlCounters().statements++;
    TraceSql("pg send", sql);
    return Status::OK();
  }

  bool Send(const char* sql) {
    if (!PQsendQueryParams(conn_.get(), sql, 0, nullptr, nullptr, nullptr, nullptr, 1)) {
      return false;
    }
    queue_.push_back({Pending::kCommand, sql, {}, nullptr});
    GlobalSqlCounters().statements++;
    TraceSql("pg send", sql);
    return true;
  }

  // Collects the results of the previous transaction's read-only COMMIT, then makes sure no
  // transaction block is left open: in one left aborted, every later statement fails with
  // "current transaction is aborted". Ends such a block with ROLLBACK, or gives the connection up.
  Status EndPrevious() {
    Status st = Flush();
    if (!st.ok() && broken_) return st;
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return Status::OK();
    if (!Send("ROLLBACK")) return ConnError("ROLLBACK");
    st = Flush();
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE) return Status::OK();
    broken_ = true;
    return Status::Retryable(EIO, "postgres: a transaction left open could not be ended" +
                                      (st.ok() ? std::string() : ": " + st.message()));
  }

  // BEGIN goes out with the transaction's first statement, sparing it a round trip.
  Status SendBegin() {
    if (state_ != State::kBeginPending) return Status::OK();
    if (!Send(begin_sql_.c_str())) return ConnError("BEGIN");
    state_ = State::kInTxn;
    return Status::OK();
  }

  Status Prepare(std::string_view sql, size_t nparams, std::string* name) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      *name = it->second;
      return Status::OK();
    }
    if (cache_.size() >= kMaxCachedStatements) {
      // Forget (and deallocate, in the pipeline) every statement; none is in flight after Flush.
      JFS_RETURN_IF_ERROR(Flush());
      cache_.clear();
      if (!Send("DEALLOCATE ALL")) return ConnError("DEALLOCATE");
    }
    *name = "jfs" + std::to_string(++next_stmt_);
    if (!PQsendPrepare(conn_.get(), name->c_str(), std::string(sql).c_str(),
                       static_cast<int>(nparams), nullptr)) {
      return ConnError(AbbrevSql(sql));
    }
    cache_.emplace(std::string(sql), *name);
    queue_.push_back({Pending::kPrepare, std::string(sql), {}, nullptr});
    return Status::OK();
  }

  // Sends a sync point (unless one is out already) and reads the results of every queued
  // statement. Returns the first failure; every queued result is consumed either way.
  Status Flush() {
    if (queue_.empty() && !synced_) return Status::OK();
    if (!synced_ && !PQpipelineSync(conn_.get())) return ConnError("sync");
    synced_ = false;
    GlobalSqlCounters().round_trips++;
    TraceSql("pg", "sync, wait");
    Status first;
    while (!queue_.empty()) {
      Pending p = std::move(queue_.front());
      queue_.pop_front();
      // Rows somebody reads arrive one result each: a page of a large directory then never sits
      // in memory whole, and its allocations are reused row after row instead of growing (and
      // page-faulting) a fresh heap area per query, which cost more than the server's work.
      if (p.on_row && first.ok()) PQsetSingleRowMode(conn_.get());
      ResultPtr res(PQgetResult(conn_.get()));
      if (!res) {
        queue_.clear();
        return ConnError(AbbrevSql(p.sql));
      }
      ExecStatusType s = PQresultStatus(res.get());
      while (s == PGRES_SINGLE_TUPLE) {
        if (first.ok()) first = p.on_row(PgRow(res.get(), 0));
        res.reset(PQgetResult(conn_.get()));
        if (!res) {
          queue_.clear();
          return ConnError(AbbrevSql(p.sql));
        }
        s = PQresultStatus(res.get());
      }
      if (s == PGRES_TUPLES_OK) {
        if (p.on_row && first.ok()) {
          const int n = PQntuples(res.get());
          for (int i = 0; i < n && first.ok(); i++) first = p.on_row(PgRow(res.get(), i));
        }
      } else if (s == PGRES_COMMAND_OK) {
        if (p.changes) *p.changes = std::strtoll(PQcmdTuples(res.get()), nullptr, 10);
      } else {
        if (p.kind == Pending::kPrepare) cache_.erase(p.sql);
        if (s != PGRES_PIPELINE_ABORTED && first.ok()) {
          first = StatusFromResult(res.get(), AbbrevSql(p.sql));
        }
      }
      // Each statement's results end with a null result.
      while (ResultPtr more{PQgetResult(conn_.get())}) {
      }
    }
    ResultPtr sync(PQgetResult(conn_.get()));
    if (!sync || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
      broken_ = true;
      if (first.ok()) first = ConnError("sync");
    }
    CheckConnection(&first);
    return first;
  }

  void CheckConnection(Status* st) {
    if (PQstatus(conn_.get()) == CONNECTION_OK) return;
    broken_ = true;
    if (st->ok() || !st->retryable()) {
      *st =
          Status::Retryable(EIO, "postgres: connection lost: " + Trim(PQerrorMessage(conn_.get())));
    }
  }

  Status ConnError(std::string_view what) {
    broken_ = true;
    queue_.clear();
    return Status::Retryable(
        EIO, "postgres: " + std::string(what) + ": " + Trim(PQerrorMessage(conn_.get())));
  }

  ConnPtr conn_;
  std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> cache_;
  std::deque<Pending> queue_;
  uint64_t next_stmt_ = 0;
  State state_ = State::kIdle;
  std::string begin_sql_;
  bool read_only_ = false;
  bool synced_ = false;  // a sync point was sent and its results are not read yet
  bool broken_ = false;
};

struct ConnectInfo {
  std::string uri;       // for libpq, without JuiceFS's own options
  std::string password;  // from META_PASSWORD when the URI has none
  std::string display;   // the URL without the password, for messages
};

Status Connect(const ConnectInfo& info, std::unique_ptr<SqlConn>* out) {
  std::vector<const char*> keys = {"dbname"}, values = {info.uri.c_str()};
  if (!info.password.empty()) {
    keys.push_back("password");
    values.push_back(info.password.c_str());
  }
  keys.push_back("connect_timeout");
  values.push_back("10");
  keys.push_back(nullptr);
  values.push_back(nullptr);
  ConnPtr conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  if (!conn) return Status::Error(ENOMEM, "postgres: out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string err = Trim(PQerrorMessage(conn.get()));
    std::string msg = "postgres: cannot connect to " + info.display + ": " + err;
    if (err.find("password authentication failed") != std::string::npos ||
        err.find("no password supplied") != std::string::npos ||
        err.find("authentication failed") != std::string::npos) {
      return Status::Error(EACCES, msg);
    }
    if (err.find("does not exist") != std::string::npos) return Status::NotFound(msg);
    return Status::IOError(msg);
  }
  PQsetNoticeProcessor(
      conn.get(), [](void*, const char*) {}, nullptr);
  // Every ordered query here (a directory page, chunk and xattr lists) has an index in its ORDER
  // BY order, but with few rows or stale statistics the planner prefers a bitmap or hash scan
  // plus a sort, which for bytea names costs far more than walking the index. Sorting stays
  // possible (the setting only makes it look expensive).
  {
    ResultPtr res(PQexec(conn.get(), "SET enable_sort = off"));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return Status::IOError("postgres: session setup: " + Trim(PQerrorMessage(conn.get())));
    }
  }
  if (!PQenterPipelineMode(conn.get())) {
    return Status::IOError("postgres: cannot enter pipeline mode: " +
                           Trim(PQerrorMessage(conn.get())));
  }
  *out = std::make_unique<PgConn>(std::move(conn));
  return Status::OK();
}

// "postgres://user:secret@host/db" → "postgres://user:****@host/db".
std::string HidePassword(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos) return url;
  size_t colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon + 1) + "****" + url.substr(at);
}

bool HasPassword(const std::string& url) {
  return HidePassword(url) != url;
}

}  // namespace

const Dialect& PostgresDialect() {
  static const Dialect kDialect = [] {
    Dialect d;
    d.name = "postgres";
    d.placeholders = PlaceholderStyle::kDollar;
    d.upsert = UpsertStyle::kOnConflict;
    d.quote = '"';
    d.autoincrement = "";  // BIGSERIAL / SERIAL imply it
    d.for_update = true;
    d.returning = true;
    d.indices_agg = "string_agg(CAST(k.indx AS TEXT)||';','')";
    d.index_if_not_exists = true;
    d.concat_yields_text = false;
    d.explicit_serial_keeps_sequence = true;
    d.table_exists =
        "SELECT 1 FROM information_schema.tables WHERE table_schema=current_schema() AND "
        "table_name=?";
    // xorm's PostgreSQL types.
    d.types = {"BIGINT", "INTEGER",      "SMALLINT", "BYTEA",     "BYTEA",
               "BYTEA",  "VARCHAR(255)", "TEXT",     "BIGSERIAL", "SERIAL"};
    return d;
  }();
  return kDialect;
}

Status OpenPostgres(const std::string& url, std::unique_ptr<SqlDb>* out,
                    std::string* table_prefix) {
  ConnectInfo info;
  info.uri = url;
  JFS_RETURN_IF_ERROR(TakeTablePrefix(&info.uri, table_prefix));
  if (info.uri.rfind("postgres://", 0) != 0 && info.uri.rfind("postgresql://", 0) != 0) {
    return Status::Invalid("postgres: META-URL must start with postgres://");
  }
  if (!HasPassword(info.uri)) info.password = EnvPassword();
  info.display = HidePassword(info.uri);
  {
    // libpq rejects a malformed URI before connecting; report it as bad input.
    char* err = nullptr;
    PQconninfoOption* opts = PQconninfoParse(info.uri.c_str(), &err);
    if (!opts) {
      std::string msg = err ? Trim(err) : "cannot parse";
      PQfreemem(err);
      return Status::Invalid("postgres: bad META-URL " + info.display + ": " + msg);
    }
    PQconninfoFree(opts);
  }
  SqlDb::Options pool;
  pool.max_conns = 16;
  pool.serialize_writers = false;
  return OpenServerPool(
      PostgresDialect(), [info](std::unique_ptr<SqlConn>* conn) { return Connect(info, conn); },
      pool, out);
}

}  // namespace jfs::meta::sql

namespace jfs::meta {

Status NewPostgresEngine(const std::string& url, std::unique_ptr<Engine>* out) {
  return sql::NewServerSqlEngine(sql::OpenPostgres, url, out);
}

}  // namespace jfs::meta
