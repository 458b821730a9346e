// AllowedPattern: the regular expression a parameter's value must match, checked by RE2 in time
// linear in the value, so that no pattern a caller chooses can hold a server thread.
// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
//
// Parameter Store takes Java-style patterns. RE2 reads the same syntax for everything a value
// check needs (classes, anchors, alternation, bounded repetition, \d \w \s, Unicode \p{..}); the
// Java POSIX classes (\p{Alpha}, \p{Digit}, ... and their \P negations) are mapped to RE2's
// [[:alpha:]] forms and \Z to "end, or before a final newline". Constructs that need
// backtracking — backreferences, lookahead and lookbehind, possessive quantifiers, atomic
// groups — are refused when the pattern is given, as are patterns that would take more than
// kMaxProgramBytes to compile (e.g. nested counted repetitions).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"

namespace re2 {
class RE2;
}

namespace coffer::params {

class AllowedPattern {
 public:
  static constexpr int64_t kMaxProgramBytes = 8 << 20;

  // Errors: InvalidAllowedPatternException for a pattern RE2 cannot compile within the bounds.
  static Result<AllowedPattern> Compile(std::string_view pattern);

  // Whether the whole value matches (as Java's String.matches).
  bool Matches(std::string_view value) const;

  AllowedPattern(AllowedPattern&&) noexcept;
  AllowedPattern& operator=(AllowedPattern&&) noexcept;
  ~AllowedPattern();

 private:
  explicit AllowedPattern(std::unique_ptr<re2::RE2> re);
  std::unique_ptr<re2::RE2> re_;
};

// The pattern in RE2's syntax (the Java POSIX classes and \Z mapped; everything else as given).
std::string ToRe2Syntax(std::string_view java_pattern);

}  // namespace coffer::params
