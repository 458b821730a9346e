// RotationEngine: runs the four-step rotation protocol for every secret whose rotation was
// asked for (RotateSecret) or is due by its schedule, and survives failures and restarts.
//
// State lives in the store, never only in memory: a secret's schedule (next_rotation_ms) and, per
// rotation under way, a run row (token, next step, attempts, lease). A pass (RunDue):
//   1. starts a run for each secret whose window has begun (catching up after downtime);
//   2. claims due runs by taking their lease in a write transaction, so two coffer processes
//      sharing a store never run one rotation twice, and one secret never has two rotations;
//   3. runs each claimed run's steps in order, recording each step before the next, so a crash
//      resumes where it stopped; steps are the function's and must be idempotent;
//   4. on success records LastRotatedDate and the next window; on failure keeps AWSCURRENT where
//      it is, records the error (secret values removed) and retries with exponential backoff,
//      abandoning the run after max_attempts.
// Every transition is an event in coffer's event stream (RotationStarted, RotationSucceeded,
// RotationFailed, RotationAbandoned, TestRotationStarted/Succeeded/Failed), shaped as the
// CloudTrail service event, with invokedBy secretsmanager.amazonaws.com.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "keyring/keyring.h"
#include "rotation/rotation_function.h"
#include "services/secrets/secrets_service.h"
#include "services/sts/sts_service.h"
#include "store/store.h"

namespace coffer::rotation {

struct EngineOptions {
  std::string holder_id;  // identifies this process in leases
  std::string endpoint;   // coffer's own URL, for exec functions (AWS_ENDPOINT_URL)
  int max_attempts = 5;   // failed attempts before a run is abandoned
  EpochMillis base_backoff_ms = 60 * 1000;  // 1, 2, 4, ... minutes between attempts
  // Hosts `http` functions may be on besides loopback (--rotation-http-host).
  std::vector<std::string> allowed_http_hosts;
};

using BuiltinFactory = std::function<std::unique_ptr<RotationFunction>()>;

class RotationEngine {
 public:
  RotationEngine(Store* store, Keyring* keyring, secrets::SecretsService* secrets,
                 sts::StsService* sts, const Authorizer* authorizer, const Clock* clock,
                 EngineOptions options);

  void RegisterBuiltin(const std::string& name, BuiltinFactory factory);
  void set_endpoint(std::string endpoint) { options_.endpoint = std::move(endpoint); }

  // Whether a RotationLambdaARN (arn:aws:lambda:<region>:<account>:function:<name>) names a
  // registered function.
  bool FunctionExists(const std::string& lambda_arn);

  // One pass over due work (see above). Returns how many steps ran.
  Result<int> RunDue();

  // "coffer_rotations_total{result="succeeded"} 3\n..." for GET /metrics.
  std::string PrometheusText() const;

 private:
  struct Outcome {
    Status status;
    std::string log;
  };
  Outcome RunStep(const RotationRunRow& run, const RotationFunctionRow& function,
                  const StepEvent& event);
  Outcome RunExec(const RotationFunctionRow& function, const StepEvent& event);
  Outcome RunHttp(const RotationFunctionRow& function, const StepEvent& event);
  Status RemoveTestVersion(const RotationRunRow& run);
  void Event(const RotationRunRow& run, const std::string& name, const std::string& step,
             const std::string& error);
  // Every string a log or error might leak: the secret's current, pending and previous values
  // and their JSON members.
  std::vector<std::string> SensitiveValues(const RotationRunRow& run);

  Store* store_;
  Keyring* keyring_;
  secrets::SecretsService* secrets_;
  sts::StsService* sts_;
  const Authorizer* authorizer_;
  const Clock* clock_;
  EngineOptions options_;
  std::map<std::string, BuiltinFactory> builtins_;
  mutable std::mutex counts_mu_;
  std::map<std::string, uint64_t> counts_;  // event name -> how many
};

// The AAD under which an http function's signing key is stored.
std::string SigningKeyPurpose(const std::string& account, const std::string& region,
                              const std::string& name);

// "arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]" -> (account, region, name).
bool ParseFunctionArn(const std::string& arn, std::string* account, std::string* region,
                      std::string* name);

// Removes every occurrence of each value (4 characters or longer) from text.
std::string Redact(std::string text, const std::vector<std::string>& values);

}  // namespace coffer::rotation
