#include "client/credential_chain.h"

#include <openssl/crypto.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

namespace coffer::client {

namespace json = boost::json;

namespace {

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string EnvOr(const Environment& env, const std::string& name, std::string fallback = "") {
  auto it = env.find(name);
  return it == env.end() || it->second.empty() ? fallback : it->second;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status Invalid(std::string message) {
  return Status(ErrorCode::kInvalidParameter, std::move(message));
}

Status FromFailure(const std::string& what, const CallFailure& failure) {
  return Status(ErrorCode::kInvalidParameter, what + ": " + failure.Text());
}

// The shared files, both parsed, and one profile's settings merged: the credentials file's keys
// win over the config file's, as in the SDKs.
struct SharedFiles {
  ProfileSections config, credentials;

  std::optional<std::map<std::string, std::string>> Profile(const std::string& name) const {
    auto c = config.find(name);
    auto k = credentials.find(name);
    if (c == config.end() && k == credentials.end()) return std::nullopt;
    std::map<std::string, std::string> merged;
    if (c != config.end()) merged = c->second;
    if (k != credentials.end()) {
      for (const auto& [key, value] : k->second) merged[key] = value;
    }
    return merged;
  }
};

SharedFiles LoadSharedFiles(const Environment& env) {
  const std::string home = EnvOr(env, "HOME");
  SharedFiles files;
  std::string config = ReadFile(EnvOr(env, "AWS_CONFIG_FILE", home + "/.aws/config"));
  std::string credentials =
      ReadFile(EnvOr(env, "AWS_SHARED_CREDENTIALS_FILE", home + "/.aws/credentials"));
  files.config = ParseProfileFile(config, true);
  files.credentials = ParseProfileFile(credentials, false);
  OPENSSL_cleanse(credentials.data(), credentials.size());
  OPENSSL_cleanse(config.data(), config.size());
  return files;
}

// Splits a credential_process command line as the SDKs do: on spaces, with double quotes
// grouping. No shell is involved.
std::vector<std::string> SplitCommandLine(std::string_view line) {
  std::vector<std::string> args;
  std::string current;
  bool quoted = false, have = false;
  for (char c : line) {
    if (c == '"') {
      quoted = !quoted;
      have = true;
    } else if ((c == ' ' || c == '\t') && !quoted) {
      if (have) args.push_back(std::move(current));
      current.clear();
      have = false;
    } else {
      current += c;
      have = true;
    }
  }
  if (have) args.push_back(std::move(current));
  return args;
}

// https://docs.aws.amazon.com/sdkref/latest/guide/feature-process-credentials.html
Result<AwsCredentials> RunCredentialProcess(const std::string& profile,
                                            const std::string& command_line) {
  std::vector<std::string> args = SplitCommandLine(command_line);
  if (args.empty()) return Invalid("profile " + profile + ": credential_process is empty");
  int out[2];
  if (pipe(out) != 0) return Invalid("credential_process: cannot create a pipe");
  pid_t pid = fork();
  if (pid < 0) return Invalid("credential_process: cannot start a process");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string output;
  char buffer[4096];
  for (ssize_t n; (n = read(out[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (output.size() < (1 << 20)) output.append(buffer, n);
  }
  close(out[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  OPENSSL_cleanse(buffer, sizeof buffer);
  auto fail = [&](const std::string& why) {
    OPENSSL_cleanse(output.data(), output.size());
    return Invalid("profile " + profile + ": credential_process " + args[0] + " " + why);
  };
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail("failed (exit status " +
                std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                ")");
  }
  boost::system::error_code ec;
  json::value v = json::parse(output, ec);
  OPENSSL_cleanse(output.data(), output.size());
  if (ec || !v.is_object()) return fail("did not print a JSON object");
  const auto& o = v.get_object();
  auto text = [&](const char* key) -> std::string {
    const auto* f = o.if_contains(key);
    return f && f->is_string() ? std::string(f->get_string()) : std::string();
  };
  const auto* version = o.if_contains("Version");
  if (version == nullptr || !version->is_int64() || version->as_int64() != 1) {
    return fail("printed no \"Version\": 1");
  }
  AwsCredentials creds;
  creds.access_key_id = text("AccessKeyId");
  std::string secret = text("SecretAccessKey");
  creds.secret_access_key = SecretBytes(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  creds.session_token = text("SessionToken");
  creds.expiration = text("Expiration");
  creds.source = "credential_process of profile " + profile;
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return fail("printed no AccessKeyId and SecretAccessKey");
  }
  return creds;
}

std::optional<AwsCredentials> EnvironmentCredentials(const Environment& env) {
  std::string id = EnvOr(env, "AWS_ACCESS_KEY_ID"), secret = EnvOr(env, "AWS_SECRET_ACCESS_KEY");
  if (id.empty() || secret.empty()) return std::nullopt;
  AwsCredentials creds;
  creds.access_key_id = id;
  creds.secret_access_key = SecretBytes(secret);
  creds.session_token = EnvOr(env, "AWS_SESSION_TOKEN", EnvOr(env, "AWS_SECURITY_TOKEN"));
  creds.expiration = EnvOr(env, "AWS_CREDENTIAL_EXPIRATION");
  creds.source = "environment";
  OPENSSL_cleanse(secret.data(), secret.size());
  return creds;
}

struct ProfileResolver {
  const SharedFiles& files;
  const Environment& env;
  ClientSettings base;  // region and endpoints resolved; credentials filled per step

  Result<AwsCredentials> Resolve(const std::string& name, std::set<std::string>* visited) {
    auto profile = files.Profile(name);
    if (!profile) return Invalid("the profile " + name + " could not be found");
    if (!visited->insert(name).second) {
      return Invalid("the profile " + name + " is part of a source_profile cycle");
    }
    auto get = [&](const char* key) {
      auto it = profile->find(key);
      return it == profile->end() ? std::string() : it->second;
    };
    const std::string role_arn = get("role_arn");
    if (!role_arn.empty()) {
      for (const char* unsupported : {"mfa_serial", "web_identity_token_file"}) {
        if (!get(unsupported).empty()) {
          return Invalid("profile " + name + ": " + unsupported + " is not supported");
        }
      }
      AwsCredentials source;
      const std::string source_profile = get("source_profile");
      const std::string credential_source = get("credential_source");
      if (!source_profile.empty()) {
        // A profile may name itself as its source: its own static keys then assume the role.
        if (source_profile == name && !get("aws_access_key_id").empty()) {
          COFFER_ASSIGN_OR_RETURN(source, StaticKeys(name, *profile));
        } else {
          COFFER_ASSIGN_OR_RETURN(source, Resolve(source_profile, visited));
        }
      } else if (credential_source == "Environment") {
        auto from_env = EnvironmentCredentials(env);
        if (!from_env) return Invalid("profile " + name + ": no credentials in the environment");
        source = std::move(*from_env);
      } else if (!credential_source.empty()) {
        return Invalid("profile " + name + ": credential_source " + credential_source +
                       " is not supported (only Environment)");
      } else {
        return Invalid("profile " + name + ": role_arn needs source_profile or credential_source");
      }
      ClientSettings with_source = base;
      with_source.credentials = std::move(source);
      int duration = 3600;
      if (std::string d = get("duration_seconds"); !d.empty()) {
        try {
          duration = std::stoi(d);
        } catch (const std::exception&) {
          return Invalid("profile " + name + ": duration_seconds is not a number");
        }
      }
      std::string session_name = get("role_session_name");
      if (session_name.empty()) {
        session_name =
            "coffer-" + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
      }
      COFFER_ASSIGN_OR_RETURN(
          AwsCredentials assumed,
          AssumeRole(with_source, role_arn, session_name, duration, get("external_id")));
      assumed.source = "role " + role_arn + " of profile " + name;
      return assumed;
    }
    if (!get("aws_access_key_id").empty()) return StaticKeys(name, *profile);
    if (std::string process = get("credential_process"); !process.empty()) {
      return RunCredentialProcess(name, process);
    }
    for (const char* unsupported : {"sso_session", "sso_start_url", "web_identity_token_file"}) {
      if (!get(unsupported).empty()) {
        return Invalid("profile " + name + ": " + unsupported + " is not supported");
      }
    }
    return Invalid("the profile " + name + " holds no credentials");
  }

  static Result<AwsCredentials> StaticKeys(const std::string& name,
                                           const std::map<std::string, std::string>& profile) {
    auto get = [&](const char* key) {
      auto it = profile.find(key);
      return it == profile.end() ? std::string() : it->second;
    };
    AwsCredentials creds;
    creds.access_key_id = get("aws_access_key_id");
    std::string secret = get("aws_secret_access_key");
    if (secret.empty()) {
      return Invalid("profile " + name + ": aws_access_key_id without aws_secret_access_key");
    }
    creds.secret_access_key = SecretBytes(secret);
    OPENSSL_cleanse(secret.data(), secret.size());
    creds.session_token = get("aws_session_token");
    creds.source = "profile " + name;
    return creds;
  }
};

Result<AwsCredentials> CredentialsFromSts(const std::string& action, const std::string& xml) {
  AwsCredentials creds;
  creds.access_key_id = XmlElementText(xml, "AccessKeyId").value_or("");
  std::string secret = XmlElementText(xml, "SecretAccessKey").value_or("");
  creds.secret_access_key = SecretBytes(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  creds.session_token = XmlElementText(xml, "SessionToken").value_or("");
  creds.expiration = XmlElementText(xml, "Expiration").value_or("");
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return Invalid("STS " + action + " answered no credentials");
  }
  return creds;
}

}  // namespace

ProfileSections ParseProfileFile(std::string_view text, bool config_file) {
  ProfileSections sections;
  std::string current;
  bool in_profile = false;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) continue;  // a sub-section value
    std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == ';') continue;
    if (trimmed.front() == '[') {
      size_t end = trimmed.find(']');
      std::string name = Trim(trimmed.substr(1, end == std::string::npos ? end : end - 1));
      in_profile = true;
      if (config_file) {
        if (name.rfind("profile ", 0) == 0) {
          name = Trim(name.substr(8));
        } else if (name != "default") {
          in_profile = false;  // [sso-session x], [services x]
        }
      }
      current = name;
      if (in_profile) sections[current];
      continue;
    }
    size_t eq = trimmed.find('=');
    if (!in_profile || eq == std::string::npos) continue;
    std::string value = Trim(trimmed.substr(eq + 1));
    sections[current][Lower(Trim(trimmed.substr(0, eq)))] = value;
    OPENSSL_cleanse(value.data(), value.size());
    OPENSSL_cleanse(trimmed.data(), trimmed.size());
    OPENSSL_cleanse(line.data(), line.size());
  }
  return sections;
}

std::string SelectedProfile(const ChainOptions& options, const Environment& env) {
  if (!options.profile.empty()) return options.profile;
  return EnvOr(env, "AWS_PROFILE", EnvOr(env, "AWS_DEFAULT_PROFILE", "default"));
}

Result<ClientSettings> ResolveClientSettings(const ChainOptions& options, const Environment& env) {
  SharedFiles files = LoadSharedFiles(env);
  const std::string profile_name = SelectedProfile(options, env);
  const auto profile = files.Profile(profile_name);
  auto profile_value = [&](const char* key) {
    if (!profile) return std::string();
    auto it = profile->find(key);
    return it == profile->end() ? std::string() : it->second;
  };
  ClientSettings settings;
  settings.region =
      !options.region.empty()
          ? options.region
          : EnvOr(env, "AWS_REGION", EnvOr(env, "AWS_DEFAULT_REGION", profile_value("region")));
  if (settings.region.empty()) {
    return Invalid("no region: give --region, set AWS_REGION, or set the profile's region");
  }
  settings.ca_bundle = EnvOr(env, "AWS_CA_BUNDLE", profile_value("ca_bundle"));
  const bool ignore_configured =
      Lower(EnvOr(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                  profile_value("ignore_configured_endpoint_urls"))) == "true";
  // Signing name -> the service's identifier in AWS_ENDPOINT_URL_<ID>.
  static const std::pair<const char*, const char*> kServices[] = {
      {"secretsmanager", "SECRETS_MANAGER"}, {"ssm", "SSM"}, {"sts", "STS"}};
  for (const auto& [service, id] : kServices) {
    std::string url = options.endpoint_url;
    if (url.empty() && !ignore_configured) {
      url = EnvOr(env, std::string("AWS_ENDPOINT_URL_") + id,
                  EnvOr(env, "AWS_ENDPOINT_URL", profile_value("endpoint_url")));
    }
    if (!url.empty()) settings.endpoints[service] = url;
  }

  std::optional<AwsCredentials> from_env;
  if (options.profile.empty()) from_env = EnvironmentCredentials(env);
  if (from_env) {
    settings.credentials = std::move(*from_env);
  } else if (profile) {
    ProfileResolver resolver{files, env, settings};
    std::set<std::string> visited;
    COFFER_ASSIGN_OR_RETURN(settings.credentials, resolver.Resolve(profile_name, &visited));
  } else if (!options.profile.empty() || profile_name != "default") {
    return Invalid("the profile " + profile_name + " could not be found");
  } else {
    return Invalid(
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --profile");
  }
  if (!options.role_arn.empty()) {
    COFFER_ASSIGN_OR_RETURN(AwsCredentials assumed,
                            AssumeRole(settings, options.role_arn, options.role_session_name,
                                       options.duration_seconds));
    assumed.source = "role " + options.role_arn;
    settings.credentials = std::move(assumed);
  }
  return settings;
}

// https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
Result<AwsCredentials> AssumeRole(const ClientSettings& base, const std::string& role_arn,
                                  const std::string& session_name, int duration_seconds,
                                  const std::string& external_id) {
  std::vector<std::pair<std::string, std::string>> params = {
      {"RoleArn", role_arn},
      {"RoleSessionName", session_name},
      {"DurationSeconds", std::to_string(duration_seconds)}};
  if (!external_id.empty()) params.emplace_back("ExternalId", external_id);
  auto reply = AwsClient(base).CallQuery("sts", "AssumeRole", "2011-06-15", params);
  if (!reply.ok()) return FromFailure("cannot assume " + role_arn, reply.failure);
  auto creds = CredentialsFromSts("AssumeRole", *reply.value);
  OPENSSL_cleanse(reply.value->data(), reply.value->size());
  return creds;
}

// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
Result<AwsCredentials> GetSessionToken(const ClientSettings& base, int duration_seconds) {
  auto reply = AwsClient(base).CallQuery("sts", "GetSessionToken", "2011-06-15",
                                         {{"DurationSeconds", std::to_string(duration_seconds)}});
  if (!reply.ok()) return FromFailure("cannot get a session token", reply.failure);
  auto creds = CredentialsFromSts("GetSessionToken", *reply.value);
  OPENSSL_cleanse(reply.value->data(), reply.value->size());
  return creds;
}

}  // namespace coffer::client
