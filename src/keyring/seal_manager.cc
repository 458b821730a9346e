#include "keyring/seal_manager.h"

#include <cstdio>

#include "crypto/crypto.h"
#include "keyring/root_key_seal.h"

namespace coffer {
namespace {

constexpr char kSealTypeMeta[] = "seal_type";
constexpr char kShamirMeta[] = "seal_shamir";          // "<shares> <threshold>"
constexpr char kPassphraseMeta[] = "seal_passphrase";  // SealRootKeyWithPassphrase's text

Status NotThisSeal(SealType type) {
  return Status("InvalidRequestException",
                "This server uses the " + std::string(SealTypeName(type)) + " seal.");
}

}  // namespace

std::string_view SealTypeName(SealType type) {
  switch (type) {
    case SealType::kFile:
      return "file";
    case SealType::kPassphrase:
      return "passphrase";
    case SealType::kShamir:
      return "shamir";
  }
  return "file";
}

Result<SealType> ParseSealType(std::string_view name) {
  if (name == "file") return SealType::kFile;
  if (name == "passphrase") return SealType::kPassphrase;
  if (name == "shamir") return SealType::kShamir;
  return Status("InvalidParameter",
                "seal must be file, passphrase or shamir, not '" + std::string(name) + "'");
}

std::string EncodeShare(const ShamirShare& share) {
  std::string raw(1, static_cast<char>(share.x));
  raw += share.y.Reveal();
  std::string text = crypto::Base64Encode(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return text;
}

Result<ShamirShare> DecodeShare(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  auto raw = crypto::Base64Decode(text);
  if (!raw || raw->size() < 2 || static_cast<uint8_t>((*raw)[0]) == 0) {
    if (raw) OPENSSL_cleanse(raw->data(), raw->size());
    return Status("InvalidParameterException", "The text given is not an unseal share.");
  }
  ShamirShare share;
  share.x = static_cast<uint8_t>((*raw)[0]);
  share.y = SecretBytes(std::string_view(*raw).substr(1));
  OPENSSL_cleanse(raw->data(), raw->size());
  return share;
}

Result<SealInitResult> SealManager::Initialize(StoreWriter& w, const SealInit& init) {
  SealInitResult out;
  out.unseal_key = crypto::RandomSecret(crypto::kAesKeyBytes);
  COFFER_RETURN_IF_ERROR(w.PutMeta(kSealTypeMeta, std::string(SealTypeName(init.type))));
  switch (init.type) {
    case SealType::kFile:
      break;
    case SealType::kPassphrase:
      if (init.passphrase.empty()) {
        return Status("InvalidParameter", "the passphrase must not be empty");
      }
      COFFER_RETURN_IF_ERROR(w.PutMeta(
          kPassphraseMeta, SealRootKeyWithPassphrase(out.unseal_key, init.passphrase.Reveal())));
      break;
    case SealType::kShamir: {
      COFFER_ASSIGN_OR_RETURN(auto shares,
                              SplitSecret(out.unseal_key, init.shares, init.threshold));
      for (const auto& share : shares) out.shares.push_back(EncodeShare(share));
      COFFER_RETURN_IF_ERROR(w.PutMeta(
          kShamirMeta, std::to_string(init.shares) + " " + std::to_string(init.threshold)));
      break;
    }
  }
  COFFER_RETURN_IF_ERROR(Keyring::InitializeRootKeys(w, out.unseal_key));
  return out;
}

Status SealManager::AdoptLegacyFileSeal(StoreWriter& w, const SecretBytes& root_key_file_key) {
  COFFER_RETURN_IF_ERROR(w.PutMeta(kSealTypeMeta, "file"));
  return Keyring::InitializeRootKeys(w, root_key_file_key, &root_key_file_key);
}

Status SealManager::Load(StoreReader* in_txn) {
  std::optional<std::string> type, shamir, passphrase;
  auto read = [&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(type, r.GetMeta(kSealTypeMeta));
    COFFER_ASSIGN_OR_RETURN(shamir, r.GetMeta(kShamirMeta));
    COFFER_ASSIGN_OR_RETURN(passphrase, r.GetMeta(kPassphraseMeta));
    return Status::Ok();
  };
  COFFER_RETURN_IF_ERROR(in_txn ? read(*in_txn) : store_->Read(read));
  if (!type) return Status("InternalFailure", "the store records no seal");
  COFFER_ASSIGN_OR_RETURN(SealType parsed, ParseSealType(*type));
  std::lock_guard lock(mu_);
  type_ = parsed;
  shares_ = threshold_ = 1;
  if (parsed == SealType::kShamir) {
    if (!shamir || std::sscanf(shamir->c_str(), "%d %d", &shares_, &threshold_) != 2 ||
        threshold_ < 1 || threshold_ > shares_ || shares_ > 255) {
      return Status("InternalFailure", "the store's Shamir seal configuration is damaged");
    }
  }
  if (parsed == SealType::kPassphrase) {
    if (!passphrase) return Status("InternalFailure", "the store holds no passphrase-sealed key");
    sealed_unseal_key_ = *passphrase;
  }
  return Status::Ok();
}

SealStatus SealManager::status() const {
  std::lock_guard lock(mu_);
  SealStatus s;
  s.sealed = keyring_->sealed();
  s.type = type_;
  s.shares = shares_;
  s.threshold = threshold_;
  s.progress = s.sealed ? static_cast<int>(pending_.size()) : 0;
  return s;
}

SealType SealManager::type() const {
  std::lock_guard lock(mu_);
  return type_;
}

void SealManager::SetUnsealHook(std::function<Status()> hook) {
  std::lock_guard lock(mu_);
  unseal_hook_ = std::move(hook);
}

Status SealManager::AfterUnseal(Status unsealed) {
  if (!unsealed.ok() || !unseal_hook_) return unsealed;
  return unseal_hook_();
}

Status SealManager::UnsealWithKey(const SecretBytes& unseal_key, StoreReader* in_txn) {
  std::lock_guard lock(mu_);
  if (!keyring_->sealed()) return Status::Ok();
  if (in_txn != nullptr) return keyring_->Unseal(unseal_key, in_txn);
  return AfterUnseal(keyring_->Unseal(unseal_key));
}

Status SealManager::UnsealWithPassphrase(std::string_view passphrase) {
  std::lock_guard lock(mu_);
  if (type_ != SealType::kPassphrase) return NotThisSeal(type_);
  if (!keyring_->sealed()) return Status::Ok();
  auto key = UnsealRootKeyWithPassphrase(sealed_unseal_key_, passphrase);
  if (!key.ok()) {
    return Status("InvalidUnsealKeyException", "The passphrase does not unseal this server.");
  }
  return AfterUnseal(keyring_->Unseal(*key));
}

Status SealManager::SubmitShare(std::string_view share_text) {
  COFFER_ASSIGN_OR_RETURN(ShamirShare share, DecodeShare(share_text));
  std::lock_guard lock(mu_);
  if (type_ != SealType::kShamir) return NotThisSeal(type_);
  if (!keyring_->sealed()) return Status::Ok();
  for (const auto& p : pending_) {
    if (p.x == share.x) {
      return Status("InvalidParameterException", "This share was already given.");
    }
    if (p.y.size() != share.y.size()) {
      return Status("InvalidParameterException",
                    "This share does not belong with the shares already given.");
    }
  }
  pending_.push_back(std::move(share));
  if (static_cast<int>(pending_.size()) < threshold_) return Status::Ok();
  auto key = CombineShares(pending_);
  pending_.clear();
  Status unsealed = key.ok() ? keyring_->Unseal(*key) : key.status();
  if (!unsealed.ok() && unsealed.code() == "InvalidUnsealKeyException") {
    return Status("InvalidUnsealKeyException",
                  "The shares given do not rebuild the unseal key; progress was reset. Give " +
                      std::to_string(threshold_) + " shares of this server's seal.");
  }
  return AfterUnseal(unsealed);
}

void SealManager::ResetProgress() {
  std::lock_guard lock(mu_);
  pending_.clear();
}

void SealManager::Seal() {
  std::lock_guard lock(mu_);
  pending_.clear();
  keyring_->Seal();
}

}  // namespace coffer
