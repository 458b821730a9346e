// XML text for the query-protocol APIs (STS, IAM) and their error responses.
#pragma once

#include <string>
#include <string_view>

namespace coffer {

// `s` with &, <, >, " and ' escaped, for element text and attribute values.
std::string XmlEscape(std::string_view s);

}  // namespace coffer
