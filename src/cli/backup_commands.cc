#include "cli/backup_commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>

#include "backup/backup_file.h"
#include "core/percent_encoding.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/keyring.h"
#include "server/bootstrap.h"
#include "server/data_dir.h"
#include "store/postgres/pg_copy.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace coffer::cli {
namespace {

namespace http = boost::beast::http;
namespace json = boost::json;

std::string Megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

// Progress on standard error: a bar redrawn in place on a terminal, otherwise a plain line at
// every tenth, so logs of scheduled runs stay readable.
class ProgressReport {
 public:
  explicit ProgressReport(std::string what) : what_(std::move(what)), tty_(::isatty(2) == 1) {}
  void operator()(int64_t done, int64_t total) {
    const int percent = total > 0 ? static_cast<int>(done * 100 / total) : 100;
    if (tty_) {
      const int filled = percent / 4;
      std::cerr << "\rcoffer: " << what_ << " [" << std::string(filled, '#')
                << std::string(25 - filled, '.') << "] " << percent << "% " << Megabytes(done)
                << " of " << Megabytes(total) << std::flush;
      if (done >= total) std::cerr << "\n";
    } else if (percent / 10 > last_tenth_ || (done >= total && last_tenth_ < 10)) {
      last_tenth_ = percent / 10;
      std::cerr << "coffer: " << what_ << " " << percent << "% (" << Megabytes(done) << " of "
                << Megabytes(total) << ")\n";
    }
  }

 private:
  std::string what_;
  bool tty_;
  int last_tenth_ = -1;
};

std::string DescribeBackup(const backup::BackupHeader& h) {
  return std::to_string(h.secrets) + " secret(s), " + std::to_string(h.parameters) +
         " parameter(s), store " + std::to_string(h.snapshot_bytes) + " bytes, taken " +
         FormatIso8601(h.created_ms) + " under the " + h.seal.type + " seal";
}

// The unseal material the backup's seal needs, from the flags, the environment or prompts.
Result<backup::UnsealMaterial> GatherMaterial(const BackupFlags& flags,
                                              const backup::BackupSeal& seal) {
  backup::UnsealMaterial material;
  if (seal.type == "file") {
    if (flags.root_key.empty()) {
      return Status(ErrorCode::kInvalidParameter,
                    "this backup was taken under the file seal: give --root-key with the "
                    "root.key of the data directory it was taken from");
    }
    const std::filesystem::path path(flags.root_key);
    COFFER_ASSIGN_OR_RETURN(
        auto key,
        ReadRootKeyFile(path.parent_path().empty() ? std::string(".") : path.parent_path().string(),
                        path.filename().c_str()));
    if (!key) return Status(ErrorCode::kInvalidParameter, "cannot read " + flags.root_key);
    material.root_key = std::move(*key);
  } else if (seal.type == "passphrase") {
    COFFER_ASSIGN_OR_RETURN(SecretBytes passphrase, ReadPassphrase(flags.passphrase_file, false));
    material.passphrase = std::move(passphrase);
  } else if (seal.type == "shamir") {
    for (const std::string& file : flags.share_files) {
      COFFER_ASSIGN_OR_RETURN(SecretBytes share, ReadFirstLine(file));
      material.shares.emplace_back(share.Reveal());
    }
    // The rest, one at a time, from whoever holds them at this terminal.
    while (static_cast<int>(material.shares.size()) < seal.threshold && ::isatty(0) == 1) {
      std::cerr << "Share " << material.shares.size() + 1 << " of " << seal.threshold
                << " (hidden): " << std::flush;
      termios saved{};
      ::tcgetattr(0, &saved);
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(0, TCSANOW, &quiet);
      std::string line;
      const bool got = static_cast<bool>(std::getline(std::cin, line));
      ::tcsetattr(0, TCSANOW, &saved);
      std::cerr << "\n";
      if (!got) break;
      material.shares.push_back(line);
      OPENSSL_cleanse(line.data(), line.size());
    }
  }
  return material;
}

Result<SecretBytes> UnsealKeyOf(const BackupFlags& flags, const backup::BackupHeader& header) {
  COFFER_ASSIGN_OR_RETURN(auto material, GatherMaterial(flags, header.seal));
  auto key = backup::UnsealKeyFor(header.seal, material);
  for (std::string& share : material.shares) OPENSSL_cleanse(share.data(), share.size());
  return key;
}

// The decrypted snapshot is a store this coffer can open, sound, whose root key the unseal key
// opens: what a server started on it would need.
Status CheckSnapshot(const std::string& path, const SecretBytes& unseal_key) {
  COFFER_ASSIGN_OR_RETURN(auto problems, CheckSqliteIntegrity(path));
  if (!problems.empty()) {
    return Status(ErrorCode::kInvalidParameter,
                  "the backup's store fails its integrity check: " + problems.front());
  }
  COFFER_ASSIGN_OR_RETURN(auto store, OpenSqliteStore(path));
  return Keyring::CheckUnsealKey(store.get(), unseal_key);
}

void SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
}

int RunCreate(const BackupFlags& flags, const RemoteFlags& remote) {
  if (std::filesystem::exists(flags.to)) {
    return Fail(flags.to + " exists; a backup is written only to a new file");
  }
  std::cerr << "coffer: taking a snapshot of the store...\n";
  auto made = CallForObject(remote, http::verb::post, "/coffer/backups", "{}", true);
  if (!made.ok()) return Fail(made.status().message());
  const std::string id(made->at("BackupId").as_string());
  const int64_t bytes = made->at("Bytes").as_int64();
  const std::string partial = flags.to + ".partial";
  int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail("cannot create " + partial + ": " + std::strerror(errno));
  ProgressReport progress("fetching the backup");
  int64_t offset = 0;
  Status fetched = Status::Ok();
  while (offset < bytes && fetched.ok()) {
    auto part = CallForObject(
        remote, http::verb::get,
        "/coffer/backups/part?BackupId=" + id + "&Offset=" + std::to_string(offset), "", true);
    if (!part.ok()) {
      fetched = part.status();
      break;
    }
    auto data = crypto::Base64Decode(part->at("Data").as_string());
    if (!data || data->empty()) {
      fetched = Status(ErrorCode::kInternalFailure, "the server sent a damaged part");
      break;
    }
    for (size_t at = 0; at < data->size();) {
      ssize_t n = ::write(fd, data->data() + at, data->size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fetched = Status(ErrorCode::kInternalFailure,
                         "cannot write " + partial + ": " + std::strerror(errno));
        break;
      }
      at += static_cast<size_t>(n);
    }
    offset += static_cast<int64_t>(data->size());
    progress(offset, bytes);
  }
  if (fetched.ok() && ::fsync(fd) != 0) {
    fetched = Status(ErrorCode::kInternalFailure, "cannot sync " + partial);
  }
  ::close(fd);
  (void)CallForObject(remote, http::verb::post, "/coffer/backups/delete",
                      json::serialize(json::object{{"BackupId", id}}), true);
  if (!fetched.ok()) {
    ::unlink(partial.c_str());
    return Fail(fetched.message());
  }
  auto header = backup::ReadBackupHeader(partial);
  if (!header.ok()) {
    ::unlink(partial.c_str());
    return Fail(header.status().message());
  }
  if (::rename(partial.c_str(), flags.to.c_str()) != 0) {
    return Fail("cannot rename " + partial + ": " + std::strerror(errno));
  }
  const std::string dir = std::filesystem::path(flags.to).parent_path().string();
  SyncDir(dir.empty() ? "." : dir);
  std::cout << "coffer: backup written to " << flags.to << " (" << Megabytes(bytes)
            << "): " << DescribeBackup(*header) << ".\n"
            << "coffer: it opens only with that seal's "
            << (header->seal.type == "shamir"       ? "unseal shares"
                : header->seal.type == "passphrase" ? "passphrase"
                                                    : "root.key (keep it apart from the backup)")
            << "; keep them as long as the backup.\n";
  return 0;
}

int RunVerify(const BackupFlags& flags) {
  auto header = backup::ReadBackupHeader(flags.from);
  if (!header.ok()) return Fail(header.status().message());
  auto unseal_key = UnsealKeyOf(flags, *header);
  if (!unseal_key.ok()) return Fail(unseal_key.status().message());
  // Decrypted into a private temporary directory, checked as a store, and removed.
  std::string dir_template =
      (std::filesystem::temp_directory_path() / "coffer-verify-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) return Fail("cannot make a temporary directory");
  const std::string snapshot = dir_template + "/coffer.db";
  ProgressReport progress("checking the backup");
  Status s = backup::DecryptBackup(flags.from, *unseal_key, snapshot, std::ref(progress));
  if (s.ok()) s = CheckSnapshot(snapshot, *unseal_key);
  std::filesystem::remove_all(dir_template);
  if (!s.ok()) return Fail(s.message());
  std::cout << "coffer: " << flags.from << " is sound: " << DescribeBackup(*header) << ".\n";
  return 0;
}

int RunRestore(const BackupFlags& flags) {
  const std::string& dir = flags.data_dir;
  if (!flags.store.empty() && !IsPostgresUrl(flags.store)) {
    return Fail("--store takes a PostgreSQL URL (postgresql://...)");
  }
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Fail("cannot create " + dir + ": " + std::strerror(errno));
  }
  auto contents = InspectDataDir(dir);
  if (!contents.ok()) return Fail(contents.status().message());
  if (!std::filesystem::is_empty(dir)) {
    return Fail(dir + " is not empty: a backup is restored only into an empty data directory" +
                (contents->restore_incomplete ? " (it holds a restore that did not finish: "
                                                "empty it and run the restore again)"
                                              : ""));
  }
  auto header = backup::ReadBackupHeader(flags.from);
  if (!header.ok()) return Fail(header.status().message());
  auto unseal_key = UnsealKeyOf(flags, *header);
  if (!unseal_key.ok()) return Fail(unseal_key.status().message());
  // Until the marker is gone a server refuses the directory, so a restore cut short (kill -9,
  // a full disk) leaves nothing that would start.
  const std::string marker = dir + "/" + kRestoreMarkerFile;
  int mfd = ::open(marker.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (mfd < 0) return Fail("cannot create " + marker + ": " + std::strerror(errno));
  (void)::fsync(mfd);
  ::close(mfd);
  SyncDir(dir);
  // Onto PostgreSQL, the snapshot (a SQLite store) is decrypted beside the marker, checked, and
  // its tables copied into the database.
  const bool postgres = !flags.store.empty();
  const std::string store = dir + "/" + (postgres ? "restore-snapshot.db" : kStoreFile);
  ProgressReport progress("restoring");
  Status s = backup::DecryptBackup(flags.from, *unseal_key, store, std::ref(progress));
  if (s.ok()) s = CheckSnapshot(store, *unseal_key);
  if (s.ok() && postgres) {
    s = postgres::RestoreSqliteToPostgres(store, flags.store);
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((store + suffix).c_str());
  }
  if (s.ok() && header->seal.type == "file") s = WriteRootKeyFile(dir, *unseal_key);
  if (!s.ok()) {
    return Fail(s.message() + "\ncoffer: " + dir +
                " holds an unfinished restore and will not start: empty it and run the restore "
                "again.");
  }
  SyncDir(dir);
  if (::unlink(marker.c_str()) != 0) return Fail("cannot remove " + marker);
  SyncDir(dir);
  std::cout << "coffer: restored " << DescribeBackup(*header) << " into " << dir << ".\n"
            << "coffer: start it with `coffer server --data-dir " << dir
            << (postgres ? " --store " + RedactPostgresUrl(flags.store) : std::string()) << "`"
            << (header->seal.type == "file"
                    ? ""
                    : "; it starts sealed: unseal it with the same " +
                          std::string(header->seal.type == "shamir" ? "shares" : "passphrase") +
                          " as the original")
            << ". Access keys are those of the original; its audit trail is not in the backup.\n";
  return 0;
}

}  // namespace

void AddBackupScheduleFlags(CLI::App* server, BackupScheduleFlags& flags) {
  server->add_option("--backup-dir", flags.dir,
                     "Make scheduled backups into this directory (as `coffer backup create` "
                     "does), each outcome an event (aws.backup, Backup Job State Change).");
  server
      ->add_option("--backup-interval", flags.interval_seconds,
                   "Seconds between scheduled backups (--backup-dir).")
      ->capture_default_str()
      ->check(CLI::Range(60, 366 * 86400));
  server
      ->add_option("--backup-retain", flags.retain,
                   "Scheduled backups kept in --backup-dir; the oldest beyond are removed.")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
}

void AddBackupCommands(CLI::App& app, BackupCommands& c, RemoteFlags& remote) {
  auto* cmd = app.add_subcommand(
      "backup", "Back up a running server's store, and verify or restore a backup.");
  cmd->require_subcommand(1);
  c.create = cmd->add_subcommand(
      "create", "Take an online backup of the running server into a new, encrypted file.");
  c.create->add_option("--to", c.flags.to, "The backup file to write.")->required();
  c.create->add_option("--endpoint", remote.endpoint,
                       "The server (default: COFFER_ENDPOINT, else http://127.0.0.1:4600).");
  c.create->add_option("--ca-bundle", remote.ca_bundle,
                       "PEM certificates to verify an https endpoint.");
  c.create->add_option("--profile", remote.profile,
                       "Credentials profile (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY).");
  c.create->add_option("--region", remote.region, "Region to sign for.")->capture_default_str();
  c.create->footer(
      "Signs as the deployment operator (the root of the first account). The backup holds every "
      "account's store, encrypted; it opens only with the seal in force when it was taken.");
  auto add_material = [&c](CLI::App* sub) {
    sub->add_option("--root-key", c.flags.root_key,
                    "File seal: the root.key of the data directory the backup was taken from.");
    sub->add_option("--passphrase-file", c.flags.passphrase_file,
                    "Passphrase seal: file whose first line is the passphrase (else "
                    "COFFER_PASSPHRASE, else a prompt).");
    sub->add_option("--share-file", c.flags.share_files,
                    "Shamir seal: a file holding one share (repeat; else prompts).");
  };
  c.verify = cmd->add_subcommand(
      "verify",
      "Check a backup whole (authenticity, every part, the store inside) without "
      "restoring it.");
  c.verify->add_option("file", c.flags.from, "The backup file.")->required();
  add_material(c.verify);
  c.restore = cmd->add_subcommand(
      "restore", "Restore a backup into an empty data directory, then start a server on it.");
  c.restore->add_option("--from", c.flags.from, "The backup file.")->required();
  c.restore->add_option("--data-dir", c.flags.data_dir, "An empty or new data directory.")
      ->required();
  c.restore->add_option("--store", c.flags.store,
                        "Restore into this empty PostgreSQL store (postgresql://...) instead of "
                        "SQLite in --data-dir; a backup of either engine restores onto either.");
  add_material(c.restore);
}

int RunBackupCommand(const BackupCommands& c, const RemoteFlags& remote) {
  if (c.create != nullptr && c.create->parsed()) return RunCreate(c.flags, remote);
  if (c.verify != nullptr && c.verify->parsed()) return RunVerify(c.flags);
  if (c.restore != nullptr && c.restore->parsed()) return RunRestore(c.flags);
  return -1;
}

}  // namespace coffer::cli
