#include "server/bootstrap.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "crypto/crypto.h"
#include "keyring/shamir.h"
#include "store/sqlite/sqlite_store.h"

namespace coffer {
namespace {

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-bootstrap-XXXXXX";
    root_ = mkdtemp(tmpl);
    dir_ = root_ + "/data";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  BootstrapOptions Options(SealType type) {
    BootstrapOptions o;
    o.data_dir = dir_;
    o.account_id = "123456789012";
    o.seal.type = type;
    o.seal.shares = 3;
    o.seal.threshold = 2;
    o.seal.passphrase = SecretBytes(std::string_view("correct horse battery staple"));
    return o;
  }

  // Every byte of every file under the data directory.
  std::string DataDirBytes() {
    std::string all;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }

  // Writes a value under a customer KMS key and a String parameter-like storage-key value, so
  // that the store holds key material of every kind.
  void UseKeys(Deployment& d) {
    Scope scope{"123456789012", "us-east-1"};
    auto key = d.keyring->ResolveKey(scope, "", "secretsmanager", ErrorCode::kNotFoundException);
    ASSERT_TRUE(key.ok());
    ASSERT_TRUE(d.keyring->SealValue(*key, "ctx", "value").ok());
  }

  // The unseal key in a root.key file ("coffer-root-key-v1 <64 hex digits>").
  static SecretBytes ReadFileKeyForTest(const std::string& path) {
    std::ifstream in(path);
    std::string header, hex;
    in >> header >> hex;
    SecretBytes key(32);
    for (size_t i = 0; i < 32 && hex.size() == 64; ++i) {
      key.data()[i] = static_cast<uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
    return key;
  }

  // A root.key made for another data directory.
  std::string ReadyKeyFile() {
    auto o = Options(SealType::kFile);
    o.data_dir = root_ + "/donor";
    { EXPECT_TRUE(OpenDeployment(o, &clock_).ok()); }
    return o.data_dir + "/root.key";
  }

  FakeClock clock_{1700000000000};
  std::string root_;
  std::string dir_;
};

TEST_F(BootstrapTest, FileSealInitialisesOnceAndUnsealsItselfAtEveryOpen) {
  {
    auto d = OpenDeployment(Options(SealType::kFile), &clock_);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_TRUE(d->initialized_now);
    EXPECT_FALSE(d->keyring->sealed());
    EXPECT_FALSE(d->credentials_file.empty());
    struct stat st;
    ASSERT_EQ(::stat((dir_ + "/root.key").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    UseKeys(*d);
  }
  auto again = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_FALSE(again->initialized_now);
  EXPECT_FALSE(again->keyring->sealed());
  EXPECT_EQ(again->seal->type(), SealType::kFile);
}

TEST_F(BootstrapTest, InitRefusesAnInitialisedDirectory) {
  ASSERT_TRUE(OpenDeployment(Options(SealType::kShamir), &clock_).ok());
  auto o = Options(SealType::kPassphrase);
  o.must_be_new = true;
  auto second = OpenDeployment(o, &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("already initialised"), std::string::npos);
}

// Key material is never replaced implicitly: each way a data directory can lose half of
// itself is refused, with the key file left exactly as it was.
TEST_F(BootstrapTest, AMissingOrEmptyStoreBesideARootKeyIsRefusedAndTheKeyKept) {
  { ASSERT_TRUE(OpenDeployment(Options(SealType::kFile), &clock_).ok()); }
  const std::string key_before = [&] {
    std::ifstream in(dir_ + "/root.key");
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  for (const char* damage : {"missing", "empty"}) {
    std::filesystem::remove(dir_ + "/coffer.db-wal");
    std::filesystem::remove(dir_ + "/coffer.db-shm");
    if (std::string(damage) == "missing") {
      std::filesystem::rename(dir_ + "/coffer.db", root_ + "/kept.db");
    } else {
      std::ofstream(dir_ + "/coffer.db", std::ios::trunc).flush();
    }
    auto d = OpenDeployment(Options(SealType::kFile), &clock_);
    ASSERT_FALSE(d.ok()) << damage;
    EXPECT_EQ(d.status().code(), ErrorCode::kFailedPrecondition);
    EXPECT_NE(d.status().message().find("coffer.db is missing or empty"), std::string::npos)
        << d.status().message();
    EXPECT_NE(d.status().message().find("Restore coffer.db"), std::string::npos);
    std::ifstream in(dir_ + "/root.key");
    EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>()),
              key_before)
        << damage;
    if (std::string(damage) == "missing") {
      std::filesystem::rename(root_ + "/kept.db", dir_ + "/coffer.db");
      // Restored: the store opens with the key it was made with.
      auto restored = OpenDeployment(Options(SealType::kFile), &clock_);
      ASSERT_TRUE(restored.ok()) << restored.status().message();
      EXPECT_FALSE(restored->keyring->sealed());
    }
  }
}

TEST_F(BootstrapTest, AStoreWithoutItsRootKeyOrWithAnotherOneIsRefused) {
  { ASSERT_TRUE(OpenDeployment(Options(SealType::kFile), &clock_).ok()); }
  std::filesystem::rename(dir_ + "/root.key", root_ + "/root.key");
  auto missing = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("root.key is missing"), std::string::npos)
      << missing.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/root.key"));  // nothing generated in its place

  // Another data directory's key.
  const std::string other = root_ + "/other";
  auto o = Options(SealType::kFile);
  o.data_dir = other;
  { ASSERT_TRUE(OpenDeployment(o, &clock_).ok()); }
  std::filesystem::copy_file(other + "/root.key", dir_ + "/root.key");
  auto mismatch = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(mismatch.status().message().find("root.key does not open"), std::string::npos)
      << mismatch.status().message();
}

TEST_F(BootstrapTest, OnlyAnEmptyDirectoryIsInitialised) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  std::ofstream(dir_ + "/notes.txt") << "not coffer's";
  auto foreign = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("is not empty (it holds notes.txt)"), std::string::npos)
      << foreign.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/coffer.db"));
  std::filesystem::remove(dir_ + "/notes.txt");

  // A root.key with no initialised store is another store's key.
  std::filesystem::copy_file(ReadyKeyFile(), dir_ + "/root.key");
  auto orphan = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_FALSE(orphan.ok());
  EXPECT_EQ(orphan.status().code(), ErrorCode::kFailedPrecondition);
  std::filesystem::remove(dir_ + "/root.key");
  std::filesystem::remove(dir_ + "/coffer.db");

  // What an initialisation interrupted before its commit leaves (a staged key, a credentials
  // file) is replaced.
  std::ofstream(dir_ + "/root.key.next") << "coffer-root-key-v1 " << std::string(64, 'a') << "\n";
  std::ofstream(dir_ + "/root-credentials") << "[coffer]\n";
  ::chmod((dir_ + "/root.key.next").c_str(), 0600);
  auto fresh = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_TRUE(fresh.ok()) << fresh.status().message();
  EXPECT_TRUE(fresh->initialized_now);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/root.key.next"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/root.key"));
}

TEST_F(BootstrapTest, ASecondOpenOfADirectoryInUseIsRefused) {
  auto first = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_TRUE(first.ok());
  auto second = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("in use by another coffer process"), std::string::npos)
      << second.status().message();
}

TEST_F(BootstrapTest, ARootKeyThatIsADirectoryIsAClearError) {
  { ASSERT_TRUE(OpenDeployment(Options(SealType::kFile), &clock_).ok()); }
  std::filesystem::remove(dir_ + "/root.key");
  ASSERT_EQ(::mkdir((dir_ + "/root.key").c_str(), 0700), 0);
  auto d = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("root.key is a directory"), std::string::npos)
      << d.status().message();
}

TEST_F(BootstrapTest, PassphraseSealOpensSealedWithoutThePassphraseAndRefusesAWrongOne) {
  std::string key_id;
  {
    auto d = OpenDeployment(Options(SealType::kPassphrase), &clock_);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_TRUE(d->credentials_file.empty());  // nothing secret outside the store
    EXPECT_FALSE(d->generated_key_id.empty());
    key_id = d->generated_key_id;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/root.key"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/root-credentials"));

  auto sealed = OpenDeployment(Options(SealType::kPassphrase), &clock_);
  ASSERT_TRUE(sealed.ok());
  EXPECT_TRUE(sealed->keyring->sealed());
  EXPECT_EQ(sealed->seal->status().type, SealType::kPassphrase);
  EXPECT_EQ(sealed->seal->UnsealWithPassphrase("wrong").code(),
            ErrorCode::kInvalidUnsealKeyException);
  EXPECT_TRUE(sealed->keyring->sealed());
  EXPECT_EQ(sealed->seal->SubmitShare("AQID").code(), ErrorCode::kInvalidRequestException);
  // A wrong passphrase makes the next attempt wait (1 s, doubling with each failure), so the
  // unauthenticated endpoint cannot be used to guess at PBKDF2's pace.
  EXPECT_EQ(sealed->seal->UnsealWithPassphrase("correct horse battery staple").code(),
            ErrorCode::kThrottlingException);
  EXPECT_TRUE(sealed->keyring->sealed());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(sealed->seal->UnsealWithPassphrase("wrong again").code(),
            ErrorCode::kInvalidUnsealKeyException);
  EXPECT_EQ(sealed->seal->UnsealWithPassphrase("correct horse battery staple").code(),
            ErrorCode::kThrottlingException);  // now 2 s
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(sealed->seal->UnsealWithPassphrase("correct horse battery staple").code(),
            ErrorCode::kThrottlingException);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_TRUE(sealed->seal->UnsealWithPassphrase("correct horse battery staple").ok());
  EXPECT_FALSE(sealed->keyring->sealed());
  sealed->store.reset();
  sealed->lock = DataDirLock();  // as the process ending would

  auto o = Options(SealType::kPassphrase);
  o.passphrase = SecretBytes(std::string_view("wrong"));
  auto wrong = OpenDeployment(o, &clock_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), ErrorCode::kInvalidUnsealKeyException);
  o.passphrase = SecretBytes(std::string_view("correct horse battery staple"));
  auto right = OpenDeployment(o, &clock_);
  ASSERT_TRUE(right.ok());
  EXPECT_FALSE(right->keyring->sealed());
}

TEST_F(BootstrapTest, ShamirSealNeedsThresholdSharesFromOneAttempt) {
  std::vector<std::string> shares;
  {
    auto d = OpenDeployment(Options(SealType::kShamir), &clock_);
    ASSERT_TRUE(d.ok()) << d.status().message();
    shares = d->shares;
  }
  ASSERT_EQ(shares.size(), 3u);
  auto d = OpenDeployment(Options(SealType::kShamir), &clock_);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->keyring->sealed());
  EXPECT_EQ(d->seal->SubmitShare("not a share!").code(), ErrorCode::kInvalidParameterException);
  std::string nonce;
  ASSERT_TRUE(d->seal->SubmitShare(shares[0], "", &nonce).ok());
  EXPECT_FALSE(nonce.empty());
  EXPECT_EQ(d->seal->status().progress, 1);
  EXPECT_EQ(d->seal->SubmitShare(shares[0], nonce).code(), ErrorCode::kInvalidParameterException);
  EXPECT_TRUE(d->keyring->sealed());

  // A share of another deployment is refused on arrival and changes nothing.
  std::string other_dir = root_ + "/other";
  auto o = Options(SealType::kShamir);
  o.data_dir = other_dir;
  std::string foreign;
  {
    auto other = OpenDeployment(o, &clock_);
    ASSERT_TRUE(other.ok());
    foreign = other->shares[1];
  }
  EXPECT_EQ(d->seal->SubmitShare(foreign, nonce).code(), ErrorCode::kInvalidUnsealKeyException);
  EXPECT_EQ(d->seal->status().progress, 1);

  // A share meant for another attempt is refused; nobody outside the attempt resets it.
  EXPECT_EQ(d->seal->SubmitShare(shares[2], "guess").code(), ErrorCode::kInvalidParameterException);
  EXPECT_EQ(d->seal->ResetProgress("").code(), ErrorCode::kInvalidParameterException);
  EXPECT_EQ(d->seal->ResetProgress("guess").code(), ErrorCode::kInvalidParameterException);
  EXPECT_EQ(d->seal->ResetProgress("", foreign).code(), ErrorCode::kInvalidParameterException);
  EXPECT_EQ(d->seal->status().progress, 1);
  EXPECT_TRUE(d->keyring->sealed());

  // A share of this seal needs no nonce: the share is the proof.
  ASSERT_TRUE(d->seal->SubmitShare(shares[2]).ok());
  EXPECT_FALSE(d->keyring->sealed());
  EXPECT_EQ(d->seal->status().progress, 0);

  d->seal->Seal();
  EXPECT_TRUE(d->keyring->sealed());
  std::string second;
  ASSERT_TRUE(d->seal->SubmitShare(shares[1], nonce, &second).ok());  // a stale nonce, no attempt
  EXPECT_NE(second, nonce);
  ASSERT_TRUE(d->seal->ResetProgress(second).ok());
  EXPECT_EQ(d->seal->status().progress, 0);
  ASSERT_TRUE(d->seal->SubmitShare(shares[1], "", &second).ok());
  ASSERT_TRUE(d->seal->ResetProgress("", shares[0]).ok());  // a share holder may reset
  EXPECT_EQ(d->seal->status().progress, 0);
  ASSERT_TRUE(d->seal->SubmitShare(shares[1], "", &second).ok());
  ASSERT_TRUE(d->seal->SubmitShare(shares[0], second).ok());
  EXPECT_FALSE(d->keyring->sealed());
}

// Data directories initialised before share digests were recorded check shares only when they
// are combined: a wrong combination resets the progress.
TEST_F(BootstrapTest, ShamirSealWithoutDigestsResetsAfterAWrongCombination) {
  std::vector<std::string> shares;
  {
    auto d = OpenDeployment(Options(SealType::kShamir), &clock_);
    ASSERT_TRUE(d.ok());
    shares = d->shares;
    ASSERT_TRUE(
        d->store
            ->Write([](StoreWriter& w) { return w.deployment().PutMeta("seal_share_digests", ""); })
            .ok());
  }
  std::string foreign;
  {
    auto o = Options(SealType::kShamir);
    o.data_dir = root_ + "/other";
    auto other = OpenDeployment(o, &clock_);
    ASSERT_TRUE(other.ok());
    foreign = other->shares[1];
  }
  auto d = OpenDeployment(Options(SealType::kShamir), &clock_);
  ASSERT_TRUE(d.ok());
  std::string nonce;
  ASSERT_TRUE(d->seal->SubmitShare(shares[0], "", &nonce).ok());
  EXPECT_EQ(d->seal->SubmitShare(foreign, nonce).code(), ErrorCode::kInvalidUnsealKeyException);
  EXPECT_TRUE(d->keyring->sealed());
  EXPECT_EQ(d->seal->status().progress, 0);
  ASSERT_TRUE(d->seal->SubmitShare(shares[2], "", &nonce).ok());
  ASSERT_TRUE(d->seal->SubmitShare(shares[1], nonce).ok());
  EXPECT_FALSE(d->keyring->sealed());
}

// A rekey replaces the unseal key: new shares open the store, the old ones (and an old copy of
// root.key) do not; a crash between the store's commit and the key file's rename is finished
// at the next start.
TEST_F(BootstrapTest, RekeyReplacesTheUnsealKeyAndTheOldOnesStopWorking) {
  std::string old_key_file;
  {
    auto d = OpenDeployment(Options(SealType::kFile), &clock_);
    ASSERT_TRUE(d.ok());
    UseKeys(*d);
    std::ifstream in(dir_ + "/root.key");
    old_key_file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    SealInit init;
    init.type = SealType::kShamir;
    init.shares = 3;
    init.threshold = 2;
    auto rekeyed = d->seal->Rekey(init, d->key_file.get());
    ASSERT_TRUE(rekeyed.ok()) << rekeyed.status().message();
    EXPECT_EQ(rekeyed->shares.size(), 3u);
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/root.key"));
    EXPECT_EQ(d->seal->type(), SealType::kShamir);
    // Still unsealed, and a root rotation after the rekey wraps under the new unseal key.
    ASSERT_TRUE(d->keyring->RotateRoot().ok());
    UseKeys(*d);
    std::string shares_text;
    for (const auto& share : rekeyed->shares) shares_text += share + "\n";
    std::ofstream(dir_ + "/shares") << shares_text;
  }
  // The old key file, put back, opens nothing.
  {
    std::ofstream out(dir_ + "/root.key");
    out << old_key_file;
  }
  std::filesystem::permissions(
      dir_ + "/root.key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::vector<std::string> shares;
  {
    std::ifstream in(dir_ + "/shares");
    std::string line;
    while (std::getline(in, line)) shares.push_back(line);
  }
  std::filesystem::remove(dir_ + "/shares");
  {
    auto d = OpenDeployment(Options(SealType::kShamir), &clock_);
    ASSERT_TRUE(d.ok()) << d.status().message();
    EXPECT_TRUE(d->keyring->sealed());  // the stale root.key is not the seal any more
    auto legacy = ReadFileKeyForTest(dir_ + "/root.key");
    EXPECT_EQ(d->seal->UnsealWithKey(legacy).code(), ErrorCode::kInvalidUnsealKeyException);
    std::string nonce;
    ASSERT_TRUE(d->seal->SubmitShare(shares[2], "", &nonce).ok());
    ASSERT_TRUE(d->seal->SubmitShare(shares[0], nonce).ok());
    ASSERT_FALSE(d->keyring->sealed());
    UseKeys(*d);
    // Back to the file seal; then a crash after commit, before the rename.
    std::filesystem::remove(dir_ + "/root.key");
    SealInit init;
    init.type = SealType::kFile;
    ASSERT_TRUE(d->seal->Rekey(init, d->key_file.get()).ok());
    ASSERT_TRUE(std::filesystem::exists(dir_ + "/root.key"));
    std::filesystem::rename(dir_ + "/root.key", dir_ + "/root.key.next");
    std::ofstream(dir_ + "/root.key") << old_key_file;
    std::filesystem::permissions(dir_ + "/root.key", std::filesystem::perms::owner_read |
                                                         std::filesystem::perms::owner_write);
  }
  auto d = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_FALSE(d->keyring->sealed());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/root.key.next"));
  UseKeys(*d);
  // And the passphrase seal: the new passphrase opens it, nothing else does.
  SealInit init;
  init.type = SealType::kPassphrase;
  init.passphrase = SecretBytes(std::string_view("a new passphrase"));
  ASSERT_TRUE(d->seal->Rekey(init, d->key_file.get()).ok());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/root.key"));
  d->store.reset();
  d->lock = DataDirLock();
  d = OpenDeployment(Options(SealType::kPassphrase), &clock_);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->keyring->sealed());
  ASSERT_TRUE(d->seal->UnsealWithPassphrase("a new passphrase").ok());
  UseKeys(*d);
}

// With a non-file seal no key of the hierarchy is on disk unwrapped. The test rebuilds every
// key from the shares and the store's documented layout, then looks for each (raw, hex and
// base64) in every file of the data directory.
TEST_F(BootstrapTest, NoUnwrappedKeyIsOnDiskWithAShamirSeal) {
  std::vector<std::string> share_texts;
  {
    auto d = OpenDeployment(Options(SealType::kShamir), &clock_);
    ASSERT_TRUE(d.ok());
    share_texts = d->shares;
    UseKeys(*d);
    ASSERT_TRUE(d->keyring->RotateRoot().ok());
    UseKeys(*d);
  }
  std::vector<ShamirShare> shares;
  for (const auto& text : share_texts) shares.push_back(DecodeShare(text).value());
  SecretBytes unseal_key = CombineShares({shares[0], shares[2]}).value();

  std::vector<std::string> keys = {std::string(unseal_key.Reveal())};
  auto store = OpenSqliteStore(dir_ + "/coffer.db").value();
  ASSERT_TRUE(
      store
          ->Read([&](StoreReader& r) -> Status {
            auto root_meta = r.deployment().GetMeta("root_key").value().value();
            int generation = std::stoi(root_meta.substr(0, root_meta.find(' ')));
            EXPECT_EQ(generation, 2);
            auto wrapped = crypto::Base64Decode(root_meta.substr(root_meta.find(' ') + 1));
            auto root = crypto::AesGcmOpen(
                unseal_key, "coffer/root-key/" + std::to_string(generation), *wrapped);
            EXPECT_TRUE(root.has_value());
            if (!root) return Status::Ok();
            keys.emplace_back(root->Reveal());
            auto storage = crypto::AesGcmOpen(
                *root, "coffer/storage-key",
                *crypto::Base64Decode(r.deployment().GetMeta("storage_key").value().value()));
            EXPECT_TRUE(storage.has_value());
            if (storage) keys.emplace_back(storage->Reveal());
            COFFER_ASSIGN_OR_RETURN(auto materials, r.kms().ListAllMaterials());
            EXPECT_EQ(materials.size(), 1u);
            for (const auto& m : materials) {
              auto material =
                  crypto::AesGcmOpen(*root, MaterialPurpose(m.key_id, m.version), m.wrapped);
              EXPECT_TRUE(material.has_value());
              if (material) keys.emplace_back(material->Reveal());
            }
            return Status::Ok();
          })
          .ok());
  store.reset();
  ASSERT_EQ(keys.size(), 4u);
  const std::string disk = DataDirBytes();
  ASSERT_GT(disk.size(), 10000u);
  for (const auto& key : keys) {
    ASSERT_EQ(key.size(), 32u);
    EXPECT_EQ(disk.find(key), std::string::npos);
    EXPECT_EQ(disk.find(crypto::HexLower(reinterpret_cast<const uint8_t*>(key.data()), 32)),
              std::string::npos);
    EXPECT_EQ(disk.find(crypto::Base64Encode(key).substr(0, 40)), std::string::npos);
  }
  for (const auto& text : share_texts) EXPECT_EQ(disk.find(text), std::string::npos);
}

TEST_F(BootstrapTest, AStoreFromBeforeSealTypesIsAdoptedUnderItsRootKeyFile) {
  // The earlier layout: material wrapped directly by the key in root.key, no seal meta.
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  SecretBytes file_key = crypto::RandomSecret(32);
  {
    std::ofstream out(dir_ + "/root.key");
    out << "coffer-root-key-v1 " << crypto::HexLower(file_key.data(), 32) << "\n";
  }
  ::chmod((dir_ + "/root.key").c_str(), 0600);
  SecretBytes material = crypto::RandomSecret(32);
  {
    auto store = OpenSqliteStore(dir_ + "/coffer.db").value();
    ASSERT_TRUE(store
                    ->Write([&](StoreWriter& w) -> Status {
                      COFFER_RETURN_IF_ERROR(w.deployment().PutMeta("account_id", "123456789012"));
                      KmsKeyRow key;
                      key.key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
                      key.account = "123456789012";
                      key.region = "us-east-1";
                      key.arn = "arn:aws:kms:us-east-1:123456789012:key/" + key.key_id;
                      key.manager = KeyManager::kCustomer;
                      key.state = KeyState::kEnabled;
                      key.current_material = 1;
                      COFFER_RETURN_IF_ERROR(w.kms().InsertKey(key));
                      KeyMaterialRow m;
                      m.key_id = key.key_id;
                      m.version = 1;
                      m.wrapped = crypto::AesGcmSeal(file_key, MaterialPurpose(key.key_id, 1),
                                                     material.Reveal());
                      return w.kms().InsertMaterial(m);
                    })
                    .ok());
  }
  auto d = OpenDeployment(Options(SealType::kFile), &clock_);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_FALSE(d->initialized_now);
  EXPECT_FALSE(d->keyring->sealed());
  KmsKeyRow key = d->keyring->LoadKey("1234abcd-12ab-34cd-56ef-1234567890ab").value();
  auto envelope = d->keyring->SealValue(key, "ctx", "legacy value");
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(d->keyring->OpenValue("ctx", *envelope).value().Reveal(), "legacy value");
  ASSERT_TRUE(d->keyring->RotateRoot().ok());
  EXPECT_EQ(d->keyring->OpenValue("ctx", *envelope).value().Reveal(), "legacy value");
}

TEST_F(BootstrapTest, TheAwsConfigFileNamesAnEndpointTheClientsCanReach) {
  ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
  auto read = [&](const std::string& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  auto path = WriteAwsConfigFile(dir_, "https://0.0.0.0:4600");
  ASSERT_TRUE(path.ok()) << path.status().message();
  EXPECT_EQ(*path, dir_ + "/aws-config");
  EXPECT_EQ(read(*path),
            "[profile coffer]\nregion = us-east-1\nendpoint_url = https://127.0.0.1:4600\n");
  // Written again (another first start's port), it is replaced; :: becomes ::1.
  ASSERT_TRUE(WriteAwsConfigFile(dir_, "http://[::]:4601").ok());
  EXPECT_EQ(read(*path),
            "[profile coffer]\nregion = us-east-1\nendpoint_url = http://[::1]:4601\n");
  ASSERT_TRUE(WriteAwsConfigFile(dir_, "http://10.0.0.5:4600").ok());
  EXPECT_NE(read(*path).find("endpoint_url = http://10.0.0.5:4600\n"), std::string::npos);
}

}  // namespace
}  // namespace coffer
