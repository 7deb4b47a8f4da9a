// The WebDAV handlers over a real volume (SQLite + local directory), served by the HTTP layer on
// loopback and driven with libcurl (Digest authentication): PUT/GET, dead properties stored as
// xattrs under their documented names, locks honoured by PUT, malformed bodies refused with
// nothing changed. litmus covers the protocol in full (tests/server/webdav_test.py).
#include <curl/curl.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "lib/volume.h"
#include "server/http/http_server.h"
#include "server/webdav/webdav.h"

namespace http = jfs::server::http;
namespace wd = jfs::server::webdav;
using jfs::Status;

namespace {

struct CurlFree {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

struct Reply {
  long status = 0;
  std::string body, headers;
};

size_t Append(char* p, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(p, s * n);
  return s * n;
}

class Fixture {
 public:
  Fixture() {
    char tmpl[] = "/tmp/jfs-davh-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::string url = "sqlite3://" + dir_ + "/meta.db";
    jfs::lib::FormatOptions fo;
    fo.name = "davh";
    fo.bucket = dir_ + "/data";
    REQUIRE(jfs::lib::Format(url, fo).ok());
    REQUIRE(jfs::lib::Volume::Open(url, {}, &vol_).ok());
    wd::WebDavOptions o;
    o.auth.user = "u";
    o.auth.password = "pw";
    dav_ = std::make_unique<wd::WebDav>(vol_.get(), o);
    REQUIRE(dav_->Init().ok());
    http::ServerOptions so;
    REQUIRE(http::Server::Start(
                so, [this](const http::Request& r) { return dav_->NewHandler(r); }, &srv_)
                .ok());
  }
  ~Fixture() {
    srv_->Stop();
    (void)vol_->Close();
    std::filesystem::remove_all(dir_);
  }
  Reply Do(const std::string& method, const std::string& path, const std::string& body = "",
           std::vector<std::string> headers = {}, const char* password = "pw") {
    std::unique_ptr<CURL, CurlFree> c(curl_easy_init());
    Reply r;
    std::string url = "http://127.0.0.1:" + std::to_string(srv_->port()) + path;
    curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c.get(), CURLOPT_HTTPAUTH, CURLAUTH_DIGEST);
    std::string up = std::string("u:") + password;
    curl_easy_setopt(c.get(), CURLOPT_USERPWD, up.c_str());
    if (!body.empty() || method == "PUT") {
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    if (method == "HEAD") curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
    std::unique_ptr<curl_slist, SlistFree> list;
    headers.push_back("Expect:");
    for (const std::string& h : headers) list.reset(curl_slist_append(list.release(), h.c_str()));
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, Append);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &r.body);
    curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, Append);
    curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &r.headers);
    REQUIRE(curl_easy_perform(c.get()) == CURLE_OK);
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &r.status);
    return r;
  }
  jfs::lib::Volume* vol() { return vol_.get(); }
  jfs::meta::Context ctx() {
    jfs::meta::Context c;
    c.check_permission = false;
    return c;
  }

 private:
  std::string dir_;
  std::unique_ptr<jfs::lib::Volume> vol_;
  std::unique_ptr<wd::WebDav> dav_;
  std::unique_ptr<http::Server> srv_;
};

std::string LockTokenOf(const std::string& headers) {
  size_t p = headers.find("Lock-Token: <");
  if (p == std::string::npos) return "";
  size_t e = headers.find('>', p);
  return headers.substr(p + 13, e - p - 13);
}

}  // namespace

TEST_CASE("webdav helpers: paths, hrefs, xattr names") {
  std::string p;
  CHECK(wd::CanonicalPath("/a//b/./c/../d%20e/", &p));
  CHECK(p == "/a/b/d e");
  CHECK(wd::CanonicalPath("/../../x", &p));
  CHECK(p == "/x");
  CHECK(wd::CanonicalPath("", &p));
  CHECK(p == "/");
  CHECK_FALSE(wd::CanonicalPath("/a%2", &p));
  CHECK_FALSE(wd::CanonicalPath("/a%00b", &p));
  CHECK(wd::EncodeHref("/a b/100%/ü") == "/a%20b/100%25/%C3%BC");
  CHECK(wd::PropXattrName("http://example.com/ns", "color") ==
        "user.dav.http%3A%2F%2Fexample.com%2Fns:color");
  CHECK(wd::PropXattrName("", "x") == "user.dav.:x");
  std::string ns, name;
  CHECK(wd::ParsePropXattrName("user.dav.http%3A%2F%2Fexample.com%2Fns:color", &ns, &name));
  CHECK(ns == "http://example.com/ns");
  CHECK(name == "color");
  CHECK_FALSE(wd::ParsePropXattrName("user.s3.etag", &ns, &name));
  CHECK_FALSE(wd::ParsePropXattrName("user.dav.nocolon", &ns, &name));
}

TEST_CASE("webdav handlers over a volume") {
  Fixture f;
  SECTION("authentication") {
    CHECK(f.Do("PUT", "/x", "data", {}, "wrong").status == 401);
    jfs::meta::Attr a;
    CHECK_FALSE(f.vol()->Stat(f.ctx(), "/x", &a, nullptr).ok());
  }
  SECTION("PUT, GET, Range, collections") {
    CHECK(f.Do("PUT", "/f.txt", "hello world").status == 201);
    Reply g = f.Do("GET", "/f.txt");
    CHECK(g.status == 200);
    CHECK(g.body == "hello world");
    g = f.Do("GET", "/f.txt", "", {"Range: bytes=6-"});
    CHECK(g.status == 206);
    CHECK(g.body == "world");
    CHECK(f.Do("PUT", "/f.txt", "again").status == 204);
    CHECK(f.Do("PUT", "/no/parent", "x").status == 409);
    CHECK(f.Do("MKCOL", "/c").status == 201);
    CHECK(f.Do("MKCOL", "/c").status == 405);
    CHECK(f.Do("PUT", "/c", "x").status == 405);
    g = f.Do("GET", "/c/");
    CHECK(g.status == 200);
    CHECK(g.body.find("<html") != std::string::npos);
    CHECK(f.Do("GET", "/.jfs-webdav/tmp").status == 404);
  }
  SECTION("creationdate is the ctime, RFC 3339 with milliseconds") {
    REQUIRE(f.Do("PUT", "/t", "x").status == 201);
    jfs::meta::Attr a;
    REQUIRE(f.vol()->Stat(f.ctx(), "/t", &a, nullptr).ok());
    Reply r = f.Do("PROPFIND", "/t",
                   "<?xml version=\"1.0\"?><propfind xmlns=\"DAV:\"><prop><creationdate/>"
                   "</prop></propfind>",
                   {"Depth: 0"});
    CHECK(r.status == 207);
    const time_t t = static_cast<time_t>(a.ctime);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char secs[32], want[80];
    strftime(secs, sizeof secs, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(want, sizeof want, "creationdate>%s.%03uZ<", secs, (a.ctimensec / 1000000) % 1000);
    INFO(r.body);
    CHECK(r.body.find(want) != std::string::npos);
  }
  SECTION("dead properties are xattrs") {
    REQUIRE(f.Do("PUT", "/p", "x").status == 201);
    Reply r = f.Do("PROPPATCH", "/p",
                   "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\" "
                   "xmlns:Z=\"http://example.com/ns\"><D:set><D:prop><Z:color>blue</Z:color>"
                   "</D:prop></D:set></D:propertyupdate>");
    CHECK(r.status == 207);
    CHECK(r.body.find("200 OK") != std::string::npos);
    std::string v;
    REQUIRE(
        f.vol()->GetXattr(f.ctx(), "/p", "user.dav.http%3A%2F%2Fexample.com%2Fns:color", &v).ok());
    CHECK(v.find("blue") != std::string::npos);
    CHECK(v.find("xmlns:Z=\"http://example.com/ns\"") != std::string::npos);
    r = f.Do("PROPFIND", "/p",
             "<?xml version=\"1.0\"?><propfind xmlns=\"DAV:\"><prop><color "
             "xmlns=\"http://example.com/ns\"/><missing xmlns=\"urn:x\"/></prop></propfind>",
             {"Depth: 0"});
    CHECK(r.status == 207);
    CHECK(r.body.find(">blue<") != std::string::npos);
    CHECK(r.body.find("404 Not Found") != std::string::npos);
    // PUT over the file keeps its dead properties.
    REQUIRE(f.Do("PUT", "/p", "y").status == 204);
    CHECK(
        f.vol()->GetXattr(f.ctx(), "/p", "user.dav.http%3A%2F%2Fexample.com%2Fns:color", &v).ok());
    // A protected (live) property fails the whole update: nothing changes.
    r = f.Do("PROPPATCH", "/p",
             "<?xml version=\"1.0\"?><D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop>"
             "<D:getetag>x</D:getetag><Q:a xmlns:Q=\"urn:q\">1</Q:a></D:prop></D:set>"
             "</D:propertyupdate>");
    CHECK(r.status == 207);
    CHECK(r.body.find("403") != std::string::npos);
    CHECK(r.body.find("424") != std::string::npos);
    CHECK_FALSE(f.vol()->GetXattr(f.ctx(), "/p", "user.dav.urn%3Aq:a", &v).ok());
    // Malformed XML and undeclared prefixes are 400s.
    CHECK(f.Do("PROPPATCH", "/p", "<D:propertyupdate").status == 400);
    CHECK(f.Do("PROPFIND", "/p", "<x:propfind/>").status == 400);
    CHECK(f.Do("PROPFIND", "/p", "<propfind xmlns=\"DAV:\" xmlns:e=\"\"><allprop/></propfind>")
              .status == 400);
  }
  SECTION("locks are honoured by PUT, DELETE and MOVE") {
    REQUIRE(f.Do("PUT", "/l", "x").status == 201);
    Reply r = f.Do("LOCK", "/l",
                   "<?xml version=\"1.0\"?><D:lockinfo xmlns:D=\"DAV:\"><D:lockscope><D:exclusive/>"
                   "</D:lockscope><D:locktype><D:write/></D:locktype><D:owner>me</D:owner>"
                   "</D:lockinfo>",
                   {"Timeout: Second-100"});
    REQUIRE(r.status == 200);
    std::string token = LockTokenOf(r.headers);
    REQUIRE(!token.empty());
    CHECK(f.Do("PUT", "/l", "y").status == 423);
    CHECK(f.Do("DELETE", "/l").status == 423);
    CHECK(f.Do("MOVE", "/l", "", {"Destination: /l2"}).status == 423);
    CHECK(f.Do("PUT", "/l", "y", {"If: (<opaquelocktoken:bogus>)"}).status == 412);
    CHECK(f.Do("PUT", "/l", "y", {"If: (<" + token + ">)"}).status == 204);
    CHECK(f.Do("GET", "/l").body == "y");
    CHECK(f.Do("LOCK", "/l", "", {"If: (<" + token + ">)", "Timeout: Second-50"}).status == 200);
    CHECK(f.Do("UNLOCK", "/l", "", {"Lock-Token: <opaquelocktoken:bogus>"}).status == 409);
    CHECK(f.Do("UNLOCK", "/l", "", {"Lock-Token: <" + token + ">"}).status == 204);
    CHECK(f.Do("DELETE", "/l").status == 204);
  }
}
