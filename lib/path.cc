#include <cstdarg>
#include <cstdio>

#include "lib/internal.h"

namespace jfs::lib {

void LogWarning(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "libjuicefs: warning: %s\n", buf);
}

Status ParsePath(std::string_view path, bool require_absolute, ParsedPath* out) {
  *out = ParsedPath{};
  if (path.empty()) return Status::NotFound("empty path");
  if (path.find('\0') != std::string_view::npos) return Status::Invalid("path contains a NUL byte");
  out->absolute = path.front() == '/';
  if (require_absolute && !out->absolute) {
    return Status::Invalid("path must be absolute: \"" + std::string(path) + "\"");
  }
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view comp = path.substr(i, j - i);
    if (comp.size() > meta::kMaxName) {
      return Status::Error(ENAMETOOLONG, "path component longer than 255 bytes: \"" +
                                             std::string(comp.substr(0, 32)) + "...\"");
    }
    out->comps.emplace_back(comp);
    i = j;
  }
  out->trailing_slash = path.back() == '/' && !out->comps.empty();
  return Status::OK();
}

}  // namespace jfs::lib
