// IAM: what users, roles and groups share: listing and tags.
#include <algorithm>
#include <utility>

#include "core/ascii.h"
#include "services/iam/iam_common.h"
#include "services/iam/iam_service.h"

namespace coffer::iam {

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
  COFFER_RETURN_IF_ERROR(ChangeEntity(ctx, std::string("Tag") + kind.title, kind, *name, context,
                                      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
                                        for (const auto& [key, value] : *tags)
                                          PutTagIgnoreCase(&fresh.tags, key, value);
                                        if (fresh.tags.size() > kMaxTags) {
                                          return Status(
                                              ErrorCode::kLimitExceeded,
                                              std::string("Cannot exceed quota for TagsPer") +
                                                  kind.title + ": " + std::to_string(kMaxTags));
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
  COFFER_RETURN_IF_ERROR(ChangeEntity(
      ctx, std::string("Untag") + kind.title, kind, *name, context,
      [&](StoreWriter& w, IamEntityRow& fresh) -> Status {
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

}  // namespace coffer::iam
