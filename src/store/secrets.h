// Secrets Manager's tables: secrets (with their tags), versions (with sealed values) and staging
// labels. Error contract: store/deployment.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/scope.h"
#include "core/status.h"
#include "core/tags.h"

namespace coffer {

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
  std::optional<std::string> resource_policy;   // PutResourcePolicy's JSON text
  bool rotation_enabled = false;
  std::optional<std::string> rotation_lambda_arn;
  std::optional<std::string> rotation_rules;  // RotationRules as JSON text
  std::optional<EpochMillis> last_rotated_ms;
  std::optional<EpochMillis> next_rotation_ms;  // start of the next rotation window
  Tags tags;
  bool tagged = false;  // tags were set at some time: DescribeSecret shows "Tags" even when empty
};

// The orders ListSecrets can list in. Ties (equal dates) are broken by the store's id, so every
// order is total and a page can resume exactly where the previous one stopped.
enum class SecretOrder { kCreated, kLastChanged, kLastAccessed, kName };

// The last secret a page consumed, in the page's order.
struct SecretCursor {
  int64_t key = 0;   // the sort key: created, last changed, or last accessed (0 = never)
  std::string name;  // the sort key of SecretOrder::kName
  int64_t id = 0;
};

struct SecretPageQuery {
  SecretOrder order = SecretOrder::kCreated;
  bool descending = false;
  bool include_deleted = false;       // secrets in their recovery window
  std::optional<SecretCursor> after;  // nullopt: from the first secret
  int limit = 100;
};

struct SecretVersionRow {
  std::string version_id;
  EpochMillis created_ms = 0;
  std::optional<EpochMillis> last_accessed_ms;
  std::string kms_key_arn;  // the key whose data key sealed this version
  bool binary = false;      // SecretBinary rather than SecretString
  std::string envelope;     // sealed value (format: keyring/keyring.h); empty when not loaded
  std::vector<std::string> stages;
};

// How many of the live secrets of one account and region are near expiry (SecretNearExpiry).
struct NearExpiryCount {
  std::string account;
  std::string region;
  int64_t rotation_due = 0;  // rotation on, and due (or overdue) by the time asked
  int64_t unrotated = 0;     // rotation off, and the AWSCURRENT value older than the age asked
};

class SecretsReader {
 public:
  virtual ~SecretsReader() = default;

  virtual Result<std::optional<SecretRow>> FindByArn(const Scope& scope,
                                                     const std::string& arn) = 0;
  // Live names are unique per scope (a secret pending deletion still holds its name).
  virtual Result<std::optional<SecretRow>> FindByName(const Scope& scope,
                                                      const std::string& name) = 0;
  // One page of a scope's secrets in `q.order`, resuming after `q.after`: read through an index,
  // so a page costs the same whether the scope holds a hundred secrets or a hundred thousand.
  virtual Result<std::vector<SecretRow>> ListPage(const Scope& scope, const SecretPageQuery& q) = 0;
  // Secrets of every scope whose recovery window ended at or before `now`.
  virtual Result<std::vector<SecretRow>> ListDueForPurge(EpochMillis now) = 0;
  // Secrets of every scope whose rotation window has started and that have no rotation run yet,
  // the longest-waiting first.
  virtual Result<std::vector<SecretRow>> ListDueForRotation(EpochMillis now, int limit) = 0;
  // Every account's and region's NearExpiryCount: rotation due by `rotation_due_by`, or off with
  // an AWSCURRENT value created before `current_before`. Scopes with neither are left out.
  virtual Result<std::vector<NearExpiryCount>> CountNearExpiry(EpochMillis rotation_due_by,
                                                               EpochMillis current_before) = 0;

  // Versions with their stages, without envelopes, oldest first.
  virtual Result<std::vector<SecretVersionRow>> ListVersions(int64_t secret_id) = 0;
  // One version with its envelope and stages.
  virtual Result<std::optional<SecretVersionRow>> GetVersion(int64_t secret_id,
                                                             const std::string& version_id) = 0;
  virtual Result<std::optional<std::string>> VersionIdForStage(int64_t secret_id,
                                                               const std::string& stage) = 0;
};

class SecretsWriter : public SecretsReader {
 public:
  // Assigns row->id. A live secret of the same name in the scope: InternalFailure.
  virtual Status Insert(SecretRow* row) = 0;
  // Writes every attribute but the identity (account, region, name, arn, created).
  virtual Status Update(const SecretRow& row) = 0;
  // Removes the secret with all its versions, stages, tags and its rotation run.
  virtual Status Delete(int64_t secret_id) = 0;

  virtual Status InsertVersion(int64_t secret_id, const SecretVersionRow& row) = 0;
  virtual Status DeleteVersion(int64_t secret_id, const std::string& version_id) = 0;
  virtual Status SetVersionLastAccessed(int64_t secret_id, const std::string& version_id,
                                        EpochMillis day) = 0;
  // A stage names at most one version of a secret: setting it moves it.
  virtual Status SetStage(int64_t secret_id, const std::string& stage,
                          const std::string& version_id) = 0;
  virtual Status RemoveStage(int64_t secret_id, const std::string& stage) = 0;
};

}  // namespace coffer
