#include "services/kms/kms_service.h"

#include <map>
#include <set>

#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"

namespace coffer::kms {
namespace json = boost::json;
namespace {

// https://docs.aws.amazon.com/kms/latest/developerguide/limits.html
constexpr size_t kMaxPlaintextBytes = 4096;
constexpr size_t kMaxCiphertextBytes = 6144;
constexpr size_t kMaxTags = 50;
constexpr int kMaxOnDemandRotations = 10;
constexpr char kAlgorithm[] = "SYMMETRIC_DEFAULT";

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
                 {"Enabled", k.state == "Enabled"},
                 {"Description", k.description},
                 {"KeyUsage", "ENCRYPT_DECRYPT"},
                 {"KeyState", k.state}};
  if (k.deletion_ms) m["DeletionDate"] = Epoch(*k.deletion_ms);
  if (k.pending_window_days) m["PendingDeletionWindowInDays"] = *k.pending_window_days;
  m["Origin"] = "AWS_KMS";
  m["KeyManager"] = k.manager;
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
  if (!bytes) return Status("SerializationException", std::string(member) + " is not base64.");
  if (bytes->empty() || bytes->size() > max) {
    OPENSSL_cleanse(bytes->data(), bytes->size());
    return Status("ValidationException",
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
      return Status("SerializationException", "Encryption context values must be strings.");
    }
    ctx[std::string(k)] = std::string(v.get_string());
  }
  return ctx;
}

Status CheckAlgorithm(JsonInput& in, const char* member) {
  auto alg = in.String(member);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (alg && *alg != kAlgorithm) {
    return Status("InvalidKeyUsageException",
                  "coffer's keys are symmetric: the only encryption algorithm is "
                  "SYMMETRIC_DEFAULT.");
  }
  return Status::Ok();
}

Status ValidatePolicy(const std::string& policy) {
  boost::system::error_code ec;
  json::value v = json::parse(policy, ec);
  if (ec || !v.is_object() || !v.get_object().contains("Statement")) {
    return Status("MalformedPolicyDocumentException",
                  "The new key policy will not allow you to update the key policy in the future.");
  }
  return Status::Ok();
}

// DryRun checks the request and the key, then stops short of the operation.
// https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html
Status DryRun(JsonInput& in) {
  auto dry = in.Bool("DryRun");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (dry.value_or(false)) {
    return Status("DryRunOperationException",
                  "The request would have succeeded, but the DryRun option is set.");
  }
  return Status::Ok();
}

Status NotChangeable(const KmsKeyRow& k) {
  return Status("UnsupportedOperationException",
                k.arn + " is an AWS managed key: it cannot be changed, disabled or deleted.");
}

Status NotUsable(const KmsKeyRow& k) {
  if (k.state == "Disabled") return Status("DisabledException", k.arn + " is disabled.");
  if (k.state == "PendingDeletion") {
    return Status("KMSInvalidStateException", k.arn + " is pending deletion.");
  }
  return Status::Ok();
}

Result<Tags> DecodeKmsTags(const json::array* arr) {
  Tags tags;
  if (arr == nullptr) return tags;
  for (const auto& e : *arr) {
    if (!e.is_object()) return Status("SerializationException", "Expected a Tag structure.");
    const auto* k = e.get_object().if_contains("TagKey");
    const auto* v = e.get_object().if_contains("TagValue");
    if (k == nullptr || !k->is_string() || v == nullptr || !v->is_string()) {
      return Status("TagException", "Each tag needs a TagKey and a TagValue.");
    }
    std::string key(k->get_string()), value(v->get_string());
    if (key.empty() || key.size() > 128 || value.size() > 256) {
      return Status("TagException", "Tag keys are 1-128 and values 0-256 characters.");
    }
    if (key.rfind("aws:", 0) == 0) {
      return Status("TagException", "Tag keys beginning with aws: are reserved.");
    }
    PutTag(&tags, std::move(key), std::move(value));
  }
  return tags;
}

std::string EncodeMarker(const std::string& last) { return EncodePageToken("kms", last); }
Result<std::string> DecodeMarker(const std::optional<std::string>& marker) {
  auto position = DecodePageToken("kms", marker);
  if (!position) {
    return Status("InvalidMarkerException", "The marker that specifies where to start is invalid.");
  }
  return std::move(*position);
}

// kms:EncryptionContext:<context-key> (one per pair) and kms:EncryptionContextKeys. Condition key
// names are matched case-insensitively, so the context key is lowercased here with the rest of
// the name; values keep their case.
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context
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

// The alias a KeyId input names (alias name or alias ARN), for kms:RequestAlias.
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-request-alias
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

}  // namespace

KmsService::KmsService(Store* store, Keyring* keyring, const Clock* clock)
    : store_(store), keyring_(keyring), clock_(clock) {}

Result<json::object> KmsService::Handle(std::string_view operation, const RequestContext& ctx,
                                        const json::object& input) {
  static const std::map<std::string_view, Handler> kHandlers = {
      {"CreateKey", &KmsService::CreateKey},
      {"DescribeKey", &KmsService::DescribeKey},
      {"ListKeys", &KmsService::ListKeys},
      {"UpdateKeyDescription", &KmsService::UpdateKeyDescription},
      {"EnableKey", &KmsService::EnableKey},
      {"DisableKey", &KmsService::DisableKey},
      {"ScheduleKeyDeletion", &KmsService::ScheduleKeyDeletion},
      {"CancelKeyDeletion", &KmsService::CancelKeyDeletion},
      {"CreateAlias", &KmsService::CreateAlias},
      {"UpdateAlias", &KmsService::UpdateAlias},
      {"DeleteAlias", &KmsService::DeleteAlias},
      {"ListAliases", &KmsService::ListAliases},
      {"Encrypt", &KmsService::Encrypt},
      {"Decrypt", &KmsService::Decrypt},
      {"ReEncrypt", &KmsService::ReEncrypt},
      {"GenerateDataKey", &KmsService::GenerateDataKey},
      {"GenerateDataKeyWithoutPlaintext", &KmsService::GenerateDataKeyWithoutPlaintext},
      {"GenerateRandom", &KmsService::GenerateRandom},
      {"EnableKeyRotation", &KmsService::EnableKeyRotation},
      {"DisableKeyRotation", &KmsService::DisableKeyRotation},
      {"GetKeyRotationStatus", &KmsService::GetKeyRotationStatus},
      {"RotateKeyOnDemand", &KmsService::RotateKeyOnDemand},
      {"ListKeyRotations", &KmsService::ListKeyRotations},
      {"GetKeyPolicy", &KmsService::GetKeyPolicy},
      {"PutKeyPolicy", &KmsService::PutKeyPolicy},
      {"ListKeyPolicies", &KmsService::ListKeyPolicies},
      {"TagResource", &KmsService::TagResource},
      {"UntagResource", &KmsService::UntagResource},
      {"ListResourceTags", &KmsService::ListResourceTags},
  };
  static const std::set<std::string_view> kNotServed = {"ConnectCustomKeyStore",
                                                        "CreateCustomKeyStore",
                                                        "CreateGrant",
                                                        "DeleteCustomKeyStore",
                                                        "DeleteImportedKeyMaterial",
                                                        "DeriveSharedSecret",
                                                        "DescribeCustomKeyStores",
                                                        "DisconnectCustomKeyStore",
                                                        "GenerateDataKeyPair",
                                                        "GenerateDataKeyPairWithoutPlaintext",
                                                        "GenerateMac",
                                                        "GetKeyLastUsage",
                                                        "GetParametersForImport",
                                                        "GetPublicKey",
                                                        "ImportKeyMaterial",
                                                        "ListGrants",
                                                        "ListRetirableGrants",
                                                        "ReplicateKey",
                                                        "RetireGrant",
                                                        "RevokeGrant",
                                                        "Sign",
                                                        "UpdateCustomKeyStore",
                                                        "UpdatePrimaryRegion",
                                                        "Verify",
                                                        "VerifyMac"};
  auto it = kHandlers.find(operation);
  if (it != kHandlers.end()) return (this->*(it->second))(ctx, input);
  // Refused before anything is read or changed, so there is nothing to authorize.
  ctx.authorized = true;
  if (kNotServed.count(operation)) {
    return Status("UnsupportedOperationException", "coffer's KMS serves symmetric keys only; " +
                                                       std::string(operation) +
                                                       " is not supported.");
  }
  return Status("UnknownOperationException",
                "The operation TrentService." + std::string(operation) + " is not known.");
}

Result<KmsKeyRow> KmsService::FindKey(const Scope& caller_scope, const std::string& ref,
                                      bool allow_alias) {
  std::string key_id, alias;
  Scope scope = caller_scope;
  if (auto arn = ParseArn(ref)) {
    if (arn->service != "kms" || arn->region != caller_scope.region) {
      return Status("NotFoundException", "Key '" + ref + "' does not exist");
    }
    // Another account's key is named by its key or alias ARN; its key policy then decides.
    // https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
    scope.account = arn->account;
    if (arn->resource.rfind("key/", 0) == 0) {
      key_id = arn->resource.substr(4);
    } else if (arn->resource.rfind("alias/", 0) == 0) {
      alias = arn->resource;
    }
  } else if (ref.rfind("alias/", 0) == 0) {
    alias = ref;
  } else {
    key_id = ref;
  }
  if (!alias.empty()) {
    if (!allow_alias) {
      return Status("NotFoundException", "Invalid keyId '" + ref + "': use a key id or key ARN.");
    }
    // AWS-managed keys come into being the first time anything names them.
    if (alias.rfind("alias/aws/", 0) == 0 && alias.size() > 10 &&
        alias.find('/', 10) == std::string::npos) {
      return keyring_->ResolveKey(scope, alias, alias.substr(10), "NotFoundException");
    }
    std::optional<std::string> target;
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(target, r.kms().KeyIdForAlias(scope, alias));
      return Status::Ok();
    }));
    if (!target) {
      return Status("NotFoundException", "Alias " + AliasArn(scope, alias) + " is not found.");
    }
    key_id = *target;
  }
  auto key = keyring_->LoadKey(key_id);
  if (!key.ok() || key->account != scope.account || key->region != scope.region) {
    return Status("NotFoundException", "Key '" + KeyArn(scope, key_id) + "' does not exist");
  }
  return std::move(key.value());
}

Status KmsService::AuthorizeKey(const RequestContext& ctx, const char* action, const KmsKeyRow& key,
                                ConditionKeys extra) {
  AuthzCheck check{action,
                   key.arn,
                   key.account,
                   &key.policy,
                   /*key_policy=*/true,
                   /*trust_policy=*/false,
                   std::move(extra)};
  // Conditions for KMS key operations.
  // https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html
  auto& c = check.context;
  c["kms:calleraccount"] = {ctx.principal.account.empty() ? ctx.scope.account
                                                          : ctx.principal.account};
  c["kms:keyspec"] = {kAlgorithm};
  c["kms:keyusage"] = {"ENCRYPT_DECRYPT"};
  c["kms:keyorigin"] = {"AWS_KMS"};
  c["kms:multiregion"] = {"false"};
  if (ctx.authorizer != nullptr) {  // without an authorizer nobody reads them
    Tags tags;
    std::vector<KmsAliasRow> aliases;
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(tags, r.kms().GetKeyTags(key.key_id));
      // kms:ResourceAliases: AWS evaluates at most 100 aliases of a key.
      COFFER_ASSIGN_OR_RETURN(
          aliases, r.kms().ListAliases(Scope{key.account, key.region}, key.key_id, "", 100));
      return Status::Ok();
    }));
    AddResourceTagKeys(tags, "", &c);
    if (!aliases.empty()) {
      auto& names = c["kms:resourcealiases"];
      for (const auto& a : aliases) names.push_back(a.alias);
    }
  }
  return ctx.Authorize(check);
}

// A key that does not exist in the caller's account and Region is reported as
// NotFoundException ("Key '<arn>' does not exist") before any permission is evaluated, as AWS
// KMS does: access to a KMS key is decided by the key policy of that key, which lives with the
// key in its account and Region, so there is nothing to evaluate for a key that is not there.
// https://docs.aws.amazon.com/kms/latest/developerguide/policy-evaluation.html
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html#API_DescribeKey_Errors
Result<KmsKeyRow> KmsService::AuthorizedKey(const RequestContext& ctx, const char* action,
                                            const std::string& key_ref, bool allow_alias,
                                            ConditionKeys extra) {
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, FindKey(ctx.scope, key_ref, allow_alias));
  if (auto alias = RequestAlias(key_ref)) extra["kms:requestalias"] = {*alias};
  COFFER_RETURN_IF_ERROR(AuthorizeKey(ctx, action, key, std::move(extra)));
  return key;
}

Result<KmsKeyRow> KmsService::ChangeKey(
    const RequestContext& ctx, const std::string& key_ref, const char* action, ConditionKeys extra,
    const std::function<Status(KmsKeyRow&, StoreWriter&)>& change) {
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow found, AuthorizedKey(ctx, action, key_ref,
                                                         /*allow_alias=*/false, std::move(extra)));
  KmsKeyRow key;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.kms().FindKey(found.key_id));
    if (!fresh) return Status("NotFoundException", "Key '" + found.arn + "' does not exist");
    // The permission was granted under the policy read above; a policy changed since then
    // must be evaluated afresh (SDKs retry KMSInternalException).
    if (fresh->policy != found.policy) {
      return Status("KMSInternalException",
                    "The key policy changed while the request was served; retry the request.");
    }
    key = std::move(*fresh);
    COFFER_RETURN_IF_ERROR(change(key, w));
    return w.kms().UpdateKey(key);
  }));
  return key;
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
Result<json::object> KmsService::CreateKey(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto policy = in.String("Policy", {.min_len = 1, .max_len = 32768});
  auto description = in.String("Description", {.max_len = 8192});
  auto usage = in.String("KeyUsage");
  auto cmk_spec = in.String("CustomerMasterKeySpec");
  auto spec = in.String("KeySpec");
  auto origin = in.String("Origin");
  auto multi_region = in.Bool("MultiRegion");
  auto bypass_lockout = in.Bool("BypassPolicyLockoutSafetyCheck");
  (void)in.String("CustomKeyStoreId");
  (void)in.String("XksKeyId");
  const json::array* tags_arr = in.Array("Tags");
  COFFER_RETURN_IF_ERROR(in.Finish());
  // Values outside the model's enums are validation errors; real KMS values that coffer's
  // symmetric-only keys do not cover are unsupported.
  static const std::set<std::string> kKeySpecs = {"RSA_2048",
                                                  "RSA_3072",
                                                  "RSA_4096",
                                                  "ECC_NIST_P256",
                                                  "ECC_NIST_P384",
                                                  "ECC_NIST_P521",
                                                  "ECC_SECG_P256K1",
                                                  "SYMMETRIC_DEFAULT",
                                                  "HMAC_224",
                                                  "HMAC_256",
                                                  "HMAC_384",
                                                  "HMAC_512",
                                                  "SM2",
                                                  "ML_DSA_44",
                                                  "ML_DSA_65",
                                                  "ML_DSA_87",
                                                  "ECC_NIST_EDWARDS25519"};
  static const std::set<std::string> kUsages = {"SIGN_VERIFY", "ENCRYPT_DECRYPT",
                                                "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"};
  static const std::set<std::string> kOrigins = {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM",
                                                 "EXTERNAL_KEY_STORE"};
  auto enum_error = [](const char* member, const std::string& value) {
    return Status("ValidationException",
                  "1 validation error detected: Value '" + value + "' at '" + member +
                      "' failed to satisfy constraint: Member must satisfy enum value set");
  };
  if (spec && !kKeySpecs.count(*spec)) return enum_error("keySpec", *spec);
  if (cmk_spec && !kKeySpecs.count(*cmk_spec))
    return enum_error("customerMasterKeySpec", *cmk_spec);
  if (usage && !kUsages.count(*usage)) return enum_error("keyUsage", *usage);
  if (origin && !kOrigins.count(*origin)) return enum_error("origin", *origin);
  if ((usage && *usage != "ENCRYPT_DECRYPT") || (spec && *spec != kAlgorithm) ||
      (cmk_spec && *cmk_spec != kAlgorithm) || (origin && *origin != "AWS_KMS") ||
      multi_region.value_or(false)) {
    return Status("UnsupportedOperationException",
                  "coffer creates SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT keys with Origin AWS_KMS in "
                  "one region only.");
  }
  COFFER_ASSIGN_OR_RETURN(Tags tags, DecodeKmsTags(tags_arr));
  if (tags.size() > kMaxTags) return Status("TagException", "A key can have at most 50 tags.");
  if (policy) COFFER_RETURN_IF_ERROR(ValidatePolicy(*policy));
  KmsKeyRow key;
  key.key_id = NewUuid();
  key.account = ctx.scope.account;
  key.region = ctx.scope.region;
  key.arn = KeyArn(ctx.scope, key.key_id);
  key.manager = "CUSTOMER";
  key.state = "Enabled";
  key.description = description.value_or("");
  key.created_ms = ctx.now;
  key.current_material = 1;
  key.policy = policy.value_or(Keyring::DefaultKeyPolicy(ctx.scope.account));
  {
    // kms:CreateKey is an IAM-policy permission on "*" (there is no key policy yet).
    // https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html
    AuthzCheck check{"kms:CreateKey", "*"};
    auto& c = check.context;
    c["kms:calleraccount"] = {ctx.principal.account.empty() ? ctx.scope.account
                                                            : ctx.principal.account};
    c["kms:keyspec"] = {kAlgorithm};
    c["kms:keyusage"] = {"ENCRYPT_DECRYPT"};
    c["kms:keyorigin"] = {"AWS_KMS"};
    c["kms:multiregion"] = {"false"};
    if (bypass_lockout) {
      c["kms:bypasspolicylockoutsafetycheck"] = {*bypass_lockout ? "true" : "false"};
    }
    AddRequestTagKeys(tags, &c);
    COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
    // Tags given to CreateKey also need kms:TagResource in an IAM policy that covers the new key.
    // https://docs.aws.amazon.com/kms/latest/developerguide/manage-tags-api.html
    if (!tags.empty()) {
      AuthzCheck tag_check{"kms:TagResource", key.arn};
      AddRequestTagKeys(tags, &tag_check.context);
      COFFER_RETURN_IF_ERROR(ctx.Authorize(tag_check));
    }
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_RETURN_IF_ERROR(w.kms().InsertKey(key));
    COFFER_ASSIGN_OR_RETURN(KeyMaterialRow material,
                            keyring_->NewKeyMaterial(key.key_id, 1, ctx.now, ""));
    COFFER_RETURN_IF_ERROR(w.kms().InsertMaterial(material));
    return w.kms().SetKeyTags(key.key_id, tags);
  }));
  return json::object{{"KeyMetadata", KeyMetadata(key)}};
}

Result<json::object> KmsService::DescribeKey(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          AuthorizedKey(ctx, "kms:DescribeKey", *key_id, /*allow_alias=*/true));
  return json::object{{"KeyMetadata", KeyMetadata(key)}};
}

Result<json::object> KmsService::ListKeys(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto limit = in.Int("Limit", {.min = 1, .max = 1000});
  auto marker = in.String("Marker", {.min_len = 1, .max_len = 1024});
  COFFER_RETURN_IF_ERROR(in.Finish());
  // IAM policies only, on "*".
  // https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:ListKeys", "*"}));
  COFFER_ASSIGN_OR_RETURN(std::string after, DecodeMarker(marker));
  const int page = static_cast<int>(limit.value_or(100));
  std::vector<KmsKeyRow> keys;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(keys, r.kms().ListKeys(ctx.scope, after, page + 1));
    return Status::Ok();
  }));
  bool truncated = keys.size() > static_cast<size_t>(page);
  if (truncated) keys.resize(page);
  json::array list;
  for (const auto& k : keys) list.push_back(json::object{{"KeyId", k.key_id}, {"KeyArn", k.arn}});
  json::object out{{"Keys", std::move(list)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = EncodeMarker(keys.back().key_id);
  return out;
}

Result<json::object> KmsService::UpdateKeyDescription(const RequestContext& ctx,
                                                      const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto description = in.String("Description", {.required = true, .max_len = 8192});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(auto key, ChangeKey(ctx, *key_id, "kms:UpdateKeyDescription", {},
                                              [&](KmsKeyRow& k, StoreWriter&) {
                                                if (k.manager == "AWS") return NotChangeable(k);
                                                if (k.state == "PendingDeletion")
                                                  return NotUsable(k);
                                                k.description = *description;
                                                return Status::Ok();
                                              }));
  return json::object{};
}

Result<json::object> KmsService::SetKeyState(const RequestContext& ctx, const json::object& body,
                                             const char* state) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  const char* action = std::string_view(state) == "Enabled" ? "kms:EnableKey" : "kms:DisableKey";
  COFFER_ASSIGN_OR_RETURN(auto key,
                          ChangeKey(ctx, *key_id, action, {}, [&](KmsKeyRow& k, StoreWriter&) {
                            if (k.manager == "AWS") return NotChangeable(k);
                            if (k.state == "PendingDeletion") return NotUsable(k);
                            k.state = state;
                            return Status::Ok();
                          }));
  return json::object{};
}

Result<json::object> KmsService::EnableKey(const RequestContext& ctx, const json::object& body) {
  return SetKeyState(ctx, body, "Enabled");
}

Result<json::object> KmsService::DisableKey(const RequestContext& ctx, const json::object& body) {
  return SetKeyState(ctx, body, "Disabled");
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
Result<json::object> KmsService::ScheduleKeyDeletion(const RequestContext& ctx,
                                                     const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto window = in.Int("PendingWindowInDays");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (window && (*window < 7 || *window > 30)) {
    return Status("ValidationException",
                  "1 validation error detected: Value '" + std::to_string(*window) +
                      "' at 'pendingWindowInDays' failed to satisfy constraint: Member must have "
                      "value between 7 and 30");
  }
  ConditionKeys keys;
  if (window) keys["kms:schedulekeydeletionpendingwindowindays"] = {std::to_string(*window)};
  COFFER_ASSIGN_OR_RETURN(auto key, ChangeKey(ctx, *key_id, "kms:ScheduleKeyDeletion",
                                              std::move(keys), [&](KmsKeyRow& k, StoreWriter&) {
                                                if (k.manager == "AWS") return NotChangeable(k);
                                                if (k.state == "PendingDeletion")
                                                  return NotUsable(k);
                                                k.state = "PendingDeletion";
                                                k.pending_window_days = window.value_or(30);
                                                k.deletion_ms = ctx.now + *k.pending_window_days *
                                                                              kMillisPerDay;
                                                return Status::Ok();
                                              }));
  return json::object{{"KeyId", key.arn},
                      {"DeletionDate", Epoch(*key.deletion_ms)},
                      {"KeyState", key.state},
                      {"PendingWindowInDays", *key.pending_window_days}};
}

Result<json::object> KmsService::CancelKeyDeletion(const RequestContext& ctx,
                                                   const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      auto key,
      ChangeKey(ctx, *key_id, "kms:CancelKeyDeletion", {}, [&](KmsKeyRow& k, StoreWriter&) {
        if (k.state != "PendingDeletion") {
          return Status("KMSInvalidStateException", k.arn + " is not pending deletion.");
        }
        // A cancelled deletion leaves the key disabled, as in AWS.
        k.state = "Disabled";
        k.deletion_ms.reset();
        k.pending_window_days.reset();
        return Status::Ok();
      }));
  return json::object{{"KeyId", key.arn}};
}

namespace {
Status InvalidAliasName(const std::string& alias) {
  if (alias.rfind("alias/", 0) != 0) {
    // AWS's own wording for a name without the prefix.
    return Status("ValidationException",
                  "Alias must start with the prefix \"alias/\". Please see "
                  "http://docs.aws.amazon.com/kms/latest/developerguide/programming-aliases.html");
  }
  return Status("ValidationException",
                "1 validation error detected: Value '" + alias +
                    "' at 'aliasName' failed to satisfy constraint: Member must satisfy regular "
                    "expression pattern: ^alias/[a-zA-Z0-9/_-]+$");
}

// An alias moved to another key between the permission check and the write.
Status AliasChanged() {
  return Status("KMSInternalException",
                "The alias changed while the request was served; retry the request.");
}
}  // namespace

// Alias operations need permission on the alias (IAM policies only: an alias has no policy of
// its own) and on every KMS key they affect (key policies).
// https://docs.aws.amazon.com/kms/latest/developerguide/alias-access.html
// https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html
Result<json::object> KmsService::CreateAlias(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto alias = in.String("AliasName", {.required = true, .min_len = 1, .max_len = 256});
  auto target = in.String("TargetKeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!IsValidAliasName(*alias)) return InvalidAliasName(*alias);
  if (alias->rfind("alias/aws/", 0) == 0) {
    return Status("NotAuthorizedException",
                  "Cannot create alias with prefix 'alias/aws/': it is reserved for AWS managed "
                  "keys.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:CreateAlias", AliasArn(ctx.scope, *alias)}));
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          AuthorizedKey(ctx, "kms:CreateAlias", *target, /*allow_alias=*/false));
  if (key.state == "PendingDeletion") return NotUsable(key);
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.kms().KeyIdForAlias(ctx.scope, *alias));
    if (existing) {
      return Status("AlreadyExistsException",
                    "An alias with the name " + AliasArn(ctx.scope, *alias) + " already exists");
    }
    return w.kms().PutAlias(ctx.scope, *alias, key.key_id, ctx.now);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateAlias.html
// kms:UpdateAlias on the alias, on the key it points to now and on the key it will point to.
Result<json::object> KmsService::UpdateAlias(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto alias = in.String("AliasName", {.required = true, .min_len = 1, .max_len = 256});
  auto target = in.String("TargetKeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!IsValidAliasName(*alias)) return InvalidAliasName(*alias);
  if (alias->rfind("alias/aws/", 0) == 0) {
    return Status("NotAuthorizedException", "Aliases beginning with 'alias/aws/' are reserved.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:UpdateAlias", AliasArn(ctx.scope, *alias)}));
  std::optional<std::string> current;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(current, r.kms().KeyIdForAlias(ctx.scope, *alias));
    return Status::Ok();
  }));
  if (!current) {
    return Status("NotFoundException", "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
  }
  if (auto old_key = keyring_->LoadKey(*current); old_key.ok()) {
    COFFER_RETURN_IF_ERROR(AuthorizeKey(ctx, "kms:UpdateAlias", *old_key));
  }
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          AuthorizedKey(ctx, "kms:UpdateAlias", *target, /*allow_alias=*/false));
  if (key.state == "PendingDeletion") return NotUsable(key);
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.kms().KeyIdForAlias(ctx.scope, *alias));
    if (!existing) {
      return Status("NotFoundException", "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
    }
    if (*existing != *current) return AliasChanged();
    return w.kms().PutAlias(ctx.scope, *alias, key.key_id, ctx.now);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteAlias.html
// kms:DeleteAlias on the alias and on the key it points to.
Result<json::object> KmsService::DeleteAlias(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto alias = in.String("AliasName", {.required = true, .min_len = 1, .max_len = 256});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!IsValidAliasName(*alias)) return InvalidAliasName(*alias);
  if (alias->rfind("alias/aws/", 0) == 0) {
    return Status("NotAuthorizedException", "Aliases beginning with 'alias/aws/' are reserved.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:DeleteAlias", AliasArn(ctx.scope, *alias)}));
  std::optional<std::string> current;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(current, r.kms().KeyIdForAlias(ctx.scope, *alias));
    return Status::Ok();
  }));
  if (!current) {
    return Status("NotFoundException", "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
  }
  if (auto key = keyring_->LoadKey(*current); key.ok()) {
    COFFER_RETURN_IF_ERROR(AuthorizeKey(ctx, "kms:DeleteAlias", *key));
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.kms().KeyIdForAlias(ctx.scope, *alias));
    if (!existing) {
      return Status("NotFoundException", "Alias " + AliasArn(ctx.scope, *alias) + " is not found.");
    }
    if (*existing != *current) return AliasChanged();
    return w.kms().DeleteAlias(ctx.scope, *alias);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html
// IAM policies only, on "*" (also when KeyId filters the list).
Result<json::object> KmsService::ListAliases(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_ref = in.String("KeyId", {.min_len = 1, .max_len = 2048});
  auto limit = in.Int("Limit", {.min = 1, .max = 100});
  auto marker = in.String("Marker", {.min_len = 1, .max_len = 1024});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:ListAliases", "*"}));
  COFFER_ASSIGN_OR_RETURN(std::string after, DecodeMarker(marker));
  std::string key_id;
  if (key_ref) {
    COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, FindKey(ctx.scope, *key_ref, /*allow_alias=*/false));
    key_id = key.key_id;
  }
  const int page = static_cast<int>(limit.value_or(50));
  std::vector<KmsAliasRow> aliases;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(aliases, r.kms().ListAliases(ctx.scope, key_id, after, page + 1));
    return Status::Ok();
  }));
  bool truncated = aliases.size() > static_cast<size_t>(page);
  if (truncated) aliases.resize(page);
  json::array list;
  for (const auto& a : aliases) {
    list.push_back(json::object{{"AliasName", a.alias},
                                {"AliasArn", AliasArn(ctx.scope, a.alias)},
                                {"TargetKeyId", a.key_id},
                                {"CreationDate", Epoch(a.created_ms)},
                                {"LastUpdatedDate", Epoch(a.updated_ms)}});
  }
  json::object out{{"Aliases", std::move(list)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = EncodeMarker(aliases.back().alias);
  return out;
}

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
  return Status("InvalidCiphertextException",
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
      return Status("IncorrectKeyException",
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
    return plain.status().code() == "DecryptionFailure" ? InvalidCiphertext() : plain.status();
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
    return plain.status().code() == "DecryptionFailure" ? InvalidCiphertext() : plain.status();
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
    return Status("ValidationException", "Please specify either number of bytes or key spec.");
  }
  size_t bytes = 0;
  if (spec) {
    if (*spec == "AES_256") {
      bytes = 32;
    } else if (*spec == "AES_128") {
      bytes = 16;
    } else {
      return Status("ValidationException",
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
    return Status("ValidationException",
                  "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy "
                  "constraint: Member must not be null");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"kms:GenerateRandom", "*"}));
  SecretBytes random = crypto::RandomSecret(static_cast<size_t>(*number));
  return json::object{{"Plaintext", crypto::Base64Encode(random.Reveal())}};
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
Result<json::object> KmsService::EnableKeyRotation(const RequestContext& ctx,
                                                   const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto period = in.Int("RotationPeriodInDays", {.min = 90, .max = 2560});
  COFFER_RETURN_IF_ERROR(in.Finish());
  ConditionKeys keys;
  if (period) keys["kms:rotationperiodindays"] = {std::to_string(*period)};
  COFFER_ASSIGN_OR_RETURN(
      auto key, ChangeKey(ctx, *key_id, "kms:EnableKeyRotation", std::move(keys),
                          [&](KmsKeyRow& k, StoreWriter&) {
                            if (k.manager == "AWS") return NotChangeable(k);
                            COFFER_RETURN_IF_ERROR(NotUsable(k));
                            k.rotation_enabled = true;
                            k.rotation_period_days = period.value_or(365);
                            k.next_rotation_ms = ctx.now + *k.rotation_period_days * kMillisPerDay;
                            return Status::Ok();
                          }));
  return json::object{};
}

Result<json::object> KmsService::DisableKeyRotation(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(auto key, ChangeKey(ctx, *key_id, "kms:DisableKeyRotation", {},
                                              [&](KmsKeyRow& k, StoreWriter&) {
                                                if (k.manager == "AWS") return NotChangeable(k);
                                                COFFER_RETURN_IF_ERROR(NotUsable(k));
                                                k.rotation_enabled = false;
                                                k.next_rotation_ms.reset();
                                                return Status::Ok();
                                              }));
  return json::object{};
}

Result<json::object> KmsService::GetKeyRotationStatus(const RequestContext& ctx,
                                                      const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, AuthorizedKey(ctx, "kms:GetKeyRotationStatus", *key_id,
                                                       /*allow_alias=*/false));
  json::object out{{"KeyRotationEnabled", key.rotation_enabled}, {"KeyId", key.arn}};
  if (key.rotation_enabled && key.rotation_period_days) {
    out["RotationPeriodInDays"] = *key.rotation_period_days;
  }
  if (key.rotation_enabled && key.next_rotation_ms) {
    out["NextRotationDate"] = Epoch(*key.next_rotation_ms);
  }
  return out;
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
Result<json::object> KmsService::RotateKeyOnDemand(const RequestContext& ctx,
                                                   const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      auto key,
      ChangeKey(ctx, *key_id, "kms:RotateKeyOnDemand", {}, [&](KmsKeyRow& k, StoreWriter& w) {
        if (k.manager == "AWS") return NotChangeable(k);
        COFFER_RETURN_IF_ERROR(NotUsable(k));
        COFFER_ASSIGN_OR_RETURN(auto materials, w.kms().ListMaterials(k.key_id));
        int on_demand = 0;
        for (const auto& m : materials) on_demand += m.rotation_type == "ON_DEMAND";
        if (on_demand >= kMaxOnDemandRotations) {
          return Status("LimitExceededException",
                        "The key has reached the limit of 10 on-demand rotations.");
        }
        ++k.current_material;
        COFFER_ASSIGN_OR_RETURN(
            KeyMaterialRow material,
            keyring_->NewKeyMaterial(k.key_id, k.current_material, ctx.now, "ON_DEMAND"));
        return w.kms().InsertMaterial(material);
      }));
  return json::object{{"KeyId", key.key_id}};
}

Result<json::object> KmsService::ListKeyRotations(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto limit = in.Int("Limit", {.min = 1, .max = 1000});
  auto marker = in.String("Marker", {.min_len = 1, .max_len = 1024});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(std::string after, DecodeMarker(marker));
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, AuthorizedKey(ctx, "kms:ListKeyRotations", *key_id,
                                                       /*allow_alias=*/false));
  std::vector<KeyMaterialRow> materials;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(materials, r.kms().ListMaterials(key.key_id));
    return Status::Ok();
  }));
  const size_t page = static_cast<size_t>(limit.value_or(100));
  int after_version = after.empty() ? 1 : std::atoi(after.c_str());
  json::array rotations;
  bool truncated = false;
  int last = 0;
  for (const auto& m : materials) {
    if (m.version <= after_version || m.rotation_type.empty()) continue;
    if (rotations.size() == page) {
      truncated = true;
      break;
    }
    rotations.push_back(json::object{{"KeyId", key.key_id},
                                     {"RotationDate", Epoch(m.created_ms)},
                                     {"RotationType", m.rotation_type}});
    last = m.version;
  }
  json::object out{{"Rotations", std::move(rotations)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = EncodeMarker(std::to_string(last));
  return out;
}

Result<json::object> KmsService::GetKeyPolicy(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto name = in.String("PolicyName", {.min_len = 1, .max_len = 128});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          AuthorizedKey(ctx, "kms:GetKeyPolicy", *key_id, /*allow_alias=*/false));
  if (name && *name != "default") {
    return Status("NotFoundException", "No such policy exists: " + *name);
  }
  return json::object{{"Policy", key.policy}, {"PolicyName", "default"}};
}

Result<json::object> KmsService::PutKeyPolicy(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto name = in.String("PolicyName", {.min_len = 1, .max_len = 128});
  auto policy = in.String("Policy", {.required = true, .min_len = 1, .max_len = 32768});
  auto bypass_lockout = in.Bool("BypassPolicyLockoutSafetyCheck");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (name && *name != "default") {
    return Status("NotFoundException", "No such policy exists: " + *name);
  }
  COFFER_RETURN_IF_ERROR(ValidatePolicy(*policy));
  ConditionKeys keys;
  if (bypass_lockout) {
    keys["kms:bypasspolicylockoutsafetycheck"] = {*bypass_lockout ? "true" : "false"};
  }
  COFFER_ASSIGN_OR_RETURN(auto key, ChangeKey(ctx, *key_id, "kms:PutKeyPolicy", std::move(keys),
                                              [&](KmsKeyRow& k, StoreWriter&) {
                                                if (k.manager == "AWS") return NotChangeable(k);
                                                k.policy = *policy;
                                                return Status::Ok();
                                              }));
  return json::object{};
}

Result<json::object> KmsService::ListKeyPolicies(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  (void)in.Int("Limit", {.min = 1, .max = 1000});
  (void)in.String("Marker");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      KmsKeyRow key, AuthorizedKey(ctx, "kms:ListKeyPolicies", *key_id, /*allow_alias=*/false));
  return json::object{{"PolicyNames", json::array{"default"}}, {"Truncated", false}};
}

Result<json::object> KmsService::TagResource(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  const json::array* tags_arr = in.Array("Tags", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(Tags add, DecodeKmsTags(tags_arr));
  ConditionKeys keys;
  AddRequestTagKeys(add, &keys);
  COFFER_ASSIGN_OR_RETURN(
      auto key, ChangeKey(ctx, *key_id, "kms:TagResource", std::move(keys),
                          [&](KmsKeyRow& k, StoreWriter& w) {
                            if (k.manager == "AWS") return NotChangeable(k);
                            // https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
                            if (k.state == "PendingDeletion") return NotUsable(k);
                            COFFER_ASSIGN_OR_RETURN(Tags tags, w.kms().GetKeyTags(k.key_id));
                            MergeTags(&tags, add);
                            if (tags.size() > kMaxTags)
                              return Status("TagException", "A key can have at most 50 tags.");
                            return w.kms().SetKeyTags(k.key_id, tags);
                          }));
  return json::object{};
}

Result<json::object> KmsService::UntagResource(const RequestContext& ctx,
                                               const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto keys = in.StringList("TagKeys", {.min_len = 1, .max_len = 128});
  if (!keys) in.Array("TagKeys", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      auto key, ChangeKey(ctx, *key_id, "kms:UntagResource", {{"aws:tagkeys", *keys}},
                          [&](KmsKeyRow& k, StoreWriter& w) {
                            if (k.manager == "AWS") return NotChangeable(k);
                            if (k.state == "PendingDeletion") return NotUsable(k);
                            COFFER_ASSIGN_OR_RETURN(Tags tags, w.kms().GetKeyTags(k.key_id));
                            std::set<std::string> remove(keys->begin(), keys->end());
                            std::erase_if(tags,
                                          [&](const auto& t) { return remove.count(t.first) > 0; });
                            return w.kms().SetKeyTags(k.key_id, tags);
                          }));
  return json::object{};
}

Result<json::object> KmsService::ListResourceTags(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  (void)in.Int("Limit", {.min = 1, .max = 50});
  (void)in.String("Marker");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      KmsKeyRow key, AuthorizedKey(ctx, "kms:ListResourceTags", *key_id, /*allow_alias=*/false));
  Tags tags;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(tags, r.kms().GetKeyTags(key.key_id));
    return Status::Ok();
  }));
  json::array list;
  for (const auto& t : tags) {
    list.push_back(json::object{{"TagKey", t.first}, {"TagValue", t.second}});
  }
  return json::object{{"Tags", std::move(list)}, {"Truncated", false}};
}

Result<int> KmsService::RunKeyMaintenance() {
  const EpochMillis now = clock_->NowMillis();
  int actions = 0;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto due, w.kms().KeysDueForRotation(now));
    for (auto& k : due) {
      if (k.state == "Enabled") {
        ++k.current_material;
        COFFER_ASSIGN_OR_RETURN(
            KeyMaterialRow material,
            keyring_->NewKeyMaterial(k.key_id, k.current_material, now, "AUTOMATIC"));
        COFFER_RETURN_IF_ERROR(w.kms().InsertMaterial(material));
        ++actions;
      }
      // A disabled key's rotation waits; either way the next date moves on.
      k.next_rotation_ms = now + k.rotation_period_days.value_or(365) * kMillisPerDay;
      COFFER_RETURN_IF_ERROR(w.kms().UpdateKey(k));
    }
    COFFER_ASSIGN_OR_RETURN(auto doomed, w.kms().KeysDueForDeletion(now));
    for (const auto& k : doomed) {
      COFFER_RETURN_IF_ERROR(w.kms().DeleteKey(k.key_id));
      ++actions;
    }
    return Status::Ok();
  }));
  return actions;
}

}  // namespace coffer::kms
