// `jfs dump` and `jfs load`: the metadata of a volume as JuiceFS's JSON dump (format.md §5), to
// back it up or to move it to another engine. They work on the engine directly (meta/dump.h).
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "meta/dump.h"
#include "meta/engine.h"
#include "tools/common.h"
#include "util/status.h"

namespace jfs::tools {
namespace {

// A progress line on stderr when it is a terminal and not --quiet; silent otherwise.
class Progress {
 public:
  Progress(const char* what, bool quiet) : what_(what), on_(!quiet && isatty(2) == 1) {}
  std::function<void(uint64_t)> Callback() {
    if (!on_) return {};
    return [this](uint64_t n) {
      const auto now = std::chrono::steady_clock::now();
      if (n != 0 && now - last_ < std::chrono::milliseconds(200)) return;
      last_ = now;
      std::fprintf(stderr, "\r%s entries: %llu", what_, static_cast<unsigned long long>(n));
      std::fflush(stderr);
      shown_ = true;
    };
  }
  void Done(uint64_t n) {
    if (!on_) return;
    std::fprintf(stderr, "\r%s entries: %llu\n", what_, static_cast<unsigned long long>(n));
    shown_ = false;
  }
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  const char* what_;
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

int Report(std::string_view cmd, const std::string& subject, const Status& st) {
  PrintErrno(cmd, subject, st.code(), st.message());
  return kExitError;
}

struct DumpArgs {
  std::string meta_url;
  std::string file = "-";
  std::string subdir;
  bool keep_secret_key = false;
  bool skip_trash = false;
  bool quiet = false;
};

int RunDump(const DumpArgs& a) {
  constexpr std::string_view kCmd = "dump";
  std::unique_ptr<meta::Engine> engine;
  Status st = meta::NewEngine(a.meta_url, &engine);
  if (!st.ok()) return Report(kCmd, a.meta_url, st);
  meta::DumpOptions o;
  o.subdir = a.subdir;
  o.keep_secret_key = a.keep_secret_key;
  o.skip_trash = a.skip_trash;
  Progress progress("Dumped", a.quiet || a.file == "-");
  uint64_t last = 0;
  auto cb = progress.Callback();
  if (cb) {
    o.progress = [&](uint64_t n) {
      last = n;
      cb(n);
    };
  }
  st = meta::DumpMetaToFile(*engine, a.file, o);
  if (!st.ok()) return Report(kCmd, "cannot dump " + a.meta_url, st);
  progress.Done(last);
  if (!a.quiet && a.file != "-") {
    std::fprintf(stderr, "Dumped the metadata of %s into %s\n", a.meta_url.c_str(), a.file.c_str());
  }
  return kExitOk;
}

struct LoadArgs {
  std::string meta_url;
  std::string file = "-";
  bool quiet = false;
};

int RunLoad(const LoadArgs& a) {
  constexpr std::string_view kCmd = "load";
  std::unique_ptr<meta::Engine> engine;
  Status st = meta::NewEngine(a.meta_url, &engine, /*create_if_missing=*/true);
  if (!st.ok()) return Report(kCmd, a.meta_url, st);
  meta::LoadOptions o;
  Progress progress("Loaded", a.quiet);
  o.progress = progress.Callback();
  meta::LoadStats stats;
  st = meta::LoadMetaFromFile(*engine, a.file, o, &stats);
  if (!st.ok()) return Report(kCmd, "cannot load " + (a.file == "-" ? "stdin" : a.file), st);
  progress.Done(stats.entries);
  if (!a.quiet) {
    std::fprintf(stderr, "Loaded %llu entries (%llu inodes) into %s\n",
                 static_cast<unsigned long long>(stats.entries),
                 static_cast<unsigned long long>(stats.inodes), a.meta_url.c_str());
  }
  return kExitOk;
}

}  // namespace

void AddDumpCommands(CLI::App& app, Action* action) {
  {
    auto a = std::make_shared<DumpArgs>();
    CLI::App* c = app.add_subcommand(
        "dump", "Dump the metadata of a volume as JuiceFS's JSON (to back up or migrate it)");
    c->add_option("META-URL", a->meta_url, "metadata engine, e.g. sqlite3:///var/lib/jfs/meta.db")
        ->required();
    c->add_option("FILE", a->file, "output file ('-': stdout; a name ending in .gz is gzipped)")
        ->capture_default_str();
    c->add_option("--subdir", a->subdir, "dump only this directory of the volume");
    c->add_flag("--keep-secret-key", a->keep_secret_key,
                "keep the object storage secret key (otherwise \"removed\")");
    c->add_flag("--skip-trash", a->skip_trash, "leave the trash out");
    c->add_flag("-q,--quiet", a->quiet, "no progress or summary");
    c->callback([a, action] { *action = [a] { return RunDump(*a); }; });
  }
  {
    auto a = std::make_shared<LoadArgs>();
    CLI::App* c = app.add_subcommand(
        "load", "Load a JuiceFS JSON metadata dump (plain or .gz) into an empty database");
    c->add_option("META-URL", a->meta_url, "metadata engine of an empty database")->required();
    c->add_option("FILE", a->file, "dump file ('-': stdin)")->capture_default_str();
    c->add_flag("-q,--quiet", a->quiet, "no progress or summary");
    c->callback([a, action] { *action = [a] { return RunLoad(*a); }; });
  }
}

}  // namespace jfs::tools
