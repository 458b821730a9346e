// Rotation's tables: the rotation functions registered with coffer (what a RotationLambdaARN
// names) and the rotations in progress with their leases. Error contract: store/deployment.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/enum_names.h"
#include "core/status.h"

namespace coffer {

// How a rotation function runs: a program on the server's host, an HTTP endpoint, or one of
// coffer's built-in rotators.
enum class RotationFunctionKind { kExec, kHttp, kBuiltin };
inline constexpr EnumName<RotationFunctionKind> kRotationFunctionKindNames[] = {
    {RotationFunctionKind::kExec, "exec"},
    {RotationFunctionKind::kHttp, "http"},
    {RotationFunctionKind::kBuiltin, "builtin"}};
inline std::string_view RotationFunctionKindName(RotationFunctionKind k) {
  return NameOf(kRotationFunctionKindNames, k);
}

// What a rotation run does: rotate (RotateImmediately, the default), only test the function's
// steps (RotateImmediately=false), or stop because the secret's rotation was cancelled.
enum class RotationRunMode { kRotate, kTest, kCancelled };
inline constexpr EnumName<RotationRunMode> kRotationRunModeNames[] = {
    {RotationRunMode::kRotate, "rotate"},
    {RotationRunMode::kTest, "test"},
    {RotationRunMode::kCancelled, "cancelled"}};
inline std::string_view RotationRunModeName(RotationRunMode m) {
  return NameOf(kRotationRunModeNames, m);
}

struct RotationFunctionRow {
  std::string account;
  std::string region;
  std::string name;
  RotationFunctionKind kind = RotationFunctionKind::kExec;
  std::string config;    // JSON: exec {"Command":[...], "Environment":{...}}, http {"Url":...},
                         // builtin {"Builtin": "postgres-single-user" | ...}
  std::string role_arn;  // the execution role the function acts as
  int64_t timeout_seconds = 300;
  std::string wrapped_signing_key;  // http: HMAC key for the request signature (storage key)
  EpochMillis created_ms = 0;
};

// A rotation in progress (at most one per secret) and its lease.
struct RotationRunRow {
  int64_t secret_id = 0;
  std::string secret_arn;
  std::string account;
  std::string region;
  std::string token;  // the version being rotated in
  RotationRunMode mode = RotationRunMode::kRotate;
  std::string step;                 // the next step to run
  int64_t attempts = 0;             // failed attempts so far
  EpochMillis next_attempt_ms = 0;  // not before
  std::string lease_holder;         // the process running it, if any
  EpochMillis lease_expires_ms = 0;
  EpochMillis started_ms = 0;
  std::string last_error;
};

class RotationReader {
 public:
  virtual ~RotationReader() = default;
  virtual Result<std::optional<RotationFunctionRow>> FindFunction(const std::string& account,
                                                                  const std::string& region,
                                                                  const std::string& name) = 0;
  virtual Result<std::optional<RotationRunRow>> FindRun(int64_t secret_id) = 0;
  // Runs whose next attempt is due and whose lease is free: expired, or held by a node
  // (store/cluster.h) that is sealed or has not reported since `silent_since_ms`. Oldest first.
  virtual Result<std::vector<RotationRunRow>> ListDueRuns(EpochMillis now,
                                                          EpochMillis silent_since_ms,
                                                          int limit) = 0;
};

class RotationWriter : public RotationReader {
 public:
  // Inserts or replaces the function of (account, region, name).
  virtual Status PutFunction(const RotationFunctionRow& row) = 0;
  virtual Status DeleteFunction(const std::string& account, const std::string& region,
                                const std::string& name) = 0;
  // Inserts or replaces the run of row.secret_id.
  virtual Status PutRun(const RotationRunRow& row) = 0;
  virtual Status DeleteRun(int64_t secret_id) = 0;
};

}  // namespace coffer
