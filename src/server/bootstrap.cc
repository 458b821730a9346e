#include "server/bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>
#include <utility>

#include "auth/credential_registry.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace coffer {
namespace {

constexpr char kRootKeyFile[] = "root.key";
constexpr char kStagedRootKeyFile[] = "root.key.next";  // a rekey's new key, before it commits
constexpr char kRootKeyHeader[] = "coffer-root-key-v1 ";

Status IoError(const std::string& what) {
  return Status(ErrorCode::kInternalFailure, what + ": " + std::strerror(errno));
}

void SyncDirectory(const std::string& dir) {
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

// Writes a new file with mode 0600; fails if it already exists. fsyncs file and directory so a
// crash right after start cannot lose the key that protects the data.
Status WritePrivateFile(const std::string& dir, const std::string& name, std::string_view data) {
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create " + path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return IoError("cannot write " + path);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return IoError("cannot sync " + path);
  }
  ::close(fd);
  SyncDirectory(dir);
  return Status::Ok();
}

}  // namespace

// The file seal's unseal key: DATA_DIR/root.key, "coffer-root-key-v1 <64 hex digits>\n".
Result<std::optional<SecretBytes>> ReadRootKeyFile(const std::string& dir, const char* name) {
  std::string path = dir + "/" + name;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError("cannot stat " + path);
    return std::optional<SecretBytes>();
  }
  if ((st.st_mode & 077) != 0) {
    return Status(ErrorCode::kInvalidParameter,
                  path + " must not be readable by group or others (chmod 600)");
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string hex;
  if (text.rfind(kRootKeyHeader, 0) == 0) hex = text.substr(std::strlen(kRootKeyHeader), 64);
  OPENSSL_cleanse(text.data(), text.size());
  if (hex.size() != 64)
    return Status(ErrorCode::kInternalFailure, path + " is not a coffer root key file");
  SecretBytes key(crypto::kAesKeyBytes);
  for (size_t i = 0; i < 32; ++i) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return Status(ErrorCode::kInternalFailure, path + " is not a coffer root key file");
    key.data()[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  OPENSSL_cleanse(hex.data(), hex.size());
  return std::optional<SecretBytes>(std::move(key));
}

Status WriteRootKeyFile(const std::string& dir, const SecretBytes& key, const char* name) {
  // A root.key beside a store that was never initialised protects nothing (a crash between
  // writing it and committing); it is replaced.
  ::unlink((dir + "/" + name).c_str());
  std::string text = kRootKeyHeader + crypto::HexLower(key.data(), key.size()) + "\n";
  Status s = WritePrivateFile(dir, name, text);
  OPENSSL_cleanse(text.data(), text.size());
  return s;
}

namespace {

// DATA_DIR/root.key for rekeys: the new key is staged as root.key.next, then renamed over
// root.key once the store has committed to it.
class RootKeyFile final : public UnsealKeyFile {
 public:
  explicit RootKeyFile(std::string dir) : dir_(std::move(dir)) {}
  Status Stage(const SecretBytes& key) override {
    return WriteRootKeyFile(dir_, key, kStagedRootKeyFile);
  }
  Status Install() override {
    if (::rename((dir_ + "/" + kStagedRootKeyFile).c_str(), (dir_ + "/" + kRootKeyFile).c_str()) !=
        0) {
      return IoError("cannot put the new root key in force (" + dir_ + "/" + kStagedRootKeyFile +
                     ")");
    }
    SyncDirectory(dir_);
    return Status::Ok();
  }
  void Discard() override { ::unlink((dir_ + "/" + kStagedRootKeyFile).c_str()); }
  Status Remove() override {
    if (::unlink((dir_ + "/" + kRootKeyFile).c_str()) != 0 && errno != ENOENT) {
      return IoError("cannot remove " + dir_ + "/" + kRootKeyFile);
    }
    SyncDirectory(dir_);
    return Status::Ok();
  }

 private:
  std::string dir_;
};

// Refuses a directory coffer must not initialise: one that held a store whose file is gone (its
// key material is kept, never replaced), and one that holds files that are not coffer's.
Status RefuseToInitialise(const std::string& dir, const DataDirContents& contents) {
  if (contents.restore_incomplete) {
    return Status(ErrorCode::kFailedPrecondition,
                  dir + " holds a restore that did not finish (" + dir + "/" + kRestoreMarkerFile +
                      "): what it holds may be incomplete, so coffer will not start on it. Empty "
                      "the directory and run `coffer backup restore` again.");
  }
  if (!contents.store && (contents.root_key || contents.wal)) {
    return Status(ErrorCode::kFailedPrecondition,
                  dir + "/coffer.db is missing or empty, but " +
                      (contents.root_key ? dir + "/root.key" : dir + "/coffer.db-wal") +
                      " is there: this directory held a store, and coffer will not start a new "
                      "one over its key material. Restore coffer.db from a backup of the data "
                      "directory; to start afresh instead, move the directory away and start "
                      "on an empty one (or `coffer operator init`).");
  }
  // Only an empty directory is initialised: files that are not coffer's mean it was meant for
  // something else.
  if (!contents.store && !contents.foreign.empty()) {
    return Status(ErrorCode::kFailedPrecondition,
                  dir + " is not empty (it holds " + contents.foreign.front() +
                      (contents.foreign.size() > 1
                           ? " and " + std::to_string(contents.foreign.size() - 1) + " more"
                           : std::string()) +
                      ") and has no coffer store: coffer initialises only an empty directory. "
                      "Choose a new one for --data-dir.");
  }
  return Status::Ok();
}

// A data directory serves one store: a SQLite store's files beside a PostgreSQL store would
// leave it unclear which holds the deployment.
Status RefuseSqliteBesidePostgres(const std::string& dir, const DataDirContents& contents) {
  if (contents.store || contents.wal) {
    return Status(ErrorCode::kFailedPrecondition,
                  dir +
                      " holds a SQLite store (coffer.db): a PostgreSQL store takes a data "
                      "directory of its own (for its lock, audit trail and file-seal key). "
                      "Choose another --data-dir, or move the store with `coffer backup`.");
  }
  return Status::Ok();
}

// What the file seal's key opens, for messages: the SQLite store in the data directory, or the
// PostgreSQL store several nodes may share (each with a copy of root.key).
std::string SealedStoreName(const std::string& dir, bool postgres) {
  return postgres ? std::string("the PostgreSQL store") : dir + "/coffer.db";
}

Status MissingRootKey(const std::string& dir, bool postgres) {
  return Status(ErrorCode::kFailedPrecondition,
                dir + "/root.key is missing: it holds the key that opens " +
                    SealedStoreName(dir, postgres) +
                    " (the file seal), and the store cannot be read without it. " +
                    (postgres ? "Copy root.key (mode 600) from the data directory of a node "
                                "already serving this store."
                              : "Restore root.key from the same backup of the data directory as "
                                "coffer.db."));
}

// Opens a file seal with DATA_DIR/root.key, finishing a rekey that committed the store but
// crashed before renaming root.key.next over it, and dropping a staged key whose rekey never
// committed.
Status UnsealFileSeal(const std::string& dir, bool postgres, SealManager& seal) {
  COFFER_ASSIGN_OR_RETURN(auto key, ReadRootKeyFile(dir));
  COFFER_ASSIGN_OR_RETURN(auto staged, ReadRootKeyFile(dir, kStagedRootKeyFile));
  if (!key && !staged) return MissingRootKey(dir, postgres);
  Status opened =
      key ? seal.UnsealWithKey(*key) : Status(ErrorCode::kInvalidUnsealKeyException, "no root.key");
  if (opened.ok()) {
    if (staged) ::unlink((dir + "/" + kStagedRootKeyFile).c_str());
    return opened;
  }
  if (opened.code() != ErrorCode::kInvalidUnsealKeyException) return opened;
  if (!staged || !seal.UnsealWithKey(*staged).ok()) {
    return Status(ErrorCode::kFailedPrecondition,
                  dir + "/root.key does not open " + SealedStoreName(dir, postgres) +
                      ": the two come from different deployments (or root.key was replaced). "
                      "Restore the root.key that was created with this store" +
                      (postgres ? std::string(" (any node serving it has a copy).")
                                : std::string(", from the same backup as coffer.db.")));
  }
  return RootKeyFile(dir).Install();
}

bool IsValidAccessKeyId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (!std::isalnum(c)) return false;
  }
  return true;
}

}  // namespace

Result<std::string> WriteAwsConfigFile(const std::string& dir, const std::string& endpoint) {
  std::string url = endpoint;
  // A server listening on every address is reached on the loopback one.
  constexpr std::pair<std::string_view, std::string_view> kLoopback[] = {
      {"://0.0.0.0:", "://127.0.0.1:"}, {"://[::]:", "://[::1]:"}};
  for (const auto& [any, loopback] : kLoopback) {
    if (size_t at = url.find(any); at != std::string::npos) url.replace(at, any.size(), loopback);
  }
  const std::string path = dir + "/" + kAwsConfigFile;
  ::unlink(path.c_str());
  COFFER_RETURN_IF_ERROR(
      WritePrivateFile(dir, kAwsConfigFile,
                       "[profile coffer]\nregion = " + std::string(kAwsConfigRegion) +
                           "\nendpoint_url = " + url + "\n"));
  return path;
}

namespace {

// Ensures the account's root access key exists: the one named by COFFER_ROOT_ACCESS_KEY_ID
// (inserted, or checked against the stored secret), else — when `generate_if_none` and the
// store has no key — a generated one, written to DATA_DIR/root-credentials when
// `write_credentials_file`, otherwise handed back in `d` to be shown once.
Status ProvisionRootAccessKey(StoreWriter& w, const Keyring& keyring, const BootstrapOptions& o,
                              const std::string& account, EpochMillis now, bool generate_if_none,
                              bool write_credentials_file, Deployment* d) {
  COFFER_ASSIGN_OR_RETURN(auto keys, w.credentials().ListAccessKeys());
  AccessKeyRow row;
  row.account = account;
  row.principal_arn = "arn:aws:iam::" + account + ":root";
  row.user_id = account;
  row.created_ms = now;
  if (o.root_key_id) {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.credentials().FindAccessKey(*o.root_key_id));
    if (existing) {
      auto stored = keyring.UnwrapWithStorageKey(CredentialRegistry::SecretPurpose(*o.root_key_id),
                                                 existing->wrapped_secret);
      if (!stored.ok() || !crypto::ConstantTimeEquals(stored->Reveal(), o.root_secret->Reveal())) {
        return Status(ErrorCode::kInvalidParameter,
                      "COFFER_ROOT_ACCESS_KEY_ID names an existing key with a different secret");
      }
      return Status::Ok();
    }
    row.access_key_id = *o.root_key_id;
    COFFER_ASSIGN_OR_RETURN(
        row.wrapped_secret,
        keyring.WrapWithStorageKey(CredentialRegistry::SecretPurpose(row.access_key_id),
                                   o.root_secret->Reveal()));
    return w.credentials().InsertAccessKey(row);
  }
  if (!keys.empty() || !generate_if_none) return Status::Ok();
  std::string id = NewAccessKeyId();
  SecretBytes secret = NewSecretAccessKey();
  row.access_key_id = id;
  COFFER_ASSIGN_OR_RETURN(
      row.wrapped_secret,
      keyring.WrapWithStorageKey(CredentialRegistry::SecretPurpose(id), secret.Reveal()));
  if (write_credentials_file) {
    // The file is written before the key is committed: a crash in between leaves no key in the
    // store, so the next start generates a new one and replaces the stale file.
    std::string path = o.data_dir + "/root-credentials";
    ::unlink(path.c_str());
    std::string text = "[coffer]\naws_access_key_id = " + id +
                       "\naws_secret_access_key = " + std::string(secret.Reveal()) + "\n";
    Status s = WritePrivateFile(o.data_dir, "root-credentials", text);
    OPENSSL_cleanse(text.data(), text.size());
    COFFER_RETURN_IF_ERROR(s);
    d->credentials_file = path;
  } else {
    d->generated_key_id = id;
    d->generated_secret = std::move(secret);
  }
  return w.credentials().InsertAccessKey(row);
}

}  // namespace

namespace {

// The options' own rules, before anything on disk is looked at.
Status CheckOptions(const BootstrapOptions& o) {
  if (o.account_id && !IsValidAccountId(*o.account_id)) {
    return Status(ErrorCode::kInvalidParameter, "--account-id must be 12 digits");
  }
  if (o.root_key_id.has_value() != o.root_secret.has_value()) {
    return Status(
        ErrorCode::kInvalidParameter,
        "set both COFFER_ROOT_ACCESS_KEY_ID and COFFER_ROOT_SECRET_ACCESS_KEY, or neither");
  }
  if (o.root_key_id && !IsValidAccessKeyId(*o.root_key_id)) {
    return Status(ErrorCode::kInvalidParameter,
                  "COFFER_ROOT_ACCESS_KEY_ID must be 1-128 letters and digits");
  }
  if (o.root_secret && o.root_secret->empty()) {
    return Status(ErrorCode::kInvalidParameter, "COFFER_ROOT_SECRET_ACCESS_KEY must not be empty");
  }
  return Status::Ok();
}

// What the write-ahead log check found and accepted ("" when the log is sound): a crash's
// unacknowledged last write is reported; lost acknowledged transactions refuse the start unless
// `accept_damaged_wal`, and then the log is copied aside first.
Result<std::string> CheckWal(const std::string& dir, bool accept_damaged_wal, const Clock* clock) {
  COFFER_ASSIGN_OR_RETURN(WalReport wal, ScanWal(dir + "/" + kWalFile));
  if (wal.lost_acknowledged() > 0 || (wal.bad_header && wal.dropped_commits > 0)) {
    if (!accept_damaged_wal) {
      return Status(ErrorCode::kFailedPrecondition,
                    dir + "/" + kWalFile + " is damaged: " + wal.Describe() +
                        ". Nothing was opened. Restore the data directory from a backup, or "
                        "start with --accept-damaged-wal to open the store without those "
                        "transactions (a copy of the log is kept beside it).");
    }
    const std::string copy =
        dir + "/" + kWalFile + ".damaged-" + std::to_string(clock->NowMillis());
    std::ifstream src(dir + "/" + kWalFile, std::ios::binary);
    std::ofstream dst(copy, std::ios::binary);
    dst << src.rdbuf();
    if (!dst) return IoError("cannot keep a copy of the damaged log as " + copy);
    return wal.Describe() + "; the log was kept as " + copy;
  } else if (wal.dropped_commits > 0) {
    return wal.Describe();
  }
  return std::string();
}

// SQLite's full integrity check of the store; FailedPrecondition naming the problems.
Status CheckStoreIntegrity(const std::string& dir) {
  COFFER_ASSIGN_OR_RETURN(std::vector<std::string> problems,
                          CheckSqliteIntegrity(dir + "/" + kStoreFile));
  if (!problems.empty()) {
    std::string list;
    for (size_t i = 0; i < problems.size() && i < 20; ++i) list += "\n  " + problems[i];
    return Status(ErrorCode::kFailedPrecondition,
                  dir + "/coffer.db failed its integrity check (" +
                      std::to_string(problems.size()) + " problem(s)):" + list +
                      "\nRestore the data directory from a backup.");
  }
  return Status::Ok();
}

// A new deployment in an empty directory: account id, seal, root keys and the root access key
// in one store transaction; the file seal's key staged before and put in place after it commits.
Status InitialiseDeployment(const BootstrapOptions& o, const Clock* clock,
                            const DataDirContents& contents, Deployment* d) {
  const std::string& dir = o.data_dir;
  // A root.key beside a store that was never initialised belongs to another store
  // (initialisation stages its key as root.key.next and renames it only after the store
  // commits).
  if (contents.root_key) {
    return Status(ErrorCode::kFailedPrecondition,
                  dir + "/root.key is there but " + dir +
                      "/coffer.db holds no initialised store: the root key belongs to a store "
                      "that is gone, and coffer will not replace it. Restore coffer.db from a "
                      "backup of the data directory; to start afresh, move the directory "
                      "away and start on an empty one.");
  }
  ::unlink((dir + "/" + kStagedRootKeyFile).c_str());  // from an initialisation never committed
  const bool file_seal = o.seal.type == SealType::kFile;
  Status s = d->store->Write([&](StoreWriter& w) -> Status {
    d->account_id = o.account_id.value_or(NewAccountId());
    COFFER_RETURN_IF_ERROR(w.deployment().PutMeta("account_id", d->account_id));
    COFFER_ASSIGN_OR_RETURN(SealInitResult init, SealManager::Initialize(w, o.seal));
    COFFER_RETURN_IF_ERROR(d->seal->Load(&w));
    COFFER_RETURN_IF_ERROR(d->seal->UnsealWithKey(init.unseal_key, &w));
    if (file_seal) COFFER_RETURN_IF_ERROR(RootKeyFile(o.data_dir).Stage(init.unseal_key));
    d->shares = std::move(init.shares);
    return ProvisionRootAccessKey(w, *d->keyring, o, d->account_id, clock->NowMillis(),
                                  /*generate_if_none=*/true, file_seal, d);
  });
  if (!s.ok()) {
    d->keyring->Seal();
    if (file_seal) RootKeyFile(o.data_dir).Discard();
    return s;
  }
  // The store is committed: its key takes its place (a crash before this rename is finished
  // at the next start, which opens the store with root.key.next).
  if (file_seal) COFFER_RETURN_IF_ERROR(RootKeyFile(o.data_dir).Install());
  d->initialized_now = true;
  return Status::Ok();
}

// An initialised deployment: its seal loaded (a store from before seal types adopts the file
// seal), unsealed when the seal allows it now, and the root access key provisioned.
Status OpenInitialisedDeployment(const BootstrapOptions& o, const Clock* clock,
                                 const std::string& account,
                                 const std::optional<std::string>& seal_type, Deployment* d) {
  d->account_id = account;
  if (!seal_type) {
    // A store from before seal types: its material is wrapped by the key in root.key.
    COFFER_ASSIGN_OR_RETURN(auto legacy, ReadRootKeyFile(o.data_dir));
    if (!legacy) return MissingRootKey(o.data_dir, !o.store_url.empty());
    COFFER_RETURN_IF_ERROR(d->store->Write(
        [&](StoreWriter& w) -> Status { return SealManager::AdoptLegacyFileSeal(w, *legacy); }));
  }
  COFFER_RETURN_IF_ERROR(d->seal->Load());
  if (d->seal->type() == SealType::kFile) {
    COFFER_RETURN_IF_ERROR(UnsealFileSeal(o.data_dir, !o.store_url.empty(), *d->seal));
  } else if (d->seal->type() == SealType::kPassphrase && o.passphrase) {
    COFFER_RETURN_IF_ERROR(d->seal->UnsealWithPassphrase(o.passphrase->Reveal()));
  }
  if (!d->keyring->sealed()) {
    const bool file_seal = d->seal->type() == SealType::kFile;
    COFFER_RETURN_IF_ERROR(d->store->Write([&](StoreWriter& w) -> Status {
      return ProvisionRootAccessKey(w, *d->keyring, o, d->account_id, clock->NowMillis(), file_seal,
                                    file_seal, d);
    }));
  }
  return Status::Ok();
}

}  // namespace

Result<Deployment> OpenDeployment(const BootstrapOptions& o, const Clock* clock) {
  COFFER_RETURN_IF_ERROR(CheckOptions(o));
  if (::mkdir(o.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("cannot create data directory " + o.data_dir);
  }
  Deployment d;
  COFFER_ASSIGN_OR_RETURN(DataDirContents contents, InspectDataDir(o.data_dir));
  const std::string& dir = o.data_dir;
  // Checked before the lock file is created, so that a refused directory is left as it was
  // found, and again under the lock: another server may have initialised the directory between
  // the first look and the lock.
  const bool postgres = !o.store_url.empty();
  if (!postgres) COFFER_RETURN_IF_ERROR(RefuseToInitialise(dir, contents));
  COFFER_ASSIGN_OR_RETURN(d.lock, DataDirLock::Acquire(o.data_dir));
  COFFER_ASSIGN_OR_RETURN(contents, InspectDataDir(o.data_dir));
  if (postgres) {
    COFFER_RETURN_IF_ERROR(RefuseSqliteBesidePostgres(dir, contents));
    PostgresStoreOptions store_options;
    store_options.url = o.store_url;
    COFFER_ASSIGN_OR_RETURN(d.store, OpenPostgresStore(store_options));
  } else {
    COFFER_RETURN_IF_ERROR(RefuseToInitialise(dir, contents));
    if (contents.wal) {
      COFFER_ASSIGN_OR_RETURN(d.damage_report, CheckWal(dir, o.accept_damaged_wal, clock));
    }
    COFFER_ASSIGN_OR_RETURN(d.store, OpenSqliteStore(dir + "/" + kStoreFile));
    if (o.check_store) COFFER_RETURN_IF_ERROR(CheckStoreIntegrity(dir));
  }
  d.keyring = std::make_unique<Keyring>(d.store.get(), clock);
  d.seal = std::make_unique<SealManager>(d.store.get(), d.keyring.get());

  std::optional<std::string> account, seal_type;
  COFFER_RETURN_IF_ERROR(d.store->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(account, r.deployment().GetMeta("account_id"));
    COFFER_ASSIGN_OR_RETURN(seal_type, r.deployment().GetMeta("seal_type"));
    return Status::Ok();
  }));
  if (account && o.must_be_new) {
    return Status(ErrorCode::kInvalidParameter,
                  o.data_dir + " is already initialised (account " + *account + ")");
  }
  if (account && o.account_id && *o.account_id != *account) {
    return Status(ErrorCode::kInvalidParameter,
                  "the data directory belongs to account " + *account + ", not " + *o.account_id);
  }

  if (postgres) {
    // What RefuseToInitialise checks of a SQLite store's file, asked of the database.
    contents.store = account.has_value();
    COFFER_RETURN_IF_ERROR(RefuseToInitialise(dir, contents));
  }
  if (!account) {
    COFFER_RETURN_IF_ERROR(InitialiseDeployment(o, clock, contents, &d));
  } else {
    COFFER_RETURN_IF_ERROR(OpenInitialisedDeployment(o, clock, *account, seal_type, &d));
  }

  d.key_file = std::make_unique<RootKeyFile>(o.data_dir);
  // Later unseals (over the API) apply COFFER_ROOT_ACCESS_KEY_ID the same way.
  Store* store = d.store.get();
  Keyring* keyring = d.keyring.get();
  std::string account_id = d.account_id;
  BootstrapOptions key_only;  // no passphrase kept in the hook
  key_only.data_dir = o.data_dir;
  key_only.root_key_id = o.root_key_id;
  key_only.root_secret = o.root_secret;
  d.seal->SetUnsealHook([store, keyring, o = std::move(key_only), account_id, clock]() -> Status {
    Deployment unused;
    return store->Write([&](StoreWriter& w) -> Status {
      return ProvisionRootAccessKey(w, *keyring, o, account_id, clock->NowMillis(),
                                    /*generate_if_none=*/false, false, &unused);
    });
  });
  return d;
}

}  // namespace coffer
