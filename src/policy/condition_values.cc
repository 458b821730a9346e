#include "policy/condition_values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>

#include "policy/policy.h"

namespace coffer::policy {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<double> ParseDate(std::string_view s) {
  if (s.empty()) return std::nullopt;
  if (std::all_of(s.begin(), s.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)) || c == '.'; })) {
    try {
      return std::stod(std::string(s)) * 1000.0;
    } catch (...) {
      return std::nullopt;
    }
  }
  auto num = [&](size_t pos, size_t len) -> int {
    if (pos + len > s.size()) return -1;
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || s.size() < 10 || s[4] != '-' ||
      s[7] != '-') {
    return std::nullopt;
  }
  double ms =
      static_cast<double>(DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d))) *
      86400000.0;
  size_t pos = 10;
  if (pos == s.size()) return ms;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  int h = num(pos + 1, 2), mi = num(pos + 4, 2);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s[pos + 3] != ':') return std::nullopt;
  ms += (h * 3600.0 + mi * 60.0) * 1000.0;
  pos += 6;
  if (pos < s.size() && s[pos] == ':') {
    int sec = num(pos + 1, 2);
    if (sec < 0 || sec > 60) return std::nullopt;
    ms += sec * 1000.0;
    pos += 3;
    if (pos < s.size() && s[pos] == '.') {
      size_t start = ++pos;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
      if (pos == start) return std::nullopt;
      ms += std::stod("0." + std::string(s.substr(start, pos - start))) * 1000.0;
    }
  }
  if (pos == s.size()) return ms;
  if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) return ms;
  if ((s[pos] == '+' || s[pos] == '-') && s.size() == pos + 6 && s[pos + 3] == ':') {
    int oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (oh < 0 || om < 0) return std::nullopt;
    double offset = (oh * 3600.0 + om * 60.0) * 1000.0;
    return s[pos] == '+' ? ms - offset : ms + offset;
  }
  return std::nullopt;
}

std::optional<double> ParseNumber(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string text(s);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<IpRange> ParseIp(std::string_view text, bool allow_prefix) {
  std::string s(text);
  IpRange r;
  size_t slash = s.find('/');
  std::string addr = s.substr(0, slash);
  if (inet_pton(AF_INET, addr.c_str(), r.bytes.data()) == 1) {
    r.family = AF_INET;
    r.prefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), r.bytes.data()) == 1) {
    r.family = AF_INET6;
    r.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string::npos) {
    if (!allow_prefix) return std::nullopt;
    auto prefix = ParseNumber(s.substr(slash + 1));
    if (!prefix || *prefix < 0 || *prefix > r.prefix || *prefix != std::floor(*prefix)) {
      return std::nullopt;
    }
    r.prefix = static_cast<int>(*prefix);
  }
  return r;
}

bool InRange(const IpRange& range, const IpRange& ip) {
  if (range.family != ip.family) return false;
  int bits = range.prefix;
  for (int i = 0; bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
    if ((range.bytes[static_cast<size_t>(i)] & mask) != (ip.bytes[static_cast<size_t>(i)] & mask)) {
      return false;
    }
  }
  return true;
}

bool ArnMatch(std::string_view pattern, std::string_view arn) {
  auto split = [](std::string_view s) {
    std::vector<std::string_view> parts;
    for (int i = 0; i < 5; ++i) {
      size_t colon = s.find(':');
      if (colon == std::string_view::npos) return std::vector<std::string_view>{};
      parts.push_back(s.substr(0, colon));
      s.remove_prefix(colon + 1);
    }
    parts.push_back(s);
    return parts;
  };
  if (pattern == "*") return true;
  auto p = split(pattern), a = split(arn);
  if (p.size() != 6 || a.size() != 6) return false;
  for (size_t i = 0; i < 6; ++i) {
    if (!WildcardMatch(p[i], a[i], false)) return false;
  }
  return true;
}

bool ValueMatches(const OperatorInfo& op, std::string_view context, std::string_view policy) {
  switch (op.family) {
    case Family::kString:
      return context == policy;
    case Family::kStringIgnoreCase:
      return EqualsIgnoreCase(context, policy);
    case Family::kStringLike:
      return WildcardMatch(policy, context, false);
    case Family::kNumeric:
    case Family::kDate: {
      auto c = op.family == Family::kNumeric ? ParseNumber(context) : ParseDate(context);
      auto p = op.family == Family::kNumeric ? ParseNumber(policy) : ParseDate(policy);
      if (!c || !p) return false;
      switch (op.compare) {
        case Compare::kEq:
          return *c == *p;
        case Compare::kLt:
          return *c < *p;
        case Compare::kLe:
          return *c <= *p;
        case Compare::kGt:
          return *c > *p;
        case Compare::kGe:
          return *c >= *p;
      }
      return false;
    }
    case Family::kBool:
      return EqualsIgnoreCase(context, policy);
    case Family::kBinary:
      return context == policy;
    case Family::kIp: {
      auto range = ParseIp(policy, true);
      auto ip = ParseIp(context, false);
      return range && ip && InRange(*range, *ip);
    }
    case Family::kArn:
      return ArnMatch(policy, context);
    case Family::kNull:
      return false;
  }
  return false;
}

bool AnyPolicyValueMatches(const OperatorInfo& op, std::string_view context,
                           const std::vector<std::string>& values) {
  for (const auto& v : values) {
    if (ValueMatches(op, context, v)) return true;
  }
  return false;
}

}  // namespace coffer::policy
