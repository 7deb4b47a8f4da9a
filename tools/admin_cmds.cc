// Admin commands: format, info, status, mdtest. They work on the metadata engine and the Format
// directly (internal libraries), because the C ABI deliberately offers no such view of a volume.
#include <fcntl.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "juicefs/juicefs.h"
#include "lib/maintenance.h"
#include "lib/volume.h"
#include "meta/codec.h"
#include "meta/meta.h"
#include "meta/types.h"
#include "tools/common.h"
#include "util/status.h"

namespace jfs::tools {
namespace {

// "jfs: <cmd>: <subject>: <strerror> (<status message>)"
int ReportStatus(std::string_view cmd, std::string_view subject, const Status& st) {
  std::string detail = st.message();
  PrintErrno(cmd, subject, st.code(), detail);
  return kExitError;
}

// The META-URL of an admin command: its positional argument, else --meta / $JFS_META_URL.
bool ResolveMetaUrl(std::string_view cmd, const std::string& positional,
                    const GlobalOptions& global, std::string* url) {
  *url = positional.empty() ? global.meta_url : positional;
  if (url->empty()) {
    PrintError(cmd, "no volume given: pass META-URL, use --meta META-URL or set JFS_META_URL");
    return false;
  }
  return true;
}

// Connects to the metadata engine and reads the Format. Reports failures itself.
int LoadVolume(std::string_view cmd, const std::string& url, std::unique_ptr<meta::Meta>* m,
               meta::Format* format) {
  Status st = meta::NewMeta(url, m);
  if (!st.ok()) return ReportStatus(cmd, url, st);
  st = (*m)->Load(format);
  if (!st.ok()) return ReportStatus(cmd, "cannot load volume " + url, st);
  return kExitOk;
}

// ---------------------------------------------------------------------------------------------
// format
// ---------------------------------------------------------------------------------------------

struct FormatArgs {
  std::string meta_url;
  std::string name;
  std::string storage = "file";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  std::string block_size = "4096";
  std::string compression = "none";
  std::string encrypt_rsa_key;  // a path to the PEM file
  std::string encrypt_algo = "aes256gcm-rsa";
  std::string capacity;
  uint64_t inodes = 0;
  int trash_days = 1;
  bool hash_prefix = false;
  bool force = false;
};

int RunFormat(const FormatArgs& a) {
  constexpr std::string_view kCmd = "format";
  lib::FormatOptions opts;
  opts.name = a.name;
  opts.storage = a.storage;
  opts.bucket = a.bucket;
  // A relative directory means "relative to where I run this", which only the tool knows.
  if (a.storage == "file" && !opts.bucket.empty() && opts.bucket[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == nullptr) {
      PrintErrno(kCmd, "current directory", errno);
      return kExitError;
    }
    opts.bucket = std::string(cwd) + "/" + opts.bucket;
  }
  opts.access_key = a.access_key;
  opts.secret_key = a.secret_key;
  opts.compression = a.compression;
  opts.encrypt_algo = a.encrypt_algo;
  if (!a.encrypt_rsa_key.empty()) {
    // JuiceFS stores the PEM text itself in the Format (EncryptKey), not the path.
    std::ifstream in(a.encrypt_rsa_key, std::ios::binary);
    std::ostringstream pem;
    if (in) pem << in.rdbuf();
    if (!in || in.bad()) {
      PrintErrno(kCmd, "cannot read --encrypt-rsa-key " + a.encrypt_rsa_key, errno);
      return kExitError;
    }
    opts.encrypt_rsa_key = pem.str();
    if (opts.encrypt_rsa_key.empty()) {
      PrintError(kCmd, "--encrypt-rsa-key " + a.encrypt_rsa_key + " is empty");
      return kExitError;
    }
  }
  uint64_t block_bytes = 0;
  if (!ParseSize(a.block_size, 1024, &block_bytes) || block_bytes % 1024 != 0 ||
      block_bytes / 1024 > UINT32_MAX || block_bytes == 0) {
    PrintError(kCmd,
               "invalid --block-size '" + a.block_size + "' (KiB, or with a unit: 4096, 4M, 512K)");
    return kExitUsage;
  }
  opts.block_size_kib = static_cast<uint32_t>(block_bytes / 1024);
  if (!a.capacity.empty() && !ParseSize(a.capacity, 1ull << 30, &opts.capacity)) {
    PrintError(kCmd, "invalid --capacity '" + a.capacity + "' (GiB, or with a unit: 100, 512M)");
    return kExitUsage;
  }
  if (a.trash_days < 0) {
    PrintError(kCmd, "invalid --trash-days " + std::to_string(a.trash_days) + " (must be >= 0)");
    return kExitUsage;
  }
  opts.inodes = a.inodes;
  opts.trash_days = a.trash_days;
  opts.hash_prefix = a.hash_prefix;
  opts.force = a.force;

  meta::Format format;
  Status st = lib::Format(a.meta_url, opts, &format);
  if (!st.ok()) return ReportStatus(kCmd, "cannot format " + a.meta_url, st);
  std::printf("Volume is formatted as %s\n", meta::EncodeFormatForDisplay(format).c_str());
  return kExitOk;
}

void AddFormat(CLI::App& app, Action* action) {
  auto a = std::make_shared<FormatArgs>();
  CLI::App* c = app.add_subcommand("format", "Format a new volume");
  c->add_option("META-URL", a->meta_url, "metadata engine, e.g. sqlite3:///var/lib/jfs/meta.db")
      ->required();
  c->add_option("NAME", a->name, "volume name (3-63 of [a-z0-9-])")->required();
  c->add_option("--storage", a->storage, "object storage type: file, s3, minio")
      ->capture_default_str();
  c->add_option("--bucket", a->bucket,
                "bucket: for file storage a directory; for s3 http(s)://host:port/bucket "
                "(path style) or https://bucket.s3.region.amazonaws.com");
  c->add_option("--access-key", a->access_key,
                "object storage access key (default: $AWS_ACCESS_KEY_ID at run time)");
  c->add_option("--secret-key", a->secret_key,
                "object storage secret key, stored encrypted (default: $AWS_SECRET_ACCESS_KEY "
                "at run time)");
  c->add_option("--block-size", a->block_size, "block size in KiB (or with a unit: 4M)")
      ->capture_default_str();
  c->add_option("--compress,--compression", a->compression,
                "block compression: none, lz4, zstd (cannot be changed later)")
      ->capture_default_str();
  c->add_option("--encrypt-rsa-key", a->encrypt_rsa_key,
                "encrypt data at rest with this RSA private key (PEM, PKCS#1 or PKCS#8; a "
                "protected key takes its passphrase from $JFS_RSA_PASSPHRASE)");
  c->add_option("--encrypt-algo", a->encrypt_algo, "encryption: aes256gcm-rsa, chacha20-rsa")
      ->capture_default_str();
  c->add_option("--capacity", a->capacity, "volume quota in GiB (or with a unit); default none");
  c->add_option("--inodes", a->inodes, "inode quota; default none");
  c->add_option("--trash-days", a->trash_days, "days deleted files stay in .trash (0: no trash)")
      ->capture_default_str();
  c->add_flag("--hash-prefix", a->hash_prefix, "spread object names over hashed prefixes");
  c->add_flag("--force", a->force, "overwrite the settings of an existing volume");
  c->callback([a, action] { *action = [a] { return RunFormat(*a); }; });
}

// ---------------------------------------------------------------------------------------------
// info
// ---------------------------------------------------------------------------------------------

std::string Limit(uint64_t v, bool bytes) {
  if (v == 0) return "unlimited";
  return bytes ? HumanBytes(v) + " (" + std::to_string(v) + " bytes)" : std::to_string(v);
}

int RunInfo(const GlobalOptions& global, const std::string& positional) {
  constexpr std::string_view kCmd = "info";
  std::string url;
  if (!ResolveMetaUrl(kCmd, positional, global, &url)) return kExitUsage;
  std::unique_ptr<meta::Meta> m;
  meta::Format f;
  if (int rc = LoadVolume(kCmd, url, &m, &f); rc != kExitOk) return rc;
  meta::StatFS usage;
  meta::Context root;
  Status st = m->StatFS(root, &usage);
  if (!st.ok()) return ReportStatus(kCmd, "cannot read usage of " + url, st);
  const uint64_t used = usage.total_space - usage.avail_space;
  auto row = [](const char* key, const std::string& value) {
    std::printf("%-13s %s\n", key, value.c_str());
  };
  row("Name:", f.name);
  row("UUID:", f.uuid);
  row("Meta:", url + " (" + m->Name() + ")");
  row("Storage:", f.storage);
  row("Bucket:", f.bucket);
  row("Block size:",
      HumanBytes(f.BlockSizeBytes()) + " (" + std::to_string(f.block_size_kib) + " KiB)");
  row("Compression:", f.compression.empty() ? "none" : f.compression);
  row("Encryption:",
      f.encrypt_key.empty() ? "none" : (f.encrypt_algo.empty() ? "aes256gcm-rsa" : f.encrypt_algo));
  row("Hash prefix:", f.hash_prefix ? "yes" : "no");
  row("Trash days:", f.trash_days == 0 ? "0 (trash disabled)" : std::to_string(f.trash_days));
  row("Capacity:", Limit(f.capacity, true));
  row("Inodes:", Limit(f.inodes, false));
  row("Used space:", HumanBytes(used) + " (" + std::to_string(used) + " bytes)");
  row("Used inodes:", std::to_string(usage.used_inodes));
  return kExitOk;
}

void AddInfo(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto url = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand(
      "info", "Show a summary of the volume, or of a path in it (length, files, dirs, size)");
  c->add_option("META-URL", *url, "metadata engine (default: --meta / $JFS_META_URL)");
  c->add_option("PATH", *path, "a path inside the volume (/dir or jfs:/dir): its summary");
  c->callback([url, path, action, &global] {
    *action = [url, path, &global] {
      std::string u = *url, p = *path;
      if (p.empty() && IsInfoPath(u)) std::swap(u, p);  // `jfs --meta URL info PATH`
      if (!p.empty() && (!IsInfoPath(p) || IsInfoPath(u))) {
        PrintError("info", "unexpected argument '" + p + "'");
        return kExitUsage;
      }
      return p.empty() ? RunInfo(global, u) : RunPathInfo(global, u, p);
    };
  });
}

// ---------------------------------------------------------------------------------------------
// status
// ---------------------------------------------------------------------------------------------

// JuiceFS's "Statistic" of `juicefs status`: usage, trash and pending deletions (one scan).
int AddStatistic(std::string_view cmd, const std::string& url, nlohmann::ordered_json* out) {
  lib::ScanSummary s;
  lib::ProgressFn progress;
  if (isatty(STDERR_FILENO)) {
    progress = [](const char* stage, uint64_t n) {
      std::fprintf(stderr, "\r%s: %llu   ", stage, static_cast<unsigned long long>(n));
    };
  }
  Status st = lib::Scan(url, progress, &s);
  if (progress) std::fprintf(stderr, "\n");
  if (!st.ok()) return ReportStatus(cmd, "cannot scan the volume", st);
  nlohmann::ordered_json j;
  j["UsedSpace"] = s.stored_used_space;
  j["UsedInodes"] = s.stored_total_inodes;
  j["TrashFileCount"] = s.trash_entries;
  j["TrashFileSize"] = s.trash_bytes;
  j["PendingDeletedFileCount"] = s.delfiles;
  j["PendingDeletedFileSize"] = s.delfile_bytes;
  j["TrashSliceCount"] = s.delslices;  // JuiceFS's names for the delSlices records
  j["TrashSliceSize"] = s.delslice_bytes;
  j["SustainedFileCount"] = s.sustained;
  (*out)["Statistic"] = std::move(j);
  return kExitOk;
}

int RunStatus(const GlobalOptions& global, const std::string& positional) {
  constexpr std::string_view kCmd = "status";
  std::string url;
  if (!ResolveMetaUrl(kCmd, positional, global, &url)) return kExitUsage;
  std::unique_ptr<meta::Meta> m;
  meta::Format f;
  if (int rc = LoadVolume(kCmd, url, &m, &f); rc != kExitOk) return rc;
  // JuiceFS prints {"Setting": <Format, secrets removed>, "Sessions": [{Sid, Expire, info...}]}.
  std::vector<meta::SessionRecord> sessions;
  if (Status st = m->ListSessions(&sessions); !st.ok()) {
    return ReportStatus(kCmd, "cannot list sessions", st);
  }
  nlohmann::ordered_json out;
  try {
    out["Setting"] = nlohmann::ordered_json::parse(meta::EncodeFormatForDisplay(f));
    out["Sessions"] = nlohmann::ordered_json::array();
    for (const meta::SessionRecord& s : sessions) {
      nlohmann::ordered_json j;
      j["Sid"] = s.sid;
      char when[64] = "";
      const time_t t = static_cast<time_t>(s.expire);
      struct tm tm;
      if (localtime_r(&t, &tm) != nullptr) std::strftime(when, sizeof when, "%FT%T%z", &tm);
      j["Expire"] = when;
      // A session whose info does not parse is still listed, with its raw bytes.
      auto info = nlohmann::ordered_json::parse(s.info_json, nullptr, /*allow_exceptions=*/false);
      if (info.is_object()) {
        for (auto& [k, v] : info.items()) j[k] = v;
      } else {
        j["Info"] = s.info_json;
      }
      out["Sessions"].push_back(std::move(j));
    }
    if (int rc = AddStatistic(kCmd, url, &out); rc != kExitOk) return rc;
  } catch (const std::exception& e) {
    PrintError(kCmd, std::string("cannot render the status: ") + e.what());
    return kExitError;
  }
  std::printf("%s\n", out.dump(2).c_str());
  return kExitOk;
}

void AddStatus(CLI::App& app, const GlobalOptions& global, Action* action) {
  auto url = std::make_shared<std::string>();
  CLI::App* c = app.add_subcommand("status", "Show the volume's settings (secrets hidden)");
  c->add_option("META-URL", *url, "metadata engine (default: --meta / $JFS_META_URL)");
  c->callback(
      [url, action, &global] { *action = [url, &global] { return RunStatus(global, *url); }; });
}

// ---------------------------------------------------------------------------------------------
// mdtest (format.md §8.2; the workload of `juicefs mdtest`)
// ---------------------------------------------------------------------------------------------

struct MdtestArgs {
  std::string meta_url;
  std::string path;
  unsigned threads = 1;
  unsigned dirs = 3;
  unsigned depth = 2;
  unsigned files = 10;
  std::string write = "0";
};

struct TreeNode {
  meta::Ino ino = 0;
  std::vector<size_t> children;  // indexes into the node vector
};

// Go's time.Duration style: "850.123µs", "12.345ms", "1.234s".
std::string FormatDuration(double seconds) {
  char buf[64];
  if (seconds < 1e-3) {
    std::snprintf(buf, sizeof(buf), "%.3fµs", seconds * 1e6);
  } else if (seconds < 1) {
    std::snprintf(buf, sizeof(buf), "%.3fms", seconds * 1e3);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3fs", seconds);
  }
  return buf;
}

class Mdtest {
 public:
  Mdtest(meta::Meta* m, const MdtestArgs& a, uint64_t bytes) : m_(m), a_(a), bytes_(bytes) {
    ctx_.uid = 0;
    ctx_.gids = {0};
    ctx_.umask = 022;
  }

  int Run() {
    using Clock = std::chrono::steady_clock;
    uint64_t dirs = 1, level = 1;
    for (unsigned z = 0; z < a_.depth; ++z) {
      if (a_.dirs != 0 && level > (1ull << 40) / a_.dirs) return TooBig();
      level *= a_.dirs;
      dirs += level;
      if (dirs > (1ull << 24)) return TooBig();
    }
    const uint64_t total = dirs * a_.threads * a_.files;

    auto start = Clock::now();
    meta::Ino parent = 0;
    if (int rc = MakePath(&parent); rc != kExitOk) return rc;
    meta::Ino base = 0;
    Status st = m_->Mkdir(ctx_, parent, "test-dir.0-0", 0777, ctx_.umask, &base, nullptr);
    if (!st.ok()) return Fail(JoinPath(a_.path, "test-dir.0-0"), st);
    nodes_.reserve(dirs);
    if (int rc = CreateTree(base, "mdtest_tree.0", a_.depth, JoinPath(a_.path, "test-dir.0-0"));
        rc != kExitOk) {
      return rc;
    }
    double t1 = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("Created %llu dirs in %s (%llu dirs/s)\n", static_cast<unsigned long long>(dirs),
                FormatDuration(t1).c_str(),
                static_cast<unsigned long long>(static_cast<double>(dirs) / std::max(t1, 1e-9)));
    std::fflush(stdout);

    auto files_start = Clock::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < a_.threads; ++t) {
      workers.emplace_back([this, t] {
        std::mt19937 rng(t + 1);
        CreateFiles(t, 0, &rng);
      });
    }
    for (auto& w : workers) w.join();
    if (failed_) return kExitError;
    double used = std::chrono::duration<double>(Clock::now() - files_start).count();
    std::printf("Created %llu files in %s (%llu files/s)\n", static_cast<unsigned long long>(total),
                FormatDuration(used).c_str(),
                static_cast<unsigned long long>(static_cast<double>(total) / std::max(used, 1e-9)));
    return kExitOk;
  }

 private:
  static std::string JoinPath(const std::string& dir, const std::string& name) {
    return dir.empty() || dir.back() == '/' ? dir + name : dir + "/" + name;
  }

  int TooBig() {
    PrintError("mdtest", "--dirs/--depth describe too many directories (limit 16777216)");
    return kExitUsage;
  }

  int Fail(const std::string& path, const Status& st) { return ReportStatus("mdtest", path, st); }

  // Resolves PATH from the root, creating missing directories (like mkdir -p).
  int MakePath(meta::Ino* out) {
    meta::Ino cur = meta::kRootIno;
    std::string sofar;
    size_t i = 0;
    const std::string& p = a_.path;
    while (i < p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      std::string name = p.substr(i, j - i);
      i = j + 1;
      if (name.empty() || name == ".") continue;
      sofar += "/" + name;
      meta::Ino next = 0;
      meta::Attr attr;
      Status st = m_->Lookup(ctx_, cur, name, &next, &attr);
      if (st.IsNotFound()) {
        st = m_->Mkdir(ctx_, cur, name, 0777, ctx_.umask, &next, &attr);
      }
      if (!st.ok()) return Fail(sofar, st);
      if (attr.typ != meta::kTypeDirectory) {
        PrintErrno("mdtest", sofar, ENOTDIR);
        return kExitError;
      }
      cur = next;
    }
    *out = cur;
    return kExitOk;
  }

  // createDir of JuiceFS: `name` under `parent`, then `width` children named mdtest_tree.{i} to
  // `depth` levels. Records the tree so the file phase needs no lookups.
  int CreateTree(meta::Ino parent, const std::string& name, unsigned depth,
                 const std::string& parent_path) {
    const std::string path = JoinPath(parent_path, name);
    meta::Ino ino = 0;
    Status st = m_->Mkdir(ctx_, parent, name, 0777, ctx_.umask, &ino, nullptr);
    if (!st.ok()) return Fail(path, st);
    size_t me = nodes_.size();
    nodes_.push_back(TreeNode{ino, {}});
    if (depth > 0) {
      for (unsigned i = 0; i < a_.dirs; ++i) {
        size_t child = nodes_.size();
        if (int rc = CreateTree(ino, "mdtest_tree." + std::to_string(i), depth - 1, path);
            rc != kExitOk) {
          return rc;
        }
        nodes_[me].children.push_back(child);
      }
    }
    return kExitOk;
  }

  // createFile of JuiceFS: `files` files named file.mdtest.{thread}.{i} in this directory, then
  // the same in each child, visited in a random order.
  void CreateFiles(unsigned thread, size_t node, std::mt19937* rng) {
    if (failed_) return;
    const meta::Ino dir = nodes_[node].ino;
    for (unsigned i = 0; i < a_.files; ++i) {
      std::string name = "file.mdtest." + std::to_string(thread) + "." + std::to_string(i);
      meta::Ino ino = 0;
      Status st = m_->Create(ctx_, dir, name, 0666, ctx_.umask, O_WRONLY, &ino, nullptr);
      if (st.ok()) st = WriteSlices(ino);
      if (st.ok()) st = m_->Close(ctx_, ino);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(report_mu_);
        if (!failed_.exchange(true)) Fail("create " + name, st);
        return;
      }
    }
    std::vector<size_t> order = nodes_[node].children;
    std::shuffle(order.begin(), order.end(), *rng);
    for (size_t child : order) CreateFiles(thread, child, rng);
  }

  // --write: metadata only, one slice per 64 MiB chunk (no object data), as JuiceFS does.
  Status WriteSlices(meta::Ino ino) {
    for (uint64_t indx = 0; indx * meta::kChunkSize < bytes_; ++indx) {
      uint64_t id = 0;
      JFS_RETURN_IF_ERROR(m_->NewSlice(ctx_, &id));
      uint64_t size = std::min<uint64_t>(meta::kChunkSize, bytes_ - indx * meta::kChunkSize);
      meta::Slice s;
      s.id = id;
      s.size = static_cast<uint32_t>(size);
      s.len = static_cast<uint32_t>(size);
      JFS_RETURN_IF_ERROR(m_->Write(ctx_, ino, static_cast<uint32_t>(indx), 0, s));
    }
    return Status::OK();
  }

  meta::Meta* m_;
  const MdtestArgs& a_;
  const uint64_t bytes_;
  meta::Context ctx_;
  std::vector<TreeNode> nodes_;
  std::atomic<bool> failed_{false};
  std::mutex report_mu_;
};

int RunMdtest(const MdtestArgs& a) {
  constexpr std::string_view kCmd = "mdtest";
  uint64_t bytes = 0;
  if (!ParseSize(a.write, 1, &bytes) || bytes > (1ull << 40)) {
    PrintError(kCmd, "invalid --write '" + a.write + "' (bytes, or with a unit: 100K)");
    return kExitUsage;
  }
  if (a.threads == 0) {
    PrintError(kCmd, "--threads must be at least 1");
    return kExitUsage;
  }
  std::unique_ptr<meta::Meta> m;
  meta::Format f;
  if (int rc = LoadVolume(kCmd, a.meta_url, &m, &f); rc != kExitOk) return rc;
  meta::SessionInfo info;
  info.version = jfs_version();
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) info.host_name = host;
  info.mount_point = "mdtest";
  info.mount_time = static_cast<int64_t>(std::time(nullptr));
  info.process_id = static_cast<int>(getpid());
  Status st = m->NewSession(info);
  if (!st.ok()) return ReportStatus(kCmd, "cannot register a session", st);
  int rc = Mdtest(m.get(), a, bytes).Run();
  st = m->CloseSession();
  if (!st.ok() && rc == kExitOk) rc = ReportStatus(kCmd, "closing the session", st);
  return rc;
}

void AddMdtest(CLI::App& app, Action* action) {
  auto a = std::make_shared<MdtestArgs>();
  CLI::App* c =
      app.add_subcommand("mdtest", "Metadata benchmark through the metadata engine (no data)");
  c->add_option("META-URL", a->meta_url, "metadata engine")->required();
  c->add_option("PATH", a->path, "directory inside the volume (created if missing)")->required();
  c->add_option("--threads", a->threads, "number of threads")->capture_default_str();
  c->add_option("--dirs", a->dirs, "sub-directories per directory")->capture_default_str();
  c->add_option("--depth", a->depth, "levels of the tree")->capture_default_str();
  c->add_option("--files", a->files, "files per thread in each directory")->capture_default_str();
  c->add_option("--write", a->write, "bytes per file (metadata slices only)")
      ->capture_default_str();
  c->callback([a, action] { *action = [a] { return RunMdtest(*a); }; });
}

}  // namespace

void AddAdminCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  AddFormat(app, action);
  AddInfo(app, global, action);
  AddStatus(app, global, action);
  AddMdtest(app, action);
}

}  // namespace jfs::tools
