// A small embedded HTTP/1.1 server over libmicrohttpd, shared by the protocol servers of the `jfs`
// tool (the S3 gateway; the WebDAV server next). It owns the listening socket, one thread per
// connection, TLS, idle timeouts and shutdown; protocols only see requests and responses.
//
// Bodies stream in both directions: a request body reaches the handler chunk by chunk as it
// arrives (OnBody), and a response body is pulled from a BodySource in blocks as the client reads
// it, so an object of any size never sits in memory.
//
// Request life: the server calls the protocol's Start(request) once the headers are in, then the
// returned handler's OnHeaders (which may answer at once: the body is then not read), OnBody for
// each piece of the body, and OnEnd for the response. When the client goes away or times out
// before OnEnd (short body, dropped connection) the server calls OnAbort instead, so the handler
// can undo what it started (e.g. delete a half-written upload). Exactly one of OnEnd / OnAbort is
// called after OnHeaders returned false.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/percent.h"
#include "util/status.h"

namespace jfs::server::http {

struct Request {
  std::string method;    // "GET", "PUT", ...
  std::string raw_path;  // as sent (still percent-encoded), without the query string
  // Query parameters in order, still percent-encoded; a parameter without '=' has an empty value.
  std::vector<std::pair<std::string, std::string>> raw_query;
  // Header names lower-cased, values as sent; repeated headers appear once each.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string remote;  // peer address, "127.0.0.1"

  // The value of header `lower_name` (repeated headers joined with ","), "" when absent.
  std::string Header(std::string_view lower_name) const;
  bool HasHeader(std::string_view lower_name) const;
};

// The body of a response, read block by block while the client receives it.
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Fills up to `size` bytes at `offset` of the body into `buf`; *n = 0 only at the end.
  virtual Status Read(uint64_t offset, char* buf, size_t size, size_t* n) = 0;
};

struct Response {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  // Either a body in memory, or a streamed source of `length` bytes (length is always known:
  // Content-Length is sent, never chunked encoding).
  std::string body;
  std::unique_ptr<BodySource> source;
  uint64_t length = 0;
  // HEAD: send Content-Length = length but no body.
  bool head = false;

  void SetHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Right after the headers. Returns true when *resp is the final answer (the body, if any, is
  // then discarded and the connection closed after the response).
  virtual bool OnHeaders(Response* resp) {
    (void)resp;
    return false;
  }
  // A piece of the request body. Returns false to stop taking the body: the rest is discarded
  // and OnEnd is still called (the handler remembers why and answers with the error).
  virtual bool OnBody(std::string_view data) = 0;
  // The whole body was received (or OnBody refused it): produce the response.
  virtual void OnEnd(Response* resp) = 0;
  // The request ended without OnEnd (client disconnected, timed out, body shorter than declared).
  virtual void OnAbort() {}
};

// Builds the handler of one request. Called on the connection's thread; may block.
using HandlerFactory = std::function<std::unique_ptr<RequestHandler>(const Request&)>;

struct ServerOptions {
  std::string address = "127.0.0.1";      // IPv4 or IPv6 literal, "0.0.0.0" for all
  uint16_t port = 0;                      // 0: any free port (see Server::port())
  std::string tls_cert_pem, tls_key_pem;  // both set: HTTPS
  unsigned idle_timeout_seconds = 60;     // a connection silent this long is closed
  unsigned max_connections = 256;
  size_t response_block_size = 1u << 20;  // bytes pulled from a BodySource at a time
  size_t connection_memory = 1u << 20;    // per connection: headers + request body buffer
};

class Server {
 public:
  // Starts listening and serving on background threads.
  static Status Start(const ServerOptions& opts, HandlerFactory factory,
                      std::unique_ptr<Server>* out);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  uint16_t port() const { return port_; }
  // Stops accepting, closes the listening socket and waits for the connection threads (requests
  // in flight are cut off; their handlers get OnAbort). Idempotent.
  void Stop();

  struct Impl;

 private:
  Server() = default;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

// Splits "host:port", "[v6]:port" or ":port" into its parts. False on a malformed address.
bool ParseListenAddress(std::string_view text, std::string* host, uint16_t* port);

// Percent-decoding of a URL component (util/percent.h); '+' stays '+'. False on a malformed
// escape.
using ::jfs::PercentDecode;

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 7231 IMF-fixdate) and back; Parse returns false on junk.
std::string HttpDate(int64_t unix_seconds);
bool ParseHttpDate(std::string_view text, int64_t* unix_seconds);

}  // namespace jfs::server::http
