#include "cli/operator_commands.h"

#include <termios.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "auth/sigv4.h"
#include "client/credential_chain.h"
#include "core/clock.h"
#include "core/time_format.h"
#include "net/http_client.h"
#include "server/bootstrap.h"
#include "server/data_dir.h"
#include "store/sqlite/sqlite_store.h"

namespace coffer::cli {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

void TrimLineEnd(std::string* s) {
  while (!s->empty() && (s->back() == '\n' || s->back() == '\r')) s->pop_back();
}

}  // namespace

int Fail(const std::string& message) {
  std::cerr << "coffer: " << message << "\n";
  return 1;
}

Result<SecretBytes> ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status(ErrorCode::kInvalidParameter, "cannot read " + path);
  std::string line;
  std::getline(in, line);
  TrimLineEnd(&line);
  SecretBytes out(line);
  OPENSSL_cleanse(line.data(), line.size());
  return out;
}

namespace {

// A line from stdin; without echo when stdin is a terminal.
Result<SecretBytes> ReadStdinLine(const std::string& prompt) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    std::cerr << prompt << std::flush;
    ::tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  bool got = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    std::cerr << "\n";
  }
  if (!got) return Status(ErrorCode::kInvalidParameter, "nothing to read on standard input");
  TrimLineEnd(&line);
  SecretBytes out(line);
  OPENSSL_cleanse(line.data(), line.size());
  return out;
}

struct Reply {
  int status = 0;
  std::string body;
};

Result<Reply> Call(const RemoteFlags& flags, http::verb method, const std::string& path,
                   const std::string& body, bool sign) {
  COFFER_ASSIGN_OR_RETURN(
      net::Url url, net::ParseUrl(flags.endpoint.empty()
                                      ? Env("COFFER_ENDPOINT").value_or("http://127.0.0.1:4600")
                                      : flags.endpoint));
  net::HttpCall call;
  call.method = std::string(http::to_string(method));
  call.target = path;
  call.body = body;
  // Backup parts are the largest answers: 4 MiB, base64-encoded in JSON.
  call.max_response_bytes = 8 << 20;
  call.ca_bundle = !flags.ca_bundle.empty() ? flags.ca_bundle : Env("AWS_CA_BUNDLE").value_or("");
  if (!body.empty() || method == http::verb::post) {
    call.headers.emplace_back("content-type", "application/json");
  }
  if (sign) {
    std::string key_id, secret, token;
    if (!flags.profile.empty()) {
      // The profile's keys in the shared credentials file, read as the SDKs read it.
      std::ifstream in(Env("AWS_SHARED_CREDENTIALS_FILE")
                           .value_or(Env("HOME").value_or("") + "/.aws/credentials"));
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto sections = client::ParseProfileFile(text, false);
      OPENSSL_cleanse(text.data(), text.size());
      if (auto it = sections.find(flags.profile); it != sections.end()) {
        key_id = it->second["aws_access_key_id"];
        secret = it->second["aws_secret_access_key"];
        token = it->second["aws_session_token"];
        for (auto& [k, v] : it->second) OPENSSL_cleanse(v.data(), v.size());
      }
    } else {
      key_id = Env("AWS_ACCESS_KEY_ID").value_or("");
      secret = Env("AWS_SECRET_ACCESS_KEY").value_or("");
      token = Env("AWS_SESSION_TOKEN").value_or("");
    }
    if (key_id.empty() || secret.empty()) {
      return Status(ErrorCode::kInvalidParameter,
                    "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give "
                    "--profile");
    }
    const std::string amz_date = FormatAmzDate(SystemClock().NowMillis());
    std::vector<std::pair<std::string, std::string>> headers = {{"host", url.host_header},
                                                                {"x-amz-date", amz_date}};
    for (const auto& [k, v] : call.headers) {
      if (k == "content-type") headers.emplace_back(k, v);  // signed, as the SDKs do
    }
    if (!token.empty()) headers.emplace_back("x-amz-security-token", token);
    call.headers.emplace_back("x-amz-date", amz_date);
    if (!token.empty()) call.headers.emplace_back("x-amz-security-token", token);
    call.headers.emplace_back("authorization",
                              SignRequest(call.method, path, headers, call.body, key_id, secret,
                                          amz_date, flags.region, "coffer"));
    OPENSSL_cleanse(secret.data(), secret.size());
  }
  auto reply = net::Send(url, call);
  if (!reply.ok()) {
    return Status(ErrorCode::kInternalFailure,
                  "cannot reach the server: " + reply.status().message());
  }
  return Reply{reply->status, std::move(reply->body)};
}

// The error message of an AWS-shaped JSON error body, or the body itself.
std::string ErrorText(const Reply& reply) {
  boost::system::error_code ec;
  json::value v = json::parse(reply.body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    std::string out;
    if (auto* t = o.if_contains("__type"); t && t->is_string()) out = t->get_string().c_str();
    if (auto* m = o.if_contains("message"); m && m->is_string()) {
      out += (out.empty() ? "" : ": ") + std::string(m->get_string().c_str());
    }
    if (!out.empty()) return out;
  }
  return "HTTP " + std::to_string(reply.status) + " " + reply.body;
}

// Calls an operator endpoint that answers a JSON object; the raw reply (which may hold shares
// or keys) is wiped once parsed. Errors: the call's, or the server's error text.
}  // namespace

Result<json::object> CallForObject(const RemoteFlags& flags, http::verb method,
                                   const std::string& path, const std::string& body, bool sign) {
  COFFER_ASSIGN_OR_RETURN(Reply reply, Call(flags, method, path, body, sign));
  if (reply.status != 200) return Status(ErrorCode::kInternalFailure, ErrorText(reply));
  boost::system::error_code ec;
  json::value v = json::parse(reply.body, ec);
  OPENSSL_cleanse(reply.body.data(), reply.body.size());
  if (ec || !v.is_object())
    return Status(ErrorCode::kInternalFailure, "unexpected reply from the server");
  return std::move(v.get_object());
}

bool PassphraseGivenWithoutPrompt(const std::string& file) {
  return !file.empty() || Env("COFFER_PASSPHRASE").has_value();
}

Result<SecretBytes> ReadPassphrase(const std::string& file, bool confirm) {
  SecretBytes passphrase;
  if (!file.empty()) {
    COFFER_ASSIGN_OR_RETURN(passphrase, ReadFirstLine(file));
  } else if (auto env = Env("COFFER_PASSPHRASE")) {
    passphrase = SecretBytes(*env);
  } else if (::isatty(STDIN_FILENO) == 1) {
    COFFER_ASSIGN_OR_RETURN(passphrase, ReadStdinLine("Passphrase: "));
    if (confirm) {
      COFFER_ASSIGN_OR_RETURN(SecretBytes again, ReadStdinLine("Passphrase again: "));
      if (again.Reveal() != passphrase.Reveal()) {
        return Status(ErrorCode::kInvalidParameter, "the passphrases differ");
      }
    }
  } else {
    return Status(ErrorCode::kInvalidParameter,
                  "no passphrase: give --passphrase-file, set COFFER_PASSPHRASE, or run on a "
                  "terminal to be prompted");
  }
  if (passphrase.empty()) return Status(ErrorCode::kInvalidParameter, "the passphrase is empty");
  return passphrase;
}

int RunCheck(const std::string& data_dir) {
  auto contents = InspectDataDir(data_dir);
  if (!contents.ok()) return Fail(contents.status().message());
  bool damaged = false;
  auto wal = ScanWal(data_dir + "/" + kWalFile);
  if (!wal.ok()) return Fail(wal.status().message());
  const bool wal_damaged =
      wal->lost_acknowledged() > 0 || (wal->bad_header && wal->dropped_commits > 0);
  std::cout << kWalFile << ": " << wal->Describe() << (wal_damaged ? " (DAMAGED)" : "") << "\n";
  damaged |= wal_damaged;
  if (!contents->store) {
    std::cout << kStoreFile << ": missing or empty"
              << (contents->root_key || contents->wal ? " (DAMAGED: its key material is here)" : "")
              << "\n";
    damaged |= contents->root_key || contents->wal;
  } else if (wal_damaged) {
    // Opening the database would recover the log, dropping the damaged part for good.
    std::cout << kStoreFile
              << ": not opened, so the damaged log stays as it is for a restore or inspection\n";
  } else {
    auto problems = CheckSqliteIntegrity(data_dir + "/" + kStoreFile);
    if (!problems.ok()) return Fail(problems.status().message());
    if (problems->empty()) {
      std::cout << kStoreFile << ": integrity ok\n";
    } else {
      damaged = true;
      std::cout << kStoreFile << ": " << problems->size() << " problem(s) (DAMAGED)\n";
      for (const auto& p : *problems) std::cout << "  " << p << "\n";
    }
  }
  std::cout << (damaged ? "coffer: the data directory is damaged; restore it from a backup\n"
                        : "coffer: the data directory is sound\n");
  return damaged ? 1 : 0;
}

int RunInit(const InitFlags& flags) {
  BootstrapOptions boot;
  boot.data_dir = flags.data_dir;
  boot.must_be_new = true;
  if (!flags.account_id.empty()) boot.account_id = flags.account_id;
  boot.root_key_id = Env("COFFER_ROOT_ACCESS_KEY_ID");
  if (auto s = Env("COFFER_ROOT_SECRET_ACCESS_KEY")) boot.root_secret = SecretBytes(*s);
  auto type = ParseSealType(flags.seal);
  if (!type.ok()) return Fail(type.status().message());
  boot.seal.type = *type;
  boot.seal.shares = flags.key_shares;
  boot.seal.threshold = flags.key_threshold;
  if (*type == SealType::kShamir &&
      (flags.key_threshold < 1 || flags.key_threshold > flags.key_shares ||
       flags.key_shares > 255)) {
    return Fail("--key-threshold must be between 1 and --key-shares, which is at most 255");
  }
  if (*type == SealType::kPassphrase) {
    auto passphrase = ReadPassphrase(flags.passphrase_file, /*confirm=*/true);
    if (!passphrase.ok()) return Fail(passphrase.status().message());
    boot.seal.passphrase = std::move(passphrase.value());
  }
  SystemClock clock;
  auto d = OpenDeployment(boot, &clock);
  if (!d.ok()) return Fail(d.status().message());
  std::cout << "coffer: initialized " << flags.data_dir << " for account " << d->account_id
            << ", seal " << flags.seal;
  if (*type == SealType::kShamir) {
    std::cout << " (" << flags.key_threshold << " of " << flags.key_shares << " shares unseal)";
  }
  std::cout << "\n";
  for (size_t i = 0; i < d->shares.size(); ++i) {
    std::cout << "Unseal share " << (i + 1) << ": " << d->shares[i] << "\n";
    OPENSSL_cleanse(d->shares[i].data(), d->shares[i].size());
  }
  if (!d->generated_key_id.empty()) {
    std::cout << "Root access key id: " << d->generated_key_id << "\n"
              << "Root secret access key: " << d->generated_secret.Reveal() << "\n";
  }
  if (!d->credentials_file.empty()) {
    std::cout << "coffer: the account's root access key is in " << d->credentials_file
              << " (profile 'coffer')\n";
  }
  if (*type == SealType::kShamir) {
    std::cout << "coffer: the shares are shown once and stored nowhere. Give each to a different "
                 "operator; any "
              << flags.key_threshold << " of them unseal the server.\n";
  }
  std::cout << std::flush;
  return 0;
}

int RunStatus(const RemoteFlags& flags) {
  auto reply = Call(flags, http::verb::get, "/coffer/seal-status", "", false);
  if (!reply.ok()) return Fail(reply.status().message());
  if (reply->status != 200) return Fail(ErrorText(*reply));
  boost::system::error_code ec;
  json::value v = json::parse(reply->body, ec);
  if (ec || !v.is_object()) return Fail("unexpected reply: " + reply->body);
  json::object& status = v.get_object();
  const auto* sealed = status.if_contains("Sealed");
  const bool is_sealed = sealed != nullptr && sealed->is_bool() && sealed->get_bool();
  // The seal status is anyone's (as Vault's sys/seal-status); which nodes serve the store, and
  // which of them are sealed, only the operator's. Each node is unsealed on its own, and a sealed
  // node cannot check a signature, so an unsealed node answers for all of them. Without the
  // operator's credentials the status is this node's alone.
  if (!is_sealed) {
    auto nodes = Call(flags, http::verb::get, "/coffer/nodes", "", true);
    if (nodes.ok() && nodes->status == 200) {
      json::value listed = json::parse(nodes->body, ec);
      if (!ec && listed.is_object()) {
        if (auto* n = listed.get_object().if_contains("Nodes"); n && n->is_array()) {
          status["Nodes"] = *n;
        }
      }
    }
  }
  std::cout << json::serialize(status) << std::endl;
  return is_sealed ? 2 : 0;
}

int RunUnseal(const RemoteFlags& flags) {
  auto status = Call(flags, http::verb::get, "/coffer/seal-status", "", false);
  if (!status.ok()) return Fail(status.status().message());
  if (status->status != 200) return Fail(ErrorText(*status));
  boost::system::error_code ec;
  json::value current = json::parse(status->body, ec);
  if (ec || !current.is_object()) return Fail("unexpected reply: " + status->body);
  const std::string type = json::value_to<std::string>(current.at("Type"));

  json::object request;
  if (!flags.nonce.empty()) request["Nonce"] = flags.nonce;
  if (flags.reset) {
    request["Reset"] = true;
    if (!flags.share_file.empty()) {
      // A share of this seal also proves the caller takes part in the unseal.
      auto share = ReadFirstLine(flags.share_file);
      if (!share.ok()) return Fail(share.status().message());
      request["Share"] = share->Reveal();
    }
  } else if (type == "passphrase") {
    auto passphrase = flags.passphrase_file.empty() ? ReadStdinLine("Passphrase: ")
                                                    : ReadFirstLine(flags.passphrase_file);
    if (!passphrase.ok()) return Fail(passphrase.status().message());
    request["Passphrase"] = passphrase->Reveal();
  } else if (type == "shamir") {
    auto share = flags.share_file.empty() ? ReadStdinLine("Unseal share: ")
                                          : ReadFirstLine(flags.share_file);
    if (!share.ok()) return Fail(share.status().message());
    request["Share"] = share->Reveal();
  } else {
    return Fail("this server uses the file seal; it unseals itself at start");
  }
  std::string body = json::serialize(request);
  for (auto& [k, v] : request) {
    if (v.is_string()) OPENSSL_cleanse(v.get_string().data(), v.get_string().size());
  }
  auto reply = Call(flags, http::verb::post, "/coffer/unseal", body, false);
  OPENSSL_cleanse(body.data(), body.size());
  if (!reply.ok()) return Fail(reply.status().message());
  if (reply->status != 200) return Fail(ErrorText(*reply));
  json::value after = json::parse(reply->body, ec);
  if (ec || !after.is_object()) return Fail("unexpected reply: " + reply->body);
  const auto& o = after.get_object();
  if (!o.at("Sealed").as_bool()) {
    std::cout << "coffer: unsealed" << std::endl;
  } else {
    std::cout << "coffer: sealed, " << o.at("Progress").as_int64() << " of "
              << o.at("Threshold").as_int64() << " shares received" << std::endl;
    if (const auto* nonce = o.if_contains("Nonce"); nonce && nonce->is_string()) {
      // Only those who hold it (or a share) can reset this unseal.
      std::cout << "coffer: unseal nonce " << nonce->get_string().c_str()
                << " (resets need it: --reset --nonce; a share of another attempt is refused)"
                << std::endl;
    }
  }
  return 0;
}

int RunRekey(const RemoteFlags& flags, const InitFlags& seal) {
  auto type = ParseSealType(seal.seal);
  if (!type.ok()) return Fail(type.status().message());
  json::object body{{"Seal", seal.seal}};
  if (*type == SealType::kShamir) {
    body["Shares"] = seal.key_shares;
    body["Threshold"] = seal.key_threshold;
  }
  if (*type == SealType::kPassphrase) {
    auto passphrase = ReadPassphrase(seal.passphrase_file, /*confirm=*/true);
    if (!passphrase.ok()) return Fail(passphrase.status().message());
    body["Passphrase"] = passphrase->Reveal();
  }
  std::string text = json::serialize(body);
  if (auto* p = body.if_contains("Passphrase")) {
    OPENSSL_cleanse(p->get_string().data(), p->get_string().size());
  }
  auto v = CallForObject(flags, http::verb::post, "/coffer/rekey", text, true);
  OPENSSL_cleanse(text.data(), text.size());
  if (!v.ok()) return Fail(v.status().message());
  std::cout << "coffer: re-keyed; seal " << seal.seal
            << ". The previous shares, passphrase or root.key no longer unseal it.\n";
  int i = 0;
  for (auto& share : v->at("Shares").as_array()) {
    std::cout << "Unseal share " << ++i << ": " << share.as_string().c_str() << "\n";
    OPENSSL_cleanse(share.as_string().data(), share.as_string().size());
  }
  if (*type == SealType::kShamir) {
    std::cout << "coffer: the shares are shown once and stored nowhere; any " << seal.key_threshold
              << " of them unseal the server.\n";
  }
  std::cout << std::flush;
  return 0;
}

int RunSeal(const RemoteFlags& flags) {
  auto reply = Call(flags, http::verb::post, "/coffer/seal", "{}", true);
  if (!reply.ok()) return Fail(reply.status().message());
  if (reply->status != 200) return Fail(ErrorText(*reply));
  std::cout << "coffer: sealed" << std::endl;
  return 0;
}

int RunRotateRoot(const RemoteFlags& flags) {
  auto v = CallForObject(flags, http::verb::post, "/coffer/rotate-root", "{}", true);
  if (!v.ok()) return Fail(v.status().message());
  std::cout << "coffer: root key rotated (generation " << v->at("RootKeyGeneration").as_int64()
            << ", " << v->at("RewrappedKeyMaterials").as_int64() << " key materials re-wrapped)"
            << std::endl;
  return 0;
}

int RunCreateAccount(const RemoteFlags& flags, const std::string& account_id) {
  json::object body;
  if (!account_id.empty()) body["AccountId"] = account_id;
  auto v = CallForObject(flags, http::verb::post, "/coffer/accounts", json::serialize(body), true);
  if (!v.ok()) return Fail(v.status().message());
  std::cout << "coffer: created account " << json::value_to<std::string>(v->at("AccountId"))
            << "\nRoot access key id: " << json::value_to<std::string>(v->at("AccessKeyId"))
            << "\nRoot secret access key: " << json::value_to<std::string>(v->at("SecretAccessKey"))
            << std::endl;
  return 0;
}

int RunEvents(const RemoteFlags& flags, int64_t after) {
  auto reply =
      Call(flags, http::verb::get, "/coffer/events?after=" + std::to_string(after), "", true);
  if (!reply.ok()) return Fail(reply.status().message());
  if (reply->status != 200) return Fail(ErrorText(*reply));
  std::cout << reply->body << std::endl;
  return 0;
}

int PrintOperatorCall(const RemoteFlags& flags, const std::string& method, const std::string& path,
                      const std::string& body) {
  auto reply = Call(flags, method == "POST" ? http::verb::post : http::verb::get, path, body, true);
  if (!reply.ok()) return Fail(reply.status().message());
  if (reply->status != 200) return Fail(ErrorText(*reply));
  std::cout << reply->body << std::endl;
  return 0;
}

int RunRegisterFunction(const RemoteFlags& flags, const FunctionFlags& function) {
  json::object body{{"Name", function.name}};
  if (function.remove) {
    body["Delete"] = true;
    if (!function.account.empty()) body["Account"] = function.account;
  } else {
    body["Kind"] = function.kind;
    if (!function.command.empty()) {
      json::array command;
      for (const auto& a : function.command) command.push_back(json::string(a));
      body["Command"] = std::move(command);
    }
    if (!function.builtin.empty()) body["Builtin"] = function.builtin;
    if (!function.url.empty()) body["Url"] = function.url;
    if (!function.role_arn.empty()) body["RoleArn"] = function.role_arn;
    if (!function.account.empty()) body["Account"] = function.account;
    body["TimeoutSeconds"] = function.timeout_seconds;
    json::object env;
    for (const auto& kv : function.environment) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) return Fail("--env takes NAME=VALUE, got " + kv);
      env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (!env.empty()) body["Environment"] = std::move(env);
  }
  auto v = CallForObject(flags, http::verb::post, "/coffer/functions", json::serialize(body), true);
  if (!v.ok()) return Fail(v.status().message());
  std::cout << "coffer: " << (function.remove ? "removed" : "registered") << " rotation function "
            << json::value_to<std::string>(v->at("FunctionArn")) << "\n";
  if (const auto* key = v->if_contains("SigningKey")) {
    // Shown once: the receiver verifies X-Coffer-Signature with it.
    std::cout << "Signing key: " << json::value_to<std::string>(*key) << "\n";
  }
  std::cout << std::flush;
  return 0;
}

}  // namespace coffer::cli
