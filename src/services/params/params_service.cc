#include "services/params/params_service.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/arn.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/kms_use.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "services/params/allowed_pattern.h"
#include "services/params/parameter_names.h"
#include "services/params/parameter_policies.h"

namespace coffer::params {
namespace json = boost::json;
namespace {

// https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
constexpr size_t kStandardValueBytes = 4096;
constexpr size_t kAdvancedValueBytes = 8192;
constexpr int64_t kStandardParametersPerRegion = 10000;
constexpr int64_t kAdvancedParametersPerRegion = 100000;
constexpr size_t kMaxVersions = 100;
constexpr size_t kMaxLabelsPerVersion = 10;
constexpr size_t kMaxTags = 50;
// Rows a listing call examines at most before it answers with what it has and a NextToken.
constexpr int kScanBudget = 1000;
constexpr int kScanBatch = 100;
constexpr char kDefaultKeyId[] = "alias/aws/ssm";
constexpr char kReferencePrefix[] = "/aws/reference/secretsmanager/";

json::value Epoch(EpochMillis ms) {
  if (ms % 1000 == 0) return json::value(ms / 1000);
  return json::value(static_cast<double>(ms) / 1000.0);
}

Status NotFound(const std::string& name) {
  (void)name;  // AWS answers GetParameter's ParameterNotFound with an empty message.
  return Status("ParameterNotFound", "");
}

Status VersionNotFound(const std::string& name, const std::string& version) {
  return Status("ParameterVersionNotFound", "Systems Manager could not find version " + version +
                                                " of " + name +
                                                ". Verify the version and try again.");
}

// The AAD of every sealed value: the encryption context AWS uses for SecureString.
std::string ValueContext(const std::string& arn) {
  return EncryptionContextAad({{"PARAMETER_ARN", arn}});
}

bool Expired(const ParameterRow& row, EpochMillis now) {
  return row.expires_at_ms && *row.expires_at_ms <= now;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Parameter Store trims leading and trailing spaces from names (PutParameter's Name doc).
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
    return Status("InvalidNextToken", "The specified token isn't valid.");
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
    if (row && reader && p.type != "Expiration") {
      auto sent = reader->parameters().NotificationSent(row->id, row->version, p.Key());
      if (sent.ok() && *sent) status = "Finished";
    }
    out.push_back(
        json::object{{"PolicyText", p.text}, {"PolicyType", p.type}, {"PolicyStatus", status}});
  }
  return out;
}

// A ParameterStringFilter after validation.
struct StringFilter {
  std::string key;
  std::string option;
  std::vector<std::string> values;
};

// The model's constraints on ParameterStringFilter, checked for every filter before any other
// rule, and reported together in one ValidationException as AWS does.
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
  return Status("ValidationException", msg);
}

Result<std::vector<StringFilter>> DecodeStringFilters(const json::array* arr, bool by_path) {
  std::vector<StringFilter> out;
  if (arr == nullptr) return out;
  std::vector<StringFilter> parsed;
  std::vector<bool> has_option;
  for (const auto& e : *arr) {
    if (!e.is_object())
      return Status("SerializationException", "Expected a ParameterStringFilter.");
    const auto& o = e.get_object();
    StringFilter f;
    const auto* key = o.if_contains("Key");
    if (key == nullptr || !key->is_string()) {
      return Status("ValidationException",
                    "1 validation error detected: Value null at 'parameterFilters.member.key' "
                    "failed to satisfy constraint: Member must not be null");
    }
    f.key = std::string(key->get_string());
    const auto* option = o.if_contains("Option");
    has_option.push_back(option && !option->is_null());
    if (option && !option->is_null()) {
      if (!option->is_string()) return Status("SerializationException", "Option is a string.");
      f.option = std::string(option->get_string());
    }
    const auto* values = o.if_contains("Values");
    if (values && values->is_array()) {
      for (const auto& v : values->get_array()) {
        if (!v.is_string()) return Status("SerializationException", "Values are strings.");
        f.values.emplace_back(v.get_string());
      }
    }
    parsed.push_back(std::move(f));
  }
  COFFER_RETURN_IF_ERROR(ValidateStringFilterShapes(parsed, has_option));
  std::set<std::string> seen;
  for (auto& f : parsed) {
    if (by_path && f.key != "Type" && f.key != "KeyId" && f.key != "Label") {
      return Status("InvalidFilterKey", "The following filter key is not valid: " + f.key +
                                            ". Valid filter keys include: [Type, KeyId].");
    }
    if (!by_path && f.key == "Label") {
      return Status("InvalidFilterKey",
                    "The following filter key is not valid: Label. Valid filter keys include: "
                    "[Path, Name, Type, KeyId, Tier].");
    }
    if (seen.count(f.key)) {
      return Status("InvalidFilterKey",
                    "The following filter is duplicated in the request: " + f.key +
                        ". A request can contain only one occurrence of a "
                        "specific filter.");
    }
    seen.insert(f.key);
    if (f.key == "Path") {
      if (f.option.empty()) f.option = "OneLevel";
      if (f.option != "Recursive" && f.option != "OneLevel") {
        return Status("InvalidFilterOption",
                      "The following filter option is not valid: " + f.option +
                          ". Valid options include: [Recursive, OneLevel].");
      }
      if (f.values.empty()) {
        return Status("InvalidFilterValue",
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
      return Status("InvalidFilterOption", "The following filter option is not valid: " + f.option +
                                               ". Valid options include: [" +
                                               (label_key         ? "Equals"
                                                : f.key == "Name" ? "BeginsWith, Equals, Contains"
                                                                  : "BeginsWith, Equals") +
                                               "].");
    }
    if (!StartsWith(f.key, "tag:") && f.values.empty()) {
      return Status("InvalidFilterValue",
                    "The following filter values are missing : null for filter key " + f.key + ".");
    }
    auto check_enum = [&](const std::vector<std::string>& allowed) -> Status {
      for (const auto& v : f.values) {
        if (std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
          std::string list;
          for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
          return Status("InvalidFilterValue", "The following filter value is not valid: " + v +
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
  return row.type == "SecureString" ? row.key_id.value_or(kDefaultKeyId) : "";
}

json::object Metadata(const Scope& scope, const ParameterRow& r, StoreReader* reader) {
  json::object m{{"Name", r.name}, {"ARN", ParameterArn(scope, r.name)}, {"Type", r.type}};
  if (r.type == "SecureString") m["KeyId"] = KeyIdOf(r);
  m["LastModifiedDate"] = Epoch(r.last_modified_ms);
  m["LastModifiedUser"] = r.last_modified_user;
  if (r.description) m["Description"] = *r.description;
  if (r.allowed_pattern) m["AllowedPattern"] = *r.allowed_pattern;
  m["Version"] = r.version;
  m["Tier"] = r.tier;
  m["Policies"] = PoliciesJson(r.policies, &r, reader);
  m["DataType"] = r.data_type;
  return m;
}

// Tag rules of SSM: https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Tag.html
Status ValidateTag(const std::string& key, const std::string& value) {
  auto ok_chars = [](const std::string& s) {
    for (unsigned char c : s) {
      bool ok = c >= 0x80 || std::isalnum(c) || c == ' ' || c == '_' || c == '.' || c == ':' ||
                c == '/' || c == '=' || c == '+' || c == '-' || c == '@';
      if (!ok) return false;
    }
    return true;
  };
  if (key.empty() || key.size() > 128 || value.size() > 256 || !ok_chars(key) || !ok_chars(value)) {
    return Status("ValidationException",
                  "1 validation error detected: Value at 'tags.member' failed to satisfy "
                  "constraint: a tag key is 1-128 and a value 0-256 characters of letters, "
                  "numbers, spaces and _.:/=+-@");
  }
  return Status::Ok();
}

Result<Tags> DecodeTags(const json::array* arr) {
  Tags tags;
  if (arr == nullptr) return tags;
  for (const auto& e : *arr) {
    if (!e.is_object()) return Status("SerializationException", "Expected a Tag structure.");
    const auto* k = e.get_object().if_contains("Key");
    const auto* v = e.get_object().if_contains("Value");
    if (k == nullptr || !k->is_string() || v == nullptr || !v->is_string()) {
      return Status("ValidationException",
                    "1 validation error detected: Value null at 'tags.member.key' failed to "
                    "satisfy constraint: Member must not be null");
    }
    std::string key(k->get_string()), value(v->get_string());
    COFFER_RETURN_IF_ERROR(ValidateTag(key, value));
    PutTag(&tags, std::move(key), std::move(value));
  }
  return tags;
}

// The parameter a write operation names, unless it is missing or already expired.
Result<ParameterRow> FindLive(StoreReader& r, const Scope& scope, const std::string& name,
                              EpochMillis now, const Status& missing) {
  COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(scope, NameKey(name)));
  if (!found || Expired(*found, now)) return missing;
  return std::move(*found);
}

Status InvalidResourceId() {
  return Status("InvalidResourceId", "The resource ID isn't valid. Verify the ID and try again.");
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
  json::object detail{{"operation", operation}, {"name", row.name}, {"type", row.type}};
  if (row.description) detail["description"] = *row.description;
  e.detail = json::serialize(detail);
  return e;
}

// --- Authorization ---------------------------------------------------------------------------
// Actions and resources:
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssystemsmanager.html
// Every operation names the parameter ARN arn:aws:ssm:<region>:<account>:parameter/<name without
// its leading '/'>, except GetParametersByPath (the path's ARN) and DescribeParameters ("*").
// https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html

// Authorizes `action` on the ARN of the parameter `name`; `tags` (null: the parameter does not
// exist) become aws:ResourceTag keys.
Status AuthorizeOn(const RequestContext& ctx, const char* action, const std::string& name,
                   const Tags* tags, ConditionKeys extra = {}) {
  AuthzCheck check{action, ParameterArn(ctx.scope, name)};
  check.context = std::move(extra);
  if (tags != nullptr) AddResourceTagKeys(*tags, "ssm", &check.context);
  return ctx.Authorize(check);
}

// ParseReference, except that an ARN of another account or Region (reported as
// ParameterNotFound) is first authorized against as given: AWS checks permissions before it
// says that a parameter does not exist.
Result<ParameterReference> ParseOwnReference(const RequestContext& ctx, const char* action,
                                             const std::string& input) {
  auto ref = ParseReference(ctx.scope, input);
  if (ref.ok() || ref.status().code() != "ParameterNotFound") return ref;
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

}  // namespace

ParamsService::ParamsService(Store* store, Keyring* keyring, secrets::SecretsService* secrets,
                             const Clock* clock)
    : store_(store), keyring_(keyring), secrets_(secrets), clock_(clock) {}

Result<json::object> ParamsService::Handle(std::string_view operation, const RequestContext& ctx,
                                           const json::object& input) {
  static const std::map<std::string_view, Handler> kHandlers = {
      {"PutParameter", &ParamsService::PutParameter},
      {"GetParameter", &ParamsService::GetParameter},
      {"GetParameters", &ParamsService::GetParameters},
      {"GetParametersByPath", &ParamsService::GetParametersByPath},
      {"DescribeParameters", &ParamsService::DescribeParameters},
      {"GetParameterHistory", &ParamsService::GetParameterHistory},
      {"DeleteParameter", &ParamsService::DeleteParameter},
      {"DeleteParameters", &ParamsService::DeleteParameters},
      {"LabelParameterVersion", &ParamsService::LabelParameterVersion},
      {"UnlabelParameterVersion", &ParamsService::UnlabelParameterVersion},
      {"AddTagsToResource", &ParamsService::AddTagsToResource},
      {"RemoveTagsFromResource", &ParamsService::RemoveTagsFromResource},
      {"ListTagsForResource", &ParamsService::ListTagsForResource},
  };
  static const std::set<std::string_view> kSsmOperations = {
#include "services/params/ssm_operations.inc"
  };
  auto it = kHandlers.find(operation);
  if (it != kHandlers.end()) return (this->*(it->second))(ctx, input);
  // Neither answer needs a permission: they reveal nothing and change nothing.
  ctx.authorized = true;
  if (kSsmOperations.count(operation)) {
    // Documents, commands, sessions, ...: SSM, but outside Parameter Store.
    return Status("UnsupportedOperationException",
                  "coffer serves the Parameter Store operations of SSM only; " +
                      std::string(operation) + " is not supported.");
  }
  return Status("UnknownOperationException",
                "The operation AmazonSSM." + std::string(operation) + " is not known.");
}

Status ParamsService::AuthorizeParameter(const RequestContext& ctx, const char* action,
                                         const std::string& name, ConditionKeys extra) {
  if (ctx.authorizer == nullptr) return AuthorizeOn(ctx, action, name, nullptr, std::move(extra));
  std::optional<Tags> tags;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(name)));
    if (!found || Expired(*found, ctx.now)) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(found->id));
    return Status::Ok();
  }));
  return AuthorizeOn(ctx, action, name, tags ? &*tags : nullptr, std::move(extra));
}

// Parameter Store encrypts and decrypts SecureString values with the caller's permissions on the
// KMS key. The AWS managed key aws/ssm lets every principal of its account use it through
// Parameter Store, so only customer managed keys are checked.
// https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-decryption.html
// https://docs.aws.amazon.com/systems-manager/latest/userguide/secure-string-parameter-kms-encryption.html
Status ParamsService::AuthorizeKeyUse(const RequestContext& ctx, const KmsKeyRow& key,
                                      const char* kms_action, const std::string& parameter_arn) {
  if (key.manager != "CUSTOMER" || ctx.authorizer == nullptr) return Status::Ok();
  Status allowed =
      AuthorizeKmsUseForService(ctx, key, kms_action, "ssm", {{"PARAMETER_ARN", parameter_arn}});
  if (allowed.ok() || allowed.code() != "AccessDeniedException") return allowed;
  // Parameter Store passes KMS's AccessDeniedException on, with KMS's message and the suffix
  // naming KMS as the service that refused (as seen from GetParameter in
  // github.com/tryolabs/aws-workshop/issues/6). KMS's Decrypt message does not name the key.
  std::string message =
      std::string(kms_action) == "kms:Decrypt"
          ? "User: " + ctx.principal.arn +
                " is not authorized to perform: kms:Decrypt on the resource associated with this "
                "ciphertext because the resource does not exist in this Region, no "
                "resource-based policies allow access, or a resource-based policy explicitly "
                "denies access"
          : allowed.message();
  return Status("AccessDeniedException",
                message +
                    " (Service: AWSKMS; Status Code: 400; Error Code: AccessDeniedException; "
                    "Request ID: " +
                    ctx.request_id + ")");
}

Result<std::string> ParamsService::RevealValue(const RequestContext& ctx, const ParameterRow& row,
                                               const ParameterVersionRow& v, bool with_decryption) {
  const std::string arn = ParameterArn(ctx.scope, row.name);
  const std::string context = ValueContext(arn);
  if (v.type == "SecureString") {
    // Without WithDecryption AWS returns the ciphertext blob, base64-encoded.
    if (!with_decryption) return crypto::Base64Encode(v.sealed_value);
    if (ctx.authorizer != nullptr) {
      // The key that sealed this version (the parameter may have moved to another key since).
      auto key_id = Keyring::EnvelopeKeyId(v.sealed_value);
      auto key = key_id.ok() ? keyring_->LoadKey(*key_id) : Result<KmsKeyRow>(key_id.status());
      if (key.ok()) COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, *key, "kms:Decrypt", arn));
    }
    auto plain = keyring_->OpenValue(context, v.sealed_value);
    if (!plain.ok()) {
      return Status("InvalidKeyId", "The KMS key of this parameter cannot decrypt its value. " +
                                        plain.status().message());
    }
    return std::string(plain->Reveal());
  }
  auto plain = keyring_->UnwrapWithStorageKey(context, v.sealed_value);
  if (!plain.ok()) return Status("InternalServerError", "A stored value could not be read.");
  return std::string(plain->Reveal());
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
Result<json::object> ParamsService::PutParameter(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  auto value = in.String("Value", {.required = true, .sensitive = true});
  auto type = in.String("Type");
  auto description = in.String("Description", {.max_len = 1024});
  auto key_id = in.String("KeyId", {.min_len = 1, .max_len = 256});
  auto overwrite_in = in.Bool("Overwrite");
  const bool overwrite = overwrite_in.value_or(false);
  auto allowed_pattern = in.String("AllowedPattern", {.max_len = 1024});
  const json::array* tags_arr = in.Array("Tags");
  auto tier = in.String("Tier");
  auto policies = in.String("Policies", {.min_len = 1, .max_len = 4096});
  auto data_type = in.String("DataType", {.max_len = 128});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (value->empty()) {
    return Status("ValidationException",
                  "1 validation error detected: Value '' at 'value' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1.");
  }
  if (overwrite && tags_arr && !tags_arr->empty()) {
    return Status("ValidationException",
                  "Invalid request: tags and overwrite can't be used together. To create a "
                  "parameter with tags, please remove overwrite flag. To update tags for an "
                  "existing parameter, please use AddTagsToResource or RemoveTagsFromResource.");
  }
  COFFER_ASSIGN_OR_RETURN(Tags tags, DecodeTags(tags_arr));
  if (tags.size() > kMaxTags) {
    return Status("TooManyTagsError",
                  "The Targets parameter includes too many tags. Remove one or more tags and try "
                  "the command again.");
  }
  COFFER_RETURN_IF_ERROR(ValidateNewName(ctx.scope, *name));
  if (type && *type != "String" && *type != "StringList" && *type != "SecureString") {
    return Status("ValidationException",
                  "1 validation error detected: Value '" + *type +
                      "' at 'type' failed to satisfy constraint: Member must satisfy enum value "
                      "set: [SecureString, StringList, String]");
  }
  if (tier && *tier != "Standard" && *tier != "Advanced" && *tier != "Intelligent-Tiering") {
    return Status("ValidationException",
                  "1 validation error detected: Value '" + *tier +
                      "' at 'tier' failed to satisfy constraint: Member must satisfy enum value "
                      "set: [Standard, Advanced, Intelligent-Tiering]");
  }
  if (data_type && *data_type != "text" && *data_type != "aws:ec2:image" &&
      *data_type != "aws:ssm:integration") {
    return Status("ValidationException", "The following data type is not supported: " + *data_type +
                                             " (Data type names are all lowercase.)");
  }

  const std::string name_key = NameKey(*name);
  std::optional<ParameterRow> existing;
  Tags existing_tags;
  int64_t standard_count = 0, advanced_count = 0;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(existing, r.parameters().Find(ctx.scope, name_key));
    if (existing && ctx.authorizer != nullptr) {
      COFFER_ASSIGN_OR_RETURN(existing_tags, r.parameters().GetTags(existing->id));
    }
    COFFER_ASSIGN_OR_RETURN(standard_count, r.parameters().Count(ctx.scope, "Standard"));
    COFFER_ASSIGN_OR_RETURN(advanced_count, r.parameters().Count(ctx.scope, "Advanced"));
    return Status::Ok();
  }));
  if (existing && Expired(*existing, ctx.now)) existing.reset();  // as good as deleted
  {
    // Before anything that depends on whether the parameter exists.
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-policy-conditions.html
    ConditionKeys keys;
    AddRequestTagKeys(tags, &keys);
    if (overwrite_in) keys["ssm:overwrite"] = {overwrite ? "true" : "false"};
    COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, "ssm:PutParameter", *name,
                                       existing ? &existing_tags : nullptr, std::move(keys)));
  }
  if (existing && !overwrite) {
    return Status("ParameterAlreadyExists",
                  "The parameter already exists. To overwrite this value, set the overwrite "
                  "option in the request to true.");
  }
  if (!existing && !type) {
    return Status("ValidationException",
                  "A parameter type is required when you create a parameter.");
  }

  // Unspecified attributes keep their previous values on overwrite.
  ParameterRow row = existing.value_or(ParameterRow{});
  std::string new_type = type.value_or(row.type);
  if (existing && new_type != existing->type) {
    return Status("HierarchyTypeMismatchException",
                  "Parameter Store does not support changing a parameter type in a hierarchy. "
                  "For example, you can't change a parameter from a String type to a "
                  "SecureString type. You must create a new, unique parameter.");
  }
  if (key_id && new_type != "SecureString") {
    return Status("ValidationException",
                  "KeyId is only supported for parameters of type SecureString.");
  }
  if (description) row.description = *description;
  if (allowed_pattern)
    row.allowed_pattern = allowed_pattern->empty() ? std::nullopt : allowed_pattern;
  if (data_type) row.data_type = *data_type;
  if (row.data_type.empty()) row.data_type = "text";
  if (new_type == "SecureString") {
    if (key_id) row.key_id = *key_id;
    if (!row.key_id) row.key_id = kDefaultKeyId;
  } else {
    row.key_id.reset();
  }
  std::vector<ParameterPolicy> parsed_policies;
  if (policies) {
    COFFER_ASSIGN_OR_RETURN(parsed_policies, ParsePolicies(*policies));
    row.policies = parsed_policies.empty() ? std::nullopt : policies;
  } else if (row.policies) {
    COFFER_ASSIGN_OR_RETURN(parsed_policies, ParsePolicies(*row.policies));
  }

  // The largest value any tier takes, before anything looks at the value's content.
  if (value->size() > kAdvancedValueBytes) {
    return Status("ValidationException",
                  "Advanced tier parameters support a maximum parameter value of 8192 "
                  "characters.");
  }
  if (row.allowed_pattern) {
    // RE2: linear in the value whatever the pattern (see allowed_pattern.h).
    COFFER_ASSIGN_OR_RETURN(AllowedPattern pattern, AllowedPattern::Compile(*row.allowed_pattern));
    if (!pattern.Matches(*value)) {
      return Status(
          "ParameterPatternMismatchException",
          "Parameter value, cannot be validated against allowedPattern: " + *row.allowed_pattern);
    }
  }
  if (row.data_type == "aws:ec2:image") {
    static const AllowedPattern kAmi =
        AllowedPattern::Compile("ami-[0-9a-f]{8}([0-9a-f]{9})?").value();
    if (!kAmi.Matches(*value)) {
      return Status("ValidationException", "Parameter value, " +
                                               std::string("cannot be validated against data type "
                                                           "aws:ec2:image: ") +
                                               "it must be an AMI id such as ami-12345678.");
    }
  }

  // Tiers:
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html
  const bool was_advanced = existing && existing->tier == "Advanced";
  std::string requested = tier.value_or(existing ? existing->tier : "Standard");
  std::string new_tier = requested;
  if (requested == "Intelligent-Tiering") {
    bool needs_advanced = value->size() > kStandardValueBytes || !parsed_policies.empty() ||
                          (!existing && standard_count >= kStandardParametersPerRegion);
    new_tier = (was_advanced || needs_advanced) ? "Advanced" : "Standard";
  }
  if (was_advanced && new_tier == "Standard") {
    return Status("ValidationException",
                  "This parameter uses the advanced-parameter tier. You can't downgrade a "
                  "parameter from the advanced-parameter tier to the standard-parameter tier. If "
                  "necessary, you can delete the advanced parameter and recreate it as a standard "
                  "parameter.");
  }
  if (new_tier == "Standard" && value->size() > kStandardValueBytes) {
    return Status("ValidationException",
                  "Standard tier parameters support a maximum parameter value of 4096 "
                  "characters. To create a larger parameter value, upgrade the parameter to use "
                  "the advanced-parameter tier. For more information, see "
                  "https://docs.aws.amazon.com/systems-manager/latest/userguide/"
                  "parameter-store-advanced-parameters.html");
  }
  if (new_tier == "Advanced" && value->size() > kAdvancedValueBytes) {
    return Status("ValidationException",
                  "Advanced tier parameters support a maximum parameter value of 8192 "
                  "characters.");
  }
  if (new_tier == "Standard" && !parsed_policies.empty()) {
    return Status("ValidationException",
                  "Parameter policies are supported only for parameters in the "
                  "advanced-parameter tier. Use the advanced-parameter tier or remove the "
                  "policies.");
  }
  bool becomes_standard = new_tier == "Standard" && !(existing && existing->tier == "Standard");
  bool becomes_advanced = new_tier == "Advanced" && !was_advanced;
  if ((becomes_standard && standard_count >= kStandardParametersPerRegion) ||
      (becomes_advanced && advanced_count >= kAdvancedParametersPerRegion)) {
    return Status("ParameterLimitExceeded",
                  "You have exceeded the number of parameters for this AWS account. Delete one "
                  "or more parameters and try again.");
  }
  row.tier = new_tier;
  row.type = new_type;
  row.expires_at_ms.reset();
  for (const auto& p : parsed_policies) {
    if (p.expiration_ms) row.expires_at_ms = p.expiration_ms;
  }

  // Seal outside the transaction (the managed key may be created on first use).
  const std::string arn = ParameterArn(ctx.scope, existing ? existing->name : *name);
  std::string sealed;
  if (new_type == "SecureString") {
    COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                            keyring_->ResolveKey(ctx.scope, *row.key_id, "ssm", "InvalidKeyId"));
    if (Status allowed = AuthorizeKeyUse(ctx, key, "kms:Encrypt", arn); !allowed.ok()) {
      OPENSSL_cleanse(value->data(), value->size());
      return allowed;
    }
    auto sealed_value = keyring_->SealValue(key, ValueContext(arn), *value);
    if (!sealed_value.ok()) {
      return Status("InvalidKeyId",
                    "The KMS key " + *row.key_id +
                        " can't encrypt the parameter: " + sealed_value.status().message());
    }
    sealed = std::move(sealed_value.value());
  } else {
    auto wrapped = keyring_->WrapWithStorageKey(ValueContext(arn), *value);
    if (!wrapped.ok()) {
      OPENSSL_cleanse(value->data(), value->size());
      return wrapped.status();
    }
    sealed = std::move(wrapped.value());
  }
  OPENSSL_cleanse(value->data(), value->size());

  int64_t new_version = 0;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.parameters().Find(ctx.scope, name_key));
    if (fresh && Expired(*fresh, ctx.now)) {
      COFFER_RETURN_IF_ERROR(w.parameters().Delete(fresh->id));
      fresh.reset();
    }
    if (fresh.has_value() != existing.has_value() || (fresh && fresh->type != row.type)) {
      return Status("TooManyUpdates",
                    "There are concurrent updates for the resource that you are trying to "
                    "modify. Please try again.");
    }
    row.last_modified_ms = ctx.now;
    row.last_modified_user = ctx.principal.arn;
    if (!fresh) {
      row.account = ctx.scope.account;
      row.region = ctx.scope.region;
      row.name = *name;
      row.name_key = name_key;
      row.parent = ParentPath(name_key);
      row.version = 1;
      COFFER_RETURN_IF_ERROR(w.parameters().Insert(&row));
      COFFER_RETURN_IF_ERROR(w.parameters().SetTags(row.id, tags));
    } else {
      row.id = fresh->id;
      row.version = fresh->version + 1;
      COFFER_ASSIGN_OR_RETURN(auto versions, w.parameters().ListVersions(row.id));
      if (versions.size() >= kMaxVersions) {
        const auto& oldest = versions.front();
        if (!oldest.labels.empty()) {
          return Status("ParameterMaxVersionLimitExceeded",
                        "You attempted to create a new version of " + fresh->name +
                            " by calling the PutParameter API with the overwrite flag. Version " +
                            std::to_string(oldest.version) +
                            ", the oldest version, can't be deleted because it has a label "
                            "associated with it. Move the label to another version of the "
                            "parameter, and try again.");
        }
        COFFER_RETURN_IF_ERROR(w.parameters().DeleteVersion(row.id, oldest.version));
      }
      COFFER_RETURN_IF_ERROR(w.parameters().Update(row));
    }
    ParameterVersionRow v;
    v.version = row.version;
    v.type = row.type;
    v.tier = row.tier;
    v.data_type = row.data_type;
    v.key_id = row.key_id;
    v.description = row.description;
    v.allowed_pattern = row.allowed_pattern;
    v.policies = row.policies;
    v.last_modified_ms = row.last_modified_ms;
    v.last_modified_user = row.last_modified_user;
    v.sealed_value = sealed;
    COFFER_RETURN_IF_ERROR(w.parameters().InsertVersion(row.id, v));
    new_version = row.version;
    return w.events().Append(ChangeEvent(ctx.scope, ctx.now, row, fresh ? "Update" : "Create"));
  }));
  return json::object{{"Version", new_version}, {"Tier", row.tier}};
}

Result<json::object> ParamsService::ReadSecretReference(const RequestContext& ctx,
                                                        const char* action, const std::string& name,
                                                        bool with_decryption) {
  // https://docs.aws.amazon.com/systems-manager/latest/userguide/integration-ps-secretsmanager.html
  if (!with_decryption) {
    return Status("ValidationException",
                  "WithDecryption flag must be True for retrieving a Secret Manager secret.");
  }
  std::string rest = name.substr(std::string(kReferencePrefix).size());
  std::string secret_id = rest, selector;
  // A secret name cannot contain ':', so the last one (outside an ARN) starts a selector.
  size_t colon = rest.rfind(':');
  bool is_arn = StartsWith(rest, "arn:");
  if (colon != std::string::npos && (!is_arn || std::count(rest.begin(), rest.end(), ':') > 6)) {
    secret_id = rest.substr(0, colon);
    selector = rest.substr(colon + 1);
  }
  json::object request{{"SecretId", secret_id}};
  if (!selector.empty()) {
    bool looks_like_version =
        selector.size() >= 32 && selector.size() <= 64 && !StartsWith(selector, "AWS");
    request[looks_like_version ? "VersionId" : "VersionStage"] = selector;
  }
  // The caller needs the Parameter Store permission on the reference name, and Secrets Manager
  // then authorizes secretsmanager:GetSecretValue (and the secret's KMS key) itself with the
  // same caller: "Parameter Store honors IAM policies attached to Secrets Manager secrets."
  COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, action, kReferencePrefix + secret_id, nullptr));
  auto got = secrets_->Handle("GetSecretValue", ctx, request);
  if (!got.ok()) {
    if (got.status().code() == "ResourceNotFoundException") {
      return Status("ParameterNotFound",
                    "An error occurred (ParameterNotFound) when referencing Secrets Manager: "
                    "Secret " +
                        std::string(kReferencePrefix) + secret_id + " not found.");
    }
    return got.status();
  }
  const json::object& secret = got.value();
  json::object p{
      {"Name", name.substr(0, name.size() - (selector.empty() ? 0 : selector.size() + 1))},
      {"Type", "SecureString"}};
  if (const auto* s = secret.if_contains("SecretString")) {
    p["Value"] = *s;
  } else if (const auto* b = secret.if_contains("SecretBinary")) {
    p["Value"] = *b;
  }
  p["Version"] = 0;
  if (!selector.empty()) p["Selector"] = ":" + selector;
  p["SourceResult"] = json::serialize(secret);
  if (const auto* created = secret.if_contains("CreatedDate")) p["LastModifiedDate"] = *created;
  p["ARN"] = secret.at("ARN");
  p["DataType"] = "text";
  return p;
}

Result<json::object> ParamsService::ReadOne(const RequestContext& ctx, const char* action,
                                            const std::string& input, bool with_decryption) {
  if (StartsWith(input, kReferencePrefix)) {
    return ReadSecretReference(ctx, action, input, with_decryption);
  }
  COFFER_ASSIGN_OR_RETURN(ParameterReference ref, ParseOwnReference(ctx, action, input));
  ParameterRow row;
  ParameterVersionRow version;
  std::optional<Tags> tags;  // set when the parameter exists (and someone will look at them)
  Status missing;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(ref.name)));
    if (!found || Expired(*found, ctx.now)) {
      missing = NotFound(ref.name);
      return Status::Ok();
    }
    row = std::move(*found);
    if (ctx.authorizer != nullptr) {
      COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(row.id));
    }
    int64_t v = row.version;
    if (ref.version) {
      v = *ref.version;
    } else if (ref.label) {
      COFFER_ASSIGN_OR_RETURN(auto labelled, r.parameters().VersionForLabel(row.id, *ref.label));
      if (!labelled) {
        missing = NotFound(ref.name);
        return Status::Ok();
      }
      v = *labelled;
    }
    COFFER_ASSIGN_OR_RETURN(auto got, r.parameters().GetVersion(row.id, v));
    if (!got) {
      missing = VersionNotFound(row.name, std::to_string(v));
      return Status::Ok();
    }
    version = std::move(*got);
    return Status::Ok();
  }));
  // Only a caller allowed to read the parameter learns whether it, or the version, exists.
  COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, action, ref.name, tags ? &*tags : nullptr));
  COFFER_RETURN_IF_ERROR(missing);
  COFFER_ASSIGN_OR_RETURN(std::string value, RevealValue(ctx, row, version, with_decryption));
  // A top-level parameter is one parameter under "x" and "/x"; AWS answers with the name as the
  // caller wrote it (the ARN is the same for both).
  json::object p{
      {"Name", ref.name}, {"Type", version.type}, {"Value", value}, {"Version", version.version}};
  OPENSSL_cleanse(value.data(), value.size());
  if (!ref.selector.empty()) p["Selector"] = ref.selector;
  p["LastModifiedDate"] = Epoch(version.last_modified_ms);
  p["ARN"] = ParameterArn(ctx.scope, row.name);
  p["DataType"] = version.data_type;
  return p;
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html
Result<json::object> ParamsService::GetParameter(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(json::object p, ReadOne(ctx, "ssm:GetParameter", *name, with_decryption));
  return json::object{{"Parameter", std::move(p)}};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameters.html
Result<json::object> ParamsService::GetParameters(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto names = in.StringList("Names", {.min_len = 1, .max_len = 2048});
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  if (!names) in.Array("Names", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (names->empty() || names->size() > 10) {
    std::string list;
    for (const auto& n : *names) list += (list.empty() ? "" : ", ") + n;
    return Status(
        "ValidationException",
        "1 validation error detected: Value '[" + list +
            "]' at 'names' failed to satisfy constraint: Member must have length " +
            (names->empty() ? "greater than or equal to 1." : "less than or equal to 10."));
  }
  std::set<std::string> unique;
  for (auto n : *names) {
    std::optional<std::string> trimmed = std::move(n);
    TrimName(&trimmed);
    unique.insert(*trimmed);
  }
  std::vector<json::object> found;
  json::array invalid;
  // Every name is authorized; one the caller may not read fails the whole call
  // (AccessDeniedException), as IAM answers for a request naming several resources.
  for (const auto& n : unique) {
    auto p = ReadOne(ctx, "ssm:GetParameters", n, with_decryption);
    if (p.ok()) {
      found.push_back(std::move(p.value()));
    } else if (p.status().code() == "ParameterNotFound" ||
               p.status().code() == "ParameterVersionNotFound") {
      invalid.push_back(json::string(n));
    } else {
      return p.status();
    }
  }
  std::sort(found.begin(), found.end(), [](const json::object& a, const json::object& b) {
    return a.at("Name").as_string() < b.at("Name").as_string();
  });
  json::array params;
  for (auto& p : found) params.push_back(std::move(p));
  return json::object{{"Parameters", std::move(params)}, {"InvalidParameters", std::move(invalid)}};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParametersByPath.html
Result<json::object> ParamsService::GetParametersByPath(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  auto path_in = in.String("Path", {.required = true, .min_len = 1, .max_len = 2048});
  auto recursive_in = in.Bool("Recursive");
  const bool recursive = recursive_in.value_or(false);
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 10});
  auto next_token = in.String("NextToken");
  const json::array* filters_arr = in.Array("ParameterFilters");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(std::string path, NormalizePath(*path_in));
  COFFER_ASSIGN_OR_RETURN(auto filters, DecodeStringFilters(filters_arr, /*by_path=*/true));
  COFFER_ASSIGN_OR_RETURN(std::string cursor, DecodeCursor(next_token));
  {
    // Authorized against the path, not the parameters it returns: a caller allowed on /a reads
    // /a/b too.
    // https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html
    ConditionKeys keys;
    if (recursive_in) keys["ssm:recursive"] = {recursive ? "true" : "false"};
    COFFER_RETURN_IF_ERROR(
        AuthorizeOn(ctx, "ssm:GetParametersByPath", path, nullptr, std::move(keys)));
  }
  const size_t page = static_cast<size_t>(max_results.value_or(10));

  struct Hit {
    ParameterRow row;
    ParameterVersionRow version;
  };
  std::vector<Hit> hits;
  bool more = false;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    int scanned = 0;
    while (hits.size() < page && scanned < kScanBudget) {
      std::vector<ParameterRow> batch;
      if (recursive) {
        COFFER_ASSIGN_OR_RETURN(
            batch, r.parameters().ListByPrefix(ctx.scope, path == "/" ? "" : path + "/", cursor,
                                               kScanBatch));
      } else {
        COFFER_ASSIGN_OR_RETURN(batch,
                                r.parameters().ListByParent(ctx.scope, path, cursor, kScanBatch));
      }
      if (batch.empty()) {
        more = false;
        return Status::Ok();
      }
      more = batch.size() == static_cast<size_t>(kScanBatch);
      for (auto& row : batch) {
        ++scanned;
        cursor = row.name_key;
        if (Expired(row, ctx.now)) continue;
        int64_t v = row.version;
        bool keep = true;
        for (const auto& f : filters) {
          if (f.key == "Type") keep = keep && MatchValue(row.type, f);
          if (f.key == "KeyId")
            keep = keep && row.type == "SecureString" && MatchValue(KeyIdOf(row), f);
          if (f.key == "Label") {
            std::optional<int64_t> labelled;
            for (const auto& label : f.values) {
              COFFER_ASSIGN_OR_RETURN(labelled, r.parameters().VersionForLabel(row.id, label));
              if (labelled) break;
            }
            keep = keep && labelled.has_value();
            if (labelled) v = *labelled;
          }
        }
        if (!keep) continue;
        COFFER_ASSIGN_OR_RETURN(auto version, r.parameters().GetVersion(row.id, v));
        if (!version) continue;
        bool last_in_batch = &row == &batch.back();
        hits.push_back({std::move(row), std::move(*version)});
        if (hits.size() == page) {
          more = more || !last_in_batch;
          cursor = hits.back().row.name_key;
          break;
        }
      }
      if (!more) break;
    }
    if (scanned >= kScanBudget) more = true;
    return Status::Ok();
  }));
  json::array params;
  for (auto& h : hits) {
    COFFER_ASSIGN_OR_RETURN(std::string value, RevealValue(ctx, h.row, h.version, with_decryption));
    params.push_back(json::object{{"Name", h.row.name},
                                  {"Type", h.version.type},
                                  {"Value", value},
                                  {"Version", h.version.version},
                                  {"LastModifiedDate", Epoch(h.version.last_modified_ms)},
                                  {"ARN", ParameterArn(ctx.scope, h.row.name)},
                                  {"DataType", h.version.data_type}});
    OPENSSL_cleanse(value.data(), value.size());
  }
  json::object out{{"Parameters", std::move(params)}};
  if (more) out["NextToken"] = EncodeCursor(cursor);
  return out;
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DescribeParameters.html
Result<json::object> ParamsService::DescribeParameters(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  const json::array* old_filters = in.Array("Filters");
  const json::array* filters_arr = in.Array("ParameterFilters");
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 50});
  auto next_token = in.String("NextToken");
  bool shared = in.Bool("Shared").value_or(false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (old_filters && filters_arr) {
    return Status("ValidationException",
                  "You can use either Filters or ParameterFilters in a single request.");
  }
  std::vector<StringFilter> filters;
  if (old_filters) {
    // The older ParametersFilter: keys Name, Type, KeyId; values must match exactly, except
    // Name, which matches by prefix.
    for (const auto& e : *old_filters) {
      if (!e.is_object()) return Status("SerializationException", "Expected a ParametersFilter.");
      StringFilter f;
      const auto* key = e.get_object().if_contains("Key");
      const auto* values = e.get_object().if_contains("Values");
      if (key == nullptr || !key->is_string() ||
          (key->get_string() != "Name" && key->get_string() != "Type" &&
           key->get_string() != "KeyId")) {
        return Status("ValidationException",
                      "1 validation error detected: Value at 'filters.1.member.key' failed to "
                      "satisfy constraint: Member must satisfy enum value set: [Name, Type, "
                      "KeyId]");
      }
      f.key = std::string(key->get_string());
      f.option = f.key == "Name" ? "BeginsWith" : "Equals";
      if (values == nullptr || !values->is_array() || values->get_array().empty()) {
        return Status(
            "InvalidFilterValue",
            "The following filter values are missing : null for filter key " + f.key + ".");
      }
      for (const auto& v : values->get_array()) {
        if (!v.is_string()) return Status("SerializationException", "Values are strings.");
        f.values.emplace_back(v.get_string());
      }
      filters.push_back(std::move(f));
    }
  } else {
    COFFER_ASSIGN_OR_RETURN(filters, DecodeStringFilters(filters_arr, /*by_path=*/false));
  }
  COFFER_ASSIGN_OR_RETURN(std::string cursor, DecodeCursor(next_token));
  // No resource-level permissions: DescribeParameters lists the metadata of every parameter.
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"ssm:DescribeParameters", "*"}));
  if (shared) return json::object{{"Parameters", json::array{}}};  // nothing is shared via RAM

  // The Path filter with one value chooses the index range to walk.
  const StringFilter* path_filter = nullptr;
  bool need_tags = false;
  for (const auto& f : filters) {
    if (f.key == "Path" && f.values.size() == 1) path_filter = &f;
    if (StartsWith(f.key, "tag:")) need_tags = true;
  }
  const size_t page = static_cast<size_t>(max_results.value_or(50));
  json::array out_params;
  bool more = false;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    int scanned = 0;
    while (out_params.size() < page && scanned < kScanBudget) {
      std::vector<ParameterRow> batch;
      if (path_filter && path_filter->option == "OneLevel") {
        COFFER_ASSIGN_OR_RETURN(batch, r.parameters().ListByParent(
                                           ctx.scope, path_filter->values[0], cursor, kScanBatch));
      } else {
        std::string prefix;
        if (path_filter && path_filter->values[0] != "/") prefix = path_filter->values[0] + "/";
        COFFER_ASSIGN_OR_RETURN(batch,
                                r.parameters().ListByPrefix(ctx.scope, prefix, cursor, kScanBatch));
      }
      if (batch.empty()) {
        more = false;
        return Status::Ok();
      }
      more = batch.size() == static_cast<size_t>(kScanBatch);
      for (size_t i = 0; i < batch.size(); ++i) {
        const ParameterRow& row = batch[i];
        ++scanned;
        cursor = row.name_key;
        if (Expired(row, ctx.now)) continue;
        Tags tags;
        if (need_tags) {
          COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(row.id));
        }
        bool keep = true;
        for (const auto& f : filters) {
          if (f.key == "Name") {
            keep = keep && (MatchValue(row.name, f) || MatchValue(row.name_key, f) ||
                            MatchValue("/" + row.name_key, f));
          } else if (f.key == "Type") {
            keep = keep && MatchValue(row.type, f);
          } else if (f.key == "KeyId") {
            keep = keep && row.type == "SecureString" && MatchValue(KeyIdOf(row), f);
          } else if (f.key == "Tier") {
            keep = keep && MatchValue(row.tier, f);
          } else if (f.key == "DataType") {
            keep = keep && MatchValue(row.data_type, f);
          } else if (f.key == "Path") {
            bool any = false;
            for (const auto& p : f.values) {
              any = any || (f.option == "OneLevel" ? row.parent == p
                                                   : p == "/" || StartsWith(row.name_key, p + "/"));
            }
            keep = keep && any;
          } else if (StartsWith(f.key, "tag:")) {
            std::string tag_key = f.key.substr(4);
            bool any = false;
            for (const auto& t : tags) {
              if (t.first == tag_key && (f.values.empty() || MatchValue(t.second, f))) any = true;
            }
            keep = keep && any;
          }
        }
        if (!keep) continue;
        out_params.push_back(Metadata(ctx.scope, row, &r));
        if (out_params.size() == page) {
          more = more || i + 1 < batch.size();
          break;
        }
      }
      if (!more) break;
    }
    if (scanned >= kScanBudget) more = true;
    return Status::Ok();
  }));
  json::object out{{"Parameters", std::move(out_params)}};
  if (more) out["NextToken"] = EncodeCursor(cursor);
  return out;
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameterHistory.html
Result<json::object> ParamsService::GetParameterHistory(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  bool with_decryption = in.Bool("WithDecryption").value_or(false);
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 50});
  auto next_token = in.String("NextToken");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(ParameterReference ref,
                          ParseOwnReference(ctx, "ssm:GetParameterHistory", *name));
  int64_t after_version = 0;
  if (next_token) {
    auto raw = crypto::Base64Decode(*next_token);
    if (!raw || !StartsWith(*raw, "coffer-ssm-v:")) {
      return Status("InvalidNextToken", "The specified token isn't valid.");
    }
    try {
      after_version = std::stoll(raw->substr(13));
    } catch (...) {
      return Status("InvalidNextToken", "The specified token isn't valid.");
    }
  }
  ParameterRow row;
  std::vector<ParameterVersionRow> versions;
  std::optional<Tags> tags;  // set when the parameter exists
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(ref.name)));
    if (!found || Expired(*found, ctx.now)) return Status::Ok();
    row = std::move(*found);
    COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(row.id));
    COFFER_ASSIGN_OR_RETURN(versions, r.parameters().ListVersions(row.id));
    return Status::Ok();
  }));
  COFFER_RETURN_IF_ERROR(
      AuthorizeOn(ctx, "ssm:GetParameterHistory", ref.name, tags ? &*tags : nullptr));
  if (!tags) return NotFound(ref.name);
  const size_t page = static_cast<size_t>(max_results.value_or(50));
  json::array out_versions;
  int64_t last = 0;
  bool more = false;
  for (const auto& v : versions) {
    if (v.version <= after_version) continue;
    if (out_versions.size() == page) {
      more = true;
      break;
    }
    COFFER_ASSIGN_OR_RETURN(std::string value, RevealValue(ctx, row, v, with_decryption));
    json::object h{{"Name", row.name}, {"Type", v.type}};
    if (v.type == "SecureString") h["KeyId"] = v.key_id.value_or(kDefaultKeyId);
    h["LastModifiedDate"] = Epoch(v.last_modified_ms);
    h["LastModifiedUser"] = v.last_modified_user;
    if (v.description) h["Description"] = *v.description;
    h["Value"] = value;
    OPENSSL_cleanse(value.data(), value.size());
    if (v.allowed_pattern) h["AllowedPattern"] = *v.allowed_pattern;
    h["Version"] = v.version;
    json::array labels;
    for (const auto& l : v.labels) labels.push_back(json::string(l));
    h["Labels"] = std::move(labels);
    h["Tier"] = v.tier;
    h["Policies"] = PoliciesJson(v.policies, nullptr, nullptr);
    h["DataType"] = v.data_type;
    out_versions.push_back(std::move(h));
    last = v.version;
  }
  json::object out{{"Parameters", std::move(out_versions)}};
  if (more) out["NextToken"] = crypto::Base64Encode("coffer-ssm-v:" + std::to_string(last));
  return out;
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameter.html
Result<json::object> ParamsService::DeleteParameter(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:DeleteParameter", *name));
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        ParameterRow found,
        FindLive(w, ctx.scope, *name, ctx.now,
                 Status("ParameterNotFound", "Parameter " + *name + " not found.")));

    COFFER_RETURN_IF_ERROR(w.parameters().Delete(found.id));
    return w.events().Append(ChangeEvent(ctx.scope, ctx.now, found, "Delete"));
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_DeleteParameters.html
Result<json::object> ParamsService::DeleteParameters(const RequestContext& ctx,
                                                     const json::object& body) {
  JsonInput in(body);
  auto names = in.StringList("Names", {.min_len = 1, .max_len = 2048});
  if (!names) in.Array("Names", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (names->empty() || names->size() > 10) {
    return Status("ValidationException",
                  "1 validation error detected: Value at 'names' failed to satisfy constraint: "
                  "Member must have length less than or equal to 10 and greater than or equal "
                  "to 1");
  }
  // Every name is authorized before any is deleted; one the caller may not delete fails the
  // whole call.
  for (const auto& n : std::set<std::string>(names->begin(), names->end())) {
    COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:DeleteParameters", n));
  }
  json::array deleted, invalid;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    std::set<std::string> done;
    for (const auto& n : *names) {
      if (!done.insert(n).second) continue;
      COFFER_ASSIGN_OR_RETURN(auto found, w.parameters().Find(ctx.scope, NameKey(n)));
      if (!found || Expired(*found, ctx.now)) {
        invalid.push_back(json::string(n));
        continue;
      }
      COFFER_RETURN_IF_ERROR(w.parameters().Delete(found->id));
      COFFER_RETURN_IF_ERROR(w.events().Append(ChangeEvent(ctx.scope, ctx.now, *found, "Delete")));
      deleted.push_back(json::string(n));
    }
    return Status::Ok();
  }));
  return json::object{{"DeletedParameters", std::move(deleted)},
                      {"InvalidParameters", std::move(invalid)}};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_LabelParameterVersion.html
Result<json::object> ParamsService::LabelParameterVersion(const RequestContext& ctx,
                                                          const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  auto version = in.Int("ParameterVersion");
  auto labels = in.StringList("Labels", {.min_len = 1, .max_len = 100}, 10);
  if (!labels) in.Array("Labels", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (labels->empty()) {
    return Status("ValidationException",
                  "1 validation error detected: Value '[]' at 'labels' failed to satisfy "
                  "constraint: Member must have length greater than or equal to 1");
  }
  COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:LabelParameterVersion", *name));
  json::array invalid;
  int64_t labelled_version = 0;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        ParameterRow found,
        FindLive(w, ctx.scope, *name, ctx.now,
                 Status("ParameterNotFound", "Parameter " + *name + " not found.")));

    labelled_version = version.value_or(found.version);
    COFFER_ASSIGN_OR_RETURN(auto target, w.parameters().GetVersion(found.id, labelled_version));
    if (!target) return VersionNotFound(found.name, std::to_string(labelled_version));
    std::set<std::string> on_target(target->labels.begin(), target->labels.end());
    std::vector<std::string> valid;
    for (const auto& l : *labels) {
      if (!IsValidLabel(l)) {
        invalid.push_back(json::string(l));
      } else if (std::find(valid.begin(), valid.end(), l) == valid.end()) {
        valid.push_back(l);
      }
    }
    size_t after = on_target.size();
    for (const auto& l : valid) after += on_target.count(l) ? 0 : 1;
    if (after > kMaxLabelsPerVersion) {
      return Status("ParameterVersionLabelLimitExceeded",
                    "A parameter version can have maximum 10 labels.Move one or more labels to "
                    "another version and try again.");
    }
    for (const auto& l : valid) {
      COFFER_RETURN_IF_ERROR(w.parameters().SetLabel(found.id, l, labelled_version));
    }
    if (!valid.empty()) {
      COFFER_RETURN_IF_ERROR(
          w.events().Append(ChangeEvent(ctx.scope, ctx.now, found, "LabelParameterVersion")));
    }
    return Status::Ok();
  }));
  return json::object{{"InvalidLabels", std::move(invalid)},
                      {"ParameterVersion", labelled_version}};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_UnlabelParameterVersion.html
Result<json::object> ParamsService::UnlabelParameterVersion(const RequestContext& ctx,
                                                            const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 2048});
  TrimName(&name);
  auto version = in.Int("ParameterVersion", {.required = true, .min = 1});
  auto labels = in.StringList("Labels", {.min_len = 1, .max_len = 100}, 10);
  if (!labels) in.Array("Labels", /*required=*/true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(AuthorizeParameter(ctx, "ssm:UnlabelParameterVersion", *name));
  json::array removed, invalid;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        ParameterRow found,
        FindLive(w, ctx.scope, *name, ctx.now,
                 Status("ParameterNotFound", "Parameter " + *name + " not found.")));

    COFFER_ASSIGN_OR_RETURN(auto target, w.parameters().GetVersion(found.id, *version));
    if (!target) return VersionNotFound(found.name, std::to_string(*version));
    for (const auto& l : *labels) {
      if (std::find(target->labels.begin(), target->labels.end(), l) != target->labels.end()) {
        COFFER_RETURN_IF_ERROR(w.parameters().RemoveLabel(found.id, l));
        target->labels.erase(std::find(target->labels.begin(), target->labels.end(), l));
        removed.push_back(json::string(l));
      } else {
        invalid.push_back(json::string(l));
      }
    }
    return Status::Ok();
  }));
  return json::object{{"RemovedLabels", std::move(removed)}, {"InvalidLabels", std::move(invalid)}};
}

namespace {

Result<std::string> TaggedParameterName(JsonInput& in) {
  auto type = in.String("ResourceType", {.required = true});
  auto id = in.String("ResourceId", {.required = true, .min_len = 1});
  TrimName(&id);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (*type != "Parameter") {
    return Status("InvalidResourceType",
                  "The resource type isn't valid. coffer supports tags on resources of type "
                  "Parameter.");
  }
  return *id;
}

}  // namespace

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_AddTagsToResource.html
Result<json::object> ParamsService::AddTagsToResource(const RequestContext& ctx,
                                                      const json::object& body) {
  JsonInput in(body);
  const json::array* tags_arr = in.Array("Tags", /*required=*/true);
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedParameterName(in));
  COFFER_ASSIGN_OR_RETURN(Tags add, DecodeTags(tags_arr));
  COFFER_ASSIGN_OR_RETURN(auto ref, ParseOwnReference(ctx, "ssm:AddTagsToResource", id));
  {
    ConditionKeys keys;
    AddRequestTagKeys(add, &keys);
    COFFER_RETURN_IF_ERROR(
        AuthorizeParameter(ctx, "ssm:AddTagsToResource", ref.name, std::move(keys)));
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(ParameterRow found,
                            FindLive(w, ctx.scope, ref.name, ctx.now, InvalidResourceId()));

    COFFER_ASSIGN_OR_RETURN(Tags tags, w.parameters().GetTags(found.id));
    MergeTags(&tags, add);
    if (tags.size() > kMaxTags) {
      return Status("TooManyTagsError",
                    "The Targets parameter includes too many tags. Remove one or more tags and "
                    "try the command again.");
    }
    return w.parameters().SetTags(found.id, tags);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_RemoveTagsFromResource.html
Result<json::object> ParamsService::RemoveTagsFromResource(const RequestContext& ctx,
                                                           const json::object& body) {
  JsonInput in(body);
  auto keys = in.StringList("TagKeys", {.min_len = 1, .max_len = 128});
  if (!keys) in.Array("TagKeys", /*required=*/true);
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedParameterName(in));
  COFFER_ASSIGN_OR_RETURN(auto ref, ParseOwnReference(ctx, "ssm:RemoveTagsFromResource", id));
  COFFER_RETURN_IF_ERROR(
      AuthorizeParameter(ctx, "ssm:RemoveTagsFromResource", ref.name, {{"aws:tagkeys", *keys}}));
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(ParameterRow found,
                            FindLive(w, ctx.scope, ref.name, ctx.now, InvalidResourceId()));

    COFFER_ASSIGN_OR_RETURN(Tags tags, w.parameters().GetTags(found.id));
    std::set<std::string> remove(keys->begin(), keys->end());
    std::erase_if(tags, [&](const auto& t) { return remove.count(t.first) > 0; });
    return w.parameters().SetTags(found.id, tags);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_ListTagsForResource.html
Result<json::object> ParamsService::ListTagsForResource(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  COFFER_ASSIGN_OR_RETURN(std::string id, TaggedParameterName(in));
  COFFER_ASSIGN_OR_RETURN(auto ref, ParseOwnReference(ctx, "ssm:ListTagsForResource", id));
  std::optional<Tags> tags;  // set when the parameter exists
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto found, r.parameters().Find(ctx.scope, NameKey(ref.name)));
    if (!found || Expired(*found, ctx.now)) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(tags, r.parameters().GetTags(found->id));
    return Status::Ok();
  }));
  COFFER_RETURN_IF_ERROR(
      AuthorizeOn(ctx, "ssm:ListTagsForResource", ref.name, tags ? &*tags : nullptr));
  if (!tags) return InvalidResourceId();
  json::array list;
  for (const auto& t : *tags) list.push_back(json::object{{"Key", t.first}, {"Value", t.second}});
  return json::object{{"TagList", std::move(list)}};
}

Result<int> ParamsService::RunPolicies() {
  const EpochMillis now = clock_->NowMillis();
  int actions = 0;
  auto policy_event = [&](const ParameterRow& row, const ParameterPolicy& p,
                          const std::string& reason) {
    Scope scope{row.account, row.region};
    EventRow e;
    e.time_ms = now;
    e.account = row.account;
    e.region = row.region;
    e.source = "aws.ssm";
    e.detail_type = "Parameter Store Policy Action";
    e.resources = json::serialize(json::array{json::string(ParameterArn(scope, row.name))});
    auto digest = crypto::Sha256(p.text);
    e.detail = json::serialize(json::object{{"parameter-name", row.name},
                                            {"parameter-type", row.type},
                                            {"policy-type", p.type},
                                            {"policy-content-sha256", crypto::HexLower(digest)},
                                            {"policy-content", p.text},
                                            {"action-status", "Finished"},
                                            {"action-reason", reason}});
    return e;
  };
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    // Expiration: delete, then tell.
    COFFER_ASSIGN_OR_RETURN(auto expired, w.parameters().ListExpired(now));
    for (const auto& row : expired) {
      COFFER_RETURN_IF_ERROR(w.parameters().Delete(row.id));
      auto policies = ParsePolicies(row.policies.value_or("[]"));
      if (policies.ok()) {
        for (const auto& p : *policies) {
          if (p.type == "Expiration") {
            COFFER_RETURN_IF_ERROR(w.events().Append(
                policy_event(row, p, "Expiration policy: the parameter was deleted.")));
          }
        }
      }
      COFFER_RETURN_IF_ERROR(
          w.events().Append(ChangeEvent({row.account, row.region}, now, row, "Delete")));
      ++actions;
    }
    // Notifications, once per parameter version and policy.
    COFFER_ASSIGN_OR_RETURN(auto with_policies, w.parameters().ListWithPolicies());
    for (const auto& row : with_policies) {
      auto policies = ParsePolicies(*row.policies);
      if (!policies.ok()) continue;
      std::optional<EpochMillis> expiration;
      for (const auto& p : *policies) {
        if (p.expiration_ms) expiration = p.expiration_ms;
      }
      for (const auto& p : *policies) {
        bool due = false;
        std::string reason;
        if (p.type == "ExpirationNotification" && expiration) {
          due = now >= *expiration - p.AmountMillis();
          reason = "The parameter expires within " + std::to_string(p.amount) + " " + p.unit + ".";
        } else if (p.type == "NoChangeNotification") {
          due = now >= row.last_modified_ms + p.AmountMillis();
          reason =
              "The parameter has not changed for " + std::to_string(p.amount) + " " + p.unit + ".";
        }
        if (!due) continue;
        COFFER_ASSIGN_OR_RETURN(bool sent,
                                w.parameters().NotificationSent(row.id, row.version, p.Key()));
        if (sent) continue;
        COFFER_RETURN_IF_ERROR(w.events().Append(policy_event(row, p, reason)));
        COFFER_RETURN_IF_ERROR(w.parameters().MarkNotificationSent(row.id, row.version, p.Key()));
        ++actions;
      }
    }
    return Status::Ok();
  }));
  return actions;
}

}  // namespace coffer::params
