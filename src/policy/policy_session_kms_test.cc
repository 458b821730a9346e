// Table-driven tests of Authorize() for session policies, KMS key policies and the wording of
// Decision::Message. Expectations come from AWS's documentation, cited in each row's `rule`:
//   IAM UG session policies = IAM User Guide, access_policies.html#policies_session
//   KMS DG                  = KMS Developer Guide: key-policies.html, determining-access.html,
//                             key-policy-default.html, key-policy-modifying-external-accounts.html
//   IAM UG access-denied    = troubleshoot_access-denied.html (error message formats)
#include <gtest/gtest.h>

#include "policy/policy.h"
#include "policy/policy_test_support.h"

namespace coffer::policy {
namespace {

using namespace test_support;  // NOLINT(google-build-using-namespace)

std::string Aws(std::string_view principal) { return "{\"AWS\":" + Q(principal) + "}"; }

constexpr const char* kGet = "secretsmanager:GetSecretValue";
constexpr const char* kDecrypt = "kms:Decrypt";
const std::string kIdentityType = "identity-based policy";
const std::string kResourceType = "resource-based policy";
const std::string kSessionType = "session policy";

// KMS DG key-policy-default: "Allows access to the AWS account and enables IAM policies".
const std::string kDefaultKeyPolicy = Doc({St("Allow", "kms:*", "*", "", Aws(kRootArn))});

TEST(PolicyEval, SessionPolicies) {
  RunCases({
      {.rule = "IAM UG session policies: permissions are the intersection of the identity "
               "policy and the session policy",
       .identity = {Allow("*")},
       .session = {Allow(kGet)},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
      {.rule = "IAM UG session policies: what the session policy does not allow is denied",
       .identity = {Allow("*")},
       .session = {Allow("kms:*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kSessionType},
      {.rule = "IAM UG session policies: a broad session policy is limited by the identity "
               "policy",
       .identity = {Allow(kGet)},
       .session = {Allow("*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
      {.rule = "IAM UG session policies: session policies cannot grant more than the identity "
               "policy allows",
       .identity = {Allow("kms:*")},
       .session = {Allow("*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kIdentityType},
      {.rule = "IAM UG session policies: a session policy alone grants nothing",
       .session = {Allow("*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kIdentityType},
      {.rule = "STS GetFederationToken: with session policies required but none passed, the "
               "session has no permissions",
       .identity = {Allow("*")},
       .has_session_policies = true,
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kSessionType},
      {.rule = "IAM UG session policies: session policy conditions are evaluated (true)",
       .identity = {Allow("*")},
       .session = {Allow(kGet, "*", R"({"StringEquals":{"aws:RequestedRegion":"us-east-1"}})")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .context = {{"aws:requestedregion", {"us-east-1"}}},
       .want = Verdict::kAllow},
      {.rule = "IAM UG session policies: session policy conditions are evaluated (false)",
       .identity = {Allow("*")},
       .session = {Allow(kGet, "*", R"({"StringEquals":{"aws:RequestedRegion":"us-east-1"}})")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .context = {{"aws:requestedregion", {"eu-west-1"}}},
       .want = Verdict::kImplicitDeny,
       .want_type = kSessionType},
      {.rule = "IAM UG session policies: inline and managed session policies together; an "
               "allow in any of them counts",
       .identity = {Allow("*")},
       .session = {Allow("kms:*"), Allow(kGet)},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
      {.rule = "IAM UG session policies: \"A resource-based policy can specify the ARN of the "
               "session as a principal ... the permissions from the resource-based policy are "
               "added after the session policy is applied\"",
       .resource_policy = ResourceAllow(Aws(kSession)),
       .session = {Allow("kms:*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
      {.rule = "IAM UG session policies: \"A resource-based policy can specify the ARN of the "
               "user or role as a principal ... The session policy limits the total permissions "
               "granted by the resource-based policy and the identity-based policy\"",
       .resource_policy = ResourceAllow(Aws(kRole)),
       .session = {Allow("kms:*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kSessionType},
      {.rule = "IAM UG session policies: a resource policy naming the role grants within what "
               "the session policy allows",
       .resource_policy = ResourceAllow(Aws(kRole)),
       .session = {Allow(kGet)},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
      {.rule = "IAM UG evaluation-logic: without session policies a resource policy naming the "
               "role grants its sessions",
       .resource_policy = ResourceAllow(Aws(kRole)),
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
      {.rule = "IAM UG session policies: a resource policy naming only the account still "
               "passes through the session policy",
       .identity = {Allow("*")},
       .resource_policy = ResourceAllow(Aws(kAccount)),
       .session = {Allow("kms:*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kSessionType},
      {.rule = "IAM UG evaluation-logic: an explicit deny in a session policy wins over a "
               "resource policy naming the session",
       .resource_policy = ResourceAllow(Aws(kSession)),
       .session = {Deny(kGet)},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kExplicitDeny,
       .want_type = kSessionType},
  });
}

TEST(PolicyEval, KmsKeyPolicies) {
  RunCases({
      {.rule = "KMS DG key-policy-default: the default key policy enables IAM policies; an IAM "
               "allow then grants",
       .identity = {Allow(kDecrypt)},
       .resource_policy = kDefaultKeyPolicy,
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kAllow},
      {.rule = "KMS DG key-policy-default: delegating to the account does not by itself grant "
               "the account's users",
       .resource_policy = kDefaultKeyPolicy,
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kImplicitDeny,
       .want_type = kIdentityType},
      {.rule = "KMS DG key-policies: a key policy naming the user grants without an IAM policy",
       .resource_policy = ResourceAllow(Aws(kAlice), "kms:*"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kAllow},
      {.rule = "KMS DG key-policies: \"Unless the key policy explicitly allows it, you cannot use "
               "IAM policies to allow access to a KMS key\"",
       .identity = {Allow("kms:*")},
       .resource_policy = ResourceAllow(Aws(kCarol), "kms:*"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kImplicitDeny,
       .want_type = kResourceType},
      {.rule = "KMS DG key-policies: the account is enabled only for the actions the key "
               "policy lists",
       .identity = {Allow("kms:*")},
       .resource_policy = ResourceAllow(Aws(kRootArn), "kms:Encrypt"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kImplicitDeny,
       .want_type = kResourceType},
      {.rule = "KMS DG key-policies: \"You can use an IAM policy to deny a permission to a KMS "
               "key without permission from a key policy\"",
       .identity = {Deny(kDecrypt)},
       .resource_policy = ResourceAllow(Aws(kAlice), "kms:*"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kExplicitDeny,
       .want_type = kIdentityType},
      {.rule = "KMS DG key-policies: an IAM deny overrides the enabled IAM allow",
       .identity = {Allow("kms:*"), Deny(kDecrypt)},
       .resource_policy = kDefaultKeyPolicy,
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kExplicitDeny,
       .want_type = kIdentityType},
      {.rule = "KMS DG key-policies: \"explicitly allowed, and never denied\" - a deny in the key "
               "policy wins",
       .identity = {Allow("kms:*")},
       .resource_policy = Doc({St("Allow", "kms:*", "*", "", Aws(kRootArn)),
                               St("Deny", kDecrypt, "*", "", Aws(kAlice))}),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .want = Verdict::kExplicitDeny,
       .want_type = kResourceType},
      {.rule = "KMS DG key-policies: \"No AWS principal, including the account root user ... has "
               "any permissions to a KMS key unless they are explicitly allowed\"",
       .resource_policy = ResourceAllow(Aws(kCarol), "kms:*"),
       .root = true,
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kRootArn,
       .want = Verdict::kImplicitDeny,
       .want_type = kResourceType},
      {.rule = "KMS DG key-policy-default: the default key policy allows the account root user",
       .resource_policy = kDefaultKeyPolicy,
       .root = true,
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kRootArn,
       .want = Verdict::kAllow},
      {.rule = "KMS DG key-policies: a key policy naming a role grants its sessions",
       .resource_policy = ResourceAllow(Aws(kRole), "kms:*"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
  });
}

// Keys used across accounts, under conditions, through a service, and within session policies.
TEST(PolicyEval, KmsKeyPoliciesAcrossAccountsAndServices) {
  RunCases({
      {.rule = "KMS DG external accounts: the key policy trusting the account plus an IAM "
               "policy there grants",
       .identity = {Allow(kDecrypt)},
       .resource_policy = Doc({St("Allow", "kms:*", "*", "", Aws(kRootArn)),
                               St("Allow", kDecrypt, "*", "", Aws(kOtherRootArn))}),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kBob,
       .principal_account = kOtherAccount,
       .want = Verdict::kAllow},
      {.rule = "KMS DG external accounts: without an IAM policy in the external account the "
               "key policy's trust is not enough",
       .resource_policy = ResourceAllow(Aws(kOtherRootArn), kDecrypt),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kBob,
       .principal_account = kOtherAccount,
       .want = Verdict::kImplicitDeny,
       .want_type = kIdentityType},
      {.rule = "KMS DG external accounts: even a key policy naming the external user needs an "
               "IAM policy in that account",
       .resource_policy = ResourceAllow(Aws(kBob), kDecrypt),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kBob,
       .principal_account = kOtherAccount,
       .want = Verdict::kImplicitDeny,
       .want_type = kIdentityType},
      {.rule = "KMS DG external accounts: an IAM policy alone cannot reach another account's key",
       .identity = {Allow("kms:*")},
       .resource_policy = kDefaultKeyPolicy,
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kBob,
       .principal_account = kOtherAccount,
       .want = Verdict::kImplicitDeny,
       .want_type = kResourceType},
      {.rule = "KMS DG key-policies: Principal * limited by kms:CallerAccount grants callers of "
               "that account",
       .resource_policy = ResourceAllow(Aws("*"), "kms:*", "*",
                                        R"({"StringEquals":{"kms:CallerAccount":"111122223333"}})"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .context = {{"kms:calleraccount", {kAccount}}},
       .want = Verdict::kAllow},
      {.rule = "KMS DG key-policies: Principal * with an unmet condition grants nothing",
       .resource_policy = ResourceAllow(Aws("*"), "kms:*", "*",
                                        R"({"StringEquals":{"kms:CallerAccount":"999999999999"}})"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .context = {{"kms:calleraccount", {kAccount}}},
       .want = Verdict::kImplicitDeny,
       .want_type = kResourceType},
      {.rule = "KMS DG (AWS managed key for Secrets Manager): use through the service by "
               "callers of the account is allowed",
       .resource_policy =
           ResourceAllow(Aws("*"), R"(["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"])", "*",
                         R"({"StringEquals":{"kms:CallerAccount":"111122223333",)"
                         R"("kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}})"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .context = {{"kms:calleraccount", {kAccount}},
                   {"kms:viaservice", {"secretsmanager.us-east-1.amazonaws.com"}}},
       .want = Verdict::kAllow},
      {.rule = "KMS DG (AWS managed key for Secrets Manager): direct use, without kms:ViaService, "
               "is not allowed",
       .resource_policy =
           ResourceAllow(Aws("*"), R"(["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"])", "*",
                         R"({"StringEquals":{"kms:CallerAccount":"111122223333",)"
                         R"("kms:ViaService":"secretsmanager.us-east-1.amazonaws.com"}})"),
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .context = {{"kms:calleraccount", {kAccount}}},
       .want = Verdict::kImplicitDeny,
       .want_type = kResourceType},
      {.rule = "KMS DG + IAM UG session policies: a session policy limits key use enabled "
               "through IAM",
       .identity = {Allow("kms:*")},
       .resource_policy = kDefaultKeyPolicy,
       .session = {Allow("secretsmanager:*")},
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kSessionType},
      {.rule = "KMS DG + IAM UG session policies: within the session policy, key use enabled "
               "through IAM is allowed",
       .identity = {Allow("kms:*")},
       .resource_policy = kDefaultKeyPolicy,
       .session = {Allow(kDecrypt)},
       .key_policy = true,
       .action = kDecrypt,
       .resource = kKey,
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kAllow},
  });
}

std::string Refused(std::string_view who, std::string_view action, std::string_view resource,
                    std::string_view tail) {
  return "User: " + std::string(who) + " is not authorized to perform: " + std::string(action) +
         " on resource: " + std::string(resource) + std::string(tail);
}

TEST(PolicyEval, DecisionMessages) {
  RunCases({
      {.rule = "IAM UG access-denied: implicit deny names the missing identity-based policy",
       .want = Verdict::kImplicitDeny,
       .want_type = kIdentityType,
       .want_message = Refused(kAlice, kGet, kSecret,
                               " because no identity-based policy allows the "
                               "secretsmanager:GetSecretValue action")},
      {.rule = "IAM UG access-denied: \"with an explicit deny in an identity-based policy\"",
       .identity = {Deny(kGet)},
       .want = Verdict::kExplicitDeny,
       .want_type = kIdentityType,
       .want_message =
           Refused(kAlice, kGet, kSecret, " with an explicit deny in an identity-based policy")},
      {.rule = "IAM UG access-denied: \"with an explicit deny in a resource-based policy\"",
       .identity = {Allow("*")},
       .resource_policy = ResourceDeny("*"),
       .want = Verdict::kExplicitDeny,
       .want_type = kResourceType,
       .want_message =
           Refused(kAlice, kGet, kSecret, " with an explicit deny in a resource-based policy")},
      {.rule = "IAM UG access-denied: cross-account implicit deny names the resource-based policy",
       .identity = {Allow(kGet)},
       .principal_arn = kBob,
       .principal_account = kOtherAccount,
       .want = Verdict::kImplicitDeny,
       .want_type = kResourceType,
       .want_message = Refused(kBob, kGet, kSecret,
                               " because no resource-based policy allows the "
                               "secretsmanager:GetSecretValue action")},
      {.rule = "IAM UG access-denied: \"with an explicit deny in a session policy\"",
       .identity = {Allow("*")},
       .session = {Deny(kGet)},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kExplicitDeny,
       .want_type = kSessionType,
       .want_message =
           Refused(kSession, kGet, kSecret, " with an explicit deny in a session policy")},
      {.rule = "IAM UG access-denied: \"because no session policy allows the ... action\"",
       .identity = {Allow("*")},
       .session = {Allow("kms:*")},
       .principal_arn = kSession,
       .role_arn = kRole,
       .want = Verdict::kImplicitDeny,
       .want_type = kSessionType,
       .want_message = Refused(kSession, kGet, kSecret,
                               " because no session policy allows the "
                               "secretsmanager:GetSecretValue action")},
      {.rule = "IAM UG access-denied: the message names the action and resource requested",
       .action = "secretsmanager:DeleteSecret",
       .resource = kOtherSecret,
       .want = Verdict::kImplicitDeny,
       .want_message = Refused(kAlice, "secretsmanager:DeleteSecret", kOtherSecret,
                               " because no identity-based policy allows the "
                               "secretsmanager:DeleteSecret action")},
  });
}

}  // namespace
}  // namespace coffer::policy
