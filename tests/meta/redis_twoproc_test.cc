// Two processes (two clients, two sessions) creating, renaming and deleting in one directory at
// once on Redis (standalone and cluster). Afterwards: no duplicated or dangling entries, link
// counts consistent with the entries, and the inode / space counters and the raw i{ino} keys
// agree with what is listed. Database 55 / hash tag {55}.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "meta/meta.h"
#include "tests/meta/redis_test_util.h"
#include "tests/support/status_checks.h"

namespace jfs::meta {
namespace {

Format TestFormat() {
  Format f;
  f.name = "twoproc";
  f.uuid = "5b0e0c1a-1111-4222-8333-944445552222";
  f.storage = "file";
  f.bucket = "/tmp/jfs-twoproc/";
  f.block_size_kib = 4096;
  f.trash_days = 0;  // the counts below are of live entries; removals go for real
  return f;
}

// One child's work; returns the exit code (0 = only expected errors).
int Child(const std::string& url, Ino dir, int seed) {
  std::unique_ptr<Meta> m;
  if (!NewMeta(url, &m).ok()) return 10;
  if (!m->Load(nullptr).ok()) return 11;
  if (!m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}).ok()) return 12;
  std::mt19937 rng(seed);
  Context ctx;
  auto name = [&](char c) { return std::string(1, c) + std::to_string(rng() % 12); };
  for (int i = 0; i < 400; ++i) {
    Status st;
    switch (rng() % 5) {
      case 0:
        st = m->Mknod(ctx, dir, name('f'), kTypeFile, 0644, 0, 0, nullptr, nullptr);
        break;
      case 1:
        st = m->Mkdir(ctx, dir, name('d'), 0755, 0, nullptr, nullptr);
        break;
      case 2: {
        char c = rng() % 2 ? 'f' : 'd';
        st = m->Rename(ctx, dir, name(c), dir, name(c), 0, nullptr, nullptr);
        break;
      }
      case 3:
        st = m->Unlink(ctx, dir, name('f'));
        break;
      default:
        st = m->Rmdir(ctx, dir, name('d'));
        break;
    }
    if (!st.ok() && st.code() != EEXIST && st.code() != ENOENT && st.code() != ENOTEMPTY) {
      std::fprintf(stderr, "child %d op %d: %s\n", seed, i, st.ToString().c_str());
      return 1;
    }
  }
  return m->CloseSession().ok() ? 0 : 13;
}

void Run(bool cluster) {
  const std::string url = testing::RedisBaseUrl(cluster) + "/55";
  Ino dir = 0;
  {
    std::unique_ptr<Meta> m = testing::FreshRedisMeta(url);
    REQUIRE_OK(m->Init(TestFormat(), false));
    REQUIRE_OK(m->Mkdir(Context(), kRootIno, "shared", 0755, 0, &dir, nullptr));
    REQUIRE_OK(m->FlushStats());
  }
  // Forked before the children open their own connections.
  std::vector<pid_t> pids;
  for (int k = 0; k < 2; ++k) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(Child(url, dir, 100 + k));
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  std::unique_ptr<Meta> m = testing::OpenMeta(url);
  REQUIRE_OK(m->Load(nullptr));
  Context ctx;
  std::string cursor;
  std::vector<Entry> page;
  std::map<std::string, Entry> entries;
  do {
    REQUIRE_OK(m->Readdir(ctx, dir, true, &cursor, 7, &page));
    for (const Entry& e : page) {
      INFO(e.name);
      CHECK(entries.emplace(e.name, e).second);  // no duplicates across pages
    }
  } while (!cursor.empty());
  int subdirs = 0;
  std::set<Ino> inodes;
  for (const auto& [name, e] : entries) {
    INFO(name);
    Attr a;
    REQUIRE_OK(m->GetAttr(ctx, e.inode, &a));  // nothing dangling
    CHECK(inodes.insert(e.inode).second);      // no inode listed twice
    if (name[0] == 'd') {
      CHECK(a.typ == kTypeDirectory);
      CHECK(a.nlink == 2);
      ++subdirs;
    } else {
      CHECK(a.typ == kTypeFile);
      CHECK(a.nlink == 1);
    }
  }
  Attr da;
  REQUIRE_OK(m->GetAttr(ctx, dir, &da));
  CHECK(da.nlink == static_cast<uint32_t>(2 + subdirs));
  // Counters and raw keys agree: root excluded, "shared" + its entries.
  testing::RawRedis raw(url);
  CHECK(raw.Get("totalInodes") == std::to_string(1 + entries.size()));
  CHECK(raw.Get("usedSpace") == std::to_string(4096 * (1 + entries.size())));
  redis::Reply keys = raw.Do({"KEYS", raw.Key("i*")});
  size_t attrs = 0;  // root, "shared" and the entries
  for (size_t i = 0; i < keys->elements; ++i) {
    attrs += std::string(keys->element[i]->str, keys->element[i]->len) !=
             raw.Key("i" + std::to_string(kTrashIno));
  }
  CHECK(attrs == 2 + entries.size());
}

TEST_CASE("two processes in one directory on standalone Redis", "[meta][redis]") {
  Run(false);
}

TEST_CASE("two processes in one directory on Redis Cluster", "[meta][redis]") {
  Run(true);
}

}  // namespace
}  // namespace jfs::meta
