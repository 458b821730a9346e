// IAM: groups and their members.
#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "core/ids.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html
Result<std::string> IamService::CreateGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("GroupName", NameRule(kGroup.max_name));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPath});
  COFFER_RETURN_IF_ERROR(in.Finish());
  IamEntityRow row = NewEntity(ctx, kGroup, *name, path.value_or("/"), Now(ctx, clock_));
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:CreateGroup", row.arn)));
  COFFER_RETURN_IF_ERROR(
      Commit([&](StoreWriter& w) -> Status { return InsertNewEntity(w, kGroup, row); }));
  return ResultXml("CreateGroup", Wrap("Group", GroupXml(row)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetGroup.html
Result<std::string> IamService::GetGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("GroupName", NameRule(kGroup.max_name));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow group, AuthorizedEntity(ctx, "GetGroup", kGroup, *name));
  std::vector<IamEntityRow> users;
  PageEnd end;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto members, r.iam().ListGroupMembers(group.account, group.name));
    COFFER_ASSIGN_OR_RETURN(end, SliceByOffset(&members, page));
    for (const auto& member : members) {
      COFFER_ASSIGN_OR_RETURN(auto user, r.iam().FindEntity(group.account, kUser.kind, member));
      if (user) users.push_back(std::move(*user));
    }
    return Status::Ok();
  }));
  std::string members;
  for (const auto& u : users) members += Wrap("member", UserXml(u, /*with_tags=*/false));
  return ResultXml("GetGroup",
                   Wrap("Group", GroupXml(group)) + Wrap("Users", members) + PageEndXml(end));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteGroup.html
Result<std::string> IamService::DeleteGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("GroupName", NameRule(kGroup.max_name));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, "DeleteGroup", kGroup, *name, {}, [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
        COFFER_ASSIGN_OR_RETURN(auto members, w.iam().ListGroupMembers(fresh.account, fresh.name));
        if (!members.empty()) {
          return DeleteConflict("Cannot delete entity, must remove users from group first.");
        }
        COFFER_RETURN_IF_ERROR(CheckNothingAttached(w, kGroup, fresh));
        return w.iam().DeleteEntity(fresh.account, kGroup.kind, fresh.name);
      }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddUserToGroup.html
Result<std::string> IamService::AddUserToGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto group_name = in.String("GroupName", NameRule(kGroup.max_name));
  auto user_name = in.String("UserName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow group,
                          AuthorizedEntity(ctx, "AddUserToGroup", kGroup, *group_name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow g, FreshEntity(w, ctx.scope.account, kGroup, *group_name));
    COFFER_ASSIGN_OR_RETURN(IamEntityRow u, FreshEntity(w, ctx.scope.account, kUser, *user_name));
    COFFER_ASSIGN_OR_RETURN(auto groups, w.iam().ListGroupsForUser(u.account, u.name));
    for (const auto& existing : groups) {
      if (EqualsIgnoreCase(existing, g.name)) return Status::Ok();  // already a member
    }
    if (groups.size() >= kMaxGroupsPerUser) {
      return Status(ErrorCode::kLimitExceeded,
                    "Cannot exceed quota for GroupsPerUser: " + std::to_string(kMaxGroupsPerUser));
    }
    return w.iam().AddUserToGroup(g.account, g.name, u.name);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_RemoveUserFromGroup.html
Result<std::string> IamService::RemoveUserFromGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto group_name = in.String("GroupName", NameRule(kGroup.max_name));
  auto user_name = in.String("UserName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow group,
                          AuthorizedEntity(ctx, "RemoveUserFromGroup", kGroup, *group_name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow g, FreshEntity(w, ctx.scope.account, kGroup, *group_name));
    COFFER_ASSIGN_OR_RETURN(IamEntityRow u, FreshEntity(w, ctx.scope.account, kUser, *user_name));
    COFFER_ASSIGN_OR_RETURN(auto groups, w.iam().ListGroupsForUser(u.account, u.name));
    bool member = std::any_of(groups.begin(), groups.end(),
                              [&](const std::string& n) { return EqualsIgnoreCase(n, g.name); });
    if (!member) {
      return Status(ErrorCode::kNoSuchEntity,
                    "The user with name " + u.name + " is not in group " + g.name + ".");
    }
    return w.iam().RemoveUserFromGroup(g.account, g.name, u.name);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListGroupsForUser.html
Result<std::string> IamService::ListGroupsForUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow user,
                          AuthorizedEntity(ctx, "ListGroupsForUser", kUser, *name));
  std::vector<IamEntityRow> groups;
  PageEnd end;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto names, r.iam().ListGroupsForUser(user.account, user.name));
    COFFER_ASSIGN_OR_RETURN(end, SliceByOffset(&names, page));
    for (const auto& n : names) {
      COFFER_ASSIGN_OR_RETURN(auto group, r.iam().FindEntity(user.account, kGroup.kind, n));
      if (group) groups.push_back(std::move(*group));
    }
    return Status::Ok();
  }));
  std::string members;
  for (const auto& g : groups) members += Wrap("member", GroupXml(g));
  return ResultXml("ListGroupsForUser", Wrap("Groups", members) + PageEndXml(end));
}

}  // namespace coffer::iam
