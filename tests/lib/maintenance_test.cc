// Trash, deferred deletion and the maintenance operations (lib/maintenance.h) on a real volume
// (SQLite + file store), with separate client processes (fork) and writers killed with SIGKILL.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <thread>

#include "lib/internal.h"
#include "lib/maintenance.h"
#include "lib/volume.h"
#include "meta/engine.h"
#include "meta/meta.h"
#include "tests/lib/test_util.h"

namespace jfs::lib::testing {
namespace {

// Runs `fn` in a child process (a separate client); returns its exit status.
template <typename Fn>
int InChild(Fn fn) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) _exit(fn());
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct TrashVolume {
  TempDir dir;
  std::string url, bucket;
  Context ctx;
  explicit TrashVolume(int trash_days) {
    url = "sqlite3://" + dir.path() + "/meta.db";
    bucket = dir.path() + "/data/";
    FormatOptions fo;
    fo.name = "maint";
    fo.bucket = bucket;
    fo.block_size_kib = 64;  // several blocks per file, quickly
    fo.trash_days = trash_days;
    REQUIRE_OK(Format(url, fo, nullptr));
  }
  std::set<std::string> Objects() const {
    std::set<std::string> out;
    std::error_code ec;
    fs::path start = fs::path(bucket) / "maint" / "chunks";
    if (!fs::exists(start, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(start, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
      // Temporary files of puts cut short by SIGKILL are the file backend's, not objects.
      if (it->is_regular_file() && it->path().filename().string().rfind(".jfs-tmp.", 0) != 0) {
        out.insert(it->path().string());
      }
    }
    return out;
  }
};

struct SkipTime {
  explicit SkipTime(const char* v) { setenv("JFS_GC_SKIPPEDTIME", v, 1); }
  ~SkipTime() { unsetenv("JFS_GC_SKIPPEDTIME"); }
};

TEST_CASE("trash and restore across two client processes", "[maint]") {
  TrashVolume tv(1);
  const std::string data = RandomBytes(200000, 7);
  {
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(tv.url, {}, &v));
    REQUIRE_OK(v->Mkdir(tv.ctx, "/d", 0755));
    REQUIRE_OK(WriteFile(*v, tv.ctx, "/d/f", data));
    REQUIRE_OK(v->Close());
  }
  const size_t objects = tv.Objects().size();
  REQUIRE(objects == 4);  // 200000 bytes in 64 KiB blocks
  // Another process removes it (and overwrites /d/g by rename).
  CHECK(InChild([&] {
          std::unique_ptr<Volume> v;
          if (!Volume::Open(tv.url, {}, &v).ok()) return 1;
          if (!v->Unlink(tv.ctx, "/d/f").ok()) return 2;
          if (!WriteFile(*v, tv.ctx, "/d/g", "old").ok()) return 3;
          if (!WriteFile(*v, tv.ctx, "/d/h", "new").ok()) return 4;
          if (!v->Rename(tv.ctx, "/d/h", "/d/g", 0).ok()) return 5;
          return v->Close().ok() ? 0 : 6;
        }) == 0);
  CHECK(tv.Objects().size() == objects + 2);  // trash keeps every object
  std::vector<TrashEntry> entries;
  REQUIRE_OK(Restore(tv.url, {}, false, &entries));
  REQUIRE(entries.size() == 2);
  std::set<std::string> originals;
  for (const TrashEntry& e : entries) originals.insert(e.original);
  CHECK(originals == std::set<std::string>{"f", "g"});
  // The trash is visible through the path API too.
  {
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(tv.url, {}, &v));
    Attr a;
    REQUIRE_OK(v->Stat(tv.ctx, "/.trash/" + entries[0].hour + "/" + entries[0].name, &a, nullptr));
    CHECK_ERRNO(v->Unlink(tv.ctx, "/.trash"), EPERM);
    // g exists again: restoring the old g must not overwrite it.
    REQUIRE_OK(v->Close());
  }
  REQUIRE_OK(Restore(tv.url, {entries[0].hour}, true, &entries));
  int restored = 0;
  for (const TrashEntry& e : entries) {
    if (e.original == "f") CHECK(e.restored);
    if (e.original == "g") CHECK(!e.restored);  // name taken: refused, entry kept
    restored += e.restored;
  }
  CHECK(restored == 1);
  std::unique_ptr<Volume> v;
  REQUIRE_OK(Volume::Open(tv.url, {}, &v));
  std::string back;
  REQUIRE_OK(ReadFile(*v, tv.ctx, "/d/f", &back));
  CHECK(back == data);
  REQUIRE_OK(ReadFile(*v, tv.ctx, "/d/g", &back));
  CHECK(back == "new");
  REQUIRE_OK(v->Close());
  FsckReport fr;
  REQUIRE_OK(Fsck(tv.url, false, nullptr, &fr));
  CHECK(fr.ok());
  CHECK(fr.counters_ok);
  CHECK(fr.scan.trash_entries == 1);
}

TEST_CASE("directory quotas filled by one client process are enforced in another", "[maint]") {
  TrashVolume tv(0);
  auto quota_of = [&](Volume& v, const std::string& path, meta::QuotaRecord* rec) {
    Ino ino = 0;
    Attr a;
    REQUIRE_OK(v.Stat(tv.ctx, path, &a, &ino));
    REQUIRE_OK(CoreOf(v)->meta().GetQuota(tv.ctx, ino, rec));
  };
  {
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(tv.url, {}, &v));
    for (const char* d : {"/qs", "/qi"}) REQUIRE_OK(v->Mkdir(tv.ctx, d, 0777));
    Ino qs = 0, qi = 0;
    Attr a;
    REQUIRE_OK(v->Stat(tv.ctx, "/qs", &a, &qs));
    REQUIRE_OK(v->Stat(tv.ctx, "/qi", &a, &qi));
    REQUIRE_OK(CoreOf(*v)->meta().SetQuota(tv.ctx, qs, 1 << 20, 0));  // 1 MiB
    REQUIRE_OK(CoreOf(*v)->meta().SetQuota(tv.ctx, qi, 0, 2));        // 2 inodes
    REQUIRE_OK(v->Close());
  }
  // Process 1 fills both: 1 MiB of data, 2 directories.
  CHECK(InChild([&] {
          std::unique_ptr<Volume> v;
          if (!Volume::Open(tv.url, {}, &v).ok()) return 1;
          if (!WriteFile(*v, tv.ctx, "/qs/a", RandomBytes(1 << 20, 3)).ok()) return 2;
          if (!v->Mkdir(tv.ctx, "/qi/a", 0755).ok()) return 3;
          if (!v->Mkdir(tv.ctx, "/qi/b", 0755).ok()) return 4;
          return v->Close().ok() ? 0 : 5;
        }) == 0);
  // Process 2 gets EDQUOT for one more byte and one more inode; elsewhere nothing is limited.
  CHECK(InChild([&] {
          std::unique_ptr<Volume> v;
          if (!Volume::Open(tv.url, {}, &v).ok()) return 1;
          if (WriteFile(*v, tv.ctx, "/qs/b", "x").code() != EDQUOT) return 10;
          if (v->Mkdir(tv.ctx, "/qi/c", 0755).code() != EDQUOT) return 11;
          if (!WriteFile(*v, tv.ctx, "/free", RandomBytes(1 << 20, 4)).ok()) return 12;
          if (!v->Mkdir(tv.ctx, "/freedir", 0755).ok()) return 13;
          return v->Close().ok() ? 0 : 14;
        }) == 0);
  // A third client (this process) sees the usage and the limits too.
  std::unique_ptr<Volume> v;
  REQUIRE_OK(Volume::Open(tv.url, {}, &v));
  meta::QuotaRecord rs, ri;
  quota_of(*v, "/qs", &rs);
  quota_of(*v, "/qi", &ri);
  CHECK(rs.used_space >= (1 << 20));
  CHECK(ri.used_inodes == 2);
  CHECK_ERRNO(v->Mkdir(tv.ctx, "/qi/d", 0755), EDQUOT);
  REQUIRE_OK(v->Close());
}

TEST_CASE("data of removed files is deleted in the background and Close waits", "[maint]") {
  TrashVolume tv(0);
  std::unique_ptr<Volume> v;
  REQUIRE_OK(Volume::Open(tv.url, {}, &v));
  for (int i = 0; i < 20; ++i) {
    REQUIRE_OK(WriteFile(*v, tv.ctx, "/f" + std::to_string(i), RandomBytes(70000, i)));
  }
  CHECK(tv.Objects().size() == 40);
  // Open-unlinked files keep their data until the last close.
  std::shared_ptr<File> keep;
  REQUIRE_OK(v->OpenFile(tv.ctx, "/f0", O_RDONLY, 0, &keep));
  for (int i = 0; i < 20; ++i) REQUIRE_OK(v->Unlink(tv.ctx, "/f" + std::to_string(i)));
  std::string back;
  REQUIRE_OK(PreadAll(*keep, 0, 70000, &back));
  CHECK(back == RandomBytes(70000, 0));
  REQUIRE_OK(keep->Close());
  REQUIRE_OK(v->Close());
  CHECK(tv.Objects().empty());
  ScanSummary s;
  REQUIRE_OK(Scan(tv.url, nullptr, &s));
  CHECK(s.delfiles == 0);
  CHECK(s.files == 0);
  CHECK(s.stored_used_space == s.used_space);
  CHECK(s.stored_total_inodes == s.total_inodes);
}

TEST_CASE("fsck repairs counters; gc leaves recent objects alone", "[maint]") {
  TrashVolume tv(0);
  {
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(tv.url, {}, &v));
    REQUIRE_OK(WriteFile(*v, tv.ctx, "/a", RandomBytes(5000, 1)));
    REQUIRE_OK(v->Close());
  }
  {
    std::unique_ptr<meta::Engine> e;
    REQUIRE_OK(meta::NewEngine(tv.url, &e));
    REQUIRE_OK(e->Txn([](meta::Tx& tx) { return tx.IncrCounter("usedSpace", 12345, nullptr); }));
  }
  FsckReport fr;
  REQUIRE_OK(Fsck(tv.url, false, nullptr, &fr));
  CHECK(!fr.ok());
  CHECK(fr.scan.stored_used_space == fr.scan.used_space + 12345);
  REQUIRE_OK(Fsck(tv.url, true, nullptr, &fr));
  CHECK(fr.repaired);
  REQUIRE_OK(Fsck(tv.url, false, nullptr, &fr));
  CHECK(fr.ok());
  CHECK(fr.counters_ok);
  // A fresh unreferenced object is not leaked yet (a writer may be about to commit it).
  fs::create_directories(fs::path(tv.bucket) / "maint/chunks/0/0");
  std::ofstream(fs::path(tv.bucket) / "maint/chunks/0/0/77_0_3") << "abc";
  GcReport gr;
  REQUIRE_OK(Gc(tv.url, true, nullptr, &gr));
  CHECK(gr.leaked == 0);
  CHECK(gr.skipped_recent == 1);
  CHECK(gr.referenced == 1);
  // Bad input changes nothing.
  CHECK_ERRNO(Gc("sqlite3://" + tv.dir.path() + "/none.db", true, nullptr, &gr), ENOENT);
  uint64_t n = 0;
  CHECK_ERRNO(Destroy(tv.url, "not-the-uuid", true, nullptr, &n), EINVAL);
  CHECK(tv.Objects().size() == 2);
}

// Writers killed with SIGKILL at random points, several rounds: nothing referenced is lost, gc
// removes exactly what nothing references, and fsck is clean afterwards.
TEST_CASE("kill -9 of writers: fsck clean, gc deletes exactly the leaked objects", "[maint]") {
  TrashVolume tv(1);
  std::mt19937 rng(12345);
  for (int round = 0; round < 6; ++round) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      std::unique_ptr<Volume> v;
      if (!Volume::Open(tv.url, {}, &v).ok()) _exit(1);
      Context ctx;
      std::mt19937 r(round);
      for (int i = 0;; ++i) {
        const std::string p = "/r" + std::to_string(round) + "_" + std::to_string(i % 7);
        switch (r() % 4) {
          case 0:
          case 1: {
            std::shared_ptr<File> f;
            if (!v->OpenFile(ctx, p, O_CREAT | O_WRONLY | O_TRUNC, 0644, &f).ok()) break;
            (void)WriteAll(*f, RandomBytes(10000 + r() % 150000, i));
            (void)f->Close();
            break;
          }
          case 2:
            (void)v->Unlink(ctx, p);
            break;
          default:
            (void)v->Rename(ctx, p, "/r" + std::to_string(round) + "_" + std::to_string(r() % 7),
                            0);
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    REQUIRE(kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status));
  }
  // Nothing referenced is missing, whatever the moment of the kills.
  FsckReport fr;
  REQUIRE_OK(Fsck(tv.url, false, nullptr, &fr));
  INFO("missing: " << fr.missing_objects);
  CHECK(fr.missing_objects == 0);
  // Counter deltas buffered in a killed client (at most its last second) are lost: repair.
  REQUIRE_OK(Fsck(tv.url, true, nullptr, &fr));
  SkipTime skip("0");
  GcReport before;
  REQUIRE_OK(Gc(tv.url, false, nullptr, &before));
  const std::set<std::string> objects_before = tv.Objects();
  CHECK(before.objects == objects_before.size());
  CHECK(before.leaked == before.objects - before.referenced);
  GcReport gr;
  REQUIRE_OK(Gc(tv.url, true, nullptr, &gr));
  // With --delete, pending file deletions finish first; then the leaked objects go.
  const std::set<std::string> objects_after = tv.Objects();
  CHECK(objects_after.size() == gr.referenced);
  CHECK(gr.deleted == gr.leaked);
  CHECK(objects_before.size() >= objects_after.size());
  GcReport again;
  REQUIRE_OK(Gc(tv.url, false, nullptr, &again));
  CHECK(again.leaked == 0);
  CHECK(again.referenced == again.objects);
  REQUIRE_OK(Fsck(tv.url, false, nullptr, &fr));
  CHECK(fr.ok());
  CHECK(fr.missing_objects == 0);
  CHECK(fr.scan.delfiles == 0);
  // And the volume still reads: every file's full content is there.
  std::unique_ptr<Volume> v;
  REQUIRE_OK(Volume::Open(tv.url, {}, &v));
  int files = 0;
  for (int round = 0; round < 6; ++round) {
    for (int k = 0; k < 7; ++k) {
      const std::string p = "/r" + std::to_string(round) + "_" + std::to_string(k);
      Attr a;
      if (!v->Stat(tv.ctx, p, &a, nullptr).ok()) continue;
      std::string back;
      REQUIRE_OK(ReadFile(*v, tv.ctx, p, &back));
      CHECK(back.size() == a.length);
      ++files;
    }
  }
  INFO("files left: " << files);
  REQUIRE_OK(v->Close());
}

}  // namespace
}  // namespace jfs::lib::testing
