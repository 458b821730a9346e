"""The audit trail end to end: every call recorded in CloudTrail's format, read back with
LookupEvents through boto3 and the AWS CLI, durable across kill -9, and failing closed when it
cannot be written.

CloudTrail's record contents:
https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
LookupEvents: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
"""

import json
import os
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
