// XML text for the query-protocol APIs (STS, IAM) and their error responses.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace coffer {

// `s` with &, <, >, " and ' escaped, for element text and attribute values.
std::string XmlEscape(std::string_view s);

// The members of a query-protocol result as JSON, as CloudTrail shows a query API's response:
// `<AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId>...` becomes
// {"Credentials": {"AccessKeyId": "A", ...}, ...}; the children of an element that holds only
// <member> elements become an array; text is unescaped; the one outer *Result element is left
// out. For the XML coffer's own services write (elements and text, no attributes); nullopt for
// anything else.
std::optional<boost::json::object> QueryResultJson(std::string_view xml);

}  // namespace coffer
