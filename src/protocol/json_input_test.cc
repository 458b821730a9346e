#include "protocol/json_input.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

boost::json::object Parse(const char* s) { return boost::json::parse(s).as_object(); }

TEST(JsonInput, ReadsTypedMembers) {
  auto o = Parse(R"({"Name":"x","N":5,"B":true,"L":["a","b"],"Null":null})");
  JsonInput in(o);
  EXPECT_EQ(in.String("Name"), "x");
  EXPECT_EQ(in.Int("N"), 5);
  EXPECT_EQ(in.Bool("B"), true);
  EXPECT_EQ(in.StringList("L"), (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(in.String("Null"));
  EXPECT_FALSE(in.Has("Missing"));
  EXPECT_TRUE(in.Finish().ok());
}

TEST(JsonInput, WrongTypeIsSerializationException) {
  auto o = Parse(R"({"Name":5})");
  JsonInput in(o);
  EXPECT_FALSE(in.String("Name"));
  EXPECT_EQ(in.Finish().code(), ErrorCode::kSerializationException);
}

TEST(JsonInput, CollectsValidationErrorsAwsStyle) {
  auto o = Parse(R"({"PasswordLength":5000})");
  JsonInput in(o);
  (void)in.String("SecretId", {.required = true});
  (void)in.Int("PasswordLength", {.min = 1, .max = 4096});
  Status s = in.Finish();
  EXPECT_EQ(s.code(), ErrorCode::kValidationException);
  EXPECT_EQ(s.message(),
            "2 validation errors detected: Value null at 'secretId' failed to satisfy "
            "constraint: Member must not be null; Value '5000' at 'passwordLength' failed to "
            "satisfy constraint: Member must have value less than or equal to 4096");
}

TEST(JsonInput, SensitiveValuesAreNotEchoed) {
  std::string big(70000, 'S');
  boost::json::object o{{"SecretString", big}};
  JsonInput in(o);
  (void)in.String("SecretString", {.max_len = 65536, .sensitive = true});
  Status s = in.Finish();
  EXPECT_EQ(s.code(), ErrorCode::kValidationException);
  EXPECT_EQ(s.message().find("SSS"), std::string::npos);
}

TEST(JsonInput, SecretsAreReadIntoSecretBytesAndNeverEchoed) {
  boost::json::object o{{"Value", std::string(70000, 'S')}, {"Other", 7}};
  JsonInput in(o);
  auto value = in.Secret("Value", {.required = true, .max_len = 65536});
  auto missing = in.Secret("Missing", {.required = true});
  auto wrong_type = in.Secret("Other");
  ASSERT_TRUE(value);
  EXPECT_EQ(value->size(), 70000u);
  EXPECT_FALSE(missing);
  EXPECT_FALSE(wrong_type);
  Status s = in.Finish();
  EXPECT_EQ(s.code(), ErrorCode::kSerializationException);  // the type error is reported first
  JsonInput too_long(o);
  (void)too_long.Secret("Value", {.max_len = 65536});
  s = too_long.Finish();
  EXPECT_EQ(s.code(), ErrorCode::kValidationException);
  EXPECT_EQ(s.message().find("SSS"), std::string::npos);
  EXPECT_NE(s.message().find("'value'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace coffer
