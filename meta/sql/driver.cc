#include "meta/sql/driver.h"

#include <cstdio>
#include <cstdlib>

namespace jfs::meta::sql {

namespace {

std::string Join(const std::vector<std::string_view>& items, std::string_view sep,
                 std::string_view item_suffix = {}) {
  std::string out;
  for (size_t i = 0; i < items.size(); i++) {
    if (i) out += sep;
    out += items[i];
    out += item_suffix;
  }
  return out;
}

std::string InsertHead(std::string_view verb, std::string_view table,
                       const std::vector<std::string_view>& cols) {
  std::string sql(verb);
  sql += ' ';
  sql += table;
  sql += '(';
  sql += Join(cols, ",");
  sql += ") VALUES(";
  for (size_t i = 0; i < cols.size(); i++) sql += i ? ",?" : "?";
  sql += ')';
  return sql;
}

}  // namespace

SqlCounters& GlobalSqlCounters() {
  static SqlCounters counters;
  return counters;
}

void TraceSql(std::string_view what, std::string_view sql) {
  static const bool kOn = std::getenv("JFS_SQL_TRACE") != nullptr;
  if (!kOn) return;
  std::fprintf(stderr, "[sql %s] %.*s\n", std::string(what).c_str(), static_cast<int>(sql.size()),
               sql.data());
}

std::string Dialect::Quote(std::string_view ident) const {
  std::string out(1, quote);
  out += ident;
  out += quote;
  return out;
}

std::string Dialect::Rewrite(std::string_view sql) const {
  if (placeholders == PlaceholderStyle::kQuestion) return std::string(sql);
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char in_quote = 0;
  for (char c : sql) {
    if (in_quote) {
      if (c == in_quote) in_quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      in_quote = c;
      out += c;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

std::string Dialect::Upsert(std::string_view table, const std::vector<std::string_view>& cols,
                            const std::vector<std::string_view>& key_cols,
                            const std::vector<std::string_view>& update_cols) const {
  std::string sql = InsertHead("INSERT INTO", table, cols);
  if (upsert == UpsertStyle::kOnDuplicateKey) {
    sql += " ON DUPLICATE KEY UPDATE ";
    for (size_t i = 0; i < update_cols.size(); i++) {
      if (i) sql += ',';
      sql += update_cols[i];
      sql += "=VALUES(";
      sql += update_cols[i];
      sql += ')';
    }
    return sql;
  }
  sql += " ON CONFLICT(" + Join(key_cols, ",") + ")";
  if (update_cols.empty()) return sql + " DO NOTHING";
  sql += " DO UPDATE SET ";
  for (size_t i = 0; i < update_cols.size(); i++) {
    if (i) sql += ',';
    sql += update_cols[i];
    sql += "=excluded.";
    sql += update_cols[i];
  }
  return sql;
}

std::string Dialect::InsertIgnore(std::string_view table, const std::vector<std::string_view>& cols,
                                  const std::vector<std::string_view>& key_cols) const {
  if (upsert == UpsertStyle::kOnDuplicateKey) return InsertHead("INSERT IGNORE INTO", table, cols);
  return InsertHead("INSERT INTO", table, cols) + " ON CONFLICT(" + Join(key_cols, ",") +
         ") DO NOTHING";
}

std::string Dialect::UpsertAppend(std::string_view table, const std::vector<std::string_view>& cols,
                                  const std::vector<std::string_view>& key_cols,
                                  std::string_view blob_col) const {
  std::string sql = InsertHead("INSERT INTO", table, cols);
  std::string col(blob_col);
  if (upsert == UpsertStyle::kOnDuplicateKey) {
    // VALUES(col) names the value the INSERT tried, so the blob is bound once.
    return sql + " ON DUPLICATE KEY UPDATE " + col + "=concat(" + col + ",VALUES(" + col + "))";
  }
  std::string concat = std::string(table) + "." + col + " || excluded." + col;
  if (concat_yields_text) concat = "CAST(" + concat + " AS BLOB)";
  return sql + " ON CONFLICT(" + Join(key_cols, ",") + ") DO UPDATE SET " + col + "=" + concat;
}

// ---- SqlDb ----

SqlDb::Lease::Lease(Lease&& o) noexcept
    : db_(std::exchange(o.db_, nullptr)),
      conn_(std::move(o.conn_)),
      writer_(std::move(o.writer_)) {}

SqlDb::Lease& SqlDb::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    Release();
    db_ = std::exchange(o.db_, nullptr);
    conn_ = std::move(o.conn_);
    writer_ = std::move(o.writer_);
  }
  return *this;
}

void SqlDb::Lease::Release() {
  if (db_) {
    db_->Return(std::move(conn_));
    db_ = nullptr;
  }
  // The connection goes back first, so the next writer finds it idle.
  if (writer_.owns_lock()) writer_.unlock();
  writer_ = {};
}

SqlDb::SqlDb(Dialect dialect, Opener opener, Options options, std::unique_ptr<SqlConn> first)
    : dialect_(std::move(dialect)), opener_(std::move(opener)), options_(options) {
  if (options_.max_conns == 0) options_.max_conns = 1;
  if (first) idle_.push_back(std::move(first));
}

SqlDb::~SqlDb() = default;

Status SqlDb::Acquire(bool write, Lease* out) {
  out->Release();
  // Writer mutex before a connection: a writer waiting for a connection never holds one, so the
  // pool cannot deadlock even with max_conns = 1.
  std::unique_lock<std::mutex> writer;
  if (write && options_.serialize_writers) writer = std::unique_lock<std::mutex>(writer_mu_);

  std::unique_ptr<SqlConn> conn;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return in_use_ < options_.max_conns; });
    in_use_++;
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
  }
  if (!conn) {
    Status st = opener_(&conn);
    if (!st.ok() || !conn) {
      std::lock_guard<std::mutex> lock(mu_);
      in_use_--;
      cv_.notify_one();
      return st.ok() ? Status::IOError("database driver returned no connection") : st;
    }
  }
  out->db_ = this;
  out->conn_ = std::move(conn);
  out->writer_ = std::move(writer);
  return Status::OK();
}

void SqlDb::Return(std::unique_ptr<SqlConn> conn) {
  if (conn && conn->Broken()) conn.reset();  // closed outside the pool lock
  std::lock_guard<std::mutex> lock(mu_);
  in_use_--;
  if (conn) idle_.push_back(std::move(conn));
  cv_.notify_one();
}

std::string AbbrevSql(std::string_view sql) {
  constexpr size_t kMax = 80;
  if (sql.size() <= kMax) return std::string(sql);
  return std::string(sql.substr(0, kMax)) + "...";
}

Status OpenServerPool(const Dialect& dialect, SqlDb::Opener connect, SqlDb::Options options,
                      std::unique_ptr<SqlDb>* out) {
  std::unique_ptr<SqlConn> first;
  JFS_RETURN_IF_ERROR(connect(&first));
  SqlDb::Opener opener = [connect = std::move(connect)](std::unique_ptr<SqlConn>* conn) {
    Status st = connect(conn);
    // The server was reachable at open: a failure now is a restart or an overload; retry.
    return st.ok() || st.code() == EACCES || st.code() == ENOENT
               ? st
               : Status::Retryable(EIO, st.message());
  };
  *out = std::make_unique<SqlDb>(dialect, std::move(opener), options, std::move(first));
  return Status::OK();
}

}  // namespace jfs::meta::sql
