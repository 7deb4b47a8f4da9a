// RSA test keys made with raw OpenSSL calls (independent of object/encrypted_store.cc), as PEM:
// PKCS#1 ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY"), passphrase-protected PKCS#8 and legacy
// PKCS#1. Generated once per process: 2048-bit generation takes a noticeable fraction of a second.
// HandDecrypt opens an encrypted object (format.md §1.7) with raw OpenSSL calls.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>

namespace jfs::testing {

struct TestPkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct TestBioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using TestPkey = std::unique_ptr<EVP_PKEY, TestPkeyDeleter>;
using TestBio = std::unique_ptr<BIO, TestBioDeleter>;

enum class PemKind { kPkcs1, kPkcs8, kPkcs8Protected, kPkcs1Protected };

inline std::string BioText(BIO* b) {
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

inline std::string KeyToPem(EVP_PKEY* key, PemKind kind, const std::string& pass = "") {
  TestBio b(BIO_new(BIO_s_mem()));
  REQUIRE(b);
  int ok = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(pass.data());
  switch (kind) {
    case PemKind::kPkcs1:
      ok =
          PEM_write_bio_PrivateKey_traditional(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
      break;
    case PemKind::kPkcs8:
      ok = PEM_write_bio_PKCS8PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
      break;
    case PemKind::kPkcs8Protected:
      ok = PEM_write_bio_PKCS8PrivateKey(b.get(), key, EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                         const_cast<char*>(pass.c_str()));
      break;
    case PemKind::kPkcs1Protected:
      ok = PEM_write_bio_PrivateKey_traditional(b.get(), key, EVP_aes_256_cbc(), p,
                                                static_cast<int>(pass.size()), nullptr, nullptr);
      break;
  }
  REQUIRE(ok == 1);
  return BioText(b.get());
}

// Two distinct 2048-bit keys (index 0 and 1), shared by every test of the process.
inline EVP_PKEY* TestRsaKey(int index) {
  static TestPkey keys[2] = {TestPkey(EVP_RSA_gen(2048)), TestPkey(EVP_RSA_gen(2048))};
  REQUIRE(keys[index]);
  return keys[index].get();
}

inline std::string TestRsaPem(int index, PemKind kind = PemKind::kPkcs1,
                              const std::string& pass = "") {
  return KeyToPem(TestRsaKey(index), kind, pass);
}

struct CtxDel {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

// Decrypts a framed object with raw OpenSSL calls, following format.md §1.7 literally.
inline std::string HandDecrypt(const std::string& obj, EVP_PKEY* key, const EVP_CIPHER* cipher) {
  REQUIRE(obj.size() >= 3);
  const auto* p = reinterpret_cast<const unsigned char*>(obj.data());
  const size_t k = (size_t{p[0]} << 8) | p[1];
  const size_t n = p[2];
  CHECK(k == 256);  // RSA-2048 modulus
  CHECK(n == 12);
  REQUIRE(obj.size() >= 3 + k + n + 16);
  // Unwrap the data key: RSA-OAEP, SHA-256 (hash and MGF1), label "keys".
  std::unique_ptr<EVP_PKEY_CTX, CtxDel> pc(EVP_PKEY_CTX_new(key, nullptr));
  REQUIRE(EVP_PKEY_decrypt_init(pc.get()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pc.get(), RSA_PKCS1_OAEP_PADDING) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_oaep_md(pc.get(), EVP_sha256()) == 1);
  REQUIRE(EVP_PKEY_CTX_set_rsa_mgf1_md(pc.get(), EVP_sha256()) == 1);
  void* label = OPENSSL_memdup("keys", 4);
  REQUIRE(EVP_PKEY_CTX_set0_rsa_oaep_label(pc.get(), label, 4) == 1);
  unsigned char dk[512];
  size_t dlen = sizeof dk;
  REQUIRE(EVP_PKEY_decrypt(pc.get(), dk, &dlen, p + 3, k) == 1);
  REQUIRE(dlen == 32);
  const unsigned char* nonce = p + 3 + k;
  const unsigned char* ct = nonce + n;
  const size_t ct_len = obj.size() - 3 - k - n - 16;
  std::unique_ptr<EVP_CIPHER_CTX, CtxDel> c(EVP_CIPHER_CTX_new());
  REQUIRE(EVP_DecryptInit_ex(c.get(), cipher, nullptr, nullptr, nullptr) == 1);
  REQUIRE(EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) == 1);
  REQUIRE(EVP_DecryptInit_ex(c.get(), nullptr, nullptr, dk, nonce) == 1);
  std::string out(ct_len, '\0');
  int len = 0;
  if (ct_len > 0) {
    REQUIRE(EVP_DecryptUpdate(c.get(), reinterpret_cast<unsigned char*>(out.data()), &len, ct,
                              static_cast<int>(ct_len)) == 1);
  }
  unsigned char tag[16];
  std::memcpy(tag, ct + ct_len, 16);
  REQUIRE(EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_TAG, 16, tag) == 1);
  REQUIRE(EVP_DecryptFinal_ex(c.get(), nullptr, &len) == 1);
  return out;
}

}  // namespace jfs::testing
