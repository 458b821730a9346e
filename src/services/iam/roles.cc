// IAM: roles and their trust policies.
#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "core/ids.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

namespace {
Rule DescriptionRule() { return {.max_len = 1000, .pattern = Pattern::kDescription}; }
}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
Result<std::string> IamService::CreateRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPath});
  auto trust = in.String("AssumeRolePolicyDocument", DocumentRule());
  auto description = in.String("Description", DescriptionRule());
  auto max_session = in.Int("MaxSessionDuration", 3600, 43200);
  auto boundary = in.String("PermissionsBoundary", ArnRule(false));
  auto tags = in.TagList("Tags", false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (boundary) return NoBoundaries();
  if (tags) COFFER_RETURN_IF_ERROR(CheckRequestTags(*tags));
  COFFER_RETURN_IF_ERROR(CheckTrustDocument(*trust));
  IamEntityRow row = NewEntity(ctx, kRole, *name, path.value_or("/"), Now(ctx, clock_));
  row.trust_policy = *trust;
  row.description = description.value_or("");
  row.max_session_seconds = max_session.value_or(3600);
  if (tags) row.tags = *tags;
  AuthzCheck check = Check("iam:CreateRole", row.arn);
  AddRequestTagKeys(row.tags, &check.context);
  COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  COFFER_RETURN_IF_ERROR(
      Commit([&](StoreWriter& w) -> Status { return InsertNewEntity(w, kRole, row); }));
  return ResultXml("CreateRole", Wrap("Role", RoleXml(row, /*with_tags=*/true)));
}

Result<std::string> IamService::GetRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow role, AuthorizedEntity(ctx, "GetRole", kRole, *name));
  return ResultXml("GetRole", Wrap("Role", RoleXml(role, /*with_tags=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html
Result<std::string> IamService::DeleteRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, "DeleteRole", kRole, *name, {}, [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
        COFFER_RETURN_IF_ERROR(CheckNothingAttached(w, kRole, fresh));
        return w.iam().DeleteEntity(fresh.account, kRole.kind, fresh.name);
      }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html
Result<std::string> IamService::UpdateAssumeRolePolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  auto trust = in.String("PolicyDocument", DocumentRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(CheckTrustDocument(*trust));
  COFFER_RETURN_IF_ERROR(ChangeEntity(ctx, "UpdateAssumeRolePolicy", kRole, *name, {},
                                      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
                                        fresh.trust_policy = *trust;
                                        return w.iam().UpdateEntity(fresh);
                                      }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateRole.html
Result<std::string> IamService::UpdateRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  auto description = in.String("Description", DescriptionRule());
  auto max_session = in.Int("MaxSessionDuration", 3600, 43200);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ChangeEntity(ctx, "UpdateRole", kRole, *name, {},
                                      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
                                        if (description) fresh.description = *description;
                                        if (max_session) fresh.max_session_seconds = *max_session;
                                        return w.iam().UpdateEntity(fresh);
                                      }));
  return ResultXml("UpdateRole", "");
}

}  // namespace coffer::iam
