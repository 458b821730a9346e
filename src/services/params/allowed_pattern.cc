#include "services/params/allowed_pattern.h"

#include <re2/re2.h>

#include <array>
#include <utility>

namespace coffer::params {
namespace {

// Java's POSIX character classes and their RE2 names.
// https://docs.oracle.com/javase/8/docs/api/java/util/regex/Pattern.html
constexpr std::array<std::pair<std::string_view, std::string_view>, 13> kPosixClasses = {{
    {"Lower", "lower"},
    {"Upper", "upper"},
    {"ASCII", "ascii"},
    {"Alpha", "alpha"},
    {"Digit", "digit"},
    {"Alnum", "alnum"},
    {"Punct", "punct"},
    {"Graph", "graph"},
    {"Print", "print"},
    {"Blank", "blank"},
    {"Cntrl", "cntrl"},
    {"XDigit", "xdigit"},
    {"Space", "space"},
}};

std::string_view PosixName(std::string_view java_name) {
  for (const auto& [java, re2] : kPosixClasses) {
    if (java == java_name) return re2;
  }
  return {};
}

}  // namespace

std::string ToRe2Syntax(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char next = p[i + 1];
      if ((next == 'p' || next == 'P') && i + 2 < p.size() && p[i + 2] == '{') {
        size_t close = p.find('}', i + 3);
        if (close != std::string_view::npos) {
          std::string_view name = PosixName(p.substr(i + 3, close - i - 3));
          if (!name.empty()) {
            const bool negated = next == 'P';
            if (in_class) {
              out += negated ? "[:^" : "[:";
              out += name;
              out += ":]";
            } else {
              out += negated ? "[^[:" : "[[:";
              out += name;
              out += ":]]";
            }
            i = close;
            continue;
          }
        }
      }
      if (next == 'Z' && !in_class) {
        out += "(?:\\n?\\z)";
        ++i;
        continue;
      }
      out += c;
      out += next;
      ++i;
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal member, not the end of the class.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

AllowedPattern::AllowedPattern(std::unique_ptr<re2::RE2> re) : re_(std::move(re)) {}
AllowedPattern::AllowedPattern(AllowedPattern&&) noexcept = default;
AllowedPattern& AllowedPattern::operator=(AllowedPattern&&) noexcept = default;
AllowedPattern::~AllowedPattern() = default;

Result<AllowedPattern> AllowedPattern::Compile(std::string_view pattern) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxProgramBytes);
  auto re = std::make_unique<re2::RE2>(ToRe2Syntax(pattern), options);
  if (!re->ok()) {
    return Status(ErrorCode::kInvalidAllowedPatternException,
                  "The request does not meet the regular expression requirement.");
  }
  return AllowedPattern(std::move(re));
}

bool AllowedPattern::Matches(std::string_view value) const { return RE2::FullMatch(value, *re_); }

}  // namespace coffer::params
