#include "auth/sigv4.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "core/percent_encoding.h"
#include "core/time_format.h"
#include "crypto/crypto.h"

namespace coffer {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
constexpr EpochMillis kMaxSkewMs = 5 * 60 * 1000;
constexpr int64_t kMaxPresignExpiresSeconds = 7 * 24 * 3600;

const char* const kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

AuthError Fail(AuthFailure f, std::string message) { return AuthError{f, std::move(message)}; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Trimall: strip, then collapse runs of spaces to one.
void AppendTrimAll(std::string* out, std::string_view v) {
  v = Trim(v);
  bool in_space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      if (!in_space) out->push_back(' ');
      in_space = true;
    } else {
      out->push_back(c);
      in_space = false;
    }
  }
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t p = s.find(sep, start);
    out.push_back(
        s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) break;
    start = p + 1;
  }
  return out;
}

struct QueryParam {
  std::string name;  // decoded
  std::string value;
};

std::vector<QueryParam> ParseQuery(std::string_view raw) {
  std::vector<QueryParam> out;
  if (raw.empty()) return out;
  for (std::string_view part : Split(raw, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.push_back({PercentDecode(part, false), ""});
    } else {
      out.push_back(
          {PercentDecode(part.substr(0, eq), false), PercentDecode(part.substr(eq + 1), false)});
    }
  }
  return out;
}

// The fields a signature claims, from either the header or the query form.
struct SignatureClaim {
  std::string access_key_id;
  std::string date;  // yyyymmdd from the scope
  std::string region;
  std::string service;
  std::string signed_headers;
  std::string signature;
  std::string amz_date;  // X-Amz-Date (or derived from Date)
  std::string security_token;
  bool presigned = false;
  int64_t expires_seconds = 0;
};

std::optional<AuthError> ParseCredentialScope(std::string_view credential, SignatureClaim* claim) {
  auto parts = Split(credential, '/');
  if (parts.size() < 5 || parts.back() != "aws4_request") {
    return Fail(AuthFailure::kIncomplete,
                "Credential should be scoped to a valid region, not '" +
                    std::string(parts.size() >= 3 ? parts[parts.size() - 3] : "") + "'. ");
  }
  size_t n = parts.size();
  claim->service = std::string(parts[n - 2]);
  claim->region = std::string(parts[n - 3]);
  claim->date = std::string(parts[n - 4]);
  // An access key id never contains '/', but keep everything before the scope just in case.
  std::string akid;
  for (size_t i = 0; i + 4 < n; ++i) {
    if (i) akid += '/';
    akid += parts[i];
  }
  claim->access_key_id = akid;
  if (akid.empty()) return Fail(AuthFailure::kIncomplete, "Credential is missing an access key.");
  return std::nullopt;
}

std::optional<AuthError> ParseAuthorizationHeader(std::string_view value, SignatureClaim* claim) {
  value = Trim(value);
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (value.size() > kAlgorithm.size() && value[kAlgorithm.size()] != ' ')) {
    return Fail(AuthFailure::kIncomplete,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header. Only the AWS4-HMAC-SHA256 algorithm is supported.");
  }
  std::string_view rest = value.substr(kAlgorithm.size());
  std::string credential;
  bool have_credential = false, have_signed = false, have_signature = false;
  for (std::string_view item : Split(rest, ',')) {
    item = Trim(item);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = item.substr(0, eq);
    std::string_view val = item.substr(eq + 1);
    if (key == "Credential") {
      credential = std::string(val);
      have_credential = true;
    } else if (key == "SignedHeaders") {
      claim->signed_headers = std::string(val);
      have_signed = true;
    } else if (key == "Signature") {
      claim->signature = std::string(val);
      have_signature = true;
    }
  }
  std::string missing;
  if (!have_credential) missing += "Authorization header requires 'Credential' parameter. ";
  if (!have_signed) missing += "Authorization header requires 'SignedHeaders' parameter. ";
  if (!have_signature) missing += "Authorization header requires 'Signature' parameter. ";
  if (!missing.empty()) {
    missing += "Authorization=" + std::string(value.substr(0, kAlgorithm.size()));
    return Fail(AuthFailure::kIncomplete, missing);
  }
  return ParseCredentialScope(credential, claim);
}

std::string_view HeaderValue(const SigV4Request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

bool HasHeader(const SigV4Request& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return true;
  }
  return false;
}

std::string CanonicalHeaders(const SigV4Request& r, const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view name : names) {
    out += name;
    out += ':';
    bool first = true;
    for (const auto& [k, v] : r.headers) {
      if (k != name) continue;
      if (!first) out += ',';
      AppendTrimAll(&out, v);
      first = false;
    }
    out += '\n';
  }
  return out;
}

std::atomic<uint64_t> g_signing_key_epoch{0};

void WipeSigningKeys(std::unordered_map<std::string, std::string>* cache) {
  for (auto& [id, key] : *cache) OPENSSL_cleanse(key.data(), key.size());
  cache->clear();
}

std::string DerivedKey(const Credential& cred, std::string_view date, std::string_view region,
                       std::string_view service) {
  // Per-thread cache: no lock on the hot path. Access keys' secrets never change, so the key id
  // identifies the secret. A bump of the epoch (sealing) wipes every thread's cache at its next
  // use.
  thread_local std::unordered_map<std::string, std::string> cache;
  thread_local uint64_t cache_epoch = 0;
  const uint64_t epoch = g_signing_key_epoch.load(std::memory_order_acquire);
  if (cache_epoch != epoch) {
    WipeSigningKeys(&cache);
    cache_epoch = epoch;
  }
  std::string cache_key = cred.principal.access_key_id;
  cache_key += '\n';
  cache_key += date;
  cache_key += '\n';
  cache_key += region;
  cache_key += '\n';
  cache_key += service;
  auto it = cache.find(cache_key);
  if (it != cache.end()) return it->second;
  if (cache.size() > 4096) WipeSigningKeys(&cache);
  std::string key = SigningKey(cred.secret_access_key.Reveal(), date, region, service);
  cache.emplace(std::move(cache_key), key);
  return key;
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string sts;
  sts.reserve(200);
  sts += kAlgorithm;
  sts += '\n';
  sts += amz_date;
  sts += '\n';
  sts += scope;
  sts += '\n';
  sts += crypto::HexLower(crypto::Sha256(canonical_request));
  return sts;
}

std::string LowerHex(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/');
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string CanonicalUri(std::string_view raw_path) {
  if (raw_path.empty()) return "/";
  // Remove dot segments and empty segments the way botocore normalises the path, then encode the
  // (still percent-encoded) path once more: non-S3 services are double-encoded.
  std::vector<std::string_view> out;
  for (std::string_view seg : Split(raw_path, '/')) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(seg);
  }
  std::string path = "/";
  for (size_t i = 0; i < out.size(); ++i) {
    if (i) path += '/';
    path += out[i];
  }
  if (path.size() > 1 && raw_path.back() == '/') path += '/';
  return UriEncode(path, /*keep_slash=*/true);
}

std::string CanonicalQueryString(std::string_view raw_query, bool exclude_signature) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (auto& p : ParseQuery(raw_query)) {
    if (exclude_signature && p.name == "X-Amz-Signature") continue;
    encoded.emplace_back(UriEncode(p.name, false), UriEncode(p.value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (size_t i = 0; i < encoded.size(); ++i) {
    if (i) out += '&';
    out += encoded[i].first;
    out += '=';
    out += encoded[i].second;
  }
  return out;
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string k = "AWS4";
  k += secret;
  auto d = crypto::HmacSha256(k, date);
  OPENSSL_cleanse(k.data(), k.size());
  auto to_sv = [](const crypto::Digest& x) {
    return std::string_view(reinterpret_cast<const char*>(x.data()), x.size());
  };
  auto r = crypto::HmacSha256(to_sv(d), region);
  auto s = crypto::HmacSha256(to_sv(r), service);
  auto sig = crypto::HmacSha256(to_sv(s), "aws4_request");
  return std::string(to_sv(sig));
}

namespace {

// The signature's claims, from the Authorization header or from a presigned URL's query.
std::optional<AuthError> ReadClaim(const SigV4Request& request, std::string_view raw_query,
                                   SignatureClaim* claim) {
  std::string_view authorization = HeaderValue(request, "authorization");
  if (HasHeader(request, "authorization")) {
    if (auto err = ParseAuthorizationHeader(authorization, claim)) return *err;
    claim->amz_date = std::string(HeaderValue(request, "x-amz-date"));
    if (claim->amz_date.empty()) {
      // botocore and the AWS docs allow the HTTP Date header instead of X-Amz-Date.
      if (auto t = ParseHttpDate(Trim(HeaderValue(request, "date")))) {
        claim->amz_date = FormatAmzDate(*t);
      }
    }
    claim->security_token = std::string(HeaderValue(request, "x-amz-security-token"));
  } else {
    bool has_signature = false;
    std::string algorithm, credential, expires;
    for (auto& p : ParseQuery(raw_query)) {
      if (p.name == "X-Amz-Signature") {
        claim->signature = p.value;
        has_signature = true;
      } else if (p.name == "X-Amz-Algorithm") {
        algorithm = p.value;
      } else if (p.name == "X-Amz-Credential") {
        credential = p.value;
      } else if (p.name == "X-Amz-Date") {
        claim->amz_date = p.value;
      } else if (p.name == "X-Amz-Expires") {
        expires = p.value;
      } else if (p.name == "X-Amz-SignedHeaders") {
        claim->signed_headers = p.value;
      } else if (p.name == "X-Amz-Security-Token") {
        claim->security_token = p.value;
      }
    }
    if (!has_signature && algorithm.empty()) {
      return Fail(AuthFailure::kMissing, "Request is missing Authentication Token");
    }
    if (algorithm != kAlgorithm || credential.empty() || claim->signed_headers.empty() ||
        claim->amz_date.empty() || !has_signature) {
      return Fail(AuthFailure::kIncomplete,
                  "AWS query-string parameters must include 'X-Amz-Algorithm', "
                  "'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders' and "
                  "'X-Amz-Date'. Only AWS4-HMAC-SHA256 is supported.");
    }
    if (auto err = ParseCredentialScope(credential, claim)) return *err;
    claim->presigned = true;
    claim->expires_seconds = 900;
    if (!expires.empty()) {
      char* end = nullptr;
      long long v = std::strtoll(expires.c_str(), &end, 10);
      if (*end != '\0' || v < 1 || v > kMaxPresignExpiresSeconds) {
        return Fail(AuthFailure::kIncomplete,
                    "X-Amz-Expires must be a number of seconds between 1 and 604800.");
      }
      claim->expires_seconds = v;
    }
  }
  return std::nullopt;
}

// The request's time against its credential scope's date and against `now`: AWS's 5-minute
// skew, or a presigned URL's expiry.
std::optional<AuthError> CheckRequestTime(const SignatureClaim& claim, EpochMillis now) {
  auto request_time = ParseAmzDate(claim.amz_date);
  if (!request_time) {
    return Fail(AuthFailure::kIncomplete,
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                "header.");
  }
  if (claim.amz_date.substr(0, 8) != claim.date) {
    return Fail(AuthFailure::kBadSignature,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP: '" +
                    claim.date + "' != '" + claim.amz_date.substr(0, 8) + "', from '" +
                    claim.amz_date + "'.");
  }
  if (claim.presigned) {
    if (now > *request_time + claim.expires_seconds * 1000) {
      return Fail(AuthFailure::kBadSignature,
                  "Signature expired: " + claim.amz_date + " is now earlier than " +
                      FormatAmzDate(now - claim.expires_seconds * 1000) + " (" +
                      FormatAmzDate(now) + " - " + std::to_string(claim.expires_seconds) +
                      " sec.)");
    }
    if (*request_time > now + kMaxSkewMs) {
      return Fail(AuthFailure::kBadSignature,
                  "Signature not yet current: " + claim.amz_date + " is still later than " +
                      FormatAmzDate(now + kMaxSkewMs) + " (" + FormatAmzDate(now) + " + 5 min.)");
    }
  } else {
    if (*request_time < now - kMaxSkewMs) {
      return Fail(AuthFailure::kBadSignature,
                  "Signature expired: " + claim.amz_date + " is now earlier than " +
                      FormatAmzDate(now - kMaxSkewMs) + " (" + FormatAmzDate(now) + " - 5 min.)");
    }
    if (*request_time > now + kMaxSkewMs) {
      return Fail(AuthFailure::kBadSignature,
                  "Signature not yet current: " + claim.amz_date + " is still later than " +
                      FormatAmzDate(now + kMaxSkewMs) + " (" + FormatAmzDate(now) + " + 5 min.)");
    }
  }
  return std::nullopt;
}

// Signed headers: lowercase, sorted, unique, including host, and covering X-Amz-Target and
// Content-Type when they are sent.
std::optional<AuthError> CheckSignedHeaders(const SigV4Request& request,
                                            const std::vector<std::string_view>& names) {
  bool has_host = false;
  for (size_t i = 0; i < names.size(); ++i) {
    std::string_view n = names[i];
    if (n.empty() || (i > 0 && !(names[i - 1] < n))) {
      return Fail(AuthFailure::kIncomplete,
                  "SignedHeaders must be lowercase, sorted and separated by ';'.");
    }
    for (char c : n) {
      if (c >= 'A' && c <= 'Z') {
        return Fail(AuthFailure::kIncomplete,
                    "SignedHeaders must be lowercase, sorted and separated by ';'.");
      }
    }
    if (n == "host") has_host = true;
  }
  if (!has_host) {
    return Fail(AuthFailure::kIncomplete,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  // X-Amz-Target chooses the operation, and with it Content-Type the protocol: a request whose
  // signature does not cover them could be replayed as another operation. Every AWS SDK and the
  // CLI sign every header they send, so only a forged or rewritten request fails here.
  if (HasHeader(request, "x-amz-target")) {
    for (std::string_view required :
         {std::string_view("x-amz-target"), std::string_view("content-type")}) {
      if (!HasHeader(request, required)) continue;
      if (std::find(names.begin(), names.end(), required) == names.end()) {
        return Fail(AuthFailure::kIncomplete,
                    std::string(required == "x-amz-target" ? "'X-Amz-Target'" : "'Content-Type'") +
                        " must be a 'SignedHeader' in the AWS Authorization.");
      }
    }
  }
  return std::nullopt;
}

// The payload hashes a valid signature may have been computed over: the body's, or
// UNSIGNED-PAYLOAD where an unsigned body is acceptable (presigned URLs, TLS).
std::optional<AuthError> PayloadHashes(const SigV4Request& request, const SignatureClaim& claim,
                                       std::vector<std::string>* hashes) {
  std::string body_hash = crypto::HexLower(crypto::Sha256(request.body));
  if (claim.presigned) {
    // A presigned URL cannot know its body; UNSIGNED-PAYLOAD stands for it. A body that nothing
    // signed is acceptable only where TLS protects it, as in the header form.
    if (request.body.empty() || request.secure_transport) {
      *hashes = {std::string(kUnsignedPayload), body_hash};
    } else {
      *hashes = {body_hash};
    }
  } else if (HasHeader(request, "x-amz-content-sha256")) {
    std::string declared(Trim(HeaderValue(request, "x-amz-content-sha256")));
    if (declared == kUnsignedPayload) {
      // An unsigned body is only acceptable where TLS protects its integrity.
      if (!request.secure_transport) {
        return Fail(AuthFailure::kBadSignature,
                    "UNSIGNED-PAYLOAD is accepted only over TLS; sign the payload.");
      }
    } else if (LowerHex(declared) != body_hash) {
      return Fail(AuthFailure::kBadSignature,
                  "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    *hashes = {declared};
  } else {
    *hashes = {body_hash};
  }
  return std::nullopt;
}

}  // namespace

std::variant<VerifiedCaller, AuthError> VerifySigV4(const SigV4Request& request,
                                                    CredentialSource& credentials, EpochMillis now,
                                                    EpochMillis signature_now) {
  std::string_view path = request.target;
  std::string_view raw_query;
  if (size_t q = request.target.find('?'); q != std::string_view::npos) {
    path = request.target.substr(0, q);
    raw_query = request.target.substr(q + 1);
  }

  SignatureClaim claim;
  if (auto err = ReadClaim(request, raw_query, &claim)) return *err;

  auto found = credentials.Find(claim.access_key_id);
  if (!found.ok()) {
    return Fail(AuthFailure::kUnavailable,
                "The service is unavailable: the credentials could not be checked. Retry.");
  }
  auto credential = std::move(found.value());
  if (!credential) {
    return Fail(AuthFailure::kUnknownKey, "The security token included in the request is invalid.");
  }

  // A failure from here on is one with a known key: it names the key's account.
  auto owned = [&](AuthError e) {
    e.key_account = credential->principal.account;
    e.region = claim.region;
    e.access_key_id = claim.access_key_id;
    return e;
  };
  if (auto err = CheckRequestTime(claim, signature_now)) return owned(*err);

  // Signed headers: lowercase, sorted, unique, including host.
  auto names = Split(claim.signed_headers, ';');
  if (auto err = CheckSignedHeaders(request, names)) return owned(*err);

  std::vector<std::string> payload_hashes;
  if (auto err = PayloadHashes(request, claim, &payload_hashes)) return owned(*err);

  std::string canonical_prefix;
  canonical_prefix += request.method;
  canonical_prefix += '\n';
  canonical_prefix += CanonicalUri(path);
  canonical_prefix += '\n';
  canonical_prefix += CanonicalQueryString(raw_query, claim.presigned);
  canonical_prefix += '\n';
  canonical_prefix += CanonicalHeaders(request, names);
  canonical_prefix += '\n';
  canonical_prefix += claim.signed_headers;
  canonical_prefix += '\n';

  std::string scope = claim.date + "/" + claim.region + "/" + claim.service + "/aws4_request";
  std::string key = DerivedKey(*credential, claim.date, claim.region, claim.service);
  std::string provided = LowerHex(claim.signature);
  bool matched = false;
  bool payload_signed = false;
  for (const auto& hash : payload_hashes) {
    std::string sts = StringToSign(claim.amz_date, scope, canonical_prefix + hash);
    std::string expected = crypto::HexLower(crypto::HmacSha256(key, sts));
    if (crypto::ConstantTimeEquals(expected, provided)) {
      matched = true;
      payload_signed = hash != kUnsignedPayload || request.body.empty();
    }
  }
  if (!matched) return owned(Fail(AuthFailure::kBadSignature, kSignatureMismatch));

  // Session token: required for and only for temporary credentials.
  if (!credential->session_token_sha256.empty() || !claim.security_token.empty()) {
    if (claim.security_token.empty() ||
        !crypto::ConstantTimeEquals(credential->session_token_sha256,
                                    crypto::HexLower(crypto::Sha256(claim.security_token)))) {
      return owned(
          Fail(AuthFailure::kUnknownKey, "The security token included in the request is invalid."));
    }
    if (credential->expires_ms && now >= *credential->expires_ms) {
      return owned(Fail(AuthFailure::kExpiredToken,
                        "The security token included in the request is expired"));
    }
  }

  return VerifiedCaller{std::move(credential), claim.region, claim.service, claim.presigned,
                        payload_signed};
}

std::string SignRequest(std::string_view method, std::string_view target,
                        const std::vector<std::pair<std::string, std::string>>& headers,
                        std::string_view body, std::string_view access_key_id,
                        std::string_view secret, std::string_view amz_date, std::string_view region,
                        std::string_view service) {
  std::string_view path = target, query;
  if (size_t q = target.find('?'); q != std::string_view::npos) {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
  SigV4Request r;
  std::vector<std::string_view> names;
  std::string signed_headers;
  for (const auto& [k, v] : headers) {
    r.headers.emplace_back(k, v);
    names.push_back(k);
  }
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) signed_headers += ';';
    signed_headers += names[i];
  }
  std::string canonical = std::string(method) + "\n" + CanonicalUri(path) + "\n" +
                          CanonicalQueryString(query, false) + "\n" + CanonicalHeaders(r, names) +
                          "\n" + signed_headers + "\n" + crypto::HexLower(crypto::Sha256(body));
  std::string date(amz_date.substr(0, 8));
  std::string scope =
      date + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  std::string key = SigningKey(secret, date, region, service);
  std::string sig =
      crypto::HexLower(crypto::HmacSha256(key, StringToSign(amz_date, scope, canonical)));
  return std::string(kAlgorithm) + " Credential=" + std::string(access_key_id) + "/" + scope +
         ", SignedHeaders=" + signed_headers + ", Signature=" + sig;
}

void ForgetCachedSigningKeys() { g_signing_key_epoch.fetch_add(1, std::memory_order_acq_rel); }

}  // namespace coffer
