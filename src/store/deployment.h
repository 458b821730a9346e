// The deployment's own tables: its accounts and its settings (the `meta` key/value table: the
// deployment's id, the sealed storage key, schema facts).
//
// Error contract (every view): a missing row is an empty optional or list, never an error;
// updating or deleting a missing row is OK and changes nothing; a duplicate insert is a caller's
// bug (services look a row up in the same write first) and returns InternalFailure; a disk that
// cannot write returns ServiceUnavailable; a database another process keeps locked is waited on
// (up to 10 s) and then InternalFailure.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

// What the deployment holds, across its accounts and regions (GET /metrics).
struct Inventory {
  int64_t secrets = 0;  // not scheduled for deletion
  int64_t secrets_pending_deletion = 0;
  int64_t parameters_standard = 0;
  int64_t parameters_advanced = 0;
  int64_t kms_keys_customer = 0;
  int64_t kms_keys_aws = 0;  // the aws/<service> keys
};

class DeploymentReader {
 public:
  virtual ~DeploymentReader() = default;
  virtual Result<Inventory> CountInventory() = 0;
  virtual Result<std::optional<std::string>> GetMeta(const std::string& key) = 0;
  virtual Result<std::vector<std::string>> ListAccounts() = 0;
};

class DeploymentWriter : public DeploymentReader {
 public:
  // Sets the key, replacing any value it had.
  virtual Status PutMeta(const std::string& key, const std::string& value) = 0;
  // An account that exists already is left as it is.
  virtual Status InsertAccount(const std::string& account, EpochMillis created_ms) = 0;
};

}  // namespace coffer
