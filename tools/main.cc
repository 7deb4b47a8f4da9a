// jfs: the command-line tool of libjuicefs. Admin commands (format, status, info, mdtest) and
// file commands (ls, cp, cat, mkdir, rm, stat, bench) on a volume named by a META-URL.
//
// Exit status: 0 success, 1 failure (one line on stderr), 2 usage error.
#include <CLI/CLI.hpp>

#include <cstring>
#include <exception>
#include <string>

#include "juicefs/juicefs.h"
#include "tools/common.h"

namespace {

using jfs::tools::kExitError;
using jfs::tools::kExitUsage;

bool IsSubcommandName(const CLI::App& app, const std::string& name) {
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (sub->check_name(name)) return true;
  }
  return false;
}

// The one-line message of a parse error, naming the subcommand it belongs to.
int ReportUsageError(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  std::string cmd;
  for (const CLI::App* sub : app.get_subcommands()) cmd = sub->get_name();
  if (cmd.empty()) {
    // No subcommand was recognized: name the unknown word rather than CLI11's generic text.
    for (int i = 1; i < argc; ++i) {
      if (argv[i][0] == '-') {
        // Skip the value of the global option.
        if (std::strcmp(argv[i], "--meta") == 0) ++i;
        continue;
      }
      if (!IsSubcommandName(app, argv[i])) {
        jfs::tools::PrintError(
            "", std::string("unknown command '") + argv[i] + "' (run 'jfs --help' for the list)");
        return kExitUsage;
      }
      break;
    }
    if (dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && app.get_subcommands().empty()) {
      jfs::tools::PrintError("", "a command is required (run 'jfs --help' for the list)");
      return kExitUsage;
    }
  }
  jfs::tools::PrintError(
      cmd, std::string(e.what()) + " (run 'jfs " + cmd + (cmd.empty() ? "" : " ") + "--help')");
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"jfs: a JuiceFS-compatible volume from the command line (libjuicefs)", "jfs"};
  app.require_subcommand(1);
  // --meta may also be given after the command name.
  app.fallthrough();
  app.set_version_flag("--version", std::string("jfs (libjuicefs) ") + jfs_version());
  app.footer(
      "File commands name paths inside the volume as jfs:/dir/file and take the volume from\n"
      "--meta META-URL or $JFS_META_URL (e.g. sqlite3:///var/lib/jfs/meta.db).");

  jfs::tools::GlobalOptions global;
  app.add_option("--meta", global.meta_url, "META-URL of the volume (file commands)")
      ->envname("JFS_META_URL");
  jfs::tools::AddVolumeOptions(app, &global);

  jfs::tools::Action action;
  jfs::tools::AddAdminCommands(app, global, &action);
  jfs::tools::AddFileCommands(app, global, &action);
  jfs::tools::AddSliceCommands(app, global, &action);
  jfs::tools::AddBenchCommand(app, global, &action);
  jfs::tools::AddObjbenchCommand(app, &action);
  jfs::tools::AddDumpCommands(app, &action);
  jfs::tools::AddMountCommands(app, global, &action);
  jfs::tools::AddGatewayCommand(app, global, &action);
  jfs::tools::AddWebDavCommand(app, global, &action);
  jfs::tools::AddQuotaCommands(app, global, &action);
  jfs::tools::AddMaintenanceCommands(app, global, &action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    return ReportUsageError(app, e, argc, argv);
  }
  if (!action) {
    jfs::tools::PrintError("", "a command is required (run 'jfs --help' for the list)");
    return kExitUsage;
  }
  try {
    return action();
  } catch (const std::exception& e) {
    // Commands report their own errors; this only catches what escaped them (e.g. bad_alloc).
    jfs::tools::PrintError("", std::string("internal error: ") + e.what());
    return kExitError;
  }
}
