// What the servers over a volume (server/s3, server/webdav) share: the identity they act as,
// a file streamed as a response body, and small text helpers for their XML and tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lib/volume.h"
#include "meta/types.h"
#include "server/http/http_server.h"

namespace jfs::server {

// Root without permission checks: the servers authenticate their clients themselves and act on
// the volume as its owner.
meta::Context RootCtx();

// `length` bytes of an open file from `base` as a response body. Owns the handle and closes it
// when the body is done. A file that shrinks meanwhile ends the body with EIO (the response is
// cut short rather than padded).
class FileSource : public http::BodySource {
 public:
  FileSource(std::shared_ptr<lib::File> f, uint64_t base, uint64_t length)
      : f_(std::move(f)), base_(base), length_(length) {}
  ~FileSource() override;
  Status Read(uint64_t offset, char* buf, size_t size, size_t* n) override;

 private:
  std::shared_ptr<lib::File> f_;
  uint64_t base_, length_;
};

// `s` with < > & " ' replaced by XML entities (text and attribute values).
std::string XmlEscape(std::string_view s);
// Appends XmlEscape(s) to *out without a temporary (listings escape thousands of keys).
void AppendXmlEscaped(std::string* out, std::string_view s);
// Appends the UTC time `sec` (+ `nsec`) as S3 writes it, "2006-01-02T15:04:05.000Z" (milliseconds,
// truncated): the date gmtime gives, without its time zone lock; years 0..9999 in four digits (as
// ISO 8601 and JuiceFS's Go gateway write them), others as plain numbers.
void AppendIso8601(std::string* out, int64_t sec, uint32_t nsec);

// 2×`bytes` lowercase hex digits from the OpenSSL RNG (unique ids and tokens; should the RNG
// fail, time and an address keep them unique, not secret).
std::string RandomHex(size_t bytes);

}  // namespace jfs::server
