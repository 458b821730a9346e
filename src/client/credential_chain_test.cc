#include "client/credential_chain.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace coffer::client {
namespace {

TEST(ProfileFile, ReadsConfigAndCredentialsSpellings) {
  auto config = ParseProfileFile(
      "[default]\nregion = eu-west-1\n# c\n; c\n[profile dev]\nRole_Arn = arn:aws:iam::1:role/d\n"
      "source_profile=base\n[sso-session s]\nsso_region = x\n[services s]\nssm =\n"
      "  endpoint_url = http://nested\n",
      true);
  EXPECT_EQ(config["default"]["region"], "eu-west-1");
  EXPECT_EQ(config["dev"]["role_arn"], "arn:aws:iam::1:role/d");
  EXPECT_EQ(config["dev"]["source_profile"], "base");
  EXPECT_FALSE(config.contains("s"));
  EXPECT_FALSE(config.contains("sso-session s"));
  auto credentials = ParseProfileFile("[dev]\naws_access_key_id = AKIA1\n", false);
  EXPECT_EQ(credentials["dev"]["aws_access_key_id"], "AKIA1");
}

class Chain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempDir() + "/chain-" + std::to_string(getpid());
    mkdir(dir_.c_str(), 0700);
    env_ = {{"HOME", dir_},
            {"AWS_CONFIG_FILE", dir_ + "/config"},
            {"AWS_SHARED_CREDENTIALS_FILE", dir_ + "/credentials"}};
  }
  void TearDown() override {
    for (const char* f : {"/config", "/credentials", "/process.sh"}) {
      std::remove((dir_ + f).c_str());
    }
    rmdir(dir_.c_str());
  }
  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string dir_;
  Environment env_;
};

TEST_F(Chain, EnvironmentKeysComeFirstUnlessAProfileIsGiven) {
  WriteFile("credentials", "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s\n");
  WriteFile("config", "[profile dev]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9\n");
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "e";
  env_["AWS_PROFILE"] = "dev";
  auto from_env = ResolveClientSettings({}, env_);
  ASSERT_TRUE(from_env.ok()) << from_env.status().message();
  EXPECT_EQ(from_env->credentials.access_key_id, "AKIAENV");
  EXPECT_EQ(from_env->region, "eu-west-1");  // the profile's, as nothing else sets one
  ChainOptions options;
  options.profile = "dev";
  auto from_profile = ResolveClientSettings(options, env_);
  ASSERT_TRUE(from_profile.ok()) << from_profile.status().message();
  EXPECT_EQ(from_profile->credentials.access_key_id, "AKIADEV");
  EXPECT_EQ(from_profile->credentials.source, "profile dev");
}

// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html: the service's
// variable, then the global one, then the profile's endpoint_url.
TEST_F(Chain, RegionAndEndpointPrecedence) {
  WriteFile("config", "[default]\nregion = eu-west-1\nendpoint_url = http://profile\n");
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "e";
  auto profile_only = ResolveClientSettings({}, env_);
  ASSERT_TRUE(profile_only.ok());
  EXPECT_EQ(EndpointFor(*profile_only, "ssm"), "http://profile");
  env_["AWS_DEFAULT_REGION"] = "us-west-2";
  env_["AWS_ENDPOINT_URL"] = "http://global";
  env_["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = "http://sm";
  auto from_env = ResolveClientSettings({}, env_);
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->region, "us-west-2");
  EXPECT_EQ(EndpointFor(*from_env, "secretsmanager"), "http://sm");
  EXPECT_EQ(EndpointFor(*from_env, "ssm"), "http://global");
  env_["AWS_REGION"] = "ap-south-1";
  ChainOptions options;
  options.endpoint_url = "http://flag";
  auto flagged = ResolveClientSettings(options, env_);
  ASSERT_TRUE(flagged.ok());
  EXPECT_EQ(flagged->region, "ap-south-1");
  EXPECT_EQ(EndpointFor(*flagged, "secretsmanager"), "http://flag");
  env_["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "true";
  auto ignored = ResolveClientSettings({}, env_);
  ASSERT_TRUE(ignored.ok());
  EXPECT_EQ(EndpointFor(*ignored, "ssm"), "https://ssm.ap-south-1.amazonaws.com");
}

TEST_F(Chain, SaysWhatIsMissing) {
  auto no_region = ResolveClientSettings({}, env_);
  ASSERT_FALSE(no_region.ok());
  EXPECT_NE(no_region.status().message().find("no region"), std::string::npos);
  env_["AWS_REGION"] = "us-east-1";
  auto no_credentials = ResolveClientSettings({}, env_);
  ASSERT_FALSE(no_credentials.ok());
  EXPECT_NE(no_credentials.status().message().find("no credentials"), std::string::npos);
  ChainOptions missing;
  missing.profile = "nope";
  EXPECT_NE(ResolveClientSettings(missing, env_).status().message().find("nope"),
            std::string::npos);
}

TEST_F(Chain, RefusesASourceProfileCycleBeforeAnyCall) {
  WriteFile("config",
            "[profile a]\nregion = us-east-1\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = "
            "b\n[profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n");
  ChainOptions options;
  options.profile = "a";
  auto cycle = ResolveClientSettings(options, env_);
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.status().message().find("cycle"), std::string::npos);
}

// https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html
TEST_F(Chain, RunsCredentialProcessWithoutAShell) {
  WriteFile("process.sh",
            "#!/bin/sh\n[ \"$1\" = 'two words' ] || exit 3\necho '{\"Version\": 1, "
            "\"AccessKeyId\": \"ASIAPROC\", \"SecretAccessKey\": \"s\", \"SessionToken\": "
            "\"t\", \"Expiration\": \"2030-01-01T00:00:00Z\"}'\n");
  chmod((dir_ + "/process.sh").c_str(), 0700);
  WriteFile("config", "[profile p]\nregion = us-east-1\ncredential_process = " + dir_ +
                          "/process.sh \"two words\"\n[profile bad]\nregion = us-east-1\n"
                          "credential_process = " +
                          dir_ + "/process.sh one\n");
  ChainOptions options;
  options.profile = "p";
  auto good = ResolveClientSettings(options, env_);
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->credentials.access_key_id, "ASIAPROC");
  EXPECT_EQ(good->credentials.session_token, "t");
  EXPECT_EQ(good->credentials.expiration, "2030-01-01T00:00:00Z");
  options.profile = "bad";
  auto bad = ResolveClientSettings(options, env_);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("exit status 3"), std::string::npos);
}

}  // namespace
}  // namespace coffer::client
