// Table-driven test support for the policy engine (policy_eval_test.cc,
// policy_condition_test.cc, policy_parse_test.cc).
//
// Every table row is a Case: the policies in force, the request, the verdict AWS's documentation
// prescribes, and `rule`, a short citation of the documented rule the row exercises. Rows are
// written with designated initializers; a field left out takes the default below, which
// describes alice (an IAM user of account 111122223333) calling
// secretsmanager:GetSecretValue on a secret of her own account.
#pragma once

#include <gtest/gtest.h>

#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy.h"

namespace coffer::policy::test_support {

inline constexpr const char* kAccount = "111122223333";
inline constexpr const char* kOtherAccount = "444455556666";
inline constexpr const char* kRootArn = "arn:aws:iam::111122223333:root";
inline constexpr const char* kOtherRootArn = "arn:aws:iam::444455556666:root";
inline constexpr const char* kAlice = "arn:aws:iam::111122223333:user/alice";
inline constexpr const char* kCarol = "arn:aws:iam::111122223333:user/carol";
inline constexpr const char* kBob = "arn:aws:iam::444455556666:user/bob";  // other account
inline constexpr const char* kRole = "arn:aws:iam::111122223333:role/app";
inline constexpr const char* kSession = "arn:aws:sts::111122223333:assumed-role/app/s1";
inline constexpr const char* kSecret =
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";
inline constexpr const char* kOtherSecret =
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:dev/app-XyZ123";
inline constexpr const char* kKey =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

using Context = std::map<std::string, std::vector<std::string>>;

struct Case {
  std::string rule;  // the documented rule the row exercises
  // Policies in force (JSON). `resource_policy` empty means the resource has none.
  std::vector<std::string> identity;
  std::string resource_policy;
  PolicyKind resource_kind = PolicyKind::kResource;  // kKey when key_policy is set
  std::vector<std::string> session;
  bool has_session_policies = false;
  bool root = false;  // PolicySet::principal_is_account_root
  bool key_policy = false;
  std::string resource_account = kAccount;
  // The request.
  std::string action = "secretsmanager:GetSecretValue";
  std::string resource = kSecret;
  std::string principal_arn = kAlice;
  std::string principal_account = kAccount;
  std::string role_arn;
  std::string service_principal;
  Context context;
  // Expectations. `want_type` and `want_message` are checked when non-empty.
  Verdict want = Verdict::kImplicitDeny;
  std::string want_type;
  std::string want_message;
};

// ---- policy text builders ----------------------------------------------------------------

// A JSON value: text that already is JSON (a list, object or quoted string) is kept as it is;
// anything else becomes a JSON string.
inline std::string Q(std::string_view s) {
  if (!s.empty() && (s.front() == '[' || s.front() == '{' || s.front() == '"')) {
    return std::string(s);
  }
  return "\"" + std::string(s) + "\"";
}

// One statement. A leading '!' on action, resource or principal selects NotAction,
// NotResource or NotPrincipal. An empty resource or principal leaves the element out;
// `condition` is the JSON object of the Condition element, or empty.
inline std::string St(std::string_view effect, std::string_view action, std::string_view resource,
                      std::string_view condition = "", std::string_view principal = "") {
  auto element = [](std::string_view name, std::string_view v) {
    if (!v.empty() && v.front() == '!') {
      return ",\"Not" + std::string(name) + "\":" + Q(v.substr(1));
    }
    return ",\"" + std::string(name) + "\":" + Q(v);
  };
  std::string out = "{\"Effect\":\"" + std::string(effect) + "\"";
  out += element("Action", action);
  if (!resource.empty()) out += element("Resource", resource);
  if (!principal.empty()) out += element("Principal", principal);
  if (!condition.empty()) out += ",\"Condition\":" + std::string(condition);
  return out + "}";
}

// A policy document of the given statements; an empty `version` leaves Version out.
inline std::string Doc(std::initializer_list<std::string> statements,
                       std::string_view version = "2012-10-17") {
  std::string out = "{";
  if (!version.empty()) out += "\"Version\":\"" + std::string(version) + "\",";
  out += "\"Statement\":[";
  bool first = true;
  for (const auto& s : statements) {
    if (!first) out += ",";
    out += s;
    first = false;
  }
  return out + "]}";
}

// Shorthands for the commonest documents.
inline std::string Allow(std::string_view action, std::string_view resource = "*",
                         std::string_view condition = "") {
  return Doc({St("Allow", action, resource, condition)});
}
inline std::string Deny(std::string_view action, std::string_view resource = "*",
                        std::string_view condition = "") {
  return Doc({St("Deny", action, resource, condition)});
}
// A resource (or key) policy with one statement for `principal`.
inline std::string ResourceAllow(std::string_view principal,
                                 std::string_view action = "secretsmanager:GetSecretValue",
                                 std::string_view resource = "*", std::string_view condition = "") {
  return Doc({St("Allow", action, resource, condition, principal)});
}
inline std::string ResourceDeny(std::string_view principal,
                                std::string_view action = "secretsmanager:GetSecretValue",
                                std::string_view resource = "*", std::string_view condition = "") {
  return Doc({St("Deny", action, resource, condition, principal)});
}

// An identity policy allowing GetSecretValue on "*" exactly when `condition` holds: the
// carrier of the condition-operator tables.
inline std::string AllowWhen(std::string_view condition) {
  return Allow("secretsmanager:GetSecretValue", "*", condition);
}

// A condition-table row: `condition` guards an Allow; `allowed` says whether it holds.
inline Case When(std::string rule, std::string_view condition, Context context, bool allowed) {
  Case c;
  c.rule = std::move(rule);
  c.identity = {AllowWhen(condition)};
  c.context = std::move(context);
  c.want = allowed ? Verdict::kAllow : Verdict::kImplicitDeny;
  return c;
}

// ---- running ------------------------------------------------------------------------------

inline const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAllow:
      return "Allow";
    case Verdict::kImplicitDeny:
      return "ImplicitDeny";
    case Verdict::kExplicitDeny:
      return "ExplicitDeny";
  }
  return "?";
}

// Parses one policy, failing the test (fatally, for the calling helper) when it is rejected.
inline void ParseOk(const std::string& json, PolicyKind kind,
                    std::vector<std::shared_ptr<const Policy>>* keep) {
  auto parsed = Policy::Parse(json, kind);
  ASSERT_TRUE(parsed.ok()) << parsed.status().code() << ": " << parsed.status().message()
                           << "\n  in policy: " << json;
  keep->push_back(*parsed);
}

inline RequestFacts FactsOf(const Case& c) {
  RequestFacts r;
  r.action = c.action;
  r.resource = c.resource;
  r.principal_arn = c.principal_arn;
  r.principal_account = c.principal_account;
  r.role_arn = c.role_arn;
  r.service_principal = c.service_principal;
  r.context = c.context;
  return r;
}

inline void RunCase(const Case& c) {
  SCOPED_TRACE("rule: " + c.rule);
  std::vector<std::shared_ptr<const Policy>> keep;  // owns what the PolicySet points at
  PolicySet set;
  for (const auto& json : c.identity) {
    ASSERT_NO_FATAL_FAILURE(ParseOk(json, PolicyKind::kIdentity, &keep));
    set.identity.push_back(keep.back().get());
  }
  for (const auto& json : c.session) {
    ASSERT_NO_FATAL_FAILURE(ParseOk(json, PolicyKind::kSession, &keep));
    set.session.push_back(keep.back().get());
  }
  if (!c.resource_policy.empty()) {
    const PolicyKind kind = c.key_policy ? PolicyKind::kKey : c.resource_kind;
    ASSERT_NO_FATAL_FAILURE(ParseOk(c.resource_policy, kind, &keep));
    set.resource = keep.back().get();
  }
  set.has_session_policies = c.has_session_policies || !c.session.empty();
  set.principal_is_account_root = c.root;
  set.key_policy = c.key_policy;
  set.resource_account = c.resource_account;

  const RequestFacts facts = FactsOf(c);
  const Decision d = Authorize(set, facts);
  EXPECT_EQ(VerdictName(d.verdict), std::string(VerdictName(c.want)))
      << "action=" << c.action << " resource=" << c.resource
      << " principal=" << (c.principal_arn.empty() ? c.service_principal : c.principal_arn);
  if (!c.want_type.empty()) {
    EXPECT_EQ(d.policy_type, c.want_type);
  }
  if (!c.want_message.empty()) {
    EXPECT_EQ(d.Message(facts), c.want_message);
  }
}

inline void RunCases(const std::vector<Case>& cases) {
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case #" + std::to_string(i));
    RunCase(cases[i]);
  }
}

// ---- parse and public-access tables -------------------------------------------------------

struct ParseCase {
  std::string rule;
  PolicyKind kind = PolicyKind::kIdentity;
  std::string json;
  bool ok = false;  // whether Parse must accept the document
};

inline void RunParseCases(const std::vector<ParseCase>& cases) {
  for (size_t i = 0; i < cases.size(); ++i) {
    const ParseCase& c = cases[i];
    SCOPED_TRACE("case #" + std::to_string(i) + " rule: " + c.rule + "\n  policy: " + c.json);
    auto parsed = Policy::Parse(c.json, c.kind);
    if (c.ok) {
      EXPECT_TRUE(parsed.ok()) << parsed.status().code() << ": " << parsed.status().message();
    } else {
      ASSERT_FALSE(parsed.ok());
      EXPECT_EQ(parsed.status().code(), ErrorCode::kMalformedPolicyDocument);
      EXPECT_FALSE(parsed.status().message().empty());
    }
  }
}

struct PublicCase {
  std::string rule;
  std::string json;  // a resource policy
  bool is_public = false;
};

inline void RunPublicCases(const std::vector<PublicCase>& cases) {
  for (size_t i = 0; i < cases.size(); ++i) {
    const PublicCase& c = cases[i];
    SCOPED_TRACE("case #" + std::to_string(i) + " rule: " + c.rule + "\n  policy: " + c.json);
    auto parsed = Policy::Parse(c.json, PolicyKind::kResource);
    ASSERT_TRUE(parsed.ok()) << parsed.status().code() << ": " << parsed.status().message();
    EXPECT_EQ((*parsed)->GrantsPublicAccess(), c.is_public);
  }
}

}  // namespace coffer::policy::test_support
