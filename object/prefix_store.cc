// WithPrefix: a volume's view of a shared bucket ("{name}/" + key), as JuiceFS's object.WithPrefix.
#include "object/object_store.h"

namespace jfs::object {
namespace {

class PrefixStore final : public ObjectStore {
 public:
  PrefixStore(std::unique_ptr<ObjectStore> inner, std::string prefix)
      : inner_(std::move(inner)), prefix_(std::move(prefix)) {}

  std::string Describe() const override { return inner_->Describe() + prefix_; }
  Status Create() override { return inner_->Create(); }

  Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    return inner_->Get(Full(key), offset, length, out);
  }
  Status GetInto(std::string_view key, int64_t offset, int64_t length, char* dst,
                 int64_t* n) override {
    *n = 0;
    JFS_RETURN_IF_ERROR(CheckKey(key));
    return inner_->GetInto(Full(key), offset, length, dst, n);
  }
  void WillRead(std::string_view key) override {
    if (CheckKey(key).ok()) inner_->WillRead(Full(key));
  }
  Status Put(std::string_view key, std::string_view data) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    return inner_->Put(Full(key), data);
  }
  Status Sync(const std::vector<std::string>& keys) override {
    std::vector<std::string> full;
    full.reserve(keys.size());
    for (const auto& k : keys) {
      JFS_RETURN_IF_ERROR(CheckKey(k));
      full.push_back(Full(k));
    }
    return inner_->Sync(full);
  }
  Status SyncAll() override { return inner_->SyncAll(); }
  Status Delete(std::string_view key) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    return inner_->Delete(Full(key));
  }
  Status Head(std::string_view key, ObjectInfo* info) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    JFS_RETURN_IF_ERROR(inner_->Head(Full(key), info));
    info->key = std::string(key);
    return Status::OK();
  }

  Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
              int limit, std::vector<ObjectInfo>* out, bool* truncated) override {
    // An empty marker must stay empty: prefix_ + "" would exclude a key equal to prefix_ itself.
    std::string inner_marker = marker.empty() ? std::string() : Full(marker);
    JFS_RETURN_IF_ERROR(inner_->List(Full(prefix), inner_marker, delimiter, limit, out, truncated));
    for (auto& e : *out) {
      if (e.key.compare(0, prefix_.size(), prefix_) != 0) {
        return Status::IOError("list returned key '" + e.key + "' outside prefix '" + prefix_ +
                               "'");
      }
      e.key.erase(0, prefix_.size());
    }
    return Status::OK();
  }

 private:
  // The wrapped store would accept "" (the key prefix_ itself); inside the volume it is invalid.
  static Status CheckKey(std::string_view key) {
    if (key.empty()) return Status::Invalid("empty object key");
    if (key.front() == '/')
      return Status::Invalid("object key starts with '/': " + std::string(key));
    return Status::OK();
  }
  std::string Full(std::string_view key) const {
    std::string full;
    full.reserve(prefix_.size() + key.size());
    full += prefix_;
    full += key;
    return full;
  }

  std::unique_ptr<ObjectStore> inner_;
  std::string prefix_;
};

}  // namespace

std::unique_ptr<ObjectStore> WithPrefix(std::unique_ptr<ObjectStore> inner, std::string prefix) {
  return std::make_unique<PrefixStore>(std::move(inner), std::move(prefix));
}

}  // namespace jfs::object
