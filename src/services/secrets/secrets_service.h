// The Secrets Manager service: every operation of the AWS Secrets Manager API that coffer serves.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html
//
// Each handler decodes its operation's members (the member names are that operation's
// contract), applies the domain rules (version_stages.h, secret_filters.h) inside one store
// transaction, and encodes the response. Values are sealed by the Keyring under the secret's KMS
// key with an encryption context that binds account, region, ARN and version id.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "services/secrets/secret_read_cache.h"
#include "store/store.h"

namespace coffer::secrets {

class SecretsService {
 public:
  SecretsService(Store* store, Keyring* keyring, const Clock* clock);

  // Serves one operation (the part of X-Amz-Target after "secretsmanager."). Thread-safe.
  Result<boost::json::object> Handle(std::string_view operation, const RequestContext& ctx,
                                     const boost::json::object& input);

  // Rotation: `function_exists` tells whether a RotationLambdaARN names a registered rotation
  // function; `wake` is called after RotateSecret queued a rotation. Set before serving.
  void SetRotationHooks(std::function<bool(const std::string&)> function_exists,
                        std::function<void()> wake) {
    rotation_functions_ = std::move(function_exists);
    rotation_wake_ = std::move(wake);
  }

  // The secret `secret_id` names, if the caller may DescribeSecret it (as DescribeSecret
  // decides, with its errors): what a watch of its versions (version_watch.h) may report.
  Result<SecretRow> DescribableSecret(const RequestContext& ctx, const std::string& secret_id) {
    return AuthorizedSecret(ctx, "secretsmanager:DescribeSecret", secret_id);
  }

  // Permanently deletes secrets whose recovery window has ended. Returns how many were purged.
  // Called periodically by the server's background job; safe to run concurrently with requests.
  Result<int> PurgeExpired();

 private:
  Result<boost::json::object> CreateSecret(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> GetSecretValue(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> BatchGetSecretValue(const RequestContext&,
                                                  const boost::json::object&);
  Result<boost::json::object> PutSecretValue(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> UpdateSecret(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> UpdateSecretVersionStage(const RequestContext&,
                                                       const boost::json::object&);
  Result<boost::json::object> DescribeSecret(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> ListSecrets(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> ListSecretVersionIds(const RequestContext&,
                                                   const boost::json::object&);
  Result<boost::json::object> DeleteSecret(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> RestoreSecret(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> TagResource(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> UntagResource(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> GetRandomPassword(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> PutResourcePolicy(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> RotateSecret(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> CancelRotateSecret(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> GetResourcePolicy(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> DeleteResourcePolicy(const RequestContext&,
                                                   const boost::json::object&);
  Result<boost::json::object> ValidateResourcePolicy(const RequestContext&,
                                                     const boost::json::object&);

  // Resolves SecretId and authorizes `action` on the secret (its ARN, resource policy and
  // condition keys) before anything else happens. A secret that does not exist is reported as
  // ResourceNotFoundException only to callers allowed the action on its name, as in AWS.
  Result<SecretRow> AuthorizedSecret(const RequestContext& ctx, const char* action,
                                     const std::string& secret_id, ConditionKeys extra = {});
  // `named_as` is the SecretId as the request gave it (what a denial names).
  Status AuthorizeOn(const RequestContext& ctx, const char* action, const SecretRow& secret,
                     ConditionKeys extra = {}, const std::string& named_as = {});
  // The check for a SecretId that names no secret: against the ARN it would have, owned by the
  // account it names, so that a secret of another account that does not exist is refused just
  // as one that exists.
  Status AuthorizeMissing(const RequestContext& ctx, const char* action,
                          const std::string& secret_id, ConditionKeys extra);
  // Secrets Manager uses the secret's KMS key on the caller's behalf: a customer managed key's
  // policy (and the caller's IAM policies, where the key policy delegates to them) must allow
  // `kms_action` through secretsmanager (kms:ViaService).
  // https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html
  Status AuthorizeKeyUse(const RequestContext& ctx, const KmsKeyRow& key, const char* kms_action,
                         const std::string& secret_arn);

  // Whether a change may apply to a secret scheduled for deletion (only RestoreSecret's does).
  enum class WhenDeleted { kRefuse, kAllow };
  using SecretChange = std::function<Status(StoreWriter&, SecretRow&)>;
  // The write half of a change authorized on `authorized`: in one write transaction, reads the
  // secret again by its ARN and refuses it when it is gone (ResourceNotFoundException), when it
  // is scheduled for deletion (InvalidRequestException, unless kAllow), or when its resource
  // policy or tags changed since the authorization read them (InternalServiceError, which SDKs
  // retry: the permission must be decided afresh); then runs `change` on it, which makes its
  // own writes. Returns the secret as `change` left it.
  Result<SecretRow> WriteSecret(const SecretRow& authorized, WhenDeleted when_deleted,
                                const SecretChange& change);
  // AuthorizedSecret, then WriteSecret: the whole of an operation that changes a secret and
  // needs nothing in between (a key, a sealed value).
  Result<SecretRow> MutateSecret(const RequestContext& ctx, const char* action,
                                 const std::string& secret_id, ConditionKeys extra,
                                 const SecretChange& change,
                                 WhenDeleted when_deleted = WhenDeleted::kRefuse);

  Store* store_;
  Keyring* keyring_;
  const Clock* clock_;
  SecretReadCache read_cache_{64 << 20};
  std::function<bool(const std::string&)> rotation_functions_;
  std::function<void()> rotation_wake_;
};

}  // namespace coffer::secrets
