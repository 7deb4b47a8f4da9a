#include "server/webdav/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

namespace jfs::server::webdav {

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};

std::string Hex(const unsigned char* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[p[i] >> 4]);
    out.push_back(kHex[p[i] & 15]);
  }
  return out;
}

std::string DigestHex(const EVP_MD* md, std::string_view data) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), out, &n) != 1) {
    return "";
  }
  return Hex(out, n);
}

bool SafeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Base64Decode(std::string_view in) {
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    int d;
    if (c >= 'A' && c <= 'Z') {
      d = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      d = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      d = c - '0' + 52;
    } else if (c == '+') {
      d = 62;
    } else if (c == '/') {
      d = 63;
    } else if (c == '=') {
      break;
    } else {
      return "";
    }
    val = (val << 6) | d;
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

// auth-param list: name=token or name="quoted string", comma separated.
bool ParseParams(std::string_view s, std::map<std::string, std::string>* out) {
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == ',' || s[i] == '\t')) ++i;
    if (i >= s.size()) break;
    size_t eq = s.find('=', i);
    if (eq == std::string_view::npos) return false;
    std::string name(s.substr(i, eq - i));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    for (char& c : name) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    i = eq + 1;
    while (i < s.size() && s[i] == ' ') ++i;
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i++]);
      }
      if (i >= s.size()) return false;
      ++i;
    } else {
      while (i < s.size() && s[i] != ',') value.push_back(s[i++]);
      while (!value.empty() && value.back() == ' ') value.pop_back();
    }
    (*out)[name] = value;
  }
  return true;
}

}  // namespace

std::string Md5Hex(std::string_view data) {
  return DigestHex(EVP_md5(), data);
}
std::string Sha256Hex(std::string_view data) {
  return DigestHex(EVP_sha256(), data);
}

Authenticator::Authenticator(AuthOptions opts) : opts_(std::move(opts)) {
  secret_.resize(32);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret_.data()), 32) != 1) {
    // Without randomness nonces would be forgeable: derive the secret from the password and the
    // clock instead (still unknown to a client that lacks the password).
    secret_ =
        Sha256Hex(opts_.password +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  }
}

std::string Authenticator::NewNonce(int64_t now) const {
  char t[32];
  snprintf(t, sizeof t, "%llx", static_cast<unsigned long long>(now));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
       reinterpret_cast<const unsigned char*>(t), strlen(t), mac, &n);
  return std::string(t) + "." + Hex(mac, 16);
}

bool Authenticator::NonceValid(std::string_view nonce, int64_t now, bool* stale) const {
  size_t dot = nonce.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 16) return false;
  unsigned long long t = 0;
  for (char c : nonce.substr(0, dot)) {
    if (!isxdigit(static_cast<unsigned char>(c))) return false;
    t = t * 16 +
        static_cast<unsigned long long>(isdigit(static_cast<unsigned char>(c))
                                            ? c - '0'
                                            : tolower(static_cast<unsigned char>(c)) - 'a' + 10);
  }
  if (!SafeEqual(NewNonce(static_cast<int64_t>(t)), nonce)) return false;
  int64_t age = now - static_cast<int64_t>(t);
  if (age < -60 || age > opts_.nonce_lifetime) {
    *stale = true;
    return false;
  }
  return true;
}

bool Authenticator::Check(std::string_view h, std::string_view method, std::string_view path,
                          int64_t now, bool* stale) const {
  *stale = false;
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  auto starts = [&](std::string_view p) {
    if (h.size() < p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      if (tolower(static_cast<unsigned char>(h[i])) != p[i]) return false;
    }
    return true;
  };
  if (starts("basic ")) {
    if (!opts_.allow_basic) return false;
    std::string dec = Base64Decode(h.substr(6));
    size_t colon = dec.find(':');
    if (colon == std::string::npos) return false;
    // Both compared in full (no early exit on the user name).
    bool u = SafeEqual(dec.substr(0, colon), opts_.user);
    bool p = SafeEqual(std::string_view(dec).substr(colon + 1), opts_.password);
    return u && p;
  }
  if (!starts("digest ")) return false;
  std::map<std::string, std::string> p;
  if (!ParseParams(h.substr(7), &p)) return false;
  std::string algo = p.count("algorithm") ? p["algorithm"] : "MD5";
  for (char& c : algo) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  std::string (*H)(std::string_view) = nullptr;
  if (algo == "MD5") {
    H = Md5Hex;
  } else if (algo == "SHA-256") {
    H = Sha256Hex;
  } else {
    return false;
  }
  if (p["username"] != opts_.user || p["realm"] != opts_.realm) return false;
  // The digest covers the request-target the client sent: it must be this request's.
  std::string_view uri = p["uri"];
  std::string_view uri_path = uri.substr(0, uri.find('?'));
  if (uri_path.find("://") != std::string_view::npos) {
    size_t start = uri_path.find('/', uri_path.find("://") + 3);
    uri_path = start == std::string_view::npos ? "/" : uri_path.substr(start);
  }
  if (uri_path != path) return false;
  std::string ha1 = H(opts_.user + ":" + opts_.realm + ":" + opts_.password);
  std::string ha2 = H(std::string(method) + ":" + p["uri"]);
  std::string qop = p["qop"];
  std::string expect;
  if (qop == "auth") {
    if (p["nc"].empty() || p["cnonce"].empty()) return false;
    expect = H(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":auth:" + ha2);
  } else if (qop.empty()) {
    expect = H(ha1 + ":" + p["nonce"] + ":" + ha2);
  } else {
    return false;
  }
  if (!SafeEqual(expect, p["response"])) return false;
  return NonceValid(p["nonce"], now, stale);
}

std::vector<std::string> Authenticator::Challenges(int64_t now, bool stale) const {
  std::vector<std::string> out;
  std::string nonce = NewNonce(now);
  for (const char* algo : {"SHA-256", "MD5"}) {
    out.push_back("Digest realm=\"" + opts_.realm + "\", qop=\"auth\", algorithm=" + algo +
                  ", nonce=\"" + nonce + "\"" + (stale ? ", stale=true" : ""));
  }
  if (opts_.allow_basic) out.push_back("Basic realm=\"" + opts_.realm + "\", charset=\"UTF-8\"");
  return out;
}

}  // namespace jfs::server::webdav
