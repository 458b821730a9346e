#include "monitoring/notifications.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <set>

#include "core/time_format.h"
#include "crypto/crypto.h"
#include "monitoring/event_pattern.h"
#include "net/http_client.h"

namespace coffer::monitoring {
namespace json = boost::json;
namespace {

constexpr char kCursorKey[] = "notifications/cursor";
constexpr char kTrailCursorKey[] = "notifications/trail-cursor";
constexpr int kEventsPerPass = 500;
constexpr int kDeliveriesPerPass = 200;
constexpr size_t kMaxNameLength = 64;

std::string KeyPurpose(const std::string& account, const std::string& name) {
  return "coffer/notification-sink/" + account + "/" + name;
}

Status Invalid(std::string message) {
  return Status(ErrorCode::kValidationError, std::move(message));
}

// An id that is the same at every delivery of one event, shaped as EventBridge's (a UUID).
std::string EnvelopeId(const std::string& stable) {
  const std::string h = crypto::HexLower(crypto::Sha256("coffer-event/" + stable));
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20, 12);
}

bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= kMaxNameLength &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '_' || c == '.';
         });
}

}  // namespace

json::object Notifier::Envelope(const EventRow& e, const std::string& id) {
  boost::system::error_code ec;
  json::value resources = json::parse(e.resources, ec);
  if (ec || !resources.is_array()) resources = json::array{};
  json::value detail = json::parse(e.detail, ec);
  if (ec || !detail.is_object()) detail = json::object{};
  return json::object{{"version", "0"},
                      {"id", id},
                      {"detail-type", e.detail_type},
                      {"source", e.source},
                      {"account", e.account},
                      {"time", FormatIso8601(e.time_ms)},
                      {"region", e.region},
                      {"resources", std::move(resources)},
                      {"detail", std::move(detail)}};
}

Result<std::vector<EventRow>> Notifier::TrailCalls(int64_t after_id, int64_t* last_id) {
  std::vector<EventRow> out;
  *last_id = after_id;
  if (trail_ == nullptr) return out;
  COFFER_ASSIGN_OR_RETURN(auto rows, trail_->ReadFrom(after_id, kEventsPerPass));
  for (const auto& row : rows) {
    *last_id = row.id;
    if (row.read_only) continue;
    boost::system::error_code ec;
    json::value record = json::parse(row.record, ec);
    if (ec || !record.is_object()) continue;
    const json::object& r = record.get_object();
    const json::value* type = r.if_contains("eventType");
    if (type == nullptr || *type != "AwsApiCall") continue;
    // Denied calls reach the stream aggregated (server/denial_audit.h).
    if (const json::value* code = r.if_contains("errorCode");
        code != nullptr && (*code == "AccessDenied" || *code == "AccessDeniedException")) {
      continue;
    }
    EventRow e;
    e.id = row.id;
    e.time_ms = row.time_ms;
    e.account = row.account;
    e.region = row.region;
    e.source = "aws." + row.event_source.substr(0, row.event_source.find('.'));
    e.detail_type = "AWS API Call via CloudTrail";
    e.resources = "[]";
    e.detail = std::move(row.record);
    out.push_back(std::move(e));
  }
  return out;
}

Status Notifier::Enqueue() {
  const EpochMillis now = clock_->NowMillis();
  return store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto cursor_text, w.deployment().GetMeta(kCursorKey));
    const int64_t cursor = cursor_text ? std::stoll(*cursor_text) : 0;
    COFFER_ASSIGN_OR_RETURN(auto events, w.events().List(cursor, kEventsPerPass));
    COFFER_ASSIGN_OR_RETURN(auto trail_text, w.deployment().GetMeta(kTrailCursorKey));
    int64_t trail_cursor = trail_text ? std::stoll(*trail_text) : 0;
    // First pass on a trail that was written before: from its end (a sink gets nothing older
    // than itself anyway).
    if (!trail_text && trail_ != nullptr) {
      COFFER_ASSIGN_OR_RETURN(trail_cursor, trail_->LastIndexedId());
    }
    int64_t trail_last = trail_cursor;
    COFFER_ASSIGN_OR_RETURN(auto calls, TrailCalls(trail_cursor, &trail_last));
    if (events.empty() && trail_last == trail_cursor && trail_text) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(auto sinks, w.notifications().ListSinks(""));
    std::map<std::string, std::vector<std::pair<const SinkRow*, json::value>>> by_account;
    for (const auto& sink : sinks) {
      json::value pattern;
      if (!sink.pattern.empty()) {
        boost::system::error_code ec;
        pattern = json::parse(sink.pattern, ec);
        if (ec || !pattern.is_object()) continue;  // checked when stored
      }
      by_account[sink.account].emplace_back(&sink, std::move(pattern));
    }
    auto queue = [&](const EventRow& e, const std::string& id) -> Status {
      auto it = by_account.find(e.account);
      if (it == by_account.end()) return Status::Ok();
      const json::object envelope = Envelope(e, id);
      std::string body;
      for (const auto& [sink, pattern] : it->second) {
        if (e.time_ms < sink->created_ms) continue;  // from before the sink
        if (pattern.is_object() && !MatchesEventPattern(pattern.get_object(), envelope)) continue;
        if (body.empty()) body = json::serialize(envelope);
        OutboxRow row;
        row.account = e.account;
        row.sink = sink->name;
        row.event_id = id;
        row.body = body;
        row.created_ms = now;
        row.next_attempt_ms = now;
        COFFER_RETURN_IF_ERROR(w.notifications().Enqueue(row));
      }
      return Status::Ok();
    };
    for (const auto& e : events) {
      COFFER_RETURN_IF_ERROR(queue(e, EnvelopeId(std::to_string(e.id))));
    }
    for (const auto& e : calls) {
      COFFER_RETURN_IF_ERROR(queue(e, EnvelopeId("trail/" + std::to_string(e.id))));
    }
    if (!events.empty()) {
      COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(kCursorKey, std::to_string(events.back().id)));
    }
    return w.deployment().PutMeta(kTrailCursorKey, std::to_string(trail_last));
  });
}

Status Notifier::Deliver(const SinkRow& sink, const std::string& event_id, const std::string& body,
                         int attempt) {
  if (sink.kind == SinkKind::kCommand) {
    boost::system::error_code ec;
    json::value argv_json = json::parse(sink.target, ec);
    std::vector<std::string> argv;
    if (!ec && argv_json.is_array()) {
      for (const auto& a : argv_json.get_array()) {
        if (a.is_string()) argv.emplace_back(a.get_string());
      }
    }
    if (argv.empty() || !run_command_) {
      return Status(ErrorCode::kInternalFailure, "the sink's command cannot be run");
    }
    COFFER_ASSIGN_OR_RETURN(auto outcome, run_command_(argv, body));
    if (outcome.first == 0) return Status::Ok();
    return Status(ErrorCode::kInternalFailure,
                  outcome.first < 0
                      ? "the command did not finish in time"
                      : "the command exited with status " + std::to_string(outcome.first));
  }
  COFFER_ASSIGN_OR_RETURN(net::Url url, net::ParseUrl(sink.target));
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes key,
      keyring_->UnwrapWithStorageKey(KeyPurpose(sink.account, sink.name), sink.wrapped_key));
  const std::string t = std::to_string(clock_->NowMillis() / 1000);
  const std::string signature = crypto::HexLower(crypto::HmacSha256(key.Reveal(), t + "." + body));
  net::HttpCall call;
  call.method = "POST";
  call.target = url.path;
  call.body = body;
  call.timeout = options_.delivery_timeout;
  call.max_response_bytes = 64 * 1024;
  call.headers = {{"Content-Type", "application/json"},
                  {"User-Agent", "coffer-notifications"},
                  {"X-Coffer-Signature", "t=" + t + ",v1=" + signature},
                  {"X-Coffer-Event-Id", event_id},
                  {"X-Coffer-Delivery-Attempt", std::to_string(attempt)}};
  COFFER_ASSIGN_OR_RETURN(net::HttpReply reply, net::Send(url, call));
  if (reply.status >= 200 && reply.status < 300) return Status::Ok();
  return Status(ErrorCode::kInternalFailure,
                "the sink answered HTTP " + std::to_string(reply.status));
}

Status Notifier::Pass() {
  COFFER_RETURN_IF_ERROR(Enqueue());
  const EpochMillis now = clock_->NowMillis();
  std::vector<OutboxRow> due;
  std::map<std::pair<std::string, std::string>, SinkRow> sinks;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(due, r.notifications().ListDue(now, kDeliveriesPerPass));
    COFFER_ASSIGN_OR_RETURN(auto all, r.notifications().ListSinks(""));
    for (auto& s : all) sinks.emplace(std::make_pair(s.account, s.name), std::move(s));
    return Status::Ok();
  }));
  // A sink that failed once in this pass is not tried again in it (its other deliveries stay
  // due, for the next pass): a sink that is down costs one timeout a pass, not one per event.
  std::set<std::pair<std::string, std::string>> failing;
  for (const auto& row : due) {
    const auto key = std::make_pair(row.account, row.sink);
    if (failing.count(key) != 0) continue;
    auto sink = sinks.find(key);
    Status outcome = sink == sinks.end()
                         ? Status(ErrorCode::kInternalFailure, "the sink was removed")
                         : Deliver(sink->second, row.event_id, row.body, row.attempts + 1);
    const bool give_up =
        !outcome.ok() && (sink == sinks.end() || now - row.created_ms >= options_.give_up_after_ms);
    if (outcome.ok() || give_up) {
      if (outcome.ok()) {
        delivered_.fetch_add(1, std::memory_order_relaxed);
      } else {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        std::cerr << "coffer: notification " << row.event_id << " to sink " << row.sink
                  << " of account " << row.account << " dropped: " << outcome.message() << "\n";
      }
      COFFER_RETURN_IF_ERROR(
          store_->Write([&](StoreWriter& w) { return w.notifications().Remove(row.id); }));
      continue;
    }
    failing.insert(key);
    failures_.fetch_add(1, std::memory_order_relaxed);
    const int attempts = row.attempts + 1;
    const EpochMillis backoff =
        std::min<EpochMillis>(options_.max_backoff_ms, 1000LL << std::min(attempts - 1, 20));
    COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) {
      return w.notifications().Reschedule(row.id, attempts, now + backoff, outcome.message());
    }));
  }
  return Status::Ok();
}

Result<std::string> Notifier::PutSink(const std::string& account, bool by_operator,
                                      const json::object& request) {
  SinkRow row;
  row.account = account;
  row.created_ms = clock_->NowMillis();
  std::string url;
  const json::array* command = nullptr;
  for (const auto& [key, v] : request) {
    if (key == "Name" && v.is_string()) {
      row.name = v.get_string();
    } else if (key == "Url" && v.is_string()) {
      url = v.get_string();
    } else if (key == "Command" && v.is_array()) {
      command = &v.get_array();
    } else if (key == "EventPattern" && (v.is_object() || v.is_string())) {
      json::value pattern = v;
      if (v.is_string()) {
        boost::system::error_code ec;
        pattern = json::parse(v.get_string(), ec);
        if (ec)
          return Status(ErrorCode::kInvalidEventPatternException,
                        "Event pattern is not valid. It is not JSON.");
      }
      COFFER_RETURN_IF_ERROR(CheckEventPattern(pattern));
      row.pattern = json::serialize(pattern);
    } else if (key != "Account") {
      return Invalid("Unknown or malformed member '" + std::string(key) + "'.");
    }
  }
  if (!ValidName(row.name)) {
    return Invalid("Name must be 1 to 64 letters, digits, '-', '_' or '.'.");
  }
  if (url.empty() == (command == nullptr)) return Invalid("Give either Url or Command.");
  if (command != nullptr) {
    if (!by_operator) {
      return Status(ErrorCode::kAccessDeniedException,
                    "Only the deployment operator may register command sinks: they run programs "
                    "on the server's host.");
    }
    if (command->empty()) return Invalid("Command must name a program.");
    for (const auto& a : *command) {
      if (!a.is_string()) return Invalid("Command must be a list of strings.");
    }
    row.kind = SinkKind::kCommand;
    row.target = json::serialize(*command);
  } else {
    COFFER_ASSIGN_OR_RETURN(net::Url parsed, net::ParseUrl(url));
    const auto& allowed = options_.allowed_hosts;
    const bool listed = std::find(allowed.begin(), allowed.end(), parsed.host) != allowed.end();
    if (!listed && !(by_operator && net::IsLoopbackHost(parsed.host))) {
      return Status(ErrorCode::kAccessDeniedException,
                    "Webhooks may only call hosts the server allows (--notification-host" +
                        std::string(by_operator ? ", or loopback" : "") + "): " + parsed.host);
    }
    row.kind = SinkKind::kWebhook;
    row.target = url;
  }
  std::string key_hex;
  if (row.kind == SinkKind::kWebhook) {
    SecretBytes key = crypto::RandomSecret(32);
    key_hex = crypto::HexLower(key.data(), key.size());
    COFFER_ASSIGN_OR_RETURN(row.wrapped_key,
                            keyring_->WrapWithStorageKey(KeyPurpose(account, row.name), key_hex));
  }
  COFFER_RETURN_IF_ERROR(
      store_->Write([&](StoreWriter& w) { return w.notifications().PutSink(row); }));
  return key_hex;
}

Result<json::object> Notifier::Test(const std::string& account, const std::string& name) {
  std::optional<SinkRow> sink;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(sink, r.notifications().FindSink(account, name));
    return Status::Ok();
  }));
  if (!sink) return Status(ErrorCode::kResourceNotFoundException, "No sink is named " + name + ".");
  EventRow e;
  e.id = 0;
  e.time_ms = clock_->NowMillis();
  e.account = account;
  e.source = "coffer";
  e.detail_type = "coffer Sink Test";
  e.resources = "[]";
  e.detail = json::serialize(json::object{{"sink", name}});
  const json::object envelope =
      Envelope(e, EnvelopeId("test/" + crypto::HexLower(crypto::RandomSecret(16).data(), 16)));
  Status delivered =
      Deliver(*sink, json::value_to<std::string>(envelope.at("id")), json::serialize(envelope), 1);
  json::object out{{"Name", name}, {"Delivered", delivered.ok()}};
  if (!delivered.ok()) out["Error"] = delivered.message();
  return out;
}

std::string Notifier::PrometheusText() const {
  auto counter = [](const char* name, const char* help, uint64_t v) {
    return std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " counter\n" + name +
           " " + std::to_string(v) + "\n";
  };
  return counter("coffer_notifications_delivered_total", "Events delivered to notification sinks.",
                 delivered_.load(std::memory_order_relaxed)) +
         counter("coffer_notification_failures_total",
                 "Failed deliveries to notification sinks (retried with backoff).",
                 failures_.load(std::memory_order_relaxed)) +
         counter("coffer_notifications_dropped_total",
                 "Events given up on after 24 hours of failed deliveries, or whose sink was "
                 "removed.",
                 dropped_.load(std::memory_order_relaxed));
}

}  // namespace coffer::monitoring
