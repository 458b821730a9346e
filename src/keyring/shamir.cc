#include "keyring/shamir.h"

#include <set>

#include "crypto/crypto.h"

namespace coffer {
namespace {

// GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1. Multiplication by shift-and-add runs
// in constant time (no table lookups indexed by secret bytes).
uint8_t Mul(uint8_t a, uint8_t b) {
  uint8_t p = 0;
  for (int i = 0; i < 8; ++i) {
    p ^= static_cast<uint8_t>(-(b & 1) & a);
    uint8_t carry = static_cast<uint8_t>(-(a >> 7));
    a = static_cast<uint8_t>((a << 1) ^ (0x1b & carry));
    b >>= 1;
  }
  return p;
}

// a^254 = a^-1 for a != 0.
uint8_t Inverse(uint8_t a) {
  uint8_t result = 1;
  uint8_t base = a;
  for (int e = 254; e > 0; e >>= 1) {
    if (e & 1) result = Mul(result, base);
    base = Mul(base, base);
  }
  return result;
}

}  // namespace

Result<std::vector<ShamirShare>> SplitSecret(const SecretBytes& secret, int shares, int threshold) {
  if (secret.empty() || threshold < 1 || shares < threshold || shares > 255) {
    return Status(ErrorCode::kInvalidParameter, "Shamir needs 1 <= threshold <= shares <= 255.");
  }
  std::vector<ShamirShare> out(static_cast<size_t>(shares));
  for (int i = 0; i < shares; ++i) {
    out[static_cast<size_t>(i)].x = static_cast<uint8_t>(i + 1);
    out[static_cast<size_t>(i)].y = SecretBytes(secret.size());
  }
  SecretBytes coefficients(static_cast<size_t>(threshold));
  for (size_t byte = 0; byte < secret.size(); ++byte) {
    coefficients.data()[0] = secret.data()[byte];
    if (threshold > 1) crypto::RandomBytes(coefficients.data() + 1, coefficients.size() - 1);
    for (auto& share : out) {
      // Horner's rule from the highest coefficient down.
      uint8_t y = 0;
      for (size_t k = coefficients.size(); k-- > 0;) y = Mul(y, share.x) ^ coefficients.data()[k];
      share.y.data()[byte] = y;
    }
  }
  return out;
}

Result<SecretBytes> CombineShares(const std::vector<ShamirShare>& shares) {
  if (shares.empty()) return Status(ErrorCode::kInvalidParameter, "No shares given.");
  std::set<uint8_t> xs;
  for (const auto& s : shares) {
    if (s.x == 0 || !xs.insert(s.x).second || s.y.size() != shares[0].y.size()) {
      return Status(ErrorCode::kInvalidParameter, "Shares must be distinct and of one length.");
    }
  }
  SecretBytes secret(shares[0].y.size());
  for (size_t byte = 0; byte < secret.size(); ++byte) {
    // Lagrange interpolation at x = 0.
    uint8_t value = 0;
    for (size_t i = 0; i < shares.size(); ++i) {
      uint8_t num = 1, den = 1;
      for (size_t j = 0; j < shares.size(); ++j) {
        if (i == j) continue;
        num = Mul(num, shares[j].x);
        den = Mul(den, shares[i].x ^ shares[j].x);
      }
      value ^= Mul(shares[i].y.data()[byte], Mul(num, Inverse(den)));
    }
    secret.data()[byte] = value;
  }
  return secret;
}

}  // namespace coffer
