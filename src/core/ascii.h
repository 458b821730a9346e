// ASCII case folding, for identifiers AWS compares case-insensitively (IAM names, condition
// keys, tag keys in condition-key names, header names). Not for user text in general.
#pragma once

#include <cctype>
#include <string>
#include <string_view>

namespace coffer {

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace coffer
