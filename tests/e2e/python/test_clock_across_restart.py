"""Time passing across a restart, on a real server: `coffer server --clock-offset-seconds`.

Each test writes state, stops the server (SIGTERM), starts it again on the same data directory
with its clock moved ahead, and checks what AWS does once that much time has passed:

* temporary credentials are refused once they expire, through boto3 and the AWS CLI (the
  shortest session STS grants lasts 900 seconds), while the same request signed by a long-term
  key still passes: signatures are dated against the real clock, only coffer's clock moved;
* a secret deleted with a 7-day recovery window is purged after 8 days, and one still inside its
  window is not;
* a KMS key scheduled for deletion in 7 days is gone after 8, and a key that was only disabled
  keeps its state and still decrypts once enabled.
"""

import json
import os
import subprocess
import time
import unittest

from botocore.exceptions import ClientError

from coffer_server import ACCOUNT_ID, DEFAULT_REGION, CofferServer, error_code

DAY = 86400


def poll(predicate, timeout=30.0, interval=0.2):
    """Polls until predicate() is truthy; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class ClockAcrossRestartTest(unittest.TestCase):
    def setUp(self):
        # The maintenance jobs (purge, KMS deletion) run every second, so a test polls for
        # their effect instead of sleeping.
        self.server = CofferServer(extra_args=["--purge-interval", "1"])
        self.addCleanup(self.server.close)
        self.server.start()

    def restart_later(self, seconds):
        self.server.extra_args = ["--purge-interval", "1", "--clock-offset-seconds", str(seconds)]
        self.server.restart()

    def test_expired_session_is_refused_by_every_client(self):
        iam = self.server.client("iam")
        iam.create_user(UserName="ci")
        key = iam.create_access_key(UserName="ci")["AccessKey"]
        iam.create_role(RoleName="reader", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:user/ci"},
                "Action": "sts:AssumeRole"}]}))
        iam.put_role_policy(RoleName="reader", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
        self.server.client("secretsmanager").create_secret(Name="s", SecretString="v1")
        sts = self.server.client("sts", key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT_ID}:role/reader",
                                RoleSessionName="short", DurationSeconds=900)["Credentials"]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
                   AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                   AWS_SESSION_TOKEN=creds["SessionToken"], AWS_REGION=DEFAULT_REGION,
                   AWS_DEFAULT_REGION=DEFAULT_REGION,
                   AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull)

        def cli():
            return subprocess.run(["aws", "--endpoint-url", self.server.endpoint,
                                   "secretsmanager", "get-secret-value", "--secret-id", "s"],
                                  env=env, capture_output=True, text=True, timeout=60)

        def session_client(service):
            return self.server.client(service, key_id=creds["AccessKeyId"],
                                      secret=creds["SecretAccessKey"],
                                      session_token=creds["SessionToken"])

        self.assertEqual(session_client("secretsmanager").get_secret_value(SecretId="s")
                         ["SecretString"], "v1")
        self.assertEqual(cli().returncode, 0)

        # Still valid after a restart 14 minutes later: sessions are stored, not in memory.
        self.restart_later(14 * 60)
        self.assertEqual(session_client("secretsmanager").get_secret_value(SecretId="s")
                         ["SecretString"], "v1")

        self.restart_later(901)
        with self.assertRaises(ClientError) as e:
            session_client("secretsmanager").get_secret_value(SecretId="s")
        self.assertEqual(error_code(e.exception), "ExpiredTokenException")
        out = cli()
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("ExpiredTokenException", out.stderr)
        with self.assertRaises(ClientError) as e:
            session_client("sts").get_caller_identity()
        self.assertEqual(error_code(e.exception), "ExpiredToken")
        # The long-term key signs with the real time and is still accepted.
        user_sm = self.server.client("secretsmanager", key_id=key["AccessKeyId"],
                                     secret=key["SecretAccessKey"])
        with self.assertRaises(ClientError) as e:
            user_sm.get_secret_value(SecretId="s")
        self.assertEqual(error_code(e.exception), "AccessDeniedException",
                         "the user's own signature passed; only the role may read")

    def test_recovery_window_ends_after_its_days(self):
        sm = self.server.client("secretsmanager")
        sm.create_secret(Name="short-window", SecretString="a")
        sm.create_secret(Name="long-window", SecretString="b")
        sm.create_secret(Name="kept", SecretString="c")
        sm.delete_secret(SecretId="short-window", RecoveryWindowInDays=7)
        sm.delete_secret(SecretId="long-window", RecoveryWindowInDays=30)

        self.restart_later(8 * DAY)
        sm = self.server.client("secretsmanager")

        def purged():
            try:
                sm.describe_secret(SecretId="short-window")
                return False
            except ClientError as e:
                return error_code(e) == "ResourceNotFoundException"

        self.assertTrue(poll(purged), "the 7-day window ended 1 day ago; still not purged")
        self.assertIn("DeletedDate", sm.describe_secret(SecretId="long-window"))
        sm.restore_secret(SecretId="long-window")
        self.assertEqual(sm.get_secret_value(SecretId="long-window")["SecretString"], "b")
        self.assertEqual(sm.get_secret_value(SecretId="kept")["SecretString"], "c")
        names = {s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]}
        self.assertEqual(names, {"long-window", "kept"})

    def test_kms_key_deletion_waits_its_window(self):
        kms = self.server.client("kms")
        doomed = kms.create_key(Description="doomed")["KeyMetadata"]["KeyId"]
        paused = kms.create_key(Description="paused")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=paused, Plaintext=b"still readable")["CiphertextBlob"]
        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
        kms.disable_key(KeyId=paused)

        self.restart_later(8 * DAY)
        kms = self.server.client("kms")

        def deleted():
            try:
                kms.describe_key(KeyId=doomed)
                return False
            except ClientError as e:
                return error_code(e) == "NotFoundException"

        self.assertTrue(poll(deleted), "the 7-day pending window ended 1 day ago; key remains")
        self.assertEqual(kms.describe_key(KeyId=paused)["KeyMetadata"]["KeyState"], "Disabled")
        kms.enable_key(KeyId=paused)
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"still readable")


if __name__ == "__main__":
    unittest.main()
