#include "services/params/params_service.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/arn.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/kms_use.h"
#include "protocol/json_input.h"
#include "protocol/operation_table.h"
#include "protocol/page_token.h"
#include "services/params/allowed_pattern.h"
#include "services/params/parameter_names.h"
#include "services/params/parameter_policies.h"
#include "services/params/params_common.h"

namespace coffer::params {

ParamsService::ParamsService(Store* store, Keyring* keyring, secrets::SecretsService* secrets,
                             const Clock* clock)
    : store_(store), keyring_(keyring), secrets_(secrets), clock_(clock) {}

Result<json::object> ParamsService::Handle(std::string_view operation, const RequestContext& ctx,
                                           const json::object& input) {
  static const OperationTable<ParamsService, json::object, json::object> kOperations = {
      {"PutParameter", &ParamsService::PutParameter},
      {"GetParameter", &ParamsService::GetParameter},
      {"GetParameters", &ParamsService::GetParameters},
      {"GetParametersByPath", &ParamsService::GetParametersByPath},
      {"DescribeParameters", &ParamsService::DescribeParameters},
      {"GetParameterHistory", &ParamsService::GetParameterHistory},
      {"DeleteParameter", &ParamsService::DeleteParameter},
      {"DeleteParameters", &ParamsService::DeleteParameters},
      {"LabelParameterVersion", &ParamsService::LabelParameterVersion},
      {"UnlabelParameterVersion", &ParamsService::UnlabelParameterVersion},
      {"AddTagsToResource", &ParamsService::AddTagsToResource},
      {"RemoveTagsFromResource", &ParamsService::RemoveTagsFromResource},
      {"ListTagsForResource", &ParamsService::ListTagsForResource},
  };
  static const std::set<std::string_view> kSsmOperations = {
#include "services/params/ssm_operations.inc"
  };
  if (auto answer = kOperations.Run(*this, operation, ctx, input)) return std::move(*answer);
  // Neither answer needs a permission: they reveal nothing and change nothing.
  if (kSsmOperations.count(operation)) {
    // Documents, commands, sessions, ...: SSM, but outside Parameter Store.
    return Status(ErrorCode::kUnsupportedOperationException,
                  "coffer serves the Parameter Store operations of SSM only; " +
                      std::string(operation) + " is not supported.");
  }
  return Status(ErrorCode::kUnknownOperationException,
                "The operation AmazonSSM." + std::string(operation) + " is not known.");
}

Status ParamsService::AuthorizeParameter(const RequestContext& ctx, const char* action,
                                         const std::string& name, ConditionKeys extra) {
  std::optional<Tags> tags;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(name)));
    if (!found || Expired(*found, ctx.now)) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(found->id));
    return Status::Ok();
  }));
  return AuthorizeOn(ctx, action, name, tags ? &*tags : nullptr, std::move(extra));
}

// Parameter Store encrypts and decrypts SecureString values with the caller's permissions on the
// KMS key. The AWS managed key aws/ssm lets every principal of its account use it through
// Parameter Store, so only customer managed keys are checked.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-decryption.html
// https://docs.aws.amazon.com/systems-manager/latest/userguide/secure-string-parameter-kms-encryption.html
Status ParamsService::AuthorizeKeyUse(const RequestContext& ctx, const KmsKeyRow& key,
                                      const char* kms_action, const std::string& parameter_arn) {
  NoteKmsUseForService(ctx, kms_action, "ssm", key.arn, {{"PARAMETER_ARN", parameter_arn}});
  if (key.manager != KeyManager::kCustomer) return Status::Ok();
  Status allowed =
      AuthorizeKmsUseForService(ctx, key, kms_action, "ssm", {{"PARAMETER_ARN", parameter_arn}});
  if (allowed.ok() || allowed.code() != ErrorCode::kAccessDeniedException) return allowed;
  // Parameter Store passes KMS's AccessDeniedException on, with KMS's message and the suffix
  // naming KMS as the service that refused (as seen from GetParameter in
  // github.com/tryolabs/aws-workshop/issues/6). KMS's Decrypt message does not name the key.
  std::string message =
      std::string(kms_action) == "kms:Decrypt"
          ? "User: " + ctx.principal.arn +
                " is not authorized to perform: kms:Decrypt on the resource associated with this "
                "ciphertext because the resource does not exist in this Region, no "
                "resource-based policies allow access, or a resource-based policy explicitly "
                "denies access"
          : allowed.message();
  return Status(ErrorCode::kAccessDeniedException,
                message +
                    " (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; "
                    "Request ID: " +
                    ctx.request_id + ")");
}

Result<std::string> ParamsService::RevealValue(const RequestContext& ctx, const ParameterRow& row,
                                               const ParameterVersionRow& v, bool with_decryption) {
  const std::string arn = ParameterArn(ctx.scope, row.name);
  const std::string context = ValueContext(arn);
  if (v.type == ParameterType::kSecureString) {
    // Without WithDecryption AWS returns the ciphertext blob, base64-encoded.
    if (!with_decryption) return crypto::Base64Encode(v.sealed_value);
    // The key that sealed this version (the parameter may have moved to another key since).
    auto key_id = Keyring::EnvelopeKeyId(v.sealed_value);
    auto key = key_id.ok() ? keyring_->LoadKey(*key_id) : Result<KmsKeyRow>(key_id.status());
    if (key.ok()) COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, *key, "kms:Decrypt", arn));
    auto plain = keyring_->OpenValue(context, v.sealed_value);
    if (!plain.ok() && Keyring::Unavailable(plain.status())) return plain.status();
    if (!plain.ok()) {
      return Status(
          ErrorCode::kInvalidKeyId,
          "The KMS key of this parameter cannot decrypt its value. " + plain.status().message());
    }
    return std::string(plain->Reveal());
  }
  auto plain = keyring_->UnwrapWithStorageKey(context, v.sealed_value);
  if (!plain.ok())
    return Status(ErrorCode::kInternalServerError, "A stored value could not be read.");
  return std::string(plain->Reveal());
}

Result<int> ParamsService::RunPolicies() {
  const EpochMillis now = clock_->NowMillis();
  int actions = 0;
  auto policy_event = [&](const ParameterRow& row, const ParameterPolicy& p,
                          const std::string& reason) {
    Scope scope{row.account, row.region};
    EventRow e;
    e.time_ms = now;
    e.account = row.account;
    e.region = row.region;
    e.source = "aws.ssm";
    e.detail_type = "Parameter Store Policy Action";
    e.resources = json::serialize(json::array{json::string(ParameterArn(scope, row.name))});
    auto digest = crypto::Sha256(p.text);
    e.detail = json::serialize(json::object{{"parameter-name", row.name},
                                            {"parameter-type", ParameterTypeName(row.type)},
                                            {"policy-type", ParameterPolicyTypeName(p.type)},
                                            {"policy-content-sha256", crypto::HexLower(digest)},
                                            {"policy-content", p.text},
                                            {"action-status", "Finished"},
                                            {"action-reason", reason}});
    return e;
  };
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    // Expiration: delete, then tell.
    COFFER_ASSIGN_OR_RETURN(auto expired, w.parameters().ListExpired(now));
    for (const auto& row : expired) {
      COFFER_RETURN_IF_ERROR(w.parameters().Delete(row.id));
      auto policies = ParsePolicies(row.policies.value_or("[]"));
      if (policies.ok()) {
        for (const auto& p : *policies) {
          if (p.type == ParameterPolicyType::kExpiration) {
            COFFER_RETURN_IF_ERROR(w.events().Append(
                policy_event(row, p, "Expiration policy: the parameter was deleted.")));
          }
        }
      }
      COFFER_RETURN_IF_ERROR(
          w.events().Append(ChangeEvent({row.account, row.region}, now, row, "Delete")));
      ++actions;
    }
    // Notifications, once per parameter version and policy.
    COFFER_ASSIGN_OR_RETURN(auto with_policies, w.parameters().ListWithPolicies());
    for (const auto& row : with_policies) {
      auto policies = ParsePolicies(*row.policies);
      if (!policies.ok()) continue;
      std::optional<EpochMillis> expiration;
      for (const auto& p : *policies) {
        if (p.expiration_ms) expiration = p.expiration_ms;
      }
      for (const auto& p : *policies) {
        bool due = false;
        std::string reason;
        if (p.type == ParameterPolicyType::kExpirationNotification && expiration) {
          due = now >= *expiration - p.AmountMillis();
          reason = "The parameter expires within " + std::to_string(p.amount) + " " + p.unit + ".";
        } else if (p.type == ParameterPolicyType::kNoChangeNotification) {
          due = now >= row.last_modified_ms + p.AmountMillis();
          reason =
              "The parameter has not changed for " + std::to_string(p.amount) + " " + p.unit + ".";
        }
        if (!due) continue;
        COFFER_ASSIGN_OR_RETURN(bool sent,
                                w.parameters().NotificationSent(row.id, row.version, p.Key()));
        if (sent) continue;
        COFFER_RETURN_IF_ERROR(w.events().Append(policy_event(row, p, reason)));
        COFFER_RETURN_IF_ERROR(w.parameters().MarkNotificationSent(row.id, row.version, p.Key()));
        ++actions;
      }
    }
    return Status::Ok();
  }));
  return actions;
}

}  // namespace coffer::params
