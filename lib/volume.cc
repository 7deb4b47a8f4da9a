// Volume: Format, Open, path resolution and the path-level operations.
#include "lib/volume.h"

#include "lib/format_secrets.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <random>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "chunk/codec.h"
#include "chunk/prefetch_store.h"
#include "lib/backup.h"
#include "lib/internal.h"
#include "meta/engine.h"
#include "object/encrypted_store.h"

namespace jfs::lib {

namespace {

using meta::kRootIno;

// Reported in the session info; a JuiceFS-style version so `juicefs status` can parse it.
constexpr const char* kClientVersion = "1.2.0+libjuicefs.0.1.0";
constexpr int kMaxSymlinkFollows = 40;
constexpr uint32_t kUnchanged = static_cast<uint32_t>(-1);

// ---- Format helpers -----------------------------------------------------------------------------

bool ValidVolumeName(const std::string& name) {
  if (name.size() < 3 || name.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  for (char c : name) {
    if (!alnum(c) && c != '-') return false;
  }
  return alnum(name.front()) && alnum(name.back());
}

Status NewUuid(std::string* out) {
  uint8_t b[16];
  try {
    std::random_device rd;  // /dev/urandom on Linux
    for (int i = 0; i < 4; ++i) {
      const uint32_t r = rd();
      for (int j = 0; j < 4; ++j) b[i * 4 + j] = static_cast<uint8_t>(r >> (8 * j));
    }
  } catch (const std::exception& e) {
    return Status::IOError(std::string("no random source for the volume UUID: ") + e.what());
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  static const char* kHex = "0123456789abcdef";
  out->clear();
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out->push_back('-');
    out->push_back(kHex[b[i] >> 4]);
    out->push_back(kHex[b[i] & 15]);
  }
  return Status::OK();
}

std::string HomeDir() {
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') return h;
  struct passwd pw;
  struct passwd* res = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) == 0 && res != nullptr && res->pw_dir) {
    return res->pw_dir;
  }
  return "/";
}

// filepath.Abs + "/" as JuiceFS does for `file` buckets: absolute, lexically cleaned, one
// trailing slash.
Status AbsoluteDir(const std::string& dir, std::string* out) {
  std::string path = dir;
  if (path.empty() || path.front() != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) {
      return Status::Error(errno, "cannot resolve relative bucket path: getcwd failed");
    }
    path = std::string(cwd) + "/" + path;
  }
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string comp = path.substr(i, j - i);
    if (comp == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!comp.empty() && comp != ".") {
      parts.push_back(std::move(comp));
    }
    i = j + 1;
  }
  out->assign("/");
  for (auto& p : parts) *out += p + "/";
  return Status::OK();
}

// True when the store already holds data objects (JuiceFS refuses to format over them, so two
// volumes never mix their blocks).
Status StorageHasData(object::ObjectStore& store, bool* has) {
  *has = false;
  std::string marker;
  while (true) {
    std::vector<object::ObjectInfo> page;
    bool truncated = false;
    JFS_RETURN_IF_ERROR(store.List("", marker, "", 1000, &page, &truncated));
    for (auto& o : page) {
      if (o.is_dir || o.size == 0) continue;
      if (o.key == "testing" || o.key.rfind("testing/", 0) == 0) continue;
      *has = true;
      return Status::OK();
    }
    if (!truncated || page.empty()) return Status::OK();
    marker = page.back().key;
  }
}

constexpr const char* kDefaultEncryptAlgo = "aes256gcm-rsa";  // JuiceFS's --encrypt-algo default

// The encryptor of a volume whose Format carries an RSA private key (format.md §1.7); the PEM's
// passphrase comes from JFS_RSA_PASSPHRASE, as with JuiceFS. EINVAL with a clear message when the
// key cannot be used (protected without passphrase, wrong passphrase, not RSA, bad algorithm).
Status VolumeEncryptor(const std::string& pem, const std::string& algo,
                       std::shared_ptr<const object::Encryptor>* out) {
  const char* pass = std::getenv("JFS_RSA_PASSPHRASE");
  return object::NewRsaEncryptor(pem, pass != nullptr ? pass : "", algo, out)
      .WithContext("encryption key");
}

}  // namespace

// The data store stack of a volume, outer to inner (format.md §1.4): encryption (when the Format
// has an EncryptKey), the "{name}/" prefix, the backend. Compression lives in the chunk store.
// `create` makes the bucket / directory (format time only), after the key proved usable.
Status BuildStore(const meta::Format& f, bool create, std::shared_ptr<object::ObjectStore>* out) {
  std::shared_ptr<const object::Encryptor> enc;
  if (!f.encrypt_key.empty())
    JFS_RETURN_IF_ERROR(VolumeEncryptor(f.encrypt_key, f.encrypt_algo, &enc));
  std::unique_ptr<object::ObjectStore> raw;
  JFS_RETURN_IF_ERROR(object::CreateStorage(f.storage, f.bucket, f.access_key, f.secret_key, &raw));
  if (create) {
    JFS_RETURN_IF_ERROR(raw->Create().WithContext("creating storage " + raw->Describe()));
  }
  std::unique_ptr<object::ObjectStore> store = object::WithPrefix(std::move(raw), f.name + "/");
  if (enc) store = object::WithEncryption(std::move(store), std::move(enc));
  *out = std::move(store);
  return Status::OK();
}

// The device of `path`, or of its nearest existing ancestor (a cache directory is created on
// open); false when none can be found.
bool DeviceOf(std::string path, dev_t* dev) {
  struct stat st;
  for (;;) {
    if (::stat(path.c_str(), &st) == 0) {
      *dev = st.st_dev;
      return true;
    }
    const size_t slash = path.find_last_of('/');
    if (slash == std::string::npos) return false;
    path = slash == 0 ? "/" : path.substr(0, slash);
  }
}

// Whether the volume's blocks are plain files holding the block's bytes: a local-directory store,
// no compression, no encryption. Reading them needs no cache or readahead of ours: the kernel's
// page cache is both.
bool PlainLocalStore(const meta::Format& f) {
  return object::StorageType(f.storage) == "file" && f.encrypt_key.empty() &&
         (f.compression.empty() || f.compression == "none");
}

bool LocalStoreOnCacheDisks(const meta::Format& f, const std::vector<std::string>& cache_dirs) {
  if (!PlainLocalStore(f)) return false;
  dev_t store = 0;
  if (!DeviceOf(f.bucket, &store)) return false;
  for (const auto& d : cache_dirs) {
    dev_t dev = 0;
    if (!DeviceOf(d, &dev) || dev != store) return false;
  }
  return true;
}

chunk::Config ChunkConfig(const meta::Format& f, int upload_threads, uint64_t buffer_size) {
  chunk::Config c;
  // A big write keeps up to buffer_size bytes of blocks in flight: reusing that many buffers
  // spares the page faults of fresh ones. The background loop frees them once writing stops.
  c.max_idle_buffer_bytes = buffer_size;
  c.block_size = f.BlockSizeBytes();
  c.hash_prefix = f.hash_prefix;
  c.compression = f.compression;
  c.upload_threads = upload_threads;
  return c;
}

namespace {

// ---- path walking -------------------------------------------------------------------------------

enum class LastMode {
  kFollow,    // look up the last component, following a symlink there
  kNoFollow,  // look up the last component, not following it
  kParent,    // only resolve the parent; the last name is not looked up
};

struct Walked {
  Ino parent = kRootIno;
  std::string name;  // last component; "" when the path names the root
  bool found = false;
  Ino ino = 0;
  Attr attr;
  bool must_dir = false;           // trailing slash
  std::vector<std::string> canon;  // names from the root to the result (Realpath)
};

void PushCanon(std::vector<std::string>& canon, const std::string& name) {
  if (name == ".") return;
  if (name == "..") {
    if (!canon.empty()) canon.pop_back();
    return;
  }
  canon.push_back(name);
}

bool IsDotName(const std::string& name) {
  return name.empty() || name == "." || name == "..";
}

Status ReadOnlyError() {
  return Status::Error(EROFS, "volume is opened read-only");
}

// ---- the Volume ---------------------------------------------------------------------------------

class VolumeImpl : public Volume {
 public:
  VolumeImpl(std::shared_ptr<VolumeCore> core, std::string meta_url)
      : core_(std::move(core)), meta_url_(std::move(meta_url)) {}
  // Starts the background thread (read-only volumes have nothing to flush).
  Status Start() {
    if (core_->read_only()) return Status::OK();
    try {
      bg_ = std::thread([this] { BackgroundLoop(); });
      StartDeletion();
    } catch (const std::system_error& e) {
      return Status::Error(EAGAIN, std::string("cannot start the background thread: ") + e.what());
    }
    return Status::OK();
  }
  ~VolumeImpl() override { (void)Close(); }

  Status Close() override;
  const meta::Format& format() const override { return core_->format(); }
  uint64_t session_id() const override { return core_->meta().SessionId(); }
  VolumeStats Stats() override {
    const chunk::ChunkStats c = core_->chunks().Stats();
    VolumeStats v;
    v.cache_hit_ops = c.cache.hit_ops;
    v.cache_hit_bytes = c.cache.hit_bytes;
    v.cache_miss_ops = c.cache.miss_ops;
    v.cache_miss_bytes = c.cache.miss_bytes;
    v.cache_write_ops = c.cache.write_ops;
    v.cache_write_bytes = c.cache.write_bytes;
    v.cache_evict_ops = c.cache.evicted_ops;
    v.cache_evict_bytes = c.cache.evicted_bytes;
    v.cache_bad_blocks = c.cache.bad_blocks;
    v.cache_used_bytes = c.cache.used_bytes;
    v.cache_blocks = c.cache.blocks;
    v.staged_blocks = c.cache.staged_blocks;
    v.put_ops = c.put_ops;
    v.put_bytes = c.put_bytes;
    v.get_ops = c.get_ops;
    v.get_bytes = c.get_bytes;
    v.delete_ops = c.delete_ops;
    v.put_errors = c.put_errors;
    v.get_errors = c.get_errors;
    v.writeback_pending = c.writeback_pending;
    v.meta_calls = core_->meta().Calls();
    return v;
  }

  Status Stat(const Context& ctx, std::string_view path, Attr* attr, Ino* ino) override;
  Status Lstat(const Context& ctx, std::string_view path, Attr* attr, Ino* ino) override;
  Status Access(const Context& ctx, std::string_view path, int mask) override;
  Status Mkdir(const Context& ctx, std::string_view path, uint16_t mode) override;
  Status MkdirAll(const Context& ctx, std::string_view path, uint16_t mode) override;
  Status Rmdir(const Context& ctx, std::string_view path) override;
  Status Unlink(const Context& ctx, std::string_view path) override;
  Status Rename(const Context& ctx, std::string_view from, std::string_view to,
                uint32_t flags) override;
  Status Link(const Context& ctx, std::string_view existing, std::string_view newpath) override;
  Status Symlink(const Context& ctx, std::string_view target, std::string_view linkpath) override;
  Status Readlink(const Context& ctx, std::string_view path, std::string* target) override;
  Status Chmod(const Context& ctx, std::string_view path, uint16_t mode) override;
  Status Chown(const Context& ctx, std::string_view path, uint32_t uid, uint32_t gid,
               bool follow) override;
  Status Utimens(const Context& ctx, std::string_view path, const struct timespec times[2],
                 bool follow) override;
  Status Truncate(const Context& ctx, std::string_view path, uint64_t length) override;
  Status Mknod(const Context& ctx, std::string_view path, uint32_t mode, uint32_t rdev) override;
  Status GetXattr(const Context& ctx, std::string_view path, std::string_view name,
                  std::string* value, bool follow) override;
  Status SetXattr(const Context& ctx, std::string_view path, std::string_view name,
                  std::string_view value, int flags, bool follow) override;
  Status ListXattr(const Context& ctx, std::string_view path, std::vector<std::string>* names,
                   bool follow) override;
  Status RemoveXattr(const Context& ctx, std::string_view path, std::string_view name,
                     bool follow) override;
  Status StatFs(const Context& ctx, StatVfs* out) override;
  Status Realpath(const Context& ctx, std::string_view path, std::string* out) override;
  Status OpenFile(const Context& ctx, std::string_view path, int flags, uint16_t mode,
                  std::shared_ptr<File>* out) override;
  Status OpenDir(const Context& ctx, std::string_view path,
                 std::unique_ptr<DirStream>* out) override;

  const std::shared_ptr<VolumeCore>& core() const { return core_; }

 private:
  Status CheckUsable() const {
    if (core_->closed()) return Status::Error(EBADF, "volume is closed");
    return Status::OK();
  }
  Status CheckWritable() const {
    JFS_RETURN_IF_ERROR(CheckUsable());
    if (core_->read_only()) return ReadOnlyError();
    return Status::OK();
  }
  Status Walk(const Context& ctx, std::string_view path, LastMode mode, bool allow_missing,
              Walked* w);
  Status WalkFound(const Context& ctx, std::string_view path, bool follow, Walked* w) {
    return Walk(ctx, path, follow ? LastMode::kFollow : LastMode::kNoFollow, false, w);
  }
  // A regular file's length includes what this Volume has buffered but not committed.
  void AddLocalLength(Ino ino, Attr* attr);
  void BackgroundLoop();
  // Automatic metadata backups: called by BackgroundLoop every second; starts a check in its own
  // thread when one is due (a dump can take long; heartbeats must go on meanwhile).
  void MaybeStartBackup(std::mt19937_64& rng);
  void StopBackup();
  // Deferred deletion and trash expiry (format.md §6.3, §6.5): kDeleteWorkers threads release
  // the data of removed files (Meta::DeleteFileData) queued by OnDeleteFile; one maintenance
  // thread runs, at open and then hourly, the jobs one client at a time runs for the volume
  // (gates lastCleanupTrash, lastCleanupFiles). Close drains the queue; a file left by a crash
  // stays in delfiles and the next client's hourly job (or `jfs gc --delete`) finishes it.
  void StartDeletion();
  void StopDeletion();
  void DeleteWorker();
  void MaintenanceLoop();
  void EnqueueDelete(Ino ino, uint64_t length);
  Status RefuseTrailingSlash(const Context& ctx, const Walked& w, std::string_view path);

  std::shared_ptr<VolumeCore> core_;
  const std::string meta_url_;  // the backup thread opens its own engine from it
  std::thread bg_;
  std::thread backup_;
  std::atomic<bool> backup_running_{false};
  std::atomic<bool> backup_cancel_{false};
  std::chrono::steady_clock::time_point next_backup_check_{};
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  static constexpr int kDeleteWorkers = 4;
  std::vector<std::thread> deleters_;
  std::thread maint_;
  std::mutex del_mu_;
  std::condition_variable del_cv_;    // workers
  std::condition_variable maint_cv_;  // the maintenance thread
  std::deque<std::pair<Ino, uint64_t>> del_queue_;
  std::unordered_set<Ino> del_queued_;  // in del_queue_ or being deleted
  bool del_stop_ = false;
  std::mutex close_mu_;
  bool closed_ = false;
};

void VolumeImpl::BackgroundLoop() {
  // Counters every second; the session heartbeat every 12 s (JuiceFS's default interval); block
  // buffers nobody used for 5 to 10 s are freed.
  const int heartbeat_every = core_->options().heartbeat;
  constexpr int kReleaseBuffersEvery = 5;
  bool failing = false, beat_failing = false, clean_failing = false;
  int ticks = 0;
  std::mt19937_64 rng(std::random_device{}());
  std::unique_lock lk(bg_mu_);
  while (!bg_cv_.wait_for(lk, std::chrono::seconds(1), [this] { return bg_stop_; })) {
    lk.unlock();
    Status s = core_->meta().FlushStats();
    if (!s.ok() && !failing) LogWarning("flushing volume statistics: %s", s.ToString().c_str());
    failing = !s.ok();
    if (++ticks % heartbeat_every == 0) {
      Status h = core_->meta().Heartbeat();
      if (!h.ok() && !beat_failing) LogWarning("session heartbeat: %s", h.ToString().c_str());
      beat_failing = !h.ok();
      // Crashed clients: their locks and open-but-unlinked files would otherwise stay forever.
      Status c = core_->meta().CleanStaleSessions(nullptr);
      if (!c.ok() && !clean_failing) {
        LogWarning("cleaning stale sessions: %s", c.ToString().c_str());
      }
      clean_failing = !c.ok();
    }
    if (ticks % kReleaseBuffersEvery == 0) core_->chunks().ReleaseIdleBuffers();
    MaybeStartBackup(rng);
    core_->DeleteDueSlices(false);  // slices released by compactions (lib/slice_ops.cc)
    lk.lock();
  }
}

void VolumeImpl::MaybeStartBackup(std::mt19937_64& rng) {
  const VolumeOptions& o = core_->options();
  if (o.backup_meta <= 0 || backup_running_.load()) return;
  const auto now = std::chrono::steady_clock::now();
  // The first check comes one period after open, as JuiceFS's; periods are jittered by ±20 % so
  // clients opened together do not check in step.
  const bool first = next_backup_check_ == std::chrono::steady_clock::time_point{};
  auto period =
      std::chrono::milliseconds(o.backup_check_every > 0 ? o.backup_check_every * 1000LL
                                                         : o.backup_meta * 100LL);  // interval / 10
  if (o.backup_check_every <= 0) {
    std::uniform_int_distribution<int64_t> jitter(-period.count() / 5, period.count() / 5);
    period += std::chrono::milliseconds(jitter(rng));
  }
  if (first || now >= next_backup_check_) next_backup_check_ = now + period;
  if (first) return;
  if (backup_.joinable()) backup_.join();  // the previous check has finished
  backup_running_.store(true);
  try {
    backup_ = std::thread([this, interval = o.backup_meta, skip = o.backup_skip_trash] {
      std::unique_ptr<meta::Engine> engine;
      Status s = meta::NewEngine(meta_url_, &engine);
      BackupResult r = BackupResult::kNotDue;
      if (s.ok()) {
        s = BackupIfDue(*engine, core_->store(), interval, static_cast<int64_t>(std::time(nullptr)),
                        skip, &backup_cancel_, &r);
      }
      if (!s.ok() && !s.Is(ECANCELED)) {
        LogWarning("metadata backup failed: %s", s.ToString().c_str());
      } else if (r == BackupResult::kSkippedTooManyInodes) {
        LogWarning(
            "metadata backup skipped: more than 1,000,000 inodes with an interval of at most "
            "1 hour; raise backup_meta to back up this volume");
      }
      backup_running_.store(false);
    });
  } catch (const std::system_error& e) {
    backup_running_.store(false);
    LogWarning("cannot start the metadata backup thread: %s", e.what());
  }
}

void VolumeImpl::StopBackup() {
  backup_cancel_.store(true);
  if (backup_.joinable()) backup_.join();
}

void VolumeImpl::StartDeletion() {
  core_->meta().OnDeleteFile([this](Ino ino, uint64_t length) { EnqueueDelete(ino, length); });
  for (int i = 0; i < kDeleteWorkers; ++i) deleters_.emplace_back([this] { DeleteWorker(); });
  maint_ = std::thread([this] { MaintenanceLoop(); });
}

void VolumeImpl::EnqueueDelete(Ino ino, uint64_t length) {
  std::lock_guard lk(del_mu_);
  if (!del_queued_.insert(ino).second) return;
  del_queue_.emplace_back(ino, length);
  del_cv_.notify_one();
}

void VolumeImpl::DeleteWorker() {
  std::unique_lock lk(del_mu_);
  for (;;) {
    del_cv_.wait(lk, [this] { return del_stop_ || !del_queue_.empty(); });
    if (del_queue_.empty()) return;  // stopping and drained
    auto [ino, length] = del_queue_.front();
    del_queue_.pop_front();
    lk.unlock();
    Status s = core_->meta().DeleteFileData(ino, length);
    if (!s.ok()) {
      LogWarning("deleting data of inode %llu: %s (left for a later cleanup)",
                 static_cast<unsigned long long>(ino), s.ToString().c_str());
    }
    lk.lock();
    del_queued_.erase(ino);
  }
}

void VolumeImpl::MaintenanceLoop() {
  constexpr int64_t kHour = 3600;
  std::unique_lock lk(del_mu_);
  // First run right after open, so short-lived clients do their share too.
  auto wait = std::chrono::seconds(1);
  while (!maint_cv_.wait_for(lk, wait, [this] { return del_stop_; })) {
    lk.unlock();
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    meta::Meta& m = core_->meta();
    bool won = false;
    if (m.TryGate("lastCleanupTrash", now, kHour, &won).ok() && won) {
      uint64_t removed = 0;
      Status s = m.CleanupTrash(now, false, &removed);
      if (!s.ok()) LogWarning("cleaning up the trash: %s", s.ToString().c_str());
    }
    if (m.TryGate("lastCleanupFiles", now, kHour, &won).ok() && won) {
      // Files queued over an hour ago were left by a client that died (or is slow): finish them.
      std::vector<meta::DelFileRecord> files;
      if (m.ListDelFiles(&files).ok()) {
        for (const auto& d : files) {
          if (d.expire <= now - kHour) EnqueueDelete(d.inode, d.length);
        }
      }
    }
    lk.lock();
    wait = std::chrono::seconds(kHour);
  }
}

void VolumeImpl::StopDeletion() {
  {
    std::lock_guard lk(del_mu_);
    del_stop_ = true;
  }
  del_cv_.notify_all();
  maint_cv_.notify_all();
  if (maint_.joinable()) maint_.join();
  for (auto& t : deleters_) {
    if (t.joinable()) t.join();
  }
  deleters_.clear();
  core_->meta().OnDeleteFile(nullptr);  // from now on (no more operations) inline
}

Status VolumeImpl::Close() {
  std::lock_guard lk(close_mu_);
  if (closed_) return Status::OK();
  closed_ = true;
  core_->MarkClosed();  // new operations on the Volume and its handles now fail with EBADF
  Status first;
  for (auto& f : core_->OpenFiles()) {
    Status s = f->Close();
    if (!s.ok() && !s.Is(EBADF) && first.ok()) first = std::move(s);
  }
  {
    std::lock_guard blk(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (bg_.joinable()) bg_.join();
  StopBackup();  // a dump in progress stops at its next write; nothing is uploaded
  core_->StopCompaction();
  core_->DeleteDueSlices(true);
  {
    // Writeback: blocks staged by this volume (or found at open) are uploaded before it closes;
    // a failed upload stays staged for the next open and is reported here.
    Status s = core_->chunks().WaitWriteback();
    if (!s.ok() && first.ok()) first = s.WithContext("writeback");
  }
  if (!core_->read_only()) {
    Status s = core_->meta().CloseSession();
    if (!s.ok() && first.ok()) first = s.WithContext("closing session");
    StopDeletion();  // after the session's last releases were queued
  }
  return first;
}

Status VolumeImpl::Walk(const Context& ctx, std::string_view path, LastMode mode,
                        bool allow_missing, Walked* w) {
  ParsedPath pp;
  JFS_RETURN_IF_ERROR(ParsePath(path, /*require_absolute=*/true, &pp));
  *w = Walked{};
  w->must_dir = pp.trailing_slash;
  std::deque<std::string>& comps = pp.comps;
  meta::Meta& m = core_->meta();
  Ino cur = kRootIno;
  int links = 0;
  while (!comps.empty()) {
    std::string name = std::move(comps.front());
    comps.pop_front();
    const bool last = comps.empty();
    if (last && mode == LastMode::kParent) {
      w->parent = cur;
      w->name = std::move(name);
      return Status::OK();
    }
    Ino ino = 0;
    Attr attr;
    Status s = m.Lookup(ctx, cur, name, &ino, &attr);
    if (!s.ok()) {
      if (s.IsNotFound() && last && allow_missing) {
        w->parent = cur;
        w->name = std::move(name);
        return Status::OK();
      }
      return s;
    }
    if (attr.typ == meta::kTypeSymlink && (!last || mode == LastMode::kFollow || w->must_dir)) {
      if (++links > kMaxSymlinkFollows) {
        return Status::Error(ELOOP,
                             "too many levels of symbolic links in \"" + std::string(path) + "\"");
      }
      std::string target;
      JFS_RETURN_IF_ERROR(m.ReadLink(ctx, ino, &target));
      ParsedPath tp;
      JFS_RETURN_IF_ERROR(ParsePath(target, /*require_absolute=*/false, &tp));
      if (last && tp.trailing_slash) w->must_dir = true;
      for (auto it = tp.comps.rbegin(); it != tp.comps.rend(); ++it) comps.push_front(*it);
      if (tp.absolute) {  // absolute targets resolve against the volume root
        cur = kRootIno;
        w->canon.clear();
      }
      continue;  // relative targets resolve against the symlink's directory, `cur`
    }
    if (!last) {
      if (attr.typ != meta::kTypeDirectory) {
        return Status::Error(
            ENOTDIR, "\"" + name + "\" is not a directory in \"" + std::string(path) + "\"");
      }
      PushCanon(w->canon, name);
      cur = ino;
      continue;
    }
    if (w->must_dir && attr.typ != meta::kTypeDirectory) {
      return Status::Error(ENOTDIR, "\"" + std::string(path) + "\" is not a directory");
    }
    PushCanon(w->canon, name);
    w->parent = cur;
    w->name = std::move(name);
    w->found = true;
    w->ino = ino;
    w->attr = attr;
    return Status::OK();
  }
  // The path names a directory with no last component: "/" itself, or a symlink to "/".
  w->parent = cur;
  w->found = true;
  w->ino = cur;
  return m.GetAttr(ctx, cur, &w->attr);
}

void VolumeImpl::AddLocalLength(Ino ino, Attr* attr) {
  if (attr->typ != meta::kTypeFile) return;
  if (auto st = core_->FindInode(ino)) {
    std::lock_guard lk(st->mu);
    attr->length = std::max(attr->length, st->pending_end);
  }
}

Status VolumeImpl::Stat(const Context& ctx, std::string_view path, Attr* attr, Ino* ino) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, true, &w));
  AddLocalLength(w.ino, &w.attr);
  if (attr) *attr = w.attr;
  if (ino) *ino = w.ino;
  return Status::OK();
}

Status VolumeImpl::Lstat(const Context& ctx, std::string_view path, Attr* attr, Ino* ino) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, false, &w));
  AddLocalLength(w.ino, &w.attr);
  if (attr) *attr = w.attr;
  if (ino) *ino = w.ino;
  return Status::OK();
}

Status VolumeImpl::Access(const Context& ctx, std::string_view path, int mask) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  if (mask & ~(R_OK | W_OK | X_OK)) return Status::Invalid("bad access mask");
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, true, &w));
  if ((mask & W_OK) && core_->read_only()) return ReadOnlyError();
  return core_->meta().Access(ctx, w.ino, mask, &w.attr);
}

Status VolumeImpl::Mkdir(const Context& ctx, std::string_view path, uint16_t mode) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(Walk(ctx, path, LastMode::kParent, false, &w));
  if (IsDotName(w.name)) return Status::Exists("\"" + std::string(path) + "\" exists");
  return core_->meta().Mkdir(ctx, w.parent, w.name, mode & 07777, ctx.umask, nullptr, nullptr);
}

Status VolumeImpl::MkdirAll(const Context& ctx, std::string_view path, uint16_t mode) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  ParsedPath pp;
  JFS_RETURN_IF_ERROR(ParsePath(path, true, &pp));
  std::string prefix;
  const size_t n = pp.comps.size();
  for (size_t i = 0; i < n; ++i) {
    prefix += "/" + pp.comps[i];
    const bool last = i + 1 == n;
    Walked w;
    Status s = WalkFound(ctx, prefix, true, &w);
    if (s.IsNotFound()) {
      s = Mkdir(ctx, prefix, mode);
      if (s.ok()) continue;
      if (!s.Is(EEXIST)) return s;
      s = WalkFound(ctx, prefix, true, &w);  // lost a race with another creator
    }
    JFS_RETURN_IF_ERROR(s);
    if (w.attr.typ != meta::kTypeDirectory) {
      return Status::Error(last ? EEXIST : ENOTDIR,
                           "\"" + prefix + "\" exists and is not a directory");
    }
  }
  return Status::OK();
}

Status VolumeImpl::Rmdir(const Context& ctx, std::string_view path) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(Walk(ctx, path, LastMode::kParent, false, &w));
  if (w.name.empty()) return Status::Error(EBUSY, "cannot remove the root directory");
  if (w.name == ".") return Status::Invalid("cannot remove \".\"");
  if (w.name == "..") return Status::Error(ENOTEMPTY, "cannot remove \"..\"");
  return core_->meta().Rmdir(ctx, w.parent, w.name);
}

Status VolumeImpl::Unlink(const Context& ctx, std::string_view path) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(Walk(ctx, path, LastMode::kParent, false, &w));
  if (IsDotName(w.name))
    return Status::Error(EISDIR, "\"" + std::string(path) + "\" is a directory");
  if (w.must_dir) {
    Ino ino = 0;
    Attr attr;
    JFS_RETURN_IF_ERROR(core_->meta().Lookup(ctx, w.parent, w.name, &ino, &attr));
    if (attr.typ == meta::kTypeDirectory) {
      return Status::Error(EISDIR, "\"" + std::string(path) + "\" is a directory");
    }
    return Status::Error(ENOTDIR, "\"" + std::string(path) + "\" is not a directory");
  }
  return core_->meta().Unlink(ctx, w.parent, w.name);
}

Status VolumeImpl::Rename(const Context& ctx, std::string_view from, std::string_view to,
                          uint32_t flags) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked src, dst;
  JFS_RETURN_IF_ERROR(Walk(ctx, from, LastMode::kParent, false, &src));
  JFS_RETURN_IF_ERROR(Walk(ctx, to, LastMode::kParent, false, &dst));
  if (src.name.empty() || dst.name.empty()) {
    return Status::Error(EBUSY, "cannot rename the root directory");
  }
  if (src.name == "." || src.name == ".." || dst.name == "." || dst.name == "..") {
    return Status::Invalid("cannot rename \".\" or \"..\"");
  }
  if (src.must_dir || dst.must_dir) {
    // Trailing slashes, in the order Linux checks them: both names must exist for EXCHANGE; a
    // slash on a name requires a directory there (on the source, a slash on either name does,
    // except that EXCHANGE judges each side by its own slash).
    Ino ino = 0;
    Attr attr, dattr;
    JFS_RETURN_IF_ERROR(core_->meta().Lookup(ctx, src.parent, src.name, &ino, &attr));
    const bool exchange = (flags & meta::kRenameExchange) != 0;
    if (exchange) {
      JFS_RETURN_IF_ERROR(core_->meta().Lookup(ctx, dst.parent, dst.name, &ino, &dattr));
      if (dst.must_dir && dattr.typ != meta::kTypeDirectory) {
        return Status::Error(ENOTDIR, "\"" + std::string(to) + "\" is not a directory");
      }
    }
    if (attr.typ != meta::kTypeDirectory && (src.must_dir || !exchange)) {
      return Status::Error(ENOTDIR, "\"" + std::string(from) + "\" is not a directory");
    }
  }
  return core_->meta().Rename(ctx, src.parent, src.name, dst.parent, dst.name, flags, nullptr,
                              nullptr);
}

// link, symlink and mknod create a non-directory: with a trailing slash on the new name Linux
// only looks it up (EEXIST when it exists, ENOENT when not) and never creates it.
Status VolumeImpl::RefuseTrailingSlash(const Context& ctx, const Walked& w, std::string_view path) {
  if (!w.must_dir) return Status::OK();
  Ino ino = 0;
  Attr attr;
  JFS_RETURN_IF_ERROR(core_->meta().Lookup(ctx, w.parent, w.name, &ino, &attr));
  return Status::Exists("\"" + std::string(path) + "\" exists");
}

Status VolumeImpl::Link(const Context& ctx, std::string_view existing, std::string_view newpath) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked src, dst;
  // As link(2) on Linux (and JuiceFS): a symlink named by `existing` is linked itself.
  JFS_RETURN_IF_ERROR(WalkFound(ctx, existing, false, &src));
  JFS_RETURN_IF_ERROR(Walk(ctx, newpath, LastMode::kParent, false, &dst));
  if (IsDotName(dst.name)) return Status::Exists("\"" + std::string(newpath) + "\" exists");
  JFS_RETURN_IF_ERROR(RefuseTrailingSlash(ctx, dst, newpath));
  return core_->meta().Link(ctx, src.ino, dst.parent, dst.name, nullptr);
}

Status VolumeImpl::Symlink(const Context& ctx, std::string_view target, std::string_view linkpath) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  if (target.empty()) return Status::NotFound("empty symlink target");
  if (target.size() > meta::kMaxSymlink) {
    return Status::Error(ENAMETOOLONG, "symlink target longer than 4096 bytes");
  }
  if (target.find('\0') != std::string_view::npos) {
    return Status::Invalid("symlink target contains a NUL byte");
  }
  Walked w;
  JFS_RETURN_IF_ERROR(Walk(ctx, linkpath, LastMode::kParent, false, &w));
  if (IsDotName(w.name)) return Status::Exists("\"" + std::string(linkpath) + "\" exists");
  JFS_RETURN_IF_ERROR(RefuseTrailingSlash(ctx, w, linkpath));
  return core_->meta().Symlink(ctx, w.parent, w.name, target, nullptr, nullptr);
}

Status VolumeImpl::Readlink(const Context& ctx, std::string_view path, std::string* target) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, false, &w));
  if (w.attr.typ != meta::kTypeSymlink) {
    return Status::Invalid("\"" + std::string(path) + "\" is not a symbolic link");
  }
  return core_->meta().ReadLink(ctx, w.ino, target);
}

Status VolumeImpl::Chmod(const Context& ctx, std::string_view path, uint16_t mode) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, true, &w));
  Attr in;
  in.mode = mode & 07777;
  return core_->meta().SetAttr(ctx, w.ino, meta::kSetMode, in, nullptr);
}

Status VolumeImpl::Chown(const Context& ctx, std::string_view path, uint32_t uid, uint32_t gid,
                         bool follow) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, follow, &w));
  uint32_t mask = 0;
  Attr in;
  if (uid != kUnchanged) {
    mask |= meta::kSetUid;
    in.uid = uid;
  }
  if (gid != kUnchanged) {
    mask |= meta::kSetGid;
    in.gid = gid;
  }
  if (mask == 0) return Status::OK();
  return core_->meta().SetAttr(ctx, w.ino, mask, in, nullptr);
}

Status VolumeImpl::Utimens(const Context& ctx, std::string_view path,
                           const struct timespec times[2], bool follow) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  const struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
  const struct timespec* t = times != nullptr ? times : now;
  for (int i = 0; i < 2; ++i) {
    const long ns = t[i].tv_nsec;
    if (ns != UTIME_NOW && ns != UTIME_OMIT && (ns < 0 || ns >= 1000000000L)) {
      return Status::Invalid("bad tv_nsec in utimens");
    }
  }
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, follow, &w));
  uint32_t mask = 0;
  Attr in;
  if (t[0].tv_nsec == UTIME_NOW) {
    mask |= meta::kSetAtimeNow;
  } else if (t[0].tv_nsec != UTIME_OMIT) {
    mask |= meta::kSetAtime;
    in.atime = t[0].tv_sec;
    in.atimensec = static_cast<uint32_t>(t[0].tv_nsec);
  }
  if (t[1].tv_nsec == UTIME_NOW) {
    mask |= meta::kSetMtimeNow;
  } else if (t[1].tv_nsec != UTIME_OMIT) {
    mask |= meta::kSetMtime;
    in.mtime = t[1].tv_sec;
    in.mtimensec = static_cast<uint32_t>(t[1].tv_nsec);
  }
  if (mask == 0) return Status::OK();
  return core_->meta().SetAttr(ctx, w.ino, mask, in, nullptr);
}

Status VolumeImpl::Truncate(const Context& ctx, std::string_view path, uint64_t length) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, true, &w));
  if (w.attr.typ == meta::kTypeDirectory) {
    return Status::Error(EISDIR, "\"" + std::string(path) + "\" is a directory");
  }
  if (w.attr.typ != meta::kTypeFile) {
    return Status::Invalid("\"" + std::string(path) + "\" is not a regular file");
  }
  if (auto st = core_->FindInode(w.ino)) {
    return core_->Truncate(ctx, *st, length, /*skip_perm_check=*/false, nullptr);
  }
  return core_->meta().Truncate(ctx, w.ino, length, /*skip_perm_check=*/false, nullptr);
}

Status VolumeImpl::Mknod(const Context& ctx, std::string_view path, uint32_t mode, uint32_t rdev) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  uint8_t type = 0;
  JFS_RETURN_IF_ERROR(MknodType(ctx, mode, &type));
  Walked w;
  JFS_RETURN_IF_ERROR(Walk(ctx, path, LastMode::kParent, false, &w));
  if (IsDotName(w.name)) return Status::Exists("\"" + std::string(path) + "\" exists");
  JFS_RETURN_IF_ERROR(RefuseTrailingSlash(ctx, w, path));
  return core_->meta().Mknod(ctx, w.parent, w.name, type, mode & 07777, ctx.umask, rdev, nullptr,
                             nullptr);
}

Status VolumeImpl::GetXattr(const Context& ctx, std::string_view path, std::string_view name,
                            std::string* value, bool follow) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, follow, &w));
  return core_->meta().GetXattr(ctx, w.ino, name, value);
}

Status VolumeImpl::SetXattr(const Context& ctx, std::string_view path, std::string_view name,
                            std::string_view value, int flags, bool follow) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, follow, &w));
  return core_->meta().SetXattr(ctx, w.ino, name, value, flags);
}

Status VolumeImpl::ListXattr(const Context& ctx, std::string_view path,
                             std::vector<std::string>* names, bool follow) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, follow, &w));
  return core_->meta().ListXattr(ctx, w.ino, names);
}

Status VolumeImpl::RemoveXattr(const Context& ctx, std::string_view path, std::string_view name,
                               bool follow) {
  JFS_RETURN_IF_ERROR(CheckWritable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, follow, &w));
  return core_->meta().RemoveXattr(ctx, w.ino, name);
}

Status VolumeImpl::StatFs(const Context& ctx, StatVfs* out) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  return VolumeStatFs(*core_, ctx, out);
}

Status VolumeImpl::Realpath(const Context& ctx, std::string_view path, std::string* out) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, true, &w));
  out->clear();
  for (auto& c : w.canon) *out += "/" + c;
  if (out->empty()) *out = "/";
  return Status::OK();
}

Status VolumeImpl::OpenFile(const Context& ctx, std::string_view path, int flags, uint16_t mode,
                            std::shared_ptr<File>* out) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  const int acc = flags & O_ACCMODE;
  if (acc != O_RDONLY && acc != O_WRONLY && acc != O_RDWR) {
    return Status::Invalid("bad access mode in open flags");
  }
  const bool wants_write = acc != O_RDONLY;
  const bool create = (flags & O_CREAT) != 0;
  const bool excl = create && (flags & O_EXCL) != 0;
  if (create && (flags & O_DIRECTORY)) return Status::Invalid("O_CREAT with O_DIRECTORY");
  if (core_->read_only() && (wants_write || (flags & O_TRUNC))) return ReadOnlyError();
  meta::Meta& m = core_->meta();

  // O_EXCL never follows a symlink in the last component (it must fail with EEXIST).
  const LastMode last = (flags & O_NOFOLLOW) || excl ? LastMode::kNoFollow : LastMode::kFollow;
  Walked w;
  JFS_RETURN_IF_ERROR(Walk(ctx, path, last, create, &w));
  Ino ino = 0;
  Attr attr;
  bool created = false;
  if (!w.found) {
    if (w.must_dir) return Status::Error(EISDIR, "cannot create \"" + std::string(path) + "\"");
    if (core_->read_only()) return ReadOnlyError();
    Status s = m.Create(ctx, w.parent, w.name, mode & 07777, ctx.umask, flags, &ino, &attr);
    if (s.ok()) {
      created = true;
    } else if (s.Is(EEXIST) && !excl) {
      JFS_RETURN_IF_ERROR(Walk(ctx, path, last, false, &w));  // created meanwhile: open it
    } else {
      return s;
    }
  }
  if (!created) {
    if (excl) return Status::Exists("\"" + std::string(path) + "\" exists");
    const uint8_t typ = w.attr.typ;
    if (typ == meta::kTypeSymlink) {
      return Status::Error(ELOOP, "\"" + std::string(path) + "\" is a symbolic link (O_NOFOLLOW)");
    }
    if ((flags & O_DIRECTORY) && typ != meta::kTypeDirectory) {
      return Status::Error(ENOTDIR, "\"" + std::string(path) + "\" is not a directory");
    }
    if (typ == meta::kTypeDirectory) {
      // Linux refuses O_CREAT on an existing directory even for reading.
      if (wants_write || (flags & O_TRUNC) || create) {
        return Status::Error(EISDIR, "\"" + std::string(path) + "\" is a directory");
      }
    } else if (typ == meta::kTypeSocket) {
      return Status::Error(ENXIO, "cannot open a socket");
    } else if (typ != meta::kTypeFile) {
      return Status::NotSupported("only regular files and directories can be opened");
    }
    ino = w.ino;
    // The walk's lookup has just read the inode's attributes: no need to read them again.
    attr = w.attr;
    JFS_RETURN_IF_ERROR(m.OpenKnown(ctx, ino, flags, attr));
  }

  return MakeHandle(core_, ctx, ino, flags, created, attr, out, nullptr);
}

Status VolumeImpl::OpenDir(const Context& ctx, std::string_view path,
                           std::unique_ptr<DirStream>* out) {
  JFS_RETURN_IF_ERROR(CheckUsable());
  Walked w;
  JFS_RETURN_IF_ERROR(WalkFound(ctx, path, true, &w));
  if (w.attr.typ != meta::kTypeDirectory) {
    return Status::Error(ENOTDIR, "\"" + std::string(path) + "\" is not a directory");
  }
  JFS_RETURN_IF_ERROR(core_->meta().Access(ctx, w.ino, R_OK, &w.attr));
  *out = std::make_unique<DirStreamImpl>(core_, ctx, w.ino);
  return Status::OK();
}

}  // namespace

std::shared_ptr<VolumeCore> CoreOf(Volume& volume) {
  // Volume::Open is the only way to make a Volume, and it makes a VolumeImpl.
  return static_cast<VolumeImpl&>(volume).core();
}

// ---- Format -------------------------------------------------------------------------------------

Status Format(const std::string& meta_url, const FormatOptions& opts, meta::Format* out) {
  if (!ValidVolumeName(opts.name)) {
    return Status::Invalid("invalid volume name \"" + opts.name +
                           "\": it must be 3-63 characters of lowercase letters, digits and "
                           "'-', starting and ending with a letter or digit");
  }
  if (opts.block_size_kib < 64 || opts.block_size_kib > 16384) {
    return Status::Invalid("block size must be between 64 KiB and 16 MiB, got " +
                           std::to_string(opts.block_size_kib) + " KiB");
  }
  uint32_t bs = 64;
  while (bs * 2 <= opts.block_size_kib) bs *= 2;  // rounded down to a power of two (JuiceFS)
  if (opts.trash_days < 0) return Status::Invalid("trash days must not be negative");
  // Checked before the metadata engine is touched, so bad input creates nothing.
  if (!chunk::IsKnownCompression(opts.compression)) {
    return Status::Invalid("unknown compression '" + opts.compression +
                           "' (supported: none, lz4, zstd)");
  }
  const std::string encrypt_algo =
      opts.encrypt_algo.empty() ? std::string(kDefaultEncryptAlgo) : opts.encrypt_algo;
  if (!opts.encrypt_rsa_key.empty()) {
    std::shared_ptr<const object::Encryptor> enc;
    JFS_RETURN_IF_ERROR(VolumeEncryptor(opts.encrypt_rsa_key, encrypt_algo, &enc));
  }

  meta::Format f;
  f.name = opts.name;
  f.storage = opts.storage.empty() ? "file" : opts.storage;
  f.bucket = opts.bucket;
  if (f.storage == "file") {
    if (f.bucket.empty()) f.bucket = HomeDir() + "/.juicefs/local/";
    JFS_RETURN_IF_ERROR(AbsoluteDir(f.bucket, &f.bucket));
  }
  f.access_key = opts.access_key;
  f.secret_key = opts.secret_key;
  f.block_size_kib = static_cast<int>(bs);
  f.compression = opts.compression.empty() ? "none" : opts.compression;
  // JuiceFS stores the algorithm even without a key (its flag has a default).
  f.encrypt_key = opts.encrypt_rsa_key;
  f.encrypt_algo = encrypt_algo;
  f.hash_prefix = opts.hash_prefix;
  f.capacity = opts.capacity;
  f.inodes = opts.inodes;
  f.trash_days = opts.trash_days;
  f.meta_version = 1;
  f.min_client_version = "1.1.0-A";
  f.dir_stats = true;  // as `juicefs format` for new volumes (directory statistics and quotas)

  std::unique_ptr<meta::Meta> m;
  JFS_RETURN_IF_ERROR(meta::NewMeta(meta_url, &m, /*create_if_missing=*/true));
  meta::Format old;
  Status ls = m->Load(&old);
  const bool exists = ls.ok();
  if (!exists && !ls.IsNotFound()) return ls.WithContext("reading the existing format");
  if (exists) {
    JFS_RETURN_IF_ERROR(DecryptFormatSecrets(&old).WithContext("reading the existing format"));
    if (!opts.force) {
      return Status::Exists("volume already formatted (name \"" + old.name +
                            "\"); use force to re-format");
    }
    // The key and algorithm of existing data cannot change (JuiceFS ignores the flags; we refuse
    // a different key rather than silently keep the old one).
    if (!opts.encrypt_rsa_key.empty() && opts.encrypt_rsa_key != old.encrypt_key) {
      return Status::Invalid("the encryption key of an existing volume cannot be changed");
    }
    // Re-format: keep the identity and whatever this client does not interpret.
    meta::Format merged = old;
    merged.name = f.name;
    merged.storage = f.storage;
    merged.bucket = f.bucket;
    merged.access_key = f.access_key;
    merged.secret_key = f.secret_key;
    merged.block_size_kib = f.block_size_kib;
    merged.compression = f.compression;
    merged.hash_prefix = f.hash_prefix;
    merged.capacity = f.capacity;
    merged.inodes = f.inodes;
    merged.trash_days = f.trash_days;
    f = std::move(merged);
  } else {
    JFS_RETURN_IF_ERROR(NewUuid(&f.uuid));
  }

  std::shared_ptr<object::ObjectStore> store;
  JFS_RETURN_IF_ERROR(BuildStore(f, true, &store));
  {
    // Rejects settings the data layer cannot serve (compression) before anything is written.
    std::unique_ptr<chunk::ChunkStore> probe;
    Status cs = chunk::NewChunkStore(ChunkConfig(f, 1, 0), store, &probe);
    if (!cs.ok()) return Status::Invalid(cs.message());
  }
  if (!exists) {
    bool has_data = false;
    JFS_RETURN_IF_ERROR(StorageHasData(*store, &has_data).WithContext("listing storage"));
    if (has_data) {
      return Status::Exists("storage " + store->Describe() +
                            " is not empty; clean it up or pick another volume name");
    }
    Status ps = store->Put("juicefs_uuid", f.uuid);
    if (!ps.ok()) return ps.WithContext("storage " + store->Describe() + " is not writable");
  }
  // Secrets are stored encrypted with the volume UUID (format.md §4.2), as JuiceFS does.
  meta::Format stored = f;
  Status es = EncryptFormatSecrets(&stored);
  Status is = es.ok() ? m->Init(stored, opts.force) : es;
  if (!is.ok()) {
    if (!exists) (void)store->Delete("juicefs_uuid");
    return is;
  }
  if (out != nullptr) *out = stored;
  return Status::OK();
}

// ---- Open ---------------------------------------------------------------------------------------

Status Volume::Open(const std::string& meta_url, const VolumeOptions& opts,
                    std::unique_ptr<Volume>* out) {
  out->reset();
  if (opts.upload_threads <= 0) return Status::Invalid("upload_threads must be positive");
  // Checked before anything is opened: a bad setting is refused even with the cache off.
  chunk::DiskCacheConfig dc;
  dc.free_space_ratio = opts.free_space_ratio;
  dc.eviction = opts.cache_eviction;
  dc.checksum = opts.verify_cache_checksum;
  JFS_RETURN_IF_ERROR(chunk::CheckDiskCacheSettings(dc));
  if (opts.prefetch < 0 || opts.prefetch > 256) {
    return Status::Invalid("prefetch must be between 0 and 256");
  }
  if (opts.backup_meta != 0 && opts.backup_meta < kMinBackupInterval) {
    return Status::Invalid("backup_meta must be 0 (no backups) or at least 300 seconds");
  }
  if (opts.heartbeat < 1 || opts.heartbeat > 600) {
    return Status::Invalid("heartbeat must be between 1 and 600 seconds");
  }
  if (opts.session_ttl != 0 && (opts.session_ttl <= opts.heartbeat || opts.session_ttl > 86400)) {
    return Status::Invalid("session_ttl must be longer than the heartbeat (and at most a day)");
  }
  std::unique_ptr<meta::Meta> m;
  JFS_RETURN_IF_ERROR(meta::NewMeta(meta_url, &m));
  meta::Format f;
  JFS_RETURN_IF_ERROR(m->Load(&f));
  JFS_RETURN_IF_ERROR(DecryptFormatSecrets(&f));
  if (f.meta_version > 1) {
    return Status::NotSupported("volume metadata version " + std::to_string(f.meta_version) +
                                " is newer than this client supports (1)");
  }
  std::shared_ptr<object::ObjectStore> store;
  JFS_RETURN_IF_ERROR(BuildStore(f, false, &store));
  {
    // Wrong credentials or an unreachable store show up here, as one clear error, rather than
    // at the first read or write. A missing juicefs_uuid is fine (volumes formatted elsewhere).
    // A GET rather than a HEAD: S3 error bodies (SignatureDoesNotMatch, ...) only come with it.
    std::string uuid;
    Status ps = store->Get("juicefs_uuid", 0, 64, &uuid);
    if (!ps.ok() && !ps.IsNotFound()) return ps.WithContext("storage " + store->Describe());
  }
  std::unique_ptr<chunk::ChunkStore> chunks;
  chunk::Config cc = ChunkConfig(f, opts.upload_threads, opts.buffer_size);
  if (!opts.cache_dir.empty() && opts.cache_size > 0) {
    dc.dirs = chunk::SplitCacheDirs(opts.cache_dir);
    if (dc.dirs.empty()) return Status::Invalid("cache_dir names no directory");
  }
  if (!dc.dirs.empty() && !opts.writeback && !opts.cache_same_disk &&
      LocalStoreOnCacheDisks(f, dc.dirs)) {
    // The blocks are plain files on the cache's own file system already: a cached copy would be
    // read no faster and cost a second write of every block.
    dc.dirs.clear();
  }
  if (!dc.dirs.empty()) {
    dc.uuid = f.uuid;
    dc.capacity = opts.cache_size;
    std::unique_ptr<chunk::DiskCache> cache;
    JFS_RETURN_IF_ERROR(chunk::DiskCache::Open(dc, &cache));
    cc.cache = std::move(cache);
    cc.writeback = opts.writeback;
    cc.cache_large_write = opts.cache_large_write;
    cc.prefetch = opts.prefetch;
  }
  JFS_RETURN_IF_ERROR(chunk::NewChunkStore(cc, store, &chunks));
  {
    chunk::PrefetchConfig pc;
    pc.memory = opts.buffer_size / 4;
    // Plain block files: a large read is one copy from the page cache straight into the caller's
    // buffer (from this size on the file store keeps block files open, so the kernel reads them
    // ahead); fetching blocks into memory first would add a second. Small reads (4 KiB: 16x faster)
    // still go through fetched blocks.
    if (PlainLocalStore(f)) pc.direct_from = object::kFileStoreReadAheadFrom;
    pc.download_threads = opts.download_threads;
    pc.readahead_blocks = opts.readahead_blocks;
    JFS_RETURN_IF_ERROR(chunk::NewPrefetchStore(std::move(chunks), pc, &chunks));
  }
  chunk::ChunkStore* cs = chunks.get();  // outlives meta: see VolumeCore member order
  m->OnDeleteSlice([cs](uint64_t id, uint32_t size) {
    Status s = cs->Remove(id, size);
    if (!s.ok()) {
      LogWarning("deleting slice %llu: %s", static_cast<unsigned long long>(id),
                 s.ToString().c_str());
    }
  });
  if (!opts.read_only) {
    meta::SessionInfo info;
    info.version = kClientVersion;
    char host[256] = {0};
    if (gethostname(host, sizeof(host) - 1) == 0) info.host_name = host;
    info.mount_point = opts.mount_point;
    info.mount_time = static_cast<int64_t>(std::time(nullptr));
    info.process_id = static_cast<int>(getpid());
    m->SetSessionTTL(opts.session_ttl != 0 ? opts.session_ttl : 5 * opts.heartbeat);
    JFS_RETURN_IF_ERROR(m->NewSession(info).WithContext("registering session"));
  }
  auto core = std::make_shared<VolumeCore>(opts, std::move(f), std::move(store), std::move(chunks),
                                           std::move(m));
  auto v = std::make_unique<VolumeImpl>(std::move(core), meta_url);
  JFS_RETURN_IF_ERROR(v->Start());  // on failure ~VolumeImpl closes the session again
  *out = std::move(v);
  return Status::OK();
}

}  // namespace jfs::lib
