"""Rotation functions of the `http` kind: coffer POSTs each step's Lambda event, with temporary
credentials of the function's execution role and its own endpoint, to a URL, signed so that the
receiver can tell the request came from coffer (X-Coffer-Signature: t=<unix>,v1=<hex HMAC-SHA256
of "<t>.<body>"> under the key `coffer operator register-function --kind http` prints once).

The receiver here is a small HTTP server on a loopback port that verifies the signature and runs
the four steps against coffer with boto3 and the credentials it was handed. Hosts other than
loopback are refused unless the server allows them (--rotation-http-host).
"""

import hashlib
import hmac
import http.server
import json
import os
import re
import subprocess
import threading
import time
import unittest
import uuid

import boto3
from botocore.config import Config

from coffer_server import (ACCOUNT_ID, DEFAULT_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET,
                           start_class_server)


class Receiver(http.server.BaseHTTPRequestHandler):
    key = b""
    seen = []        # (step, signature_ok)
    fail_step = None

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        header = self.headers.get("X-Coffer-Signature", "")
        m = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header)
        ok = bool(m) and hmac.compare_digest(
            hmac.new(Receiver.key, m.group(1).encode() + b"." + body, hashlib.sha256).hexdigest(),
            m.group(2)) and abs(time.time() - int(m.group(1))) < 300
        event = json.loads(body)
        Receiver.seen.append((event["Step"], ok))
        if not ok:
            self.send_response(401)
            self.end_headers()
            return
        try:
            self.run_step(event)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"step done")
        except Exception as e:  # the step failed
            self.send_response(500)
            self.end_headers()
            self.wfile.write(str(type(e).__name__).encode())

    def run_step(self, event):
        if event["Step"] == Receiver.fail_step:
            raise RuntimeError("provider unavailable")
        creds = event["Credentials"]
        sm = boto3.client("secretsmanager", endpoint_url=event["Endpoint"],
                          region_name=event["Region"],
                          aws_access_key_id=creds["AccessKeyId"],
                          aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"],
                          config=Config(retries={"total_max_attempts": 1}))
        arn, token = event["SecretId"], event["ClientRequestToken"]
        if event["Step"] == "createSecret":
            try:
                sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            except sm.exceptions.ResourceNotFoundException:
                sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                    SecretString="key-" + uuid.uuid4().hex,
                                    VersionStages=["AWSPENDING"])
        elif event["Step"] == "finishSecret":
            stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
            current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
            if current != token:
                sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                               MoveToVersionId=token,
                                               RemoveFromVersionId=current)


class HttpRotationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.sm = cls.server.client("secretsmanager")
        cls.iam = cls.server.client("iam")
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.httpd.shutdown)
        role = cls.iam.create_role(
            RoleName="http-rotator",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))["Role"]
        cls.iam.put_role_policy(RoleName="http-rotator", PolicyName="rotate", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecretVersionStage"],
                "Resource": "*"}]}))
        cls.role_arn = role["Arn"]

    def register(self, name, url):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=DEFAULT_KEY_ID,
                   AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET)
        out = subprocess.run(
            [self.server.binary, "operator", "register-function", "--endpoint",
             self.server.endpoint, "--name", name, "--kind", "http", "--url", url,
             "--role-arn", self.role_arn, "--timeout", "30"],
            env=env, capture_output=True, text=True, timeout=60)
        return out

    def wait_current_changes(self, arn, before):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            value = self.sm.get_secret_value(SecretId=arn)["SecretString"]
            if value != before:
                return value
            time.sleep(0.2)
        self.fail("AWSCURRENT never changed")

    def test_signed_steps_rotate_the_secret(self):
        out = self.register("webhook", f"http://127.0.0.1:{self.httpd.server_port}/rotate")
        self.assertEqual(out.returncode, 0, out.stderr)
        key = re.search(r"^Signing key: ([0-9a-f]{64})$", out.stdout, re.M)
        self.assertIsNotNone(key, out.stdout)
        Receiver.key = key.group(1).encode()
        Receiver.seen = []
        Receiver.fail_step = None
        arn = self.sm.create_secret(Name="webhook-key", SecretString="key-original")["ARN"]
        fn = f"arn:aws:lambda:{DEFAULT_REGION}:{ACCOUNT_ID}:function:webhook"
        self.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
        new = self.wait_current_changes(arn, "key-original")
        self.assertTrue(new.startswith("key-"))
        self.assertEqual(self.sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")
                         ["SecretString"], "key-original")
        self.assertEqual([s for s, _ in Receiver.seen],
                         ["createSecret", "setSecret", "testSecret", "finishSecret"])
        self.assertTrue(all(ok for _, ok in Receiver.seen))
        # The signing key is not in the server's output.
        self.assertNotIn(key.group(1), self.server.output_text())

    def test_a_wrong_key_or_a_failing_step_leaves_awscurrent(self):
        out = self.register("webhook-bad", f"http://127.0.0.1:{self.httpd.server_port}/rotate")
        self.assertEqual(out.returncode, 0, out.stderr)
        Receiver.key = b"not-the-key"  # every request fails verification
        Receiver.seen = []
        arn = self.sm.create_secret(Name="webhook-bad-key", SecretString="stays")["ARN"]
        self.sm.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=f"arn:aws:lambda:{DEFAULT_REGION}:{ACCOUNT_ID}:function:webhook-bad")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not Receiver.seen:
            time.sleep(0.1)
        time.sleep(0.5)
        self.assertEqual(Receiver.seen[0], ("createSecret", False))
        self.assertEqual(self.sm.get_secret_value(SecretId=arn)["SecretString"], "stays")

    def test_non_loopback_urls_are_refused_at_rotation(self):
        out = self.register("webhook-remote", "http://192.0.2.10/rotate")
        self.assertEqual(out.returncode, 0, out.stderr)
        arn = self.sm.create_secret(Name="webhook-remote-key", SecretString="stays-too")["ARN"]
        self.sm.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=f"arn:aws:lambda:{DEFAULT_REGION}:{ACCOUNT_ID}:function:webhook-remote")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=DEFAULT_KEY_ID,
                   AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET)
        deadline = time.monotonic() + 20
        failed = None
        while time.monotonic() < deadline and failed is None:
            events = json.loads(subprocess.run(
                [self.server.binary, "operator", "events", "--endpoint", self.server.endpoint],
                env=env, capture_output=True, text=True, timeout=60).stdout)["Events"]
            for e in events:
                d = e["Detail"]
                if (d.get("eventName") == "RotationFailed" and
                        d.get("additionalEventData", {}).get("SecretId") == arn):
                    failed = d
            time.sleep(0.2)
        self.assertIsNotNone(failed, "no RotationFailed event")
        self.assertIn("loopback", failed["serviceEventDetails"]["error"])
        self.assertEqual(self.sm.get_secret_value(SecretId=arn)["SecretString"], "stays-too")


if __name__ == "__main__":
    unittest.main()
