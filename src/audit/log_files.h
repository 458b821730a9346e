// The audit trail's files as CloudTrail delivers them to S3, laid out under the audit directory
// as they would be under a bucket: log files (gzip JSON `{"Records":[...]}`) and hourly digest
// files that list every log file's SHA-256 and chain to the digest before them, each signed
// (SHA256withRSA) over CloudTrail's signing string. Names, fields and the signing string follow
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-name-format.html
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html
//
// Where S3 keeps a digest's signature in object metadata (x-amz-meta-signature), coffer writes
// it beside the digest, in `<digest>.sig` (the hex signature and a newline).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/status.h"
#include "store/audit_records.h"

namespace coffer::audit {

// The "bucket" digests and log files name: the audit directory stands where CloudTrail's bucket
// would.
inline constexpr char kTrailBucket[] = "coffer-audit";
inline constexpr char kTrailName[] = "coffer";
inline constexpr char kSignatureSuffix[] = ".sig";

// AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_
// <YYYYMMDDTHHmmZ>_<unique>.json.gz, dated by the file's first record; `unique` (16 hex
// digits) is derived from that record's event id, so a file delivered again after a crash gets
// the same name.
std::string LogObject(const std::string& account, const std::string& region,
                      EpochMillis first_event_ms, std::string_view first_event_id);
// AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/<account>_CloudTrail-Digest_<region>_
// <trail>_<home region>_<YYYYMMDDTHHMMSSZ>.json.gz, dated by the digest's end. coffer keeps a
// chain per region, each its own home (as a trail created in each region would be).
std::string DigestObject(const std::string& account, const std::string& region,
                         const std::string& home_region, EpochMillis end_ms);
// The directories under which a chain's log files and digests are kept.
std::string LogDirectory(const std::string& account, const std::string& region);
std::string DigestDirectory(const std::string& account, const std::string& region);

// {"Records":[...]} of the records' JSON, in order.
std::string LogFileJson(const std::vector<const AuditRow*>& rows);

std::string Gzip(std::string_view data);
// nullopt when `data` is not one whole gzip stream, or inflates to more than `max_bytes`.
std::optional<std::string> Gunzip(std::string_view data, size_t max_bytes = size_t{1} << 30);

struct DigestLogFile {
  std::string object;
  std::string sha256_hex;
  EpochMillis oldest_event_ms = 0;
  EpochMillis newest_event_ms = 0;
};

struct Digest {
  std::string account;
  EpochMillis start_ms = 0;
  EpochMillis end_ms = 0;
  std::string object;
  std::string key_fingerprint;
  // Null (absent) in a chain's first digest.
  std::optional<std::string> previous_object;
  std::optional<std::string> previous_sha256_hex;
  std::optional<std::string> previous_signature_hex;
  std::vector<DigestLogFile> log_files;
};

std::string DigestJson(const Digest& digest);
// nullopt when `json` is not a digest with every field CloudTrail's has.
std::optional<Digest> ParseDigest(std::string_view json);

// digestEndTime \n bucket/object \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature
// ("null" for a chain's first digest).
std::string DigestSigningString(const Digest& digest, std::string_view sha256_hex);

// The digestPublicKeyFingerprint of a key: CloudTrail shows 32 hex digits and does not say how
// it derives them; coffer uses the first 16 bytes of the SHA-256 of the DER public key.
std::string KeyFingerprint(std::string_view public_der);

// "2026-12-06T01:02:03Z", and back (also accepts a date alone, "2026-12-06").
std::string FormatEventTime(EpochMillis t);
std::optional<EpochMillis> ParseEventTime(std::string_view text);

// Writes `data` to `dir`/`relative` through a temporary file, synced, then renamed and the
// directory synced: a reader sees the whole file or none. Creates missing directories (0700).
Status WriteFileDurably(const std::string& dir, const std::string& relative, std::string_view data);
// The file's bytes; nullopt when it cannot be read.
std::optional<std::string> ReadWholeFile(const std::string& path);

}  // namespace coffer::audit
