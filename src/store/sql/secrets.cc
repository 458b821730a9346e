// SQLite tables of Secrets Manager's secrets, versions, stages and tags.
#include "store/secrets.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sql/driver.h"
#include "store/sql/tag_rows.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

// Statement texts live in static storage so their addresses key the statement cache.
#define SECRET_SELECT(where)                                                                      \
  "SELECT id, account, region, name, arn, description, kms_key_id, created_ms, last_changed_ms, " \
  "last_accessed_ms, deleted_ms, purge_at_ms, resource_policy, rotation_enabled, "                \
  "rotation_lambda_arn, rotation_rules, last_rotated_ms, next_rotation_ms, tagged FROM "          \
  "secrets " where

constexpr TagTableSql kSecretTags = {
    "SELECT key, value FROM secret_tags WHERE secret_id = ? ORDER BY position",
    "DELETE FROM secret_tags WHERE secret_id = ?",
    "INSERT INTO secret_tags (secret_id, position, key, value) VALUES (?, ?, ?, ?)"};

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

class SqliteSecrets final : public SecretsWriter {
 public:
  explicit SqliteSecrets(Connection& conn) : c_(conn) {}

  Result<std::optional<SecretRow>> FindByArn(const Scope& scope, const std::string& arn) override {
    COFFER_QUERY(q, c_, SECRET_SELECT("WHERE arn = ? AND account = ? AND region = ?"));
    q.Bind(1, arn).Bind(2, scope.account).Bind(3, scope.region);
    return OneSecret(q);
  }

  Result<std::optional<SecretRow>> FindByName(const Scope& scope,
                                              const std::string& name) override {
    COFFER_QUERY(q, c_, SECRET_SELECT("WHERE account = ? AND region = ? AND name = ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, name);
    return OneSecret(q);
  }

  Result<std::vector<SecretRow>> ListPage(const Scope& scope,
                                          const SecretPageQuery& page) override {
    // One statement per order and direction, each a range scan of an index on (account, region,
    // sort key, id): a row-value comparison resumes after the cursor without an OFFSET.
    // (The plain comparison on the key is implied by the row value, but without it SQLite
    // does not start the scan of an expression index at the cursor.)
#define SECRET_PAGE(key)                                                                       \
  {                                                                                            \
    SECRET_SELECT(                                                                             \
        "WHERE account = ?1 AND region = ?2 AND (?3 <> 0 OR purge_at_ms IS NULL) AND " key     \
        " >= ?4 AND (" key ", id) > (?4, ?5) ORDER BY " key ", id LIMIT ?6"),                  \
        SECRET_SELECT(                                                                         \
            "WHERE account = ?1 AND region = ?2 AND (?3 <> 0 OR purge_at_ms IS NULL) AND " key \
            " <= ?4 AND (" key ", id) < (?4, ?5) ORDER BY " key " DESC, id DESC LIMIT ?6")     \
  }
    static const char* const kSql[4][2] = {
        SECRET_PAGE("created_ms"), SECRET_PAGE("last_changed_ms"),
        SECRET_PAGE("COALESCE(last_accessed_ms, 0)"), SECRET_PAGE("name")};
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
      // Names are printable ASCII, so "" sorts before every name and DEL after every name
      // (and, unlike a byte above 0x7f, it is valid UTF-8 text for PostgreSQL).
      q.Bind(4, std::string(page.descending ? "\x7f" : ""));
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

  Result<std::vector<SecretRow>> ListDueForPurge(EpochMillis now) override {
    COFFER_QUERY(q, c_, SECRET_SELECT("WHERE purge_at_ms IS NOT NULL AND purge_at_ms <= ?"));
    q.Bind(1, now);
    return ManySecrets(q);
  }

  Result<std::vector<SecretRow>> ListDueForRotation(EpochMillis now, int limit) override {
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

  Result<std::vector<NearExpiryCount>> CountNearExpiry(EpochMillis rotation_due_by,
                                                       EpochMillis current_before) override {
    COFFER_QUERY(q, c_,
                 "SELECT account, region, SUM(due), SUM(unrotated) FROM (SELECT account, region, "
                 "CASE WHEN rotation_enabled = 1 AND next_rotation_ms IS NOT NULL AND "
                 "next_rotation_ms <= ? THEN 1 ELSE 0 END AS due, CASE WHEN rotation_enabled = 0 "
                 "AND (SELECT v.created_ms FROM version_stages s JOIN secret_versions v ON "
                 "v.secret_id = s.secret_id AND v.version_id = s.version_id WHERE s.secret_id = "
                 "secrets.id AND s.stage = 'AWSCURRENT') < ? THEN 1 ELSE 0 END AS unrotated "
                 "FROM secrets WHERE deleted_ms IS NULL) AS flagged GROUP BY account, region "
                 "HAVING SUM(due) + SUM(unrotated) > 0 ORDER BY account, region");
    q.Bind(1, rotation_due_by).Bind(2, current_before);
    std::vector<NearExpiryCount> out;
    while (q.Step()) out.push_back({q.Text(0), q.Text(1), q.Int(2), q.Int(3)});
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
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

  Status Insert(SecretRow* row) override {
    {
      COFFER_QUERY(q, c_,
                   "INSERT INTO secrets (account, region, name, arn, description, kms_key_id, "
                   "created_ms, last_changed_ms, last_accessed_ms, deleted_ms, purge_at_ms, "
                   "resource_policy, rotation_enabled, rotation_lambda_arn, rotation_rules, "
                   "last_rotated_ms, next_rotation_ms, tagged) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
      q.Bind(1, row->account).Bind(2, row->region).Bind(3, row->name).Bind(4, row->arn);
      q.Bind(5, row->description).Bind(6, row->kms_key_id).Bind(7, row->created_ms);
      q.Bind(8, row->last_changed_ms).Bind(9, row->last_accessed_ms).Bind(10, row->deleted_ms);
      q.Bind(11, row->purge_at_ms).Bind(12, row->resource_policy);
      q.Bind(13, static_cast<int64_t>(row->rotation_enabled)).Bind(14, row->rotation_lambda_arn);
      q.Bind(15, row->rotation_rules).Bind(16, row->last_rotated_ms);
      q.Bind(17, row->next_rotation_ms).Bind(18, static_cast<int64_t>(row->tagged));
      if (q.Step()) row->id = q.Int(0);
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    return WriteTags(row->id, row->tags);
  }

  Status Update(const SecretRow& row) override {
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

  Status Delete(int64_t secret_id) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM rotation_runs WHERE secret_id = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, secret_id).Run());
    }
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
                 "INSERT INTO version_stages (secret_id, stage, version_id) VALUES (?, ?, ?) "
                 "ON CONFLICT (secret_id, stage) DO UPDATE SET version_id = excluded.version_id");
    return q.Bind(1, secret_id).Bind(2, stage).Bind(3, version_id).Run();
  }

  Status RemoveStage(int64_t secret_id, const std::string& stage) override {
    COFFER_QUERY(q, c_, "DELETE FROM version_stages WHERE secret_id = ? AND stage = ?");
    return q.Bind(1, secret_id).Bind(2, stage).Run();
  }

 private:
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
    COFFER_ASSIGN_OR_RETURN(row->tags, ReadTagRows(c_, kSecretTags, row->id));
    return Status::Ok();
  }

  Status WriteTags(int64_t secret_id, const Tags& tags) {
    return WriteTagRows(c_, kSecretTags, secret_id, tags);
  }

  Connection& c_;
};

}  // namespace

std::unique_ptr<SecretsWriter> NewSecretsView(Connection& conn) {
  return std::make_unique<SqliteSecrets>(conn);
}

}  // namespace coffer::sql
