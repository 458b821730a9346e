// ApiDispatcher: from one HTTP request to one AWS API response.
//
// Chooses the wire protocol (AWS JSON 1.1 when X-Amz-Target is present, else the AWS query
// protocol), verifies SigV4, builds the RequestContext (account from the credential, region from
// the credential scope), calls the service and encodes the result or the AWS error shape:
//   JSON:  HTTP status, x-amzn-ErrorType, {"__type": code, "message": ...}
//   query: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>
// Nothing above this layer knows about JSON or XML; nothing below it knows about HTTP.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/sigv4.h"
#include "core/clock.h"
#include "services/kms/kms_service.h"
#include "services/params/params_service.h"
#include "services/secrets/secrets_service.h"

namespace coffer {

struct ApiRequest {
  std::string_view method;
  std::string_view target;                                             // path and query as received
  std::vector<std::pair<std::string_view, std::string_view>> headers;  // lowercase names
  std::string_view body;
  bool secure_transport = false;
};

struct ApiResponse {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The AWS JSON error response for `s`.
ApiResponse JsonErrorResponse(const Status& s, const std::string& request_id);

class OperatorApi;

class ApiDispatcher {
 public:
  ApiDispatcher(CredentialSource* credentials, secrets::SecretsService* secrets,
                params::ParamsService* params, kms::KmsService* kms, const Clock* clock)
      : credentials_(credentials), secrets_(secrets), params_(params), kms_(kms), clock_(clock) {}

  // Routes /coffer/ paths to `operator_api` and, while it reports sealed, answers every other
  // request with ServiceUnavailable. Call before serving.
  void SetOperatorApi(OperatorApi* operator_api) { operator_api_ = operator_api; }

  // Thread-safe; never throws.
  ApiResponse Handle(const ApiRequest& request);

 private:
  ApiResponse HandleJson(const ApiRequest& request, std::string_view amz_target,
                         const std::string& request_id);
  ApiResponse HandleQuery(const ApiRequest& request, const std::string& request_id);

  CredentialSource* credentials_;
  secrets::SecretsService* secrets_;
  params::ParamsService* params_;
  kms::KmsService* kms_;
  const Clock* clock_;
  OperatorApi* operator_api_ = nullptr;
};

}  // namespace coffer
