#include "protocol/json_tags.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

namespace json = boost::json;

const TagListFormat kStrict{
    .later_replaces_earlier = true,
    .tag_characters_only = true,
    .missing_member = Status(ErrorCode::kInvalidParameterException, "m"),
    .bad_key_size = Status(ErrorCode::kValidationException, "k"),
    .bad_value_size = Status(ErrorCode::kInvalidRequestException, "v"),
    .reserved_prefix = Status(ErrorCode::kTagException, "r"),
    .bad_characters = Status(ErrorCode::kInvalidInput, "c"),
};

std::string Code(const char* list, const TagListFormat& format) {
  json::value v = json::parse(list);
  auto tags = DecodeTagList(&v.as_array(), format);
  return tags.ok() ? "OK" : std::string(tags.status().code_name());
}

TEST(DecodeTagList, EachRuleAnswersWithTheServicesOwnError) {
  EXPECT_EQ(Code(R"([{"Key":"team","Value":"a"}])", kStrict), "OK");
  EXPECT_EQ(Code(R"([{"Key":"team"}])", kStrict), "InvalidParameterException");
  EXPECT_EQ(Code(R"([{"Key":7,"Value":"a"}])", kStrict), "InvalidParameterException");
  EXPECT_EQ(Code(R"([{"Key":"","Value":"a"}])", kStrict), "ValidationException");
  EXPECT_EQ(
      Code(("[{\"Key\":\"" + std::string(129, 'k') + "\",\"Value\":\"a\"}]").c_str(), kStrict),
      "ValidationException");
  EXPECT_EQ(
      Code(("[{\"Key\":\"k\",\"Value\":\"" + std::string(257, 'v') + "\"}]").c_str(), kStrict),
      "InvalidRequestException");
  EXPECT_EQ(Code(R"([{"Key":"aws:owner","Value":"a"}])", kStrict), "TagException");
  EXPECT_EQ(Code(R"([{"Key":"a#b","Value":"a"}])", kStrict), "InvalidInput");
  EXPECT_EQ(Code(R"(["not an object"])", kStrict), "SerializationException");
}

TEST(DecodeTagList, MemberNamesNullsAndRepeatsFollowTheFormat) {
  TagListFormat kms = kStrict;
  kms.key_member = "TagKey";
  kms.value_member = "TagValue";
  json::value v = json::parse(R"([{"TagKey":"a","TagValue":"1"},{"TagKey":"a","TagValue":"2"}])");
  auto merged = DecodeTagList(&v.as_array(), kms);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged, (Tags{{"a", "2"}}));

  TagListFormat lenient = kStrict;
  lenient.null_means_empty = true;
  lenient.later_replaces_earlier = false;
  json::value nulls = json::parse(R"([{"Key":"a","Value":null},{"Key":"a"}])");
  auto kept = DecodeTagList(&nulls.as_array(), lenient);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, (Tags{{"a", ""}, {"a", ""}}));
  EXPECT_EQ(Code(R"([{"Key":"a","Value":5}])", lenient), "SerializationException");
  EXPECT_EQ(DecodeTagList(nullptr, kStrict)->size(), 0u);
}

}  // namespace
}  // namespace coffer
