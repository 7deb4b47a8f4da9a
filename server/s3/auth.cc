#include "server/s3/auth.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

#include "object/sigv4.h"

namespace jfs::server::s3 {

namespace sigv4 = jfs::object::sigv4;

Digest::Digest(bool md5) : ctx_(EVP_MD_CTX_new()), md5_(md5) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), md5 ? EVP_md5() : EVP_sha256(), nullptr);
}
Digest::~Digest() {
  EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_));
}
void Digest::Update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}
std::string Digest::FinishRaw() {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  auto* c = static_cast<EVP_MD_CTX*>(ctx_);
  EVP_DigestFinal_ex(c, buf, &n);
  EVP_DigestInit_ex(c, md5_ ? EVP_md5() : EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(buf), n);
}
std::string Digest::FinishHex() {
  return sigv4::Hex(FinishRaw());
}

namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Constant-time comparison: the time taken does not reveal how much of a signature was right.
bool SameSecret(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char d = 0;
  for (size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
  return d == 0;
}

bool ParseAmzDate(std::string_view s, int64_t* t) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return false;
  std::string str(s);
  struct tm tm {};
  const char* end = strptime(str.c_str(), "%Y%m%dT%H%M%SZ", &tm);
  if (end == nullptr || *end != '\0') return false;
  *t = static_cast<int64_t>(timegm(&tm));
  return true;
}

bool IsHex64(std::string_view s) {
  if (s.size() != 64) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

AuthResult Refuse(std::string code, std::string message) {
  AuthResult r;
  r.error_code = std::move(code);
  r.error_message = std::move(message);
  return r;
}

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.emplace_back(s.substr(start, p == std::string_view::npos ? s.npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return std::string(s.substr(b, e - b));
}

struct Parsed {
  std::string access_key, date8, region, service, signed_headers, signature;
};

// "AK/20130524/us-east-1/s3/aws4_request"
bool ParseCredential(std::string_view cred, Parsed* p) {
  auto parts = Split(cred, '/');
  if (parts.size() != 5 || parts[4] != "aws4_request") return false;
  p->access_key = parts[0];
  p->date8 = parts[1];
  p->region = parts[2];
  p->service = parts[3];
  return !p->access_key.empty() && p->date8.size() == 8;
}

}  // namespace

AuthResult Authenticate(const http::Request& req, std::string_view path,
                        const std::vector<std::pair<std::string, std::string>>& query,
                        const Credentials& creds, int64_t now) {
  Parsed p;
  std::string amz_date;
  bool presigned = false;
  std::string content_sha = req.Header("x-amz-content-sha256");
  const std::string auth = req.Header("authorization");
  std::vector<std::pair<std::string, std::string>> signed_query;
  int64_t expires = 0;
  if (!auth.empty()) {
    if (auth.rfind(std::string(kAlgorithm) + " ", 0) != 0) {
      if (auth.rfind("AWS ", 0) == 0) {
        return Refuse("AccessDenied", "Signature Version 2 is not supported; use SigV4");
      }
      return Refuse("AuthorizationHeaderMalformed", "unsupported authorization scheme");
    }
    std::string_view rest = std::string_view(auth).substr(kAlgorithm.size() + 1);
    for (const std::string& item : Split(rest, ',')) {
      std::string kv = Trim(item);
      size_t eq = kv.find('=');
      if (eq == std::string::npos) continue;
      std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      if (k == "Credential") {
        if (!ParseCredential(v, &p)) {
          return Refuse("AuthorizationHeaderMalformed", "malformed Credential");
        }
      } else if (k == "SignedHeaders") {
        p.signed_headers = v;
      } else if (k == "Signature") {
        p.signature = v;
      }
    }
    if (p.access_key.empty() || p.signed_headers.empty() || p.signature.empty()) {
      return Refuse("AuthorizationHeaderMalformed", "the Authorization header is incomplete");
    }
    amz_date = req.Header("x-amz-date");
    if (amz_date.empty()) {
      // The Date header may stand in for x-amz-date (RFC 1123 form).
      int64_t t = 0;
      if (!http::ParseHttpDate(req.Header("date"), &t)) {
        return Refuse("AccessDenied", "the request has no valid x-amz-date or Date header");
      }
      char buf[20];
      time_t tt = static_cast<time_t>(t);
      struct tm tm {};
      gmtime_r(&tt, &tm);
      strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
      amz_date = buf;
    }
    if (content_sha.empty()) {
      return Refuse("InvalidRequest", "missing x-amz-content-sha256");
    }
    signed_query = query;
  } else {
    std::string algo;
    for (const auto& [k, v] : query) {
      if (k == "X-Amz-Algorithm") algo = v;
    }
    if (algo.empty()) {
      for (const auto& kv : query) {
        if (kv.first == "AWSAccessKeyId") {
          return Refuse("AccessDenied", "Signature Version 2 is not supported; use SigV4");
        }
      }
      return Refuse("AccessDenied", "anonymous requests are not allowed");
    }
    if (algo != kAlgorithm) return Refuse("AuthorizationQueryParametersError", "bad algorithm");
    presigned = true;
    std::string expires_s;
    for (const auto& [k, v] : query) {
      if (k == "X-Amz-Credential") {
        if (!ParseCredential(v, &p)) {
          return Refuse("AuthorizationQueryParametersError", "malformed X-Amz-Credential");
        }
      } else if (k == "X-Amz-SignedHeaders") {
        p.signed_headers = v;
      } else if (k == "X-Amz-Signature") {
        p.signature = v;
        continue;  // not part of what was signed
      } else if (k == "X-Amz-Date") {
        amz_date = v;
      } else if (k == "X-Amz-Expires") {
        expires_s = v;
      }
      signed_query.emplace_back(k, v);
    }
    if (p.access_key.empty() || p.signed_headers.empty() || p.signature.empty() ||
        amz_date.empty() || expires_s.empty() || expires_s.size() > 7 ||
        !std::all_of(expires_s.begin(), expires_s.end(),
                     [](char c) { return c >= '0' && c <= '9'; })) {
      return Refuse("AuthorizationQueryParametersError", "incomplete presigned URL");
    }
    expires = std::strtoll(expires_s.c_str(), nullptr, 10);
    if (expires < 1 || expires > 604800) {
      return Refuse("AuthorizationQueryParametersError",
                    "X-Amz-Expires must be between 1 and 604800 seconds");
    }
    content_sha = "UNSIGNED-PAYLOAD";
  }

  int64_t t = 0;
  if (!ParseAmzDate(amz_date, &t)) return Refuse("AccessDenied", "malformed X-Amz-Date");
  if (p.date8 != amz_date.substr(0, 8)) {
    return Refuse("SignatureDoesNotMatch", "the credential scope date is not the request date");
  }
  if (p.service != "s3") return Refuse("SignatureDoesNotMatch", "the service must be s3");
  if (presigned) {
    if (now > t + expires) return Refuse("AccessDenied", "Request has expired");
    if (t > now + 15 * 60) return Refuse("RequestTimeTooSkewed", "the request is in the future");
  } else if (t > now + 15 * 60 || t < now - 15 * 60) {
    return Refuse("RequestTimeTooSkewed",
                  "The difference between the request time and the server's time is too large");
  }
  if (!SameSecret(p.access_key, creds.access_key)) {
    return Refuse("InvalidAccessKeyId",
                  "The AWS Access Key Id you provided does not exist in our records.");
  }

  sigv4::Request r;
  r.method = req.method;
  r.canonical_uri = sigv4::UriEncode(path, true);
  r.query = signed_query;
  for (const std::string& name : Split(p.signed_headers, ';')) {
    if (name.empty()) return Refuse("AuthorizationHeaderMalformed", "empty signed header name");
    if (name != "host" && !req.HasHeader(name)) {
      return Refuse("SignatureDoesNotMatch", "signed header '" + name + "' is missing");
    }
    r.headers.emplace_back(name, req.Header(name));
  }
  if (std::find(r.headers.begin(), r.headers.end(),
                std::pair<std::string, std::string>("host", req.Header("host"))) ==
      r.headers.end()) {
    return Refuse("SignatureDoesNotMatch", "the host header must be signed");
  }
  r.payload_hash = content_sha;
  std::string sts = sigv4::StringToSign(r, amz_date, p.region, p.service);
  std::string key = sigv4::SigningKey(creds.secret_key, p.date8, p.region, p.service);
  std::string want = sigv4::Hex(sigv4::HmacSha256(key, sts));
  if (!SameSecret(want, p.signature)) {
    return Refuse("SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you "
                  "provided. Check your key and signing method.");
  }

  AuthResult ok;
  if (content_sha == "UNSIGNED-PAYLOAD") {
    ok.mode = PayloadMode::kUnsigned;
  } else if (content_sha == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
    ok.mode = PayloadMode::kStreaming;
    ok.seed_signature = want;
    ok.signing_key = key;
    ok.amz_date = amz_date;
    ok.scope = p.date8 + "/" + p.region + "/" + p.service + "/aws4_request";
  } else if (IsHex64(content_sha)) {
    ok.mode = PayloadMode::kSigned;
    ok.payload_sha256 = content_sha;
  } else {
    return Refuse("InvalidArgument", "unsupported x-amz-content-sha256 value");
  }
  return ok;
}

ChunkDecoder::ChunkDecoder(const AuthResult& auth, Sink sink)
    : signing_key_(auth.signing_key),
      amz_date_(auth.amz_date),
      scope_(auth.scope),
      prev_sig_(auth.seed_signature),
      sink_(std::move(sink)),
      digest_(std::make_unique<Digest>(false)) {}

ChunkDecoder::~ChunkDecoder() = default;

bool ChunkDecoder::Fail(std::string code) {
  state_ = State::kFailed;
  if (error_code_.empty()) error_code_ = std::move(code);
  return false;
}

bool ChunkDecoder::ParseHeader() {
  // "<hex>;chunk-signature=<64 hex>"
  size_t semi = line_.find(';');
  if (semi == 0 || semi == std::string::npos || semi > 16) return Fail("IncompleteBody");
  uint64_t size = 0;
  for (size_t i = 0; i < semi; ++i) {
    int v = -1;
    char c = line_[i];
    if (c >= '0' && c <= '9') v = c - '0';
    if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
    if (v < 0) return Fail("IncompleteBody");
    size = size * 16 + static_cast<uint64_t>(v);
  }
  constexpr std::string_view kSig = "chunk-signature=";
  std::string_view rest = std::string_view(line_).substr(semi + 1);
  if (rest.substr(0, kSig.size()) != kSig) return Fail("IncompleteBody");
  chunk_sig_ = std::string(rest.substr(kSig.size()));
  if (!IsHex64(chunk_sig_)) return Fail("SignatureDoesNotMatch");
  chunk_size_ = remaining_ = size;
  return true;
}

bool ChunkDecoder::CheckChunk() {
  std::string sts = "AWS4-HMAC-SHA256-PAYLOAD\n" + amz_date_ + "\n" + scope_ + "\n" + prev_sig_ +
                    "\n" + std::string(kEmptySha256) + "\n" + digest_->FinishHex();
  std::string want = sigv4::Hex(sigv4::HmacSha256(signing_key_, sts));
  if (!SameSecret(want, chunk_sig_)) return Fail("SignatureDoesNotMatch");
  prev_sig_ = want;
  return true;
}

bool ChunkDecoder::Feed(std::string_view data) {
  while (!data.empty()) {
    switch (state_) {
      case State::kFailed:
        return false;
      case State::kDone:
        // Trailing CRLF after the final chunk is tolerated; anything else is not.
        for (char c : data) {
          if (c != '\r' && c != '\n') return Fail("IncompleteBody");
        }
        return true;
      case State::kHeader: {
        size_t nl = data.find('\n');
        std::string_view piece = data.substr(0, nl == std::string_view::npos ? data.size() : nl);
        if (line_.size() + piece.size() > 4096) return Fail("IncompleteBody");
        line_.append(piece);
        if (nl == std::string_view::npos) return true;
        data.remove_prefix(nl + 1);
        if (line_.empty() || line_.back() != '\r') return Fail("IncompleteBody");
        line_.pop_back();
        if (!ParseHeader()) return false;
        line_.clear();
        if (chunk_size_ == 0) {
          if (!CheckChunk()) return false;
          state_ = State::kDone;
        } else {
          state_ = State::kData;
        }
        break;
      }
      case State::kData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
        std::string_view part = data.substr(0, n);
        digest_->Update(part);
        if (!sink_(part)) return Fail("InternalError");
        decoded_ += n;
        remaining_ -= n;
        data.remove_prefix(n);
        if (remaining_ == 0) state_ = State::kDataCrLf;
        break;
      }
      case State::kDataCrLf: {
        line_.push_back(data.front());
        data.remove_prefix(1);
        if (line_.size() == 2) {
          if (line_ != "\r\n") return Fail("IncompleteBody");
          line_.clear();
          if (!CheckChunk()) return false;
          state_ = State::kHeader;
        }
        break;
      }
    }
  }
  return state_ != State::kFailed;
}

}  // namespace jfs::server::s3
