// Status: the error value used by every internal layer (object/, meta/, chunk/, lib/).
//
// An OK status costs one pointer-sized null. An error carries a POSIX errno value (the code the C
// ABI will return, negated), a human-readable message, and whether retrying the same operation may
// succeed (network hiccups, busy databases, throttled object stores). The errno is the single
// vocabulary across layers: mapping to the ABI happens once, in capi/.
//
// No exceptions cross a layer boundary; functions return Status and use out-parameters.
#pragma once

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace jfs {

class [[nodiscard]] Status {
 public:
  Status() noexcept = default;  // OK
  Status(const Status& o) : rep_(o.rep_ ? std::make_unique<Rep>(*o.rep_) : nullptr) {}
  Status& operator=(const Status& o) {
    if (this != &o) rep_ = o.rep_ ? std::make_unique<Rep>(*o.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  // `code` is a positive errno value (ENOENT, EIO, ...). code 0 yields OK.
  static Status Error(int code, std::string_view msg = {}) { return Status(code, msg, false); }
  // An error after which the same call may succeed (timeouts, 5xx, SQLITE_BUSY, ...).
  static Status Retryable(int code, std::string_view msg = {}) { return Status(code, msg, true); }

  // Shorthands for the common codes.
  static Status NotFound(std::string_view msg = {}) { return Error(ENOENT, msg); }
  static Status Exists(std::string_view msg = {}) { return Error(EEXIST, msg); }
  static Status Invalid(std::string_view msg = {}) { return Error(EINVAL, msg); }
  static Status IOError(std::string_view msg = {}) { return Error(EIO, msg); }
  static Status Corruption(std::string_view msg) { return Error(EIO, msg); }
  static Status NotSupported(std::string_view msg = {}) { return Error(ENOTSUP, msg); }

  bool ok() const { return rep_ == nullptr; }
  explicit operator bool() const { return ok(); }
  int code() const { return rep_ ? rep_->code : 0; }  // errno, 0 when OK
  bool retryable() const { return rep_ && rep_->retryable; }
  bool Is(int code_) const { return code() == code_; }
  bool IsNotFound() const { return code() == ENOENT; }
  const std::string& message() const;  // empty when OK or when no message was given
  // "ENOENT: message" style text for logs and the ABI's last-error string.
  std::string ToString() const;

  // Returns a copy with `context + ": "` prepended to the message.
  Status WithContext(std::string_view context) const;

 private:
  struct Rep {
    int code;
    bool retryable;
    std::string msg;
  };
  Status(int code, std::string_view msg, bool retryable);
  std::unique_ptr<Rep> rep_;
};

// Name of an errno value ("ENOENT"), or "E<number>" when unknown.
const char* ErrnoName(int code);

}  // namespace jfs

// Propagate a non-OK status to the caller.
#define JFS_RETURN_IF_ERROR(expr)             \
  do {                                        \
    ::jfs::Status _jfs_st = (expr);           \
    if (!_jfs_st.ok()) return _jfs_st;        \
  } while (0)
