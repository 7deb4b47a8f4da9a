// Metadata dump / load end to end through the C ABI (jfs_load, jfs_dump, and the file API to check
// what was loaded), on the engines named by $JFS_DUMP_ENGINES (comma-separated; default
// "sqlite3"; the integration suite runs "redis,postgres,mysql").
//
//  * The real JuiceFS sample dumps load into each engine; the tree reads back through the C ABI
//    (names with GBK bytes, modes, times with nanoseconds, link counts, symlink targets, xattrs,
//    lengths), and a dump of it equals the input. The input is the sample with three Setting
//    lines changed so that this library can open the volume: Bucket points at a scratch
//    directory, and the encrypted EncryptKey (its RSA key cannot be decrypted without JuiceFS's
//    original secret) and the "removed" SecretKey are left out. Differences of the sub-directory
//    sample are listed at its check.
//  * With $JFS_DUMP_ROUNDTRIP=1: a volume of 10,000 files goes SQLite → Redis → PostgreSQL →
//    MySQL → SQLite by dump and load; every dump equals the first and the files read back the
//    same contents from the last database.
#include <juicefs/juicefs.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/meta_url.h"

namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary);
  out << data;
}

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/jfs_dump_sys.XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { fs::remove_all(path); }
  std::string path;
};

std::vector<std::string> Engines() {
  const char* e = std::getenv("JFS_DUMP_ENGINES");
  std::string list = e && *e ? e : "sqlite3";
  std::vector<std::string> out;
  std::stringstream ss(list);
  for (std::string item; std::getline(ss, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// A fresh, empty database of `engine` (tests/support/meta_url.h), distinct per tag.
std::string FreshUrl(const std::string& engine, const std::string& dir, const std::string& tag) {
  setenv("JFS_TEST_ENGINE", engine.c_str(), 1);
  std::string url, error;
  INFO(error);
  bool ok = jfs::testing::FreshMetaUrl(dir, tag, &url, &error);
  INFO(error);
  REQUIRE(ok);
  return url;
}

void Replace(std::string* s, const std::string& from, const std::string& to) {
  size_t at = s->find(from);
  INFO(from);
  REQUIRE(at != std::string::npos);
  s->replace(at, from.size(), to);
}

// The sample, made openable here (see the file comment).
std::string Openable(std::string sample, const std::string& bucket) {
  Replace(&sample, "\"Bucket\": \"/Users/juicefs/.juicefs/local/\"",
          "\"Bucket\": \"" + bucket + "\"");
  Replace(&sample, "    \"SecretKey\": \"removed\",\n", "");
  Replace(&sample,
          "    \"EncryptKey\": \"AQSttslKOSE/hQT/gmaMniCsdPF8JdPRfoYK6zFkdUOnifYwBA==\",\n", "");
  Replace(&sample, "    \"KeyEncrypted\": true,\n", "");
  return sample;
}

std::string Dump(const std::string& url, const std::string& path, uint32_t flags) {
  int rc = jfs_dump(url.c_str(), path.c_str(), nullptr, flags);
  INFO(jfs_last_open_error());
  REQUIRE(rc == 0);
  return ReadFile(path);
}

void Load(const std::string& url, const std::string& path) {
  int rc = jfs_load(url.c_str(), path.c_str());
  INFO(url << ": " << jfs_last_open_error());
  REQUIRE(rc == 0);
}

struct Volume {
  explicit Volume(const std::string& url) {
    jfs_volume_options_t o;
    jfs_volume_options_init(&o);
    o.flags = JFS_VOLUME_READ_ONLY;
    int rc = jfs_open_volume(url.c_str(), &o, &fs);
    INFO(jfs_last_open_error());
    REQUIRE(rc == 0);
  }
  ~Volume() {
    if (fs) jfs_close_volume(fs);
  }
  jfs_stat_t Lstat(const std::string& path) {
    jfs_stat_t st{};
    int rc = jfs_lstat(fs, path.c_str(), &st);
    INFO(path << ": " << jfs_last_error(fs));
    REQUIRE(rc == 0);
    return st;
  }
  std::string ReadLink(const std::string& path) {
    char* t = nullptr;
    size_t len = 0;
    REQUIRE(jfs_readlink(fs, path.c_str(), &t, &len) == 0);
    std::string out(t, len);
    jfs_free(t);
    return out;
  }
  std::string Xattr(const std::string& path, const std::string& name) {
    void* v = nullptr;
    size_t len = 0;
    int rc = jfs_lgetxattr(fs, path.c_str(), name.c_str(), &v, &len);
    INFO(path << " " << name << ": " << jfs_last_error(fs));
    REQUIRE(rc == 0);
    std::string out(static_cast<char*>(v), len);
    jfs_free(v);
    return out;
  }
  std::set<std::string> List(const std::string& path) {
    jfs_dir_t* d = nullptr;
    REQUIRE(jfs_opendir(fs, path.c_str(), &d) == 0);
    std::set<std::string> names;
    const jfs_dirent_t* e = nullptr;
    while (jfs_readdir(d, &e) == 1) names.insert(std::string(e->name, e->name_len));
    jfs_closedir(d);
    return names;
  }
  std::string Read(const std::string& path) {
    jfs_file_t* f = nullptr;
    int rc = jfs_open(fs, path.c_str(), 0, 0, &f);
    INFO(path << ": " << jfs_last_error(fs));
    REQUIRE(rc == 0);
    std::string out;
    char buf[65536];
    for (;;) {
      int64_t n = jfs_read(f, buf, sizeof(buf));
      REQUIRE(n >= 0);
      if (n == 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    REQUIRE(jfs_close(f) == 0);
    return out;
  }
  jfs_fs_t* fs = nullptr;
};

const std::string kGbkName =
    "GBK\xb9\xfb\xd6\xad\xca\xfd\xbe\xdd\xbf\xc6\xbc\xbc\xd3\xd0\xcf\xde\xb9\xab\xcb\xbe\xce\xc4"
    "\xbc\xfe";

}  // namespace

TEST_CASE("JuiceFS sample dumps load into each engine and read back through the C ABI") {
  const std::string sample_dir = JFS_TESTDATA_DIR;
  for (const std::string& engine : Engines()) {
    DYNAMIC_SECTION(engine) {
      TempDir dir;
      const std::string input =
          Openable(ReadFile(sample_dir + "/metadata.sample"), dir.path + "/bucket/");
      WriteFile(dir.path + "/in.json", input);
      const std::string url = FreshUrl(engine, dir.path, "dump_sample");
      Load(url, dir.path + "/in.json");
      // Loading again is refused: the database is no longer empty.
      CHECK(jfs_load(url.c_str(), (dir.path + "/in.json").c_str()) == -EEXIST);
      CHECK(std::string(jfs_last_open_error()).find("not empty") != std::string::npos);

      CHECK(Dump(url, dir.path + "/out.json", JFS_DUMP_KEEP_SECRET_KEY) == input);
      {
        Volume v(url);
        CHECK(v.List("/") == std::set<std::string>{kGbkName, "UTF8果汁数据科技有限公司文件",
                                                   "UTF8果汁数据科技有限公司目录", "d", "d1", "f1",
                                                   "l1", "s1", "sd"});
        jfs_stat_t st = v.Lstat("/" + kGbkName);
        CHECK(st.ino == 34);
        CHECK(st.mode == (0100000u | 0644));
        CHECK(st.atime.sec == 1648717321);
        CHECK(st.atime.nsec == 401146141);
        st = v.Lstat("/d1");
        CHECK(st.mode == (0040000u | 0755));
        CHECK(st.nlink == 2);
        CHECK(st.mtime.nsec == 959224111);
        CHECK(v.Lstat("/").nlink == 5);
        st = v.Lstat("/d1/f11");
        CHECK(st.ino == 4);
        CHECK(st.nlink == 2);
        CHECK(st.size == 12);
        CHECK(v.Lstat("/l1").ino == 4);
        CHECK(v.Lstat("/d1/big").size == 104857600);
        st = v.Lstat("/f1");
        CHECK(st.size == 24);
        CHECK(st.uid == 501);
        CHECK(st.gid == 20);
        CHECK(st.ctime.sec == 1623746661);
        CHECK(v.ReadLink("/s1") == kGbkName);
        CHECK(v.Lstat("/s1").size == kGbkName.size());
        CHECK(v.ReadLink("/sd") == "d");
        CHECK(v.Xattr("/f1", "k") == "v");
        CHECK(v.Xattr("/d1", "dk") == "果汁%25");
        CHECK(v.Xattr("/", "lastBackup") == "2021-11-23T18:29:54+08:00");
      }
      // The volume is still the same after being opened (read-only) and read.
      CHECK(Dump(url, dir.path + "/out2.json", JFS_DUMP_KEEP_SECRET_KEY) == input);
      // Without the flag the trash is there, with JFS_DUMP_SKIP_TRASH it is not.
      CHECK(Dump(url, dir.path + "/t.json", JFS_DUMP_SKIP_TRASH).find("\"Trash\"") ==
            std::string::npos);
      CHECK(jfs_dump(url.c_str(), (dir.path + "/t.json").c_str(), nullptr, 0x80) == -EINVAL);

      // The sub-directory sample: documented differences are the root inode (the dumped
      // directory, inode 3, loads as the root, inode 1), f11's nlink (one of its two links was
      // outside the sub-tree: 1) and the usage counters rebuilt from what was loaded.
      std::string sub =
          Openable(ReadFile(sample_dir + "/metadata-sub.sample"), dir.path + "/bucket/");
      WriteFile(dir.path + "/sub.json", sub);
      const std::string url2 = FreshUrl(engine, dir.path, "dump_sub");
      Load(url2, dir.path + "/sub.json");
      Replace(&sub, "\"usedSpace\": 115392512", "\"usedSpace\": 104861696");
      Replace(&sub, "\"usedInodes\": 14", "\"usedInodes\": 2");
      Replace(&sub, "\"attr\": {\"inode\":3,", "\"attr\": {\"inode\":1,");
      Replace(&sub, "\"ctimensec\":591590333,\"nlink\":2,", "\"ctimensec\":591590333,\"nlink\":1,");
      CHECK(Dump(url2, dir.path + "/sub-out.json", JFS_DUMP_KEEP_SECRET_KEY) == sub);
      Volume v(url2);
      CHECK(v.List("/") == std::set<std::string>{"big", "f11"});
      CHECK(v.Lstat("/f11").nlink == 1);
      CHECK(v.Xattr("/", "dk") == "果汁%25");
    }
  }
}

TEST_CASE("a 10,000-file volume goes SQLite → Redis → PostgreSQL → MySQL → SQLite") {
  const char* on = std::getenv("JFS_DUMP_ROUNDTRIP");
  if (!on || std::string(on) != "1") return;  // registered with it set in the integration suite
  TempDir dir;
  const std::string first_url = FreshUrl("sqlite3", dir.path, "rt_first");
  jfs_format_options_t fo;
  jfs_format_options_init(&fo);
  const std::string bucket = dir.path + "/bucket";
  fo.bucket = bucket.c_str();
  fo.block_size_kib = 64;
  REQUIRE(jfs_format(first_url.c_str(), "roundtrip", &fo) == 0);
  constexpr int kFiles = 10000, kDirs = 50;
  auto content = [](int i) {
    std::string s = "file " + std::to_string(i) + "\n";
    if (i % 1000 == 0)
      s += std::string(200000 + i, static_cast<char>('a' + i % 26));  // several blocks
    return s;
  };
  {
    jfs_fs_t* fs = nullptr;
    REQUIRE(jfs_open_volume(first_url.c_str(), nullptr, &fs) == 0);
    for (int d = 0; d < kDirs; ++d)
      REQUIRE(jfs_mkdir(fs, ("/d" + std::to_string(d)).c_str(), 0755) == 0);
    for (int i = 0; i < kFiles; ++i) {
      const std::string p = "/d" + std::to_string(i % kDirs) + "/f" + std::to_string(i);
      jfs_file_t* f = nullptr;
      REQUIRE(jfs_create(fs, p.c_str(), 0640, &f) == 0);
      const std::string c = content(i);
      REQUIRE(jfs_write(f, c.data(), c.size()) == static_cast<int64_t>(c.size()));
      REQUIRE(jfs_close(f) == 0);
    }
    REQUIRE(jfs_link(fs, "/d0/f0", "/hard") == 0);
    REQUIRE(jfs_symlink(fs, "d1/f1", "/sym") == 0);
    REQUIRE(jfs_setxattr(fs, "/d2/f2", "user.k", "v\x01%", 3, 0) == 0);
    REQUIRE(jfs_close_volume(fs) == 0);
  }
  const std::string first = Dump(first_url, dir.path + "/0.json", JFS_DUMP_KEEP_SECRET_KEY);
  std::string prev = dir.path + "/0.json";
  const std::vector<std::pair<std::string, std::string>> chain = {
      {"redis", "rt_redis"}, {"postgres", "rt_pg"}, {"mysql", "rt_mysql"}, {"sqlite3", "rt_last"}};
  std::string url;
  int n = 1;
  for (const auto& [engine, tag] : chain) {
    INFO(engine);
    url = FreshUrl(engine, dir.path, tag);
    Load(url, prev);
    const std::string out = dir.path + "/" + std::to_string(n++) + ".json";
    CHECK(Dump(url, out, JFS_DUMP_KEEP_SECRET_KEY) == first);
    prev = out;
  }
  Volume v(url);
  for (int i = 0; i < kFiles; i += (i < 100 ? 1 : 37)) {
    const std::string p = "/d" + std::to_string(i % kDirs) + "/f" + std::to_string(i);
    INFO(p);
    CHECK(v.Read(p) == content(i));
  }
  CHECK(v.Read("/d0/f9000") == content(9000));  // a multi-block file
  CHECK(v.Read("/hard") == content(0));
  CHECK(v.Lstat("/hard").nlink == 2);
  CHECK(v.ReadLink("/sym") == "d1/f1");
  CHECK(v.Xattr("/d2/f2", "user.k") == std::string("v\x01%", 3));
}
