// A loopback HTTP/1.1 proxy that injects faults between the S3 client and the test server: per
// request it passes through, drops the connection, answers 500/503 SlowDown, truncates or corrupts
// the response, delays, or stalls. Each passed request goes upstream on a fresh connection with
// "Connection: close", so the proxy never has to parse chunked bodies.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace jfs::testing {

enum class Fault { kPass, kDrop, k500, k503, kTruncate, kCorrupt, kDelay, kStall };

class FaultProxy {
 public:
  // `upstream_port` on 127.0.0.1; `choose` picks the fault of each request (called concurrently).
  FaultProxy(int upstream_port, std::function<Fault()> choose)
      : upstream_port_(upstream_port), choose_(std::move(choose)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      throw std::runtime_error("fault proxy: bind/listen failed");
    }
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;
  ~FaultProxy() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    {
      std::lock_guard<std::mutex> l(mu_);
      for (int fd : open_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : workers_) t.join();
    ::close(listen_fd_);
  }

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int faults() const { return faults_; }
  int requests() const { return requests_; }

 private:
  void AcceptLoop() {
    while (!stop_) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        if (stop_) return;
        continue;
      }
      std::lock_guard<std::mutex> l(mu_);
      open_.insert(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Close(int fd) {
    {
      std::lock_guard<std::mutex> l(mu_);
      open_.erase(fd);
    }
    ::close(fd);
  }

  static bool SendAll(int fd, std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Reads one request (headers + Content-Length body) into *req; false on EOF/error.
  bool ReadRequest(int fd, std::string* buf, std::string* req) {
    size_t end;
    while ((end = buf->find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(fd, buf)) return false;
    }
    std::string head = buf->substr(0, end + 4);
    size_t body_len = 0;
    std::string lower = head;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t p = lower.find("\r\ncontent-length:");
    if (p != std::string::npos) body_len = std::stoull(lower.substr(p + 17));
    while (buf->size() < head.size() + body_len) {
      if (!ReadMore(fd, buf)) return false;
    }
    *req = buf->substr(0, head.size() + body_len);
    buf->erase(0, head.size() + body_len);
    return true;
  }

  bool ReadMore(int fd, std::string* buf) {
    char tmp[65536];
    for (;;) {
      if (stop_) return false;
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, 100);
      if (r == 0) continue;
      if (r < 0) return false;
      ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
      if (n <= 0) return false;
      buf->append(tmp, static_cast<size_t>(n));
      return true;
    }
  }

  // Sends the request upstream on a new connection and returns the whole response.
  bool Forward(std::string req, std::string* resp) {
    size_t eol = req.find("\r\n");
    req.insert(eol + 2, "Connection: close\r\n");
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_port_));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && SendAll(fd, req);
    resp->clear();
    while (ok && ReadMore(fd, resp)) {
    }
    ::close(fd);
    return ok && !resp->empty();
  }

  static std::string Canned(int code, const char* reason, const char* s3code) {
    std::string body = std::string("<?xml version=\"1.0\"?><Error><Code>") + s3code +
                       "</Code><Message>injected</Message></Error>";
    return "HTTP/1.1 " + std::to_string(code) + " " + reason +
           "\r\nContent-Type: application/xml\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
  }

  void Serve(int fd) {
    std::string buf, req, resp;
    while (!stop_ && ReadRequest(fd, &buf, &req)) {
      ++requests_;
      Fault f = choose_();
      if (f != Fault::kPass) ++faults_;
      if (f == Fault::kDrop) break;
      if (f == Fault::k500 || f == Fault::k503) {
        std::string c = f == Fault::k500 ? Canned(500, "Internal Server Error", "InternalError")
                                         : Canned(503, "Slow Down", "SlowDown");
        if (!SendAll(fd, c)) break;
        continue;
      }
      if (f == Fault::kStall) {
        // Never answer; the client's stall timeout must fire.
        for (int i = 0; i < 40 && !stop_; ++i) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        break;
      }
      if (f == Fault::kDelay) std::this_thread::sleep_for(std::chrono::milliseconds(150));
      if (!Forward(req, &resp)) break;
      size_t hdr_end = resp.find("\r\n\r\n");
      size_t body_start = hdr_end == std::string::npos ? resp.size() : hdr_end + 4;
      if (f == Fault::kTruncate) {
        // Cut inside the body when there is one, else inside the headers; then hang up.
        size_t cut = resp.size() > body_start ? body_start + (resp.size() - body_start) / 2
                                              : resp.size() / 2;
        SendAll(fd, std::string_view(resp).substr(0, cut));
        break;
      }
      if (f == Fault::kCorrupt && resp.size() > body_start) {
        resp[body_start + (resp.size() - body_start) / 2] ^= 0x20;
      }
      if (!SendAll(fd, resp)) break;
      // The upstream said "Connection: close" only to us; the client may keep its connection.
    }
    Close(fd);
  }

  int upstream_port_;
  std::function<Fault()> choose_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> faults_{0}, requests_{0};
  std::thread acceptor_;
  std::mutex mu_;
  std::set<int> open_;
  std::vector<std::thread> workers_;
};

}  // namespace jfs::testing
