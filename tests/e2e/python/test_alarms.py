"""The built-in alarms with real traffic: SecretAccessDenied turns ALARM when a user is refused
and back to OK in the next quiet period, UnauthorizedSecretAccess counts bad signatures made
with a known key, each change is in the alarm's history and an EventBridge-shaped "CloudWatch
Alarm State Change" event; settings come from --alarms-config and `coffer operator set-alarm`,
checked as CloudWatch checks them, and one account cannot read or set another's."""

import json
import os
import subprocess
import tempfile
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import start_class_server, error_code

POLL_SECONDS = 60


class AlarmsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        config = os.path.join(cls.tmp.name, "alarms.json")
        with open(config, "w") as f:
            json.dump({"Alarms": {
                "SecretAccessDenied": {"Period": 10, "Threshold": 2},
                "UnauthorizedSecretAccess": {"Period": 10, "Threshold": 1},
            }}, f)
        cls.server = start_class_server(
            cls, extra_args=["--alarms-config", config, "--alarm-evaluation-interval", "1"])
        cls.addClassCleanup(cls.tmp.cleanup)
        cls.sm = cls.server.client("secretsmanager")
        cls.iam = cls.server.client("iam")

    def operator(self, *args, key_id=None, secret=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_ACCESS_KEY_ID"] = key_id or self.server.key_id
        env["AWS_SECRET_ACCESS_KEY"] = secret or self.server.secret
        return subprocess.run([self.server.binary, "operator", *args, "--endpoint",
                               self.server.endpoint, "--region", "us-east-1"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                              timeout=60)

    def operator_json(self, *args, **kwargs):
        proc = self.operator(*args, **kwargs)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return json.loads(proc.stdout)

    def state(self, alarm):
        for a in self.operator_json("alarms")["MetricAlarms"]:
            if a["AlarmName"] == alarm and a["Region"] == "us-east-1":
                return a
        return None

    def wait_for_state(self, alarm, want):
        deadline = time.monotonic() + POLL_SECONDS
        seen = None
        while time.monotonic() < deadline:
            seen = self.state(alarm)
            if seen is not None and seen["StateValue"] == want:
                return seen
            time.sleep(0.5)
        self.fail(f"{alarm} never became {want}; last seen: {seen}")

    def user_client(self):
        name = "alarms-" + uuid.uuid4().hex[:10]
        self.iam.create_user(UserName=name)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.server.client("secretsmanager", key_id=key["AccessKeyId"],
                                  secret=key["SecretAccessKey"])

    def test_denials_turn_secret_access_denied_to_alarm_and_a_quiet_period_back_to_ok(self):
        secret_value = "alarm-canary-" + uuid.uuid4().hex
        arn = self.sm.create_secret(Name="alarms/" + uuid.uuid4().hex,
                                    SecretString=secret_value)["ARN"]
        self.wait_for_state("SecretAccessDenied", "OK")
        stranger = self.user_client()
        for _ in range(3):
            with self.assertRaises(ClientError) as cm:
                stranger.get_secret_value(SecretId=arn)
            self.assertEqual(error_code(cm.exception), "AccessDeniedException")
        alarm = self.wait_for_state("SecretAccessDenied", "ALARM")
        self.assertEqual(alarm["AlarmArn"],
                         "arn:aws:cloudwatch:us-east-1:000000000000:alarm:SecretAccessDenied"
                         .replace("000000000000", self.server.account_id))
        self.assertEqual(alarm["Period"], 10)
        self.assertEqual(alarm["Threshold"], 2)
        self.assertIn("was greater than or equal to the threshold (2.0)", alarm["StateReason"])
        self.wait_for_state("SecretAccessDenied", "OK")

        history = self.operator_json("alarm-history", "--alarm", "SecretAccessDenied")
        summaries = [h["HistorySummary"] for h in history["AlarmHistoryItems"]]
        self.assertIn("Alarm updated from OK to ALARM", summaries)
        self.assertIn("Alarm updated from ALARM to OK", summaries)
        self.assertLess(summaries.index("Alarm updated from ALARM to OK"),
                        summaries.index("Alarm updated from OK to ALARM"))  # newest first

        events = self.operator_json("events")["Events"]
        changes = [e for e in events if e["DetailType"] == "CloudWatch Alarm State Change"
                   and e["Detail"]["alarmName"] == "SecretAccessDenied"]
        pairs = [(e["Detail"]["previousState"]["value"], e["Detail"]["state"]["value"])
                 for e in changes]
        self.assertIn(("OK", "ALARM"), pairs)
        self.assertIn(("ALARM", "OK"), pairs)
        for e in changes:
            self.assertEqual(e["Source"], "aws.cloudwatch")
            self.assertEqual(e["Resources"], [alarm["AlarmArn"]])
        everything = json.dumps(self.operator_json("alarms")) + json.dumps(history) + \
            json.dumps(changes)
        self.assertNotIn(secret_value, everything)
        self.assertNotIn(arn, everything)

    def test_bad_signatures_with_a_known_key_turn_unauthorized_secret_access_to_alarm(self):
        self.wait_for_state("UnauthorizedSecretAccess", "OK")
        resp = self.server.signed_request(
            body=json.dumps({"SecretId": "anything"}),
            headers={"X-Amz-Target": "secretsmanager.GetSecretValue",
                     "Content-Type": "application/x-amz-json-1.1"},
            secret="wrong" + "x" * 35)
        self.assertEqual(resp.status, 400)
        self.wait_for_state("UnauthorizedSecretAccess", "ALARM")
        self.wait_for_state("UnauthorizedSecretAccess", "OK")

    def test_settings_are_set_checked_and_kept_to_the_callers_account(self):
        out = self.operator_json("set-alarm", "--alarm", "SecretNearExpiry", "--within-days", "3",
                                 "--max-age-days", "30")
        self.assertEqual(out["Settings"]["WithinDays"], 3)
        self.assertEqual(out["Settings"]["MaxAgeDays"], 30)
        self.assertEqual(out["Settings"]["Period"], 3600)
        shown = self.operator_json("alarms")["Settings"]["SecretNearExpiry"]
        self.assertEqual(shown["WithinDays"], 3)

        bad = self.operator("set-alarm", "--alarm", "SecretAccessDenied", "--period", "45")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("Period must be 10, 30 or a multiple of 60 seconds", bad.stderr)
        bad = self.operator("set-alarm", "--alarm", "NoSuchAlarm", "--threshold", "1")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("No built-in alarm is named 'NoSuchAlarm'", bad.stderr)

        reset = self.operator_json("set-alarm", "--alarm", "SecretNearExpiry", "--reset")
        self.assertEqual(reset["Settings"]["WithinDays"], 14)

        created = self.operator_json_text("create-account")
        other_key, other_secret = created
        theirs = self.operator_json("alarms", key_id=other_key, secret=other_secret)
        self.assertEqual(theirs["MetricAlarms"], [])
        self.assertEqual(theirs["Settings"]["SecretAccessDenied"]["Threshold"], 2)  # the file's
        refused = self.operator("alarms", "--account", self.server.account_id,
                                key_id=other_key, secret=other_secret)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("AccessDeniedException", refused.stderr)
        refused = self.operator("set-alarm", "--alarm", "SecretAccessDenied", "--account", "*",
                                "--threshold", "100", key_id=other_key, secret=other_secret)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("AccessDeniedException", refused.stderr)

    def operator_json_text(self, *args):
        """Runs create-account and returns the new root's (key id, secret)."""
        proc = self.operator(*args)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        key_id = secret = None
        for line in proc.stdout.splitlines():
            if line.startswith("Root access key id: "):
                key_id = line.split(": ", 1)[1]
            if line.startswith("Root secret access key: "):
                secret = line.split(": ", 1)[1]
        self.assertTrue(key_id and secret, proc.stdout)
        return key_id, secret


if __name__ == "__main__":
    unittest.main()
