#include "ui/ui_assets.h"

#include <algorithm>

namespace coffer::ui {

const Asset* FindAsset(std::string_view name) {
  const auto assets = Assets();
  auto it = std::lower_bound(assets.begin(), assets.end(), name,
                             [](const Asset& a, std::string_view n) { return a.name < n; });
  return it != assets.end() && it->name == name ? &*it : nullptr;
}

}  // namespace coffer::ui
