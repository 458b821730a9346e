#include "services/kms/kms_common.h"

#include <map>
#include <set>

#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "protocol/json_input.h"
#include "protocol/json_tags.h"
#include "protocol/page_token.h"

namespace coffer::kms {

json::value Epoch(EpochMillis ms) {
  if (ms % 1000 == 0) return json::value(ms / 1000);
  return json::value(static_cast<double>(ms) / 1000.0);
}

std::string KeyArn(const Scope& scope, const std::string& key_id) {
  return "arn:aws:kms:" + scope.region + ":" + scope.account + ":key/" + key_id;
}

std::string AliasArn(const Scope& scope, const std::string& alias) {
  return "arn:aws:kms:" + scope.region + ":" + scope.account + ":" + alias;
}

json::object KeyMetadata(const KmsKeyRow& k) {
  json::object m{{"AWSAccountId", k.account},
                 {"KeyId", k.key_id},
                 {"Arn", k.arn},
                 {"CreationDate", Epoch(k.created_ms)},
                 {"Enabled", k.state == KeyState::kEnabled},
                 {"Description", k.description},
                 {"KeyUsage", "ENCRYPT_DECRYPT"},
                 {"KeyState", KeyStateName(k.state)}};
  if (k.deletion_ms) m["DeletionDate"] = Epoch(*k.deletion_ms);
  if (k.pending_window_days) m["PendingDeletionWindowInDays"] = *k.pending_window_days;
  m["Origin"] = "AWS_KMS";
  m["KeyManager"] = KeyManagerName(k.manager);
  m["CustomerMasterKeySpec"] = kAlgorithm;
  m["KeySpec"] = kAlgorithm;
  m["EncryptionAlgorithms"] = json::array{kAlgorithm};
  m["MultiRegion"] = false;
  return m;
}

Result<std::string> DecodeBlob(JsonInput& in, const char* member, bool required, size_t max) {
  auto text = in.String(member, {.required = required, .sensitive = true});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!text) return std::string();
  auto bytes = crypto::Base64Decode(*text);
  OPENSSL_cleanse(text->data(), text->size());
  if (!bytes)
    return Status(ErrorCode::kSerializationException, std::string(member) + " is not base64.");
  if (bytes->empty() || bytes->size() > max) {
    OPENSSL_cleanse(bytes->data(), bytes->size());
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value at '" + LowerFirst(member) +
                      "' failed to satisfy constraint: Member must have length between 1 and " +
                      std::to_string(max));
  }
  return std::move(*bytes);
}

Result<std::map<std::string, std::string>> DecodeContext(JsonInput& in, const char* member) {
  std::map<std::string, std::string> ctx;
  const json::object* o = in.Object(member);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (o == nullptr) return ctx;
  for (const auto& [k, v] : *o) {
    if (!v.is_string()) {
      return Status(ErrorCode::kSerializationException,
                    "Encryption context values must be strings.");
    }
    ctx[std::string(k)] = std::string(v.get_string());
  }
  return ctx;
}

Status CheckAlgorithm(JsonInput& in, const char* member) {
  auto alg = in.String(member);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (alg && *alg != kAlgorithm) {
    return Status(ErrorCode::kInvalidKeyUsageException,
                  "coffer's keys are symmetric: the only encryption algorithm is "
                  "SYMMETRIC_DEFAULT.");
  }
  return Status::Ok();
}

Status ValidatePolicy(const std::string& policy) {
  boost::system::error_code ec;
  json::value v = json::parse(policy, ec);
  if (ec || !v.is_object() || !v.get_object().contains("Statement")) {
    return Status(ErrorCode::kMalformedPolicyDocumentException,
                  "The new key policy will not allow you to update the key policy in the future.");
  }
  return Status::Ok();
}

Status DryRun(JsonInput& in) {
  auto dry = in.Bool("DryRun");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (dry.value_or(false)) {
    return Status(ErrorCode::kDryRunOperationException,
                  "The request would have succeeded, but the DryRun option is set.");
  }
  return Status::Ok();
}

Status NotChangeable(const KmsKeyRow& k) {
  return Status(ErrorCode::kUnsupportedOperationException,
                k.arn + " is an AWS managed key: it cannot be changed, disabled or deleted.");
}

Status NotUsable(const KmsKeyRow& k) {
  if (k.state == KeyState::kDisabled)
    return Status(ErrorCode::kDisabledException, k.arn + " is disabled.");
  if (k.state == KeyState::kPendingDeletion) {
    return Status(ErrorCode::kKMSInvalidStateException, k.arn + " is pending deletion.");
  }
  return Status::Ok();
}

Result<Tags> DecodeKmsTags(const json::array* arr) {
  static const Status kBadSize(ErrorCode::kTagException,
                               "Tag keys are 1-128 and values 0-256 characters.");
  static const TagListFormat kKeyTags{
      .key_member = "TagKey",
      .value_member = "TagValue",
      .later_replaces_earlier = true,
      .missing_member = Status(ErrorCode::kTagException, "Each tag needs a TagKey and a TagValue."),
      .bad_key_size = kBadSize,
      .bad_value_size = kBadSize,
      .reserved_prefix =
          Status(ErrorCode::kTagException, "Tag keys beginning with aws: are reserved."),
  };
  return DecodeTagList(arr, kKeyTags);
}

std::string EncodeMarker(const std::string& last) { return EncodePageToken("kms", last); }

Result<std::string> DecodeMarker(const std::optional<std::string>& marker) {
  auto position = DecodePageToken("kms", marker);
  if (!position) {
    return Status(ErrorCode::kInvalidMarkerException,
                  "The marker that specifies where to start is invalid.");
  }
  return std::move(*position);
}

void AddEncryptionContext(const std::map<std::string, std::string>& context,
                          std::map<std::string, std::vector<std::string>>* keys) {
  if (context.empty()) return;
  std::vector<std::string> names;
  for (const auto& [k, v] : context) {
    (*keys)["kms:encryptioncontext:" + AsciiLower(k)].push_back(v);
    names.push_back(k);
  }
  (*keys)["kms:encryptioncontextkeys"] = std::move(names);
}

std::optional<std::string> RequestAlias(const std::string& ref) {
  if (ref.rfind("alias/", 0) == 0) return ref;
  if (auto arn = ParseArn(ref); arn && arn->resource.rfind("alias/", 0) == 0) {
    return arn->resource;
  }
  return std::nullopt;
}

bool IsValidAliasName(const std::string& alias) {
  if (alias.size() < 7 || alias.size() > 256 || alias.rfind("alias/", 0) != 0) return false;
  for (char c : alias) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace coffer::kms
