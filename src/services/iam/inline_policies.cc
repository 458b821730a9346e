// IAM: inline policies of users, roles and groups.
#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html
Result<std::string> IamService::PutInlinePolicy(const RequestContext& ctx, const Params& p,
                                                const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto policy_name = in.String("PolicyName", NameRule(128));
  auto document = in.String("PolicyDocument", DocumentRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseDocument(*document, policy::PolicyKind::kIdentity));
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, std::string("Put") + kind.title + "Policy", kind, *owner, {},
      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
        // The quota is on the sum of an entity's inline policies; the one replaced does not count.
        COFFER_ASSIGN_OR_RETURN(auto existing,
                                w.iam().ListInlinePolicies(fresh.account, kind.kind, fresh.name));
        size_t total = PolicySize(*document);
        for (const auto& [n, doc] : existing) {
          if (n != *policy_name) total += PolicySize(doc);
        }
        if (total > kind.inline_quota) {
          return Status(ErrorCode::kLimitExceeded,
                        "Maximum policy size of " + std::to_string(kind.inline_quota) +
                            " bytes exceeded for " + std::string(IamEntityKindName(kind.kind)) +
                            " " + fresh.name);
        }
        return w.iam().PutInlinePolicy(fresh.account, kind.kind, fresh.name, *policy_name,
                                       *document);
      }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUserPolicy.html
Result<std::string> IamService::GetInlinePolicy(const RequestContext& ctx, const Params& p,
                                                const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto policy_name = in.String("PolicyName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::string action = std::string("Get") + kind.title + "Policy";
  COFFER_ASSIGN_OR_RETURN(IamEntityRow entity, AuthorizedEntity(ctx, action, kind, *owner));
  std::optional<std::string> document;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        document, r.iam().GetInlinePolicy(entity.account, kind.kind, entity.name, *policy_name));
    return Status::Ok();
  }));
  if (!document) {
    return Status(ErrorCode::kNoSuchEntity,
                  std::string("The ") + std::string(IamEntityKindName(kind.kind)) +
                      " policy with name " + *policy_name + " cannot be found.");
  }
  std::string out;
  Add(&out, kind.name_param, entity.name);
  Add(&out, "PolicyName", *policy_name);
  out += "<PolicyDocument>" + EncodedDocument(*document) + "</PolicyDocument>";
  return ResultXml(action, out);
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUserPolicy.html
Result<std::string> IamService::DeleteInlinePolicy(const RequestContext& ctx, const Params& p,
                                                   const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto policy_name = in.String("PolicyName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, std::string("Delete") + kind.title + "Policy", kind, *owner, {},
      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
        COFFER_ASSIGN_OR_RETURN(auto document, w.iam().GetInlinePolicy(fresh.account, kind.kind,
                                                                       fresh.name, *policy_name));
        if (!document) {
          return Status(ErrorCode::kNoSuchEntity,
                        std::string("The ") + std::string(IamEntityKindName(kind.kind)) +
                            " policy with name " + *policy_name + " cannot be found.");
        }
        return w.iam().DeleteInlinePolicy(fresh.account, kind.kind, fresh.name, *policy_name);
      }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUserPolicies.html
Result<std::string> IamService::ListInlinePolicies(const RequestContext& ctx, const Params& p,
                                                   const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::string action = std::string("List") + kind.title + "Policies";
  COFFER_ASSIGN_OR_RETURN(IamEntityRow entity, AuthorizedEntity(ctx, action, kind, *owner));
  std::vector<std::pair<std::string, std::string>> policies;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(policies,
                            r.iam().ListInlinePolicies(entity.account, kind.kind, entity.name));
    return Status::Ok();
  }));
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&policies, page));
  std::string names;
  for (const auto& [name, document] : policies) Add(&names, "member", name);
  return ResultXml(action, Wrap("PolicyNames", names) + PageEndXml(end));
}

}  // namespace coffer::iam
