// The owner of one file descriptor: closed when the owner goes away, unless released first.
// Header-only: the library, the tools, the tests and the benches all use this one.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace jfs {

class UniqueFd {
 public:
  UniqueFd() = default;
  // Takes ownership of `fd` (-1 for none).
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(std::exchange(o.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives the descriptor up without closing it.
  int Release() { return std::exchange(fd_, -1); }
  // Closes the current descriptor (ignoring errors) and owns `fd` instead.
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now and reports the outcome: 0, or -errno. close(2)'s error is, on some file systems,
  // the first sign of a failed write, so writers call this rather than letting the destructor
  // drop it. The descriptor is gone either way (Linux never reuses a failed close's fd).
  int Close() {
    const int fd = std::exchange(fd_, -1);
    if (fd < 0) return 0;
    return ::close(fd) == 0 ? 0 : -errno;
  }

 private:
  int fd_ = -1;
};

}  // namespace jfs
