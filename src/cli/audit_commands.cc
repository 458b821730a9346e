#include "cli/audit_commands.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <iostream>

#include "audit/log_files.h"
#include "audit/log_validation.h"
#include "core/clock.h"
#include "crypto/crypto.h"
#include "server/data_dir.h"
#include "store/audit_delivery.h"

namespace coffer::cli {
namespace {

namespace json = boost::json;

// The keys of a file as `aws cloudtrail list-public-keys` prints them:
// {"PublicKeyList": [{"Value": base64 DER, "Fingerprint": ..., ...}]}.
Result<std::vector<audit::DigestPublicKey>> KeysFromFile(const std::string& path) {
  auto text = audit::ReadWholeFile(path);
  if (!text) return Status(ErrorCode::kInvalidParameter, "cannot read " + path);
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  const json::value* list =
      !ec && v.is_object() ? v.get_object().if_contains("PublicKeyList") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return Status(ErrorCode::kInvalidParameter,
                  path + " is not the output of `aws cloudtrail list-public-keys`");
  }
  std::vector<audit::DigestPublicKey> keys;
  for (const json::value& k : list->get_array()) {
    const json::object* o = k.if_object();
    const json::value* value = o ? o->if_contains("Value") : nullptr;
    const json::value* fingerprint = o ? o->if_contains("Fingerprint") : nullptr;
    auto der =
        value && value->is_string() ? crypto::Base64Decode(value->get_string()) : std::nullopt;
    if (!der || fingerprint == nullptr || !fingerprint->is_string()) {
      return Status(ErrorCode::kInvalidParameter,
                    path + ": a key without a base64 Value or a Fingerprint");
    }
    keys.push_back({.fingerprint = std::string(fingerprint->get_string()), .public_der = *der});
  }
  return keys;
}

// The keys the trail recorded for itself, in its database.
Result<std::vector<audit::DigestPublicKey>> KeysFromTrail(const std::string& audit_dir) {
  COFFER_ASSIGN_OR_RETURN(auto ledger, OpenSqliteAuditDeliveryLedger(audit_dir + "/trail.db"));
  COFFER_ASSIGN_OR_RETURN(auto rows, ledger->DigestKeys());
  return audit::PublicKeysOf(rows);
}

}  // namespace

CLI::App* AddAuditCommands(CLI::App& app, AuditVerifyFlags& flags) {
  auto* audit = app.add_subcommand("audit", "Work with the audit trail's files.");
  auto* verify = audit->add_subcommand(
      "verify",
      "Validate the trail's log files and signed digests between --from and --to, as `aws "
      "cloudtrail validate-logs` does: names every modified, deleted or missing file; exit "
      "status 1 if any.");
  verify->add_option("--data-dir", flags.data_dir, "The server's data directory.")
      ->capture_default_str();
  verify->add_option("--audit-dir", flags.audit_dir, "The audit directory, if not DATA_DIR/audit.");
  verify->add_option("--from", flags.from, "Start of the range, e.g. 2026-12-01T00:00:00Z.")
      ->required();
  verify->add_option("--to", flags.to, "End of the range (default: now).");
  verify->add_option("--account", flags.account, "Only this account's trail.");
  verify->add_option("--region", flags.region, "Only this region's trail.");
  verify->add_option(
      "--public-keys", flags.public_keys_file,
      "The output of `aws cloudtrail list-public-keys`, kept apart from the server: check the "
      "digests against these keys rather than the ones recorded in the audit directory (which "
      "whoever can write the directory could replace).");
  verify->add_flag("--verbose", flags.verbose, "List valid files too.");
  audit->require_subcommand(1);
  return verify;
}

int RunAuditVerify(const AuditVerifyFlags& flags) {
  const std::string audit_dir =
      flags.audit_dir.empty() ? flags.data_dir + "/" + kAuditDir : flags.audit_dir;
  auto from = audit::ParseEventTime(flags.from);
  auto to = flags.to.empty() ? std::optional<EpochMillis>(SystemClock().NowMillis())
                             : audit::ParseEventTime(flags.to);
  if (!from || !to || *to < *from) {
    std::cerr << "coffer: --from and --to are times like 2026-12-01T00:00:00Z (or 2026-12-01), "
                 "--from first\n";
    return 2;
  }
  if (::access((audit_dir + "/trail.db").c_str(), R_OK) != 0) {
    std::cerr << "coffer: no audit trail in " << audit_dir << "\n";
    return 2;
  }
  auto keys = flags.public_keys_file.empty() ? KeysFromTrail(audit_dir)
                                             : KeysFromFile(flags.public_keys_file);
  if (!keys.ok()) {
    std::cerr << "coffer: " << keys.status().message() << "\n";
    return 2;
  }
  audit::ValidationRequest request{.audit_dir = audit_dir,
                                   .from_ms = *from,
                                   .to_ms = *to,
                                   .account = flags.account,
                                   .region = flags.region,
                                   .public_keys = std::move(*keys)};
  audit::ValidationReport report = audit::ValidateLogs(request);
  std::cout << audit::FormatReport(request, report, flags.verbose);
  return report.ok() ? 0 : 1;
}

}  // namespace coffer::cli
