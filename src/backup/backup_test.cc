#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "backup/backup_file.h"
#include "backup/backup_maker.h"
#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/scratch_dir.h"

namespace coffer::backup {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// A deployment sealed with `init` and unsealed, whose store holds a marker to find in restores
// (and, with `large`, enough to need several parts).
struct Deployment {
  explicit Deployment(SealInit init, bool large = false) {
    store = std::move(OpenSqliteStore(dir.file("coffer.db")).value());
    keyring = std::make_unique<Keyring>(store.get(), &clock);
    seal = std::make_unique<SealManager>(store.get(), keyring.get());
    const bool passphrase = init.type == SealType::kPassphrase;
    EXPECT_TRUE(store
                    ->Write([&](StoreWriter& w) -> Status {
                      COFFER_ASSIGN_OR_RETURN(result, SealManager::Initialize(w, init));
                      COFFER_RETURN_IF_ERROR(w.deployment().PutMeta("marker", "before backup"));
                      if (large) {
                        COFFER_RETURN_IF_ERROR(
                            w.deployment().PutMeta("ballast", std::string(2'500'000, 'b')));
                      }
                      return Status::Ok();
                    })
                    .ok());
    EXPECT_TRUE(seal->Load().ok());
    EXPECT_TRUE(seal->UnsealWithKey(result.unseal_key).ok());
    (void)passphrase;
    maker = std::make_unique<BackupMaker>(store.get(), keyring.get(), seal.get(), "111122223333",
                                          dir.file("backup-staging"), &clock);
  }

  testing::ScratchDir dir;
  FakeClock clock{1767225600000};
  std::unique_ptr<Store> store;
  std::unique_ptr<Keyring> keyring;
  std::unique_ptr<SealManager> seal;
  std::unique_ptr<BackupMaker> maker;
  SealInitResult result;
};

SealInit Shamir() { return SealInit{.type = SealType::kShamir, .shares = 5, .threshold = 3}; }

// The marker in the store a backup decrypts to, read as a server would read it.
std::string MarkerIn(const std::string& snapshot, const SecretBytes& unseal_key) {
  auto store = OpenSqliteStore(snapshot);
  if (!store.ok()) return "(no store: " + store.status().message() + ")";
  if (!Keyring::CheckUnsealKey(store->get(), unseal_key).ok()) return "(key does not open it)";
  std::optional<std::string> marker;
  (void)(*store)->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(marker, r.deployment().GetMeta("marker"));
    return Status::Ok();
  });
  return marker.value_or("(none)");
}

TEST(Backup, ShamirBackupOpensWithAnyThresholdOfSharesAndHoldsTheStoreAsOfTheSnapshot) {
  Deployment d(Shamir());
  const std::string file = d.dir.file("b.cbk");
  auto header = d.maker->Create(file);
  ASSERT_TRUE(header.ok()) << header.status().message();
  // A write after the snapshot is not in it.
  ASSERT_TRUE(
      d.store
          ->Write([](StoreWriter& w) { return w.deployment().PutMeta("marker", "after backup"); })
          .ok());
  auto read = ReadBackupHeader(file);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(read->seal.type, "shamir");
  EXPECT_EQ(read->seal.threshold, 3);
  EXPECT_EQ(read->engine, "sqlite");
  EXPECT_EQ(read->operator_account, "111122223333");

  UnsealMaterial material;
  material.shares = {d.result.shares[4], d.result.shares[0], d.result.shares[2]};
  auto key = UnsealKeyFor(read->seal, material);
  ASSERT_TRUE(key.ok()) << key.status().message();
  const std::string out = d.dir.file("restored.db");
  ASSERT_TRUE(DecryptBackup(file, *key, out).ok());
  EXPECT_EQ(MarkerIn(out, *key), "before backup");
  EXPECT_EQ(std::filesystem::status(out).permissions() & std::filesystem::perms::group_all,
            std::filesystem::perms::none);

  material.shares.pop_back();
  EXPECT_EQ(UnsealKeyFor(read->seal, material).status().code(), ErrorCode::kInvalidParameter)
      << "two shares of a 3-of-5 seal";
  material.shares.push_back(d.result.shares[4]);
  EXPECT_EQ(UnsealKeyFor(read->seal, material).status().code(), ErrorCode::kInvalidParameter)
      << "the same share twice counts once";
  Deployment other(Shamir());
  material.shares = {other.result.shares[0], d.result.shares[1], d.result.shares[2]};
  EXPECT_EQ(UnsealKeyFor(read->seal, material).status().code(), ErrorCode::kInvalidParameter)
      << "another deployment's share";
  EXPECT_EQ(DecryptBackup(file, other.result.unseal_key, "").code(),
            ErrorCode::kInvalidUnsealKeyException);
}

TEST(Backup, PassphraseBackupOpensOnlyWithThePassphrase) {
  SealInit init{.type = SealType::kPassphrase};
  init.passphrase = SecretBytes(std::string_view("correct horse battery staple"));
  Deployment d(std::move(init));
  const std::string file = d.dir.file("b.cbk");
  ASSERT_TRUE(d.maker->Create(file).ok());
  auto header = ReadBackupHeader(file);
  ASSERT_TRUE(header.ok());
  UnsealMaterial wrong;
  wrong.passphrase = SecretBytes(std::string_view("incorrect horse"));
  EXPECT_EQ(UnsealKeyFor(header->seal, wrong).status().code(),
            ErrorCode::kInvalidUnsealKeyException);
  UnsealMaterial right;
  right.passphrase = SecretBytes(std::string_view("correct horse battery staple"));
  auto key = UnsealKeyFor(header->seal, right);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(DecryptBackup(file, *key, "").ok());
  EXPECT_EQ(UnsealKeyFor(header->seal, UnsealMaterial{}).status().code(),
            ErrorCode::kInvalidParameter);
}

TEST(Backup, BackupTakenBeforeARekeyOpensWithTheOldSharesOnly) {
  Deployment d(Shamir());
  const std::string before = d.dir.file("before.cbk");
  ASSERT_TRUE(d.maker->Create(before).ok());
  auto rekeyed = d.seal->Rekey(Shamir(), nullptr);
  ASSERT_TRUE(rekeyed.ok()) << rekeyed.status().message();
  const std::string after = d.dir.file("after.cbk");
  ASSERT_TRUE(d.maker->Create(after).ok());

  auto old_header = ReadBackupHeader(before);
  auto new_header = ReadBackupHeader(after);
  ASSERT_TRUE(old_header.ok() && new_header.ok());
  UnsealMaterial old_shares, new_shares;
  old_shares.shares = {d.result.shares[0], d.result.shares[1], d.result.shares[2]};
  new_shares.shares = {rekeyed->shares[0], rekeyed->shares[1], rekeyed->shares[2]};
  auto old_key = UnsealKeyFor(old_header->seal, old_shares);
  ASSERT_TRUE(old_key.ok());
  EXPECT_TRUE(DecryptBackup(before, *old_key, "").ok());
  EXPECT_EQ(UnsealKeyFor(old_header->seal, new_shares).status().code(),
            ErrorCode::kInvalidParameter);
  auto new_key = UnsealKeyFor(new_header->seal, new_shares);
  ASSERT_TRUE(new_key.ok());
  const std::string out = d.dir.file("after.db");
  ASSERT_TRUE(DecryptBackup(after, *new_key, out).ok());
  EXPECT_EQ(MarkerIn(out, *new_key), "before backup");
  EXPECT_EQ(DecryptBackup(after, *old_key, "").code(), ErrorCode::kInvalidUnsealKeyException);
}

// Every change to a backup is refused: a flipped bit anywhere, a part cut off, moved or
// repeated, bytes added.
TEST(Backup, AModifiedOrTruncatedBackupIsRefused) {
  Deployment d(SealInit{.type = SealType::kFile}, /*large=*/true);
  const std::string file = d.dir.file("b.cbk");
  ASSERT_TRUE(d.maker->Create(file).ok());
  const std::string good = ReadAll(file);
  const SecretBytes& key = d.result.unseal_key;
  ASSERT_TRUE(DecryptBackup(file, key, "").ok());
  auto header = ReadBackupHeader(file);
  ASSERT_TRUE(header.ok());
  ASSERT_GT(header->snapshot_bytes, static_cast<int64_t>(2 * kBackupChunkBytes))
      << "the test needs several parts";

  // Where the parts start.
  const size_t header_len = (static_cast<uint8_t>(good[9]) << 24) |
                            (static_cast<uint8_t>(good[10]) << 16) |
                            (static_cast<uint8_t>(good[11]) << 8) | static_cast<uint8_t>(good[12]);
  std::vector<size_t> parts;
  for (size_t at = 13 + header_len; at < good.size();) {
    parts.push_back(at);
    const size_t n = (static_cast<uint8_t>(good[at]) << 24) |
                     (static_cast<uint8_t>(good[at + 1]) << 16) |
                     (static_cast<uint8_t>(good[at + 2]) << 8) | static_cast<uint8_t>(good[at + 3]);
    at += 4 + n;
  }
  ASSERT_GE(parts.size(), 3u);

  auto refused = [&](const std::string& bytes, const std::string& what) {
    WriteAll(file, bytes);
    Status s = DecryptBackup(file, key, "");
    EXPECT_FALSE(s.ok()) << what;
    EXPECT_NE(s.code(), ErrorCode::kInternalFailure) << what << ": " << s.message();
  };
  for (size_t at : {size_t{3}, size_t{20}, header_len / 2 + 13, parts[0] + 2, parts[0] + 100,
                    parts[1] + 50'000, good.size() - 1}) {
    std::string bad = good;
    bad[at] = static_cast<char>(bad[at] ^ 0x01);
    refused(bad, "a bit flipped at " + std::to_string(at));
  }
  refused(good.substr(0, parts.back()), "the last part cut off at a part boundary");
  refused(good.substr(0, good.size() - 7), "the last part cut short");
  refused(good.substr(0, 11), "cut in the header");
  refused(good + "x", "a byte appended");
  {
    std::string swapped = good.substr(0, parts[0]) + good.substr(parts[1], parts[2] - parts[1]) +
                          good.substr(parts[0], parts[1] - parts[0]) + good.substr(parts[2]);
    refused(swapped, "two parts swapped");
  }
  {
    std::string repeated = good.substr(0, parts[1]) + good.substr(parts[0], parts[1] - parts[0]) +
                           good.substr(parts[1]);
    refused(repeated, "a part repeated");
  }
  WriteAll(file, good);
  EXPECT_TRUE(DecryptBackup(file, key, "").ok());
  WriteAll(file, "not a backup at all");
  EXPECT_EQ(ReadBackupHeader(file).status().code(), ErrorCode::kInvalidParameter);
}

int64_t CountEvents(Store* store, const std::string& state) {
  int64_t n = 0;
  (void)store->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto events, r.events().List(0, 1000));
    for (const auto& e : events) {
      if (e.source == "aws.backup" &&
          e.detail.find("\"state\":\"" + state + "\"") != std::string::npos)
        ++n;
    }
    return Status::Ok();
  });
  return n;
}

TEST(Backup, ScheduledBackupsAreMadeWhenDueKeptToTheRetentionAndRecordedAsEvents) {
  Deployment d(SealInit{.type = SealType::kFile});
  ScheduleOptions schedule{
      .dir = d.dir.file("scheduled"), .interval = std::chrono::hours(1), .retain = 2};
  auto files = [&] {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(schedule.dir))
      names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  ASSERT_TRUE(d.maker->RunScheduledIfDue(schedule).ok());
  ASSERT_EQ(files().size(), 1u);
  d.clock.Advance(std::chrono::minutes(59));
  ASSERT_TRUE(d.maker->RunScheduledIfDue(schedule).ok());
  EXPECT_EQ(files().size(), 1u) << "not due yet";
  d.clock.Advance(std::chrono::minutes(1));
  ASSERT_TRUE(d.maker->RunScheduledIfDue(schedule).ok());
  d.clock.Advance(std::chrono::hours(1));
  ASSERT_TRUE(d.maker->RunScheduledIfDue(schedule).ok());
  const auto kept = files();
  ASSERT_EQ(kept.size(), 2u) << "the oldest beyond the retention is removed";
  EXPECT_EQ(kept[0], "coffer-backup-20260101T010000Z.cbk");
  EXPECT_EQ(kept[1], "coffer-backup-20260101T020000Z.cbk");
  EXPECT_TRUE(DecryptBackup(schedule.dir + "/" + kept[1], d.result.unseal_key, "").ok());
  EXPECT_EQ(CountEvents(d.store.get(), "COMPLETED"), 3);
  EXPECT_EQ(CountEvents(d.store.get(), "FAILED"), 0);

  // A directory that cannot be written: the failure is an event and a metric.
  WriteAll(d.dir.file("not-a-dir"), "x");
  ScheduleOptions broken{.dir = d.dir.file("not-a-dir") + "/sub", .retain = 2};
  EXPECT_FALSE(d.maker->RunScheduledIfDue(broken).ok());
  ScheduleOptions unwritable{.dir = d.dir.file("not-a-dir"), .retain = 2};
  EXPECT_FALSE(d.maker->RunScheduledIfDue(unwritable).ok());
  EXPECT_EQ(CountEvents(d.store.get(), "FAILED"), 2);
  EXPECT_NE(d.maker->PrometheusText().find("coffer_backups_failed_total 2\n"), std::string::npos)
      << d.maker->PrometheusText();
  EXPECT_NE(d.maker->PrometheusText().find("coffer_backups_completed_total 3\n"),
            std::string::npos);
}

TEST(Backup, StagedBackupsAreFetchedInPartsAndOnlyByTheirIds) {
  Deployment d(SealInit{.type = SealType::kFile}, /*large=*/true);
  auto made = d.maker->Handle("POST", "/coffer/backups", {}, {});
  ASSERT_TRUE(made.ok()) << made.status().message();
  const std::string id(made->at("BackupId").as_string());
  const int64_t bytes = made->at("Bytes").as_int64();
  std::string fetched;
  while (static_cast<int64_t>(fetched.size()) < bytes) {
    auto part = d.maker->Handle("GET", "/coffer/backups/part",
                                {{"BackupId", id}, {"Offset", std::to_string(fetched.size())}}, {});
    ASSERT_TRUE(part.ok()) << part.status().message();
    auto data = crypto::Base64Decode(part->at("Data").as_string());
    ASSERT_TRUE(data && !data->empty());
    fetched += *data;
  }
  WriteAll(d.dir.file("fetched.cbk"), fetched);
  EXPECT_TRUE(DecryptBackup(d.dir.file("fetched.cbk"), d.result.unseal_key, "").ok());
  for (const std::string bad : {"../coffer.db", "00000000-0000-0000-0000-000000000000", ""}) {
    EXPECT_EQ(
        d.maker->Handle("GET", "/coffer/backups/part", {{"BackupId", bad}}, {}).status().code(),
        ErrorCode::kResourceNotFoundException)
        << bad;
  }
  EXPECT_EQ(d.maker->Handle("GET", "/coffer/backups/part", {{"BackupId", id}, {"Offset", "-1"}}, {})
                .status()
                .code(),
            ErrorCode::kInvalidParameterException);
  ASSERT_TRUE(
      d.maker->Handle("POST", "/coffer/backups/delete", {}, boost::json::object{{"BackupId", id}})
          .ok());
  EXPECT_EQ(d.maker->Handle("GET", "/coffer/backups/part", {{"BackupId", id}}, {}).status().code(),
            ErrorCode::kResourceNotFoundException);
}

}  // namespace
}  // namespace coffer::backup
