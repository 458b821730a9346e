#include "services/secrets/secrets_service.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>

#include "core/arn.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/kms_use.h"
#include "policy/policy.h"
#include "protocol/json_input.h"
#include "protocol/operation_table.h"
#include "protocol/page_token.h"
#include "services/secrets/random_password.h"
#include "services/secrets/rotation_rules.h"
#include "services/secrets/secret_filters.h"
#include "services/secrets/secrets_common.h"
#include "services/secrets/version_stages.h"

namespace coffer::secrets {

Result<SecretRow> SecretsService::AuthorizedSecret(const RequestContext& ctx, const char* action,
                                                   const std::string& secret_id,
                                                   ConditionKeys extra) {
  std::optional<SecretRow> found;
  Status missing;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    auto s = ResolveSecret(r, ctx.scope, secret_id);
    if (s.ok()) {
      found = std::move(s.value());
    } else if (s.status().code() == ErrorCode::kResourceNotFoundException) {
      missing = s.status();
    } else {
      return s.status();
    }
    return Status::Ok();
  }));
  if (!found) {
    COFFER_RETURN_IF_ERROR(AuthorizeMissing(ctx, action, secret_id, std::move(extra)));
    return missing;
  }
  COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, action, *found, std::move(extra), secret_id));
  return std::move(*found);
}

Status SecretsService::AuthorizeMissing(const RequestContext& ctx, const char* action,
                                        const std::string& secret_id, ConditionKeys extra) {
  AuthzCheck check{action, MissingSecretResource(ctx.scope, secret_id)};
  if (auto arn = ParseArn(secret_id)) check.resource_account = arn->account;
  check.named_as = secret_id;
  check.context = std::move(extra);
  return ctx.Authorize(check);
}

Status SecretsService::AuthorizeOn(const RequestContext& ctx, const char* action,
                                   const SecretRow& secret, ConditionKeys extra,
                                   const std::string& named_as) {
  AuthzCheck check{action, secret.arn, secret.account,
                   secret.resource_policy ? &*secret.resource_policy : nullptr};
  check.named_as = named_as;
  check.context = std::move(extra);
  check.context["secretsmanager:secretid"] = {secret.arn};
  AddResourceTagKeys(secret.tags, "secretsmanager", &check.context);
  return ctx.Authorize(check);
}

Status SecretsService::AuthorizeKeyUse(const RequestContext& ctx, const KmsKeyRow& key,
                                       const char* kms_action, const std::string& secret_arn) {
  NoteKmsUseForService(ctx, kms_action, "secretsmanager", key.arn, {{"SecretARN", secret_arn}});
  // An AWS managed key's policy lets every principal of its account use it through the service
  // that owns it (Secrets Manager has already authorized the call itself) and no one else: a
  // secret under aws/secretsmanager cannot be shared with another account.
  // https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html
  if (key.manager == KeyManager::kAws) {
    if (key.account == ctx.principal.account) return Status::Ok();
    return Status(ErrorCode::kAccessDeniedException, "Access to KMS is not allowed");
  }
  // The context Secrets Manager encrypts under names the secret and the version; a policy can
  // pin the secret's ARN (the version id changes with every value, so it is only named).
  if (!AuthorizeKmsUseForService(ctx, key, kms_action, "secretsmanager",
                                 {{"SecretARN", secret_arn}, {"SecretVersionId", ""}})
           .ok()) {
    return Status(ErrorCode::kAccessDeniedException, "Access to KMS is not allowed");
  }
  return Status::Ok();
}

Result<SecretRow> SecretsService::WriteSecret(const SecretRow& authorized, WhenDeleted when_deleted,
                                              const SecretChange& change) {
  if (authorized.purge_at_ms && when_deleted == WhenDeleted::kRefuse) return MarkedForDeletion();
  SecretRow secret;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.secrets().FindByArn(ScopeOf(authorized), authorized.arn));
    if (!fresh) return NotFound();
    if (fresh->purge_at_ms && when_deleted == WhenDeleted::kRefuse) return MarkedForDeletion();
    if (fresh->resource_policy != authorized.resource_policy || fresh->tags != authorized.tags) {
      return Status(ErrorCode::kInternalServiceError,
                    "The secret's resource policy or tags changed while the request was served; "
                    "retry the request.");
    }
    secret = std::move(*fresh);
    return change(w, secret);
  }));
  return secret;
}

Result<SecretRow> SecretsService::MutateSecret(const RequestContext& ctx, const char* action,
                                               const std::string& secret_id, ConditionKeys extra,
                                               const SecretChange& change,
                                               WhenDeleted when_deleted) {
  COFFER_ASSIGN_OR_RETURN(SecretRow authorized,
                          AuthorizedSecret(ctx, action, secret_id, std::move(extra)));
  return WriteSecret(authorized, when_deleted, change);
}

SecretsService::SecretsService(Store* store, Keyring* keyring, const Clock* clock)
    : store_(store), keyring_(keyring), clock_(clock) {}

Result<json::object> SecretsService::Handle(std::string_view operation, const RequestContext& ctx,
                                            const json::object& input) {
  static const OperationTable<SecretsService, json::object, json::object> kOperations = {
      {"CreateSecret", &SecretsService::CreateSecret},
      {"GetSecretValue", &SecretsService::GetSecretValue},
      {"BatchGetSecretValue", &SecretsService::BatchGetSecretValue},
      {"PutSecretValue", &SecretsService::PutSecretValue},
      {"UpdateSecret", &SecretsService::UpdateSecret},
      {"UpdateSecretVersionStage", &SecretsService::UpdateSecretVersionStage},
      {"DescribeSecret", &SecretsService::DescribeSecret},
      {"ListSecrets", &SecretsService::ListSecrets},
      {"ListSecretVersionIds", &SecretsService::ListSecretVersionIds},
      {"DeleteSecret", &SecretsService::DeleteSecret},
      {"RestoreSecret", &SecretsService::RestoreSecret},
      {"TagResource", &SecretsService::TagResource},
      {"UntagResource", &SecretsService::UntagResource},
      {"GetRandomPassword", &SecretsService::GetRandomPassword},
      {"PutResourcePolicy", &SecretsService::PutResourcePolicy},
      {"GetResourcePolicy", &SecretsService::GetResourcePolicy},
      {"DeleteResourcePolicy", &SecretsService::DeleteResourcePolicy},
      {"ValidateResourcePolicy", &SecretsService::ValidateResourcePolicy},
      {"RotateSecret", &SecretsService::RotateSecret},
      {"CancelRotateSecret", &SecretsService::CancelRotateSecret},
  };
  // Operations of the API that coffer does not serve yet: a clear client error, never a retry.
  static const std::set<std::string_view> kNotYetServed = {
      "ReplicateSecretToRegions", "RemoveRegionsFromReplication", "StopReplicationToReplica"};
  if (auto answer = kOperations.Run(*this, operation, ctx, input)) return std::move(*answer);
  if (kNotYetServed.count(operation)) {
    return Status(ErrorCode::kInvalidRequestException,
                  "coffer does not support " + std::string(operation) +
                      " yet; see the feature table in coffer's README.");
  }
  return Status(ErrorCode::kUnknownOperationException,
                "The operation secretsmanager." + std::string(operation) + " is not known.");
}

Result<int> SecretsService::PurgeExpired() {
  int purged = 0;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto due, w.secrets().ListDueForPurge(clock_->NowMillis()));
    for (const auto& s : due) {
      COFFER_RETURN_IF_ERROR(w.secrets().Delete(s.id));
      ++purged;
    }
    return Status::Ok();
  }));
  return purged;
}

}  // namespace coffer::secrets
