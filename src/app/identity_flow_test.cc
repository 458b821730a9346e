// The whole identity path in one process, with an injected clock: root creates a user and a
// role through IAM, the user assumes the role through STS, the session's credentials are
// verified by SigV4 against the CredentialRegistry and authorized by the PolicyAuthorizer on
// every service, and are refused once they expire. Only the clock is fake.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "app/app.h"
#include "auth/credential_registry.h"
#include "core/percent_encoding.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/test_store.h"

namespace coffer {
namespace {

constexpr char kAccount[] = "123456789012";
constexpr char kRootKey[] = "AKIAROOTROOTROOTROOT";
constexpr char kRootSecret[] = "root-secret-root-secret-root-secret-0000";

struct Creds {
  std::string id, secret, token;
};

// The text of the first <tag>...</tag> in xml.
std::string Tag(const std::string& xml, const std::string& tag) {
  size_t open = xml.find("<" + tag + ">");
  size_t close = xml.find("</" + tag + ">", open);
  if (open == std::string::npos || close == std::string::npos) return "";
  open += tag.size() + 2;
  return xml.substr(open, close - open);
}

std::string FormEncode(const std::map<std::string, std::string>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += UriEncode(k, false) + "=" + UriEncode(v, false);
  }
  return out;
}

class IdentityFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-identity-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::move(test_support::OpenTestStore(dir_, &schema_.name).value());
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), crypto::RandomSecret(32), &clock_);
    ASSERT_TRUE(store_
                    ->Write([&](StoreWriter& w) -> Status {
                      AccessKeyRow row;
                      row.access_key_id = kRootKey;
                      row.wrapped_secret =
                          keyring_
                              ->WrapWithStorageKey(CredentialRegistry::SecretPurpose(kRootKey),
                                                   kRootSecret)
                              .value();
                      row.account = kAccount;
                      row.principal_arn = std::string("arn:aws:iam::") + kAccount + ":root";
                      row.user_id = kAccount;
                      return w.credentials().InsertAccessKey(row);
                    })
                    .ok());
    // The graph the server runs, built where the server builds it.
    app_ = App::Create({}, &clock_, {.store = store_.get(), .keyring = keyring_.get()});
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ApiResponse Send(const Creds& c, const std::string& service, const std::string& target,
                   const std::string& body) {
    const std::string date = FormatAmzDate(clock_.NowMillis());
    std::vector<std::pair<std::string, std::string>> headers = {
        {"content-type", target.empty() ? "application/x-www-form-urlencoded; charset=utf-8"
                                        : "application/x-amz-json-1.1"},
        {"host", "127.0.0.1:4600"},
        {"x-amz-date", date}};
    if (!target.empty()) headers.emplace_back("x-amz-target", target);
    if (!c.token.empty()) headers.emplace_back("x-amz-security-token", c.token);
    std::sort(headers.begin(), headers.end());
    const std::string auth =
        SignRequest("POST", "/", headers, body, c.id, c.secret, date, "us-east-1", service);
    ApiRequest r;
    r.method = "POST";
    r.target = "/";
    for (auto& [k, v] : headers) r.headers.emplace_back(k, v);
    r.headers.emplace_back("authorization", auth);
    r.body = body;
    return app_->dispatcher().Handle(r);
  }
  ApiResponse Query(const Creds& c, const std::string& service,
                    std::map<std::string, std::string> params) {
    params["Version"] = service == "iam" ? "2010-05-08" : "2011-06-15";
    return Send(c, service, "", FormEncode(params));
  }

  FakeClock clock_{1767225600000};
  std::string dir_;
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
  std::unique_ptr<App> app_;
  Creds root_{kRootKey, kRootSecret, ""};
};

TEST_F(IdentityFlowTest, AssumedRoleCredentialsWorkUntilTheyExpire) {
  const std::string arn_prefix = std::string("arn:aws:iam::") + kAccount + ":";
  ASSERT_EQ(Query(root_, "iam", {{"Action", "CreateUser"}, {"UserName", "ci"}}).status, 200);
  auto key = Query(root_, "iam", {{"Action", "CreateAccessKey"}, {"UserName", "ci"}});
  ASSERT_EQ(key.status, 200) << key.body;
  Creds ci{Tag(key.body, "AccessKeyId"), Tag(key.body, "SecretAccessKey"), ""};
  const std::string trust = R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",)"
                            R"("Principal":{"AWS":")" +
                            arn_prefix + R"(user/ci"},"Action":"sts:AssumeRole"}]})";
  ASSERT_EQ(
      Query(root_, "iam",
            {{"Action", "CreateRole"}, {"RoleName", "reader"}, {"AssumeRolePolicyDocument", trust}})
          .status,
      200);
  ASSERT_EQ(Query(root_, "iam",
                  {{"Action", "PutRolePolicy"},
                   {"RoleName", "reader"},
                   {"PolicyName", "read"},
                   {"PolicyDocument",
                    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)"
                    R"("secretsmanager:GetSecretValue","Resource":"*"}]})"}})
                .status,
            200);
  ASSERT_EQ(Send(root_, "secretsmanager", "secretsmanager.CreateSecret",
                 R"({"Name":"s","SecretString":"v1","ClientRequestToken":)"
                 R"("00000000-0000-4000-8000-000000000001"})")
                .status,
            200);

  // The user alone may not read; the role may.
  auto denied = Send(ci, "secretsmanager", "secretsmanager.GetSecretValue", R"({"SecretId":"s"})");
  EXPECT_EQ(denied.status, 400);
  EXPECT_NE(denied.body.find("AccessDeniedException"), std::string::npos);
  auto assumed = Query(ci, "sts",
                       {{"Action", "AssumeRole"},
                        {"RoleArn", arn_prefix + "role/reader"},
                        {"RoleSessionName", "build-42"},
                        {"DurationSeconds", "900"}});
  ASSERT_EQ(assumed.status, 200) << assumed.body;
  Creds session{Tag(assumed.body, "AccessKeyId"), Tag(assumed.body, "SecretAccessKey"),
                Tag(assumed.body, "SessionToken")};
  EXPECT_EQ(session.id.rfind("ASIA", 0), 0u);
  auto read =
      Send(session, "secretsmanager", "secretsmanager.GetSecretValue", R"({"SecretId":"s"})");
  ASSERT_EQ(read.status, 200) << read.body;
  EXPECT_NE(read.body.find("\"v1\""), std::string::npos);
  auto who = Query(session, "sts", {{"Action", "GetCallerIdentity"}});
  EXPECT_EQ(Tag(who.body, "Arn"),
            std::string("arn:aws:sts::") + kAccount + ":assumed-role/reader/build-42");

  // A wrong token is refused; so is the right one once the session has expired.
  Creds forged = session;
  forged.token += "x";
  EXPECT_NE(
      Query(forged, "sts", {{"Action", "GetCallerIdentity"}}).body.find("InvalidClientTokenId"),
      std::string::npos);
  clock_.Advance(std::chrono::seconds(901));
  auto expired =
      Send(session, "secretsmanager", "secretsmanager.GetSecretValue", R"({"SecretId":"s"})");
  EXPECT_EQ(expired.status, 400);
  EXPECT_NE(expired.body.find("ExpiredTokenException"), std::string::npos) << expired.body;
  auto expired_sts = Query(session, "sts", {{"Action", "GetCallerIdentity"}});
  EXPECT_NE(expired_sts.body.find("<Code>ExpiredToken</Code>"), std::string::npos)
      << expired_sts.body;
  // The long-term key still works.
  EXPECT_EQ(Query(ci, "sts", {{"Action", "GetCallerIdentity"}}).status, 200);
}

TEST_F(IdentityFlowTest, AnInactiveOrDeletedKeyIsRefusedAtOnce) {
  ASSERT_EQ(Query(root_, "iam", {{"Action", "CreateUser"}, {"UserName", "ops"}}).status, 200);
  auto key = Query(root_, "iam", {{"Action", "CreateAccessKey"}, {"UserName", "ops"}});
  Creds ops{Tag(key.body, "AccessKeyId"), Tag(key.body, "SecretAccessKey"), ""};
  EXPECT_EQ(Query(ops, "sts", {{"Action", "GetCallerIdentity"}}).status, 200);  // now cached
  ASSERT_EQ(Query(root_, "iam",
                  {{"Action", "UpdateAccessKey"},
                   {"UserName", "ops"},
                   {"AccessKeyId", ops.id},
                   {"Status", "Inactive"}})
                .status,
            200);
  EXPECT_NE(Query(ops, "sts", {{"Action", "GetCallerIdentity"}}).body.find("InvalidClientTokenId"),
            std::string::npos);
  ASSERT_EQ(Query(root_, "iam",
                  {{"Action", "UpdateAccessKey"},
                   {"UserName", "ops"},
                   {"AccessKeyId", ops.id},
                   {"Status", "Active"}})
                .status,
            200);
  EXPECT_EQ(Query(ops, "sts", {{"Action", "GetCallerIdentity"}}).status, 200);
  ASSERT_EQ(Query(root_, "iam",
                  {{"Action", "DeleteAccessKey"}, {"UserName", "ops"}, {"AccessKeyId", ops.id}})
                .status,
            200);
  EXPECT_NE(Query(ops, "sts", {{"Action", "GetCallerIdentity"}}).body.find("InvalidClientTokenId"),
            std::string::npos);
}

}  // namespace
}  // namespace coffer
