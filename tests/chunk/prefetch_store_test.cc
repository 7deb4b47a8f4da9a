#include "chunk/prefetch_store.h"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "tests/support/status_checks.h"

using jfs::Status;
using jfs::chunk::ChunkStore;
using jfs::chunk::Config;
using jfs::chunk::PrefetchConfig;
using jfs::object::ObjectInfo;
using jfs::object::ObjectStore;

namespace {

constexpr uint32_t KiB = 1024;
constexpr uint32_t kBlock = 64 * KiB;

// A mem store that records every Get (key, length), can delay Gets, and can fail the next Get.
class CountingStore final : public ObjectStore {
 public:
  std::string Describe() const override { return "counting://"; }
  Status Create() override { return Status::OK(); }
  Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      gets_.emplace_back(std::string(key), length);
      if (fail_next_) {
        fail_next_ = false;
        return Status::Retryable(EIO, "injected failure");
      }
    }
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    return inner_->Get(key, offset, length, out);
  }
  Status Put(std::string_view key, std::string_view data) override {
    return inner_->Put(key, data);
  }
  Status Delete(std::string_view key) override { return inner_->Delete(key); }
  Status Head(std::string_view key, ObjectInfo* info) override { return inner_->Head(key, info); }
  Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
              int limit, std::vector<ObjectInfo>* out, bool* truncated) override {
    return inner_->List(prefix, marker, delimiter, limit, out, truncated);
  }

  // Gets per key so far.
  std::map<std::string, int> GetsPerKey() {
    std::lock_guard<std::mutex> lock(mu_);
    std::map<std::string, int> m;
    for (auto& [k, len] : gets_) m[k]++;
    return m;
  }
  int64_t BytesAsked() {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t n = 0;
    for (auto& [k, len] : gets_) n += len;
    return n;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    gets_.clear();
  }
  void FailNext() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = true;
  }
  std::atomic<int> delay_ms_{0};

 private:
  std::unique_ptr<ObjectStore> inner_ = jfs::object::NewMemStore();
  std::mutex mu_;
  std::vector<std::pair<std::string, int64_t>> gets_;
  bool fail_next_ = false;
};

struct Fixture {
  std::shared_ptr<CountingStore> objects = std::make_shared<CountingStore>();
  std::unique_ptr<ChunkStore> store;
  explicit Fixture(PrefetchConfig pc = {}) {
    Config c;
    c.block_size = kBlock;
    std::unique_ptr<ChunkStore> inner;
    REQUIRE_OK(jfs::chunk::NewChunkStore(c, objects, &inner));
    REQUIRE_OK(jfs::chunk::NewPrefetchStore(std::move(inner), pc, &store));
  }
  std::string Write(uint64_t id, uint32_t size, uint32_t seed) {
    std::string data(size, '\0');
    std::mt19937 rng(seed);
    for (auto& ch : data) ch = static_cast<char>(rng());
    auto w = store->NewWriter(id);
    REQUIRE_OK(w->WriteAt(data, 0));
    REQUIRE_OK(w->Finish(size));
    objects->Clear();
    return data;
  }
  std::string Read(uint64_t id, uint32_t size, uint32_t off, uint32_t len) {
    std::string out(len, '\0');
    REQUIRE_OK(store->ReadAt(id, size, off, len, out.data()));
    return out;
  }
};

// Waits (bounded: 20 s, for loaded sanitizer runs) until `pred` holds; prefetches run on the
// store's threads.
template <typename Pred>
bool Eventually(Pred pred) {
  for (int i = 0; i < 4000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace

TEST_CASE("a sequential reader gets its blocks fetched ahead, each once", "[chunk][prefetch]") {
  Fixture f;
  const uint32_t size = 16 * kBlock + 1000;
  const std::string data = f.Write(1, size, 1);
  std::string got;
  for (uint32_t off = 0; off < size; off += 16 * KiB) {
    const uint32_t n = std::min<uint32_t>(16 * KiB, size - off);
    got += f.Read(1, size, off, n);
  }
  CHECK(got == data);
  auto gets = f.objects->GetsPerKey();
  CHECK(gets.size() == 17);  // every block fetched ...
  for (auto& [key, n] : gets) {
    INFO(key);
    CHECK(n == 1);  // ... once, whole, although read in 16 KiB pieces
  }
  CHECK(f.objects->BytesAsked() == size);
  // Blocks ahead of the reader were fetched before it asked: reading the first half only
  // already fetched more than it read.
  Fixture g;
  g.Write(2, size, 2);
  for (uint32_t off = 0; off < 8 * kBlock; off += 16 * KiB) g.Read(2, size, off, 16 * KiB);
  CHECK(Eventually([&] { return g.objects->GetsPerKey().size() > 8; }));
}

// A FUSE mount serves the kernel's readahead with several threads: a sequential reader's
// requests reach the store out of order. They still fetch every block once, whole.
TEST_CASE("sequential reads arriving out of order fetch each block once", "[chunk][prefetch]") {
  const uint32_t size = 16 * kBlock;
  const uint32_t piece = 16 * KiB;
  const uint32_t npieces = size / piece;
  std::vector<uint32_t> swapped;  // 1, 0, 3, 2, ...: the first read is not at offset 0
  for (uint32_t i = 0; i < npieces; i += 2) swapped.insert(swapped.end(), {i + 1, i});
  std::vector<uint32_t> shuffled;  // shuffled within windows of 8 requests (two blocks)
  std::mt19937 rng(11);
  for (uint32_t i = 0; i < npieces; i += 8) {
    std::vector<uint32_t> w;
    for (uint32_t j = i; j < i + 8; ++j) w.push_back(j);
    if (i > 0) std::shuffle(w.begin(), w.end(), rng);
    shuffled.insert(shuffled.end(), w.begin(), w.end());
  }
  for (const auto* order : {&swapped, &shuffled}) {
    Fixture f;
    const std::string data = f.Write(1, size, 4);
    for (uint32_t p : *order)
      CHECK(f.Read(1, size, p * piece, piece) == data.substr(p * piece, piece));
    auto gets = f.objects->GetsPerKey();
    CHECK(gets.size() == 16);
    for (uint32_t b = 0; b < 16; ++b) {
      const std::string key = jfs::chunk::BlockKey(1, b, kBlock, false);
      INFO(key);
      // Block 0 may see one ranged read before the run is recognized (the swapped order).
      CHECK(gets[key] == (b == 0 && order == &swapped ? 2 : 1));
    }
  }
}

TEST_CASE("a sequential run broken by a far read resumes readahead", "[chunk][prefetch]") {
  Fixture f;
  const uint32_t size = 512 * kBlock;  // 32 MiB: a read at block 400 is far from block 4
  const std::string data = f.Write(1, size, 5);
  for (uint32_t off = 0; off < 4 * kBlock; off += 16 * KiB) f.Read(1, size, off, 16 * KiB);
  CHECK(f.Read(1, size, 400 * kBlock + 7, 100) == data.substr(400 * kBlock + 7, 100));
  for (uint32_t off = 450 * kBlock; off < size; off += 16 * KiB) {
    CHECK(f.Read(1, size, off, 16 * KiB) == data.substr(off, 16 * KiB));
  }
  auto gets = f.objects->GetsPerKey();
  CHECK(gets[jfs::chunk::BlockKey(1, 400, kBlock, false)] == 1);  // the far read: ranged, once
  for (uint32_t b = 451; b < 512; ++b) {
    const std::string key = jfs::chunk::BlockKey(1, b, kBlock, false);
    INFO(key);
    CHECK(gets[key] == 1);  // the second read at block 450 restarted the run
  }
}

TEST_CASE("reads of at least direct_from bytes go straight to the inner store",
          "[chunk][prefetch]") {
  PrefetchConfig pc;
  pc.direct_from = 32 * KiB;
  Fixture f(pc);
  const uint32_t size = 8 * kBlock;
  const std::string data = f.Write(1, size, 1);
  // A sequential reader in large pieces: each read asks the store for exactly its bytes, and
  // nothing is fetched ahead.
  std::string got;
  for (uint32_t off = 0; off < size; off += 32 * KiB) got += f.Read(1, size, off, 32 * KiB);
  CHECK(got == data);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(f.objects->BytesAsked() == size);
  CHECK(f.objects->GetsPerKey().size() == 8);
  for (auto& [key, n] : f.objects->GetsPerKey()) CHECK(n == 2);  // two 32 KiB halves each
  // Small reads still fetch whole blocks: 16 reads of 4 KiB, one fetch of the block.
  Fixture g(pc);
  const std::string d2 = g.Write(2, size, 2);
  got.clear();
  for (uint32_t off = 0; off < kBlock; off += 4 * KiB) got += g.Read(2, size, off, 4 * KiB);
  CHECK(got == d2.substr(0, kBlock));
  CHECK(g.objects->GetsPerKey()[jfs::chunk::BlockKey(2, 0, kBlock, false)] == 1);
}

TEST_CASE("random reads fetch only the bytes asked for", "[chunk][prefetch]") {
  Fixture f;
  const uint32_t size = 8 * kBlock;
  const std::string data = f.Write(1, size, 3);
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    const uint32_t off = 1 + rng() % (size - 200);  // never 0: a read at 0 starts a stream
    CHECK(f.Read(1, size, off, 100) == data.substr(off, 100));
  }
  CHECK(f.objects->BytesAsked() == 50 * 100);
}

TEST_CASE("concurrent readers of one block share one fetch", "[chunk][prefetch]") {
  // Only the first reader of the slice looks sequential (the others repeat its offset): the
  // fetch is shared whichever thread gets there first. Rounds, for the orders threads run in.
  for (int round = 0; round < 10; ++round) {
    INFO("round " << round);
    Fixture f;
    const uint32_t size = 4 * kBlock;
    const std::string data = f.Write(1, size, 4);
    f.objects->delay_ms_ = round == 0 ? 50 : 5;
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 6; ++t) {
      threads.emplace_back([&] {
        std::string out(kBlock, '\0');
        if (!f.store->ReadAt(1, size, 0, kBlock, out.data()).ok() ||
            out != data.substr(0, kBlock)) {
          wrong++;
        }
      });
    }
    for (auto& t : threads) t.join();
    CHECK(wrong == 0);
    CHECK(f.objects->GetsPerKey()["chunks/0/0/1_0_65536"] == 1);
  }
}

TEST_CASE("memory stays within the limit; below one block reads go straight through",
          "[chunk][prefetch]") {
  for (uint64_t memory : {uint64_t{0}, uint64_t{kBlock / 2}, uint64_t{2} * kBlock}) {
    INFO("memory " << memory);
    PrefetchConfig pc;
    pc.memory = memory;
    Fixture f(pc);
    const uint32_t size = 10 * kBlock;
    const std::string data = f.Write(1, size, 5);
    std::string got;
    for (uint32_t off = 0; off < size; off += 32 * KiB) got += f.Read(1, size, off, 32 * KiB);
    CHECK(got == data);
    if (memory < kBlock) CHECK(f.objects->BytesAsked() == size);  // never a whole-block fetch
  }
}

TEST_CASE("a removed slice is not served from the cache; failed fetches are not cached",
          "[chunk][prefetch]") {
  Fixture f;
  const uint32_t size = 3 * kBlock;
  const std::string data = f.Write(1, size, 6);
  CHECK(f.Read(1, size, 0, size) == data);  // cached now
  REQUIRE_OK(f.store->Remove(1, size));
  std::string out(size, '\0');
  Status st = f.store->ReadAt(1, size, 0, size, out.data());
  CHECK(st.code() == EIO);
  CHECK(st.message().find("missing") != std::string::npos);

  const std::string again = f.Write(2, size, 7);
  f.objects->FailNext();
  CHECK(f.store->ReadAt(2, size, 0, kBlock, out.data()).code() == EIO);
  CHECK(f.Read(2, size, 0, size) == again);  // the failure was not remembered
}

TEST_CASE("malformed reads are refused by the inner store's rules", "[chunk][prefetch]") {
  Fixture f;
  std::string out(10, '\0');
  CHECK(f.store->ReadAt(1, 100, 95, 10, out.data()).code() == EINVAL);
  CHECK(f.store->ReadAt(1, 100, 0, 10, nullptr).code() == EINVAL);
  std::unique_ptr<ChunkStore> none;
  CHECK(jfs::chunk::NewPrefetchStore(nullptr, {}, &none).code() == EINVAL);
  PrefetchConfig bad;
  bad.download_threads = 0;
  Config c;
  std::unique_ptr<ChunkStore> inner;
  REQUIRE_OK(jfs::chunk::NewChunkStore(c, std::make_shared<CountingStore>(), &inner));
  CHECK(jfs::chunk::NewPrefetchStore(std::move(inner), bad, &none).code() == EINVAL);
  CHECK(none == nullptr);
}
