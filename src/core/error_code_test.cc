#include "core/error_code.h"

#include <gtest/gtest.h>

#include <set>
#include <sstream>
#include <string>

#include "core/status.h"

namespace coffer {
namespace {

TEST(ErrorCodeTest, NamesAreTheWireSpellingAndUnique) {
  EXPECT_EQ(ErrorCodeName(ErrorCode::kResourceNotFoundException), "ResourceNotFoundException");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kNoSuchEntity), "NoSuchEntity");
  EXPECT_EQ(ErrorCodeName(ErrorCode::kOk), "");
  std::set<std::string_view> names;
#define COFFER_ERROR_CODE_COLLECT(name, http_status) \
  EXPECT_TRUE(names.insert(ErrorCodeName(ErrorCode::k##name)).second) << #name << " is named twice";
  COFFER_ERROR_CODES(COFFER_ERROR_CODE_COLLECT)
#undef COFFER_ERROR_CODE_COLLECT
  EXPECT_GT(names.size(), 80u);
}

TEST(ErrorCodeTest, HttpStatusesFollowTheServiceModels) {
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kValidationException), 400);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kInternalServiceError), 500);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kKMSInternalException), 500);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kServiceUnavailableException), 503);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kDryRunOperationException), 412);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kNoSuchEntity), 404);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kEntityAlreadyExists), 409);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kAccessDenied), 403);
  EXPECT_EQ(ErrorCodeHttpStatus(ErrorCode::kMissingAuthenticationTokenException), 403);
}

TEST(ErrorCodeTest, StatusCarriesTheCodeAndPrintsItsName) {
  const Status s(ErrorCode::kParameterNotFound, "missing");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kParameterNotFound);
  EXPECT_EQ(s.code_name(), "ParameterNotFound");
  EXPECT_TRUE(Status().ok());
  EXPECT_EQ(Status().code(), ErrorCode::kOk);
  std::ostringstream printed;
  printed << s.code();
  EXPECT_EQ(printed.str(), "ParameterNotFound");
}

TEST(ErrorCodeTest, AWireNameGivesItsCodeBack) {
  EXPECT_EQ(ErrorCodeNamed("AccessDeniedException"), ErrorCode::kAccessDeniedException);
  EXPECT_EQ(ErrorCodeNamed(ErrorCodeName(ErrorCode::kParameterNotFound)),
            ErrorCode::kParameterNotFound);
  EXPECT_EQ(ErrorCodeNamed("NoSuchCode"), std::nullopt);
  EXPECT_EQ(ErrorCodeNamed(""), std::nullopt);
}

}  // namespace
}  // namespace coffer
