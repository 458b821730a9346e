#include "audit/audit_journal.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "testing/scratch_dir.h"

namespace coffer::audit {
namespace {

AuditRow Row(int i) {
  AuditRow r;
  r.time_ms = 1000 + i;
  r.account = "111122223333";
  r.region = "eu-west-1";
  r.event_id = "evt-" + std::to_string(i);
  r.event_name = "GetSecretValue";
  r.event_source = "secretsmanager.amazonaws.com";
  r.username = "alice:with:colons";
  r.access_key_id = "AKIAEXAMPLE";
  r.read_only = true;
  r.resources.push_back({"AWS::SecretsManager::Secret", "arn:aws:secretsmanager:x:1:secret:a"});
  r.record = "{\"eventName\":\"GetSecretValue\",\"n\":" + std::to_string(i) + "}";
  return r;
}

std::string OnlySegment(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files.push_back(e.path());
  EXPECT_EQ(files.size(), 1u);
  return files.empty() ? "" : files[0];
}

TEST(AuditJournalTest, RowsRoundTripThroughTheEntryFormat) {
  AuditRow out;
  ASSERT_TRUE(DecodeJournalRow(EncodeJournalRow(Row(7)), &out));
  EXPECT_EQ(out.event_id, "evt-7");
  EXPECT_EQ(out.username, "alice:with:colons");
  EXPECT_EQ(out.resources.at(0).name, "arn:aws:secretsmanager:x:1:secret:a");
  EXPECT_EQ(out.record, Row(7).record);
  EXPECT_FALSE(DecodeJournalRow("2:xx", &out));
  EXPECT_FALSE(DecodeJournalRow(EncodeJournalRow(Row(7)) + "junk", &out));
}

TEST(AuditJournalTest, SignalsAndPrincipalRoundTripAndOlderEntriesReadWithout) {
  AuditRow row = Row(3);
  row.signals = SignalBit(AuditSignal::kSecretAccessDenied) |
                SignalBit(AuditSignal::kUnauthorizedSecretAccess);
  row.principal_arn = "arn:aws:sts::111122223333:assumed-role/app/task-1";
  AuditRow out;
  ASSERT_TRUE(DecodeJournalRow(EncodeJournalRow(row), &out));
  EXPECT_EQ(out.signals, row.signals);
  EXPECT_EQ(out.principal_arn, row.principal_arn);
  auto field = [](const std::string& v) { return std::to_string(v.size()) + ":" + v; };
  const std::string signals = field(std::to_string(row.signals));
  const std::string principal = field(row.principal_arn);
  // The same row as a journal of the second format held it: no principal field.
  std::string v2 = EncodeJournalRow(row);
  ASSERT_EQ(v2.substr(0, 3), "1:3");
  v2.replace(0, 3, "1:2");
  const size_t at = v2.find(signals + principal + "1:1");  // then one resource
  ASSERT_NE(at, std::string::npos);
  v2.erase(at + signals.size(), principal.size());
  AuditRow older;
  ASSERT_TRUE(DecodeJournalRow(v2, &older));
  EXPECT_EQ(older.signals, row.signals);
  EXPECT_EQ(older.principal_arn, "");
  // And as the first format held it: no signals either.
  std::string v1 = v2;
  v1.replace(0, 3, "1:1");
  v1.erase(at, signals.size());
  AuditRow oldest;
  ASSERT_TRUE(DecodeJournalRow(v1, &oldest));
  EXPECT_EQ(oldest.signals, 0u);
  EXPECT_EQ(oldest.event_id, row.event_id);
  EXPECT_EQ(oldest.resources.size(), 1u);
}

TEST(AuditJournalTest, ATornTailIsCutOffAndEverythingBeforeItIsRead) {
  coffer::testing::ScratchDir dir;
  const std::string journal_dir = dir.file("journal");
  int64_t complete_end = 0;
  {
    auto journal = AuditJournal::Open(journal_dir);
    ASSERT_TRUE(journal.ok());
    ASSERT_TRUE((*journal)->Append({Row(1), Row(2)}).ok());
    ASSERT_TRUE((*journal)->Append({Row(3)}).ok());
    complete_end = (*journal)->end();
  }
  // A crash in the middle of an append: half an entry at the end.
  const std::string segment = OnlySegment(journal_dir);
  {
    std::ofstream out(segment, std::ios::app | std::ios::binary);
    out << std::string("\x40\x00\x00\x00\x12\x34", 6) << "half an entry";
  }
  auto journal = AuditJournal::Open(journal_dir);
  ASSERT_TRUE(journal.ok());
  EXPECT_EQ((*journal)->end(), complete_end);
  EXPECT_EQ(static_cast<int64_t>(std::filesystem::file_size(segment)), complete_end);
  int64_t next = 0;
  auto rows = (*journal)->ReadFrom(0, 100, &next);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows.value().size(), 3u);
  EXPECT_EQ(rows.value()[2].event_id, "evt-3");
  EXPECT_EQ(next, complete_end);
  // Appends go on after the cut.
  ASSERT_TRUE((*journal)->Append({Row(4)}).ok());
  rows = (*journal)->ReadFrom(next, 100, &next);
  ASSERT_EQ(rows.value().size(), 1u);
  EXPECT_EQ(rows.value()[0].event_id, "evt-4");
}

TEST(AuditJournalTest, AnEntryDamagedBeforeTheEndIsNotReadAsTheEnd) {
  coffer::testing::ScratchDir dir;
  const std::string journal_dir = dir.file("journal");
  {
    auto journal = AuditJournal::Open(journal_dir);
    ASSERT_TRUE((*journal)->Append({Row(1), Row(2), Row(3)}).ok());
  }
  // One byte of the first entry's payload flipped: its CRC no longer matches.
  const std::string segment = OnlySegment(journal_dir);
  const auto size = std::filesystem::file_size(segment);
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('#');
  }
  // Not a torn tail (two whole entries follow): refused, naming the file, never cut short.
  auto journal = AuditJournal::Open(journal_dir);
  ASSERT_FALSE(journal.ok());
  EXPECT_NE(journal.status().message().find(segment), std::string::npos)
      << journal.status().message();
  EXPECT_EQ(std::filesystem::file_size(segment), size);
}

TEST(AuditJournalTest, SegmentsTheIndexHoldsAreRemoved) {
  coffer::testing::ScratchDir dir;
  const std::string journal_dir = dir.file("journal");
  auto journal = AuditJournal::Open(journal_dir);
  ASSERT_TRUE(journal.ok());
  ASSERT_TRUE((*journal)->Append({Row(1)}).ok());
  const int64_t first_end = (*journal)->end();
  ASSERT_TRUE((*journal)->RemoveBefore(first_end).ok());
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(journal_dir),
                          std::filesystem::directory_iterator()),
            1);  // the segment being appended to stays
}

}  // namespace
}  // namespace coffer::audit
