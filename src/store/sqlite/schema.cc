#include "store/sqlite/schema.h"

#include <iterator>
#include <string>

namespace coffer::sqlite {
namespace {

constexpr int kSchemaVersion = 13;

// Forward migrations, one entry per schema version. Never edit an entry once released; add one.
constexpr const char* kMigrations[] = {
    // v1
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE access_keys (
  access_key_id TEXT PRIMARY KEY,
  wrapped_secret BLOB NOT NULL,
  account TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  user_id TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE kms_keys (
  key_id TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  arn TEXT NOT NULL UNIQUE,
  manager TEXT NOT NULL,
  state TEXT NOT NULL,
  description TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  current_material INTEGER NOT NULL);
CREATE TABLE kms_key_materials (
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  version INTEGER NOT NULL,
  wrapped BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (key_id, version));
CREATE TABLE kms_aliases (
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  alias TEXT NOT NULL,
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id),
  PRIMARY KEY (account, region, alias));
CREATE TABLE secrets (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  name TEXT NOT NULL,
  arn TEXT NOT NULL UNIQUE,
  description TEXT,
  kms_key_id TEXT,
  created_ms INTEGER NOT NULL,
  last_changed_ms INTEGER NOT NULL,
  last_accessed_ms INTEGER,
  deleted_ms INTEGER,
  purge_at_ms INTEGER);
CREATE UNIQUE INDEX secrets_by_name ON secrets (account, region, name);
CREATE INDEX secrets_by_purge ON secrets (purge_at_ms) WHERE purge_at_ms IS NOT NULL;
CREATE TABLE secret_tags (
  secret_id INTEGER NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (secret_id, position));
CREATE TABLE secret_versions (
  secret_id INTEGER NOT NULL REFERENCES secrets(id) ON DELETE CASCADE,
  version_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  last_accessed_ms INTEGER,
  kms_key_arn TEXT NOT NULL,
  is_binary INTEGER NOT NULL,
  envelope BLOB NOT NULL,
  PRIMARY KEY (secret_id, version_id));
CREATE TABLE version_stages (
  secret_id INTEGER NOT NULL,
  stage TEXT NOT NULL,
  version_id TEXT NOT NULL,
  PRIMARY KEY (secret_id, stage),
  FOREIGN KEY (secret_id, version_id) REFERENCES secret_versions(secret_id, version_id)
    ON DELETE CASCADE);
CREATE INDEX stages_by_version ON version_stages (secret_id, version_id);
)sql",
    // v2: Parameter Store and the event stream.
    R"sql(
CREATE TABLE parameters (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  name TEXT NOT NULL,
  name_key TEXT NOT NULL,
  parent TEXT NOT NULL,
  type TEXT NOT NULL,
  tier TEXT NOT NULL,
  data_type TEXT NOT NULL,
  key_id TEXT,
  description TEXT,
  allowed_pattern TEXT,
  policies TEXT,
  version INTEGER NOT NULL,
  last_modified_ms INTEGER NOT NULL,
  last_modified_user TEXT NOT NULL,
  expires_at_ms INTEGER);
CREATE UNIQUE INDEX parameters_by_name ON parameters (account, region, name_key);
CREATE INDEX parameters_by_parent ON parameters (account, region, parent, name_key);
CREATE INDEX parameters_by_tier ON parameters (account, region, tier);
CREATE INDEX parameters_by_expiry ON parameters (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
CREATE INDEX parameters_with_policies ON parameters (id) WHERE policies IS NOT NULL;
CREATE TABLE parameter_versions (
  parameter_id INTEGER NOT NULL REFERENCES parameters(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  type TEXT NOT NULL,
  tier TEXT NOT NULL,
  data_type TEXT NOT NULL,
  key_id TEXT,
  description TEXT,
  allowed_pattern TEXT,
  policies TEXT,
  last_modified_ms INTEGER NOT NULL,
  last_modified_user TEXT NOT NULL,
  sealed_value BLOB NOT NULL,
  PRIMARY KEY (parameter_id, version));
CREATE TABLE parameter_labels (
  parameter_id INTEGER NOT NULL,
  label TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (parameter_id, label),
  FOREIGN KEY (parameter_id, version) REFERENCES parameter_versions(parameter_id, version)
    ON DELETE CASCADE);
CREATE INDEX labels_by_version ON parameter_labels (parameter_id, version);
CREATE TABLE parameter_tags (
  parameter_id INTEGER NOT NULL REFERENCES parameters(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (parameter_id, position));
CREATE TABLE parameter_notifications (
  parameter_id INTEGER NOT NULL REFERENCES parameters(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  policy_type TEXT NOT NULL,
  PRIMARY KEY (parameter_id, version, policy_type));
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  source TEXT NOT NULL,
  detail_type TEXT NOT NULL,
  resources TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql",
    // v3: the KMS API — key states, rotation, policies, tags, alias dates.
    R"sql(
ALTER TABLE kms_keys ADD COLUMN deletion_ms INTEGER;
ALTER TABLE kms_keys ADD COLUMN pending_window_days INTEGER;
ALTER TABLE kms_keys ADD COLUMN rotation_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kms_keys ADD COLUMN rotation_period_days INTEGER;
ALTER TABLE kms_keys ADD COLUMN next_rotation_ms INTEGER;
ALTER TABLE kms_keys ADD COLUMN policy TEXT NOT NULL DEFAULT '';
ALTER TABLE kms_key_materials ADD COLUMN rotation_type TEXT NOT NULL DEFAULT '';
ALTER TABLE kms_aliases ADD COLUMN created_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE kms_aliases ADD COLUMN updated_ms INTEGER NOT NULL DEFAULT 0;
CREATE INDEX kms_keys_by_scope ON kms_keys (account, region, key_id);
CREATE INDEX kms_keys_by_rotation ON kms_keys (next_rotation_ms)
  WHERE rotation_enabled = 1 AND next_rotation_ms IS NOT NULL;
CREATE INDEX kms_keys_by_deletion ON kms_keys (deletion_ms) WHERE deletion_ms IS NOT NULL;
CREATE TABLE kms_key_tags (
  key_id TEXT NOT NULL REFERENCES kms_keys(key_id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (key_id, position));
)sql",
    // v4: the one-level listing index covers every column a listing returns, so a page of a
    // path reads contiguous index entries and never the scattered table rows.
    R"sql(
DROP INDEX parameters_by_parent;
CREATE INDEX parameters_by_parent ON parameters (account, region, parent, name_key, id, name,
  type, tier, data_type, key_id, description, allowed_pattern, policies, version,
  last_modified_ms, last_modified_user, expires_at_ms);
)sql",
    // v5: identities (IAM users, roles, groups, policies), STS sessions, accounts, secret
    // resource policies.
    R"sql(
ALTER TABLE secrets ADD COLUMN resource_policy TEXT;
ALTER TABLE access_keys ADD COLUMN status TEXT NOT NULL DEFAULT 'Active';
ALTER TABLE access_keys ADD COLUMN user_name TEXT NOT NULL DEFAULT '';
CREATE INDEX access_keys_by_user ON access_keys (account, user_name);
CREATE TABLE accounts (account TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);
INSERT INTO accounts (account, created_ms) SELECT value, 0 FROM meta WHERE key = 'account_id';
CREATE TABLE sts_sessions (
  access_key_id TEXT PRIMARY KEY,
  wrapped_secret BLOB NOT NULL,
  token_hash TEXT NOT NULL,
  account TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  user_id TEXT NOT NULL,
  principal_type TEXT NOT NULL,
  role_arn TEXT NOT NULL,
  user_name TEXT NOT NULL,
  session_policy TEXT NOT NULL,
  session_policy_arns TEXT NOT NULL,
  has_session_policies INTEGER NOT NULL,
  chain_depth INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL);
CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires_ms);
CREATE TABLE sts_session_tags (
  access_key_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (access_key_id, position));
CREATE TABLE iam_entities (
  account TEXT NOT NULL,
  kind TEXT NOT NULL,
  name_key TEXT NOT NULL,
  name TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  arn TEXT NOT NULL UNIQUE,
  path TEXT NOT NULL,
  description TEXT NOT NULL,
  trust_policy TEXT NOT NULL,
  max_session_seconds INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (account, kind, name_key));
CREATE TABLE iam_entity_tags (
  arn TEXT NOT NULL,
  position INTEGER NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (arn, position));
CREATE TABLE iam_inline_policies (
  account TEXT NOT NULL,
  kind TEXT NOT NULL,
  owner_key TEXT NOT NULL,
  name TEXT NOT NULL,
  document TEXT NOT NULL,
  PRIMARY KEY (account, kind, owner_key, name));
CREATE TABLE iam_managed_policies (
  arn TEXT PRIMARY KEY,
  account TEXT NOT NULL,
  name TEXT NOT NULL,
  id TEXT NOT NULL,
  path TEXT NOT NULL,
  description TEXT NOT NULL,
  default_version INTEGER NOT NULL,
  next_version INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL);
CREATE INDEX iam_managed_policies_by_account ON iam_managed_policies (account, name);
CREATE TABLE iam_policy_versions (
  policy_arn TEXT NOT NULL,
  version INTEGER NOT NULL,
  document TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (policy_arn, version));
CREATE TABLE iam_attachments (
  account TEXT NOT NULL,
  kind TEXT NOT NULL,
  owner_key TEXT NOT NULL,
  policy_arn TEXT NOT NULL,
  PRIMARY KEY (account, kind, owner_key, policy_arn));
CREATE INDEX iam_attachments_by_policy ON iam_attachments (policy_arn);
CREATE TABLE iam_group_members (
  account TEXT NOT NULL,
  group_key TEXT NOT NULL,
  user_key TEXT NOT NULL,
  group_name TEXT NOT NULL,
  user_name TEXT NOT NULL,
  PRIMARY KEY (account, group_key, user_key));
CREATE INDEX iam_group_members_by_user ON iam_group_members (account, user_key);
)sql",
    // v6: rotation (configuration per secret, registered functions, runs in progress).
    R"sql(
ALTER TABLE secrets ADD COLUMN rotation_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE secrets ADD COLUMN rotation_lambda_arn TEXT;
ALTER TABLE secrets ADD COLUMN rotation_rules TEXT;
ALTER TABLE secrets ADD COLUMN last_rotated_ms INTEGER;
ALTER TABLE secrets ADD COLUMN next_rotation_ms INTEGER;
CREATE INDEX secrets_by_next_rotation ON secrets (next_rotation_ms)
  WHERE rotation_enabled = 1 AND next_rotation_ms IS NOT NULL;
CREATE TABLE rotation_functions (
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  config TEXT NOT NULL,
  role_arn TEXT NOT NULL,
  timeout_seconds INTEGER NOT NULL,
  wrapped_signing_key BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (account, region, name));
CREATE TABLE rotation_runs (
  secret_id INTEGER PRIMARY KEY,
  secret_arn TEXT NOT NULL,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  token TEXT NOT NULL,
  mode TEXT NOT NULL,
  step TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  lease_holder TEXT NOT NULL,
  lease_expires_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL);
)sql",
    // v7: events read per account, and pruned by age and count.
    R"sql(
CREATE INDEX events_by_account ON events (account, id);
CREATE INDEX events_by_time ON events (time_ms);
)sql",
    // v8: ListSecrets pages through an index per order; DescribeSecret tells a secret whose
    // tags were all removed ("Tags": []) from one never tagged (no Tags member).
    R"sql(
CREATE INDEX secrets_by_created ON secrets (account, region, created_ms);
CREATE INDEX secrets_by_changed ON secrets (account, region, last_changed_ms);
CREATE INDEX secrets_by_accessed ON secrets (account, region, IFNULL(last_accessed_ms, 0));
ALTER TABLE secrets ADD COLUMN tagged INTEGER NOT NULL DEFAULT 0;
UPDATE secrets SET tagged = 1 WHERE id IN (SELECT secret_id FROM secret_tags);
)sql",
    // v9: the built-in alarms' settings, states and history.
    R"sql(
CREATE TABLE alarm_settings (
  account TEXT NOT NULL,
  alarm TEXT NOT NULL,
  settings TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account, alarm));
CREATE TABLE alarm_states (
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  alarm TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  reason_data TEXT NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account, region, alarm));
CREATE TABLE alarm_history (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  alarm TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  summary TEXT NOT NULL,
  data TEXT NOT NULL);
CREATE INDEX alarm_history_by_account ON alarm_history (account, id);
CREATE INDEX alarm_history_by_time ON alarm_history (time_ms);
)sql",
    // v10: notification sinks and the outbox their deliveries wait in.
    R"sql(
CREATE TABLE notification_sinks (
  account TEXT NOT NULL,
  name TEXT NOT NULL,
  kind TEXT NOT NULL,
  target TEXT NOT NULL,
  pattern TEXT NOT NULL,
  wrapped_key BLOB NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (account, name));
CREATE TABLE notification_outbox (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  sink TEXT NOT NULL,
  event_id TEXT NOT NULL,
  body TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  last_error TEXT NOT NULL);
CREATE INDEX outbox_by_due ON notification_outbox (next_attempt_ms);
CREATE INDEX outbox_by_sink ON notification_outbox (account, sink);
)sql",
    // v11: parameters per tier as a counter kept by triggers, so PutParameter's tier limits cost
    // the same with 100,000 parameters as with 10 (a COUNT(*) walked them all), whatever writes
    // the parameters table.
    R"sql(
CREATE TABLE parameter_tier_counts (
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  tier TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (account, region, tier)) WITHOUT ROWID;
INSERT INTO parameter_tier_counts (account, region, tier, n)
  SELECT account, region, tier, COUNT(*) FROM parameters GROUP BY account, region, tier;
CREATE TRIGGER parameters_counted_in AFTER INSERT ON parameters BEGIN
  INSERT OR IGNORE INTO parameter_tier_counts VALUES (NEW.account, NEW.region, NEW.tier, 0);
  UPDATE parameter_tier_counts SET n = n + 1
    WHERE account = NEW.account AND region = NEW.region AND tier = NEW.tier;
END;
CREATE TRIGGER parameters_counted_out AFTER DELETE ON parameters BEGIN
  UPDATE parameter_tier_counts SET n = n - 1
    WHERE account = OLD.account AND region = OLD.region AND tier = OLD.tier;
END;
CREATE TRIGGER parameters_recounted AFTER UPDATE OF account, region, tier ON parameters
  WHEN OLD.account <> NEW.account OR OLD.region <> NEW.region OR OLD.tier <> NEW.tier BEGIN
  UPDATE parameter_tier_counts SET n = n - 1
    WHERE account = OLD.account AND region = OLD.region AND tier = OLD.tier;
  INSERT OR IGNORE INTO parameter_tier_counts VALUES (NEW.account, NEW.region, NEW.tier, 0);
  UPDATE parameter_tier_counts SET n = n + 1
    WHERE account = NEW.account AND region = NEW.region AND tier = NEW.tier;
END;
)sql",
    // v12: the nodes serving the store and the leases of jobs that run on one node only
    // (store/cluster.h). A SQLite store has one node at a time, whose rows let a restart take
    // over the rotations the previous process left, without waiting for their leases.
    R"sql(
CREATE TABLE cluster_nodes (
  node_id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  sealed INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  heartbeat_ms INTEGER NOT NULL);
CREATE TABLE job_leases (
  job TEXT PRIMARY KEY,
  node_id TEXT NOT NULL,
  taken_ms INTEGER NOT NULL);
)sql",
    // v13: the signal counts each node publishes for the alarms (store/cluster.h).
    R"sql(
CREATE TABLE node_signal_counts (
  node_id TEXT NOT NULL,
  account TEXT NOT NULL,
  region TEXT NOT NULL,
  kind INTEGER NOT NULL,
  slot_ms INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (node_id, account, region, kind, slot_ms));
CREATE INDEX node_signal_counts_by_scope ON node_signal_counts (account, region, kind, slot_ms);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

}  // namespace

Status Migrate(Connection& conn) {
  int version = 0;
  {
    // Scoped so the statement is reset before any migration runs (DROP needs no reader).
    COFFER_QUERY(q, conn, "PRAGMA user_version");
    version = q.Step() ? static_cast<int>(q.Int(0)) : 0;
    COFFER_RETURN_IF_ERROR(q.status());
  }
  if (version > kSchemaVersion) {
    return Status(ErrorCode::kInternalFailure, "store: database schema version " +
                                                   std::to_string(version) +
                                                   " is newer than this coffer supports (" +
                                                   std::to_string(kSchemaVersion) + ")");
  }
  for (int v = version; v < kSchemaVersion; ++v) {
    COFFER_RETURN_IF_ERROR(conn.Exec("BEGIN IMMEDIATE"));
    Status s = conn.Exec(kMigrations[v]);
    if (s.ok()) s = conn.Exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str());
    if (!s.ok()) {
      (void)conn.Exec("ROLLBACK");
      return s;
    }
    COFFER_RETURN_IF_ERROR(conn.Exec("COMMIT"));
  }
  return Status::Ok();
}

}  // namespace coffer::sqlite
