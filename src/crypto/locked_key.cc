#include "crypto/locked_key.h"

#include <openssl/crypto.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <vector>

#include "crypto/crypto.h"

namespace coffer {
namespace {

// A process-wide pool of kSize-byte slots carved from locked, non-dumpable pages. Pages are
// never returned to the system: the pool only grows to the peak number of keys held at once.
class KeyArena {
 public:
  static KeyArena& Get() {
    static KeyArena* arena = new KeyArena();  // never destroyed: keys may outlive statics
    return *arena;
  }

  uint8_t* Allocate() {
    std::lock_guard lock(mu_);
    if (free_.empty()) Grow();
    uint8_t* slot = free_.back();
    free_.pop_back();
    return slot;
  }

  void Free(uint8_t* slot) {
    OPENSSL_cleanse(slot, LockedKey::kSize);
    std::lock_guard lock(mu_);
    free_.push_back(slot);
  }

  bool locked() const { return locked_.load(std::memory_order_relaxed); }

 private:
  void Grow() {
    const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    void* p = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();  // out of memory
#ifdef MADV_DONTDUMP
    (void)::madvise(p, page, MADV_DONTDUMP);
#endif
    if (::mlock(p, page) != 0) locked_.store(false, std::memory_order_relaxed);
    auto* base = static_cast<uint8_t*>(p);
    for (size_t off = 0; off + LockedKey::kSize <= page; off += LockedKey::kSize) {
      free_.push_back(base + off);
    }
  }

  std::mutex mu_;
  std::vector<uint8_t*> free_;
  std::atomic<bool> locked_{true};
};

}  // namespace

LockedKey::LockedKey(std::string_view bytes) {
  if (bytes.size() != kSize) std::abort();
  slot_ = KeyArena::Get().Allocate();
  std::memcpy(slot_, bytes.data(), kSize);
}

LockedKey LockedKey::Random() {
  LockedKey key;
  key.slot_ = KeyArena::Get().Allocate();
  crypto::RandomBytes(key.slot_, kSize);
  return key;
}

LockedKey& LockedKey::operator=(LockedKey&& other) noexcept {
  if (this != &other) {
    Release();
    slot_ = other.slot_;
    other.slot_ = nullptr;
  }
  return *this;
}

LockedKey LockedKey::Clone() const {
  if (slot_ == nullptr) return LockedKey();
  return LockedKey(Reveal());
}

void LockedKey::Release() {
  if (slot_ != nullptr) KeyArena::Get().Free(slot_);
  slot_ = nullptr;
}

bool KeyMemoryIsLocked() { return KeyArena::Get().locked(); }

}  // namespace coffer
