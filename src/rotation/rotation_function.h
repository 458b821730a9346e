// A rotation function: what Secrets Manager invokes for each step of the four-step rotation
// protocol (createSecret, setSecret, testSecret, finishSecret), as an AWS rotation Lambda is.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html
//
// Each step must be idempotent: the engine retries a failed step, and resumes an interrupted
// rotation at the step it reached. A function acts on the secret only through Secrets Manager
// (SecretsClient), with the permissions of its execution role, exactly as a Lambda does.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace coffer::rotation {

// The Lambda event of one step.
struct StepEvent {
  std::string step;            // "createSecret" | "setSecret" | "testSecret" | "finishSecret"
  std::string secret_arn;      // "SecretId"
  std::string token;           // "ClientRequestToken": the version being rotated in
  std::string rotation_token;  // "RotationToken": opaque, passed back on PutSecretValue
};

// Secrets Manager as the function's execution role sees it.
class SecretsClient {
 public:
  virtual ~SecretsClient() = default;
  // Calls one Secrets Manager operation ("GetSecretValue", "PutSecretValue", "DescribeSecret",
  // "UpdateSecretVersionStage", "GetRandomPassword", ...) with the AWS JSON input; returns the
  // AWS JSON output or the AWS error.
  virtual Result<boost::json::object> Call(std::string_view operation,
                                           const boost::json::object& input) = 0;
};

class RotationFunction {
 public:
  virtual ~RotationFunction() = default;
  // Runs one step. An error fails the step; its message and whatever the function appended to
  // `log` are recorded after the engine has removed every secret value from them.
  virtual Status Invoke(const StepEvent& event, SecretsClient& secrets, std::string* log) = 0;
};

}  // namespace coffer::rotation
