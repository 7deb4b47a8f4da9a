// posix_check DIR: runs a fixed series of POSIX calls inside the empty directory DIR and prints one
// line per call: its label, then "OK" or the errno name, and for stat-like checks the fields that
// do not depend on the file system's identity (type+mode, nlink, size, uid, gid). The test runs it
// on a jfs mount and on a plain local directory and requires identical output: the local kernel
// file system is the reference for every result and errno.
//
// Must run as root: parts run in forked children as other users (setresuid/setgroups) to check
// permissions, including supplementary groups, sticky and setgid directories.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string D;  // the directory under test

std::string P(const std::string& rel) {
  return D + "/" + rel;
}

const char* ErrName(int e) {
  switch (e) {
    case 0:
      return "OK";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case EIO:
      return "EIO";
    case EBADF:
      return "EBADF";
    case EACCES:
      return "EACCES";
    case EBUSY:
      return "EBUSY";
    case EEXIST:
      return "EEXIST";
    case EXDEV:
      return "EXDEV";
    case ENOTDIR:
      return "ENOTDIR";
    case EISDIR:
      return "EISDIR";
    case EINVAL:
      return "EINVAL";
    case EFBIG:
      return "EFBIG";
    case ENOSPC:
      return "ENOSPC";
    case EROFS:
      return "EROFS";
    case EMLINK:
      return "EMLINK";
    case ENAMETOOLONG:
      return "ENAMETOOLONG";
    case ENOTEMPTY:
      return "ENOTEMPTY";
    case ELOOP:
      return "ELOOP";
    case ENOSYS:
      return "ENOSYS";
    case ENOTSUP:
      return "ENOTSUP";
    case ENXIO:
      return "ENXIO";
    case ETXTBSY:
      return "ETXTBSY";
    default:
      break;
  }
  static thread_local char buf[32];
  std::snprintf(buf, sizeof(buf), "errno%d", e);
  return buf;
}

void Line(const std::string& label, int rc) {
  std::printf("%s: %s\n", label.c_str(), ErrName(rc < 0 ? errno : 0));
}

// Runs a call returning -1/errno and prints its outcome.
#define CHECK(label, call)              \
  do {                                  \
    errno = 0;                          \
    long rc_ = static_cast<long>(call); \
    Line(label, rc_ < 0 ? -1 : 0);      \
  } while (0)

void OpenCheck(const std::string& label, const std::string& path, int flags, mode_t mode = 0644) {
  errno = 0;
  int fd = open(path.c_str(), flags, mode);
  Line(label, fd);
  if (fd >= 0) close(fd);
}

void StatLine(const std::string& label, const std::string& path, bool follow = true) {
  struct stat st;
  int rc = follow ? stat(path.c_str(), &st) : lstat(path.c_str(), &st);
  if (rc != 0) {
    Line(label, -1);
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    // Directory sizes are file-system specific (ext4 4096, others 0): left out.
    std::printf("%s: mode=%o nlink=%lu uid=%u gid=%u\n", label.c_str(), st.st_mode,
                static_cast<unsigned long>(st.st_nlink), st.st_uid, st.st_gid);
  } else {
    std::printf("%s: mode=%o nlink=%lu size=%lld uid=%u gid=%u\n", label.c_str(), st.st_mode,
                static_cast<unsigned long>(st.st_nlink), static_cast<long long>(st.st_size),
                st.st_uid, st.st_gid);
  }
}

void TimesLine(const std::string& label, const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    Line(label, -1);
    return;
  }
  std::printf("%s: atime=%lld.%09ld mtime=%lld.%09ld\n", label.c_str(),
              static_cast<long long>(st.st_atim.tv_sec), st.st_atim.tv_nsec,
              static_cast<long long>(st.st_mtim.tv_sec), st.st_mtim.tv_nsec);
}

void Touch(const std::string& rel, mode_t mode = 0644) {
  int fd = open(P(rel).c_str(), O_CREAT | O_WRONLY | O_TRUNC, mode);
  if (fd >= 0) close(fd);
  chmod(P(rel).c_str(), mode);  // exact mode whatever the umask
}

void WriteFile(const std::string& rel, const std::string& data) {
  int fd = open(P(rel).c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return;
  if (write(fd, data.data(), data.size()) < 0) std::perror("write");
  close(fd);
}

std::string ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return std::string("<") + ErrName(errno) + ">";
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::vector<std::string> List(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return {std::string("<") + ErrName(errno) + ">"};
  while (dirent* e = readdir(d)) names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

void ListLine(const std::string& label, const std::string& path) {
  std::printf("%s:", label.c_str());
  for (auto& n : List(path)) std::printf(" %s", n.c_str());
  std::printf("\n");
}

int Renameat2(const std::string& a, const std::string& b, unsigned flags) {
  return static_cast<int>(syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), flags));
}

// Runs `fn` in a child with the given credentials; its output goes to our stdout in order.
template <typename Fn>
void AsUser(uid_t uid, gid_t gid, std::vector<gid_t> groups, Fn fn) {
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgroups(groups.size(), groups.data()) != 0 || setresgid(gid, gid, gid) != 0 ||
        setresuid(uid, uid, uid) != 0) {
      std::printf("cannot switch to uid %u: %s\n", uid, std::strerror(errno));
      std::fflush(stdout);
      _exit(1);
    }
    umask(022);
    fn();
    std::fflush(stdout);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::printf("child for uid %u failed\n", uid);
}

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;
constexpr gid_t kGroup = 4242;

void Basics() {
  CHECK("mkdir a", mkdir(P("a").c_str(), 0755));
  CHECK("mkdir a again", mkdir(P("a").c_str(), 0755));
  CHECK("mkdir missing/x", mkdir(P("missing/x").c_str(), 0755));
  StatLine("stat a", P("a"));
  OpenCheck("creat f", P("f"), O_CREAT | O_WRONLY, 0644);
  StatLine("stat f", P("f"));
  OpenCheck("open f O_EXCL", P("f"), O_CREAT | O_EXCL | O_WRONLY);
  OpenCheck("open f O_DIRECTORY", P("f"), O_RDONLY | O_DIRECTORY);
  OpenCheck("open a O_WRONLY", P("a"), O_WRONLY);
  OpenCheck("open a O_RDWR", P("a"), O_RDWR);
  OpenCheck("open a O_RDONLY", P("a"), O_RDONLY);
  OpenCheck("open a O_CREAT", P("a"), O_CREAT | O_RDONLY);
  OpenCheck("open missing", P("missing"), O_RDONLY);
  OpenCheck("open f/x", P("f/x"), O_RDONLY);
  OpenCheck("creat f/x", P("f/x"), O_CREAT | O_WRONLY);
  OpenCheck("creat missing/x", P("missing/x"), O_CREAT | O_WRONLY);
  WriteFile("f", "hello world");
  OpenCheck("open f O_TRUNC", P("f"), O_WRONLY | O_TRUNC);
  StatLine("stat f after O_TRUNC", P("f"));
  WriteFile("f", "hello world");
  {
    int fd = open(P("f").c_str(), O_WRONLY | O_APPEND);
    if (fd >= 0) {
      if (write(fd, "!!", 2) != 2) std::printf("append failed\n");
      close(fd);
    }
    std::printf("append content: %s\n", ReadFile(P("f")).c_str());
  }
  CHECK("mknod fifo", mknod(P("fifo").c_str(), S_IFIFO | 0644, 0));
  StatLine("stat fifo", P("fifo"));
  CHECK("mknod fifo again", mknod(P("fifo").c_str(), S_IFIFO | 0644, 0));
  CHECK("unlink fifo", unlink(P("fifo").c_str()));

  CHECK("rmdir f", rmdir(P("f").c_str()));
  Touch("a/x");
  CHECK("rmdir a (not empty)", rmdir(P("a").c_str()));
  CHECK("rmdir missing", rmdir(P("missing").c_str()));
  CHECK("unlink a", unlink(P("a").c_str()));
  CHECK("unlink missing", unlink(P("missing").c_str()));
  CHECK("unlink a/x/y", unlink(P("a/x/y").c_str()));
  CHECK("unlink a/x", unlink(P("a/x").c_str()));
  ListLine("ls a", P("a"));
  ListLine("ls .", D);
}

void Renames() {
  CHECK("mkdir r", mkdir(P("r").c_str(), 0755));
  CHECK("mkdir r/d1", mkdir(P("r/d1").c_str(), 0755));
  CHECK("mkdir r/d2", mkdir(P("r/d2").c_str(), 0755));
  Touch("r/d2/inner");
  Touch("r/f1");
  Touch("r/f2");
  CHECK("rename file over dir", rename(P("r/f1").c_str(), P("r/d1").c_str()));
  CHECK("rename dir over file", rename(P("r/d1").c_str(), P("r/f1").c_str()));
  CHECK("rename dir into itself", rename(P("r/d1").c_str(), P("r/d1/sub").c_str()));
  CHECK("rename dir over non-empty dir", rename(P("r/d1").c_str(), P("r/d2").c_str()));
  CHECK("rename missing", rename(P("r/nope").c_str(), P("r/x").c_str()));
  CHECK("rename to missing dir", rename(P("r/f1").c_str(), P("r/nope/x").c_str()));
  CHECK("rename file over file", rename(P("r/f1").c_str(), P("r/f2").c_str()));
  ListLine("ls r", P("r"));
  CHECK("rename same name", rename(P("r/f2").c_str(), P("r/f2").c_str()));
  CHECK("mkdir r/d3", mkdir(P("r/d3").c_str(), 0755));
  CHECK("rename dir over empty dir", rename(P("r/d1").c_str(), P("r/d3").c_str()));
  StatLine("stat r", P("r"));
  Touch("r/g");
  CHECK("rename NOREPLACE existing", Renameat2(P("r/g"), P("r/f2"), RENAME_NOREPLACE));
  CHECK("rename NOREPLACE new", Renameat2(P("r/g"), P("r/g2"), RENAME_NOREPLACE));
  CHECK("rename EXCHANGE", Renameat2(P("r/g2"), P("r/d3"), RENAME_EXCHANGE));
  StatLine("stat r/g2 after exchange", P("r/g2"));
  StatLine("stat r/d3 after exchange", P("r/d3"));
  CHECK("rename EXCHANGE missing", Renameat2(P("r/g2"), P("r/none"), RENAME_EXCHANGE));
  CHECK("rename across dirs", rename(P("r/f2").c_str(), P("r/d2/f2").c_str()));
  ListLine("ls r/d2", P("r/d2"));
  CHECK("rmdir r/d2 (not empty)", rmdir(P("r/d2").c_str()));
}

void Links() {
  CHECK("mkdir l", mkdir(P("l").c_str(), 0755));
  WriteFile("l/f", "data");
  CHECK("link dir", link(P("l").c_str(), P("l2").c_str()));
  CHECK("link f f2", link(P("l/f").c_str(), P("l/f2").c_str()));
  StatLine("stat l/f after link", P("l/f"));
  CHECK("link onto existing", link(P("l/f").c_str(), P("l/f2").c_str()));
  CHECK("link missing", link(P("l/none").c_str(), P("l/f3").c_str()));
  CHECK("unlink l/f", unlink(P("l/f").c_str()));
  StatLine("stat l/f2 after unlink", P("l/f2"));
  std::printf("read l/f2: %s\n", ReadFile(P("l/f2")).c_str());

  CHECK("symlink s", symlink("f2", P("l/s").c_str()));
  {
    char buf[256];
    ssize_t n = readlink(P("l/s").c_str(), buf, sizeof(buf));
    std::printf("readlink l/s: %s\n", n < 0 ? ErrName(errno) : std::string(buf, n).c_str());
    n = readlink(P("l/f2").c_str(), buf, sizeof(buf));
    std::printf("readlink l/f2: %s\n", n < 0 ? ErrName(errno) : std::string(buf, n).c_str());
  }
  StatLine("lstat l/s", P("l/s"), false);
  StatLine("stat l/s", P("l/s"), true);
  std::printf("read l/s: %s\n", ReadFile(P("l/s")).c_str());
  CHECK("symlink onto existing", symlink("x", P("l/s").c_str()));
  OpenCheck("open l/s O_NOFOLLOW", P("l/s"), O_RDONLY | O_NOFOLLOW);
  CHECK("symlink dangling", symlink("nowhere", P("l/dang").c_str()));
  StatLine("stat dangling", P("l/dang"));
  OpenCheck("creat through dangling", P("l/dang"), O_CREAT | O_WRONLY);
  StatLine("stat l/nowhere", P("l/nowhere"));
  CHECK("symlink loop a", symlink("loopb", P("l/loopa").c_str()));
  CHECK("symlink loop b", symlink("loopa", P("l/loopb").c_str()));
  OpenCheck("open loop", P("l/loopa"), O_RDONLY);
  CHECK("link symlink", link(P("l/s").c_str(), P("l/s2").c_str()));
  StatLine("lstat l/s2", P("l/s2"), false);
}

void Attrs() {
  CHECK("mkdir m", mkdir(P("m").c_str(), 0755));
  WriteFile("m/f", "0123456789");
  CHECK("chmod 04755", chmod(P("m/f").c_str(), 04755));
  StatLine("stat after chmod", P("m/f"));
  CHECK("chown 1000:1000", chown(P("m/f").c_str(), 1000, 1000));
  StatLine("stat after chown (suid cleared)", P("m/f"));
  CHECK("chmod 02755", chmod(P("m/f").c_str(), 02755));
  CHECK("chown -1:2000", chown(P("m/f").c_str(), -1, 2000));
  StatLine("stat after chgrp", P("m/f"));
  CHECK("chmod missing", chmod(P("m/none").c_str(), 0644));
  CHECK("chown missing", chown(P("m/none").c_str(), 1, 1));
  CHECK("truncate 10000", truncate(P("m/f").c_str(), 10000));
  StatLine("stat after truncate up", P("m/f"));
  CHECK("truncate 3", truncate(P("m/f").c_str(), 3));
  std::printf("content after truncate: %s\n", ReadFile(P("m/f")).c_str());
  CHECK("truncate dir", truncate(P("m").c_str(), 0));
  CHECK("truncate negative", truncate(P("m/f").c_str(), -1));
  CHECK("truncate missing", truncate(P("m/none").c_str(), 0));
  {
    int fd = open(P("m/f").c_str(), O_RDONLY);
    CHECK("ftruncate read-only fd", ftruncate(fd, 0));
    close(fd);
    fd = open(P("m/f").c_str(), O_RDWR);
    CHECK("ftruncate 5", ftruncate(fd, 5));
    close(fd);
  }
  StatLine("stat after ftruncate", P("m/f"));
  struct timespec ts[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  CHECK("utimensat", utimensat(AT_FDCWD, P("m/f").c_str(), ts, 0));
  TimesLine("times", P("m/f"));
  struct timespec omit[2] = {{0, UTIME_OMIT}, {1300000000, 5}};
  CHECK("utimensat omit atime", utimensat(AT_FDCWD, P("m/f").c_str(), omit, 0));
  TimesLine("times after omit", P("m/f"));
  struct timespec bad[2] = {{0, 2000000000}, {0, 0}};
  CHECK("utimensat bad nsec", utimensat(AT_FDCWD, P("m/f").c_str(), bad, 0));
  CHECK("utimensat missing", utimensat(AT_FDCWD, P("m/none").c_str(), ts, 0));
  CHECK("symlink m/s", symlink("f", P("m/s").c_str()));
  CHECK("utimensat nofollow", utimensat(AT_FDCWD, P("m/s").c_str(), ts, AT_SYMLINK_NOFOLLOW));
  TimesLine("symlink times", P("m/s"));
  TimesLine("target times unchanged", P("m/f"));
}

void Names() {
  const std::string n255(255, 'n');
  const std::string n256(256, 'n');
  CHECK("mkdir name 255", mkdir(P(n255).c_str(), 0755));
  OpenCheck("creat name 255", P(n255 + "/" + n255), O_CREAT | O_WRONLY);
  StatLine("stat name 255", P(n255 + "/" + n255));
  CHECK("mkdir name 256", mkdir(P(n256).c_str(), 0755));
  OpenCheck("creat name 256", P(n256), O_CREAT | O_WRONLY);
  CHECK("symlink name 256", symlink("x", P(n256).c_str()));
  CHECK("rename to name 256", rename(P(n255).c_str(), P(n256).c_str()));
  ListLine("ls name 255 dir", P(n255));

  // Deep paths: 100 nested levels created with mkdirat from the parent's descriptor, then whole
  // paths as long as PATH_MAX allows, and one beyond it.
  CHECK("mkdir deep", mkdir(P("deep").c_str(), 0755));
  int fd = open(P("deep").c_str(), O_RDONLY | O_DIRECTORY);
  int ok = 0;
  for (int i = 0; i < 100 && fd >= 0; ++i) {
    if (mkdirat(fd, "d", 0755) != 0) break;
    int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
    close(fd);
    fd = next;
    ++ok;
  }
  if (fd >= 0) {
    int f = openat(fd, "leaf", O_CREAT | O_WRONLY, 0644);
    std::printf("deep leaf at level %d: %s\n", ok, f >= 0 ? "OK" : ErrName(errno));
    if (f >= 0) close(f);
    close(fd);
  }
  std::string deep = P("deep");
  for (int i = 0; i < 100; ++i) deep += "/d";
  StatLine("stat deep leaf by path", deep + "/leaf");
  const std::string seg(200, 's');
  std::string longp = P("long");
  CHECK("mkdir long", mkdir(longp.c_str(), 0755));
  int levels = 0;
  while (true) {
    std::string next = longp + "/" + seg;
    errno = 0;
    if (mkdir(next.c_str(), 0755) != 0) {
      std::printf("long path stops after %d levels: %s\n", levels, ErrName(errno));
      break;
    }
    longp = next;
    ++levels;
    if (levels > 40) break;
  }
}

void Permissions() {
  // Files owned by root that others may only read.
  CHECK("mkdir p", mkdir(P("p").c_str(), 0755));
  CHECK("chmod p 0755", chmod(P("p").c_str(), 0755));
  WriteFile("p/rootfile", "secret");
  chmod(P("p/rootfile").c_str(), 0644);
  CHECK("mkdir p/private", mkdir(P("p/private").c_str(), 0700));
  chmod(P("p/private").c_str(), 0700);
  Touch("p/private/inside");
  CHECK("mkdir p/noexec", mkdir(P("p/noexec").c_str(), 0766));
  chmod(P("p/noexec").c_str(), 0766);
  Touch("p/noexec/inside");
  // Group-only file for the supplementary-group check.
  Touch("p/groupfile", 0060);
  chown(P("p/groupfile").c_str(), 0, kGroup);
  chmod(P("p/groupfile").c_str(), 0060);
  // A world-writable setuid file.
  Touch("p/suid", 04777);
  chmod(P("p/suid").c_str(), 04777);
  // Sticky directory with a root-owned file in it.
  CHECK("mkdir t", mkdir(P("t").c_str(), 01777));
  chmod(P("t").c_str(), 01777);
  Touch("t/rootfile", 0666);
  chmod(P("t/rootfile").c_str(), 0666);
  // Setgid directory.
  CHECK("mkdir g", mkdir(P("g").c_str(), 0777));
  chown(P("g").c_str(), 0, kGroup);
  CHECK("chmod g 02777", chmod(P("g").c_str(), 02777));

  AsUser(kNobody, kNogroup, {kNogroup}, [] {
    OpenCheck("nobody open rootfile O_WRONLY", P("p/rootfile"), O_WRONLY);
    OpenCheck("nobody open rootfile O_RDONLY", P("p/rootfile"), O_RDONLY);
    OpenCheck("nobody open rootfile O_TRUNC", P("p/rootfile"), O_RDONLY | O_TRUNC);
    OpenCheck("nobody creat in p", P("p/new"), O_CREAT | O_WRONLY);
    CHECK("nobody mkdir in p", mkdir(P("p/newdir").c_str(), 0755));
    CHECK("nobody unlink rootfile", unlink(P("p/rootfile").c_str()));
    CHECK("nobody rename rootfile", rename(P("p/rootfile").c_str(), P("p/x").c_str()));
    ListLine("nobody ls private", P("p/private"));
    StatLine("nobody stat private/inside", P("p/private/inside"));
    ListLine("nobody ls noexec", P("p/noexec"));
    StatLine("nobody stat noexec/inside", P("p/noexec/inside"));
    CHECK("nobody chmod rootfile", chmod(P("p/rootfile").c_str(), 0777));
    CHECK("nobody chown rootfile", chown(P("p/rootfile").c_str(), kNobody, kNogroup));
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    CHECK("nobody utimensat times rootfile", utimensat(AT_FDCWD, P("p/rootfile").c_str(), ts, 0));
    CHECK("nobody utimensat now rootfile",
          utimensat(AT_FDCWD, P("p/rootfile").c_str(), nullptr, 0));
    CHECK("nobody truncate rootfile", truncate(P("p/rootfile").c_str(), 0));
    CHECK("nobody access W rootfile", access(P("p/rootfile").c_str(), W_OK));
    CHECK("nobody access R rootfile", access(P("p/rootfile").c_str(), R_OK));
    OpenCheck("nobody open groupfile (no group)", P("p/groupfile"), O_RDWR);
    // Writing to a setuid file clears the bit (the writer is not privileged).
    int fd = open(P("p/suid").c_str(), O_WRONLY);
    if (fd >= 0) {
      if (write(fd, "x", 1) != 1) std::printf("write suid failed\n");
      close(fd);
    }
    StatLine("suid after write by nobody", P("p/suid"));
    // Sticky directory: others' files cannot be removed or renamed; own files can.
    CHECK("nobody unlink sticky rootfile", unlink(P("t/rootfile").c_str()));
    CHECK("nobody rename sticky rootfile", rename(P("t/rootfile").c_str(), P("t/mine").c_str()));
    OpenCheck("nobody creat in sticky", P("t/own"), O_CREAT | O_WRONLY);
    CHECK("nobody rename own in sticky", rename(P("t/own").c_str(), P("t/own2").c_str()));
    StatLine("nobody stat own2", P("t/own2"));
    // Setgid directory: new entries take its group; new directories inherit the bit.
    OpenCheck("nobody creat in setgid", P("g/file"), O_CREAT | O_WRONLY);
    CHECK("nobody mkdir in setgid", mkdir(P("g/sub").c_str(), 0755));
  });
  AsUser(kNobody, kNogroup, {kNogroup, kGroup}, [] {
    OpenCheck("nobody+group open groupfile", P("p/groupfile"), O_RDWR);
    OpenCheck("nobody+group creat in setgid", P("g/file2"), O_CREAT | O_WRONLY);
    // A member of the file's group may set setgid; chmod by owner keeps it.
    CHECK("nobody+group chmod own file g+s", chmod(P("g/file2").c_str(), 02755));
    StatLine("nobody+group stat g/file2", P("g/file2"));
  });
  AsUser(1000, 1000, {1000}, [] {
    // Not a member of the file's group: chmod g+s of an own file silently drops the bit.
    OpenCheck("uid1000 creat in t", P("t/u1000"), O_CREAT | O_WRONLY);
    CHECK("uid1000 chown own file to gid 4242", chown(P("t/u1000").c_str(), -1, kGroup));
    CHECK("uid1000 chown own file to uid 0", chown(P("t/u1000").c_str(), 0, -1));
    CHECK("uid1000 unlink nobody's in sticky", unlink(P("t/own2").c_str()));
  });
  StatLine("stat g/file", P("g/file"));
  StatLine("stat g/sub", P("g/sub"));
  StatLine("stat g/file2", P("g/file2"));
  StatLine("stat t/u1000", P("t/u1000"));
  CHECK("root unlink nobody's in sticky", unlink(P("t/own2").c_str()));
  ListLine("ls t", P("t"));
}

}  // namespace

// A short fingerprint of a file's bytes (FNV-1a) and its length.
std::string Fingerprint(const std::string& path) {
  std::string data = ReadFile(path);
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data) h = (h ^ c) * 1099511628211ULL;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "len=%zu fnv=%016llx", data.size(),
                static_cast<unsigned long long>(h));
  return buf;
}

// fallocate(2) and copy_file_range(2): results, sizes and contents as the local kernel gives them.
// ZERO_RANGE is left out: tmpfs does not support it.
void SliceOps() {
  CHECK("mkdir s", mkdir(P("s").c_str(), 0755));
  std::string data;
  for (int i = 0; i < 300000; ++i) data += static_cast<char>('a' + i % 23);
  WriteFile("s/a", data);
  int fd = open(P("s/a").c_str(), O_RDWR);
  CHECK("fallocate grow", fallocate(fd, 0, 290000, 20000));
  StatLine("stat after fallocate grow", P("s/a"));
  CHECK("fallocate keep size", fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 1 << 20));
  StatLine("stat after fallocate keep size", P("s/a"));
  CHECK("punch hole", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 1000, 70000));
  CHECK("punch hole past the end",
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 305000, 100000));
  CHECK("punch hole without keep size", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 10));
  CHECK("fallocate zero length", fallocate(fd, 0, 0, 0));
  close(fd);
  std::printf("content after fallocate: %s\n", Fingerprint(P("s/a")).c_str());
  StatLine("stat after punch", P("s/a"));
  fd = open(P("s/a").c_str(), O_RDONLY);
  CHECK("fallocate read-only fd", fallocate(fd, 0, 0, 10));
  close(fd);

  int in = open(P("s/a").c_str(), O_RDONLY);
  int out = open(P("s/b").c_str(), O_RDWR | O_CREAT, 0644);
  if (write(out, "0123456789", 10) < 0) std::perror("write");
  loff_t oi = 500, oo = 5;
  errno = 0;
  ssize_t n = copy_file_range(in, &oi, out, &oo, 200000, 0);
  std::printf("copy_file_range: %zd %s\n", n, ErrName(n < 0 ? errno : 0));
  oi = 299990, oo = 400000;
  n = copy_file_range(in, &oi, out, &oo, 1000, 0);
  std::printf("copy_file_range at the end: %zd %s\n", n, ErrName(n < 0 ? errno : 0));
  oi = 400000, oo = 0;
  n = copy_file_range(in, &oi, out, &oo, 1000, 0);
  std::printf("copy_file_range past the end: %zd %s\n", n, ErrName(n < 0 ? errno : 0));
  oi = 0, oo = 10;
  n = copy_file_range(out, &oi, out, &oo, 100, 0);
  std::printf("copy_file_range overlapping: %zd %s\n", n, ErrName(n < 0 ? errno : 0));
  oi = 0, oo = 0;
  n = copy_file_range(out, &oi, in, &oo, 100, 0);
  std::printf("copy_file_range to a read-only fd: %zd %s\n", n, ErrName(n < 0 ? errno : 0));
  n = copy_file_range(in, &oi, out, &oo, 100, 1);
  std::printf("copy_file_range flags: %zd %s\n", n, ErrName(n < 0 ? errno : 0));
  close(in);
  close(out);
  std::printf("content after copy_file_range: %s\n", Fingerprint(P("s/b")).c_str());
  StatLine("stat after copy_file_range", P("s/b"));
  // The copy is independent of its source.
  WriteFile("s/a", "gone");
  std::printf("copy after rewriting the source: %s\n", Fingerprint(P("s/b")).c_str());
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: posix_check DIR\n");
    return 2;
  }
  if (geteuid() != 0) {
    std::fprintf(stderr,
                 "posix_check must run as root (it switches users for permission checks)\n");
    return 2;
  }
  D = argv[1];
  umask(022);
  setvbuf(stdout, nullptr, _IOLBF, 0);
  Basics();
  Renames();
  Links();
  Attrs();
  Names();
  Permissions();
  SliceOps();
  return 0;
}
