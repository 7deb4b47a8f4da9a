#include "server/common.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
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

void AppendXmlEscaped(std::string* out, std::string_view s) {
  size_t from = 0;
  while (from < s.size()) {
    const size_t at = s.find_first_of("<>&\"'", from);
    if (at == std::string_view::npos) {
      out->append(s.substr(from));
      return;
    }
    out->append(s.substr(from, at - from));
    switch (s[at]) {
      case '<':
        *out += "&lt;";
        break;
      case '>':
        *out += "&gt;";
        break;
      case '&':
        *out += "&amp;";
        break;
      case '"':
        *out += "&quot;";
        break;
      default:  // '\''
        *out += "&apos;";
        break;
    }
    from = at + 1;
  }
}

void AppendIso8601(std::string* out, int64_t sec, uint32_t nsec) {
  // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil inverse), exact for every
  // int64 second count a file can carry.
  int64_t days = sec / 86400, rem = sec % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t day = doy - (153 * mp + 2) / 5 + 1;
  const int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  char buf[64];
  char* p = buf;
  auto two = [&p](int64_t v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  if (year >= 0 && year <= 9999) {
    two(year / 100);
    two(year % 100);
  } else {  // as strftime's %Y: the plain number
    p += std::snprintf(p, 24, "%lld", static_cast<long long>(year));
  }
  *p++ = '-';
  two(month);
  *p++ = '-';
  two(day);
  *p++ = 'T';
  two(rem / 3600);
  *p++ = ':';
  two(rem / 60 % 60);
  *p++ = ':';
  two(rem % 60);
  *p++ = '.';
  const uint32_t ms = std::min<uint32_t>(nsec / 1000000, 999);
  *p++ = static_cast<char>('0' + ms / 100);
  two(ms % 100);
  *p++ = 'Z';
  out->append(buf, static_cast<size_t>(p - buf));
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  AppendXmlEscaped(&out, s);
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
