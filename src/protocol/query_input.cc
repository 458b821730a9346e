#include "protocol/query_input.h"

#include <algorithm>
#include <cctype>

namespace coffer {
namespace {

bool IsWordChar(unsigned char c) { return std::isalnum(c) || c == '_'; }
bool IsNameChar(unsigned char c) {
  return IsWordChar(c) || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}
// Bytes of multi-byte UTF-8 characters count as letters: the model's Unicode classes cover them.
bool IsTagChar(unsigned char c) {
  return std::isalnum(c) || c >= 0x80 || c == ' ' || c == '_' || c == '.' || c == ':' || c == '/' ||
         c == '=' || c == '+' || c == '-' || c == '@';
}

}  // namespace

const char* PatternText(Pattern p) {
  switch (p) {
    case Pattern::kName:
      return "[\\w+=,.@-]+";
    case Pattern::kPath:
      return "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)";
    case Pattern::kPathPrefix:
      return "\\u002F[\\u0021-\\u007F]*";
    case Pattern::kPolicyPath:
      return "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/";
    case Pattern::kDocument:
      return "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";
    case Pattern::kWord:
      return "[\\w]+";
    case Pattern::kVersionId:
      return "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?";
    case Pattern::kPrintable:
      return "[\\u0020-\\u00FF]+";
    case Pattern::kTagKey:
      return "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+";
    case Pattern::kTagValue:
      return "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*";
    case Pattern::kDescription:
      return "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*";
    case Pattern::kAny:
      break;
  }
  return "";
}

bool Matches(Pattern p, std::string_view s) {
  auto all = [&s](auto pred) {
    return std::all_of(s.begin(), s.end(),
                       [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  switch (p) {
    case Pattern::kAny:
      return true;
    case Pattern::kName:
      return !s.empty() && all(IsNameChar);
    case Pattern::kPath:
      return s == "/" || (s.size() >= 3 && s.front() == '/' && s.back() == '/' &&
                          all([](unsigned char c) { return c >= 0x21 && c <= 0x7e; }));
    case Pattern::kPathPrefix:
      return !s.empty() && s.front() == '/' &&
             all([](unsigned char c) { return c >= 0x21 && c <= 0x7f; });
    case Pattern::kPolicyPath: {
      if (s.empty() || s.front() != '/' || s.back() != '/') return false;
      if (s.find("//") != std::string_view::npos) return false;
      return all([](unsigned char c) { return c == '/' || IsNameChar(c); });
    }
    case Pattern::kDocument:
      return !s.empty() &&
             all([](unsigned char c) { return c == '\t' || c == '\n' || c == '\r' || c >= 0x20; });
    case Pattern::kWord:
      return !s.empty() && all(IsWordChar);
    case Pattern::kVersionId: {
      if (s.size() < 2 || s[0] != 'v' || s[1] < '1' || s[1] > '9') return false;
      size_t i = 2;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == s.size()) return true;
      if (s[i] != '.') return false;
      for (++i; i < s.size(); ++i) {
        if (!std::isalnum(static_cast<unsigned char>(s[i])) && s[i] != '-') return false;
      }
      return true;
    }
    case Pattern::kPrintable:
      return !s.empty() && all([](unsigned char c) { return c >= 0x20; });
    case Pattern::kTagKey:
      return !s.empty() && all(IsTagChar);
    case Pattern::kTagValue:
      return all(IsTagChar);
    case Pattern::kDescription:
      return all([](unsigned char c) {
        return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0x7e) || c >= 0x80;
      });
  }
  return false;
}

Status EnumError(const char* member, const std::string& value, const char* values) {
  return Status(ErrorCode::kValidationError,
                "1 validation error detected: Value '" + value + "' at '" + member +
                    "' failed to satisfy constraint: Member must satisfy "
                    "enum value set: " +
                    values);
}

}  // namespace coffer
