// rw_fuzz TESTFILE MODELFILE SEED OPS: a randomized pwrite/pread/ftruncate/mmap/fsync/reopen
// workload applied to TESTFILE (on the mount) and MODELFILE (a local file, the model) alike.
// Every read is compared with the model's; at the end the whole files are compared, after a
// reopen. Prints the seed and the failing operation on a mismatch; exits 1.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

unsigned long long g_seed = 0;
long g_op = 0;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "rw_fuzz: FAILED at op %ld (seed %llu): %s (errno %s)\n", g_op, g_seed, what,
               std::strerror(errno));
  std::exit(1);
}

struct Pair {
  const char* test_path;
  const char* model_path;
  int t = -1, m = -1;
  void Open() {
    t = open(test_path, O_RDWR | O_CREAT, 0644);
    m = open(model_path, O_RDWR | O_CREAT, 0644);
    if (t < 0 || m < 0) Fail("open");
  }
  void Close() {
    if (close(t) != 0) Fail("close test file");
    close(m);
  }
};

off_t Size(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) Fail("fstat");
  return st.st_size;
}

void ReadAll(int fd, off_t size, std::vector<char>* out) {
  out->assign(static_cast<size_t>(size), 0);
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n = pread(fd, out->data() + done, out->size() - done, static_cast<off_t>(done));
    if (n < 0) Fail("pread (whole file)");
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out->resize(done);
}

void Compare(Pair& p, const char* when) {
  off_t ts = Size(p.t), ms = Size(p.m);
  if (ts != ms) {
    std::fprintf(stderr, "size %lld vs model %lld\n", static_cast<long long>(ts),
                 static_cast<long long>(ms));
    Fail(when);
  }
  std::vector<char> a, b;
  ReadAll(p.t, ts, &a);
  ReadAll(p.m, ms, &b);
  if (a != b) {
    size_t i = 0;
    while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
    std::fprintf(stderr, "content differs at byte %zu (read %zu vs %zu bytes)\n", i, a.size(),
                 b.size());
    Fail(when);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: rw_fuzz TESTFILE MODELFILE SEED OPS\n");
    return 2;
  }
  g_seed = std::strtoull(argv[3], nullptr, 10);
  const long ops = std::strtol(argv[4], nullptr, 10);
  std::printf("rw_fuzz seed %llu, %ld ops\n", g_seed, ops);
  std::fflush(stdout);
  std::mt19937_64 rng(g_seed);
  auto rnd = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  constexpr uint64_t kMaxSize = 12ull << 20;  // crosses block (4 MiB) boundaries
  Pair p{argv[1], argv[2]};
  unlink(p.test_path);
  unlink(p.model_path);
  p.Open();
  std::vector<char> buf, got, want;
  for (g_op = 0; g_op < ops; ++g_op) {
    const uint64_t kind = rnd(100);
    const off_t size = Size(p.m);
    if (kind < 40) {  // pwrite
      uint64_t len = rnd(4) == 0 ? rnd(2u << 20) + 1 : rnd(64u << 10) + 1;
      uint64_t off = rnd(kMaxSize - len);
      if (rnd(3) == 0 && size > 0) off = rnd(static_cast<uint64_t>(size));  // near existing data
      buf.resize(len);
      for (auto& c : buf) c = static_cast<char>(rng());
      if (pwrite(p.t, buf.data(), len, static_cast<off_t>(off)) != static_cast<ssize_t>(len))
        Fail("pwrite");
      if (pwrite(p.m, buf.data(), len, static_cast<off_t>(off)) != static_cast<ssize_t>(len))
        Fail("pwrite model");
    } else if (kind < 70) {  // pread
      uint64_t len = rnd(1u << 20) + 1;
      uint64_t off = rnd(static_cast<uint64_t>(size) + (1u << 20));
      got.assign(len, 0);
      want.assign(len, 0);
      ssize_t a = pread(p.t, got.data(), len, static_cast<off_t>(off));
      ssize_t b = pread(p.m, want.data(), len, static_cast<off_t>(off));
      if (a != b) {
        std::fprintf(stderr, "pread at %llu len %llu: %zd vs model %zd\n",
                     static_cast<unsigned long long>(off), static_cast<unsigned long long>(len), a,
                     b);
        Fail("pread length");
      }
      if (a > 0 && std::memcmp(got.data(), want.data(), static_cast<size_t>(a)) != 0)
        Fail("pread content");
    } else if (kind < 78) {  // ftruncate
      uint64_t len = rnd(kMaxSize);
      if (rnd(2) == 0) len = static_cast<uint64_t>(size) / 2;
      if (ftruncate(p.t, static_cast<off_t>(len)) != 0) Fail("ftruncate");
      if (ftruncate(p.m, static_cast<off_t>(len)) != 0) Fail("ftruncate model");
    } else if (kind < 86) {  // mmap write + read inside the current size
      if (size <= 0) continue;
      uint64_t off = rnd(static_cast<uint64_t>(size));
      uint64_t len = std::min<uint64_t>(rnd(256u << 10) + 1, static_cast<uint64_t>(size) - off);
      const uint64_t page = 4096, start = off / page * page;
      const size_t maplen = static_cast<size_t>(off + len - start);
      void* mt =
          mmap(nullptr, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, p.t, static_cast<off_t>(start));
      if (mt == MAP_FAILED) Fail("mmap");
      void* mm =
          mmap(nullptr, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, p.m, static_cast<off_t>(start));
      if (mm == MAP_FAILED) Fail("mmap model");
      if (std::memcmp(mt, mm, maplen) != 0) Fail("mmap content before write");
      buf.resize(len);
      for (auto& c : buf) c = static_cast<char>(rng());
      std::memcpy(static_cast<char*>(mt) + (off - start), buf.data(), len);
      std::memcpy(static_cast<char*>(mm) + (off - start), buf.data(), len);
      if (msync(mt, maplen, MS_SYNC) != 0) Fail("msync");
      munmap(mt, maplen);
      munmap(mm, maplen);
    } else if (kind < 92) {  // fsync
      if (fsync(p.t) != 0) Fail("fsync");
    } else if (kind < 96) {  // close and reopen (close-to-open)
      p.Close();
      p.Open();
    } else {
      Compare(p, "compare");
    }
  }
  p.Close();
  p.Open();
  Compare(p, "final compare after reopen");
  const long long final_size = static_cast<long long>(Size(p.m));
  p.Close();
  std::printf("rw_fuzz: %ld ops OK, final size %lld\n", ops, final_size);
  return 0;
}
