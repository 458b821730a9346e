// The authorization of a service that uses a customer managed KMS key on its caller's behalf
// (Secrets Manager sealing a secret, Parameter Store a SecureString): KMS evaluates the key
// policy with the condition keys such a call carries.
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/request_context.h"
#include "store/store.h"

namespace coffer {

// Asks ctx's authorizer whether `kms_action` on `key` is allowed through `service` (its endpoint
// prefix: "secretsmanager", "ssm") with the given encryption context (name, value): every name
// is in kms:EncryptionContextKeys; a value, when not empty, is kms:EncryptionContext:<name>.
// Returns the authorizer's answer unchanged: each service words its own refusal as AWS does.
inline Status AuthorizeKmsUseForService(
    const RequestContext& ctx, const KmsKeyRow& key, const char* kms_action,
    std::string_view service,
    const std::vector<std::pair<std::string, std::string>>& encryption_context) {
  AuthzCheck check{kms_action, key.arn, key.account, &key.policy, /*key_policy=*/true};
  check.context["kms:viaservice"] = {std::string(service) + "." + ctx.scope.region +
                                     ".amazonaws.com"};
  check.context["aws:viaawsservice"] = {"true"};  // the service calls KMS for the caller
  check.context["kms:calleraccount"] = {ctx.principal.account};
  std::vector<std::string> names;
  for (const auto& [name, value] : encryption_context) {
    if (!value.empty()) check.context["kms:encryptioncontext:" + AsciiLower(name)] = {value};
    names.push_back(name);
  }
  check.context["kms:encryptioncontextkeys"] = std::move(names);
  return ctx.Authorize(check);
}

// Notes, for the call's audit record, that `service` ("secretsmanager", "ssm") used `key_arn`
// for `kms_action` ("kms:Decrypt") on the caller's behalf.
inline void NoteKmsUseForService(
    const RequestContext& ctx, std::string_view kms_action, std::string_view service,
    std::string key_arn, std::vector<std::pair<std::string, std::string>> encryption_context) {
  ctx.MadeOnBehalf({.event_source = "kms.amazonaws.com",
                    .event_name = std::string(kms_action.substr(kms_action.find(':') + 1)),
                    .invoked_by = std::string(service) + ".amazonaws.com",
                    .key_arn = std::move(key_arn),
                    .encryption_context = std::move(encryption_context)});
}

}  // namespace coffer
