// Conversions between EpochMillis and the textual time formats AWS uses on the wire.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace coffer {

// "20150830T123600Z" (SigV4 X-Amz-Date).
std::string FormatAmzDate(EpochMillis t);
std::optional<EpochMillis> ParseAmzDate(std::string_view s);

// "Sun, 30 Aug 2015 12:36:00 GMT" (HTTP Date, RFC 7231 IMF-fixdate).
std::string FormatHttpDate(EpochMillis t);
std::optional<EpochMillis> ParseHttpDate(std::string_view s);

// "2015-08-30T12:36:00Z" (ISO-8601, used in XML responses).
std::string FormatIso8601(EpochMillis t);

// Midnight UTC of the day containing t (AWS keeps LastAccessedDate at day granularity).
EpochMillis TruncateToDay(EpochMillis t);

}  // namespace coffer
