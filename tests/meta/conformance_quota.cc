// Conformance cases for directory statistics, summaries and directory quotas (meta/meta.h
// "directory statistics and quotas"); run on every engine through RunMetaConformance.
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "meta/types.h"
#include "tests/meta/conformance.h"
#include "tests/support/status_checks.h"

#define CHECK_ERR(expr, err)                \
  do {                                      \
    ::jfs::Status s_ = (expr);              \
    INFO(#expr << " -> " << s_.ToString()); \
    CHECK(s_.code() == (err));              \
  } while (0)

namespace jfs::meta::testing {

namespace {

Format QuotaFormat(bool dir_stats = true) {
  Format f;
  f.name = "quota-conformance";
  f.uuid = "1f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0";
  f.storage = "file";
  f.bucket = "/tmp/jfs-conformance/";
  f.trash_days = 0;
  f.dir_stats = dir_stats;
  return f;
}

struct Client {
  std::unique_ptr<Meta> m;
  Context root;

  explicit Client(std::unique_ptr<Meta> meta) : m(std::move(meta)) {
    REQUIRE(m);
    REQUIRE_OK(m->Load(nullptr));
    REQUIRE_OK(m->NewSession(SessionInfo{"1.0.0-test", "host", {}, "/mnt", 0, 1}));
  }
  ~Client() {
    if (m) (void)m->CloseSession();
  }
  Ino Mkdir(Ino parent, const std::string& name) {
    Ino ino = 0;
    REQUIRE_OK(m->Mkdir(root, parent, name, 0755, 0, &ino, nullptr));
    return ino;
  }
  Ino File(Ino parent, const std::string& name) {
    Ino ino = 0;
    REQUIRE_OK(m->Mknod(root, parent, name, kTypeFile, 0644, 0, 0, &ino, nullptr));
    return ino;
  }
  Ino Find(Ino parent, const std::string& name) {
    Ino ino = 0;
    REQUIRE_OK(m->Lookup(root, parent, name, &ino, nullptr));
    return ino;
  }
  Status Write(Ino ino, uint64_t offset, uint32_t len) {
    uint64_t id = 0;
    JFS_RETURN_IF_ERROR(m->NewSlice(root, &id));
    Slice s;
    s.id = id, s.size = len, s.len = len;
    return m->Write(root, ino, static_cast<uint32_t>(offset / kChunkSize),
                    static_cast<uint32_t>(offset % kChunkSize), s);
  }
  // The statistic of `dir` recomputed from its entries.
  DirStat Recompute(Ino dir) {
    DirStat d;
    std::string cursor;
    std::vector<Entry> page;
    do {
      REQUIRE_OK(m->Readdir(root, dir, true, &cursor, 100, &page));
      for (const Entry& e : page) {
        d.inodes += 1;
        if (e.attr.typ == kTypeFile) {
          d.length += static_cast<int64_t>(e.attr.length);
          d.space += Align4K(e.attr.length);
        } else {
          d.space += 4096;
        }
      }
    } while (!cursor.empty());
    return d;
  }
  DirStat Stat(Ino dir) {
    DirStat d;
    REQUIRE_OK(m->GetDirStat(root, dir, &d));
    return d;
  }
  QuotaRecord Quota(Ino dir) {
    QuotaRecord q;
    REQUIRE_OK(m->GetQuota(root, dir, &q));
    return q;
  }
};

void CheckStat(Client& c, Ino dir) {
  DirStat got = c.Stat(dir), want = c.Recompute(dir);
  INFO("dir " << dir << ": stat {" << got.length << "," << got.space << "," << got.inodes
              << "} recomputed {" << want.length << "," << want.space << "," << want.inodes << "}");
  CHECK(got == want);
}

}  // namespace

void RunQuotaConformance(const MetaBackend& b) {
  auto fresh = [&](bool dir_stats = true) {
    std::unique_ptr<Meta> m = b.new_database();
    REQUIRE(m);
    REQUIRE_OK(m->Init(QuotaFormat(dir_stats), false));
    return std::make_unique<Client>(std::move(m));
  };

  SECTION("directory statistics follow every change and match a recomputation") {
    auto c = fresh();
    Ino d = c->Mkdir(kRootIno, "d"), e = c->Mkdir(kRootIno, "e"), sub = c->Mkdir(d, "sub");
    Ino f1 = c->File(d, "f1"), f2 = c->File(d, "f2"), f3 = c->File(e, "f3");
    REQUIRE_OK(c->Write(f1, 0, 10000));
    REQUIRE_OK(c->Write(f2, 5000, 100));
    REQUIRE_OK(c->Write(f3, kChunkSize + 1, 1));
    REQUIRE_OK(c->m->Truncate(c->root, f2, 100000, false, nullptr));
    REQUIRE_OK(c->m->Truncate(c->root, f1, 3, false, nullptr));
    Ino ino = 0;
    REQUIRE_OK(c->m->Symlink(c->root, sub, "ln", "../f1", &ino, nullptr));
    REQUIRE_OK(c->m->Link(c->root, f1, e, "f1-link", nullptr));  // counts in both parents
    REQUIRE_OK(c->Write(f1, 0, 8192));                           // charged to d and e
    REQUIRE_OK(c->m->Rename(c->root, d, "f2", e, "f2-moved", 0, nullptr, nullptr));
    REQUIRE_OK(c->m->Rename(c->root, e, "f3", e, "f2-moved", 0, nullptr, nullptr));  // replace
    REQUIRE_OK(c->m->Rename(c->root, d, "sub", e, "sub", 0, nullptr, nullptr));
    Ino x = c->File(d, "x");
    REQUIRE_OK(c->m->Rename(c->root, d, "x", e, "sub", kRenameExchange, nullptr, nullptr));
    (void)x;
    Ino gone = c->File(d, "gone");
    REQUIRE_OK(c->Write(gone, 0, 4097));
    REQUIRE_OK(c->m->Unlink(c->root, d, "gone"));
    c->Mkdir(e, "rm");
    REQUIRE_OK(c->m->Rmdir(c->root, e, "rm"));
    // Before and after the flush: pending deltas are included either way.
    for (Ino dir : {kRootIno, d, e, sub}) CheckStat(*c, dir);
    REQUIRE_OK(c->m->FlushStats());
    for (Ino dir : {kRootIno, d, e, sub}) CheckStat(*c, dir);
    Client other(b.another_client());
    for (Ino dir : {kRootIno, d, e, sub}) CheckStat(other, dir);
    CHECK_ERR(c->m->GetDirStat(c->root, f1, nullptr), EINVAL);
    DirStat tmp;
    CHECK_ERR(c->m->GetDirStat(c->root, f1, &tmp), ENOTDIR);
    CHECK_ERR(c->m->GetDirStat(c->root, 999999, &tmp), ENOENT);
  }

  SECTION("a missing statistic is computed from the children") {
    auto c = fresh(/*dir_stats=*/false);
    Ino d = c->Mkdir(kRootIno, "d");
    Ino f = c->File(d, "f");
    REQUIRE_OK(c->Write(f, 0, 5000));
    c->File(d, "g");
    CheckStat(*c, d);  // nothing was recorded while DirStats was off
    // A quota turns DirStats on; statistics then follow changes from the computed start.
    REQUIRE_OK(c->m->SetQuota(c->root, d, 0, 100));
    Format fmt;
    REQUIRE_OK(c->m->Load(&fmt));
    CHECK(fmt.dir_stats);
    c->File(d, "h");
    REQUIRE_OK(c->m->FlushStats());
    CheckStat(*c, d);
    CHECK(c->Quota(d).used_inodes == 3);
  }

  SECTION("summaries") {
    auto c = fresh();
    Ino d = c->Mkdir(kRootIno, "d");
    Ino s = c->Mkdir(d, "s");
    Ino f = c->File(d, "f");
    REQUIRE_OK(c->Write(f, 0, 5000));
    Ino g = c->File(s, "g");
    REQUIRE_OK(c->Write(g, 0, 1));
    Ino ino = 0;
    REQUIRE_OK(c->m->Symlink(c->root, s, "l", "f", &ino, nullptr));
    Summary sum;
    REQUIRE_OK(c->m->GetSummary(c->root, d, &sum));
    CHECK(sum.dirs == 2);
    CHECK(sum.files == 3);
    CHECK(sum.length == 5001);
    CHECK(sum.size == 4096 * 2 + 8192 + 4096 + 4096);
    REQUIRE_OK(c->m->GetSummary(c->root, f, &sum));
    CHECK((sum.dirs == 0 && sum.files == 1 && sum.length == 5000 && sum.size == 8192));
    CHECK_ERR(c->m->GetSummary(c->root, 999999, &sum), ENOENT);
  }

  SECTION("inode and space quotas, nested, with EDQUOT") {
    auto c = fresh();
    Ino d = c->Mkdir(kRootIno, "d");
    Ino sub = c->Mkdir(d, "sub");
    c->File(d, "old");
    REQUIRE_OK(c->m->SetQuota(c->root, d, 0, 4));  // usage so far: sub + old
    QuotaRecord q = c->Quota(d);
    CHECK(q.max_inodes == 4);
    CHECK(q.max_space == 0);
    CHECK(q.used_inodes == 2);
    CHECK(q.used_space == 2 * 4096);
    c->File(sub, "a");
    c->File(d, "b");
    Ino ino = 0;
    CHECK_ERR(c->m->Mknod(c->root, sub, "c", kTypeFile, 0644, 0, 0, &ino, nullptr), EDQUOT);
    CHECK_ERR(c->m->Mkdir(c->root, d, "c", 0755, 0, &ino, nullptr), EDQUOT);
    CHECK_ERR(c->m->Symlink(c->root, d, "c", "x", &ino, nullptr), EDQUOT);
    c->File(kRootIno, "outside");  // other directories are not limited
    REQUIRE_OK(c->m->Unlink(c->root, d, "b"));
    c->File(sub, "c");  // room again

    // A nested quota: the tighter of the two applies, every ancestor is checked.
    REQUIRE_OK(c->m->SetQuota(c->root, d, -1, 100));  // only the inode limit changes
    CHECK(c->Quota(d).max_inodes == 100);
    REQUIRE_OK(c->m->SetQuota(c->root, sub, 4 * 4096, 0));
    CHECK(c->Quota(sub).used_space == 2 * 4096);
    Ino big = c->File(sub, "big");  // 3 × 4 KiB used
    CHECK_ERR(c->Write(big, 0, 8193), EDQUOT);
    REQUIRE_OK(c->Write(big, 0, 8192));
    CHECK_ERR(c->m->Truncate(c->root, big, 8193, false, nullptr), EDQUOT);
    REQUIRE_OK(c->m->Truncate(c->root, big, 100, false, nullptr));
    REQUIRE_OK(c->m->SetQuota(c->root, sub, 0, -1));       // sub: no space limit any more
    REQUIRE_OK(c->m->SetQuota(c->root, d, 4096 * 6, -1));  // d: limits space now
    // d: sub, old, sub/a, sub/c, sub/big(4 KiB) = 5 × 4 KiB; room for one more block.
    CHECK(c->Quota(d).used_space == 5 * 4096);
    CHECK_ERR(c->Write(big, 0, 3 * 4096), EDQUOT);
    REQUIRE_OK(c->Write(big, 0, 2 * 4096));

    // Hard links count in the quota of the new name's directory.
    Ino outside = c->Find(kRootIno, "outside");
    CHECK_ERR(c->m->Link(c->root, outside, d, "link", nullptr), EDQUOT);

    // Moving into a quota brings the whole tree's usage; moving within one changes nothing.
    Ino t = c->Mkdir(kRootIno, "tree");
    c->File(t, "1");
    c->File(t, "2");
    CHECK_ERR(c->m->Rename(c->root, kRootIno, "tree", d, "tree", 0, nullptr, nullptr), EDQUOT);
    REQUIRE_OK(c->m->Rename(c->root, sub, "a", d, "a", 0, nullptr, nullptr));
    CHECK(c->Quota(sub).used_inodes == 2);
    CHECK(c->Quota(d).used_inodes == 5);
    REQUIRE_OK(c->m->SetQuota(c->root, d, 0, 0));
    REQUIRE_OK(c->m->Rename(c->root, kRootIno, "tree", d, "tree", 0, nullptr, nullptr));
    CHECK(c->Quota(d).used_inodes == 8);
    CHECK(c->Quota(d).used_space == 8 * 4096 + 4096);
    REQUIRE_OK(c->m->Rename(c->root, d, "tree", kRootIno, "tree", 0, nullptr, nullptr));
    CHECK(c->Quota(d).used_inodes == 5);
    // After all that, the stored usage matches a recomputation.
    for (Ino dir : {d, sub}) {
      QuotaRecord stored, computed;
      REQUIRE_OK(c->m->CheckQuotaUsage(c->root, dir, false, &stored, &computed));
      CHECK(stored == computed);
    }
  }

  SECTION("quotas are enforced across clients") {
    auto a = fresh();
    Ino d = a->Mkdir(kRootIno, "d");
    Client b2(b.another_client());
    REQUIRE_OK(a->m->SetQuota(a->root, d, 0, 5));
    REQUIRE_OK(b2.m->Heartbeat());  // picks up quotas set by other clients
    a->File(d, "a1");
    a->File(d, "a2");
    a->File(d, "a3");
    REQUIRE_OK(a->m->FlushStats());
    b2.File(d, "b1");
    b2.File(d, "b2");
    Ino ino = 0;
    CHECK_ERR(b2.m->Mknod(b2.root, d, "b3", kTypeFile, 0644, 0, 0, &ino, nullptr), EDQUOT);
    REQUIRE_OK(b2.m->FlushStats());
    CHECK_ERR(a->m->Mknod(a->root, d, "a4", kTypeFile, 0644, 0, 0, &ino, nullptr), EDQUOT);
    CHECK(a->Quota(d).used_inodes == 5);
    // Removal by one client frees room for the other once flushed.
    REQUIRE_OK(a->m->Unlink(a->root, d, "a1"));
    REQUIRE_OK(a->m->FlushStats());
    b2.File(d, "b3");
    // Deleting the quota lifts the limit for everyone after their next heartbeat.
    REQUIRE_OK(b2.m->FlushStats());
    REQUIRE_OK(a->m->DeleteQuota(a->root, d));
    REQUIRE_OK(b2.m->Heartbeat());
    b2.File(d, "b4");
    a->File(d, "a5");
  }

  SECTION("check finds and repairs usage missed by a client that did not know the quota") {
    auto a = fresh();
    Ino d = a->Mkdir(kRootIno, "d");
    Client b2(b.another_client());
    REQUIRE_OK(a->m->SetQuota(a->root, d, 0, 0));
    b2.File(d, "unseen");  // b2 has not reloaded the quotas yet
    REQUIRE_OK(b2.m->FlushStats());
    QuotaRecord stored, computed;
    REQUIRE_OK(a->m->CheckQuotaUsage(a->root, d, false, &stored, &computed));
    CHECK(stored.used_inodes == 0);
    CHECK(computed.used_inodes == 1);
    CHECK(computed.used_space == 4096);
    CHECK_ERR(a->m->CheckQuotaUsage(Context{1000, {1000}}, d, true, &stored, &computed), EPERM);
    REQUIRE_OK(a->m->CheckQuotaUsage(a->root, d, true, &stored, &computed));
    CHECK(a->Quota(d).used_inodes == 1);
    REQUIRE_OK(a->m->CheckQuotaUsage(a->root, d, false, &stored, &computed));
    CHECK(stored == computed);
  }

  SECTION("quota administration and bad input") {
    auto c = fresh();
    Ino d = c->Mkdir(kRootIno, "d");
    Ino f = c->File(kRootIno, "f");
    std::map<Ino, QuotaRecord> all;
    REQUIRE_OK(c->m->ListQuotas(c->root, &all));
    CHECK(all.empty());
    QuotaRecord q;
    CHECK_ERR(c->m->GetQuota(c->root, d, &q), ENOENT);
    CHECK_ERR(c->m->DeleteQuota(c->root, d), ENOENT);
    CHECK_ERR(c->m->SetQuota(c->root, f, 1, 1), ENOTDIR);
    CHECK_ERR(c->m->SetQuota(c->root, 999999, 1, 1), ENOENT);
    CHECK_ERR(c->m->SetQuota(Context{1000, {1000}}, d, 1, 1), EPERM);
    CHECK_ERR(c->m->SetQuota(c->root, kTrashIno, 1, 1), EPERM);
    REQUIRE_OK(c->m->ListQuotas(c->root, &all));
    CHECK(all.empty());  // nothing was changed by the failures
    REQUIRE_OK(c->m->SetQuota(c->root, d, 1 << 30, 10));
    REQUIRE_OK(c->m->SetQuota(c->root, kRootIno, 0, 1000));
    REQUIRE_OK(c->m->ListQuotas(c->root, &all));
    REQUIRE(all.size() == 2);
    CHECK(all[d].max_space == 1 << 30);
    CHECK(all[kRootIno].max_inodes == 1000);
    CHECK(all[kRootIno].used_inodes == 2);
    CHECK_ERR(c->m->DeleteQuota(Context{1000, {1000}}, d), EPERM);
    // Removing a directory removes its quota.
    REQUIRE_OK(c->m->Rmdir(c->root, kRootIno, "d"));
    REQUIRE_OK(c->m->ListQuotas(c->root, &all));
    CHECK(all.size() == 1);
    REQUIRE_OK(c->m->DeleteQuota(c->root, kRootIno));
    REQUIRE_OK(c->m->ListQuotas(c->root, &all));
    CHECK(all.empty());
  }

  SECTION("volume capacity and inode limits give ENOSPC before directory quotas") {
    std::unique_ptr<Meta> m = b.new_database();
    Format f = QuotaFormat();
    f.inodes = 3;
    REQUIRE_OK(m->Init(f, false));
    Client c(std::move(m));
    Ino d = c.Mkdir(kRootIno, "d");
    REQUIRE_OK(c.m->SetQuota(c.root, d, 0, 1));
    c.File(d, "1");
    Ino ino = 0;
    CHECK_ERR(c.m->Mknod(c.root, d, "2", kTypeFile, 0644, 0, 0, &ino, nullptr), EDQUOT);
    c.File(kRootIno, "x");
    CHECK_ERR(c.m->Mknod(c.root, d, "2", kTypeFile, 0644, 0, 0, &ino, nullptr), ENOSPC);
  }
}

}  // namespace jfs::meta::testing
