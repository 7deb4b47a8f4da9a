#include "server/s3/gateway.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <functional>
#include <mutex>
#include <pugixml.hpp>
#include <sstream>

#include <thread>
#include "server/common.h"

#include "object/sigv4.h"

namespace jfs::server::s3 {

namespace {

namespace sigv4 = jfs::object::sigv4;
using http::Request;
using http::Response;
using lib::Volume;
using meta::Attr;

constexpr std::string_view kWorkDir = "/.jfs-gateway";
constexpr std::string_view kTmpDir = "/.jfs-gateway/tmp";
constexpr std::string_view kUploadsDir = "/.jfs-gateway/uploads";
constexpr std::string_view kXattrEtag = "user.s3.etag";
constexpr std::string_view kXattrPrefix = "user.s3.";
constexpr std::string_view kXattrMeta = "user.s3.meta.";
// Multipart uploads: parts of the common size ("stride", set by the first part at least
// min_part_size long) are written into the upload's data file at (number - 1) x stride and
// recorded by an empty part file whose kXattrPlaced is "<offset> <length>"; others are files.
constexpr std::string_view kUploadData = "data";
constexpr std::string_view kXattrStride = "user.s3.upload.stride";
constexpr std::string_view kXattrPlaced = "user.s3.part.placed";
constexpr size_t kMaxXmlBody = 2u << 20;
// Body pieces at least this big are hashed on a helper thread while the connection's thread
// writes them into the volume (MD5 alone runs at ~600 MB/s: done in line it halves PUT speed).
constexpr size_t kParallelHashMin = 64u << 10;
constexpr size_t kCopyBuffer = 4u << 20;
// The HTTP headers kept with an object (besides x-amz-meta-*).
constexpr std::string_view kKeptHeaders[] = {"content-type",        "content-encoding",
                                             "content-disposition", "cache-control",
                                             "content-language",    "expires"};

int HttpStatusOf(std::string_view code) {
  static const std::pair<std::string_view, int> kTable[] = {
      {"AccessDenied", 403},
      {"SignatureDoesNotMatch", 403},
      {"InvalidAccessKeyId", 403},
      {"RequestTimeTooSkewed", 403},
      {"NoSuchKey", 404},
      {"NoSuchBucket", 404},
      {"NoSuchUpload", 404},
      {"BucketNotEmpty", 409},
      {"BucketAlreadyOwnedByYou", 409},
      {"BucketAlreadyExists", 409},
      {"InvalidRange", 416},
      {"MethodNotAllowed", 405},
      {"NotImplemented", 501},
      {"PreconditionFailed", 412},
      {"InternalError", 500},
      {"MissingContentLength", 411},
      {"ServiceUnavailable", 503},
  };
  for (const auto& [c, s] : kTable) {
    if (c == code) return s;
  }
  return 400;
}

// Appends <name>escaped value</name>.
void AppendTag(std::string* out, std::string_view name, std::string_view value) {
  *out += '<';
  *out += name;
  *out += '>';
  AppendXmlEscaped(out, value);
  *out += "</";
  *out += name;
  *out += '>';
}

std::string Tag(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(2 * name.size() + value.size() + 5);
  AppendTag(&out, name, value);
  return out;
}

std::string Iso8601(int64_t sec, uint32_t nsec) {
  std::string out;
  AppendIso8601(&out, sec, nsec);
  return out;
}

std::string Unquote(std::string_view etag) {
  std::string s(etag);
  while (!s.empty() && (s.front() == '"' || s.front() == ' ')) s.erase(s.begin());
  while (!s.empty() && (s.back() == '"' || s.back() == ' ')) s.pop_back();
  return s;
}

bool HexToRaw(std::string_view hex, std::string* raw) {
  if (hex.size() % 2 != 0) return false;
  raw->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto v = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int hi = v(hex[i]), lo = v(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    raw->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

std::string Base64(std::string_view raw) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < raw.size(); i += 3) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8) | uint8_t(raw[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i + 1 == raw.size()) {
    uint32_t v = uint8_t(raw[i]) << 16;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == raw.size()) {
    uint32_t v = (uint8_t(raw[i]) << 16) | (uint8_t(raw[i + 1]) << 8);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// The stored ETag stamp: "<etag> <mtime sec>.<nsec> <size>".
std::string EtagStamp(std::string_view etag, const Attr& a) {
  return std::string(etag) + " " + std::to_string(a.mtime) + "." + std::to_string(a.mtimensec) +
         " " + std::to_string(a.length);
}

// Reads a whole file of the volume into `data` (small files only: parts' metadata, XML).
bool ParseUint(std::string_view s, uint64_t* v) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t x = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    x = x * 10 + static_cast<uint64_t>(c - '0');
  }
  *v = x;
  return true;
}

}  // namespace

Gateway::Gateway(lib::Volume* volume, GatewayOptions opts)
    : volume_(volume), opts_(std::move(opts)), name_(volume->format().name) {}

std::shared_ptr<const SortedDir> Gateway::CachedListing(const std::string& path, meta::Ino ino,
                                                        const meta::Attr& dir_attr) {
  std::lock_guard<std::mutex> l(list_mu_);
  auto it = listings_.find(path);
  if (it == listings_.end()) return nullptr;
  const SortedDir& d = *it->second;
  if (d.ino != ino || d.mtime != dir_attr.mtime || d.mtimensec != dir_attr.mtimensec ||
      std::chrono::steady_clock::now() - d.built > kListingTtl) {
    listings_.erase(it);
    return nullptr;
  }
  return it->second;
}

bool Gateway::ClaimPart(const std::string& part) {
  std::lock_guard<std::mutex> l(parts_mu_);
  return parts_busy_.insert(part).second;
}

void Gateway::ReleasePart(const std::string& part) {
  std::lock_guard<std::mutex> l(parts_mu_);
  parts_busy_.erase(part);
}

bool Gateway::UploadBusy(const std::string& id_slash) {
  std::lock_guard<std::mutex> l(parts_mu_);
  auto it = parts_busy_.lower_bound(id_slash);
  return it != parts_busy_.end() && it->rfind(id_slash, 0) == 0;
}

bool Gateway::KnownEtag(meta::Ino ino, const meta::Attr& a, std::string* etag) {
  std::lock_guard<std::mutex> l(etag_mu_);
  auto it = etags_.find(ino);
  if (it == etags_.end()) return false;
  const EtagMemo& m = it->second;
  if (m.length != a.length || m.mtime != a.mtime || m.mtimensec != a.mtimensec) {
    etags_.erase(it);
    return false;
  }
  *etag = m.etag;
  return true;
}

void Gateway::RememberEtag(meta::Ino ino, const meta::Attr& a, const std::string& etag) {
  std::lock_guard<std::mutex> l(etag_mu_);
  if (etags_.size() >= kEtagMemoMax) etags_.clear();
  etags_[ino] = EtagMemo{a.length, a.mtime, a.mtimensec, etag};
}

void Gateway::CacheListing(const std::string& path, std::shared_ptr<const SortedDir> listing) {
  if (listing->kids.size() < kListingCacheMin) return;
  std::lock_guard<std::mutex> l(list_mu_);
  listings_[path] = std::move(listing);
  while (listings_.size() > kListingCacheDirs) {
    auto oldest = listings_.begin();
    for (auto it = listings_.begin(); it != listings_.end(); ++it) {
      if (it->second->built < oldest->second->built) oldest = it;
    }
    listings_.erase(oldest);
  }
}

Status Gateway::Init() {
  meta::Context ctx = RootCtx();
  for (std::string_view d : {kWorkDir, kTmpDir, kUploadsDir}) {
    Status s = volume_->MkdirAll(ctx, d, 0700);
    if (!s.ok()) return s.WithContext(std::string(d));
  }
  // Uploads interrupted by a previous run's end: never renamed in, nobody reads them.
  std::unique_ptr<lib::DirStream> dir;
  Status s = volume_->OpenDir(ctx, kTmpDir, &dir);
  if (!s.ok()) return s;
  std::vector<std::string> stale;
  while (true) {
    lib::DirEntry e;
    bool end = false;
    s = dir->Next(&e, &end);
    if (!s.ok() || end) break;
    stale.push_back(e.name);
  }
  (void)dir->Close();
  for (const auto& n : stale) (void)volume_->Unlink(ctx, std::string(kTmpDir) + "/" + n);
  return Status::OK();
}

namespace {

struct ObjInfo {
  std::string key;
  Attr attr;
  std::string etag;
};

// A thread that runs one job at a time for its owner, which waits for it: lets a request hash
// a body piece while it writes the same piece (the piece is only valid until OnBody returns, so
// the owner always waits before returning).
class SideThread {
 public:
  SideThread() = default;
  SideThread(const SideThread&) = delete;
  SideThread& operator=(const SideThread&) = delete;
  ~SideThread() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> l(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  // Starts `job` on the thread (creating it on first use). Not re-entrant: Wait() in between.
  void Run(std::function<void()> job) {
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    {
      std::lock_guard<std::mutex> l(mu_);
      job_ = std::move(job);
      busy_ = true;
    }
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [this] { return !busy_; });
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (true) {
      cv_.wait(l, [this] { return quit_ || (busy_ && job_); });
      if (quit_) return;
      std::function<void()> job = std::move(job_);
      job_ = nullptr;
      l.unlock();
      job();
      l.lock();
      busy_ = false;
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> job_;
  bool busy_ = false, quit_ = false;
  std::thread thread_;
};

// One S3 request.
class S3Handler : public http::RequestHandler {
 public:
  S3Handler(Gateway* gw, const Request& req) : gw_(gw), vol_(gw->volume()), req_(req) {}
  ~S3Handler() override {
    if (!place_upload_.empty()) gw_->ReleasePart(place_upload_);
  }

  bool OnHeaders(Response* resp) override;
  bool OnBody(std::string_view data) override;
  void OnEnd(Response* resp) override;
  void OnAbort() override { Discard(); }

 private:
  enum class Body { kDiscard, kFile, kBuffer };

  // ---- responses ----
  void Error(Response* r, std::string_view code, std::string_view message) {
    r->status = HttpStatusOf(code);
    r->headers.clear();
    r->source.reset();
    r->SetHeader("Content-Type", "application/xml");
    r->SetHeader("x-amz-request-id", request_id_);
    if (req_.method == "HEAD") {
      r->head = true;
      r->length = 0;
      return;
    }
    std::string resource = raw_path_decoded_;
    r->body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>" + Tag("Code", code) +
              Tag("Message", message) + (bucket_.empty() ? "" : Tag("BucketName", bucket_)) +
              (key_.empty() ? "" : Tag("Key", key_)) + Tag("Resource", resource) +
              Tag("RequestId", request_id_) + "</Error>";
  }
  void Xml(Response* r, std::string body, int status = 200) {
    r->status = status;
    r->SetHeader("Content-Type", "application/xml");
    r->SetHeader("x-amz-request-id", request_id_);
    r->body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + body;
  }
  void Empty(Response* r, int status) {
    r->status = status;
    r->SetHeader("x-amz-request-id", request_id_);
  }
  // An errno from the volume as an S3 error.
  void VolumeError(Response* r, const Status& s, std::string_view what) {
    switch (s.code()) {
      case ENOENT:
        Error(r, "NoSuchKey", "The specified key does not exist.");
        return;
      case ENOTDIR:
      case EEXIST:
      case EISDIR:
        Error(r, "InvalidArgument",
              std::string(what) + ": a file and a directory would share a name (" + s.ToString() +
                  ")");
        return;
      case ENAMETOOLONG:
        Error(r, "KeyTooLongError", "Your key is too long");
        return;
      case ENOSPC:
      case EDQUOT:
        Error(r, "InternalError", "the volume is full");
        return;
      default:
        Error(r, "InternalError", std::string(what) + ": " + s.ToString());
    }
  }

  // ---- paths ----
  // The gateway's work directory (single-bucket mode: it sits in the bucket's root).
  bool Reserved(std::string_view key) const {
    return !gw_->options().multi_buckets &&
           (key == kWorkDir.substr(1) || key.rfind(std::string(kWorkDir.substr(1)) + "/", 0) == 0);
  }
  std::string BucketRoot() const { return gw_->options().multi_buckets ? "/" + bucket_ : ""; }
  std::string ObjectPath(std::string_view key) const {
    std::string k(key);
    if (!k.empty() && k.back() == '/') k.pop_back();
    return BucketRoot() + "/" + k;
  }
  bool BucketExists() {
    if (!gw_->options().multi_buckets) return bucket_ == gw_->volume_name();
    if (!ValidBucketName(bucket_)) return false;
    Attr a;
    return vol_->Stat(ctx_, "/" + bucket_, &a, nullptr).ok() && a.typ == meta::kTypeDirectory;
  }
  std::string Query(std::string_view name, bool* present = nullptr) const {
    for (const auto& [k, v] : query_) {
      if (k == name) {
        if (present) *present = true;
        return v;
      }
    }
    if (present) *present = false;
    return "";
  }
  bool Has(std::string_view name) const {
    bool p = false;
    (void)Query(name, &p);
    return p;
  }

  // The ETag of a file: the stored one while still valid, else a stand-in.
  std::string EtagOf(const std::string& path, const Attr& a, meta::Ino ino) {
    std::string v;
    if (ino != 0 && gw_->KnownEtag(ino, a, &v)) return v;
    if (vol_->GetXattr(ctx_, path, kXattrEtag, &v).ok()) {
      size_t sp = v.find(' ');
      if (sp != std::string::npos && v.substr(sp + 1) == EtagStamp("", a).substr(1)) {
        v.resize(sp);
        if (ino != 0) gw_->RememberEtag(ino, a, v);
        return v;
      }
    }
    v = sigv4::Sha256Hex(std::to_string(ino) + ":" + std::to_string(a.length) + ":" +
                         std::to_string(a.mtime) + "." + std::to_string(a.mtimensec))
            .substr(0, 32);
    if (ino != 0) gw_->RememberEtag(ino, a, v);
    return v;
  }

  // ---- body plumbing ----
  bool StartTempFile(Response* r) {
    tmp_path_ = std::string(kTmpDir) + "/" + RandomHex(16);
    Status s = vol_->OpenFile(ctx_, tmp_path_, O_WRONLY | O_CREAT | O_EXCL, 0644, &tmp_);
    if (!s.ok()) {
      tmp_path_.clear();
      VolumeError(r, s, "creating the upload");
      return false;
    }
    body_ = Body::kFile;
    return true;
  }
  void Discard() {
    if (tmp_) {
      (void)tmp_->Close();
      tmp_.reset();
    }
    if (!tmp_path_.empty()) {
      (void)vol_->Unlink(ctx_, tmp_path_);
      tmp_path_.clear();
    }
  }
  // Takes a piece of the decoded body: hashes it (MD5, and SHA-256 when `sha` too: a signed
  // payload that is not chunked) and stores it.
  bool Sink(std::string_view data, bool sha = false) {
    auto hash = [this, data, sha] {
      if (sha) sha_.Update(data);
      md5_.Update(data);
    };
    received_ += data.size();
    if (body_ == Body::kFile && data.size() >= kParallelHashMin) {
      hasher_.Run(hash);
      bool ok = WriteTemp(data);
      hasher_.Wait();
      return ok;
    }
    hash();
    if (body_ == Body::kBuffer) {
      if (buffer_.size() + data.size() > kMaxXmlBody) {
        body_error_ = "MaxMessageLengthExceeded";
        return false;
      }
      buffer_.append(data);
    } else if (body_ == Body::kFile) {
      return WriteTemp(data);
    }
    return true;
  }
  bool WriteTemp(std::string_view data) {
    if (placed_ && place_written_ + data.size() > place_len_) {
      body_error_ = "IncompleteBody";
      body_error_msg_ = "the body is longer than declared";
      return false;
    }
    while (!data.empty()) {
      uint64_t n = 0;
      Status s = placed_ ? tmp_->Pwrite(data.data(), data.size(), place_off_ + place_written_, &n)
                         : tmp_->Write(data.data(), data.size(), &n);
      place_written_ += n;
      if (!s.ok() || n == 0) {
        body_error_ = "InternalError";
        body_error_msg_ = "writing the upload: " + s.ToString();
        return false;
      }
      data.remove_prefix(n);
    }
    return true;
  }
  // Finishes the temp file: closes it, sets the ETag stamp and `xattrs`, returns its attributes.
  bool SealTemp(Response* r, const std::string& etag,
                const std::vector<std::pair<std::string, std::string>>& xattrs, Attr* attr) {
    Status s = tmp_->Close();
    tmp_.reset();
    meta::Ino ino = 0;
    if (s.ok()) s = vol_->Stat(ctx_, tmp_path_, attr, &ino);
    if (s.ok()) s = vol_->SetXattr(ctx_, tmp_path_, kXattrEtag, EtagStamp(etag, *attr), 0);
    if (s.ok()) gw_->RememberEtag(ino, *attr, etag);
    for (const auto& [k, v] : xattrs) {
      if (!s.ok()) break;
      s = vol_->SetXattr(ctx_, tmp_path_, k, v, 0);
    }
    if (!s.ok()) {
      Discard();
      VolumeError(r, s, "finishing the upload");
      return false;
    }
    return true;
  }
  // Renames the sealed temp file to `dest` (creating parent directories).
  bool Publish(Response* r, const std::string& dest) {
    size_t slash = dest.rfind('/');
    Status s;
    if (slash > 0) s = vol_->MkdirAll(ctx_, dest.substr(0, slash), 0755);
    if (s.ok()) s = vol_->Rename(ctx_, tmp_path_, dest, 0);
    if (!s.ok()) {
      Discard();
      VolumeError(r, s, "storing the object");
      return false;
    }
    tmp_path_.clear();
    return true;
  }
  // Object metadata to store from the request headers (x-amz-meta-*, Content-Type, ...).
  std::vector<std::pair<std::string, std::string>> MetadataFromRequest() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : req_.headers) {
      if (k.rfind("x-amz-meta-", 0) == 0 && k.size() > 11) {
        out.emplace_back(std::string(kXattrMeta) + k.substr(11), v);
      }
    }
    for (std::string_view h : kKeptHeaders) {
      if (req_.HasHeader(h)) {
        std::string v = req_.Header(h);
        // aws-chunked is the transfer framing of signed streaming, not the object's encoding.
        if (h == "content-encoding") {
          std::string kept;
          std::stringstream ss(v);
          std::string item;
          while (std::getline(ss, item, ',')) {
            size_t b = item.find_first_not_of(' ');
            if (b == std::string::npos) continue;
            item = item.substr(b);
            if (item == "aws-chunked") continue;
            kept += (kept.empty() ? "" : ",") + item;
          }
          if (kept.empty()) continue;
          v = kept;
        }
        out.emplace_back(std::string(kXattrPrefix) + std::string(h), v);
      }
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> MetadataOf(const std::string& path) {
    std::vector<std::pair<std::string, std::string>> out;
    std::vector<std::string> names;
    if (!vol_->ListXattr(ctx_, path, &names).ok()) return out;
    for (const auto& n : names) {
      if (n.rfind(kXattrPrefix, 0) != 0 || n == kXattrEtag) continue;
      if (n.rfind("user.s3.upload.", 0) == 0) continue;
      std::string v;
      if (vol_->GetXattr(ctx_, path, n, &v).ok()) out.emplace_back(n, v);
    }
    return out;
  }
  void AddMetadataHeaders(Response* r, const std::string& path) {
    bool has_type = false;
    for (const auto& [n, v] : MetadataOf(path)) {
      if (n.rfind(kXattrMeta, 0) == 0) {
        r->SetHeader("x-amz-meta-" + n.substr(kXattrMeta.size()), v);
      } else {
        std::string h = n.substr(kXattrPrefix.size());
        if (h == "content-type") has_type = true;
        r->SetHeader(h, v);
      }
    }
    if (!has_type) r->SetHeader("Content-Type", "binary/octet-stream");
  }

  // ---- operations ----
  void ListBuckets(Response* r);
  void CreateBucket(Response* r);
  void DeleteBucket(Response* r);
  void ListObjects(Response* r, bool v2);
  void GetObject(Response* r, bool head);
  void PutObject(Response* r);
  void CopyObject(Response* r);
  void DeleteObject(Response* r);
  void DeleteObjects(Response* r);
  void CreateUpload(Response* r);
  void UploadPart(Response* r, bool copy);
  void CompleteUpload(Response* r);
  void AbortUpload(Response* r);
  void ListParts(Response* r);
  void ListUploads(Response* r);

  bool RemoveObjectFile(const std::string& key, Status* st);
  void PruneEmptyParents(std::string path);
  bool CopySource(Response* r, std::string* path, Attr* attr);
  bool CopyRange(Response* r, const std::string& src, uint64_t off, uint64_t len);
  bool UploadDir(Response* r, std::string* dir);
  bool StartPlacedPart(Response* r, bool* started);
  // A placed part's region in the data file (false: the part file holds the bytes).
  bool PlacedRegion(const std::string& part_path, uint64_t* off, uint64_t* len) {
    std::string v;
    if (!vol_->GetXattr(ctx_, part_path, kXattrPlaced, &v).ok()) return false;
    size_t sp = v.find(' ');
    return sp != std::string::npos && ParseUint(v.substr(0, sp), off) &&
           ParseUint(v.substr(sp + 1), len);
  }
  uint64_t PartSize(const std::string& part_path, const Attr& a) {
    uint64_t off = 0, len = 0;
    return PlacedRegion(part_path, &off, &len) ? len : a.length;
  }
  bool FinishPlacedPart(Response* r);
  bool RemoveTree(const std::string& path);

  struct ListState {
    std::string prefix, delimiter, marker;
    size_t max = 1000;
    std::vector<ObjInfo> objects;
    std::vector<std::string> prefixes;
    bool truncated = false;
    std::string last;  // last key or common prefix returned
  };
  // Adds `key` to the page (an object: its attributes, inode and the path of its file, whose
  // parent directory and name are given so that the path is only built when the ETag needs it).
  bool Emit(ListState& st, const std::string& key, bool is_prefix, const Attr* a, meta::Ino ino,
            std::string_view dir_path, std::string_view name);
  bool Walk(ListState& st, const std::string& dir_path, const std::string& dir_key, Status* err);

  Gateway* gw_;
  Volume* vol_;
  Request req_;
  meta::Context ctx_ = RootCtx();
  std::string request_id_ = RandomHex(8);
  std::vector<std::pair<std::string, std::string>> query_;
  std::string raw_path_decoded_;
  std::string bucket_, key_;
  AuthResult auth_;
  std::unique_ptr<ChunkDecoder> chunks_;
  Digest sha_{false}, md5_{true};
  SideThread hasher_;  // declared after the digests: joined before they go
  // UploadPart written straight into the upload's data file at (part number - 1) x stride (see
  // StartPlacedPart): tmp_ is then that file and tmp_path_ stays empty.
  bool placed_ = false;
  uint64_t place_off_ = 0, place_len_ = 0, place_written_ = 0, place_part_ = 0;
  std::string place_upload_;
  Body body_ = Body::kDiscard;
  std::string buffer_;
  std::shared_ptr<lib::File> tmp_;
  std::string tmp_path_;
  uint64_t received_ = 0;
  std::string body_error_, body_error_msg_;
  std::string md5_hex_;  // MD5 of the received (decoded) body
  enum class Op {
    kNone,
    kListBuckets,
    kCreateBucket,
    kDeleteBucket,
    kHeadBucket,
    kLocation,
    kVersioning,
    kListV1,
    kListV2,
    kListUploads,
    kDeleteObjects,
    kGet,
    kHead,
    kPut,
    kCopy,
    kDelete,
    kCreateUpload,
    kUploadPart,
    kUploadPartCopy,
    kComplete,
    kAbort,
    kListParts,
  } op_ = Op::kNone;
};

bool S3Handler::OnHeaders(Response* r) {
  if (!http::PercentDecode(req_.raw_path, &raw_path_decoded_)) {
    Error(r, "InvalidURI", "Couldn't parse the specified URI.");
    return true;
  }
  for (const auto& [k, v] : req_.raw_query) {
    std::string dk, dv;
    if (!http::PercentDecode(k, &dk) || !http::PercentDecode(v, &dv)) {
      Error(r, "InvalidURI", "Couldn't parse the specified URI.");
      return true;
    }
    query_.emplace_back(std::move(dk), std::move(dv));
  }
  auth_ =
      Authenticate(req_, raw_path_decoded_, query_, gw_->options().credentials, std::time(nullptr));
  if (!auth_.error_code.empty()) {
    Error(r, auth_.error_code, auth_.error_message);
    return true;
  }
  // "/bucket/key..."
  std::string_view p = raw_path_decoded_;
  if (p.empty() || p.front() != '/') {
    Error(r, "InvalidURI", "the path must start with /");
    return true;
  }
  p.remove_prefix(1);
  size_t slash = p.find('/');
  bucket_ = std::string(p.substr(0, slash));
  if (slash != std::string_view::npos) key_ = std::string(p.substr(slash + 1));
  const std::string& m = req_.method;
  if (bucket_.empty()) {
    if (m == "GET") op_ = Op::kListBuckets;
  } else if (key_.empty()) {
    if (m == "PUT")
      op_ = Op::kCreateBucket;
    else if (m == "DELETE")
      op_ = Op::kDeleteBucket;
    else if (m == "HEAD")
      op_ = Op::kHeadBucket;
    else if (m == "POST" && Has("delete"))
      op_ = Op::kDeleteObjects;
    else if (m == "GET") {
      if (Has("location"))
        op_ = Op::kLocation;
      else if (Has("versioning"))
        op_ = Op::kVersioning;
      else if (Has("uploads"))
        op_ = Op::kListUploads;
      else if (Query("list-type") == "2")
        op_ = Op::kListV2;
      else
        op_ = Op::kListV1;
    }
  } else {
    if (!ValidObjectKey(key_)) {
      Error(r, "InvalidArgument",
            "Object key is not valid here (empty, '.' or '..' components, NUL, or too long)");
      return true;
    }
    if (Reserved(key_)) {
      Error(r, "AccessDenied", "the gateway's work directory is not an object");
      return true;
    }
    const bool upload = Has("uploadId");
    if (m == "PUT") {
      if (upload && Has("partNumber")) {
        op_ = req_.HasHeader("x-amz-copy-source") ? Op::kUploadPartCopy : Op::kUploadPart;
      } else if (req_.HasHeader("x-amz-copy-source")) {
        op_ = Op::kCopy;
      } else {
        op_ = Op::kPut;
      }
    } else if (m == "GET") {
      op_ = upload ? Op::kListParts : Op::kGet;
    } else if (m == "HEAD") {
      op_ = Op::kHead;
    } else if (m == "POST") {
      if (Has("uploads"))
        op_ = Op::kCreateUpload;
      else if (upload)
        op_ = Op::kComplete;
    } else if (m == "DELETE") {
      op_ = upload ? Op::kAbort : Op::kDelete;
    }
  }
  if (op_ == Op::kNone) {
    Error(r, "MethodNotAllowed", "The specified method is not allowed against this resource.");
    return true;
  }
  if (op_ != Op::kListBuckets && op_ != Op::kCreateBucket && !BucketExists()) {
    Error(r, "NoSuchBucket", "The specified bucket does not exist");
    return true;
  }
  if (auth_.mode == PayloadMode::kStreaming) {
    chunks_ = std::make_unique<ChunkDecoder>(auth_, [this](std::string_view d) { return Sink(d); });
  }
  if (op_ == Op::kPut || op_ == Op::kUploadPart) {
    if (op_ == Op::kUploadPart) {
      std::string dir;
      if (!UploadDir(r, &dir)) return true;
      uint64_t n = 0;
      if (!ParseUint(Query("partNumber"), &n) || n < 1 || n > 10000) {
        Error(r, "InvalidArgument", "Part number must be an integer between 1 and 10000");
        return true;
      }
    }
    if (op_ == Op::kPut && key_.back() == '/') return false;  // directory object: no file
    if (op_ == Op::kUploadPart) {
      bool started = false;
      if (!StartPlacedPart(r, &started)) return true;
      if (started) return false;
    }
    return !StartTempFile(r);
  }
  if (op_ == Op::kDeleteObjects || op_ == Op::kComplete) body_ = Body::kBuffer;
  return false;
}

bool S3Handler::OnBody(std::string_view data) {
  if (chunks_) {
    if (!chunks_->Feed(data)) {
      if (body_error_.empty()) body_error_ = chunks_->error_code();
      return false;
    }
    return true;
  }
  return Sink(data, auth_.mode == PayloadMode::kSigned);
}

void S3Handler::OnEnd(Response* r) {
  // The body first: nothing is stored unless all of it arrived and checked out.
  if (!body_error_.empty()) {
    Discard();
    Error(r, body_error_,
          body_error_msg_.empty() ? "the request body was refused" : body_error_msg_);
    return;
  }
  if (chunks_) {
    std::string decoded = req_.Header("x-amz-decoded-content-length");
    uint64_t want = 0;
    if (!chunks_->Finished() ||
        (!decoded.empty() && (!ParseUint(decoded, &want) || want != chunks_->decoded_bytes()))) {
      Discard();
      Error(r, "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.");
      return;
    }
  }
  if (auth_.mode == PayloadMode::kSigned && sha_.FinishHex() != auth_.payload_sha256) {
    Discard();
    Error(r, "XAmzContentSHA256Mismatch",
          "The provided 'x-amz-content-sha256' header does not match what was computed.");
    return;
  }
  std::string content_md5 = req_.Header("content-md5");
  std::string md5raw = md5_.FinishRaw();
  md5_hex_ = sigv4::Hex(md5raw);
  if (!content_md5.empty() && content_md5 != Base64(md5raw)) {
    Discard();
    Error(r, "BadDigest", "The Content-MD5 you specified did not match what we received.");
    return;
  }
  switch (op_) {
    case Op::kListBuckets:
      ListBuckets(r);
      break;
    case Op::kCreateBucket:
      CreateBucket(r);
      break;
    case Op::kDeleteBucket:
      DeleteBucket(r);
      break;
    case Op::kHeadBucket:
      Empty(r, 200);
      r->head = true;
      break;
    case Op::kLocation:
      Xml(r,
          "<LocationConstraint "
          "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"></LocationConstraint>");
      break;
    case Op::kVersioning:
      Xml(r, "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
      break;
    case Op::kListV1:
      ListObjects(r, false);
      break;
    case Op::kListV2:
      ListObjects(r, true);
      break;
    case Op::kListUploads:
      ListUploads(r);
      break;
    case Op::kDeleteObjects:
      DeleteObjects(r);
      break;
    case Op::kGet:
      GetObject(r, false);
      break;
    case Op::kHead:
      GetObject(r, true);
      break;
    case Op::kPut:
      PutObject(r);
      break;
    case Op::kCopy:
      CopyObject(r);
      break;
    case Op::kDelete:
      DeleteObject(r);
      break;
    case Op::kCreateUpload:
      CreateUpload(r);
      break;
    case Op::kUploadPart:
      UploadPart(r, false);
      break;
    case Op::kUploadPartCopy:
      UploadPart(r, true);
      break;
    case Op::kComplete:
      CompleteUpload(r);
      break;
    case Op::kAbort:
      AbortUpload(r);
      break;
    case Op::kListParts:
      ListParts(r);
      break;
    case Op::kNone:
      Error(r, "NotImplemented", "not implemented");
      break;
  }
  Discard();  // whatever an operation did not publish
}

void S3Handler::ListBuckets(Response* r) {
  std::vector<std::pair<std::string, Attr>> buckets;
  if (gw_->options().multi_buckets) {
    std::unique_ptr<lib::DirStream> d;
    Status s = vol_->OpenDir(ctx_, "/", &d);
    if (!s.ok()) return VolumeError(r, s, "listing buckets");
    while (true) {
      lib::DirEntry e;
      bool end = false;
      s = d->Next(&e, &end);
      if (!s.ok()) return VolumeError(r, s, "listing buckets");
      if (end) break;
      if (e.attr.typ == meta::kTypeDirectory && ValidBucketName(e.name)) {
        buckets.emplace_back(e.name, e.attr);
      }
    }
    std::sort(buckets.begin(), buckets.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
  } else {
    Attr a;
    (void)vol_->Stat(ctx_, "/", &a, nullptr);
    buckets.emplace_back(gw_->volume_name(), a);
  }
  std::string x =
      "<ListAllMyBucketsResult "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Owner><ID>jfs</ID>"
      "<DisplayName>jfs</DisplayName></Owner><Buckets>";
  for (const auto& [n, a] : buckets) {
    x += "<Bucket>" + Tag("Name", n) + Tag("CreationDate", Iso8601(a.ctime, a.ctimensec)) +
         "</Bucket>";
  }
  x += "</Buckets></ListAllMyBucketsResult>";
  Xml(r, x);
}

void S3Handler::CreateBucket(Response* r) {
  if (!gw_->options().multi_buckets) {
    if (bucket_ == gw_->volume_name()) {
      return Error(r, "BucketAlreadyOwnedByYou",
                   "Your previous request to create the named bucket succeeded and you already "
                   "own it.");
    }
    return Error(r, "AccessDenied",
                 "this gateway serves one bucket named after the volume (use --multi-buckets)");
  }
  if (!ValidBucketName(bucket_)) {
    return Error(r, "InvalidBucketName", "The specified bucket is not valid.");
  }
  Status s = vol_->Mkdir(ctx_, "/" + bucket_, 0755);
  if (s.Is(EEXIST)) {
    return Error(r, "BucketAlreadyOwnedByYou",
                 "Your previous request to create the named bucket succeeded and you already own "
                 "it.");
  }
  if (!s.ok()) return VolumeError(r, s, "creating the bucket");
  Empty(r, 200);
  r->SetHeader("Location", "/" + bucket_);
}

void S3Handler::DeleteBucket(Response* r) {
  if (!gw_->options().multi_buckets) {
    return Error(r, "AccessDenied", "the volume's bucket cannot be deleted");
  }
  Status s = vol_->Rmdir(ctx_, "/" + bucket_);
  if (s.Is(ENOTEMPTY) || s.Is(EEXIST)) {
    return Error(r, "BucketNotEmpty", "The bucket you tried to delete is not empty");
  }
  if (!s.ok()) return VolumeError(r, s, "deleting the bucket");
  Empty(r, 204);
}

bool S3Handler::Emit(ListState& st, const std::string& key, bool is_prefix, const Attr* a,
                     meta::Ino ino, std::string_view dir_path, std::string_view name) {
  if (is_prefix && !st.prefixes.empty() && st.prefixes.back() == key) return true;
  if (st.objects.size() + st.prefixes.size() >= st.max) {
    st.truncated = true;
    return false;
  }
  if (is_prefix) {
    st.prefixes.push_back(key);
  } else {
    st.objects.push_back(
        {key, *a, EtagOf(std::string(dir_path) + "/" + std::string(name), *a, ino)});
  }
  st.last = key;
  return true;
}

// Visits directory `dir_path` (whose keys start with `dir_key`) in key order. False when the
// listing is full (or failed: *err set).
bool S3Handler::Walk(ListState& st, const std::string& dir_path, const std::string& dir_key,
                     Status* err) {
  const std::string path = dir_path.empty() ? "/" : dir_path;
  Attr da;
  meta::Ino dino = 0;
  Status s = vol_->Stat(ctx_, path, &da, &dino);
  if (s.IsNotFound() || s.Is(ENOTDIR) || (s.ok() && da.typ != meta::kTypeDirectory)) return true;
  if (!s.ok()) {
    *err = s;
    return false;
  }
  std::shared_ptr<const SortedDir> listing = gw_->CachedListing(path, dino, da);
  if (!listing) {
    std::unique_ptr<lib::DirStream> d;
    s = vol_->OpenDir(ctx_, path, &d);
    if (s.IsNotFound() || s.Is(ENOTDIR)) return true;
    if (!s.ok()) {
      *err = s;
      return false;
    }
    // Children sorted as their keys sort: a directory "a" as "a/". All of them (not only those
    // matching this request's prefix) so that the next request can reuse the listing.
    auto built = std::make_shared<SortedDir>();
    built->ino = dino;
    built->mtime = da.mtime;
    built->mtimensec = da.mtimensec;
    built->built = std::chrono::steady_clock::now();
    while (true) {
      lib::DirEntry e;
      bool end = false;
      s = d->Next(&e, &end);
      if (!s.ok()) {
        *err = s;
        return false;
      }
      if (end) break;
      const bool dir = e.attr.typ == meta::kTypeDirectory;
      if (!dir && e.attr.typ != meta::kTypeFile) continue;
      if (dir_key.empty() && !gw_->options().multi_buckets && e.name == kWorkDir.substr(1)) {
        continue;
      }
      std::string key = dir_key + e.name + (dir ? "/" : "");
      built->kids.emplace_back(std::move(key), std::move(e));
    }
    (void)d->Close();
    std::sort(built->kids.begin(), built->kids.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    listing = built;
    gw_->CacheListing(path, std::move(built));
  }
  const auto& kids = listing->kids;
  // Skip what sorts before the page: every key below both the prefix and the marker (or, when the
  // marker lies inside a subdirectory of this one, below that subdirectory's key).
  // A key below dir_key's next '/' names a subdirectory here, which sorts before what it holds.
  auto here = [&dir_key](std::string k) {
    if (k.rfind(dir_key, 0) == 0) {
      size_t slash = k.find('/', dir_key.size());
      if (slash != std::string::npos) k.resize(slash + 1);
    }
    return k;
  };
  std::string from = here(st.prefix);
  if (!st.marker.empty()) from = std::max(from, here(st.marker));
  auto it = std::lower_bound(kids.begin(), kids.end(), from,
                             [](const auto& kid, const std::string& k) { return kid.first < k; });
  for (; it != kids.end(); ++it) {
    const auto& [key, e] = *it;
    const bool dir = e.attr.typ == meta::kTypeDirectory;
    // Only keys that can match the prefix; past them, none will.
    if (!(key.rfind(st.prefix, 0) == 0 || (dir && st.prefix.rfind(key, 0) == 0))) {
      if (key > st.prefix) break;
      continue;
    }
    if (key.rfind(st.prefix, 0) == 0 && !st.delimiter.empty()) {
      size_t pos = key.find(st.delimiter, st.prefix.size());
      if (pos != std::string::npos) {
        std::string cp = key.substr(0, pos + st.delimiter.size());
        if (dir && cp.size() > key.size()) {
          // the delimiter lies past this directory's name: look inside
        } else {
          if (cp <= st.marker || st.marker.rfind(cp, 0) == 0) continue;
          if (!Emit(st, cp, true, nullptr, 0, dir_path, e.name)) return false;
          continue;
        }
      }
    }
    if (dir) {
      // The whole subtree sorts before the marker.
      if (st.marker > key && st.marker.rfind(key, 0) != 0) continue;
      if (!Walk(st, dir_path + "/" + e.name, key, err)) return false;
      continue;
    }
    if (key <= st.marker) continue;
    if (!Emit(st, key, false, &e.attr, e.inode, dir_path, e.name)) return false;
  }
  return true;
}

void S3Handler::ListObjects(Response* r, bool v2) {
  ListState st;
  st.prefix = Query("prefix");
  st.delimiter = Query("delimiter");
  bool has_max = false;
  std::string max_s = Query("max-keys", &has_max);
  uint64_t max = 1000;
  if (has_max && !ParseUint(max_s, &max)) {
    return Error(r, "InvalidArgument", "max-keys must be a non-negative integer");
  }
  st.max = static_cast<size_t>(std::min<uint64_t>(max, 1000));
  const bool url = Query("encoding-type") == "url";
  std::string marker, token, start_after;
  if (v2) {
    start_after = Query("start-after");
    token = Query("continuation-token");
    std::string decoded;
    if (!token.empty() && !HexToRaw(token, &decoded)) {
      return Error(r, "InvalidArgument", "The continuation token provided is incorrect");
    }
    st.marker = std::max(start_after, decoded);
  } else {
    marker = Query("marker");
    st.marker = marker;
  }
  if (st.max > 0) {
    Status err;
    // Start at the deepest directory the prefix names: "a/b/c" lists inside "a/b".
    std::string dir_key;
    size_t last = st.prefix.rfind('/');
    if (last != std::string::npos) dir_key = st.prefix.substr(0, last + 1);
    if (!dir_key.empty() && !ValidObjectKey(dir_key)) dir_key.clear();
    std::string dir_path =
        BucketRoot() + (dir_key.empty() ? "" : "/" + dir_key.substr(0, dir_key.size() - 1));
    if (!Walk(st, dir_path, dir_key, &err) && !err.ok()) {
      return VolumeError(r, err, "listing");
    }
  }
  auto enc = [&](const std::string& s) { return url ? sigv4::UriEncode(s, true) : s; };
  std::string x =
      std::string("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">") +
      Tag("Name", bucket_) + Tag("Prefix", enc(st.prefix));
  if (v2) {
    if (!token.empty()) x += Tag("ContinuationToken", token);
    if (!start_after.empty()) x += Tag("StartAfter", enc(start_after));
    x += Tag("KeyCount", std::to_string(st.objects.size() + st.prefixes.size()));
  } else {
    x += Tag("Marker", enc(marker));
  }
  x += Tag("MaxKeys", std::to_string(st.max));
  if (!st.delimiter.empty()) x += Tag("Delimiter", enc(st.delimiter));
  if (url) x += Tag("EncodingType", "url");
  x += Tag("IsTruncated", st.truncated ? "true" : "false");
  if (st.truncated) {
    if (v2)
      x += Tag("NextContinuationToken", sigv4::Hex(st.last));
    else
      x += Tag("NextMarker", enc(st.last));
  }
  // Up to 1,000 entries: appended in place, without a temporary string per element.
  x.reserve(x.size() + st.objects.size() * 256 + st.prefixes.size() * 64 + 32);
  for (const auto& o : st.objects) {
    x += "<Contents><Key>";
    if (url) {
      AppendXmlEscaped(&x, sigv4::UriEncode(o.key, true));
    } else {
      AppendXmlEscaped(&x, o.key);
    }
    x += "</Key><LastModified>";
    AppendIso8601(&x, o.attr.mtime, o.attr.mtimensec);
    x += "</LastModified><ETag>&quot;";
    AppendXmlEscaped(&x, o.etag);
    x += "&quot;</ETag><Size>";
    x += std::to_string(o.attr.length);
    x += "</Size><StorageClass>STANDARD</StorageClass></Contents>";
  }
  for (const auto& p : st.prefixes) {
    x += "<CommonPrefixes>" + Tag("Prefix", enc(p)) + "</CommonPrefixes>";
  }
  x += "</ListBucketResult>";
  Xml(r, x);
}

void S3Handler::GetObject(Response* r, bool head) {
  const std::string path = ObjectPath(key_);
  Attr a;
  meta::Ino ino = 0;
  Status s = vol_->Lstat(ctx_, path, &a, &ino);
  const bool dir_key = key_.back() == '/';
  if (!s.ok() || (dir_key ? a.typ != meta::kTypeDirectory : a.typ != meta::kTypeFile)) {
    return Error(r, "NoSuchKey", "The specified key does not exist.");
  }
  const std::string etag =
      dir_key ? std::string("d41d8cd98f00b204e9800998ecf8427e") : EtagOf(path, a, ino);
  const uint64_t size = dir_key ? 0 : a.length;
  // Conditionals (RFC 7232 order).
  std::string if_match = req_.Header("if-match");
  std::string if_none = req_.Header("if-none-match");
  int64_t t = 0;
  if (!if_match.empty() && if_match != "*" && Unquote(if_match) != etag) {
    return Error(r, "PreconditionFailed",
                 "At least one of the pre-conditions you specified did not hold");
  }
  if (if_match.empty() && http::ParseHttpDate(req_.Header("if-unmodified-since"), &t) &&
      a.mtime > t) {
    return Error(r, "PreconditionFailed",
                 "At least one of the pre-conditions you specified did not hold");
  }
  bool not_modified = false;
  if (!if_none.empty()) {
    not_modified = if_none == "*" || Unquote(if_none) == etag;
  } else if (http::ParseHttpDate(req_.Header("if-modified-since"), &t) && a.mtime <= t) {
    not_modified = true;
  }
  r->SetHeader("ETag", "\"" + etag + "\"");
  r->SetHeader("Last-Modified", http::HttpDate(a.mtime));
  r->SetHeader("x-amz-request-id", request_id_);
  if (not_modified) {
    r->status = 304;
    r->head = true;
    r->length = 0;
    return;
  }
  r->SetHeader("Accept-Ranges", "bytes");
  AddMetadataHeaders(r, path);
  uint64_t start = 0, len = size;
  std::string range = req_.Header("range");
  if (!range.empty() && range.rfind("bytes=", 0) == 0 && range.find(',') == std::string::npos) {
    std::string spec = range.substr(6);
    size_t dash = spec.find('-');
    uint64_t a1 = 0, b1 = 0;
    bool ok = dash != std::string::npos;
    if (ok && dash == 0) {  // suffix: the last N bytes
      ok = ParseUint(spec.substr(1), &b1) && b1 > 0;
      if (ok) {
        start = size > b1 ? size - b1 : 0;
        len = size - start;
      }
    } else if (ok) {
      ok = ParseUint(spec.substr(0, dash), &a1);
      std::string rest = spec.substr(dash + 1);
      if (ok && !rest.empty()) ok = ParseUint(rest, &b1) && b1 >= a1;
      if (ok) {
        if (a1 >= size) {
          r->headers.clear();
          Error(r, "InvalidRange", "The requested range is not satisfiable");
          r->SetHeader("Content-Range", "bytes */" + std::to_string(size));
          return;
        }
        start = a1;
        uint64_t end = rest.empty() ? size - 1 : std::min(b1, size - 1);
        len = end - start + 1;
      }
    }
    if (ok && (dash != 0 || size > 0)) {
      r->status = 206;
      r->SetHeader("Content-Range", "bytes " + std::to_string(start) + "-" +
                                        std::to_string(start + len - 1) + "/" +
                                        std::to_string(size));
    } else {
      start = 0;
      len = size;
    }
  }
  r->length = len;
  if (head || len == 0) {
    r->head = head;
    return;
  }
  std::shared_ptr<lib::File> f;
  s = vol_->OpenFile(ctx_, path, O_RDONLY, 0, &f);
  if (!s.ok()) return VolumeError(r, s, "opening the object");
  r->source = std::make_unique<FileSource>(std::move(f), start, len);
}

void S3Handler::PutObject(Response* r) {
  if (key_.back() == '/') {
    // A "folder" object: a directory (only an empty body makes sense).
    if (received_ != 0) {
      return Error(r, "InvalidArgument", "an object whose key ends in '/' must be empty");
    }
    Status s = vol_->MkdirAll(ctx_, ObjectPath(key_), 0755);
    if (!s.ok()) return VolumeError(r, s, "creating the directory");
    Empty(r, 200);
    r->SetHeader("ETag", "\"d41d8cd98f00b204e9800998ecf8427e\"");
    return;
  }
  Attr a;
  if (!SealTemp(r, md5_hex_, MetadataFromRequest(), &a)) return;
  if (!Publish(r, ObjectPath(key_))) return;
  Empty(r, 200);
  r->SetHeader("ETag", "\"" + md5_hex_ + "\"");
}

// The source of CopyObject / UploadPartCopy: x-amz-copy-source "/bucket/key" (URL-encoded).
bool S3Handler::CopySource(Response* r, std::string* path, Attr* attr) {
  std::string src;
  std::string raw = req_.Header("x-amz-copy-source");
  size_t q = raw.find('?');
  if (q != std::string::npos) raw.resize(q);
  if (!http::PercentDecode(raw, &src)) {
    Error(r, "InvalidArgument", "bad x-amz-copy-source");
    return false;
  }
  if (!src.empty() && src.front() == '/') src.erase(src.begin());
  size_t slash = src.find('/');
  if (slash == std::string::npos) {
    Error(r, "InvalidArgument", "x-amz-copy-source must be bucket/key");
    return false;
  }
  std::string sb = src.substr(0, slash), sk = src.substr(slash + 1);
  if (!ValidObjectKey(sk) || sk.back() == '/' || Reserved(sk)) {
    Error(r, "InvalidArgument", "bad source key");
    return false;
  }
  if (gw_->options().multi_buckets ? !ValidBucketName(sb) : sb != gw_->volume_name()) {
    Error(r, "NoSuchBucket", "The specified bucket does not exist");
    return false;
  }
  *path = (gw_->options().multi_buckets ? "/" + sb : "") + "/" + sk;
  meta::Ino ino = 0;
  Status s = vol_->Lstat(ctx_, *path, attr, &ino);
  if (!s.ok() || attr->typ != meta::kTypeFile) {
    Error(r, "NoSuchKey", "The specified key does not exist.");
    return false;
  }
  std::string etag = EtagOf(*path, *attr, ino);
  std::string im = req_.Header("x-amz-copy-source-if-match");
  std::string inm = req_.Header("x-amz-copy-source-if-none-match");
  if ((!im.empty() && Unquote(im) != etag) || (!inm.empty() && Unquote(inm) == etag)) {
    Error(r, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold");
    return false;
  }
  return true;
}

// Copies [off, off+len) of `src` into a new temp file, hashing it into md5_hex_.
bool S3Handler::CopyRange(Response* r, const std::string& src, uint64_t off, uint64_t len) {
  std::shared_ptr<lib::File> in;
  Status s = vol_->OpenFile(ctx_, src, O_RDONLY, 0, &in);
  if (!s.ok()) {
    VolumeError(r, s, "opening the source");
    return false;
  }
  if (!StartTempFile(r)) return false;
  Digest md5(true);
  std::string buf(kCopyBuffer, '\0');
  uint64_t done = 0;
  while (done < len) {
    uint64_t n = 0;
    s = in->Pread(buf.data(), std::min<uint64_t>(buf.size(), len - done), off + done, &n);
    if (s.ok() && n == 0) s = Status::IOError("source shrank during the copy");
    if (!s.ok()) break;
    md5.Update(std::string_view(buf.data(), n));
    uint64_t w = 0;
    s = tmp_->Pwrite(buf.data(), n, done, &w);
    if (s.ok() && w != n) s = Status::IOError("short write");
    if (!s.ok()) break;
    done += n;
  }
  (void)in->Close();
  if (!s.ok()) {
    Discard();
    VolumeError(r, s, "copying");
    return false;
  }
  md5_hex_ = md5.FinishHex();
  return true;
}

void S3Handler::CopyObject(Response* r) {
  std::string src;
  Attr sa;
  if (!CopySource(r, &src, &sa)) return;
  const std::string dest = ObjectPath(key_);
  const bool replace = req_.Header("x-amz-metadata-directive") == "REPLACE";
  if (src == dest && !replace) {
    return Error(r, "InvalidRequest",
                 "This copy request is illegal because it is trying to copy an object to itself "
                 "without changing the object's metadata.");
  }
  auto meta = replace ? MetadataFromRequest() : MetadataOf(src);
  if (!CopyRange(r, src, 0, sa.length)) return;
  Attr a;
  if (!SealTemp(r, md5_hex_, meta, &a)) return;
  if (!Publish(r, dest)) return;
  Xml(r, "<CopyObjectResult>" + Tag("LastModified", Iso8601(a.mtime, a.mtimensec)) +
             Tag("ETag", "\"" + md5_hex_ + "\"") + "</CopyObjectResult>");
}

// Removes the empty directories above `path` up to the bucket root.
void S3Handler::PruneEmptyParents(std::string path) {
  const std::string root = BucketRoot();
  while (true) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash == 0) return;
    path.resize(slash);
    if (path.size() <= root.size()) return;
    if (!vol_->Rmdir(ctx_, path).ok()) return;
  }
}

bool S3Handler::RemoveObjectFile(const std::string& key, Status* st) {
  const std::string path = ObjectPath(key);
  Status s;
  if (key.back() == '/') {
    s = vol_->Rmdir(ctx_, path);
  } else {
    Attr a;
    s = vol_->Lstat(ctx_, path, &a, nullptr);
    if (s.ok() && a.typ == meta::kTypeDirectory) s = Status::NotFound();
    if (s.ok()) s = vol_->Unlink(ctx_, path);
  }
  // Deleting what does not exist succeeds in S3.
  if (s.IsNotFound() || s.Is(ENOTDIR)) s = Status::OK();
  if (s.ok()) PruneEmptyParents(path);
  *st = s;
  return s.ok();
}

void S3Handler::DeleteObject(Response* r) {
  Status s;
  if (!RemoveObjectFile(key_, &s)) {
    if (s.Is(ENOTEMPTY)) return Error(r, "InvalidArgument", "the directory is not empty");
    return VolumeError(r, s, "deleting");
  }
  Empty(r, 204);
}

void S3Handler::DeleteObjects(Response* r) {
  pugi::xml_document doc;
  if (!doc.load_buffer(buffer_.data(), buffer_.size())) {
    return Error(r, "MalformedXML",
                 "The XML you provided was not well-formed or did not validate against our "
                 "published schema.");
  }
  pugi::xml_node root = doc.child("Delete");
  if (!root) return Error(r, "MalformedXML", "missing <Delete>");
  const bool quiet = std::string(root.child_value("Quiet")) == "true";
  std::vector<std::string> keys;
  for (pugi::xml_node o : root.children("Object")) {
    if (!o.child("Key")) return Error(r, "MalformedXML", "an <Object> without <Key>");
    keys.emplace_back(o.child_value("Key"));
  }
  if (keys.empty() || keys.size() > 1000) {
    return Error(r, "MalformedXML", "between 1 and 1000 objects per request");
  }
  std::string x = "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const auto& k : keys) {
    Status s;
    if (!ValidObjectKey(k) || Reserved(k)) {
      x += "<Error>" + Tag("Key", k) + Tag("Code", "InvalidArgument") +
           Tag("Message", "invalid key") + "</Error>";
    } else if (RemoveObjectFile(k, &s)) {
      if (!quiet) x += "<Deleted>" + Tag("Key", k) + "</Deleted>";
    } else {
      x += "<Error>" + Tag("Key", k) + Tag("Code", "InternalError") + Tag("Message", s.ToString()) +
           "</Error>";
    }
  }
  x += "</DeleteResult>";
  Xml(r, x);
}

// ---- multipart ----

bool S3Handler::UploadDir(Response* r, std::string* dir) {
  const std::string id = Query("uploadId");
  const bool id_ok = id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
                       return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
                     });
  *dir = std::string(kUploadsDir) + "/" + id;
  std::string b, k;
  if (!id_ok || !vol_->GetXattr(ctx_, *dir, "user.s3.upload.bucket", &b).ok() ||
      !vol_->GetXattr(ctx_, *dir, "user.s3.upload.key", &k).ok() || b != bucket_ || k != key_) {
    Error(r, "NoSuchUpload",
          "The specified multipart upload does not exist. The upload ID may be invalid, or the "
          "upload may have been aborted or completed.");
    return false;
  }
  return true;
}

void S3Handler::CreateUpload(Response* r) {
  if (key_.back() == '/') return Error(r, "InvalidArgument", "a key ending in '/' is a directory");
  const std::string id = RandomHex(16);
  const std::string dir = std::string(kUploadsDir) + "/" + id;
  Status s = vol_->Mkdir(ctx_, dir, 0700);
  if (s.ok()) {
    std::shared_ptr<lib::File> f;
    s = vol_->OpenFile(ctx_, dir + "/" + std::string(kUploadData), O_WRONLY | O_CREAT | O_EXCL,
                       0600, &f);
    if (s.ok()) s = f->Close();
  }
  auto meta = MetadataFromRequest();
  meta.emplace_back("user.s3.upload.bucket", bucket_);
  meta.emplace_back("user.s3.upload.key", key_);
  for (const auto& [k, v] : meta) {
    if (!s.ok()) break;
    s = vol_->SetXattr(ctx_, dir, k, v, 0);
  }
  if (!s.ok()) {
    (void)RemoveTree(dir);
    return VolumeError(r, s, "creating the upload");
  }
  Xml(r, "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
             Tag("Bucket", bucket_) + Tag("Key", key_) + Tag("UploadId", id) +
             "</InitiateMultipartUploadResult>");
}

std::string PartName(uint64_t n) {
  char buf[16];
  snprintf(buf, sizeof buf, "%05u", static_cast<unsigned>(n));
  return buf;
}

// Starts writing an UploadPart's body straight into the upload's data file when its declared
// length fits the upload's stride (the first part at least min_part_size long sets it). *started
// stays false when the part goes the ordinary way (a file of its own): unknown length, longer than
// the stride, the same part being uploaded by another request right now. False: *r is the error.
bool S3Handler::StartPlacedPart(Response* r, bool* started) {
  *started = false;
  std::string dir;
  if (!UploadDir(r, &dir)) return false;
  uint64_t n = 0, len = 0, stride = 0;
  if (!ParseUint(Query("partNumber"), &n) || n < 1) return true;
  const std::string cl = req_.Header(
      auth_.mode == PayloadMode::kStreaming ? "x-amz-decoded-content-length" : "content-length");
  if (cl.empty() || !ParseUint(cl, &len) || len == 0) return true;
  std::string v;
  Status s = vol_->GetXattr(ctx_, dir, kXattrStride, &v);
  if (!s.ok()) {
    if (len < gw_->options().min_part_size) return true;
    s = vol_->SetXattr(ctx_, dir, kXattrStride, std::to_string(len), meta::kXattrCreate);
    if (s.Is(EEXIST))
      s = vol_->GetXattr(ctx_, dir, kXattrStride, &v);  // another part won
    else if (s.ok())
      v = std::to_string(len);
    if (!s.ok()) return true;
  }
  if (!ParseUint(v, &stride) || stride == 0 || len > stride) return true;
  const std::string claim = Query("uploadId") + "/" + PartName(n);
  if (!gw_->ClaimPart(claim)) return true;
  place_upload_ = claim;
  // The part's old record goes first: from now on its region holds other bytes.
  s = vol_->Unlink(ctx_, dir + "/" + PartName(n));
  if (s.ok() || s.IsNotFound()) {
    s = vol_->OpenFile(ctx_, dir + "/" + std::string(kUploadData), O_WRONLY, 0, &tmp_);
  }
  if (!s.ok()) {
    VolumeError(r, s, "storing the part");
    return false;
  }
  placed_ = true;
  place_off_ = (n - 1) * stride;
  place_len_ = len;
  place_part_ = n;
  body_ = Body::kFile;
  *started = true;
  return true;
}

// The placed part's bytes are in: records it (an empty file with the ETag and the region).
bool S3Handler::FinishPlacedPart(Response* r) {
  Status s = tmp_->Close();
  tmp_.reset();
  placed_ = false;
  if (!s.ok()) {
    VolumeError(r, s, "storing the part");
    return false;
  }
  if (place_written_ != place_len_) {
    Error(r, "IncompleteBody",
          "You did not provide the number of bytes specified by the Content-Length HTTP header.");
    return false;
  }
  std::string dir = std::string(kUploadsDir) + "/" + Query("uploadId");
  if (!StartTempFile(r)) return false;
  Attr a;
  const std::string region = std::to_string(place_off_) + " " + std::to_string(place_len_);
  if (!SealTemp(r, md5_hex_, {{std::string(kXattrPlaced), region}}, &a)) return false;
  return Publish(r, dir + "/" + PartName(place_part_));
}

void S3Handler::UploadPart(Response* r, bool copy) {
  std::string dir;
  if (!UploadDir(r, &dir)) return;
  uint64_t n = 0;
  if (!ParseUint(Query("partNumber"), &n) || n < 1 || n > 10000) {
    return Error(r, "InvalidArgument", "Part number must be an integer between 1 and 10000");
  }
  if (copy) {
    std::string src;
    Attr sa;
    if (!CopySource(r, &src, &sa)) return;
    uint64_t off = 0, len = sa.length;
    std::string range = req_.Header("x-amz-copy-source-range");
    if (!range.empty()) {
      uint64_t a1 = 0, b1 = 0;
      size_t dash = range.find('-');
      if (range.rfind("bytes=", 0) != 0 || dash == std::string::npos ||
          !ParseUint(range.substr(6, dash - 6), &a1) || !ParseUint(range.substr(dash + 1), &b1) ||
          b1 < a1 || b1 >= sa.length) {
        return Error(r, "InvalidRange", "The requested range is not satisfiable");
      }
      off = a1;
      len = b1 - a1 + 1;
    }
    if (!CopyRange(r, src, off, len)) return;
  }
  if (placed_) {
    if (!FinishPlacedPart(r)) return;
    Empty(r, 200);
    r->SetHeader("ETag", "\"" + md5_hex_ + "\"");
    return;
  }
  Attr a;
  if (!SealTemp(r, md5_hex_, {}, &a)) return;
  if (!Publish(r, dir + "/" + PartName(n))) return;
  if (copy) {
    Xml(r, "<CopyPartResult>" + Tag("LastModified", Iso8601(a.mtime, a.mtimensec)) +
               Tag("ETag", "\"" + md5_hex_ + "\"") + "</CopyPartResult>");
  } else {
    Empty(r, 200);
    r->SetHeader("ETag", "\"" + md5_hex_ + "\"");
  }
}

bool S3Handler::RemoveTree(const std::string& path) {
  std::unique_ptr<lib::DirStream> d;
  if (vol_->OpenDir(ctx_, path, &d).ok()) {
    std::vector<std::string> names;
    while (true) {
      lib::DirEntry e;
      bool end = false;
      if (!d->Next(&e, &end).ok() || end) break;
      names.push_back(e.name);
    }
    (void)d->Close();
    for (const auto& n : names) (void)vol_->Unlink(ctx_, path + "/" + n);
  }
  return vol_->Rmdir(ctx_, path).ok();
}

void S3Handler::CompleteUpload(Response* r) {
  std::string dir;
  if (!UploadDir(r, &dir)) return;
  pugi::xml_document doc;
  if (!doc.load_buffer(buffer_.data(), buffer_.size())) {
    return Error(r, "MalformedXML",
                 "The XML you provided was not well-formed or did not validate against our "
                 "published schema.");
  }
  pugi::xml_node root = doc.child("CompleteMultipartUpload");
  if (!root) return Error(r, "MalformedXML", "missing <CompleteMultipartUpload>");
  struct Part {
    uint64_t number;
    std::string etag;
    uint64_t size;
    std::string path;  // where the bytes are: the part file, or the data file at `off`
    uint64_t off = 0;
    bool placed = false;
  };
  std::vector<Part> parts;
  for (pugi::xml_node p : root.children("Part")) {
    Part part{0, Unquote(p.child_value("ETag")), 0, {}, 0, false};
    if (!ParseUint(p.child_value("PartNumber"), &part.number) || part.number < 1 ||
        part.number > 10000) {
      return Error(r, "MalformedXML", "bad PartNumber");
    }
    if (!parts.empty() && part.number <= parts.back().number) {
      return Error(r, "InvalidPartOrder",
                   "The list of parts was not in ascending order. The parts list must be "
                   "specified in order by part number.");
    }
    parts.push_back(part);
  }
  if (parts.empty()) {
    return Error(r, "MalformedXML", "You must specify at least one part");
  }
  std::string md5s;
  for (size_t i = 0; i < parts.size(); ++i) {
    Part& p = parts[i];
    const std::string path = dir + "/" + PartName(p.number);
    Attr a;
    meta::Ino ino = 0;
    std::string raw;
    if (!vol_->Lstat(ctx_, path, &a, &ino).ok() || EtagOf(path, a, ino) != p.etag ||
        !HexToRaw(p.etag, &raw)) {
      return Error(r, "InvalidPart",
                   "One or more of the specified parts could not be found. The part may not "
                   "have been uploaded, or the specified entity tag may not match the part's "
                   "entity tag.");
    }
    p.placed = PlacedRegion(path, &p.off, &p.size);
    if (p.placed) {
      p.path = dir + "/" + std::string(kUploadData);
    } else {
      p.size = a.length;
      p.path = path;
    }
    if (i + 1 < parts.size() && p.size < gw_->options().min_part_size) {
      return Error(r, "EntityTooSmall",
                   "Your proposed upload is smaller than the minimum allowed object size.");
    }
    md5s += raw;
  }
  // When parts 1..K are all there and 1..K-1 sit in the data file back to back, the data file is
  // the object: the last part is copied in if it is a file of its own (at most one part's bytes),
  // the file is cut after it (dropping unlisted parts placed beyond) and renamed in. Otherwise
  // the parts are copied into a new file. Not while a part of this upload is being written.
  uint64_t stride = 0;
  std::string sv;
  bool in_place = vol_->GetXattr(ctx_, dir, kXattrStride, &sv).ok() && ParseUint(sv, &stride) &&
                  stride > 0 && !gw_->UploadBusy(Query("uploadId") + "/");
  for (size_t i = 0; in_place && i < parts.size(); ++i) {
    const Part& p = parts[i];
    const bool last = i + 1 == parts.size();
    in_place = p.number == i + 1 && (!p.placed || p.off == i * stride) &&
               (last ? p.size <= stride : p.placed && p.size == stride);
  }
  std::vector<Part> copies;  // what to copy into tmp_, in order
  uint64_t out_off = 0;
  Status s;
  if (in_place) {
    tmp_path_ = dir + "/" + std::string(kUploadData);
    s = vol_->OpenFile(ctx_, tmp_path_, O_WRONLY, 0, &tmp_);
    if (!s.ok()) {
      tmp_path_.clear();
      return VolumeError(r, s, "assembling the parts");
    }
    body_ = Body::kFile;
    out_off = (parts.size() - 1) * stride;
    if (!parts.back().placed) copies.push_back(parts.back());
  } else {
    if (!StartTempFile(r)) return;
    copies = parts;
  }
  std::string buf(kCopyBuffer, '\0');
  for (const Part& p : copies) {
    std::shared_ptr<lib::File> in;
    s = vol_->OpenFile(ctx_, p.path, O_RDONLY, 0, &in);
    uint64_t done = 0;
    while (s.ok() && done < p.size) {
      uint64_t n = 0;
      s = in->Pread(buf.data(), std::min<uint64_t>(buf.size(), p.size - done), p.off + done, &n);
      if (s.ok() && n == 0) s = Status::IOError("part shrank");
      uint64_t w = 0;
      if (s.ok()) s = tmp_->Pwrite(buf.data(), n, out_off, &w);
      done += n;
      out_off += n;
    }
    if (in) (void)in->Close();
    if (!s.ok()) break;
  }
  if (s.ok() && in_place) s = tmp_->Ftruncate((parts.size() - 1) * stride + parts.back().size);
  if (!s.ok()) {
    if (in_place) {
      (void)tmp_->Close();
      tmp_.reset();
      tmp_path_.clear();  // the data file stays the upload's
    } else {
      Discard();
    }
    return VolumeError(r, s, "assembling the parts");
  }
  Digest md5(true);
  md5.Update(md5s);
  const std::string etag = md5.FinishHex() + "-" + std::to_string(parts.size());
  Attr a;
  if (!SealTemp(r, etag, MetadataOf(dir), &a)) return;
  if (!Publish(r, ObjectPath(key_))) return;
  (void)RemoveTree(dir);
  Xml(r, "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
             Tag("Location", "/" + bucket_ + "/" + key_) + Tag("Bucket", bucket_) +
             Tag("Key", key_) + Tag("ETag", "\"" + etag + "\"") +
             "</CompleteMultipartUploadResult>");
}

void S3Handler::AbortUpload(Response* r) {
  std::string dir;
  if (!UploadDir(r, &dir)) return;
  if (!RemoveTree(dir)) return Error(r, "InternalError", "cannot remove the upload");
  Empty(r, 204);
}

void S3Handler::ListParts(Response* r) {
  std::string dir;
  if (!UploadDir(r, &dir)) return;
  uint64_t marker = 0, max = 1000;
  if (Has("part-number-marker") && !ParseUint(Query("part-number-marker"), &marker)) {
    return Error(r, "InvalidArgument", "bad part-number-marker");
  }
  if (Has("max-parts") && !ParseUint(Query("max-parts"), &max)) {
    return Error(r, "InvalidArgument", "bad max-parts");
  }
  max = std::min<uint64_t>(max, 1000);
  std::unique_ptr<lib::DirStream> d;
  Status s = vol_->OpenDir(ctx_, dir, &d);
  if (!s.ok()) return VolumeError(r, s, "listing parts");
  std::vector<std::pair<uint64_t, lib::DirEntry>> parts;
  while (true) {
    lib::DirEntry e;
    bool end = false;
    s = d->Next(&e, &end);
    if (!s.ok()) return VolumeError(r, s, "listing parts");
    if (end) break;
    uint64_t n = 0;
    if (e.name.size() == 5 && ParseUint(e.name, &n) && n > marker) parts.emplace_back(n, e);
  }
  std::sort(parts.begin(), parts.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const bool truncated = parts.size() > max;
  if (truncated) parts.resize(max);
  std::string x =
      "<ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
      Tag("Bucket", bucket_) + Tag("Key", key_) + Tag("UploadId", Query("uploadId")) +
      Tag("PartNumberMarker", std::to_string(marker)) + Tag("MaxParts", std::to_string(max)) +
      Tag("IsTruncated", truncated ? "true" : "false") + Tag("StorageClass", "STANDARD");
  if (truncated && !parts.empty())
    x += Tag("NextPartNumberMarker", std::to_string(parts.back().first));
  for (const auto& [n, e] : parts) {
    const std::string path = dir + "/" + e.name;
    x += "<Part>" + Tag("PartNumber", std::to_string(n)) +
         Tag("LastModified", Iso8601(e.attr.mtime, e.attr.mtimensec)) +
         Tag("ETag", "\"" + EtagOf(path, e.attr, e.inode) + "\"") +
         Tag("Size", std::to_string(PartSize(path, e.attr))) + "</Part>";
  }
  x += "</ListPartsResult>";
  Xml(r, x);
}

void S3Handler::ListUploads(Response* r) {
  const std::string prefix = Query("prefix");
  std::unique_ptr<lib::DirStream> d;
  Status s = vol_->OpenDir(ctx_, kUploadsDir, &d);
  if (!s.ok()) return VolumeError(r, s, "listing uploads");
  struct Up {
    std::string key, id;
    Attr attr;
  };
  std::vector<Up> ups;
  while (true) {
    lib::DirEntry e;
    bool end = false;
    s = d->Next(&e, &end);
    if (!s.ok()) return VolumeError(r, s, "listing uploads");
    if (end) break;
    const std::string dir = std::string(kUploadsDir) + "/" + e.name;
    std::string b, k;
    if (!vol_->GetXattr(ctx_, dir, "user.s3.upload.bucket", &b).ok() || b != bucket_) continue;
    if (!vol_->GetXattr(ctx_, dir, "user.s3.upload.key", &k).ok()) continue;
    if (k.rfind(prefix, 0) != 0) continue;
    ups.push_back({k, e.name, e.attr});
  }
  std::sort(ups.begin(), ups.end(), [](const Up& a, const Up& b) {
    return a.key != b.key ? a.key < b.key : a.attr.ctime < b.attr.ctime;
  });
  std::string x = "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" +
                  Tag("Bucket", bucket_) + Tag("Prefix", prefix) + Tag("KeyMarker", "") +
                  Tag("UploadIdMarker", "") + Tag("MaxUploads", "1000") +
                  Tag("IsTruncated", "false");
  for (const auto& u : ups) {
    x += "<Upload>" + Tag("Key", u.key) + Tag("UploadId", u.id) +
         Tag("Initiated", Iso8601(u.attr.ctime, u.attr.ctimensec)) +
         Tag("StorageClass", "STANDARD") + "</Upload>";
  }
  x += "</ListMultipartUploadsResult>";
  Xml(r, x);
}

}  // namespace

std::unique_ptr<http::RequestHandler> Gateway::NewHandler(const http::Request& req) {
  return std::make_unique<S3Handler>(this, req);
}

}  // namespace jfs::server::s3
