// JSON metadata dump / load (format.md §5). See dump.h for the contracts.
#include "meta/dump.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <streambuf>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "meta/codec.h"
#include "meta/slice.h"

namespace jfs::meta {

namespace {

using OJson = nlohmann::ordered_json;

constexpr size_t kPageSize = 1000;       // directory entries per read transaction
constexpr size_t kFlushBytes = 1 << 16;  // output buffered before a write

const char* TypeName(uint8_t t) {
  switch (t) {
    case kTypeFile:
      return "regular";
    case kTypeDirectory:
      return "directory";
    case kTypeSymlink:
      return "symlink";
    case kTypeFIFO:
      return "fifo";
    case kTypeBlockDev:
      return "blockdev";
    case kTypeCharDev:
      return "chardev";
    case kTypeSocket:
      return "socket";
    default:
      return "";
  }
}

uint8_t TypeFromName(std::string_view s) {
  for (uint8_t t = kTypeFile; t <= kTypeSocket; ++t) {
    if (s == TypeName(t)) return t;
  }
  return 0;
}

std::string Indent(int level) {
  return std::string(static_cast<size_t>(level) * 2, ' ');
}

// Go's json.MarshalIndent(v, "", "  ") of `v`, whose opening is already at nesting `level`.
void AppendIndented(std::string* out, const OJson& v, int level) {
  switch (v.type()) {
    case OJson::value_t::object: {
      if (v.empty()) {
        out->append("{}");
        return;
      }
      out->append("{");
      bool first = true;
      for (const auto& [key, val] : v.items()) {
        out->append(first ? "\n" : ",\n");
        first = false;
        out->append(Indent(level + 1));
        AppendGoJsonString(out, key);
        out->append(": ");
        AppendIndented(out, val, level + 1);
      }
      out->append("\n" + Indent(level) + "}");
      return;
    }
    case OJson::value_t::array: {
      if (v.empty()) {
        out->append("[]");
        return;
      }
      out->append("[");
      bool first = true;
      for (const auto& el : v) {
        out->append(first ? "\n" : ",\n");
        first = false;
        out->append(Indent(level + 1));
        AppendIndented(out, el, level + 1);
      }
      out->append("\n" + Indent(level) + "]");
      return;
    }
    case OJson::value_t::string:
      AppendGoJsonString(out, v.get_ref<const std::string&>());
      return;
    default:
      out->append(v.dump());
      return;
  }
}

void AppendNum(std::string* out, const char* key, uint64_t v) {
  out->append("\"").append(key).append("\":").append(std::to_string(v));
}

std::string AttrJson(Ino ino, const Attr& a) {
  std::string s = "{";
  AppendNum(&s, "inode", ino);
  if (a.flags) s += ",", AppendNum(&s, "flags", a.flags);
  s += ",\"type\":\"";
  s += TypeName(a.typ);
  s += "\",";
  AppendNum(&s, "mode", a.mode & 07777);
  s += ",", AppendNum(&s, "uid", a.uid);
  s += ",", AppendNum(&s, "gid", a.gid);
  s += ",\"atime\":" + std::to_string(a.atime);
  s += ",\"mtime\":" + std::to_string(a.mtime);
  s += ",\"ctime\":" + std::to_string(a.ctime);
  if (a.atimensec) s += ",", AppendNum(&s, "atimensec", a.atimensec);
  if (a.mtimensec) s += ",", AppendNum(&s, "mtimensec", a.mtimensec);
  if (a.ctimensec) s += ",", AppendNum(&s, "ctimensec", a.ctimensec);
  s += ",", AppendNum(&s, "nlink", a.nlink);
  s += ",", AppendNum(&s, "length", a.typ == kTypeFile ? a.length : 0);
  if (a.rdev) s += ",", AppendNum(&s, "rdev", a.rdev);
  if (a.tier) s += ",", AppendNum(&s, "tier", a.tier);
  s += "}";
  return s;
}

void AppendAclEntries(std::string* s, const std::vector<AclEntry>& es) {
  if (es.empty()) {
    s->append("null");
    return;
  }
  s->append("[");
  for (size_t i = 0; i < es.size(); ++i) {
    if (i) s->append(",");
    s->append("{");
    AppendNum(s, "id", es[i].id);
    s->append(",");
    AppendNum(s, "perm", es[i].perm);
    s->append("}");
  }
  s->append("]");
}

std::string AclJson(const AclRule& r) {
  std::string s = "{";
  AppendNum(&s, "owner", r.owner);
  s += ",", AppendNum(&s, "group", r.group);
  s += ",", AppendNum(&s, "other", r.other);
  s += ",", AppendNum(&s, "mask", r.mask);
  s += ",\"users\":";
  AppendAclEntries(&s, r.users);
  s += ",\"groups\":";
  AppendAclEntries(&s, r.groups);
  s += "}";
  return s;
}

std::string ChunkJson(uint32_t index, const std::vector<Slice>& slices) {
  std::string s = "{";
  AppendNum(&s, "index", index);
  s += ",\"slices\":[";
  for (size_t i = 0; i < slices.size(); ++i) {
    const Slice& sl = slices[i];
    if (i) s += ",";
    s += "{";
    AppendNum(&s, "id", sl.id);
    if (sl.pos) s += ",", AppendNum(&s, "pos", sl.pos);
    s += ",", AppendNum(&s, "size", sl.size);
    if (sl.off) s += ",", AppendNum(&s, "off", sl.off);
    s += ",", AppendNum(&s, "len", sl.len);
    s += "}";
  }
  s += "]}";
  return s;
}

// What an entry carries besides its attributes.
struct Details {
  std::string symlink;
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::optional<AclRule> access, dflt;
  std::vector<std::pair<uint32_t, std::vector<Slice>>> chunks;
};

class Dumper {
 public:
  Dumper(Engine& e, const DumpOptions& o, DumpWriter* out) : e_(e), o_(o), out_(out) {}

  Status Run() {
    Format fmt;
    std::string setting;
    int64_t c[6] = {};
    std::vector<std::pair<uint64_t, std::vector<Ino>>> sustained;
    std::vector<DelFileRecord> delfiles;
    std::map<uint64_t, QuotaRecord> quotas[3];
    Ino root = kRootIno;
    Attr root_attr, trash_attr;
    bool has_trash = false;
    JFS_RETURN_IF_ERROR(e_.Txn(
        [&](Tx& tx) {
          Status st = tx.GetSetting(&setting);
          if (st.IsNotFound())
            return Status::NotFound("database is not formatted: nothing to dump");
          JFS_RETURN_IF_ERROR(st);
          JFS_RETURN_IF_ERROR(DecodeFormat(setting, &fmt));
          const char* names[6] = {"usedSpace", "totalInodes", "nextInode",
                                  "nextChunk", "nextSession", "nextTrash"};
          for (int i = 0; i < 6; ++i) JFS_RETURN_IF_ERROR(tx.GetCounter(names[i], &c[i]));
          std::vector<SessionRecord> sessions;
          st = tx.ListSessions(&sessions);
          if (!st.ok() && !st.Is(ENOTSUP)) return st;
          sustained.clear();
          for (const SessionRecord& s : sessions) {
            std::vector<Ino> inodes;
            JFS_RETURN_IF_ERROR(tx.ListSustained(s.sid, &inodes));
            if (!inodes.empty()) sustained.emplace_back(s.sid, std::move(inodes));
          }
          st = tx.ListDelFiles(&delfiles);
          if (!st.ok() && !st.Is(ENOTSUP)) return st;
          for (int k = 0; k < 3; ++k) {
            st = tx.ListQuotas(static_cast<QuotaKind>(k), &quotas[k]);
            if (!st.ok() && !st.Is(ENOTSUP)) return st;
          }
          root = kRootIno;
          if (!o_.subdir.empty()) JFS_RETURN_IF_ERROR(ResolveSubdir(tx, &root));
          JFS_RETURN_IF_ERROR(tx.GetAttr(root, &root_attr));
          has_trash = false;
          if (o_.subdir.empty() && !o_.skip_trash) {
            st = tx.GetAttr(kTrashIno, &trash_attr);
            if (st.ok()) {
              has_trash = true;
            } else if (!st.IsNotFound()) {
              return st;
            }
          }
          return Status::OK();
        },
        /*read_only=*/true));

    if (!o_.keep_secret_key) {
      for (std::string* s : {&fmt.secret_key, &fmt.session_token}) {
        if (!s->empty()) *s = "removed";
      }
    }
    OJson setting_json;
    try {
      setting_json = OJson::parse(EncodeFormat(fmt));
    } catch (const std::exception& ex) {
      return Status::Corruption(std::string("dump: cannot re-read the format: ") + ex.what());
    }
    buf_ = "{\n  \"Setting\": ";
    AppendIndented(&buf_, setting_json, 1);
    OJson counters = OJson::object();
    counters["usedSpace"] = c[0];
    counters["usedInodes"] = c[1];
    counters["nextInodes"] = c[2];
    counters["nextChunk"] = c[3];
    counters["nextSession"] = c[4];
    counters["nextTrash"] = c[5];
    buf_ += ",\n  \"Counters\": ";
    AppendIndented(&buf_, counters, 1);
    OJson sus = OJson::array();
    for (const auto& [sid, inodes] : sustained) {
      OJson one = OJson::object();
      one["sid"] = sid;
      one["inodes"] = inodes;
      sus.push_back(std::move(one));
    }
    buf_ += ",\n  \"Sustained\": ";
    AppendIndented(&buf_, sus, 1);
    OJson del = OJson::array();
    for (const DelFileRecord& d : delfiles) {
      OJson one = OJson::object();
      one["inode"] = d.inode;
      one["length"] = d.length;
      one["expire"] = d.expire;
      del.push_back(std::move(one));
    }
    buf_ += ",\n  \"DelFiles\": ";
    AppendIndented(&buf_, del, 1);
    const char* quota_keys[3] = {"Quotas", "UserQuotas", "GroupQuotas"};
    for (int k = 0; k < 3; ++k) {
      if (quotas[k].empty() || (k > 0 && root != kRootIno)) continue;
      // Go sorts map keys as strings ("10" < "2").
      std::vector<std::pair<std::string, QuotaRecord>> sorted;
      for (const auto& [key, q] : quotas[k]) sorted.emplace_back(std::to_string(key), q);
      std::sort(sorted.begin(), sorted.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      OJson obj = OJson::object();
      for (const auto& [key, q] : sorted) {
        OJson one = OJson::object();
        one["maxSpace"] = q.max_space;
        one["maxInodes"] = q.max_inodes;
        obj[key] = std::move(one);
      }
      buf_ += std::string(",\n  \"") + quota_keys[k] + "\": ";
      AppendIndented(&buf_, obj, 1);
    }
    buf_ += ",";
    JFS_RETURN_IF_ERROR(DumpDir("FSTree", root, root_attr, 1));
    if (has_trash) {
      buf_ += ",";
      JFS_RETURN_IF_ERROR(DumpDir("Trash", kTrashIno, trash_attr, 1));
    }
    buf_ += "\n}\n";
    JFS_RETURN_IF_ERROR(out_->Write(buf_));
    buf_.clear();
    if (o_.progress) o_.progress(entries_);
    return Status::OK();
  }

 private:
  Status ResolveSubdir(Tx& tx, Ino* ino) {
    Ino cur = kRootIno;
    size_t i = 0;
    const std::string& p = o_.subdir;
    while (i < p.size()) {
      size_t j = p.find('/', i);
      if (j == std::string::npos) j = p.size();
      std::string_view name(p.data() + i, j - i);
      i = j + 1;
      if (name.empty() || name == ".") continue;
      uint8_t type = 0;
      Status st = tx.GetEntry(cur, name, &cur, &type);
      if (st.IsNotFound()) return Status::NotFound("subdir '" + p + "' does not exist");
      JFS_RETURN_IF_ERROR(st);
      if (type != kTypeDirectory)
        return Status::Error(ENOTDIR, "subdir '" + p + "' is no directory");
    }
    *ino = cur;
    return Status::OK();
  }

  Status Emit() {
    if (buf_.size() < kFlushBytes) return Status::OK();
    JFS_RETURN_IF_ERROR(out_->Write(buf_));
    buf_.clear();
    return Status::OK();
  }

  Status GetAclCached(Tx& tx, uint32_t id, std::optional<AclRule>* out) {
    if (id == 0) return Status::OK();
    auto it = acls_.find(id);
    if (it == acls_.end()) {
      AclRule r;
      JFS_RETURN_IF_ERROR(tx.GetAcl(id, &r));
      it = acls_.emplace(id, std::move(r)).first;
    }
    *out = it->second;
    return Status::OK();
  }

  Status Fetch(Tx& tx, Ino ino, const Attr& a, Details* d) {
    *d = Details();
    if (a.typ == kTypeSymlink) {
      Status st = tx.GetSymlink(ino, &d->symlink);
      if (!st.ok() && !st.IsNotFound()) return st;
    }
    std::vector<std::string> names;
    JFS_RETURN_IF_ERROR(tx.ListXattr(ino, &names));
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
      std::string v;
      Status st = tx.GetXattr(ino, n, &v);
      if (st.Is(ENODATA)) continue;
      JFS_RETURN_IF_ERROR(st);
      d->xattrs.emplace_back(n, std::move(v));
    }
    JFS_RETURN_IF_ERROR(GetAclCached(tx, a.access_acl, &d->access));
    JFS_RETURN_IF_ERROR(GetAclCached(tx, a.default_acl, &d->dflt));
    if (a.typ == kTypeFile) {
      std::vector<uint32_t> indices;
      JFS_RETURN_IF_ERROR(tx.ListChunks(ino, &indices));
      for (uint32_t idx : indices) {
        std::string records;
        Status st = tx.GetChunk(ino, idx, &records);
        if (st.IsNotFound()) continue;
        JFS_RETURN_IF_ERROR(st);
        std::vector<Slice> slices;
        JFS_RETURN_IF_ERROR(DecodeSlices(records, &slices));
        d->chunks.emplace_back(idx, std::move(slices));
      }
    }
    return Status::OK();
  }

  // The lines every entry starts with: name, attr, symlink, xattrs, ACLs.
  void Head(std::string_view name, Ino ino, const Attr& a, const Details& d, int depth) {
    const std::string fp = Indent(depth + 1);
    buf_ += "\n" + Indent(depth) + "\"" + EscapeDumpString(name) + "\": {";
    buf_ += "\n" + fp + "\"attr\": " + AttrJson(ino, a);
    if (!d.symlink.empty()) {
      buf_ += ",\n" + fp + "\"symlink\": \"" + EscapeDumpString(d.symlink) + "\"";
    }
    if (!d.xattrs.empty()) {
      buf_ += ",\n" + fp + "\"xattrs\": [";
      for (size_t i = 0; i < d.xattrs.size(); ++i) {
        if (i) buf_ += ",";
        buf_ += "{\"name\":";
        AppendGoJsonString(&buf_, d.xattrs[i].first);
        buf_ += ",\"value\":";
        AppendGoJsonString(&buf_, EscapeDumpString(d.xattrs[i].second));
        buf_ += "}";
      }
      buf_ += "]";
    }
    if (d.access) buf_ += ",\n" + fp + "\"posix_acl_access\": " + AclJson(*d.access);
    if (d.dflt) buf_ += ",\n" + fp + "\"posix_acl_default\": " + AclJson(*d.dflt);
  }

  Status DumpLeaf(std::string_view name, Ino ino, const Attr& a, const Details& d, int depth) {
    Head(name, ino, a, d, depth);
    const std::string fp = Indent(depth + 1);
    if (d.chunks.size() == 1) {
      buf_ += ",\n" + fp + "\"chunks\": [" + ChunkJson(d.chunks[0].first, d.chunks[0].second) + "]";
    } else if (d.chunks.size() > 1) {
      buf_ += ",\n" + fp + "\"chunks\": [";
      for (size_t i = 0; i < d.chunks.size(); ++i) {
        buf_ += "\n" + Indent(depth + 2) + ChunkJson(d.chunks[i].first, d.chunks[i].second);
        if (i + 1 < d.chunks.size()) buf_ += ",";
      }
      buf_ += "\n" + fp + "]";
    }
    buf_ += "\n" + Indent(depth) + "}";
    Progress();
    return Emit();
  }

  void Progress() {
    ++entries_;
    if (o_.progress && entries_ % 1000 == 0) o_.progress(entries_);
  }

  Status DumpDir(std::string_view name, Ino ino, const Attr& a, int depth) {
    Details d;
    JFS_RETURN_IF_ERROR(e_.Txn([&](Tx& tx) { return Fetch(tx, ino, a, &d); }, true));
    Head(name, ino, a, d, depth);
    buf_ += ",\n" + Indent(depth + 1) + "\"entries\": {";
    Progress();
    std::string cursor;
    bool first = true;
    do {
      std::vector<Entry> page;
      std::vector<Details> details;
      JFS_RETURN_IF_ERROR(e_.Txn(
          [&](Tx& tx) {
            std::string c = cursor;
            JFS_RETURN_IF_ERROR(tx.ListEntriesPlus(ino, &c, kPageSize, &page));
            details.assign(page.size(), Details());
            for (size_t i = 0; i < page.size(); ++i) {
              if (page[i].attr.typ == kTypeDirectory) continue;
              JFS_RETURN_IF_ERROR(Fetch(tx, page[i].inode, page[i].attr, &details[i]));
            }
            cursor = c;
            return Status::OK();
          },
          true));
      for (size_t i = 0; i < page.size(); ++i) {
        if (!first) buf_ += ",";
        first = false;
        const Entry& e = page[i];
        if (e.attr.typ == kTypeDirectory) {
          JFS_RETURN_IF_ERROR(DumpDir(e.name, e.inode, e.attr, depth + 2));
        } else {
          JFS_RETURN_IF_ERROR(DumpLeaf(e.name, e.inode, e.attr, details[i], depth + 2));
        }
      }
    } while (!cursor.empty());
    buf_ += "\n" + Indent(depth + 1) + "}\n" + Indent(depth) + "}";
    return Emit();
  }

  Engine& e_;
  const DumpOptions& o_;
  DumpWriter* out_;
  std::string buf_;
  uint64_t entries_ = 0;
  std::unordered_map<uint32_t, AclRule> acls_;
};

// ---- load --------------------------------------------------------------------------------------

// A streambuf over a DumpReader that knows the byte offset and line of what the parser consumed.
class PosBuf : public std::streambuf {
 public:
  explicit PosBuf(DumpReader* in) : in_(in), buf_(1 << 16) {}

  uint64_t Offset() const { return base_ + static_cast<uint64_t>(gptr() - eback()); }
  uint64_t Line() const {
    return 1 + lines_ + static_cast<uint64_t>(std::count(eback(), gptr(), '\n'));
  }
  const Status& error() const { return error_; }

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    base_ += static_cast<uint64_t>(egptr() - eback());
    lines_ += static_cast<uint64_t>(std::count(eback(), egptr(), '\n'));
    size_t got = 0;
    Status st = in_->Read(buf_.data(), buf_.size(), &got);
    if (!st.ok()) {
      error_ = st;
      got = 0;
    }
    setg(buf_.data(), buf_.data(), buf_.data() + got);
    return got == 0 ? traits_type::eof() : traits_type::to_int_type(buf_[0]);
  }

 private:
  DumpReader* in_;
  std::vector<char> buf_;
  uint64_t base_ = 0, lines_ = 0;
  Status error_;
};

// One bit per inode seen, in 64 Ki-inode blocks (inodes are dense in practice).
class InodeSet {
 public:
  // Returns true when `ino` was not in the set yet.
  bool Insert(Ino ino) {
    auto& block = blocks_[ino >> 16];
    if (block.empty()) block.assign(1024, 0);
    uint64_t& w = block[(ino & 0xFFFF) >> 6];
    const uint64_t bit = 1ULL << (ino & 63);
    if (w & bit) return false;
    w |= bit;
    return true;
  }

 private:
  std::unordered_map<uint64_t, std::vector<uint64_t>> blocks_;
};

struct SliceKey {
  uint64_t id;
  uint32_t size;
  bool operator==(const SliceKey&) const = default;
};
struct SliceKeyHash {
  size_t operator()(const SliceKey& k) const { return std::hash<uint64_t>()(k.id * 31 + k.size); }
};

struct LinkInfo {
  uint8_t type = 0;
  uint32_t count = 0;
  Ino first_parent = 0;
};

using Op = std::function<Status(Tx&)>;

class Loader : public nlohmann::json_sax<OJson> {
 public:
  Loader(Engine& e, const LoadOptions& o, PosBuf* pos) : e_(e), o_(o), pos_(pos) {}

  // ---- SAX events ----
  bool null() override { return Scalar(OJson(nullptr)); }
  bool boolean(bool v) override { return Scalar(OJson(v)); }
  bool number_integer(number_integer_t v) override { return Scalar(OJson(v)); }
  bool number_unsigned(number_unsigned_t v) override { return Scalar(OJson(v)); }
  bool number_float(number_float_t v, const string_t&) override { return Scalar(OJson(v)); }
  bool string(string_t& v) override { return Scalar(OJson(std::move(v))); }
  bool binary(binary_t&) override { return Fail("unexpected binary value"); }

  bool start_object(std::size_t) override {
    if (collecting_) return CollectOpen(OJson::object());
    if (frames_.empty()) {
      frames_.push_back({Frame::kTop});
      return true;
    }
    Frame& f = frames_.back();
    if (f.kind == Frame::kTop) {
      if (key_ == "FSTree" || key_ == "Trash") {
        if (key_ == "FSTree" ? seen_tree_ : seen_trash_) return Fail("duplicate \"" + key_ + "\"");
        (key_ == "FSTree" ? seen_tree_ : seen_trash_) = true;
        return PushEntry(key_, key_ == "FSTree" ? EntryFrame::kTreeRoot : EntryFrame::kTrashRoot, 0,
                         false);
      }
      return CollectOpen(OJson::object());
    }
    if (f.kind == Frame::kEntry) {
      if (key_ == "entries") {
        EntryFrame& ef = entries_.back();
        if (!ef.has_attr) return Fail("\"entries\" before \"attr\"");
        if (ef.attr.typ != kTypeDirectory) return Fail("\"entries\" in a non-directory");
        if (ef.saw_entries) return Fail("duplicate \"entries\"");
        ef.saw_entries = true;
        frames_.push_back({Frame::kEntries});
        return true;
      }
      return CollectOpen(OJson::object());
    }
    // kEntries: a child entry named key_.
    EntryFrame& dir = entries_.back();
    std::string name = UnescapeDumpString(key_);
    if (!dir.name_hashes.insert(std::hash<std::string>{}(name)).second) {
      // Most likely the name repeats (a JSON key twice in one object); 64-bit hashes of different
      // names can collide too, so the database decides: the earlier sibling was queued or written.
      bool dup = false;
      Status st = Flush();
      if (st.ok()) {
        st = e_.Txn(
            [&](Tx& tx) {
              Ino ino;
              uint8_t typ;
              Status g = tx.GetEntry(dir.ino, name, &ino, &typ);
              dup = g.ok();
              return g.ok() || g.IsNotFound() ? Status::OK() : g;
            },
            true);
      }
      if (!st.ok()) {
        engine_error_ = st;
        return Fail("reading the database failed: " + st.ToString());
      }
      if (dup) {
        return Fail("duplicate name \"" + EscapeDumpString(name) + "\" in directory inode " +
                    std::to_string(dir.ino));
      }
    }
    return PushEntry(std::move(name), EntryFrame::kNormal, dir.ino,
                     dir.in_trash || dir.kind == EntryFrame::kTrashRoot);
  }

  bool key(string_t& k) override {
    if (collecting_) {
      coll_key_ = k;
      return true;
    }
    key_ = k;
    return true;
  }

  bool end_object() override {
    if (collecting_) return CollectClose();
    Frame::Kind k = frames_.back().kind;
    frames_.pop_back();
    if (k == Frame::kTop) {
      done_ = true;
      return true;
    }
    if (k == Frame::kEntries) return true;
    return FinishEntry();
  }

  bool start_array(std::size_t) override {
    if (collecting_) return CollectOpen(OJson::array());
    if (frames_.empty() || frames_.back().kind == Frame::kEntries) {
      return Fail(frames_.empty() ? "the dump is not a JSON object" : "an entry must be an object");
    }
    return CollectOpen(OJson::array());
  }

  bool end_array() override { return CollectClose(); }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    if (error_.empty()) {
      error_ = std::string(ex.what()) + " (byte offset " + std::to_string(position) + ")";
      if (!pos_->error().ok()) error_ = "read failed: " + pos_->error().ToString();
    }
    return false;
  }

  const std::string& error() const { return error_; }

  // After a successful parse: the parts written once the whole tree is known.
  Status Finish(LoadStats* stats) {
    const std::string at = " (at the end, " + Where() + ")";
    if (!done_) return Status::Invalid("the dump ends early" + at);
    if (!has_setting_) return Status::Invalid("the dump has no \"Setting\"" + at);
    if (!has_counters_) return Status::Invalid("the dump has no \"Counters\"" + at);
    if (!seen_tree_) return Status::Invalid("the dump has no \"FSTree\"" + at);
    JFS_RETURN_IF_ERROR(Flush());
    // Hard links: the real link count, and a single remaining parent goes back into the attr.
    for (const auto& [ino, li] : links_) {
      const Ino i = ino;
      const LinkInfo l = li;
      ops_.push_back([i, l](Tx& tx) {
        Attr a;
        JFS_RETURN_IF_ERROR(tx.GetAttr(i, &a));
        a.nlink = l.count;
        if (l.count == 1) {
          a.parent = l.first_parent;
          JFS_RETURN_IF_ERROR(tx.AdjustParent(i, l.first_parent, -1));
        }
        return tx.PutAttr(i, a);
      });
      JFS_RETURN_IF_ERROR(MaybeFlush());
    }
    for (const auto& [k, n] : refs_) {
      const SliceKey key = k;
      const int64_t count = n;
      ops_.push_back([key, count](Tx& tx) {
        JFS_RETURN_IF_ERROR(tx.NewSliceRef(key.id, key.size));
        if (count > 1) JFS_RETURN_IF_ERROR(tx.IncrSliceRef(key.id, key.size, count - 1, nullptr));
        return Status::OK();
      });
      JFS_RETURN_IF_ERROR(MaybeFlush());
    }
    for (int k = 0; k < 3; ++k) {
      for (const auto& [key, q] : quotas_[k]) {
        const uint64_t kk = key;
        QuotaRecord rec = q;
        if (k == 1 || k == 2) {
          auto& usage = k == 1 ? user_usage_ : group_usage_;
          rec.used_space = usage[kk].first;
          rec.used_inodes = usage[kk].second;
        }
        ops_.push_back(
            [k, kk, rec](Tx& tx) { return tx.PutQuota(static_cast<QuotaKind>(k), kk, rec); });
      }
    }
    JFS_RETURN_IF_ERROR(Flush());
    int64_t next_inode = std::max(dumped_next_[0], max_ino_ + 1);
    int64_t next_chunk = std::max(dumped_next_[1], max_slice_ + 1);
    int64_t next_session = dumped_next_[2];
    int64_t next_trash = std::max(dumped_next_[3], max_trash_);
    const bool redis = e_.Name() == "redis";
    const uint32_t acl_max = next_acl_ - 1;
    ops_.push_back([=, this](Tx& tx) {
      const std::pair<const char*, int64_t> set[] = {
          {"usedSpace", used_space_}, {"totalInodes", used_inodes_}, {"nextInode", next_inode},
          {"nextChunk", next_chunk},  {"nextSession", next_session}, {"nextTrash", next_trash}};
      for (const auto& [name, v] : set) JFS_RETURN_IF_ERROR(SetCounter(tx, name, v));
      // Redis keeps the last ACL id in a counter (JuiceFS aclMaxId); SQL uses autoincrement.
      if (redis && acl_max > 0) JFS_RETURN_IF_ERROR(SetCounter(tx, "aclMaxId", acl_max));
      return Status::OK();
    });
    JFS_RETURN_IF_ERROR(Flush());
    // The Format last: until it is there the database reads as "not formatted".
    const std::string setting = EncodeFormat(format_);
    JFS_RETURN_IF_ERROR(e_.Txn([&](Tx& tx) { return tx.PutSetting(setting); }));
    if (o_.progress) o_.progress(entries_count_);
    if (stats) *stats = {entries_count_, inodes_count_};
    return Status::OK();
  }

  Status engine_error() const { return engine_error_; }

 private:
  struct Frame {
    enum Kind { kTop, kEntry, kEntries } kind;
  };
  struct EntryFrame {
    enum Kind { kTreeRoot, kTrashRoot, kNormal } kind;
    std::string name;
    Ino parent = 0;
    bool in_trash = false;
    uint64_t line = 0;
    bool has_attr = false;
    Attr attr;
    Ino ino = 0;
    bool first = true;
    bool hardlink = false;
    bool saw_entries = false;
    std::optional<std::string> symlink;
    std::vector<std::pair<std::string, std::string>> xattrs;
    std::optional<AclRule> access, dflt;
    std::vector<std::pair<uint32_t, std::string>> chunks;  // index, 24-byte records
    uint32_t subdirs = 0;
    int64_t sub_space = 0, sub_inodes = 0;  // everything below (dir quota usage)
    // Hashes of the children's names seen so far (duplicate names; 8 bytes per child of each
    // directory on the stack).
    std::unordered_set<uint64_t> name_hashes;
  };

  static Status SetCounter(Tx& tx, const char* name, int64_t target) {
    int64_t cur = 0;
    JFS_RETURN_IF_ERROR(tx.GetCounter(name, &cur));
    if (cur != target) JFS_RETURN_IF_ERROR(tx.IncrCounter(name, target - cur, nullptr));
    return Status::OK();
  }

  std::string Where() const {
    return "line " + std::to_string(pos_->Line()) + " (byte offset " +
           std::to_string(pos_->Offset()) + ")";
  }

  bool Fail(const std::string& msg) {
    if (error_.empty()) {
      error_ = msg;
      if (!entries_.empty() && entries_.back().has_attr) {
        error_ += " (in the entry of inode " + std::to_string(entries_.back().ino) + ")";
      }
      error_ += " at " + Where();
    }
    return false;
  }

  bool PushEntry(std::string name, EntryFrame::Kind kind, Ino parent, bool in_trash) {
    EntryFrame ef;
    ef.kind = kind;
    ef.name = std::move(name);
    ef.parent = parent;
    ef.in_trash = in_trash;
    ef.line = pos_->Line();
    entries_.push_back(std::move(ef));
    frames_.push_back({Frame::kEntry});
    return true;
  }

  // ---- small values collected as a DOM (attr, chunks, Setting, ...) ----
  bool CollectOpen(OJson v) {
    if (!collecting_) {
      collecting_ = true;
      field_ = key_;
      coll_root_ = std::move(v);
      coll_stack_.assign(1, &coll_root_);
      return true;
    }
    OJson* parent = coll_stack_.back();
    OJson* child;
    if (parent->is_object()) {
      child = &((*parent)[coll_key_] = std::move(v));
    } else {
      parent->push_back(std::move(v));
      child = &parent->back();
    }
    coll_stack_.push_back(child);
    return true;
  }

  bool CollectClose() {
    coll_stack_.pop_back();
    if (!coll_stack_.empty()) return true;
    collecting_ = false;
    return Dispatch(field_, coll_root_);
  }

  bool Scalar(OJson v) {
    if (collecting_) {
      OJson* parent = coll_stack_.back();
      if (parent->is_object()) {
        (*parent)[coll_key_] = std::move(v);
      } else {
        parent->push_back(std::move(v));
      }
      return true;
    }
    if (frames_.empty()) return Fail("the dump is not a JSON object");
    if (frames_.back().kind == Frame::kEntries) return Fail("an entry must be an object");
    return Dispatch(key_, v);
  }

  // ---- typed field access with errors naming the field ----
  bool U64(const OJson& o, const char* key, uint64_t max, bool required, uint64_t* out,
           const std::string& what) {
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) {
      *out = 0;
      return required ? Fail(what + ": missing \"" + key + "\"") : true;
    }
    if (!it->is_number_integer() ||
        (it->is_number_integer() && !it->is_number_unsigned() && it->get<int64_t>() < 0)) {
      return Fail(what + ": \"" + key + "\" must be a non-negative integer, not " + it->dump());
    }
    *out = it->get<uint64_t>();
    if (*out > max) return Fail(what + ": \"" + key + "\" out of range: " + it->dump());
    return true;
  }

  bool I64(const OJson& o, const char* key, int64_t* out, const std::string& what) {
    auto it = o.find(key);
    if (it == o.end()) return Fail(what + ": missing \"" + key + "\"");
    if (!it->is_number_integer() ||
        (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))) {
      return Fail(what + ": \"" + key + "\" must be an integer, not " + it->dump());
    }
    *out = it->get<int64_t>();
    return true;
  }

  bool Str(const OJson& o, const char* key, std::string* out, const std::string& what) {
    auto it = o.find(key);
    if (it == o.end() || !it->is_string()) {
      return Fail(what + ": \"" + key + "\" must be a string" +
                  (it == o.end() ? " (missing)" : ", not " + it->dump()));
    }
    *out = it->get<std::string>();
    return true;
  }

  bool ParseAcl(const OJson& v, AclRule* r) {
    if (!v.is_object()) return Fail("an ACL must be an object, not " + v.dump());
    uint64_t x[4];
    const char* keys[4] = {"owner", "group", "other", "mask"};
    for (int i = 0; i < 4; ++i) {
      if (!U64(v, keys[i], 0xFFFF, true, &x[i], "ACL")) return false;
    }
    r->owner = static_cast<uint16_t>(x[0]), r->group = static_cast<uint16_t>(x[1]);
    r->other = static_cast<uint16_t>(x[2]), r->mask = static_cast<uint16_t>(x[3]);
    for (auto [key, list] : {std::pair{"users", &r->users}, std::pair{"groups", &r->groups}}) {
      list->clear();
      auto it = v.find(key);
      if (it == v.end() || it->is_null()) continue;
      if (!it->is_array()) return Fail(std::string("ACL \"") + key + "\" must be an array or null");
      for (const OJson& e : *it) {
        if (!e.is_object()) return Fail("an ACL entry must be an object");
        uint64_t id = 0, perm = 0;
        if (!U64(e, "id", UINT32_MAX, true, &id, "ACL entry") ||
            !U64(e, "perm", 0xFFFF, true, &perm, "ACL entry")) {
          return false;
        }
        list->push_back({static_cast<uint32_t>(id), static_cast<uint16_t>(perm)});
      }
    }
    return true;
  }

  bool ParseQuotas(const OJson& v, std::map<uint64_t, QuotaRecord>* out, const std::string& what) {
    if (!v.is_object()) return Fail(what + " must be an object");
    for (const auto& [k, q] : v.items()) {
      uint64_t key = 0;
      auto [p, ec] = std::from_chars(k.data(), k.data() + k.size(), key);
      if (ec != std::errc() || p != k.data() + k.size()) {
        return Fail(what + ": key \"" + k + "\" is not a number");
      }
      if (!q.is_object()) return Fail(what + " \"" + k + "\" must be an object");
      QuotaRecord r;
      if (!I64(q, "maxSpace", &r.max_space, what) || !I64(q, "maxInodes", &r.max_inodes, what)) {
        return false;
      }
      (*out)[key] = r;
    }
    return true;
  }

  bool Dispatch(const std::string& field, const OJson& v) {
    if (frames_.back().kind == Frame::kTop) return TopField(field, v);
    return EntryField(entries_.back(), field, v);
  }

  bool TopField(const std::string& field, const OJson& v) {
    if (field == "Setting") {
      if (!v.is_object()) return Fail("\"Setting\" must be an object");
      std::string text;
      try {
        text = v.dump();
      } catch (const std::exception& ex) {
        return Fail(std::string("\"Setting\": ") + ex.what());
      }
      Status st = DecodeFormat(text, &format_);
      if (!st.ok()) return Fail("\"Setting\": " + st.message());
      if (format_.name.empty()) return Fail("\"Setting\" has no volume Name");
      has_setting_ = true;
      return true;
    }
    if (field == "Counters") {
      if (!v.is_object()) return Fail("\"Counters\" must be an object");
      const char* keys[4] = {"nextInodes", "nextChunk", "nextSession", "nextTrash"};
      for (int i = 0; i < 4; ++i) {
        uint64_t x = 0;
        if (!U64(v, keys[i], INT64_MAX, false, &x, "Counters")) return false;
        dumped_next_[i] = static_cast<int64_t>(x);
      }
      has_counters_ = true;
      return true;
    }
    if (field == "Sustained") {
      if (!v.is_array() && !v.is_null()) return Fail("\"Sustained\" must be an array");
      if (v.is_null()) return true;
      for (const OJson& s : v) {
        uint64_t sid = 0;
        if (!s.is_object() || !U64(s, "sid", INT64_MAX, true, &sid, "Sustained")) {
          return s.is_object() ? false : Fail("a \"Sustained\" item must be an object");
        }
        auto it = s.find("inodes");
        if (it == s.end() || !(it->is_array() || it->is_null())) {
          return Fail("Sustained: \"inodes\" must be an array");
        }
        if (it->is_null()) continue;
        for (const OJson& i : *it) {
          if (!i.is_number_unsigned()) return Fail("Sustained: inodes must be numbers");
          const Ino ino = i.get<uint64_t>();
          ops_.push_back([sid, ino](Tx& tx) { return tx.AddSustained(sid, ino); });
        }
      }
      return true;
    }
    if (field == "DelFiles") {
      if (v.is_null()) return true;
      if (!v.is_array()) return Fail("\"DelFiles\" must be an array");
      for (const OJson& d : v) {
        if (!d.is_object()) return Fail("a \"DelFiles\" item must be an object");
        uint64_t ino = 0, length = 0;
        int64_t expire = 0;
        if (!U64(d, "inode", kMaxNormalIno, true, &ino, "DelFiles") ||
            !U64(d, "length", INT64_MAX, true, &length, "DelFiles") ||
            !I64(d, "expire", &expire, "DelFiles")) {
          return false;
        }
        ops_.push_back(
            [ino, length, expire](Tx& tx) { return tx.AddDelFile(ino, length, expire); });
      }
      return true;
    }
    if (field == "Quotas") return ParseQuotas(v, &quotas_[0], "Quotas");
    if (field == "UserQuotas") return ParseQuotas(v, &quotas_[1], "UserQuotas");
    if (field == "GroupQuotas") return ParseQuotas(v, &quotas_[2], "GroupQuotas");
    if (field == "FSTree" || field == "Trash") return Fail("\"" + field + "\" must be an object");
    return true;  // ChangeLog and unknown keys: nothing this implementation stores
  }

  bool EntryField(EntryFrame& ef, const std::string& field, const OJson& v) {
    if (field == "attr") {
      if (ef.has_attr) return Fail("duplicate \"attr\"");
      return ParseAttr(ef, v);
    }
    if (!ef.has_attr) return Fail("\"" + field + "\" before \"attr\" (attr must come first)");
    if (field == "symlink") {
      if (!v.is_string()) return Fail("\"symlink\" must be a string");
      if (ef.attr.typ != kTypeSymlink) return Fail("\"symlink\" in a non-symlink");
      ef.symlink = UnescapeDumpString(v.get<std::string>());
      if (ef.symlink->empty() || ef.symlink->size() > kMaxSymlink) {
        return Fail("symlink target must be 1.." + std::to_string(kMaxSymlink) + " bytes");
      }
      return true;
    }
    if (field == "xattrs") {
      if (v.is_null()) return true;
      if (!v.is_array()) return Fail("\"xattrs\" must be an array");
      for (const OJson& x : v) {
        if (!x.is_object()) return Fail("an xattr must be an object");
        std::string name, value;
        if (!Str(x, "name", &name, "xattr") || !Str(x, "value", &value, "xattr")) return false;
        if (name.empty() || name.size() > kMaxXattrName) return Fail("bad xattr name length");
        value = UnescapeDumpString(value);
        if (value.size() > kMaxXattrValue) return Fail("xattr value too long");
        ef.xattrs.emplace_back(std::move(name), std::move(value));
      }
      return true;
    }
    if (field == "posix_acl_access" || field == "posix_acl_default") {
      if (v.is_null()) return true;
      AclRule r;
      if (!ParseAcl(v, &r)) return false;
      (field == "posix_acl_access" ? ef.access : ef.dflt) = std::move(r);
      return true;
    }
    if (field == "chunks") return ParseChunks(ef, v);
    if (field == "entries") return Fail("\"entries\" must be an object");
    return true;  // unknown keys are ignored, as JuiceFS does
  }

  bool ParseAttr(EntryFrame& ef, const OJson& v) {
    if (!v.is_object()) return Fail("\"attr\" must be an object");
    const std::string w = "attr";
    uint64_t ino, flags, mode, uid, gid, an, mn, cn, nlink, length, rdev, tier;
    std::string type;
    Attr& a = ef.attr;
    if (!U64(v, "inode", UINT64_MAX, true, &ino, w) || !U64(v, "flags", 0xFF, false, &flags, w) ||
        !Str(v, "type", &type, w) || !U64(v, "mode", 0xFFFF, true, &mode, w) ||
        !U64(v, "uid", UINT32_MAX, true, &uid, w) || !U64(v, "gid", UINT32_MAX, true, &gid, w) ||
        !I64(v, "atime", &a.atime, w) || !I64(v, "mtime", &a.mtime, w) ||
        !I64(v, "ctime", &a.ctime, w) || !U64(v, "atimensec", 999999999, false, &an, w) ||
        !U64(v, "mtimensec", 999999999, false, &mn, w) ||
        !U64(v, "ctimensec", 999999999, false, &cn, w) ||
        !U64(v, "nlink", UINT32_MAX, true, &nlink, w) ||
        !U64(v, "length", INT64_MAX, true, &length, w) ||
        !U64(v, "rdev", UINT32_MAX, false, &rdev, w) || !U64(v, "tier", 0xFF, false, &tier, w)) {
      return false;
    }
    a.typ = TypeFromName(type);
    if (a.typ == 0) return Fail("attr: unknown type \"" + type + "\"");
    a.flags = static_cast<uint8_t>(flags);
    a.mode = static_cast<uint16_t>(mode & 07777);
    a.uid = static_cast<uint32_t>(uid), a.gid = static_cast<uint32_t>(gid);
    a.atimensec = static_cast<uint32_t>(an), a.mtimensec = static_cast<uint32_t>(mn);
    a.ctimensec = static_cast<uint32_t>(cn);
    a.nlink = static_cast<uint32_t>(nlink);
    a.length = a.typ == kTypeFile ? length : 0;
    a.rdev = static_cast<uint32_t>(rdev);
    a.tier = static_cast<uint8_t>(tier);
    ef.has_attr = true;

    if (ef.kind == EntryFrame::kTreeRoot) {
      ino = kRootIno;  // a sub-directory dump loads as the root (as JuiceFS does)
      if (a.typ != kTypeDirectory) return Fail("\"FSTree\" must be a directory");
    } else if (ef.kind == EntryFrame::kTrashRoot) {
      if (ino != kTrashIno) return Fail("\"Trash\" must have inode " + std::to_string(kTrashIno));
      if (a.typ != kTypeDirectory) return Fail("\"Trash\" must be a directory");
    } else {
      const bool normal = ino >= 2 && ino <= kMaxNormalIno;
      const bool trash_dir = ef.in_trash && ino > kTrashIno && a.typ == kTypeDirectory;
      if (!normal && !trash_dir) {
        ef.ino = ino;
        return Fail("attr: inode " + std::to_string(ino) + " is not a valid inode here");
      }
      if (ef.name.empty() || ef.name.size() > kMaxName || ef.name.find('/') != std::string::npos ||
          ef.name.find('\0') != std::string::npos || ef.name == "." || ef.name == "..") {
        return Fail("bad entry name \"" + EscapeDumpString(ef.name) + "\"");
      }
    }
    ef.ino = ino;
    if (!seen_.Insert(ino)) {
      auto it = links_.find(ino);
      if (it == links_.end() || a.typ == kTypeDirectory) {
        return Fail("duplicate inode " + std::to_string(ino) +
                    " (only files with nlink > 1 may appear more than once)");
      }
      if (it->second.type != a.typ) {
        return Fail("inode " + std::to_string(ino) + " appears again with another type");
      }
      ef.first = false;
      ef.hardlink = true;
      return true;
    }
    ef.first = true;
    if (a.typ != kTypeDirectory && a.nlink > 1) {
      ef.hardlink = true;
      links_[ino] = {a.typ, 0, ef.parent};
    }
    ++inodes_count_;
    if (ino > kRootIno && ino != kTrashIno) {
      used_space_ += Align4K(a.typ == kTypeFile ? a.length : 0);
      used_inodes_ += 1;
      if (!quotas_[1].empty() && quotas_[1].count(a.uid)) {
        user_usage_[a.uid].first += Align4K(a.length), user_usage_[a.uid].second += 1;
      }
      if (!quotas_[2].empty() && quotas_[2].count(a.gid)) {
        group_usage_[a.gid].first += Align4K(a.length), group_usage_[a.gid].second += 1;
      }
    }
    if (ino < kTrashIno) {
      max_ino_ = std::max<int64_t>(max_ino_, static_cast<int64_t>(ino));
    } else {
      max_trash_ = std::max<int64_t>(max_trash_, static_cast<int64_t>(ino - kTrashIno));
    }
    return true;
  }

  bool ParseChunks(EntryFrame& ef, const OJson& v) {
    if (v.is_null()) return true;
    if (!v.is_array()) return Fail("\"chunks\" must be an array");
    if (ef.attr.typ != kTypeFile) return Fail("\"chunks\" in a non-regular file");
    std::vector<uint32_t> seen_idx;
    for (const OJson& c : v) {
      if (!c.is_object()) return Fail("a chunk must be an object");
      uint64_t idx = 0;
      if (!U64(c, "index", UINT32_MAX, true, &idx, "chunk")) return false;
      if (std::find(seen_idx.begin(), seen_idx.end(), idx) != seen_idx.end()) {
        return Fail("duplicate chunk index " + std::to_string(idx));
      }
      seen_idx.push_back(static_cast<uint32_t>(idx));
      auto it = c.find("slices");
      if (it == c.end() || !(it->is_array() || it->is_null())) {
        return Fail("chunk " + std::to_string(idx) + ": \"slices\" must be an array");
      }
      std::vector<Slice> slices;
      std::string records;
      if (it->is_array()) {
        for (const OJson& s : *it) {
          if (!s.is_object()) return Fail("a slice must be an object");
          const std::string w = "chunk " + std::to_string(idx) + " slice";
          uint64_t id = 0, cid = 0, pos = 0, size = 0, off = 0, len = 0;
          if (!U64(s, "id", UINT64_MAX, false, &id, w) ||
              !U64(s, "chunkid", UINT64_MAX, false, &cid, w) ||
              !U64(s, "pos", kChunkSize, false, &pos, w) ||
              !U64(s, "size", UINT32_MAX, true, &size, w) ||
              !U64(s, "off", UINT32_MAX, false, &off, w) ||
              !U64(s, "len", kChunkSize, true, &len, w)) {
            return false;
          }
          if (id == 0) id = cid;  // older dumps spell it "chunkid"
          if (pos + len > kChunkSize) return Fail(w + " extends past the 64 MiB chunk");
          if (id != 0 && off + len > size) return Fail(w + ": off + len exceeds the slice size");
          Slice sl{static_cast<uint32_t>(pos), id, static_cast<uint32_t>(size),
                   static_cast<uint32_t>(off), static_cast<uint32_t>(len)};
          slices.push_back(sl);
          AppendSlice(&records, sl);
        }
      }
      // Data visible beyond the file length cannot come from a consistent volume (truncate
      // covers what it cuts with a hole); hole records beyond it are normal.
      const uint64_t start = idx * kChunkSize;
      uint64_t at = start;
      for (const SliceView& p : BuildSlices(slices)) {
        if (p.id != 0 && p.len > 0 && at + p.len > ef.attr.length) {
          return Fail("chunk " + std::to_string(idx) + " has data (slice " + std::to_string(p.id) +
                      ") beyond the file length " + std::to_string(ef.attr.length));
        }
        at += p.len;
      }
      if (ef.first) {
        for (const Slice& sl : slices) {
          if (sl.id == 0) continue;
          ++refs_[{sl.id, sl.size}];
          max_slice_ = std::max<int64_t>(max_slice_, static_cast<int64_t>(sl.id));
        }
      }
      ef.chunks.emplace_back(static_cast<uint32_t>(idx), std::move(records));
    }
    return true;
  }

  uint32_t AclId(const AclRule& r) {
    std::string key = std::to_string(r.owner) + "," + std::to_string(r.group) + "," +
                      std::to_string(r.mask) + "," + std::to_string(r.other);
    for (const auto* l : {&r.users, &r.groups}) {
      key += "|";
      for (const AclEntry& e : *l) key += std::to_string(e.id) + ":" + std::to_string(e.perm) + ",";
    }
    auto [it, inserted] = acl_ids_.emplace(key, next_acl_);
    if (inserted) {
      const uint32_t id = next_acl_++;
      ops_.push_back([id, r](Tx& tx) { return tx.PutAcl(id, r); });
    }
    return it->second;
  }

  bool FinishEntry() {
    EntryFrame ef = std::move(entries_.back());
    entries_.pop_back();
    if (!ef.has_attr) return Fail("entry \"" + EscapeDumpString(ef.name) + "\" has no \"attr\"");
    const Ino ino = ef.ino;
    if (ef.first) {
      Attr a = ef.attr;
      if (a.typ == kTypeDirectory) {
        a.nlink = 2 + (ino < kTrashIno ? ef.subdirs : 0);
        a.length = 4096;
      } else {
        a.nlink = 1;  // hard links get their count at the end
      }
      if (a.typ == kTypeSymlink) {
        if (!ef.symlink) return Fail("symlink inode " + std::to_string(ino) + " has no target");
        a.length = ef.symlink->size();
      }
      a.parent = ef.kind == EntryFrame::kNormal ? (ef.hardlink ? 0 : ef.parent) : kRootIno;
      if (ef.access) a.access_acl = AclId(*ef.access);
      if (ef.dflt) a.default_acl = AclId(*ef.dflt);
      if (a.typ == kTypeDirectory && quotas_[0].count(ino)) {
        quotas_[0][ino].used_space = ef.sub_space;
        quotas_[0][ino].used_inodes = ef.sub_inodes;
      }
      ops_.push_back([ino, a, sym = std::move(ef.symlink), xattrs = std::move(ef.xattrs),
                      chunks = std::move(ef.chunks)](Tx& tx) {
        JFS_RETURN_IF_ERROR(tx.PutAttr(ino, a));
        if (sym) JFS_RETURN_IF_ERROR(tx.PutSymlink(ino, *sym));
        for (const auto& [n, val] : xattrs) JFS_RETURN_IF_ERROR(tx.PutXattr(ino, n, val));
        for (const auto& [idx, rec] : chunks) JFS_RETURN_IF_ERROR(tx.PutChunk(ino, idx, rec));
        return Status::OK();
      });
    }
    if (ef.kind == EntryFrame::kNormal) {
      EntryFrame& dir = entries_.back();
      const Ino parent = ef.parent;
      const uint8_t typ = ef.attr.typ;
      const bool hard = ef.hardlink;
      ops_.push_back([parent, name = ef.name, ino, typ, hard](Tx& tx) {
        JFS_RETURN_IF_ERROR(tx.PutEntry(parent, name, ino, typ));
        if (hard) JFS_RETURN_IF_ERROR(tx.AdjustParent(ino, parent, 1));
        return Status::OK();
      });
      if (hard) links_[ino].count++;
      if (typ == kTypeDirectory) dir.subdirs++;
      dir.sub_space += ef.sub_space + Align4K(typ == kTypeFile ? ef.attr.length : 0);
      dir.sub_inodes += ef.sub_inodes + 1;
    }
    ++entries_count_;
    if (o_.progress && entries_count_ % 1000 == 0) o_.progress(entries_count_);
    Status st = MaybeFlush();
    if (!st.ok()) {
      engine_error_ = st;
      return Fail("writing to the database failed: " + st.ToString());
    }
    return true;
  }

  Status MaybeFlush() {
    if (ops_.size() < o_.batch_entries) return Status::OK();
    return Flush();
  }

  Status Flush() {
    if (ops_.empty()) return Status::OK();
    Status st = e_.Txn([&](Tx& tx) {
      for (const Op& op : ops_) JFS_RETURN_IF_ERROR(op(tx));
      return Status::OK();
    });
    ops_.clear();
    return st;
  }

  Engine& e_;
  const LoadOptions& o_;
  PosBuf* pos_;

  std::vector<Frame> frames_;
  std::vector<EntryFrame> entries_;
  std::string key_;
  bool collecting_ = false;
  std::string field_, coll_key_;
  OJson coll_root_;
  std::vector<OJson*> coll_stack_;

  std::string error_;
  Status engine_error_;
  bool done_ = false, has_setting_ = false, has_counters_ = false;
  bool seen_tree_ = false, seen_trash_ = false;

  Format format_;
  int64_t dumped_next_[4] = {};
  std::map<uint64_t, QuotaRecord> quotas_[3];
  std::map<uint64_t, std::pair<int64_t, int64_t>> user_usage_, group_usage_;
  InodeSet seen_;
  std::unordered_map<Ino, LinkInfo> links_;
  std::unordered_map<SliceKey, int64_t, SliceKeyHash> refs_;
  std::map<std::string, uint32_t> acl_ids_;
  uint32_t next_acl_ = 1;
  int64_t used_space_ = 0, used_inodes_ = 0, max_ino_ = 1, max_slice_ = 0, max_trash_ = 0;
  uint64_t entries_count_ = 0, inodes_count_ = 0;
  std::vector<Op> ops_;
};

// Refuses a database holding a volume (or a root inode) without writing anything.
Status CheckEmpty(Engine& e) {
  std::string setting;
  Status st = e.Txn([&](Tx& tx) { return tx.GetSetting(&setting); }, true);
  if (st.ok()) {
    Format f;
    std::string name = DecodeFormat(setting, &f).ok() ? f.name : "?";
    return Status::Exists("database is not empty: volume '" + name +
                          "' is formatted there; load needs an empty database (destroy the "
                          "volume first or use another database)");
  }
  if (!st.IsNotFound()) return st;
  return Status::OK();
}

// ---- files -------------------------------------------------------------------------------------

class FdWriter : public DumpWriter {
 public:
  explicit FdWriter(int fd, bool own) : fd_(fd), own_(own) {}
  ~FdWriter() override {
    if (own_ && fd_ >= 0) ::close(fd_);
  }
  Status Write(std::string_view d) override {
    while (!d.empty()) {
      ssize_t n = ::write(fd_, d.data(), d.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::Error(errno, std::string("write: ") + std::strerror(errno));
      }
      d.remove_prefix(static_cast<size_t>(n));
    }
    return Status::OK();
  }
  Status Close() {
    if (own_ && fd_ >= 0) {
      int fd = fd_;
      fd_ = -1;
      if (::fsync(fd) != 0 && errno != EINVAL) {
        int err = errno;
        ::close(fd);
        return Status::Error(err, std::string("fsync: ") + std::strerror(err));
      }
      if (::close(fd) != 0)
        return Status::Error(errno, std::string("close: ") + std::strerror(errno));
    }
    return Status::OK();
  }

 private:
  int fd_;
  bool own_;
};

struct GzCloser {
  void operator()(gzFile f) const {
    if (f) gzclose(f);
  }
};
using GzPtr = std::unique_ptr<gzFile_s, GzCloser>;

class GzWriter : public DumpWriter {
 public:
  explicit GzWriter(GzPtr f) : f_(std::move(f)) {}
  Status Write(std::string_view d) override {
    while (!d.empty()) {
      const unsigned n = static_cast<unsigned>(std::min<size_t>(d.size(), 1u << 30));
      if (gzwrite(f_.get(), d.data(), n) != static_cast<int>(n)) {
        int err = 0;
        return Status::IOError(std::string("gzip write: ") + gzerror(f_.get(), &err));
      }
      d.remove_prefix(n);
    }
    return Status::OK();
  }
  Status Close() {
    int rc = gzclose(f_.release());
    return rc == Z_OK ? Status::OK() : Status::IOError("gzip close failed");
  }

 private:
  GzPtr f_;
};

class GzReader : public DumpReader {
 public:
  explicit GzReader(GzPtr f) : f_(std::move(f)) {}
  Status Read(char* buf, size_t n, size_t* got) override {
    int r = gzread(f_.get(), buf, static_cast<unsigned>(std::min<size_t>(n, 1u << 30)));
    if (r < 0) {
      int err = 0;
      return Status::IOError(std::string("read: ") + gzerror(f_.get(), &err));
    }
    *got = static_cast<size_t>(r);
    return Status::OK();
  }

 private:
  GzPtr f_;
};

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string EscapeDumpString(std::string_view s) {
  static constexpr char kHexUpper[] = "0123456789ABCDEF";
  std::string out;
  bool escaped = false;
  size_t i = 0;
  auto esc = [&](uint8_t c) {
    if (!escaped) {
      out.assign(s.substr(0, i));
      escaped = true;
    }
    out.push_back('%');
    out.push_back(kHexUpper[c >> 4]);
    out.push_back(kHexUpper[c & 0xF]);
  };
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    size_t n = 1;
    bool bad = false;
    if (c < 0x80) {
      bad = c < 0x20 || c == '%' || c == '"' || c == '\\';
    } else {
      // Valid UTF-8 sequence length (Go's utf8.DecodeRune rules), 0 when invalid.
      auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
        return i + k < s.size() && static_cast<uint8_t>(s[i + k]) >= lo &&
               static_cast<uint8_t>(s[i + k]) <= hi;
      };
      if (c >= 0xC2 && c <= 0xDF) {
        n = cont(1) ? 2 : 0;
      } else if (c == 0xE0) {
        n = cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
      } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        n = cont(1) && cont(2) ? 3 : 0;
      } else if (c == 0xED) {
        n = cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
      } else if (c == 0xF0) {
        n = cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
      } else if (c >= 0xF1 && c <= 0xF3) {
        n = cont(1) && cont(2) && cont(3) ? 4 : 0;
      } else if (c == 0xF4) {
        n = cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
      } else {
        n = 0;
      }
      // U+FFFD itself (EF BF BD) is escaped byte by byte so it survives a load (see dump.h).
      const bool replacement = n == 3 && c == 0xEF && static_cast<uint8_t>(s[i + 1]) == 0xBF &&
                               static_cast<uint8_t>(s[i + 2]) == 0xBD;
      if (n == 0) {
        bad = true;
        n = 1;
      } else if (replacement) {
        for (size_t k = 0; k < 3; ++k) esc(static_cast<uint8_t>(s[i + k]));
        i += 3;
        continue;
      }
    }
    if (bad) {
      esc(c);
    } else if (escaped) {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return escaped ? out : std::string(s);
}

std::string UnescapeDumpString(std::string_view s) {
  if (s.find('%') == std::string_view::npos) return std::string(s);
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%' && i + 2 < s.size()) {
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h >= 0 && l >= 0) {
        c = static_cast<char>(h * 16 + l);
        i += 2;
      }
    }
    out.push_back(c);
  }
  return out;
}

Status DumpMeta(Engine& engine, const DumpOptions& options, DumpWriter* out) {
  DumpOptions o = options;
  if (o.subdir == "/") o.subdir.clear();
  Dumper d(engine, o, out);
  Status st = d.Run();
  return st.ok() ? st : st.WithContext("dump");
}

Status LoadMeta(Engine& engine, DumpReader* in, const LoadOptions& options, LoadStats* stats) {
  JFS_RETURN_IF_ERROR(CheckEmpty(engine).WithContext("load"));
  JFS_RETURN_IF_ERROR(engine.InitSchema());
  {
    // A root inode without a Format is still somebody's data.
    Attr root;
    Status st = engine.Txn([&](Tx& tx) { return tx.GetAttr(kRootIno, &root); }, true);
    if (st.ok()) {
      return Status::Exists("load: database is not empty (it has a root inode but no format)");
    }
    if (!st.IsNotFound()) return st.WithContext("load");
  }
  PosBuf buf(in);
  std::istream is(&buf);
  LoadOptions o = options;
  if (o.batch_entries == 0) o.batch_entries = 1;
  Loader loader(engine, o, &buf);
  Status st;
  try {
    const bool ok = nlohmann::json::sax_parse(is, &loader, nlohmann::json::input_format_t::json,
                                              /*strict=*/true);
    if (!ok || !loader.error().empty()) {
      if (!loader.engine_error().ok()) {
        st = loader.engine_error().WithContext("load");
      } else {
        st = Status::Invalid("load: " +
                             (loader.error().empty() ? std::string("bad dump") : loader.error()));
      }
    } else {
      st = loader.Finish(stats);
      if (!st.ok()) st = st.WithContext("load");
    }
  } catch (const std::exception& ex) {
    st = Status::Invalid(std::string("load: ") + ex.what());
  }
  if (!st.ok()) {
    // The database was empty: Reset brings it back to that.
    Status r = engine.Reset();
    if (!r.ok())
      st = st.WithContext("(and resetting the partial load failed: " + r.ToString() + ")");
  }
  return st;
}

Status DumpMetaToFile(Engine& engine, const std::string& path, const DumpOptions& options) {
  int fd = 1;
  bool own = false;
  if (path != "-") {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Status::Error(errno, "dump: open " + path + ": " + std::strerror(errno));
    own = true;
  }
  if (EndsWith(path, ".gz")) {
    int gfd = own ? fd : ::dup(fd);
    if (gfd < 0) return Status::Error(errno, "dump: dup stdout");
    GzPtr f(gzdopen(gfd, "wb1"));
    if (!f) {
      ::close(gfd);
      return Status::IOError("dump: gzip open failed");
    }
    GzWriter w(std::move(f));
    JFS_RETURN_IF_ERROR(DumpMeta(engine, options, &w));
    return w.Close().WithContext("dump");
  }
  FdWriter w(fd, own);
  JFS_RETURN_IF_ERROR(DumpMeta(engine, options, &w));
  Status st = w.Close();
  return st.ok() ? st : st.WithContext("dump");
}

Status LoadMetaFromFile(Engine& engine, const std::string& path, const LoadOptions& options,
                        LoadStats* stats) {
  int fd = path == "-" ? ::dup(0) : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(errno, "load: open " + path + ": " + std::strerror(errno));
  GzPtr f(gzdopen(fd, "rb"));
  if (!f) {
    ::close(fd);
    return Status::IOError("load: cannot read " + path);
  }
  GzReader r(std::move(f));
  return LoadMeta(engine, &r, options, stats);
}

}  // namespace jfs::meta
