#include "client/value_from.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace coffer::client {

namespace json = boost::json;

namespace {

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// Go's strconv.FormatFloat(f, 'g', -1, 64): the shortest digits, in exponent form when the
// exponent is below -4 or at least 6 (the shortest form's fixed precision), with at least two
// exponent digits.
std::string FormatGoFloat(double f) {
  char sci[64];
  auto end = std::to_chars(sci, sci + sizeof sci, f, std::chars_format::scientific).ptr;
  std::string text(sci, end);
  size_t e = text.find('e');
  if (e == std::string::npos) return text;  // inf, nan
  int exponent = std::stoi(text.substr(e + 1));
  if (exponent < -4 || exponent >= 6) return text;  // "1e+06", "1.5e-05": Go's spelling too
  char fixed[400];
  end = std::to_chars(fixed, fixed + sizeof fixed, f, std::chars_format::fixed).ptr;
  return std::string(fixed, end);
}

}  // namespace

Result<SecretReference> ParseValueFrom(const std::string& env_name, const std::string& value_from) {
  SecretReference ref;
  ref.env_name = env_name;
  ref.value_from = value_from;
  if (value_from.empty()) {
    return Status(ErrorCode::kInvalidParameter, "secret " + env_name + ": valueFrom is empty");
  }
  if (value_from.rfind("arn:", 0) != 0) {
    ref.service = SecretReference::Service::kParameterStore;  // a name, in the task's region
    return ref;
  }
  // arn:partition:service:region:account:resource
  std::vector<std::string> fields = Split(value_from, ':');
  if (fields.size() < 6 || fields[1].empty() || fields[2].empty()) {
    return Status(ErrorCode::kInvalidParameter,
                  "secret " + env_name + ": valueFrom " + value_from + " is not a valid ARN");
  }
  ref.region = fields[3];
  const std::string prefix =
      "arn:" + fields[1] + ":" + fields[2] + ":" + fields[3] + ":" + fields[4] + ":";
  const std::string resource = value_from.substr(prefix.size());
  if (fields[2] == "ssm") {
    ref.service = SecretReference::Service::kParameterStore;
    return ref;
  }
  if (fields[2] != "secretsmanager") {
    return Status(ErrorCode::kInvalidParameter,
                  "secret " + env_name + ": valueFrom " + value_from +
                      " names neither a Secrets Manager secret nor an SSM parameter");
  }
  ref.service = SecretReference::Service::kSecretsManager;
  // The agent's asmsecret: "secret:{id}" or "secret:{id}:jsonKey:versionStage:versionID".
  std::vector<std::string> parts = Split(resource, ':');
  if (parts.size() == 2 && parts[0] == "secret") {
    ref.secret_id = value_from;
    return ref;
  }
  if (parts.size() == 5 && parts[0] == "secret") {
    ref.secret_id = prefix + "secret:" + parts[1];
    ref.json_key = parts[2];
    ref.version_stage = parts[3];
    ref.version_id = parts[4];
    return ref;
  }
  return Status(ErrorCode::kInvalidParameter,
                "secret " + env_name +
                    ": an invalid ARN format for the AWS Secrets Manager secret was specified. "
                    "Specify a valid ARN and try again.");
}

std::string RenderAsEcs(const json::value& value) {
  switch (value.kind()) {
    case json::kind::string:
      return std::string(value.get_string());
    case json::kind::bool_:
      return value.get_bool() ? "true" : "false";
    case json::kind::null:
      return "<nil>";
    case json::kind::int64:
      return FormatGoFloat(static_cast<double>(value.get_int64()));
    case json::kind::uint64:
      return FormatGoFloat(static_cast<double>(value.get_uint64()));
    case json::kind::double_:
      return FormatGoFloat(value.get_double());
    case json::kind::array: {
      std::string out = "[";
      for (const auto& item : value.get_array()) {
        if (out.size() > 1) out += ' ';
        out += RenderAsEcs(item);
      }
      return out + "]";
    }
    case json::kind::object: {
      // Go prints a map's keys sorted.
      std::vector<std::pair<std::string, const json::value*>> items;
      for (const auto& item : value.get_object()) {
        items.emplace_back(std::string(item.key()), &item.value());
      }
      std::sort(items.begin(), items.end(),
                [](const auto& a, const auto& b) { return a.first < b.first; });
      std::string out = "map[";
      for (const auto& [key, item] : items) {
        if (out.size() > 4) out += ' ';
        out += key + ":" + RenderAsEcs(*item);
      }
      return out + "]";
    }
  }
  return "";
}

}  // namespace coffer::client
