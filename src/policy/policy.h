// The AWS policy language: parsing, validation and evaluation of IAM identity policies,
// resource policies (Secrets Manager), role trust policies, session policies and KMS key
// policies.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
//
// A policy is parsed once into a Policy (immutable, shareable across threads) whose statements
// hold pre-split patterns; evaluating it against a request does no JSON work and no allocation
// beyond policy-variable substitution.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace coffer::policy {

// What a policy is evaluated against: the request context of AWS's evaluation logic.
struct RequestFacts {
  std::string action;    // "service:Operation", e.g. "secretsmanager:GetSecretValue"
  std::string resource;  // the resource ARN, or "*" for actions that have none
  // The calling principal as policies name it. For an assumed-role session `principal_arn` is
  // the session ARN (arn:aws:sts::<acct>:assumed-role/<role>/<session>) and `role_arn` the role's
  // IAM ARN, which a Principal element may name instead. The account root's ARN is
  // arn:aws:iam::<acct>:root. A service principal (e.g. "secretsmanager.amazonaws.com") is
  // `service_principal`, with the other fields empty.
  std::string principal_arn;
  std::string principal_account;
  std::string role_arn;
  std::string service_principal;
  // Condition keys by lowercase name (AWS matches key names case-insensitively; values are
  // case-sensitive). A key that is absent from the map is absent from the request. Multivalued
  // keys (aws:TagKeys, ...) hold several values.
  std::map<std::string, std::vector<std::string>> context;

  const std::vector<std::string>* Find(std::string_view lowercase_key) const;
};

// Kinds change which elements a policy may (or must) have.
enum class PolicyKind {
  kIdentity,  // no Principal/NotPrincipal; Resource required
  kResource,  // Principal or NotPrincipal required (Secrets Manager resource policies)
  kKey,       // a KMS key policy: Principal required; Resource is usually "*"
  kTrust,     // a role's trust policy: Principal required, Resource not allowed
  kSession,   // an AssumeRole session policy: like kIdentity
};

struct StatementEffect {
  bool allow = false;  // some Allow statement matched
  bool deny = false;   // some Deny statement matched
  // Resource, key and trust policies: an Allow matched only through the principal's account
  // (Principal "arn:aws:iam::<acct>:root" or "<acct>"), which delegates the decision to that
  // account's identity policies rather than granting by itself.
  bool allow_via_account_only = false;
  // An Allow named the caller's own ARN (for a role session: the session ARN, not the role).
  bool allow_names_principal = false;
};

class Policy {
 public:
  // Parses and validates. Errors: MalformedPolicyDocument with a message naming the problem
  // (the caller renames the code for its service, e.g. MalformedPolicyDocumentException).
  static Result<std::shared_ptr<const Policy>> Parse(std::string_view json, PolicyKind kind);

  StatementEffect Evaluate(const RequestFacts& request) const;

  // Whether some Allow statement grants to everyone: Principal "*" (or {"AWS":"*"}) with no
  // condition narrowing it to an account, principal or organisation; used by
  // BlockPublicPolicy. https://docs.aws.amazon.com/secretsmanager/latest/userguide/
  // determine-acccess_examine-iam-policies.html
  bool GrantsPublicAccess() const;

  struct Impl;
  ~Policy();

 private:
  explicit Policy(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Glob match of AWS's wildcards: '*' any run of characters, '?' exactly one.
bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case);

// The policies that bear on one request, and where they came from.
struct PolicySet {
  // The principal's identity-based policies (inline and attached, user and group). The account
  // root needs none: it is allowed everything in its own account that no policy denies.
  std::vector<const Policy*> identity;
  bool principal_is_account_root = false;
  // Session policies passed to AssumeRole; `has_session_policies` with an empty list still
  // limits the session to nothing.
  std::vector<const Policy*> session;
  bool has_session_policies = false;
  // The resource's own policy (secret resource policy or KMS key policy), or none.
  const Policy* resource = nullptr;
  std::string resource_account;
  // KMS: the key policy is the authority. Identity policies count only when the key policy
  // delegates to the account ("Principal": {"AWS": "arn:aws:iam::<acct>:root"}).
  bool key_policy = false;
  // STS: the resource policy is the role's trust policy, which must allow the caller whatever
  // its identity policies say (like a key policy, it may delegate to the account).
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_terms-and-concepts.html
  bool trust_policy = false;
};

enum class Verdict { kAllow, kImplicitDeny, kExplicitDeny };

struct Decision {
  Verdict verdict = Verdict::kImplicitDeny;
  // For a denial, the policy type AWS names in its message: "identity-based policy",
  // "resource-based policy" or "session policy".
  std::string policy_type;

  bool allowed() const { return verdict == Verdict::kAllow; }
  // "User: <arn> is not authorized to perform: <action> on resource: <arn> because no
  // identity-based policy allows the <action> action" / "... with an explicit deny in a
  // resource-based policy".
  std::string Message(const RequestFacts& request) const;
};

Decision Authorize(const PolicySet& policies, const RequestFacts& request);

}  // namespace coffer::policy
