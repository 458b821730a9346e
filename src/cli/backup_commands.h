// `coffer backup create|verify|restore`: online backups of a running server, checked and
// restored with the seal's own unseal material (backup/backup_file.h).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/operator_commands.h"

namespace coffer::cli {

struct BackupFlags {
  std::string to;        // create: the new backup file
  std::string from;      // verify, restore: the backup file
  std::string data_dir;  // restore: an empty (or new) data directory
  std::string store;     // restore: an empty PostgreSQL store instead of SQLite in data_dir
  // The seal's unseal material, as the backup's seal needs it.
  std::string root_key;                  // file seal: the original data directory's root.key
  std::string passphrase_file;           // passphrase seal (else COFFER_PASSPHRASE, else a prompt)
  std::vector<std::string> share_files;  // Shamir seal (else prompts on a terminal)
};

// `coffer server`'s scheduled backups.
struct BackupScheduleFlags {
  std::string dir;  // empty: none
  int interval_seconds = 86400;
  int retain = 7;
};
void AddBackupScheduleFlags(CLI::App* server, BackupScheduleFlags& flags);

struct BackupCommands {
  BackupFlags flags;
  CLI::App* create = nullptr;
  CLI::App* verify = nullptr;
  CLI::App* restore = nullptr;
};

// Adds `coffer backup ...`; `remote` receives the create command's endpoint and credentials.
void AddBackupCommands(CLI::App& app, BackupCommands& commands, RemoteFlags& remote);
// Runs the parsed backup subcommand; returns -1 when none was parsed.
int RunBackupCommand(const BackupCommands& commands, const RemoteFlags& remote);

}  // namespace coffer::cli
