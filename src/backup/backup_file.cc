#include "backup/backup_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <set>

#include "crypto/crypto.h"
#include "keyring/keyring.h"
#include "keyring/root_key_seal.h"
#include "keyring/seal_manager.h"
#include "keyring/shamir.h"

namespace coffer::backup {
namespace json = boost::json;
namespace {

constexpr char kMagic[] = "COFFERBK";
constexpr size_t kMagicBytes = 8;
constexpr char kFileKeyAad[] = "coffer-backup-file-key-v1";
// A header is a few hundred bytes; anything much larger is not a coffer backup.
constexpr uint32_t kMaxHeaderBytes = 1 << 20;
constexpr size_t kMaxSealedChunk =
    kBackupChunkBytes + crypto::kGcmNonceBytes + crypto::kGcmTagBytes;

Status IoError(const std::string& what) {
  return Status(ErrorCode::kInternalFailure, what + ": " + std::strerror(errno));
}

Status Damaged(const std::string& path, const std::string& what) {
  return Status(ErrorCode::kInvalidParameter, path + " " + what);
}

void PutU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
void PutU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot write " + path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Reads up to `n` bytes (fewer only at the end of the file).
Result<std::string> ReadUpTo(int fd, size_t n, const std::string& path) {
  std::string out(n, '\0');
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out.data() + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return IoError("cannot read " + path);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  out.resize(got);
  return out;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ChunkAad(const crypto::Digest& header_digest, uint64_t index, bool last) {
  std::string aad(reinterpret_cast<const char*>(header_digest.data()), header_digest.size());
  PutU64(&aad, index);
  aad.push_back(last ? 1 : 0);
  return aad;
}

std::string SerializeHeader(const BackupHeader& h) {
  json::object seal{{"Type", h.seal.type},
                    {"Shares", h.seal.shares},
                    {"Threshold", h.seal.threshold},
                    {"PassphraseSealedKey", h.seal.passphrase_sealed_key},
                    {"ShareDigests", h.seal.share_digests}};
  return json::serialize(json::object{{"CreatedMs", h.created_ms},
                                      {"Engine", h.engine},
                                      {"SchemaVersion", h.schema_version},
                                      {"OperatorAccount", h.operator_account},
                                      {"Secrets", h.secrets},
                                      {"Parameters", h.parameters},
                                      {"SnapshotBytes", h.snapshot_bytes},
                                      {"Seal", std::move(seal)},
                                      {"KeySalt", h.key_salt},
                                      {"WrappedFileKey", h.wrapped_file_key}});
}

Result<BackupHeader> ParseHeader(std::string_view text, const std::string& path) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return Damaged(path, "has a damaged header");
  const json::object& o = v.get_object();
  BackupHeader h;
  bool ok = true;
  auto str = [&](const json::object& from, const char* name) -> std::string {
    const json::value* m = from.if_contains(name);
    if (m == nullptr || !m->is_string()) {
      ok = false;
      return {};
    }
    return std::string(m->get_string());
  };
  auto num = [&](const json::object& from, const char* name) -> int64_t {
    const json::value* m = from.if_contains(name);
    if (m == nullptr || !m->is_int64()) {
      ok = false;
      return 0;
    }
    return m->get_int64();
  };
  h.created_ms = num(o, "CreatedMs");
  h.engine = str(o, "Engine");
  h.schema_version = static_cast<int>(num(o, "SchemaVersion"));
  h.operator_account = str(o, "OperatorAccount");
  h.secrets = num(o, "Secrets");
  h.parameters = num(o, "Parameters");
  h.snapshot_bytes = num(o, "SnapshotBytes");
  h.key_salt = str(o, "KeySalt");
  h.wrapped_file_key = str(o, "WrappedFileKey");
  const json::value* seal = o.if_contains("Seal");
  if (seal == nullptr || !seal->is_object()) return Damaged(path, "has a damaged header");
  h.seal.type = str(seal->get_object(), "Type");
  h.seal.shares = static_cast<int>(num(seal->get_object(), "Shares"));
  h.seal.threshold = static_cast<int>(num(seal->get_object(), "Threshold"));
  h.seal.passphrase_sealed_key = str(seal->get_object(), "PassphraseSealedKey");
  h.seal.share_digests = str(seal->get_object(), "ShareDigests");
  if (!ok || h.snapshot_bytes < 0) return Damaged(path, "has a damaged header");
  return h;
}

// The backup's file key, opened with the unseal key. Errors: InvalidUnsealKeyException.
Result<SecretBytes> OpenFileKey(const BackupHeader& h, const SecretBytes& unseal_key) {
  auto wrapped = crypto::Base64Decode(h.wrapped_file_key);
  std::optional<SecretBytes> key;
  if (wrapped) {
    SecretBytes kek = Keyring::DeriveFromUnsealKey(unseal_key, FileKeyPurpose(h.key_salt));
    key = crypto::AesGcmOpen(kek, kFileKeyAad, *wrapped);
  }
  if (!key || key->size() != crypto::kAesKeyBytes) {
    return Status(ErrorCode::kInvalidUnsealKeyException,
                  "The unseal key does not open this backup: it was taken under another seal "
                  "(before a rekey, or of another deployment).");
  }
  return std::move(*key);
}

}  // namespace

std::string FileKeyPurpose(const std::string& key_salt) { return "backup-file-key:" + key_salt; }

Status WriteBackup(const std::string& snapshot_path, BackupHeader header,
                   const std::function<Result<SecretBytes>(const std::string&)>& derive,
                   const std::string& out_path, const Progress& progress) {
  Fd in(::open(snapshot_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return IoError("cannot open " + snapshot_path);
  struct stat st;
  if (::fstat(in.get(), &st) != 0) return IoError("cannot stat " + snapshot_path);
  header.snapshot_bytes = st.st_size;
  uint8_t salt[32];
  crypto::RandomBytes(salt, sizeof salt);
  header.key_salt = crypto::Base64Encode(std::string_view(reinterpret_cast<char*>(salt), 32));
  COFFER_ASSIGN_OR_RETURN(SecretBytes kek, derive(FileKeyPurpose(header.key_salt)));
  const SecretBytes file_key = crypto::RandomSecret(crypto::kAesKeyBytes);
  header.wrapped_file_key =
      crypto::Base64Encode(crypto::AesGcmSeal(kek, kFileKeyAad, file_key.Reveal()));

  std::string head(kMagic, kMagicBytes);
  head.push_back(static_cast<char>(kBackupFormat));
  const std::string header_text = SerializeHeader(header);
  PutU32(&head, static_cast<uint32_t>(header_text.size()));
  head += header_text;
  const crypto::Digest header_digest = crypto::Sha256(head);

  const std::string partial = out_path + ".partial";
  ::unlink(partial.c_str());
  Fd out(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (out.get() < 0) return IoError("cannot create " + partial);
  auto fail = [&](Status s) {
    ::unlink(partial.c_str());
    return s;
  };
  if (Status s = WriteAll(out.get(), head, partial); !s.ok()) return fail(s);
  int64_t done = 0;
  uint64_t index = 0;
  auto chunk = ReadUpTo(in.get(), kBackupChunkBytes, snapshot_path);
  while (true) {
    if (!chunk.ok()) return fail(chunk.status());
    auto next = chunk->size() == kBackupChunkBytes
                    ? ReadUpTo(in.get(), kBackupChunkBytes, snapshot_path)
                    : Result<std::string>(std::string());
    if (!next.ok()) return fail(next.status());
    const bool last = next->empty();
    std::string sealed = crypto::AesGcmSeal(file_key, ChunkAad(header_digest, index, last), *chunk);
    std::string framed;
    PutU32(&framed, static_cast<uint32_t>(sealed.size()));
    framed += sealed;
    if (Status s = WriteAll(out.get(), framed, partial); !s.ok()) return fail(s);
    done += static_cast<int64_t>(chunk->size());
    if (progress) progress(done, header.snapshot_bytes);
    ++index;
    if (last) break;
    chunk = std::move(next);
  }
  if (::fsync(out.get()) != 0) return fail(IoError("cannot sync " + partial));
  if (::rename(partial.c_str(), out_path.c_str()) != 0) {
    return fail(IoError("cannot rename " + partial));
  }
  const size_t slash = out_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : out_path.substr(0, slash + 1);
  Fd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (d.get() >= 0) (void)::fsync(d.get());
  return Status::Ok();
}

namespace {

// The header and where the chunks start.
Result<std::pair<BackupHeader, std::string>> ReadHead(int fd, const std::string& path) {
  auto read = ReadUpTo(fd, kMagicBytes + 1 + 4, path);
  if (!read.ok()) return read.status();
  const std::string& fixed = *read;
  if (fixed.size() < kMagicBytes || fixed.compare(0, kMagicBytes, kMagic) != 0) {
    return Damaged(path, "is not a coffer backup");
  }
  if (fixed.size() < kMagicBytes + 5) return Damaged(path, "is truncated (no header)");
  if (static_cast<uint8_t>(fixed[kMagicBytes]) != kBackupFormat) {
    return Damaged(path, "is a backup of format " +
                             std::to_string(static_cast<uint8_t>(fixed[kMagicBytes])) +
                             ", which this coffer does not read (it reads format 1)");
  }
  const uint32_t header_bytes = GetU32(fixed.data() + kMagicBytes + 1);
  if (header_bytes > kMaxHeaderBytes) return Damaged(path, "has a damaged header");
  COFFER_ASSIGN_OR_RETURN(std::string text, ReadUpTo(fd, header_bytes, path));
  if (text.size() < header_bytes) return Damaged(path, "is truncated (in its header)");
  COFFER_ASSIGN_OR_RETURN(BackupHeader header, ParseHeader(text, path));
  std::pair<BackupHeader, std::string> out;
  out.first = std::move(header);
  out.second.reserve(fixed.size() + text.size());
  out.second.append(fixed).append(text);
  return out;
}

}  // namespace

Result<BackupHeader> ReadBackupHeader(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open " + path);
  COFFER_ASSIGN_OR_RETURN(auto head, ReadHead(fd.get(), path));
  return std::move(head.first);
}

Result<SecretBytes> UnsealKeyFor(const BackupSeal& seal, const UnsealMaterial& material) {
  if (seal.type == "file") {
    if (!material.root_key) {
      return Status(ErrorCode::kInvalidParameter,
                    "This backup was taken under the file seal: give the root.key of the data "
                    "directory it was taken from (--root-key).");
    }
    return *material.root_key;
  }
  if (seal.type == "passphrase") {
    if (!material.passphrase) {
      return Status(ErrorCode::kInvalidParameter,
                    "This backup was taken under a passphrase seal: give its passphrase.");
    }
    auto key =
        UnsealRootKeyWithPassphrase(seal.passphrase_sealed_key, material.passphrase->Reveal());
    if (!key.ok() && key.status().code() != ErrorCode::kInvalidParameter) {
      return Status(ErrorCode::kInvalidUnsealKeyException,
                    "The passphrase does not open this backup (it opens only with the passphrase "
                    "of the seal in force when it was taken).");
    }
    return key;
  }
  if (seal.type == "shamir") {
    std::set<std::string> digests;
    for (size_t at = 0; at < seal.share_digests.size();) {
      size_t end = seal.share_digests.find(' ', at);
      if (end == std::string::npos) end = seal.share_digests.size();
      if (end > at) digests.insert(seal.share_digests.substr(at, end - at));
      at = end + 1;
    }
    std::vector<ShamirShare> shares;
    std::set<int> seen;
    for (const std::string& text : material.shares) {
      auto share = DecodeShare(text);
      // Seals made before digests were recorded have none: their shares are checked when
      // combined (the file key does not open under a wrong combination).
      if (!share.ok() || (!digests.empty() && !digests.contains(ShareDigest(*share)))) {
        return Status(ErrorCode::kInvalidParameter,
                      "A share given is not one of the seal this backup was taken under.");
      }
      if (seen.insert(share->x).second) shares.push_back(std::move(*share));
    }
    if (static_cast<int>(shares.size()) < seal.threshold) {
      return Status(ErrorCode::kInvalidParameter,
                    "This backup was taken under a Shamir seal: give " +
                        std::to_string(seal.threshold) + " different shares (" +
                        std::to_string(shares.size()) + " given).");
    }
    return CombineShares(shares);
  }
  return Status(ErrorCode::kInvalidParameter, "The backup names an unknown seal: " + seal.type);
}

Status DecryptBackup(const std::string& path, const SecretBytes& unseal_key,
                     const std::string& out_path, const Progress& progress) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) return IoError("cannot open " + path);
  COFFER_ASSIGN_OR_RETURN(auto head, ReadHead(in.get(), path));
  const BackupHeader& header = head.first;
  COFFER_ASSIGN_OR_RETURN(SecretBytes file_key, OpenFileKey(header, unseal_key));
  const crypto::Digest header_digest = crypto::Sha256(head.second);
  std::optional<Fd> out;
  if (!out_path.empty()) {
    out.emplace(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (out->get() < 0) return IoError("cannot create " + out_path);
  }
  int64_t done = 0;
  for (uint64_t index = 0;; ++index) {
    COFFER_ASSIGN_OR_RETURN(std::string length, ReadUpTo(in.get(), 4, path));
    if (length.size() < 4) {
      return Damaged(path, "is truncated: it ends before its last part (after part " +
                               std::to_string(index) + ")");
    }
    const uint32_t sealed_bytes = GetU32(length.data());
    if (sealed_bytes > kMaxSealedChunk) {
      return Damaged(path, "was modified: part " + std::to_string(index) + " is damaged");
    }
    COFFER_ASSIGN_OR_RETURN(std::string sealed, ReadUpTo(in.get(), sealed_bytes, path));
    if (sealed.size() < sealed_bytes) {
      return Damaged(path, "is truncated: part " + std::to_string(index) + " is cut off");
    }
    // A part opens as the last one or as one of the others: its additional data says which.
    bool last = false;
    auto plain = crypto::AesGcmOpen(file_key, ChunkAad(header_digest, index, false), sealed);
    if (!plain) {
      plain = crypto::AesGcmOpen(file_key, ChunkAad(header_digest, index, true), sealed);
      last = plain.has_value();
    }
    if (!plain) {
      return Damaged(path, "was modified: part " + std::to_string(index) +
                               " does not authenticate (or the header was changed)");
    }
    if (out) COFFER_RETURN_IF_ERROR(WriteAll(out->get(), plain->Reveal(), out_path));
    done += static_cast<int64_t>(plain->size());
    if (progress) progress(done, header.snapshot_bytes);
    if (last) break;
  }
  COFFER_ASSIGN_OR_RETURN(std::string trailing, ReadUpTo(in.get(), 1, path));
  if (!trailing.empty()) return Damaged(path, "was modified: it goes on after its last part");
  if (done != header.snapshot_bytes) return Damaged(path, "was modified: its size does not match");
  if (out && ::fsync(out->get()) != 0) return IoError("cannot sync " + out_path);
  return Status::Ok();
}

}  // namespace coffer::backup
