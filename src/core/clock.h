// Clock: the single source of "now" for domain logic, injectable so tests can move time
// (a recovery window of 30 days passes in a microsecond with FakeClock).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace coffer {

// Milliseconds since the Unix epoch, UTC. Every stored timestamp uses this unit.
using EpochMillis = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual EpochMillis NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  EpochMillis NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

class FakeClock final : public Clock {
 public:
  explicit FakeClock(EpochMillis start) : now_(start) {}
  EpochMillis NowMillis() const override { return now_.load(); }
  void Advance(std::chrono::milliseconds d) { now_ += d.count(); }
  void Set(EpochMillis t) { now_ = t; }

 private:
  std::atomic<EpochMillis> now_;
};

constexpr EpochMillis kMillisPerDay = 24LL * 3600 * 1000;

}  // namespace coffer
