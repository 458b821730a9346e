// IAM: the policy simulator (SimulateCustomPolicy, SimulatePrincipalPolicy).
#include <algorithm>
#include <utility>

#include "core/arn.h"
#include "core/ascii.h"
#include "policy/policy.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

namespace {

struct SimulatedPolicy {
  std::shared_ptr<const policy::Policy> policy;
  std::string source_id;    // "PolicyInputList.1", a policy name
  std::string source_type;  // user, group, role, user-managed, resource, none
};

struct Simulation {
  std::vector<SimulatedPolicy> identity;
  std::vector<SimulatedPolicy> boundaries;
  std::optional<SimulatedPolicy> resource_policy;
  std::string resource_account;
  std::vector<std::string> actions;
  std::vector<std::string> resources;
  std::string caller_arn;
  Context context;
  PageInput page;
};

Result<std::vector<SimulatedPolicy>> ParseInputPolicies(const std::vector<std::string>& documents,
                                                        const std::string& list_name) {
  std::vector<SimulatedPolicy> out;
  for (size_t i = 0; i < documents.size(); ++i) {
    const std::string id = list_name + "." + std::to_string(i + 1);
    auto parsed = policy::Policy::Parse(documents[i], policy::PolicyKind::kIdentity);
    if (!parsed.ok()) {
      return Status(ErrorCode::kMalformedPolicyDocument, id + ": " + parsed.status().message());
    }
    out.push_back({std::move(parsed.value()), id, "none"});
  }
  return out;
}

// The inputs SimulateCustomPolicy and SimulatePrincipalPolicy share.
Status ReadSimulation(QueryInput& in, bool policies_required, Simulation* sim) {
  auto documents = in.List("PolicyInputList", DocumentRule(), policies_required);
  auto boundaries = in.List("PermissionsBoundaryPolicyInputList", DocumentRule(), false);
  auto actions = in.List("ActionNames", {.min_len = 3, .max_len = 128}, true);
  auto resources = in.List("ResourceArns", {.min_len = 1, .max_len = 2048}, false);
  auto resource_policy = in.String("ResourcePolicy", DocumentRule(false));
  auto owner = in.String("ResourceOwner", {.min_len = 1, .max_len = 2048});
  auto caller = in.String("CallerArn", {.min_len = 1, .max_len = 2048});
  (void)in.String("ResourceHandlingOption", {.min_len = 1, .max_len = 64});
  sim->page = ReadPage(in);
  // ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}
  for (size_t i = 1;; ++i) {
    const std::string base = "ContextEntries.member." + std::to_string(i) + ".";
    auto name = in.String(base + "ContextKeyName", {.min_len = 5, .max_len = 256});
    if (!name) break;
    auto values = in.List(base + "ContextKeyValues", {}, false);
    (void)in.String(base + "ContextKeyType", {});
    sim->context[AsciiLower(*name)] = values.value_or(std::vector<std::string>{});
  }
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (documents) {
    COFFER_ASSIGN_OR_RETURN(sim->identity, ParseInputPolicies(*documents, "PolicyInputList"));
  }
  if (boundaries) {
    COFFER_ASSIGN_OR_RETURN(sim->boundaries,
                            ParseInputPolicies(*boundaries, "PermissionsBoundaryPolicyInputList"));
  }
  if (resource_policy) {
    auto parsed = policy::Policy::Parse(*resource_policy, policy::PolicyKind::kResource);
    if (!parsed.ok()) {
      return Status(ErrorCode::kMalformedPolicyDocument,
                    "ResourcePolicy: " + parsed.status().message());
    }
    sim->resource_policy = SimulatedPolicy{std::move(parsed.value()), "ResourcePolicy", "resource"};
  }
  if (owner) {
    // An account id, or an ARN naming the account (arn:aws:iam::<acct>:root).
    auto arn = ParseArn(*owner);
    sim->resource_account = arn ? arn->account : *owner;
  }
  sim->actions = std::move(*actions);
  sim->resources =
      resources && !resources->empty() ? std::move(*resources) : std::vector<std::string>{"*"};
  sim->caller_arn = caller.value_or("");
  return Status::Ok();
}

const char* DecisionName(policy::Verdict v) {
  switch (v) {
    case policy::Verdict::kAllow:
      return "allowed";
    case policy::Verdict::kExplicitDeny:
      return "explicitDeny";
    case policy::Verdict::kImplicitDeny:
      break;
  }
  return "implicitDeny";
}

// Evaluates every action on every resource and returns the page of EvaluationResults.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html
Result<std::string> RunSimulation(const Simulation& sim, const policy::RequestFacts& base) {
  std::vector<std::string> results;
  for (const auto& action : sim.actions) {
    for (const auto& resource : sim.resources) {
      policy::RequestFacts facts = base;
      facts.action = action;
      facts.resource = resource;
      policy::PolicySet set;
      for (const auto& p : sim.identity) set.identity.push_back(p.policy.get());
      if (sim.resource_policy) set.resource = sim.resource_policy->policy.get();
      set.resource_account = sim.resource_account;
      policy::Verdict verdict = policy::Authorize(set, facts).verdict;
      // A permissions boundary caps what identity policies grant and can deny on its own.
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
      bool boundary_allows = false, boundary_denies = false;
      for (const auto& b : sim.boundaries) {
        auto effect = b.policy->Evaluate(facts);
        boundary_allows |= effect.allow;
        boundary_denies |= effect.deny;
      }
      if (!sim.boundaries.empty()) {
        if (boundary_denies) {
          verdict = policy::Verdict::kExplicitDeny;
        } else if (verdict == policy::Verdict::kAllow && !boundary_allows) {
          verdict = policy::Verdict::kImplicitDeny;
        }
      }
      // The policy engine decides per policy, not per statement: name the policies whose
      // statements made the decision.
      std::string matched;
      auto note = [&](const SimulatedPolicy& p) {
        if (verdict == policy::Verdict::kImplicitDeny) return;
        auto effect = p.policy->Evaluate(facts);
        bool decisive = verdict == policy::Verdict::kExplicitDeny ? effect.deny : effect.allow;
        if (!decisive) return;
        matched += "<member>";
        Add(&matched, "SourcePolicyId", p.source_id);
        Add(&matched, "SourcePolicyType", p.source_type);
        matched += "</member>";
      };
      for (const auto& p : sim.identity) note(p);
      if (sim.resource_policy) note(*sim.resource_policy);
      for (const auto& p : sim.boundaries) note(p);
      std::string r = "<member>";
      Add(&r, "EvalActionName", action);
      Add(&r, "EvalResourceName", resource);
      Add(&r, "EvalDecision", DecisionName(verdict));
      r += "<MatchedStatements>" + matched + "</MatchedStatements>";
      r += "<MissingContextValues></MissingContextValues>";
      results.push_back(r + "</member>");
    }
  }
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&results, sim.page));
  std::string out = "<EvaluationResults>";
  for (const auto& r : results) out += r;
  return out + "</EvaluationResults>" + PageEndXml(end);
}

}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
Result<std::string> IamService::SimulateCustomPolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  Simulation sim;
  COFFER_RETURN_IF_ERROR(ReadSimulation(in, /*policies_required=*/true, &sim));
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:SimulateCustomPolicy", "*")));
  policy::RequestFacts facts;
  facts.principal_arn = sim.caller_arn;
  auto caller = ParseArn(sim.caller_arn);
  facts.principal_account = caller ? caller->account : ctx.scope.account;
  facts.context = sim.context;
  COFFER_ASSIGN_OR_RETURN(std::string results, RunSimulation(sim, facts));
  return ResultXml("SimulateCustomPolicy", results);
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
Result<std::string> IamService::SimulatePrincipalPolicy(const RequestContext& ctx,
                                                        const Params& p) {
  QueryInput in(p);
  auto source = in.String("PolicySourceArn", ArnRule());
  Simulation sim;
  COFFER_RETURN_IF_ERROR(ReadSimulation(in, /*policies_required=*/false, &sim));
  // The source is a user, group or role of the caller's account: arn:aws:iam::<acct>:user/<path>
  auto arn = ParseArn(*source);
  const EntityKind* kind = nullptr;
  std::string name;
  if (arn && arn->service == "iam") {
    size_t slash = arn->resource.find('/');
    std::string type = arn->resource.substr(0, slash);
    if (type == "user") kind = &kUser;
    if (type == "role") kind = &kRole;
    if (type == "group") kind = &kGroup;
    name = arn->resource.substr(arn->resource.rfind('/') + 1);
  }
  if (kind == nullptr || name.empty()) {
    return InvalidInput("PolicySourceArn " + *source + " must name an IAM user, group or role.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:SimulatePrincipalPolicy", *source)));
  std::vector<SimulatedPolicy> gathered;
  std::optional<IamEntityRow> entity;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    if (arn->account != ctx.scope.account) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(entity, r.iam().FindEntity(ctx.scope.account, kind->kind, name));
    if (!entity || entity->arn != *source) {
      entity.reset();
      return Status::Ok();
    }
    // The entity's own policies, then (for a user) those of its groups.
    std::vector<std::pair<const EntityKind*, std::string>> owners = {{kind, entity->name}};
    if (kind == &kUser) {
      COFFER_ASSIGN_OR_RETURN(auto groups,
                              r.iam().ListGroupsForUser(entity->account, entity->name));
      for (auto& g : groups) owners.emplace_back(&kGroup, std::move(g));
    }
    auto add = [&](const std::string& document, std::string id, std::string type) -> Status {
      auto parsed = policy::Policy::Parse(document, policy::PolicyKind::kIdentity);
      if (!parsed.ok()) {
        return Status(ErrorCode::kPolicyEvaluation,
                      "Stored policy " + id + " no longer parses: " + parsed.status().message());
      }
      gathered.push_back({std::move(parsed.value()), std::move(id), std::move(type)});
      return Status::Ok();
    };
    for (const auto& [owner_kind, owner] : owners) {
      COFFER_ASSIGN_OR_RETURN(
          auto inline_policies,
          r.iam().ListInlinePolicies(ctx.scope.account, owner_kind->kind, owner));
      for (const auto& [policy_name, document] : inline_policies) {
        COFFER_RETURN_IF_ERROR(
            add(document, policy_name, std::string(IamEntityKindName(owner_kind->kind))));
      }
      COFFER_ASSIGN_OR_RETURN(
          auto attached, r.iam().ListAttachedPolicies(ctx.scope.account, owner_kind->kind, owner));
      for (const auto& policy_arn : attached) {
        COFFER_ASSIGN_OR_RETURN(auto policy, r.iam().FindManagedPolicy(policy_arn));
        if (!policy) continue;
        COFFER_ASSIGN_OR_RETURN(auto version,
                                r.iam().GetPolicyVersion(policy_arn, policy->default_version));
        if (!version) continue;
        COFFER_RETURN_IF_ERROR(add(version->document, policy->name, "user-managed"));
      }
    }
    return Status::Ok();
  }));
  if (!entity) return NoSuchEntity(*kind, name);
  // Policies passed in PolicyInputList are evaluated along with the principal's own.
  for (auto& extra : sim.identity) gathered.push_back(std::move(extra));
  sim.identity = std::move(gathered);
  policy::RequestFacts facts;
  facts.principal_arn = sim.caller_arn.empty() ? entity->arn : sim.caller_arn;
  facts.principal_account = ctx.scope.account;
  // Global condition keys the principal itself provides.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  facts.context["aws:principalarn"] = {entity->arn};
  facts.context["aws:principalaccount"] = {ctx.scope.account};
  if (kind == &kUser) {
    facts.context["aws:username"] = {entity->name};
    facts.context["aws:userid"] = {entity->id};
    facts.context["aws:principaltype"] = {"User"};
  }
  if (kind != &kGroup) {
    for (const auto& [key, value] : entity->tags) {
      facts.context["aws:principaltag/" + AsciiLower(key)] = {value};
    }
  }
  for (const auto& [key, values] : sim.context) facts.context[key] = values;
  COFFER_ASSIGN_OR_RETURN(std::string results, RunSimulation(sim, facts));
  return ResultXml("SimulatePrincipalPolicy", results);
}

}  // namespace coffer::iam
