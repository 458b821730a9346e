// RotationEngine: runs the four-step rotation protocol for every secret whose rotation was
// asked for (RotateSecret) or is due by its schedule, and survives failures and restarts.
//
// State lives in the store, never only in memory: a secret's schedule (next_rotation_ms) and, per
// rotation under way, a run row (token, next step, attempts, lease). A pass (RunDue):
//   1. starts a run for each secret whose window has begun (catching up after downtime);
//   2. claims due runs by taking their lease in a write transaction, so two coffer processes
//      sharing a store never run one rotation twice, and one secret never has two rotations.
//      A lease lapses when it expires or when its holder, a node, stops reporting (it died) or
//      is sealed: another node then resumes the run at the step it was in, and the old holder,
//      should it come back, finds the run no longer its own before recording anything;
//   3. runs each claimed run's steps in order, recording each step before the next, so a crash
//      resumes where it stopped; steps are the function's and must be idempotent. Runs of
//      different secrets go to a bounded pool of workers and proceed side by side: only as many
//      runs are claimed as there are idle workers, so a function that hangs until its timeout
//      holds one worker and delays no other secret;
//   4. on success records LastRotatedDate and the next window; on failure keeps AWSCURRENT where
//      it is, records the error (secret values removed) and retries with exponential backoff,
//      abandoning the run after max_attempts.
// A function acts as its execution role, which must be a role of the function's account that
// trusts lambda.amazonaws.com (checked whenever credentials are issued), and is found only in
// the secret's own account. What a failing function printed is kept only as a bounded summary
// from which every value of the secret, in the encodings a program prints them in, is removed.
// Every transition is an event in coffer's event stream (RotationStarted, RotationSucceeded,
// RotationFailed, RotationAbandoned, TestRotationStarted/Succeeded/Failed), shaped as the
// CloudTrail service event, with invokedBy secretsmanager.amazonaws.com.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_trail.h"
#include "core/clock.h"
#include "core/request_context.h"
#include "keyring/keyring.h"
#include "rotation/process_runner.h"
#include "rotation/rotation_function.h"
#include "services/secrets/secrets_service.h"
#include "services/sts/sts_service.h"
#include "store/store.h"

namespace coffer::rotation {

struct EngineOptions {
  std::string holder_id;  // identifies this process in leases: its node id (store/cluster.h)
  std::string endpoint;   // coffer's own URL, for exec functions (AWS_ENDPOINT_URL)
  int max_attempts = 5;   // failed attempts before a run is abandoned
  EpochMillis base_backoff_ms = 60 * 1000;  // 1, 2, 4, ... minutes between attempts
  // Hosts `http` functions may be on besides loopback (--rotation-http-host).
  std::vector<std::string> allowed_http_hosts;
  int max_concurrent = 4;  // rotations of different secrets run side by side, this many at most
  // `exec` functions run as this user (--exec-user) rather than as the server's.
  std::optional<RunAsUser> exec_user;
  // A run held by a node silent this long (or sealed) is taken over (app/cluster_membership.h).
  EpochMillis holder_silence_ms = 15000;
};

// The service principal Lambda uses to assume a function's execution role.
inline constexpr char kLambdaPrincipal[] = "lambda.amazonaws.com";

using BuiltinFactory = std::function<std::unique_ptr<RotationFunction>()>;

class RotationEngine {
 public:
  RotationEngine(Store* store, Keyring* keyring, secrets::SecretsService* secrets,
                 sts::StsService* sts, const Authorizer* authorizer, const Clock* clock,
                 EngineOptions options);
  // Stops: running functions are killed (their runs resume, from the step they were in, once
  // their lease expires) and the workers joined.
  ~RotationEngine();

  void RegisterBuiltin(const std::string& name, BuiltinFactory factory);
  void set_endpoint(std::string endpoint) { options_.endpoint = std::move(endpoint); }
  // The audit trail rotation's service events (RotationStarted, RotationSucceeded, ...) and the
  // built-in functions' calls to Secrets Manager are recorded in too, as CloudTrail records
  // them; `exclude_kms_events` as the dispatcher's. Call before the engine runs.
  void set_audit_trail(audit::AuditTrail* trail, bool exclude_kms_events = false) {
    trail_ = trail;
    exclude_kms_events_ = exclude_kms_events;
  }

  // Whether a RotationLambdaARN (arn:aws:lambda:<region>:<account>:function:<name>) names a
  // registered function.
  bool FunctionExists(const std::string& lambda_arn);

  // One pass over due work (see above), waiting for the runs it claimed. Returns how many
  // steps ran. For tests and tools; the server uses Dispatch.
  Result<int> RunDue();
  // Claims due runs for the idle workers and returns at once; the workers run them.
  Status Dispatch();
  // Kills running functions and refuses new work; called before shutdown.
  void Stop();

  // "coffer_rotations_total{result="succeeded"} 3\n..." for GET /metrics.
  std::string PrometheusText() const;

 private:
  struct Outcome {
    Status status;
    std::string log;
  };
  // Claims up to `limit` due runs (starting scheduled rotations first).
  Result<std::vector<RotationRunRow>> Claim(int limit);
  // Runs one claimed run to success, failure or cancellation; returns the steps run.
  Result<int> Run(RotationRunRow run);
  // After the last step: removes the run and, unless it was a test, records LastRotatedDate and
  // the next window — or sets `failed` when finishSecret did not move AWSCURRENT.
  // `*recorded` is false when the run is no longer this engine's (cancelled, or taken over).
  Status RecordSuccess(const RotationRunRow& run, EpochMillis done, Status* failed, bool* recorded);
  // After a failed step: records the redacted error and backs off, or abandons the run after
  // max_attempts (a test run is removed with its version).
  Status RecordFailure(RotationRunRow run, const Status& failed, std::string last_log,
                       EpochMillis done);
  // Hands `runs` to the workers; `done` (if any) is called after each.
  void Submit(std::vector<RotationRunRow> runs, std::function<void(const Result<int>&)> done);
  void Work();
  Outcome RunStep(const RotationRunRow& run, const RotationFunctionRow& function,
                  const StepEvent& event);
  Outcome RunExec(const RotationFunctionRow& function, const StepEvent& event);
  Outcome RunHttp(const RotationFunctionRow& function, const StepEvent& event);
  Result<sts::StsService::IssuedCredentials> RoleCredentials(const RotationFunctionRow& function);
  Status RemoveTestVersion(const RotationRunRow& run);
  // Records Secrets Manager invoking the function for one step (a Lambda Invoke data event).
  void RecordInvoke(const RotationRunRow& run, const RotationFunctionRow& function);
  void Event(const RotationRunRow& run, const std::string& name, const std::string& step,
             const std::string& error);
  // Every string a log or error might leak: the secret's current, pending and previous values
  // and their JSON members, each also as base64, base64url, hex and JSON-escaped text.
  std::vector<std::string> SensitiveValues(const RotationRunRow& run);

  Store* store_;
  audit::AuditTrail* trail_ = nullptr;
  bool exclude_kms_events_ = false;
  Keyring* keyring_;
  secrets::SecretsService* secrets_;
  sts::StsService* sts_;
  const Authorizer* authorizer_;
  const Clock* clock_;
  EngineOptions options_;
  std::map<std::string, BuiltinFactory> builtins_;
  mutable std::mutex counts_mu_;
  std::map<std::string, uint64_t> counts_;  // event name -> how many

  std::atomic<bool> stopping_{false};
  std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::deque<std::function<void()>> queue_;
  int idle_workers_ = 0;  // workers waiting for work, less the runs already handed to them
  std::vector<std::thread> workers_;
};

// The AAD under which an http function's signing key is stored.
std::string SigningKeyPurpose(const std::string& account, const std::string& region,
                              const std::string& name);

// Registers `row`, whose kind, configuration and timeout the caller has validated: its execution
// role must be a role of the function's account that trusts lambda.amazonaws.com (checked again
// whenever credentials are issued), and an http function gets the key its requests are signed
// with, wrapped under the storage key. Returns that key (hex) this once, or "" for other kinds.
// Errors: InvalidParameterValueException for the role; the store's and the keyring's.
Result<std::string> RegisterFunction(Store& store, Keyring& keyring, RotationFunctionRow row);

// "arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]" -> (account, region, name).
bool ParseFunctionArn(const std::string& arn, std::string* account, std::string* region,
                      std::string* name);

// Removes every occurrence of each value (4 characters or longer) from text.
std::string Redact(std::string text, const std::vector<std::string>& values);

// `value` as a program might print it: itself, base64 (padded and not), base64url, lowercase
// and uppercase hex, and the inside of a JSON string.
std::vector<std::string> EncodingsOf(const std::string& value);

// What is kept of a failing function's output: secret values removed, then at most the last
// `max_bytes` (a traceback ends with its cause).
std::string ErrorSummary(const std::string& message, const std::string& output,
                         const std::vector<std::string>& values, size_t max_bytes = 2048);

}  // namespace coffer::rotation
