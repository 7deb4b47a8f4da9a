#include "object/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <memory>

namespace jfs::object::sigv4 {

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return Hex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 15]);
    }
  }
  return out;
}

namespace {

// Slice-by-8 tables for CPUs without the SSE4.2 crc32 instruction: t[k][b] is the CRC of byte b
// followed by k zero bytes.
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i) {
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  }
};

uint32_t Crc32cSoft(const unsigned char* p, size_t n, uint32_t crc) {
  static const CrcTables kT;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian load
    v ^= crc;
    crc = kT.t[7][v & 0xff] ^ kT.t[6][(v >> 8) & 0xff] ^ kT.t[5][(v >> 16) & 0xff] ^
          kT.t[4][(v >> 24) & 0xff] ^ kT.t[3][(v >> 32) & 0xff] ^ kT.t[2][(v >> 40) & 0xff] ^
          kT.t[1][(v >> 48) & 0xff] ^ kT.t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = kT.t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// The SSE4.2 crc32 instruction computes exactly CRC-32C (8 bytes per instruction).
__attribute__((target("sse4.2"))) uint32_t Crc32cHw(const unsigned char* p, size_t n,
                                                    uint32_t crc) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
#endif

using CrcFn = uint32_t (*)(const unsigned char*, size_t, uint32_t);
CrcFn PickCrc() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("sse4.2")) return Crc32cHw;
#endif
  return Crc32cSoft;
}

// Values are trimmed and runs of spaces collapsed to one (SigV4 "Trimall").
std::string TrimAll(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

uint32_t Crc32c(std::string_view data, uint32_t crc) {
  static const CrcFn kFn = PickCrc();
  return ~kFn(reinterpret_cast<const unsigned char*>(data.data()), data.size(), ~crc);
}

uint32_t Crc32cPortable(std::string_view data, uint32_t crc) {
  return ~Crc32cSoft(reinterpret_cast<const unsigned char*>(data.data()), data.size(), ~crc);
}

void HashPayload(std::string_view data, std::string* sha256_hex, uint32_t* crc32c) {
  // Both digests per 64 KiB piece while it is in cache: the body is read from memory once.
  static const CrcFn kFn = PickCrc();
  constexpr size_t kPiece = 64 << 10;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  const bool sha_ok = ctx && EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) == 1;
  uint32_t crc = ~0u;
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  for (size_t off = 0; off < data.size(); off += kPiece) {
    size_t n = std::min(kPiece, data.size() - off);
    if (sha_ok) EVP_DigestUpdate(ctx.get(), p + off, n);
    crc = kFn(p + off, n, crc);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (sha_ok && EVP_DigestFinal_ex(ctx.get(), md, &len) == 1) {
    *sha256_hex = Hex(std::string_view(reinterpret_cast<const char*>(md), len));
  } else {
    *sha256_hex = Sha256Hex(data);  // out of memory for a context: the one-shot call
  }
  *crc32c = ~crc;
}

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string CanonicalRequest(const Request& r, std::string* signed_headers) {
  std::vector<std::pair<std::string, std::string>> h;
  for (const auto& [k, v] : r.headers) h.emplace_back(Lower(k), TrimAll(v));
  std::sort(h.begin(), h.end());
  std::string canon_headers;
  signed_headers->clear();
  for (size_t i = 0; i < h.size(); ++i) {
    // Repeated header names are joined with commas in one line.
    if (i > 0 && h[i].first == h[i - 1].first) {
      canon_headers.pop_back();
      canon_headers += "," + h[i].second + "\n";
      continue;
    }
    canon_headers += h[i].first + ":" + h[i].second + "\n";
    if (!signed_headers->empty()) signed_headers->push_back(';');
    *signed_headers += h[i].first;
  }
  return r.method + "\n" + r.canonical_uri + "\n" + CanonicalQuery(r.query) + "\n" + canon_headers +
         "\n" + *signed_headers + "\n" + r.payload_hash;
}

std::string StringToSign(const Request& r, std::string_view amz_date, std::string_view region,
                         std::string_view service) {
  std::string signed_headers;
  std::string canon = CanonicalRequest(r, &signed_headers);
  std::string scope = std::string(amz_date.substr(0, 8)) + "/" + std::string(region) + "/" +
                      std::string(service) + "/aws4_request";
  return "AWS4-HMAC-SHA256\n" + std::string(amz_date) + "\n" + scope + "\n" + Sha256Hex(canon);
}

std::string SigningKey(std::string_view secret_key, std::string_view date8, std::string_view region,
                       std::string_view service) {
  std::string k = HmacSha256("AWS4" + std::string(secret_key), date8);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

std::string Authorization(const Request& r, const Credentials& c, std::string_view amz_date,
                          std::string_view region, std::string_view service) {
  std::string signed_headers;
  CanonicalRequest(r, &signed_headers);
  std::string sts = StringToSign(r, amz_date, region, service);
  std::string key = SigningKey(c.secret_key, amz_date.substr(0, 8), region, service);
  return "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + std::string(amz_date.substr(0, 8)) +
         "/" + std::string(region) + "/" + std::string(service) +
         "/aws4_request, SignedHeaders=" + signed_headers +
         ", Signature=" + Hex(HmacSha256(key, sts));
}

}  // namespace jfs::object::sigv4
