#include "core/arn.h"

#include <vector>

namespace coffer {

std::string Arn::ToString() const {
  return "arn:" + partition + ":" + service + ":" + region + ":" + account + ":" + resource;
}

std::optional<Arn> ParseArn(std::string_view s) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = s.find(':', start);
    if (colon == std::string_view::npos) return std::nullopt;
    parts.push_back(s.substr(start, colon - start));
    start = colon + 1;
  }
  if (parts[0] != "arn" || parts[1].empty() || parts[2].empty()) return std::nullopt;
  Arn arn;
  arn.partition = parts[1];
  arn.service = parts[2];
  arn.region = parts[3];
  arn.account = parts[4];
  arn.resource = s.substr(start);
  return arn;
}

bool IsValidRegionName(std::string_view region) {
  if (region.empty() || region.size() > 32) return false;
  bool prev_dash = true;
  for (char c : region) {
    if (c == '-') {
      if (prev_dash) return false;
      prev_dash = true;
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      prev_dash = false;
    } else {
      return false;
    }
  }
  char last = region.back();
  return last >= '0' && last <= '9' && region.find('-') != std::string_view::npos;
}

std::string IamNameOfArn(std::string_view arn) {
  size_t slash = arn.rfind('/');
  return slash == std::string_view::npos ? "" : std::string(arn.substr(slash + 1));
}

}  // namespace coffer
