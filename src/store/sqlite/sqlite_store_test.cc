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

TEST_F(SqliteStoreTest, SecretsVersionsAndStagesPersistAcrossReopen) {
  SecretRow row;
  row.account = scope_.account;
  row.region = scope_.region;
  row.name = "app/db";
  row.arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";
  row.description = "db";
  row.created_ms = row.last_changed_ms = 1000;
  row.tags = {{"b", "2"}, {"a", "1"}};
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    COFFER_RETURN_IF_ERROR(w.secrets().Insert(&row));
                    SecretVersionRow v;
                    v.version_id = std::string(32, 'a');
                    v.created_ms = 1000;
                    v.kms_key_arn = "k";
                    v.envelope = std::string("\x01\x00\xff", 3);
                    COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(row.id, v));
                    return w.secrets().SetStage(row.id, "AWSCURRENT", v.version_id);
                  })
                  .ok());
  store_.reset();
  store_ = std::move(OpenSqliteStore(path_).value());

  ASSERT_TRUE(
      store_
          ->Read([&](StoreReader& r) -> Status {
            COFFER_ASSIGN_OR_RETURN(auto s, r.secrets().FindByName(scope_, "app/db"));
            EXPECT_TRUE(s);
            EXPECT_EQ(s->arn, row.arn);
            EXPECT_EQ(s->description, "db");
            EXPECT_EQ(s->tags, row.tags);  // order kept
            COFFER_ASSIGN_OR_RETURN(auto v, r.secrets().GetVersion(s->id, std::string(32, 'a')));
            EXPECT_TRUE(v);
            EXPECT_EQ(v->envelope, std::string("\x01\x00\xff", 3));
            EXPECT_EQ(v->stages, std::vector<std::string>{"AWSCURRENT"});
            COFFER_ASSIGN_OR_RETURN(
                auto other, r.secrets().FindByName({"123456789012", "eu-west-1"}, "app/db"));
            EXPECT_FALSE(other);  // regions are separate namespaces
            return Status::Ok();
          })
          .ok());
}

TEST_F(SqliteStoreTest, FailedWriteRollsBack) {
  Status s = store_->Write([&](StoreWriter& w) -> Status {
    COFFER_RETURN_IF_ERROR(w.deployment().PutMeta("k", "v"));
    return Status(ErrorCode::kInvalidParameterException, "boom");
  });
  EXPECT_EQ(s.code(), ErrorCode::kInvalidParameterException);
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto v, r.deployment().GetMeta("k"));
                    EXPECT_FALSE(v);
                    return Status::Ok();
                  })
                  .ok());
}

TEST_F(SqliteStoreTest, StageNamesOneVersion) {
  SecretRow row;
  row.account = scope_.account;
  row.region = scope_.region;
  row.name = "s";
  row.arn = "arn:s";
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    COFFER_RETURN_IF_ERROR(w.secrets().Insert(&row));
                    for (char c : {'a', 'b'}) {
                      SecretVersionRow v;
                      v.version_id = std::string(32, c);
                      v.envelope = "x";
                      COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(row.id, v));
                    }
                    COFFER_RETURN_IF_ERROR(w.secrets().SetStage(row.id, "L", std::string(32, 'a')));
                    return w.secrets().SetStage(row.id, "L", std::string(32, 'b'));
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto vs, r.secrets().ListVersions(row.id));
                    EXPECT_EQ(vs.size(), 2u);
                    EXPECT_TRUE(vs[0].stages.empty());
                    EXPECT_EQ(vs[1].stages, std::vector<std::string>{"L"});
                    return Status::Ok();
                  })
                  .ok());
}

// Parameters per tier are a counter the schema keeps; it must say what COUNT(*) says through
// inserts, tier changes, deletes and a reopen.
TEST_F(SqliteStoreTest, ParameterCountsPerTierFollowEveryWrite) {
  auto counts = [&](const Scope& scope) {
    std::pair<int64_t, int64_t> out;
    EXPECT_TRUE(store_
                    ->Read([&](StoreReader& r) -> Status {
                      COFFER_ASSIGN_OR_RETURN(
                          out.first, r.parameters().Count(scope, ParameterTier::kStandard));
                      COFFER_ASSIGN_OR_RETURN(
                          out.second, r.parameters().Count(scope, ParameterTier::kAdvanced));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  };
  auto counted = [&](const Scope& scope) {  // what a scan of the table says
    std::pair<int64_t, int64_t> out;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    for (auto [tier, n] : {std::pair("Standard", &out.first), std::pair("Advanced", &out.second)}) {
      const std::string sql = "SELECT COUNT(*) FROM parameters WHERE account = '" + scope.account +
                              "' AND region = '" + scope.region + "' AND tier = '" + tier + "'";
      sqlite3_stmt* stmt = nullptr;
      EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK);
      EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
      *n = sqlite3_column_int64(stmt, 0);
      sqlite3_finalize(stmt);
    }
    sqlite3_close(db);
    return out;
  };
  const Scope other{"210987654321", "eu-west-1"};
  std::vector<ParameterRow> rows;
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    for (int i = 0; i < 30; ++i) {
                      ParameterRow row;
                      const Scope& scope = i % 3 == 0 ? other : scope_;
                      row.account = scope.account;
                      row.region = scope.region;
                      row.name = row.name_key = "p" + std::to_string(i);
                      row.parent = "/";
                      row.tier = i % 4 == 0 ? ParameterTier::kAdvanced : ParameterTier::kStandard;
                      row.data_type = "text";
                      row.version = 1;
                      COFFER_RETURN_IF_ERROR(w.parameters().Insert(&row));
                      rows.push_back(row);
                    }
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(counts(scope_), counted(scope_));
  EXPECT_EQ(counts(other), counted(other));
  EXPECT_EQ(counts(scope_).first + counts(scope_).second, 20);
  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    for (size_t i = 0; i < rows.size(); i += 5) {  // Standard -> Advanced
                      rows[i].tier = ParameterTier::kAdvanced;
                      COFFER_RETURN_IF_ERROR(w.parameters().Update(rows[i]));
                    }
                    for (size_t i = 1; i < rows.size(); i += 7) {
                      COFFER_RETURN_IF_ERROR(w.parameters().Delete(rows[i].id));
                    }
                    return Status::Ok();
                  })
                  .ok());
  // A write that fails rolls its counts back with it.
  EXPECT_FALSE(store_
                   ->Write([&](StoreWriter& w) -> Status {
                     COFFER_RETURN_IF_ERROR(w.parameters().Delete(rows[2].id));
                     return Status(ErrorCode::kInternalFailure, "abandoned");
                   })
                   .ok());
  store_.reset();
  auto reopened = OpenSqliteStore(path_);
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(reopened.value());
  EXPECT_EQ(counts(scope_), counted(scope_));
  EXPECT_EQ(counts(other), counted(other));
  EXPECT_GT(counts(scope_).second, 0);
}

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

// The error contract every view states (store/deployment.h): a missing row is an empty
// result, changing a missing row is a no-op, a duplicate insert fails and rolls the write back.
TEST_F(SqliteStoreTest, ViewsKeepTheStatedErrorContract) {
  SecretRow row;
  row.account = scope_.account;
  row.region = scope_.region;
  row.name = "app/one";
  row.arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/one-AbCdEf";
  ASSERT_TRUE(store_->Write([&](StoreWriter& w) { return w.secrets().Insert(&row); }).ok());

  SecretRow same_name = row;
  same_name.arn += "x";
  Status duplicate = store_->Write([&](StoreWriter& w) -> Status {
    COFFER_RETURN_IF_ERROR(w.deployment().PutMeta("written-before-the-duplicate", "1"));
    return w.secrets().Insert(&same_name);
  });
  EXPECT_EQ(duplicate.code(), ErrorCode::kInternalFailure);

  ASSERT_TRUE(store_
                  ->Write([&](StoreWriter& w) -> Status {
                    SecretRow missing = row;
                    missing.id = row.id + 1000;
                    COFFER_RETURN_IF_ERROR(w.secrets().Update(missing));
                    COFFER_RETURN_IF_ERROR(w.secrets().Delete(missing.id));
                    COFFER_RETURN_IF_ERROR(w.parameters().Delete(424242));
                    return w.credentials().UpdateAccessKeyStatus("AKIANOSUCHKEY0000000",
                                                                 AccessKeyStatus::kInactive);
                  })
                  .ok());

  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto meta,
                                            r.deployment().GetMeta("written-before-the-duplicate"));
                    EXPECT_FALSE(meta) << "a failed write must roll back what it wrote first";
                    COFFER_ASSIGN_OR_RETURN(auto gone, r.secrets().FindByName(scope_, "app/two"));
                    EXPECT_FALSE(gone);
                    COFFER_ASSIGN_OR_RETURN(auto key, r.kms().FindKey("no-such-key"));
                    EXPECT_FALSE(key);
                    COFFER_ASSIGN_OR_RETURN(auto versions, r.secrets().ListVersions(row.id + 1000));
                    EXPECT_TRUE(versions.empty());
                    COFFER_ASSIGN_OR_RETURN(auto kept, r.secrets().FindByName(scope_, "app/one"));
                    EXPECT_TRUE(kept && kept->id == row.id);
                    return Status::Ok();
                  })
                  .ok());
}

}  // namespace
}  // namespace coffer
