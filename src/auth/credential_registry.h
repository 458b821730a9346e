// CredentialRegistry: the CredentialSource backed by the store, with an in-memory cache.
//
// Secret access keys are stored sealed under the storage key; they are unsealed once per process
// and kept in SecretBytes. Thread-safe.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "auth/sigv4.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer {

class CredentialRegistry final : public CredentialSource {
 public:
  // Forgets every cached credential (and signing key) whenever the keyring seals.
  CredentialRegistry(Store* store, Keyring* keyring);

  std::shared_ptr<const Credential> Find(std::string_view access_key_id) override;

  // The AAD under which an access key's secret is sealed.
  static std::string SecretPurpose(std::string_view access_key_id);

 private:
  Store* store_;
  Keyring* keyring_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Credential>> cache_;
};

}  // namespace coffer
