// IAM: access keys of users and of the account root.
#include <algorithm>
#include <utility>

#include "auth/credential_registry.h"
#include "auth/sigv4.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
Result<std::string> IamService::CreateAccessKey(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "CreateAccessKey", name));
  AccessKeyRow row;
  row.access_key_id = NewAccessKeyId();
  row.account = ctx.scope.account;
  row.principal_arn = owner.arn;
  row.user_id = owner.id;
  row.created_ms = Now(ctx, clock_);
  row.status = AccessKeyStatus::kActive;
  row.user_name = owner.name;
  SecretBytes secret = NewSecretAccessKey();
  COFFER_ASSIGN_OR_RETURN(
      row.wrapped_secret,
      keyring_->WrapWithStorageKey(CredentialRegistry::SecretPurpose(row.access_key_id),
                                   secret.Reveal()));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    if (!owner.name.empty()) {
      COFFER_ASSIGN_OR_RETURN(auto fresh, FreshEntity(w, ctx.scope.account, kUser, owner.name));
    }
    COFFER_ASSIGN_OR_RETURN(auto keys,
                            w.credentials().ListAccessKeysForUser(row.account, row.user_name));
    if (keys.size() >= kMaxAccessKeysPerUser) {
      return Status(ErrorCode::kLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: " +
                                                   std::to_string(kMaxAccessKeysPerUser));
    }
    return w.credentials().InsertAccessKey(row);
  }));
  // The only time the secret is ever shown: AWS cannot retrieve it later either.
  std::string key;
  if (!owner.name.empty()) Add(&key, "UserName", owner.name);
  Add(&key, "AccessKeyId", row.access_key_id);
  Add(&key, "Status", std::string(AccessKeyStatusName(row.status)));
  Add(&key, "SecretAccessKey", secret.Reveal());
  Add(&key, "CreateDate", Date(row.created_ms));
  return ResultXml("CreateAccessKey", Wrap("AccessKey", key));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccessKeys.html
Result<std::string> IamService::ListAccessKeys(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "ListAccessKeys", name));
  std::vector<AccessKeyRow> keys;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(keys,
                            r.credentials().ListAccessKeysForUser(ctx.scope.account, owner.name));
    return Status::Ok();
  }));
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&keys, page));
  std::string members;
  for (const auto& k : keys) {
    std::string m;
    if (!k.user_name.empty()) Add(&m, "UserName", k.user_name);
    Add(&m, "AccessKeyId", k.access_key_id);
    Add(&m, "Status", std::string(AccessKeyStatusName(k.status)));
    Add(&m, "CreateDate", Date(k.created_ms));
    members += Wrap("member", m);
  }
  return ResultXml("ListAccessKeys", Wrap("AccessKeyMetadata", members) + PageEndXml(end));
}

namespace {
Rule AccessKeyIdRule() {
  return {.required = true, .min_len = 16, .max_len = 128, .pattern = Pattern::kWord};
}
// A key is found only through the user (or root) it belongs to, as in AWS.
Status NoSuchAccessKey(const std::string& id) {
  return Status(ErrorCode::kNoSuchEntity, "The Access Key with id " + id + " cannot be found.");
}
bool KeyBelongsTo(const std::optional<AccessKeyRow>& key, const IamEntityRow& owner) {
  return key && key->account == owner.account && key->user_name == owner.name;
}
}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html
Result<std::string> IamService::UpdateAccessKey(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  auto id = in.String("AccessKeyId", AccessKeyIdRule());
  auto status = in.String("Status", {.required = true});
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::optional<AccessKeyStatus> new_status = ValueNamed(kAccessKeyStatusNames, *status);
  if (!new_status) {
    if (*status != "Expired") return EnumError("status", *status, "[Active, Inactive, Expired]");
    return InvalidInput("An access key can be made Active or Inactive.");
  }
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "UpdateAccessKey", name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto key, w.credentials().FindAccessKey(*id));
    if (!KeyBelongsTo(key, owner)) return NoSuchAccessKey(*id);
    return w.credentials().UpdateAccessKeyStatus(*id, *new_status);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteAccessKey.html
Result<std::string> IamService::DeleteAccessKey(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  auto id = in.String("AccessKeyId", AccessKeyIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "DeleteAccessKey", name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto key, w.credentials().FindAccessKey(*id));
    if (!KeyBelongsTo(key, owner)) return NoSuchAccessKey(*id);
    return w.credentials().DeleteAccessKey(*id);
  }));
  return std::string();
}

}  // namespace coffer::iam
