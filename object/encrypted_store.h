// Encryption at rest (format.md §1.7), byte-compatible with JuiceFS's pkg/object/encrypt.go: every
// object gets a fresh random data key and nonce; the data key is wrapped with RSA-OAEP (SHA-256,
// label "keys") under the public half of the volume's RSA private key. Object layout:
//
//   u16 BE K | u8 N | wrapped key (K bytes) | nonce (N bytes) | AEAD ciphertext + 16-byte tag
//
// Algorithms (Format.EncryptAlgo): "" / "aes256gcm-rsa" (AES-256-GCM, the default) and
// "chacha20-rsa" (ChaCha20-Poly1305). "sm4gcm" is not supported.
//
// WithEncryption wraps a store (JuiceFS layers it over the "{name}/" prefix store): Put encrypts,
// Get always downloads the whole object, decrypts it and then slices the requested range. An
// object that does not decrypt (another key, a flipped byte, a truncated object) → EIO with a
// message saying so; wrong data is never returned. Head and List report the stored (encrypted)
// sizes, as JuiceFS does.
//
// Thread-safety: an Encryptor and the wrapped store may be used from many threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "object/object_store.h"
#include "util/status.h"

namespace jfs::object {

class Encryptor {
 public:
  virtual ~Encryptor() = default;
  // Replaces *out with the framed ciphertext of `plain`.
  virtual Status Encrypt(std::string_view plain, std::string* out) const = 0;
  // Replaces *out with the plaintext; a damaged frame or another key → EIO saying which.
  virtual Status Decrypt(std::string_view framed, std::string* out) const = 0;
};

// Parses an RSA private key in PEM: PKCS#1 ("RSA PRIVATE KEY", also legacy-PEM-encrypted) or
// PKCS#8 ("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"). `passphrase` decrypts a protected key (JuiceFS
// reads it from JFS_RSA_PASSPHRASE). Errors (EINVAL, nothing else happens): not PEM, not RSA, a
// protected key without a passphrase, a wrong passphrase, an unknown `algo`.
Status NewRsaEncryptor(std::string_view pem, std::string_view passphrase, std::string_view algo,
                       std::shared_ptr<const Encryptor>* out);

// True when the PEM text is a passphrase-protected key (legacy "Proc-Type: 4,ENCRYPTED" or
// "ENCRYPTED PRIVATE KEY").
bool IsProtectedPem(std::string_view pem);

std::unique_ptr<ObjectStore> WithEncryption(std::unique_ptr<ObjectStore> inner,
                                            std::shared_ptr<const Encryptor> enc);

}  // namespace jfs::object
