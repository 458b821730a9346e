// The change counts' sharing (store/store.h): concurrent requests share reads of a shared
// store's counts, and no request is served counts read before it began.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "store/store.h"

namespace coffer {
namespace {

// A store whose counts are "in a database": each read takes a while and is counted.
class SlowCountsStore final : public Store {
 public:
  Status Read(const std::function<Status(StoreReader&)>&) override { return Status::Ok(); }
  Status Coordinate(const std::function<Status(ClusterView&)>&) override { return Status::Ok(); }
  std::atomic<uint64_t> writes{0};
  mutable std::atomic<int> reads{0};
  std::atomic<bool> hold{false};  // reads wait while set

 protected:
  Status WriteCounted(const std::function<Status(StoreWriter&)>&, bool) override {
    ++writes;
    Committed();
    return Status::Ok();
  }
  ChangeCounts ReadChanges() const override {
    const uint64_t seen = writes.load();  // the read's snapshot is taken when it is issued
    ++reads;
    while (hold) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return {seen, 0};
  }
  bool ChangesAreShared() const override { return true; }

 public:
  ~SlowCountsStore() override { StopChangesReader(); }
  void Stop() { StopChangesReader(); }
};

TEST(ChangeCounts, ConcurrentRequestsShareReadsAndEachSeesWhatWasAcknowledgedBefore) {
  SlowCountsStore store;
  auto nothing = [](StoreWriter&) { return Status::Ok(); };
  constexpr int kThreads = 16;
  std::atomic<int> stale{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int round = 0; round < 5; ++round) {
        if (i % 4 == 0) {
          ASSERT_TRUE(store.Write(nothing).ok());
        }
        const uint64_t acknowledged = store.writes.load();
        ChangeCountsPin pin(&store);
        if (store.CommittedWrites() < acknowledged) ++stale;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(stale, 0) << "a request was served counts read before it began";
  EXPECT_LT(store.reads, kThreads * 5) << "every request made a read of its own";
}

TEST(ChangeCounts, ReadsWithoutHoldingTheCallerAreSharedAndNeverOlderThanTheCall) {
  SlowCountsStore store;
  auto nothing = [](StoreWriter&) { return Status::Ok(); };
  constexpr int kCalls = 64;
  std::atomic<int> answered{0};
  std::atomic<int> stale{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back([&] {
      for (int round = 0; round < kCalls / 8; ++round) {
        ASSERT_TRUE(store.Write(nothing).ok());
        const uint64_t acknowledged = store.writes.load();
        ASSERT_TRUE(store.ReadChangesThen([&, acknowledged](ChangeCounts counts) {
          if (counts.writes < acknowledged) ++stale;
          ++answered;
        }));
      }
    });
  }
  for (auto& t : callers) t.join();
  while (answered < kCalls) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(stale, 0) << "counts read before the call were given to it";
  EXPECT_LT(store.reads, kCalls) << "every call made a read of its own";

  // The caller is not held while the counts are read: here the read waits until released.
  store.hold = true;
  std::atomic<bool> done{false};
  ASSERT_TRUE(store.ReadChangesThen([&](ChangeCounts) { done = true; }));
  EXPECT_FALSE(done);
  store.hold = false;
  while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  // A stopped store answers at once, with counts no cache holds.
  store.Stop();
  bool called = false;
  ASSERT_TRUE(store.ReadChangesThen([&](ChangeCounts counts) {
    called = true;
    EXPECT_GT(counts.writes, store.writes.load());
  }));
  EXPECT_TRUE(called);
}

TEST(ChangeCounts, APinGivenCountsUsesThemUntilTheRequestWrites) {
  SlowCountsStore store;
  ChangeCountsPin pin(&store, ChangeCounts{7, 3});
  EXPECT_EQ(store.CommittedWrites(), 7u);
  EXPECT_EQ(store.IdentityWrites(), 3u);
  EXPECT_EQ(store.reads, 0);
  ASSERT_TRUE(store.Write([](StoreWriter&) { return Status::Ok(); }).ok());
  EXPECT_EQ(store.CommittedWrites(), 1u);  // read again: the fake's one write
  EXPECT_EQ(store.reads, 1);
}

TEST(ChangeCounts, ARequestSeesItsOwnWrite) {
  SlowCountsStore store;
  ChangeCountsPin pin(&store);
  const uint64_t before = store.CommittedWrites();
  ASSERT_TRUE(store.Write([](StoreWriter&) { return Status::Ok(); }).ok());
  EXPECT_EQ(store.CommittedWrites(), before + 1);
}

}  // namespace
}  // namespace coffer
