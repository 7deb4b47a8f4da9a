// Format secrets encryption (format.md §4.2): byte-compatible with JuiceFS (a value sealed by
// Python's `cryptography` AES-GCM with key MD5(UUID) decrypts), round trips, and stored encrypted.
#include <catch2/catch.hpp>

#include "lib/format_secrets.h"
#include "meta/codec.h"
#include "meta/meta.h"
#include "tests/lib/test_util.h"

using jfs::Status;
using jfs::lib::DecryptFormatSecrets;
using jfs::lib::EncryptFormatSecrets;

TEST_CASE("format secrets: known answer, round trip, tamper", "[secrets]") {
  const std::string uuid = "3e7a8f8e-5a4b-4c57-9f1d-0d6b1f3c2a11";
  const std::string nonce = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  // AESGCM(md5(uuid)).encrypt(bytes(range(12)), b"S3RVER-secret/+=", None), base64 of nonce||ct.
  const std::string known = "AAECAwQFBgcICQoLS5EE1Os/fI21YviQB4T1/ujz5V0HMBYf8gwaLcH237M=";
  CHECK(jfs::lib::SealSecretForTest(uuid, "S3RVER-secret/+=", nonce) == known);

  jfs::meta::Format f;
  f.uuid = uuid;
  f.secret_key = known;
  f.session_token = "removed";
  f.key_encrypted = true;
  REQUIRE(DecryptFormatSecrets(&f).ok());
  CHECK(f.secret_key == "S3RVER-secret/+=");
  CHECK(f.session_token.empty());
  CHECK_FALSE(f.key_encrypted);

  f.session_token = "tok";
  REQUIRE(EncryptFormatSecrets(&f).ok());
  CHECK(f.key_encrypted);
  CHECK(f.secret_key != "S3RVER-secret/+=");
  CHECK(f.secret_key.size() == 4 * ((12 + 16 + 16 + 2) / 3));
  jfs::meta::Format again = f;
  REQUIRE(EncryptFormatSecrets(&again).ok());  // already encrypted: unchanged
  CHECK(again.secret_key == f.secret_key);
  REQUIRE(DecryptFormatSecrets(&again).ok());
  CHECK(again.secret_key == "S3RVER-secret/+=");
  CHECK(again.session_token == "tok");

  // Wrong UUID or a damaged value: EINVAL, the value is not replaced by garbage. The damage
  // changes one base64 digit of the ciphertext; the nonce is random, so the digit it replaces
  // may be anything, the replacement included.
  std::string damaged = f.secret_key;
  damaged[20] = damaged[20] == 'A' ? 'B' : 'A';
  for (const std::string& bad : {damaged, std::string("not base64!"), std::string("AAAA")}) {
    jfs::meta::Format g = f;
    g.secret_key = bad;
    Status st = DecryptFormatSecrets(&g);
    CHECK(st.code() == EINVAL);
    CHECK(st.message().find("SecretKey") != std::string::npos);
  }
  jfs::meta::Format g = f;
  g.uuid = "another-uuid";
  CHECK(DecryptFormatSecrets(&g).code() == EINVAL);

  jfs::meta::Format none;
  REQUIRE(EncryptFormatSecrets(&none).ok());
  CHECK_FALSE(none.key_encrypted);  // nothing to hide
}

TEST_CASE("format stores the secret key encrypted and open decrypts it", "[secrets]") {
  jfs::lib::testing::TempDir dir;
  const std::string url = "sqlite3://" + dir.path() + "/meta.db";
  jfs::lib::FormatOptions fo;
  fo.name = "secretvol";
  fo.bucket = dir.path() + "/data/";
  fo.access_key = "AK";
  fo.secret_key = "very-secret";
  jfs::meta::Format out;
  REQUIRE(jfs::lib::Format(url, fo, &out).ok());
  CHECK(out.key_encrypted);
  CHECK(out.secret_key != "very-secret");
  std::unique_ptr<jfs::meta::Meta> m;
  REQUIRE(jfs::meta::NewMeta(url, &m).ok());
  jfs::meta::Format stored;
  REQUIRE(m->Load(&stored).ok());
  CHECK(stored.key_encrypted);
  CHECK(jfs::meta::EncodeFormat(stored).find("very-secret") == std::string::npos);
  CHECK(jfs::meta::EncodeFormatForDisplay(stored).find("\"SecretKey\": \"removed\"") !=
        std::string::npos);
  std::unique_ptr<jfs::lib::Volume> v;
  REQUIRE(jfs::lib::Volume::Open(url, {}, &v).ok());
  CHECK(v->format().secret_key == "very-secret");
  REQUIRE(v->Close().ok());
  // Re-format with force keeps working with the stored (encrypted) secrets.
  fo.force = true;
  fo.secret_key = "new-secret";
  REQUIRE(jfs::lib::Format(url, fo, &out).ok());
  REQUIRE(jfs::lib::Volume::Open(url, {}, &v).ok());
  CHECK(v->format().secret_key == "new-secret");
  REQUIRE(v->Close().ok());
}
