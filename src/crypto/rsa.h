// RSA signatures for the audit trail's digest files: CloudTrail signs each digest with
// SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256) and publishes the public key as a DER PKCS#1
// RSAPublicKey; coffer does the same, so the signatures check with any tool that checks
// CloudTrail's.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/secret_bytes.h"

namespace coffer::crypto {

struct RsaKeyPair {
  SecretBytes private_der;  // PKCS#8 PrivateKeyInfo
  std::string public_der;   // PKCS#1 RSAPublicKey, as CloudTrail's ListPublicKeys returns it
};

// A fresh key pair of `bits` (2048 as CloudTrail's). Aborts if OpenSSL cannot make one.
RsaKeyPair GenerateRsaKey(int bits);

// The SHA256withRSA signature of `message`; nullopt when `private_der` is not an RSA key.
std::optional<std::string> RsaSignSha256(const SecretBytes& private_der, std::string_view message);

// Whether `signature` is `message`'s SHA256withRSA signature under `public_der`.
bool RsaVerifySha256(std::string_view public_der, std::string_view message,
                     std::string_view signature);

}  // namespace coffer::crypto
