// Metadata dump and load in JuiceFS's JSON format (format.md §5; `juicefs dump` / `juicefs load`),
// written over the Engine / Tx primitives so they work on every engine.
//
// Dump: walks the tree depth-first and streams the JSON out: a directory is read in pages, so
// memory is bounded by (tree depth × page size), never the whole tree. Hard-linked files appear
// under every name with their full attr and chunks (as JuiceFS writes them). Each page is read in
// its own read-only transaction: like JuiceFS's non-"fast" dump, a volume changing meanwhile
// yields a dump that is not one consistent snapshot.
//
// Load: parses the JSON with a SAX parser (never a DOM of the whole file) into an EMPTY database
// (no volume formatted there; anything else is refused before writing), writing in batched
// transactions. Link counts, parents, slice reference counts, usedSpace / totalInodes are rebuilt
// from the tree; the "next" counters become max(dumped, rebuilt) so no id a dumped volume handed
// out is ever reused. The Format is written last. On any failure (bad input, engine error) the
// target is Reset() back to empty, so it is unchanged (it was verified empty first).
// Memory of a load: the stack of open directories (with 8 bytes per child name seen, to refuse
// a name given twice), one batch, one bit per inode seen, the link
// counts of hard-linked inodes, and a count per distinct slice (as JuiceFS's loader keeps).
//
// Where this differs from JuiceFS's output (all deliberate, listed for the tests):
//  * a name containing the character U+FFFD is escaped byte by byte (%EF%BF%BD); JuiceFS writes
//    only %EF for it, losing two bytes;
//  * with keep_secret_key the stored (possibly encrypted) secrets are written as stored.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "meta/engine.h"
#include "util/status.h"

namespace jfs::meta {

// Where the JSON goes / comes from.
class DumpWriter {
 public:
  virtual ~DumpWriter() = default;
  virtual Status Write(std::string_view data) = 0;
};

class DumpReader {
 public:
  virtual ~DumpReader() = default;
  // Reads up to `n` bytes; *got = 0 at the end.
  virtual Status Read(char* buf, size_t n, size_t* got) = 0;
};

struct DumpOptions {
  std::string subdir;            // dump only this directory ("" or "/" = the whole volume)
  bool keep_secret_key = false;  // otherwise SecretKey / SessionToken / EncryptKey → "removed"
  bool skip_trash = false;       // leave out the Trash tree
  // Called now and then with the number of entries written so far (progress display).
  std::function<void(uint64_t entries)> progress;
};

struct LoadOptions {
  std::function<void(uint64_t entries)> progress;  // entries loaded so far
  size_t batch_entries = 512;                      // entries per write transaction
};

struct LoadStats {
  uint64_t entries = 0;  // directory entries read (hard links counted once per name)
  uint64_t inodes = 0;   // distinct inodes written
};

Status DumpMeta(Engine& engine, const DumpOptions& options, DumpWriter* out);
Status LoadMeta(Engine& engine, DumpReader* in, const LoadOptions& options,
                LoadStats* stats = nullptr);

// File helpers: `path` "-" is stdin / stdout. A dump to a path ending in ".gz" is gzipped; a load
// reads gzip or plain JSON (detected by the gzip magic).
Status DumpMetaToFile(Engine& engine, const std::string& path, const DumpOptions& options);
Status LoadMetaFromFile(Engine& engine, const std::string& path, const LoadOptions& options,
                        LoadStats* stats = nullptr);

// JuiceFS's escaping of names, symlink targets and xattr values (format.md §5.2) and its inverse.
std::string EscapeDumpString(std::string_view raw);
std::string UnescapeDumpString(std::string_view escaped);

}  // namespace jfs::meta
