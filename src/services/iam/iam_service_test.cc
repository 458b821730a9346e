#include "services/iam/iam_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "auth/credential_registry.h"
#include "core/percent_encoding.h"
#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"

namespace coffer::iam {
namespace {

constexpr char kAccount[] = "123456789012";

// Records every authorization question and refuses the actions it is told to.
class RecordingAuthorizer final : public Authorizer {
 public:
  Status Authorize(const RequestContext&, const AuthzCheck& check) const override {
    checks.push_back(check);
    if (denied.count(check.action)) {
      return Status("AccessDenied", "not authorized to perform: " + check.action);
    }
    return Status::Ok();
  }
  mutable std::vector<AuthzCheck> checks;
  std::set<std::string> denied;
};

// The text of each <tag>...</tag> in document order, XML entities decoded.
std::vector<std::string> All(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t pos = xml.find(open); pos != std::string::npos; pos = xml.find(open, pos)) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string::npos) break;
    std::string text = xml.substr(start, end - start);
    std::string decoded;
    for (size_t i = 0; i < text.size(); ++i) {
      static const std::pair<const char*, char> kEntities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool replaced = false;
      for (const auto& [entity, c] : kEntities) {
        if (text.compare(i, std::strlen(entity), entity) == 0) {
          decoded.push_back(c);
          i += std::strlen(entity) - 1;
          replaced = true;
          break;
        }
      }
      if (!replaced) decoded.push_back(text[i]);
    }
    out.push_back(decoded);
    pos = end;
  }
  return out;
}

std::string First(const std::string& xml, const std::string& tag) {
  auto all = All(xml, tag);
  return all.empty() ? "<missing " + tag + ">" : all.front();
}

using Params = std::map<std::string, std::string>;

const char kAllowAll[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})";
const char kTrust[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]})";

std::string AllowPolicy(const std::string& action, const std::string& resource = "*") {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":")" + action +
         R"(","Resource":")" + resource + R"("}]})";
}
std::string DenyPolicy(const std::string& action, const std::string& resource = "*") {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":")" + action +
         R"(","Resource":")" + resource + R"("}]})";
}

class IamServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-iam-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(OpenSqliteStore(dir_ + "/coffer.db").value());
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), crypto::RandomSecret(32), &clock_);
    iam_ = std::make_unique<IamService>(store_.get(), keyring_.get(), &clock_,
                                        [this] { ++identity_changes_; });
    root_.account = kAccount;
    root_.arn = std::string("arn:aws:iam::") + kAccount + ":root";
    root_.user_id = kAccount;
    root_.type = "Root";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<std::string> CallAs(const Principal& principal, std::string_view action, Params params) {
    RequestContext ctx;
    ctx.principal = principal;
    ctx.scope = {kAccount, "us-west-2"};
    ctx.now = clock_.NowMillis();
    ctx.authorizer = &authz_;
    params["Action"] = std::string(action);
    params["Version"] = "2010-05-08";
    auto out = iam_->Handle(action, ctx, params);
    // Every action must ask before it answers successfully.
    if (out.ok()) {
      EXPECT_TRUE(ctx.authorized) << action << " never called ctx.Authorize";
    }
    return out;
  }
  Result<std::string> Call(std::string_view action, Params params) {
    return CallAs(root_, action, std::move(params));
  }
  std::string Ok(std::string_view action, Params params) {
    auto r = Call(action, std::move(params));
    EXPECT_TRUE(r.ok()) << action << ": " << r.status().code() << " " << r.status().message();
    return r.ok() ? r.value() : std::string();
  }
  std::string Code(std::string_view action, Params params) {
    auto r = Call(action, std::move(params));
    return r.ok() ? "OK" : r.status().code();
  }
  std::string Message(std::string_view action, Params params) {
    auto r = Call(action, std::move(params));
    return r.ok() ? "OK" : r.status().message();
  }

  // The principal of an IAM user, from CreateUser's response.
  static Principal UserPrincipal(const std::string& created) {
    Principal p;
    p.account = kAccount;
    p.arn = First(created, "Arn");
    p.user_id = First(created, "UserId");
    p.access_key_id = "AKIAEXAMPLE";
    p.type = "IAMUser";
    p.user_name = First(created, "UserName");
    return p;
  }
  std::string NewPolicy(const std::string& name, const std::string& doc = kAllowAll) {
    return First(Ok("CreatePolicy", {{"PolicyName", name}, {"PolicyDocument", doc}}), "Arn");
  }
  // Follows markers to the end and returns every value of `tag`.
  std::vector<std::string> ListAll(std::string_view action, Params params, const std::string& tag,
                                   int page_size) {
    std::vector<std::string> out;
    params["MaxItems"] = std::to_string(page_size);
    for (int pages = 0; pages < 100; ++pages) {
      std::string xml = Ok(action, params);
      for (auto& v : All(xml, tag)) out.push_back(v);
      if (First(xml, "IsTruncated") != "true") break;
      params["Marker"] = First(xml, "Marker");
    }
    return out;
  }

  FakeClock clock_{1767225600000};  // 2026-01-01T00:00:00Z
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<IamService> iam_;
  RecordingAuthorizer authz_;
  Principal root_;
  int identity_changes_ = 0;
};

TEST_F(IamServiceTest, UsersCreateGetListDelete) {
  std::string created = Ok("CreateUser", {{"UserName", "alice"}, {"Path", "/engineering/"}});
  EXPECT_EQ(First(created, "UserName"), "alice");
  EXPECT_EQ(First(created, "Path"), "/engineering/");
  EXPECT_EQ(First(created, "Arn"), "arn:aws:iam::123456789012:user/engineering/alice");
  EXPECT_EQ(First(created, "UserId").substr(0, 4), "AIDA");
  EXPECT_EQ(First(created, "CreateDate"), "2026-01-01T00:00:00Z");
  EXPECT_EQ(identity_changes_, 1);

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
  session.type = "AssumedRole";
  session.arn = "arn:aws:sts::123456789012:assumed-role/r/s";
  auto refused = CallAs(session, "GetUser", {});
  EXPECT_EQ(refused.status().code(), "ValidationError");
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
  EXPECT_EQ(third.status().code(), "LimitExceeded");
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
  EXPECT_EQ(conflict.status().code(), "DeleteConflict");
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
  EXPECT_EQ(identity_changes_, 3);  // the role, the user, the policy: nothing else was written
}

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
  EXPECT_EQ(too_big.status().code(), "LimitExceeded");
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
  EXPECT_EQ(sixth.status().code(), "LimitExceeded");
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
  EXPECT_EQ(default_delete.status().code(), "DeleteConflict");
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
  EXPECT_EQ(aws_managed.status().code(), "NoSuchEntity");
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
  EXPECT_EQ(identity_changes_, 0);
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
}  // namespace coffer::iam
