#include "client/value_from.h"

#include <gtest/gtest.h>

namespace coffer::client {
namespace {

namespace json = boost::json;
constexpr char kArn[] = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";

// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
// ("Example referencing a specific key / version"): every field optional, the colons kept.
TEST(ValueFrom, SecretsManagerFormsAsTheEcsAgentSplitsThem) {
  struct Row {
    std::string suffix, key, stage, id;
  } rows[] = {
      {"", "", "", ""},
      {":username1::", "username1", "", ""},
      {"::AWSPREVIOUS:", "", "AWSPREVIOUS", ""},
      {":::9d4cb84b-ad69-40c0-a0ab-cead36b967e8", "", "", "9d4cb84b-ad69-40c0-a0ab-cead36b967e8"},
      {":username1:AWSPREVIOUS:", "username1", "AWSPREVIOUS", ""},
  };
  for (const auto& row : rows) {
    auto ref = ParseValueFrom("V", std::string(kArn) + row.suffix);
    ASSERT_TRUE(ref.ok()) << row.suffix << ": " << ref.status().message();
    EXPECT_EQ(ref->service, SecretReference::Service::kSecretsManager);
    EXPECT_EQ(ref->secret_id, kArn) << row.suffix;
    EXPECT_EQ(ref->json_key, row.key);
    EXPECT_EQ(ref->version_stage, row.stage);
    EXPECT_EQ(ref->version_id, row.id);
    EXPECT_EQ(ref->region, "us-east-1");
  }
}

TEST(ValueFrom, OtherColonCountsAreTheAgentsInvalidArnError) {
  for (const std::string suffix : {":k", ":k:", ":k:s:i:x"}) {
    auto ref = ParseValueFrom("V", std::string(kArn) + suffix);
    ASSERT_FALSE(ref.ok()) << suffix;
    EXPECT_NE(ref.status().message().find(
                  "an invalid ARN format for the AWS Secrets Manager secret was specified"),
              std::string::npos);
  }
  EXPECT_FALSE(ParseValueFrom("V", "arn:aws:s3:::bucket/key").ok());
  EXPECT_FALSE(ParseValueFrom("V", "arn:aws").ok());
  EXPECT_FALSE(ParseValueFrom("V", "").ok());
}

// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html:
// a name in the task's region, or an ARN (which carries its own region).
TEST(ValueFrom, ParametersByNameOrArn) {
  auto by_name = ParseValueFrom("U", "/mistersmith/production/config/api_base_url");
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->service, SecretReference::Service::kParameterStore);
  EXPECT_EQ(by_name->region, "");
  auto by_arn = ParseValueFrom("U", "arn:aws:ssm:eu-west-1:123456789012:parameter/a/b");
  ASSERT_TRUE(by_arn.ok());
  EXPECT_EQ(by_arn->service, SecretReference::Service::kParameterStore);
  EXPECT_EQ(by_arn->region, "eu-west-1");
  EXPECT_EQ(by_arn->value_from, "arn:aws:ssm:eu-west-1:123456789012:parameter/a/b");
}

// The agent renders a JSON key's value with Go's fmt.Sprintf("%v") of what encoding/json decoded
// (agent/asm/asm.go): numbers are float64, maps print sorted.
TEST(ValueFrom, NonStringJsonValuesRenderAsGoPrintsThem) {
  auto render = [](const char* text) { return RenderAsEcs(json::parse(text)); };
  EXPECT_EQ(render(R"("plain")"), "plain");
  EXPECT_EQ(render("5432"), "5432");
  EXPECT_EQ(render("123456"), "123456");
  EXPECT_EQ(render("1000000"), "1e+06");
  EXPECT_EQ(render("1234567"), "1.234567e+06");
  EXPECT_EQ(render("12.5"), "12.5");
  EXPECT_EQ(render("0.0001"), "0.0001");
  EXPECT_EQ(render("0.00001"), "1e-05");
  EXPECT_EQ(render("-3"), "-3");
  EXPECT_EQ(render("true"), "true");
  EXPECT_EQ(render("null"), "<nil>");
  EXPECT_EQ(render(R"([1,"a",false])"), "[1 a false]");
  EXPECT_EQ(render(R"({"b":2,"a":"x"})"), "map[a:x b:2]");
}

}  // namespace
}  // namespace coffer::client
