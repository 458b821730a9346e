// Percent-decoding of URL query strings and form bodies (RFC 3986 section 2.1).
#pragma once

#include <string>
#include <string_view>

namespace coffer {

// Decodes %XX escapes; a malformed escape is kept literally. With plus_is_space, '+' decodes to
// a space (application/x-www-form-urlencoded); SigV4 canonicalisation keeps '+' as is.
std::string PercentDecode(std::string_view s, bool plus_is_space);

}  // namespace coffer
