// Which S3 object keys and bucket names the gateway accepts (keys become paths of the volume).
#pragma once

#include <string_view>

namespace jfs::server::s3 {

// S3 keys the gateway can store as paths (no empty, "." or ".."
// component, no NUL, at most 1024 bytes, components at most 255 bytes).
bool ValidObjectKey(std::string_view key);
bool ValidBucketName(std::string_view name);

}  // namespace jfs::server::s3
