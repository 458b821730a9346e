#include "rotation/postgres_rotators.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "core/secret_bytes.h"

namespace coffer::rotation {
namespace {

namespace json = boost::json;

constexpr std::string_view kCurrent = "AWSCURRENT";
constexpr std::string_view kPending = "AWSPENDING";
constexpr std::string_view kPrevious = "AWSPREVIOUS";
constexpr std::string_view kCloneSuffix = "_clone";
// NAMEDATALEN - 1: PostgreSQL truncates longer identifiers.
constexpr size_t kMaxIdentifierLength = 63;
constexpr std::string_view kRedacted = "*****";

Status ValueError(std::string message) {
  return Status(ErrorCode::kValueError, std::move(message));
}
Status KeyError(std::string message) { return Status(ErrorCode::kKeyError, std::move(message)); }

void Wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}
void Wipe(json::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

// A NUL-terminated copy of a secret for a C API, wiped when it goes out of scope.
class ZeroizingString {
 public:
  explicit ZeroizingString(std::string_view s) : s_(s) {}
  ZeroizingString(const ZeroizingString&) = delete;
  ZeroizingString& operator=(const ZeroizingString&) = delete;
  ~ZeroizingString() { Wipe(s_); }
  const char* c_str() const { return s_.c_str(); }
  std::string_view view() const { return s_; }

 private:
  std::string s_;
};

// Replaces every occurrence of each (non-empty) secret in `message`.
std::string Redact(std::string message, std::initializer_list<std::string_view> secrets) {
  for (std::string_view secret : secrets) {
    if (secret.empty()) continue;
    for (size_t at = message.find(secret); at != std::string::npos;
         at = message.find(secret, at + kRedacted.size())) {
      message.replace(at, secret.size(), kRedacted);
    }
  }
  return message;
}

std::string TrimTrailingSpace(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

void AppendLog(std::string* log, std::string_view line) {
  if (log == nullptr) return;
  log->append(line);
  log->push_back('\n');
}

// How a connection uses TLS, from the secret's "ssl" field (the templates' get_ssl_config).
enum class SslMode {
  kPrefer,      // absent or unrecognised: TLS when the server offers it, else plain
  kVerifyFull,  // true: TLS only, certificate and host name verified
  kDisable,     // false: no TLS
};

SslMode SslModeOf(const json::value* ssl) {
  if (ssl == nullptr) return SslMode::kPrefer;
  if (ssl->is_bool()) return ssl->get_bool() ? SslMode::kVerifyFull : SslMode::kDisable;
  if (ssl->is_string()) {
    std::string v(ssl->get_string());
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (v == "true") return SslMode::kVerifyFull;
    if (v == "false") return SslMode::kDisable;
  }
  return SslMode::kPrefer;
}

// One version of a database secret. The password is held apart from the other fields so that
// nothing but `password` ever holds it.
struct DbSecret {
  json::object fields;  // everything in the secret but "password"
  std::string host;
  int port = 5432;
  std::string username;
  SecretBytes password;
  std::string dbname = "postgres";
  SslMode ssl = SslMode::kPrefer;

  // "host:port", for messages.
  std::string Where() const { return host + ":" + std::to_string(port); }
};

std::optional<int> ParsePort(const json::value& v) {
  int64_t port = -1;
  if (v.is_int64()) {
    port = v.get_int64();
  } else if (v.is_uint64()) {
    port = v.get_uint64() > 65535 ? -1 : static_cast<int64_t>(v.get_uint64());
  } else if (v.is_double()) {
    double d = v.get_double();
    if (d >= 1 && d <= 65535 && d == static_cast<double>(static_cast<int64_t>(d))) {
      port = static_cast<int64_t>(d);
    }
  } else if (v.is_string()) {
    std::string_view s = v.get_string();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    if (ec != std::errc() || end != s.data() + s.size()) port = -1;
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<int>(port);
}

// Parses and validates a secret's JSON as the templates' get_secret_dict does. Wipes `text`.
Result<DbSecret> ParseDbSecret(json::string& text, std::string_view described_as) {
  json::error_code ec;
  json::value parsed = json::parse(std::string_view(text), ec);
  Wipe(text);
  if (ec || !parsed.is_object()) {
    return ValueError("The " + std::string(described_as) + " is not a JSON object.");
  }
  DbSecret secret;
  secret.fields = std::move(parsed.get_object());
  json::object& f = secret.fields;
  json::value* password = f.if_contains("password");
  const bool has_password = password != nullptr;
  const bool password_is_string = has_password && password->is_string();
  if (password_is_string) {
    secret.password = SecretBytes(std::string_view(password->get_string()));
    Wipe(password->get_string());
  }
  f.erase("password");
  for (std::string_view field : {"host", "username", "engine"}) {
    if (!f.contains(field)) {
      return KeyError(std::string(field) + " key is missing from the " + std::string(described_as) +
                      " JSON");
    }
  }
  if (!has_password) {
    return KeyError("password key is missing from the " + std::string(described_as) + " JSON");
  }
  const json::string* engine = f.at("engine").if_string();
  if (engine == nullptr || (*engine != "postgres" && *engine != "aurora-postgresql")) {
    return KeyError(
        "Database engine must be set to 'postgres' in order to use this rotation function");
  }
  const json::string* host = f.at("host").if_string();
  const json::string* username = f.at("username").if_string();
  if (host == nullptr || host->empty() || username == nullptr || username->empty()) {
    return ValueError("The host and username of the " + std::string(described_as) +
                      " must be non-empty strings.");
  }
  if (!password_is_string) {
    return ValueError("The password of the " + std::string(described_as) + " must be a string.");
  }
  secret.host = std::string(*host);
  secret.username = std::string(*username);
  if (const json::value* port = f.if_contains("port")) {
    std::optional<int> p = ParsePort(*port);
    if (!p) {
      return ValueError("The port of the " + std::string(described_as) +
                        " must be a number from 1 to 65535.");
    }
    secret.port = *p;
  }
  if (const json::value* dbname = f.if_contains("dbname");
      dbname != nullptr && !dbname->is_null()) {
    if (!dbname->is_string() || dbname->get_string().empty()) {
      return ValueError("The dbname of the " + std::string(described_as) +
                        " must be a non-empty string.");
    }
    secret.dbname = std::string(dbname->get_string());
  }
  secret.ssl = SslModeOf(f.if_contains("ssl"));
  return secret;
}

// The JSON of `secret` with `password` put back in; the caller wipes it.
std::string SerializeWithPassword(const DbSecret& secret, std::string_view password) {
  json::object out = secret.fields;
  out["password"] = password;
  std::string text = json::serialize(out);
  Wipe(out["password"].get_string());
  return text;
}

std::string StageDescription(std::string_view stage, std::string_view arn) {
  return std::string(stage) + " secret of " + std::string(arn);
}

// GetSecretValue of a stage (and, with a token, of that version, which must hold the stage).
Result<DbSecret> GetDbSecret(SecretsClient& secrets, std::string_view arn, std::string_view stage,
                             std::string_view token = {}) {
  json::object input{{"SecretId", arn}, {"VersionStage", stage}};
  if (!token.empty()) input["VersionId"] = token;
  COFFER_ASSIGN_OR_RETURN(json::object out, secrets.Call("GetSecretValue", input));
  json::value* text = out.if_contains("SecretString");
  if (text == nullptr || !text->is_string()) {
    return ValueError("The " + StageDescription(stage, arn) + " has no SecretString.");
  }
  return ParseDbSecret(text->get_string(), StageDescription(stage, arn));
}

struct PgConnCloser {
  void operator()(PGconn* conn) const { PQfinish(conn); }
};
using PgConnection = std::unique_ptr<PGconn, PgConnCloser>;

struct PgResultClearer {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultClearer>;

// Logs in with `secret`. On failure the Status says why, without the password.
Result<PgConnection> Connect(const DbSecret& secret, const PostgresRotatorOptions& options) {
  if (secret.password.empty()) {
    // libpq would take an empty password from PGPASSWORD or ~/.pgpass instead.
    return ValueError("the password is empty");
  }
  if (secret.password.Reveal().find('\0') != std::string_view::npos) {
    return ValueError("the password contains a NUL character");
  }
  ZeroizingString password(secret.password.Reveal());
  std::string port = std::to_string(secret.port);
  const char* sslmode = "prefer";
  if (secret.ssl == SslMode::kVerifyFull) sslmode = "verify-full";
  if (secret.ssl == SslMode::kDisable) sslmode = "disable";
  // Every statement is bounded too (a lock held on the role would otherwise stall the step,
  // and with it a rotation worker, indefinitely).
  std::vector<const char*> keywords = {"host",     "port",    "dbname",          "user",
                                       "password", "sslmode", "connect_timeout", "application_name",
                                       "options"};
  std::vector<const char*> values = {secret.host.c_str(),
                                     port.c_str(),
                                     secret.dbname.c_str(),
                                     secret.username.c_str(),
                                     password.c_str(),
                                     sslmode,
                                     "5",
                                     "coffer-rotation",
                                     "-c statement_timeout=30000 -c lock_timeout=10000"};
  if (secret.ssl == SslMode::kVerifyFull) {
    keywords.push_back("sslrootcert");
    values.push_back(options.ssl_root_cert.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  // expand_dbname = 0: a dbname from the secret is a name, never a connection string.
  PgConnection conn(PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/0));
  if (conn == nullptr) return ValueError("out of memory");
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return ValueError(
        Redact(TrimTrailingSpace(PQerrorMessage(conn.get())), {secret.password.Reveal()}));
  }
  return conn;
}

// Runs one statement. Its text and the server's message are redacted of `secrets`, and only the
// SQLSTATE and the primary message are reported (the detail may quote the statement).
Status Execute(PGconn* conn, const std::string& sql, std::string_view what,
               std::initializer_list<std::string_view> secrets) {
  PgResult result(PQexec(conn, sql.c_str()));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
  std::string message;
  if (result) {
    const char* sqlstate = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
    const char* primary = PQresultErrorField(result.get(), PG_DIAG_MESSAGE_PRIMARY);
    if (primary != nullptr) message = primary;
    if (sqlstate != nullptr) message = std::string("SQLSTATE ") + sqlstate + ": " + message;
  }
  if (message.empty()) message = TrimTrailingSpace(PQerrorMessage(conn));
  return ValueError(std::string(what) + " failed: " + Redact(message, secrets));
}

Result<std::string> QuoteIdentifier(PGconn* conn, std::string_view name) {
  char* quoted = PQescapeIdentifier(conn, name.data(), name.size());
  if (quoted == nullptr) {
    return ValueError("Cannot quote the user name " + std::string(name) + ": " +
                      TrimTrailingSpace(PQerrorMessage(conn)));
  }
  std::string out(quoted);
  PQfreemem(quoted);
  return out;
}

// `PASSWORD '<verifier>'` for `username`: the password hashed by libpq as the server's
// password_encryption asks (what psql's \password does), so the server never sees it in clear
// and cannot write it to its statement log. The caller wipes the result.
Result<std::string> PasswordClause(PGconn* conn, const std::string& username,
                                   const SecretBytes& password) {
  ZeroizingString clear(password.Reveal());
  char* verifier = PQencryptPasswordConn(conn, clear.c_str(), username.c_str(), nullptr);
  if (verifier == nullptr) {
    return ValueError("Cannot hash the new password for user " + username + ": " +
                      Redact(TrimTrailingSpace(PQerrorMessage(conn)), {clear.view()}));
  }
  char* literal = PQescapeLiteral(conn, verifier, std::strlen(verifier));
  OPENSSL_cleanse(verifier, std::strlen(verifier));
  PQfreemem(verifier);
  if (literal == nullptr) {
    return ValueError("Cannot quote the new password for user " + username + ".");
  }
  std::string clause = std::string("PASSWORD ") + literal;
  OPENSSL_cleanse(literal, std::strlen(literal));
  PQfreemem(literal);
  return clause;
}

Result<bool> RoleExists(PGconn* conn, const std::string& name) {
  const char* params[] = {name.c_str()};
  PgResult result(PQexecParams(conn, "SELECT 1 FROM pg_roles WHERE rolname = $1", 1, nullptr,
                               params, nullptr, nullptr, 0));
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
    return ValueError("Looking up role " + name +
                      " failed: " + TrimTrailingSpace(PQerrorMessage(conn)));
  }
  return PQntuples(result.get()) > 0;
}

// The other user of an alternating pair: X <-> X_clone (the templates' get_alt_username).
Result<std::string> AlternateUsername(const std::string& username) {
  if (username.size() > kCloneSuffix.size() && username.ends_with(kCloneSuffix)) {
    return username.substr(0, username.size() - kCloneSuffix.size());
  }
  std::string clone = username + std::string(kCloneSuffix);
  if (clone.size() > kMaxIdentifierLength) {
    return ValueError(
        "Unable to clone user, username length with _clone appended would exceed 63 characters");
  }
  return clone;
}

enum class Scheme { kSingleUser, kAlternatingUsers };

struct Step {
  const StepEvent& event;
  SecretsClient& secrets;
  std::string* log;
};

class PostgresRotator : public RotationFunction {
 public:
  PostgresRotator(Scheme scheme, PostgresRotatorOptions options)
      : scheme_(scheme), options_(std::move(options)) {}

  // The templates' lambda_handler.
  Status Invoke(const StepEvent& event, SecretsClient& secrets, std::string* log) override {
    Step step{event, secrets, log};
    const std::string& arn = event.secret_arn;
    const std::string& token = event.token;
    COFFER_ASSIGN_OR_RETURN(json::object metadata,
                            secrets.Call("DescribeSecret", {{"SecretId", arn}}));
    if (const json::value* enabled = metadata.if_contains("RotationEnabled");
        enabled != nullptr && enabled->is_bool() && !enabled->get_bool()) {
      return ValueError("Secret " + arn + " is not enabled for rotation");
    }
    const json::array* stages = nullptr;
    if (const json::value* versions = metadata.if_contains("VersionIdsToStages")) {
      if (const json::object* by_version = versions->if_object()) {
        if (const json::value* v = by_version->if_contains(token)) stages = v->if_array();
      }
    }
    if (stages == nullptr) {
      return ValueError("Secret version " + token + " has no stage for rotation of secret " + arn +
                        ".");
    }
    auto has_stage = [&](std::string_view stage) {
      return std::any_of(stages->begin(), stages->end(), [&](const json::value& s) {
        return s.is_string() && s.get_string() == stage;
      });
    };
    if (has_stage(kCurrent)) {
      AppendLog(log, event.step + ": version " + token + " is already AWSCURRENT for " + arn);
      return Status::Ok();
    }
    if (!has_stage(kPending)) {
      return ValueError("Secret version " + token +
                        " not set as AWSPENDING for rotation of secret " + arn + ".");
    }
    if (event.step == "createSecret") return CreateSecret(step);
    if (event.step == "setSecret") {
      return scheme_ == Scheme::kSingleUser ? SetSecretSingleUser(step)
                                            : SetSecretAlternatingUsers(step);
    }
    if (event.step == "testSecret") return TestSecret(step);
    if (event.step == "finishSecret") return FinishSecret(step);
    return ValueError("Invalid step parameter " + event.step + " for secret " + arn);
  }

 private:
  // Puts a version with a new password (and, alternating, the other user) under AWSPENDING,
  // unless the token's version already has a value.
  Status CreateSecret(const Step& step) const {
    const std::string& arn = step.event.secret_arn;
    const std::string& token = step.event.token;
    COFFER_ASSIGN_OR_RETURN(DbSecret current, GetDbSecret(step.secrets, arn, kCurrent));
    auto pending = step.secrets.Call(
        "GetSecretValue", {{"SecretId", arn}, {"VersionId", token}, {"VersionStage", kPending}});
    if (pending.ok()) {
      if (json::value* text = pending->if_contains("SecretString"); text && text->is_string()) {
        Wipe(text->get_string());
      }
      AppendLog(step.log, "createSecret: version " + token + " of " + arn + " already exists");
      return Status::Ok();
    }
    if (pending.status().code() != ErrorCode::kResourceNotFoundException) return pending.status();

    if (scheme_ == Scheme::kAlternatingUsers) {
      COFFER_ASSIGN_OR_RETURN(std::string other, AlternateUsername(current.username));
      current.username = other;
      current.fields["username"] = other;
    }
    COFFER_ASSIGN_OR_RETURN(
        json::object generated,
        step.secrets.Call("GetRandomPassword",
                          {{"ExcludeCharacters", options_.exclude_characters},
                           {"PasswordLength", options_.password_length},
                           {"ExcludeNumbers", options_.exclude_numbers},
                           {"ExcludePunctuation", options_.exclude_punctuation},
                           {"ExcludeUppercase", options_.exclude_uppercase},
                           {"ExcludeLowercase", options_.exclude_lowercase},
                           {"RequireEachIncludedType", options_.require_each_included_type}}));
    json::value* random = generated.if_contains("RandomPassword");
    if (random == nullptr || !random->is_string() || random->get_string().empty()) {
      return ValueError("GetRandomPassword returned no RandomPassword.");
    }
    std::string text = SerializeWithPassword(current, random->get_string());
    Wipe(random->get_string());
    json::object put{{"SecretId", arn},
                     {"ClientRequestToken", token},
                     {"SecretString", text},
                     {"VersionStages", json::array{kPending}}};
    Wipe(text);
    if (!step.event.rotation_token.empty()) put["RotationToken"] = step.event.rotation_token;
    auto put_result = step.secrets.Call("PutSecretValue", put);
    Wipe(put["SecretString"].get_string());
    COFFER_RETURN_IF_ERROR(put_result.status());
    AppendLog(step.log, "createSecret: put version " + token + " of " + arn +
                            " as AWSPENDING for user " + current.username);
    return Status::Ok();
  }

  // Pending credentials that already log in need nothing more (a retried or resumed step).
  bool PendingLogsIn(const Step& step, const DbSecret& pending) const {
    if (!Connect(pending, options_).ok()) return false;
    AppendLog(step.log, "setSecret: the AWSPENDING password already logs in as user " +
                            pending.username + " in " + pending.dbname + " at " + pending.Where());
    return true;
  }

  // The templates' guard against a pending version that names another server.
  static Status RequireSameServer(const DbSecret& pending, const DbSecret& other,
                                  std::string_view other_name) {
    if (pending.host != other.host || pending.port != other.port) {
      return ValueError("Attempting to modify user for host " + pending.Where() + " other than " +
                        std::string(other_name) + " host " + other.Where());
    }
    return Status::Ok();
  }

  // Logs in as the user (AWSCURRENT, else AWSPREVIOUS) and changes its own password.
  Status SetSecretSingleUser(const Step& step) const {
    const std::string& arn = step.event.secret_arn;
    std::optional<DbSecret> previous;
    if (auto p = GetDbSecret(step.secrets, arn, kPrevious); p.ok()) {
      previous = std::move(p).value();
    } else if (p.status().code() != ErrorCode::kResourceNotFoundException &&
               p.status().code() != ErrorCode::kKeyError) {
      return p.status();
    }
    COFFER_ASSIGN_OR_RETURN(DbSecret current, GetDbSecret(step.secrets, arn, kCurrent));
    COFFER_ASSIGN_OR_RETURN(DbSecret pending,
                            GetDbSecret(step.secrets, arn, kPending, step.event.token));
    if (PendingLogsIn(step, pending)) return Status::Ok();

    if (current.username != pending.username) {
      return ValueError("Attempting to modify user " + pending.username +
                        " other than current user " + current.username);
    }
    COFFER_RETURN_IF_ERROR(RequireSameServer(pending, current, "current"));

    std::string failures;
    auto conn = Connect(current, options_);
    std::string logged_in_with = "AWSCURRENT";
    if (!conn.ok()) {
      failures = "AWSCURRENT: " + conn.status().message();
      if (previous) {
        if (previous->username != pending.username) {
          return ValueError("Attempting to modify user " + pending.username +
                            " other than previous valid user " + previous->username);
        }
        COFFER_RETURN_IF_ERROR(RequireSameServer(pending, *previous, "previous valid"));
        previous->ssl = current.ssl;  // the templates use the current TLS setting
        conn = Connect(*previous, options_);
        logged_in_with = "AWSPREVIOUS";
        if (!conn.ok()) failures += "; AWSPREVIOUS: " + conn.status().message();
      }
    }
    if (!conn.ok()) {
      return ValueError(
          "Unable to log into database with previous, current, or pending secret of secret arn " +
          arn + " (" + failures + ")");
    }
    COFFER_RETURN_IF_ERROR(AlterPassword(conn->get(), pending));
    AppendLog(step.log, "setSecret: password set for user " + pending.username + " in " +
                            pending.dbname + " at " + pending.Where() + " (logged in with " +
                            logged_in_with + ")");
    return Status::Ok();
  }

  // Logs in as the master user and sets the password of the other user of the pair, creating it
  // with the current user's privileges on the first rotation.
  Status SetSecretAlternatingUsers(const Step& step) const {
    const std::string& arn = step.event.secret_arn;
    COFFER_ASSIGN_OR_RETURN(DbSecret current, GetDbSecret(step.secrets, arn, kCurrent));
    COFFER_ASSIGN_OR_RETURN(DbSecret pending,
                            GetDbSecret(step.secrets, arn, kPending, step.event.token));
    if (PendingLogsIn(step, pending)) return Status::Ok();

    COFFER_ASSIGN_OR_RETURN(std::string alternate, AlternateUsername(current.username));
    if (alternate != pending.username) {
      return ValueError("Attempting to modify user " + pending.username +
                        " other than current user or clone " + current.username);
    }
    COFFER_RETURN_IF_ERROR(RequireSameServer(pending, current, "current"));

    // Only a working AWSCURRENT may ask the master user for anything: this keeps a caller who can
    // write this secret from using the master user against users it does not know (confused
    // deputy).
    if (auto conn = Connect(current, options_); !conn.ok()) {
      return ValueError("Unable to log into database using current credentials for secret " + arn +
                        " (" + conn.status().message() + ")");
    }

    const json::value* masterarn = current.fields.if_contains("masterarn");
    if (masterarn == nullptr) return KeyError("masterarn key is missing from the secret JSON");
    if (!masterarn->is_string() || masterarn->get_string().empty()) {
      return ValueError("The masterarn of secret " + arn + " must be a non-empty string.");
    }
    std::string master_arn(masterarn->get_string());
    COFFER_ASSIGN_OR_RETURN(DbSecret master, GetDbSecret(step.secrets, master_arn, kCurrent));
    master.dbname = current.dbname;  // the user's database, as the templates do
    if (master.host != current.host || master.port != current.port) {
      return ValueError("Current database host " + current.Where() +
                        " is not the same host as master " + master.Where());
    }
    auto conn = Connect(master, options_);
    if (!conn.ok()) {
      return ValueError("Unable to log into database using credentials in master secret " +
                        master_arn + " (" + conn.status().message() + ")");
    }

    PGconn* db = conn->get();
    COFFER_ASSIGN_OR_RETURN(std::string pending_ident, QuoteIdentifier(db, pending.username));
    COFFER_ASSIGN_OR_RETURN(std::string current_ident, QuoteIdentifier(db, current.username));
    COFFER_ASSIGN_OR_RETURN(std::string password,
                            PasswordClause(db, pending.username, pending.password));
    std::string_view clear = pending.password.Reveal();
    // CREATE ROLE and GRANT commit together, so a failed GRANT leaves no half-made user behind.
    COFFER_RETURN_IF_ERROR(Execute(db, "BEGIN", "BEGIN", {}));
    auto exists = RoleExists(db, pending.username);
    if (!exists.ok()) {
      Wipe(password);
      return exists.status();
    }
    Status status;
    std::string action;
    if (!*exists) {
      std::string create = "CREATE ROLE " + pending_ident + " WITH LOGIN " + password;
      status = Execute(db, create, "CREATE ROLE " + pending_ident, {clear, password});
      Wipe(create);
      if (status.ok()) {
        status = Execute(db, "GRANT " + current_ident + " TO " + pending_ident,
                         "GRANT " + current_ident + " TO " + pending_ident, {});
      }
      action = "created user " + pending.username + " with the privileges of " + current.username;
    } else {
      std::string alter = "ALTER USER " + pending_ident + " WITH " + password;
      status = Execute(db, alter, "ALTER USER " + pending_ident, {clear, password});
      Wipe(alter);
      action = "password set for user " + pending.username;
    }
    Wipe(password);
    if (status.ok()) status = Execute(db, "COMMIT", "COMMIT", {});
    if (!status.ok()) {
      (void)Execute(db, "ROLLBACK", "ROLLBACK", {});
      return status;
    }
    AppendLog(step.log, "setSecret: " + action + " in " + pending.dbname + " at " +
                            pending.Where() + " (logged in as master user " + master.username +
                            ")");
    return Status::Ok();
  }

  // ALTER USER <pending> WITH PASSWORD <pending password>, on a connection of the user itself.
  static Status AlterPassword(PGconn* db, const DbSecret& pending) {
    COFFER_ASSIGN_OR_RETURN(std::string ident, QuoteIdentifier(db, pending.username));
    COFFER_ASSIGN_OR_RETURN(std::string password,
                            PasswordClause(db, pending.username, pending.password));
    std::string alter = "ALTER USER " + ident + " WITH " + password;
    Status status =
        Execute(db, alter, "ALTER USER " + ident, {pending.password.Reveal(), password});
    Wipe(alter);
    Wipe(password);
    return status;
  }

  // Logs in with AWSPENDING and runs SELECT NOW().
  Status TestSecret(const Step& step) const {
    const std::string& arn = step.event.secret_arn;
    COFFER_ASSIGN_OR_RETURN(DbSecret pending,
                            GetDbSecret(step.secrets, arn, kPending, step.event.token));
    auto conn = Connect(pending, options_);
    if (!conn.ok()) {
      return ValueError("Unable to log into database with pending secret of secret ARN " + arn +
                        " (" + conn.status().message() + ")");
    }
    COFFER_RETURN_IF_ERROR(Execute(conn->get(), "SELECT NOW()", "SELECT NOW()", {}));
    AppendLog(step.log, "testSecret: user " + pending.username + " logged in to " + pending.dbname +
                            " at " + pending.Where());
    return Status::Ok();
  }

  // Moves AWSCURRENT to the token's version (Secrets Manager gives the old one AWSPREVIOUS).
  Status FinishSecret(const Step& step) const {
    const std::string& arn = step.event.secret_arn;
    const std::string& token = step.event.token;
    COFFER_ASSIGN_OR_RETURN(json::object metadata,
                            step.secrets.Call("DescribeSecret", {{"SecretId", arn}}));
    std::string current_version;
    if (const json::value* versions = metadata.if_contains("VersionIdsToStages")) {
      if (const json::object* by_version = versions->if_object()) {
        for (const auto& [version, stages] : *by_version) {
          const json::array* list = stages.if_array();
          if (list == nullptr) continue;
          bool current = std::any_of(list->begin(), list->end(), [](const json::value& s) {
            return s.is_string() && s.get_string() == kCurrent;
          });
          if (!current) continue;
          if (version == token) {
            AppendLog(step.log,
                      "finishSecret: version " + token + " is already AWSCURRENT for " + arn);
            return Status::Ok();
          }
          current_version = std::string(version);
          break;
        }
      }
    }
    json::object input{{"SecretId", arn}, {"VersionStage", kCurrent}, {"MoveToVersionId", token}};
    if (!current_version.empty()) input["RemoveFromVersionId"] = current_version;
    COFFER_RETURN_IF_ERROR(step.secrets.Call("UpdateSecretVersionStage", input).status());
    AppendLog(step.log, "finishSecret: moved AWSCURRENT to version " + token + " of " + arn);
    return Status::Ok();
  }

  Scheme scheme_;
  PostgresRotatorOptions options_;
};

}  // namespace

std::unique_ptr<RotationFunction> NewPostgresSingleUserRotator() {
  return NewPostgresSingleUserRotator(PostgresRotatorOptions{});
}

std::unique_ptr<RotationFunction> NewPostgresSingleUserRotator(PostgresRotatorOptions options) {
  return std::make_unique<PostgresRotator>(Scheme::kSingleUser, std::move(options));
}

std::unique_ptr<RotationFunction> NewPostgresAlternatingUsersRotator() {
  return NewPostgresAlternatingUsersRotator(PostgresRotatorOptions{});
}

std::unique_ptr<RotationFunction> NewPostgresAlternatingUsersRotator(
    PostgresRotatorOptions options) {
  return std::make_unique<PostgresRotator>(Scheme::kAlternatingUsers, std::move(options));
}

}  // namespace coffer::rotation
