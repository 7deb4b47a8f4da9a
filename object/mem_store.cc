// `mem` backend: an ordered map under a mutex. Objects are shared immutable strings so that Get
// copies the bytes outside the lock and a concurrent Put simply swaps the pointer.
#include <chrono>
#include <map>
#include <mutex>

#include "object/object_store.h"

namespace jfs::object {
namespace {

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Smallest string greater than every string starting with `s`; empty when there is none.
std::string PrefixSuccessor(std::string s) {
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xFF) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

Status CheckKey(std::string_view key) {
  if (key.empty()) return Status::Invalid("empty object key");
  if (key.front() == '/') return Status::Invalid("object key starts with '/': " + std::string(key));
  return Status::OK();
}

class MemStore final : public ObjectStore {
 public:
  std::string Describe() const override { return "mem://"; }
  Status Create() override { return Status::OK(); }

  Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    if (offset < 0) return Status::Invalid("negative offset");
    std::shared_ptr<const std::string> data;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = objects_.find(key);
      if (it == objects_.end()) return Status::NotFound(std::string(key));
      data = it->second.data;
    }
    out->clear();
    uint64_t size = data->size();
    uint64_t off = static_cast<uint64_t>(offset);
    if (off >= size) return Status::OK();
    uint64_t n = size - off;
    if (length >= 0) n = std::min<uint64_t>(n, static_cast<uint64_t>(length));
    out->assign(*data, off, n);
    return Status::OK();
  }

  Status Put(std::string_view key, std::string_view data) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    auto blob = std::make_shared<const std::string>(data);
    std::lock_guard<std::mutex> lock(mu_);
    objects_[std::string(key)] = Entry{std::move(blob), NowNs()};
    return Status::OK();
  }

  Status Delete(std::string_view key) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it != objects_.end()) objects_.erase(it);
    return Status::OK();
  }

  Status Head(std::string_view key, ObjectInfo* info) override {
    JFS_RETURN_IF_ERROR(CheckKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status::NotFound(std::string(key));
    *info = ObjectInfo{std::string(key), it->second.data->size(), it->second.mtime_ns, false};
    return Status::OK();
  }

  Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
              int limit, std::vector<ObjectInfo>* out, bool* truncated) override {
    out->clear();
    *truncated = false;
    size_t max = limit > 0 ? static_cast<size_t>(limit) : 1000;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = marker >= prefix ? objects_.upper_bound(marker) : objects_.lower_bound(prefix);
    while (it != objects_.end()) {
      const std::string& key = it->first;
      if (key.compare(0, prefix.size(), prefix) != 0) break;  // sorted: past the prefix range
      size_t pos = delimiter.empty() ? std::string::npos : key.find(delimiter, prefix.size());
      if (pos == std::string::npos) {
        if (out->size() == max) {
          *truncated = true;
          break;
        }
        out->push_back(ObjectInfo{key, it->second.data->size(), it->second.mtime_ns, false});
        ++it;
        continue;
      }
      // Roll every key sharing this common prefix into one entry, then jump past them all. A
      // common prefix at or before the marker was returned by an earlier page.
      std::string common = key.substr(0, pos + delimiter.size());
      if (std::string_view(common) > marker) {
        if (out->size() == max) {
          *truncated = true;
          break;
        }
        out->push_back(ObjectInfo{common, 0, 0, true});
      }
      std::string next = PrefixSuccessor(common);
      it = next.empty() ? objects_.end() : objects_.lower_bound(next);
    }
    return Status::OK();
  }

 private:
  struct Entry {
    std::shared_ptr<const std::string> data;
    int64_t mtime_ns;
  };
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> objects_;
};

}  // namespace

std::unique_ptr<ObjectStore> NewMemStore() {
  return std::make_unique<MemStore>();
}

}  // namespace jfs::object
