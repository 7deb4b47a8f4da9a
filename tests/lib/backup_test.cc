// Automatic metadata backups (lib/backup.h): names, times, rotation, the due check and the
// backup itself, and the Volume's background thread.
#include "lib/backup.h"

#include <zlib.h>

#include <chrono>
#include <set>
#include <thread>

#include "meta/dump.h"
#include "meta/engine.h"
#include "object/object_store.h"
#include "tests/lib/test_util.h"

using namespace jfs;
using namespace jfs::lib;
using namespace jfs::lib::testing;

namespace {

constexpr int64_t kDay = 86400;
// 2026-11-28T00:00:00Z
constexpr int64_t kNow = 1795824000;

std::string Gunzip(const std::string& in) {
  z_stream z{};
  REQUIRE(inflateInit2(&z, 15 + 16) == Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc;
  do {
    char buf[65536];
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
  } while (rc == Z_OK);
  inflateEnd(&z);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

std::vector<std::string> BackupKeys(object::ObjectStore& store) {
  std::vector<object::ObjectInfo> objs;
  REQUIRE_OK(object::ListAll(store, "meta/", &objs));
  std::vector<std::string> keys;
  for (const auto& o : objs) keys.push_back(o.key);
  return keys;
}

Status GetLastBackup(meta::Engine& e, std::string* value) {
  return e.Txn([&](meta::Tx& tx) { return tx.GetXattr(meta::kRootIno, "lastBackup", value); },
               true);
}

}  // namespace

TEST_CASE("backup names and RFC 3339 times", "[backup]") {
  CHECK(BackupObjectName(kNow + 3723) == "dump-2026-11-28-010203.json.gz");
  CHECK(BackupObjectName(kNow + 3723).size() == 30);
  CHECK(FormatRfc3339Utc(kNow + 3723) == "2026-11-28T01:02:03Z");
  int64_t t = 0;
  REQUIRE(ParseRfc3339("2026-11-28T01:02:03Z", &t));
  CHECK(t == kNow + 3723);
  // As JuiceFS writes it (Go's time.RFC3339 in local time), e.g. from the sample dump.
  REQUIRE(ParseRfc3339("2021-11-23T18:29:54+08:00", &t));
  CHECK(t == 1637663394);
  REQUIRE(ParseRfc3339("2021-11-23T10:29:54.123456Z", &t));
  CHECK(t == 1637663394);
  REQUIRE(ParseRfc3339("2021-11-23T05:29:54-05:00", &t));
  CHECK(t == 1637663394);
  for (const char* bad :
       {"", "2021-11-23", "2021-11-23T18:29:54", "2021-11-23T18:29:54+0800", "2021-13-23T18:29:54Z",
        "2021-11-23T18:29:54Zjunk", "abcd-11-23T1:2:3Z", "2021-11-23T18:29:54.Z"}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad, &t));
  }
}

TEST_CASE("backup rotation keeps 2 days, then one a day, a week, a month", "[backup]") {
  // One backup every hour for 400 days, plus names the rotation must not touch.
  std::vector<std::string> names;
  for (int64_t h = 0; h < 400 * 24; ++h) names.push_back(BackupObjectName(kNow - h * 3600));
  names.push_back("dump-latest.json.gz");
  names.push_back("dump-2026-11-27-xxxxxx.json.gz");
  std::vector<std::string> drop = BackupsToDelete(names, kNow);
  std::set<std::string> dropped(drop.begin(), drop.end());
  CHECK(dropped.size() == drop.size());
  CHECK_FALSE(dropped.count("dump-latest.json.gz"));
  CHECK_FALSE(dropped.count("dump-2026-11-27-xxxxxx.json.gz"));
  std::vector<int64_t> kept_age;  // hours before now
  for (int64_t h = 0; h < 400 * 24; ++h) {
    if (!dropped.count(BackupObjectName(kNow - h * 3600))) kept_age.push_back(h);
  }
  // Everything of the last 48 hours stays.
  for (int64_t h = 0; h <= 48; ++h) {
    INFO("hour " << h);
    CHECK(std::find(kept_age.begin(), kept_age.end(), h) != kept_age.end());
  }
  auto kept_between = [&](int64_t from_day, int64_t to_day) {
    return std::count_if(kept_age.begin(), kept_age.end(),
                         [&](int64_t h) { return h > from_day * 24 && h <= to_day * 24; });
  };
  CHECK(kept_between(2, 14) == 12);  // one per day
  CHECK(kept_between(14, 63) == 7);  // one per week (windows 14-21, ..., 56-63)
  // Then one per 30 days up to 400 days.
  CHECK(kept_between(63, 400) >= 11);
  CHECK(kept_between(63, 400) <= 12);
  // The one kept in each window is its earliest.
  // (the window of ages (48 h, 72 h] keeps 72 h).
  CHECK(std::find(kept_age.begin(), kept_age.end(), 3 * 24) != kept_age.end());
  CHECK(std::find(kept_age.begin(), kept_age.end(), 3 * 24 - 1) == kept_age.end());
  CHECK(std::find(kept_age.begin(), kept_age.end(), 2 * 24 + 1) == kept_age.end());
  // A second rotation over what is left deletes nothing more.
  std::vector<std::string> left;
  for (const auto& n : names) {
    if (!dropped.count(n)) left.push_back(n);
  }
  CHECK(BackupsToDelete(left, kNow).empty());
}

TEST_CASE("BackupIfDue backs up once per interval and the dump loads back", "[backup]") {
  TestVolume tv;
  REQUIRE_OK(tv.vol->MkdirAll(tv.ctx, "/a/b", 0755));
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/a/b/f", "hello backup"));
  std::unique_ptr<meta::Engine> engine;
  REQUIRE_OK(meta::NewEngine(tv.url, &engine));
  std::unique_ptr<object::ObjectStore> store = object::NewMemStore();
  BackupResult r;

  CHECK_ERRNO(BackupIfDue(*engine, *store, 299, kNow, false, nullptr, &r), EINVAL);
  CHECK(BackupKeys(*store).empty());

  REQUIRE_OK(BackupIfDue(*engine, *store, 3600, kNow, false, nullptr, &r));
  CHECK(r == BackupResult::kDone);
  REQUIRE(BackupKeys(*store) == std::vector<std::string>{"meta/" + BackupObjectName(kNow)});
  std::string last;
  REQUIRE_OK(GetLastBackup(*engine, &last));
  CHECK(last == FormatRfc3339Utc(kNow));

  // Not due again within the interval (another client sees the same xattr).
  std::unique_ptr<meta::Engine> other;
  REQUIRE_OK(meta::NewEngine(tv.url, &other));
  REQUIRE_OK(BackupIfDue(*other, *store, 3600, kNow + 3599, false, nullptr, &r));
  CHECK(r == BackupResult::kNotDue);
  CHECK(BackupKeys(*store).size() == 1);
  REQUIRE_OK(BackupIfDue(*other, *store, 3600, kNow + 3600, false, nullptr, &r));
  CHECK(r == BackupResult::kDone);
  CHECK(BackupKeys(*store).size() == 2);

  // The backup is a gzip'd JSON dump without secrets that loads into an empty database.
  std::string gz;
  REQUIRE_OK(store->Get("meta/" + BackupObjectName(kNow), 0, -1, &gz));
  std::string json = Gunzip(gz);
  CHECK(json.find("\"Setting\"") != std::string::npos);
  CHECK(json.find("\"f\"") != std::string::npos);
  struct StringReader : meta::DumpReader {
    std::string data;
    size_t pos = 0;
    Status Read(char* buf, size_t n, size_t* got) override {
      *got = std::min(n, data.size() - pos);
      std::memcpy(buf, data.data() + pos, *got);
      pos += *got;
      return Status::OK();
    }
  } reader;
  reader.data = json;
  TempDir target;
  std::unique_ptr<meta::Engine> fresh;
  REQUIRE_OK(meta::NewEngine("sqlite3://" + target.path() + "/m.db", &fresh, true));
  meta::LoadStats ls;
  REQUIRE_OK(meta::LoadMeta(*fresh, &reader, {}, &ls));
  CHECK(ls.inodes == 4);  // root, a, b, f
}

TEST_CASE("a backup written by JuiceFS's clock and a bad value", "[backup]") {
  TestVolume tv;
  std::unique_ptr<meta::Engine> engine;
  REQUIRE_OK(meta::NewEngine(tv.url, &engine));
  std::unique_ptr<object::ObjectStore> store = object::NewMemStore();
  BackupResult r;
  // JuiceFS wrote its last backup 30 minutes ago in UTC+8.
  REQUIRE_OK(engine->Txn([&](meta::Tx& tx) {
    return tx.PutXattr(meta::kRootIno, "lastBackup", "2026-11-28T07:30:00+08:00");
  }));
  REQUIRE_OK(BackupIfDue(*engine, *store, 3600, kNow, false, nullptr, &r));
  CHECK(r == BackupResult::kNotDue);
  // An unparsable value does not stop backups for good (JuiceFS would skip forever).
  REQUIRE_OK(engine->Txn(
      [&](meta::Tx& tx) { return tx.PutXattr(meta::kRootIno, "lastBackup", "garbage"); }));
  REQUIRE_OK(BackupIfDue(*engine, *store, 3600, kNow, false, nullptr, &r));
  CHECK(r == BackupResult::kDone);
}

TEST_CASE("a cancelled or failed backup uploads nothing and stays due", "[backup]") {
  TestVolume tv;
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/f", "x"));
  std::unique_ptr<meta::Engine> engine;
  REQUIRE_OK(meta::NewEngine(tv.url, &engine));
  std::unique_ptr<object::ObjectStore> store = object::NewMemStore();
  REQUIRE_OK(engine->Txn([&](meta::Tx& tx) {
    return tx.PutXattr(meta::kRootIno, "lastBackup", FormatRfc3339Utc(kNow - 7200));
  }));
  std::atomic<bool> cancel{true};
  BackupResult r;
  CHECK_ERRNO(BackupIfDue(*engine, *store, 3600, kNow, false, &cancel, &r), ECANCELED);
  CHECK(r == BackupResult::kNotDue);
  CHECK(BackupKeys(*store).empty());
  std::string last;
  REQUIRE_OK(GetLastBackup(*engine, &last));
  CHECK(last == FormatRfc3339Utc(kNow - 7200));  // restored: the next check backs up
  cancel = false;
  REQUIRE_OK(BackupIfDue(*engine, *store, 3600, kNow + 1, false, &cancel, &r));
  CHECK(r == BackupResult::kDone);
}

TEST_CASE("a volume with backup_meta backs up in the background", "[backup]") {
  VolumeOptions vo;
  vo.backup_meta = 300;
  vo.backup_check_every = 1;
  TestVolume tv(4096, vo, "bkvol");
  REQUIRE_OK(WriteFile(*tv.vol, tv.ctx, "/f", "x"));
  const std::string dir = tv.bucket + "bkvol/meta";
  bool found = false;
  for (int i = 0; i < 100 && !found; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.path().filename().string().rfind("dump-", 0) == 0) found = true;
    }
  }
  CHECK(found);
  CHECK_OK(tv.vol->Close());

  // Refused: an interval under 5 minutes.
  VolumeOptions bad;
  bad.backup_meta = 299;
  std::unique_ptr<Volume> v;
  CHECK_ERRNO(Volume::Open(tv.url, bad, &v), EINVAL);
}
