"""The audit trail end to end: every call recorded in CloudTrail's format, read back with
LookupEvents through boto3 and the AWS CLI, durable across kill -9, and failing closed when it
cannot be written.

CloudTrail's record contents:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
LookupEvents: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
"""

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import unittest

from botocore.exceptions import ClientError

from coffer_server import (ACCOUNT_ID, DEFAULT_REGION, AwsAssertions, CofferServer,
                           error_code, mount_small_disk, start_class_server, unique_name)


def lookup_all(ct, **kwargs):
    """Every event a lookup returns, through boto3's paginator (newest first)."""
    events = []
    for page in ct.get_paginator("lookup_events").paginate(**kwargs):
        events.extend(page["Events"])
    return events


def wait_for_events(ct, want, timeout=10.0, **kwargs):
    """Polls until the lookup returns at least `want` events (the index trails the journal by a
    moment, as CloudTrail's does by minutes)."""
    deadline = time.monotonic() + timeout
    while True:
        events = lookup_all(ct, **kwargs)
        if len(events) >= want or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def by_name(ct, name, **kwargs):
    return lookup_all(ct, LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
                      **kwargs)


class AuditTrailTest(AwsAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.sm = cls.server.client("secretsmanager")
        cls.iam = cls.server.client("iam")
        cls.ct = cls.server.client("cloudtrail")

    def _user_client(self, service, policy):
        name = unique_name("auditor")
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return name, key["AccessKeyId"], self.server.client(
            service, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])

    def summary(self, body, key_id=None, secret=None, region=DEFAULT_REGION):
        resp = self.server.signed_json_request(
            "CofferInsights_20261207.GetAccessSummary", body, service="cloudtrail",
            key_id=key_id, secret=secret, region=region)
        return resp.status, resp.json()

    def test_the_access_summary_counts_reads_denials_and_principals_of_the_trail(self):
        # The dashboard's one call (GetAccessSummary): its figures are what the trail holds.
        canary = "summary-canary-" + unique_name("v")
        arn = self.sm.create_secret(Name=unique_name("summary"), SecretString=canary)["ARN"]
        user, key_id, user_sm = self._user_client("secretsmanager", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": arn}]})
        for _ in range(3):
            user_sm.get_secret_value(SecretId=arn)
        other = self.sm.create_secret(Name=unique_name("summary-other"), SecretString=canary)
        with self.assertRaises(ClientError):
            user_sm.get_secret_value(SecretId=other["ARN"])
        user_arn = f"arn:aws:iam::{ACCOUNT_ID}:user/{user}"
        now = time.time()
        body = {"StartTime": now - 600, "EndTime": now + 60, "Period": 60}
        deadline = time.monotonic() + 10
        while True:
            status, out = self.summary(body)
            self.assertEqual(status, 200, out)
            mine = {p["PrincipalArn"]: p for p in out["Principals"]}.get(user_arn)
            if (mine and mine["Denied"] == 1) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(mine, {"PrincipalArn": user_arn, "Type": "IAMUser", "Role": "",
                                "Reads": 3, "Denied": 1})
        # Periods aligned to the minute, from the one holding StartTime to the one holding EndTime.
        start_ms, end_ms = round(body["StartTime"] * 1000), round(body["EndTime"] * 1000)
        first = start_ms // 60000 * 60000
        buckets = -(-(end_ms - first) // 60000)
        self.assertEqual(out["Timestamps"][0], first / 1000)
        self.assertEqual(len(out["Timestamps"]), buckets)
        secrets = {s["SecretArn"]: s for s in out["SecretReads"]["BySecret"]}
        self.assertEqual(secrets[arn]["Total"], 3)
        self.assertEqual(sum(secrets[arn]["Values"]), 3)
        self.assertEqual(len(secrets[arn]["Values"]), buckets)
        self.assertGreaterEqual(sum(out["SecretReads"]["Total"]), 3)
        self.assertGreaterEqual(sum(out["AccessDenied"]), 1)
        denial = next(d for d in out["RecentDenials"] if d["PrincipalArn"] == user_arn)
        self.assertEqual((denial["EventName"], denial["ErrorCode"], denial["Resource"]),
                         ("GetSecretValue", "AccessDeniedException", other["ARN"]))
        self.assertEqual(denial["SourceIPAddress"], "127.0.0.1")
        self.assertNotIn(canary, json.dumps(out))
        # Signed for another region, the summary is of that region's trail: none of this.
        status, there = self.summary(body, region="eu-west-1")
        self.assertEqual(status, 200, there)
        self.assertNotIn(user_arn, json.dumps(there))
        self.assertNotIn(arn, json.dumps(there))

        # Checked as a service checks its input, and authorized as LookupEvents.
        status, err = self.summary({"Period": 45})
        self.assertEqual((status, err["__type"].split("#")[-1]), (400, "ValidationException"))
        status, err = self.summary({"StartTime": now, "EndTime": now - 10})
        self.assertEqual((status, err["__type"].split("#")[-1]), (400, "ValidationException"))
        status, err = self.summary({"StartTime": now - 30 * 86400, "Period": 60})
        self.assertEqual(status, 400)
        self.assertIn("at most 1440 periods", err["message"])
        status, err = self.summary({"StartTime": "yesterday"})
        self.assertEqual((status, err["__type"].split("#")[-1]), (400, "SerializationException"))
        name = unique_name("no-trail")  # may do anything with secrets, nothing with the trail
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}]}))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        status, err = self.summary({}, key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
        self.assertEqual((status, err["__type"].split("#")[-1]), (400, "AccessDeniedException"))
        self.assertIn("cloudtrail:LookupEvents", err["message"])

    def test_a_scripted_session_is_recorded_as_cloudtrail_records_it(self):
        name = unique_name("mistersmith/aurora")
        canary = "canary-" + unique_name("value") + "-never-in-the-trail"
        arn = self.sm.create_secret(Name=name, SecretString=canary)["ARN"]
        other = self.sm.create_secret(Name=unique_name("other"), SecretString=canary + "-2")["ARN"]
        user, key_id, user_sm = self._user_client("secretsmanager", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": arn}]})
        self.assertEqual(user_sm.get_secret_value(SecretId=name)["SecretString"], canary)
        with self.assertRaises(ClientError) as denied:
            user_sm.get_secret_value(SecretId=other)
        self.assertEqual(error_code(denied.exception), "AccessDeniedException")
        with self.assertRaises(ClientError) as failed:
            self.sm.rotate_secret(SecretId=name)  # no rotation function: a failed call
        self.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)

        events = wait_for_events(self.ct, 4, LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": arn}])
        names = [e["EventName"] for e in events]
        # Newest first; the denied read names the other secret, not this one.
        self.assertEqual(names, ["DeleteSecret", "RotateSecret", "GetSecretValue", "CreateSecret"],
                         names)
        records = {e["EventName"]: json.loads(e["CloudTrailEvent"]) for e in events}

        create = records["CreateSecret"]
        self.assertEqual(create["eventVersion"], "1.08")
        self.assertEqual(create["eventSource"], "secretsmanager.amazonaws.com")
        self.assertEqual(create["eventType"], "AwsApiCall")
        self.assertEqual(create["eventCategory"], "Management")
        self.assertIs(create["managementEvent"], True)
        self.assertIs(create["readOnly"], False)
        self.assertEqual(create["awsRegion"], DEFAULT_REGION)
        self.assertEqual(create["recipientAccountId"], ACCOUNT_ID)
        self.assertEqual(create["sourceIPAddress"], "127.0.0.1")
        self.assertIn("Boto3", create["userAgent"])
        self.assertEqual(create["userIdentity"]["type"], "Root")
        self.assertEqual(create["userIdentity"]["arn"], f"arn:aws:iam::{ACCOUNT_ID}:root")
        self.assertEqual(create["userIdentity"]["accessKeyId"], self.server.key_id)
        self.assertEqual(create["requestParameters"]["name"], name)
        self.assertNotIn("secretString", create["requestParameters"])
        self.assertEqual(create["responseElements"]["arn"], arn)
        self.assertEqual(create["resources"], [
            {"accountId": ACCOUNT_ID, "type": "AWS::SecretsManager::Secret", "ARN": arn}])
        self.assertRegex(create["eventID"], r"^[0-9a-f-]{36}$")
        self.assertRegex(create["requestID"], r"^[0-9a-f-]{36}$")
        self.assertRegex(create["eventTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        read = records["GetSecretValue"]
        self.assertIs(read["readOnly"], True)
        self.assertIsNone(read["responseElements"])  # as AWS records it
        self.assertEqual(read["requestParameters"], {"secretId": name})
        self.assertEqual(read["userIdentity"]["type"], "IAMUser")
        self.assertEqual(read["userIdentity"]["userName"], user)
        self.assertEqual(read["userIdentity"]["accessKeyId"], key_id)
        self.assertEqual(read["userIdentity"]["arn"], f"arn:aws:iam::{ACCOUNT_ID}:user/{user}")
        self.assertNotIn("errorCode", read)

        rotate = records["RotateSecret"]
        self.assertEqual(rotate["errorCode"], error_code(failed.exception))
        self.assertIn("errorMessage", rotate)
        self.assertIsNone(rotate["responseElements"])

        # The denied read: recorded with AWS's error code, against the secret it asked for.
        denials = wait_for_events(self.ct, 1, LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": other}])
        denied_record = json.loads(denials[0]["CloudTrailEvent"])
        self.assertEqual(denied_record["eventName"], "GetSecretValue")
        self.assertEqual(denied_record["errorCode"], "AccessDeniedException")
        self.assertEqual(denied_record["userIdentity"]["userName"], user)

        # LookupEvents' own fields.
        read_event = next(e for e in events if e["EventName"] == "GetSecretValue")
        self.assertEqual(read_event["Username"], user)
        self.assertEqual(read_event["AccessKeyId"], key_id)
        self.assertEqual(read_event["ReadOnly"], "true")
        self.assertEqual(read_event["EventSource"], "secretsmanager.amazonaws.com")
        self.assertEqual(read_event["Resources"],
                         [{"ResourceType": "AWS::SecretsManager::Secret", "ResourceName": arn}])

        # The value itself is nowhere in the trail's files.
        self.server.canaries.add(canary.encode())
        self.server.assert_no_canary_in_audit_trail()

    def test_every_service_is_recorded(self):
        ssm = self.server.client("ssm")
        kms = self.server.client("kms")
        sts = self.server.client("sts")
        param = "/" + unique_name("audit")
        ssm.put_parameter(Name=param, Value="parameter-canary-value-1", Type="SecureString")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.encrypt(KeyId=key, Plaintext=b"kms-plaintext-canary-1")
        sts.get_caller_identity()
        self.iam.list_users()
        for source, name in (("ssm.amazonaws.com", "PutParameter"),
                             ("kms.amazonaws.com", "Encrypt"),
                             ("sts.amazonaws.com", "GetCallerIdentity"),
                             ("iam.amazonaws.com", "ListUsers")):
            events = wait_for_events(self.ct, 1, LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": name}])
            self.assertTrue(events, name)
            record = json.loads(events[0]["CloudTrailEvent"])
            self.assertEqual(record["eventSource"], source)
        put = json.loads(by_name(self.ct, "PutParameter")[0]["CloudTrailEvent"])
        self.assertEqual(put["requestParameters"]["value"], "HIDDEN_DUE_TO_SECURITY_REASONS")
        self.assertEqual(put["requestParameters"]["name"], param)
        encrypt = json.loads(by_name(self.ct, "Encrypt")[0]["CloudTrailEvent"])
        self.assertNotIn("plaintext", encrypt["requestParameters"])
        self.assertIsNone(encrypt["responseElements"])

    def test_query_protocol_responses_are_recorded_without_their_secrets(self):
        # As CloudTrail records IAM's and STS's answers: the result's members, lowerCamelCase;
        # the secret access key and the session token left out.
        role_name = unique_name("audit-role")
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
            "Action": "sts:AssumeRole"}]}
        role = self.iam.create_role(RoleName=role_name,
                                    AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        _, _, sts = self._user_client("sts", {  # roles are not assumed by an account's root
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
        issued = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="audit-session")
        creds = issued["Credentials"]
        records = [json.loads(e["CloudTrailEvent"]) for e in wait_for_events(
            self.ct, 2, LookupAttributes=[{"AttributeKey": "ResourceName",
                                           "AttributeValue": role["Arn"]}])]
        assume = next(r for r in records if r["eventName"] == "AssumeRole")
        response = assume["responseElements"]
        self.assertEqual(response["credentials"]["accessKeyId"], creds["AccessKeyId"])
        self.assertIn("expiration", response["credentials"])
        self.assertNotIn("sessionToken", response["credentials"])
        self.assertNotIn("secretAccessKey", response["credentials"])
        self.assertEqual(response["assumedRoleUser"]["arn"], issued["AssumedRoleUser"]["Arn"])
        self.assertEqual(response["assumedRoleUser"]["assumedRoleId"],
                         issued["AssumedRoleUser"]["AssumedRoleId"])
        text = json.dumps(records)
        self.assertNotIn(creds["SecretAccessKey"], text)
        self.assertNotIn(creds["SessionToken"], text)
        create = next(r for r in records if r["eventName"] == "CreateRole")
        self.assertEqual(create["responseElements"]["role"]["roleName"], role_name)
        self.assertEqual(create["responseElements"]["role"]["arn"], role["Arn"])

    def test_each_lookup_attribute_with_the_aws_cli(self):
        name = unique_name("cli")
        arn = self.sm.create_secret(Name=name, SecretString="cli-canary-value-123")["ARN"]
        self.sm.describe_secret(SecretId=arn)
        events = wait_for_events(self.ct, 2, LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": arn}])
        create = next(e for e in events if e["EventName"] == "CreateSecret")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.key_id,
                   AWS_SECRET_ACCESS_KEY=self.server.secret, AWS_DEFAULT_REGION=DEFAULT_REGION,
                   AWS_ENDPOINT_URL=self.server.endpoint, AWS_PAGER="")
        for key, value in (("EventId", create["EventId"]), ("EventName", "DescribeSecret"),
                           ("ReadOnly", "false"), ("Username", "root"),
                           ("ResourceType", "AWS::SecretsManager::Secret"),
                           ("ResourceName", arn),
                           ("EventSource", "secretsmanager.amazonaws.com"),
                           ("AccessKeyId", self.server.key_id)):
            out = subprocess.run(
                ["aws", "cloudtrail", "lookup-events", "--lookup-attributes",
                 f"AttributeKey={key},AttributeValue={value}", "--max-items", "5",
                 "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            found = json.loads(out.stdout)["Events"]
            self.assertTrue(found, key)
            for event in found:
                if key == "ResourceName":
                    self.assertIn(arn, [r["ResourceName"] for r in event["Resources"]])
                elif key == "ResourceType":
                    self.assertIn(value, [r["ResourceType"] for r in event["Resources"]])
                else:
                    self.assertEqual(event[key], value, key)

    def test_operator_endpoints_are_recorded_signed_unsigned_and_refused(self):
        # Signed by the operator (root of the deployment's account): ListEvents.
        resp = self.server.signed_request(method="GET", path="/coffer/events", service="coffer")
        self.assertEqual(resp.status, 200)
        # Unsigned: the seal status.
        self.assertEqual(self.server.raw_request("GET", "/coffer/seal-status").status, 200)
        # Signed by an IAM user, refused: creating an account is the operator's.
        user = unique_name("op-auditor")
        self.iam.create_user(UserName=user)
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        key_id, secret = key["AccessKeyId"], key["SecretAccessKey"]
        resp = self.server.signed_request(
            body=b"{}", path="/coffer/accounts", service="coffer", key_id=key_id, secret=secret,
            headers={"Content-Type": "application/json"})
        self.assertEqual(resp.status, 403)

        source = [{"AttributeKey": "EventSource", "AttributeValue": "operator.coffer"}]
        deadline = time.monotonic() + 10
        while True:  # until the refused call (the last of the three) is indexed
            events = lookup_all(self.ct, LookupAttributes=source)
            if any(key_id in e["CloudTrailEvent"] for e in events) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        records = {e["EventName"]: json.loads(e["CloudTrailEvent"]) for e in events}
        listed = records["ListEvents"]
        self.assertEqual(listed["eventSource"], "operator.coffer")
        self.assertEqual(listed["userIdentity"]["type"], "Root")
        self.assertEqual(listed["userIdentity"]["accessKeyId"], self.server.key_id)
        self.assertEqual(listed["sourceIPAddress"], "127.0.0.1")
        self.assertNotIn("errorCode", listed)
        status = records["GetSealStatus"]
        self.assertEqual(status["userIdentity"], {"type": "Unknown"})
        self.assertEqual(status["recipientAccountId"], ACCOUNT_ID)
        # The class's other tests may create accounts too: the refused call is the user's.
        refused = next(json.loads(e["CloudTrailEvent"]) for e in events
                       if e["EventName"] == "CreateAccount"
                       and json.loads(e["CloudTrailEvent"])["userIdentity"].get("accessKeyId")
                       == key_id)
        self.assertEqual(refused["userIdentity"]["type"], "IAMUser")
        self.assertEqual(refused["userIdentity"]["accessKeyId"], key_id)
        self.assertEqual(refused["errorCode"], "AccessDeniedException")
        self.assertIn("only an account's root may", refused["errorMessage"])
        for record in records.values():
            self.assertIsNone(record["requestParameters"])

    def test_kms_use_on_the_callers_behalf_is_recorded_with_invoked_by(self):
        kms = self.server.client("kms")
        key_arn = kms.create_key(Description="audit on behalf")["KeyMetadata"]["Arn"]
        mine = self.sm.create_secret(Name=unique_name("behalf"), KmsKeyId=key_arn,
                                     SecretString="behalf-canary-value-1")["ARN"]
        default = self.sm.create_secret(Name=unique_name("behalf-default"),
                                        SecretString="behalf-canary-value-2")["ARN"]
        self.sm.get_secret_value(SecretId=mine)
        self.sm.get_secret_value(SecretId=default)
        ssm = self.server.client("ssm")
        param = unique_name("/audit/behalf")
        ssm.put_parameter(Name=param, Type="SecureString", Value="behalf-canary-value-3",
                          KeyId=key_arn)

        def kms_events(name, want):
            """The key's `name` events, polled until `want` are indexed."""
            deadline = time.monotonic() + 10
            while True:
                events = lookup_all(self.ct, LookupAttributes=[
                    {"AttributeKey": "ResourceName", "AttributeValue": key_arn}])
                found = [json.loads(e["CloudTrailEvent"]) for e in events
                         if e["EventName"] == name]
                if len(found) >= want or time.monotonic() > deadline:
                    return found
                time.sleep(0.1)

        decrypts = kms_events("Decrypt", 1)
        ours = [r for r in decrypts
                if r["requestParameters"]["encryptionContext"].get("SecretARN") == mine]
        self.assertEqual(len(ours), 1, decrypts)
        record = ours[0]
        self.assertEqual(record["eventSource"], "kms.amazonaws.com")
        self.assertEqual(record["userIdentity"]["invokedBy"], "secretsmanager.amazonaws.com")
        self.assertEqual(record["userIdentity"]["type"], "Root")
        self.assertEqual(record["sourceIPAddress"], "secretsmanager.amazonaws.com")
        self.assertEqual(record["userAgent"], "secretsmanager.amazonaws.com")
        self.assertEqual(record["requestParameters"]["encryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertTrue(record["readOnly"])
        self.assertEqual(record["resources"],
                         [{"accountId": ACCOUNT_ID, "type": "AWS::KMS::Key", "ARN": key_arn}])
        generated = kms_events("GenerateDataKey", 1)
        self.assertTrue(any(r["requestParameters"]["encryptionContext"].get("SecretARN") == mine
                            for r in generated), generated)
        encrypts = kms_events("Encrypt", 1)
        self.assertEqual(encrypts[0]["userIdentity"]["invokedBy"], "ssm.amazonaws.com")
        self.assertTrue(encrypts[0]["requestParameters"]["encryptionContext"]["PARAMETER_ARN"]
                        .endswith(param))
        # The AWS managed key's use is recorded too.
        by_source = lookup_all(self.ct, LookupAttributes=[
            {"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}])
        contexts = [json.loads(e["CloudTrailEvent"])["requestParameters"]["encryptionContext"]
                    for e in by_source if e["EventName"] == "Decrypt"]
        self.assertIn({"SecretARN": default}, contexts)

    def test_another_account_sees_nothing_of_this_accounts_trail(self):
        # An attacker with its own account in the deployment looks for this account's records by
        # every way of naming them: the secret's ARN, an event id, this root's access key.
        arn = self.sm.create_secret(Name=unique_name("private"),
                                    SecretString="private-canary-value-1")["ARN"]
        self.sm.get_secret_value(SecretId=arn)
        mine = wait_for_events(self.ct, 2, LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": arn}])
        self.assertGreaterEqual(len(mine), 2)
        resp = self.server.signed_request(body=b"{}", path="/coffer/accounts", service="coffer",
                                          headers={"Content-Type": "application/json"})
        self.assertEqual(resp.status, 200)
        other = resp.json()
        self.assertNotEqual(other["AccountId"], ACCOUNT_ID)
        ct = self.server.client("cloudtrail", key_id=other["AccessKeyId"],
                                secret=other["SecretAccessKey"])
        for key, value in (("ResourceName", arn), ("EventId", mine[0]["EventId"]),
                           ("AccessKeyId", self.server.key_id), ("Username", "root")):
            found = lookup_all(ct, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}])
            for event in found:
                record = json.loads(event["CloudTrailEvent"])
                self.assertEqual(record["recipientAccountId"], other["AccountId"], key)
            self.assertNotIn(mine[0]["EventId"], [e["EventId"] for e in found], key)
        # Its own lookup of everything holds only its own calls.
        for event in lookup_all(ct):
            self.assertEqual(json.loads(event["CloudTrailEvent"])["recipientAccountId"],
                             other["AccountId"])

    def test_a_cross_account_call_is_recorded_in_both_accounts(self):
        # As CloudTrail delivers it: the caller's account and the resource owner's each get a
        # copy with its own eventID and the same sharedEventID.
        resp = self.server.signed_request(body=b"{}", path="/coffer/accounts", service="coffer",
                                          headers={"Content-Type": "application/json"})
        self.assertEqual(resp.status, 200)
        other = resp.json()
        arn = self.sm.create_secret(Name=unique_name("shared"),
                                    SecretString="shared-canary-value-1")["ARN"]
        self.sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{other['AccountId']}:root"},
                "Action": "secretsmanager:DescribeSecret", "Resource": "*"}]}))
        their_sm = self.server.client("secretsmanager", key_id=other["AccessKeyId"],
                                      secret=other["SecretAccessKey"])
        their_ct = self.server.client("cloudtrail", key_id=other["AccessKeyId"],
                                      secret=other["SecretAccessKey"])
        their_sm.describe_secret(SecretId=arn)
        with self.assertRaises(ClientError):  # refused: recorded in the caller's trail only
            their_sm.get_secret_value(SecretId=arn)
        # A batch call succeeds while refusing the secret: not the owner's business either.
        batch = their_sm.batch_get_secret_value(SecretIdList=[arn])
        self.assertEqual([e["ErrorCode"] for e in batch["Errors"]], ["AccessDeniedException"])

        def described(ct, want):
            deadline = time.monotonic() + 10
            while True:
                found = [json.loads(e["CloudTrailEvent"]) for e in lookup_all(
                    ct, LookupAttributes=[{"AttributeKey": "ResourceName",
                                           "AttributeValue": arn}])]
                found = [r for r in found if r["userIdentity"]["accountId"] == other["AccountId"]]
                if len(found) >= want or time.monotonic() > deadline:
                    return found
                time.sleep(0.1)

        callers = described(their_ct, 3)
        owners = described(self.ct, 1)
        self.assertEqual([r["eventName"] for r in owners], ["DescribeSecret"])
        self.assertEqual(sorted(r["eventName"] for r in callers),
                         ["BatchGetSecretValue", "DescribeSecret", "GetSecretValue"])
        mine = owners[0]
        theirs = next(r for r in callers if r["eventName"] == "DescribeSecret")
        self.assertEqual(mine["recipientAccountId"], ACCOUNT_ID)
        self.assertEqual(theirs["recipientAccountId"], other["AccountId"])
        self.assertEqual(mine["sharedEventID"], theirs["sharedEventID"])
        self.assertNotEqual(mine["eventID"], theirs["eventID"])
        self.assertEqual(mine["resources"],
                         [{"accountId": ACCOUNT_ID, "type": "AWS::SecretsManager::Secret",
                           "ARN": arn}])
        self.assertEqual(theirs["resources"], mine["resources"])

    def test_who_read_a_secret_this_week_in_one_command(self):
        # The README's command, as written there (with this test's secret name).
        name = unique_name("mistersmith/aurora/master")
        self.sm.create_secret(Name=name, SecretString="weekly-canary-value-1")
        user, key_id, user_sm = self._user_client("secretsmanager", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                           "Resource": "*"}]})
        user_sm.get_secret_value(SecretId=name)
        wait_for_events(self.ct, 1, LookupAttributes=[
            {"AttributeKey": "AccessKeyId", "AttributeValue": key_id}])
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.server.key_id,
                   AWS_SECRET_ACCESS_KEY=self.server.secret, AWS_DEFAULT_REGION=DEFAULT_REGION,
                   AWS_ENDPOINT_URL=self.server.endpoint, AWS_PAGER="")
        command = (
            'aws cloudtrail lookup-events --start-time "$(date -d \'7 days ago\' +%FT%T)" '
            "--lookup-attributes AttributeKey=EventName,AttributeValue=GetSecretValue "
            f"--query \"Events[?contains(CloudTrailEvent, '{name}')].[EventTime,Username,"
            "AccessKeyId]\" --output text")
        out = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        rows = [line.split("\t") for line in out.stdout.strip().splitlines()]
        self.assertEqual([r[1:] for r in rows], [[user, key_id]])

    def test_pages_newest_first_with_the_boto3_paginator(self):
        name = unique_name("pages")
        self.sm.create_secret(Name=name, SecretString="paging-canary-value-1")
        for _ in range(6):
            self.sm.describe_secret(SecretId=name)
        arn = self.sm.describe_secret(SecretId=name)["ARN"]
        attrs = [{"AttributeKey": "ResourceName", "AttributeValue": arn}]
        wait_for_events(self.ct, 8, LookupAttributes=attrs)
        pages = list(self.ct.get_paginator("lookup_events").paginate(
            LookupAttributes=attrs, PaginationConfig={"PageSize": 3}))
        self.assertEqual([len(p["Events"]) for p in pages], [3, 3, 2])
        events = [e for p in pages for e in p["Events"]]
        self.assertEqual(len({e["EventId"] for e in events}), 8)
        times = [e["EventTime"] for e in events]
        self.assertEqual(times, sorted(times, reverse=True))
        self.assertEqual(events[-1]["EventName"], "CreateSecret")

    def test_refuses_what_cloudtrail_refuses(self):
        self.assertClientError("InvalidMaxResultsException", self.ct.lookup_events, MaxResults=51)
        two = [{"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"},
               {"AttributeKey": "Username", "AttributeValue": "root"}]
        self.assertClientError("InvalidLookupAttributesException", self.ct.lookup_events,
                               LookupAttributes=two)
        self.assertClientError("InvalidLookupAttributesException", self.ct.lookup_events,
                               LookupAttributes=[{"AttributeKey": "Colour",
                                                  "AttributeValue": "x"}])
        self.assertClientError("InvalidNextTokenException", self.ct.lookup_events,
                               NextToken="bm90IGEgdG9rZW4=")
        self.assertClientError("InvalidTimeRangeException", self.ct.lookup_events,
                               StartTime=time.time(), EndTime=time.time() - 3600)

    def test_lookups_need_cloudtrail_lookup_events(self):
        _, _, user_ct = self._user_client("cloudtrail", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "secretsmanager:ListSecrets",
                           "Resource": "*"}]})
        self.assertClientError("AccessDeniedException", user_ct.lookup_events)
        _, _, reader = self._user_client("cloudtrail", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "cloudtrail:LookupEvents",
                           "Resource": "*"}]})
        self.assertIn("Events", reader.lookup_events(MaxResults=1))


class AuditDurabilityTest(AwsAssertions, unittest.TestCase):
    def test_kill9_loses_no_record_of_an_acknowledged_call(self):
        with CofferServer() as server:
            name = unique_name("durable")
            server.client("secretsmanager").create_secret(Name=name, SecretString="durable-v-1")
            acknowledged = set()
            lock = threading.Lock()
            stop = threading.Event()

            def reader():
                while not stop.is_set():
                    try:
                        resp = server.signed_json_request(
                            "secretsmanager.GetSecretValue", {"SecretId": name})
                    except OSError:
                        return  # the server is gone
                    if resp.status == 200:
                        with lock:
                            acknowledged.add(resp.header("x-amzn-RequestId"))

            threads = [threading.Thread(target=reader) for _ in range(8)]
            for t in threads:
                t.start()
            time.sleep(1.5)
            server.kill9()
            stop.set()
            for t in threads:
                t.join(30)
            self.assertGreater(len(acknowledged), 50)
            server.start()
            ct = server.client("cloudtrail")
            events = wait_for_events(ct, len(acknowledged), LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"}])
            recorded = {json.loads(e["CloudTrailEvent"])["requestID"] for e in events}
            missing = acknowledged - recorded
            self.assertFalse(missing, f"{len(missing)} of {len(acknowledged)} acknowledged calls "
                                      f"have no record after kill -9")


class AuditExcludeKmsTest(AwsAssertions, unittest.TestCase):
    def test_kms_events_can_be_left_out_as_a_trail_excluding_kms_does(self):
        with CofferServer(extra_args=["--audit-exclude-kms-events"]) as server:
            sm, kms, ct = (server.client(s) for s in ("secretsmanager", "kms", "cloudtrail"))
            name = unique_name("nokms")
            sm.create_secret(Name=name, SecretString="no-kms-events-value-1")
            sm.get_secret_value(SecretId=name)
            key_id = kms.create_key()["KeyMetadata"]["KeyId"]
            kms.encrypt(KeyId=key_id, Plaintext=b"no-kms-events-plaintext")
            reads = wait_for_events(ct, 1, LookupAttributes=[
                {"AttributeKey": "EventName", "AttributeValue": "GetSecretValue"}])
            self.assertEqual(len(reads), 1)
            self.assertEqual(lookup_all(ct, LookupAttributes=[
                {"AttributeKey": "EventSource", "AttributeValue": "kms.amazonaws.com"}]), [])


def fill(path):
    """Writes a file until the file system is full; returns its path."""
    filler = os.path.join(path, "filler")
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError:
                pass
    return filler


def until_refused(call, attempts=4000):
    """Calls until one fails: the journal notices a full disk when its reserve (1 MiB ahead of
    the records) needs renewing, so up to a reserve's worth of records are still written."""
    for _ in range(attempts):
        try:
            call()
        except ClientError as e:
            return e
    raise AssertionError(f"no call was refused in {attempts} attempts")


class AuditFailureTest(AwsAssertions, unittest.TestCase):
    def _server(self, *args):
        disk = mount_small_disk(self, 16)
        server = CofferServer(extra_args=["--audit-dir", os.path.join(disk, "audit"), *args])
        self.addCleanup(server.close)
        server.start()
        sm = server.client("secretsmanager")
        name = unique_name("full")
        sm.create_secret(Name=name, SecretString="full-disk-value-1")
        return disk, server, sm, name

    def metric(self, server, name):
        text = server.raw_request("GET", "/metrics").body.decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        self.fail(f"{name} not in /metrics")

    def test_failing_closed_refuses_calls_until_the_trail_can_be_written(self):
        disk, server, sm, name = self._server()
        filler = fill(disk)
        refused = until_refused(lambda: sm.get_secret_value(SecretId=name))
        self.assertEqual(error_code(refused), "ServiceUnavailableException")
        self.assertEqual(refused.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        # Refused before it acted, while the reserve still holds the refusal's record: no call
        # acts without its record being written.
        self.assertIn("the request was not applied", refused.response["Error"]["Message"])
        self.assertEqual(self.metric(server, "coffer_audit_records_lost_total"), 0)
        # Refused before acting: a write is not applied.
        self.assertClientError("ServiceUnavailableException", sm.create_secret,
                               Name=unique_name("never"), SecretString="never-written-1",
                               status=503)
        self.assertEqual(server.raw_request("GET", "/health").status, 503)
        self.assertEqual(self.metric(server, "coffer_audit_writable"), 0)
        # The operator endpoints too (all but sealing and the seal status).
        resp = server.signed_request(method="GET", path="/coffer/events", service="coffer")
        self.assertEqual(resp.status, 503)
        self.assertEqual(resp.json()["__type"], "ServiceUnavailableException")
        self.assertEqual(server.raw_request("GET", "/coffer/seal-status").status, 200)
        os.unlink(filler)
        deadline = time.monotonic() + 10
        while server.raw_request("GET", "/health").status != 200:
            self.assertLess(time.monotonic(), deadline, "the trail never became writable")
            time.sleep(0.2)
        self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"], "full-disk-value-1")
        names = [s["Name"] for s in sm.list_secrets()["SecretList"]]
        self.assertNotIn("never", " ".join(names))

    def test_failing_open_serves_calls_and_counts_the_lost_records(self):
        disk, server, sm, name = self._server("--audit-on-failure", "open")
        filler = fill(disk)
        # Served throughout; once the reserve is spent, the records that no longer fit are
        # counted as lost.
        for i in range(4000):
            self.assertEqual(sm.get_secret_value(SecretId=name)["SecretString"],
                             "full-disk-value-1")
            if i % 100 == 99 and self.metric(server, "coffer_audit_records_lost_total") >= 1:
                break
        self.assertGreaterEqual(self.metric(server, "coffer_audit_records_lost_total"), 1)
        self.assertEqual(self.metric(server, "coffer_audit_writable"), 0)
        os.unlink(filler)


if __name__ == "__main__":
    unittest.main()


def log_objects(audit_dir, kind):
    """Paths (under the audit directory) of the trail's `kind` files: "CloudTrail" for log files,
    "CloudTrail-Digest" for digests."""
    out = []
    root = os.path.join(audit_dir, "AWSLogs")
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, audit_dir)
        if rel.split(os.sep)[2:3] != [kind]:
            continue
        out.extend(os.path.join(rel, f) for f in files if f.endswith(".json.gz"))
    return sorted(out)


class AuditLogFilesTest(AwsAssertions, unittest.TestCase):
    """The trail delivered as CloudTrail delivers it: gzip log files and signed, chained digests
    under AWSLogs/, checked by `coffer audit verify` against the key ListPublicKeys returns."""

    @classmethod
    def setUpClass(cls):
        cls.server = CofferServer(extra_args=["--audit-log-interval", "1",
                                              "--audit-digest-interval", "2"])
        cls.addClassCleanup(cls.server.close)
        cls.server.start()
        cls.audit = os.path.join(cls.server.data_dir, "audit")
        cls.started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))
        sm = cls.server.client("secretsmanager")
        cls.name = unique_name("files")
        cls.arn = sm.create_secret(Name=cls.name, SecretString="files-canary-value-1")["ARN"]
        cls.read_ids = []
        # Calls over a few seconds: several log files and digests.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            sm.get_secret_value(SecretId=cls.name)
            if (len(log_objects(cls.audit, "CloudTrail")) >= 5
                    and len(log_objects(cls.audit, "CloudTrail-Digest")) >= 3):
                break
            time.sleep(0.3)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=cls.server.key_id,
                   AWS_SECRET_ACCESS_KEY=cls.server.secret, AWS_DEFAULT_REGION=DEFAULT_REGION,
                   AWS_ENDPOINT_URL=cls.server.endpoint, AWS_PAGER="")
        keys = subprocess.run(["aws", "cloudtrail", "list-public-keys", "--output", "json"],
                              env=env, capture_output=True, text=True, timeout=60)
        assert keys.returncode == 0, keys.stderr
        cls.public_keys = json.loads(keys.stdout)
        cls.keys_file = os.path.join(cls.server.root, "public-keys.json")
        with open(cls.keys_file, "w") as f:
            f.write(keys.stdout)
        ct = cls.server.client("cloudtrail")
        cls.looked_up = lookup_all(ct, LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": cls.arn}])
        # A graceful stop delivers the last records and closes each chain with a digest.
        cls.server.stop()

    def verify(self, *args):
        out = subprocess.run(
            [self.server.binary, "audit", "verify", "--data-dir", self.server.data_dir,
             "--from", self.started, *args], capture_output=True, text=True, timeout=60)
        return out.returncode, out.stdout + out.stderr

    def read_log(self, obj):
        with open(os.path.join(self.audit, obj), "rb") as f:
            return json.loads(gzip.decompress(f.read()))

    def test_a_public_key_as_cloudtrail_lists_it(self):
        keys = self.public_keys["PublicKeyList"]
        self.assertEqual(len(keys), 1)
        self.assertRegex(keys[0]["Fingerprint"], r"^[0-9a-f]{32}$")
        der = base64.b64decode(keys[0]["Value"])
        self.assertEqual(der[0], 0x30)  # a DER SEQUENCE: PKCS#1 RSAPublicKey
        self.assertIn("ValidityStartTime", keys[0])

    def test_log_files_hold_every_record_by_account_and_region(self):
        logs = log_objects(self.audit, "CloudTrail")
        self.assertGreaterEqual(len(logs), 5)
        prefix = f"AWSLogs/{ACCOUNT_ID}/CloudTrail/{DEFAULT_REGION}/"
        event_ids = set()
        for obj in logs:
            self.assertTrue(obj.startswith(prefix), obj)
            self.assertRegex(os.path.basename(obj),
                             rf"^{ACCOUNT_ID}_CloudTrail_{DEFAULT_REGION}_\d{{8}}T\d{{4}}Z_"
                             r"[0-9A-Za-z]{16}\.json\.gz$")
            records = self.read_log(obj)["Records"]
            self.assertTrue(records, obj)
            for r in records:
                self.assertEqual(r["recipientAccountId"], ACCOUNT_ID)
                self.assertEqual(r["awsRegion"], DEFAULT_REGION)
                event_ids.add(r["eventID"])
        # Every event LookupEvents returned is in a log file, once.
        self.assertTrue(self.looked_up)
        for event in self.looked_up:
            self.assertIn(event["EventId"], event_ids)
        self.assertEqual(self.server.assert_no_canary_in_audit_trail() > 0, True)

    def test_digests_chain_and_list_every_log_file(self):
        digests = log_objects(self.audit, "CloudTrail-Digest")
        self.assertGreaterEqual(len(digests), 3)
        listed = set()
        previous = None
        for obj in digests:
            with open(os.path.join(self.audit, obj), "rb") as f:
                raw = gzip.decompress(f.read())
            d = json.loads(raw)
            self.assertEqual(d["digestS3Object"], obj)
            self.assertEqual(d["digestSignatureAlgorithm"], "SHA256withRSA")
            self.assertEqual(d["digestPublicKeyFingerprint"],
                             self.public_keys["PublicKeyList"][0]["Fingerprint"])
            if previous is None:
                self.assertIsNone(d["previousDigestS3Object"])
                self.assertIsNone(d["previousDigestSignature"])
            else:
                self.assertEqual(d["previousDigestS3Object"], previous[0])
                self.assertEqual(d["previousDigestHashValue"],
                                 hashlib.sha256(previous[1]).hexdigest())
                self.assertEqual(d["digestStartTime"], previous[2]["digestEndTime"])
            for f in d["logFiles"]:
                with open(os.path.join(self.audit, f["s3Object"]), "rb") as lf:
                    self.assertEqual(f["hashValue"],
                                     hashlib.sha256(gzip.decompress(lf.read())).hexdigest())
                listed.add(f["s3Object"])
            previous = (obj, raw, d)
        # After the closing digest, every log file is listed.
        self.assertEqual(listed, set(log_objects(self.audit, "CloudTrail")))

    def test_verify_accepts_the_trail_and_names_each_tampered_file(self):
        code, out = self.verify("--verbose")
        self.assertEqual(code, 0, out)
        digests = log_objects(self.audit, "CloudTrail-Digest")
        logs = log_objects(self.audit, "CloudTrail")
        self.assertIn(f"{len(digests)}/{len(digests)} digest files valid", out)
        self.assertIn(f"{len(logs)}/{len(logs)} log files valid", out)
        code, out = self.verify("--public-keys", self.keys_file)
        self.assertEqual(code, 0, out)

        # Tampering with a copy of the audit directory, one change at a time.
        copy = os.path.join(self.server.root, "tampered")
        shutil.copytree(self.audit, copy)

        def verify_copy():
            out = subprocess.run(
                [self.server.binary, "audit", "verify", "--audit-dir", copy, "--from",
                 self.started, "--public-keys", self.keys_file],
                capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
            return out.stdout

        # A record rewritten, and the file compressed again.
        path = os.path.join(copy, logs[0])
        with open(path, "rb") as f:
            data = json.loads(gzip.decompress(f.read()))
        data["Records"][0]["sourceIPAddress"] = "203.0.113.9"
        with open(path, "wb") as f:
            f.write(gzip.compress(json.dumps(data).encode()))
        self.assertRegex(verify_copy(), rf"Log file\t{re.escape(logs[0])}\tINVALID: modified")

        os.remove(os.path.join(copy, logs[1]))
        self.assertRegex(verify_copy(), rf"Log file\t{re.escape(logs[1])}\tINVALID: deleted")

        a, b = os.path.join(copy, logs[2]), os.path.join(copy, logs[3])
        os.rename(a, a + ".swap")
        os.rename(b, a)
        os.rename(a + ".swap", b)
        out = verify_copy()
        self.assertRegex(out, rf"Log file\t{re.escape(logs[2])}\tINVALID: modified")
        self.assertRegex(out, rf"Log file\t{re.escape(logs[3])}\tINVALID: modified")

        path = os.path.join(copy, digests[-1])
        with open(path, "rb") as f:
            raw = f.read()
        with open(path, "wb") as f:
            f.write(raw[: len(raw) // 2])
        self.assertRegex(verify_copy(),
                         rf"Digest file\t{re.escape(digests[-1])}\tINVALID: modified")

        os.remove(os.path.join(copy, digests[0]))
        self.assertRegex(verify_copy(), rf"Digest file\t{re.escape(digests[0])}\tINVALID: missing")

        # The original is untouched, and still valid.
        code, out = self.verify()
        self.assertEqual(code, 0, out)
