#include "protocol/xml.h"

namespace coffer {
namespace {

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  static constexpr std::pair<std::string_view, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
  for (size_t i = 0; i < s.size(); ++i) {
    bool replaced = false;
    if (s[i] == '&') {
      for (const auto& [entity, c] : kEntities) {
        if (s.substr(i, entity.size()) == entity) {
          out.push_back(c);
          i += entity.size() - 1;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out.push_back(s[i]);
  }
  return out;
}

class XmlReader {
 public:
  explicit XmlReader(std::string_view s) : s_(s) {}

  // The content of an element (or of the document) up to its closing tag: text, or elements.
  bool Content(boost::json::value* out, int depth) {
    if (depth > 32) return false;
    size_t lt = s_.find('<', pos_);
    if (lt == std::string_view::npos) lt = s_.size();
    if (lt == s_.size() || s_.substr(lt, 2) == "</") {
      *out = boost::json::string(XmlUnescape(s_.substr(pos_, lt - pos_)));
      pos_ = lt;
      return true;
    }
    boost::json::object members;
    boost::json::array list;
    bool only_member_elements = true;
    for (;;) {
      while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
      if (pos_ >= s_.size() || s_.substr(pos_, 2) == "</") break;
      if (s_[pos_] != '<') return false;
      const size_t gt = s_.find('>', pos_);
      if (gt == std::string_view::npos) return false;
      std::string_view name = s_.substr(pos_ + 1, gt - pos_ - 1);
      const bool empty = !name.empty() && name.back() == '/';
      if (empty) name.remove_suffix(1);
      if (name.empty() || name.find_first_of(" =\"'") != std::string_view::npos) return false;
      pos_ = gt + 1;
      boost::json::value child = boost::json::string();
      if (!empty) {
        if (!Content(&child, depth + 1)) return false;
        const std::string close = "</" + std::string(name) + ">";
        if (s_.substr(pos_, close.size()) != close) return false;
        pos_ += close.size();
      }
      if (name == "member") {
        list.push_back(std::move(child));
      } else {
        only_member_elements = false;
        members[name] = std::move(child);
      }
    }
    if (only_member_elements) {
      *out = std::move(list);
    } else {
      *out = std::move(members);
    }
    return true;
  }

  bool AtEnd() const { return pos_ == s_.size(); }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<boost::json::object> QueryResultJson(std::string_view xml) {
  XmlReader reader(xml);
  boost::json::value doc;
  if (!reader.Content(&doc, 0) || !reader.AtEnd() || !doc.is_object()) return std::nullopt;
  boost::json::object& top = doc.get_object();
  if (top.size() == 1) {
    auto& [name, inner] = *top.begin();
    const std::string_view n = name;
    if (n.size() > 6 && n.substr(n.size() - 6) == "Result") {
      if (inner.is_object()) return std::move(inner.get_object());
      return boost::json::object{};  // a result with nothing in it
    }
  }
  return std::move(top);
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace coffer
