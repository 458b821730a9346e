#include "protocol/json_input.h"

#include <cmath>

namespace coffer {

std::string LowerFirst(std::string_view member) {
  std::string s(member);
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = static_cast<char>(s[0] - 'A' + 'a');
  return s;
}

const boost::json::value* JsonInput::Find(std::string_view member) const {
  const auto* v = object_.if_contains(member);
  // JSON null is treated as absent, as the AWS JSON protocol does.
  if (v == nullptr || v->is_null()) return nullptr;
  return v;
}

bool JsonInput::Has(std::string_view member) const { return Find(member) != nullptr; }

void JsonInput::TypeError(std::string_view member, std::string_view expected) {
  if (!serialization_error_) {
    serialization_error_ =
        Status(ErrorCode::kSerializationException,
               "Expected " + std::string(expected) + " for member '" + std::string(member) + "'.");
  }
}

void JsonInput::AddViolation(std::string_view member, std::string_view value_text, bool value_known,
                             std::string_view constraint) {
  std::string v = "Value ";
  if (value_known) {
    v += value_text;
    v += ' ';
  }
  v += "at '" + LowerFirst(member) + "' failed to satisfy constraint: " + std::string(constraint);
  violations_.push_back(std::move(v));
}

std::optional<std::string> JsonInput::String(std::string_view member, StringRule rule) {
  const auto* v = Find(member);
  if (v == nullptr) {
    if (rule.required) AddViolation(member, "null", true, "Member must not be null");
    return std::nullopt;
  }
  if (!v->is_string()) {
    TypeError(member, "a string");
    return std::nullopt;
  }
  std::string s(v->get_string());
  std::string shown = rule.sensitive ? "" : "'" + s + "'";
  if (rule.min_len && s.size() < *rule.min_len) {
    AddViolation(
        member, shown, !rule.sensitive,
        "Member must have length greater than or equal to " + std::to_string(*rule.min_len));
  } else if (rule.max_len && s.size() > *rule.max_len) {
    AddViolation(member, rule.sensitive ? "" : "'" + s.substr(0, 64) + "...'", !rule.sensitive,
                 "Member must have length less than or equal to " + std::to_string(*rule.max_len));
  }
  return s;
}

std::optional<SecretBytes> JsonInput::Secret(std::string_view member, StringRule rule) {
  const auto* v = Find(member);
  if (v == nullptr) {
    if (rule.required) AddViolation(member, "null", true, "Member must not be null");
    return std::nullopt;
  }
  if (!v->is_string()) {
    TypeError(member, "a string");
    return std::nullopt;
  }
  const boost::json::string& s = v->get_string();
  if (rule.min_len && s.size() < *rule.min_len) {
    AddViolation(
        member, "", false,
        "Member must have length greater than or equal to " + std::to_string(*rule.min_len));
  } else if (rule.max_len && s.size() > *rule.max_len) {
    AddViolation(member, "", false,
                 "Member must have length less than or equal to " + std::to_string(*rule.max_len));
  }
  return SecretBytes(std::string_view(s.data(), s.size()));
}

std::optional<int64_t> JsonInput::Int(std::string_view member, IntRule rule) {
  const auto* v = Find(member);
  if (v == nullptr) {
    if (rule.required) AddViolation(member, "null", true, "Member must not be null");
    return std::nullopt;
  }
  int64_t n;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    n = static_cast<int64_t>(v->get_uint64());
  } else if (v->is_double() &&
             v->get_double() == static_cast<double>(static_cast<int64_t>(v->get_double()))) {
    n = static_cast<int64_t>(v->get_double());
  } else {
    TypeError(member, "an integer");
    return std::nullopt;
  }
  if (rule.min && n < *rule.min) {
    AddViolation(member, "'" + std::to_string(n) + "'", true,
                 "Member must have value greater than or equal to " + std::to_string(*rule.min));
  } else if (rule.max && n > *rule.max) {
    AddViolation(member, "'" + std::to_string(n) + "'", true,
                 "Member must have value less than or equal to " + std::to_string(*rule.max));
  }
  return n;
}

std::optional<bool> JsonInput::Bool(std::string_view member) {
  const auto* v = Find(member);
  if (v == nullptr) return std::nullopt;
  if (!v->is_bool()) {
    TypeError(member, "a boolean");
    return std::nullopt;
  }
  return v->get_bool();
}

const boost::json::array* JsonInput::Array(std::string_view member, bool required) {
  const auto* v = Find(member);
  if (v == nullptr) {
    if (required) AddViolation(member, "null", true, "Member must not be null");
    return nullptr;
  }
  if (!v->is_array()) {
    TypeError(member, "a list");
    return nullptr;
  }
  return &v->get_array();
}

const boost::json::object* JsonInput::Object(std::string_view member, bool required) {
  const auto* v = Find(member);
  if (v == nullptr) {
    if (required) AddViolation(member, "null", true, "Member must not be null");
    return nullptr;
  }
  if (!v->is_object()) {
    TypeError(member, "a structure");
    return nullptr;
  }
  return &v->get_object();
}

std::optional<std::vector<std::string>> JsonInput::StringList(std::string_view member,
                                                              StringRule element_rule,
                                                              std::optional<size_t> max_items) {
  const auto* arr = Array(member);
  if (arr == nullptr) return std::nullopt;
  std::vector<std::string> out;
  bool element_violates = false;
  for (const auto& e : *arr) {
    if (!e.is_string()) {
      TypeError(member, "a list of strings");
      return std::nullopt;
    }
    std::string s(e.get_string());
    element_violates = element_violates ||
                       (element_rule.min_len && s.size() < *element_rule.min_len) ||
                       (element_rule.max_len && s.size() > *element_rule.max_len);
    out.push_back(std::move(s));
  }
  if (element_violates) {
    // One violation for the list, quoting the whole list as AWS does ("[a, b]").
    std::string shown = "'[";
    for (size_t i = 0; i < out.size(); ++i) shown += (i ? ", " : "") + out[i];
    shown += "]'";
    AddViolation(member, shown, true,
                 "Member must satisfy constraint: [Member must have length less than or equal "
                 "to " +
                     std::to_string(element_rule.max_len.value_or(0)) +
                     ", Member must have length greater than or equal to " +
                     std::to_string(element_rule.min_len.value_or(0)) + "]");
  }
  if (max_items && out.size() > *max_items) {
    AddViolation(member, "", false,
                 "Member must have length less than or equal to " + std::to_string(*max_items));
  }
  return out;
}

Status JsonInput::Finish() const {
  if (serialization_error_) return *serialization_error_;
  if (violations_.empty()) return Status::Ok();
  std::string msg =
      std::to_string(violations_.size()) +
      (violations_.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < violations_.size(); ++i) {
    if (i) msg += "; ";
    msg += violations_[i];
  }
  return Status(ErrorCode::kValidationException, msg);
}

Result<std::optional<int64_t>> EpochMillisMember(const boost::json::object& input,
                                                 std::string_view member, ErrorCode out_of_range,
                                                 std::string_view message) {
  auto it = input.find(member);
  if (it == input.end() || it->value().is_null()) return std::optional<int64_t>();
  const boost::json::value& v = it->value();
  if (!v.is_number()) {
    return Status(ErrorCode::kSerializationException,
                  "Value for " + std::string(member) + " must be a timestamp (epoch seconds).");
  }
  const double seconds = v.to_number<double>();
  if (!std::isfinite(seconds) || std::fabs(seconds) > 1e13) {
    return Status(out_of_range, std::string(message));
  }
  return std::optional<int64_t>(static_cast<int64_t>(std::llround(seconds * 1000)));
}

}  // namespace coffer
