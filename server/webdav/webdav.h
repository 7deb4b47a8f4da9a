// WebDAV (RFC 4918 class 1 and 2) over a volume: `jfs webdav`. Every request of the http layer
// (server/http) becomes a handler that authenticates it (server/webdav/auth.h) and maps it onto
// the volume: a URL path "/a/b" is the volume's file /a/b.
//
// - PUT streams the body into a file under /.jfs-webdav/tmp and renames it into place, so a
//   reader sees the old file or the whole new one; the replaced file's dead properties and mode
//   move over to the new one. Content-Range on PUT is refused with 400 (RFC 7231 §4.3.4).
// - Dead properties (PROPPATCH) are xattrs of the file: a property {NS}name is the xattr
//   "user.dav.<percent-encoded NS>:<name>" (every byte of NS outside [A-Za-z0-9-._~] is %XX; the
//   empty namespace gives "user.dav.:name"), and its value is the property element serialized as
//   self-contained XML (its namespace declarations included), returned verbatim by PROPFIND.
// - Locks are the in-memory table of server/webdav/locks.h: seen by this server's clients only.
// - /.jfs-webdav (the server's work directory) is hidden: 404, never listed.
#pragma once

#include <memory>
#include <string>

#include "lib/inode_fs.h"
#include "lib/volume.h"
#include "server/http/http_server.h"
#include "server/webdav/auth.h"
#include "server/webdav/locks.h"

namespace jfs::server::webdav {

struct WebDavOptions {
  AuthOptions auth;
  // Most resources one PROPFIND with Depth: infinity reports; beyond it the request is refused
  // with 403 propfind-finite-depth (RFC 4918 §9.1).
  size_t max_infinity_entries = 100000;
  size_t max_xml_body = 1u << 20;  // bytes of a PROPFIND/PROPPATCH/LOCK body
};

class WebDav {
 public:
  // `volume` must outlive the server.
  WebDav(lib::Volume* volume, WebDavOptions opts);
  // Creates the work directory and removes uploads a previous run left unfinished.
  Status Init();
  std::unique_ptr<http::RequestHandler> NewHandler(const http::Request& req);

  lib::Volume* volume() const { return volume_; }
  // The inode-level view, for reading properties of listed entries without a path walk each
  // (null if it could not be made: the path API is used then).
  lib::InodeFs* inode_fs() const { return ifs_.get(); }
  const WebDavOptions& options() const { return opts_; }
  const Authenticator& auth() const { return auth_; }
  LockTable& locks() { return locks_; }

 private:
  lib::Volume* volume_;
  std::unique_ptr<lib::InodeFs> ifs_;
  WebDavOptions opts_;
  Authenticator auth_;
  LockTable locks_;
};

// Helpers exposed for the unit tests.
// Decodes a request path into the canonical volume path ("/a/b"; ".", ".." and empty segments
// resolved, never above "/"). False on a malformed escape or a NUL byte.
bool CanonicalPath(std::string_view raw, std::string* path);
// Percent-encodes a volume path for an href (bytes outside [A-Za-z0-9-._~/] become %XX).
std::string EncodeHref(std::string_view path);
// The xattr name of dead property {ns}name, and back (false for another xattr).
std::string PropXattrName(std::string_view ns, std::string_view name);
bool ParsePropXattrName(std::string_view xattr, std::string* ns, std::string* name);

}  // namespace jfs::server::webdav
