#include "lib/format_secrets.h"

#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/rand.h>

#include <memory>

namespace jfs::lib {
namespace {

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

std::string Key(const std::string& uuid) {
  unsigned char md[MD5_DIGEST_LENGTH];
  // MD5 is what JuiceFS uses to derive this key; it is not a security choice of ours.
  EVP_Digest(uuid.data(), uuid.size(), md, nullptr, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(md), sizeof md);
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

bool Unbase64(const std::string& in, std::string* out) {
  if (in.empty() || in.size() % 4 != 0) return false;
  out->assign(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out->data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return false;
  size_t pad = 0;
  if (in[in.size() - 1] == '=') ++pad;
  if (in[in.size() - 2] == '=') ++pad;
  out->resize(static_cast<size_t>(n) - pad);
  return true;
}

std::string Seal(const std::string& key, const std::string& plain, const std::string& nonce) {
  CtxPtr c(EVP_CIPHER_CTX_new());
  std::string ct(plain.size(), '\0');
  unsigned char tag[16];
  int len = 0;
  EVP_EncryptInit_ex(c.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_EncryptInit_ex(c.get(), nullptr, nullptr, reinterpret_cast<const unsigned char*>(key.data()),
                     reinterpret_cast<const unsigned char*>(nonce.data()));
  EVP_EncryptUpdate(c.get(), reinterpret_cast<unsigned char*>(ct.data()), &len,
                    reinterpret_cast<const unsigned char*>(plain.data()),
                    static_cast<int>(plain.size()));
  EVP_EncryptFinal_ex(c.get(), nullptr, &len);
  EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, 16, tag);
  return Base64(nonce + ct + std::string(reinterpret_cast<char*>(tag), 16));
}

Status Open(const std::string& key, const std::string& field, std::string* value) {
  std::string raw;
  if (!Unbase64(*value, &raw) || raw.size() < 12 + 16) {
    return Status::Invalid("cannot decrypt " + field + " of the format: not an encrypted value");
  }
  const size_t n = raw.size() - 12 - 16;
  std::string plain(n, '\0');
  CtxPtr c(EVP_CIPHER_CTX_new());
  int len = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  bool ok = EVP_DecryptInit_ex(c.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) == 1 &&
            EVP_DecryptInit_ex(c.get(), nullptr, nullptr,
                               reinterpret_cast<const unsigned char*>(key.data()), p) == 1 &&
            EVP_DecryptUpdate(c.get(), reinterpret_cast<unsigned char*>(plain.data()), &len, p + 12,
                              static_cast<int>(n)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, 16,
                                const_cast<unsigned char*>(p + 12 + n)) == 1 &&
            EVP_DecryptFinal_ex(c.get(), nullptr, &len) == 1;
  if (!ok) {
    return Status::Invalid("cannot decrypt " + field +
                           " of the format: authentication failed (wrong UUID or damaged value)");
  }
  *value = std::move(plain);
  return Status::OK();
}

}  // namespace

std::string SealSecretForTest(const std::string& uuid, const std::string& plain,
                              const std::string& nonce) {
  return Seal(Key(uuid), plain, nonce);
}

Status EncryptFormatSecrets(meta::Format* f) {
  if (f->key_encrypted) return Status::OK();
  if (f->secret_key.empty() && f->session_token.empty() && f->encrypt_key.empty()) {
    return Status::OK();
  }
  if (f->encrypt_algo == "sm4gcm") {
    return Status::NotSupported("sm4gcm secret encryption is not supported");
  }
  const std::string key = Key(f->uuid);
  for (std::string* s : {&f->secret_key, &f->session_token, &f->encrypt_key}) {
    if (s->empty()) continue;
    std::string nonce(12, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), 12) != 1) {
      return Status::IOError("no randomness for the secret's nonce");
    }
    *s = Seal(key, *s, nonce);
  }
  f->key_encrypted = true;
  return Status::OK();
}

Status DecryptFormatSecrets(meta::Format* f) {
  if (!f->key_encrypted) return Status::OK();
  if (f->encrypt_algo == "sm4gcm") {
    return Status::NotSupported("sm4gcm-encrypted secrets are not supported");
  }
  const std::string key = Key(f->uuid);
  const char* names[] = {"SecretKey", "SessionToken", "EncryptKey"};
  std::string* fields[] = {&f->secret_key, &f->session_token, &f->encrypt_key};
  for (int i = 0; i < 3; ++i) {
    if (fields[i]->empty()) continue;
    if (*fields[i] == "removed") {
      fields[i]->clear();
      continue;
    }
    JFS_RETURN_IF_ERROR(Open(key, names[i], fields[i]));
  }
  f->key_encrypted = false;
  return Status::OK();
}

}  // namespace jfs::lib
