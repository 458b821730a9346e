// KMS's tables: keys, their key material versions (sealed under the root key), aliases and
// tags. Error contract: store/deployment.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/enum_names.h"
#include "core/scope.h"
#include "core/status.h"
#include "core/tags.h"

namespace coffer {

// Who manages a key: AWS managed keys (alias/aws/<service>, created on first use) cannot be
// changed by callers; customer managed keys can.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html
enum class KeyManager { kAws, kCustomer };
inline constexpr EnumName<KeyManager> kKeyManagerNames[] = {{KeyManager::kAws, "AWS"},
                                                            {KeyManager::kCustomer, "CUSTOMER"}};
inline std::string_view KeyManagerName(KeyManager m) { return NameOf(kKeyManagerNames, m); }

// The key states coffer uses (KMS's KeyState enum also has states for imported and multi-Region
// keys, which coffer does not create).
enum class KeyState { kEnabled, kDisabled, kPendingDeletion };
inline constexpr EnumName<KeyState> kKeyStateNames[] = {
    {KeyState::kEnabled, "Enabled"},
    {KeyState::kDisabled, "Disabled"},
    {KeyState::kPendingDeletion, "PendingDeletion"}};
inline std::string_view KeyStateName(KeyState s) { return NameOf(kKeyStateNames, s); }

struct KmsKeyRow {
  std::string key_id;  // UUID
  std::string account;
  std::string region;
  std::string arn;
  KeyManager manager = KeyManager::kCustomer;
  KeyState state = KeyState::kEnabled;
  std::string description;
  EpochMillis created_ms = 0;
  int current_material = 1;
  std::optional<EpochMillis> deletion_ms;  // PendingDeletion: when the key is deleted
  std::optional<int64_t> pending_window_days;
  bool rotation_enabled = false;
  std::optional<int64_t> rotation_period_days;
  std::optional<EpochMillis> next_rotation_ms;
  std::string policy;  // the "default" key policy, JSON text
};

struct KmsAliasRow {
  std::string alias;  // "alias/..."
  std::string key_id;
  EpochMillis created_ms = 0;
  EpochMillis updated_ms = 0;
};

// How a key material version came to be: the key's first material, or a rotation (the
// RotationType ListKeyRotations reports).
enum class MaterialOrigin { kCreated, kAutomaticRotation, kOnDemandRotation };
inline constexpr EnumName<MaterialOrigin> kMaterialOriginNames[] = {
    {MaterialOrigin::kCreated, ""},
    {MaterialOrigin::kAutomaticRotation, "AUTOMATIC"},
    {MaterialOrigin::kOnDemandRotation, "ON_DEMAND"}};
inline std::string_view MaterialOriginName(MaterialOrigin o) {
  return NameOf(kMaterialOriginNames, o);
}

struct KeyMaterialRow {
  std::string key_id;
  int version = 0;
  std::string wrapped;  // material sealed under the root key
  EpochMillis created_ms = 0;
  MaterialOrigin rotation_type = MaterialOrigin::kCreated;
};

class KmsKeysReader {
 public:
  virtual ~KmsKeysReader() = default;

  virtual Result<std::optional<KmsKeyRow>> FindKey(const std::string& key_id) = 0;
  virtual Result<std::optional<std::string>> KeyIdForAlias(const Scope& scope,
                                                           const std::string& alias) = 0;
  virtual Result<std::optional<KeyMaterialRow>> GetMaterial(const std::string& key_id,
                                                            int version) = 0;
  // Keys of a scope ordered by key id, strictly after `after`.
  virtual Result<std::vector<KmsKeyRow>> ListKeys(const Scope& scope, const std::string& after,
                                                  int limit) = 0;
  // Aliases of a scope ordered by name, strictly after `after`; `key_id` non-empty filters.
  virtual Result<std::vector<KmsAliasRow>> ListAliases(const Scope& scope,
                                                       const std::string& key_id,
                                                       const std::string& after, int limit) = 0;
  // Metadata of every material version, oldest first (no key bytes).
  virtual Result<std::vector<KeyMaterialRow>> ListMaterials(const std::string& key_id) = 0;
  // Every material of every key, with its wrapped bytes, for re-wrapping under a new root key.
  virtual Result<std::vector<KeyMaterialRow>> ListAllMaterials() = 0;
  // Every scope: keys whose automatic rotation or scheduled deletion is due.
  virtual Result<std::vector<KmsKeyRow>> KeysDueForRotation(EpochMillis now) = 0;
  virtual Result<std::vector<KmsKeyRow>> KeysDueForDeletion(EpochMillis now) = 0;
  virtual Result<Tags> GetKeyTags(const std::string& key_id) = 0;
};

class KmsKeysWriter : public KmsKeysReader {
 public:
  virtual Status InsertKey(const KmsKeyRow& row) = 0;
  virtual Status UpdateKey(const KmsKeyRow& row) = 0;
  // Removes the key with its materials, aliases and tags.
  virtual Status DeleteKey(const std::string& key_id) = 0;
  virtual Status InsertMaterial(const KeyMaterialRow& row) = 0;
  virtual Status UpdateMaterialWrapping(const std::string& key_id, int version,
                                        const std::string& wrapped) = 0;
  // Creates the alias or re-points it (keeping its creation date).
  virtual Status PutAlias(const Scope& scope, const std::string& alias, const std::string& key_id,
                          EpochMillis now_ms) = 0;
  virtual Status DeleteAlias(const Scope& scope, const std::string& alias) = 0;
  virtual Status SetKeyTags(const std::string& key_id, const Tags& tags) = 0;
};

}  // namespace coffer
