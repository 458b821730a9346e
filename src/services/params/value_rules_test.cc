#include "services/params/value_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace coffer::params {
namespace {

TEST(CheckDeclaredKinds, AcceptsAwsValuesAndNamesTheEnumOtherwise) {
  EXPECT_TRUE(CheckDeclaredKinds("SecureString", "Intelligent-Tiering", "aws:ec2:image").ok());
  EXPECT_TRUE(CheckDeclaredKinds(std::nullopt, std::nullopt, std::nullopt).ok());
  Status bad_type = CheckDeclaredKinds("Secure", std::nullopt, std::nullopt);
  EXPECT_EQ(bad_type.code(), ErrorCode::kValidationException);
  EXPECT_NE(bad_type.message().find("[SecureString, StringList, String]"), std::string::npos);
  EXPECT_EQ(CheckDeclaredKinds(std::nullopt, "Premium", std::nullopt).code(),
            ErrorCode::kValidationException);
  Status bad_data_type = CheckDeclaredKinds(std::nullopt, std::nullopt, "Text");
  EXPECT_NE(bad_data_type.message().find("all lowercase"), std::string::npos);
}

TEST(CheckParameterValue, SizePatternAndDataType) {
  EXPECT_TRUE(CheckParameterValue(std::string(8192, 'v'), std::nullopt, "text").ok());
  EXPECT_EQ(CheckParameterValue(std::string(8193, 'v'), std::nullopt, "text").code(),
            ErrorCode::kValidationException);
  EXPECT_TRUE(CheckParameterValue("12345", std::string("^\\d+$"), "text").ok());
  Status mismatch = CheckParameterValue("s3cr3t-abc", std::string("^\\d+$"), "text");
  EXPECT_EQ(mismatch.code(), ErrorCode::kParameterPatternMismatchException);
  EXPECT_EQ(mismatch.message().find("s3cr3t"), std::string::npos) << "the value is never echoed";
  EXPECT_TRUE(CheckParameterValue("ami-0123456789abcdef0", std::nullopt, "aws:ec2:image").ok());
  EXPECT_EQ(CheckParameterValue("ami-xyz", std::nullopt, "aws:ec2:image").code(),
            ErrorCode::kValidationException);
}

}  // namespace
}  // namespace coffer::params
