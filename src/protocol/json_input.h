// JsonInput: typed, validated access to the members of an AWS JSON 1.1 request body.
//
// Mirrors how AWS reports bad input: a member of the wrong JSON type is a SerializationException;
// constraint failures (required, length, range) are collected and reported together as one
// ValidationException: "2 validation errors detected: Value null at 'secretId' failed to satisfy
// constraint: Member must not be null; ...". Members marked sensitive never echo their value.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer {

struct StringRule {
  bool required = false;
  std::optional<size_t> min_len;
  std::optional<size_t> max_len;
  bool sensitive = false;
};

struct IntRule {
  bool required = false;
  std::optional<int64_t> min;
  std::optional<int64_t> max;
};

class JsonInput {
 public:
  explicit JsonInput(const boost::json::object& object) : object_(object) {}

  bool Has(std::string_view member) const;
  std::optional<std::string> String(std::string_view member, StringRule rule = {});
  // A secret value: checked as a sensitive String (never echoed) and copied straight from the
  // parsed body into a buffer that wipes itself, so no std::string copy of it is left behind.
  std::optional<SecretBytes> Secret(std::string_view member, StringRule rule = {});
  std::optional<int64_t> Int(std::string_view member, IntRule rule = {});
  std::optional<bool> Bool(std::string_view member);
  // Arrays and objects: nullptr when absent (or after a type error).
  const boost::json::array* Array(std::string_view member, bool required = false);
  const boost::json::object* Object(std::string_view member, bool required = false);
  // An array whose elements must all be strings.
  std::optional<std::vector<std::string>> StringList(std::string_view member,
                                                     StringRule element_rule = {},
                                                     std::optional<size_t> max_items = {});

  // Records a constraint failure on a member (for rules the helpers above don't cover).
  void AddViolation(std::string_view member, std::string_view value_text, bool value_known,
                    std::string_view constraint);

  // OK, or the first SerializationException, or a ValidationException listing every violation.
  Status Finish() const;

 private:
  const boost::json::value* Find(std::string_view member) const;
  void TypeError(std::string_view member, std::string_view expected);

  const boost::json::object& object_;
  std::optional<Status> serialization_error_;
  std::vector<std::string> violations_;
};

// "SecretId" -> "secretId": the spelling AWS uses in validation messages.
std::string LowerFirst(std::string_view member);

// A timestamp member as the SDKs send it in the JSON protocols: epoch seconds, a number. Absent
// or null is nullopt; another type is SerializationException; a value no date can have is
// `out_of_range` with `message` (each service names that error its own way).
// A timestamp as the JSON protocols answer it: epoch seconds, a number (milliseconds kept).
inline double EpochSeconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

Result<std::optional<int64_t>> EpochMillisMember(const boost::json::object& input,
                                                 std::string_view member, ErrorCode out_of_range,
                                                 std::string_view message);

}  // namespace coffer
