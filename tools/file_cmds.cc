// File commands: ls, cp, cat, mkdir, rm, stat. They go through the public C ABI only, as any
// application would; paths inside the volume are written "jfs:/dir/file".
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "juicefs/juicefs.h"
#include "tools/common.h"
#include "util/unique_fd.h"

namespace jfs::tools {
namespace {

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

constexpr uint32_t kTypeMask = 0170000;

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// Last component, ignoring trailing slashes ("a/b/" → "b"; "/" → "").
std::string BaseName(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p == "/") return "";
  size_t at = p.rfind('/');
  return at == std::string::npos ? p : p.substr(at + 1);
}

// Everything before the last component ("a/b" → "a"; "b" → "."; "/b" → "/").
std::string DirName(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t at = p.rfind('/');
  if (at == std::string::npos) return ".";
  if (at == 0) return "/";
  return p.substr(0, at);
}

// ls -l / stat(1) style "drwxr-xr-x".
std::string ModeString(uint32_t mode) {
  std::string s(10, '-');
  switch (mode & kTypeMask) {
    case S_IFDIR:
      s[0] = 'd';
      break;
    case S_IFLNK:
      s[0] = 'l';
      break;
    case S_IFIFO:
      s[0] = 'p';
      break;
    case S_IFSOCK:
      s[0] = 's';
      break;
    case S_IFCHR:
      s[0] = 'c';
      break;
    case S_IFBLK:
      s[0] = 'b';
      break;
    default:
      break;
  }
  static const char kRwx[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) {
    if (mode & (0400u >> i)) s[1 + i] = kRwx[i];
  }
  if (mode & S_ISUID) s[3] = (mode & 0100) ? 's' : 'S';
  if (mode & S_ISGID) s[6] = (mode & 0010) ? 's' : 'S';
  if (mode & S_ISVTX) s[9] = (mode & 0001) ? 't' : 'T';
  return s;
}

std::string UserName(uint32_t uid) {
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != nullptr) return pw.pw_name;
  return std::to_string(uid);
}

std::string GroupName(uint32_t gid) {
  struct group gr, *res = nullptr;
  char buf[4096];
  if (getgrgid_r(gid, &gr, buf, sizeof(buf), &res) == 0 && res != nullptr) return gr.gr_name;
  return std::to_string(gid);
}

bool IsDir(const jfs_stat_t& st) {
  return (st.mode & kTypeMask) == S_IFDIR;
}
bool IsLink(const jfs_stat_t& st) {
  return (st.mode & kTypeMask) == S_IFLNK;
}

// Writes all of buf to fd (stdout for cat, a local file for cp).
int WriteAll(int fd, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    buf += w;
    n -= static_cast<size_t>(w);
  }
  return 0;
}

// Checks that every argument is a volume path; a local path here is a usage mistake.
bool RequireVolumePaths(std::string_view cmd, const std::vector<std::string>& args) {
  for (const std::string& a : args) {
    if (!IsVolumePath(a)) {
      PrintError(cmd, "'" + a + "' is not a volume path (write it as jfs:" +
                          (a.empty() || a[0] != '/' ? "/" : "") + a + ")");
      return false;
    }
  }
  return true;
}

// The text of the last failure on `fs` that says more than strerror(err).
std::string Detail(jfs_fs_t* fs, int err) {
  return UsefulDetail(jfs_last_error(fs), err);
}

// ---------------------------------------------------------------------------------------------
// ls
// ---------------------------------------------------------------------------------------------

struct LsArgs {
  std::vector<std::string> paths;
  bool long_format = false;
  bool all = false;
};

struct LsEntry {
  std::string name;
  jfs_stat_t st{};
  std::string link_target;
};

std::string TimeString(int64_t sec) {
  time_t t = static_cast<time_t>(sec);
  struct tm tm {};
  localtime_r(&t, &tm);
  const time_t now = std::time(nullptr);
  const bool recent = t <= now + 60 && now - t < 180 * 24 * 3600;
  char buf[64];
  std::strftime(buf, sizeof(buf), recent ? "%b %e %H:%M" : "%b %e  %Y", &tm);
  return buf;
}

void PrintLsEntries(std::vector<LsEntry>& entries, bool long_format) {
  std::sort(entries.begin(), entries.end(),
            [](const LsEntry& a, const LsEntry& b) { return a.name < b.name; });
  if (!long_format) {
    for (const LsEntry& e : entries) std::printf("%s\n", e.name.c_str());
    return;
  }
  struct Row {
    std::string mode, links, user, group, size, time;
  };
  std::vector<Row> rows;
  size_t w_links = 0, w_user = 0, w_group = 0, w_size = 0;
  for (const LsEntry& e : entries) {
    Row r{ModeString(e.st.mode), std::to_string(e.st.nlink), UserName(e.st.uid),
          GroupName(e.st.gid),   std::to_string(e.st.size),  TimeString(e.st.mtime.sec)};
    w_links = std::max(w_links, r.links.size());
    w_user = std::max(w_user, r.user.size());
    w_group = std::max(w_group, r.group.size());
    w_size = std::max(w_size, r.size.size());
    rows.push_back(std::move(r));
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const Row& r = rows[i];
    std::string name = entries[i].name;
    if (IsLink(entries[i].st)) name += " -> " + entries[i].link_target;
    std::printf("%s %*s %-*s %-*s %*s %s %s\n", r.mode.c_str(), static_cast<int>(w_links),
                r.links.c_str(), static_cast<int>(w_user), r.user.c_str(),
                static_cast<int>(w_group), r.group.c_str(), static_cast<int>(w_size),
                r.size.c_str(), r.time.c_str(), name.c_str());
  }
}

// Fills e.link_target for a symlink (best effort: an unreadable target shows as "?").
void FillLinkTarget(jfs_fs_t* fs, const std::string& path, LsEntry* e) {
  if (!IsLink(e->st)) return;
  char* target = nullptr;
  size_t len = 0;
  if (jfs_readlink(fs, path.c_str(), &target, &len) == 0) {
    e->link_target.assign(target, len);
    jfs_free(target);
  } else {
    e->link_target = "?";
  }
}

int ListDirectory(jfs_fs_t* fs, const std::string& arg, const std::string& path, const LsArgs& a) {
  jfs_dir_t* raw = nullptr;
  int rc = jfs_opendir(fs, path.c_str(), &raw);
  if (rc < 0) {
    PrintErrno("ls", "cannot open directory " + arg, -rc, Detail(fs, -rc));
    return kExitError;
  }
  DirHandle dir(raw);
  std::vector<LsEntry> entries;
  if (a.all) {
    for (const char* dot : {".", ".."}) {
      LsEntry e;
      e.name = dot;
      if (jfs_stat(fs, JoinPath(path, dot).c_str(), &e.st) == 0) entries.push_back(std::move(e));
    }
  }
  for (;;) {
    const jfs_dirent_t* ent = nullptr;
    rc = jfs_readdir(dir.get(), &ent);
    if (rc < 0) {
      PrintErrno("ls", "reading directory " + arg, -rc, Detail(fs, -rc));
      return kExitError;
    }
    if (rc == 0) break;
    if (!a.all && ent->name[0] == '.') continue;
    LsEntry e;
    e.name.assign(ent->name, ent->name_len);
    e.st = ent->stat;
    if (a.long_format) FillLinkTarget(fs, JoinPath(path, e.name), &e);
    entries.push_back(std::move(e));
  }
  PrintLsEntries(entries, a.long_format);
  return kExitOk;
}

int RunLs(const GlobalOptions& global, LsArgs a) {
  constexpr std::string_view kCmd = "ls";
  if (a.paths.empty()) a.paths.push_back("jfs:/");
  if (!RequireVolumePaths(kCmd, a.paths)) return kExitUsage;
  VolumeHandle fs;
  if (int rc = OpenVolume(kCmd, global, true, &fs); rc != kExitOk) return rc;

  int result = kExitOk;
  std::vector<LsEntry> files;
  std::vector<std::pair<std::string, std::string>> dirs;  // (argument, volume path)
  for (const std::string& arg : a.paths) {
    const std::string path = VolumePathOf(arg);
    LsEntry e;
    e.name = arg;
    int rc = jfs_lstat(fs.get(), path.c_str(), &e.st);
    if (rc == 0 && IsLink(e.st) && !a.long_format) {
      // Like ls: a symlink argument to a directory lists the directory (unless -l).
      jfs_stat_t target{};
      if (jfs_stat(fs.get(), path.c_str(), &target) == 0) e.st = target;
    }
    if (rc < 0) {
      PrintErrno(kCmd, "cannot access " + arg, -rc, Detail(fs.get(), -rc));
      result = kExitError;
      continue;
    }
    if (IsDir(e.st)) {
      dirs.emplace_back(arg, path);
    } else {
      if (a.long_format) FillLinkTarget(fs.get(), path, &e);
      files.push_back(std::move(e));
    }
  }
  if (!files.empty()) PrintLsEntries(files, a.long_format);
  const bool headers = a.paths.size() > 1;
  for (size_t i = 0; i < dirs.size(); ++i) {
    if (headers) {
      if (i > 0 || !files.empty()) std::printf("\n");
      std::printf("%s:\n", dirs[i].first.c_str());
    }
    if (ListDirectory(fs.get(), dirs[i].first, dirs[i].second, a) != kExitOk) result = kExitError;
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

// ---------------------------------------------------------------------------------------------
// cp: a tree on either side (local file system or volume), copied with one 4 MiB buffer
// ---------------------------------------------------------------------------------------------

struct NodeInfo {
  enum Kind { kRegular, kDirectory, kSymlink, kOther } kind = kOther;
  uint32_t perm = 0;
  uint64_t dev = 0, ino = 0;  // identity, to find "the same file"
};

class Source {
 public:
  virtual ~Source() = default;
  // Bytes read (0 at the end) or -errno.
  virtual int64_t Read(char* buf, size_t n) = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  // 0 when all n bytes were written, else -errno.
  virtual int Write(const char* buf, size_t n) = 0;
  // Flushes and closes; 0 or -errno (data may be lost).
  virtual int Finish() = 0;
};

// The operations cp needs, each returning 0 or -errno.
class Tree {
 public:
  virtual ~Tree() = default;
  // "jfs:/a/b" or the local path as given.
  virtual std::string Display(const std::string& path) const = 0;
  virtual int Stat(const std::string& path, bool follow, NodeInfo* out) = 0;
  virtual int OpenRead(const std::string& path, std::unique_ptr<Source>* out) = 0;
  virtual int Create(const std::string& path, uint32_t perm, std::unique_ptr<Sink>* out) = 0;
  virtual int Mkdir(const std::string& path, uint32_t perm) = 0;
  virtual int Chmod(const std::string& path, uint32_t perm) = 0;
  virtual int List(const std::string& path, std::vector<std::string>* names) = 0;
  virtual int ReadLink(const std::string& path, std::string* target) = 0;
  virtual int Symlink(const std::string& target, const std::string& path) = 0;
  // Absolute path without symlinks, "." or ".." (the path must exist).
  virtual int Canonical(const std::string& path, std::string* out) = 0;
  // What the last failure says beyond strerror(err).
  virtual std::string Detail(int err) = 0;
};

NodeInfo::Kind KindOf(uint32_t mode) {
  switch (mode & kTypeMask) {
    case S_IFREG:
      return NodeInfo::kRegular;
    case S_IFDIR:
      return NodeInfo::kDirectory;
    case S_IFLNK:
      return NodeInfo::kSymlink;
    default:
      return NodeInfo::kOther;
  }
}

class LocalSource : public Source {
 public:
  explicit LocalSource(int fd) : fd_(fd) {}
  int64_t Read(char* buf, size_t n) override {
    for (;;) {
      ssize_t r = ::read(fd_.get(), buf, n);
      if (r >= 0) return r;
      if (errno != EINTR) return -errno;
    }
  }

 private:
  UniqueFd fd_;
};

class LocalSink : public Sink {
 public:
  explicit LocalSink(int fd) : fd_(fd) {}
  int Write(const char* buf, size_t n) override { return WriteAll(fd_.get(), buf, n); }
  int Finish() override { return fd_.Close(); }

 private:
  UniqueFd fd_;
};

class LocalTree : public Tree {
 public:
  std::string Display(const std::string& path) const override { return path; }
  int Stat(const std::string& path, bool follow, NodeInfo* out) override {
    struct stat st {};
    if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) return -errno;
    out->kind = KindOf(st.st_mode);
    out->perm = st.st_mode & 07777;
    out->dev = st.st_dev;
    out->ino = st.st_ino;
    return 0;
  }
  int OpenRead(const std::string& path, std::unique_ptr<Source>* out) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    *out = std::make_unique<LocalSource>(fd);
    return 0;
  }
  int Create(const std::string& path, uint32_t perm, std::unique_ptr<Sink>* out) override {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, perm);
    if (fd < 0) return -errno;
    *out = std::make_unique<LocalSink>(fd);
    return 0;
  }
  int Mkdir(const std::string& path, uint32_t perm) override {
    return ::mkdir(path.c_str(), perm) == 0 ? 0 : -errno;
  }
  int Chmod(const std::string& path, uint32_t perm) override {
    return ::chmod(path.c_str(), perm) == 0 ? 0 : -errno;
  }
  int List(const std::string& path, std::vector<std::string>* names) override {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d) return -errno;
    for (;;) {
      errno = 0;
      struct dirent* e = ::readdir(d.get());
      if (e == nullptr) return errno == 0 ? 0 : -errno;
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names->emplace_back(e->d_name);
    }
  }
  int ReadLink(const std::string& path, std::string* target) override {
    std::vector<char> buf(PATH_MAX + 1);
    ssize_t n = ::readlink(path.c_str(), buf.data(), buf.size());
    if (n < 0) return -errno;
    if (static_cast<size_t>(n) >= buf.size()) return -ENAMETOOLONG;
    target->assign(buf.data(), static_cast<size_t>(n));
    return 0;
  }
  int Symlink(const std::string& target, const std::string& path) override {
    return ::symlink(target.c_str(), path.c_str()) == 0 ? 0 : -errno;
  }
  int Canonical(const std::string& path, std::string* out) override {
    char buf[PATH_MAX];
    if (::realpath(path.c_str(), buf) == nullptr) return -errno;
    *out = buf;
    return 0;
  }
  std::string Detail(int) override { return ""; }
};

class VolumeSource : public Source {
 public:
  explicit VolumeSource(jfs_file_t* f) : f_(f) {}
  int64_t Read(char* buf, size_t n) override { return jfs_read(f_.get(), buf, n); }

 private:
  FileHandle f_;
};

class VolumeSink : public Sink {
 public:
  explicit VolumeSink(jfs_file_t* f) : f_(f) {}
  int Write(const char* buf, size_t n) override {
    int64_t w = jfs_write(f_.get(), buf, n);
    if (w < 0) return static_cast<int>(w);
    return static_cast<uint64_t>(w) == n ? 0 : -EIO;
  }
  int Finish() override { return jfs_close(f_.release()); }

 private:
  FileHandle f_;
};

class VolumeTree : public Tree {
 public:
  explicit VolumeTree(jfs_fs_t* fs) : fs_(fs) {}
  std::string Display(const std::string& path) const override { return "jfs:" + path; }
  int Stat(const std::string& path, bool follow, NodeInfo* out) override {
    jfs_stat_t st{};
    int rc = follow ? jfs_stat(fs_, path.c_str(), &st) : jfs_lstat(fs_, path.c_str(), &st);
    if (rc < 0) return rc;
    out->kind = KindOf(st.mode);
    out->perm = st.mode & 07777;
    out->dev = 0;
    out->ino = st.ino;
    return 0;
  }
  int OpenRead(const std::string& path, std::unique_ptr<Source>* out) override {
    jfs_file_t* f = nullptr;
    int rc = jfs_open(fs_, path.c_str(), O_RDONLY, 0, &f);
    if (rc < 0) return rc;
    *out = std::make_unique<VolumeSource>(f);
    return 0;
  }
  int Create(const std::string& path, uint32_t perm, std::unique_ptr<Sink>* out) override {
    jfs_file_t* f = nullptr;
    int rc = jfs_create(fs_, path.c_str(), perm, &f);
    if (rc < 0) return rc;
    *out = std::make_unique<VolumeSink>(f);
    return 0;
  }
  int Mkdir(const std::string& path, uint32_t perm) override {
    return jfs_mkdir(fs_, path.c_str(), perm);
  }
  int Chmod(const std::string& path, uint32_t perm) override {
    return jfs_chmod(fs_, path.c_str(), perm);
  }
  int List(const std::string& path, std::vector<std::string>* names) override {
    jfs_dir_t* raw = nullptr;
    int rc = jfs_opendir(fs_, path.c_str(), &raw);
    if (rc < 0) return rc;
    DirHandle dir(raw);
    for (;;) {
      const jfs_dirent_t* ent = nullptr;
      rc = jfs_readdir(dir.get(), &ent);
      if (rc <= 0) return rc;
      names->emplace_back(ent->name, ent->name_len);
    }
  }
  int ReadLink(const std::string& path, std::string* target) override {
    char* t = nullptr;
    size_t len = 0;
    int rc = jfs_readlink(fs_, path.c_str(), &t, &len);
    if (rc < 0) return rc;
    target->assign(t, len);
    jfs_free(t);
    return 0;
  }
  int Symlink(const std::string& target, const std::string& path) override {
    return jfs_symlink(fs_, target.c_str(), path.c_str());
  }
  int Canonical(const std::string& path, std::string* out) override {
    char* r = nullptr;
    int rc = jfs_realpath(fs_, path.c_str(), &r);
    if (rc < 0) return rc;
    *out = r;
    jfs_free(r);
    return 0;
  }
  std::string Detail(int err) override { return tools::Detail(fs_, err); }

 private:
  jfs_fs_t* fs_;
};

struct CpArgs {
  std::vector<std::string> paths;
  bool recursive = false;
};

class Copier {
 public:
  explicit Copier(bool recursive) : recursive_(recursive), buf_(kCopyBufferSize) {}

  // Copies one command-line source to `dst` (the final name). Returns false after reporting.
  bool CopyArg(Tree& st, const std::string& src, Tree& dt, const std::string& dst) {
    NodeInfo info;
    // Like cp: without -r a symlink argument is followed; with -r it is copied as a link.
    if (int rc = st.Stat(src, !recursive_, &info); rc < 0) {
      return Fail(st, src, -rc, "cannot stat ");
    }
    if (info.kind == NodeInfo::kDirectory && !recursive_) {
      PrintError("cp", "-r not specified; omitting directory " + st.Display(src));
      return false;
    }
    return CopyNode(st, src, info, dt, dst);
  }

 private:
  bool Fail(Tree& t, const std::string& path, int err, const std::string& what = "") {
    PrintErrno("cp", what + t.Display(path), err, t.Detail(err));
    return false;
  }

  bool CopyNode(Tree& st, const std::string& src, const NodeInfo& info, Tree& dt,
                const std::string& dst) {
    switch (info.kind) {
      case NodeInfo::kRegular:
        return CopyFile(st, src, info, dt, dst);
      case NodeInfo::kDirectory:
        return CopyDir(st, src, info, dt, dst);
      case NodeInfo::kSymlink: {
        std::string target;
        if (int rc = st.ReadLink(src, &target); rc < 0) return Fail(st, src, -rc);
        if (int rc = dt.Symlink(target, dst); rc < 0) {
          return Fail(dt, dst, -rc, "cannot create symbolic link ");
        }
        return true;
      }
      case NodeInfo::kOther:
        break;
    }
    PrintError("cp", st.Display(src) + ": not a regular file, directory or symlink; skipped");
    return false;
  }

  bool CopyFile(Tree& st, const std::string& src, const NodeInfo& info, Tree& dt,
                const std::string& dst) {
    NodeInfo existing;
    if (dt.Stat(dst, true, &existing) == 0) {
      if (&st == &dt && existing.dev == info.dev && existing.ino == info.ino) {
        PrintError("cp", st.Display(src) + " and " + dt.Display(dst) + " are the same file");
        return false;
      }
      if (existing.kind == NodeInfo::kDirectory) {
        PrintError("cp", "cannot overwrite directory " + dt.Display(dst) + " with non-directory");
        return false;
      }
    }
    std::unique_ptr<Source> in;
    if (int rc = st.OpenRead(src, &in); rc < 0) return Fail(st, src, -rc);
    std::unique_ptr<Sink> out;
    if (int rc = dt.Create(dst, info.perm & 0777, &out); rc < 0) return Fail(dt, dst, -rc);
    for (;;) {
      int64_t n = in->Read(buf_.data(), buf_.size());
      if (n < 0) return Fail(st, src, static_cast<int>(-n));
      if (n == 0) break;
      if (int rc = out->Write(buf_.data(), static_cast<size_t>(n)); rc < 0) {
        return Fail(dt, dst, -rc);
      }
    }
    if (int rc = out->Finish(); rc < 0) return Fail(dt, dst, -rc);
    return true;
  }

  bool CopyDir(Tree& st, const std::string& src, const NodeInfo& info, Tree& dt,
               const std::string& dst) {
    if (&st == &dt) {
      // Copying a directory into itself would never end.
      std::string src_c, parent_c;
      if (st.Canonical(src, &src_c) == 0 && dt.Canonical(DirName(dst), &parent_c) == 0) {
        std::string dst_c = JoinPath(parent_c, BaseName(dst));
        if (dst_c == src_c || dst_c.compare(0, src_c.size() + 1, JoinPath(src_c, "")) == 0) {
          PrintError("cp", "cannot copy a directory, " + st.Display(src) + ", into itself, " +
                               dt.Display(dst));
          return false;
        }
      }
    }
    // Owner write/search permission while filling it; the real mode is set afterwards.
    const uint32_t perm = info.perm & 07777;
    bool created = false;
    if (int rc = dt.Mkdir(dst, perm | 0700); rc == 0) {
      created = true;
    } else {
      NodeInfo existing;
      if (rc != -EEXIST || dt.Stat(dst, true, &existing) < 0 ||
          existing.kind != NodeInfo::kDirectory) {
        return Fail(dt, dst, -rc, "cannot create directory ");
      }
    }
    std::vector<std::string> names;
    if (int rc = st.List(src, &names); rc < 0) return Fail(st, src, -rc, "cannot read ");
    std::sort(names.begin(), names.end());
    bool ok = true;
    for (const std::string& name : names) {
      const std::string from = JoinPath(src, name);
      NodeInfo child;
      if (int rc = st.Stat(from, false, &child); rc < 0) {
        ok = Fail(st, from, -rc, "cannot stat ") && ok;
        continue;
      }
      ok = CopyNode(st, from, child, dt, JoinPath(dst, name)) && ok;
    }
    if (created && (perm | 0700) != perm) {
      if (int rc = dt.Chmod(dst, perm); rc < 0) ok = Fail(dt, dst, -rc) && ok;
    }
    return ok;
  }

  bool recursive_;
  std::vector<char> buf_;
};

int RunCp(const GlobalOptions& global, const CpArgs& a) {
  constexpr std::string_view kCmd = "cp";
  if (a.paths.size() < 2) {
    PrintError(kCmd, "need a source and a destination (jfs cp [-r] SRC... DST)");
    return kExitUsage;
  }
  bool uses_volume = false, writes_volume = IsVolumePath(a.paths.back());
  for (const std::string& p : a.paths) uses_volume = uses_volume || IsVolumePath(p);

  VolumeHandle fs;
  if (uses_volume) {
    if (int rc = OpenVolume(kCmd, global, !writes_volume, &fs); rc != kExitOk) return rc;
  }
  LocalTree local;
  VolumeTree volume(fs.get());
  auto tree_of = [&](const std::string& arg) -> Tree& {
    return IsVolumePath(arg) ? static_cast<Tree&>(volume) : static_cast<Tree&>(local);
  };
  auto path_of = [](const std::string& arg) { return IsVolumePath(arg) ? VolumePathOf(arg) : arg; };

  const std::string& dst_arg = a.paths.back();
  Tree& dt = tree_of(dst_arg);
  const std::string dst = path_of(dst_arg);
  NodeInfo dst_info;
  const bool dst_is_dir =
      dt.Stat(dst, true, &dst_info) == 0 && dst_info.kind == NodeInfo::kDirectory;
  const size_t nsrc = a.paths.size() - 1;
  if (nsrc > 1 && !dst_is_dir) {
    PrintError(kCmd, "target " + dt.Display(dst) + " is not a directory");
    CloseVolume(kCmd, std::move(fs));
    return kExitError;
  }

  int result = kExitOk;
  Copier copier(a.recursive);
  for (size_t i = 0; i < nsrc; ++i) {
    Tree& st = tree_of(a.paths[i]);
    const std::string src = path_of(a.paths[i]);
    std::string target = dst;
    if (dst_is_dir) {
      std::string base = BaseName(src);
      if (!base.empty() && base != "." && base != "..") target = JoinPath(dst, base);
    }
    if (!copier.CopyArg(st, src, dt, target)) result = kExitError;
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

// ---------------------------------------------------------------------------------------------
// cat
// ---------------------------------------------------------------------------------------------

int RunCat(const GlobalOptions& global, const std::vector<std::string>& paths) {
  constexpr std::string_view kCmd = "cat";
  if (!RequireVolumePaths(kCmd, paths)) return kExitUsage;
  VolumeHandle fs;
  if (int rc = OpenVolume(kCmd, global, true, &fs); rc != kExitOk) return rc;
  std::vector<char> buf(kCopyBufferSize);
  int result = kExitOk;
  std::fflush(stdout);
  for (const std::string& arg : paths) {
    const std::string path = VolumePathOf(arg);
    jfs_file_t* raw = nullptr;
    int rc = jfs_open(fs.get(), path.c_str(), O_RDONLY, 0, &raw);
    if (rc < 0) {
      PrintErrno(kCmd, arg, -rc, Detail(fs.get(), -rc));
      result = kExitError;
      continue;
    }
    FileHandle f(raw);
    for (;;) {
      int64_t n = jfs_read(f.get(), buf.data(), buf.size());
      if (n < 0) {
        PrintErrno(kCmd, arg, static_cast<int>(-n), Detail(fs.get(), static_cast<int>(-n)));
        result = kExitError;
        break;
      }
      if (n == 0) break;
      if (int w = WriteAll(STDOUT_FILENO, buf.data(), static_cast<size_t>(n)); w < 0) {
        PrintErrno(kCmd, "write error", -w);
        CloseVolume(kCmd, std::move(fs));
        return kExitError;
      }
    }
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

// ---------------------------------------------------------------------------------------------
// mkdir
// ---------------------------------------------------------------------------------------------

int RunMkdir(const GlobalOptions& global, const std::vector<std::string>& paths, bool parents) {
  constexpr std::string_view kCmd = "mkdir";
  if (!RequireVolumePaths(kCmd, paths)) return kExitUsage;
  VolumeHandle fs;
  if (int rc = OpenVolume(kCmd, global, false, &fs); rc != kExitOk) return rc;
  int result = kExitOk;
  for (const std::string& arg : paths) {
    const std::string path = VolumePathOf(arg);
    int rc = parents ? jfs_mkdir_all(fs.get(), path.c_str(), 0777)
                     : jfs_mkdir(fs.get(), path.c_str(), 0777);
    if (rc < 0) {
      PrintErrno(kCmd, "cannot create directory " + arg, -rc, Detail(fs.get(), -rc));
      result = kExitError;
    }
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

// ---------------------------------------------------------------------------------------------
// rm
// ---------------------------------------------------------------------------------------------

int RunRm(const GlobalOptions& global, const std::vector<std::string>& paths, bool recursive,
          bool force) {
  constexpr std::string_view kCmd = "rm";
  if (!RequireVolumePaths(kCmd, paths)) return kExitUsage;
  VolumeHandle fs;
  if (int rc = OpenVolume(kCmd, global, false, &fs); rc != kExitOk) return rc;
  int result = kExitOk;
  for (const std::string& arg : paths) {
    const std::string path = VolumePathOf(arg);
    jfs_stat_t st{};
    int rc = jfs_lstat(fs.get(), path.c_str(), &st);
    if (rc == -ENOENT && force) continue;
    if (rc < 0) {
      PrintErrno(kCmd, "cannot remove " + arg, -rc, Detail(fs.get(), -rc));
      result = kExitError;
      continue;
    }
    if (IsDir(st)) {
      char* real = nullptr;
      bool root = jfs_realpath(fs.get(), path.c_str(), &real) == 0 && IsRoot(real);
      jfs_free(real);
      if (root) {
        PrintError(kCmd, "refusing to remove the volume's root " + arg);
        result = kExitError;
      } else if (!recursive) {
        PrintErrno(kCmd, "cannot remove " + arg, EISDIR);
        result = kExitError;
      } else if (!RemoveTree(kCmd, fs.get(), path)) {
        result = kExitError;
      }
      continue;
    }
    rc = jfs_unlink(fs.get(), path.c_str());
    if (rc < 0 && !(rc == -ENOENT && force)) {
      PrintErrno(kCmd, "cannot remove " + arg, -rc, Detail(fs.get(), -rc));
      result = kExitError;
    }
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

// ---------------------------------------------------------------------------------------------
// stat
// ---------------------------------------------------------------------------------------------

const char* TypeName(const jfs_stat_t& st) {
  switch (st.mode & kTypeMask) {
    case S_IFREG:
      return st.size == 0 ? "regular empty file" : "regular file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symbolic link";
    case S_IFIFO:
      return "fifo";
    case S_IFSOCK:
      return "socket";
    case S_IFCHR:
      return "character special file";
    case S_IFBLK:
      return "block special file";
    default:
      return "unknown";
  }
}

std::string StatTime(const jfs_timespec_t& ts) {
  time_t t = static_cast<time_t>(ts.sec);
  struct tm tm {};
  localtime_r(&t, &tm);
  char date[64], zone[16];
  std::strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
  std::strftime(zone, sizeof(zone), "%z", &tm);
  char buf[128];
  std::snprintf(buf, sizeof(buf), "%s.%09lld %s", date, static_cast<long long>(ts.nsec), zone);
  return buf;
}

int RunStat(const GlobalOptions& global, const std::vector<std::string>& paths) {
  constexpr std::string_view kCmd = "stat";
  if (!RequireVolumePaths(kCmd, paths)) return kExitUsage;
  VolumeHandle fs;
  if (int rc = OpenVolume(kCmd, global, true, &fs); rc != kExitOk) return rc;
  int result = kExitOk;
  for (const std::string& arg : paths) {
    const std::string path = VolumePathOf(arg);
    jfs_stat_t st{};
    int rc = jfs_lstat(fs.get(), path.c_str(), &st);
    if (rc < 0) {
      PrintErrno(kCmd, "cannot stat " + arg, -rc, Detail(fs.get(), -rc));
      result = kExitError;
      continue;
    }
    std::string name = arg;
    if (IsLink(st)) {
      LsEntry e;
      e.st = st;
      FillLinkTarget(fs.get(), path, &e);
      name += " -> " + e.link_target;
    }
    std::printf("  File: %s\n", name.c_str());
    std::printf("  Size: %-10llu\tBlocks: %-10llu IO Block: %-6u %s\n",
                static_cast<unsigned long long>(st.size),
                static_cast<unsigned long long>(st.blocks), st.blksize, TypeName(st));
    std::printf(" Inode: %-11llu Links: %u\n", static_cast<unsigned long long>(st.ino), st.nlink);
    std::printf("Access: (%04o/%s)  Uid: (%5u/%8s)   Gid: (%5u/%8s)\n", st.mode & 07777,
                ModeString(st.mode).c_str(), st.uid, UserName(st.uid).c_str(), st.gid,
                GroupName(st.gid).c_str());
    std::printf("Access: %s\n", StatTime(st.atime).c_str());
    std::printf("Modify: %s\n", StatTime(st.mtime).c_str());
    std::printf("Change: %s\n", StatTime(st.ctime).c_str());
  }
  if (CloseVolume(kCmd, std::move(fs)) != kExitOk) result = kExitError;
  return result;
}

}  // namespace

void AddFileCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  {
    auto a = std::make_shared<LsArgs>();
    CLI::App* c = app.add_subcommand("ls", "List a directory of the volume");
    c->add_option("PATH", a->paths, "jfs:/dir (default jfs:/)");
    c->add_flag("-l", a->long_format, "long listing (mode, links, owner, size, mtime)");
    c->add_flag("-a", a->all, "include names starting with '.'");
    c->callback([a, action, &global] { *action = [a, &global] { return RunLs(global, *a); }; });
  }
  {
    auto a = std::make_shared<CpArgs>();
    CLI::App* c = app.add_subcommand(
        "cp", "Copy files: local → volume, volume → local, or within the volume");
    c->add_option("SRC... DST", a->paths, "sources and destination (jfs:/path or local path)")
        ->required();
    c->add_flag("-r,-R,--recursive", a->recursive, "copy directories recursively");
    c->callback([a, action, &global] { *action = [a, &global] { return RunCp(global, *a); }; });
  }
  {
    auto paths = std::make_shared<std::vector<std::string>>();
    CLI::App* c = app.add_subcommand("cat", "Print files of the volume");
    c->add_option("PATH", *paths, "jfs:/file")->required();
    c->callback([paths, action, &global] {
      *action = [paths, &global] { return RunCat(global, *paths); };
    });
  }
  {
    auto paths = std::make_shared<std::vector<std::string>>();
    auto parents = std::make_shared<bool>(false);
    CLI::App* c = app.add_subcommand("mkdir", "Create directories in the volume");
    c->add_option("PATH", *paths, "jfs:/dir")->required();
    c->add_flag("-p,--parents", *parents, "create missing parents; existing ones are fine");
    c->callback([paths, parents, action, &global] {
      *action = [paths, parents, &global] { return RunMkdir(global, *paths, *parents); };
    });
  }
  {
    auto paths = std::make_shared<std::vector<std::string>>();
    auto recursive = std::make_shared<bool>(false);
    auto force = std::make_shared<bool>(false);
    CLI::App* c = app.add_subcommand("rm", "Remove files and directories of the volume");
    c->add_option("PATH", *paths, "jfs:/path")->required();
    c->add_flag("-r,-R,--recursive", *recursive, "remove directories and their contents");
    c->add_flag("-f,--force", *force, "ignore missing paths");
    c->callback([paths, recursive, force, action, &global] {
      *action = [paths, recursive, force, &global] {
        return RunRm(global, *paths, *recursive, *force);
      };
    });
  }
  {
    auto paths = std::make_shared<std::vector<std::string>>();
    CLI::App* c = app.add_subcommand("stat", "Show the attributes of paths (like stat(1))");
    c->add_option("PATH", *paths, "jfs:/path")->required();
    c->callback([paths, action, &global] {
      *action = [paths, &global] { return RunStat(global, *paths); };
    });
  }
}

}  // namespace jfs::tools
