#include "services/sts/sts_service.h"

namespace coffer::sts {

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

Result<std::string> HandleStsAction(std::string_view action, const RequestContext& ctx,
                                    const std::map<std::string, std::string>&) {
  // https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
  // Needs no permission and never fails for a correctly signed request.
  if (action == "GetCallerIdentity") {
    return "<UserId>" + XmlEscape(ctx.principal.user_id) + "</UserId><Account>" +
           XmlEscape(ctx.principal.account) + "</Account><Arn>" + XmlEscape(ctx.principal.arn) +
           "</Arn>";
  }
  return Status("InvalidAction", "Could not find operation " + std::string(action) +
                                     " for version 2011-06-15 in coffer's STS.");
}

}  // namespace coffer::sts
