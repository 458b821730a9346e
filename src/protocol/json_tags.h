// Decoding a JSON protocol's tag list ([{"Key": ..., "Value": ...}, ...]) once for every
// service, each with its member names, its rules and its own errors (Secrets Manager's
// InvalidParameterException, SSM's ValidationException, KMS's TagException).
#pragma once

#include <boost/json.hpp>
#include <string_view>

#include "core/status.h"
#include "core/tags.h"

namespace coffer {

struct TagListFormat {
  std::string_view key_member = "Key";
  std::string_view value_member = "Value";
  bool null_means_empty = false;        // a missing or null member reads as "" (Secrets Manager)
  bool later_replaces_earlier = false;  // a repeated key keeps its last value (SSM, KMS)
  bool aws_prefix_reserved = true;      // keys starting "aws:" are refused
  bool tag_characters_only = false;     // letters, digits, spaces and _.:/=+-@ (SSM)
  // The service's answer to each problem.
  Status missing_member;  // a key or value absent or not a string (unless null_means_empty)
  Status bad_key_size;    // a key not 1-128 characters
  Status bad_value_size;  // a value over 256 characters
  Status reserved_prefix;
  Status bad_characters;
};

// The tags of `list` (null: none). A non-object element is a SerializationException, as the
// JSON protocols answer; so is a member of another type where null reads as "".
Result<Tags> DecodeTagList(const boost::json::array* list, const TagListFormat& format);

}  // namespace coffer
