// BaseMeta over the in-memory engine: the conformance suite, plus what only MemEngine can show —
// a failing transaction at any point leaves no trace, retried transactions apply their effects
// once, and concurrent clients keep the counters right.
#include <fcntl.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "meta/base.h"
#include "meta/mem_engine.h"
#include "tests/meta/conformance.h"
#include "tests/support/status_checks.h"

namespace jfs::meta {
namespace {

using SliceKey = std::pair<uint64_t, uint32_t>;

TEST_CASE("BaseMeta over MemEngine passes the Meta conformance suite", "[meta][base]") {
  std::shared_ptr<MemEngine> store;  // the database new_database made last
  testing::MetaBackend backend;
  backend.new_database = [&store]() -> std::unique_ptr<Meta> {
    store = std::make_shared<MemEngine>();
    return std::make_unique<BaseMeta>(store->NewClient());
  };
  backend.another_client = [&store]() -> std::unique_ptr<Meta> {
    return std::make_unique<BaseMeta>(store->NewClient());
  };
  testing::RunMetaConformance(backend);
}

// ---- MemEngine itself ----------------------------------------------------------------------

TEST_CASE("MemEngine rolls back failed transactions and refuses misuse", "[meta][mem]") {
  MemEngine e;
  REQUIRE_OK(e.InitSchema());
  uint64_t first = 0;
  REQUIRE_OK(e.Txn([&](Tx& tx) { return tx.Alloc("nextInode", 1024, &first); }));
  CHECK(first == 2);  // SQL "next free" semantics
  REQUIRE_OK(e.Txn([&](Tx& tx) { return tx.Alloc("nextInode", 1024, &first); }));
  CHECK(first == 1026);

  std::string before = e.Dump();
  Status st = e.Txn([&](Tx& tx) {
    Attr a;
    a.typ = kTypeFile;
    JFS_RETURN_IF_ERROR(tx.PutAttr(5, a));
    JFS_RETURN_IF_ERROR(tx.PutEntry(1, "x", 5, kTypeFile));
    JFS_RETURN_IF_ERROR(tx.AppendChunk(5, 0, "abc"));
    JFS_RETURN_IF_ERROR(tx.PutXattr(5, "k", "v"));
    JFS_RETURN_IF_ERROR(tx.IncrCounter("usedSpace", 4096, nullptr));
    JFS_RETURN_IF_ERROR(tx.PutSetting("{}"));
    return Status::Error(EIO, "give up");
  });
  CHECK(st.code() == EIO);
  CHECK(e.Dump() == before);

  // Writes in a read-only transaction and nested transactions are bugs in the caller.
  st = e.Txn([&](Tx& tx) { return tx.PutSymlink(5, "t"); }, /*read_only=*/true);
  CHECK(st.code() == EIO);
  st = e.Txn([&](Tx&) { return e.Txn([](Tx&) { return Status::OK(); }); });
  CHECK(st.code() == EDEADLK);

  // Injected failures hit exactly the n-th call, once.
  e.FailTxCall(2, Status::Error(EROFS, "injected"));
  int calls = 0;
  st = e.Txn([&](Tx& tx) {
    int64_t v = 0;
    ++calls;
    JFS_RETURN_IF_ERROR(tx.GetCounter("usedSpace", &v));
    return tx.IncrCounter("usedSpace", 1, &v);
  });
  CHECK(st.code() == EROFS);
  CHECK(e.Dump() == before);
  REQUIRE_OK(e.Txn([&](Tx& tx) { return tx.IncrCounter("usedSpace", 1, nullptr); }));
  CHECK(e.Dump() != before);

  // Forced retries run the callback again on a clean state.
  e.ForceRetries(1);
  calls = 0;
  int64_t seen = -1;
  REQUIRE_OK(e.Txn([&](Tx& tx) {
    ++calls;
    return tx.IncrCounter("totalInodes", 1, &seen);
  }));
  CHECK(calls == 2);
  CHECK(seen == 1);

  // Clients share the store.
  auto other = e.NewClient();
  CHECK(other->Dump() == e.Dump());
}

TEST_CASE("MemEngine pages directory entries by cursor", "[meta][mem]") {
  MemEngine e;
  REQUIRE_OK(e.Txn([&](Tx& tx) {
    for (int i = 0; i < 25; ++i) {
      JFS_RETURN_IF_ERROR(tx.PutEntry(7, "n" + std::to_string(100 + i), 100 + i, kTypeFile));
    }
    return tx.PutEntry(8, "other", 1, kTypeFile);
  }));
  std::string cursor;
  std::vector<Entry> page;
  std::vector<std::string> names;
  int pages = 0;
  do {
    REQUIRE_OK(e.Txn([&](Tx& tx) { return tx.ListEntries(7, &cursor, 10, &page); }, true));
    for (auto& en : page) names.push_back(en.name);
    ++pages;
  } while (!cursor.empty());
  CHECK(pages == 3);
  REQUIRE(names.size() == 25);
  CHECK(names.front() == "n100");
  CHECK(names.back() == "n124");
}

// ---- failure injection ---------------------------------------------------------------------

// A small volume in a fixed state, on its own MemEngine.
struct Volume {
  Volume() {
    auto e = std::make_unique<MemEngine>();
    engine = e.get();
    meta = std::make_unique<BaseMeta>(std::move(e));
    Format f;
    f.name = "inject";
    f.trash_days = 0;  // removals free at once
    f.uuid = "9c0e3c0a-0000-4000-8000-000000000001";
    f.capacity = 1ULL << 40;
    f.inodes = 1 << 20;
    REQUIRE_OK(meta->Init(f, false));
    REQUIRE_OK(meta->NewSession(SessionInfo{}));
    // Releasing a removed file's data is a later step of its own (delfiles, retried until done);
    // these scenarios cover the removing transactions, so the release is left queued.
    meta->OnDeleteFile([](Ino, uint64_t) {});
    meta->OnDeleteSlice([this](uint64_t id, uint32_t size) {
      std::lock_guard<std::mutex> l(mu);
      deleted.emplace_back(id, size);
    });
    REQUIRE_OK(meta->Mkdir(c, kRootIno, "d1", 0755, 0, &d1, nullptr));
    REQUIRE_OK(meta->Mkdir(c, kRootIno, "d2", 0755, 0, &d2, nullptr));
    REQUIRE_OK(meta->Mkdir(c, d2, "sub", 0755, 0, &sub, nullptr));
    REQUIRE_OK(meta->Mknod(c, d1, "f", kTypeFile, 0644, 0, 0, &f1, nullptr));
    REQUIRE_OK(meta->Mknod(c, d1, "g", kTypeFile, 0644, 0, 0, &g1, nullptr));
    REQUIRE_OK(meta->Link(c, g1, d2, "g2", nullptr));
    REQUIRE_OK(meta->Symlink(c, d1, "sym", "f", &sym, nullptr));
    REQUIRE_OK(meta->SetXattr(c, f1, "user.k", "v", 0));
    for (uint32_t indx : {0u, 1u, 3u}) {
      for (uint32_t pos : {0u, 4096u}) {
        Slice s{0, 0, 8192, 0, 8192};
        REQUIRE_OK(meta->NewSlice(c, &s.id));
        REQUIRE_OK(meta->Write(c, f1, indx, pos, s));
        Slice t{0, 0, 100, 0, 100};
        REQUIRE_OK(meta->NewSlice(c, &t.id));
        REQUIRE_OK(meta->Write(c, g1, indx, pos, t));
      }
    }
    // An unlinked file this client still has open.
    REQUIRE_OK(meta->Create(c, d1, "open", 0644, 0, O_RDWR, &open, nullptr));
    Slice s{0, 0, 10, 0, 10};
    REQUIRE_OK(meta->NewSlice(c, &s.id));
    REQUIRE_OK(meta->Write(c, open, 0, 0, s));
    REQUIRE_OK(meta->Unlink(c, d1, "open"));
    REQUIRE_OK(meta->FlushStats());
    REQUIRE_OK(meta->Mknod(c, d1, "pending", kTypeFile, 0644, 0, 0, nullptr, nullptr));
  }

  struct StatFS Stat() {
    struct StatFS s;
    REQUIRE_OK(meta->StatFS(c, &s));
    return s;
  }
  size_t Deleted() {
    std::lock_guard<std::mutex> l(mu);
    return deleted.size();
  }

  Context c;
  MemEngine* engine = nullptr;
  std::unique_ptr<BaseMeta> meta;
  Ino d1 = 0, d2 = 0, sub = 0, f1 = 0, g1 = 0, sym = 0, open = 0;
  std::mutex mu;
  std::vector<SliceKey> deleted;
};

using Op = std::function<Status(Volume&)>;

struct Scenario {
  const char* name;
  Op op;
  Op after_failure = nullptr;  // what must still work after a failed `op` (default: `op` again)
};

std::vector<Scenario> Scenarios() {
  Slice w{0, 900000, 4096, 0, 4096};
  return {
      {"create",
       [](Volume& v) {
         return v.meta->Create(v.c, v.d1, "new", 0644, 0, O_RDWR, nullptr, nullptr);
       }},
      {"mkdir",
       [](Volume& v) { return v.meta->Mkdir(v.c, v.d1, "nd", 0755, 0, nullptr, nullptr); }},
      {"symlink",
       [](Volume& v) { return v.meta->Symlink(v.c, v.d1, "ns", "target", nullptr, nullptr); }},
      {"unlink a file with data", [](Volume& v) { return v.meta->Unlink(v.c, v.d1, "f"); }},
      {"unlink a hard link", [](Volume& v) { return v.meta->Unlink(v.c, v.d2, "g2"); }},
      {"unlink a symlink", [](Volume& v) { return v.meta->Unlink(v.c, v.d1, "sym"); }},
      {"rmdir", [](Volume& v) { return v.meta->Rmdir(v.c, v.d2, "sub"); }},
      {"rename over a file",
       [](Volume& v) { return v.meta->Rename(v.c, v.d1, "f", v.d2, "g2", 0, nullptr, nullptr); }},
      {"rename a directory across parents",
       [](Volume& v) { return v.meta->Rename(v.c, v.d2, "sub", v.d1, "s", 0, nullptr, nullptr); }},
      {"rename exchange",
       [](Volume& v) {
         return v.meta->Rename(v.c, v.d1, "f", v.d2, "sub", kRenameExchange, nullptr, nullptr);
       }},
      {"link", [](Volume& v) { return v.meta->Link(v.c, v.f1, v.d2, "l", nullptr); }},
      {"write", [w](Volume& v) { return v.meta->Write(v.c, v.f1, 2, 0, w); }},
      {"truncate shrink",
       [](Volume& v) { return v.meta->Truncate(v.c, v.f1, 10, false, nullptr); }},
      {"truncate grow",
       [](Volume& v) { return v.meta->Truncate(v.c, v.f1, 5 * kChunkSize, false, nullptr); }},
      {"setattr",
       [](Volume& v) {
         Attr a;
         a.mode = 0600;
         a.uid = 5;
         return v.meta->SetAttr(v.c, v.f1, kSetMode | kSetUid | kSetMtimeNow, a, nullptr);
       }},
      {"setxattr", [](Volume& v) { return v.meta->SetXattr(v.c, v.f1, "user.k2", "x", 0); }},
      {"removexattr", [](Volume& v) { return v.meta->RemoveXattr(v.c, v.f1, "user.k"); }},
      {"close the last handle of an unlinked file",
       [](Volume& v) { return v.meta->Close(v.c, v.open); },
       // The handle is gone either way; the session's end still releases the file.
       [](Volume& v) {
         Status st = v.meta->CloseSession();
         Attr a;
         if (st.ok() && v.meta->GetAttr(v.c, v.open, &a).code() != ENOENT) {
           return Status::IOError("sustained inode survived CloseSession");
         }
         return st;
       }},
      {"flush stats", [](Volume& v) { return v.meta->FlushStats(); }},
      {"close session", [](Volume& v) { return v.meta->CloseSession(); }},
  };
}

TEST_CASE("A transaction failing at any primitive leaves the volume unchanged", "[meta][base]") {
  for (const Scenario& sc : Scenarios()) {
    INFO("scenario: " << sc.name);
    uint64_t n = 0;
    size_t deleted_when_ok = 0;
    {
      Volume probe;
      uint64_t before = probe.engine->TxCalls();
      REQUIRE_OK(sc.op(probe));
      n = probe.engine->TxCalls() - before;
      deleted_when_ok = probe.Deleted();
    }
    REQUIRE(n > 0);
    for (uint64_t k = 1; k <= n; ++k) {
      INFO("failing primitive call " << k << " of " << n);
      Volume v;
      std::string before = v.engine->Dump();
      struct StatFS stat_before = v.Stat();
      v.engine->FailTxCall(k, Status::Error(EIO, "injected"));
      Status st = sc.op(v);
      CHECK(st.code() == EIO);
      CHECK(v.engine->Dump() == before);
      struct StatFS stat_after = v.Stat();
      CHECK(stat_after.total_space - stat_after.avail_space ==
            stat_before.total_space - stat_before.avail_space);
      CHECK(stat_after.used_inodes == stat_before.used_inodes);
      CHECK(v.Deleted() == 0);
      // The client is still consistent: the operation (or its fallback) now succeeds.
      Status again = sc.after_failure ? sc.after_failure(v) : sc.op(v);
      INFO("after the failure: " << again.ToString());
      CHECK(again.ok());
      if (!sc.after_failure) CHECK(v.Deleted() == deleted_when_ok);
    }
  }
}

TEST_CASE("Retried transactions apply their effects once", "[meta][base]") {
  auto run = [](Volume& v) {
    const Context& c = v.c;
    Ino ino = 0;
    REQUIRE_OK(v.meta->Create(c, v.d1, "x", 0644, 0, O_RDWR, &ino, nullptr));
    Slice s{0, 0, 50000, 0, 50000};
    REQUIRE_OK(v.meta->NewSlice(c, &s.id));
    REQUIRE_OK(v.meta->Write(c, ino, 0, 0, s));
    REQUIRE_OK(v.meta->Close(c, ino));
    REQUIRE_OK(v.meta->Truncate(c, v.f1, kChunkSize + 1, false, nullptr));
    REQUIRE_OK(v.meta->Rename(c, v.d1, "x", v.d2, "g2", 0, nullptr, nullptr));
    REQUIRE_OK(v.meta->Unlink(c, v.d1, "g"));
    REQUIRE_OK(v.meta->Rmdir(c, v.d2, "sub"));
    REQUIRE_OK(v.meta->Close(c, v.open));
    REQUIRE_OK(v.meta->Unlink(c, v.d1, "f"));
  };
  Volume plain, retried;
  run(plain);
  retried.engine->ForceRetries(1 << 30);
  run(retried);
  struct StatFS a = plain.Stat(), b = retried.Stat();
  CHECK(a.used_inodes == b.used_inodes);
  CHECK(a.avail_space == b.avail_space);
  std::multiset<SliceKey> da(plain.deleted.begin(), plain.deleted.end());
  std::multiset<SliceKey> db(retried.deleted.begin(), retried.deleted.end());
  CHECK(da == db);
  CHECK(da.size() == plain.deleted.size());
  CHECK(!da.empty());
  // Both flush the same totals.
  REQUIRE_OK(plain.meta->FlushStats());
  REQUIRE_OK(retried.meta->FlushStats());
  auto reader = [](Volume& v) {
    BaseMeta other(v.engine->NewClient());
    REQUIRE_OK(other.Load(nullptr));
    struct StatFS s;
    REQUIRE_OK(other.StatFS(v.c, &s));
    return s;
  };
  struct StatFS ra = reader(plain), rb = reader(retried);
  CHECK(ra.used_inodes == a.used_inodes);
  CHECK(rb.used_inodes == a.used_inodes);
  CHECK(ra.avail_space == rb.avail_space);
}

TEST_CASE("Concurrent clients keep names and counters consistent", "[meta][base]") {
  auto store = std::make_shared<MemEngine>();
  std::vector<std::unique_ptr<BaseMeta>> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(std::make_unique<BaseMeta>(store->NewClient()));
  Context c;
  Format f;
  f.name = "concurrent";
  f.trash_days = 0;
  f.uuid = "9c0e3c0a-0000-4000-8000-000000000002";
  REQUIRE_OK(clients[0]->Init(f, false));
  Ino dir = 0;
  REQUIRE_OK(clients[0]->Mkdir(c, kRootIno, "shared", 0777, 0, &dir, nullptr));
  for (auto& m : clients) REQUIRE_OK(m->Load(nullptr));

  constexpr int kThreadsPerClient = 2, kFiles = 150;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::vector<std::string> errors;
  for (size_t ci = 0; ci < clients.size(); ++ci) {
    for (int t = 0; t < kThreadsPerClient; ++t) {
      threads.emplace_back([&, ci, t] {
        BaseMeta& m = *clients[ci];
        for (int i = 0; i < kFiles; ++i) {
          std::string name =
              "c" + std::to_string(ci) + "t" + std::to_string(t) + "-" + std::to_string(i);
          Ino ino = 0;
          Status st = m.Create(c, dir, name, 0644, 0, O_RDWR, &ino, nullptr);
          Slice s{0, 0, 5000, 0, 5000};
          if (st.ok()) st = m.NewSlice(c, &s.id);
          if (st.ok()) st = m.Write(c, ino, 0, 0, s);
          if (st.ok()) st = m.Close(c, ino);
          if (st.ok() && i % 3 == 0) st = m.Unlink(c, dir, name);
          if (!st.ok()) {
            std::lock_guard<std::mutex> l(mu);
            errors.push_back(name + ": " + st.ToString());
          }
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  CHECK(errors.empty());
  for (auto& m : clients) REQUIRE_OK(m->FlushStats());

  size_t total = 0;
  std::string cursor;
  std::vector<Entry> page;
  do {
    REQUIRE_OK(clients[0]->Readdir(c, dir, true, &cursor, 77, &page));
    total += page.size();
    for (const Entry& e : page) CHECK(e.attr.length == 5000);
  } while (!cursor.empty());
  const size_t kept = clients.size() * kThreadsPerClient * (kFiles - (kFiles + 2) / 3);
  CHECK(total == kept);
  struct StatFS s;
  REQUIRE_OK(clients[1]->StatFS(c, &s));
  CHECK(s.used_inodes == kept + 1);  // + the shared directory
  CHECK(s.total_space - s.avail_space == kept * 8192 + 4096);
}

}  // namespace
}  // namespace jfs::meta
