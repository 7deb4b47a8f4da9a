// Maintenance of a whole volume, for the `jfs` tool (gc, fsck, status, destroy, restore) and tests:
// each call opens the volume's metadata engine and data store itself, by META-URL.
//
// The scan (format.md §6.7) walks every directory from the root and from `.trash`, the sustained
// inodes of every session and the files waiting in delfiles, and collects every slice their chunk
// records name. An object under chunks/ is "referenced" when its slice is; anything else is leaked.
// Like JuiceFS, objects newer than an hour are never called leaked (a writer may have uploaded
// blocks it has not committed yet); $JFS_GC_SKIPPEDTIME (seconds) overrides the hour.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "meta/types.h"
#include "util/status.h"

namespace jfs::lib {

// Called now and then during long scans: what is being done and how many items so far.
using ProgressFn = std::function<void(const char* stage, uint64_t done)>;

struct ScanSummary {
  uint64_t files = 0, dirs = 0, symlinks = 0, others = 0;  // root and .trash excluded
  uint64_t trash_entries = 0, trash_bytes = 0;             // below .trash (hour dirs excluded)
  uint64_t sustained = 0;                                  // open-but-unlinked inodes
  uint64_t delfiles = 0, delfile_bytes = 0;                // files waiting for data deletion
  uint64_t delslices = 0, delslice_bytes = 0;  // slices compactions replaced, kept for the trash
  uint64_t slices = 0;                         // distinct non-zero slices referenced
  int64_t used_space = 0, total_inodes = 0;    // recomputed from the inodes
  int64_t stored_used_space = 0, stored_total_inodes = 0;  // the counters as stored
};

struct GcReport {
  ScanSummary scan;
  uint64_t objects = 0, object_bytes = 0;  // listed under chunks/
  uint64_t referenced = 0;                 // of them, blocks of referenced slices
  uint64_t leaked = 0, leaked_bytes = 0;   // neither referenced nor too recent
  uint64_t skipped_recent = 0;             // unreferenced but newer than the skip time
  uint64_t deleted = 0;                    // leaked objects removed (with delete)
  uint64_t trash_removed = 0;              // expired trash entries deleted (with delete)
  uint64_t delfiles_done = 0;              // pending file deletions completed (with delete)
  std::vector<std::string> leaked_keys;    // the first 100, for the report
};

// `jfs gc`: reports leaked objects; with `delete_leaked` first finishes pending work (expired
// trash, files in delfiles), then deletes the leaked objects.
Status Gc(const std::string& meta_url, bool delete_leaked, const ProgressFn& progress,
          GcReport* out);

struct FsckReport {
  ScanSummary scan;
  uint64_t missing_objects = 0;           // blocks of referenced slices not in the store
  std::vector<std::string> missing_keys;  // the first 100
  bool counters_ok = true;                // usedSpace and totalInodes match the inodes
  bool repaired = false;                  // counters were rewritten (with repair)
  bool ok() const { return missing_objects == 0 && (counters_ok || repaired); }
};

// `jfs fsck`: every block of every referenced slice exists, usedSpace / totalInodes match the
// inodes; `repair` rewrites the counters. Run on a quiet volume: live clients hold up to a second
// of counter deltas in memory.
Status Fsck(const std::string& meta_url, bool repair, const ProgressFn& progress, FsckReport* out);

// For `jfs status`: counts of the volume (one scan).
Status Scan(const std::string& meta_url, const ProgressFn& progress, ScanSummary* out);

// `jfs destroy`: deletes every object of the volume (its "{name}/" prefix) and all its metadata.
// `uuid` must equal the volume's UUID (the confirmation, as `juicefs destroy META UUID`); refused
// (EBUSY) while sessions are registered unless `force`. *objects = objects deleted.
Status Destroy(const std::string& meta_url, const std::string& uuid, bool force,
               const ProgressFn& progress, uint64_t* objects);

// One entry of the trash, for `jfs restore`.
struct TrashEntry {
  std::string hour;  // "YYYY-MM-DD-HH"
  std::string name;  // "{parent}-{ino}-{name}"
  meta::Ino parent = 0, inode = 0;
  std::string original;  // the name it had
  bool restored = false;
  std::string error;  // why it was not restored
};

// `jfs restore`: lists the entries of trash hour directories `hours` (all when empty); with
// `put_back`, moves each back to its original directory under its original name (not over an
// existing name; not when the directory is gone).
Status Restore(const std::string& meta_url, const std::vector<std::string>& hours, bool put_back,
               std::vector<TrashEntry>* out);

// `jfs rmr`: Meta::Remove of `name` in `parent` with the data store wired, so data of entries
// deleted for real goes at once. *count = entries removed.
Status Rmr(const std::string& meta_url, const meta::Context& ctx, meta::Ino parent,
           std::string_view name, bool skip_trash, uint64_t* count);
// The parent directory and last name of an absolute volume path (no symlink followed).
Status ResolvePath(const std::string& meta_url, const meta::Context& ctx, const std::string& path,
                   meta::Ino* parent, std::string* name);

}  // namespace jfs::lib
