// `coffer exec`, `coffer env` (and `coffer agent`, cli/agent_command.h): a workload's secrets,
// resolved as ECS resolves a task definition's `secrets`, given to a command's environment (exec)
// or printed for tools that want a file (env). See client/ for the resolution itself.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/agent_command.h"
#include "client/credential_chain.h"

namespace coffer::cli {

struct WorkloadFlags {
  std::string task_definition;         // an ECS task definition or a CloudFormation template
  std::string container;               // the container in it
  std::vector<std::string> secrets;    // NAME=VALUEFROM, added to (or replacing) the file's
  std::vector<std::string> env_files;  // replace the definition's environment files
  client::ChainOptions chain;          // --profile, --role-arn, --region, --endpoint-url
  // exec
  std::vector<std::string> command;
  bool restart_on_rotation = false;
  int poll_seconds = 30;
  std::string restart_signal = "TERM";
  std::string reload_signal;  // set: sent instead of a restart
  int stop_timeout_seconds = 10;
  // env
  std::string format = "dotenv";
  std::string output;  // a file, written with mode 0600; empty: stdout
};

struct WorkloadCommands {
  WorkloadFlags flags;
  CLI::App* exec = nullptr;
  CLI::App* env = nullptr;
  AgentFlags agent_flags;
  CLI::App* agent = nullptr;
};

void AddWorkloadCommands(CLI::App& app, WorkloadCommands& commands);
// For `coffer exec ... -- COMMAND ARGS`: takes what follows the first "--" as the command (its
// own flags untouched by coffer's parser) and answers the count of arguments left to parse.
int TakeCommandAfterDashes(int argc, char** argv, WorkloadCommands& commands);
// Runs the parsed command; returns -1 when neither was parsed. `coffer exec` without
// --restart-on-rotation does not return when the command starts: it becomes the command.
// Exit statuses of its own, as `docker run` has them: 125 when the secrets cannot be resolved
// (nothing runs), 126 when the command cannot be run, 127 when it is not found.
int RunWorkloadCommand(const WorkloadCommands& commands);

}  // namespace coffer::cli
