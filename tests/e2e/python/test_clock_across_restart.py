"""Temporary credentials are refused once they expire, through boto3 and the AWS CLI.

The shortest session STS grants lasts 900 seconds, so this test waits that long; it runs only
when COFFER_E2E_SLOW=1 (the in-process IdentityFlowTest proves the same path with an injected
clock on every `make test`).
"""

import json
import os
import subprocess
import time
import unittest

from botocore.exceptions import ClientError

from coffer_server import ACCOUNT_ID, DEFAULT_REGION, start_class_server

SLOW = os.environ.get("COFFER_E2E_SLOW") == "1"


@unittest.skipUnless(SLOW, "waits 15 minutes; set COFFER_E2E_SLOW=1")
class SessionExpiryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)

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
        sm = self.server.client("secretsmanager", key_id=creds["AccessKeyId"],
                                secret=creds["SecretAccessKey"],
                                session_token=creds["SessionToken"])
        self.assertEqual(sm.get_secret_value(SecretId="s")["SecretString"], "v1")
        env = dict(os.environ, AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
                   AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
                   AWS_SESSION_TOKEN=creds["SessionToken"], AWS_REGION=DEFAULT_REGION,
                   AWS_DEFAULT_REGION=DEFAULT_REGION,
                   AWS_MAX_ATTEMPTS="1", AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        cli = ["aws", "--endpoint-url", self.server.endpoint, "secretsmanager",
               "get-secret-value", "--secret-id", "s"]
        self.assertEqual(subprocess.run(cli, env=env, capture_output=True, text=True,
                                        timeout=60).returncode, 0)

        expires = creds["Expiration"].timestamp()
        time.sleep(max(0.0, expires - time.time()) + 5)

        with self.assertRaises(ClientError) as e:
            sm.get_secret_value(SecretId="s")
        self.assertEqual(e.exception.response["Error"]["Code"], "ExpiredTokenException")
        out = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("ExpiredTokenException", out.stderr)
        sts_session = self.server.client("sts", key_id=creds["AccessKeyId"],
                                         secret=creds["SecretAccessKey"],
                                         session_token=creds["SessionToken"])
        with self.assertRaises(ClientError) as e:
            sts_session.get_caller_identity()
        self.assertEqual(e.exception.response["Error"]["Code"], "ExpiredToken")


if __name__ == "__main__":
    unittest.main()
