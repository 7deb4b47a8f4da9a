// Value types shared by the Meta interface, its base layer and every engine. Field meanings and
// binary layouts follow JuiceFS 1.x exactly (shared/design/format.md §1–§4).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace jfs::meta {

using Ino = uint64_t;

constexpr Ino kRootIno = 1;
constexpr Ino kTrashIno = 0x7FFFFFFF10000000ULL;  // `.trash` under root (format.md §4.3)
constexpr Ino kMaxNormalIno = 0x7FFFFFFF0FFFFFFFULL;
constexpr const char* kTrashName = ".trash";

constexpr uint32_t kChunkBits = 26;
constexpr uint64_t kChunkSize = 1ULL << kChunkBits;  // 64 MiB
constexpr size_t kMaxName = 255;
constexpr size_t kMaxSymlink = 4096;
constexpr size_t kMaxXattrName = 255;
constexpr size_t kMaxXattrValue = 65536;
constexpr uint32_t kInodeBatch = 1024;
constexpr uint32_t kSliceIdBatch = 4096;

// Attr.typ values (format.md §2.3).
enum FileType : uint8_t {
  kTypeFile = 1,
  kTypeDirectory = 2,
  kTypeSymlink = 3,
  kTypeFIFO = 4,
  kTypeBlockDev = 5,
  kTypeCharDev = 6,
  kTypeSocket = 7,
};

// Attr.flags bits.
enum AttrFlag : uint8_t {
  kFlagImmutable = 1 << 0,
  kFlagAppend = 1 << 1,
  kFlagSkipTrash = 1 << 5,
};

// Inode attributes, exactly the fields JuiceFS stores. Times are seconds + nanosecond remainder.
struct Attr {
  uint8_t flags = 0;
  uint8_t typ = 0;    // FileType
  uint16_t mode = 0;  // permission bits incl. setuid/setgid/sticky (0..07777), no type bits
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t atime = 0;
  uint32_t atimensec = 0;
  int64_t mtime = 0;
  uint32_t mtimensec = 0;
  int64_t ctime = 0;
  uint32_t ctimensec = 0;
  uint32_t nlink = 0;
  uint64_t length = 0;
  uint32_t rdev = 0;
  Ino parent = 0;  // 0 => hard-linked; parents tracked separately
  uint32_t access_acl = 0;
  uint32_t default_acl = 0;
  uint8_t tier = 0;

  // st_mode style: S_IFxxx | mode.
  uint32_t SMode() const;
  bool operator==(const Attr&) const = default;
};

// One stored slice record (format.md §1.2, 24 bytes on disk). id 0 = hole (zeros).
struct Slice {
  uint32_t pos = 0;
  uint64_t id = 0;
  uint32_t size = 0;
  uint32_t off = 0;
  uint32_t len = 0;
  bool operator==(const Slice&) const = default;
};

// One piece of a resolved chunk (positions are implicit and contiguous from chunk offset 0).
struct SliceView {
  uint64_t id = 0;  // 0 = zeros
  uint32_t size = 0;
  uint32_t off = 0;
  uint32_t len = 0;
  bool operator==(const SliceView&) const = default;
};

// Who is asking. Permission checks use uid/gids; uid 0 bypasses them (as root does).
struct Context {
  uint32_t uid = 0;
  std::vector<uint32_t> gids{0};  // gids[0] is the primary group (new inodes get it)
  uint16_t umask = 022;
  uint32_t pid = 0;
  bool check_permission = true;

  bool IsRoot() const { return uid == 0; }
  bool InGroup(uint32_t gid) const;
};

// ---- file locks (format.md §2.2, §3.2, §9) ----------------------------------------------------
// Lock types: Linux's F_RDLCK / F_WRLCK / F_UNLCK values, which JuiceFS stores in plock records.
constexpr uint32_t kLockRead = 0;
constexpr uint32_t kLockWrite = 1;
constexpr uint32_t kLockUnlock = 2;
// The end of a POSIX lock that extends to the end of the file (Linux OFFSET_MAX, what the kernel
// sends through FUSE for l_len = 0).
constexpr uint64_t kLockEndMax = 0x7FFFFFFFFFFFFFFFULL;

// A POSIX byte-range lock: bytes [start, end], end inclusive (format.md §2.4 plock record).
struct PosixLock {
  uint32_t type = kLockUnlock;
  uint64_t start = 0;
  uint64_t end = kLockEndMax;
  uint32_t pid = 0;
};

// How a lock request waits when the lock is held by another owner. Without `block` the request
// fails at once with EAGAIN. With it the request polls (JuiceFS does the same: there is no
// notification across clients) with a backoff from 1 ms up to 50 ms, and ends early when an
// unlock in this client wakes it. It gives up with EINTR when `interrupted` returns true (checked
// at each poll) and with ETIMEDOUT once `timeout_ms` (>= 0) has passed.
struct LockWait {
  bool block = false;
  int64_t timeout_ms = -1;  // < 0: no limit
  std::function<bool()> interrupted;
};

// A directory entry as returned by Readdir / Lookup.
struct Entry {
  Ino inode = 0;
  std::string name;
  Attr attr;  // filled by Readdir(plus = true); otherwise only attr.typ is set
};

// The volume settings stored under `setting` / jfs_setting (format.md §4.1).
struct Format {
  std::string name;
  std::string uuid;
  std::string storage = "file";
  std::string storage_class;
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  int block_size_kib = 4096;  // KiB
  std::string compression;    // "", "none", "lz4", "zstd"
  int shards = 0;
  bool hash_prefix = false;
  uint64_t capacity = 0;  // bytes, 0 = unlimited
  uint64_t inodes = 0;    // 0 = unlimited
  std::string encrypt_key;
  std::string encrypt_algo;
  bool key_encrypted = false;
  int64_t upload_limit = 0;
  int64_t download_limit = 0;
  int trash_days = 1;
  int meta_version = 1;
  std::string min_client_version;
  std::string max_client_version;
  bool dir_stats = false;
  bool user_group_quota = false;
  bool enable_acl = false;
  // Fields this implementation does not interpret are kept verbatim (JSON text by key) so a
  // rewrite of the Format never drops what another client stored.
  std::map<std::string, std::string> extra_json;

  uint32_t BlockSizeBytes() const { return static_cast<uint32_t>(block_size_kib) * 1024u; }
};

// Session registration info (format.md §4.4).
struct SessionInfo {
  std::string version;
  std::string host_name;
  std::vector<std::string> ip_addrs;
  std::string mount_point;
  int64_t mount_time = 0;  // unix seconds
  int process_id = 0;
};

// One registered client, as stored (jfs_session2 / allSessions + sessionInfos).
struct SessionRecord {
  uint64_t sid = 0;
  int64_t expire = 0;     // unix seconds; a session not refreshed by then is stale
  std::string info_json;  // the SessionInfo JSON (format.md §4.4), as the client wrote it
};

// A POSIX ACL rule as JuiceFS stores it (format.md §2.4, jfs_acl): the owner/group/mask/other
// permission bits (0xFFFF = unset) and the named user / group entries.
struct AclEntry {
  uint32_t id = 0;
  uint16_t perm = 0;
  bool operator==(const AclEntry&) const = default;
};
struct AclRule {
  uint16_t owner = 0;
  uint16_t group = 0;
  uint16_t mask = 0;
  uint16_t other = 0;
  std::vector<AclEntry> users;
  std::vector<AclEntry> groups;
  bool operator==(const AclRule&) const = default;
};

// A quota (format.md §2.2 dirQuota/userQuota/groupQuota, §3.2 jfs_dir_quota/jfs_user_group_quota).
enum class QuotaKind : uint8_t { kDir = 0, kUser = 1, kGroup = 2 };
struct QuotaRecord {
  int64_t max_space = 0;
  int64_t max_inodes = 0;
  int64_t used_space = 0;
  int64_t used_inodes = 0;
  bool operator==(const QuotaRecord&) const = default;
};

// Statistics of one directory's direct children (format.md §2.2 dirDataLength/dirUsedSpace/
// dirUsedInodes, §3.2 jfs_dir_stats): Σ file lengths, Σ Align4K space, number of entries.
struct DirStat {
  int64_t length = 0;
  int64_t space = 0;
  int64_t inodes = 0;
  bool operator==(const DirStat&) const = default;
};

// A recursive summary of a tree (JuiceFS Summary, `juicefs info`): Σ file lengths, Σ Align4K
// space of every inode (the top one included), and the number of files (non-directories) and
// directories (the top one included when it is a directory).
struct Summary {
  uint64_t length = 0;
  uint64_t size = 0;
  uint64_t files = 0;
  uint64_t dirs = 0;
};

// A file whose data awaits deletion (jfs_delfile / delfiles).
struct DelFileRecord {
  Ino inode = 0;
  uint64_t length = 0;
  int64_t expire = 0;  // unix seconds when it was queued
};

// Slices replaced by a compaction while the trash is on (format.md §2.1 delSlices, §3.1
// jfs_delslices, §6.2): kept, with their references, until TrashDays after `deleted`.
struct DelSliceRecord {
  uint64_t id = 0;      // the new (compacted) slice id
  int64_t deleted = 0;  // unix seconds of the compaction
  std::string slices;   // concatenated 12-byte {id u64, size u32} big-endian records
};

// Volume-wide usage, as reported by statfs.
struct StatFS {
  uint64_t total_space = 0;
  uint64_t avail_space = 0;
  uint64_t used_inodes = 0;
  uint64_t avail_inodes = 0;
};

// SetAttr mask bits (which fields of the passed Attr to apply).
enum SetAttrMask : uint32_t {
  kSetMode = 1 << 0,
  kSetUid = 1 << 1,
  kSetGid = 1 << 2,
  kSetSize = 1 << 3,  // handled by Truncate; SetAttr rejects it with EINVAL
  kSetAtime = 1 << 4,
  kSetMtime = 1 << 5,
  kSetAtimeNow = 1 << 7,
  kSetMtimeNow = 1 << 8,
  kSetCtime = 1 << 9,
  kSetFlags = 1 << 10,
};

// Rename flags (Linux values).
enum RenameFlag : uint32_t {
  kRenameNoReplace = 1,
  kRenameExchange = 2,
  kRenameWhiteout = 4,
};

// fallocate(2) mode bits (Linux values).
enum FallocMode : int {
  kFallocKeepSize = 0x01,
  kFallocPunchHole = 0x02,
  kFallocCollapseRange = 0x08,
  kFallocZeroRange = 0x10,
  kFallocInsertRange = 0x20,
};

// Xattr set flags (Linux values).
enum XattrFlag : int {
  kXattrCreate = 1,
  kXattrReplace = 2,
};

// Byte count charged to usedSpace for an inode of `length` bytes (format.md §2.2): rounded up to
// 4 KiB, and 4 KiB for empty files and non-files.
inline int64_t Align4K(uint64_t length) {
  if (length == 0) return 4096;
  return static_cast<int64_t>(((length - 1) / 4096 + 1) * 4096);
}

}  // namespace jfs::meta
