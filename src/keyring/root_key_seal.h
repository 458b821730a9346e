// Protection of the root key at rest by a passphrase, for the coming `passphrase` seal mode.
//
// The root key is sealed with AES-256-GCM under a key derived from the passphrase with
// PBKDF2-HMAC-SHA256 (the seed's key derivation) and a random 16-byte salt; the iteration count
// is stored with the result so it can be raised later without breaking old files.
// Format (one line of text):
//   coffer-sealed-root-v1 pbkdf2-sha256 <iterations> <salt base64> <sealed key base64>
#pragma once

#include <string>
#include <string_view>

#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer {

// OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256.
inline constexpr int kDefaultPbkdf2Iterations = 600000;

std::string SealRootKeyWithPassphrase(const SecretBytes& root_key, std::string_view passphrase,
                                      int iterations = kDefaultPbkdf2Iterations);

// Errors: InvalidParameter for a malformed text; "Sealed" when the passphrase is wrong (the
// GCM tag does not verify).
Result<SecretBytes> UnsealRootKeyWithPassphrase(std::string_view sealed_text,
                                                std::string_view passphrase);

}  // namespace coffer
