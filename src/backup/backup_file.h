// A backup file: a snapshot of the whole store, encrypted and authenticated as a whole, that
// only the seal in force when it was taken (its Shamir shares, its passphrase or its root.key)
// opens.
//
// Layout (integers big-endian):
//   "COFFERBK"  magic, 8 bytes
//   u8          format version (1)
//   u32, bytes  the header: a JSON object (BackupHeader), in the clear so that a restore can
//               ask for the right unseal material before it decrypts anything
//   chunks      u32 length, then nonce || AES-256-GCM(file key, up to 1 MiB of the snapshot)
//               || tag; the additional data of chunk i is SHA-256(magic .. header) || u64 i ||
//               u8 last, so a changed header, a chunk moved, dropped, repeated or cut off, and a
//               file cut at a chunk boundary all fail to open
//
// The file key is random per backup. It is stored in the header wrapped (AES-256-GCM) under a
// key derived from the unseal key and a random salt (Keyring::DeriveFromUnsealKey), so a backup
// needs nothing but the seal to open; the values inside are in any case still sealed under the
// store's key hierarchy, as they are on disk. The header carries what the seal keeps in the
// store (the passphrase-sealed unseal key, the Shamir share digests), so that the restore can
// rebuild the unseal key from the operators' passphrase or shares alone.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/secret_bytes.h"
#include "core/status.h"

namespace coffer::backup {

inline constexpr int kBackupFormat = 1;
inline constexpr size_t kBackupChunkBytes = 1 << 20;

// The seal in force when the backup was taken, as the store records it.
struct BackupSeal {
  std::string type;  // "file", "passphrase" or "shamir"
  int shares = 1;
  int threshold = 1;
  std::string passphrase_sealed_key;  // passphrase: SealRootKeyWithPassphrase's text
  std::string share_digests;          // shamir: ShareDigest of each share, space-separated
};

struct BackupHeader {
  int64_t created_ms = 0;
  std::string engine;  // the store engine the snapshot is of ("sqlite")
  int schema_version = 0;
  std::string operator_account;
  int64_t secrets = 0;
  int64_t parameters = 0;
  int64_t snapshot_bytes = 0;  // the snapshot's size before encryption
  BackupSeal seal;
  std::string key_salt;          // base64 of 32 random bytes
  std::string wrapped_file_key;  // base64 of AES-256-GCM(derived key, file key)
};

// Called as the work goes on: bytes done of the total.
using Progress = std::function<void(int64_t done, int64_t total)>;

// The purpose (Keyring::DeriveFromUnsealKey) of the key that wraps a backup's file key.
std::string FileKeyPurpose(const std::string& key_salt);

// Encrypts the snapshot file `snapshot_path` into a new backup at `out_path`, written beside it
// as OUT_PATH.partial, synced, then renamed, so a backup that exists is whole. `header` has
// everything but the key fields, which are filled in here; `derive` turns a purpose into the
// unseal-derived key. Errors: InternalFailure for I/O errors (no file is left behind).
Status WriteBackup(const std::string& snapshot_path, BackupHeader header,
                   const std::function<Result<SecretBytes>(const std::string&)>& derive,
                   const std::string& out_path, const Progress& progress = nullptr);

// Reads and checks the magic, format and header of the backup at `path`, without decrypting.
// Errors: InvalidParameter naming what is wrong ("not a coffer backup", "truncated", ...).
Result<BackupHeader> ReadBackupHeader(const std::string& path);

// The unseal material an operator gives to open a backup: one of these, as the seal needs.
struct UnsealMaterial {
  std::optional<SecretBytes> root_key;    // file seal: the root.key the store was made with
  std::optional<SecretBytes> passphrase;  // passphrase seal
  std::vector<std::string> shares;        // shamir: at least `threshold` share texts
};

// Rebuilds the unseal key from the header's seal and `material`. Errors:
// InvalidParameter when the material does not suit the seal (a share that is not one of the
// seal's, too few shares, no passphrase); InvalidUnsealKeyException for a wrong passphrase.
Result<SecretBytes> UnsealKeyFor(const BackupSeal& seal, const UnsealMaterial& material);

// Opens the backup at `path` with `unseal_key` and decrypts every chunk, checking each, into
// `out_path` (a new file, mode 0600) or, when `out_path` is empty, nowhere (a verification).
// Errors: InvalidUnsealKeyException when the key does not open the file key; InvalidParameter
// when the backup was changed or is incomplete, naming the first chunk that fails;
// InternalFailure for I/O errors.
Status DecryptBackup(const std::string& path, const SecretBytes& unseal_key,
                     const std::string& out_path, const Progress& progress = nullptr);

}  // namespace coffer::backup
