// What KMS's operations share: AWS's limits, ARNs, the key metadata shape, blob, encryption
// context and tag decoding, key state errors and page markers. Internal to services/kms.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

#include "core/clock.h"
#include "core/request_context.h"
#include "core/scope.h"
#include "core/status.h"
#include "core/tags.h"
#include "protocol/json_input.h"
#include "store/store.h"

namespace coffer::kms {
namespace json = boost::json;

// https://docs.aws.amazon.com/kms/latest/developerguide/limits.html
inline constexpr size_t kMaxPlaintextBytes = 4096;
inline constexpr size_t kMaxCiphertextBytes = 6144;
inline constexpr size_t kMaxTags = 50;
inline constexpr int kMaxOnDemandRotations = 10;
inline constexpr char kAlgorithm[] = "SYMMETRIC_DEFAULT";

json::value Epoch(EpochMillis ms);

std::string KeyArn(const Scope& scope, const std::string& key_id);

std::string AliasArn(const Scope& scope, const std::string& alias);

json::object KeyMetadata(const KmsKeyRow& k);

Result<std::string> DecodeBlob(JsonInput& in, const char* member, bool required, size_t max);

Result<std::map<std::string, std::string>> DecodeContext(JsonInput& in, const char* member);

Status CheckAlgorithm(JsonInput& in, const char* member);

Status ValidatePolicy(const std::string& policy);

// DryRun checks the request and the key, then stops short of the operation.
// https://docs.aws.amazon.com/kms/latest/developerguide/programming-dryrun.html
Status DryRun(JsonInput& in);

Status NotChangeable(const KmsKeyRow& k);

Status NotUsable(const KmsKeyRow& k);

Result<Tags> DecodeKmsTags(const json::array* arr);

std::string EncodeMarker(const std::string& last);

Result<std::string> DecodeMarker(const std::optional<std::string>& marker);

// kms:EncryptionContext:<context-key> (one per pair) and kms:EncryptionContextKeys. Condition key
// names are matched case-insensitively, so the context key is lowercased here with the rest of
// the name; values keep their case.
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-encryption-context
void AddEncryptionContext(const std::map<std::string, std::string>& context,
                          std::map<std::string, std::vector<std::string>>* keys);

// The alias a KeyId input names (alias name or alias ARN), for kms:RequestAlias.
// https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-request-alias
std::optional<std::string> RequestAlias(const std::string& ref);

bool IsValidAliasName(const std::string& alias);

}  // namespace coffer::kms
