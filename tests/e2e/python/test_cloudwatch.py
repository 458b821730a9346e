"""CloudWatch's DescribeAlarms and DescribeAlarmHistory over the built-in alarms, as the AWS CLI
and boto3 call them: the four alarms of the caller's account and region with their settings and
state, filters and pages, the history of a state change, and IAM deciding who may see them."""

import json
import os
import subprocess
import tempfile
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import start_class_server, error_code

ALARMS = ["SecretAccessDenied", "SecretNearExpiry", "SecretRotationFailed",
          "UnauthorizedSecretAccess"]


class CloudWatchTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        config = os.path.join(cls.tmp.name, "alarms.json")
        with open(config, "w") as f:
            json.dump({"Alarms": {"SecretAccessDenied": {"Period": 10, "Threshold": 1}}}, f)
        cls.server = start_class_server(
            cls, extra_args=["--alarms-config", config, "--alarm-evaluation-interval", "1"])
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.cw = cls.server.client("cloudwatch")
        cls.iam = cls.server.client("iam")

    def test_the_cli_lists_the_four_alarms_with_their_settings(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.server.key_id,
                   AWS_SECRET_ACCESS_KEY=self.server.secret, AWS_DEFAULT_REGION="eu-west-1")
        proc = subprocess.run(["aws", "cloudwatch", "describe-alarms", "--endpoint-url",
                               self.server.endpoint, "--output", "json"],
                              capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        alarms = json.loads(proc.stdout)["MetricAlarms"]
        self.assertEqual([a["AlarmName"] for a in alarms], ALARMS)
        denied = alarms[0]
        self.assertEqual(denied["AlarmArn"], "arn:aws:cloudwatch:eu-west-1:%s:alarm:"
                         "SecretAccessDenied" % self.server.account_id)
        self.assertEqual((denied["Period"], denied["Threshold"]), (10, 1.0))
        self.assertEqual(denied["ComparisonOperator"], "GreaterThanOrEqualToThreshold")
        self.assertIn(denied["StateValue"], ("OK", "INSUFFICIENT_DATA"))

    def test_filters_pages_and_bad_input_are_answered_as_cloudwatch_does(self):
        by_prefix = self.cw.describe_alarms(AlarmNamePrefix="Secret")["MetricAlarms"]
        self.assertEqual([a["AlarmName"] for a in by_prefix], ALARMS[:3])
        named = self.cw.describe_alarms(AlarmNames=["SecretNearExpiry", "NoSuch"])
        self.assertEqual([a["AlarmName"] for a in named["MetricAlarms"]], ["SecretNearExpiry"])
        self.assertEqual(named["CompositeAlarms"], [])
        self.assertEqual(self.cw.describe_alarms(AlarmTypes=["CompositeAlarm"])["MetricAlarms"],
                         [])
        first = self.cw.describe_alarms(MaxRecords=3)
        self.assertEqual(len(first["MetricAlarms"]), 3)
        rest = self.cw.describe_alarms(MaxRecords=3, NextToken=first["NextToken"])
        self.assertEqual([a["AlarmName"] for a in rest["MetricAlarms"]], ALARMS[3:])
        self.assertNotIn("NextToken", rest)
        pages = self.cw.get_paginator("describe_alarms").paginate(PaginationConfig={"PageSize": 1})
        self.assertEqual([a["AlarmName"] for p in pages for a in p["MetricAlarms"]], ALARMS)
        with self.assertRaises(ClientError) as cm:
            self.cw.describe_alarms(NextToken="forged")
        self.assertEqual(error_code(cm.exception), "InvalidNextToken")
        with self.assertRaises(ClientError) as cm:
            self.cw.describe_alarms(AlarmNames=["A"], AlarmNamePrefix="B")
        self.assertEqual(error_code(cm.exception), "InvalidParameterCombination")

    def test_a_state_change_is_in_the_history_and_iam_decides_who_reads_it(self):
        sm = self.server.client("secretsmanager")
        arn = sm.create_secret(Name="cw/" + uuid.uuid4().hex, SecretString="v")["ARN"]
        name = "cw-" + uuid.uuid4().hex[:8]
        self.iam.create_user(UserName=name)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        user_sm = self.server.client("secretsmanager", key_id=key["AccessKeyId"],
                                     secret=key["SecretAccessKey"])
        user_cw = self.server.client("cloudwatch", key_id=key["AccessKeyId"],
                                     secret=key["SecretAccessKey"])
        with self.assertRaises(ClientError):
            user_sm.get_secret_value(SecretId=arn)  # refused: SecretAccessDenied's threshold is 1

        deadline = time.monotonic() + 60
        history = []
        while time.monotonic() < deadline:
            history = self.cw.describe_alarm_history(
                AlarmName="SecretAccessDenied", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
            if any(h["HistorySummary"].endswith("to ALARM") for h in history):
                break
            time.sleep(0.5)
        summaries = [h["HistorySummary"] for h in history]
        self.assertTrue(any(s.endswith("to ALARM") for s in summaries), summaries)
        data = json.loads(history[0]["HistoryData"])
        self.assertIn("newState", data)
        oldest = self.cw.describe_alarm_history(AlarmName="SecretAccessDenied",
                                                ScanBy="TimestampAscending")["AlarmHistoryItems"]
        self.assertEqual(oldest[0]["HistorySummary"], summaries[-1])

        # Without cloudwatch:DescribeAlarms the user sees nothing; with it, the alarms.
        with self.assertRaises(ClientError) as cm:
            user_cw.describe_alarms()
        self.assertEqual(error_code(cm.exception), "AccessDenied")
        self.iam.put_user_policy(UserName=name, PolicyName="read-alarms", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "cloudwatch:DescribeAlarms",
                "Resource": "arn:aws:cloudwatch:*:%s:alarm:*" % self.server.account_id}]}))
        self.assertEqual(len(user_cw.describe_alarms()["MetricAlarms"]), 4)
        with self.assertRaises(ClientError) as cm:
            user_cw.describe_alarm_history()
        self.assertEqual(error_code(cm.exception), "AccessDenied")


if __name__ == "__main__":
    unittest.main()
