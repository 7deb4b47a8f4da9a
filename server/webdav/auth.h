// HTTP authentication of `jfs webdav`: Basic (RFC 7617) and Digest (RFC 7616, MD5 and SHA-256,
// qop=auth) against one user name and password.
//
// Digest nonces are stateless: "<hex unix time>.<HMAC-SHA256 of it under a per-process secret>".
// A nonce older than nonce_lifetime seconds is answered with stale=true, so clients retry
// without asking the user again. Nonce counts are not tracked: a captured Digest request can be
// replayed within the nonce's lifetime (use TLS against an active attacker).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace jfs::server::webdav {

struct AuthOptions {
  std::string user, password;
  std::string realm = "jfs webdav";
  bool allow_basic = true;  // false: Basic credentials are refused (plain HTTP)
  int64_t nonce_lifetime = 300;
};

class Authenticator {
 public:
  explicit Authenticator(AuthOptions opts);
  // Checks an Authorization header for a request `method` whose request-target path is `path`
  // (raw, as sent). `now` is the current unix time. True when the credentials are good.
  // *stale is set when a Digest answer was right but its nonce too old.
  bool Check(std::string_view authorization, std::string_view method, std::string_view path,
             int64_t now, bool* stale) const;
  // The WWW-Authenticate header values of a 401 answer (Digest SHA-256, Digest MD5, and Basic
  // when allowed).
  std::vector<std::string> Challenges(int64_t now, bool stale) const;
  std::string NewNonce(int64_t now) const;

 private:
  bool NonceValid(std::string_view nonce, int64_t now, bool* stale) const;
  AuthOptions opts_;
  std::string secret_;
};

// Lower-case hex MD5 / SHA-256 digests (Digest authentication).
std::string Md5Hex(std::string_view data);
std::string Sha256Hex(std::string_view data);

}  // namespace jfs::server::webdav
