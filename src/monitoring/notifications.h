// Notifier: delivers coffer's events — alarm state changes, rotation outcomes, secret and
// parameter changes, denials — to the sinks an account registers, filtered by EventBridge event
// patterns (monitoring/event_pattern.h), from a durable outbox.
//
// Each pass first moves the events appended since the last pass into the outbox of every sink
// of the event's account whose pattern matches, advancing a cursor in the same transaction, so
// an event is queued for a sink exactly once, even across a crash; then it delivers what is
// due, oldest first. The events are those of the event stream (store/events.h: alarm state
// changes, rotation outcomes, parameter changes, aggregated denials) and, as EventBridge
// delivers them from CloudTrail, the trail's write API calls ("AWS API Call via CloudTrail":
// UpdateSecret, PutSecretValue, DeleteSecret, RotateSecret, ...; reads are not delivered, and
// denied calls come aggregated from the stream). A delivery that fails is retried with backoff (1
// s, doubling to 5 minutes) for 24 hours, across restarts: a sink that is down for an hour misses
// nothing. Delivery is at least once (a crash after a sink answered and before its outbox row
// is removed sends it again), so receivers deduplicate on the event's id.
//
// Kinds of sink:
//   webhook  POST of the EventBridge envelope to an http(s) URL, with
//            X-Coffer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>,
//            X-Coffer-Event-Id and X-Coffer-Delivery-Attempt; a 2xx answer delivers. The key
//            is made at registration, shown once, and kept wrapped under the storage key. The
//            URL's host must be one the server allows (--notification-host), or loopback for
//            the deployment operator's sinks: a tenant cannot make coffer call into the host's
//            or the network's private services.
//   command  the envelope on stdin of a program (argv, no shell, the exec functions'
//            isolation); exit status 0 delivers. Only the deployment operator registers them:
//            they run on the server's host.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "audit/audit_trail.h"
#include "core/clock.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "store/store.h"

namespace coffer::monitoring {

struct NotifierOptions {
  std::vector<std::string> allowed_hosts;  // --notification-host
  std::chrono::seconds delivery_timeout{10};
  EpochMillis give_up_after_ms = 24 * 3600'000LL;
  EpochMillis max_backoff_ms = 300'000;
};

// Runs a command sink's program with `input` on stdin: its exit status (-1 when it did not
// exit by itself) and output. The composition root gives the exec functions' process runner.
using CommandRunner = std::function<Result<std::pair<int, std::string>>(
    const std::vector<std::string>& argv, const std::string& input)>;

class Notifier {
 public:
  // `trail` may be null (no API calls are delivered then).
  Notifier(Store* store, const Keyring* keyring, audit::AuditTrail* trail, const Clock* clock,
           NotifierOptions options, CommandRunner run_command)
      : store_(store),
        trail_(trail),
        keyring_(keyring),
        clock_(clock),
        options_(std::move(options)),
        run_command_(std::move(run_command)) {}

  // Queues new events and delivers what is due.
  Status Pass();

  // Registers (or replaces) a sink from a /coffer/sinks request's members: Name, and Url or
  // Command, and EventPattern (a JSON object or its text). Returns the webhook's signing key
  // (hex), or "" for a command. Errors: ValidationError, InvalidEventPatternException,
  // AccessDeniedException (a command, or a host not allowed, by another than the operator).
  Result<std::string> PutSink(const std::string& account, bool by_operator,
                              const boost::json::object& request);
  // Delivers a test event ("detail-type": "coffer Sink Test") to the sink now, outside the
  // outbox; answers whether it was delivered and what the sink said.
  Result<boost::json::object> Test(const std::string& account, const std::string& name);

  // The EventBridge envelope of an event; `id` is the envelope's (stable across deliveries).
  static boost::json::object Envelope(const EventRow& event, const std::string& id);

  // coffer_notifications_delivered_total, coffer_notification_failures_total,
  // coffer_notifications_dropped_total.
  std::string PrometheusText() const;

 private:
  Status Enqueue();
  // The trail's write calls after the trail cursor, as events.
  Result<std::vector<EventRow>> TrailCalls(int64_t after_id, int64_t* last_id);
  // Delivers one envelope to `sink`; the error says why it was not delivered.
  Status Deliver(const SinkRow& sink, const std::string& event_id, const std::string& body,
                 int attempt);

  Store* store_;
  audit::AuditTrail* trail_;
  const Keyring* keyring_;
  const Clock* clock_;
  NotifierOptions options_;
  CommandRunner run_command_;
  std::atomic<uint64_t> delivered_{0};
  std::atomic<uint64_t> failures_{0};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace coffer::monitoring
