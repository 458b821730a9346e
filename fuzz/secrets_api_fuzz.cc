// libFuzzer target: arbitrary JSON bodies for every Secrets Manager operation, sent as signed
// requests through the graph the server runs (App::Create: dispatcher, SigV4, the policy
// authorizer, the services) against a real SQLite store in a temporary directory. The first byte
// picks the operation; its top bit also runs the purge of deleted secrets after the call.
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "app/app.h"
#include "auth/sigv4.h"
#include "core/time_format.h"
#include "crypto/crypto.h"
#include "store/sqlite/sqlite_store.h"

namespace {

constexpr char kAccount[] = "123456789012";
constexpr char kRootKey[] = "AKIAFUZZROOT00000000";
constexpr char kRootSecret[] = "fuzz-root-secret-access-key-0000000000000";

struct World {
  World() {
    char tmpl[] = "/tmp/coffer-fuzz-XXXXXX";
    const std::string dir = mkdtemp(tmpl);
    store = std::move(coffer::OpenSqliteStore(dir + "/coffer.db").value());
    keyring =
        coffer::Keyring::OpenUnsealedForTest(store.get(), coffer::crypto::RandomSecret(32), &clock);
    coffer::Status root = store->Write([&](coffer::StoreWriter& w) -> coffer::Status {
      coffer::AccessKeyRow row;
      row.access_key_id = kRootKey;
      row.wrapped_secret =
          keyring
              ->WrapWithStorageKey(coffer::CredentialRegistry::SecretPurpose(kRootKey), kRootSecret)
              .value();
      row.account = kAccount;
      row.principal_arn = std::string("arn:aws:iam::") + kAccount + ":root";
      row.user_id = kAccount;
      return w.credentials().InsertAccessKey(row);
    });
    if (!root.ok()) abort();
    app = coffer::App::Create({}, &clock, {.store = store.get(), .keyring = keyring.get()});
  }

  // A request a client signed with the account's root key. ApiRequest only views its strings
  // (the HTTP server keeps the received ones alive), so this owns them for the call.
  struct SignedRequest {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    coffer::ApiRequest View() const {
      coffer::ApiRequest r;
      r.method = "POST";
      r.target = "/";
      for (const auto& [k, v] : headers) r.headers.emplace_back(k, v);
      r.body = body;
      return r;
    }
  };
  SignedRequest Signed(const std::string& operation, std::string body) const {
    const std::string date = coffer::FormatAmzDate(clock.NowMillis());
    SignedRequest signed_request;
    auto& headers = signed_request.headers;
    headers = {{"content-type", "application/x-amz-json-1.1"},
               {"host", "127.0.0.1:4600"},
               {"x-amz-date", date},
               {"x-amz-target", "secretsmanager." + operation}};
    std::sort(headers.begin(), headers.end());
    std::string auth = coffer::SignRequest("POST", "/", headers, body, kRootKey, kRootSecret, date,
                                           "us-east-1", "secretsmanager");
    headers.emplace_back("authorization", std::move(auth));
    signed_request.body = std::move(body);
    return signed_request;
  }

  coffer::FakeClock clock{1767225600000};
  std::unique_ptr<coffer::Store> store;
  std::unique_ptr<coffer::Keyring> keyring;
  std::unique_ptr<coffer::App> app;
};

// Every operation Secrets Manager serves, rotation included (with no function registered,
// RotateSecret is refused after its input is validated).
constexpr const char* kOperations[] = {
    "CreateSecret",      "GetSecretValue",       "BatchGetSecretValue",
    "PutSecretValue",    "UpdateSecret",         "UpdateSecretVersionStage",
    "DescribeSecret",    "ListSecrets",          "ListSecretVersionIds",
    "DeleteSecret",      "RestoreSecret",        "TagResource",
    "UntagResource",     "GetRandomPassword",    "PutResourcePolicy",
    "GetResourcePolicy", "DeleteResourcePolicy", "ValidateResourcePolicy",
    "RotateSecret",      "CancelRotateSecret"};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  if (size < 1) return 0;
  const char* op = kOperations[data[0] % std::size(kOperations)];
  const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
  const World::SignedRequest request = world.Signed(op, body);
  coffer::ApiResponse response = world.app->dispatcher().Handle(request.View());
  // No input may make the service fail on its own side.
  if (response.status >= 500 && response.status != 503) abort();
  world.clock.Advance(std::chrono::hours(1));
  if (data[0] & 0x80) (void)world.app->jobs().RunEachOnce();
  return 0;
}
