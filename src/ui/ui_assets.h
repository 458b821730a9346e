// The dashboard's files (src/ui/web/, and uPlot from src/ui/node_modules/, pinned in
// src/ui/package-lock.json), compiled into the binary when it is built: coffer serves its
// dashboard at /ui/ with nothing fetched from elsewhere, no CDN and no separate files to install.
#pragma once

#include <span>
#include <string_view>

namespace coffer::ui {

struct Asset {
  std::string_view name;          // "index.html", "app.js", ...
  std::string_view content_type;  // "text/javascript; charset=utf-8", ...
  std::string_view body;
};

// Every file, in name order.
std::span<const Asset> Assets();

// The file named `name`, or null.
const Asset* FindAsset(std::string_view name);

}  // namespace coffer::ui
