#include "object/object_store.h"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "object/s3_store.h"

namespace jfs::object {

Status ObjectStore::GetInto(std::string_view key, int64_t offset, int64_t length, char* dst,
                            int64_t* n) {
  *n = 0;
  if (length < 0) return Status::Invalid("negative length");
  if (dst == nullptr && length > 0) return Status::Invalid("null read buffer");
  std::string buf;
  JFS_RETURN_IF_ERROR(Get(key, offset, length, &buf));
  if (buf.size() > static_cast<uint64_t>(length)) {
    return Status::IOError("get " + std::string(key) + ": backend returned more than asked");
  }
  if (!buf.empty()) std::memcpy(dst, buf.data(), buf.size());
  *n = static_cast<int64_t>(buf.size());
  return Status::OK();
}

Status ObjectStore::Sync(const std::vector<std::string>& /*keys*/) {
  return Status::OK();
}

Status ObjectStore::SyncAll() {
  return Status::OK();
}

Status ListAll(ObjectStore& store, std::string_view prefix, std::vector<ObjectInfo>* out) {
  out->clear();
  std::string marker;
  std::vector<ObjectInfo> page;
  for (;;) {
    bool truncated = false;
    JFS_RETURN_IF_ERROR(store.List(prefix, marker, "", 1000, &page, &truncated));
    if (truncated && page.empty()) {
      // A backend that claims more entries but returns none would loop forever.
      return Status::IOError("list " + std::string(prefix) + ": truncated page without entries");
    }
    if (!page.empty()) marker = page.back().key;
    for (auto& e : page) out->push_back(std::move(e));
    if (!truncated) return Status::OK();
  }
}

std::string StorageType(std::string_view storage) {
  // JuiceFS lower-cases the storage type before dispatching (cmd/format.go createStorage).
  std::string type(storage);
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

Status CreateStorage(const std::string& storage, const std::string& bucket,
                     const std::string& access_key, const std::string& secret_key,
                     std::unique_ptr<ObjectStore>* out) {
  const std::string type = StorageType(storage);
  if (type == "file") {
    if (bucket.empty()) return Status::Invalid("file storage needs a directory as bucket");
    return NewFileStore(bucket, out);
  }
  if (type == "mem") {
    *out = NewMemStore();
    return Status::OK();
  }
  if (type == "s3" || type == "minio") {
    S3Options o;
    JFS_RETURN_IF_ERROR(ParseS3Bucket(bucket, type == "minio", &o));
    const bool region_from_url = o.endpoint.find(".amazonaws.com") != std::string::npos;
    o.credentials.access_key = access_key;
    o.credentials.secret_key = secret_key;
    // Keys not given (nor stored in the Format) come from the standard AWS variables.
    ApplyAwsEnvironment(&o, region_from_url);
    std::unique_ptr<S3Store> s3;
    JFS_RETURN_IF_ERROR(NewS3Store(o, &s3));
    *out = std::move(s3);
    return Status::OK();
  }
  return Status::Invalid("unknown storage type '" + storage +
                         "' (supported: file, mem, s3, minio)");
}

}  // namespace jfs::object
