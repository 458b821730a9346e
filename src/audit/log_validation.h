// Validation of the audit trail's files, as `aws cloudtrail validate-logs` validates a trail's:
// each digest in the time range is checked against its signature (SHA256withRSA over
// CloudTrail's signing string, with the public key its fingerprint names) and against the
// digest after it (which holds its hash and signature), periods must follow each other without
// a gap, and every log file a digest lists must be there with the hash the digest holds.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-cli.html
//
// What it vouches for is what the digests list: a log file delivered after the newest digest
// is not vouched for yet, and is reported as such (not as a failure).
#pragma once

#include <string>
#include <vector>

#include "audit/log_delivery.h"
#include "core/clock.h"

namespace coffer::audit {

struct ValidationRequest {
  std::string audit_dir;
  EpochMillis from_ms = 0;
  EpochMillis to_ms = 0;
  std::string account;  // empty: every account
  std::string region;   // empty: every region
  std::vector<DigestPublicKey> public_keys;
};

struct FileVerdict {
  enum class Kind { kDigest, kLog };
  Kind kind = Kind::kLog;
  std::string object;   // path under the audit directory
  std::string problem;  // empty: valid; else "modified (...)", "deleted (...)", "missing (...)"
};

struct ValidationReport {
  std::vector<FileVerdict> files;  // in chain order, oldest first
  int digests_valid = 0;
  int digests_invalid = 0;
  int logs_valid = 0;
  int logs_invalid = 0;
  int logs_not_yet_digested = 0;
  EpochMillis found_from_ms = 0;  // the periods the digests found cover
  EpochMillis found_to_ms = 0;
  bool ok() const { return digests_invalid == 0 && logs_invalid == 0 && digests_valid > 0; }
};

ValidationReport ValidateLogs(const ValidationRequest& request);

// The report as validate-logs prints it: one line per file, then the totals.
std::string FormatReport(const ValidationRequest& request, const ValidationReport& report,
                         bool verbose);

}  // namespace coffer::audit
