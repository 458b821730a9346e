#include "monitoring/sinks_api.h"

#include "core/time_format.h"
#include "monitoring/alarms_api.h"

namespace coffer::monitoring {
namespace json = boost::json;
namespace {

Result<json::object> ListSinks(Store* store, const std::string& account) {
  json::array sinks;
  COFFER_RETURN_IF_ERROR(store->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto rows, r.notifications().ListSinks(account));
    for (const auto& row : rows) {
      COFFER_ASSIGN_OR_RETURN(OutboxSummary waiting,
                              r.notifications().Summarize(account, row.name));
      json::object o{{"Name", row.name},
                     {"Kind", row.kind == SinkKind::kCommand ? "command" : "webhook"},
                     {"CreatedDate", FormatIso8601(row.created_ms)},
                     {"Pending", waiting.pending}};
      boost::system::error_code ec;
      if (row.kind == SinkKind::kCommand) {
        o["Command"] = json::parse(row.target, ec);
      } else {
        o["Url"] = row.target;
      }
      if (!row.pattern.empty()) o["EventPattern"] = json::parse(row.pattern, ec);
      if (!waiting.last_error.empty()) o["LastError"] = waiting.last_error;
      sinks.push_back(std::move(o));
    }
    return Status::Ok();
  }));
  return json::object{{"Sinks", std::move(sinks)}};
}

std::string NameOf(const json::object& body) {
  const json::value* name = body.if_contains("Name");
  return name != nullptr && name->is_string() ? std::string(name->get_string()) : std::string();
}

}  // namespace

Result<json::object> HandleSinksCall(Notifier* notifier, Store* store, std::string_view method,
                                     std::string_view path,
                                     const std::map<std::string, std::string>& query,
                                     const json::object& body, const std::string& caller_account,
                                     bool is_operator) {
  std::string named;
  if (method == "GET") {
    if (auto it = query.find("Account"); it != query.end()) named = it->second;
  } else if (auto* a = body.if_contains("Account"); a != nullptr && a->is_string()) {
    named = a->get_string();
  }
  COFFER_ASSIGN_OR_RETURN(std::string account,
                          EndpointAccount(named, caller_account, is_operator, false));
  if (method == "GET") return ListSinks(store, account);
  if (path == "/coffer/sinks/test") return notifier->Test(account, NameOf(body));
  if (const json::value* remove = body.if_contains("Delete"); remove != nullptr) {
    if (!remove->is_bool() || !remove->as_bool() || body.size() > 3) {
      return Status(ErrorCode::kValidationError, "Delete takes only Name (and Account).");
    }
    const std::string name = NameOf(body);
    bool found = false;
    COFFER_RETURN_IF_ERROR(store->Write([&](StoreWriter& w) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto sink, w.notifications().FindSink(account, name));
      found = sink.has_value();
      return found ? w.notifications().DeleteSink(account, name) : Status::Ok();
    }));
    if (!found)
      return Status(ErrorCode::kResourceNotFoundException, "No sink is named " + name + ".");
    return json::object{{"Name", name}, {"Deleted", true}};
  }
  COFFER_ASSIGN_OR_RETURN(std::string key, notifier->PutSink(account, is_operator, body));
  json::object out{{"Name", NameOf(body)}};
  if (!key.empty()) out["SigningKey"] = key;
  return out;
}

}  // namespace coffer::monitoring
