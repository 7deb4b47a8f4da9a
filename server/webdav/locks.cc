#include "server/webdav/locks.h"

#include <openssl/rand.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdio>

namespace jfs::server::webdav {

bool PathWithin(std::string_view path, std::string_view root) {
  if (root == "/") return true;
  if (path.size() < root.size() || path.substr(0, root.size()) != root) return false;
  return path.size() == root.size() || path[root.size()] == '/';
}

std::string ParentPath(std::string_view path) {
  size_t slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

int64_t Lock::SecondsLeft() const {
  auto left =
      std::chrono::duration_cast<std::chrono::seconds>(expires - std::chrono::steady_clock::now());
  return std::max<int64_t>(0, left.count());
}

void LockTable::ExpireLocked() {
  auto now = std::chrono::steady_clock::now();
  std::erase_if(locks_, [now](const Lock& l) { return l.expires <= now; });
}

std::vector<Lock> LockTable::Covering(std::string_view path) {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  std::vector<Lock> out;
  for (const Lock& l : locks_) {
    if (l.root == path || (l.infinite && PathWithin(path, l.root))) out.push_back(l);
  }
  return out;
}

std::vector<Lock> LockTable::Within(std::string_view path) {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  std::vector<Lock> out;
  for (const Lock& l : locks_) {
    if (PathWithin(l.root, path)) out.push_back(l);
  }
  return out;
}

bool LockTable::Acquire(Lock lock) {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  for (const Lock& l : locks_) {
    bool overlap = l.root == lock.root || (l.infinite && PathWithin(lock.root, l.root)) ||
                   (lock.infinite && PathWithin(l.root, lock.root));
    if (overlap && (l.exclusive || lock.exclusive)) return false;
  }
  lock.expires = std::chrono::steady_clock::now() + std::chrono::seconds(lock.timeout_seconds);
  locks_.push_back(std::move(lock));
  return true;
}

bool LockTable::Refresh(std::string_view token, std::string_view path, int64_t timeout_seconds,
                        Lock* out) {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  for (Lock& l : locks_) {
    if (l.token != token) continue;
    if (!(l.root == path || (l.infinite && PathWithin(path, l.root)))) return false;
    l.timeout_seconds = timeout_seconds;
    l.expires = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
    *out = l;
    return true;
  }
  return false;
}

bool LockTable::Release(std::string_view token, std::string_view path) {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  for (auto it = locks_.begin(); it != locks_.end(); ++it) {
    if (it->token != token) continue;
    if (!(it->root == path || (it->infinite && PathWithin(path, it->root)))) return false;
    locks_.erase(it);
    return true;
  }
  return false;
}

void LockTable::RemoveWithin(std::string_view path) {
  std::lock_guard<std::mutex> g(mu_);
  std::erase_if(locks_, [path](const Lock& l) { return PathWithin(l.root, path); });
}

bool LockTable::Exists(std::string_view token) {
  std::lock_guard<std::mutex> g(mu_);
  ExpireLocked();
  return std::any_of(locks_.begin(), locks_.end(),
                     [token](const Lock& l) { return l.token == token; });
}

std::string LockTable::NewToken() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) {
    // Uniqueness matters, not secrecy: fall back to the clock and a counter.
    static std::atomic<uint64_t> counter{0};
    uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    uint64_t c = counter.fetch_add(1);
    for (int i = 0; i < 8; ++i) {
      b[i] = static_cast<unsigned char>(t >> (8 * i));
      b[8 + i] = static_cast<unsigned char>(c >> (8 * i));
    }
  }
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // UUID version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  char out[64];
  snprintf(out, sizeof out,
           "opaquelocktoken:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
  return out;
}

int64_t LockTable::ParseTimeout(std::string_view header) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    std::string_view item =
        header.substr(pos, comma == std::string_view::npos ? header.npos : comma - pos);
    pos = comma == std::string_view::npos ? header.size() : comma + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == "Infinite") return kMaxTimeout;
    if (item.size() > 7 && item.substr(0, 7) == "Second-") {
      int64_t v = 0;
      bool ok = true;
      for (char c : item.substr(7)) {
        if (!isdigit(static_cast<unsigned char>(c))) {
          ok = false;
          break;
        }
        if (v < kMaxTimeout) v = v * 10 + (c - '0');
      }
      if (ok && v > 0) return std::min(v, kMaxTimeout);
    }
  }
  return kDefaultTimeout;
}

// If = ( 1*No-tag-list ) | ( 1*Tagged-list ); Tagged-list = Resource-Tag 1*List;
// List = "(" 1*Condition ")"; Condition = ["Not"] (State-token | "[" entity-tag "]").
bool ParseIfHeaderImpl(std::string_view t, std::vector<IfList>* out,
                       std::vector<std::string>* raw_tags) {
  out->clear();
  raw_tags->clear();
  size_t i = 0;
  auto skip = [&] {
    while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\r' || t[i] == '\n')) ++i;
  };
  std::string tag;
  bool any_tagged = false, any_untagged = false;
  skip();
  if (i >= t.size()) return false;
  while (true) {
    skip();
    if (i >= t.size()) break;
    if (t[i] == '<') {
      size_t end = t.find('>', i);
      if (end == std::string_view::npos) return false;
      tag = std::string(t.substr(i + 1, end - i - 1));
      i = end + 1;
      any_tagged = true;
      skip();
      if (i >= t.size() || t[i] != '(') return false;
      continue;
    }
    if (t[i] != '(') return false;
    if (tag.empty()) any_untagged = true;
    ++i;
    IfList list;
    while (true) {
      skip();
      if (i >= t.size()) return false;
      if (t[i] == ')') {
        ++i;
        break;
      }
      IfCondition c;
      if (t.substr(i, 3) == "Not" || t.substr(i, 3) == "not" || t.substr(i, 3) == "NOT") {
        c.negated = true;
        i += 3;
        skip();
        if (i >= t.size()) return false;
      }
      if (t[i] == '<') {
        size_t end = t.find('>', i);
        if (end == std::string_view::npos) return false;
        c.value = std::string(t.substr(i + 1, end - i - 1));
        i = end + 1;
      } else if (t[i] == '[') {
        size_t end = t.find(']', i);
        if (end == std::string_view::npos) return false;
        c.is_etag = true;
        c.value = std::string(t.substr(i + 1, end - i - 1));
        i = end + 1;
      } else {
        return false;
      }
      list.conditions.push_back(std::move(c));
    }
    if (list.conditions.empty()) return false;
    out->push_back(std::move(list));
    raw_tags->push_back(tag);
  }
  if (any_tagged && any_untagged) return false;
  return !out->empty();
}

}  // namespace jfs::server::webdav
