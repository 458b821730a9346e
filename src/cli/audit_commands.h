// `coffer audit ...`: commands on the audit trail's files, run beside (or without) a server.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace coffer::cli {

struct AuditVerifyFlags {
  std::string data_dir = "./data";
  std::string audit_dir;  // default: DATA_DIR/audit
  std::string from;
  std::string to;  // default: now
  std::string account;
  std::string region;
  std::string public_keys_file;
  bool verbose = false;
};

// Adds `coffer audit verify`; returns it (parsed() says whether it was chosen).
CLI::App* AddAuditCommands(CLI::App& app, AuditVerifyFlags& flags);

// Validates the trail's log files and digests, as `aws cloudtrail validate-logs` does. Exit
// status 0 when every digest and log file of the range is valid, 1 when any is not (or none was
// found), 2 for bad flags.
int RunAuditVerify(const AuditVerifyFlags& flags);

}  // namespace coffer::cli
