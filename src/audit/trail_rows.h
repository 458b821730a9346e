// The trail's index rows: a CloudTrail record together with the attributes LookupEvents selects
// on (event name and source, user name, access key, resources), derived once when the record is
// written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "audit/cloudtrail_record.h"
#include "core/request_context.h"
#include "store/audit_records.h"

namespace coffer::audit {

// The row of an API call's record. Resources not given in `call` are none.
AuditRow ApiCallRow(const ApiCall& call);
// The AuditSignal bits of an API call's record: a secret read; a Secrets Manager call refused
// by policy, and also unauthorized when the secret's resource policy refused it (a principal of
// another account, or a refusal the message names the resource-based policy for). A service
// event's row has kRotationSucceeded, or kRotationFailed for RotationFailed and
// RotationAbandoned.
uint32_t SignalsOf(const ApiCall& call);
// The row of a service event's record.
AuditRow ServiceEventRow(const ServiceEvent& event);

// The rows of the calls a service made for the caller of `ctx` while serving one of its calls
// (Secrets Manager's and Parameter Store's use of a KMS key), as CloudTrail records them: the
// caller's identity with invokedBy, the encryption context as the request, in the key's account.
// KMS's are left out when `exclude_kms` (CloudTrail's ExcludeManagementEventSources).
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-decrypt.html
std::vector<AuditRow> OnBehalfRows(const RequestContext& ctx, const AuthorizationLog& log,
                                   bool exclude_kms);

// The call `ctx`'s caller made of `operation` at `event_source`, as its record needs it: who,
// when, where from, the request and response (not copied: they must outlive the ApiCall), the
// outcome and the resources it was authorized on; a new time-ordered event id. The caller adds
// what only it knows (the user agent, TLS details).
ApiCall CallOf(const RequestContext& ctx, std::string event_source, std::string_view operation,
               const boost::json::object* request, const boost::json::object* response,
               const Status& outcome, const AuthorizationLog& log);

// The resources[] of a call: the ARNs it was authorized on that name a resource type CloudTrail
// records.
std::vector<RecordResource> CallResources(const AuthorizationLog& log);

// CloudTrail's resource type of an ARN: arn:aws:secretsmanager:...:secret:x ->
// "AWS::SecretsManager::Secret", ...:parameter/x -> "AWS::SSM::Parameter", ...:key/x ->
// "AWS::KMS::Key"; "" for an ARN of no type coffer records.
std::string ResourceTypeOf(std::string_view arn);

// LookupEvents' Username of a caller: the IAM user's name, the role session's name, "root".
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/view-cloudtrail-events-console.html
std::string LookupUsername(const Principal& principal);

}  // namespace coffer::audit
