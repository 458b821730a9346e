// Data-directory bootstrap: what `coffer server` does before it listens.
//
// First start on an empty directory creates, in this order: the root key (DATA_DIR/root.key,
// 0600), the store (DATA_DIR/coffer.db), the account id, and the account's root access key —
// from COFFER_ROOT_ACCESS_KEY_ID / COFFER_ROOT_SECRET_ACCESS_KEY when set, otherwise generated
// and written to DATA_DIR/root-credentials (0600, AWS shared-credentials format, profile
// "coffer"). Later starts reuse all of them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/secret_bytes.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer {

struct BootstrapOptions {
  std::string data_dir;
  std::optional<std::string> account_id;   // --account-id
  std::optional<std::string> root_key_id;  // COFFER_ROOT_ACCESS_KEY_ID
  std::optional<SecretBytes> root_secret;  // COFFER_ROOT_SECRET_ACCESS_KEY
};

struct Deployment {
  std::unique_ptr<Store> store;
  std::unique_ptr<Keyring> keyring;
  std::string account_id;
  std::string credentials_file;  // non-empty when a generated root key was written there
};

// Errors: InvalidParameter for bad options or a data dir that belongs to another account;
// InternalFailure for I/O problems.
Result<Deployment> OpenDeployment(const BootstrapOptions& options, const Clock* clock);

// Same rules as AWS's 12-digit account ids.
bool IsValidAccountId(const std::string& id);

}  // namespace coffer
