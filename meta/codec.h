// Binary encodings shared by every engine and by dumps (format.md §2.3, §2.4). All big-endian.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "meta/types.h"
#include "util/status.h"

namespace jfs::meta {

// Attr as JuiceFS's Attr.Marshal writes it, including the trailing zero pad byte
// (72 bytes; 80 with ACL ids; +1 with a tier).
std::string EncodeAttr(const Attr& attr);
// Accepts every length Attr.Unmarshal accepts (legacy 63-byte values without parent, with/without
// ACL ids and tier). Shorter than 63 bytes → EIO "corrupted attr".
Status DecodeAttr(std::string_view data, Attr* attr);

// Directory entry value: type u8 + inode u64 (9 bytes).
std::string EncodeEntry(uint8_t type, Ino ino);
Status DecodeEntry(std::string_view data, uint8_t* type, Ino* ino);

// One 24-byte slice record.
constexpr size_t kSliceRecordSize = 24;
void AppendSlice(std::string* out, const Slice& s);
std::string EncodeSlice(const Slice& s);
// A concatenation of records; a length not divisible by 24 → EIO.
Status DecodeSlices(std::string_view data, std::vector<Slice>* out);

// Delayed-slice record (id u64, size u32).
void AppendDelayedSlice(std::string* out, uint64_t id, uint32_t size);
constexpr size_t kDelayedSliceSize = 12;
// A concatenation of delayed-slice records (id, size); a length not divisible by 12 → EIO.
Status DecodeDelayedSlices(std::string_view data, std::vector<std::pair<uint64_t, uint32_t>>* out);

// Format JSON (format.md §4.1): keys are the Go field names, written in Go struct order with
// omitempty rules; unknown keys read are kept in Format::extra_json and written back.
std::string EncodeFormat(const Format& f);
Status DecodeFormat(std::string_view json, Format* f);
// The Format as `jfs status` shows it: secrets replaced by "removed".
std::string EncodeFormatForDisplay(const Format& f);

// `s` as a JSON string exactly as Go's encoding/json writes it (HTML-escaped <, >, &; invalid
// UTF-8 bytes become \ufffd), appended with its quotes.
void AppendGoJsonString(std::string* out, std::string_view s);

// SessionInfo JSON (format.md §4.4).
std::string EncodeSessionInfo(const SessionInfo& s);

}  // namespace jfs::meta
