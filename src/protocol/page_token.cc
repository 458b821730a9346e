#include "protocol/page_token.h"

#include "crypto/crypto.h"

namespace coffer {

std::string EncodePageToken(std::string_view scope, std::string_view position) {
  std::string raw;
  raw.reserve(scope.size() + 1 + position.size());
  raw.append(scope).append(":").append(position);
  return crypto::Base64Encode(raw);
}

std::optional<std::string> DecodePageToken(std::string_view scope,
                                           const std::optional<std::string>& token) {
  if (!token) return std::string();
  auto raw = crypto::Base64Decode(*token);
  if (!raw || raw->size() <= scope.size() || raw->compare(0, scope.size(), scope) != 0 ||
      (*raw)[scope.size()] != ':') {
    return std::nullopt;
  }
  return raw->substr(scope.size() + 1);
}

}  // namespace coffer
