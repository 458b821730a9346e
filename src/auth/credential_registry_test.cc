#include "auth/credential_registry.h"

#include <gtest/gtest.h>

#include <string>

#include "testing/service_test_support.h"

namespace coffer {
namespace {

constexpr char kAccount[] = "123456789012";
constexpr char kUserKey[] = "AKIAUSERKEY000000001";
constexpr char kUserSecret[] = "user-secret-access-key-0000000000000000";

class CredentialRegistryTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    registry_ = std::make_unique<CredentialRegistry>(store_.get(), keyring_.get());
    ASSERT_TRUE(Write([&](StoreWriter& w) -> Status {
                  IamEntityRow user;
                  user.kind = IamEntityKind::kUser;
                  user.account = kAccount;
                  user.name = "ci";
                  user.id = "AIDAUSER000000000001";
                  user.arn = "arn:aws:iam::123456789012:user/ci";
                  COFFER_RETURN_IF_ERROR(w.iam().InsertEntity(user));
                  AccessKeyRow key;
                  key.access_key_id = kUserKey;
                  key.wrapped_secret = Wrap(kUserKey, kUserSecret);
                  key.account = kAccount;
                  key.principal_arn = user.arn;
                  key.user_id = user.id;
                  key.user_name = "ci";
                  return w.credentials().InsertAccessKey(key);
                }).ok());
  }

  Status Write(const std::function<Status(StoreWriter&)>& fn) { return store_->Write(fn); }
  std::string Wrap(const std::string& key_id, const std::string& secret) {
    return keyring_->WrapWithStorageKey(CredentialRegistry::SecretPurpose(key_id), secret).value();
  }

  std::unique_ptr<CredentialRegistry> registry_;
};

TEST_F(CredentialRegistryTest, FindsAUsersKeyWithItsPrincipalAndSecret) {
  auto cred = registry_->Find(kUserKey).value();
  ASSERT_NE(cred, nullptr);
  EXPECT_EQ(cred->secret_access_key.Reveal(), kUserSecret);
  EXPECT_EQ(cred->principal.type, PrincipalType::kIamUser);
  EXPECT_EQ(cred->principal.user_name, "ci");
  EXPECT_EQ(cred->principal.account, kAccount);
  EXPECT_FALSE(cred->principal.temporary);
  EXPECT_EQ(registry_->Find("AKIANOSUCHKEY0000001").value(), nullptr);
  EXPECT_EQ(registry_->Find("").value(), nullptr);
  EXPECT_EQ(registry_->Find(std::string(129, 'A')).value(), nullptr);
}

TEST_F(CredentialRegistryTest, AnInactiveOrDeletedKeyIsRefusedOnceTheCacheIsForgotten) {
  ASSERT_NE(registry_->Find(kUserKey).value(), nullptr);
  ASSERT_TRUE(Write([](StoreWriter& w) {
                return w.credentials().UpdateAccessKeyStatus(kUserKey, AccessKeyStatus::kInactive);
              }).ok());
  EXPECT_NE(registry_->Find(kUserKey).value(), nullptr) << "cached until IAM says it changed";
  registry_->Forget();
  EXPECT_EQ(registry_->Find(kUserKey).value(), nullptr);
  ASSERT_TRUE(Write([](StoreWriter& w) {
                return w.credentials().UpdateAccessKeyStatus(kUserKey, AccessKeyStatus::kActive);
              }).ok());
  registry_->Forget();
  EXPECT_NE(registry_->Find(kUserKey).value(), nullptr);
  ASSERT_TRUE(Write([](StoreWriter& w) { return w.credentials().DeleteAccessKey(kUserKey); }).ok());
  registry_->Forget();
  EXPECT_EQ(registry_->Find(kUserKey).value(), nullptr);
}

TEST_F(CredentialRegistryTest, ASessionIsBoundToTheUniqueIdOfTheRoleItWasIssuedFor) {
  const std::string role_arn = "arn:aws:iam::123456789012:role/app";
  auto put_role = [&](const std::string& id) {
    return Write([&](StoreWriter& w) -> Status {
      IamEntityRow role;
      role.kind = IamEntityKind::kRole;
      role.account = kAccount;
      role.name = "app";
      role.id = id;
      role.arn = role_arn;
      return w.iam().InsertEntity(role);
    });
  };
  ASSERT_TRUE(put_role("AROAFIRST00000000001").ok());
  const std::string session_key = "ASIASESSION000000001";
  ASSERT_TRUE(Write([&](StoreWriter& w) -> Status {
                StsSessionRow s;
                s.access_key_id = session_key;
                s.wrapped_secret = Wrap(session_key, "session-secret");
                s.token_hash = "ab12";
                s.account = kAccount;
                s.principal_arn = "arn:aws:sts::123456789012:assumed-role/app/build";
                s.user_id = "AROAFIRST00000000001:build";
                s.principal_type = SessionPrincipal::kAssumedRole;
                s.role_arn = role_arn;
                s.created_ms = clock_.NowMillis();
                s.expires_ms = clock_.NowMillis() + 3600 * 1000;
                return w.credentials().InsertSession(s);
              }).ok());
  auto cred = registry_->Find(session_key).value();
  ASSERT_NE(cred, nullptr);
  EXPECT_TRUE(cred->principal.temporary);
  EXPECT_EQ(cred->principal.type, PrincipalType::kAssumedRole);
  EXPECT_EQ(cred->principal.role_name, "app");
  EXPECT_EQ(cred->session_token_sha256, "ab12");
  ASSERT_TRUE(cred->expires_ms.has_value());
  // The role deleted and created again under its name is another role: the session is gone.
  ASSERT_TRUE(Write([](StoreWriter& w) {
                return w.iam().DeleteEntity(kAccount, IamEntityKind::kRole, "app");
              }).ok());
  ASSERT_TRUE(put_role("AROASECOND0000000001").ok());
  registry_->Forget();
  EXPECT_EQ(registry_->Find(session_key).value(), nullptr);
}

TEST_F(CredentialRegistryTest, SealingForgetsEveryCachedSecret) {
  ASSERT_NE(registry_->Find(kUserKey).value(), nullptr);
  keyring_->Seal();
  EXPECT_EQ(registry_->Find(kUserKey).value(), nullptr)
      << "a sealed keyring cannot unwrap a secret";
}

}  // namespace
}  // namespace coffer
