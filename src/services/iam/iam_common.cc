#include "services/iam/iam_common.h"

#include <utility>

#include "auth/sigv4.h"
#include "core/arn.h"
#include "core/ascii.h"
#include "core/ids.h"
#include "core/time_format.h"
#include "protocol/page_token.h"
#include "protocol/xml.h"

namespace coffer::iam {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return AsciiLower(a) == AsciiLower(b);
}

EpochMillis Now(const RequestContext& ctx, const Clock* clock) {
  return ctx.now != 0 ? ctx.now : clock->NowMillis();
}

Rule NameRule(size_t max_len, bool required) {
  return {.required = required, .min_len = 1, .max_len = max_len, .pattern = Pattern::kName};
}

Rule DocumentRule(bool required) {
  return {.required = required,
          .min_len = 1,
          .max_len = kMaxDocument,
          .pattern = Pattern::kDocument,
          .echo = false};
}

Rule ArnRule(bool required) { return {.required = required, .min_len = 20, .max_len = 2048}; }

Status InvalidInput(std::string message) {
  return Status(ErrorCode::kInvalidInput, std::move(message));
}

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

std::string PageEndXml(const PageEnd& end) {
  if (!end.truncated) return "<IsTruncated>false</IsTruncated>";
  return "<IsTruncated>true</IsTruncated><Marker>" + XmlEscape(end.marker) + "</Marker>";
}

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

std::string RootArn(const std::string& account) { return "arn:aws:iam::" + account + ":root"; }

std::string EntityArn(const std::string& account, const EntityKind& kind, const std::string& path,
                      const std::string& name) {
  return "arn:aws:iam::" + account + ":" + std::string(IamEntityKindName(kind.kind)) + path + name;
}

std::string ManagedPolicyArn(const std::string& account, const std::string& path,
                             const std::string& name) {
  return "arn:aws:iam::" + account + ":policy" + path + name;
}

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
  return Status(ErrorCode::kNoSuchEntity, message);
}

Status NoSuchEntity(const EntityKind& kind, const std::string& name) {
  return Status(ErrorCode::kNoSuchEntity, std::string("The ") +
                                              std::string(IamEntityKindName(kind.kind)) +
                                              " with name " + name + " cannot be found.");
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

void AddResourceTagContext(const IamEntityRow& row, ConditionKeys* context) {
  if (row.kind != IamEntityKind::kGroup) AddResourceTagKeys(row.tags, "", context);
}

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
    return Status(ErrorCode::kEntityAlreadyExists,
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

Status DeleteConflict(const std::string& message) {
  return Status(ErrorCode::kDeleteConflict, message);
}

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
  if (!parsed.ok()) return Status(ErrorCode::kMalformedPolicyDocument, parsed.status().message());
  return std::move(parsed.value());
}

Status CheckManagedDocument(const std::string& document) {
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseDocument(document, policy::PolicyKind::kIdentity));
  if (PolicySize(document) > kManagedPolicyQuota) {
    return Status(ErrorCode::kLimitExceeded,
                  "Cannot exceed quota for PolicySize: " + std::to_string(kManagedPolicyQuota));
  }
  return Status::Ok();
}

Status CheckTrustDocument(const std::string& document) {
  COFFER_ASSIGN_OR_RETURN(auto parsed, ParseDocument(document, policy::PolicyKind::kTrust));
  if (PolicySize(document) > kTrustPolicyQuota) {
    return Status(ErrorCode::kLimitExceeded,
                  "Cannot exceed quota for ACLSizePerRole: " + std::to_string(kTrustPolicyQuota));
  }
  return Status::Ok();
}

std::optional<int64_t> ParseVersionId(const std::string& id) {
  if (id.size() < 2 || id[0] != 'v') return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(id.data() + 1, id.data() + id.size(), v);
  if (ec != std::errc() || end != id.data() + id.size()) return std::nullopt;
  return v;
}

Status VersionNotFound(const std::string& arn, const std::string& version_id) {
  return Status(ErrorCode::kNoSuchEntity, "Policy " + arn + " version " + version_id +
                                              " does not exist or is not attachable.");
}

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

}  // namespace coffer::iam
