#include "server/s3/names.h"

namespace jfs::server::s3 {

bool ValidObjectKey(std::string_view key) {
  if (key.empty() || key.size() > 1024) return false;
  if (key.find('\0') != std::string_view::npos) return false;
  std::string_view k = key;
  if (k.back() == '/') k.remove_suffix(1);  // "dir/": a directory object
  if (k.empty()) return false;
  size_t start = 0;
  while (start <= k.size()) {
    size_t p = k.find('/', start);
    std::string_view comp = k.substr(start, p == std::string_view::npos ? k.npos : p - start);
    if (comp.empty() || comp == "." || comp == ".." || comp.size() > 255) return false;
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return true;
}

bool ValidBucketName(std::string_view name) {
  if (name.size() < 3 || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return name.front() != '-' && name.front() != '.' && name.back() != '-' && name.back() != '.';
}

}  // namespace jfs::server::s3
