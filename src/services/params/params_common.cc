#include "services/params/params_common.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/arn.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/keyring.h"
#include "keyring/kms_use.h"
#include "protocol/json_input.h"
#include "protocol/json_tags.h"
#include "protocol/page_token.h"
#include "services/params/allowed_pattern.h"
#include "services/params/parameter_names.h"
#include "services/params/parameter_policies.h"

namespace coffer::params {

json::value Epoch(EpochMillis ms) {
  if (ms % 1000 == 0) return json::value(ms / 1000);
  return json::value(static_cast<double>(ms) / 1000.0);
}

Status NotFound(const std::string& name) {
  (void)name;  // AWS answers GetParameter's ParameterNotFound with an empty message.
  return Status(ErrorCode::kParameterNotFound, "");
}

Status VersionNotFound(const std::string& name, const std::string& version) {
  return Status(ErrorCode::kParameterVersionNotFound, "Systems Manager could not find version " +
                                                          version + " of " + name +
                                                          ". Verify the version and try again.");
}

std::string ValueContext(const std::string& arn) {
  return EncryptionContextAad({{"PARAMETER_ARN", arn}});
}

bool Expired(const ParameterRow& row, EpochMillis now) {
  return row.expires_at_ms && *row.expires_at_ms <= now;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

void TrimName(std::optional<std::string>* name) {
  if (!name->has_value()) return;
  std::string& n = **name;
  size_t b = n.find_first_not_of(' ');
  size_t e = n.find_last_not_of(' ');
  n = b == std::string::npos ? std::string() : n.substr(b, e - b + 1);
}

std::string EncodeCursor(const std::string& name_key) {
  return EncodePageToken("coffer-ssm", name_key);
}

Result<std::string> DecodeCursor(const std::optional<std::string>& token) {
  auto position = DecodePageToken("coffer-ssm", token);
  if (!position || (token && position->empty())) {
    return Status(ErrorCode::kInvalidNextToken, "The specified token isn't valid.");
  }
  return std::move(*position);
}

json::array PoliciesJson(const std::optional<std::string>& policies, const ParameterRow* row,
                         StoreReader* reader) {
  json::array out;
  if (!policies) return out;
  auto parsed = ParsePolicies(*policies);
  if (!parsed.ok()) return out;
  for (const auto& p : *parsed) {
    std::string status = "Pending";
    if (row && reader && p.type != ParameterPolicyType::kExpiration) {
      auto sent = reader->parameters().NotificationSent(row->id, row->version, p.Key());
      if (sent.ok() && *sent) status = "Finished";
    }
    out.push_back(json::object{{"PolicyText", p.text},
                               {"PolicyType", ParameterPolicyTypeName(p.type)},
                               {"PolicyStatus", status}});
  }
  return out;
}

Status ValidateStringFilterShapes(const std::vector<StringFilter>& filters,
                                  const std::vector<bool>& has_option) {
  std::vector<std::string> violations;
  auto violation = [&](size_t i, const std::string& member, const std::string& shown,
                       const std::string& constraint) {
    violations.push_back("Value " + (shown.empty() ? "" : shown + " ") + "at 'parameterFilters." +
                         std::to_string(i + 1) + ".member." + member +
                         "' failed to satisfy constraint: " + constraint);
  };
  for (size_t i = 0; i < filters.size(); ++i) {
    const StringFilter& f = filters[i];
    std::vector<std::string> key_rules;
    if (f.key.empty()) key_rules.push_back("Member must have length greater than or equal to 1");
    if (f.key.size() > 132) {
      key_rules.push_back("Member must have length less than or equal to 132");
    }
    // The pattern tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType ('.' is any but a newline).
    const bool matches_pattern = f.key == "Name" || f.key == "Type" || f.key == "KeyId" ||
                                 f.key == "Path" || f.key == "Label" || f.key == "Tier" ||
                                 f.key == "DataType" ||
                                 (StartsWith(f.key, "tag:") && f.key.size() > 4 &&
                                  f.key.find_first_of("\n\r", 4) == std::string::npos);
    if (!matches_pattern) {
      key_rules.push_back(
          "Member must satisfy regular expression pattern: "
          "tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType");
    }
    if (!key_rules.empty()) {
      std::string rules = key_rules.size() == 1 ? key_rules[0] : "[" + key_rules[0];
      for (size_t k = 1; k < key_rules.size(); ++k) rules += ", " + key_rules[k];
      if (key_rules.size() > 1) rules += "]";
      violation(i, "key", "'" + f.key.substr(0, 132) + "'", rules);
    }
    if (has_option[i] && (f.option.empty() || f.option.size() > 10)) {
      violation(i, "option", "'" + f.option.substr(0, 64) + "'",
                f.option.empty() ? "Member must have length greater than or equal to 1"
                                 : "Member must have length less than or equal to 10");
    }
    if (f.values.size() > 50) {
      violation(i, "values", "", "Member must have length less than or equal to 50");
    }
    for (const auto& v : f.values) {
      if (v.empty() || v.size() > 1024) {
        violation(i, "values", "",
                  "[Member must have length less than or equal to 1024, Member must have length "
                  "greater than or equal to 1]");
        break;
      }
    }
  }
  if (violations.empty()) return Status::Ok();
  std::string msg =
      std::to_string(violations.size()) +
      (violations.size() == 1 ? " validation error detected: " : " validation errors detected: ");
  for (size_t i = 0; i < violations.size(); ++i) msg += (i ? "; " : "") + violations[i];
  return Status(ErrorCode::kValidationException, msg);
}

Result<std::vector<StringFilter>> DecodeStringFilters(const json::array* arr, bool by_path) {
  std::vector<StringFilter> out;
  if (arr == nullptr) return out;
  std::vector<StringFilter> parsed;
  std::vector<bool> has_option;
  for (const auto& e : *arr) {
    if (!e.is_object())
      return Status(ErrorCode::kSerializationException, "Expected a ParameterStringFilter.");
    const auto& o = e.get_object();
    StringFilter f;
    const auto* key = o.if_contains("Key");
    if (key == nullptr || !key->is_string()) {
      return Status(ErrorCode::kValidationException,
                    "1 validation error detected: Value null at 'parameterFilters.member.key' "
                    "failed to satisfy constraint: Member must not be null");
    }
    f.key = std::string(key->get_string());
    const auto* option = o.if_contains("Option");
    has_option.push_back(option && !option->is_null());
    if (option && !option->is_null()) {
      if (!option->is_string())
        return Status(ErrorCode::kSerializationException, "Option is a string.");
      f.option = std::string(option->get_string());
    }
    const auto* values = o.if_contains("Values");
    if (values && values->is_array()) {
      for (const auto& v : values->get_array()) {
        if (!v.is_string())
          return Status(ErrorCode::kSerializationException, "Values are strings.");
        f.values.emplace_back(v.get_string());
      }
    }
    parsed.push_back(std::move(f));
  }
  COFFER_RETURN_IF_ERROR(ValidateStringFilterShapes(parsed, has_option));
  std::set<std::string> seen;
  for (auto& f : parsed) {
    if (by_path && f.key != "Type" && f.key != "KeyId" && f.key != "Label") {
      return Status(ErrorCode::kInvalidFilterKey,
                    "The following filter key is not valid: " + f.key +
                        ". Valid filter keys include: [Type, KeyId].");
    }
    if (!by_path && f.key == "Label") {
      return Status(ErrorCode::kInvalidFilterKey,
                    "The following filter key is not valid: Label. Valid filter keys include: "
                    "[Path, Name, Type, KeyId, Tier].");
    }
    if (seen.count(f.key)) {
      return Status(ErrorCode::kInvalidFilterKey,
                    "The following filter is duplicated in the request: " + f.key +
                        ". A request can contain only one occurrence of a "
                        "specific filter.");
    }
    seen.insert(f.key);
    if (f.key == "Path") {
      if (f.option.empty()) f.option = "OneLevel";
      if (f.option != "Recursive" && f.option != "OneLevel") {
        return Status(ErrorCode::kInvalidFilterOption,
                      "The following filter option is not valid: " + f.option +
                          ". Valid options include: [Recursive, OneLevel].");
      }
      if (f.values.empty()) {
        return Status(ErrorCode::kInvalidFilterValue,
                      "The following filter values are missing : null for filter key Path.");
      }
      for (auto& v : f.values) {
        COFFER_ASSIGN_OR_RETURN(v, NormalizePath(v));
      }
      out.push_back(std::move(f));
      continue;
    }
    if (f.option.empty()) f.option = "Equals";
    bool label_key = f.key == "Label";
    bool option_ok = f.option == "Equals" || (!label_key && f.option == "BeginsWith") ||
                     (f.key == "Name" && f.option == "Contains");
    if (!option_ok) {
      return Status(ErrorCode::kInvalidFilterOption,
                    "The following filter option is not valid: " + f.option +
                        ". Valid options include: [" +
                        (label_key         ? "Equals"
                         : f.key == "Name" ? "BeginsWith, Equals, Contains"
                                           : "BeginsWith, Equals") +
                        "].");
    }
    if (!StartsWith(f.key, "tag:") && f.values.empty()) {
      return Status(ErrorCode::kInvalidFilterValue,
                    "The following filter values are missing : null for filter key " + f.key + ".");
    }
    auto check_enum = [&](const std::vector<std::string>& allowed) -> Status {
      for (const auto& v : f.values) {
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
          std::string list;
          for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
          return Status(ErrorCode::kInvalidFilterValue,
                        "The following filter value is not valid: " + v +
                            ". Valid values include: [" + list + "].");
        }
      }
      return Status::Ok();
    };
    if (f.key == "Type")
      COFFER_RETURN_IF_ERROR(check_enum({"String", "StringList", "SecureString"}));
    if (f.key == "Tier") {
      COFFER_RETURN_IF_ERROR(check_enum({"Standard", "Advanced", "Intelligent-Tiering"}));
    }
    out.push_back(std::move(f));
  }
  return out;
}

bool MatchValue(const std::string& actual, const StringFilter& f) {
  for (const auto& v : f.values) {
    if (f.option == "Equals" && actual == v) return true;
    if (f.option == "BeginsWith" && StartsWith(actual, v)) return true;
    if (f.option == "Contains" && actual.find(v) != std::string::npos) return true;
  }
  return false;
}

std::string KeyIdOf(const ParameterRow& row) {
  return row.type == ParameterType::kSecureString ? row.key_id.value_or(kDefaultKeyId) : "";
}

json::object Metadata(const Scope& scope, const ParameterRow& r, StoreReader* reader) {
  json::object m{
      {"Name", r.name}, {"ARN", ParameterArn(scope, r.name)}, {"Type", ParameterTypeName(r.type)}};
  if (r.type == ParameterType::kSecureString) m["KeyId"] = KeyIdOf(r);
  m["LastModifiedDate"] = Epoch(r.last_modified_ms);
  m["LastModifiedUser"] = r.last_modified_user;
  if (r.description) m["Description"] = *r.description;
  if (r.allowed_pattern) m["AllowedPattern"] = *r.allowed_pattern;
  m["Version"] = r.version;
  m["Tier"] = ParameterTierName(r.tier);
  m["Policies"] = PoliciesJson(r.policies, &r, reader);
  m["DataType"] = r.data_type;
  return m;
}

Result<Tags> DecodeTags(const json::array* arr) {
  static const Status kBadTag(
      ErrorCode::kValidationException,
      "1 validation error detected: Value at 'tags.member' failed to satisfy constraint: a tag "
      "key is 1-128 and a value 0-256 characters of letters, numbers, spaces and _.:/=+-@");
  static const TagListFormat kParameterTags{
      .later_replaces_earlier = true,
      .aws_prefix_reserved = false,
      .tag_characters_only = true,
      .missing_member = Status(ErrorCode::kValidationException,
                               "1 validation error detected: Value null at 'tags.member.key' "
                               "failed to satisfy constraint: Member must not be null"),
      .bad_key_size = kBadTag,
      .bad_value_size = kBadTag,
      .bad_characters = kBadTag,
  };
  return DecodeTagList(arr, kParameterTags);
}

Result<ParameterRow> FindLive(StoreReader& r, const Scope& scope, const std::string& name,
                              EpochMillis now, const Status& missing) {
  COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(scope, NameKey(name)));
  if (!found || Expired(*found, now)) return missing;
  return std::move(*found);
}

Status InvalidResourceId() {
  return Status(ErrorCode::kInvalidResourceId,
                "The resource ID isn't valid. Verify the ID and try again.");
}

EventRow ChangeEvent(const Scope& scope, EpochMillis now, const ParameterRow& row,
                     const std::string& operation) {
  EventRow e;
  e.time_ms = now;
  e.account = scope.account;
  e.region = scope.region;
  e.source = "aws.ssm";
  e.detail_type = "Parameter Store Change";
  e.resources = json::serialize(json::array{json::string(ParameterArn(scope, row.name))});
  json::object detail{
      {"operation", operation}, {"name", row.name}, {"type", ParameterTypeName(row.type)}};
  if (row.description) detail["description"] = *row.description;
  e.detail = json::serialize(detail);
  return e;
}

Status AuthorizeOn(const RequestContext& ctx, const char* action, const std::string& name,
                   const Tags* tags, ConditionKeys extra) {
  AuthzCheck check{action, ParameterArn(ctx.scope, name)};
  check.context = std::move(extra);
  if (tags != nullptr) AddResourceTagKeys(*tags, "ssm", &check.context);
  return ctx.Authorize(check);
}

Result<ParameterReference> ParseOwnReference(const RequestContext& ctx, const char* action,
                                             const std::string& input) {
  auto ref = ParseReference(ctx.scope, input);
  if (ref.ok() || ref.status().code() != ErrorCode::kParameterNotFound) return ref;
  if (auto arn = ParseArn(input)) {
    std::string resource = arn->resource.substr(0, arn->resource.find(':'));  // no selector
    AuthzCheck check{
        action,
        "arn:" + arn->partition + ":ssm:" + arn->region + ":" + arn->account + ":" + resource,
        arn->account};
    COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  }
  return ref;
}

Result<std::string> TaggedParameterName(JsonInput& in) {
  auto type = in.String("ResourceType", {.required = true});
  auto id = in.String("ResourceId", {.required = true, .min_len = 1});
  TrimName(&id);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (*type != "Parameter") {
    return Status(ErrorCode::kInvalidResourceType,
                  "The resource type isn't valid. coffer supports tags on resources of type "
                  "Parameter.");
  }
  return *id;
}

}  // namespace coffer::params
