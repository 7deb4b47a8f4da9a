#include "meta/mem_engine.h"

#include <atomic>
#include <cerrno>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

namespace jfs::meta {

// Tables are flat maps keyed by tuples so that a write touches one key and its undo record stays
// small (saving a whole directory per create would make large directories quadratic).
struct MemEngine::Store {
  std::mutex mu;
  std::atomic<std::thread::id> txn_thread{};

  std::map<Ino, Attr> attrs;
  std::map<std::pair<Ino, std::string>, std::pair<Ino, uint8_t>> entries;  // (parent,name)
  std::map<std::pair<Ino, Ino>, int> parents;                              // (ino,parent) → links
  std::map<Ino, std::string> symlinks;
  std::map<std::pair<Ino, uint32_t>, std::string> chunks;
  std::map<std::pair<uint64_t, uint32_t>, int64_t> slice_refs;  // (id,size) → real refcount
  std::map<std::pair<Ino, std::string>, std::string> xattrs;
  std::map<std::string, int64_t> counters;
  std::map<std::pair<uint64_t, Ino>, bool> sustained;
  std::map<Ino, std::pair<uint64_t, int64_t>> delfiles;           // ino → (length, when)
  std::map<std::pair<uint64_t, int64_t>, std::string> delslices;  // (id, deleted) → records
  std::map<uint64_t, std::pair<int64_t, std::string>> sessions;
  // (kind, ino, sid, owner) → "R"/"W" (flock) or packed plock records.
  std::map<std::tuple<int, Ino, uint64_t, uint64_t>, std::string> locks;
  std::map<std::pair<uint8_t, uint64_t>, QuotaRecord> quotas;  // (QuotaKind, key)
  std::map<Ino, DirStat> dir_stats;
  std::optional<std::string> setting;

  // Fault injection.
  uint64_t calls = 0;
  uint64_t fail_at = 0;  // absolute call number that fails; 0 = none
  Status fail_status;
  int force_retries = 0;
};

namespace {

using Undo = std::vector<std::function<void()>>;

// Records how to restore key `k` of `m` to its current state (present with its value, or absent).
template <class M, class K>
void SaveKey(Undo* undo, M& m, const K& k) {
  auto it = m.find(k);
  if (it == m.end()) {
    undo->push_back([&m, k] { m.erase(k); });
  } else {
    undo->push_back([&m, k, v = it->second] { m.insert_or_assign(k, v); });
  }
}

template <class T>
void SaveValue(Undo* undo, T& slot) {
  undo->push_back([&slot, v = slot] { slot = v; });
}

class MemTx : public Tx {
 public:
  MemTx(MemEngine::Store& s, bool read_only) : s_(s), read_only_(read_only) {}

  void Rollback() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
    undo_.clear();
  }

  Status GetAttr(Ino ino, Attr* attr) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.attrs.find(ino);
    if (it == s_.attrs.end()) return Status::NotFound("no attr for inode " + std::to_string(ino));
    *attr = it->second;
    return Status::OK();
  }
  Status PutAttr(Ino ino, const Attr& attr) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.attrs, ino);
    s_.attrs.insert_or_assign(ino, attr);
    return Status::OK();
  }
  Status DeleteAttr(Ino ino) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.attrs, ino);
    s_.attrs.erase(ino);
    return Status::OK();
  }

  Status GetEntry(Ino parent, std::string_view name, Ino* ino, uint8_t* type) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.entries.find({parent, std::string(name)});
    if (it == s_.entries.end()) return Status::NotFound("no entry '" + std::string(name) + "'");
    if (ino) *ino = it->second.first;
    if (type) *type = it->second.second;
    return Status::OK();
  }
  Status PutEntry(Ino parent, std::string_view name, Ino ino, uint8_t type) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(parent, std::string(name));
    SaveKey(&undo_, s_.entries, key);
    s_.entries.insert_or_assign(key, std::make_pair(ino, type));
    return Status::OK();
  }
  Status DeleteEntry(Ino parent, std::string_view name) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(parent, std::string(name));
    SaveKey(&undo_, s_.entries, key);
    s_.entries.erase(key);
    return Status::OK();
  }
  Status HasEntries(Ino parent, bool* any) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.entries.lower_bound({parent, std::string()});
    *any = it != s_.entries.end() && it->first.first == parent;
    return Status::OK();
  }
  // The cursor is the last name returned; names are never empty, so "" can mean "start".
  Status ListEntries(Ino parent, std::string* cursor, size_t limit,
                     std::vector<Entry>* out) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    out->clear();
    auto it = cursor->empty() ? s_.entries.lower_bound({parent, std::string()})
                              : s_.entries.upper_bound({parent, *cursor});
    for (; it != s_.entries.end() && it->first.first == parent && out->size() < limit; ++it) {
      Entry e;
      e.inode = it->second.first;
      e.name = it->first.second;
      e.attr.typ = it->second.second;
      out->push_back(std::move(e));
    }
    bool more = it != s_.entries.end() && it->first.first == parent;
    *cursor = more && !out->empty() ? out->back().name : std::string();
    return Status::OK();
  }

  Status AdjustParent(Ino ino, Ino parent, int delta) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(ino, parent);
    SaveKey(&undo_, s_.parents, key);
    int n = s_.parents[key] + delta;
    if (n <= 0) {
      s_.parents.erase(key);
    } else {
      s_.parents[key] = n;
    }
    return Status::OK();
  }
  Status ListParents(Ino ino, std::map<Ino, int>* parents) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    parents->clear();
    for (auto it = s_.parents.lower_bound({ino, 0});
         it != s_.parents.end() && it->first.first == ino; ++it) {
      (*parents)[it->first.second] = it->second;
    }
    return Status::OK();
  }

  Status GetSymlink(Ino ino, std::string* target) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.symlinks.find(ino);
    if (it == s_.symlinks.end()) return Status::NotFound("no symlink " + std::to_string(ino));
    *target = it->second;
    return Status::OK();
  }
  Status PutSymlink(Ino ino, std::string_view target) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.symlinks, ino);
    s_.symlinks.insert_or_assign(ino, std::string(target));
    return Status::OK();
  }
  Status DeleteSymlink(Ino ino) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.symlinks, ino);
    s_.symlinks.erase(ino);
    return Status::OK();
  }

  Status GetChunk(Ino ino, uint32_t indx, std::string* records) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.chunks.find({ino, indx});
    if (it == s_.chunks.end()) return Status::NotFound("no chunk");
    *records = it->second;
    return Status::OK();
  }
  Status AppendChunk(Ino ino, uint32_t indx, std::string_view records) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(ino, indx);
    SaveKey(&undo_, s_.chunks, key);
    s_.chunks[key].append(records);
    return Status::OK();
  }
  Status PutChunk(Ino ino, uint32_t indx, std::string_view records) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(ino, indx);
    SaveKey(&undo_, s_.chunks, key);
    s_.chunks.insert_or_assign(key, std::string(records));
    return Status::OK();
  }
  Status DeleteChunk(Ino ino, uint32_t indx) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(ino, indx);
    SaveKey(&undo_, s_.chunks, key);
    s_.chunks.erase(key);
    return Status::OK();
  }
  Status ListChunks(Ino ino, std::vector<uint32_t>* indices) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    indices->clear();
    for (auto it = s_.chunks.lower_bound({ino, 0}); it != s_.chunks.end() && it->first.first == ino;
         ++it) {
      indices->push_back(it->first.second);
    }
    return Status::OK();
  }

  Status NewSliceRef(uint64_t id, uint32_t size) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(id, size);
    if (s_.slice_refs.count(key)) {
      return Status::Exists("slice ref " + std::to_string(id) + " already exists");
    }
    SaveKey(&undo_, s_.slice_refs, key);
    s_.slice_refs[key] = 1;
    return Status::OK();
  }
  Status IncrSliceRef(uint64_t id, uint32_t size, int64_t delta, int64_t* refs) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(id, size);
    auto it = s_.slice_refs.find(key);
    if (it == s_.slice_refs.end()) return Status::NotFound("no slice ref " + std::to_string(id));
    SaveKey(&undo_, s_.slice_refs, key);
    it->second += delta;
    if (refs) *refs = it->second;
    return Status::OK();
  }
  Status DeleteSliceRef(uint64_t id, uint32_t size) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(id, size);
    SaveKey(&undo_, s_.slice_refs, key);
    s_.slice_refs.erase(key);
    return Status::OK();
  }

  Status GetXattr(Ino ino, std::string_view name, std::string* value) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.xattrs.find({ino, std::string(name)});
    if (it == s_.xattrs.end()) return Status::Error(ENODATA, "no xattr");
    *value = it->second;
    return Status::OK();
  }
  Status PutXattr(Ino ino, std::string_view name, std::string_view value) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(ino, std::string(name));
    SaveKey(&undo_, s_.xattrs, key);
    s_.xattrs.insert_or_assign(key, std::string(value));
    return Status::OK();
  }
  Status DeleteXattr(Ino ino, std::string_view name) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_pair(ino, std::string(name));
    if (!s_.xattrs.count(key)) return Status::Error(ENODATA, "no xattr");
    SaveKey(&undo_, s_.xattrs, key);
    s_.xattrs.erase(key);
    return Status::OK();
  }
  Status ListXattr(Ino ino, std::vector<std::string>* names) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    names->clear();
    for (auto it = s_.xattrs.lower_bound({ino, std::string()});
         it != s_.xattrs.end() && it->first.first == ino; ++it) {
      names->push_back(it->first.second);
    }
    return Status::OK();
  }
  Status DeleteAllXattr(Ino ino) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto it = s_.xattrs.lower_bound({ino, std::string()});
    while (it != s_.xattrs.end() && it->first.first == ino) {
      SaveKey(&undo_, s_.xattrs, it->first);
      it = s_.xattrs.erase(it);
    }
    return Status::OK();
  }

  Status Alloc(std::string_view counter, uint64_t n, uint64_t* first) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    std::string key(counter);
    SaveKey(&undo_, s_.counters, key);
    int64_t& v = s_.counters[key];
    *first = static_cast<uint64_t>(v);
    v += static_cast<int64_t>(n);
    return Status::OK();
  }
  Status IncrCounter(std::string_view name, int64_t delta, int64_t* value) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    std::string key(name);
    SaveKey(&undo_, s_.counters, key);
    int64_t& v = s_.counters[key];
    v += delta;
    if (value) *value = v;
    return Status::OK();
  }
  Status GetCounter(std::string_view name, int64_t* value) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.counters.find(std::string(name));
    *value = it == s_.counters.end() ? 0 : it->second;
    return Status::OK();
  }

  Status AddSustained(uint64_t sid, Ino ino) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.sustained, std::make_pair(sid, ino));
    s_.sustained[{sid, ino}] = true;
    return Status::OK();
  }
  Status RemoveSustained(uint64_t sid, Ino ino) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.sustained, std::make_pair(sid, ino));
    s_.sustained.erase({sid, ino});
    return Status::OK();
  }
  Status ListSustained(uint64_t sid, std::vector<Ino>* inodes) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    inodes->clear();
    for (auto it = s_.sustained.lower_bound({sid, 0});
         it != s_.sustained.end() && it->first.first == sid; ++it) {
      inodes->push_back(it->first.second);
    }
    return Status::OK();
  }
  Status AddDelFile(Ino ino, uint64_t length, int64_t when) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.delfiles, ino);
    s_.delfiles[ino] = {length, when};
    return Status::OK();
  }
  Status RemoveDelFile(Ino ino) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.delfiles, ino);
    s_.delfiles.erase(ino);
    return Status::OK();
  }
  Status ListDelFiles(std::vector<DelFileRecord>* out) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    out->clear();
    for (const auto& [ino, v] : s_.delfiles) out->push_back({ino, v.first, v.second});
    return Status::OK();
  }
  Status AddDelSlices(uint64_t id, int64_t deleted, std::string_view slices) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.delslices, std::make_pair(id, deleted));
    s_.delslices[{id, deleted}] = std::string(slices);
    return Status::OK();
  }
  Status GetDelSlices(uint64_t id, int64_t deleted, std::string* slices) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.delslices.find({id, deleted});
    if (it == s_.delslices.end())
      return Status::NotFound("no delayed slices " + std::to_string(id));
    *slices = it->second;
    return Status::OK();
  }
  Status RemoveDelSlices(uint64_t id, int64_t deleted) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.delslices, std::make_pair(id, deleted));
    s_.delslices.erase({id, deleted});
    return Status::OK();
  }
  Status ListDelSlices(std::vector<DelSliceRecord>* out) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    out->clear();
    for (const auto& [k, v] : s_.delslices) out->push_back({k.first, k.second, v});
    return Status::OK();
  }

  Status ListLocks(LockKind kind, Ino ino, std::vector<LockRecord>* out) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    out->clear();
    const int k = static_cast<int>(kind);
    for (auto it = s_.locks.lower_bound({k, ino, 0, 0});
         it != s_.locks.end() && std::get<0>(it->first) == k && std::get<1>(it->first) == ino;
         ++it) {
      out->push_back({std::get<2>(it->first), std::get<3>(it->first), it->second});
    }
    return Status::OK();
  }
  Status PutLock(LockKind kind, Ino ino, uint64_t sid, uint64_t owner,
                 std::string_view value) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_tuple(static_cast<int>(kind), ino, sid, owner);
    SaveKey(&undo_, s_.locks, key);
    s_.locks[key] = std::string(value);
    return Status::OK();
  }
  Status DeleteLock(LockKind kind, Ino ino, uint64_t sid, uint64_t owner) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto key = std::make_tuple(static_cast<int>(kind), ino, sid, owner);
    SaveKey(&undo_, s_.locks, key);
    s_.locks.erase(key);
    return Status::OK();
  }
  Status DeleteSessionLocks(uint64_t sid) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    for (auto it = s_.locks.begin(); it != s_.locks.end();) {
      if (std::get<2>(it->first) != sid) {
        ++it;
        continue;
      }
      SaveKey(&undo_, s_.locks, it->first);
      it = s_.locks.erase(it);
    }
    return Status::OK();
  }

  Status PutSession(uint64_t sid, int64_t expire, std::string_view info) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.sessions, sid);
    s_.sessions[sid] = {expire, std::string(info)};
    return Status::OK();
  }
  Status ListSessions(std::vector<SessionRecord>* out) override {
    out->clear();
    JFS_RETURN_IF_ERROR(Enter(false));
    for (const auto& [sid, v] : s_.sessions) out->push_back({sid, v.first, v.second});
    return Status::OK();
  }
  Status DeleteSession(uint64_t sid) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.sessions, sid);
    s_.sessions.erase(sid);
    return Status::OK();
  }

  Status PutQuota(QuotaKind kind, uint64_t key, const QuotaRecord& q) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto k = std::make_pair(static_cast<uint8_t>(kind), key);
    SaveKey(&undo_, s_.quotas, k);
    s_.quotas[k] = q;
    return Status::OK();
  }
  Status ListQuotas(QuotaKind kind, std::map<uint64_t, QuotaRecord>* out) override {
    out->clear();
    JFS_RETURN_IF_ERROR(Enter(false));
    for (const auto& [k, q] : s_.quotas) {
      if (k.first == static_cast<uint8_t>(kind)) (*out)[k.second] = q;
    }
    return Status::OK();
  }
  Status GetQuota(QuotaKind kind, uint64_t key, QuotaRecord* q) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.quotas.find({static_cast<uint8_t>(kind), key});
    if (it == s_.quotas.end()) return Status::NotFound("no quota for " + std::to_string(key));
    *q = it->second;
    return Status::OK();
  }
  Status IncrQuotaUsed(QuotaKind kind, uint64_t key, int64_t space, int64_t inodes) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto k = std::make_pair(static_cast<uint8_t>(kind), key);
    auto it = s_.quotas.find(k);
    if (it == s_.quotas.end()) return Status::OK();
    SaveKey(&undo_, s_.quotas, k);
    it->second.used_space += space;
    it->second.used_inodes += inodes;
    return Status::OK();
  }
  Status DeleteQuota(QuotaKind kind, uint64_t key) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto k = std::make_pair(static_cast<uint8_t>(kind), key);
    SaveKey(&undo_, s_.quotas, k);
    s_.quotas.erase(k);
    return Status::OK();
  }

  Status GetDirStat(Ino dir, DirStat* st) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    auto it = s_.dir_stats.find(dir);
    if (it == s_.dir_stats.end())
      return Status::NotFound("no statistics for " + std::to_string(dir));
    *st = it->second;
    return Status::OK();
  }
  Status PutDirStat(Ino dir, const DirStat& st) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.dir_stats, dir);
    s_.dir_stats[dir] = st;
    return Status::OK();
  }
  Status IncrDirStat(Ino dir, const DirStat& d, bool* found) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    auto it = s_.dir_stats.find(dir);
    *found = it != s_.dir_stats.end();
    if (!*found) return Status::OK();
    SaveKey(&undo_, s_.dir_stats, dir);
    it->second.length += d.length;
    it->second.space += d.space;
    it->second.inodes += d.inodes;
    return Status::OK();
  }
  Status DeleteDirStat(Ino dir) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveKey(&undo_, s_.dir_stats, dir);
    s_.dir_stats.erase(dir);
    return Status::OK();
  }

  Status GetSetting(std::string* json) override {
    JFS_RETURN_IF_ERROR(Enter(false));
    if (!s_.setting) return Status::NotFound("database is not formatted");
    *json = *s_.setting;
    return Status::OK();
  }
  Status PutSetting(std::string_view json) override {
    JFS_RETURN_IF_ERROR(Enter(true));
    SaveValue(&undo_, s_.setting);
    s_.setting = std::string(json);
    return Status::OK();
  }

 private:
  // Counts the call, applies an injected failure, and refuses writes in read-only transactions.
  Status Enter(bool write) {
    ++s_.calls;
    if (s_.fail_at != 0 && s_.calls == s_.fail_at) {
      s_.fail_at = 0;
      return s_.fail_status;
    }
    if (write && read_only_) return Status::IOError("write in a read-only transaction");
    return Status::OK();
  }

  MemEngine::Store& s_;
  bool read_only_;
  Undo undo_;
};

std::string AttrText(const Attr& a) {
  std::ostringstream o;
  o << "flags=" << int(a.flags) << " typ=" << int(a.typ) << " mode=" << std::oct << a.mode
    << std::dec << " uid=" << a.uid << " gid=" << a.gid << " atime=" << a.atime << "."
    << a.atimensec << " mtime=" << a.mtime << "." << a.mtimensec << " ctime=" << a.ctime << "."
    << a.ctimensec << " nlink=" << a.nlink << " length=" << a.length << " rdev=" << a.rdev
    << " parent=" << a.parent << " acl=" << a.access_acl << "/" << a.default_acl
    << " tier=" << int(a.tier);
  return o.str();
}

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

MemEngine::MemEngine() : store_(std::make_shared<Store>()) {}
MemEngine::MemEngine(std::shared_ptr<Store> store) : store_(std::move(store)) {}
MemEngine::~MemEngine() = default;

std::unique_ptr<MemEngine> MemEngine::NewClient() const {
  return std::unique_ptr<MemEngine>(new MemEngine(store_));
}

Status MemEngine::InitSchema() {
  std::lock_guard<std::mutex> l(store_->mu);
  // Initial values as the SQL engines write them (format.md §3.3).
  for (auto [name, value] : {std::pair<const char*, int64_t>{"nextInode", 2},
                             {"nextChunk", 1},
                             {"nextSession", 0},
                             {"usedSpace", 0},
                             {"totalInodes", 0},
                             {"nextCleanupSlices", 0},
                             {"nextTrash", 0}}) {
    store_->counters.emplace(name, value);
  }
  return Status::OK();
}

Status MemEngine::Reset() {
  std::lock_guard<std::mutex> l(store_->mu);
  Store& s = *store_;
  s.attrs.clear();
  s.entries.clear();
  s.parents.clear();
  s.symlinks.clear();
  s.chunks.clear();
  s.slice_refs.clear();
  s.xattrs.clear();
  s.counters.clear();
  s.sustained.clear();
  s.delfiles.clear();
  s.sessions.clear();
  s.locks.clear();
  s.quotas.clear();
  s.dir_stats.clear();
  s.setting.reset();
  return Status::OK();
}

Status MemEngine::Txn(const std::function<Status(Tx&)>& fn, bool read_only) {
  if (store_->txn_thread.load() == std::this_thread::get_id()) {
    return Status::Error(EDEADLK, "nested transaction on the memory engine");
  }
  std::lock_guard<std::mutex> l(store_->mu);
  store_->txn_thread.store(std::this_thread::get_id());
  bool retried = false;
  Status st;
  for (;;) {
    MemTx tx(*store_, read_only);
    st = fn(tx);
    if (!st.ok()) {
      tx.Rollback();
      break;
    }
    if (!read_only && !retried && store_->force_retries > 0) {
      --store_->force_retries;
      retried = true;
      tx.Rollback();
      continue;
    }
    break;
  }
  store_->txn_thread.store(std::thread::id());
  return st;
}

void MemEngine::FailTxCall(uint64_t n, Status st) {
  std::lock_guard<std::mutex> l(store_->mu);
  store_->fail_at = n == 0 ? 0 : store_->calls + n;
  store_->fail_status = std::move(st);
}

void MemEngine::ForceRetries(int k) {
  std::lock_guard<std::mutex> l(store_->mu);
  store_->force_retries = k;
}

uint64_t MemEngine::TxCalls() const {
  std::lock_guard<std::mutex> l(store_->mu);
  return store_->calls;
}

std::string MemEngine::Dump() const {
  std::lock_guard<std::mutex> l(store_->mu);
  const Store& s = *store_;
  std::ostringstream o;
  for (const auto& [ino, a] : s.attrs) o << "attr " << ino << " " << AttrText(a) << "\n";
  for (const auto& [k, v] : s.entries) {
    o << "entry " << k.first << "/" << Hex(k.second) << " -> " << v.first << " t" << int(v.second)
      << "\n";
  }
  for (const auto& [k, v] : s.parents)
    o << "parent " << k.first << " " << k.second << "=" << v << "\n";
  for (const auto& [k, v] : s.symlinks) o << "symlink " << k << " " << Hex(v) << "\n";
  for (const auto& [k, v] : s.chunks)
    o << "chunk " << k.first << "," << k.second << " " << Hex(v) << "\n";
  for (const auto& [k, v] : s.slice_refs)
    o << "ref " << k.first << "_" << k.second << "=" << v << "\n";
  for (const auto& [k, v] : s.xattrs) {
    o << "xattr " << k.first << " " << Hex(k.second) << "=" << Hex(v) << "\n";
  }
  for (const auto& [k, v] : s.counters) o << "counter " << k << "=" << v << "\n";
  for (const auto& [k, v] : s.sustained) o << "sustained " << k.first << " " << k.second << "\n";
  for (const auto& [k, v] : s.delfiles) o << "delfile " << k << " " << v.first << "\n";
  for (const auto& [k, v] : s.sessions)
    o << "session " << k << " " << v.first << " " << v.second << "\n";
  for (const auto& [k, v] : s.locks) {
    o << "lock " << std::get<0>(k) << " " << std::get<1>(k) << " " << std::get<2>(k) << " "
      << std::get<3>(k) << " " << Hex(v) << "\n";
  }
  if (s.setting) o << "setting " << *s.setting << "\n";
  return o.str();
}

}  // namespace jfs::meta
