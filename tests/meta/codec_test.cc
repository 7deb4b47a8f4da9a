#include "meta/codec.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "meta/types.h"

using namespace jfs;
using namespace jfs::meta;

namespace {

std::string Unhex(std::string_view hex) {
  std::string out;
  int hi = -1;
  for (char c : hex) {
    int v;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      v = c - 'A' + 10;
    } else {
      continue;  // spaces separate groups in format.md
    }
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<char>(hi << 4 | v));
      hi = -1;
    }
  }
  REQUIRE(hi < 0);
  return out;
}

Attr RootAttr() {
  Attr a;
  a.typ = kTypeDirectory;
  a.mode = 0777;
  a.atime = a.mtime = a.ctime = 1700000000;
  a.nlink = 2;
  a.length = 4096;
  a.parent = 1;
  return a;
}

Attr FullAttr() {
  Attr a;
  a.flags = kFlagAppend | kFlagSkipTrash;
  a.typ = kTypeFile;
  a.mode = 04755;
  a.uid = 1000;
  a.gid = 0xFFFFFFFE;
  a.atime = -5;  // before 1970
  a.atimensec = 999999999;
  a.mtime = 0x0102030405060708LL;
  a.mtimensec = 1;
  a.ctime = 1700000001;
  a.ctimensec = 2;
  a.nlink = 3;
  a.length = 0xFFFFFFFFFFULL;
  a.rdev = 0x0801;
  a.parent = 0x7FFFFFFF0FFFFFFFULL;
  return a;
}

Format SampleFormat() {
  Format f;
  f.name = "myjfs";
  f.uuid = "c5fa0c4e-8a6d-4b1f-9d7e-0123456789ab";
  f.storage = "file";
  f.bucket = "/var/jfs/";
  f.block_size_kib = 4096;
  f.compression = "none";
  f.trash_days = 1;
  f.meta_version = 1;
  f.min_client_version = "1.1.0-A";
  f.dir_stats = true;
  return f;
}

// The Setting object of shared/testdata/juicefs/metadata.sample (a real JuiceFS dump).
constexpr const char* kSampleSetting = R"({
  "Name": "load-dump-test",
  "UUID": "faa27c8f-edab-4791-a4e0-1620b732b343",
  "Storage": "file",
  "Tiers": {"0": {"ID": 0, "StorageClass": "default", "Tag": ""},
            "1": {"ID": 1, "StorageClass": "STANDARD_IA", "Tag": ""}},
  "Bucket": "/Users/juicefs/.juicefs/local/",
  "SecretKey": "removed",
  "BlockSize": 4096,
  "Compression": "none",
  "EncryptKey": "AQSttslKOSE/hQT/gmaMniCsdPF8JdPRfoYK6zFkdUOnifYwBA==",
  "KeyEncrypted": true,
  "TrashDays": 1,
  "MetaVersion": 1,
  "EnableACL": true
})";

// What Go's json.MarshalIndent(format, "", "") writes for that Format.
constexpr const char* kSampleSettingGo = R"({
"Name": "load-dump-test",
"UUID": "faa27c8f-edab-4791-a4e0-1620b732b343",
"Storage": "file",
"Tiers": {
"0": {
"ID": 0,
"StorageClass": "default",
"Tag": ""
},
"1": {
"ID": 1,
"StorageClass": "STANDARD_IA",
"Tag": ""
}
},
"Bucket": "/Users/juicefs/.juicefs/local/",
"SecretKey": "removed",
"BlockSize": 4096,
"Compression": "none",
"EncryptKey": "AQSttslKOSE/hQT/gmaMniCsdPF8JdPRfoYK6zFkdUOnifYwBA==",
"KeyEncrypted": true,
"TrashDays": 1,
"MetaVersion": 1,
"EnableACL": true
})";

void CheckSampleSetting(const Format& f) {
  CHECK(f.name == "load-dump-test");
  CHECK(f.uuid == "faa27c8f-edab-4791-a4e0-1620b732b343");
  CHECK(f.storage == "file");
  CHECK(f.bucket == "/Users/juicefs/.juicefs/local/");
  CHECK(f.secret_key == "removed");
  CHECK(f.block_size_kib == 4096);
  CHECK(f.BlockSizeBytes() == 4u << 20);
  CHECK(f.compression == "none");
  CHECK(f.encrypt_key == "AQSttslKOSE/hQT/gmaMniCsdPF8JdPRfoYK6zFkdUOnifYwBA==");
  CHECK(f.key_encrypted);
  CHECK(f.trash_days == 1);
  CHECK(f.meta_version == 1);
  CHECK(f.enable_acl);
  CHECK_FALSE(f.dir_stats);
  REQUIRE(f.extra_json.size() == 1);
  REQUIRE(f.extra_json.count("Tiers") == 1);
  auto tiers = nlohmann::json::parse(f.extra_json.at("Tiers"));
  CHECK(tiers["1"]["StorageClass"] == "STANDARD_IA");
}

}  // namespace

// ---- types -------------------------------------------------------------------------------------

TEST_CASE("Attr::SMode combines the type bits with the permission bits", "[types]") {
  Attr a;
  a.mode = 04755;
  a.typ = kTypeFile;
  CHECK(a.SMode() == (S_IFREG | 04755));
  a.typ = kTypeDirectory;
  CHECK(a.SMode() == (S_IFDIR | 04755));
  a.typ = kTypeSymlink;
  CHECK(a.SMode() == (S_IFLNK | 04755));
  a.typ = kTypeFIFO;
  CHECK(a.SMode() == (S_IFIFO | 04755));
  a.typ = kTypeBlockDev;
  CHECK(a.SMode() == (S_IFBLK | 04755));
  a.typ = kTypeCharDev;
  CHECK(a.SMode() == (S_IFCHR | 04755));
  a.typ = kTypeSocket;
  CHECK(a.SMode() == (S_IFSOCK | 04755));
  a.typ = 0;
  CHECK(a.SMode() == 04755u);
}

TEST_CASE("Context::InGroup checks every group, primary and supplementary", "[types]") {
  Context ctx;
  ctx.uid = 1000;
  ctx.gids = {100, 27, 4};
  CHECK(ctx.InGroup(100));
  CHECK(ctx.InGroup(27));
  CHECK(ctx.InGroup(4));
  CHECK_FALSE(ctx.InGroup(0));
  CHECK_FALSE(ctx.IsRoot());
  ctx.gids.clear();
  CHECK_FALSE(ctx.InGroup(100));
}

// ---- Attr --------------------------------------------------------------------------------------

TEST_CASE("EncodeAttr matches the root attr example of format.md byte for byte", "[codec]") {
  const std::string want = Unhex(
      "00 21ff 00000000 00000000 000000006553f100 00000000 000000006553f100 00000000 "
      "000000006553f100 00000000 00000002 0000000000001000 00000000 0000000000000001 00");
  REQUIRE(want.size() == 72);
  CHECK(EncodeAttr(RootAttr()) == want);

  Attr got;
  got.tier = 9;  // must be overwritten
  REQUIRE(DecodeAttr(want, &got).ok());
  CHECK(got == RootAttr());
}

TEST_CASE("EncodeAttr lays out every field big-endian", "[codec]") {
  Attr a = FullAttr();
  std::string b = EncodeAttr(a);
  REQUIRE(b.size() == 72);
  CHECK(b.substr(0, 3) == Unhex("22 19ed"));  // flags 0x22, (1<<12)|04755
  CHECK(b.substr(3, 8) == Unhex("000003e8 fffffffe"));
  CHECK(b.substr(11, 12) == Unhex("fffffffffffffffb 3b9ac9ff"));
  CHECK(b.substr(23, 12) == Unhex("0102030405060708 00000001"));
  CHECK(b.substr(47, 24) == Unhex("00000003 000000ffffffffff 00000801 7fffffff0fffffff"));
  CHECK(b[71] == '\0');
  Attr back;
  REQUIRE(DecodeAttr(b, &back).ok());
  CHECK(back == a);
}

TEST_CASE("EncodeAttr appends ACL ids and tier only when set", "[codec]") {
  Attr a = FullAttr();

  SECTION("tier only: 73 bytes, tier at 71, pad at 72") {
    a.tier = 3;
    std::string b = EncodeAttr(a);
    REQUIRE(b.size() == 73);
    CHECK(b.substr(71) == Unhex("03 00"));
    Attr back;
    REQUIRE(DecodeAttr(b, &back).ok());
    CHECK(back == a);
  }
  SECTION("ACL only: 80 bytes") {
    a.access_acl = 5;
    std::string b = EncodeAttr(a);
    REQUIRE(b.size() == 80);
    CHECK(b.substr(71) == Unhex("00000005 00000000 00"));
    Attr back;
    REQUIRE(DecodeAttr(b, &back).ok());
    CHECK(back == a);
  }
  SECTION("default ACL alone also adds both ids") {
    a.default_acl = 0x01020304;
    std::string b = EncodeAttr(a);
    REQUIRE(b.size() == 80);
    CHECK(b.substr(71) == Unhex("00000000 01020304 00"));
  }
  SECTION("ACL and tier: 81 bytes") {
    a.access_acl = 7;
    a.default_acl = 8;
    a.tier = 255;
    std::string b = EncodeAttr(a);
    REQUIRE(b.size() == 81);
    CHECK(b.substr(71) == Unhex("00000007 00000008 ff 00"));
    Attr back;
    REQUIRE(DecodeAttr(b, &back).ok());
    CHECK(back == a);
  }
}

TEST_CASE("DecodeAttr accepts legacy and unpadded lengths", "[codec]") {
  Attr a = FullAttr();
  std::string b = EncodeAttr(a);

  SECTION("legacy 63 bytes: no parent") {
    Attr back;
    REQUIRE(DecodeAttr(b.substr(0, 63), &back).ok());
    Attr want = a;
    want.parent = 0;
    CHECK(back == want);
  }
  SECTION("71 bytes (no pad): parent read") {
    Attr back;
    REQUIRE(DecodeAttr(b.substr(0, 71), &back).ok());
    CHECK(back == a);
  }
  SECTION("64..70 bytes: parent not read, first byte after rdev is the tier") {
    Attr back;
    REQUIRE(DecodeAttr(b.substr(0, 64), &back).ok());
    CHECK(back.parent == 0);
    CHECK(back.tier == 0x7F);
    CHECK(back.rdev == a.rdev);
  }
  SECTION("ACL ids without pad or tier (79 bytes)") {
    a.access_acl = 1;
    a.default_acl = 2;
    std::string acl = EncodeAttr(a);
    Attr back;
    REQUIRE(DecodeAttr(std::string_view(acl).substr(0, 79), &back).ok());
    CHECK(back == a);
  }
  SECTION("a mode with type bits decodes typ and mode separately") {
    std::string m = b;
    m[1] = static_cast<char>(0x7F);  // typ 7 (socket), mode high nibble 0xF
    m[2] = static_cast<char>(0xFF);
    Attr back;
    REQUIRE(DecodeAttr(m, &back).ok());
    CHECK(back.typ == kTypeSocket);
    CHECK(back.mode == 07777);
  }
}

TEST_CASE("DecodeAttr rejects values shorter than 63 bytes", "[codec]") {
  std::string b = EncodeAttr(RootAttr());
  for (size_t n : {size_t{0}, size_t{1}, size_t{9}, size_t{62}}) {
    Attr out = FullAttr();
    Status st = DecodeAttr(std::string_view(b).substr(0, n), &out);
    CHECK(st.code() == EIO);
    CHECK(st.message().find("corrupted attr") != std::string::npos);
    CHECK(out == FullAttr());  // untouched
  }
}

// ---- entries, slices, delayed slices -------------------------------------------------------

TEST_CASE("Entry values are type u8 + inode u64 big-endian", "[codec]") {
  std::string e = EncodeEntry(kTypeDirectory, 0x0102030405060708ULL);
  CHECK(e == Unhex("02 0102030405060708"));
  uint8_t typ = 0;
  Ino ino = 0;
  REQUIRE(DecodeEntry(e, &typ, &ino).ok());
  CHECK(typ == kTypeDirectory);
  CHECK(ino == 0x0102030405060708ULL);

  CHECK(EncodeEntry(kTypeFile, kTrashIno) == Unhex("01 7fffffff10000000"));

  for (size_t n : {size_t{0}, size_t{8}, size_t{10}}) {
    typ = 99;
    ino = 42;
    Status st = DecodeEntry(std::string(n, '\x01'), &typ, &ino);
    CHECK(st.code() == EIO);
    CHECK(typ == 99);
    CHECK(ino == 42);
  }
}

TEST_CASE("Slice records match the format.md example", "[codec]") {
  Slice s{0, 5, 64u << 20, 0, 64u << 20};
  const std::string want = Unhex("00000000 0000000000000005 04000000 00000000 04000000");
  CHECK(EncodeSlice(s) == want);
  CHECK(EncodeSlice(s).size() == kSliceRecordSize);

  std::vector<Slice> got;
  REQUIRE(DecodeSlices(want, &got).ok());
  REQUIRE(got.size() == 1);
  CHECK(got[0] == s);
}

TEST_CASE("DecodeSlices decodes concatenated records in order", "[codec]") {
  std::vector<Slice> in = {
      {0, 1, 100, 0, 100},
      {0x01020304, 0x1122334455667788ULL, 0xAABBCCDD, 7, 9},
      {64, 0, 0, 0, 12},
  };
  std::string buf;
  for (const auto& s : in) AppendSlice(&buf, s);
  CHECK(buf.size() == 3 * kSliceRecordSize);
  CHECK(buf.substr(24, 24) == Unhex("01020304 1122334455667788 aabbccdd 00000007 00000009"));

  std::vector<Slice> out = {{9, 9, 9, 9, 9}};
  REQUIRE(DecodeSlices(buf, &out).ok());
  CHECK(out == in);

  REQUIRE(DecodeSlices("", &out).ok());
  CHECK(out.empty());
}

TEST_CASE("DecodeSlices rejects a length that is not a multiple of 24", "[codec]") {
  std::string buf = EncodeSlice({0, 1, 2, 3, 4});
  std::vector<Slice> out = {{9, 9, 9, 9, 9}};
  for (size_t n : {size_t{1}, size_t{23}, size_t{25}, size_t{47}}) {
    std::string b = buf + buf;
    b.resize(n);
    Status st = DecodeSlices(b, &out);
    CHECK(st.code() == EIO);
    REQUIRE(out.size() == 1);
    CHECK(out[0] == Slice{9, 9, 9, 9, 9});
  }
}

TEST_CASE("Delayed slice records are id u64 + size u32", "[codec]") {
  std::string buf;
  AppendDelayedSlice(&buf, 0x0102030405060708ULL, 0x0A0B0C0D);
  AppendDelayedSlice(&buf, 1, 4096);
  CHECK(buf == Unhex("0102030405060708 0a0b0c0d 0000000000000001 00001000"));
}

// ---- Format ------------------------------------------------------------------------------------

TEST_CASE("EncodeFormat writes Go's MarshalIndent layout in struct order", "[codec][format]") {
  const std::string want = R"({
"Name": "myjfs",
"UUID": "c5fa0c4e-8a6d-4b1f-9d7e-0123456789ab",
"Storage": "file",
"Bucket": "/var/jfs/",
"BlockSize": 4096,
"Compression": "none",
"TrashDays": 1,
"MetaVersion": 1,
"MinClientVersion": "1.1.0-A",
"DirStats": true,
"EnableACL": false
})";
  CHECK(EncodeFormat(SampleFormat()) == want);
}

TEST_CASE("EncodeFormat writes every field when all are set", "[codec][format]") {
  Format f = SampleFormat();
  f.storage = "s3";
  f.storage_class = "STANDARD_IA";
  f.bucket = "https://b.s3.amazonaws.com";
  f.access_key = "AK";
  f.secret_key = "SK";
  f.session_token = "ST";
  f.block_size_kib = 1024;
  f.compression = "zstd";
  f.shards = 4;
  f.hash_prefix = true;
  f.capacity = 1ULL << 40;
  f.inodes = 18446744073709551615ULL;
  f.encrypt_key = "PEM";
  f.encrypt_algo = "chacha20-rsa";
  f.key_encrypted = true;
  f.upload_limit = 100;
  f.download_limit = -1;
  f.trash_days = 0;
  f.max_client_version = "1.9.0";
  f.user_group_quota = true;
  f.enable_acl = true;
  f.extra_json["KerbConf"] = R"("krb")";
  f.extra_json["ChangeLog"] = "true";
  f.extra_json["RangerService"] = R"("svc")";
  f.extra_json["RangerRestUrl"] = R"("http://r")";
  f.extra_json["Tiers"] = R"({"0":{"ID":0,"StorageClass":"","Tag":""}})";
  f.extra_json["Zeta"] = R"({"b":1,"a":[1,"x",null,false,{}],"c":[]})";
  f.extra_json["Alpha"] = "-3";
  const std::string want = R"({
"Name": "myjfs",
"UUID": "c5fa0c4e-8a6d-4b1f-9d7e-0123456789ab",
"Storage": "s3",
"StorageClass": "STANDARD_IA",
"Tiers": {
"0": {
"ID": 0,
"StorageClass": "",
"Tag": ""
}
},
"Bucket": "https://b.s3.amazonaws.com",
"AccessKey": "AK",
"SecretKey": "SK",
"SessionToken": "ST",
"BlockSize": 1024,
"Compression": "zstd",
"Shards": 4,
"HashPrefix": true,
"Capacity": 1099511627776,
"Inodes": 18446744073709551615,
"EncryptKey": "PEM",
"EncryptAlgo": "chacha20-rsa",
"KeyEncrypted": true,
"UploadLimit": 100,
"DownloadLimit": -1,
"TrashDays": 0,
"MetaVersion": 1,
"MinClientVersion": "1.1.0-A",
"MaxClientVersion": "1.9.0",
"DirStats": true,
"UserGroupQuota": true,
"EnableACL": true,
"RangerRestUrl": "http://r",
"RangerService": "svc",
"ChangeLog": true,
"KerbConf": "krb",
"Alpha": -3,
"Zeta": {
"b": 1,
"a": [
1,
"x",
null,
false,
{}
],
"c": []
}
})";
  std::string got = EncodeFormat(f);
  CHECK(got == want);

  // Decoding it gives the same Format back, and re-encoding is a fixed point.
  Format back;
  REQUIRE(DecodeFormat(got, &back).ok());
  CHECK(back.storage_class == f.storage_class);
  CHECK(back.inodes == f.inodes);
  CHECK(back.capacity == f.capacity);
  CHECK(back.download_limit == -1);
  CHECK(back.trash_days == 0);
  CHECK(back.shards == 4);
  CHECK(back.hash_prefix);
  CHECK(back.user_group_quota);
  CHECK(back.extra_json.size() == f.extra_json.size());
  CHECK(EncodeFormat(back) == want);
}

TEST_CASE("EncodeFormat omits empty Go-omitempty extras and drops invalid extra JSON",
          "[codec][format]") {
  Format f = SampleFormat();
  f.extra_json["Tiers"] = "{}";
  f.extra_json["ChangeLog"] = "false";
  f.extra_json["KerbConf"] = R"("")";
  f.extra_json["Broken"] = "{not json";
  f.extra_json["Kept"] = R"("")";        // unknown to Go: kept verbatim even when empty
  f.extra_json["Name"] = R"("shadow")";  // would duplicate a typed field: ignored
  std::string got = EncodeFormat(f);
  CHECK(got.find("Tiers") == std::string::npos);
  CHECK(got.find("ChangeLog") == std::string::npos);
  CHECK(got.find("KerbConf") == std::string::npos);
  CHECK(got.find("Broken") == std::string::npos);
  CHECK(got.find("shadow") == std::string::npos);
  CHECK(got.find("\"Kept\": \"\"\n}") != std::string::npos);
  CHECK(nlohmann::json::parse(got)["Name"] == "myjfs");
}

TEST_CASE("Format strings are escaped the way Go escapes them", "[codec][format]") {
  Format f = SampleFormat();
  // <>& HTML-escaped, quote/backslash, short escapes, other controls as \u00XX, DEL and
  // valid UTF-8 verbatim, U+2028/U+2029 escaped, invalid bytes -> \ufffd (one per byte).
  f.name = std::string("a<b>&c\"d\\e\b\f\n\r\t\x01\x1f\x7f") + "\xC3\xA9\xE2\x80\xA8\xE2\x80\xA9" +
           "\xFF\xC3\xE0\x80\x80\xED\xA0\x80\xF4\x90\x80\x80\xF0\x9F\x98\x80";
  std::string got = EncodeFormat(f);
  const std::string want_name =
      R"("Name": "a\u003cb\u003e\u0026c\"d\\e\b\f\n\r\t\u0001\u001f)"
      "\x7f\xC3\xA9"
      R"(\u2028\u2029\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd)"
      "\xF0\x9F\x98\x80\",";
  CHECK(got.find("\n" + want_name + "\n") != std::string::npos);

  // The escaped output is valid JSON and decodes to the valid-UTF-8 subset.
  Format back;
  REQUIRE(DecodeFormat(got, &back).ok());
  CHECK(back.name.substr(0, 20) == f.name.substr(0, 20));

  // Escapes in keys of extra values too.
  f.name = "x";
  f.extra_json["K<>"] = R"({"v&":"</script>"})";
  got = EncodeFormat(f);
  CHECK(got.find("\"K\\u003c\\u003e\": {\n\"v\\u0026\": \"\\u003c/script\\u003e\"\n}") !=
        std::string::npos);
}

TEST_CASE("Numbers in kept extra values use Go's float formatting", "[codec][format]") {
  Format f;
  REQUIRE(DecodeFormat(R"({"BlockSize": 4096, "X": [1e-7, 1.5, 1e21, 123456789012345678901234,
                          0.000001, -2.5e-10, 100.0, 3]})",
                       &f)
              .ok());
  std::string got = EncodeFormat(f);
  CHECK(got.find("\"X\": [\n1e-7,\n1.5,\n1e+21,\n1.2345678901234569e+23,\n0.000001,\n"
                 "-2.5e-10,\n100,\n3\n]") != std::string::npos);
}

TEST_CASE("DecodeFormat accepts the Setting of a real JuiceFS dump", "[codec][format]") {
  Format f;
  REQUIRE(DecodeFormat(kSampleSetting, &f).ok());
  CheckSampleSetting(f);
  CHECK(EncodeFormat(f) == kSampleSettingGo);

  Format again;
  REQUIRE(DecodeFormat(kSampleSettingGo, &again).ok());
  CHECK(EncodeFormat(again) == kSampleSettingGo);
}

#ifdef JFS_JUICEFS_TESTDATA
TEST_CASE("DecodeFormat accepts Setting of shared/testdata/juicefs/metadata.sample",
          "[codec][format]") {
  std::ifstream in(std::string(JFS_JUICEFS_TESTDATA) + "/metadata.sample");
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  auto dump = nlohmann::ordered_json::parse(ss.str());
  REQUIRE(dump.contains("Setting"));
  Format f;
  Status st = DecodeFormat(dump["Setting"].dump(), &f);
  REQUIRE(st.ok());
  CheckSampleSetting(f);
  CHECK(EncodeFormat(f) == kSampleSettingGo);
}
#endif

TEST_CASE("DecodeFormat starts from Go zero values, not format defaults", "[codec][format]") {
  Format f;
  REQUIRE(DecodeFormat(R"({"Name":"old","UUID":"u","Bucket":"b","BlockSize":4096})", &f).ok());
  CHECK(f.storage.empty());
  CHECK(f.trash_days == 0);
  CHECK(f.meta_version == 0);
  CHECK(f.extra_json.empty());
  const std::string want = R"({
"Name": "old",
"UUID": "u",
"Storage": "",
"Bucket": "b",
"BlockSize": 4096,
"TrashDays": 0,
"EnableACL": false
})";
  CHECK(EncodeFormat(f) == want);
}

TEST_CASE("DecodeFormat matches keys case-insensitively and ignores null", "[codec][format]") {
  Format f;
  REQUIRE(DecodeFormat(R"({"name":"a","BLOCKSIZE":64,"trashdays":3,"Compression":null,
                           "tiers":{"0":{"ID":0}},"Other":null,"enableacl":true})",
                       &f)
              .ok());
  CHECK(f.name == "a");
  CHECK(f.block_size_kib == 64);
  CHECK(f.trash_days == 3);
  CHECK(f.compression.empty());
  CHECK(f.enable_acl);
  CHECK(f.extra_json.count("Tiers") == 1);  // stored under the Go field name
  CHECK(f.extra_json.at("Other") == "null");

  // The later key wins, as in encoding/json.
  REQUIRE(DecodeFormat(R"({"BlockSize":1,"blocksize":2})", &f).ok());
  CHECK(f.block_size_kib == 2);
}

TEST_CASE("DecodeFormat rejects malformed JSON and mistyped fields without changes",
          "[codec][format]") {
  const Format orig = SampleFormat();
  const char* bad[] = {
      "",
      "{",
      "not json",
      "[]",
      "\"str\"",
      R"({"BlockSize": "4096"})",
      R"({"BlockSize": 4096.5})",
      R"({"BlockSize": 1e3})",
      R"({"BlockSize": 4294967296})",
      R"({"BlockSize": 4096, "Capacity": -1})",
      R"({"BlockSize": 4096, "Name": 5})",
      R"({"BlockSize": 4096, "HashPrefix": 1})",
      R"({"BlockSize": 4096, "Inodes": 18446744073709551616})",
      R"({"BlockSize": 4096} trailing)",
      "{\"BlockSize\": 4096, \"Name\": \"\xFF\"}",
  };
  for (const char* js : bad) {
    Format f = orig;
    Status st = DecodeFormat(js, &f);
    INFO(js);
    CHECK(st.code() == EIO);
    CHECK(EncodeFormat(f) == EncodeFormat(orig));
  }
}

TEST_CASE("DecodeFormat bounds the nesting of kept values", "[codec][format]") {
  std::string deep =
      R"({"BlockSize": 4096, "X": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
  Format f;
  CHECK(DecodeFormat(deep, &f).code() == EIO);
  std::string ok =
      R"({"BlockSize": 4096, "X": )" + std::string(20, '[') + std::string(20, ']') +
      R"(, "Y": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["})";
  REQUIRE(DecodeFormat(ok, &f).ok());
  CHECK(f.extra_json.count("X") == 1);
}

TEST_CASE("DecodeFormat rejects unusable block sizes and newer meta versions", "[codec][format]") {
  Format f = SampleFormat();
  Status st = DecodeFormat(R"({"Name":"x"})", &f);
  CHECK(st.code() == EINVAL);
  st = DecodeFormat(R"({"Name":"x","BlockSize":0})", &f);
  CHECK(st.code() == EINVAL);
  st = DecodeFormat(R"({"Name":"x","BlockSize":-4})", &f);
  CHECK(st.code() == EINVAL);
  st = DecodeFormat(R"({"Name":"x","BlockSize":4096,"MetaVersion":2})", &f);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("volume needs a newer client") != std::string::npos);
  CHECK(f.name == "myjfs");
  REQUIRE(DecodeFormat(R"({"Name":"x","BlockSize":4096,"MetaVersion":1})", &f).ok());
  CHECK(f.name == "x");
}

TEST_CASE("EncodeFormatForDisplay replaces only non-empty secrets", "[codec][format]") {
  Format f = SampleFormat();
  f.access_key = "AK";
  f.secret_key = "SK";
  f.encrypt_key = "-----BEGIN RSA PRIVATE KEY-----";
  std::string got = EncodeFormatForDisplay(f);
  CHECK(got.find("\"AccessKey\": \"AK\",\n\"SecretKey\": \"removed\",\n\"BlockSize\"") !=
        std::string::npos);
  CHECK(got.find("\"EncryptKey\": \"removed\"") != std::string::npos);
  CHECK(got.find("SessionToken") == std::string::npos);
  CHECK(got.find("SK\"") == std::string::npos);
  CHECK(got.find("BEGIN") == std::string::npos);
  // The input is left alone.
  CHECK(f.secret_key == "SK");
  f.session_token = "tok";
  CHECK(EncodeFormatForDisplay(f).find("\"SessionToken\": \"removed\"") != std::string::npos);
}

// ---- SessionInfo -------------------------------------------------------------------------------

TEST_CASE("EncodeSessionInfo is Go's compact json.Marshal of SessionInfo", "[codec]") {
  SessionInfo s;
  s.version = "1.2.0+2024-06-18.abcdef";
  s.host_name = "node-1";
  s.ip_addrs = {"10.0.0.1", "fe80::1"};
  s.mount_point = "/mnt/jfs";
  s.mount_time = 1700000000;
  s.process_id = 4242;
  CHECK(EncodeSessionInfo(s) == R"({"Version":"1.2.0+2024-06-18.abcdef","HostName":"node-1",)"
                                R"("IPAddrs":["10.0.0.1","fe80::1"],"MountPoint":"/mnt/jfs",)"
                                R"("MountTime":"2023-11-14T22:13:20Z","ProcessID":4242})");

  s.ip_addrs.clear();
  s.mount_point = "<lib>";
  s.mount_time = 0;
  CHECK(EncodeSessionInfo(s) ==
        R"({"Version":"1.2.0+2024-06-18.abcdef","HostName":"node-1",)"
        R"("MountPoint":"\u003clib\u003e","MountTime":"1970-01-01T00:00:00Z","ProcessID":4242})");

  s.mount_time = -62135596800LL;  // year 1
  CHECK(EncodeSessionInfo(s).find(R"("MountTime":"0001-01-01T00:00:00Z")") != std::string::npos);
  s.mount_time = 253402300800LL;  // year 10000: Go cannot marshal it, we write the zero time
  CHECK(EncodeSessionInfo(s).find(R"("MountTime":"0001-01-01T00:00:00Z")") != std::string::npos);

  auto parsed = nlohmann::json::parse(EncodeSessionInfo(s));
  CHECK(parsed["ProcessID"] == 4242);
}
