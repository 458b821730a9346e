// IAM: users (CreateUser, GetUser, DeleteUser).
#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
Result<std::string> IamService::CreateUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(kUser.max_name));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPath});
  auto boundary = in.String("PermissionsBoundary", ArnRule(false));
  auto tags = in.TagList("Tags", false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (boundary) return NoBoundaries();
  if (tags) COFFER_RETURN_IF_ERROR(CheckRequestTags(*tags));
  IamEntityRow row = NewEntity(ctx, kUser, *name, path.value_or("/"), Now(ctx, clock_));
  if (tags) row.tags = *tags;
  AuthzCheck check = Check("iam:CreateUser", row.arn);
  AddRequestTagKeys(row.tags, &check.context);
  COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  COFFER_RETURN_IF_ERROR(
      Commit([&](StoreWriter& w) -> Status { return InsertNewEntity(w, kUser, row); }));
  return ResultXml("CreateUser", Wrap("User", UserXml(row, /*with_tags=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUser.html
Result<std::string> IamService::GetUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!name && ctx.principal.type == PrincipalType::kRoot) {
    // The account root is no IAM user: AWS describes it by the account id and root ARN only.
    COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:GetUser", RootArn(ctx.scope.account))));
    std::string user;
    Add(&user, "UserId", ctx.scope.account);
    Add(&user, "Arn", RootArn(ctx.scope.account));
    return ResultXml("GetUser", Wrap("User", user));
  }
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "GetUser", name));
  return ResultXml("GetUser", Wrap("User", UserXml(owner, /*with_tags=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
Result<std::string> IamService::DeleteUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, "DeleteUser", kUser, *name, {}, [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
        COFFER_ASSIGN_OR_RETURN(auto keys,
                                w.credentials().ListAccessKeysForUser(fresh.account, fresh.name));
        if (!keys.empty())
          return DeleteConflict("Cannot delete entity, must delete access keys first.");
        COFFER_RETURN_IF_ERROR(CheckNothingAttached(w, kUser, fresh));
        COFFER_ASSIGN_OR_RETURN(auto groups, w.iam().ListGroupsForUser(fresh.account, fresh.name));
        if (!groups.empty()) {
          return DeleteConflict("Cannot delete entity, must remove user from all groups first.");
        }
        return w.iam().DeleteEntity(fresh.account, kUser.kind, fresh.name);
      }));
  return std::string();
}

}  // namespace coffer::iam
