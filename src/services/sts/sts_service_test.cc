#include "services/sts/sts_service.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "testing/service_test_support.h"

namespace coffer::sts {
namespace {

constexpr char kAccount[] = "123456789012";
constexpr char kRoleArn[] = "arn:aws:iam::123456789012:role/app";

std::string Between(const std::string& xml, const std::string& tag) {
  const size_t open = xml.find("<" + tag + ">");
  const size_t close = xml.find("</" + tag + ">");
  if (open == std::string::npos || close == std::string::npos) return "";
  return xml.substr(open + tag.size() + 2, close - open - tag.size() - 2);
}

class StsServiceTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    sts_ = std::make_unique<StsService>(store_.get(), keyring_.get());
    user_.account = kAccount;
    user_.arn = "arn:aws:iam::123456789012:user/ci";
    user_.user_id = "AIDAEXAMPLEUSER00001";
    user_.type = PrincipalType::kIamUser;
    user_.user_name = "ci";
    ASSERT_TRUE(store_
                    ->Write([&](StoreWriter& w) {
                      IamEntityRow role;
                      role.kind = IamEntityKind::kRole;
                      role.account = kAccount;
                      role.name = "app";
                      role.id = "AROAEXAMPLEROLE00001";
                      role.arn = kRoleArn;
                      role.trust_policy =
                          R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                          R"("Principal":{"AWS":"arn:aws:iam::123456789012:root"},)"
                          R"("Action":"sts:AssumeRole"}]})";
                      return w.iam().InsertEntity(role);
                    })
                    .ok());
  }

  Result<std::string> Call(const Principal& who, const std::string& action,
                           std::map<std::string, std::string> params, const Authorizer* authz,
                           AuthorizationLog* log = nullptr) {
    RequestContext ctx;
    ctx.principal = who;
    ctx.scope = {kAccount, "us-east-1"};
    ctx.now = clock_.NowMillis();
    ctx.authorizer = authz;
    ctx.authorization = log;
    return sts_->Handle(action, ctx, params);
  }

  std::unique_ptr<StsService> sts_;
  Principal user_;
  test_support::RecordingAuthorizer recording_;
};

TEST_F(StsServiceTest, GetCallerIdentityNeedsNoPermissionAndNamesTheCaller) {
  AuthorizationLog log;
  auto out = Call(user_, "GetCallerIdentity", {}, &recording_, &log);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(Between(*out, "Arn"), user_.arn);
  EXPECT_EQ(Between(*out, "Account"), kAccount);
  EXPECT_TRUE(recording_.checks.empty());
  EXPECT_TRUE(log.answered()) << "declared as needing no permission";
}

TEST_F(StsServiceTest, AssumeRoleAsksTheTrustPolicyAndIssuesASessionOfTheRole) {
  auto out = Call(user_, "AssumeRole",
                  {{"RoleArn", kRoleArn}, {"RoleSessionName", "build-42"}, {"ExternalId", "x-1"}},
                  &recording_);
  ASSERT_TRUE(out.ok()) << out.status().message();
  ASSERT_EQ(recording_.checks.size(), 1u);
  const auto& check = recording_.checks[0];
  EXPECT_EQ(check.action, "sts:AssumeRole");
  EXPECT_EQ(check.resource, kRoleArn);
  ASSERT_TRUE(check.resource_policy.has_value());
  EXPECT_NE(check.resource_policy->find("sts:AssumeRole"), std::string::npos);
  EXPECT_EQ(check.context.at("sts:externalid"), std::vector<std::string>{"x-1"});
  EXPECT_EQ(Between(*out, "Arn"), "arn:aws:sts::123456789012:assumed-role/app/build-42");
  const std::string key_id = Between(*out, "AccessKeyId");
  EXPECT_EQ(key_id.rfind("ASIA", 0), 0u);
  // The session is stored with the token only as its hash.
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto session, r.credentials().FindSession(key_id));
                    EXPECT_TRUE(session);
                    EXPECT_EQ(session->role_arn, kRoleArn);
                    EXPECT_EQ(session->expires_ms, clock_.NowMillis() + 3600 * 1000);
                    EXPECT_EQ(session->token_hash.find(Between(*out, "SessionToken")),
                              std::string::npos);
                    return Status::Ok();
                  })
                  .ok());
}

TEST_F(StsServiceTest, AssumeRoleRefusesBadInputRootAndUnknownRoles) {
  auto code = [&](const Principal& who, std::map<std::string, std::string> params) {
    auto out = Call(who, "AssumeRole", std::move(params), &allow_all_);
    return out.ok() ? std::string("OK") : std::string(out.status().code_name());
  };
  EXPECT_EQ(code(user_, {{"RoleArn", kRoleArn}, {"RoleSessionName", "x"}}), "ValidationError");
  EXPECT_EQ(code(user_, {{"RoleArn", kRoleArn}, {"RoleSessionName", "bad name"}}),
            "ValidationError");
  EXPECT_EQ(code(user_, {{"RoleArn", "short"}, {"RoleSessionName", "ok-name"}}), "ValidationError");
  EXPECT_EQ(code(user_, {{"RoleArn", kRoleArn}, {"RoleSessionName", "ok-name"}, {"Policy", "{"}}),
            "MalformedPolicyDocument");
  EXPECT_EQ(
      code(user_,
           {{"RoleArn", kRoleArn}, {"RoleSessionName", "ok-name"}, {"DurationSeconds", "43201"}}),
      "ValidationError");
  // An unknown role reads as a forbidden one.
  EXPECT_EQ(code(user_, {{"RoleArn", "arn:aws:iam::123456789012:role/nope"},
                         {"RoleSessionName", "ok-name"}}),
            "AccessDenied");
  Principal root;
  root.account = kAccount;
  root.arn = "arn:aws:iam::123456789012:root";
  root.type = PrincipalType::kRoot;
  EXPECT_EQ(code(root, {{"RoleArn", kRoleArn}, {"RoleSessionName", "ok-name"}}), "AccessDenied");
}

TEST_F(StsServiceTest, ARoleSessionAssumingARoleGetsAtMostAnHour) {
  Principal session = user_;
  session.type = PrincipalType::kAssumedRole;
  session.temporary = true;
  auto out =
      Call(session, "AssumeRole",
           {{"RoleArn", kRoleArn}, {"RoleSessionName", "chained"}, {"DurationSeconds", "7200"}},
           &allow_all_);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("role chaining"), std::string::npos);
}

TEST_F(StsServiceTest, GetSessionTokenIsRefusedToTemporaryCredentials) {
  Principal session = user_;
  session.temporary = true;
  AuthorizationLog log;
  auto out = Call(session, "GetSessionToken", {}, &recording_, &log);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kAccessDenied);
  auto fresh = Call(user_, "GetSessionToken", {{"DurationSeconds", "900"}}, &recording_, &log);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_EQ(Between(*fresh, "AccessKeyId").rfind("ASIA", 0), 0u);
  EXPECT_TRUE(recording_.checks.empty()) << "GetSessionToken needs no permission";
  EXPECT_TRUE(log.answered());
}

TEST_F(StsServiceTest, ExpiredSessionsArePurgedADayAfterTheyExpire) {
  auto out =
      Call(user_, "AssumeRole", {{"RoleArn", kRoleArn}, {"RoleSessionName", "short"}}, &allow_all_);
  ASSERT_TRUE(out.ok());
  const std::string key_id = Between(*out, "AccessKeyId");
  auto exists = [&] {
    bool found = false;
    EXPECT_TRUE(store_
                    ->Read([&](StoreReader& r) -> Status {
                      COFFER_ASSIGN_OR_RETURN(auto s, r.credentials().FindSession(key_id));
                      found = s.has_value();
                      return Status::Ok();
                    })
                    .ok());
    return found;
  };
  const EpochMillis expiry = clock_.NowMillis() + 3600 * 1000;
  ASSERT_TRUE(sts_->PurgeExpiredSessions(expiry + 1000).ok());
  EXPECT_TRUE(exists()) << "kept for a day so its use reads as expired, not unknown";
  ASSERT_TRUE(sts_->PurgeExpiredSessions(expiry + 86400 * 1000 + 1000).ok());
  EXPECT_FALSE(exists());
}

TEST_F(StsServiceTest, UnknownActionsAreInvalid) {
  auto out = Call(user_, "DecodeAuthorizationMessage", {}, &allow_all_);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), ErrorCode::kInvalidAction);
}

}  // namespace
}  // namespace coffer::sts
