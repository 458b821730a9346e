#include "server/bootstrap.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "auth/credential_registry.h"
#include "core/ids.h"
#include "crypto/crypto.h"
#include "store/sqlite_store.h"

namespace coffer {
namespace {

constexpr char kRootKeyFile[] = "root.key";
constexpr char kRootKeyHeader[] = "coffer-root-key-v1 ";

Status IoError(const std::string& what) {
  return Status("InternalFailure", what + ": " + std::strerror(errno));
}

// Writes a new file with mode 0600; fails if it already exists. fsyncs file and directory so a
// crash right after start cannot lose the key that protects the data.
Status WritePrivateFile(const std::string& dir, const std::string& name, std::string_view data) {
  std::string path = dir + "/" + name;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create " + path);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return IoError("cannot write " + path);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return IoError("cannot sync " + path);
  }
  ::close(fd);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<SecretBytes> LoadOrCreateRootKey(const std::string& dir) {
  std::string path = dir + "/" + kRootKeyFile;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return IoError("cannot stat " + path);
    SecretBytes key = crypto::RandomSecret(crypto::kAesKeyBytes);
    std::string text = kRootKeyHeader + crypto::HexLower(key.data(), key.size()) + "\n";
    Status s = WritePrivateFile(dir, kRootKeyFile, text);
    OPENSSL_cleanse(text.data(), text.size());
    COFFER_RETURN_IF_ERROR(s);
    return key;
  }
  if ((st.st_mode & 077) != 0) {
    return Status("InvalidParameter",
                  path + " must not be readable by group or others (chmod 600)");
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string hex;
  if (text.rfind(kRootKeyHeader, 0) == 0) hex = text.substr(std::strlen(kRootKeyHeader), 64);
  OPENSSL_cleanse(text.data(), text.size());
  if (hex.size() != 64) return Status("InternalFailure", path + " is not a coffer root key file");
  SecretBytes key(crypto::kAesKeyBytes);
  for (size_t i = 0; i < 32; ++i) {
    auto nib = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int hi = nib(hex[2 * i]), lo = nib(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Status("InternalFailure", path + " is not a coffer root key file");
    key.data()[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  OPENSSL_cleanse(hex.data(), hex.size());
  return key;
}

bool IsValidAccessKeyId(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (!std::isalnum(c)) return false;
  }
  return true;
}

std::string RandomAccountId() {
  uint8_t b[12];
  crypto::RandomBytes(b, sizeof(b));
  std::string id;
  for (uint8_t x : b) id.push_back(static_cast<char>('0' + x % 10));
  if (id[0] == '0') id[0] = '1';
  return id;
}

}  // namespace

bool IsValidAccountId(const std::string& id) {
  if (id.size() != 12) return false;
  for (char c : id) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<Deployment> OpenDeployment(const BootstrapOptions& o, const Clock* clock) {
  if (o.account_id && !IsValidAccountId(*o.account_id)) {
    return Status("InvalidParameter", "--account-id must be 12 digits");
  }
  if (o.root_key_id.has_value() != o.root_secret.has_value()) {
    return Status(
        "InvalidParameter",
        "set both COFFER_ROOT_ACCESS_KEY_ID and COFFER_ROOT_SECRET_ACCESS_KEY, or neither");
  }
  if (o.root_key_id && !IsValidAccessKeyId(*o.root_key_id)) {
    return Status("InvalidParameter", "COFFER_ROOT_ACCESS_KEY_ID must be 1-128 letters and digits");
  }
  if (o.root_secret && o.root_secret->empty()) {
    return Status("InvalidParameter", "COFFER_ROOT_SECRET_ACCESS_KEY must not be empty");
  }
  if (::mkdir(o.data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return IoError("cannot create data directory " + o.data_dir);
  }
  COFFER_ASSIGN_OR_RETURN(SecretBytes root_key, LoadOrCreateRootKey(o.data_dir));
  Deployment d;
  COFFER_ASSIGN_OR_RETURN(d.store, OpenSqliteStore(o.data_dir + "/coffer.db"));
  d.keyring = std::make_unique<Keyring>(d.store.get(), std::move(root_key), clock);

  std::string generated_id;
  SecretBytes generated_secret;
  COFFER_RETURN_IF_ERROR(d.store->Write([&](StoreWriter& w) -> Status {
    COFFER_ASSIGN_OR_RETURN(auto account, w.GetMeta("account_id"));
    if (account) {
      if (o.account_id && *o.account_id != *account) {
        return Status("InvalidParameter", "the data directory belongs to account " + *account +
                                              ", not " + *o.account_id);
      }
      d.account_id = *account;
    } else {
      d.account_id = o.account_id.value_or(RandomAccountId());
      COFFER_RETURN_IF_ERROR(w.PutMeta("account_id", d.account_id));
    }
    COFFER_ASSIGN_OR_RETURN(auto keys, w.ListAccessKeys());
    AccessKeyRow row;
    row.account = d.account_id;
    row.principal_arn = "arn:aws:iam::" + d.account_id + ":root";
    row.user_id = d.account_id;
    row.created_ms = clock->NowMillis();
    if (o.root_key_id) {
      COFFER_ASSIGN_OR_RETURN(auto existing, w.FindAccessKey(*o.root_key_id));
      if (existing) {
        auto stored = d.keyring->UnwrapWithRoot(CredentialRegistry::SecretPurpose(*o.root_key_id),
                                                existing->wrapped_secret);
        if (!stored.ok() ||
            !crypto::ConstantTimeEquals(stored->Reveal(), o.root_secret->Reveal())) {
          return Status("InvalidParameter",
                        "COFFER_ROOT_ACCESS_KEY_ID names an existing key with a different secret");
        }
        return Status::Ok();
      }
      row.access_key_id = *o.root_key_id;
      row.wrapped_secret = d.keyring->WrapWithRoot(
          CredentialRegistry::SecretPurpose(row.access_key_id), o.root_secret->Reveal());
      return w.InsertAccessKey(row);
    }
    if (!keys.empty()) return Status::Ok();
    generated_id = NewAccessKeyId();
    SecretBytes raw = crypto::RandomSecret(30);
    std::string b64 = crypto::Base64Encode(raw.Reveal());  // 40 characters, like AWS's
    generated_secret = SecretBytes(b64);
    OPENSSL_cleanse(b64.data(), b64.size());
    row.access_key_id = generated_id;
    row.wrapped_secret = d.keyring->WrapWithRoot(CredentialRegistry::SecretPurpose(generated_id),
                                                 generated_secret.Reveal());
    // The file is written before the key is committed: a crash in between leaves no key in the
    // store, so the next start generates a new one and replaces the stale file.
    std::string path = o.data_dir + "/root-credentials";
    ::unlink(path.c_str());
    std::string text = "[coffer]\naws_access_key_id = " + generated_id +
                       "\naws_secret_access_key = " + std::string(generated_secret.Reveal()) + "\n";
    Status s = WritePrivateFile(o.data_dir, "root-credentials", text);
    OPENSSL_cleanse(text.data(), text.size());
    COFFER_RETURN_IF_ERROR(s);
    d.credentials_file = path;
    return w.InsertAccessKey(row);
  }));
  return d;
}

}  // namespace coffer
