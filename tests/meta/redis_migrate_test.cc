// The volume's slot migrates between two masters of the test cluster (JFS_TEST_REDIS_CLUSTER_URL,
// hash tag {56}) the way redis-cli --cluster reshard does it — CLUSTER SETSLOT IMPORTING /
// MIGRATING, MIGRATE of a few keys at a time, CLUSTER SETSLOT NODE — while a client keeps creating,
// writing and reading files. Nothing it was told succeeded may be lost and no error may surface.
//
// Half-way through each migration (keys split between the two nodes) a second client, whose
// transactions give up after 2 s, reads every file and commits a transaction that reads nothing:
// without ASK handling those would be refused until the migration ends, which the test holds back,
// so they would fail.
#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meta/base.h"
#include "meta/meta.h"
#include "meta/redis/redis_client.h"
#include "meta/redis/redis_engine.h"
#include "tests/meta/redis_test_util.h"
#include "tests/support/status_checks.h"

namespace jfs::meta {
namespace {

Format TestFormat() {
  Format f;
  f.name = "migrate";
  f.uuid = "5b0e0c1a-1111-4222-8333-944445553333";
  f.storage = "file";
  f.bucket = "/tmp/jfs-migrate/";
  f.block_size_kib = 4096;
  return f;
}

std::unique_ptr<Meta> OpenWith(const std::string& url, int retry_ms,
                               redis::RedisEngine** engine = nullptr) {
  std::unique_ptr<redis::RedisEngine> e;
  redis::RedisEngineOptions o;
  o.cluster_retry_ms = retry_ms;
  Status st = redis::RedisEngine::Open(url, &e, o);
  INFO(st.ToString());
  REQUIRE(st.ok());
  if (engine) *engine = e.get();
  return std::make_unique<BaseMeta>(std::move(e));
}

std::string NodeId(int port) {
  redis::Reply r = testing::NodeCmd(port, {"CLUSTER", "MYID"});
  REQUIRE(r->type == REDIS_REPLY_STRING);
  return std::string(r->str, r->len);
}

void RequireOk(const redis::Reply& r, const std::string& what) {
  INFO(what << ": " << (r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "ok"));
  REQUIRE(r->type != REDIS_REPLY_ERROR);
}

// Moves the keys of `slot` still on `src` to `dst`, a few at a time (REPLACE: a key left on dst by
// an interrupted run loses). `between` runs after each batch with the count moved so far.
void MoveKeys(uint16_t slot, int src, int dst, const std::function<void(long long)>& between) {
  long long moved = 0;
  for (;;) {
    redis::Reply keys =
        testing::NodeCmd(src, {"CLUSTER", "GETKEYSINSLOT", std::to_string(slot), "5"});
    REQUIRE(keys->type == REDIS_REPLY_ARRAY);
    if (keys->elements == 0) return;
    redis::Cmd migrate{"MIGRATE", "127.0.0.1", std::to_string(dst), "",
                       "0",       "5000",      "REPLACE",           "KEYS"};
    for (size_t i = 0; i < keys->elements; ++i) {
      migrate.emplace_back(keys->element[i]->str, keys->element[i]->len);
    }
    RequireOk(testing::NodeCmd(src, migrate), "MIGRATE");
    moved += static_cast<long long>(keys->elements);
    if (between) between(moved);
  }
}

// Gives `slot` to `dst` on every master (importing node first, as redis-cli does).
void AssignSlot(uint16_t slot, int dst, int src, const std::vector<int>& masters) {
  const std::string dst_id = NodeId(dst);
  RequireOk(testing::NodeCmd(dst, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", dst_id}),
            "SETSLOT NODE (dst)");
  RequireOk(testing::NodeCmd(src, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", dst_id}),
            "SETSLOT NODE (src)");
  for (int p : masters) {
    if (p != src && p != dst) {
      (void)testing::NodeCmd(p, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", dst_id});
    }
  }
}

// A run interrupted half-way leaves the slot migrating: finish that migration first.
void FinishStaleMigration(uint16_t slot, const std::vector<int>& masters) {
  int src = 0, dst = 0;
  for (int p : masters) {
    redis::Reply r = testing::NodeCmd(p, {"CLUSTER", "NODES"});
    REQUIRE(r->type != REDIS_REPLY_ERROR);
    const std::string text(r->str, r->len);
    const size_t me = text.find("myself");
    const std::string line = text.substr(me, text.find('\n', me) - me);
    if (line.find("[" + std::to_string(slot) + "->-") != std::string::npos) src = p;
    if (line.find("[" + std::to_string(slot) + "-<-") != std::string::npos) dst = p;
  }
  if (src && dst) {
    MoveKeys(slot, src, dst, nullptr);
    AssignSlot(slot, dst, src, masters);
  } else {
    for (int p : {src, dst}) {
      if (p) (void)testing::NodeCmd(p, {"CLUSTER", "SETSLOT", std::to_string(slot), "STABLE"});
    }
  }
}

// Creates a file with one 4 KiB slice; returns its inode.
Status MakeFile(Meta& m, Ino dir, const std::string& name, Ino* ino) {
  Context ctx;
  JFS_RETURN_IF_ERROR(m.Mknod(ctx, dir, name, kTypeFile, 0644, 0, 0, ino, nullptr));
  Slice s;
  JFS_RETURN_IF_ERROR(m.NewSlice(ctx, &s.id));
  s.size = s.len = 4096;
  return m.Write(ctx, *ino, 0, 0, s);
}

// The file exists, is 4 KiB long and reads one slice.
Status CheckFile(Meta& m, Ino dir, const std::string& name) {
  Context ctx;
  Ino ino = 0;
  Attr a;
  JFS_RETURN_IF_ERROR(m.Lookup(ctx, dir, name, &ino, &a));
  JFS_RETURN_IF_ERROR(m.GetAttr(ctx, ino, &a));
  if (a.length != 4096) return Status::IOError(name + ": length " + std::to_string(a.length));
  std::vector<SliceView> views;
  JFS_RETURN_IF_ERROR(m.Read(ctx, ino, 0, &views));
  if (views.empty() || views[0].id == 0) return Status::IOError(name + ": no slice");
  return Status::OK();
}

TEST_CASE("Redis Cluster: the volume's slot migrates under working clients", "[meta][redis]") {
  const std::string base = testing::RedisBaseUrl(true);
  const std::string url = base + "/56";
  const uint16_t slot = redis::KeySlot("{56}");
  const int seed_port = testing::UrlPort(base);
  const std::vector<int> masters = {seed_port, seed_port + 1, seed_port + 2};

  FinishStaleMigration(slot, masters);
  std::unique_ptr<Meta> m = OpenWith(url, 30000);
  REQUIRE_OK(m->Reset());
  REQUIRE_OK(m->Init(TestFormat(), false));
  REQUIRE_OK(m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}));
  Context ctx;
  Ino dir = 0;
  REQUIRE_OK(m->Mkdir(ctx, kRootIno, "d", 0755, 0, &dir, nullptr));
  std::mutex mu;
  std::vector<std::string> made;  // acknowledged files
  for (int i = 0; i < 30; ++i) {
    Ino ino = 0;
    REQUIRE_OK(MakeFile(*m, dir, "p" + std::to_string(i), &ino));
    made.push_back("p" + std::to_string(i));
  }

  redis::RedisEngine* check_engine = nullptr;
  std::unique_ptr<Meta> check = OpenWith(url, 2000, &check_engine);
  REQUIRE_OK(check->Load(nullptr));

  for (int round = 0; round < 2; ++round) {
    const int src = testing::SlotOwner(seed_port, slot).master;
    REQUIRE(src != 0);
    const int dst = src == masters[0] ? masters[1] : masters[0];
    INFO("round " << round << ": slot " << slot << " from " << src << " to " << dst);
    const std::string src_id = NodeId(src), dst_id = NodeId(dst);

    // The worker: creates and writes files, reads back older ones.
    std::atomic<bool> stop{false};
    std::vector<Status> errors;
    std::thread worker([&, round] {
      for (int i = 0; !stop.load(); ++i) {
        const std::string name = "r" + std::to_string(round) + "_" + std::to_string(i);
        Ino ino = 0;
        Status st = MakeFile(*m, dir, name, &ino);
        std::string older;
        {
          std::lock_guard<std::mutex> l(mu);
          if (st.ok()) made.push_back(name);
          older = made[static_cast<size_t>(i) % made.size()];
        }
        if (st.ok()) st = CheckFile(*m, dir, older);
        if (!st.ok()) {
          std::lock_guard<std::mutex> l(mu);
          errors.push_back(st);
        }
      }
    });
    testing::StopAndJoin joiner{stop, worker};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

    RequireOk(
        testing::NodeCmd(dst, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", src_id}),
        "SETSLOT IMPORTING");
    RequireOk(
        testing::NodeCmd(src, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", dst_id}),
        "SETSLOT MIGRATING");
    redis::Reply count =
        testing::NodeCmd(src, {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)});
    REQUIRE(count->type == REDIS_REPLY_INTEGER);
    const long long total = count->integer;
    REQUIRE(total > 60);
    bool checked = false;
    MoveKeys(slot, src, dst, [&](long long moved) {
      if (!checked && moved >= total / 2) {
        checked = true;
        // Keys split between src and dst, the slot still migrating: everything must read.
        std::vector<std::string> names;
        {
          std::lock_guard<std::mutex> l(mu);
          names = made;
        }
        for (const std::string& n : names) {
          Status st = CheckFile(*check, dir, n);
          INFO(n << ": " << st.ToString());
          CHECK(st.ok());
          if (!st.ok()) break;  // one is enough (each waits out the 2 s)
        }
        std::string cursor;
        std::vector<Entry> entries;
        size_t listed = 0;
        do {
          Status st = check->Readdir(ctx, dir, true, &cursor, 50, &entries);
          INFO(st.ToString());
          CHECK(st.ok());
          if (!st.ok()) break;
          listed += entries.size();
        } while (!cursor.empty());
        CHECK(listed >= names.size());
        // A transaction that reads nothing, on a key the source does not hold: MULTI/EXEC goes
        // to the importing node after ASKING.
        const Ino fake = (Ino{1} << 40) + static_cast<Ino>(round);
        Status st = check_engine->Txn(
            [&](Tx& tx) { return tx.PutSymlink(fake, "t" + std::to_string(round)); });
        INFO(st.ToString());
        CHECK(st.ok());
        std::string target;
        st = check_engine->Txn([&](Tx& tx) { return tx.GetSymlink(fake, &target); }, true);
        INFO(st.ToString());
        CHECK(st.ok());
        CHECK(target == "t" + std::to_string(round));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    });
    CHECK(checked);
    AssignSlot(slot, dst, src, masters);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop = true;
    worker.join();
    for (const Status& st : errors) {
      INFO(st.ToString());
      CHECK(st.ok());
    }
    CHECK(testing::SlotOwner(dst, slot).master == dst);
  }

  // Everything acknowledged is there, through both clients.
  for (const std::string& n : made) {
    INFO(n);
    REQUIRE_OK(CheckFile(*m, dir, n));
    REQUIRE_OK(CheckFile(*check, dir, n));
  }
  Attr a;
  REQUIRE_OK(m->GetAttr(ctx, dir, &a));
  REQUIRE_OK(m->CloseSession());
}

}  // namespace
}  // namespace jfs::meta
