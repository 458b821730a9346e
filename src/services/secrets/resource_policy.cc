// Secrets Manager: resource policies (Put, Get, Delete, Validate).
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
#include "protocol/page_token.h"
#include "services/secrets/random_password.h"
#include "services/secrets/rotation_rules.h"
#include "services/secrets/secret_filters.h"
#include "services/secrets/secrets_common.h"
#include "services/secrets/secrets_service.h"
#include "services/secrets/version_stages.h"

namespace coffer::secrets {

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutResourcePolicy.html
Result<json::object> SecretsService::PutResourcePolicy(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto text = in.String("ResourcePolicy", {.required = true, .min_len = 1, .max_len = 20480});
  auto block_public = in.Bool("BlockPublicPolicy");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow authorized,
                          AuthorizedSecret(ctx, "secretsmanager:PutResourcePolicy", *secret_id,
                                           {{"secretsmanager:blockpublicpolicy",
                                             {block_public.value_or(false) ? "true" : "false"}}}));
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseResourcePolicy(*text));
  if (block_public.value_or(false) && parsed->GrantsPublicAccess()) {
    return Status(ErrorCode::kPublicPolicyException,
                  "This resource policy will grant public access to the secret.");
  }
  COFFER_ASSIGN_OR_RETURN(SecretRow s, WriteSecret(authorized, WhenDeleted::kRefuse,
                                                   [&](StoreWriter& w, SecretRow& s) -> Status {
                                                     s.resource_policy = *text;
                                                     s.last_changed_ms = ctx.now;
                                                     return w.secrets().Update(s);
                                                   }));
  return json::object{{"ARN", s.arn}, {"Name", s.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetResourcePolicy.html
Result<json::object> SecretsService::GetResourcePolicy(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s,
                          AuthorizedSecret(ctx, "secretsmanager:GetResourcePolicy", *secret_id));
  json::object out{{"ARN", s.arn}, {"Name", s.name}};
  if (s.resource_policy) out["ResourcePolicy"] = *s.resource_policy;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteResourcePolicy.html
Result<json::object> SecretsService::DeleteResourcePolicy(const RequestContext& ctx,
                                                          const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s,
                          MutateSecret(ctx, "secretsmanager:DeleteResourcePolicy", *secret_id, {},
                                       [&](StoreWriter& w, SecretRow& s) -> Status {
                                         s.resource_policy.reset();
                                         s.last_changed_ms = ctx.now;
                                         return w.secrets().Update(s);
                                       }));
  return json::object{{"ARN", s.arn}, {"Name", s.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ValidateResourcePolicy.html
Result<json::object> SecretsService::ValidateResourcePolicy(const RequestContext& ctx,
                                                            const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.min_len = 1, .max_len = 2048});
  auto text = in.String("ResourcePolicy", {.required = true, .min_len = 1, .max_len = 20480});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (secret_id) {
    COFFER_RETURN_IF_ERROR(
        AuthorizedSecret(ctx, "secretsmanager:ValidateResourcePolicy", *secret_id).status());
  } else {
    COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:ValidateResourcePolicy", "*"}));
  }
  auto parsed = policy::Policy::Parse(*text, policy::PolicyKind::kResource);
  json::array errors;
  if (!parsed.ok()) {
    errors.push_back(json::object{{"CheckName", "SYNTAX_CHECKING"},
                                  {"ErrorMessage", parsed.status().message()}});
  } else if ((*parsed)->GrantsPublicAccess()) {
    errors.push_back(json::object{
        {"CheckName", "PUBLIC_ACCESS_CHECKING"},
        {"ErrorMessage", "This resource policy will grant public access to the secret."}});
  }
  return json::object{{"PolicyValidationPassed", errors.empty()},
                      {"ValidationErrors", std::move(errors)}};
}

}  // namespace coffer::secrets
