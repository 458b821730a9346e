#include "protocol/operator_api.h"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <map>

#include "auth/credential_registry.h"
#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "core/percent_encoding.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "net/http_client.h"
#include "protocol/json_input.h"

namespace coffer {
namespace json = boost::json;
namespace {

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

ApiResponse JsonBody(int status, const std::string& request_id, const json::object& body) {
  ApiResponse resp;
  resp.status = status;
  resp.content_type = "application/json";
  resp.headers.emplace_back("x-amzn-RequestId", request_id);
  resp.body = json::serialize(body);
  return resp;
}

ApiResponse Error(const Status& s, const std::string& request_id, int status = 0) {
  ApiResponse resp = JsonErrorResponse(s, request_id);
  if (status != 0) resp.status = status;
  return resp;
}

std::string_view Header(const ApiRequest& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

// Operator endpoints take JSON only. A browser sends a cross-origin POST without asking first
// only with a form or text/plain body; application/json needs a CORS preflight, which coffer
// never grants, so no web page a operator visits can post to them.
bool IsJsonContentType(std::string_view type) {
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  std::string lower = AsciiLower(type);
  return lower == "application/json" || lower == "application/x-amz-json-1.0" ||
         lower == "application/x-amz-json-1.1";
}

Result<json::object> ParseBody(const ApiRequest& request) {
  if (request.body.empty()) return json::object{};
  boost::system::error_code ec;
  json::value parsed = json::parse(request.body, ec);
  if (ec || !parsed.is_object()) {
    return Status(ErrorCode::kSerializationException, "The request body is not a JSON object.");
  }
  return std::move(parsed.get_object());
}

// Wipes the string members of a parsed body that held a share or a passphrase.
void Wipe(json::object* input) {
  for (auto& [k, v] : *input) {
    if (v.is_string()) OPENSSL_cleanse(v.get_string().data(), v.get_string().size());
  }
}

// The query parameters of `target`, decoded.
std::map<std::string, std::string> QueryParams(std::string_view target) {
  std::map<std::string, std::string> out;
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    std::string_view pair = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), pair.size() + 1));
    const size_t eq = pair.find('=');
    out[PercentDecode(pair.substr(0, eq), true)] =
        eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), true);
  }
  return out;
}

}  // namespace

bool OperatorApi::IsOperatorPath(std::string_view target) {
  return PathOf(target).rfind("/coffer/", 0) == 0;
}

std::string_view OperatorApi::EventNameOf(std::string_view target) {
  static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
      {"/coffer/seal-status", "GetSealStatus"},
      {"/coffer/unseal", "Unseal"},
      {"/coffer/seal", "Seal"},
      {"/coffer/rotate-root", "RotateRoot"},
      {"/coffer/rekey", "Rekey"},
      {"/coffer/accounts", "CreateAccount"},
      {"/coffer/events", "ListEvents"},
      {"/coffer/functions", "PutFunction"}};
  const std::string_view path = PathOf(target);
  for (const auto& [endpoint, name] : kNames) {
    if (path == endpoint) return name;
  }
  return {};
}

ApiResponse OperatorApi::SealStatusResponse(const std::string& request_id) const {
  SealStatus s = seal_->status();
  return JsonBody(200, request_id,
                  json::object{{"Sealed", s.sealed},
                               {"Type", std::string(SealTypeName(s.type))},
                               {"Shares", s.shares},
                               {"Threshold", s.threshold},
                               {"Progress", s.progress}});
}

Status OperatorApi::Authorize(const ApiRequest& request, Caller who,
                              VerifiedCaller* verified_caller) {
  SigV4Request sig{request.method, request.target, request.headers, request.body,
                   request.secure_transport};
  auto verified =
      VerifySigV4(sig, *credentials_, clock_->NowMillis(), signature_clock_->NowMillis());
  if (auto* err = std::get_if<AuthError>(&verified)) {
    return Status(
        err->failure == AuthFailure::kMissing      ? ErrorCode::kMissingAuthenticationTokenException
        : err->failure == AuthFailure::kUnknownKey ? ErrorCode::kUnrecognizedClientException
        : err->failure == AuthFailure::kUnavailable ? ErrorCode::kServiceUnavailable
                                                    : ErrorCode::kInvalidSignatureException,
        err->message);
  }
  const auto& caller = std::get<VerifiedCaller>(verified);
  if (caller.service != "coffer") {
    return Status(ErrorCode::kInvalidSignatureException,
                  "Credential should be scoped to correct service: 'coffer'. ");
  }
  *verified_caller = caller;  // recorded as the call's signer, also when refused below
  const Principal& p = caller.credential->principal;
  if (p.arn != "arn:aws:iam::" + p.account + ":root" || p.temporary) {
    return Status(ErrorCode::kAccessDeniedException,
                  "User: " + p.arn +
                      " is not authorized to perform this operator "
                      "action: only an account's root may.");
  }
  if (who == Caller::kOperator && !IsOperator(p)) {
    // Another tenant learns nothing about who the operator is.
    return Status(ErrorCode::kAccessDeniedException,
                  "User: " + p.arn +
                      " is not authorized to perform this operator action: only the deployment "
                      "operator may.");
  }
  return Status::Ok();
}

bool OperatorApi::IsOperator(const Principal& p) const {
  return p.account == operator_account_ && p.arn == "arn:aws:iam::" + p.account + ":root" &&
         !p.temporary;
}

ApiResponse OperatorApi::Handle(const ApiRequest& request, const std::string& request_id,
                                OperatorCall* call) {
  const std::string_view path = PathOf(request.target);
  OperatorCall ignored;
  if (call == nullptr) call = &ignored;
  call->event_name = std::string(EventNameOf(request.target));
  // Who signed, once the signature is verified (also when the caller is then refused).
  auto signed_by = [call](const VerifiedCaller& caller) {
    call->caller = caller.credential;
    call->region = caller.region;
  };
  for (const auto& endpoint : account_endpoints_) {
    if (path == endpoint.path) return CallAccountEndpoint(endpoint, request, request_id, call);
  }
  if (path == "/coffer/seal-status") {
    if (request.method != "GET") {
      return Error(Status(ErrorCode::kMethodNotAllowed, "Use GET."), request_id, 405);
    }
    return SealStatusResponse(request_id);
  }
  if (path != "/coffer/unseal" && path != "/coffer/seal" && path != "/coffer/rotate-root" &&
      path != "/coffer/rekey" && path != "/coffer/accounts" && path != "/coffer/functions") {
    return Error(
        Status(ErrorCode::kUnknownOperationException, "No operator endpoint " + std::string(path)),
        request_id, 404);
  }
  if (request.method != "POST") {
    return Error(Status(ErrorCode::kMethodNotAllowed, "Use POST."), request_id, 405);
  }
  if (!IsJsonContentType(Header(request, "content-type"))) {
    return Error(Status(ErrorCode::kUnsupportedMediaTypeException,
                        "Operator endpoints take a JSON body: send Content-Type: "
                        "application/json."),
                 request_id, 415);
  }

  if (path == "/coffer/unseal") return Unseal(request, request_id);

  if (keyring_->sealed()) {
    if (path == "/coffer/seal") return SealStatusResponse(request_id);
    return Error(Status(ErrorCode::kServiceUnavailableException,
                        "coffer is sealed; unseal it with `coffer operator unseal`."),
                 request_id);
  }
  // Registering functions is for account roots (exec functions and other accounts' functions
  // for the operator); everything else here acts on the whole deployment.
  const Caller who = path == "/coffer/functions" ? Caller::kAccountRoot : Caller::kOperator;
  VerifiedCaller caller;
  Status auth = Authorize(request, who, &caller);
  signed_by(caller);
  if (!auth.ok()) return Error(auth, request_id, 403);
  if (path == "/coffer/accounts") return CreateAccount(request, request_id);
  if (path == "/coffer/functions") return PutFunction(request, caller, request_id);
  if (path == "/coffer/rekey") return Rekey(request, request_id);
  if (path == "/coffer/seal") {
    seal_->Seal();
    return SealStatusResponse(request_id);
  }
  auto rotated = keyring_->RotateRoot();
  if (!rotated.ok()) return Error(rotated.status(), request_id);
  return JsonBody(200, request_id,
                  json::object{{"RootKeyGeneration", rotated->generation},
                               {"RewrappedKeyMaterials", rotated->rewrapped_materials}});
}

ApiResponse OperatorApi::Unseal(const ApiRequest& request, const std::string& request_id) {
  auto parsed = ParseBody(request);
  if (!parsed.ok()) return Error(parsed.status(), request_id);
  json::object& input = parsed.value();
  JsonInput in(input);
  const std::string nonce = in.String("Nonce").value_or("");
  const bool reset = in.Bool("Reset").value_or(false);
  const std::optional<SecretBytes> share = in.Secret("Share", {.sensitive = true});
  const std::optional<SecretBytes> passphrase = in.Secret("Passphrase", {.sensitive = true});
  Wipe(&input);
  std::string attempt_nonce;
  Status s = in.Finish();
  if (s.ok()) {
    if (reset) {
      s = seal_->ResetProgress(nonce, share ? std::string(share->Reveal()) : std::string());
    } else if (share) {
      s = seal_->SubmitShare(share->Reveal(), nonce, &attempt_nonce);
    } else if (passphrase) {
      s = seal_->UnsealWithPassphrase(passphrase->Reveal());
    } else {
      s = Status(ErrorCode::kInvalidParameterException, "Give one of Share, Passphrase or Reset.");
    }
  }
  if (!s.ok()) return Error(s, request_id, s.code() == ErrorCode::kThrottlingException ? 429 : 0);
  ApiResponse resp = SealStatusResponse(request_id);
  // The nonce goes only to whoever gave a share of the attempt: the operators pass it on.
  if (!attempt_nonce.empty() && seal_->status().sealed) {
    boost::system::error_code ec;
    json::value body = json::parse(resp.body, ec);
    if (!ec && body.is_object()) {
      body.get_object()["Nonce"] = attempt_nonce;
      resp.body = json::serialize(body);
    }
  }
  return resp;
}

// A new unseal key and seal: the old shares, passphrase or root.key no longer open the store.
ApiResponse OperatorApi::Rekey(const ApiRequest& request, const std::string& request_id) {
  auto parsed = ParseBody(request);
  if (!parsed.ok()) return Error(parsed.status(), request_id);
  JsonInput in(parsed.value());
  const std::string seal = in.String("Seal").value_or("");
  // Shamir's own limits are the seal's to state (SealManager refuses what it cannot split);
  // the range here only keeps the numbers within an int.
  constexpr IntRule kCount{.min = 0, .max = 100000};
  const int64_t share_count = in.Int("Shares", kCount).value_or(5);
  const int64_t threshold = in.Int("Threshold", kCount).value_or(3);
  std::optional<SecretBytes> passphrase = in.Secret("Passphrase", {.sensitive = true});
  Wipe(&parsed.value());
  if (Status s = in.Finish(); !s.ok()) return Error(s, request_id);
  auto type = ParseSealType(seal);
  if (!type.ok()) {
    return Error(
        Status(ErrorCode::kInvalidParameterException, "Seal must be file, passphrase or shamir."),
        request_id);
  }
  SealInit init;
  init.type = *type;
  init.shares = static_cast<int>(share_count);
  init.threshold = static_cast<int>(threshold);
  if (init.type == SealType::kPassphrase && passphrase) init.passphrase = std::move(*passphrase);
  auto rekeyed = seal_->Rekey(init, key_file_);
  if (!rekeyed.ok()) {
    Status s = rekeyed.status();
    if (s.code() == ErrorCode::kInvalidParameter)
      s = Status(ErrorCode::kInvalidParameterException, s.message());
    return Error(s, request_id);
  }
  json::array shares;
  for (auto& share : rekeyed->shares) {
    shares.push_back(json::string(share));
    OPENSSL_cleanse(share.data(), share.size());
  }
  ApiResponse resp =
      JsonBody(200, request_id,
               json::object{{"Seal", std::string(SealTypeName(init.type))},
                            {"Shares", std::move(shares)},
                            {"Threshold", init.type == SealType::kShamir ? init.threshold : 1}});
  return resp;
}

// Another account in this deployment, so that cross-account access through resource policies
// is real: its own root access key, generated here and shown once.
ApiResponse OperatorApi::CreateAccount(const ApiRequest& request, const std::string& request_id) {
  auto parsed = ParseBody(request);
  if (!parsed.ok()) return Error(parsed.status(), request_id);
  JsonInput in(parsed.value());
  std::string account = in.String("AccountId").value_or("");
  if (Status s = in.Finish(); !s.ok()) return Error(s, request_id);
  if (account.empty()) account = NewAccountId();
  if (!IsValidAccountId(account)) {
    return Error(Status(ErrorCode::kInvalidParameterException, "AccountId must be 12 digits."),
                 request_id);
  }
  const std::string key_id = NewAccessKeyId();
  SecretBytes secret = NewSecretAccessKey();
  auto wrapped =
      keyring_->WrapWithStorageKey(CredentialRegistry::SecretPurpose(key_id), secret.Reveal());
  if (!wrapped.ok()) return Error(wrapped.status(), request_id);
  Status s = store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto accounts, w.deployment().ListAccounts());
    if (std::find(accounts.begin(), accounts.end(), account) != accounts.end()) {
      return Status(ErrorCode::kResourceExistsException, "Account " + account + " already exists.");
    }
    COFFER_RETURN_IF_ERROR(w.deployment().InsertAccount(account, clock_->NowMillis()));
    AccessKeyRow row;
    row.access_key_id = key_id;
    row.wrapped_secret = *wrapped;
    row.account = account;
    row.principal_arn = "arn:aws:iam::" + account + ":root";
    row.user_id = account;
    row.created_ms = clock_->NowMillis();
    return w.credentials().InsertAccessKey(row);
  });
  if (!s.ok()) return Error(s, request_id);
  ApiResponse resp = JsonBody(
      200, request_id,
      json::object{
          {"AccountId", account}, {"AccessKeyId", key_id}, {"SecretAccessKey", secret.Reveal()}});
  return resp;
}

ApiResponse OperatorApi::CallAccountEndpoint(const AccountEndpoint& endpoint,
                                             const ApiRequest& request,
                                             const std::string& request_id, OperatorCall* call) {
  const bool get = request.method == "GET" && !endpoint.get_event.empty();
  const bool post = request.method == "POST" && !endpoint.post_event.empty();
  call->event_name = post ? endpoint.post_event : endpoint.get_event;
  if (!get && !post) {
    const std::string allowed = endpoint.get_event.empty()    ? "POST"
                                : endpoint.post_event.empty() ? "GET"
                                                              : "GET or POST";
    return Error(Status(ErrorCode::kMethodNotAllowed, "Use " + allowed + "."), request_id, 405);
  }
  if (post && !IsJsonContentType(Header(request, "content-type"))) {
    return Error(Status(ErrorCode::kUnsupportedMediaTypeException,
                        "Operator endpoints take a JSON body: send Content-Type: "
                        "application/json."),
                 request_id, 415);
  }
  if (keyring_->sealed()) {
    return Error(Status(ErrorCode::kServiceUnavailableException,
                        "coffer is sealed; unseal it with `coffer operator unseal`."),
                 request_id);
  }
  VerifiedCaller caller;
  Status auth = Authorize(request, Caller::kAccountRoot, &caller);
  call->caller = caller.credential;
  call->region = caller.region;
  if (!auth.ok()) return Error(auth, request_id, 403);
  json::object body;
  if (post) {
    auto parsed = ParseBody(request);
    if (!parsed.ok()) return Error(parsed.status(), request_id);
    body = std::move(*parsed);
  }
  const Principal& who = caller.credential->principal;
  auto answer = endpoint.handler(request.method, endpoint.path, QueryParams(request.target), body,
                                 who.account, IsOperator(who));
  if (!answer.ok()) {
    const ErrorCode code = answer.status().code();
    const int status = code == ErrorCode::kAccessDeniedException       ? 403
                       : code == ErrorCode::kResourceNotFoundException ? 404
                       : ErrorCodeHttpStatus(code) >= 500              ? ErrorCodeHttpStatus(code)
                                                                       : 400;
    return Error(answer.status(), request_id, status);
  }
  return JsonBody(200, request_id, std::move(*answer));
}

Result<json::object> OperatorApi::ListEvents(const std::map<std::string, std::string>& query,
                                             const std::string& account) {
  int64_t after = 0;
  if (auto it = query.find("after"); it != query.end()) {
    const std::string& text = it->second;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), after);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || after < 0) {
      return Status(ErrorCode::kInvalidParameterException, "after must be a non-negative number.");
    }
  }
  if (before_list_events_) before_list_events_();  // e.g. denials counted but not yet written
  json::array out;
  int64_t last = after;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto events, r.events().ListForAccount(account, after, 100));
    for (const auto& e : events) {
      last = e.id;
      boost::system::error_code ec;
      json::value resources = json::parse(e.resources, ec);
      json::value detail = json::parse(e.detail, ec);
      out.push_back(json::object{{"Id", e.id},
                                 {"Time", FormatIso8601(e.time_ms)},
                                 {"Source", e.source},
                                 {"DetailType", e.detail_type},
                                 {"Region", e.region},
                                 {"Resources", std::move(resources)},
                                 {"Detail", std::move(detail)}});
    }
    return Status::Ok();
  }));
  return json::object{{"Events", std::move(out)}, {"Next", last}};
}

// A rotation function, what a RotationLambdaARN names: registered by the account's root for the
// region the request is signed for.
namespace {

// What a PUT of /coffer/functions may carry. Errors: SerializationException for a member of
// the wrong type.
struct FunctionInput {
  std::string account;
  std::string name;
  bool remove = false;
  std::string kind;
  std::string role_arn;
  int64_t timeout_seconds = 300;
  std::optional<std::vector<std::string>> command;
  const json::object* environment = nullptr;
  std::string builtin;
  std::string url;
};

Result<FunctionInput> ReadFunctionInput(const json::object& body) {
  JsonInput in(body);
  FunctionInput f;
  f.account = in.String("Account").value_or("");
  f.name = in.String("Name").value_or("");
  f.remove = in.Bool("Delete").value_or(false);
  f.kind = in.String("Kind").value_or("");
  f.role_arn = in.String("RoleArn").value_or("");
  f.timeout_seconds = in.Int("TimeoutSeconds").value_or(300);
  f.command = in.StringList("Command");
  f.environment = in.Object("Environment");
  f.builtin = in.String("Builtin").value_or("");
  f.url = in.String("Url").value_or("");
  COFFER_RETURN_IF_ERROR(in.Finish());
  return f;
}

// The configuration of a function of `kind`: exec's Command (and Environment), builtin's
// Builtin, http's Url. Errors: InvalidParameterException.
Result<json::object> FunctionConfig(const FunctionInput& in, RotationFunctionKind kind) {
  json::object config;
  if (kind == RotationFunctionKind::kExec) {
    if (!in.command || in.command->empty()) {
      return Status(ErrorCode::kInvalidParameterException,
                    "An exec function needs a Command list.");
    }
    config["Command"] = json::value_from(*in.command);
    if (in.environment != nullptr) config["Environment"] = *in.environment;
  } else if (kind == RotationFunctionKind::kBuiltin) {
    if (in.builtin.empty()) {
      return Status(ErrorCode::kInvalidParameterException, "A builtin function needs Builtin.");
    }
    config["Builtin"] = in.builtin;
  } else {
    if (!net::ParseUrl(in.url).ok()) {
      return Status(ErrorCode::kInvalidParameterException,
                    "An http function needs a Url (http:// or https://).");
    }
    config["Url"] = in.url;
  }
  return config;
}

}  // namespace

ApiResponse OperatorApi::PutFunction(const ApiRequest& request, const VerifiedCaller& caller,
                                     const std::string& request_id) {
  auto parsed = ParseBody(request);
  if (!parsed.ok()) return Error(parsed.status(), request_id);
  auto input = ReadFunctionInput(parsed.value());
  if (!input.ok()) return Error(input.status(), request_id);
  const FunctionInput& in = input.value();
  const Principal& who = caller.credential->principal;
  RotationFunctionRow row;
  row.account = who.account;
  row.region = caller.region;
  // The operator may register a function in any account; an account's root only in its own.
  if (const std::string& account = in.account; !account.empty() && account != who.account) {
    if (!IsOperator(who)) {
      return Error(Status(ErrorCode::kAccessDeniedException,
                          "User: " + who.arn +
                              " is not authorized to register functions in another account."),
                   request_id, 403);
    }
    bool exists = false;
    Status s = store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto accounts, r.deployment().ListAccounts());
      exists = std::find(accounts.begin(), accounts.end(), account) != accounts.end();
      return Status::Ok();
    });
    if (!s.ok()) return Error(s, request_id);
    if (!exists) {
      return Error(
          Status(ErrorCode::kInvalidParameterException, "No account " + account + " exists."),
          request_id);
    }
    row.account = account;
  }
  row.name = in.name;
  const bool valid_name = !row.name.empty() && row.name.size() <= 64 &&
                          std::all_of(row.name.begin(), row.name.end(), [](unsigned char c) {
                            return std::isalnum(c) || c == '-' || c == '_';
                          });
  if (!valid_name) {
    return Error(Status(ErrorCode::kInvalidParameterException,
                        "Name must be 1-64 letters, digits, hyphens or underscores."),
                 request_id);
  }
  const std::string arn =
      "arn:aws:lambda:" + row.region + ":" + row.account + ":function:" + row.name;
  if (in.remove) {
    Status s = store_->Write([&](StoreWriter& w) -> Status {
      return w.rotation().DeleteFunction(row.account, row.region, row.name);
    });
    if (!s.ok()) return Error(s, request_id);
    return JsonBody(200, request_id, json::object{{"FunctionArn", arn}, {"Deleted", true}});
  }
  const std::string& kind_name = in.kind;
  const std::optional<RotationFunctionKind> kind =
      ValueNamed(kRotationFunctionKindNames, kind_name);
  if (!kind) {
    return Error(
        Status(ErrorCode::kInvalidParameterException, "Kind must be exec, http or builtin."),
        request_id);
  }
  row.kind = *kind;
  if (row.kind == RotationFunctionKind::kExec && !IsOperator(who)) {
    // An exec function is a program run on the server's host: the operator decides which.
    return Error(Status(ErrorCode::kAccessDeniedException,
                        "User: " + who.arn +
                            " is not authorized to register exec functions: they run programs "
                            "on the server's host, which only the deployment operator may "
                            "choose. Register an http or builtin function instead."),
                 request_id, 403);
  }
  auto config = FunctionConfig(in, row.kind);
  if (!config.ok()) return Error(config.status(), request_id);
  row.config = json::serialize(*config);
  row.role_arn = in.role_arn;
  if (row.role_arn.empty() && row.kind != RotationFunctionKind::kBuiltin) {
    // Lambda runs every function as its execution role; without one the function could not
    // call Secrets Manager at all.
    return Error(Status(ErrorCode::kInvalidParameterValueException,
                        "An " + kind_name +
                            " function needs an execution role (RoleArn): a role of account " +
                            row.account + " whose trust policy allows lambda.amazonaws.com."),
                 request_id);
  }
  row.timeout_seconds = in.timeout_seconds;
  if (row.timeout_seconds < 1 || row.timeout_seconds > 900) {
    return Error(Status(ErrorCode::kInvalidParameterException, "TimeoutSeconds must be 1-900."),
                 request_id);
  }
  row.created_ms = clock_->NowMillis();
  if (!register_function_) {
    return Error(Status(ErrorCode::kServiceUnavailableException, "This server runs no rotation."),
                 request_id);
  }
  auto registered = register_function_(std::move(row));
  if (!registered.ok()) return Error(registered.status(), request_id);
  std::string signing_key_hex = std::move(registered.value());
  json::object out{{"FunctionArn", arn}};
  if (!signing_key_hex.empty()) out["SigningKey"] = signing_key_hex;
  ApiResponse resp = JsonBody(200, request_id, out);
  OPENSSL_cleanse(signing_key_hex.data(), signing_key_hex.size());
  return resp;
}

}  // namespace coffer
