// Shared pieces of the `jfs` command: exit codes, one-line error reporting, size parsing, volume
// paths ("jfs:/dir/file"), and RAII owners for the C ABI handles.
//
// Every command reports a failure as ONE line on stderr, "jfs: <cmd>: <subject>: <reason>", and
// returns kExitError; a usage mistake returns kExitUsage. File commands use only the public C ABI
// (include/juicefs/juicefs.h), as an application would.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "juicefs/juicefs.h"

namespace CLI {
class App;
}

namespace jfs::tools {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

// Options every command can see. meta_url comes from --meta or $JFS_META_URL.
struct GlobalOptions {
  std::string meta_url;
  // Volume options of the commands that open a volume (JuiceFS's mount flags); empty = the
  // library's default.
  std::string cache_dir, cache_size, free_space_ratio, cache_eviction, verify_cache_checksum;
  std::string max_uploads, max_downloads, buffer_size, prefetch;
  bool writeback = false;
  bool cache_large_write = false;
};

// Registers the volume options above on `app` (global: they may follow the command name).
void AddVolumeOptions(CLI::App& app, GlobalOptions* global);
// Applies the volume options given in `global` onto `opts` (string fields point into `global`);
// prints a usage error and returns kExitUsage for a malformed value.
int ApplyVolumeOptions(std::string_view cmd, const GlobalOptions& global,
                       jfs_volume_options_t* opts);
// JuiceFS's default cache directory: /var/jfsCache for root, else $HOME/.juicefs/cache.
std::string DefaultCacheDir();
// Parses a duration: seconds ("3600") or a number with s, m, h or d ("90m", "1h"). False when
// malformed or negative.
bool ParseDuration(std::string_view text, int64_t* seconds);

// The action of the subcommand that was parsed; set by the subcommand's CLI11 callback.
using Action = std::function<int()>;

// Registration of the subcommands (one function per source file).
void AddAdminCommands(CLI::App& app, const GlobalOptions& global, Action* action);
void AddFileCommands(CLI::App& app, const GlobalOptions& global, Action* action);
// `jfs clone`, `jfs compact` (tools/slice_cmds.cc).
void AddSliceCommands(CLI::App& app, const GlobalOptions& global, Action* action);
void AddBenchCommand(CLI::App& app, const GlobalOptions& global, Action* action);
void AddObjbenchCommand(CLI::App& app, Action* action);
void AddDumpCommands(CLI::App& app, Action* action);
void AddMountCommands(CLI::App& app, const GlobalOptions& global, Action* action);
void AddGatewayCommand(CLI::App& app, const GlobalOptions& global, Action* action);
void AddWebDavCommand(CLI::App& app, const GlobalOptions& global, Action* action);
void AddQuotaCommands(CLI::App& app, const GlobalOptions& global, Action* action);
// `jfs info PATH` (tools/quota_cmds.cc): whether an argument names a path inside the volume
// ("/dir" or "jfs:/dir"), and the directory summary of one.
bool IsInfoPath(const std::string& arg);
int RunPathInfo(const GlobalOptions& global, const std::string& url, const std::string& path);
void AddMaintenanceCommands(CLI::App& app, const GlobalOptions& global, Action* action);

// ---- error reporting ----

// "jfs: <cmd>: <message>"
void PrintError(std::string_view cmd, std::string_view message);
// "jfs: <cmd>: <subject>: <strerror(err)>" plus " (<detail>)" when detail adds something.
void PrintErrno(std::string_view cmd, std::string_view subject, int err,
                std::string_view detail = {});
// The part of a library message (jfs_last_error text, "jfs_open /a: ENOENT (No such file or
// directory): more") that says more than strerror(err): "more" here, "" when nothing is left.
// Plain path errors (ENOENT, EEXIST, ENOTDIR, ...) are self-explanatory and give "".
std::string UsefulDetail(std::string_view library_message, int err);
// Like UsefulDetail for every errno (for failures strerror cannot describe, e.g. opening a volume).
std::string LibraryDetail(std::string_view library_message, int err);

// ---- tables ----

// The table of juicefs's printResult (cmd/bench.go, leftAlign -1): a header row of three
// centred titles, then rows of three right-aligned cells, framed with +---+ dividers.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// ---- sizes ----

// Parses "4096", "4M", "1.5G", "128KiB", "64k" into bytes. A bare number is in units of
// `default_unit` bytes (1 for bytes, 1024 for KiB, ...). Suffixes K/M/G/T/P are powers of 1024,
// optionally followed by "i", "B" or "iB"; "B" alone means bytes. Rejects negative, empty,
// malformed and overflowing values.
bool ParseSize(std::string_view text, uint64_t default_unit, uint64_t* bytes);
// 1073741824 → "1.0 GiB"; 512 → "512 B".
std::string HumanBytes(uint64_t bytes);

// ---- volume paths ----

// True for "jfs:..." arguments.
bool IsVolumePath(std::string_view arg);
// "jfs:/a/b" → "/a/b"; "jfs:" → "/"; "jfs:a" → "/a" (paths inside a volume are absolute).
std::string VolumePathOf(std::string_view arg);

// ---- C ABI handles ----

struct VolumeCloser {
  void operator()(jfs_fs_t* fs) const noexcept { jfs_close_volume(fs); }
};
struct FileCloser {
  void operator()(jfs_file_t* f) const noexcept { jfs_close(f); }
};
struct DirCloser {
  void operator()(jfs_dir_t* d) const noexcept { jfs_closedir(d); }
};
using VolumeHandle = std::unique_ptr<jfs_fs_t, VolumeCloser>;
using FileHandle = std::unique_ptr<jfs_file_t, FileCloser>;
using DirHandle = std::unique_ptr<jfs_dir_t, DirCloser>;

// The volume of a file command. Opens global.meta_url (usage error when empty) and reports a
// failure itself; returns kExitOk with *out set, or the exit code to return.
int OpenVolume(std::string_view cmd, const GlobalOptions& global, bool read_only,
               VolumeHandle* out);
// Closes the volume, reporting a flush failure. Returns kExitOk or kExitError.
int CloseVolume(std::string_view cmd, VolumeHandle fs);

// rm -r: removes the contents of directory `path` of the volume, then the directory. Reports each
// failure ("jfs: <cmd>: cannot remove jfs:/p: ...") and keeps going with the rest, as rm -r does.
// Returns true when everything was removed.
bool RemoveTree(std::string_view cmd, jfs_fs_t* fs, const std::string& path);

// Buffer size of streamed copies: files are never loaded whole.
constexpr size_t kCopyBufferSize = 4u << 20;

// Whether `path` names the volume's root.
inline bool IsRoot(std::string_view path) {
  return path == "/";
}

}  // namespace jfs::tools
