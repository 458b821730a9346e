#include "protocol/operator_api.h"

#include <boost/json.hpp>

#include "core/arn.h"

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

Status OperatorApi::Authorize(const ApiRequest& request) {
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
  if (p.arn != "arn:aws:iam::" + p.account + ":root") {
    return Status("AccessDeniedException", "User: " + p.arn +
                                               " is not authorized to perform this operator "
                                               "action: only an account's root may.");
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
  if (path != "/coffer/unseal" && path != "/coffer/seal" && path != "/coffer/rotate-root") {
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
  if (Status auth = Authorize(request); !auth.ok()) return Error(auth, request_id, 403);
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

}  // namespace coffer
