// `jfs quota set|get|list|delete|check` (as `juicefs quota`) and `jfs info PATH` (a directory's
// summary, as `juicefs info`). Both work on the Meta interface directly, like the other admin
// commands: quotas are an administrator's view the C ABI's file API does not need.
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "meta/meta.h"
#include "meta/types.h"
#include "tools/common.h"
#include "util/status.h"

namespace jfs::tools {
namespace {

constexpr uint64_t kGiB = 1ULL << 30;

int Report(std::string_view cmd, std::string_view subject, const Status& st) {
  PrintErrno(cmd, subject, st.code(), st.message());
  return kExitError;
}

int Open(std::string_view cmd, const std::string& positional, const GlobalOptions& global,
         std::unique_ptr<meta::Meta>* m) {
  const std::string url = positional.empty() ? global.meta_url : positional;
  if (url.empty()) {
    PrintError(cmd, "no volume given: pass META-URL, use --meta META-URL or set JFS_META_URL");
    return kExitUsage;
  }
  Status st = meta::NewMeta(url, m);
  if (!st.ok()) return Report(cmd, url, st);
  st = (*m)->Load(nullptr);
  if (!st.ok()) return Report(cmd, "cannot load volume " + url, st);
  return kExitOk;
}

// "/a/b" or "jfs:/a/b" → the volume path "/a/b"; false for anything else.
bool VolumePath(const std::string& arg, std::string* path) {
  if (IsVolumePath(arg)) {
    *path = VolumePathOf(arg);
    return true;
  }
  if (!arg.empty() && arg[0] == '/') {
    *path = arg;
    return true;
  }
  return false;
}

// Resolves a volume path component by component (as root).
Status Resolve(meta::Meta& m, const std::string& path, meta::Ino* ino) {
  meta::Context root;
  meta::Ino cur = meta::kRootIno;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) {
      meta::Ino next = 0;
      JFS_RETURN_IF_ERROR(m.Lookup(root, cur, path.substr(i, j - i), &next, nullptr));
      cur = next;
    }
    i = j + 1;
  }
  *ino = cur;
  return Status::OK();
}

// The path of directory `ino`, from its parent chain ("?" parts when a name cannot be found).
std::string PathOf(meta::Meta& m, meta::Ino ino) {
  meta::Context root;
  std::vector<std::string> parts;
  for (int depth = 0; ino != meta::kRootIno && depth < 4096; ++depth) {
    meta::Attr a;
    if (!m.GetAttr(root, ino, &a).ok() || a.parent == 0) return "inode:" + std::to_string(ino);
    std::string name, cursor;
    do {
      std::vector<meta::Entry> page;
      if (!m.Readdir(root, a.parent, false, &cursor, 0, &page).ok()) break;
      for (const meta::Entry& e : page) {
        if (e.inode == ino) name = e.name;
      }
    } while (name.empty() && !cursor.empty());
    if (name.empty()) return "inode:" + std::to_string(ino);
    parts.push_back(name);
    ino = a.parent;
  }
  std::string p;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) p += "/" + *it;
  return p.empty() ? "/" : p;
}

std::string Percent(int64_t used, int64_t max) {
  if (max <= 0) return "";
  int64_t pct = used <= 0 ? 0 : used * 100 / max;
  return std::to_string(pct) + "%";
}

// The table of `juicefs quota get/list`.
void PrintQuotas(const std::vector<std::pair<std::string, meta::QuotaRecord>>& quotas) {
  std::vector<std::vector<std::string>> rows{
      {"Path", "Size", "Used", "Use%", "Inodes", "IUsed", "IUse%"}};
  for (const auto& [path, q] : quotas) {
    rows.push_back({path, q.max_space > 0 ? HumanBytes(static_cast<uint64_t>(q.max_space)) : "",
                    HumanBytes(static_cast<uint64_t>(std::max<int64_t>(0, q.used_space))),
                    Percent(q.used_space, q.max_space),
                    q.max_inodes > 0 ? std::to_string(q.max_inodes) : "",
                    std::to_string(q.used_inodes), Percent(q.used_inodes, q.max_inodes)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  std::string line = "+";
  for (size_t w : width) line += std::string(w + 2, '-') + "+";
  std::printf("%s\n", line.c_str());
  for (size_t k = 0; k < rows.size(); ++k) {
    std::string s = "|";
    for (size_t i = 0; i < rows[k].size(); ++i) {
      const std::string& c = rows[k][i];
      std::string pad(width[i] - c.size(), ' ');
      s += " " + (i == 0 ? c + pad : pad + c) + " |";
    }
    std::printf("%s\n", s.c_str());
    if (k == 0) std::printf("%s\n", line.c_str());
  }
  std::printf("%s\n", line.c_str());
}

struct QuotaArgs {
  std::string meta_url;
  std::string path;
  int64_t capacity = -1;  // GiB; -1 = not given
  int64_t inodes = -1;
  bool repair = false;
  bool strict = false;  // accepted for compatibility: usage is always computed exactly here
};

int RunQuota(const std::string& sub, const GlobalOptions& global, const QuotaArgs& a) {
  const std::string cmd = "quota " + sub;
  std::string path;
  const bool needs_path = sub != "list" && sub != "check";
  if (!a.path.empty() && !VolumePath(a.path, &path)) {
    PrintError(cmd, "--path must be an absolute path inside the volume: " + a.path);
    return kExitUsage;
  }
  if (needs_path && a.path.empty()) {
    PrintError(cmd, "--path is required");
    return kExitUsage;
  }
  if (sub == "set") {
    if (a.capacity < 0 && a.inodes < 0) {
      PrintError(cmd, "give --capacity and/or --inodes");
      return kExitUsage;
    }
    if (a.capacity > static_cast<int64_t>(INT64_MAX / kGiB)) {
      PrintError(cmd, "--capacity is too large");
      return kExitUsage;
    }
  }
  std::unique_ptr<meta::Meta> m;
  if (int rc = Open(cmd, a.meta_url, global, &m); rc != kExitOk) return rc;
  meta::Context root;
  meta::Ino ino = 0;
  if (!path.empty()) {
    if (Status st = Resolve(*m, path, &ino); !st.ok()) return Report(cmd, path, st);
  }
  if (sub == "set") {
    const int64_t space = a.capacity < 0 ? -1 : a.capacity * static_cast<int64_t>(kGiB);
    if (Status st = m->SetQuota(root, ino, space, a.inodes); !st.ok()) return Report(cmd, path, st);
    meta::QuotaRecord q;
    if (Status st = m->GetQuota(root, ino, &q); !st.ok()) return Report(cmd, path, st);
    PrintQuotas({{path, q}});
    return kExitOk;
  }
  if (sub == "get") {
    meta::QuotaRecord q;
    if (Status st = m->GetQuota(root, ino, &q); !st.ok()) return Report(cmd, path, st);
    PrintQuotas({{path, q}});
    return kExitOk;
  }
  if (sub == "delete") {
    if (Status st = m->DeleteQuota(root, ino); !st.ok()) return Report(cmd, path, st);
    return kExitOk;
  }
  std::map<meta::Ino, meta::QuotaRecord> all;
  if (Status st = m->ListQuotas(root, &all); !st.ok()) return Report(cmd, "cannot list quotas", st);
  if (sub == "list") {
    std::vector<std::pair<std::string, meta::QuotaRecord>> rows;
    for (const auto& [i, q] : all) rows.emplace_back(PathOf(*m, i), q);
    PrintQuotas(rows);
    return kExitOk;
  }
  // check: one path, or every quota.
  std::vector<meta::Ino> todo;
  if (ino != 0) {
    todo.push_back(ino);
  } else {
    for (const auto& [i, q] : all) todo.push_back(i);
  }
  int rc = kExitOk;
  for (meta::Ino i : todo) {
    const std::string p = path.empty() ? PathOf(*m, i) : path;
    meta::QuotaRecord stored, computed;
    Status st = m->CheckQuotaUsage(root, i, a.repair, &stored, &computed);
    if (!st.ok()) {
      Report(cmd, p, st);
      rc = kExitError;
      continue;
    }
    if (stored.used_space == computed.used_space && stored.used_inodes == computed.used_inodes) {
      std::printf("%s: quota usage is correct (space %lld, inodes %lld)\n", p.c_str(),
                  static_cast<long long>(stored.used_space),
                  static_cast<long long>(stored.used_inodes));
      continue;
    }
    std::printf(
        "%s: stored usage (space %lld, inodes %lld) != computed (space %lld, inodes %lld)%s\n",
        p.c_str(), static_cast<long long>(stored.used_space),
        static_cast<long long>(stored.used_inodes), static_cast<long long>(computed.used_space),
        static_cast<long long>(computed.used_inodes), a.repair ? ": repaired" : "");
    if (!a.repair) rc = kExitError;
  }
  if (rc != kExitOk && !a.repair) PrintError(cmd, "quota usage is inconsistent (use --repair)");
  return rc;
}

void AddQuota(CLI::App& app, const GlobalOptions& global, Action* action) {
  CLI::App* q = app.add_subcommand("quota", "Manage directory quotas (as `juicefs quota`)");
  q->require_subcommand(1);
  const std::pair<const char*, const char*> subs[] = {
      {"set", "Set the quota of a directory (limits not given stay as they are)"},
      {"get", "Show the quota of a directory"},
      {"list", "List every directory quota"},
      {"delete", "Remove the quota of a directory"},
      {"check", "Recompute quota usage and compare (--repair fixes it)"}};
  for (const auto& [name, help] : subs) {
    auto a = std::make_shared<QuotaArgs>();
    CLI::App* c = q->add_subcommand(name, help);
    if (std::string(name) == "delete") c->alias("del");
    c->add_option("META-URL", a->meta_url, "metadata engine (default: --meta / $JFS_META_URL)");
    c->add_option("--path", a->path, "directory inside the volume, e.g. /projects/a");
    if (std::string(name) == "set") {
      c->add_option("--capacity", a->capacity, "space limit in GiB (0 = unlimited)")
          ->check(CLI::NonNegativeNumber);
      c->add_option("--inodes", a->inodes, "inode limit (0 = unlimited)")
          ->check(CLI::NonNegativeNumber);
    }
    if (std::string(name) == "check") {
      c->add_flag("--repair", a->repair, "write the recomputed usage");
      c->add_flag("--strict", a->strict, "accepted for compatibility (always exact)");
    }
    std::string sub = name;
    c->callback([sub, a, action, &global] {
      *action = [sub, a, &global] { return RunQuota(sub, global, *a); };
    });
  }
}

}  // namespace

bool IsInfoPath(const std::string& arg) {
  std::string p;
  return VolumePath(arg, &p);
}

// `jfs info PATH`: what `juicefs info` prints for a path.
int RunPathInfo(const GlobalOptions& global, const std::string& url, const std::string& arg) {
  constexpr std::string_view kCmd = "info";
  std::string path;
  if (!VolumePath(arg, &path)) {
    PrintError(kCmd, "not a path inside the volume: " + arg);
    return kExitUsage;
  }
  std::unique_ptr<meta::Meta> m;
  if (int rc = Open(kCmd, url, global, &m); rc != kExitOk) return rc;
  meta::Ino ino = 0;
  if (Status st = Resolve(*m, path, &ino); !st.ok()) return Report(kCmd, path, st);
  meta::Summary s;
  if (Status st = m->GetSummary(meta::Context(), ino, &s); !st.ok()) {
    return Report(kCmd, path, st);
  }
  std::printf("%s :\n", arg.c_str());
  std::printf("  inode: %llu\n", static_cast<unsigned long long>(ino));
  std::printf("  files: %llu\n", static_cast<unsigned long long>(s.files));
  std::printf("   dirs: %llu\n", static_cast<unsigned long long>(s.dirs));
  std::printf(" length: %s (%llu Bytes)\n", HumanBytes(s.length).c_str(),
              static_cast<unsigned long long>(s.length));
  std::printf("   size: %s (%llu Bytes)\n", HumanBytes(s.size).c_str(),
              static_cast<unsigned long long>(s.size));
  std::printf("   path: %s\n", path.c_str());
  meta::QuotaRecord q;
  if (m->GetQuota(meta::Context(), ino, &q).ok()) {
    std::printf(
        "  quota: space %s, inodes %s; used %lld bytes, %lld inodes\n",
        q.max_space > 0 ? HumanBytes(static_cast<uint64_t>(q.max_space)).c_str() : "unlimited",
        q.max_inodes > 0 ? std::to_string(q.max_inodes).c_str() : "unlimited",
        static_cast<long long>(q.used_space), static_cast<long long>(q.used_inodes));
  }
  return kExitOk;
}

void AddQuotaCommands(CLI::App& app, const GlobalOptions& global, Action* action) {
  AddQuota(app, global, action);
}

}  // namespace jfs::tools
