// BaseMeta: directory statistics and directory quotas (format.md §2.2, §3.2, §9 "Quotas").
//
// As in JuiceFS (pkg/meta/quota.go, base.go updateDirStat / updateDirQuota):
//  * a directory's statistic (jfs_dir_stats / dirDataLength+dirUsedSpace+dirUsedInodes) counts
//    its direct children: Σ file lengths, Σ Align4K(length) for files and 4 KiB for other inodes,
//    and the number of entries (a hard link counts once per name);
//  * a quota (jfs_dir_quota / dirQuota+dirQuotaUsedSpace+dirQuotaUsedInodes) counts everything
//    below its directory, the directory itself excluded;
//  * both are changed as in-memory deltas committed with each operation and written by
//    FlushStats (JuiceFS: every 1 s / 3 s); a missing statistic is computed from the children.
// Unlike JuiceFS, which checks quotas against usage cached at the last heartbeat, the checks here
// read the quota's stored usage inside the operation's transaction and add this client's
// unflushed deltas, so another client's usage counts as soon as it has flushed it.
#include <cerrno>
#include <set>
#include <string>

#include "meta/base.h"
#include "meta/codec.h"

namespace jfs::meta {

namespace {

constexpr int64_t kEntrySpace = 4096;  // charge of a directory or other non-file inode
constexpr size_t kListPage = 1024;

DirStat Scaled(const DirStat& d, int64_t n) {
  return {d.length * n, d.space * n, d.inodes * n};
}
void AddTo(DirStat* acc, const DirStat& d) {
  acc->length += d.length, acc->space += d.space, acc->inodes += d.inodes;
}
bool IsZero(const DirStat& d) {
  return d.length == 0 && d.space == 0 && d.inodes == 0;
}
bool InTrash(Ino ino) {
  return ino >= kTrashIno;
}

}  // namespace

DirStat BaseMeta::EntryUsage(const Attr* a, int sign) {
  DirStat d{0, kEntrySpace, 1};
  if (a && a->typ == kTypeFile) d = {static_cast<int64_t>(a->length), Align4K(a->length), 1};
  return Scaled(d, sign);
}

Status BaseMeta::QuotaRoots(Tx& tx, Ino dir, std::vector<Ino>* roots) {
  roots->clear();
  std::shared_ptr<const std::set<Ino>> dirs;
  {
    std::lock_guard<std::mutex> l(quota_mu_);
    dirs = quota_dirs_;
  }
  if (!dirs || dirs->empty() || InTrash(dir)) return Status::OK();
  Ino cur = dir;
  for (int depth = 0; depth < (1 << 16); ++depth) {
    if (dirs->count(cur)) roots->push_back(cur);
    if (cur == kRootIno) return Status::OK();
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(cur, &a));
    if (a.parent == 0 || a.parent == cur || InTrash(a.parent)) return Status::OK();
    cur = a.parent;
  }
  return Status::Corruption("directory nesting too deep (loop in the tree?)");
}

Status BaseMeta::CheckDirQuotas(Tx& tx, const std::vector<Ino>& roots, int64_t space,
                                int64_t inodes) {
  if (space <= 0 && inodes <= 0) return Status::OK();
  for (Ino r : roots) {
    QuotaRecord q;
    Status st = tx.GetQuota(QuotaKind::kDir, r, &q);
    if (st.IsNotFound()) continue;  // removed by another client
    JFS_RETURN_IF_ERROR(st);
    DirStat pending;
    {
      std::lock_guard<std::mutex> l(quota_mu_);
      if (auto it = pending_quotas_.find(r); it != pending_quotas_.end()) pending = it->second;
    }
    if (space > 0 && q.max_space > 0 && q.used_space + pending.space + space > q.max_space) {
      return Status::Error(EDQUOT,
                           "directory quota exceeded (space) on inode " + std::to_string(r));
    }
    if (inodes > 0 && q.max_inodes > 0 && q.used_inodes + pending.inodes + inodes > q.max_inodes) {
      return Status::Error(EDQUOT,
                           "directory quota exceeded (inodes) on inode " + std::to_string(r));
    }
  }
  return Status::OK();
}

Status BaseMeta::ChargeEntry(Tx& tx, Effects& fx, Ino parent, const DirStat& delta, bool check) {
  if (InTrash(parent) || IsZero(delta)) return Status::OK();
  if (dir_stats_.load()) fx.dir_deltas.emplace_back(parent, delta);
  std::vector<Ino> roots;
  JFS_RETURN_IF_ERROR(QuotaRoots(tx, parent, &roots));
  if (roots.empty()) return Status::OK();
  if (check) JFS_RETURN_IF_ERROR(CheckDirQuotas(tx, roots, delta.space, delta.inodes));
  for (Ino r : roots) fx.quota_deltas.emplace_back(r, DirStat{0, delta.space, delta.inodes});
  return Status::OK();
}

Status BaseMeta::ChargeFile(Tx& tx, Effects& fx, Ino ino, const Attr& a, const DirStat& delta,
                            bool check) {
  if (IsZero(delta)) return Status::OK();
  if (a.parent != 0) return ChargeEntry(tx, fx, a.parent, delta, check);
  std::map<Ino, int> parents;
  JFS_RETURN_IF_ERROR(tx.ListParents(ino, &parents));
  for (const auto& [p, n] : parents) {
    if (n > 0) JFS_RETURN_IF_ERROR(ChargeEntry(tx, fx, p, Scaled(delta, n), check));
  }
  return Status::OK();
}

Status BaseMeta::ChargeRename(Tx& tx, Effects& fx, Ino ps, Ino pd, Ino si, const Attr& sa, Ino di,
                              const Attr& da, bool exchange) {
  if (ps == pd) {
    // Same directory: only a replaced target leaves.
    if (di != 0 && !exchange)
      JFS_RETURN_IF_ERROR(ChargeEntry(tx, fx, pd, EntryUsage(&da, -1), false));
    return Status::OK();
  }
  auto stat = [&](Ino dir, const DirStat& d) {
    if (dir_stats_.load() && !InTrash(dir) && !IsZero(d)) fx.dir_deltas.emplace_back(dir, d);
  };
  stat(ps, EntryUsage(&sa, -1));
  stat(pd, EntryUsage(&sa, 1));
  if (di != 0) {
    stat(pd, EntryUsage(&da, -1));
    if (exchange) stat(ps, EntryUsage(&da, 1));
  }
  std::vector<Ino> from, to;
  JFS_RETURN_IF_ERROR(QuotaRoots(tx, ps, &from));
  JFS_RETURN_IF_ERROR(QuotaRoots(tx, pd, &to));
  if (from.empty() && to.empty()) return Status::OK();
  if (di != 0 && !exchange) {
    DirStat gone = EntryUsage(&da, -1);  // a file or an empty directory
    for (Ino r : to) fx.quota_deltas.emplace_back(r, DirStat{0, gone.space, gone.inodes});
  }
  std::vector<Ino> only_from, only_to;
  const std::set<Ino> fs(from.begin(), from.end()), ts(to.begin(), to.end());
  for (Ino r : from) {
    if (!ts.count(r)) only_from.push_back(r);
  }
  for (Ino r : to) {
    if (!fs.count(r)) only_to.push_back(r);
  }
  if (only_from.empty() && only_to.empty()) return Status::OK();
  // Usage that crosses quota boundaries: the whole moved tree (minus the exchanged one).
  int64_t space = 0, inodes = 0;
  JFS_RETURN_IF_ERROR(TreeUsage(tx, si, sa, &space, &inodes));
  if (di != 0 && exchange) {
    int64_t s2 = 0, i2 = 0;
    JFS_RETURN_IF_ERROR(TreeUsage(tx, di, da, &s2, &i2));
    space -= s2, inodes -= i2;
  }
  JFS_RETURN_IF_ERROR(CheckDirQuotas(tx, only_to, space, inodes));
  JFS_RETURN_IF_ERROR(CheckDirQuotas(tx, only_from, -space, -inodes));
  for (Ino r : only_to) fx.quota_deltas.emplace_back(r, DirStat{0, space, inodes});
  for (Ino r : only_from) fx.quota_deltas.emplace_back(r, DirStat{0, -space, -inodes});
  return Status::OK();
}

Status BaseMeta::InitDirStat(Tx& tx, Ino ino) {
  if (!dir_stats_.load()) return Status::OK();
  return tx.PutDirStat(ino, DirStat{});
}

Status BaseMeta::DropDirStat(Tx& tx, Ino ino) {
  // Also when DirStats is off: statistics and a quota may remain from when it was on.
  JFS_RETURN_IF_ERROR(tx.DeleteDirStat(ino));
  return tx.DeleteQuota(QuotaKind::kDir, ino);
}

Status BaseMeta::TreeUsage(Tx& tx, Ino ino, const Attr& a, int64_t* space, int64_t* inodes,
                           Summary* summary) {
  Summary sum;
  auto count = [&](const Attr& x) {
    if (x.typ == kTypeDirectory) {
      ++sum.dirs;
      sum.size += kEntrySpace;
    } else {
      ++sum.files;
      if (x.typ == kTypeFile) sum.length += x.length;
      sum.size += x.typ == kTypeFile ? Align4K(x.length) : kEntrySpace;
    }
  };
  count(a);
  if (a.typ == kTypeDirectory) {
    std::vector<Ino> todo{ino};
    std::set<Ino> seen{ino};
    std::vector<Entry> page;
    while (!todo.empty()) {
      Ino d = todo.back();
      todo.pop_back();
      std::string cursor;
      do {
        page.clear();
        JFS_RETURN_IF_ERROR(tx.ListEntriesPlus(d, &cursor, kListPage, &page));
        for (const Entry& e : page) {
          count(e.attr);
          if (e.attr.typ == kTypeDirectory && seen.insert(e.inode).second) todo.push_back(e.inode);
        }
      } while (!cursor.empty());
    }
  }
  *space = static_cast<int64_t>(sum.size);
  *inodes = static_cast<int64_t>(sum.files + sum.dirs);
  if (summary) *summary = sum;
  return Status::OK();
}

Status BaseMeta::ComputeDirStat(Tx& tx, Ino dir, DirStat* out) {
  *out = DirStat{};
  std::string cursor;
  std::vector<Entry> page;
  do {
    page.clear();
    JFS_RETURN_IF_ERROR(tx.ListEntriesPlus(dir, &cursor, kListPage, &page));
    for (const Entry& e : page) AddTo(out, EntryUsage(&e.attr, 1));
  } while (!cursor.empty());
  return Status::OK();
}

void BaseMeta::AddPending(const Effects& fx) {
  if (fx.dir_deltas.empty() && fx.quota_deltas.empty()) return;
  std::lock_guard<std::mutex> l(quota_mu_);
  for (const auto& [ino, d] : fx.dir_deltas) AddTo(&pending_dirs_[ino], d);
  for (const auto& [ino, d] : fx.quota_deltas) AddTo(&pending_quotas_[ino], d);
}

Status BaseMeta::FlushDirStats() {
  std::lock_guard<std::mutex> flush(dir_flush_mu_);
  std::map<Ino, DirStat> dirs, quotas;
  {
    std::lock_guard<std::mutex> l(quota_mu_);
    for (const auto& [ino, d] : pending_dirs_) {
      if (!IsZero(d)) dirs.emplace(ino, d);
    }
    for (const auto& [ino, d] : pending_quotas_) {
      if (!IsZero(d)) quotas.emplace(ino, d);
    }
  }
  if (dirs.empty() && quotas.empty()) return Status::OK();
  std::vector<Ino> missing;
  JFS_RETURN_IF_ERROR(engine_->Txn([&](Tx& tx) {
    missing.clear();
    for (const auto& [ino, d] : dirs) {
      bool found = false;
      JFS_RETURN_IF_ERROR(tx.IncrDirStat(ino, d, &found));
      if (!found) missing.push_back(ino);
    }
    for (const auto& [ino, d] : quotas) {
      JFS_RETURN_IF_ERROR(tx.IncrQuotaUsed(QuotaKind::kDir, ino, d.space, d.inodes));
    }
    return Status::OK();
  }));
  {
    // Written: only what arrived since stays pending.
    std::lock_guard<std::mutex> l(quota_mu_);
    auto drop = [](std::map<Ino, DirStat>& pending, const std::map<Ino, DirStat>& done) {
      for (const auto& [ino, d] : done) {
        auto it = pending.find(ino);
        if (it == pending.end()) continue;
        AddTo(&it->second, Scaled(d, -1));
        if (IsZero(it->second)) pending.erase(it);
      }
    };
    drop(pending_dirs_, dirs);
    drop(pending_quotas_, quotas);
  }
  // A statistic that was missing (older volumes, dumps) is computed from the children, which
  // already include every committed change; deltas still pending here are taken out so that
  // their later flush does not count them twice.
  for (Ino ino : missing) {
    JFS_RETURN_IF_ERROR(engine_->Txn([&](Tx& tx) {
      Attr a;
      Status g = tx.GetAttr(ino, &a);
      if (g.IsNotFound() || (g.ok() && a.typ != kTypeDirectory)) return Status::OK();
      JFS_RETURN_IF_ERROR(g);
      DirStat cur;
      Status s = tx.GetDirStat(ino, &cur);
      if (s.ok() || !s.IsNotFound()) return s;  // another client created it meanwhile
      JFS_RETURN_IF_ERROR(ComputeDirStat(tx, ino, &cur));
      {
        std::lock_guard<std::mutex> l(quota_mu_);
        if (auto it = pending_dirs_.find(ino); it != pending_dirs_.end()) {
          AddTo(&cur, Scaled(it->second, -1));
        }
      }
      return tx.PutDirStat(ino, cur);
    }));
  }
  return Status::OK();
}

Status BaseMeta::ReloadQuotas() {
  std::map<uint64_t, QuotaRecord> quotas;
  std::string json;
  JFS_RETURN_IF_ERROR(engine_->Txn(
      [&](Tx& tx) {
        Status st = tx.ListQuotas(QuotaKind::kDir, &quotas);
        if (st.code() == ENOTSUP) quotas.clear(), st = Status::OK();
        JFS_RETURN_IF_ERROR(st);
        return tx.GetSetting(&json);
      },
      /*read_only=*/true));
  Format f;
  JFS_RETURN_IF_ERROR(DecodeFormat(json, &f));
  SetFormat(f);  // JuiceFS reloads the setting every heartbeat too (Capacity, Inodes, DirStats)
  auto dirs = std::make_shared<std::set<Ino>>();
  for (const auto& [ino, q] : quotas) dirs->insert(ino);
  std::lock_guard<std::mutex> l(quota_mu_);
  quota_dirs_ = std::move(dirs);
  return Status::OK();
}

// ---- public operations -------------------------------------------------------------------

Status BaseMeta::GetDirStat(const Context&, Ino dir, DirStat* out) {
  if (!out) return Status::Invalid("GetDirStat: null output");
  dir = dir == 0 ? kRootIno : dir;
  DirStat st;
  bool missing = false;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(dir, &a));
    if (a.typ != kTypeDirectory) return Status::Error(ENOTDIR, "not a directory");
    Status s = tx.GetDirStat(dir, &st);
    missing = s.IsNotFound();
    if (!missing) return s;
    return ComputeDirStat(tx, dir, &st);
  }));
  if (missing) {
    *out = st;  // computed from the children: already includes everything committed
    return Status::OK();
  }
  std::lock_guard<std::mutex> l(quota_mu_);
  if (auto it = pending_dirs_.find(dir); it != pending_dirs_.end()) AddTo(&st, it->second);
  *out = st;
  return Status::OK();
}

Status BaseMeta::GetSummary(const Context&, Ino ino, Summary* out) {
  if (!out) return Status::Invalid("GetSummary: null output");
  ino = ino == 0 ? kRootIno : ino;
  Summary sum;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(ino, &a));
    int64_t space = 0, inodes = 0;
    return TreeUsage(tx, ino, a, &space, &inodes, &sum);
  }));
  *out = sum;
  return Status::OK();
}

Status BaseMeta::SetQuota(const Context& ctx, Ino dir, int64_t max_space, int64_t max_inodes) {
  if (ctx.uid != 0 && ctx.check_permission) return Status::Error(EPERM, "quotas need root");
  dir = dir == 0 ? kRootIno : dir;
  if (InTrash(dir)) return Status::Error(EPERM, "no quotas in the trash");
  bool enabled = false;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
    enabled = false;
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(dir, &a));
    if (a.typ != kTypeDirectory) return Status::Error(ENOTDIR, "not a directory");
    QuotaRecord q;
    Status g = tx.GetQuota(QuotaKind::kDir, dir, &q);
    if (g.IsNotFound()) {
      q = QuotaRecord{};
      int64_t space = 0, inodes = 0;
      JFS_RETURN_IF_ERROR(TreeUsage(tx, dir, a, &space, &inodes));
      q.used_space = space - kEntrySpace;  // the directory itself is not counted
      q.used_inodes = inodes - 1;
    } else {
      JFS_RETURN_IF_ERROR(g);
    }
    if (max_space >= 0) q.max_space = max_space;
    if (max_inodes >= 0) q.max_inodes = max_inodes;
    JFS_RETURN_IF_ERROR(tx.PutQuota(QuotaKind::kDir, dir, q));
    std::string json;
    JFS_RETURN_IF_ERROR(tx.GetSetting(&json));
    Format f;
    JFS_RETURN_IF_ERROR(DecodeFormat(json, &f));
    if (!f.dir_stats) {
      // Directory quotas need DirStats (JuiceFS turns it on the same way).
      f.dir_stats = true;
      enabled = true;
      JFS_RETURN_IF_ERROR(tx.PutSetting(EncodeFormat(f)));
    }
    return Status::OK();
  }));
  {
    std::lock_guard<std::mutex> l(quota_mu_);
    auto dirs = std::make_shared<std::set<Ino>>(quota_dirs_ ? *quota_dirs_ : std::set<Ino>());
    dirs->insert(dir);
    quota_dirs_ = std::move(dirs);
  }
  if (enabled) dir_stats_ = true;
  return Status::OK();
}

Status BaseMeta::GetQuota(const Context&, Ino dir, QuotaRecord* out) {
  if (!out) return Status::Invalid("GetQuota: null output");
  dir = dir == 0 ? kRootIno : dir;
  QuotaRecord q;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) {
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(dir, &a));
    Status g = tx.GetQuota(QuotaKind::kDir, dir, &q);
    if (g.IsNotFound()) return Status::NotFound("no quota on inode " + std::to_string(dir));
    return g;
  }));
  std::lock_guard<std::mutex> l(quota_mu_);
  if (auto it = pending_quotas_.find(dir); it != pending_quotas_.end()) {
    q.used_space += it->second.space, q.used_inodes += it->second.inodes;
  }
  *out = q;
  return Status::OK();
}

Status BaseMeta::DeleteQuota(const Context& ctx, Ino dir) {
  if (ctx.uid != 0 && ctx.check_permission) return Status::Error(EPERM, "quotas need root");
  dir = dir == 0 ? kRootIno : dir;
  JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
    QuotaRecord q;
    Status g = tx.GetQuota(QuotaKind::kDir, dir, &q);
    if (g.IsNotFound()) return Status::NotFound("no quota on inode " + std::to_string(dir));
    JFS_RETURN_IF_ERROR(g);
    return tx.DeleteQuota(QuotaKind::kDir, dir);
  }));
  std::lock_guard<std::mutex> l(quota_mu_);
  if (quota_dirs_ && quota_dirs_->count(dir)) {
    auto dirs = std::make_shared<std::set<Ino>>(*quota_dirs_);
    dirs->erase(dir);
    quota_dirs_ = std::move(dirs);
  }
  pending_quotas_.erase(dir);
  return Status::OK();
}

Status BaseMeta::ListQuotas(const Context&, std::map<Ino, QuotaRecord>* out) {
  if (!out) return Status::Invalid("ListQuotas: null output");
  std::map<uint64_t, QuotaRecord> quotas;
  JFS_RETURN_IF_ERROR(ReadOnly([&](Tx& tx) { return tx.ListQuotas(QuotaKind::kDir, &quotas); }));
  std::lock_guard<std::mutex> l(quota_mu_);
  out->clear();
  for (auto& [ino, q] : quotas) {
    if (auto it = pending_quotas_.find(ino); it != pending_quotas_.end()) {
      q.used_space += it->second.space, q.used_inodes += it->second.inodes;
    }
    (*out)[ino] = q;
  }
  return Status::OK();
}

Status BaseMeta::CheckQuotaUsage(const Context& ctx, Ino dir, bool repair, QuotaRecord* stored,
                                 QuotaRecord* computed) {
  dir = dir == 0 ? kRootIno : dir;
  if (repair && ctx.uid != 0 && ctx.check_permission) {
    return Status::Error(EPERM, "quotas need root");
  }
  JFS_RETURN_IF_ERROR(FlushStats());  // this client's deltas are part of the stored usage
  QuotaRecord q, c;
  auto body = [&](Tx& tx) {
    Status g = tx.GetQuota(QuotaKind::kDir, dir, &q);
    if (g.IsNotFound()) return Status::NotFound("no quota on inode " + std::to_string(dir));
    JFS_RETURN_IF_ERROR(g);
    Attr a;
    JFS_RETURN_IF_ERROR(tx.GetAttr(dir, &a));
    int64_t space = 0, inodes = 0;
    JFS_RETURN_IF_ERROR(TreeUsage(tx, dir, a, &space, &inodes));
    c = q;
    c.used_space = space - kEntrySpace;
    c.used_inodes = inodes - 1;
    return Status::OK();
  };
  if (repair) {
    JFS_RETURN_IF_ERROR(Mutate([&](Tx& tx, Effects&) {
      JFS_RETURN_IF_ERROR(body(tx));
      return c == q ? Status::OK() : tx.PutQuota(QuotaKind::kDir, dir, c);
    }));
  } else {
    JFS_RETURN_IF_ERROR(ReadOnly(body));
  }
  if (stored) *stored = q;
  if (computed) *computed = c;
  return Status::OK();
}

}  // namespace jfs::meta
