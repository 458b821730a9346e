// Tables of rotation functions and runs.
#include "store/rotation.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sql/driver.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

#define RUN_SELECT(where)                                                         \
  "SELECT secret_id, secret_arn, account, region, token, mode, step, attempts, "  \
  "next_attempt_ms, lease_holder, lease_expires_ms, started_ms, last_error FROM " \
  "rotation_runs " where

class SqliteRotation final : public RotationWriter {
 public:
  explicit SqliteRotation(Connection& conn) : c_(conn) {}

  Result<std::optional<RotationFunctionRow>> FindFunction(const std::string& account,
                                                          const std::string& region,
                                                          const std::string& name) override {
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
    r.kind = q.Named(0, kRotationFunctionKindNames);
    r.config = q.Text(1);
    r.role_arn = q.Text(2);
    r.timeout_seconds = q.Int(3);
    r.wrapped_signing_key = q.Blob(4);
    r.created_ms = q.Int(5);
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<RotationFunctionRow>(std::move(r));
  }

  Result<std::optional<RotationRunRow>> FindRun(int64_t secret_id) override {
    COFFER_QUERY(q, c_, RUN_SELECT("WHERE secret_id = ?"));
    q.Bind(1, secret_id);
    if (q.Step()) {
      RotationRunRow run = ReadRun(q);
      COFFER_RETURN_IF_ERROR(q.status());
      return std::optional<RotationRunRow>(std::move(run));
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<RotationRunRow>();
  }

  Result<std::vector<RotationRunRow>> ListDueRuns(EpochMillis now, EpochMillis silent_since_ms,
                                                  int limit) override {
    COFFER_QUERY(q, c_,
                 RUN_SELECT("WHERE next_attempt_ms <= ? AND (lease_expires_ms <= ? OR "
                            "lease_holder IN (SELECT node_id FROM cluster_nodes WHERE "
                            "heartbeat_ms < ? OR sealed <> 0)) ORDER BY next_attempt_ms LIMIT ?"));
    q.Bind(1, now).Bind(2, now).Bind(3, silent_since_ms).Bind(4, static_cast<int64_t>(limit));
    std::vector<RotationRunRow> out;
    while (q.Step()) out.push_back(ReadRun(q));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status PutFunction(const RotationFunctionRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO rotation_functions (account, region, name, kind, config, "
                 "role_arn, timeout_seconds, wrapped_signing_key, created_ms) VALUES (?, ?, ?, ?, "
                 "?, ?, ?, ?, ?) ON CONFLICT (account, region, name) DO UPDATE SET "
                 "kind = excluded.kind, config = excluded.config, role_arn = excluded.role_arn, "
                 "timeout_seconds = excluded.timeout_seconds, "
                 "wrapped_signing_key = excluded.wrapped_signing_key, "
                 "created_ms = excluded.created_ms");
    q.Bind(1, r.account)
        .Bind(2, r.region)
        .Bind(3, r.name)
        .Bind(4, RotationFunctionKindName(r.kind))
        .Bind(5, r.config);
    q.Bind(6, r.role_arn).Bind(7, r.timeout_seconds).BindBlob(8, r.wrapped_signing_key);
    return q.Bind(9, r.created_ms).Run();
  }

  Status DeleteFunction(const std::string& account, const std::string& region,
                        const std::string& name) override {
    COFFER_QUERY(q, c_,
                 "DELETE FROM rotation_functions WHERE account = ? AND region = ? AND name = ?");
    return q.Bind(1, account).Bind(2, region).Bind(3, name).Run();
  }

  Status PutRun(const RotationRunRow& r) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO rotation_runs (secret_id, secret_arn, account, region, "
                 "token, mode, step, attempts, next_attempt_ms, lease_holder, lease_expires_ms, "
                 "started_ms, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                 "ON CONFLICT (secret_id) DO UPDATE SET secret_arn = excluded.secret_arn, "
                 "account = excluded.account, region = excluded.region, token = excluded.token, "
                 "mode = excluded.mode, step = excluded.step, attempts = excluded.attempts, "
                 "next_attempt_ms = excluded.next_attempt_ms, "
                 "lease_holder = excluded.lease_holder, "
                 "lease_expires_ms = excluded.lease_expires_ms, started_ms = excluded.started_ms, "
                 "last_error = excluded.last_error");
    q.Bind(1, r.secret_id).Bind(2, r.secret_arn).Bind(3, r.account).Bind(4, r.region);
    q.Bind(5, r.token).Bind(6, RotationRunModeName(r.mode)).Bind(7, r.step).Bind(8, r.attempts);
    q.Bind(9, r.next_attempt_ms).Bind(10, r.lease_holder).Bind(11, r.lease_expires_ms);
    return q.Bind(12, r.started_ms).Bind(13, r.last_error).Run();
  }

  Status DeleteRun(int64_t secret_id) override {
    COFFER_QUERY(q, c_, "DELETE FROM rotation_runs WHERE secret_id = ?");
    return q.Bind(1, secret_id).Run();
  }

 private:
  static RotationRunRow ReadRun(const Query& q) {
    RotationRunRow r;
    r.secret_id = q.Int(0);
    r.secret_arn = q.Text(1);
    r.account = q.Text(2);
    r.region = q.Text(3);
    r.token = q.Text(4);
    r.mode = q.Named(5, kRotationRunModeNames);
    r.step = q.Text(6);
    r.attempts = q.Int(7);
    r.next_attempt_ms = q.Int(8);
    r.lease_holder = q.Text(9);
    r.lease_expires_ms = q.Int(10);
    r.started_ms = q.Int(11);
    r.last_error = q.Text(12);
    return r;
  }

  Connection& c_;
};

}  // namespace

std::unique_ptr<RotationWriter> NewRotationView(Connection& conn) {
  return std::make_unique<SqliteRotation>(conn);
}

}  // namespace coffer::sql
