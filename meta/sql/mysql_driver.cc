#include "meta/sql/mysql_driver.h"

#include <mysql.h>

#include <cstring>
#include <functional>
#include <unordered_map>
#include <vector>

#include "meta/sql/server_url.h"
#include "meta/sql/sql_engine.h"

namespace jfs::meta::sql {

namespace {

struct MysqlCloser {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct StmtCloser {
  void operator()(MYSQL_STMT* s) const { mysql_stmt_close(s); }
};
struct ResFreer {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};
using MysqlPtr = std::unique_ptr<MYSQL, MysqlCloser>;
using StmtPtr = std::unique_ptr<MYSQL_STMT, StmtCloser>;
using ResPtr = std::unique_ptr<MYSQL_RES, ResFreer>;

constexpr size_t kMaxCachedStatements = 512;
constexpr size_t kMaxBatch = 1 << 20;  // bytes of batched statements sent before COMMIT anyway

// MySQL / MariaDB error numbers (mysqld_error.h, errmsg.h).
constexpr unsigned kDupKeyName = 1061;
constexpr unsigned kDupEntry = 1062;
constexpr unsigned kAccessDenied = 1045;
constexpr unsigned kBadDb = 1049;
constexpr unsigned kTableFull = 1114;
constexpr unsigned kLockWaitTimeout = 1205;
constexpr unsigned kLockDeadlock = 1213;
constexpr unsigned kCheckRead = 1020;  // "record has changed since last read"
constexpr unsigned kReadOnly = 1290;
constexpr unsigned kReadOnlyTx = 1792;
constexpr unsigned kServerShutdown = 1053;

// Client errors (2000–2999) mean the connection is gone or unusable.
bool IsConnectionError(unsigned err) {
  return (err >= 2000 && err < 3000) || err == kServerShutdown || err == 1927 /*conn killed*/;
}

Status MysqlStatus(unsigned err, std::string_view what, const char* detail) {
  std::string msg = "mysql: " + std::string(what) + ": " + (detail ? detail : "") + " (" +
                    std::to_string(err) + ")";
  switch (err) {
    case kLockDeadlock:
    case kLockWaitTimeout:
    case kCheckRead:
      return Status::Retryable(EIO, msg);
    case kDupEntry:
      return Status::Exists(msg);
    case kTableFull:
      return Status::Error(ENOSPC, msg);
    case kReadOnly:
    case kReadOnlyTx:
      return Status::Error(EROFS, msg);
    case kAccessDenied:
      return Status::Error(EACCES, msg);
    case kBadDb:
      return Status::NotFound(msg);
    default:
      if (IsConnectionError(err)) return Status::Retryable(EIO, msg);
      return Status::IOError(msg);
  }
}

bool IsIntegerField(enum_field_types t) {
  switch (t) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
      return true;
    default:
      return false;
  }
}

// Output buffers of one statement's result, bound once per execution.
class MysqlRow final : public Row {
 public:
  bool IsNull(int col) const override { return nulls_[col]; }
  int64_t Int(int col) const override { return nulls_[col] ? 0 : ints_[col]; }
  std::string_view Bytes(int col) const override {
    if (nulls_[col] || is_int_[col]) return {};
    return {bufs_[col].data(), std::min<size_t>(lengths_[col], bufs_[col].size())};
  }

  // After mysql_stmt_fetch returned MYSQL_DATA_TRUNCATED: fetches every value longer than its
  // buffer again into a buffer grown to fit (kept for the rows after). False on failure.
  bool Refetch(MYSQL_STMT* s) {
    for (size_t i = 0; i < binds_.size(); i++) {
      if (!errors_[i] || is_int_[i] || nulls_[i]) continue;
      bufs_[i].resize(lengths_[i] + 1);
      MYSQL_BIND b = binds_[i];
      b.buffer = bufs_[i].data();
      b.buffer_length = bufs_[i].size();
      if (mysql_stmt_fetch_column(s, &b, static_cast<unsigned>(i), 0) != 0) return false;
      rebind_ = true;
    }
    return true;
  }

  // Points the bound buffers at grown ones before the next fetch.
  bool RebindIfGrown(MYSQL_STMT* s) {
    if (!rebind_) return true;
    rebind_ = false;
    for (size_t i = 0; i < binds_.size(); i++) {
      if (is_int_[i]) continue;
      binds_[i].buffer = bufs_[i].data();
      binds_[i].buffer_length = bufs_[i].size();
    }
    return mysql_stmt_bind_result(s, binds_.data()) == 0;
  }

  // Binds result columns of `s`. Rows are fetched unbuffered, so lengths are not known ahead:
  // byte columns start with room for a name (VARBINARY(255)) and grow on truncation (Refetch).
  bool Bind(MYSQL_STMT* s, MYSQL_RES* meta) {
    const unsigned n = mysql_num_fields(meta);
    MYSQL_FIELD* fields = mysql_fetch_fields(meta);
    binds_.assign(n, MYSQL_BIND{});
    ints_.assign(n, 0);
    lengths_.assign(n, 0);
    nulls_.assign(n, 0);
    errors_.assign(n, 0);
    is_int_.assign(n, false);
    bufs_.assign(n, {});
    for (unsigned i = 0; i < n; i++) {
      MYSQL_BIND& b = binds_[i];
      b.is_null = &nulls_[i];
      b.length = &lengths_[i];
      b.error = &errors_[i];
      if (IsIntegerField(fields[i].type)) {
        is_int_[i] = true;
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &ints_[i];
      } else {
        bufs_[i].resize(256);
        b.buffer_type = MYSQL_TYPE_BLOB;
        b.buffer = bufs_[i].data();
        b.buffer_length = bufs_[i].size();
      }
    }
    return mysql_stmt_bind_result(s, binds_.data()) == 0;
  }

 private:
  std::vector<MYSQL_BIND> binds_;
  std::vector<long long> ints_;
  std::vector<unsigned long> lengths_;
  std::vector<my_bool> nulls_, errors_;
  std::vector<bool> is_int_;
  std::vector<std::vector<char>> bufs_;
  bool rebind_ = false;
};

// A row of a text-protocol result (multi-statement batches): values arrive as strings.
class TextRow final : public Row {
 public:
  TextRow(MYSQL_ROW row, const unsigned long* lengths) : row_(row), lengths_(lengths) {}
  bool IsNull(int col) const override { return row_[col] == nullptr; }
  int64_t Int(int col) const override {
    return row_[col] ? std::strtoll(row_[col], nullptr, 10) : 0;
  }
  std::string_view Bytes(int col) const override {
    if (!row_[col]) return {};
    return {row_[col], lengths_[col]};
  }

 private:
  MYSQL_ROW row_;
  const unsigned long* lengths_;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Frees a statement's result set however a run ends, so the connection can take the next command.
class StmtRun {
 public:
  explicit StmtRun(MYSQL_STMT* s) : s_(s) {}
  ~StmtRun() { mysql_stmt_free_result(s_); }
  StmtRun(const StmtRun&) = delete;
  StmtRun& operator=(const StmtRun&) = delete;

 private:
  MYSQL_STMT* s_;
};

class MysqlConn final : public SqlConn {
 public:
  explicit MysqlConn(MysqlPtr m) : m_(std::move(m)) {}
  ~MysqlConn() override {
    cache_.clear();  // statements close before the connection
  }

  Status Exec(std::string_view sql) override {
    JFS_RETURN_IF_ERROR(ReadPendingCommit());
    EnsureBegun();
    JFS_RETURN_IF_ERROR(FlushBatch());
    if (mysql_real_query(m_.get(), sql.data(), sql.size()) != 0) {
      unsigned err = mysql_errno(m_.get());
      // MySQL 8 has no CREATE INDEX IF NOT EXISTS: an existing index is what was asked for.
      if (err == kDupKeyName) return Status::OK();
      return Fail(err, sql, mysql_error(m_.get()));
    }
    // Consume every result of a multi-statement text.
    for (;;) {
      ResPtr res(mysql_store_result(m_.get()));
      int next = mysql_next_result(m_.get());
      if (next > 0) return Fail(mysql_errno(m_.get()), sql, mysql_error(m_.get()));
      if (next < 0) break;
    }
    return Status::OK();
  }

  Status Query(std::string_view sql, std::span<const Param> params, RowFn on_row,
               int64_t* changes) override {
    JFS_RETURN_IF_ERROR(ReadPendingCommit());
    EnsureBegun();
    if (!read_only_ && !on_row && !changes) {
      // A write whose result nobody reads travels with the next statement that is read, or with
      // COMMIT, in one multi-statement request.
      return AddToBatch(sql, params);
    }
    if (!batch_.empty() && on_row && !changes) {
      // The batched writes and this read in one request.
      const BatchStmt one[] = {{sql, params, on_row}};
      return QueryBatch(one);
    }
    JFS_RETURN_IF_ERROR(FlushBatch());
    MYSQL_STMT* s = nullptr;
    JFS_RETURN_IF_ERROR(Prepare(sql, &s));
    if (mysql_stmt_param_count(s) != params.size()) {
      return Status::Invalid("mysql: wrong number of parameters for: " + AbbrevSql(sql));
    }
    std::vector<MYSQL_BIND> binds(params.size(), MYSQL_BIND{});
    std::vector<long long> ints(params.size());
    std::vector<unsigned long> lens(params.size());
    static char kEmpty[] = "";
    for (size_t i = 0; i < params.size(); i++) {
      const Param& p = params[i];
      MYSQL_BIND& b = binds[i];
      switch (p.kind()) {
        case Param::Kind::kNull:
          b.buffer_type = MYSQL_TYPE_NULL;
          break;
        case Param::Kind::kInt:
          ints[i] = p.int_value();
          b.buffer_type = MYSQL_TYPE_LONGLONG;
          b.buffer = &ints[i];
          break;
        case Param::Kind::kBlob:
        case Param::Kind::kText:
          lens[i] = p.bytes().size();
          b.buffer_type = p.kind() == Param::Kind::kBlob ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
          b.buffer = p.bytes().empty() ? kEmpty : const_cast<char*>(p.bytes().data());
          b.buffer_length = lens[i];
          b.length = &lens[i];
          break;
      }
    }
    if (!params.empty() && mysql_stmt_bind_param(s, binds.data()) != 0) return StmtFail(s, sql);
    GlobalSqlCounters().statements++;
    GlobalSqlCounters().round_trips++;
    TraceSql("mysql execute, wait", sql);
    if (mysql_stmt_execute(s) != 0) return StmtFail(s, sql);
    StmtRun run(s);
    if (changes) *changes = static_cast<int64_t>(mysql_stmt_affected_rows(s));
    ResPtr meta(mysql_stmt_result_metadata(s));
    if (!meta) return Status::OK();
    // Rows are read as they arrive rather than stored first (mysql_stmt_store_result): a large
    // directory page then never sits in client memory twice, whose fresh allocations (page
    // faults) cost more than the rows themselves. StmtRun discards what on_row does not read.
    if (!on_row) return Status::OK();
    MysqlRow row;
    if (!row.Bind(s, meta.get())) return StmtFail(s, sql);
    for (;;) {
      if (!row.RebindIfGrown(s)) return StmtFail(s, sql);
      int rc = mysql_stmt_fetch(s);
      if (rc == MYSQL_NO_DATA) break;
      if (rc == 1) return StmtFail(s, sql);
      if (rc == MYSQL_DATA_TRUNCATED && !row.Refetch(s)) return StmtFail(s, sql);
      JFS_RETURN_IF_ERROR(on_row(row));
    }
    return Status::OK();
  }

  // One multi-statement request: the batched writes, then every statement with its parameters
  // inlined; the result sets come back in order.
  Status QueryBatch(std::span<const BatchStmt> stmts) override {
    JFS_RETURN_IF_ERROR(ReadPendingCommit());
    EnsureBegun();
    if (batch_.empty() && stmts.size() == 1) {
      // Nothing to send along (a single-statement read, e.g. a lookup): the prepared statement
      // costs the server no parsing, and its binary rows the client no number parsing.
      return Query(stmts[0].sql, stmts[0].params, stmts[0].on_row, nullptr);
    }
    begin_in_batch_ = false;
    std::string text = std::move(batch_);
    const size_t skip = batch_count_;
    batch_.clear();
    batch_count_ = 0;
    for (const BatchStmt& b : stmts) JFS_RETURN_IF_ERROR(Inline(b.sql, b.params, &text));
    if (text.empty()) return Status::OK();
    text.pop_back();  // the last ';'
    GlobalSqlCounters().statements += skip + stmts.size();
    GlobalSqlCounters().round_trips++;
    TraceSql("mysql query, wait", text);
    if (mysql_real_query(m_.get(), text.data(), text.size()) != 0) {
      return Fail(mysql_errno(m_.get()), text, mysql_error(m_.get()));
    }
    Status first;
    for (size_t i = 0;; i++) {
      ResPtr res(mysql_store_result(m_.get()));
      if (res && i >= skip && i - skip < stmts.size() && first.ok()) {
        const BatchStmt& b = stmts[i - skip];
        while (MYSQL_ROW row = mysql_fetch_row(res.get())) {
          if (!b.on_row) break;
          first = b.on_row(TextRow(row, mysql_fetch_lengths(res.get())));
          if (!first.ok()) break;
        }
      }
      int next = mysql_next_result(m_.get());
      if (next > 0) return Fail(mysql_errno(m_.get()), text, mysql_error(m_.get()));
      if (next < 0) break;
    }
    return first;
  }

  Status ListColumns(std::string_view table, std::vector<std::string>* cols) override {
    cols->clear();
    auto add = [&](const Row& r) {
      cols->emplace_back(r.Bytes(0));
      return Status::OK();
    };
    Param p[] = {Param::Text(table)};
    return Query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema=DATABASE() AND "
        "table_name=?",
        p, add, nullptr);
  }

  // The session runs in autocommit mode, so that a single-statement read needs no COMMIT (one
  // autocommitted SELECT reads one consistent snapshot, and InnoDB runs it as a cheap read-only
  // transaction). A transaction starts with an explicit START TRANSACTION, sent in the same
  // request as its first statement (EnsureBegun).
  Status Begin(bool write) override {
    JFS_RETURN_IF_ERROR(ReadPendingCommit());
    // A transaction the caller left open (a failed COMMIT not rolled back) must not live on into
    // this one: START TRANSACTION would commit it, a lone read would see its writes.
    JFS_RETURN_IF_ERROR(Rollback());  // also clears the batch and the transaction state
    read_only_ = !write;
    begin_pending_ = true;
    return Status::OK();
  }

  Status BeginSingleRead() override {
    JFS_RETURN_IF_ERROR(ReadPendingCommit());
    JFS_RETURN_IF_ERROR(Rollback());  // as in Begin; begin_pending_ stays false: it autocommits
    read_only_ = true;
    return Status::OK();
  }

  // On failure the transaction stays open (in_txn_), so the engine's Rollback undoes whatever
  // part of a batch did run.
  Status Commit() override {
    begin_pending_ = false;
    if (!in_txn_) return Status::OK();
    if (begin_in_batch_ && batch_count_ == 1) {
      // Only the START TRANSACTION is queued: nothing ran, nothing to commit.
      batch_.clear();
      batch_count_ = 0;
      begin_in_batch_ = false;
      in_txn_ = false;
      return Status::OK();
    }
    if (read_only_) {
      in_txn_ = false;
      // A read-only transaction has nothing to lose: its COMMIT's reply is read later.
      GlobalSqlCounters().statements++;
      TraceSql("mysql send", "COMMIT");
      if (mysql_send_query(m_.get(), "COMMIT", 6) != 0) {
        return Fail(mysql_errno(m_.get()), "COMMIT", mysql_error(m_.get()));
      }
      commit_pending_ = true;
      return Status::OK();
    }
    Status st;
    if (!batch_.empty()) {
      batch_ += "COMMIT";
      batch_count_++;
      st = FlushBatch();
    } else if (GlobalSqlCounters().statements++, GlobalSqlCounters().round_trips++,
               TraceSql("mysql commit, wait", "COMMIT"), mysql_commit(m_.get()) != 0) {
      st = Fail(mysql_errno(m_.get()), "COMMIT", mysql_error(m_.get()));
    }
    if (st.ok()) {
      in_txn_ = false;
    } else if (broken_) {
      return Status::IOError(st.message() + " (connection lost during COMMIT; outcome unknown)");
    }
    return st;
  }

  Status Rollback() override {
    const bool sent = !begin_in_batch_;  // the START TRANSACTION went out
    batch_.clear();                      // never sent
    batch_count_ = 0;
    begin_pending_ = false;
    begin_in_batch_ = false;
    if (!in_txn_ || !sent) {
      in_txn_ = false;
      return Status::OK();
    }
    in_txn_ = false;
    if (mysql_rollback(m_.get()) != 0) {
      broken_ = true;
      return MysqlStatus(mysql_errno(m_.get()), "ROLLBACK", mysql_error(m_.get()));
    }
    return Status::OK();
  }

  bool Broken() const override { return broken_; }

 private:
  // Queues START TRANSACTION ahead of the transaction's first statement, so that it travels in the
  // same request (a prepared statement finds the batch non-empty and goes with it, or sends it
  // first).
  void EnsureBegun() {
    if (!begin_pending_) return;
    begin_pending_ = false;
    batch_ += read_only_ ? "START TRANSACTION READ ONLY;" : "START TRANSACTION;";
    batch_count_++;
    begin_in_batch_ = true;
    in_txn_ = true;
  }

  // Appends `sql` with its parameters inlined as literals: integers in decimal, byte strings in
  // hex (X'..', with a utf8mb4 introducer for text), so no value needs escaping.
  Status AddToBatch(std::string_view sql, std::span<const Param> params) {
    JFS_RETURN_IF_ERROR(Inline(sql, params, &batch_));
    batch_count_++;
    if (batch_.size() > kMaxBatch) return FlushBatch();
    return Status::OK();
  }

  // Appends `sql;` to *out with the parameters inlined; *out is unchanged on failure.
  Status Inline(std::string_view sql, std::span<const Param> params, std::string* out) {
    std::string& o = *out;
    const size_t start = o.size();
    static const char kHex[] = "0123456789abcdef";
    size_t next = 0;
    for (char c : sql) {
      if (c != '?') {
        o += c;
        continue;
      }
      if (next >= params.size()) {
        o.resize(start);
        return Status::Invalid("mysql: wrong number of parameters for: " + AbbrevSql(sql));
      }
      const Param& p = params[next++];
      switch (p.kind()) {
        case Param::Kind::kNull:
          o += "NULL";
          break;
        case Param::Kind::kInt:
          o += std::to_string(p.int_value());
          break;
        case Param::Kind::kBlob:
        case Param::Kind::kText:
          if (p.bytes().empty()) {
            o += p.kind() == Param::Kind::kText ? "''" : "_binary''";
            break;
          }
          if (p.kind() == Param::Kind::kText) o += "_utf8mb4 ";
          o += "X'";
          for (unsigned char b : p.bytes()) {
            o += kHex[b >> 4];
            o += kHex[b & 15];
          }
          o += '\'';
          break;
      }
    }
    if (next != params.size()) {
      o.resize(start);
      return Status::Invalid("mysql: wrong number of parameters for: " + AbbrevSql(sql));
    }
    o += ';';
    return Status::OK();
  }

  // Runs the batched statements; returns the first failure (later statements then did not run).
  Status FlushBatch() {
    if (batch_.empty()) return Status::OK();
    std::string text = std::move(batch_);
    begin_in_batch_ = false;
    GlobalSqlCounters().statements += batch_count_;
    GlobalSqlCounters().round_trips++;
    TraceSql("mysql query, wait", text);
    batch_.clear();
    batch_count_ = 0;
    if (text.back() == ';') text.pop_back();
    if (mysql_real_query(m_.get(), text.data(), text.size()) != 0) {
      return Fail(mysql_errno(m_.get()), text, mysql_error(m_.get()));
    }
    for (;;) {
      ResPtr res(mysql_store_result(m_.get()));
      int next = mysql_next_result(m_.get());
      if (next > 0) return Fail(mysql_errno(m_.get()), text, mysql_error(m_.get()));
      if (next < 0) break;
    }
    return Status::OK();
  }

  Status ReadPendingCommit() {
    if (!commit_pending_) return Status::OK();
    commit_pending_ = false;
    if (mysql_read_query_result(m_.get()) != 0) {
      return Fail(mysql_errno(m_.get()), "COMMIT", mysql_error(m_.get()));
    }
    return Status::OK();
  }

  Status Fail(unsigned err, std::string_view sql, const char* detail) {
    if (IsConnectionError(err)) broken_ = true;
    return MysqlStatus(err, AbbrevSql(sql), detail);
  }

  Status StmtFail(MYSQL_STMT* s, std::string_view sql) {
    unsigned err = mysql_stmt_errno(s);
    Status st = Fail(err, sql, mysql_stmt_error(s));
    if (IsConnectionError(err)) cache_.clear();
    return st;
  }

  Status Prepare(std::string_view sql, MYSQL_STMT** out) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      *out = it->second.get();
      return Status::OK();
    }
    if (cache_.size() >= kMaxCachedStatements) cache_.clear();
    StmtPtr stmt(mysql_stmt_init(m_.get()));
    if (!stmt) return Status::Error(ENOMEM, "mysql: cannot allocate a statement");
    if (mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()) != 0) {
      return StmtFail(stmt.get(), sql);
    }
    *out = stmt.get();
    cache_.emplace(std::string(sql), std::move(stmt));
    return Status::OK();
  }

  MysqlPtr m_;
  std::unordered_map<std::string, StmtPtr, StringHash, std::equal_to<>> cache_;
  std::string batch_;       // ';'-terminated statements of this transaction not sent yet
  size_t batch_count_ = 0;  // how many statements batch_ holds
  bool read_only_ = false;
  bool in_txn_ = false;          // START TRANSACTION was queued or sent and not ended yet
  bool begin_pending_ = false;   // Begin() was called; START TRANSACTION not queued yet
  bool begin_in_batch_ = false;  // START TRANSACTION is queued in batch_, not sent yet
  bool commit_pending_ = false;
  bool broken_ = false;
};

struct ConnectInfo {
  std::string user, password, host, socket, db;
  unsigned port = 3306;
  std::string display;  // for messages, without the password
};

Status ParseUrl(const std::string& url, ConnectInfo* info) {
  const std::string kScheme = "mysql://";
  if (url.rfind(kScheme, 0) != 0)
    return Status::Invalid("mysql: META-URL must start with mysql://");
  std::string rest = url.substr(kScheme.size());
  rest = rest.substr(0, rest.find('?'));  // remaining options are the Go driver's; ignored
  const size_t paren = rest.find('(');
  size_t at = paren == std::string::npos ? rest.rfind('@') : rest.rfind('@', paren);
  std::string userinfo, hostpart;
  if (at == std::string::npos) {
    hostpart = rest;
  } else {
    userinfo = rest.substr(0, at);
    hostpart = rest.substr(at + 1);
  }
  bool has_password = false;
  if (!userinfo.empty()) {
    size_t colon = userinfo.find(':');
    info->user = userinfo.substr(0, colon);
    if (colon != std::string::npos) {
      info->password = userinfo.substr(colon + 1);
      has_password = true;
    }
  }
  if (!has_password) info->password = EnvPassword();
  std::string addr;
  std::string net = "tcp";
  size_t slash;
  if (!hostpart.empty() && hostpart.find('(') != std::string::npos) {
    size_t open = hostpart.find('('), close = hostpart.find(')', open);
    if (close == std::string::npos) return Status::Invalid("mysql: unbalanced '(' in META-URL");
    if (open > 0) net = hostpart.substr(0, open);
    addr = hostpart.substr(open + 1, close - open - 1);
    slash = hostpart.find('/', close);
  } else {
    slash = hostpart.find('/');
    addr = hostpart.substr(0, slash);
  }
  if (slash == std::string::npos || slash + 1 >= hostpart.size()) {
    return Status::Invalid("mysql: META-URL names no database (mysql://user:pass@(host:port)/db)");
  }
  info->db = hostpart.substr(slash + 1);
  if (net == "unix") {
    info->socket = addr;
    info->host = "localhost";
  } else if (net == "tcp") {
    info->host = addr.empty() ? "127.0.0.1" : addr;
    size_t colon = info->host.rfind(':');
    if (colon != std::string::npos) {
      std::string port = info->host.substr(colon + 1);
      info->host.resize(colon);
      char* end = nullptr;
      unsigned long p = std::strtoul(port.c_str(), &end, 10);
      if (port.empty() || *end || p == 0 || p > 65535) {
        return Status::Invalid("mysql: bad port '" + port + "' in META-URL");
      }
      info->port = static_cast<unsigned>(p);
    }
    if (info->host.empty()) info->host = "127.0.0.1";
  } else {
    return Status::Invalid("mysql: unsupported network '" + net + "' (tcp or unix)");
  }
  info->display = "mysql://" + info->user + (has_password ? ":****" : "") + "@" +
                  (info->socket.empty() ? "(" + info->host + ":" + std::to_string(info->port) + ")"
                                        : "unix(" + info->socket + ")") +
                  "/" + info->db;
  return Status::OK();
}

Status Connect(const ConnectInfo& info, std::unique_ptr<SqlConn>* out) {
  // mysql_init initializes the library on first use, which is not thread-safe; do it once here.
  static const bool kLibraryReady = mysql_library_init(0, nullptr, nullptr) == 0;
  if (!kLibraryReady) return Status::IOError("mysql: cannot initialize the client library");
  MysqlPtr m(mysql_init(nullptr));
  if (!m) return Status::Error(ENOMEM, "mysql: out of memory");
  unsigned timeout = 10;
  mysql_options(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(m.get(), MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!mysql_real_connect(m.get(), info.host.c_str(), info.user.c_str(), info.password.c_str(),
                          info.db.c_str(), info.port,
                          info.socket.empty() ? nullptr : info.socket.c_str(), CLIENT_FOUND_ROWS)) {
    unsigned err = mysql_errno(m.get());
    std::string msg = "mysql: cannot connect to " + info.display + ": " + mysql_error(m.get()) +
                      " (" + std::to_string(err) + ")";
    if (err == kAccessDenied || err == 1044 /*db access denied*/) {
      return Status::Error(EACCES, msg);
    }
    if (err == kBadDb) return Status::NotFound(msg);
    return Status::IOError(msg);
  }
  // JuiceFS's isolation, repeatable read; autocommit for single-statement reads (see
  // MysqlConn::Begin). Batched writes (see MysqlConn::AddToBatch) are sent as one
  // multi-statement request.
  static const char kSetup[] = "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ";
  if (mysql_real_query(m.get(), kSetup, sizeof(kSetup) - 1) != 0 || mysql_autocommit(m.get(), 1) ||
      mysql_set_server_option(m.get(), MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0) {
    return MysqlStatus(mysql_errno(m.get()), "session setup", mysql_error(m.get()));
  }
  *out = std::make_unique<MysqlConn>(std::move(m));
  return Status::OK();
}

}  // namespace

const Dialect& MySQLDialect() {
  static const Dialect kDialect = [] {
    Dialect d;
    d.name = "mysql";
    d.placeholders = PlaceholderStyle::kQuestion;
    d.upsert = UpsertStyle::kOnDuplicateKey;
    d.quote = '`';
    d.autoincrement = "AUTO_INCREMENT";
    d.for_update = true;
    d.for_update_outer_join = true;
    d.force_index = true;
    d.returning = false;  // no UPDATE ... RETURNING
    d.indices_agg = "GROUP_CONCAT(CONCAT(k.indx,';') SEPARATOR '')";
    d.index_if_not_exists = false;  // MySQL 8 lacks it; Exec treats "duplicate key name" as done
    d.concat_yields_text = false;
    d.table_exists =
        "SELECT 1 FROM information_schema.tables WHERE table_schema=DATABASE() AND table_name=?";
    // xorm's MySQL types, except blobs: MySQL's BLOB holds only 65,535 bytes, less than a
    // 64 KiB xattr value or a long chunk slice list, so they are MEDIUMBLOB (the values, and
    // what JuiceFS reads back, are the same).
    d.types = {"BIGINT",          "INT",          "SMALLINT", "MEDIUMBLOB", "VARBINARY(255)",
               "VARBINARY(4096)", "VARCHAR(255)", "TEXT",     "BIGINT",     "INT"};
    return d;
  }();
  return kDialect;
}

Status OpenMySQL(const std::string& url, std::unique_ptr<SqlDb>* out, std::string* table_prefix) {
  std::string stripped = url;
  JFS_RETURN_IF_ERROR(TakeTablePrefix(&stripped, table_prefix));
  ConnectInfo info;
  JFS_RETURN_IF_ERROR(ParseUrl(stripped, &info));
  SqlDb::Options pool;
  pool.max_conns = 16;
  return OpenServerPool(
      MySQLDialect(), [info](std::unique_ptr<SqlConn>* conn) { return Connect(info, conn); }, pool,
      out);
}

}  // namespace jfs::meta::sql

namespace jfs::meta {

Status NewMySQLEngine(const std::string& url, std::unique_ptr<Engine>* out) {
  return sql::NewServerSqlEngine(sql::OpenMySQL, url, out);
}

}  // namespace jfs::meta
