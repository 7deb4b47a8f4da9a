// meta_sql_rtt: metadata operation latency on the server SQL engines, in database round trips.
//
// One round trip = the median latency of `SELECT 1` on a raw connection (libpq / MySQL C API) to
// the same server, measured in the same run. Each metadata operation goes through NewMeta(url) and
// BaseMeta exactly as the library uses it; its median latency is printed next to its ratio to the
// round trip and the goal (issue 4). Not a test: run by hand against running servers, e.g.
//   build/bench/meta_sql_rtt [--ops 300] [URL...]
// URLs default to $JFS_TEST_PG_URL and $JFS_TEST_MYSQL_URL. Tables use table_prefix=bench (or
// --prefix P, to keep two runs on a shared server apart) and are dropped (Reset) before and after.
//
// Besides SELECT 1, the run measures a raw write floor on the same raw connection: BEGIN, one
// UPDATE of one row, COMMIT, sent as our engine sends a write transaction (PostgreSQL: one
// pipeline; MySQL: one multi-statement request). Write operations are also printed relative to it,
// so that the server's own commit cost (durability settings, disk) is told apart from our
// overhead. The test servers of scripts/servers.d run without durability (PostgreSQL fsync=off;
// MariaDB innodb_flush_log_at_trx_commit=0, no binary log): a commit flushes nothing.
#include <fcntl.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "meta/meta.h"
#include "meta/sql/driver.h"

namespace {

using Clock = std::chrono::steady_clock;
using jfs::Status;
using namespace jfs::meta;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "meta_sql_rtt: %s\n", what.c_str());
  std::exit(1);
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what + ": " + st.ToString());
}

// Statements and round trips per call of the last TimeOps (the drivers' counters).
double g_statements = 0, g_waits = 0;
// Client CPU microseconds (this process, user + system) per call of the last TimeOps: on a loaded
// machine this, unlike the wall time, does not include waiting for the server or the scheduler.
double g_cpu_us = 0;

double CpuMicros() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Median microseconds of `n` calls of fn(i): the machine may be shared, and the median keeps a
// few descheduled calls from dominating.
// `idle_us` > 0: before each call (outside the timed part) the client computes for that long
// while the server has nothing to do, as between the waits of a metadata operation.
template <typename F>
double TimeOps(int n, F&& fn, int idle_us = 0) {
  auto& counters = jfs::meta::sql::GlobalSqlCounters();
  const uint64_t stmts0 = counters.statements, waits0 = counters.round_trips;
  std::vector<double> us;
  us.reserve(n);
  const double cpu0 = CpuMicros();
  for (int i = 0; i < n; i++) {
    if (idle_us > 0) {
      const auto until = Clock::now() + std::chrono::microseconds(idle_us);
      while (Clock::now() < until) {
      }
    }
    auto start = Clock::now();
    fn(i);
    us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  g_cpu_us = (CpuMicros() - cpu0) / n;
  g_statements = double(counters.statements - stmts0) / n;
  g_waits = double(counters.round_trips - waits0) / n;
  std::nth_element(us.begin(), us.begin() + n / 2, us.end());
  return us[n / 2];
}

struct PgFinish {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct MyClose {
  void operator()(MYSQL* m) const { mysql_close(m); }
};
struct MyFree {
  void operator()(MYSQL_RES* r) const { mysql_free_result(r); }
};

// Median microseconds of one read-only statement `sql` (text, no parameters) on a raw libpq
// connection, all rows fetched in binary. idle_us: see TimeOps.
double PgRaw(const std::string& url, const std::string& sql, int n, int idle_us = 0) {
  std::unique_ptr<PGconn, PgFinish> c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) Die("libpq: " + std::string(PQerrorMessage(c.get())));
  auto one = [&](int) {
    std::unique_ptr<PGresult, PgClear> r(
        PQexecParams(c.get(), sql.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 1));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) Die(sql + ": " + PQerrorMessage(c.get()));
  };
  TimeOps(20, one, idle_us);  // warm up
  return TimeOps(n, one, idle_us);
}

// Median microseconds of BEGIN; UPDATE one row; COMMIT in one pipeline, on a scratch table.
double PgWriteFloor(const std::string& url, const std::string& table, int n) {
  std::unique_ptr<PGconn, PgFinish> c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) Die("libpq: " + std::string(PQerrorMessage(c.get())));
  PQsetNoticeProcessor(
      c.get(), [](void*, const char*) {}, nullptr);  // "does not exist, skipping"
  auto exec = [&](const std::string& sql) {
    std::unique_ptr<PGresult, PgClear> r(PQexec(c.get(), sql.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) Die(sql + ": " + PQerrorMessage(c.get()));
  };
  exec("DROP TABLE IF EXISTS " + table);
  exec("CREATE TABLE " + table + "(id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
  exec("INSERT INTO " + table + " VALUES(1, 0)");
  const std::string upd = "UPDATE " + table + " SET v=v+1 WHERE id=$1";
  {
    std::unique_ptr<PGresult, PgClear> r(PQprepare(c.get(), "floor", upd.c_str(), 0, nullptr));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) Die("prepare: " + upd);
  }
  if (!PQenterPipelineMode(c.get())) Die("libpq: no pipeline mode");
  auto one = [&](int) {
    const char* id = "1";
    if (!PQsendQueryParams(c.get(), "BEGIN", 0, nullptr, nullptr, nullptr, nullptr, 1) ||
        !PQsendQueryPrepared(c.get(), "floor", 1, &id, nullptr, nullptr, 1) ||
        !PQsendQueryParams(c.get(), "COMMIT", 0, nullptr, nullptr, nullptr, nullptr, 1) ||
        !PQpipelineSync(c.get())) {
      Die("libpq send: " + std::string(PQerrorMessage(c.get())));
    }
    for (int i = 0; i < 3; i++) {
      std::unique_ptr<PGresult, PgClear> r(PQgetResult(c.get()));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) Die("write floor failed");
      while (std::unique_ptr<PGresult, PgClear> more{PQgetResult(c.get())}) {
      }
    }
    std::unique_ptr<PGresult, PgClear> sync(PQgetResult(c.get()));
    if (PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) Die("write floor: no sync");
  };
  TimeOps(20, one);
  const double us = TimeOps(n, one);
  PQexitPipelineMode(c.get());
  exec("DROP TABLE " + table);
  return us;
}

std::unique_ptr<MYSQL, MyClose> MysqlConnect(const std::string& url) {
  // mysql://user:pass@(host:port)/db
  std::string rest = url.substr(8);
  rest = rest.substr(0, rest.find('?'));
  size_t open = rest.find('('), close = rest.find(')'), at = rest.rfind('@', open);
  std::string user = rest.substr(0, at), pass;
  if (size_t c = user.find(':'); c != std::string::npos) pass = user.substr(c + 1), user.resize(c);
  std::string hostport = rest.substr(open + 1, close - open - 1);
  std::string host = hostport.substr(0, hostport.rfind(':'));
  unsigned port = std::atoi(hostport.substr(hostport.rfind(':') + 1).c_str());
  std::string db = rest.substr(rest.find('/', close) + 1);
  std::unique_ptr<MYSQL, MyClose> m(mysql_init(nullptr));
  if (!mysql_real_connect(m.get(), host.c_str(), user.c_str(), pass.c_str(), db.c_str(), port,
                          nullptr, CLIENT_MULTI_STATEMENTS)) {
    Die("mysql: " + std::string(mysql_error(m.get())));
  }
  return m;
}

// Runs a (multi-statement) text and consumes every result.
void MysqlRun(MYSQL* m, const std::string& sql) {
  if (mysql_real_query(m, sql.data(), sql.size()) != 0) Die(sql + ": " + mysql_error(m));
  for (;;) {
    std::unique_ptr<MYSQL_RES, MyFree> r(mysql_store_result(m));
    int next = mysql_next_result(m);
    if (next > 0) Die(sql + ": " + mysql_error(m));
    if (next < 0) break;
  }
}

// As PgRaw, on a raw MySQL C API connection (text protocol, rows stored).
double MysqlRaw(const std::string& url, const std::string& sql, int n, int idle_us = 0) {
  auto m = MysqlConnect(url);
  auto one = [&](int) {
    if (mysql_real_query(m.get(), sql.data(), sql.size()) != 0)
      Die(sql + ": " + mysql_error(m.get()));
    std::unique_ptr<MYSQL_RES, MyFree> r(mysql_store_result(m.get()));
    if (!r) Die(sql + ": no result");
  };
  TimeOps(20, one, idle_us);
  return TimeOps(n, one, idle_us);
}

// Median microseconds of START TRANSACTION; UPDATE one row; COMMIT in one multi-statement request
// (as the MySQL driver sends a write transaction's last round trip), on a scratch table.
double MysqlWriteFloor(const std::string& url, const std::string& table, int n) {
  auto m = MysqlConnect(url);
  MysqlRun(m.get(), "DROP TABLE IF EXISTS " + table);
  MysqlRun(m.get(), "CREATE TABLE " + table + "(id BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
  MysqlRun(m.get(), "INSERT INTO " + table + " VALUES(1, 0)");
  const std::string txn = "START TRANSACTION;UPDATE " + table + " SET v=v+1 WHERE id=1;COMMIT";
  auto one = [&](int) { MysqlRun(m.get(), txn); };
  TimeOps(20, one);
  const double us = TimeOps(n, one);
  MysqlRun(m.get(), "DROP TABLE " + table);
  return us;
}

std::string g_prefix = "bench";  // --prefix
// Client work before each SELECT 1 of the "idle" round trip: about what one metadata operation
// computes between two waits (the CPU us column shows 20–150 us per operation).
constexpr int kIdleUs = 100;

std::string WithPrefix(const std::string& url) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "table_prefix=" + g_prefix;
}

struct Result {
  Result(const char* o, double u, double g, bool w = false)
      : op(o), us(u), goal(g), write(w), stmts(g_statements), waits(g_waits), cpu_us(g_cpu_us) {}
  const char* op;
  double us;
  double goal;          // in round trips
  bool write;           // a write transaction: also shown relative to the raw write floor
  double stmts, waits;  // per operation, as the drivers count them
  double cpu_us;        // client CPU per operation
};

bool g_keep = false;  // --keep: leave the tables for inspection
std::string g_only;   // --only OP: time just this operation (for profiling)
bool Want(const char* op) {
  return g_only.empty() || g_only == op;
}

bool RunOne(const std::string& url, int n) {
  const bool pg = url.rfind("postgres", 0) == 0;
  const std::string murl = WithPrefix(url);
  std::unique_ptr<Meta> m;
  Check(NewMeta(murl, &m, true), "open " + murl);
  Check(m->Reset(), "reset");
  Check(NewMeta(murl, &m, true), "reopen");
  Format f;
  f.name = "bench";
  f.uuid = "7e0d2a52-0000-4000-8000-0000000be7c0";
  Check(m->Init(f, false), "format");
  Context ctx;
  Ino dir = 0, big = 0, file = 0;
  Check(m->Mkdir(ctx, kRootIno, "d", 0755, 0, &dir, nullptr), "mkdir d");
  Check(m->Mkdir(ctx, kRootIno, "big", 0755, 0, &big, nullptr), "mkdir big");
  Check(m->Create(ctx, kRootIno, "f", 0644, 0, O_RDWR, &file, nullptr), "create f");

  auto raw = [&](const std::string& sql, int count, int idle_us = 0) {
    return pg ? PgRaw(url, sql, count, idle_us) : MysqlRaw(url, sql, count, idle_us);
  };
  const double rtt = raw("SELECT 1", n * 2);
  // The same after the client computed for kIdleUs: an idle server thread (or CPU) is slower to
  // answer than one kept busy by back-to-back requests. On some VMs the difference is large.
  const double rtt_idle = raw("SELECT 1", n * 2, kIdleUs);
  const std::string floor_table = g_prefix + "_write_floor";
  const double floor =
      pg ? PgWriteFloor(url, floor_table, n) : MysqlWriteFloor(url, floor_table, n);
  std::vector<Result> results;
  Attr a;
  const bool chain = Want("create") || Want("mkdir") || Want("rename") || Want("unlink");
  if (Want("getattr"))
    results.push_back(
        {"getattr", TimeOps(n, [&](int) { Check(m->GetAttr(ctx, file, &a), "getattr"); }), 1.5});
  if (Want("lookup"))
    results.push_back(
        {"lookup",
         TimeOps(n, [&](int) { Check(m->Lookup(ctx, kRootIno, "f", nullptr, &a), "lookup"); }),
         1.5});
  if (chain) {
    results.push_back({"create",
                       TimeOps(n,
                               [&](int i) {
                                 Ino ino;
                                 Check(m->Create(ctx, dir, "c" + std::to_string(i), 0644, 0, O_RDWR,
                                                 &ino, nullptr),
                                       "create");
                                 Check(m->Close(ctx, ino), "close");
                               }),
                       4, true});
    results.push_back(
        {"mkdir",
         TimeOps(n,
                 [&](int i) {
                   Check(m->Mkdir(ctx, dir, "m" + std::to_string(i), 0755, 0, nullptr, nullptr),
                         "mkdir");
                 }),
         4, true});
    results.push_back({"rename",
                       TimeOps(n,
                               [&](int i) {
                                 Check(m->Rename(ctx, dir, "c" + std::to_string(i), dir,
                                                 "r" + std::to_string(i), 0, nullptr, nullptr),
                                       "rename");
                               }),
                       5, true});
    results.push_back(
        {"unlink",
         TimeOps(n, [&](int i) { Check(m->Unlink(ctx, dir, "r" + std::to_string(i)), "unlink"); }),
         4, true});
  }
  double readdir_floor = 0;
  if (Want("readdir")) {
    for (int i = 0; i < 1000; i++) {
      Ino ino;
      Check(m->Create(ctx, big, "e" + std::to_string(i), 0644, 0, O_RDWR, &ino, nullptr), "fill");
      Check(m->Close(ctx, ino), "close");
    }
    const int rounds = std::max(5, n / 20);
    // The floor of a readdir: the engine's own page query (1,001 rows, attributes joined) on a raw
    // connection, the rows fetched and dropped. It is what the server and the wire need whatever
    // the client does.
    const std::string edge = "jfs_" + g_prefix + "_edge", node = "jfs_" + g_prefix + "_node";
    const std::string sql =
        "SELECT e.name,e.inode,e.type,n.inode,n.type,n.flags,n.mode,n.uid,n.gid,n.atime,n.mtime,"
        "n.ctime,n.atimensec,n.mtimensec,n.ctimensec,n.nlink,n.length,n.rdev,n.parent,"
        "n.access_acl_id,n.default_acl_id,n.tier_id FROM " +
        edge + " e" + (pg ? "" : " FORCE INDEX(UQE_" + edge + "_edge)") + " LEFT JOIN " + node +
        " n ON n.inode=e.inode WHERE e.parent=" + std::to_string(big) +
        " AND e.name>'' ORDER BY e.name LIMIT 1001";
    readdir_floor = raw(sql, rounds);
    results.push_back({"readdir 1000 (plus)",
                       TimeOps(rounds,
                               [&](int) {
                                 std::string cursor;
                                 std::vector<Entry> out;
                                 Check(m->Readdir(ctx, big, true, &cursor, 0, &out), "readdir");
                                 if (out.size() != 1000 || !cursor.empty())
                                   Die("readdir: wrong page");
                               }),
                       8});
  }
  uint64_t id = 0;
  if (Want("write"))
    results.push_back({"slice write",
                       TimeOps(n,
                               [&](int i) {
                                 Check(m->NewSlice(ctx, &id), "newslice");
                                 Slice s;
                                 s.id = id;
                                 s.size = s.len = 4096;
                                 s.pos = static_cast<uint32_t>(i) * 4096;
                                 Check(m->Write(ctx, file, 0, s.pos, s), "write");
                               }),
                       3, true});
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::printf(
      "\n%s  (one round trip = SELECT 1 = %.1f us; after %d us of client work (idle) = %.1f us;\n"
      "  raw write floor = BEGIN + UPDATE + COMMIT in one request = %.1f us = %.2f round trips;\n"
      "  load average %.2f)\n",
      url.substr(0, url.find(':')).c_str(), rtt, kIdleUs, rtt_idle, floor, floor / rtt, load[0]);
  if (readdir_floor > 0) {
    std::printf(
        "  raw readdir floor = the engine's page query on a raw connection = %.1f us = %.2f "
        "round trips (%.2f idle)\n",
        readdir_floor, readdir_floor / rtt, readdir_floor / rtt_idle);
  }
  std::printf("  %-22s %10s %12s %8s      %-28s %-13s %s\n", "operation", "median us",
              "round trips", "goal", "statements / waits, CPU us", "x write floor", "idle RTs");
  bool all = true, all_idle = true;
  for (const Result& r : results) {
    const double trips = r.us / rtt, idle_trips = r.us / rtt_idle;
    all = all && trips <= r.goal;
    all_idle = all_idle && idle_trips <= r.goal;
    std::printf("  %-22s %10.1f %12.2f %8.1f %-4s  %5.2f / %4.2f  %8.1f", r.op, r.us, trips, r.goal,
                trips <= r.goal ? "ok" : "OVER", r.stmts, r.waits, r.cpu_us);
    if (r.write) {
      std::printf("        %6.2f", r.us / floor);
    } else {
      std::printf("        %6s", "");
    }
    std::printf("        %6.2f %s\n", idle_trips, idle_trips <= r.goal ? "ok" : "OVER");
  }
  std::printf("  goals %s in back-to-back round trips, %s in idle round trips\n",
              all ? "all met" : "missed", all_idle ? "all met" : "missed");
  if (!g_keep) Check(m->Reset(), "reset");
  return all;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 300;
  std::vector<std::string> urls;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--ops" && i + 1 < argc) {
      n = std::max(20, std::atoi(argv[++i]));
    } else if (a == "--only" && i + 1 < argc) {
      g_only = argv[++i];
    } else if (a == "--prefix" && i + 1 < argc) {
      g_prefix = argv[++i];
    } else if (a == "--keep") {
      g_keep = true;
    } else if (a == "-h" || a == "--help") {
      std::printf("usage: meta_sql_rtt [--ops N] [--keep] [--only OP] [--prefix P] [URL...]\n");
      return 0;
    } else {
      urls.push_back(a);
    }
  }
  if (urls.empty()) {
    for (const char* var : {"JFS_TEST_PG_URL", "JFS_TEST_MYSQL_URL"}) {
      if (const char* v = std::getenv(var); v && *v) urls.emplace_back(v);
    }
  }
  if (urls.empty()) Die("no URL given and JFS_TEST_PG_URL / JFS_TEST_MYSQL_URL unset");
  bool all = true;
  for (const std::string& url : urls) all = RunOne(url, n) && all;
  std::printf("\n%s\n", all ? "all goals met" : "some goals missed");
  std::printf("(test servers of scripts/servers.d: no durability, a commit flushes nothing)\n");
  return 0;
}
