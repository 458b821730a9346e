#include "authz/policy_authorizer.h"

#include <mutex>
#include <sstream>

#include "core/ascii.h"
#include "core/time_format.h"

namespace coffer {
namespace {

constexpr size_t kMaxCachedPolicies = 4096;
constexpr size_t kMaxCachedIdentities = 4096;

}  // namespace

Result<std::shared_ptr<const policy::Policy>> PolicyAuthorizer::Compile(
    const std::string& text, policy::PolicyKind kind) const {
  const std::string key = std::to_string(static_cast<int>(kind)) + "\n" + text;
  {
    std::shared_lock lock(mu_);
    auto it = compiled_.find(key);
    if (it != compiled_.end()) return it->second;
  }
  COFFER_ASSIGN_OR_RETURN(auto compiled, policy::Policy::Parse(text, kind));
  std::unique_lock lock(mu_);
  if (compiled_.size() >= kMaxCachedPolicies) compiled_.clear();
  compiled_.emplace(key, compiled);
  return compiled;
}

Status PolicyAuthorizer::AddManaged(StoreReader& r, const std::string& account, IamEntityKind kind,
                                    const std::string& owner, Identity* out) const {
  COFFER_ASSIGN_OR_RETURN(auto inline_policies, r.iam().ListInlinePolicies(account, kind, owner));
  for (const auto& [name, doc] : inline_policies) {
    auto compiled = Compile(doc, policy::PolicyKind::kIdentity);
    if (compiled.ok()) out->policies.push_back(*compiled);
  }
  COFFER_ASSIGN_OR_RETURN(auto attached, r.iam().ListAttachedPolicies(account, kind, owner));
  for (const auto& arn : attached) {
    COFFER_ASSIGN_OR_RETURN(auto managed, r.iam().FindManagedPolicy(arn));
    if (!managed) continue;
    COFFER_ASSIGN_OR_RETURN(auto version, r.iam().GetPolicyVersion(arn, managed->default_version));
    if (!version) continue;
    auto compiled = Compile(version->document, policy::PolicyKind::kIdentity);
    if (compiled.ok()) out->policies.push_back(*compiled);
  }
  return Status::Ok();
}

Result<std::shared_ptr<const PolicyAuthorizer::Identity>> PolicyAuthorizer::LoadIdentity(
    const Principal& p) const {
  const std::string key = p.arn + "\n" + p.access_key_id;
  // An entry is valid while no node sharing the store changed an identity: the count is read
  // before the store, so a change racing with this read makes the entry stale, never wrong.
  const uint64_t identity_writes = store_->IdentityWrites();
  {
    std::shared_lock lock(mu_);
    auto it = identities_.find(key);
    if (it != identities_.end() && it->second.identity_writes == identity_writes) {
      return it->second.identity;
    }
  }
  auto identity = std::make_shared<Identity>();
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    if (p.type == PrincipalType::kAssumedRole) {
      const std::string& role = p.role_name;
      COFFER_ASSIGN_OR_RETURN(auto row, r.iam().FindEntity(p.account, IamEntityKind::kRole, role));
      // The role was deleted, or deleted and created again (another unique id): the session
      // belongs to a role that is gone, and nothing is allowed.
      if (!row || row->id != p.user_id.substr(0, p.user_id.find(':'))) return Status::Ok();
      identity->principal_tags = row->tags;
      COFFER_RETURN_IF_ERROR(AddManaged(r, p.account, IamEntityKind::kRole, role, identity.get()));
      if (p.temporary) {
        COFFER_ASSIGN_OR_RETURN(auto session, r.credentials().FindSession(p.access_key_id));
        if (session) {
          MergeTags(&identity->principal_tags, session->session_tags);
          identity->has_session_policies = session->has_session_policies;
          if (!session->session_policy.empty()) {
            auto compiled = Compile(session->session_policy, policy::PolicyKind::kSession);
            if (compiled.ok()) identity->session.push_back(*compiled);
          }
          std::istringstream arns(session->session_policy_arns);
          std::string arn;
          while (std::getline(arns, arn)) {
            if (arn.empty()) continue;
            COFFER_ASSIGN_OR_RETURN(auto managed, r.iam().FindManagedPolicy(arn));
            if (!managed) continue;
            COFFER_ASSIGN_OR_RETURN(auto version,
                                    r.iam().GetPolicyVersion(arn, managed->default_version));
            if (!version) continue;
            auto compiled = Compile(version->document, policy::PolicyKind::kSession);
            if (compiled.ok()) identity->session.push_back(*compiled);
          }
        }
      }
    } else if (p.type == PrincipalType::kIamUser) {
      COFFER_ASSIGN_OR_RETURN(auto row,
                              r.iam().FindEntity(p.account, IamEntityKind::kUser, p.user_name));
      if (!row || row->id != p.user_id) return Status::Ok();
      identity->principal_tags = row->tags;
      COFFER_RETURN_IF_ERROR(
          AddManaged(r, p.account, IamEntityKind::kUser, p.user_name, identity.get()));
      COFFER_ASSIGN_OR_RETURN(auto groups, r.iam().ListGroupsForUser(p.account, p.user_name));
      for (const auto& g : groups) {
        COFFER_RETURN_IF_ERROR(AddManaged(r, p.account, IamEntityKind::kGroup, g, identity.get()));
      }
    }
    return Status::Ok();
  }));
  std::unique_lock lock(mu_);
  if (identities_.size() >= kMaxCachedIdentities) identities_.clear();
  identities_[key] = {identity_writes, identity};
  return std::shared_ptr<const Identity>(identity);
}

Status PolicyAuthorizer::Authorize(const RequestContext& ctx, const AuthzCheck& check) const {
  const Principal& p = ctx.principal;
  policy::RequestFacts facts;
  facts.action = check.action;
  facts.resource = check.resource.empty() ? "*" : check.resource;
  facts.principal_arn = p.arn;
  facts.principal_account = p.account;
  facts.role_arn = p.role_arn;

  // Global condition keys.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  auto& c = facts.context;
  const bool root = p.type == PrincipalType::kRoot;
  c["aws:principalarn"] = {p.type == PrincipalType::kAssumedRole ? p.role_arn : p.arn};
  c["aws:principalaccount"] = {p.account};
  c["aws:principaltype"] = {root                                    ? "Account"
                            : p.type == PrincipalType::kAssumedRole ? "AssumedRole"
                                                                    : "User"};
  c["aws:userid"] = {p.user_id};
  if (p.type == PrincipalType::kIamUser) c["aws:username"] = {p.user_name};
  c["aws:currenttime"] = {FormatIso8601(ctx.now)};
  c["aws:epochtime"] = {std::to_string(ctx.now / 1000)};
  c["aws:securetransport"] = {ctx.secure_transport ? "true" : "false"};
  if (!ctx.source_ip.empty()) c["aws:sourceip"] = {ctx.source_ip};
  c["aws:requestedregion"] = {ctx.scope.region};
  c["aws:viaawsservice"] = {"false"};
  if (p.temporary) c["aws:multifactorauthpresent"] = {"false"};

  policy::PolicySet set;
  set.principal_is_account_root = root;
  set.resource_account =
      check.resource_account.empty() ? ctx.scope.account : check.resource_account;
  set.key_policy = check.key_policy;
  set.trust_policy = check.trust_policy;

  std::shared_ptr<const Identity> identity;
  if (!root) {
    COFFER_ASSIGN_OR_RETURN(identity, LoadIdentity(p));
    for (const auto& pol : identity->policies) set.identity.push_back(pol.get());
    for (const auto& pol : identity->session) set.session.push_back(pol.get());
    set.has_session_policies = identity->has_session_policies;
    for (const auto& [k, v] : identity->principal_tags) {
      c["aws:principaltag/" + AsciiLower(k)] = {v};
    }
  }
  for (const auto& [k, v] : check.context) c[k] = v;

  std::shared_ptr<const policy::Policy> resource_policy;
  if (check.resource_policy != nullptr && !check.resource_policy->empty()) {
    auto kind = check.key_policy     ? policy::PolicyKind::kKey
                : check.trust_policy ? policy::PolicyKind::kTrust
                                     : policy::PolicyKind::kResource;
    auto compiled = Compile(*check.resource_policy, kind);
    // A stored policy was validated when it was put; one that no longer parses grants nothing.
    if (compiled.ok()) {
      resource_policy = *compiled;
      set.resource = resource_policy.get();
    }
  }
  policy::Decision decision = policy::Authorize(set, facts);
  if (decision.allowed()) return Status::Ok();
  std::string message;
  if (check.named_as.empty()) {
    message = decision.Message(facts);
  } else {
    facts.resource = check.named_as;
    message = decision.Message(facts);
  }
  if (on_denial_) on_denial_(ctx, check, message);
  return Status(ErrorCode::kAccessDeniedException, std::move(message));
}

}  // namespace coffer
