#include "keyring/seal_manager.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "store/sqlite/sqlite_store.h"

namespace coffer {
namespace {

// A store initialised with `init` (sealed, as a server starts), its keyring and seal manager.
struct SealedDeployment {
  explicit SealedDeployment(const SealInit& init) {
    char tmpl[] = "/tmp/coffer-seal-XXXXXX";
    dir = mkdtemp(tmpl);
    store = std::move(OpenSqliteStore(dir + "/coffer.db").value());
    keyring = std::make_unique<Keyring>(store.get(), &clock);
    seal = std::make_unique<SealManager>(store.get(), keyring.get());
    EXPECT_TRUE(store
                    ->Write([&](StoreWriter& w) -> Status {
                      COFFER_ASSIGN_OR_RETURN(result, SealManager::Initialize(w, init));
                      return Status::Ok();
                    })
                    .ok());
    EXPECT_TRUE(seal->Load().ok());
  }
  ~SealedDeployment() { std::filesystem::remove_all(dir); }

  FakeClock clock{1767225600000};
  std::string dir;
  std::unique_ptr<Store> store;
  std::unique_ptr<Keyring> keyring;
  std::unique_ptr<SealManager> seal;
  SealInitResult result;
};

SealInit Shamir(int shares, int threshold) {
  return SealInit{.type = SealType::kShamir, .shares = shares, .threshold = threshold};
}

TEST(SealManager, AnyThresholdOfSharesUnsealsAndProgressIsCounted) {
  SealedDeployment d(Shamir(5, 3));
  ASSERT_EQ(d.result.shares.size(), 5u);
  SealStatus s = d.seal->status();
  EXPECT_TRUE(s.sealed);
  EXPECT_EQ(s.type, SealType::kShamir);
  EXPECT_EQ(s.threshold, 3);
  std::string nonce;
  ASSERT_TRUE(d.seal->SubmitShare(d.result.shares[4], "", &nonce).ok());
  EXPECT_FALSE(nonce.empty());
  EXPECT_EQ(d.seal->status().progress, 1);
  EXPECT_EQ(d.seal->SubmitShare(d.result.shares[4], nonce).code(),
            ErrorCode::kInvalidParameterException)
      << "a share given twice";
  EXPECT_EQ(d.seal->SubmitShare(d.result.shares[1], "another-attempt").code(),
            ErrorCode::kInvalidParameterException);
  EXPECT_EQ(d.seal->status().progress, 1) << "refused shares change nothing";
  ASSERT_TRUE(d.seal->SubmitShare(d.result.shares[1], nonce).ok());
  EXPECT_TRUE(d.keyring->sealed());
  ASSERT_TRUE(d.seal->SubmitShare(d.result.shares[2], nonce).ok());
  EXPECT_FALSE(d.keyring->sealed());
  EXPECT_EQ(d.seal->status().progress, 0);
  d.seal->Seal();
  EXPECT_TRUE(d.keyring->sealed());
}

TEST(SealManager, AShareOfAnotherSealIsRefusedAndAResetNeedsTheAttempt) {
  SealedDeployment d(Shamir(3, 2));
  SealedDeployment other(Shamir(3, 2));
  EXPECT_EQ(d.seal->SubmitShare(other.result.shares[0]).code(),
            ErrorCode::kInvalidUnsealKeyException);
  EXPECT_EQ(d.seal->status().progress, 0);
  std::string nonce;
  ASSERT_TRUE(d.seal->SubmitShare(d.result.shares[0], "", &nonce).ok());
  // Someone outside the attempt cannot reset it: neither a wrong nonce nor a foreign share.
  EXPECT_EQ(d.seal->ResetProgress("not-the-nonce").code(), ErrorCode::kInvalidParameterException);
  EXPECT_EQ(d.seal->ResetProgress("", other.result.shares[1]).code(),
            ErrorCode::kInvalidParameterException);
  EXPECT_EQ(d.seal->status().progress, 1);
  ASSERT_TRUE(d.seal->ResetProgress(nonce).ok());
  EXPECT_EQ(d.seal->status().progress, 0);
}

TEST(SealManager, APassphraseSealThrottlesWrongPassphrases) {
  SealInit init{.type = SealType::kPassphrase};
  init.passphrase = SecretBytes(std::string_view("correct horse battery staple"));
  SealedDeployment d(init);
  EXPECT_EQ(d.seal->UnsealWithPassphrase("wrong").code(), ErrorCode::kInvalidUnsealKeyException);
  EXPECT_EQ(d.seal->UnsealWithPassphrase("correct horse battery staple").code(),
            ErrorCode::kThrottlingException)
      << "the next attempt waits its back-off, even with the right passphrase";
  EXPECT_EQ(d.seal->SubmitShare("c2hhcmU=").code(), ErrorCode::kInvalidRequestException)
      << "shares are for the Shamir seal";
  // The back-off after one failure is a second (steady time, not injectable): poll for it.
  Status unsealed = Status(ErrorCode::kThrottlingException, "not tried yet");
  for (int i = 0; i < 100 && !unsealed.ok(); ++i) {
    unsealed = d.seal->UnsealWithPassphrase("correct horse battery staple");
    if (unsealed.code() != ErrorCode::kThrottlingException) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(unsealed.ok()) << unsealed.code() << ": " << unsealed.message();
  EXPECT_FALSE(d.keyring->sealed());
}

TEST(SealManager, BadShareCountsAndAnEmptyPassphraseAreRefusedAtInitialisation) {
  char tmpl[] = "/tmp/coffer-seal-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  auto store = std::move(OpenSqliteStore(dir + "/coffer.db").value());
  for (const SealInit& bad :
       {Shamir(3, 4), Shamir(1, 0), SealInit{.type = SealType::kPassphrase}}) {
    Status s =
        store->Write([&](StoreWriter& w) { return SealManager::Initialize(w, bad).status(); });
    EXPECT_EQ(s.code(), ErrorCode::kInvalidParameter);
  }
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace coffer
