#include "keyring/keyring.h"

#include <boost/json.hpp>
#include <mutex>

#include "core/arn.h"
#include "core/ids.h"
#include "crypto/crypto.h"

namespace coffer {
namespace {

constexpr uint8_t kEnvelopeFormat = 1;
// Meta entries holding the wrapped root key ("<generation> <base64>") and storage key.
constexpr char kRootKeyMeta[] = "root_key";
constexpr char kStorageKeyMeta[] = "storage_key";
constexpr char kStorageKeyPurpose[] = "coffer/storage-key";

std::string RootKeyPurpose(int generation) {
  return "coffer/root-key/" + std::to_string(generation);
}

Status SealedError() {
  return Status(ErrorCode::kServiceUnavailableException,
                "coffer is sealed; unseal it with `coffer operator unseal`.");
}

std::string RootKeyMetaValue(int generation, std::string_view wrapped) {
  return std::to_string(generation) + " " + crypto::Base64Encode(wrapped);
}

// Parses RootKeyMetaValue's format.
bool ParseRootKeyMeta(const std::string& text, int* generation, std::string* wrapped) {
  size_t space = text.find(' ');
  if (space == std::string::npos || space == 0 || space > 9) return false;
  int g = 0;
  for (size_t i = 0; i < space; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    g = g * 10 + (text[i] - '0');
  }
  auto bytes = crypto::Base64Decode(std::string_view(text).substr(space + 1));
  if (!bytes || g < 1) return false;
  *generation = g;
  *wrapped = std::move(*bytes);
  return true;
}

Status DecryptionFailure() {
  return Status(ErrorCode::kDecryptionFailure,
                "Secrets Manager can't decrypt the protected secret text using the provided KMS "
                "key.");
}

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

}  // namespace

std::string EncryptionContextAad(const std::map<std::string, std::string>& context) {
  boost::json::object o;
  for (const auto& [k, v] : context) o[k] = v;  // std::map: sorted by key
  return "coffer/kms-ec/v1\n" + boost::json::serialize(o);
}

std::string Keyring::DefaultKeyPolicy(const std::string& account) {
  return R"({"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::)" +
         account + R"(:root"},"Action":"kms:*","Resource":"*"}]})";
}

Result<KeyMaterialRow> Keyring::NewKeyMaterial(const std::string& key_id, int version,
                                               EpochMillis now,
                                               MaterialOrigin rotation_type) const {
  LockedKey material = LockedKey::Random();
  KeyMaterialRow m;
  m.key_id = key_id;
  m.version = version;
  {
    std::shared_lock lock(mu_);
    if (root_key_.empty()) return SealedError();
    m.wrapped =
        crypto::AesGcmSeal(root_key_.Reveal(), MaterialPurpose(key_id, version), material.Reveal());
  }
  m.created_ms = now;
  m.rotation_type = rotation_type;
  return m;
}

Status Keyring::UsableForCrypto(const KmsKeyRow& key) {
  if (key.state == KeyState::kDisabled)
    return Status(ErrorCode::kDisabledException, key.arn + " is disabled.");
  if (key.state == KeyState::kPendingDeletion) {
    return Status(ErrorCode::kKMSInvalidStateException, key.arn + " is pending deletion.");
  }
  return Status::Ok();
}

Result<KmsKeyRow> Keyring::LoadKey(const std::string& key_id) {
  const uint64_t epoch = store_->CommittedWrites();
  {
    std::shared_lock lock(mu_);
    if (keys_epoch_ == epoch) {
      auto it = keys_.find(key_id);
      if (it != keys_.end()) return it->second;
    }
  }
  std::optional<KmsKeyRow> row;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(row, r.kms().FindKey(key_id));
    return Status::Ok();
  }));
  if (!row) return Status(ErrorCode::kNotFoundException, "Key '" + key_id + "' does not exist");
  std::unique_lock lock(mu_);
  if (keys_epoch_ != epoch) {
    keys_.clear();
    keys_epoch_ = epoch;
  }
  keys_[key_id] = *row;
  return *row;
}

Result<std::string> Keyring::EnvelopeKeyId(std::string_view env) {
  if (env.size() < 2 || static_cast<uint8_t>(env[0]) != kEnvelopeFormat) {
    return DecryptionFailure();
  }
  size_t id_len = static_cast<uint8_t>(env[1]);
  if (env.size() < 2 + id_len) return DecryptionFailure();
  return std::string(env.substr(2, id_len));
}

std::string MaterialPurpose(const std::string& key_id, int version) {
  return "coffer/kms-material/" + key_id + "/" + std::to_string(version);
}

Keyring::Keyring(Store* store, const Clock* clock) : store_(store), clock_(clock) {}

Status Keyring::InitializeRootKeys(StoreWriter& w, const SecretBytes& unseal_key,
                                   const SecretBytes* legacy_root_key) {
  LockedKey root = legacy_root_key ? LockedKey(legacy_root_key->Reveal()) : LockedKey::Random();
  LockedKey storage = legacy_root_key ? root.Clone() : LockedKey::Random();
  COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(
      kRootKeyMeta,
      RootKeyMetaValue(1, crypto::AesGcmSeal(unseal_key, RootKeyPurpose(1), root.Reveal()))));
  return w.deployment().PutMeta(
      kStorageKeyMeta, crypto::Base64Encode(crypto::AesGcmSeal(root.Reveal(), kStorageKeyPurpose,
                                                               storage.Reveal())));
}

std::unique_ptr<Keyring> Keyring::OpenUnsealedForTest(Store* store, const SecretBytes& unseal_key,
                                                      const Clock* clock) {
  Status s = store->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.deployment().GetMeta(kRootKeyMeta));
    if (existing) return Status::Ok();
    return InitializeRootKeys(w, unseal_key);
  });
  auto keyring = std::make_unique<Keyring>(store, clock);
  if (s.ok()) s = keyring->Unseal(unseal_key);
  if (!s.ok()) std::abort();
  return keyring;
}

Status Keyring::Unseal(const SecretBytes& unseal_key, StoreReader* in_txn) {
  std::optional<std::string> root_meta, storage_meta;
  auto read = [&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(root_meta, r.deployment().GetMeta(kRootKeyMeta));
    COFFER_ASSIGN_OR_RETURN(storage_meta, r.deployment().GetMeta(kStorageKeyMeta));
    return Status::Ok();
  };
  COFFER_RETURN_IF_ERROR(in_txn ? read(*in_txn) : store_->Read(read));
  int generation = 0;
  std::string wrapped_root;
  auto wrapped_storage = storage_meta ? crypto::Base64Decode(*storage_meta) : std::nullopt;
  if (!root_meta || !ParseRootKeyMeta(*root_meta, &generation, &wrapped_root) || !wrapped_storage) {
    return Status(ErrorCode::kInternalFailure, "the store holds no valid root key");
  }
  auto root = crypto::AesGcmOpen(unseal_key, RootKeyPurpose(generation), wrapped_root);
  if (!root || root->size() != LockedKey::kSize) {
    return Status(ErrorCode::kInvalidUnsealKeyException,
                  "The unseal key does not open this store's root key.");
  }
  auto storage = crypto::AesGcmOpen(*root, kStorageKeyPurpose, *wrapped_storage);
  if (!storage || storage->size() != LockedKey::kSize) {
    return Status(ErrorCode::kInternalFailure, "the storage key does not open under the root key");
  }
  std::unique_lock lock(mu_);
  unseal_key_ = LockedKey(unseal_key.Reveal());
  root_key_ = LockedKey(root->Reveal());
  previous_root_key_ = LockedKey();
  storage_key_ = LockedKey(storage->Reveal());
  root_generation_ = generation;
  sealed_.store(false, std::memory_order_release);
  return Status::Ok();
}

Result<SecretBytes> Keyring::DeriveFromUnsealKey(std::string_view purpose) const {
  std::shared_lock lock(mu_);
  if (sealed_.load(std::memory_order_acquire) || unseal_key_.empty()) {
    return Status(ErrorCode::kServiceUnavailableException, "coffer is sealed");
  }
  return DeriveFromUnsealKey(unseal_key_.ToSecretBytes(), purpose);
}

SecretBytes Keyring::DeriveFromUnsealKey(const SecretBytes& unseal_key, std::string_view purpose) {
  const crypto::Digest d =
      crypto::HmacSha256(unseal_key.Reveal(), "coffer-unseal-derived:" + std::string(purpose));
  return SecretBytes(d.data(), d.size());
}

Status Keyring::CheckUnsealKey(Store* store, const SecretBytes& unseal_key) {
  std::optional<std::string> root_meta;
  COFFER_RETURN_IF_ERROR(store->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(root_meta, r.deployment().GetMeta(kRootKeyMeta));
    return Status::Ok();
  }));
  int generation = 0;
  std::string wrapped_root;
  if (!root_meta || !ParseRootKeyMeta(*root_meta, &generation, &wrapped_root)) {
    return Status(ErrorCode::kInternalFailure, "the store holds no valid root key");
  }
  if (!crypto::AesGcmOpen(unseal_key, RootKeyPurpose(generation), wrapped_root)) {
    return Status(ErrorCode::kInvalidUnsealKeyException,
                  "The unseal key does not open this store's root key.");
  }
  return Status::Ok();
}

void Keyring::Seal() {
  std::vector<std::function<void()>> listeners;
  {
    std::unique_lock lock(mu_);
    sealed_.store(true, std::memory_order_release);
    unseal_key_ = LockedKey();
    root_key_ = LockedKey();
    previous_root_key_ = LockedKey();
    storage_key_ = LockedKey();
    materials_.clear();
    listeners = seal_listeners_;
  }
  for (const auto& listener : listeners) listener();
}

void Keyring::AddSealListener(std::function<void()> listener) {
  std::unique_lock lock(mu_);
  seal_listeners_.push_back(std::move(listener));
}

int Keyring::root_generation() const {
  std::shared_lock lock(mu_);
  return root_generation_;
}

Result<Keyring::RootRotation> Keyring::RotateRoot(int fail_after_rewraps) {
  std::lock_guard rotation(rotate_mu_);
  LockedKey old_root, storage, unseal;
  int generation = 0;
  {
    std::shared_lock lock(mu_);
    if (root_key_.empty()) return SealedError();
    old_root = root_key_.Clone();
    storage = storage_key_.Clone();
    unseal = unseal_key_.Clone();
    generation = root_generation_;
  }
  LockedKey new_root = LockedKey::Random();
  RootRotation out;
  out.generation = generation + 1;
  bool swapped = false;
  Status s = store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto materials, w.kms().ListAllMaterials());
    for (const auto& m : materials) {
      if (fail_after_rewraps >= 0 && out.rewrapped_materials == fail_after_rewraps) {
        return Status(ErrorCode::kInternalFailure, "root key rotation interrupted (test)");
      }
      const std::string purpose = MaterialPurpose(m.key_id, m.version);
      auto plain = crypto::AesGcmOpen(old_root.Reveal(), purpose, m.wrapped);
      if (!plain) {
        return Status(ErrorCode::kInternalFailure, "key material " + m.key_id + "/" +
                                                       std::to_string(m.version) +
                                                       " does not open under the root key");
      }
      COFFER_RETURN_IF_ERROR(w.kms().UpdateMaterialWrapping(
          m.key_id, m.version, crypto::AesGcmSeal(new_root.Reveal(), purpose, plain->Reveal())));
      ++out.rewrapped_materials;
    }
    COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(
        kStorageKeyMeta, crypto::Base64Encode(crypto::AesGcmSeal(
                             new_root.Reveal(), kStorageKeyPurpose, storage.Reveal()))));
    COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(
        kRootKeyMeta,
        RootKeyMetaValue(out.generation,
                         crypto::AesGcmSeal(unseal.Reveal(), RootKeyPurpose(out.generation),
                                            new_root.Reveal()))));
    // Swap while this transaction still holds the write lock: writers serialised after it wrap
    // new material under the new root key, and none can slip in between commit and swap.
    std::unique_lock lock(mu_);
    previous_root_key_ = root_key_.Clone();
    root_key_ = new_root.Clone();
    root_generation_ = out.generation;
    swapped = true;
    return Status::Ok();
  });
  if (!s.ok()) {
    if (swapped) {
      // The commit itself failed: the store still holds the old wrapping. Keep the new key as
      // "previous" so anything wrapped under it since the swap still opens.
      std::unique_lock lock(mu_);
      previous_root_key_ = std::move(new_root);
      root_key_ = std::move(old_root);
      root_generation_ = generation;
    }
    return s;
  }
  return out;
}

Status Keyring::ChangeUnsealKey(const SecretBytes& new_unseal_key,
                                const std::function<Status(StoreWriter&)>& also) {
  // Serialised with RotateRoot, which wraps the next root key under the unseal key it holds.
  std::lock_guard rotation(rotate_mu_);
  LockedKey root;
  int generation = 0;
  {
    std::shared_lock lock(mu_);
    if (root_key_.empty()) return SealedError();
    root = root_key_.Clone();
    generation = root_generation_;
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(
        kRootKeyMeta, RootKeyMetaValue(generation, crypto::AesGcmSeal(new_unseal_key.Reveal(),
                                                                      RootKeyPurpose(generation),
                                                                      root.Reveal()))));
    return also(w);
  }));
  std::unique_lock lock(mu_);
  unseal_key_ = LockedKey(new_unseal_key.Reveal());
  return Status::Ok();
}

Result<std::string> Keyring::WrapWithStorageKey(std::string_view purpose,
                                                std::string_view plaintext) const {
  std::shared_lock lock(mu_);
  if (storage_key_.empty()) return SealedError();
  return crypto::AesGcmSeal(storage_key_.Reveal(), purpose, plaintext);
}

Result<SecretBytes> Keyring::UnwrapWithStorageKey(std::string_view purpose,
                                                  std::string_view wrapped) const {
  std::shared_lock lock(mu_);
  if (storage_key_.empty()) return SealedError();
  auto plain = crypto::AesGcmOpen(storage_key_.Reveal(), purpose, wrapped);
  if (!plain) {
    return Status(ErrorCode::kInternalFailure, "stored bytes do not open under the storage key");
  }
  return std::move(*plain);
}

Result<SecretBytes> Keyring::UnwrapMaterial(const KeyMaterialRow& row) const {
  const std::string purpose = MaterialPurpose(row.key_id, row.version);
  std::shared_lock lock(mu_);
  if (root_key_.empty()) return SealedError();
  auto plain = crypto::AesGcmOpen(root_key_.Reveal(), purpose, row.wrapped);
  if (!plain && !previous_root_key_.empty()) {
    plain = crypto::AesGcmOpen(previous_root_key_.Reveal(), purpose, row.wrapped);
  }
  if (!plain || plain->size() != LockedKey::kSize) {
    return Status(ErrorCode::kInternalFailure,
                  "stored key material does not open under the root key");
  }
  return std::move(*plain);
}

Result<KmsKeyRow> Keyring::ResolveKey(const Scope& scope, const std::string& key_ref,
                                      const std::string& managed_service,
                                      ErrorCode not_found_code) {
  const std::string managed_alias = "alias/aws/" + managed_service;
  std::string alias;
  std::string key_id;
  if (key_ref.empty()) {
    alias = managed_alias;
  } else if (key_ref.rfind("alias/", 0) == 0) {
    alias = key_ref;
  } else if (auto arn = ParseArn(key_ref)) {
    if (arn->service != "kms" || arn->account != scope.account || arn->region != scope.region) {
      return Status(not_found_code, "The KMS key " + key_ref + " was not found.");
    }
    if (arn->resource.rfind("alias/", 0) == 0) {
      alias = arn->resource;
    } else if (arn->resource.rfind("key/", 0) == 0) {
      key_id = arn->resource.substr(4);
    }
  } else {
    key_id = key_ref;
  }

  std::optional<KmsKeyRow> found;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    if (!alias.empty()) {
      COFFER_ASSIGN_OR_RETURN(auto id, r.kms().KeyIdForAlias(scope, alias));
      if (!id) return Status::Ok();
      key_id = *id;
    }
    if (key_id.empty()) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(found, r.kms().FindKey(key_id));
    return Status::Ok();
  }));
  if (found && found->account == scope.account && found->region == scope.region) return *found;
  if (alias == managed_alias) return CreateManagedKey(scope, managed_alias);
  return Status(not_found_code, "The KMS key " + key_ref + " was not found.");
}

Result<KmsKeyRow> Keyring::CreateManagedKey(const Scope& scope, const std::string& alias) {
  KmsKeyRow created;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    // Another request may have created it since our read; writes are serialised.
    COFFER_ASSIGN_OR_RETURN(auto existing, w.kms().KeyIdForAlias(scope, alias));
    if (existing) {
      COFFER_ASSIGN_OR_RETURN(auto row, w.kms().FindKey(*existing));
      if (!row) return Status(ErrorCode::kInternalFailure, "alias points at a missing key");
      created = *row;
      return Status::Ok();
    }
    KmsKeyRow key;
    key.key_id = NewUuid();
    key.account = scope.account;
    key.region = scope.region;
    key.arn = "arn:aws:kms:" + scope.region + ":" + scope.account + ":key/" + key.key_id;
    key.manager = KeyManager::kAws;
    key.state = KeyState::kEnabled;
    key.description = "Default key that protects my " +
                      alias.substr(std::string("alias/aws/").size()) +
                      " data when no other key is defined";
    key.created_ms = clock_->NowMillis();
    key.current_material = 1;
    // AWS-managed keys rotate every year by themselves.
    // https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html
    key.rotation_enabled = true;
    key.rotation_period_days = 365;
    key.next_rotation_ms = key.created_ms + 365 * kMillisPerDay;
    key.policy = DefaultKeyPolicy(scope.account);
    COFFER_RETURN_IF_ERROR(w.kms().InsertKey(key));
    COFFER_ASSIGN_OR_RETURN(KeyMaterialRow material, NewKeyMaterial(key.key_id, 1, key.created_ms,
                                                                    MaterialOrigin::kCreated));
    COFFER_RETURN_IF_ERROR(w.kms().InsertMaterial(material));
    COFFER_RETURN_IF_ERROR(w.kms().PutAlias(scope, alias, key.key_id, key.created_ms));
    created = key;
    return Status::Ok();
  }));
  return created;
}

Result<SecretBytes> Keyring::Material(const std::string& key_id, int version) {
  const std::string cache_key = key_id + "/" + std::to_string(version);
  {
    std::shared_lock lock(mu_);
    if (root_key_.empty()) return SealedError();
    auto it = materials_.find(cache_key);
    if (it != materials_.end()) return it->second.ToSecretBytes();
  }
  std::optional<KeyMaterialRow> row;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(row, r.kms().GetMaterial(key_id, version));
    return Status::Ok();
  }));
  if (!row) return DecryptionFailure();
  COFFER_ASSIGN_OR_RETURN(SecretBytes material, UnwrapMaterial(*row));
  std::unique_lock lock(mu_);
  // A Seal() since the unwrap must not be undone by caching what it forgot.
  if (!root_key_.empty()) materials_.emplace(cache_key, LockedKey(material.Reveal()));
  return material;
}

Result<std::string> Keyring::SealValue(const KmsKeyRow& key_in, std::string_view context,
                                       std::string_view plaintext) {
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key, LoadKey(key_in.key_id));
  COFFER_RETURN_IF_ERROR(UsableForCrypto(key));
  COFFER_ASSIGN_OR_RETURN(SecretBytes material, Material(key.key_id, key.current_material));
  SecretBytes data_key = crypto::RandomSecret(crypto::kAesKeyBytes);
  std::string wrapped_dk = crypto::AesGcmSeal(material, context, data_key.Reveal());
  std::string out;
  out.reserve(1 + 1 + key.key_id.size() + 4 + 2 + wrapped_dk.size() + plaintext.size() + 28);
  out.push_back(static_cast<char>(kEnvelopeFormat));
  out.push_back(static_cast<char>(key.key_id.size()));
  out += key.key_id;
  PutU32(&out, static_cast<uint32_t>(key.current_material));
  PutU16(&out, static_cast<uint16_t>(wrapped_dk.size()));
  out += wrapped_dk;
  out += crypto::AesGcmSeal(data_key, context, plaintext);
  return out;
}

Result<SecretBytes> Keyring::OpenValue(std::string_view context, std::string_view env) {
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(env[i]); };
  if (env.size() < 2 || u8(0) != kEnvelopeFormat) return DecryptionFailure();
  size_t pos = 1;
  size_t id_len = u8(pos++);
  if (env.size() < pos + id_len + 6) return DecryptionFailure();
  std::string key_id(env.substr(pos, id_len));
  pos += id_len;
  uint32_t version = (uint32_t{u8(pos)} << 24) | (uint32_t{u8(pos + 1)} << 16) |
                     (uint32_t{u8(pos + 2)} << 8) | u8(pos + 3);
  pos += 4;
  size_t dk_len = (size_t{u8(pos)} << 8) | u8(pos + 1);
  pos += 2;
  if (env.size() < pos + dk_len) return DecryptionFailure();
  // A key or material that cannot be read now (the store down, the server sealed) is not a bad
  // envelope: that answer is retryable.
  auto key = LoadKey(key_id);
  if (!key.ok()) return Unavailable(key.status()) ? key.status() : DecryptionFailure();
  COFFER_RETURN_IF_ERROR(UsableForCrypto(*key));
  auto material = Material(key_id, static_cast<int>(version));
  if (!material.ok()) {
    return Unavailable(material.status()) ? material.status() : DecryptionFailure();
  }
  auto data_key = crypto::AesGcmOpen(*material, context, env.substr(pos, dk_len));
  if (!data_key) return DecryptionFailure();
  auto plain = crypto::AesGcmOpen(*data_key, context, env.substr(pos + dk_len));
  if (!plain) return DecryptionFailure();
  return std::move(*plain);
}

}  // namespace coffer
