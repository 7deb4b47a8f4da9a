#include "meta/redis/redis_engine.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "meta/codec.h"

namespace jfs::meta::redis {

namespace {

std::string Dec(uint64_t v) {
  return std::to_string(v);
}

bool ParseI64(std::string_view s, int64_t* out) {
  if (s.empty() || s.size() > 20) return false;
  bool neg = s[0] == '-';
  size_t i = neg ? 1 : 0;
  if (i == s.size()) return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t next = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  if (v > static_cast<uint64_t>(INT64_MAX) + (neg ? 1 : 0)) return false;
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

std::string_view Str(const redisReply* r) {
  return std::string_view(r->str, r->len);
}

// JuiceFS's Redis counter names (format.md §2.2): the three id counters are lower-case.
std::string CounterName(std::string_view name) {
  if (name == "nextInode") return "nextinode";
  if (name == "nextChunk") return "nextchunk";
  if (name == "nextSession") return "nextsession";
  return std::string(name);
}

// Counters holding the last used id rather than the next free one (format.md §2.5).
bool LastUsedCounter(std::string_view redis_name) {
  return redis_name == "nextinode" || redis_name == "nextchunk";
}

Status WrongType(std::string_view key, const redisReply* r) {
  return Status::IOError("Redis key '" + std::string(key) +
                         "' has an unexpected type (reply type " + std::to_string(r->type) +
                         "); is this a JuiceFS database?");
}

// Lookup in one round trip for read-only transactions: the parent's attr, the entry, and the
// attr of the inode it names (JuiceFS's Redis engine uses a similar script). KEYS: i{parent},
// d{parent}; ARGV: name, key prefix. Returns {attr|nil, entry|nil, child attr|nil, fetched}.
// Inodes of 2^48 and above (the trash) are left to a separate GET: Lua numbers are doubles.
constexpr const char* kLookupScript = R"lua(
local a = redis.call('GET', KEYS[1])
local e = redis.call('HGET', KEYS[2], ARGV[1])
if e and string.len(e) == 9 and string.byte(e, 2) == 0 and string.byte(e, 3) == 0 then
  local ino = 0
  for i = 4, 9 do ino = ino * 256 + string.byte(e, i) end
  return {a, e, redis.call('GET', ARGV[2] .. 'i' .. string.format('%d', ino)), 1}
end
return {a, e, false, 0}
)lua";

// Buffers of the readdir fast path (RedisTx::ListFlat), kept per thread so that listing a
// directory again reuses them instead of allocating (and faulting in) fresh memory each time.
struct Scratch {
  // replies[1] holds a prefetched HGETALL while RedisTx::listed_ says so and `fills` is still
  // what it was then.
  std::vector<FlatReply> replies;
  uint64_t fills = 0;  // times `replies` was filled
  // An entry and the first 8 bytes of its name as a big-endian number: most comparisons
  // of the sort end there, without a memcmp call.
  struct Named {
    uint64_t head;
    std::string_view name, value;
    bool operator<(const Named& o) const { return head != o.head ? head < o.head : name < o.name; }
  };
  std::vector<Named> all;
  // Buffers sized for a huge directory are not kept for the rest of the thread's life.
  void Trim() {
    constexpr size_t kKeep = 1 << 20;
    for (FlatReply& f : replies) {
      if (f.data.capacity() > kKeep || f.items.capacity() > kKeep / sizeof(FlatReply::Item)) {
        f = FlatReply();
      }
    }
    if (all.capacity() > kKeep / sizeof(all[0])) all = {};
  }
};

Scratch& TlsScratch() {
  thread_local Scratch s;
  return s;
}

class RedisTx : public Tx {
 public:
  RedisTx(RedisEngine& e, Conn& conn, bool read_only)
      : e_(e), c_(e.client()), conn_(conn), ro_(read_only) {}

  // ---- nodes ----
  Status GetAttr(Ino ino, Attr* attr) override {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(GetStr(AttrKey(ino), &v));
    if (!v) return Status::NotFound("no attr for inode " + Dec(ino));
    JFS_RETURN_IF_ERROR(DecodeAttr(*v, attr));
    NoteLength(ino, attr->length);
    return Status::OK();
  }
  Status PutAttr(Ino ino, const Attr& attr) override {
    JFS_RETURN_IF_ERROR(Writable());
    NoteLength(ino, attr.length);
    SetStr(AttrKey(ino), EncodeAttr(attr));
    return Status::OK();
  }
  Status DeleteAttr(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    DelStr(AttrKey(ino));
    return Status::OK();
  }

  // ---- entries ----
  Status GetEntry(Ino parent, std::string_view name, Ino* ino, uint8_t* type) override {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(EntryKey(parent), std::string(name), &v));
    if (!v) return Status::NotFound("no entry '" + std::string(name) + "'");
    uint8_t t = 0;
    Ino i = 0;
    JFS_RETURN_IF_ERROR(DecodeEntry(*v, &t, &i));
    if (ino) *ino = i;
    if (type) *type = t;
    return Status::OK();
  }
  Status PutEntry(Ino parent, std::string_view name, Ino ino, uint8_t type) override {
    JFS_RETURN_IF_ERROR(Writable());
    HSet(EntryKey(parent), std::string(name), EncodeEntry(type, ino));
    return Status::OK();
  }
  Status DeleteEntry(Ino parent, std::string_view name) override {
    JFS_RETURN_IF_ERROR(Writable());
    HDel(EntryKey(parent), std::string(name));
    return Status::OK();
  }
  Status HasEntries(Ino parent, bool* any) override {
    const std::string key = EntryKey(parent);
    std::vector<std::string> deleted;
    if (auto h = hashes_.find(key); h != hashes_.end()) {
      for (const auto& [f, v] : h->second.f) {
        if (v) {
          *any = true;
          return Status::OK();
        }
        deleted.push_back(f);
      }
      if (h->second.cleared) {
        *any = false;
        return Status::OK();
      }
    }
    std::vector<Cmd> cmds{{"HLEN", key}};
    if (!deleted.empty()) {
      Cmd hm{"HMGET", key};
      hm.insert(hm.end(), deleted.begin(), deleted.end());
      cmds.push_back(std::move(hm));
    }
    std::vector<Reply> rs;
    JFS_RETURN_IF_ERROR(Read(key, std::move(cmds), &rs));
    if (rs[0]->type != REDIS_REPLY_INTEGER) return WrongType(key, rs[0].get());
    long long n = rs[0]->integer;
    if (rs.size() > 1) {
      for (size_t i = 0; i < rs[1]->elements; ++i) {
        if (rs[1]->element[i]->type != REDIS_REPLY_NIL) --n;
      }
    }
    *any = n > 0;
    return Status::OK();
  }
  Status ListEntries(Ino parent, std::string* cursor, size_t limit,
                     std::vector<Entry>* out) override {
    bool done = false;
    JFS_RETURN_IF_ERROR(ListFlat(parent, cursor, limit, false, out, &done));
    if (done) return Status::OK();
    out->clear();
    const std::string key = EntryKey(parent);
    std::map<std::string, std::string> all;
    JFS_RETURN_IF_ERROR(HGetAll(key, &all));
    auto it = cursor->empty() ? all.begin() : all.upper_bound(*cursor);
    for (; it != all.end() && out->size() < limit; ++it) {
      Entry e;
      e.name = it->first;
      JFS_RETURN_IF_ERROR(DecodeEntry(it->second, &e.attr.typ, &e.inode));
      out->push_back(std::move(e));
    }
    *cursor = it != all.end() && !out->empty() ? out->back().name : std::string();
    return Status::OK();
  }
  Status ListEntriesPlus(Ino parent, std::string* cursor, size_t limit,
                         std::vector<Entry>* out) override {
    bool done = false;
    JFS_RETURN_IF_ERROR(ListFlat(parent, cursor, limit, true, out, &done));
    if (done) return Status::OK();
    return Tx::ListEntriesPlus(parent, cursor, limit, out);
  }
  Status GetAttrs(const std::vector<Ino>& inos, std::vector<Attr>* attrs,
                  std::vector<bool>* found) override {
    attrs->assign(inos.size(), Attr());
    found->assign(inos.size(), false);
    // Overlay answers first; the rest in one MGET (read-only transactions: no WATCH needed; in a
    // write transaction each key is watched in the same round trip).
    Cmd mget{"MGET"};
    std::vector<size_t> pos;
    for (size_t i = 0; i < inos.size(); ++i) {
      std::string key = AttrKey(inos[i]);
      if (auto s = strs_.find(key); s != strs_.end()) {
        if (s->second) {
          JFS_RETURN_IF_ERROR(DecodeAttr(*s->second, &(*attrs)[i]));
          (*found)[i] = true;
        }
        continue;
      }
      mget.push_back(std::move(key));
      pos.push_back(i);
    }
    if (pos.empty()) return Status::OK();
    std::vector<Cmd> cmds;
    if (!ro_) {
      Cmd watch{"WATCH"};
      watch.insert(watch.end(), mget.begin() + 1, mget.end());
      cmds.push_back(std::move(watch));
      for (size_t i = 1; i < mget.size(); ++i) watched_.insert(mget[i]);
      conn_.dirty = true;
    }
    const size_t nkeys = mget.size() - 1;
    cmds.push_back(std::move(mget));
    std::vector<Reply> rs;
    std::vector<const redisReply*> vals;
    Status st = Send(cmds, &rs);
    if (!st.ok() && ro_ && c_.cluster() && redirect_ != Redirect::kNone) {
      // The keys are split between two nodes by a slot migration (TRYAGAIN): one GET each, each
      // following ASK on its own.
      std::vector<Cmd> gets;
      for (size_t i = 1; i <= nkeys; ++i) gets.push_back({"GET", cmds.back()[i]});
      cmds = std::move(gets);
      JFS_RETURN_IF_ERROR(Send(cmds, &rs));
      for (const Reply& g : rs) vals.push_back(g.get());
    } else {
      JFS_RETURN_IF_ERROR(st);
      const redisReply* r = rs.back().get();
      if (r->type != REDIS_REPLY_ARRAY || r->elements != nkeys) return WrongType("MGET", r);
      for (size_t j = 0; j < r->elements; ++j) vals.push_back(r->element[j]);
    }
    for (size_t j = 0; j < pos.size(); ++j) {
      const redisReply* v = vals[j];
      if (v->type == REDIS_REPLY_NIL) continue;
      if (v->type != REDIS_REPLY_STRING) return WrongType(AttrKey(inos[pos[j]]), v);
      JFS_RETURN_IF_ERROR(DecodeAttr(Str(v), &(*attrs)[pos[j]]));
      (*found)[pos[j]] = true;
    }
    return Status::OK();
  }

  // Queued, and sent with the next read that reaches the server (so that rename's two prefetches
  // share one round trip).
  Status Prefetch(Ino parent, std::string_view name) override {
    pending_.emplace_back(parent, std::string(name));
    return Status::OK();
  }
  // Read-only: GET i{dir} and HGETALL d{dir} go together with the next read (GetDir's).
  Status PrefetchEntries(Ino dir) override {
    if (ro_) pending_list_ = dir;
    return Status::OK();
  }

  // ---- hard-link parents ----
  Status AdjustParent(Ino ino, Ino parent, int delta) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = ParentKey(ino), field = Dec(parent);
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(key, field, &v));
    int64_t n = 0;
    if (v && !ParseI64(*v, &n)) return Status::IOError("bad link count in " + key);
    n += delta;
    if (n <= 0) {
      HDel(key, field);
    } else {
      HSet(key, field, std::to_string(n));
    }
    return Status::OK();
  }
  Status ListParents(Ino ino, std::map<Ino, int>* parents) override {
    parents->clear();
    std::map<std::string, std::string> all;
    JFS_RETURN_IF_ERROR(HGetAll(ParentKey(ino), &all));
    for (const auto& [f, v] : all) {
      int64_t p = 0, n = 0;
      if (!ParseI64(f, &p) || !ParseI64(v, &n)) {
        return Status::IOError("bad parent record in " + ParentKey(ino));
      }
      if (n > 0) (*parents)[static_cast<Ino>(p)] = static_cast<int>(n);
    }
    return Status::OK();
  }

  // ---- symlinks ----
  Status GetSymlink(Ino ino, std::string* target) override {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(GetStr(SymKey(ino), &v));
    if (!v) return Status::NotFound("no symlink " + Dec(ino));
    *target = std::move(*v);
    return Status::OK();
  }
  Status PutSymlink(Ino ino, std::string_view target) override {
    JFS_RETURN_IF_ERROR(Writable());
    SetStr(SymKey(ino), std::string(target));
    return Status::OK();
  }
  Status DeleteSymlink(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    DelStr(SymKey(ino));
    return Status::OK();
  }

  // ---- chunks ----
  Status GetChunk(Ino ino, uint32_t indx, std::string* records) override {
    const std::string key = ChunkKey(ino, indx);
    std::string data;
    if (auto l = lists_.find(key); l == lists_.end() || !l->second.replaced) {
      Reply r;
      JFS_RETURN_IF_ERROR(Read(key, {"LRANGE", key, "0", "-1"}, &r));
      if (r->type != REDIS_REPLY_ARRAY) return WrongType(key, r.get());
      for (size_t i = 0; i < r->elements; ++i) {
        if (r->element[i]->type != REDIS_REPLY_STRING) return WrongType(key, r->element[i]);
        data.append(Str(r->element[i]));
      }
    }
    if (auto l = lists_.find(key); l != lists_.end()) data.append(l->second.data);
    if (data.empty()) return Status::NotFound("no chunk " + key);
    *records = std::move(data);
    return Status::OK();
  }
  Status AppendChunk(Ino ino, uint32_t indx, std::string_view records) override {
    JFS_RETURN_IF_ERROR(Writable());
    if (records.empty()) return Status::OK();
    const std::string key = ChunkKey(ino, indx);
    Cmd push;
    JFS_RETURN_IF_ERROR(PushCmd(key, records, &push));
    lists_[key].data.append(records);
    NoteChunk(ino, indx);
    writes_.push_back(std::move(push));
    return Status::OK();
  }
  Status PutChunk(Ino ino, uint32_t indx, std::string_view records) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = ChunkKey(ino, indx);
    Cmd push;
    if (!records.empty()) JFS_RETURN_IF_ERROR(PushCmd(key, records, &push));
    lists_[key] = ListOv{true, std::string(records)};
    NoteChunk(ino, indx);
    writes_.push_back({"DEL", key});
    if (!records.empty()) writes_.push_back(std::move(push));
    return Status::OK();
  }
  Status DeleteChunk(Ino ino, uint32_t indx) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = ChunkKey(ino, indx);
    lists_[key] = ListOv{true, std::string()};
    writes_.push_back({"DEL", key});
    return Status::OK();
  }
  Status ListChunksBelow(Ino ino, uint64_t length, std::vector<uint32_t>* indices) override {
    NoteLength(ino, length);
    return ListChunks(ino, indices);
  }
  // Redis has no index of a file's chunks; like JuiceFS, the candidates are the indices below the
  // file's length (the largest this transaction saw), checked with EXISTS in one round trip.
  Status ListChunks(Ino ino, std::vector<uint32_t>* indices) override {
    indices->clear();
    uint64_t length = 0;
    if (auto it = lengths_.find(ino); it != lengths_.end()) {
      length = it->second;
    } else {
      Attr a;
      Status st = GetAttr(ino, &a);
      if (!st.ok() && !st.IsNotFound()) return st;
      if (st.ok()) length = a.length;
    }
    const uint64_t n = std::min<uint64_t>((length + kChunkSize - 1) / kChunkSize, 1ULL << 32);
    std::set<uint32_t> result;
    for (uint64_t base = 0; base < n; base += 1024) {
      std::vector<Cmd> cmds;
      for (uint64_t i = base; i < std::min(n, base + 1024); ++i) {
        cmds.push_back({"EXISTS", ChunkKey(ino, static_cast<uint32_t>(i))});
      }
      std::vector<Reply> rs;
      JFS_RETURN_IF_ERROR(Send(cmds, &rs));
      for (size_t j = 0; j < rs.size(); ++j) {
        if (rs[j]->type == REDIS_REPLY_INTEGER && rs[j]->integer > 0) {
          result.insert(static_cast<uint32_t>(base + j));
        }
      }
    }
    if (auto it = chunks_.find(ino); it != chunks_.end()) {
      result.insert(it->second.begin(), it->second.end());
    }
    // Apply this transaction's replacements/deletions.
    for (auto it = result.begin(); it != result.end();) {
      auto l = lists_.find(ChunkKey(ino, *it));
      if (l != lists_.end() && l->second.replaced && l->second.data.empty()) {
        it = result.erase(it);
      } else {
        ++it;
      }
    }
    indices->assign(result.begin(), result.end());
    return Status::OK();
  }

  // ---- slice references: sliceRef k{id}_{size} = refs − 1, missing = 1 ----
  Status NewSliceRef(uint64_t, uint32_t) override {
    // A fresh slice has refcount 1, which Redis stores as "no field" (format.md §2.5).
    return Writable();
  }
  Status IncrSliceRef(uint64_t id, uint32_t size, int64_t delta, int64_t* refs) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = e_.Key("sliceRef"), field = SliceField(id, size);
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(key, field, &v));
    int64_t stored = 0;
    if (v && !ParseI64(*v, &stored)) return Status::IOError("bad sliceRef value for " + field);
    stored += delta;
    if (stored == 0) {
      HDel(key, field);
    } else {
      HSet(key, field, std::to_string(stored));
    }
    if (refs) *refs = stored + 1;
    return Status::OK();
  }
  Status DeleteSliceRef(uint64_t id, uint32_t size) override {
    JFS_RETURN_IF_ERROR(Writable());
    HDel(e_.Key("sliceRef"), SliceField(id, size));
    return Status::OK();
  }

  // ---- xattrs ----
  Status GetXattr(Ino ino, std::string_view name, std::string* value) override {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(XattrKey(ino), std::string(name), &v));
    if (!v) return Status::Error(ENODATA, "no xattr");
    *value = std::move(*v);
    return Status::OK();
  }
  Status PutXattr(Ino ino, std::string_view name, std::string_view value) override {
    JFS_RETURN_IF_ERROR(Writable());
    HSet(XattrKey(ino), std::string(name), std::string(value));
    return Status::OK();
  }
  Status DeleteXattr(Ino ino, std::string_view name) override {
    JFS_RETURN_IF_ERROR(Writable());
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(XattrKey(ino), std::string(name), &v));
    if (!v) return Status::Error(ENODATA, "no xattr");
    HDel(XattrKey(ino), std::string(name));
    return Status::OK();
  }
  Status ListXattr(Ino ino, std::vector<std::string>* names) override {
    names->clear();
    std::map<std::string, std::string> all;
    JFS_RETURN_IF_ERROR(HGetAll(XattrKey(ino), &all));
    for (auto& [k, v] : all) names->push_back(k);
    return Status::OK();
  }
  Status DeleteAllXattr(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = XattrKey(ino);
    hashes_[key] = HashOv{true, {}};
    writes_.push_back({"DEL", key});
    return Status::OK();
  }

  // ---- counters ----
  Status Alloc(std::string_view counter, uint64_t n, uint64_t* first) override {
    JFS_RETURN_IF_ERROR(Writable());
    // Sent at once, outside MULTI, as JuiceFS does: a rerun or failed transaction only wastes ids.
    const std::string key = e_.Key(CounterName(counter));
    std::vector<Reply> rs;
    JFS_RETURN_IF_ERROR(Send({{"INCRBY", key, std::to_string(n)}}, &rs));
    if (rs[0]->type != REDIS_REPLY_INTEGER) return WrongType(key, rs[0].get());
    // Every Redis counter holds the last used value: the new range ends at the reply.
    *first = static_cast<uint64_t>(rs[0]->integer) - n + 1;
    return Status::OK();
  }
  Status IncrCounter(std::string_view name, int64_t delta, int64_t* value) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = e_.Key(CounterName(name));
    if (!value && !strs_.count(key)) {
      incr_[key] += delta;  // blind: no read, no WATCH, no conflict with other clients
      writes_.push_back({"INCRBY", key, std::to_string(delta)});
      return Status::OK();
    }
    int64_t cur = 0;
    JFS_RETURN_IF_ERROR(CounterValue(key, &cur));
    cur += delta;
    SetStr(key, std::to_string(cur));
    if (value) *value = cur;
    return Status::OK();
  }
  Status GetCounter(std::string_view name, int64_t* value) override {
    const std::string redis_name = CounterName(name);
    int64_t v = 0;
    JFS_RETURN_IF_ERROR(CounterValue(e_.Key(redis_name), &v));
    *value = LastUsedCounter(redis_name) ? v + 1 : v;
    return Status::OK();
  }

  // ---- sessions ----
  Status AddSustained(uint64_t sid, Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = e_.Key("session" + Dec(sid));
    sets_[key][Dec(ino)] = true;
    writes_.push_back({"SADD", key, Dec(ino)});
    return Status::OK();
  }
  Status RemoveSustained(uint64_t sid, Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = e_.Key("session" + Dec(sid));
    sets_[key][Dec(ino)] = false;
    writes_.push_back({"SREM", key, Dec(ino)});
    return Status::OK();
  }
  Status ListSustained(uint64_t sid, std::vector<Ino>* inodes) override {
    inodes->clear();
    const std::string key = e_.Key("session" + Dec(sid));
    Reply r;
    JFS_RETURN_IF_ERROR(Read(key, {"SMEMBERS", key}, &r));
    if (r->type != REDIS_REPLY_ARRAY) return WrongType(key, r.get());
    std::map<std::string, bool> members;
    for (size_t i = 0; i < r->elements; ++i) members[std::string(Str(r->element[i]))] = true;
    if (auto s = sets_.find(key); s != sets_.end()) {
      for (const auto& [m, present] : s->second) members[m] = present;
    }
    for (const auto& [m, present] : members) {
      int64_t ino = 0;
      if (!present) continue;
      if (!ParseI64(m, &ino)) return Status::IOError("bad inode in " + key);
      inodes->push_back(static_cast<Ino>(ino));
    }
    return Status::OK();
  }
  Status AddDelFile(Ino ino, uint64_t length, int64_t when) override {
    JFS_RETURN_IF_ERROR(Writable());
    writes_.push_back(
        {"ZADD", e_.Key("delfiles"), std::to_string(when), Dec(ino) + ":" + Dec(length)});
    return Status::OK();
  }
  Status RemoveDelFile(Ino ino) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = e_.Key("delfiles");
    Reply r;
    JFS_RETURN_IF_ERROR(Read(key, {"ZRANGE", key, "0", "-1"}, &r));
    if (r->type != REDIS_REPLY_ARRAY) return WrongType(key, r.get());
    const std::string prefix = Dec(ino) + ":";
    for (size_t i = 0; i < r->elements; ++i) {
      std::string m(Str(r->element[i]));
      if (m.compare(0, prefix.size(), prefix) == 0) writes_.push_back({"ZREM", key, m});
    }
    return Status::OK();
  }
  Status ListDelFiles(std::vector<DelFileRecord>* out) override {
    out->clear();
    const std::string key = e_.Key("delfiles");
    Reply r;
    JFS_RETURN_IF_ERROR(Read(key, {"ZRANGE", key, "0", "-1", "WITHSCORES"}, &r));
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) return WrongType(key, r.get());
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
      std::string m(Str(r->element[i]));
      const size_t colon = m.find(':');
      int64_t ino = 0, length = 0, when = 0;
      if (colon == std::string::npos || !ParseI64(m.substr(0, colon), &ino) ||
          !ParseI64(m.substr(colon + 1), &length) || !ParseI64(Str(r->element[i + 1]), &when)) {
        return Status::IOError("bad member in " + key);
      }
      out->push_back({static_cast<Ino>(ino), static_cast<uint64_t>(length), when});
    }
    std::sort(out->begin(), out->end(),
              [](const DelFileRecord& a, const DelFileRecord& b) { return a.inode < b.inode; });
    return Status::OK();
  }

  // delSlices: field "{id}_{deleted}" → 12-byte records (format.md §2.1).
  Status AddDelSlices(uint64_t id, int64_t deleted, std::string_view slices) override {
    JFS_RETURN_IF_ERROR(Writable());
    HSet(e_.Key("delSlices"), Dec(id) + "_" + std::to_string(deleted), std::string(slices));
    return Status::OK();
  }
  Status GetDelSlices(uint64_t id, int64_t deleted, std::string* slices) override {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(e_.Key("delSlices"), Dec(id) + "_" + std::to_string(deleted), &v));
    if (!v) return Status::NotFound("no delayed slices " + Dec(id));
    *slices = std::move(*v);
    return Status::OK();
  }
  Status RemoveDelSlices(uint64_t id, int64_t deleted) override {
    JFS_RETURN_IF_ERROR(Writable());
    HDel(e_.Key("delSlices"), Dec(id) + "_" + std::to_string(deleted));
    return Status::OK();
  }
  Status ListDelSlices(std::vector<DelSliceRecord>* out) override {
    out->clear();
    const std::string key = e_.Key("delSlices");
    std::map<std::string, std::string> all;
    JFS_RETURN_IF_ERROR(HGetAll(key, &all));
    for (auto& [field, value] : all) {
      const size_t us = field.find('_');
      int64_t id = 0, deleted = 0;
      if (us == std::string::npos || !ParseI64(field.substr(0, us), &id) ||
          !ParseI64(field.substr(us + 1), &deleted)) {
        return Status::IOError("bad field in " + key);
      }
      out->push_back({static_cast<uint64_t>(id), deleted, std::move(value)});
    }
    std::sort(out->begin(), out->end(), [](const DelSliceRecord& a, const DelSliceRecord& b) {
      return a.id != b.id ? a.id < b.id : a.deleted < b.deleted;
    });
    return Status::OK();
  }

  // ---- ACLs and quotas (format.md §2.2, §2.4; stored, not enforced yet) ----
  Status GetAcl(uint32_t id, AclRule* rule) override {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(e_.Key("acl"), Dec(id), &v));
    if (!v) return Status::NotFound("no ACL rule " + Dec(id));
    const std::string& b = *v;
    size_t p = 0;
    auto u = [&](int n, uint32_t* out) {
      if (p + n > b.size()) return false;
      *out = 0;
      for (int i = 0; i < n; ++i) *out = *out << 8 | static_cast<uint8_t>(b[p++]);
      return true;
    };
    uint32_t f[4], n = 0;
    for (uint32_t& x : f) {
      if (!u(2, &x)) return Status::Corruption("corrupted ACL rule " + Dec(id));
    }
    rule->owner = static_cast<uint16_t>(f[0]), rule->group = static_cast<uint16_t>(f[1]);
    rule->mask = static_cast<uint16_t>(f[2]), rule->other = static_cast<uint16_t>(f[3]);
    for (std::vector<AclEntry>* list : {&rule->users, &rule->groups}) {
      list->clear();
      if (!u(4, &n) || n > b.size() / 6) return Status::Corruption("corrupted ACL rule " + Dec(id));
      for (uint32_t i = 0; i < n; ++i) {
        uint32_t eid = 0, perm = 0;
        if (!u(4, &eid) || !u(2, &perm)) return Status::Corruption("corrupted ACL rule " + Dec(id));
        list->push_back({eid, static_cast<uint16_t>(perm)});
      }
    }
    return Status::OK();
  }

  Status PutAcl(uint32_t id, const AclRule& rule) override {
    JFS_RETURN_IF_ERROR(Writable());
    std::string b;
    auto put = [&](int n, uint32_t v) {
      for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    };
    for (uint16_t x : {rule.owner, rule.group, rule.mask, rule.other}) put(2, x);
    for (const std::vector<AclEntry>* list : {&rule.users, &rule.groups}) {
      put(4, static_cast<uint32_t>(list->size()));
      for (const AclEntry& e : *list) put(4, e.id), put(2, e.perm);
    }
    HSet(e_.Key("acl"), Dec(id), std::move(b));
    return Status::OK();
  }

  static const char* QuotaPrefix(QuotaKind kind) {
    return kind == QuotaKind::kDir    ? "dirQuota"
           : kind == QuotaKind::kUser ? "userQuota"
                                      : "groupQuota";
  }

  Status PutQuota(QuotaKind kind, uint64_t key, const QuotaRecord& q) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string base = QuotaPrefix(kind), field = Dec(key);
    std::string limits;
    for (int64_t v : {q.max_space, q.max_inodes}) {
      for (int i = 7; i >= 0; --i) {
        limits.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xFF));
      }
    }
    HSet(e_.Key(base), field, std::move(limits));
    HSet(e_.Key(base + "UsedSpace"), field, std::to_string(q.used_space));
    HSet(e_.Key(base + "UsedInodes"), field, std::to_string(q.used_inodes));
    return Status::OK();
  }

  Status ListQuotas(QuotaKind kind, std::map<uint64_t, QuotaRecord>* out) override {
    out->clear();
    const std::string base = QuotaPrefix(kind);
    std::map<std::string, std::string> limits, space, inodes;
    JFS_RETURN_IF_ERROR(HGetAll(e_.Key(base), &limits));
    JFS_RETURN_IF_ERROR(HGetAll(e_.Key(base + "UsedSpace"), &space));
    JFS_RETURN_IF_ERROR(HGetAll(e_.Key(base + "UsedInodes"), &inodes));
    for (const auto& [f, v] : limits) {
      int64_t key = 0;
      if (!ParseI64(f, &key) || v.size() != 16) return Status::IOError("bad quota in " + base);
      QuotaRecord q;
      auto i64 = [&](size_t at) {
        uint64_t x = 0;
        for (size_t i = 0; i < 8; ++i) x = x << 8 | static_cast<uint8_t>(v[at + i]);
        return static_cast<int64_t>(x);
      };
      q.max_space = i64(0), q.max_inodes = i64(8);
      if (auto it = space.find(f); it != space.end()) ParseI64(it->second, &q.used_space);
      if (auto it = inodes.find(f); it != inodes.end()) ParseI64(it->second, &q.used_inodes);
      (*out)[static_cast<uint64_t>(key)] = q;
    }
    return Status::OK();
  }

  // ---- file locks (format.md §2.2): lockf{ino} / lockp{ino} hashes with fields
  // "{sid}_{owner as %016X}", and locked{sid}, the set of lock keys a session wrote to ----
  std::string LockKey(LockKind kind, Ino ino) const {
    return e_.Key((kind == LockKind::kFlock ? "lockf" : "lockp") + Dec(ino));
  }
  static std::string OwnerField(uint64_t sid, uint64_t owner) {
    char hex[17];
    snprintf(hex, sizeof(hex), "%016llX", static_cast<unsigned long long>(owner));
    return Dec(sid) + "_" + hex;
  }
  static bool ParseOwnerField(std::string_view f, uint64_t* sid, uint64_t* owner) {
    const size_t us = f.find('_');
    int64_t s = 0;
    if (us == std::string_view::npos || !ParseI64(f.substr(0, us), &s) || s < 0) return false;
    std::string_view h = f.substr(us + 1);
    if (h.empty() || h.size() > 16) return false;
    uint64_t o = 0;
    for (char c : h) {
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                     : -1;
      if (d < 0) return false;
      o = o << 4 | static_cast<uint64_t>(d);
    }
    *sid = static_cast<uint64_t>(s);
    *owner = o;
    return true;
  }

  Status ListLocks(LockKind kind, Ino ino, std::vector<LockRecord>* out) override {
    out->clear();
    const std::string key = LockKey(kind, ino);
    std::map<std::string, std::string> fields;
    JFS_RETURN_IF_ERROR(HGetAll(key, &fields));
    for (auto& [f, v] : fields) {
      LockRecord r;
      if (!ParseOwnerField(f, &r.sid, &r.owner)) {
        return Status::Corruption("bad lock owner field '" + f + "' in " + key);
      }
      r.value = std::move(v);
      out->push_back(std::move(r));
    }
    return Status::OK();
  }
  Status PutLock(LockKind kind, Ino ino, uint64_t sid, uint64_t owner,
                 std::string_view value) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string key = LockKey(kind, ino);
    HSet(key, OwnerField(sid, owner), std::string(value));
    writes_.push_back({"SADD", e_.Key("locked" + Dec(sid)), key});
    return Status::OK();
  }
  Status DeleteLock(LockKind kind, Ino ino, uint64_t sid, uint64_t owner) override {
    JFS_RETURN_IF_ERROR(Writable());
    HDel(LockKey(kind, ino), OwnerField(sid, owner));
    return Status::OK();
  }
  Status DeleteSessionLocks(uint64_t sid) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string locked = e_.Key("locked" + Dec(sid));
    Reply r;
    JFS_RETURN_IF_ERROR(Read(locked, {"SMEMBERS", locked}, &r));
    if (r->type != REDIS_REPLY_ARRAY) return WrongType(locked, r.get());
    std::vector<std::string> keys;
    for (size_t i = 0; i < r->elements; ++i) keys.emplace_back(Str(r->element[i]));
    const std::string prefix = Dec(sid) + "_";
    const std::string ours_f = e_.Key("lockf"), ours_p = e_.Key("lockp");
    for (const std::string& key : keys) {
      // Only this volume's lock hashes (a foreign name could live in another cluster slot).
      if (key.compare(0, ours_f.size(), ours_f) != 0 &&
          key.compare(0, ours_p.size(), ours_p) != 0) {
        continue;
      }
      std::map<std::string, std::string> fields;
      JFS_RETURN_IF_ERROR(HGetAll(key, &fields));
      for (const auto& [f, v] : fields) {
        if (f.compare(0, prefix.size(), prefix) == 0) HDel(key, f);
      }
    }
    writes_.push_back({"DEL", locked});
    return Status::OK();
  }

  // The hash field `field` of `key` as an integer; a missing field reads 0.
  Status HGetInt(const std::string& key, const std::string& field, int64_t* out) {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(key, field, &v));
    *out = 0;
    if (v && !ParseI64(*v, out)) return Status::Corruption("bad integer in " + key + " " + field);
    return Status::OK();
  }

  Status GetQuota(QuotaKind kind, uint64_t key, QuotaRecord* q) override {
    const std::string base = QuotaPrefix(kind), field = Dec(key);
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(HGet(e_.Key(base), field, &v));
    if (!v) return Status::NotFound("no quota for " + field);
    if (v->size() != 16) return Status::Corruption("bad quota in " + base + " " + field);
    auto i64 = [&](size_t at) {
      uint64_t x = 0;
      for (size_t i = 0; i < 8; ++i) x = x << 8 | static_cast<uint8_t>((*v)[at + i]);
      return static_cast<int64_t>(x);
    };
    q->max_space = i64(0), q->max_inodes = i64(8);
    JFS_RETURN_IF_ERROR(HGetInt(e_.Key(base + "UsedSpace"), field, &q->used_space));
    return HGetInt(e_.Key(base + "UsedInodes"), field, &q->used_inodes);
  }

  Status IncrQuotaUsed(QuotaKind kind, uint64_t key, int64_t space, int64_t inodes) override {
    JFS_RETURN_IF_ERROR(Writable());
    QuotaRecord q;
    Status st = GetQuota(kind, key, &q);
    if (st.IsNotFound()) return Status::OK();
    JFS_RETURN_IF_ERROR(st);
    const std::string base = QuotaPrefix(kind), field = Dec(key);
    if (space != 0) HSet(e_.Key(base + "UsedSpace"), field, std::to_string(q.used_space + space));
    if (inodes != 0) {
      HSet(e_.Key(base + "UsedInodes"), field, std::to_string(q.used_inodes + inodes));
    }
    return Status::OK();
  }

  Status DeleteQuota(QuotaKind kind, uint64_t key) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string base = QuotaPrefix(kind), field = Dec(key);
    for (const char* suffix : {"", "UsedSpace", "UsedInodes"}) HDel(e_.Key(base + suffix), field);
    return Status::OK();
  }

  // dirDataLength / dirUsedSpace / dirUsedInodes: a statistic exists when its dirUsedSpace field
  // does (JuiceFS checks that one with HEXISTS before HINCRBY).
  Status GetDirStat(Ino dir, DirStat* st) override {
    const std::string field = Dec(dir);
    std::optional<std::string> space;
    JFS_RETURN_IF_ERROR(HGet(e_.Key("dirUsedSpace"), field, &space));
    if (!space) return Status::NotFound("no statistics for " + field);
    if (!ParseI64(*space, &st->space)) return Status::Corruption("bad dirUsedSpace " + field);
    JFS_RETURN_IF_ERROR(HGetInt(e_.Key("dirDataLength"), field, &st->length));
    return HGetInt(e_.Key("dirUsedInodes"), field, &st->inodes);
  }
  Status PutDirStat(Ino dir, const DirStat& st) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string field = Dec(dir);
    HSet(e_.Key("dirDataLength"), field, std::to_string(st.length));
    HSet(e_.Key("dirUsedSpace"), field, std::to_string(st.space));
    HSet(e_.Key("dirUsedInodes"), field, std::to_string(st.inodes));
    return Status::OK();
  }
  Status IncrDirStat(Ino dir, const DirStat& d, bool* found) override {
    JFS_RETURN_IF_ERROR(Writable());
    DirStat cur;
    Status st = GetDirStat(dir, &cur);
    *found = !st.IsNotFound();
    if (!*found) return Status::OK();
    JFS_RETURN_IF_ERROR(st);
    cur.length += d.length, cur.space += d.space, cur.inodes += d.inodes;
    return PutDirStat(dir, cur);
  }
  Status DeleteDirStat(Ino dir) override {
    JFS_RETURN_IF_ERROR(Writable());
    const std::string field = Dec(dir);
    for (const char* k : {"dirDataLength", "dirUsedSpace", "dirUsedInodes"}) HDel(e_.Key(k), field);
    return Status::OK();
  }

  Status PutSession(uint64_t sid, int64_t expire, std::string_view info) override {
    JFS_RETURN_IF_ERROR(Writable());
    writes_.push_back({"ZADD", e_.Key("allSessions"), std::to_string(expire), Dec(sid)});
    writes_.push_back({"HSET", e_.Key("sessionInfos"), Dec(sid), std::string(info)});
    return Status::OK();
  }
  Status DeleteSession(uint64_t sid) override {
    JFS_RETURN_IF_ERROR(Writable());
    writes_.push_back({"ZREM", e_.Key("allSessions"), Dec(sid)});
    writes_.push_back({"HDEL", e_.Key("sessionInfos"), Dec(sid)});
    return Status::OK();
  }

  // allSessions (sid → expire) joined with sessionInfos (sid → SessionInfo JSON), by sid.
  Status ListSessions(std::vector<SessionRecord>* out) override {
    out->clear();
    const std::string all = e_.Key("allSessions"), infos = e_.Key("sessionInfos");
    Reply r, i;
    JFS_RETURN_IF_ERROR(Read(all, {"ZRANGE", all, "0", "-1", "WITHSCORES"}, &r));
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) return WrongType(all, r.get());
    JFS_RETURN_IF_ERROR(Read(infos, {"HGETALL", infos}, &i));
    if (i->type != REDIS_REPLY_ARRAY || i->elements % 2 != 0) return WrongType(infos, i.get());
    std::map<std::string, std::string, std::less<>> info;
    for (size_t k = 0; k + 1 < i->elements; k += 2) {
      info[std::string(Str(i->element[k]))] = std::string(Str(i->element[k + 1]));
    }
    for (size_t k = 0; k + 1 < r->elements; k += 2) {
      SessionRecord s;
      int64_t sid = 0, expire = 0;
      if (!ParseI64(Str(r->element[k]), &sid) || !ParseI64(Str(r->element[k + 1]), &expire)) {
        return Status::IOError("bad session entry in " + all);
      }
      s.sid = static_cast<uint64_t>(sid);
      s.expire = expire;
      if (auto it = info.find(Str(r->element[k])); it != info.end()) s.info_json = it->second;
      out->push_back(std::move(s));
    }
    std::sort(out->begin(), out->end(),
              [](const SessionRecord& a, const SessionRecord& b) { return a.sid < b.sid; });
    return Status::OK();
  }

  Status GetSetting(std::string* json) override {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(GetStr(e_.Key("setting"), &v));
    if (!v) return Status::NotFound("database is not formatted");
    *json = std::move(*v);
    return Status::OK();
  }
  Status PutSetting(std::string_view json) override {
    JFS_RETURN_IF_ERROR(Writable());
    SetStr(e_.Key("setting"), std::string(json));
    return Status::OK();
  }

  bool unstable() const { return unstable_; }

  // Sends the buffered writes as MULTI…EXEC. *conflict is set when a watched key changed.
  Status Commit(bool* conflict) {
    *conflict = false;
    if (writes_.empty()) return Status::OK();
    std::vector<Cmd> cmds;
    cmds.reserve(writes_.size() + 2);
    cmds.push_back({"MULTI"});
    for (Cmd& w : writes_) cmds.push_back(std::move(w));
    cmds.push_back({"EXEC"});
    std::vector<Reply> rs;
    Status st = conn_.Pipeline(cmds, &rs);
    if (!st.ok()) {
      c_.NoteFailure(st, nullptr);
      // The commands may or may not have reached the server: do not run the change again.
      return Status::IOError(
          "Redis connection lost while committing a change; its outcome is "
          "unknown (" +
          st.message() + ")");
    }
    conn_.dirty = false;  // EXEC (or its abort) unwatches
    if (c_.cluster() && watched_.empty()) JFS_RETURN_IF_ERROR(ExecAsked(&cmds, &rs));
    Status queued;
    for (size_t i = 0; i + 1 < rs.size(); ++i) {
      Status s = ReplyStatus(rs[i].get(), "Redis " + cmds[i][0]);
      if (!s.ok() && queued.ok()) queued = Failed(s, rs[i].get());
    }
    const redisReply* exec = rs.back().get();
    if (exec->type == REDIS_REPLY_NIL) {
      *conflict = true;
      return Status::OK();
    }
    if (!queued.ok()) return queued;  // EXECABORT: nothing was applied
    if (exec->type == REDIS_REPLY_ERROR) return ReplyStatus(exec, "Redis EXEC");
    if (exec->type != REDIS_REPLY_ARRAY) return WrongType("EXEC", exec);
    for (size_t i = 0; i < exec->elements; ++i) {
      Status s = ReplyStatus(exec->element[i], "Redis " + cmds[i + 1][0] + " in a transaction");
      // Redis does not roll back a transaction whose command fails at run time (a wrong key
      // type); say so rather than pretend nothing happened.
      if (!s.ok()) {
        return Status::IOError(s.message() + " (other commands of the transaction were applied)");
      }
    }
    return Status::OK();
  }

  // A transaction that read nothing (so watches nothing) and whose commands the old owner of a
  // migrating slot refused with ASK (EXECABORT: nothing applied) goes, whole, to the importing
  // node: ASKING, then MULTI…EXEC (inside MULTI the ASKING flag lasts until EXEC). Replaces
  // *cmds/*rs with that exchange (ASKING removed). A transaction with WATCHed keys cannot move:
  // its keys are watched on the old owner; it runs again instead (unstable()).
  Status ExecAsked(std::vector<Cmd>* cmds, std::vector<Reply>* rs) {
    std::string host;
    int port = 0;
    bool ask = false;
    for (size_t i = 0; i + 1 < rs->size() && !ask; ++i) {
      ask = RedirectOf((*rs)[i].get()) == Redirect::kAsk &&
            RedirectTarget((*rs)[i].get(), &host, &port);
    }
    if (!ask || rs->back()->type != REDIS_REPLY_ERROR) return Status::OK();
    std::unique_ptr<Conn> target;
    Status st = c_.LeaseAt(host, port, &target);
    if (!st.ok()) {
      unstable_ = true;
      return st;
    }
    cmds->insert(cmds->begin(), Cmd{"ASKING"});
    st = target->Pipeline(*cmds, rs);
    cmds->erase(cmds->begin());
    if (!st.ok()) {
      return Status::IOError(
          "Redis connection lost while committing a change; its outcome is "
          "unknown (" +
          st.message() + ")");
    }
    c_.Release(std::move(target));
    JFS_RETURN_IF_ERROR(Failed(ReplyStatus((*rs)[0].get(), "Redis ASKING"), (*rs)[0].get()));
    rs->erase(rs->begin());
    return Status::OK();
  }

 private:
  struct HashOv {
    bool cleared = false;  // the whole hash was deleted first
    std::map<std::string, std::optional<std::string>> f;
  };
  struct ListOv {
    bool replaced = false;  // data is the whole list; otherwise it is appended to the stored one
    std::string data;
  };

  std::string AttrKey(Ino ino) const { return e_.Key("i" + Dec(ino)); }
  std::string EntryKey(Ino ino) const { return e_.Key("d" + Dec(ino)); }
  std::string ParentKey(Ino ino) const { return e_.Key("p" + Dec(ino)); }
  std::string SymKey(Ino ino) const { return e_.Key("s" + Dec(ino)); }
  std::string XattrKey(Ino ino) const { return e_.Key("x" + Dec(ino)); }
  std::string ChunkKey(Ino ino, uint32_t indx) const {
    return e_.Key("c" + Dec(ino) + "_" + Dec(indx));
  }
  static std::string SliceField(uint64_t id, uint32_t size) {
    return "k" + Dec(id) + "_" + Dec(size);
  }

  Status Writable() const {
    if (ro_) return Status::IOError("write in a read-only transaction");
    return Status::OK();
  }
  void NoteLength(Ino ino, uint64_t length) {
    uint64_t& l = lengths_[ino];
    l = std::max(l, length);
  }
  void NoteChunk(Ino ino, uint32_t indx) { chunks_[ino].insert(indx); }

  static Status PushCmd(const std::string& key, std::string_view records, Cmd* cmd) {
    if (records.size() % kSliceRecordSize != 0) {
      return Status::Invalid("slice records are not a multiple of 24 bytes");
    }
    *cmd = {"RPUSH", key};
    for (size_t i = 0; i < records.size(); i += kSliceRecordSize) {
      cmd->emplace_back(records.substr(i, kSliceRecordSize));
    }
    return Status::OK();
  }

  // Readdir's fast path (read-only transactions, nothing of the directory changed in this one):
  // HGETALL, then with `plus` one MGET of the page's attributes, both read as FlatReply (no
  // object per element) into buffers kept per thread, the MGET built in place, every attribute
  // decoded straight into its Entry. *done is false when it does not apply or the server answered
  // with an error (a cluster redirection, ...): the caller then takes the general path, which
  // knows how to follow those.
  Status ListFlat(Ino parent, std::string* cursor, size_t limit, bool plus, std::vector<Entry>* out,
                  bool* done) {
    *done = false;
    if (!ro_ || hashes_.count(EntryKey(parent))) return Status::OK();
    Scratch& s = TlsScratch();
    struct TrimAtExit {
      Scratch& s;
      ~TrimAtExit() { s.Trim(); }
    } trim{s};
    const std::string key = EntryKey(parent);
    const bool prefetched = listed_ && *listed_ == parent && listed_fills_ == s.fills;
    listed_.reset();
    if (!prefetched) {
      RawCmd hgetall(2);
      hgetall.Arg("HGETALL").Arg(key);
      JFS_RETURN_IF_ERROR(SendFlat({&hgetall}, &s.replies));
    }
    {
      const FlatReply& h = s.replies[prefetched ? 1 : 0];
      if (h.type == REDIS_REPLY_ERROR) return Status::OK();
      if (h.type != REDIS_REPLY_ARRAY || h.nested || h.items.size() % 2 != 0) {
        return Status::IOError("Redis key '" + key + "' is not a hash of entries");
      }
      s.all.clear();
      s.all.reserve(h.items.size() / 2);
      for (size_t i = 0; i + 1 < h.items.size(); i += 2) {
        const std::string_view name = h.str(i);
        uint64_t head = 0;
        for (size_t j = 0; j < 8; ++j) {
          head = head << 8 | (j < name.size() ? static_cast<unsigned char>(name[j]) : 0);
        }
        s.all.push_back({head, name, h.str(i + 1)});
      }
    }
    std::sort(s.all.begin(), s.all.end());
    auto it = s.all.begin();
    if (!cursor->empty()) {
      it = std::upper_bound(s.all.begin(), s.all.end(), std::string_view(*cursor),
                            [](std::string_view c, const auto& e) { return c < e.name; });
    }
    const size_t n = std::min(limit, static_cast<size_t>(s.all.end() - it));
    out->clear();
    out->resize(n);
    for (size_t i = 0; i < n; ++i, ++it) {
      Entry& e = (*out)[i];
      e.name.assign(it->name);
      JFS_RETURN_IF_ERROR(DecodeEntry(it->value, &e.attr.typ, &e.inode));
    }
    *cursor = it != s.all.end() && n > 0 ? out->back().name : std::string();
    if (!plus || n == 0) {
      *done = true;
      return Status::OK();
    }
    const std::string prefix = e_.Key("i");
    RawCmd mget(1 + n);
    mget.Arg("MGET");
    for (const Entry& e : *out) mget.Arg(prefix, e.inode);
    JFS_RETURN_IF_ERROR(SendFlat({&mget}, &s.replies));
    const FlatReply& m = s.replies[0];
    if (m.type == REDIS_REPLY_ERROR) {
      // E.g. TRYAGAIN while the slot migrates: GetAttrs knows what to do.
      std::vector<Ino> inos;
      inos.reserve(n);
      for (const Entry& e : *out) inos.push_back(e.inode);
      std::vector<Attr> attrs;
      std::vector<bool> found;
      JFS_RETURN_IF_ERROR(GetAttrs(inos, &attrs, &found));
      for (size_t i = 0; i < n; ++i) {
        if (found[i]) (*out)[i].attr = attrs[i];
      }
      *done = true;
      return Status::OK();
    }
    if (m.type != REDIS_REPLY_ARRAY || m.items.size() != n) return WrongTypeFlat("MGET", m);
    for (size_t i = 0; i < n; ++i) {
      const int t = m.items[i].type;
      if (t == REDIS_REPLY_NIL) continue;  // a dangling entry keeps just its type
      if (t != REDIS_REPLY_STRING) return WrongTypeFlat(AttrKey((*out)[i].inode), m);
      JFS_RETURN_IF_ERROR(DecodeAttr(m.str(i), &(*out)[i].attr));
    }
    *done = true;
    return Status::OK();
  }
  static Status WrongTypeFlat(std::string_view what, const FlatReply& r) {
    return Status::IOError("Redis " + std::string(what) + ": unexpected reply (type " +
                           std::to_string(r.type) + "); is this a JuiceFS database?");
  }
  Status SendFlat(const std::vector<const RawCmd*>& cmds, std::vector<FlatReply>* rs) {
    redirect_ = Redirect::kNone;
    reply_failed_ = false;
    ++TlsScratch().fills;
    Status st = conn_.PipelineFlat(cmds, rs);
    if (!st.ok()) {
      unstable_ = true;
      c_.NoteFailure(st, nullptr);
    }
    return st;
  }

  // Sends commands on this transaction's connection; a transport failure or a redirect is noted
  // with the client (topology refresh) and returned retryable, so Txn runs the body again.
  //
  // On a cluster whose slot is migrating, a command the old owner answers with ASK is re-sent to
  // the importing node (RedisClient::FollowAsk) — except WATCH: a key watched on the importing
  // node and others on the old owner cannot be committed together, so a refused WATCH makes the
  // whole transaction run again (unstable(): Txn retries it after a short backoff until the
  // migration is over, as JuiceFS and the redis-cluster clients do with TRYAGAIN).
  Status Send(const std::vector<Cmd>& cmds, std::vector<Reply>* rs) {
    redirect_ = Redirect::kNone;
    reply_failed_ = false;
    Status st = conn_.Pipeline(cmds, rs);
    if (st.ok() && c_.cluster()) {
      for (size_t i = 0; i < rs->size(); ++i) {
        if (cmds[i][0] == "WATCH" && (*rs)[i]->type == REDIS_REPLY_ERROR) {
          return Failed(ReplyStatus((*rs)[i].get(), "Redis WATCH"), (*rs)[i].get());
        }
      }
      st = c_.FollowAsk(cmds, rs);
    }
    if (!st.ok()) {
      unstable_ = true;
      c_.NoteFailure(st, nullptr);
      return st;
    }
    for (size_t i = 0; i < rs->size(); ++i) {
      Status s = ReplyStatus((*rs)[i].get(), "Redis " + cmds[i][0]);
      if (!s.ok()) return Failed(s, (*rs)[i].get());
    }
    return Status::OK();
  }
  Status Failed(const Status& st, const redisReply* r) {
    reply_failed_ = r && r->type == REDIS_REPLY_ERROR;
    redirect_ = RedirectOf(r);
    if (redirect_ != Redirect::kNone) unstable_ = true;
    c_.NoteFailure(st, r);
    return st;
  }
  // A read of `key`: in a write transaction the key is WATCHed first, in the same round trip.
  Status Read(const std::string& key, std::vector<Cmd> cmds, std::vector<Reply>* rs) {
    const bool watch = !ro_ && !watched_.count(key);
    if (watch) cmds.insert(cmds.begin(), Cmd{"WATCH", key});
    JFS_RETURN_IF_ERROR(Send(cmds, rs));
    if (watch) {
      watched_.insert(key);
      conn_.dirty = true;
      rs->erase(rs->begin());
    }
    return Status::OK();
  }
  Status Read(const std::string& key, Cmd cmd, Reply* out) {
    std::vector<Reply> rs;
    JFS_RETURN_IF_ERROR(Read(key, std::vector<Cmd>{std::move(cmd)}, &rs));
    *out = std::move(rs.back());
    return Status::OK();
  }

  static Status Optional(const std::string& key, const redisReply* r,
                         std::optional<std::string>* v) {
    if (r->type == REDIS_REPLY_NIL) {
      v->reset();
    } else if (r->type == REDIS_REPLY_STRING) {
      *v = std::string(Str(r));
    } else {
      return WrongType(key, r);
    }
    return Status::OK();
  }
  // Sends the queued prefetches in one pipeline: read-only, one Lua lookup each; otherwise WATCH
  // of the parent's attr and entries, then GET + HGET (the child's attr is read later, after its
  // own WATCH, so no write is based on an unwatched value).
  Status FlushPrefetch() {
    if (pending_list_) JFS_RETURN_IF_ERROR(FlushListPrefetch());
    if (pending_.empty()) return Status::OK();
    std::vector<std::pair<Ino, std::string>> todo;
    todo.swap(pending_);
    std::vector<Cmd> cmds;
    if (!ro_) {
      Cmd watch{"WATCH"};
      for (const auto& [p, name] : todo) {
        for (std::string k : {AttrKey(p), EntryKey(p)}) {
          if (watched_.insert(k).second) watch.push_back(std::move(k));
        }
      }
      if (watch.size() > 1) {
        cmds.push_back(std::move(watch));
        conn_.dirty = true;
      }
      for (const auto& [p, name] : todo) {
        cmds.push_back({"GET", AttrKey(p)});
        cmds.push_back({"HGET", EntryKey(p), name});
      }
    } else {
      for (const auto& [p, name] : todo) {
        cmds.push_back({"EVAL", kLookupScript, "2", AttrKey(p), EntryKey(p), name, c_.prefix()});
      }
    }
    std::vector<Reply> rs;
    bool scripted = ro_;
    Status st = Send(cmds, &rs);
    if (!st.ok() && ro_ && c_.cluster() && reply_failed_) {
      // During a slot migration a script may not touch keys its node no longer holds (ASK,
      // TRYAGAIN, "non local key"): plain reads instead, each following ASK on its own.
      scripted = false;
      cmds.clear();
      for (const auto& [p, name] : todo) {
        cmds.push_back({"GET", AttrKey(p)});
        cmds.push_back({"HGET", EntryKey(p), name});
      }
      st = Send(cmds, &rs);
    }
    JFS_RETURN_IF_ERROR(st);
    size_t at = rs.size() - (scripted ? todo.size() : 2 * todo.size());
    for (const auto& [p, name] : todo) {
      const std::string ak = AttrKey(p), ek = EntryKey(p);
      std::optional<std::string> attr, entry;
      if (!scripted) {
        JFS_RETURN_IF_ERROR(Optional(ak, rs[at++].get(), &attr));
        JFS_RETURN_IF_ERROR(Optional(ek, rs[at++].get(), &entry));
      } else {
        const redisReply* r = rs[at++].get();
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) return WrongType("lookup", r);
        JFS_RETURN_IF_ERROR(Optional(ak, r->element[0], &attr));
        JFS_RETURN_IF_ERROR(Optional(ek, r->element[1], &entry));
        if (r->element[3]->type == REDIS_REPLY_INTEGER && r->element[3]->integer == 1 && entry) {
          uint8_t t = 0;
          Ino child = 0;
          JFS_RETURN_IF_ERROR(DecodeEntry(*entry, &t, &child));
          std::optional<std::string> ca;
          JFS_RETURN_IF_ERROR(Optional(AttrKey(child), r->element[2], &ca));
          cache_str_.emplace(AttrKey(child), std::move(ca));
        }
      }
      cache_str_.emplace(ak, std::move(attr));
      cache_field_.emplace(std::make_pair(ek, name), std::move(entry));
    }
    return Status::OK();
  }

  // GET i{dir} + HGETALL d{dir} in one pipeline, read flat: the attr goes to cache_str_, the
  // listing stays in the thread's scratch replies[1] for ListFlat (listed_). An error reply
  // caches nothing: the reads are then made again the general way.
  Status FlushListPrefetch() {
    const Ino dir = *pending_list_;
    pending_list_.reset();
    if (hashes_.count(EntryKey(dir))) return Status::OK();
    const std::string ak = AttrKey(dir);
    RawCmd get(2), hgetall(2);
    get.Arg("GET").Arg(ak);
    hgetall.Arg("HGETALL").Arg(EntryKey(dir));
    Scratch& s = TlsScratch();
    JFS_RETURN_IF_ERROR(SendFlat({&get, &hgetall}, &s.replies));
    const FlatReply& a = s.replies[0];
    if (a.type == REDIS_REPLY_STRING) {
      cache_str_.emplace(ak, std::string(a.text()));
    } else if (a.type == REDIS_REPLY_NIL) {
      cache_str_.emplace(ak, std::nullopt);
    }
    if (s.replies[1].type != REDIS_REPLY_ERROR) {
      listed_ = dir;
      listed_fills_ = s.fills;
    }
    return Status::OK();
  }

  // Strings.
  Status GetStr(const std::string& key, std::optional<std::string>* v) {
    if (auto it = strs_.find(key); it != strs_.end()) {
      *v = it->second;
      return Status::OK();
    }
    JFS_RETURN_IF_ERROR(FlushPrefetch());
    if (auto it = cache_str_.find(key); it != cache_str_.end()) {
      *v = it->second;
      return Status::OK();
    }
    Reply r;
    JFS_RETURN_IF_ERROR(Read(key, {"GET", key}, &r));
    if (r->type == REDIS_REPLY_NIL) {
      v->reset();
    } else if (r->type == REDIS_REPLY_STRING) {
      *v = std::string(Str(r.get()));
    } else {
      return WrongType(key, r.get());
    }
    return Status::OK();
  }
  void SetStr(const std::string& key, std::string value) {
    incr_.erase(key);
    writes_.push_back({"SET", key, value});
    strs_[key] = std::move(value);
  }
  void DelStr(const std::string& key) {
    incr_.erase(key);
    strs_[key].reset();
    writes_.push_back({"DEL", key});
  }
  Status CounterValue(const std::string& key, int64_t* value) {
    std::optional<std::string> v;
    JFS_RETURN_IF_ERROR(GetStr(key, &v));
    int64_t n = 0;
    if (v && !ParseI64(*v, &n)) return Status::IOError("counter " + key + " is not an integer");
    if (auto it = incr_.find(key); it != incr_.end()) n += it->second;
    *value = n;
    return Status::OK();
  }

  // Hashes.
  Status HGet(const std::string& key, const std::string& field, std::optional<std::string>* v) {
    if (auto h = hashes_.find(key); h != hashes_.end()) {
      if (auto f = h->second.f.find(field); f != h->second.f.end()) {
        *v = f->second;
        return Status::OK();
      }
      if (h->second.cleared) {
        v->reset();
        return Status::OK();
      }
    }
    JFS_RETURN_IF_ERROR(FlushPrefetch());
    if (auto it = cache_field_.find({key, field}); it != cache_field_.end()) {
      *v = it->second;
      return Status::OK();
    }
    Reply r;
    JFS_RETURN_IF_ERROR(Read(key, {"HGET", key, field}, &r));
    if (r->type == REDIS_REPLY_NIL) {
      v->reset();
    } else if (r->type == REDIS_REPLY_STRING) {
      *v = std::string(Str(r.get()));
    } else {
      return WrongType(key, r.get());
    }
    return Status::OK();
  }
  Status HGetAll(const std::string& key, std::map<std::string, std::string>* out) {
    out->clear();
    auto h = hashes_.find(key);
    if (h == hashes_.end() || !h->second.cleared) {
      Reply r;
      JFS_RETURN_IF_ERROR(Read(key, {"HGETALL", key}, &r));
      if (r->type != REDIS_REPLY_ARRAY || r->elements % 2 != 0) return WrongType(key, r.get());
      for (size_t i = 0; i + 1 < r->elements; i += 2) {
        out->emplace(std::string(Str(r->element[i])), std::string(Str(r->element[i + 1])));
      }
    }
    if (h != hashes_.end()) {
      for (const auto& [f, v] : h->second.f) {
        if (v) {
          (*out)[f] = *v;
        } else {
          out->erase(f);
        }
      }
    }
    return Status::OK();
  }
  void HSet(const std::string& key, const std::string& field, std::string value) {
    writes_.push_back({"HSET", key, field, value});
    hashes_[key].f[field] = std::move(value);
  }
  void HDel(const std::string& key, const std::string& field) {
    writes_.push_back({"HDEL", key, field});
    hashes_[key].f[field].reset();
  }

  RedisEngine& e_;
  RedisClient& c_;
  Conn& conn_;
  const bool ro_;
  bool unstable_ = false;                // failed on a cluster redirect or a lost connection
  Redirect redirect_ = Redirect::kNone;  // of the last failed Send
  bool reply_failed_ = false;            // the last failed Send failed on an error reply
  std::set<std::string> watched_;
  std::vector<Cmd> writes_;
  std::map<std::string, std::optional<std::string>> strs_;
  std::map<std::string, int64_t> incr_;  // pending blind INCRBYs
  std::map<std::string, HashOv> hashes_;
  std::map<std::string, ListOv> lists_;
  std::map<std::string, std::map<std::string, bool>> sets_;
  // Prefetched reads (watched in write transactions) and the prefetches not sent yet.
  std::map<std::string, std::optional<std::string>> cache_str_;
  std::map<std::pair<std::string, std::string>, std::optional<std::string>> cache_field_;
  std::vector<std::pair<Ino, std::string>> pending_;
  std::optional<Ino> pending_list_;  // PrefetchEntries not sent yet
  std::optional<Ino> listed_;        // the directory whose HGETALL TlsScratch().replies[1] holds
  uint64_t listed_fills_ = 0;
  std::map<Ino, uint64_t> lengths_;           // largest file length seen per inode
  std::map<Ino, std::set<uint32_t>> chunks_;  // chunk indices written here
};

}  // namespace

RedisEngine::~RedisEngine() = default;

Status RedisEngine::Open(const std::string& url, std::unique_ptr<RedisEngine>* out,
                         RedisEngineOptions options) {
  RedisUrl u;
  JFS_RETURN_IF_ERROR(ParseRedisUrl(url, &u));
  std::unique_ptr<RedisClient> client;
  JFS_RETURN_IF_ERROR(RedisClient::Open(u, &client));
  out->reset(new RedisEngine(std::move(client), options));
  return Status::OK();
}

Status RedisEngine::InitSchema() {
  std::vector<Reply> rs;
  const std::string setting = Key("setting");
  JFS_RETURN_IF_ERROR(client_->Run({{"GET", setting}}, &rs));
  JFS_RETURN_IF_ERROR(ReplyStatus(rs[0].get(), "Redis GET"));
  if (rs[0]->type == REDIS_REPLY_STRING) return Status::OK();  // a JuiceFS volume
  if (rs[0]->type != REDIS_REPLY_NIL) return WrongType(setting, rs[0].get());
  // No volume here: refuse to format a database that already holds other data.
  long long keys = 0;
  std::string sample;
  if (!client_->cluster()) {
    JFS_RETURN_IF_ERROR(client_->Run({{"DBSIZE"}, {"RANDOMKEY"}}, &rs));
    if (rs[0]->type == REDIS_REPLY_INTEGER) keys = rs[0]->integer;
    if (rs[1]->type == REDIS_REPLY_STRING) sample = std::string(Str(rs[1].get()));
  } else {
    JFS_RETURN_IF_ERROR(
        client_->Run({{"SCAN", "0", "MATCH", client_->prefix() + "*", "COUNT", "1000"}}, &rs));
    JFS_RETURN_IF_ERROR(ReplyStatus(rs[0].get(), "Redis SCAN"));
    // A SCAN page may be empty while keys exist further on; scan to the end when it is.
    std::string cursor = "0";
    for (;;) {
      const redisReply* r = rs[0].get();
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return WrongType("SCAN", r);
      cursor = std::string(Str(r->element[0]));
      if (r->element[1]->elements > 0) {
        keys = static_cast<long long>(r->element[1]->elements);
        sample = std::string(Str(r->element[1]->element[0]));
        break;
      }
      if (cursor == "0") break;
      JFS_RETURN_IF_ERROR(
          client_->Run({{"SCAN", cursor, "MATCH", client_->prefix() + "*", "COUNT", "1000"}}, &rs));
      JFS_RETURN_IF_ERROR(ReplyStatus(rs[0].get(), "Redis SCAN"));
    }
  }
  if (keys > 0) {
    return Status::Exists("Redis database " + client_->url().display +
                          " is not empty and holds no JuiceFS volume (" + std::to_string(keys) +
                          " key(s), e.g. '" + sample +
                          "'): use an empty database, or remove its keys first");
  }
  return Status::OK();
}

Status RedisEngine::Reset() {
  std::vector<Reply> rs;
  if (!client_->cluster()) {
    JFS_RETURN_IF_ERROR(client_->Run({{"FLUSHDB"}}, &rs));
    return ReplyStatus(rs[0].get(), "Redis FLUSHDB");
  }
  // Every key of the volume carries the "{db}" prefix and so lives on the one node of its slot.
  std::string cursor = "0";
  do {
    JFS_RETURN_IF_ERROR(
        client_->Run({{"SCAN", cursor, "MATCH", client_->prefix() + "*", "COUNT", "1000"}}, &rs));
    JFS_RETURN_IF_ERROR(ReplyStatus(rs[0].get(), "Redis SCAN"));
    const redisReply* r = rs[0].get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return WrongType("SCAN", r);
    cursor = std::string(Str(r->element[0]));
    if (r->element[1]->elements > 0) {
      Cmd del{"DEL"};
      for (size_t i = 0; i < r->element[1]->elements; ++i) {
        del.emplace_back(Str(r->element[1]->element[i]));
      }
      std::vector<Reply> dr;
      JFS_RETURN_IF_ERROR(client_->Run({del}, &dr));
      JFS_RETURN_IF_ERROR(ReplyStatus(dr[0].get(), "Redis DEL"));
    }
  } while (cursor != "0");
  return Status::OK();
}

Status RedisEngine::Txn(const std::function<Status(Tx&)>& fn, bool read_only) {
  thread_local std::mt19937 rng{std::random_device{}()};
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline =
      Clock::now() + std::chrono::milliseconds(options_.cluster_retry_ms);
  Status last;
  // `attempt` counts conflicts and standalone failures; on a cluster, redirections and lost
  // connections (a slot migration, a failover) are retried until the deadline instead.
  int attempt = 0, unstable = 0;
  for (;;) {
    if (attempt >= options_.max_attempts) {
      return Status::IOError("Redis transaction failed after " +
                             std::to_string(options_.max_attempts) +
                             " attempts: " + last.message());
    }
    if (unstable > 0 && Clock::now() >= deadline) {
      return Status::IOError("Redis Cluster did not settle within " +
                             std::to_string(options_.cluster_retry_ms) + " ms: " + last.message());
    }
    if (attempt > 0 || unstable > 0) {
      // Jittered backoff, growing to at most ~100 ms (~20 ms while the cluster is unsettled).
      const int cap_us = attempt > 0 ? 1000 * std::min(100, 1 << std::min(attempt, 7))
                                     : 1000 * std::min(20, 1 << std::min(unstable, 5));
      std::uniform_int_distribution<int> d(cap_us / 4, cap_us);
      std::this_thread::sleep_for(std::chrono::microseconds(d(rng)));
    }
    std::unique_ptr<Conn> conn;
    Status st = client_->Lease(&conn);
    if (!st.ok()) {
      if (!st.retryable()) return st;
      last = st;
      client_->cluster() ? ++unstable : ++attempt;
      continue;
    }
    bool conflict = false, unsettled = false;
    {
      RedisTx tx(*this, *conn, read_only);
      st = fn(tx);
      if (st.ok() && !read_only) st = tx.Commit(&conflict);
      unsettled = tx.unstable() && client_->cluster();
    }
    client_->Release(std::move(conn));
    if (conflict) {
      last = Status::Retryable(EIO, "Redis transaction conflicted too often");
      ++attempt;
      continue;
    }
    if (!st.ok() && st.retryable()) {
      last = st;
      unsettled ? ++unstable : ++attempt;
      continue;
    }
    return st;
  }
}

}  // namespace jfs::meta::redis

namespace jfs::meta {

Status NewRedisEngine(const std::string& url, std::unique_ptr<Engine>* out) {
  std::unique_ptr<redis::RedisEngine> e;
  JFS_RETURN_IF_ERROR(redis::RedisEngine::Open(url, &e));
  *out = std::move(e);
  return Status::OK();
}

}  // namespace jfs::meta
