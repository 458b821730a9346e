#include "protocol/operator_api.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/time_format.h"
#include "testing/service_test_support.h"

namespace coffer {
namespace {

constexpr char kOperatorAccount[] = "111111111111";
constexpr char kTenantAccount[] = "222222222222";

// The roots of two accounts and one IAM user, by access key id.
class Roots final : public CredentialSource {
 public:
  Roots() {
    Add("AKIAOPERATOR00000001", "operator-secret", kOperatorAccount, "root");
    Add("AKIATENANT000000001X", "tenant-secret", kTenantAccount, "root");
    Add("AKIAUSER00000000001X", "user-secret", kOperatorAccount, "user/admin");
  }
  CredentialLookup Find(std::string_view id) override {
    auto it = creds_.find(std::string(id));
    return it == creds_.end() ? std::shared_ptr<const Credential>() : it->second;
  }

 private:
  void Add(const std::string& id, const std::string& secret, const std::string& account,
           const std::string& resource) {
    auto c = std::make_shared<Credential>();
    c->secret_access_key = SecretBytes(secret);
    c->principal.account = account;
    c->principal.arn = "arn:aws:iam::" + account + ":" + resource;
    c->principal.access_key_id = id;
    creds_[id] = c;
  }
  std::map<std::string, std::shared_ptr<const Credential>> creds_;
};

class OperatorApiTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    seal_ = std::make_unique<SealManager>(store_.get(), keyring_.get());
    api_ = std::make_unique<OperatorApi>(&roots_, seal_.get(), keyring_.get(), store_.get(),
                                         kOperatorAccount, &clock_);
    api_->SetFunctionRegistrar([this](RotationFunctionRow row) -> Result<std::string> {
      registered_.push_back(row);
      return std::string();
    });
  }

  // A request signed for service "coffer" by `key_id` (empty: unsigned).
  ApiResponse Send(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& key_id, const std::string& secret,
                   const std::string& content_type = "application/json") {
    const std::string date = FormatAmzDate(clock_.NowMillis());
    std::vector<std::pair<std::string, std::string>> headers = {
        {"content-type", content_type}, {"host", "127.0.0.1:4600"}, {"x-amz-date", date}};
    std::sort(headers.begin(), headers.end());
    ApiRequest r;
    r.method = method;
    r.target = path;
    for (auto& [k, v] : headers) r.headers.emplace_back(k, v);
    // ApiRequest holds views: the signature must outlive the call.
    const std::string authorization =
        key_id.empty()
            ? ""
            : SignRequest(method, path, headers, body, key_id, secret, date, "us-east-1", "coffer");
    if (!key_id.empty()) r.headers.emplace_back("authorization", authorization);
    r.body = body;
    return api_->Handle(r, "req-1");
  }
  ApiResponse AsOperator(const std::string& path, const std::string& body) {
    return Send("POST", path, body, "AKIAOPERATOR00000001", "operator-secret");
  }
  ApiResponse AsTenant(const std::string& path, const std::string& body) {
    return Send("POST", path, body, "AKIATENANT000000001X", "tenant-secret");
  }

  Roots roots_;
  std::unique_ptr<SealManager> seal_;
  std::unique_ptr<OperatorApi> api_;
  std::vector<RotationFunctionRow> registered_;
};

TEST_F(OperatorApiTest, SealStatusIsPublicAndEveryOtherEndpointChecksItsRequest) {
  auto status = Send("GET", "/coffer/seal-status", "", "", "");
  EXPECT_EQ(status.status, 200);
  EXPECT_NE(status.body.find("\"Sealed\":false"), std::string::npos) << status.body;
  EXPECT_EQ(Send("GET", "/coffer/nothing-here", "", "", "").status, 404);
  EXPECT_EQ(Send("GET", "/coffer/accounts", "", "", "").status, 405);
  EXPECT_EQ(Send("POST", "/coffer/accounts", "{}", "", "", "text/plain").status, 415);
  auto unsigned_call = Send("POST", "/coffer/accounts", "{}", "", "");
  EXPECT_EQ(unsigned_call.status, 403);
  EXPECT_NE(unsigned_call.body.find("MissingAuthenticationToken"), std::string::npos);
  auto forged = Send("POST", "/coffer/accounts", "{}", "AKIAOPERATOR00000001", "wrong-secret");
  EXPECT_EQ(forged.status, 403);
  EXPECT_NE(forged.body.find("InvalidSignature"), std::string::npos);
}

TEST_F(OperatorApiTest, OnlyTheOperatorActsOnTheDeployment) {
  for (const char* path : {"/coffer/accounts", "/coffer/seal", "/coffer/rotate-root"}) {
    auto tenant = AsTenant(path, "{}");
    EXPECT_EQ(tenant.status, 403) << path << ": " << tenant.body;
    EXPECT_NE(tenant.body.find("only the deployment operator may"), std::string::npos)
        << path << ": " << tenant.body;
    EXPECT_EQ(tenant.body.find(kOperatorAccount), std::string::npos)
        << "a tenant learns nothing about the operator";
  }
  auto user = Send("POST", "/coffer/accounts", "{}", "AKIAUSER00000000001X", "user-secret");
  EXPECT_EQ(user.status, 403);
  EXPECT_NE(user.body.find("only an account's root may"), std::string::npos);
  EXPECT_FALSE(keyring_->sealed());
  auto sealed = AsOperator("/coffer/seal", "{}");
  EXPECT_EQ(sealed.status, 200);
  EXPECT_TRUE(keyring_->sealed());
}

TEST_F(OperatorApiTest, ATenantRegistersOnlyItsOwnNonExecFunctions) {
  const std::string builtin =
      R"({"Name":"rotate-db","Kind":"builtin","Builtin":"postgres-single-user"})";
  EXPECT_EQ(AsTenant("/coffer/functions", builtin).status, 200);
  ASSERT_EQ(registered_.size(), 1u);
  EXPECT_EQ(registered_[0].account, kTenantAccount);
  EXPECT_EQ(registered_[0].config, R"({"Builtin":"postgres-single-user"})");
  auto exec = AsTenant("/coffer/functions", R"({"Name":"x","Kind":"exec","Command":["/bin/true"],)"
                                            R"("RoleArn":"arn:aws:iam::222222222222:role/r"})");
  EXPECT_EQ(exec.status, 403);
  auto elsewhere = AsTenant(
      "/coffer/functions",
      R"({"Name":"y","Kind":"builtin","Builtin":"random-api-key","Account":"111111111111"})");
  EXPECT_EQ(elsewhere.status, 403);
  EXPECT_EQ(registered_.size(), 1u) << "refused registrations reach nothing";
  auto bad_kind = AsOperator("/coffer/functions", R"({"Name":"z","Kind":"lambda"})");
  EXPECT_EQ(bad_kind.status, 400);
  EXPECT_NE(bad_kind.body.find("Kind must be exec, http or builtin"), std::string::npos);
}

TEST_F(OperatorApiTest, MembersOfTheWrongTypeAreRefusedAsTheServicesRefuseThem) {
  // The operator endpoints read their bodies as the AWS services do: a member of the wrong type
  // is a SerializationException, not quietly taken as absent.
  auto name = AsOperator("/coffer/functions", R"({"Name":7,"Kind":"builtin","Builtin":"b"})");
  EXPECT_EQ(name.status, 400);
  EXPECT_NE(name.body.find("SerializationException"), std::string::npos) << name.body;
  auto command =
      AsOperator("/coffer/functions", R"({"Name":"x","Kind":"exec","Command":["/bin/true",1],)"
                                      R"("RoleArn":"arn:aws:iam::111111111111:role/r"})");
  EXPECT_NE(command.body.find("SerializationException"), std::string::npos) << command.body;
  auto account = AsOperator("/coffer/accounts", R"({"AccountId":333333333333})");
  EXPECT_NE(account.body.find("SerializationException"), std::string::npos) << account.body;
  auto share = Send("POST", "/coffer/unseal", R"({"Share":["abc"]})", "", "");
  EXPECT_NE(share.body.find("SerializationException"), std::string::npos) << share.body;
  auto rekey = AsOperator("/coffer/rekey", R"({"Seal":"shamir","Shares":"five"})");
  EXPECT_NE(rekey.body.find("SerializationException"), std::string::npos) << rekey.body;
  EXPECT_TRUE(registered_.empty());
  EXPECT_FALSE(keyring_->sealed());
}

TEST_F(OperatorApiTest, EventsAreListedAfterAGivenIdWhichMustBeANumber) {
  auto all = Send("GET", "/coffer/events?after=0", "", "AKIATENANT000000001X", "tenant-secret");
  EXPECT_EQ(all.status, 200) << all.body;
  EXPECT_NE(all.body.find("\"Events\":[]"), std::string::npos) << all.body;
  for (const char* bad : {"/coffer/events?after=x", "/coffer/events?after=-1",
                          "/coffer/events?after=", "/coffer/events?after=12abc"}) {
    auto r = Send("GET", bad, "", "AKIATENANT000000001X", "tenant-secret");
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.body.find("after must be a non-negative number"), std::string::npos) << r.body;
  }
  // Another parameter whose name ends in "after" is not it.
  auto other =
      Send("GET", "/coffer/events?notafter=x", "", "AKIATENANT000000001X", "tenant-secret");
  EXPECT_EQ(other.status, 200) << other.body;
}

}  // namespace
}  // namespace coffer
