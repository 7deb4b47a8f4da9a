// The C ABI side of bench/JavaVsCapi.java: a server on stdin/stdout so that the Java benchmark can
// interleave its rounds with the C ABI's on the same volume in the same run. Not a benchmark by
// itself. Commands, one a line; each answers one line with the seconds the work took:
//   write PATH MIB     jfs_create + MIB x jfs_write(1 MiB) + jfs_close
//   read PATH MIB      jfs_open + jfs_read(1 MiB) until EOF (checks MIB MiB came back) + close
//   stat PATH N        N x jfs_stat (answers seconds for all N)
//   mkfiles DIR N      jfs_mkdir DIR + N empty files DIR/f000000.. (jfs_create + jfs_close)
//   ls DIR N           jfs_opendir + jfs_readdir to the end (checks N entries) + jfs_closedir
//   upload PATH FILE   copy the local FILE into the volume (read(2) + jfs_write, 1 MiB at a time)
//   download PATH FILE copy PATH out of the volume into the local FILE (jfs_read + write(2)), as
//                      `aws s3 cp` does either way (no fsync)
//   quit
//   build/bench/capi_io META-URL
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_util.h"

int main(int argc, char** argv) {
  if (argc != 2) bench::Die("usage: capi_io META-URL");
  jfs_fs_t* raw = nullptr;
  bench::Check(jfs_open_volume(argv[1], nullptr, &raw), "jfs_open_volume");
  std::unique_ptr<jfs_fs_t, bench::VolumeCloser> fs(raw);
  constexpr uint64_t kMiB = 1 << 20;
  std::vector<char> buf(kMiB, 'x');
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, path;
    long long n = 0;
    in >> cmd >> path;
    std::string local;
    if (cmd == "upload" || cmd == "download") {
      in >> local;
    } else {
      in >> n;
    }
    if (cmd == "quit") break;
    auto t0 = bench::Clock::now();
    if (cmd == "upload") {
      bench::Fd src(::open(local.c_str(), O_RDONLY));
      if (src.get() < 0) bench::Die("open " + local);
      jfs_file_t* f = nullptr;
      bench::Check(jfs_create(fs.get(), path.c_str(), 0644, &f), "jfs_create", fs.get());
      ssize_t got;
      while ((got = ::read(src.get(), buf.data(), kMiB)) > 0) {
        bench::Check(jfs_write(f, buf.data(), static_cast<size_t>(got)) == got ? 0 : -EIO,
                     "jfs_write", fs.get());
      }
      if (got < 0) bench::Die("read " + local);
      bench::Check(jfs_close(f), "jfs_close", fs.get());
    } else if (cmd == "download") {
      bench::Fd dst(::open(local.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644));
      if (dst.get() < 0) bench::Die("create " + local);
      jfs_file_t* f = nullptr;
      bench::Check(jfs_open(fs.get(), path.c_str(), O_RDONLY, 0, &f), "jfs_open", fs.get());
      int64_t r;
      while ((r = jfs_read(f, buf.data(), kMiB)) > 0) {
        if (::write(dst.get(), buf.data(), static_cast<size_t>(r)) != r)
          bench::Die("write " + local);
      }
      bench::Check(r, "jfs_read", fs.get());
      bench::Check(jfs_close(f), "jfs_close", fs.get());
      dst.Close(local);
    } else if (cmd == "write") {
      jfs_file_t* f = nullptr;
      bench::Check(jfs_create(fs.get(), path.c_str(), 0644, &f), "jfs_create", fs.get());
      for (long long i = 0; i < n; ++i)
        bench::Check(jfs_write(f, buf.data(), kMiB), "jfs_write", fs.get());
      bench::Check(jfs_close(f), "jfs_close", fs.get());
    } else if (cmd == "read") {
      jfs_file_t* f = nullptr;
      bench::Check(jfs_open(fs.get(), path.c_str(), O_RDONLY, 0, &f), "jfs_open", fs.get());
      long long total = 0;
      int64_t r;
      while ((r = jfs_read(f, buf.data(), kMiB)) > 0) total += r;
      bench::Check(r, "jfs_read", fs.get());
      bench::Check(jfs_close(f), "jfs_close", fs.get());
      if (total != n * static_cast<long long>(kMiB)) bench::Die("short read of " + path);
    } else if (cmd == "stat") {
      jfs_stat_t st;
      for (long long i = 0; i < n; ++i)
        bench::Check(jfs_stat(fs.get(), path.c_str(), &st), "jfs_stat", fs.get());
    } else if (cmd == "mkfiles") {
      bench::Check(jfs_mkdir(fs.get(), path.c_str(), 0755), "jfs_mkdir", fs.get());
      char name[32];
      for (long long i = 0; i < n; ++i) {
        snprintf(name, sizeof name, "/f%06lld", i);
        jfs_file_t* f = nullptr;
        bench::Check(jfs_create(fs.get(), (path + name).c_str(), 0644, &f), "jfs_create", fs.get());
        bench::Check(jfs_close(f), "jfs_close", fs.get());
      }
    } else if (cmd == "ls") {
      jfs_dir_t* d = nullptr;
      bench::Check(jfs_opendir(fs.get(), path.c_str(), &d), "jfs_opendir", fs.get());
      long long count = 0;
      const jfs_dirent_t* e = nullptr;
      int rc;
      while ((rc = jfs_readdir(d, &e)) > 0) ++count;
      bench::Check(rc, "jfs_readdir", fs.get());
      bench::Check(jfs_closedir(d), "jfs_closedir", fs.get());
      if (count != n) bench::Die("ls " + path + ": " + std::to_string(count) + " entries");
    } else {
      bench::Die("unknown command: " + line);
    }
    std::cout << bench::Seconds(t0) << std::endl;
  }
  return 0;
}
