#include "meta/types.h"

#include <sys/stat.h>

#include <algorithm>

namespace jfs::meta {

uint32_t Attr::SMode() const {
  uint32_t type_bits = 0;
  switch (typ) {
    case kTypeFile:
      type_bits = S_IFREG;
      break;
    case kTypeDirectory:
      type_bits = S_IFDIR;
      break;
    case kTypeSymlink:
      type_bits = S_IFLNK;
      break;
    case kTypeFIFO:
      type_bits = S_IFIFO;
      break;
    case kTypeBlockDev:
      type_bits = S_IFBLK;
      break;
    case kTypeCharDev:
      type_bits = S_IFCHR;
      break;
    case kTypeSocket:
      type_bits = S_IFSOCK;
      break;
    default:
      break;  // unknown type: permission bits only, as JuiceFS does
  }
  return type_bits | (mode & 07777u);
}

bool Context::InGroup(uint32_t gid) const {
  return std::find(gids.begin(), gids.end(), gid) != gids.end();
}

}  // namespace jfs::meta
