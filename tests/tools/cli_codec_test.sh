#!/usr/bin/env bash
# End-to-end test of `jfs format --compress` and `--encrypt-rsa-key` (no server): zstd and lz4
# volumes (a stored block decoded with the zstd command), encryption with PKCS#1, PKCS#8 and
# passphrase-protected keys (JFS_RSA_PASSPHRASE missing or wrong → one clear error line, nothing
# created), and bad values (unknown --compress, unreadable key file).
#
# Usage: cli_codec_test.sh PATH/TO/jfs
set -uo pipefail

JFS=${1:?usage: cli_codec_test.sh PATH/TO/jfs}
T=$(mktemp -d "${TMPDIR:-/tmp}/jfs_cli_codec.XXXXXX")
trap 'rm -rf "$T"' EXIT
unset JFS_META_URL JFS_RSA_PASSPHRASE
# shellcheck source=tests/tools/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"

nothing_created() {  # nothing_created NAME: no metadata database, no data directory
  [ ! -e "$T/$1.db" ] || fail "a failed format created $1.db"
  [ ! -e "$T/$1-data" ] || fail "a failed format created $1-data"
}

command -v openssl >/dev/null || fail "openssl is not installed (scripts/deps.sh)"
command -v zstd >/dev/null || fail "zstd is not installed (scripts/deps.sh)"
q() { "$@" >/dev/null 2>&1 || fail "$*"; }
q openssl genrsa -traditional -out "$T/pkcs1.pem" 2048
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/pkcs8.pem"
q openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -aes256 -pass pass:s3cret \
  -out "$T/pkcs8-protected.pem"
q openssl rsa -in "$T/pkcs1.pem" -traditional -aes256 -passout pass:s3cret \
  -out "$T/pkcs1-protected.pem"
grep -q "BEGIN RSA PRIVATE KEY" "$T/pkcs1.pem" || fail "pkcs1.pem is not PKCS#1"
grep -q "BEGIN PRIVATE KEY" "$T/pkcs8.pem" || fail "pkcs8.pem is not PKCS#8"
grep -q "BEGIN ENCRYPTED PRIVATE KEY" "$T/pkcs8-protected.pem" || fail "not encrypted PKCS#8"
grep -q "Proc-Type: 4,ENCRYPTED" "$T/pkcs1-protected.pem" || fail "not legacy-encrypted PKCS#1"

# A moderately compressible test file of a few blocks (1 MiB blocks below).
seq 1 700000 | sed 's/$/ some text to compress/' | head -c 3500000 >"$T/src"

# roundtrip NAME: cp the test file in and out of volume NAME, plus a partial read (cat of a copy).
roundtrip() {
  local url="sqlite3://$T/$1.db"
  ok --meta "$url" cp "$T/src" jfs:/src
  ok --meta "$url" cp jfs:/src "$T/$1.back"
  cmp -s "$T/src" "$T/$1.back" || fail "$1: the file read back differs"
  ok --meta "$url" cat jfs:/src
  cmp -s "$T/src" "$T/out" || fail "$1: cat differs"
}

# ---- bad input -------------------------------------------------------------------------------
fails 1 "^jfs: format: .*unknown compression 'brotli'.*(none, lz4, zstd)" \
  format "sqlite3://$T/bad.db" badvol --bucket "$T/bad-data" --compress brotli
nothing_created bad
fails 1 "^jfs: format: cannot read --encrypt-rsa-key $T/missing.pem" \
  format "sqlite3://$T/bad.db" badvol --bucket "$T/bad-data" --encrypt-rsa-key "$T/missing.pem"
nothing_created bad
echo "not a key" >"$T/garbage.pem"
fails 1 "^jfs: format: .*encryption key.*PEM" \
  format "sqlite3://$T/bad.db" badvol --bucket "$T/bad-data" --encrypt-rsa-key "$T/garbage.pem"
nothing_created bad
fails 1 "^jfs: format: .*unsupported encryption algorithm 'rot13'" \
  format "sqlite3://$T/bad.db" badvol --bucket "$T/bad-data" --encrypt-rsa-key "$T/pkcs1.pem" \
  --encrypt-algo rot13
nothing_created bad

# ---- zstd --------------------------------------------------------------------------------------
ok format "sqlite3://$T/z.db" zvol --bucket "$T/z-data" --compress zstd --block-size 1M
out_has '^"Compression": "zstd",$'
out_has '^"EncryptAlgo": "aes256gcm-rsa",$'
roundtrip z
ok info "sqlite3://$T/z.db"
out_has "^Compression: +zstd$"
out_has "^Encryption: +none$"
# A stored full block is a plain zstd frame of the block's bytes.
block=$(find "$T/z-data/zvol/chunks" -name '*_0_1048576' | head -1)
[ -n "$block" ] || fail "zstd: no full block object found"
[ "$(stat -c %s "$block")" -lt 524288 ] || fail "zstd: the block was not compressed"
zstd -dc <"$block" >"$T/block0" 2>/dev/null || fail "zstd -d cannot decode a stored block"
cmp -s "$T/block0" <(head -c 1048576 "$T/src") || fail "zstd: decoded block differs"

# ---- lz4 (legacy --compression spelling) -----------------------------------------------------
ok format "sqlite3://$T/l.db" lvol --bucket "$T/l-data" --compression lz4 --block-size 1M
out_has '^"Compression": "lz4",$'
roundtrip l

# ---- encryption: PKCS#1 and PKCS#8 --------------------------------------------------------------
ok format "sqlite3://$T/e1.db" evol --bucket "$T/e1-data" --encrypt-rsa-key "$T/pkcs1.pem"
out_has '^"EncryptKey": "removed",$'
out_has '^"EncryptAlgo": "aes256gcm-rsa",$'
out_has '^"KeyEncrypted": true,$'
roundtrip e1
ok info "sqlite3://$T/e1.db"
out_has "^Encryption: +aes256gcm-rsa$"
if grep -rqa "some text to compress" "$T/e1-data"; then fail "encrypted volume stores plaintext"; fi
# The Format in the database holds the key sealed with the UUID, never the PEM.
if grep -qa "PRIVATE KEY" "$T/e1.db"; then fail "the PEM is stored in clear"; fi

ok format "sqlite3://$T/e8.db" evol --bucket "$T/e8-data" --encrypt-rsa-key "$T/pkcs8.pem" \
  --compress zstd --encrypt-algo chacha20-rsa
out_has '^"EncryptAlgo": "chacha20-rsa",$'
roundtrip e8

# ---- passphrase-protected keys ------------------------------------------------------------------
for kind in pkcs8-protected pkcs1-protected; do
  url="sqlite3://$T/$kind.db"
  fails 1 "^jfs: format: .*passphrase.*JFS_RSA_PASSPHRASE" \
    format "$url" pvol --bucket "$T/$kind-data" --encrypt-rsa-key "$T/$kind.pem"
  nothing_created "$kind"
  JFS_RSA_PASSPHRASE=wrong fails 1 "^jfs: format: .*wrong passphrase" \
    format "$url" pvol --bucket "$T/$kind-data" --encrypt-rsa-key "$T/$kind.pem"
  nothing_created "$kind"
  export JFS_RSA_PASSPHRASE=s3cret
  ok format "$url" pvol --bucket "$T/$kind-data" --encrypt-rsa-key "$T/$kind.pem" --compress lz4
  roundtrip "$kind"
  unset JFS_RSA_PASSPHRASE
  fails 1 "^jfs: cat: cannot open volume .*JFS_RSA_PASSPHRASE" --meta "$url" cat jfs:/src
  JFS_RSA_PASSPHRASE=wrong fails 1 "^jfs: cat: cannot open volume .*wrong passphrase" \
    --meta "$url" cat jfs:/src
done

echo "cli_codec_test: all $CHECKS checks passed"
