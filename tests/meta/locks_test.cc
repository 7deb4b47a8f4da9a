// The plock record codec (format.md §2.4) and one owner's range bookkeeping (meta/locks.h).
#include "meta/locks.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace jfs::meta {
namespace {

std::vector<PosixLock> Apply(std::vector<PosixLock> ls, const PosixLock& nl) {
  UpdatePlocks(&ls, nl);
  return ls;
}

bool Same(const std::vector<PosixLock>& a, const std::vector<PosixLock>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].pid != b[i].pid || a[i].start != b[i].start ||
        a[i].end != b[i].end) {
      return false;
    }
  }
  return true;
}

TEST_CASE("plock records are 24 big-endian bytes: type, pid, start, end") {
  const std::string enc = EncodePlocks({{kLockWrite, 5, kLockEndMax, 0x01020304}});
  const std::string want(
      "\x00\x00\x00\x01\x01\x02\x03\x04"
      "\x00\x00\x00\x00\x00\x00\x00\x05"
      "\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xFF",
      24);
  CHECK(enc == want);
  std::vector<PosixLock> back;
  REQUIRE(DecodePlocks(enc + enc, &back));
  REQUIRE(back.size() == 2);
  CHECK(back[1].type == kLockWrite);
  CHECK(back[1].pid == 0x01020304);
  CHECK(back[1].start == 5);
  CHECK(back[1].end == kLockEndMax);
  std::vector<PosixLock> none;
  CHECK_FALSE(DecodePlocks(enc.substr(0, 23), &none));
  CHECK(none.empty());
  CHECK(DecodePlocks("", &none));
}

TEST_CASE("one owner's ranges split, replace and merge") {
  const PosixLock w{kLockWrite, 0, 99, 1};
  // Unlocking the middle splits.
  CHECK(Same(Apply({w}, {kLockUnlock, 20, 29, 0}),
             {{kLockWrite, 0, 19, 1}, {kLockWrite, 30, 99, 1}}));
  // A read lock over part of it replaces that part only.
  CHECK(
      Same(Apply({w}, {kLockRead, 90, 120, 1}), {{kLockWrite, 0, 89, 1}, {kLockRead, 90, 120, 1}}));
  // Adjacent ranges of the same type and pid merge; different pid stays separate.
  CHECK(Same(Apply({w}, {kLockWrite, 100, 199, 1}), {{kLockWrite, 0, 199, 1}}));
  CHECK(Same(Apply({w}, {kLockWrite, 100, 199, 2}),
             {{kLockWrite, 0, 99, 1}, {kLockWrite, 100, 199, 2}}));
  // Filling a gap joins three ranges into one.
  CHECK(Same(Apply({{kLockRead, 0, 9, 1}, {kLockRead, 20, 29, 1}}, {kLockRead, 10, 19, 1}),
             {{kLockRead, 0, 29, 1}}));
  // Unlocking everything empties the list; unlocking beyond it changes nothing.
  CHECK(Apply({w}, {kLockUnlock, 0, kLockEndMax, 0}).empty());
  CHECK(Same(Apply({w}, {kLockUnlock, 100, kLockEndMax, 0}), {w}));
  // A range to the end of the file.
  CHECK(Same(Apply({w}, {kLockWrite, 50, kLockEndMax, 1}), {{kLockWrite, 0, kLockEndMax, 1}}));
  CHECK(PlockConflicts(w, kLockRead, 99, 200));
  CHECK_FALSE(PlockConflicts(w, kLockRead, 100, 200));
  CHECK_FALSE(PlockConflicts({kLockRead, 0, 9, 1}, kLockRead, 0, 9));
  CHECK(PlockConflicts({kLockRead, 0, 9, 1}, kLockWrite, 9, 9));
}

}  // namespace
}  // namespace jfs::meta
