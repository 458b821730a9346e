// Keyring: the key hierarchy beneath every stored secret.
//
//   unseal key (256-bit; protected by the seal: a 0600 file, a passphrase or Shamir shares)
//     └─ root key (stored in the store's meta, wrapped by the unseal key; replaced by RotateRoot)
//          ├─ KMS key material (per key, per material version; stored wrapped by the root key)
//          │    └─ data key (fresh per sealed value; stored wrapped by the KMS material)
//          │         └─ value, AES-256-GCM, AAD = caller's encryption context
//          └─ storage key (wraps access-key secrets and String parameter values)
//
// The keyring starts sealed: it holds no key and every operation that needs one fails with
// ServiceUnavailableException until Unseal() is given the unseal key. Seal() forgets every key
// (and tells listeners to drop what they derived from them). Keys live in LockedKey memory.
//
// An envelope (the bytes stored for a secret version) is self-describing:
//   u8  format (=1)
//   u8  key id length, then the KMS key id (UUID text)
//   u32 material version (big-endian)
//   u16 wrapped data key length, then nonce || AES-GCM(material, dk) || tag
//   the rest: nonce || AES-GCM(dk, value) || tag
// Both GCM layers take the context as AAD, so an envelope copied to another row (another ARN or
// version id) fails to open. Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/secret_bytes.h"
#include "core/status.h"
#include "crypto/locked_key.h"
#include "store/store.h"

namespace coffer {

class Keyring {
 public:
  // Starts sealed.
  Keyring(Store* store, const Clock* clock);

  // Writes a new deployment's root key and storage key, wrapped under `unseal_key`, into the
  // store's meta. `legacy_root_key` adopts a store whose material is wrapped directly by that
  // key (the layout before the unseal key existed): it becomes both root and storage key.
  static Status InitializeRootKeys(StoreWriter& w, const SecretBytes& unseal_key,
                                   const SecretBytes* legacy_root_key = nullptr);

  // Initialises the store's root keys under `unseal_key` when it has none and returns the
  // keyring unsealed. For tests and tools that manage no seal; aborts on failure.
  static std::unique_ptr<Keyring> OpenUnsealedForTest(Store* store, const SecretBytes& unseal_key,
                                                      const Clock* clock);

  // Opens the root and storage keys with the unseal key, reading them through `in_txn` when
  // given (to unseal inside the transaction that initialises the store). Errors:
  // InvalidUnsealKeyException when the key does not open them; InternalFailure when the store
  // has no root key.
  Status Unseal(const SecretBytes& unseal_key, StoreReader* in_txn = nullptr);
  // Forgets every key and cached material, then runs the seal listeners.
  void Seal();
  bool sealed() const { return sealed_.load(std::memory_order_acquire); }
  // `listener` runs after every Seal(), to drop state derived from keys (e.g. cached
  // credentials). Register before serving.
  void AddSealListener(std::function<void()> listener);
  // Generation of the root key: 1 at initialisation, +1 per RotateRoot.
  int root_generation() const;

  struct RootRotation {
    int generation = 0;
    int rewrapped_materials = 0;
  };
  // Replaces the root key: every KMS key material and the storage key are re-wrapped under a
  // new one, and the new root key under the unseal key, in one transaction (an interrupted
  // rotation leaves the previous root key in force). Values are not touched.
  // `fail_after_rewraps` >= 0 makes the transaction fail after that many materials, for tests.
  Result<RootRotation> RotateRoot(int fail_after_rewraps = -1);

  // Replaces the unseal key (a rekey): the root key is wrapped under `new_unseal_key` and
  // `also` records the new seal, in one transaction; afterwards only the new key opens the
  // store. Errors: ServiceUnavailableException when sealed; `also`'s errors (nothing changes).
  Status ChangeUnsealKey(const SecretBytes& new_unseal_key,
                         const std::function<Status(StoreWriter&)>& also);

  // A key derived from the unseal key for `purpose` (HMAC-SHA256 of the purpose under the
  // unseal key): what a backup's file key is wrapped under, so that only the seal that was in
  // force when the backup was taken (its shares, passphrase or root.key) opens the backup.
  // Errors: ServiceUnavailableException when sealed.
  Result<SecretBytes> DeriveFromUnsealKey(std::string_view purpose) const;
  static SecretBytes DeriveFromUnsealKey(const SecretBytes& unseal_key, std::string_view purpose);
  // Whether `unseal_key` opens the root key the store holds now (the check Unseal makes),
  // without unsealing anything. Errors: InvalidUnsealKeyException; InternalFailure when the
  // store has no root key.
  static Status CheckUnsealKey(Store* store, const SecretBytes& unseal_key);
  // Seals small secrets directly under the storage key (secret access keys, String parameter
  // values). Errors: ServiceUnavailableException when sealed; Unwrap: InternalFailure when the
  // bytes do not open.
  Result<std::string> WrapWithStorageKey(std::string_view purpose,
                                         std::string_view plaintext) const;
  Result<SecretBytes> UnwrapWithStorageKey(std::string_view purpose,
                                           std::string_view wrapped) const;

  // Resolves the KMS key a service should encrypt with. `key_ref` may be a key id, key ARN,
  // alias name ("alias/x") or alias ARN; empty means the AWS-managed key `alias/aws/<service>`,
  // which is created on first use. Errors: `not_found_code` when no such key exists in scope.
  Result<KmsKeyRow> ResolveKey(const Scope& scope, const std::string& key_ref,
                               const std::string& managed_service, ErrorCode not_found_code);

  // Whether a SealValue or OpenValue failure says nothing of the key or the value: the store
  // could not be read (ServiceUnavailable) or the server is sealed. Callers pass these through
  // as they are, retryable, instead of answering as if the key or the ciphertext were bad.
  static bool Unavailable(const Status& status) {
    return status.code() == ErrorCode::kServiceUnavailable ||
           status.code() == ErrorCode::kServiceUnavailableException;
  }

  // Seals plaintext under a fresh data key wrapped by the key's current material (read afresh,
  // so a rotation or a state change is seen). Errors: DisabledException,
  // KMSInvalidStateException (pending deletion), NotFoundException; Unavailable() ones.
  Result<std::string> SealValue(const KmsKeyRow& key, std::string_view context,
                                std::string_view plaintext);
  // Opens an envelope with the material version it names. Errors: DisabledException,
  // KMSInvalidStateException for a key that cannot be used now; "DecryptionFailure" when the
  // envelope is malformed, was sealed under another context, or its key no longer exists;
  // Unavailable() ones.
  Result<SecretBytes> OpenValue(std::string_view context, std::string_view envelope);

  // The KMS key id an envelope names (without opening it). Errors: DecryptionFailure.
  static Result<std::string> EnvelopeKeyId(std::string_view envelope);

  // The key's current row; cached until the next committed write. Errors: NotFoundException.
  Result<KmsKeyRow> LoadKey(const std::string& key_id);

  // Fresh key material for (key, version), sealed under the root key, ready to insert. Call it
  // inside the Write() that inserts it: RotateRoot relies on writes being serialised to see
  // every material. Errors: ServiceUnavailableException when sealed.
  Result<KeyMaterialRow> NewKeyMaterial(const std::string& key_id, int version, EpochMillis now,
                                        MaterialOrigin rotation_type) const;

  // The default key policy AWS gives a key: the account's root may use it, and IAM policies
  // decide for everyone else.
  static std::string DefaultKeyPolicy(const std::string& account);

 private:
  Result<SecretBytes> Material(const std::string& key_id, int version);
  Result<SecretBytes> UnwrapMaterial(const KeyMaterialRow& row) const;
  Result<KmsKeyRow> CreateManagedKey(const Scope& scope, const std::string& alias);
  static Status UsableForCrypto(const KmsKeyRow& key);

  Store* store_;
  const Clock* clock_;
  std::mutex rotate_mu_;  // one RotateRoot at a time
  mutable std::shared_mutex mu_;
  std::atomic<bool> sealed_{true};
  // Held while unsealed. The unseal key stays so that RotateRoot can wrap a new root key; the
  // previous root key stays after a rotation so that reads of a snapshot taken before it commit
  // still open their material.
  LockedKey unseal_key_;
  LockedKey root_key_;
  LockedKey previous_root_key_;
  LockedKey storage_key_;
  int root_generation_ = 0;
  std::vector<std::function<void()>> seal_listeners_;
  std::unordered_map<std::string, LockedKey> materials_;  // "key_id/version" -> material
  uint64_t keys_epoch_ = 0;                               // store epoch of keys_
  std::unordered_map<std::string, KmsKeyRow> keys_;
};

// The AAD for a KMS encryption context: a canonical serialisation of the sorted map, so that
// {"a":"b"} and {"a":"b","c":""} differ and no value can spell another pair.
std::string EncryptionContextAad(const std::map<std::string, std::string>& context);

// Returns the key-material AAD purpose string for (key, version).
std::string MaterialPurpose(const std::string& key_id, int version);

}  // namespace coffer
