// The dashboard's files as the HTTP server answers GET /ui and what is under it.
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <optional>
#include <string_view>

#include "server/http_server.h"

namespace coffer {

using UiFileSource = std::function<std::optional<StaticFile>(std::string_view name)>;

// Whether `target` is /ui, or under it.
bool IsUiTarget(std::string_view target);

// Answers `target` with the file `files` has (index.html for /ui/), a redirect from /ui to
// /ui/, or 404. The policy lets the pages load only from coffer and talk only to coffer, never
// be framed (clickjacking), and never run inline or injected script.
void ServeUiFile(const UiFileSource& files, std::string_view target,
                 boost::beast::http::response<boost::beast::http::string_body>& res);

}  // namespace coffer
