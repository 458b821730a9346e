// What a request to `coffer agent` asks, read as the AWS Secrets Manager Agent and the AWS
// Parameters and Secrets Lambda Extension read it, with their refusals in their order:
//   1. any X-Forwarded-For header: 400 "Forwarded" (a proxied request may come from anywhere);
//   2. the token in none of the token headers: 403 "Bad Token" (SSRF: a page or a redirected
//      request cannot set a header it does not know);
//   3. not GET: 405 "Not allowed";
//   4. an unknown path: 404 "Not found"; a bad query: 400 with the agent's text.
// GET /ping needs no token ("healthy"); the connection limit is the listener's (429).
// https://github.com/aws/aws-secretsmanager-agent (server.rs, parse.rs)
// https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-integration-lambda-extensions.html
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace coffer::agent {

struct AgentReply {
  int status = 200;
  std::string body;
  std::string content_type = "text/plain";
};

struct SecretQuery {
  std::string secret_id;
  std::string version_id;     // empty: none
  std::string version_stage;  // empty: none (the cache reads AWSCURRENT)
  bool refresh_now = false;
};

struct ParameterQuery {
  std::string name;  // with ":VERSION" or ":LABEL" appended when one was asked for
  bool with_decryption = false;
};

struct Ping {};

using AgentRequest = std::variant<Ping, SecretQuery, ParameterQuery, AgentReply>;

struct RequestRules {
  std::string token;
  std::vector<std::string> token_headers = {"X-Aws-Parameters-Secrets-Token", "X-Vault-Token"};
  std::string path_prefix = "/v1/";
};

// `header` answers a request header's value by name (case-insensitive), if present. Answers the
// query, or the refusal (an AgentReply) to send.
AgentRequest ReadAgentRequest(
    std::string_view method, std::string_view target,
    const std::function<std::optional<std::string>(std::string_view)>& header,
    const RequestRules& rules);

// The agent's error body for a service error: {"__type": CODE, "message": MESSAGE}.
AgentReply ServiceErrorReply(int status, const std::string& code, const std::string& message);

}  // namespace coffer::agent
