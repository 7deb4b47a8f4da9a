// META-URL helpers shared by the server database drivers (PostgreSQL, MySQL).
#pragma once

#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jfs::meta::sql {

// Removes JuiceFS's own `table_prefix=NAME` option from the query string of `*url` and returns the
// engine's table prefix in *prefix: "jfs_" without it, "jfs_NAME_" with it. Other options stay.
inline Status TakeTablePrefix(std::string* url, std::string* prefix) {
  *prefix = "jfs_";
  const size_t q = url->find('?');
  if (q == std::string::npos) return Status::OK();
  std::string query = url->substr(q + 1), kept;
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    if (amp == std::string::npos) amp = query.size();
    std::string_view opt(query.data() + pos, amp - pos);
    if (opt.substr(0, 13) == "table_prefix=") {
      std::string_view name = opt.substr(13);
      for (char c : name) {
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok) return Status::Invalid("table_prefix may hold only letters, digits and '_'");
      }
      if (!name.empty()) *prefix = "jfs_" + std::string(name) + "_";
    } else if (!opt.empty()) {
      if (!kept.empty()) kept += '&';
      kept += opt;
    }
    pos = amp + 1;
  }
  url->resize(q);
  if (!kept.empty()) *url += "?" + kept;
  return Status::OK();
}

// META_PASSWORD from the environment ("" when unset).
inline std::string EnvPassword() {
  const char* p = std::getenv("META_PASSWORD");
  return p ? p : "";
}

}  // namespace jfs::meta::sql
