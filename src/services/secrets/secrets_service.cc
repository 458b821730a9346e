#include "services/secrets/secrets_service.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>
#include <string_view>

#include "core/arn.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "keyring/kms_use.h"
#include "policy/policy.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "services/secrets/random_password.h"
#include "services/secrets/rotation_rules.h"
#include "services/secrets/secret_filters.h"
#include "services/secrets/version_stages.h"

namespace coffer::secrets {
namespace json = boost::json;
namespace {

// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
constexpr size_t kMaxValueBytes = 65536;
constexpr size_t kMaxVersions = 100;
constexpr EpochMillis kYoungVersionMs = 24LL * 3600 * 1000;
constexpr size_t kMaxTags = 50;
constexpr int64_t kDefaultRecoveryDays = 30;

// What ListSecretVersionIds reports for versions sealed under the AWS-managed key.
constexpr char kDefaultKeyLabel[] = "DefaultEncryptionKey";

Status NotFound() {
  return Status("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
}
Status MarkedDeleted() {
  return Status("InvalidRequestException",
                "You tried to perform the operation on a secret that's currently marked deleted.");
}
Status MarkedForDeletion() {
  return Status("InvalidRequestException",
                "You can't perform this operation on the secret because it was marked for "
                "deletion.");
}

json::value Epoch(EpochMillis ms) {
  if (ms % 1000 == 0) return json::value(ms / 1000);
  return json::value(static_cast<double>(ms) / 1000.0);
}

// The stored RotationRules of a secret, as the schedule reads them.
RotationRules RulesOf(const SecretRow& s) {
  return s.rotation_rules ? RotationRulesFromJson(*s.rotation_rules) : RotationRules{};
}

// A secret whose value changes by hand counts as rotated: its schedule restarts from now.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
void CountAsRotation(SecretRow* s, EpochMillis now) {
  if (!s->rotation_enabled || !s->rotation_rules) return;
  s->last_rotated_ms = now;
  auto schedule = Schedule::Parse(RulesOf(*s));
  if (schedule.ok()) s->next_rotation_ms = schedule->NextWindowStart(now);
}

// The account and region a secret lives in (a caller of another account may name it by ARN).
Scope ScopeOf(const SecretRow& s) { return Scope{s.account, s.region}; }

// The AAD of a secret version: moving an envelope to another secret or version breaks it.
std::string ValueContext(const SecretRow& s, const std::string& version_id) {
  return "coffer/secretsmanager/v1\n" + s.account + "\n" + s.region + "\n" + s.arn + "\n" +
         version_id;
}

// Secrets Manager reports every key problem on the read path as DecryptionFailure and on the
// write path as EncryptionFailure, saying why.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
Result<SecretBytes> OpenValue(Keyring& keyring, const std::string& context,
                              const std::string& envelope) {
  auto plain = keyring.OpenValue(context, envelope);
  if (plain.ok()) return std::move(plain.value());
  std::string why =
      plain.status().code() == "DecryptionFailure" ? "" : " " + plain.status().message();
  return Status("DecryptionFailure",
                "Secrets Manager can't decrypt the protected secret text using the provided KMS "
                "key." +
                    why);
}

Result<std::string> SealValue(Keyring& keyring, const KmsKeyRow& key, const std::string& context,
                              std::string_view plaintext) {
  auto sealed = keyring.SealValue(key, context, plaintext);
  if (sealed.ok()) return std::move(sealed.value());
  return Status("EncryptionFailure",
                "Secrets Manager can't encrypt the protected secret text using the provided KMS "
                "key. " +
                    sealed.status().message());
}

bool IsValidSecretName(const std::string& name) {
  for (unsigned char c : name) {
    bool ok = std::isalnum(c) || c == '/' || c == '_' || c == '+' || c == '=' || c == '.' ||
              c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// AWS answers ValidationException for a name outside the allowed characters, on creation and on
// every read or write that names a secret (seen in Terraform's and the CLI's error output).
Status InvalidSecretName() {
  return Status("ValidationException",
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of "
                "the following: -/_+=.@!");
}

struct SecretValue {
  bool present = false;
  bool binary = false;
  SecretBytes bytes;
};

SecretValue DecodeValue(JsonInput& in, Status* error) {
  SecretValue v;
  auto str = in.String("SecretString", {.sensitive = true});
  auto bin = in.String("SecretBinary", {.sensitive = true});
  if (str && bin) {
    *error = Status("InvalidParameterException",
                    "You can't specify both a binary secret value and a string secret value in "
                    "the same secret.");
    return v;
  }
  if (str) {
    v.present = true;
    v.bytes = SecretBytes(*str);
    OPENSSL_cleanse(str->data(), str->size());
    if (v.bytes.empty() || v.bytes.size() > kMaxValueBytes) {
      in.AddViolation("SecretString", "", false,
                      v.bytes.empty() ? "Member must have length greater than or equal to 1"
                                      : "Member must have length less than or equal to 65536");
    }
  } else if (bin) {
    auto decoded = crypto::Base64Decode(*bin);
    OPENSSL_cleanse(bin->data(), bin->size());
    if (!decoded) {
      *error = Status("SerializationException", "SecretBinary must be base64-encoded.");
      return v;
    }
    v.present = true;
    v.binary = true;
    v.bytes = SecretBytes(*decoded);
    OPENSSL_cleanse(decoded->data(), decoded->size());
    if (v.bytes.empty() || v.bytes.size() > kMaxValueBytes) {
      in.AddViolation("SecretBinary", "", false,
                      v.bytes.empty() ? "Member must have length greater than or equal to 1"
                                      : "Member must have length less than or equal to 65536");
    }
  }
  return v;
}

Status DecodeTags(JsonInput& in, const char* member, bool required, Tags* out) {
  const json::array* arr = in.Array(member, required);
  if (arr == nullptr) return Status::Ok();
  for (const auto& e : *arr) {
    if (!e.is_object()) return Status("SerializationException", "Expected a Tag structure.");
    const auto& o = e.get_object();
    const auto* k = o.if_contains("Key");
    const auto* v = o.if_contains("Value");
    if ((k && !k->is_string() && !k->is_null()) || (v && !v->is_string() && !v->is_null())) {
      return Status("SerializationException", "Tag Key and Value must be strings.");
    }
    std::string key = (k && k->is_string()) ? std::string(k->get_string()) : "";
    std::string value = (v && v->is_string()) ? std::string(v->get_string()) : "";
    if (key.empty() || key.size() > 128) {
      return Status("InvalidParameterException",
                    "A tag key must be between 1 and 128 characters long.");
    }
    if (value.size() > 256) {
      return Status("InvalidParameterException",
                    "A tag value must be at most 256 characters long.");
    }
    // https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html: "aws:" is reserved.
    if (key.rfind("aws:", 0) == 0) {
      return Status("InvalidParameterException",
                    "Invalid tag key. Tag keys that start with 'aws:' are reserved for AWS use.");
    }
    out->emplace_back(std::move(key), std::move(value));
  }
  return Status::Ok();
}

json::array TagsJson(const Tags& tags) {
  json::array arr;
  for (const auto& [k, v] : tags) arr.push_back(json::object{{"Key", k}, {"Value", v}});
  return arr;
}

bool EndsLikeArnSuffix(const std::string& name) {
  if (name.size() < 7 || name[name.size() - 7] != '-') return false;
  return std::all_of(name.end() - 6, name.end(),
                     [](unsigned char c) { return std::isalnum(c) != 0; });
}

// SecretId resolution: full ARN, then name, then partial ARN (an ARN without the "-xxxxxx"
// suffix) that must identify exactly one secret.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen
Result<SecretRow> ResolveSecret(StoreReader& r, const Scope& caller_scope, const std::string& id) {
  if (auto arn = ParseArn(id)) {
    if (arn->service != "secretsmanager" || arn->region != caller_scope.region ||
        arn->resource.rfind("secret:", 0) != 0) {
      return NotFound();
    }
    // A full ARN may name a secret of another account: its resource policy (and the caller's
    // own policies) then decide.
    // https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html
    const Scope scope{arn->account, arn->region};
    COFFER_ASSIGN_OR_RETURN(auto exact, r.secrets().FindByArn(scope, id));
    if (exact) return std::move(*exact);
    std::string name = arn->resource.substr(7);
    // An ARN ending in "-" and six characters reads as a complete ARN, so it is never taken as
    // a partial one: that is why AWS advises against names ending that way.
    if (EndsLikeArnSuffix(name)) return NotFound();
    COFFER_ASSIGN_OR_RETURN(auto by_name, r.secrets().FindByName(scope, name));
    if (by_name && by_name->arn.size() == id.size() + 7 && by_name->arn.rfind(id + "-", 0) == 0) {
      return std::move(*by_name);
    }
    return NotFound();
  }
  // A name no secret can have is a validation error, not a missing secret, as AWS answers.
  if (!IsValidSecretName(id)) return InvalidSecretName();
  COFFER_ASSIGN_OR_RETURN(auto by_name, r.secrets().FindByName(caller_scope, id));
  if (by_name) return std::move(*by_name);
  return NotFound();
}

// Raw HTTP callers must send the token the SDKs fill in themselves.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
Status RequireTokenWithValue(const std::optional<std::string>& token, const SecretValue& value) {
  if (value.present && !token) {
    return Status("InvalidRequestException",
                  "You must provide a ClientRequestToken value. We recommend a UUID-type value.");
  }
  return Status::Ok();
}

Result<StageMap> CurrentStages(StoreReader& r, int64_t secret_id,
                               std::vector<SecretVersionRow>* versions_out = nullptr) {
  COFFER_ASSIGN_OR_RETURN(auto versions, r.secrets().ListVersions(secret_id));
  StageMap map;
  for (const auto& v : versions) {
    for (const auto& s : v.stages) map[s] = v.version_id;
  }
  if (versions_out) *versions_out = std::move(versions);
  return map;
}

Status ApplyStageChanges(StoreWriter& w, int64_t secret_id, const std::vector<StageChange>& c) {
  for (const auto& change : c) {
    if (change.version_id) {
      COFFER_RETURN_IF_ERROR(w.secrets().SetStage(secret_id, change.stage, *change.version_id));
    } else {
      COFFER_RETURN_IF_ERROR(w.secrets().RemoveStage(secret_id, change.stage));
    }
  }
  return Status::Ok();
}

json::object VersionsToStages(const std::vector<SecretVersionRow>& versions) {
  json::object out;
  for (const auto& v : versions) {
    if (v.stages.empty()) continue;
    json::array stages;
    for (const auto& s : v.stages) stages.push_back(json::string(s));
    out[v.version_id] = std::move(stages);
  }
  return out;
}

// A secret's metadata as DescribeSecret and ListSecrets return it: only members with a value,
// KmsKeyId omitted for the AWS-managed key.
json::object SecretMetadata(const SecretRow& s, const std::vector<SecretVersionRow>& versions,
                            const char* versions_member) {
  json::object out{{"ARN", s.arn}, {"Name", s.name}};
  if (s.description) out["Description"] = *s.description;
  if (s.kms_key_id) out["KmsKeyId"] = *s.kms_key_id;
  out["LastChangedDate"] = Epoch(s.last_changed_ms);
  if (s.last_accessed_ms) out["LastAccessedDate"] = Epoch(*s.last_accessed_ms);
  if (s.purge_at_ms) out["DeletedDate"] = Epoch(*s.purge_at_ms);
  // Once a secret has had tags, AWS keeps the member: "Tags": [] after the last is removed.
  if (!s.tags.empty() || s.tagged) out["Tags"] = TagsJson(s.tags);
  // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html
  if (s.rotation_enabled || s.rotation_lambda_arn) out["RotationEnabled"] = s.rotation_enabled;
  if (s.rotation_lambda_arn) out["RotationLambdaARN"] = *s.rotation_lambda_arn;
  if (s.rotation_rules) {
    boost::system::error_code ec;
    json::value rules = json::parse(*s.rotation_rules, ec);
    if (!ec && rules.is_object()) out["RotationRules"] = std::move(rules);
  }
  if (s.last_rotated_ms) out["LastRotatedDate"] = Epoch(*s.last_rotated_ms);
  if (s.rotation_enabled && s.next_rotation_ms) {
    out["NextRotationDate"] = Epoch(*s.next_rotation_ms);
  }
  json::object v2s = VersionsToStages(versions);
  if (!v2s.empty()) out[versions_member] = std::move(v2s);
  out["CreatedDate"] = Epoch(s.created_ms);
  return out;
}

json::array StagesJson(const std::vector<std::string>& stages) {
  json::array a;
  for (const auto& s : stages) a.push_back(json::string(s));
  return a;
}

// ListSecretVersionIds' page token: the offset of the next version (a secret has at most about
// a hundred).
std::string EncodeOffsetToken(size_t offset) {
  return EncodePageToken("coffer-page", std::to_string(offset));
}
Result<size_t> DecodeOffsetToken(const std::optional<std::string>& token) {
  auto position = DecodePageToken("coffer-page", token);
  const Status invalid("InvalidNextTokenException", "The NextToken value is not valid.");
  if (!position || (token && position->empty()) || position->size() > 12) return invalid;
  size_t offset = 0;
  for (char c : *position) {
    if (c < '0' || c > '9') return invalid;
    offset = offset * 10 + static_cast<size_t>(c - '0');
  }
  return offset;
}

// A ListSecrets page token: where the page stopped, in the order it was listed in. Its scope
// names the order, the direction and IncludePlannedDeletion, so a token used with others is
// refused instead of skipping or repeating secrets.
std::string SecretCursorScope(const SecretPageQuery& q) {
  return "coffer-secrets:" + std::to_string(static_cast<int>(q.order)) + ":" +
         (q.descending ? "d" : "a") + (q.include_deleted ? "1" : "0");
}

std::string EncodeSecretCursor(const SecretPageQuery& q, const SecretCursor& c) {
  return EncodePageToken(SecretCursorScope(q),
                         std::to_string(c.key) + ":" + std::to_string(c.id) + ":" + c.name);
}

Result<std::optional<SecretCursor>> DecodeSecretCursor(const std::optional<std::string>& token,
                                                       const SecretPageQuery& q) {
  if (!token) return std::optional<SecretCursor>();
  const Status invalid("InvalidNextTokenException", "The NextToken value is not valid.");
  auto position = DecodePageToken(SecretCursorScope(q), token);
  if (!position) return invalid;
  std::string_view rest(*position);
  auto number = [&](int64_t* out) {
    size_t end = rest.find(':');
    if (end == std::string_view::npos || end == 0 || end > 20) return false;
    std::string digits(rest.substr(0, end));
    char* stop = nullptr;
    errno = 0;
    long long v = std::strtoll(digits.c_str(), &stop, 10);
    if (errno != 0 || stop != digits.c_str() + digits.size()) return false;
    *out = v;
    rest.remove_prefix(end + 1);
    return true;
  };
  SecretCursor c;
  if (!number(&c.key) || !number(&c.id) || rest.size() > 512) return invalid;
  c.name = std::string(rest);
  return std::optional<SecretCursor>(std::move(c));
}

SecretCursor CursorAt(const SecretRow& s, SecretOrder order) {
  SecretCursor c{.key = 0, .name = {}, .id = s.id};
  switch (order) {
    case SecretOrder::kCreated:
      c.key = s.created_ms;
      break;
    case SecretOrder::kLastChanged:
      c.key = s.last_changed_ms;
      break;
    case SecretOrder::kLastAccessed:
      c.key = s.last_accessed_ms.value_or(0);
      break;
    case SecretOrder::kName:
      c.name = s.name;
      break;
  }
  return c;
}

// At most this many secrets are read for one page. A filter that matches few secrets then ends
// a page early with a NextToken (as AWS may: a page can be short, even empty, and still have a
// next one), so no page costs more than this whatever the number of secrets.
constexpr size_t kMaxSecretsReadPerPage = 2000;

struct SecretPage {
  std::vector<SecretRow> rows;
  std::optional<SecretCursor> next;  // where the next page starts, if there may be one
};

// Reads secrets in q's order from q.after, keeping those that match `filters`, until `limit` are
// kept and one more match shows there is a next page, or the secrets end, or the read budget is
// spent.
Result<SecretPage> ReadSecretPage(StoreReader& r, const Scope& scope, SecretPageQuery q,
                                  const std::vector<SecretFilter>& filters, size_t limit) {
  SecretPage page;
  size_t read = 0;
  std::optional<SecretCursor> last_kept = q.after;
  for (;;) {
    // Without filters every secret read is kept: one more than the page tells whether another
    // page follows. With filters, read in batches.
    const size_t want = filters.empty() ? limit - page.rows.size() + 1 : 200;
    q.limit = static_cast<int>(std::min(want, kMaxSecretsReadPerPage - read));
    COFFER_ASSIGN_OR_RETURN(auto batch, r.secrets().ListPage(scope, q));
    for (auto& s : batch) {
      ++read;
      q.after = CursorAt(s, q.order);
      if (!MatchesFilters(s, filters)) continue;
      if (page.rows.size() == limit) {
        page.next = last_kept;  // a match beyond the page: the next page starts after the last
        return page;
      }
      last_kept = q.after;
      page.rows.push_back(std::move(s));
    }
    if (batch.size() < static_cast<size_t>(q.limit)) return page;  // no more secrets
    if (read >= kMaxSecretsReadPerPage) {
      page.next = q.after;  // budget spent: resume after the last secret read
      return page;
    }
  }
}

Result<std::vector<SecretFilter>> DecodeFilters(JsonInput& in) {
  std::vector<SecretFilter> filters;
  const json::array* arr = in.Array("Filters");
  if (arr == nullptr) return filters;
  if (arr->size() > 10) {
    in.AddViolation("Filters", "", false, "Member must have length less than or equal to 10");
    return filters;
  }
  for (const auto& e : *arr) {
    if (!e.is_object()) return Status("SerializationException", "Expected a Filter structure.");
    const auto& o = e.get_object();
    SecretFilter f;
    const auto* key = o.if_contains("Key");
    if (key && !key->is_null()) {
      if (!key->is_string())
        return Status("SerializationException", "Filter Key must be a string.");
      f.key = std::string(key->get_string());
    }
    if (!IsFilterKey(f.key)) {
      in.AddViolation("filters.member.key", "'" + f.key + "'", true,
                      "Member must satisfy enum value set: [all, name, tag-key, description, "
                      "tag-value, primary-region, owning-service]");
      continue;
    }
    const auto* values = o.if_contains("Values");
    if (values && values->is_array()) {
      for (const auto& v : values->get_array()) {
        if (!v.is_string()) return Status("SerializationException", "Filter values are strings.");
        f.values.emplace_back(v.get_string());
      }
    } else if (values && !values->is_null()) {
      return Status("SerializationException", "Filter Values must be a list.");
    }
    if (f.values.empty() || f.values.size() > 10) {
      return Status("InvalidParameterException",
                    "Filter " + f.key + " must have between 1 and 10 values.");
    }
    for (const auto& v : f.values) {
      if (!IsValidFilterValue(v)) {
        return Status("InvalidParameterException",
                      "Invalid filter value '" + v +
                          "'. Values can contain letters, digits, "
                          "spaces and :_@/+=.-! and be at most 512 characters long.");
      }
    }
    filters.push_back(std::move(f));
  }
  return filters;
}

// The resource a request names when no secret answers to it: AWS checks permissions against
// the name before it reports that the secret does not exist.
std::string MissingSecretResource(const Scope& scope, const std::string& secret_id) {
  if (secret_id.rfind("arn:", 0) == 0) return secret_id;
  return "arn:aws:secretsmanager:" + scope.region + ":" + scope.account + ":secret:" + secret_id;
}

constexpr size_t kMaxResourcePolicyChars = 20480;

}  // namespace

Result<SecretRow> SecretsService::AuthorizedSecret(const RequestContext& ctx, const char* action,
                                                   const std::string& secret_id,
                                                   ConditionKeys extra) {
  std::optional<SecretRow> found;
  Status missing;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    auto s = ResolveSecret(r, ctx.scope, secret_id);
    if (s.ok()) {
      found = std::move(s.value());
    } else if (s.status().code() == "ResourceNotFoundException") {
      missing = s.status();
    } else {
      return s.status();
    }
    return Status::Ok();
  }));
  if (!found) {
    COFFER_RETURN_IF_ERROR(AuthorizeMissing(ctx, action, secret_id, std::move(extra)));
    return missing;
  }
  COFFER_RETURN_IF_ERROR(AuthorizeOn(ctx, action, *found, std::move(extra), secret_id));
  return std::move(*found);
}

Status SecretsService::AuthorizeMissing(const RequestContext& ctx, const char* action,
                                        const std::string& secret_id, ConditionKeys extra) {
  AuthzCheck check{action, MissingSecretResource(ctx.scope, secret_id)};
  if (auto arn = ParseArn(secret_id)) check.resource_account = arn->account;
  check.named_as = secret_id;
  check.context = std::move(extra);
  return ctx.Authorize(check);
}

Status SecretsService::AuthorizeOn(const RequestContext& ctx, const char* action,
                                   const SecretRow& secret, ConditionKeys extra,
                                   const std::string& named_as) {
  AuthzCheck check{action, secret.arn, secret.account,
                   secret.resource_policy ? &*secret.resource_policy : nullptr};
  check.named_as = named_as;
  check.context = std::move(extra);
  check.context["secretsmanager:secretid"] = {secret.arn};
  AddResourceTagKeys(secret.tags, "secretsmanager", &check.context);
  return ctx.Authorize(check);
}

Status SecretsService::AuthorizeKeyUse(const RequestContext& ctx, const KmsKeyRow& key,
                                       const char* kms_action, const std::string& secret_arn) {
  if (ctx.authorizer == nullptr) return Status::Ok();
  // An AWS managed key's policy lets every principal of its account use it through the service
  // that owns it (Secrets Manager has already authorized the call itself) and no one else: a
  // secret under aws/secretsmanager cannot be shared with another account.
  // https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html
  if (key.manager == "AWS") {
    if (key.account == ctx.principal.account) return Status::Ok();
    ctx.authorized = true;
    return Status("AccessDeniedException", "Access to KMS is not allowed");
  }
  // The context Secrets Manager encrypts under names the secret and the version; a policy can
  // pin the secret's ARN (the version id changes with every value, so it is only named).
  if (!AuthorizeKmsUseForService(ctx, key, kms_action, "secretsmanager",
                                 {{"SecretARN", secret_arn}, {"SecretVersionId", ""}})
           .ok()) {
    return Status("AccessDeniedException", "Access to KMS is not allowed");
  }
  return Status::Ok();
}

SecretsService::SecretsService(Store* store, Keyring* keyring, const Clock* clock)
    : store_(store), keyring_(keyring), clock_(clock) {}

Result<json::object> SecretsService::Handle(std::string_view operation, const RequestContext& ctx,
                                            const json::object& input) {
  static const std::map<std::string_view, Handler> kHandlers = {
      {"CreateSecret", &SecretsService::CreateSecret},
      {"GetSecretValue", &SecretsService::GetSecretValue},
      {"BatchGetSecretValue", &SecretsService::BatchGetSecretValue},
      {"PutSecretValue", &SecretsService::PutSecretValue},
      {"UpdateSecret", &SecretsService::UpdateSecret},
      {"UpdateSecretVersionStage", &SecretsService::UpdateSecretVersionStage},
      {"DescribeSecret", &SecretsService::DescribeSecret},
      {"ListSecrets", &SecretsService::ListSecrets},
      {"ListSecretVersionIds", &SecretsService::ListSecretVersionIds},
      {"DeleteSecret", &SecretsService::DeleteSecret},
      {"RestoreSecret", &SecretsService::RestoreSecret},
      {"TagResource", &SecretsService::TagResource},
      {"UntagResource", &SecretsService::UntagResource},
      {"GetRandomPassword", &SecretsService::GetRandomPassword},
      {"PutResourcePolicy", &SecretsService::PutResourcePolicy},
      {"GetResourcePolicy", &SecretsService::GetResourcePolicy},
      {"DeleteResourcePolicy", &SecretsService::DeleteResourcePolicy},
      {"ValidateResourcePolicy", &SecretsService::ValidateResourcePolicy},
      {"RotateSecret", &SecretsService::RotateSecret},
      {"CancelRotateSecret", &SecretsService::CancelRotateSecret},
  };
  // Operations of the API that coffer does not serve yet: a clear client error, never a retry.
  static const std::set<std::string_view> kNotYetServed = {
      "ReplicateSecretToRegions", "RemoveRegionsFromReplication", "StopReplicationToReplica"};
  auto it = kHandlers.find(operation);
  if (it != kHandlers.end()) return (this->*(it->second))(ctx, input);
  if (kNotYetServed.count(operation)) {
    ctx.authorized = true;  // refused before anything is read or changed
    return Status("InvalidRequestException", "coffer does not support " + std::string(operation) +
                                                 " yet; see the feature table in coffer's README.");
  }
  return Status("UnknownOperationException",
                "The operation secretsmanager." + std::string(operation) + " is not known.");
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
Result<json::object> SecretsService::CreateSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto name = in.String("Name", {.required = true, .min_len = 1, .max_len = 512});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  auto description = in.String("Description", {.max_len = 2048});
  auto kms_key_id = in.String("KmsKeyId", {.max_len = 2048});
  Status value_error;
  SecretValue value = DecodeValue(in, &value_error);
  Tags tags;
  COFFER_RETURN_IF_ERROR(DecodeTags(in, "Tags", false, &tags));
  const json::array* replicas = in.Array("AddReplicaRegions");
  (void)in.Bool("ForceOverwriteReplicaSecret");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(value_error);
  COFFER_RETURN_IF_ERROR(RequireTokenWithValue(token, value));
  if (!IsValidSecretName(*name)) {
    return InvalidSecretName();
  }
  if (tags.size() > kMaxTags) {
    return Status("InvalidParameterException", "A secret can have at most 50 tags.");
  }
  if (replicas && !replicas->empty()) {
    return Status("InvalidRequestException",
                  "coffer does not support replication yet; see the feature table in coffer's "
                  "README.");
  }
  if (kms_key_id && kms_key_id->empty()) kms_key_id.reset();

  SecretRow row;
  row.arn = "arn:aws:secretsmanager:" + ctx.scope.region + ":" + ctx.scope.account +
            ":secret:" + *name + "-" + RandomAlphanumeric(6);
  {
    AuthzCheck check{"secretsmanager:CreateSecret", row.arn};
    AddRequestTagKeys(tags, &check.context);
    check.context["secretsmanager:name"] = {*name};
    if (kms_key_id) check.context["secretsmanager:kmskeyid"] = {*kms_key_id};
    if (description) check.context["secretsmanager:description"] = {*description};
    COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  }
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          keyring_->ResolveKey(ctx.scope, kms_key_id.value_or(""), "secretsmanager",
                                               "EncryptionFailure"));
  if (value.present) {
    COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, key, "kms:GenerateDataKey", row.arn));
  }
  row.account = ctx.scope.account;
  row.region = ctx.scope.region;
  row.name = *name;
  row.description = description;
  row.kms_key_id = kms_key_id;
  row.created_ms = ctx.now;
  row.last_changed_ms = ctx.now;
  row.tags = tags;
  row.tagged = !tags.empty();

  std::string version_id = token.value_or(NewUuid());
  std::string envelope;
  if (value.present) {
    COFFER_ASSIGN_OR_RETURN(
        envelope, SealValue(*keyring_, key, ValueContext(row, version_id), value.bytes.Reveal()));
  }

  json::object out;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto existing, w.secrets().FindByName(ctx.scope, *name));
    if (existing) {
      if (existing->purge_at_ms) {
        return Status("InvalidRequestException",
                      "You can't create this secret because a secret with this name is already "
                      "scheduled for deletion.");
      }
      // A retried CreateSecret (same token, same value) succeeds without a change.
      if (token) {
        COFFER_ASSIGN_OR_RETURN(auto version, w.secrets().GetVersion(existing->id, *token));
        if (version) {
          auto plain = keyring_->OpenValue(ValueContext(*existing, *token), version->envelope);
          bool same = value.present && plain.ok() && version->binary == value.binary &&
                      crypto::ConstantTimeEquals(plain->Reveal(), value.bytes.Reveal());
          if (!same) {
            return Status("ResourceExistsException",
                          "You can't use ClientRequestToken " + *token +
                              " because that value is already in use for a version of secret " +
                              existing->arn + ".");
          }
          out = {{"ARN", existing->arn}, {"Name", existing->name}, {"VersionId", *token}};
          return Status::Ok();
        }
      }
      return Status("ResourceExistsException",
                    "The operation failed because the secret " + *name + " already exists.");
    }
    COFFER_RETURN_IF_ERROR(w.secrets().Insert(&row));
    out = {{"ARN", row.arn}, {"Name", row.name}};
    if (value.present) {
      SecretVersionRow v;
      v.version_id = version_id;
      v.created_ms = ctx.now;
      v.kms_key_arn = key.arn;
      v.binary = value.binary;
      v.envelope = envelope;
      COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(row.id, v));
      COFFER_RETURN_IF_ERROR(w.secrets().SetStage(row.id, kCurrent, version_id));
      out["VersionId"] = version_id;
    }
    return Status::Ok();
  }));
  return out;
}

namespace {

// Adds a version inside a write transaction, with PutSecretValue's idempotency and stage rules,
// then prunes deprecated versions beyond the quota. `out_stages` receives the version's stages.
Status AddVersion(StoreWriter& w, Keyring& keyring, SecretRow& secret, const KmsKeyRow& key,
                  const std::string& version_id, const SecretValue& value,
                  const std::string& envelope, const std::vector<std::string>& requested_stages,
                  EpochMillis now, std::vector<std::string>* out_stages, bool* created) {
  COFFER_ASSIGN_OR_RETURN(auto existing, w.secrets().GetVersion(secret.id, version_id));
  if (existing && existing->envelope.empty()) {
    // The version RotateSecret created for the rotation, still without a value: createSecret
    // gives it one.
    COFFER_RETURN_IF_ERROR(w.secrets().DeleteVersion(secret.id, version_id));
    existing.reset();
  }
  if (existing) {
    auto plain = keyring.OpenValue(ValueContext(secret, version_id), existing->envelope);
    bool same = plain.ok() && existing->binary == value.binary &&
                crypto::ConstantTimeEquals(plain->Reveal(), value.bytes.Reveal());
    if (!same) {
      return Status("ResourceExistsException",
                    "You can't use ClientRequestToken " + version_id +
                        " because that value is already in use for a version of secret " +
                        secret.arn + ".");
    }
    *out_stages = existing->stages;
    *created = false;
    return Status::Ok();
  }
  std::vector<SecretVersionRow> versions;
  COFFER_ASSIGN_OR_RETURN(StageMap stages, CurrentStages(w, secret.id, &versions));
  SecretVersionRow v;
  v.version_id = version_id;
  v.created_ms = now;
  v.kms_key_arn = key.arn;
  v.binary = value.binary;
  v.envelope = envelope;
  COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(secret.id, v));
  auto changes = StagesForNewVersion(stages, version_id, requested_stages);
  COFFER_RETURN_IF_ERROR(ApplyStageChanges(w, secret.id, changes));
  StageMap after = Apply(stages, changes);

  // Quota: about 100 versions. Deprecated (unlabelled) versions beyond it are removed, oldest
  // first, except those younger than 24 hours.
  // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
  versions.push_back(v);
  size_t count = versions.size();
  if (count > kMaxVersions) {
    std::set<std::string> labelled;
    for (const auto& [s, vid] : after) labelled.insert(vid);
    for (const auto& old : versions) {
      if (count <= kMaxVersions) break;
      if (labelled.count(old.version_id) || old.created_ms > now - kYoungVersionMs) continue;
      COFFER_RETURN_IF_ERROR(w.secrets().DeleteVersion(secret.id, old.version_id));
      --count;
    }
    if (count > kMaxVersions) {
      return Status("LimitExceededException",
                    "The request failed because it would exceed the quota of about 100 versions "
                    "per secret. Versions without staging labels are removed once they are 24 "
                    "hours old.");
    }
  }
  out_stages->clear();
  for (const auto& [s, vid] : after) {
    if (vid == version_id) out_stages->push_back(s);
  }
  secret.last_changed_ms = now;
  if (std::find(out_stages->begin(), out_stages->end(), kCurrent) != out_stages->end()) {
    CountAsRotation(&secret, now);
  }
  COFFER_RETURN_IF_ERROR(w.secrets().Update(secret));
  *created = true;
  return Status::Ok();
}

}  // namespace

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
Result<json::object> SecretsService::PutSecretValue(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  Status value_error;
  SecretValue value = DecodeValue(in, &value_error);
  auto stages = in.StringList("VersionStages", {.min_len = 1, .max_len = 256}, 20);
  (void)in.String("RotationToken");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(value_error);
  if (stages && stages->empty()) {
    in.AddViolation("VersionStages", "", false,
                    "Member must have length greater than or equal to 1");
    COFFER_RETURN_IF_ERROR(in.Finish());
  }
  if (!value.present) {
    return Status("InvalidParameterException",
                  "You must provide either SecretString or SecretBinary.");
  }
  COFFER_RETURN_IF_ERROR(RequireTokenWithValue(token, value));

  COFFER_ASSIGN_OR_RETURN(SecretRow secret,
                          AuthorizedSecret(ctx, "secretsmanager:PutSecretValue", *secret_id));
  if (secret.purge_at_ms) return MarkedForDeletion();
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          keyring_->ResolveKey(ScopeOf(secret), secret.kms_key_id.value_or(""),
                                               "secretsmanager", "EncryptionFailure"));
  COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, key, "kms:GenerateDataKey", secret.arn));
  std::string version_id = token.value_or(NewUuid());
  COFFER_ASSIGN_OR_RETURN(
      std::string envelope,
      SealValue(*keyring_, key, ValueContext(secret, version_id), value.bytes.Reveal()));
  std::vector<std::string> result_stages;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.secrets().FindByArn(ScopeOf(secret), secret.arn));
    if (!fresh) return NotFound();
    if (fresh->purge_at_ms) return MarkedForDeletion();
    bool created = false;
    return AddVersion(w, *keyring_, *fresh, key, version_id, value, envelope,
                      stages.value_or(std::vector<std::string>{}), ctx.now, &result_stages,
                      &created);
  }));
  return json::object{{"ARN", secret.arn},
                      {"Name", secret.name},
                      {"VersionId", version_id},
                      {"VersionStages", StagesJson(result_stages)}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html
Result<json::object> SecretsService::UpdateSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  auto description = in.String("Description", {.max_len = 2048});
  auto kms_key_id = in.String("KmsKeyId", {.max_len = 2048});
  Status value_error;
  SecretValue value = DecodeValue(in, &value_error);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(value_error);
  COFFER_RETURN_IF_ERROR(RequireTokenWithValue(token, value));

  ConditionKeys keys;
  if (kms_key_id) keys["secretsmanager:kmskeyid"] = {*kms_key_id};
  if (description) keys["secretsmanager:description"] = {*description};
  COFFER_ASSIGN_OR_RETURN(SecretRow secret, AuthorizedSecret(ctx, "secretsmanager:UpdateSecret",
                                                             *secret_id, std::move(keys)));
  if (secret.purge_at_ms) return MarkedForDeletion();

  // KmsKeyId "" reverts to the AWS-managed key.
  std::optional<std::string> new_key_ref = secret.kms_key_id;
  if (kms_key_id) new_key_ref = kms_key_id->empty() ? std::nullopt : kms_key_id;
  COFFER_ASSIGN_OR_RETURN(KmsKeyRow key,
                          keyring_->ResolveKey(ScopeOf(secret), new_key_ref.value_or(""),
                                               "secretsmanager", "EncryptionFailure"));
  std::string version_id = token.value_or(NewUuid());
  std::string envelope;
  if (value.present) {
    COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, key, "kms:GenerateDataKey", secret.arn));
    COFFER_ASSIGN_OR_RETURN(envelope, SealValue(*keyring_, key, ValueContext(secret, version_id),
                                                value.bytes.Reveal()));
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.secrets().FindByArn(ScopeOf(secret), secret.arn));
    if (!fresh) return NotFound();
    if (fresh->purge_at_ms) return MarkedForDeletion();
    if (description) fresh->description = description;
    fresh->kms_key_id = new_key_ref;
    fresh->last_changed_ms = ctx.now;
    COFFER_RETURN_IF_ERROR(w.secrets().Update(*fresh));
    if (!value.present) return Status::Ok();
    std::vector<std::string> stages;
    bool created = false;
    return AddVersion(w, *keyring_, *fresh, key, version_id, value, envelope, {}, ctx.now, &stages,
                      &created);
  }));
  json::object out{{"ARN", secret.arn}, {"Name", secret.name}};
  if (value.present) out["VersionId"] = version_id;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
Result<json::object> SecretsService::GetSecretValue(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto version_id = in.String("VersionId", {.min_len = 32, .max_len = 64});
  auto version_stage = in.String("VersionStage", {.min_len = 1, .max_len = 256});
  COFFER_RETURN_IF_ERROR(in.Finish());

  // The epoch is read before the store so that a write racing with this read makes the entry
  // stale rather than wrong.
  const uint64_t epoch = store_->CommittedWrites();
  std::string cache_key = ctx.scope.account + '\n' + ctx.scope.region + '\n' + *secret_id + '\n' +
                          version_id.value_or("") + '\n' + version_stage.value_or("");
  std::shared_ptr<const CachedSecretVersion> cached = read_cache_.Find(cache_key, epoch);
  ConditionKeys keys;
  // The stage asked for: the one named, or AWSCURRENT when neither stage nor version is.
  if (version_stage || !version_id) {
    keys["secretsmanager:versionstage"] = {version_stage.value_or(kCurrent)};
  }
  if (version_id) keys["secretsmanager:versionid"] = {*version_id};
  if (!cached) {
    auto fresh = std::make_shared<CachedSecretVersion>();
    SecretRow& secret = fresh->secret;
    Status read = store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(secret, ResolveSecret(r, ctx.scope, *secret_id));
      if (secret.purge_at_ms) return MarkedDeleted();
      std::string vid;
      if (version_id) {
        vid = *version_id;
      } else {
        std::string stage = version_stage.value_or(kCurrent);
        COFFER_ASSIGN_OR_RETURN(auto holder, r.secrets().VersionIdForStage(secret.id, stage));
        if (!holder) {
          return Status(
              "ResourceNotFoundException",
              "Secrets Manager can't find the specified secret value for staging label: " + stage);
        }
        vid = *holder;
      }
      COFFER_ASSIGN_OR_RETURN(auto v, r.secrets().GetVersion(secret.id, vid));
      if (v && v->envelope.empty()) {
        // A rotation's new version before createSecret has put its value.
        return Status("ResourceNotFoundException",
                      version_id ? "Secrets Manager can't find the specified secret value for "
                                   "VersionId: " +
                                       vid
                                 : "Secrets Manager can't find the specified secret value for "
                                   "staging label: " +
                                       version_stage.value_or(kCurrent));
      }
      if (!v) {
        return Status(
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret value for VersionId: " + vid);
      }
      if (version_stage &&
          std::find(v->stages.begin(), v->stages.end(), *version_stage) == v->stages.end()) {
        return Status("InvalidRequestException",
                      "You provided a VersionStage that is not associated to the provided "
                      "VersionId.");
      }
      fresh->version = std::move(*v);
      return Status::Ok();
    });
    if (!read.ok()) {
      // Only a caller allowed to read the secret learns which part of it is missing.
      if (read.code() != "InternalFailure") {
        if (secret.arn.empty()) {
          COFFER_RETURN_IF_ERROR(
              AuthorizeMissing(ctx, "secretsmanager:GetSecretValue", *secret_id, keys));
        } else {
          COFFER_RETURN_IF_ERROR(
              AuthorizeOn(ctx, "secretsmanager:GetSecretValue", secret, keys, *secret_id));
        }
      }
      return read;
    }
    read_cache_.Insert(cache_key, epoch, fresh);
    cached = std::move(fresh);
  }
  const SecretRow& secret = cached->secret;
  const SecretVersionRow& version = cached->version;
  keys["secretsmanager:versionid"] = {version.version_id};
  COFFER_RETURN_IF_ERROR(
      AuthorizeOn(ctx, "secretsmanager:GetSecretValue", secret, std::move(keys), *secret_id));
  // The key that sealed this version must let the caller decrypt through Secrets Manager. A
  // caller of the secret's own account under the AWS managed key always may (no row to read);
  // a caller from another account never may under it, whatever the resource policy says.
  if (ctx.authorizer != nullptr && (secret.kms_key_id || ctx.principal.account != secret.account)) {
    COFFER_ASSIGN_OR_RETURN(std::string key_id, Keyring::EnvelopeKeyId(version.envelope));
    // A key that cannot be loaded cannot open the value either (OpenValue fails below).
    auto key = keyring_->LoadKey(key_id);
    if (key.ok()) COFFER_RETURN_IF_ERROR(AuthorizeKeyUse(ctx, *key, "kms:Decrypt", secret.arn));
  }
  COFFER_ASSIGN_OR_RETURN(
      SecretBytes plain,
      OpenValue(*keyring_, ValueContext(secret, version.version_id), version.envelope));

  // LastAccessedDate is kept per day, so only the first read of a day writes. The write is
  // best-effort: a store that cannot write (disk full) must not fail reads; the date is then
  // recorded by the next read that can write.
  EpochMillis today = TruncateToDay(ctx.now);
  if (secret.last_accessed_ms != today || version.last_accessed_ms != today) {
    (void)store_->Write([&](StoreWriter& w) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto fresh, w.secrets().FindByArn(ScopeOf(secret), secret.arn));
      if (!fresh) return Status::Ok();
      fresh->last_accessed_ms = today;
      COFFER_RETURN_IF_ERROR(w.secrets().Update(*fresh));
      return w.secrets().SetVersionLastAccessed(fresh->id, version.version_id, today);
    });
  }

  json::object out{{"ARN", secret.arn}, {"Name", secret.name}, {"VersionId", version.version_id}};
  if (version.binary) {
    out["SecretBinary"] = crypto::Base64Encode(plain.Reveal());
  } else {
    out["SecretString"] = json::string(plain.Reveal());
  }
  out["VersionStages"] = StagesJson(version.stages);
  out["CreatedDate"] = Epoch(version.created_ms);
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html
Result<json::object> SecretsService::BatchGetSecretValue(const RequestContext& ctx,
                                                         const json::object& body) {
  JsonInput in(body);
  auto ids = in.StringList("SecretIdList", {.min_len = 1, .max_len = 2048}, 20);
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 20});
  auto next_token = in.String("NextToken", {.min_len = 1, .max_len = 4096});
  COFFER_ASSIGN_OR_RETURN(auto filters, DecodeFilters(in));
  bool has_filters = in.Has("Filters");
  COFFER_RETURN_IF_ERROR(in.Finish());
  if ((ids.has_value()) == has_filters) {
    return Status("InvalidParameterException",
                  "Either 'SecretIdList' or 'Filters' must be provided, but not both.");
  }
  if (max_results && !has_filters) {
    return Status("InvalidParameterException",
                  "'Filters' not specified. 'Filters' must also be specified when 'MaxResults' is "
                  "provided.");
  }
  if (ids && ids->empty()) {
    return Status("InvalidParameterException", "SecretIdList must contain between 1 and 20 ids.");
  }
  // Each secret is then authorized for GetSecretValue on its own; a filter needs ListSecrets.
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:BatchGetSecretValue", "*"}));
  if (has_filters) COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:ListSecrets", "*"}));

  std::vector<std::string> targets;  // secret ids to read, in response order
  std::optional<std::string> out_token;
  if (ids) {
    targets = *ids;
  } else {
    SecretPageQuery q;  // by creation date, without secrets pending deletion
    COFFER_ASSIGN_OR_RETURN(q.after, DecodeSecretCursor(next_token, q));
    SecretPage page;
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(page, ReadSecretPage(r, ctx.scope, q, filters,
                                                   static_cast<size_t>(max_results.value_or(20))));
      return Status::Ok();
    }));
    for (const auto& s : page.rows) targets.push_back(s.arn);
    if (page.next) out_token = EncodeSecretCursor(q, *page.next);
  }

  json::array values, errors;
  for (const auto& id : targets) {
    auto r = GetSecretValue(ctx, json::object{{"SecretId", id}});
    if (r.ok()) {
      values.push_back(std::move(r.value()));
    } else {
      errors.push_back(json::object{
          {"SecretId", id}, {"ErrorCode", r.status().code()}, {"Message", r.status().message()}});
    }
  }
  json::object out{{"SecretValues", std::move(values)}};
  if (!errors.empty()) out["Errors"] = std::move(errors);
  if (out_token) out["NextToken"] = *out_token;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
Result<json::object> SecretsService::UpdateSecretVersionStage(const RequestContext& ctx,
                                                              const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto stage = in.String("VersionStage", {.required = true, .min_len = 1, .max_len = 256});
  auto remove_from = in.String("RemoveFromVersionId", {.min_len = 32, .max_len = 64});
  auto move_to = in.String("MoveToVersionId", {.min_len = 32, .max_len = 64});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(AuthorizedSecret(ctx, "secretsmanager:UpdateSecretVersionStage",
                                          *secret_id, {{"secretsmanager:versionstage", {*stage}}})
                             .status());

  SecretRow secret;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(secret, ResolveSecret(w, ctx.scope, *secret_id));
    if (secret.purge_at_ms) return MarkedForDeletion();
    std::vector<SecretVersionRow> versions;
    COFFER_ASSIGN_OR_RETURN(StageMap stages, CurrentStages(w, secret.id, &versions));
    std::set<std::string> ids;
    for (const auto& v : versions) ids.insert(v.version_id);
    COFFER_ASSIGN_OR_RETURN(auto changes, MoveStage(stages, ids, *stage, move_to, remove_from));
    COFFER_RETURN_IF_ERROR(ApplyStageChanges(w, secret.id, changes));
    secret.last_changed_ms = ctx.now;
    return w.secrets().Update(secret);
  }));
  return json::object{{"ARN", secret.arn}, {"Name", secret.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html
Result<json::object> SecretsService::DescribeSecret(const RequestContext& ctx,
                                                    const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s,
                          AuthorizedSecret(ctx, "secretsmanager:DescribeSecret", *secret_id));
  std::vector<SecretVersionRow> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(versions, r.secrets().ListVersions(s.id));
    return Status::Ok();
  }));
  return SecretMetadata(s, versions, "VersionIdsToStages");
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html
Result<json::object> SecretsService::ListSecrets(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto include_deleted = in.Bool("IncludePlannedDeletion");
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 100});
  auto next_token = in.String("NextToken", {.min_len = 1, .max_len = 4096});
  auto sort_order = in.String("SortOrder");
  auto sort_by = in.String("SortBy");
  COFFER_ASSIGN_OR_RETURN(auto filters, DecodeFilters(in));
  if (sort_order && *sort_order != "asc" && *sort_order != "desc") {
    in.AddViolation("SortOrder", "'" + *sort_order + "'", true,
                    "Member must satisfy enum value set: [asc, desc]");
  }
  if (sort_by && *sort_by != "created-date" && *sort_by != "last-accessed-date" &&
      *sort_by != "last-changed-date" && *sort_by != "name") {
    in.AddViolation("SortBy", "'" + *sort_by + "'", true,
                    "Member must satisfy enum value set: [created-date, last-accessed-date, "
                    "last-changed-date, name]");
  }
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:ListSecrets", "*"}));
  SecretPageQuery q;
  const std::string by = sort_by.value_or("created-date");
  q.order = by == "name"                 ? SecretOrder::kName
            : by == "last-changed-date"  ? SecretOrder::kLastChanged
            : by == "last-accessed-date" ? SecretOrder::kLastAccessed
                                         : SecretOrder::kCreated;
  q.descending = sort_order.value_or("asc") == "desc";
  q.include_deleted = include_deleted.value_or(false);
  COFFER_ASSIGN_OR_RETURN(q.after, DecodeSecretCursor(next_token, q));

  SecretPage page;
  std::map<int64_t, std::vector<SecretVersionRow>> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(page, ReadSecretPage(r, ctx.scope, q, filters,
                                                 static_cast<size_t>(max_results.value_or(100))));
    for (const auto& s : page.rows) {
      COFFER_ASSIGN_OR_RETURN(versions[s.id], r.secrets().ListVersions(s.id));
    }
    return Status::Ok();
  }));

  json::array list;
  for (const auto& s : page.rows) {
    // The same members as DescribeSecret, but AWS names the version map differently here.
    list.push_back(SecretMetadata(s, versions[s.id], "SecretVersionsToStages"));
  }
  json::object out{{"SecretList", std::move(list)}};
  if (page.next) out["NextToken"] = EncodeSecretCursor(q, *page.next);
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html
Result<json::object> SecretsService::ListSecretVersionIds(const RequestContext& ctx,
                                                          const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto max_results = in.Int("MaxResults", {.min = 1, .max = 100});
  auto next_token = in.String("NextToken", {.min_len = 1, .max_len = 4096});
  auto include_deprecated = in.Bool("IncludeDeprecated");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s,
                          AuthorizedSecret(ctx, "secretsmanager:ListSecretVersionIds", *secret_id));
  COFFER_ASSIGN_OR_RETURN(size_t offset, DecodeOffsetToken(next_token));
  std::vector<SecretVersionRow> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(versions, r.secrets().ListVersions(s.id));
    return Status::Ok();
  }));
  std::vector<const SecretVersionRow*> shown;
  for (const auto& v : versions) {
    if (!v.stages.empty() || include_deprecated.value_or(false)) shown.push_back(&v);
  }
  size_t page = static_cast<size_t>(max_results.value_or(100));
  json::array list;
  for (size_t i = offset; i < shown.size() && i < offset + page; ++i) {
    const SecretVersionRow& v = *shown[i];
    json::object e{{"VersionId", v.version_id}};
    if (!v.stages.empty()) e["VersionStages"] = StagesJson(v.stages);
    if (v.last_accessed_ms) e["LastAccessedDate"] = Epoch(*v.last_accessed_ms);
    e["CreatedDate"] = Epoch(v.created_ms);
    e["KmsKeyIds"] = json::array{json::string(s.kms_key_id ? v.kms_key_arn : kDefaultKeyLabel)};
    list.push_back(std::move(e));
  }
  json::object out{{"Versions", std::move(list)}};
  if (offset + page < shown.size()) out["NextToken"] = EncodeOffsetToken(offset + page);
  out["ARN"] = s.arn;
  out["Name"] = s.name;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html
Result<json::object> SecretsService::DeleteSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto window = in.Int("RecoveryWindowInDays");
  auto force = in.Bool("ForceDeleteWithoutRecovery");
  COFFER_RETURN_IF_ERROR(in.Finish());
  // AWS checks the window's range first, then the conflict, and both before it looks the secret
  // up: a bad window is reported even for a secret that does not exist.
  if (window && (*window < 7 || *window > 30)) {
    return Status("InvalidParameterException",
                  "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).");
  }
  if (window && force.value_or(false)) {
    return Status("InvalidParameterException",
                  "You can't use ForceDeleteWithoutRecovery in conjunction with "
                  "RecoveryWindowInDays.");
  }
  {
    ConditionKeys keys;
    if (window) keys["secretsmanager:recoverywindowindays"] = {std::to_string(*window)};
    if (force) keys["secretsmanager:forcedeletewithoutrecovery"] = {*force ? "true" : "false"};
    auto allowed = AuthorizedSecret(ctx, "secretsmanager:DeleteSecret", *secret_id, keys);
    if (!allowed.ok() && allowed.status().code() != "ResourceNotFoundException") {
      return allowed.status();
    }
  }
  json::object out;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    auto found = ResolveSecret(w, ctx.scope, *secret_id);
    if (!found.ok()) {
      // With ForceDeleteWithoutRecovery AWS does not report a missing secret: it answers as if
      // it had deleted one, with an ARN of the shape a secret of that name would have had.
      if (!force.value_or(false) || found.status().code() != "ResourceNotFoundException") {
        return found.status();
      }
      out = {{"ARN", "arn:aws:secretsmanager:" + ctx.scope.region + ":" + ctx.scope.account +
                         ":secret:" + *secret_id + "-" + RandomAlphanumeric(6)},
             {"Name", *secret_id},
             {"DeletionDate", Epoch(ctx.now)}};
      if (auto arn = ParseArn(*secret_id)) {
        out["ARN"] = *secret_id;
        out["Name"] = arn->resource.substr(arn->resource.find(':') + 1);
      }
      return Status::Ok();
    }
    SecretRow s = std::move(found.value());
    out = {{"ARN", s.arn}, {"Name", s.name}};
    if (force.value_or(false)) {
      out["DeletionDate"] = Epoch(ctx.now);
      return w.secrets().Delete(s.id);
    }
    if (s.purge_at_ms) return MarkedDeleted();
    s.deleted_ms = ctx.now;
    s.purge_at_ms = ctx.now + window.value_or(kDefaultRecoveryDays) * kMillisPerDay;
    s.last_changed_ms = ctx.now;
    out["DeletionDate"] = Epoch(*s.purge_at_ms);
    return w.secrets().Update(s);
  }));
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RestoreSecret.html
Result<json::object> SecretsService::RestoreSecret(const RequestContext& ctx,
                                                   const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(
      AuthorizedSecret(ctx, "secretsmanager:RestoreSecret", *secret_id).status());
  SecretRow s;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(s, ResolveSecret(w, ctx.scope, *secret_id));
    if (!s.purge_at_ms) return Status::Ok();
    s.deleted_ms.reset();
    s.purge_at_ms.reset();
    s.last_changed_ms = ctx.now;
    return w.secrets().Update(s);
  }));
  return json::object{{"ARN", s.arn}, {"Name", s.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html
Result<json::object> SecretsService::TagResource(const RequestContext& ctx,
                                                 const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  Tags tags;
  COFFER_RETURN_IF_ERROR(DecodeTags(in, "Tags", true, &tags));
  COFFER_RETURN_IF_ERROR(in.Finish());
  {
    ConditionKeys keys;
    AddRequestTagKeys(tags, &keys);
    COFFER_RETURN_IF_ERROR(
        AuthorizedSecret(ctx, "secretsmanager:TagResource", *secret_id, std::move(keys)).status());
  }
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(SecretRow s, ResolveSecret(w, ctx.scope, *secret_id));
    if (s.purge_at_ms) return MarkedForDeletion();
    MergeTags(&s.tags, tags);
    s.tagged = true;
    if (s.tags.size() > kMaxTags) {
      return Status("InvalidParameterException", "A secret can have at most 50 tags.");
    }
    s.last_changed_ms = ctx.now;
    return w.secrets().Update(s);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UntagResource.html
Result<json::object> SecretsService::UntagResource(const RequestContext& ctx,
                                                   const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  const json::array* keys_arr = in.Array("TagKeys", true);
  auto keys = in.StringList("TagKeys", {.min_len = 1, .max_len = 128});
  COFFER_RETURN_IF_ERROR(in.Finish());
  (void)keys_arr;
  COFFER_RETURN_IF_ERROR(
      AuthorizedSecret(ctx, "secretsmanager:UntagResource", *secret_id, {{"aws:tagkeys", *keys}})
          .status());
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(SecretRow s, ResolveSecret(w, ctx.scope, *secret_id));
    if (s.purge_at_ms) return MarkedForDeletion();
    std::set<std::string> remove(keys->begin(), keys->end());
    std::erase_if(s.tags, [&](const auto& t) { return remove.count(t.first) > 0; });
    s.last_changed_ms = ctx.now;
    return w.secrets().Update(s);
  }));
  return json::object{};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
Result<json::object> SecretsService::GetRandomPassword(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  PasswordOptions o;
  o.length = in.Int("PasswordLength", {.min = 1, .max = 4096}).value_or(32);
  o.exclude_characters = in.String("ExcludeCharacters", {.max_len = 4096}).value_or("");
  o.exclude_numbers = in.Bool("ExcludeNumbers").value_or(false);
  o.exclude_punctuation = in.Bool("ExcludePunctuation").value_or(false);
  o.exclude_uppercase = in.Bool("ExcludeUppercase").value_or(false);
  o.exclude_lowercase = in.Bool("ExcludeLowercase").value_or(false);
  o.include_space = in.Bool("IncludeSpace").value_or(false);
  o.require_each_included_type = in.Bool("RequireEachIncludedType").value_or(true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:GetRandomPassword", "*"}));
  COFFER_ASSIGN_OR_RETURN(SecretBytes password, GenerateRandomPassword(o));
  return json::object{{"RandomPassword", json::string(password.Reveal())}};
}

// Parses a resource policy as Secrets Manager validates it.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html
Result<std::shared_ptr<const policy::Policy>> ParseResourcePolicy(const std::string& text) {
  if (text.empty() || text.size() > kMaxResourcePolicyChars) {
    return Status("InvalidParameterException",
                  "1 validation error detected: Value at 'resourcePolicy' failed to satisfy "
                  "constraint: Member must have length between 1 and 20480");
  }
  auto parsed = policy::Policy::Parse(text, policy::PolicyKind::kResource);
  if (!parsed.ok()) {
    return Status("MalformedPolicyDocumentException",
                  "This resource policy contains a syntax error: " + parsed.status().message());
  }
  return parsed;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutResourcePolicy.html
Result<json::object> SecretsService::PutResourcePolicy(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto text = in.String("ResourcePolicy", {.required = true, .min_len = 1, .max_len = 20480});
  auto block_public = in.Bool("BlockPublicPolicy");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(AuthorizedSecret(ctx, "secretsmanager:PutResourcePolicy", *secret_id,
                                          {{"secretsmanager:blockpublicpolicy",
                                            {block_public.value_or(false) ? "true" : "false"}}})
                             .status());
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseResourcePolicy(*text));
  if (block_public.value_or(false) && parsed->GrantsPublicAccess()) {
    return Status("PublicPolicyException",
                  "This resource policy will grant public access to the secret.");
  }
  SecretRow s;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(s, ResolveSecret(w, ctx.scope, *secret_id));
    if (s.purge_at_ms) return MarkedForDeletion();
    s.resource_policy = *text;
    s.last_changed_ms = ctx.now;
    return w.secrets().Update(s);
  }));
  return json::object{{"ARN", s.arn}, {"Name", s.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetResourcePolicy.html
Result<json::object> SecretsService::GetResourcePolicy(const RequestContext& ctx,
                                                       const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow s,
                          AuthorizedSecret(ctx, "secretsmanager:GetResourcePolicy", *secret_id));
  json::object out{{"ARN", s.arn}, {"Name", s.name}};
  if (s.resource_policy) out["ResourcePolicy"] = *s.resource_policy;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteResourcePolicy.html
Result<json::object> SecretsService::DeleteResourcePolicy(const RequestContext& ctx,
                                                          const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(
      AuthorizedSecret(ctx, "secretsmanager:DeleteResourcePolicy", *secret_id).status());
  SecretRow s;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(s, ResolveSecret(w, ctx.scope, *secret_id));
    if (s.purge_at_ms) return MarkedForDeletion();
    s.resource_policy.reset();
    s.last_changed_ms = ctx.now;
    return w.secrets().Update(s);
  }));
  return json::object{{"ARN", s.arn}, {"Name", s.name}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ValidateResourcePolicy.html
Result<json::object> SecretsService::ValidateResourcePolicy(const RequestContext& ctx,
                                                            const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.min_len = 1, .max_len = 2048});
  auto text = in.String("ResourcePolicy", {.required = true, .min_len = 1, .max_len = 20480});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (secret_id) {
    COFFER_RETURN_IF_ERROR(
        AuthorizedSecret(ctx, "secretsmanager:ValidateResourcePolicy", *secret_id).status());
  } else {
    COFFER_RETURN_IF_ERROR(ctx.Authorize({"secretsmanager:ValidateResourcePolicy", "*"}));
  }
  auto parsed = policy::Policy::Parse(*text, policy::PolicyKind::kResource);
  json::array errors;
  if (!parsed.ok()) {
    errors.push_back(json::object{{"CheckName", "SYNTAX_CHECKING"},
                                  {"ErrorMessage", parsed.status().message()}});
  } else if ((*parsed)->GrantsPublicAccess()) {
    errors.push_back(json::object{
        {"CheckName", "PUBLIC_ACCESS_CHECKING"},
        {"ErrorMessage", "This resource policy will grant public access to the secret."}});
  }
  return json::object{{"PolicyValidationPassed", errors.empty()},
                      {"ValidationErrors", std::move(errors)}};
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
Result<json::object> SecretsService::RotateSecret(const RequestContext& ctx,
                                                  const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  auto token = in.String("ClientRequestToken", {.min_len = 32, .max_len = 64});
  auto lambda_arn = in.String("RotationLambdaARN", {.max_len = 2048});
  const json::object* rules_in = in.Object("RotationRules");
  auto immediately = in.Bool("RotateImmediately");
  COFFER_RETURN_IF_ERROR(in.Finish());
  ConditionKeys keys;
  if (lambda_arn) keys["secretsmanager:rotationlambdaarn"] = {*lambda_arn};
  COFFER_ASSIGN_OR_RETURN(SecretRow secret, AuthorizedSecret(ctx, "secretsmanager:RotateSecret",
                                                             *secret_id, std::move(keys)));
  if (secret.purge_at_ms) return MarkedForDeletion();

  std::optional<std::string> rules_text = secret.rotation_rules;
  std::optional<Schedule> schedule;
  if (rules_in != nullptr) {
    JsonInput r(*rules_in);
    RotationRules rules;
    rules.automatically_after_days = r.Int("AutomaticallyAfterDays", {.min = 1, .max = 1000});
    rules.schedule_expression = r.String("ScheduleExpression", {.min_len = 1, .max_len = 256});
    rules.duration = r.String("Duration", {.min_len = 2, .max_len = 3});
    COFFER_RETURN_IF_ERROR(r.Finish());
    COFFER_ASSIGN_OR_RETURN(auto parsed, Schedule::Parse(rules));
    schedule = std::move(parsed);
    rules_text = json::serialize(*rules_in);
  } else if (rules_text) {
    auto parsed = Schedule::Parse(RulesOf(secret));
    if (parsed.ok()) schedule = std::move(parsed.value());
  }
  const std::optional<std::string> function_arn =
      lambda_arn ? lambda_arn : secret.rotation_lambda_arn;
  if (!function_arn) {
    return Status("InvalidRequestException",
                  "No Lambda rotation function ARN is associated with this secret.");
  }
  // The function must be registered in the secret's own account and region (coffer's
  // equivalent of a Lambda that grants secretsmanager.amazonaws.com the right to invoke it:
  // no function of another account ever does, so another tenant's function is never run with
  // this secret, nor this secret's rotation handed to another tenant's code).
  const auto function = ParseArn(*function_arn);
  const bool same_scope = function && function->service == "lambda" &&
                          function->account == secret.account && function->region == secret.region;
  if (!same_scope || !rotation_functions_ || !rotation_functions_(*function_arn)) {
    return Status("AccessDeniedException",
                  "Secrets Manager cannot invoke the specified Lambda function. Ensure that the "
                  "function policy grants access to the principal secretsmanager.amazonaws.com.");
  }
  const bool rotate_now = immediately.value_or(true);
  const std::string version_id = token.value_or(NewUuid());
  bool previous_unfinished = false;

  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.secrets().FindByArn(ScopeOf(secret), secret.arn));
    if (!fresh) return NotFound();
    if (fresh->purge_at_ms) return MarkedForDeletion();
    COFFER_ASSIGN_OR_RETURN(auto run, w.rotation().FindRun(fresh->id));
    COFFER_ASSIGN_OR_RETURN(auto pending, w.secrets().VersionIdForStage(fresh->id, kPending));
    COFFER_ASSIGN_OR_RETURN(auto current, w.secrets().VersionIdForStage(fresh->id, kCurrent));
    const bool unfinished = pending && pending != current && *pending != version_id;
    if (run || unfinished) {
      // Calling again retries the rotation that is under way now, as AWS does; the retry is
      // committed and the call still answers with the error.
      previous_unfinished = true;
      if (!run) return Status::Ok();
      run->next_attempt_ms = ctx.now;
      return w.rotation().PutRun(*run);
    }
    fresh->rotation_enabled = true;
    fresh->rotation_lambda_arn = function_arn;
    fresh->rotation_rules = rules_text;
    fresh->next_rotation_ms.reset();
    if (schedule) {
      fresh->next_rotation_ms = schedule->NextWindowStart(fresh->last_rotated_ms.value_or(ctx.now));
    }
    fresh->last_changed_ms = ctx.now;
    COFFER_RETURN_IF_ERROR(w.secrets().Update(*fresh));
    {
      // As AWS does, the rotation's version exists, labelled AWSPENDING, before createSecret
      // runs (the rotation templates check for it); a RotateImmediately=false test gets one too,
      // removed once testSecret has run.
      COFFER_ASSIGN_OR_RETURN(auto existing, w.secrets().GetVersion(fresh->id, version_id));
      if (!existing) {
        SecretVersionRow placeholder;
        placeholder.version_id = version_id;
        placeholder.created_ms = ctx.now;
        COFFER_RETURN_IF_ERROR(w.secrets().InsertVersion(fresh->id, placeholder));
      }
      COFFER_RETURN_IF_ERROR(w.secrets().SetStage(fresh->id, kPending, version_id));
    }
    RotationRunRow r;
    r.secret_id = fresh->id;
    r.secret_arn = fresh->arn;
    r.account = fresh->account;
    r.region = fresh->region;
    r.token = version_id;
    // RotateImmediately=false only checks the configuration with the testSecret step.
    r.mode = rotate_now ? "rotate" : "test";
    r.step = rotate_now ? "createSecret" : "testSecret";
    r.next_attempt_ms = ctx.now;
    r.started_ms = ctx.now;
    return w.rotation().PutRun(r);
  }));
  if (rotation_wake_) rotation_wake_();
  if (previous_unfinished) {
    return Status("InvalidRequestException",
                  "A previous rotation isn't complete. That rotation will be reattempted.");
  }
  json::object out{{"ARN", secret.arn}, {"Name", secret.name}};
  if (rotate_now) out["VersionId"] = version_id;
  return out;
}

// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CancelRotateSecret.html
Result<json::object> SecretsService::CancelRotateSecret(const RequestContext& ctx,
                                                        const json::object& body) {
  JsonInput in(body);
  auto secret_id = in.String("SecretId", {.required = true, .min_len = 1, .max_len = 2048});
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(SecretRow secret,
                          AuthorizedSecret(ctx, "secretsmanager:CancelRotateSecret", *secret_id));
  if (secret.purge_at_ms) return MarkedForDeletion();
  std::optional<std::string> pending;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.secrets().FindByArn(ScopeOf(secret), secret.arn));
    if (!fresh) return NotFound();
    // A rotation under way stops here; its AWSPENDING version stays for the operator to judge.
    COFFER_RETURN_IF_ERROR(w.rotation().DeleteRun(fresh->id));
    COFFER_ASSIGN_OR_RETURN(pending, w.secrets().VersionIdForStage(fresh->id, kPending));
    fresh->rotation_enabled = false;
    fresh->next_rotation_ms.reset();
    fresh->last_changed_ms = ctx.now;
    return w.secrets().Update(*fresh);
  }));
  json::object out{{"ARN", secret.arn}, {"Name", secret.name}};
  if (pending) out["VersionId"] = *pending;
  return out;
}

Result<int> SecretsService::PurgeExpired() {
  int purged = 0;
  COFFER_RETURN_IF_ERROR(store_->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto due, w.secrets().ListDueForPurge(clock_->NowMillis()));
    for (const auto& s : due) {
      COFFER_RETURN_IF_ERROR(w.secrets().Delete(s.id));
      ++purged;
    }
    return Status::Ok();
  }));
  return purged;
}

}  // namespace coffer::secrets
