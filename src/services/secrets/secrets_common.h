// What Secrets Manager's operations share: AWS's quotas, the errors every operation can return,
// sealing and opening values, input decoding (values, tags, filters), resolving a SecretId,
// staging labels in the store, the JSON shapes of secrets and versions, and ListSecrets'
// pages. Internal to services/secrets.
#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/scope.h"
#include "core/secret_bytes.h"
#include "core/status.h"
#include "core/tags.h"
#include "keyring/keyring.h"
#include "policy/policy.h"
#include "protocol/json_input.h"
#include "services/secrets/rotation_rules.h"
#include "services/secrets/secret_filters.h"
#include "services/secrets/version_stages.h"
#include "store/store.h"

namespace coffer::secrets {
namespace json = boost::json;

// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
inline constexpr size_t kMaxValueBytes = 65536;
inline constexpr size_t kMaxVersions = 100;
inline constexpr EpochMillis kYoungVersionMs = 24LL * 3600 * 1000;
inline constexpr size_t kMaxTags = 50;
inline constexpr int64_t kDefaultRecoveryDays = 30;
// What ListSecretVersionIds reports for versions sealed under the AWS-managed key.
inline constexpr char kDefaultKeyLabel[] = "DefaultEncryptionKey";

Status NotFound();

Status MarkedDeleted();

Status MarkedForDeletion();

json::value Epoch(EpochMillis ms);

// The stored RotationRules of a secret, as the schedule reads them.
RotationRules RulesOf(const SecretRow& s);

// A secret whose value changes by hand counts as rotated: its schedule restarts from now.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
void CountAsRotation(SecretRow* s, EpochMillis now);

// The account and region a secret lives in (a caller of another account may name it by ARN).
Scope ScopeOf(const SecretRow& s);

// The AAD of a secret version: moving an envelope to another secret or version breaks it.
std::string ValueContext(const SecretRow& s, const std::string& version_id);

// Secrets Manager reports every key problem on the read path as DecryptionFailure and on the
// write path as EncryptionFailure, saying why.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
Result<SecretBytes> OpenValue(Keyring& keyring, const std::string& context,
                              const std::string& envelope);

Result<std::string> SealValue(Keyring& keyring, const KmsKeyRow& key, const std::string& context,
                              std::string_view plaintext);

bool IsValidSecretName(const std::string& name);

// AWS answers ValidationException for a name outside the allowed characters, on creation and on
// every read or write that names a secret (seen in Terraform's and the CLI's error output).
Status InvalidSecretName();

struct SecretValue {
  bool present = false;
  bool binary = false;
  SecretBytes bytes;
};

SecretValue DecodeValue(JsonInput& in, Status* error);

Status DecodeTags(JsonInput& in, const char* member, bool required, Tags* out);

json::array TagsJson(const Tags& tags);

bool EndsLikeArnSuffix(const std::string& name);

// SecretId resolution: full ARN, then name, then partial ARN (an ARN without the "-xxxxxx"
// suffix) that must identify exactly one secret.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen
Result<SecretRow> ResolveSecret(StoreReader& r, const Scope& caller_scope, const std::string& id);

// Raw HTTP callers must send the token the SDKs fill in themselves.
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
Status RequireTokenWithValue(const std::optional<std::string>& token, const SecretValue& value);

Result<StageMap> CurrentStages(StoreReader& r, int64_t secret_id,
                               std::vector<SecretVersionRow>* versions_out = nullptr);

Status ApplyStageChanges(StoreWriter& w, int64_t secret_id, const std::vector<StageChange>& c);

json::object VersionsToStages(const std::vector<SecretVersionRow>& versions);

// A secret's metadata as DescribeSecret and ListSecrets return it: only members with a value,
// KmsKeyId omitted for the AWS-managed key.
json::object SecretMetadata(const SecretRow& s, const std::vector<SecretVersionRow>& versions,
                            const char* versions_member);

json::array StagesJson(const std::vector<std::string>& stages);

// ListSecretVersionIds' page token: the offset of the next version (a secret has at most about
// a hundred).
std::string EncodeOffsetToken(size_t offset);

Result<size_t> DecodeOffsetToken(const std::optional<std::string>& token);

// A ListSecrets page token: where the page stopped, in the order it was listed in. Its scope
// names the order, the direction and IncludePlannedDeletion, so a token used with others is
// refused instead of skipping or repeating secrets.
std::string SecretCursorScope(const SecretPageQuery& q);

std::string EncodeSecretCursor(const SecretPageQuery& q, const SecretCursor& c);

Result<std::optional<SecretCursor>> DecodeSecretCursor(const std::optional<std::string>& token,
                                                       const SecretPageQuery& q);

SecretCursor CursorAt(const SecretRow& s, SecretOrder order);

// At most this many secrets are read for one page. A filter that matches few secrets then ends
// a page early with a NextToken (as AWS may: a page can be short, even empty, and still have a
// next one), so no page costs more than this whatever the number of secrets.
inline constexpr size_t kMaxSecretsReadPerPage = 2000;

struct SecretPage {
  std::vector<SecretRow> rows;
  std::optional<SecretCursor> next;  // where the next page starts, if there may be one
};

// Reads secrets in q's order from q.after, keeping those that match `filters`, until `limit` are
// kept and one more match shows there is a next page, or the secrets end, or the read budget is
// spent.
Result<SecretPage> ReadSecretPage(StoreReader& r, const Scope& scope, SecretPageQuery q,
                                  const std::vector<SecretFilter>& filters, size_t limit);

Result<std::vector<SecretFilter>> DecodeFilters(JsonInput& in);

// The resource a request names when no secret answers to it: AWS checks permissions against
// the name before it reports that the secret does not exist.
std::string MissingSecretResource(const Scope& scope, const std::string& secret_id);

inline constexpr size_t kMaxResourcePolicyChars = 20480;
// Adds a version inside a write transaction, with PutSecretValue's idempotency and stage rules,
// then prunes deprecated versions beyond the quota. `out_stages` receives the version's stages.
Status AddVersion(StoreWriter& w, Keyring& keyring, SecretRow& secret, const KmsKeyRow& key,
                  const std::string& version_id, const SecretValue& value,
                  const std::string& envelope, const std::vector<std::string>& requested_stages,
                  EpochMillis now, std::vector<std::string>* out_stages, bool* created);

// Parses a resource policy as Secrets Manager validates it.
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_resource-policies.html
Result<std::shared_ptr<const policy::Policy>> ParseResourcePolicy(const std::string& text);

}  // namespace coffer::secrets
