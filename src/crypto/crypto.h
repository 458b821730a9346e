// Thin, allocation-light wrappers over OpenSSL 3 for the primitives coffer uses:
// SHA-256, HMAC-SHA256, AES-256-GCM, the CSPRNG, hex and base64, constant-time comparison.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret_bytes.h"

namespace coffer::crypto {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::string_view data);
Digest HmacSha256(std::string_view key, std::string_view data);

std::string HexLower(const uint8_t* p, size_t n);
inline std::string HexLower(const Digest& d) { return HexLower(d.data(), d.size()); }

std::string Base64Encode(std::string_view bytes);
// Strict RFC 4648 decoding (padding required, no whitespace); nullopt when malformed.
std::optional<std::string> Base64Decode(std::string_view text);

// Fills p[0..n) from the OS-seeded CSPRNG. Aborts if the generator cannot be seeded.
void RandomBytes(uint8_t* p, size_t n);
SecretBytes RandomSecret(size_t n);

// Constant-time equality (length is not secret).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

constexpr size_t kAesKeyBytes = 32;
constexpr size_t kGcmNonceBytes = 12;
constexpr size_t kGcmTagBytes = 16;

// AES-256-GCM with a fresh random 96-bit nonce. Output: nonce || ciphertext || tag.
// `key` holds the raw key bytes (SecretBytes::Reveal() or LockedKey::Reveal()); a key that is
// not kAesKeyBytes long aborts.
std::string AesGcmSeal(std::string_view key, std::string_view aad, std::string_view plaintext);
inline std::string AesGcmSeal(const SecretBytes& key, std::string_view aad,
                              std::string_view plaintext) {
  return AesGcmSeal(key.Reveal(), aad, plaintext);
}
// Inverse of AesGcmSeal; nullopt when the tag does not verify (wrong key, AAD or any bit flipped).
std::optional<SecretBytes> AesGcmOpen(std::string_view key, std::string_view aad,
                                      std::string_view sealed);
inline std::optional<SecretBytes> AesGcmOpen(const SecretBytes& key, std::string_view aad,
                                             std::string_view sealed) {
  return AesGcmOpen(key.Reveal(), aad, sealed);
}

}  // namespace coffer::crypto
