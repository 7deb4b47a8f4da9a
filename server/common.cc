#include "server/common.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <random>

namespace jfs::server {

meta::Context RootCtx() {
  meta::Context c;
  c.uid = 0;
  c.gids = {0};
  c.umask = 022;
  c.check_permission = false;
  return c;
}

FileSource::~FileSource() {
  (void)f_->Close();
}

Status FileSource::Read(uint64_t offset, char* buf, size_t size, size_t* n) {
  *n = 0;
  if (offset >= length_) return Status::OK();
  uint64_t want = std::min<uint64_t>(size, length_ - offset);
  uint64_t got = 0;
  Status s = f_->Pread(buf, want, base_ + offset, &got);
  if (!s.ok()) return s;
  if (got == 0) return Status::IOError("file shrank while being sent");
  *n = static_cast<size_t>(got);
  return Status::OK();
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    std::mt19937_64 rng(
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        reinterpret_cast<uintptr_t>(&raw));
    for (char& c : raw) c = static_cast<char>(rng());
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

}  // namespace jfs::server
