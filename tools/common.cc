#include "tools/common.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace jfs::tools {

void PrintError(std::string_view cmd, std::string_view message) {
  std::string line = "jfs: ";
  if (!cmd.empty()) {
    line += cmd;
    line += ": ";
  }
  line += message;
  // A message from below may span lines (a database error text); the contract is one line.
  for (char& c : line) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  line += '\n';
  std::fflush(stdout);
  std::fputs(line.c_str(), stderr);
}

void PrintErrno(std::string_view cmd, std::string_view subject, int err, std::string_view detail) {
  std::string msg(subject);
  if (!msg.empty()) msg += ": ";
  msg += std::strerror(err);
  if (!detail.empty()) {
    msg += " (";
    msg += detail;
    msg += ")";
  }
  PrintError(cmd, msg);
}

std::string LibraryDetail(std::string_view library_message, int err) {
  std::string_view msg = library_message;
  const std::string reason = std::strerror(err);
  // Messages read "<op> <path>: <ENAME> (<strerror>): <detail>" or "<op> <path>: <strerror>".
  const std::string marker = " (" + reason + ")";
  if (size_t at = msg.find(marker); at != std::string_view::npos) {
    msg.remove_prefix(at + marker.size());
    if (msg.substr(0, 2) == ": ") msg.remove_prefix(2);
    return std::string(msg);
  }
  if (msg.size() >= reason.size() && msg.substr(msg.size() - reason.size()) == reason) return "";
  return std::string(msg);
}

std::string UsefulDetail(std::string_view library_message, int err) {
  switch (err) {
    case ENOENT:
    case EEXIST:
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case EACCES:
    case EPERM:
    case ENAMETOOLONG:
    case ELOOP:
      return "";
    default:
      return LibraryDetail(library_message, err);
  }
}

bool ParseSize(std::string_view text, uint64_t default_unit, uint64_t* bytes) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    ++i;
  }
  std::string number(text.substr(0, i));
  if (number.empty() || number == "." || number.find('.') != number.rfind('.')) return false;
  std::string_view suffix = text.substr(i);
  uint64_t unit = default_unit;
  if (!suffix.empty()) {
    static constexpr std::string_view kUnits = "KMGTPE";
    char c = static_cast<char>(std::toupper(static_cast<unsigned char>(suffix[0])));
    size_t pos = kUnits.find(c);
    if (pos != std::string_view::npos) {
      unit = 1;
      for (size_t k = 0; k <= pos; ++k) unit *= 1024;
      suffix.remove_prefix(1);
      if (!suffix.empty() && (suffix[0] == 'i' || suffix[0] == 'I')) suffix.remove_prefix(1);
      if (!suffix.empty() && (suffix[0] == 'B' || suffix[0] == 'b')) suffix.remove_prefix(1);
    } else if (c == 'B') {
      unit = 1;
      suffix.remove_prefix(1);
    }
    if (!suffix.empty()) return false;
  }
  if (number.find('.') == std::string::npos) {
    errno = 0;
    char* end = nullptr;
    unsigned long long v = std::strtoull(number.c_str(), &end, 10);
    if (errno != 0 || *end != '\0') return false;
    if (unit != 0 && v > UINT64_MAX / unit) return false;
    *bytes = v * unit;
    return true;
  }
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (*end != '\0' || !std::isfinite(v) || v < 0) return false;
  double total = v * static_cast<double>(unit);
  if (total >= 18446744073709551615.0) return false;
  *bytes = static_cast<uint64_t>(std::llround(total));
  return true;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  // As go-humanize's IBytes (what juicefs prints): one decimal below 10, none above.
  char buf[32];
  std::snprintf(buf, sizeof(buf), v < 10 ? "%.1f %s" : "%.0f %s", v, kUnits[u]);
  return buf;
}

bool IsVolumePath(std::string_view arg) {
  return arg.substr(0, 4) == "jfs:";
}

std::string VolumePathOf(std::string_view arg) {
  std::string_view p = arg.substr(4);
  if (p.empty()) return "/";
  if (p[0] != '/') return "/" + std::string(p);
  return std::string(p);
}

namespace {

bool ParseInt(const std::string& text, int64_t lo, int64_t hi, int64_t* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

}  // namespace

std::string DefaultCacheDir() {
  if (geteuid() == 0) return "/var/jfsCache";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') return "/var/jfsCache";
  return std::string(home) + "/.juicefs/cache";
}

bool ParseDuration(std::string_view text, int64_t* seconds) {
  if (text.empty()) return false;
  int64_t unit = 1;
  switch (text.back()) {
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = 86400;
      break;
    default:
      unit = 0;
  }
  if (unit != 0) {
    text.remove_suffix(1);
  } else {
    unit = 1;
  }
  int64_t v = 0;
  if (!ParseInt(std::string(text), 0, INT64_MAX / 86400, &v)) return false;
  *seconds = v * unit;
  return true;
}

int ApplyVolumeOptions(std::string_view cmd, const GlobalOptions& g, jfs_volume_options_t* opts) {
  auto bad = [&](const char* flag, const std::string& v) {
    PrintError(cmd, std::string("invalid value '") + v + "' for " + flag);
    return kExitUsage;
  };
  if (!g.cache_dir.empty()) opts->cache_dir = g.cache_dir.c_str();
  if (!g.cache_size.empty()) {
    uint64_t bytes = 0;
    if (!ParseSize(g.cache_size, 1ull << 20, &bytes)) return bad("--cache-size", g.cache_size);
    opts->cache_size = bytes >> 20;
  }
  if (!g.free_space_ratio.empty()) {
    char* end = nullptr;
    const double r = std::strtod(g.free_space_ratio.c_str(), &end);
    if (*end != '\0' || !(r >= 0 && r <= 0.9)) {
      return bad("--free-space-ratio", g.free_space_ratio);
    }
    opts->free_space_ratio = r;
  }
  if (!g.cache_eviction.empty()) opts->cache_eviction = g.cache_eviction.c_str();
  if (!g.verify_cache_checksum.empty()) {
    opts->verify_cache_checksum = g.verify_cache_checksum.c_str();
  }
  int64_t v = 0;
  if (!g.max_uploads.empty()) {
    if (!ParseInt(g.max_uploads, 1, 256, &v)) return bad("--max-uploads", g.max_uploads);
    opts->upload_threads = static_cast<int32_t>(v);
  }
  if (!g.max_downloads.empty()) {
    if (!ParseInt(g.max_downloads, 1, 256, &v)) return bad("--max-downloads", g.max_downloads);
    opts->download_threads = static_cast<int32_t>(v);
  }
  if (!g.prefetch.empty()) {
    if (!ParseInt(g.prefetch, 0, 256, &v)) return bad("--prefetch", g.prefetch);
    opts->prefetch = static_cast<int32_t>(v);
  }
  if (!g.buffer_size.empty()) {
    uint64_t bytes = 0;
    if (!ParseSize(g.buffer_size, 1ull << 20, &bytes) || bytes < (1ull << 20)) {
      return bad("--buffer-size", g.buffer_size);
    }
    opts->buffer_size = bytes;
  }
  if (g.writeback) opts->flags |= JFS_VOLUME_WRITEBACK;
  if (g.cache_large_write) opts->flags |= JFS_VOLUME_CACHE_LARGE_WRITE;
  return kExitOk;
}

void AddVolumeOptions(CLI::App& app, GlobalOptions* g) {
  const char* group = "Volume options (commands that open a volume)";
  app.add_option("--cache-dir", g->cache_dir,
                 "cache directories separated by ':' (default $HOME/.juicefs/cache, "
                 "/var/jfsCache for root)")
      ->group(group);
  app.add_option("--cache-size", g->cache_size,
                 "disk cache size in MiB (or with a unit); 0 "
                 "disables the cache (default 0: off; JuiceFS mounts use 102400)")
      ->group(group);
  app.add_option("--free-space-ratio", g->free_space_ratio,
                 "share of the cache disk kept free (default 0.1)")
      ->group(group);
  app.add_option("--cache-eviction", g->cache_eviction, "2-random (default) or none")->group(group);
  app.add_option("--verify-cache-checksum", g->verify_cache_checksum,
                 "none, full, shrink or extend (default)")
      ->group(group);
  app.add_flag("--writeback", g->writeback,
               "upload blocks in the background once staged on the cache disk")
      ->group(group);
  app.add_flag("--cache-large-write", g->cache_large_write,
               "also cache full blocks when written (default: only blocks shorter than the "
               "block size; full blocks once read)")
      ->group(group);
  app.add_option("--max-uploads", g->max_uploads, "parallel block uploads (default 8)")
      ->group(group);
  app.add_option("--max-downloads", g->max_downloads, "parallel block downloads (default 8)")
      ->group(group);
  app.add_option("--buffer-size", g->buffer_size,
                 "read/write buffer memory in MiB (or with a unit; default 300)")
      ->group(group);
  app.add_option("--prefetch", g->prefetch,
                 "background whole-block fetches after a partial read (default 1)")
      ->group(group);
}

int OpenVolume(std::string_view cmd, const GlobalOptions& global, bool read_only,
               VolumeHandle* out) {
  if (global.meta_url.empty()) {
    PrintError(cmd, "no volume given: use --meta META-URL or set JFS_META_URL");
    return kExitUsage;
  }
  jfs_volume_options_t opts;
  jfs_volume_options_init(&opts);
  if (read_only) opts.flags |= JFS_VOLUME_READ_ONLY;
  opts.mount_point = "jfs";
  if (int rc = ApplyVolumeOptions(cmd, global, &opts); rc != kExitOk) return rc;
  jfs_fs_t* fs = nullptr;
  int rc = jfs_open_volume(global.meta_url.c_str(), &opts, &fs);
  if (rc < 0) {
    // Opening fails for reasons strerror cannot tell apart (no database vs. not formatted), so
    // the library's text is always shown.
    PrintErrno(cmd, "cannot open volume " + global.meta_url, -rc,
               LibraryDetail(jfs_last_open_error(), -rc));
    return kExitError;
  }
  out->reset(fs);
  return kExitOk;
}

int CloseVolume(std::string_view cmd, VolumeHandle fs) {
  if (!fs) return kExitOk;
  int rc = jfs_close_volume(fs.release());
  if (rc < 0) {
    PrintErrno(cmd, "closing the volume", -rc, UsefulDetail(jfs_last_open_error(), -rc));
    return kExitError;
  }
  return kExitOk;
}

bool RemoveTree(std::string_view cmd, jfs_fs_t* fs, const std::string& path) {
  auto fail = [cmd, fs](const std::string& p, int err) {
    PrintErrno(cmd, "cannot remove jfs:" + p, err, UsefulDetail(jfs_last_error(fs), err));
    return false;
  };
  auto join = [](const std::string& dir, const std::string& name) {
    return dir.back() == '/' ? dir + name : dir + "/" + name;
  };
  // Names first, then removals: a stream does not promise to survive its directory changing.
  std::vector<std::pair<std::string, bool>> children;  // (name, is directory)
  {
    jfs_dir_t* raw = nullptr;
    if (int rc = jfs_opendir(fs, path.c_str(), &raw); rc < 0) return fail(path, -rc);
    DirHandle dir(raw);
    for (;;) {
      const jfs_dirent_t* ent = nullptr;
      int rc = jfs_readdir(dir.get(), &ent);
      if (rc < 0) return fail(path, -rc);
      if (rc == 0) break;
      children.emplace_back(std::string(ent->name, ent->name_len),
                            (ent->stat.mode & 0170000) == 0040000);
    }
  }
  bool ok = true;
  for (const auto& [name, is_dir] : children) {
    const std::string child = join(path, name);
    if (is_dir) {
      ok = RemoveTree(cmd, fs, child) && ok;
    } else if (int rc = jfs_unlink(fs, child.c_str()); rc < 0 && rc != -ENOENT) {
      ok = fail(child, -rc) && ok;
    }
  }
  if (!ok) return false;
  if (int rc = jfs_rmdir(fs, path.c_str()); rc < 0) return fail(path, -rc);
  return true;
}

// printResult of cmd/bench.go (called with leftAlign -1): headers centred, every cell
// right-aligned.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  size_t width[3] = {0, 0, 0};
  for (const auto& r : rows) {
    for (int i = 0; i < 3; ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string divider;
  for (size_t w : width) divider += "+" + std::string(w + 2, '-');
  divider += "+";
  std::printf("%s\n", divider.c_str());
  std::string header = "|";
  for (int i = 0; i < 3; ++i) {
    const std::string& h = rows[0][i];
    size_t left = (width[i] - h.size()) / 2, right = width[i] - h.size() - left;
    header += " " + std::string(left, ' ') + h + std::string(right, ' ') + " |";
  }
  std::printf("%s\n%s\n", header.c_str(), divider.c_str());
  for (size_t r = 1; r < rows.size(); ++r) {
    std::string line = "|";
    for (int i = 0; i < 3; ++i) {
      line += " " + std::string(width[i] - rows[r][i].size(), ' ') + rows[r][i] + " |";
    }
    std::printf("%s\n", line.c_str());
  }
  std::printf("%s\n", divider.c_str());
}

}  // namespace jfs::tools
