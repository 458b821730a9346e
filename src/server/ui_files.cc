#include "server/ui_files.h"

namespace coffer {

namespace http = boost::beast::http;

bool IsUiTarget(std::string_view target) {
  return target.starts_with("/ui") && (target.size() == 3 || target[3] == '/' || target[3] == '?');
}

void ServeUiFile(const UiFileSource& files, std::string_view target,
                 http::response<http::string_body>& res) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path == "/ui") {
    res.result(http::status::moved_permanently);
    res.set(http::field::location, "/ui/");
    return;
  }
  std::string_view name = path.substr(4);
  if (name.empty()) name = "index.html";
  auto file = files(name);
  if (!file) {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain");
    res.body() = "No such file of the dashboard.\n";
    return;
  }
  res.set(http::field::content_type, file->content_type);
  res.set("Content-Security-Policy",
          "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; "
          "script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::cache_control, "no-cache");
  res.body().assign(file->body);
}

}  // namespace coffer
