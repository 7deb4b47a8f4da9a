// The seam between the SQL metadata engine (sql_engine.h) and one database product. The engine
// writes every statement once, in a neutral SQL with '?' placeholders, and asks the Dialect for the
// few constructs that differ (placeholder style, column types, upserts, FOR UPDATE). A driver
// supplies connections (SqlConn) that run those statements; SqlDb pools them.
//
// Adding PostgreSQL or MySQL = one Dialect value + one SqlConn implementation + an opener; the
// engine is not copied.
//
// Error contract for every driver: failures return Status with EIO and the database's own message,
// except: busy / locked / serialization failure / deadlock → Status::Retryable (the engine rolls
// back and reruns the transaction); unique-key violation → EEXIST; disk full → ENOSPC; read-only
// database → EROFS; out of memory → ENOMEM.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "util/status.h"

namespace jfs::meta::sql {

// A non-owning reference to a callable, so per-row callbacks cost no allocation. The referenced
// callable must outlive the call it is passed to.
template <typename Sig>
class FunctionRef;

template <typename R, typename... Args>
class FunctionRef<R(Args...)> {
 public:
  constexpr FunctionRef() noexcept = default;  // empty: must not be called
  template <typename F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
           std::is_invocable_r_v<R, F&, Args...>) FunctionRef(F&& f)
  noexcept  // NOLINT: implicit by design
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* o, Args... a) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(o))(std::forward<Args>(a)...);
        }) {}
  R operator()(Args... a) const { return call_(obj_, std::forward<Args>(a)...); }
  explicit operator bool() const { return call_ != nullptr; }

 private:
  void* obj_ = nullptr;
  R (*call_)(void*, Args...) = nullptr;
};

// A value bound to one placeholder. Unsigned 64-bit values are stored in their two's-complement
// signed form (the databases have signed BIGINT); reading them back with Row::Int and casting to
// uint64_t restores them. Blob/Text views must stay valid until the statement has run.
class Param {
 public:
  enum class Kind : uint8_t { kNull, kInt, kBlob, kText };

  constexpr Param() noexcept = default;  // NULL
  template <typename T>
  requires std::is_integral_v<T>
  constexpr Param(T v) noexcept  // NOLINT: implicit so call sites read like SQL
      : kind_(Kind::kInt), int_(static_cast<int64_t>(v)) {}
  static Param Blob(std::string_view b) { return Param(Kind::kBlob, b); }
  static Param Text(std::string_view t) { return Param(Kind::kText, t); }

  Kind kind() const { return kind_; }
  int64_t int_value() const { return int_; }
  std::string_view bytes() const { return bytes_; }

 private:
  Param(Kind k, std::string_view b) : kind_(k), bytes_(b) {}
  Kind kind_ = Kind::kNull;
  int64_t int_ = 0;
  std::string_view bytes_;
};

// The current result row inside a Query callback. Column indices are 0-based, in SELECT order.
// Byte views are valid only until the callback returns.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool IsNull(int col) const = 0;
  virtual int64_t Int(int col) const = 0;             // NULL reads as 0
  virtual std::string_view Bytes(int col) const = 0;  // BLOB or TEXT; NULL reads as ""
};

// Returning a non-OK status from the callback stops the query and is returned by Query.
using RowFn = FunctionRef<Status(const Row&)>;

// Process-wide driver counters, for benchmarks and tests that check how many statements and
// network round trips an operation costs. Drivers add to them; nobody resets them.
struct SqlCounters {
  std::atomic<uint64_t> statements{0};   // statements sent (BEGIN / COMMIT included)
  std::atomic<uint64_t> round_trips{0};  // times the client waited for the server
  std::atomic<uint64_t> checkpoints{0};  // SQLite WAL checkpoints run (background or committer)
};
SqlCounters& GlobalSqlCounters();

// Prints what a driver sends (`what`: how it travels) to stderr when $JFS_SQL_TRACE is set, to see
// which statements and round trips an operation costs. Costs one branch when unset.
void TraceSql(std::string_view what, std::string_view sql);

// One statement of SqlConn::QueryBatch: the arguments of a Query call.
struct BatchStmt {
  std::string_view sql;
  std::span<const Param> params;
  RowFn on_row;
};

// One database connection. Not thread-safe: the pool hands it to one transaction at a time.
class SqlConn {
 public:
  virtual ~SqlConn() = default;

  // Runs SQL text without parameters or results, not cached (DDL, pragmas). May contain several
  // ';'-separated statements.
  virtual Status Exec(std::string_view sql) = 0;

  // Runs one statement, already in the dialect's placeholder style, with `params` bound in order.
  // Prepared once per connection and cached by its text. `on_row` (optional) sees every result
  // row (may be empty); `changes` (optional) receives the number of rows an INSERT/UPDATE/DELETE
  // modified.
  virtual Status Query(std::string_view sql, std::span<const Param> params, RowFn on_row,
                       int64_t* changes) = 0;

  // Runs independent statements in order, as Query would one after the other, but in as few round
  // trips as the driver can (PostgreSQL: one pipeline; MySQL: one multi-statement request).
  // Returns the first failure; the statements after a failure may or may not have run (the
  // transaction is then rolled back anyway). The default runs them one by one.
  virtual Status QueryBatch(std::span<const BatchStmt> stmts) {
    for (const BatchStmt& s : stmts) JFS_RETURN_IF_ERROR(Query(s.sql, s.params, s.on_row, nullptr));
    return Status::OK();
  }

  // Column names of `table`; empty when the table does not exist.
  virtual Status ListColumns(std::string_view table, std::vector<std::string>* cols) = 0;

  // Transaction control. Begin(write=true) takes the database's write lock up front where the
  // database has one (SQLite BEGIN IMMEDIATE), so a write transaction never fails half-way for
  // lock upgrades. Rollback is a no-op when no transaction is open. A failed Commit leaves the
  // transaction open for Rollback; Begin and BeginSingleRead roll back one a caller left open, so
  // that no transaction outlives its lease.
  virtual Status Begin(bool write) = 0;
  // Begins a read that the engine promises is a single statement (one Query before Commit): a
  // driver may run it on its own, without BEGIN / COMMIT, since one statement always reads one
  // consistent snapshot. The default is Begin(false).
  virtual Status BeginSingleRead() { return Begin(false); }
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;

  // True after an error that leaves the connection unusable; the pool then closes it.
  virtual bool Broken() const = 0;
};

// Column kinds of the schema; the dialect names them.
enum class ColType : uint8_t {
  kBigInt,         // int64 / uint64
  kInt,            // uint8..uint32
  kSmallInt,       // int16
  kBlob,           // []byte
  kVarBinary255,   // []byte names
  kVarBinary4096,  // symlink targets
  kVarchar255,     // Go string
  kText,           // long text (the Format JSON)
  kSerial64,       // bigserial primary key (autoincrement)
  kSerial32,       // uint32 autoincrement primary key
};

enum class PlaceholderStyle : uint8_t { kQuestion, kDollar };       // ? ... | $1 $2 ...
enum class UpsertStyle : uint8_t { kOnConflict, kOnDuplicateKey };  // SQLite/PG | MySQL

// What differs between SQL databases, as data plus the few helpers that render it.
struct Dialect {
  std::string name;  // Engine::Name(): "sqlite3", "postgres", "mysql"
  PlaceholderStyle placeholders = PlaceholderStyle::kQuestion;
  UpsertStyle upsert = UpsertStyle::kOnConflict;
  char quote = '"';                    // identifier quote in DDL
  std::string autoincrement;           // after PRIMARY KEY of a serial column ("" when implied)
  bool for_update = false;             // SELECT ... FOR UPDATE locks rows
  bool for_update_outer_join = false;  // ... also of a LEFT JOIN (MySQL; PostgreSQL refuses)
  // Directory pages name the (parent, name) index with FORCE INDEX: MySQL's optimizer otherwise
  // scans and sorts a directory that holds most of the table's rows.
  bool force_index = false;
  bool returning = false;           // UPDATE ... RETURNING
  bool index_if_not_exists = true;  // CREATE INDEX IF NOT EXISTS
  bool concat_yields_text = false;  // SQLite: blob || blob is TEXT, so cast back to BLOB
  // An aggregate of the integer column k.indx: each value in decimal followed by ';', all
  // concatenated ("3;0;7;"), NULL for no rows. Each value's own terminator lets a reader tell a
  // list the server cut short (MySQL's group_concat_max_len) from a whole one.
  std::string indices_agg = "group_concat(k.indx||';','')";
  // PostgreSQL: an INSERT that gives a SERIAL column its value does not advance the column's
  // sequence, so after such an insert the sequence is moved past the largest id (else the next
  // INSERT without an id, e.g. JuiceFS adding an ACL, would collide).
  bool explicit_serial_keeps_sequence = false;
  // A query with one placeholder (a table name) that returns a row when that table exists.
  std::string table_exists;
  // Type names indexed by ColType.
  std::vector<std::string> types;

  const std::string& Type(ColType t) const { return types[static_cast<size_t>(t)]; }
  std::string Quote(std::string_view ident) const;
  // Rewrites '?' placeholders (outside string literals) into the dialect's style.
  std::string Rewrite(std::string_view sql) const;
  // Suffix that locks the selected rows in a write transaction ("" when unsupported).
  std::string_view ForUpdate() const { return for_update ? " FOR UPDATE" : ""; }

  // INSERT INTO table(cols) VALUES(?...) that replaces `update_cols` of an existing row whose
  // `key_cols` match.
  std::string Upsert(std::string_view table, const std::vector<std::string_view>& cols,
                     const std::vector<std::string_view>& key_cols,
                     const std::vector<std::string_view>& update_cols) const;
  // INSERT that silently keeps an existing row with the same key.
  std::string InsertIgnore(std::string_view table, const std::vector<std::string_view>& cols,
                           const std::vector<std::string_view>& key_cols) const;
  // INSERT INTO table(cols) VALUES(?...) that, when the key exists, appends the inserted value of
  // `blob_col` to the stored one (jfs_chunk slices).
  std::string UpsertAppend(std::string_view table, const std::vector<std::string_view>& cols,
                           const std::vector<std::string_view>& key_cols,
                           std::string_view blob_col) const;
};

// A pool of connections to one database. Thread-safe.
//
// With `serialize_writers` (SQLite), write transactions of this process queue on one mutex, so at
// most one of them waits for the database's write lock; readers are never queued behind it.
class SqlDb {
 public:
  using Opener = std::function<Status(std::unique_ptr<SqlConn>*)>;
  struct Options {
    size_t max_conns = 8;  // Acquire blocks when this many are in use
    bool serialize_writers = false;
  };

  // Exclusive use of one connection for one transaction; returns it to the pool when destroyed.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept;
    Lease& operator=(Lease&& o) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Release(); }

    SqlConn* get() const { return conn_.get(); }
    SqlConn* operator->() const { return conn_.get(); }
    explicit operator bool() const { return conn_ != nullptr; }
    void Release();

   private:
    friend class SqlDb;
    SqlDb* db_ = nullptr;
    std::unique_ptr<SqlConn> conn_;
    std::unique_lock<std::mutex> writer_;
  };

  // `first` (optional) is an already open connection, kept in the pool.
  SqlDb(Dialect dialect, Opener opener, Options options, std::unique_ptr<SqlConn> first = nullptr);
  ~SqlDb();
  SqlDb(const SqlDb&) = delete;
  SqlDb& operator=(const SqlDb&) = delete;

  const Dialect& dialect() const { return dialect_; }
  // Takes (or opens) a connection for a transaction. A write lease also holds the writer mutex
  // when writers are serialized. Not reentrant: a thread holding a write lease must not ask for
  // another one.
  Status Acquire(bool write, Lease* out);

 private:
  void Return(std::unique_ptr<SqlConn> conn);

  const Dialect dialect_;
  const Opener opener_;
  Options options_;
  std::mutex writer_mu_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<SqlConn>> idle_;  // guarded by mu_
  size_t in_use_ = 0;                           // guarded by mu_
};

// The first 80 bytes of a statement (with "..." when cut), for error messages.
std::string AbbrevSql(std::string_view sql);

// Opens a connection pool for a server database (PostgreSQL, MySQL) over `connect`. One
// connection is made now, so that a bad address, password or database fails the open itself.
// Connections opened later that fail (a restart, an overload) come back retryable, except EACCES
// and ENOENT, which no retry fixes.
Status OpenServerPool(const Dialect& dialect, SqlDb::Opener connect, SqlDb::Options options,
                      std::unique_ptr<SqlDb>* out);

}  // namespace jfs::meta::sql
