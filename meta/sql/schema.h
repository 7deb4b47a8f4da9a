// The JuiceFS SQL schema (format.md §3.1–3.2), described once as data and rendered per dialect.
//
// The rendering follows what xorm (the ORM JuiceFS uses) generates, so JuiceFS's own `Sync2` finds
// the tables, columns and indexes it expects when it opens a volume created here: one column per
// definition, `PRIMARY KEY ( a,b )` for composite keys, and indexes named UQE_<table>_<name> /
// IDX_<table>_<name> created by separate statements.
#pragma once

#include <string>
#include <vector>

#include "meta/sql/driver.h"

namespace jfs::meta::sql {

struct ColumnDef {
  const char* name;
  ColType type;
  bool not_null = true;
  const char* default_value = nullptr;  // SQL literal
};

struct IndexDef {
  const char* name;  // xorm index name; the SQL name gets the UQE_/IDX_ and table prefix
  bool unique;
  std::vector<const char*> cols;
};

struct TableDef {
  const char* name;  // without prefix: "node", "edge", ...
  std::vector<ColumnDef> cols;
  std::vector<const char*> primary_key;  // empty when a kSerial column is the key
  std::vector<IndexDef> indexes;
};

// Every table the engine creates, in creation order.
const std::vector<TableDef>& JuiceFsTables();

// CREATE TABLE IF NOT EXISTS for `t` named prefix + t.name.
std::string CreateTableSql(const Dialect& d, const std::string& prefix, const TableDef& t);
// CREATE [UNIQUE] INDEX [IF NOT EXISTS] for one index of `t`.
std::string CreateIndexSql(const Dialect& d, const std::string& prefix, const TableDef& t,
                           const IndexDef& idx);
// ALTER TABLE ... ADD COLUMN for a column missing from an older table.
std::string AddColumnSql(const Dialect& d, const std::string& prefix, const TableDef& t,
                         const ColumnDef& c);

}  // namespace jfs::meta::sql
