#include "meta/sql/schema.h"

namespace jfs::meta::sql {

namespace {

using C = ColType;

bool IsSerial(ColType t) {
  return t == C::kSerial64 || t == C::kSerial32;
}

std::string ColumnSql(const Dialect& d, const ColumnDef& c, bool sole_primary_key) {
  std::string s = d.Quote(c.name);
  s += ' ';
  s += d.Type(c.type);
  if (sole_primary_key || IsSerial(c.type)) {
    s += " PRIMARY KEY";
    if (IsSerial(c.type) && !d.autoincrement.empty()) s += " " + d.autoincrement;
  }
  if (c.default_value) {
    s += " DEFAULT ";
    s += c.default_value;
  }
  s += c.not_null || IsSerial(c.type) || sole_primary_key ? " NOT NULL" : " NULL";
  return s;
}

}  // namespace

// Column types and nullability mirror the Go structs of pkg/meta/sql.go: fields tagged `notnull`
// (and primary keys) are NOT NULL, untagged ones nullable.
const std::vector<TableDef>& JuiceFsTables() {
  static const std::vector<TableDef> kTables = {
      {"setting", {{"name", C::kVarchar255}, {"value", C::kText}}, {"name"}, {}},
      {"counter", {{"name", C::kVarchar255}, {"value", C::kBigInt}}, {"name"}, {}},
      {"edge",
       {{"id", C::kSerial64},
        {"parent", C::kBigInt},
        {"name", C::kVarBinary255},
        {"inode", C::kBigInt},
        {"type", C::kInt}},
       {},
       {{"edge", true, {"parent", "name"}}, {"inode", false, {"inode"}}}},
      {"node",
       {{"inode", C::kBigInt},
        {"type", C::kInt},
        {"flags", C::kInt},
        {"mode", C::kInt},
        {"uid", C::kInt},
        {"gid", C::kInt},
        {"atime", C::kBigInt},
        {"mtime", C::kBigInt},
        {"ctime", C::kBigInt},
        {"atimensec", C::kSmallInt, true, "0"},
        {"mtimensec", C::kSmallInt, true, "0"},
        {"ctimensec", C::kSmallInt, true, "0"},
        {"nlink", C::kInt},
        {"length", C::kBigInt},
        {"rdev", C::kInt, false},
        {"parent", C::kBigInt, false},
        {"access_acl_id", C::kInt, false},
        {"default_acl_id", C::kInt, false},
        {"tier_id", C::kInt, false}},
       {"inode"},
       {}},
      {"symlink", {{"inode", C::kBigInt}, {"target", C::kVarBinary4096}}, {"inode"}, {}},
      {"xattr",
       {{"id", C::kSerial64}, {"inode", C::kBigInt}, {"name", C::kVarchar255}, {"value", C::kBlob}},
       {},
       {{"name", true, {"inode", "name"}}}},
      {"chunk",
       {{"id", C::kSerial64}, {"inode", C::kBigInt}, {"indx", C::kInt}, {"slices", C::kBlob}},
       {},
       {{"chunk", true, {"inode", "indx"}}}},
      {"chunk_ref",
       {{"chunkid", C::kBigInt}, {"size", C::kInt}, {"refs", C::kInt}},
       {"chunkid"},
       {{"refs", false, {"refs"}}}},
      {"delslices",
       {{"chunkid", C::kBigInt}, {"deleted", C::kBigInt}, {"slices", C::kBlob}},
       {"chunkid"},
       {}},
      {"session2",
       {{"sid", C::kBigInt}, {"expire", C::kBigInt}, {"info", C::kBlob, false}},
       {"sid"},
       {}},
      {"sustained",
       {{"id", C::kSerial64}, {"sid", C::kBigInt}, {"inode", C::kBigInt}},
       {},
       {{"sustained", true, {"sid", "inode"}}}},
      {"delfile",
       {{"inode", C::kBigInt}, {"length", C::kBigInt}, {"expire", C::kBigInt}},
       {"inode"},
       {}},
      {"flock",
       {{"id", C::kSerial64},
        {"inode", C::kBigInt},
        {"sid", C::kBigInt},
        {"owner", C::kBigInt},
        {"ltype", C::kInt}},
       {},
       {{"flock", true, {"inode", "sid", "owner"}}}},
      {"plock",
       {{"id", C::kSerial64},
        {"inode", C::kBigInt},
        {"sid", C::kBigInt},
        {"owner", C::kBigInt},
        {"records", C::kBlob}},
       {},
       {{"plock", true, {"inode", "sid", "owner"}}}},
      {"dir_stats",
       {{"inode", C::kBigInt},
        {"data_length", C::kBigInt},
        {"used_space", C::kBigInt},
        {"used_inodes", C::kBigInt}},
       {"inode"},
       {}},
      {"detached_node", {{"inode", C::kBigInt}, {"added", C::kBigInt}}, {"inode"}, {}},
      {"dir_quota",
       {{"inode", C::kBigInt},
        {"max_space", C::kBigInt},
        {"max_inodes", C::kBigInt},
        {"used_space", C::kBigInt},
        {"used_inodes", C::kBigInt}},
       {"inode"},
       {}},
      {"user_group_quota",
       {{"qtype", C::kInt},
        {"qkey", C::kBigInt},
        {"max_space", C::kBigInt},
        {"max_inodes", C::kBigInt},
        {"used_space", C::kBigInt},
        {"used_inodes", C::kBigInt}},
       {"qtype", "qkey"},
       {}},
      {"acl",
       {{"id", C::kSerial32},
        {"owner", C::kInt, false},
        {"group", C::kInt, false},
        {"mask", C::kInt, false},
        {"other", C::kInt, false},
        {"named_users", C::kBlob, false},
        {"named_groups", C::kBlob, false}},
       {},
       {}},
  };
  return kTables;
}

std::string CreateTableSql(const Dialect& d, const std::string& prefix, const TableDef& t) {
  std::string sql = "CREATE TABLE IF NOT EXISTS " + d.Quote(prefix + t.name) + " (";
  bool sole_pk = t.primary_key.size() == 1;
  for (size_t i = 0; i < t.cols.size(); i++) {
    if (i) sql += ", ";
    sql += ColumnSql(d, t.cols[i], sole_pk && std::string_view(t.primary_key[0]) == t.cols[i].name);
  }
  if (t.primary_key.size() > 1) {
    sql += ", PRIMARY KEY ( ";
    for (size_t i = 0; i < t.primary_key.size(); i++) {
      if (i) sql += ',';
      sql += d.Quote(t.primary_key[i]);
    }
    sql += " )";
  }
  sql += ')';
  return sql;
}

std::string CreateIndexSql(const Dialect& d, const std::string& prefix, const TableDef& t,
                           const IndexDef& idx) {
  std::string table = prefix + t.name;
  std::string name = std::string(idx.unique ? "UQE_" : "IDX_") + table + "_" + idx.name;
  std::string sql = idx.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ";
  if (d.index_if_not_exists) sql += "IF NOT EXISTS ";
  sql += d.Quote(name) + " ON " + d.Quote(table) + " (";
  for (size_t i = 0; i < idx.cols.size(); i++) {
    if (i) sql += ',';
    sql += d.Quote(idx.cols[i]);
  }
  sql += ')';
  return sql;
}

std::string AddColumnSql(const Dialect& d, const std::string& prefix, const TableDef& t,
                         const ColumnDef& c) {
  return "ALTER TABLE " + d.Quote(prefix + t.name) + " ADD COLUMN " + ColumnSql(d, c, false);
}

}  // namespace jfs::meta::sql
