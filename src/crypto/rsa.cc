#include "crypto/rsa.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>

namespace coffer::crypto {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

// i2d_* into a buffer of the size it asks for.
template <typename Encode>
std::string Der(const EVP_PKEY* key, Encode encode) {
  int n = encode(key, nullptr);
  if (n <= 0) return {};
  std::string out(static_cast<size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (encode(key, &p) != n) return {};
  return out;
}

}  // namespace

RsaKeyPair GenerateRsaKey(int bits) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) != 1 ||
      EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    std::abort();
  }
  Pkey key(raw);
  RsaKeyPair pair;
  // PKCS#8 through a PKCS8_PRIV_KEY_INFO, so the DER is wiped with the SecretBytes it goes into.
  PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(key.get());
  if (info == nullptr) std::abort();
  int n = i2d_PKCS8_PRIV_KEY_INFO(info, nullptr);
  if (n <= 0) std::abort();
  pair.private_der = SecretBytes(static_cast<size_t>(n));
  unsigned char* p = pair.private_der.data();
  i2d_PKCS8_PRIV_KEY_INFO(info, &p);
  PKCS8_PRIV_KEY_INFO_free(info);
  pair.public_der = Der(key.get(), [](const EVP_PKEY* k, unsigned char** out) {
    return i2d_PublicKey(k, out);  // RSA: PKCS#1 RSAPublicKey
  });
  if (pair.public_der.empty()) std::abort();
  return pair;
}

std::optional<std::string> RsaSignSha256(const SecretBytes& private_der, std::string_view message) {
  const unsigned char* p = private_der.data();
  PKCS8_PRIV_KEY_INFO* info =
      d2i_PKCS8_PRIV_KEY_INFO(nullptr, &p, static_cast<long>(private_der.size()));
  if (info == nullptr) return std::nullopt;
  Pkey key(EVP_PKCS82PKEY(info));
  PKCS8_PRIV_KEY_INFO_free(info);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) return std::nullopt;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return std::nullopt;
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    return std::nullopt;
  }
  sig.resize(len);
  return sig;
}

bool RsaVerifySha256(std::string_view public_der, std::string_view message,
                     std::string_view signature) {
  const auto* p = reinterpret_cast<const unsigned char*>(public_der.data());
  Pkey key(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &p, static_cast<long>(public_der.size())));
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  // EVP_PKEY_CTX defaults to PKCS#1 v1.5 padding for RSA.
  return md && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace coffer::crypto
