// Table-driven tests of the Condition element. Each row's condition guards an identity-policy
// Allow (see When() in policy_test_support.h) unless the row spells out its own policies.
// Expectations come from AWS's documentation, cited in each row's `rule`:
//   IAM UG operators  = IAM User Guide, reference_policies_elements_condition_operators.html
//   IAM UG condition  = reference_policies_elements_condition.html (AND/OR, key names)
//   IAM UG multi-value = reference_policies_condition-single-vs-multi-valued-context-keys.html,
//                        reference_policies_condition_examples-multi-valued-context-keys.html
//   IAM UG variables  = reference_policies_variables.html
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "policy/policy_test_support.h"

namespace coffer::policy {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace)

Context K(std::string key, std::vector<std::string> values) { return {{key, values}}; }
Context K(std::string key, std::string value) { return {{key, {value}}}; }
Context U(std::string name) { return K("aws:username", name); }
Context Tags(std::vector<std::string> keys) { return K("aws:tagkeys", keys); }
std::string Secret(std::string_view name) {
  return "arn:aws:secretsmanager:us-east-1:111122223333:secret:" + std::string(name);
}
constexpr const char* kGet = "secretsmanager:GetSecretValue";
const Context kNone;

TEST(PolicyCondition, StringOperators) {
  RunCases({
      When("IAM UG operators: StringEquals is exact matching",
           R"({"StringEquals":{"aws:username":"alice"}})", U("alice"), true),
      When("IAM UG operators: StringEquals is case-sensitive",
           R"({"StringEquals":{"aws:username":"alice"}})", U("Alice"), false),
      When("IAM UG operators: StringEquals treats * literally (no wildcards)",
           R"({"StringEquals":{"aws:username":"ali*"}})", U("alice"), false),
      When("IAM UG operators: StringNotEquals holds for a different value",
           R"({"StringNotEquals":{"aws:username":"bob"}})", U("alice"), true),
      When("IAM UG operators: StringNotEquals fails for the same value",
           R"({"StringNotEquals":{"aws:username":"alice"}})", U("alice"), false),
      When("IAM UG operators: StringEqualsIgnoreCase ignores case",
           R"({"StringEqualsIgnoreCase":{"aws:username":"ALICE"}})", U("alice"), true),
      When("IAM UG operators: StringEqualsIgnoreCase still needs equal text",
           R"({"StringEqualsIgnoreCase":{"aws:username":"bob"}})", U("alice"), false),
      When("IAM UG operators: StringNotEqualsIgnoreCase fails for a case variant",
           R"({"StringNotEqualsIgnoreCase":{"aws:username":"ALICE"}})", U("alice"), false),
      When("IAM UG operators: StringNotEqualsIgnoreCase holds for other text",
           R"({"StringNotEqualsIgnoreCase":{"aws:username":"bob"}})", U("alice"), true),
      When("IAM UG operators: StringLike * matches a run of characters",
           R"({"StringLike":{"aws:username":"ali*"}})", U("alice"), true),
      When("IAM UG operators: StringLike ? matches one character",
           R"({"StringLike":{"aws:username":"a?ice"}})", U("alice"), true),
      When("IAM UG operators: StringLike is case-sensitive",
           R"({"StringLike":{"aws:username":"A*"}})", U("alice"), false),
      When("IAM UG operators: StringLike ? does not match several characters",
           R"({"StringLike":{"aws:username":"a?e"}})", U("alice"), false),
      When("IAM UG operators: StringLike * alone matches any value",
           R"({"StringLike":{"aws:username":"*"}})", U("alice"), true),
      When("IAM UG operators: StringNotLike fails when the pattern matches",
           R"({"StringNotLike":{"aws:username":"ali*"}})", U("alice"), false),
      When("IAM UG operators: StringNotLike holds when the pattern does not match",
           R"({"StringNotLike":{"aws:username":"bob*"}})", U("alice"), true),
  });
}

TEST(PolicyCondition, NumericOperators) {
  const char* mk = "s3:max-keys";
  RunCases({
      When("IAM UG operators: NumericEquals matches an equal number",
           R"({"NumericEquals":{"s3:max-keys":"10"}})", K(mk, "10"), true),
      When("IAM UG operators: NumericEquals fails for a different number",
           R"({"NumericEquals":{"s3:max-keys":"10"}})", K(mk, "11"), false),
      When("IAM UG operators: NumericNotEquals holds for a different number",
           R"({"NumericNotEquals":{"s3:max-keys":"10"}})", K(mk, "11"), true),
      When("IAM UG operators: NumericNotEquals fails for an equal number",
           R"({"NumericNotEquals":{"s3:max-keys":"10"}})", K(mk, "10"), false),
      When("IAM UG operators: NumericLessThan holds below",
           R"({"NumericLessThan":{"s3:max-keys":"10"}})", K(mk, "9"), true),
      When("IAM UG operators: NumericLessThan fails at equality",
           R"({"NumericLessThan":{"s3:max-keys":"10"}})", K(mk, "10"), false),
      When("IAM UG operators: NumericLessThanEquals holds at equality",
           R"({"NumericLessThanEquals":{"s3:max-keys":"10"}})", K(mk, "10"), true),
      When("IAM UG operators: NumericLessThanEquals fails above",
           R"({"NumericLessThanEquals":{"s3:max-keys":"10"}})", K(mk, "11"), false),
      When("IAM UG operators: NumericGreaterThan holds above",
           R"({"NumericGreaterThan":{"s3:max-keys":"10"}})", K(mk, "11"), true),
      When("IAM UG operators: NumericGreaterThan fails at equality",
           R"({"NumericGreaterThan":{"s3:max-keys":"10"}})", K(mk, "10"), false),
      When("IAM UG operators: NumericGreaterThanEquals holds at equality",
           R"({"NumericGreaterThanEquals":{"s3:max-keys":"10"}})", K(mk, "10"), true),
      When("IAM UG operators: NumericGreaterThanEquals fails below",
           R"({"NumericGreaterThanEquals":{"s3:max-keys":"10"}})", K(mk, "9"), false),
      When("IAM UG operators: numeric values compare as numbers, not text",
           R"({"NumericLessThan":{"s3:max-keys":"10"}})", K(mk, "9.5"), true),
      When("IAM UG grammar: a condition value may be a JSON number",
           R"({"NumericEquals":{"s3:max-keys":10}})", K(mk, "10"), true),
  });
}

TEST(PolicyCondition, DateOperators) {
  const char* ct = "aws:currenttime";
  const char* now = "2020-01-01T12:00:00Z";  // epoch 1577880000
  RunCases({
      When("IAM UG operators: DateEquals matches the same instant",
           R"({"DateEquals":{"aws:CurrentTime":"2020-01-01T12:00:00Z"}})", K(ct, now), true),
      When("IAM UG operators: DateNotEquals fails for the same instant",
           R"({"DateNotEquals":{"aws:CurrentTime":"2020-01-01T12:00:00Z"}})", K(ct, now), false),
      When("IAM UG operators: DateNotEquals holds for another instant",
           R"({"DateNotEquals":{"aws:CurrentTime":"2021-01-01T12:00:00Z"}})", K(ct, now), true),
      When("IAM UG operators: DateLessThan holds before the date",
           R"({"DateLessThan":{"aws:CurrentTime":"2020-06-30T00:00:00Z"}})", K(ct, now), true),
      When("IAM UG operators: DateLessThan fails after the date",
           R"({"DateLessThan":{"aws:CurrentTime":"2019-12-31T00:00:00Z"}})", K(ct, now), false),
      When("IAM UG operators: DateLessThanEquals holds at the date",
           R"({"DateLessThanEquals":{"aws:CurrentTime":"2020-01-01T12:00:00Z"}})", K(ct, now),
           true),
      When("IAM UG operators: DateGreaterThan holds after the date",
           R"({"DateGreaterThan":{"aws:CurrentTime":"2019-12-31T23:59:59Z"}})", K(ct, now), true),
      When("IAM UG operators: DateGreaterThan fails at the date",
           R"({"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T12:00:00Z"}})", K(ct, now), false),
      When("IAM UG operators: DateGreaterThanEquals holds at the date",
           R"({"DateGreaterThanEquals":{"aws:CurrentTime":"2020-01-01T12:00:00Z"}})", K(ct, now),
           true),
      When("IAM UG operators: DateGreaterThanEquals fails before the date (date-only ISO 8601)",
           R"({"DateGreaterThanEquals":{"aws:CurrentTime":"2020-01-02"}})", K(ct, now), false),
      When("IAM UG operators: a date-only ISO 8601 value is midnight UTC",
           R"({"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}})", K(ct, now), true),
      When("IAM UG operators: date values may be epoch (UNIX) time",
           R"({"DateLessThan":{"aws:CurrentTime":"1577880001"}})", K(ct, now), true),
      When("IAM UG operators: an epoch value equal to the instant is not less than it",
           R"({"DateLessThan":{"aws:CurrentTime":"1577880000"}})", K(ct, now), false),
      When("IAM UG condition keys: aws:EpochTime compares with an ISO 8601 date",
           R"({"DateGreaterThan":{"aws:EpochTime":"2020-01-01T00:00:00Z"}})",
           K("aws:epochtime", "1577880000"), true),
      When("IAM UG condition keys: aws:EpochTime equals the same instant in ISO 8601",
           R"({"DateEquals":{"aws:EpochTime":"2020-01-01T12:00:00Z"}})",
           K("aws:epochtime", "1577880000"), true),
      When("ISO 8601: a UTC offset denotes the same instant",
           R"({"DateEquals":{"aws:CurrentTime":"2020-01-01T13:00:00+01:00"}})", K(ct, now), true),
  });
}

TEST(PolicyCondition, BoolBinaryIpArnNull) {
  const char* ip = "aws:sourceip";
  const char* pa = "aws:principalarn";
  RunCases({
      When("IAM UG operators: Bool matches true", R"({"Bool":{"aws:SecureTransport":"true"}})",
           K("aws:securetransport", "true"), true),
      When("IAM UG operators: Bool true does not match false",
           R"({"Bool":{"aws:SecureTransport":"true"}})", K("aws:securetransport", "false"), false),
      When("IAM UG grammar: a Bool value may be a JSON boolean",
           R"({"Bool":{"aws:SecureTransport":true}})", K("aws:securetransport", "true"), true),
      When("IAM UG operators: Bool with the key missing is false",
           R"({"Bool":{"aws:MultiFactorAuthPresent":"false"}})", kNone, false),
      When("IAM UG operators: BinaryEquals compares base-64 values",
           R"({"BinaryEquals":{"aws:binarykey":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}})",
           K("aws:binarykey", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="), true),
      When("IAM UG operators: BinaryEquals fails for other bytes",
           R"({"BinaryEquals":{"aws:binarykey":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}})",
           K("aws:binarykey", "b3RoZXI="), false),
      When("IAM UG operators: IpAddress matches inside a CIDR range",
           R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", K(ip, "203.0.113.5"), true),
      When("IAM UG operators: IpAddress fails outside the range",
           R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", K(ip, "198.51.100.1"), false),
      When("IAM UG operators: IpAddress respects the prefix length",
           R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/25"}})", K(ip, "203.0.113.200"), false),
      When("IAM UG operators: IpAddress accepts a single address",
           R"({"IpAddress":{"aws:SourceIp":"203.0.113.5"}})", K(ip, "203.0.113.5"), true),
      When("IAM UG operators: NotIpAddress holds outside the range",
           R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", K(ip, "198.51.100.1"), true),
      When("IAM UG operators: NotIpAddress fails inside the range",
           R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", K(ip, "203.0.113.5"), false),
      When("IAM UG operators: IpAddress matches IPv6 ranges",
           R"({"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}})",
           K(ip, "2001:db8:1234:5678::1"), true),
      When("IAM UG operators: IPv6 address outside the range",
           R"({"IpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}})",
           K(ip, "2001:db8:1234:5679::1"), false),
      When("IAM UG operators: an IPv4 range does not match an IPv6 address",
           R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", K(ip, "2001:db8::1"), false),
      When("IAM UG operators: IPv4 and IPv6 ranges together (values ORed)",
           R"({"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}})",
           K(ip, "2001:db8:1234:5678::9"), true),
      When("IAM UG operators: NotIpAddress with an IPv6 range, address outside",
           R"({"NotIpAddress":{"aws:SourceIp":"2001:DB8:1234:5678::/64"}})",
           K(ip, "2001:db8:ffff::1"), true),
      When("IAM UG operators: ArnEquals matches the same ARN",
           R"({"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}})",
           K(pa, kRole), true),
      When("IAM UG operators: ArnEquals components may hold wildcards",
           R"({"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})", K(pa, kRole),
           true),
      When("IAM UG operators: ArnLike matches per component",
           R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/app"}})", K(pa, kRole), true),
      When("IAM UG operators: ArnLike fails for another account",
           R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::444455556666:role/*"}})", K(pa, kRole),
           false),
      When("IAM UG operators: ARN matching is case-sensitive",
           R"({"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/APP"}})", K(pa, kRole),
           false),
      When(
          "IAM UG operators: ArnLike resource part may contain colons",
          R"({"ArnLike":{"aws:SourceArn":"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/*"}})",
          K("aws:sourcearn", kSecret), true),
      When("IAM UG operators: ArnNotEquals holds for another ARN",
           R"({"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/other"}})",
           K(pa, kRole), true),
      When("IAM UG operators: ArnNotEquals fails for the same ARN",
           R"({"ArnNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/app"}})",
           K(pa, kRole), false),
      When("IAM UG operators: ArnNotLike fails when the pattern matches",
           R"({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})",
           K(pa, kRole), false),
      When("IAM UG operators: ArnNotLike holds when the pattern does not match",
           R"({"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"}})",
           K(pa, kAlice), true),
      When("IAM UG operators: Null true holds when the key is absent",
           R"({"Null":{"aws:TokenIssueTime":"true"}})", kNone, true),
      When("IAM UG operators: Null true fails when the key is present",
           R"({"Null":{"aws:TokenIssueTime":"true"}})",
           K("aws:tokenissuetime", "2020-01-01T00:00:00Z"), false),
      When("IAM UG operators: Null false holds when the key is present",
           R"({"Null":{"aws:TokenIssueTime":"false"}})",
           K("aws:tokenissuetime", "2020-01-01T00:00:00Z"), true),
      When("IAM UG operators: Null false fails when the key is absent",
           R"({"Null":{"aws:TokenIssueTime":"false"}})", kNone, false),
  });
}

TEST(PolicyCondition, IfExistsAndMissingKeys) {
  const std::string deny_no_mfa =
      Doc({St("Allow", "*", "*"),
           St("Deny", "*", "*", R"({"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}})")});
  const std::string deny_bool =
      Doc({St("Allow", "*", "*"),
           St("Deny", "*", "*", R"({"Bool":{"aws:MultiFactorAuthPresent":"false"}})")});
  RunCases({
      When("IAM UG operators: ...IfExists is true when the key is absent",
           R"({"StringEqualsIfExists":{"aws:username":"bob"}})", kNone, true),
      When("IAM UG operators: ...IfExists evaluates normally when the key is present (false)",
           R"({"StringEqualsIfExists":{"aws:username":"bob"}})", U("alice"), false),
      When("IAM UG operators: ...IfExists evaluates normally when the key is present (true)",
           R"({"StringEqualsIfExists":{"aws:username":"alice"}})", U("alice"), true),
      When("IAM UG operators: NumericLessThanIfExists with the key absent",
           R"({"NumericLessThanIfExists":{"s3:max-keys":"10"}})", kNone, true),
      When("IAM UG operators: IpAddressIfExists with the key absent",
           R"({"IpAddressIfExists":{"aws:SourceIp":"203.0.113.0/24"}})", kNone, true),
      When("IAM UG operators: ArnLikeIfExists with the key absent",
           R"({"ArnLikeIfExists":{"aws:SourceArn":"arn:aws:sns:*:*:*"}})", kNone, true),
      When("IAM UG operators: DateLessThanIfExists with the key present and later",
           R"({"DateLessThanIfExists":{"aws:CurrentTime":"2019-01-01T00:00:00Z"}})",
           K("aws:currenttime", "2020-01-01T00:00:00Z"), false),
      When("IAM UG operators: a missing key makes StringEquals false",
           R"({"StringEquals":{"aws:username":"alice"}})", kNone, false),
      When("IAM UG operators: a missing key makes StringNotEquals true",
           R"({"StringNotEquals":{"aws:username":"alice"}})", kNone, true),
      When("IAM UG operators: a missing key makes StringNotLike true",
           R"({"StringNotLike":{"aws:username":"a*"}})", kNone, true),
      When("IAM UG operators: a missing key makes StringNotEqualsIgnoreCase true",
           R"({"StringNotEqualsIgnoreCase":{"aws:username":"a"}})", kNone, true),
      When("IAM UG operators: a missing key makes ArnNotLike true",
           R"({"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}})", kNone, true),
      When("IAM UG operators: a missing key makes NotIpAddress true",
           R"({"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", kNone, true),
      When("IAM UG operators: a missing key makes NumericEquals false",
           R"({"NumericEquals":{"s3:max-keys":"10"}})", kNone, false),
      When("IAM UG operators: a missing key makes DateGreaterThan false",
           R"({"DateGreaterThan":{"aws:CurrentTime":"2020-01-01"}})", kNone, false),
      When("IAM UG operators: a missing key makes ArnEquals false",
           R"({"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-1:111122223333:t"}})", kNone,
           false),
      When("IAM UG operators: a missing key makes IpAddress false",
           R"({"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}})", kNone, false),
      {.rule = "IAM UG operators (BoolIfExists example): long-term credentials carry no "
               "aws:MultiFactorAuthPresent, so the deny applies",
       .identity = {deny_no_mfa},
       .want = Verdict::kExplicitDeny},
      {.rule = "IAM UG operators (BoolIfExists example): MFA present false is denied",
       .identity = {deny_no_mfa},
       .context = K("aws:multifactorauthpresent", "false"),
       .want = Verdict::kExplicitDeny},
      {.rule = "IAM UG operators (BoolIfExists example): MFA present true is not denied",
       .identity = {deny_no_mfa},
       .context = K("aws:multifactorauthpresent", "true"),
       .want = Verdict::kAllow},
      {.rule = "IAM UG operators: plain Bool with the key absent does not deny",
       .identity = {deny_bool},
       .want = Verdict::kAllow},
  });
}

TEST(PolicyCondition, ValuesOrKeysAndOperatorsAnd) {
  const std::string two_statements =
      Doc({St("Allow", kGet, "*", R"({"StringEquals":{"aws:username":"bob"}})"),
           St("Allow", kGet, "*", R"({"StringEquals":{"aws:username":"alice"}})")});
  Context both = {{"aws:username", {"alice"}}, {"aws:principaltag/team", {"blue"}}};
  Context both_red = {{"aws:username", {"alice"}}, {"aws:principaltag/team", {"red"}}};
  Context tls = {{"aws:username", {"alice"}}, {"aws:securetransport", {"true"}}};
  RunCases({
      When("IAM UG condition: several values for one key are ORed",
           R"({"StringEquals":{"aws:username":["bob","alice"]}})", U("alice"), true),
      When("IAM UG condition: ORed values, none matching",
           R"({"StringEquals":{"aws:username":["bob","carol"]}})", U("alice"), false),
      When("IAM UG operators: a negated operator with several values is a NOR (one matches)",
           R"({"StringNotEquals":{"aws:username":["bob","alice"]}})", U("alice"), false),
      When("IAM UG operators: a negated operator with several values is a NOR (none match)",
           R"({"StringNotEquals":{"aws:username":["bob","carol"]}})", U("alice"), true),
      When("IAM UG operators: StringNotLike NOR over patterns",
           R"({"StringNotLike":{"aws:username":["b*","a*"]}})", U("alice"), false),
      When("IAM UG operators: NotIpAddress NOR over ranges",
           R"({"NotIpAddress":{"aws:SourceIp":["198.51.100.0/24","203.0.113.0/24"]}})",
           K("aws:sourceip", "203.0.113.7"), false),
      When("IAM UG condition: several keys under one operator are ANDed (all match)",
           R"({"StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"blue"}})", both,
           true),
      When("IAM UG condition: several keys under one operator are ANDed (one fails)",
           R"({"StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"blue"}})", both_red,
           false),
      When("IAM UG condition: ANDed keys fail when one key is missing",
           R"({"StringEquals":{"aws:username":"alice","aws:PrincipalTag/team":"blue"}})",
           U("alice"), false),
      When("IAM UG condition: several operators are ANDed (all hold)",
           R"({"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"true"}})",
           tls, true),
      When("IAM UG condition: several operators are ANDed (one fails)",
           R"({"StringEquals":{"aws:username":"alice"},"Bool":{"aws:SecureTransport":"false"}})",
           tls, false),
      {.rule = "IAM UG evaluation-logic: statements are ORed; any matching Allow grants",
       .identity = {two_statements},
       .context = U("alice"),
       .want = Verdict::kAllow},
      {.rule = "IAM UG evaluation-logic: ORed statements, none matching",
       .identity = {two_statements},
       .context = U("carol"),
       .want = Verdict::kImplicitDeny},
  });
}

TEST(PolicyCondition, SetOperators) {
  const char* all_eq = R"({"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}})";
  const char* any_eq = R"({"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}})";
  const char* all_ne = R"({"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}})";
  const char* any_ne = R"({"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env","team"]}})";
  // IAM UG multi-value examples: "DenyRestrictedTags" with ForAllValues:StringNotLike key1*.
  const std::string deny_tags =
      Doc({St("Allow", "*", "*"),
           St("Deny", "*", "*", R"({"ForAllValues:StringNotLike":{"aws:TagKeys":"key1*"}})")});
  RunCases({
      When("IAM UG multi-value: ForAllValues holds when every request value matches", all_eq,
           Tags({"env", "team"}), true),
      When("IAM UG multi-value: ForAllValues holds for a subset", all_eq, Tags({"env"}), true),
      When("IAM UG multi-value: ForAllValues fails when one value matches nothing", all_eq,
           Tags({"env", "owner"}), false),
      When("IAM UG multi-value: ForAllValues returns true when the key is missing", all_eq, kNone,
           true),
      When("IAM UG multi-value: ForAllValues returns true for an empty set", all_eq, Tags({}),
           true),
      When("IAM UG multi-value: ForAllValues with StringLike",
           R"({"ForAllValues:StringLike":{"aws:TagKeys":"key1*"}})", Tags({"key1:a", "key1:b"}),
           true),
      When("IAM UG multi-value: ForAllValues with a negated operator (none listed)", all_ne,
           Tags({"env", "team"}), true),
      When("IAM UG multi-value: ForAllValues with a negated operator (one listed)", all_ne,
           Tags({"env", "secret"}), false),
      When("IAM UG multi-value: ForAllValues with a negated operator, key missing", all_ne, kNone,
           true),
      When("IAM UG multi-value: ForAnyValue holds when one request value matches", any_eq,
           Tags({"env", "x"}), true),
      When("IAM UG multi-value: ForAnyValue fails when no request value matches", any_eq,
           Tags({"x", "y"}), false),
      When("IAM UG multi-value: ForAnyValue returns false when the key is missing", any_eq, kNone,
           false),
      When("IAM UG multi-value: ForAnyValue returns false for an empty set", any_eq, Tags({}),
           false),
      When("IAM UG multi-value: ForAnyValue with StringLike",
           R"({"ForAnyValue:StringLike":{"aws:TagKeys":"team*"}})", Tags({"x", "teamA"}), true),
      When("IAM UG multi-value: ForAnyValue with a negated operator (one value unlisted)", any_ne,
           Tags({"env", "owner"}), true),
      When("IAM UG multi-value: ForAnyValue with a negated operator (all listed)", any_ne,
           Tags({"env", "team"}), false),
      When("IAM UG multi-value: ForAnyValue with a negated operator, key missing", any_ne, kNone,
           false),
      When("IAM UG condition: set-operator key names are case-insensitive",
           R"({"ForAnyValue:StringEquals":{"AWS:TAGKEYS":"env"}})", Tags({"env"}), true),
      {.rule = "IAM UG multi-value example: key1:legal only - no match, not denied",
       .identity = {deny_tags},
       .context = Tags({"key1:legal"}),
       .want = Verdict::kAllow},
      {.rule = "IAM UG multi-value example: key1:hr, key1:personnel - no match, not denied",
       .identity = {deny_tags},
       .context = Tags({"key1:hr", "key1:personnel"}),
       .want = Verdict::kAllow},
      {.rule = "IAM UG multi-value example: key2:audit - match, denied",
       .identity = {deny_tags},
       .context = Tags({"key2:audit"}),
       .want = Verdict::kExplicitDeny},
      {.rule = "IAM UG multi-value example: no aws:TagKeys in the request - match, denied",
       .identity = {deny_tags},
       .want = Verdict::kExplicitDeny},
  });
}

TEST(PolicyCondition, PolicyVariablesAndKeyCase) {
  const std::string per_user = Allow(kGet, Secret("${aws:username}/*"));
  const std::string per_team = Allow(kGet, Secret("${aws:PrincipalTag/team, 'shared'}/*"));
  const std::string old_per_user =
      Doc({St("Allow", kGet, Secret("${aws:username}/*"))}, "2008-10-17");
  const std::string no_version = Doc({St("Allow", kGet, Secret("${aws:username}/*"))}, "");
  const char* owner_is_user = R"({"StringEquals":{"aws:ResourceTag/owner":"${aws:username}"}})";
  Context owner_alice = {{"aws:resourcetag/owner", {"alice"}}, {"aws:username", {"alice"}}};
  Context owner_bob = {{"aws:resourcetag/owner", {"bob"}}, {"aws:username", {"alice"}}};
  Context team_same = {{"aws:resourcetag/team", {"blue"}}, {"aws:principaltag/team", {"blue"}}};
  Context team_diff = {{"aws:resourcetag/team", {"blue"}}, {"aws:principaltag/team", {"red"}}};
  RunCases({
      {.rule = "IAM UG variables: ${aws:username} in Resource is replaced by the request value",
       .identity = {per_user},
       .resource = Secret("alice/db-AbCdEf"),
       .context = U("alice"),
       .want = Verdict::kAllow},
      {.rule = "IAM UG variables: the substituted Resource does not match other users' secrets",
       .identity = {per_user},
       .resource = Secret("alice/db-AbCdEf"),
       .context = U("bob"),
       .want = Verdict::kImplicitDeny},
      {.rule = "IAM UG variables: a variable with no value in the request matches nothing",
       .identity = {per_user},
       .resource = Secret("alice/db-AbCdEf"),
       .want = Verdict::kImplicitDeny},
      {.rule = "IAM UG variables: ${key, 'default'} uses the default when the key is absent",
       .identity = {per_team},
       .resource = Secret("shared/x-AbCdEf"),
       .want = Verdict::kAllow},
      {.rule = "IAM UG variables: ${key, 'default'} uses the request value when present",
       .identity = {per_team},
       .resource = Secret("blue/x-AbCdEf"),
       .context = K("aws:principaltag/team", "blue"),
       .want = Verdict::kAllow},
      {.rule = "IAM UG variables: with the key present the default is not used",
       .identity = {per_team},
       .resource = Secret("shared/x-AbCdEf"),
       .context = K("aws:principaltag/team", "blue"),
       .want = Verdict::kImplicitDeny},
      {.rule = "IAM UG variables: Version 2008-10-17 treats ${...} as literal text",
       .identity = {old_per_user},
       .resource = Secret("alice/db-AbCdEf"),
       .context = U("alice"),
       .want = Verdict::kImplicitDeny},
      {.rule = "IAM UG variables: Version 2008-10-17 matches the literal ${...} text",
       .identity = {old_per_user},
       .resource = Secret("${aws:username}/db-AbCdEf"),
       .context = U("alice"),
       .want = Verdict::kAllow},
      {.rule = "IAM UG Version: without Version, variables are treated as literal strings",
       .identity = {no_version},
       .resource = Secret("alice/db-AbCdEf"),
       .context = U("alice"),
       .want = Verdict::kImplicitDeny},
      When("IAM UG variables: ${aws:username} in a condition value", owner_is_user, owner_alice,
           true),
      When("IAM UG variables: a substituted condition value that differs", owner_is_user, owner_bob,
           false),
      When("IAM UG variables: a positive condition on a variable with no value is false",
           owner_is_user, K("aws:resourcetag/owner", "alice"), false),
      When("IAM UG variables: ${aws:PrincipalTag/team} matched against a resource tag",
           R"({"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}})", team_same,
           true),
      When("IAM UG variables: principal and resource tags that differ",
           R"({"StringEquals":{"aws:ResourceTag/team":"${aws:PrincipalTag/team}"}})", team_diff,
           false),
      When("IAM UG variables: the default value in a condition",
           R"({"StringEquals":{"aws:ResourceTag/owner":"${aws:username, 'nobody'}"}})",
           K("aws:resourcetag/owner", "nobody"), true),
      {.rule = "IAM UG variables: Version 2008-10-17 conditions compare with the literal text",
       .identity = {Doc({St("Allow", kGet, "*", owner_is_user)}, "2008-10-17")},
       .context = owner_alice,
       .want = Verdict::kImplicitDeny},
      When("IAM UG variables: ${*} stands for a literal * (matches *)",
           R"({"StringLike":{"aws:ResourceTag/name":"a${*}b"}})", K("aws:resourcetag/name", "a*b"),
           true),
      When("IAM UG variables: ${*} is a literal *, not a wildcard",
           R"({"StringLike":{"aws:ResourceTag/name":"a${*}b"}})",
           K("aws:resourcetag/name", "axyzb"), false),
      When("IAM UG condition: condition key names are case-insensitive",
           R"({"StringEquals":{"AWS:UserName":"alice"}})", U("alice"), true),
      When("IAM UG condition: tag key names in condition keys are case-insensitive",
           R"({"StringEquals":{"aws:PrincipalTag/Team":"blue"}})",
           K("aws:principaltag/team", "blue"), true),
      When("IAM UG condition: key names are case-insensitive but values are not",
           R"({"StringEquals":{"AWS:USERNAME":"ALICE"}})", U("alice"), false),
  });
}

}  // namespace
}  // namespace coffer::policy
