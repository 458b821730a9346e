#include "core/ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace coffer {
namespace {

void FillRandom(uint8_t* p, size_t n) {
  // RAND_bytes only fails when the DRBG cannot be seeded; serving without randomness would
  // be unsafe, so that cannot-happen case stops the process.
  if (RAND_bytes(p, static_cast<int>(n)) != 1) std::abort();
}

// Uniform choice from an alphabet by rejection sampling (no modulo bias).
std::string RandomFrom(std::string_view alphabet, size_t n) {
  std::string out;
  out.reserve(n);
  const unsigned limit = 256 - (256 % alphabet.size());
  std::array<uint8_t, 64> buf;
  while (out.size() < n) {
    FillRandom(buf.data(), buf.size());
    for (uint8_t b : buf) {
      if (b >= limit) continue;
      out.push_back(alphabet[b % alphabet.size()]);
      if (out.size() == n) break;
    }
  }
  return out;
}

// The 8-4-4-4-12 lowercase hex spelling of 16 bytes.
std::string UuidText(const std::array<uint8_t, 16>& b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  size_t o = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++o;
    out[o++] = kHex[b[i] >> 4];
    out[o++] = kHex[b[i] & 0x0f];
  }
  return out;
}

}  // namespace

std::string NewUuid() {
  std::array<uint8_t, 16> b;
  FillRandom(b.data(), b.size());
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return UuidText(b);
}

std::string NewTimeOrderedUuid(int64_t unix_ms) {
  std::array<uint8_t, 16> b;
  FillRandom(b.data(), b.size());
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<uint8_t>(static_cast<uint64_t>(unix_ms) >> (40 - 8 * i));
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  return UuidText(b);
}

std::string RandomAlphanumeric(size_t n) {
  return RandomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", n);
}

std::string NewAccessKeyId() { return NewIamId("AKIA"); }

// 30 random bytes in base64: 40 characters, as AWS's secret access keys. (Spelled with OpenSSL
// directly: core sits below the crypto module, which depends on it.)
SecretBytes NewSecretAccessKey() {
  std::array<uint8_t, 30> raw;
  FillRandom(raw.data(), raw.size());
  std::array<unsigned char, 41> b64;  // EVP_EncodeBlock writes 4 per 3 bytes and a NUL
  const int n = EVP_EncodeBlock(b64.data(), raw.data(), static_cast<int>(raw.size()));
  SecretBytes secret(std::string_view(reinterpret_cast<const char*>(b64.data()), n));
  OPENSSL_cleanse(raw.data(), raw.size());
  OPENSSL_cleanse(b64.data(), b64.size());
  return secret;
}

std::string NewAccountId() { return RandomFrom("123456789", 1) + RandomFrom("0123456789", 11); }

bool IsValidAccountId(std::string_view id) {
  return id.size() == 12 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string NewIamId(const char* prefix) {
  return prefix + RandomFrom("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
}

}  // namespace coffer
