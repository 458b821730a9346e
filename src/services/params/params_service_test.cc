#include "services/params/params_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/service_test_support.h"

namespace coffer::params {
namespace {

namespace json = boost::json;

using FakeAuthorizer = test_support::RecordingAuthorizer;

constexpr char kArnPrefix[] = "arn:aws:ssm:us-east-1:123456789012:parameter/";

class ParamsServiceTest : public test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    secrets_ = std::make_unique<secrets::SecretsService>(store_.get(), keyring_.get(), &clock_);
    params_ =
        std::make_unique<ParamsService>(store_.get(), keyring_.get(), secrets_.get(), &clock_);
  }

  Result<json::object> Call(std::string_view op, const std::string& body) {
    RequestContext ctx;
    AuthorizationLog authorization;
    ctx.authorization = &authorization;
    ctx.scope = {"123456789012", "us-east-1"};
    ctx.principal.account = "123456789012";
    ctx.principal.arn = "arn:aws:iam::123456789012:root";
    ctx.now = clock_.NowMillis();
    ctx.request_id = "00000000-0000-4000-8000-000000000001";
    ctx.authorizer = authorizer_;
    auto r = params_->Handle(op, ctx, json::parse(body).as_object());
    last_authorized_ = authorization.answered();
    return r;
  }
  json::object Ok(std::string_view op, const std::string& body) {
    auto r = Call(op, body);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status().code() << " " << r.status().message();
    return r.ok() ? r.value() : json::object{};
  }
  std::string Code(std::string_view op, const std::string& body) {
    auto r = Call(op, body);
    return r.ok() ? "OK" : std::string(r.status().code_name());
  }
  std::string Value(const std::string& name) {
    return std::string(
        Ok("GetParameter", R"({"WithDecryption":true,"Name":")" + name + "\"}")["Parameter"]
            .at("Value")
            .as_string());
  }
  std::vector<EventRow> Events() {
    std::vector<EventRow> out;
    EXPECT_TRUE(store_
                    ->Read([&](StoreReader& r) -> Status {
                      COFFER_ASSIGN_OR_RETURN(out, r.events().List(0, 1000));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  std::unique_ptr<secrets::SecretsService> secrets_;
  std::unique_ptr<ParamsService> params_;
  const Authorizer* authorizer_ = &allow_all_;  // or a test's FakeAuthorizer (Install())
  bool last_authorized_ = false;                // whether the last Call() asked (or needed not to)
};

TEST_F(ParamsServiceTest, PutGetOverwriteAndHistory) {
  EXPECT_EQ(Ok("PutParameter", R"({"Name":"/app/url","Value":"v1","Type":"String"})")["Version"]
                .as_int64(),
            1);
  EXPECT_EQ(Code("PutParameter", R"({"Name":"/app/url","Value":"v2","Type":"String"})"),
            "ParameterAlreadyExists");
  auto put = Ok("PutParameter", R"({"Name":"/app/url","Value":"v2","Overwrite":true})");
  EXPECT_EQ(put["Version"].as_int64(), 2);
  EXPECT_EQ(put["Tier"].as_string(), "Standard");
  EXPECT_EQ(Value("/app/url"), "v2");
  EXPECT_EQ(Value("/app/url:1"), "v1");
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/app/url:9"})"), "ParameterVersionNotFound");
  auto history = Ok("GetParameterHistory", R"({"Name":"/app/url"})")["Parameters"].as_array();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].at("Version").as_int64(), 1);
  EXPECT_EQ(history[1].at("LastModifiedUser").as_string(), "arn:aws:iam::123456789012:root");
  EXPECT_EQ(Code("PutParameter", R"({"Name":"/new","Value":"v"})"), "ValidationException");
  EXPECT_EQ(Code("PutParameter",
                 R"({"Name":"/app/url","Value":"v","Type":"SecureString","Overwrite":true})"),
            "HierarchyTypeMismatchException");
}

TEST_F(ParamsServiceTest, SecureStringIsCiphertextWithoutDecryption) {
  Ok("PutParameter", R"({"Name":"/db/pw","Value":"hunter2-plaintext","Type":"SecureString"})");
  auto p = Ok("GetParameter", R"({"Name":"/db/pw"})")["Parameter"].as_object();
  std::string blob(p["Value"].as_string());
  EXPECT_EQ(blob.find("hunter2"), std::string::npos);
  EXPECT_TRUE(crypto::Base64Decode(blob).has_value());
  EXPECT_EQ(Value("/db/pw"), "hunter2-plaintext");
  auto meta = Ok("DescribeParameters", "{}")["Parameters"].as_array();
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta[0].at("KeyId").as_string(), "alias/aws/ssm");
  EXPECT_FALSE(meta[0].as_object().contains("Value"));
  EXPECT_EQ(Code("PutParameter",
                 R"({"Name":"/db/other","Value":"x","Type":"SecureString","KeyId":"alias/none"})"),
            "InvalidKeyId");
}

TEST_F(ParamsServiceTest, TiersAndLimits) {
  std::string big(5000, 'x');
  EXPECT_EQ(Code("PutParameter", R"({"Name":"/big","Type":"String","Value":")" + big + "\"}"),
            "ValidationException");
  auto it =
      Ok("PutParameter",
         R"({"Name":"/big","Type":"String","Tier":"Intelligent-Tiering","Value":")" + big + "\"}");
  EXPECT_EQ(it["Tier"].as_string(), "Advanced");
  EXPECT_EQ(
      Code("PutParameter", R"({"Name":"/big","Value":"small","Tier":"Standard","Overwrite":true})"),
      "ValidationException");
  EXPECT_EQ(
      Ok("PutParameter", R"({"Name":"/big","Value":"small","Overwrite":true})")["Tier"].as_string(),
      "Advanced");
  std::string huge(8193, 'x');
  EXPECT_EQ(Code("PutParameter",
                 R"({"Name":"/huge","Type":"String","Tier":"Advanced","Value":")" + huge + "\"}"),
            "ValidationException");
}

TEST_F(ParamsServiceTest, VersionLimitAndLabels) {
  Ok("PutParameter", R"({"Name":"/v","Value":"1","Type":"String"})");
  Ok("LabelParameterVersion", R"({"Name":"/v","ParameterVersion":1,"Labels":["first","9bad"]})");
  for (int i = 2; i <= 100; ++i) {
    Ok("PutParameter", R"({"Name":"/v","Overwrite":true,"Value":")" + std::to_string(i) + "\"}");
  }
  auto r = Call("PutParameter", R"({"Name":"/v","Overwrite":true,"Value":"101"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kParameterMaxVersionLimitExceeded);
  EXPECT_NE(r.status().message().find("Version 1, the oldest version, can't be deleted"),
            std::string::npos);
  // Move the label: the oldest can go now.
  auto moved = Ok("LabelParameterVersion", R"({"Name":"/v","Labels":["first"]})");
  EXPECT_EQ(moved["ParameterVersion"].as_int64(), 100);
  EXPECT_EQ(
      Ok("PutParameter", R"({"Name":"/v","Overwrite":true,"Value":"101"})")["Version"].as_int64(),
      101);
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/v:1"})"), "ParameterVersionNotFound");
  EXPECT_EQ(Value("/v:first"), "100");
  auto got = Ok("GetParameter", R"({"Name":"/v:first"})")["Parameter"].as_object();
  EXPECT_EQ(got["Selector"].as_string(), ":first");
  auto first = Ok("GetParameterHistory", R"({"Name":"/v"})");
  EXPECT_EQ(first["Parameters"].as_array().size(), 50u);
  auto second = Ok("GetParameterHistory", R"({"Name":"/v","NextToken":")" +
                                              std::string(first["NextToken"].as_string()) + "\"}");
  EXPECT_EQ(second["Parameters"].as_array().size(), 50u);
  EXPECT_EQ(second["Parameters"].as_array().back().at("Version").as_int64(), 101);
  EXPECT_FALSE(second.contains("NextToken"));
  auto invalid = Ok("LabelParameterVersion", R"({"Name":"/v","Labels":["aws-x","ok"]})");
  EXPECT_EQ(invalid["InvalidLabels"].as_array(), json::array{"aws-x"});
}

TEST_F(ParamsServiceTest, ByPathOneLevelRecursiveAndPaging) {
  Ok("PutParameter", R"({"Name":"top","Value":"t","Type":"String"})");
  Ok("PutParameter", R"({"Name":"/slash","Value":"s","Type":"String"})");
  for (int i = 0; i < 25; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "/app/cfg/k%02d", i);
    Ok("PutParameter", std::string(R"({"Type":"String","Value":"v","Name":")") + name + "\"}");
  }
  Ok("PutParameter", R"({"Name":"/app/cfg/deeper/x","Value":"d","Type":"String"})");
  auto root = Ok("GetParametersByPath", R"({"Path":"/"})")["Parameters"].as_array();
  ASSERT_EQ(root.size(), 2u);  // "/slash" and "top"; not the hierarchies
  size_t seen = 0;
  std::string token;
  int pages = 0;
  do {
    std::string body = R"({"Path":"/app/cfg","MaxResults":10)" +
                       (token.empty() ? std::string() : ",\"NextToken\":\"" + token + "\"") + "}";
    auto page = Ok("GetParametersByPath", body);
    seen += page["Parameters"].as_array().size();
    std::string next = page.contains("NextToken") ? std::string(page["NextToken"].as_string()) : "";
    EXPECT_NE(next, token);
    token = next;
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(seen, 25u);  // one level: not /app/cfg/deeper/x
  auto all = Ok("GetParametersByPath", R"({"Path":"/app","Recursive":true,"MaxResults":10})");
  EXPECT_EQ(all["Parameters"].as_array().size(), 10u);
  EXPECT_EQ(Code("GetParametersByPath",
                 R"({"Path":"/app","ParameterFilters":[{"Key":"Name","Values":["x"]}]})"),
            "InvalidFilterKey");
  EXPECT_EQ(Code("GetParametersByPath", R"({"Path":"/app","MaxResults":11})"),
            "ValidationException");
}

TEST_F(ParamsServiceTest, DescribeFilters) {
  Ok("PutParameter",
     R"({"Name":"/p/a","Value":"1","Type":"String","Tags":[{"Key":"env","Value":"prod"}]})");
  Ok("PutParameter", R"({"Name":"/p/b","Value":"1","Type":"StringList"})");
  Ok("PutParameter", R"({"Name":"/p/c/d","Value":"1","Type":"SecureString"})");
  auto names = [&](const std::string& body) {
    std::vector<std::string> out;
    json::object result = Ok("DescribeParameters", body);
    for (auto& p : result["Parameters"].as_array()) {
      out.emplace_back(p.at("Name").as_string());
    }
    return out;
  };
  EXPECT_EQ(names(R"({"ParameterFilters":[{"Key":"Path","Values":["/p"]}]})"),
            (std::vector<std::string>{"/p/a", "/p/b"}));
  EXPECT_EQ(
      names(R"({"ParameterFilters":[{"Key":"Path","Option":"Recursive","Values":["/p"]}]})").size(),
      3u);
  EXPECT_EQ(names(R"({"ParameterFilters":[{"Key":"Type","Values":["SecureString"]}]})"),
            (std::vector<std::string>{"/p/c/d"}));
  EXPECT_EQ(names(R"({"ParameterFilters":[{"Key":"tag:env","Values":["prod"]}]})"),
            (std::vector<std::string>{"/p/a"}));
  EXPECT_EQ(names(R"({"ParameterFilters":[{"Key":"Name","Option":"Contains","Values":["c/"]}]})"),
            (std::vector<std::string>{"/p/c/d"}));
  EXPECT_EQ(
      Code(
          "DescribeParameters",
          R"({"Filters":[{"Key":"Name","Values":["x"]}],"ParameterFilters":[{"Key":"Name","Values":["x"]}]})"),
      "ValidationException");
  EXPECT_EQ(Code("DescribeParameters", R"({"ParameterFilters":[{"Key":"Label","Values":["x"]}]})"),
            "InvalidFilterKey");
  EXPECT_EQ(Code("DescribeParameters",
                 R"({"ParameterFilters":[{"Key":"Type","Option":"Contains","Values":["x"]}]})"),
            "InvalidFilterOption");
  EXPECT_EQ(
      Code("DescribeParameters", R"({"ParameterFilters":[{"Key":"Tier","Values":["Gold"]}]})"),
      "InvalidFilterValue");
}

TEST_F(ParamsServiceTest, ExpirationDeletesAndNotificationsFireOnce) {
  std::string policies =
      R"([{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":\"2026-01-10T00:00:00Z\"}},)"
      R"({\"Type\":\"ExpirationNotification\",\"Version\":\"1.0\",\"Attributes\":{\"Before\":\"2\",\"Unit\":\"Days\"}},)"
      R"({\"Type\":\"NoChangeNotification\",\"Version\":\"1.0\",\"Attributes\":{\"After\":\"3\",\"Unit\":\"Days\"}}])";
  EXPECT_EQ(Code("PutParameter",
                 R"({"Name":"/exp","Value":"v","Type":"String","Policies":")" + policies + "\"}"),
            "ValidationException");  // Standard tier
  Ok("PutParameter",
     R"({"Name":"/exp","Value":"v","Type":"String","Tier":"Advanced","Policies":")" + policies +
         "\"}");
  size_t before = Events().size();
  clock_.Advance(std::chrono::hours(24 * 3 + 1));  // Jan 4: no change for 3 days
  EXPECT_EQ(params_->RunPolicies().value(), 1);
  EXPECT_EQ(params_->RunPolicies().value(), 0);  // once
  clock_.Advance(std::chrono::hours(24 * 5));    // Jan 9: within 2 days of expiry
  EXPECT_EQ(params_->RunPolicies().value(), 1);
  auto events = Events();
  ASSERT_EQ(events.size(), before + 2);
  EXPECT_EQ(events.back().detail_type, "Parameter Store Policy Action");
  EXPECT_NE(events.back().detail.find("ExpirationNotification"), std::string::npos);
  auto meta = Ok("DescribeParameters", "{}")["Parameters"].as_array();
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta[0].at("Policies").as_array().size(), 3u);
  clock_.Advance(std::chrono::hours(24));                                      // Jan 10: expired
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/exp"})"), "ParameterNotFound");  // never served
  EXPECT_EQ(params_->RunPolicies().value(), 1);
  EXPECT_EQ(Ok("DescribeParameters", "{}")["Parameters"].as_array().size(), 0u);
}

TEST_F(ParamsServiceTest, SecretsManagerReference) {
  RequestContext ctx;
  ctx.authorizer = &allow_all_;
  ctx.scope = {"123456789012", "us-east-1"};
  ctx.principal.account = "123456789012";
  ASSERT_TRUE(
      secrets_
          ->Handle(
              "CreateSecret", ctx,
              json::parse(
                  R"({"Name":"db/creds","SecretString":"{\"u\":\"x\"}","ClientRequestToken":"00000000-0000-4000-8000-00000000000a"})")
                  .as_object())
          .ok());
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/aws/reference/secretsmanager/db/creds"})"),
            "ValidationException");
  auto p =
      Ok("GetParameter",
         R"({"Name":"/aws/reference/secretsmanager/db/creds","WithDecryption":true})")["Parameter"]
          .as_object();
  EXPECT_EQ(p["Type"].as_string(), "SecureString");
  EXPECT_EQ(p["Value"].as_string(), "{\"u\":\"x\"}");
  EXPECT_TRUE(p["SourceResult"].is_string());
  EXPECT_EQ(std::string(p["ARN"].as_string()).rfind("arn:aws:secretsmanager:us-east-1:", 0), 0u);
  auto many = Ok(
      "GetParameters",
      R"({"Names":["/aws/reference/secretsmanager/db/creds:AWSCURRENT","/aws/reference/secretsmanager/nope"],"WithDecryption":true})");
  EXPECT_EQ(many["Parameters"].as_array().size(), 1u);
  EXPECT_EQ(many["InvalidParameters"].as_array().size(), 1u);
}

TEST_F(ParamsServiceTest, AllowedPatternAndTags) {
  EXPECT_EQ(Code("PutParameter",
                 R"({"Name":"/n","Value":"abc","Type":"String","AllowedPattern":"^\\d+$"})"),
            "ParameterPatternMismatchException");
  EXPECT_EQ(
      Code("PutParameter", R"({"Name":"/n","Value":"abc","Type":"String","AllowedPattern":"("})"),
      "InvalidAllowedPatternException");
  Ok("PutParameter", R"({"Name":"/n","Value":"123","Type":"String","AllowedPattern":"^\\d+$"})");
  EXPECT_EQ(Code("PutParameter", R"({"Name":"/n","Value":"x","Overwrite":true})"),
            "ParameterPatternMismatchException");  // the pattern is kept on overwrite
  Ok("AddTagsToResource",
     R"({"ResourceType":"Parameter","ResourceId":"/n","Tags":[{"Key":"a","Value":"1"}]})");
  EXPECT_EQ(
      Ok("ListTagsForResource", R"({"ResourceType":"Parameter","ResourceId":"/n"})")["TagList"]
          .as_array()
          .size(),
      1u);
  EXPECT_EQ(Code("ListTagsForResource", R"({"ResourceType":"Parameter","ResourceId":"/none"})"),
            "InvalidResourceId");
  EXPECT_EQ(Code("ListTagsForResource", R"({"ResourceType":"Document","ResourceId":"/n"})"),
            "InvalidResourceType");
  EXPECT_EQ(Code("PutParameter",
                 R"({"Name":"/n","Value":"1","Overwrite":true,"Tags":[{"Key":"a","Value":"1"}]})"),
            "ValidationException");
  EXPECT_EQ(Code("SendCommand", "{}"), "UnsupportedOperationException");
}

TEST_F(ParamsServiceTest, AuthzEveryOperationAsksWithItsActionAndResource) {
  Ok("PutParameter",
     R"({"Name":"/app/db","Value":"v1","Type":"String","Tags":[{"Key":"Team","Value":"core"}]})");
  FakeAuthorizer authz;
  authorizer_ = &authz;
  const std::string arn = std::string(kArnPrefix) + "app/db";
  auto expect = [&](std::string_view op, const std::string& body,
                    std::vector<std::pair<std::string, std::string>> want) {
    authz.checks.clear();
    auto r = Call(op, body);
    EXPECT_TRUE(r.ok()) << op << ": " << r.status().code() << " " << r.status().message();
    EXPECT_TRUE(last_authorized_) << op;
    EXPECT_EQ(authz.Asked(), want) << op;
  };
  expect("PutParameter", R"({"Name":"/app/db","Value":"v2","Overwrite":true})",
         {{"ssm:PutParameter", arn}});
  EXPECT_EQ(authz.checks[0].context["aws:resourcetag/team"], std::vector<std::string>{"core"});
  EXPECT_EQ(authz.checks[0].context["ssm:overwrite"], std::vector<std::string>{"true"});
  expect("PutParameter",
         R"({"Name":"top","Value":"t","Type":"String","Tags":[{"Key":"Env","Value":"prod"}]})",
         {{"ssm:PutParameter", std::string(kArnPrefix) + "top"}});
  EXPECT_EQ(authz.checks[0].context["aws:requesttag/env"], std::vector<std::string>{"prod"});
  EXPECT_EQ(authz.checks[0].context["aws:tagkeys"], std::vector<std::string>{"Env"});
  EXPECT_EQ(authz.checks[0].context.count("aws:resourcetag/team"), 0u);
  expect("GetParameter", R"({"Name":"/app/db"})", {{"ssm:GetParameter", arn}});
  expect("GetParameter", R"({"Name":"arn:aws:ssm:us-east-1:123456789012:parameter/app/db:1"})",
         {{"ssm:GetParameter", arn}});
  expect("GetParameters", R"({"Names":["/app/db","/app/none"]})",
         {{"ssm:GetParameters", arn}, {"ssm:GetParameters", std::string(kArnPrefix) + "app/none"}});
  expect("GetParametersByPath", R"({"Path":"/app"})",
         {{"ssm:GetParametersByPath", std::string(kArnPrefix) + "app"}});
  expect("DescribeParameters", "{}", {{"ssm:DescribeParameters", "*"}});
  expect("GetParameterHistory", R"({"Name":"/app/db"})", {{"ssm:GetParameterHistory", arn}});
  expect("LabelParameterVersion", R"({"Name":"/app/db","Labels":["live"]})",
         {{"ssm:LabelParameterVersion", arn}});
  expect("UnlabelParameterVersion", R"({"Name":"/app/db","ParameterVersion":2,"Labels":["live"]})",
         {{"ssm:UnlabelParameterVersion", arn}});
  expect(
      "AddTagsToResource",
      R"({"ResourceType":"Parameter","ResourceId":"/app/db","Tags":[{"Key":"Owner","Value":"me"}]})",
      {{"ssm:AddTagsToResource", arn}});
  EXPECT_EQ(authz.checks[0].context["aws:requesttag/owner"], std::vector<std::string>{"me"});
  EXPECT_EQ(authz.checks[0].context["aws:tagkeys"], std::vector<std::string>{"Owner"});
  EXPECT_EQ(authz.checks[0].context["aws:resourcetag/team"], std::vector<std::string>{"core"});
  expect("ListTagsForResource", R"({"ResourceType":"Parameter","ResourceId":"/app/db"})",
         {{"ssm:ListTagsForResource", arn}});
  expect("RemoveTagsFromResource",
         R"({"ResourceType":"Parameter","ResourceId":"/app/db","TagKeys":["Owner"]})",
         {{"ssm:RemoveTagsFromResource", arn}});
  EXPECT_EQ(authz.checks[0].context["aws:tagkeys"], std::vector<std::string>{"Owner"});
  expect("DeleteParameters", R"({"Names":["top","/gone"]})",
         {{"ssm:DeleteParameters", std::string(kArnPrefix) + "gone"},
          {"ssm:DeleteParameters", std::string(kArnPrefix) + "top"}});
  expect("DeleteParameter", R"({"Name":"/app/db"})", {{"ssm:DeleteParameter", arn}});

  // Operations coffer does not serve, or that do not exist, reveal nothing: they are refused
  // without a question (the dispatcher passes errors on; only a success must have asked).
  authz.checks.clear();
  EXPECT_EQ(Code("SendCommand", "{}"), "UnsupportedOperationException");
  EXPECT_FALSE(last_authorized_);
  EXPECT_EQ(Code("NoSuchOperation", "{}"), "UnknownOperationException");
  EXPECT_FALSE(last_authorized_);
  EXPECT_TRUE(authz.checks.empty());
}

TEST_F(ParamsServiceTest, AuthzDenialStopsPutFromWritingAndGetFromRevealing) {
  Ok("PutParameter", R"({"Name":"/secret","Value":"first-value","Type":"String"})");
  Ok("PutParameter", R"({"Name":"/other","Value":"o","Type":"String"})");
  size_t events = Events().size();
  FakeAuthorizer authz;
  authorizer_ = &authz;
  authz.deny = {"ssm:PutParameter"};
  EXPECT_EQ(Code("PutParameter", R"({"Name":"/secret","Value":"second","Overwrite":true})"),
            "AccessDeniedException");
  EXPECT_EQ(Code("PutParameter", R"({"Name":"/new","Value":"x","Type":"String"})"),
            "AccessDeniedException");
  // Denied before the caller learns that the parameter exists.
  EXPECT_EQ(Code("PutParameter", R"({"Name":"/secret","Value":"x","Type":"String"})"),
            "AccessDeniedException");

  authz.deny = {"ssm:GetParameter"};
  auto got = Call("GetParameter", R"({"Name":"/secret","WithDecryption":true})");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kAccessDeniedException);
  EXPECT_EQ(got.status().message().find("first-value"), std::string::npos);
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/missing"})"), "AccessDeniedException");
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/secret:7"})"), "AccessDeniedException");
  // GetParameters has its own action; one denied name fails the whole call.
  EXPECT_EQ(Code("GetParameters", R"({"Names":["/secret","/other"]})"), "OK");
  authz.deny = {std::string("ssm:GetParameters ") + kArnPrefix + "secret"};
  EXPECT_EQ(Code("GetParameters", R"({"Names":["/secret","/other"]})"), "AccessDeniedException");
  authz.deny = {"ssm:DeleteParameters"};
  EXPECT_EQ(Code("DeleteParameters", R"({"Names":["/other","/secret"]})"), "AccessDeniedException");

  authorizer_ = &allow_all_;  // look behind the denials: nothing was written or revealed
  EXPECT_EQ(Value("/secret"), "first-value");
  EXPECT_EQ(Value("/other"), "o");
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/new"})"), "ParameterNotFound");
  EXPECT_EQ(Events().size(), events);
}

TEST_F(ParamsServiceTest, AuthzGetParametersByPathAsksOnThePathArn) {
  Ok("PutParameter", R"({"Name":"/mistersmith/production/db","Value":"d","Type":"String"})");
  Ok("PutParameter", R"({"Name":"/mistersmith/production/deep/x","Value":"x","Type":"String"})");
  FakeAuthorizer authz;
  authorizer_ = &authz;
  const std::string path_arn = std::string(kArnPrefix) + "mistersmith/production";
  // The parameters it returns are not asked about: a denial on them changes nothing.
  authz.deny = {std::string("ssm:GetParametersByPath ") + kArnPrefix + "mistersmith/production/db",
                "ssm:GetParameter"};
  auto got = Ok("GetParametersByPath", R"({"Path":"/mistersmith/production","Recursive":true})");
  EXPECT_EQ(got["Parameters"].as_array().size(), 2u);
  EXPECT_EQ(
      authz.Asked(),
      (std::vector<std::pair<std::string, std::string>>{{"ssm:GetParametersByPath", path_arn}}));
  EXPECT_EQ(authz.checks[0].context["ssm:recursive"], std::vector<std::string>{"true"});
  authz.checks.clear();
  Ok("GetParametersByPath", R"({"Path":"/mistersmith/production/"})");
  EXPECT_EQ(
      authz.Asked(),
      (std::vector<std::pair<std::string, std::string>>{{"ssm:GetParametersByPath", path_arn}}));
  authz.deny = {"ssm:GetParametersByPath " + path_arn};
  EXPECT_EQ(Code("GetParametersByPath", R"({"Path":"/mistersmith/production"})"),
            "AccessDeniedException");
}

TEST_F(ParamsServiceTest, AuthzCustomerKeyUseGoesThroughTheKeyPolicy) {
  KmsKeyRow key;
  key.key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  key.account = "123456789012";
  key.region = "us-east-1";
  key.arn = "arn:aws:kms:us-east-1:123456789012:key/" + key.key_id;
  key.manager = KeyManager::kCustomer;
  key.state = KeyState::kEnabled;
  key.created_ms = clock_.NowMillis();
  key.current_material = 1;
  key.policy = Keyring::DefaultKeyPolicy(key.account);
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    COFFER_RETURN_IF_ERROR(w.kms().InsertKey(key));
                    COFFER_ASSIGN_OR_RETURN(KeyMaterialRow m,
                                            keyring_->NewKeyMaterial(key.key_id, 1, key.created_ms,
                                                                     MaterialOrigin::kCreated));
                    return w.kms().InsertMaterial(m);
                  })
                  .ok());
  FakeAuthorizer authz;
  authorizer_ = &authz;
  const std::string arn = std::string(kArnPrefix) + "db/pw";

  authz.deny = {"kms:Encrypt"};
  const std::string put =
      R"({"Name":"/db/pw","Value":"s3cret","Type":"SecureString","KeyId":")" + key.key_id + R"("})";
  auto denied = Call("PutParameter", put);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), ErrorCode::kAccessDeniedException);
  EXPECT_NE(denied.status().message().find("(Service: AWSKMS;"), std::string::npos);
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/db/pw"})"), "ParameterNotFound");  // not written

  authz.deny.clear();
  authz.checks.clear();
  Ok("PutParameter", put);
  const auto* encrypt = authz.Find("kms:Encrypt");
  ASSERT_NE(encrypt, nullptr);
  EXPECT_EQ(encrypt->resource, key.arn);
  EXPECT_TRUE(encrypt->key_policy);
  EXPECT_EQ(encrypt->resource_policy, key.policy);
  EXPECT_EQ(encrypt->context.at("kms:viaservice"),
            std::vector<std::string>{"ssm.us-east-1.amazonaws.com"});
  EXPECT_EQ(encrypt->context.at("kms:calleraccount"), std::vector<std::string>{"123456789012"});
  EXPECT_EQ(encrypt->context.at("kms:encryptioncontext:parameter_arn"),
            std::vector<std::string>{arn});

  authz.checks.clear();
  EXPECT_EQ(Value("/db/pw"), "s3cret");
  EXPECT_EQ(authz.Asked(), (std::vector<std::pair<std::string, std::string>>{
                               {"ssm:GetParameter", arn}, {"kms:Decrypt", key.arn}}));

  authz.deny = {"kms:Decrypt"};
  auto got = Call("GetParameter", R"({"Name":"/db/pw","WithDecryption":true})");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kAccessDeniedException);
  EXPECT_NE(got.status().message().find("kms:Decrypt"), std::string::npos);
  EXPECT_EQ(got.status().message().find("s3cret"), std::string::npos);
  EXPECT_EQ(Code("GetParameter", R"({"Name":"/db/pw"})"), "OK");  // the ciphertext needs no key
  EXPECT_EQ(Code("GetParameterHistory", R"({"Name":"/db/pw","WithDecryption":true})"),
            "AccessDeniedException");
  EXPECT_EQ(Code("GetParametersByPath", R"({"Path":"/db","WithDecryption":true})"),
            "AccessDeniedException");

  // The AWS managed key aws/ssm is not asked about.
  authz.checks.clear();
  Ok("PutParameter", R"({"Name":"/db/managed","Value":"m","Type":"SecureString"})");
  EXPECT_EQ(Value("/db/managed"), "m");
  EXPECT_EQ(authz.Find("kms:Encrypt"), nullptr);
  EXPECT_EQ(authz.Find("kms:Decrypt"), nullptr);
}

TEST_F(ParamsServiceTest, AuthzSecretsManagerReferenceAsksBothServices) {
  RequestContext ctx;
  ctx.authorizer = &allow_all_;
  ctx.scope = {"123456789012", "us-east-1"};
  ctx.principal.account = "123456789012";
  ASSERT_TRUE(
      secrets_
          ->Handle(
              "CreateSecret", ctx,
              json::parse(
                  R"({"Name":"db/creds","SecretString":"pw","ClientRequestToken":"00000000-0000-4000-8000-00000000000b"})")
                  .as_object())
          .ok());
  FakeAuthorizer authz;
  authorizer_ = &authz;
  auto p = Ok("GetParameter",
              R"({"Name":"/aws/reference/secretsmanager/db/creds","WithDecryption":true})");
  ASSERT_GE(authz.checks.size(), 2u);
  EXPECT_EQ(authz.checks[0].action, "ssm:GetParameter");
  EXPECT_EQ(authz.checks[0].resource,
            std::string(kArnPrefix) + "aws/reference/secretsmanager/db/creds");
  EXPECT_EQ(authz.checks[1].action, "secretsmanager:GetSecretValue");
  EXPECT_EQ(authz.checks[1].resource.rfind(
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:db/creds-", 0),
            0u);
  authz.deny = {"secretsmanager:GetSecretValue"};
  EXPECT_EQ(Code("GetParameter",
                 R"({"Name":"/aws/reference/secretsmanager/db/creds","WithDecryption":true})"),
            "AccessDeniedException");
  authz.deny = {"ssm:GetParameters"};
  EXPECT_EQ(Code("GetParameters",
                 R"({"Names":["/aws/reference/secretsmanager/db/creds"],"WithDecryption":true})"),
            "AccessDeniedException");
}

}  // namespace
}  // namespace coffer::params
