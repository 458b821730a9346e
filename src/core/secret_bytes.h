// SecretBytes: a buffer for key material and secret values that is wiped when released.
//
// It deliberately has no stream operator and no implicit conversion to std::string, so a
// secret cannot reach a log line by accident; revealing the bytes is an explicit call.
#pragma once

#include <openssl/crypto.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace coffer {

class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(size_t n) : bytes_(n) {}
  explicit SecretBytes(std::string_view s) : bytes_(s.begin(), s.end()) {}
  SecretBytes(const uint8_t* p, size_t n) : bytes_(p, p + n) {}
  SecretBytes(const SecretBytes& o) : bytes_(o.bytes_) {}
  SecretBytes(SecretBytes&& o) noexcept : bytes_(std::move(o.bytes_)) {}
  SecretBytes& operator=(const SecretBytes& o) {
    if (this != &o) {
      Wipe();
      bytes_ = o.bytes_;
    }
    return *this;
  }
  SecretBytes& operator=(SecretBytes&& o) noexcept {
    if (this != &o) {
      Wipe();
      bytes_ = std::move(o.bytes_);
    }
    return *this;
  }
  ~SecretBytes() { Wipe(); }

  size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  uint8_t* data() { return bytes_.data(); }
  const uint8_t* data() const { return bytes_.data(); }

  // Explicit reveal: the caller takes responsibility for where the bytes go.
  std::string_view Reveal() const {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

 private:
  void Wipe() {
    if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
    bytes_.clear();
  }
  std::vector<uint8_t> bytes_;
};

}  // namespace coffer
