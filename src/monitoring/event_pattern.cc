#include "monitoring/event_pattern.h"

#include <string>
#include <string_view>

namespace coffer::monitoring {
namespace json = boost::json;
namespace {

Status Invalid(const std::string& message) {
  return Status(ErrorCode::kInvalidEventPatternException, "Event pattern is not valid. " + message);
}

bool IsScalar(const json::value& v) {
  return v.is_string() || v.is_number() || v.is_bool() || v.is_null();
}

bool SameScalar(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) return a.to_number<double>() == b.to_number<double>();
  return a == b;
}

Status CheckMatcher(const json::value& m, const std::string& field) {
  if (IsScalar(m)) return Status::Ok();
  if (!m.is_object() || m.get_object().size() != 1) {
    return Invalid("Match value of '" + field +
                   "' must be a string, number, boolean, null or "
                   "one of prefix, anything-but, exists.");
  }
  const auto& [op, arg] = *m.get_object().begin();
  if (op == "prefix") {
    if (!arg.is_string()) return Invalid("prefix match of '" + field + "' must be a string.");
  } else if (op == "exists") {
    if (!arg.is_bool()) return Invalid("exists match of '" + field + "' must be true or false.");
  } else if (op == "anything-but") {
    if (arg.is_array()) {
      for (const auto& v : arg.get_array()) {
        if (!IsScalar(v)) return Invalid("anything-but list of '" + field + "' must hold values.");
      }
    } else if (arg.is_object()) {
      const auto& o = arg.get_object();
      if (o.size() != 1 || !o.contains("prefix") || !o.at("prefix").is_string()) {
        return Invalid("anything-but of '" + field + "' takes a value, a list or a prefix.");
      }
    } else if (!IsScalar(arg)) {
      return Invalid("anything-but of '" + field + "' takes a value, a list or a prefix.");
    }
  } else {
    return Invalid("Unsupported match '" + std::string(op) + "' of '" + field + "'.");
  }
  return Status::Ok();
}

Status CheckObject(const json::object& pattern, const std::string& path) {
  if (pattern.empty()) return Invalid("Empty object at '" + path + "'.");
  for (const auto& [key, v] : pattern) {
    const std::string field = path.empty() ? std::string(key) : path + "." + std::string(key);
    if (v.is_object()) {
      COFFER_RETURN_IF_ERROR(CheckObject(v.get_object(), field));
    } else if (v.is_array()) {
      if (v.get_array().empty()) return Invalid("Empty array at '" + field + "'.");
      for (const auto& m : v.get_array()) COFFER_RETURN_IF_ERROR(CheckMatcher(m, field));
    } else {
      return Invalid("Match value of '" + field + "' must be an object or an array.");
    }
  }
  return Status::Ok();
}

bool MatchesOne(const json::value& m, const json::value* field) {
  if (IsScalar(m)) {
    if (field == nullptr) return false;
    if (field->is_array()) {
      for (const auto& e : field->get_array()) {
        if (SameScalar(m, e)) return true;
      }
      return false;
    }
    return SameScalar(m, *field);
  }
  // Not a structured binding: the lambdas below use `arg`, and clang before 16 cannot capture one.
  const auto& entry = *m.get_object().begin();
  const std::string_view op = entry.key();
  const json::value& arg = entry.value();
  if (op == "exists") return arg.as_bool() == (field != nullptr);
  if (field == nullptr) return false;
  auto each = [&](auto&& test) {
    if (field->is_array()) {
      for (const auto& e : field->get_array()) {
        if (test(e)) return true;
      }
      return false;
    }
    return test(*field);
  };
  auto has_prefix = [](const json::value& v, const json::value& prefix) {
    return v.is_string() &&
           std::string_view(v.get_string()).starts_with(std::string_view(prefix.get_string()));
  };
  if (op == "prefix") return each([&](const json::value& v) { return has_prefix(v, arg); });
  // anything-but
  return each([&](const json::value& v) {
    if (arg.is_object()) return v.is_string() && !has_prefix(v, arg.get_object().at("prefix"));
    if (arg.is_array()) {
      for (const auto& x : arg.get_array()) {
        if (SameScalar(x, v)) return false;
      }
      return true;
    }
    return !SameScalar(arg, v);
  });
}

}  // namespace

Status CheckEventPattern(const json::value& pattern) {
  if (!pattern.is_object()) return Invalid("The pattern must be a JSON object.");
  return CheckObject(pattern.get_object(), "");
}

bool MatchesEventPattern(const json::object& pattern, const json::object& event) {
  for (const auto& [key, want] : pattern) {
    const json::value* field = event.if_contains(key);
    if (want.is_object()) {
      if (field == nullptr || !field->is_object()) {
        // Only "exists": false inside could match a missing object; EventBridge treats a nested
        // pattern under a missing field as no match.
        return false;
      }
      if (!MatchesEventPattern(want.get_object(), field->get_object())) return false;
      continue;
    }
    bool any = false;
    for (const auto& m : want.get_array()) {
      if (MatchesOne(m, field)) {
        any = true;
        break;
      }
    }
    if (!any) return false;
  }
  return true;
}

}  // namespace coffer::monitoring
