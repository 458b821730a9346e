// libFuzzer target: every Secrets Manager operation fed arbitrary JSON bodies, against a real
// SQLite store in a temporary directory. The first byte picks the operation.
#include <stdlib.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "crypto/crypto.h"
#include "services/secrets/secrets_service.h"
#include "store/sqlite/sqlite_store.h"

namespace {

struct World {
  World() {
    char tmpl[] = "/tmp/coffer-fuzz-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    store = std::move(coffer::OpenSqliteStore(dir + "/coffer.db").value());
    keyring =
        coffer::Keyring::OpenUnsealedForTest(store.get(), coffer::crypto::RandomSecret(32), &clock);
    service = std::make_unique<coffer::secrets::SecretsService>(store.get(), keyring.get(), &clock);
  }
  coffer::FakeClock clock{1767225600000};
  std::unique_ptr<coffer::Store> store;
  std::unique_ptr<coffer::Keyring> keyring;
  std::unique_ptr<coffer::secrets::SecretsService> service;
};

// Every operation SecretsService serves (its operation table), rotation included (with no
// function registered, RotateSecret is refused after its input is validated).
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
  boost::system::error_code ec;
  boost::json::value body =
      boost::json::parse(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), ec);
  if (ec || !body.is_object()) return 0;
  // The target is the service's handling of input, not policies: every check is allowed.
  static const coffer::AllowAllAuthorizer kAllowAll;
  coffer::RequestContext ctx;
  ctx.authorizer = &kAllowAll;
  ctx.scope = {"123456789012", "us-east-1"};
  ctx.principal.account = "123456789012";
  ctx.now = world.clock.NowMillis();
  (void)world.service->Handle(op, ctx, body.as_object());
  world.clock.Advance(std::chrono::hours(1));
  if (data[0] & 0x80) (void)world.service->PurgeExpired();
  return 0;
}
