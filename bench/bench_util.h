// Helpers shared by the benchmark programs under bench/: timing, failing a run, and RAII owners
// for a file descriptor and a volume handle.
#pragma once

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "juicefs/juicefs.h"
#include "util/unique_fd.h"

namespace bench {

using Clock = std::chrono::steady_clock;

// Seconds since `since`, never 0 (rates divide by it).
inline double Seconds(Clock::time_point since) {
  return std::max(std::chrono::duration<double>(Clock::now() - since).count(), 1e-9);
}

// Reports a failure and ends the run (a benchmark with a broken step has nothing to report).
[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what.c_str());
  std::exit(1);
}

// Dies when a C ABI call returned -errno, with the volume's (or the last open's) message.
inline void Check(int64_t rc, const std::string& what, jfs_fs_t* fs = nullptr) {
  if (rc < 0) {
    Die(what + ": " + std::strerror(static_cast<int>(-rc)) + " (" +
        (fs != nullptr ? jfs_last_error(fs) : jfs_last_open_error()) + ")");
  }
}

// A descriptor owner whose Close dies on failure (the first sign of a failed write on some file
// systems).
class Fd : public jfs::UniqueFd {
 public:
  using UniqueFd::UniqueFd;
  void Close(const std::string& what) {
    if (int rc = UniqueFd::Close(); rc != 0) Die(what + ": close: " + std::strerror(-rc));
  }
};

struct VolumeCloser {
  void operator()(jfs_fs_t* fs) const { jfs_close_volume(fs); }
};
using Volume = std::unique_ptr<jfs_fs_t, VolumeCloser>;

}  // namespace bench
