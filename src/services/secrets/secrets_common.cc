#include "services/secrets/secrets_common.h"

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
#include "protocol/json_tags.h"
#include "protocol/page_token.h"
#include "services/secrets/random_password.h"
#include "services/secrets/rotation_rules.h"
#include "services/secrets/secret_filters.h"
#include "services/secrets/version_stages.h"

namespace coffer::secrets {

Status NotFound() {
  return Status(ErrorCode::kResourceNotFoundException,
                "Secrets Manager can't find the specified secret.");
}

Status MarkedDeleted() {
  return Status(ErrorCode::kInvalidRequestException,
                "You tried to perform the operation on a secret that's currently marked deleted.");
}

Status MarkedForDeletion() {
  return Status(ErrorCode::kInvalidRequestException,
                "You can't perform this operation on the secret because it was marked for "
                "deletion.");
}

json::value Epoch(EpochMillis ms) {
  if (ms % 1000 == 0) return json::value(ms / 1000);
  return json::value(static_cast<double>(ms) / 1000.0);
}

RotationRules RulesOf(const SecretRow& s) {
  return s.rotation_rules ? RotationRulesFromJson(*s.rotation_rules) : RotationRules{};
}

void CountAsRotation(SecretRow* s, EpochMillis now) {
  if (!s->rotation_enabled || !s->rotation_rules) return;
  s->last_rotated_ms = now;
  auto schedule = Schedule::Parse(RulesOf(*s));
  if (schedule.ok()) s->next_rotation_ms = schedule->NextWindowStart(now);
}

Scope ScopeOf(const SecretRow& s) { return Scope{s.account, s.region}; }

std::string ValueContext(const SecretRow& s, const std::string& version_id) {
  return "coffer/secretsmanager/v1\n" + s.account + "\n" + s.region + "\n" + s.arn + "\n" +
         version_id;
}

Result<SecretBytes> OpenValue(Keyring& keyring, const std::string& context,
                              const std::string& envelope) {
  auto plain = keyring.OpenValue(context, envelope);
  if (plain.ok()) return std::move(plain.value());
  if (Keyring::Unavailable(plain.status())) return plain.status();
  std::string why =
      plain.status().code() == ErrorCode::kDecryptionFailure ? "" : " " + plain.status().message();
  return Status(ErrorCode::kDecryptionFailure,
                "Secrets Manager can't decrypt the protected secret text using the provided KMS "
                "key." +
                    why);
}

Result<std::string> SealValue(Keyring& keyring, const KmsKeyRow& key, const std::string& context,
                              std::string_view plaintext) {
  auto sealed = keyring.SealValue(key, context, plaintext);
  if (sealed.ok()) return std::move(sealed.value());
  if (Keyring::Unavailable(sealed.status())) return sealed.status();
  return Status(ErrorCode::kEncryptionFailure,
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

Status InvalidSecretName() {
  return Status(ErrorCode::kValidationException,
                "Invalid name. Must be a valid name containing alphanumeric characters, or any of "
                "the following: -/_+=.@!");
}

SecretValue DecodeValue(JsonInput& in, Status* error) {
  SecretValue v;
  auto str = in.String("SecretString", {.sensitive = true});
  auto bin = in.String("SecretBinary", {.sensitive = true});
  if (str && bin) {
    *error = Status(ErrorCode::kInvalidParameterException,
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
      *error = Status(ErrorCode::kSerializationException, "SecretBinary must be base64-encoded.");
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
  // https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html: "aws:" is reserved.
  static const TagListFormat kSecretTags{
      .null_means_empty = true,
      .bad_key_size = Status(ErrorCode::kInvalidParameterException,
                             "A tag key must be between 1 and 128 characters long."),
      .bad_value_size = Status(ErrorCode::kInvalidParameterException,
                               "A tag value must be at most 256 characters long."),
      .reserved_prefix =
          Status(ErrorCode::kInvalidParameterException,
                 "Invalid tag key. Tag keys that start with 'aws:' are reserved for AWS use."),
  };
  const json::array* list = in.Array(member, required);
  if (list == nullptr) return Status::Ok();
  COFFER_ASSIGN_OR_RETURN(*out, DecodeTagList(list, kSecretTags));
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

Status RequireTokenWithValue(const std::optional<std::string>& token, const SecretValue& value) {
  if (value.present && !token) {
    return Status(ErrorCode::kInvalidRequestException,
                  "You must provide a ClientRequestToken value. We recommend a UUID-type value.");
  }
  return Status::Ok();
}

Result<StageMap> CurrentStages(StoreReader& r, int64_t secret_id,
                               std::vector<SecretVersionRow>* versions_out) {
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

std::string EncodeOffsetToken(size_t offset) {
  return EncodePageToken("coffer-page", std::to_string(offset));
}

Result<size_t> DecodeOffsetToken(const std::optional<std::string>& token) {
  auto position = DecodePageToken("coffer-page", token);
  const Status invalid(ErrorCode::kInvalidNextTokenException, "The NextToken value is not valid.");
  if (!position || (token && position->empty()) || position->size() > 12) return invalid;
  size_t offset = 0;
  for (char c : *position) {
    if (c < '0' || c > '9') return invalid;
    offset = offset * 10 + static_cast<size_t>(c - '0');
  }
  return offset;
}

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
  const Status invalid(ErrorCode::kInvalidNextTokenException, "The NextToken value is not valid.");
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
    if (!e.is_object())
      return Status(ErrorCode::kSerializationException, "Expected a Filter structure.");
    const auto& o = e.get_object();
    SecretFilter f;
    const auto* key = o.if_contains("Key");
    if (key && !key->is_null()) {
      if (!key->is_string())
        return Status(ErrorCode::kSerializationException, "Filter Key must be a string.");
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
        if (!v.is_string())
          return Status(ErrorCode::kSerializationException, "Filter values are strings.");
        f.values.emplace_back(v.get_string());
      }
    } else if (values && !values->is_null()) {
      return Status(ErrorCode::kSerializationException, "Filter Values must be a list.");
    }
    if (f.values.empty() || f.values.size() > 10) {
      return Status(ErrorCode::kInvalidParameterException,
                    "Filter " + f.key + " must have between 1 and 10 values.");
    }
    for (const auto& v : f.values) {
      if (!IsValidFilterValue(v)) {
        return Status(ErrorCode::kInvalidParameterException,
                      "Invalid filter value '" + v +
                          "'. Values can contain letters, digits, "
                          "spaces and :_@/+=.-! and be at most 512 characters long.");
      }
    }
    filters.push_back(std::move(f));
  }
  return filters;
}

std::string MissingSecretResource(const Scope& scope, const std::string& secret_id) {
  if (secret_id.rfind("arn:", 0) == 0) return secret_id;
  return "arn:aws:secretsmanager:" + scope.region + ":" + scope.account + ":secret:" + secret_id;
}

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
    if (!plain.ok() && Keyring::Unavailable(plain.status())) return plain.status();
    bool same = plain.ok() && existing->binary == value.binary &&
                crypto::ConstantTimeEquals(plain->Reveal(), value.bytes.Reveal());
    if (!same) {
      return Status(ErrorCode::kResourceExistsException,
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
      return Status(ErrorCode::kLimitExceededException,
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

Result<std::shared_ptr<const policy::Policy>> ParseResourcePolicy(const std::string& text) {
  if (text.empty() || text.size() > kMaxResourcePolicyChars) {
    return Status(ErrorCode::kInvalidParameterException,
                  "1 validation error detected: Value at 'resourcePolicy' failed to satisfy "
                  "constraint: Member must have length between 1 and 20480");
  }
  auto parsed = policy::Policy::Parse(text, policy::PolicyKind::kResource);
  if (!parsed.ok()) {
    return Status(ErrorCode::kMalformedPolicyDocumentException,
                  "This resource policy contains a syntax error: " + parsed.status().message());
  }
  return parsed;
}

}  // namespace coffer::secrets
