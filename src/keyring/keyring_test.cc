#include "keyring/keyring.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/test_store.h"

namespace coffer {
namespace {

class KeyringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-keyring-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(test_support::OpenTestStore(dir_, &schema_.name).value());
    root_ = crypto::RandomSecret(32);
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), root_, &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  FakeClock clock_{1700000000000};
  std::string dir_;
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
  SecretBytes root_;
  std::unique_ptr<Keyring> keyring_;
  Scope scope_{"123456789012", "us-east-1"};
};

TEST_F(KeyringTest, ManagedKeyIsCreatedOnceAndReachableByEveryName) {
  auto k1 = keyring_->ResolveKey(scope_, "", "secretsmanager", ErrorCode::kNotFoundException);
  ASSERT_TRUE(k1.ok());
  EXPECT_EQ(k1->manager, KeyManager::kAws);
  auto k2 = keyring_->ResolveKey(scope_, "alias/aws/secretsmanager", "secretsmanager",
                                 ErrorCode::kNotFoundException);
  auto k3 = keyring_->ResolveKey(scope_, k1->arn, "secretsmanager", ErrorCode::kNotFoundException);
  auto k4 =
      keyring_->ResolveKey(scope_, k1->key_id, "secretsmanager", ErrorCode::kNotFoundException);
  auto k5 =
      keyring_->ResolveKey(scope_, "arn:aws:kms:us-east-1:123456789012:alias/aws/secretsmanager",
                           "secretsmanager", ErrorCode::kNotFoundException);
  for (auto* k : {&k2, &k3, &k4, &k5}) {
    ASSERT_TRUE(k->ok());
    EXPECT_EQ((*k)->key_id, k1->key_id);
  }
  // Another region has its own key.
  auto other = keyring_->ResolveKey({"123456789012", "eu-west-1"}, "", "secretsmanager",
                                    ErrorCode::kNotFoundException);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->key_id, k1->key_id);
  auto missing =
      keyring_->ResolveKey(scope_, "alias/nope", "secretsmanager", ErrorCode::kEncryptionFailure);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kEncryptionFailure);
}

TEST_F(KeyringTest, EnvelopeRoundTripAndContextBinding) {
  auto key =
      keyring_->ResolveKey(scope_, "", "secretsmanager", ErrorCode::kNotFoundException).value();
  auto env = keyring_->SealValue(key, "ctx-a", "the plaintext value");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->find("plaintext"), std::string::npos);
  auto opened = keyring_->OpenValue("ctx-a", *env);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->Reveal(), "the plaintext value");
  auto moved = keyring_->OpenValue("ctx-b", *env);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), ErrorCode::kDecryptionFailure);
  for (size_t i = 0; i < env->size(); i += 7) {
    std::string bad = *env;
    bad[i] ^= 0x10;
    EXPECT_FALSE(keyring_->OpenValue("ctx-a", bad).ok()) << "flip at " << i;
  }
  EXPECT_FALSE(keyring_->OpenValue("ctx-a", "").ok());
}

TEST_F(KeyringTest, AnotherUnsealKeyCannotUnseal) {
  auto key =
      keyring_->ResolveKey(scope_, "", "secretsmanager", ErrorCode::kNotFoundException).value();
  auto env = keyring_->SealValue(key, "ctx", "v").value();
  Keyring wrong(store_.get(), &clock_);
  Status s = wrong.Unseal(crypto::RandomSecret(32));
  EXPECT_EQ(s.code(), ErrorCode::kInvalidUnsealKeyException);
  EXPECT_TRUE(wrong.sealed());
  auto r = wrong.OpenValue("ctx", env);
  ASSERT_FALSE(r.ok());
  // A fresh keyring unsealed with the right key reads it (nothing cached).
  Keyring right(store_.get(), &clock_);
  ASSERT_TRUE(right.Unseal(root_).ok());
  EXPECT_EQ(right.OpenValue("ctx", env).value().Reveal(), "v");
}

TEST_F(KeyringTest, SealedKeyringRefusesEveryKeyOperationAndForgetsCachedMaterial) {
  auto key =
      keyring_->ResolveKey(scope_, "", "secretsmanager", ErrorCode::kNotFoundException).value();
  auto env = keyring_->SealValue(key, "ctx", "v").value();
  auto wrapped = keyring_->WrapWithStorageKey("p", "small secret").value();
  ASSERT_TRUE(keyring_->OpenValue("ctx", env).ok());  // material now cached
  int listened = 0;
  keyring_->AddSealListener([&] { ++listened; });
  keyring_->Seal();
  EXPECT_TRUE(keyring_->sealed());
  EXPECT_EQ(listened, 1);
  EXPECT_FALSE(keyring_->OpenValue("ctx", env).ok());
  EXPECT_EQ(keyring_->SealValue(key, "ctx", "v").status().code(),
            ErrorCode::kServiceUnavailableException);
  EXPECT_EQ(keyring_->WrapWithStorageKey("p", "x").status().code(),
            ErrorCode::kServiceUnavailableException);
  EXPECT_EQ(keyring_->UnwrapWithStorageKey("p", wrapped).status().code(),
            ErrorCode::kServiceUnavailableException);
  EXPECT_EQ(keyring_->NewKeyMaterial("k", 1, 0, MaterialOrigin::kCreated).status().code(),
            ErrorCode::kServiceUnavailableException);
  EXPECT_EQ(keyring_->RotateRoot().status().code(), ErrorCode::kServiceUnavailableException);
  ASSERT_TRUE(keyring_->Unseal(root_).ok());
  EXPECT_EQ(keyring_->OpenValue("ctx", env).value().Reveal(), "v");
  EXPECT_EQ(keyring_->UnwrapWithStorageKey("p", wrapped).value().Reveal(), "small secret");
}

TEST_F(KeyringTest, RotateRootRewrapsMaterialAndKeepsEverythingReadable) {
  std::vector<std::string> envelopes;
  std::vector<KmsKeyRow> keys;
  for (const char* service : {"secretsmanager", "ssm"}) {
    keys.push_back(
        keyring_->ResolveKey(scope_, "", service, ErrorCode::kNotFoundException).value());
    envelopes.push_back(keyring_->SealValue(keys.back(), "ctx", service).value());
  }
  auto wrapped = keyring_->WrapWithStorageKey("p", "small secret").value();
  std::vector<std::string> before;
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto materials, r.kms().ListAllMaterials());
                    for (const auto& m : materials) before.push_back(m.wrapped);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(keyring_->root_generation(), 1);
  auto rotated = keyring_->RotateRoot();
  ASSERT_TRUE(rotated.ok()) << rotated.status().message();
  EXPECT_EQ(rotated->generation, 2);
  EXPECT_EQ(rotated->rewrapped_materials, 2);
  std::vector<std::string> after;
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto materials, r.kms().ListAllMaterials());
                    for (const auto& m : materials) after.push_back(m.wrapped);
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) EXPECT_NE(after[i], before[i]);
  // Material written after the rotation is under the new root key too.
  keys.push_back(keyring_->ResolveKey(scope_, "", "other", ErrorCode::kNotFoundException)
                     .value());  // creates alias/aws/other
  envelopes.push_back(keyring_->SealValue(keys.back(), "ctx", "other").value());

  // A new process: the same unseal key opens the rotated root key; nothing is cached.
  Keyring fresh(store_.get(), &clock_);
  ASSERT_TRUE(fresh.Unseal(root_).ok());
  EXPECT_EQ(fresh.root_generation(), 2);
  EXPECT_EQ(fresh.OpenValue("ctx", envelopes[0]).value().Reveal(), "secretsmanager");
  EXPECT_EQ(fresh.OpenValue("ctx", envelopes[1]).value().Reveal(), "ssm");
  EXPECT_EQ(fresh.OpenValue("ctx", envelopes[2]).value().Reveal(), "other");
  EXPECT_EQ(fresh.UnwrapWithStorageKey("p", wrapped).value().Reveal(), "small secret");
}

TEST_F(KeyringTest, InterruptedRotateRootLeavesThePreviousRootKeyInForce) {
  std::vector<std::string> envelopes;
  for (const char* service : {"a", "b", "c"}) {
    auto key = keyring_->ResolveKey(scope_, "", service, ErrorCode::kNotFoundException).value();
    envelopes.push_back(keyring_->SealValue(key, "ctx", service).value());
  }
  auto failed = keyring_->RotateRoot(/*fail_after_rewraps=*/2);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(keyring_->root_generation(), 1);
  Keyring fresh(store_.get(), &clock_);
  ASSERT_TRUE(fresh.Unseal(root_).ok());
  EXPECT_EQ(fresh.root_generation(), 1);
  EXPECT_EQ(fresh.OpenValue("ctx", envelopes[0]).value().Reveal(), "a");
  EXPECT_EQ(fresh.OpenValue("ctx", envelopes[2]).value().Reveal(), "c");
  // The interrupted attempt did not block the next one.
  ASSERT_TRUE(keyring_->RotateRoot().ok());
  Keyring again(store_.get(), &clock_);
  ASSERT_TRUE(again.Unseal(root_).ok());
  EXPECT_EQ(again.root_generation(), 2);
  EXPECT_EQ(again.OpenValue("ctx", envelopes[1]).value().Reveal(), "b");
}

TEST(LockedKeyTest, HoldsCopiesAndWipesIndependently) {
  LockedKey a = LockedKey::Random();
  LockedKey b = a.Clone();
  ASSERT_EQ(a.Reveal(), b.Reveal());
  EXPECT_NE(a.data(), b.data());
  std::string copy(a.Reveal());
  a = LockedKey();
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(b.Reveal(), copy);
  LockedKey moved = std::move(b);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(moved.Reveal(), copy);
}

}  // namespace
}  // namespace coffer
