#include "auth/credential_registry.h"

#include <mutex>

namespace coffer {

CredentialRegistry::CredentialRegistry(Store* store, Keyring* keyring)
    : store_(store), keyring_(keyring) {
  keyring_->AddSealListener([this] {
    std::unique_lock lock(mu_);
    cache_.clear();  // SecretBytes wipe themselves as the last reference goes
    ForgetCachedSigningKeys();
  });
}

std::string CredentialRegistry::SecretPurpose(std::string_view access_key_id) {
  return "coffer/access-key/" + std::string(access_key_id);
}

std::shared_ptr<const Credential> CredentialRegistry::Find(std::string_view access_key_id) {
  if (access_key_id.empty() || access_key_id.size() > 128) return nullptr;
  std::string id(access_key_id);
  {
    std::shared_lock lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end()) return it->second;
  }
  std::optional<AccessKeyRow> row;
  Status s = store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(row, r.FindAccessKey(id));
    return Status::Ok();
  });
  if (!s.ok() || !row) return nullptr;
  auto secret = keyring_->UnwrapWithStorageKey(SecretPurpose(id), row->wrapped_secret);
  if (!secret.ok()) return nullptr;
  auto cred = std::make_shared<Credential>();
  cred->secret_access_key = std::move(secret.value());
  cred->principal.account = row->account;
  cred->principal.arn = row->principal_arn;
  cred->principal.user_id = row->user_id;
  cred->principal.access_key_id = id;
  cred->principal.type = "Root";
  std::unique_lock lock(mu_);
  cache_[id] = cred;
  return cred;
}

}  // namespace coffer
