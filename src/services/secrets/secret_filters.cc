#include "services/secrets/secret_filters.h"

#include <algorithm>
#include <cctype>

#include "core/ascii.h"

namespace coffer::secrets {
namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Every query word is a prefix of some word.
bool EveryWordPrefixesOne(const std::vector<std::string>& query_words,
                          const std::vector<std::string>& words) {
  return std::all_of(query_words.begin(), query_words.end(), [&](const std::string& q) {
    return std::any_of(words.begin(), words.end(),
                       [&](const std::string& w) { return StartsWith(w, q); });
  });
}

bool WordPrefixMatch(const std::string& query, const std::vector<std::string>& fields) {
  auto query_words = SplitWords(query);
  if (query_words.empty()) return true;
  std::vector<std::string> words;
  for (const auto& f : fields) {
    for (auto& w : SplitWords(f)) words.push_back(std::move(w));
  }
  return EveryWordPrefixesOne(query_words, words);
}

// Every word of the query is a prefix of some word of the field; a query without words matches
// nothing.
bool AlnumWordsMatch(const std::string& query, const std::string& field) {
  auto query_words = AlnumWords(query);
  return !query_words.empty() && EveryWordPrefixesOne(query_words, AlnumWords(field));
}

bool ValueMatches(const SecretRow& s, const std::string& key, const std::string& v) {
  if (key == "name") return AlnumWordsMatch(v, s.name);
  if (key == "description") return s.description && AlnumWordsMatch(v, *s.description);
  if (key == "tag-key") {
    for (const auto& [k, val] : s.tags) {
      if (StartsWith(k, v)) return true;
    }
    return false;
  }
  if (key == "tag-value") {
    for (const auto& [k, val] : s.tags) {
      if (StartsWith(val, v)) return true;
    }
    return false;
  }
  if (key == "all") {
    std::vector<std::string> fields = {s.name};
    if (s.description) fields.push_back(*s.description);
    for (const auto& [k, val] : s.tags) {
      fields.push_back(k);
      fields.push_back(val);
    }
    return WordPrefixMatch(v, fields);
  }
  // primary-region and owning-service: coffer's secrets are not replicas and no service owns
  // them, so those attributes are absent and a positive filter matches nothing.
  return false;
}

}  // namespace

bool IsFilterKey(const std::string& key) {
  return key == "description" || key == "name" || key == "tag-key" || key == "tag-value" ||
         key == "primary-region" || key == "owning-service" || key == "all";
}

bool IsValidFilterValue(const std::string& value) {
  if (value.size() > 512) return false;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == ' ' || c == ':' || c == '_' ||
              c == '@' || c == '/' || c == '+' || c == '=' || c == '.' || c == '-' || c == '!';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) words.push_back(AsciiLower(cur));
    cur.clear();
  };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (!std::isalnum(c)) {
      flush();
      continue;
    }
    if (!cur.empty()) {
      unsigned char p = static_cast<unsigned char>(cur.back());
      bool boundary = (std::isdigit(p) != 0) != (std::isdigit(c) != 0) ||
                      (std::islower(p) && std::isupper(c)) ||
                      // "DBPassword": split before the last capital of a run followed by lower
                      (std::isupper(p) && std::isupper(c) && i + 1 < text.size() &&
                       std::islower(static_cast<unsigned char>(text[i + 1])));
      if (boundary) flush();
    }
    cur.push_back(static_cast<char>(c));
  }
  flush();
  return words;
}

std::vector<std::string> AlnumWords(const std::string& text) {
  std::vector<std::string> words;
  std::string cur;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c))) {
      cur.push_back(c);
    } else if (!cur.empty()) {
      words.push_back(AsciiLower(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(AsciiLower(cur));
  return words;
}

bool MatchesFilters(const SecretRow& secret, const std::vector<SecretFilter>& filters) {
  for (const auto& f : filters) {
    bool any_positive = false, positive_hit = false;
    for (const auto& v : f.values) {
      if (!v.empty() && v[0] == '!') {
        if (ValueMatches(secret, f.key, v.substr(1))) return false;
      } else {
        any_positive = true;
        if (ValueMatches(secret, f.key, v)) positive_hit = true;
      }
    }
    if (any_positive && !positive_hit) return false;
  }
  return true;
}

}  // namespace coffer::secrets
