// CredentialRegistry: the CredentialSource backed by the store, with an in-memory cache.
//
// Long-term access keys (the account root's and IAM users') and STS temporary credentials
// (ASIA...) are stored with their secrets sealed under the storage key; a secret is unsealed
// once and kept in SecretBytes until the cache is dropped: after every IAM change made by any
// node sharing the store (the store's identity write count moved), so a deleted or deactivated
// key, or a session whose role was deleted, stops working at once everywhere. Thread-safe.
#pragma once

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "auth/sigv4.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer {

// Whether the role or user a session was issued for still exists as the same entity (same
// unique id). A session of a deleted role, or of a role deleted and created again under the
// same name, is refused as an unknown key, as AWS refuses it.
Result<bool> SessionIssuerExists(StoreReader& r, const StsSessionRow& session);

class CredentialRegistry final : public CredentialSource {
 public:
  // Forgets every cached credential (and signing key) whenever the keyring seals.
  CredentialRegistry(Store* store, Keyring* keyring);

  CredentialLookup Find(std::string_view access_key_id) override;

  // The AAD under which an access key's secret is sealed.
  static std::string SecretPurpose(std::string_view access_key_id);

  // Drops every cached credential; called after IAM changes keys (deleted, made inactive) and
  // when the keyring seals.
  void Forget();

 private:
  Store* store_;
  Keyring* keyring_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const Credential>> cache_;
  uint64_t cache_identity_writes_ = 0;  // the store's count the entries were read at
};

}  // namespace coffer
