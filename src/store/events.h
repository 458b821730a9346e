// coffer's event stream (EventBridge-shaped when delivered): rotation outcomes, parameter
// policy actions, denials. Error contract: store/deployment.h.
#pragma once

#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

struct EventRow {
  int64_t id = 0;  // store-assigned, increasing
  EpochMillis time_ms = 0;
  std::string account;
  std::string region;
  std::string source;       // e.g. "aws.ssm"
  std::string detail_type;  // e.g. "Parameter Store Policy Action"
  std::string resources;    // JSON array text
  std::string detail;       // JSON object text
};

class EventsReader {
 public:
  virtual ~EventsReader() = default;
  // Every account's events after `after_id`, oldest first.
  virtual Result<std::vector<EventRow>> List(int64_t after_id, int limit) = 0;
  // One account's events after `after_id`, oldest first.
  virtual Result<std::vector<EventRow>> ListForAccount(const std::string& account, int64_t after_id,
                                                       int limit) = 0;
};

class EventsWriter : public EventsReader {
 public:
  // The store assigns the id (event.id is ignored).
  virtual Status Append(const EventRow& event) = 0;
  // Retention: removes events older than `older_than`, and each account's oldest events
  // beyond its newest `max_per_account`.
  virtual Status Prune(EpochMillis older_than, int64_t max_per_account) = 0;
};

}  // namespace coffer
