#include "services/iam/iam_service.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <utility>

#include "auth/credential_registry.h"
#include "auth/sigv4.h"
#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "protocol/xml.h"
#include "services/iam/iam_common.h"
#include "services/sts/sts_service.h"

namespace coffer::iam {

IamService::IamService(Store* store, Keyring* keyring, const Clock* clock,
                       std::function<void()> on_identity_change)
    : store_(store),
      keyring_(keyring),
      clock_(clock),
      on_identity_change_(std::move(on_identity_change)) {}

Result<std::string> IamService::Handle(std::string_view action, const RequestContext& ctx,
                                       const std::map<std::string, std::string>& params) {
  // Credentials from GetSessionToken without MFA cannot call IAM.
  // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
  if (ctx.principal.temporary && ctx.principal.type != "AssumedRole") {
    ctx.authorized = true;
    return Status("InvalidClientTokenId", "The security token included in the request is invalid");
  }
  using Fn = Result<std::string> (*)(IamService*, const RequestContext&, const Params&);
#define COFFER_IAM(name, call)                                                            \
  {                                                                                       \
    name, [](IamService* s, const RequestContext& c, const Params& p) { return s->call; } \
  }
  static const std::map<std::string_view, Fn> kActions = {
      COFFER_IAM("CreateUser", CreateUser(c, p)),
      COFFER_IAM("GetUser", GetUser(c, p)),
      COFFER_IAM("ListUsers", ListEntities(c, p, kUser)),
      COFFER_IAM("DeleteUser", DeleteUser(c, p)),
      COFFER_IAM("TagUser", TagEntity(c, p, kUser)),
      COFFER_IAM("UntagUser", UntagEntity(c, p, kUser)),
      COFFER_IAM("ListUserTags", ListEntityTags(c, p, kUser)),
      COFFER_IAM("CreateAccessKey", CreateAccessKey(c, p)),
      COFFER_IAM("ListAccessKeys", ListAccessKeys(c, p)),
      COFFER_IAM("UpdateAccessKey", UpdateAccessKey(c, p)),
      COFFER_IAM("DeleteAccessKey", DeleteAccessKey(c, p)),
      COFFER_IAM("CreateRole", CreateRole(c, p)),
      COFFER_IAM("GetRole", GetRole(c, p)),
      COFFER_IAM("ListRoles", ListEntities(c, p, kRole)),
      COFFER_IAM("DeleteRole", DeleteRole(c, p)),
      COFFER_IAM("UpdateAssumeRolePolicy", UpdateAssumeRolePolicy(c, p)),
      COFFER_IAM("UpdateRole", UpdateRole(c, p)),
      COFFER_IAM("TagRole", TagEntity(c, p, kRole)),
      COFFER_IAM("UntagRole", UntagEntity(c, p, kRole)),
      COFFER_IAM("ListRoleTags", ListEntityTags(c, p, kRole)),
      COFFER_IAM("CreateGroup", CreateGroup(c, p)),
      COFFER_IAM("GetGroup", GetGroup(c, p)),
      COFFER_IAM("ListGroups", ListEntities(c, p, kGroup)),
      COFFER_IAM("DeleteGroup", DeleteGroup(c, p)),
      COFFER_IAM("AddUserToGroup", AddUserToGroup(c, p)),
      COFFER_IAM("RemoveUserFromGroup", RemoveUserFromGroup(c, p)),
      COFFER_IAM("ListGroupsForUser", ListGroupsForUser(c, p)),
      COFFER_IAM("PutUserPolicy", PutInlinePolicy(c, p, kUser)),
      COFFER_IAM("GetUserPolicy", GetInlinePolicy(c, p, kUser)),
      COFFER_IAM("DeleteUserPolicy", DeleteInlinePolicy(c, p, kUser)),
      COFFER_IAM("ListUserPolicies", ListInlinePolicies(c, p, kUser)),
      COFFER_IAM("PutRolePolicy", PutInlinePolicy(c, p, kRole)),
      COFFER_IAM("GetRolePolicy", GetInlinePolicy(c, p, kRole)),
      COFFER_IAM("DeleteRolePolicy", DeleteInlinePolicy(c, p, kRole)),
      COFFER_IAM("ListRolePolicies", ListInlinePolicies(c, p, kRole)),
      COFFER_IAM("PutGroupPolicy", PutInlinePolicy(c, p, kGroup)),
      COFFER_IAM("GetGroupPolicy", GetInlinePolicy(c, p, kGroup)),
      COFFER_IAM("DeleteGroupPolicy", DeleteInlinePolicy(c, p, kGroup)),
      COFFER_IAM("ListGroupPolicies", ListInlinePolicies(c, p, kGroup)),
      COFFER_IAM("AttachUserPolicy", AttachPolicy(c, p, kUser)),
      COFFER_IAM("DetachUserPolicy", DetachPolicy(c, p, kUser)),
      COFFER_IAM("ListAttachedUserPolicies", ListAttachedPolicies(c, p, kUser)),
      COFFER_IAM("AttachRolePolicy", AttachPolicy(c, p, kRole)),
      COFFER_IAM("DetachRolePolicy", DetachPolicy(c, p, kRole)),
      COFFER_IAM("ListAttachedRolePolicies", ListAttachedPolicies(c, p, kRole)),
      COFFER_IAM("AttachGroupPolicy", AttachPolicy(c, p, kGroup)),
      COFFER_IAM("DetachGroupPolicy", DetachPolicy(c, p, kGroup)),
      COFFER_IAM("ListAttachedGroupPolicies", ListAttachedPolicies(c, p, kGroup)),
      COFFER_IAM("CreatePolicy", CreatePolicy(c, p)),
      COFFER_IAM("GetPolicy", GetPolicy(c, p)),
      COFFER_IAM("DeletePolicy", DeletePolicy(c, p)),
      COFFER_IAM("ListPolicies", ListPolicies(c, p)),
      COFFER_IAM("CreatePolicyVersion", CreatePolicyVersion(c, p)),
      COFFER_IAM("GetPolicyVersion", GetPolicyVersion(c, p)),
      COFFER_IAM("ListPolicyVersions", ListPolicyVersions(c, p)),
      COFFER_IAM("DeletePolicyVersion", DeletePolicyVersion(c, p)),
      COFFER_IAM("SetDefaultPolicyVersion", SetDefaultPolicyVersion(c, p)),
      COFFER_IAM("SimulateCustomPolicy", SimulateCustomPolicy(c, p)),
      COFFER_IAM("SimulatePrincipalPolicy", SimulatePrincipalPolicy(c, p)),
  };
#undef COFFER_IAM
  auto it = kActions.find(action);
  if (it == kActions.end()) {
    return Status("InvalidAction", "Could not find operation " + std::string(action) +
                                       " for version 2010-05-08 in coffer's IAM.");
  }
  return it->second(this, ctx, params);
}

Status IamService::Commit(const std::function<Status(StoreWriter&)>& fn) {
  COFFER_RETURN_IF_ERROR(store_->Write(fn));
  if (on_identity_change_) on_identity_change_();
  return Status::Ok();
}

Result<IamEntityRow> IamService::AuthorizedEntity(const RequestContext& ctx,
                                                  const std::string& action, const EntityKind& kind,
                                                  const std::string& name, const Context& context) {
  std::optional<IamEntityRow> row;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(row, r.iam().FindEntity(ctx.scope.account, kind.kind, name));
    return Status::Ok();
  }));
  AuthzCheck check =
      Check("iam:" + action, row ? row->arn : EntityArn(ctx.scope.account, kind, "/", name));
  check.context = context;
  if (row) AddResourceTagContext(*row, &check.context);
  COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  if (!row) return NoSuchEntity(kind, name);
  return std::move(*row);
}

Result<IamEntityRow> IamService::AuthorizedKeyOwner(const RequestContext& ctx,
                                                    const std::string& action,
                                                    const std::optional<std::string>& user_name) {
  if (user_name) return AuthorizedEntity(ctx, action, kUser, *user_name);
  // Without UserName the caller means itself.
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
  if (ctx.principal.type == "Root") {
    COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:" + action, RootArn(ctx.scope.account))));
    IamEntityRow root;
    root.kind = "user";
    root.account = ctx.scope.account;
    root.id = ctx.scope.account;
    root.arn = RootArn(ctx.scope.account);
    return root;
  }
  if (ctx.principal.type == "IAMUser" && !ctx.principal.user_name.empty()) {
    return AuthorizedEntity(ctx, action, kUser, ctx.principal.user_name);
  }
  return Status("ValidationError", "Must specify userName when calling with non-User credentials");
}

Result<IamPolicyRow> IamService::AuthorizedPolicy(const RequestContext& ctx,
                                                  const std::string& action,
                                                  const std::string& arn) {
  auto parts = ParsePolicyArn(arn);
  if (!parts) return NotValidArn(arn);
  std::optional<IamPolicyRow> row;
  if (parts->account == ctx.scope.account) {
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(row, r.iam().FindManagedPolicy(arn));
      return Status::Ok();
    }));
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:" + action, arn)));
  if (!row || row->account != ctx.scope.account) return PolicyNotFound(arn);
  return std::move(*row);
}

}  // namespace coffer::iam
