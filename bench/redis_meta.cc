// Redis metadata engine latency in round trips. One round trip is measured in the same run twice:
// as the mean latency of a single GET on one hiredis connection (this client's per-command cost
// included), and with `redis-benchmark -c 1 -t get` when it is installed (1 / its requests per
// second). Each metadata operation's mean latency is printed in µs and divided by both, next to
// the pipelines it sent (counted; the goals are stated in round trips).
//
//   build/bench/redis_meta [META-URL] [N]     (default redis://127.0.0.1:16379/60, N = 2000)
// The database is emptied first (Meta::Reset) — point it at a scratch database.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "meta/meta.h"
#include "meta/redis/redis_client.h"

using namespace jfs;
using namespace jfs::meta;
using Clock = std::chrono::steady_clock;

namespace {

void Check(const Status& st, const char* what) {
  if (st.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
  std::exit(1);
}

double g_trips = 0;  // pipelines per call of the last Time()

// Mean µs per call of fn(i) for i in [0, n); g_trips gets the mean pipelines sent per call.
double Time(int n, const std::function<void(int)>& fn) {
  const uint64_t trips0 = redis::RoundTrips();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) fn(i);
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / n;
  g_trips = static_cast<double>(redis::RoundTrips() - trips0) / n;
  return us;
}

// Mean µs of one GET measured by `redis-benchmark -c 1 -t get` against the same server, 0 when it
// cannot be run.
double RedisBenchmarkGet(const redis::RedisUrl& u, bool cluster) {
  if (!u.unix_path.empty()) return 0;
  std::string cmd = "redis-benchmark -h " + u.host + " -p " + std::to_string(u.port) +
                    " -c 1 -n 20000 -t get -q" + (cluster ? " --cluster" : "") +
                    (u.password.empty() ? "" : " -a '" + u.password + "'") + " 2>/dev/null";
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return 0;
  std::string out;
  char buf[512];
  while (std::fgets(buf, sizeof buf, f)) out += buf;
  pclose(f);
  // "GET: 18761.73 requests per second, p50=0.047 msec"; with \r progress lines before it.
  const size_t at = out.rfind("GET: ");
  if (at == std::string::npos) return 0;
  const double rps = std::atof(out.c_str() + at + 5);
  return rps > 0 ? 1e6 / rps : 0;
}

// What the server reports about itself (INFO commandstats, INFO cpu).
struct ServerStats {
  std::string text;
  double cpu_us = 0;
  // cmdstat_NAME:calls=C,usec=U,...
  double field(const std::string& cmd, const std::string& f) const {
    const size_t at = text.find("cmdstat_" + cmd + ":");
    if (at == std::string::npos) return 0;
    const size_t v = text.find(f + "=", at);
    return v == std::string::npos ? 0 : std::atof(text.c_str() + v + f.size() + 1);
  }
  double calls(const std::string& cmd) const { return field(cmd, "calls"); }
  double usec(const std::string& cmd) const { return field(cmd, "usec"); }
};

ServerStats Stats(redis::Conn* conn) {
  ServerStats s;
  redis::Reply r;
  Check(conn->Call({"INFO", "commandstats"}, &r), "info");
  s.text = std::string(r->str, r->len);
  Check(conn->Call({"INFO", "cpu"}, &r), "info");
  const std::string cpu(r->str, r->len);
  for (const char* f : {"used_cpu_sys:", "used_cpu_user:"}) {
    const size_t at = cpu.find(f);
    if (at != std::string::npos) s.cpu_us += 1e6 * std::atof(cpu.c_str() + at + std::strlen(f));
  }
  return s;
}

std::string Fmt(double total, double calls) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", calls > 0 ? total / calls : 0.0);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string url = argc > 1 ? argv[1] : "redis://127.0.0.1:16379/60";
  const int n = argc > 2 ? std::atoi(argv[2]) : 2000;
  if (n <= 0) return 2;

  redis::RedisUrl u;
  Check(redis::ParseRedisUrl(url, &u), "url");
  std::unique_ptr<redis::RedisClient> raw;
  Check(redis::RedisClient::Open(u, &raw), "connect");
  std::unique_ptr<redis::Conn> conn;
  Check(raw->Lease(&conn), "lease");
  redis::Reply r;
  Check(conn->Call({"SET", raw->prefix() + "bench-key", "x"}, &r), "set");
  auto get = [&](int) { Check(conn->Call({"GET", raw->prefix() + "bench-key"}, &r), "get"); };
  Time(n / 4, get);  // warm up
  const double rt = Time(n, get);

  std::unique_ptr<Meta> m;
  Check(NewMeta(url, &m), "open");
  const double bench_rt = RedisBenchmarkGet(u, raw->cluster());
  Check(m->Reset(), "reset");
  Format f;
  f.name = "bench";
  f.uuid = "b3c40000-0000-4000-8000-000000000001";
  f.storage = "file";
  f.bucket = "/tmp/jfs-bench/";
  f.block_size_kib = 4096;
  Check(m->Init(f, false), "format");
  Check(m->NewSession(SessionInfo{"bench", "host", {}, "/", 0, 1}), "session");
  Context ctx;
  Ino dir = 0, file = 0;
  Check(m->Mkdir(ctx, kRootIno, "d", 0755, 0, &dir, nullptr), "mkdir");
  Check(m->Create(ctx, dir, "f", 0644, 0, 0, &file, nullptr), "create");

  struct Row {
    const char* op;
    double us;
    double goal;
    double trips = 0;  // pipelines per op, counted
  };
  std::vector<Row> rows;
  auto add = [&](Row r) {  // runs after Time() in r's initializer: g_trips is that row's
    r.trips = g_trips;
    rows.push_back(r);
  };
  std::string server_note;
  Attr a;
  add({"getattr", Time(n, [&](int) { Check(m->GetAttr(ctx, file, &a), "getattr"); }), 1.1});
  add({"lookup",
       Time(n,
            [&](int) {
              Ino ino;
              Check(m->Lookup(ctx, dir, "f", &ino, &a), "lookup");
            }),
       1.1});
  Ino c = 0;
  Check(m->Mkdir(ctx, kRootIno, "c", 0755, 0, &c, nullptr), "mkdir");
  add({"create+close",
       Time(n,
            [&](int i) {
              Ino ino;
              Check(m->Create(ctx, c, "f" + std::to_string(i), 0644, 0, 0, &ino, nullptr),
                    "create");
              Check(m->Close(ctx, ino), "close");
            }),
       3});
  add({"mkdir",
       Time(n,
            [&](int i) {
              Check(m->Mkdir(ctx, c, "d" + std::to_string(i), 0755, 0, nullptr, nullptr), "mkdir");
            }),
       3});
  add({"rename",
       Time(n,
            [&](int i) {
              Check(m->Rename(ctx, c, "f" + std::to_string(i), c, "g" + std::to_string(i), 0,
                              nullptr, nullptr),
                    "rename");
            }),
       4});
  add({"unlink",
       Time(n, [&](int i) { Check(m->Unlink(ctx, c, "g" + std::to_string(i)), "unlink"); }), 3});
  Ino big = 0;
  Check(m->Mkdir(ctx, kRootIno, "big", 0755, 0, &big, nullptr), "mkdir");
  for (int i = 0; i < 1000; ++i) {
    Check(m->Mknod(ctx, big, "e" + std::to_string(i), kTypeFile, 0644, 0, 0, nullptr, nullptr),
          "mknod");
  }
  auto readdir = [&](bool plus) {
    std::string cursor;
    std::vector<Entry> out;
    size_t total = 0;
    do {
      Check(m->Readdir(ctx, big, plus, &cursor, 0, &out), "readdir");
      total += out.size();
    } while (!cursor.empty());
    if (total != 1000) Check(Status::IOError("readdir count"), "readdir");
  };
  const int nr = std::max(1, n / 20);
  Time(nr / 4 + 1, [&](int) { readdir(true); });  // warm up
  add({"readdir 1000 (plus)", Time(nr, [&](int) { readdir(true); }), 6});
  add({"readdir 1000 (names)", Time(nr, [&](int) { readdir(false); }), 0});
  // The floor for readdir: the same reads done raw on the hiredis connection (GET of the
  // directory's attr for the permission check, HGETALL of the entries, MGET of their attributes),
  // so the client's own cost shows as the difference. The server's own time per command comes
  // from INFO commandstats (execution only: parsing the request and writing the reply excluded)
  // and its CPU per raw readdir from INFO cpu (everything; other clients' load included).
  {
    const std::string dkey = raw->prefix() + "d" + std::to_string(big);
    const std::string akey = raw->prefix() + "i" + std::to_string(big);
    redis::Cmd mget{"MGET"};
    Check(conn->Call({"HGETALL", dkey}, &r), "hgetall");
    for (size_t i = 1; i < r->elements; i += 2) {
      uint64_t ino = 0;  // entry: type byte, then the inode big-endian
      for (size_t j = 1; j < 9 && j < r->element[i]->len; ++j) {
        ino = ino << 8 | static_cast<unsigned char>(r->element[i]->str[j]);
      }
      mget.push_back(raw->prefix() + "i" + std::to_string(ino));
    }
    auto raw_readdir = [&](int) {
      Check(conn->Call({"GET", akey}, &r), "get");
      Check(conn->Call({"HGETALL", dkey}, &r), "hgetall");
      Check(conn->Call(mget, &r), "mget");
      if (r->elements != 1000) Check(Status::IOError("mget count"), "mget");
    };
    const ServerStats s0 = Stats(conn.get());
    add({"  raw GET+HGETALL+MGET", Time(nr, raw_readdir), 0});
    const ServerStats s1 = Stats(conn.get());
    add({"  raw HGETALL",
         Time(nr,
              [&](int) {
                Check(conn->Call({"HGETALL", dkey}, &r), "hg");
              }),
         0});
    add({"  raw MGET", Time(nr, [&](int) { Check(conn->Call(mget, &r), "mget"); }), 0});
    // Both in one pipeline (not possible for a real readdir: the MGET needs the HGETALL's
    // answer), i.e. one network round trip plus the server's and the parser's work.
    std::vector<redis::Reply> rs;
    add({"  raw both, 1 pipeline",
         Time(nr,
              [&](int) {
                Check(conn->Pipeline({{"HGETALL", dkey}, mget}, &rs), "pipe");
              }),
         0});
    server_note =
        "server per raw readdir: HGETALL " +
        Fmt(s1.usec("hgetall") - s0.usec("hgetall"), s1.calls("hgetall") - s0.calls("hgetall")) +
        " us, MGET " + Fmt(s1.usec("mget") - s0.usec("mget"), s1.calls("mget") - s0.calls("mget")) +
        " us (commandstats), CPU " + Fmt((s1.cpu_us - s0.cpu_us), nr) + " us (INFO cpu)";
  }
  add({"slice write",
       Time(n,
            [&](int i) {
              uint64_t id = 0;
              Check(m->NewSlice(ctx, &id), "newslice");
              Slice s;
              s.id = id;
              s.size = s.len = 4096;
              Check(m->Write(ctx, file, 0, static_cast<uint32_t>(i % 1000) * 4096, s), "write");
            }),
       2});

  std::printf(
      "Redis %s, %d ops each; 1 round trip = GET on 1 connection: %.1f us (hiredis), "
      "%.1f us (redis-benchmark -c 1)\n",
      u.display.c_str(), n, rt, bench_rt);
  std::printf("%-22s %10s %12s %12s %14s %6s\n", "operation", "us/op", "RT(hiredis)", "RT(r-bench)",
              "pipelines/op", "goal");
  for (const Row& row : rows) {
    std::printf("%-22s %10.1f %12.2f %12.2f %14.2f %6.1f\n", row.op, row.us, row.us / rt,
                bench_rt > 0 ? row.us / bench_rt : 0.0, row.trips, row.goal);
  }
  std::printf("%s\n", server_note.c_str());
  Check(m->CloseSession(), "close session");
  return 0;
}
