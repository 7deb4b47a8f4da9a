// A volume end to end on the S3 test server: format (creating the bucket), write, read, list,
// reopen; and a wrong secret key refused at format and at open with nothing written.
#include <catch2/catch.hpp>

#include "lib/format_secrets.h"
#include "meta/meta.h"
#include "object/s3_store.h"
#include "tests/lib/test_util.h"
#include "tests/object/s3_env.h"

using namespace jfs::lib::testing;
using jfs::Status;
using jfs::lib::FormatOptions;
using jfs::lib::Volume;

namespace {

FormatOptions S3Format(const std::string& bucket) {
  FormatOptions fo;
  fo.name = "s3vol";
  fo.storage = "s3";
  fo.bucket = jfs::testing::S3Env("JFS_TEST_S3_ENDPOINT") + "/" + bucket;
  fo.access_key = jfs::testing::S3Env("JFS_TEST_S3_ACCESS_KEY");
  fo.secret_key = jfs::testing::S3Env("JFS_TEST_S3_SECRET_KEY");
  fo.block_size_kib = 1024;
  fo.trash_days = 0;
  return fo;
}

std::unique_ptr<jfs::object::S3Store> Direct(const std::string& bucket) {
  std::unique_ptr<jfs::object::S3Store> s;
  REQUIRE(jfs::object::NewS3Store(jfs::testing::TestS3Options(bucket), &s).ok());
  return s;
}

}  // namespace

TEST_CASE("volume on s3: format, write, read, list, reopen", "[s3]") {
  TempDir dir;
  const std::string url = "sqlite3://" + dir.path() + "/meta.db";
  const std::string bucket = jfs::testing::FreshBucketName("vol");
  jfs::meta::Format f;
  REQUIRE_OK(jfs::lib::Format(url, S3Format(bucket), &f));
  CHECK(f.storage == "s3");
  CHECK(f.key_encrypted);

  const std::string big = RandomBytes((5 << 20) + 777, 11);  // several 1 MiB blocks
  {
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(url, {}, &v));
    jfs::meta::Context ctx;
    REQUIRE_OK(v->MkdirAll(ctx, "/d/e", 0755));
    REQUIRE_OK(WriteFile(*v, ctx, "/d/big", big));
    REQUIRE_OK(WriteFile(*v, ctx, "/d/e/small", "hello s3"));
    REQUIRE_OK(v->Close());
  }
  std::unique_ptr<Volume> v;
  REQUIRE_OK(Volume::Open(url, {}, &v));
  jfs::meta::Context ctx;
  std::string out;
  REQUIRE_OK(ReadFile(*v, ctx, "/d/big", &out));
  CHECK(out == big);
  REQUIRE_OK(ReadFile(*v, ctx, "/d/e/small", &out));
  CHECK(out == "hello s3");
  std::shared_ptr<jfs::lib::File> file;
  REQUIRE_OK(v->OpenFile(ctx, "/d/big", O_RDONLY, 0, &file));
  REQUIRE_OK(PreadAll(*file, (1 << 20) - 100, 300, &out));  // across a block boundary
  CHECK(out == big.substr((1 << 20) - 100, 300));
  REQUIRE_OK(file->Close());

  std::unique_ptr<jfs::lib::DirStream> ds;
  REQUIRE_OK(v->OpenDir(ctx, "/d", &ds));
  std::vector<std::string> names;
  for (;;) {
    jfs::lib::DirEntry e;
    bool end = false;
    REQUIRE_OK(ds->Next(&e, &end));
    if (end) break;
    if (e.name != "." && e.name != "..") names.push_back(e.name);
  }
  REQUIRE_OK(ds->Close());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"big", "e"});
  REQUIRE_OK(v->Close());

  // The blocks really are in the bucket, under the volume's prefix.
  auto s = Direct(bucket);
  std::vector<jfs::object::ObjectInfo> objs;
  REQUIRE_OK(jfs::object::ListAll(*s, "s3vol/", &objs));
  int chunks = 0;
  for (const auto& o : objs) chunks += o.key.rfind("s3vol/chunks/", 0) == 0;
  CHECK(chunks >= 7);
  CHECK(std::any_of(objs.begin(), objs.end(),
                    [](const auto& o) { return o.key == "s3vol/juicefs_uuid"; }));
}

TEST_CASE("volume on s3: a wrong secret key is refused at format and at open", "[s3]") {
  TempDir dir;
  const std::string url = "sqlite3://" + dir.path() + "/meta.db";
  const std::string bucket = jfs::testing::FreshBucketName("volbad");
  FormatOptions bad = S3Format(bucket);
  bad.secret_key = "wrong-secret";
  Status st = jfs::lib::Format(url, bad);
  INFO(st.ToString());
  CHECK(st.code() == EACCES);
  CHECK(st.message().find("SignatureDoesNotMatch") != std::string::npos);
  // Nothing written: no format in the metadata, no bucket.
  std::unique_ptr<Volume> v;
  CHECK_FALSE(Volume::Open(url, {}, &v).ok());
  std::vector<jfs::object::ObjectInfo> objs;
  bool truncated = false;
  CHECK_FALSE(Direct(bucket)->List("", "", "", 0, &objs, &truncated).ok());

  // Formatted with the right key, then the stored secret replaced by a wrong one: open fails with
  // the same clear error, and writes nothing.
  REQUIRE_OK(jfs::lib::Format(url, S3Format(bucket)));
  {
    std::unique_ptr<jfs::meta::Meta> m;
    REQUIRE_OK(jfs::meta::NewMeta(url, &m));
    jfs::meta::Format f;
    REQUIRE_OK(m->Load(&f));
    REQUIRE_OK(jfs::lib::DecryptFormatSecrets(&f));
    f.secret_key = "wrong-secret";
    REQUIRE_OK(jfs::lib::EncryptFormatSecrets(&f));
    REQUIRE_OK(m->Init(f, true));
  }
  st = Volume::Open(url, {}, &v);
  INFO(st.ToString());
  CHECK(st.code() == EACCES);
  CHECK(st.message().find("SignatureDoesNotMatch") != std::string::npos);
  REQUIRE_OK(jfs::object::ListAll(*Direct(bucket), "", &objs));
  for (const auto& o : objs) CHECK(o.key.rfind("s3vol/chunks/", 0) != 0);
}
