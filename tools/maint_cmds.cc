// Maintenance commands: gc, fsck, destroy, restore, rmr (format.md §6.3–§6.7). They work on the
// metadata engine and the data store directly (lib/maintenance.h), as juicefs's do. Long scans
// show their progress on stderr when it is a terminal.
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "lib/maintenance.h"
#include "meta/meta.h"
#include "meta/types.h"
#include "tools/common.h"
#include "util/status.h"

namespace jfs::tools {
namespace {

int Report(std::string_view cmd, std::string_view subject, const Status& st) {
  PrintErrno(cmd, subject, st.code(), st.message());
  return kExitError;
}

bool ResolveUrl(std::string_view cmd, const std::string& positional, const GlobalOptions& global,
                std::string* url) {
  *url = positional.empty() ? global.meta_url : positional;
  if (url->empty()) {
    PrintError(cmd, "no volume given: pass META-URL, use --meta META-URL or set JFS_META_URL");
    return false;
  }
  return true;
}

// "\r<stage>: <n>" on a terminal, nothing otherwise.
lib::ProgressFn TtyProgress() {
  if (!isatty(STDERR_FILENO)) return nullptr;
  return [](const char* stage, uint64_t n) {
    std::fprintf(stderr, "\r%s: %llu   ", stage, static_cast<unsigned long long>(n));
    std::fflush(stderr);
  };
}

void EndProgress() {
  if (isatty(STDERR_FILENO)) std::fprintf(stderr, "\n");
}

// ---- gc ----

int RunGc(const GlobalOptions& global, const std::string& positional, bool del) {
  constexpr std::string_view kCmd = "gc";
  std::string url;
  if (!ResolveUrl(kCmd, positional, global, &url)) return kExitUsage;
  lib::GcReport r;
  Status st = lib::Gc(url, del, TtyProgress(), &r);
  EndProgress();
  if (!st.ok()) return Report(kCmd, url, st);
  for (const std::string& k : r.leaked_keys) std::printf("leaked: %s\n", k.c_str());
  std::printf("objects: %llu (%s), referenced: %llu, leaked: %llu (%s), recent (skipped): %llu\n",
              static_cast<unsigned long long>(r.objects), HumanBytes(r.object_bytes).c_str(),
              static_cast<unsigned long long>(r.referenced),
              static_cast<unsigned long long>(r.leaked), HumanBytes(r.leaked_bytes).c_str(),
              static_cast<unsigned long long>(r.skipped_recent));
  std::printf("pending deletes: %llu files, trash: %llu entries\n",
              static_cast<unsigned long long>(r.scan.delfiles),
              static_cast<unsigned long long>(r.scan.trash_entries));
  if (del) {
    std::printf("deleted: %llu leaked objects, %llu expired trash entries, %llu pending files\n",
                static_cast<unsigned long long>(r.deleted),
                static_cast<unsigned long long>(r.trash_removed),
                static_cast<unsigned long long>(r.delfiles_done));
  } else if (r.leaked > 0) {
    std::printf("run with --delete to remove the leaked objects\n");
  }
  return kExitOk;
}

// ---- fsck ----

int RunFsck(const GlobalOptions& global, const std::string& positional, bool repair) {
  constexpr std::string_view kCmd = "fsck";
  std::string url;
  if (!ResolveUrl(kCmd, positional, global, &url)) return kExitUsage;
  lib::FsckReport r;
  Status st = lib::Fsck(url, repair, TtyProgress(), &r);
  EndProgress();
  if (!st.ok()) return Report(kCmd, url, st);
  for (const std::string& k : r.missing_keys) std::printf("missing object: %s\n", k.c_str());
  std::printf("inodes: %llu files, %llu dirs, %llu symlinks, %llu others; slices: %llu\n",
              static_cast<unsigned long long>(r.scan.files),
              static_cast<unsigned long long>(r.scan.dirs),
              static_cast<unsigned long long>(r.scan.symlinks),
              static_cast<unsigned long long>(r.scan.others),
              static_cast<unsigned long long>(r.scan.slices));
  if (!r.counters_ok) {
    std::printf("usedSpace: stored %lld, counted %lld; totalInodes: stored %lld, counted %lld%s\n",
                static_cast<long long>(r.scan.stored_used_space),
                static_cast<long long>(r.scan.used_space),
                static_cast<long long>(r.scan.stored_total_inodes),
                static_cast<long long>(r.scan.total_inodes), r.repaired ? " (repaired)" : "");
  }
  if (r.missing_objects > 0) {
    std::printf("%llu objects missing\n", static_cast<unsigned long long>(r.missing_objects));
  }
  if (!r.ok()) {
    PrintError(kCmd, r.missing_objects > 0 ? "volume has missing objects"
                                           : "counters do not match (run with --repair)");
    return kExitError;
  }
  std::printf("ok\n");
  return kExitOk;
}

// ---- destroy ----

int RunDestroy(const std::string& url, const std::string& uuid, bool yes, bool force) {
  constexpr std::string_view kCmd = "destroy";
  if (!yes) {
    PrintError(kCmd,
               "this deletes every object and all metadata of the volume; add --yes to confirm");
    return kExitUsage;
  }
  uint64_t n = 0;
  Status st = lib::Destroy(url, uuid, force, TtyProgress(), &n);
  EndProgress();
  if (!st.ok()) return Report(kCmd, url, st);
  std::printf("volume destroyed: %llu objects deleted\n", static_cast<unsigned long long>(n));
  return kExitOk;
}

// ---- restore ----

int RunRestore(const std::string& url, const std::vector<std::string>& hours, bool put_back) {
  constexpr std::string_view kCmd = "restore";
  std::vector<lib::TrashEntry> entries;
  Status st = lib::Restore(url, hours, put_back, &entries);
  if (!st.ok()) return Report(kCmd, url, st);
  int failed = 0;
  for (const lib::TrashEntry& e : entries) {
    if (!put_back) {
      std::printf("%s/%s\n", e.hour.c_str(), e.name.c_str());
    } else if (e.restored) {
      std::printf("restored %s/%s\n", e.hour.c_str(), e.name.c_str());
    } else {
      ++failed;
      PrintError(kCmd, e.hour + "/" + e.name + ": " + e.error);
    }
  }
  if (put_back) {
    std::printf("%zu restored, %d failed\n", entries.size() - failed, failed);
  } else {
    std::printf("%zu entries (add --put-back to restore them)\n", entries.size());
  }
  return failed > 0 ? kExitError : kExitOk;
}

// ---- rmr ----

int RunRmr(const GlobalOptions& global, const std::vector<std::string>& paths, bool skip_trash) {
  constexpr std::string_view kCmd = "rmr";
  if (global.meta_url.empty()) {
    PrintError(kCmd, "no volume given: use --meta META-URL or set JFS_META_URL");
    return kExitUsage;
  }
  for (const std::string& p : paths) {
    if (!IsVolumePath(p)) {
      PrintError(kCmd, "'" + p + "' is not a volume path (jfs:/PATH)");
      return kExitUsage;
    }
  }
  meta::Context ctx;
  ctx.uid = getuid();
  ctx.gids = {getgid()};
  int rc = kExitOk;
  for (const std::string& p : paths) {
    meta::Ino parent = 0;
    std::string name;
    uint64_t n = 0;
    Status st = lib::ResolvePath(global.meta_url, ctx, VolumePathOf(p), &parent, &name);
    if (st.ok()) st = lib::Rmr(global.meta_url, ctx, parent, name, skip_trash, &n);
    if (!st.ok()) {
      Report(kCmd, p, st);
      rc = kExitError;
      continue;
    }
    std::printf("%s: %llu entries removed\n", p.c_str(), static_cast<unsigned long long>(n));
  }
  return rc;
}

}  // namespace

void AddMaintenanceCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  {
    auto url = std::make_shared<std::string>();
    auto del = std::make_shared<bool>(false);
    CLI::App* c = app.add_subcommand("gc", "Find (and with --delete remove) leaked objects");
    c->add_option("META-URL", *url, "metadata engine (default: --meta / $JFS_META_URL)");
    c->add_flag("--delete", *del,
                "delete leaked objects, expired trash and pending file deletions");
    c->callback([=, &global] { *action = [=, &global] { return RunGc(global, *url, *del); }; });
  }
  {
    auto url = std::make_shared<std::string>();
    auto repair = std::make_shared<bool>(false);
    CLI::App* c = app.add_subcommand("fsck", "Check that every object exists and counters match");
    c->add_option("META-URL", *url, "metadata engine (default: --meta / $JFS_META_URL)");
    c->add_flag("--repair", *repair, "rewrite usedSpace / totalInodes from the inodes");
    c->callback(
        [=, &global] { *action = [=, &global] { return RunFsck(global, *url, *repair); }; });
  }
  {
    auto url = std::make_shared<std::string>();
    auto uuid = std::make_shared<std::string>();
    auto yes = std::make_shared<bool>(false);
    auto force = std::make_shared<bool>(false);
    CLI::App* c = app.add_subcommand("destroy", "Delete a volume: all its objects and metadata");
    c->add_option("META-URL", *url, "metadata engine")->required();
    c->add_option("UUID", *uuid, "the volume's UUID (as shown by jfs status)")->required();
    c->add_flag("--yes,-y", *yes, "confirm the destruction");
    c->add_flag("--force,-f", *force, "destroy even while sessions are registered");
    c->callback([=] { *action = [=] { return RunDestroy(*url, *uuid, *yes, *force); }; });
  }
  {
    auto url = std::make_shared<std::string>();
    auto hours = std::make_shared<std::vector<std::string>>();
    auto put_back = std::make_shared<bool>(false);
    CLI::App* c = app.add_subcommand("restore", "List or restore entries of the trash");
    c->add_option("META-URL", *url, "metadata engine")->required();
    c->add_option("HOUR", *hours, "trash hour directories (YYYY-MM-DD-HH); default: all");
    c->add_flag("--put-back", *put_back, "move the entries back to where they were");
    c->callback([=] { *action = [=] { return RunRestore(*url, *hours, *put_back); }; });
  }
  {
    auto paths = std::make_shared<std::vector<std::string>>();
    auto skip = std::make_shared<bool>(false);
    CLI::App* c = app.add_subcommand("rmr", "Remove directories recursively (into the trash)");
    c->add_option("PATH", *paths, "jfs:/PATH inside the volume (--meta)")->required();
    c->add_flag("--skip-trash", *skip, "delete for real, even with trash enabled");
    c->callback([=, &global] { *action = [=, &global] { return RunRmr(global, *paths, *skip); }; });
  }
}

}  // namespace jfs::tools
