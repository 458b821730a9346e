#include "services/kms/kms_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/service_test_support.h"

namespace coffer::kms {
namespace {

namespace json = boost::json;

using FakeAuthorizer = test_support::RecordingAuthorizer;

class KmsServiceTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    kms_ = std::make_unique<KmsService>(store_.get(), keyring_.get(), &clock_);
  }

  Result<json::object> Call(std::string_view op, const json::object& body) {
    RequestContext ctx;
    AuthorizationLog authorization;
    ctx.authorization = &authorization;
    ctx.scope = {"123456789012", "us-east-1"};
    ctx.principal.account = "123456789012";
    ctx.now = clock_.NowMillis();
    ctx.authorizer = authorizer_;
    auto out = kms_->Handle(op, ctx, body);
    last_authorized_ = authorization.answered();
    return out;
  }
  json::object Ok(std::string_view op, const json::object& body) {
    auto r = Call(op, body);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status().code() << " " << r.status().message();
    return r.ok() ? r.value() : json::object{};
  }
  std::string Code(std::string_view op, const json::object& body) {
    auto r = Call(op, body);
    return r.ok() ? "OK" : std::string(r.status().code_name());
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
    if (!out.ok()) return "error:" + std::string(out.status().code_name());
    return *crypto::Base64Decode(out->at("Plaintext").as_string());
  }

  std::unique_ptr<KmsService> kms_;
  const Authorizer* authorizer_ = &allow_all_;  // or a test's FakeAuthorizer (Install())
  bool last_authorized_ = false;                // whether the last Call() asked (or needed not to)
};

TEST_F(KmsServiceTest, EncryptDecryptBindsContextAndKey) {
  std::string key = NewKey();
  std::string blob = Encrypt(key, "attack at dawn");
  EXPECT_EQ(Decrypt(blob), "attack at dawn");
  auto wrong_ctx = Call("Decrypt", {{"CiphertextBlob", blob}});
  EXPECT_EQ(wrong_ctx.status().code(), ErrorCode::kInvalidCiphertextException);
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

// --- Authorization ---------------------------------------------------------------------------

class KmsAuthzTest : public KmsServiceTest {
 protected:
  void Install() { authorizer_ = &authz_; }
  std::string ArnOf(const std::string& key_id) {
    return "arn:aws:kms:us-east-1:123456789012:key/" + key_id;
  }
  FakeAuthorizer authz_;
};

TEST_F(KmsAuthzTest, EncryptAsksTheKeyPolicyWithTheEncryptionContext) {
  std::string key = NewKey();
  std::string policy = std::string(Ok("GetKeyPolicy", {{"KeyId", key}})["Policy"].as_string());
  Install();
  Ok("Encrypt", {{"KeyId", key},
                 {"Plaintext", crypto::Base64Encode("v")},
                 {"EncryptionContext", {{"Purpose", "Test"}, {"tenant", "acme"}}}});
  auto checks = authz_.For("kms:Encrypt");
  ASSERT_EQ(checks.size(), 1u);
  const auto& c = checks[0];
  EXPECT_EQ(c.resource, ArnOf(key));
  EXPECT_EQ(c.resource_account, "123456789012");
  EXPECT_TRUE(c.key_policy);
  ASSERT_TRUE(c.resource_policy.has_value());
  EXPECT_EQ(*c.resource_policy, policy);
  EXPECT_EQ(c.context.at("kms:encryptioncontext:purpose"), std::vector<std::string>{"Test"});
  EXPECT_EQ(c.context.at("kms:encryptioncontext:tenant"), std::vector<std::string>{"acme"});
  EXPECT_EQ(c.context.at("kms:encryptioncontextkeys"),
            (std::vector<std::string>{"Purpose", "tenant"}));
  EXPECT_EQ(c.context.at("kms:calleraccount"), std::vector<std::string>{"123456789012"});
  EXPECT_EQ(c.context.at("kms:encryptionalgorithm"), std::vector<std::string>{"SYMMETRIC_DEFAULT"});

  authz_.deny = {"kms:Encrypt"};
  EXPECT_EQ(Code("Encrypt", {{"KeyId", key}, {"Plaintext", "dg=="}}), "AccessDeniedException");
  // DryRun answers only a caller who is allowed.
  EXPECT_EQ(Code("Encrypt", {{"KeyId", key}, {"Plaintext", "dg=="}, {"DryRun", true}}),
            "AccessDeniedException");
  authz_.deny.clear();
  EXPECT_EQ(Code("Encrypt", {{"KeyId", key}, {"Plaintext", "dg=="}, {"DryRun", true}}),
            "DryRunOperationException");
}

TEST_F(KmsAuthzTest, EncryptThroughAnAliasAddsRequestAliasAndResourceTags) {
  std::string key = NewKey();
  Ok("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", key}});
  Ok("TagResource", {{"KeyId", key}, {"Tags", {{{"TagKey", "Team"}, {"TagValue", "Blue"}}}}});
  Install();
  Ok("Encrypt", {{"KeyId", "alias/app"}, {"Plaintext", "dg=="}});
  auto checks = authz_.For("kms:Encrypt");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].resource, ArnOf(key));
  EXPECT_EQ(checks[0].context.at("kms:requestalias"), std::vector<std::string>{"alias/app"});
  EXPECT_EQ(checks[0].context.at("kms:resourcealiases"), std::vector<std::string>{"alias/app"});
  EXPECT_EQ(checks[0].context.at("aws:resourcetag/team"), std::vector<std::string>{"Blue"});
}

TEST_F(KmsAuthzTest, DecryptWithoutKeyIdAsksOnTheCiphertextsKey) {
  std::string key = NewKey();
  NewKey();  // another key, never asked about
  std::string blob = Encrypt(key, "secret");
  Install();
  EXPECT_EQ(Decrypt(blob), "secret");
  auto checks = authz_.For("kms:Decrypt");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].resource, ArnOf(key));
  EXPECT_TRUE(checks[0].key_policy);
  ASSERT_TRUE(checks[0].resource_policy.has_value());
  EXPECT_EQ(checks[0].context.at("kms:encryptioncontext:purpose"),
            std::vector<std::string>{"test"});
  EXPECT_EQ(authz_.checks.size(), 1u);

  // A denied caller is not told which key the ciphertext names, and gets no plaintext.
  authz_.deny = {"kms:Decrypt"};
  auto denied =
      Call("Decrypt", {{"CiphertextBlob", blob}, {"EncryptionContext", {{"purpose", "test"}}}});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), ErrorCode::kAccessDeniedException);
  EXPECT_EQ(denied.status().message().find(key), std::string::npos) << denied.status().message();
  EXPECT_NE(denied.status().message().find("the resource associated with this ciphertext"),
            std::string::npos);
}

TEST_F(KmsAuthzTest, DecryptWithKeyIdAsksOnTheNamedKeyBeforeComparing) {
  std::string key = NewKey();
  std::string other = NewKey();
  std::string blob = Encrypt(key, "secret");
  Install();
  authz_.deny = {"kms:Decrypt"};
  // Not allowed on the named key: AccessDenied, not IncorrectKey.
  EXPECT_EQ(Code("Decrypt", {{"CiphertextBlob", blob},
                             {"KeyId", other},
                             {"EncryptionContext", {{"purpose", "test"}}}}),
            "AccessDeniedException");
  ASSERT_EQ(authz_.For("kms:Decrypt").size(), 1u);
  EXPECT_EQ(authz_.For("kms:Decrypt")[0].resource, ArnOf(other));
}

TEST_F(KmsAuthzTest, ReEncryptAsksFromOnTheSourceAndToOnTheDestination) {
  std::string a = NewKey(), b = NewKey();
  std::string blob = Encrypt(a, "move me");
  Install();
  Ok("ReEncrypt", {{"CiphertextBlob", blob},
                   {"SourceEncryptionContext", {{"purpose", "test"}}},
                   {"DestinationKeyId", b},
                   {"DestinationEncryptionContext", {{"stage", "two"}}}});
  auto from = authz_.For("kms:ReEncryptFrom");
  auto to = authz_.For("kms:ReEncryptTo");
  ASSERT_EQ(from.size(), 1u);
  ASSERT_EQ(to.size(), 1u);
  EXPECT_EQ(from[0].resource, ArnOf(a));
  EXPECT_EQ(to[0].resource, ArnOf(b));
  EXPECT_TRUE(from[0].key_policy && to[0].key_policy);
  EXPECT_EQ(from[0].context.at("kms:encryptioncontext:purpose"), std::vector<std::string>{"test"});
  EXPECT_EQ(to[0].context.at("kms:encryptioncontext:stage"), std::vector<std::string>{"two"});
  EXPECT_EQ(to[0].context.at("kms:reencryptonsamekey"), std::vector<std::string>{"false"});
  EXPECT_TRUE(authz_.For("kms:Decrypt").empty());

  authz_.deny = {"kms:ReEncryptTo"};
  EXPECT_EQ(Code("ReEncrypt", {{"CiphertextBlob", blob},
                               {"SourceEncryptionContext", {{"purpose", "test"}}},
                               {"DestinationKeyId", b}}),
            "AccessDeniedException");
}

TEST_F(KmsAuthzTest, CreateAliasAsksOnTheAliasAndTheKey) {
  std::string key = NewKey();
  Install();
  Ok("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", key}});
  auto checks = authz_.For("kms:CreateAlias");
  ASSERT_EQ(checks.size(), 2u);
  // The alias: IAM policies only.
  EXPECT_EQ(checks[0].resource, "arn:aws:kms:us-east-1:123456789012:alias/app");
  EXPECT_FALSE(checks[0].key_policy);
  EXPECT_FALSE(checks[0].resource_policy.has_value());
  // The key: its key policy decides.
  EXPECT_EQ(checks[1].resource, ArnOf(key));
  EXPECT_TRUE(checks[1].key_policy);
  EXPECT_TRUE(checks[1].resource_policy.has_value());

  // Denied on the alias: the key is not even looked at, and nothing is created.
  authz_.checks.clear();
  authz_.deny = {"kms:CreateAlias"};
  EXPECT_EQ(Code("CreateAlias", {{"AliasName", "alias/other"}, {"TargetKeyId", key}}),
            "AccessDeniedException");
  EXPECT_EQ(authz_.checks.size(), 1u);
  authz_.deny.clear();
  EXPECT_EQ(Code("DescribeKey", {{"KeyId", "alias/other"}}), "NotFoundException");
}

TEST_F(KmsAuthzTest, UpdateAndDeleteAliasAskOnTheAliasAndEveryKeyTheyTouch) {
  std::string a = NewKey(), b = NewKey();
  Ok("CreateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", a}});
  Install();
  Ok("UpdateAlias", {{"AliasName", "alias/app"}, {"TargetKeyId", b}});
  auto update = authz_.For("kms:UpdateAlias");
  ASSERT_EQ(update.size(), 3u);
  EXPECT_EQ(update[0].resource, "arn:aws:kms:us-east-1:123456789012:alias/app");
  EXPECT_FALSE(update[0].key_policy);
  EXPECT_EQ(update[1].resource, ArnOf(a));
  EXPECT_EQ(update[2].resource, ArnOf(b));
  EXPECT_TRUE(update[1].key_policy && update[2].key_policy);

  authz_.deny = {"kms:DeleteAlias"};
  EXPECT_EQ(Code("DeleteAlias", {{"AliasName", "alias/app"}}), "AccessDeniedException");
  authz_.deny.clear();
  Ok("DeleteAlias", {{"AliasName", "alias/app"}});
  auto del = authz_.For("kms:DeleteAlias");
  ASSERT_EQ(del.size(), 3u);  // denied on the alias once, then alias + key
  EXPECT_EQ(del[2].resource, ArnOf(b));
  EXPECT_TRUE(del[2].key_policy);
}

TEST_F(KmsAuthzTest, AccountWideOperationsAskOnStarWithoutAKeyPolicy) {
  NewKey();
  Install();
  Ok("ListKeys", {});
  Ok("ListAliases", {});
  Ok("GenerateRandom", {{"NumberOfBytes", 8}});
  Ok("CreateKey", {{"Tags", {{{"TagKey", "Team"}, {"TagValue", "Blue"}}}}});
  for (const char* action :
       {"kms:ListKeys", "kms:ListAliases", "kms:GenerateRandom", "kms:CreateKey"}) {
    auto checks = authz_.For(action);
    ASSERT_EQ(checks.size(), 1u) << action;
    EXPECT_EQ(checks[0].resource, "*") << action;
    EXPECT_FALSE(checks[0].key_policy) << action;
    EXPECT_FALSE(checks[0].resource_policy.has_value()) << action;
  }
  auto create = authz_.For("kms:CreateKey")[0];
  EXPECT_EQ(create.context.at("aws:requesttag/team"), std::vector<std::string>{"Blue"});
  EXPECT_EQ(create.context.at("aws:tagkeys"), std::vector<std::string>{"Team"});
  // Tags given to CreateKey also need kms:TagResource (IAM policy) on the new key.
  auto tag = authz_.For("kms:TagResource");
  ASSERT_EQ(tag.size(), 1u);
  EXPECT_EQ(tag[0].resource.rfind("arn:aws:kms:us-east-1:123456789012:key/", 0), 0u);
  EXPECT_FALSE(tag[0].key_policy);

  authz_.deny = {"kms:ListKeys"};
  EXPECT_EQ(Code("ListKeys", {}), "AccessDeniedException");
}

TEST_F(KmsAuthzTest, DeniedScheduleKeyDeletionChangesNothing) {
  std::string key = NewKey();
  Install();
  authz_.deny = {"kms:ScheduleKeyDeletion"};
  EXPECT_EQ(Code("ScheduleKeyDeletion", {{"KeyId", key}, {"PendingWindowInDays", 7}}),
            "AccessDeniedException");
  auto checks = authz_.For("kms:ScheduleKeyDeletion");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].resource, ArnOf(key));
  EXPECT_TRUE(checks[0].key_policy);
  EXPECT_EQ(checks[0].context.at("kms:schedulekeydeletionpendingwindowindays"),
            std::vector<std::string>{"7"});
  auto md = Ok("DescribeKey", {{"KeyId", key}})["KeyMetadata"].as_object();
  EXPECT_EQ(md["KeyState"].as_string(), "Enabled");
  EXPECT_FALSE(md.contains("DeletionDate"));
}

TEST_F(KmsAuthzTest, AMissingKeyIsNotFoundBeforeAnyPermissionIsAsked) {
  Install();
  authz_.deny = {"kms:DescribeKey", "kms:Encrypt"};
  EXPECT_EQ(Code("DescribeKey", {{"KeyId", "00000000-0000-0000-0000-000000000000"}}),
            "NotFoundException");
  EXPECT_EQ(Code("Encrypt", {{"KeyId", "alias/none"}, {"Plaintext", "dg=="}}), "NotFoundException");
  EXPECT_TRUE(authz_.checks.empty());
}

TEST_F(KmsAuthzTest, EveryServedOperationAsksBeforeItSucceeds) {
  std::string key = NewKey();
  std::string blob = Encrypt(key, "v");
  Install();
  const std::vector<std::pair<std::string, json::object>> calls = {
      {"CreateKey", {}},
      {"DescribeKey", {{"KeyId", key}}},
      {"ListKeys", {}},
      {"UpdateKeyDescription", {{"KeyId", key}, {"Description", "d"}}},
      {"DisableKey", {{"KeyId", key}}},
      {"EnableKey", {{"KeyId", key}}},
      {"CreateAlias", {{"AliasName", "alias/every"}, {"TargetKeyId", key}}},
      {"UpdateAlias", {{"AliasName", "alias/every"}, {"TargetKeyId", key}}},
      {"ListAliases", {}},
      {"Encrypt", {{"KeyId", key}, {"Plaintext", "dg=="}}},
      {"Decrypt", {{"CiphertextBlob", blob}, {"EncryptionContext", {{"purpose", "test"}}}}},
      {"ReEncrypt",
       {{"CiphertextBlob", blob},
        {"SourceEncryptionContext", {{"purpose", "test"}}},
        {"DestinationKeyId", key}}},
      {"GenerateDataKey", {{"KeyId", key}, {"NumberOfBytes", 16}}},
      {"GenerateDataKeyWithoutPlaintext", {{"KeyId", key}, {"KeySpec", "AES_128"}}},
      {"GenerateRandom", {{"NumberOfBytes", 4}}},
      {"EnableKeyRotation", {{"KeyId", key}}},
      {"GetKeyRotationStatus", {{"KeyId", key}}},
      {"RotateKeyOnDemand", {{"KeyId", key}}},
      {"ListKeyRotations", {{"KeyId", key}}},
      {"DisableKeyRotation", {{"KeyId", key}}},
      {"GetKeyPolicy", {{"KeyId", key}}},
      {"PutKeyPolicy", {{"KeyId", key}, {"Policy", Keyring::DefaultKeyPolicy("123456789012")}}},
      {"ListKeyPolicies", {{"KeyId", key}}},
      {"TagResource", {{"KeyId", key}, {"Tags", {{{"TagKey", "a"}, {"TagValue", "b"}}}}}},
      {"ListResourceTags", {{"KeyId", key}}},
      {"UntagResource", {{"KeyId", key}, {"TagKeys", {"a"}}}},
      {"DeleteAlias", {{"AliasName", "alias/every"}}},
      {"ScheduleKeyDeletion", {{"KeyId", key}}},
      {"CancelKeyDeletion", {{"KeyId", key}}},
  };
  for (const auto& [op, body] : calls) {
    authz_.checks.clear();
    Ok(op, body);
    EXPECT_TRUE(last_authorized_) << op;
    ASSERT_FALSE(authz_.checks.empty()) << op;
    std::string expected = "kms:" + op;
    if (op == "ReEncrypt") expected = "kms:ReEncryptFrom";
    EXPECT_EQ(authz_.checks.back().action == expected || authz_.checks.front().action == expected,
              true)
        << op << " asked " << authz_.checks.front().action;
  }
  // Operations coffer refuses are refused without a question (the dispatcher passes errors on;
  // only a success must have asked).
  authz_.checks.clear();
  EXPECT_EQ(Code("Sign", {}), "UnsupportedOperationException");
  EXPECT_FALSE(last_authorized_);
  EXPECT_EQ(Code("NoSuchOperation", {}), "UnknownOperationException");
  EXPECT_FALSE(last_authorized_);
  EXPECT_TRUE(authz_.checks.empty());
}

}  // namespace
}  // namespace coffer::kms
