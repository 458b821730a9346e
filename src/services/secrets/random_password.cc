#include "services/secrets/random_password.h"

#include <array>
#include <vector>

#include "crypto/crypto.h"

namespace coffer::secrets {
namespace {

// Uniform index in [0, n) by rejection sampling.
size_t UniformIndex(size_t n) {
  const uint32_t limit = UINT32_MAX - (UINT32_MAX % static_cast<uint32_t>(n));
  while (true) {
    uint32_t r;
    crypto::RandomBytes(reinterpret_cast<uint8_t*>(&r), sizeof(r));
    if (r < limit) return r % n;
  }
}

}  // namespace

Result<SecretBytes> GenerateRandomPassword(const PasswordOptions& o) {
  auto keep = [&](char c) { return o.exclude_characters.find(c) == std::string::npos; };
  std::vector<std::string> classes;
  auto add_class = [&](bool excluded, std::string_view chars) {
    if (excluded) return;
    std::string kept;
    for (char c : chars) {
      if (keep(c)) kept.push_back(c);
    }
    if (!kept.empty()) classes.push_back(kept);
  };
  add_class(o.exclude_lowercase, "abcdefghijklmnopqrstuvwxyz");
  add_class(o.exclude_uppercase, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  add_class(o.exclude_numbers, "0123456789");
  add_class(o.exclude_punctuation, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
  add_class(!o.include_space, " ");
  if (classes.empty()) {
    return Status(ErrorCode::kInvalidParameterException,
                  "The password can't be generated because every character type is excluded.");
  }
  if (o.require_each_included_type && o.length < static_cast<int64_t>(classes.size())) {
    return Status(ErrorCode::kInvalidParameterException,
                  "Password length is too short based on the required types.");
  }
  std::string all;
  for (const auto& c : classes) all += c;

  SecretBytes out(static_cast<size_t>(o.length));
  size_t n = out.size();
  size_t i = 0;
  if (o.require_each_included_type) {
    for (const auto& c : classes) out.data()[i++] = static_cast<uint8_t>(c[UniformIndex(c.size())]);
  }
  for (; i < n; ++i) out.data()[i] = static_cast<uint8_t>(all[UniformIndex(all.size())]);
  // Fisher-Yates so the guaranteed characters are not always first.
  for (size_t j = n; j > 1; --j) std::swap(out.data()[j - 1], out.data()[UniformIndex(j)]);
  return out;
}

}  // namespace coffer::secrets
