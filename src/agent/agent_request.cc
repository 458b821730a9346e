#include "agent/agent_request.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>

#include "core/percent_encoding.h"

namespace coffer::agent {

namespace {

AgentReply Refuse(int status, std::string text) { return AgentReply{status, std::move(text)}; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The query's name=value pairs, decoded as a form (the agent's url crate does: '+' is a space).
std::vector<std::pair<std::string, std::string>> QueryPairs(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    auto decode = [](std::string_view s) { return PercentDecode(s, true); };
    pairs.emplace_back(decode(item.substr(0, eq)),
                       eq == std::string_view::npos ? "" : decode(item.substr(eq + 1)));
  }
  return pairs;
}

std::optional<bool> ParseBool(const std::string& value) {
  const std::string v = Lower(value);
  if (v == "true" || v == "1") return true;
  if (v == "false" || v == "0") return false;
  return std::nullopt;
}

AgentRequest ReadSecretQuery(SecretQuery query,
                             const std::vector<std::pair<std::string, std::string>>& pairs,
                             bool path_style) {
  for (const auto& [key, value] : pairs) {
    if (key == "secretId" && !path_style) {
      query.secret_id = value;
    } else if (key == "versionId") {
      query.version_id = value;
    } else if (key == "versionStage") {
      query.version_stage = value;
    } else if (key == "refreshNow") {
      auto refresh = ParseBool(value);
      if (!refresh) return Refuse(400, "invalid refreshNow value");
      query.refresh_now = *refresh;
    } else {
      return Refuse(400, "unknown parameter: " + key);
    }
  }
  if (query.secret_id.empty()) {
    return Refuse(400, path_style ? "missing secret ID" : "missing parameter secretId");
  }
  return query;
}

// GET /systemsmanager/parameters/get?name=...[&version=N|&label=L][&withDecryption=true]: of
// version and label, the first given is used.
AgentRequest ReadParameterQuery(const std::vector<std::pair<std::string, std::string>>& pairs) {
  ParameterQuery query;
  std::string selector;
  for (const auto& [key, value] : pairs) {
    if (key == "name") {
      query.name = value;
    } else if (key == "version" || key == "label") {
      if (selector.empty()) selector = value;
    } else if (key == "withDecryption") {
      auto decrypt = ParseBool(value);
      if (!decrypt) return Refuse(400, "invalid withDecryption value");
      query.with_decryption = *decrypt;
    } else {
      return Refuse(400, "unknown parameter: " + key);
    }
  }
  if (query.name.empty()) return Refuse(400, "missing parameter name");
  if (!selector.empty()) query.name += ":" + selector;
  return query;
}

}  // namespace

AgentRequest ReadAgentRequest(
    std::string_view method, std::string_view target,
    const std::function<std::optional<std::string>(std::string_view)>& header,
    const RequestRules& rules) {
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  if (path != "/ping") {
    if (header("X-Forwarded-For")) return Refuse(400, "Forwarded");
    bool token_matches = false;
    for (const auto& name : rules.token_headers) {
      auto value = header(name);
      // Compared whole and in constant time (another local process may time its guesses); an
      // empty token never matches.
      if (value && !rules.token.empty() && value->size() == rules.token.size() &&
          CRYPTO_memcmp(value->data(), rules.token.data(), value->size()) == 0) {
        token_matches = true;
      }
    }
    if (!token_matches) return Refuse(403, "Bad Token");
  }
  if (method != "GET") return Refuse(405, "Not allowed");
  if (path == "/ping") return Ping{};
  const auto pairs = QueryPairs(query);
  if (path == "/secretsmanager/get") return ReadSecretQuery({}, pairs, false);
  if (path == "/systemsmanager/parameters/get") return ReadParameterQuery(pairs);
  if (!rules.path_prefix.empty() && path.substr(0, rules.path_prefix.size()) == rules.path_prefix) {
    SecretQuery query;
    query.secret_id = PercentDecode(path.substr(rules.path_prefix.size()), false);
    return ReadSecretQuery(std::move(query), pairs, true);
  }
  return Refuse(404, "Not found");
}

AgentReply ServiceErrorReply(int status, const std::string& code, const std::string& message) {
  boost::json::object body{{"__type", code}};
  if (!message.empty()) body["message"] = message;
  return AgentReply{status, boost::json::serialize(body), "application/json"};
}

}  // namespace coffer::agent
