// `coffer agent`: a drop-in for the AWS Secrets Manager Agent and the AWS Parameters and Secrets
// Lambda Extension, serving the workload beside it from a cache (agent/).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "client/credential_chain.h"

namespace coffer::cli {

struct AgentFlags {
  client::ChainOptions chain;
  int port = 2773;
  int secret_ttl_seconds = 300;
  int parameter_ttl_seconds = 300;
  int cache_size = 1000;
  int max_connections = 800;
  int io_threads = 0;
  std::string path_prefix = "/v1/";
  bool validate_credentials = true;
  bool push_invalidation = true;
};

// Adds `coffer agent`; defaults come from the Lambda extension's variables when set
// (PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, SECRETS_MANAGER_TTL, SSM_PARAMETER_STORE_TTL,
// PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE, PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS).
CLI::App* AddAgentCommand(CLI::App& app, AgentFlags& flags);
// Serves until SIGTERM or SIGINT; returns the exit status.
int RunAgent(const AgentFlags& flags);

}  // namespace coffer::cli
