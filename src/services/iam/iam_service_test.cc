// IAM: users, names and paths, paging, access keys, roles, malformed documents.
#include <gtest/gtest.h>

#include "services/iam/iam_test_fixture.h"

namespace coffer::iam::test_support {
namespace {

TEST_F(IamServiceTest, UsersCreateGetListDelete) {
  std::string created = Ok("CreateUser", {{"UserName", "alice"}, {"Path", "/engineering/"}});
  EXPECT_EQ(First(created, "UserName"), "alice");
  EXPECT_EQ(First(created, "Path"), "/engineering/");
  EXPECT_EQ(First(created, "Arn"), "arn:aws:iam::123456789012:user/engineering/alice");
  EXPECT_EQ(First(created, "UserId").substr(0, 4), "AIDA");
  EXPECT_EQ(First(created, "CreateDate"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(identity_changes(), 1u);

  std::string got = Ok("GetUser", {{"UserName", "alice"}});
  EXPECT_EQ(First(got, "UserId"), First(created, "UserId"));
  EXPECT_EQ(First(got, "Arn"), First(created, "Arn"));
  // Names are unique case-insensitively, as in IAM.
  EXPECT_EQ(Code("CreateUser", {{"UserName", "ALICE"}}), "EntityAlreadyExists");
  EXPECT_EQ(First(Ok("GetUser", {{"UserName", "Alice"}}), "UserName"), "alice");

  Ok("CreateUser", {{"UserName", "bob"}});
  EXPECT_EQ(All(Ok("ListUsers", {}), "UserName"), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(All(Ok("ListUsers", {{"PathPrefix", "/eng"}}), "UserName"),
            (std::vector<std::string>{"alice"}));

  EXPECT_EQ(Ok("DeleteUser", {{"UserName", "alice"}}), "");
  EXPECT_EQ(Code("GetUser", {{"UserName", "alice"}}), "NoSuchEntity");
  EXPECT_EQ(Message("DeleteUser", {{"UserName", "alice"}}),
            "The user with name alice cannot be found.");
  EXPECT_EQ(All(Ok("ListUsers", {}), "UserName"), (std::vector<std::string>{"bob"}));
}

TEST_F(IamServiceTest, GetUserWithoutNameDescribesTheCaller) {
  std::string root = Ok("GetUser", {});
  EXPECT_EQ(First(root, "UserId"), kAccount);
  EXPECT_EQ(First(root, "Arn"), "arn:aws:iam::123456789012:root");
  EXPECT_TRUE(All(root, "UserName").empty());

  std::string created = Ok("CreateUser", {{"UserName", "carol"}});
  Principal carol = UserPrincipal(created);
  auto self = CallAs(carol, "GetUser", {});
  ASSERT_TRUE(self.ok());
  EXPECT_EQ(First(*self, "UserName"), "carol");

  Principal session;
  session.account = kAccount;
  session.type = PrincipalType::kAssumedRole;
  session.arn = "arn:aws:sts::123456789012:assumed-role/r/s";
  auto refused = CallAs(session, "GetUser", {});
  EXPECT_EQ(refused.status().code(), ErrorCode::kValidationError);
  EXPECT_EQ(refused.status().message(),
            "Must specify userName when calling with non-User credentials");
}

TEST_F(IamServiceTest, NamesAndPathsAreValidated) {
  EXPECT_EQ(Message("CreateUser", {{"UserName", "bad name!"}}),
            "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+");
  EXPECT_EQ(Message("CreateUser", {}),
            "1 validation error detected: Value null at 'userName' failed to satisfy "
            "constraint: Member must not be null");
  EXPECT_EQ(Code("CreateUser", {{"UserName", std::string(65, 'a')}}), "ValidationError");
  EXPECT_EQ(Code("CreateUser", {{"UserName", std::string(64, 'a')}}), "OK");
  EXPECT_EQ(Code("CreateUser", {{"UserName", "x"}, {"Path", "nolead/"}}), "ValidationError");
  EXPECT_EQ(Code("CreateUser", {{"UserName", "x"}, {"Path", "/notrail"}}), "ValidationError");
  EXPECT_EQ(Code("CreateUser", {{"UserName", "x"}, {"Path", "/a b/"}}), "ValidationError");
  EXPECT_EQ(Code("CreateUser", {{"UserName", "a+b=c,d.e@f-g_h"}, {"Path", "/a/b/"}}), "OK");
  EXPECT_EQ(Code("CreateGroup", {{"GroupName", std::string(128, 'g')}}), "OK");
  EXPECT_EQ(Code("CreateGroup", {{"GroupName", std::string(129, 'g')}}), "ValidationError");
  EXPECT_EQ(Code("CreateRole",
                 {{"RoleName", std::string(65, 'r')}, {"AssumeRolePolicyDocument", kTrust}}),
            "ValidationError");
  EXPECT_EQ(Code("CreatePolicy",
                 {{"PolicyName", "p"}, {"Path", "/a//b/"}, {"PolicyDocument", kAllowAll}}),
            "ValidationError");
  EXPECT_EQ(
      Code("CreatePolicy", {{"PolicyName", std::string(129, 'p')}, {"PolicyDocument", kAllowAll}}),
      "ValidationError");
  EXPECT_EQ(Code("ListUsers", {{"MaxItems", "0"}}), "ValidationError");
  EXPECT_EQ(Code("ListUsers", {{"MaxItems", "1001"}}), "ValidationError");
  EXPECT_EQ(Code("ListUsers", {{"MaxItems", "ten"}}), "ValidationError");
  // Input is checked before anyone is asked.
  EXPECT_TRUE(authz_.checks.size() == 3u) << authz_.checks.size();
}

TEST_F(IamServiceTest, ListsPageWithMarkers) {
  for (const char* name : {"u1", "u2", "u3", "u4", "u5"}) Ok("CreateUser", {{"UserName", name}});
  std::string first = Ok("ListUsers", {{"MaxItems", "2"}});
  EXPECT_EQ(All(first, "UserName"), (std::vector<std::string>{"u1", "u2"}));
  EXPECT_EQ(First(first, "IsTruncated"), "true");
  EXPECT_EQ(ListAll("ListUsers", {}, "UserName", 2),
            (std::vector<std::string>{"u1", "u2", "u3", "u4", "u5"}));
  std::string last = Ok("ListUsers", {{"MaxItems", "5"}});
  EXPECT_EQ(First(last, "IsTruncated"), "false");
  EXPECT_TRUE(All(last, "Marker").empty());
  EXPECT_EQ(Code("ListUsers", {{"Marker", "not-a-marker"}}), "InvalidInput");

  // Lists built in memory page the same way.
  for (int i = 1; i <= 5; ++i) {
    Ok("PutUserPolicy", {{"UserName", "u1"},
                         {"PolicyName", "p" + std::to_string(i)},
                         {"PolicyDocument", AllowPolicy("s3:GetObject")}});
  }
  EXPECT_EQ(ListAll("ListUserPolicies", {{"UserName", "u1"}}, "member", 2),
            (std::vector<std::string>{"p1", "p2", "p3", "p4", "p5"}));
}

TEST_F(IamServiceTest, AccessKeyLifecycle) {
  Ok("CreateUser", {{"UserName", "dave"}});
  std::string created = Ok("CreateAccessKey", {{"UserName", "dave"}});
  std::string id = First(created, "AccessKeyId");
  std::string secret = First(created, "SecretAccessKey");
  EXPECT_EQ(id.substr(0, 4), "AKIA");
  EXPECT_EQ(id.size(), 20u);
  EXPECT_EQ(secret.size(), 40u);
  EXPECT_EQ(First(created, "Status"), "Active");
  EXPECT_EQ(First(created, "UserName"), "dave");

  // The store holds the secret sealed, under the purpose the credential registry opens it with.
  std::optional<AccessKeyRow> row;
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(row, r.credentials().FindAccessKey(id));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_TRUE(row.has_value());
  EXPECT_EQ(row->principal_arn, "arn:aws:iam::123456789012:user/dave");
  EXPECT_EQ(row->user_name, "dave");
  EXPECT_EQ(row->wrapped_secret.find(secret), std::string::npos);
  auto opened =
      keyring_->UnwrapWithStorageKey(CredentialRegistry::SecretPurpose(id), row->wrapped_secret);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->Reveal(), secret);

  std::string listed = Ok("ListAccessKeys", {{"UserName", "dave"}});
  EXPECT_EQ(All(listed, "AccessKeyId"), (std::vector<std::string>{id}));
  EXPECT_TRUE(All(listed, "SecretAccessKey").empty());

  // Two keys per user.
  std::string second = First(Ok("CreateAccessKey", {{"UserName", "dave"}}), "AccessKeyId");
  auto third = Call("CreateAccessKey", {{"UserName", "dave"}});
  EXPECT_EQ(third.status().code(), ErrorCode::kLimitExceeded);
  EXPECT_EQ(third.status().message(), "Cannot exceed quota for AccessKeysPerUser: 2");

  EXPECT_EQ(
      Ok("UpdateAccessKey", {{"UserName", "dave"}, {"AccessKeyId", id}, {"Status", "Inactive"}}),
      "");
  listed = Ok("ListAccessKeys", {{"UserName", "dave"}});
  auto ids = All(listed, "AccessKeyId");
  auto statuses = All(listed, "Status");
  ASSERT_EQ(ids.size(), 2u);
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(statuses[i], ids[i] == id ? "Inactive" : "Active");
  }
  EXPECT_EQ(
      Code("UpdateAccessKey", {{"UserName", "dave"}, {"AccessKeyId", id}, {"Status", "Sleeping"}}),
      "ValidationError");

  // A key is found only through its own user.
  Ok("CreateUser", {{"UserName", "erin"}});
  EXPECT_EQ(Code("DeleteAccessKey", {{"UserName", "erin"}, {"AccessKeyId", id}}), "NoSuchEntity");
  EXPECT_EQ(Code("DeleteAccessKey", {{"AccessKeyId", id}}), "NoSuchEntity");  // root's keys

  auto conflict = Call("DeleteUser", {{"UserName", "dave"}});
  EXPECT_EQ(conflict.status().code(), ErrorCode::kDeleteConflict);
  EXPECT_EQ(conflict.status().message(), "Cannot delete entity, must delete access keys first.");
  EXPECT_EQ(conflict.status().message().find(secret), std::string::npos);
  Ok("DeleteAccessKey", {{"UserName", "dave"}, {"AccessKeyId", id}});
  Ok("DeleteAccessKey", {{"UserName", "dave"}, {"AccessKeyId", second}});
  EXPECT_EQ(Code("DeleteAccessKey", {{"UserName", "dave"}, {"AccessKeyId", id}}), "NoSuchEntity");
  Ok("DeleteUser", {{"UserName", "dave"}});
}

TEST_F(IamServiceTest, CallersManageTheirOwnKeysWithoutUserName) {
  // The root manages root keys.
  std::string root_key = First(Ok("CreateAccessKey", {}), "AccessKeyId");
  EXPECT_EQ(All(Ok("ListAccessKeys", {}), "AccessKeyId"), (std::vector<std::string>{root_key}));
  EXPECT_EQ(authz_.checks.back().resource, "arn:aws:iam::123456789012:root");

  // An IAM user manages its own.
  std::string created = Ok("CreateUser", {{"UserName", "frank"}});
  Principal frank = UserPrincipal(created);
  auto key = CallAs(frank, "CreateAccessKey", {});
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(First(*key, "UserName"), "frank");
  auto listed = CallAs(frank, "ListAccessKeys", {});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(All(*listed, "AccessKeyId"), (std::vector<std::string>{First(*key, "AccessKeyId")}));
  EXPECT_EQ(All(Ok("ListAccessKeys", {}), "AccessKeyId"), (std::vector<std::string>{root_key}));
}

TEST_F(IamServiceTest, RolesCreateGetUpdateDelete) {
  std::string created = Ok("CreateRole", {{"RoleName", "app"},
                                          {"Path", "/service/"},
                                          {"AssumeRolePolicyDocument", kTrust},
                                          {"Description", "the app's role"},
                                          {"MaxSessionDuration", "7200"}});
  EXPECT_EQ(First(created, "Arn"), "arn:aws:iam::123456789012:role/service/app");
  EXPECT_EQ(First(created, "RoleId").substr(0, 4), "AROA");
  // Documents travel URL-encoded, as in AWS.
  std::string encoded = First(created, "AssumeRolePolicyDocument");
  EXPECT_EQ(encoded.find('{'), std::string::npos);
  EXPECT_EQ(PercentDecode(encoded, false), kTrust);

  std::string got = Ok("GetRole", {{"RoleName", "app"}});
  EXPECT_EQ(First(got, "Description"), "the app's role");
  EXPECT_EQ(First(got, "MaxSessionDuration"), "7200");
  EXPECT_EQ(PercentDecode(First(got, "AssumeRolePolicyDocument"), false), kTrust);

  EXPECT_EQ(Ok("UpdateRole", {{"RoleName", "app"}, {"MaxSessionDuration", "43200"}}),
            "<UpdateRoleResult></UpdateRoleResult>");
  EXPECT_EQ(Code("UpdateRole", {{"RoleName", "app"}, {"MaxSessionDuration", "100"}}),
            "ValidationError");
  got = Ok("GetRole", {{"RoleName", "app"}});
  EXPECT_EQ(First(got, "MaxSessionDuration"), "43200");
  EXPECT_EQ(First(got, "Description"), "the app's role");

  std::string trust2 =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]})";
  Ok("UpdateAssumeRolePolicy", {{"RoleName", "app"}, {"PolicyDocument", trust2}});
  EXPECT_EQ(
      PercentDecode(First(Ok("GetRole", {{"RoleName", "app"}}), "AssumeRolePolicyDocument"), false),
      trust2);
  EXPECT_EQ(All(Ok("ListRoles", {}), "RoleName"), (std::vector<std::string>{"app"}));

  Ok("PutRolePolicy",
     {{"RoleName", "app"}, {"PolicyName", "p"}, {"PolicyDocument", AllowPolicy("s3:*")}});
  EXPECT_EQ(Message("DeleteRole", {{"RoleName", "app"}}),
            "Cannot delete entity, must delete policies first.");
  Ok("DeleteRolePolicy", {{"RoleName", "app"}, {"PolicyName", "p"}});
  Ok("DeleteRole", {{"RoleName", "app"}});
  EXPECT_EQ(Code("GetRole", {{"RoleName", "app"}}), "NoSuchEntity");
}

TEST_F(IamServiceTest, MalformedPolicyDocumentsAreRefused) {
  // A trust policy needs a Principal; an identity policy must not have one.
  std::string no_principal = AllowPolicy("sts:AssumeRole");
  EXPECT_EQ(Code("CreateRole", {{"RoleName", "r"}, {"AssumeRolePolicyDocument", no_principal}}),
            "MalformedPolicyDocument");
  EXPECT_EQ(Code("CreateRole", {{"RoleName", "r"}, {"AssumeRolePolicyDocument", "{not json"}}),
            "MalformedPolicyDocument");
  EXPECT_EQ(Code("CreateRole", {{"RoleName", "r"}}), "ValidationError");
  Ok("CreateRole", {{"RoleName", "r"}, {"AssumeRolePolicyDocument", kTrust}});
  EXPECT_EQ(Code("UpdateAssumeRolePolicy", {{"RoleName", "r"}, {"PolicyDocument", "[]"}}),
            "MalformedPolicyDocument");
  Ok("CreateUser", {{"UserName", "u"}});
  EXPECT_EQ(
      Code("PutUserPolicy", {{"UserName", "u"}, {"PolicyName", "p"}, {"PolicyDocument", kTrust}}),
      "MalformedPolicyDocument");
  EXPECT_EQ(
      Code(
          "PutUserPolicy",
          {{"UserName", "u"},
           {"PolicyName", "p"},
           {"PolicyDocument",
            R"({"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]})"}}),
      "MalformedPolicyDocument");
  EXPECT_EQ(Code("CreatePolicy", {{"PolicyName", "p"}, {"PolicyDocument", "null"}}),
            "MalformedPolicyDocument");
  std::string arn = NewPolicy("good");
  EXPECT_EQ(Code("CreatePolicyVersion", {{"PolicyArn", arn}, {"PolicyDocument", "{}"}}),
            "MalformedPolicyDocument");
  EXPECT_EQ(identity_changes(), 3u);  // the role, the user, the policy: nothing else was written
}

// A change is written only to the entity it was authorized on: a role deleted and created again
// under its name in between is another role, and the request is refused for a retry.
TEST_F(IamServiceTest, AChangeDoesNotReachARoleRecreatedSinceItWasAuthorized) {
  Ok("CreateRole", {{"RoleName", "app"}, {"AssumeRolePolicyDocument", kTrust}});
  ::coffer::test_support::OnceAuthorizer recreate("iam:UpdateRole", [this] {
    ASSERT_TRUE(store_
                    ->Write([](StoreWriter& w) -> Status {
                      COFFER_ASSIGN_OR_RETURN(
                          auto role, w.iam().FindEntity(kAccount, IamEntityKind::kRole, "app"));
                      COFFER_RETURN_IF_ERROR(
                          w.iam().DeleteEntity(kAccount, IamEntityKind::kRole, "app"));
                      role->id = "AROARECREATED0000001";
                      return w.iam().InsertEntity(*role);
                    })
                    .ok());
  });
  RequestContext ctx;
  ctx.principal = root_;
  ctx.scope = {kAccount, "us-west-2"};
  ctx.now = clock_.NowMillis();
  ctx.authorizer = &recreate;
  auto out = iam_->Handle("UpdateRole", ctx,
                          {{"Action", "UpdateRole"},
                           {"Version", "2010-05-08"},
                           {"RoleName", "app"},
                           {"Description", "authorized for the old role"}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kConcurrentModification);
  EXPECT_EQ(Ok("GetRole", {{"RoleName", "app"}}).find("authorized for the old role"),
            std::string::npos);
  // The retry is authorized for the role that exists now and applies.
  EXPECT_TRUE(iam_->Handle("UpdateRole", ctx,
                           {{"Action", "UpdateRole"},
                            {"Version", "2010-05-08"},
                            {"RoleName", "app"},
                            {"Description", "authorized afresh"}})
                  .ok());
  EXPECT_EQ(First(Ok("GetRole", {{"RoleName", "app"}}), "Description"), "authorized afresh");
}

}  // namespace
}  // namespace coffer::iam::test_support
