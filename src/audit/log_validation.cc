#include "audit/log_validation.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>

#include "audit/log_files.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "crypto/rsa.h"

namespace coffer::audit {
namespace {

namespace fs = std::filesystem;

// A digest file as found on disk, and what checking it alone found.
struct FoundDigest {
  std::string object;
  EpochMillis name_end_ms = 0;  // from its name
  std::optional<Digest> digest;
  std::string sha256_hex;
  std::string signature_hex;
  std::string problem;
};

// Relative paths of the files under `dir` (below the audit directory) ending in `suffix`.
std::vector<std::string> FilesUnder(const std::string& audit_dir, const std::string& dir,
                                    std::string_view suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path root = fs::path(audit_dir) / dir;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!it->is_regular_file(ec) || name.size() < suffix.size() ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
      continue;
    }
    out.push_back(fs::relative(it->path(), audit_dir, ec).string());
  }
  return out;
}

// "..._20261206T010000Z.json.gz" -> its time.
EpochMillis NameTime(const std::string& object) {
  const size_t end = object.rfind(".json.gz");
  const size_t underscore = object.rfind('_', end);
  if (end == std::string::npos || underscore == std::string::npos) return 0;
  return ParseAmzDate(object.substr(underscore + 1, end - underscore - 1)).value_or(0);
}

std::optional<std::string> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

FoundDigest CheckDigest(const ValidationRequest& request, const std::string& account,
                        const std::string& object) {
  FoundDigest found{.object = object, .name_end_ms = NameTime(object)};
  const std::string path = request.audit_dir + "/" + object;
  auto compressed = ReadWholeFile(path);
  auto json = compressed ? Gunzip(*compressed) : std::nullopt;
  if (!json) {
    found.problem = "modified (not a whole gzip file)";
    return found;
  }
  found.sha256_hex = crypto::HexLower(crypto::Sha256(*json));
  found.digest = ParseDigest(*json);
  if (!found.digest) {
    found.problem = "modified (not a digest file)";
    return found;
  }
  auto signature = ReadWholeFile(path + kSignatureSuffix);
  if (signature) {
    while (!signature->empty() && (signature->back() == '\n' || signature->back() == '\r')) {
      signature->pop_back();
    }
    found.signature_hex = *signature;
  }
  if (found.digest->object != object) {
    found.problem = "modified (it names another file: " + found.digest->object + ")";
    return found;
  }
  if (found.digest->account != account) {
    found.problem = "modified (it names another account: " + found.digest->account + ")";
    return found;
  }
  if (!signature) {
    found.problem = "modified (its signature file " + object + kSignatureSuffix + " is missing)";
    return found;
  }
  const auto key = std::find_if(
      request.public_keys.begin(), request.public_keys.end(),
      [&](const DigestPublicKey& k) { return k.fingerprint == found.digest->key_fingerprint; });
  if (key == request.public_keys.end()) {
    found.problem =
        "modified (no public key has its fingerprint " + found.digest->key_fingerprint + ")";
    return found;
  }
  auto raw_signature = FromHex(found.signature_hex);
  if (!raw_signature ||
      !crypto::RsaVerifySha256(
          key->public_der, DigestSigningString(*found.digest, found.sha256_hex), *raw_signature)) {
    found.problem = "modified (signature verification failed)";
  }
  return found;
}

void Count(ValidationReport& report, const FileVerdict& verdict) {
  const bool valid = verdict.problem.empty();
  if (verdict.kind == FileVerdict::Kind::kDigest) {
    (valid ? report.digests_valid : report.digests_invalid)++;
  } else {
    (valid ? report.logs_valid : report.logs_invalid)++;
  }
  report.files.push_back(verdict);
}

void ValidateChain(const ValidationRequest& request, const std::string& account,
                   const std::string& region, ValidationReport& report) {
  std::vector<FoundDigest> digests;
  for (const auto& object :
       FilesUnder(request.audit_dir, DigestDirectory(account, region), ".json.gz")) {
    digests.push_back(CheckDigest(request, account, object));
  }
  std::sort(digests.begin(), digests.end(), [](const FoundDigest& a, const FoundDigest& b) {
    return a.name_end_ms != b.name_end_ms ? a.name_end_ms < b.name_end_ms : a.object < b.object;
  });
  std::map<std::string, size_t> by_object;
  std::set<std::string> listed;
  for (size_t i = 0; i < digests.size(); ++i) {
    by_object[digests[i].object] = i;
    if (digests[i].digest) {
      for (const auto& f : digests[i].digest->log_files) listed.insert(f.object);
    }
  }
  // The chain's links, checked from each digest to the one it names: the named one must be
  // there, hold the hash and signature the later one records, and end where the later starts.
  std::vector<std::string> missing_before(digests.size());
  for (size_t i = 0; i < digests.size(); ++i) {
    const auto& d = digests[i].digest;
    if (!d || !d->previous_object) continue;
    auto prev = by_object.find(*d->previous_object);
    if (prev == by_object.end()) {
      // Required only when it ends inside the range (retention removes older ones).
      if (d->start_ms > request.from_ms) missing_before[i] = *d->previous_object;
      continue;
    }
    FoundDigest& p = digests[prev->second];
    if (!p.problem.empty()) continue;
    if (p.sha256_hex != d->previous_sha256_hex.value_or("") ||
        p.signature_hex != d->previous_signature_hex.value_or("")) {
      p.problem = "modified (its hash or signature is not the one " + digests[i].object + " holds)";
    } else if (p.digest->end_ms != d->start_ms) {
      digests[i].problem = "missing (the digests of " + FormatEventTime(p.digest->end_ms) + " to " +
                           FormatEventTime(d->start_ms) + " are not in the chain)";
    }
  }

  for (size_t i = 0; i < digests.size(); ++i) {
    const FoundDigest& found = digests[i];
    const EpochMillis end = found.digest ? found.digest->end_ms : found.name_end_ms;
    // An unreadable digest is taken to start where the one before it on disk ends.
    const EpochMillis start = found.digest ? found.digest->start_ms
                              : i > 0      ? digests[i - 1].name_end_ms
                                           : end;
    if (end <= request.from_ms || start > request.to_ms) continue;
    if (!missing_before[i].empty()) {
      Count(report, {FileVerdict::Kind::kDigest, missing_before[i],
                     "missing (deleted: " + found.object + " names it as the digest before it)"});
    }
    Count(report, {FileVerdict::Kind::kDigest, found.object, found.problem});
    if (report.found_from_ms == 0 || start < report.found_from_ms) report.found_from_ms = start;
    report.found_to_ms = std::max(report.found_to_ms, end);
    if (!found.digest) continue;
    for (const auto& f : found.digest->log_files) {
      auto compressed = ReadWholeFile(request.audit_dir + "/" + f.object);
      std::string problem;
      if (!compressed) {
        problem = "deleted (not found; " + found.object + " lists it)";
      } else if (auto json = Gunzip(*compressed); !json) {
        problem = "modified (not a whole gzip file)";
      } else if (crypto::HexLower(crypto::Sha256(*json)) != f.sha256_hex) {
        problem = "modified (hash value doesn't match the digest's)";
      }
      Count(report, {FileVerdict::Kind::kLog, f.object, problem});
    }
  }
  for (const auto& object :
       FilesUnder(request.audit_dir, LogDirectory(account, region), ".json.gz")) {
    const EpochMillis t = NameTime(object);
    if (listed.count(object) == 0 && t >= request.from_ms - 3600 * 1000 && t <= request.to_ms) {
      report.logs_not_yet_digested++;
    }
  }
}

std::vector<std::string> Subdirectories(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::end(it); it.increment(ec)) {
    if (it->is_directory(ec)) out.push_back(it->path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

ValidationReport ValidateLogs(const ValidationRequest& request) {
  ValidationReport report;
  const fs::path root = fs::path(request.audit_dir) / "AWSLogs";
  for (const std::string& account : Subdirectories(root)) {
    if (!request.account.empty() && account != request.account) continue;
    for (const std::string& region : Subdirectories(root / account / "CloudTrail-Digest")) {
      if (!request.region.empty() && region != request.region) continue;
      ValidateChain(request, account, region, report);
    }
  }
  return report;
}

std::string FormatReport(const ValidationRequest& request, const ValidationReport& report,
                         bool verbose) {
  std::ostringstream out;
  out << "Validating log files for trail " << kTrailName << " in " << request.audit_dir
      << " between " << FormatEventTime(request.from_ms) << " and "
      << FormatEventTime(request.to_ms) << "\n\n";
  for (const auto& f : report.files) {
    if (!verbose && f.problem.empty()) continue;
    out << (f.kind == FileVerdict::Kind::kDigest ? "Digest file\t" : "Log file\t") << f.object
        << "\t" << (f.problem.empty() ? "valid" : "INVALID: " + f.problem) << "\n";
  }
  out << "\nResults requested for " << FormatEventTime(request.from_ms) << " to "
      << FormatEventTime(request.to_ms) << "\n";
  if (report.digests_valid + report.digests_invalid == 0) {
    out << "No digest files were found in the range.\n";
    return out.str();
  }
  out << "Results found for " << FormatEventTime(report.found_from_ms) << " to "
      << FormatEventTime(report.found_to_ms) << ":\n\n";
  const int digests = report.digests_valid + report.digests_invalid;
  const int logs = report.logs_valid + report.logs_invalid;
  out << report.digests_valid << "/" << digests << " digest files valid";
  if (report.digests_invalid > 0) {
    out << ", " << report.digests_invalid << "/" << digests << " digest files INVALID";
  }
  out << "\n" << report.logs_valid << "/" << logs << " log files valid";
  if (report.logs_invalid > 0) {
    out << ", " << report.logs_invalid << "/" << logs << " log files INVALID";
  }
  out << "\n";
  if (report.logs_not_yet_digested > 0) {
    out << report.logs_not_yet_digested
        << " log files are not listed in a digest yet (delivered after the newest one)\n";
  }
  return out.str();
}

}  // namespace coffer::audit
