// KMS: aliases.
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

namespace {
Status InvalidAliasName(const std::string& alias) {
  if (alias.rfind("alias/", 0) != 0) {
    // AWS's own wording for a name without the prefix.
    return Status(ErrorCode::kValidationException,
                  "Alias must start with the prefix \"alias/\". Please see "
                  "http://docs.aws.amazon.com/kms/latest/developerguide/programming-aliases.html");
  }
  return Status(ErrorCode::kValidationException,
                "1 validation error detected: Value '" + alias +
                    "' at 'aliasName' failed to satisfy constraint: Member must satisfy regular "
                    "expression pattern: ^alias/[a-zA-Z0-9/_-]+$");
}

// An alias moved to another key between the permission check and the write.
// CreateAlias's and UpdateAlias's input: a valid alias name and the key it is to name.
Status ReadAliasAndTarget(const json::object& body, std::optional<std::string>* alias,
                          std::optional<std::string>* target) {
  JsonInput in(body);
  *alias = in.String("AliasName", {.required = true, .min_len = 1, .max_len = 256});
  *target = in.String("TargetKeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!IsValidAliasName(**alias)) return InvalidAliasName(**alias);
  return Status::Ok();
}

Status AliasChanged() {
  return Status(ErrorCode::kKMSInternalException,
                "The alias changed while the request was served; retry the request.");
}
}  // namespace

// Alias operations need permission on the alias (IAM policies only: an alias has no policy of
// its own) and on every KMS key they affect (key policies).
// https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html
// https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
Result<json::object> KmsService::CreateAlias(const RequestContext& ctx, const json::object& body) {
  std::optional<std::string> alias, target;
  COFFER_RETURN_IF_ERROR(ReadAliasAndTarget(body, &alias, &target));
  if (alias->rfind("alias/aws/", 0) == 0) {
    return Status(ErrorCode::kNotAuthorizedException,
                  "Cannot create alias with prefix 'alias/aws/': it is reserved for AWS managed "
                  "keys.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:CreateAlias", AliasArn(ctx.scope, *alias)}));
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          AuthorizedKey(ctx, "kms:CreateAlias", *target, /*allow_alias=*/false));
  if (key.state == KeyState::kPendingDeletion) return NotUsable(key);
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.kms().KeyIdForAlias(ctx.scope, *alias));
    if (existing) {
      return Status(ErrorCode::kAlreadyExistsException,
                    "An alias with the name " + AliasArn(ctx.scope, *alias) + " already exists");
    }
    return w.kms().PutAlias(ctx.scope, *alias, key.key_id, ctx.now);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html
// kms:UpdateAlias on the alias, on the key it points to now and on the key it will point to.
Result<json::object> KmsService::UpdateAlias(const RequestContext& ctx, const json::object& body) {
  std::optional<std::string> alias, target;
  COFFER_RETURN_IF_ERROR(ReadAliasAndTarget(body, &alias, &target));
  if (alias->rfind("alias/aws/", 0) == 0) {
    return Status(ErrorCode::kNotAuthorizedException,
                  "Aliases beginning with 'alias/aws/' are reserved.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:UpdateAlias", AliasArn(ctx.scope, *alias)}));
  std::optional<std::string> current;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(current, r.kms().KeyIdForAlias(ctx.scope, *alias));
    return Status::Ok();
  }));
  if (!current) {
    return Status(ErrorCode::kNotFoundException,
                  "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
  }
  if (auto old_key = keyring_->LoadKey(*current); old_key.ok()) {
    COFFER_RETURN_IF_ERROR(AuthorizeKey(ctx, "kms:UpdateAlias", *old_key));
  }
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          AuthorizedKey(ctx, "kms:UpdateAlias", *target, /*allow_alias=*/false));
  if (key.state == KeyState::kPendingDeletion) return NotUsable(key);
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.kms().KeyIdForAlias(ctx.scope, *alias));
    if (!existing) {
      return Status(ErrorCode::kNotFoundException,
                    "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
    }
    if (*existing != *current) return AliasChanged();
    return w.kms().PutAlias(ctx.scope, *alias, key.key_id, ctx.now);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteAlias.html
// kms:DeleteAlias on the alias and on the key it points to.
Result<json::object> KmsService::DeleteAlias(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto alias = in.String("AliasName", {.required = true, .min_len = 1, .max_len = 256});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!IsValidAliasName(*alias)) return InvalidAliasName(*alias);
  if (alias->rfind("alias/aws/", 0) == 0) {
    return Status(ErrorCode::kNotAuthorizedException,
                  "Aliases beginning with 'alias/aws/' are reserved.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:DeleteAlias", AliasArn(ctx.scope, *alias)}));
  std::optional<std::string> current;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(current, r.kms().KeyIdForAlias(ctx.scope, *alias));
    return Status::Ok();
  }));
  if (!current) {
    return Status(ErrorCode::kNotFoundException,
                  "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
  }
  if (auto key = keyring_->LoadKey(*current); key.ok()) {
    COFFER_RETURN_IF_ERROR(AuthorizeKey(ctx, "kms:DeleteAlias", *key));
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.kms().KeyIdForAlias(ctx.scope, *alias));
    if (!existing) {
      return Status(ErrorCode::kNotFoundException,
                    "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
    }
    if (*existing != *current) return AliasChanged();
    return w.kms().DeleteAlias(ctx.scope, *alias);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html
// IAM policies only, on "*" (also when KeyId filters the list).
Result<json::object> KmsService::ListAliases(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_ref = in.String("KeyId", {.min_len = 1, .max_len = 2048});
  auto limit = in.Int("Limit", {.min = 1, .max = 100});
  auto marker = in.String("Marker", {.min_len = 1, .max_len = 1024});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:ListAliases", "*"}));
  COFFER_ASSIGN_OR_RETURN(std::string after, DecodeMarker(marker));
  std::string key_id;
  if (key_ref) {
    COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, FindKey(ctx.scope, *key_ref, /*allow_alias=*/false));
    key_id = key.key_id;
  }
  const int page = static_cast<int>(limit.value_or(50));
  std::vector<KmsAliasRow> aliases;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(aliases, r.kms().ListAliases(ctx.scope, key_id, after, page + 1));
    return Status::Ok();
  }));
  bool truncated = aliases.size() > static_cast<size_t>(page);
  if (truncated) aliases.resize(page);
  json::array list;
  for (const auto& a : aliases) {
    list.push_back(json::object{{"AliasName", a.alias},
                                {"AliasArn", AliasArn(ctx.scope, a.alias)},
                                {"TargetKeyId", a.key_id},
                                {"CreationDate", Epoch(a.created_ms)},
                                {"LastUpdatedDate", Epoch(a.updated_ms)}});
  }
  json::object out{{"Aliases", std::move(list)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = EncodeMarker(aliases.back().alias);
  return out;
}

}  // namespace coffer::kms
