// SQLite tables of Parameter Store's parameters, versions, labels, tags and notifications.
#include "store/parameters.h"

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

#define PARAM_SELECT(where)                                                                 \
  "SELECT id, account, region, name, name_key, parent, type, tier, data_type, key_id, "     \
  "description, allowed_pattern, policies, version, last_modified_ms, last_modified_user, " \
  "expires_at_ms FROM parameters " where

#define PARAM_VERSION_SELECT(where)                                                         \
  "SELECT version, type, tier, data_type, key_id, description, allowed_pattern, policies, " \
  "last_modified_ms, last_modified_user, sealed_value FROM parameter_versions " where

constexpr TagTableSql kParameterTags = {
    "SELECT key, value FROM parameter_tags WHERE parameter_id = ? ORDER BY position",
    "DELETE FROM parameter_tags WHERE parameter_id = ?",
    "INSERT INTO parameter_tags (parameter_id, position, key, value) VALUES (?, ?, ?, ?)"};

class SqliteParameters final : public ParametersWriter {
 public:
  explicit SqliteParameters(Connection& conn) : c_(conn) {}

  Result<std::optional<ParameterRow>> Find(const Scope& scope,
                                           const std::string& name_key) override {
    COFFER_QUERY(q, c_, PARAM_SELECT("WHERE account = ? AND region = ? AND name_key = ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, name_key);
    if (q.Step()) {
      ParameterRow row = ReadParameterRow(q);
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<ParameterRow>(std::move(row));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<ParameterRow>();
  }

  Result<std::vector<ParameterRow>> ListByParent(const Scope& scope, const std::string& parent,
                                                 const std::string& after, int limit) override {
    COFFER_QUERY(q, c_,
                 PARAM_SELECT("WHERE account = ? AND region = ? AND parent = ? AND name_key > ? "
                              "ORDER BY name_key LIMIT ?"));
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, parent).Bind(4, after);
    q.Bind(5, static_cast<int64_t>(limit));
    return ManyParameters(q);
  }

  Result<std::vector<ParameterRow>> ListByPrefix(const Scope& scope, const std::string& prefix,
                                                 const std::string& after, int limit) override {
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

  // The counter the schema's triggers keep (v11), not a COUNT(*) over the scope's parameters.
  Result<int64_t> Count(const Scope& scope, ParameterTier tier) override {
    COFFER_QUERY(q, c_,
                 "SELECT n FROM parameter_tier_counts WHERE account = ? AND region = ? "
                 "AND tier = ?");
    q.Bind(1, scope.account).Bind(2, scope.region).Bind(3, ParameterTierName(tier));
    int64_t n = q.Step() ? q.Int(0) : 0;
    COFFER_RETURN_IF_ERROR(q.status());
    return n;
  }

  Result<std::optional<ParameterVersionRow>> GetVersion(int64_t parameter_id,
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
      COFFER_RETURN_IF_ERROR(q.status());
    }
    COFFER_QUERY(q, c_,
                 "SELECT label FROM parameter_labels WHERE parameter_id = ? AND version = ? "
                 "ORDER BY label");
    q.Bind(1, parameter_id).Bind(2, version);
    while (q.Step()) v.labels.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<ParameterVersionRow>(std::move(v));
  }

  Result<std::vector<ParameterVersionRow>> ListVersions(int64_t parameter_id) override {
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

  Result<std::optional<int64_t>> VersionForLabel(int64_t parameter_id,
                                                 const std::string& label) override {
    COFFER_QUERY(q, c_,
                 "SELECT version FROM parameter_labels WHERE parameter_id = ? AND label = ?");
    q.Bind(1, parameter_id).Bind(2, label);
    if (q.Step()) return std::optional<int64_t>(q.Int(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<int64_t>();
  }

  Result<Tags> GetTags(int64_t parameter_id) override {
    return ReadTagRows(c_, kParameterTags, parameter_id);
  }

  Result<std::vector<ParameterRow>> ListExpired(EpochMillis now) override {
    COFFER_QUERY(q, c_,
                 PARAM_SELECT("WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ? "
                              "ORDER BY expires_at_ms"));
    q.Bind(1, now);
    return ManyParameters(q);
  }

  Result<std::vector<ParameterRow>> ListWithPolicies() override {
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

  Status Insert(ParameterRow* row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO parameters (account, region, name, name_key, parent, type, tier, "
                 "data_type, key_id, description, allowed_pattern, policies, version, "
                 "last_modified_ms, last_modified_user, expires_at_ms) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id");
    q.Bind(1, row->account).Bind(2, row->region).Bind(3, row->name).Bind(4, row->name_key);
    q.Bind(5, row->parent);
    BindParameterState(q, 6, *row);
    if (q.Step()) row->id = q.Int(0);
    return q.Run();
  }

  Status Update(const ParameterRow& row) override {
    COFFER_QUERY(q, c_,
                 "UPDATE parameters SET type = ?, tier = ?, data_type = ?, key_id = ?, "
                 "description = ?, allowed_pattern = ?, policies = ?, version = ?, "
                 "last_modified_ms = ?, last_modified_user = ?, expires_at_ms = ? WHERE id = ?");
    BindParameterState(q, 1, row);
    q.Bind(12, row.id);
    return q.Run();
  }

  Status Delete(int64_t parameter_id) override {
    for (const char* sql : {"DELETE FROM parameter_labels WHERE parameter_id = ?",
                            "DELETE FROM parameter_versions WHERE parameter_id = ?",
                            "DELETE FROM parameter_tags WHERE parameter_id = ?",
                            "DELETE FROM parameter_notifications WHERE parameter_id = ?",
                            "DELETE FROM parameters WHERE id = ?"}) {
      COFFER_QUERY(q, c_, sql);
      COFFER_RETURN_IF_ERROR(q.Bind(1, parameter_id).Run());
    }
    return Status::Ok();
  }

  Status InsertVersion(int64_t parameter_id, const ParameterVersionRow& v) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO parameter_versions (parameter_id, version, type, tier, data_type, "
                 "key_id, description, allowed_pattern, policies, last_modified_ms, "
                 "last_modified_user, sealed_value) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, parameter_id)
        .Bind(2, v.version)
        .Bind(3, ParameterTypeName(v.type))
        .Bind(4, ParameterTierName(v.tier));
    q.Bind(5, v.data_type).Bind(6, v.key_id).Bind(7, v.description).Bind(8, v.allowed_pattern);
    q.Bind(9, v.policies).Bind(10, v.last_modified_ms).Bind(11, v.last_modified_user);
    q.BindBlob(12, v.sealed_value);
    return q.Run();
  }

  Status DeleteVersion(int64_t parameter_id, int64_t version) override {
    {
      COFFER_QUERY(q, c_, "DELETE FROM parameter_labels WHERE parameter_id = ? AND version = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, parameter_id).Bind(2, version).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM parameter_versions WHERE parameter_id = ? AND version = ?");
    return q.Bind(1, parameter_id).Bind(2, version).Run();
  }

  Status SetLabel(int64_t parameter_id, const std::string& label, int64_t version) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO parameter_labels (parameter_id, label, version) VALUES (?, ?, ?) "
                 "ON CONFLICT (parameter_id, label) DO UPDATE SET version = excluded.version");
    return q.Bind(1, parameter_id).Bind(2, label).Bind(3, version).Run();
  }

  Status RemoveLabel(int64_t parameter_id, const std::string& label) override {
    COFFER_QUERY(q, c_, "DELETE FROM parameter_labels WHERE parameter_id = ? AND label = ?");
    return q.Bind(1, parameter_id).Bind(2, label).Run();
  }

  Status SetTags(int64_t parameter_id, const Tags& tags) override {
    return WriteTagRows(c_, kParameterTags, parameter_id, tags);
  }

  Status MarkNotificationSent(int64_t parameter_id, int64_t version,
                              const std::string& policy_type) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO parameter_notifications (parameter_id, version, "
                 "policy_type) VALUES (?, ?, ?) ON CONFLICT DO NOTHING");
    return q.Bind(1, parameter_id).Bind(2, version).Bind(3, policy_type).Run();
  }

 private:
  static ParameterRow ReadParameterRow(const Query& q) {
    ParameterRow r;
    r.id = q.Int(0);
    r.account = q.Text(1);
    r.region = q.Text(2);
    r.name = q.Text(3);
    r.name_key = q.Text(4);
    r.parent = q.Text(5);
    r.type = q.Named(6, kParameterTypeNames);
    r.tier = q.Named(7, kParameterTierNames);
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
    v.type = q.Named(1, kParameterTypeNames);
    v.tier = q.Named(2, kParameterTierNames);
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
    q.Bind(first, ParameterTypeName(r.type))
        .Bind(first + 1, ParameterTierName(r.tier))
        .Bind(first + 2, r.data_type);
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

  Connection& c_;
};

}  // namespace

std::unique_ptr<ParametersWriter> NewParametersView(Connection& conn) {
  return std::make_unique<SqliteParameters>(conn);
}

}  // namespace coffer::sql
