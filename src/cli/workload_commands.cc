#include "cli/workload_commands.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "client/secret_fetch.h"
#include "client/task_definition.h"
#include "client/value_from.h"

namespace coffer::cli {

namespace json = boost::json;
using client::ClientSettings;
using client::Environment;
using client::FetchedSecret;
using client::SecretReference;

namespace {

constexpr int kResolveFailed = 125;  // docker run's: the launcher failed, nothing ran
constexpr int kCannotRun = 126;
constexpr int kNotFound = 127;
// Set in the command's environment while `coffer exec --profile` runs it, so a nested exec
// (which would assume the role again from temporary credentials) is refused, as aws-vault does.
constexpr const char* kNestingVariable = "COFFER_EXEC_PROFILE";

int Failure(int status, const std::string& message) {
  std::cerr << "coffer: " << message << "\n";
  return status;
}

// What the command is given, before its secrets are fetched.
struct Plan {
  ClientSettings settings;
  std::vector<std::pair<std::string, std::string>> plain;  // files, then `environment` over them
  std::vector<SecretReference> refs;
  std::vector<std::pair<std::string, SecretBytes>> credentials;  // --profile: exported
  std::vector<std::string> unset;                                // removed from the inherited
};

// Sets `name` in an ordered list of variables: replaced where it is, else appended.
template <typename Value>
void Set(std::vector<std::pair<std::string, Value>>* env, const std::string& name, Value value) {
  for (auto& [n, v] : *env) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  env->emplace_back(name, std::move(value));
}

Result<Plan> MakePlan(const WorkloadFlags& flags, const Environment& process_env) {
  Plan plan;
  const bool local_profile = !flags.chain.profile.empty();
  if (local_profile && process_env.contains(kNestingVariable)) {
    return Status(ErrorCode::kInvalidParameter,
                  std::string("already inside coffer exec for profile ") +
                      process_env.at(kNestingVariable) + " (" + kNestingVariable +
                      " is set); nested sessions are refused");
  }
  COFFER_ASSIGN_OR_RETURN(plan.settings, client::ResolveClientSettings(flags.chain, process_env));
  client::AwsClient aws(plan.settings);

  client::ContainerEnvironment container;
  if (!flags.task_definition.empty()) {
    std::ifstream in(flags.task_definition);
    if (!in) {
      return Status(ErrorCode::kInvalidParameter, "cannot read " + flags.task_definition);
    }
    std::stringstream text;
    text << in.rdbuf();
    client::TemplateContext context;
    context.region = plan.settings.region;
    context.account_id = [&aws]() -> Result<std::string> {
      auto reply = aws.CallQuery("sts", "GetCallerIdentity", "2011-06-15", {});
      if (!reply.ok()) return Status(ErrorCode::kInvalidParameter, reply.failure.Text());
      auto account = client::XmlElementText(*reply.value, "Account");
      if (!account) return Status(ErrorCode::kInvalidParameter, "GetCallerIdentity: no Account");
      return *account;
    };
    std::string dir = flags.task_definition;
    dir = dir.find('/') == std::string::npos ? "." : dir.substr(0, dir.rfind('/'));
    COFFER_ASSIGN_OR_RETURN(
        container, client::ReadContainerEnvironment(text.str(), flags.container, dir, context));
  }
  // An env file given here replaces the definition's, as a container override does.
  const std::vector<std::string>& files =
      flags.env_files.empty() ? container.environment_files : flags.env_files;
  for (const auto& file : files) {
    COFFER_RETURN_IF_ERROR(client::ReadEnvironmentFile(file, &plan.plain));
  }
  for (const auto& [name, value] : container.environment) Set(&plan.plain, name, value);

  std::vector<std::pair<std::string, std::string>> secrets = container.secrets;
  for (const auto& given : flags.secrets) {
    size_t eq = given.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status(ErrorCode::kInvalidParameter, "--secret takes NAME=VALUEFROM");
    }
    Set(&secrets, given.substr(0, eq), given.substr(eq + 1));
  }
  std::string errors;
  for (const auto& [name, value_from] : secrets) {
    auto ref = client::ParseValueFrom(name, value_from);
    if (!ref.ok()) {
      errors += (errors.empty() ? "" : "; ") + ref.status().message();
      continue;
    }
    plan.refs.push_back(std::move(*ref));
  }
  if (!errors.empty()) {
    return Status(
        ErrorCode::kInvalidParameter,
        "ResourceInitializationError: unable to pull secrets or registry auth: " + errors);
  }

  if (local_profile) {
    // The command gets temporary credentials only, as aws-vault gives: the role's when the
    // profile assumes one, else a session token for the profile's long-term keys.
    client::AwsCredentials exported = plan.settings.credentials;
    if (exported.session_token.empty()) {
      COFFER_ASSIGN_OR_RETURN(exported, client::GetSessionToken(plan.settings, 3600));
    }
    plan.credentials.emplace_back("AWS_ACCESS_KEY_ID", SecretBytes(exported.access_key_id));
    plan.credentials.emplace_back("AWS_SECRET_ACCESS_KEY", exported.secret_access_key);
    plan.credentials.emplace_back("AWS_SESSION_TOKEN", SecretBytes(exported.session_token));
    if (!exported.expiration.empty()) {
      plan.credentials.emplace_back("AWS_CREDENTIAL_EXPIRATION", SecretBytes(exported.expiration));
    }
    plan.credentials.emplace_back("AWS_REGION", SecretBytes(plan.settings.region));
    plan.credentials.emplace_back("AWS_DEFAULT_REGION", SecretBytes(plan.settings.region));
    plan.credentials.emplace_back(kNestingVariable, SecretBytes(flags.chain.profile));
    // The exported keys must win over the profile in the command's own SDK, whose chain would
    // otherwise try the profile's role again.
    plan.unset = {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"};
    if (auto it = plan.settings.endpoints.find("secretsmanager");
        it != plan.settings.endpoints.end()) {
      plan.credentials.emplace_back("AWS_ENDPOINT_URL", SecretBytes(it->second));
    }
  }
  return plan;
}

// name -> value, in the order the command sees them set: files and `environment`, the
// credentials, then the secrets (a secret wins over a plain variable of the same name).
std::vector<std::pair<std::string, SecretBytes>> Injected(const Plan& plan,
                                                          std::vector<FetchedSecret> fetched) {
  std::vector<std::pair<std::string, SecretBytes>> out;
  auto put = [&](const std::string& name, SecretBytes value) { Set(&out, name, std::move(value)); };
  for (const auto& [name, value] : plan.plain) put(name, SecretBytes(value));
  for (const auto& [name, value] : plan.credentials) put(name, value);
  for (auto& f : fetched) {
    for (const auto& [name, value] : plan.plain) {
      if (name == f.env_name) {
        std::cerr << "coffer: the secret " << name << " replaces the variable of that name\n";
      }
    }
    put(f.env_name, std::move(f.value));
  }
  return out;
}

// The command's environment: coffer's own, less `unset`, with `injected` set over it.
std::vector<std::string> ChildEnvironment(
    const Plan& plan, const std::vector<std::pair<std::string, SecretBytes>>& injected) {
  std::map<std::string, std::string> env;
  for (auto& [k, v] : client::ProcessEnvironment()) env[k] = v;
  for (const auto& name : plan.unset) env.erase(name);
  for (const auto& [name, value] : injected) env[name] = std::string(value.Reveal());
  std::vector<std::string> out;
  for (auto& [k, v] : env) {
    out.push_back(k + "=" + v);
    OPENSSL_cleanse(v.data(), v.size());
  }
  return out;
}

void Wipe(std::vector<std::string>* env) {
  for (auto& e : *env) OPENSSL_cleanse(e.data(), e.size());
}

[[noreturn]] void ExecCommand(const std::vector<std::string>& command,
                              std::vector<std::string> env) {
  std::vector<char*> argv, envp;
  std::vector<std::string> args = command;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  execvpe(argv[0], argv.data(), envp.data());
  const int error = errno;
  Wipe(&env);
  std::cerr << "coffer: cannot run " << command[0] << ": " << std::strerror(error) << "\n";
  _exit(error == ENOENT ? kNotFound : kCannotRun);
}

volatile sig_atomic_t g_forwarded_signal = 0;
void RememberSignal(int signal) { g_forwarded_signal = signal; }

int SignalNumber(const std::string& name) {
  static const std::map<std::string, int> kSignals = {{"TERM", SIGTERM}, {"INT", SIGINT},
                                                      {"HUP", SIGHUP},   {"QUIT", SIGQUIT},
                                                      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};
  std::string bare = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  auto it = kSignals.find(bare);
  return it == kSignals.end() ? 0 : it->second;
}

int ExitStatusOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs the command as a child and restarts it whenever a secret it was given moves to another
// version; forwards TERM, INT and HUP to it; exits as it exits.
int Supervise(const WorkloadFlags& flags, const Plan& plan, std::vector<FetchedSecret> fetched) {
  const int stop_signal = SignalNumber(flags.restart_signal);
  if (stop_signal == 0)
    return Failure(2, "--restart-signal: unknown signal " + flags.restart_signal);
  const int reload_signal = flags.reload_signal.empty() ? 0 : SignalNumber(flags.reload_signal);
  if (!flags.reload_signal.empty() && reload_signal == 0) {
    return Failure(2, "--reload-signal: unknown signal " + flags.reload_signal);
  }
  struct sigaction action = {};
  action.sa_handler = RememberSignal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaction(s, &action, nullptr);
  client::AwsClient aws(plan.settings);

  auto start = [&](std::vector<FetchedSecret> secrets) -> pid_t {
    std::vector<std::string> env = ChildEnvironment(plan, Injected(plan, std::move(secrets)));
    pid_t pid = fork();
    if (pid == 0) {
      struct sigaction restore = {};
      restore.sa_handler = SIG_DFL;
      for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaction(s, &restore, nullptr);
      ExecCommand(flags.command, std::move(env));
    }
    Wipe(&env);
    return pid;
  };
  std::vector<FetchedSecret> watched;
  for (const auto& f : fetched) watched.push_back({f.env_name, SecretBytes(), f.version});
  pid_t child = start(std::move(fetched));
  if (child < 0) return Failure(kCannotRun, "cannot start a process");
  auto next_poll = std::chrono::steady_clock::now() + std::chrono::seconds(flags.poll_seconds);
  for (;;) {
    int status = 0;
    if (waitpid(child, &status, WNOHANG) == child) return ExitStatusOf(status);
    if (int s = g_forwarded_signal; s != 0) {
      g_forwarded_signal = 0;
      kill(child, s);
    }
    if (std::chrono::steady_clock::now() < next_poll) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    next_poll = std::chrono::steady_clock::now() + std::chrono::seconds(flags.poll_seconds);
    auto moved = client::SecretsMoved(aws, plan.refs, watched);
    if (!moved.ok()) {
      // The command keeps running on what it has; the next poll tries again.
      std::cerr << "coffer: cannot check the secrets for new versions: " << moved.status().message()
                << "\n";
      continue;
    }
    if (!*moved) continue;
    auto refetched = client::FetchSecrets(aws, plan.refs);
    if (!refetched.ok()) {
      std::cerr << "coffer: a secret moved, but cannot be fetched; the command keeps its "
                   "values: "
                << refetched.status().message() << "\n";
      continue;
    }
    watched.clear();
    for (const auto& f : *refetched) watched.push_back({f.env_name, SecretBytes(), f.version});
    if (reload_signal != 0) {
      // The command re-reads its secrets itself (through coffer agent, say): told, not
      // restarted; its environment stays what it started with.
      std::cerr << "coffer: a secret moved to a new version; signalling " << flags.command[0]
                << "\n";
      kill(child, reload_signal);
      continue;
    }
    std::cerr << "coffer: a secret moved to a new version; restarting " << flags.command[0] << "\n";
    kill(child, stop_signal);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(flags.stop_timeout_seconds);
    bool stopped = false;
    while (!stopped) {
      if (waitpid(child, &status, WNOHANG) == child) {
        stopped = true;
      } else if (std::chrono::steady_clock::now() > deadline) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        stopped = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    child = start(std::move(*refetched));
    if (child < 0) return Failure(kCannotRun, "cannot start a process");
  }
}

std::string ShellQuote(std::string_view value) {
  std::string out = "'";
  for (char c : value) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

int PrintEnvironment(const WorkloadFlags& flags,
                     const std::vector<std::pair<std::string, SecretBytes>>& injected) {
  std::string text;
  if (flags.format == "json") {
    json::object o;
    for (const auto& [name, value] : injected) o[name] = value.Reveal();
    text = json::serialize(o) + "\n";
    for (auto& item : o) {
      OPENSSL_cleanse(item.value().get_string().data(), item.value().get_string().size());
    }
  } else if (flags.format == "shell") {
    for (const auto& [name, value] : injected) {
      text += "export " + name + "=" + ShellQuote(value.Reveal()) + "\n";
    }
  } else {
    // ECS's environment file rules: no quoting, so a value cannot span lines.
    text =
        "# Written by coffer env. This file holds secrets: keep it out of version control "
        "and readable by you alone.\n";
    for (const auto& [name, value] : injected) {
      if (value.Reveal().find('\n') != std::string_view::npos) {
        OPENSSL_cleanse(text.data(), text.size());
        return Failure(1, "the value of " + name +
                              " spans lines, which an environment file cannot hold; use "
                              "--format json or shell");
      }
      text += name + "=" + std::string(value.Reveal()) + "\n";
    }
  }
  int status = 0;
  if (flags.output.empty()) {
    std::cout << text << std::flush;
  } else {
    // Created private, and made private if it existed.
    int fd = open(flags.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0 ||
        write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        fsync(fd) != 0) {
      status = Failure(1, "cannot write " + flags.output + ": " + std::strerror(errno));
    }
    if (fd >= 0) close(fd);
  }
  OPENSSL_cleanse(text.data(), text.size());
  return status;
}

void AddInputs(CLI::App* sub, WorkloadFlags& f) {
  sub->add_option("--task-definition", f.task_definition,
                  "An ECS task definition (JSON, as registered or described) or a "
                  "CloudFormation template (JSON, as `cdk synth` writes it)");
  sub->add_option("--container", f.container, "The container whose secrets to resolve");
  sub->add_option("--secret", f.secrets,
                  "NAME=VALUEFROM: a secret as a container definition's `secrets` gives it "
                  "(repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--env-file", f.env_files,
                  "An environment file (VARIABLE=VALUE lines); replaces the definition's "
                  "(repeatable; the first to set a variable wins)")
      ->allow_extra_args(false);
  sub->add_option("--profile", f.chain.profile,
                  "A profile of the AWS config files; its temporary credentials are exported to "
                  "the command as aws-vault exports them");
  sub->add_option("--role-arn", f.chain.role_arn,
                  "Resolve as this role (the task execution role), assumed with the chain's "
                  "credentials");
  sub->add_option("--region", f.chain.region, "The region (default: the AWS chain's)");
  sub->add_option("--endpoint-url", f.chain.endpoint_url,
                  "The server (default: AWS_ENDPOINT_URL, the profile's endpoint_url, else AWS)");
}

}  // namespace

void AddWorkloadCommands(CLI::App& app, WorkloadCommands& commands) {
  WorkloadFlags& f = commands.flags;
  commands.exec = app.add_subcommand(
      "exec",
      "Run a command with the secrets a task definition (or --secret) names in its environment, "
      "resolved as ECS resolves them: all or nothing.");
  AddInputs(commands.exec, f);
  commands.exec->add_flag("--restart-on-rotation", f.restart_on_rotation,
                          "Restart the command when a secret it was given moves to a new version");
  commands.exec
      ->add_option("--poll-interval", f.poll_seconds,
                   "Seconds between checks for new versions (default 30)")
      ->check(CLI::Range(1, 86400));
  commands.exec->add_option("--reload-signal", f.reload_signal,
                            "With --restart-on-rotation: send this signal (e.g. HUP) instead of "
                            "restarting, for a command that re-reads its secrets itself");
  commands.exec->add_option("--restart-signal", f.restart_signal,
                            "The signal that stops the command for a restart (default TERM)");
  commands.exec
      ->add_option("--stop-timeout", f.stop_timeout_seconds,
                   "Seconds to wait for it to stop before SIGKILL (default 10)")
      ->check(CLI::Range(0, 3600));
  // Everything after "--" is the command, its own flags included.
  commands.exec->prefix_command();
  commands.exec->footer("Usage: coffer exec [OPTIONS] -- COMMAND [ARGS...]");
  commands.env =
      app.add_subcommand("env", "Print what `coffer exec` would add to a command's environment.");
  AddInputs(commands.env, f);
  commands.env->add_option("--format", f.format, "dotenv (default), json or shell")
      ->check(CLI::IsMember({"dotenv", "json", "shell"}));
  commands.env->add_option("--output", f.output, "Write to this file, with mode 0600");
  commands.agent = AddAgentCommand(app, commands.agent_flags);
}

int TakeCommandAfterDashes(int argc, char** argv, WorkloadCommands& commands) {
  if (argc < 2 || std::string_view(argv[1]) != "exec") return argc;
  for (int i = 2; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--") continue;
    commands.flags.command.assign(argv + i + 1, argv + argc);
    return i;
  }
  return argc;
}

int RunWorkloadCommand(const WorkloadCommands& commands) {
  if (commands.agent->parsed()) return RunAgent(commands.agent_flags);
  const bool exec = commands.exec->parsed();
  if (!exec && !commands.env->parsed()) return -1;
  WorkloadFlags flags = commands.flags;
  if (exec) {
    if (flags.command.empty()) flags.command = commands.exec->remaining();
    if (flags.command.empty()) return Failure(2, "exec: give the command after --");
  }
  auto plan = MakePlan(flags, client::ProcessEnvironment());
  if (!plan.ok()) return Failure(kResolveFailed, plan.status().message());
  client::AwsClient aws(plan->settings);
  auto fetched = client::FetchSecrets(aws, plan->refs);
  if (!fetched.ok()) return Failure(kResolveFailed, fetched.status().message());
  if (!exec) return PrintEnvironment(flags, Injected(*plan, std::move(*fetched)));
  if (flags.restart_on_rotation) return Supervise(flags, *plan, std::move(*fetched));
  ExecCommand(flags.command, ChildEnvironment(*plan, Injected(*plan, std::move(*fetched))));
}

}  // namespace coffer::cli
