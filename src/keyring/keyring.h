// Keyring: the key hierarchy beneath every stored secret.
//
//   root key (256-bit, held only in memory while unsealed)
//     └─ KMS key material (per key, per material version; stored wrapped by the root key)
//          └─ data key (fresh per sealed value; stored wrapped by the KMS material)
//               └─ value, AES-256-GCM, AAD = caller's encryption context
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

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "core/secret_bytes.h"
#include "core/status.h"
#include "store/store.h"

namespace coffer {

class Keyring {
 public:
  Keyring(Store* store, SecretBytes root_key, const Clock* clock);

  // Seals small secrets directly under the root key (e.g. secret access keys).
  std::string WrapWithRoot(std::string_view purpose, std::string_view plaintext) const;
  Result<SecretBytes> UnwrapWithRoot(std::string_view purpose, std::string_view wrapped) const;

  // Resolves the KMS key a service should encrypt with. `key_ref` may be a key id, key ARN,
  // alias name ("alias/x") or alias ARN; empty means the AWS-managed key `alias/aws/<service>`,
  // which is created on first use. Errors: `not_found_code` when no such key exists in scope.
  Result<KmsKeyRow> ResolveKey(const Scope& scope, const std::string& key_ref,
                               const std::string& managed_service,
                               const std::string& not_found_code);

  // Seals plaintext under a fresh data key wrapped by the key's current material (read afresh,
  // so a rotation or a state change is seen). Errors: DisabledException,
  // KMSInvalidStateException (pending deletion), NotFoundException.
  Result<std::string> Seal(const KmsKeyRow& key, std::string_view context,
                           std::string_view plaintext);
  // Opens an envelope with the material version it names. Errors: DisabledException,
  // KMSInvalidStateException for a key that cannot be used now; "DecryptionFailure" when the
  // envelope is malformed, was sealed under another context, or its key no longer exists.
  Result<SecretBytes> Open(std::string_view context, std::string_view envelope);

  // The KMS key id an envelope names (without opening it). Errors: DecryptionFailure.
  static Result<std::string> EnvelopeKeyId(std::string_view envelope);

  // The key's current row; cached until the next committed write. Errors: NotFoundException.
  Result<KmsKeyRow> LoadKey(const std::string& key_id);

  // Fresh key material for (key, version), sealed under the root key, ready to insert.
  KeyMaterialRow NewKeyMaterial(const std::string& key_id, int version, EpochMillis now,
                                const std::string& rotation_type) const;

  // The default key policy AWS gives a key: the account's root may use it, and IAM policies
  // decide for everyone else.
  static std::string DefaultKeyPolicy(const std::string& account);

 private:
  Result<SecretBytes> Material(const std::string& key_id, int version);
  Result<KmsKeyRow> CreateManagedKey(const Scope& scope, const std::string& alias);
  static Status UsableForCrypto(const KmsKeyRow& key);

  Store* store_;
  SecretBytes root_key_;
  const Clock* clock_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, SecretBytes> materials_;  // "key_id/version" -> material
  uint64_t keys_epoch_ = 0;                                 // store epoch of keys_
  std::unordered_map<std::string, KmsKeyRow> keys_;
};

// The AAD for a KMS encryption context: a canonical serialisation of the sorted map, so that
// {"a":"b"} and {"a":"b","c":""} differ and no value can spell another pair.
std::string EncryptionContextAad(const std::map<std::string, std::string>& context);

// Returns the key-material AAD purpose string for (key, version).
std::string MaterialPurpose(const std::string& key_id, int version);

}  // namespace coffer
