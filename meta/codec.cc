// Encoders mirror the Go code byte for byte (utils.Buffer big-endian records, encoding/json
// MarshalIndent/Marshal output); decoders accept whatever a JuiceFS 1.x client may have stored and
// turn anything else into an EIO/EINVAL Status without touching the output.
#include "meta/codec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <limits>
#include <string>
#include <system_error>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace jfs::meta {
namespace {

using OrderedJson = nlohmann::ordered_json;

// ---- big-endian records --------------------------------------------------------------------

void Put8(std::string* out, uint8_t v) {
  out->push_back(static_cast<char>(v));
}
void Put16(std::string* out, uint16_t v) {
  Put8(out, static_cast<uint8_t>(v >> 8));
  Put8(out, static_cast<uint8_t>(v));
}
void Put32(std::string* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v));
}
void Put64(std::string* out, uint64_t v) {
  Put32(out, static_cast<uint32_t>(v >> 32));
  Put32(out, static_cast<uint32_t>(v));
}

// Sequential reader; callers check Left() before each Get (as utils.ReadBuffer users do).
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  size_t Left() const { return data_.size() - pos_; }
  uint8_t Get8() { return static_cast<uint8_t>(data_[pos_++]); }
  uint16_t Get16() {
    uint16_t hi = Get8();
    return static_cast<uint16_t>((hi << 8) | Get8());
  }
  uint32_t Get32() {
    uint32_t hi = Get16();
    return (hi << 16) | Get16();
  }
  uint64_t Get64() {
    uint64_t hi = Get32();
    return (hi << 32) | Get32();
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

constexpr size_t kAttrLegacySize = 63;  // up to and including Rdev
constexpr size_t kAttrBaseSize = 72;    // 71 written bytes + one zero pad byte (Go's buffer size)
constexpr size_t kEntrySize = 9;

// ---- Go encoding/json compatible output ----------------------------------------------------

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence at s[i], or 0 when Go's utf8.DecodeRune would return
// RuneError with width 1 (invalid lead, bad continuation, overlong, surrogate, > U+10FFFF).
size_t ValidUtf8Len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
    return i + k < s.size() && b(k) >= lo && b(k) <= hi;
  };
  uint8_t c = b(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

// A JSON string exactly as Go's encoding/json writes it with HTML escaping on (the default for
// json.Marshal): <, >, & as \u003c/\u003e/\u0026, U+2028/U+2029 escaped, invalid UTF-8 bytes
// replaced by \ufffd, \b and \f short escapes (Go >= 1.22).
void AppendGoString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
        case '\\':
          out->push_back('\\');
          out->push_back(static_cast<char>(c));
          break;
        case '\b':
          out->append("\\b");
          break;
        case '\f':
          out->append("\\f");
          break;
        case '\n':
          out->append("\\n");
          break;
        case '\r':
          out->append("\\r");
          break;
        case '\t':
          out->append("\\t");
          break;
        default:
          if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            out->append("\\u00");
            out->push_back(kHex[c >> 4]);
            out->push_back(kHex[c & 0xF]);
          } else {
            out->push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    size_t n = ValidUtf8Len(s, i);
    if (n == 0) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    // U+2028 / U+2029 are E2 80 A8 / E2 80 A9.
    if (n == 3 && c == 0xE2 && static_cast<uint8_t>(s[i + 1]) == 0x80 &&
        (static_cast<uint8_t>(s[i + 2]) & 0xFE) == 0xA8) {
      out->append("\\u202");
      out->push_back(kHex[static_cast<uint8_t>(s[i + 2]) & 0xF]);
    } else {
      out->append(s.substr(i, n));
    }
    i += n;
  }
  out->push_back('"');
}

// float64 as Go's encoding/json writes it: shortest round-trip digits, %f style unless the
// magnitude is < 1e-6 or >= 1e21, and a two-digit negative exponent "e-07" shortened to "e-7".
void AppendGoFloat(std::string* out, double v) {
  double a = std::fabs(v);
  bool exp_form = a != 0 && (a < 1e-6 || a >= 1e21);
  char buf[512];
  auto res = std::to_chars(buf, buf + sizeof(buf), v,
                           exp_form ? std::chars_format::scientific : std::chars_format::fixed);
  if (res.ec != std::errc()) {
    out->append("0");  // unreachable for finite doubles; JSON parsing never yields NaN/Inf
    return;
  }
  std::string s(buf, res.ptr);
  size_t n = s.size();
  if (exp_form && n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') {
    s.erase(n - 2, 1);
  }
  out->append(s);
}

// A JSON value in the layout of Go's json.MarshalIndent(v, "", ""): every member/element on its
// own line without indentation, "key": value with one space, empty containers stay {} / [].
void AppendGoIndented(std::string* out, const OrderedJson& v) {
  switch (v.type()) {
    case OrderedJson::value_t::object: {
      if (v.empty()) {
        out->append("{}");
        return;
      }
      out->append("{\n");
      bool first = true;
      for (const auto& [key, val] : v.items()) {
        if (!first) out->append(",\n");
        first = false;
        AppendGoString(out, key);
        out->append(": ");
        AppendGoIndented(out, val);
      }
      out->append("\n}");
      return;
    }
    case OrderedJson::value_t::array: {
      if (v.empty()) {
        out->append("[]");
        return;
      }
      out->append("[\n");
      bool first = true;
      for (const auto& el : v) {
        if (!first) out->append(",\n");
        first = false;
        AppendGoIndented(out, el);
      }
      out->append("\n]");
      return;
    }
    case OrderedJson::value_t::string:
      AppendGoString(out, v.get_ref<const std::string&>());
      return;
    case OrderedJson::value_t::boolean:
      out->append(v.get<bool>() ? "true" : "false");
      return;
    case OrderedJson::value_t::number_integer:
      out->append(std::to_string(v.get<int64_t>()));
      return;
    case OrderedJson::value_t::number_unsigned:
      out->append(std::to_string(v.get<uint64_t>()));
      return;
    case OrderedJson::value_t::number_float:
      AppendGoFloat(out, v.get<double>());
      return;
    default:
      out->append("null");
      return;
  }
}

// Go's omitempty: false, 0, "", null, and empty maps/slices are left out.
bool IsGoEmpty(const OrderedJson& v) {
  switch (v.type()) {
    case OrderedJson::value_t::null:
      return true;
    case OrderedJson::value_t::boolean:
      return !v.get<bool>();
    case OrderedJson::value_t::string:
      return v.get_ref<const std::string&>().empty();
    case OrderedJson::value_t::object:
    case OrderedJson::value_t::array:
      return v.empty();
    case OrderedJson::value_t::number_integer:
      return v.get<int64_t>() == 0;
    case OrderedJson::value_t::number_unsigned:
      return v.get<uint64_t>() == 0;
    case OrderedJson::value_t::number_float:
      return v.get<double>() == 0;
    default:
      return false;
  }
}

bool EqualFoldAscii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// ---- Format field table ------------------------------------------------------------------------

// A Go Format field this implementation does not interpret but whose position Go fixes; its value
// lives in Format::extra_json under the canonical name.
struct ExtraField {};

using Member = std::variant<std::string Format::*, int Format::*, bool Format::*,
                            uint64_t Format::*, int64_t Format::*, ExtraField>;

struct FieldDesc {
  const char* name;
  Member member;
  bool omitempty;
};

// Exactly the order of the Go struct pkg/meta/config.go Format (format.md §4.1).
const FieldDesc kFormatFields[] = {
    {"Name", &Format::name, false},
    {"UUID", &Format::uuid, false},
    {"Storage", &Format::storage, false},
    {"StorageClass", &Format::storage_class, true},
    {"Tiers", ExtraField{}, true},
    {"Bucket", &Format::bucket, false},
    {"AccessKey", &Format::access_key, true},
    {"SecretKey", &Format::secret_key, true},
    {"SessionToken", &Format::session_token, true},
    {"BlockSize", &Format::block_size_kib, false},
    {"Compression", &Format::compression, true},
    {"Shards", &Format::shards, true},
    {"HashPrefix", &Format::hash_prefix, true},
    {"Capacity", &Format::capacity, true},
    {"Inodes", &Format::inodes, true},
    {"EncryptKey", &Format::encrypt_key, true},
    {"EncryptAlgo", &Format::encrypt_algo, true},
    {"KeyEncrypted", &Format::key_encrypted, true},
    {"UploadLimit", &Format::upload_limit, true},
    {"DownloadLimit", &Format::download_limit, true},
    {"TrashDays", &Format::trash_days, false},
    {"MetaVersion", &Format::meta_version, true},
    {"MinClientVersion", &Format::min_client_version, true},
    {"MaxClientVersion", &Format::max_client_version, true},
    {"DirStats", &Format::dir_stats, true},
    {"UserGroupQuota", &Format::user_group_quota, true},
    {"EnableACL", &Format::enable_acl, false},
    {"RangerRestUrl", ExtraField{}, true},
    {"RangerService", ExtraField{}, true},
    {"ChangeLog", ExtraField{}, true},
    {"ChangeLogMaxAge", ExtraField{}, true},
    {"ChangeLogMaxLines", ExtraField{}, true},
    {"KerbConf", ExtraField{}, true},
};

const FieldDesc* FindField(std::string_view key) {
  for (const auto& f : kFormatFields) {
    if (key == f.name) return &f;
  }
  // encoding/json falls back to a case-insensitive match.
  for (const auto& f : kFormatFields) {
    if (EqualFoldAscii(key, f.name)) return &f;
  }
  return nullptr;
}

struct MemberEncoder {
  const Format& f;
  bool omitempty;
  std::string* out;  // receives the value text; left empty when omitted

  void operator()(std::string Format::*m) const {
    if (!(omitempty && (f.*m).empty())) AppendGoString(out, f.*m);
  }
  void operator()(int Format::*m) const {
    if (!(omitempty && f.*m == 0)) out->append(std::to_string(f.*m));
  }
  void operator()(bool Format::*m) const {
    if (!(omitempty && !(f.*m))) out->append(f.*m ? "true" : "false");
  }
  void operator()(uint64_t Format::*m) const {
    if (!(omitempty && f.*m == 0)) out->append(std::to_string(f.*m));
  }
  void operator()(int64_t Format::*m) const {
    if (!(omitempty && f.*m == 0)) out->append(std::to_string(f.*m));
  }
  void operator()(ExtraField) const {}
};

// Appends `"key": value` for a value kept verbatim in extra_json. Values that are not valid JSON
// (only possible when a caller filled extra_json by hand) are dropped rather than written, since
// a malformed setting would lock every client out of the volume.
void AppendExtra(std::vector<std::string>* lines, const std::string& key, const std::string& text,
                 bool omitempty) {
  OrderedJson v = OrderedJson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (v.is_discarded()) return;
  if (omitempty && IsGoEmpty(v)) return;
  std::string line;
  AppendGoString(&line, key);
  line.append(": ");
  AppendGoIndented(&line, v);
  lines->push_back(std::move(line));
}

std::string EncodeFormatImpl(const Format& f) {
  std::vector<std::string> lines;
  for (const auto& field : kFormatFields) {
    if (std::holds_alternative<ExtraField>(field.member)) {
      auto it = f.extra_json.find(field.name);
      if (it != f.extra_json.end()) AppendExtra(&lines, it->first, it->second, field.omitempty);
      continue;
    }
    std::string value;
    std::visit(MemberEncoder{f, field.omitempty, &value}, field.member);
    if (value.empty()) continue;
    std::string line;
    AppendGoString(&line, field.name);
    line.append(": ");
    line.append(value);
    lines.push_back(std::move(line));
  }
  // Keys no Go Format field claims: Go clients would drop them, we keep them after the known ones.
  for (const auto& [key, text] : f.extra_json) {
    if (FindField(key) != nullptr) continue;
    AppendExtra(&lines, key, text, /*omitempty=*/false);
  }
  std::string out = "{\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out.append(",\n");
    out.append(lines[i]);
  }
  out.append("\n}");
  return out;
}

// Assigns one decoded JSON value to a typed Format member with encoding/json's rules: null leaves
// the field alone, a type mismatch or an out-of-range number is an error.
struct MemberDecoder {
  Format* f;
  const OrderedJson& v;
  const char* name;
  Status* st;

  Status Mismatch() const {
    return Status::Corruption(std::string("corrupted format: bad value for ") + name);
  }
  void operator()(std::string Format::*m) const {
    if (v.is_null()) return;
    if (!v.is_string()) {
      *st = Mismatch();
      return;
    }
    f->*m = v.get<std::string>();
  }
  void operator()(bool Format::*m) const {
    if (v.is_null()) return;
    if (!v.is_boolean()) {
      *st = Mismatch();
      return;
    }
    f->*m = v.get<bool>();
  }
  template <typename T>
  void SetInteger(T Format::*m) const {
    if (v.is_null()) return;
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
        *st = Mismatch();
        return;
      }
      f->*m = static_cast<T>(u);
      return;
    }
    if (v.is_number_integer()) {  // negative
      int64_t i = v.get<int64_t>();
      if (std::numeric_limits<T>::is_signed &&
          i >= static_cast<int64_t>(std::numeric_limits<T>::min())) {
        f->*m = static_cast<T>(i);
        return;
      }
    }
    *st = Mismatch();
  }
  void operator()(int Format::*m) const { SetInteger(m); }
  void operator()(uint64_t Format::*m) const { SetInteger(m); }
  void operator()(int64_t Format::*m) const { SetInteger(m); }
  void operator()(ExtraField) const {
    if (v.is_null()) return;
    f->extra_json[name] = v.dump();
  }
};

// Deepest bracket nesting outside strings; bounds the recursion of the Go-style writer.
size_t JsonNestingDepth(std::string_view s) {
  size_t depth = 0, max_depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

constexpr size_t kMaxFormatNesting = 64;
constexpr int kMaxMetaVersion = 1;

Status DecodeFormatObject(const OrderedJson& doc, Format* out) {
  if (!doc.is_object()) return Status::Corruption("corrupted format: not a JSON object");
  // Go decodes into a zero Format: absent fields are zero, not the defaults of `juicefs format`
  // (volumes created before MetaVersion existed have none).
  Format f;
  f.storage.clear();
  f.block_size_kib = 0;
  f.trash_days = 0;
  f.meta_version = 0;
  for (const auto& [key, val] : doc.items()) {
    const FieldDesc* field = FindField(key);
    if (field == nullptr) {
      f.extra_json[key] = val.dump();
      continue;
    }
    Status st;
    std::visit(MemberDecoder{&f, val, field->name, &st}, field->member);
    JFS_RETURN_IF_ERROR(st);
  }
  if (f.block_size_kib <= 0) {
    return Status::Invalid("invalid format: BlockSize " + std::to_string(f.block_size_kib));
  }
  if (f.meta_version > kMaxMetaVersion) {
    return Status::Invalid("volume needs a newer client: meta version " +
                           std::to_string(f.meta_version) + " > " +
                           std::to_string(kMaxMetaVersion));
  }
  *out = std::move(f);
  return Status::OK();
}

std::string Rfc3339Utc(int64_t unix_seconds) {
  // Go's zero time, which is also what encoding/json would reject for years outside 0..9999.
  constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";
  if (unix_seconds < -62135596800LL || unix_seconds > 253402300799LL) return kZeroTime;
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  if (gmtime_r(&t, &tm) == nullptr) return kZeroTime;
  char buf[32];
  size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (n == 0) return kZeroTime;
  // strftime's %Y does not zero-pad years below 1000; RFC 3339 needs four digits.
  std::string s(buf, n);
  size_t dash = s.find('-');
  if (dash < 4) s.insert(0, 4 - dash, '0');
  return s;
}

}  // namespace

// ---- Attr ------------------------------------------------------------------------------------

std::string EncodeAttr(const Attr& a) {
  bool has_acl = (a.access_acl | a.default_acl) != 0;
  size_t size = kAttrBaseSize + (has_acl ? 8 : 0) + (a.tier != 0 ? 1 : 0);
  std::string out;
  out.reserve(size);
  Put8(&out, a.flags);
  Put16(&out, static_cast<uint16_t>((static_cast<uint16_t>(a.typ) << 12) | (a.mode & 0xFFF)));
  Put32(&out, a.uid);
  Put32(&out, a.gid);
  Put64(&out, static_cast<uint64_t>(a.atime));
  Put32(&out, a.atimensec);
  Put64(&out, static_cast<uint64_t>(a.mtime));
  Put32(&out, a.mtimensec);
  Put64(&out, static_cast<uint64_t>(a.ctime));
  Put32(&out, a.ctimensec);
  Put32(&out, a.nlink);
  Put64(&out, a.length);
  Put32(&out, a.rdev);
  Put64(&out, a.parent);
  if (has_acl) {
    Put32(&out, a.access_acl);
    Put32(&out, a.default_acl);
  }
  if (a.tier != 0) Put8(&out, a.tier);
  out.resize(size, '\0');  // Go allocates one byte more than it writes
  return out;
}

Status DecodeAttr(std::string_view data, Attr* attr) {
  if (data.size() < kAttrLegacySize) {
    return Status::Corruption("corrupted attr: " + std::to_string(data.size()) + " bytes");
  }
  Reader r(data);
  Attr a;
  a.flags = r.Get8();
  uint16_t mode = r.Get16();
  a.typ = static_cast<uint8_t>(mode >> 12);
  a.mode = mode & 0xFFF;
  a.uid = r.Get32();
  a.gid = r.Get32();
  a.atime = static_cast<int64_t>(r.Get64());
  a.atimensec = r.Get32();
  a.mtime = static_cast<int64_t>(r.Get64());
  a.mtimensec = r.Get32();
  a.ctime = static_cast<int64_t>(r.Get64());
  a.ctimensec = r.Get32();
  a.nlink = r.Get32();
  a.length = r.Get64();
  a.rdev = r.Get32();
  if (r.Left() >= 8) a.parent = r.Get64();
  if (r.Left() >= 8) {
    a.access_acl = r.Get32();
    a.default_acl = r.Get32();
  }
  if (r.Left() >= 1) a.tier = r.Get8();  // the trailing pad byte decodes as tier 0
  *attr = a;
  return Status::OK();
}

// ---- entries and slices -----------------------------------------------------------------------

std::string EncodeEntry(uint8_t type, Ino ino) {
  std::string out;
  out.reserve(kEntrySize);
  Put8(&out, type);
  Put64(&out, ino);
  return out;
}

Status DecodeEntry(std::string_view data, uint8_t* type, Ino* ino) {
  if (data.size() != kEntrySize) {
    return Status::Corruption("corrupted entry: " + std::to_string(data.size()) + " bytes");
  }
  Reader r(data);
  *type = r.Get8();
  *ino = r.Get64();
  return Status::OK();
}

void AppendSlice(std::string* out, const Slice& s) {
  Put32(out, s.pos);
  Put64(out, s.id);
  Put32(out, s.size);
  Put32(out, s.off);
  Put32(out, s.len);
}

std::string EncodeSlice(const Slice& s) {
  std::string out;
  out.reserve(kSliceRecordSize);
  AppendSlice(&out, s);
  return out;
}

Status DecodeSlices(std::string_view data, std::vector<Slice>* out) {
  if (data.size() % kSliceRecordSize != 0) {
    return Status::Corruption("corrupted slices: " + std::to_string(data.size()) +
                              " bytes is not a multiple of 24");
  }
  std::vector<Slice> slices;
  slices.reserve(data.size() / kSliceRecordSize);
  Reader r(data);
  while (r.Left() > 0) {
    Slice s;
    s.pos = r.Get32();
    s.id = r.Get64();
    s.size = r.Get32();
    s.off = r.Get32();
    s.len = r.Get32();
    slices.push_back(s);
  }
  *out = std::move(slices);
  return Status::OK();
}

void AppendDelayedSlice(std::string* out, uint64_t id, uint32_t size) {
  Put64(out, id);
  Put32(out, size);
}

Status DecodeDelayedSlices(std::string_view data, std::vector<std::pair<uint64_t, uint32_t>>* out) {
  out->clear();
  if (data.size() % kDelayedSliceSize != 0) {
    return Status::IOError("delayed slice records: length " + std::to_string(data.size()) +
                           " is not a multiple of 12");
  }
  for (size_t at = 0; at < data.size(); at += kDelayedSliceSize) {
    uint64_t id = 0;
    uint32_t size = 0;
    for (size_t i = 0; i < 8; ++i) id = id << 8 | static_cast<uint8_t>(data[at + i]);
    for (size_t i = 8; i < 12; ++i) size = size << 8 | static_cast<uint8_t>(data[at + i]);
    out->emplace_back(id, size);
  }
  return Status::OK();
}

// ---- Format -----------------------------------------------------------------------------------

std::string EncodeFormat(const Format& f) {
  return EncodeFormatImpl(f);
}

std::string EncodeFormatForDisplay(const Format& f) {
  Format t = f;
  for (std::string* secret : {&t.secret_key, &t.session_token, &t.encrypt_key}) {
    if (!secret->empty()) *secret = "removed";
  }
  return EncodeFormatImpl(t);
}

Status DecodeFormat(std::string_view json, Format* f) {
  if (JsonNestingDepth(json) > kMaxFormatNesting) {
    return Status::Corruption("corrupted format: JSON nested too deeply");
  }
  try {
    OrderedJson doc = OrderedJson::parse(json.begin(), json.end());
    return DecodeFormatObject(doc, f);
  } catch (const std::exception& e) {
    return Status::Corruption(std::string("corrupted format: ") + e.what());
  }
}

// ---- SessionInfo ------------------------------------------------------------------------------

void AppendGoJsonString(std::string* out, std::string_view s) {
  AppendGoString(out, s);
}

std::string EncodeSessionInfo(const SessionInfo& s) {
  // json.Marshal (compact) of the Go SessionInfo struct, fields in struct order.
  std::string out = "{\"Version\":";
  AppendGoString(&out, s.version);
  out.append(",\"HostName\":");
  AppendGoString(&out, s.host_name);
  if (!s.ip_addrs.empty()) {
    out.append(",\"IPAddrs\":[");
    for (size_t i = 0; i < s.ip_addrs.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendGoString(&out, s.ip_addrs[i]);
    }
    out.push_back(']');
  }
  out.append(",\"MountPoint\":");
  AppendGoString(&out, s.mount_point);
  out.append(",\"MountTime\":");
  AppendGoString(&out, Rfc3339Utc(s.mount_time));
  out.append(",\"ProcessID\":");
  out.append(std::to_string(s.process_id));
  out.push_back('}');
  return out;
}

}  // namespace jfs::meta
