// Rotation functions as stored (their ARNs, registration with the execution-role check and an
// http function's signing key), and the redaction of what a failing function printed.
#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <cctype>
#include <string>
#include <vector>

#include "crypto/crypto.h"
#include "rotation/rotation_engine.h"
#include "services/sts/sts_service.h"

namespace coffer::rotation {
namespace json = boost::json;

bool ParseFunctionArn(const std::string& arn, std::string* account, std::string* region,
                      std::string* name) {
  // arn:aws:lambda:<region>:<account>:function:<name>[:qualifier]
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t colon = arn.find(':', start);
    parts.push_back(arn.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (parts.size() < 7 || parts.size() > 8 || parts[0] != "arn" || parts[2] != "lambda" ||
      parts[5] != "function" || parts[6].empty()) {
    return false;
  }
  *region = parts[3];
  *account = parts[4];
  *name = parts[6];
  return true;
}

std::string SigningKeyPurpose(const std::string& account, const std::string& region,
                              const std::string& name) {
  return "coffer/rotation-function/" + account + "/" + region + "/" + name;
}

Result<std::string> RegisterFunction(Store& store, Keyring& keyring, RotationFunctionRow row) {
  if (!row.role_arn.empty()) {
    COFFER_RETURN_IF_ERROR(store.Read([&](StoreReader& r) -> Status {
      return sts::ServiceMayAssumeRole(r, row.role_arn, row.account, kLambdaPrincipal,
                                       ErrorCode::kInvalidParameterValueException)
          .status();
    }));
  }
  std::string signing_key_hex;
  if (row.kind == RotationFunctionKind::kHttp) {
    SecretBytes key = crypto::RandomSecret(32);
    signing_key_hex = crypto::HexLower(key.data(), key.size());
    auto wrapped = keyring.WrapWithStorageKey(SigningKeyPurpose(row.account, row.region, row.name),
                                              signing_key_hex);
    if (!wrapped.ok()) {
      OPENSSL_cleanse(signing_key_hex.data(), signing_key_hex.size());
      return wrapped.status();
    }
    row.wrapped_signing_key = std::move(wrapped.value());
  }
  Status stored =
      store.Write([&](StoreWriter& w) -> Status { return w.rotation().PutFunction(row); });
  if (!stored.ok()) {
    OPENSSL_cleanse(signing_key_hex.data(), signing_key_hex.size());
    return stored;
  }
  return signing_key_hex;
}

std::string Redact(std::string text, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    if (v.size() < 4) continue;
    for (size_t pos = text.find(v); pos != std::string::npos; pos = text.find(v, pos)) {
      text.replace(pos, v.size(), "****");
      pos += 4;
    }
  }
  return text;
}

std::vector<std::string> EncodingsOf(const std::string& value) {
  std::vector<std::string> out = {value};
  std::string b64 = crypto::Base64Encode(value);
  out.push_back(b64);
  std::string unpadded = b64.substr(0, b64.find_last_not_of('=') + 1);
  out.push_back(unpadded);
  std::string url = unpadded;
  for (char& c : url) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  out.push_back(url);
  std::string hex = crypto::HexLower(reinterpret_cast<const uint8_t*>(value.data()), value.size());
  out.push_back(hex);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out.push_back(hex);
  std::string quoted = json::serialize(json::string(value));
  out.push_back(quoted.substr(1, quoted.size() - 2));
  return out;
}

std::string ErrorSummary(const std::string& message, const std::string& output,
                         const std::vector<std::string>& values, size_t max_bytes) {
  // Redact first, then cut: cutting first could leave part of a value at the edge.
  std::string text = Redact(message, values);
  if (!output.empty()) text += "\n" + Redact(output, values);
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

}  // namespace coffer::rotation
