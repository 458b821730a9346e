#include "cli/agent_command.h"

#include <openssl/crypto.h>
#include <pthread.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <thread>

#include "agent/agent_cache.h"
#include "agent/agent_server.h"
#include "agent/push_invalidation.h"
#include "cli/stop_signals.h"
#include "core/clock.h"

namespace coffer::cli {

namespace {

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  try {
    return std::stoi(v);
  } catch (const std::exception&) {
    return fallback;
  }
}

// The SSRF token, as the AWS agent finds it: the first of AWS_TOKEN, AWS_SESSION_TOKEN and
// AWS_CONTAINER_AUTHORIZATION_TOKEN that is set; "file://PATH" names a file holding it.
Result<std::string> FindToken(const client::Environment& env) {
  for (const char* name : {"AWS_TOKEN", "AWS_SESSION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN"}) {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) continue;
    if (it->second.rfind("file://", 0) != 0) return it->second;
    const std::string path = it->second.substr(7);
    std::ifstream in(path);
    std::string token((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t b = token.find_first_not_of(" \t\r\n"), e = token.find_last_not_of(" \t\r\n");
    if (!in || b == std::string::npos) {
      return Status(ErrorCode::kInvalidParameter,
                    std::string(name) + " names " + path + ", which holds no token");
    }
    return token.substr(b, e - b + 1);
  }
  return Status(ErrorCode::kInvalidParameter,
                "no SSRF token: set AWS_TOKEN (or AWS_SESSION_TOKEN, "
                "AWS_CONTAINER_AUTHORIZATION_TOKEN), or file:///path/to/token");
}

}  // namespace

CLI::App* AddAgentCommand(CLI::App& app, AgentFlags& f) {
  f.port = EnvInt("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", f.port);
  f.secret_ttl_seconds = EnvInt("SECRETS_MANAGER_TTL", f.secret_ttl_seconds);
  f.parameter_ttl_seconds = EnvInt("SSM_PARAMETER_STORE_TTL", f.parameter_ttl_seconds);
  f.cache_size = EnvInt("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", f.cache_size);
  f.max_connections = EnvInt("PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS", f.max_connections);
  auto* agent = app.add_subcommand(
      "agent",
      "Serve secrets and parameters to the workload beside it on 127.0.0.1, as the AWS Secrets "
      "Manager Agent and the Lambda extension do (GET /secretsmanager/get, /v1/<id>, "
      "/systemsmanager/parameters/get, /ping), from a cache.");
  agent->add_option("--port", f.port, "Port on 127.0.0.1 (default 2773)")
      ->check(CLI::Range(0, 65535));
  agent
      ->add_option("--ttl-seconds", f.secret_ttl_seconds,
                   "How long a secret is served before it is checked again (default 300; 0: no "
                   "cache)")
      ->check(CLI::Range(0, 3600));
  agent
      ->add_option("--parameter-ttl-seconds", f.parameter_ttl_seconds,
                   "The same for parameters (default 300)")
      ->check(CLI::Range(0, 3600));
  agent->add_option("--cache-size", f.cache_size, "Entries kept (default 1000)")
      ->check(CLI::Range(1, 1000));
  agent->add_option("--max-connections", f.max_connections, "Open connections (default 800)")
      ->check(CLI::Range(1, 100000));
  agent->add_option("--io-threads", f.io_threads, "Threads answering requests (default: cores)");
  agent->add_option("--path-prefix", f.path_prefix, "The path style's prefix (default /v1/)");
  agent->add_flag("!--no-push-invalidation", f.push_invalidation,
                  "Refresh only after the TTL, as the AWS agent does, instead of also when the "
                  "server says a cached secret moved");
  agent->add_flag("!--no-validate-credentials", f.validate_credentials,
                  "Start without checking the credentials with STS GetCallerIdentity");
  agent->add_option("--profile", f.chain.profile, "A profile of the AWS config files");
  agent->add_option("--role-arn", f.chain.role_arn, "Read as this role");
  agent->add_option("--region", f.chain.region, "The region (default: the AWS chain's)");
  agent->add_option("--endpoint-url", f.chain.endpoint_url,
                    "The server (default: AWS_ENDPOINT_URL, the profile's endpoint_url, else AWS)");
  agent->footer(
      "Every request but /ping must carry the token in X-Aws-Parameters-Secrets-Token (or "
      "X-Vault-Token); requests with X-Forwarded-For are refused.");
  return agent;
}

int RunAgent(const AgentFlags& flags) {
  sigset_t signals = BlockStopSignals();  // before any thread starts

  const client::Environment env = client::ProcessEnvironment();
  auto token = FindToken(env);
  if (!token.ok()) {
    std::cerr << "coffer agent: " << token.status().message() << "\n";
    return 2;
  }
  auto settings = client::ResolveClientSettings(flags.chain, env);
  if (!settings.ok()) {
    std::cerr << "coffer agent: " << settings.status().message() << "\n";
    return 2;
  }
  if (flags.validate_credentials) {
    auto identity =
        client::AwsClient(*settings).CallQuery("sts", "GetCallerIdentity", "2011-06-15", {});
    if (!identity.ok()) {
      std::cerr << "coffer agent: the credentials do not work: " << identity.failure.Text() << "\n";
      return 2;
    }
  }
  agent::AwsSecretsBackend backend(*settings);
  SystemClock clock;
  agent::CacheOptions cache_options;
  cache_options.secret_ttl = std::chrono::seconds(flags.secret_ttl_seconds);
  cache_options.parameter_ttl = std::chrono::seconds(flags.parameter_ttl_seconds);
  cache_options.max_entries = static_cast<size_t>(flags.cache_size);
  agent::AgentCache cache(&backend, &clock, cache_options);
  agent::PushInvalidation push(&backend.client(), &cache);
  if (flags.push_invalidation && cache_options.secret_ttl.count() > 0) push.Start();
  agent::RequestRules rules;
  rules.token = *token;
  rules.path_prefix = flags.path_prefix;
  agent::AgentServerOptions options;
  options.port = static_cast<uint16_t>(flags.port);
  options.io_threads = flags.io_threads;
  options.max_connections = flags.max_connections;

  auto server = agent::AgentServer::Create(
      options, [&](std::string_view method, std::string_view target, const auto& header) {
        auto request = agent::ReadAgentRequest(method, target, header, rules);
        if (auto* refusal = std::get_if<agent::AgentReply>(&request)) return std::move(*refusal);
        if (std::holds_alternative<agent::Ping>(request)) return agent::AgentReply{200, "healthy"};
        if (auto* secret = std::get_if<agent::SecretQuery>(&request)) return cache.Secret(*secret);
        return cache.Parameter(std::get<agent::ParameterQuery>(request));
      });
  if (!server.ok()) {
    std::cerr << "coffer agent: " << server.status().message() << "\n";
    return 2;
  }
  std::thread signal_waiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    (*server)->Stop();
  });
  std::cout << "coffer agent: listening on 127.0.0.1:" << (*server)->port() << " (identity from "
            << settings->credentials.source << ")" << std::endl;
  (*server)->Run();
  push.Stop();
  pthread_kill(signal_waiter.native_handle(), SIGTERM);
  signal_waiter.join();
  return 0;
}

}  // namespace coffer::cli
