#include "lib/backup.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>

#include "meta/dump.h"
#include "meta/engine.h"
#include "object/object_store.h"

namespace jfs::lib {

namespace {

constexpr std::string_view kLastBackupXattr = "lastBackup";
constexpr std::string_view kBackupDir = "meta/";
constexpr int64_t kDay = 86400;

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

// A broken-down UTC time → seconds since the epoch; false when a field is out of range.
bool ToUnix(int year, int mon, int day, int hour, int min, int sec, int64_t* out) {
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 60) return false;
  struct tm t = {};
  t.tm_year = year - 1900;
  t.tm_mon = mon - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = min;
  t.tm_sec = sec;
  *out = static_cast<int64_t>(timegm(&t));
  return true;
}

struct tm UtcTime(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm = {};
  gmtime_r(&t, &tm);
  return tm;
}

// Parses the time inside a backup name; false for anything that is not exactly
// "dump-YYYY-MM-DD-HHMMSS.json.gz".
bool ParseBackupName(std::string_view name, int64_t* ts) {
  if (name.size() != 30 || name.substr(0, 5) != "dump-" || name.substr(22) != ".json.gz") {
    return false;
  }
  int y, mo, d, h, mi, s;
  if (!ParseDigits(name, 5, 4, &y) || name[9] != '-' || !ParseDigits(name, 10, 2, &mo) ||
      name[12] != '-' || !ParseDigits(name, 13, 2, &d) || name[15] != '-' ||
      !ParseDigits(name, 16, 2, &h) || !ParseDigits(name, 18, 2, &mi) ||
      !ParseDigits(name, 20, 2, &s)) {
    return false;
  }
  return ToUnix(y, mo, d, h, mi, s, ts);
}

// Deflates the dump into memory as one gzip member (level 1, JuiceFS's gzip.BestSpeed), checking
// the cancel flag between writes.
class GzipStringWriter : public meta::DumpWriter {
 public:
  explicit GzipStringWriter(const std::atomic<bool>* cancel) : cancel_(cancel) {}
  ~GzipStringWriter() override {
    if (ready_) deflateEnd(&z_);
  }
  Status Init() {
    if (deflateInit2(&z_, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      return Status::Error(ENOMEM, "gzip: deflateInit2 failed");
    }
    ready_ = true;
    return Status::OK();
  }
  Status Write(std::string_view data) override {
    if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
      return Status::Error(ECANCELED, "metadata backup cancelled: the volume is closing");
    }
    return Deflate(data, Z_NO_FLUSH);
  }
  Status Finish() { return Deflate({}, Z_FINISH); }
  std::string& out() { return out_; }

 private:
  Status Deflate(std::string_view data, int flush) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    for (;;) {
      size_t used = out_.size();
      out_.resize(used + std::max<size_t>(data.size() / 2, 64 << 10));
      z_.next_out = reinterpret_cast<Bytef*>(out_.data() + used);
      z_.avail_out = static_cast<uInt>(out_.size() - used);
      int rc = deflate(&z_, flush);
      out_.resize(out_.size() - z_.avail_out);
      if (rc == Z_STREAM_ERROR) return Status::IOError("gzip: deflate failed");
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0)) {
        return Status::OK();
      }
    }
  }

  const std::atomic<bool>* cancel_;
  z_stream z_{};
  bool ready_ = false;
  std::string out_;
};

// Puts `previous` back as the last backup time if the value is still `ours` (a failed backup must
// not hold the next one off for a whole interval).
void RestoreLastBackup(meta::Engine& engine, const std::string& ours, const std::string& previous) {
  (void)engine.Txn([&](meta::Tx& tx) {
    std::string cur;
    Status g = tx.GetXattr(meta::kRootIno, kLastBackupXattr, &cur);
    if (!g.ok() || cur != ours) return Status::OK();
    if (previous.empty()) return tx.DeleteXattr(meta::kRootIno, kLastBackupXattr);
    return tx.PutXattr(meta::kRootIno, kLastBackupXattr, previous);
  });
}

}  // namespace

std::string BackupObjectName(int64_t unix_seconds) {
  const struct tm tm = UtcTime(unix_seconds);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "dump-%04d-%02d-%02d-%02d%02d%02d.json.gz", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

std::string FormatRfc3339Utc(int64_t unix_seconds) {
  const struct tm tm = UtcTime(unix_seconds);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

bool ParseRfc3339(std::string_view s, int64_t* unix_seconds) {
  int y, mo, d, h, mi, sec;
  if (!ParseDigits(s, 0, 4, &y) || s.size() < 20 || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
      !ParseDigits(s, 11, 2, &h) || s[13] != ':' || !ParseDigits(s, 14, 2, &mi) || s[16] != ':' ||
      !ParseDigits(s, 17, 2, &sec)) {
    return false;
  }
  size_t pos = 19;
  if (s[pos] == '.') {  // fractional seconds are ignored
    ++pos;
    size_t digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos, ++digits;
    if (digits == 0) return false;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return false;
    }
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return false;
  }
  if (pos != s.size()) return false;
  int64_t local;
  if (!ToUnix(y, mo, d, h, mi, sec, &local)) return false;
  *unix_seconds = local - offset;
  return true;
}

std::vector<std::string> BackupsToDelete(std::vector<std::string> names, int64_t now) {
  // Walks the backups from the newest: everything in the first 2 days stays; further back, time
  // is cut into windows (a day each up to 2 weeks, then a week up to ~2 months, then 30 days) and
  // only the earliest backup of each window stays.
  std::sort(names.begin(), names.end());
  int days = 2;
  int64_t edge = now - 2 * kDay;
  auto widen = [&] {
    int step = days < 14 ? 1 : days < 60 ? 7 : 30;
    days += step;
    edge -= step * kDay;
  };
  std::vector<std::string> drop, window;
  auto close_window = [&] {
    if (!window.empty()) drop.insert(drop.end(), window.begin(), window.end() - 1);
    window.clear();
  };
  for (auto it = names.rbegin(); it != names.rend(); ++it) {
    int64_t ts;
    if (!ParseBackupName(*it, &ts)) continue;
    if (ts < edge) {
      close_window();
      while (ts < edge) widen();
      window.push_back(*it);
    } else if (days > 2) {
      window.push_back(*it);
    }
  }
  close_window();
  return drop;
}

Status BackupIfDue(meta::Engine& engine, object::ObjectStore& store, int64_t interval, int64_t now,
                   bool skip_trash, const std::atomic<bool>* cancel, BackupResult* result) {
  *result = BackupResult::kNotDue;
  if (interval < kMinBackupInterval) {
    return Status::Invalid("the backup interval must be at least 5 minutes");
  }
  const std::string stamp = FormatRfc3339Utc(now);
  std::string previous;
  bool due = false, too_many = false;
  JFS_RETURN_IF_ERROR(engine.Txn([&](meta::Tx& tx) {
    due = too_many = false;
    previous.clear();
    Status g = tx.GetXattr(meta::kRootIno, kLastBackupXattr, &previous);
    if (!g.ok() && !g.Is(ENODATA)) return g;
    int64_t last = 0;
    if (g.ok() && ParseRfc3339(previous, &last) && now - last < interval) return Status::OK();
    if (interval <= 3600) {
      int64_t inodes = 0;
      JFS_RETURN_IF_ERROR(tx.GetCounter("totalInodes", &inodes));
      if (inodes > 1000000) {
        too_many = true;
        return Status::OK();
      }
    }
    due = true;
    return tx.PutXattr(meta::kRootIno, kLastBackupXattr, stamp);
  }));
  if (too_many) *result = BackupResult::kSkippedTooManyInodes;
  if (!due) return Status::OK();

  GzipStringWriter gz(cancel);
  meta::DumpOptions opts;
  opts.skip_trash = skip_trash;
  Status s = gz.Init();
  if (s.ok()) s = meta::DumpMeta(engine, opts, &gz);
  if (s.ok()) s = gz.Finish();
  const std::string name = BackupObjectName(now);
  if (s.ok()) s = store.Put(std::string(kBackupDir) + name, gz.out());
  if (!s.ok()) {
    RestoreLastBackup(engine, stamp, previous);
    return s.WithContext("metadata backup " + name);
  }
  *result = BackupResult::kDone;

  // Rotation: only after a successful backup, and best effort.
  std::vector<object::ObjectInfo> objs;
  if (object::ListAll(store, kBackupDir, &objs).ok()) {
    std::vector<std::string> names;
    for (const auto& o : objs) {
      if (!o.is_dir) names.push_back(o.key.substr(kBackupDir.size()));
    }
    for (const auto& n : BackupsToDelete(std::move(names), now)) {
      (void)store.Delete(std::string(kBackupDir) + n);
    }
  }
  return Status::OK();
}

}  // namespace jfs::lib
