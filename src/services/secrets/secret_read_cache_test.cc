#include "services/secrets/secret_read_cache.h"

#include <gtest/gtest.h>

namespace coffer::secrets {
namespace {

std::shared_ptr<const CachedSecretVersion> Entry(const std::string& envelope) {
  auto e = std::make_shared<CachedSecretVersion>();
  e->secret.name = "s";
  e->version.envelope = envelope;
  return e;
}

TEST(SecretReadCache, HitOnlyAtTheSameEpoch) {
  SecretReadCache cache(1 << 20);
  cache.Insert("k", 7, Entry("sealed"));
  ASSERT_NE(cache.Find("k", 7), nullptr);
  EXPECT_EQ(cache.Find("k", 7)->version.envelope, "sealed");
  EXPECT_EQ(cache.Find("k", 8), nullptr);  // a write happened since
  EXPECT_EQ(cache.Find("other", 7), nullptr);
}

TEST(SecretReadCache, StaysWithinItsByteBound) {
  SecretReadCache cache(10000);
  for (int i = 0; i < 100; ++i)
    cache.Insert("k" + std::to_string(i), 1, Entry(std::string(1000, 'x')));
  int present = 0;
  for (int i = 0; i < 100; ++i) present += cache.Find("k" + std::to_string(i), 1) != nullptr;
  EXPECT_GT(present, 0);
  EXPECT_LE(present, 10);
  cache.Insert("huge", 1, Entry(std::string(20000, 'x')));  // larger than the bound: not kept
  EXPECT_EQ(cache.Find("huge", 1), nullptr);
}

}  // namespace
}  // namespace coffer::secrets
