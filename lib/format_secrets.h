// Encryption of the secrets stored in the Format (format.md §4.2), as JuiceFS's Format.Encrypt /
// Decrypt: each of SecretKey, SessionToken, EncryptKey becomes
// base64std(nonce(12) || AES-128-GCM-seal(plaintext)) with key MD5(UUID), and KeyEncrypted is set.
#pragma once

#include <string>

#include "meta/types.h"
#include "util/status.h"

namespace jfs::lib {

// Encrypts the non-empty secrets in place (no-op when already encrypted or there are none).
Status EncryptFormatSecrets(meta::Format* f);
// Decrypts them in place when KeyEncrypted; a value "removed" (stripped from a dump) becomes "".
// A value that does not decrypt → EINVAL naming the field, never a garbage secret.
Status DecryptFormatSecrets(meta::Format* f);

// Exposed for tests: seals one value with a given 12-byte nonce.
std::string SealSecretForTest(const std::string& uuid, const std::string& plain,
                              const std::string& nonce);

}  // namespace jfs::lib
