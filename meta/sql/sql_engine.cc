#include "meta/sql/sql_engine.h"

#include <algorithm>
#include <array>
#include <exception>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "meta/sql/schema.h"

namespace jfs::meta::sql {

using Clock = std::chrono::steady_clock;

// Read statements come in two forms: [0] for read-only transactions, [1] for write transactions
// (with FOR UPDATE where the dialect locks rows that way).
using ReadSql = std::array<std::string, 2>;

struct SqlEngine::Statements {
  ReadSql get_attr, get_entry, get_symlink, get_chunk, get_ref, get_xattr, get_counter, get_setting;
  std::string table_exists, setting_table;
  std::string put_attr, update_attr, del_attr;
  std::string put_entry, del_entry, has_entries, list_entries, list_entries_plus, list_parents;
  std::string lookup_plus, lookup_plus_locked;
  size_t lookup_locked_params = 2;
  std::string put_symlink, del_symlink;
  std::string append_chunk, put_chunk, del_chunk, list_chunks;
  std::string new_ref, incr_ref, incr_ref_returning, ins_ref, del_ref;
  std::string put_xattr, del_xattr, list_xattr, del_all_xattr;
  std::string incr_counter, incr_counter_returning, ins_counter, init_counter;
  std::string add_sustained, del_sustained, list_sustained;
  std::string add_delfile, del_delfile, list_delfiles;
  std::string add_delslices, del_delslices, list_delslices;
  std::string get_acl, put_acl, resync_acl_id, put_dir_quota, put_ug_quota, list_dir_quota,
      list_ug_quota;
  std::string put_session, del_session, list_sessions;
  ReadSql list_flocks, list_plocks;
  std::string put_flock, put_plock, del_flock, del_plock, del_sid_flocks, del_sid_plocks;
  std::string touch_node;
  ReadSql get_dir_quota, get_ug_quota, get_dir_stat, get_delslices;
  std::string incr_dir_quota, incr_ug_quota, del_dir_quota, del_ug_quota;
  std::string put_dir_stat, incr_dir_stat, del_dir_stat;
  std::string put_setting;

  Statements(const Dialect& d, const std::string& p) {
    auto rw = [&](const std::string& select) {
      return ReadSql{d.Rewrite(select), d.Rewrite(select + std::string(d.ForUpdate()))};
    };
    auto w = [&](const std::string& sql) { return d.Rewrite(sql); };
    const std::string node = p + "node", edge = p + "edge", symlink = p + "symlink",
                      chunk = p + "chunk", ref = p + "chunk_ref", xattr = p + "xattr",
                      counter = p + "counter", sustained = p + "sustained", delfile = p + "delfile",
                      session = p + "session2", setting = p + "setting";

    get_attr =
        rw("SELECT type,flags,mode,uid,gid,atime,mtime,ctime,atimensec,mtimensec,ctimensec,nlink,"
           "length,rdev,parent,access_acl_id,default_acl_id,tier_id FROM " +
           node + " WHERE inode=?");
    put_attr = w(d.Upsert(node,
                          {"inode", "type", "flags", "mode", "uid", "gid", "atime", "mtime",
                           "ctime", "atimensec", "mtimensec", "ctimensec", "nlink", "length",
                           "rdev", "parent", "access_acl_id", "default_acl_id", "tier_id"},
                          {"inode"},
                          {"type", "flags", "mode", "uid", "gid", "atime", "mtime", "ctime",
                           "atimensec", "mtimensec", "ctimensec", "nlink", "length", "rdev",
                           "parent", "access_acl_id", "default_acl_id", "tier_id"}));
    // For a row this transaction knows to exist (cheaper than the upsert, on MySQL especially).
    update_attr =
        w("UPDATE " + node +
          " SET type=?,flags=?,mode=?,uid=?,gid=?,atime=?,mtime=?,ctime=?,atimensec=?,mtimensec=?,"
          "ctimensec=?,nlink=?,length=?,rdev=?,parent=?,access_acl_id=?,default_acl_id=?,tier_id=? "
          "WHERE inode=?");
    del_attr = w("DELETE FROM " + node + " WHERE inode=?");

    get_entry = rw("SELECT inode,type FROM " + edge + " WHERE parent=? AND name=?");
    put_entry = w(
        d.Upsert(edge, {"parent", "name", "inode", "type"}, {"parent", "name"}, {"inode", "type"}));
    del_entry = w("DELETE FROM " + edge + " WHERE parent=? AND name=?");
    has_entries = w("SELECT 1 FROM " + edge + " WHERE parent=? LIMIT 1");
    // The unique (parent, name) index, named as xorm (and schema.cc) name it.
    const std::string by_name =
        d.force_index ? " FORCE INDEX(" + d.Quote("UQE_" + edge + "_edge") + ")" : "";
    list_entries = w("SELECT name,inode,type FROM " + edge + by_name +
                     " WHERE parent=? AND name>? ORDER BY name LIMIT ?");
    // Lookup: the parent, the entry and the child in one query (read-only transactions).
    const std::string attr_cols =
        "type,flags,mode,uid,gid,atime,mtime,ctime,atimensec,mtimensec,ctimensec,nlink,length,rdev,"
        "parent,access_acl_id,default_acl_id,tier_id";
    auto prefixed = [&](const std::string& alias) {
      std::string out, col;
      for (char c : attr_cols + ",") {
        if (c == ',') {
          out += (out.empty() ? "" : ",") + alias + "." + col;
          col.clear();
        } else {
          col += c;
        }
      }
      return out;
    };
    lookup_plus =
        w("SELECT " + prefixed("p") + ",e.inode,e.type,c.inode," + prefixed("c") + " FROM " + node +
          " p LEFT JOIN " + edge + " e ON e.parent=p.inode AND e.name=? LEFT JOIN " + node +
          " c ON c.inode=e.inode WHERE p.inode=?");
    // The same in write transactions, locking the three rows (FOR UPDATE), plus the child's chunk
    // indices (removing the child — unlink, rename over it — lists them next; fetching them here
    // saves a statement): their count and their list (Dialect::indices_agg), which MySQL cuts at
    // group_concat_max_len (the count then tells, and the list is read on its own). MySQL locks
    // the rows of an outer join; PostgreSQL refuses to, so there each row is locked in its own
    // CTE. SQLite locks the whole database instead. Parameters: name, parent (, parent again).
    const std::string child_chunks = ",(SELECT COUNT(*) FROM " + chunk +
                                     " k WHERE k.inode=c.inode),(SELECT " + d.indices_agg +
                                     " FROM " + chunk + " k WHERE k.inode=c.inode)";
    if (!d.for_update || d.for_update_outer_join) {
      lookup_plus_locked = w("SELECT " + prefixed("p") + ",e.inode,e.type,c.inode," +
                             prefixed("c") + child_chunks + " FROM " + node + " p LEFT JOIN " +
                             edge + " e ON e.parent=p.inode AND e.name=? LEFT JOIN " + node +
                             " c ON c.inode=e.inode WHERE p.inode=?" + std::string(d.ForUpdate()));
    } else {
      lookup_plus_locked =
          w("WITH e AS (SELECT inode,type FROM " + edge +
            " WHERE name=? AND parent=? FOR UPDATE), p AS (SELECT " + attr_cols + " FROM " + node +
            " WHERE inode=? FOR UPDATE), c AS (SELECT inode," + attr_cols + " FROM " + node +
            " WHERE inode=(SELECT inode FROM e) FOR UPDATE) SELECT " + prefixed("p") +
            ",e.inode,e.type,c.inode," + prefixed("c") + child_chunks +
            " FROM p LEFT JOIN e ON true LEFT JOIN c ON true");
      lookup_locked_params = 3;
    }
    // Readdir with attributes: one query, nodes joined to the page of entries.
    list_entries_plus =
        w("SELECT e.name,e.inode,e.type,n.inode,n.type,n.flags,n.mode,n.uid,n.gid,n.atime,n.mtime,"
          "n.ctime,n.atimensec,n.mtimensec,n.ctimensec,n.nlink,n.length,n.rdev,n.parent,"
          "n.access_acl_id,n.default_acl_id,n.tier_id FROM " +
          edge + " e" + by_name + " LEFT JOIN " + node +
          " n ON n.inode=e.inode WHERE e.parent=? AND e.name>? ORDER BY e.name LIMIT ?");
    list_parents = w("SELECT parent,COUNT(*) FROM " + edge + " WHERE inode=? GROUP BY parent");

    get_symlink = rw("SELECT target FROM " + symlink + " WHERE inode=?");
    put_symlink = w(d.Upsert(symlink, {"inode", "target"}, {"inode"}, {"target"}));
    del_symlink = w("DELETE FROM " + symlink + " WHERE inode=?");

    get_chunk = rw("SELECT slices FROM " + chunk + " WHERE inode=? AND indx=?");
    append_chunk =
        w(d.UpsertAppend(chunk, {"inode", "indx", "slices"}, {"inode", "indx"}, "slices"));
    put_chunk = w(d.Upsert(chunk, {"inode", "indx", "slices"}, {"inode", "indx"}, {"slices"}));
    del_chunk = w("DELETE FROM " + chunk + " WHERE inode=? AND indx=?");
    list_chunks = w("SELECT indx FROM " + chunk + " WHERE inode=? ORDER BY indx");

    new_ref = w("INSERT INTO " + ref + "(chunkid,size,refs) VALUES(?,?,1)");
    incr_ref = w("UPDATE " + ref + " SET refs=refs+? WHERE chunkid=? AND size=?");
    incr_ref_returning = incr_ref + " RETURNING refs";
    get_ref = rw("SELECT refs FROM " + ref + " WHERE chunkid=? AND size=?");
    ins_ref = w("INSERT INTO " + ref + "(chunkid,size,refs) VALUES(?,?,?)");
    del_ref = w("DELETE FROM " + ref + " WHERE chunkid=?");

    get_xattr = rw("SELECT value FROM " + xattr + " WHERE inode=? AND name=?");
    put_xattr = w(d.Upsert(xattr, {"inode", "name", "value"}, {"inode", "name"}, {"value"}));
    del_xattr = w("DELETE FROM " + xattr + " WHERE inode=? AND name=?");
    list_xattr = w("SELECT name FROM " + xattr + " WHERE inode=? ORDER BY name");
    del_all_xattr = w("DELETE FROM " + xattr + " WHERE inode=?");

    get_counter = rw("SELECT value FROM " + counter + " WHERE name=?");
    incr_counter = w("UPDATE " + counter + " SET value=value+? WHERE name=?");
    incr_counter_returning = incr_counter + " RETURNING value";
    ins_counter = w("INSERT INTO " + counter + "(name,value) VALUES(?,?)");
    init_counter = w(d.InsertIgnore(counter, {"name", "value"}, {"name"}));

    add_sustained = w(d.InsertIgnore(sustained, {"sid", "inode"}, {"sid", "inode"}));
    del_sustained = w("DELETE FROM " + sustained + " WHERE sid=? AND inode=?");
    list_sustained = w("SELECT inode FROM " + sustained + " WHERE sid=? ORDER BY inode");

    add_delfile =
        w(d.Upsert(delfile, {"inode", "length", "expire"}, {"inode"}, {"length", "expire"}));
    del_delfile = w("DELETE FROM " + delfile + " WHERE inode=?");
    list_delfiles = w("SELECT inode, length, expire FROM " + delfile + " ORDER BY inode");
    const std::string delslices = p + "delslices";
    add_delslices = w(
        d.Upsert(delslices, {"chunkid", "deleted", "slices"}, {"chunkid"}, {"deleted", "slices"}));
    get_delslices = rw("SELECT slices FROM " + delslices + " WHERE chunkid=? AND deleted=?");
    del_delslices = w("DELETE FROM " + delslices + " WHERE chunkid=? AND deleted=?");
    list_delslices = w("SELECT chunkid, deleted, slices FROM " + delslices + " ORDER BY chunkid");

    const std::string acl = p + "acl", dir_quota = p + "dir_quota",
                      ug_quota = p + "user_group_quota", group = d.Quote("group");
    get_acl = w("SELECT owner," + group + ",mask,other,named_users,named_groups FROM " + acl +
                " WHERE id=?");
    put_acl =
        w(d.Upsert(acl, {"id", "owner", group, "mask", "other", "named_users", "named_groups"},
                   {"id"}, {"owner", group, "mask", "other", "named_users", "named_groups"}));
    if (d.explicit_serial_keeps_sequence) {
      resync_acl_id = "SELECT setval(pg_get_serial_sequence('" + acl +
                      "','id'), (SELECT MAX(id) FROM " + acl + "))";
    }
    put_dir_quota =
        w(d.Upsert(dir_quota, {"inode", "max_space", "max_inodes", "used_space", "used_inodes"},
                   {"inode"}, {"max_space", "max_inodes", "used_space", "used_inodes"}));
    put_ug_quota = w(d.Upsert(
        ug_quota, {"qtype", "qkey", "max_space", "max_inodes", "used_space", "used_inodes"},
        {"qtype", "qkey"}, {"max_space", "max_inodes", "used_space", "used_inodes"}));
    list_dir_quota = w("SELECT inode, max_space, max_inodes, used_space, used_inodes FROM " +
                       dir_quota + " ORDER BY inode");
    list_ug_quota = w("SELECT qkey, max_space, max_inodes, used_space, used_inodes FROM " +
                      ug_quota + " WHERE qtype=? ORDER BY qkey");

    get_dir_quota = rw("SELECT max_space, max_inodes, used_space, used_inodes FROM " + dir_quota +
                       " WHERE inode=?");
    get_ug_quota = rw("SELECT max_space, max_inodes, used_space, used_inodes FROM " + ug_quota +
                      " WHERE qtype=? AND qkey=?");
    incr_dir_quota = w("UPDATE " + dir_quota +
                       " SET used_space=used_space+?, used_inodes=used_inodes+? WHERE inode=?");
    incr_ug_quota = w("UPDATE " + ug_quota +
                      " SET used_space=used_space+?, used_inodes=used_inodes+? WHERE qtype=? AND "
                      "qkey=?");
    del_dir_quota = w("DELETE FROM " + dir_quota + " WHERE inode=?");
    del_ug_quota = w("DELETE FROM " + ug_quota + " WHERE qtype=? AND qkey=?");
    const std::string dir_stats = p + "dir_stats";
    get_dir_stat =
        rw("SELECT data_length, used_space, used_inodes FROM " + dir_stats + " WHERE inode=?");
    put_dir_stat = w(d.Upsert(dir_stats, {"inode", "data_length", "used_space", "used_inodes"},
                              {"inode"}, {"data_length", "used_space", "used_inodes"}));
    incr_dir_stat = w("UPDATE " + dir_stats +
                      " SET data_length=data_length+?, used_space=used_space+?, "
                      "used_inodes=used_inodes+? WHERE inode=?");
    del_dir_stat = w("DELETE FROM " + dir_stats + " WHERE inode=?");

    put_session = w(d.Upsert(session, {"sid", "expire", "info"}, {"sid"}, {"expire", "info"}));
    del_session = w("DELETE FROM " + session + " WHERE sid=?");
    list_sessions = w("SELECT sid, expire, info FROM " + session + " ORDER BY sid");

    const std::string flock = p + "flock", plock = p + "plock";
    list_flocks = rw("SELECT sid, owner, ltype FROM " + flock + " WHERE inode=?");
    list_plocks = rw("SELECT sid, owner, records FROM " + plock + " WHERE inode=?");
    put_flock = w(
        d.Upsert(flock, {"inode", "sid", "owner", "ltype"}, {"inode", "sid", "owner"}, {"ltype"}));
    put_plock = w(d.Upsert(plock, {"inode", "sid", "owner", "records"}, {"inode", "sid", "owner"},
                           {"records"}));
    del_flock = w("DELETE FROM " + flock + " WHERE inode=? AND sid=? AND owner=?");
    del_plock = w("DELETE FROM " + plock + " WHERE inode=? AND sid=? AND owner=?");
    del_sid_flocks = w("DELETE FROM " + flock + " WHERE sid=?");
    del_sid_plocks = w("DELETE FROM " + plock + " WHERE sid=?");
    touch_node = w("UPDATE " + node + " SET inode=inode WHERE inode=?");

    get_setting = rw("SELECT value FROM " + setting + " WHERE name=?");
    table_exists = d.Rewrite(d.table_exists);
    setting_table = setting;
    put_setting = w(d.Upsert(setting, {"name", "value"}, {"name"}, {"value"}));
  }
};

namespace {

constexpr const char* kFormatSetting = "format";

// Initial "next free" values (format.md §3.3); every other counter starts at 0.
int64_t InitialCounterValue(std::string_view name) {
  if (name == "nextInode") return 2;  // 1 is the root
  if (name == "nextChunk") return 1;
  return 0;
}

// JuiceFS stores a time as microseconds plus the remaining nanoseconds, both derived from the total
// nanoseconds with Go's truncating division (so negative times match the Go client too).
void TimeToColumns(int64_t sec, uint32_t nsec, int64_t* usec, int64_t* extra_ns) {
  __int128 ns = static_cast<__int128>(sec) * 1000000000 + nsec;
  *usec = static_cast<int64_t>(ns / 1000);
  *extra_ns = static_cast<int64_t>(ns % 1000);
}

void ColumnsToTime(int64_t usec, int64_t extra_ns, int64_t* sec, uint32_t* nsec) {
  __int128 ns = static_cast<__int128>(usec) * 1000 + extra_ns;
  __int128 s = ns / 1000000000, r = ns % 1000000000;
  if (r < 0) {
    r += 1000000000;
    s -= 1;
  }
  *sec = static_cast<int64_t>(s);
  *nsec = static_cast<uint32_t>(r);
}

// Reads the 18 attribute columns of get_attr starting at column `c`.
void RowToAttr(const Row& r, Attr* a, int c = 0) {
  a->typ = static_cast<uint8_t>(r.Int(c + 0));
  a->flags = static_cast<uint8_t>(r.Int(c + 1));
  a->mode = static_cast<uint16_t>(r.Int(c + 2) & 07777);
  a->uid = static_cast<uint32_t>(r.Int(c + 3));
  a->gid = static_cast<uint32_t>(r.Int(c + 4));
  ColumnsToTime(r.Int(c + 5), r.Int(c + 8), &a->atime, &a->atimensec);
  ColumnsToTime(r.Int(c + 6), r.Int(c + 9), &a->mtime, &a->mtimensec);
  ColumnsToTime(r.Int(c + 7), r.Int(c + 10), &a->ctime, &a->ctimensec);
  a->nlink = static_cast<uint32_t>(r.Int(c + 11));
  a->length = static_cast<uint64_t>(r.Int(c + 12));
  a->rdev = static_cast<uint32_t>(r.Int(c + 13));
  a->parent = static_cast<Ino>(r.Int(c + 14));
  a->access_acl = static_cast<uint32_t>(r.Int(c + 15));
  a->default_acl = static_cast<uint32_t>(r.Int(c + 16));
  a->tier = static_cast<uint8_t>(r.Int(c + 17));
}

std::string Num(uint64_t v) {
  return std::to_string(v);
}

// What an attribute reads back as once stored (the columns keep 12 mode bits, and times as
// microseconds plus nanoseconds).
Attr Stored(const Attr& a) {
  Attr s = a;
  s.mode &= 07777;
  int64_t usec, ns;
  TimeToColumns(a.atime, a.atimensec, &usec, &ns);
  ColumnsToTime(usec, ns, &s.atime, &s.atimensec);
  TimeToColumns(a.mtime, a.mtimensec, &usec, &ns);
  ColumnsToTime(usec, ns, &s.mtime, &s.mtimensec);
  TimeToColumns(a.ctime, a.ctimensec, &usec, &ns);
  ColumnsToTime(usec, ns, &s.ctime, &s.ctimensec);
  return s;
}

// jfs_acl.named_users / named_groups: 6 bytes per entry, id u32 BE + perm u16 BE (format.md §3.2).
std::string EncodeAclEntries(const std::vector<AclEntry>& entries) {
  std::string out;
  for (const AclEntry& e : entries) {
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((e.id >> s) & 0xFF));
    out.push_back(static_cast<char>(e.perm >> 8));
    out.push_back(static_cast<char>(e.perm & 0xFF));
  }
  return out;
}

bool DecodeAclEntries(std::string_view b, std::vector<AclEntry>* out) {
  out->clear();
  if (b.size() % 6 != 0) return false;
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(b[i])); };
  for (size_t i = 0; i < b.size(); i += 6) {
    out->push_back({u(i) << 24 | u(i + 1) << 16 | u(i + 2) << 8 | u(i + 3),
                    static_cast<uint16_t>(u(i + 4) << 8 | u(i + 5))});
  }
  return true;
}

enum class TxMode { kWrite, kRead, kSingleRead };

class SqlTx final : public Tx {
 public:
  SqlTx(const SqlEngine::Statements& q, const Dialect& d, SqlConn* conn, TxMode mode)
      : q_(q),
        conn_(conn),
        read_only_(mode != TxMode::kWrite),
        single_(mode == TxMode::kSingleRead),
        returning_(d.returning) {}

  // In a single-read transaction: fn needed a second statement, so it must run again in a full
  // transaction (everything it read so far is void).
  bool escalated() const { return escalated_; }

  // ---- nodes ----
  Status GetAttr(Ino ino, Attr* attr) override {
    JFS_RETURN_IF_ERROR(FetchWanted());
    if (auto it = attrs_.find(ino); it != attrs_.end()) {
      if (!it->second) return Status::NotFound("inode " + Num(ino));
      *attr = *it->second;
      return Status::OK();
    }
    bool found = false;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_attr), {ino}, [&](const Row& r) {
      found = true;
      RowToAttr(r, attr);
      return Status::OK();
    }));
    if (found) {
      attrs_[ino] = *attr;
    } else {
      attrs_[ino] = std::nullopt;
    }
    return found ? Status::OK() : Status::NotFound("inode " + Num(ino));
  }

  Status PutAttr(Ino ino, const Attr& a) override {
    JFS_RETURN_IF_ERROR(Writable());
    int64_t at, an, mt, mn, ct, cn;
    TimeToColumns(a.atime, a.atimensec, &at, &an);
    TimeToColumns(a.mtime, a.mtimensec, &mt, &mn);
    TimeToColumns(a.ctime, a.ctimensec, &ct, &cn);
    std::optional<Attr>& known = attrs_[ino];
    const bool exists = known.has_value();  // read (and locked) or written by this transaction
    known = Stored(a);
    if (exists) {
      return Run(q_.update_attr,
                 {a.typ, a.flags, a.mode & 07777, a.uid, a.gid, at, mt, ct, an, mn, cn, a.nlink,
                  a.length, a.rdev, a.parent, a.access_acl, a.default_acl, a.tier, ino});
    }
    return Run(q_.put_attr,
               {ino, a.typ, a.flags, a.mode & 07777, a.uid, a.gid, at, mt, ct, an, mn, cn, a.nlink,
                a.length, a.rdev, a.parent, a.access_acl, a.default_acl, a.tier});
  }

  Status DeleteAttr(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    attrs_[ino] = std::nullopt;
    return Run(q_.del_attr, {ino});
  }

  // ---- entries ----
  Status GetEntry(Ino parent, std::string_view name, Ino* ino, uint8_t* type) override {
    JFS_RETURN_IF_ERROR(FetchWanted());
    EntryKey key(parent, std::string(name));
    std::optional<EntryVal> val;
    if (auto it = entries_.find(key); it != entries_.end()) {
      val = it->second;
    } else {
      JFS_RETURN_IF_ERROR(Run(Sel(q_.get_entry), {parent, Param::Blob(name)}, [&](const Row& r) {
        val = EntryVal{static_cast<Ino>(r.Int(0)), static_cast<uint8_t>(r.Int(1))};
        return Status::OK();
      }));
      entries_[std::move(key)] = val;
    }
    if (!val) return Status::NotFound("entry " + std::string(name));
    if (ino) *ino = val->ino;
    if (type) *type = val->type;
    return Status::OK();
  }

  Status PutEntry(Ino parent, std::string_view name, Ino ino, uint8_t type) override {
    JFS_RETURN_IF_ERROR(Writable());
    entries_[EntryKey(parent, std::string(name))] = EntryVal{ino, type};
    return Run(q_.put_entry, {parent, Param::Blob(name), ino, type});
  }

  Status DeleteEntry(Ino parent, std::string_view name) override {
    JFS_RETURN_IF_ERROR(Writable());
    entries_[EntryKey(parent, std::string(name))] = std::nullopt;
    return Run(q_.del_entry, {parent, Param::Blob(name)});
  }

  Status HasEntries(Ino parent, bool* any) override {
    *any = false;
    return Run(q_.has_entries, {parent}, [&](const Row&) {
      *any = true;
      return Status::OK();
    });
  }

  Status ListEntries(Ino parent, std::string* cursor, size_t limit,
                     std::vector<Entry>* out) override {
    return List(q_.list_entries, parent, cursor, limit, out);
  }

  Status ListEntriesPlus(Ino parent, std::string* cursor, size_t limit,
                         std::vector<Entry>* out) override {
    return List(q_.list_entries_plus, parent, cursor, limit, out);
  }

  // One page of list_entries (name, inode, type) or list_entries_plus (the same, then the node's
  // inode — NULL for a dangling entry — and its 18 attribute columns).
  Status List(const std::string& sql, Ino parent, std::string* cursor, size_t limit,
              std::vector<Entry>* out) {
    const bool plus = &sql == &q_.list_entries_plus;
    out->clear();
    if (limit == 0) return Status::Invalid("ListEntries: limit must be positive");
    // One row past the page tells whether the listing continues, saving an empty last call.
    const size_t page = std::min<size_t>(limit, size_t{1} << 30);
    bool more = false;
    out->reserve(std::min<size_t>(page, 4096));  // one allocation for a usual page
    JFS_RETURN_IF_ERROR(
        Run(sql, {parent, Param::Blob(*cursor), static_cast<int64_t>(page) + 1}, [&](const Row& r) {
          if (out->size() == page) {
            more = true;
            return Status::OK();
          }
          Entry& e = out->emplace_back();
          e.name.assign(r.Bytes(0));
          e.inode = static_cast<Ino>(r.Int(1));
          e.attr.typ = static_cast<uint8_t>(r.Int(2));
          if (plus && !r.IsNull(3)) RowToAttr(r, &e.attr, 4);
          return Status::OK();
        }));
    if (more) {
      *cursor = out->back().name;
    } else {
      cursor->clear();
    }
    return Status::OK();
  }

  // The parent, the entry and the child, fetched together (FetchWanted) and then answered from
  // what this transaction knows.
  Status LookupPlus(Ino parent, std::string_view name, Attr* parent_attr, bool* entry_found,
                    Ino* ino, uint8_t* type, bool* child_found, Attr* child_attr) override {
    JFS_RETURN_IF_ERROR(Prefetch(parent, name));
    JFS_RETURN_IF_ERROR(FetchWanted());
    return Tx::LookupPlus(parent, name, parent_attr, entry_found, ino, type, child_found,
                          child_attr);
  }

  // Only noted here: the next read fetches every noted name at once (rename notes two).
  Status Prefetch(Ino parent, std::string_view name) override {
    wanted_.emplace_back(parent, std::string(name));
    return Status::OK();
  }

  Status AdjustParent(Ino, Ino, int) override { return Writable(); }

  Status ListParents(Ino ino, std::map<Ino, int>* parents) override {
    parents->clear();
    return Run(q_.list_parents, {ino}, [&](const Row& r) {
      (*parents)[static_cast<Ino>(r.Int(0))] = static_cast<int>(r.Int(1));
      return Status::OK();
    });
  }

  // ---- symlinks ----
  Status GetSymlink(Ino ino, std::string* target) override {
    bool found = false;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_symlink), {ino}, [&](const Row& r) {
      found = true;
      target->assign(r.Bytes(0));
      return Status::OK();
    }));
    return found ? Status::OK() : Status::NotFound("symlink " + Num(ino));
  }

  Status PutSymlink(Ino ino, std::string_view target) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.put_symlink, {ino, Param::Blob(target)});
  }

  Status DeleteSymlink(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_symlink, {ino});
  }

  // ---- chunks ----
  Status GetChunk(Ino ino, uint32_t indx, std::string* records) override {
    bool found = false;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_chunk), {ino, indx}, [&](const Row& r) {
      found = true;
      records->assign(r.Bytes(0));
      return Status::OK();
    }));
    return found ? Status::OK() : Status::NotFound("chunk " + Num(ino) + ":" + Num(indx));
  }

  Status AppendChunk(Ino ino, uint32_t indx, std::string_view records) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (auto it = chunks_.find(ino); it != chunks_.end()) it->second.insert(indx);
    return Run(q_.append_chunk, {ino, indx, Param::Blob(records)});
  }

  Status PutChunk(Ino ino, uint32_t indx, std::string_view records) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (auto it = chunks_.find(ino); it != chunks_.end()) it->second.insert(indx);
    return Run(q_.put_chunk, {ino, indx, Param::Blob(records)});
  }

  Status DeleteChunk(Ino ino, uint32_t indx) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (auto it = chunks_.find(ino); it != chunks_.end()) it->second.erase(indx);
    return Run(q_.del_chunk, {ino, indx});
  }

  Status ListChunks(Ino ino, std::vector<uint32_t>* indices) override {
    indices->clear();
    JFS_RETURN_IF_ERROR(FetchWanted());
    if (auto it = chunks_.find(ino); it != chunks_.end()) {
      indices->assign(it->second.begin(), it->second.end());
      return Status::OK();
    }
    JFS_RETURN_IF_ERROR(Run(q_.list_chunks, {ino}, [&](const Row& r) {
      indices->push_back(static_cast<uint32_t>(r.Int(0)));
      return Status::OK();
    }));
    chunks_[ino].insert(indices->begin(), indices->end());
    return Status::OK();
  }

  // ---- slice references ----
  Status NewSliceRef(uint64_t id, uint32_t size) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.new_ref, {id, size});
  }

  // A missing row counts as 0 references: the result is `delta`, stored only when positive.
  Status IncrSliceRef(uint64_t id, uint32_t size, int64_t delta, int64_t* refs) override {
    JFS_RETURN_IF_ERROR(Writable());
    bool found = false;
    int64_t value = 0;
    auto read = [&](const Row& r) {
      found = true;
      value = r.Int(0);
      return Status::OK();
    };
    if (returning_) {
      JFS_RETURN_IF_ERROR(Run(q_.incr_ref_returning, {delta, id, size}, read));
    } else {
      int64_t changed = 0;
      JFS_RETURN_IF_ERROR(Run(q_.incr_ref, {delta, id, size}, {}, &changed));
      if (changed > 0) JFS_RETURN_IF_ERROR(Run(Sel(q_.get_ref), {id, size}, read));
    }
    if (!found) {
      value = delta;
      if (delta > 0) JFS_RETURN_IF_ERROR(Run(q_.ins_ref, {id, size, delta}));
    }
    if (refs) *refs = value;
    return Status::OK();
  }

  Status DeleteSliceRef(uint64_t id, uint32_t) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_ref, {id});
  }

  // ---- xattrs ----
  Status GetXattr(Ino ino, std::string_view name, std::string* value) override {
    bool found = false;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_xattr), {ino, Param::Text(name)}, [&](const Row& r) {
      found = true;
      value->assign(r.Bytes(0));
      return Status::OK();
    }));
    return found ? Status::OK() : Status::Error(ENODATA);
  }

  Status PutXattr(Ino ino, std::string_view name, std::string_view value) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.put_xattr, {ino, Param::Text(name), Param::Blob(value)});
  }

  Status DeleteXattr(Ino ino, std::string_view name) override {
    JFS_RETURN_IF_ERROR(Writable());
    int64_t changed = 0;
    JFS_RETURN_IF_ERROR(Run(q_.del_xattr, {ino, Param::Text(name)}, {}, &changed));
    return changed > 0 ? Status::OK() : Status::Error(ENODATA);
  }

  Status ListXattr(Ino ino, std::vector<std::string>* names) override {
    names->clear();
    return Run(q_.list_xattr, {ino}, [&](const Row& r) {
      names->emplace_back(r.Bytes(0));
      return Status::OK();
    });
  }

  Status DeleteAllXattr(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_all_xattr, {ino});
  }

  // ---- counters ----
  Status Alloc(std::string_view counter, uint64_t n, uint64_t* first) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (n > static_cast<uint64_t>(INT64_MAX)) return Status::Invalid("Alloc: count too large");
    int64_t after = 0;
    bool found = false;
    JFS_RETURN_IF_ERROR(AddToCounter(counter, static_cast<int64_t>(n), &found, &after));
    if (found) {
      *first = static_cast<uint64_t>(after) - n;
      return Status::OK();
    }
    int64_t start = InitialCounterValue(counter);
    JFS_RETURN_IF_ERROR(
        Run(q_.ins_counter, {Param::Text(counter), start + static_cast<int64_t>(n)}));
    *first = static_cast<uint64_t>(start);
    return Status::OK();
  }

  Status IncrCounter(std::string_view name, int64_t delta, int64_t* value) override {
    JFS_RETURN_IF_ERROR(Writable());
    int64_t after = 0;
    bool found = false;
    JFS_RETURN_IF_ERROR(AddToCounter(name, delta, &found, &after));
    if (!found) {
      after = delta;
      JFS_RETURN_IF_ERROR(Run(q_.ins_counter, {Param::Text(name), delta}));
    }
    if (value) *value = after;
    return Status::OK();
  }

  Status GetCounter(std::string_view name, int64_t* value) override {
    *value = 0;
    return Run(Sel(q_.get_counter), {Param::Text(name)}, [&](const Row& r) {
      *value = r.Int(0);
      return Status::OK();
    });
  }

  // ---- sessions and deferred work ----
  Status AddSustained(uint64_t sid, Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.add_sustained, {sid, ino});
  }

  Status RemoveSustained(uint64_t sid, Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_sustained, {sid, ino});
  }

  Status ListSustained(uint64_t sid, std::vector<Ino>* inodes) override {
    inodes->clear();
    return Run(q_.list_sustained, {sid}, [&](const Row& r) {
      inodes->push_back(static_cast<Ino>(r.Int(0)));
      return Status::OK();
    });
  }

  Status AddDelFile(Ino ino, uint64_t length, int64_t when) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.add_delfile, {ino, length, when});
  }

  Status RemoveDelFile(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_delfile, {ino});
  }

  Status ListDelFiles(std::vector<DelFileRecord>* out) override {
    out->clear();
    return Run(q_.list_delfiles, {}, [&](const Row& r) {
      out->push_back({static_cast<Ino>(r.Int(0)), static_cast<uint64_t>(r.Int(1)), r.Int(2)});
      return Status::OK();
    });
  }

  Status AddDelSlices(uint64_t id, int64_t deleted, std::string_view slices) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.add_delslices, {id, deleted, Param::Blob(slices)});
  }

  Status GetDelSlices(uint64_t id, int64_t deleted, std::string* slices) override {
    bool found = false;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_delslices), {id, deleted}, [&](const Row& r) {
      found = true;
      slices->assign(r.Bytes(0));
      return Status::OK();
    }));
    return found ? Status::OK() : Status::NotFound("no delayed slices " + Num(id));
  }

  Status RemoveDelSlices(uint64_t id, int64_t deleted) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_delslices, {id, deleted});
  }

  Status ListDelSlices(std::vector<DelSliceRecord>* out) override {
    out->clear();
    return Run(q_.list_delslices, {}, [&](const Row& r) {
      out->push_back({static_cast<uint64_t>(r.Int(0)), r.Int(1), std::string(r.Bytes(2))});
      return Status::OK();
    });
  }

  // ---- ACLs and quotas (stored as JuiceFS does; not enforced yet) ----
  Status GetAcl(uint32_t id, AclRule* rule) override {
    bool found = false;
    Status bad;
    JFS_RETURN_IF_ERROR(Run(q_.get_acl, {id}, [&](const Row& r) {
      found = true;
      rule->owner = static_cast<uint16_t>(r.Int(0));
      rule->group = static_cast<uint16_t>(r.Int(1));
      rule->mask = static_cast<uint16_t>(r.Int(2));
      rule->other = static_cast<uint16_t>(r.Int(3));
      if (!DecodeAclEntries(r.Bytes(4), &rule->users) ||
          !DecodeAclEntries(r.Bytes(5), &rule->groups)) {
        bad = Status::Corruption("corrupted ACL entries in rule " + std::to_string(id));
      }
      return Status::OK();
    }));
    if (!found) return Status::NotFound("no ACL rule " + std::to_string(id));
    return bad;
  }

  Status PutAcl(uint32_t id, const AclRule& rule) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string users = EncodeAclEntries(rule.users), groups = EncodeAclEntries(rule.groups);
    JFS_RETURN_IF_ERROR(Run(q_.put_acl, {id, rule.owner, rule.group, rule.mask, rule.other,
                                         Param::Blob(users), Param::Blob(groups)}));
    if (!q_.resync_acl_id.empty()) JFS_RETURN_IF_ERROR(Run(q_.resync_acl_id, {}));
    return Status::OK();
  }

  Status PutQuota(QuotaKind kind, uint64_t key, const QuotaRecord& q) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (kind == QuotaKind::kDir) {
      return Run(q_.put_dir_quota, {key, q.max_space, q.max_inodes, q.used_space, q.used_inodes});
    }
    return Run(q_.put_ug_quota, {static_cast<uint32_t>(kind), key, q.max_space, q.max_inodes,
                                 q.used_space, q.used_inodes});
  }

  Status ListQuotas(QuotaKind kind, std::map<uint64_t, QuotaRecord>* out) override {
    out->clear();
    auto row = [&](const Row& r) {
      (*out)[static_cast<uint64_t>(r.Int(0))] = {r.Int(1), r.Int(2), r.Int(3), r.Int(4)};
      return Status::OK();
    };
    if (kind == QuotaKind::kDir) return Run(q_.list_dir_quota, {}, row);
    return Run(q_.list_ug_quota, {static_cast<uint32_t>(kind)}, row);
  }

  // ---- file locks (jfs_flock: ltype 'R'/'W' as a number; jfs_plock: packed records) ----
  Status ListLocks(LockKind kind, Ino ino, std::vector<LockRecord>* out) override {
    out->clear();
    const bool f = kind == LockKind::kFlock;
    return Run(Sel(f ? q_.list_flocks : q_.list_plocks), {ino}, [&](const Row& r) {
      LockRecord rec;
      rec.sid = static_cast<uint64_t>(r.Int(0));
      rec.owner = static_cast<uint64_t>(r.Int(1));
      rec.value = f ? std::string(1, static_cast<char>(r.Int(2))) : std::string(r.Bytes(2));
      out->push_back(std::move(rec));
      return Status::OK();
    });
  }

  Status PutLock(LockKind kind, Ino ino, uint64_t sid, uint64_t owner,
                 std::string_view value) override {
    JFS_RETURN_IF_ERROR(Writable());
    // A new lock row is invisible to a concurrent locker whose PostgreSQL REPEATABLE READ snapshot
    // predates this commit; updating the node row (which every locker reads FOR UPDATE first)
    // makes that locker fail with a serialization error and retry, seeing this row.
    JFS_RETURN_IF_ERROR(Run(q_.touch_node, {ino}));
    if (kind == LockKind::kFlock) {
      if (value.size() != 1) return Status::Invalid("flock value must be R or W");
      return Run(q_.put_flock, {ino, sid, owner, static_cast<uint8_t>(value[0])});
    }
    return Run(q_.put_plock, {ino, sid, owner, Param::Blob(value)});
  }

  Status DeleteLock(LockKind kind, Ino ino, uint64_t sid, uint64_t owner) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(kind == LockKind::kFlock ? q_.del_flock : q_.del_plock, {ino, sid, owner});
  }

  Status DeleteSessionLocks(uint64_t sid) override {
    JFS_RETURN_IF_ERROR(Writable());
    JFS_RETURN_IF_ERROR(Run(q_.del_sid_flocks, {sid}));
    return Run(q_.del_sid_plocks, {sid});
  }

  Status GetQuota(QuotaKind kind, uint64_t key, QuotaRecord* q) override {
    bool found = false;
    auto row = [&](const Row& r) {
      found = true;
      *q = {r.Int(0), r.Int(1), r.Int(2), r.Int(3)};
      return Status::OK();
    };
    if (kind == QuotaKind::kDir) {
      JFS_RETURN_IF_ERROR(Run(Sel(q_.get_dir_quota), {key}, row));
    } else {
      JFS_RETURN_IF_ERROR(Run(Sel(q_.get_ug_quota), {static_cast<uint32_t>(kind), key}, row));
    }
    if (!found) return Status::NotFound("no quota for " + std::to_string(key));
    return Status::OK();
  }

  // An UPDATE of a missing row changes nothing, which is what a missing quota wants.
  Status IncrQuotaUsed(QuotaKind kind, uint64_t key, int64_t space, int64_t inodes) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (kind == QuotaKind::kDir) return Run(q_.incr_dir_quota, {space, inodes, key});
    return Run(q_.incr_ug_quota, {space, inodes, static_cast<uint32_t>(kind), key});
  }

  Status DeleteQuota(QuotaKind kind, uint64_t key) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (kind == QuotaKind::kDir) return Run(q_.del_dir_quota, {key});
    return Run(q_.del_ug_quota, {static_cast<uint32_t>(kind), key});
  }

  Status GetDirStat(Ino dir, DirStat* st) override {
    bool found = false;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_dir_stat), {dir}, [&](const Row& r) {
      found = true;
      *st = {r.Int(0), r.Int(1), r.Int(2)};
      return Status::OK();
    }));
    if (!found) return Status::NotFound("no statistics for " + std::to_string(dir));
    return Status::OK();
  }
  Status PutDirStat(Ino dir, const DirStat& st) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.put_dir_stat, {dir, st.length, st.space, st.inodes});
  }
  Status IncrDirStat(Ino dir, const DirStat& d, bool* found) override {
    JFS_RETURN_IF_ERROR(Writable());
    DirStat cur;
    Status st = GetDirStat(dir, &cur);
    *found = !st.IsNotFound();
    if (!*found) return Status::OK();
    JFS_RETURN_IF_ERROR(st);
    return Run(q_.incr_dir_stat, {d.length, d.space, d.inodes, dir});
  }
  Status DeleteDirStat(Ino dir) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_dir_stat, {dir});
  }

  Status PutSession(uint64_t sid, int64_t expire, std::string_view info) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.put_session, {sid, expire, Param::Blob(info)});
  }

  Status DeleteSession(uint64_t sid) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.del_session, {sid});
  }

  Status ListSessions(std::vector<SessionRecord>* out) override {
    out->clear();
    return Run(q_.list_sessions, {}, [&](const Row& r) {
      SessionRecord s;
      s.sid = static_cast<uint64_t>(r.Int(0));
      s.expire = r.Int(1);
      s.info_json = std::string(r.Bytes(2));
      out->push_back(std::move(s));
      return Status::OK();
    });
  }

  // ---- format ----
  Status GetSetting(std::string* json) override {
    // A database nobody formatted has no tables at all: that is "not formatted", not an error.
    bool found = false;
    JFS_RETURN_IF_ERROR(Run(q_.table_exists, {Param::Text(q_.setting_table)}, [&](const Row&) {
      found = true;
      return Status::OK();
    }));
    if (!found) return Status::NotFound("volume is not formatted (no format setting)");
    found = false;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_setting), {Param::Text(kFormatSetting)}, [&](const Row& r) {
      found = true;
      json->assign(r.Bytes(0));
      return Status::OK();
    }));
    return found ? Status::OK() : Status::NotFound("volume is not formatted (no format setting)");
  }

  Status PutSetting(std::string_view json) override {
    JFS_RETURN_IF_ERROR(Writable());
    return Run(q_.put_setting, {Param::Text(kFormatSetting), Param::Text(json)});
  }

 private:
  Status Run(const std::string& sql, std::initializer_list<Param> params, RowFn on_row = {},
             int64_t* changes = nullptr) {
    JFS_RETURN_IF_ERROR(CountStatement());
    return conn_->Query(sql, std::span<const Param>(params.begin(), params.size()), on_row,
                        changes);
  }

  // A single-read transaction runs one statement; a second one escalates it (see escalated()).
  Status CountStatement() {
    if (!single_) return Status::OK();
    if (statements_++ == 0) return Status::OK();
    escalated_ = true;
    return Status::Error(EAGAIN, "a single-read transaction needs a second statement");
  }

  // Reads the rows of every Prefetch'ed name not known yet, in one batch (one round trip where
  // the driver pipelines): one LEFT JOIN per name, or, in PostgreSQL write transactions, the
  // parent, the entry and the child as three locking statements each.
  Status FetchWanted() {
    if (wanted_.empty()) return Status::OK();
    std::vector<std::pair<Ino, std::string>> wanted = std::move(wanted_);
    wanted_.clear();
    struct Reader {
      enum Kind { kJoin, kJoinChunks } kind;  // kJoinChunks: lookup_plus_locked's chunk columns
      SqlTx* tx;
      Ino parent;
      const std::string* name;
      Status operator()(const Row& r) const {
        JFS_RETURN_IF_ERROR(tx->Absorb(parent, *name, r));
        if (kind == kJoinChunks && !r.IsNull(20)) tx->AbsorbChunks(r);
        return Status::OK();
      }
    };
    std::vector<Reader> readers;
    std::vector<std::array<Param, 3>> params;
    readers.reserve(wanted.size());  // no reallocation: batch items point into both
    params.reserve(wanted.size());
    std::vector<const std::pair<Ino, std::string>*> with_chunks;
    fetched_chunks_.clear();
    std::vector<BatchStmt> stmts;
    auto add = [&](Reader::Kind kind, const std::string& sql, const std::pair<Ino, std::string>& w,
                   std::array<Param, 3> p, size_t nparams) {
      params.push_back(p);
      readers.push_back(Reader{kind, this, w.first, &w.second});
      stmts.push_back(
          BatchStmt{sql, std::span<const Param>(params.back().data(), nparams), readers.back()});
    };
    for (const auto& w : wanted) {
      if (&w != &*std::find(wanted.begin(), wanted.end(), w)) continue;  // asked twice
      const bool parent_known = attrs_.count(w.first) > 0;
      auto e = entries_.find(w);
      const bool entry_known = e != entries_.end();
      const bool child_known = entry_known && (!e->second || attrs_.count(e->second->ino) > 0);
      if (parent_known && entry_known && child_known) continue;
      if (!parent_known) attrs_[w.first] = std::nullopt;  // unless a row says otherwise
      if (read_only_) {
        add(Reader::kJoin, q_.lookup_plus, w, {Param::Blob(w.second), w.first, Param()}, 2);
      } else {
        // Removing the child (unlink, rename over it) lists its chunks next: they come along.
        add(child_known ? Reader::kJoin : Reader::kJoinChunks, q_.lookup_plus_locked, w,
            {Param::Blob(w.second), w.first, w.first}, q_.lookup_locked_params);
        if (!child_known) with_chunks.push_back(&w);
      }
    }
    if (stmts.empty()) return Status::OK();
    if (single_ && stmts.size() > 1) {
      escalated_ = true;
      return Status::Error(EAGAIN, "a single-read transaction needs a second statement");
    }
    JFS_RETURN_IF_ERROR(CountStatement());
    JFS_RETURN_IF_ERROR(conn_->QueryBatch(stmts));
    // An entry without a node row is dangling: its child is known to be missing.
    for (const auto& w : wanted) {
      auto e = entries_.find(w);
      if (e != entries_.end() && e->second) attrs_.try_emplace(e->second->ino, std::nullopt);
    }
    // The chunk lists of the children (a child without one, e.g. a list cut short, has its
    // chunks listed when asked); a list this transaction already holds stays, since it includes
    // the transaction's own changes.
    for (const auto* w : with_chunks) {
      auto e = entries_.find(*w);
      if (e == entries_.end() || !e->second) continue;
      auto f = fetched_chunks_.find(e->second->ino);
      if (f != fetched_chunks_.end()) chunks_.try_emplace(f->first, std::move(f->second));
    }
    fetched_chunks_.clear();
    return Status::OK();
  }

  // One row of a lookup_plus statement in FetchWanted.
  Status Absorb(Ino parent, const std::string& name, const Row& r) {
    Attr a;
    RowToAttr(r, &a, 0);
    attrs_[parent] = a;
    auto& entry = entries_[EntryKey(parent, name)];
    if (r.IsNull(18)) {
      entry = std::nullopt;
      return Status::OK();
    }
    entry = EntryVal{static_cast<Ino>(r.Int(18)), static_cast<uint8_t>(r.Int(19))};
    if (r.IsNull(20)) {
      attrs_[entry->ino] = std::nullopt;
    } else {
      RowToAttr(r, &a, 21);
      attrs_[entry->ino] = a;
    }
    return Status::OK();
  }

  // The child's chunk columns of a lookup_plus_locked row (39: count, 40: "i;j;k;"), kept only
  // when the list is whole: every value terminated, as many as counted.
  void AbsorbChunks(const Row& r) {
    const int64_t count = r.Int(39);
    const std::string_view list = r.Bytes(40);
    std::set<uint32_t> indices;
    int64_t items = 0;
    uint64_t v = 0;
    bool digits = false;
    for (char ch : list) {
      if (ch == ';' && digits) {
        indices.insert(static_cast<uint32_t>(v));
        items++;
        v = 0;
        digits = false;
      } else if (ch >= '0' && ch <= '9' && v <= UINT32_MAX) {
        v = v * 10 + static_cast<uint64_t>(ch - '0');
        digits = true;
      } else {
        return;  // not a list this statement makes
      }
    }
    if (digits || items != count) return;  // cut short
    fetched_chunks_[static_cast<Ino>(r.Int(20))] = std::move(indices);
  }

  const std::string& Sel(const ReadSql& sql) const { return sql[read_only_ ? 0 : 1]; }

  Status Writable() const {
    return read_only_ ? Status::Invalid("write primitive in a read-only transaction")
                      : Status::OK();
  }

  // Adds `delta` to an existing counter row; *found = false when there is none.
  Status AddToCounter(std::string_view name, int64_t delta, bool* found, int64_t* after) {
    auto read = [&](const Row& r) {
      *found = true;
      *after = r.Int(0);
      return Status::OK();
    };
    if (returning_) {
      return Run(q_.incr_counter_returning, {delta, Param::Text(name)}, read);
    }
    int64_t before = 0;
    JFS_RETURN_IF_ERROR(Run(Sel(q_.get_counter), {Param::Text(name)}, [&](const Row& r) {
      *found = true;
      before = r.Int(0);
      return Status::OK();
    }));
    if (!*found) return Status::OK();
    *after = before + delta;
    return Run(q_.incr_counter, {delta, Param::Text(name)});
  }

  struct EntryVal {
    Ino ino;
    uint8_t type;
  };
  using EntryKey = std::pair<Ino, std::string>;

  const SqlEngine::Statements& q_;
  SqlConn* conn_;
  const bool read_only_;
  const bool single_;     // TxMode::kSingleRead
  const bool returning_;  // the dialect has UPDATE ... RETURNING
  bool escalated_ = false;
  int statements_ = 0;
  // Rows this transaction knows, as they are now including its own writes (nullopt: no such row).
  // Read rows were read as Sel() reads them (locked in write transactions), so answering a later
  // read from here is what the database would answer.
  std::map<Ino, std::optional<Attr>> attrs_;
  std::map<EntryKey, std::optional<EntryVal>> entries_;
  std::vector<std::pair<Ino, std::string>> wanted_;   // Prefetch'ed, not fetched yet
  std::map<Ino, std::set<uint32_t>> chunks_;          // chunk indices of inodes listed
  std::map<Ino, std::set<uint32_t>> fetched_chunks_;  // rows of FetchWanted's chunk lists
};

}  // namespace

SqlEngine::SqlEngine(PrivateTag, std::unique_ptr<SqlDb> db, SqlEngineOptions options)
    : db_(std::move(db)), options_(std::move(options)) {
  sql_ = std::make_unique<const Statements>(db_->dialect(), options_.table_prefix);
}

SqlEngine::~SqlEngine() = default;

Status SqlEngine::Open(std::unique_ptr<SqlDb> db, SqlEngineOptions options,
                       std::unique_ptr<SqlEngine>* out) {
  if (!db) return Status::Invalid("sql: no database");
  const std::string& p = options.table_prefix;
  bool valid = !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
  if (!valid) return Status::Invalid("sql: invalid table prefix '" + p + "'");
  if (options.max_attempts < 1) options.max_attempts = 1;
  *out = std::make_unique<SqlEngine>(PrivateTag{}, std::move(db), std::move(options));
  return Status::OK();
}

std::string SqlEngine::Name() const {
  return db_->dialect().name;
}

Status SqlEngine::InitSchema() {
  const Dialect& d = db_->dialect();
  const std::string& prefix = options_.table_prefix;
  auto create = [&](SqlConn* conn) -> Status {
    for (const TableDef& t : JuiceFsTables()) {
      std::vector<std::string> existing;
      JFS_RETURN_IF_ERROR(conn->ListColumns(prefix + t.name, &existing));
      if (existing.empty()) {
        JFS_RETURN_IF_ERROR(conn->Exec(CreateTableSql(d, prefix, t)));
      } else {
        // A table created by an older client: add the columns it lacks, as xorm's Sync2 does.
        for (const ColumnDef& c : t.cols) {
          if (std::find(existing.begin(), existing.end(), c.name) != existing.end()) continue;
          ColumnDef added = c;
          if (!added.default_value) added.not_null = false;  // existing rows need a value
          JFS_RETURN_IF_ERROR(conn->Exec(AddColumnSql(d, prefix, t, added)));
        }
      }
      for (const IndexDef& idx : t.indexes) {
        JFS_RETURN_IF_ERROR(conn->Exec(CreateIndexSql(d, prefix, t, idx)));
      }
    }
    for (const char* name : {"nextInode", "nextChunk", "nextSession", "usedSpace", "totalInodes",
                             "nextCleanupSlices", "nextTrash"}) {
      Param params[] = {Param::Text(name), InitialCounterValue(name)};
      JFS_RETURN_IF_ERROR(conn->Query(sql_->init_counter, params, {}, nullptr));
    }
    return Status::OK();
  };
  Status st = Retry(create, /*read_only=*/false);
  return st.ok() ? st : st.WithContext("sql: create schema");
}

Status SqlEngine::Reset() {
  const std::string& prefix = options_.table_prefix;
  auto drop = [&](SqlConn* conn) -> Status {
    const auto& tables = JuiceFsTables();
    for (auto it = tables.rbegin(); it != tables.rend(); ++it) {
      JFS_RETURN_IF_ERROR(conn->Exec("DROP TABLE IF EXISTS " + prefix + it->name));
    }
    return Status::OK();
  };
  Status st = Retry(drop, /*read_only=*/false);
  return st.ok() ? st : st.WithContext("sql: reset");
}

namespace {

Status RunBody(const std::function<Status(Tx&)>& fn, Tx& tx) {
  try {
    return fn(tx);
  } catch (const std::exception& e) {
    return Status::IOError(std::string("exception in metadata transaction: ") + e.what());
  } catch (...) {
    return Status::IOError("unknown exception in metadata transaction");
  }
}

}  // namespace

Status SqlEngine::Txn(const std::function<Status(Tx&)>& fn, bool read_only) {
  auto work = [&](SqlConn* conn) -> Status {
    SqlTx tx(*sql_, db_->dialect(), conn, read_only ? TxMode::kRead : TxMode::kWrite);
    return RunBody(fn, tx);
  };
  return Retry(work, read_only);
}

Status SqlEngine::ReadSingle(const std::function<Status(Tx&)>& fn) {
  bool escalated = false;
  auto work = [&](SqlConn* conn) -> Status {
    SqlTx tx(*sql_, db_->dialect(), conn, TxMode::kSingleRead);
    Status st = RunBody(fn, tx);
    // Whatever fn made of the refused statement, its result is void: run it again in a full
    // read-only transaction.
    if (tx.escalated()) {
      escalated = true;
      return Status::Error(EAGAIN, "single read escalated");
    }
    return st;
  };
  Status st = Retry(work, /*read_only=*/true, /*single=*/true);
  if (escalated) return Txn(fn, /*read_only=*/true);
  return st;
}

Status SqlEngine::RunOnce(ConnWork work, bool read_only, bool single) {
  SqlDb::Lease lease;
  JFS_RETURN_IF_ERROR(db_->Acquire(!read_only, &lease));
  Status st = single ? lease->BeginSingleRead() : lease->Begin(!read_only);
  if (st.ok()) {
    st = work(lease.get());
    if (st.ok()) st = lease->Commit();
  }
  if (!st.ok()) (void)lease->Rollback();
  return st;
}

Status SqlEngine::Retry(ConnWork work, bool read_only, bool single) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto start = Clock::now();
  const auto deadline = start + options_.give_up_after;
  Status last;
  int attempt = 0;
  for (;;) {
    Status st = RunOnce(work, read_only, single);
    if (st.ok() || !st.retryable()) return st;
    last = std::move(st);
    if (++attempt >= options_.max_attempts || Clock::now() >= deadline) break;
    // Quadratic backoff with jitter, as JuiceFS does (i*i ms), capped so a waiter keeps polling.
    // The lease (and the writer mutex) is released while sleeping.
    int base_ms = std::min(attempt * attempt, 1000);
    std::uniform_int_distribution<int> jitter(base_ms / 2, base_ms + base_ms / 2 + 1);
    auto pause = std::chrono::milliseconds(jitter(rng));
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    std::this_thread::sleep_for(std::min(pause, std::max(left, std::chrono::milliseconds(0))));
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  return Status::IOError("metadata transaction gave up after " + std::to_string(attempt) +
                         " attempts in " + std::to_string(ms) +
                         " ms; last error: " + last.message());
}

Status NewServerSqlEngine(ServerOpener open, const std::string& url, std::unique_ptr<Engine>* out) {
  std::unique_ptr<SqlDb> db;
  SqlEngineOptions options;
  JFS_RETURN_IF_ERROR(open(url, &db, &options.table_prefix));
  std::unique_ptr<SqlEngine> engine;
  JFS_RETURN_IF_ERROR(SqlEngine::Open(std::move(db), std::move(options), &engine));
  *out = std::move(engine);
  return Status::OK();
}

}  // namespace jfs::meta::sql
