// The WebDAV pieces that need no volume: paths, the lock table, If-header parsing, and
// Basic/Digest authentication (server/webdav/locks.h, auth.h).
#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "server/webdav/auth.h"
#include "server/webdav/locks.h"

using namespace jfs::server::webdav;

namespace {

Lock MakeLock(const std::string& root, bool infinite, bool exclusive, int64_t timeout = 60) {
  Lock l;
  l.token = LockTable::NewToken();
  l.root = root;
  l.infinite = infinite;
  l.exclusive = exclusive;
  l.timeout_seconds = timeout;
  return l;
}

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(k[(val >> bits) & 0x3f]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(k[((val << 8) >> (bits + 8)) & 0x3f]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

}  // namespace

TEST_CASE("paths: within and parent") {
  CHECK(PathWithin("/a/b", "/a"));
  CHECK(PathWithin("/a", "/a"));
  CHECK(PathWithin("/x", "/"));
  CHECK_FALSE(PathWithin("/ab", "/a"));
  CHECK_FALSE(PathWithin("/a", "/a/b"));
  CHECK(ParentPath("/a/b") == "/a");
  CHECK(ParentPath("/a") == "/");
  CHECK(ParentPath("/") == "/");
}

TEST_CASE("locks: conflicts by scope and depth") {
  LockTable t;
  Lock a = MakeLock("/d", true, false);
  REQUIRE(t.Acquire(a));
  CHECK(t.Acquire(MakeLock("/d/f", false, false)));       // shared under shared: fine
  CHECK_FALSE(t.Acquire(MakeLock("/d/f", false, true)));  // exclusive under a shared tree
  CHECK_FALSE(t.Acquire(MakeLock("/", true, true)));      // exclusive over the tree
  CHECK(t.Acquire(MakeLock("/other", false, true)));
  CHECK(t.Acquire(MakeLock("/", false, false)));  // depth 0 on the root: no overlap
  CHECK(t.Covering("/d/f").size() == 2);
  CHECK(t.Covering("/d/g").size() == 1);
  CHECK(t.Within("/d").size() == 2);
  Lock ex = MakeLock("/e", false, true);
  REQUIRE(t.Acquire(ex));
  CHECK(t.Covering("/e/x").empty());  // depth 0 does not cover members
  CHECK_FALSE(t.Acquire(MakeLock("/e", false, false)));
}

TEST_CASE("locks: refresh, release, removal, expiry") {
  LockTable t;
  Lock a = MakeLock("/d", true, true);
  REQUIRE(t.Acquire(a));
  Lock got;
  CHECK(t.Refresh(a.token, "/d/sub", 100, &got));
  CHECK(got.timeout_seconds == 100);
  CHECK_FALSE(t.Refresh(a.token, "/elsewhere", 100, &got));
  CHECK_FALSE(t.Refresh("opaquelocktoken:nope", "/d", 100, &got));
  CHECK_FALSE(t.Release(a.token, "/elsewhere"));
  CHECK(t.Release(a.token, "/d/x"));
  CHECK_FALSE(t.Exists(a.token));
  REQUIRE(t.Acquire(MakeLock("/m/a", false, true)));
  REQUIRE(t.Acquire(MakeLock("/m/b", false, true)));
  REQUIRE(t.Acquire(MakeLock("/mm", false, true)));
  t.RemoveWithin("/m");
  CHECK(t.Within("/m").empty());
  CHECK(t.Within("/mm").size() == 1);
  Lock shortl = MakeLock("/s", false, true, 1);
  REQUIRE(t.Acquire(shortl));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK_FALSE(t.Exists(shortl.token));
  CHECK(t.Acquire(MakeLock("/s", false, true)));
}

TEST_CASE("locks: tokens and timeouts") {
  std::string a = LockTable::NewToken(), b = LockTable::NewToken();
  CHECK(a != b);
  CHECK(a.rfind("opaquelocktoken:", 0) == 0);
  CHECK(a.size() == 16 + 36);
  CHECK(LockTable::ParseTimeout("Second-600") == 600);
  CHECK(LockTable::ParseTimeout("Infinite, Second-4100000000") == LockTable::kMaxTimeout);
  CHECK(LockTable::ParseTimeout("Second-99999999999999999999") == LockTable::kMaxTimeout);
  CHECK(LockTable::ParseTimeout("") == LockTable::kDefaultTimeout);
  CHECK(LockTable::ParseTimeout("junk, Second-5") == 5);
  CHECK(LockTable::ParseTimeout("Second-x") == LockTable::kDefaultTimeout);
}

TEST_CASE("If header: untagged, tagged, Not, entity tags, errors") {
  auto dec = [](const std::string& url, std::string* p) {
    if (url.rfind("http://host", 0) != 0) return false;
    *p = url.substr(11);
    return true;
  };
  std::vector<IfList> l;
  REQUIRE(ParseIfHeader("(<opaquelocktoken:x> [\"e1\"]) (Not <DAV:no-lock>)", dec, &l));
  REQUIRE(l.size() == 2);
  CHECK(l[0].resource.empty());
  REQUIRE(l[0].conditions.size() == 2);
  CHECK(l[0].conditions[0].value == "opaquelocktoken:x");
  CHECK_FALSE(l[0].conditions[0].is_etag);
  CHECK(l[0].conditions[1].is_etag);
  CHECK(l[0].conditions[1].value == "\"e1\"");
  CHECK(l[1].conditions[0].negated);
  CHECK(l[1].conditions[0].value == "DAV:no-lock");

  REQUIRE(ParseIfHeader("<http://host/a/b> (<t1>) (<t2>) <http://other/c> ([W/\"x\"])", dec, &l));
  REQUIRE(l.size() == 3);
  CHECK(l[0].resource == "/a/b");
  CHECK(l[1].resource == "/a/b");
  CHECK(l[2].resource != "/c");  // another server's resource never matches here
  CHECK(l[2].conditions[0].value == "W/\"x\"");

  for (const char* bad : {"", "(", "()", "(<t>", "<http://host/a>", "(<t>) <http://host/a> (<u>)",
                          "(Not)", "(junk)", "<http://host/a (<t>)"}) {
    INFO(bad);
    CHECK_FALSE(ParseIfHeader(bad, dec, &l));
  }
}

TEST_CASE("auth: Basic") {
  AuthOptions o;
  o.user = "u";
  o.password = "p:w";
  bool stale = false;
  Authenticator a(o);
  CHECK(a.Check("Basic " + Base64("u:p:w"), "GET", "/", 0, &stale));
  CHECK(a.Check("basic " + Base64("u:p:w"), "GET", "/", 0, &stale));
  CHECK_FALSE(a.Check("Basic " + Base64("u:p"), "GET", "/", 0, &stale));
  CHECK_FALSE(a.Check("Basic " + Base64("v:p:w"), "GET", "/", 0, &stale));
  CHECK_FALSE(a.Check("Basic !!!", "GET", "/", 0, &stale));
  CHECK_FALSE(a.Check("Bearer x", "GET", "/", 0, &stale));
  o.allow_basic = false;
  Authenticator digest_only(o);
  CHECK_FALSE(digest_only.Check("Basic " + Base64("u:p:w"), "GET", "/", 0, &stale));
  for (const std::string& c : digest_only.Challenges(0, false)) CHECK(c.rfind("Digest ", 0) == 0);
  CHECK(a.Challenges(0, false).back().rfind("Basic ", 0) == 0);
}

TEST_CASE("auth: Digest MD5 and SHA-256, nonce lifetime") {
  AuthOptions o;
  o.user = "u";
  o.password = "secret";
  o.realm = "r";
  o.nonce_lifetime = 300;
  Authenticator a(o);
  int64_t now = 1700000000;
  std::string nonce = a.NewNonce(now);
  auto answer = [&](const std::string& algo, const std::string& pw, const std::string& method,
                    const std::string& uri, const std::string& n) {
    auto H = algo == "MD5" ? Md5Hex : Sha256Hex;
    std::string ha1 = H("u:r:" + pw), ha2 = H(method + ":" + uri);
    std::string resp = H(ha1 + ":" + n + ":00000001:cn:auth:" + ha2);
    return "Digest username=\"u\", realm=\"r\", nonce=\"" + n + "\", uri=\"" + uri +
           "\", algorithm=" + algo + ", response=\"" + resp +
           "\", qop=auth, nc=00000001, cnonce=\"cn\"";
  };
  bool stale = false;
  CHECK(Md5Hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(a.Check(answer("MD5", "secret", "PUT", "/a%20b", nonce), "PUT", "/a%20b", now, &stale));
  CHECK(
      a.Check(answer("SHA-256", "secret", "GET", "/x?q=1", nonce), "GET", "/x", now + 10, &stale));
  CHECK_FALSE(a.Check(answer("MD5", "wrong", "PUT", "/a", nonce), "PUT", "/a", now, &stale));
  // Signed for another method or path.
  CHECK_FALSE(a.Check(answer("MD5", "secret", "GET", "/a", nonce), "PUT", "/a", now, &stale));
  CHECK_FALSE(a.Check(answer("MD5", "secret", "PUT", "/b", nonce), "PUT", "/a", now, &stale));
  // A nonce this server did not make.
  CHECK_FALSE(a.Check(answer("MD5", "secret", "PUT", "/a", "1234.abcd"), "PUT", "/a", now, &stale));
  CHECK_FALSE(stale);
  Authenticator other(o);
  CHECK_FALSE(other.Check(answer("MD5", "secret", "PUT", "/a", nonce), "PUT", "/a", now, &stale));
  // Too old: right answer, stale nonce.
  CHECK_FALSE(a.Check(answer("MD5", "secret", "PUT", "/a", nonce), "PUT", "/a", now + 301, &stale));
  CHECK(stale);
  CHECK(a.Challenges(now, true)[0].find("stale=true") != std::string::npos);
  CHECK_FALSE(a.Check("Digest garbage", "GET", "/", now, &stale));
  CHECK_FALSE(a.Check("Digest username=\"u\", algorithm=SHA-512", "GET", "/", now, &stale));
}
