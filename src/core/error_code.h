// ErrorCode: every error code coffer can return, as a type the compiler checks.
//
// One table names each code once, with the HTTP status it is answered with. The name is the wire
// `__type` (JSON protocols) or `<Code>` (query protocols) exactly as AWS spells it, so a misspelt
// code is a compile error rather than an error clients cannot match. Codes differ by protocol for
// the same condition (Secrets Manager's AccessDeniedException, IAM's AccessDenied): each service
// returns its own, as its botocore model lists them.
// https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string_view>

namespace coffer {

// X(name, http_status). Most client errors are 400; the exceptions follow the services' models.
#define COFFER_ERROR_CODES(X)                                                                     \
  /* Common to the JSON protocols (Secrets Manager, Parameter Store, KMS, CloudTrail). */         \
  X(AccessDeniedException, 400)                                                                   \
  X(IncompleteSignatureException, 400)                                                            \
  X(InvalidSignatureException, 400)                                                               \
  X(UnrecognizedClientException, 400)                                                             \
  X(ExpiredTokenException, 400)                                                                   \
  X(MissingAuthenticationTokenException, 403)                                                     \
  X(SerializationException, 400)                                                                  \
  X(UnknownOperationException, 400)                                                               \
  X(UnsupportedMediaTypeException, 400)                                                           \
  X(ValidationException, 400)                                                                     \
  X(ThrottlingException, 400)                                                                     \
  X(ServiceUnavailableException, 503)                                                             \
  X(InternalFailure, 500)                                                                         \
  X(InternalServerError, 500)                                                                     \
  /* Secrets Manager. */                                                                          \
  X(DecryptionFailure, 400)                                                                       \
  X(EncryptionFailure, 400)                                                                       \
  X(InternalServiceError, 500)                                                                    \
  X(InvalidNextTokenException, 400)                                                               \
  X(InvalidParameterException, 400)                                                               \
  X(InvalidRequestException, 400)                                                                 \
  X(LimitExceededException, 400)                                                                  \
  X(MalformedPolicyDocumentException, 400)                                                        \
  X(PublicPolicyException, 400)                                                                   \
  X(ResourceExistsException, 400)                                                                 \
  X(ResourceNotFoundException, 400)                                                               \
  /* Parameter Store. */                                                                          \
  X(HierarchyLevelLimitExceededException, 400)                                                    \
  X(HierarchyTypeMismatchException, 400)                                                          \
  X(IncompatiblePolicyException, 400)                                                             \
  X(InvalidAllowedPatternException, 400)                                                          \
  X(InvalidFilterKey, 400)                                                                        \
  X(InvalidFilterOption, 400)                                                                     \
  X(InvalidFilterValue, 400)                                                                      \
  X(InvalidKeyId, 400)                                                                            \
  X(InvalidNextToken, 400)                                                                        \
  X(InvalidPolicyAttributeException, 400)                                                         \
  X(InvalidPolicyTypeException, 400)                                                              \
  X(InvalidResourceId, 400)                                                                       \
  X(InvalidResourceType, 400)                                                                     \
  X(ParameterAlreadyExists, 400)                                                                  \
  X(ParameterLimitExceeded, 400)                                                                  \
  X(ParameterMaxVersionLimitExceeded, 400)                                                        \
  X(ParameterNotFound, 400)                                                                       \
  X(ParameterPatternMismatchException, 400)                                                       \
  X(ParameterVersionLabelLimitExceeded, 400)                                                      \
  X(ParameterVersionNotFound, 400)                                                                \
  X(PoliciesLimitExceededException, 400)                                                          \
  X(TooManyTagsError, 400)                                                                        \
  X(TooManyUpdates, 400)                                                                          \
  X(UnsupportedOperationException, 400)                                                           \
  /* KMS. */                                                                                      \
  X(AlreadyExistsException, 400)                                                                  \
  X(DisabledException, 400)                                                                       \
  X(DryRunOperationException, 412)                                                                \
  X(IncorrectKeyException, 400)                                                                   \
  X(InvalidCiphertextException, 400)                                                              \
  X(InvalidKeyUsageException, 400)                                                                \
  X(InvalidMarkerException, 400)                                                                  \
  X(KMSInternalException, 500)                                                                    \
  X(KMSInvalidStateException, 400)                                                                \
  X(NotAuthorizedException, 400)                                                                  \
  X(NotFoundException, 400)                                                                       \
  X(TagException, 400)                                                                            \
  /* CloudWatch (its JSON protocol's codes are the query protocol's). */                          \
  X(InvalidParameterCombination, 400)                                                             \
  X(InvalidParameterValue, 400)                                                                   \
  /* CloudTrail. */                                                                               \
  X(InvalidLookupAttributesException, 400)                                                        \
  X(InvalidTimeRangeException, 400)                                                               \
  X(InvalidMaxResultsException, 400)                                                              \
  X(InvalidEventCategoryException, 400)                                                           \
  /* The query protocols (IAM, STS). */                                                           \
  X(AccessDenied, 403)                                                                            \
  X(ConcurrentModification, 409)                                                                  \
  X(DeleteConflict, 409)                                                                          \
  X(EntityAlreadyExists, 409)                                                                     \
  X(ExpiredToken, 400)                                                                            \
  X(IncompleteSignature, 400)                                                                     \
  X(InvalidAction, 400)                                                                           \
  X(InvalidClientTokenId, 403)                                                                    \
  X(InvalidInput, 400)                                                                            \
  X(InvalidParameterValueException, 400)                                                          \
  X(LimitExceeded, 409)                                                                           \
  X(MalformedPolicyDocument, 400)                                                                 \
  X(MissingAction, 400)                                                                           \
  X(MissingAuthenticationToken, 403)                                                              \
  X(NoSuchEntity, 404)                                                                            \
  X(PackedPolicyTooLarge, 400)                                                                    \
  X(SignatureDoesNotMatch, 403)                                                                   \
  X(ValidationError, 400)                                                                         \
  /* coffer's own: the operator API, the HTTP server, the seal. */                                \
  X(InvalidEventPatternException, 400) /* EventBridge's, for notification sinks' patterns */      \
  X(InvalidUnsealKeyException, 400)                                                               \
  X(MethodNotAllowed, 400)                                                                        \
  X(ServiceUnavailable, 503)                                                                      \
  /* Never on the wire: startup and command-line failures, and internal outcomes a caller maps to \
     a service's own code (a root key the passphrase does not open, a policy the simulator cannot \
     evaluate, the exception types the rotation templates raise). */                              \
  X(FailedPrecondition, 400)                                                                      \
  X(InvalidParameter, 400)                                                                        \
  X(KeyError, 400)                                                                                \
  X(PolicyEvaluation, 400)                                                                        \
  X(Sealed, 400)                                                                                  \
  X(ValueError, 400)

enum class ErrorCode : uint8_t {
  kOk = 0,  // no error: a Status that is OK
#define COFFER_ERROR_CODE_ENUMERATOR(name, http_status) k##name,
  COFFER_ERROR_CODES(COFFER_ERROR_CODE_ENUMERATOR)
#undef COFFER_ERROR_CODE_ENUMERATOR
};

// The code as AWS spells it on the wire ("" for kOk).
std::string_view ErrorCodeName(ErrorCode code);
// The code a wire name spells; nullopt for a name that is not one of coffer's codes.
std::optional<ErrorCode> ErrorCodeNamed(std::string_view name);

// The HTTP status a response carrying this code is sent with (200 for kOk).
int ErrorCodeHttpStatus(ErrorCode code);

// Prints the name, so test failures read "ValidationException" rather than a number.
std::ostream& operator<<(std::ostream& out, ErrorCode code);

}  // namespace coffer
