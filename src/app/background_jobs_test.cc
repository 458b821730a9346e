#include "app/background_jobs.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace coffer {
namespace {

using namespace std::chrono_literals;

// Polls `done` for up to 10 s (a loaded machine is slow, never wrong).
template <typename F>
bool Eventually(F done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

TEST(BackgroundJobs, RunsEachJobEveryPeriodAndWakesOneOnDemand) {
  BackgroundJobs jobs;
  std::atomic<int> frequent{0}, rare{0};
  jobs.Add("frequent", 10ms, [&] {
    ++frequent;
    return Status::Ok();
  });
  jobs.Add("rare", std::chrono::hours(1), [&] {
    ++rare;
    return Status::Ok();
  });
  jobs.Start();
  EXPECT_TRUE(Eventually([&] { return frequent >= 3; }));
  EXPECT_EQ(rare, 0) << "an hour has not passed";
  jobs.Wake("rare");
  EXPECT_TRUE(Eventually([&] { return rare == 1; }));
  jobs.Stop();
  const int after_stop = frequent;
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(frequent, after_stop) << "no pass after Stop()";
}

TEST(BackgroundJobs, PausedJobsWaitWhileJobsThatNeedNoKeyGoOn) {
  std::atomic<bool> sealed{true};
  BackgroundJobs jobs([&] { return sealed.load(); });
  std::atomic<int> needs_keys{0}, needs_none{0};
  jobs.Add("needs keys", 10ms, [&] {
    ++needs_keys;
    return Status::Ok();
  });
  jobs.Add(
      "needs none", 10ms,
      [&] {
        ++needs_none;
        return Status::Ok();
      },
      BackgroundJobs::WhileSealed::kRun);
  jobs.Start();
  EXPECT_TRUE(Eventually([&] { return needs_none >= 3; }));
  EXPECT_EQ(needs_keys, 0);
  sealed = false;
  EXPECT_TRUE(Eventually([&] { return needs_keys >= 1; }));
}

TEST(BackgroundJobs, AFailingJobRunsAgainAtItsNextPeriod) {
  BackgroundJobs jobs;
  std::atomic<int> attempts{0};
  jobs.Add("flaky", 10ms, [&] {
    ++attempts;
    return Status(ErrorCode::kServiceUnavailable, "the disk is full");
  });
  jobs.Start();
  EXPECT_TRUE(Eventually([&] { return attempts >= 3; }));
}

TEST(BackgroundJobs, StopIsIdempotentAndAJobNeverStartedNeverRuns) {
  std::atomic<int> runs{0};
  {
    BackgroundJobs never_started;
    never_started.Add("job", 1ms, [&] {
      ++runs;
      return Status::Ok();
    });
    never_started.Stop();
    never_started.Stop();
    never_started.Start();  // after Stop(): the job must not run
    std::this_thread::sleep_for(30ms);
  }
  EXPECT_EQ(runs, 0);
  BackgroundJobs started;
  started.Add("job", 1ms, [&] {
    ++runs;
    return Status::Ok();
  });
  started.Start();
  EXPECT_TRUE(Eventually([&] { return runs >= 1; }));
  started.Stop();
  started.Stop();
}

TEST(BackgroundJobs, RunEachOnceRunsEveryUnpausedPassOnTheCallersThread) {
  bool sealed = true;
  std::vector<std::string> ran;
  BackgroundJobs jobs([&] { return sealed; });
  jobs.Add("needs-key", 1h, [&] {
    ran.push_back("needs-key");
    return Status(ErrorCode::kServiceUnavailable, "disk full");
  });
  jobs.Add(
      "no-key", 1h,
      [&] {
        ran.push_back("no-key");
        return Status::Ok();
      },
      BackgroundJobs::WhileSealed::kRun);
  EXPECT_TRUE(jobs.RunEachOnce().ok());
  EXPECT_EQ(ran, (std::vector<std::string>{"no-key"}));
  sealed = false;
  EXPECT_EQ(jobs.RunEachOnce().code(), ErrorCode::kServiceUnavailable);
  EXPECT_EQ(ran, (std::vector<std::string>{"no-key", "needs-key", "no-key"}));
}

TEST(BackgroundJobs, AOneNodeJobRunsOnlyWhileThisNodeHoldsItsLease) {
  BackgroundJobs jobs;
  std::atomic<bool> held{false};
  jobs.SetLeases([&](const std::string& job) { return job == "one" && held.load(); });
  std::atomic<int> one{0}, every{0};
  jobs.Add(
      "one", 10ms,
      [&] {
        ++one;
        return Status::Ok();
      },
      BackgroundJobs::WhileSealed::kPause, BackgroundJobs::Where::kOneNode);
  jobs.Add("every", 10ms, [&] {
    ++every;
    return Status::Ok();
  });
  jobs.Start();
  EXPECT_TRUE(Eventually([&] { return every >= 3; }));
  EXPECT_EQ(one, 0) << "another node holds the lease";
  held = true;
  EXPECT_TRUE(Eventually([&] { return one >= 1; }));
}

}  // namespace
}  // namespace coffer
