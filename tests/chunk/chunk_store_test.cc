#include "chunk/chunk_store.h"

#include <dirent.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

using jfs::Status;
using jfs::chunk::BlockKey;
using jfs::chunk::ChunkStore;
using jfs::chunk::Config;
using jfs::chunk::SliceWriter;
using jfs::object::ObjectInfo;
using jfs::object::ObjectStore;

namespace {

constexpr uint32_t KiB = 1024;
constexpr uint32_t MiB = 1024 * 1024;

// A mem store that counts puts and can be told to fail the puts of matching keys.
class TestStore final : public ObjectStore {
 public:
  std::string Describe() const override { return "test://"; }
  Status Create() override { return Status::OK(); }
  Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) override {
    return inner_->Get(key, offset, length, out);
  }
  Status Put(std::string_view key, std::string_view data) override {
    puts++;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!fail_put_.empty() && key.find(fail_put_) != std::string_view::npos) {
        return Status::Retryable(EIO, "injected failure");
      }
    }
    return inner_->Put(key, data);
  }
  Status Delete(std::string_view key) override { return inner_->Delete(key); }
  void WillRead(std::string_view key) override {
    std::lock_guard<std::mutex> lock(mu_);
    will_read.emplace_back(key);
  }
  Status Head(std::string_view key, ObjectInfo* info) override { return inner_->Head(key, info); }
  Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
              int limit, std::vector<ObjectInfo>* out, bool* truncated) override {
    return inner_->List(prefix, marker, delimiter, limit, out, truncated);
  }

  void FailPutsContaining(std::string s) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_put_ = std::move(s);
  }
  std::atomic<int> puts{0};
  std::vector<std::string> will_read;  // WillRead hints, in order (guarded by mu_ while running)

 private:
  std::unique_ptr<ObjectStore> inner_ = jfs::object::NewMemStore();
  std::mutex mu_;
  std::string fail_put_;
};

struct Fixture {
  std::shared_ptr<TestStore> objects = std::make_shared<TestStore>();
  std::unique_ptr<ChunkStore> store;
  explicit Fixture(uint32_t block_size = 64 * KiB, bool hash_prefix = false, int threads = 3) {
    Config c;
    c.block_size = block_size;
    c.hash_prefix = hash_prefix;
    c.upload_threads = threads;
    Status st = jfs::chunk::NewChunkStore(c, objects, &store);
    INFO(st.ToString());
    REQUIRE(st.ok());
  }
};

// "key size" for every stored object, in key order.
std::vector<std::string> Objects(ObjectStore& s) {
  std::vector<ObjectInfo> all;
  REQUIRE(jfs::object::ListAll(s, "", &all).ok());
  std::vector<std::string> v;
  for (const auto& o : all) v.push_back(o.key + " " + std::to_string(o.size));
  return v;
}

size_t CountObjects(ObjectStore& s) {
  std::vector<ObjectInfo> all;
  REQUIRE(jfs::object::ListAll(s, "", &all).ok());
  return all.size();
}

// Background uploads finish on their own time; wait (bounded) until `n` objects exist.
bool WaitForObjects(ObjectStore& s, size_t n) {
  for (int i = 0; i < 500; ++i) {
    if (CountObjects(s) >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Read(ChunkStore& store, uint64_t id, uint32_t size, uint32_t off, uint32_t len) {
  std::string out(len, '\xAA');
  Status st = store.ReadAt(id, size, off, len, out.data());
  INFO(st.ToString());
  REQUIRE(st.ok());
  return out;
}

// Writes `data` as slice `id` in uneven pieces and finishes it.
void WriteSlice(ChunkStore& store, uint64_t id, const std::string& data, uint32_t seed) {
  auto w = store.NewWriter(id);
  REQUIRE(w->id() == id);
  std::mt19937 rng(seed);
  size_t off = 0;
  while (off < data.size()) {
    size_t n = std::min<size_t>(data.size() - off, 1 + rng() % 50000);
    REQUIRE(w->WriteAt(std::string_view(data).substr(off, n), static_cast<uint32_t>(off)).ok());
    off += n;
  }
  Status st = w->Finish(static_cast<uint32_t>(data.size()));
  INFO(st.ToString());
  REQUIRE(st.ok());
}

int CountThreads() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/task");
  if (d == nullptr) return -1;
  while (struct dirent* e = ::readdir(d)) n += e->d_name[0] != '.';
  ::closedir(d);
  return n;
}

}  // namespace

TEST_CASE("BlockKey follows format.md 1.4", "[chunk]") {
  // The examples of the format reference.
  CHECK(BlockKey(1, 0, 4 * MiB, false) == "chunks/0/0/1_0_4194304");
  CHECK(BlockKey(1, 1, 4 * MiB, false) == "chunks/0/0/1_1_4194304");
  CHECK(BlockKey(1, 2, 2 * MiB, false) == "chunks/0/0/1_2_2097152");
  CHECK(BlockKey(1234567, 0, 4 * MiB, true) == "chunks/87/1/1234567_0_4194304");
  // The arithmetic of both layouts.
  CHECK(BlockKey(1234567, 0, 4 * MiB, false) == "chunks/1/1234/1234567_0_4194304");
  CHECK(BlockKey(999, 3, 65536, false) == "chunks/0/0/999_3_65536");
  CHECK(BlockKey(1000, 0, 1, false) == "chunks/0/1/1000_0_1");
  CHECK(BlockKey(12345678901ULL, 15, 123, false) == "chunks/12345/12345678/12345678901_15_123");
  CHECK(BlockKey(0, 0, 5, true) == "chunks/00/0/0_0_5");
  CHECK(BlockKey(10, 0, 5, true) == "chunks/0A/0/10_0_5");  // upper-case, zero-padded
  CHECK(BlockKey(255, 0, 5, true) == "chunks/FF/0/255_0_5");
  CHECK(BlockKey(256 + 171, 1, 5, true) == "chunks/AB/0/427_1_5");
  CHECK(BlockKey(12345678901ULL, 2, 7, true) == "chunks/35/12345/12345678901_2_7");
}

TEST_CASE("a 10 MiB slice with 4 MiB blocks is stored as JuiceFS stores it", "[chunk]") {
  // Volume "jfstest": the chunk store sees the volume through the "{name}/" prefix.
  auto mem = jfs::object::NewMemStore();
  ObjectStore* bucket = mem.get();
  std::shared_ptr<ObjectStore> volume = jfs::object::WithPrefix(std::move(mem), "jfstest/");
  std::unique_ptr<ChunkStore> store;
  REQUIRE(jfs::chunk::NewChunkStore(Config{}, volume, &store).ok());
  CHECK(store->config().block_size == 4 * MiB);
  std::string data = RandomBytes(10 * MiB, 1);
  WriteSlice(*store, 1, data, 1);
  CHECK(Objects(*bucket) == std::vector<std::string>{"jfstest/chunks/0/0/1_0_4194304 4194304",
                                                     "jfstest/chunks/0/0/1_1_4194304 4194304",
                                                     "jfstest/chunks/0/0/1_2_2097152 2097152"});
  std::string block2;
  REQUIRE(bucket->Get("jfstest/chunks/0/0/1_2_2097152", 0, -1, &block2).ok());
  CHECK(block2 == data.substr(8 * MiB));
  CHECK(Read(*store, 1, 10 * MiB, 0, 10 * MiB) == data);
  CHECK(Read(*store, 1, 10 * MiB, 4 * MiB - 10, 20) == data.substr(4 * MiB - 10, 20));
  CHECK(Read(*store, 1, 10 * MiB, 3 * MiB, 6 * MiB) == data.substr(3 * MiB, 6 * MiB));
  CHECK(Read(*store, 1, 10 * MiB, 10 * MiB - 1, 1) == data.substr(10 * MiB - 1));
}

TEST_CASE("round trips across 64 KiB block boundaries", "[chunk]") {
  Fixture f(64 * KiB);
  for (uint32_t size : {1u, 1000u, 65535u, 65536u, 65537u, 300000u, 5u * 65536u}) {
    INFO("size " << size);
    uint64_t id = 100 + size;
    std::string data = RandomBytes(size, size);
    WriteSlice(*f.store, id, data, size);
    CHECK(Read(*f.store, id, size, 0, size) == data);
    CHECK(Read(*f.store, id, size, size - 1, 1) == data.substr(size - 1));
    CHECK(Read(*f.store, id, size, size / 2, 0).empty());
    std::mt19937 rng(size);
    for (int i = 0; i < 30; ++i) {
      uint32_t off = rng() % size;
      uint32_t len = rng() % (size - off + 1);
      REQUIRE(Read(*f.store, id, size, off, len) == data.substr(off, len));
    }
    for (uint32_t b = 64 * KiB; b < size; b += 64 * KiB) {  // straddling each boundary
      uint32_t off = b - 7, len = std::min<uint32_t>(14, size - off);
      REQUIRE(Read(*f.store, id, size, off, len) == data.substr(off, len));
    }
    // One object per block, the last one carrying the remainder.
    uint32_t blocks = (size + 64 * KiB - 1) / (64 * KiB);
    for (uint32_t i = 0; i < blocks; ++i) {
      ObjectInfo info;
      uint32_t blen = std::min<uint32_t>(64 * KiB, size - i * 64 * KiB);
      REQUIRE(f.objects->Head(BlockKey(id, i, blen, false), &info).ok());
      CHECK(info.size == blen);
    }
  }
  CHECK(CountObjects(*f.objects) == 1 + 1 + 1 + 1 + 2 + 5 + 5);
}

TEST_CASE("hash-prefix layout round trip", "[chunk]") {
  Fixture f(64 * KiB, /*hash_prefix=*/true);
  std::string data = RandomBytes(200000, 7);
  WriteSlice(*f.store, 1234567, data, 7);
  CHECK(Objects(*f.objects) == std::vector<std::string>{"chunks/87/1/1234567_0_65536 65536",
                                                        "chunks/87/1/1234567_1_65536 65536",
                                                        "chunks/87/1/1234567_2_65536 65536",
                                                        "chunks/87/1/1234567_3_3392 3392"});
  CHECK(Read(*f.store, 1234567, 200000, 60000, 100000) == data.substr(60000, 100000));
  REQUIRE(f.store->Remove(1234567, 200000).ok());
  CHECK(CountObjects(*f.objects) == 0);
}

TEST_CASE("sparse slices upload every block, zeros where not written", "[chunk]") {
  Fixture f(64 * KiB);
  const uint32_t size = 5 * 64 * KiB + 7;
  std::string want(size, '\0');
  auto w = f.store->NewWriter(9);
  auto put = [&](uint32_t off, const std::string& s) {
    REQUIRE(w->WriteAt(s, off).ok());
    want.replace(off, s.size(), s);
  };
  put(100, std::string(100, 'a'));
  put(3 * 64 * KiB + 5, std::string(10, 'b'));
  put(size - 3, "xyz");
  REQUIRE(w->Finish(size).ok());
  CHECK(CountObjects(*f.objects) == 6);  // blocks 1, 2 and 4 were never written
  CHECK(Read(*f.store, 9, size, 0, size) == want);
  CHECK(Read(*f.store, 9, size, 64 * KiB, 64 * KiB) == std::string(64 * KiB, '\0'));
}

TEST_CASE("recycled block buffers never leak an earlier slice's bytes", "[chunk]") {
  Fixture f(64 * KiB);
  const uint32_t size = 4 * 64 * KiB;
  for (int round = 0; round < 3; ++round) {
    // Fill buffers with 'x', upload them, so the pool holds dirty buffers.
    auto full = f.store->NewWriter(100 + round);
    REQUIRE(full->WriteAt(std::string(size, 'x'), 0).ok());
    REQUIRE(full->Finish(size).ok());
    // A sparse slice on recycled buffers: only a few bytes written, zeros everywhere else.
    std::string want(size, '\0');
    auto sparse = f.store->NewWriter(200 + round);
    REQUIRE(sparse->WriteAt("ab", 10).ok());
    want.replace(10, 2, "ab");
    REQUIRE(sparse->WriteAt("cd", 2 * 64 * KiB + 100).ok());  // skips ahead inside block 2
    want.replace(2 * 64 * KiB + 100, 2, "cd");
    REQUIRE(sparse->Finish(size).ok());
    CHECK(Read(*f.store, 200 + round, size, 0, size) == want);
    // Releasing twice: the first call only notes the pool was used, the second frees it.
    f.store->ReleaseIdleBuffers();
    if (round == 1) f.store->ReleaseIdleBuffers();
  }
}

TEST_CASE("bytes written beyond the finished length are dropped", "[chunk]") {
  Fixture f(64 * KiB);
  std::string data = RandomBytes(200000, 3);
  auto w = f.store->NewWriter(5);
  REQUIRE(w->WriteAt(data, 0).ok());
  REQUIRE(w->Finish(70000).ok());
  CHECK(Objects(*f.objects) ==
        std::vector<std::string>{"chunks/0/0/5_0_65536 65536", "chunks/0/0/5_1_4464 4464"});
  CHECK(Read(*f.store, 5, 70000, 0, 70000) == data.substr(0, 70000));
  REQUIRE(f.store->Remove(5, 70000).ok());
  CHECK(CountObjects(*f.objects) == 0);
  CHECK(f.store->Remove(5, 70000).ok());  // missing blocks are fine
  auto empty = f.store->NewWriter(6);
  CHECK(empty->Finish(0).ok());  // an empty slice has no blocks
  CHECK(CountObjects(*f.objects) == 0);
}

TEST_CASE("FlushTo uploads only full blocks below the offset", "[chunk]") {
  Fixture f(64 * KiB);
  const uint32_t bs = 64 * KiB;
  std::string data = RandomBytes(3 * bs + bs / 2, 11);
  auto w = f.store->NewWriter(42);
  REQUIRE(w->WriteAt(std::string_view(data).substr(0, 2 * bs + 100), 0).ok());
  REQUIRE(w->FlushTo(2 * bs + 100).ok());  // blocks 0 and 1; block 2 is not complete
  REQUIRE(WaitForObjects(*f.objects, 2));
  CHECK(Objects(*f.objects) ==
        std::vector<std::string>{"chunks/0/0/42_0_65536 65536", "chunks/0/0/42_1_65536 65536"});
  // Flushed blocks are sealed; the rest is still writable.
  CHECK(w->WriteAt("x", bs + 5).code() == EINVAL);
  CHECK(w->WriteAt("xy", bs - 1).code() == EINVAL);  // straddles into a flushed block
  REQUIRE(w->WriteAt(std::string_view(data).substr(2 * bs + 100), 2 * bs + 100).ok());
  REQUIRE(w->FlushTo(bs).ok());  // nothing new below
  // The final length cannot cut into a block that was uploaded as a full one.
  CHECK(w->Finish(2 * bs - 1).code() == EINVAL);
  REQUIRE(w->Finish(static_cast<uint32_t>(data.size())).ok());
  CHECK(f.objects->puts == 4);  // flushed blocks are not uploaded again
  CHECK(Objects(*f.objects) ==
        std::vector<std::string>{"chunks/0/0/42_0_65536 65536", "chunks/0/0/42_1_65536 65536",
                                 "chunks/0/0/42_2_65536 65536", "chunks/0/0/42_3_32768 32768"});
  CHECK(Read(*f.store, 42, static_cast<uint32_t>(data.size()), 0,
             static_cast<uint32_t>(data.size())) == data);
  CHECK(w->WriteAt("late", 0).code() == EINVAL);
  CHECK(w->Finish(static_cast<uint32_t>(data.size())).code() == EINVAL);
}

TEST_CASE("Abort and an unfinished writer remove uploaded blocks", "[chunk]") {
  Fixture f(64 * KiB);
  std::string data = RandomBytes(4 * 64 * KiB, 5);
  SECTION("Abort after FlushTo") {
    auto w = f.store->NewWriter(7);
    REQUIRE(w->WriteAt(data, 0).ok());
    REQUIRE(w->FlushTo(static_cast<uint32_t>(data.size())).ok());
    REQUIRE(WaitForObjects(*f.objects, 4));
    w->Abort();
    CHECK(CountObjects(*f.objects) == 0);
    CHECK(w->WriteAt("x", 0).code() == EINVAL);
    CHECK(w->Finish(1).code() == EINVAL);
    w->Abort();  // twice is harmless
  }
  SECTION("destroyed without Finish") {
    {
      auto w = f.store->NewWriter(7);
      REQUIRE(w->WriteAt(data, 0).ok());
      REQUIRE(w->FlushTo(static_cast<uint32_t>(data.size())).ok());
    }
    CHECK(CountObjects(*f.objects) == 0);
  }
  SECTION("Abort after Finish undoes the slice") {
    auto w = f.store->NewWriter(7);
    REQUIRE(w->WriteAt(data, 0).ok());
    REQUIRE(w->Finish(static_cast<uint32_t>(data.size())).ok());
    CHECK(CountObjects(*f.objects) == 4);
    w->Abort();
    CHECK(CountObjects(*f.objects) == 0);
  }
  SECTION("a finished writer going away keeps its blocks") {
    {
      auto w = f.store->NewWriter(7);
      REQUIRE(w->WriteAt(data, 0).ok());
      REQUIRE(w->Finish(static_cast<uint32_t>(data.size())).ok());
    }
    CHECK(CountObjects(*f.objects) == 4);
  }
}

TEST_CASE("a failed upload fails Finish and the writer cleans up", "[chunk]") {
  Fixture f(64 * KiB);
  f.objects->FailPutsContaining("77_2_");
  std::string data = RandomBytes(4 * 64 * KiB, 6);
  {
    auto w = f.store->NewWriter(77);
    REQUIRE(w->WriteAt(data, 0).ok());
    Status st = w->Finish(static_cast<uint32_t>(data.size()));
    CHECK(st.code() == EIO);
    CHECK(st.retryable());
    CHECK(st.message().find("chunks/0/0/77_2_65536") != std::string::npos);
    CHECK(CountObjects(*f.objects) == 3);
  }
  CHECK(CountObjects(*f.objects) == 0);
}

TEST_CASE("reads report missing and short blocks", "[chunk]") {
  Fixture f(64 * KiB);
  const uint32_t size = 3 * 64 * KiB;
  std::string data = RandomBytes(size, 8);
  WriteSlice(*f.store, 55, data, 8);
  std::string buf(size, '\0');
  CHECK(f.store->ReadAt(55, size, 1, size, buf.data()).code() == EINVAL);
  CHECK(f.store->ReadAt(55, size, size + 1, 0, buf.data()).code() == EINVAL);
  CHECK(f.store->ReadAt(55, 100 * MiB, 0, 1, buf.data()).code() == EINVAL);

  REQUIRE(f.objects->Delete("chunks/0/0/55_1_65536").ok());
  Status st = f.store->ReadAt(55, size, 60000, 10000, buf.data());
  CHECK(st.code() == EIO);
  CHECK(st.message().find("chunks/0/0/55_1_65536") != std::string::npos);
  // Ranges that do not touch the missing block still read.
  CHECK(Read(*f.store, 55, size, 0, 64 * KiB) == data.substr(0, 64 * KiB));
  CHECK(Read(*f.store, 55, size, 2 * 64 * KiB, 64 * KiB) == data.substr(2 * 64 * KiB));

  REQUIRE(f.objects->Put("chunks/0/0/55_2_65536", "truncated").ok());
  st = f.store->ReadAt(55, size, 2 * 64 * KiB, 100, buf.data());
  CHECK(st.code() == EIO);
  CHECK(st.message().find("chunks/0/0/55_2_65536") != std::string::npos);
  // A slice read with a different size looks for other object names.
  CHECK(f.store->ReadAt(55, size - 1, 0, 10, buf.data()).ok());
  CHECK(f.store->ReadAt(55, size - 1, 2 * 64 * KiB, 10, buf.data()).code() == EIO);
}

TEST_CASE("writes outside the 64 MiB slice are rejected", "[chunk]") {
  Fixture f(64 * KiB);
  auto w = f.store->NewWriter(3);
  CHECK(w->WriteAt("ab", 64 * MiB - 1).code() == EINVAL);
  CHECK(w->WriteAt("a", 64 * MiB).code() == EINVAL);
  CHECK(w->WriteAt("a", 64 * MiB - 1).ok());
  CHECK(w->FlushTo(64 * MiB + 1).code() == EINVAL);
  CHECK(w->Finish(64 * MiB + 1).code() == EINVAL);
  w->Abort();
  CHECK(CountObjects(*f.objects) == 0);
}

TEST_CASE("concurrent writers on different slices", "[chunk]") {
  Fixture f(64 * KiB, false, 2);
  constexpr int kThreads = 4, kSlices = 4;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int s = 0; s < kSlices; ++s) {
        uint64_t id = 1000 + t * kSlices + s;
        std::string data = RandomBytes(50000 + 37000 * s + 1000 * t, static_cast<uint32_t>(id));
        auto w = f.store->NewWriter(id);
        const uint32_t half = static_cast<uint32_t>(data.size() / 2);
        if (!w->WriteAt(std::string_view(data).substr(0, half), 0).ok()) failures++;
        if (!w->FlushTo(half).ok()) failures++;
        if (!w->WriteAt(std::string_view(data).substr(half), half).ok()) failures++;
        if (!w->Finish(static_cast<uint32_t>(data.size())).ok()) failures++;
        std::string back(data.size(), '\0');
        if (!f.store
                 ->ReadAt(id, static_cast<uint32_t>(data.size()), 0,
                          static_cast<uint32_t>(data.size()), back.data())
                 .ok() ||
            back != data) {
          failures++;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  size_t want = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int s = 0; s < kSlices; ++s) want += (50000 + 37000 * s + 1000 * t + 65535) / 65536;
  }
  CHECK(CountObjects(*f.objects) == want);
}

TEST_CASE("NewChunkStore validates its config and owns its threads", "[chunk]") {
  auto objects = std::make_shared<TestStore>();
  std::unique_ptr<ChunkStore> store;
  auto make = [&](Config c) { return jfs::chunk::NewChunkStore(c, objects, &store); };
  Config c;
  c.block_size = 100000;
  CHECK(make(c).code() == EINVAL);
  c.block_size = 32 * KiB;
  CHECK(make(c).code() == EINVAL);
  c.block_size = 32 * MiB;
  CHECK(make(c).code() == EINVAL);
  c = Config{};
  c.compression = "lzma";
  Status st = make(c);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("'lzma'") != std::string::npos);
  c.compression = "lz4";
  CHECK(make(c).ok());
  c.compression = "zstd";
  CHECK(make(c).ok());
  c.compression = "none";
  CHECK(make(c).ok());
  c.compression = "None";
  CHECK(make(c).ok());
  c = Config{};
  c.upload_threads = 0;
  CHECK(make(c).code() == EINVAL);
  CHECK(jfs::chunk::NewChunkStore(Config{}, nullptr, &store).code() == EINVAL);

  store.reset();
  int before = CountThreads();
  c = Config{};
  c.upload_threads = 5;
  REQUIRE(make(c).ok());
  CHECK(CountThreads() == before + 5);
  store.reset();
  CHECK(CountThreads() == before);
}

// A large read from a block's start hints the next block of the slice to the object store
// (ObjectStore::WillRead: the file store then starts reading it ahead); small reads, reads from
// inside a block and the slice's last block hint nothing.
TEST_CASE("large reads from a block's start hint the slice's next block", "[chunk]") {
  Fixture f(256 * KiB);
  const uint32_t size = 700 * KiB;  // blocks of 256, 256 and 188 KiB
  const std::string data = RandomBytes(size, 7);
  WriteSlice(*f.store, 42, data, size);
  const std::string b1 = jfs::chunk::BlockKey(42, 1, 256 * KiB, false);
  const std::string b2 = jfs::chunk::BlockKey(42, 2, 188 * KiB, false);
  auto hints = [&] { return std::exchange(f.objects->will_read, {}); };
  hints();
  CHECK(Read(*f.store, 42, size, 0, size) == data);
  CHECK(hints() == std::vector<std::string>{b1, b2});
  CHECK(Read(*f.store, 42, size, 256 * KiB, 128 * KiB) == data.substr(256 * KiB, 128 * KiB));
  CHECK(hints() == std::vector<std::string>{b2});
  CHECK(Read(*f.store, 42, size, 0, 64 * KiB) == data.substr(0, 64 * KiB));         // small
  CHECK(Read(*f.store, 42, size, 1, 255 * KiB) == data.substr(1, 255 * KiB));       // inside
  CHECK(Read(*f.store, 42, size, 512 * KiB, 188 * KiB) == data.substr(512 * KiB));  // last
  CHECK(hints().empty());
}
