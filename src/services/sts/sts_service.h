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
  // A session of `role` for the AWS service `service_principal` acting as it (a rotation
  // function's execution role, assumed by "lambda.amazonaws.com"), as Lambda obtains for a
  // function. The role is checked again each time (ServiceMayAssumeRole): it must still be a
  // role of `account` whose trust policy lets the service assume it. Errors: AccessDenied.
  Result<IssuedCredentials> IssueRoleSession(const std::string& role_arn,
                                             const std::string& account,
                                             std::string_view service_principal,
                                             const std::string& session_name, EpochMillis now,
                                             int64_t duration_seconds);

  // Deletes sessions that expired more than a day ago (until then a request signed with them
  // is told its token expired rather than that the key is unknown).
  Status PurgeExpiredSessions(EpochMillis now);

 private:
  using Params = std::map<std::string, std::string>;
  Result<std::string> GetCallerIdentity(const RequestContext& ctx, const Params& params);
  Result<std::string> AssumeRole(const RequestContext& ctx, const Params& params);
  Result<std::string> GetSessionToken(const RequestContext& ctx, const Params& params);
  // Issues credentials for `row` (filled but for the key, secret and token) and stores it.
  Result<IssuedCredentials> IssueSession(StsSessionRow* row);
  // The same, answered as the <Credentials> element.
  Result<std::string> Issue(StsSessionRow* row);

  Store* store_;
  Keyring* keyring_;
};

// Whether `role_arn` names an existing role of `account` whose trust policy allows the AWS
// service `service_principal` (e.g. "lambda.amazonaws.com") sts:AssumeRole, as Lambda requires
// of an execution role. Returns the role. Errors: `code` (InvalidParameterValueException at
// registration, AccessDenied when credentials are issued) with Lambda's message.
// https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
Result<IamEntityRow> ServiceMayAssumeRole(StoreReader& r, const std::string& role_arn,
                                          const std::string& account,
                                          std::string_view service_principal, ErrorCode code);

}  // namespace coffer::sts
