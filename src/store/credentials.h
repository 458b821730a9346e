// Credentials: long-term access keys (AKIA...) and the temporary credentials STS issued
// (ASIA...), each with its secret sealed under the storage key. Error contract:
// store/deployment.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/enum_names.h"
#include "core/status.h"
#include "core/tags.h"

namespace coffer {

// Whether an access key may sign requests. (IAM's statusType also names Expired, which
// UpdateAccessKey refuses and coffer never stores.)
enum class AccessKeyStatus { kActive, kInactive };
inline constexpr EnumName<AccessKeyStatus> kAccessKeyStatusNames[] = {
    {AccessKeyStatus::kActive, "Active"}, {AccessKeyStatus::kInactive, "Inactive"}};
inline std::string_view AccessKeyStatusName(AccessKeyStatus s) {
  return NameOf(kAccessKeyStatusNames, s);
}

// Who a temporary session was issued to: a role (AssumeRole), an IAM user or the account root
// (GetSessionToken).
enum class SessionPrincipal { kAssumedRole, kUser, kRoot };
inline constexpr EnumName<SessionPrincipal> kSessionPrincipalNames[] = {
    {SessionPrincipal::kAssumedRole, "AssumedRole"},
    {SessionPrincipal::kUser, "User"},
    {SessionPrincipal::kRoot, "Root"}};
inline std::string_view SessionPrincipalName(SessionPrincipal p) {
  return NameOf(kSessionPrincipalNames, p);
}

struct AccessKeyRow {
  std::string access_key_id;
  std::string wrapped_secret;  // secret access key sealed under the storage key
  std::string account;
  std::string principal_arn;
  std::string user_id;
  EpochMillis created_ms = 0;
  AccessKeyStatus status = AccessKeyStatus::kActive;
  std::string user_name;  // the IAM user's name; empty for the account root
};

// Temporary credentials issued by STS (access key ids start with ASIA).
struct StsSessionRow {
  std::string access_key_id;
  std::string wrapped_secret;  // under the storage key
  std::string token_hash;      // SHA-256 (hex) of the session token
  std::string account;
  std::string principal_arn;  // arn:aws:sts::<acct>:assumed-role/<role>/<session>, or the user
  std::string user_id;        // AROA...:<session>, or the user's id
  SessionPrincipal principal_type = SessionPrincipal::kAssumedRole;
  std::string role_arn;             // AssumedRole: the role's IAM ARN
  std::string user_name;            // User: the IAM user whose policies apply
  std::string session_policy;       // inline session policy JSON ("" = none)
  std::string session_policy_arns;  // managed session policy ARNs, newline-separated
  bool has_session_policies = false;
  Tags session_tags;
  int chain_depth = 0;  // 1 when a role session assumed another role
  EpochMillis created_ms = 0;
  EpochMillis expires_ms = 0;
};

class CredentialsReader {
 public:
  virtual ~CredentialsReader() = default;
  virtual Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& access_key_id) = 0;
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeys() = 0;
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeysForUser(const std::string& account,
                                                                  const std::string& user_name) = 0;
  virtual Result<std::optional<StsSessionRow>> FindSession(const std::string& access_key_id) = 0;
};

class CredentialsWriter : public CredentialsReader {
 public:
  virtual Status InsertAccessKey(const AccessKeyRow& row) = 0;
  virtual Status UpdateAccessKeyStatus(const std::string& access_key_id,
                                       AccessKeyStatus status) = 0;
  virtual Status DeleteAccessKey(const std::string& access_key_id) = 0;
  virtual Status InsertSession(const StsSessionRow& row) = 0;
  virtual Status DeleteExpiredSessions(EpochMillis now) = 0;
};

}  // namespace coffer
