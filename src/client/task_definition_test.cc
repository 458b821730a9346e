#include "client/task_definition.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace coffer::client {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

TemplateContext Context() {
  TemplateContext context;
  context.region = "us-east-1";
  context.account_id = []() -> Result<std::string> { return std::string("123456789012"); };
  return context;
}

// RegisterTaskDefinition's input, and DescribeTaskDefinition's output around it.
TEST(TaskDefinition, ReadsEcsJsonInBothShapes) {
  const std::string container = R"({"name": "app", "image": "x",
      "environment": [{"name": "NODE_ENV", "value": "production"}],
      "secrets": [{"name": "JWT_SECRET", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:j-AbCdEf:secret::"}],
      "environmentFiles": [{"value": "app.env", "type": "s3"}]})";
  for (const std::string& text :
       {R"({"family": "f", "containerDefinitions": [)" + container + "]}",
        R"({"taskDefinition": {"containerDefinitions": [)" + container + "]}}"}) {
    auto read = ReadContainerEnvironment(text, "", "/defs", Context());
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(read->container, "app");
    EXPECT_EQ(read->environment, (Pairs{{"NODE_ENV", "production"}}));
    ASSERT_EQ(read->secrets.size(), 1u);
    EXPECT_EQ(read->secrets[0].first, "JWT_SECRET");
    EXPECT_EQ(read->environment_files, std::vector<std::string>{"/defs/app.env"});
  }
}

TEST(TaskDefinition, ChoosesTheNamedContainer) {
  const std::string text = R"({"containerDefinitions": [{"name": "a"}, {"name": "b",
      "environment": [{"name": "X", "value": "1"}]}]})";
  EXPECT_FALSE(ReadContainerEnvironment(text, "", "", Context()).ok());  // which one?
  EXPECT_FALSE(ReadContainerEnvironment(text, "c", "", Context()).ok());
  auto b = ReadContainerEnvironment(text, "b", "", Context());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->environment, (Pairs{{"X", "1"}}));
}

TEST(TaskDefinition, RefusesAnEnvironmentFileInS3) {
  auto read = ReadContainerEnvironment(
      R"({"containerDefinitions": [{"name": "a", "environmentFiles":
          [{"value": "arn:aws:s3:::bucket/app.env", "type": "s3"}]}]})",
      "", "", Context());
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("--env-file"), std::string::npos);
}

// What `cdk synth` writes for the seed's container: Secret.fromSecretsManager(dbSecret,
// 'connectionString') joins the secret's Ref (its ARN) with ":connectionString::";
// Secret.fromSsmParameter builds the parameter's ARN from pseudo parameters.
constexpr char kSynthesized[] = R"({
  "Parameters": {"Stage": {"Type": "String", "Default": "production"}},
  "Resources": {
    "DbSecret1A2B3C": {"Type": "AWS::SecretsManager::Secret",
                       "Properties": {"Name": "mistersmith/aurora/master"}},
    "GeneratedSecret": {"Type": "AWS::SecretsManager::Secret", "Properties": {}},
    "Bucket": {"Type": "AWS::S3::Bucket"},
    "TaskDef54694570": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
      "ContainerDefinitions": [{
        "Name": "app",
        "Environment": [{"Name": "NODE_ENV", "Value": "production"},
                        {"Name": "STAGE", "Value": {"Fn::Sub": "${Stage}-${AWS::Region}"}}],
        "Secrets": [
          {"Name": "DATABASE_URL", "ValueFrom": {"Fn::Join": ["", [{"Ref": "DbSecret1A2B3C"},
                                                                    ":connectionString::"]]}},
          {"Name": "API_BASE_URL", "ValueFrom": {"Fn::Join": ["", ["arn:",
              {"Ref": "AWS::Partition"}, ":ssm:", {"Ref": "AWS::Region"}, ":",
              {"Ref": "AWS::AccountId"}, ":parameter/mistersmith/production/config/api_base_url"]]}},
          {"Name": "JWT_SECRET", "ValueFrom": {"Fn::Sub":
              "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:mistersmith/app/jwt:secret::"}}
        ]}, {
        "Name": "worker",
        "Secrets": [
          {"Name": "A", "ValueFrom": {"Ref": "GeneratedSecret"}},
          {"Name": "B", "ValueFrom": {"Fn::GetAtt": ["DbSecret1A2B3C", "Id"]}},
          {"Name": "C", "ValueFrom": {"Ref": "Bucket"}},
          {"Name": "D", "ValueFrom": {"Fn::ImportValue": "Shared"}}
        ]}]}}}})";

TEST(TaskDefinition, ResolvesWhatCdkSynthWritesForTheSeedsContainer) {
  auto read = ReadContainerEnvironment(kSynthesized, "app", "", Context());
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->environment,
            (Pairs{{"NODE_ENV", "production"}, {"STAGE", "production-us-east-1"}}));
  EXPECT_EQ(read->secrets,
            (Pairs{{"DATABASE_URL",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mistersmith/aurora/"
                    "master:connectionString::"},
                   {"API_BASE_URL",
                    "arn:aws:ssm:us-east-1:123456789012:parameter/mistersmith/production/config/"
                    "api_base_url"},
                   {"JWT_SECRET",
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mistersmith/app/"
                    "jwt:secret::"}}));
}

TEST(TaskDefinition, NamesEveryReferenceItCannotResolve) {
  auto read = ReadContainerEnvironment(kSynthesized, "worker", "", Context());
  ASSERT_FALSE(read.ok());
  const std::string& message = read.status().message();
  for (const char* expected :
       {"Secrets A: Ref GeneratedSecret", "has no Name", "Secrets B: Fn::GetAtt",
        "Secrets C: Ref Bucket is a AWS::S3::Bucket", "Secrets D: Fn::ImportValue"}) {
    EXPECT_NE(message.find(expected), std::string::npos) << expected << " in " << message;
  }
}

class EnvironmentFile : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = testing::TempDir() + "/env" + std::to_string(files_.size()) + "-" +
                       std::to_string(getpid()) + ".env";
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
  }
  std::vector<std::string> files_;
};

// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/use-environment-file.html
TEST_F(EnvironmentFile, KeepsQuotesAndSpacesAndTheFirstFileWins) {
  Pairs env;
  ASSERT_TRUE(
      ReadEnvironmentFile(Write("# comment\n\nA=\"quoted\"\nB= spaced \nC=x=y\r\n"), &env).ok());
  ASSERT_TRUE(ReadEnvironmentFile(Write("A=second\nD=4\n"), &env).ok());
  EXPECT_EQ(env, (Pairs{{"A", "\"quoted\""}, {"B", " spaced "}, {"C", "x=y"}, {"D", "4"}}));
}

TEST_F(EnvironmentFile, ALineWithoutEqualsIsNamedButNotQuoted) {
  Pairs env;
  Status status = ReadEnvironmentFile(Write("A=1\nhunter2-not-a-variable\n"), &env);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("line 2"), std::string::npos);
  EXPECT_EQ(status.message().find("hunter2"), std::string::npos);
  EXPECT_FALSE(ReadEnvironmentFile("/nonexistent/x.env", &env).ok());
}

}  // namespace
}  // namespace coffer::client
