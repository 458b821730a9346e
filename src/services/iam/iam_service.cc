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
#include "protocol/operation_table.h"
#include "protocol/page_token.h"
#include "protocol/xml.h"
#include "services/iam/iam_common.h"
#include "services/sts/sts_service.h"

namespace coffer::iam {

IamService::IamService(Store* store, Keyring* keyring, const Clock* clock)
    : store_(store), keyring_(keyring), clock_(clock) {}

Result<std::string> IamService::Handle(std::string_view action, const RequestContext& ctx,
                                       const std::map<std::string, std::string>& params) {
  // Credentials from GetSessionToken without MFA cannot call IAM.
  // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
  if (ctx.principal.temporary && ctx.principal.type != PrincipalType::kAssumedRole) {
    return Status(ErrorCode::kInvalidClientTokenId,
                  "The security token included in the request is invalid");
  }
  static const OperationTable<IamService, Params, std::string> kOperations = {
      {"CreateUser", &IamService::CreateUser},
      {"GetUser", &IamService::GetUser},
      {"ListUsers", [](IamService& s, const RequestContext& c,
                       const Params& p) { return s.ListEntities(c, p, kUser); }},
      {"DeleteUser", &IamService::DeleteUser},
      {"TagUser", [](IamService& s, const RequestContext& c,
                     const Params& p) { return s.TagEntity(c, p, kUser); }},
      {"UntagUser", [](IamService& s, const RequestContext& c,
                       const Params& p) { return s.UntagEntity(c, p, kUser); }},
      {"ListUserTags", [](IamService& s, const RequestContext& c,
                          const Params& p) { return s.ListEntityTags(c, p, kUser); }},
      {"CreateAccessKey", &IamService::CreateAccessKey},
      {"ListAccessKeys", &IamService::ListAccessKeys},
      {"UpdateAccessKey", &IamService::UpdateAccessKey},
      {"DeleteAccessKey", &IamService::DeleteAccessKey},
      {"CreateRole", &IamService::CreateRole},
      {"GetRole", &IamService::GetRole},
      {"ListRoles", [](IamService& s, const RequestContext& c,
                       const Params& p) { return s.ListEntities(c, p, kRole); }},
      {"DeleteRole", &IamService::DeleteRole},
      {"UpdateAssumeRolePolicy", &IamService::UpdateAssumeRolePolicy},
      {"UpdateRole", &IamService::UpdateRole},
      {"TagRole", [](IamService& s, const RequestContext& c,
                     const Params& p) { return s.TagEntity(c, p, kRole); }},
      {"UntagRole", [](IamService& s, const RequestContext& c,
                       const Params& p) { return s.UntagEntity(c, p, kRole); }},
      {"ListRoleTags", [](IamService& s, const RequestContext& c,
                          const Params& p) { return s.ListEntityTags(c, p, kRole); }},
      {"CreateGroup", &IamService::CreateGroup},
      {"GetGroup", &IamService::GetGroup},
      {"ListGroups", [](IamService& s, const RequestContext& c,
                        const Params& p) { return s.ListEntities(c, p, kGroup); }},
      {"DeleteGroup", &IamService::DeleteGroup},
      {"AddUserToGroup", &IamService::AddUserToGroup},
      {"RemoveUserFromGroup", &IamService::RemoveUserFromGroup},
      {"ListGroupsForUser", &IamService::ListGroupsForUser},
      {"PutUserPolicy", [](IamService& s, const RequestContext& c,
                           const Params& p) { return s.PutInlinePolicy(c, p, kUser); }},
      {"GetUserPolicy", [](IamService& s, const RequestContext& c,
                           const Params& p) { return s.GetInlinePolicy(c, p, kUser); }},
      {"DeleteUserPolicy", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.DeleteInlinePolicy(c, p, kUser); }},
      {"ListUserPolicies", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.ListInlinePolicies(c, p, kUser); }},
      {"PutRolePolicy", [](IamService& s, const RequestContext& c,
                           const Params& p) { return s.PutInlinePolicy(c, p, kRole); }},
      {"GetRolePolicy", [](IamService& s, const RequestContext& c,
                           const Params& p) { return s.GetInlinePolicy(c, p, kRole); }},
      {"DeleteRolePolicy", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.DeleteInlinePolicy(c, p, kRole); }},
      {"ListRolePolicies", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.ListInlinePolicies(c, p, kRole); }},
      {"PutGroupPolicy", [](IamService& s, const RequestContext& c,
                            const Params& p) { return s.PutInlinePolicy(c, p, kGroup); }},
      {"GetGroupPolicy", [](IamService& s, const RequestContext& c,
                            const Params& p) { return s.GetInlinePolicy(c, p, kGroup); }},
      {"DeleteGroupPolicy", [](IamService& s, const RequestContext& c,
                               const Params& p) { return s.DeleteInlinePolicy(c, p, kGroup); }},
      {"ListGroupPolicies", [](IamService& s, const RequestContext& c,
                               const Params& p) { return s.ListInlinePolicies(c, p, kGroup); }},
      {"AttachUserPolicy", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.AttachPolicy(c, p, kUser); }},
      {"DetachUserPolicy", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.DetachPolicy(c, p, kUser); }},
      {"ListAttachedUserPolicies",
       [](IamService& s, const RequestContext& c, const Params& p) {
         return s.ListAttachedPolicies(c, p, kUser);
       }},
      {"AttachRolePolicy", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.AttachPolicy(c, p, kRole); }},
      {"DetachRolePolicy", [](IamService& s, const RequestContext& c,
                              const Params& p) { return s.DetachPolicy(c, p, kRole); }},
      {"ListAttachedRolePolicies",
       [](IamService& s, const RequestContext& c, const Params& p) {
         return s.ListAttachedPolicies(c, p, kRole);
       }},
      {"AttachGroupPolicy", [](IamService& s, const RequestContext& c,
                               const Params& p) { return s.AttachPolicy(c, p, kGroup); }},
      {"DetachGroupPolicy", [](IamService& s, const RequestContext& c,
                               const Params& p) { return s.DetachPolicy(c, p, kGroup); }},
      {"ListAttachedGroupPolicies",
       [](IamService& s, const RequestContext& c, const Params& p) {
         return s.ListAttachedPolicies(c, p, kGroup);
       }},
      {"CreatePolicy", &IamService::CreatePolicy},
      {"GetPolicy", &IamService::GetPolicy},
      {"DeletePolicy", &IamService::DeletePolicy},
      {"ListPolicies", &IamService::ListPolicies},
      {"CreatePolicyVersion", &IamService::CreatePolicyVersion},
      {"GetPolicyVersion", &IamService::GetPolicyVersion},
      {"ListPolicyVersions", &IamService::ListPolicyVersions},
      {"DeletePolicyVersion", &IamService::DeletePolicyVersion},
      {"SetDefaultPolicyVersion", &IamService::SetDefaultPolicyVersion},
      {"SimulateCustomPolicy", &IamService::SimulateCustomPolicy},
      {"SimulatePrincipalPolicy", &IamService::SimulatePrincipalPolicy},
  };
  if (auto answer = kOperations.Run(*this, action, ctx, params)) return std::move(*answer);
  return Status(ErrorCode::kInvalidAction, "Could not find operation " + std::string(action) +
                                               " for version 2010-05-08 in coffer's IAM.");
}

Status IamService::Commit(const std::function<Status(StoreWriter&)>& fn) {
  // Counted as an identity write, so every node's identity caches miss from now on.
  return store_->WriteIdentity(fn);
}

Status IamService::ChangeEntity(const RequestContext& ctx, const std::string& action,
                                const EntityKind& kind, const std::string& name,
                                const Context& context,
                                const std::function<Status(StoreWriter&, IamEntityRow&)>& change) {
  COFFER_ASSIGN_OR_RETURN(IamEntityRow authorized,
                          AuthorizedEntity(ctx, action, kind, name, context));
  return Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kind, name));
    // The permission was granted for the entity as read above (its id and resource tags); one
    // deleted and created again, or retagged, since then must be authorized afresh.
    if (fresh.id != authorized.id || fresh.tags != authorized.tags) {
      return Status(ErrorCode::kConcurrentModification,
                    "The entity changed while the request was served; retry the request.");
    }
    return change(w, fresh);
  });
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
  if (ctx.principal.type == PrincipalType::kRoot) {
    COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:" + action, RootArn(ctx.scope.account))));
    IamEntityRow root;
    root.kind = IamEntityKind::kUser;
    root.account = ctx.scope.account;
    root.id = ctx.scope.account;
    root.arn = RootArn(ctx.scope.account);
    return root;
  }
  if (ctx.principal.type == PrincipalType::kIamUser && !ctx.principal.user_name.empty()) {
    return AuthorizedEntity(ctx, action, kUser, ctx.principal.user_name);
  }
  return Status(ErrorCode::kValidationError,
                "Must specify userName when calling with non-User credentials");
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
