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

// A rotation function registered with coffer (what a RotationLambdaARN names).
struct RotationFunctionRow {
  std::string account;
  std::string region;
  std::string name;
  std::string kind;      // "exec", "http" or "builtin"
  std::string config;    // JSON: exec {"Command":[...], "Environment":{...}}, http {"Url":...},
                         // builtin {"Builtin": "postgres-single-user" | ...}
  std::string role_arn;  // the execution role the function acts as
  int64_t timeout_seconds = 300;
  std::string wrapped_signing_key;  // http: HMAC key for the request signature (storage key)
  EpochMillis created_ms = 0;
};

// A rotation in progress (at most one per secret) and its lease.
struct RotationRunRow {
  int64_t secret_id = 0;
  std::string secret_arn;
  std::string account;
  std::string region;
  std::string token;                // the version being rotated in
  std::string mode;                 // "rotate" or "test" (RotateImmediately=false)
  std::string step;                 // the next step to run
  int64_t attempts = 0;             // failed attempts so far
  EpochMillis next_attempt_ms = 0;  // not before
  std::string lease_holder;         // the process running it, if any
  EpochMillis lease_expires_ms = 0;
  EpochMillis started_ms = 0;
  std::string last_error;
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

struct AccessKeyRow {
  std::string access_key_id;
  std::string wrapped_secret;  // secret access key sealed under the storage key
  std::string account;
  std::string principal_arn;
  std::string user_id;
  EpochMillis created_ms = 0;
  std::string status = "Active";  // or "Inactive"
  std::string user_name;          // the IAM user's name; empty for the account root
};

// An IAM user, role or group (one table: they share names, ids, paths and tags).
struct IamEntityRow {
  std::string kind;  // "user", "role" or "group"
  std::string account;
  std::string name;  // unique per account and kind, case-insensitively
  std::string id;    // AIDA... / AROA... / AGPA...
  std::string arn;
  std::string path = "/";
  std::string description;
  std::string trust_policy;            // roles: AssumeRolePolicyDocument
  int64_t max_session_seconds = 3600;  // roles
  EpochMillis created_ms = 0;
  Tags tags;
};

// A customer managed policy.
struct IamPolicyRow {
  std::string arn;
  std::string account;
  std::string name;
  std::string id;  // ANPA...
  std::string path = "/";
  std::string description;
  int64_t default_version = 1;
  int64_t next_version = 2;
  EpochMillis created_ms = 0;
  EpochMillis updated_ms = 0;
};

struct IamPolicyVersionRow {
  std::string policy_arn;
  int64_t version = 0;  // "v<version>" on the wire
  std::string document;
  EpochMillis created_ms = 0;
};

// Temporary credentials issued by STS (access key ids start with ASIA).
struct StsSessionRow {
  std::string access_key_id;
  std::string wrapped_secret;  // under the storage key
  std::string token_hash;      // SHA-256 (hex) of the session token
  std::string account;
  std::string principal_arn;   // arn:aws:sts::<acct>:assumed-role/<role>/<session>, or the user
  std::string user_id;         // AROA...:<session>, or the user's id
  std::string principal_type;  // "AssumedRole", "User" (GetSessionToken) or "Root"
  std::string role_arn;        // AssumedRole: the role's IAM ARN
  std::string user_name;       // User: the IAM user whose policies apply
  std::string session_policy;  // inline session policy JSON ("" = none)
  std::string session_policy_arns;  // managed session policy ARNs, newline-separated
  bool has_session_policies = false;
  Tags session_tags;
  int chain_depth = 0;  // 1 when a role session assumed another role
  EpochMillis created_ms = 0;
  EpochMillis expires_ms = 0;
};

struct KmsKeyRow {
  std::string key_id;  // UUID
  std::string account;
  std::string region;
  std::string arn;
  std::string manager;  // "AWS" or "CUSTOMER"
  std::string state;    // "Enabled", "Disabled", "PendingDeletion"
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

struct KeyMaterialRow {
  std::string key_id;
  int version = 0;
  std::string wrapped;  // material sealed under the root key
  EpochMillis created_ms = 0;
  std::string rotation_type;  // "" for the first material, else "AUTOMATIC" or "ON_DEMAND"
};

// A parameter's current state (its latest version's attributes).
struct ParameterRow {
  int64_t id = 0;
  std::string account;
  std::string region;
  std::string name;      // as created ("/a/b", "foo" or "/foo")
  std::string name_key;  // identity: a one-level name without its leading '/'
  std::string parent;    // the path one level up ("/a" for "/a/b"; "/" for top-level names)
  std::string type;      // String | StringList | SecureString
  std::string tier;      // Standard | Advanced
  std::string data_type;
  std::optional<std::string> key_id;  // SecureString: the KMS key as named by the caller
  std::optional<std::string> description;
  std::optional<std::string> allowed_pattern;
  std::optional<std::string> policies;  // JSON array text, as given
  int64_t version = 0;
  EpochMillis last_modified_ms = 0;
  std::string last_modified_user;
  std::optional<EpochMillis> expires_at_ms;  // from an Expiration policy
};

struct ParameterVersionRow {
  int64_t version = 0;
  std::string type;
  std::string tier;
  std::string data_type;
  std::optional<std::string> key_id;
  std::optional<std::string> description;
  std::optional<std::string> allowed_pattern;
  std::optional<std::string> policies;
  EpochMillis last_modified_ms = 0;
  std::string last_modified_user;
  std::string sealed_value;  // see ParamsService: root-sealed (String) or KMS envelope
  std::vector<std::string> labels;
};

// An event in coffer's event stream (EventBridge-shaped when delivered).
struct EventRow {
  int64_t id = 0;
  EpochMillis time_ms = 0;
  std::string account;
  std::string region;
  std::string source;       // e.g. "aws.ssm"
  std::string detail_type;  // e.g. "Parameter Store Policy Action"
  std::string resources;    // JSON array text
  std::string detail;       // JSON object text
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
  // One page of a scope's secrets in `q.order`, resuming after `q.after`: read through an index,
  // so a page costs the same whether the scope holds a hundred secrets or a hundred thousand.
  virtual Result<std::vector<SecretRow>> ListSecretsPage(const Scope& scope,
                                                         const SecretPageQuery& q) = 0;
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
  virtual Result<std::vector<AccessKeyRow>> ListAccessKeysForUser(const std::string& account,
                                                                  const std::string& user_name) = 0;
  virtual Result<std::optional<StsSessionRow>> FindStsSession(const std::string& access_key_id) = 0;
  virtual Result<std::vector<std::string>> ListAccounts() = 0;

  // IAM. Names match case-insensitively, as in IAM.
  virtual Result<std::optional<IamEntityRow>> FindIamEntity(const std::string& account,
                                                            const std::string& kind,
                                                            const std::string& name) = 0;
  // Ordered by name (case-folded), strictly after `after`; `path_prefix` filters.
  virtual Result<std::vector<IamEntityRow>> ListIamEntities(const std::string& account,
                                                            const std::string& kind,
                                                            const std::string& path_prefix,
                                                            const std::string& after,
                                                            int limit) = 0;
  virtual Result<std::optional<std::string>> GetInlinePolicy(const std::string& account,
                                                             const std::string& kind,
                                                             const std::string& owner,
                                                             const std::string& policy_name) = 0;
  // (name, document) pairs ordered by name.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListInlinePolicies(
      const std::string& account, const std::string& kind, const std::string& owner) = 0;
  virtual Result<std::optional<IamPolicyRow>> FindManagedPolicy(const std::string& arn) = 0;
  virtual Result<std::vector<IamPolicyRow>> ListManagedPolicies(const std::string& account,
                                                                const std::string& path_prefix,
                                                                const std::string& after,
                                                                int limit) = 0;
  virtual Result<std::optional<IamPolicyVersionRow>> GetPolicyVersion(const std::string& arn,
                                                                      int64_t version) = 0;
  virtual Result<std::vector<IamPolicyVersionRow>> ListPolicyVersions(const std::string& arn) = 0;
  virtual Result<std::vector<std::string>> ListAttachedPolicies(const std::string& account,
                                                                const std::string& kind,
                                                                const std::string& owner) = 0;
  virtual Result<int64_t> CountPolicyAttachments(const std::string& arn) = 0;
  virtual Result<std::vector<std::string>> ListGroupsForUser(const std::string& account,
                                                             const std::string& user) = 0;
  virtual Result<std::vector<std::string>> ListGroupMembers(const std::string& account,
                                                            const std::string& group) = 0;

  virtual Result<std::optional<KmsKeyRow>> FindKmsKey(const std::string& key_id) = 0;
  virtual Result<std::optional<std::string>> KmsKeyIdForAlias(const Scope& scope,
                                                              const std::string& alias) = 0;
  virtual Result<std::optional<KeyMaterialRow>> GetKeyMaterial(const std::string& key_id,
                                                               int version) = 0;
  // Keys of a scope ordered by key id, strictly after `after`.
  virtual Result<std::vector<KmsKeyRow>> ListKmsKeys(const Scope& scope, const std::string& after,
                                                     int limit) = 0;
  // Aliases of a scope ordered by name, strictly after `after`; `key_id` non-empty filters.
  virtual Result<std::vector<KmsAliasRow>> ListAliases(const Scope& scope,
                                                       const std::string& key_id,
                                                       const std::string& after, int limit) = 0;
  // Metadata of every material version, oldest first (no key bytes).
  virtual Result<std::vector<KeyMaterialRow>> ListKeyMaterials(const std::string& key_id) = 0;
  // Every material of every key, with its wrapped bytes, for re-wrapping under a new root key.
  virtual Result<std::vector<KeyMaterialRow>> ListAllKeyMaterials() = 0;
  // Every scope: keys whose automatic rotation or scheduled deletion is due.
  virtual Result<std::vector<KmsKeyRow>> KmsKeysDueForRotation(EpochMillis now) = 0;
  virtual Result<std::vector<KmsKeyRow>> KmsKeysDueForDeletion(EpochMillis now) = 0;
  virtual Result<Tags> GetKmsKeyTags(const std::string& key_id) = 0;

  // Parameters. Listing calls return rows ordered by name_key, strictly after `after` (a
  // name_key; empty = from the start), at most `limit` rows: index range scans, so a page costs
  // O(limit + log n).
  virtual Result<std::optional<ParameterRow>> FindParameter(const Scope& scope,
                                                            const std::string& name_key) = 0;
  virtual Result<std::vector<ParameterRow>> ListParametersByParent(const Scope& scope,
                                                                   const std::string& parent,
                                                                   const std::string& after,
                                                                   int limit) = 0;
  // name_key >= prefix and starting with it (empty prefix: every parameter of the scope).
  virtual Result<std::vector<ParameterRow>> ListParametersByPrefix(const Scope& scope,
                                                                   const std::string& prefix,
                                                                   const std::string& after,
                                                                   int limit) = 0;
  virtual Result<int64_t> CountParameters(const Scope& scope, const std::string& tier) = 0;
  virtual Result<std::optional<ParameterVersionRow>> GetParameterVersion(int64_t parameter_id,
                                                                         int64_t version) = 0;
  // Oldest first, with values and labels.
  virtual Result<std::vector<ParameterVersionRow>> ListParameterVersions(int64_t parameter_id) = 0;
  virtual Result<std::optional<int64_t>> ParameterVersionForLabel(int64_t parameter_id,
                                                                  const std::string& label) = 0;
  virtual Result<Tags> GetParameterTags(int64_t parameter_id) = 0;
  // Every scope: parameters whose Expiration is at or before `now`.
  virtual Result<std::vector<ParameterRow>> ListExpiredParameters(EpochMillis now) = 0;
  // Every scope: parameters that carry policies (for the notification job).
  virtual Result<std::vector<ParameterRow>> ListParametersWithPolicies() = 0;
  virtual Result<bool> NotificationSent(int64_t parameter_id, int64_t version,
                                        const std::string& policy_type) = 0;
  virtual Result<std::vector<EventRow>> ListEvents(int64_t after_id, int limit) = 0;
  // One account's events after `after_id`, oldest first.
  virtual Result<std::vector<EventRow>> ListAccountEvents(const std::string& account,
                                                          int64_t after_id, int limit) = 0;

  // Rotation.
  virtual Result<std::optional<RotationFunctionRow>> FindRotationFunction(
      const std::string& account, const std::string& region, const std::string& name) = 0;
  virtual Result<std::optional<RotationRunRow>> FindRotationRun(int64_t secret_id) = 0;
  // Runs whose next attempt is due and whose lease is free or expired, oldest first.
  virtual Result<std::vector<RotationRunRow>> ListDueRotationRuns(EpochMillis now, int limit) = 0;
  // Secrets of every scope whose rotation window has started and that have no run yet.
  virtual Result<std::vector<SecretRow>> ListSecretsDueForRotation(EpochMillis now, int limit) = 0;
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
  virtual Status UpdateAccessKeyStatus(const std::string& access_key_id,
                                       const std::string& status) = 0;
  virtual Status DeleteAccessKey(const std::string& access_key_id) = 0;
  virtual Status InsertStsSession(const StsSessionRow& row) = 0;
  virtual Status DeleteExpiredStsSessions(EpochMillis now) = 0;
  virtual Status InsertAccount(const std::string& account, EpochMillis created_ms) = 0;

  virtual Status InsertIamEntity(const IamEntityRow& row) = 0;
  // Updates path-independent attributes: description, trust policy, max session, tags.
  virtual Status UpdateIamEntity(const IamEntityRow& row) = 0;
  // Removes the entity with its inline policies, attachments and group memberships.
  virtual Status DeleteIamEntity(const std::string& account, const std::string& kind,
                                 const std::string& name) = 0;
  virtual Status PutInlinePolicy(const std::string& account, const std::string& kind,
                                 const std::string& owner, const std::string& policy_name,
                                 const std::string& document) = 0;
  virtual Status DeleteInlinePolicy(const std::string& account, const std::string& kind,
                                    const std::string& owner, const std::string& policy_name) = 0;
  virtual Status InsertManagedPolicy(const IamPolicyRow& row) = 0;
  virtual Status UpdateManagedPolicy(const IamPolicyRow& row) = 0;
  // Removes the policy with its versions.
  virtual Status DeleteManagedPolicy(const std::string& arn) = 0;
  virtual Status InsertPolicyVersion(const IamPolicyVersionRow& row) = 0;
  virtual Status DeletePolicyVersion(const std::string& arn, int64_t version) = 0;
  virtual Status AttachPolicy(const std::string& account, const std::string& kind,
                              const std::string& owner, const std::string& policy_arn) = 0;
  virtual Status DetachPolicy(const std::string& account, const std::string& kind,
                              const std::string& owner, const std::string& policy_arn) = 0;
  virtual Status AddUserToGroup(const std::string& account, const std::string& group,
                                const std::string& user) = 0;
  virtual Status RemoveUserFromGroup(const std::string& account, const std::string& group,
                                     const std::string& user) = 0;

  virtual Status InsertKmsKey(const KmsKeyRow& row) = 0;
  virtual Status InsertKeyMaterial(const KeyMaterialRow& row) = 0;
  virtual Status UpdateKeyMaterialWrapping(const std::string& key_id, int version,
                                           const std::string& wrapped) = 0;
  // Creates the alias or re-points it (keeping its creation date).
  virtual Status PutAlias(const Scope& scope, const std::string& alias, const std::string& key_id,
                          EpochMillis now_ms) = 0;
  virtual Status UpdateKmsKey(const KmsKeyRow& row) = 0;
  // Removes the key with its materials, aliases and tags.
  virtual Status DeleteKmsKey(const std::string& key_id) = 0;
  virtual Status DeleteAlias(const Scope& scope, const std::string& alias) = 0;
  virtual Status SetKmsKeyTags(const std::string& key_id, const Tags& tags) = 0;

  // Assigns row->id.
  virtual Status InsertParameter(ParameterRow* row) = 0;
  virtual Status UpdateParameter(const ParameterRow& row) = 0;
  // Removes the parameter with its versions, labels and tags.
  virtual Status DeleteParameter(int64_t parameter_id) = 0;
  virtual Status InsertParameterVersion(int64_t parameter_id, const ParameterVersionRow& row) = 0;
  virtual Status DeleteParameterVersion(int64_t parameter_id, int64_t version) = 0;
  // A label names at most one version of a parameter: setting it moves it.
  virtual Status SetParameterLabel(int64_t parameter_id, const std::string& label,
                                   int64_t version) = 0;
  virtual Status RemoveParameterLabel(int64_t parameter_id, const std::string& label) = 0;
  virtual Status SetParameterTags(int64_t parameter_id, const Tags& tags) = 0;
  virtual Status MarkNotificationSent(int64_t parameter_id, int64_t version,
                                      const std::string& policy_type) = 0;
  virtual Status AppendEvent(const EventRow& event) = 0;
  // Retention: removes events older than `older_than`, and each account's oldest events
  // beyond its newest `max_per_account`.
  virtual Status PruneEvents(EpochMillis older_than, int64_t max_per_account) = 0;

  virtual Status PutRotationFunction(const RotationFunctionRow& row) = 0;
  virtual Status DeleteRotationFunction(const std::string& account, const std::string& region,
                                        const std::string& name) = 0;
  // Inserts or replaces the run of row.secret_id.
  virtual Status PutRotationRun(const RotationRunRow& row) = 0;
  virtual Status DeleteRotationRun(int64_t secret_id) = 0;
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

  // Why the store cannot write at the moment (disk full, read-only, I/O errors), or empty when
  // its last write succeeded. Writes that fail so return ServiceUnavailable; reads go on.
  virtual std::string WriteProblem() const { return {}; }
  // Prometheus text for the store's own counters (failed writes by reason).
  virtual std::string PrometheusText() const { return {}; }
};

}  // namespace coffer
