#include "policy/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <cstring>

#include "core/ascii.h"
#include "policy/condition_values.h"

namespace coffer::policy {
namespace json = boost::json;
namespace {

Status Malformed(const std::string& message) {
  return Status(ErrorCode::kMalformedPolicyDocument, message);
}

// ---- policy variables ---------------------------------------------------------------------

// Substituted text is literal: `${*}`, `${?}` and any '*' or '?' in a request value reach the
// matcher as these markers, which match only the character itself.
constexpr char kLiteralStar = '\x01';
constexpr char kLiteralQuestion = '\x02';

void AppendLiteral(std::string* out, std::string_view text) {
  for (char c : text) {
    out->push_back(c == '*' ? kLiteralStar : c == '?' ? kLiteralQuestion : c);
  }
}
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html

// Substitutes ${key} (and ${key, 'default'}, ${*}, ${?}, ${$}). nullopt when a variable is
// absent from the request and has no default: the element then matches nothing.
std::optional<std::string> Substitute(std::string_view text, const RequestFacts& request) {
  if (text.find("${") == std::string_view::npos) return std::string(text);
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("${", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    size_t close = text.find('}', open);
    if (close == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    std::string_view inner = text.substr(open + 2, close - open - 2);
    pos = close + 1;
    if (inner == "*" || inner == "?" || inner == "$") {
      // Escapes for the literal characters; marked so the matcher does not treat them as
      // wildcards would need a richer pattern type, and AWS documents these only as literals
      // in contexts where they then match themselves.
      AppendLiteral(&out, inner);
      continue;
    }
    std::optional<std::string> fallback;
    if (size_t comma = inner.find(','); comma != std::string_view::npos) {
      std::string_view def = inner.substr(comma + 1);
      while (!def.empty() && def.front() == ' ') def.remove_prefix(1);
      while (!def.empty() && def.back() == ' ') def.remove_suffix(1);
      if (def.size() >= 2 && def.front() == '\'' && def.back() == '\'') {
        fallback = std::string(def.substr(1, def.size() - 2));
      }
      inner = inner.substr(0, comma);
    }
    while (!inner.empty() && inner.back() == ' ') inner.remove_suffix(1);
    const auto* values = request.Find(AsciiLower(inner));
    if (values != nullptr && values->size() == 1) {
      AppendLiteral(&out, (*values)[0]);
    } else if (fallback) {
      AppendLiteral(&out, *fallback);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// ---- statements ---------------------------------------------------------------------------

struct PrincipalSpec {
  bool any = false;              // "*" or {"AWS": "*"}
  std::vector<std::string> aws;  // ARNs; account ids normalised to arn:aws:iam::<id>:root
  std::vector<std::string> service;
  std::vector<std::string> federated;
};

// How a Principal element matched the caller: through its account (a delegation to the
// account's identity policies), directly ("*", the role of a session, a service), or by naming
// the caller's own ARN exactly.
enum class PrincipalMatch { kNone, kAccount, kDirect, kExact };

struct Statement {
  bool allow = false;
  bool not_action = false;
  std::vector<std::string> actions;
  bool has_resource = false;
  bool not_resource = false;
  std::vector<std::string> resources;
  bool has_principal = false;
  bool not_principal = false;
  PrincipalSpec principal;
  std::vector<Condition> conditions;
};

bool IsAccountRoot(std::string_view arn, std::string* account) {
  // arn:aws:iam::<12 digits>:root
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (arn.rfind(kPrefix, 0) != 0 || arn.size() != kPrefix.size() + 12 + 5) return false;
  std::string_view acct = arn.substr(kPrefix.size(), 12);
  if (!std::all_of(acct.begin(), acct.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  if (arn.substr(kPrefix.size() + 12) != ":root") return false;
  if (account) *account = std::string(acct);
  return true;
}

PrincipalMatch MatchPrincipal(const PrincipalSpec& spec, const RequestFacts& r) {
  PrincipalMatch best = spec.any ? PrincipalMatch::kDirect : PrincipalMatch::kNone;
  for (const auto& arn : spec.aws) {
    if (!r.principal_arn.empty() && arn == r.principal_arn) return PrincipalMatch::kExact;
    std::string account;
    if (IsAccountRoot(arn, &account)) {
      if (!r.principal_account.empty() && account == r.principal_account &&
          best == PrincipalMatch::kNone) {
        best = PrincipalMatch::kAccount;
      }
      continue;
    }
    if (!r.role_arn.empty() && arn == r.role_arn) best = PrincipalMatch::kDirect;
  }
  for (const auto& s : spec.service) {
    if (!r.service_principal.empty() && s == r.service_principal) return PrincipalMatch::kExact;
  }
  return best;
}

bool ConditionHolds(const Condition& c, const RequestFacts& r, bool variables) {
  const std::vector<std::string>* context = r.Find(c.key);
  if (c.op.family == Family::kNull) {
    const bool absent = context == nullptr || context->empty();
    for (const auto& v : c.values) {
      if (EqualsIgnoreCase(v, "true") ? absent : !absent) return true;
    }
    return false;
  }
  std::vector<std::string> substituted;
  const std::vector<std::string>* values = &c.values;
  if (variables) {
    const bool glob = c.op.family == Family::kStringLike || c.op.family == Family::kArn;
    for (const auto& v : c.values) {
      if (auto s = Substitute(v, r)) {
        if (!glob) {
          for (char& ch : *s) {
            if (ch == kLiteralStar) ch = '*';
            if (ch == kLiteralQuestion) ch = '?';
          }
        }
        substituted.push_back(std::move(*s));
      }
    }
    values = &substituted;
  }
  if (context == nullptr || context->empty()) {
    if (c.set == SetQualifier::kForAllValues) return true;  // vacuously
    if (c.set == SetQualifier::kForAnyValue) return false;
    return c.if_exists || c.op.negated;
  }
  auto one = [&](const std::string& v) {
    bool hit = AnyPolicyValueMatches(c.op, v, *values);
    return c.op.negated ? !hit : hit;
  };
  switch (c.set) {
    case SetQualifier::kForAllValues:
      return std::all_of(context->begin(), context->end(), one);
    case SetQualifier::kForAnyValue:
      return std::any_of(context->begin(), context->end(), one);
    case SetQualifier::kNone:
      break;
  }
  // A single-valued use: a positive operator holds if some request value matches; a negated
  // one if no request value matches any policy value.
  if (c.op.negated) return std::all_of(context->begin(), context->end(), one);
  return std::any_of(context->begin(), context->end(), one);
}

// ---- parsing ------------------------------------------------------------------------------

Result<std::vector<std::string>> StringOrList(const json::value& v, const std::string& element) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.emplace_back(v.get_string());
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) {
      if (!item.is_string()) return Malformed(element + " values must be strings");
      out.emplace_back(item.get_string());
    }
  } else {
    return Malformed(element + " must be a string or a list of strings");
  }
  if (out.empty()) return Malformed(element + " must not be empty");
  return out;
}

Status ParseAction(const std::string& a) {
  if (a == "*") return Status::Ok();
  size_t colon = a.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) {
    return Malformed("Actions/Conditions must be prefaced by a vendor, e.g., iamservice: " + a);
  }
  for (size_t i = 0; i < colon; ++i) {
    char c = a[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '*' && c != '?') {
      return Malformed("Vendor " + a.substr(0, colon) + " is not valid");
    }
  }
  return Status::Ok();
}

Status ParseResource(const std::string& r) {
  if (r == "*" || r.rfind("arn:", 0) == 0) return Status::Ok();
  return Malformed("Resource " + r + " must be in ARN format or \"*\".");
}

Result<PrincipalSpec> ParsePrincipal(const json::value& v) {
  PrincipalSpec p;
  if (v.is_string()) {
    if (v.get_string() != "*")
      return Malformed("Invalid principal in policy: " + std::string(v.get_string()));
    p.any = true;
    return p;
  }
  if (!v.is_object() || v.get_object().empty()) {
    return Malformed("Principal must be \"*\" or an object");
  }
  for (const auto& [k, val] : v.get_object()) {
    COFFER_ASSIGN_OR_RETURN(auto values, StringOrList(val, "Principal"));
    if (k == "AWS") {
      for (auto& a : values) {
        if (a == "*") {
          p.any = true;
        } else if (a.size() == 12 &&
                   std::all_of(a.begin(), a.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          p.aws.push_back("arn:aws:iam::" + a + ":root");
        } else if (a.rfind("arn:aws:iam::", 0) == 0 || a.rfind("arn:aws:sts::", 0) == 0) {
          if (a.find_first_of("*?") != std::string::npos) {
            return Malformed("Invalid principal in policy: \"AWS\":\"" + a + "\"");
          }
          p.aws.push_back(std::move(a));
        } else {
          return Malformed("Invalid principal in policy: \"AWS\":\"" + a + "\"");
        }
      }
    } else if (k == "Service") {
      p.service = std::move(values);
    } else if (k == "Federated") {
      p.federated = std::move(values);
    } else if (k == "CanonicalUser") {
      // Accepted for compatibility; no coffer principal is a canonical user.
    } else {
      return Malformed("Invalid principal type in policy: " + std::string(k));
    }
  }
  return p;
}

Result<std::vector<Condition>> ParseConditions(const json::value& v) {
  if (!v.is_object()) return Malformed("Condition must be an object");
  std::vector<Condition> out;
  for (const auto& [op_name_raw, block] : v.get_object()) {
    std::string_view op_name(op_name_raw.data(), op_name_raw.size());
    Condition proto;
    if (op_name.rfind("ForAllValues:", 0) == 0) {
      proto.set = SetQualifier::kForAllValues;
      op_name.remove_prefix(13);
    } else if (op_name.rfind("ForAnyValue:", 0) == 0) {
      proto.set = SetQualifier::kForAnyValue;
      op_name.remove_prefix(12);
    }
    constexpr std::string_view kIfExists = "IfExists";
    if (op_name.size() > kIfExists.size() &&
        op_name.substr(op_name.size() - kIfExists.size()) == kIfExists) {
      proto.if_exists = true;
      op_name.remove_suffix(kIfExists.size());
    }
    const OperatorInfo* info = nullptr;
    for (const auto& o : kOperators) {
      if (op_name == o.name) {
        info = &o;
        break;
      }
    }
    if (info == nullptr || (info->family == Family::kNull && proto.if_exists)) {
      return Malformed("Invalid Condition type : " + std::string(op_name_raw));
    }
    proto.op = *info;
    if (!block.is_object() || block.get_object().empty()) {
      return Malformed("Condition " + std::string(op_name_raw) + " must map keys to values");
    }
    for (const auto& [key, val] : block.get_object()) {
      Condition c = proto;
      c.key = AsciiLower(std::string_view(key.data(), key.size()));
      auto scalar = [](const json::value& x) -> std::optional<std::string> {
        if (x.is_string()) return std::string(x.get_string());
        if (x.is_bool()) return std::string(x.get_bool() ? "true" : "false");
        if (x.is_int64()) return std::to_string(x.get_int64());
        if (x.is_uint64()) return std::to_string(x.get_uint64());
        if (x.is_double()) return json::serialize(x);
        return std::nullopt;
      };
      if (val.is_array()) {
        for (const auto& item : val.get_array()) {
          auto s = scalar(item);
          if (!s) return Malformed("Condition values must be strings, numbers or booleans");
          c.values.push_back(std::move(*s));
        }
      } else if (auto s = scalar(val)) {
        c.values.push_back(std::move(*s));
      } else {
        return Malformed("Condition values must be strings, numbers or booleans");
      }
      if (c.values.empty()) return Malformed("Condition " + std::string(key) + " has no values");
      if (c.op.family == Family::kIp) {
        for (const auto& ip : c.values) {
          if (!ParseIp(ip, true)) return Malformed("Invalid IP address in condition: " + ip);
        }
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

Result<Statement> ParseStatement(const json::value& v, PolicyKind kind) {
  if (!v.is_object()) return Malformed("Each Statement must be an object");
  const auto& o = v.get_object();
  Statement s;
  for (const auto& [k, val] : o) {
    if (k != "Sid" && k != "Effect" && k != "Action" && k != "NotAction" && k != "Resource" &&
        k != "NotResource" && k != "Principal" && k != "NotPrincipal" && k != "Condition") {
      return Malformed("Statement contains an unknown element: " + std::string(k));
    }
  }
  if (auto* sid = o.if_contains("Sid"); sid && !sid->is_string()) {
    return Malformed("Sid must be a string");
  }
  const auto* effect = o.if_contains("Effect");
  if (effect == nullptr || !effect->is_string() ||
      (effect->get_string() != "Allow" && effect->get_string() != "Deny")) {
    return Malformed("Effect must be \"Allow\" or \"Deny\"");
  }
  s.allow = effect->get_string() == "Allow";

  const auto* action = o.if_contains("Action");
  const auto* not_action = o.if_contains("NotAction");
  if ((action == nullptr) == (not_action == nullptr)) {
    return Malformed("Each Statement needs exactly one of Action or NotAction");
  }
  s.not_action = not_action != nullptr;
  COFFER_ASSIGN_OR_RETURN(s.actions, StringOrList(action ? *action : *not_action, "Action"));
  for (const auto& a : s.actions) COFFER_RETURN_IF_ERROR(ParseAction(a));

  const auto* resource = o.if_contains("Resource");
  const auto* not_resource = o.if_contains("NotResource");
  if (resource && not_resource) {
    return Malformed("A Statement cannot have both Resource and NotResource");
  }
  if (kind == PolicyKind::kTrust) {
    if (resource || not_resource) {
      return Malformed("Has prohibited field Resource");
    }
  } else if (!resource && !not_resource) {
    return Malformed("Policy statement must contain resources.");
  } else {
    s.has_resource = true;
    s.not_resource = not_resource != nullptr;
    COFFER_ASSIGN_OR_RETURN(s.resources,
                            StringOrList(resource ? *resource : *not_resource, "Resource"));
    for (const auto& r : s.resources) COFFER_RETURN_IF_ERROR(ParseResource(r));
  }

  const auto* principal = o.if_contains("Principal");
  const auto* not_principal = o.if_contains("NotPrincipal");
  if (principal && not_principal) {
    return Malformed("A Statement cannot have both Principal and NotPrincipal");
  }
  if (kind == PolicyKind::kIdentity || kind == PolicyKind::kSession) {
    if (principal || not_principal) return Malformed("Has prohibited field Principal");
  } else if (!principal && !not_principal) {
    return Malformed("Statement is missing required field Principal");
  } else {
    s.has_principal = true;
    s.not_principal = not_principal != nullptr;
    COFFER_ASSIGN_OR_RETURN(s.principal, ParsePrincipal(principal ? *principal : *not_principal));
  }
  if (const auto* cond = o.if_contains("Condition")) {
    COFFER_ASSIGN_OR_RETURN(s.conditions, ParseConditions(*cond));
  }
  return s;
}

}  // namespace

const std::vector<std::string>* RequestFacts::Find(std::string_view lowercase_key) const {
  auto it = context.find(std::string(lowercase_key));
  return it == context.end() ? nullptr : &it->second;
}

bool WildcardMatch(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto eq = [ignore_case](char a, char b) {
    if (a == kLiteralStar) a = '*';
    if (a == kLiteralQuestion) a = '?';
    return ignore_case ? std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b))
                       : a == b;
  };
  // Iterative glob with one backtrack point: linear in practice, never exponential.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' || (pattern[p] != '*' && eq(pattern[p], text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct Policy::Impl {
  bool variables = false;  // Version 2012-10-17
  std::vector<Statement> statements;
};

Policy::Policy(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Policy::~Policy() = default;

Result<std::shared_ptr<const Policy>> Policy::Parse(std::string_view text, PolicyKind kind) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return Malformed("Syntax errors in policy.");
  if (!doc.is_object()) return Malformed("The policy must be a JSON object.");
  auto impl = std::make_unique<Impl>();
  const auto& o = doc.get_object();
  for (const auto& [k, v] : o) {
    if (k != "Version" && k != "Id" && k != "Statement") {
      return Malformed("Policy document contains an unknown element: " + std::string(k));
    }
  }
  if (const auto* version = o.if_contains("Version")) {
    if (!version->is_string() ||
        (version->get_string() != "2012-10-17" && version->get_string() != "2008-10-17")) {
      return Malformed("The policy must contain a valid version string");
    }
    impl->variables = version->get_string() == "2012-10-17";
  }
  const auto* statements = o.if_contains("Statement");
  if (statements == nullptr) return Malformed("Missing required field Statement");
  if (statements->is_object()) {
    COFFER_ASSIGN_OR_RETURN(auto s, ParseStatement(*statements, kind));
    impl->statements.push_back(std::move(s));
  } else if (statements->is_array() && !statements->get_array().empty()) {
    for (const auto& item : statements->get_array()) {
      COFFER_ASSIGN_OR_RETURN(auto s, ParseStatement(item, kind));
      impl->statements.push_back(std::move(s));
    }
  } else {
    return Malformed("Statement must be an object or a non-empty list");
  }
  return std::shared_ptr<const Policy>(new Policy(std::move(impl)));
}

StatementEffect Policy::Evaluate(const RequestFacts& r) const {
  StatementEffect out;
  bool direct_allow = false;
  for (const Statement& s : impl_->statements) {
    // Action: case-insensitive.
    bool action_hit = false;
    for (const auto& a : s.actions) {
      if (WildcardMatch(a, r.action, true)) {
        action_hit = true;
        break;
      }
    }
    if (action_hit == s.not_action) continue;
    // Resource: case-sensitive, with policy variables.
    if (s.has_resource) {
      bool resource_hit = false;
      for (const auto& pattern : s.resources) {
        if (impl_->variables) {
          auto sub = Substitute(pattern, r);
          if (sub && WildcardMatch(*sub, r.resource, false)) resource_hit = true;
        } else if (WildcardMatch(pattern, r.resource, false)) {
          resource_hit = true;
        }
        if (resource_hit) break;
      }
      if (resource_hit == s.not_resource) continue;
    }
    PrincipalMatch how = PrincipalMatch::kDirect;
    if (s.has_principal) {
      how = MatchPrincipal(s.principal, r);
      if (s.not_principal) {
        // NotPrincipal exempts only the principals it names exactly: listing an account or a
        // role (as AWS requires beside a user or session) does not exempt the account's other
        // users or the role's other sessions.
        // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
        how = how == PrincipalMatch::kExact ? PrincipalMatch::kNone : PrincipalMatch::kDirect;
      }
      if (how == PrincipalMatch::kNone) continue;
    }
    bool conditions_hold = true;
    for (const auto& c : s.conditions) {
      if (!ConditionHolds(c, r, impl_->variables)) {
        conditions_hold = false;
        break;
      }
    }
    if (!conditions_hold) continue;
    if (!s.allow) {
      out.deny = true;
    } else {
      out.allow = true;
      if (how != PrincipalMatch::kAccount) direct_allow = true;
      if (how == PrincipalMatch::kExact && s.has_principal && !s.not_principal) {
        out.allow_names_principal = true;
      }
    }
  }
  out.allow_via_account_only = out.allow && !direct_allow;
  return out;
}

bool Policy::GrantsPublicAccess() const {
  for (const Statement& s : impl_->statements) {
    if (!s.allow || !s.has_principal) continue;
    const bool everyone = s.not_principal || s.principal.any;
    if (!everyone) continue;
    // A condition on who is calling or from where narrows it to known parties.
    bool narrowed = false;
    for (const auto& c : s.conditions) {
      if (c.op.negated || c.if_exists) continue;
      if (c.key == "aws:principalaccount" || c.key == "aws:principalarn" ||
          c.key == "aws:principalorgid" || c.key == "aws:sourceaccount" ||
          c.key == "aws:sourcearn" || c.key == "aws:sourcevpc" || c.key == "aws:sourcevpce" ||
          c.key == "aws:principalorgpaths" || c.key == "aws:userid" || c.key == "aws:sourceip" ||
          c.key == "kms:calleraccount") {
        narrowed = true;
      }
    }
    if (!narrowed) return true;
  }
  return false;
}

Decision Authorize(const PolicySet& set, const RequestFacts& r) {
  StatementEffect identity, session, resource;
  for (const Policy* p : set.identity) {
    auto e = p->Evaluate(r);
    identity.allow |= e.allow;
    identity.deny |= e.deny;
  }
  for (const Policy* p : set.session) {
    auto e = p->Evaluate(r);
    session.allow |= e.allow;
    session.deny |= e.deny;
  }
  if (set.resource != nullptr) resource = set.resource->Evaluate(r);

  // 1. An explicit deny in any policy wins.
  if (identity.deny) return {Verdict::kExplicitDeny, "identity-based policy"};
  if (session.deny) return {Verdict::kExplicitDeny, "session policy"};
  if (resource.deny) return {Verdict::kExplicitDeny, "resource-based policy"};

  const bool identity_allows = set.principal_is_account_root || identity.allow;
  const bool resource_grants = resource.allow && !resource.allow_via_account_only;
  // A service principal has no account and no identity policies: only the resource policy
  // speaks for it.
  if (r.principal_account.empty()) {
    if (resource_grants) return {Verdict::kAllow, ""};
    return {Verdict::kImplicitDeny, "resource-based policy"};
  }
  const bool cross_account =
      !set.resource_account.empty() && set.resource_account != r.principal_account;

  Decision allowed{Verdict::kAllow, ""};
  auto within_session = [&](Decision d) -> Decision {
    // Session policies cap what identity policies and resource policies naming the role grant;
    // only a resource policy naming the session itself grants beyond them.
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
    if (d.allowed() && set.has_session_policies && !session.allow &&
        !resource.allow_names_principal) {
      return {Verdict::kImplicitDeny, "session policy"};
    }
    return d;
  };

  if (set.key_policy || set.trust_policy) {
    // https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html
    if (!resource.allow) return {Verdict::kImplicitDeny, "resource-based policy"};
    if (cross_account || resource.allow_via_account_only) {
      if (!identity_allows) return {Verdict::kImplicitDeny, "identity-based policy"};
    }
    return within_session(allowed);
  }
  if (cross_account) {
    if (!resource.allow) return {Verdict::kImplicitDeny, "resource-based policy"};
    if (!identity_allows) return {Verdict::kImplicitDeny, "identity-based policy"};
    return within_session(allowed);
  }
  if (identity_allows || resource_grants) return within_session(allowed);
  return {Verdict::kImplicitDeny, "identity-based policy"};
}

std::string Decision::Message(const RequestFacts& r) const {
  std::string who = r.principal_arn.empty() ? r.service_principal : r.principal_arn;
  std::string out =
      "User: " + who + " is not authorized to perform: " + r.action + " on resource: " + r.resource;
  if (verdict == Verdict::kExplicitDeny) {
    const char* article = !policy_type.empty() && std::string_view("aeiou").find(policy_type[0]) !=
                                                      std::string_view::npos
                              ? "an "
                              : "a ";
    return out + " with an explicit deny in " + article + policy_type;
  }
  return out + " because no " + policy_type + " allows the " + r.action + " action";
}

}  // namespace coffer::policy
