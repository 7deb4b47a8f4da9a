// WebDAV write locks (RFC 4918 §6-§7, §10.4): the in-memory lock table of one `jfs webdav`
// process, and the If header that clients submit lock tokens and entity tags with.
//
// Locks live only in the server process: they are advisory for WebDAV clients of this server and
// are not seen by other clients of the volume (the library, FUSE, the S3 gateway) nor kept across
// a restart. Paths are decoded, absolute and canonical ("/", "/a/b", never a trailing slash).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace jfs::server::webdav {

// True when `path` is `root` or lies below it ("/a" contains "/a/b", not "/ab").
bool PathWithin(std::string_view path, std::string_view root);
// "/a/b" -> "/a"; "/a" -> "/"; "/" -> "/".
std::string ParentPath(std::string_view path);

struct Lock {
  std::string token;  // "opaquelocktoken:<uuid>"
  std::string root;   // the locked resource
  bool infinite = false;
  bool exclusive = true;
  std::string owner_xml;  // the client's <D:owner> element, serialized, or ""
  int64_t timeout_seconds = 0;
  std::chrono::steady_clock::time_point expires;
  int64_t SecondsLeft() const;
};

// Thread-safe. Expired locks vanish at the next call.
class LockTable {
 public:
  // Maximum lock timeout (a client asking for more or for Infinite gets this).
  static constexpr int64_t kMaxTimeout = 7 * 24 * 3600;
  static constexpr int64_t kDefaultTimeout = 3600;

  // Locks covering `path`: those rooted at it and the depth-infinity ones rooted above it.
  std::vector<Lock> Covering(std::string_view path);
  // Locks rooted at `path` or below it (what a depth-infinity operation on `path` touches).
  std::vector<Lock> Within(std::string_view path);
  // Grants a new lock unless it conflicts (an exclusive lock with any other, or any lock with an
  // exclusive one, where one covers the other's root). False on conflict.
  bool Acquire(Lock lock);
  // Restarts the timeout of the lock `token` that covers `path`; false when there is none.
  bool Refresh(std::string_view token, std::string_view path, int64_t timeout_seconds, Lock* out);
  // Removes the lock `token` if it covers `path`; false when there is no such lock.
  bool Release(std::string_view token, std::string_view path);
  // Drops every lock rooted at `path` or below (the resource was deleted or moved away).
  void RemoveWithin(std::string_view path);
  bool Exists(std::string_view token);

  static std::string NewToken();
  // "Second-600", "Infinite, Second-4100000000": the first acceptable value, capped at
  // kMaxTimeout; kDefaultTimeout when absent or malformed.
  static int64_t ParseTimeout(std::string_view header);

 private:
  void ExpireLocked();
  std::mutex mu_;
  std::vector<Lock> locks_;
};

// One condition of an If header list: a state token (<...>) or an entity tag ([...]), maybe
// negated.
struct IfCondition {
  bool negated = false;
  bool is_etag = false;
  std::string value;  // the token (without <>) or the entity tag as written (with quotes, W/)
};
struct IfList {
  std::string resource;  // tagged list: the decoded path of the resource tag; "" when untagged
  std::vector<IfCondition> conditions;
};

// Parses an If header (RFC 4918 §10.4). `decode_tag` turns a resource tag (a URL) into a decoded
// path, returning false for a URL of another server or a malformed one (such a list then names
// no resource here and never matches). False on a syntax error.
template <typename F>
bool ParseIfHeader(std::string_view text, F decode_tag, std::vector<IfList>* out);
bool ParseIfHeaderImpl(std::string_view text, std::vector<IfList>* out,
                       std::vector<std::string>* raw_tags);

template <typename F>
bool ParseIfHeader(std::string_view text, F decode_tag, std::vector<IfList>* out) {
  std::vector<std::string> tags;
  if (!ParseIfHeaderImpl(text, out, &tags)) return false;
  for (size_t i = 0; i < out->size(); ++i) {
    if (tags[i].empty()) continue;
    std::string path;
    (*out)[i].resource = decode_tag(tags[i], &path) ? path : std::string("\x01foreign");
  }
  return true;
}

}  // namespace jfs::server::webdav
