#include "protocol/json_tags.h"

#include <cctype>
#include <string>
#include <utility>

namespace coffer {
namespace {

bool IsTagCharacter(unsigned char c) {
  return c >= 0x80 || std::isalnum(c) || c == ' ' || c == '_' || c == '.' || c == ':' || c == '/' ||
         c == '=' || c == '+' || c == '-' || c == '@';
}

bool OnlyTagCharacters(const std::string& s) {
  for (unsigned char c : s) {
    if (!IsTagCharacter(c)) return false;
  }
  return true;
}

}  // namespace

Result<Tags> DecodeTagList(const boost::json::array* list, const TagListFormat& format) {
  Tags tags;
  if (list == nullptr) return tags;
  for (const auto& e : *list) {
    if (!e.is_object())
      return Status(ErrorCode::kSerializationException, "Expected a Tag structure.");
    const auto* k = e.get_object().if_contains(format.key_member);
    const auto* v = e.get_object().if_contains(format.value_member);
    const bool key_given = k != nullptr && k->is_string();
    const bool value_given = v != nullptr && v->is_string();
    if (format.null_means_empty) {
      if ((k && !key_given && !k->is_null()) || (v && !value_given && !v->is_null())) {
        return Status(ErrorCode::kSerializationException, "Tag Key and Value must be strings.");
      }
    } else if (!key_given || !value_given) {
      return format.missing_member;
    }
    std::string key = key_given ? std::string(k->get_string()) : "";
    std::string value = value_given ? std::string(v->get_string()) : "";
    if (key.empty() || key.size() > 128) return format.bad_key_size;
    if (value.size() > 256) return format.bad_value_size;
    if (format.tag_characters_only && (!OnlyTagCharacters(key) || !OnlyTagCharacters(value))) {
      return format.bad_characters;
    }
    if (format.aws_prefix_reserved && key.rfind("aws:", 0) == 0) return format.reserved_prefix;
    if (format.later_replaces_earlier) {
      PutTag(&tags, std::move(key), std::move(value));
    } else {
      tags.emplace_back(std::move(key), std::move(value));
    }
  }
  return tags;
}

}  // namespace coffer
