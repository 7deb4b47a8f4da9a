// Failovers under a working client, on the test cluster with replicas (JFS_TEST_REDIS_FAILOVER_URL:
// 3 masters with one replica each, cluster-node-timeout 1000 ms; hash tag {7}):
//   1. a manual CLUSTER FAILOVER on the replica of the volume's master: the old master turns
//      replica and answers MOVED; no error may surface;
//   2. the new master is killed (SIGKILL) and its replica takes over by election: the client finds
//      the new master by itself. The one commit in flight when the master died may fail with
//      "outcome unknown" EIO; nothing else may.
// Every create the client was told succeeded must be there afterwards. The killed node is started
// again from its redis.conf and rejoins as a replica, so the test can run again.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta.h"
#include "meta/redis/redis_client.h"
#include "tests/meta/redis_test_util.h"
#include "tests/support/status_checks.h"

extern char** environ;

namespace jfs::meta {
namespace {

Format TestFormat() {
  Format f;
  f.name = "failover";
  f.uuid = "5b0e0c1a-1111-4222-8333-944445554444";
  f.storage = "file";
  f.bucket = "/tmp/jfs-failover/";
  f.block_size_kib = 4096;
  return f;
}

// Polls `ok` every 50 ms for up to `seconds`.
template <typename F>
bool WaitFor(double seconds, F ok) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return ok();
}

bool ReplicaInSync(int port) {
  return testing::NodeInfo(port, "replication", "role") == "slave" &&
         testing::NodeInfo(port, "replication", "master_link_status") == "up";
}

TEST_CASE("Redis Cluster: failovers under a working client", "[meta][redis]") {
  const char* v = std::getenv("JFS_TEST_REDIS_FAILOVER_URL");
  INFO("JFS_TEST_REDIS_FAILOVER_URL is not set: start the servers with scripts/servers.sh");
  REQUIRE((v && *v));
  const std::string base = v, url = base + "/7";
  const int seed = testing::UrlPort(base);
  const uint16_t slot = redis::KeySlot("{7}");
  std::vector<int> ports;
  for (int i = 0; i < 6; ++i) ports.push_back(seed + i);
  auto owner = [&]() {  // as the first answering node sees it
    for (int p : ports) {
      testing::SlotNodes n = testing::SlotOwner(p, slot);
      if (n.master != 0) return n;
    }
    return testing::SlotNodes{};
  };

  // A replica of the slot's master, in sync (a previous run's restarted node may still be syncing).
  testing::SlotNodes nodes;
  REQUIRE(WaitFor(15, [&] {
    nodes = owner();
    return !nodes.replicas.empty() && ReplicaInSync(nodes.replicas[0]);
  }));
  const int first_master = nodes.master, first_replica = nodes.replicas[0];

  std::unique_ptr<Meta> m = testing::FreshRedisMeta(url);
  REQUIRE_OK(m->Init(TestFormat(), false));
  REQUIRE_OK(m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}));
  Context ctx;
  Ino dir = 0;
  REQUIRE_OK(m->Mkdir(ctx, kRootIno, "d", 0755, 0, &dir, nullptr));

  std::mutex mu;
  std::vector<std::string> made;
  std::vector<Status> errors;
  std::atomic<bool> stop{false};
  std::thread worker([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string name = "f" + std::to_string(i);
      Ino ino = 0;
      Status st = m->Mknod(ctx, dir, name, kTypeFile, 0644, 0, 0, &ino, nullptr);
      if (st.ok()) {
        Slice s;
        st = m->NewSlice(ctx, &s.id);
        s.size = s.len = 4096;
        if (st.ok()) st = m->Write(ctx, ino, 0, 0, s);
      }
      Attr a;
      if (st.ok()) st = m->GetAttr(ctx, dir, &a);
      std::lock_guard<std::mutex> l(mu);
      if (st.ok()) {
        made.push_back(name);
      } else {
        errors.push_back(st);
      }
    }
  });
  testing::StopAndJoin joiner{stop, worker};
  auto made_count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return made.size();
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(200));

  // 1. Manual failover: the replica takes over, the old master becomes its replica.
  redis::Reply r = testing::NodeCmd(first_replica, {"CLUSTER", "FAILOVER"});
  INFO("CLUSTER FAILOVER: " << (r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : ""));
  REQUIRE(r->type != REDIS_REPLY_ERROR);
  CHECK(WaitFor(10, [&] { return owner().master == first_replica; }));
  size_t before = made_count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(made_count() > before);  // the client works on the new master
  {
    std::lock_guard<std::mutex> l(mu);
    for (const Status& st : errors) {
      INFO("after the manual failover: " << st.ToString());
      CHECK(st.ok());
    }
  }

  // 2. The new master dies; its replica (the first master) is elected.
  REQUIRE(WaitFor(15, [&] { return ReplicaInSync(first_master); }));
  const std::string pid = testing::NodeInfo(first_replica, "server", "process_id");
  redis::Reply conf = testing::NodeCmd(first_replica, {"CONFIG", "GET", "dir"});
  REQUIRE(conf->type == REDIS_REPLY_ARRAY);
  REQUIRE(conf->elements == 2);
  const std::string node_dir(conf->element[1]->str, conf->element[1]->len);
  REQUIRE(!pid.empty());
  REQUIRE(::kill(std::atoi(pid.c_str()), SIGKILL) == 0);
  CHECK(WaitFor(20, [&] { return testing::SlotOwner(first_master, slot).master == first_master; }));
  before = made_count();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(made_count() > before);
  stop = true;
  worker.join();

  // The killed node comes back (daemonized, from its redis.conf) as a replica.
  const char* bin = std::getenv("JFS_TEST_REDIS_SERVER");
  INFO("JFS_TEST_REDIS_SERVER is not set");
  REQUIRE((bin && *bin));
  std::vector<std::string> args = {bin, node_dir + "/redis.conf"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = -1;
  REQUIRE(posix_spawn(&child, bin, nullptr, nullptr, argv.data(), environ) == 0);
  int status = 0;
  ::waitpid(child, &status, 0);

  for (const Status& st : errors) {
    INFO(st.ToString());
    CHECK(st.message().find("outcome is unknown") != std::string::npos);
  }
  CHECK(errors.size() <= 1);
  INFO(made.size() << " files acknowledged");
  CHECK(made.size() > 10);
  for (const std::string& n : made) {
    Ino ino = 0;
    Attr a;
    Status st = m->Lookup(ctx, dir, n, &ino, &a);
    INFO(n << ": " << st.ToString());
    REQUIRE(st.ok());
    CHECK(a.length == 4096);
  }
  REQUIRE_OK(m->Mkdir(ctx, kRootIno, "after", 0755, 0, nullptr, nullptr));
  REQUIRE_OK(m->CloseSession());
  CHECK(WaitFor(15, [&] { return ReplicaInSync(first_replica); }));
}

}  // namespace
}  // namespace jfs::meta
