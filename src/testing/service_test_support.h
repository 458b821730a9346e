// What the unit tests of coffer's services share: a fixture with a real SQLite store in a
// temporary directory, an unsealed keyring and a fake clock at 2026-01-01T00:00:00Z; an
// authorizer that allows every check (for tests of a service's own rules); and one that records
// every check and denies chosen ones (for tests of what a service asks).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/request_context.h"
#include "crypto/crypto.h"
#include "keyring/keyring.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/test_store.h"

namespace coffer::test_support {

// Records every check it is asked and denies the actions, or "action resource" pairs, in
// `deny`, with AWS's message naming the caller.
class RecordingAuthorizer : public Authorizer {
 public:
  struct Check {
    std::string action;
    std::string resource;
    std::string resource_account;
    std::optional<std::string> resource_policy;  // nullopt: no resource policy was given
    bool key_policy = false;
    std::map<std::string, std::vector<std::string>> context;
  };

  Status Authorize(const RequestContext& ctx, const AuthzCheck& c) const override {
    Check rec{c.action, c.resource, c.resource_account, std::nullopt, c.key_policy, c.context};
    if (c.resource_policy != nullptr) rec.resource_policy = *c.resource_policy;
    checks.push_back(std::move(rec));
    if (deny.count(c.action) || deny.count(c.action + " " + c.resource)) {
      return Status(ErrorCode::kAccessDeniedException,
                    "User: " + ctx.principal.arn + " is not authorized to perform: " + c.action +
                        " on resource: " + c.resource);
    }
    return Status::Ok();
  }

  // The checks asked for `action`, in order.
  std::vector<Check> For(const std::string& action) const {
    std::vector<Check> out;
    for (const auto& c : checks) {
      if (c.action == action) out.push_back(c);
    }
    return out;
  }
  // The first check asked for `action`, or null.
  const Check* Find(const std::string& action) const {
    for (const auto& c : checks) {
      if (c.action == action) return &c;
    }
    return nullptr;
  }
  // (action, resource) of every check so far.
  std::vector<std::pair<std::string, std::string>> Asked() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& c : checks) out.emplace_back(c.action, c.resource);
    return out;
  }

  std::set<std::string> deny;
  mutable std::vector<Check> checks;
};

// Allows every check and runs `between` once, while it authorizes the first check of `action`:
// makes the race between a request's authorization and its write deterministic.
class OnceAuthorizer final : public Authorizer {
 public:
  OnceAuthorizer(std::string action, std::function<void()> between)
      : action_(std::move(action)), between_(std::move(between)) {}
  Status Authorize(const RequestContext&, const AuthzCheck& check) const override {
    if (check.action == action_ && between_) std::exchange(between_, nullptr)();
    return Status::Ok();
  }

 private:
  std::string action_;
  mutable std::function<void()> between_;
};

// A fresh store and keyring per test. Subclasses that override SetUp call StoreTest::SetUp()
// first; services built over store_ and keyring_ must be declared in the subclass (so they go
// before the store does).
class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/coffer-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = OpenTestStore(dir_, &pg_schema_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(store.value());
    keyring_ = Keyring::OpenUnsealedForTest(store_.get(), crypto::RandomSecret(32), &clock_);
  }
  void TearDown() override {
    std::filesystem::remove_all(dir_);
    DropTestSchema(pg_schema_);
  }

  FakeClock clock_{1767225600000};  // 2026-01-01T00:00:00Z
  AllowAllAuthorizer allow_all_;    // for tests of a service's own rules, not of policies
  std::string dir_;
  std::string pg_schema_;  // the test's PostgreSQL schema, when on PostgreSQL
  std::unique_ptr<Store> store_;
  std::unique_ptr<Keyring> keyring_;
};

}  // namespace coffer::test_support
