#include "services/params/parameter_policies.h"

#include <boost/json.hpp>
#include <cctype>
#include <ctime>

#include "crypto/crypto.h"

namespace coffer::params {
namespace json = boost::json;
namespace {

Status BadAttribute(const std::string& type, const std::string& why) {
  return Status(ErrorCode::kInvalidPolicyAttributeException,
                "A policy attribute or its value is invalid for policy type " + type + ": " + why);
}

std::optional<int64_t> ParseCount(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  std::string s;
  if (v->is_string()) {
    s = std::string(v->get_string());
  } else if (v->is_int64()) {
    return v->get_int64();
  } else {
    return std::nullopt;
  }
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  return std::stoll(s);
}

}  // namespace

EpochMillis ParameterPolicy::AmountMillis() const {
  return amount * (unit == "Hours" ? 3600LL * 1000 : kMillisPerDay);
}

std::string ParameterPolicy::Key() const {
  return std::string(ParameterPolicyTypeName(type)) + ":" +
         crypto::HexLower(crypto::Sha256(text)).substr(0, 16);
}

std::optional<EpochMillis> ParseIsoTimestamp(const std::string& t) {
  // YYYY-MM-DDTHH:MM:SS[.fff][Z|+hh:mm|-hh:mm]
  if (t.size() < 19 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
      t[13] != ':' || t[16] != ':') {
    return std::nullopt;
  }
  auto num = [&](size_t pos, size_t n) -> int {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), s = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
      s < 0 || s > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  int64_t millis = 0;
  if (pos < t.size() && t[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < t.size() && std::isdigit(static_cast<unsigned char>(t[pos]))) {
      if (digits < 3) millis = millis * 10 + (t[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) millis *= 10;
  }
  int64_t offset_s = 0;
  if (pos < t.size() && (t[pos] == 'Z' || t[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == t.size() && (t[pos] == '+' || t[pos] == '-') && t[pos + 3] == ':') {
    int oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    offset_s = (oh * 3600 + om * 60) * (t[pos] == '+' ? 1 : -1);
    pos += 6;
  }
  if (pos != t.size()) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  std::time_t secs = timegm(&tm);
  return (static_cast<int64_t>(secs) - offset_s) * 1000 + millis;
}

Result<std::vector<ParameterPolicy>> ParsePolicies(const std::string& text) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (!ec && parsed.is_object()) {
    return Status(ErrorCode::kValidationException,
                  "Invalid policies input: the Policies value must be a JSON array of policy "
                  "objects, for example [{\"Type\":\"Expiration\",\"Version\":\"1.0\","
                  "\"Attributes\":{\"Timestamp\":\"2030-01-01T00:00:00.000Z\"}}].");
  }
  if (ec || !parsed.is_array()) {
    return Status(ErrorCode::kInvalidPolicyTypeException,
                  "The policy type is not supported. Parameter Store supports the following "
                  "policy types: Expiration, ExpirationNotification, and NoChangeNotification. "
                  "Policies must be a JSON array of policy objects.");
  }
  const auto& arr = parsed.get_array();
  if (arr.size() > kMaxPolicies) {
    return Status(ErrorCode::kPoliciesLimitExceededException,
                  "You specified more than the maximum number of allowed policies for the "
                  "parameter. The maximum is 10.");
  }
  std::vector<ParameterPolicy> out;
  bool has_expiration = false, has_expiration_notification = false;
  for (const auto& item : arr) {
    if (!item.is_object()) {
      return Status(ErrorCode::kInvalidPolicyTypeException, "Each policy must be a JSON object.");
    }
    const auto& o = item.get_object();
    const auto* type = o.if_contains("Type");
    if (type == nullptr || !type->is_string()) {
      return Status(ErrorCode::kInvalidPolicyTypeException, "A policy is missing its Type.");
    }
    ParameterPolicy p;
    const std::string type_name(type->get_string());
    const std::optional<ParameterPolicyType> known =
        ValueNamed(kParameterPolicyTypeNames, type_name);
    p.text = json::serialize(o);
    const auto* version = o.if_contains("Version");
    if (version && !(version->is_string() && version->get_string() == "1.0")) {
      return BadAttribute(type_name, "Version must be \"1.0\".");
    }
    const auto* attrs_v = o.if_contains("Attributes");
    if (attrs_v == nullptr || !attrs_v->is_object()) {
      return BadAttribute(type_name, "Attributes must be an object.");
    }
    const auto& attrs = attrs_v->get_object();
    if (!known) {
      return Status(ErrorCode::kInvalidPolicyTypeException,
                    "The policy type is not supported. Parameter Store supports the following "
                    "policy types: Expiration, ExpirationNotification, and NoChangeNotification.");
    }
    p.type = *known;
    if (p.type == ParameterPolicyType::kExpiration) {
      if (has_expiration) {
        return Status(ErrorCode::kIncompatiblePolicyException,
                      "There is a conflict in the policies specified for this parameter. You "
                      "can't, for example, specify two Expiration policies for a parameter.");
      }
      has_expiration = true;
      const auto* ts = attrs.if_contains("Timestamp");
      if (ts == nullptr || !ts->is_string())
        return BadAttribute(type_name, "Timestamp is required.");
      p.expiration_ms = ParseIsoTimestamp(std::string(ts->get_string()));
      if (!p.expiration_ms) {
        return BadAttribute(type_name, "Timestamp must be an ISO 8601 date and time.");
      }
      if (attrs.size() != 1) return BadAttribute(type_name, "only Timestamp is allowed.");
    } else {
      // Several notifications of one type are allowed (e.g. 30 and 7 days before expiry); only
      // one Expiration can apply.
      const bool before = p.type == ParameterPolicyType::kExpirationNotification;
      if (before) has_expiration_notification = true;
      const char* amount_key = before ? "Before" : "After";
      auto amount = ParseCount(attrs.if_contains(amount_key));
      if (!amount || *amount < 1) {
        return BadAttribute(type_name, std::string(amount_key) + " must be a positive number.");
      }
      p.amount = *amount;
      const auto* unit = attrs.if_contains("Unit");
      if (unit == nullptr || !unit->is_string() ||
          (unit->get_string() != "Days" && unit->get_string() != "Hours")) {
        return BadAttribute(type_name, "Unit must be Days or Hours.");
      }
      p.unit = std::string(unit->get_string());
      if (attrs.size() != 2) {
        return BadAttribute(type_name,
                            std::string("only ") + amount_key + " and Unit are allowed.");
      }
    }
    out.push_back(std::move(p));
  }
  if (has_expiration_notification && !has_expiration) {
    return Status(ErrorCode::kIncompatiblePolicyException,
                  "An ExpirationNotification policy needs an Expiration policy on the same "
                  "parameter.");
  }
  return out;
}

}  // namespace coffer::params
