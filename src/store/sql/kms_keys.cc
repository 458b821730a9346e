// SQLite tables of KMS keys, key materials, aliases and tags.
#include "store/kms_keys.h"

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

#define KMS_SELECT(where)                                                                        \
  "SELECT key_id, account, region, arn, manager, state, description, created_ms, "               \
  "current_material, deletion_ms, pending_window_days, rotation_enabled, rotation_period_days, " \
  "next_rotation_ms, policy FROM kms_keys " where

constexpr TagTableSql kKmsKeyTags = {
    "SELECT key, value FROM kms_key_tags WHERE key_id = ? ORDER BY position",
    "DELETE FROM kms_key_tags WHERE key_id = ?",
    "INSERT INTO kms_key_tags (key_id, position, key, value) VALUES (?, ?, ?, ?)"};

class SqliteKmsKeys final : public KmsKeysWriter {
 public:
  explicit SqliteKmsKeys(Connection& conn) : c_(conn) {}

  Result<std::optional<KmsKeyRow>> FindKey(const std::string& key_id) override {
    COFFER_QUERY(q, c_, KMS_SELECT("WHERE key_id = ?"));
    q.Bind(1, key_id);
    if (q.Step()) {
      KmsKeyRow row = ReadKmsKey(q);
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<KmsKeyRow>(std::move(row));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<KmsKeyRow>();
  }

  Result<std::optional<std::string>> KeyIdForAlias(const Scope& scope,
                                                   const std::string& alias) override {
    COFFER_QUERY(q, c_,
                 "SELECT key_id FROM kms_aliases WHERE account = ? AND region = ? AND alias = ?");
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, alias);
    if (q.Step()) return std::optional<std::string>(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }

  Result<std::optional<KeyMaterialRow>> GetMaterial(const std::string& key_id,
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

  Result<std::vector<KmsKeyRow>> ListKeys(const Scope& scope, const std::string& after,
                                          int limit) override {
    COFFER_QUERY(q, c_,
                 KMS_SELECT("WHERE account = ? AND region = ? AND key_id > ? ORDER BY key_id "
                            "LIMIT ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, after);
    q.Bind(4, static_cast<int64_t>(limit));
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

  Result<std::vector<KeyMaterialRow>> ListMaterials(const std::string& key_id) override {
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
      m.rotation_type = q.Named(2, kMaterialOriginNames);
      out.push_back(std::move(m));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<KeyMaterialRow>> ListAllMaterials() override {
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
      m.rotation_type = q.Named(4, kMaterialOriginNames);
      out.push_back(std::move(m));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Result<std::vector<KmsKeyRow>> KeysDueForRotation(EpochMillis now) override {
    COFFER_QUERY(q, c_,
                 KMS_SELECT("WHERE rotation_enabled = 1 AND next_rotation_ms IS NOT NULL AND "
                            "next_rotation_ms <= ?"));
    q.Bind(1, now);
    return ManyKmsKeys(q);
  }

  Result<std::vector<KmsKeyRow>> KeysDueForDeletion(EpochMillis now) override {
    COFFER_QUERY(q, c_, KMS_SELECT("WHERE deletion_ms IS NOT NULL AND deletion_ms <= ?"));
    q.Bind(1, now);
    return ManyKmsKeys(q);
  }

  Result<Tags> GetKeyTags(const std::string& key_id) override {
    return ReadTagRows(c_, kKmsKeyTags, key_id);
  }

  Status InsertKey(const KmsKeyRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO kms_keys (key_id, account, region, arn, manager, state, description, "
                 "created_ms, current_material, deletion_ms, pending_window_days, "
                 "rotation_enabled, rotation_period_days, next_rotation_ms, policy) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, row.key_id).Bind(2, row.account).Bind(3, row.region).Bind(4, row.arn);
    q.Bind(5, KeyManagerName(row.manager))
        .Bind(6, KeyStateName(row.state))
        .Bind(7, row.description)
        .Bind(8, row.created_ms);
    q.Bind(9, static_cast<int64_t>(row.current_material)).Bind(10, row.deletion_ms);
    q.Bind(11, row.pending_window_days).Bind(12, static_cast<int64_t>(row.rotation_enabled));
    q.Bind(13, row.rotation_period_days).Bind(14, row.next_rotation_ms).Bind(15, row.policy);
    return q.Run();
  }

  Status InsertMaterial(const KeyMaterialRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO kms_key_materials (key_id, version, wrapped, created_ms, "
                 "rotation_type) VALUES (?, ?, ?, ?, ?)");
    q.Bind(1, row.key_id).Bind(2, static_cast<int64_t>(row.version)).BindBlob(3, row.wrapped);
    q.Bind(4, row.created_ms).Bind(5, MaterialOriginName(row.rotation_type));
    return q.Run();
  }

  Status UpdateMaterialWrapping(const std::string& key_id, int version,
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

  Status UpdateKey(const KmsKeyRow& row) override {
    COFFER_QUERY(q, c_,
                 "UPDATE kms_keys SET state = ?, description = ?, current_material = ?, "
                 "deletion_ms = ?, pending_window_days = ?, rotation_enabled = ?, "
                 "rotation_period_days = ?, next_rotation_ms = ?, policy = ? WHERE key_id = ?");
    q.Bind(1, KeyStateName(row.state)).Bind(2, row.description);
    q.Bind(3, static_cast<int64_t>(row.current_material)).Bind(4, row.deletion_ms);
    q.Bind(5, row.pending_window_days).Bind(6, static_cast<int64_t>(row.rotation_enabled));
    q.Bind(7, row.rotation_period_days).Bind(8, row.next_rotation_ms).Bind(9, row.policy);
    q.Bind(10, row.key_id);
    return q.Run();
  }

  Status DeleteKey(const std::string& key_id) override {
    for (const char* sql :
         {"DELETE FROM kms_key_tags WHERE key_id = ?", "DELETE FROM kms_aliases WHERE key_id = ?",
          "DELETE FROM kms_key_materials WHERE key_id = ?",
          "DELETE FROM kms_keys WHERE key_id = ?"}) {
      COFFER_QUERY(q, c_, sql);
      COFFER_RETURN_IF_ERROR(q.Bind(1, key_id).Run());
    }
    return Status::Ok();
  }

  Status DeleteAlias(const Scope& scope, const std::string& alias) override {
    COFFER_QUERY(q, c_, "DELETE FROM kms_aliases WHERE account = ? AND region = ? AND alias = ?");
    return q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, alias).Run();
  }

  Status SetKeyTags(const std::string& key_id, const Tags& tags) override {
    return WriteTagRows(c_, kKmsKeyTags, key_id, tags);
  }

 private:
  static KmsKeyRow ReadKmsKey(const Query& q) {
    KmsKeyRow k;
    k.key_id = q.Text(0);
    k.account = q.Text(1);
    k.region = q.Text(2);
    k.arn = q.Text(3);
    k.manager = q.Named(4, kKeyManagerNames);
    k.state = q.Named(5, kKeyStateNames);
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

  Connection& c_;
};

}  // namespace

std::unique_ptr<KmsKeysWriter> NewKmsKeysView(Connection& conn) {
  return std::make_unique<SqliteKmsKeys>(conn);
}

}  // namespace coffer::sql
