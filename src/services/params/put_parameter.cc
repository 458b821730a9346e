// Parameter Store: PutParameter, as a sequence of steps: decode and check the request, read
// what exists, authorize, settle the attributes and the tier, seal the value, write the version.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/secret_bytes.h"
#include "protocol/json_input.h"
#include "services/params/parameter_names.h"
#include "services/params/parameter_policies.h"
#include "services/params/parameter_tiers.h"
#include "services/params/params_common.h"
#include "services/params/params_service.h"
#include "services/params/value_rules.h"

namespace coffer::params {
namespace {

// A PutParameter request, checked for everything that needs neither the store nor a key.
struct PutRequest {
  std::string name;
  SecretBytes value;  // wiped when the request is done, whatever happens
  std::optional<ParameterType> type;
  std::optional<std::string> description;
  std::optional<std::string> key_id;
  std::optional<bool> overwrite_given;
  bool overwrite = false;
  std::optional<std::string> allowed_pattern;
  Tags tags;
  std::optional<RequestedTier> tier;
  std::optional<std::string> policies;
  std::optional<std::string> data_type;
};

Result<PutRequest> DecodePutRequest(const json::object& body, const Scope& scope) {
  JsonInput in(body);
  PutRequest r;
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  auto value = in.Secret("Value", {.required = true});
  const auto type = in.String("Type");
  r.description = in.String("Description", {.max_len = 1024});
  r.key_id = in.String("KeyId", {.min_len = 1, .max_len = 256});
  r.overwrite_given = in.Bool("Overwrite");
  r.overwrite = r.overwrite_given.value_or(false);
  r.allowed_pattern = in.String("AllowedPattern", {.max_len = 1024});
  const json::array* tags = in.Array("Tags");
  const auto tier = in.String("Tier");
  r.policies = in.String("Policies", {.min_len = 1, .max_len = 4096});
  r.data_type = in.String("DataType", {.max_len = 128});
  COFFER_RETURN_IF_ERROR(in.Finish());
  r.name = std::move(*name);
  r.value = std::move(*value);
  if (r.value.empty()) {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value '' at 'value' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1.");
  }
  if (r.overwrite && tags && !tags->empty()) {
    return Status(ErrorCode::kValidationException,
                  "Invalid request: tags and overwrite can't be used together. To create a "
                  "parameter with tags, please remove overwrite flag. To update tags for an "
                  "existing parameter, please use AddTagsToResource or RemoveTagsFromResource.");
  }
  COFFER_ASSIGN_OR_RETURN(r.tags, DecodeTags(tags));
  if (r.tags.size() > kMaxTags) {
    return Status(ErrorCode::kTooManyTagsError,
                  "The Targets parameter includes too many tags. Remove one or more tags and try "
                  "the command again.");
  }
  COFFER_RETURN_IF_ERROR(ValidateNewName(scope, r.name));
  COFFER_RETURN_IF_ERROR(CheckDeclaredKinds(type, tier, r.data_type));
  if (type) r.type = ValueNamed(kParameterTypeNames, *type);
  if (tier) r.tier = ValueNamed(kRequestedTierNames, *tier);
  return r;
}

// What the store holds for the name before the write.
struct PutContext {
  std::optional<ParameterRow> existing;  // a live (not expired) parameter of that name
  Tags existing_tags;                    // read only when the request is authorized
  int64_t standard_count = 0;
  int64_t advanced_count = 0;
};

// The new version's attributes: unspecified ones keep their previous values on overwrite.
// Errors: HierarchyTypeMismatchException, ValidationException, the policy parser's.
Status SettleAttributes(const PutRequest& r, const std::optional<ParameterRow>& existing,
                        ParameterRow* row, std::vector<ParameterPolicy>* policies) {
  *row = existing.value_or(ParameterRow{});
  const ParameterType type = r.type.value_or(row->type);
  if (existing && type != existing->type) {
    return Status(ErrorCode::kHierarchyTypeMismatchException,
                  "Parameter Store does not support changing a parameter type in a hierarchy. "
                  "For example, you can't change a parameter from a String type to a "
                  "SecureString type. You must create a new, unique parameter.");
  }
  if (r.key_id && type != ParameterType::kSecureString) {
    return Status(ErrorCode::kValidationException,
                  "KeyId is only supported for parameters of type SecureString.");
  }
  row->type = type;
  if (r.description) row->description = *r.description;
  if (r.allowed_pattern) {
    row->allowed_pattern = r.allowed_pattern->empty() ? std::nullopt : r.allowed_pattern;
  }
  if (r.data_type) row->data_type = *r.data_type;
  if (row->data_type.empty()) row->data_type = "text";
  if (type == ParameterType::kSecureString) {
    if (r.key_id) row->key_id = *r.key_id;
    if (!row->key_id) row->key_id = kDefaultKeyId;
  } else {
    row->key_id.reset();
  }
  if (r.policies) {
    COFFER_ASSIGN_OR_RETURN(*policies, ParsePolicies(*r.policies));
    row->policies = policies->empty() ? std::nullopt : r.policies;
  } else if (row->policies) {
    COFFER_ASSIGN_OR_RETURN(*policies, ParsePolicies(*row->policies));
  }
  row->expires_at_ms.reset();
  for (const auto& p : *policies) {
    if (p.expiration_ms) row->expires_at_ms = p.expiration_ms;
  }
  return Status::Ok();
}

ParameterVersionRow VersionOf(const ParameterRow& row, std::string sealed) {
  ParameterVersionRow v;
  v.version = row.version;
  v.type = row.type;
  v.tier = row.tier;
  v.data_type = row.data_type;
  v.key_id = row.key_id;
  v.description = row.description;
  v.allowed_pattern = row.allowed_pattern;
  v.policies = row.policies;
  v.last_modified_ms = row.last_modified_ms;
  v.last_modified_user = row.last_modified_user;
  v.sealed_value = std::move(sealed);
  return v;
}

// Makes room for one more version of `row` (already stored): the oldest goes when 100 are kept,
// unless a label holds it.
Status MakeRoomForVersion(StoreWriter& w, const ParameterRow& row) {
  COFFER_ASSIGN_OR_RETURN(auto versions, w.parameters().ListVersions(row.id));
  if (versions.size() < kMaxVersions) return Status::Ok();
  const auto& oldest = versions.front();
  if (!oldest.labels.empty()) {
    return Status(ErrorCode::kParameterMaxVersionLimitExceeded,
                  "You attempted to create a new version of " + row.name +
                      " by calling the PutParameter API with the overwrite flag. Version " +
                      std::to_string(oldest.version) +
                      ", the oldest version, can't be deleted because it has a label "
                      "associated with it. Move the label to another version of the "
                      "parameter, and try again.");
  }
  return w.parameters().DeleteVersion(row.id, oldest.version);
}

}  // namespace

Result<json::object> ParamsService::PutParameter(const RequestContext& ctx,
                                                 const json::object& body) {
  COFFER_ASSIGN_OR_RETURN(PutRequest r, DecodePutRequest(body, ctx.scope));
  const std::string name_key = NameKey(r.name);
  PutContext now;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& reader) -> Status {
    COFFER_ASSIGN_OR_RETURN(now.existing, reader.parameters().Find(ctx.scope, name_key));
    if (now.existing) {
      COFFER_ASSIGN_OR_RETURN(now.existing_tags, reader.parameters().GetTags(now.existing->id));
    }
    COFFER_ASSIGN_OR_RETURN(now.standard_count,
                            reader.parameters().Count(ctx.scope, ParameterTier::kStandard));
    COFFER_ASSIGN_OR_RETURN(now.advanced_count,
                            reader.parameters().Count(ctx.scope, ParameterTier::kAdvanced));
    return Status::Ok();
  }));
  if (now.existing && Expired(*now.existing, ctx.now)) now.existing.reset();  // as good as gone
  {
    // Before anything that depends on whether the parameter exists.
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policy-conditions.html
    ConditionKeys keys;
    AddRequestTagKeys(r.tags, &keys);
    if (r.overwrite_given) keys["ssm:overwrite"] = {r.overwrite ? "true" : "false"};
    COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, "ssm:PutParameter", r.name,
                                       now.existing ? &now.existing_tags : nullptr,
                                       std::move(keys)));
  }
  if (now.existing && !r.overwrite) {
    return Status(ErrorCode::kParameterAlreadyExists,
                  "The parameter already exists. To overwrite this value, set the overwrite "
                  "option in the request to true.");
  }
  if (!now.existing && !r.type) {
    return Status(ErrorCode::kValidationException,
                  "A parameter type is required when you create a parameter.");
  }
  ParameterRow row;
  std::vector<ParameterPolicy> policies;
  COFFER_RETURN_IF_ERROR(SettleAttributes(r, now.existing, &row, &policies));
  COFFER_RETURN_IF_ERROR(CheckParameterValue(r.value.Reveal(), row.allowed_pattern, row.data_type));
  COFFER_ASSIGN_OR_RETURN(
      row.tier,
      ChooseTier({.requested = r.tier,
                  .existing_tier = now.existing ? std::optional(now.existing->tier) : std::nullopt,
                  .value_bytes = r.value.size(),
                  .has_policies = !policies.empty(),
                  .standard_count = now.standard_count,
                  .advanced_count = now.advanced_count}));
  // Sealed outside the transaction (the managed key may be created on first use).
  const std::string arn = ParameterArn(ctx.scope, now.existing ? now.existing->name : r.name);
  COFFER_ASSIGN_OR_RETURN(std::string sealed, SealParameterValue(ctx, row, arn, r.value));
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    return WriteParameterVersion(w, ctx, r.name, now.existing.has_value(), r.tags, &row,
                                 std::move(sealed));
  }));
  return json::object{{"Version", row.version}, {"Tier", ParameterTierName(row.tier)}};
}

Result<std::string> ParamsService::SealParameterValue(const RequestContext& ctx,
                                                      const ParameterRow& row,
                                                      const std::string& arn,
                                                      const SecretBytes& value) {
  if (row.type != ParameterType::kSecureString) {
    return keyring_->WrapWithStorageKey(ValueContext(arn), value.Reveal());
  }
  COFFER_ASSIGN_OR_RETURN(
      KmsKeyRow key, keyring_->ResolveKey(ctx.scope, *row.key_id, "ssm", ErrorCode::kInvalidKeyId));
  COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, key, "kms:Encrypt", arn));
  auto sealed = keyring_->SealValue(key, ValueContext(arn), value.Reveal());
  if (!sealed.ok() && Keyring::Unavailable(sealed.status())) return sealed.status();
  if (!sealed.ok()) {
    return Status(ErrorCode::kInvalidKeyId,
                  "The KMS key " + *row.key_id +
                      " can't encrypt the parameter: " + sealed.status().message());
  }
  return std::move(sealed.value());
}

Status ParamsService::WriteParameterVersion(StoreWriter& w, const RequestContext& ctx,
                                            const std::string& name, bool existed, const Tags& tags,
                                            ParameterRow* row, std::string sealed) {
  const std::string name_key = NameKey(name);
  COFFER_ASSIGN_OR_RETURN(auto fresh, w.parameters().Find(ctx.scope, name_key));
  if (fresh && Expired(*fresh, ctx.now)) {
    COFFER_RETURN_IF_ERROR(w.parameters().Delete(fresh->id));
    fresh.reset();
  }
  if (fresh.has_value() != existed || (fresh && fresh->type != row->type)) {
    return Status(ErrorCode::kTooManyUpdates,
                  "There are concurrent updates for the resource that you are trying to "
                  "modify. Please try again.");
  }
  row->last_modified_ms = ctx.now;
  row->last_modified_user = ctx.principal.arn;
  if (!fresh) {
    row->account = ctx.scope.account;
    row->region = ctx.scope.region;
    row->name = name;
    row->name_key = name_key;
    row->parent = ParentPath(name_key);
    row->version = 1;
    COFFER_RETURN_IF_ERROR(w.parameters().Insert(row));
    COFFER_RETURN_IF_ERROR(w.parameters().SetTags(row->id, tags));
  } else {
    row->id = fresh->id;
    row->name = fresh->name;
    row->version = fresh->version + 1;
    COFFER_RETURN_IF_ERROR(MakeRoomForVersion(w, *row));
    COFFER_RETURN_IF_ERROR(w.parameters().Update(*row));
  }
  COFFER_RETURN_IF_ERROR(w.parameters().InsertVersion(row->id, VersionOf(*row, std::move(sealed))));
  return w.events().Append(ChangeEvent(ctx.scope, ctx.now, *row, fresh ? "Update" : "Create"));
}

}  // namespace coffer::params
