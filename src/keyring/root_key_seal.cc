#include "keyring/root_key_seal.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <sstream>

#include "crypto/crypto.h"

namespace coffer {
namespace {

constexpr char kHeader[] = "coffer-sealed-root-v1";
constexpr char kKdf[] = "pbkdf2-sha256";
constexpr char kAad[] = "coffer/root-key/passphrase";

SecretBytes DeriveKey(std::string_view passphrase, std::string_view salt, int iterations) {
  SecretBytes key(crypto::kAesKeyBytes);
  if (PKCS5_PBKDF2_HMAC(passphrase.data(), static_cast<int>(passphrase.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()),
                        static_cast<int>(salt.size()), iterations, EVP_sha256(),
                        static_cast<int>(key.size()), key.data()) != 1) {
    std::abort();  // only fails on allocation failure
  }
  return key;
}

}  // namespace

std::string SealRootKeyWithPassphrase(const SecretBytes& root_key, std::string_view passphrase,
                                      int iterations) {
  std::string salt(16, '\0');
  crypto::RandomBytes(reinterpret_cast<uint8_t*>(salt.data()), salt.size());
  SecretBytes kek = DeriveKey(passphrase, salt, iterations);
  std::string sealed = crypto::AesGcmSeal(kek, kAad, root_key.Reveal());
  return std::string(kHeader) + " " + kKdf + " " + std::to_string(iterations) + " " +
         crypto::Base64Encode(salt) + " " + crypto::Base64Encode(sealed) + "\n";
}

Result<SecretBytes> UnsealRootKeyWithPassphrase(std::string_view sealed_text,
                                                std::string_view passphrase) {
  std::istringstream in{std::string(sealed_text)};
  std::string header, kdf, iterations_text, salt_b64, sealed_b64;
  in >> header >> kdf >> iterations_text >> salt_b64 >> sealed_b64;
  auto malformed = [] {
    return Status(ErrorCode::kInvalidParameter, "not a coffer passphrase-sealed root key");
  };
  if (header != kHeader || kdf != kKdf) return malformed();
  char* end = nullptr;
  long iterations = std::strtol(iterations_text.c_str(), &end, 10);
  if (end == iterations_text.c_str() || *end != '\0' || iterations < 1 || iterations > 100000000) {
    return malformed();
  }
  auto salt = crypto::Base64Decode(salt_b64);
  auto sealed = crypto::Base64Decode(sealed_b64);
  if (!salt || !sealed) return malformed();
  SecretBytes kek = DeriveKey(passphrase, *salt, static_cast<int>(iterations));
  auto root = crypto::AesGcmOpen(kek, kAad, *sealed);
  if (!root) return Status(ErrorCode::kSealed, "the passphrase does not unseal this root key");
  return std::move(*root);
}

}  // namespace coffer
