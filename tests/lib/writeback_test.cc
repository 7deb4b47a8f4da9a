// Writeback crash test: a child process (writeback_child.cc) writes and fsyncs files through a
// volume with a writeback cache and is killed with SIGKILL at a random point; the volume then
// reopens with the same cache directory, and every byte the child reported as fsync'd must read
// back identical — first with the cache (staged blocks are read from the staging area while they
// upload), then, after that volume closed (its uploads finished), with no cache at all, straight
// from the object store. Several rounds with random seeds (printed on failure).
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <thread>

#include "tests/lib/test_util.h"
#include "tests/lib/writeback_pattern.h"

extern char** environ;

namespace {

using namespace jfs::lib;
using jfs::lib::testing::TempDir;

uint64_t CountFiles(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       it != std::filesystem::recursive_directory_iterator(); ++it) {
    n += it->is_regular_file() ? 1 : 0;
  }
  return n;
}

// Reads every file of `synced` (file → fsync'd length) and compares with the pattern.
void CheckFiles(Volume& vol, uint64_t seed, const std::map<int, uint64_t>& synced) {
  jfs::meta::Context ctx;
  ctx.check_permission = false;
  for (auto [f, len] : synced) {
    INFO("file /f" << f << " fsync'd length " << len);
    std::shared_ptr<File> file;
    REQUIRE_OK(vol.OpenFile(ctx, "/f" + std::to_string(f), O_RDONLY, 0, &file));
    Attr attr;
    REQUIRE_OK(file->Fstat(&attr));
    REQUIRE(attr.length >= len);
    std::string got(len, '\0');
    uint64_t n = 0;
    REQUIRE_OK(file->Pread(got.data(), len, 0, &n));
    REQUIRE(n == len);
    REQUIRE(got == jfs::testing::WritebackPattern(seed, f, 0, len));
    REQUIRE_OK(file->Close());
  }
}

}  // namespace

TEST_CASE("writeback: fsync'd data survives SIGKILL of the writer at random points") {
  const char* child = std::getenv("JFS_WRITEBACK_CHILD");
  REQUIRE(child != nullptr);
  std::random_device rd;
  uint64_t staged_at_kill = 0;
  for (int round = 0; round < 6; ++round) {
    const uint64_t seed = (uint64_t{rd()} << 32) | rd();
    const int wait_lines = 1 + static_cast<int>(seed % 15);
    const int extra_ms = static_cast<int>((seed >> 8) % 40);
    INFO("round " << round << " seed " << seed);
    TempDir dir;
    const std::string url = "sqlite3://" + dir.path() + "/meta.db";
    const std::string cache = dir.path() + "/cache";
    FormatOptions fo;
    fo.name = "wbtest";
    fo.bucket = dir.path() + "/data/";
    fo.block_size_kib = 64;
    fo.trash_days = 0;
    jfs::meta::Format format;
    REQUIRE_OK(Format(url, fo, &format));

    int out[2];
    REQUIRE(::pipe(out) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    const std::string seed_arg = std::to_string(seed);
    std::vector<char*> args{const_cast<char*>(child), const_cast<char*>(url.c_str()),
                            const_cast<char*>(cache.c_str()), const_cast<char*>(seed_arg.c_str()),
                            nullptr};
    pid_t pid = 0;
    REQUIRE(posix_spawn(&pid, child, &fa, nullptr, args.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);

    // Read progress lines; after `wait_lines` of them (and a random pause), kill.
    std::map<int, uint64_t> synced;
    std::string buf;
    int lines = 0;
    bool killed = false;
    auto consume = [&] {
      size_t nl;
      while ((nl = buf.find('\n')) != std::string::npos) {
        int f = 0;
        unsigned long long len = 0;
        REQUIRE(std::sscanf(buf.substr(0, nl).c_str(), "%d %llu", &f, &len) == 2);
        synced[f] = len;
        buf.erase(0, nl + 1);
        ++lines;
      }
    };
    char tmp[4096];
    for (;;) {
      if (!killed && lines >= wait_lines) {
        std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms));
        ::kill(pid, SIGKILL);
        killed = true;
      }
      ssize_t n = ::read(out[0], tmp, sizeof(tmp));
      if (n <= 0) break;  // the child is gone (killed or finished)
      buf.append(tmp, static_cast<size_t>(n));
      consume();
    }
    ::close(out[0]);
    int wstatus = 0;
    REQUIRE(::waitpid(pid, &wstatus, 0) == pid);
    INFO("child status " << wstatus << ", " << synced.size() << " files fsync'd");
    REQUIRE((WIFSIGNALED(wstatus) || (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)));
    REQUIRE(!synced.empty());
    staged_at_kill += CountFiles(cache + "/" + format.uuid + "/rawstaging");

    {  // Reopen with the same cache: staged blocks are readable and get uploaded.
      VolumeOptions vo;
      vo.cache_dir = cache;
      vo.cache_size = 1ull << 30;
      vo.free_space_ratio = 0;
      vo.writeback = true;
      std::unique_ptr<Volume> vol;
      REQUIRE_OK(Volume::Open(url, vo, &vol));
      CheckFiles(*vol, seed, synced);
      REQUIRE_OK(vol->Close());  // waits for the staged uploads
    }
    CHECK(CountFiles(cache + "/" + format.uuid + "/rawstaging") == 0);
    {  // No cache: everything comes from the object store.
      std::unique_ptr<Volume> vol;
      REQUIRE_OK(Volume::Open(url, VolumeOptions{}, &vol));
      CheckFiles(*vol, seed, synced);
      REQUIRE_OK(vol->Close());
    }
  }
  WARN("staged blocks found after the kills: " << staged_at_kill);
}
