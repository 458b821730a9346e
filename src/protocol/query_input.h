// Reading an AWS query-protocol request (IAM, STS): the model's string patterns and length
// limits, lists ("Name.member.N"), tag lists and numbers, with the first violation reported as
// AWS's query services report it ("1 validation error detected: Value ... at '...' failed to
// satisfy constraint: Member must ...").
#pragma once

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ascii.h"
#include "core/status.h"
#include "core/tags.h"
#include "protocol/json_input.h"

namespace coffer {

// ---- input validation -------------------------------------------------------------------
// The model's constraints (botocore data/iam/2010-05-08/service-2.json), reported the way AWS's
// query services report them.

enum class Pattern {
  kAny,
  kName,         // [\w+=,.@-]+
  kPath,         // (\u002F)|(\u002F[\u0021-\u007E]+\u002F)
  kPathPrefix,   // \u002F[\u0021-\u007F]*
  kPolicyPath,   // ((/[A-Za-z0-9\.,\+@=_-]+)*)/
  kDocument,     // [\u0009\u000A\u000D\u0020-\u00FF]+
  kWord,         // [\w]+
  kVersionId,    // v[1-9][0-9]*(\.[A-Za-z0-9-]*)?
  kPrintable,    // [\u0020-\u00FF]+
  kTagKey,       // [\p{L}\p{Z}\p{N}_.:/=+\-@]+
  kTagValue,     // [\p{L}\p{Z}\p{N}_.:/=+\-@]*
  kDescription,  // [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*
};

// The model's text of a pattern, as AWS quotes it in a validation error.
const char* PatternText(Pattern p);
bool Matches(Pattern p, std::string_view s);

struct Rule {
  bool required = false;
  size_t min_len = 0;
  size_t max_len = 0;  // 0: unbounded
  Pattern pattern = Pattern::kAny;
  bool echo = true;  // policy documents are left out of messages: too long to help anyone
};

// Reads the query parameters of one request, collecting the first constraint violation.
// IAM and STS take at most 50 tags in one request.
inline constexpr size_t kMaxQueryTags = 50;

class QueryInput {
 public:
  explicit QueryInput(const std::map<std::string, std::string>& params) : params_(params) {}

  std::optional<std::string> String(const std::string& name, const Rule& rule) {
    auto it = params_.find(name);
    if (it == params_.end()) {
      if (rule.required) Fail("Value null at '" + LowerFirst(name) + "'", "not be null");
      return std::nullopt;
    }
    Check(LowerFirst(name), it->second, rule);
    return it->second;
  }

  std::optional<int64_t> Int(const std::string& name, int64_t min, int64_t max) {
    auto it = params_.find(name);
    if (it == params_.end()) return std::nullopt;
    const std::string& text = it->second;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    const std::string at = "Value '" + text + "' at '" + LowerFirst(name) + "'";
    if (ec != std::errc() || end != text.data() + text.size()) {
      Fail(at, "be a number");
      return std::nullopt;
    }
    if (v < min) Fail(at, "have value greater than or equal to " + std::to_string(min));
    if (v > max) Fail(at, "have value less than or equal to " + std::to_string(max));
    return v;
  }

  std::optional<bool> Bool(const std::string& name) {
    auto it = params_.find(name);
    if (it == params_.end()) return std::nullopt;
    std::string v = AsciiLower(it->second);
    if (v == "true") return true;
    if (v == "false") return false;
    Fail("Value '" + it->second + "' at '" + LowerFirst(name) + "'", "be a boolean");
    return std::nullopt;
  }

  // "<name>.member.1", "<name>.member.2", ... up to the first gap. A list sent empty arrives as
  // "<name>=" and is present but has no members.
  std::optional<std::vector<std::string>> List(const std::string& name, const Rule& member,
                                               bool required, size_t max_members = 0) {
    std::vector<std::string> out;
    for (size_t i = 1;; ++i) {
      auto it = params_.find(name + ".member." + std::to_string(i));
      if (it == params_.end()) break;
      Check(LowerFirst(name) + "." + std::to_string(i) + ".member", it->second, member);
      out.push_back(it->second);
    }
    if (out.empty() && params_.find(name) == params_.end()) {
      if (required) Fail("Value null at '" + LowerFirst(name) + "'", "not be null");
      return std::nullopt;
    }
    if (max_members != 0 && out.size() > max_members) {
      Fail("Value at '" + LowerFirst(name) + "'",
           "have length less than or equal to " + std::to_string(max_members));
    }
    return out;
  }

  // Tags.member.N.Key / Tags.member.N.Value.
  std::optional<Tags> TagList(const std::string& name, bool required) {
    Tags out;
    for (size_t i = 1;; ++i) {
      const std::string base = name + ".member." + std::to_string(i) + ".";
      auto key = params_.find(base + "Key");
      auto value = params_.find(base + "Value");
      if (key == params_.end() && value == params_.end()) break;
      const std::string member = LowerFirst(name) + "." + std::to_string(i) + ".member.";
      if (key == params_.end() || value == params_.end()) {
        Fail("Value null at '" + member + (key == params_.end() ? "key" : "value") + "'",
             "not be null");
        return std::nullopt;
      }
      Check(member + "key", key->second,
            {.min_len = 1, .max_len = 128, .pattern = Pattern::kTagKey});
      Check(member + "value", value->second, {.max_len = 256, .pattern = Pattern::kTagValue});
      out.emplace_back(key->second, value->second);
    }
    if (out.empty() && params_.find(name) == params_.end()) {
      if (required) Fail("Value null at '" + LowerFirst(name) + "'", "not be null");
      return std::nullopt;
    }
    if (out.size() > kMaxQueryTags) {
      Fail("Value at '" + LowerFirst(name) + "'",
           "have length less than or equal to " + std::to_string(kMaxQueryTags));
    }
    return out;
  }

  Status Finish() const { return error_ ? *error_ : Status::Ok(); }

 private:
  void Check(const std::string& member, const std::string& value, const Rule& rule) {
    const std::string at =
        rule.echo ? "Value '" + value + "' at '" + member + "'" : "Value at '" + member + "'";
    if (value.size() < rule.min_len) {
      Fail(at, "have length greater than or equal to " + std::to_string(rule.min_len));
    } else if (rule.max_len != 0 && value.size() > rule.max_len) {
      Fail(at, "have length less than or equal to " + std::to_string(rule.max_len));
    } else if (!value.empty() && !Matches(rule.pattern, value)) {
      Fail(at, std::string("satisfy regular expression pattern: ") + PatternText(rule.pattern));
    }
  }
  void Fail(const std::string& at, const std::string& constraint) {
    if (error_) return;
    error_ = Status(ErrorCode::kValidationError, "1 validation error detected: " + at +
                                                     " failed to satisfy constraint: Member must " +
                                                     constraint);
  }

  const std::map<std::string, std::string>& params_;
  std::optional<Status> error_;
};

// ValidationError for a value outside an enum: `values` as AWS lists them ("[Active, Inactive]").
Status EnumError(const char* member, const std::string& value, const char* values);

}  // namespace coffer
