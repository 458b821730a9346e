// Opaque page tokens (NextToken, Marker): where the next page of a listing starts, base64 of
// "<scope>:<position>". The scope names the listing (service, and what is listed and in which
// order), so a token of one listing is refused by another instead of skipping or repeating
// entries. A token is not a secret and not signed: it only ever selects among what the caller
// may list anyway.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace coffer {

std::string EncodePageToken(std::string_view scope, std::string_view position);

// The position in `token`, "" when there is no token, nullopt when the token is not one this
// scope issued (each service answers that with its own error).
std::optional<std::string> DecodePageToken(std::string_view scope,
                                           const std::optional<std::string>& token);

}  // namespace coffer
