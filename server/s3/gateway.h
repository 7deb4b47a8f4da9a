// The S3 protocol over a volume (`jfs gateway`): every request of the http layer becomes a
// handler that authenticates it (SigV4), then maps it onto files of the volume.
//
// Layout: an object key "a/b/c.txt" of bucket B is the file /a/b/c.txt of the volume (one bucket
// named after the volume), or /B/a/b/c.txt with multi_buckets (top-level directories are
// buckets). Directories are created on PUT and empty ones removed on DELETE. Uploads are written
// into /.jfs-gateway/tmp and renamed into place, so a reader sees the old object or the whole new
// one; multipart uploads keep their parts under /.jfs-gateway/uploads/<id>/. The ETag and the
// object's HTTP metadata (Content-Type, x-amz-meta-*, ...) are xattrs "user.s3.*" of the file;
// the ETag is only trusted while the file's mtime and size are those it was computed for (a file
// changed through the library or FUSE gets a stand-in ETag derived from its inode, size, mtime).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lib/volume.h"
#include "server/http/http_server.h"
#include "server/s3/auth.h"
#include "server/s3/names.h"

namespace jfs::server::s3 {

struct GatewayOptions {
  Credentials credentials;
  bool multi_buckets = false;
  // Smallest part of a multipart upload but the last (S3: 5 MiB).
  uint64_t min_part_size = 5ull << 20;
};

// The children of one directory sorted as their keys sort (a directory "a" as "a/"), kept between
// the pages of a listing so that each page costs a binary search and the page, not a readdir and
// a sort of the whole directory.
struct SortedDir {
  meta::Ino ino = 0;
  int64_t mtime = 0;
  uint32_t mtimensec = 0;
  std::chrono::steady_clock::time_point built;
  std::vector<std::pair<std::string, lib::DirEntry>> kids;  // (key, entry), ascending keys
};

class Gateway {
 public:
  // `volume` must outlive the gateway.
  Gateway(lib::Volume* volume, GatewayOptions opts);
  // Creates the gateway's work directories and clears leftovers of a previous run's uploads in
  // progress (not its multipart uploads).
  Status Init();
  std::unique_ptr<http::RequestHandler> NewHandler(const http::Request& req);

  lib::Volume* volume() const { return volume_; }
  const GatewayOptions& options() const { return opts_; }
  const std::string& volume_name() const { return name_; }

  // The cached sorted listing of `path` (under its key `dir_key`) if the directory is still the
  // one it was built from (same inode and mtime: every create, rename or delete in it changes the
  // mtime) and it is younger than kListingTtl (attributes of files changed in place through the
  // library do not touch the directory), else null.
  std::shared_ptr<const SortedDir> CachedListing(const std::string& path, meta::Ino ino,
                                                 const meta::Attr& dir_attr);
  void CacheListing(const std::string& path, std::shared_ptr<const SortedDir> listing);
  // ETags the gateway read or wrote, by inode, valid while the file keeps the length and mtime
  // they were computed for (the xattr stamp's rule): a listing reads each object's ETag xattr
  // once, not once per listing. The gateway only sets ETags on files before renaming them in, so
  // an inode's ETag never changes under a memo entry with the same length and mtime.
  bool KnownEtag(meta::Ino ino, const meta::Attr& a, std::string* etag);
  void RememberEtag(meta::Ino ino, const meta::Attr& a, const std::string& etag);
  static constexpr size_t kEtagMemoMax = 1u << 20;  // entries; all dropped when reached

  // Multipart parts being written into an upload's data file, as "<upload id>/<part>": a second
  // upload of the same part at the same time goes to a file of its own instead.
  bool ClaimPart(const std::string& part);
  void ReleasePart(const std::string& part);
  bool UploadBusy(const std::string& id_slash);  // any part of "<upload id>/" claimed

  static constexpr std::chrono::seconds kListingTtl{30};
  static constexpr size_t kListingCacheDirs = 16;   // directories kept (the newest ones)
  static constexpr size_t kListingCacheMin = 1000;  // smaller directories are not kept

 private:
  lib::Volume* volume_;
  GatewayOptions opts_;
  std::string name_;
  std::mutex list_mu_;
  std::map<std::string, std::shared_ptr<const SortedDir>> listings_;  // by volume path
  struct EtagMemo {
    uint64_t length;
    int64_t mtime;
    uint32_t mtimensec;
    std::string etag;
  };
  std::mutex parts_mu_;
  std::set<std::string> parts_busy_;
  std::mutex etag_mu_;
  std::unordered_map<meta::Ino, EtagMemo> etags_;
};

}  // namespace jfs::server::s3
