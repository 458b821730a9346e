#include "services/secrets/secrets_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "core/ids.h"
#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/service_test_support.h"

namespace coffer::secrets {
namespace {

namespace json = boost::json;

class SecretsServiceTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    service_ = std::make_unique<SecretsService>(store_.get(), keyring_.get(), &clock_);
  }

  Result<json::object> Call(std::string_view op, const char* body,
                            const std::string& region = "us-east-1") {
    RequestContext ctx;
    ctx.authorizer = &allow_all_;
    ctx.scope = {"123456789012", region};
    ctx.principal.account = "123456789012";
    ctx.now = clock_.NowMillis();
    json::object input = json::parse(body).as_object();
    // The SDKs fill in ClientRequestToken for these operations; do what they do.
    if ((op == "CreateSecret" || op == "PutSecretValue" || op == "UpdateSecret") &&
        !input.contains("ClientRequestToken")) {
      input["ClientRequestToken"] = NewUuid();
    }
    return service_->Handle(op, ctx, input);
  }
  json::object Ok(std::string_view op, const char* body) {
    auto r = Call(op, body);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status().code() << " " << r.status().message();
    return r.ok() ? r.value() : json::object{};
  }
  std::string Code(std::string_view op, const char* body) {
    auto r = Call(op, body);
    return r.ok() ? "OK" : std::string(r.status().code_name());
  }

  std::unique_ptr<SecretsService> service_;
};

TEST_F(SecretsServiceTest, CreateAndReadBack) {
  auto created = Ok("CreateSecret", R"({"Name":"app/db","SecretString":"s3cr3t-value"})");
  std::string arn(created["ARN"].as_string());
  EXPECT_EQ(arn.rfind("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-", 0), 0u);
  EXPECT_EQ(arn.size(),
            std::string("arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-").size() + 6);
  auto got = Ok("GetSecretValue", R"({"SecretId":"app/db"})");
  EXPECT_EQ(got["SecretString"].as_string(), "s3cr3t-value");
  EXPECT_EQ(got["VersionStages"].as_array(), json::array{"AWSCURRENT"});
  EXPECT_EQ(got["CreatedDate"].as_int64(), 1767225600);
  // Partial ARN (without the random suffix) and full ARN both resolve.
  std::string partial = arn.substr(0, arn.size() - 7);
  EXPECT_EQ(Code("GetSecretValue", ("{\"SecretId\":\"" + partial + "\"}").c_str()), "OK");
  EXPECT_EQ(Code("GetSecretValue", ("{\"SecretId\":\"" + arn + "\"}").c_str()), "OK");
  // A name that itself ends like a suffix is not found through a partial ARN.
  Ok("CreateSecret", R"({"Name":"svc-Abc123","SecretString":"v"})");
  EXPECT_EQ(Code("GetSecretValue", R"({"SecretId":"svc-Abc123"})"), "OK");
  EXPECT_EQ(
      Code("GetSecretValue",
           R"({"SecretId":"arn:aws:secretsmanager:us-east-1:123456789012:secret:svc-Abc123"})"),
      "ResourceNotFoundException");
  // Name plus suffix without the ARN prefix is not a name.
  std::string name_suffix = "app/db" + arn.substr(arn.size() - 7);
  EXPECT_EQ(Code("GetSecretValue", ("{\"SecretId\":\"" + name_suffix + "\"}").c_str()),
            "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, ReadsNeverSeeStaleCachedState) {
  Ok("CreateSecret", R"({"Name":"c","SecretString":"v1"})");
  EXPECT_EQ(Ok("GetSecretValue", R"({"SecretId":"c"})")["SecretString"].as_string(), "v1");
  EXPECT_EQ(Ok("GetSecretValue", R"({"SecretId":"c"})")["SecretString"].as_string(), "v1");
  Ok("PutSecretValue", R"({"SecretId":"c","SecretString":"v2"})");
  EXPECT_EQ(Ok("GetSecretValue", R"({"SecretId":"c"})")["SecretString"].as_string(), "v2");
  Ok("DeleteSecret", R"({"SecretId":"c","ForceDeleteWithoutRecovery":true})");
  EXPECT_EQ(Code("GetSecretValue", R"({"SecretId":"c"})"), "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, KeysThatCannotBeReadNowAreRetryableNotABadKeyOrCiphertext) {
  // A sealed server stands for any moment the key material cannot be read (the store down):
  // the answer is the retryable one, never EncryptionFailure or DecryptionFailure, which would
  // tell the caller its KMS key or its secret is broken.
  Ok("CreateSecret", R"({"Name":"app/db","SecretString":"before"})");
  keyring_->Seal();
  EXPECT_EQ(Code("PutSecretValue", R"({"SecretId":"app/db","SecretString":"after"})"),
            "ServiceUnavailableException");
  EXPECT_EQ(Code("GetSecretValue", R"({"SecretId":"app/db"})"), "ServiceUnavailableException");
  EXPECT_EQ(Code("CreateSecret", R"({"Name":"app/new","SecretString":"v"})"),
            "ServiceUnavailableException");
}

TEST_F(SecretsServiceTest, RegionsAreSeparate) {
  Ok("CreateSecret", R"({"Name":"x","SecretString":"v"})");
  auto r = Call("GetSecretValue", R"({"SecretId":"x"})", "eu-west-1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kResourceNotFoundException);
}

TEST_F(SecretsServiceTest, PutSecretValueMovesStagesAndIsIdempotent) {
  Ok("CreateSecret",
     R"({"Name":"s","SecretString":"one","ClientRequestToken":"11111111111111111111111111111111"})");
  auto put = Ok(
      "PutSecretValue",
      R"({"SecretId":"s","SecretString":"two","ClientRequestToken":"22222222222222222222222222222222"})");
  EXPECT_EQ(put["VersionStages"].as_array(), json::array{"AWSCURRENT"});
  auto d = Ok("DescribeSecret", R"({"SecretId":"s"})");
  EXPECT_EQ(d["VersionIdsToStages"].as_object(),
            (json::object{{"11111111111111111111111111111111", json::array{"AWSPREVIOUS"}},
                          {"22222222222222222222222222222222", json::array{"AWSCURRENT"}}}));
  // Same token, same value: no new version.
  Ok("PutSecretValue",
     R"({"SecretId":"s","SecretString":"two","ClientRequestToken":"22222222222222222222222222222222"})");
  EXPECT_EQ(Ok("ListSecretVersionIds", R"({"SecretId":"s"})")["Versions"].as_array().size(), 2u);
  // Same token, different value.
  EXPECT_EQ(
      Code(
          "PutSecretValue",
          R"({"SecretId":"s","SecretString":"three","ClientRequestToken":"22222222222222222222222222222222"})"),
      "ResourceExistsException");
  // AWSPENDING does not move AWSCURRENT.
  Ok("PutSecretValue",
     R"({"SecretId":"s","SecretString":"p","ClientRequestToken":"33333333333333333333333333333333","VersionStages":["AWSPENDING"]})");
  EXPECT_EQ(Ok("GetSecretValue", R"({"SecretId":"s"})")["SecretString"].as_string(), "two");
  EXPECT_EQ(Ok("GetSecretValue", R"({"SecretId":"s","VersionStage":"AWSPENDING"})")["SecretString"]
                .as_string(),
            "p");
  EXPECT_EQ(
      Code(
          "GetSecretValue",
          R"({"SecretId":"s","VersionId":"33333333333333333333333333333333","VersionStage":"AWSCURRENT"})"),
      "InvalidRequestException");
}

TEST_F(SecretsServiceTest, DeleteRestoreAndPurgeAfterWindow) {
  Ok("CreateSecret", R"({"Name":"gone","SecretString":"v"})");
  auto del = Ok("DeleteSecret", R"({"SecretId":"gone","RecoveryWindowInDays":7})");
  EXPECT_EQ(del["DeletionDate"].as_int64(), 1767225600 + 7 * 86400);
  EXPECT_EQ(Code("GetSecretValue", R"({"SecretId":"gone"})"), "InvalidRequestException");
  EXPECT_EQ(Code("PutSecretValue", R"({"SecretId":"gone","SecretString":"x"})"),
            "InvalidRequestException");
  EXPECT_EQ(Code("CreateSecret", R"({"Name":"gone","SecretString":"v"})"),
            "InvalidRequestException");
  EXPECT_EQ(Ok("DescribeSecret", R"({"SecretId":"gone"})")["DeletedDate"].as_int64(),
            1767225600 + 7 * 86400);
  EXPECT_TRUE(Ok("ListSecrets", "{}")["SecretList"].as_array().empty());
  EXPECT_EQ(Ok("ListSecrets", R"({"IncludePlannedDeletion":true})")["SecretList"].as_array().size(),
            1u);
  Ok("RestoreSecret", R"({"SecretId":"gone"})");
  EXPECT_EQ(Code("GetSecretValue", R"({"SecretId":"gone"})"), "OK");

  Ok("DeleteSecret", R"({"SecretId":"gone"})");  // default 30 days
  clock_.Advance(std::chrono::hours(24 * 29));
  EXPECT_EQ(service_->PurgeExpired().value(), 0);
  clock_.Advance(std::chrono::hours(24) + std::chrono::seconds(1));
  EXPECT_EQ(service_->PurgeExpired().value(), 1);
  EXPECT_EQ(Code("DescribeSecret", R"({"SecretId":"gone"})"), "ResourceNotFoundException");
  auto again = Ok("CreateSecret", R"({"Name":"gone","SecretString":"new"})");
  EXPECT_EQ(Ok("GetSecretValue", R"({"SecretId":"gone"})")["SecretString"].as_string(), "new");
}

TEST_F(SecretsServiceTest, DeleteValidation) {
  Ok("CreateSecret", R"({"Name":"d","SecretString":"v"})");
  EXPECT_EQ(Code("DeleteSecret", R"({"SecretId":"d","RecoveryWindowInDays":6})"),
            "InvalidParameterException");
  EXPECT_EQ(Code("DeleteSecret", R"({"SecretId":"d","RecoveryWindowInDays":31})"),
            "InvalidParameterException");
  EXPECT_EQ(Code("DeleteSecret",
                 R"({"SecretId":"d","RecoveryWindowInDays":7,"ForceDeleteWithoutRecovery":true})"),
            "InvalidParameterException");
  EXPECT_EQ(Code("DeleteSecret", R"({"SecretId":"nope","ForceDeleteWithoutRecovery":true})"), "OK");
  EXPECT_EQ(Code("DeleteSecret", R"({"SecretId":"nope"})"), "ResourceNotFoundException");
}

TEST_F(SecretsServiceTest, LastAccessedDateHasDayGranularity) {
  Ok("CreateSecret", R"({"Name":"a","SecretString":"v"})");
  EXPECT_FALSE(Ok("DescribeSecret", R"({"SecretId":"a"})").contains("LastAccessedDate"));
  clock_.Advance(std::chrono::hours(13));
  Ok("GetSecretValue", R"({"SecretId":"a"})");
  EXPECT_EQ(Ok("DescribeSecret", R"({"SecretId":"a"})")["LastAccessedDate"].as_int64(), 1767225600);
}

TEST_F(SecretsServiceTest, OldDeprecatedVersionsArePrunedBeyondTheQuota) {
  Ok("CreateSecret", R"({"Name":"many","SecretString":"v0"})");
  for (int i = 1; i <= 105; ++i) {
    std::string body = R"({"SecretId":"many","SecretString":"v)" + std::to_string(i) + "\"}";
    auto r = Call("PutSecretValue", body.c_str());
    if (i < 100) {
      ASSERT_TRUE(r.ok()) << i;
    } else if (!r.ok()) {
      // Versions younger than 24 hours are kept, so the quota is reached.
      EXPECT_EQ(r.status().code(), ErrorCode::kLimitExceededException);
      break;
    }
  }
  clock_.Advance(std::chrono::hours(25));
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Code("PutSecretValue", R"({"SecretId":"many","SecretString":"later"})"), "OK");
  }
  auto all = Ok("ListSecretVersionIds", R"({"SecretId":"many","IncludeDeprecated":true})");
  EXPECT_EQ(all["Versions"].as_array().size(), 100u);
  EXPECT_EQ(Ok("GetSecretValue", R"({"SecretId":"many"})")["SecretString"].as_string(), "later");
}

TEST_F(SecretsServiceTest, ListSecretsPaginatesWithAdvancingTokens) {
  for (int i = 0; i < 25; ++i) {
    clock_.Advance(std::chrono::seconds(1));
    std::string body = R"({"Name":"p)" + std::to_string(100 + i) + R"(","SecretString":"v"})";
    Ok("CreateSecret", body.c_str());
  }
  std::vector<std::string> names;
  std::string token;
  int pages = 0;
  do {
    std::string body = token.empty() ? std::string(R"({"MaxResults":10})")
                                     : R"({"MaxResults":10,"NextToken":")" + token + "\"}";
    auto page = Ok("ListSecrets", body.c_str());
    for (auto& e : page["SecretList"].as_array()) names.emplace_back(e.at("Name").as_string());
    std::string next = page.contains("NextToken") ? std::string(page["NextToken"].as_string()) : "";
    EXPECT_NE(next, token);
    token = next;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 25u);
  EXPECT_EQ(names.front(), "p100");
  EXPECT_EQ(names.back(), "p124");
  EXPECT_EQ(Code("ListSecrets", R"({"NextToken":"garbage"})"), "InvalidNextTokenException");
  auto desc = Ok("ListSecrets", R"({"SortOrder":"desc","MaxResults":1})");
  EXPECT_EQ(desc["SecretList"].as_array()[0].at("Name").as_string(), "p124");
}

TEST_F(SecretsServiceTest, EnvelopesAreBoundToTheirRow) {
  Ok("CreateSecret", R"({"Name":"a","SecretString":"value-of-a"})");
  Ok("CreateSecret", R"({"Name":"b","SecretString":"value-of-b"})");
  // Copy a's ciphertext into b's row: opening must fail, never return a's value.
  ASSERT_TRUE(
      store_
          ->Write([&](StoreWriter& w) -> Status {
            Scope scope{"123456789012", "us-east-1"};
            auto a = w.secrets().FindByName(scope, "a").value().value();
            auto b = w.secrets().FindByName(scope, "b").value().value();
            auto va =
                w.secrets()
                    .GetVersion(a.id,
                                w.secrets().VersionIdForStage(a.id, "AWSCURRENT").value().value())
                    .value()
                    .value();
            std::string vb = w.secrets().VersionIdForStage(b.id, "AWSCURRENT").value().value();
            COFFER_RETURN_IF_ERROR(w.secrets().DeleteVersion(b.id, vb));
            va.version_id = vb;
            COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(b.id, va));
            return w.secrets().SetStage(b.id, "AWSCURRENT", vb);
          })
          .ok());
  auto r = Call("GetSecretValue", R"({"SecretId":"b"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kDecryptionFailure);
}

TEST_F(SecretsServiceTest, NoPlaintextInTheDatabaseFiles) {
  Ok("CreateSecret", R"({"Name":"scan","SecretString":"PLAINTEXT-MARKER-7f3a9"})");
  Ok("PutSecretValue", R"({"SecretId":"scan","SecretBinary":"QklOQVJZLU1BUktFUi0xMmNk"})");
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream f(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find("PLAINTEXT-MARKER"), std::string::npos) << entry.path();
    EXPECT_EQ(bytes.find("BINARY-MARKER"), std::string::npos) << entry.path();
  }
}

TEST_F(SecretsServiceTest, ValidationErrors) {
  EXPECT_EQ(Code("CreateSecret", R"({"Name":"bad name!","SecretString":"v"})"),
            "ValidationException");
  EXPECT_EQ(Code("CreateSecret", R"({"Name":"x","SecretString":"v","SecretBinary":"dg=="})"),
            "InvalidParameterException");
  EXPECT_EQ(Code("CreateSecret", R"({"SecretString":"v"})"), "ValidationException");
  EXPECT_EQ(Code("CreateSecret", R"({"Name":5})"), "SerializationException");
  EXPECT_EQ(Code("CreateSecret", R"({"Name":"t","Tags":[{"Key":"aws:x","Value":"1"}]})"),
            "InvalidParameterException");
  EXPECT_EQ(Code("Frobnicate", "{}"), "UnknownOperationException");
  // A raw request with a value but without the token the SDKs generate.
  RequestContext ctx;
  ctx.authorizer = &allow_all_;
  ctx.scope = {"123456789012", "us-east-1"};
  auto raw = service_->Handle("CreateSecret", ctx,
                              json::parse(R"({"Name":"raw","SecretString":"v"})").as_object());
  ASSERT_FALSE(raw.ok());
  EXPECT_EQ(raw.status().code(), ErrorCode::kInvalidRequestException);
  EXPECT_EQ(Code("RotateSecret", R"({"SecretId":"x"})"), "ResourceNotFoundException");
  std::string big = R"({"Name":"big","SecretString":")" + std::string(65537, 'x') + "\"}";
  EXPECT_EQ(Code("CreateSecret", big.c_str()), "ValidationException");
  std::string max = R"({"Name":"max","SecretString":")" + std::string(65536, 'x') + "\"}";
  EXPECT_EQ(Code("CreateSecret", max.c_str()), "OK");
}

// A change is written only under the resource policy and tags it was authorized under; one that
// changed in between is answered with a retryable error and nothing is written.
TEST_F(SecretsServiceTest, AChangeAuthorizedUnderAnOlderPolicyIsNotWritten) {
  Ok("CreateSecret", R"({"Name":"app/raced","SecretString":"v"})");
  test_support::OnceAuthorizer authorizer("secretsmanager:TagResource", [this] {
    ASSERT_TRUE(store_
                    ->Write([&](StoreWriter& w) -> Status {
                      COFFER_ASSIGN_OR_RETURN(
                          auto s,
                          w.secrets().FindByName({"123456789012", "us-east-1"}, "app/raced"));
                      s->resource_policy = R"({"Version":"2012-10-17","Statement":[]})";
                      return w.secrets().Update(*s);
                    })
                    .ok());
  });
  RequestContext ctx;
  ctx.scope = {"123456789012", "us-east-1"};
  ctx.principal.account = "123456789012";
  ctx.now = clock_.NowMillis();
  ctx.authorizer = &authorizer;
  json::object tag =
      json::parse(R"({"SecretId":"app/raced","Tags":[{"Key":"k","Value":"v"}]})").as_object();
  auto raced = service_->Handle("TagResource", ctx, tag);
  ASSERT_FALSE(raced.ok());
  EXPECT_EQ(raced.status().code(), ErrorCode::kInternalServiceError);
  auto described = Ok("DescribeSecret", R"({"SecretId":"app/raced"})");
  EXPECT_FALSE(described.contains("Tags")) << "the raced change must not be written";
  // The retry is authorized afresh, under the policy now in force, and applies.
  EXPECT_TRUE(service_->Handle("TagResource", ctx, tag).ok());
  described = Ok("DescribeSecret", R"({"SecretId":"app/raced"})");
  EXPECT_EQ(described["Tags"].as_array().size(), 1u);
}

// A secret deleted and created again under the same name between a request's authorization and
// its write is a different secret: the change does not reach it.
TEST_F(SecretsServiceTest, AChangeDoesNotReachASecretRecreatedUnderTheSameName) {
  Ok("CreateSecret", R"({"Name":"app/reborn","SecretString":"v"})");
  test_support::OnceAuthorizer authorizer("secretsmanager:PutResourcePolicy", [this] {
    EXPECT_EQ(
        Code("DeleteSecret", R"({"SecretId":"app/reborn","ForceDeleteWithoutRecovery":true})"),
        "OK");
    EXPECT_EQ(Code("CreateSecret", R"({"Name":"app/reborn","SecretString":"w"})"), "OK");
  });
  RequestContext ctx;
  ctx.scope = {"123456789012", "us-east-1"};
  ctx.principal.account = "123456789012";
  ctx.now = clock_.NowMillis();
  ctx.authorizer = &authorizer;
  auto put = service_->Handle(
      "PutResourcePolicy", ctx,
      json::object{{"SecretId", "app/reborn"},
                   {"ResourcePolicy",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*",)"
                    R"("Action":"secretsmanager:DeleteSecret","Resource":"*"}]})"}});
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), ErrorCode::kResourceNotFoundException);
  auto policy = Ok("GetResourcePolicy", R"({"SecretId":"app/reborn"})");
  EXPECT_FALSE(policy.contains("ResourcePolicy"));
}

}  // namespace
}  // namespace coffer::secrets
