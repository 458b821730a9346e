// IAM: customer managed policies, their versions and attachments.
#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "core/ids.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

namespace {

// Attach*Policy's and Detach*Policy's input: the entity and a valid policy ARN. iam:PolicyARN
// then lets a policy say which policies may be attached.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html
Status ReadAttachment(const std::map<std::string, std::string>& p, const EntityKind& kind,
                      std::optional<std::string>* owner, std::optional<std::string>* arn) {
  QueryInput in(p);
  *owner = in.String(kind.name_param, NameRule(kind.max_name));
  *arn = in.String("PolicyArn", ArnRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!ParsePolicyArn(**arn)) return NotValidArn(**arn);
  return Status::Ok();
}

}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachUserPolicy.html
Result<std::string> IamService::AttachPolicy(const RequestContext& ctx, const Params& p,
                                             const EntityKind& kind) {
  std::optional<std::string> owner, arn;
  COFFER_RETURN_IF_ERROR(ReadAttachment(p, kind, &owner, &arn));
  Context context{{"iam:policyarn", {*arn}}};
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, std::string("Attach") + kind.title + "Policy", kind, *owner, context,
      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
        COFFER_ASSIGN_OR_RETURN(auto policy, w.iam().FindManagedPolicy(*arn));
        if (!policy || policy->account != ctx.scope.account) return PolicyNotFound(*arn);
        COFFER_ASSIGN_OR_RETURN(auto attached,
                                w.iam().ListAttachedPolicies(fresh.account, kind.kind, fresh.name));
        if (std::find(attached.begin(), attached.end(), *arn) != attached.end()) {
          return Status::Ok();  // attaching again changes nothing, as in AWS
        }
        if (attached.size() >= kMaxAttachedPolicies) {
          return Status(ErrorCode::kLimitExceeded, std::string("Cannot exceed quota for ") +
                                                       kind.attached_quota + ": " +
                                                       std::to_string(kMaxAttachedPolicies));
        }
        return w.iam().AttachPolicy(fresh.account, kind.kind, fresh.name, *arn);
      }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DetachUserPolicy.html
Result<std::string> IamService::DetachPolicy(const RequestContext& ctx, const Params& p,
                                             const EntityKind& kind) {
  std::optional<std::string> owner, arn;
  COFFER_RETURN_IF_ERROR(ReadAttachment(p, kind, &owner, &arn));
  Context context{{"iam:policyarn", {*arn}}};
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, std::string("Detach") + kind.title + "Policy", kind, *owner, context,
      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
        COFFER_ASSIGN_OR_RETURN(auto attached,
                                w.iam().ListAttachedPolicies(fresh.account, kind.kind, fresh.name));
        if (std::find(attached.begin(), attached.end(), *arn) == attached.end()) {
          return Status(ErrorCode::kNoSuchEntity, "Policy " + *arn + " was not found.");
        }
        return w.iam().DetachPolicy(fresh.account, kind.kind, fresh.name, *arn);
      }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedUserPolicies.html
Result<std::string> IamService::ListAttachedPolicies(const RequestContext& ctx, const Params& p,
                                                     const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(kind.max_name));
  auto prefix =
      in.String("PathPrefix", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPolicyPath});
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::string action = std::string("ListAttached") + kind.title + "Policies";
  COFFER_ASSIGN_OR_RETURN(IamEntityRow entity, AuthorizedEntity(ctx, action, kind, *owner));
  std::vector<PolicyArnParts> policies;
  std::vector<std::string> arns;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(arns,
                            r.iam().ListAttachedPolicies(entity.account, kind.kind, entity.name));
    return Status::Ok();
  }));
  std::erase_if(arns, [&](const std::string& arn) {
    auto parts = ParsePolicyArn(arn);
    return !parts || (prefix && parts->path.rfind(*prefix, 0) != 0);
  });
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&arns, page));
  std::string members;
  for (const auto& arn : arns) {
    std::string m;
    Add(&m, "PolicyName", ParsePolicyArn(arn)->name);
    Add(&m, "PolicyArn", arn);
    members += Wrap("member", m);
  }
  return ResultXml(action, Wrap("AttachedPolicies", members) + PageEndXml(end));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
Result<std::string> IamService::CreatePolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("PolicyName", NameRule(128));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPolicyPath});
  auto document = in.String("PolicyDocument", DocumentRule());
  auto description = in.String("Description", {.max_len = 1000});
  auto tags = in.TagList("Tags", false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (tags && !tags->empty()) {
    return InvalidInput(
        "coffer does not keep tags on managed policies; create the policy "
        "without Tags.");
  }
  COFFER_RETURN_IF_ERROR(CheckManagedDocument(*document));
  const EpochMillis now = Now(ctx, clock_);
  IamPolicyRow row;
  row.path = path.value_or("/");
  row.name = *name;
  row.arn = ManagedPolicyArn(ctx.scope.account, row.path, row.name);
  row.account = ctx.scope.account;
  row.id = NewIamId("ANPA");
  row.description = description.value_or("");
  row.default_version = 1;
  row.next_version = 2;
  row.created_ms = now;
  row.updated_ms = now;
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:CreatePolicy", row.arn)));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(bool taken, PolicyNameTaken(w, row.account, row.name));
    if (taken) {
      return Status(ErrorCode::kEntityAlreadyExists, "A policy called " + row.name +
                                                         " already exists. Duplicate names are not "
                                                         "allowed.");
    }
    COFFER_RETURN_IF_ERROR(w.iam().InsertManagedPolicy(row));
    return w.iam().InsertPolicyVersion({row.arn, 1, *document, now});
  }));
  return ResultXml("CreatePolicy", Wrap("Policy", PolicyXml(row, 0, /*with_description=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicy.html
Result<std::string> IamService::GetPolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "GetPolicy", *arn));
  int64_t attachments = 0;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(attachments, r.iam().CountPolicyAttachments(policy.arn));
    return Status::Ok();
  }));
  return ResultXml("GetPolicy",
                   Wrap("Policy", PolicyXml(policy, attachments, /*with_description=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html
Result<std::string> IamService::DeletePolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "DeletePolicy", *arn));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    COFFER_ASSIGN_OR_RETURN(int64_t attachments, w.iam().CountPolicyAttachments(policy.arn));
    if (attachments > 0) return DeleteConflict("Cannot delete a policy attached to entities.");
    COFFER_ASSIGN_OR_RETURN(auto versions, w.iam().ListPolicyVersions(policy.arn));
    if (versions.size() > 1) {
      return DeleteConflict(
          "This policy has more than one version. Before you delete a policy, you must delete "
          "the policy's versions. The default version is deleted with the policy.");
    }
    return w.iam().DeleteManagedPolicy(policy.arn);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicies.html
Result<std::string> IamService::ListPolicies(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto scope = in.String("Scope", {});
  auto only_attached = in.Bool("OnlyAttached");
  auto prefix =
      in.String("PathPrefix", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPolicyPath});
  auto usage = in.String("PolicyUsageFilter", {});
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (scope && *scope != "All" && *scope != "AWS" && *scope != "Local") {
    return EnumError("scope", *scope, "[All, AWS, Local]");
  }
  if (usage && *usage != "PermissionsPolicy" && *usage != "PermissionsBoundary") {
    return EnumError("policyUsageFilter", *usage, "[PermissionsPolicy, PermissionsBoundary]");
  }
  COFFER_ASSIGN_OR_RETURN(std::string after, DecodeMarker(page.marker));
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:ListPolicies", "*")));
  // coffer has only customer managed policies, and none serves as a permissions boundary.
  const bool none = (scope && *scope == "AWS") || (usage && *usage == "PermissionsBoundary");
  std::vector<std::pair<IamPolicyRow, int64_t>> rows;
  bool more = false;
  if (!none) {
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      const int batch = static_cast<int>(page.max_items) + 1;
      for (;;) {
        COFFER_ASSIGN_OR_RETURN(
            auto policies,
            r.iam().ListManagedPolicies(ctx.scope.account, prefix.value_or("/"), after, batch));
        for (auto& policy : policies) {
          COFFER_ASSIGN_OR_RETURN(int64_t count, r.iam().CountPolicyAttachments(policy.arn));
          after = policy.name;
          if (only_attached.value_or(false) && count == 0) continue;
          if (rows.size() == page.max_items) {
            more = true;
            return Status::Ok();
          }
          rows.emplace_back(std::move(policy), count);
        }
        if (policies.size() < static_cast<size_t>(batch)) return Status::Ok();
      }
    }));
  }
  PageEnd end;
  if (more) {
    end.truncated = true;
    end.marker = EncodeMarker(rows.back().first.name);
  }
  std::string members;
  for (const auto& [policy, count] : rows) {
    members += Wrap("member", PolicyXml(policy, count, /*with_description=*/false));
  }
  return ResultXml("ListPolicies", Wrap("Policies", members) + PageEndXml(end));
}

namespace {
Rule VersionIdRule() { return {.required = true, .pattern = Pattern::kVersionId}; }

std::string PolicyVersionXml(const IamPolicyVersionRow& v, bool is_default, bool with_document) {
  std::string out;
  if (with_document) out += "<Document>" + EncodedDocument(v.document) + "</Document>";
  Add(&out, "VersionId", VersionId(v.version));
  Add(&out, "IsDefaultVersion", is_default ? "true" : "false");
  Add(&out, "CreateDate", Date(v.created_ms));
  return out;
}
}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html
Result<std::string> IamService::CreatePolicyVersion(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto document = in.String("PolicyDocument", DocumentRule());
  auto set_default = in.Bool("SetAsDefault");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(CheckManagedDocument(*document));
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "CreatePolicyVersion", *arn));
  IamPolicyVersionRow version;
  bool is_default = false;
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    COFFER_ASSIGN_OR_RETURN(auto versions, w.iam().ListPolicyVersions(policy.arn));
    if (versions.size() >= kMaxPolicyVersions) {
      return Status(ErrorCode::kLimitExceeded,
                    "A managed policy can have up to " + std::to_string(kMaxPolicyVersions) +
                        " versions. Before you create a new version, you must delete an "
                        "existing version.");
    }
    const EpochMillis now = Now(ctx, clock_);
    version = {fresh->arn, fresh->next_version, *document, now};
    COFFER_RETURN_IF_ERROR(w.iam().InsertPolicyVersion(version));
    fresh->next_version += 1;
    // UpdateDate is when the newest version was created, default or not.
    fresh->updated_ms = now;
    if (set_default.value_or(false)) fresh->default_version = version.version;
    is_default = fresh->default_version == version.version;
    return w.iam().UpdateManagedPolicy(*fresh);
  }));
  return ResultXml("CreatePolicyVersion",
                   Wrap("PolicyVersion", PolicyVersionXml(version, is_default, false)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicyVersion.html
Result<std::string> IamService::GetPolicyVersion(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto version_id = in.String("VersionId", VersionIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "GetPolicyVersion", *arn));
  auto number = ParseVersionId(*version_id);
  std::optional<IamPolicyVersionRow> version;
  if (number) {
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(version, r.iam().GetPolicyVersion(policy.arn, *number));
      return Status::Ok();
    }));
  }
  if (!version) return VersionNotFound(policy.arn, *version_id);
  return ResultXml(
      "GetPolicyVersion",
      Wrap("PolicyVersion", PolicyVersionXml(*version, version->version == policy.default_version,
                                             /*with_document=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicyVersions.html
Result<std::string> IamService::ListPolicyVersions(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "ListPolicyVersions", *arn));
  std::vector<IamPolicyVersionRow> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(versions, r.iam().ListPolicyVersions(policy.arn));
    return Status::Ok();
  }));
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&versions, page));
  std::string members;
  for (const auto& v : versions) {
    members += Wrap("member", PolicyVersionXml(v, v.version == policy.default_version, false));
  }
  return ResultXml("ListPolicyVersions", Wrap("Versions", members) + PageEndXml(end));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicyVersion.html
Result<std::string> IamService::DeletePolicyVersion(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto version_id = in.String("VersionId", VersionIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "DeletePolicyVersion", *arn));
  auto number = ParseVersionId(*version_id);
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    if (!number) return VersionNotFound(policy.arn, *version_id);
    COFFER_ASSIGN_OR_RETURN(auto version, w.iam().GetPolicyVersion(policy.arn, *number));
    if (!version) return VersionNotFound(policy.arn, *version_id);
    if (*number == fresh->default_version) {
      return DeleteConflict("Cannot delete the default version of a policy.");
    }
    return w.iam().DeletePolicyVersion(policy.arn, *number);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SetDefaultPolicyVersion.html
Result<std::string> IamService::SetDefaultPolicyVersion(const RequestContext& ctx,
                                                        const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto version_id = in.String("VersionId", VersionIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy,
                          AuthorizedPolicy(ctx, "SetDefaultPolicyVersion", *arn));
  auto number = ParseVersionId(*version_id);
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    if (!number) return VersionNotFound(policy.arn, *version_id);
    COFFER_ASSIGN_OR_RETURN(auto version, w.iam().GetPolicyVersion(policy.arn, *number));
    if (!version) return VersionNotFound(policy.arn, *version_id);
    fresh->default_version = *number;
    return w.iam().UpdateManagedPolicy(*fresh);
  }));
  return std::string();
}

}  // namespace coffer::iam
