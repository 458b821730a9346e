// KMS: automatic and on-demand rotation of key material.
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
                            if (k.manager == KeyManager::kAws) return NotChangeable(k);
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
                                                if (k.manager == KeyManager::kAws)
                                                  return NotChangeable(k);
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
        if (k.manager == KeyManager::kAws) return NotChangeable(k);
        COFFER_RETURN_IF_ERROR(NotUsable(k));
        COFFER_ASSIGN_OR_RETURN(auto materials, w.kms().ListMaterials(k.key_id));
        int on_demand = 0;
        for (const auto& m : materials)
          on_demand += m.rotation_type == MaterialOrigin::kOnDemandRotation;
        if (on_demand >= kMaxOnDemandRotations) {
          return Status(ErrorCode::kLimitExceededException,
                        "The key has reached the limit of 10 on-demand rotations.");
        }
        ++k.current_material;
        COFFER_ASSIGN_OR_RETURN(KeyMaterialRow material,
                                keyring_->NewKeyMaterial(k.key_id, k.current_material, ctx.now,
                                                         MaterialOrigin::kOnDemandRotation));
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
    if (m.version <= after_version || m.rotation_type == MaterialOrigin::kCreated) continue;
    if (rotations.size() == page) {
      truncated = true;
      break;
    }
    rotations.push_back(json::object{{"KeyId", key.key_id},
                                     {"RotationDate", Epoch(m.created_ms)},
                                     {"RotationType", MaterialOriginName(m.rotation_type)}});
    last = m.version;
  }
  json::object out{{"Rotations", std::move(rotations)}, {"Truncated", truncated}};
  if (truncated) out["NextMarker"] = EncodeMarker(std::to_string(last));
  return out;
}

}  // namespace coffer::kms
