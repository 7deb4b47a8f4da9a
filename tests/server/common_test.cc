// server/common.h helpers that the S3 gateway and WebDAV server build their XML with.
#include "server/common.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <random>
#include <string>

namespace jfs::server {
namespace {

// The same time through gmtime_r + strftime (what the gateway wrote before AppendIso8601), with
// the year as ISO 8601 wants it: four digits from 0 to 9999 (glibc's %Y does not pad).
std::string Reference(int64_t sec, uint32_t nsec) {
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  REQUIRE(gmtime_r(&t, &tm) != nullptr);
  char buf[64];
  strftime(buf, sizeof buf, "-%m-%dT%H:%M:%S", &tm);
  const long long year = tm.tm_year + 1900LL;
  char out[128];
  std::snprintf(out, sizeof out, year >= 0 && year <= 9999 ? "%04lld%s.%03uZ" : "%lld%s.%03uZ",
                year, buf, nsec / 1000000);
  return out;
}

std::string Iso(int64_t sec, uint32_t nsec) {
  std::string out = "x";  // appends: what was there stays
  AppendIso8601(&out, sec, nsec);
  REQUIRE(out[0] == 'x');
  return out.substr(1);
}

TEST_CASE("AppendIso8601 writes the date gmtime + strftime write") {
  CHECK(Iso(0, 0) == "1970-01-01T00:00:00.000Z");
  CHECK(Iso(1700000000, 123456789) == "2023-11-14T22:13:20.123Z");
  CHECK(Iso(-1, 999999999) == "1969-12-31T23:59:59.999Z");
  CHECK(Iso(951782400, 0) == "2000-02-29T00:00:00.000Z");    // leap day of a /400 year
  CHECK(Iso(4107542400, 0) == "2100-03-01T00:00:00.000Z");   // 2100 is not a leap year
  CHECK(Iso(-2208988800, 0) == "1900-01-01T00:00:00.000Z");  // nor is 1900
  CHECK(Iso(253402300799, 5000000) == "9999-12-31T23:59:59.005Z");
  CHECK(Iso(-53151092183, 432447247) == "0285-09-16T07:43:37.432Z");  // four-digit year
  // Days and boundaries around them, and random times over +-10,000 years.
  for (int64_t s : {int64_t{86399}, int64_t{86400}, int64_t{-86400}, int64_t{-86401},
                    int64_t{-62167219200} /* year 0 */, int64_t{253402300800} /* year 10000 */,
                    int64_t{-62167219201}}) {
    INFO(s);
    CHECK(Iso(s, 0) == Reference(s, 0));
  }
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int64_t> secs(-377705116800, 253402300799 * 4);
  std::uniform_int_distribution<uint32_t> nsecs(0, 999999999);
  for (int i = 0; i < 200000; i++) {
    const int64_t s = secs(rng);
    const uint32_t n = nsecs(rng);
    INFO(s << " " << n);
    REQUIRE(Iso(s, n) == Reference(s, n));
  }
}

TEST_CASE("AppendXmlEscaped escapes the five XML characters and keeps everything else") {
  std::string out = "<a>";
  AppendXmlEscaped(&out, "");
  CHECK(out == "<a>");
  AppendXmlEscaped(&out, "plain/key with spaces é");
  CHECK(out == "<a>plain/key with spaces é");
  out.clear();
  AppendXmlEscaped(&out, "<>&\"'");
  CHECK(out == "&lt;&gt;&amp;&quot;&apos;");
  out.clear();
  AppendXmlEscaped(&out, std::string_view("a\0b<c&&d'", 9));
  CHECK(out == std::string("a\0b&lt;c&amp;&amp;d&apos;", 25));
  CHECK(XmlEscape("x>y\"z") == "x&gt;y&quot;z");
}

}  // namespace
}  // namespace jfs::server
