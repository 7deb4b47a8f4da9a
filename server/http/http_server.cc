#include "server/http/http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cctype>
#include <cstring>
#include <ctime>
#include <exception>

namespace jfs::server::http {

std::string Request::Header(std::string_view lower_name) const {
  std::string out;
  bool found = false;
  for (const auto& [k, v] : headers) {
    if (k != lower_name) continue;
    if (found) out += ",";
    out += v;
    found = true;
  }
  return out;
}

bool Request::HasHeader(std::string_view lower_name) const {
  for (const auto& kv : headers) {
    if (kv.first == lower_name) return true;
  }
  return false;
}

namespace {

// Everything the server keeps about one request between libmicrohttpd's callbacks.
struct Exchange {
  std::unique_ptr<RequestHandler> handler;
  bool ended = false;     // OnEnd was called
  bool answered = false;  // a response was queued
  bool refused = false;   // OnBody returned false: discard the rest
};

// Reads a BodySource for libmicrohttpd.
struct SourceReader {
  std::unique_ptr<BodySource> source;
};

ssize_t ReadSource(void* cls, uint64_t pos, char* buf, size_t max) {
  auto* r = static_cast<SourceReader*>(cls);
  size_t n = 0;
  try {
    Status s = r->source->Read(pos, buf, max, &n);
    if (!s.ok()) return MHD_CONTENT_READER_END_WITH_ERROR;
  } catch (const std::exception&) {
    return MHD_CONTENT_READER_END_WITH_ERROR;
  }
  if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
  return static_cast<ssize_t>(n);
}

void FreeSource(void* cls) {
  std::unique_ptr<SourceReader> owner(static_cast<SourceReader*>(cls));
}

ssize_t ReadNothing(void*, uint64_t, char*, size_t) {
  return MHD_CONTENT_READER_END_OF_STREAM;
}

}  // namespace

struct Server::Impl {
  HandlerFactory factory;
  ServerOptions opts;
  MHD_Daemon* daemon = nullptr;

  static MHD_Result Access(void* cls, MHD_Connection* conn, const char* url, const char* method,
                           const char* version, const char* upload_data, size_t* upload_data_size,
                           void** con_cls) {
    (void)version;
    auto* self = static_cast<Impl*>(cls);
    try {
      return self->Handle(conn, url, method, upload_data, upload_data_size, con_cls);
    } catch (const std::exception&) {
      return MHD_NO;  // closes the connection; the completion callback cleans up
    }
  }

  MHD_Result Queue(MHD_Connection* conn, Exchange* ex, Response& r) {
    ex->answered = true;
    MHD_Response* resp = nullptr;
    if (r.head) {
      resp = MHD_create_response_from_callback(r.length, 4096, &ReadNothing, nullptr, nullptr);
    } else if (r.source) {
      auto reader = std::make_unique<SourceReader>();
      reader->source = std::move(r.source);
      resp = MHD_create_response_from_callback(r.length, opts.response_block_size, &ReadSource,
                                               reader.get(), &FreeSource);
      if (resp != nullptr) (void)reader.release();  // owned by the response now
    } else {
      resp = MHD_create_response_from_buffer(r.body.size(), r.body.data(), MHD_RESPMEM_MUST_COPY);
    }
    if (resp == nullptr) return MHD_NO;
    for (const auto& [k, v] : r.headers) {
      (void)MHD_add_response_header(resp, k.c_str(), v.c_str());
    }
    MHD_Result rc = MHD_queue_response(conn, static_cast<unsigned>(r.status), resp);
    MHD_destroy_response(resp);
    return rc;
  }

  MHD_Result Handle(MHD_Connection* conn, const char* url, const char* method,
                    const char* upload_data, size_t* upload_data_size, void** con_cls) {
    auto* ex = static_cast<Exchange*>(*con_cls);
    if (ex == nullptr) {
      auto owned = std::make_unique<Exchange>();
      Request req;
      req.method = method;
      req.raw_path = url;
      MHD_get_connection_values(
          conn, MHD_HEADER_KIND,
          [](void* c, MHD_ValueKind, const char* k, const char* v) -> MHD_Result {
            std::string name(k);
            for (char& ch : name)
              ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
            static_cast<Request*>(c)->headers.emplace_back(std::move(name), v ? v : "");
            return MHD_YES;
          },
          &req);
      MHD_get_connection_values(
          conn, MHD_GET_ARGUMENT_KIND,
          [](void* c, MHD_ValueKind, const char* k, const char* v) -> MHD_Result {
            static_cast<Request*>(c)->raw_query.emplace_back(k, v ? v : "");
            return MHD_YES;
          },
          &req);
      const MHD_ConnectionInfo* ci =
          MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
      if (ci != nullptr && ci->client_addr != nullptr) {
        char buf[INET6_ADDRSTRLEN] = {0};
        const sockaddr* sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
          inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
        } else if (sa->sa_family == AF_INET6) {
          inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf,
                    sizeof buf);
        }
        req.remote = buf;
      }
      owned->handler = factory(req);
      *con_cls = owned.get();
      ex = owned.release();
      Response r;
      if (ex->handler == nullptr) {
        r.status = 500;
        ex->ended = true;
        return Queue(conn, ex, r);
      }
      if (ex->handler->OnHeaders(&r)) {
        ex->ended = true;
        return Queue(conn, ex, r);
      }
      return MHD_YES;
    }
    if (ex->answered) {
      *upload_data_size = 0;
      return MHD_YES;
    }
    if (*upload_data_size > 0) {
      if (!ex->refused && !ex->handler->OnBody(std::string_view(upload_data, *upload_data_size))) {
        ex->refused = true;
      }
      *upload_data_size = 0;
      return MHD_YES;
    }
    Response r;
    ex->ended = true;
    ex->handler->OnEnd(&r);
    return Queue(conn, ex, r);
  }

  static void Completed(void* cls, MHD_Connection* conn, void** con_cls,
                        MHD_RequestTerminationCode toe) {
    (void)cls;
    (void)conn;
    (void)toe;
    std::unique_ptr<Exchange> ex(static_cast<Exchange*>(*con_cls));
    *con_cls = nullptr;
    if (ex && ex->handler && !ex->ended) {
      try {
        ex->handler->OnAbort();
      } catch (const std::exception&) {
      }
    }
  }

  // Keeps the path and query exactly as sent: protocols decode them themselves (S3 signs the
  // encoded form, and a decoded '/' or '&' would be ambiguous).
  static size_t NoUnescape(void* cls, MHD_Connection* conn, char* s) {
    (void)cls;
    (void)conn;
    return std::strlen(s);
  }
};

Status Server::Start(const ServerOptions& opts, HandlerFactory factory,
                     std::unique_ptr<Server>* out) {
  std::unique_ptr<Server> srv(new Server());
  srv->impl_ = std::make_unique<Impl>();
  Impl* impl = srv->impl_.get();
  impl->factory = std::move(factory);
  impl->opts = opts;

  sockaddr_storage ss{};
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
  if (opts.address.find(':') != std::string::npos) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(opts.port);
    if (inet_pton(AF_INET6, opts.address.c_str(), &s6->sin6_addr) != 1) {
      return Status::Invalid("bad listen address '" + opts.address + "'");
    }
    flags |= MHD_USE_IPv6;
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(opts.port);
    std::string a = opts.address.empty() ? "0.0.0.0" : opts.address;
    if (inet_pton(AF_INET, a.c_str(), &s4->sin_addr) != 1) {
      return Status::Invalid("bad listen address '" + opts.address + "' (an IP address)");
    }
  }
  const bool tls = !opts.tls_cert_pem.empty() || !opts.tls_key_pem.empty();
  if (tls) {
    if (opts.tls_cert_pem.empty() || opts.tls_key_pem.empty()) {
      return Status::Invalid("TLS needs both a certificate and a key");
    }
    if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
      return Status::NotSupported("libmicrohttpd was built without TLS");
    }
    flags |= MHD_USE_TLS;
  }
  std::vector<MHD_OptionItem> o;
  o.push_back({MHD_OPTION_SOCK_ADDR, 0, &ss});
  o.push_back({MHD_OPTION_CONNECTION_TIMEOUT, opts.idle_timeout_seconds, nullptr});
  o.push_back({MHD_OPTION_CONNECTION_LIMIT, opts.max_connections, nullptr});
  o.push_back({MHD_OPTION_NOTIFY_COMPLETED, reinterpret_cast<intptr_t>(&Impl::Completed), impl});
  o.push_back(
      {MHD_OPTION_UNESCAPE_CALLBACK, reinterpret_cast<intptr_t>(&Impl::NoUnescape), nullptr});
  // Room for long S3 query strings and many headers, and the read buffer: request bodies reach
  // OnBody in pieces of about the memory left after the headers, so a bigger pool means fewer,
  // bigger pieces (fewer write calls into the volume, hashing that pays for its hand-off).
  o.push_back(
      {MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<intptr_t>(opts.connection_memory), nullptr});
  if (tls) {
    o.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(opts.tls_cert_pem.c_str())});
    o.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(opts.tls_key_pem.c_str())});
  }
  o.push_back({MHD_OPTION_END, 0, nullptr});
  impl->daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &Impl::Access, impl, MHD_OPTION_ARRAY,
                                  o.data(), MHD_OPTION_END);
  if (impl->daemon == nullptr) {
    return Status::IOError("cannot listen on " + opts.address + ":" + std::to_string(opts.port) +
                           (tls ? " (or bad TLS certificate/key)" : " (address in use?)"));
  }
  const MHD_DaemonInfo* di = MHD_get_daemon_info(impl->daemon, MHD_DAEMON_INFO_BIND_PORT);
  srv->port_ = di != nullptr ? di->port : opts.port;
  *out = std::move(srv);
  return Status::OK();
}

Server::~Server() {
  Stop();
}

void Server::Stop() {
  if (impl_ && impl_->daemon != nullptr) {
    MHD_stop_daemon(impl_->daemon);
    impl_->daemon = nullptr;
  }
}

bool ParseListenAddress(std::string_view text, std::string* host, uint16_t* port) {
  std::string_view h, p;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return false;
    }
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) return false;
  }
  if (p.empty() || p.size() > 5) return false;
  unsigned v = 0;
  for (char c : p) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return false;
  *host = h.empty() ? "0.0.0.0" : (h == "localhost" ? "127.0.0.1" : std::string(h));
  *port = static_cast<uint16_t>(v);
  return true;
}

std::string HttpDate(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

bool ParseHttpDate(std::string_view text, int64_t* unix_seconds) {
  std::string s(text);
  struct tm tm {};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    tm = {};
    end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);  // ISO 8601 (S3 also accepts it)
    if (end == nullptr) return false;
  }
  *unix_seconds = static_cast<int64_t>(timegm(&tm));
  return true;
}

}  // namespace jfs::server::http
