#include "object/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>

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

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
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
  static const std::array<uint32_t, 256> kTable = MakeCrcTable();
  crc = ~crc;
  for (unsigned char c : data) crc = kTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
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
