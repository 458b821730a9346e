// SQLite tables of IAM users, roles, groups, policies and attachments.
#include "store/iam.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/ascii.h"
#include "store/sql/driver.h"
#include "store/sql/tag_rows.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

#define IAM_ENTITY_SELECT(where)                                                                \
  "SELECT kind, account, name, id, arn, path, description, trust_policy, max_session_seconds, " \
  "created_ms FROM iam_entities " where

#define IAM_POLICY_SELECT(where)                                                      \
  "SELECT arn, account, name, id, path, description, default_version, next_version, " \
  "created_ms, updated_ms FROM iam_managed_policies " where

constexpr TagTableSql kIamEntityTags = {
    "SELECT key, value FROM iam_entity_tags WHERE arn = ? ORDER BY position",
    "DELETE FROM iam_entity_tags WHERE arn = ?",
    "INSERT INTO iam_entity_tags (arn, position, key, value) VALUES (?, ?, ?, ?)"};

// IAM names are unique case-insensitively; rows are keyed by the folded name.
std::string NameKey(std::string_view name) { return AsciiLower(name); }

class SqliteIam final : public IamWriter {
 public:
  explicit SqliteIam(Connection& conn) : c_(conn) {}

  Result<std::optional<IamEntityRow>> FindEntity(const std::string& account, IamEntityKind kind,
                                                 const std::string& name) override {
    std::optional<IamEntityRow> out;
    {
      COFFER_QUERY(q, c_, IAM_ENTITY_SELECT("WHERE account = ? AND kind = ? AND name_key = ?"));
      q.Bind(1, account).Bind(2, IamEntityKindName(kind)).Bind(3, NameKey(name));
      if (!q.Step()) {
        COFFER_RETURN_IF_ERROR(q.status());
        return out;
      }
      out = ReadIamEntity(q);
      COFFER_RETURN_IF_ERROR(q.status());
    }
    COFFER_ASSIGN_OR_RETURN(out->tags, ReadTagRows(c_, kIamEntityTags, out->arn));
    return out;
  }

  Result<std::vector<IamEntityRow>> ListEntities(const std::string& account, IamEntityKind kind,
                                                 const std::string& path_prefix,
                                                 const std::string& after, int limit) override {
    std::vector<IamEntityRow> out;
    {
      COFFER_QUERY(q, c_,
                   IAM_ENTITY_SELECT(
                       "WHERE account = ? AND kind = ? AND name_key > ? AND "
                       "substr(path, 1, length(CAST(? AS TEXT))) = ? ORDER BY name_key LIMIT ?"));
      q.Bind(1, account)
          .Bind(2, IamEntityKindName(kind))
          .Bind(3, NameKey(after))
          .Bind(4, path_prefix);
      q.Bind(5, path_prefix).Bind(6, static_cast<int64_t>(limit));
      while (q.Step()) out.push_back(ReadIamEntity(q));
      COFFER_RETURN_IF_ERROR(q.status());
    }
    for (auto& row : out) {
      COFFER_ASSIGN_OR_RETURN(row.tags, ReadTagRows(c_, kIamEntityTags, row.arn));
    }
    return out;
  }

  Result<std::optional<std::string>> GetInlinePolicy(const std::string& account, IamEntityKind kind,
                                                     const std::string& owner,
                                                     const std::string& policy_name) override {
    COFFER_QUERY(q, c_,
                 "SELECT document FROM iam_inline_policies WHERE account = ? AND kind = ? AND "
                 "owner_key = ? AND name = ?");
    q.Bind(1, account)
        .Bind(2, IamEntityKindName(kind))
        .Bind(3, NameKey(owner))
        .Bind(4, policy_name);
    if (q.Step()) return std::optional<std::string>(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }

  Result<std::vector<std::pair<std::string, std::string>>> ListInlinePolicies(
      const std::string& account, IamEntityKind kind, const std::string& owner) override {
    COFFER_QUERY(q, c_,
                 "SELECT name, document FROM iam_inline_policies WHERE account = ? AND kind = ? "
                 "AND owner_key = ? ORDER BY name");
    q.Bind(1, account).Bind(2, IamEntityKindName(kind)).Bind(3, NameKey(owner));
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
                                   "length(CAST(? AS TEXT))) = ? ORDER BY name LIMIT ?"));
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
                                                        IamEntityKind kind,
                                                        const std::string& owner) override {
    COFFER_QUERY(q, c_,
                 "SELECT policy_arn FROM iam_attachments WHERE account = ? AND kind = ? AND "
                 "owner_key = ? ORDER BY policy_arn");
    q.Bind(1, account).Bind(2, IamEntityKindName(kind)).Bind(3, NameKey(owner));
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

  Status InsertEntity(const IamEntityRow& r) override {
    {
      COFFER_QUERY(q, c_,
                   "INSERT INTO iam_entities (account, kind, name_key, name, id, arn, path, "
                   "description, trust_policy, max_session_seconds, created_ms) VALUES (?, ?, ?, "
                   "?, ?, ?, ?, ?, ?, ?, ?)");
      q.Bind(1, r.account)
          .Bind(2, IamEntityKindName(r.kind))
          .Bind(3, NameKey(r.name))
          .Bind(4, r.name);
      q.Bind(5, r.id).Bind(6, r.arn).Bind(7, r.path).Bind(8, r.description);
      q.Bind(9, r.trust_policy).Bind(10, r.max_session_seconds).Bind(11, r.created_ms);
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    return WriteTagRows(c_, kIamEntityTags, r.arn, r.tags);
  }

  Status UpdateEntity(const IamEntityRow& r) override {
    {
      COFFER_QUERY(q, c_,
                   "UPDATE iam_entities SET description = ?, trust_policy = ?, "
                   "max_session_seconds = ? WHERE arn = ?");
      q.Bind(1, r.description).Bind(2, r.trust_policy).Bind(3, r.max_session_seconds);
      COFFER_RETURN_IF_ERROR(q.Bind(4, r.arn).Run());
    }
    return WriteTagRows(c_, kIamEntityTags, r.arn, r.tags);
  }

  Status DeleteEntity(const std::string& account, IamEntityKind kind,
                      const std::string& name) override {
    const std::string key = NameKey(name);
    COFFER_ASSIGN_OR_RETURN(auto row, FindEntity(account, kind, name));
    if (!row) return Status::Ok();
    COFFER_RETURN_IF_ERROR(WriteTagRows(c_, kIamEntityTags, row->arn, Tags{}));
    {
      COFFER_QUERY(q, c_,
                   "DELETE FROM iam_inline_policies WHERE account = ? AND kind = ? AND "
                   "owner_key = ?");
      COFFER_RETURN_IF_ERROR(
          q.Bind(1, account).Bind(2, IamEntityKindName(kind)).Bind(3, key).Run());
    }
    {
      COFFER_QUERY(q, c_,
                   "DELETE FROM iam_attachments WHERE account = ? AND kind = ? AND owner_key = ?");
      COFFER_RETURN_IF_ERROR(
          q.Bind(1, account).Bind(2, IamEntityKindName(kind)).Bind(3, key).Run());
    }
    if (kind == IamEntityKind::kUser) {
      COFFER_QUERY(q, c_, "DELETE FROM iam_group_members WHERE account = ? AND user_key = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, key).Run());
    } else if (kind == IamEntityKind::kGroup) {
      COFFER_QUERY(q, c_, "DELETE FROM iam_group_members WHERE account = ? AND group_key = ?");
      COFFER_RETURN_IF_ERROR(q.Bind(1, account).Bind(2, key).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM iam_entities WHERE account = ? AND kind = ? AND name_key = ?");
    return q.Bind(1, account).Bind(2, IamEntityKindName(kind)).Bind(3, key).Run();
  }

  Status PutInlinePolicy(const std::string& account, IamEntityKind kind, const std::string& owner,
                         const std::string& policy_name, const std::string& document) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO iam_inline_policies (account, kind, owner_key, name, document) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, kind, owner_key, name) "
                 "DO UPDATE SET document = excluded.document");
    q.Bind(1, account)
        .Bind(2, IamEntityKindName(kind))
        .Bind(3, NameKey(owner))
        .Bind(4, policy_name);
    return q.Bind(5, document).Run();
  }

  Status DeleteInlinePolicy(const std::string& account, IamEntityKind kind,
                            const std::string& owner, const std::string& policy_name) override {
    COFFER_QUERY(q, c_,
                 "DELETE FROM iam_inline_policies WHERE account = ? AND kind = ? AND owner_key = ? "
                 "AND name = ?");
    return q.Bind(1, account)
        .Bind(2, IamEntityKindName(kind))
        .Bind(3, NameKey(owner))
        .Bind(4, policy_name)
        .Run();
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

  Status AttachPolicy(const std::string& account, IamEntityKind kind, const std::string& owner,
                      const std::string& policy_arn) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO iam_attachments (account, kind, owner_key, policy_arn) "
                 "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
    return q.Bind(1, account)
        .Bind(2, IamEntityKindName(kind))
        .Bind(3, NameKey(owner))
        .Bind(4, policy_arn)
        .Run();
  }

  Status DetachPolicy(const std::string& account, IamEntityKind kind, const std::string& owner,
                      const std::string& policy_arn) override {
    COFFER_QUERY(q, c_,
                 "DELETE FROM iam_attachments WHERE account = ? AND kind = ? AND owner_key = ? "
                 "AND policy_arn = ?");
    return q.Bind(1, account)
        .Bind(2, IamEntityKindName(kind))
        .Bind(3, NameKey(owner))
        .Bind(4, policy_arn)
        .Run();
  }

  Status AddUserToGroup(const std::string& account, const std::string& group,
                        const std::string& user) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO iam_group_members (account, group_key, user_key, "
                 "group_name, user_name) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
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

 private:
  static IamEntityRow ReadIamEntity(const Query& q) {
    IamEntityRow r;
    r.kind = q.Named(0, kIamEntityKindNames);
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

}  // namespace

std::unique_ptr<IamWriter> NewIamView(Connection& conn) {
  return std::make_unique<SqliteIam>(conn);
}

}  // namespace coffer::sql
