// KMS: key policies.
#include <map>
#include <set>

#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "services/kms/kms_common.h"
#include "services/kms/kms_service.h"

namespace coffer::kms {

Result<json::object> KmsService::GetKeyPolicy(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto name = in.String("PolicyName", {.min_len = 1, .max_len = 128});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          AuthorizedKey(ctx, "kms:GetKeyPolicy", *key_id, /*allow_alias=*/false));
  if (name && *name != "default") {
    return Status(ErrorCode::kNotFoundException, "No such policy exists: " + *name);
  }
  return json::object{{"Policy", key.policy}, {"PolicyName", "default"}};
}

Result<json::object> KmsService::PutKeyPolicy(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto name = in.String("PolicyName", {.min_len = 1, .max_len = 128});
  auto policy = in.String("Policy", {.required = true, .min_len = 1, .max_len = 32768});
  auto bypass_lockout = in.Bool("BypassPolicyLockoutSafetyCheck");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (name && *name != "default") {
    return Status(ErrorCode::kNotFoundException, "No such policy exists: " + *name);
  }
  COFFER_RETURN_IF_ERROR(ValidatePolicy(*policy));
  ConditionKeys keys;
  if (bypass_lockout) {
    keys["kms:bypasspolicylockoutsafetycheck"] = {*bypass_lockout ? "true" : "false"};
  }
  COFFER_ASSIGN_OR_RETURN(auto key, ChangeKey(ctx, *key_id, "kms:PutKeyPolicy", std::move(keys),
                                              [&](KmsKeyRow& k, StoreWriter&) {
                                                if (k.manager == KeyManager::kAws)
                                                  return NotChangeable(k);
                                                k.policy = *policy;
                                                return Status::Ok();
                                              }));
  return json::object{};
}

Result<json::object> KmsService::ListKeyPolicies(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  (void)in.Int("Limit", {.min = 1, .max = 1000});
  (void)in.String("Marker");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      KmsKeyRow key, AuthorizedKey(ctx, "kms:ListKeyPolicies", *key_id, /*allow_alias=*/false));
  return json::object{{"PolicyNames", json::array{"default"}}, {"Truncated", false}};
}

}  // namespace coffer::kms
