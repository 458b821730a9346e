#include "store/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>

namespace coffer {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-store-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/coffer.db";
    auto s = OpenSqliteStore(path_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s.value());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Runs `sql` on the file directly, as another program (or a person) could.
  void ExecRaw(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  std::string dir_, path_;
  std::unique_ptr<Store> store_;
  Scope scope_{"123456789012", "us-east-1"};
};

// A store written before the counter (schema v10) gets it counted once, when migrated.
TEST_F(SqliteStoreTest, ParameterCountsAreBackFilledWhenTheSchemaIsMigrated) {
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    for (int i = 0; i < 7; ++i) {
                      ParameterRow row;
                      row.account = scope_.account;
                      row.region = scope_.region;
                      row.name = row.name_key = "q" + std::to_string(i);
                      row.parent = "/";
                      row.tier = i < 2 ? ParameterTier::kAdvanced : ParameterTier::kStandard;
                      row.data_type = "text";
                      row.version = 1;
                      COFFER_RETURN_IF_ERROR(w.parameters().Insert(&row));
                    }
                    return Status::Ok();
                  })
                  .ok());
  store_.reset();
  ExecRaw(
      "DROP TRIGGER parameters_counted_in; DROP TRIGGER parameters_counted_out;"
      "DROP TRIGGER parameters_recounted; DROP TABLE parameter_tier_counts;"
      "DROP TABLE cluster_nodes; DROP TABLE job_leases; DROP TABLE node_signal_counts;"
      "PRAGMA user_version = 10;");
  auto reopened = OpenSqliteStore(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  store_ = std::move(reopened.value());
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto standard,
                                            r.parameters().Count(scope_, ParameterTier::kStandard));
                    COFFER_ASSIGN_OR_RETURN(auto advanced,
                                            r.parameters().Count(scope_, ParameterTier::kAdvanced));
                    EXPECT_EQ(standard, 5);
                    EXPECT_EQ(advanced, 2);
                    return Status::Ok();
                  })
                  .ok());
}

TEST_F(SqliteStoreTest, RefusesNewerSchema) {
  store_.reset();
  ExecRaw("PRAGMA user_version=99");  // as a newer coffer would leave it
  auto s = OpenSqliteStore(path_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
}

// Enum-like columns hold AWS's text; text no enum names is an error, never a guessed value.
TEST_F(SqliteStoreTest, AnEnumColumnWithUnknownTextIsAnErrorNotAGuess) {
  KmsKeyRow key;
  key.key_id = "0b0e5d43-1f5c-4d22-9a43-2f4a6d1c7e01";
  key.account = scope_.account;
  key.region = scope_.region;
  key.arn = "arn:aws:kms:us-east-1:123456789012:key/" + key.key_id;
  key.state = KeyState::kPendingDeletion;
  key.manager = KeyManager::kCustomer;
  ASSERT_TRUE(store_->Write([&](StoreWriter& w) { return w.kms().InsertKey(key); }).ok());
  auto read = [&] {
    std::optional<KmsKeyRow> found;
    Status s = store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(found, r.kms().FindKey(key.key_id));
      return Status::Ok();
    });
    return std::make_pair(s, found);
  };
  auto [ok, found] = read();
  ASSERT_TRUE(ok.ok());
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->state, KeyState::kPendingDeletion);
  EXPECT_EQ(found->manager, KeyManager::kCustomer);

  ExecRaw("UPDATE kms_keys SET state = 'Frozen'");
  auto [bad, none] = read();
  EXPECT_EQ(bad.code(), ErrorCode::kInternalFailure);
  EXPECT_EQ(bad.message().find("Frozen"), std::string::npos) << "stored text is not echoed";
  EXPECT_NE(bad.message().find("state"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace coffer
