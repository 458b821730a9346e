// The IAM unit tests' fixture and helpers, shared by iam_service_test.cc (users, keys, roles)
// and iam_policies_test.cc (policies, groups, tags, the simulator, authorization).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "auth/credential_registry.h"
#include "core/percent_encoding.h"
#include "crypto/crypto.h"
#include "services/iam/iam_service.h"
#include "store/sqlite/sqlite_store.h"
#include "testing/service_test_support.h"

namespace coffer::iam::test_support {

constexpr char kAccount[] = "123456789012";

// Records every authorization question and refuses the actions it is told to, as IAM's query
// protocol does (AccessDenied).
class RecordingAuthorizer final : public Authorizer {
 public:
  Status Authorize(const RequestContext&, const AuthzCheck& check) const override {
    checks.push_back(check);
    if (denied.count(check.action)) {
      return Status(ErrorCode::kAccessDenied, "not authorized to perform: " + check.action);
    }
    return Status::Ok();
  }
  mutable std::vector<AuthzCheck> checks;
  std::set<std::string> denied;
};

// The text of each <tag>...</tag> in document order, XML entities decoded.
inline std::vector<std::string> All(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t pos = xml.find(open); pos != std::string::npos; pos = xml.find(open, pos)) {
    size_t start = pos + open.size();
    size_t end = xml.find(close, start);
    if (end == std::string::npos) break;
    std::string text = xml.substr(start, end - start);
    std::string decoded;
    for (size_t i = 0; i < text.size(); ++i) {
      static const std::pair<const char*, char> kEntities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool replaced = false;
      for (const auto& [entity, c] : kEntities) {
        if (text.compare(i, std::strlen(entity), entity) == 0) {
          decoded.push_back(c);
          i += std::strlen(entity) - 1;
          replaced = true;
          break;
        }
      }
      if (!replaced) decoded.push_back(text[i]);
    }
    out.push_back(decoded);
    pos = end;
  }
  return out;
}

inline std::string First(const std::string& xml, const std::string& tag) {
  auto all = All(xml, tag);
  return all.empty() ? "<missing " + tag + ">" : all.front();
}

using Params = std::map<std::string, std::string>;

const char kAllowAll[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})";
const char kTrust[] =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]})";

inline std::string AllowPolicy(const std::string& action, const std::string& resource = "*") {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":")" + action +
         R"(","Resource":")" + resource + R"("}]})";
}
inline std::string DenyPolicy(const std::string& action, const std::string& resource = "*") {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":")" + action +
         R"(","Resource":")" + resource + R"("}]})";
}

class IamServiceTest : public ::coffer::test_support::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    iam_ = std::make_unique<IamService>(store_.get(), keyring_.get(), &clock_);
    identity_writes_before_ = store_->IdentityWrites();
    root_.account = kAccount;
    root_.arn = std::string("arn:aws:iam::") + kAccount + ":root";
    root_.user_id = kAccount;
    root_.type = PrincipalType::kRoot;
  }

  Result<std::string> CallAs(const Principal& principal, std::string_view action, Params params) {
    RequestContext ctx;
    ctx.principal = principal;
    ctx.scope = {kAccount, "us-west-2"};
    ctx.now = clock_.NowMillis();
    ctx.authorizer = &authz_;
    AuthorizationLog authorization;
    ctx.authorization = &authorization;
    params["Action"] = std::string(action);
    params["Version"] = "2010-05-08";
    auto out = iam_->Handle(action, ctx, params);
    // Every action must ask before it answers successfully.
    if (out.ok()) {
      EXPECT_TRUE(authorization.answered()) << action << " never called ctx.Authorize";
    }
    return out;
  }
  Result<std::string> Call(std::string_view action, Params params) {
    return CallAs(root_, action, std::move(params));
  }
  std::string Ok(std::string_view action, Params params) {
    auto r = Call(action, std::move(params));
    EXPECT_TRUE(r.ok()) << action << ": " << r.status().code() << " " << r.status().message();
    return r.ok() ? r.value() : std::string();
  }
  std::string Code(std::string_view action, Params params) {
    auto r = Call(action, std::move(params));
    return r.ok() ? "OK" : std::string(r.status().code_name());
  }
  std::string Message(std::string_view action, Params params) {
    auto r = Call(action, std::move(params));
    return r.ok() ? "OK" : r.status().message();
  }

  // The principal of an IAM user, from CreateUser's response.
  static Principal UserPrincipal(const std::string& created) {
    Principal p;
    p.account = kAccount;
    p.arn = First(created, "Arn");
    p.user_id = First(created, "UserId");
    p.access_key_id = "AKIAEXAMPLE";
    p.type = PrincipalType::kIamUser;
    p.user_name = First(created, "UserName");
    return p;
  }
  std::string NewPolicy(const std::string& name, const std::string& doc = kAllowAll) {
    return First(Ok("CreatePolicy", {{"PolicyName", name}, {"PolicyDocument", doc}}), "Arn");
  }
  // Follows markers to the end and returns every value of `tag`.
  std::vector<std::string> ListAll(std::string_view action, Params params, const std::string& tag,
                                   int page_size) {
    std::vector<std::string> out;
    params["MaxItems"] = std::to_string(page_size);
    for (int pages = 0; pages < 100; ++pages) {
      std::string xml = Ok(action, params);
      for (auto& v : All(xml, tag)) out.push_back(v);
      if (First(xml, "IsTruncated") != "true") break;
      params["Marker"] = First(xml, "Marker");
    }
    return out;
  }

  std::unique_ptr<IamService> iam_;
  RecordingAuthorizer authz_;
  Principal root_;
  uint64_t identity_writes_before_ = 0;
  // The identity writes committed since SetUp (what makes identity caches miss).
  uint64_t identity_changes() const { return store_->IdentityWrites() - identity_writes_before_; }
};

}  // namespace coffer::iam::test_support
