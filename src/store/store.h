// Store: coffer's durable state behind one small interface.
//
// Services never see SQL. They run a function inside a read or write transaction and use the
// typed accessors below. Implementations (SQLite embedded; PostgreSQL later) guarantee:
//  - Write() is serialisable and durable: once it returns OK the change survives kill -9.
//  - Read() sees a consistent snapshot.
//  - Values stored here are already encrypted (envelopes); metadata is stored in clear.
// Thread-safety: all methods may be called from any thread concurrently.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

using Tags = std::vector<std::pair<std::string, std::string>>;  // insertion order kept

// Identifies the (account, region) namespace every regional resource lives in.
struct Scope {
  std::string account;
  std::string region;
};

struct SecretRow {
  int64_t id = 0;  // store-assigned, stable for the secret's life
  std::string account;
  std::string region;
  std::string name;
  std::string arn;
  std::optional<std::string> description;
  std::optional<std::string> kms_key_id;  // as the caller named it; nullopt = default key
  EpochMillis created_ms = 0;
  EpochMillis last_changed_ms = 0;
  std::optional<EpochMillis> last_accessed_ms;  // midnight UTC of the last read day
  std::optional<EpochMillis> deleted_ms;        // when DeleteSecret was called
  std::optional<EpochMillis> purge_at_ms;       // when the recovery window ends
  Tags tags;
};

struct SecretVersionRow {
  std::string version_id;
  EpochMillis created_ms = 0;
  std::optional<EpochMillis> last_accessed_ms;
  std::string kms_key_arn;  // the key whose data key sealed this version
  bool binary = false;      // SecretBinary rather than SecretString
  std::string envelope;     // sealed value (see keyring/envelope.h); empty when not loaded
  std::vector<std::string> stages;
};

struct AccessKeyRow {
  std::string access_key_id;
  std::string wrapped_secret;  // secret access key sealed under the root key
  std::string account;
  std::string principal_arn;
  std::string user_id;
  EpochMillis created_ms = 0;
};

struct KmsKeyRow {
  std::string key_id;  // UUID
  std::string account;
  std::string region;
  std::string arn;
  std::string manager;  // "AWS" or "CUSTOMER"
  std::string state;    // "Enabled", ...
  std::string description;
  EpochMillis created_ms = 0;
  int current_material = 1;
};

struct KeyMaterialRow {
  std::string key_id;
  int version = 0;
  std::string wrapped;  // material sealed under the root key
  EpochMillis created_ms = 0;
};

class StoreReader {
 public:
  virtual ~StoreReader() = default;

  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;

  virtual Result<std::optional<SecretRow>> FindSecretByArn(const Scope& scope,
                                                           const std::string& arn) = 0;
  // Live names are unique per scope (a secret pending deletion still holds its name).
  virtual Result<std::optional<SecretRow>> FindSecretByName(const Scope& scope,
                                                            const std::string& name) = 0;
  virtual Result<std::vector<SecretRow>> ListSecrets(const Scope& scope) = 0;
  // Secrets of every scope whose recovery window ended at or before `now`.
  virtual Result<std::vector<SecretRow>> ListSecretsDueForPurge(EpochMillis now) = 0;

  // Versions with their stages, without envelopes, oldest first.
  virtual Result<std::vector<SecretVersionRow>> ListVersions(int64_t secret_id) = 0;
  // One version with its envelope and stages.
  virtual Result<std::optional<SecretVersionRow>> GetVersion(int64_t secret_id,
                                                             const std::string& version_id) = 0;
  virtual Result<std::optional<std::string>> VersionIdForStage(int64_t secret_id,
                                                               const std::string& stage) = 0;

  virtual Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& access_key_id) = 0;
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeys() = 0;

  virtual Result<std::optional<KmsKeyRow>> FindKmsKey(const std::string& key_id) = 0;
  virtual Result<std::optional<std::string>> KmsKeyIdForAlias(const Scope& scope,
                                                              const std::string& alias) = 0;
  virtual Result<std::optional<KeyMaterialRow>> GetKeyMaterial(const std::string& key_id,
                                                               int version) = 0;
};

class StoreWriter : public StoreReader {
 public:
  virtual Status PutMeta(const std::string& key, const std::string& value) = 0;

  // Assigns row->id.
  virtual Status InsertSecret(SecretRow* row) = 0;
  virtual Status UpdateSecret(const SecretRow& row) = 0;
  // Removes the secret with all its versions and stages.
  virtual Status DeleteSecret(int64_t secret_id) = 0;

  virtual Status InsertVersion(int64_t secret_id, const SecretVersionRow& row) = 0;
  virtual Status DeleteVersion(int64_t secret_id, const std::string& version_id) = 0;
  virtual Status SetVersionLastAccessed(int64_t secret_id, const std::string& version_id,
                                        EpochMillis day) = 0;
  // A stage names at most one version of a secret: setting it moves it.
  virtual Status SetStage(int64_t secret_id, const std::string& stage,
                          const std::string& version_id) = 0;
  virtual Status RemoveStage(int64_t secret_id, const std::string& stage) = 0;

  virtual Status InsertAccessKey(const AccessKeyRow& row) = 0;

  virtual Status InsertKmsKey(const KmsKeyRow& row) = 0;
  virtual Status InsertKeyMaterial(const KeyMaterialRow& row) = 0;
  virtual Status PutAlias(const Scope& scope, const std::string& alias,
                          const std::string& key_id) = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs fn in a read-only snapshot. Returns fn's status (or a store failure).
  virtual Status Read(const std::function<Status(StoreReader&)>& fn) = 0;
  // Runs fn in a write transaction: committed durably if fn returns OK, rolled back otherwise.
  virtual Status Write(const std::function<Status(StoreWriter&)>& fn) = 0;

  // Increases with every committed write made through this Store. Read caches tag their entries
  // with it: an entry read at counter N is valid while the counter is still N.
  virtual uint64_t CommittedWrites() const = 0;
};

}  // namespace coffer
