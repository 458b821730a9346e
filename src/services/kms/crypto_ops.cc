// KMS: cryptographic operations (Encrypt, Decrypt, ReEncrypt, data keys, GenerateRandom).
#include <map>
#include <set>

#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "services/kms/kms_common.h"
#include "services/kms/kms_service.h"

namespace coffer::kms {

// https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html
Result<json::object> KmsService::Encrypt(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_ASSIGN_OR_RETURN(std::string plaintext,
                          DecodeBlob(in, "Plaintext", /*required=*/true, kMaxPlaintextBytes));
  SecretBytes plain(plaintext);
  OPENSSL_cleanse(plaintext.data(), plaintext.size());
  COFFER_ASSIGN_OR_RETURN(auto context, DecodeContext(in, "EncryptionContext"));
  COFFER_RETURN_IF_ERROR(CheckAlgorithm(in, "EncryptionAlgorithm"));
  ConditionKeys keys;
  AddEncryptionContext(context, &keys);
  keys["kms:encryptionalgorithm"] = {kAlgorithm};
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, AuthorizedKey(ctx, "kms:Encrypt", *key_id,
                                                       /*allow_alias=*/true, std::move(keys)));
  COFFER_RETURN_IF_ERROR(NotUsable(key));
  // DryRun answers only a caller who is allowed: the permission was checked above.
  COFFER_RETURN_IF_ERROR(DryRun(in));
  COFFER_ASSIGN_OR_RETURN(std::string blob,
                          keyring_->SealValue(key, EncryptionContextAad(context), plain.Reveal()));
  return json::object{{"CiphertextBlob", crypto::Base64Encode(blob)},
                      {"KeyId", key.arn},
                      {"EncryptionAlgorithm", kAlgorithm}};
}

namespace {
Status InvalidCiphertext() {
  return Status(ErrorCode::kInvalidCiphertextException,
                "The ciphertext is invalid, was not produced by this deployment, or does not "
                "match the encryption context.");
}
}  // namespace

Result<KmsKeyRow> KmsService::CiphertextKey(const RequestContext& ctx, const char* action,
                                            const std::optional<std::string>& key_ref,
                                            const std::string& blob, ConditionKeys extra) {
  auto blob_key = Keyring::EnvelopeKeyId(blob);
  if (!blob_key.ok()) return InvalidCiphertext();
  // coffer cannot tell a ciphertext made by another deployment from one whose key is gone:
  // both are invalid ciphertexts, whoever asks.
  // The key may belong to another account: its key policy decides, as for any other caller.
  auto key = keyring_->LoadKey(*blob_key);
  if (!key.ok() || key->region != ctx.scope.region) return InvalidCiphertext();
  if (key_ref) {
    // The permission is asked on the key the caller named, so a caller who may not use it
    // learns nothing about the ciphertext's key; then the two must be the same key.
    COFFER_ASSIGN_OR_RETURN(KmsKeyRow named, AuthorizedKey(ctx, action, *key_ref,
                                                           /*allow_alias=*/true, std::move(extra)));
    if (named.key_id != key->key_id) {
      return Status(ErrorCode::kIncorrectKeyException,
                    "The key ID in the request does not identify a CMK that can perform this "
                    "operation.");
    }
    return std::move(key.value());
  }
  // Without a KeyId the permission is asked on the key named inside the ciphertext; a caller who
  // may not use it is not told which key that is, as in AWS ("... on the resource associated
  // with this ciphertext").
  Status allowed = AuthorizeKey(ctx, action, *key, std::move(extra));
  if (!allowed.ok()) {
    std::string message = allowed.message();
    const std::string named = "on resource: " + key->arn;
    if (auto pos = message.find(named); pos != std::string::npos) {
      message.replace(pos, named.size(), "on the resource associated with this ciphertext");
    }
    return Status(allowed.code(), message);
  }
  return std::move(key.value());
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html
Result<json::object> KmsService::Decrypt(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_ref = in.String("KeyId", {.min_len = 1, .max_len = 2048});
  COFFER_ASSIGN_OR_RETURN(std::string blob,
                          DecodeBlob(in, "CiphertextBlob", /*required=*/true, kMaxCiphertextBytes));
  COFFER_ASSIGN_OR_RETURN(auto context, DecodeContext(in, "EncryptionContext"));
  COFFER_RETURN_IF_ERROR(CheckAlgorithm(in, "EncryptionAlgorithm"));
  ConditionKeys keys;
  AddEncryptionContext(context, &keys);
  keys["kms:encryptionalgorithm"] = {kAlgorithm};
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          CiphertextKey(ctx, "kms:Decrypt", key_ref, blob, std::move(keys)));
  auto plain = keyring_->OpenValue(EncryptionContextAad(context), blob);
  if (!plain.ok()) {
    return plain.status().code() == ErrorCode::kDecryptionFailure ? InvalidCiphertext()
                                                                  : plain.status();
  }
  COFFER_RETURN_IF_ERROR(DryRun(in));
  return json::object{{"KeyId", key.arn},
                      {"Plaintext", crypto::Base64Encode(plain->Reveal())},
                      {"EncryptionAlgorithm", kAlgorithm}};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_ReEncrypt.html
// kms:ReEncryptFrom on the source key and kms:ReEncryptTo on the destination key, each in its
// key policy, both asked before the ciphertext is opened.
Result<json::object> KmsService::ReEncrypt(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto source_ref = in.String("SourceKeyId", {.min_len = 1, .max_len = 2048});
  auto dest_ref = in.String("DestinationKeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_ASSIGN_OR_RETURN(std::string blob,
                          DecodeBlob(in, "CiphertextBlob", /*required=*/true, kMaxCiphertextBytes));
  COFFER_ASSIGN_OR_RETURN(auto source_ctx, DecodeContext(in, "SourceEncryptionContext"));
  COFFER_ASSIGN_OR_RETURN(auto dest_ctx, DecodeContext(in, "DestinationEncryptionContext"));
  COFFER_RETURN_IF_ERROR(CheckAlgorithm(in, "SourceEncryptionAlgorithm"));
  COFFER_RETURN_IF_ERROR(CheckAlgorithm(in, "DestinationEncryptionAlgorithm"));
  auto blob_key = Keyring::EnvelopeKeyId(blob);
  if (!blob_key.ok()) return InvalidCiphertext();
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow dest, FindKey(ctx.scope, *dest_ref, /*allow_alias=*/true));
  const std::string same_key = *blob_key == dest.key_id ? "true" : "false";

  ConditionKeys from;
  AddEncryptionContext(source_ctx, &from);
  from["kms:encryptionalgorithm"] = {kAlgorithm};
  from["kms:reencryptonsamekey"] = {same_key};
  COFFER_ASSIGN_OR_RETURN(
      KmsKeyRow source, CiphertextKey(ctx, "kms:ReEncryptFrom", source_ref, blob, std::move(from)));
  ConditionKeys to;
  AddEncryptionContext(dest_ctx, &to);
  to["kms:encryptionalgorithm"] = {kAlgorithm};
  to["kms:reencryptonsamekey"] = {same_key};
  if (auto alias = RequestAlias(*dest_ref)) to["kms:requestalias"] = {*alias};
  COFFER_RETURN_IF_ERROR(AuthorizeKey(ctx, "kms:ReEncryptTo", dest, std::move(to)));

  auto plain = keyring_->OpenValue(EncryptionContextAad(source_ctx), blob);
  if (!plain.ok()) {
    return plain.status().code() == ErrorCode::kDecryptionFailure ? InvalidCiphertext()
                                                                  : plain.status();
  }
  COFFER_RETURN_IF_ERROR(NotUsable(dest));
  COFFER_RETURN_IF_ERROR(DryRun(in));
  COFFER_ASSIGN_OR_RETURN(
      std::string sealed,
      keyring_->SealValue(dest, EncryptionContextAad(dest_ctx), plain->Reveal()));
  return json::object{{"CiphertextBlob", crypto::Base64Encode(sealed)},
                      {"SourceKeyId", source.arn},
                      {"KeyId", dest.arn},
                      {"SourceEncryptionAlgorithm", kAlgorithm},
                      {"DestinationEncryptionAlgorithm", kAlgorithm}};
}

Result<json::object> KmsService::DataKey(const RequestContext& ctx, const json::object& body,
                                         bool with_plaintext) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto number = in.Int("NumberOfBytes", {.min = 1, .max = 1024});
  auto spec = in.String("KeySpec");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(auto context, DecodeContext(in, "EncryptionContext"));
  if (number.has_value() == spec.has_value()) {
    return Status(ErrorCode::kValidationException,
                  "Please specify either number of bytes or key spec.");
  }
  size_t bytes = 0;
  if (spec) {
    if (*spec == "AES_256") {
      bytes = 32;
    } else if (*spec == "AES_128") {
      bytes = 16;
    } else {
      return Status(ErrorCode::kValidationException,
                    "1 validation error detected: Value '" + *spec +
                        "' at 'keySpec' failed to satisfy constraint: Member must satisfy enum "
                        "value set: [AES_256, AES_128]");
    }
  } else {
    bytes = static_cast<size_t>(*number);
  }
  ConditionKeys keys;
  AddEncryptionContext(context, &keys);
  keys["kms:encryptionalgorithm"] = {kAlgorithm};
  COFFER_ASSIGN_OR_RETURN(
      KmsKeyRow key,
      AuthorizedKey(ctx,
                    with_plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext",
                    *key_id, /*allow_alias=*/true, std::move(keys)));
  COFFER_RETURN_IF_ERROR(NotUsable(key));
  COFFER_RETURN_IF_ERROR(DryRun(in));
  SecretBytes data_key = crypto::RandomSecret(bytes);
  COFFER_ASSIGN_OR_RETURN(
      std::string blob, keyring_->SealValue(key, EncryptionContextAad(context), data_key.Reveal()));
  json::object out{{"CiphertextBlob", crypto::Base64Encode(blob)}};
  if (with_plaintext) out["Plaintext"] = crypto::Base64Encode(data_key.Reveal());
  out["KeyId"] = key.arn;
  return out;
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html
Result<json::object> KmsService::GenerateDataKey(const RequestContext& ctx,
                                                 const json::object& body) {
  return DataKey(ctx, body, /*with_plaintext=*/true);
}

Result<json::object> KmsService::GenerateDataKeyWithoutPlaintext(const RequestContext& ctx,
                                                                 const json::object& body) {
  return DataKey(ctx, body, /*with_plaintext=*/false);
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateRandom.html
// IAM policies only, on "*".
Result<json::object> KmsService::GenerateRandom(const RequestContext& ctx,
                                                const json::object& body) {
  JsonInput in(body);
  auto number = in.Int("NumberOfBytes", {.min = 1, .max = 1024});
  (void)in.String("CustomKeyStoreId");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!number) {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy "
                  "constraint: Member must not be null");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:GenerateRandom", "*"}));
  SecretBytes random = crypto::RandomSecret(static_cast<size_t>(*number));
  return json::object{{"Plaintext", crypto::Base64Encode(random.Reveal())}};
}

}  // namespace coffer::kms
