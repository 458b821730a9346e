#include "client/aws_client.h"

#include <openssl/crypto.h>

#include <set>

#include "auth/sigv4.h"
#include "core/clock.h"
#include "core/time_format.h"
#include "net/http_client.h"

extern char** environ;

namespace coffer::client {

namespace json = boost::json;

Environment ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

std::string EndpointFor(const ClientSettings& settings, const std::string& service) {
  if (auto it = settings.endpoints.find(service); it != settings.endpoints.end()) {
    return it->second;
  }
  // https://docs.aws.amazon.com/general/latest/gr/rande.html: the China regions use their own
  // domain.
  const bool china = settings.region.rfind("cn-", 0) == 0;
  return "https://" + service + "." + settings.region + ".amazonaws.com" + (china ? ".cn" : "");
}

bool CallFailure::transient() const {
  static const std::set<std::string, std::less<>> kThrottled = {
      "ThrottlingException",  "Throttling",         "TooManyRequestsException",
      "RequestLimitExceeded", "ServiceUnavailable", "ServiceUnavailableException"};
  return http_status == 0 || http_status >= 500 || kThrottled.contains(code);
}

std::string CallFailure::Text() const { return message.empty() ? code : code + ": " + message; }

namespace {

CallFailure FailureFromReply(int status, const std::string& body) {
  CallFailure failure{"UnknownError", "HTTP " + std::to_string(status), status};
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    if (const auto* t = o.if_contains("__type"); t && t->is_string()) {
      std::string type(t->get_string());
      // Some services prefix the code with its namespace: "com.amazonaws...#Code".
      if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
      failure.code = type;
    }
    for (const char* key : {"message", "Message"}) {
      if (const auto* m = o.if_contains(key); m && m->is_string()) {
        failure.message = std::string(m->get_string());
      }
    }
    return failure;
  }
  if (auto code = XmlElementText(body, "Code")) {
    failure.code = *code;
    failure.message = XmlElementText(body, "Message").value_or("");
  }
  return failure;
}

std::string FormEncode(std::string_view s) { return UriEncode(s, false); }

}  // namespace

std::optional<std::string> XmlElementText(const std::string& xml, const std::string& tag) {
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  size_t b = xml.find(open);
  if (b == std::string::npos) return std::nullopt;
  b += open.size();
  size_t e = xml.find(close, b);
  if (e == std::string::npos) return std::nullopt;
  std::string out;
  for (size_t i = b; i < e; ++i) {
    if (xml[i] != '&') {
      out += xml[i];
      continue;
    }
    static const std::pair<const char*, char> kEntities[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    bool matched = false;
    for (const auto& [entity, c] : kEntities) {
      if (xml.compare(i, std::char_traits<char>::length(entity), entity) == 0) {
        out += c;
        i += std::char_traits<char>::length(entity) - 1;
        matched = true;
        break;
      }
    }
    if (!matched) out += '&';
  }
  return out;
}

CallResult<std::string> AwsClient::Send(
    const std::string& service, const std::string& region,
    const std::vector<std::pair<std::string, std::string>>& extra_headers,
    const std::string& content_type, const std::string& body, const std::atomic<bool>* cancel,
    std::optional<std::chrono::seconds> timeout) const {
  CallResult<std::string> result;
  auto url = net::ParseUrl(EndpointFor(settings_, service));
  if (!url.ok()) {
    result.failure = {"InvalidEndpoint", url.status().message(), 0};
    return result;
  }
  const std::string signing_region = region.empty() ? settings_.region : region;
  const AwsCredentials& creds = settings_.credentials;
  const std::string amz_date = FormatAmzDate(SystemClock().NowMillis());
  std::vector<std::pair<std::string, std::string>> signed_headers = {
      {"host", url->host_header}, {"x-amz-date", amz_date}, {"content-type", content_type}};
  for (const auto& header : extra_headers) signed_headers.push_back(header);
  if (!creds.session_token.empty()) {
    signed_headers.emplace_back("x-amz-security-token", creds.session_token);
  }
  net::HttpCall call;
  call.method = "POST";
  call.target = url->path.empty() ? "/" : url->path;
  call.body = body;
  call.ca_bundle = settings_.ca_bundle;
  call.timeout = timeout.value_or(settings_.timeout);
  call.cancel = cancel;
  call.max_response_bytes = 4 << 20;  // a 64 KiB secret, or ten 8 KiB parameters, fit easily
  for (const auto& [name, value] : signed_headers) {
    if (name != "host") call.headers.emplace_back(name, value);
  }
  call.headers.emplace_back(
      "authorization",
      SignRequest(call.method, call.target, signed_headers, body, creds.access_key_id,
                  creds.secret_access_key.Reveal(), amz_date, signing_region, service));
  auto reply = net::Send(*url, call);
  if (!reply.ok()) {
    result.failure = {"ConnectionError", reply.status().message(), 0};
    return result;
  }
  if (reply->status != 200) {
    result.failure = FailureFromReply(reply->status, reply->body);
    OPENSSL_cleanse(reply->body.data(), reply->body.size());
    return result;
  }
  result.value = std::move(reply->body);
  return result;
}

CallResult<json::object> AwsClient::CallJson(const std::string& service, const std::string& target,
                                             const json::object& input, const std::string& region,
                                             const std::atomic<bool>* cancel,
                                             std::optional<std::chrono::seconds> timeout) const {
  CallResult<json::object> result;
  auto sent = Send(service, region, {{"x-amz-target", target}}, "application/x-amz-json-1.1",
                   json::serialize(input), cancel, timeout);
  if (!sent.ok()) {
    result.failure = std::move(sent.failure);
    return result;
  }
  boost::system::error_code ec;
  json::value v = json::parse(*sent.value, ec);
  OPENSSL_cleanse(sent.value->data(), sent.value->size());
  if (ec || !v.is_object()) {
    result.failure = {"SerializationError", "the response is not a JSON object", 200};
    return result;
  }
  result.value = std::move(v.get_object());
  return result;
}

CallResult<std::string> AwsClient::CallQuery(
    const std::string& service, const std::string& action, const std::string& version,
    const std::vector<std::pair<std::string, std::string>>& params,
    const std::string& region) const {
  std::string body = "Action=" + FormEncode(action) + "&Version=" + FormEncode(version);
  for (const auto& [name, value] : params) body += "&" + FormEncode(name) + "=" + FormEncode(value);
  return Send(service, region, {}, "application/x-www-form-urlencoded; charset=utf-8", body);
}

}  // namespace coffer::client
