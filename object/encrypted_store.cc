#include "object/encrypted_store.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <new>

namespace jfs::object {
namespace {

constexpr size_t kDataKeyLen = 32;  // AES-256 / ChaCha20
constexpr size_t kNonceLen = 12;    // GCM / ChaCha20-Poly1305 (IETF)
constexpr size_t kTagLen = 16;
constexpr char kOaepLabel[] = "keys";  // JuiceFS's rsaEncryptor label

struct PkeyDeleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// The first queued OpenSSL error as text (and clears the queue, which is per thread).
std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

const unsigned char* U(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
unsigned char* U(char* p) {
  return reinterpret_cast<unsigned char*>(p);
}

// Sets up RSA-OAEP with SHA-256 for both the hash and MGF1 and the label "keys" (Go's
// rsa.EncryptOAEP(sha256.New(), ..., label) uses the same hash for MGF1).
bool SetOaep(EVP_PKEY_CTX* c) {
  if (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) <= 0 ||
      EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(c, EVP_sha256()) <= 0) {
    return false;
  }
  void* label = OPENSSL_memdup(kOaepLabel, sizeof kOaepLabel - 1);
  if (label == nullptr) return false;
  // On success the context owns the label.
  if (EVP_PKEY_CTX_set0_rsa_oaep_label(c, label, static_cast<int>(sizeof kOaepLabel - 1)) <= 0) {
    OPENSSL_free(label);
    return false;
  }
  return true;
}

class RsaEncryptor final : public Encryptor {
 public:
  RsaEncryptor(PkeyPtr key, const EVP_CIPHER* cipher)
      : key_(std::move(key)),
        cipher_(cipher),
        wrapped_len_(static_cast<size_t>(EVP_PKEY_get_size(key_.get()))) {}

  Status Encrypt(std::string_view plain, std::string* out) const override {
    unsigned char data_key[kDataKeyLen];
    unsigned char nonce[kNonceLen];
    if (RAND_bytes(data_key, sizeof data_key) != 1 || RAND_bytes(nonce, sizeof nonce) != 1) {
      return Status::IOError("encrypt: no randomness for the data key: " + OpenSslError());
    }
    const size_t header = 3 + wrapped_len_ + kNonceLen;
    try {
      out->resize(header + plain.size() + kTagLen);
    } catch (const std::bad_alloc&) {
      return Status::Error(ENOMEM, "encrypt: cannot allocate the output buffer");
    }
    unsigned char* p = U(out->data());
    PkeyCtxPtr pc(EVP_PKEY_CTX_new(key_.get(), nullptr));
    size_t wlen = wrapped_len_;
    if (!pc || EVP_PKEY_encrypt_init(pc.get()) <= 0 || !SetOaep(pc.get()) ||
        EVP_PKEY_encrypt(pc.get(), p + 3, &wlen, data_key, sizeof data_key) <= 0 ||
        wlen != wrapped_len_) {
      OPENSSL_cleanse(data_key, sizeof data_key);
      return Status::IOError("encrypt: cannot wrap the data key with RSA-OAEP: " + OpenSslError());
    }
    p[0] = static_cast<unsigned char>(wlen >> 8);
    p[1] = static_cast<unsigned char>(wlen & 0xff);
    p[2] = static_cast<unsigned char>(kNonceLen);
    std::memcpy(p + 3 + wlen, nonce, kNonceLen);
    Status st = Seal(data_key, nonce, plain, p + header, p + header + plain.size());
    OPENSSL_cleanse(data_key, sizeof data_key);
    if (!st.ok()) out->clear();
    return st;
  }

  Status Decrypt(std::string_view framed, std::string* out) const override {
    if (framed.size() < 3) {
      return Status::IOError("not an encrypted object: " + std::to_string(framed.size()) +
                             " bytes");
    }
    const auto* p = U(framed.data());
    const size_t k = (size_t{p[0]} << 8) | p[1];
    const size_t n = p[2];
    if (n != kNonceLen || 3 + k + n + kTagLen > framed.size()) {
      return Status::IOError("malformed encrypted object (wrapped key " + std::to_string(k) +
                             " bytes, nonce " + std::to_string(n) + " bytes, object " +
                             std::to_string(framed.size()) + " bytes)");
    }
    if (k != wrapped_len_) {
      return Status::IOError("the data key is wrapped for a " + std::to_string(k * 8) +
                             "-bit RSA key, the volume's key has " +
                             std::to_string(wrapped_len_ * 8) +
                             " bits: wrong encryption key (or a damaged object)");
    }
    // OpenSSL wants room for a whole modulus, whatever the unwrapped length.
    std::unique_ptr<unsigned char[]> unwrapped;
    try {
      unwrapped = std::make_unique_for_overwrite<unsigned char[]>(k);
    } catch (const std::bad_alloc&) {
      return Status::Error(ENOMEM, "decrypt: out of memory");
    }
    size_t dlen = k;
    PkeyCtxPtr pc(EVP_PKEY_CTX_new(key_.get(), nullptr));
    const bool unwrapped_ok = pc && EVP_PKEY_decrypt_init(pc.get()) > 0 && SetOaep(pc.get()) &&
                              EVP_PKEY_decrypt(pc.get(), unwrapped.get(), &dlen, p + 3, k) > 0;
    unsigned char data_key[kDataKeyLen];
    if (unwrapped_ok && dlen == kDataKeyLen) std::memcpy(data_key, unwrapped.get(), kDataKeyLen);
    OPENSSL_cleanse(unwrapped.get(), k);
    if (!unwrapped_ok) {
      ERR_clear_error();
      return Status::IOError(
          "cannot unwrap the data key (RSA-OAEP): wrong encryption key or a damaged object");
    }
    if (dlen != kDataKeyLen) {
      return Status::IOError("unwrapped data key has " + std::to_string(dlen) + " bytes, not " +
                             std::to_string(kDataKeyLen));
    }
    const unsigned char* nonce = p + 3 + k;
    const unsigned char* ct = nonce + n;
    const size_t ct_len = framed.size() - (3 + k + n) - kTagLen;
    try {
      out->resize(ct_len);
    } catch (const std::bad_alloc&) {
      OPENSSL_cleanse(data_key, sizeof data_key);
      return Status::Error(ENOMEM, "decrypt: cannot allocate the output buffer");
    }
    Status st = Open(data_key, nonce, ct, ct_len, ct + ct_len, U(out->data()));
    OPENSSL_cleanse(data_key, sizeof data_key);
    if (!st.ok()) out->clear();
    return st;
  }

 private:
  // Feeds `len` bytes through EVP_*Update in pieces that fit an int.
  template <typename UpdateFn>
  static bool UpdateAll(UpdateFn update, EVP_CIPHER_CTX* c, unsigned char* dst,
                        const unsigned char* src, size_t len) {
    constexpr size_t kStep = size_t{1} << 30;
    while (len > 0) {
      const size_t step = std::min(len, kStep);
      int got = 0;
      if (update(c, dst, &got, src, static_cast<int>(step)) != 1 ||
          static_cast<size_t>(got) != step) {
        return false;
      }
      dst += step;
      src += step;
      len -= step;
    }
    return true;
  }

  Status Seal(const unsigned char* key, const unsigned char* nonce, std::string_view plain,
              unsigned char* dst, unsigned char* tag) const {
    CipherCtxPtr c(EVP_CIPHER_CTX_new());
    int fin = 0;
    bool ok = c && EVP_EncryptInit_ex(c.get(), cipher_, nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_IVLEN, kNonceLen, nullptr) == 1 &&
              EVP_EncryptInit_ex(c.get(), nullptr, nullptr, key, nonce) == 1 &&
              UpdateAll(EVP_EncryptUpdate, c.get(), dst, U(plain.data()), plain.size()) &&
              EVP_EncryptFinal_ex(c.get(), dst + plain.size(), &fin) == 1 && fin == 0 &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_GET_TAG, kTagLen, tag) == 1;
    if (!ok) return Status::IOError("encrypt: " + OpenSslError());
    return Status::OK();
  }

  Status Open(const unsigned char* key, const unsigned char* nonce, const unsigned char* ct,
              size_t len, const unsigned char* tag, unsigned char* dst) const {
    CipherCtxPtr c(EVP_CIPHER_CTX_new());
    unsigned char tag_copy[kTagLen];
    std::memcpy(tag_copy, tag, kTagLen);  // the ctrl takes a non-const pointer
    int fin = 0;
    bool setup = c && EVP_DecryptInit_ex(c.get(), cipher_, nullptr, nullptr, nullptr) == 1 &&
                 EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_IVLEN, kNonceLen, nullptr) == 1 &&
                 EVP_DecryptInit_ex(c.get(), nullptr, nullptr, key, nonce) == 1;
    if (!setup) return Status::IOError("decrypt: " + OpenSslError());
    bool ok = UpdateAll(EVP_DecryptUpdate, c.get(), dst, ct, len) &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_AEAD_SET_TAG, kTagLen, tag_copy) == 1 &&
              EVP_DecryptFinal_ex(c.get(), dst + len, &fin) == 1;
    if (!ok) {
      ERR_clear_error();
      return Status::IOError(
          "authentication of the encrypted data failed: the object is damaged or was encrypted "
          "with another key");
    }
    return Status::OK();
  }

  PkeyPtr key_;
  const EVP_CIPHER* cipher_;
  const size_t wrapped_len_;  // RSA modulus bytes
};

struct PassphraseArg {
  std::string_view passphrase;
  bool asked = false;
};

// OpenSSL asks for the passphrase only when the key is protected. Never prompts on a terminal.
int PassphraseCallback(char* buf, int size, int /*rwflag*/, void* u) {
  auto* arg = static_cast<PassphraseArg*>(u);
  arg->asked = true;
  if (arg->passphrase.empty() || arg->passphrase.size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, arg->passphrase.data(), arg->passphrase.size());
  return static_cast<int>(arg->passphrase.size());
}

class EncryptedStore final : public ObjectStore {
 public:
  EncryptedStore(std::unique_ptr<ObjectStore> inner, std::shared_ptr<const Encryptor> enc)
      : inner_(std::move(inner)), enc_(std::move(enc)) {}

  std::string Describe() const override { return inner_->Describe() + "(encrypted)"; }
  Status Create() override { return inner_->Create(); }

  Status Get(std::string_view key, int64_t offset, int64_t length, std::string* out) override {
    if (offset < 0) return Status::Invalid("negative offset");
    std::string framed;
    JFS_RETURN_IF_ERROR(inner_->Get(key, 0, -1, &framed));
    std::string plain;
    Status st = enc_->Decrypt(framed, &plain);
    if (!st.ok()) {
      if (st.code() == ENOMEM) return st;
      return Status::IOError("decrypt object " + std::string(key) + ": " + st.message());
    }
    const uint64_t size = plain.size();
    const uint64_t from = std::min<uint64_t>(static_cast<uint64_t>(offset), size);
    const uint64_t to =
        length < 0 ? size : std::min<uint64_t>(size, from + static_cast<uint64_t>(length));
    if (from == 0 && to == size) {
      *out = std::move(plain);
    } else {
      out->assign(plain, from, to - from);
    }
    return Status::OK();
  }

  Status Put(std::string_view key, std::string_view data) override {
    std::string framed;
    JFS_RETURN_IF_ERROR(
        enc_->Encrypt(data, &framed).WithContext("encrypt object " + std::string(key)));
    return inner_->Put(key, framed);
  }

  Status Sync(const std::vector<std::string>& keys) override { return inner_->Sync(keys); }
  Status SyncAll() override { return inner_->SyncAll(); }
  Status Delete(std::string_view key) override { return inner_->Delete(key); }
  Status Head(std::string_view key, ObjectInfo* info) override { return inner_->Head(key, info); }
  Status List(std::string_view prefix, std::string_view marker, std::string_view delimiter,
              int limit, std::vector<ObjectInfo>* out, bool* truncated) override {
    return inner_->List(prefix, marker, delimiter, limit, out, truncated);
  }

 private:
  std::unique_ptr<ObjectStore> inner_;
  std::shared_ptr<const Encryptor> enc_;
};

}  // namespace

bool IsProtectedPem(std::string_view pem) {
  return pem.find("ENCRYPTED PRIVATE KEY") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

Status NewRsaEncryptor(std::string_view pem, std::string_view passphrase, std::string_view algo,
                       std::shared_ptr<const Encryptor>* out) {
  const EVP_CIPHER* cipher = nullptr;
  if (algo.empty() || algo == "aes256gcm-rsa") {
    cipher = EVP_aes_256_gcm();
  } else if (algo == "chacha20-rsa") {
    cipher = EVP_chacha20_poly1305();
  } else {
    return Status::Invalid("unsupported encryption algorithm '" + std::string(algo) +
                           "' (supported: aes256gcm-rsa, chacha20-rsa)");
  }
  if (cipher == nullptr) {
    return Status::NotSupported("encryption algorithm '" + std::string(algo) +
                                "' is not available in this OpenSSL");
  }
  if (pem.find("-----BEGIN ") == std::string_view::npos) {
    return Status::Invalid("the RSA private key is not in PEM format (no -----BEGIN line)");
  }
  if (pem.size() > INT_MAX) return Status::Invalid("the RSA private key PEM is too large");
  const bool is_protected = IsProtectedPem(pem);
  if (is_protected && passphrase.empty()) {
    return Status::Invalid(
        "the RSA private key is protected by a passphrase: set JFS_RSA_PASSPHRASE");
  }
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::Error(ENOMEM, "cannot read the RSA private key: out of memory");
  PassphraseArg arg{passphrase};
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, PassphraseCallback, &arg));
  if (!key) {
    const std::string detail = OpenSslError();
    if (arg.asked || is_protected) {
      return Status::Invalid(
          "cannot decrypt the RSA private key: wrong passphrase (JFS_RSA_PASSPHRASE)");
    }
    return Status::Invalid("cannot parse the RSA private key (PKCS#1 or PKCS#8 PEM expected): " +
                           detail);
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return Status::Invalid("the private key is not an RSA key");
  }
  const int bits = EVP_PKEY_get_bits(key.get());
  // OAEP with SHA-256 needs 2*32+2 bytes of padding around the 32-byte data key.
  if (bits < 1024) {
    return Status::Invalid("the RSA key has " + std::to_string(bits) +
                           " bits; at least 1024 are needed");
  }
  *out = std::make_shared<RsaEncryptor>(std::move(key), cipher);
  return Status::OK();
}

std::unique_ptr<ObjectStore> WithEncryption(std::unique_ptr<ObjectStore> inner,
                                            std::shared_ptr<const Encryptor> enc) {
  return std::make_unique<EncryptedStore>(std::move(inner), std::move(enc));
}

}  // namespace jfs::object
