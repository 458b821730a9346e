// KMS: keys and their life cycle (CreateKey, DescribeKey, ListKeys, descriptions, states,
// scheduled deletion) and tags.
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
    return Status(ErrorCode::kValidationException,
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
    return Status(ErrorCode::kUnsupportedOperationException,
                  "coffer creates SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT keys with Origin AWS_KMS in "
                  "one region only.");
  }
  COFFER_ASSIGN_OR_RETURN(Tags tags, DecodeKmsTags(tags_arr));
  if (tags.size() > kMaxTags)
    return Status(ErrorCode::kTagException, "A key can have at most 50 tags.");
  if (policy) COFFER_RETURN_IF_ERROR(ValidatePolicy(*policy));
  KmsKeyRow key;
  key.key_id = NewUuid();
  key.account = ctx.scope.account;
  key.region = ctx.scope.region;
  key.arn = KeyArn(ctx.scope, key.key_id);
  key.manager = KeyManager::kCustomer;
  key.state = KeyState::kEnabled;
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
    COFFER_ASSIGN_OR_RETURN(
        KeyMaterialRow material,
        keyring_->NewKeyMaterial(key.key_id, 1, ctx.now, MaterialOrigin::kCreated));
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
                                                if (k.manager == KeyManager::kAws)
                                                  return NotChangeable(k);
                                                if (k.state == KeyState::kPendingDeletion)
                                                  return NotUsable(k);
                                                k.description = *description;
                                                return Status::Ok();
                                              }));
  return json::object{};
}

Result<json::object> KmsService::SetKeyState(const RequestContext& ctx, const json::object& body,
                                             KeyState state) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  const char* action = state == KeyState::kEnabled ? "kms:EnableKey" : "kms:DisableKey";
  COFFER_ASSIGN_OR_RETURN(auto key,
                          ChangeKey(ctx, *key_id, action, {}, [&](KmsKeyRow& k, StoreWriter&) {
                            if (k.manager == KeyManager::kAws) return NotChangeable(k);
                            if (k.state == KeyState::kPendingDeletion) return NotUsable(k);
                            k.state = state;
                            return Status::Ok();
                          }));
  return json::object{};
}

Result<json::object> KmsService::EnableKey(const RequestContext& ctx, const json::object& body) {
  return SetKeyState(ctx, body, KeyState::kEnabled);
}

Result<json::object> KmsService::DisableKey(const RequestContext& ctx, const json::object& body) {
  return SetKeyState(ctx, body, KeyState::kDisabled);
}

// https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
Result<json::object> KmsService::ScheduleKeyDeletion(const RequestContext& ctx,
                                                     const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  auto window = in.Int("PendingWindowInDays");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (window && (*window < 7 || *window > 30)) {
    return Status(ErrorCode::kValidationException,
                  "1 validation error detected: Value '" + std::to_string(*window) +
                      "' at 'pendingWindowInDays' failed to satisfy constraint: Member must have "
                      "value between 7 and 30");
  }
  ConditionKeys keys;
  if (window) keys["kms:schedulekeydeletionpendingwindowindays"] = {std::to_string(*window)};
  COFFER_ASSIGN_OR_RETURN(auto key, ChangeKey(ctx, *key_id, "kms:ScheduleKeyDeletion",
                                              std::move(keys), [&](KmsKeyRow& k, StoreWriter&) {
                                                if (k.manager == KeyManager::kAws)
                                                  return NotChangeable(k);
                                                if (k.state == KeyState::kPendingDeletion)
                                                  return NotUsable(k);
                                                k.state = KeyState::kPendingDeletion;
                                                k.pending_window_days = window.value_or(30);
                                                k.deletion_ms = ctx.now + *k.pending_window_days *
                                                                              kMillisPerDay;
                                                return Status::Ok();
                                              }));
  return json::object{{"KeyId", key.arn},
                      {"DeletionDate", Epoch(*key.deletion_ms)},
                      {"KeyState", KeyStateName(key.state)},
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
        if (k.state != KeyState::kPendingDeletion) {
          return Status(ErrorCode::kKMSInvalidStateException, k.arn + " is not pending deletion.");
        }
        // A cancelled deletion leaves the key disabled, as in AWS.
        k.state = KeyState::kDisabled;
        k.deletion_ms.reset();
        k.pending_window_days.reset();
        return Status::Ok();
      }));
  return json::object{{"KeyId", key.arn}};
}

Result<json::object> KmsService::TagResource(const RequestContext& ctx, const json::object& body) {
  JsonInput in(body);
  auto key_id = in.String("KeyId", {.required = true, .min_len = 1, .max_len = 2048});
  const json::array* tags_arr = in.Array("Tags", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(Tags add, DecodeKmsTags(tags_arr));
  ConditionKeys keys;
  AddRequestTagKeys(add, &keys);
  COFFER_ASSIGN_OR_RETURN(auto key, ChangeKey(ctx, *key_id, "kms:TagResource", std::move(keys),
                                              [&](KmsKeyRow& k, StoreWriter& w) {
                                                if (k.manager == KeyManager::kAws)
                                                  return NotChangeable(k);
                                                // https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
                                                if (k.state == KeyState::kPendingDeletion)
                                                  return NotUsable(k);
                                                COFFER_ASSIGN_OR_RETURN(
                                                    Tags tags, w.kms().GetKeyTags(k.key_id));
                                                MergeTags(&tags, add);
                                                if (tags.size() > kMaxTags)
                                                  return Status(ErrorCode::kTagException,
                                                                "A key can have at most 50 tags.");
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
                            if (k.manager == KeyManager::kAws) return NotChangeable(k);
                            if (k.state == KeyState::kPendingDeletion) return NotUsable(k);
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

}  // namespace coffer::kms
