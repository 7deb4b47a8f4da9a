// Memory for whole blocks (up to 16 MiB), mapped straight from the kernel.
//
// Why not new[]: glibc serves a freed 4 MiB chunk back from its arenas afterwards and seldom
// returns arena memory to the kernel, and every thread allocates from its own arena, so memory
// freed by one layer (write buffers) stayed resident while another (the read cache, on download
// threads) took fresh pages. With mmap/munmap, freeing a block returns it to the kernel at once,
// which is what keeps a volume's resident memory within its buffer-size.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace jfs::chunk {

struct BlockUnmapper {
  size_t len = 0;
  void operator()(char* p) const {
    if (p != nullptr) ::munmap(p, len);
  }
};

using BlockBuffer = std::unique_ptr<char, BlockUnmapper>;

// `len` bytes of zeroed, private, anonymous memory; null if the kernel refuses (ENOMEM).
inline BlockBuffer AllocBlockBuffer(size_t len) {
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return BlockBuffer(nullptr, BlockUnmapper{len});
  return BlockBuffer(static_cast<char*>(p), BlockUnmapper{len});
}

// Recycles block buffers of one size. A fresh 4 MiB mapping is new memory from the kernel: every
// page faults and is zeroed on first touch, which cost ~10% of a big write's CPU and a quarter of
// a cached read's. Keeps at most `max_free` idle buffers; ReleaseIfIdle frees them after a quiet
// period, ReleaseNow at once. Thread-safe.
class BufferPool {
 public:
  BufferPool(uint32_t size, size_t max_free) : size_(size), max_free_(max_free) {
    free_.reserve(max_free_);  // Put never allocates
  }

  // Null when the kernel has no memory.
  BlockBuffer Get() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      used_ = true;
      if (!free_.empty()) {
        auto b = std::move(free_.back());
        free_.pop_back();
        return b;
      }
    }
    return AllocBlockBuffer(size_);
  }

  void Put(BlockBuffer b) {
    if (!b) return;
    std::lock_guard<std::mutex> lock(mu_);
    used_ = true;
    if (free_.size() < max_free_) free_.push_back(std::move(b));
  }

  void ReleaseIfIdle() { Release(true); }
  void ReleaseNow() { Release(false); }

 private:
  // Frees the idle buffers. clear(), not a swap with an empty vector: free_ keeps the capacity
  // reserved in the constructor, so Put never allocates (it runs in upload threads, where a
  // bad_alloc would have nowhere to go).
  void Release(bool only_if_unused) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!only_if_unused || !used_) free_.clear();
    used_ = false;
  }

 private:
  const uint32_t size_;
  const size_t max_free_;
  std::mutex mu_;
  std::vector<BlockBuffer> free_;
  bool used_ = false;  // since the last ReleaseIfIdle
};

}  // namespace jfs::chunk
