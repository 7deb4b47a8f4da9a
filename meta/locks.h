// The pure rules of file locks, shared by BaseMeta and tests: the packed plock record list
// (format.md §2.4: type u32, pid u32, start u64, end u64 inclusive, big-endian, 24 bytes each;
// sorted by start, non-overlapping, adjacent ranges of the same type and pid merged) and how one
// owner's list changes when it locks or unlocks a range.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "meta/types.h"

namespace jfs::meta {

constexpr size_t kPlockRecordSize = 24;

std::string EncodePlocks(const std::vector<PosixLock>& locks);
// false when `data` is not a whole number of records (nothing is appended then).
bool DecodePlocks(std::string_view data, std::vector<PosixLock>* out);

// Applies `nl` (a read or write lock, or an unlock) to one owner's list: the bytes of
// [nl.start, nl.end] take nl's type and pid (or are released for kLockUnlock), ranges outside
// are kept (split where needed), the result is sorted and merged.
void UpdatePlocks(std::vector<PosixLock>* locks, const PosixLock& nl);

// Whether a request of type `type` over [start, end] conflicts with the held lock `l` of another
// owner: the ranges overlap and at least one of the two is a write lock.
inline bool PlockConflicts(const PosixLock& l, uint32_t type, uint64_t start, uint64_t end) {
  return (type == kLockWrite || l.type == kLockWrite) && end >= l.start && start <= l.end;
}

}  // namespace jfs::meta
