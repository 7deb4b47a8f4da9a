// The local disk block cache (see disk_cache.h).
//
// Index: per directory, the cached blocks (key → file size, last use) in a hash map plus a vector
// of keys for uniform random picks (2-random eviction); staged keys in a set. A block being
// written is in the index with `ready == false`: readers miss it, other writers skip it.
#include "chunk/disk_cache.h"

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "chunk/block_buffer.h"
#include "object/sigv4.h"

namespace jfs::chunk {
namespace {

constexpr uint32_t kSegment = 32u << 10;  // bytes per checksum
constexpr uint32_t kMaxBlock = 16u << 20;

void Warn(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void Warn(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "libjuicefs: cache: %s\n", buf);
}

uint32_t Segments(uint32_t blen) {
  return (blen + kSegment - 1) / kSegment;
}
uint64_t FileSize(uint32_t blen) {
  return uint64_t{blen} + 4ull * Segments(blen);
}

// blen from a key "chunks/.../{id}_{indx}_{blen}"; false when the name is not a block's.
bool ParseBlockLen(std::string_view key, uint32_t* blen) {
  if (key.substr(0, 7) != "chunks/") return false;
  const size_t slash = key.rfind('/');
  std::string_view name = key.substr(slash + 1);
  const size_t u1 = name.find('_');
  const size_t u2 = name.rfind('_');
  if (u1 == std::string_view::npos || u1 == u2 || u2 + 1 >= name.size()) return false;
  uint64_t v = 0;
  for (char c : name.substr(u2 + 1)) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
    if (v > kMaxBlock) return false;
  }
  if (v == 0) return false;
  *blen = static_cast<uint32_t>(v);
  return true;
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes, reporting the error (a deferred write error shows up here).
  int Close() {
    int r = fd_ >= 0 ? ::close(fd_) : 0;
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

bool PreadAll(int fd, char* dst, size_t len, uint64_t off) {
  while (len > 0) {
    ssize_t n = ::pread(fd, dst, len, static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    dst += n;
    len -= static_cast<size_t>(n);
    off += static_cast<uint64_t>(n);
  }
  return true;
}

bool WriteAll(int fd, const char* src, size_t len) {
  while (len > 0) {
    ssize_t n = ::write(fd, src, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    src += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

std::string ErrnoText(int err) {
  return std::string(std::strerror(err));
}

bool FsyncDir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return fd.get() >= 0 && ::fsync(fd.get()) == 0;
}

// mkdir -p of `dir` (absolute or relative), making each new directory durable when `durable`.
bool MakeDirs(const std::string& dir, bool durable) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
  const size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (!MakeDirs(dir.substr(0, slash), durable)) return false;
  }
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return false;
  if (durable && slash != std::string::npos) FsyncDir(slash == 0 ? "/" : dir.substr(0, slash));
  return true;
}

std::string Parent(const std::string& path) {
  return path.substr(0, path.find_last_of('/'));
}

// The checksum trailer of `data`.
std::string Checksums(std::string_view data) {
  const uint32_t n = Segments(static_cast<uint32_t>(data.size()));
  std::string out(4ull * n, '\0');
  for (uint32_t i = 0; i < n; ++i) {
    const size_t from = size_t{i} * kSegment;
    const uint32_t crc =
        object::sigv4::Crc32c(data.substr(from, std::min<size_t>(kSegment, data.size() - from)));
    for (int b = 0; b < 4; ++b) out[4 * i + b] = static_cast<char>((crc >> (8 * b)) & 0xff);
  }
  return out;
}

uint32_t LoadLE32(const char* p) {
  return static_cast<uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[3])) << 24;
}

// Writes `block` + checksums to `path` via a temporary file and a rename (no fsync: staged blocks
// are made durable by SyncStaged when the file is fsync'd).
Status WriteBlockFile(const std::string& path, std::string_view block) {
  const std::string dir = Parent(path);
  if (!MakeDirs(dir, false)) {
    return Status::IOError("cannot create cache directory " + dir + ": " + ErrnoText(errno));
  }
  static std::atomic<uint64_t> seq{0};
  const std::string tmp =
      path + "." + std::to_string(::getpid()) + "." + std::to_string(seq.fetch_add(1)) + ".tmp";
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (fd.get() < 0) return Status::IOError("cannot create " + tmp + ": " + ErrnoText(errno));
  const std::string sums = Checksums(block);
  bool ok = WriteAll(fd.get(), block.data(), block.size()) &&
            WriteAll(fd.get(), sums.data(), sums.size());
  const int err = errno;
  if (fd.Close() != 0) ok = false;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok ? errno : err;
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write cache file " + path + ": " + ErrnoText(e));
  }
  return Status::OK();
}

enum class Verify { kNone, kFull, kShrink, kExtend };

// Reads bytes [off, off+len) of the block file `path` (of blen data bytes) into dst, verifying
// checksums per `level`. False on any mismatch or error.
bool ReadBlockFile(const std::string& path, uint32_t blen, uint32_t off, uint32_t len, char* dst,
                   Verify level, bool* bad) {
  *bad = false;
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return false;  // evicted or removed meanwhile: a plain miss
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return false;
  if (static_cast<uint64_t>(st.st_size) != FileSize(blen)) {
    *bad = true;
    return false;
  }
  if (level == Verify::kNone) {
    if (!PreadAll(fd.get(), dst, len, off)) *bad = true;
    return !*bad;
  }
  const uint32_t nseg = Segments(blen);
  std::string sums(4ull * nseg, '\0');
  if (!PreadAll(fd.get(), sums.data(), sums.size(), blen)) {
    *bad = true;
    return false;
  }
  uint32_t s0 = off / kSegment, s1 = (off + len - 1) / kSegment;  // segments the read touches
  if (level == Verify::kFull) s0 = 0, s1 = nseg - 1;
  auto seg_end = [&](uint32_t s) { return std::min<uint64_t>(blen, uint64_t{s + 1} * kSegment); };
  const uint64_t end = uint64_t{off} + len;
  // Segments inside [off, end) are read straight into dst and verified there; the others into a
  // scratch segment, verified (unless level is shrink), and the needed part copied.
  std::unique_ptr<char[]> scratch;
  uint32_t s = s0;
  while (s <= s1) {
    const uint64_t ss = uint64_t{s} * kSegment, se = seg_end(s);
    if (ss >= off && se <= end) {
      uint32_t t = s;  // a run of inner segments: one pread
      while (t + 1 <= s1 && uint64_t{t + 1} * kSegment >= off && seg_end(t + 1) <= end) ++t;
      const uint64_t re = seg_end(t);
      if (!PreadAll(fd.get(), dst + (ss - off), re - ss, ss)) {
        *bad = true;
        return false;
      }
      for (uint32_t k = s; k <= t; ++k) {
        const uint64_t ks = uint64_t{k} * kSegment;
        std::string_view seg(dst + (ks - off), seg_end(k) - ks);
        if (object::sigv4::Crc32c(seg) != LoadLE32(sums.data() + 4 * k)) {
          *bad = true;
          return false;
        }
      }
      s = t + 1;
      continue;
    }
    const bool overlaps = se > off && ss < end;
    if (level == Verify::kShrink) {  // partial segments are read unverified
      if (overlaps) {
        const uint64_t from = std::max<uint64_t>(ss, off), to = std::min<uint64_t>(se, end);
        if (!PreadAll(fd.get(), dst + (from - off), to - from, from)) {
          *bad = true;
          return false;
        }
      }
      ++s;
      continue;
    }
    if (!scratch) scratch = std::make_unique_for_overwrite<char[]>(kSegment);
    if (!PreadAll(fd.get(), scratch.get(), se - ss, ss)) {
      *bad = true;
      return false;
    }
    if (object::sigv4::Crc32c(std::string_view(scratch.get(), se - ss)) !=
        LoadLE32(sums.data() + 4 * s)) {
      *bad = true;
      return false;
    }
    if (overlaps) {
      const uint64_t from = std::max<uint64_t>(ss, off), to = std::min<uint64_t>(se, end);
      std::memcpy(dst + (from - off), scratch.get() + (from - ss), to - from);
    }
    ++s;
  }
  return true;
}

struct Item {
  uint64_t size = 0;  // file size
  uint64_t atime = 0;
  size_t pos = 0;  // in CacheDir::keys
  bool ready = false;
};

struct CacheDir {
  std::string root;  // D/{UUID}
  uint64_t capacity = 0;
  bool usable = true;
  bool warned = false;
  std::unordered_map<std::string, Item> items;
  std::vector<std::string> keys;
  std::unordered_set<std::string> staged;
  uint64_t used = 0;

  std::string RawPath(const std::string& key) const { return root + "/raw/" + key; }
  std::string StagePath(const std::string& key) const { return root + "/rawstaging/" + key; }
};

class DiskCacheImpl final : public DiskCache {
 public:
  explicit DiskCacheImpl(const DiskCacheConfig& c) : cfg_(c) {
    if (c.checksum == "none") level_ = Verify::kNone;
    if (c.checksum == "full") level_ = Verify::kFull;
    if (c.checksum == "shrink") level_ = Verify::kShrink;
    dirs_.resize(c.dirs.size());
    for (size_t i = 0; i < c.dirs.size(); ++i) {
      std::string d = c.dirs[i];
      while (d.size() > 1 && d.back() == '/') d.pop_back();
      dirs_[i].root = d + "/" + c.uuid;
      dirs_[i].capacity = c.capacity / c.dirs.size();
    }
  }

  void Init() {
    for (auto& d : dirs_) {
      if (!MakeDirs(d.root + "/raw", false) || !MakeDirs(d.root + "/rawstaging", true)) {
        Warn("directory %s is not usable (%s); reading and writing without it", d.root.c_str(),
             std::strerror(errno));
        d.usable = false;
        d.warned = true;
        continue;
      }
      Scan(d, d.root + "/raw",
           [&](const std::string& key, const std::string& path, uint64_t size, uint64_t atime) {
             uint32_t blen = 0;
             if (!ParseBlockLen(key, &blen) || size != FileSize(blen) || d.items.count(key) != 0) {
               ::unlink(path.c_str());
               return;
             }
             Item it;
             it.size = size;
             it.atime = atime;
             it.ready = true;
             AddLocked(d, key, it);
           });
      Scan(d, d.root + "/rawstaging",
           [&](const std::string& key, const std::string& path, uint64_t size, uint64_t) {
             uint32_t blen = 0;
             // A staged file torn by a crash before the fsync that would have made it durable
             // (SyncStaged) has the wrong size (dropped here) or wrong checksums (ReadStaged).
             if (!ParseBlockLen(key, &blen) || size != FileSize(blen)) {
               ::unlink(path.c_str());
               return;
             }
             d.staged.insert(key);
           });
      // Over capacity (e.g. a smaller cache-size than last time): evict now.
      std::lock_guard<std::mutex> lock(mu_);
      while (d.used > d.capacity && !d.keys.empty()) EvictOneLocked(d);
    }
  }

  bool Load(const std::string& key, uint32_t blen, uint32_t off, uint32_t len, char* dst) override {
    if (len == 0) return true;
    CacheDir& d = DirOf(key);
    std::string path;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = d.items.find(key);
      if (it != d.items.end() && it->second.ready) {
        it->second.atime = Now();
        path = d.RawPath(key);
      } else if (d.staged.count(key) != 0) {
        path = d.StagePath(key);
      } else {
        for (auto& o : dirs_) {  // staged by a run with other cache dirs
          if (o.staged.count(key) != 0) {
            path = o.StagePath(key);
            break;
          }
        }
      }
    }
    bool bad = false;
    if (!path.empty() && ReadBlockFile(path, blen, off, len, dst, level_, &bad)) {
      hit_ops_++;
      hit_bytes_ += len;
      return true;
    }
    if (bad) {
      bad_blocks_++;
      Warn("dropping damaged cache file %s", path.c_str());
      std::lock_guard<std::mutex> lock(mu_);
      if (path == d.RawPath(key)) {
        auto it = d.items.find(key);
        if (it != d.items.end() && it->second.ready) RemoveItemLocked(d, key);
      }
      // A damaged staged block stays: it is the only copy of acknowledged data, and the uploader
      // reports it rather than uploading garbage.
    }
    miss_ops_++;
    miss_bytes_ += len;
    return false;
  }

  bool Contains(const std::string& key) override {
    CacheDir& d = DirOf(key);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = d.items.find(key);
    return (it != d.items.end() && it->second.ready) || d.staged.count(key) != 0;
  }

  void Cache(const std::string& key, std::string_view block) override {
    CacheDir& d = DirOf(key);
    const uint64_t size = FileSize(static_cast<uint32_t>(block.size()));
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!d.usable || d.capacity == 0 || d.items.count(key) != 0) return;
      // The cache disk is behind: dropping the block costs a later miss, waiting for the disk
      // would cost this read or upload now (JuiceFS drops too).
      if (queued_bytes_ + block.size() > kMaxQueuedCacheBytes) return;
      if (!ReserveLocked(d, size)) return;
      if (StartWriterLocked()) {  // else (no thread) written below, in the caller's thread
        try {
          queue_.push_back({&d, key, std::string(block)});
        } catch (const std::bad_alloc&) {
          return;
        }
        queued_bytes_ += block.size();
        queued = true;
      }
      Item it;
      it.size = size;
      it.atime = Now();
      AddLocked(d, key, it);  // not ready: readers miss it, other writers skip it
    }
    if (queued) {
      queue_cv_.notify_one();
    } else {
      WriteCached(d, key, block);
    }
  }

  void Drain() override {
    std::unique_lock<std::mutex> lock(mu_);
    drained_cv_.wait(lock, [this] { return queue_.empty() && writing_ == 0; });
  }

  ~DiskCacheImpl() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;  // the writer empties the queue first
    }
    queue_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  Status SyncStaged() override {
    std::vector<std::string> roots;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& d : dirs_) {
        if (d.usable && !d.staged.empty()) roots.push_back(d.root + "/rawstaging");
      }
    }
    for (const auto& root : roots) {
      Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (fd.get() < 0 || ::syncfs(fd.get()) != 0) {
        return Status::IOError("cannot sync cache directory " + root + ": " + ErrnoText(errno));
      }
    }
    return Status::OK();
  }

  Status Stage(const std::string& key, std::string_view block) override {
    CacheDir& d = DirOf(key);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!d.usable) return Status::IOError("cache directory " + d.root + " is not usable");
    }
    if (!HasFreeSpace(d, FileSize(static_cast<uint32_t>(block.size())))) {
      return Status::Error(ENOSPC, "cache disk of " + d.root + " is full");
    }
    JFS_RETURN_IF_ERROR(WriteBlockFile(d.StagePath(key), block));
    std::lock_guard<std::mutex> lock(mu_);
    d.staged.insert(key);
    write_ops_++;
    write_bytes_ += block.size();
    return Status::OK();
  }

  Status ReadStaged(const std::string& key, std::string* block) override {
    uint32_t blen = 0;
    if (!ParseBlockLen(key, &blen)) return Status::Invalid("not a block key: " + key);
    std::string path;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& d : dirs_) {
        if (d.staged.count(key) != 0) path = d.StagePath(key);
      }
    }
    if (path.empty()) return Status::NotFound("block " + key + " is not staged");
    try {
      block->resize(blen);
    } catch (const std::bad_alloc&) {
      return Status::Error(ENOMEM, "cannot allocate a staged block");
    }
    bool bad = false;
    if (ReadBlockFile(path, blen, 0, blen, block->data(), Verify::kFull, &bad)) {
      return Status::OK();
    }
    if (!bad && ::access(path.c_str(), F_OK) != 0) {
      return Status::NotFound("block " + key + " is not staged");
    }
    return Status::IOError("staged block " + path + " is damaged");
  }

  void Uploaded(const std::string& key) override {
    CacheDir* from = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& d : dirs_) {
        if (d.staged.erase(key) != 0) from = &d;
      }
    }
    if (from == nullptr) return;
    const std::string staged = from->StagePath(key);
    CacheDir& d = DirOf(key);
    uint32_t blen = 0;
    bool keep = false;
    if (ParseBlockLen(key, &blen)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (d.usable && d.capacity > 0 && d.items.count(key) == 0 &&
          ReserveLocked(d, FileSize(blen))) {
        Item it;
        it.size = FileSize(blen);
        it.atime = Now();
        it.ready = true;
        const std::string raw = d.RawPath(key);
        if (MakeDirs(Parent(raw), false) && ::rename(staged.c_str(), raw.c_str()) == 0) {
          AddLocked(d, key, it);
          keep = true;
        }
      }
    }
    if (!keep) ::unlink(staged.c_str());
  }

  void Remove(const std::string& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& d : dirs_) {
      auto it = d.items.find(key);
      if (it != d.items.end()) {
        if (it->second.ready) {
          RemoveItemLocked(d, key);
        } else {
          RemoveIndexLocked(d, key);  // the writer unlinks the file when it finishes
        }
      }
      if (d.staged.erase(key) != 0) ::unlink(d.StagePath(key).c_str());
    }
  }

  std::vector<std::string> StagedKeys() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (auto& d : dirs_) out.insert(out.end(), d.staged.begin(), d.staged.end());
    return out;
  }

  DiskCacheStats Stats() override {
    DiskCacheStats s;
    s.hit_ops = hit_ops_;
    s.hit_bytes = hit_bytes_;
    s.miss_ops = miss_ops_;
    s.miss_bytes = miss_bytes_;
    s.write_ops = write_ops_;
    s.write_bytes = write_bytes_;
    s.evicted_ops = evicted_ops_;
    s.evicted_bytes = evicted_bytes_;
    s.bad_blocks = bad_blocks_;
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& d : dirs_) {
      s.used_bytes += d.used;
      s.blocks += d.keys.size();
      s.staged_blocks += d.staged.size();
    }
    return s;
  }

 private:
  struct Queued {
    CacheDir* dir;
    std::string key;
    std::string block;
  };

  // Starts the background writer on first use. Requires mu_. False when no thread can be made
  // (the caller then writes itself).
  bool StartWriterLocked() {
    if (writer_.joinable()) return true;
    if (stop_) return false;
    try {
      writer_ = std::thread([this] { WriterLoop(); });
    } catch (const std::system_error&) {
      return false;
    }
    return true;
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      queue_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      Queued q = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= q.block.size();
      ++writing_;
      lock.unlock();
      WriteCached(*q.dir, q.key, q.block);
      q.block = std::string();  // free before waiting
      lock.lock();
      --writing_;
      if (queue_.empty() && writing_ == 0) drained_cv_.notify_all();
    }
  }

  // Writes a block whose index entry Cache added (not ready) and marks it ready; undoes the entry
  // when the write fails, and deletes the file when Remove dropped the entry meanwhile.
  void WriteCached(CacheDir& d, const std::string& key, std::string_view block) {
    Status st = WriteBlockFile(d.RawPath(key), block);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = d.items.find(key);
    if (!st.ok()) {
      if (!d.warned) Warn("%s; going on without caching there", st.message().c_str());
      d.warned = true;
      if (it != d.items.end()) RemoveIndexLocked(d, key);
      return;
    }
    if (it == d.items.end()) {  // removed while being written
      ::unlink(d.RawPath(key).c_str());
      return;
    }
    it->second.ready = true;
    write_ops_++;
    write_bytes_ += block.size();
  }

  static uint64_t Now() {
    return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }

  CacheDir& DirOf(const std::string& key) {
    return dirs_[std::hash<std::string>()(key) % dirs_.size()];
  }

  void AddLocked(CacheDir& d, const std::string& key, Item it) {
    it.pos = d.keys.size();
    d.keys.push_back(key);
    d.used += it.size;
    d.items[key] = it;
  }

  // Drops `key` from the index (not the file).
  void RemoveIndexLocked(CacheDir& d, const std::string& key) {
    auto it = d.items.find(key);
    if (it == d.items.end()) return;
    const size_t pos = it->second.pos;
    d.used -= it->second.size;
    if (pos + 1 != d.keys.size()) {
      d.keys[pos] = std::move(d.keys.back());
      d.items[d.keys[pos]].pos = pos;
    }
    d.keys.pop_back();
    d.items.erase(key);
  }

  void RemoveItemLocked(CacheDir& d, const std::string& key) {
    ::unlink(d.RawPath(key).c_str());
    RemoveIndexLocked(d, key);
  }

  // Evicts one ready block (2-random); false when none can go.
  bool EvictOneLocked(CacheDir& d) {
    if (d.keys.empty()) return false;
    std::uniform_int_distribution<size_t> pick(0, d.keys.size() - 1);
    const std::string* victim = nullptr;
    uint64_t oldest = UINT64_MAX;
    for (int tries = 0; tries < 8 && victim == nullptr; ++tries) {
      for (int k = 0; k < 2; ++k) {
        const std::string& key = d.keys[pick(rng_)];
        const Item& it = d.items[key];
        if (it.ready && it.atime < oldest) {
          oldest = it.atime;
          victim = &key;
        }
      }
    }
    if (victim == nullptr) return false;
    evicted_ops_++;
    evicted_bytes_ += d.items[*victim].size;
    const std::string key = *victim;
    RemoveItemLocked(d, key);
    return true;
  }

  bool HasFreeSpace(CacheDir& d, uint64_t size) {
    struct statvfs vfs;
    if (::statvfs(d.root.c_str(), &vfs) != 0) return false;
    const double total = static_cast<double>(vfs.f_blocks) * static_cast<double>(vfs.f_frsize);
    const double avail = static_cast<double>(vfs.f_bavail) * static_cast<double>(vfs.f_frsize);
    return avail - static_cast<double>(size) >= total * cfg_.free_space_ratio;
  }

  // Makes room for a file of `size` bytes in `d` (capacity and free space). Requires mu_.
  bool ReserveLocked(CacheDir& d, uint64_t size) {
    if (size > d.capacity) return false;
    const bool evict = cfg_.eviction != "none";
    while (d.used + size > d.capacity) {
      if (!evict || !EvictOneLocked(d)) return false;
    }
    for (int i = 0; i < 64 && !HasFreeSpace(d, size); ++i) {
      if (!evict || !EvictOneLocked(d)) return false;
    }
    return HasFreeSpace(d, size);
  }

  // Calls fn(key, path, size, atime) for every regular file under `top` (key relative to it);
  // deletes temporary files.
  void Scan(
      CacheDir&, const std::string& top,
      const std::function<void(const std::string&, const std::string&, uint64_t, uint64_t)>& fn) {
    struct Ctx {
      const std::string* top;
      const std::function<void(const std::string&, const std::string&, uint64_t, uint64_t)>* fn;
    };
    static thread_local Ctx* ctx = nullptr;
    Ctx c{&top, &fn};
    ctx = &c;
    ::nftw(
        top.c_str(),
        [](const char* p, const struct stat* st, int type, struct FTW*) -> int {
          if (type != FTW_F) return 0;
          std::string path(p);
          if (path.size() > 4 && path.compare(path.size() - 4, 4, ".tmp") == 0) {
            ::unlink(p);
            return 0;
          }
          if (path.size() <= ctx->top->size() + 1) return 0;
          const std::string key = path.substr(ctx->top->size() + 1);
          const auto atime = static_cast<uint64_t>(st->st_atim.tv_sec) * 1000000000ull +
                             static_cast<uint64_t>(st->st_atim.tv_nsec);
          (*ctx->fn)(key, path, static_cast<uint64_t>(st->st_size), atime);
          return 0;
        },
        32, FTW_PHYS);
    ctx = nullptr;
  }

  const DiskCacheConfig cfg_;
  Verify level_ = Verify::kExtend;
  std::mutex mu_;
  std::vector<CacheDir> dirs_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::atomic<uint64_t> hit_ops_{0}, hit_bytes_{0}, miss_ops_{0}, miss_bytes_{0};
  std::atomic<uint64_t> write_ops_{0}, write_bytes_{0}, evicted_ops_{0}, evicted_bytes_{0};
  std::atomic<uint64_t> bad_blocks_{0};
  // The background cache writer (guarded by mu_).
  std::deque<Queued> queue_;
  uint64_t queued_bytes_ = 0;
  int writing_ = 0;  // blocks taken off the queue, being written
  bool stop_ = false;
  std::condition_variable queue_cv_, drained_cv_;
  std::thread writer_;  // last: joined before the members above go
};

}  // namespace

std::vector<std::string> SplitCacheDirs(std::string_view value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t end = value.find(':', start);
    if (end == std::string_view::npos) end = value.size();
    if (end > start) out.emplace_back(value.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

Status CheckDiskCacheSettings(const DiskCacheConfig& config) {
  if (!(config.free_space_ratio >= 0 && config.free_space_ratio <= 0.9)) {
    return Status::Invalid("cache: free-space-ratio must be between 0 and 0.9");
  }
  if (config.eviction != "2-random" && config.eviction != "none") {
    return Status::Invalid("cache: eviction must be 2-random or none, not '" + config.eviction +
                           "'");
  }
  if (config.checksum != "none" && config.checksum != "full" && config.checksum != "shrink" &&
      config.checksum != "extend") {
    return Status::Invalid("cache: verify-cache-checksum must be none, full, shrink or extend");
  }
  return Status::OK();
}

Status DiskCache::Open(const DiskCacheConfig& config, std::unique_ptr<DiskCache>* out) {
  if (config.dirs.empty()) return Status::Invalid("cache: no cache directory");
  for (const auto& d : config.dirs) {
    if (d.empty()) return Status::Invalid("cache: empty cache directory name");
  }
  if (config.uuid.empty() || config.uuid.find('/') != std::string::npos || config.uuid == "." ||
      config.uuid == "..") {
    return Status::Invalid("cache: bad volume UUID '" + config.uuid + "'");
  }
  JFS_RETURN_IF_ERROR(CheckDiskCacheSettings(config));
  auto impl = std::make_unique<DiskCacheImpl>(config);
  impl->Init();
  *out = std::move(impl);
  return Status::OK();
}

}  // namespace jfs::chunk
