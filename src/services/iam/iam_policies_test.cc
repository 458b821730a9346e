// IAM: inline and managed policies, attachments, groups, tags, the simulator, authorization.
#include <gtest/gtest.h>

#include "services/iam/iam_test_fixture.h"

namespace coffer::iam::test_support {
namespace {

TEST_F(IamServiceTest, InlinePolicies) {
  Ok("CreateUser", {{"UserName", "gina"}});
  std::string doc = AllowPolicy("secretsmanager:GetSecretValue");
  EXPECT_EQ(
      Ok("PutUserPolicy", {{"UserName", "gina"}, {"PolicyName", "read"}, {"PolicyDocument", doc}}),
      "");
  std::string got = Ok("GetUserPolicy", {{"UserName", "gina"}, {"PolicyName", "read"}});
  EXPECT_EQ(First(got, "UserName"), "gina");
  EXPECT_EQ(First(got, "PolicyName"), "read");
  EXPECT_EQ(PercentDecode(First(got, "PolicyDocument"), false), doc);
  EXPECT_EQ(All(Ok("ListUserPolicies", {{"UserName", "gina"}}), "member"),
            (std::vector<std::string>{"read"}));
  EXPECT_EQ(Message("DeleteUser", {{"UserName", "gina"}}),
            "Cannot delete entity, must delete policies first.");

  // The user quota counts every inline policy of the user, without white space.
  std::string big = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[)";
  for (int i = 0; i < 88; ++i) big += std::string(i ? "," : "") + "\"s3:GetObjectVersion\"";
  big += R"(],"Resource":"*"}]})";
  ASSERT_GT(big.size(), 1950u);
  ASSERT_LT(big.size(), 2048u);
  auto too_big =
      Call("PutUserPolicy", {{"UserName", "gina"}, {"PolicyName", "big"}, {"PolicyDocument", big}});
  EXPECT_EQ(too_big.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(too_big.status().message(), "Maximum policy size of 2048 bytes exceeded for user gina");
  // Replacing a policy does not count the one it replaces; roles have room for more.
  Ok("PutUserPolicy", {{"UserName", "gina"}, {"PolicyName", "read"}, {"PolicyDocument", big}});
  Ok("CreateRole", {{"RoleName", "r"}, {"AssumeRolePolicyDocument", kTrust}});
  Ok("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "a"}, {"PolicyDocument", big}});
  Ok("PutRolePolicy", {{"RoleName", "r"}, {"PolicyName", "b"}, {"PolicyDocument", big}});
  EXPECT_EQ(All(Ok("ListRolePolicies", {{"RoleName", "r"}}), "member"),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(PercentDecode(First(Ok("GetRolePolicy", {{"RoleName", "r"}, {"PolicyName", "b"}}),
                                "PolicyDocument"),
                          false),
            big);

  EXPECT_EQ(Ok("DeleteUserPolicy", {{"UserName", "gina"}, {"PolicyName", "read"}}), "");
  EXPECT_EQ(Message("GetUserPolicy", {{"UserName", "gina"}, {"PolicyName", "read"}}),
            "The user policy with name read cannot be found.");
  EXPECT_EQ(Code("DeleteUserPolicy", {{"UserName", "gina"}, {"PolicyName", "read"}}),
            "NoSuchEntity");
  EXPECT_EQ(
      Code("PutUserPolicy", {{"UserName", "nobody"}, {"PolicyName", "p"}, {"PolicyDocument", doc}}),
      "NoSuchEntity");
  Ok("DeleteUser", {{"UserName", "gina"}});
}

TEST_F(IamServiceTest, ManagedPolicyVersions) {
  std::string created = Ok("CreatePolicy", {{"PolicyName", "ops"},
                                            {"Path", "/team/"},
                                            {"Description", "operators"},
                                            {"PolicyDocument", AllowPolicy("kms:Decrypt")}});
  std::string arn = First(created, "Arn");
  EXPECT_EQ(arn, "arn:aws:iam::123456789012:policy/team/ops");
  EXPECT_EQ(First(created, "DefaultVersionId"), "v1");
  EXPECT_EQ(First(created, "PolicyId").substr(0, 4), "ANPA");
  EXPECT_EQ(First(created, "AttachmentCount"), "0");
  EXPECT_EQ(First(created, "IsAttachable"), "true");
  // Policy names are unique in the account whatever the path.
  EXPECT_EQ(Code("CreatePolicy", {{"PolicyName", "OPS"}, {"PolicyDocument", kAllowAll}}),
            "EntityAlreadyExists");

  for (int v = 2; v <= 5; ++v) {
    std::string version = Ok("CreatePolicyVersion",
                             {{"PolicyArn", arn}, {"PolicyDocument", AllowPolicy("kms:Encrypt")}});
    EXPECT_EQ(First(version, "VersionId"), "v" + std::to_string(v));
    EXPECT_EQ(First(version, "IsDefaultVersion"), "false");
  }
  auto sixth =
      Call("CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", AllowPolicy("kms:*")}});
  EXPECT_EQ(sixth.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(All(Ok("ListPolicyVersions", {{"PolicyArn", arn}}), "VersionId"),
            (std::vector<std::string>{"v5", "v4", "v3", "v2", "v1"}));

  Ok("SetDefaultPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v3"}});
  EXPECT_EQ(First(Ok("GetPolicy", {{"PolicyArn", arn}}), "DefaultVersionId"), "v3");
  EXPECT_EQ(First(Ok("GetPolicy", {{"PolicyArn", arn}}), "Description"), "operators");
  std::string v3 = Ok("GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v3"}});
  EXPECT_EQ(First(v3, "IsDefaultVersion"), "true");
  EXPECT_EQ(PercentDecode(First(v3, "Document"), false), AllowPolicy("kms:Encrypt"));
  EXPECT_EQ(PercentDecode(First(Ok("GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v1"}}),
                                "Document"),
                          false),
            AllowPolicy("kms:Decrypt"));
  EXPECT_EQ(Code("GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v9"}}), "NoSuchEntity");
  EXPECT_EQ(Code("GetPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "9"}}), "ValidationError");
  EXPECT_EQ(Code("SetDefaultPolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v9"}}),
            "NoSuchEntity");

  auto default_delete = Call("DeletePolicyVersion", {{"PolicyArn", arn}, {"VersionId", "v3"}});
  EXPECT_EQ(default_delete.status().code(), ErrorCode::kDeleteConflict);
  EXPECT_EQ(default_delete.status().message(), "Cannot delete the default version of a policy.");
  EXPECT_EQ(Code("DeletePolicy", {{"PolicyArn", arn}}), "DeleteConflict");  // versions remain
  for (const char* v : {"v1", "v2", "v4"}) {
    Ok("DeletePolicyVersion", {{"PolicyArn", arn}, {"VersionId", v}});
  }
  // Room again: version numbers keep counting up.
  EXPECT_EQ(First(Ok("CreatePolicyVersion",
                     {{"PolicyArn", arn}, {"PolicyDocument", kAllowAll}, {"SetAsDefault", "true"}}),
                  "VersionId"),
            "v6");
  EXPECT_EQ(First(Ok("GetPolicy", {{"PolicyArn", arn}}), "DefaultVersionId"), "v6");
  for (const char* v : {"v3", "v5"}) {
    Ok("DeletePolicyVersion", {{"PolicyArn", arn}, {"VersionId", v}});
  }
  Ok("DeletePolicy", {{"PolicyArn", arn}});
  EXPECT_EQ(Code("GetPolicy", {{"PolicyArn", arn}}), "NoSuchEntity");
  EXPECT_EQ(Code("GetPolicy", {{"PolicyArn", "not-an-arn-at-all-really"}}), "InvalidInput");
}

TEST_F(IamServiceTest, AttachingManagedPolicies) {
  Ok("CreateUser", {{"UserName", "hal"}});
  std::string arn = NewPolicy("reader", AllowPolicy("s3:GetObject"));
  Ok("AttachUserPolicy", {{"UserName", "hal"}, {"PolicyArn", arn}});
  Ok("AttachUserPolicy", {{"UserName", "hal"}, {"PolicyArn", arn}});  // idempotent
  std::string attached = Ok("ListAttachedUserPolicies", {{"UserName", "hal"}});
  EXPECT_EQ(All(attached, "PolicyArn"), (std::vector<std::string>{arn}));
  EXPECT_EQ(All(attached, "PolicyName"), (std::vector<std::string>{"reader"}));
  EXPECT_TRUE(
      All(Ok("ListAttachedUserPolicies", {{"UserName", "hal"}, {"PathPrefix", "/x/"}}), "PolicyArn")
          .empty());
  EXPECT_EQ(First(Ok("GetPolicy", {{"PolicyArn", arn}}), "AttachmentCount"), "1");

  NewPolicy("unused");
  EXPECT_EQ(All(Ok("ListPolicies", {{"OnlyAttached", "true"}}), "PolicyName"),
            (std::vector<std::string>{"reader"}));
  EXPECT_EQ(All(Ok("ListPolicies", {{"Scope", "Local"}}), "PolicyName"),
            (std::vector<std::string>{"reader", "unused"}));
  EXPECT_TRUE(All(Ok("ListPolicies", {{"Scope", "AWS"}}), "PolicyName").empty());
  EXPECT_EQ(Code("ListPolicies", {{"Scope", "Everything"}}), "ValidationError");

  EXPECT_EQ(Message("DeletePolicy", {{"PolicyArn", arn}}),
            "Cannot delete a policy attached to entities.");
  EXPECT_EQ(Message("DeleteUser", {{"UserName", "hal"}}),
            "Cannot delete entity, must detach all policies first.");

  auto aws_managed =
      Call("AttachUserPolicy",
           {{"UserName", "hal"}, {"PolicyArn", "arn:aws:iam::aws:policy/ReadOnlyAccess"}});
  EXPECT_EQ(aws_managed.status().code(), ErrorCode::kNoSuchEntity);
  EXPECT_NE(aws_managed.status().message().find("coffer has no AWS managed policies"),
            std::string::npos);
  EXPECT_EQ(Code("AttachUserPolicy",
                 {{"UserName", "hal"}, {"PolicyArn", "arn:aws:iam::123456789012:policy/none"}}),
            "NoSuchEntity");
  EXPECT_EQ(Code("AttachUserPolicy",
                 {{"UserName", "hal"}, {"PolicyArn", "arn:aws:s3:::bucket-name-here"}}),
            "InvalidInput");
  EXPECT_EQ(Code("AttachUserPolicy", {{"UserName", "nobody"}, {"PolicyArn", arn}}), "NoSuchEntity");

  // Ten managed policies per user.
  for (int i = 0; i < 9; ++i) {
    Ok("AttachUserPolicy",
       {{"UserName", "hal"}, {"PolicyArn", NewPolicy("extra" + std::to_string(i))}});
  }
  EXPECT_EQ(Message("AttachUserPolicy", {{"UserName", "hal"}, {"PolicyArn", NewPolicy("x")}}),
            "Cannot exceed quota for PoliciesPerUser: 10");

  Ok("DetachUserPolicy", {{"UserName", "hal"}, {"PolicyArn", arn}});
  EXPECT_EQ(Code("DetachUserPolicy", {{"UserName", "hal"}, {"PolicyArn", arn}}), "NoSuchEntity");
  EXPECT_EQ(First(Ok("GetPolicy", {{"PolicyArn", arn}}), "AttachmentCount"), "0");
  Ok("DeletePolicy", {{"PolicyArn", arn}});

  Ok("CreateRole", {{"RoleName", "r"}, {"AssumeRolePolicyDocument", kTrust}});
  std::string role_policy = NewPolicy("rp");
  Ok("AttachRolePolicy", {{"RoleName", "r"}, {"PolicyArn", role_policy}});
  EXPECT_EQ(All(Ok("ListAttachedRolePolicies", {{"RoleName", "r"}}), "PolicyArn"),
            (std::vector<std::string>{role_policy}));
  EXPECT_EQ(Message("DeleteRole", {{"RoleName", "r"}}),
            "Cannot delete entity, must detach all policies first.");
  Ok("DetachRolePolicy", {{"RoleName", "r"}, {"PolicyArn", role_policy}});
  Ok("DeleteRole", {{"RoleName", "r"}});
}

TEST_F(IamServiceTest, Groups) {
  std::string created = Ok("CreateGroup", {{"GroupName", "admins"}, {"Path", "/ops/"}});
  EXPECT_EQ(First(created, "Arn"), "arn:aws:iam::123456789012:group/ops/admins");
  EXPECT_EQ(First(created, "GroupId").substr(0, 4), "AGPA");
  EXPECT_EQ(Code("CreateGroup", {{"GroupName", "Admins"}}), "EntityAlreadyExists");
  Ok("CreateUser", {{"UserName", "ivy"}});
  Ok("CreateUser", {{"UserName", "jack"}});
  Ok("AddUserToGroup", {{"GroupName", "admins"}, {"UserName", "ivy"}});
  Ok("AddUserToGroup", {{"GroupName", "admins"}, {"UserName", "jack"}});
  Ok("AddUserToGroup", {{"GroupName", "admins"}, {"UserName", "jack"}});  // already a member
  EXPECT_EQ(Code("AddUserToGroup", {{"GroupName", "admins"}, {"UserName", "nobody"}}),
            "NoSuchEntity");
  EXPECT_EQ(Code("AddUserToGroup", {{"GroupName", "nogroup"}, {"UserName", "ivy"}}),
            "NoSuchEntity");

  std::string group = Ok("GetGroup", {{"GroupName", "admins"}});
  EXPECT_EQ(First(group, "GroupName"), "admins");
  EXPECT_EQ(All(group, "UserName"), (std::vector<std::string>{"ivy", "jack"}));
  EXPECT_EQ(ListAll("GetGroup", {{"GroupName", "admins"}}, "UserName", 1),
            (std::vector<std::string>{"ivy", "jack"}));
  EXPECT_EQ(All(Ok("ListGroupsForUser", {{"UserName", "ivy"}}), "GroupName"),
            (std::vector<std::string>{"admins"}));
  EXPECT_EQ(All(Ok("ListGroups", {}), "GroupName"), (std::vector<std::string>{"admins"}));

  EXPECT_EQ(Message("DeleteGroup", {{"GroupName", "admins"}}),
            "Cannot delete entity, must remove users from group first.");
  EXPECT_EQ(Message("DeleteUser", {{"UserName", "ivy"}}),
            "Cannot delete entity, must remove user from all groups first.");
  Ok("RemoveUserFromGroup", {{"GroupName", "admins"}, {"UserName", "ivy"}});
  Ok("RemoveUserFromGroup", {{"GroupName", "admins"}, {"UserName", "jack"}});
  EXPECT_EQ(Code("RemoveUserFromGroup", {{"GroupName", "admins"}, {"UserName", "jack"}}),
            "NoSuchEntity");
  Ok("DeleteUser", {{"UserName", "ivy"}});

  Ok("PutGroupPolicy",
     {{"GroupName", "admins"}, {"PolicyName", "all"}, {"PolicyDocument", kAllowAll}});
  EXPECT_EQ(
      PercentDecode(First(Ok("GetGroupPolicy", {{"GroupName", "admins"}, {"PolicyName", "all"}}),
                          "PolicyDocument"),
                    false),
      kAllowAll);
  EXPECT_EQ(All(Ok("ListGroupPolicies", {{"GroupName", "admins"}}), "member"),
            (std::vector<std::string>{"all"}));
  EXPECT_EQ(Message("DeleteGroup", {{"GroupName", "admins"}}),
            "Cannot delete entity, must delete policies first.");
  Ok("DeleteGroupPolicy", {{"GroupName", "admins"}, {"PolicyName", "all"}});
  std::string arn = NewPolicy("gp");
  Ok("AttachGroupPolicy", {{"GroupName", "admins"}, {"PolicyArn", arn}});
  EXPECT_EQ(All(Ok("ListAttachedGroupPolicies", {{"GroupName", "admins"}}), "PolicyArn"),
            (std::vector<std::string>{arn}));
  EXPECT_EQ(Message("DeleteGroup", {{"GroupName", "admins"}}),
            "Cannot delete entity, must detach all policies first.");
  Ok("DetachGroupPolicy", {{"GroupName", "admins"}, {"PolicyArn", arn}});
  Ok("DeleteGroup", {{"GroupName", "admins"}});
  EXPECT_EQ(Code("GetGroup", {{"GroupName", "admins"}}), "NoSuchEntity");
}

TEST_F(IamServiceTest, Tags) {
  std::string created = Ok("CreateUser", {{"UserName", "kim"},
                                          {"Tags.member.1.Key", "Team"},
                                          {"Tags.member.1.Value", "blue"},
                                          {"Tags.member.2.Key", "env"},
                                          {"Tags.member.2.Value", ""}});
  EXPECT_EQ(All(created, "Key"), (std::vector<std::string>{"Team", "env"}));
  // The request's tags reach the authorizer as condition keys.
  const AuthzCheck& check = authz_.checks.back();
  EXPECT_EQ(check.action, "iam:CreateUser");
  ASSERT_TRUE(check.context.count("aws:requesttag/team"));
  EXPECT_EQ(check.context.at("aws:requesttag/team"), (std::vector<std::string>{"blue"}));
  EXPECT_EQ(check.context.at("aws:tagkeys"), (std::vector<std::string>{"Team", "env"}));

  // Keys are case-insensitive: "team" replaces "Team".
  Ok("TagUser",
     {{"UserName", "kim"}, {"Tags.member.1.Key", "team"}, {"Tags.member.1.Value", "red"}});
  EXPECT_EQ(authz_.checks.back().context.at("aws:resourcetag/team"),
            (std::vector<std::string>{"blue"}));
  std::string tags = Ok("ListUserTags", {{"UserName", "kim"}});
  EXPECT_EQ(All(tags, "Key"), (std::vector<std::string>{"team", "env"}));
  EXPECT_EQ(All(tags, "Value"), (std::vector<std::string>{"red", ""}));

  Ok("UntagUser", {{"UserName", "kim"}, {"TagKeys.member.1", "ENV"}});
  EXPECT_EQ(authz_.checks.back().context.at("aws:tagkeys"), (std::vector<std::string>{"ENV"}));
  EXPECT_EQ(All(Ok("ListUserTags", {{"UserName", "kim"}}), "Key"),
            (std::vector<std::string>{"team"}));
  EXPECT_EQ(All(Ok("GetUser", {{"UserName", "kim"}}), "Key"), (std::vector<std::string>{"team"}));

  EXPECT_EQ(Code("TagUser", {{"UserName", "kim"},
                             {"Tags.member.1.Key", "a"},
                             {"Tags.member.1.Value", "1"},
                             {"Tags.member.2.Key", "A"},
                             {"Tags.member.2.Value", "2"}}),
            "InvalidInput");
  EXPECT_EQ(
      Code("TagUser",
           {{"UserName", "kim"}, {"Tags.member.1.Key", "aws:owner"}, {"Tags.member.1.Value", "x"}}),
      "InvalidInput");
  EXPECT_EQ(Code("TagUser", {{"UserName", "kim"}, {"Tags.member.1.Key", "a"}}), "ValidationError");
  EXPECT_EQ(Code("TagUser", {{"UserName", "kim"},
                             {"Tags.member.1.Key", std::string(129, 'k')},
                             {"Tags.member.1.Value", "x"}}),
            "ValidationError");

  // Fifty tags per user.
  Params fifty{{"UserName", "kim"}};
  for (int i = 1; i <= 50; ++i) {
    fifty["Tags.member." + std::to_string(i) + ".Key"] = "k" + std::to_string(i);
    fifty["Tags.member." + std::to_string(i) + ".Value"] = "v";
  }
  EXPECT_EQ(Code("TagUser", fifty), "LimitExceeded");  // with "team": 51
  Ok("UntagUser", {{"UserName", "kim"}, {"TagKeys.member.1", "team"}});
  EXPECT_EQ(Code("TagUser", fifty), "OK");
  EXPECT_EQ(ListAll("ListUserTags", {{"UserName", "kim"}}, "Key", 20).size(), 50u);

  Ok("CreateRole", {{"RoleName", "r"},
                    {"AssumeRolePolicyDocument", kTrust},
                    {"Tags.member.1.Key", "owner"},
                    {"Tags.member.1.Value", "kim"}});
  Ok("TagRole", {{"RoleName", "r"}, {"Tags.member.1.Key", "tier"}, {"Tags.member.1.Value", "1"}});
  EXPECT_EQ(All(Ok("ListRoleTags", {{"RoleName", "r"}}), "Key"),
            (std::vector<std::string>{"owner", "tier"}));
  Ok("UntagRole", {{"RoleName", "r"}, {"TagKeys.member.1", "owner"}});
  EXPECT_EQ(All(Ok("GetRole", {{"RoleName", "r"}}), "Key"), (std::vector<std::string>{"tier"}));
}

TEST_F(IamServiceTest, SimulateCustomPolicy) {
  Params p{{"PolicyInputList.member.1", AllowPolicy("s3:Get*", "arn:aws:s3:::bucket/*")},
           {"PolicyInputList.member.2", DenyPolicy("s3:GetObject", "arn:aws:s3:::bucket/secret")},
           {"ActionNames.member.1", "s3:GetObject"},
           {"ActionNames.member.2", "s3:PutObject"},
           {"ResourceArns.member.1", "arn:aws:s3:::bucket/public"},
           {"ResourceArns.member.2", "arn:aws:s3:::bucket/secret"}};
  std::string xml = Ok("SimulateCustomPolicy", p);
  EXPECT_EQ(All(xml, "EvalActionName"), (std::vector<std::string>{"s3:GetObject", "s3:GetObject",
                                                                  "s3:PutObject", "s3:PutObject"}));
  EXPECT_EQ(All(xml, "EvalResourceName"),
            (std::vector<std::string>{"arn:aws:s3:::bucket/public", "arn:aws:s3:::bucket/secret",
                                      "arn:aws:s3:::bucket/public", "arn:aws:s3:::bucket/secret"}));
  EXPECT_EQ(All(xml, "EvalDecision"),
            (std::vector<std::string>{"allowed", "explicitDeny", "implicitDeny", "implicitDeny"}));
  EXPECT_EQ(All(xml, "SourcePolicyId"),
            (std::vector<std::string>{"PolicyInputList.1", "PolicyInputList.2"}));
  EXPECT_EQ(authz_.checks.back().action, "iam:SimulateCustomPolicy");
  EXPECT_EQ(authz_.checks.back().resource, "*");

  // Conditions see the context entries.
  std::string conditional =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{"StringEquals":{"aws:RequestTag/team":"blue"}}}]})";
  Params with_context{{"PolicyInputList.member.1", conditional},
                      {"ActionNames.member.1", "kms:Decrypt"},
                      {"ContextEntries.member.1.ContextKeyName", "aws:RequestTag/team"},
                      {"ContextEntries.member.1.ContextKeyValues.member.1", "blue"},
                      {"ContextEntries.member.1.ContextKeyType", "string"}};
  EXPECT_EQ(First(Ok("SimulateCustomPolicy", with_context), "EvalDecision"), "allowed");
  with_context["ContextEntries.member.1.ContextKeyValues.member.1"] = "red";
  EXPECT_EQ(First(Ok("SimulateCustomPolicy", with_context), "EvalDecision"), "implicitDeny");

  // A permissions boundary caps what the identity policy grants.
  Params bounded{{"PolicyInputList.member.1", kAllowAll},
                 {"PermissionsBoundaryPolicyInputList.member.1", AllowPolicy("s3:*")},
                 {"ActionNames.member.1", "s3:GetObject"},
                 {"ActionNames.member.2", "kms:Decrypt"}};
  EXPECT_EQ(All(Ok("SimulateCustomPolicy", bounded), "EvalDecision"),
            (std::vector<std::string>{"allowed", "implicitDeny"}));

  EXPECT_EQ(Code("SimulateCustomPolicy",
                 {{"PolicyInputList.member.1", "{oops"}, {"ActionNames.member.1", "s3:GetObject"}}),
            "MalformedPolicyDocument");
  EXPECT_EQ(Code("SimulateCustomPolicy", {{"ActionNames.member.1", "s3:GetObject"}}),
            "ValidationError");
  EXPECT_EQ(Code("SimulateCustomPolicy", {{"PolicyInputList.member.1", kAllowAll}}),
            "ValidationError");
}

TEST_F(IamServiceTest, SimulatePrincipalPolicyGathersUserGroupAndAttachedPolicies) {
  std::string user_arn = First(Ok("CreateUser", {{"UserName", "lee"}}), "Arn");
  Ok("PutUserPolicy", {{"UserName", "lee"},
                       {"PolicyName", "own"},
                       {"PolicyDocument", AllowPolicy("secretsmanager:GetSecretValue")}});
  Ok("CreateGroup", {{"GroupName", "readers"}});
  Ok("PutGroupPolicy", {{"GroupName", "readers"},
                        {"PolicyName", "group-read"},
                        {"PolicyDocument", AllowPolicy("ssm:GetParameter")}});
  Ok("AddUserToGroup", {{"GroupName", "readers"}, {"UserName", "lee"}});
  Ok("AttachUserPolicy",
     {{"UserName", "lee"}, {"PolicyArn", NewPolicy("no-kms", DenyPolicy("kms:*"))}});
  // Policy variables resolve against the simulated user.
  Ok("PutUserPolicy",
     {{"UserName", "lee"},
      {"PolicyName", "home"},
      {"PolicyDocument", AllowPolicy("s3:PutObject", "arn:aws:s3:::home/${aws:username}/*")}});

  Params p{{"PolicySourceArn", user_arn},
           {"ActionNames.member.1", "secretsmanager:GetSecretValue"},
           {"ActionNames.member.2", "ssm:GetParameter"},
           {"ActionNames.member.3", "kms:Decrypt"},
           {"ActionNames.member.4", "sqs:SendMessage"}};
  std::string xml = Ok("SimulatePrincipalPolicy", p);
  EXPECT_EQ(All(xml, "EvalDecision"),
            (std::vector<std::string>{"allowed", "allowed", "explicitDeny", "implicitDeny"}));
  EXPECT_EQ(All(xml, "SourcePolicyType"),
            (std::vector<std::string>{"user", "group", "user-managed"}));
  EXPECT_EQ(authz_.checks.back().action, "iam:SimulatePrincipalPolicy");
  EXPECT_EQ(authz_.checks.back().resource, user_arn);

  Params home{{"PolicySourceArn", user_arn},
              {"ActionNames.member.1", "s3:PutObject"},
              {"ResourceArns.member.1", "arn:aws:s3:::home/lee/notes"},
              {"ResourceArns.member.2", "arn:aws:s3:::home/other/notes"}};
  EXPECT_EQ(All(Ok("SimulatePrincipalPolicy", home), "EvalDecision"),
            (std::vector<std::string>{"allowed", "implicitDeny"}));

  EXPECT_EQ(
      Code("SimulatePrincipalPolicy", {{"PolicySourceArn", "arn:aws:iam::123456789012:user/ghost"},
                                       {"ActionNames.member.1", "s3:GetObject"}}),
      "NoSuchEntity");
}

TEST_F(IamServiceTest, EveryActionAsksTheAuthorizerFirst) {
  // Each entry: the call, then the action name and resource ARN the authorizer must see.
  struct Expectation {
    std::string action;
    Params params;
    std::string iam_action;
    std::string resource;
  };
  const std::string user = "arn:aws:iam::123456789012:user/team/mia";
  const std::string role = "arn:aws:iam::123456789012:role/svc";
  const std::string group = "arn:aws:iam::123456789012:group/devs";
  const std::string policy = "arn:aws:iam::123456789012:policy/p";
  std::vector<Expectation> cases = {
      {"CreateUser", {{"UserName", "mia"}, {"Path", "/team/"}}, "iam:CreateUser", user},
      {"GetUser", {{"UserName", "mia"}}, "iam:GetUser", user},
      {"ListUsers", {}, "iam:ListUsers", "*"},
      {"TagUser",
       {{"UserName", "mia"}, {"Tags.member.1.Key", "a"}, {"Tags.member.1.Value", "b"}},
       "iam:TagUser",
       user},
      {"ListUserTags", {{"UserName", "mia"}}, "iam:ListUserTags", user},
      {"UntagUser", {{"UserName", "mia"}, {"TagKeys.member.1", "a"}}, "iam:UntagUser", user},
      {"CreateAccessKey", {{"UserName", "mia"}}, "iam:CreateAccessKey", user},
      {"ListAccessKeys", {{"UserName", "mia"}}, "iam:ListAccessKeys", user},
      {"CreateRole",
       {{"RoleName", "svc"}, {"AssumeRolePolicyDocument", kTrust}},
       "iam:CreateRole",
       role},
      {"GetRole", {{"RoleName", "svc"}}, "iam:GetRole", role},
      {"ListRoles", {}, "iam:ListRoles", "*"},
      {"UpdateRole", {{"RoleName", "svc"}, {"Description", "d"}}, "iam:UpdateRole", role},
      {"UpdateAssumeRolePolicy",
       {{"RoleName", "svc"}, {"PolicyDocument", kTrust}},
       "iam:UpdateAssumeRolePolicy",
       role},
      {"PutRolePolicy",
       {{"RoleName", "svc"}, {"PolicyName", "i"}, {"PolicyDocument", kAllowAll}},
       "iam:PutRolePolicy",
       role},
      {"GetRolePolicy", {{"RoleName", "svc"}, {"PolicyName", "i"}}, "iam:GetRolePolicy", role},
      {"ListRolePolicies", {{"RoleName", "svc"}}, "iam:ListRolePolicies", role},
      {"DeleteRolePolicy",
       {{"RoleName", "svc"}, {"PolicyName", "i"}},
       "iam:DeleteRolePolicy",
       role},
      {"CreateGroup", {{"GroupName", "devs"}}, "iam:CreateGroup", group},
      {"AddUserToGroup", {{"GroupName", "devs"}, {"UserName", "mia"}}, "iam:AddUserToGroup", group},
      {"GetGroup", {{"GroupName", "devs"}}, "iam:GetGroup", group},
      {"ListGroupsForUser", {{"UserName", "mia"}}, "iam:ListGroupsForUser", user},
      {"ListGroups", {}, "iam:ListGroups", "*"},
      {"RemoveUserFromGroup",
       {{"GroupName", "devs"}, {"UserName", "mia"}},
       "iam:RemoveUserFromGroup",
       group},
      {"CreatePolicy",
       {{"PolicyName", "p"}, {"PolicyDocument", kAllowAll}},
       "iam:CreatePolicy",
       policy},
      {"GetPolicy", {{"PolicyArn", policy}}, "iam:GetPolicy", policy},
      {"CreatePolicyVersion",
       {{"PolicyArn", policy}, {"PolicyDocument", kAllowAll}},
       "iam:CreatePolicyVersion",
       policy},
      {"ListPolicyVersions", {{"PolicyArn", policy}}, "iam:ListPolicyVersions", policy},
      {"GetPolicyVersion",
       {{"PolicyArn", policy}, {"VersionId", "v2"}},
       "iam:GetPolicyVersion",
       policy},
      {"SetDefaultPolicyVersion",
       {{"PolicyArn", policy}, {"VersionId", "v2"}},
       "iam:SetDefaultPolicyVersion",
       policy},
      {"DeletePolicyVersion",
       {{"PolicyArn", policy}, {"VersionId", "v1"}},
       "iam:DeletePolicyVersion",
       policy},
      {"ListPolicies", {}, "iam:ListPolicies", "*"},
      {"AttachGroupPolicy",
       {{"GroupName", "devs"}, {"PolicyArn", policy}},
       "iam:AttachGroupPolicy",
       group},
      {"ListAttachedGroupPolicies",
       {{"GroupName", "devs"}},
       "iam:ListAttachedGroupPolicies",
       group},
      {"DetachGroupPolicy",
       {{"GroupName", "devs"}, {"PolicyArn", policy}},
       "iam:DetachGroupPolicy",
       group},
      {"SimulatePrincipalPolicy",
       {{"PolicySourceArn", user}, {"ActionNames.member.1", "s3:GetObject"}},
       "iam:SimulatePrincipalPolicy",
       user},
      {"DeletePolicy", {{"PolicyArn", policy}}, "iam:DeletePolicy", policy},
      {"DeleteGroup", {{"GroupName", "devs"}}, "iam:DeleteGroup", group},
      {"DeleteRole", {{"RoleName", "svc"}}, "iam:DeleteRole", role},
  };
  for (const auto& c : cases) {
    authz_.checks.clear();
    std::string out = Ok(c.action, c.params);
    ASSERT_EQ(authz_.checks.size(), 1u) << c.action;
    EXPECT_EQ(authz_.checks[0].action, c.iam_action) << c.action;
    EXPECT_EQ(authz_.checks[0].resource, c.resource) << c.action;
  }
  // The key id is only known once created.
  authz_.checks.clear();
  std::string key = First(Ok("ListAccessKeys", {{"UserName", "mia"}}), "AccessKeyId");
  for (const auto& [action, params] : std::vector<std::pair<std::string, Params>>{
           {"UpdateAccessKey", {{"UserName", "mia"}, {"AccessKeyId", key}, {"Status", "Inactive"}}},
           {"DeleteAccessKey", {{"UserName", "mia"}, {"AccessKeyId", key}}},
           {"DeleteUser", {{"UserName", "mia"}}}}) {
    authz_.checks.clear();
    Ok(action, params);
    ASSERT_EQ(authz_.checks.size(), 1u) << action;
    EXPECT_EQ(authz_.checks[0].action, "iam:" + action);
    EXPECT_EQ(authz_.checks[0].resource, user);
  }
}

TEST_F(IamServiceTest, ADeniedActionChangesNothing) {
  authz_.denied = {"iam:CreateUser", "iam:DeleteRole", "iam:GetUser"};
  EXPECT_EQ(Code("CreateUser", {{"UserName", "ned"}}), "AccessDenied");
  EXPECT_EQ(identity_changes(), 0u);
  authz_.denied.clear();
  EXPECT_EQ(Code("GetUser", {{"UserName", "ned"}}), "NoSuchEntity");

  Ok("CreateRole", {{"RoleName", "keep"}, {"AssumeRolePolicyDocument", kTrust}});
  authz_.denied = {"iam:DeleteRole", "iam:GetUser"};
  EXPECT_EQ(Code("DeleteRole", {{"RoleName", "keep"}}), "AccessDenied");
  EXPECT_EQ(Code("GetRole", {{"RoleName", "keep"}}), "OK");
  // AccessDenied comes before NoSuchEntity, so a caller cannot probe for names.
  EXPECT_EQ(Code("GetUser", {{"UserName", "ghost"}}), "AccessDenied");
  EXPECT_EQ(authz_.checks.back().resource, "arn:aws:iam::123456789012:user/ghost");
}

TEST_F(IamServiceTest, UnknownActionsAreInvalid) {
  EXPECT_EQ(Code("CreateLoginProfile", {{"UserName", "x"}}), "InvalidAction");
  EXPECT_EQ(Code("NoSuchThing", {}), "InvalidAction");
}

}  // namespace
}  // namespace coffer::iam::test_support
