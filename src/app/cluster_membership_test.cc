#include "app/cluster_membership.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "crypto/crypto.h"
#include "testing/scratch_dir.h"
#include "testing/test_store.h"

namespace coffer {
namespace {

using namespace std::chrono_literals;

// Two nodes on one store (on PostgreSQL under tests/e2e/with_postgres.py), with a clock the test
// moves: leases move only when their holder dies or seals.
class ClusterMembershipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = test_support::OpenTestStore(dir_.path(), &schema_.name);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s.value());
    // Every node opens the store's keys with the same unseal key, as real nodes do.
    const SecretBytes unseal_key = crypto::RandomSecret(32);
    keyring_a_ = Keyring::OpenUnsealedForTest(store_.get(), unseal_key, &clock_);
    keyring_b_ = Keyring::OpenUnsealedForTest(store_.get(), unseal_key, &clock_);
    a_ = std::make_unique<ClusterMembership>(store_.get(), keyring_a_.get(), &clock_, "a:1");
    b_ = std::make_unique<ClusterMembership>(store_.get(), keyring_b_.get(), &clock_, "b:1");
    ASSERT_TRUE(a_->Report().ok());
    ASSERT_TRUE(b_->Report().ok());
  }
  // Both nodes report, a report period later.
  void Tick(bool a_reports = true, bool b_reports = true) {
    clock_.Advance(std::chrono::milliseconds(ClusterMembership::kReportEveryMs));
    if (a_reports) {
      ASSERT_TRUE(a_->Report().ok());
    }
    if (b_reports) {
      ASSERT_TRUE(b_->Report().ok());
    }
  }

  testing::ScratchDir dir_;
  test_support::ScopedTestSchema schema_;
  std::unique_ptr<Store> store_;
  FakeClock clock_{1767225600000};
  std::unique_ptr<Keyring> keyring_a_, keyring_b_;
  std::unique_ptr<ClusterMembership> a_, b_;
};

TEST_F(ClusterMembershipTest, EveryNodeListsEveryNodeAndWhetherItIsAlive) {
  auto nodes = a_->Nodes();
  ASSERT_TRUE(nodes.ok()) << nodes.status().message();
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].row.name, "a:1");
  EXPECT_TRUE((*nodes)[0].self);
  EXPECT_FALSE((*nodes)[1].self);
  EXPECT_TRUE((*nodes)[0].alive && (*nodes)[1].alive);
  for (int i = 0; i < 8; ++i) Tick(/*a_reports=*/true, /*b_reports=*/false);
  nodes = a_->Nodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_TRUE((*nodes)[0].alive);
  EXPECT_FALSE((*nodes)[1].alive) << "b has been silent for 16 s";
  ASSERT_TRUE(b_->Leave().ok());
  nodes = a_->Nodes();
  ASSERT_TRUE(nodes.ok());
  EXPECT_EQ(nodes->size(), 1u) << "a node that stops on purpose leaves the list";
}

TEST_F(ClusterMembershipTest, ALeaseStaysWithItsHolderUntilItDiesOrSeals) {
  EXPECT_TRUE(a_->HoldsLease("maintenance"));
  EXPECT_FALSE(b_->HoldsLease("maintenance"));
  for (int i = 0; i < 10; ++i) {
    Tick();
    EXPECT_TRUE(a_->HoldsLease("maintenance"));
    EXPECT_FALSE(b_->HoldsLease("maintenance")) << "the holder is alive";
  }
  EXPECT_TRUE(b_->HoldsLease("alarms")) << "each job has a lease of its own";

  // a stops reporting: it gives the lease up before b may take it.
  for (int i = 0; i < 6; ++i) Tick(/*a_reports=*/false);
  EXPECT_FALSE(a_->HoldsLease("maintenance")) << "12 s without a report of its own";
  EXPECT_FALSE(b_->HoldsLease("maintenance")) << "a is not yet taken for dead";
  for (int i = 0; i < 2; ++i) Tick(/*a_reports=*/false);
  EXPECT_TRUE(b_->HoldsLease("maintenance")) << "a has been silent for 16 s";
  Tick();
  EXPECT_FALSE(a_->HoldsLease("maintenance")) << "back, a finds b holding it";

  // b seals: a takes the lease at its next ask (a node asks at most every 2 s).
  keyring_b_->Seal();
  Tick();
  Tick();
  EXPECT_FALSE(b_->HoldsLease("maintenance"));
  EXPECT_TRUE(a_->HoldsLease("maintenance"));
}

TEST_F(ClusterMembershipTest, ANodeThatLeavesHandsItsLeasesOnAtOnce) {
  EXPECT_TRUE(a_->HoldsLease("alarms"));
  ASSERT_TRUE(a_->Leave().ok());
  Tick(/*a_reports=*/false);
  EXPECT_TRUE(b_->HoldsLease("alarms"));
}

}  // namespace
}  // namespace coffer
