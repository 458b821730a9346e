// Shamir's secret sharing over GF(2^8), for the `shamir` seal mode: the root key is split into N
// shares of which any T reconstruct it and fewer reveal nothing about it.
// Each share is one x coordinate (1..255) and, per secret byte, the value at x of a random
// polynomial of degree T-1 whose constant term is that byte.
#pragma once

#include <cstdint>
#include <vector>

#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer {

struct ShamirShare {
  uint8_t x = 0;
  SecretBytes y;  // same length as the secret
};

// Errors: InvalidParameter unless 1 <= threshold <= shares <= 255 and the secret is non-empty.
Result<std::vector<ShamirShare>> SplitSecret(const SecretBytes& secret, int shares, int threshold);

// Reconstructs from at least `threshold` distinct shares (fewer yield an unrelated value: the
// caller verifies the result, e.g. by opening something sealed under it). Errors:
// InvalidParameter for no shares, duplicate x or shares of different lengths.
Result<SecretBytes> CombineShares(const std::vector<ShamirShare>& shares);

}  // namespace coffer
