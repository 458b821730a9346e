// Random identifiers drawn from the OS CSPRNG (via OpenSSL's DRBG).
#pragma once

#include <cstdint>
#include <string>

#include "core/secret_bytes.h"

namespace coffer {

// RFC 4122 version-4 UUID, lowercase ("a1b2c3d4-...").
std::string NewUuid();

// RFC 9562 version-7 UUID: the first 48 bits are `unix_ms`, the rest random. Audit event ids are
// these, so that ids written one after another sort one after another and the trail's index of
// them grows at its end instead of at random places.
std::string NewTimeOrderedUuid(int64_t unix_ms);

// n characters from [A-Za-z0-9], e.g. the 6-character suffix of a secret ARN.
std::string RandomAlphanumeric(size_t n);

// An access key id: "AKIA" followed by 16 characters from [A-Z2-7], as AWS issues them.
std::string NewAccessKeyId();

// An IAM unique id with AWS's prefix for its kind ("AIDA" user, "AROA" role, "AGPA" group,
// "ANPA" managed policy, "ASIA" temporary access key) and 16 characters from [A-Z2-7].
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-prefixes
std::string NewIamId(const char* prefix);

// A secret access key: 40 base64 characters (30 random bytes), the length AWS issues.
SecretBytes NewSecretAccessKey();

// A random 12-digit account id (never starting with 0).
std::string NewAccountId();

// Same rules as AWS's 12-digit account ids.
bool IsValidAccountId(std::string_view id);

}  // namespace coffer
