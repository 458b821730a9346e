// Notification sinks and their durable outbox (monitoring/notifications.h). Error contract:
// store/deployment.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/status.h"

namespace coffer {

enum class SinkKind { kWebhook, kCommand };

struct SinkRow {
  std::string account;
  std::string name;
  SinkKind kind = SinkKind::kWebhook;
  std::string target;       // the URL, or the command's argv as a JSON array
  std::string pattern;      // EventBridge event pattern, JSON text; empty: every event
  std::string wrapped_key;  // the webhook's signing key, wrapped under the storage key
  EpochMillis created_ms = 0;
};

// One event waiting to be delivered to one sink: the EventBridge envelope as it will be sent.
struct OutboxRow {
  int64_t id = 0;  // store-assigned, increasing
  std::string account;
  std::string sink;
  std::string event_id;  // the envelope's id (receivers deduplicate on it)
  std::string body;      // the envelope, JSON text
  int attempts = 0;
  EpochMillis created_ms = 0;
  EpochMillis next_attempt_ms = 0;
  std::string last_error;
};

struct OutboxSummary {
  int64_t pending = 0;
  std::string last_error;  // of the most recently failed pending delivery
};

class NotificationsReader {
 public:
  virtual ~NotificationsReader() = default;
  // One account's sinks by name (every account's when `account` is empty).
  virtual Result<std::vector<SinkRow>> ListSinks(const std::string& account) = 0;
  virtual Result<std::optional<SinkRow>> FindSink(const std::string& account,
                                                  const std::string& name) = 0;
  // Deliveries due at `now`, oldest first.
  virtual Result<std::vector<OutboxRow>> ListDue(EpochMillis now, int limit) = 0;
  virtual Result<OutboxSummary> Summarize(const std::string& account, const std::string& sink) = 0;
};

class NotificationsWriter : public NotificationsReader {
 public:
  virtual Status PutSink(const SinkRow& row) = 0;
  // Removes the sink and what waits for it.
  virtual Status DeleteSink(const std::string& account, const std::string& name) = 0;
  // The store assigns the id.
  virtual Status Enqueue(const OutboxRow& row) = 0;
  virtual Status Reschedule(int64_t id, int attempts, EpochMillis next_attempt_ms,
                            const std::string& last_error) = 0;
  virtual Status Remove(int64_t id) = 0;
};

}  // namespace coffer
