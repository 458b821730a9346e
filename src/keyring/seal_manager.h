// SealManager: how the unseal key is protected, and the unseal protocol of a running server.
//
// Three seal types, chosen once by `coffer operator init` and kept in the store's meta:
//   file        the unseal key in DATA_DIR/root.key (0600): unsealed at every start (dev mode)
//   passphrase  the unseal key sealed under a key derived from a passphrase (PBKDF2-HMAC-SHA256,
//               stored iteration count; see root_key_seal.h); unsealed by the passphrase
//   shamir      the unseal key split into N shares, any T of which rebuild it; no copy is stored
// Shares arrive one at a time (from different operators, over the API); they are held only in
// memory until the threshold is met, then combined and checked by opening the root key. A wrong
// combination resets the progress, as Vault does, so a bad share cannot poison later attempts.
//
// The unseal endpoint cannot authenticate its callers (the keys that would are locked away), so
// it defends itself against interference: each share is checked on arrival against the SHA-256
// digests recorded at initialisation, so a share that is not one of this seal's is refused and
// changes nothing (a share is its holder's proof of membership); the first share starts an
// attempt and returns its nonce, which a later share may carry (a share meant for another
// attempt is refused) and a reset must carry (or a share of this seal), so nobody outside the
// attempt can reset it; and wrong passphrases are throttled (1, 2, 4 ... 60 seconds between
// attempts). A rekey replaces the unseal key and the seal: new shares or passphrase, and the
// old ones (or an old copy of root.key) no longer open the store.
// Thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/secret_bytes.h"
#include "core/status.h"
#include "keyring/keyring.h"
#include "keyring/shamir.h"
#include "store/store.h"

namespace coffer {

enum class SealType { kFile, kPassphrase, kShamir };

std::string_view SealTypeName(SealType type);
// Errors: InvalidParameter for an unknown name.
Result<SealType> ParseSealType(std::string_view name);

// The seal as the store records it: what a backup carries so that its restore can rebuild the
// unseal key from the operators' passphrase or shares.
struct SealRecord {
  SealType type = SealType::kFile;
  int shares = 1;
  int threshold = 1;
  std::string passphrase_sealed_key;       // passphrase seal
  std::vector<std::string> share_digests;  // shamir, when recorded
  bool operator==(const SealRecord&) const = default;
};

struct SealStatus {
  bool sealed = true;
  SealType type = SealType::kFile;
  int shares = 1;
  int threshold = 1;
  int progress = 0;  // shares received towards the threshold while sealed
};

// What `coffer operator init` chose.
struct SealInit {
  SealType type = SealType::kFile;
  int shares = 5;          // shamir
  int threshold = 3;       // shamir
  SecretBytes passphrase;  // passphrase
};

// What initialisation hands back to the operator, once.
struct SealInitResult {
  SecretBytes unseal_key;           // file: to be written to root.key; others: to unseal now
  std::vector<std::string> shares;  // shamir: the share texts to print
};

// A share as text: base64 of its x coordinate followed by its bytes.
std::string EncodeShare(const ShamirShare& share);
// Errors: InvalidParameterException for text that is not a share.
Result<ShamirShare> DecodeShare(std::string_view text);
// What the store keeps to recognise a share on arrival: SHA-256 (hex) of the share under a
// fixed domain prefix. Shares are 33 random bytes or more, so the digest reveals nothing.
std::string ShareDigest(const ShamirShare& share);

// Where the file seal keeps its unseal key (DATA_DIR/root.key). A rekey stages the new key beside
// the one in force, commits the store, then installs it; a start after a crash in between
// finishes the switch (server/bootstrap).
class UnsealKeyFile {
 public:
  virtual ~UnsealKeyFile() = default;
  // Writes `key` beside the key in force, durably, without putting it in force.
  virtual Status Stage(const SecretBytes& key) = 0;
  // The staged key replaces the one in force (an atomic rename).
  virtual Status Install() = 0;
  // Drops a staged key.
  virtual void Discard() = 0;
  // Removes the key file: the seal is no longer the file seal.
  virtual Status Remove() = 0;
};

class SealManager {
 public:
  SealManager(Store* store, Keyring* keyring) : store_(store), keyring_(keyring) {}

  // Records a new deployment's seal in `w` (type, shares and threshold, the passphrase-sealed
  // unseal key) and its root keys under a fresh unseal key. Errors: InvalidParameter for bad
  // share counts or an empty passphrase.
  static Result<SealInitResult> Initialize(StoreWriter& w, const SealInit& init);
  // Records the file seal for a store created before seal types existed, whose key material is
  // wrapped directly by the key in root.key.
  static Status AdoptLegacyFileSeal(StoreWriter& w, const SecretBytes& root_key_file_key);

  // Reads the seal configuration, through `in_txn` when given. Errors: InternalFailure when the
  // store has none.
  Status Load(StoreReader* in_txn = nullptr);

  SealStatus status() const;
  SealRecord record() const;
  SealType type() const;

  // Unseals with the unseal key itself (file seal, or right after initialisation, reading
  // through `in_txn` then; the unseal hook does not run for it). Errors:
  // InvalidUnsealKeyException.
  Status UnsealWithKey(const SecretBytes& unseal_key, StoreReader* in_txn = nullptr);
  // Passphrase seal. Errors: InvalidUnsealKeyException for a wrong passphrase;
  // InvalidRequestException when the seal is not a passphrase seal; ThrottlingException when a
  // previous attempt failed less than the back-off ago (1 s after one failure, doubling up to
  // 60 s), so a passphrase cannot be guessed at the rate PBKDF2 allows.
  Status UnsealWithPassphrase(std::string_view passphrase);
  // Shamir seal: adds one share. The first share of an attempt starts it; `*nonce_out` gets
  // the attempt's nonce. A `nonce` given must be the attempt's. Errors:
  // InvalidParameterException for a malformed share, one already given, one of another length,
  // or a nonce of another attempt (nothing changes); InvalidUnsealKeyException for a share that
  // is not one of this seal's (nothing changes), or when the threshold is met but the shares do
  // not rebuild the unseal key (progress resets); InvalidRequestException when the seal is not
  // a Shamir seal. No-op when unsealed.
  Status SubmitShare(std::string_view share_text, std::string_view nonce = {},
                     std::string* nonce_out = nullptr);
  // Forgets shares received so far. Errors: InvalidParameterException when an attempt is under
  // way and neither `nonce` is its nonce nor `share_text` one of this seal's shares.
  Status ResetProgress(std::string_view nonce, std::string_view share_text = {});

  // Replaces the unseal key and the seal with `init` (while unsealed): new shares, passphrase or
  // key file, returned as at initialisation. `file` keeps the file seal's key. Errors:
  // ServiceUnavailableException when sealed; InvalidParameter for bad share counts or an empty
  // passphrase; InternalFailure when the key file cannot be written (nothing changes).
  Result<SealInitResult> Rekey(const SealInit& init, UnsealKeyFile* file);
  // Seals: forgets every key and any partial progress.
  void Seal();

  // Runs after every successful unseal (e.g. to provision the root access key). An error is
  // reported to the caller of the unseal but leaves the server unsealed.
  void SetUnsealHook(std::function<Status()> hook);

 private:
  Status AfterUnseal(Status unsealed);

  Store* store_;
  Keyring* keyring_;
  mutable std::mutex mu_;  // serialises unseal attempts (a PBKDF2 run is deliberately slow)
  // One rekey at a time. Taken before, never while, mu_ is held; mu_ itself is not held across
  // a rekey's store write, because bootstrap takes mu_ inside a store transaction.
  std::mutex rekey_mu_;
  SealType type_ = SealType::kFile;
  int shares_ = 1;
  int threshold_ = 1;
  std::string sealed_unseal_key_;           // passphrase seal: SealRootKeyWithPassphrase's text
  std::vector<std::string> share_digests_;  // shamir: ShareDigest of each share, if recorded
  std::vector<ShamirShare> pending_;
  std::string attempt_nonce_;  // of the attempt `pending_` belongs to
  int passphrase_failures_ = 0;
  std::chrono::steady_clock::time_point next_passphrase_attempt_{};
  std::function<Status()> unseal_hook_;
};

}  // namespace coffer
