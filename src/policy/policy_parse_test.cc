// Table-driven tests of Policy::Parse validation (MalformedPolicyDocument) and of
// Policy::GrantsPublicAccess. Expectations come from AWS's documentation, cited in each row:
//   IAM UG grammar   = IAM User Guide, reference_policies_grammar.html
//   IAM UG elements  = reference_policies_elements_*.html (Version, Statement, Effect, ...)
//   IAM UG operators = reference_policies_elements_condition_operators.html
//   SM UG BPA        = Secrets Manager User Guide, PutResourcePolicy BlockPublicPolicy and
//                      determine-acccess_examine-iam-policies.html; S3 UG "The meaning of public"
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "policy/policy_test_support.h"

namespace coffer::policy {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace)

constexpr PolicyKind kId = PolicyKind::kIdentity;
constexpr PolicyKind kRes = PolicyKind::kResource;
constexpr PolicyKind kKeyKind = PolicyKind::kKey;
constexpr PolicyKind kTrust = PolicyKind::kTrust;
constexpr PolicyKind kSess = PolicyKind::kSession;

// A one-statement document around `statement_body` (the members inside the statement braces).
std::string One(std::string_view statement_body) {
  return R"({"Version":"2012-10-17","Statement":[{)" + std::string(statement_body) + "}]}";
}
// An identity statement that allows GetSecretValue on * under `condition`.
std::string WithCondition(std::string_view condition) {
  return One(R"("Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*",)"
             R"("Condition":)" +
             std::string(condition));
}
const std::string kGood =
    R"("Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*")";
const std::string kToAlice = R"("Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"})";

TEST(PolicyParse, RejectsMalformedDocuments) {
  RunParseCases({
      {.rule = "IAM UG grammar: a policy must be valid JSON",
       .kind = kId,
       .json = R"({"Version":"2012-10-17","Statement":[)"},
      {.rule = "IAM UG grammar: a policy is a JSON object", .kind = kId, .json = "[]"},
      {.rule = "IAM UG Statement: the Statement element is required",
       .kind = kId,
       .json = R"({"Version":"2012-10-17"})"},
      {.rule = "IAM UG Statement: an empty Statement list is not a policy",
       .kind = kId,
       .json = R"({"Version":"2012-10-17","Statement":[]})"},
      {.rule = "IAM UG grammar: each statement is a JSON object",
       .kind = kId,
       .json = R"({"Version":"2012-10-17","Statement":["Allow"]})"},
      {.rule = "IAM UG Version: only 2012-10-17 and 2008-10-17 are valid",
       .kind = kId,
       .json = R"({"Version":"2012-10-18","Statement":[{)" + kGood + "}]}"},
      {.rule = "IAM UG grammar: unknown top-level elements are rejected",
       .kind = kId,
       .json = R"({"Version":"2012-10-17","Foo":1,"Statement":[{)" + kGood + "}]}"},
      {.rule = "IAM UG Effect: Effect is required",
       .kind = kId,
       .json = One(R"("Action":"secretsmanager:GetSecretValue","Resource":"*")")},
      {.rule = "IAM UG Effect: valid values are Allow and Deny",
       .kind = kId,
       .json = One(R"("Effect":"Permit","Action":"secretsmanager:*","Resource":"*")")},
      {.rule = "IAM UG NotAction: a statement cannot have both Action and NotAction",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*")")},
      {.rule = "IAM UG Action: a statement must include Action or NotAction",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Resource":"*")")},
      {.rule = "IAM UG Action: an empty Action list names no actions",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":[],"Resource":"*")")},
      {.rule = "IAM UG Action: actions are prefixed by the service namespace",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":"GetSecretValue","Resource":"*")")},
      {.rule = "IAM UG Action: the vendor prefix cannot be empty",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":":GetSecretValue","Resource":"*")")},
      {.rule = "IAM UG Action: every action in a list needs a vendor prefix",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":["s3:GetObject","GetObject"],"Resource":"*")")},
      {.rule = "IAM UG Resource: identity-policy statements must include Resource",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":"s3:*")")},
      {.rule = "IAM UG NotResource: a statement cannot have both Resource and NotResource",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*")")},
      {.rule = "IAM UG Resource: a resource is an ARN or *",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":"s3:*","Resource":"mysecret")")},
      {.rule = "IAM UG Principal: identity-based policies cannot contain Principal",
       .kind = kId,
       .json = One(kGood + "," + kToAlice)},
      {.rule = "IAM UG NotPrincipal: identity-based policies cannot contain NotPrincipal",
       .kind = kId,
       .json = One(kGood + R"(,"NotPrincipal":{"AWS":"111122223333"})")},
      {.rule = "IAM UG session policies: session policies are identity-like; no Principal",
       .kind = kSess,
       .json = One(kGood + "," + kToAlice)},
      {.rule = "IAM UG Principal: resource-based policies must specify a principal",
       .kind = kRes,
       .json = One(kGood)},
      {.rule = "KMS DG key-policies: key policy statements must specify a principal",
       .kind = kKeyKind,
       .json = One(kGood)},
      {.rule = "IAM UG Principal: a role trust policy must specify a principal",
       .kind = kTrust,
       .json = One(R"("Effect":"Allow","Action":"sts:AssumeRole")")},
      {.rule = "IAM UG Resource: a role trust policy has no Resource element",
       .kind = kTrust,
       .json = One(R"("Effect":"Allow","Action":"sts:AssumeRole","Resource":"*",)"
                   R"("Principal":{"Service":"ec2.amazonaws.com"})")},
      {.rule = "IAM UG Principal: an AWS principal is an ARN, account id or *",
       .kind = kRes,
       .json = One(kGood + R"(,"Principal":{"AWS":"alice"})")},
      {.rule = "IAM UG Principal: unknown principal types are rejected",
       .kind = kRes,
       .json = One(kGood + R"(,"Principal":{"Robot":"x"})")},
      {.rule = "IAM UG Principal: a statement cannot have both Principal and NotPrincipal",
       .kind = kRes,
       .json = One(kGood + "," + kToAlice + R"(,"NotPrincipal":"*")")},
      {.rule = "IAM UG grammar: unknown statement elements are rejected",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Actions":"s3:*","Resource":"*")")},
      {.rule = "IAM UG Sid: Sid is a string", .kind = kId, .json = One(R"("Sid":1,)" + kGood)},
      {.rule = "IAM UG operators: unknown condition operators are rejected",
       .kind = kId,
       .json = WithCondition(R"({"StringEqualz":{"aws:username":"alice"}})")},
      {.rule = "IAM UG operators: IfExists cannot be added to Null",
       .kind = kId,
       .json = WithCondition(R"({"NullIfExists":{"aws:TokenIssueTime":"true"}})")},
      {.rule = "IAM UG operators: operator names are case-sensitive",
       .kind = kId,
       .json = WithCondition(R"({"stringequals":{"aws:username":"alice"}})")},
      {.rule = "IAM UG operators: IpAddress values must be IP addresses or CIDR ranges",
       .kind = kId,
       .json = WithCondition(R"({"IpAddress":{"aws:SourceIp":"not-an-ip"}})")},
      {.rule = "IAM UG operators: an IPv4 octet above 255 is not an address",
       .kind = kId,
       .json = WithCondition(R"({"IpAddress":{"aws:SourceIp":"300.1.1.1/24"}})")},
      {.rule = "IAM UG operators: an IPv4 prefix longer than 32 bits is invalid",
       .kind = kId,
       .json = WithCondition(R"({"NotIpAddress":{"aws:SourceIp":"10.0.0.0/33"}})")},
      {.rule = "IAM UG operators: an IPv6 prefix longer than 128 bits is invalid",
       .kind = kId,
       .json = WithCondition(R"({"IpAddress":{"aws:SourceIp":"2001:db8::/129"}})")},
      {.rule = "IAM UG grammar: condition values are strings, numbers or booleans",
       .kind = kId,
       .json = WithCondition(R"({"StringEquals":{"aws:username":{"x":1}}})")},
      {.rule = "IAM UG grammar: one malformed statement makes the whole policy malformed",
       .kind = kId,
       .json = R"({"Version":"2012-10-17","Statement":[{)" + kGood +
               R"(},{"Action":"s3:*","Resource":"*"}]})"},
  });
}

TEST(PolicyParse, AcceptsValidDocuments) {
  RunParseCases({
      {.rule = "IAM UG Statement: Statement may be a single object",
       .kind = kId,
       .json = R"({"Version":"2012-10-17","Statement":{)" + kGood + "}}",
       .ok = true},
      {.rule = "IAM UG Version: 2008-10-17 is a valid version",
       .kind = kId,
       .json = R"({"Version":"2008-10-17","Statement":[{)" + kGood + "}]}",
       .ok = true},
      {.rule = "IAM UG Version: Version is optional",
       .kind = kId,
       .json = R"({"Statement":[{)" + kGood + "}]}",
       .ok = true},
      {.rule = "IAM UG Id/Sid: optional identifiers are accepted",
       .kind = kId,
       .json = R"({"Version":"2012-10-17","Id":"p1","Statement":[{"Sid":"s1",)" + kGood + "}]}",
       .ok = true},
      {.rule = "IAM UG NotAction/NotResource: valid together",
       .kind = kId,
       .json = One(R"("Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::b/*")"),
       .ok = true},
      {.rule = "IAM UG Action: a list of actions and the * action",
       .kind = kId,
       .json = One(R"("Effect":"Allow","Action":["s3:Get*","*"],"Resource":["*"])"),
       .ok = true},
      {.rule = "IAM UG Principal: an account id delegates to the account",
       .kind = kRes,
       .json = One(kGood + R"(,"Principal":{"AWS":"111122223333"})"),
       .ok = true},
      {.rule = "IAM UG Principal: a list of AWS principals, including an assumed-role session",
       .kind = kRes,
       .json = One(kGood + R"(,"Principal":{"AWS":["arn:aws:iam::111122223333:root",)"
                           R"("arn:aws:sts::111122223333:assumed-role/app/s1"]})"),
       .ok = true},
      {.rule = "KMS DG key-policy-default: the default key policy",
       .kind = kKeyKind,
       .json = One(R"("Sid":"Enable IAM User Permissions","Effect":"Allow",)"
                   R"("Principal":{"AWS":"arn:aws:iam::111122223333:root"},)"
                   R"("Action":"kms:*","Resource":"*")"),
       .ok = true},
      {.rule = "IAM UG roles: a trust policy naming a service principal, without Resource",
       .kind = kTrust,
       .json = One(R"("Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},)"
                   R"("Action":"sts:AssumeRole")"),
       .ok = true},
      {.rule = "IAM UG NotPrincipal: valid with Deny in a resource policy",
       .kind = kRes,
       .json = One(R"("Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},)"
                   R"("Action":"*","Resource":"*")"),
       .ok = true},
      {.rule = "IAM UG session policies: a session policy without Principal",
       .kind = kSess,
       .json = One(kGood),
       .ok = true},
      {.rule = "IAM UG operators: set qualifiers and IfExists are accepted",
       .kind = kId,
       .json = WithCondition(R"({"ForAllValues:StringLike":{"aws:TagKeys":["a*"]},)"
                             R"("StringEqualsIfExists":{"aws:username":"x"}})"),
       .ok = true},
      {.rule = "IAM UG operators: IPv4 and IPv6 CIDR ranges are accepted",
       .kind = kId,
       .json = WithCondition(
           R"({"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:DB8:1234:5678::/64"]}})"),
       .ok = true},
      {.rule = "IAM UG grammar: condition values may be numbers and booleans",
       .kind = kId,
       .json = WithCondition(R"({"NumericLessThan":{"s3:max-keys":10},)"
                             R"("Bool":{"aws:SecureTransport":true}})"),
       .ok = true},
  });
}

std::string PublicDoc(std::string_view statements) {
  return R"({"Version":"2012-10-17","Statement":[)" + std::string(statements) + "]}";
}
const std::string kAct = R"("Action":"secretsmanager:GetSecretValue","Resource":"*")";

TEST(PolicyParse, GrantsPublicAccess) {
  RunPublicCases({
      {.rule = "SM UG BPA: Principal * with no condition grants public access",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":"*",)" + kAct + "}"),
       .is_public = true},
      {.rule = "SM UG BPA: {\"AWS\":\"*\"} grants public access",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":{"AWS":"*"},)" + kAct + "}"),
       .is_public = true},
      {.rule = "SM UG BPA: an account principal is not public",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":{"AWS":"111122223333"},)" + kAct + "}")},
      {.rule = "SM UG BPA: a named user is not public",
       .json = PublicDoc(R"({"Effect":"Allow",)" + kToAlice + "," + kAct + "}")},
      {.rule = "SM UG BPA: a service principal is not public",
       .json = PublicDoc(
           R"({"Effect":"Allow","Principal":{"Service":"secretsmanager.amazonaws.com"},)" + kAct +
           "}")},
      {.rule = "SM UG BPA: a Deny to everyone grants nothing",
       .json = PublicDoc(R"({"Effect":"Deny","Principal":"*",)" + kAct + "}")},
      {.rule = "SM UG BPA: Principal * fixed to an account by aws:PrincipalAccount is not public",
       .json =
           PublicDoc(R"({"Effect":"Allow","Principal":"*",)" + kAct +
                     R"(,"Condition":{"StringEquals":{"aws:PrincipalAccount":"111122223333"}}})")},
      {.rule = "SM UG BPA: Principal * fixed to an organization by aws:PrincipalOrgID is not "
               "public",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":"*",)" + kAct +
                         R"(,"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}})")},
      {.rule = "S3 UG meaning of public: fixed aws:SourceVpce values are not public",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":"*",)" + kAct +
                         R"(,"Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1a2b3c"}}})")},
      {.rule = "SM UG BPA: a negated condition does not narrow the grant",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":"*",)" + kAct +
                         R"(,"Condition":{"StringNotEquals":{"aws:PrincipalAccount":"1"}}})"),
       .is_public = true},
      {.rule = "SM UG BPA: a condition unrelated to the caller does not narrow the grant",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":"*",)" + kAct +
                         R"(,"Condition":{"Bool":{"aws:SecureTransport":"true"}}})"),
       .is_public = true},
      {.rule = "SM UG BPA: ...IfExists lets callers without the key through",
       .json = PublicDoc(R"({"Effect":"Allow","Principal":"*",)" + kAct +
                         R"(,"Condition":{"StringEqualsIfExists":{"aws:PrincipalAccount":"1"}}})"),
       .is_public = true},
      {.rule = "IAM UG NotPrincipal: Allow with NotPrincipal grants to all other principals",
       .json =
           PublicDoc(R"({"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},)" + kAct + "}"),
       .is_public = true},
      {.rule = "SM UG BPA: one public statement makes the policy public",
       .json = PublicDoc(R"({"Effect":"Allow",)" + kToAlice + "," + kAct +
                         R"(},{"Effect":"Allow","Principal":"*",)" + kAct + "}"),
       .is_public = true},
  });
}

}  // namespace
}  // namespace coffer::policy
