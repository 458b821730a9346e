// The store's contract, checked on every engine: SQLite, and PostgreSQL when the unit tests run
// on a throwaway server (tests/e2e/with_postgres.py sets COFFER_TEST_POSTGRES_URL).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"
#include "testing/scratch_dir.h"
#include "testing/test_store.h"

namespace coffer {
namespace {

class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = test_support::OpenTestStore(dir_.path(), &schema_.name);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s.value());
  }
  // The same store opened anew, as after a restart.
  Result<std::unique_ptr<Store>> Reopen() {
    return test_support::ReopenTestStore(dir_.path(), schema_.name);
  }

  testing::ScratchDir dir_;
  test_support::ScopedTestSchema schema_;  // before the store: dropped after it closes
  std::unique_ptr<Store> store_;
  Scope scope_{"123456789012", "us-east-1"};
};

TEST_F(StoreConformanceTest, SecretsVersionsAndStagesPersistAcrossReopen) {
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
  store_ = std::move(Reopen().value());

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

TEST_F(StoreConformanceTest, FailedWriteRollsBack) {
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

TEST_F(StoreConformanceTest, StageNamesOneVersion) {
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
TEST_F(StoreConformanceTest, ParameterCountsPerTierFollowEveryWrite) {
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
    for (auto [tier, n] : {std::pair("Standard", &out.first), std::pair("Advanced", &out.second)}) {
      auto scanned = test_support::QueryTestStoreInt(
          dir_.path(), schema_.name,
          "SELECT COUNT(*) FROM parameters WHERE account = '" + scope.account + "' AND region = '" +
              scope.region + "' AND tier = '" + tier + "'");
      EXPECT_TRUE(scanned.ok()) << scanned.status().message();
      *n = scanned.ok() ? *scanned : -1;
    }
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
  auto reopened = Reopen();
  ASSERT_TRUE(reopened.ok());
  store_ = std::move(reopened.value());
  EXPECT_EQ(counts(scope_), counted(scope_));
  EXPECT_EQ(counts(other), counted(other));
  EXPECT_GT(counts(scope_).second, 0);
}

// The error contract every view states (store/deployment.h): a missing row is an empty
// result, changing a missing row is a no-op, a duplicate insert fails and rolls the write back.
TEST_F(StoreConformanceTest, ViewsKeepTheStatedErrorContract) {
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

// Change counts tag caches: every committed write moves them, on every handle on the store (a
// PostgreSQL store's handles are the nodes serving it), and nothing else does.
TEST_F(StoreConformanceTest, ChangeCountsMoveWithEveryCommittedWrite) {
  auto nothing = [](StoreWriter&) { return Status::Ok(); };
  const ChangeCounts before = store_->Changes();
  ASSERT_TRUE(store_->Write(nothing).ok());
  ChangeCounts after = store_->Changes();
  EXPECT_EQ(after.writes, before.writes + 1);
  EXPECT_EQ(after.identity_writes, before.identity_writes);
  ASSERT_TRUE(store_->WriteIdentity(nothing).ok());
  ChangeCounts identity = store_->Changes();
  EXPECT_EQ(identity.writes, after.writes + 1);
  EXPECT_EQ(identity.identity_writes, after.identity_writes + 1);
  EXPECT_FALSE(store_
                   ->WriteIdentity([](StoreWriter&) {
                     return Status(ErrorCode::kInvalidParameterException, "rolled back");
                   })
                   .ok());
  ASSERT_TRUE(store_->Read([](StoreReader&) { return Status::Ok(); }).ok());
  ASSERT_TRUE(store_->Coordinate([](ClusterView&) { return Status::Ok(); }).ok());
  after = store_->Changes();
  EXPECT_EQ(after.writes, identity.writes) << "a rolled-back write, a read and coordination";
  EXPECT_EQ(after.identity_writes, identity.identity_writes);
  {
    // Within a pin the counts are read once, and again after the pinning thread writes.
    ChangeCountsPin pin(store_.get());
    EXPECT_EQ(store_->CommittedWrites(), after.writes);
    ASSERT_TRUE(store_->Write(nothing).ok());
    EXPECT_EQ(store_->CommittedWrites(), after.writes + 1) << "a request sees its own write";
  }
  if (schema_.name.empty()) return;  // SQLite: one process serves the store at a time
  auto other = Reopen();
  ASSERT_TRUE(other.ok()) << other.status().message();
  const ChangeCounts seen = (*other)->Changes();
  ASSERT_TRUE(store_->WriteIdentity(nothing).ok());
  EXPECT_EQ((*other)->Changes().writes, seen.writes + 1) << "another node's write is counted";
  EXPECT_EQ((*other)->Changes().identity_writes, seen.identity_writes + 1);
}

TEST_F(StoreConformanceTest, TheClusterViewKeepsNodesAndJobLeases) {
  NodeRow a{"node-a", "host-a:4600", false, 1000, 5000};
  NodeRow b{"node-b", "host-b:4600", true, 2000, 3000};
  ASSERT_TRUE(store_
                  ->Coordinate([&](ClusterView& c) -> Status {
                    COFFER_RETURN_IF_ERROR(c.PutNode(a));
                    COFFER_RETURN_IF_ERROR(c.PutNode(b));
                    a.heartbeat_ms = 7000;
                    COFFER_RETURN_IF_ERROR(c.PutNode(a));  // a report replaces the row
                    COFFER_ASSIGN_OR_RETURN(auto none, c.JobLeaseHolder("alarms"));
                    EXPECT_FALSE(none.has_value());
                    COFFER_RETURN_IF_ERROR(c.SetJobLeaseHolder("alarms", "node-b", 3000));
                    return c.SetJobLeaseHolder("alarms", "node-a", 7000);
                  })
                  .ok());
  ASSERT_TRUE(store_
                  ->Coordinate([&](ClusterView& c) -> Status {
                    COFFER_ASSIGN_OR_RETURN(auto nodes, c.ListNodes());
                    EXPECT_EQ(nodes.size(), 2u);
                    if (nodes.size() == 2) {
                      EXPECT_EQ(nodes[0].name, "host-a:4600");
                      EXPECT_EQ(nodes[0].heartbeat_ms, 7000);
                      EXPECT_EQ(nodes[0].started_ms, 1000);
                      EXPECT_TRUE(nodes[1].sealed);
                    }
                    COFFER_ASSIGN_OR_RETURN(auto holder, c.JobLeaseHolder("alarms"));
                    EXPECT_EQ(holder.value_or(""), "node-a");
                    COFFER_ASSIGN_OR_RETURN(int forgotten, c.ForgetNodesSilentSince(5000));
                    EXPECT_EQ(forgotten, 1);
                    COFFER_RETURN_IF_ERROR(c.DeleteNode("node-a"));
                    COFFER_ASSIGN_OR_RETURN(nodes, c.ListNodes());
                    EXPECT_TRUE(nodes.empty());
                    return Status::Ok();
                  })
                  .ok());
}

TEST_F(StoreConformanceTest, EachNodePublishesItsSignalCountsAndTheyAreSummed) {
  constexpr int64_t kKind = 2;
  auto row = [](const char* region, int64_t kind, EpochMillis slot, int64_t n) {
    return SignalCountRow{"111122223333", region, kind, slot, n};
  };
  ASSERT_TRUE(
      store_
          ->Coordinate([&](ClusterView& c) -> Status {
            COFFER_RETURN_IF_ERROR(c.PutSignalCounts(
                "node-a",
                {row("us-east-1", kKind, 10'000, 1), row("us-east-1", kKind, 20'000, 4),
                 row("us-east-1", kKind + 1, 20'000, 100), row("eu-west-1", kKind, 90'000, 7)}));
            // A later publication of a slot replaces the node's count; another node's
            // count of the same slot adds to it.
            COFFER_RETURN_IF_ERROR(
                c.PutSignalCounts("node-a", {row("us-east-1", kKind, 10'000, 3)}));
            return c.PutSignalCounts(
                "node-b", {row("us-east-1", kKind, 10'000, 2), row("us-east-1", kKind, 70'000, 9)});
          })
          .ok());
  ASSERT_TRUE(
      store_
          ->Coordinate([&](ClusterView& c) -> Status {
            // Buckets of 30 s from 0: [0, 30 s) holds 3 + 2 + 4, [60 s, 90 s) holds 9.
            COFFER_ASSIGN_OR_RETURN(
                auto sums, c.SumSignalCounts("111122223333", "us-east-1", kKind, 0, 30'000, 3));
            EXPECT_EQ(sums, (std::vector<int64_t>{9, 0, 9}));
            COFFER_ASSIGN_OR_RETURN(
                sums, c.SumSignalCounts("111122223333", "us-east-1", kKind, 20'000, 10'000, 1));
            EXPECT_EQ(sums, (std::vector<int64_t>{4}));
            COFFER_ASSIGN_OR_RETURN(auto scopes, c.SignalCountScopes(30'000));
            using Scope = std::pair<std::string, std::string>;
            EXPECT_EQ(scopes, (std::vector<Scope>{{"111122223333", "eu-west-1"},
                                                  {"111122223333", "us-east-1"}}));
            COFFER_ASSIGN_OR_RETURN(int forgotten, c.ForgetSignalCountsBefore(70'000));
            EXPECT_EQ(forgotten, 4);
            COFFER_ASSIGN_OR_RETURN(scopes, c.SignalCountScopes(0));
            EXPECT_EQ(scopes.size(), 2u);
            return Status::Ok();
          })
          .ok());
}

}  // namespace
}  // namespace coffer
