#include "server/webdav/webdav.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <deque>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <sstream>

#include "server/common.h"

namespace jfs::server::webdav {

namespace {

using http::Request;
using http::Response;
using lib::Volume;
using meta::Attr;

constexpr std::string_view kWorkDir = "/.jfs-webdav";
constexpr std::string_view kTmpDir = "/.jfs-webdav/tmp";
constexpr std::string_view kXattrPrefix = "user.dav.";
constexpr size_t kCopyBuffer = 4u << 20;
constexpr std::string_view kDavNs = "DAV:";

std::string StatusLine(int code) {
  switch (code) {
    case 200:
      return "HTTP/1.1 200 OK";
    case 201:
      return "HTTP/1.1 201 Created";
    case 204:
      return "HTTP/1.1 204 No Content";
    case 403:
      return "HTTP/1.1 403 Forbidden";
    case 404:
      return "HTTP/1.1 404 Not Found";
    case 409:
      return "HTTP/1.1 409 Conflict";
    case 412:
      return "HTTP/1.1 412 Precondition Failed";
    case 423:
      return "HTTP/1.1 423 Locked";
    case 424:
      return "HTTP/1.1 424 Failed Dependency";
    case 507:
      return "HTTP/1.1 507 Insufficient Storage";
    default:
      return "HTTP/1.1 " + std::to_string(code) + " Error";
  }
}

int HttpOf(const Status& s) {
  switch (s.code()) {
    case ENOENT:
      return 404;
    case EEXIST:
      return 405;
    case ENOTDIR:
    case ENOTEMPTY:
    case EISDIR:
      return 409;
    case EACCES:
    case EPERM:
    case EROFS:
      return 403;
    case ENOSPC:
    case EDQUOT:
      return 507;
    case ENAMETOOLONG:
    case EINVAL:
      return 400;
    default:
      return 500;
  }
}

bool IsDir(const Attr& a) {
  return a.typ == meta::kTypeDirectory;
}

std::string Etag(const Attr& a, meta::Ino ino) {
  char buf[96];
  snprintf(buf, sizeof buf, "\"%llx-%llx-%llx\"", static_cast<unsigned long long>(ino),
           static_cast<unsigned long long>(a.mtime * 1000000000ll + a.mtimensec),
           static_cast<unsigned long long>(a.length));
  return buf;
}

std::string ContentTypeOf(std::string_view path) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html"},        {".htm", "text/html"},       {".txt", "text/plain"},
      {".css", "text/css"},          {".js", "text/javascript"},  {".json", "application/json"},
      {".xml", "application/xml"},   {".png", "image/png"},       {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},       {".gif", "image/gif"},       {".svg", "image/svg+xml"},
      {".pdf", "application/pdf"},   {".zip", "application/zip"}, {".gz", "application/gzip"},
      {".tar", "application/x-tar"}, {".mp4", "video/mp4"},       {".mp3", "audio/mpeg"},
      {".md", "text/markdown"},      {".csv", "text/csv"},        {".wasm", "application/wasm"},
  };
  size_t slash = path.rfind('/');
  std::string_view base = slash == std::string_view::npos ? path : path.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot != std::string_view::npos) {
    std::string ext(base.substr(dot));
    for (char& c : ext) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
    for (const auto& [e, t] : kTypes) {
      if (e == ext) return std::string(t);
    }
  }
  return "application/octet-stream";
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string out(dir);
  if (out != "/") out += "/";
  out += name;
  return out;
}

std::string Href(std::string_view path, bool dir) {
  std::string h = EncodeHref(path);
  if (dir && h.back() != '/') h += "/";
  return XmlEscape(h);
}

// ---- XML namespaces over pugixml (which has none) ----

// The namespace bound to `prefix` ("" = default) at `node`. False when undeclared.
bool LookupNs(pugi::xml_node node, std::string_view prefix, std::string* ns) {
  std::string attr = prefix.empty() ? "xmlns" : "xmlns:" + std::string(prefix);
  for (pugi::xml_node n = node; n && n.type() == pugi::node_element; n = n.parent()) {
    pugi::xml_attribute a = n.attribute(attr.c_str());
    if (a) {
      *ns = a.value();
      return true;
    }
  }
  if (prefix.empty()) {
    ns->clear();
    return true;
  }
  if (prefix == "xml") {
    *ns = "http://www.w3.org/XML/1998/namespace";
    return true;
  }
  return false;
}

bool NameOf(pugi::xml_node n, std::string* ns, std::string* local) {
  std::string_view full = n.name();
  size_t colon = full.find(':');
  std::string_view prefix = colon == std::string_view::npos ? "" : full.substr(0, colon);
  *local = std::string(colon == std::string_view::npos ? full : full.substr(colon + 1));
  return LookupNs(n, prefix, ns);
}

bool Is(pugi::xml_node n, std::string_view local) {
  std::string ns, l;
  return NameOf(n, &ns, &l) && ns == kDavNs && l == local;
}

// Checks every element and attribute prefix of the document is declared and no prefix is bound
// to the empty namespace (XML Namespaces 1.0 §2.2): a malformed body is a 400.
bool NamespacesValid(pugi::xml_node n) {
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    for (pugi::xml_attribute a = c.first_attribute(); a; a = a.next_attribute()) {
      std::string_view an = a.name();
      if (an.substr(0, 6) == "xmlns:" && std::string_view(a.value()).empty()) return false;
      size_t colon = an.find(':');
      if (colon != std::string_view::npos && an.substr(0, colon) != "xmlns") {
        std::string ns;
        if (!LookupNs(c, an.substr(0, colon), &ns)) return false;
      }
    }
    std::string ns, local;
    if (!NameOf(c, &ns, &local) || local.empty()) return false;
    if (!NamespacesValid(c)) return false;
  }
  return true;
}

bool ParseXml(const std::string& body, pugi::xml_document* doc) {
  pugi::xml_parse_result r = doc->load_buffer(
      body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata, pugi::encoding_utf8);
  return r && doc->document_element() && NamespacesValid(*doc);
}

// The element `n` as self-contained XML: every namespace in scope at `n` is declared on it.
std::string SerializeSelfContained(pugi::xml_node n) {
  pugi::xml_document d;
  pugi::xml_node copy = d.append_copy(n);
  std::set<std::string> declared;
  for (pugi::xml_attribute a = copy.first_attribute(); a; a = a.next_attribute()) {
    declared.insert(a.name());
  }
  for (pugi::xml_node p = n.parent(); p && p.type() == pugi::node_element; p = p.parent()) {
    for (pugi::xml_attribute a = p.first_attribute(); a; a = a.next_attribute()) {
      std::string_view an = a.name();
      if (an != "xmlns" && an.substr(0, 6) != "xmlns:") continue;
      if (declared.insert(std::string(an)).second) copy.append_attribute(a.name()) = a.value();
    }
  }
  std::ostringstream out;
  copy.print(out, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
  return out.str();
}

// An element {ns}local with no content, for propname lists and missing properties.
std::string EmptyElement(std::string_view ns, std::string_view local) {
  if (ns == kDavNs) return "<D:" + std::string(local) + "/>";
  if (ns.empty()) return "<" + std::string(local) + " xmlns=\"\"/>";
  return "<X:" + std::string(local) + " xmlns:X=\"" + XmlEscape(ns) + "\"/>";
}

constexpr std::string_view kMultiStatusHead =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:multistatus xmlns:D=\"DAV:\">";

// ---- a request body read into memory ----

struct Resource {
  std::string path;
  Attr attr;
  meta::Ino ino = 0;
};

struct PropName {
  std::string ns, local;
  bool operator<(const PropName& o) const { return std::tie(ns, local) < std::tie(o.ns, o.local); }
};

class DavHandler : public http::RequestHandler {
 public:
  DavHandler(WebDav* dav, const Request& req) : dav_(dav), vol_(dav->volume()), req_(req) {}
  ~DavHandler() override { Discard(); }

  bool OnHeaders(Response* resp) override;
  bool OnBody(std::string_view data) override;
  void OnEnd(Response* resp) override;
  void OnAbort() override { Discard(); }

 private:
  // ---- helpers ----
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
  static void Plain(Response* r, int code, std::string_view text = {}) {
    r->status = code;
    r->body = std::string(text);
    if (!text.empty()) r->SetHeader("Content-Type", "text/plain; charset=utf-8");
  }
  static void Xml(Response* r, int code, std::string body) {
    r->status = code;
    r->body = std::move(body);
    r->SetHeader("Content-Type", "application/xml; charset=utf-8");
  }
  static void DavError(Response* r, int code, std::string_view condition,
                       std::string_view inner = {}) {
    Xml(r, code,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:error xmlns:D=\"DAV:\"><D:" +
            std::string(condition) +
            (inner.empty() ? "/>"
                           : ">" + std::string(inner) + "</D:" + std::string(condition) + ">") +
            "</D:error>");
  }
  bool Hidden(std::string_view p) const { return PathWithin(p, kWorkDir); }
  bool StatPath(const std::string& p, Resource* r) {
    r->path = p;
    return vol_->Stat(ctx_, p, &r->attr, &r->ino).ok();
  }
  int64_t Now() const { return static_cast<int64_t>(time(nullptr)); }
  // Decodes a Destination header into a volume path. 0 or the HTTP error.
  int DestinationPath(std::string* out);
  bool ParseIf();
  bool EvalIf();
  // 0 when the request may change `path` (Depth-infinity: its descendants too; membership: the
  // parent's member list), else 423 with the response filled.
  int CheckLocks(const std::string& path, bool infinite, bool membership, Response* resp);
  int Preconditions(const Resource* r, bool exists, bool read, Response* resp);
  std::string LockDiscovery(const std::string& path);
  std::string ActiveLock(const Lock& l);
  // Live and dead properties of one resource into `out` (one D:response).
  void PropResponse(const Resource& r, int mode, const std::vector<PropName>& wanted,
                    std::string* out);
  bool LiveProp(const Resource& r, std::string_view local, std::string* xml);
  Status DeleteTree(const std::string& path, std::vector<std::pair<std::string, int>>* failed);
  Status CopyTree(const std::string& from, const std::string& to, bool infinite,
                  std::vector<std::pair<std::string, int>>* failed);
  Status CopyFile(const std::string& from, const std::string& to);
  Status CopyDeadProps(const std::string& from, const std::string& to);

  void DoOptions(Response* r);
  void DoGet(Response* r, bool head);
  void DoPropfind(Response* r);
  void DoProppatch(Response* r);
  void DoMkcol(Response* r);
  void DoDelete(Response* r);
  void DoCopyMove(Response* r, bool move);
  void DoLock(Response* r);
  void DoUnlock(Response* r);
  void FinishPut(Response* r);
  bool StartPut(Response* r);

  WebDav* dav_;
  Volume* vol_;
  Request req_;  // a copy: the handler outlives the factory call
  meta::Context ctx_ = RootCtx();
  std::string method_, path_;
  bool trailing_slash_ = false;
  std::string body_;
  bool body_too_large_ = false;
  std::vector<IfList> if_lists_;
  std::set<std::string> submitted_;  // lock tokens given in the If header
  // PUT
  std::shared_ptr<lib::File> tmp_;
  std::string tmp_path_;
  Status put_error_;
  bool put_existed_ = false;
};

// ---- Destination, If, locks ----

int DavHandler::DestinationPath(std::string* out) {
  std::string d = req_.Header("destination");
  if (d.empty()) return 400;
  std::string_view v = d;
  size_t scheme = v.find("://");
  if (scheme != std::string_view::npos) {
    size_t slash = v.find('/', scheme + 3);
    std::string_view host = v.substr(
        scheme + 3, slash == std::string_view::npos ? std::string_view::npos : slash - scheme - 3);
    std::string my_host = req_.Header("host");
    if (!my_host.empty() && host != my_host) return 502;
    v = slash == std::string_view::npos ? "/" : v.substr(slash);
  }
  v = v.substr(0, v.find('?'));
  v = v.substr(0, v.find('#'));
  if (v.empty() || v[0] != '/') return 400;
  if (!CanonicalPath(v, out)) return 400;
  if (Hidden(*out)) return 403;
  return 0;
}

bool DavHandler::ParseIf() {
  std::string h = req_.Header("if");
  if (h.empty()) return true;
  std::string host = req_.Header("host");
  auto decode = [&host](const std::string& url, std::string* path) {
    std::string_view v = url;
    size_t scheme = v.find("://");
    if (scheme != std::string_view::npos) {
      size_t slash = v.find('/', scheme + 3);
      if (v.substr(scheme + 3, slash == std::string_view::npos ? std::string_view::npos
                                                               : slash - scheme - 3) != host) {
        return false;
      }
      v = slash == std::string_view::npos ? "/" : v.substr(slash);
    }
    return CanonicalPath(v, path);
  };
  if (!ParseIfHeader(h, decode, &if_lists_)) return false;
  for (const IfList& l : if_lists_) {
    for (const IfCondition& c : l.conditions) {
      if (!c.negated && !c.is_etag) submitted_.insert(c.value);
    }
  }
  return true;
}

bool DavHandler::EvalIf() {
  if (if_lists_.empty()) return true;
  for (const IfList& l : if_lists_) {
    const std::string& target = l.resource.empty() ? path_ : l.resource;
    Resource r;
    bool exists = StatPath(target, &r);
    std::string etag = exists ? Etag(r.attr, r.ino) : "";
    std::vector<Lock> locks = dav_->locks().Covering(target);
    bool ok = true;
    for (const IfCondition& c : l.conditions) {
      bool v;
      if (c.is_etag) {
        std::string_view e = c.value;
        if (e.substr(0, 2) == "W/") e.remove_prefix(2);
        v = exists && e == etag;
      } else {
        v = std::any_of(locks.begin(), locks.end(),
                        [&c](const Lock& k) { return k.token == c.value; });
      }
      if (v == c.negated) {
        ok = false;
        break;
      }
    }
    if (ok) return true;
  }
  return false;
}

int DavHandler::CheckLocks(const std::string& path, bool infinite, bool membership,
                           Response* resp) {
  LockTable& t = dav_->locks();
  std::vector<Lock> locks = t.Covering(path);
  if (infinite) {
    for (Lock& l : t.Within(path)) locks.push_back(std::move(l));
  }
  if (membership && path != "/") {
    for (Lock& l : t.Covering(ParentPath(path))) {
      if (l.root == ParentPath(path)) locks.push_back(std::move(l));
    }
  }
  std::string missing;
  bool shared_submitted = false, exclusive_missing = false;
  std::vector<const Lock*> unsatisfied;
  for (const Lock& l : locks) {
    if (submitted_.count(l.token) != 0) {
      if (!l.exclusive) shared_submitted = true;
      continue;
    }
    unsatisfied.push_back(&l);
    if (l.exclusive) exclusive_missing = true;
  }
  if (unsatisfied.empty() || (!exclusive_missing && shared_submitted)) return 0;
  std::set<std::string> roots;
  for (const Lock* l : unsatisfied) roots.insert(l->root);
  for (const std::string& root : roots) {
    missing += "<D:href>" + Href(root, false) + "</D:href>";
  }
  DavError(resp, 423, "lock-token-submitted", missing);
  return 423;
}

// RFC 7232 preconditions (If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since).
// Returns 0, 304 or 412 (response filled).
int DavHandler::Preconditions(const Resource* r, bool exists, bool read, Response* resp) {
  std::string etag = exists ? Etag(r->attr, r->ino) : "";
  auto matches = [&](const std::string& list) {
    std::string_view v = list;
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view item = v.substr(0, comma);
      v = comma == std::string_view::npos ? "" : v.substr(comma + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item == "*") return exists;
      if (item.substr(0, 2) == "W/") item.remove_prefix(2);
      if (exists && item == etag) return true;
    }
    return false;
  };
  if (req_.HasHeader("if-match") && !matches(req_.Header("if-match"))) {
    Plain(resp, 412);
    return 412;
  }
  int64_t t = 0;
  if (exists && req_.HasHeader("if-unmodified-since") &&
      http::ParseHttpDate(req_.Header("if-unmodified-since"), &t) && r->attr.mtime > t) {
    Plain(resp, 412);
    return 412;
  }
  if (req_.HasHeader("if-none-match")) {
    if (matches(req_.Header("if-none-match"))) {
      if (read) {
        resp->status = 304;
        resp->SetHeader("ETag", etag);
        return 304;
      }
      Plain(resp, 412);
      return 412;
    }
  } else if (read && exists && req_.HasHeader("if-modified-since") &&
             http::ParseHttpDate(req_.Header("if-modified-since"), &t) && r->attr.mtime <= t) {
    resp->status = 304;
    resp->SetHeader("ETag", etag);
    return 304;
  }
  return 0;
}

std::string DavHandler::ActiveLock(const Lock& l) {
  return std::string("<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope>") +
         (l.exclusive ? "<D:exclusive/>" : "<D:shared/>") + "</D:lockscope><D:depth>" +
         (l.infinite ? "infinity" : "0") + "</D:depth>" + l.owner_xml + "<D:timeout>Second-" +
         std::to_string(l.SecondsLeft()) + "</D:timeout><D:locktoken><D:href>" +
         XmlEscape(l.token) + "</D:href></D:locktoken><D:lockroot><D:href>" + Href(l.root, false) +
         "</D:href></D:lockroot></D:activelock>";
}

std::string DavHandler::LockDiscovery(const std::string& path) {
  std::string out = "<D:lockdiscovery>";
  for (const Lock& l : dav_->locks().Covering(path)) out += ActiveLock(l);
  return out + "</D:lockdiscovery>";
}

// ---- request flow ----

bool DavHandler::OnHeaders(Response* resp) {
  method_ = req_.method;
  bool stale = false;
  std::string authz = req_.Header("authorization");
  if (authz.empty() || !dav_->auth().Check(authz, method_, req_.raw_path, Now(), &stale)) {
    resp->status = 401;
    for (std::string& c : dav_->auth().Challenges(Now(), stale)) {
      resp->SetHeader("WWW-Authenticate", std::move(c));
    }
    resp->SetHeader("Content-Type", "text/plain; charset=utf-8");
    resp->body = "authentication required\n";
    return true;
  }
  if (!CanonicalPath(req_.raw_path, &path_)) {
    Plain(resp, 400, "malformed path\n");
    return true;
  }
  trailing_slash_ = req_.raw_path.size() > 1 && req_.raw_path.back() == '/';
  if (Hidden(path_)) {
    Plain(resp, 404);
    return true;
  }
  if (!ParseIf()) {
    Plain(resp, 400, "malformed If header\n");
    return true;
  }
  if (method_ == "PUT") return StartPut(resp);
  return false;
}

bool DavHandler::OnBody(std::string_view data) {
  if (method_ == "PUT") {
    if (!put_error_.ok() || !tmp_) return false;
    uint64_t n = 0;
    put_error_ = tmp_->Write(data.data(), data.size(), &n);
    return put_error_.ok();
  }
  if (body_.size() + data.size() > dav_->options().max_xml_body) {
    body_too_large_ = true;
    return false;
  }
  body_.append(data);
  return true;
}

void DavHandler::OnEnd(Response* r) {
  r->SetHeader("DAV", "1, 2");
  if (method_ == "PUT") return FinishPut(r);
  if (body_too_large_) return Plain(r, 413, "request body too large\n");
  if (method_ == "OPTIONS") return DoOptions(r);
  if (method_ == "GET") return DoGet(r, false);
  if (method_ == "HEAD") return DoGet(r, true);
  if (method_ == "PROPFIND") return DoPropfind(r);
  if (method_ == "PROPPATCH") return DoProppatch(r);
  if (method_ == "MKCOL") return DoMkcol(r);
  if (method_ == "DELETE") return DoDelete(r);
  if (method_ == "COPY") return DoCopyMove(r, false);
  if (method_ == "MOVE") return DoCopyMove(r, true);
  if (method_ == "LOCK") return DoLock(r);
  if (method_ == "UNLOCK") return DoUnlock(r);
  if (method_ == "POST" || method_ == "PATCH" || method_ == "TRACE") {
    r->SetHeader("Allow",
                 "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, "
                 "PROPPATCH, LOCK, UNLOCK");
    return Plain(r, 405);
  }
  Plain(r, 501, "method not implemented\n");
}

// ---- OPTIONS, GET, HEAD ----

void DavHandler::DoOptions(Response* r) {
  r->status = 200;
  r->SetHeader("Allow",
               "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, "
               "UNLOCK");
  r->SetHeader("MS-Author-Via", "DAV");
  r->SetHeader("Accept-Ranges", "bytes");
}

void DavHandler::DoGet(Response* r, bool head) {
  Resource res;
  if (!StatPath(path_, &res)) return Plain(r, 404);
  if (Preconditions(&res, true, true, r) != 0) return;
  r->SetHeader("ETag", Etag(res.attr, res.ino));
  r->SetHeader("Last-Modified", http::HttpDate(res.attr.mtime));
  if (IsDir(res.attr)) {
    std::unique_ptr<lib::DirStream> dir;
    Status s = vol_->OpenDir(ctx_, path_, &dir);
    if (!s.ok()) return Plain(r, HttpOf(s));
    std::vector<lib::DirEntry> entries;
    while (true) {
      lib::DirEntry e;
      bool end = false;
      s = dir->Next(&e, &end);
      if (!s.ok()) return Plain(r, HttpOf(s));
      if (end) break;
      if (Hidden(JoinPath(path_, e.name))) continue;
      entries.push_back(std::move(e));
    }
    std::sort(entries.begin(), entries.end(),
              [](const lib::DirEntry& a, const lib::DirEntry& b) { return a.name < b.name; });
    std::string title = XmlEscape(path_ == "/" ? "/" : path_ + "/");
    std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of " +
                       title + "</title></head><body><h1>Index of " + title +
                       "</h1><table>\n<tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n";
    if (path_ != "/") {
      html += "<tr><td><a href=\"" + Href(ParentPath(path_), true) +
              "\">../</a></td><td></td><td></td></tr>\n";
    }
    for (const lib::DirEntry& e : entries) {
      bool d = IsDir(e.attr);
      html += "<tr><td><a href=\"" + Href(JoinPath(path_, e.name), d) + "\">" + XmlEscape(e.name) +
              (d ? "/" : "") + "</a></td><td>" + (d ? "-" : std::to_string(e.attr.length)) +
              "</td><td>" + http::HttpDate(e.attr.mtime) + "</td></tr>\n";
    }
    html += "</table></body></html>\n";
    r->status = 200;
    r->SetHeader("Content-Type", "text/html; charset=utf-8");
    r->head = head;
    if (head) {
      r->length = html.size();
    } else {
      r->body = std::move(html);
    }
    return;
  }
  uint64_t size = res.attr.length, start = 0, length = size;
  r->SetHeader("Accept-Ranges", "bytes");
  r->SetHeader("Content-Type", ContentTypeOf(path_));
  r->status = 200;
  std::string range = req_.Header("range");
  bool use_range = !range.empty();
  if (use_range && req_.HasHeader("if-range")) {
    std::string ir = req_.Header("if-range");
    int64_t t = 0;
    if (ir == Etag(res.attr, res.ino)) {
    } else if (http::ParseHttpDate(ir, &t) && t == res.attr.mtime) {
    } else {
      use_range = false;
    }
  }
  if (use_range && range.substr(0, 6) == "bytes=" && range.find(',') == std::string::npos) {
    std::string spec = range.substr(6);
    size_t dash = spec.find('-');
    auto num = [](std::string_view s, uint64_t* v) {
      if (s.empty() || s.size() > 19) return false;
      *v = 0;
      for (char c : s) {
        if (c < '0' || c > '9') return false;
        *v = *v * 10 + static_cast<uint64_t>(c - '0');
      }
      return true;
    };
    uint64_t a = 0, b = 0;
    bool ok = dash != std::string::npos;
    if (ok && dash == 0) {
      ok = num(std::string_view(spec).substr(1), &b) && b > 0;
      if (ok) {
        start = size > b ? size - b : 0;
        length = size - start;
        ok = size > 0;
      }
    } else if (ok) {
      ok = num(std::string_view(spec).substr(0, dash), &a);
      std::string_view last = std::string_view(spec).substr(dash + 1);
      if (ok && !last.empty()) ok = num(last, &b) && b >= a;
      if (ok && a >= size) {
        r->SetHeader("Content-Range", "bytes */" + std::to_string(size));
        return Plain(r, 416);
      }
      if (ok) {
        start = a;
        length = (last.empty() ? size - 1 : std::min(b, size - 1)) - a + 1;
      }
    }
    if (ok) {
      r->status = 206;
      r->SetHeader("Content-Range", "bytes " + std::to_string(start) + "-" +
                                        std::to_string(start + length - 1) + "/" +
                                        std::to_string(size));
    } else if (dash != std::string::npos && dash == 0 && size == 0) {
      r->SetHeader("Content-Range", "bytes */0");
      return Plain(r, 416);
    }
  }
  r->head = head;
  r->length = length;
  if (head || length == 0) return;
  std::shared_ptr<lib::File> f;
  Status s = vol_->OpenFile(ctx_, path_, O_RDONLY, 0, &f);
  if (!s.ok()) {
    r->headers.clear();
    r->length = 0;
    return Plain(r, HttpOf(s));
  }
  r->source = std::make_unique<FileSource>(std::move(f), start, length);
}

// ---- PUT ----

bool DavHandler::StartPut(Response* r) {
  r->SetHeader("DAV", "1, 2");
  if (req_.HasHeader("content-range")) {
    Plain(r, 400, "Content-Range is not allowed on PUT (RFC 7231 4.3.4)\n");
    return true;
  }
  Resource res;
  bool exists = StatPath(path_, &res);
  if (exists && IsDir(res.attr)) {
    Plain(r, 405, "a collection cannot be replaced by PUT\n");
    return true;
  }
  Resource parent;
  if (path_ == "/" || !StatPath(ParentPath(path_), &parent) || !IsDir(parent.attr)) {
    Plain(r, 409, "the parent collection does not exist\n");
    return true;
  }
  if (!EvalIf()) {
    Plain(r, 412);
    return true;
  }
  if (Preconditions(&res, exists, false, r) != 0) return true;
  if (CheckLocks(path_, false, !exists, r) != 0) return true;
  tmp_path_ = std::string(kTmpDir) + "/" + RandomHex(16);
  Status s = vol_->OpenFile(ctx_, tmp_path_, O_WRONLY | O_CREAT | O_EXCL, 0644, &tmp_);
  if (!s.ok()) {
    tmp_path_.clear();
    Plain(r, HttpOf(s), s.ToString() + "\n");
    return true;
  }
  return false;
}

void DavHandler::FinishPut(Response* r) {
  if (!put_error_.ok()) {
    Discard();
    return Plain(r, HttpOf(put_error_), put_error_.ToString() + "\n");
  }
  Status s = tmp_->Close();
  tmp_.reset();
  if (!s.ok()) {
    Discard();
    return Plain(r, HttpOf(s), s.ToString() + "\n");
  }
  Resource old;
  bool exists = StatPath(path_, &old);
  if (exists && IsDir(old.attr)) {
    Discard();
    return Plain(r, 405);
  }
  // The lock table may have changed while the body arrived.
  if (CheckLocks(path_, false, !exists, r) != 0) {
    Discard();
    return;
  }
  if (exists) {
    (void)vol_->Chmod(ctx_, tmp_path_, old.attr.mode);
    (void)CopyDeadProps(path_, tmp_path_);
  }
  s = vol_->Rename(ctx_, tmp_path_, path_, 0);
  if (!s.ok()) {
    Discard();
    return Plain(r, HttpOf(s), s.ToString() + "\n");
  }
  tmp_path_.clear();
  Resource now;
  if (StatPath(path_, &now)) r->SetHeader("ETag", Etag(now.attr, now.ino));
  r->status = exists ? 204 : 201;
  if (!exists) {
    r->SetHeader("Content-Type", "text/plain; charset=utf-8");
    r->body = "created\n";
  }
}

// ---- PROPFIND ----

enum { kAllProp = 0, kPropName = 1, kProp = 2 };
constexpr std::string_view kLiveProps[] = {"creationdate",  "getcontentlength", "getcontenttype",
                                           "getetag",       "getlastmodified",  "resourcetype",
                                           "supportedlock", "lockdiscovery"};

bool DavHandler::LiveProp(const Resource& r, std::string_view local, std::string* x) {
  bool dir = IsDir(r.attr);
  if (local == "creationdate") {
    // RFC 4918 15.1: an RFC 3339 date-time; milliseconds as the gateway's, from the same code.
    *x = "<D:creationdate>";
    AppendIso8601(x, r.attr.ctime, r.attr.ctimensec);
    *x += "</D:creationdate>";
  } else if (local == "getcontentlength") {
    if (dir) return false;
    *x = "<D:getcontentlength>" + std::to_string(r.attr.length) + "</D:getcontentlength>";
  } else if (local == "getcontenttype") {
    if (dir) return false;
    *x = "<D:getcontenttype>" + ContentTypeOf(r.path) + "</D:getcontenttype>";
  } else if (local == "getetag") {
    *x = "<D:getetag>" + XmlEscape(Etag(r.attr, r.ino)) + "</D:getetag>";
  } else if (local == "getlastmodified") {
    *x = "<D:getlastmodified>" + http::HttpDate(r.attr.mtime) + "</D:getlastmodified>";
  } else if (local == "resourcetype") {
    *x = dir ? "<D:resourcetype><D:collection/></D:resourcetype>" : "<D:resourcetype/>";
  } else if (local == "supportedlock") {
    *x = "<D:supportedlock><D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:"
         "write/></D:locktype></D:lockentry><D:lockentry><D:lockscope><D:shared/></"
         "D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry></D:supportedlock>";
  } else if (local == "lockdiscovery") {
    *x = LockDiscovery(r.path);
  } else {
    return false;
  }
  return true;
}

void DavHandler::PropResponse(const Resource& r, int mode, const std::vector<PropName>& wanted,
                              std::string* out) {
  bool dir = IsDir(r.attr);
  *out += "<D:response><D:href>" + Href(r.path, dir) + "</D:href>";
  std::string found, missing;
  auto dead_names = [&](std::vector<std::string>* names) {
    names->clear();
    std::vector<std::string> all;
    lib::InodeFs* ifs = dav_->inode_fs();
    Status s = ifs != nullptr && r.ino != 0 ? ifs->ListXattr(ctx_, r.ino, &all)
                                            : vol_->ListXattr(ctx_, r.path, &all);
    if (!s.ok()) return;
    for (std::string& n : all) {
      if (n.compare(0, kXattrPrefix.size(), kXattrPrefix) == 0) names->push_back(std::move(n));
    }
  };
  if (mode == kAllProp || mode == kPropName) {
    for (std::string_view local : kLiveProps) {
      std::string x;
      if (!LiveProp(r, local, &x)) continue;
      found += mode == kPropName ? "<D:" + std::string(local) + "/>" : x;
    }
    std::vector<std::string> names;
    dead_names(&names);
    for (const std::string& n : names) {
      std::string ns, local;
      if (!ParsePropXattrName(n, &ns, &local)) continue;
      if (mode == kPropName) {
        found += EmptyElement(ns, local);
      } else {
        std::string v;
        lib::InodeFs* ifs = dav_->inode_fs();
        Status s = ifs != nullptr && r.ino != 0 ? ifs->GetXattr(ctx_, r.ino, n, &v)
                                                : vol_->GetXattr(ctx_, r.path, n, &v);
        if (s.ok()) found += v;
      }
    }
    // allprop with <D:include>: the named properties are reported too.
    if (mode == kAllProp) {
      for (const PropName& p : wanted) {
        if (p.ns == kDavNs && std::find(std::begin(kLiveProps), std::end(kLiveProps), p.local) !=
                                  std::end(kLiveProps)) {
          continue;
        }
        std::string v;
        if (!vol_->GetXattr(ctx_, r.path, PropXattrName(p.ns, p.local), &v).ok()) {
          missing += EmptyElement(p.ns, p.local);
        }
      }
    }
  } else {
    for (const PropName& p : wanted) {
      std::string x;
      if (p.ns == kDavNs && LiveProp(r, p.local, &x)) {
        found += x;
        continue;
      }
      std::string v;
      if (p.ns != kDavNs && vol_->GetXattr(ctx_, r.path, PropXattrName(p.ns, p.local), &v).ok()) {
        found += v;
      } else {
        missing += EmptyElement(p.ns, p.local);
      }
    }
  }
  if (!found.empty() || missing.empty()) {
    *out += "<D:propstat><D:prop>" + found + "</D:prop><D:status>HTTP/1.1 200 OK</D:status>" +
            "</D:propstat>";
  }
  if (!missing.empty()) {
    *out += "<D:propstat><D:prop>" + missing +
            "</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>";
  }
  *out += "</D:response>";
}

void DavHandler::DoPropfind(Response* r) {
  std::string depth = req_.Header("depth");
  int d = 2;
  if (depth == "0") {
    d = 0;
  } else if (depth == "1") {
    d = 1;
  } else if (!depth.empty() && depth != "infinity" && depth != "Infinity") {
    return Plain(r, 400, "bad Depth\n");
  }
  int mode = kAllProp;
  std::vector<PropName> wanted;
  if (!body_.empty()) {
    pugi::xml_document doc;
    if (!ParseXml(body_, &doc)) return Plain(r, 400, "malformed XML\n");
    pugi::xml_node root = doc.document_element();
    if (!Is(root, "propfind")) return Plain(r, 400, "expected DAV:propfind\n");
    bool chosen = false;
    for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      auto names = [&](pugi::xml_node prop) {
        for (pugi::xml_node p = prop.first_child(); p; p = p.next_sibling()) {
          if (p.type() != pugi::node_element) continue;
          PropName n;
          NameOf(p, &n.ns, &n.local);
          wanted.push_back(std::move(n));
        }
      };
      if (Is(c, "allprop")) {
        mode = kAllProp;
        chosen = true;
      } else if (Is(c, "propname")) {
        mode = kPropName;
        chosen = true;
      } else if (Is(c, "prop")) {
        mode = kProp;
        chosen = true;
        names(c);
      } else if (Is(c, "include")) {
        names(c);
      }
    }
    if (!chosen) return Plain(r, 400, "propfind needs allprop, propname or prop\n");
  }
  Resource top;
  if (!StatPath(path_, &top)) return Plain(r, 404);
  std::string out(kMultiStatusHead);
  PropResponse(top, mode, wanted, &out);
  if (IsDir(top.attr) && d > 0) {
    std::deque<std::pair<std::string, int>> todo{{path_, 1}};
    size_t count = 1;
    while (!todo.empty()) {
      auto [dir_path, level] = todo.front();
      todo.pop_front();
      std::unique_ptr<lib::DirStream> dir;
      if (!vol_->OpenDir(ctx_, dir_path, &dir).ok()) continue;
      while (true) {
        lib::DirEntry e;
        bool end = false;
        if (!dir->Next(&e, &end).ok() || end) break;
        Resource c;
        c.path = JoinPath(dir_path, e.name);
        if (Hidden(c.path)) continue;
        c.attr = e.attr;
        c.ino = e.inode;
        if (c.attr.typ == meta::kTypeSymlink && !StatPath(c.path, &c)) continue;
        if (d == 2 && ++count > dav_->options().max_infinity_entries) {
          return DavError(r, 403, "propfind-finite-depth");
        }
        PropResponse(c, mode, wanted, &out);
        if (d == 2 && IsDir(c.attr) && c.attr.typ != meta::kTypeSymlink) {
          todo.emplace_back(c.path, level + 1);
        }
      }
    }
  }
  out += "</D:multistatus>\n";
  Xml(r, 207, std::move(out));
}

// ---- PROPPATCH ----

void DavHandler::DoProppatch(Response* r) {
  Resource res;
  if (!StatPath(path_, &res)) return Plain(r, 404);
  if (!EvalIf()) return Plain(r, 412);
  if (CheckLocks(path_, false, false, r) != 0) return;
  pugi::xml_document doc;
  if (body_.empty() || !ParseXml(body_, &doc)) return Plain(r, 400, "malformed XML\n");
  pugi::xml_node root = doc.document_element();
  if (!Is(root, "propertyupdate")) return Plain(r, 400, "expected DAV:propertyupdate\n");
  struct Op {
    bool set;
    PropName name;
    std::string value;
    int status = 200;
  };
  std::vector<Op> ops;
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    bool set = Is(c, "set");
    if (!set && !Is(c, "remove")) return Plain(r, 400, "expected DAV:set or DAV:remove\n");
    for (pugi::xml_node prop = c.first_child(); prop; prop = prop.next_sibling()) {
      if (prop.type() != pugi::node_element || !Is(prop, "prop")) continue;
      for (pugi::xml_node p = prop.first_child(); p; p = p.next_sibling()) {
        if (p.type() != pugi::node_element) continue;
        Op op{set, {}, {}, 200};
        NameOf(p, &op.name.ns, &op.name.local);
        if (set) op.value = SerializeSelfContained(p);
        ops.push_back(std::move(op));
      }
    }
  }
  bool failed = false;
  for (Op& op : ops) {
    if (op.name.ns == kDavNs) {
      op.status = 403;  // live properties are protected
      failed = true;
    } else if (PropXattrName(op.name.ns, op.name.local).size() > 255) {
      op.status = 409;
      failed = true;
    }
  }
  // Applied in document order; the first failure undoes what was done (RFC 4918 §9.2).
  std::vector<std::pair<std::string, std::optional<std::string>>> undo;
  if (!failed) {
    for (Op& op : ops) {
      std::string key = PropXattrName(op.name.ns, op.name.local);
      std::string old;
      bool had = vol_->GetXattr(ctx_, path_, key, &old).ok();
      Status s = op.set ? vol_->SetXattr(ctx_, path_, key, op.value, 0)
                        : vol_->RemoveXattr(ctx_, path_, key);
      if (!op.set && s.code() == ENODATA) s = Status::OK();  // removing an absent one is fine
      if (!s.ok()) {
        op.status = HttpOf(s) == 500 ? 507 : HttpOf(s);
        failed = true;
        break;
      }
      undo.emplace_back(key, had ? std::optional<std::string>(old) : std::nullopt);
    }
    if (failed) {
      for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
        if (it->second) {
          (void)vol_->SetXattr(ctx_, path_, it->first, *it->second, 0);
        } else {
          (void)vol_->RemoveXattr(ctx_, path_, it->first);
        }
      }
    }
  }
  std::map<int, std::string> by_status;
  for (Op& op : ops) {
    int st = failed && op.status == 200 ? 424 : op.status;
    by_status[st] += EmptyElement(op.name.ns, op.name.local);
  }
  std::string out(kMultiStatusHead);
  out += "<D:response><D:href>" + Href(path_, IsDir(res.attr)) + "</D:href>";
  for (const auto& [st, props] : by_status) {
    out += "<D:propstat><D:prop>" + props + "</D:prop><D:status>" + StatusLine(st) +
           "</D:status></D:propstat>";
  }
  out += "</D:response></D:multistatus>\n";
  Xml(r, 207, std::move(out));
}

// ---- MKCOL, DELETE ----

void DavHandler::DoMkcol(Response* r) {
  if (!body_.empty() || (req_.HasHeader("content-length") && req_.Header("content-length") != "0"))
    return Plain(r, 415, "MKCOL with a body is not supported\n");
  Resource res;
  if (StatPath(path_, &res)) return Plain(r, 405, "already exists\n");
  Resource parent;
  if (!StatPath(ParentPath(path_), &parent) || !IsDir(parent.attr)) return Plain(r, 409);
  if (!EvalIf()) return Plain(r, 412);
  if (CheckLocks(path_, false, true, r) != 0) return;
  Status s = vol_->Mkdir(ctx_, path_, 0755);
  if (!s.ok()) return Plain(r, HttpOf(s), s.ToString() + "\n");
  Plain(r, 201);
}

Status DavHandler::DeleteTree(const std::string& path,
                              std::vector<std::pair<std::string, int>>* failed) {
  Attr a;
  Status s = vol_->Lstat(ctx_, path, &a, nullptr);
  if (!s.ok()) return s;
  if (!IsDir(a)) {
    s = vol_->Unlink(ctx_, path);
    if (!s.ok()) failed->emplace_back(path, HttpOf(s));
    return s;
  }
  std::vector<std::string> names;
  {
    std::unique_ptr<lib::DirStream> dir;
    s = vol_->OpenDir(ctx_, path, &dir);
    if (!s.ok()) {
      failed->emplace_back(path, HttpOf(s));
      return s;
    }
    while (true) {
      lib::DirEntry e;
      bool end = false;
      s = dir->Next(&e, &end);
      if (!s.ok()) {
        failed->emplace_back(path, HttpOf(s));
        return s;
      }
      if (end) break;
      names.push_back(e.name);
    }
  }
  bool child_failed = false;
  for (const std::string& n : names) {
    if (!DeleteTree(JoinPath(path, n), failed).ok()) child_failed = true;
  }
  if (child_failed) return Status::IOError("a member could not be deleted");
  s = vol_->Rmdir(ctx_, path);
  if (!s.ok()) failed->emplace_back(path, HttpOf(s));
  return s;
}

void DavHandler::DoDelete(Response* r) {
  Resource res;
  if (!StatPath(path_, &res)) return Plain(r, 404);
  if (path_ == "/") return Plain(r, 403, "the root cannot be deleted\n");
  std::string depth = req_.Header("depth");
  if (IsDir(res.attr) && !depth.empty() && depth != "infinity" && depth != "Infinity") {
    return Plain(r, 400, "DELETE of a collection needs Depth: infinity\n");
  }
  if (!EvalIf()) return Plain(r, 412);
  if (CheckLocks(path_, true, true, r) != 0) return;
  std::vector<std::pair<std::string, int>> failed;
  Status s = DeleteTree(path_, &failed);
  if (s.ok()) {
    dav_->locks().RemoveWithin(path_);
    r->status = 204;
    return;
  }
  if (failed.size() == 1 && failed[0].first == path_) return Plain(r, failed[0].second);
  std::string out(kMultiStatusHead);
  for (const auto& [p, st] : failed) {
    out += "<D:response><D:href>" + Href(p, false) + "</D:href><D:status>" + StatusLine(st) +
           "</D:status></D:response>";
  }
  out += "</D:multistatus>\n";
  Xml(r, 207, std::move(out));
}

// ---- COPY, MOVE ----

Status DavHandler::CopyDeadProps(const std::string& from, const std::string& to) {
  std::vector<std::string> names;
  Status s = vol_->ListXattr(ctx_, from, &names);
  if (!s.ok()) return s;
  for (const std::string& n : names) {
    if (n.compare(0, kXattrPrefix.size(), kXattrPrefix) != 0) continue;
    std::string v;
    if (vol_->GetXattr(ctx_, from, n, &v).ok()) {
      s = vol_->SetXattr(ctx_, to, n, v, 0);
      if (!s.ok()) return s;
    }
  }
  return Status::OK();
}

Status DavHandler::CopyFile(const std::string& from, const std::string& to) {
  std::shared_ptr<lib::File> in, out;
  Status s = vol_->OpenFile(ctx_, from, O_RDONLY, 0, &in);
  if (!s.ok()) return s;
  Attr a;
  s = in->Fstat(&a);
  if (!s.ok()) return s;
  s = vol_->OpenFile(ctx_, to, O_WRONLY | O_CREAT | O_TRUNC, a.mode, &out);
  if (!s.ok()) return s;
  std::string buf(kCopyBuffer, '\0');
  uint64_t off = 0;
  while (true) {
    uint64_t n = 0;
    s = in->Pread(buf.data(), buf.size(), off, &n);
    if (!s.ok() || n == 0) break;
    uint64_t w = 0;
    s = out->Pwrite(buf.data(), n, off, &w);
    if (!s.ok()) break;
    off += n;
  }
  (void)in->Close();
  Status c = out->Close();
  if (s.ok()) s = c;
  if (s.ok()) s = CopyDeadProps(from, to);
  return s;
}

Status DavHandler::CopyTree(const std::string& from, const std::string& to, bool infinite,
                            std::vector<std::pair<std::string, int>>* failed) {
  Attr a;
  Status s = vol_->Stat(ctx_, from, &a, nullptr);
  if (!s.ok()) return s;
  if (!IsDir(a)) {
    s = CopyFile(from, to);
    if (!s.ok()) failed->emplace_back(to, HttpOf(s));
    return s;
  }
  s = vol_->Mkdir(ctx_, to, a.mode);
  if (s.ok()) s = CopyDeadProps(from, to);
  if (!s.ok()) {
    failed->emplace_back(to, HttpOf(s));
    return s;
  }
  if (!infinite) return Status::OK();
  std::vector<std::string> names;
  {
    std::unique_ptr<lib::DirStream> dir;
    s = vol_->OpenDir(ctx_, from, &dir);
    if (!s.ok()) return s;
    while (true) {
      lib::DirEntry e;
      bool end = false;
      s = dir->Next(&e, &end);
      if (!s.ok()) return s;
      if (end) break;
      names.push_back(e.name);
    }
  }
  Status first = Status::OK();
  for (const std::string& n : names) {
    Status cs = CopyTree(JoinPath(from, n), JoinPath(to, n), true, failed);
    if (!cs.ok() && first.ok()) first = cs;
  }
  return first;
}

void DavHandler::DoCopyMove(Response* r, bool move) {
  Resource src;
  if (!StatPath(path_, &src)) return Plain(r, 404);
  std::string dst;
  if (int e = DestinationPath(&dst); e != 0) return Plain(r, e, "bad Destination\n");
  std::string depth = req_.Header("depth");
  bool infinite = true;
  if (depth == "0" && !move) {
    infinite = false;
  } else if (!depth.empty() && depth != "infinity" && depth != "Infinity") {
    return Plain(r, 400, "bad Depth\n");
  }
  if (dst == path_) return Plain(r, 403, "source and destination are the same\n");
  if (IsDir(src.attr) && PathWithin(dst, path_)) {
    return Plain(r, 403, "cannot copy or move a collection into itself\n");
  }
  if (path_ == "/" || dst == "/") return Plain(r, 403);
  std::string ow = req_.Header("overwrite");
  if (!ow.empty() && ow != "T" && ow != "F") return Plain(r, 400, "bad Overwrite\n");
  bool overwrite = ow != "F";
  Resource parent;
  if (!StatPath(ParentPath(dst), &parent) || !IsDir(parent.attr)) return Plain(r, 409);
  Resource existing;
  bool exists = StatPath(dst, &existing);
  if (exists && !overwrite) return Plain(r, 412, "destination exists\n");
  if (!EvalIf()) return Plain(r, 412);
  if (move && CheckLocks(path_, true, true, r) != 0) return;
  if (CheckLocks(dst, true, true, r) != 0) return;
  std::vector<std::pair<std::string, int>> failed;
  if (exists) {
    Status s = DeleteTree(dst, &failed);
    if (!s.ok()) return Plain(r, failed.empty() ? HttpOf(s) : failed.back().second);
  }
  Status s;
  if (move) {
    s = vol_->Rename(ctx_, path_, dst, 0);
    if (!s.ok()) return Plain(r, HttpOf(s), s.ToString() + "\n");
    dav_->locks().RemoveWithin(path_);
  } else {
    s = CopyTree(path_, dst, infinite, &failed);
    if (!s.ok()) {
      if (failed.size() <= 1) return Plain(r, failed.empty() ? HttpOf(s) : failed[0].second);
      std::string out(kMultiStatusHead);
      for (const auto& [p, st] : failed) {
        out += "<D:response><D:href>" + Href(p, false) + "</D:href><D:status>" + StatusLine(st) +
               "</D:status></D:response>";
      }
      out += "</D:multistatus>\n";
      return Xml(r, 207, std::move(out));
    }
  }
  if (exists) {
    r->status = 204;
  } else {
    Plain(r, 201);
  }
}

// ---- LOCK, UNLOCK ----

void DavHandler::DoLock(Response* r) {
  int64_t timeout = LockTable::ParseTimeout(req_.Header("timeout"));
  if (body_.empty()) {
    // Refresh: the token comes in the If header.
    if (if_lists_.empty()) return Plain(r, 400, "lock refresh needs an If header\n");
    for (const std::string& t : submitted_) {
      Lock l;
      if (dav_->locks().Refresh(t, path_, timeout, &l)) {
        return Xml(r, 200,
                   "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:prop xmlns:D=\"DAV:\">"
                   "<D:lockdiscovery>" +
                       ActiveLock(l) + "</D:lockdiscovery></D:prop>\n");
      }
    }
    return Plain(r, 412, "no such lock\n");
  }
  pugi::xml_document doc;
  if (!ParseXml(body_, &doc)) return Plain(r, 400, "malformed XML\n");
  pugi::xml_node root = doc.document_element();
  if (!Is(root, "lockinfo")) return Plain(r, 400, "expected DAV:lockinfo\n");
  Lock l;
  bool scope = false, type = false;
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    if (Is(c, "lockscope")) {
      for (pugi::xml_node s = c.first_child(); s; s = s.next_sibling()) {
        if (s.type() != pugi::node_element) continue;
        if (Is(s, "exclusive")) {
          l.exclusive = true;
          scope = true;
        } else if (Is(s, "shared")) {
          l.exclusive = false;
          scope = true;
        }
      }
    } else if (Is(c, "locktype")) {
      for (pugi::xml_node s = c.first_child(); s; s = s.next_sibling()) {
        if (s.type() == pugi::node_element && Is(s, "write")) type = true;
      }
    } else if (Is(c, "owner")) {
      l.owner_xml = SerializeSelfContained(c);
    }
  }
  if (!scope || !type) return Plain(r, 400, "lockinfo needs a lockscope and a write locktype\n");
  std::string depth = req_.Header("depth");
  if (depth == "0") {
    l.infinite = false;
  } else if (depth.empty() || depth == "infinity" || depth == "Infinity") {
    l.infinite = true;
  } else {
    return Plain(r, 400, "bad Depth\n");
  }
  if (!EvalIf()) return Plain(r, 412);
  Resource res;
  bool exists = StatPath(path_, &res);
  if (!exists) {
    Resource parent;
    if (!StatPath(ParentPath(path_), &parent) || !IsDir(parent.attr)) return Plain(r, 409);
    if (CheckLocks(path_, false, true, r) != 0) return;
  }
  if (!IsDir(res.attr)) l.infinite = exists ? false : l.infinite;
  l.token = LockTable::NewToken();
  l.root = path_;
  l.timeout_seconds = timeout;
  if (!dav_->locks().Acquire(l)) {
    std::string roots;
    for (const Lock& o : dav_->locks().Covering(path_)) {
      roots += "<D:href>" + Href(o.root, false) + "</D:href>";
    }
    return DavError(r, 423, "no-conflicting-lock", roots);
  }
  int code = 200;
  if (!exists) {
    // Locking an unmapped URL creates an empty resource (RFC 4918 §7.3).
    std::shared_ptr<lib::File> f;
    Status s = vol_->OpenFile(ctx_, path_, O_WRONLY | O_CREAT | O_EXCL, 0644, &f);
    if (s.ok()) s = f->Close();
    if (!s.ok()) {
      dav_->locks().Release(l.token, path_);
      return Plain(r, HttpOf(s), s.ToString() + "\n");
    }
    code = 201;
  }
  Lock granted;
  (void)dav_->locks().Refresh(l.token, path_, timeout, &granted);
  r->SetHeader("Lock-Token", "<" + l.token + ">");
  Xml(r, code,
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>" +
          ActiveLock(granted.token.empty() ? l : granted) + "</D:lockdiscovery></D:prop>\n");
}

void DavHandler::DoUnlock(Response* r) {
  std::string t = req_.Header("lock-token");
  while (!t.empty() && t.front() == ' ') t.erase(0, 1);
  while (!t.empty() && t.back() == ' ') t.pop_back();
  if (t.size() < 2 || t.front() != '<' || t.back() != '>') {
    return Plain(r, 400, "UNLOCK needs a Lock-Token header\n");
  }
  t = t.substr(1, t.size() - 2);
  Resource res;
  if (!StatPath(path_, &res)) return Plain(r, 404);
  if (!dav_->locks().Release(t, path_)) return DavError(r, 409, "lock-token-matches-request-uri");
  r->status = 204;
}

}  // namespace

// ---- public helpers ----

bool CanonicalPath(std::string_view raw, std::string* path) {
  std::string dec;
  if (!PercentDecode(raw, &dec)) return false;
  if (dec.find('\0') != std::string::npos) return false;
  std::vector<std::string_view> parts;
  std::string_view v = dec;
  size_t i = 0;
  while (i <= v.size()) {
    size_t slash = v.find('/', i);
    std::string_view seg =
        v.substr(i, slash == std::string_view::npos ? std::string_view::npos : slash - i);
    if (seg == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!seg.empty() && seg != ".") {
      parts.push_back(seg);
    }
    if (slash == std::string_view::npos) break;
    i = slash + 1;
  }
  path->clear();
  for (std::string_view p : parts) {
    *path += "/";
    *path += p;
  }
  if (path->empty()) *path = "/";
  return true;
}

std::string EncodeHref(std::string_view path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string PropXattrName(std::string_view ns, std::string_view name) {
  std::string out(kXattrPrefix);
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char c : ns) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  out.push_back(':');
  out += name;
  return out;
}

bool ParsePropXattrName(std::string_view xattr, std::string* ns, std::string* name) {
  if (xattr.substr(0, kXattrPrefix.size()) != kXattrPrefix) return false;
  xattr.remove_prefix(kXattrPrefix.size());
  size_t colon = xattr.find(':');
  if (colon == std::string_view::npos) return false;
  *name = std::string(xattr.substr(colon + 1));
  return !name->empty() && PercentDecode(xattr.substr(0, colon), ns);
}

WebDav::WebDav(lib::Volume* volume, WebDavOptions opts)
    : volume_(volume), opts_(std::move(opts)), auth_(opts_.auth) {
  if (!lib::NewInodeFs(volume_, &ifs_).ok()) ifs_.reset();
}

Status WebDav::Init() {
  meta::Context ctx = RootCtx();
  Status s = volume_->MkdirAll(ctx, kTmpDir, 0700);
  if (!s.ok()) return s.WithContext(std::string(kTmpDir));
  std::unique_ptr<lib::DirStream> dir;
  s = volume_->OpenDir(ctx, kTmpDir, &dir);
  if (!s.ok()) return s;
  std::vector<std::string> names;
  while (true) {
    lib::DirEntry e;
    bool end = false;
    s = dir->Next(&e, &end);
    if (!s.ok()) return s;
    if (end) break;
    names.push_back(e.name);
  }
  for (const std::string& n : names) (void)volume_->Unlink(ctx, JoinPath(kTmpDir, n));
  return Status::OK();
}

std::unique_ptr<http::RequestHandler> WebDav::NewHandler(const http::Request& req) {
  return std::make_unique<DavHandler>(this, req);
}

}  // namespace jfs::server::webdav
