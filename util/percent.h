// Percent-decoding of URL components (RFC 3986 §2.1): "%XX" becomes the byte 0xXX; '+' stays
// '+' (META-URL credentials, S3 and WebDAV paths are not HTML forms).
#pragma once

#include <string>
#include <string_view>

namespace jfs {

// 0..15 for a hexadecimal digit, -1 otherwise.
inline int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes `in` into *out (replaced). False when a '%' is not followed by two hex digits.
inline bool PercentDecode(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = HexDigitValue(in[i + 1]), lo = HexDigitValue(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out->push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

}  // namespace jfs
