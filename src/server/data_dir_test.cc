#include "server/data_dir.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace coffer {
namespace {

class DataDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-datadir-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Commits `transactions` writes in WAL mode with checkpoints off, and copies the log aside
  // while the connection is still open (closing would checkpoint and delete it).
  std::string MakeWal(int transactions) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open((dir_ + "/t.db").c_str(), &db), SQLITE_OK);
    auto exec = [db](const std::string& sql) {
      EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    };
    exec("PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA synchronous=FULL;");
    exec("CREATE TABLE t (v TEXT)");
    for (int i = 1; i < transactions; ++i) {
      exec("INSERT INTO t VALUES ('" + std::string(3000, static_cast<char>('a' + i % 26)) + "')");
    }
    std::string copy = dir_ + "/copy.db-wal";
    std::filesystem::copy_file(dir_ + "/t.db-wal", copy);
    sqlite3_close(db);
    return copy;
  }

  static std::string Bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }
  static void Write(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  std::string dir_;
};

TEST_F(DataDirTest, ASecondLockOnTheSameDirectoryIsRefusedAndNamesTheHolder) {
  {
    auto first = DataDirLock::Acquire(dir_);
    ASSERT_TRUE(first.ok()) << first.status().message();
    auto second = DataDirLock::Acquire(dir_);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(second.status().message().find("pid " + std::to_string(getpid())), std::string::npos)
        << second.status().message();
  }
  EXPECT_TRUE(DataDirLock::Acquire(dir_).ok());  // the first was released
}

TEST_F(DataDirTest, AnEntryOfTheWrongTypeIsNamed) {
  ASSERT_EQ(mkdir((dir_ + "/root.key").c_str(), 0700), 0);
  auto contents = InspectDataDir(dir_);
  ASSERT_FALSE(contents.ok());
  EXPECT_EQ(contents.status().code(), ErrorCode::kInvalidParameter);
  EXPECT_NE(contents.status().message().find("root.key is a directory"), std::string::npos)
      << contents.status().message();
  Write(dir_ + "/file", "x");
  auto not_dir = InspectDataDir(dir_ + "/file");
  ASSERT_FALSE(not_dir.ok());
  EXPECT_NE(not_dir.status().message().find("not a directory"), std::string::npos);
}

TEST_F(DataDirTest, ContentsTellStoreKeyLogAndForeignFilesApart) {
  Write(dir_ + "/coffer.db", "");
  Write(dir_ + "/root.key", "k");
  Write(dir_ + "/notes.txt", "n");
  auto contents = InspectDataDir(dir_);
  ASSERT_TRUE(contents.ok());
  EXPECT_FALSE(contents->store);  // empty
  EXPECT_TRUE(contents->root_key);
  EXPECT_FALSE(contents->wal);
  EXPECT_EQ(contents->foreign, std::vector<std::string>{"notes.txt"});
}

TEST_F(DataDirTest, AnIntactLogHasEveryTransaction) {
  auto report = ScanWal(MakeWal(5));
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->present);
  EXPECT_FALSE(report->bad_header);
  EXPECT_EQ(report->first_bad_frame, -1);
  EXPECT_EQ(report->valid_commits, 5);
  EXPECT_EQ(report->dropped_commits, 0);
  EXPECT_EQ(report->lost_acknowledged(), 0);
  EXPECT_FALSE(ScanWal(dir_ + "/absent-wal")->present);
}

TEST_F(DataDirTest, ACorruptFrameInTheMiddleLosesTheTransactionsAfterIt) {
  std::string wal = MakeWal(6);
  std::string bytes = Bytes(wal);
  const uint32_t page = (static_cast<uint8_t>(bytes[8]) << 24) |
                        (static_cast<uint8_t>(bytes[9]) << 16) |
                        (static_cast<uint8_t>(bytes[10]) << 8) | static_cast<uint8_t>(bytes[11]);
  // Flip a byte in the page data of the third frame: SQLite drops it and everything after.
  const size_t frame3 = 32 + 2 * (24 + size_t{page});
  bytes[frame3 + 24 + 100] ^= 0x5a;
  Write(wal, bytes);
  auto report = ScanWal(wal);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->first_bad_frame, 2);
  EXPECT_GE(report->dropped_commits, 3);
  EXPECT_GE(report->lost_acknowledged(), 2);
  EXPECT_NE(report->Describe().find("acknowledged write(s) would be lost"), std::string::npos)
      << report->Describe();
}

TEST_F(DataDirTest, ATornLastTransactionIsNotDamage) {
  std::string wal = MakeWal(4);
  std::string bytes = Bytes(wal);
  const uint32_t page = (static_cast<uint8_t>(bytes[8]) << 24) |
                        (static_cast<uint8_t>(bytes[9]) << 16) |
                        (static_cast<uint8_t>(bytes[10]) << 8) | static_cast<uint8_t>(bytes[11]);
  // The last frame's page half written, as a crash during the final write leaves it.
  const size_t frame = 24 + size_t{page};
  const size_t last = 32 + ((bytes.size() - 32) / frame - 1) * frame;
  for (size_t i = last + 24 + page / 2; i < last + frame; ++i) bytes[i] = 0;
  Write(wal, bytes);
  auto report = ScanWal(wal);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->dropped_commits, 1);
  EXPECT_EQ(report->valid_commits, 3);
  EXPECT_EQ(report->lost_acknowledged(), 0);
}

TEST_F(DataDirTest, ADamagedHeaderDropsTheWholeLog) {
  std::string wal = MakeWal(3);
  std::string bytes = Bytes(wal);
  bytes[12] ^= 0x01;  // the checkpoint sequence, covered by the header checksum
  Write(wal, bytes);
  auto report = ScanWal(wal);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->bad_header);
  EXPECT_EQ(report->valid_commits, 0);
  EXPECT_EQ(report->dropped_commits, 3);
}

}  // namespace
}  // namespace coffer
