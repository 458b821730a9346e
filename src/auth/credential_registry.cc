#include "auth/credential_registry.h"

#include <mutex>

#include "core/arn.h"

namespace coffer {
CredentialRegistry::CredentialRegistry(Store* store, Keyring* keyring)
    : store_(store), keyring_(keyring) {
  keyring_->AddSealListener([this] {
    Forget();
    ForgetCachedSigningKeys();
  });
}

Result<bool> SessionIssuerExists(StoreReader& r, const StsSessionRow& session) {
  // The unique id is what the session was issued for ("AROA...:<session name>", or the
  // user's "AIDA..."); a role or user deleted and created again under the same name has
  // another.
  const std::string unique_id = session.user_id.substr(0, session.user_id.find(':'));
  if (session.principal_type == SessionPrincipal::kAssumedRole) {
    COFFER_ASSIGN_OR_RETURN(auto role, r.iam().FindEntity(session.account, IamEntityKind::kRole,
                                                          IamNameOfArn(session.role_arn)));
    return role.has_value() && role->id == unique_id && role->arn == session.role_arn;
  }
  if (session.principal_type == SessionPrincipal::kUser) {
    COFFER_ASSIGN_OR_RETURN(
        auto user, r.iam().FindEntity(session.account, IamEntityKind::kUser, session.user_name));
    return user.has_value() && user->id == unique_id;
  }
  return true;  // the account root's GetSessionToken: the account outlives it
}

std::string CredentialRegistry::SecretPurpose(std::string_view access_key_id) {
  return "coffer/access-key/" + std::string(access_key_id);
}

void CredentialRegistry::Forget() {
  std::unique_lock lock(mu_);
  cache_.clear();  // SecretBytes wipe themselves as the last reference goes
}

CredentialLookup CredentialRegistry::Find(std::string_view access_key_id) {
  const std::shared_ptr<const Credential> unknown;
  if (access_key_id.empty() || access_key_id.size() > 128) return unknown;
  std::string id(access_key_id);
  // Read before the store, so that a change racing with this lookup makes the entry stale
  // rather than wrong.
  const uint64_t identity_writes = store_->IdentityWrites();
  {
    std::shared_lock lock(mu_);
    if (cache_identity_writes_ == identity_writes) {
      auto it = cache_.find(id);
      if (it != cache_.end()) return std::shared_ptr<const Credential>(it->second);
    }
  }
  std::optional<AccessKeyRow> row;
  std::optional<StsSessionRow> session;
  bool issuer_alive = true;
  Status s = store_->Read([&](StoreReader& r) -> Status {
    // Temporary credentials are issued with the ASIA prefix; long-term keys never have it.
    if (id.rfind("ASIA", 0) == 0) {
      COFFER_ASSIGN_OR_RETURN(session, r.credentials().FindSession(id));
      if (session) {
        COFFER_ASSIGN_OR_RETURN(issuer_alive, SessionIssuerExists(r, *session));
      }
    } else {
      COFFER_ASSIGN_OR_RETURN(row, r.credentials().FindAccessKey(id));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (!issuer_alive) return unknown;
  auto cred = std::make_shared<Credential>();
  cred->principal.access_key_id = id;
  if (row) {
    // An inactive key is refused like an unknown one, as IAM does.
    if (row->status != AccessKeyStatus::kActive) return unknown;
    auto secret = keyring_->UnwrapWithStorageKey(SecretPurpose(id), row->wrapped_secret);
    if (!secret.ok()) return unknown;
    cred->secret_access_key = std::move(secret.value());
    cred->principal.account = row->account;
    cred->principal.arn = row->principal_arn;
    cred->principal.user_id = row->user_id;
    cred->principal.user_name = row->user_name;
    cred->principal.type = row->user_name.empty() ? PrincipalType::kRoot : PrincipalType::kIamUser;
  } else if (session) {
    auto secret = keyring_->UnwrapWithStorageKey(SecretPurpose(id), session->wrapped_secret);
    if (!secret.ok()) return unknown;
    cred->secret_access_key = std::move(secret.value());
    cred->session_token_sha256 = session->token_hash;
    cred->expires_ms = session->expires_ms;
    cred->principal.account = session->account;
    cred->principal.arn = session->principal_arn;
    cred->principal.user_id = session->user_id;
    cred->principal.temporary = true;
    cred->principal.user_name = session->user_name;
    cred->principal.role_arn = session->role_arn;
    cred->principal.role_name = IamNameOfArn(session->role_arn);
    cred->principal.chain_depth = session->chain_depth;
    cred->principal.type =
        session->principal_type == SessionPrincipal::kAssumedRole ? PrincipalType::kAssumedRole
        : session->principal_type == SessionPrincipal::kRoot      ? PrincipalType::kRoot
                                                                  : PrincipalType::kIamUser;
  } else {
    return unknown;
  }
  std::unique_lock lock(mu_);
  if (cache_identity_writes_ != identity_writes) {
    cache_.clear();
    cache_identity_writes_ = identity_writes;
  }
  cache_[id] = cred;
  return std::shared_ptr<const Credential>(std::move(cred));
}

}  // namespace coffer
