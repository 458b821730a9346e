#include "crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdlib>
#include <memory>

namespace coffer::crypto {

Digest Sha256(std::string_view data) {
  Digest d;
  SHA256(reinterpret_cast<const uint8_t*>(data.data()), data.size(), d.data());
  return d;
}

Digest HmacSha256(std::string_view key, std::string_view data) {
  Digest d;
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const uint8_t*>(data.data()), data.size(), d.data(), &len);
  return d;
}

std::string HexLower(const uint8_t* p, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n * 2, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 0xf];
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()),
                          reinterpret_cast<const uint8_t*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return std::nullopt;
  }
  std::string out(3 * (text.size() / 4), '\0');
  if (text.empty()) return out;
  int n =
      EVP_DecodeBlock(reinterpret_cast<uint8_t*>(out.data()),
                      reinterpret_cast<const uint8_t*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts padding as zero bytes; trim them.
  size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  // '=' anywhere but the last two positions is malformed.
  if (text.substr(0, text.size() - pad).find('=') != std::string_view::npos) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

void RandomBytes(uint8_t* p, size_t n) {
  if (RAND_bytes(p, static_cast<int>(n)) != 1) std::abort();
}

SecretBytes RandomSecret(size_t n) {
  SecretBytes s(n);
  RandomBytes(s.data(), n);
  return s;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {
struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;
}  // namespace

std::string AesGcmSeal(std::string_view key_bytes, std::string_view aad,
                       std::string_view plaintext) {
  const auto* key = reinterpret_cast<const uint8_t*>(key_bytes.data());
  if (key_bytes.size() != kAesKeyBytes) std::abort();
  std::string out(kGcmNonceBytes + plaintext.size() + kGcmTagBytes, '\0');
  auto* o = reinterpret_cast<uint8_t*>(out.data());
  RandomBytes(o, kGcmNonceBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok =
      ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, o) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), o + kGcmNonceBytes, &len,
                        reinterpret_cast<const uint8_t*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), o + kGcmNonceBytes + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes,
                          o + kGcmNonceBytes + plaintext.size()) == 1;
  // Encryption with a valid key cannot fail short of memory exhaustion.
  if (!ok) std::abort();
  return out;
}

std::optional<SecretBytes> AesGcmOpen(std::string_view key_bytes, std::string_view aad,
                                      std::string_view sealed) {
  const auto* key = reinterpret_cast<const uint8_t*>(key_bytes.data());
  if (key_bytes.size() != kAesKeyBytes || sealed.size() < kGcmNonceBytes + kGcmTagBytes) {
    return std::nullopt;
  }
  const auto* in = reinterpret_cast<const uint8_t*>(sealed.data());
  size_t ct_len = sealed.size() - kGcmNonceBytes - kGcmTagBytes;
  SecretBytes plain(ct_len);
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  uint8_t tag[kGcmTagBytes];
  std::copy(in + kGcmNonceBytes + ct_len, in + sealed.size(), tag);
  bool ok =
      ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, in) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &len, in + kGcmNonceBytes,
                        static_cast<int>(ct_len)) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain.data() + len, &len) == 1;
  if (!ok) return std::nullopt;
  return plain;
}

}  // namespace coffer::crypto
