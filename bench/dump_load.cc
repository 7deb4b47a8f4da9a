// Dump and load rate of the JSON metadata dump (meta/dump.h) on SQLite and Redis, with the peak
// RSS of each phase (each runs in its own child process, so ru_maxrss is that phase's).
//
//   build/bench/dump_load [FILES] [REDIS-URL]
//
// A volume of FILES files (default 100000; 100 per directory, one slice each) is written straight
// through the engine primitives, then dumped to a file and loaded into an empty database of the
// same engine. The raw baseline of the same run is one full scan of the stored entries and
// attributes through the engine (ListEntriesPlus of every directory): the least a dump must read.
// The Redis part runs when REDIS-URL is given (its database is FLUSHed: use a scratch one).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "meta/codec.h"
#include "meta/dump.h"
#include "meta/engine.h"
#include "meta/types.h"

namespace {

using namespace jfs;
using namespace jfs::meta;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what, const Status& st) {
  std::fprintf(stderr, "dump_load: %s: %s\n", what.c_str(), st.ToString().c_str());
  std::exit(1);
}

void Check(const Status& st, const std::string& what) {
  if (!st.ok()) Die(what, st);
}

double Seconds(Clock::time_point t) {
  return std::max(std::chrono::duration<double>(Clock::now() - t).count(), 1e-9);
}

std::unique_ptr<Engine> Open(const std::string& url) {
  std::unique_ptr<Engine> e;
  Check(NewEngine(url, &e, true), "open " + url);
  return e;
}

// A volume of `files` files in directories of 100, written in batches.
void Build(Engine& e, uint64_t files) {
  Check(e.Reset(), "reset");
  Check(e.InitSchema(), "schema");
  Format f;
  f.name = "bench";
  f.uuid = "5a1e4c5e-0000-4000-8000-0000000000be";
  const uint64_t dirs = (files + 99) / 100;
  Attr dir;
  dir.typ = kTypeDirectory;
  dir.mode = 0755;
  dir.nlink = 2;
  dir.length = 4096;
  dir.atime = dir.mtime = dir.ctime = 1700000000;
  Attr root = dir;
  root.parent = 1;
  root.nlink = 2 + static_cast<uint32_t>(dirs);
  Check(e.Txn([&](Tx& tx) { return tx.PutAttr(1, root); }), "root");
  Ino next = 2;
  uint64_t slice = 1;
  uint64_t made = 0;
  for (uint64_t d = 0; d < dirs; ++d) {
    const Ino dino = next++;
    Check(e.Txn([&](Tx& tx) {
      Attr a = dir;
      a.parent = 1;
      JFS_RETURN_IF_ERROR(tx.PutAttr(dino, a));
      JFS_RETURN_IF_ERROR(tx.PutEntry(1, "d" + std::to_string(d), dino, kTypeDirectory));
      Ino ino = next;
      uint64_t s = slice;
      for (uint64_t i = 0; i < 100 && made + i < files; ++i, ++ino, ++s) {
        Attr fa;
        fa.typ = kTypeFile;
        fa.mode = 0644;
        fa.nlink = 1;
        fa.length = 1000;
        fa.parent = dino;
        fa.atime = fa.mtime = fa.ctime = 1700000000;
        fa.mtimensec = 123456789;
        JFS_RETURN_IF_ERROR(tx.PutAttr(ino, fa));
        JFS_RETURN_IF_ERROR(tx.PutEntry(dino, "file" + std::to_string(i), ino, kTypeFile));
        JFS_RETURN_IF_ERROR(tx.PutChunk(ino, 0, EncodeSlice(Slice{0, s, 1000, 0, 1000})));
        JFS_RETURN_IF_ERROR(tx.NewSliceRef(s, 1000));
      }
      return Status::OK();
    }),
          "build");
    const uint64_t n = std::min<uint64_t>(100, files - made);
    next += n, slice += n, made += n;
  }
  Check(e.Txn([&](Tx& tx) {
    int64_t v = 0;
    JFS_RETURN_IF_ERROR(tx.IncrCounter("nextInode", static_cast<int64_t>(next) - 2, &v));
    JFS_RETURN_IF_ERROR(tx.IncrCounter("nextChunk", static_cast<int64_t>(slice) - 1, &v));
    return tx.PutSetting(EncodeFormat(f));
  }),
        "format");
}

// Runs `fn` in a child; prints its line with the child's peak RSS.
void Phase(const char* name, const std::function<double()>& fn, uint64_t entries, double baseline) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    const double secs = fn();
    struct rusage ru {};
    getrusage(RUSAGE_SELF, &ru);
    std::printf("  %-22s %8.2f s  %10.0f entries/s  %5.1fx raw scan time  peak RSS %6.1f MiB\n",
                name, secs, static_cast<double>(entries) / secs, secs / baseline,
                static_cast<double>(ru.ru_maxrss) / 1024.0);
    std::fflush(stdout);
    std::_Exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::exit(1);
}

void Run(const std::string& label, const std::string& src_url, const std::string& dst_url,
         uint64_t files, const std::string& file) {
  std::printf("%s, %llu files:\n", label.c_str(), static_cast<unsigned long long>(files));
  {
    auto e = Open(src_url);
    auto t = Clock::now();
    Build(*e, files);
    std::printf("  %-22s %8.2f s\n", "build (raw writes)", Seconds(t));
  }
  const uint64_t entries = files + (files + 99) / 100 + 1;
  double scan_secs = 0;
  {
    auto e = Open(src_url);
    auto t = Clock::now();
    std::vector<Ino> dirs = {1};
    for (size_t i = 0; i < dirs.size(); ++i) {
      std::string cursor;
      do {
        std::vector<Entry> page;
        Check(
            e->Txn([&](Tx& tx) { return tx.ListEntriesPlus(dirs[i], &cursor, 1000, &page); }, true),
            "scan");
        for (const Entry& en : page) {
          if (en.attr.typ == kTypeDirectory) dirs.push_back(en.inode);
        }
      } while (!cursor.empty());
    }
    scan_secs = Seconds(t);
    std::printf("  %-22s %8.2f s  %10.0f entries/s\n", "raw scan (baseline)", scan_secs,
                static_cast<double>(entries) / scan_secs);
  }
  Phase(
      "dump",
      [&] {
        auto e = Open(src_url);
        auto t = Clock::now();
        Check(DumpMetaToFile(*e, file, {}), "dump");
        return Seconds(t);
      },
      entries, scan_secs);
  Phase(
      "load",
      [&] {
        auto e = Open(dst_url);
        Check(e->Reset(), "reset target");
        auto t = Clock::now();
        Check(LoadMetaFromFile(*e, file, {}), "load");
        return Seconds(t);
      },
      entries, scan_secs);
  std::printf("  dump file: %.1f MiB\n",
              static_cast<double>(std::filesystem::file_size(file)) / (1 << 20));
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t files = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  char tmpl[] = "/tmp/jfs_bench_dump.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;
  Run("SQLite", "sqlite3://" + dir + "/src.db", "sqlite3://" + dir + "/dst.db", files,
      dir + "/dump.json");
  if (argc > 2) {
    // Two databases on the given server: its URL and database + 1.
    const std::string url = argv[2];
    const size_t slash = url.rfind('/');
    const int db = slash != std::string::npos && slash > 8 ? std::atoi(url.c_str() + slash + 1) : 0;
    const std::string base = slash != std::string::npos && slash > 8 ? url.substr(0, slash) : url;
    Run("Redis", base + "/" + std::to_string(db), base + "/" + std::to_string(db + 1), files,
        dir + "/dump-redis.json");
  }
  std::filesystem::remove_all(dir);
  return 0;
}
