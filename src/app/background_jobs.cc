#include "app/background_jobs.h"

#include <iostream>

#include "core/thread_name.h"

namespace coffer {

BackgroundJobs::BackgroundJobs(std::function<bool()> paused) : paused_(std::move(paused)) {}

BackgroundJobs::~BackgroundJobs() { Stop(); }

void BackgroundJobs::Add(std::string name, std::chrono::milliseconds period,
                         std::function<Status()> pass, WhileSealed while_sealed, Where where) {
  auto job = std::make_unique<Job>();
  job->name = std::move(name);
  job->period = period;
  job->pass = std::move(pass);
  job->while_sealed = while_sealed;
  job->where = where;
  jobs_.push_back(std::move(job));
}

void BackgroundJobs::Wake(const std::string& name) {
  std::lock_guard lock(mu_);
  for (auto& job : jobs_) {
    if (job->name == name) job->woken = true;
  }
  cv_.notify_all();
}

Status BackgroundJobs::RunEachOnce() {
  Status first;
  for (const auto& job : jobs_) {
    if (!Runs(*job)) continue;
    Status s = job->pass();
    if (!s.ok() && first.ok()) first = std::move(s);
  }
  return first;
}

bool BackgroundJobs::Runs(const Job& job) const {
  if (job.while_sealed == WhileSealed::kPause && paused_ && paused_()) return false;
  return job.where == Where::kEveryNode || !holds_lease_ || holds_lease_(job.name);
}

void BackgroundJobs::Start() {
  {
    std::lock_guard lock(mu_);
    if (started_ || stopping_) return;  // a stopped set of jobs stays stopped
    started_ = true;
  }
  for (auto& job : jobs_) {
    Job* j = job.get();
    j->thread = std::thread([this, j] {
      // "job:" and the job's first words, within Linux's 15 characters.
      NameThisThread(("job:" + j->name).substr(0, 15).c_str());
      Loop(j);
    });
  }
}

void BackgroundJobs::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& job : jobs_) {
    if (job->thread.joinable()) job->thread.join();
  }
}

void BackgroundJobs::Loop(Job* job) {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, job->period, [&] { return stopping_ || job->woken; });
    if (stopping_) return;
    job->woken = false;
    lock.unlock();
    if (Runs(*job)) {
      Status done = job->pass();
      if (!done.ok()) std::cerr << "coffer: " << job->name << " failed: " << done.message() << "\n";
    }
    lock.lock();
  }
}

}  // namespace coffer
