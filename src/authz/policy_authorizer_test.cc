#include "authz/policy_authorizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "testing/service_test_support.h"

namespace coffer {
namespace {

constexpr char kAccount[] = "123456789012";
constexpr char kSecret[] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";

std::string Allow(const std::string& action, const std::string& resource) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":")" + action +
         R"(","Resource":")" + resource + R"("}]})";
}

class PolicyAuthorizerTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    authorizer_ = std::make_unique<PolicyAuthorizer>(store_.get());
    authorizer_->SetDenialObserver(
        [this](const RequestContext&, const AuthzCheck& check, const std::string& message) {
          denials_.push_back(check.action + ": " + message);
        });
    ASSERT_TRUE(store_
                    ->Write([&](StoreWriter& w) {
                      IamEntityRow user;
                      user.kind = IamEntityKind::kUser;
                      user.account = kAccount;
                      user.name = "ci";
                      user.id = "AIDAUSER000000000001";
                      user.arn = "arn:aws:iam::123456789012:user/ci";
                      return w.iam().InsertEntity(user);
                    })
                    .ok());
    user_.account = kAccount;
    user_.arn = "arn:aws:iam::123456789012:user/ci";
    user_.type = PrincipalType::kIamUser;
    user_.user_name = "ci";
    user_.user_id = "AIDAUSER000000000001";
  }

  Status Ask(const Principal& who, const std::string& action, const std::string& resource,
             const std::string* resource_policy = nullptr) {
    RequestContext ctx;
    ctx.principal = who;
    ctx.scope = {kAccount, "us-east-1"};
    ctx.now = clock_.NowMillis();
    ctx.authorizer = authorizer_.get();
    AuthzCheck check{action, resource, kAccount, resource_policy};
    return ctx.Authorize(check);
  }
  Status PutUserPolicy(const std::string& document) {
    return store_->WriteIdentity([&](StoreWriter& w) {
      return w.iam().PutInlinePolicy(kAccount, IamEntityKind::kUser, "ci", "p", document);
    });
  }

  std::unique_ptr<PolicyAuthorizer> authorizer_;
  Principal user_;
  std::vector<std::string> denials_;
};

TEST_F(PolicyAuthorizerTest, AUserIsAllowedOnlyWhatItsPoliciesAllow) {
  EXPECT_EQ(Ask(user_, "secretsmanager:GetSecretValue", kSecret).code(),
            ErrorCode::kAccessDeniedException);
  ASSERT_TRUE(PutUserPolicy(Allow("secretsmanager:GetSecretValue", kSecret)).ok());
  EXPECT_TRUE(Ask(user_, "secretsmanager:GetSecretValue", kSecret).ok());
  EXPECT_EQ(Ask(user_, "secretsmanager:DeleteSecret", kSecret).code(),
            ErrorCode::kAccessDeniedException);
  ASSERT_EQ(denials_.size(), 2u) << "every denial is reported to the observer";
  EXPECT_NE(denials_[1].find("is not authorized to perform: secretsmanager:DeleteSecret"),
            std::string::npos);
}

TEST_F(PolicyAuthorizerTest, IdentitiesAreCachedUntilInvalidated) {
  ASSERT_TRUE(PutUserPolicy(Allow("secretsmanager:GetSecretValue", kSecret)).ok());
  ASSERT_TRUE(Ask(user_, "secretsmanager:GetSecretValue", kSecret).ok());
  // Changed behind the authorizer's back: the cached identity still answers...
  ASSERT_TRUE(store_
                  ->Write([](StoreWriter& w) {
                    return w.iam().DeleteInlinePolicy(kAccount, IamEntityKind::kUser, "ci", "p");
                  })
                  .ok());
  EXPECT_TRUE(Ask(user_, "secretsmanager:GetSecretValue", kSecret).ok());
  // ...until an identity write says it changed, as IamService's every committed write is.
  ASSERT_TRUE(store_->WriteIdentity([](StoreWriter&) { return Status::Ok(); }).ok());
  EXPECT_EQ(Ask(user_, "secretsmanager:GetSecretValue", kSecret).code(),
            ErrorCode::kAccessDeniedException);
}

TEST_F(PolicyAuthorizerTest, AResourcePolicyDenyOverridesTheRootAndAnAllow) {
  Principal root;
  root.account = kAccount;
  root.arn = "arn:aws:iam::123456789012:root";
  root.type = PrincipalType::kRoot;
  root.user_id = kAccount;
  EXPECT_TRUE(Ask(root, "secretsmanager:DeleteSecret", kSecret).ok());
  const std::string deny =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",)"
      R"("Action":"secretsmanager:DeleteSecret","Resource":"*"}]})";
  EXPECT_EQ(Ask(root, "secretsmanager:DeleteSecret", kSecret, &deny).code(),
            ErrorCode::kAccessDeniedException);
  ASSERT_TRUE(PutUserPolicy(Allow("secretsmanager:*", "*")).ok());
  EXPECT_EQ(Ask(user_, "secretsmanager:DeleteSecret", kSecret, &deny).code(),
            ErrorCode::kAccessDeniedException);
  EXPECT_TRUE(Ask(user_, "secretsmanager:GetSecretValue", kSecret, &deny).ok());
}

TEST_F(PolicyAuthorizerTest, CompiledPoliciesAreSharedAndMalformedOnesRefused) {
  const std::string text = Allow("kms:Decrypt", "*");
  auto first = authorizer_->Compile(text, policy::PolicyKind::kIdentity);
  auto second = authorizer_->Compile(text, policy::PolicyKind::kIdentity);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->get(), second->get()) << "one compiled policy per text";
  auto bad = authorizer_->Compile("{not json", policy::PolicyKind::kIdentity);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kMalformedPolicyDocument);
}

}  // namespace
}  // namespace coffer
