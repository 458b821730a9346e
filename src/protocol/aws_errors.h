// The one table that maps AWS error codes to HTTP status codes.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html
#pragma once

#include <string_view>

namespace coffer {

// 400 for client faults (AWS uses 400 even for ResourceNotFoundException), 403 for the
// authentication codes AWS sends with 403, 500 for internal faults, 503 when unavailable.
int HttpStatusForError(std::string_view code);

}  // namespace coffer
