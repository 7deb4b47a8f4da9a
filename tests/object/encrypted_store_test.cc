// Encryption at rest (format.md §1.7): the framing parsed by hand and decrypted with raw OpenSSL
// calls, the key formats (PKCS#1, PKCS#8, protected), and that a wrong key or a damaged object is
// EIO with a clear message, never wrong data.
#include "object/encrypted_store.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <random>

#include "tests/object/rsa_keys.h"
#include "tests/support/status_checks.h"

using jfs::Status;
using jfs::object::Encryptor;
using jfs::object::NewRsaEncryptor;
using jfs::object::ObjectStore;
using jfs::testing::HandDecrypt;
using jfs::testing::PemKind;
using jfs::testing::TestRsaKey;
using jfs::testing::TestRsaPem;

namespace {

std::shared_ptr<const Encryptor> MakeEnc(int key_index, const char* algo = "aes256gcm-rsa") {
  std::shared_ptr<const Encryptor> e;
  REQUIRE_OK(NewRsaEncryptor(TestRsaPem(key_index), "", algo, &e));
  return e;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("encrypted framing decrypts by hand with raw OpenSSL", "[encrypt]") {
  for (auto [algo, cipher] :
       {std::pair{"aes256gcm-rsa", EVP_aes_256_gcm()}, std::pair{"", EVP_aes_256_gcm()},
        std::pair{"chacha20-rsa", EVP_chacha20_poly1305()}}) {
    INFO("algo " << algo);
    auto enc = MakeEnc(0, algo);
    for (size_t n : {size_t{0}, size_t{1}, size_t{4096}, size_t{(1 << 20) + 3}}) {
      const std::string plain = Random(n, static_cast<uint32_t>(n));
      std::string obj;
      REQUIRE_OK(enc->Encrypt(plain, &obj));
      CHECK(obj.size() == 3 + 256 + 12 + n + 16);
      CHECK(HandDecrypt(obj, TestRsaKey(0), cipher) == plain);
      std::string back;
      REQUIRE_OK(enc->Decrypt(obj, &back));
      CHECK(back == plain);
      // Fresh data key and nonce per object: the same plaintext never gives the same object.
      std::string again;
      REQUIRE_OK(enc->Encrypt(plain, &again));
      CHECK(again != obj);
    }
  }
}

TEST_CASE("key formats: PKCS#1, PKCS#8, protected with and without passphrase", "[encrypt]") {
  std::shared_ptr<const Encryptor> ref = MakeEnc(0);
  std::string obj;
  REQUIRE_OK(ref->Encrypt("hello", &obj));
  auto decrypts = [&](const std::shared_ptr<const Encryptor>& e) {
    std::string back;
    REQUIRE_OK(e->Decrypt(obj, &back));
    CHECK(back == "hello");
  };
  std::shared_ptr<const Encryptor> e;
  const std::string pkcs1 = TestRsaPem(0, PemKind::kPkcs1);
  CHECK(pkcs1.find("BEGIN RSA PRIVATE KEY") != std::string::npos);
  REQUIRE_OK(NewRsaEncryptor(pkcs1, "", "", &e));
  decrypts(e);
  const std::string pkcs8 = TestRsaPem(0, PemKind::kPkcs8);
  CHECK(pkcs8.find("BEGIN PRIVATE KEY") != std::string::npos);
  REQUIRE_OK(NewRsaEncryptor(pkcs8, "", "", &e));
  decrypts(e);
  // A passphrase given for an unprotected key is ignored (JuiceFS falls back to plain parsing).
  REQUIRE_OK(NewRsaEncryptor(pkcs8, "unused", "", &e));
  decrypts(e);

  for (PemKind kind : {PemKind::kPkcs8Protected, PemKind::kPkcs1Protected}) {
    const std::string pem = TestRsaPem(0, kind, "s3cret pass");
    CHECK(jfs::object::IsProtectedPem(pem));
    REQUIRE_OK(NewRsaEncryptor(pem, "s3cret pass", "", &e));
    decrypts(e);
    Status st = NewRsaEncryptor(pem, "", "", &e);
    CHECK(st.code() == EINVAL);
    CHECK(st.message().find("JFS_RSA_PASSPHRASE") != std::string::npos);
    CHECK(st.message().find("passphrase") != std::string::npos);
    st = NewRsaEncryptor(pem, "wrong", "", &e);
    CHECK(st.code() == EINVAL);
    CHECK(st.message().find("wrong passphrase") != std::string::npos);
  }
  CHECK(ERR_peek_error() == 0);  // no OpenSSL errors left queued for the thread
}

TEST_CASE("bad keys and algorithms are EINVAL", "[encrypt]") {
  std::shared_ptr<const Encryptor> e;
  CHECK(NewRsaEncryptor("", "", "", &e).code() == EINVAL);
  CHECK(NewRsaEncryptor("not a key", "", "", &e).code() == EINVAL);
  Status st = NewRsaEncryptor(
      "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", "", "", &e);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("cannot parse") != std::string::npos);
  st = NewRsaEncryptor(TestRsaPem(0), "", "sm4gcm", &e);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("sm4gcm") != std::string::npos);
  // An EC key is not RSA.
  jfs::testing::TestPkey ec(EVP_EC_gen("P-256"));
  REQUIRE(ec);
  st = NewRsaEncryptor(jfs::testing::KeyToPem(ec.get(), PemKind::kPkcs8), "", "", &e);
  CHECK(st.code() == EINVAL);
  CHECK(st.message().find("not an RSA key") != std::string::npos);
}

TEST_CASE("wrong key and damaged objects are EIO, never wrong data", "[encrypt]") {
  auto enc = MakeEnc(0);
  auto other = MakeEnc(1);
  const std::string plain = Random(70000, 9);
  std::string obj;
  REQUIRE_OK(enc->Encrypt(plain, &obj));
  std::string out = "untouched";
  Status st = other->Decrypt(obj, &out);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("wrong encryption key") != std::string::npos);
  // A flipped bit anywhere: length fields, wrapped key, nonce, ciphertext, tag.
  std::vector<size_t> positions = {0, 1, 2, 3, 100, 258, 259, 260, 270, 271, 272, 5000};
  positions.push_back(obj.size() - 17);
  positions.push_back(obj.size() - 1);
  for (size_t pos : positions) {
    INFO("flipped byte " << pos);
    std::string bad = obj;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    std::string back;
    Status s = enc->Decrypt(bad, &back);
    CHECK(s.code() == EIO);
    CHECK_FALSE(s.message().empty());
    CHECK(back.empty());
  }
  // Truncated objects.
  for (size_t len : {size_t{0}, size_t{2}, size_t{3}, size_t{200}, size_t{286}, obj.size() - 1}) {
    std::string back;
    CHECK(enc->Decrypt(obj.substr(0, len), &back).code() == EIO);
  }
}

TEST_CASE("encrypted store: put/get with ranges over another store", "[encrypt]") {
  std::shared_ptr<ObjectStore> raw = jfs::object::NewMemStore();
  struct Borrow final : ObjectStore {  // lets the test look under the wrapper
    explicit Borrow(std::shared_ptr<ObjectStore> s) : s_(std::move(s)) {}
    std::string Describe() const override { return s_->Describe(); }
    Status Create() override { return s_->Create(); }
    Status Get(std::string_view k, int64_t o, int64_t l, std::string* out) override {
      return s_->Get(k, o, l, out);
    }
    Status Put(std::string_view k, std::string_view d) override { return s_->Put(k, d); }
    Status Delete(std::string_view k) override { return s_->Delete(k); }
    Status Head(std::string_view k, jfs::object::ObjectInfo* i) override { return s_->Head(k, i); }
    Status List(std::string_view p, std::string_view m, std::string_view d, int l,
                std::vector<jfs::object::ObjectInfo>* o, bool* t) override {
      return s_->List(p, m, d, l, o, t);
    }
    std::shared_ptr<ObjectStore> s_;
  };
  auto store = jfs::object::WithEncryption(std::make_unique<Borrow>(raw), MakeEnc(0));
  CHECK(store->Describe().find("(encrypted)") != std::string::npos);
  const std::string plain = Random(10000, 3);
  REQUIRE_OK(store->Put("a/b", plain));
  std::string stored;
  REQUIRE_OK(raw->Get("a/b", 0, -1, &stored));
  CHECK(stored.size() == plain.size() + 3 + 256 + 12 + 16);
  CHECK(stored.find(plain.substr(0, 64)) == std::string::npos);
  CHECK(HandDecrypt(stored, TestRsaKey(0), EVP_aes_256_gcm()) == plain);

  std::string out;
  REQUIRE_OK(store->Get("a/b", 0, -1, &out));
  CHECK(out == plain);
  REQUIRE_OK(store->Get("a/b", 100, 50, &out));
  CHECK(out == plain.substr(100, 50));
  REQUIRE_OK(store->Get("a/b", 9990, 50, &out));  // short read at the end
  CHECK(out == plain.substr(9990));
  REQUIRE_OK(store->Get("a/b", 20000, 5, &out));  // beyond the end: nothing
  CHECK(out.empty());
  CHECK(store->Get("a/b", -1, 5, &out).code() == EINVAL);
  CHECK(store->Get("missing", 0, -1, &out).code() == ENOENT);

  // A flipped byte in the stored object → EIO naming the object.
  stored[stored.size() / 2] = static_cast<char>(stored[stored.size() / 2] ^ 0x40);
  REQUIRE_OK(raw->Put("a/b", stored));
  out = "sentinel";
  Status st = store->Get("a/b", 0, 10, &out);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("a/b") != std::string::npos);
  CHECK(out == "sentinel");

  // Another key reading a good object: EIO.
  REQUIRE_OK(store->Put("c", "data"));
  auto wrong = jfs::object::WithEncryption(std::make_unique<Borrow>(raw), MakeEnc(1));
  st = wrong->Get("c", 0, -1, &out);
  CHECK(st.code() == EIO);
  CHECK(st.message().find("wrong encryption key") != std::string::npos);

  std::vector<jfs::object::ObjectInfo> all;
  REQUIRE_OK(jfs::object::ListAll(*store, "", &all));
  CHECK(all.size() == 2);
  REQUIRE_OK(store->Delete("c"));
  CHECK(store->Get("c", 0, -1, &out).code() == ENOENT);
}
