// The KMS service: symmetric keys, aliases, envelope encryption APIs, rotation, key policies
// and tags, as the AWS KMS API defines them. https://docs.aws.amazon.com/kms/latest/APIReference/
//
// Ciphertext blobs are the keyring's self-describing envelopes (keyring/keyring.h), so Decrypt
// needs no KeyId, and the encryption context is bound as AAD. Key policies are stored and
// validated as JSON; they are enforced once the policy engine exists.
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer::kms {

class KmsService {
 public:
  KmsService(Store* store, Keyring* keyring, const Clock* clock);

  // Serves one operation (the part of X-Amz-Target after "TrentService."). Thread-safe.
  Result<boost::json::object> Handle(std::string_view operation, const RequestContext& ctx,
                                     const boost::json::object& input);

  // Background work: rotates keys whose rotation date has come and deletes keys whose deletion
  // window has ended. Returns the number of keys acted on.
  Result<int> RunKeyMaintenance();

 private:
  using Handler = Result<boost::json::object> (KmsService::*)(const RequestContext&,
                                                              const boost::json::object&);
#define COFFER_KMS_OP(name) \
  Result<boost::json::object> name(const RequestContext&, const boost::json::object&);
  COFFER_KMS_OP(CreateKey)
  COFFER_KMS_OP(DescribeKey)
  COFFER_KMS_OP(ListKeys)
  COFFER_KMS_OP(UpdateKeyDescription)
  COFFER_KMS_OP(EnableKey)
  COFFER_KMS_OP(DisableKey)
  COFFER_KMS_OP(ScheduleKeyDeletion)
  COFFER_KMS_OP(CancelKeyDeletion)
  COFFER_KMS_OP(CreateAlias)
  COFFER_KMS_OP(UpdateAlias)
  COFFER_KMS_OP(DeleteAlias)
  COFFER_KMS_OP(ListAliases)
  COFFER_KMS_OP(Encrypt)
  COFFER_KMS_OP(Decrypt)
  COFFER_KMS_OP(ReEncrypt)
  COFFER_KMS_OP(GenerateDataKey)
  COFFER_KMS_OP(GenerateDataKeyWithoutPlaintext)
  COFFER_KMS_OP(GenerateRandom)
  COFFER_KMS_OP(EnableKeyRotation)
  COFFER_KMS_OP(DisableKeyRotation)
  COFFER_KMS_OP(GetKeyRotationStatus)
  COFFER_KMS_OP(RotateKeyOnDemand)
  COFFER_KMS_OP(ListKeyRotations)
  COFFER_KMS_OP(GetKeyPolicy)
  COFFER_KMS_OP(PutKeyPolicy)
  COFFER_KMS_OP(ListKeyPolicies)
  COFFER_KMS_OP(TagResource)
  COFFER_KMS_OP(UntagResource)
  COFFER_KMS_OP(ListResourceTags)
#undef COFFER_KMS_OP

  // Resolves a KeyId input (key id, key ARN and, where `allow_alias`, alias name or alias ARN)
  // within the caller's scope. Errors: NotFoundException.
  Result<KmsKeyRow> FindKey(const Scope& scope, const std::string& key_ref, bool allow_alias);
  // Finds a key and applies `change` to it in one write transaction.
  Result<KmsKeyRow> ChangeKey(const RequestContext& ctx, const std::string& key_ref,
                              const std::function<Status(KmsKeyRow&, StoreWriter&)>& change);
  // EnableKey and DisableKey: customer keys only, and not while pending deletion.
  Result<boost::json::object> SetKeyState(const RequestContext& ctx,
                                          const boost::json::object& body, const char* state);
  Result<boost::json::object> DataKey(const RequestContext& ctx, const boost::json::object& body,
                                      bool with_plaintext);

  Store* store_;
  Keyring* keyring_;
  const Clock* clock_;
};

}  // namespace coffer::kms
