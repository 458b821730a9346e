// The Parameter Store side of SSM: the parameter operations of the AWS SSM API.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Operations.html
//
// Values are sealed at rest: SecureString under the parameter's KMS key (default alias/aws/ssm)
// with the encryption context PARAMETER_ARN=<arn>, as AWS uses; String and StringList under the
// root key. Listing operations walk name-ordered index ranges with cursor tokens, so a page costs
// O(page + log n) however many parameters exist.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/secret_bytes.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "services/secrets/secrets_service.h"
#include "store/store.h"

namespace coffer::params {

class ParamsService {
 public:
  // `secrets` serves /aws/reference/secretsmanager/ names.
  ParamsService(Store* store, Keyring* keyring, secrets::SecretsService* secrets,
                const Clock* clock);

  // Serves one operation (the part of X-Amz-Target after "AmazonSSM."). Thread-safe.
  Result<boost::json::object> Handle(std::string_view operation, const RequestContext& ctx,
                                     const boost::json::object& input);

  // Background work for parameter policies: deletes parameters whose Expiration has passed and
  // emits ExpirationNotification / NoChangeNotification events once each. Returns the number
  // of actions taken.
  Result<int> RunPolicies();

 private:
  Result<boost::json::object> PutParameter(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> GetParameter(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> GetParameters(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> GetParametersByPath(const RequestContext&,
                                                  const boost::json::object&);
  Result<boost::json::object> DescribeParameters(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> GetParameterHistory(const RequestContext&,
                                                  const boost::json::object&);
  Result<boost::json::object> DeleteParameter(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> DeleteParameters(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> LabelParameterVersion(const RequestContext&,
                                                    const boost::json::object&);
  Result<boost::json::object> UnlabelParameterVersion(const RequestContext&,
                                                      const boost::json::object&);
  Result<boost::json::object> AddTagsToResource(const RequestContext&, const boost::json::object&);
  Result<boost::json::object> RemoveTagsFromResource(const RequestContext&,
                                                     const boost::json::object&);
  Result<boost::json::object> ListTagsForResource(const RequestContext&,
                                                  const boost::json::object&);

  // One parameter as GetParameter returns it (a name, a selector or an ARN; references to
  // Secrets Manager included), after authorizing `action` ("ssm:GetParameter" or
  // "ssm:GetParameters") on it.
  Result<boost::json::object> ReadOne(const RequestContext& ctx, const char* action,
                                      const std::string& name, bool with_decryption);
  Result<boost::json::object> ReadSecretReference(const RequestContext& ctx, const char* action,
                                                  const std::string& name, bool with_decryption);
  // The value as the caller sees it; decrypting a SecureString under a customer managed key
  // first authorizes kms:Decrypt on the key (Parameter Store decrypts as the caller).
  Result<std::string> RevealValue(const RequestContext& ctx, const ParameterRow& row,
                                  const ParameterVersionRow& version, bool with_decryption);

  // Authorizes `action` on the parameter `name` names, whether or not it exists (AWS checks
  // permissions before it reports a missing parameter); the tags of a live parameter become
  // aws:ResourceTag keys. For operations that have not loaded the parameter themselves.
  Status AuthorizeParameter(const RequestContext& ctx, const char* action, const std::string& name,
                            std::map<std::string, std::vector<std::string>> extra = {});
  // PutParameter's value sealed for the store: a SecureString under its KMS key (authorizing the
  // implicit kms:Encrypt), any other type under the storage key.
  Result<std::string> SealParameterValue(const RequestContext& ctx, const ParameterRow& row,
                                         const std::string& arn, const SecretBytes& value);
  // PutParameter's write: the parameter (created, or its next version) with the version and a
  // change event, refused with TooManyUpdates when the parameter appeared, disappeared or changed
  // type since it was read. Sets row's id, name and version.
  Status WriteParameterVersion(StoreWriter& w, const RequestContext& ctx, const std::string& name,
                               bool existed, const Tags& tags, ParameterRow* row,
                               std::string sealed);
  // The implicit kms:Encrypt / kms:Decrypt that Parameter Store makes on the caller's behalf.
  Status AuthorizeKeyUse(const RequestContext& ctx, const KmsKeyRow& key, const char* kms_action,
                         const std::string& parameter_arn);

  Store* store_;
  Keyring* keyring_;
  secrets::SecretsService* secrets_;
  const Clock* clock_;
};

}  // namespace coffer::params
