// SQLite tables of access keys and STS sessions.
#include "store/credentials.h"

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

#define ACCESS_KEY_SELECT(where)                                                                \
  "SELECT access_key_id, wrapped_secret, account, principal_arn, user_id, created_ms, status, " \
  "user_name FROM access_keys " where

#define STS_SESSION_SELECT(where)                                                       \
  "SELECT access_key_id, wrapped_secret, token_hash, account, principal_arn, user_id, " \
  "principal_type, role_arn, user_name, session_policy, session_policy_arns, "          \
  "has_session_policies, chain_depth, created_ms, expires_ms FROM sts_sessions " where

constexpr TagTableSql kStsSessionTags = {
    "SELECT key, value FROM sts_session_tags WHERE access_key_id = ? ORDER BY position",
    "DELETE FROM sts_session_tags WHERE access_key_id = ?",
    "INSERT INTO sts_session_tags (access_key_id, position, key, value) VALUES (?, ?, ?, ?)"};

class SqliteCredentials final : public CredentialsWriter {
 public:
  explicit SqliteCredentials(Connection& conn) : c_(conn) {}

  Result<std::optional<AccessKeyRow>> FindAccessKey(const std::string& access_key_id) override {
    COFFER_QUERY(q, c_, ACCESS_KEY_SELECT("WHERE access_key_id = ?"));
    q.Bind(1, access_key_id);
    if (q.Step()) {
      AccessKeyRow row = ReadAccessKey(q);
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<AccessKeyRow>(std::move(row));
    }
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

  Result<std::optional<StsSessionRow>> FindSession(const std::string& access_key_id) override {
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
      r.principal_type = q.Named(6, kSessionPrincipalNames);
      r.role_arn = q.Text(7);
      r.user_name = q.Text(8);
      r.session_policy = q.Text(9);
      r.session_policy_arns = q.Text(10);
      r.has_session_policies = q.Int(11) != 0;
      r.chain_depth = static_cast<int>(q.Int(12));
      r.created_ms = q.Int(13);
      r.expires_ms = q.Int(14);
      COFFER_RETURN_IF_ERROR(q.status());
      out = std::move(r);
    }
    COFFER_ASSIGN_OR_RETURN(out->session_tags, ReadTagRows(c_, kStsSessionTags, access_key_id));
    return out;
  }

  Status InsertAccessKey(const AccessKeyRow& row) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO access_keys (access_key_id, wrapped_secret, account, principal_arn, "
                 "user_id, created_ms, status, user_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    q.Bind(1, row.access_key_id).BindBlob(2, row.wrapped_secret).Bind(3, row.account);
    q.Bind(4, row.principal_arn).Bind(5, row.user_id).Bind(6, row.created_ms);
    q.Bind(7, AccessKeyStatusName(row.status)).Bind(8, row.user_name);
    return q.Run();
  }

  Status UpdateAccessKeyStatus(const std::string& access_key_id, AccessKeyStatus status) override {
    COFFER_QUERY(q, c_, "UPDATE access_keys SET status = ? WHERE access_key_id = ?");
    return q.Bind(1, AccessKeyStatusName(status)).Bind(2, access_key_id).Run();
  }

  Status DeleteAccessKey(const std::string& access_key_id) override {
    COFFER_QUERY(q, c_, "DELETE FROM access_keys WHERE access_key_id = ?");
    return q.Bind(1, access_key_id).Run();
  }

  Status InsertSession(const StsSessionRow& r) override {
    {
      COFFER_QUERY(q, c_,
                   "INSERT INTO sts_sessions (access_key_id, wrapped_secret, token_hash, account, "
                   "principal_arn, user_id, principal_type, role_arn, user_name, session_policy, "
                   "session_policy_arns, has_session_policies, chain_depth, created_ms, "
                   "expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      q.Bind(1, r.access_key_id).BindBlob(2, r.wrapped_secret).Bind(3, r.token_hash);
      q.Bind(4, r.account)
          .Bind(5, r.principal_arn)
          .Bind(6, r.user_id)
          .Bind(7, SessionPrincipalName(r.principal_type));
      q.Bind(8, r.role_arn).Bind(9, r.user_name).Bind(10, r.session_policy);
      q.Bind(11, r.session_policy_arns).Bind(12, static_cast<int64_t>(r.has_session_policies));
      q.Bind(13, static_cast<int64_t>(r.chain_depth)).Bind(14, r.created_ms);
      q.Bind(15, r.expires_ms);
      COFFER_RETURN_IF_ERROR(q.Run());
    }
    return WriteTagRows(c_, kStsSessionTags, r.access_key_id, r.session_tags);
  }

  Status DeleteExpiredSessions(EpochMillis now) override {
    {
      COFFER_QUERY(q, c_,
                   "DELETE FROM sts_session_tags WHERE access_key_id IN (SELECT access_key_id "
                   "FROM sts_sessions WHERE expires_ms <= ?)");
      COFFER_RETURN_IF_ERROR(q.Bind(1, now).Run());
    }
    COFFER_QUERY(q, c_, "DELETE FROM sts_sessions WHERE expires_ms <= ?");
    return q.Bind(1, now).Run();
  }

 private:
  static AccessKeyRow ReadAccessKey(const Query& q) {
    AccessKeyRow r;
    r.access_key_id = q.Text(0);
    r.wrapped_secret = q.Blob(1);
    r.account = q.Text(2);
    r.principal_arn = q.Text(3);
    r.user_id = q.Text(4);
    r.created_ms = q.Int(5);
    r.status = q.Named(6, kAccessKeyStatusNames);
    r.user_name = q.Text(7);
    return r;
  }

  Connection& c_;
};

}  // namespace

std::unique_ptr<CredentialsWriter> NewCredentialsView(Connection& conn) {
  return std::make_unique<SqliteCredentials>(conn);
}

}  // namespace coffer::sql
