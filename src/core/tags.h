// Tags: the key-value pairs every taggable resource carries (secrets, parameters, KMS keys, IAM
// entities, sessions), in the order they were set.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace coffer {

using Tags = std::vector<std::pair<std::string, std::string>>;  // insertion order kept

// Tag keys are unique: setting an existing key replaces its value in place.
inline void PutTag(Tags* tags, std::string key, std::string value) {
  for (auto& tag : *tags) {
    if (tag.first == key) {
      tag.second = std::move(value);
      return;
    }
  }
  tags->emplace_back(std::move(key), std::move(value));
}

inline void MergeTags(Tags* into, const Tags& add) {
  for (const auto& [key, value] : add) PutTag(into, key, value);
}

}  // namespace coffer
