// EnumNames: the one table between an enum-like field and the text it is stored and sent as.
//
// Row fields such as a KMS key's state or a parameter's tier are enums in code, so a comparison
// with a misspelt value does not compile; the store keeps them as the text AWS uses on the wire
// ("PendingDeletion", "SecureString"), so the database stays readable and needs no migration.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

namespace coffer {

template <typename Enum>
struct EnumName {
  Enum value;
  std::string_view name;
};

// The name of `value` in `table` ("" when the table lacks it, which a test of each table rules
// out).
template <typename Enum, size_t N>
constexpr std::string_view NameOf(const EnumName<Enum> (&table)[N], Enum value) {
  for (const auto& entry : table) {
    if (entry.value == value) return entry.name;
  }
  return {};
}

// The value named `name` exactly (case-sensitive, as AWS's enums are), or nullopt.
template <typename Enum, size_t N>
constexpr std::optional<Enum> ValueNamed(const EnumName<Enum> (&table)[N], std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return entry.value;
  }
  return std::nullopt;
}

}  // namespace coffer
