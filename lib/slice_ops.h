// Slice-level file operations of an open Volume: fallocate(2), copy_file_range(2), clone and
// compaction. All of them change metadata only (slices are refcounted and shared, format.md §9),
// except compaction, which rewrites a chunk's data as one new slice (format.md §6.2).
//
// Errors are POSIX errno values as the kernel returns them for the same call (meta/meta.h).
#pragma once

#include <cstdint>
#include <string_view>

#include "lib/volume.h"

namespace jfs::lib {

// fallocate(2) on a handle open for writing (EBADF otherwise, directories included). `mode`:
// 0 or FALLOC_FL_KEEP_SIZE (space is not reserved in the object store, the length grows unless
// KEEP_SIZE), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, FALLOC_FL_ZERO_RANGE (optionally with
// KEEP_SIZE): the range reads as zeros afterwards. COLLAPSE/INSERT_RANGE → ENOTSUP; len 0 →
// EINVAL; read-only volume → EROFS. Buffered writes of the file are committed first.
Status Fallocate(File& f, int mode, uint64_t off, uint64_t len);

// copy_file_range(2) between two handles (`in` readable, `out` writable and not O_APPEND: EBADF),
// possibly of one file (overlapping ranges → EINVAL). Copies min(len, length(in) - off_in) bytes
// by sharing the source's slices (no data is read or written); *copied = that count (0 at EOF).
// flags ≠ 0 → EINVAL. Buffered writes of both files are committed first.
Status CopyFileRange(File& in, uint64_t off_in, File& out, uint64_t off_out, uint64_t len,
                     uint32_t flags, uint64_t* copied);

// `jfs clone SRC DST`: copies a file, symlink or directory tree to DST (which must not exist:
// EEXIST) sharing the file data (copy_file_range of every file); mode, owner (when the caller
// may set it), times and xattrs follow the source. Not atomic: on error a partial copy stays.
Status Clone(Volume& v, const Context& ctx, std::string_view src, std::string_view dst);

struct CompactStats {
  uint64_t files = 0;          // regular files visited
  uint64_t chunks = 0;         // chunks looked at
  uint64_t compacted = 0;      // chunks rewritten
  uint64_t bytes_written = 0;  // bytes uploaded as new slices
};

// `jfs compact PATH`: compacts every chunk of the file PATH, or of every file below the
// directory PATH (needs W on each file: EACCES). Safe while other clients read and write.
Status Compact(Volume& v, const Context& ctx, std::string_view path, CompactStats* stats);

}  // namespace jfs::lib
