#include "object/s3_store.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <pugixml.hpp>
#include <random>
#include <thread>

namespace jfs::object {

namespace s3internal {

bool ParseError(std::string_view xml, std::string* code, std::string* message) {
  pugi::xml_document doc;
  if (!doc.load_buffer(xml.data(), xml.size())) return false;
  pugi::xml_node e = doc.child("Error");
  if (!e) return false;
  *code = e.child_value("Code");
  *message = e.child_value("Message");
  return true;
}

bool ParseIso8601(std::string_view s, int64_t* ns) {
  // YYYY-MM-DDTHH:MM:SS[.fff...]Z
  if (s.size() < 20) return false;
  std::tm tm{};
  std::string str(s);
  const char* end = strptime(str.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return false;
  int64_t frac = 0;
  int digits = 0;
  if (*end == '.') {
    for (++end; std::isdigit(static_cast<unsigned char>(*end)); ++end) {
      if (digits < 9) {
        frac = frac * 10 + (*end - '0');
        ++digits;
      }
    }
  }
  if (*end != 'Z' || end[1] != '\0') return false;
  for (; digits < 9; ++digits) frac *= 10;
  *ns = static_cast<int64_t>(timegm(&tm)) * 1000000000 + frac;
  return true;
}

bool ParseHttpDate(std::string_view s, int64_t* ns) {
  std::tm tm{};
  std::string str(s);
  const char* end = strptime(str.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return false;
  *ns = static_cast<int64_t>(timegm(&tm)) * 1000000000;
  return true;
}

Status ParseListV2(std::string_view xml, ListPage* page) {
  pugi::xml_document doc;
  pugi::xml_parse_result r = doc.load_buffer(xml.data(), xml.size());
  if (!r)
    return Status::IOError(std::string("malformed ListObjectsV2 response: ") + r.description());
  pugi::xml_node root = doc.child("ListBucketResult");
  if (!root) return Status::IOError("malformed ListObjectsV2 response: no ListBucketResult");
  page->objects.clear();
  page->truncated = std::string_view(root.child_value("IsTruncated")) == "true";
  page->next_token = root.child_value("NextContinuationToken");
  for (pugi::xml_node c : root.children("Contents")) {
    ObjectInfo o;
    o.key = c.child_value("Key");
    const char* size = c.child_value("Size");
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(size, &end, 10);
    if (o.key.empty() || *size == '\0' || *end != '\0' || errno != 0) {
      return Status::IOError("malformed ListObjectsV2 entry (key '" + o.key + "', size '" + size +
                             "')");
    }
    o.size = n;
    if (!ParseIso8601(c.child_value("LastModified"), &o.mtime_ns)) o.mtime_ns = 0;
    page->objects.push_back(std::move(o));
  }
  for (pugi::xml_node c : root.children("CommonPrefixes")) {
    ObjectInfo o;
    o.key = c.child_value("Prefix");
    if (o.key.empty()) return Status::IOError("malformed ListObjectsV2 common prefix");
    o.is_dir = true;
    page->objects.push_back(std::move(o));
  }
  if (page->truncated && page->next_token.empty()) {
    return Status::IOError("ListObjectsV2 response truncated without a continuation token");
  }
  return Status::OK();
}

Status Classify(int curl_code, const std::string& curl_error, long http_status,
                const std::string& s3_code, const std::string& message, const std::string& what) {
  if (curl_code != CURLE_OK) {
    std::string msg = what + ": " + curl_easy_strerror(static_cast<CURLcode>(curl_code));
    if (!curl_error.empty()) msg += " (" + curl_error + ")";
    switch (curl_code) {
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
      case CURLE_NOT_BUILT_IN:
        return Status::Invalid(msg);
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CACERT_BADFILE:
        // A certificate problem does not heal by retrying.
        return Status::Error(EIO, msg);
      default:
        // Timeouts, resets, refused connections, truncated bodies, DNS hiccups.
        return Status::Retryable(EIO, msg);
    }
  }
  if (http_status >= 200 && http_status < 300) return Status::OK();
  std::string msg = what + ": HTTP " + std::to_string(http_status);
  if (!s3_code.empty()) msg += " " + s3_code;
  if (!message.empty()) msg += ": " + message;
  if (http_status >= 500 || http_status == 429 || s3_code == "SlowDown" ||
      s3_code == "RequestTimeout" || s3_code == "InternalError") {
    return Status::Retryable(EIO, msg);
  }
  if (http_status == 404) return Status::NotFound(msg);
  if (http_status == 403 && s3_code.empty()) {
    // HEAD responses carry no error document.
    return Status::Error(EACCES, msg +
                                     " Forbidden (access denied, or the signature does not "
                                     "match: check the access and secret keys)");
  }
  if (http_status == 403 || s3_code == "AccessDenied" || s3_code == "SignatureDoesNotMatch" ||
      s3_code == "InvalidAccessKeyId") {
    return Status::Error(EACCES, msg);
  }
  return Status::Error(EIO, msg);
}

}  // namespace s3internal

namespace {

using s3internal::Classify;

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::Invalid("empty object key");
  if (key[0] == '/') return Status::Invalid("object key starts with '/': " + std::string(key));
  return Status::OK();
}

struct Response {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  // Optional caller memory for a 2xx body (GetInto): bytes go to dst[0, dst_cap) without a copy
  // through `body`; a body longer than dst_cap spills (dst's bytes then more) into `body`.
  // Error bodies always go to `body` (their XML is parsed).
  char* dst = nullptr;
  size_t dst_cap = 0;
  size_t dst_n = 0;
  bool spilled = false;

  // Ready for another attempt; keeps body's capacity (a reused buffer is not faulted in again)
  // and the dst target.
  void Reset() {
    status = 0;
    body.clear();
    headers.clear();
    dst_n = 0;
    spilled = false;
  }
  bool InDst() const { return dst != nullptr && !spilled; }
  size_t BodySize() const { return InDst() ? dst_n : body.size(); }
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
};

struct Transfer {
  std::string_view upload;
  size_t upload_pos = 0;
  Response* resp = nullptr;
};

size_t WriteCb(char* ptr, size_t size, size_t n, void* ud) {
  Response* r = static_cast<Transfer*>(ud)->resp;
  const size_t len = size * n;
  if (r->InDst() && r->status >= 200 && r->status < 300) {
    if (len <= r->dst_cap - r->dst_n) {
      std::memcpy(r->dst + r->dst_n, ptr, len);
      r->dst_n += len;
      return len;
    }
    r->body.assign(r->dst, r->dst_n);  // more than the caller's room: continue in body
    r->spilled = true;
  }
  r->body.append(ptr, len);
  return len;
}

size_t ReadCb(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = std::min(size * n, t->upload.size() - t->upload_pos);
  std::memcpy(buf, t->upload.data() + t->upload_pos, len);
  t->upload_pos += len;
  return len;
}

// A retried PUT rewinds its body.
int SeekCb(void* ud, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(ud);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > t->upload.size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->upload_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t HeaderCb(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  std::string_view line(buf, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();  // a new response (after 100-continue or a redirect)
    // The status is needed before the body arrives (WriteCb routes 2xx bodies to dst).
    size_t sp = line.find(' ');
    t->resp->status = sp == std::string_view::npos
                          ? 0
                          : std::strtol(std::string(line.substr(sp + 1, 3)).c_str(), nullptr, 10);
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name = Lower(line.substr(0, colon));
  std::string_view v = line.substr(colon + 1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
    v.remove_suffix(1);
  if (name == "content-length") {
    // Pre-size the body buffer: multi-MiB blocks would otherwise be copied on every doubling.
    unsigned long long len = std::strtoull(std::string(v).c_str(), nullptr, 10);
    if (len > 0 && len < (1ull << 32) && !t->resp->InDst()) t->resp->body.reserve(len);
  }
  t->resp->headers.emplace_back(std::move(name), std::string(v));
  return size * n;
}

std::string AmzDate() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// Undoes one level of XML escaping (the five predefined entities).
std::string UnescapeXml(const std::string& s) {
  static const std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size();) {
    bool done = false;
    if (s[i] == '&') {
      for (const auto& [ent, c] : kEntities) {
        if (s.compare(i, ent.size(), ent) == 0) {
          out.push_back(c);
          i += ent.size();
          done = true;
          break;
        }
      }
    }
    if (!done) out.push_back(s[i++]);
  }
  return out;
}

// What a successful response must additionally satisfy.
enum class Check { kNone, kCrc, kEtag };

class S3StoreImpl final : public S3Store {
 public:
  explicit S3StoreImpl(S3Options o) : o_(std::move(o)) {
    GlobalInit();
    std::string scheme_host = o_.endpoint;
    size_t p = scheme_host.find("://");
    host_ = p == std::string::npos ? scheme_host : scheme_host.substr(p + 3);
    // The Host header omits default ports, and SigV4 signs it exactly as sent.
    if (o_.endpoint.rfind("http://", 0) == 0 && host_.size() > 3 &&
        host_.compare(host_.size() - 3, 3, ":80") == 0) {
      host_.resize(host_.size() - 3);
    } else if (o_.endpoint.rfind("https://", 0) == 0 && host_.size() > 4 &&
               host_.compare(host_.size() - 4, 4, ":443") == 0) {
      host_.resize(host_.size() - 4);
    }
    rng_seed_ = std::random_device{}();
  }

  std::string Describe() const override { return "s3://" + o_.bucket + "/"; }

  Status Create() override {
    std::string body;
    if (o_.region != "us-east-1" && !o_.region.empty()) {
      body =
          "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<LocationConstraint>" +
          o_.region + "</LocationConstraint></CreateBucketConfiguration>";
    }
    Response r;
    Status st = Do("PUT", "", {}, {}, body, &r, "create bucket " + o_.bucket);
    if (st.ok()) return st;
    std::string code, msg;
    s3internal::ParseError(r.body, &code, &msg);
    if (code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists") return Status::OK();
    return st;
  }

  Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    if (offset < 0) return Status::Invalid("negative offset");
    out->clear();
    if (length == 0) {
      ObjectInfo info;
      return Head(key, &info);
    }
    Response r;
    r.body.swap(*out);  // receive into the caller's buffer: its capacity is reused
    std::string_view part;
    Status st = GetRange(key, offset, length, &r, &part);
    if (st.ok() && !part.empty() && part.data() != r.body.data()) {
      std::memmove(r.body.data(), part.data(), part.size());
    }
    r.body.resize(st.ok() ? part.size() : 0);
    *out = std::move(r.body);
    return st;
  }

  // Ranged reads land straight in dst (no intermediate buffer, no copy).
  Status GetInto(std::string_view key, int64_t offset, int64_t length, char* dst,
                 int64_t* n) override {
    *n = 0;
    JFS_RETURN_IF_ERROR(CheckKey(key));
    if (offset < 0) return Status::Invalid("negative offset");
    if (length < 0) return Status::Invalid("negative length");
    if (dst == nullptr && length > 0) return Status::Invalid("null read buffer");
    if (length == 0) {
      ObjectInfo info;
      return Head(key, &info);
    }
    Response r;
    r.dst = dst;
    r.dst_cap = static_cast<size_t>(length);
    std::string_view part;
    JFS_RETURN_IF_ERROR(GetRange(key, offset, length, &r, &part));
    if (part.size() > static_cast<uint64_t>(length)) {
      return Status::IOError("get " + std::string(key) + ": backend returned more than asked");
    }
    if (!part.empty() && part.data() != dst) std::memmove(dst, part.data(), part.size());
    *n = static_cast<int64_t>(part.size());
    return Status::OK();
  }

  // GET of [offset, offset+length) (length < 0: to the end; offset 0 and length < 0: the whole
  // object, CRC-checked). *part: the requested bytes within r's body (dst or body), empty for a
  // range at or past the end.
  Status GetRange(std::string_view key, int64_t offset, int64_t length, Response* r,
                  std::string_view* part) {
    *part = {};
    std::vector<std::pair<std::string, std::string>> headers;
    const bool whole = offset == 0 && length < 0;
    if (!whole) {
      std::string range = "bytes=" + std::to_string(offset) + "-";
      if (length > 0) range += std::to_string(offset + length - 1);
      headers.emplace_back("Range", range);
    }
    Status st = Do("GET", key, {}, headers, {}, r, "get " + std::string(key),
                   whole ? Check::kCrc : Check::kNone);
    if (!st.ok()) {
      // A range starting at or past the end: the object exists, the read is short.
      if (r->status == 416) return Status::OK();
      return st;
    }
    std::string_view data = r->InDst() ? std::string_view(r->dst, r->dst_n) : r->body;
    if (!whole && r->status == 200) {
      // The server ignored the Range header and sent everything: cut locally.
      uint64_t off = static_cast<uint64_t>(offset);
      if (off >= data.size()) return Status::OK();
      *part = data.substr(off, length < 0 ? std::string::npos : static_cast<size_t>(length));
      return Status::OK();
    }
    if (!whole && r->status == 206 && length > 0 && data.size() > static_cast<uint64_t>(length)) {
      // More than asked for (s3rver 4.0.4 answers "bytes=0-0" with the whole object): usable
      // only when the content starts where we asked; Content-Range says where it starts.
      std::string cr = r->Header("content-range");
      unsigned long long start = 0;
      if (std::sscanf(cr.c_str(), "bytes %llu-", &start) != 1 ||
          start != static_cast<uint64_t>(offset)) {
        return Status::IOError("get " + std::string(key) + ": the server sent range '" + cr +
                               "' for offset " + std::to_string(offset));
      }
      data = data.substr(0, static_cast<size_t>(length));
    }
    *part = data;
    return Status::OK();
  }

  Status Put(std::string_view key, std::string_view data) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    Response r;
    std::string sha;
    uint32_t crc = 0;
    sigv4::HashPayload(data, &sha, &crc);
    return Do("PUT", key, {}, {{"x-amz-meta-crc32c", std::to_string(crc)}}, data, &r,
              "put " + std::string(key), Check::kEtag, &sha);
  }

  Status Delete(std::string_view key) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    Response r;
    Status st = Do("DELETE", key, {}, {}, {}, &r, "delete " + std::string(key));
    if (st.IsNotFound()) return Status::OK();
    return st;
  }

  Status Head(std::string_view key, ObjectInfo* info) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    Response r;
    JFS_RETURN_IF_ERROR(Do("HEAD", key, {}, {}, {}, &r, "head " + std::string(key)));
    std::string len = r.Header("content-length");
    char* end = nullptr;
    unsigned long long n = std::strtoull(len.c_str(), &end, 10);
    if (len.empty() || *end != '\0') {
      return Status::IOError("head " + std::string(key) + ": response without Content-Length");
    }
    info->key = std::string(key);
    info->size = n;
    info->is_dir = false;
    if (!s3internal::ParseHttpDate(r.Header("last-modified"), &info->mtime_ns)) info->mtime_ns = 0;
    return Status::OK();
  }

  Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
              int limit, std::vector<ObjectInfo>* out, bool* truncated) override {
    out->clear();
    *truncated = false;
    if (limit <= 0) limit = 1000;
    // With emulate_delimiter the server lists flat and common prefixes are rolled up here.
    const bool local_delim = !delimiter.empty() && o_.emulate_delimiter;
    const std::string_view server_delim = local_delim ? std::string_view() : delimiter;
    std::string token;
    // Entries at or before the marker were returned by an earlier page (a server may repeat the
    // common prefix containing the marker); dropping them can leave a page short, so keep
    // fetching until more than `limit` entries are collected (which also tells exactly whether
    // more follow) or the listing ends. Pages are always asked for in full (1000) and sorted
    // here: some servers (s3rver) truncate small pages in an order other than byte order.
    for (int round = 0; round < 1000000; ++round) {
      std::vector<std::pair<std::string, std::string>> q = {{"list-type", "2"},
                                                            {"max-keys", "1000"}};
      if (!prefix.empty()) q.emplace_back("prefix", std::string(prefix));
      if (!server_delim.empty()) q.emplace_back("delimiter", std::string(server_delim));
      if (!token.empty()) {
        q.emplace_back("continuation-token", token);
      } else if (!marker.empty()) {
        q.emplace_back("start-after", std::string(marker));
      }
      Response r;
      JFS_RETURN_IF_ERROR(Do("GET", "", q, {}, {}, &r, "list " + std::string(prefix)));
      s3internal::ListPage page;
      JFS_RETURN_IF_ERROR(
          s3internal::ParseListV2(r.body, &page).WithContext("list " + std::string(prefix)));
      if (o_.list_keys_escaped_twice) {
        for (auto& e : page.objects) e.key = UnescapeXml(e.key);
      }
      std::sort(page.objects.begin(), page.objects.end(),
                [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
      for (auto& e : page.objects) {
        if (e.key.compare(0, prefix.size(), prefix) != 0) {
          return Status::IOError("list returned key '" + e.key + "' outside prefix '" +
                                 std::string(prefix) + "'");
        }
        if (local_delim && !e.is_dir) {
          size_t pos = e.key.find(delimiter, prefix.size());
          if (pos != std::string::npos) {
            e.key.resize(pos + delimiter.size());
            e.is_dir = true;
            e.size = 0;
            e.mtime_ns = 0;
          }
        }
        if (!marker.empty() && e.key <= marker) continue;
        if (!out->empty() && e.key <= out->back().key) continue;  // repeats, overlapping pages
        out->push_back(std::move(e));
      }
      if (static_cast<int>(out->size()) > limit) {
        out->resize(static_cast<size_t>(limit));
        *truncated = true;
        return Status::OK();
      }
      if (!page.truncated) return Status::OK();
      token = page.next_token;
    }
    return Status::IOError("list " + std::string(prefix) + ": too many pages");
  }

  Status CreateMultipart(std::string_view key, std::string* upload_id) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    Response r;
    JFS_RETURN_IF_ERROR(
        Do("POST", key, {{"uploads", ""}}, {}, {}, &r, "create multipart " + std::string(key)));
    pugi::xml_document doc;
    if (doc.load_buffer(r.body.data(), r.body.size())) {
      *upload_id = doc.child("InitiateMultipartUploadResult").child_value("UploadId");
    }
    if (upload_id->empty()) {
      return Status::IOError("create multipart " + std::string(key) + ": no UploadId in response");
    }
    return Status::OK();
  }

  Status UploadPart(std::string_view key, std::string_view upload_id, int part_number,
                    std::string_view data, std::string* etag) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    Response r;
    JFS_RETURN_IF_ERROR(
        Do("PUT", key,
           {{"partNumber", std::to_string(part_number)}, {"uploadId", std::string(upload_id)}}, {},
           data, &r, "upload part " + std::string(key)));
    *etag = r.Header("etag");
    if (etag->empty()) return Status::IOError("upload part " + std::string(key) + ": no ETag");
    return Status::OK();
  }

  Status CompleteMultipart(std::string_view key, std::string_view upload_id,
                           const std::vector<std::string>& etags) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    pugi::xml_document doc;
    pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
    for (size_t i = 0; i < etags.size(); ++i) {
      pugi::xml_node p = root.append_child("Part");
      p.append_child("PartNumber").text().set(static_cast<unsigned>(i + 1));
      p.append_child("ETag").text().set(etags[i].c_str());
    }
    struct Writer : pugi::xml_writer {
      std::string s;
      void write(const void* data, size_t size) override {
        s.append(static_cast<const char*>(data), size);
      }
    } w;
    doc.save(w, "", pugi::format_raw | pugi::format_no_declaration);
    Response r;
    JFS_RETURN_IF_ERROR(Do("POST", key, {{"uploadId", std::string(upload_id)}}, {}, w.s, &r,
                           "complete multipart " + std::string(key)));
    // S3 may report a failure inside a 200 response.
    std::string code, msg;
    if (s3internal::ParseError(r.body, &code, &msg)) {
      return Status::IOError("complete multipart " + std::string(key) + ": " + code + ": " + msg);
    }
    return Status::OK();
  }

  Status AbortMultipart(std::string_view key, std::string_view upload_id) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    Response r;
    Status st = Do("DELETE", key, {{"uploadId", std::string(upload_id)}}, {}, {}, &r,
                   "abort multipart " + std::string(key));
    if (st.IsNotFound()) return Status::OK();
    // Some S3 clones (s3rver) cannot abort; the parts stay invisible and are the server's to
    // expire (a bucket lifecycle rule on AWS).
    if (r.status == 405 || r.status == 501) return Status::NotSupported(st.message());
    return st;
  }

  Status Copy(std::string_view dst, std::string_view src) override {
    JFS_RETURN_IF_ERROR(CheckKey(dst));
    JFS_RETURN_IF_ERROR(CheckKey(src));
    Response r;
    JFS_RETURN_IF_ERROR(
        Do("PUT", dst, {},
           {{"x-amz-copy-source", "/" + o_.bucket + "/" + sigv4::UriEncode(src, true)}}, {}, &r,
           "copy " + std::string(src) + " to " + std::string(dst)));
    std::string code, msg;
    if (s3internal::ParseError(r.body, &code, &msg)) {
      Status st =
          Classify(0, "", code == "NoSuchKey" ? 404 : 500, code, msg, "copy " + std::string(src));
      return st;
    }
    return Status::OK();
  }

 private:
  CurlPtr Borrow() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!pool_.empty()) {
        CurlPtr c = std::move(pool_.back());
        pool_.pop_back();
        return c;
      }
    }
    return CurlPtr(curl_easy_init());
  }
  void Return(CurlPtr c) {
    // curl_easy_reset keeps the handle's live connections, so the next request reuses them.
    curl_easy_reset(c.get());
    std::lock_guard<std::mutex> l(mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(c));
  }

  std::string Path(std::string_view key) const {
    std::string p = o_.path_style ? "/" + o_.bucket : "";
    if (!key.empty()) {
      p += "/" + sigv4::UriEncode(key, true);
    } else if (!o_.path_style) {
      p = "/";
    }
    return p;
  }

  // One request with retries. `key` empty → a bucket-level request. On failure, *r holds the last
  // response (status and body) so callers can inspect S3 error codes. `body_sha256`: the hex
  // SHA-256 of `body` when the caller has it already (computed here otherwise).
  Status Do(const std::string& method, std::string_view key,
            const std::vector<std::pair<std::string, std::string>>& query,
            const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body,
            Response* r, const std::string& what, Check check = Check::kNone,
            const std::string* body_sha256 = nullptr) {
    const std::string path = Path(key);
    const std::string qs = sigv4::CanonicalQuery(query);
    const std::string url = o_.endpoint + path + (qs.empty() ? "" : "?" + qs);
    const std::string payload_hash = body_sha256 ? *body_sha256 : sigv4::Sha256Hex(body);
    Status st;
    for (int attempt = 0; attempt < std::max(1, o_.max_attempts); ++attempt) {
      if (attempt > 0) Backoff(attempt);
      r->Reset();
      st = Once(method, path, url, query, headers, body, payload_hash, r, what);
      if (st.ok() && check == Check::kCrc) st = VerifyCrc(*r, what);
      if (st.ok() && check == Check::kEtag && r->Header("etag").empty()) {
        // Every successful object PUT carries an ETag: without one the response was cut short.
        st = Status::Retryable(EIO, what + ": incomplete response (no ETag)");
      }
      if (st.ok() || !st.retryable()) return st;
    }
    return st;
  }

  Status VerifyCrc(const Response& r, const std::string& what) {
    std::string want = r.Header("x-amz-meta-crc32c");
    if (want.empty()) return Status::OK();
    std::string got = std::to_string(
        sigv4::Crc32c(r.InDst() ? std::string_view(r.dst, r.dst_n) : std::string_view(r.body)));
    if (got == want) return Status::OK();
    // Possibly damaged in transit: retried; if it persists the stored object is corrupt.
    return Status::Retryable(EIO, what + ": checksum mismatch (stored crc32c " + want +
                                      ", received data has " + got + ")");
  }

  void Backoff(int attempt) {
    int64_t cap = std::min<int64_t>(o_.max_backoff_ms,
                                    int64_t{o_.base_backoff_ms} << std::min(attempt - 1, 20));
    uint64_t x = rng_seed_.fetch_add(0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
    int64_t ms = cap > 0 ? static_cast<int64_t>((x >> 11) % static_cast<uint64_t>(cap + 1)) : 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  Status Once(const std::string& method, const std::string& path, const std::string& url,
              const std::vector<std::pair<std::string, std::string>>& query,
              const std::vector<std::pair<std::string, std::string>>& headers,
              std::string_view body, const std::string& payload_hash, Response* r,
              const std::string& what) {
    const std::string date = AmzDate();
    sigv4::Request req;
    req.method = method;
    req.canonical_uri = path;
    req.query = query;
    req.payload_hash = payload_hash;
    req.headers = {{"host", host_}, {"x-amz-date", date}, {"x-amz-content-sha256", payload_hash}};
    if (!o_.credentials.session_token.empty()) {
      req.headers.emplace_back("x-amz-security-token", o_.credentials.session_token);
    }
    for (const auto& h : headers) {
      if (h.first.rfind("x-amz-", 0) == 0) req.headers.push_back(h);
    }
    curl_slist* raw = nullptr;
    auto add = [&raw](const std::string& line) { raw = curl_slist_append(raw, line.c_str()); };
    for (const auto& [k, v] : req.headers) add(k + ": " + v);
    for (const auto& h : headers) {
      if (h.first.rfind("x-amz-", 0) != 0) add(h.first + ": " + h.second);
    }
    if (!o_.credentials.access_key.empty()) {
      add("Authorization: " + sigv4::Authorization(req, o_.credentials, date,
                                                   o_.region.empty() ? "us-east-1" : o_.region,
                                                   "s3"));
    }
    add("Expect:");  // no 100-continue round trip
    if (method == "POST") add("Content-Type: application/xml");
    SlistPtr slist(raw);

    CurlPtr c = Borrow();
    if (!c) return Status::Retryable(EIO, what + ": curl_easy_init failed");
    CURL* h = c.get();
    Transfer t;
    t.upload = body;
    t.resp = r;
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, slist.get());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, o_.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, o_.stall_timeout_s);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o_.verify_tls ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o_.verify_tls ? 2L : 0L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    // Bigger transfer buffers than the 16/64 KiB defaults: fewer callbacks and syscalls per
    // multi-MiB block.
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L << 10);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteCb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, HeaderCb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    if (method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadCb);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekCb);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else if (method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (rc != CURLE_OK) {
      // The connection state is unknown: drop the handle instead of pooling it.
      return Classify(rc, errbuf, 0, "", "", what);
    }
    Return(std::move(c));
    // libcurl accepts a connection closed in the middle of the headers as the end of a
    // close-delimited response. S3 always sends Content-Length (or chunked encoding), so a
    // response without either, or with fewer body bytes than announced, was cut short.
    if (r->status >= 200 && r->status < 300 && r->status != 204) {
      std::string len = r->Header("content-length");
      if (len.empty() && r->Header("transfer-encoding").find("chunked") == std::string::npos) {
        return Status::Retryable(EIO, what + ": incomplete response (no Content-Length)");
      }
      if (!len.empty() && method != "HEAD" && std::to_string(r->BodySize()) != len) {
        return Status::Retryable(EIO, what + ": incomplete response (" +
                                          std::to_string(r->BodySize()) + " of " + len + " bytes)");
      }
    }
    std::string code, msg;
    if (r->status >= 300) s3internal::ParseError(r->body, &code, &msg);
    return Classify(0, "", r->status, code, msg, what);
  }

  S3Options o_;
  std::string host_;
  std::mutex mu_;
  std::vector<CurlPtr> pool_;
  std::atomic<uint64_t> rng_seed_{0};
};

}  // namespace

Status ParseS3Bucket(const std::string& url, bool force_path_style, S3Options* o) {
  size_t p = url.find("://");
  if (p == std::string::npos) {
    return Status::Invalid(
        "s3 bucket must be a URL like http://host:port/bucket or "
        "https://bucket.s3.region.amazonaws.com, got '" +
        url + "'");
  }
  std::string scheme = Lower(url.substr(0, p));
  if (scheme != "http" && scheme != "https") {
    return Status::Invalid("s3 bucket URL must use http or https: '" + url + "'");
  }
  std::string rest = url.substr(p + 3);
  size_t slash = rest.find('/');
  std::string host = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (host.empty()) return Status::Invalid("s3 bucket URL without a host: '" + url + "'");
  o->endpoint = scheme + "://" + host;
  std::string lhost = Lower(host);
  size_t colon = lhost.rfind(':');
  std::string hostname = colon == std::string::npos ? lhost : lhost.substr(0, colon);
  if (!path.empty()) {
    if (path.find('/') != std::string::npos) {
      return Status::Invalid("s3 bucket URL has more than a bucket in its path: '" + url + "'");
    }
    o->bucket = path;
    o->path_style = true;
  } else {
    if (force_path_style) {
      return Status::Invalid("the bucket URL must name the bucket in its path: '" + url + "'");
    }
    size_t dot = hostname.find('.');
    if (dot == std::string::npos) {
      return Status::Invalid("s3 bucket URL names no bucket: '" + url + "'");
    }
    o->bucket = host.substr(0, dot);
    o->path_style = false;
  }
  // AWS hosts carry the region: bucket.s3.REGION.amazonaws.com, s3.REGION.amazonaws.com,
  // s3-REGION.amazonaws.com.
  const std::string aws = ".amazonaws.com";
  if (hostname.size() > aws.size() &&
      hostname.compare(hostname.size() - aws.size(), aws.size(), aws) == 0) {
    std::string h = hostname.substr(0, hostname.size() - aws.size());
    if (!o->path_style) h = h.substr(h.find('.') + 1);
    if (h.rfind("s3.", 0) == 0) {
      o->region = h.substr(3);
    } else if (h.rfind("s3-", 0) == 0) {
      o->region = h.substr(3);
    }
    if (o->region == "s3" || o->region.empty()) o->region = "us-east-1";
  }
  if (o->bucket.empty()) return Status::Invalid("s3 bucket URL names no bucket: '" + url + "'");
  return Status::OK();
}

void ApplyAwsEnvironment(S3Options* o, bool region_from_url) {
  auto env = [](const char* n) {
    const char* v = std::getenv(n);
    return std::string(v ? v : "");
  };
  if (o->credentials.access_key.empty()) {
    o->credentials.access_key = env("AWS_ACCESS_KEY_ID");
    if (o->credentials.secret_key.empty()) o->credentials.secret_key = env("AWS_SECRET_ACCESS_KEY");
    if (o->credentials.session_token.empty()) {
      o->credentials.session_token = env("AWS_SESSION_TOKEN");
    }
  }
  if (!region_from_url) {
    std::string r = env("AWS_REGION");
    if (r.empty()) r = env("AWS_DEFAULT_REGION");
    if (!r.empty()) o->region = r;
  }
}

Status NewS3Store(const S3Options& o, std::unique_ptr<S3Store>* out) {
  if (o.endpoint.empty() || o.bucket.empty())
    return Status::Invalid("s3: endpoint and bucket needed");
  *out = std::make_unique<S3StoreImpl>(o);
  return Status::OK();
}

Status PutMultipart(S3Store& s, std::string_view key, std::string_view data, size_t part_size,
                    int threads) {
  if (part_size < (5u << 20)) part_size = 5u << 20;  // S3's minimum (but for the last part)
  if (data.size() <= part_size) return s.Put(key, data);
  std::string upload_id;
  JFS_RETURN_IF_ERROR(s.CreateMultipart(key, &upload_id));
  const size_t parts = (data.size() + part_size - 1) / part_size;
  std::vector<std::string> etags(parts);
  std::vector<Status> errors(parts);
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, threads); ++t) {
    workers.emplace_back([&] {
      for (size_t i = next++; i < parts; i = next++) {
        errors[i] = s.UploadPart(key, upload_id, static_cast<int>(i + 1),
                                 data.substr(i * part_size, part_size), &etags[i]);
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors) {
    if (!e.ok()) {
      (void)s.AbortMultipart(key, upload_id);
      return e;
    }
  }
  Status st = s.CompleteMultipart(key, upload_id, etags);
  if (!st.ok()) (void)s.AbortMultipart(key, upload_id);
  return st;
}

Status GetParallel(ObjectStore& s, std::string_view key, uint64_t size, size_t part_size,
                   int threads, std::string* out) {
  if (part_size == 0) part_size = 8u << 20;
  const size_t parts = (size + part_size - 1) / part_size;
  out->assign(size, '\0');
  std::vector<Status> errors(parts);
  std::atomic<size_t> next{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < std::max(1, threads); ++t) {
    workers.emplace_back([&] {
      std::string buf;
      for (size_t i = next++; i < parts; i = next++) {
        uint64_t off = i * part_size;
        uint64_t len = std::min<uint64_t>(part_size, size - off);
        errors[i] = s.Get(key, static_cast<int64_t>(off), static_cast<int64_t>(len), &buf);
        if (errors[i].ok() && buf.size() != len) {
          errors[i] = Status::IOError("get " + std::string(key) + ": short ranged read");
        }
        if (errors[i].ok()) std::memcpy(out->data() + off, buf.data(), len);
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& e : errors) JFS_RETURN_IF_ERROR(e);
  return Status::OK();
}

}  // namespace jfs::object
