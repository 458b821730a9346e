#include "audit/log_delivery.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_trail.h"
#include "audit/log_files.h"
#include "audit/log_validation.h"
#include "crypto/crypto.h"
#include "crypto/rsa.h"
#include "testing/scratch_dir.h"

namespace coffer::audit {
namespace {

namespace fs = std::filesystem;
using TempDir = coffer::testing::ScratchDir;

constexpr EpochMillis kHour = 3600 * 1000;
constexpr EpochMillis kStart = 1'780'000'000'000;  // 2026-05-28T20:26:40Z

AuditRow Row(EpochMillis t, const std::string& account, int n) {
  AuditRow r;
  r.time_ms = t;
  r.account = account;
  r.region = "eu-west-1";
  r.event_id = "0000aaaa-" + std::to_string(t) + "-" + std::to_string(n);
  r.event_name = "GetSecretValue";
  r.event_source = "secretsmanager.amazonaws.com";
  r.read_only = true;
  r.record = "{\"eventName\":\"GetSecretValue\",\"n\":" + std::to_string(n) + "}";
  return r;
}

// A trail and its delivery in a scratch directory, on a fake clock, with the digest key wrapped
// under a fixed AES key (as the keyring's storage key wraps it in the server).
class LogDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto trail = OpenAuditTrail(dir_.file("audit"), OnFailure::kClosed);
    ASSERT_TRUE(trail.ok()) << trail.status().message();
    trail_ = std::move(trail).value();
    ASSERT_TRUE(trail_->Start().ok());
    OpenDelivery();
  }

  void OpenDelivery() {
    DigestKeyProtection protection{
        .available = [this] { return unsealed_; },
        .wrap = [this](std::string_view der) -> Result<std::string> {
          return crypto::AesGcmSeal(wrapping_key_.Reveal(), "digest key", der);
        },
        .unwrap = [this](std::string_view wrapped) -> Result<SecretBytes> {
          auto opened = crypto::AesGcmOpen(wrapping_key_.Reveal(), "digest key", wrapped);
          if (!opened) return Status(ErrorCode::kInternalFailure, "does not open");
          return std::move(*opened);
        }};
    auto delivery = OpenLogDelivery(dir_.file("audit"), {.max_records_per_file = 3}, &clock_,
                                    std::move(protection));
    ASSERT_TRUE(delivery.ok()) << delivery.status().message();
    delivery_ = std::move(delivery).value();
  }

  void Record(const std::string& account, int n) {
    ASSERT_TRUE(trail_->AppendAndWait(Row(clock_.NowMillis(), account, n)).ok());
  }

  // A delivery pass once the index holds every record appended.
  Status Pass() {
    trail_->WaitIndexed();
    return delivery_->Pass();
  }
  Status Finish() {
    trail_->WaitIndexed();
    return delivery_->Finish();
  }

  ValidationReport Validate() {
    ValidationRequest request{.audit_dir = dir_.file("audit"),
                              .from_ms = kStart - 2 * kHour,
                              .to_ms = clock_.NowMillis(),
                              .public_keys = delivery_->PublicKeys()};
    ValidationReport report = ValidateLogs(request);
    last_report_ = FormatReport(request, report, /*verbose=*/true);
    return report;
  }

  std::vector<std::string> Files(const std::string& under) {
    std::vector<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_.file("audit/AWSLogs"))) {
      const std::string rel = fs::relative(e.path(), dir_.file("audit")).string();
      if (e.is_regular_file() && rel.find(under) != std::string::npos &&
          rel.ends_with(".json.gz")) {
        out.push_back(rel);
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string Problem(const ValidationReport& report, const std::string& object) {
    for (const auto& f : report.files) {
      if (f.object == object) return f.problem.empty() ? "valid" : f.problem;
    }
    return "not reported";
  }

  // Three digest periods of records: 2 + 4 + 1 records for one account, 1 for another.
  void DeliverThreeHours() {
    clock_.Set(kStart);
    Record("111122223333", 1);
    Record("111122223333", 2);
    Record("444455556666", 3);
    ASSERT_TRUE(Pass().ok());
    clock_.Set(kStart + kHour);
    for (int n = 4; n < 8; ++n) Record("111122223333", n);
    ASSERT_TRUE(Pass().ok());
    clock_.Set(kStart + 2 * kHour);
    Record("111122223333", 8);
    ASSERT_TRUE(Pass().ok());
    clock_.Set(kStart + 3 * kHour);
    ASSERT_TRUE(Pass().ok());
  }

  TempDir dir_;
  FakeClock clock_{kStart};
  SecretBytes wrapping_key_ = crypto::RandomSecret(32);
  bool unsealed_ = true;
  std::unique_ptr<AuditTrail> trail_;
  std::unique_ptr<LogDelivery> delivery_;
  std::string last_report_;
};

TEST_F(LogDeliveryTest, LogFilesHoldTheRecordsOfOneAccountAndRegionAsCloudTrailNamesThem) {
  DeliverThreeHours();
  const auto logs = Files("/CloudTrail/");
  // 2 + 1 (second account) + 4 split into files of at most 3 + 1.
  ASSERT_EQ(logs.size(), 5u);
  std::string all;
  for (const auto& object : logs) {
    EXPECT_TRUE(object.starts_with("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/05/") ||
                object.starts_with("AWSLogs/444455556666/CloudTrail/eu-west-1/2026/05/"))
        << object;
    EXPECT_NE(object.find("_CloudTrail_eu-west-1_2026052"), std::string::npos) << object;
    auto json = Gunzip(*ReadWholeFile(dir_.file("audit/" + object)));
    ASSERT_TRUE(json.has_value());
    EXPECT_TRUE(json->starts_with("{\"Records\":[{\"eventName\":\"GetSecretValue\"")) << *json;
    all += *json;
  }
  for (int n = 1; n <= 8; ++n) {
    EXPECT_NE(all.find("\"n\":" + std::to_string(n) + "}"), std::string::npos) << n;
  }
  // A second pass with nothing new delivers nothing.
  ASSERT_TRUE(Pass().ok());
  EXPECT_EQ(Files("/CloudTrail/").size(), 5u);
}

TEST_F(LogDeliveryTest, HourlyDigestsChainAndListEveryFileAndTheTrailValidates) {
  DeliverThreeHours();
  const auto digests = Files("/CloudTrail-Digest/");
  // Per account, a digest for every hour since its first file: 3 for the first, 3 (two empty)
  // for the second.
  ASSERT_EQ(digests.size(), 6u);
  auto first = ParseDigest(*Gunzip(*ReadWholeFile(dir_.file("audit/" + digests[0]))));
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(first->previous_object.has_value());
  auto second = ParseDigest(*Gunzip(*ReadWholeFile(dir_.file("audit/" + digests[1]))));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->previous_object, digests[0]);
  EXPECT_EQ(second->start_ms, first->end_ms);
  EXPECT_EQ(second->log_files.size(), 2u);  // the hour's 4 records in files of 3 and 1

  ValidationReport report = Validate();
  EXPECT_TRUE(report.ok()) << last_report_;
  EXPECT_EQ(report.digests_valid, 6) << last_report_;
  EXPECT_EQ(report.logs_valid, 5) << last_report_;
  EXPECT_NE(last_report_.find("6/6 digest files valid"), std::string::npos) << last_report_;
}

TEST_F(LogDeliveryTest, ATamperedRecordADeletedFileATruncatedDigestAndSwappedFilesAreNamed) {
  DeliverThreeHours();
  const std::string audit = dir_.file("audit/");
  const auto logs = Files("/111122223333/CloudTrail/");
  const auto digests = Files("/111122223333/CloudTrail-Digest/");
  ASSERT_EQ(logs.size(), 4u);
  ASSERT_EQ(digests.size(), 3u);

  // A record rewritten (re-compressed, so the file is a valid gzip file).
  std::string json = *Gunzip(*ReadWholeFile(audit + logs[0]));
  json.replace(json.find("GetSecretValue"), 14, "DescribeSecret");
  ASSERT_TRUE(WriteFileDurably(dir_.file("audit"), logs[0], Gzip(json)).ok());
  ValidationReport report = Validate();
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(Problem(report, logs[0]), "modified (hash value doesn't match the digest's)")
      << last_report_;
  EXPECT_EQ(report.logs_invalid, 1) << last_report_;

  // A file deleted.
  fs::remove(audit + logs[3]);
  report = Validate();
  EXPECT_TRUE(Problem(report, logs[3]).starts_with("deleted (not found")) << last_report_;

  // Two files swapped.
  fs::rename(audit + logs[1], audit + "swap");
  fs::rename(audit + logs[2], audit + logs[1]);
  fs::rename(audit + "swap", audit + logs[2]);
  report = Validate();
  EXPECT_TRUE(Problem(report, logs[1]).starts_with("modified")) << last_report_;
  EXPECT_TRUE(Problem(report, logs[2]).starts_with("modified")) << last_report_;

  // A digest truncated: itself and the link to it are named.
  const std::string digest = *ReadWholeFile(audit + digests[1]);
  ASSERT_TRUE(
      WriteFileDurably(dir_.file("audit"), digests[1], digest.substr(0, digest.size() / 2)).ok());
  report = Validate();
  EXPECT_EQ(Problem(report, digests[1]), "modified (not a whole gzip file)") << last_report_;
  EXPECT_EQ(Problem(report, digests[0]), "valid") << last_report_;
  EXPECT_EQ(report.digests_invalid, 1) << last_report_;
  EXPECT_NE(last_report_.find("INVALID: modified (not a whole gzip file)"), std::string::npos);

  // The second account's trail is untouched.
  for (const auto& object : Files("/444455556666/")) {
    EXPECT_EQ(Problem(report, object), "valid") << object;
  }
}

TEST_F(LogDeliveryTest, ADeletedDigestIsMissingFromTheChainAndARewrittenOneFailsItsSignature) {
  DeliverThreeHours();
  const std::string audit = dir_.file("audit/");
  const auto digests = Files("/111122223333/CloudTrail-Digest/");
  ASSERT_EQ(digests.size(), 3u);

  // Rewritten with a log file left out, hash and all consistent, but not re-signed.
  auto content = ParseDigest(*Gunzip(*ReadWholeFile(audit + digests[1])));
  ASSERT_TRUE(content.has_value());
  content->log_files.pop_back();
  ASSERT_TRUE(WriteFileDurably(dir_.file("audit"), digests[1], Gzip(DigestJson(*content))).ok());
  ValidationReport report = Validate();
  EXPECT_EQ(Problem(report, digests[1]), "modified (signature verification failed)")
      << last_report_;

  fs::remove(audit + digests[1]);
  report = Validate();
  EXPECT_TRUE(Problem(report, digests[1]).starts_with("missing (deleted: ")) << last_report_;
  EXPECT_FALSE(report.ok());
}

TEST_F(LogDeliveryTest, AKeyThatIsNotTheTrailsDoesNotValidateIt) {
  DeliverThreeHours();
  ValidationRequest request{
      .audit_dir = dir_.file("audit"), .from_ms = kStart - 2 * kHour, .to_ms = clock_.NowMillis()};
  auto keys = delivery_->PublicKeys();
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].fingerprint.size(), 32u);
  request.public_keys = keys;
  request.public_keys[0].public_der = crypto::GenerateRsaKey(2048).public_der;
  ValidationReport report = ValidateLogs(request);
  EXPECT_FALSE(report.ok());
  EXPECT_EQ(report.digests_invalid, 6);
}

TEST_F(LogDeliveryTest, WhileSealedLogFilesAreDeliveredAndDigestsWaitThenCoverEveryFile) {
  unsealed_ = false;
  DeliverThreeHours();
  EXPECT_EQ(Files("/CloudTrail/").size(), 5u);
  EXPECT_TRUE(Files("/CloudTrail-Digest/").empty());
  unsealed_ = true;
  ASSERT_TRUE(Pass().ok());
  // One digest per account covers the hours it waited.
  ASSERT_EQ(Files("/CloudTrail-Digest/").size(), 2u);
  ValidationReport report = Validate();
  EXPECT_TRUE(report.ok()) << last_report_;
  EXPECT_EQ(report.logs_valid, 5);
}

TEST_F(LogDeliveryTest, FinishClosesTheChainNowAndARestartedDeliveryContinuesIt) {
  clock_.Set(kStart + 1000);
  Record("111122223333", 1);
  clock_.Set(kStart + 2500);
  ASSERT_TRUE(Finish().ok());
  ASSERT_EQ(Files("/CloudTrail-Digest/").size(), 1u);
  ValidationReport report = Validate();
  EXPECT_TRUE(report.ok()) << last_report_;
  EXPECT_EQ(report.logs_valid, 1);

  // The same second: a new delivery's file goes to the next digest, not the closed one.
  delivery_.reset();
  OpenDelivery();
  Record("111122223333", 2);
  ASSERT_TRUE(Finish().ok());
  clock_.Set(kStart + kHour);
  ASSERT_TRUE(Pass().ok());
  report = Validate();
  EXPECT_TRUE(report.ok()) << last_report_;
  EXPECT_EQ(report.logs_valid, 2) << last_report_;
  EXPECT_EQ(report.logs_not_yet_digested, 0);
}

TEST_F(LogDeliveryTest, RetentionRemovesOldDaysAndTheChainGoesOn) {
  DeliverThreeHours();
  clock_.Set(kStart + 3 * 24 * kHour);
  Record("111122223333", 9);
  ASSERT_TRUE(Pass().ok());
  ASSERT_TRUE(delivery_->Prune(kStart + 2 * 24 * kHour).ok());
  for (const auto& object : Files("/")) {
    EXPECT_TRUE(object.find("/2026/05/31/") != std::string::npos) << object;
  }
  clock_.Set(kStart + 3 * 24 * kHour + kHour);
  ASSERT_TRUE(Pass().ok());
  ValidationRequest request{.audit_dir = dir_.file("audit"),
                            .from_ms = kStart + 3 * 24 * kHour - 1,
                            .to_ms = clock_.NowMillis(),
                            .public_keys = delivery_->PublicKeys()};
  ValidationReport report = ValidateLogs(request);
  EXPECT_TRUE(report.ok()) << FormatReport(request, report, true);
}

TEST_F(LogDeliveryTest, RetentionAndDeliveryMayRunOnDifferentThreads) {
  // The maintenance job prunes while the delivery job delivers: one ledger, serialized.
  std::atomic<bool> stop{false};
  std::thread pruner([&] {
    while (!stop) ASSERT_TRUE(delivery_->Prune(kStart - 24 * kHour).ok());
  });
  for (int n = 0; n < 20; ++n) {
    Record("111122223333", n);
    ASSERT_TRUE(Pass().ok());
  }
  stop = true;
  pruner.join();
  ASSERT_TRUE(Finish().ok());
  EXPECT_TRUE(Validate().ok()) << last_report_;
}

// A ledger whose first RecordDelivery fails, as if the process died after the files were
// renamed into place and before the ledger committed.
class LedgerFailingOnce : public AuditDeliveryLedger {
 public:
  explicit LedgerFailingOnce(std::unique_ptr<AuditDeliveryLedger> real) : real_(std::move(real)) {}
  Result<int64_t> DeliveredUpTo() override { return real_->DeliveredUpTo(); }
  Status RecordDelivery(const std::vector<DeliveredLogFile>& files, int64_t up_to) override {
    if (!failed_) {
      failed_ = true;
      return Status(ErrorCode::kServiceUnavailable, "crash before the ledger committed");
    }
    return real_->RecordDelivery(files, up_to);
  }
  Result<std::vector<std::pair<std::string, std::string>>> Chains() override {
    return real_->Chains();
  }
  Result<std::vector<DeliveredLogFile>> FilesDelivered(const std::string& a, const std::string& r,
                                                       EpochMillis s, EpochMillis e) override {
    return real_->FilesDelivered(a, r, s, e);
  }
  Result<std::optional<EpochMillis>> FirstDelivery(const std::string& a,
                                                   const std::string& r) override {
    return real_->FirstDelivery(a, r);
  }
  Result<std::optional<DeliveredDigest>> LastDigest(const std::string& a,
                                                    const std::string& r) override {
    return real_->LastDigest(a, r);
  }
  Status RecordDigest(const DeliveredDigest& d) override { return real_->RecordDigest(d); }
  Result<std::vector<DigestKeyRow>> DigestKeys() override { return real_->DigestKeys(); }
  Status AddDigestKey(const DigestKeyRow& k) override { return real_->AddDigestKey(k); }
  Status Prune(EpochMillis t) override { return real_->Prune(t); }

 private:
  std::unique_ptr<AuditDeliveryLedger> real_;
  bool failed_ = false;
};

TEST_F(LogDeliveryTest, FilesWrittenBeforeALostLedgerCommitAreWrittenAgainUnderTheSameNames) {
  const std::string path = dir_.file("audit/trail.db");
  auto records = OpenSqliteAuditRecords(path);
  auto ledger = OpenSqliteAuditDeliveryLedger(path);
  ASSERT_TRUE(records.ok() && ledger.ok());
  DigestKeyProtection protection{
      .available = [] { return true; },
      .wrap = [this](std::string_view der) -> Result<std::string> {
        return crypto::AesGcmSeal(wrapping_key_.Reveal(), "digest key", der);
      },
      .unwrap = [this](std::string_view wrapped) -> Result<SecretBytes> {
        return std::move(*crypto::AesGcmOpen(wrapping_key_.Reveal(), "digest key", wrapped));
      }};
  delivery_ = std::make_unique<LogDelivery>(
      LogDeliveryOptions{.audit_dir = dir_.file("audit"), .max_records_per_file = 3},
      std::move(records).value(), std::make_unique<LedgerFailingOnce>(std::move(ledger).value()),
      &clock_, protection);
  clock_.Set(kStart);
  for (int n = 1; n <= 4; ++n) Record("111122223333", n);
  EXPECT_FALSE(Pass().ok());  // the files are on disk, the ledger does not know them
  const auto written = Files("/CloudTrail/");
  ASSERT_EQ(written.size(), 2u);
  Record("111122223333", 5);  // more records arrive before the next pass
  ASSERT_TRUE(Pass().ok());
  // The same two names again (one now holds the fifth record too), and no orphan.
  EXPECT_EQ(Files("/CloudTrail/"), written);
  clock_.Set(kStart + kHour);
  ASSERT_TRUE(Pass().ok());
  ValidationReport report = Validate();
  EXPECT_TRUE(report.ok()) << last_report_;
  EXPECT_EQ(report.logs_valid, 2) << last_report_;
  EXPECT_EQ(report.logs_not_yet_digested, 0) << last_report_;
}

}  // namespace
}  // namespace coffer::audit
