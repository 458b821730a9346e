#include "keyring/keyring.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "crypto/crypto.h"
#include "store/sqlite_store.h"

namespace coffer {
namespace {

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-keyring-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(OpenSqliteStore(dir_ + "/coffer.db").value());
    root_ = crypto::RandomSecret(32);
    keyring_ = std::make_unique<Keyring>(store_.get(), root_, &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  FakeClock clock_{1700000000000};
  std::string dir_;
  std::unique_ptr<Store> store_;
  SecretBytes root_;
  std::unique_ptr<Keyring> keyring_;
  Scope scope_{"123456789012", "us-east-1"};
};

TEST_F(KeyringTest, ManagedKeyIsCreatedOnceAndReachableByEveryName) {
  auto k1 = keyring_->ResolveKey(scope_, "", "secretsmanager", "NotFound");
  ASSERT_TRUE(k1.ok());
  EXPECT_EQ(k1->manager, "AWS");
  auto k2 = keyring_->ResolveKey(scope_, "alias/aws/secretsmanager", "secretsmanager", "NotFound");
  auto k3 = keyring_->ResolveKey(scope_, k1->arn, "secretsmanager", "NotFound");
  auto k4 = keyring_->ResolveKey(scope_, k1->key_id, "secretsmanager", "NotFound");
  auto k5 =
      keyring_->ResolveKey(scope_, "arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager",
                           "secretsmanager", "NotFound");
  for (auto* k : {&k2, &k3, &k4, &k5}) {
    ASSERT_TRUE(k->ok());
    EXPECT_EQ((*k)->key_id, k1->key_id);
  }
  // Another region has its own key.
  auto other = keyring_->ResolveKey({"123456789012", "eu-west-1"}, "", "secretsmanager", "NF");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->key_id, k1->key_id);
  auto missing = keyring_->ResolveKey(scope_, "alias/nope", "secretsmanager", "EncryptionFailure");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), "EncryptionFailure");
}

TEST_F(KeyringTest, EnvelopeRoundTripAndContextBinding) {
  auto key = keyring_->ResolveKey(scope_, "", "secretsmanager", "NF").value();
  auto env = keyring_->Seal(key, "ctx-a", "the plaintext value");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->find("plaintext"), std::string::npos);
  auto opened = keyring_->Open("ctx-a", *env);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->Reveal(), "the plaintext value");
  auto moved = keyring_->Open("ctx-b", *env);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), "DecryptionFailure");
  for (size_t i = 0; i < env->size(); i += 7) {
    std::string bad = *env;
    bad[i] ^= 0x10;
    EXPECT_FALSE(keyring_->Open("ctx-a", bad).ok()) << "flip at " << i;
  }
  EXPECT_FALSE(keyring_->Open("ctx-a", "").ok());
}

TEST_F(KeyringTest, AnotherRootKeyCannotOpen) {
  auto key = keyring_->ResolveKey(scope_, "", "secretsmanager", "NF").value();
  auto env = keyring_->Seal(key, "ctx", "v").value();
  Keyring wrong(store_.get(), crypto::RandomSecret(32), &clock_);
  auto r = wrong.Open("ctx", env);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), "DecryptionFailure");
  // A fresh keyring with the right root key reads it (nothing cached).
  Keyring right(store_.get(), root_, &clock_);
  EXPECT_EQ(right.Open("ctx", env).value().Reveal(), "v");
}

}  // namespace
}  // namespace coffer
