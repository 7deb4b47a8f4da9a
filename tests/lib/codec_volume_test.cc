// Compressed and encrypted volumes end to end on the file and mem backends: round trips with
// partial reads and overwrites, the stored Format fields, the bytes of stored objects (decoded with
// the plain zstd/lz4 APIs and raw OpenSSL), wrong keys and damaged objects (EIO, never wrong
// data), passphrase-protected keys, and bad options (nothing created).
#include <lz4.h>
#include <stdlib.h>
#include <zstd.h>

#include "lib/format_secrets.h"
#include "meta/codec.h"
#include "meta/meta.h"
#include "tests/lib/codec_volume.h"
#include "tests/object/rsa_keys.h"

using namespace jfs;
using namespace jfs::lib;
using namespace jfs::lib::testing;
using jfs::testing::PemKind;
using jfs::testing::TestRsaPem;

namespace {

constexpr uint32_t kBlockKib = 256;
constexpr uint32_t kBs = kBlockKib * 1024;

struct Variant {
  const char* label;
  const char* compression;
  bool encrypt;
  PemKind pem = PemKind::kPkcs1;
  const char* algo = "";
};

const Variant kVariants[] = {
    {"zstd", "zstd", false},
    {"lz4", "lz4", false},
    {"encrypted (PKCS#1)", "none", true, PemKind::kPkcs1},
    {"zstd + encrypted (PKCS#8)", "zstd", true, PemKind::kPkcs8},
    {"lz4 + encrypted (chacha20)", "lz4", true, PemKind::kPkcs1, "chacha20-rsa"},
};

FormatOptions Opts(const std::string& storage, const std::string& bucket, const Variant& v) {
  FormatOptions o;
  o.name = "codecvol";
  o.storage = storage;
  o.bucket = bucket;
  o.block_size_kib = kBlockKib;
  o.trash_days = 0;
  o.compression = v.compression;
  if (v.encrypt) o.encrypt_rsa_key = TestRsaPem(0, v.pem);
  o.encrypt_algo = v.algo;
  return o;
}

// The stored Format as the engine has it (secrets still encrypted).
meta::Format StoredFormat(const std::string& url) {
  std::unique_ptr<meta::Meta> m;
  REQUIRE_OK(meta::NewMeta(url, &m));
  meta::Format f;
  REQUIRE_OK(m->Load(&f));
  return f;
}

// Replaces the volume's EncryptKey by another PEM, as if someone swapped the key.
void SwapKey(const std::string& url, const std::string& pem) {
  std::unique_ptr<meta::Meta> m;
  REQUIRE_OK(meta::NewMeta(url, &m));
  meta::Format f;
  REQUIRE_OK(m->Load(&f));
  REQUIRE_OK(DecryptFormatSecrets(&f));
  f.encrypt_key = pem;
  REQUIRE_OK(EncryptFormatSecrets(&f));
  REQUIRE_OK(m->Init(f, /*force=*/true));
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Spit(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  REQUIRE(out);
  out << data;
}

// Block objects (files) of the volume whose block length is `blen`.
std::vector<std::string> BlockFiles(const std::string& bucket, uint32_t blen) {
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(bucket + "/codecvol/chunks")) {
    if (!e.is_regular_file()) continue;
    const std::string name = e.path().filename().string();
    if (name.size() > std::to_string(blen).size() &&
        name.substr(name.rfind('_') + 1) == std::to_string(blen)) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// RAII for JFS_RSA_PASSPHRASE.
class PassphraseEnv {
 public:
  explicit PassphraseEnv(const char* value) {
    if (const char* old = getenv("JFS_RSA_PASSPHRASE")) old_ = old, had_ = true;
    if (value) {
      setenv("JFS_RSA_PASSPHRASE", value, 1);
    } else {
      unsetenv("JFS_RSA_PASSPHRASE");
    }
  }
  ~PassphraseEnv() {
    if (had_) {
      setenv("JFS_RSA_PASSPHRASE", old_.c_str(), 1);
    } else {
      unsetenv("JFS_RSA_PASSPHRASE");
    }
  }

 private:
  std::string old_;
  bool had_ = false;
};

}  // namespace

TEST_CASE("compressed / encrypted volumes round trip on the file backend", "[codec]") {
  for (const Variant& var : kVariants) {
    DYNAMIC_SECTION(var.label) {
      TempDir dir;
      const std::string url = "sqlite3://" + dir.path() + "/meta.db";
      const std::string bucket = dir.path() + "/data";
      meta::Format out;
      REQUIRE_OK(Format(url, Opts("file", bucket, var), &out));

      // The Format as JuiceFS writes it (format.md §4.1, §4.2).
      meta::Format f = StoredFormat(url);
      CHECK(f.compression == var.compression);
      CHECK(f.encrypt_algo == (*var.algo ? var.algo : "aes256gcm-rsa"));
      if (var.encrypt) {
        CHECK(f.key_encrypted);
        CHECK(f.encrypt_key.find("BEGIN") == std::string::npos);  // sealed with the UUID
        meta::Format plain = f;
        REQUIRE_OK(DecryptFormatSecrets(&plain));
        CHECK(plain.encrypt_key == TestRsaPem(0, var.pem));
      } else {
        CHECK(f.encrypt_key.empty());
      }
      const std::string json = meta::EncodeFormat(f);
      CHECK(json.find(std::string("\"Compression\": \"") + var.compression + "\"") !=
            std::string::npos);
      CHECK(json.find("\"EncryptAlgo\": ") != std::string::npos);
      CHECK((json.find("\"EncryptKey\": ") != std::string::npos) == var.encrypt);

      std::map<std::string, std::string> model;
      {
        std::unique_ptr<Volume> v;
        REQUIRE_OK(Volume::Open(url, {}, &v));
        model = RoundTrip(*v, kBs);
        REQUIRE_OK(v->Close());
      }
      std::unique_ptr<Volume> v;
      REQUIRE_OK(Volume::Open(url, {}, &v));
      CheckModel(*v, model);
      REQUIRE_OK(v->Close());

      // Stored objects are not plaintext: the compressible blocks shrank; encrypted ones are
      // unreadable.
      size_t smallest = SIZE_MAX;
      for (const auto& path : BlockFiles(bucket, kBs)) {
        const std::string stored = Slurp(path);
        smallest = std::min(smallest, stored.size());
        if (var.encrypt) CHECK(stored.find("epsilon ") == std::string::npos);
      }
      if (std::string(var.compression) != "none") CHECK(smallest < kBs / 2);
    }
  }
}

TEST_CASE("compressed / encrypted volumes round trip on the mem backend", "[codec]") {
  for (const Variant& var : kVariants) {
    DYNAMIC_SECTION(var.label) {
      TempDir dir;
      const std::string url = "sqlite3://" + dir.path() + "/meta.db";
      REQUIRE_OK(Format(url, Opts("mem", "mem://", var)));
      std::unique_ptr<Volume> v;
      REQUIRE_OK(Volume::Open(url, {}, &v));
      auto model = RoundTrip(*v, kBs);
      CheckModel(*v, model);
      REQUIRE_OK(v->Close());
    }
  }
}

TEST_CASE("stored blocks decode with the plain zstd / lz4 APIs and raw OpenSSL", "[codec]") {
  for (const Variant& var : kVariants) {
    DYNAMIC_SECTION(var.label) {
      TempDir dir;
      const std::string url = "sqlite3://" + dir.path() + "/meta.db";
      const std::string bucket = dir.path() + "/data";
      REQUIRE_OK(Format(url, Opts("file", bucket, var)));
      const std::string data = CompressibleBytes(2 * kBs, 77);
      {
        std::unique_ptr<Volume> v;
        REQUIRE_OK(Volume::Open(url, {}, &v));
        REQUIRE_OK(WriteFile(*v, Context{}, "/f", data));
        REQUIRE_OK(v->Close());
      }
      const auto files = BlockFiles(bucket, kBs);
      REQUIRE(files.size() == 2);
      const EVP_CIPHER* cipher =
          std::string(var.algo) == "chacha20-rsa" ? EVP_chacha20_poly1305() : EVP_aes_256_gcm();
      for (size_t i = 0; i < 2; ++i) {
        std::string obj = Slurp(files[i]);  // sorted: ..._0_ before ..._1_
        if (var.encrypt) obj = jfs::testing::HandDecrypt(obj, jfs::testing::TestRsaKey(0), cipher);
        std::string plain(kBs, '\0');
        if (std::string(var.compression) == "zstd") {
          size_t n = ZSTD_decompress(plain.data(), plain.size(), obj.data(), obj.size());
          REQUIRE_FALSE(ZSTD_isError(n));
          CHECK(n == kBs);
        } else if (std::string(var.compression) == "lz4") {
          int n = LZ4_decompress_safe(obj.data(), plain.data(), static_cast<int>(obj.size()),
                                      static_cast<int>(plain.size()));
          CHECK(n == static_cast<int>(kBs));
        } else {
          plain = obj;
        }
        CHECK(plain == data.substr(i * kBs, kBs));
      }
      // juicefs_uuid goes through the encryption too (never compressed), as in JuiceFS.
      std::string uuid_obj = Slurp(bucket + "/codecvol/juicefs_uuid");
      const std::string uuid = StoredFormat(url).uuid;
      if (var.encrypt) {
        CHECK(jfs::testing::HandDecrypt(uuid_obj, jfs::testing::TestRsaKey(0), cipher) == uuid);
      } else {
        CHECK(uuid_obj == uuid);
      }
    }
  }
}

TEST_CASE("a wrong key is EIO with a clear message", "[codec]") {
  TempDir dir;
  const std::string url = "sqlite3://" + dir.path() + "/meta.db";
  const std::string bucket = dir.path() + "/data";
  Variant var{"zstd+enc", "zstd", true};
  REQUIRE_OK(Format(url, Opts("file", bucket, var)));
  {
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(url, {}, &v));
    REQUIRE_OK(WriteFile(*v, Context{}, "/f", CompressibleBytes(kBs + 5, 1)));
    REQUIRE_OK(v->Close());
  }
  SwapKey(url, TestRsaPem(1));
  std::unique_ptr<Volume> v;
  Status st = Volume::Open(url, {}, &v);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("juicefs_uuid") != std::string::npos);
  CHECK(st.message().find("wrong encryption key") != std::string::npos);

  // Without the probe object the open succeeds; the data itself still refuses to decrypt.
  fs::remove(bucket + "/codecvol/juicefs_uuid");
  REQUIRE_OK(Volume::Open(url, {}, &v));
  std::string got;
  st = ReadFile(*v, Context{}, "/f", &got);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("wrong encryption key") != std::string::npos);
  CHECK(st.message().find("chunks/") != std::string::npos);
  REQUIRE_OK(v->Close());
}

TEST_CASE("a flipped byte in a stored block is EIO, never wrong data", "[codec]") {
  const Variant flips[] = {
      {"zstd", "zstd", false}, {"encrypted", "none", true}, {"lz4 + encrypted", "lz4", true}};
  for (const Variant& var : flips) {
    DYNAMIC_SECTION(var.label) {
      TempDir dir;
      const std::string url = "sqlite3://" + dir.path() + "/meta.db";
      const std::string bucket = dir.path() + "/data";
      REQUIRE_OK(Format(url, Opts("file", bucket, var)));
      const std::string data = CompressibleBytes(kBs, 5);
      std::unique_ptr<Volume> v;
      REQUIRE_OK(Volume::Open(url, {}, &v));
      REQUIRE_OK(WriteFile(*v, Context{}, "/f", data));
      const auto files = BlockFiles(bucket, kBs);
      REQUIRE(files.size() == 1);
      const std::string good = Slurp(files[0]);
      for (size_t pos : {size_t{0}, good.size() / 3, good.size() / 2, good.size() - 1}) {
        INFO("flipped byte " << pos << " of " << good.size());
        std::string bad = good;
        bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
        Spit(files[0], bad);
        std::shared_ptr<File> f;
        REQUIRE_OK(v->OpenFile(Context{}, "/f", O_RDONLY, 0, &f));
        std::string got;
        Status st = PreadAll(*f, 100, 1000, &got);
        CHECK(st.code() == EIO);
        CHECK(st.message().find(fs::path(files[0]).filename().string()) != std::string::npos);
        (void)f->Close();
      }
      Spit(files[0], good);
      std::string got;
      REQUIRE_OK(ReadFile(*v, Context{}, "/f", &got));
      CHECK(got == data);
      REQUIRE_OK(v->Close());
    }
  }
}

TEST_CASE("passphrase-protected keys need JFS_RSA_PASSPHRASE", "[codec]") {
  for (PemKind kind : {PemKind::kPkcs8Protected, PemKind::kPkcs1Protected}) {
    TempDir dir;
    const std::string url = "sqlite3://" + dir.path() + "/meta.db";
    const std::string bucket = dir.path() + "/data";
    Variant var{"protected", "zstd", true};
    FormatOptions o = Opts("file", bucket, var);
    o.encrypt_rsa_key = TestRsaPem(0, kind, "open sesame");
    {
      PassphraseEnv env(nullptr);
      Status st = Format(url, o);
      CHECK(st.code() == EINVAL);
      CHECK(st.message().find("JFS_RSA_PASSPHRASE") != std::string::npos);
    }
    {
      PassphraseEnv env("wrong");
      Status st = Format(url, o);
      CHECK(st.code() == EINVAL);
      CHECK(st.message().find("wrong passphrase") != std::string::npos);
    }
    CHECK_FALSE(fs::exists(dir.path() + "/meta.db"));  // nothing created
    CHECK_FALSE(fs::exists(bucket));
    {
      PassphraseEnv env("open sesame");
      REQUIRE_OK(Format(url, o));
      std::unique_ptr<Volume> v;
      REQUIRE_OK(Volume::Open(url, {}, &v));
      REQUIRE_OK(WriteFile(*v, Context{}, "/f", "secret data"));
      REQUIRE_OK(v->Close());
    }
    {
      PassphraseEnv env(nullptr);
      std::unique_ptr<Volume> v;
      Status st = Volume::Open(url, {}, &v);
      CHECK(st.code() == EINVAL);
      CHECK(st.message().find("JFS_RSA_PASSPHRASE") != std::string::npos);
    }
    PassphraseEnv env("open sesame");
    std::unique_ptr<Volume> v;
    REQUIRE_OK(Volume::Open(url, {}, &v));
    std::string got;
    REQUIRE_OK(ReadFile(*v, Context{}, "/f", &got));
    CHECK(got == "secret data");
    REQUIRE_OK(v->Close());
  }
}

TEST_CASE("bad compression / encryption options create nothing", "[codec]") {
  TempDir dir;
  const std::string url = "sqlite3://" + dir.path() + "/meta.db";
  const std::string bucket = dir.path() + "/data";
  Variant var{"bad", "zstd", false};
  FormatOptions o = Opts("file", bucket, var);
  o.compression = "snappy";
  Status st = Format(url, o);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("snappy") != std::string::npos);
  o.compression = "zstd";
  o.encrypt_rsa_key = "-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n";
  st = Format(url, o);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("encryption key") != std::string::npos);
  o.encrypt_rsa_key = TestRsaPem(0);
  o.encrypt_algo = "rot13";
  st = Format(url, o);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("rot13") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.path() + "/meta.db"));
  CHECK_FALSE(fs::exists(bucket));

  // Re-format cannot change the compression or the key.
  o.encrypt_algo = "";
  REQUIRE_OK(Format(url, o));
  FormatOptions again = o;
  again.force = true;
  again.compression = "lz4";
  CHECK(Format(url, again).code() == EINVAL);
  again.compression = "zstd";
  again.encrypt_rsa_key = TestRsaPem(1);
  CHECK(Format(url, again).code() == EINVAL);
  again.encrypt_rsa_key = "";  // keeps the existing key
  REQUIRE_OK(Format(url, again));
  meta::Format f = StoredFormat(url);
  REQUIRE_OK(DecryptFormatSecrets(&f));
  CHECK(f.encrypt_key == TestRsaPem(0));
}
