#include "services/iam/iam_service.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <utility>

#include "auth/credential_registry.h"
#include "auth/sigv4.h"
#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "policy/policy.h"
#include "protocol/json_input.h"
#include "protocol/page_token.h"
#include "protocol/xml.h"
#include "services/sts/sts_service.h"

namespace coffer::iam {

struct EntityKind {
  const char* kind;            // the store's kind: "user", "role" or "group"
  const char* title;           // "User": spells action names (iam:PutUserPolicy) and elements
  const char* name_param;      // "UserName"
  size_t max_name;             // longest name the model allows for this kind
  const char* id_prefix;       // unique id prefix (core/ids.h)
  size_t inline_quota;         // aggregate size of the inline policies, non-whitespace chars
  const char* attached_quota;  // the quota AWS names when attachments run out
};

namespace {

using Context = ConditionKeys;

// Quotas are AWS's defaults.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
constexpr EntityKind kUser{"user", "User", "UserName", 64, "AIDA", 2048, "PoliciesPerUser"};
constexpr EntityKind kRole{"role", "Role", "RoleName", 64, "AROA", 10240, "PoliciesPerRole"};
constexpr EntityKind kGroup{"group", "Group", "GroupName", 128, "AGPA", 5120, "PoliciesPerGroup"};
constexpr size_t kMaxTags = 50;
constexpr size_t kMaxAccessKeysPerUser = 2;
constexpr size_t kMaxPolicyVersions = 5;
constexpr size_t kMaxAttachedPolicies = 10;
constexpr size_t kMaxGroupsPerUser = 10;
constexpr size_t kManagedPolicyQuota = 6144;
constexpr size_t kTrustPolicyQuota = 2048;
constexpr size_t kMaxDocument = 131072;
constexpr int64_t kDefaultMaxItems = 100;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return AsciiLower(a) == AsciiLower(b);
}

EpochMillis Now(const RequestContext& ctx, const Clock* clock) {
  return ctx.now != 0 ? ctx.now : clock->NowMillis();
}

// ---- input validation -------------------------------------------------------------------
// The model's constraints (botocore data/iam/2010-05-08/service-2.json), reported the way AWS's
// query services report them.

enum class Pattern {
  kAny,
  kName,         // [\w+=,.@-]+
  kPath,         // (\u002F)|(\u002F[\u0021-\u007E]+\u002F)
  kPathPrefix,   // \u002F[\u0021-\u007F]*
  kPolicyPath,   // ((/[A-Za-z0-9\.,\+@=_-]+)*)/
  kDocument,     // [\u0009\u000A\u000D\u0020-\u00FF]+
  kWord,         // [\w]+
  kVersionId,    // v[1-9][0-9]*(\.[A-Za-z0-9-]*)?
  kPrintable,    // [\u0020-\u00FF]+
  kTagKey,       // [\p{L}\p{Z}\p{N}_.:/=+\-@]+
  kTagValue,     // [\p{L}\p{Z}\p{N}_.:/=+\-@]*
  kDescription,  // [\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*
};

const char* PatternText(Pattern p) {
  switch (p) {
    case Pattern::kName:
      return "[\\w+=,.@-]+";
    case Pattern::kPath:
      return "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)";
    case Pattern::kPathPrefix:
      return "\\u002F[\\u0021-\\u007F]*";
    case Pattern::kPolicyPath:
      return "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/";
    case Pattern::kDocument:
      return "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";
    case Pattern::kWord:
      return "[\\w]+";
    case Pattern::kVersionId:
      return "v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?";
    case Pattern::kPrintable:
      return "[\\u0020-\\u00FF]+";
    case Pattern::kTagKey:
      return "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+";
    case Pattern::kTagValue:
      return "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*";
    case Pattern::kDescription:
      return "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*";
    case Pattern::kAny:
      break;
  }
  return "";
}

bool IsWordChar(unsigned char c) { return std::isalnum(c) || c == '_'; }
bool IsNameChar(unsigned char c) {
  return IsWordChar(c) || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
}
// Bytes of multi-byte UTF-8 characters count as letters: the model's Unicode classes cover them.
bool IsTagChar(unsigned char c) {
  return std::isalnum(c) || c >= 0x80 || c == ' ' || c == '_' || c == '.' || c == ':' || c == '/' ||
         c == '=' || c == '+' || c == '-' || c == '@';
}

bool Matches(Pattern p, std::string_view s) {
  auto all = [&s](auto pred) {
    return std::all_of(s.begin(), s.end(),
                       [&](char c) { return pred(static_cast<unsigned char>(c)); });
  };
  switch (p) {
    case Pattern::kAny:
      return true;
    case Pattern::kName:
      return !s.empty() && all(IsNameChar);
    case Pattern::kPath:
      return s == "/" || (s.size() >= 3 && s.front() == '/' && s.back() == '/' &&
                          all([](unsigned char c) { return c >= 0x21 && c <= 0x7e; }));
    case Pattern::kPathPrefix:
      return !s.empty() && s.front() == '/' &&
             all([](unsigned char c) { return c >= 0x21 && c <= 0x7f; });
    case Pattern::kPolicyPath: {
      if (s.empty() || s.front() != '/' || s.back() != '/') return false;
      if (s.find("//") != std::string_view::npos) return false;
      return all([](unsigned char c) { return c == '/' || IsNameChar(c); });
    }
    case Pattern::kDocument:
      return !s.empty() &&
             all([](unsigned char c) { return c == '\t' || c == '\n' || c == '\r' || c >= 0x20; });
    case Pattern::kWord:
      return !s.empty() && all(IsWordChar);
    case Pattern::kVersionId: {
      if (s.size() < 2 || s[0] != 'v' || s[1] < '1' || s[1] > '9') return false;
      size_t i = 2;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
      if (i == s.size()) return true;
      if (s[i] != '.') return false;
      for (++i; i < s.size(); ++i) {
        if (!std::isalnum(static_cast<unsigned char>(s[i])) && s[i] != '-') return false;
      }
      return true;
    }
    case Pattern::kPrintable:
      return !s.empty() && all([](unsigned char c) { return c >= 0x20; });
    case Pattern::kTagKey:
      return !s.empty() && all(IsTagChar);
    case Pattern::kTagValue:
      return all(IsTagChar);
    case Pattern::kDescription:
      return all([](unsigned char c) {
        return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0x7e) || c >= 0x80;
      });
  }
  return false;
}

struct Rule {
  bool required = false;
  size_t min_len = 0;
  size_t max_len = 0;  // 0: unbounded
  Pattern pattern = Pattern::kAny;
  bool echo = true;  // policy documents are left out of messages: too long to help anyone
};

Rule NameRule(size_t max_len, bool required = true) {
  return {.required = required, .min_len = 1, .max_len = max_len, .pattern = Pattern::kName};
}
Rule DocumentRule(bool required = true) {
  return {.required = required,
          .min_len = 1,
          .max_len = kMaxDocument,
          .pattern = Pattern::kDocument,
          .echo = false};
}
Rule ArnRule(bool required = true) {
  return {.required = required, .min_len = 20, .max_len = 2048};
}

// Reads the query parameters of one request, collecting the first constraint violation.
class QueryInput {
 public:
  explicit QueryInput(const std::map<std::string, std::string>& params) : params_(params) {}

  std::optional<std::string> String(const std::string& name, const Rule& rule) {
    auto it = params_.find(name);
    if (it == params_.end()) {
      if (rule.required) Fail("Value null at '" + LowerFirst(name) + "'", "not be null");
      return std::nullopt;
    }
    Check(LowerFirst(name), it->second, rule);
    return it->second;
  }

  std::optional<int64_t> Int(const std::string& name, int64_t min, int64_t max) {
    auto it = params_.find(name);
    if (it == params_.end()) return std::nullopt;
    const std::string& text = it->second;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    const std::string at = "Value '" + text + "' at '" + LowerFirst(name) + "'";
    if (ec != std::errc() || end != text.data() + text.size()) {
      Fail(at, "be a number");
      return std::nullopt;
    }
    if (v < min) Fail(at, "have value greater than or equal to " + std::to_string(min));
    if (v > max) Fail(at, "have value less than or equal to " + std::to_string(max));
    return v;
  }

  std::optional<bool> Bool(const std::string& name) {
    auto it = params_.find(name);
    if (it == params_.end()) return std::nullopt;
    std::string v = AsciiLower(it->second);
    if (v == "true") return true;
    if (v == "false") return false;
    Fail("Value '" + it->second + "' at '" + LowerFirst(name) + "'", "be a boolean");
    return std::nullopt;
  }

  // "<name>.member.1", "<name>.member.2", ... up to the first gap. A list sent empty arrives as
  // "<name>=" and is present but has no members.
  std::optional<std::vector<std::string>> List(const std::string& name, const Rule& member,
                                               bool required, size_t max_members = 0) {
    std::vector<std::string> out;
    for (size_t i = 1;; ++i) {
      auto it = params_.find(name + ".member." + std::to_string(i));
      if (it == params_.end()) break;
      Check(LowerFirst(name) + "." + std::to_string(i) + ".member", it->second, member);
      out.push_back(it->second);
    }
    if (out.empty() && params_.find(name) == params_.end()) {
      if (required) Fail("Value null at '" + LowerFirst(name) + "'", "not be null");
      return std::nullopt;
    }
    if (max_members != 0 && out.size() > max_members) {
      Fail("Value at '" + LowerFirst(name) + "'",
           "have length less than or equal to " + std::to_string(max_members));
    }
    return out;
  }

  // Tags.member.N.Key / Tags.member.N.Value.
  std::optional<Tags> TagList(const std::string& name, bool required) {
    Tags out;
    for (size_t i = 1;; ++i) {
      const std::string base = name + ".member." + std::to_string(i) + ".";
      auto key = params_.find(base + "Key");
      auto value = params_.find(base + "Value");
      if (key == params_.end() && value == params_.end()) break;
      const std::string member = LowerFirst(name) + "." + std::to_string(i) + ".member.";
      if (key == params_.end() || value == params_.end()) {
        Fail("Value null at '" + member + (key == params_.end() ? "key" : "value") + "'",
             "not be null");
        return std::nullopt;
      }
      Check(member + "key", key->second,
            {.min_len = 1, .max_len = 128, .pattern = Pattern::kTagKey});
      Check(member + "value", value->second, {.max_len = 256, .pattern = Pattern::kTagValue});
      out.emplace_back(key->second, value->second);
    }
    if (out.empty() && params_.find(name) == params_.end()) {
      if (required) Fail("Value null at '" + LowerFirst(name) + "'", "not be null");
      return std::nullopt;
    }
    if (out.size() > kMaxTags) {
      Fail("Value at '" + LowerFirst(name) + "'",
           "have length less than or equal to " + std::to_string(kMaxTags));
    }
    return out;
  }

  Status Finish() const { return error_ ? *error_ : Status::Ok(); }

 private:
  void Check(const std::string& member, const std::string& value, const Rule& rule) {
    const std::string at =
        rule.echo ? "Value '" + value + "' at '" + member + "'" : "Value at '" + member + "'";
    if (value.size() < rule.min_len) {
      Fail(at, "have length greater than or equal to " + std::to_string(rule.min_len));
    } else if (rule.max_len != 0 && value.size() > rule.max_len) {
      Fail(at, "have length less than or equal to " + std::to_string(rule.max_len));
    } else if (!value.empty() && !Matches(rule.pattern, value)) {
      Fail(at, std::string("satisfy regular expression pattern: ") + PatternText(rule.pattern));
    }
  }
  void Fail(const std::string& at, const std::string& constraint) {
    if (error_) return;
    error_ =
        Status("ValidationError", "1 validation error detected: " + at +
                                      " failed to satisfy constraint: Member must " + constraint);
  }

  const std::map<std::string, std::string>& params_;
  std::optional<Status> error_;
};

Status EnumError(const char* member, const std::string& value, const char* values) {
  return Status("ValidationError", "1 validation error detected: Value '" + value + "' at '" +
                                       member +
                                       "' failed to satisfy constraint: Member must satisfy "
                                       "enum value set: " +
                                       values);
}

Status InvalidInput(std::string message) { return Status("InvalidInput", std::move(message)); }

// ---- pagination ---------------------------------------------------------------------------
// Markers are opaque to clients: base64 of "iam:" and either the last name returned (lists the
// store pages by name) or the offset of the next item (lists built in memory).

struct PageInput {
  std::optional<std::string> marker;
  size_t max_items = kDefaultMaxItems;
};

PageInput ReadPage(QueryInput& in) {
  PageInput page;
  page.marker = in.String("Marker", {.min_len = 1, .max_len = 320, .pattern = Pattern::kPrintable});
  if (auto max = in.Int("MaxItems", 1, 1000)) page.max_items = static_cast<size_t>(*max);
  return page;
}

std::string EncodeMarker(std::string_view position) { return EncodePageToken("iam", position); }

Result<std::string> DecodeMarker(const std::optional<std::string>& marker) {
  auto position = DecodePageToken("iam", marker);
  if (!position) return InvalidInput("Invalid Marker.");
  return std::move(*position);
}

struct PageEnd {
  bool truncated = false;
  std::string marker;
};

std::string PageEndXml(const PageEnd& end) {
  if (!end.truncated) return "<IsTruncated>false</IsTruncated>";
  return "<IsTruncated>true</IsTruncated><Marker>" + XmlEscape(end.marker) + "</Marker>";
}

// Keeps the page of `items` the marker and MaxItems select.
template <typename T>
Result<PageEnd> SliceByOffset(std::vector<T>* items, const PageInput& page) {
  COFFER_ASSIGN_OR_RETURN(std::string position, DecodeMarker(page.marker));
  size_t offset = 0;
  if (!position.empty()) {
    auto [end, ec] = std::from_chars(position.data(), position.data() + position.size(), offset);
    if (ec != std::errc() || end != position.data() + position.size()) {
      return InvalidInput("Invalid Marker.");
    }
  }
  PageEnd out;
  if (offset >= items->size()) {
    items->clear();
    return out;
  }
  items->erase(items->begin(), items->begin() + static_cast<std::ptrdiff_t>(offset));
  if (items->size() > page.max_items) {
    items->erase(items->begin() + static_cast<std::ptrdiff_t>(page.max_items), items->end());
    out.truncated = true;
    out.marker = EncodeMarker(std::to_string(offset + page.max_items));
  }
  return out;
}

// ---- XML ------------------------------------------------------------------------------------

std::string X(std::string_view s) { return XmlEscape(s); }

void Add(std::string* out, std::string_view element, std::string_view text) {
  *out += '<';
  *out += element;
  *out += '>';
  *out += X(text);
  *out += "</";
  *out += element;
  *out += '>';
}

std::string Wrap(std::string_view element, std::string_view inner) {
  return "<" + std::string(element) + ">" + std::string(inner) + "</" + std::string(element) + ">";
}

std::string ResultXml(std::string_view action, std::string_view inner) {
  return Wrap(std::string(action) + "Result", inner);
}

std::string Date(EpochMillis ms) { return FormatIso8601(ms); }

// IAM returns policy documents URL-encoded (RFC 3986); SDKs decode them.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html
std::string EncodedDocument(std::string_view document) {
  return UriEncode(document, /*keep_slash=*/false);
}

std::string TagsXml(const Tags& tags) {
  std::string out = "<Tags>";
  for (const auto& [key, value] : tags) {
    out += "<member>";
    Add(&out, "Key", key);
    Add(&out, "Value", value);
    out += "</member>";
  }
  return out + "</Tags>";
}

std::string UserXml(const IamEntityRow& u, bool with_tags) {
  std::string out;
  Add(&out, "Path", u.path);
  Add(&out, "UserName", u.name);
  Add(&out, "UserId", u.id);
  Add(&out, "Arn", u.arn);
  Add(&out, "CreateDate", Date(u.created_ms));
  if (with_tags && !u.tags.empty()) out += TagsXml(u.tags);
  return out;
}

std::string RoleXml(const IamEntityRow& r, bool with_tags) {
  std::string out;
  Add(&out, "Path", r.path);
  Add(&out, "RoleName", r.name);
  Add(&out, "RoleId", r.id);
  Add(&out, "Arn", r.arn);
  Add(&out, "CreateDate", Date(r.created_ms));
  out += "<AssumeRolePolicyDocument>" + EncodedDocument(r.trust_policy) +
         "</AssumeRolePolicyDocument>";
  if (!r.description.empty()) Add(&out, "Description", r.description);
  Add(&out, "MaxSessionDuration", std::to_string(r.max_session_seconds));
  if (with_tags && !r.tags.empty()) out += TagsXml(r.tags);
  return out;
}

std::string GroupXml(const IamEntityRow& g) {
  std::string out;
  Add(&out, "Path", g.path);
  Add(&out, "GroupName", g.name);
  Add(&out, "GroupId", g.id);
  Add(&out, "Arn", g.arn);
  Add(&out, "CreateDate", Date(g.created_ms));
  return out;
}

std::string EntityXml(const EntityKind& kind, const IamEntityRow& row) {
  if (&kind == &kUser) return UserXml(row, /*with_tags=*/false);
  if (&kind == &kRole) return RoleXml(row, /*with_tags=*/false);
  return GroupXml(row);
}

std::string VersionId(int64_t version) { return "v" + std::to_string(version); }

std::string PolicyXml(const IamPolicyRow& p, int64_t attachments, bool with_description) {
  std::string out;
  Add(&out, "PolicyName", p.name);
  Add(&out, "PolicyId", p.id);
  Add(&out, "Arn", p.arn);
  Add(&out, "Path", p.path);
  Add(&out, "DefaultVersionId", VersionId(p.default_version));
  Add(&out, "AttachmentCount", std::to_string(attachments));
  Add(&out, "PermissionsBoundaryUsageCount", "0");
  Add(&out, "IsAttachable", "true");
  if (with_description && !p.description.empty()) Add(&out, "Description", p.description);
  Add(&out, "CreateDate", Date(p.created_ms));
  Add(&out, "UpdateDate", Date(p.updated_ms));
  return out;
}

// ---- ARNs -----------------------------------------------------------------------------------
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns

std::string RootArn(const std::string& account) { return "arn:aws:iam::" + account + ":root"; }

std::string EntityArn(const std::string& account, const EntityKind& kind, const std::string& path,
                      const std::string& name) {
  return "arn:aws:iam::" + account + ":" + kind.kind + path + name;
}

std::string ManagedPolicyArn(const std::string& account, const std::string& path,
                             const std::string& name) {
  return "arn:aws:iam::" + account + ":policy" + path + name;
}

struct PolicyArnParts {
  std::string account;
  std::string path;
  std::string name;
};

std::optional<PolicyArnParts> ParsePolicyArn(const std::string& text) {
  auto arn = ParseArn(text);
  if (!arn || arn->service != "iam" || !arn->region.empty() || arn->account.empty() ||
      arn->resource.rfind("policy/", 0) != 0) {
    return std::nullopt;
  }
  std::string rest = arn->resource.substr(6);  // "/<path...>/<name>"
  size_t slash = rest.rfind('/');
  PolicyArnParts parts{arn->account, rest.substr(0, slash + 1), rest.substr(slash + 1)};
  if (parts.name.empty()) return std::nullopt;
  return parts;
}

Status NotValidArn(const std::string& arn) { return InvalidInput("ARN " + arn + " is not valid."); }

Status PolicyNotFound(const std::string& arn) {
  std::string message = "Policy " + arn + " does not exist or is not attachable.";
  auto parts = ParsePolicyArn(arn);
  if (parts && parts->account == "aws") {
    message +=
        " coffer has no AWS managed policies: create a customer managed policy with the "
        "document you need and use its ARN.";
  }
  return Status("NoSuchEntity", message);
}

// ---- entities -------------------------------------------------------------------------------

Status NoSuchEntity(const EntityKind& kind, const std::string& name) {
  return Status("NoSuchEntity",
                std::string("The ") + kind.kind + " with name " + name + " cannot be found.");
}

Status NoBoundaries() {
  return InvalidInput(
      "coffer does not support permissions boundaries; create the entity without "
      "PermissionsBoundary.");
}

AuthzCheck Check(std::string action, std::string resource) {
  AuthzCheck check;
  check.action = std::move(action);
  check.resource = std::move(resource);
  return check;
}

// aws:ResourceTag/<key> for users and roles, the IAM resources that support it.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_iam-tags.html
void AddResourceTagContext(const IamEntityRow& row, ConditionKeys* context) {
  if (row.kind != "group") AddResourceTagKeys(row.tags, "", context);
}

// IAM tag keys are case-insensitive with their case kept: "department" replaces "Department".
// https://docs.aws.amazon.com/IAM/latest/UserGuide/id_tags.html#case-sensitivity
void PutTagIgnoreCase(Tags* tags, const std::string& key, const std::string& value) {
  for (auto& tag : *tags) {
    if (EqualsIgnoreCase(tag.first, key)) {
      tag = {key, value};
      return;
    }
  }
  tags->emplace_back(key, value);
}

Status CheckRequestTags(const Tags& tags) {
  for (size_t i = 0; i < tags.size(); ++i) {
    if (AsciiLower(tags[i].first).rfind("aws:", 0) == 0) {
      return InvalidInput("Tag keys beginning with 'aws:' are reserved for AWS use.");
    }
    for (size_t j = 0; j < i; ++j) {
      if (EqualsIgnoreCase(tags[i].first, tags[j].first)) {
        return InvalidInput(
            "Duplicate tag keys found. Please note that Tag keys are case "
            "insensitive.");
      }
    }
  }
  return Status::Ok();
}

Result<IamEntityRow> FreshEntity(StoreReader& r, const std::string& account, const EntityKind& kind,
                                 const std::string& name) {
  COFFER_ASSIGN_OR_RETURN(auto row, r.iam().FindEntity(account, kind.kind, name));
  if (!row) return NoSuchEntity(kind, name);
  return std::move(*row);
}

Status InsertNewEntity(StoreWriter& w, const EntityKind& kind, const IamEntityRow& row) {
  COFFER_ASSIGN_OR_RETURN(auto existing, w.iam().FindEntity(row.account, kind.kind, row.name));
  if (existing) {
    return Status("EntityAlreadyExists",
                  std::string(kind.title) + " with name " + row.name + " already exists.");
  }
  return w.iam().InsertEntity(row);
}

IamEntityRow NewEntity(const RequestContext& ctx, const EntityKind& kind, const std::string& name,
                       const std::string& path, EpochMillis now) {
  IamEntityRow row;
  row.kind = kind.kind;
  row.account = ctx.scope.account;
  row.name = name;
  row.id = NewIamId(kind.id_prefix);
  row.path = path;
  row.arn = EntityArn(ctx.scope.account, kind, path, name);
  row.created_ms = now;
  return row;
}

Status DeleteConflict(const std::string& message) { return Status("DeleteConflict", message); }

// AWS refuses to delete an entity that still has subordinate things; the caller removes them.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
Status CheckNothingAttached(StoreReader& r, const EntityKind& kind, const IamEntityRow& row) {
  COFFER_ASSIGN_OR_RETURN(auto inline_policies,
                          r.iam().ListInlinePolicies(row.account, kind.kind, row.name));
  if (!inline_policies.empty()) {
    return DeleteConflict("Cannot delete entity, must delete policies first.");
  }
  COFFER_ASSIGN_OR_RETURN(auto attached,
                          r.iam().ListAttachedPolicies(row.account, kind.kind, row.name));
  if (!attached.empty()) {
    return DeleteConflict("Cannot delete entity, must detach all policies first.");
  }
  return Status::Ok();
}

// ---- policy documents -----------------------------------------------------------------------

// IAM counts policy sizes in characters and leaves white space out.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
size_t PolicySize(std::string_view document) {
  size_t n = 0;
  for (char ch : document) {
    auto c = static_cast<unsigned char>(ch);
    if ((c & 0xc0) == 0x80) continue;  // UTF-8 continuation byte
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    ++n;
  }
  return n;
}

Result<std::shared_ptr<const policy::Policy>> ParseDocument(const std::string& document,
                                                            policy::PolicyKind kind) {
  auto parsed = policy::Policy::Parse(document, kind);
  if (!parsed.ok()) return Status("MalformedPolicyDocument", parsed.status().message());
  return std::move(parsed.value());
}

Status CheckManagedDocument(const std::string& document) {
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseDocument(document, policy::PolicyKind::kIdentity));
  if (PolicySize(document) > kManagedPolicyQuota) {
    return Status("LimitExceeded",
                  "Cannot exceed quota for PolicySize: " + std::to_string(kManagedPolicyQuota));
  }
  return Status::Ok();
}

Status CheckTrustDocument(const std::string& document) {
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseDocument(document, policy::PolicyKind::kTrust));
  if (PolicySize(document) > kTrustPolicyQuota) {
    return Status("LimitExceeded",
                  "Cannot exceed quota for ACLSizePerRole: " + std::to_string(kTrustPolicyQuota));
  }
  return Status::Ok();
}

// "v3" -> 3; nullopt for a version id coffer never issues (AWS allows a ".suffix").
std::optional<int64_t> ParseVersionId(const std::string& id) {
  if (id.size() < 2 || id[0] != 'v') return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), v);
  if (ec != std::errc() || end != id.data() + id.size()) return std::nullopt;
  return v;
}

Status VersionNotFound(const std::string& arn, const std::string& version_id) {
  return Status("NoSuchEntity", "Policy " + arn + " version " + version_id +
                                    " does not exist or is not attachable.");
}

// Policy names are unique in an account whatever their path, and case-insensitively.
// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
Result<bool> PolicyNameTaken(StoreReader& r, const std::string& account, const std::string& name) {
  std::string after;
  for (;;) {
    COFFER_ASSIGN_OR_RETURN(auto page, r.iam().ListManagedPolicies(account, "", after, 1000));
    for (const auto& p : page) {
      if (EqualsIgnoreCase(p.name, name)) return true;
    }
    if (page.size() < 1000) return false;
    after = page.back().name;
  }
}

// ---- the policy simulator -------------------------------------------------------------------

struct SimulatedPolicy {
  std::shared_ptr<const policy::Policy> policy;
  std::string source_id;    // "PolicyInputList.1", a policy name
  std::string source_type;  // user, group, role, user-managed, resource, none
};

struct Simulation {
  std::vector<SimulatedPolicy> identity;
  std::vector<SimulatedPolicy> boundaries;
  std::optional<SimulatedPolicy> resource_policy;
  std::string resource_account;
  std::vector<std::string> actions;
  std::vector<std::string> resources;
  std::string caller_arn;
  Context context;
  PageInput page;
};

Result<std::vector<SimulatedPolicy>> ParseInputPolicies(const std::vector<std::string>& documents,
                                                        const std::string& list_name) {
  std::vector<SimulatedPolicy> out;
  for (size_t i = 0; i < documents.size(); ++i) {
    const std::string id = list_name + "." + std::to_string(i + 1);
    auto parsed = policy::Policy::Parse(documents[i], policy::PolicyKind::kIdentity);
    if (!parsed.ok()) {
      return Status("MalformedPolicyDocument", id + ": " + parsed.status().message());
    }
    out.push_back({std::move(parsed.value()), id, "none"});
  }
  return out;
}

// The inputs SimulateCustomPolicy and SimulatePrincipalPolicy share.
Status ReadSimulation(QueryInput& in, bool policies_required, Simulation* sim) {
  auto documents = in.List("PolicyInputList", DocumentRule(), policies_required);
  auto boundaries = in.List("PermissionsBoundaryPolicyInputList", DocumentRule(), false);
  auto actions = in.List("ActionNames", {.min_len = 3, .max_len = 128}, true);
  auto resources = in.List("ResourceArns", {.min_len = 1, .max_len = 2048}, false);
  auto resource_policy = in.String("ResourcePolicy", DocumentRule(false));
  auto owner = in.String("ResourceOwner", {.min_len = 1, .max_len = 2048});
  auto caller = in.String("CallerArn", {.min_len = 1, .max_len = 2048});
  (void)in.String("ResourceHandlingOption", {.min_len = 1, .max_len = 64});
  sim->page = ReadPage(in);
  // ContextEntries.member.N.{ContextKeyName, ContextKeyValues.member.M, ContextKeyType}
  for (size_t i = 1;; ++i) {
    const std::string base = "ContextEntries.member." + std::to_string(i) + ".";
    auto name = in.String(base + "ContextKeyName", {.min_len = 5, .max_len = 256});
    if (!name) break;
    auto values = in.List(base + "ContextKeyValues", {}, false);
    (void)in.String(base + "ContextKeyType", {});
    sim->context[AsciiLower(*name)] = values.value_or(std::vector<std::string>{});
  }
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (documents) {
    COFFER_ASSIGN_OR_RETURN(sim->identity, ParseInputPolicies(*documents, "PolicyInputList"));
  }
  if (boundaries) {
    COFFER_ASSIGN_OR_RETURN(sim->boundaries,
                            ParseInputPolicies(*boundaries, "PermissionsBoundaryPolicyInputList"));
  }
  if (resource_policy) {
    auto parsed = policy::Policy::Parse(*resource_policy, policy::PolicyKind::kResource);
    if (!parsed.ok()) {
      return Status("MalformedPolicyDocument", "ResourcePolicy: " + parsed.status().message());
    }
    sim->resource_policy = SimulatedPolicy{std::move(parsed.value()), "ResourcePolicy", "resource"};
  }
  if (owner) {
    // An account id, or an ARN naming the account (arn:aws:iam::<acct>:root).
    auto arn = ParseArn(*owner);
    sim->resource_account = arn ? arn->account : *owner;
  }
  sim->actions = std::move(*actions);
  sim->resources =
      resources && !resources->empty() ? std::move(*resources) : std::vector<std::string>{"*"};
  sim->caller_arn = caller.value_or("");
  return Status::Ok();
}

const char* DecisionName(policy::Verdict v) {
  switch (v) {
    case policy::Verdict::kAllow:
      return "allowed";
    case policy::Verdict::kExplicitDeny:
      return "explicitDeny";
    case policy::Verdict::kImplicitDeny:
      break;
  }
  return "implicitDeny";
}

// Evaluates every action on every resource and returns the page of EvaluationResults.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_testing-policies.html
Result<std::string> RunSimulation(const Simulation& sim, const policy::RequestFacts& base) {
  std::vector<std::string> results;
  for (const auto& action : sim.actions) {
    for (const auto& resource : sim.resources) {
      policy::RequestFacts facts = base;
      facts.action = action;
      facts.resource = resource;
      policy::PolicySet set;
      for (const auto& p : sim.identity) set.identity.push_back(p.policy.get());
      if (sim.resource_policy) set.resource = sim.resource_policy->policy.get();
      set.resource_account = sim.resource_account;
      policy::Verdict verdict = policy::Authorize(set, facts).verdict;
      // A permissions boundary caps what identity policies grant and can deny on its own.
      // https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
      bool boundary_allows = false, boundary_denies = false;
      for (const auto& b : sim.boundaries) {
        auto effect = b.policy->Evaluate(facts);
        boundary_allows |= effect.allow;
        boundary_denies |= effect.deny;
      }
      if (!sim.boundaries.empty()) {
        if (boundary_denies) {
          verdict = policy::Verdict::kExplicitDeny;
        } else if (verdict == policy::Verdict::kAllow && !boundary_allows) {
          verdict = policy::Verdict::kImplicitDeny;
        }
      }
      // The policy engine decides per policy, not per statement: name the policies whose
      // statements made the decision.
      std::string matched;
      auto note = [&](const SimulatedPolicy& p) {
        if (verdict == policy::Verdict::kImplicitDeny) return;
        auto effect = p.policy->Evaluate(facts);
        bool decisive = verdict == policy::Verdict::kExplicitDeny ? effect.deny : effect.allow;
        if (!decisive) return;
        matched += "<member>";
        Add(&matched, "SourcePolicyId", p.source_id);
        Add(&matched, "SourcePolicyType", p.source_type);
        matched += "</member>";
      };
      for (const auto& p : sim.identity) note(p);
      if (sim.resource_policy) note(*sim.resource_policy);
      for (const auto& p : sim.boundaries) note(p);
      std::string r = "<member>";
      Add(&r, "EvalActionName", action);
      Add(&r, "EvalResourceName", resource);
      Add(&r, "EvalDecision", DecisionName(verdict));
      r += "<MatchedStatements>" + matched + "</MatchedStatements>";
      r += "<MissingContextValues></MissingContextValues>";
      results.push_back(r + "</member>");
    }
  }
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&results, sim.page));
  std::string out = "<EvaluationResults>";
  for (const auto& r : results) out += r;
  return out + "</EvaluationResults>" + PageEndXml(end);
}

}  // namespace

IamService::IamService(Store* store, Keyring* keyring, const Clock* clock,
                       std::function<void()> on_identity_change)
    : store_(store),
      keyring_(keyring),
      clock_(clock),
      on_identity_change_(std::move(on_identity_change)) {}

Result<std::string> IamService::Handle(std::string_view action, const RequestContext& ctx,
                                       const std::map<std::string, std::string>& params) {
  // Credentials from GetSessionToken without MFA cannot call IAM.
  // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
  if (ctx.principal.temporary && ctx.principal.type != "AssumedRole") {
    ctx.authorized = true;
    return Status("InvalidClientTokenId", "The security token included in the request is invalid");
  }
  using Fn = Result<std::string> (*)(IamService*, const RequestContext&, const Params&);
#define COFFER_IAM(name, call)                                                            \
  {                                                                                       \
    name, [](IamService* s, const RequestContext& c, const Params& p) { return s->call; } \
  }
  static const std::map<std::string_view, Fn> kActions = {
      COFFER_IAM("CreateUser", CreateUser(c, p)),
      COFFER_IAM("GetUser", GetUser(c, p)),
      COFFER_IAM("ListUsers", ListEntities(c, p, kUser)),
      COFFER_IAM("DeleteUser", DeleteUser(c, p)),
      COFFER_IAM("TagUser", TagEntity(c, p, kUser)),
      COFFER_IAM("UntagUser", UntagEntity(c, p, kUser)),
      COFFER_IAM("ListUserTags", ListEntityTags(c, p, kUser)),
      COFFER_IAM("CreateAccessKey", CreateAccessKey(c, p)),
      COFFER_IAM("ListAccessKeys", ListAccessKeys(c, p)),
      COFFER_IAM("UpdateAccessKey", UpdateAccessKey(c, p)),
      COFFER_IAM("DeleteAccessKey", DeleteAccessKey(c, p)),
      COFFER_IAM("CreateRole", CreateRole(c, p)),
      COFFER_IAM("GetRole", GetRole(c, p)),
      COFFER_IAM("ListRoles", ListEntities(c, p, kRole)),
      COFFER_IAM("DeleteRole", DeleteRole(c, p)),
      COFFER_IAM("UpdateAssumeRolePolicy", UpdateAssumeRolePolicy(c, p)),
      COFFER_IAM("UpdateRole", UpdateRole(c, p)),
      COFFER_IAM("TagRole", TagEntity(c, p, kRole)),
      COFFER_IAM("UntagRole", UntagEntity(c, p, kRole)),
      COFFER_IAM("ListRoleTags", ListEntityTags(c, p, kRole)),
      COFFER_IAM("CreateGroup", CreateGroup(c, p)),
      COFFER_IAM("GetGroup", GetGroup(c, p)),
      COFFER_IAM("ListGroups", ListEntities(c, p, kGroup)),
      COFFER_IAM("DeleteGroup", DeleteGroup(c, p)),
      COFFER_IAM("AddUserToGroup", AddUserToGroup(c, p)),
      COFFER_IAM("RemoveUserFromGroup", RemoveUserFromGroup(c, p)),
      COFFER_IAM("ListGroupsForUser", ListGroupsForUser(c, p)),
      COFFER_IAM("PutUserPolicy", PutInlinePolicy(c, p, kUser)),
      COFFER_IAM("GetUserPolicy", GetInlinePolicy(c, p, kUser)),
      COFFER_IAM("DeleteUserPolicy", DeleteInlinePolicy(c, p, kUser)),
      COFFER_IAM("ListUserPolicies", ListInlinePolicies(c, p, kUser)),
      COFFER_IAM("PutRolePolicy", PutInlinePolicy(c, p, kRole)),
      COFFER_IAM("GetRolePolicy", GetInlinePolicy(c, p, kRole)),
      COFFER_IAM("DeleteRolePolicy", DeleteInlinePolicy(c, p, kRole)),
      COFFER_IAM("ListRolePolicies", ListInlinePolicies(c, p, kRole)),
      COFFER_IAM("PutGroupPolicy", PutInlinePolicy(c, p, kGroup)),
      COFFER_IAM("GetGroupPolicy", GetInlinePolicy(c, p, kGroup)),
      COFFER_IAM("DeleteGroupPolicy", DeleteInlinePolicy(c, p, kGroup)),
      COFFER_IAM("ListGroupPolicies", ListInlinePolicies(c, p, kGroup)),
      COFFER_IAM("AttachUserPolicy", AttachPolicy(c, p, kUser)),
      COFFER_IAM("DetachUserPolicy", DetachPolicy(c, p, kUser)),
      COFFER_IAM("ListAttachedUserPolicies", ListAttachedPolicies(c, p, kUser)),
      COFFER_IAM("AttachRolePolicy", AttachPolicy(c, p, kRole)),
      COFFER_IAM("DetachRolePolicy", DetachPolicy(c, p, kRole)),
      COFFER_IAM("ListAttachedRolePolicies", ListAttachedPolicies(c, p, kRole)),
      COFFER_IAM("AttachGroupPolicy", AttachPolicy(c, p, kGroup)),
      COFFER_IAM("DetachGroupPolicy", DetachPolicy(c, p, kGroup)),
      COFFER_IAM("ListAttachedGroupPolicies", ListAttachedPolicies(c, p, kGroup)),
      COFFER_IAM("CreatePolicy", CreatePolicy(c, p)),
      COFFER_IAM("GetPolicy", GetPolicy(c, p)),
      COFFER_IAM("DeletePolicy", DeletePolicy(c, p)),
      COFFER_IAM("ListPolicies", ListPolicies(c, p)),
      COFFER_IAM("CreatePolicyVersion", CreatePolicyVersion(c, p)),
      COFFER_IAM("GetPolicyVersion", GetPolicyVersion(c, p)),
      COFFER_IAM("ListPolicyVersions", ListPolicyVersions(c, p)),
      COFFER_IAM("DeletePolicyVersion", DeletePolicyVersion(c, p)),
      COFFER_IAM("SetDefaultPolicyVersion", SetDefaultPolicyVersion(c, p)),
      COFFER_IAM("SimulateCustomPolicy", SimulateCustomPolicy(c, p)),
      COFFER_IAM("SimulatePrincipalPolicy", SimulatePrincipalPolicy(c, p)),
  };
#undef COFFER_IAM
  auto it = kActions.find(action);
  if (it == kActions.end()) {
    return Status("InvalidAction", "Could not find operation " + std::string(action) +
                                       " for version 2010-05-08 in coffer's IAM.");
  }
  return it->second(this, ctx, params);
}

Status IamService::Commit(const std::function<Status(StoreWriter&)>& fn) {
  COFFER_RETURN_IF_ERROR(store_->Write(fn));
  if (on_identity_change_) on_identity_change_();
  return Status::Ok();
}

Result<IamEntityRow> IamService::AuthorizedEntity(const RequestContext& ctx,
                                                  const std::string& action, const EntityKind& kind,
                                                  const std::string& name, const Context& context) {
  std::optional<IamEntityRow> row;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(row, r.iam().FindEntity(ctx.scope.account, kind.kind, name));
    return Status::Ok();
  }));
  AuthzCheck check =
      Check("iam:" + action, row ? row->arn : EntityArn(ctx.scope.account, kind, "/", name));
  check.context = context;
  if (row) AddResourceTagContext(*row, &check.context);
  COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  if (!row) return NoSuchEntity(kind, name);
  return std::move(*row);
}

Result<IamEntityRow> IamService::AuthorizedKeyOwner(const RequestContext& ctx,
                                                    const std::string& action,
                                                    const std::optional<std::string>& user_name) {
  if (user_name) return AuthorizedEntity(ctx, action, kUser, *user_name);
  // Without UserName the caller means itself.
  // https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
  if (ctx.principal.type == "Root") {
    COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:" + action, RootArn(ctx.scope.account))));
    IamEntityRow root;
    root.kind = "user";
    root.account = ctx.scope.account;
    root.id = ctx.scope.account;
    root.arn = RootArn(ctx.scope.account);
    return root;
  }
  if (ctx.principal.type == "IAMUser" && !ctx.principal.user_name.empty()) {
    return AuthorizedEntity(ctx, action, kUser, ctx.principal.user_name);
  }
  return Status("ValidationError", "Must specify userName when calling with non-User credentials");
}

Result<IamPolicyRow> IamService::AuthorizedPolicy(const RequestContext& ctx,
                                                  const std::string& action,
                                                  const std::string& arn) {
  auto parts = ParsePolicyArn(arn);
  if (!parts) return NotValidArn(arn);
  std::optional<IamPolicyRow> row;
  if (parts->account == ctx.scope.account) {
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(row, r.iam().FindManagedPolicy(arn));
      return Status::Ok();
    }));
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:" + action, arn)));
  if (!row || row->account != ctx.scope.account) return PolicyNotFound(arn);
  return std::move(*row);
}

// ---- users ----------------------------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateUser.html
Result<std::string> IamService::CreateUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(kUser.max_name));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPath});
  auto boundary = in.String("PermissionsBoundary", ArnRule(false));
  auto tags = in.TagList("Tags", false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (boundary) return NoBoundaries();
  if (tags) COFFER_RETURN_IF_ERROR(CheckRequestTags(*tags));
  IamEntityRow row = NewEntity(ctx, kUser, *name, path.value_or("/"), Now(ctx, clock_));
  if (tags) row.tags = *tags;
  AuthzCheck check = Check("iam:CreateUser", row.arn);
  AddRequestTagKeys(row.tags, &check.context);
  COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  COFFER_RETURN_IF_ERROR(
      Commit([&](StoreWriter& w) -> Status { return InsertNewEntity(w, kUser, row); }));
  return ResultXml("CreateUser", Wrap("User", UserXml(row, /*with_tags=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUser.html
Result<std::string> IamService::GetUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!name && ctx.principal.type == "Root") {
    // The account root is no IAM user: AWS describes it by the account id and root ARN only.
    COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:GetUser", RootArn(ctx.scope.account))));
    std::string user;
    Add(&user, "UserId", ctx.scope.account);
    Add(&user, "Arn", RootArn(ctx.scope.account));
    return ResultXml("GetUser", Wrap("User", user));
  }
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "GetUser", name));
  return ResultXml("GetUser", Wrap("User", UserXml(owner, /*with_tags=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUser.html
Result<std::string> IamService::DeleteUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow user, AuthorizedEntity(ctx, "DeleteUser", kUser, *name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kUser, *name));
    COFFER_ASSIGN_OR_RETURN(auto keys,
                            w.credentials().ListAccessKeysForUser(fresh.account, fresh.name));
    if (!keys.empty())
      return DeleteConflict("Cannot delete entity, must delete access keys first.");
    COFFER_RETURN_IF_ERROR(CheckNothingAttached(w, kUser, fresh));
    COFFER_ASSIGN_OR_RETURN(auto groups, w.iam().ListGroupsForUser(fresh.account, fresh.name));
    if (!groups.empty()) {
      return DeleteConflict("Cannot delete entity, must remove user from all groups first.");
    }
    return w.iam().DeleteEntity(fresh.account, kUser.kind, fresh.name);
  }));
  return std::string();
}

// ---- users, roles and groups alike ------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUsers.html
Result<std::string> IamService::ListEntities(const RequestContext& ctx, const Params& p,
                                             const EntityKind& kind) {
  QueryInput in(p);
  auto prefix =
      in.String("PathPrefix", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPathPrefix});
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(std::string after, DecodeMarker(page.marker));
  const std::string action = std::string("List") + kind.title + "s";
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:" + action, "*")));
  std::vector<IamEntityRow> rows;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        rows, r.iam().ListEntities(ctx.scope.account, kind.kind, prefix.value_or("/"), after,
                                   static_cast<int>(page.max_items) + 1));
    return Status::Ok();
  }));
  PageEnd end;
  if (rows.size() > page.max_items) {
    rows.resize(page.max_items);
    end.truncated = true;
    end.marker = EncodeMarker(rows.back().name);
  }
  std::string members;
  for (const auto& row : rows) members += Wrap("member", EntityXml(kind, row));
  return ResultXml(action, Wrap(std::string(kind.title) + "s", members) + PageEndXml(end));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_TagUser.html
Result<std::string> IamService::TagEntity(const RequestContext& ctx, const Params& p,
                                          const EntityKind& kind) {
  QueryInput in(p);
  auto name = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto tags = in.TagList("Tags", true);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(CheckRequestTags(*tags));
  Context context;
  AddRequestTagKeys(*tags, &context);
  COFFER_ASSIGN_OR_RETURN(IamEntityRow row, AuthorizedEntity(ctx, std::string("Tag") + kind.title,
                                                             kind, *name, context));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kind, *name));
    for (const auto& [key, value] : *tags) PutTagIgnoreCase(&fresh.tags, key, value);
    if (fresh.tags.size() > kMaxTags) {
      return Status("LimitExceeded", std::string("Cannot exceed quota for TagsPer") + kind.title +
                                         ": " + std::to_string(kMaxTags));
    }
    return w.iam().UpdateEntity(fresh);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UntagUser.html
Result<std::string> IamService::UntagEntity(const RequestContext& ctx, const Params& p,
                                            const EntityKind& kind) {
  QueryInput in(p);
  auto name = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto keys = in.List("TagKeys", {.min_len = 1, .max_len = 128, .pattern = Pattern::kTagKey}, true,
                      kMaxTags);
  COFFER_RETURN_IF_ERROR(in.Finish());
  Context context;
  if (!keys->empty()) context["aws:tagkeys"] = *keys;
  COFFER_ASSIGN_OR_RETURN(IamEntityRow row, AuthorizedEntity(ctx, std::string("Untag") + kind.title,
                                                             kind, *name, context));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kind, *name));
    std::erase_if(fresh.tags, [&](const auto& tag) {
      return std::any_of(keys->begin(), keys->end(),
                         [&](const std::string& k) { return EqualsIgnoreCase(k, tag.first); });
    });
    return w.iam().UpdateEntity(fresh);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUserTags.html
Result<std::string> IamService::ListEntityTags(const RequestContext& ctx, const Params& p,
                                               const EntityKind& kind) {
  QueryInput in(p);
  auto name = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::string action = std::string("List") + kind.title + "Tags";
  COFFER_ASSIGN_OR_RETURN(IamEntityRow row, AuthorizedEntity(ctx, action, kind, *name));
  Tags tags = row.tags;
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&tags, page));
  return ResultXml(action, TagsXml(tags) + PageEndXml(end));
}

// ---- access keys ----------------------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateAccessKey.html
Result<std::string> IamService::CreateAccessKey(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "CreateAccessKey", name));
  AccessKeyRow row;
  row.access_key_id = NewAccessKeyId();
  row.account = ctx.scope.account;
  row.principal_arn = owner.arn;
  row.user_id = owner.id;
  row.created_ms = Now(ctx, clock_);
  row.status = "Active";
  row.user_name = owner.name;
  SecretBytes secret = NewSecretAccessKey();
  COFFER_ASSIGN_OR_RETURN(
      row.wrapped_secret,
      keyring_->WrapWithStorageKey(CredentialRegistry::SecretPurpose(row.access_key_id),
                                   secret.Reveal()));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    if (!owner.name.empty()) {
      COFFER_ASSIGN_OR_RETURN(auto fresh, FreshEntity(w, ctx.scope.account, kUser, owner.name));
    }
    COFFER_ASSIGN_OR_RETURN(auto keys,
                            w.credentials().ListAccessKeysForUser(row.account, row.user_name));
    if (keys.size() >= kMaxAccessKeysPerUser) {
      return Status("LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: " +
                                         std::to_string(kMaxAccessKeysPerUser));
    }
    return w.credentials().InsertAccessKey(row);
  }));
  // The only time the secret is ever shown: AWS cannot retrieve it later either.
  std::string key;
  if (!owner.name.empty()) Add(&key, "UserName", owner.name);
  Add(&key, "AccessKeyId", row.access_key_id);
  Add(&key, "Status", row.status);
  Add(&key, "SecretAccessKey", secret.Reveal());
  Add(&key, "CreateDate", Date(row.created_ms));
  return ResultXml("CreateAccessKey", Wrap("AccessKey", key));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccessKeys.html
Result<std::string> IamService::ListAccessKeys(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "ListAccessKeys", name));
  std::vector<AccessKeyRow> keys;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(keys,
                            r.credentials().ListAccessKeysForUser(ctx.scope.account, owner.name));
    return Status::Ok();
  }));
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&keys, page));
  std::string members;
  for (const auto& k : keys) {
    std::string m;
    if (!k.user_name.empty()) Add(&m, "UserName", k.user_name);
    Add(&m, "AccessKeyId", k.access_key_id);
    Add(&m, "Status", k.status);
    Add(&m, "CreateDate", Date(k.created_ms));
    members += Wrap("member", m);
  }
  return ResultXml("ListAccessKeys", Wrap("AccessKeyMetadata", members) + PageEndXml(end));
}

namespace {
Rule AccessKeyIdRule() {
  return {.required = true, .min_len = 16, .max_len = 128, .pattern = Pattern::kWord};
}
// A key is found only through the user (or root) it belongs to, as in AWS.
Status NoSuchAccessKey(const std::string& id) {
  return Status("NoSuchEntity", "The Access Key with id " + id + " cannot be found.");
}
bool KeyBelongsTo(const std::optional<AccessKeyRow>& key, const IamEntityRow& owner) {
  return key && key->account == owner.account && key->user_name == owner.name;
}
}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAccessKey.html
Result<std::string> IamService::UpdateAccessKey(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  auto id = in.String("AccessKeyId", AccessKeyIdRule());
  auto status = in.String("Status", {.required = true});
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (*status != "Active" && *status != "Inactive" && *status != "Expired") {
    return EnumError("status", *status, "[Active, Inactive, Expired]");
  }
  if (*status == "Expired") return InvalidInput("An access key can be made Active or Inactive.");
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "UpdateAccessKey", name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto key, w.credentials().FindAccessKey(*id));
    if (!KeyBelongsTo(key, owner)) return NoSuchAccessKey(*id);
    return w.credentials().UpdateAccessKeyStatus(*id, *status);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteAccessKey.html
Result<std::string> IamService::DeleteAccessKey(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128, /*required=*/false));
  auto id = in.String("AccessKeyId", AccessKeyIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow owner, AuthorizedKeyOwner(ctx, "DeleteAccessKey", name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto key, w.credentials().FindAccessKey(*id));
    if (!KeyBelongsTo(key, owner)) return NoSuchAccessKey(*id);
    return w.credentials().DeleteAccessKey(*id);
  }));
  return std::string();
}

// ---- roles ----------------------------------------------------------------------------------

namespace {
Rule DescriptionRule() { return {.max_len = 1000, .pattern = Pattern::kDescription}; }
}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
Result<std::string> IamService::CreateRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPath});
  auto trust = in.String("AssumeRolePolicyDocument", DocumentRule());
  auto description = in.String("Description", DescriptionRule());
  auto max_session = in.Int("MaxSessionDuration", 3600, 43200);
  auto boundary = in.String("PermissionsBoundary", ArnRule(false));
  auto tags = in.TagList("Tags", false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (boundary) return NoBoundaries();
  if (tags) COFFER_RETURN_IF_ERROR(CheckRequestTags(*tags));
  COFFER_RETURN_IF_ERROR(CheckTrustDocument(*trust));
  IamEntityRow row = NewEntity(ctx, kRole, *name, path.value_or("/"), Now(ctx, clock_));
  row.trust_policy = *trust;
  row.description = description.value_or("");
  row.max_session_seconds = max_session.value_or(3600);
  if (tags) row.tags = *tags;
  AuthzCheck check = Check("iam:CreateRole", row.arn);
  AddRequestTagKeys(row.tags, &check.context);
  COFFER_RETURN_IF_ERROR(ctx.Authorize(check));
  COFFER_RETURN_IF_ERROR(
      Commit([&](StoreWriter& w) -> Status { return InsertNewEntity(w, kRole, row); }));
  return ResultXml("CreateRole", Wrap("Role", RoleXml(row, /*with_tags=*/true)));
}

Result<std::string> IamService::GetRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow role, AuthorizedEntity(ctx, "GetRole", kRole, *name));
  return ResultXml("GetRole", Wrap("Role", RoleXml(role, /*with_tags=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteRole.html
Result<std::string> IamService::DeleteRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow role, AuthorizedEntity(ctx, "DeleteRole", kRole, *name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kRole, *name));
    COFFER_RETURN_IF_ERROR(CheckNothingAttached(w, kRole, fresh));
    return w.iam().DeleteEntity(fresh.account, kRole.kind, fresh.name);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateAssumeRolePolicy.html
Result<std::string> IamService::UpdateAssumeRolePolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  auto trust = in.String("PolicyDocument", DocumentRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(CheckTrustDocument(*trust));
  COFFER_ASSIGN_OR_RETURN(IamEntityRow role,
                          AuthorizedEntity(ctx, "UpdateAssumeRolePolicy", kRole, *name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kRole, *name));
    fresh.trust_policy = *trust;
    return w.iam().UpdateEntity(fresh);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateRole.html
Result<std::string> IamService::UpdateRole(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("RoleName", NameRule(kRole.max_name));
  auto description = in.String("Description", DescriptionRule());
  auto max_session = in.Int("MaxSessionDuration", 3600, 43200);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow role, AuthorizedEntity(ctx, "UpdateRole", kRole, *name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kRole, *name));
    if (description) fresh.description = *description;
    if (max_session) fresh.max_session_seconds = *max_session;
    return w.iam().UpdateEntity(fresh);
  }));
  return ResultXml("UpdateRole", "");
}

// ---- groups ---------------------------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateGroup.html
Result<std::string> IamService::CreateGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("GroupName", NameRule(kGroup.max_name));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPath});
  COFFER_RETURN_IF_ERROR(in.Finish());
  IamEntityRow row = NewEntity(ctx, kGroup, *name, path.value_or("/"), Now(ctx, clock_));
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:CreateGroup", row.arn)));
  COFFER_RETURN_IF_ERROR(
      Commit([&](StoreWriter& w) -> Status { return InsertNewEntity(w, kGroup, row); }));
  return ResultXml("CreateGroup", Wrap("Group", GroupXml(row)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetGroup.html
Result<std::string> IamService::GetGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("GroupName", NameRule(kGroup.max_name));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow group, AuthorizedEntity(ctx, "GetGroup", kGroup, *name));
  std::vector<IamEntityRow> users;
  PageEnd end;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto members, r.iam().ListGroupMembers(group.account, group.name));
    COFFER_ASSIGN_OR_RETURN(end, SliceByOffset(&members, page));
    for (const auto& member : members) {
      COFFER_ASSIGN_OR_RETURN(auto user, r.iam().FindEntity(group.account, kUser.kind, member));
      if (user) users.push_back(std::move(*user));
    }
    return Status::Ok();
  }));
  std::string members;
  for (const auto& u : users) members += Wrap("member", UserXml(u, /*with_tags=*/false));
  return ResultXml("GetGroup",
                   Wrap("Group", GroupXml(group)) + Wrap("Users", members) + PageEndXml(end));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteGroup.html
Result<std::string> IamService::DeleteGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("GroupName", NameRule(kGroup.max_name));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow group, AuthorizedEntity(ctx, "DeleteGroup", kGroup, *name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kGroup, *name));
    COFFER_ASSIGN_OR_RETURN(auto members, w.iam().ListGroupMembers(fresh.account, fresh.name));
    if (!members.empty()) {
      return DeleteConflict("Cannot delete entity, must remove users from group first.");
    }
    COFFER_RETURN_IF_ERROR(CheckNothingAttached(w, kGroup, fresh));
    return w.iam().DeleteEntity(fresh.account, kGroup.kind, fresh.name);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_AddUserToGroup.html
Result<std::string> IamService::AddUserToGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto group_name = in.String("GroupName", NameRule(kGroup.max_name));
  auto user_name = in.String("UserName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow group,
                          AuthorizedEntity(ctx, "AddUserToGroup", kGroup, *group_name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow g, FreshEntity(w, ctx.scope.account, kGroup, *group_name));
    COFFER_ASSIGN_OR_RETURN(IamEntityRow u, FreshEntity(w, ctx.scope.account, kUser, *user_name));
    COFFER_ASSIGN_OR_RETURN(auto groups, w.iam().ListGroupsForUser(u.account, u.name));
    for (const auto& existing : groups) {
      if (EqualsIgnoreCase(existing, g.name)) return Status::Ok();  // already a member
    }
    if (groups.size() >= kMaxGroupsPerUser) {
      return Status("LimitExceeded",
                    "Cannot exceed quota for GroupsPerUser: " + std::to_string(kMaxGroupsPerUser));
    }
    return w.iam().AddUserToGroup(g.account, g.name, u.name);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_RemoveUserFromGroup.html
Result<std::string> IamService::RemoveUserFromGroup(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto group_name = in.String("GroupName", NameRule(kGroup.max_name));
  auto user_name = in.String("UserName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow group,
                          AuthorizedEntity(ctx, "RemoveUserFromGroup", kGroup, *group_name));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow g, FreshEntity(w, ctx.scope.account, kGroup, *group_name));
    COFFER_ASSIGN_OR_RETURN(IamEntityRow u, FreshEntity(w, ctx.scope.account, kUser, *user_name));
    COFFER_ASSIGN_OR_RETURN(auto groups, w.iam().ListGroupsForUser(u.account, u.name));
    bool member = std::any_of(groups.begin(), groups.end(),
                              [&](const std::string& n) { return EqualsIgnoreCase(n, g.name); });
    if (!member) {
      return Status("NoSuchEntity",
                    "The user with name " + u.name + " is not in group " + g.name + ".");
    }
    return w.iam().RemoveUserFromGroup(g.account, g.name, u.name);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListGroupsForUser.html
Result<std::string> IamService::ListGroupsForUser(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("UserName", NameRule(128));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamEntityRow user,
                          AuthorizedEntity(ctx, "ListGroupsForUser", kUser, *name));
  std::vector<IamEntityRow> groups;
  PageEnd end;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto names, r.iam().ListGroupsForUser(user.account, user.name));
    COFFER_ASSIGN_OR_RETURN(end, SliceByOffset(&names, page));
    for (const auto& n : names) {
      COFFER_ASSIGN_OR_RETURN(auto group, r.iam().FindEntity(user.account, kGroup.kind, n));
      if (group) groups.push_back(std::move(*group));
    }
    return Status::Ok();
  }));
  std::string members;
  for (const auto& g : groups) members += Wrap("member", GroupXml(g));
  return ResultXml("ListGroupsForUser", Wrap("Groups", members) + PageEndXml(end));
}

// ---- inline policies ------------------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_PutUserPolicy.html
Result<std::string> IamService::PutInlinePolicy(const RequestContext& ctx, const Params& p,
                                                const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto policy_name = in.String("PolicyName", NameRule(128));
  auto document = in.String("PolicyDocument", DocumentRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseDocument(*document, policy::PolicyKind::kIdentity));
  COFFER_ASSIGN_OR_RETURN(
      IamEntityRow entity,
      AuthorizedEntity(ctx, std::string("Put") + kind.title + "Policy", kind, *owner));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kind, *owner));
    // The quota is on the sum of an entity's inline policies; the one replaced does not count.
    COFFER_ASSIGN_OR_RETURN(auto existing,
                            w.iam().ListInlinePolicies(fresh.account, kind.kind, fresh.name));
    size_t total = PolicySize(*document);
    for (const auto& [n, doc] : existing) {
      if (n != *policy_name) total += PolicySize(doc);
    }
    if (total > kind.inline_quota) {
      return Status("LimitExceeded", "Maximum policy size of " + std::to_string(kind.inline_quota) +
                                         " bytes exceeded for " + kind.kind + " " + fresh.name);
    }
    return w.iam().PutInlinePolicy(fresh.account, kind.kind, fresh.name, *policy_name, *document);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetUserPolicy.html
Result<std::string> IamService::GetInlinePolicy(const RequestContext& ctx, const Params& p,
                                                const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto policy_name = in.String("PolicyName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::string action = std::string("Get") + kind.title + "Policy";
  COFFER_ASSIGN_OR_RETURN(IamEntityRow entity, AuthorizedEntity(ctx, action, kind, *owner));
  std::optional<std::string> document;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(
        document, r.iam().GetInlinePolicy(entity.account, kind.kind, entity.name, *policy_name));
    return Status::Ok();
  }));
  if (!document) {
    return Status("NoSuchEntity", std::string("The ") + kind.kind + " policy with name " +
                                      *policy_name + " cannot be found.");
  }
  std::string out;
  Add(&out, kind.name_param, entity.name);
  Add(&out, "PolicyName", *policy_name);
  out += "<PolicyDocument>" + EncodedDocument(*document) + "</PolicyDocument>";
  return ResultXml(action, out);
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeleteUserPolicy.html
Result<std::string> IamService::DeleteInlinePolicy(const RequestContext& ctx, const Params& p,
                                                   const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  auto policy_name = in.String("PolicyName", NameRule(128));
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(
      IamEntityRow entity,
      AuthorizedEntity(ctx, std::string("Delete") + kind.title + "Policy", kind, *owner));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kind, *owner));
    COFFER_ASSIGN_OR_RETURN(
        auto document, w.iam().GetInlinePolicy(fresh.account, kind.kind, fresh.name, *policy_name));
    if (!document) {
      return Status("NoSuchEntity", std::string("The ") + kind.kind + " policy with name " +
                                        *policy_name + " cannot be found.");
    }
    return w.iam().DeleteInlinePolicy(fresh.account, kind.kind, fresh.name, *policy_name);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListUserPolicies.html
Result<std::string> IamService::ListInlinePolicies(const RequestContext& ctx, const Params& p,
                                                   const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(&kind == &kUser ? size_t{128} : kind.max_name));
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::string action = std::string("List") + kind.title + "Policies";
  COFFER_ASSIGN_OR_RETURN(IamEntityRow entity, AuthorizedEntity(ctx, action, kind, *owner));
  std::vector<std::pair<std::string, std::string>> policies;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(policies,
                            r.iam().ListInlinePolicies(entity.account, kind.kind, entity.name));
    return Status::Ok();
  }));
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&policies, page));
  std::string names;
  for (const auto& [name, document] : policies) Add(&names, "member", name);
  return ResultXml(action, Wrap("PolicyNames", names) + PageEndXml(end));
}

// ---- attachments ----------------------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachUserPolicy.html
Result<std::string> IamService::AttachPolicy(const RequestContext& ctx, const Params& p,
                                             const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(kind.max_name));
  auto arn = in.String("PolicyArn", ArnRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!ParsePolicyArn(*arn)) return NotValidArn(*arn);
  // iam:PolicyARN lets a policy say which policies may be attached.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html
  Context context{{"iam:policyarn", {*arn}}};
  COFFER_ASSIGN_OR_RETURN(
      IamEntityRow entity,
      AuthorizedEntity(ctx, std::string("Attach") + kind.title + "Policy", kind, *owner, context));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kind, *owner));
    COFFER_ASSIGN_OR_RETURN(auto policy, w.iam().FindManagedPolicy(*arn));
    if (!policy || policy->account != ctx.scope.account) return PolicyNotFound(*arn);
    COFFER_ASSIGN_OR_RETURN(auto attached,
                            w.iam().ListAttachedPolicies(fresh.account, kind.kind, fresh.name));
    if (std::find(attached.begin(), attached.end(), *arn) != attached.end()) {
      return Status::Ok();  // attaching again changes nothing, as in AWS
    }
    if (attached.size() >= kMaxAttachedPolicies) {
      return Status("LimitExceeded", std::string("Cannot exceed quota for ") + kind.attached_quota +
                                         ": " + std::to_string(kMaxAttachedPolicies));
    }
    return w.iam().AttachPolicy(fresh.account, kind.kind, fresh.name, *arn);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DetachUserPolicy.html
Result<std::string> IamService::DetachPolicy(const RequestContext& ctx, const Params& p,
                                             const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(kind.max_name));
  auto arn = in.String("PolicyArn", ArnRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (!ParsePolicyArn(*arn)) return NotValidArn(*arn);
  Context context{{"iam:policyarn", {*arn}}};
  COFFER_ASSIGN_OR_RETURN(
      IamEntityRow entity,
      AuthorizedEntity(ctx, std::string("Detach") + kind.title + "Policy", kind, *owner, context));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(IamEntityRow fresh, FreshEntity(w, ctx.scope.account, kind, *owner));
    COFFER_ASSIGN_OR_RETURN(auto attached,
                            w.iam().ListAttachedPolicies(fresh.account, kind.kind, fresh.name));
    if (std::find(attached.begin(), attached.end(), *arn) == attached.end()) {
      return Status("NoSuchEntity", "Policy " + *arn + " was not found.");
    }
    return w.iam().DetachPolicy(fresh.account, kind.kind, fresh.name, *arn);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAttachedUserPolicies.html
Result<std::string> IamService::ListAttachedPolicies(const RequestContext& ctx, const Params& p,
                                                     const EntityKind& kind) {
  QueryInput in(p);
  auto owner = in.String(kind.name_param, NameRule(kind.max_name));
  auto prefix =
      in.String("PathPrefix", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPolicyPath});
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  const std::string action = std::string("ListAttached") + kind.title + "Policies";
  COFFER_ASSIGN_OR_RETURN(IamEntityRow entity, AuthorizedEntity(ctx, action, kind, *owner));
  std::vector<PolicyArnParts> policies;
  std::vector<std::string> arns;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(arns,
                            r.iam().ListAttachedPolicies(entity.account, kind.kind, entity.name));
    return Status::Ok();
  }));
  std::erase_if(arns, [&](const std::string& arn) {
    auto parts = ParsePolicyArn(arn);
    return !parts || (prefix && parts->path.rfind(*prefix, 0) != 0);
  });
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&arns, page));
  std::string members;
  for (const auto& arn : arns) {
    std::string m;
    Add(&m, "PolicyName", ParsePolicyArn(arn)->name);
    Add(&m, "PolicyArn", arn);
    members += Wrap("member", m);
  }
  return ResultXml(action, Wrap("AttachedPolicies", members) + PageEndXml(end));
}

// ---- customer managed policies --------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html
Result<std::string> IamService::CreatePolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto name = in.String("PolicyName", NameRule(128));
  auto path = in.String("Path", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPolicyPath});
  auto document = in.String("PolicyDocument", DocumentRule());
  auto description = in.String("Description", {.max_len = 1000});
  auto tags = in.TagList("Tags", false);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (tags && !tags->empty()) {
    return InvalidInput(
        "coffer does not keep tags on managed policies; create the policy "
        "without Tags.");
  }
  COFFER_RETURN_IF_ERROR(CheckManagedDocument(*document));
  const EpochMillis now = Now(ctx, clock_);
  IamPolicyRow row;
  row.path = path.value_or("/");
  row.name = *name;
  row.arn = ManagedPolicyArn(ctx.scope.account, row.path, row.name);
  row.account = ctx.scope.account;
  row.id = NewIamId("ANPA");
  row.description = description.value_or("");
  row.default_version = 1;
  row.next_version = 2;
  row.created_ms = now;
  row.updated_ms = now;
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:CreatePolicy", row.arn)));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(bool taken, PolicyNameTaken(w, row.account, row.name));
    if (taken) {
      return Status("EntityAlreadyExists", "A policy called " + row.name +
                                               " already exists. Duplicate names are not "
                                               "allowed.");
    }
    COFFER_RETURN_IF_ERROR(w.iam().InsertManagedPolicy(row));
    return w.iam().InsertPolicyVersion({row.arn, 1, *document, now});
  }));
  return ResultXml("CreatePolicy", Wrap("Policy", PolicyXml(row, 0, /*with_description=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicy.html
Result<std::string> IamService::GetPolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "GetPolicy", *arn));
  int64_t attachments = 0;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(attachments, r.iam().CountPolicyAttachments(policy.arn));
    return Status::Ok();
  }));
  return ResultXml("GetPolicy",
                   Wrap("Policy", PolicyXml(policy, attachments, /*with_description=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicy.html
Result<std::string> IamService::DeletePolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "DeletePolicy", *arn));
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    COFFER_ASSIGN_OR_RETURN(int64_t attachments, w.iam().CountPolicyAttachments(policy.arn));
    if (attachments > 0) return DeleteConflict("Cannot delete a policy attached to entities.");
    COFFER_ASSIGN_OR_RETURN(auto versions, w.iam().ListPolicyVersions(policy.arn));
    if (versions.size() > 1) {
      return DeleteConflict(
          "This policy has more than one version. Before you delete a policy, you must delete "
          "the policy's versions. The default version is deleted with the policy.");
    }
    return w.iam().DeleteManagedPolicy(policy.arn);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicies.html
Result<std::string> IamService::ListPolicies(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto scope = in.String("Scope", {});
  auto only_attached = in.Bool("OnlyAttached");
  auto prefix =
      in.String("PathPrefix", {.min_len = 1, .max_len = 512, .pattern = Pattern::kPolicyPath});
  auto usage = in.String("PolicyUsageFilter", {});
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  if (scope && *scope != "All" && *scope != "AWS" && *scope != "Local") {
    return EnumError("scope", *scope, "[All, AWS, Local]");
  }
  if (usage && *usage != "PermissionsPolicy" && *usage != "PermissionsBoundary") {
    return EnumError("policyUsageFilter", *usage, "[PermissionsPolicy, PermissionsBoundary]");
  }
  COFFER_ASSIGN_OR_RETURN(std::string after, DecodeMarker(page.marker));
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:ListPolicies", "*")));
  // coffer has only customer managed policies, and none serves as a permissions boundary.
  const bool none = (scope && *scope == "AWS") || (usage && *usage == "PermissionsBoundary");
  std::vector<std::pair<IamPolicyRow, int64_t>> rows;
  bool more = false;
  if (!none) {
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      const int batch = static_cast<int>(page.max_items) + 1;
      for (;;) {
        COFFER_ASSIGN_OR_RETURN(
            auto policies,
            r.iam().ListManagedPolicies(ctx.scope.account, prefix.value_or("/"), after, batch));
        for (auto& policy : policies) {
          COFFER_ASSIGN_OR_RETURN(int64_t count, r.iam().CountPolicyAttachments(policy.arn));
          after = policy.name;
          if (only_attached.value_or(false) && count == 0) continue;
          if (rows.size() == page.max_items) {
            more = true;
            return Status::Ok();
          }
          rows.emplace_back(std::move(policy), count);
        }
        if (policies.size() < static_cast<size_t>(batch)) return Status::Ok();
      }
    }));
  }
  PageEnd end;
  if (more) {
    end.truncated = true;
    end.marker = EncodeMarker(rows.back().first.name);
  }
  std::string members;
  for (const auto& [policy, count] : rows) {
    members += Wrap("member", PolicyXml(policy, count, /*with_description=*/false));
  }
  return ResultXml("ListPolicies", Wrap("Policies", members) + PageEndXml(end));
}

namespace {
Rule VersionIdRule() { return {.required = true, .pattern = Pattern::kVersionId}; }

std::string PolicyVersionXml(const IamPolicyVersionRow& v, bool is_default, bool with_document) {
  std::string out;
  if (with_document) out += "<Document>" + EncodedDocument(v.document) + "</Document>";
  Add(&out, "VersionId", VersionId(v.version));
  Add(&out, "IsDefaultVersion", is_default ? "true" : "false");
  Add(&out, "CreateDate", Date(v.created_ms));
  return out;
}
}  // namespace

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicyVersion.html
Result<std::string> IamService::CreatePolicyVersion(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto document = in.String("PolicyDocument", DocumentRule());
  auto set_default = in.Bool("SetAsDefault");
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_RETURN_IF_ERROR(CheckManagedDocument(*document));
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "CreatePolicyVersion", *arn));
  IamPolicyVersionRow version;
  bool is_default = false;
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    COFFER_ASSIGN_OR_RETURN(auto versions, w.iam().ListPolicyVersions(policy.arn));
    if (versions.size() >= kMaxPolicyVersions) {
      return Status("LimitExceeded",
                    "A managed policy can have up to " + std::to_string(kMaxPolicyVersions) +
                        " versions. Before you create a new version, you must delete an "
                        "existing version.");
    }
    const EpochMillis now = Now(ctx, clock_);
    version = {fresh->arn, fresh->next_version, *document, now};
    COFFER_RETURN_IF_ERROR(w.iam().InsertPolicyVersion(version));
    fresh->next_version += 1;
    // UpdateDate is when the newest version was created, default or not.
    fresh->updated_ms = now;
    if (set_default.value_or(false)) fresh->default_version = version.version;
    is_default = fresh->default_version == version.version;
    return w.iam().UpdateManagedPolicy(*fresh);
  }));
  return ResultXml("CreatePolicyVersion",
                   Wrap("PolicyVersion", PolicyVersionXml(version, is_default, false)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetPolicyVersion.html
Result<std::string> IamService::GetPolicyVersion(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto version_id = in.String("VersionId", VersionIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "GetPolicyVersion", *arn));
  auto number = ParseVersionId(*version_id);
  std::optional<IamPolicyVersionRow> version;
  if (number) {
    COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(version, r.iam().GetPolicyVersion(policy.arn, *number));
      return Status::Ok();
    }));
  }
  if (!version) return VersionNotFound(policy.arn, *version_id);
  return ResultXml(
      "GetPolicyVersion",
      Wrap("PolicyVersion", PolicyVersionXml(*version, version->version == policy.default_version,
                                             /*with_document=*/true)));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListPolicyVersions.html
Result<std::string> IamService::ListPolicyVersions(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  PageInput page = ReadPage(in);
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "ListPolicyVersions", *arn));
  std::vector<IamPolicyVersionRow> versions;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(versions, r.iam().ListPolicyVersions(policy.arn));
    return Status::Ok();
  }));
  COFFER_ASSIGN_OR_RETURN(PageEnd end, SliceByOffset(&versions, page));
  std::string members;
  for (const auto& v : versions) {
    members += Wrap("member", PolicyVersionXml(v, v.version == policy.default_version, false));
  }
  return ResultXml("ListPolicyVersions", Wrap("Versions", members) + PageEndXml(end));
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_DeletePolicyVersion.html
Result<std::string> IamService::DeletePolicyVersion(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto version_id = in.String("VersionId", VersionIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy, AuthorizedPolicy(ctx, "DeletePolicyVersion", *arn));
  auto number = ParseVersionId(*version_id);
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    if (!number) return VersionNotFound(policy.arn, *version_id);
    COFFER_ASSIGN_OR_RETURN(auto version, w.iam().GetPolicyVersion(policy.arn, *number));
    if (!version) return VersionNotFound(policy.arn, *version_id);
    if (*number == fresh->default_version) {
      return DeleteConflict("Cannot delete the default version of a policy.");
    }
    return w.iam().DeletePolicyVersion(policy.arn, *number);
  }));
  return std::string();
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SetDefaultPolicyVersion.html
Result<std::string> IamService::SetDefaultPolicyVersion(const RequestContext& ctx,
                                                        const Params& p) {
  QueryInput in(p);
  auto arn = in.String("PolicyArn", ArnRule());
  auto version_id = in.String("VersionId", VersionIdRule());
  COFFER_RETURN_IF_ERROR(in.Finish());
  COFFER_ASSIGN_OR_RETURN(IamPolicyRow policy,
                          AuthorizedPolicy(ctx, "SetDefaultPolicyVersion", *arn));
  auto number = ParseVersionId(*version_id);
  COFFER_RETURN_IF_ERROR(Commit([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto fresh, w.iam().FindManagedPolicy(policy.arn));
    if (!fresh) return PolicyNotFound(policy.arn);
    if (!number) return VersionNotFound(policy.arn, *version_id);
    COFFER_ASSIGN_OR_RETURN(auto version, w.iam().GetPolicyVersion(policy.arn, *number));
    if (!version) return VersionNotFound(policy.arn, *version_id);
    fresh->default_version = *number;
    return w.iam().UpdateManagedPolicy(*fresh);
  }));
  return std::string();
}

// ---- the policy simulator -------------------------------------------------------------------

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html
Result<std::string> IamService::SimulateCustomPolicy(const RequestContext& ctx, const Params& p) {
  QueryInput in(p);
  Simulation sim;
  COFFER_RETURN_IF_ERROR(ReadSimulation(in, /*policies_required=*/true, &sim));
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:SimulateCustomPolicy", "*")));
  policy::RequestFacts facts;
  facts.principal_arn = sim.caller_arn;
  auto caller = ParseArn(sim.caller_arn);
  facts.principal_account = caller ? caller->account : ctx.scope.account;
  facts.context = sim.context;
  COFFER_ASSIGN_OR_RETURN(std::string results, RunSimulation(sim, facts));
  return ResultXml("SimulateCustomPolicy", results);
}

// https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
Result<std::string> IamService::SimulatePrincipalPolicy(const RequestContext& ctx,
                                                        const Params& p) {
  QueryInput in(p);
  auto source = in.String("PolicySourceArn", ArnRule());
  Simulation sim;
  COFFER_RETURN_IF_ERROR(ReadSimulation(in, /*policies_required=*/false, &sim));
  // The source is a user, group or role of the caller's account: arn:aws:iam::<acct>:user/<path>
  auto arn = ParseArn(*source);
  const EntityKind* kind = nullptr;
  std::string name;
  if (arn && arn->service == "iam") {
    size_t slash = arn->resource.find('/');
    std::string type = arn->resource.substr(0, slash);
    if (type == "user") kind = &kUser;
    if (type == "role") kind = &kRole;
    if (type == "group") kind = &kGroup;
    name = arn->resource.substr(arn->resource.rfind('/') + 1);
  }
  if (kind == nullptr || name.empty()) {
    return InvalidInput("PolicySourceArn " + *source + " must name an IAM user, group or role.");
  }
  COFFER_RETURN_IF_ERROR(ctx.Authorize(Check("iam:SimulatePrincipalPolicy", *source)));
  std::vector<SimulatedPolicy> gathered;
  std::optional<IamEntityRow> entity;
  COFFER_RETURN_IF_ERROR(store_->Read([&](StoreReader& r) -> Status {
    if (arn->account != ctx.scope.account) return Status::Ok();
    COFFER_ASSIGN_OR_RETURN(entity, r.iam().FindEntity(ctx.scope.account, kind->kind, name));
    if (!entity || entity->arn != *source) {
      entity.reset();
      return Status::Ok();
    }
    // The entity's own policies, then (for a user) those of its groups.
    std::vector<std::pair<const EntityKind*, std::string>> owners = {{kind, entity->name}};
    if (kind == &kUser) {
      COFFER_ASSIGN_OR_RETURN(auto groups,
                              r.iam().ListGroupsForUser(entity->account, entity->name));
      for (auto& g : groups) owners.emplace_back(&kGroup, std::move(g));
    }
    auto add = [&](const std::string& document, std::string id, std::string type) -> Status {
      auto parsed = policy::Policy::Parse(document, policy::PolicyKind::kIdentity);
      if (!parsed.ok()) {
        return Status("PolicyEvaluation",
                      "Stored policy " + id + " no longer parses: " + parsed.status().message());
      }
      gathered.push_back({std::move(parsed.value()), std::move(id), std::move(type)});
      return Status::Ok();
    };
    for (const auto& [owner_kind, owner] : owners) {
      COFFER_ASSIGN_OR_RETURN(
          auto inline_policies,
          r.iam().ListInlinePolicies(ctx.scope.account, owner_kind->kind, owner));
      for (const auto& [policy_name, document] : inline_policies) {
        COFFER_RETURN_IF_ERROR(add(document, policy_name, owner_kind->kind));
      }
      COFFER_ASSIGN_OR_RETURN(
          auto attached, r.iam().ListAttachedPolicies(ctx.scope.account, owner_kind->kind, owner));
      for (const auto& policy_arn : attached) {
        COFFER_ASSIGN_OR_RETURN(auto policy, r.iam().FindManagedPolicy(policy_arn));
        if (!policy) continue;
        COFFER_ASSIGN_OR_RETURN(auto version,
                                r.iam().GetPolicyVersion(policy_arn, policy->default_version));
        if (!version) continue;
        COFFER_RETURN_IF_ERROR(add(version->document, policy->name, "user-managed"));
      }
    }
    return Status::Ok();
  }));
  if (!entity) return NoSuchEntity(*kind, name);
  // Policies passed in PolicyInputList are evaluated along with the principal's own.
  for (auto& extra : sim.identity) gathered.push_back(std::move(extra));
  sim.identity = std::move(gathered);
  policy::RequestFacts facts;
  facts.principal_arn = sim.caller_arn.empty() ? entity->arn : sim.caller_arn;
  facts.principal_account = ctx.scope.account;
  // Global condition keys the principal itself provides.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html
  facts.context["aws:principalarn"] = {entity->arn};
  facts.context["aws:principalaccount"] = {ctx.scope.account};
  if (kind == &kUser) {
    facts.context["aws:username"] = {entity->name};
    facts.context["aws:userid"] = {entity->id};
    facts.context["aws:principaltype"] = {"User"};
  }
  if (kind != &kGroup) {
    for (const auto& [key, value] : entity->tags) {
      facts.context["aws:principaltag/" + AsciiLower(key)] = {value};
    }
  }
  for (const auto& [key, values] : sim.context) facts.context[key] = values;
  COFFER_ASSIGN_OR_RETURN(std::string results, RunSimulation(sim, facts));
  return ResultXml("SimulatePrincipalPolicy", results);
}

}  // namespace coffer::iam
