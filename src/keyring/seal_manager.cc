#include "keyring/seal_manager.h"

#include <algorithm>
#include <cstdio>

#include "core/ids.h"
#include "crypto/crypto.h"
#include "keyring/root_key_seal.h"

namespace coffer {
namespace {

constexpr char kSealTypeMeta[] = "seal_type";
constexpr char kShamirMeta[] = "seal_shamir";               // "<shares> <threshold>"
constexpr char kPassphraseMeta[] = "seal_passphrase";       // SealRootKeyWithPassphrase's text
constexpr char kShareDigestsMeta[] = "seal_share_digests";  // ShareDigest of each, space-separated

constexpr std::chrono::seconds kMaxPassphraseBackoff{60};

// Records `init`'s seal in `w` for `unseal_key`: type, share counts, share digests, passphrase.
Status RecordSeal(StoreWriter& w, const SealInit& init, const SecretBytes& unseal_key,
                  SealInitResult* out) {
  COFFER_RETURN_IF_ERROR(
      w.deployment().PutMeta(kSealTypeMeta, std::string(SealTypeName(init.type))));
  // A meta row left from an earlier seal would only confuse: every seal's rows are rewritten.
  std::string passphrase_meta, shamir_meta, digests;
  switch (init.type) {
    case SealType::kFile:
      break;
    case SealType::kPassphrase:
      if (init.passphrase.empty()) {
        return Status(ErrorCode::kInvalidParameter, "the passphrase must not be empty");
      }
      passphrase_meta = SealRootKeyWithPassphrase(unseal_key, init.passphrase.Reveal());
      break;
    case SealType::kShamir: {
      COFFER_ASSIGN_OR_RETURN(auto shares, SplitSecret(unseal_key, init.shares, init.threshold));
      for (const auto& share : shares) {
        out->shares.push_back(EncodeShare(share));
        digests += (digests.empty() ? "" : " ") + ShareDigest(share);
      }
      shamir_meta = std::to_string(init.shares) + " " + std::to_string(init.threshold);
      break;
    }
  }
  COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(kPassphraseMeta, passphrase_meta));
  COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(kShamirMeta, shamir_meta));
  return w.deployment().PutMeta(kShareDigestsMeta, digests);
}

Status NotThisSeal(SealType type) {
  return Status(ErrorCode::kInvalidRequestException,
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
  return Status(ErrorCode::kInvalidParameter,
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
    return Status(ErrorCode::kInvalidParameterException, "The text given is not an unseal share.");
  }
  ShamirShare share;
  share.x = static_cast<uint8_t>((*raw)[0]);
  share.y = SecretBytes(std::string_view(*raw).substr(1));
  OPENSSL_cleanse(raw->data(), raw->size());
  return share;
}

std::string ShareDigest(const ShamirShare& share) {
  std::string raw = "coffer/unseal-share\n";
  raw.push_back(static_cast<char>(share.x));
  raw += share.y.Reveal();
  std::string digest = crypto::HexLower(crypto::Sha256(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  return digest;
}

Result<SealInitResult> SealManager::Initialize(StoreWriter& w, const SealInit& init) {
  SealInitResult out;
  out.unseal_key = crypto::RandomSecret(crypto::kAesKeyBytes);
  COFFER_RETURN_IF_ERROR(RecordSeal(w, init, out.unseal_key, &out));
  COFFER_RETURN_IF_ERROR(Keyring::InitializeRootKeys(w, out.unseal_key));
  return out;
}

Result<SealInitResult> SealManager::Rekey(const SealInit& init, UnsealKeyFile* file) {
  std::lock_guard rekey_lock(rekey_mu_);
  if (keyring_->sealed()) {
    return Status(ErrorCode::kServiceUnavailableException, "coffer is sealed; unseal it first.");
  }
  if (init.type == SealType::kShamir &&
      (init.threshold < 1 || init.threshold > init.shares || init.shares > 255)) {
    return Status(ErrorCode::kInvalidParameter,
                  "the threshold must be between 1 and the number of shares, at most 255");
  }
  SealInitResult out;
  out.unseal_key = crypto::RandomSecret(crypto::kAesKeyBytes);
  const bool to_file = init.type == SealType::kFile;
  if (to_file) {
    if (file == nullptr)
      return Status(ErrorCode::kInvalidParameter, "this server keeps no key file");
    COFFER_RETURN_IF_ERROR(file->Stage(out.unseal_key));
  }
  Status changed = keyring_->ChangeUnsealKey(
      out.unseal_key, [&](StoreWriter& w) { return RecordSeal(w, init, out.unseal_key, &out); });
  if (!changed.ok()) {
    if (to_file) file->Discard();
    return changed;
  }
  // Committed: the store now opens only with the new key. Put the key file in line with it
  // (a crash before this is finished at the next start).
  if (to_file) {
    COFFER_RETURN_IF_ERROR(file->Install());
  } else if (file != nullptr) {
    COFFER_RETURN_IF_ERROR(file->Remove());
  }
  std::string sealed_unseal_key;
  if (init.type == SealType::kPassphrase) {
    Status reloaded = store_->Read([&](StoreReader& r) -> Status {
      COFFER_ASSIGN_OR_RETURN(auto text, r.deployment().GetMeta(kPassphraseMeta));
      if (text) sealed_unseal_key = *text;
      return Status::Ok();
    });
    COFFER_RETURN_IF_ERROR(reloaded);
  }
  std::lock_guard lock(mu_);
  type_ = init.type;
  shares_ = init.type == SealType::kShamir ? init.shares : 1;
  threshold_ = init.type == SealType::kShamir ? init.threshold : 1;
  share_digests_.clear();
  for (const auto& text : out.shares) {
    auto share = DecodeShare(text);
    if (share.ok()) share_digests_.push_back(ShareDigest(*share));
  }
  sealed_unseal_key_ = std::move(sealed_unseal_key);
  pending_.clear();
  attempt_nonce_.clear();
  passphrase_failures_ = 0;
  return out;
}

Status SealManager::AdoptLegacyFileSeal(StoreWriter& w, const SecretBytes& root_key_file_key) {
  COFFER_RETURN_IF_ERROR(w.deployment().PutMeta(kSealTypeMeta, "file"));
  return Keyring::InitializeRootKeys(w, root_key_file_key, &root_key_file_key);
}

Status SealManager::Load(StoreReader* in_txn) {
  std::optional<std::string> type, shamir, passphrase, digests;
  auto read = [&](StoreReader& r) -> Status {
    COFFER_ASSIGN_OR_RETURN(type, r.deployment().GetMeta(kSealTypeMeta));
    COFFER_ASSIGN_OR_RETURN(shamir, r.deployment().GetMeta(kShamirMeta));
    COFFER_ASSIGN_OR_RETURN(passphrase, r.deployment().GetMeta(kPassphraseMeta));
    COFFER_ASSIGN_OR_RETURN(digests, r.deployment().GetMeta(kShareDigestsMeta));
    return Status::Ok();
  };
  COFFER_RETURN_IF_ERROR(in_txn ? read(*in_txn) : store_->Read(read));
  if (!type) return Status(ErrorCode::kInternalFailure, "the store records no seal");
  COFFER_ASSIGN_OR_RETURN(SealType parsed, ParseSealType(*type));
  std::lock_guard lock(mu_);
  type_ = parsed;
  shares_ = threshold_ = 1;
  if (parsed == SealType::kShamir) {
    if (!shamir || std::sscanf(shamir->c_str(), "%d %d", &shares_, &threshold_) != 2 ||
        threshold_ < 1 || threshold_ > shares_ || shares_ > 255) {
      return Status(ErrorCode::kInternalFailure,
                    "the store's Shamir seal configuration is damaged");
    }
  }
  if (parsed == SealType::kPassphrase) {
    if (!passphrase || passphrase->empty()) {
      return Status(ErrorCode::kInternalFailure, "the store holds no passphrase-sealed key");
    }
    sealed_unseal_key_ = *passphrase;
  }
  // Data directories initialised before digests were recorded have none: their shares are
  // checked only when combined (a rekey records them).
  share_digests_.clear();
  if (parsed == SealType::kShamir && digests) {
    size_t start = 0;
    while (start < digests->size()) {
      size_t space = digests->find(' ', start);
      if (space == std::string::npos) space = digests->size();
      if (space > start) share_digests_.push_back(digests->substr(start, space - start));
      start = space + 1;
    }
  }
  return Status::Ok();
}

SealRecord SealManager::record() const {
  std::lock_guard lock(mu_);
  return SealRecord{type_, shares_, threshold_, sealed_unseal_key_, share_digests_};
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
  const auto now = std::chrono::steady_clock::now();
  if (now < next_passphrase_attempt_) {
    const auto wait =
        std::chrono::duration_cast<std::chrono::seconds>(next_passphrase_attempt_ - now).count() +
        1;
    return Status(ErrorCode::kThrottlingException,
                  "Too many failed unseal attempts; try again in " + std::to_string(wait) + " s.");
  }
  auto key = UnsealRootKeyWithPassphrase(sealed_unseal_key_, passphrase);
  if (!key.ok()) {
    ++passphrase_failures_;
    const auto backoff = std::min<std::chrono::seconds>(
        std::chrono::seconds(int64_t{1} << std::min(passphrase_failures_ - 1, 6)),
        kMaxPassphraseBackoff);
    next_passphrase_attempt_ = std::chrono::steady_clock::now() + backoff;
    return Status(ErrorCode::kInvalidUnsealKeyException,
                  "The passphrase does not unseal this server.");
  }
  passphrase_failures_ = 0;
  return AfterUnseal(keyring_->Unseal(*key));
}

Status SealManager::SubmitShare(std::string_view share_text, std::string_view nonce,
                                std::string* nonce_out) {
  COFFER_ASSIGN_OR_RETURN(ShamirShare share, DecodeShare(share_text));
  std::lock_guard lock(mu_);
  if (type_ != SealType::kShamir) return NotThisSeal(type_);
  if (!keyring_->sealed()) return Status::Ok();
  if (!share_digests_.empty() && std::find(share_digests_.begin(), share_digests_.end(),
                                           ShareDigest(share)) == share_digests_.end()) {
    return Status(ErrorCode::kInvalidUnsealKeyException,
                  "This share is not one of this server's unseal shares; nothing changed.");
  }
  // A share that names an attempt must name this one: it was meant for another (e.g. one that
  // was reset), and is not silently mixed into this one.
  if (!pending_.empty() && !nonce.empty() && !crypto::ConstantTimeEquals(nonce, attempt_nonce_)) {
    return Status(ErrorCode::kInvalidParameterException,
                  "This share names another unseal attempt (its Nonce is not the current "
                  "attempt's); nothing changed.");
  }
  for (const auto& p : pending_) {
    if (p.x == share.x) {
      return Status(ErrorCode::kInvalidParameterException, "This share was already given.");
    }
    if (p.y.size() != share.y.size()) {
      return Status(ErrorCode::kInvalidParameterException,
                    "This share does not belong with the shares already given.");
    }
  }
  if (pending_.empty()) attempt_nonce_ = NewUuid();
  if (nonce_out != nullptr) *nonce_out = attempt_nonce_;
  pending_.push_back(std::move(share));
  if (static_cast<int>(pending_.size()) < threshold_) return Status::Ok();
  auto key = CombineShares(pending_);
  pending_.clear();
  attempt_nonce_.clear();
  Status unsealed = key.ok() ? keyring_->Unseal(*key) : key.status();
  if (!unsealed.ok() && unsealed.code() == ErrorCode::kInvalidUnsealKeyException) {
    return Status(ErrorCode::kInvalidUnsealKeyException,
                  "The shares given do not rebuild the unseal key; progress was reset. Give " +
                      std::to_string(threshold_) + " shares of this server's seal.");
  }
  return AfterUnseal(unsealed);
}

Status SealManager::ResetProgress(std::string_view nonce, std::string_view share_text) {
  std::lock_guard lock(mu_);
  if (pending_.empty()) return Status::Ok();
  // Only a participant may reset: whoever holds the attempt's nonce, or one of this seal's
  // shares (recognised by its digest).
  bool participant = !nonce.empty() && crypto::ConstantTimeEquals(nonce, attempt_nonce_);
  if (!participant && !share_text.empty() && !share_digests_.empty()) {
    auto share = DecodeShare(share_text);
    participant = share.ok() && std::find(share_digests_.begin(), share_digests_.end(),
                                          ShareDigest(*share)) != share_digests_.end();
  }
  if (!participant) {
    return Status(ErrorCode::kInvalidParameterException,
                  "Only a participant may reset the unseal under way: give its Nonce, or one of "
                  "this server's shares.");
  }
  pending_.clear();
  attempt_nonce_.clear();
  return Status::Ok();
}

void SealManager::Seal() {
  std::lock_guard lock(mu_);
  pending_.clear();
  attempt_nonce_.clear();
  keyring_->Seal();
}

}  // namespace coffer
