// hello.cpp — a first program on libjuicefs's C++ wrapper (juicefs.hpp, header-only over the C
// ABI).
//
//   hello_cpp [META-URL BUCKET-DIR]
//
// Opens the volume at META-URL (formatting it first, with its data in BUCKET-DIR, if the database
// holds no volume yet), writes /hello/greeting.txt, reads it back, lists /hello and prints the
// file's attributes. Without arguments it uses a new SQLite volume in a temporary directory.
//
// Build: c++ -std=c++17 hello.cpp $(pkg-config --cflags --libs juicefs)
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <juicefs/juicefs.hpp>
#include <string>
#include <system_error>

int main(int argc, char** argv) {
  std::string meta_url, bucket;
  if (argc == 3) {
    meta_url = argv[1];
    bucket = argv[2];
  } else if (argc == 1) {
    char dir[] = "/tmp/jfs-hello-XXXXXX";
    if (mkdtemp(dir) == nullptr) {
      std::perror("mkdtemp");
      return 1;
    }
    meta_url = std::string("sqlite3://") + dir + "/meta.db";
    bucket = std::string(dir) + "/bucket";
  } else {
    std::cerr << "usage: " << argv[0] << " [META-URL BUCKET-DIR]\n";
    return 2;
  }
  std::cout << "libjuicefs " << juicefs::version() << ", volume " << meta_url << "\n";

  try {
    std::error_code ec;
    juicefs::Volume vol = juicefs::Volume::open(meta_url, {}, ec);
    if (ec.value() == ENOENT) {  // no volume there yet: format one
      juicefs::FormatOptions opts;
      opts.bucket = bucket;
      juicefs::Volume::format(meta_url, "hello", opts);
      std::cout << "formatted volume \"hello\" (data in " << bucket << ")\n";
      vol = juicefs::Volume::open(meta_url);
    } else if (ec) {
      throw juicefs::Error(ec.value(), jfs_last_open_error());
    }

    vol.mkdir_all("/hello", 0755);
    vol.write_file("/hello/greeting.txt", "Hello from libjuicefs (C++)!\n", 0644);
    std::string text = vol.read_file("/hello/greeting.txt");
    std::cout << "read back " << text.size() << " bytes: " << text;

    std::cout << "entries of /hello:\n";
    for (const juicefs::DirEntry& e : vol.opendir("/hello")) {
      std::printf("  %-20s inode %-6llu %8llu bytes  %s\n", e.name.c_str(),
                  static_cast<unsigned long long>(e.stat.ino),
                  static_cast<unsigned long long>(e.stat.size),
                  e.stat.is_dir() ? "directory" : "file");
    }

    juicefs::Stat st = vol.stat("/hello/greeting.txt");
    std::printf("stat /hello/greeting.txt: inode %llu, size %llu, mode %o, uid %u, gid %u\n",
                static_cast<unsigned long long>(st.ino), static_cast<unsigned long long>(st.size),
                static_cast<unsigned>(st.mode), static_cast<unsigned>(st.uid),
                static_cast<unsigned>(st.gid));
    vol.close();  // throws if flushing failed
  } catch (const juicefs::Error& e) {
    std::cerr << "hello_cpp: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
