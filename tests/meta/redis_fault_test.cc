// Faults against a private redis-server this test starts ($JFS_TEST_REDIS_SERVER, port 16391, a
// password, append-only file so that a killed server comes back with its data): wrong and missing
// passwords, the server killed and restarted under a running client, and maxmemory (OOM) → ENOSPC.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "meta/meta.h"
#include "meta/redis/redis_client.h"
#include "tests/meta/redis_test_util.h"
#include "tests/object/temp_dir.h"
#include "tests/support/status_checks.h"

extern char** environ;

namespace jfs::meta {
namespace {

constexpr int kPort = 16391;
const std::string kUrl = "redis://:s3cret@127.0.0.1:16391/0";

// A redis-server child process; killed (SIGKILL) by Kill() and the destructor.
class Server {
 public:
  explicit Server(std::string dir) : dir_(std::move(dir)) {}
  ~Server() { Kill(); }

  void Start() {
    const char* bin = std::getenv("JFS_TEST_REDIS_SERVER");
    INFO("JFS_TEST_REDIS_SERVER is not set: start the servers with scripts/servers.sh");
    REQUIRE((bin && *bin));
    std::vector<std::string> args = {bin,
                                     "--port",
                                     std::to_string(kPort),
                                     "--bind",
                                     "127.0.0.1",
                                     "--requirepass",
                                     "s3cret",
                                     "--dir",
                                     dir_,
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "yes",
                                     "--appendfsync",
                                     "always",
                                     "--logfile",
                                     dir_ + "/r.log"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, bin, nullptr, nullptr, argv.data(), environ) == 0);
    // Ready when an authenticated PING answers.
    for (int i = 0; i < 200; ++i) {
      redis::RedisUrl u;
      REQUIRE(redis::ParseRedisUrl(kUrl, &u).ok());
      std::unique_ptr<redis::RedisClient> c;
      if (redis::RedisClient::Open(u, &c).ok()) {
        std::vector<redis::Reply> rs;
        if (c->Run({{"PING"}}, &rs).ok() && rs[0]->type == REDIS_REPLY_STATUS) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    FAIL("redis-server on port " << kPort << " did not start (log: " << dir_ << "/r.log)");
  }
  void Kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  std::string dir_;
  pid_t pid_ = -1;
};

Format TestFormat() {
  Format f;
  f.name = "faults";
  f.uuid = "5b0e0c1a-1111-4222-8333-94444555fa17";
  f.storage = "file";
  f.bucket = "/tmp/jfs-faults/";
  f.block_size_kib = 4096;
  return f;
}

TEST_CASE("Redis faults: passwords, a restarted server, OOM", "[meta][redis]") {
  jfs::testing::TempDir dir;
  Server server(dir.path());
  server.Start();
  Context ctx;

  std::unique_ptr<Meta> m = testing::FreshRedisMeta(kUrl);
  REQUIRE_OK(m->Init(TestFormat(), false));

  SECTION("wrong or missing password → EACCES naming the server") {
    std::unique_ptr<Meta> other;
    Status st = NewMeta("redis://:nope@127.0.0.1:16391/0", &other);
    INFO(st.ToString());
    CHECK(st.code() == EACCES);
    CHECK(st.message().find("127.0.0.1:16391") != std::string::npos);
    st = NewMeta("redis://127.0.0.1:16391/0", &other);
    INFO(st.ToString());
    CHECK(st.code() == EACCES);
    // The password may come from the environment.
    ::setenv("META_PASSWORD", "s3cret", 1);
    st = NewMeta("redis://127.0.0.1:16391/0", &other);
    ::unsetenv("META_PASSWORD");
    REQUIRE_OK(st);
    Format f;
    REQUIRE_OK(other->Load(&f));
    CHECK(f.name == "faults");
  }

  SECTION("a killed and restarted server needs no client restart") {
    REQUIRE_OK(m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}));
    Ino d = 0;
    REQUIRE_OK(m->Mkdir(ctx, kRootIno, "before", 0755, 0, &d, nullptr));
    // A writer runs through the outage; every create it saw succeed must exist afterwards and
    // the ones that failed must have failed with EIO.
    std::atomic<bool> stop{false};
    std::set<std::string> made;
    std::vector<Status> failures;
    std::thread writer([&] {
      for (int i = 0; !stop.load(); ++i) {
        std::string name = "f" + std::to_string(i);
        Ino ino = 0;
        Status st = m->Mknod(ctx, d, name, kTypeFile, 0644, 0, 0, &ino, nullptr);
        if (st.ok()) {
          made.insert(name);
        } else {
          failures.push_back(st);
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    server.Kill();
    Attr a;
    Status down = m->GetAttr(ctx, d, &a);
    CHECK(down.code() == EIO);
    server.Start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    stop = true;
    writer.join();
    for (const Status& st : failures) {
      INFO(st.ToString());
      CHECK(st.code() == EIO);
    }
    // The same client works again and sees everything it was told was made.
    REQUIRE_OK(m->GetAttr(ctx, d, &a));
    std::string cursor;
    std::vector<Entry> entries;
    std::set<std::string> listed;
    do {
      REQUIRE_OK(m->Readdir(ctx, d, false, &cursor, 100, &entries));
      for (const Entry& e : entries) listed.insert(e.name);
    } while (!cursor.empty());
    for (const std::string& n : made) {
      INFO(n);
      CHECK(listed.count(n) == 1);
    }
    // A create whose EXEC was cut off may have happened without its caller knowing: that is the
    // "outcome unknown" EIO; anything listed beyond `made` must be one of those.
    CHECK(listed.size() <= made.size() + failures.size());
    CHECK(a.nlink == 2);
    REQUIRE_OK(m->Mkdir(ctx, kRootIno, "after", 0755, 0, nullptr, nullptr));
    REQUIRE_OK(m->CloseSession());
  }

  SECTION("maxmemory reached → ENOSPC with the Redis message, nothing half-written") {
    testing::RawRedis raw(kUrl);
    raw.Do({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
    raw.Do({"CONFIG", "SET", "maxmemory", "1"});
    Ino ino = 0;
    Status st = m->Mkdir(ctx, kRootIno, "full", 0755, 0, &ino, nullptr);
    raw.Do({"CONFIG", "SET", "maxmemory", "0"});
    INFO(st.ToString());
    CHECK(st.code() == ENOSPC);
    CHECK(st.message().find("OOM") != std::string::npos);
    CHECK(m->Lookup(ctx, kRootIno, "full", &ino, nullptr).code() == ENOENT);
    Attr root;
    REQUIRE_OK(m->GetAttr(ctx, kRootIno, &root));
    CHECK(root.nlink == 2);
    REQUIRE_OK(m->Mkdir(ctx, kRootIno, "full", 0755, 0, &ino, nullptr));
  }
}

}  // namespace
}  // namespace jfs::meta
