#include "services/params/parameter_names.h"

#include <gtest/gtest.h>

namespace coffer::params {
namespace {

const Scope kScope{"123456789012", "us-east-1"};

TEST(ParameterNames, KeysParentsAndArns) {
  EXPECT_EQ(NameKey("/foo"), "foo");
  EXPECT_EQ(NameKey("foo"), "foo");
  EXPECT_EQ(NameKey("/a/b"), "/a/b");
  EXPECT_EQ(ParentPath("foo"), "/");
  EXPECT_EQ(ParentPath("/a"), "/");
  EXPECT_EQ(ParentPath("/a/b/c"), "/a/b");
  EXPECT_EQ(ParameterArn(kScope, "/a/b"), "arn:aws:ssm:us-east-1:123456789012:parameter/a/b");
  EXPECT_EQ(ParameterArn(kScope, "foo"), "arn:aws:ssm:us-east-1:123456789012:parameter/foo");
}

TEST(ParameterNames, Validation) {
  EXPECT_TRUE(ValidateNewName(kScope, "/mistersmith/production/config/api_base_url").ok());
  EXPECT_TRUE(ValidateNewName(kScope, "plain.name-1_x").ok());
  EXPECT_EQ(ValidateNewName(kScope, "a/b").code(), ErrorCode::kValidationException);
  EXPECT_EQ(ValidateNewName(kScope, "/a//b").code(), ErrorCode::kValidationException);
  EXPECT_EQ(ValidateNewName(kScope, "/a/b/").code(), ErrorCode::kValidationException);
  EXPECT_EQ(ValidateNewName(kScope, "/a b").code(), ErrorCode::kValidationException);
  EXPECT_EQ(ValidateNewName(kScope, "awsfoo").code(), ErrorCode::kValidationException);
  EXPECT_EQ(ValidateNewName(kScope, "/SSM/x").code(), ErrorCode::kValidationException);
  EXPECT_EQ(ValidateNewName(kScope, "/aws/x").code(), ErrorCode::kAccessDeniedException);
  std::string fifteen, sixteen;
  for (int i = 0; i < 15; ++i) fifteen += "/l" + std::to_string(i);
  sixteen = fifteen + "/x";
  EXPECT_TRUE(ValidateNewName(kScope, fifteen).ok());
  EXPECT_EQ(ValidateNewName(kScope, sixteen).code(),
            ErrorCode::kHierarchyLevelLimitExceededException);
  // 1011 characters including "arn:aws:ssm:us-east-1:123456789012:parameter/" (45).
  EXPECT_TRUE(ValidateNewName(kScope, "/" + std::string(1011 - 45, 'n')).ok());
  EXPECT_EQ(ValidateNewName(kScope, "/" + std::string(1012 - 45, 'n')).code(),
            ErrorCode::kValidationException);
}

TEST(ParameterNames, Paths) {
  EXPECT_EQ(NormalizePath("/").value(), "/");
  EXPECT_EQ(NormalizePath("/a/b/").value(), "/a/b");
  EXPECT_FALSE(NormalizePath("a/b").ok());
  EXPECT_FALSE(NormalizePath("/a//b").ok());
}

TEST(ParameterNames, References) {
  auto plain = ParseReference(kScope, "/a/b");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "/a/b");
  EXPECT_TRUE(plain->selector.empty());
  auto version = ParseReference(kScope, "/a/b:3").value();
  EXPECT_EQ(version.version, 3);
  EXPECT_EQ(version.selector, ":3");
  auto label = ParseReference(kScope, "/a/b:prod").value();
  EXPECT_EQ(label.label, "prod");
  auto arn = ParseReference(kScope, "arn:aws:ssm:us-east-1:123456789012:parameter/a/b:2").value();
  EXPECT_EQ(arn.name, "/a/b");
  EXPECT_EQ(arn.version, 2);
  auto top = ParseReference(kScope, "arn:aws:ssm:us-east-1:123456789012:parameter/foo").value();
  EXPECT_EQ(top.name, "foo");
  EXPECT_EQ(ParseReference(kScope, "/a:b:c").status().code(), ErrorCode::kValidationException);
  EXPECT_EQ(
      ParseReference(kScope, "arn:aws:ssm:eu-west-1:123456789012:parameter/x").status().code(),
      ErrorCode::kParameterNotFound);
}

TEST(ParameterNames, Labels) {
  EXPECT_TRUE(IsValidLabel("prod"));
  EXPECT_TRUE(IsValidLabel("release_1.2-x"));
  EXPECT_FALSE(IsValidLabel("1abc"));
  EXPECT_FALSE(IsValidLabel("AWSlabel"));
  EXPECT_FALSE(IsValidLabel("ssm-x"));
  EXPECT_FALSE(IsValidLabel("has space"));
  EXPECT_FALSE(IsValidLabel(std::string(101, 'a')));
}

}  // namespace
}  // namespace coffer::params
