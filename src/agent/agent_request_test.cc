#include "agent/agent_request.h"

#include <gtest/gtest.h>

#include <map>

namespace coffer::agent {
namespace {

AgentRequest Read(std::string_view method, std::string_view target,
                  std::map<std::string, std::string> headers = {
                      {"X-Aws-Parameters-Secrets-Token", "tok"}}) {
  RequestRules rules;
  rules.token = "tok";
  return ReadAgentRequest(
      method, target,
      [&](std::string_view name) -> std::optional<std::string> {
        auto it = headers.find(std::string(name));
        if (it == headers.end()) return std::nullopt;
        return it->second;
      },
      rules);
}

void ExpectRefusal(const AgentRequest& request, int status, const std::string& body) {
  const auto* reply = std::get_if<AgentReply>(&request);
  ASSERT_NE(reply, nullptr) << body;
  EXPECT_EQ(reply->status, status);
  EXPECT_EQ(reply->body, body);
}

// The AWS agent's order (server.rs): forwarding and token before the method, the method before
// the path.
TEST(AgentRequest, RefusesInTheAwsAgentsOrder) {
  ExpectRefusal(Read("POST", "/nowhere", {{"X-Forwarded-For", "1.2.3.4"}}), 400, "Forwarded");
  ExpectRefusal(Read("POST", "/nowhere", {}), 403, "Bad Token");
  ExpectRefusal(Read("GET", "/x", {{"X-Aws-Parameters-Secrets-Token", "tok2"}}), 403, "Bad Token");
  ExpectRefusal(Read("POST", "/nowhere"), 405, "Not allowed");
  ExpectRefusal(Read("GET", "/nowhere"), 404, "Not found");
  EXPECT_TRUE(std::holds_alternative<Ping>(Read("GET", "/ping", {})));
  EXPECT_TRUE(std::holds_alternative<SecretQuery>(
      Read("GET", "/secretsmanager/get?secretId=a", {{"X-Vault-Token", "tok"}})));
}

// parse.rs: the same messages, and refreshNow case-insensitive or 0/1.
TEST(AgentRequest, ReadsSecretQueriesAsTheAgentParsesThem) {
  auto q = std::get<SecretQuery>(Read(
      "GET", "/secretsmanager/get?secretId=my%2Fsecret&versionStage=AWSPREVIOUS&refreshNow=TRUE"));
  EXPECT_EQ(q.secret_id, "my/secret");
  EXPECT_EQ(q.version_stage, "AWSPREVIOUS");
  EXPECT_TRUE(q.refresh_now);
  auto path = std::get<SecretQuery>(Read("GET", "/v1/team/db?versionId=v1&refreshNow=0"));
  EXPECT_EQ(path.secret_id, "team/db");
  EXPECT_EQ(path.version_id, "v1");
  EXPECT_FALSE(path.refresh_now);
  ExpectRefusal(Read("GET", "/secretsmanager/get?secretId=a&abc=1"), 400, "unknown parameter: abc");
  ExpectRefusal(Read("GET", "/secretsmanager/get?&versionId=v"), 400, "missing parameter secretId");
  ExpectRefusal(Read("GET", "/v1/?versionId=v"), 400, "missing secret ID");
  ExpectRefusal(Read("GET", "/v1/a?secretId=b"), 400, "unknown parameter: secretId");
  ExpectRefusal(Read("GET", "/secretsmanager/get?secretId=a&refreshNow=123"), 400,
                "invalid refreshNow value");
}

// The Lambda extension: of version and label, the first given is the selector.
TEST(AgentRequest, ReadsParameterQueries) {
  auto q = std::get<ParameterQuery>(
      Read("GET",
           "/systemsmanager/parameters/get?name=%2Fa%2Fb&label=prod&version=3&"
           "withDecryption=true"));
  EXPECT_EQ(q.name, "/a/b:prod");
  EXPECT_TRUE(q.with_decryption);
  auto plain = std::get<ParameterQuery>(Read("GET", "/systemsmanager/parameters/get?name=x"));
  EXPECT_EQ(plain.name, "x");
  EXPECT_FALSE(plain.with_decryption);
  ExpectRefusal(Read("GET", "/systemsmanager/parameters/get?version=1"), 400,
                "missing parameter name");
}

}  // namespace
}  // namespace coffer::agent
