// File locks between separate processes on one volume, through the C ABI (each process is its own
// client with its own session): non-blocking conflicts and F_GETLK across processes, release on
// close, blocking waiters in two processes woken by a release in a third, and the locks of a
// process killed with SIGKILL released by the others once its session expires (sessions here
// expire 2 s after the last heartbeat, so this takes a few seconds, not a minute).
//
// The parent formats the volume, forks three children before any volume is open (the C ABI's
// fork rule) and drives them through pipes: it tells a child to run its next step and waits for
// the one-byte answer. A child reports the first unexpected result on stderr and exits non-zero.
#include <fcntl.h>
#include <juicefs/juicefs.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/meta_url.h"

namespace {

namespace fs = std::filesystem;

std::string g_url;

// ---- the children --------------------------------------------------------------------------

struct Child {
  char name;
  int in, out;  // from / to the parent
  jfs_fs_t* fs = nullptr;
  jfs_file_t* f = nullptr;

  [[noreturn]] void Fail(const char* what, int64_t got) {
    fprintf(stderr, "child %c: %s: got %lld (%s)\n", name, what, static_cast<long long>(got),
            fs ? jfs_last_error(fs) : jfs_last_open_error());
    _exit(2);
  }
  void Expect(const char* what, int64_t got, int64_t want) {
    if (got != want) Fail(what, got);
  }
  // Blocks until the parent says what to do next.
  char Next() {
    char c = 0;
    if (read(in, &c, 1) != 1) _exit(3);  // parent gone
    return c;
  }
  void Done(char c = '.') {
    if (write(out, &c, 1) != 1) _exit(3);
  }
  void Open() {
    if (f != nullptr) return;
    Expect("open /f", jfs_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f), 0);
  }
  void Close() {
    Expect("close /f", jfs_close(f), 0);
    f = nullptr;
  }
  int SetLk(int cmd, int16_t type, int64_t start, int64_t len) {
    jfs_posix_lock_t lk{type, JFS_SEEK_SET, 0, start, len};
    return jfs_fcntl_lock(f, cmd, &lk);
  }

  int Run() {
    jfs_volume_options_t o;
    jfs_volume_options_init(&o);
    o.heartbeat = 1;
    o.session_ttl = 2;
    o.lock_timeout_ms = 30000;  // a lost wake-up fails the test instead of hanging it
    Expect("open volume", jfs_open_volume(g_url.c_str(), &o, &fs), 0);
    for (;;) {
      const char step = Next();
      switch (step) {
        case 'q':  // quit
          if (f) Close();
          Expect("close volume", jfs_close_volume(fs), 0);
          Done();
          return 0;
        case 'L':  // hold flock EX and a write lock on [0, 100)
          Open();
          Expect("flock EX|NB", jfs_flock(f, JFS_LOCK_EX | JFS_LOCK_NB), 0);
          Expect("SETLK W [0,100)", SetLk(JFS_F_SETLK, JFS_F_WRLCK, 0, 100), 0);
          break;
        case 'C': {  // conflicts with 'L' of another process
          Open();
          Expect("flock EX|NB", jfs_flock(f, JFS_LOCK_EX | JFS_LOCK_NB), -EAGAIN);
          Expect("flock SH|NB", jfs_flock(f, JFS_LOCK_SH | JFS_LOCK_NB), -EAGAIN);
          Expect("SETLK R [50,60)", SetLk(JFS_F_SETLK, JFS_F_RDLCK, 50, 10), -EAGAIN);
          Expect("SETLK R [100,200)", SetLk(JFS_F_SETLK, JFS_F_RDLCK, 100, 100), 0);
          jfs_posix_lock_t q{JFS_F_WRLCK, JFS_SEEK_SET, 0, 0, 1};
          Expect("GETLK", jfs_fcntl_lock(f, JFS_F_GETLK, &q), 0);
          Expect("GETLK type", q.type, JFS_F_WRLCK);
          Expect("GETLK start", q.start, 0);
          Expect("GETLK len", q.len, 100);
          Expect("GETLK pid (another client)", q.pid, 0);
          Expect("SETLK unlock", SetLk(JFS_F_SETLK, JFS_F_UNLCK, 0, 0), 0);
          break;
        }
        case 'c':  // close the handle: its locks go
          Close();
          break;
        case 'T':  // take what 'L' held, now free
          Open();
          Expect("flock EX|NB after the holder closed", jfs_flock(f, JFS_LOCK_EX | JFS_LOCK_NB), 0);
          Expect("SETLK W after the holder closed", SetLk(JFS_F_SETLK, JFS_F_WRLCK, 0, 100), 0);
          break;
        case 'F':  // blocking flock EX
          Open();
          Done('w');
          Expect("blocking flock EX", jfs_flock(f, JFS_LOCK_EX), 0);
          break;
        case 'P':  // blocking write lock on [0, 10)
          Open();
          Done('w');
          Expect("SETLKW W [0,10)", SetLk(JFS_F_SETLKW, JFS_F_WRLCK, 0, 10), 0);
          break;
        case 'H':  // (holding flock EX) also lock [1000, end)
          Expect("SETLK W [1000,end)", SetLk(JFS_F_SETLK, JFS_F_WRLCK, 1000, 0), 0);
          break;
        case 'K':  // wait for the locks of a killed process: blocking flock and SETLKW
          Open();
          Expect("flock EX|NB while the dead process's session lives",
                 jfs_flock(f, JFS_LOCK_EX | JFS_LOCK_NB), -EAGAIN);
          Expect("blocking flock EX", jfs_flock(f, JFS_LOCK_EX), 0);
          Expect("SETLKW W [5000,5001)", SetLk(JFS_F_SETLKW, JFS_F_WRLCK, 5000, 1), 0);
          break;
        default:
          Fail("unknown step", step);
      }
      Done();
    }
  }
};

// ---- the parent ----------------------------------------------------------------------------

struct Proc {
  pid_t pid = -1;
  int to = -1, from = -1;
};

// Waits up to `ms` for one byte from `p`; returns it, or 0 on timeout / end of file.
char Answer(const Proc& p, int ms) {
  pollfd pfd{p.from, POLLIN, 0};
  if (poll(&pfd, 1, ms) != 1) return 0;
  char c = 0;
  return read(p.from, &c, 1) == 1 ? c : 0;
}

void Step(const Proc& p, char step) {
  REQUIRE(write(p.to, &step, 1) == 1);
}

// Runs `step` in `p` and requires it to finish (within 20 s).
void Do(const Proc& p, char step) {
  INFO("step " << step);
  Step(p, step);
  CHECK(Answer(p, 20000) == '.');
}

int Reap(Proc& p) {
  int status = 0;
  if (p.pid > 0) waitpid(p.pid, &status, 0);
  p.pid = -1;
  close(p.to);
  close(p.from);
  return status;
}

}  // namespace

TEST_CASE("locks between three processes: conflicts, waiting, close and crash") {
  std::string dir = (fs::temp_directory_path() / "jfs-locks-XXXXXX").string();
  REQUIRE(mkdtemp(dir.data()) != nullptr);
  std::string error;
  const bool fresh = jfs::testing::FreshMetaUrl(dir, "syslocks", &g_url, &error);
  INFO(error);
  REQUIRE(fresh);
  const std::string bucket = dir + "/bucket";
  jfs_format_options_t fo;
  jfs_format_options_init(&fo);
  fo.bucket = bucket.c_str();
  fo.trash_days = 0;
  INFO(jfs_last_open_error());
  REQUIRE(jfs_format(g_url.c_str(), "syslocks", &fo) == 0);

  fflush(stdout);
  fflush(stderr);
  Proc procs[3];
  for (int i = 0; i < 3; ++i) {
    int down[2], up[2];
    REQUIRE(pipe2(down, O_CLOEXEC) == 0);
    REQUIRE(pipe2(up, O_CLOEXEC) == 0);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      for (int j = 0; j < i; ++j) close(procs[j].to), close(procs[j].from);
      close(down[1]);
      close(up[0]);
      alarm(120);
      Child c{static_cast<char>('A' + i), down[0], up[1]};
      _exit(c.Run());
    }
    close(down[0]);
    close(up[1]);
    procs[i] = Proc{pid, down[1], up[0]};
  }
  Proc &a = procs[0], &b = procs[1], &c = procs[2];

  // Non-blocking conflicts and F_GETLK across processes; release on close.
  Do(a, 'L');
  Do(b, 'C');
  Do(a, 'c');
  Do(b, 'T');

  // Two blocked processes (flock and fcntl) get their locks when the holder closes.
  Step(a, 'F');
  CHECK(Answer(a, 20000) == 'w');
  Step(c, 'P');
  CHECK(Answer(c, 20000) == 'w');
  CHECK(Answer(a, 300) == 0);  // still waiting
  CHECK(Answer(c, 0) == 0);
  Do(b, 'c');
  CHECK(Answer(a, 20000) == '.');
  CHECK(Answer(c, 20000) == '.');

  // A holds flock EX and [1000, end); killed, its locks go once its session expires.
  Do(a, 'H');
  REQUIRE(kill(a.pid, SIGKILL) == 0);
  const int a_status = Reap(a);
  CHECK(WIFSIGNALED(a_status));
  const auto t0 = std::chrono::steady_clock::now();
  Do(b, 'K');
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(waited < 15);
  WARN("locks of the killed process released after " << waited << " s");

  Do(b, 'q');
  Do(c, 'q');
  CHECK(Reap(b) == 0);
  CHECK(Reap(c) == 0);
  std::error_code ec;
  fs::remove_all(dir, ec);
}
