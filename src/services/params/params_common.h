// What Parameter Store's operations share: AWS's quotas, errors, value contexts, page tokens,
// filters, tags, the metadata shape, change events and authorization helpers. Internal to
// services/params.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/scope.h"
#include "core/status.h"
#include "core/tags.h"
#include "protocol/json_input.h"
#include "services/params/parameter_names.h"
#include "services/params/parameter_policies.h"
#include "store/store.h"

namespace coffer::params {
namespace json = boost::json;

// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
inline constexpr size_t kMaxVersions = 100;
inline constexpr size_t kMaxLabelsPerVersion = 10;
inline constexpr size_t kMaxTags = 50;
// Rows a listing call examines at most before it answers with what it has and a NextToken.
inline constexpr int kScanBudget = 1000;
inline constexpr int kScanBatch = 100;
inline constexpr char kDefaultKeyId[] = "alias/aws/ssm";
inline constexpr char kReferencePrefix[] = "/aws/reference/secretsmanager/";

json::value Epoch(EpochMillis ms);

Status NotFound(const std::string& name);

Status VersionNotFound(const std::string& name, const std::string& version);

// The AAD of every sealed value: the encryption context AWS uses for SecureString.
std::string ValueContext(const std::string& arn);

bool Expired(const ParameterRow& row, EpochMillis now);

bool StartsWith(std::string_view s, std::string_view p);

// Parameter Store trims leading and trailing spaces from names (PutParameter's Name doc).
void TrimName(std::optional<std::string>* name);

std::string EncodeCursor(const std::string& name_key);

Result<std::string> DecodeCursor(const std::optional<std::string>& token);

json::array PoliciesJson(const std::optional<std::string>& policies, const ParameterRow* row,
                         StoreReader* reader);

// A ParameterStringFilter after validation.
struct StringFilter {
  std::string key;
  std::string option;
  std::vector<std::string> values;
};

// The model's constraints on ParameterStringFilter, checked for every filter before any other
// rule, and reported together in one ValidationException as AWS does.
Status ValidateStringFilterShapes(const std::vector<StringFilter>& filters,
                                  const std::vector<bool>& has_option);

Result<std::vector<StringFilter>> DecodeStringFilters(const json::array* arr, bool by_path);

bool MatchValue(const std::string& actual, const StringFilter& f);

std::string KeyIdOf(const ParameterRow& row);

json::object Metadata(const Scope& scope, const ParameterRow& r, StoreReader* reader);

// Tag rules of SSM: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Tag.html
Result<Tags> DecodeTags(const json::array* arr);

// The parameter a write operation names, unless it is missing or already expired.
Result<ParameterRow> FindLive(StoreReader& r, const Scope& scope, const std::string& name,
                              EpochMillis now, const Status& missing);

Status InvalidResourceId();

EventRow ChangeEvent(const Scope& scope, EpochMillis now, const ParameterRow& row,
                     const std::string& operation);

// Authorizes `action` on the ARN of the parameter `name`; `tags` (null: the parameter does not
// exist) become aws:ResourceTag keys.
Status AuthorizeOn(const RequestContext& ctx, const char* action, const std::string& name,
                   const Tags* tags, ConditionKeys extra = {});

// ParseReference, except that an ARN of another account or Region (reported as
// ParameterNotFound) is first authorized against as given: AWS checks permissions before it
// says that a parameter does not exist.
Result<ParameterReference> ParseOwnReference(const RequestContext& ctx, const char* action,
                                             const std::string& input);

Result<std::string> TaggedParameterName(JsonInput& in);

}  // namespace coffer::params
