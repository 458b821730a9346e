#include "protocol/api_dispatcher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "core/time_format.h"
#include "crypto/crypto.h"
#include "services/kms/kms_service.h"
#include "services/params/params_service.h"
#include "services/secrets/secrets_service.h"
#include "services/sts/sts_service.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/test_store.h"

namespace coffer {
namespace {

constexpr char kAkid[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

class OneKey : public CredentialSource {
 public:
  CredentialLookup Find(std::string_view id) override {
    if (id != kAkid) return std::shared_ptr<const Credential>();
    auto c = std::make_shared<Credential>();
    c->secret_access_key = SecretBytes(std::string_view(kSecret));
    c->principal = {"123456789012", "arn:aws:iam::123456789012:root", "123456789012", kAkid,
                    PrincipalType::kRoot};
    return std::shared_ptr<const Credential>(std::move(c));
  }
};

class ApiDispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-dispatch-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(test_support::OpenTestStore(dir_, &schema_.name).value());
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), crypto::RandomSecret(32), &clock_);
    secrets_ = std::make_unique<secrets::SecretsService>(store_.get(), keyring_.get(), &clock_);
    params_ = std::make_unique<params::ParamsService>(store_.get(), keyring_.get(), secrets_.get(),
                                                      &clock_);
    kms_ = std::make_unique<kms::KmsService>(store_.get(), keyring_.get(), &clock_);
    dispatcher_ = std::make_unique<ApiDispatcher>(&creds_, &clock_);
    // These tests are about the wire protocol, not policies.
    dispatcher_->SetAuthorizer(&allow_all_);
    dispatcher_->AddJsonService(
        "secretsmanager", "secretsmanager",
        [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
          return secrets_->Handle(op, ctx, in);
        });
    dispatcher_->AddJsonService(
        "AmazonSSM", "ssm",
        [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
          return params_->Handle(op, ctx, in);
        });
    dispatcher_->AddJsonService(
        "TrentService", "kms",
        [this](std::string_view op, const RequestContext& ctx, const boost::json::object& in) {
          return kms_->Handle(op, ctx, in);
        });
    sts_ = std::make_unique<sts::StsService>(store_.get(), keyring_.get());
    dispatcher_->AddQueryService("sts", "https://sts.amazonaws.com/doc/2011-06-15/",
                                 [this](std::string_view action, const RequestContext& ctx,
                                        const std::map<std::string, std::string>& p) {
                                   return sts_->Handle(action, ctx, p);
                                 });
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ApiResponse Send(const std::string& target_header, const std::string& body,
                   const std::string& service = "secretsmanager",
                   const std::string& content_type = "application/x-amz-json-1.1") {
    std::string date = FormatAmzDate(clock_.NowMillis());
    headers_ = {{"content-type", content_type}, {"host", "127.0.0.1:4600"}, {"x-amz-date", date}};
    if (!target_header.empty()) headers_.emplace_back("x-amz-target", target_header);
    std::sort(headers_.begin(), headers_.end());
    auth_ = SignRequest("POST", "/", headers_, body, kAkid, kSecret, date, "us-east-1", service);
    ApiRequest r;
    r.method = "POST";
    r.target = "/";
    for (auto& [k, v] : headers_) r.headers.emplace_back(k, v);
    r.headers.emplace_back("authorization", auth_);
    r.body = body;
    body_ = body;
    return dispatcher_->Handle(r);
  }
  static std::string Header(const ApiResponse& r, const std::string& name) {
    for (auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  FakeClock clock_{1767225600000};
  AllowAllAuthorizer allow_all_;
  OneKey creds_;
  std::string dir_, auth_, body_;
  std::vector<std::pair<std::string, std::string>> headers_;
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<secrets::SecretsService> secrets_;
  std::unique_ptr<params::ParamsService> params_;
  std::unique_ptr<kms::KmsService> kms_;
  std::unique_ptr<ApiDispatcher> dispatcher_;
  std::unique_ptr<sts::StsService> sts_;
};

TEST_F(ApiDispatcherTest, SuccessIsJson11WithRequestId) {
  auto r = Send(
      "secretsmanager.CreateSecret",
      R"({"Name":"a","SecretString":"v","ClientRequestToken":"00000000-0000-4000-8000-000000000001"})");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/x-amz-json-1.1");
  EXPECT_EQ(Header(r, "x-amzn-RequestId").size(), 36u);
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_TRUE(body.contains("ARN"));
  EXPECT_FALSE(r.body.find("null") != std::string::npos);
}

TEST_F(ApiDispatcherTest, ErrorsCarryTypeInHeaderAndBody) {
  auto r = Send("secretsmanager.GetSecretValue", R"({"SecretId":"missing"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "ResourceNotFoundException");
  auto body = boost::json::parse(r.body).as_object();
  EXPECT_EQ(body["__type"].as_string(), "ResourceNotFoundException");
  EXPECT_EQ(body["message"].as_string(), "Secrets Manager can't find the specified secret.");
}

TEST_F(ApiDispatcherTest, MalformedJsonIsSerializationException) {
  auto r = Send("secretsmanager.ListSecrets", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "SerializationException");
  r = Send("secretsmanager.ListSecrets", "[1,2]");
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "SerializationException");
}

TEST_F(ApiDispatcherTest, UnknownOperationAndWrongScope) {
  EXPECT_EQ(Header(Send("secretsmanager.Nope", "{}"), "x-amzn-ErrorType"),
            "UnknownOperationException");
  EXPECT_EQ(Header(Send("Nope_20240101.Op", "{}"), "x-amzn-ErrorType"),
            "UnknownOperationException");
  auto r = Send("secretsmanager.ListSecrets", "{}", "kms");
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "InvalidSignatureException");
}

TEST_F(ApiDispatcherTest, UnsignedRequestIsRefused) {
  ApiRequest req;
  req.method = "POST";
  req.target = "/";
  req.headers = {{"host", "x"},
                 {"x-amz-target", "secretsmanager.ListSecrets"},
                 {"content-type", "application/x-amz-json-1.1"}};
  req.body = "{}";
  auto r = dispatcher_->Handle(req);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(Header(r, "x-amzn-ErrorType"), "MissingAuthenticationTokenException");
}

TEST_F(ApiDispatcherTest, StsGetCallerIdentityIsXml) {
  auto r = Send("", "Action=GetCallerIdentity&Version=2011-06-15", "sts",
                "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/xml");
  EXPECT_NE(r.body.find("<GetCallerIdentityResult><UserId>123456789012</UserId><Account>"
                        "123456789012</Account><Arn>arn:aws:iam::123456789012:root</Arn>"),
            std::string::npos);
  auto bad = Send("", "Action=AssumeRoot&Version=2011-06-15", "sts",
                  "application/x-www-form-urlencoded; charset=utf-8");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("<Code>InvalidAction</Code>"), std::string::npos);
}

}  // namespace
}  // namespace coffer
