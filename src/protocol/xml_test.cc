#include "protocol/xml.h"

#include <gtest/gtest.h>

namespace coffer {
namespace {

namespace json = boost::json;

TEST(QueryResultJson, ReadsTheResultsMembersNestedListsAndEscapedText) {
  auto r = QueryResultJson(
      "<AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>"
      "<Expiration>2026-12-06T20:00:00Z</Expiration></Credentials>"
      "<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>"
      "<Tags><member><Key>a&amp;b</Key><Value>&lt;v&gt;</Value></member>"
      "<member><Key>c</Key><Value></Value></member></Tags><Empty/></AssumeRoleResult>");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(json::serialize(*r),
            R"({"Credentials":{"AccessKeyId":"ASIAEXAMPLE","Expiration":"2026-12-06T20:00:00Z"},)"
            R"("AssumedRoleUser":{"Arn":"arn:aws:sts::1:assumed-role/r/s"},)"
            R"("Tags":[{"Key":"a&b","Value":"<v>"},{"Key":"c","Value":""}],"Empty":""})");
  EXPECT_EQ(json::serialize(*QueryResultJson("<DeleteThingResult></DeleteThingResult>")), "{}");
}

TEST(QueryResultJson, RefusesWhatCofferDoesNotWrite) {
  EXPECT_FALSE(QueryResultJson("").has_value());
  EXPECT_FALSE(QueryResultJson("<A><B>x</A>").has_value());
  EXPECT_FALSE(QueryResultJson("<A attr=\"1\">x</A>").has_value());
  EXPECT_FALSE(QueryResultJson("<A>x</A>trailing").has_value());
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<A>";
  EXPECT_FALSE(QueryResultJson(deep).has_value());
}

}  // namespace
}  // namespace coffer
