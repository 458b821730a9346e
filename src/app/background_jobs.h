// BackgroundJobs: every periodic job of a coffer process (purge of deleted secrets, KMS key
// maintenance, parameter policies, expired sessions, event retention, the rotation scheduler,
// the denial-audit flush), each on its own thread with its own period, started and stopped
// together.
//
// Jobs idle while the keyring is sealed (there is nothing they could read). A job that must run
// on one node of several at a time runs a pass only while this node holds its lease
// (app/cluster_membership.h). A job that fails is
// logged with its name and runs again at its next period; a job can be woken early (RotateSecret
// wakes the rotation scheduler). Stop() waits for running jobs to finish their pass.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"

namespace coffer {

class BackgroundJobs {
 public:
  // `paused` is asked before each pass (true while sealed); null: never paused.
  explicit BackgroundJobs(std::function<bool()> paused = nullptr);
  ~BackgroundJobs();  // stops
  BackgroundJobs(const BackgroundJobs&) = delete;
  BackgroundJobs& operator=(const BackgroundJobs&) = delete;

  // Registers a job before Start(). `name` names it in logs and in Wake(). A job that needs no
  // key (it only writes what is already in memory) can run while sealed.
  enum class WhileSealed { kPause, kRun };
  // kOneNode: a pass runs only where `holds_lease(name)` (SetLeases) is true.
  enum class Where { kEveryNode, kOneNode };
  void Add(std::string name, std::chrono::milliseconds period, std::function<Status()> pass,
           WhileSealed while_sealed = WhileSealed::kPause, Where where = Where::kEveryNode);
  // Before Start(): whether this node holds a kOneNode job's lease now. Unset: always.
  void SetLeases(std::function<bool(const std::string& job)> holds_lease) {
    holds_lease_ = std::move(holds_lease);
  }
  // Runs the named job's next pass now instead of at the end of its period. Thread-safe; a
  // wake that comes while the job is running makes it run once more.
  void Wake(const std::string& name);

  // Runs every job's pass once on the calling thread, in the order added, and returns the first
  // failure. For a caller that drives time itself (the fuzz targets); not while started.
  Status RunEachOnce();

  // Starts every job's thread; does nothing after Stop().
  void Start();
  // Idempotent.
  void Stop();

 private:
  struct Job {
    std::string name;
    std::chrono::milliseconds period;
    std::function<Status()> pass;
    WhileSealed while_sealed = WhileSealed::kPause;
    Where where = Where::kEveryNode;
    bool woken = false;  // under mu_
    std::thread thread;
  };
  void Loop(Job* job);
  // Whether the job's pass runs now: not paused by the seal, and its lease held if it needs one.
  bool Runs(const Job& job) const;

  std::function<bool()> paused_;
  std::function<bool(const std::string&)> holds_lease_;
  std::vector<std::unique_ptr<Job>> jobs_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // under mu_
  bool started_ = false;   // under mu_
};

}  // namespace coffer
