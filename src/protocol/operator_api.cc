#include "protocol/operator_api.h"

#include <algorithm>
#include <boost/json.hpp>

#include "auth/credential_registry.h"
#include "core/arn.h"
#include "core/ids.h"
#include "crypto/crypto.h"

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

}  // namespace

bool OperatorApi::IsOperatorPath(std::string_view target) {
  return PathOf(target).rfind("/coffer/", 0) == 0;
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

Status OperatorApi::Authorize(const ApiRequest& request, bool operator_only) {
  SigV4Request sig{request.method, request.target, request.headers, request.body,
                   request.secure_transport};
  auto verified = VerifySigV4(sig, *credentials_, clock_->NowMillis());
  if (auto* err = std::get_if<AuthError>(&verified)) {
    return Status(err->failure == AuthFailure::kMissing      ? "MissingAuthenticationTokenException"
                  : err->failure == AuthFailure::kUnknownKey ? "UnrecognizedClientException"
                                                             : "InvalidSignatureException",
                  err->message);
  }
  const auto& caller = std::get<VerifiedCaller>(verified);
  if (caller.service != "coffer") {
    return Status("InvalidSignatureException",
                  "Credential should be scoped to correct service: 'coffer'. ");
  }
  const Principal& p = caller.credential->principal;
  if (p.arn != "arn:aws:iam::" + p.account + ":root" || p.temporary) {
    return Status("AccessDeniedException", "User: " + p.arn +
                                               " is not authorized to perform this operator "
                                               "action: only an account's root may.");
  }
  if (operator_only && p.account != operator_account_) {
    return Status("AccessDeniedException", "Only the root of the deployment's first account (" +
                                               operator_account_ + ") may create accounts.");
  }
  return Status::Ok();
}

ApiResponse OperatorApi::Handle(const ApiRequest& request, const std::string& request_id) {
  const std::string_view path = PathOf(request.target);
  if (path == "/coffer/seal-status") {
    if (request.method != "GET") {
      return Error(Status("MethodNotAllowed", "Use GET."), request_id, 405);
    }
    return SealStatusResponse(request_id);
  }
  if (path != "/coffer/unseal" && path != "/coffer/seal" && path != "/coffer/rotate-root" &&
      path != "/coffer/accounts") {
    return Error(Status("UnknownOperationException", "No operator endpoint " + std::string(path)),
                 request_id, 404);
  }
  if (request.method != "POST") {
    return Error(Status("MethodNotAllowed", "Use POST."), request_id, 405);
  }

  if (path == "/coffer/unseal") {
    json::object input;
    if (!request.body.empty()) {
      boost::system::error_code ec;
      json::value parsed = json::parse(request.body, ec);
      if (ec || !parsed.is_object()) {
        return Error(Status("SerializationException", "The request body is not a JSON object."),
                     request_id);
      }
      input = std::move(parsed.get_object());
    }
    auto text = [&](const char* name) -> const json::string* {
      auto it = input.find(name);
      return it != input.end() && it->value().is_string() ? &it->value().get_string() : nullptr;
    };
    Status s = Status::Ok();
    if (auto it = input.find("Reset"); it != input.end() && it->value() == json::value(true)) {
      seal_->ResetProgress();
    } else if (const auto* share = text("Share")) {
      s = seal_->SubmitShare(std::string_view(share->data(), share->size()));
    } else if (const auto* passphrase = text("Passphrase")) {
      s = seal_->UnsealWithPassphrase(std::string_view(passphrase->data(), passphrase->size()));
    } else {
      s = Status("InvalidParameterException", "Give one of Share, Passphrase or Reset.");
    }
    // The parsed copy held a share or passphrase; wipe it.
    for (auto& [k, v] : input) {
      if (v.is_string()) OPENSSL_cleanse(v.get_string().data(), v.get_string().size());
    }
    if (!s.ok()) return Error(s, request_id);
    return SealStatusResponse(request_id);
  }

  if (keyring_->sealed()) {
    if (path == "/coffer/seal") return SealStatusResponse(request_id);
    return Error(Status("ServiceUnavailableException",
                        "coffer is sealed; unseal it with `coffer operator unseal`."),
                 request_id);
  }
  if (Status auth = Authorize(request, path == "/coffer/accounts"); !auth.ok()) {
    return Error(auth, request_id, 403);
  }
  if (path == "/coffer/accounts") return CreateAccount(request, request_id);
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

// Another account in this deployment, so that cross-account access through resource policies
// is real: its own root access key, generated here and shown once.
ApiResponse OperatorApi::CreateAccount(const ApiRequest& request, const std::string& request_id) {
  std::string account;
  if (!request.body.empty()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(request.body, ec);
    if (ec || !parsed.is_object()) {
      return Error(Status("SerializationException", "The request body is not a JSON object."),
                   request_id);
    }
    if (const auto* id = parsed.get_object().if_contains("AccountId")) {
      if (!id->is_string()) {
        return Error(Status("InvalidParameterException", "AccountId must be a string."),
                     request_id);
      }
      account = std::string(id->get_string());
    }
  }
  if (account.empty()) {
    uint8_t b[12];
    crypto::RandomBytes(b, sizeof(b));
    for (uint8_t x : b) account.push_back(static_cast<char>('0' + x % 10));
    if (account[0] == '0') account[0] = '1';
  }
  if (account.size() != 12 ||
      !std::all_of(account.begin(), account.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error(Status("InvalidParameterException", "AccountId must be 12 digits."), request_id);
  }
  const std::string key_id = NewAccessKeyId();
  SecretBytes raw = crypto::RandomSecret(30);
  SecretBytes secret(crypto::Base64Encode(raw.Reveal()));
  auto wrapped =
      keyring_->WrapWithStorageKey(CredentialRegistry::SecretPurpose(key_id), secret.Reveal());
  if (!wrapped.ok()) return Error(wrapped.status(), request_id);
  Status s = store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto accounts, w.ListAccounts());
    if (std::find(accounts.begin(), accounts.end(), account) != accounts.end()) {
      return Status("ResourceExistsException", "Account " + account + " already exists.");
    }
    COFFER_RETURN_IF_ERROR(w.InsertAccount(account, clock_->NowMillis()));
    AccessKeyRow row;
    row.access_key_id = key_id;
    row.wrapped_secret = *wrapped;
    row.account = account;
    row.principal_arn = "arn:aws:iam::" + account + ":root";
    row.user_id = account;
    row.created_ms = clock_->NowMillis();
    return w.InsertAccessKey(row);
  });
  if (!s.ok()) return Error(s, request_id);
  ApiResponse resp = JsonBody(
      200, request_id,
      json::object{
          {"AccountId", account}, {"AccessKeyId", key_id}, {"SecretAccessKey", secret.Reveal()}});
  return resp;
}

}  // namespace coffer
