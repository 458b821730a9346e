// EventBridge event patterns, the subset coffer's notification sinks filter with: a pattern is
// a JSON object whose fields name fields of the event (nested objects for nested fields, such
// as "detail"), each given an array of what matches — exact values (strings, numbers, true,
// false, null), {"prefix": "..."}, {"anything-but": value, [values] or {"prefix": "..."}} and
// {"exists": true|false}. A field matches when any item of its array does; an event field that
// is an array matches when any of its elements does; every field of the pattern must match.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
#pragma once

#include <boost/json.hpp>

#include "core/status.h"

namespace coffer::monitoring {

// Errors: InvalidEventPatternException (EventBridge's) naming what is wrong.
Status CheckEventPattern(const boost::json::value& pattern);
// Whether `event` (the EventBridge envelope) matches a checked pattern.
bool MatchesEventPattern(const boost::json::object& pattern, const boost::json::object& event);

}  // namespace coffer::monitoring
