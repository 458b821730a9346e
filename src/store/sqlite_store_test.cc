#include "store/sqlite_store.h"

#include <gtest/gtest.h>
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
                    COFFER_RETURN_IF_ERROR(w.InsertSecret(&row));
                    SecretVersionRow v;
                    v.version_id = std::string(32, 'a');
                    v.created_ms = 1000;
                    v.kms_key_arn = "k";
                    v.envelope = std::string("\x01\x00\xff", 3);
                    COFFER_RETURN_IF_ERROR(w.InsertVersion(row.id, v));
                    return w.SetStage(row.id, "AWSCURRENT", v.version_id);
                  })
                  .ok());
  store_.reset();
  store_ = std::move(OpenSqliteStore(path_).value());

  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto s, r.FindSecretByName(scope_, "app/db"));
                    EXPECT_TRUE(s);
                    EXPECT_EQ(s->arn, row.arn);
                    EXPECT_EQ(s->description, "db");
                    EXPECT_EQ(s->tags, row.tags);  // order kept
                    COFFER_ASSIGN_OR_RETURN(auto v, r.GetVersion(s->id, std::string(32, 'a')));
                    EXPECT_TRUE(v);
                    EXPECT_EQ(v->envelope, std::string("\x01\x00\xff", 3));
                    EXPECT_EQ(v->stages, std::vector<std::string>{"AWSCURRENT"});
                    COFFER_ASSIGN_OR_RETURN(
                        auto other, r.FindSecretByName({"123456789012", "eu-west-1"}, "app/db"));
                    EXPECT_FALSE(other);  // regions are separate namespaces
                    return Status::Ok();
                  })
                  .ok());
}

TEST_F(SqliteStoreTest, FailedWriteRollsBack) {
  Status s = store_->Write([&](StoreWriter& w) -> Status {
    COFFER_RETURN_IF_ERROR(w.PutMeta("k", "v"));
    return Status("InvalidParameterException", "boom");
  });
  EXPECT_EQ(s.code(), "InvalidParameterException");
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto v, r.GetMeta("k"));
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
                    COFFER_RETURN_IF_ERROR(w.InsertSecret(&row));
                    for (char c : {'a', 'b'}) {
                      SecretVersionRow v;
                      v.version_id = std::string(32, c);
                      v.envelope = "x";
                      COFFER_RETURN_IF_ERROR(w.InsertVersion(row.id, v));
                    }
                    COFFER_RETURN_IF_ERROR(w.SetStage(row.id, "L", std::string(32, 'a')));
                    return w.SetStage(row.id, "L", std::string(32, 'b'));
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Read([&](StoreReader& r) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto vs, r.ListVersions(row.id));
                    EXPECT_EQ(vs.size(), 2u);
                    EXPECT_TRUE(vs[0].stages.empty());
                    EXPECT_EQ(vs[1].stages, std::vector<std::string>{"L"});
                    return Status::Ok();
                  })
                  .ok());
}

TEST_F(SqliteStoreTest, RefusesNewerSchema) {
  store_.reset();
  // Pretend a newer coffer wrote this file.
  ASSERT_EQ(system(("sqlite3 " + path_ + " 'PRAGMA user_version=99' 2>/dev/null || true").c_str()),
            0);
  auto s = OpenSqliteStore(path_);
  if (s.ok()) GTEST_SKIP() << "sqlite3 shell not installed";
  EXPECT_NE(s.status().message().find("newer"), std::string::npos);
}

}  // namespace
}  // namespace coffer
