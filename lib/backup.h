// Automatic metadata backups (format.md §1.5, JuiceFS pkg/vfs/backup.go): a client with a backup
// interval checks now and then whether the volume's last backup is older than the interval and, if
// so, writes a gzip'd JSON dump (format.md §5, secrets removed) to the volume's own object store as
// `meta/dump-YYYY-MM-DD-HHMMSS.json.gz` (UTC; through the same store stack as blocks, so encrypted
// when the volume is, never block-compressed), then thins old backups out.
//
// Shared state, as JuiceFS keeps it: the time of the last backup is the xattr `lastBackup` of the
// root inode (RFC 3339). Unlike JuiceFS, reading and updating it is one metadata transaction, so of
// several clients due at the same moment exactly one backs up. As JuiceFS: with an interval of at
// most one hour a volume of more than 1,000,000 inodes is not backed up (the dump would take a
// good part of the interval); raise the interval to back it up.
//
// Rotation (as JuiceFS): every backup of the last 2 days is kept, then the earliest one per day up
// to 2 weeks, one per week up to about 2 months, one per month before that. Objects under meta/
// whose names are not exactly `dump-YYYY-MM-DD-HHMMSS.json.gz` are left alone.
//
// Memory: the compressed dump is held in memory while it is uploaded (one Put).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jfs::meta {
class Engine;
}
namespace jfs::object {
class ObjectStore;
}

namespace jfs::lib {

// The smallest interval JuiceFS accepts for --backup-meta (5 minutes).
constexpr int64_t kMinBackupInterval = 300;

// "dump-YYYY-MM-DD-HHMMSS.json.gz" for a UTC time (seconds since the epoch).
std::string BackupObjectName(int64_t unix_seconds);

// Of the backup object names (without the "meta/" prefix) those the rotation deletes at `now`.
std::vector<std::string> BackupsToDelete(std::vector<std::string> names, int64_t now);

// RFC 3339 ("2021-11-23T18:29:54+08:00", "2026-11-28T01:02:03Z") ↔ seconds since the epoch.
bool ParseRfc3339(std::string_view text, int64_t* unix_seconds);
std::string FormatRfc3339Utc(int64_t unix_seconds);

enum class BackupResult { kNotDue, kSkippedTooManyInodes, kDone };

// One check at `now`: if the root's `lastBackup` is missing, unparsable or at least `interval`
// seconds old, records `now` as the last backup (in the same transaction as the check), dumps the
// volume from `engine` and uploads it to `store` (the volume's data store, names relative to the
// volume), then deletes the backups the rotation drops (failures to delete are not errors).
// `cancel`, when set during the dump, aborts it with ECANCELED (nothing is uploaded).
Status BackupIfDue(meta::Engine& engine, object::ObjectStore& store, int64_t interval, int64_t now,
                   bool skip_trash, const std::atomic<bool>* cancel, BackupResult* result);

}  // namespace jfs::lib
