"""The dashboard (/ui/) in a real browser: Debian's headless Chromium, driven through
tests/e2e/js/browser/dashboard_driver.mjs (playwright-core), against a real coffer server.

The test makes the traffic the dashboard is for -- reads by two roles, denials by a user with no
permission, bad signatures with a known key, a rotation that succeeds and one that fails, a
secret due for rotation and a parameter about to expire -- then signs in on the page as the
account's root and checks that the charts and tables show exactly those numbers, that
SecretAccessDenied turns ALARM and back to OK on the page, and that no secret value is ever
shown. A second test signs in as a user that may read the alarms but not the trail: the page
shows the alarms and nothing of the trail. Screenshots go to $COFFER_DASHBOARD_SCREENSHOTS (a
directory) when it is set."""

import datetime
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import start_class_server

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER = os.path.join(HERE, "..", "js", "browser", "dashboard_driver.mjs")
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
POLL_SECONDS = 90


class Browser:
    """One headless Chromium, driven line by line (see dashboard_driver.mjs)."""

    def __init__(self):
        self.proc = subprocess.Popen(["node", DRIVER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True,
                                     cwd=os.path.dirname(DRIVER), start_new_session=True)

    def call(self, cmd, timeout=120, **args):
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.proc.kill()
            raise AssertionError(f"the browser driver did not answer {cmd} within {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the browser driver ended during {cmd}")
        answer = json.loads(line)
        if not answer["ok"]:
            raise AssertionError(f"{cmd}: {answer['error']}")
        return answer["result"]

    def close(self):
        try:
            self.call("close")
        except (AssertionError, OSError, ValueError):
            pass
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def rows_by(rows, key):
    return {r["data"][key]: r for r in rows}


@unittest.skipUnless(os.path.exists(CHROMIUM) and shutil.which("node"),
                     "needs Debian's chromium and node (scripts/install-deps.sh installs them)")
class DashboardTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)
        config = os.path.join(cls.tmp.name, "alarms.json")
        with open(config, "w") as f:
            # In ALARM for three periods after the denials (1 of 3 datapoints), so a page
            # refreshing every 2 seconds cannot miss it on a busy machine.
            json.dump({"Alarms": {"SecretAccessDenied": {
                "Period": 10, "Threshold": 2, "EvaluationPeriods": 3, "DatapointsToAlarm": 1}}}, f)
        cls.server = start_class_server(
            cls, extra_args=["--alarms-config", config, "--alarm-evaluation-interval", "1"])
        cls.account = cls.server.account_id
        cls.iam = cls.server.client("iam")
        cls.sm = cls.server.client("secretsmanager")
        cls.screenshots = os.environ.get("COFFER_DASHBOARD_SCREENSHOTS") or cls.tmp.name
        os.makedirs(cls.screenshots, exist_ok=True)
        cls.values = []  # every secret value the traffic used: the page must show none
        cls.make_traffic()

    # -- traffic ---------------------------------------------------------------------------
    @classmethod
    def user(cls, name, policy=None):
        cls.iam.create_user(UserName=name)
        if policy is not None:
            cls.iam.put_user_policy(UserName=name, PolicyName="inline",
                                    PolicyDocument=json.dumps(policy))
        key = cls.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    @classmethod
    def role_client(cls, launcher, role_name):
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{cls.account}:root"},
            "Action": "sts:AssumeRole"}]}
        role = cls.iam.create_role(RoleName=role_name,
                                   AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        cls.iam.put_role_policy(RoleName=role_name, PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
        sts = cls.server.client("sts", key_id=launcher[0], secret=launcher[1])
        creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="task-1")["Credentials"]
        client = cls.server.client("secretsmanager", key_id=creds["AccessKeyId"],
                                   secret=creds["SecretAccessKey"],
                                   session_token=creds["SessionToken"])
        return client, f"arn:aws:sts::{cls.account}:assumed-role/{role_name}/task-1"

    @classmethod
    def secret(cls, name):
        value = "dashboard-canary-" + uuid.uuid4().hex
        cls.values.append(value)
        return cls.sm.create_secret(Name=name, SecretString=value)["ARN"]

    @classmethod
    def operator(cls, *args):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=cls.server.key_id, AWS_SECRET_ACCESS_KEY=cls.server.secret,
                   AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        proc = subprocess.run([cls.server.binary, "operator", *args, "--endpoint",
                               cls.server.endpoint], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    @classmethod
    def make_traffic(cls):
        suffix = uuid.uuid4().hex[:8]
        cls.orders = cls.secret(f"prod/orders-db-{suffix}")
        cls.payments = cls.secret(f"prod/payments-api-{suffix}")
        launcher = cls.user(f"launcher-{suffix}", {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})
        api, cls.api_role = cls.role_client(launcher, f"api-service-{suffix}")
        worker, cls.worker_role = cls.role_client(launcher, f"worker-service-{suffix}")
        for _ in range(3):
            api.get_secret_value(SecretId=cls.orders)
        api.get_secret_value(SecretId=cls.payments)
        for _ in range(2):
            worker.get_secret_value(SecretId=cls.payments)

        # Rotations: the built-in random-api-key succeeds, a function that exits 1 fails.
        cls.rotated_name = f"prod/partner-key-{suffix}"
        cls.rotated = cls.secret(cls.rotated_name)
        cls.broken = cls.secret(f"prod/legacy-db-{suffix}")
        function = f"arn:aws:lambda:us-east-1:{cls.account}:function:"
        cls.operator("register-function", "--name", f"api-key-{suffix}", "--kind", "builtin",
                     "--builtin", "random-api-key")
        execution_role = cls.iam.create_role(
            RoleName=f"rotation-{suffix}", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        cls.operator("register-function", "--name", f"broken-{suffix}", "--kind", "exec",
                     "--timeout", "10", "--role-arn", execution_role, "--command", "/bin/false")
        cls.sm.rotate_secret(SecretId=cls.rotated, RotationLambdaARN=function + f"api-key-{suffix}",
                             RotationRules={"AutomaticallyAfterDays": 7})
        cls.sm.rotate_secret(SecretId=cls.broken, RotationLambdaARN=function + f"broken-{suffix}",
                             RotationRules={"AutomaticallyAfterDays": 30})
        ct = cls.server.client("cloudtrail")
        deadline = time.monotonic() + POLL_SECONDS
        while time.monotonic() < deadline:
            names = {e["EventName"] for e in ct.lookup_events(LookupAttributes=[{
                "AttributeKey": "EventSource",
                "AttributeValue": "secretsmanager.amazonaws.com"}])["Events"]}
            if {"RotationSucceeded", "RotationFailed"} <= names:
                break
            time.sleep(0.5)
        else:
            raise AssertionError(f"the rotations did not finish; the trail shows {names}")

        # A parameter that expires in five days.
        expires = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=5))
        cls.parameter = f"/prod/feature-flags-{suffix}"
        cls.server.client("ssm").put_parameter(
            Name=cls.parameter, Value="on", Type="String", Tier="Advanced",
            Policies=json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {
                "Timestamp": expires.strftime("%Y-%m-%dT%H:%M:%S.000Z")}}]))

        # Two bad signatures with a known key, and the user that will be denied.
        cls.denied_key = cls.user(f"intruder-{suffix}")
        cls.denied_arn = f"arn:aws:iam::{cls.account}:user/intruder-{suffix}"
        for _ in range(2):
            resp = cls.server.signed_request(
                body=json.dumps({"SecretId": cls.orders}),
                headers={"X-Amz-Target": "secretsmanager.GetSecretValue",
                         "Content-Type": "application/x-amz-json-1.1"},
                key_id=cls.denied_key[0], secret="wrong" + "x" * 35)
            assert resp.status == 400, resp

    def deny(self, n):
        intruder = self.server.client("secretsmanager", key_id=self.denied_key[0],
                                      secret=self.denied_key[1])
        for _ in range(n):
            with self.assertRaises(ClientError):
                intruder.get_secret_value(SecretId=self.orders)

    # -- the page --------------------------------------------------------------------------
    def open(self, key_id, secret):
        browser = Browser()
        self.addCleanup(browser.close)
        opened = browser.call("open", url=self.server.endpoint + "/ui/?refresh=2")
        self.assertEqual(opened["status"], 200)
        self.assertIn("default-src 'self'", opened["csp"])
        signed_in = browser.call("signin", accessKeyId=key_id, secretAccessKey=secret,
                                 region="us-east-1")
        self.assertTrue(signed_in["signedIn"], signed_in["error"])
        return browser

    def wait_snapshot(self, browser, ready, what):
        deadline = time.monotonic() + POLL_SECONDS
        snap = None
        while time.monotonic() < deadline:
            snap = browser.call("snapshot")
            if ready(snap):
                return snap
            time.sleep(0.5)
        self.fail(f"the page never showed {what}; last seen: {json.dumps(snap)[:3000]}")

    def assert_no_secret_shown(self, browser, snap, expect_refused=False):
        html = browser.call("html")
        for value in self.values:
            self.assertNotIn(value, snap["bodyText"])
            self.assertNotIn(value, html)
        self.assertEqual(snap["problems"], [])
        self.assertEqual(snap["refused"] > 0, expect_refused)
        for request in browser.call("requests"):
            self.assertTrue(request["url"].startswith(self.server.endpoint + "/"), request)
            self.assertNotIn("GetSecretValue", request["target"])

    def test_the_page_shows_the_traffic_and_an_alarm_that_fires_and_clears(self):
        browser = self.open(self.server.key_id, self.server.secret)
        snap = self.wait_snapshot(
            browser, lambda s: s["rotationRate"] and s["rotationRate"]["failed"] not in
            (None, "0") and s["unauthenticatedTotal"] == "2",
            "the rotations and the bad signatures")

        self.assertIn(f"{self.account}", snap["identity"])
        # Six reads by the roles, and those the successful rotation's function made.
        by_secret = rows_by(snap["readsBySecret"], "secretArn")
        self.assertEqual(by_secret[self.orders]["count"], "3")
        self.assertEqual(by_secret[self.payments]["count"], "3")
        self.assertEqual(int(snap["readsTotal"]), 6 + int(by_secret[self.rotated]["count"]))
        self.assertTrue(by_secret[self.orders]["name"].startswith("prod/orders-db-"))
        principals = rows_by(snap["principals"], "principalArn")
        self.assertEqual(principals[self.api_role]["reads"], "4")
        self.assertEqual(principals[self.worker_role]["reads"], "2")
        self.assertTrue(principals[self.api_role]["role"].startswith("api-service-"))
        self.assertEqual(snap["charts"], {"reads-chart": 1, "failures-chart": 1})

        # One success; the failing function fails once, and again on each retry.
        rate = snap["rotationRate"]
        self.assertEqual(rate["succeeded"], "1")
        failed = int(rate["failed"])
        self.assertEqual(rate["text"], f"{100 // (1 + failed)} % (1 of {1 + failed})")
        rotations = rows_by(snap["rotations"], "secretArn")
        self.assertEqual(rotations[self.rotated]["outcome"], "Succeeded")
        self.assertEqual(rotations[self.broken]["outcome"], "Failed")
        self.assertEqual([f["source"] for f in snap["authFailures"]], ["127.0.0.1"] * 2)

        expiring = {(r["data"]["kind"], r["data"]["name"]): r for r in snap["nearExpiry"]}
        self.assertIn("due", expiring[("secret", self.rotated_name)]["why"])
        self.assertIn("expires", expiring[("parameter", self.parameter)]["why"])
        self.assertIn(rows_by(snap["alarms"], "alarmName")["SecretAccessDenied"]["data"]["state"],
                      ("OK", "INSUFFICIENT_DATA"))

        # Denials: the counts, the table with the source, and the alarm through its states.
        denied_before = int(snap["deniedTotal"])
        self.deny(3)

        def denied_and_alarm(s):
            intruder = rows_by(s["principals"], "principalArn").get(self.denied_arn)
            return intruder and intruder["denied"] == "3" and any(
                a["data"]["alarmName"] == "SecretAccessDenied" and a["data"]["state"] == "ALARM"
                for a in s["alarms"])
        snap = self.wait_snapshot(browser, denied_and_alarm,
                                  "the intruder's three denials and SecretAccessDenied in ALARM")
        self.assertEqual(int(snap["deniedTotal"]), denied_before + 3)
        self.assertEqual(rows_by(snap["principals"], "principalArn")[self.denied_arn]["reads"],
                         "0")
        intruder_denials = [d for d in snap["denials"] if d["principal"] == self.denied_arn]
        self.assertEqual(len(intruder_denials), 3)
        for d in intruder_denials:
            self.assertEqual((d["source"], d["error"], d["resource"]),
                             ("127.0.0.1", "AccessDeniedException", self.orders))
        browser.call("screenshot", path=os.path.join(self.screenshots, "dashboard-alarm.png"))
        snap = self.wait_snapshot(
            browser, lambda s: any(
                a["data"]["alarmName"] == "SecretAccessDenied" and a["data"]["state"] == "OK"
                for a in s["alarms"]) and any("from ALARM to OK" in h for h in s["alarmHistory"]),
            "SecretAccessDenied back to OK, with both changes in the history")
        changes = [h for h in snap["alarmHistory"] if "SecretAccessDenied" in h]
        self.assertTrue(any("from OK to ALARM" in h for h in changes), changes)
        self.assertTrue(any("from ALARM to OK" in h for h in changes), changes)
        browser.call("screenshot", path=os.path.join(self.screenshots, "dashboard.png"))
        self.assert_no_secret_shown(browser, snap)

        # The region filter: every call is signed for eu-west-1, where nothing happened.
        browser.call("setRegion", region="eu-west-1")
        snap = self.wait_snapshot(
            browser, lambda s: s["readsTotal"] == "0" and not s["principals"],
            "an empty eu-west-1")
        self.assertEqual((snap["deniedTotal"], snap["rotations"], snap["nearExpiry"]),
                         ("0", [], []))
        self.assertEqual(len(snap["alarms"]), 4)

    def test_a_user_who_may_not_look_up_the_trail_sees_nothing_of_it(self):
        key = self.user("alarm-watcher-" + uuid.uuid4().hex[:8], {
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Action": ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"],
                "Resource": "*"}]})
        browser = self.open(*key)
        snap = self.wait_snapshot(browser, lambda s: len(s["alarms"]) == 4, "the four alarms")
        for panel in ("panel-reads", "panel-principals", "panel-failures", "panel-rotations"):
            self.assertIn("Not authorized", snap["panelErrors"][panel])
        self.assertIn("Not authorized", snap["panelErrors"]["panel-expiry"])
        self.assertEqual(snap["panelErrors"]["panel-alarms"], "")
        self.assertEqual(snap["charts"], {"reads-chart": 0, "failures-chart": 0})
        for empty in ("readsBySecret", "principals", "denials", "authFailures", "rotations",
                      "nearExpiry"):
            self.assertEqual(snap[empty], [], empty)
        for hidden in (self.orders, "orders-db", self.api_role, "worker-service", "partner-key",
                       self.parameter):
            self.assertNotIn(hidden, snap["bodyText"])
        browser.call("screenshot",
                     path=os.path.join(self.screenshots, "dashboard-restricted.png"))
        self.assert_no_secret_shown(browser, snap, expect_refused=True)


if __name__ == "__main__":
    unittest.main()
