#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <limits>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/ascii.h"

namespace coffer {
namespace {

constexpr int kSchemaVersion = 8;

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
};
static_assert(std::size(kMigrations) == kSchemaVersion);

// The disk, not the request, is at fault: a full or read-only file system, or I/O errors.
bool IsStorageFault(int extended_code) {
  const int primary = extended_code & 0xff;
  return primary == SQLITE_FULL || primary == SQLITE_IOERR || primary == SQLITE_READONLY ||
         primary == SQLITE_CANTOPEN;
}

// Storage faults are ServiceUnavailable (503), as an AWS endpoint that cannot take a request
// answers; SDKs retry them. The message names the cause, never request content.
Status SqlError(sqlite3* db, std::string_view what) {
  const std::string detail = db ? sqlite3_errmsg(db) : "out of memory";
  if (db != nullptr && IsStorageFault(sqlite3_extended_errcode(db))) {
    return Status("ServiceUnavailable", "coffer cannot use its store (" + detail +
                                            "); the request was not applied. Retry later.");
  }
  return Status("InternalFailure", "store: " + std::string(what) + ": " + detail);
}

// One SQLite connection with a cache of prepared statements keyed by their SQL text.
class Connection {
 public:
  ~Connection() {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
  }

  static Result<std::unique_ptr<Connection>> Open(const std::string& path) {
    auto conn = std::unique_ptr<Connection>(new Connection());
    int rc =
        sqlite3_open_v2(path.c_str(), &conn->db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) return SqlError(conn->db_, "open " + path);
    sqlite3_busy_timeout(conn->db_, 10000);
    // Reads through a memory map (no copy and no syscall per page) and a 16 MiB page cache per
    // connection keep a page of a large listing nearly as cheap as a page of a small one.
    COFFER_RETURN_IF_ERROR(
        conn->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                   "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-16384;"));
    return conn;
  }

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      if (IsStorageFault(sqlite3_extended_errcode(db_))) return SqlError(db_, "exec");
      return Status("InternalFailure", "store: " + msg);
    }
    return Status::Ok();
  }

  Result<sqlite3_stmt*> Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
      sqlite3_reset(it->second);
      sqlite3_clear_bindings(it->second);
      return it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
      return SqlError(db_, "prepare");
    }
    statements_.emplace(sql, stmt);
    return stmt;
  }

  sqlite3* db() { return db_; }

 private:
  Connection() = default;
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// A bound statement being stepped; resets itself when done.
class Query {
 public:
  Query(Connection& conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  ~Query() { sqlite3_reset(stmt_); }

  Query& Bind(int i, std::string_view s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& Bind(int i, const std::string& s) { return Bind(i, std::string_view(s)); }
  Query& BindBlob(int i, std::string_view s) {
    sqlite3_bind_blob(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Query& Bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Query& Bind(int i, const std::optional<std::string>& s) {
    if (s) return Bind(i, std::string_view(*s));
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  Query& Bind(int i, const std::optional<int64_t>& v) {
    if (v) return Bind(i, *v);
    sqlite3_bind_null(stmt_, i);
    return *this;
  }

  // True when a row is available; false at the end. Errors are reported through status().
  bool Step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) status_ = SqlError(conn_.db(), "step");
    return false;
  }
  Status Run() {
    while (Step()) {
    }
    return status_;
  }
  const Status& status() const { return status_; }

  std::string Text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  std::string Blob(int col) const {
    const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col))) : "";
  }
  std::optional<std::string> OptText(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return Text(col);
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::optional<int64_t> OptInt(int col) const {
    if (sqlite3_column_type(stmt_, col) == SQLITE_NULL) return std::nullopt;
    return Int(col);
  }

 private:
  Connection& conn_;
  sqlite3_stmt* stmt_;
  Status status_;
};

#define COFFER_QUERY(var, conn, sql)                                      \
  COFFER_ASSIGN_OR_RETURN(sqlite3_stmt* var##_stmt, (conn).Prepare(sql)); \
  Query var(conn, var##_stmt)

SecretRow ReadSecretRow(const Query& q) {
  SecretRow r;
  r.id = q.Int(0);
  r.account = q.Text(1);
  r.region = q.Text(2);
  r.name = q.Text(3);
  r.arn = q.Text(4);
  r.description = q.OptText(5);
  r.kms_key_id = q.OptText(6);
  r.created_ms = q.Int(7);
  r.last_changed_ms = q.Int(8);
  r.last_accessed_ms = q.OptInt(9);
  r.deleted_ms = q.OptInt(10);
  r.purge_at_ms = q.OptInt(11);
  r.resource_policy = q.OptText(12);
  r.rotation_enabled = q.Int(13) != 0;
  r.rotation_lambda_arn = q.OptText(14);
  r.rotation_rules = q.OptText(15);
  r.last_rotated_ms = q.OptInt(16);
  r.next_rotation_ms = q.OptInt(17);
  r.tagged = q.Int(18) != 0;
  return r;
}

// IAM names are unique case-insensitively; rows are keyed by the folded name.
std::string NameKey(std::string_view name) { return AsciiLower(name); }

#define KMS_SELECT(where)                                                                        \
  "SELECT key_id, account, region, arn, manager, state, description, created_ms, "               \
  "current_material, deletion_ms, pending_window_days, rotation_enabled, rotation_period_days, " \
  "next_rotation_ms, policy FROM kms_keys " where

#define PARAM_SELECT(where)                                                                 \
  "SELECT id, account, region, name, name_key, parent, type, tier, data_type, key_id, "     \
  "description, allowed_pattern, policies, version, last_modified_ms, last_modified_user, " \
  "expires_at_ms FROM parameters " where

#define PARAM_VERSION_SELECT(where)                                                         \
  "SELECT version, type, tier, data_type, key_id, description, allowed_pattern, policies, " \
  "last_modified_ms, last_modified_user, sealed_value FROM parameter_versions " where

// Statement texts live in static storage so their addresses key the statement cache.
#define SECRET_SELECT(where)                                                                      \
  "SELECT id, account, region, name, arn, description, kms_key_id, created_ms, last_changed_ms, " \
  "last_accessed_ms, deleted_ms, purge_at_ms, resource_policy, rotation_enabled, "                \
  "rotation_lambda_arn, rotation_rules, last_rotated_ms, next_rotation_ms, tagged FROM "          \
  "secrets " where

#define ACCESS_KEY_SELECT(where)                                                                \
  "SELECT access_key_id, wrapped_secret, account, principal_arn, user_id, created_ms, status, " \
  "user_name FROM access_keys " where

#define RUN_SELECT(where)                                                         \
  "SELECT secret_id, secret_arn, account, region, token, mode, step, attempts, "  \
  "next_attempt_ms, lease_holder, lease_expires_ms, started_ms, last_error FROM " \
  "rotation_runs " where

#define IAM_ENTITY_SELECT(where)                                                                \
  "SELECT kind, account, name, id, arn, path, description, trust_policy, max_session_seconds, " \
  "created_ms FROM iam_entities " where

#define IAM_POLICY_SELECT(where)                                                      \
  "SELECT arn, account, name, id, path, description, default_version, next_version, " \
  "created_ms, updated_ms FROM iam_managed_policies " where

#define STS_SESSION_SELECT(where)                                                       \
  "SELECT access_key_id, wrapped_secret, token_hash, account, principal_arn, user_id, " \
  "principal_type, role_arn, user_name, session_policy, session_policy_arns, "          \
  "has_session_policies, chain_depth, created_ms, expires_ms FROM sts_sessions " where

struct TagTableSql {
  const char* select;
  const char* clear;
  const char* insert;
};
constexpr TagTableSql kSecretTags = {
    "SELECT key, value FROM secret_tags WHERE secret_id = ? ORDER BY position",
    "DELETE FROM secret_tags WHERE secret_id = ?",
    "INSERT INTO secret_tags (secret_id, position, key, value) VALUES (?, ?, ?, ?)"};
constexpr TagTableSql kParameterTags = {
    "SELECT key, value FROM parameter_tags WHERE parameter_id = ? ORDER BY position",
    "DELETE FROM parameter_tags WHERE parameter_id = ?",
    "INSERT INTO parameter_tags (parameter_id, position, key, value) VALUES (?, ?, ?, ?)"};
constexpr TagTableSql kIamEntityTags = {
    "SELECT key, value FROM iam_entity_tags WHERE arn = ? ORDER BY position",
    "DELETE FROM iam_entity_tags WHERE arn = ?",
    "INSERT INTO iam_entity_tags (arn, position, key, value) VALUES (?, ?, ?, ?)"};
constexpr TagTableSql kStsSessionTags = {
    "SELECT key, value FROM sts_session_tags WHERE access_key_id = ? ORDER BY position",
    "DELETE FROM sts_session_tags WHERE access_key_id = ?",
    "INSERT INTO sts_session_tags (access_key_id, position, key, value) VALUES (?, ?, ?, ?)"};
constexpr TagTableSql kKmsKeyTags = {
    "SELECT key, value FROM kms_key_tags WHERE key_id = ? ORDER BY position",
    "DELETE FROM kms_key_tags WHERE key_id = ?",
    "INSERT INTO kms_key_tags (key_id, position, key, value) VALUES (?, ?, ?, ?)"};

class SqliteTxn : public StoreWriter {
 public:
  explicit SqliteTxn(Connection& conn) : c_(conn) {}

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    COFFER_QUERY(q, c_, "SELECT value FROM meta WHERE key = ?");
    q.Bind(1, key);
    if (q.Step()) return std::optional<std::string>(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }

  Status PutMeta(const std::string& key, const std::string& value) override {
    COFFER_QUERY(q, c_, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
    return q.Bind(1, key).Bind(2, value).Run();
  }

  Result<std::optional<SecretRow>> FindSecretByArn(const Scope& scope,
                                                   const std::string& arn) override {
    COFFER_QUERY(q, c_, SECRET_SELECT("WHERE arn = ? AND account = ? AND region = ?"));
    q.Bind(1, arn).Bind(2, scope.account).Bind(3, scope.region);
    return OneSecret(q);
  }

  Result<std::optional<SecretRow>> FindSecretByName(const Scope& scope,
                                                    const std::string& name) override {
    COFFER_QUERY(q, c_, SECRET_SELECT("WHERE account = ? AND region = ? AND name = ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, name);
    return OneSecret(q);
  }

  Result<std::vector<SecretRow>> ListSecretsPage(const Scope& scope,
                                                 const SecretPageQuery& page) override {
    // One statement per order and direction, each a range scan of an index on (account, region,
    // sort key, id): a row-value comparison resumes after the cursor without an OFFSET.
    // (The plain comparison on the key is implied by the row value, but without it SQLite
    // does not start the scan of an expression index at the cursor.)
#define SECRET_PAGE(key)                                                                        \
  {                                                                                             \
    SECRET_SELECT("WHERE account = ?1 AND region = ?2 AND (?3 OR purge_at_ms IS NULL) AND " key \
                  " >= ?4 AND (" key ", id) > (?4, ?5) ORDER BY " key ", id LIMIT ?6"),         \
        SECRET_SELECT(                                                                          \
            "WHERE account = ?1 AND region = ?2 AND (?3 OR purge_at_ms IS NULL) AND " key       \
            " <= ?4 AND (" key ", id) < (?4, ?5) ORDER BY " key " DESC, id DESC LIMIT ?6")      \
  }
    static const char* const kSql[4][2] = {
        SECRET_PAGE("created_ms"), SECRET_PAGE("last_changed_ms"),
        SECRET_PAGE("IFNULL(last_accessed_ms, 0)"), SECRET_PAGE("name")};
#undef SECRET_PAGE
    const int order = static_cast<int>(page.order);
    COFFER_QUERY(q, c_, kSql[order][page.descending ? 1 : 0]);
    q.Bind(1, scope.account).Bind(2, scope.region);
    q.Bind(3, static_cast<int64_t>(page.include_deleted));
    const bool by_name = page.order == SecretOrder::kName;
    if (page.after) {
      if (by_name) {
        q.Bind(4, page.after->name);
      } else {
        q.Bind(4, page.after->key);
      }
      q.Bind(5, page.after->id);
    } else if (by_name) {
      // Names are ASCII, so "" sorts before every name and "\xff" after every name.
      q.Bind(4, std::string(page.descending ? "\xff" : ""));
      q.Bind(5, page.descending ? std::numeric_limits<int64_t>::max()
                                : std::numeric_limits<int64_t>::min());
    } else {
      const int64_t edge = page.descending ? std::numeric_limits<int64_t>::max()
                                           : std::numeric_limits<int64_t>::min();
      q.Bind(4, edge).Bind(5, edge);
    }
    q.Bind(6, static_cast<int64_t>(page.limit));
    return ManySecrets(q);
  }

  Result<std::vector<SecretRow>> ListSecretsDueForPurge(EpochMillis now) override {
    COFFER_QUERY(q, c_, SECRET_SELECT("WHERE purge_at_ms IS NOT NULL AND purge_at_ms <= ?"));
    q.Bind(1, now);
    return ManySecrets(q);
  }

  Result<std::vector<SecretVersionRow>> ListVersions(int64_t secret_id) override {
    std::vector<SecretVersionRow> out;
    {
      COFFER_QUERY(q, c_,
                   "SELECT version_id, created_ms, last_accessed_ms, kms_key_arn, is_binary "
                   "FROM secret_versions WHERE secret_id = ? ORDER BY seq");
      q.Bind(1, secret_id);
      while (q.Step()) {
        SecretVersionRow v;
        v.version_id = q.Text(0);
        v.created_ms = q.Int(1);
        v.last_accessed_ms = q.OptInt(2);
        v.kms_key_arn = q.Text(3);
        v.binary = q.Int(4) != 0;
        out.push_back(std::move(v));
      }
      COFFER_RETURN_IF_ERROR(q.status());
    }
    COFFER_QUERY(q, c_,
                 "SELECT version_id, stage FROM version_stages WHERE secret_id = ? ORDER BY stage");
    q.Bind(1, secret_id);
    while (q.Step()) {
      std::string vid = q.Text(0);
      for (auto& v : out) {
        if (v.version_id == vid) v.stages.push_back(q.Text(1));
      }
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<SecretVersionRow>> GetVersion(int64_t secret_id,
                                                     const std::string& version_id) override {
    SecretVersionRow v;
    {
      COFFER_QUERY(q, c_,
                   "SELECT version_id, created_ms, last_accessed_ms, kms_key_arn, is_binary, "
                   "envelope FROM secret_versions WHERE secret_id = ? AND version_id = ?");
      q.Bind(1, secret_id).Bind(2, version_id);
      if (!q.Step()) {
        COFFER_RETURN_IF_ERROR(q.status());
        return std::optional<SecretVersionRow>();
      }
      v.version_id = q.Text(0);
      v.created_ms = q.Int(1);
      v.last_accessed_ms = q.OptInt(2);
      v.kms_key_arn = q.Text(3);
      v.binary = q.Int(4) != 0;
      v.envelope = q.Blob(5);
    }
    COFFER_QUERY(q, c_,
                 "SELECT stage FROM version_stages WHERE secret_id = ? AND version_id = ? "
                 "ORDER BY stage");
    q.Bind(1, secret_id).Bind(2, version_id);
    while (q.Step()) v.stages.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<SecretVersionRow>(std::move(v));
  }

  Result<std::optional<std::string>> VersionIdForStage(int64_t secret_id,
                                                       const std::string& stage) override {
    COFFER_QUERY(q, c_, "SELECT version_id FROM version_stages WHERE secret_id = ? AND stage = ?");
    q.Bind(1, secret_id).Bind(2, stage);
    if (q.Step()) return std::optional<std::string>(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }

  Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& access_key_id) override {
    COFFER_QUERY(q, c_, ACCESS_KEY_SELECT("WHERE access_key_id = ?"));
    q.Bind(1, access_key_id);
    if (q.Step()) return std::optional<AccessKeyRow>(ReadAccessKey(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<AccessKeyRow>();
  }

  Result<std::vector<AccessKeyRow>> ListAccessKeys() override {
    COFFER_QUERY(q, c_, ACCESS_KEY_SELECT("ORDER BY created_ms"));
    std::vector<AccessKeyRow> out;
    while (q.Step()) out.push_back(ReadAccessKey(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<AccessKeyRow>> ListAccessKeysForUser(const std::string& account,
                                                          const std::string& user_name) override {
    COFFER_QUERY(q, c_,
                 ACCESS_KEY_SELECT("WHERE account = ? AND user_name = ? ORDER BY created_ms"));
    q.Bind(1, account).Bind(2, user_name);
    std::vector<AccessKeyRow> out;
    while (q.Step()) out.push_back(ReadAccessKey(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<StsSessionRow>> FindStsSession(const std::string& access_key_id) override {
    std::optional<StsSessionRow> out;
    {
      COFFER_QUERY(q, c_, STS_SESSION_SELECT("WHERE access_key_id = ?"));
      q.Bind(1, access_key_id);
      if (!q.Step()) {
        COFFER_RETURN_IF_ERROR(q.status());
        return out;
      }
      StsSessionRow r;
      r.access_key_id = q.Text(0);
      r.wrapped_secret = q.Blob(1);
      r.token_hash = q.Text(2);
      r.account = q.Text(3);
      r.principal_arn = q.Text(4);
      r.user_id = q.Text(5);
      r.principal_type = q.Text(6);
      r.role_arn = q.Text(7);
      r.user_name = q.Text(8);
      r.session_policy = q.Text(9);
      r.session_policy_arns = q.Text(10);
      r.has_session_policies = q.Int(11) != 0;
      r.chain_depth = static_cast<int>(q.Int(12));
      r.created_ms = q.Int(13);
      r.expires_ms = q.Int(14);
      out = std::move(r);
    }
    COFFER_ASSIGN_OR_RETURN(out->session_tags, ReadTagRows(kStsSessionTags, access_key_id));
    return out;
  }

  Result<std::vector<std::string>> ListAccounts() override {
    COFFER_QUERY(q, c_, "SELECT account FROM accounts ORDER BY account");
    std::vector<std::string> out;
    while (q.Step()) out.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<IamEntityRow>> FindIamEntity(const std::string& account,
                                                    const std::string& kind,
                                                    const std::string& name) override {
    std::optional<IamEntityRow> out;
    {
      COFFER_QUERY(q, c_, IAM_ENTITY_SELECT("WHERE account = ? AND kind = ? AND name_key = ?"));
      q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(name));
      if (!q.Step()) {
        COFFER_RETURN_IF_ERROR(q.status());
        return out;
      }
      out = ReadIamEntity(q);
    }
    COFFER_ASSIGN_OR_RETURN(out->tags, ReadTagRows(kIamEntityTags, out->arn));
    return out;
  }

  Result<std::vector<IamEntityRow>> ListIamEntities(const std::string& account,
                                                    const std::string& kind,
                                                    const std::string& path_prefix,
                                                    const std::string& after, int limit) override {
    std::vector<IamEntityRow> out;
    {
      COFFER_QUERY(q, c_,
                   IAM_ENTITY_SELECT("WHERE account = ? AND kind = ? AND name_key > ? AND "
                                     "substr(path, 1, length(?)) = ? ORDER BY name_key LIMIT ?"));
      q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(after)).Bind(4, path_prefix);
      q.Bind(5, path_prefix).Bind(6, static_cast<int64_t>(limit));
      while (q.Step()) out.push_back(ReadIamEntity(q));
      COFFER_RETURN_IF_ERROR(q.status());
    }
    for (auto& row : out) {
      COFFER_ASSIGN_OR_RETURN(row.tags, ReadTagRows(kIamEntityTags, row.arn));
    }
    return out;
  }

  Result<std::optional<std::string>> GetInlinePolicy(const std::string& account,
                                                     const std::string& kind,
                                                     const std::string& owner,
                                                     const std::string& policy_name) override {
    COFFER_QUERY(q, c_,
                 "SELECT document FROM iam_inline_policies WHERE account = ? AND kind = ? AND "
                 "owner_key = ? AND name = ?");
    q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(owner)).Bind(4, policy_name);
    if (q.Step()) return std::optional<std::string>(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }

  Result<std::vector<std::pair<std::string, std::string>>> ListInlinePolicies(
      const std::string& account, const std::string& kind, const std::string& owner) override {
    COFFER_QUERY(q, c_,
                 "SELECT name, document FROM iam_inline_policies WHERE account = ? AND kind = ? "
                 "AND owner_key = ? ORDER BY name");
    q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(owner));
    std::vector<std::pair<std::string, std::string>> out;
    while (q.Step()) out.emplace_back(q.Text(0), q.Text(1));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<IamPolicyRow>> FindManagedPolicy(const std::string& arn) override {
    COFFER_QUERY(q, c_, IAM_POLICY_SELECT("WHERE arn = ?"));
    q.Bind(1, arn);
    if (q.Step()) return std::optional<IamPolicyRow>(ReadIamPolicy(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<IamPolicyRow>();
  }

  Result<std::vector<IamPolicyRow>> ListManagedPolicies(const std::string& account,
                                                        const std::string& path_prefix,
                                                        const std::string& after,
                                                        int limit) override {
    COFFER_QUERY(q, c_,
                 IAM_POLICY_SELECT("WHERE account = ? AND name > ? AND substr(path, 1, "
                                   "length(?)) = ? ORDER BY name LIMIT ?"));
    q.Bind(1, account).Bind(2, after).Bind(3, path_prefix).Bind(4, path_prefix);
    q.Bind(5, static_cast<int64_t>(limit));
    std::vector<IamPolicyRow> out;
    while (q.Step()) out.push_back(ReadIamPolicy(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<IamPolicyVersionRow>> GetPolicyVersion(const std::string& arn,
                                                              int64_t version) override {
    COFFER_QUERY(q, c_,
                 "SELECT document, created_ms FROM iam_policy_versions WHERE policy_arn = ? AND "
                 "version = ?");
    q.Bind(1, arn).Bind(2, version);
    if (!q.Step()) {
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<IamPolicyVersionRow>();
    }
    IamPolicyVersionRow r;
    r.policy_arn = arn;
    r.version = version;
    r.document = q.Text(0);
    r.created_ms = q.Int(1);
    return std::optional<IamPolicyVersionRow>(std::move(r));
  }

  Result<std::vector<IamPolicyVersionRow>> ListPolicyVersions(const std::string& arn) override {
    COFFER_QUERY(q, c_,
                 "SELECT version, document, created_ms FROM iam_policy_versions WHERE "
                 "policy_arn = ? ORDER BY version DESC");
    q.Bind(1, arn);
    std::vector<IamPolicyVersionRow> out;
    while (q.Step()) {
      IamPolicyVersionRow r;
      r.policy_arn = arn;
      r.version = q.Int(0);
      r.document = q.Text(1);
      r.created_ms = q.Int(2);
      out.push_back(std::move(r));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<std::string>> ListAttachedPolicies(const std::string& account,
                                                        const std::string& kind,
                                                        const std::string& owner) override {
    COFFER_QUERY(q, c_,
                 "SELECT policy_arn FROM iam_attachments WHERE account = ? AND kind = ? AND "
                 "owner_key = ? ORDER BY policy_arn");
    q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(owner));
    std::vector<std::string> out;
    while (q.Step()) out.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<int64_t> CountPolicyAttachments(const std::string& arn) override {
    COFFER_QUERY(q, c_, "SELECT COUNT(*) FROM iam_attachments WHERE policy_arn = ?");
    q.Bind(1, arn);
    int64_t n = q.Step() ? q.Int(0) : 0;
    COFFER_RETURN_IF_ERROR(q.status());
    return n;
  }

  Result<std::vector<std::string>> ListGroupsForUser(const std::string& account,
                                                     const std::string& user) override {
    COFFER_QUERY(q, c_,
                 "SELECT group_name FROM iam_group_members WHERE account = ? AND user_key = ? "
                 "ORDER BY group_key");
    q.Bind(1, account).Bind(2, NameKey(user));
    std::vector<std::string> out;
    while (q.Step()) out.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<std::string>> ListGroupMembers(const std::string& account,
                                                    const std::string& group) override {
    COFFER_QUERY(q, c_,
                 "SELECT user_name FROM iam_group_members WHERE account = ? AND group_key = ? "
                 "ORDER BY user_key");
    q.Bind(1, account).Bind(2, NameKey(group));
    std::vector<std::string> out;
    while (q.Step()) out.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<RotationFunctionRow>> FindRotationFunction(
      const std::string& account, const std::string& region, const std::string& name) override {
    COFFER_QUERY(q, c_,
                 "SELECT kind, config, role_arn, timeout_seconds, wrapped_signing_key, created_ms "
                 "FROM rotation_functions WHERE account = ? AND region = ? AND name = ?");
    q.Bind(1, account).Bind(2, region).Bind(3, name);
    if (!q.Step()) {
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<RotationFunctionRow>();
    }
    RotationFunctionRow r;
    r.account = account;
    r.region = region;
    r.name = name;
    r.kind = q.Text(0);
    r.config = q.Text(1);
    r.role_arn = q.Text(2);
    r.timeout_seconds = q.Int(3);
    r.wrapped_signing_key = q.Blob(4);
    r.created_ms = q.Int(5);
    return std::optional<RotationFunctionRow>(std::move(r));
  }

  static RotationRunRow ReadRun(const Query& q) {
    RotationRunRow r;
    r.secret_id = q.Int(0);
    r.secret_arn = q.Text(1);
    r.account = q.Text(2);
    r.region = q.Text(3);
    r.token = q.Text(4);
    r.mode = q.Text(5);
    r.step = q.Text(6);
    r.attempts = q.Int(7);
    r.next_attempt_ms = q.Int(8);
    r.lease_holder = q.Text(9);
    r.lease_expires_ms = q.Int(10);
    r.started_ms = q.Int(11);
    r.last_error = q.Text(12);
    return r;
  }

  Result<std::optional<RotationRunRow>> FindRotationRun(int64_t secret_id) override {
    COFFER_QUERY(q, c_, RUN_SELECT("WHERE secret_id = ?"));
    q.Bind(1, secret_id);
    if (q.Step()) return std::optional<RotationRunRow>(ReadRun(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<RotationRunRow>();
  }

  Result<std::vector<RotationRunRow>> ListDueRotationRuns(EpochMillis now, int limit) override {
    COFFER_QUERY(q, c_,
                 RUN_SELECT("WHERE next_attempt_ms <= ? AND lease_expires_ms <= ? ORDER BY "
                            "next_attempt_ms LIMIT ?"));
    q.Bind(1, now).Bind(2, now).Bind(3, static_cast<int64_t>(limit));
    std::vector<RotationRunRow> out;
    while (q.Step()) out.push_back(ReadRun(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<SecretRow>> ListSecretsDueForRotation(EpochMillis now, int limit) override {
    COFFER_QUERY(q, c_,
                 SECRET_SELECT("WHERE rotation_enabled = 1 AND next_rotation_ms IS NOT NULL AND "
                               "next_rotation_ms <= ? AND purge_at_ms IS NULL AND id NOT IN "
                               "(SELECT secret_id FROM rotation_runs) ORDER BY next_rotation_ms "
                               "LIMIT ?"));
    q.Bind(1, now).Bind(2, static_cast<int64_t>(limit));
    std::vector<SecretRow> out;
    while (q.Step()) out.push_back(ReadSecretRow(q));
    COFFER_RETURN_IF_ERROR(q.status());
    for (auto& row : out) COFFER_RETURN_IF_ERROR(ReadTags(&row));
    return out;
  }

  Result<std::optional<KmsKeyRow>> FindKmsKey(const std::string& key_id) override {
    COFFER_QUERY(q, c_, KMS_SELECT("WHERE key_id = ?"));
    q.Bind(1, key_id);
    if (q.Step()) return std::optional<KmsKeyRow>(ReadKmsKey(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<KmsKeyRow>();
  }

  Result<std::vector<KmsKeyRow>> ListKmsKeys(const Scope& scope, const std::string& after,
                                             int limit) override {
    COFFER_QUERY(q, c_,
                 KMS_SELECT("WHERE account = ? AND region = ? AND key_id > ? ORDER BY key_id "
                            "LIMIT ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, after);
    q.Bind(4, static_cast<int64_t>(limit));
    return ManyKmsKeys(q);
  }

  Result<std::vector<KmsKeyRow>> KmsKeysDueForRotation(EpochMillis now) override {
    COFFER_QUERY(q, c_,
                 KMS_SELECT("WHERE rotation_enabled = 1 AND next_rotation_ms IS NOT NULL AND "
                            "next_rotation_ms <= ?"));
    q.Bind(1, now);
    return ManyKmsKeys(q);
  }

  Result<std::vector<KmsKeyRow>> KmsKeysDueForDeletion(EpochMillis now) override {
    COFFER_QUERY(q, c_, KMS_SELECT("WHERE deletion_ms IS NOT NULL AND deletion_ms <= ?"));
    q.Bind(1, now);
    return ManyKmsKeys(q);
  }

  Result<std::vector<KmsAliasRow>> ListAliases(const Scope& scope, const std::string& key_id,
                                               const std::string& after, int limit) override {
    COFFER_QUERY(q, c_,
                 "SELECT alias, key_id, created_ms, updated_ms FROM kms_aliases WHERE account = ? "
                 "AND region = ? AND (? = '' OR key_id = ?) AND alias > ? ORDER BY alias LIMIT ?");
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, key_id).Bind(4, key_id);
    q.Bind(5, after).Bind(6, static_cast<int64_t>(limit));
    std::vector<KmsAliasRow> out;
    while (q.Step()) out.push_back({q.Text(0), q.Text(1), q.Int(2), q.Int(3)});
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<KeyMaterialRow>> ListKeyMaterials(const std::string& key_id) override {
    COFFER_QUERY(
        q, c_,
        "SELECT version, created_ms, rotation_type FROM kms_key_materials WHERE key_id = ? "
        "ORDER BY version");
    q.Bind(1, key_id);
    std::vector<KeyMaterialRow> out;
    while (q.Step()) {
      KeyMaterialRow m;
      m.key_id = key_id;
      m.version = static_cast<int>(q.Int(0));
      m.created_ms = q.Int(1);
      m.rotation_type = q.Text(2);
      out.push_back(std::move(m));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<Tags> GetKmsKeyTags(const std::string& key_id) override {
    return ReadTagRows(kKmsKeyTags, key_id);
  }

  Status UpdateKmsKey(const KmsKeyRow& row) override {
    COFFER_QUERY(q, c_,
                 "UPDATE kms_keys SET state = ?, description = ?, current_material = ?, "
                 "deletion_ms = ?, pending_window_days = ?, rotation_enabled = ?, "
                 "rotation_period_days = ?, next_rotation_ms = ?, policy = ? WHERE key_id = ?");
    q.Bind(1, row.state).Bind(2, row.description);
    q.Bind(3, static_cast<int64_t>(row.current_material)).Bind(4, row.deletion_ms);
    q.Bind(5, row.pending_window_days).Bind(6, static_cast<int64_t>(row.rotation_enabled));
    q.Bind(7, row.rotation_period_days).Bind(8, row.next_rotation_ms).Bind(9, row.policy);
    q.Bind(10, row.key_id);
    return q.Run();
  }

  Status DeleteKmsKey(const std::string& key_id) override {
    for (const char* sql :
         {"DELETE FROM kms_key_tags WHERE key_id = ?", "DELETE FROM kms_aliases WHERE key_id = ?",
          "DELETE FROM kms_key_materials WHERE key_id = ?",
          "DELETE FROM kms_keys WHERE key_id = ?"}) {
      COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, c_.Prepare(sql));
      Query q(c_, stmt);
      COFFER_RETURN_IF_ERROR(q.Bind(1, key_id).Run());
    }
    return Status::Ok();
  }

  Status DeleteAlias(const Scope& scope, const std::string& alias) override {
    COFFER_QUERY(q, c_, "DELETE FROM kms_aliases WHERE account = ? AND region = ? AND alias = ?");
    return q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, alias).Run();
  }

  Status SetKmsKeyTags(const std::string& key_id, const Tags& tags) override {
    return WriteTagRows(kKmsKeyTags, key_id, tags);
  }

  Result<std::optional<std::string>> KmsKeyIdForAlias(const Scope& scope,
                                                      const std::string& alias) override {
    COFFER_QUERY(q, c_,
                 "SELECT key_id FROM kms_aliases WHERE account = ? AND region = ? AND alias = ?");
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, alias);
    if (q.Step()) return std::optional<std::string>(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }

  Result<std::vector<KeyMaterialRow>> ListAllKeyMaterials() override {
    COFFER_QUERY(q, c_,
                 "SELECT key_id, version, wrapped, created_ms, rotation_type FROM "
                 "kms_key_materials ORDER BY key_id, version");
    std::vector<KeyMaterialRow> out;
    while (q.Step()) {
      KeyMaterialRow m;
      m.key_id = q.Text(0);
      m.version = static_cast<int>(q.Int(1));
      m.wrapped = q.Blob(2);
      m.created_ms = q.Int(3);
      m.rotation_type = q.Text(4);
      out.push_back(std::move(m));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<KeyMaterialRow>> GetKeyMaterial(const std::string& key_id,
                                                       int version) override {
    COFFER_QUERY(q, c_,
                 "SELECT wrapped, created_ms FROM kms_key_materials WHERE key_id = ? AND "
                 "version = ?");
    q.Bind(1, key_id).Bind(2, static_cast<int64_t>(version));
    if (!q.Step()) {
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<KeyMaterialRow>();
    }
    KeyMaterialRow m;
    m.key_id = key_id;
    m.version = version;
    m.wrapped = q.Blob(0);
    m.created_ms = q.Int(1);
    return std::optional<KeyMaterialRow>(std::move(m));
  }

  Status InsertSecret(SecretRow* row) override {
    {
      COFFER_QUERY(q, c_,
                   "INSERT INTO secrets (account, region, name, arn, description, kms_key_id, "
                   "created_ms, last_changed_ms, last_accessed_ms, deleted_ms, purge_at_ms, "
                   "resource_policy, rotation_enabled, rotation_lambda_arn, rotation_rules, "
                   "last_rotated_ms, next_rotation_ms, tagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "?, ?, ?, ?, ?, ?, ?, ?, ?)");
      q.Bind(1, row->account).Bind(2, row->region).Bind(3, row->name).Bind(4, row->arn);
      q.Bind(5, row->description).Bind(6, row->kms_key_id).Bind(7, row->created_ms);
      q.Bind(8, row->last_changed_ms).Bind(9, row->last_accessed_ms).Bind(10, row->deleted_ms);
      q.Bind(11, row->purge_at_ms).Bind(12, row->resource_policy);
      q.Bind(13, static_cast<int64_t>(row->rotation_enabled)).Bind(14, row->rotation_lambda_arn);
      q.Bind(15, row->rotation_rules).Bind(16, row->last_rotated_ms);
      q.Bind(17, row->next_rotation_ms).Bind(18, static_cast<int64_t>(row->tagged));
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    row->id = sqlite3_last_insert_rowid(c_.db());
    return WriteTags(row->id, row->tags);
  }

  Status UpdateSecret(const SecretRow& row) override {
    {
      COFFER_QUERY(q, c_,
                   "UPDATE secrets SET description = ?, kms_key_id = ?, last_changed_ms = ?, "
                   "last_accessed_ms = ?, deleted_ms = ?, purge_at_ms = ?, resource_policy = ?, "
                   "rotation_enabled = ?, rotation_lambda_arn = ?, rotation_rules = ?, "
                   "last_rotated_ms = ?, next_rotation_ms = ?, tagged = ? WHERE id = ?");
      q.Bind(1, row.description).Bind(2, row.kms_key_id).Bind(3, row.last_changed_ms);
      q.Bind(4, row.last_accessed_ms).Bind(5, row.deleted_ms).Bind(6, row.purge_at_ms);
      q.Bind(7, row.resource_policy).Bind(8, static_cast<int64_t>(row.rotation_enabled));
      q.Bind(9, row.rotation_lambda_arn).Bind(10, row.rotation_rules);
      q.Bind(11, row.last_rotated_ms).Bind(12, row.next_rotation_ms);
      q.Bind(13, static_cast<int64_t>(row.tagged)).Bind(14, row.id);
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    return WriteTags(row.id, row.tags);
  }

  Status DeleteSecret(int64_t secret_id) override {
    COFFER_RETURN_IF_ERROR(DeleteRotationRun(secret_id));
    {
      COFFER_QUERY(q, c_, "DELETE FROM version_stages WHERE secret_id = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, secret_id).Run());
    }
    {
      COFFER_QUERY(q, c_, "DELETE FROM secret_versions WHERE secret_id = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, secret_id).Run());
    }
    {
      COFFER_QUERY(q, c_, "DELETE FROM secret_tags WHERE secret_id = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, secret_id).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM secrets WHERE id = ?");
    return q.Bind(1, secret_id).Run();
  }

  Status InsertVersion(int64_t secret_id, const SecretVersionRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO secret_versions (secret_id, version_id, seq, created_ms, "
                 "last_accessed_ms, kms_key_arn, is_binary, envelope) VALUES (?, ?, "
                 "(SELECT COALESCE(MAX(seq), 0) + 1 FROM secret_versions WHERE secret_id = ?), "
                 "?, ?, ?, ?, ?)");
    q.Bind(1, secret_id).Bind(2, row.version_id).Bind(3, secret_id).Bind(4, row.created_ms);
    q.Bind(5, row.last_accessed_ms).Bind(6, row.kms_key_arn);
    q.Bind(7, static_cast<int64_t>(row.binary ? 1 : 0)).BindBlob(8, row.envelope);
    return q.Run();
  }

  Status DeleteVersion(int64_t secret_id, const std::string& version_id) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM version_stages WHERE secret_id = ? AND version_id = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, secret_id).Bind(2, version_id).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM secret_versions WHERE secret_id = ? AND version_id = ?");
    return q.Bind(1, secret_id).Bind(2, version_id).Run();
  }

  Status SetVersionLastAccessed(int64_t secret_id, const std::string& version_id,
                                EpochMillis day) override {
    COFFER_QUERY(q, c_,
                 "UPDATE secret_versions SET last_accessed_ms = ? WHERE secret_id = ? AND "
                 "version_id = ?");
    return q.Bind(1, day).Bind(2, secret_id).Bind(3, version_id).Run();
  }

  Status SetStage(int64_t secret_id, const std::string& stage,
                  const std::string& version_id) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR REPLACE INTO version_stages (secret_id, stage, version_id) "
                 "VALUES (?, ?, ?)");
    return q.Bind(1, secret_id).Bind(2, stage).Bind(3, version_id).Run();
  }

  Status RemoveStage(int64_t secret_id, const std::string& stage) override {
    COFFER_QUERY(q, c_, "DELETE FROM version_stages WHERE secret_id = ? AND stage = ?");
    return q.Bind(1, secret_id).Bind(2, stage).Run();
  }

  Status InsertAccessKey(const AccessKeyRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO access_keys (access_key_id, wrapped_secret, account, principal_arn, "
                 "user_id, created_ms, status, user_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, row.access_key_id).BindBlob(2, row.wrapped_secret).Bind(3, row.account);
    q.Bind(4, row.principal_arn).Bind(5, row.user_id).Bind(6, row.created_ms);
    q.Bind(7, row.status).Bind(8, row.user_name);
    return q.Run();
  }

  Status UpdateAccessKeyStatus(const std::string& access_key_id,
                               const std::string& status) override {
    COFFER_QUERY(q, c_, "UPDATE access_keys SET status = ? WHERE access_key_id = ?");
    return q.Bind(1, status).Bind(2, access_key_id).Run();
  }

  Status DeleteAccessKey(const std::string& access_key_id) override {
    COFFER_QUERY(q, c_, "DELETE FROM access_keys WHERE access_key_id = ?");
    return q.Bind(1, access_key_id).Run();
  }

  Status InsertStsSession(const StsSessionRow& r) override {
    {
      COFFER_QUERY(q, c_,
                   "INSERT INTO sts_sessions (access_key_id, wrapped_secret, token_hash, account, "
                   "principal_arn, user_id, principal_type, role_arn, user_name, session_policy, "
                   "session_policy_arns, has_session_policies, chain_depth, created_ms, "
                   "expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      q.Bind(1, r.access_key_id).BindBlob(2, r.wrapped_secret).Bind(3, r.token_hash);
      q.Bind(4, r.account).Bind(5, r.principal_arn).Bind(6, r.user_id).Bind(7, r.principal_type);
      q.Bind(8, r.role_arn).Bind(9, r.user_name).Bind(10, r.session_policy);
      q.Bind(11, r.session_policy_arns).Bind(12, static_cast<int64_t>(r.has_session_policies));
      q.Bind(13, static_cast<int64_t>(r.chain_depth)).Bind(14, r.created_ms);
      q.Bind(15, r.expires_ms);
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    return WriteTagRows(kStsSessionTags, r.access_key_id, r.session_tags);
  }

  Status DeleteExpiredStsSessions(EpochMillis now) override {
    {
      COFFER_QUERY(q, c_,
                   "DELETE FROM sts_session_tags WHERE access_key_id IN (SELECT access_key_id "
                   "FROM sts_sessions WHERE expires_ms <= ?)");
      COFFER_RETURN_IF_ERROR(q.Bind(1, now).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM sts_sessions WHERE expires_ms <= ?");
    return q.Bind(1, now).Run();
  }

  Status InsertAccount(const std::string& account, EpochMillis created_ms) override {
    COFFER_QUERY(q, c_, "INSERT OR IGNORE INTO accounts (account, created_ms) VALUES (?, ?)");
    return q.Bind(1, account).Bind(2, created_ms).Run();
  }

  Status InsertIamEntity(const IamEntityRow& r) override {
    {
      COFFER_QUERY(q, c_,
                   "INSERT INTO iam_entities (account, kind, name_key, name, id, arn, path, "
                   "description, trust_policy, max_session_seconds, created_ms) VALUES (?, ?, ?, "
                   "?, ?, ?, ?, ?, ?, ?, ?)");
      q.Bind(1, r.account).Bind(2, r.kind).Bind(3, NameKey(r.name)).Bind(4, r.name);
      q.Bind(5, r.id).Bind(6, r.arn).Bind(7, r.path).Bind(8, r.description);
      q.Bind(9, r.trust_policy).Bind(10, r.max_session_seconds).Bind(11, r.created_ms);
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    return WriteTagRows(kIamEntityTags, r.arn, r.tags);
  }

  Status UpdateIamEntity(const IamEntityRow& r) override {
    {
      COFFER_QUERY(q, c_,
                   "UPDATE iam_entities SET description = ?, trust_policy = ?, "
                   "max_session_seconds = ? WHERE arn = ?");
      q.Bind(1, r.description).Bind(2, r.trust_policy).Bind(3, r.max_session_seconds);
      COFFER_RETURN_IF_ERROR(q.Bind(4, r.arn).Run());
    }
    return WriteTagRows(kIamEntityTags, r.arn, r.tags);
  }

  Status DeleteIamEntity(const std::string& account, const std::string& kind,
                         const std::string& name) override {
    const std::string key = NameKey(name);
    COFFER_ASSIGN_OR_RETURN(auto row, FindIamEntity(account, kind, name));
    if (!row) return Status::Ok();
    COFFER_RETURN_IF_ERROR(WriteTagRows(kIamEntityTags, row->arn, Tags{}));
    {
      COFFER_QUERY(q, c_,
                   "DELETE FROM iam_inline_policies WHERE account = ? AND kind = ? AND "
                   "owner_key = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, kind).Bind(3, key).Run());
    }
    {
      COFFER_QUERY(q, c_,
                   "DELETE FROM iam_attachments WHERE account = ? AND kind = ? AND owner_key = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, kind).Bind(3, key).Run());
    }
    if (kind == "user") {
      COFFER_QUERY(q, c_, "DELETE FROM iam_group_members WHERE account = ? AND user_key = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, key).Run());
    } else if (kind == "group") {
      COFFER_QUERY(q, c_, "DELETE FROM iam_group_members WHERE account = ? AND group_key = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, key).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM iam_entities WHERE account = ? AND kind = ? AND name_key = ?");
    return q.Bind(1, account).Bind(2, kind).Bind(3, key).Run();
  }

  Status PutInlinePolicy(const std::string& account, const std::string& kind,
                         const std::string& owner, const std::string& policy_name,
                         const std::string& document) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR REPLACE INTO iam_inline_policies (account, kind, owner_key, name, "
                 "document) VALUES (?, ?, ?, ?, ?)");
    q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(owner)).Bind(4, policy_name);
    return q.Bind(5, document).Run();
  }

  Status DeleteInlinePolicy(const std::string& account, const std::string& kind,
                            const std::string& owner, const std::string& policy_name) override {
    COFFER_QUERY(q, c_,
                 "DELETE FROM iam_inline_policies WHERE account = ? AND kind = ? AND owner_key = ? "
                 "AND name = ?");
    return q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(owner)).Bind(4, policy_name).Run();
  }

  Status InsertManagedPolicy(const IamPolicyRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO iam_managed_policies (arn, account, name, id, path, description, "
                 "default_version, next_version, created_ms, updated_ms) VALUES (?, ?, ?, ?, ?, "
                 "?, ?, ?, ?, ?)");
    q.Bind(1, r.arn).Bind(2, r.account).Bind(3, r.name).Bind(4, r.id).Bind(5, r.path);
    q.Bind(6, r.description).Bind(7, r.default_version).Bind(8, r.next_version);
    return q.Bind(9, r.created_ms).Bind(10, r.updated_ms).Run();
  }

  Status UpdateManagedPolicy(const IamPolicyRow& r) override {
    COFFER_QUERY(q, c_,
                 "UPDATE iam_managed_policies SET description = ?, default_version = ?, "
                 "next_version = ?, updated_ms = ? WHERE arn = ?");
    q.Bind(1, r.description).Bind(2, r.default_version).Bind(3, r.next_version);
    return q.Bind(4, r.updated_ms).Bind(5, r.arn).Run();
  }

  Status DeleteManagedPolicy(const std::string& arn) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM iam_policy_versions WHERE policy_arn = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, arn).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM iam_managed_policies WHERE arn = ?");
    return q.Bind(1, arn).Run();
  }

  Status InsertPolicyVersion(const IamPolicyVersionRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO iam_policy_versions (policy_arn, version, document, created_ms) "
                 "VALUES (?, ?, ?, ?)");
    return q.Bind(1, r.policy_arn)
        .Bind(2, r.version)
        .Bind(3, r.document)
        .Bind(4, r.created_ms)
        .Run();
  }

  Status DeletePolicyVersion(const std::string& arn, int64_t version) override {
    COFFER_QUERY(q, c_, "DELETE FROM iam_policy_versions WHERE policy_arn = ? AND version = ?");
    return q.Bind(1, arn).Bind(2, version).Run();
  }

  Status AttachPolicy(const std::string& account, const std::string& kind, const std::string& owner,
                      const std::string& policy_arn) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR IGNORE INTO iam_attachments (account, kind, owner_key, policy_arn) "
                 "VALUES (?, ?, ?, ?)");
    return q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(owner)).Bind(4, policy_arn).Run();
  }

  Status DetachPolicy(const std::string& account, const std::string& kind, const std::string& owner,
                      const std::string& policy_arn) override {
    COFFER_QUERY(q, c_,
                 "DELETE FROM iam_attachments WHERE account = ? AND kind = ? AND owner_key = ? "
                 "AND policy_arn = ?");
    return q.Bind(1, account).Bind(2, kind).Bind(3, NameKey(owner)).Bind(4, policy_arn).Run();
  }

  Status AddUserToGroup(const std::string& account, const std::string& group,
                        const std::string& user) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR IGNORE INTO iam_group_members (account, group_key, user_key, "
                 "group_name, user_name) VALUES (?, ?, ?, ?, ?)");
    q.Bind(1, account).Bind(2, NameKey(group)).Bind(3, NameKey(user)).Bind(4, group);
    return q.Bind(5, user).Run();
  }

  Status RemoveUserFromGroup(const std::string& account, const std::string& group,
                             const std::string& user) override {
    COFFER_QUERY(q, c_,
                 "DELETE FROM iam_group_members WHERE account = ? AND group_key = ? AND "
                 "user_key = ?");
    return q.Bind(1, account).Bind(2, NameKey(group)).Bind(3, NameKey(user)).Run();
  }

  Status PutRotationFunction(const RotationFunctionRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR REPLACE INTO rotation_functions (account, region, name, kind, config, "
                 "role_arn, timeout_seconds, wrapped_signing_key, created_ms) VALUES (?, ?, ?, ?, "
                 "?, ?, ?, ?, ?)");
    q.Bind(1, r.account).Bind(2, r.region).Bind(3, r.name).Bind(4, r.kind).Bind(5, r.config);
    q.Bind(6, r.role_arn).Bind(7, r.timeout_seconds).BindBlob(8, r.wrapped_signing_key);
    return q.Bind(9, r.created_ms).Run();
  }

  Status DeleteRotationFunction(const std::string& account, const std::string& region,
                                const std::string& name) override {
    COFFER_QUERY(q, c_,
                 "DELETE FROM rotation_functions WHERE account = ? AND region = ? AND name = ?");
    return q.Bind(1, account).Bind(2, region).Bind(3, name).Run();
  }

  Status PutRotationRun(const RotationRunRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR REPLACE INTO rotation_runs (secret_id, secret_arn, account, region, "
                 "token, mode, step, attempts, next_attempt_ms, lease_holder, lease_expires_ms, "
                 "started_ms, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, r.secret_id).Bind(2, r.secret_arn).Bind(3, r.account).Bind(4, r.region);
    q.Bind(5, r.token).Bind(6, r.mode).Bind(7, r.step).Bind(8, r.attempts);
    q.Bind(9, r.next_attempt_ms).Bind(10, r.lease_holder).Bind(11, r.lease_expires_ms);
    return q.Bind(12, r.started_ms).Bind(13, r.last_error).Run();
  }

  Status DeleteRotationRun(int64_t secret_id) override {
    COFFER_QUERY(q, c_, "DELETE FROM rotation_runs WHERE secret_id = ?");
    return q.Bind(1, secret_id).Run();
  }

  Status InsertKmsKey(const KmsKeyRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO kms_keys (key_id, account, region, arn, manager, state, description, "
                 "created_ms, current_material, deletion_ms, pending_window_days, "
                 "rotation_enabled, rotation_period_days, next_rotation_ms, policy) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, row.key_id).Bind(2, row.account).Bind(3, row.region).Bind(4, row.arn);
    q.Bind(5, row.manager).Bind(6, row.state).Bind(7, row.description).Bind(8, row.created_ms);
    q.Bind(9, static_cast<int64_t>(row.current_material)).Bind(10, row.deletion_ms);
    q.Bind(11, row.pending_window_days).Bind(12, static_cast<int64_t>(row.rotation_enabled));
    q.Bind(13, row.rotation_period_days).Bind(14, row.next_rotation_ms).Bind(15, row.policy);
    return q.Run();
  }

  Status InsertKeyMaterial(const KeyMaterialRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO kms_key_materials (key_id, version, wrapped, created_ms, "
                 "rotation_type) VALUES (?, ?, ?, ?, ?)");
    q.Bind(1, row.key_id).Bind(2, static_cast<int64_t>(row.version)).BindBlob(3, row.wrapped);
    q.Bind(4, row.created_ms).Bind(5, row.rotation_type);
    return q.Run();
  }

  Status UpdateKeyMaterialWrapping(const std::string& key_id, int version,
                                   const std::string& wrapped) override {
    COFFER_QUERY(q, c_,
                 "UPDATE kms_key_materials SET wrapped = ? WHERE key_id = ? AND version = ?");
    q.BindBlob(1, wrapped).Bind(2, key_id).Bind(3, static_cast<int64_t>(version));
    return q.Run();
  }

  Status PutAlias(const Scope& scope, const std::string& alias, const std::string& key_id,
                  EpochMillis now_ms) override {
    // Keeps the alias's creation date when it is re-pointed (UpdateAlias).
    COFFER_QUERY(q, c_,
                 "INSERT INTO kms_aliases (account, region, alias, key_id, created_ms, updated_ms) "
                 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, region, alias) DO UPDATE SET "
                 "key_id = excluded.key_id, updated_ms = excluded.updated_ms");
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, alias).Bind(4, key_id);
    return q.Bind(5, now_ms).Bind(6, now_ms).Run();
  }

  // ---- parameters --------------------------------------------------------------------------

  Result<std::optional<ParameterRow>> FindParameter(const Scope& scope,
                                                    const std::string& name_key) override {
    COFFER_QUERY(q, c_, PARAM_SELECT("WHERE account = ? AND region = ? AND name_key = ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, name_key);
    if (q.Step()) return std::optional<ParameterRow>(ReadParameterRow(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<ParameterRow>();
  }

  Result<std::vector<ParameterRow>> ListParametersByParent(const Scope& scope,
                                                           const std::string& parent,
                                                           const std::string& after,
                                                           int limit) override {
    COFFER_QUERY(q, c_,
                 PARAM_SELECT("WHERE account = ? AND region = ? AND parent = ? AND name_key > ? "
                              "ORDER BY name_key LIMIT ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, parent).Bind(4, after);
    q.Bind(5, static_cast<int64_t>(limit));
    return ManyParameters(q);
  }

  Result<std::vector<ParameterRow>> ListParametersByPrefix(const Scope& scope,
                                                           const std::string& prefix,
                                                           const std::string& after,
                                                           int limit) override {
    // [prefix, prefix with its last byte incremented) is exactly the names starting with prefix.
    std::string lower = std::max(prefix, after);
    std::string upper = prefix;
    while (!upper.empty() && static_cast<unsigned char>(upper.back()) == 0xff) upper.pop_back();
    if (!upper.empty()) upper.back() = static_cast<char>(upper.back() + 1);
    if (upper.empty()) {
      COFFER_QUERY(q, c_,
                   PARAM_SELECT("WHERE account = ? AND region = ? AND name_key > ? "
                                "ORDER BY name_key LIMIT ?"));
      q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, after);
      q.Bind(4, static_cast<int64_t>(limit));
      return ManyParameters(q);
    }
    COFFER_QUERY(q, c_,
                 PARAM_SELECT("WHERE account = ? AND region = ? AND name_key >= ? AND "
                              "name_key > ? AND name_key < ? ORDER BY name_key LIMIT ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, lower).Bind(4, after).Bind(5, upper);
    q.Bind(6, static_cast<int64_t>(limit));
    return ManyParameters(q);
  }

  Result<int64_t> CountParameters(const Scope& scope, const std::string& tier) override {
    COFFER_QUERY(q, c_,
                 "SELECT COUNT(*) FROM parameters WHERE account = ? AND region = ? AND tier = ?");
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, tier);
    int64_t n = q.Step() ? q.Int(0) : 0;
    COFFER_RETURN_IF_ERROR(q.status());
    return n;
  }

  Result<std::optional<ParameterVersionRow>> GetParameterVersion(int64_t parameter_id,
                                                                 int64_t version) override {
    ParameterVersionRow v;
    {
      COFFER_QUERY(q, c_, PARAM_VERSION_SELECT("WHERE parameter_id = ? AND version = ?"));
      q.Bind(1, parameter_id).Bind(2, version);
      if (!q.Step()) {
        COFFER_RETURN_IF_ERROR(q.status());
        return std::optional<ParameterVersionRow>();
      }
      v = ReadParameterVersion(q);
    }
    COFFER_QUERY(q, c_,
                 "SELECT label FROM parameter_labels WHERE parameter_id = ? AND version = ? "
                 "ORDER BY label");
    q.Bind(1, parameter_id).Bind(2, version);
    while (q.Step()) v.labels.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<ParameterVersionRow>(std::move(v));
  }

  Result<std::vector<ParameterVersionRow>> ListParameterVersions(int64_t parameter_id) override {
    std::vector<ParameterVersionRow> out;
    {
      COFFER_QUERY(q, c_, PARAM_VERSION_SELECT("WHERE parameter_id = ? ORDER BY version"));
      q.Bind(1, parameter_id);
      while (q.Step()) out.push_back(ReadParameterVersion(q));
      COFFER_RETURN_IF_ERROR(q.status());
    }
    COFFER_QUERY(
        q, c_, "SELECT version, label FROM parameter_labels WHERE parameter_id = ? ORDER BY label");
    q.Bind(1, parameter_id);
    while (q.Step()) {
      int64_t version = q.Int(0);
      for (auto& v : out) {
        if (v.version == version) v.labels.push_back(q.Text(1));
      }
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<int64_t>> ParameterVersionForLabel(int64_t parameter_id,
                                                          const std::string& label) override {
    COFFER_QUERY(q, c_,
                 "SELECT version FROM parameter_labels WHERE parameter_id = ? AND label = ?");
    q.Bind(1, parameter_id).Bind(2, label);
    if (q.Step()) return std::optional<int64_t>(q.Int(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<int64_t>();
  }

  Result<Tags> GetParameterTags(int64_t parameter_id) override {
    return ReadTagRows(kParameterTags, parameter_id);
  }

  Result<std::vector<ParameterRow>> ListExpiredParameters(EpochMillis now) override {
    COFFER_QUERY(q, c_,
                 PARAM_SELECT("WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ? "
                              "ORDER BY expires_at_ms"));
    q.Bind(1, now);
    return ManyParameters(q);
  }

  Result<std::vector<ParameterRow>> ListParametersWithPolicies() override {
    COFFER_QUERY(q, c_, PARAM_SELECT("WHERE policies IS NOT NULL ORDER BY id"));
    return ManyParameters(q);
  }

  Result<bool> NotificationSent(int64_t parameter_id, int64_t version,
                                const std::string& policy_type) override {
    COFFER_QUERY(q, c_,
                 "SELECT 1 FROM parameter_notifications WHERE parameter_id = ? AND version = ? "
                 "AND policy_type = ?");
    q.Bind(1, parameter_id).Bind(2, version).Bind(3, policy_type);
    bool found = q.Step();
    COFFER_RETURN_IF_ERROR(q.status());
    return found;
  }

  Result<std::vector<EventRow>> ListEvents(int64_t after_id, int limit) override {
    COFFER_QUERY(q, c_,
                 "SELECT id, time_ms, account, region, source, detail_type, resources, detail "
                 "FROM events WHERE id > ? ORDER BY id LIMIT ?");
    q.Bind(1, after_id).Bind(2, static_cast<int64_t>(limit));
    return ReadEvents(q);
  }

  Result<std::vector<EventRow>> ListAccountEvents(const std::string& account, int64_t after_id,
                                                  int limit) override {
    COFFER_QUERY(q, c_,
                 "SELECT id, time_ms, account, region, source, detail_type, resources, detail "
                 "FROM events WHERE account = ? AND id > ? ORDER BY id LIMIT ?");
    q.Bind(1, account).Bind(2, after_id).Bind(3, static_cast<int64_t>(limit));
    return ReadEvents(q);
  }

  Result<std::vector<EventRow>> ReadEvents(Query& q) {
    std::vector<EventRow> out;
    while (q.Step()) {
      EventRow e;
      e.id = q.Int(0);
      e.time_ms = q.Int(1);
      e.account = q.Text(2);
      e.region = q.Text(3);
      e.source = q.Text(4);
      e.detail_type = q.Text(5);
      e.resources = q.Text(6);
      e.detail = q.Text(7);
      out.push_back(std::move(e));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status InsertParameter(ParameterRow* row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO parameters (account, region, name, name_key, parent, type, tier, "
                 "data_type, key_id, description, allowed_pattern, policies, version, "
                 "last_modified_ms, last_modified_user, expires_at_ms) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, row->account).Bind(2, row->region).Bind(3, row->name).Bind(4, row->name_key);
    q.Bind(5, row->parent);
    BindParameterState(q, 6, *row);
    COFFER_RETURN_IF_ERROR(q.Run());
    row->id = sqlite3_last_insert_rowid(c_.db());
    return Status::Ok();
  }

  Status UpdateParameter(const ParameterRow& row) override {
    COFFER_QUERY(q, c_,
                 "UPDATE parameters SET type = ?, tier = ?, data_type = ?, key_id = ?, "
                 "description = ?, allowed_pattern = ?, policies = ?, version = ?, "
                 "last_modified_ms = ?, last_modified_user = ?, expires_at_ms = ? WHERE id = ?");
    BindParameterState(q, 1, row);
    q.Bind(12, row.id);
    return q.Run();
  }

  Status DeleteParameter(int64_t parameter_id) override {
    for (const char* sql : {"DELETE FROM parameter_labels WHERE parameter_id = ?",
                            "DELETE FROM parameter_versions WHERE parameter_id = ?",
                            "DELETE FROM parameter_tags WHERE parameter_id = ?",
                            "DELETE FROM parameter_notifications WHERE parameter_id = ?",
                            "DELETE FROM parameters WHERE id = ?"}) {
      COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, c_.Prepare(sql));
      Query q(c_, stmt);
      COFFER_RETURN_IF_ERROR(q.Bind(1, parameter_id).Run());
    }
    return Status::Ok();
  }

  Status InsertParameterVersion(int64_t parameter_id, const ParameterVersionRow& v) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO parameter_versions (parameter_id, version, type, tier, data_type, "
                 "key_id, description, allowed_pattern, policies, last_modified_ms, "
                 "last_modified_user, sealed_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, parameter_id).Bind(2, v.version).Bind(3, v.type).Bind(4, v.tier);
    q.Bind(5, v.data_type).Bind(6, v.key_id).Bind(7, v.description).Bind(8, v.allowed_pattern);
    q.Bind(9, v.policies).Bind(10, v.last_modified_ms).Bind(11, v.last_modified_user);
    q.BindBlob(12, v.sealed_value);
    return q.Run();
  }

  Status DeleteParameterVersion(int64_t parameter_id, int64_t version) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM parameter_labels WHERE parameter_id = ? AND version = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, parameter_id).Bind(2, version).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM parameter_versions WHERE parameter_id = ? AND version = ?");
    return q.Bind(1, parameter_id).Bind(2, version).Run();
  }

  Status SetParameterLabel(int64_t parameter_id, const std::string& label,
                           int64_t version) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR REPLACE INTO parameter_labels (parameter_id, label, version) "
                 "VALUES (?, ?, ?)");
    return q.Bind(1, parameter_id).Bind(2, label).Bind(3, version).Run();
  }

  Status RemoveParameterLabel(int64_t parameter_id, const std::string& label) override {
    COFFER_QUERY(q, c_, "DELETE FROM parameter_labels WHERE parameter_id = ? AND label = ?");
    return q.Bind(1, parameter_id).Bind(2, label).Run();
  }

  Status SetParameterTags(int64_t parameter_id, const Tags& tags) override {
    return WriteTagRows(kParameterTags, parameter_id, tags);
  }

  Status MarkNotificationSent(int64_t parameter_id, int64_t version,
                              const std::string& policy_type) override {
    COFFER_QUERY(q, c_,
                 "INSERT OR IGNORE INTO parameter_notifications (parameter_id, version, "
                 "policy_type) VALUES (?, ?, ?)");
    return q.Bind(1, parameter_id).Bind(2, version).Bind(3, policy_type).Run();
  }

  Status PruneEvents(EpochMillis older_than, int64_t max_per_account) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM events WHERE time_ms < ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, older_than).Run());
    }
    // Per account: one tenant's flood never evicts another's events.
    std::vector<std::pair<std::string, int64_t>> over;
    {
      COFFER_QUERY(q, c_,
                   "SELECT account, COUNT(*) FROM events GROUP BY account HAVING COUNT(*) > ?");
      q.Bind(1, max_per_account);
      while (q.Step()) over.emplace_back(q.Text(0), q.Int(1));
      COFFER_RETURN_IF_ERROR(q.status());
    }
    for (const auto& [account, count] : over) {
      COFFER_QUERY(q, c_,
                   "DELETE FROM events WHERE account = ? AND id <= (SELECT id FROM events WHERE "
                   "account = ? ORDER BY id LIMIT 1 OFFSET ?)");
      COFFER_RETURN_IF_ERROR(
          q.Bind(1, account).Bind(2, account).Bind(3, count - max_per_account - 1).Run());
    }
    return Status::Ok();
  }

  Status AppendEvent(const EventRow& e) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO events (time_ms, account, region, source, detail_type, resources, "
                 "detail) VALUES (?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, e.time_ms).Bind(2, e.account).Bind(3, e.region).Bind(4, e.source);
    q.Bind(5, e.detail_type).Bind(6, e.resources).Bind(7, e.detail);
    return q.Run();
  }

 private:
  static KmsKeyRow ReadKmsKey(const Query& q) {
    KmsKeyRow k;
    k.key_id = q.Text(0);
    k.account = q.Text(1);
    k.region = q.Text(2);
    k.arn = q.Text(3);
    k.manager = q.Text(4);
    k.state = q.Text(5);
    k.description = q.Text(6);
    k.created_ms = q.Int(7);
    k.current_material = static_cast<int>(q.Int(8));
    k.deletion_ms = q.OptInt(9);
    k.pending_window_days = q.OptInt(10);
    k.rotation_enabled = q.Int(11) != 0;
    k.rotation_period_days = q.OptInt(12);
    k.next_rotation_ms = q.OptInt(13);
    k.policy = q.Text(14);
    return k;
  }

  Result<std::vector<KmsKeyRow>> ManyKmsKeys(Query& q) {
    std::vector<KmsKeyRow> out;
    while (q.Step()) out.push_back(ReadKmsKey(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  static ParameterRow ReadParameterRow(const Query& q) {
    ParameterRow r;
    r.id = q.Int(0);
    r.account = q.Text(1);
    r.region = q.Text(2);
    r.name = q.Text(3);
    r.name_key = q.Text(4);
    r.parent = q.Text(5);
    r.type = q.Text(6);
    r.tier = q.Text(7);
    r.data_type = q.Text(8);
    r.key_id = q.OptText(9);
    r.description = q.OptText(10);
    r.allowed_pattern = q.OptText(11);
    r.policies = q.OptText(12);
    r.version = q.Int(13);
    r.last_modified_ms = q.Int(14);
    r.last_modified_user = q.Text(15);
    r.expires_at_ms = q.OptInt(16);
    return r;
  }

  static ParameterVersionRow ReadParameterVersion(const Query& q) {
    ParameterVersionRow v;
    v.version = q.Int(0);
    v.type = q.Text(1);
    v.tier = q.Text(2);
    v.data_type = q.Text(3);
    v.key_id = q.OptText(4);
    v.description = q.OptText(5);
    v.allowed_pattern = q.OptText(6);
    v.policies = q.OptText(7);
    v.last_modified_ms = q.Int(8);
    v.last_modified_user = q.Text(9);
    v.sealed_value = q.Blob(10);
    return v;
  }

  static void BindParameterState(Query& q, int first, const ParameterRow& r) {
    q.Bind(first, r.type).Bind(first + 1, r.tier).Bind(first + 2, r.data_type);
    q.Bind(first + 3, r.key_id).Bind(first + 4, r.description).Bind(first + 5, r.allowed_pattern);
    q.Bind(first + 6, r.policies).Bind(first + 7, r.version).Bind(first + 8, r.last_modified_ms);
    q.Bind(first + 9, r.last_modified_user).Bind(first + 10, r.expires_at_ms);
  }

  Result<std::vector<ParameterRow>> ManyParameters(Query& q) {
    std::vector<ParameterRow> out;
    while (q.Step()) out.push_back(ReadParameterRow(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::optional<SecretRow>> OneSecret(Query& q) {
    if (!q.Step()) {
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<SecretRow>();
    }
    SecretRow row = ReadSecretRow(q);
    COFFER_RETURN_IF_ERROR(ReadTags(&row));
    return std::optional<SecretRow>(std::move(row));
  }

  Result<std::vector<SecretRow>> ManySecrets(Query& q) {
    std::vector<SecretRow> out;
    while (q.Step()) out.push_back(ReadSecretRow(q));
    COFFER_RETURN_IF_ERROR(q.status());
    for (auto& row : out) COFFER_RETURN_IF_ERROR(ReadTags(&row));
    return out;
  }

  Status ReadTags(SecretRow* row) {
    COFFER_ASSIGN_OR_RETURN(row->tags, ReadTagRows(kSecretTags, row->id));
    return Status::Ok();
  }

  Status WriteTags(int64_t secret_id, const Tags& tags) {
    return WriteTagRows(kSecretTags, secret_id, tags);
  }

  // Tags of every resource kind live in tables of one shape: (owner, position, key, value).
  template <typename Id>
  Result<Tags> ReadTagRows(const TagTableSql& table, const Id& owner) {
    COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, c_.Prepare(table.select));
    Query q(c_, stmt);
    q.Bind(1, owner);
    Tags tags;
    while (q.Step()) tags.emplace_back(q.Text(0), q.Text(1));
    COFFER_RETURN_IF_ERROR(q.status());
    return tags;
  }

  template <typename Id>
  Status WriteTagRows(const TagTableSql& table, const Id& owner, const Tags& tags) {
    {
      COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, c_.Prepare(table.clear));
      Query q(c_, stmt);
      COFFER_RETURN_IF_ERROR(q.Bind(1, owner).Run());
    }
    int64_t position = 0;
    for (const auto& [key, value] : tags) {
      COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, c_.Prepare(table.insert));
      Query q(c_, stmt);
      COFFER_RETURN_IF_ERROR(
          q.Bind(1, owner).Bind(2, position++).Bind(3, key).Bind(4, value).Run());
    }
    return Status::Ok();
  }

  static AccessKeyRow ReadAccessKey(const Query& q) {
    AccessKeyRow r;
    r.access_key_id = q.Text(0);
    r.wrapped_secret = q.Blob(1);
    r.account = q.Text(2);
    r.principal_arn = q.Text(3);
    r.user_id = q.Text(4);
    r.created_ms = q.Int(5);
    r.status = q.Text(6);
    r.user_name = q.Text(7);
    return r;
  }

  static IamEntityRow ReadIamEntity(const Query& q) {
    IamEntityRow r;
    r.kind = q.Text(0);
    r.account = q.Text(1);
    r.name = q.Text(2);
    r.id = q.Text(3);
    r.arn = q.Text(4);
    r.path = q.Text(5);
    r.description = q.Text(6);
    r.trust_policy = q.Text(7);
    r.max_session_seconds = q.Int(8);
    r.created_ms = q.Int(9);
    return r;
  }

  static IamPolicyRow ReadIamPolicy(const Query& q) {
    IamPolicyRow r;
    r.arn = q.Text(0);
    r.account = q.Text(1);
    r.name = q.Text(2);
    r.id = q.Text(3);
    r.path = q.Text(4);
    r.description = q.Text(5);
    r.default_version = q.Int(6);
    r.next_version = q.Int(7);
    r.created_ms = q.Int(8);
    r.updated_ms = q.Int(9);
    return r;
  }

  Connection& c_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::unique_ptr<Connection> writer)
      : path_(std::move(path)), writer_(std::move(writer)) {}

  Status Read(const std::function<Status(StoreReader&)>& fn) override {
    std::unique_ptr<Connection> conn;
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      if (!readers_.empty()) {
        conn = std::move(readers_.back());
        readers_.pop_back();
      }
    }
    if (!conn) {
      COFFER_ASSIGN_OR_RETURN(conn, Connection::Open(path_));
    }
    Status status = conn->Exec("BEGIN");
    if (status.ok()) {
      SqliteTxn txn(*conn);
      status = fn(txn);
      Status end = conn->Exec("COMMIT");  // read-only: COMMIT just ends the snapshot
      if (status.ok()) status = end;
    }
    std::lock_guard<std::mutex> lock(pool_mu_);
    readers_.push_back(std::move(conn));
    return status;
  }

  Status Write(const std::function<Status(StoreWriter&)>& fn) override {
    std::lock_guard<std::mutex> lock(write_mu_);
    changes_before_ = sqlite3_total_changes64(writer_->db());
    Status begun = writer_->Exec("BEGIN IMMEDIATE");
    if (!begun.ok()) return NoteWrite(begun);
    SqliteTxn txn(*writer_);
    Status status = fn(txn);
    if (!status.ok()) {
      (void)writer_->Exec("ROLLBACK");
      return NoteWrite(status);
    }
    Status commit = writer_->Exec("COMMIT");
    if (!commit.ok()) {
      (void)writer_->Exec("ROLLBACK");
    } else {
      committed_writes_.fetch_add(1, std::memory_order_release);
    }
    return NoteWrite(commit);
  }

  uint64_t CommittedWrites() const override {
    return committed_writes_.load(std::memory_order_acquire);
  }

  std::string WriteProblem() const override {
    std::lock_guard lock(problem_mu_);
    return write_problem_;
  }

  std::string PrometheusText() const override {
    std::lock_guard lock(problem_mu_);
    return "# HELP coffer_store_write_failures_total Writes the store could not make (disk full, "
           "read-only or failing); each was answered ServiceUnavailable.\n"
           "# TYPE coffer_store_write_failures_total counter\n"
           "coffer_store_write_failures_total " +
           std::to_string(write_failures_) +
           "\n# HELP coffer_store_writable 1 when the store's last write succeeded, 0 while it "
           "cannot write.\n# TYPE coffer_store_writable gauge\ncoffer_store_writable " +
           (write_problem_.empty() ? "1" : "0") + "\n";
  }

 private:
  // Tracks whether the store can write; a change of state is logged once, not per request.
  Status NoteWrite(Status status) {
    const bool fault = status.code() == "ServiceUnavailable";
    if (!fault && !status.ok()) return status;  // the request's own error, not the disk's
    std::lock_guard lock(problem_mu_);
    if (fault) {
      ++write_failures_;
      if (write_problem_.empty()) {
        const std::string& m = status.message();
        const size_t open = m.find('('), close = m.find(')');
        write_problem_ = open != std::string::npos && close != std::string::npos && close > open
                             ? m.substr(open + 1, close - open - 1)
                             : m;
        std::fprintf(stderr,
                     "coffer: the store cannot write (%s): writes are answered "
                     "ServiceUnavailable, reads go on\n",
                     write_problem_.c_str());
      }
    } else if (!write_problem_.empty() &&
               sqlite3_total_changes64(writer_->db()) != changes_before_) {
      // Only a commit that wrote something proves the store writes again (an empty one does
      // not touch the disk).
      write_problem_.clear();
      std::fprintf(stderr, "coffer: the store writes again\n");
    }
    return status;
  }

  std::string path_;
  std::mutex write_mu_;
  std::unique_ptr<Connection> writer_;
  std::atomic<uint64_t> committed_writes_{0};
  int64_t changes_before_ = 0;  // under write_mu_
  mutable std::mutex problem_mu_;
  std::string write_problem_;
  uint64_t write_failures_ = 0;
  std::mutex pool_mu_;
  std::vector<std::unique_ptr<Connection>> readers_;
};

Status Migrate(Connection& conn) {
  int version = 0;
  {
    // Scoped so the statement is reset before any migration runs (DROP needs no reader).
    COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn.Prepare("PRAGMA user_version"));
    Query q(conn, stmt);
    version = q.Step() ? static_cast<int>(q.Int(0)) : 0;
    COFFER_RETURN_IF_ERROR(q.status());
  }
  if (version > kSchemaVersion) {
    return Status("InternalFailure", "store: database schema version " + std::to_string(version) +
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

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto writer, Connection::Open(path));
  COFFER_RETURN_IF_ERROR(Migrate(*writer));
  return std::unique_ptr<Store>(new SqliteStore(path, std::move(writer)));
}

Result<std::vector<std::string>> CheckSqliteIntegrity(const std::string& path) {
  COFFER_ASSIGN_OR_RETURN(auto conn, Connection::Open(path));
  COFFER_ASSIGN_OR_RETURN(sqlite3_stmt * stmt, conn->Prepare("PRAGMA integrity_check(100)"));
  Query q(*conn, stmt);
  std::vector<std::string> problems;
  while (q.Step()) {
    std::string line = q.Text(0);
    if (line != "ok") problems.push_back(std::move(line));
  }
  if (!q.status().ok()) {
    // A database too damaged to check at all is one problem, named.
    problems.push_back(q.status().message());
  }
  return problems;
}

}  // namespace coffer
