// The KMS service: symmetric keys, aliases, envelope encryption APIs, rotation, key policies
// and tags, as the AWS KMS API defines them. https://docs.aws.amazon.com/kms/latest/APIReference/
//
// Ciphertext blobs are the keyring's self-describing envelopes (keyring/keyring.h), so Decrypt
// needs no KeyId, and the encryption context is bound as AAD.
//
// Authorization follows KMS's model: every operation on a key asks ctx.Authorize with the key's
// own key policy as the authoritative resource policy (key_policy = true), so IAM policies count
// only where the key policy delegates to the account. Alias operations also need permission on
// the alias (IAM policies only), and the account-wide operations (CreateKey, ListKeys,
// ListAliases, GenerateRandom) are authorized on "*" by IAM policies alone.
// https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

  // Condition keys of one authorization check (lowercase names).

  // Resolves a KeyId input (key id, key ARN and, where `allow_alias`, alias name or alias ARN)
  // within the caller's scope. Errors: NotFoundException.
  Result<KmsKeyRow> FindKey(const Scope& scope, const std::string& key_ref, bool allow_alias);
  // Asks whether the caller may perform `action` on `key`: the key policy is authoritative, and
  // the key's condition keys (kms:CallerAccount, kms:KeySpec, aws:ResourceTag/..., ...) are
  // added to `extra`. Errors: AccessDeniedException.
  Status AuthorizeKey(const RequestContext& ctx, const char* action, const KmsKeyRow& key,
                      ConditionKeys extra = {});
  // FindKey, then AuthorizeKey (adding kms:RequestAlias when `key_ref` is an alias).
  Result<KmsKeyRow> AuthorizedKey(const RequestContext& ctx, const char* action,
                                  const std::string& key_ref, bool allow_alias,
                                  ConditionKeys extra = {});
  // Finds a key, authorizes `action` on it, and applies `change` to it in one write transaction.
  Result<KmsKeyRow> ChangeKey(const RequestContext& ctx, const std::string& key_ref,
                              const char* action, ConditionKeys extra,
                              const std::function<Status(KmsKeyRow&, StoreWriter&)>& change);
  // The key a ciphertext was sealed under, authorized for `action` (kms:Decrypt,
  // kms:ReEncryptFrom). With `key_ref`, that key must be the ciphertext's
  // (IncorrectKeyException). Errors: InvalidCiphertextException, NotFoundException,
  // AccessDeniedException.
  Result<KmsKeyRow> CiphertextKey(const RequestContext& ctx, const char* action,
                                  const std::optional<std::string>& key_ref,
                                  const std::string& blob, ConditionKeys extra);
  // EnableKey and DisableKey: customer keys only, and not while pending deletion.
  Result<boost::json::object> SetKeyState(const RequestContext& ctx,
                                          const boost::json::object& body, KeyState state);
  Result<boost::json::object> DataKey(const RequestContext& ctx, const boost::json::object& body,
                                      bool with_plaintext);

  Store* store_;
  Keyring* keyring_;
  const Clock* clock_;
};

}  // namespace coffer::kms
