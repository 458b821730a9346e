#include "services/kms/kms_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "crypto/crypto.h"
#include "store/sqlite_store.h"

namespace coffer::kms {
namespace {

namespace json = boost::json;

class KmsServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-kms-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(OpenSqliteStore(dir_ + "/coffer.db").value());
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), crypto::RandomSecret(32), &clock_);
    kms_ = std::make_unique<KmsService>(store_.get(), keyring_.get(), &clock_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Result<json::object> Call(std::string_view op, const json::object& body) {
    RequestContext ctx;
    ctx.scope = {"123456789012", "us-east-1"};
    ctx.principal.account = "123456789012";
    ctx.now = clock_.NowMillis();
    return kms_->Handle(op, ctx, body);
  }
  json::object Ok(std::string_view op, const json::object& body) {
    auto r = Call(op, body);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status().code() << " " << r.status().message();
    return r.ok() ? r.value() : json::object{};
  }
  std::string Code(std::string_view op, const json::object& body) {
    auto r = Call(op, body);
    return r.ok() ? "OK" : r.status().code();
  }
  std::string NewKey() {
    return std::string(Ok("CreateKey", {})["KeyMetadata"].at("KeyId").as_string());
  }
  std::string Encrypt(const std::string& key, const std::string& text) {
    return std::string(
        Ok("Encrypt", {{"KeyId", key},
                       {"Plaintext", crypto::Base64Encode(text)},
                       {"EncryptionContext", {{"purpose", "test"}}}})["CiphertextBlob"]
            .as_string());
  }
  std::string Decrypt(const std::string& blob) {
    auto out =
        Call("Decrypt", {{"CiphertextBlob", blob}, {"EncryptionContext", {{"purpose", "test"}}}});
    if (!out.ok()) return "error:" + out.status().code();
    return *crypto::Base64Decode(out->at("Plaintext").as_string());
  }

  FakeClock clock_{1767225600000};
  std::string dir_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<KmsService> kms_;
};

TEST_F(KmsServiceTest, EncryptDecryptBindsContextAndKey) {
  std::string key = NewKey();
  std::string blob = Encrypt(key, "attack at dawn");
  EXPECT_EQ(Decrypt(blob), "attack at dawn");
  auto wrong_ctx = Call("Decrypt", {{"CiphertextBlob", blob}});
  EXPECT_EQ(wrong_ctx.status().code(), "InvalidCiphertextException");
  std::string other = NewKey();
  EXPECT_EQ(Code("Decrypt", {{"CiphertextBlob", blob},
                             {"KeyId", other},
                             {"EncryptionContext", {{"purpose", "test"}}}}),
            "IncorrectKeyException");
  std::string raw = *crypto::Base64Decode(blob);
  raw[raw.size() - 3] ^= 1;
  EXPECT_EQ(Decrypt(crypto::Base64Encode(raw)), "error:InvalidCiphertextException");
}

TEST_F(KmsServiceTest, StatesGateUse) {
  std::string key = NewKey();
  std::string blob = Encrypt(key, "v");
  Ok("DisableKey", {{"KeyId", key}});
  EXPECT_EQ(Code("Encrypt", {{"KeyId", key}, {"Plaintext", "dg=="}}), "DisabledException");
  EXPECT_EQ(Decrypt(blob), "error:DisabledException");
  Ok("EnableKey", {{"KeyId", key}});
  EXPECT_EQ(Decrypt(blob), "v");
  auto scheduled = Ok("ScheduleKeyDeletion", {{"KeyId", key}, {"PendingWindowInDays", 7}});
  EXPECT_EQ(scheduled["KeyState"].as_string(), "PendingDeletion");
  EXPECT_EQ(Decrypt(blob), "error:KMSInvalidStateException");
  EXPECT_EQ(Ok("CancelKeyDeletion", {{"KeyId", key}})["KeyId"].as_string(),
            "arn:aws:kms:us-east-1:123456789012:key/" + key);
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", key}})["KeyMetadata"].at("KeyState").as_string(),
            "Disabled");
  Ok("EnableKey", {{"KeyId", key}});
  Ok("ScheduleKeyDeletion", {{"KeyId", key}, {"PendingWindowInDays", 7}});
  clock_.Advance(std::chrono::hours(24 * 7 + 1));
  EXPECT_EQ(kms_->RunKeyMaintenance().value(), 1);
  EXPECT_EQ(Code("DescribeKey", {{"KeyId", key}}), "NotFoundException");
}

TEST_F(KmsServiceTest, ScheduledRotationKeepsOldCiphertextsReadable) {
  std::string key = NewKey();
  Ok("EnableKeyRotation", {{"KeyId", key}, {"RotationPeriodInDays", 90}});
  std::string before = Encrypt(key, "old");
  clock_.Advance(std::chrono::hours(24 * 90 + 1));
  EXPECT_EQ(kms_->RunKeyMaintenance().value(), 1);
  std::string after = Encrypt(key, "new");
  EXPECT_EQ(Decrypt(before), "old");
  EXPECT_EQ(Decrypt(after), "new");
  // New encryptions use the new material.
  EXPECT_NE((*crypto::Base64Decode(before)).substr(38, 4),
            (*crypto::Base64Decode(after)).substr(38, 4));
  auto rotations = Ok("ListKeyRotations", {{"KeyId", key}})["Rotations"].as_array();
  ASSERT_EQ(rotations.size(), 1u);
  EXPECT_EQ(rotations[0].at("RotationType").as_string(), "AUTOMATIC");
  Ok("RotateKeyOnDemand", {{"KeyId", key}});
  rotations = Ok("ListKeyRotations", {{"KeyId", key}})["Rotations"].as_array();
  ASSERT_EQ(rotations.size(), 2u);
  EXPECT_EQ(rotations[1].at("RotationType").as_string(), "ON_DEMAND");
  EXPECT_EQ(Decrypt(before), "old");
  auto status = Ok("GetKeyRotationStatus", {{"KeyId", key}});
  EXPECT_TRUE(status["KeyRotationEnabled"].as_bool());
  EXPECT_EQ(status["RotationPeriodInDays"].as_int64(), 90);
}

TEST_F(KmsServiceTest, AliasesAndManagedKeys) {
  std::string key = NewKey();
  Ok("CreateAlias", {{"AliasName", "alias/mistersmith-secrets"}, {"TargetKeyId", key}});
  EXPECT_EQ(Code("CreateAlias", {{"AliasName", "alias/mistersmith-secrets"}, {"TargetKeyId", key}}),
            "AlreadyExistsException");
  EXPECT_EQ(Code("CreateAlias", {{"AliasName", "alias/aws/mine"}, {"TargetKeyId", key}}),
            "NotAuthorizedException");
  EXPECT_EQ(Code("CreateAlias", {{"AliasName", "nope"}, {"TargetKeyId", key}}),
            "ValidationException");
  EXPECT_EQ(Ok("DescribeKey", {{"KeyId", "alias/mistersmith-secrets"}})["KeyMetadata"]
                .at("KeyId")
                .as_string(),
            key);
  auto managed = Ok("DescribeKey", {{"KeyId", "alias/aws/ssm"}})["KeyMetadata"].as_object();
  EXPECT_EQ(managed["KeyManager"].as_string(), "AWS");
  EXPECT_EQ(Code("DisableKey", {{"KeyId", std::string(managed["KeyId"].as_string())}}),
            "UnsupportedOperationException");
  auto aliases = Ok("ListAliases", {})["Aliases"].as_array();
  EXPECT_EQ(aliases.size(), 2u);  // alias/aws/ssm and alias/mistersmith-secrets
  EXPECT_EQ(Code("DeleteAlias", {{"AliasName", "alias/none"}}), "NotFoundException");
  Ok("DeleteAlias", {{"AliasName", "alias/mistersmith-secrets"}});
  EXPECT_EQ(Code("DescribeKey", {{"KeyId", "alias/mistersmith-secrets"}}), "NotFoundException");
}

TEST_F(KmsServiceTest, DataKeysAndRandom) {
  std::string key = NewKey();
  auto dk = Ok("GenerateDataKey", {{"KeyId", key}, {"KeySpec", "AES_256"}});
  std::string plain = *crypto::Base64Decode(dk["Plaintext"].as_string());
  EXPECT_EQ(plain.size(), 32u);
  auto back = Ok("Decrypt", {{"CiphertextBlob", dk["CiphertextBlob"]}});
  EXPECT_EQ(*crypto::Base64Decode(back["Plaintext"].as_string()), plain);
  EXPECT_EQ(Code("GenerateDataKey", {{"KeyId", key}}), "ValidationException");
  EXPECT_FALSE(Ok("GenerateDataKeyWithoutPlaintext", {{"KeyId", key}, {"NumberOfBytes", 16}})
                   .contains("Plaintext"));
  EXPECT_EQ(
      crypto::Base64Decode(Ok("GenerateRandom", {{"NumberOfBytes", 40}})["Plaintext"].as_string())
          ->size(),
      40u);
  EXPECT_EQ(Code("GenerateRandom", {{"NumberOfBytes", 1025}}), "ValidationException");
}

TEST_F(KmsServiceTest, ListKeysPagesWithMarkers) {
  for (int i = 0; i < 5; ++i) NewKey();
  auto page = Ok("ListKeys", {{"Limit", 2}});
  EXPECT_TRUE(page["Truncated"].as_bool());
  size_t seen = page["Keys"].as_array().size();
  while (page["Truncated"].as_bool()) {
    page = Ok("ListKeys", {{"Limit", 2}, {"Marker", page["NextMarker"]}});
    seen += page["Keys"].as_array().size();
  }
  EXPECT_EQ(seen, 5u);
  EXPECT_EQ(Code("ListKeys", {{"Marker", "bogus"}}), "InvalidMarkerException");
}

}  // namespace
}  // namespace coffer::kms
