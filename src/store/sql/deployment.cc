// SQLite tables of the deployment's accounts and settings (meta).
#include "store/deployment.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "store/sql/driver.h"
#include "store/sql/views.h"

namespace coffer::sql {
namespace {

class SqliteDeployment final : public DeploymentWriter {
 public:
  explicit SqliteDeployment(Connection& conn) : c_(conn) {}

  Result<std::optional<std::string>> GetMeta(const std::string& key) override {
    COFFER_QUERY(q, c_, "SELECT value FROM meta WHERE key = ?");
    q.Bind(1, key);
    if (q.Step()) return std::optional<std::string>(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return std::optional<std::string>();
  }

  Result<Inventory> CountInventory() override {
    COFFER_QUERY(q, c_,
                 "SELECT (SELECT COUNT(*) FROM secrets WHERE deleted_ms IS NULL), "
                 "(SELECT COUNT(*) FROM secrets WHERE deleted_ms IS NOT NULL), "
                 "(SELECT COUNT(*) FROM parameters WHERE tier = 'Standard'), "
                 "(SELECT COUNT(*) FROM parameters WHERE tier = 'Advanced'), "
                 "(SELECT COUNT(*) FROM kms_keys WHERE manager = 'CUSTOMER'), "
                 "(SELECT COUNT(*) FROM kms_keys WHERE manager = 'AWS')");
    Inventory out;
    if (q.Step()) {
      out = {q.Int(0), q.Int(1), q.Int(2), q.Int(3), q.Int(4), q.Int(5)};
    }
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status PutMeta(const std::string& key, const std::string& value) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO meta (key, value) VALUES (?, ?) "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    return q.Bind(1, key).Bind(2, value).Run();
  }

  Result<std::vector<std::string>> ListAccounts() override {
    COFFER_QUERY(q, c_, "SELECT account FROM accounts ORDER BY account");
    std::vector<std::string> out;
    while (q.Step()) out.push_back(q.Text(0));
    COFFER_RETURN_IF_ERROR(q.status());
    return out;
  }

  Status InsertAccount(const std::string& account, EpochMillis created_ms) override {
    COFFER_QUERY(q, c_,
                 "INSERT INTO accounts (account, created_ms) VALUES (?, ?) "
                 "ON CONFLICT DO NOTHING");
    return q.Bind(1, account).Bind(2, created_ms).Run();
  }

 private:
  Connection& c_;
};

}  // namespace

std::unique_ptr<DeploymentWriter> NewDeploymentView(Connection& conn) {
  return std::make_unique<SqliteDeployment>(conn);
}

}  // namespace coffer::sql
