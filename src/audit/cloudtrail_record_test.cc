#include "audit/cloudtrail_record.h"

#include <gtest/gtest.h>

#include <string>

#include "audit/trail_rows.h"

namespace coffer::audit {
namespace {
namespace json = boost::json;

Principal RoleSession() {
  Principal p;
  p.account = "123456789012";
  p.type = PrincipalType::kAssumedRole;
  p.arn = "arn:aws:sts::123456789012:assumed-role/app/task-1";
  p.user_id = "AROAEXAMPLE:task-1";
  p.access_key_id = "ASIAEXAMPLE";
  p.role_arn = "arn:aws:iam::123456789012:role/app";
  p.role_name = "app";
  p.temporary = true;
  return p;
}

ApiCall Call(const std::string& source, const std::string& name, const json::object* request,
             const json::object* response) {
  ApiCall call;
  call.event_source = source;
  call.event_name = name;
  call.region = "eu-west-1";
  call.time_ms = 1767225600000;
  call.principal = RoleSession();
  call.source_ip = "127.0.0.1";
  call.user_agent = "Boto3/1.34";
  call.request_id = "req-1";
  call.event_id = "evt-1";
  call.recipient_account = "123456789012";
  call.request = request;
  call.response = response;
  return call;
}

TEST(CloudTrailRecordTest, MembersAreSpelledAsCloudTrailSpellsThem) {
  EXPECT_EQ(CloudTrailMemberName("SecretId"), "secretId");
  EXPECT_EQ(CloudTrailMemberName("KMSKeyId"), "kmsKeyId");
  EXPECT_EQ(CloudTrailMemberName("ARN"), "arn");
  EXPECT_EQ(CloudTrailMemberName("VersionStage"), "versionStage");
  EXPECT_EQ(CloudTrailMemberName("name"), "name");
}

TEST(CloudTrailRecordTest, AReadOfASecretRecordsWhoAndWhichButNeverTheValue) {
  const json::object request{{"SecretId", "mistersmith/aurora/master"},
                             {"VersionStage", "AWSCURRENT"}};
  const json::object response{{"Name", "mistersmith/aurora/master"},
                              {"SecretString", "canary-value-1"}};
  ApiCall call = Call("secretsmanager.amazonaws.com", "GetSecretValue", &request, &response);
  call.resources.push_back({"AWS::SecretsManager::Secret", "arn:aws:secretsmanager:x"});
  const json::object record = ApiCallRecord(call);
  const std::string text = json::serialize(record);
  EXPECT_EQ(text.find("canary-value-1"), std::string::npos) << text;
  EXPECT_EQ(record.at("eventVersion"), "1.08");
  EXPECT_EQ(record.at("eventType"), "AwsApiCall");
  EXPECT_EQ(record.at("readOnly"), true);
  EXPECT_TRUE(record.at("responseElements").is_null());
  EXPECT_EQ(record.at("requestParameters"), (json::object{{"secretId", "mistersmith/aurora/master"},
                                                          {"versionStage", "AWSCURRENT"}}));
  const auto& identity = record.at("userIdentity").as_object();
  EXPECT_EQ(identity.at("type"), "AssumedRole");
  EXPECT_EQ(identity.at("sessionContext").at("sessionIssuer").at("arn"),
            "arn:aws:iam::123456789012:role/app");
  EXPECT_EQ(record.at("resources").at(0).at("type"), "AWS::SecretsManager::Secret");
  EXPECT_FALSE(record.contains("errorCode"));
}

TEST(CloudTrailRecordTest, WritesOmitValuesAndParameterStoreShowsThemHidden) {
  const json::object put_secret{
      {"SecretId", "s"}, {"SecretString", "canary-2"}, {"SecretBinary", "Y2FuYXJ5LTM="}};
  const json::object put_response{{"ARN", "arn:s"}, {"Name", "s"}, {"VersionId", "v1"}};
  const json::object record = ApiCallRecord(
      Call("secretsmanager.amazonaws.com", "PutSecretValue", &put_secret, &put_response));
  EXPECT_EQ(record.at("requestParameters"), (json::object{{"secretId", "s"}}));
  EXPECT_EQ(record.at("responseElements"),
            (json::object{{"arn", "arn:s"}, {"name", "s"}, {"versionId", "v1"}}));
  EXPECT_EQ(record.at("readOnly"), false);

  const json::object put_parameter{
      {"Name", "/app/db"},
      {"Type", "SecureString"},
      {"Value", "canary-4"},
      {"Tags", json::array{json::object{{"Key", "team"}, {"Value", "core"}}}}};
  const std::string text = json::serialize(
      ApiCallRecord(Call("ssm.amazonaws.com", "PutParameter", &put_parameter, nullptr)));
  EXPECT_EQ(text.find("canary-4"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("value":"HIDDEN_DUE_TO_SECURITY_REASONS")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("value":"core")"), std::string::npos) << "tag values are not secret";
}

TEST(CloudTrailRecordTest, CredentialsKeepTheirIdsAndLoseTheirSecrets) {
  const json::object response{
      {"Credentials", json::object{{"AccessKeyId", "ASIANEW"},
                                   {"SecretAccessKey", "canary-5"},
                                   {"SessionToken", "canary-6"},
                                   {"Expiration", "2026-01-01T01:00:00Z"}}}};
  const json::object request{{"RoleArn", "arn:aws:iam::123456789012:role/app"},
                             {"RoleSessionName", "s"}};
  const json::object record =
      ApiCallRecord(Call("sts.amazonaws.com", "AssumeRole", &request, &response));
  const std::string text = json::serialize(record);
  EXPECT_EQ(text.find("canary-5"), std::string::npos);
  EXPECT_EQ(text.find("canary-6"), std::string::npos);
  EXPECT_EQ(record.at("responseElements").at("credentials").at("accessKeyId"), "ASIANEW");

  const json::object kms_request{{"KeyId", "alias/app"}, {"Plaintext", "Y2FuYXJ5LTc="}};
  const std::string kms = json::serialize(
      ApiCallRecord(Call("kms.amazonaws.com", "Encrypt", &kms_request, &kms_request)));
  EXPECT_EQ(kms.find("Y2FuYXJ5LTc="), std::string::npos) << kms;
}

TEST(CloudTrailRecordTest, AFailedCallRecordsItsErrorAndNoResponse) {
  const json::object request{{"SecretId", "other"}};
  const json::object response{{"Name", "other"}};
  ApiCall call = Call("secretsmanager.amazonaws.com", "DeleteSecret", &request, &response);
  call.outcome = Status(ErrorCode::kAccessDeniedException, "User: x is not authorized");
  const json::object record = ApiCallRecord(call);
  EXPECT_EQ(record.at("errorCode"), "AccessDeniedException");
  EXPECT_EQ(record.at("errorMessage"), "User: x is not authorized");
  EXPECT_TRUE(record.at("responseElements").is_null());
}

TEST(CloudTrailRecordTest, ACallMadeByAServiceNamesIt) {
  const json::object request{{"KeyId", "alias/aws/secretsmanager"}};
  ApiCall call = Call("kms.amazonaws.com", "Decrypt", &request, nullptr);
  call.invoked_by = "secretsmanager.amazonaws.com";
  const json::object record = ApiCallRecord(call);
  EXPECT_EQ(record.at("userIdentity").at("invokedBy"), "secretsmanager.amazonaws.com");
  EXPECT_EQ(record.at("sourceIPAddress"), "secretsmanager.amazonaws.com");
  EXPECT_EQ(record.at("userAgent"), "secretsmanager.amazonaws.com");
}

TEST(CloudTrailRecordTest, AServiceEventHasTheMinimalIdentityAndNoParameters) {
  ServiceEvent e;
  e.event_source = "secretsmanager.amazonaws.com";
  e.event_name = "RotationFailed";
  e.account = "123456789012";
  e.region = "us-east-2";
  e.time_ms = 1767225600000;
  e.request_id = "Rotation-arn-uuid";
  e.event_id = "evt";
  e.error_message = "Error when executing lambda f during setSecret step";
  e.additional_event_data = json::object{{"SecretId", "arn:s"}};
  const json::object record = ServiceEventRecord(e);
  EXPECT_EQ(
      record.at("userIdentity"),
      (json::object{{"accountId", "123456789012"}, {"invokedBy", "secretsmanager.amazonaws.com"}}));
  EXPECT_EQ(record.at("eventType"), "AwsServiceEvent");
  EXPECT_EQ(record.at("readOnly"), false);
  EXPECT_TRUE(record.at("requestParameters").is_null());
  EXPECT_TRUE(record.at("responseElements").is_null());
  EXPECT_EQ(record.at("additionalEventData").at("SecretId"), "arn:s");
  EXPECT_EQ(record.at("eventTime"), "2026-01-01T00:00:00Z");
}

TEST(CloudTrailRecordTest, ACallNobodyCouldBeIdentifiedForIsUnknown) {
  EXPECT_EQ(UserIdentity(Principal{}), (json::object{{"type", "Unknown"}}));
  EXPECT_EQ(UserIdentity(Principal{}, "secretsmanager.amazonaws.com").at("invokedBy"),
            "secretsmanager.amazonaws.com");
}

TEST(CloudTrailRecordTest, AnEncryptionContextKeepsItsKeysAsGiven) {
  const json::object request{
      {"KeyId", "alias/app"},
      {"EncryptionContext", json::object{{"SecretARN", "arn:x"}, {"Department", "ops"}}}};
  ApiCall call;
  call.event_source = "kms.amazonaws.com";
  call.event_name = "Encrypt";
  call.request = &request;
  const json::object record = ApiCallRecord(call);
  EXPECT_EQ(record.at("requestParameters").at("encryptionContext"),
            (json::object{{"SecretARN", "arn:x"}, {"Department", "ops"}}));
  EXPECT_EQ(record.at("requestParameters").at("keyId"), "alias/app");
}

TEST(CloudTrailRecordTest, AServiceInvokingAFunctionIsADataEventByTheService) {
  ApiCall call;
  call.event_source = "lambda.amazonaws.com";
  call.event_name = "Invoke";
  call.principal.type = PrincipalType::kAwsService;
  call.invoked_by = "secretsmanager.amazonaws.com";
  call.data_event = true;
  const json::object record = ApiCallRecord(call);
  EXPECT_EQ(record.at("userIdentity"),
            (json::object{{"type", "AWSService"}, {"invokedBy", "secretsmanager.amazonaws.com"}}));
  EXPECT_EQ(record.at("eventCategory"), "Data");
  EXPECT_EQ(record.at("managementEvent"), false);
  EXPECT_EQ(record.at("sourceIPAddress"), "secretsmanager.amazonaws.com");
  EXPECT_EQ(ApiCallRow(call).username, "secretsmanager.amazonaws.com");
}

}  // namespace
}  // namespace coffer::audit
