#include "meta/locks.h"

#include <algorithm>

namespace jfs::meta {

namespace {

void Put(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint64_t Get(std::string_view d, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | static_cast<uint8_t>(d[at + i]);
  return v;
}

}  // namespace

std::string EncodePlocks(const std::vector<PosixLock>& locks) {
  std::string out;
  out.reserve(locks.size() * kPlockRecordSize);
  for (const PosixLock& l : locks) {
    Put(&out, l.type, 4);
    Put(&out, l.pid, 4);
    Put(&out, l.start, 8);
    Put(&out, l.end, 8);
  }
  return out;
}

bool DecodePlocks(std::string_view data, std::vector<PosixLock>* out) {
  if (data.size() % kPlockRecordSize != 0) return false;
  for (size_t at = 0; at < data.size(); at += kPlockRecordSize) {
    PosixLock l;
    l.type = static_cast<uint32_t>(Get(data, at, 4));
    l.pid = static_cast<uint32_t>(Get(data, at + 4, 4));
    l.start = Get(data, at + 8, 8);
    l.end = Get(data, at + 16, 8);
    out->push_back(l);
  }
  return true;
}

void UpdatePlocks(std::vector<PosixLock>* locks, const PosixLock& nl) {
  std::vector<PosixLock> out;
  out.reserve(locks->size() + 2);
  for (const PosixLock& l : *locks) {
    if (l.end < nl.start || l.start > nl.end) {  // untouched
      out.push_back(l);
      continue;
    }
    if (l.start < nl.start) {  // the part before the new range stays
      PosixLock head = l;
      head.end = nl.start - 1;
      out.push_back(head);
    }
    if (l.end > nl.end) {  // the part after it stays
      PosixLock tail = l;
      tail.start = nl.end + 1;
      out.push_back(tail);
    }
  }
  if (nl.type != kLockUnlock) out.push_back(nl);
  std::sort(out.begin(), out.end(),
            [](const PosixLock& a, const PosixLock& b) { return a.start < b.start; });
  locks->clear();
  for (const PosixLock& l : out) {
    if (!locks->empty()) {
      PosixLock& last = locks->back();
      if (last.type == l.type && last.pid == l.pid && last.end != UINT64_MAX &&
          last.end + 1 == l.start) {
        last.end = l.end;
        continue;
      }
    }
    locks->push_back(l);
  }
}

}  // namespace jfs::meta
