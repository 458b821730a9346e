#include "core/error_code.h"

#include <ostream>

namespace coffer {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "";
#define COFFER_ERROR_CODE_NAME(name, http_status) \
  case ErrorCode::k##name:                        \
    return #name;
      COFFER_ERROR_CODES(COFFER_ERROR_CODE_NAME)
#undef COFFER_ERROR_CODE_NAME
  }
  return "InternalFailure";  // unreachable: the switch names every enumerator
}

std::optional<ErrorCode> ErrorCodeNamed(std::string_view name) {
#define COFFER_ERROR_CODE_NAMED(code_name, http_status) \
  if (name == #code_name) return ErrorCode::k##code_name;
  COFFER_ERROR_CODES(COFFER_ERROR_CODE_NAMED)
#undef COFFER_ERROR_CODE_NAMED
  return std::nullopt;
}

int ErrorCodeHttpStatus(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
#define COFFER_ERROR_CODE_STATUS(name, http_status) \
  case ErrorCode::k##name:                          \
    return http_status;
      COFFER_ERROR_CODES(COFFER_ERROR_CODE_STATUS)
#undef COFFER_ERROR_CODE_STATUS
  }
  return 500;
}

std::ostream& operator<<(std::ostream& out, ErrorCode code) { return out << ErrorCodeName(code); }

}  // namespace coffer
