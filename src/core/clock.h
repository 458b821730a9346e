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

// Another clock moved by a fixed offset: `coffer server --clock-offset-seconds` runs the services
// and background jobs this far ahead (or behind), so deletion windows, rotation schedules and
// expirations can be tried on a real server across a restart. Request signatures are still checked
// against the real clock, which is the one clients sign with.
class OffsetClock final : public Clock {
 public:
  OffsetClock(const Clock* base, EpochMillis offset_ms) : base_(base), offset_ms_(offset_ms) {}
  EpochMillis NowMillis() const override { return base_->NowMillis() + offset_ms_; }

 private:
  const Clock* base_;
  EpochMillis offset_ms_;
};

constexpr EpochMillis kMillisPerDay = 24LL * 3600 * 1000;

}  // namespace coffer
