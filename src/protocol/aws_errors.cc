#include "protocol/aws_errors.h"

namespace coffer {

int HttpStatusForError(std::string_view code) {
  if (code == "InternalFailure" || code == "InternalServiceError" ||
      code == "InternalServerError" || code == "KMSInternalException") {
    return 500;
  }
  if (code == "ServiceUnavailable" || code == "ServiceUnavailableException") return 503;
  if (code == "DryRunOperationException") return 412;
  // IAM's query-protocol errors carry their own statuses.
  // https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
  if (code == "NoSuchEntity") return 404;
  if (code == "EntityAlreadyExists" || code == "DeleteConflict" || code == "LimitExceeded" ||
      code == "ConcurrentModification") {
    return 409;
  }
  if (code == "MissingAuthenticationTokenException" || code == "MissingAuthenticationToken" ||
      code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" || code == "AccessDenied") {
    return 403;
  }
  return 400;
}

}  // namespace coffer
