#include "audit/log_delivery.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "audit/log_files.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "crypto/rsa.h"

namespace coffer::audit {
namespace {

namespace fs = std::filesystem;

// Records read from the index per step of a pass: bounds memory on a large backlog.
constexpr int kRecordsPerStep = 20000;
// CloudTrail's digest keys are 2048-bit RSA.
constexpr int kDigestKeyBits = 2048;

EpochMillis FloorTo(EpochMillis t, EpochMillis period) { return t - t % period; }

// Calls `visit(entry, depth)` for everything under `audit_dir`/AWSLogs (depth 0: the account
// directories); nothing when there is none.
template <typename Visit>
void ForEachUnderLogs(const std::string& audit_dir, Visit visit) {
  std::error_code ec;
  const fs::path root = fs::path(audit_dir) / "AWSLogs";
  if (!fs::exists(root, ec)) return;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    visit(*it, it.depth());
  }
}

}  // namespace

LogDelivery::LogDelivery(LogDeliveryOptions options, std::unique_ptr<AuditRecordStore> records,
                         std::unique_ptr<AuditDeliveryLedger> ledger, const Clock* clock,
                         DigestKeyProtection protection)
    : options_(std::move(options)),
      records_(std::move(records)),
      ledger_(std::move(ledger)),
      clock_(clock),
      protection_(std::move(protection)) {
  if (auto keys = ledger_->DigestKeys(); keys.ok()) keys_ = std::move(*keys);
}

Status LogDelivery::Pass() {
  std::lock_guard<std::mutex> lock(pass_mu_);
  if (!started_) {
    COFFER_RETURN_IF_ERROR(RemoveTemporaryFiles());
    started_ = true;
  }
  const EpochMillis now = clock_->NowMillis();
  COFFER_RETURN_IF_ERROR(Deliver(now));
  return WriteDigests(now, /*closing=*/false);
}

Status LogDelivery::Finish() {
  std::lock_guard<std::mutex> lock(pass_mu_);
  const EpochMillis now = clock_->NowMillis();
  COFFER_RETURN_IF_ERROR(Deliver(now));
  return WriteDigests(now, /*closing=*/true);
}

Status LogDelivery::Deliver(EpochMillis now) {
  COFFER_ASSIGN_OR_RETURN(int64_t delivered_up_to, ledger_->DeliveredUpTo());
  // A file is stamped no earlier than the end of its chain's last digest, so a file delivered
  // after a digest closed (a server restarted within the second its final digest ends) goes into
  // the next digest, never into a period already signed.
  std::map<std::pair<std::string, std::string>, EpochMillis> not_before;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(std::vector<AuditRow> rows,
                            records_->ReadFrom(delivered_up_to, kRecordsPerStep));
    if (rows.empty()) return Status::Ok();
    // Each account and region's records, in the order they were recorded.
    std::map<std::pair<std::string, std::string>, std::vector<const AuditRow*>> chains;
    for (const AuditRow& row : rows) chains[{row.account, row.region}].push_back(&row);
    std::vector<DeliveredLogFile> files;
    for (const auto& [chain, chain_rows] : chains) {
      auto stamp = not_before.find(chain);
      if (stamp == not_before.end()) {
        COFFER_ASSIGN_OR_RETURN(auto last, ledger_->LastDigest(chain.first, chain.second));
        stamp = not_before.emplace(chain, last ? last->end_ms : 0).first;
      }
      for (size_t begin = 0; begin < chain_rows.size(); begin += options_.max_records_per_file) {
        const size_t end = std::min(chain_rows.size(), begin + options_.max_records_per_file);
        std::vector<const AuditRow*> part(chain_rows.begin() + static_cast<ptrdiff_t>(begin),
                                          chain_rows.begin() + static_cast<ptrdiff_t>(end));
        DeliveredLogFile file{.account = chain.first,
                              .region = chain.second,
                              .object = LogObject(chain.first, chain.second, part.front()->time_ms,
                                                  part.front()->event_id),
                              .delivered_ms = std::max(now, stamp->second),
                              .oldest_event_ms = part.front()->time_ms,
                              .newest_event_ms = part.front()->time_ms};
        for (const AuditRow* r : part) {
          file.oldest_event_ms = std::min(file.oldest_event_ms, r->time_ms);
          file.newest_event_ms = std::max(file.newest_event_ms, r->time_ms);
        }
        const std::string json = LogFileJson(part);
        file.sha256_hex = crypto::HexLower(crypto::Sha256(json));
        COFFER_RETURN_IF_ERROR(WriteFileDurably(options_.audit_dir, file.object, Gzip(json)));
        files.push_back(std::move(file));
      }
    }
    delivered_up_to = rows.back().id;
    COFFER_RETURN_IF_ERROR(ledger_->RecordDelivery(files, delivered_up_to));
    if (rows.size() < static_cast<size_t>(kRecordsPerStep)) return Status::Ok();
  }
}

Status LogDelivery::WriteDigests(EpochMillis now, bool closing) {
  if (protection_.available && !protection_.available()) return Status::Ok();  // sealed: later
  COFFER_ASSIGN_OR_RETURN(auto chains, ledger_->Chains());
  if (chains.empty()) return Status::Ok();
  COFFER_RETURN_IF_ERROR(EnsureSigningKey(now));
  // A closing digest ends at the next whole second (digest times are whole seconds), so it
  // covers the files this pass just delivered.
  const EpochMillis end =
      closing ? FloorTo(now, 1000) + 1000 : FloorTo(now, options_.digest_period_ms);
  for (const auto& [account, region] : chains) {
    COFFER_RETURN_IF_ERROR(WriteDigest(account, region, end));
  }
  return Status::Ok();
}

Status LogDelivery::WriteDigest(const std::string& account, const std::string& region,
                                EpochMillis end) {
  COFFER_ASSIGN_OR_RETURN(auto last, ledger_->LastDigest(account, region));
  EpochMillis start = 0;
  if (last) {
    start = last->end_ms;
  } else {
    // A chain's first digest starts with the period its first log file was delivered in.
    COFFER_ASSIGN_OR_RETURN(auto first, ledger_->FirstDelivery(account, region));
    if (!first) return Status::Ok();
    start = FloorTo(*first, options_.digest_period_ms);
  }
  if (end <= start) return Status::Ok();
  COFFER_ASSIGN_OR_RETURN(auto files, ledger_->FilesDelivered(account, region, start, end));

  DigestKeyRow key;
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    key = keys_.back();
  }
  Digest digest{.account = account,
                .start_ms = start,
                .end_ms = end,
                .object = DigestObject(account, region, region, end),
                .key_fingerprint = key.fingerprint};
  if (last) {
    digest.previous_object = last->object;
    digest.previous_sha256_hex = last->sha256_hex;
    digest.previous_signature_hex = last->signature_hex;
  }
  for (const auto& f : files) {
    digest.log_files.push_back({.object = f.object,
                                .sha256_hex = f.sha256_hex,
                                .oldest_event_ms = f.oldest_event_ms,
                                .newest_event_ms = f.newest_event_ms});
  }
  const std::string json = DigestJson(digest);
  const std::string hash = crypto::HexLower(crypto::Sha256(json));
  COFFER_ASSIGN_OR_RETURN(SecretBytes private_der, protection_.unwrap(key.wrapped_private));
  auto signature = crypto::RsaSignSha256(private_der, DigestSigningString(digest, hash));
  if (!signature) {
    return Status(ErrorCode::kInternalFailure, "the audit trail's digest key cannot sign");
  }
  const std::string signature_hex =
      crypto::HexLower(reinterpret_cast<const uint8_t*>(signature->data()), signature->size());
  COFFER_RETURN_IF_ERROR(WriteFileDurably(options_.audit_dir, digest.object, Gzip(json)));
  COFFER_RETURN_IF_ERROR(
      WriteFileDurably(options_.audit_dir, digest.object + kSignatureSuffix, signature_hex + "\n"));
  return ledger_->RecordDigest({.account = account,
                                .region = region,
                                .object = digest.object,
                                .start_ms = start,
                                .end_ms = end,
                                .sha256_hex = hash,
                                .signature_hex = signature_hex});
}

Status LogDelivery::EnsureSigningKey(EpochMillis now) {
  {
    std::lock_guard<std::mutex> lock(keys_mu_);
    if (!keys_.empty()) return Status::Ok();
  }
  crypto::RsaKeyPair pair = crypto::GenerateRsaKey(kDigestKeyBits);
  COFFER_ASSIGN_OR_RETURN(std::string wrapped, protection_.wrap(pair.private_der.Reveal()));
  DigestKeyRow key{.fingerprint = KeyFingerprint(pair.public_der),
                   .public_der = pair.public_der,
                   .wrapped_private = std::move(wrapped),
                   .valid_from_ms = FloorTo(now, 1000)};
  COFFER_RETURN_IF_ERROR(ledger_->AddDigestKey(key));
  std::lock_guard<std::mutex> lock(keys_mu_);
  keys_.push_back(std::move(key));
  return Status::Ok();
}

std::vector<DigestPublicKey> PublicKeysOf(const std::vector<DigestKeyRow>& keys) {
  std::vector<DigestPublicKey> out;
  for (const auto& k : keys) {
    out.push_back({.fingerprint = k.fingerprint,
                   .public_der = k.public_der,
                   .valid_from_ms = k.valid_from_ms});
  }
  return out;
}

std::vector<DigestPublicKey> LogDelivery::PublicKeys() const {
  std::lock_guard<std::mutex> lock(keys_mu_);
  return PublicKeysOf(keys_);
}

Status LogDelivery::RemoveTemporaryFiles() {
  std::vector<fs::path> temporary;
  ForEachUnderLogs(options_.audit_dir, [&](const fs::directory_entry& e, int) {
    std::error_code ec;
    if (e.is_regular_file(ec) && e.path().extension() == ".tmp") temporary.push_back(e.path());
  });
  std::error_code ec;
  for (const auto& p : temporary) fs::remove(p, ec);
  return Status::Ok();
}

Status LogDelivery::Prune(EpochMillis older_than) {
  std::lock_guard<std::mutex> lock(pass_mu_);
  COFFER_RETURN_IF_ERROR(ledger_->Prune(older_than));
  // Files live in day directories (.../YYYY/MM/DD/): a day wholly before the cut goes.
  const std::string cut = FormatAmzDate(older_than).substr(0, 8);  // YYYYMMDD
  std::vector<fs::path> old_days;
  ForEachUnderLogs(options_.audit_dir, [&](const fs::directory_entry& e, int depth) {
    std::error_code ec;
    if (depth != 5 || !e.is_directory(ec)) return;  // <acct>/<kind>/<region>/Y/M/D
    const fs::path& day = e.path();
    const std::string date = day.parent_path().parent_path().filename().string() +
                             day.parent_path().filename().string() + day.filename().string();
    if (date.size() == 8 && date < cut) old_days.push_back(day);
  });
  std::error_code ec;
  for (const auto& day : old_days) fs::remove_all(day, ec);
  return Status::Ok();
}

Result<std::unique_ptr<LogDelivery>> OpenLogDelivery(const std::string& dir,
                                                     LogDeliveryOptions options, const Clock* clock,
                                                     DigestKeyProtection protection) {
  const std::string path = dir + "/trail.db";
  COFFER_ASSIGN_OR_RETURN(auto records, OpenSqliteAuditRecords(path));
  COFFER_ASSIGN_OR_RETURN(auto ledger, OpenSqliteAuditDeliveryLedger(path));
  options.audit_dir = dir;
  return std::make_unique<LogDelivery>(std::move(options), std::move(records), std::move(ledger),
                                       clock, std::move(protection));
}

}  // namespace coffer::audit
