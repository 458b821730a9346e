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

}  // namespace

std::string NewUuid() {
  std::array<uint8_t, 16> b;
  FillRandom(b.data(), b.size());
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
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
