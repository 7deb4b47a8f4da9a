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

}  // namespace jfs::chunk
