// LockedKey: a 256-bit key held in memory that the kernel may not swap out (mlock) and that is
// left out of core dumps (MADV_DONTDUMP); the bytes are wiped when the key is released.
//
// Long-lived keys (the unseal key, the root key, the storage key and cached KMS key material)
// live here. They come from a small arena of locked pages because mlock works on whole pages:
// locking each key's heap allocation separately would unlock a neighbour's page on release.
// When RLIMIT_MEMLOCK forbids locking, keys still work and KeyMemoryIsLocked() says so.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/secret_bytes.h"

namespace coffer {

class LockedKey {
 public:
  static constexpr size_t kSize = 32;

  LockedKey() = default;  // empty: holds no key
  // Aborts unless `bytes` is kSize long: a key of another size is a programming error.
  explicit LockedKey(std::string_view bytes);
  static LockedKey Random();

  LockedKey(LockedKey&& other) noexcept : slot_(other.slot_) { other.slot_ = nullptr; }
  LockedKey& operator=(LockedKey&& other) noexcept;
  LockedKey(const LockedKey&) = delete;
  LockedKey& operator=(const LockedKey&) = delete;
  ~LockedKey() { Release(); }

  // Copies are explicit: every copy of a key is one more place to wipe.
  LockedKey Clone() const;

  bool empty() const { return slot_ == nullptr; }
  const uint8_t* data() const { return slot_; }
  size_t size() const { return slot_ == nullptr ? 0 : kSize; }
  std::string_view Reveal() const { return {reinterpret_cast<const char*>(slot_), size()}; }
  SecretBytes ToSecretBytes() const { return SecretBytes(slot_, size()); }

 private:
  void Release();
  uint8_t* slot_ = nullptr;
};

// False when some page of key memory could not be locked (RLIMIT_MEMLOCK too low).
bool KeyMemoryIsLocked();

}  // namespace coffer
