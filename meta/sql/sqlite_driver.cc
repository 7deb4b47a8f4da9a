#include "meta/sql/sqlite_driver.h"

#include <unistd.h>

#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

#include "meta/engine.h"
#include "meta/sql/sql_engine.h"

namespace jfs::meta::sql {

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// More distinct statements than the engine has means someone runs ad-hoc SQL; start over then.
constexpr size_t kMaxCachedStatements = 512;

// Errors after which the connection is closed instead of going back to the pool.
bool BreaksConnection(int rc) {
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_MISUSE:
    case SQLITE_NOMEM:
      return true;
    default:
      return false;
  }
}

Status SqliteStatus(int rc, std::string_view what, const char* detail) {
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  msg += detail ? detail : sqlite3_errstr(rc);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Retryable(EIO, msg);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Status::Exists(msg);
      }
      return Status::IOError(msg);
    case SQLITE_FULL:
      return Status::Error(ENOSPC, msg);
    case SQLITE_READONLY:
      return Status::Error(EROFS, msg);
    case SQLITE_NOMEM:
      return Status::Error(ENOMEM, msg);
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return Status::Error(EACCES, msg);
    case SQLITE_TOOBIG:
      return Status::Error(E2BIG, msg);
    default:
      return Status::IOError(msg);
  }
}

class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* s) : s_(s) {}
  bool IsNull(int col) const override { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  int64_t Int(int col) const override { return sqlite3_column_int64(s_, col); }
  std::string_view Bytes(int col) const override {
    const void* p = sqlite3_column_blob(s_, col);
    int n = sqlite3_column_bytes(s_, col);
    if (!p || n <= 0) return {};
    return {static_cast<const char*>(p), static_cast<size_t>(n)};
  }

 private:
  sqlite3_stmt* s_;
};

// Resets a cached statement when a run ends, however it ends: a statement left mid-step would keep
// its read snapshot open and make COMMIT fail.
class StmtRun {
 public:
  explicit StmtRun(sqlite3_stmt* s) : s_(s) {}
  ~StmtRun() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtRun(const StmtRun&) = delete;
  StmtRun& operator=(const StmtRun&) = delete;

 private:
  sqlite3_stmt* s_;
};

// Checkpoints the WAL of one database file in a background thread. SQLite's automatic checkpoint
// runs in the committing thread whenever the WAL passes 1000 pages and costs that commit two
// fsyncs and a copy of every page written since; on a small-file workload that was a third of
// each create + close. With this, each kWakePages pages committed past the last checkpoint only
// wake the thread (which checkpoints over its own connection, PASSIVE like the automatic one: it
// never waits for readers or writers), and a committer checkpoints itself only once the WAL holds
// kBackstopPages, when the thread cannot keep up or cannot run, or to let the WAL start over.
class Checkpointer {
 public:
  static constexpr int kWakePages = 1000;
  static constexpr int kBackstopPages = 8000;

  Checkpointer(std::string path, int busy_timeout_ms)
      : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}
  ~Checkpointer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // sqlite3_wal_hook callback of every connection to the file: runs after each commit, with the
  // number of pages in the WAL.
  //
  // The thread is woken once per kWakePages pages *not yet checkpointed*, not on every commit past
  // kWakePages: the WAL starts over only when a writer begins while every page of it is in the
  // database, which a writer following its predecessor closely seldom finds (the checkpoint the
  // last commit started is still running), so the WAL keeps its length across checkpoints.
  // Counting from the total woke the thread after every commit, for two fsyncs each. The
  // committer's own checkpoint past kBackstopPages, once the thread has caught up, lets the next
  // writer start the WAL over.
  static int Hook(void* self, sqlite3* db, const char* name, int pages) {
    auto* c = static_cast<Checkpointer*>(self);
    int done = c->backfilled_.load(std::memory_order_relaxed);
    if (pages < done) {  // the WAL started over since the thread's last checkpoint
      done = 0;
      c->backfilled_.store(0, std::memory_order_relaxed);
    }
    if (pages >= kBackstopPages || (pages - done >= kWakePages && !c->Wake())) {
      // Errors are ignored, as SQLite's automatic checkpoint ignores them: the next commit tries.
      (void)Checkpoint(db, name, nullptr);
    }
    return SQLITE_OK;
  }

 private:
  // One PASSIVE checkpoint of database `name` (null: all) over `db`, counted in SqlCounters;
  // *copied (optional) = WAL pages now in the database.
  static int Checkpoint(sqlite3* db, const char* name, int* copied) {
    GlobalSqlCounters().checkpoints++;
    return sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, copied);
  }

  // False when there is no thread to wake (none could be started).
  bool Wake() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) return false;
      if (!thread_.joinable()) {
        try {
          thread_ = std::thread([this] { Loop(); });
        } catch (const std::system_error&) {
          return false;
        }
      }
      pending_ = true;
    }
    cv_.notify_one();
    return true;
  }

  void Loop() {
    DbPtr db;  // opened when first needed; a failed open is tried again next time
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || pending_; });
      if (stop_) return;
      pending_ = false;
      lock.unlock();
      if (!db) {
        sqlite3* raw = nullptr;
        const int rc = sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
        db.reset(raw);
        // A connection learns that the file is in WAL mode (without which a checkpoint does
        // nothing) only once it has read the header.
        if (rc != SQLITE_OK ||
            sqlite3_exec(db.get(), "PRAGMA journal_mode", nullptr, nullptr, nullptr) != SQLITE_OK) {
          db.reset();
        } else {
          sqlite3_busy_timeout(db.get(), busy_timeout_ms_);
        }
      }
      if (db) {
        int copied = 0;
        if (Checkpoint(db.get(), nullptr, &copied) == SQLITE_OK) {
          backfilled_.store(copied, std::memory_order_relaxed);
        }
      }
      lock.lock();
    }
  }

  const std::string path_;
  const int busy_timeout_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  // WAL pages copied to the database by the thread's last checkpoint.
  std::atomic<int> backfilled_{0};
  std::thread thread_;
};

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class SqliteConn final : public SqlConn {
 public:
  explicit SqliteConn(DbPtr db) : db_(std::move(db)) {}
  // `checkpointer` (optional) takes over WAL checkpoints; it must outlive the connection.
  static Status Open(const std::string& path, const SqliteOptions& options,
                     Checkpointer* checkpointer, std::unique_ptr<SqlConn>* out);

  Status Exec(std::string_view sql) override {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::OK();
    Status st = SqliteStatus(rc, AbbrevSql(sql), err ? err : sqlite3_errmsg(db_.get()));
    sqlite3_free(err);
    if (BreaksConnection(rc)) broken_ = true;
    return st;
  }

  Status Query(std::string_view sql, std::span<const Param> params, RowFn on_row,
               int64_t* changes) override {
    sqlite3_stmt* s = nullptr;
    JFS_RETURN_IF_ERROR(Prepare(sql, &s));
    StmtRun run(s);
    if (static_cast<size_t>(sqlite3_bind_parameter_count(s)) != params.size()) {
      return Status::Invalid("sqlite: wrong number of parameters for: " + AbbrevSql(sql));
    }
    static const char kEmpty[] = "";
    for (size_t i = 0; i < params.size(); i++) {
      const Param& p = params[i];
      int idx = static_cast<int>(i) + 1;
      int rc = SQLITE_OK;
      switch (p.kind()) {
        case Param::Kind::kNull:
          rc = sqlite3_bind_null(s, idx);
          break;
        case Param::Kind::kInt:
          rc = sqlite3_bind_int64(s, idx, p.int_value());
          break;
        case Param::Kind::kBlob:
          // A null pointer would bind NULL, not an empty blob.
          rc = sqlite3_bind_blob64(s, idx, p.bytes().empty() ? kEmpty : p.bytes().data(),
                                   p.bytes().size(), SQLITE_STATIC);
          break;
        case Param::Kind::kText:
          rc = sqlite3_bind_text64(s, idx, p.bytes().empty() ? kEmpty : p.bytes().data(),
                                   p.bytes().size(), SQLITE_STATIC, SQLITE_UTF8);
          break;
      }
      if (rc != SQLITE_OK) return Fail(rc, sql);
    }
    GlobalSqlCounters().statements++;
    TraceSql("sqlite", sql);
    SqliteRow row(s);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      if (on_row) JFS_RETURN_IF_ERROR(on_row(row));
    }
    if (rc != SQLITE_DONE) return Fail(rc, sql);
    if (changes) *changes = sqlite3_changes(db_.get());
    return Status::OK();
  }

  Status ListColumns(std::string_view table, std::vector<std::string>* cols) override {
    cols->clear();
    auto add = [&](const Row& r) {
      cols->emplace_back(r.Bytes(0));
      return Status::OK();
    };
    Param p[] = {Param::Text(table)};
    return Query("SELECT name FROM pragma_table_info(?)", p, add, nullptr);
  }

  Status Begin(bool write) override {
    JFS_RETURN_IF_ERROR(Rollback());  // ends a transaction the caller left open; clears single_
    return Query(write ? "BEGIN IMMEDIATE" : "BEGIN", {}, {}, nullptr);
  }
  // The one statement runs in autocommit mode: its own read transaction, released when it is
  // reset (StmtRun), which is all BEGIN / COMMIT would give it.
  Status BeginSingleRead() override {
    JFS_RETURN_IF_ERROR(Rollback());
    single_ = true;
    return Status::OK();
  }
  Status Commit() override {
    if (single_) {
      single_ = false;
      return Status::OK();
    }
    return Query("COMMIT", {}, {}, nullptr);
  }
  Status Rollback() override {
    single_ = false;
    if (sqlite3_get_autocommit(db_.get())) return Status::OK();  // nothing open (or auto-undone)
    Status st = Query("ROLLBACK", {}, {}, nullptr);
    if (!st.ok()) broken_ = true;  // an unknown transaction state must not be reused
    return st;
  }
  bool Broken() const override { return broken_; }

 private:
  Status Fail(int rc, std::string_view sql) {
    if (BreaksConnection(rc)) broken_ = true;
    return SqliteStatus(rc, AbbrevSql(sql), sqlite3_errmsg(db_.get()));
  }

  Status Prepare(std::string_view sql, sqlite3_stmt** out) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      *out = it->second.get();
      return Status::OK();
    }
    if (cache_.size() >= kMaxCachedStatements) cache_.clear();
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return Fail(rc, sql);
    if (!stmt) return Status::Invalid("sqlite: empty statement");
    *out = stmt.get();
    cache_.emplace(std::string(sql), std::move(stmt));
    return Status::OK();
  }

  // Statements are declared after the handle so they are finalized before it closes.
  DbPtr db_;
  std::unordered_map<std::string, StmtPtr, StringHash, std::equal_to<>> cache_;
  bool broken_ = false;
  bool single_ = false;  // BeginSingleRead: no BEGIN was sent
};

bool IsPlainPath(const std::string& path) {
  return path != ":memory:" && path.rfind("file:", 0) != 0;
}

Status SqliteConn::Open(const std::string& path, const SqliteOptions& options,
                        Checkpointer* checkpointer, std::unique_ptr<SqlConn>* out) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0) |
                               SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_URI,
                           nullptr);
  DbPtr db(raw);  // closes the handle even when the open failed
  if (rc != SQLITE_OK) {
    int sys = db ? sqlite3_system_errno(db.get()) : 0;
    std::string msg = "sqlite: cannot open database " + path + ": " +
                      (db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc));
    if ((rc & 0xff) == SQLITE_CANTOPEN && !options.create && access(path.c_str(), F_OK) != 0) {
      return Status::NotFound("sqlite: database " + path +
                              " does not exist (format a volume there first)");
    }
    if ((rc & 0xff) == SQLITE_CANTOPEN && sys != 0) return Status::Error(sys, msg);
    return SqliteStatus(rc, "open " + path, db ? sqlite3_errmsg(db.get()) : nullptr);
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), options.busy_timeout_ms);
  // The first statement reads the file header: a file that is not a database fails here.
  // journal_mode=WAL is persistent in the file; setting it again is a cheap no-op.
  static const char kSetup[] =
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;";
  char* err = nullptr;
  rc = sqlite3_exec(db.get(), kSetup, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string detail = err ? err : sqlite3_errmsg(db.get());
    sqlite3_free(err);
    if ((rc & 0xff) == SQLITE_NOTADB) {
      return Status::IOError("sqlite: " + path + ": file is not a database");
    }
    return SqliteStatus(rc, "set up " + path, detail.c_str());
  }
  // Replaces the automatic checkpoint (sqlite3_wal_autocheckpoint is a wal hook too).
  if (checkpointer != nullptr) sqlite3_wal_hook(db.get(), &Checkpointer::Hook, checkpointer);
  *out = std::make_unique<SqliteConn>(std::move(db));
  return Status::OK();
}

// Opens a connection, retrying while another process holds a lock longer than busy_timeout (the
// first WAL switch of a fresh file needs an exclusive lock).
Status OpenWithRetry(const std::string& path, const SqliteOptions& options,
                     Checkpointer* checkpointer, std::unique_ptr<SqlConn>* out) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  for (int attempt = 0;; attempt++) {
    Status st = SqliteConn::Open(path, options, checkpointer, out);
    if (st.ok() || !st.retryable() || Clock::now() >= deadline) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(attempt * attempt + 1, 200)));
  }
}

}  // namespace

const Dialect& SqliteDialect() {
  static const Dialect kDialect = [] {
    Dialect d;
    d.name = "sqlite3";
    d.placeholders = PlaceholderStyle::kQuestion;
    d.upsert = UpsertStyle::kOnConflict;
    d.quote = '`';  // as xorm writes SQLite DDL
    d.autoincrement = "AUTOINCREMENT";
    d.for_update = false;  // BEGIN IMMEDIATE already excludes other writers
    d.returning = true;    // since 3.35
    d.index_if_not_exists = true;
    d.concat_yields_text = true;
    d.table_exists = "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?";
    // xorm's SQLite types: every integer is INTEGER (so an INTEGER PRIMARY KEY is the rowid),
    // every byte string BLOB, every string TEXT.
    d.types = {"INTEGER", "INTEGER", "INTEGER", "BLOB",    "BLOB",
               "BLOB",    "TEXT",    "TEXT",    "INTEGER", "INTEGER"};
    return d;
  }();
  return kDialect;
}

Status OpenSqlite(const std::string& path, const SqliteOptions& options,
                  std::unique_ptr<SqlDb>* out) {
  if (path.empty()) return Status::Invalid("sqlite: empty database path");
  if (IsPlainPath(path)) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
    struct stat st;
    if (::stat(dir.c_str(), &st) != 0) {
      int err = errno;
      return Status::Error(err, "sqlite: directory " + dir + " of database " + path +
                                    (err == ENOENT ? " does not exist" : " is not accessible"));
    }
    if (!S_ISDIR(st.st_mode)) {
      return Status::Error(
          ENOTDIR, "sqlite: " + dir + " (directory of database " + path + ") is not a directory");
    }
  }
  // Owned by the opener, which the pool destroys after its connections.
  std::shared_ptr<Checkpointer> checkpointer;
  if (IsPlainPath(path))
    checkpointer = std::make_shared<Checkpointer>(path, options.busy_timeout_ms);
  std::unique_ptr<SqlConn> first;
  JFS_RETURN_IF_ERROR(OpenWithRetry(path, options, checkpointer.get(), &first));
  SqlDb::Options pool;
  pool.max_conns = path == ":memory:" ? 1 : std::max<size_t>(options.max_conns, 1);
  pool.serialize_writers = true;
  SqlDb::Opener opener = [path, options, checkpointer](std::unique_ptr<SqlConn>* conn) {
    return OpenWithRetry(path, options, checkpointer.get(), conn);
  };
  *out = std::make_unique<SqlDb>(SqliteDialect(), std::move(opener), pool, std::move(first));
  return Status::OK();
}

}  // namespace jfs::meta::sql

namespace jfs::meta {

Status NewSQLiteEngine(const std::string& path, std::unique_ptr<Engine>* out, bool create) {
  std::unique_ptr<sql::SqlDb> db;
  sql::SqliteOptions options;
  options.create = create;
  JFS_RETURN_IF_ERROR(sql::OpenSqlite(path, options, &db));
  std::unique_ptr<sql::SqlEngine> engine;
  JFS_RETURN_IF_ERROR(sql::SqlEngine::Open(std::move(db), sql::SqlEngineOptions{}, &engine));
  *out = std::move(engine);
  return Status::OK();
}

}  // namespace jfs::meta
