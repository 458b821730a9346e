#include "services/kms/kms_service.h"

#include <map>
#include <set>

#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "protocol/json_input.h"
#include "protocol/operation_table.h"
#include "protocol/page_token.h"
#include "services/kms/kms_common.h"

namespace coffer::kms {

KmsService::KmsService(Store* store, Keyring* keyring, const Clock* clock)
    : store_(store), keyring_(keyring), clock_(clock) {}

Result<json::object> KmsService::Handle(std::string_view operation, const RequestContext& ctx,
                                        const json::object& input) {
  static const OperationTable<KmsService, json::object, json::object> kOperations = {
      {"CreateKey", &KmsService::CreateKey},
      {"DescribeKey", &KmsService::DescribeKey},
      {"ListKeys", &KmsService::ListKeys},
      {"UpdateKeyDescription", &KmsService::UpdateKeyDescription},
      {"EnableKey", &KmsService::EnableKey},
      {"DisableKey", &KmsService::DisableKey},
      {"ScheduleKeyDeletion", &KmsService::ScheduleKeyDeletion},
      {"CancelKeyDeletion", &KmsService::CancelKeyDeletion},
      {"CreateAlias", &KmsService::CreateAlias},
      {"UpdateAlias", &KmsService::UpdateAlias},
      {"DeleteAlias", &KmsService::DeleteAlias},
      {"ListAliases", &KmsService::ListAliases},
      {"Encrypt", &KmsService::Encrypt},
      {"Decrypt", &KmsService::Decrypt},
      {"ReEncrypt", &KmsService::ReEncrypt},
      {"GenerateDataKey", &KmsService::GenerateDataKey},
      {"GenerateDataKeyWithoutPlaintext", &KmsService::GenerateDataKeyWithoutPlaintext},
      {"GenerateRandom", &KmsService::GenerateRandom},
      {"EnableKeyRotation", &KmsService::EnableKeyRotation},
      {"DisableKeyRotation", &KmsService::DisableKeyRotation},
      {"GetKeyRotationStatus", &KmsService::GetKeyRotationStatus},
      {"RotateKeyOnDemand", &KmsService::RotateKeyOnDemand},
      {"ListKeyRotations", &KmsService::ListKeyRotations},
      {"GetKeyPolicy", &KmsService::GetKeyPolicy},
      {"PutKeyPolicy", &KmsService::PutKeyPolicy},
      {"ListKeyPolicies", &KmsService::ListKeyPolicies},
      {"TagResource", &KmsService::TagResource},
      {"UntagResource", &KmsService::UntagResource},
      {"ListResourceTags", &KmsService::ListResourceTags},
  };
  static const std::set<std::string_view> kNotServed = {"ConnectCustomKeyStore",
                                                        "CreateCustomKeyStore",
                                                        "CreateGrant",
                                                        "DeleteCustomKeyStore",
                                                        "DeleteImportedKeyMaterial",
                                                        "DeriveSharedSecret",
                                                        "DescribeCustomKeyStores",
                                                        "DisconnectCustomKeyStore",
                                                        "GenerateDataKeyPair",
                                                        "GenerateDataKeyPairWithoutPlaintext",
                                                        "GenerateMac",
                                                        "GetKeyLastUsage",
                                                        "GetParametersForImport",
                                                        "GetPublicKey",
                                                        "ImportKeyMaterial",
                                                        "ListGrants",
                                                        "ListRetirableGrants",
                                                        "ReplicateKey",
                                                        "RetireGrant",
                                                        "RevokeGrant",
                                                        "Sign",
                                                        "UpdateCustomKeyStore",
                                                        "UpdatePrimaryRegion",
                                                        "Verify",
                                                        "VerifyMac"};
  if (auto answer = kOperations.Run(*this, operation, ctx, input)) return std::move(*answer);
  if (kNotServed.count(operation)) {
    return Status(ErrorCode::kUnsupportedOperationException,
                  "coffer's KMS serves symmetric keys only; " + std::string(operation) +
                      " is not supported.");
  }
  return Status(ErrorCode::kUnknownOperationException,
                "The operation TrentService." + std::string(operation) + " is not known.");
}

Result<KmsKeyRow> KmsService::FindKey(const Scope& caller_scope, const std::string& ref,
                                      bool allow_alias) {
  std::string key_id, alias;
  Scope scope = caller_scope;
  if (auto arn = ParseArn(ref)) {
    if (arn->service != "kms" || arn->region != caller_scope.region) {
      return Status(ErrorCode::kNotFoundException, "Key '" + ref + "' does not exist");
    }
    // Another account's key is named by its key or alias ARN; its key policy then decides.
    // https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
    scope.account = arn->account;
    if (arn->resource.rfind("key/", 0) == 0) {
      key_id = arn->resource.substr(4);
    } else if (arn->resource.rfind("alias/", 0) == 0) {
      alias = arn->resource;
    }
  } else if (ref.rfind("alias/", 0) == 0) {
    alias = ref;
  } else {
    key_id = ref;
  }
  if (!alias.empty()) {
    if (!allow_alias) {
      return Status(ErrorCode::kNotFoundException,
                    "Invalid keyId '" + ref + "': use a key id or key ARN.");
    }
    // AWS-managed keys come into being the first time anything names them.
    if (alias.rfind("alias/aws/", 0) == 0 && alias.size() > 10 &&
        alias.find('/', 10) == std::string::npos) {
      return keyring_->ResolveKey(scope, alias, alias.substr(10), ErrorCode::kNotFoundException);
    }
    std::optional<std::string> target;
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(target, r.kms().KeyIdForAlias(scope, alias));
      return Status::Ok();
    }));
    if (!target) {
      return Status(ErrorCode::kNotFoundException,
                    "Alias " + AliasArn(scope, alias) + " is not found.");
    }
    key_id = *target;
  }
  auto key = keyring_->LoadKey(key_id);
  if (!key.ok() || key->account != scope.account || key->region != scope.region) {
    return Status(ErrorCode::kNotFoundException,
                  "Key '" + KeyArn(scope, key_id) + "' does not exist");
  }
  return std::move(key.value());
}

Status KmsService::AuthorizeKey(const RequestContext& ctx, const char* action, const KmsKeyRow& key,
                                ConditionKeys extra) {
  AuthzCheck check{action,
                   key.arn,
                   key.account,
                   &key.policy,
                   /*key_policy=*/true,
                   /*trust_policy=*/false,
                   std::move(extra)};
  // Conditions for KMS key operations.
  // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
  auto& c = check.context;
  c["kms:calleraccount"] = {ctx.principal.account.empty() ? ctx.scope.account
                                                          : ctx.principal.account};
  c["kms:keyspec"] = {kAlgorithm};
  c["kms:keyusage"] = {"ENCRYPT_DECRYPT"};
  c["kms:keyorigin"] = {"AWS_KMS"};
  c["kms:multiregion"] = {"false"};
  Tags tags;
  std::vector<KmsAliasRow> aliases;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(tags, r.kms().GetKeyTags(key.key_id));
    // kms:ResourceAliases: AWS evaluates at most 100 aliases of a key.
    COFFER_ASSIGN_OR_RETURN(
        aliases, r.kms().ListAliases(Scope{key.account, key.region}, key.key_id, "", 100));
    return Status::Ok();
  }));
  AddResourceTagKeys(tags, "", &c);
  if (!aliases.empty()) {
    auto& names = c["kms:resourcealiases"];
    for (const auto& a : aliases) names.push_back(a.alias);
  }
  return ctx.Authorize(check);
}

// A key that does not exist in the caller's account and Region is reported as
// NotFoundException ("Key '<arn>' does not exist") before any permission is evaluated, as AWS
// KMS does: access to a KMS key is decided by the key policy of that key, which lives with the
// key in its account and Region, so there is nothing to evaluate for a key that is not there.
// https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html#API_DescribeKey_Errors
Result<KmsKeyRow> KmsService::AuthorizedKey(const RequestContext& ctx, const char* action,
                                            const std::string& key_ref, bool allow_alias,
                                            ConditionKeys extra) {
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, FindKey(ctx.scope, key_ref, allow_alias));
  if (auto alias = RequestAlias(key_ref)) extra["kms:requestalias"] = {*alias};
  COFFER_RETURN_IF_ERROR(AuthorizeKey(ctx, action, key, std::move(extra)));
  return key;
}

Result<KmsKeyRow> KmsService::ChangeKey(
    const RequestContext& ctx, const std::string& key_ref, const char* action, ConditionKeys extra,
    const std::function<Status(KmsKeyRow&, StoreWriter&)>& change) {
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow found, AuthorizedKey(ctx, action, key_ref,
                                                         /*allow_alias=*/false, std::move(extra)));
  KmsKeyRow key;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.kms().FindKey(found.key_id));
    if (!fresh)
      return Status(ErrorCode::kNotFoundException, "Key '" + found.arn + "' does not exist");
    // The permission was granted under the policy read above; a policy changed since then
    // must be evaluated afresh (SDKs retry KMSInternalException).
    if (fresh->policy != found.policy) {
      return Status(ErrorCode::kKMSInternalException,
                    "The key policy changed while the request was served; retry the request.");
    }
    key = std::move(*fresh);
    COFFER_RETURN_IF_ERROR(change(key, w));
    return w.kms().UpdateKey(key);
  }));
  return key;
}

Result<int> KmsService::RunKeyMaintenance() {
  const EpochMillis now = clock_->NowMillis();
  int actions = 0;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto due, w.kms().KeysDueForRotation(now));
    for (auto& k : due) {
      if (k.state == KeyState::kEnabled) {
        ++k.current_material;
        COFFER_ASSIGN_OR_RETURN(KeyMaterialRow material,
                                keyring_->NewKeyMaterial(k.key_id, k.current_material, now,
                                                         MaterialOrigin::kAutomaticRotation));
        COFFER_RETURN_IF_ERROR(w.kms().InsertMaterial(material));
        ++actions;
      }
      // A disabled key's rotation waits; either way the next date moves on.
      k.next_rotation_ms = now + k.rotation_period_days.value_or(365) * kMillisPerDay;
      COFFER_RETURN_IF_ERROR(w.kms().UpdateKey(k));
    }
    COFFER_ASSIGN_OR_RETURN(auto doomed, w.kms().KeysDueForDeletion(now));
    for (const auto& k : doomed) {
      COFFER_RETURN_IF_ERROR(w.kms().DeleteKey(k.key_id));
      ++actions;
    }
    return Status::Ok();
  }));
  return actions;
}

}  // namespace coffer::kms
