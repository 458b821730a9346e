// Data-directory bootstrap: what `coffer server` and `coffer operator init` do before anything
// else.
//
// Initialising a data directory (explicitly with `coffer operator init`, or implicitly when
// `coffer server` finds it empty, with the file seal) creates in ONE store transaction: the
// account id, the seal (see keyring/seal_manager.h), the root and storage keys under a fresh
// unseal key, and the account's root access key — from COFFER_ROOT_ACCESS_KEY_ID /
// COFFER_ROOT_SECRET_ACCESS_KEY when set, otherwise generated. With the file seal the unseal key
// goes to DATA_DIR/root.key (0600) and a generated access key to DATA_DIR/root-credentials
// (0600, AWS shared-credentials format, profile "coffer"); with the passphrase and Shamir seals
// nothing secret is written outside the store and the caller prints the shares and the
// generated key once. Later opens reuse everything and unseal what can be unsealed without an
// operator (the file seal; the passphrase seal when a passphrase is given).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/secret_bytes.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "keyring/seal_manager.h"
#include "server/data_dir.h"
#include "store/store.h"

namespace coffer {

struct BootstrapOptions {
  std::string data_dir;
  // --store / COFFER_STORE: a PostgreSQL URL; empty: SQLite in DATA_DIR/coffer.db. With
  // PostgreSQL the data directory still holds the lock, the audit trail and, with the file
  // seal, root.key.
  std::string store_url;
  std::optional<std::string> account_id;   // --account-id
  std::optional<std::string> root_key_id;  // COFFER_ROOT_ACCESS_KEY_ID
  std::optional<SecretBytes> root_secret;  // COFFER_ROOT_SECRET_ACCESS_KEY
  SealInit seal;                           // for a directory initialised now
  bool must_be_new = false;                // `operator init`: refuse an initialised directory
  std::optional<SecretBytes> passphrase;   // unseals a passphrase seal at open
  // --check-store: a full integrity check of the database before anything is served.
  bool check_store = false;
  // --accept-damaged-wal: open a store whose write-ahead log lost acknowledged transactions
  // (a copy of the log is kept beside it); without it, such a store is refused.
  bool accept_damaged_wal = false;
};

struct Deployment {
  DataDirLock lock;  // first member: released after everything else is closed
  std::unique_ptr<Store> store;
  std::unique_ptr<Keyring> keyring;
  std::unique_ptr<SealManager> seal;
  std::unique_ptr<UnsealKeyFile> key_file;  // DATA_DIR/root.key, for rekeys to the file seal
  std::string account_id;
  bool initialized_now = false;
  std::vector<std::string> shares;  // Shamir seal initialised now: to print once
  std::string credentials_file;     // non-empty when a generated root key was written there
  // What the write-ahead log check found and accepted (a crash's unacknowledged last write, or
  // damage accepted with --accept-damaged-wal): to be reported at start, never silently.
  std::string damage_report;
  // A root access key generated now and not written to a file (passphrase and Shamir seals).
  std::string generated_key_id;
  SecretBytes generated_secret;
};

// The file seal's unseal key, DIR/NAME ("coffer-root-key-v1 <64 hex digits>\n", mode 0600):
// read (nullopt when there is none; an error when it is readable by others or not a key file),
// and written durably as a new file, replacing one that is there.
Result<std::optional<SecretBytes>> ReadRootKeyFile(const std::string& dir,
                                                   const char* name = "root.key");
Status WriteRootKeyFile(const std::string& dir, const SecretBytes& key,
                        const char* name = "root.key");

// DIR/aws-config, written beside a generated root-credentials on first start: profile
// "coffer" with the region and coffer's endpoint, which AWS CLI and SDK versions that read
// `endpoint_url` from a profile use with no flag, e.g. AWS_CONFIG_FILE=DIR/aws-config
// AWS_SHARED_CREDENTIALS_FILE=DIR/root-credentials AWS_PROFILE=coffer aws secretsmanager
// list-secrets. A host of 0.0.0.0 or :: is written as the loopback address. Replaces a file
// that is there; returns its path.
// https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
Result<std::string> WriteAwsConfigFile(const std::string& dir, const std::string& endpoint);
inline constexpr char kAwsConfigFile[] = "aws-config";
inline constexpr char kAwsConfigRegion[] = "us-east-1";

// Key material is never replaced implicitly: only an empty directory is initialised. A
// directory with a root.key but no store (or a store never initialised), a store whose
// root.key is missing or does not open it, or a write-ahead log without its store, is refused
// with what is missing and how to recover.
//
// Errors: InvalidParameter for bad options, a data dir that belongs to another account or (with
// must_be_new) one already initialised; FailedPrecondition for a directory in use by another
// process, missing or mismatched key material, or damage; InvalidUnsealKeyException for a wrong
// passphrase; InternalFailure for I/O problems.
Result<Deployment> OpenDeployment(const BootstrapOptions& options, const Clock* clock);

}  // namespace coffer
