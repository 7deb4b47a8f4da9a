// Slice commands: `jfs clone SRC DST` (a copy sharing the data slices) and `jfs compact PATH`
// (rewrite fragmented chunks as single slices). Through the public C ABI, as the file commands.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "juicefs/juicefs.h"
#include "tools/common.h"

namespace jfs::tools {
namespace {

bool VolumeArgs(std::string_view cmd, const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (!IsVolumePath(a)) {
      PrintError(cmd, "'" + a + "' is not a volume path (write it as jfs:" +
                          (a.empty() || a[0] != '/' ? "/" : "") + a + ")");
      return false;
    }
  }
  return true;
}

int RunClone(const GlobalOptions& global, const std::string& src, const std::string& dst) {
  constexpr std::string_view kCmd = "clone";
  if (!VolumeArgs(kCmd, {src, dst})) return kExitUsage;
  VolumeHandle fs;
  if (int rc = OpenVolume(kCmd, global, false, &fs); rc != kExitOk) return rc;
  int result = kExitOk;
  int rc = jfs_clone(fs.get(), VolumePathOf(src).c_str(), VolumePathOf(dst).c_str());
  if (rc < 0) {
    PrintErrno(kCmd, "cannot clone " + src + " to " + dst, -rc,
               UsefulDetail(jfs_last_error(fs.get()), -rc));
    result = kExitError;
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

int RunCompact(const GlobalOptions& global, const std::vector<std::string>& paths) {
  constexpr std::string_view kCmd = "compact";
  if (!VolumeArgs(kCmd, paths)) return kExitUsage;
  VolumeHandle fs;
  if (int rc = OpenVolume(kCmd, global, false, &fs); rc != kExitOk) return rc;
  int result = kExitOk;
  for (const std::string& arg : paths) {
    int rc = jfs_compact(fs.get(), VolumePathOf(arg).c_str());
    if (rc < 0) {
      PrintErrno(kCmd, "cannot compact " + arg, -rc, UsefulDetail(jfs_last_error(fs.get()), -rc));
      result = kExitError;
    }
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

}  // namespace

void AddSliceCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  {
    auto src = std::make_shared<std::string>();
    auto dst = std::make_shared<std::string>();
    CLI::App* c = app.add_subcommand(
        "clone", "Clone a file or directory tree inside the volume, sharing its data (no copy)");
    c->add_option("SRC", *src, "jfs:/path to clone")->required();
    c->add_option("DST", *dst, "jfs:/path to create (must not exist)")->required();
    c->callback([src, dst, action, &global] {
      *action = [src, dst, &global] { return RunClone(global, *src, *dst); };
    });
  }
  {
    auto paths = std::make_shared<std::vector<std::string>>();
    CLI::App* c = app.add_subcommand(
        "compact", "Compact the slices of files (a file, or every file below a directory)");
    c->add_option("PATH", *paths, "jfs:/path")->required();
    c->callback([paths, action, &global] {
      *action = [paths, &global] { return RunCompact(global, *paths); };
    });
  }
}

}  // namespace jfs::tools
