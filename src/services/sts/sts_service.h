// The STS service (AWS query protocol): GetCallerIdentity, AssumeRole and GetSessionToken.
// https://docs.aws.amazon.com/STS/latest/APIReference/
//
// Temporary credentials (access key ids ASIA...) are stored as StsSessionRows: the secret sealed
// under the storage key, the session token only as its SHA-256. Every service accepts them until
// they expire, then refuses them with ExpiredToken(Exception).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "core/request_context.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer::sts {

class StsService {
 public:
  StsService(Store* store, Keyring* keyring) : store_(store), keyring_(keyring) {}

  // Returns the inner XML of <ActionResult>. Errors: InvalidAction for actions coffer does not
  // serve, and each action's AWS errors (AccessDenied, ValidationError, MalformedPolicyDocument,
  // PackedPolicyTooLarge, ...).
  Result<std::string> Handle(std::string_view action, const RequestContext& ctx,
                             const std::map<std::string, std::string>& params);

  struct IssuedCredentials {
    std::string access_key_id;
    SecretBytes secret_access_key;
    SecretBytes session_token;
    EpochMillis expires_ms = 0;
  };
  // A session of `role` for a service acting as it (a rotation function's execution role), as
  // Lambda obtains for a function. Errors: AccessDenied when the role does not exist.
  Result<IssuedCredentials> IssueRoleSession(const std::string& role_arn,
                                             const std::string& session_name, EpochMillis now,
                                             int64_t duration_seconds);

  // Deletes sessions that expired more than a day ago (until then a request signed with them
  // is told its token expired rather than that the key is unknown).
  Status PurgeExpiredSessions(EpochMillis now);

 private:
  Result<std::string> AssumeRole(const RequestContext& ctx,
                                 const std::map<std::string, std::string>& params);
  Result<std::string> GetSessionToken(const RequestContext& ctx,
                                      const std::map<std::string, std::string>& params);
  // Issues credentials for `row` (filled but for the key, secret and token) and stores it.
  Result<IssuedCredentials> IssueSession(StsSessionRow* row);
  // The same, answered as the <Credentials> element.
  Result<std::string> Issue(StsSessionRow* row);

  Store* store_;
  Keyring* keyring_;
};

std::string XmlEscape(std::string_view s);

}  // namespace coffer::sts
