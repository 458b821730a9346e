"""Attacks on coffer's boundaries, each written as the attacker would try it.

The deployment here has two accounts: the operator's (the first, created with the data
directory) and a tenant's, made with `coffer operator create-account`. Each test is one finding
of a review done as an attacker: a tenant reaching the deployment or another tenant, a hostile
rotation function, a request not bound to its signature, hostile input that costs unbounded
work, a connection or denial flood, interference with an unseal. Every test failed against the
server before these were fixed, and passes after (docs/SECURITY.md lists them with the threat
model they prove).

Only loopback addresses are used; the connection flood comes from 127.0.0.2.
"""

import base64
import json
import os
import re
import resource
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# coffer_server isolates the AWS environment on import: before boto3.
from coffer_server import (DEFAULT_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET,  # noqa: I001
                           AwsAssertions, CofferServer, coffer_binary, error_code, error_message,
                           sanitize_error_type, start_class_server)

import boto3  # noqa: E402
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ReadTimeoutError

CLI_TIMEOUT = 60
LAMBDA_TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}
ROTATION_ACTIONS = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                    "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecretVersionStage"]
CREATED_RE = re.compile(r"created account (\d{12})")
KEY_ID_RE = re.compile(r"Root access key id: (\S+)")
SECRET_RE = re.compile(r"Root secret access key: (\S+)")


def uid():
    return uuid.uuid4().hex[:10]


def run_operator(server, *args, key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET, input_text=None):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret)
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run([coffer_binary(), "operator", *args, "--endpoint", server.endpoint],
                          input=input_text, stdin=None if input_text else subprocess.DEVNULL,
                          capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT,
                          start_new_session=True)


def describe(proc):
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


class Tenant:
    """An account created by the operator with `coffer operator create-account`."""

    def __init__(self, server):
        proc = run_operator(server, "create-account")
        if proc.returncode != 0:
            raise AssertionError("create-account failed: " + describe(proc))
        self.account = CREATED_RE.search(proc.stdout).group(1)
        self.key_id = KEY_ID_RE.search(proc.stdout).group(1)
        self.secret = SECRET_RE.search(proc.stdout).group(1)
        self.server = server

    def client(self, service, **kwargs):
        return self.server.client(service, key_id=self.key_id, secret=self.secret, **kwargs)

    def operator(self, *args, **kwargs):
        return run_operator(self.server, *args, key_id=self.key_id, secret=self.secret, **kwargs)


def make_role(iam, name, actions, resource, trust=LAMBDA_TRUST):
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resource}]}))
    return arn


def coffer_events(server, key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET):
    """Every event of the signing account (GET /coffer/events, all pages)."""
    out, after = [], 0
    while True:
        resp = server.signed_request(b"", {}, service="coffer", key_id=key_id, secret=secret,
                                     method="GET", path=f"/coffer/events?after={after}")
        if resp.status != 200:
            raise AssertionError(f"GET /coffer/events: {resp}")
        page = resp.json()
        out += page["Events"]
        if not page["Events"]:
            return out
        after = page["Next"]


def wait_for_event(server, secret_arn, names, timeout=40, **creds):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for e in coffer_events(server, **creds):
            if e["Detail"].get("eventName") in names and secret_arn in e["Resources"]:
                return e
        time.sleep(0.2)
    raise AssertionError(f"no event {names} for {secret_arn} within {timeout} s")


def rotation_error(event):
    return event["Detail"]["serviceEventDetails"].get("error", "")


class ServerCase(AwsAssertions, unittest.TestCase):
    """One server per class (started with SERVER_ARGS), with the operator's clients."""
    SERVER_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls, extra_args=list(cls.SERVER_ARGS))
        cls.sm = cls.server.client("secretsmanager")
        cls.iam = cls.server.client("iam")


# =============================================================================================
# 1. The deployment operator and the accounts
# =============================================================================================
class TenantBoundaryTest(ServerCase):
    """A tenant's root against the deployment and against the operator's account."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tenant = Tenant(cls.server)
        cls.t_iam = cls.tenant.client("iam")
        cls.t_sm = cls.tenant.client("secretsmanager")

    def assertDenied(self, proc, what):
        self.assertNotEqual(0, proc.returncode, f"{what}: {describe(proc)}")
        self.assertIn("AccessDeniedException", proc.stderr, f"{what}: {describe(proc)}")

    def test_a_tenant_cannot_seal_rekey_rotate_or_create_accounts(self):
        self.assertDenied(self.tenant.operator("seal"), "seal")
        self.assertDenied(self.tenant.operator("rotate-root"), "rotate-root")
        self.assertDenied(self.tenant.operator("create-account"), "create-account")
        self.assertDenied(self.tenant.operator("rekey", "--seal", "file"), "rekey")
        # Nothing happened: still unsealed, one root generation, the operator's data readable.
        health = self.server.raw_request("GET", "/health")
        self.assertEqual(200, health.status, health)
        status = self.server.raw_request("GET", "/coffer/seal-status").json()
        self.assertFalse(status["Sealed"])
        self.sm.list_secrets()

    def test_a_tenant_reaches_no_operator_action_presigned_or_through_a_session(self):
        host = f"127.0.0.1:{self.server.port}"
        # Presigned (query) authentication instead of the Authorization header.
        for path in ("/coffer/seal", "/coffer/accounts", "/coffer/rotate-root"):
            req = AWSRequest(method="POST", url=f"http://{host}{path}", data=b"{}",
                             headers={"Host": host, "Content-Type": "application/json"})
            SigV4QueryAuth(Credentials(self.tenant.key_id, self.tenant.secret), "coffer",
                           DEFAULT_REGION, expires=300).add_auth(req)
            prepared = req.prepare()
            target = prepared.url.split(host, 1)[1]
            resp = self.server.raw_request("POST", target, body=b"{}",
                                           headers=dict(prepared.headers.items()))
            self.assertEqual(403, resp.status, f"{path}: {resp}")
            self.assertIn(b"AccessDenied", resp.body, path)
        # A session of the tenant's own role is not its root either.
        role = self.t_iam.create_role(
            RoleName=f"admin-{uid()}", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.tenant.account}:root"},
                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        self.t_iam.put_role_policy(RoleName=role.rsplit("/", 1)[1], PolicyName="all",
                                   PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                       {"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        user = f"u-{uid()}"
        self.t_iam.create_user(UserName=user)
        self.t_iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]}))
        key = self.t_iam.create_access_key(UserName=user)["AccessKey"]
        sts = self.server.client("sts", key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])
        creds = sts.assume_role(RoleArn=role, RoleSessionName="climb")["Credentials"]
        req = AWSRequest(method="POST", url=f"http://{host}/coffer/seal", data=b"{}",
                         headers={"Host": host, "Content-Type": "application/json"})
        SigV4Auth(Credentials(creds["AccessKeyId"], creds["SecretAccessKey"],
                              creds["SessionToken"]), "coffer", DEFAULT_REGION).add_auth(req)
        resp = self.server.raw_request("POST", "/coffer/seal", body=b"{}",
                                       headers=dict(req.prepare().headers.items()))
        self.assertEqual(403, resp.status, resp)
        self.assertFalse(self.server.raw_request("GET", "/coffer/seal-status").json()["Sealed"])

    def test_a_tenant_cannot_list_the_nodes_serving_the_store(self):
        # The nodes' names are hosts and ports of the deployment: the operator's to know.
        resp = self.server.signed_request(b"", method="GET", path="/coffer/nodes",
                                          service="coffer", key_id=self.tenant.key_id,
                                          secret=self.tenant.secret)
        self.assertEqual(403, resp.status, resp)
        self.assertIn(b"AccessDenied", resp.body)
        self.assertNotIn(str(self.server.port).encode(), resp.body)
        resp = self.server.signed_request(b"", method="GET", path="/coffer/nodes",
                                          service="coffer")
        self.assertEqual(200, resp.status, resp)
        self.assertIn(f":{self.server.port}".encode(), resp.body)
        # `coffer operator status` with the tenant's key: its own node's seal state only.
        proc = self.tenant.operator("status")
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertNotIn("Nodes", json.loads(proc.stdout))
        self.assertNotIn(f":{self.server.port}", proc.stdout.replace(self.server.endpoint, ""))

    def test_a_tenant_cannot_change_the_operators_secret_by_its_arn(self):
        name = f"op-only-{uid()}"
        arn = self.sm.create_secret(Name=name, SecretString="operator value")["ARN"]
        attempts = [
            lambda: self.t_sm.tag_resource(SecretId=arn, Tags=[{"Key": "owner", "Value": "t"}]),
            lambda: self.t_sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": self.tenant.account},
                    "Action": "secretsmanager:*", "Resource": "*"}]})),
            lambda: self.t_sm.update_secret_version_stage(SecretId=arn,
                                                         VersionStage="AWSCURRENT"),
            lambda: self.t_sm.put_secret_value(SecretId=arn, SecretString="tenant value"),
        ]
        for attempt in attempts:
            with self.assertRaises(ClientError) as caught:
                attempt()
            self.assertEqual("AccessDeniedException", error_code(caught.exception))
        described = self.sm.describe_secret(SecretId=arn)
        self.assertNotIn("Tags", described)
        self.assertNotIn("ResourcePolicy", self.sm.get_resource_policy(SecretId=arn))
        self.assertEqual("operator value",
                         self.sm.get_secret_value(SecretId=arn)["SecretString"])

    def test_a_tenant_cannot_run_programs_on_the_host(self):
        marker = os.path.join(tempfile.gettempdir(), f"coffer-pwned-{uid()}")
        role = make_role(self.t_iam, f"exec-{uid()}", ROTATION_ACTIONS, "*")
        proc = self.tenant.operator("register-function", "--name", f"x-{uid()}", "--kind", "exec",
                                    "--role-arn", role, "--command", "/usr/bin/touch", marker)
        self.assertDenied(proc, "register an exec function")
        self.assertIn("only the deployment operator", proc.stderr)
        self.assertFalse(os.path.exists(marker))
        # Nor register one in another account's name.
        proc = self.tenant.operator("register-function", "--name", f"x-{uid()}", "--kind",
                                    "builtin", "--builtin", "random-api-key", "--account",
                                    self.server.account_id)
        self.assertDenied(proc, "register in the operator's account")

    def test_a_tenant_cannot_remove_the_operators_function_or_page_into_its_secrets(self):
        # The operator's function, registered through the registrar the composition root wires.
        name = f"op-fn-{uid()}"
        proc = run_operator(self.server, "register-function", "--name", name, "--kind",
                            "builtin", "--builtin", "random-api-key")
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertDenied(self.tenant.operator("register-function", "--name", name, "--delete",
                                               "--account", self.server.account_id),
                          "delete the operator's function")
        # Deleting the same name in its own account touches only its own (absent) function.
        self.tenant.operator("register-function", "--name", name, "--delete")
        # The operator's function is still there: RotateSecret accepts it.
        arn = (f"arn:aws:lambda:{DEFAULT_REGION}:{self.server.account_id}:function:{name}")
        secret = self.sm.create_secret(Name=f"fn-{uid()}", SecretString="x")["ARN"]
        self.sm.rotate_secret(SecretId=secret, RotationLambdaARN=arn, RotateImmediately=False,
                              RotationRules={"AutomaticallyAfterDays": 30})
        # A NextToken of the operator's listing, replayed by the tenant, positions the tenant's
        # own listing only: no secret of the operator's comes back.
        prefix = f"pg{uid()}"
        mine = {self.sm.create_secret(Name=f"{prefix}-{i}", SecretString="x")["Name"]
                for i in range(3)}
        token = self.sm.list_secrets(SortBy="name", MaxResults=1)["NextToken"]
        listed = self.t_sm.list_secrets(SortBy="name", MaxResults=100, NextToken=token)
        self.assertFalse(mine & {e["Name"] for e in listed["SecretList"]}, listed)

    def test_a_function_must_act_as_a_role_of_its_account_that_trusts_lambda(self):
        victim_role = make_role(self.iam, f"admin-{uid()}", ["secretsmanager:*"], "*")
        url = "http://127.0.0.1:9/rotate"
        # Another account's role: refused, so its credentials are never issued to the tenant.
        proc = self.tenant.operator("register-function", "--name", f"steal-{uid()}", "--kind",
                                    "http", "--url", url, "--role-arn", victim_role)
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("InvalidParameterValueException", proc.stderr)
        self.assertIn(f"account {self.tenant.account}", proc.stderr)
        # No role at all: refused with a clear message, not a failure at rotation time.
        proc = self.tenant.operator("register-function", "--name", f"norole-{uid()}", "--kind",
                                    "http", "--url", url)
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("needs an execution role", proc.stderr)
        # A role of its own that does not trust Lambda.
        ec2_trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}
        own = make_role(self.t_iam, f"ec2-{uid()}", ROTATION_ACTIONS, "*", trust=ec2_trust)
        proc = self.tenant.operator("register-function", "--name", f"ec2-{uid()}", "--kind",
                                    "http", "--url", url, "--role-arn", own)
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("cannot be assumed by Lambda", proc.stderr)

    def test_trust_is_checked_again_whenever_credentials_are_issued(self):
        calls = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                calls.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(500)
                self.end_headers()

            def log_message(self, *args):
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.shutdown)
        secret_arn = self.t_sm.create_secret(Name=f"trust-{uid()}",
                                             SecretString="v" * 20)["ARN"]
        role_name = f"rot-{uid()}"
        role = make_role(self.t_iam, role_name, ROTATION_ACTIONS, secret_arn)
        name = f"hook-{uid()}"
        proc = self.tenant.operator("register-function", "--name", name, "--kind", "http", "--url",
                                    f"http://127.0.0.1:{httpd.server_port}/", "--role-arn", role,
                                    "--timeout", "5")
        self.assertEqual(0, proc.returncode, describe(proc))
        # The role stops trusting Lambda after registration.
        self.t_iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole"}]}))
        fn = f"arn:aws:lambda:{DEFAULT_REGION}:{self.tenant.account}:function:{name}"
        self.t_sm.rotate_secret(SecretId=secret_arn, RotationLambdaARN=fn)
        self.addCleanup(self.t_sm.cancel_rotate_secret, SecretId=secret_arn)
        failed = wait_for_event(self.server, secret_arn, ("RotationFailed", "RotationAbandoned"),
                                key_id=self.tenant.key_id, secret=self.tenant.secret)
        self.assertIn("cannot be assumed by Lambda", rotation_error(failed))
        self.assertEqual([], calls, "no credentials were sent to the function")

    def test_a_secret_cannot_be_rotated_by_another_accounts_function(self):
        name = f"operator-fn-{uid()}"
        proc = run_operator(self.server, "register-function", "--name", name, "--kind", "builtin",
                            "--builtin", "random-api-key")
        self.assertEqual(0, proc.returncode, describe(proc))
        foreign_fn = f"arn:aws:lambda:{DEFAULT_REGION}:{self.server.account_id}:function:{name}"
        secret_arn = self.t_sm.create_secret(Name=f"x-{uid()}", SecretString="abc" * 8)["ARN"]
        with self.assertRaises(ClientError) as cm:
            self.t_sm.rotate_secret(SecretId=secret_arn, RotationLambdaARN=foreign_fn)
        self.assertEqual("AccessDeniedException", error_code(cm.exception))
        self.assertIn("cannot invoke the specified Lambda function", error_message(cm.exception))
        self.assertFalse(self.t_sm.describe_secret(SecretId=secret_arn).get("RotationEnabled"))

    def test_the_operator_may_register_an_exec_function_for_a_tenant(self):
        role = make_role(self.t_iam, f"op-exec-{uid()}", ROTATION_ACTIONS, "*")
        name = f"op-exec-{uid()}"
        proc = run_operator(self.server, "register-function", "--name", name, "--kind", "exec",
                            "--account", self.tenant.account, "--role-arn", role,
                            "--command", "/bin/true")
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertIn(f"arn:aws:lambda:{DEFAULT_REGION}:{self.tenant.account}:function:{name}",
                      proc.stdout)

    def test_sessions_of_a_deleted_or_recreated_role_are_refused(self):
        role_name = f"app-{uid()}"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.tenant.account}:root"},
            "Action": "sts:AssumeRole"}]}
        role = make_role(self.t_iam, role_name, ["secretsmanager:ListSecrets"], "*", trust=trust)
        self.t_iam.create_user(UserName=f"dev-{role_name}")
        self.t_iam.put_user_policy(UserName=f"dev-{role_name}", PolicyName="assume",
                                   PolicyDocument=json.dumps({"Version": "2012-10-17",
                                                              "Statement": [{
                                                                  "Effect": "Allow",
                                                                  "Action": "sts:AssumeRole",
                                                                  "Resource": role}]}))
        key = self.t_iam.create_access_key(UserName=f"dev-{role_name}")["AccessKey"]
        sts = self.server.client("sts", key_id=key["AccessKeyId"], secret=key["SecretAccessKey"])

        def session():
            creds = sts.assume_role(RoleArn=role, RoleSessionName="app")["Credentials"]
            return self.server.client("secretsmanager", key_id=creds["AccessKeyId"],
                                      secret=creds["SecretAccessKey"],
                                      session_token=creds["SessionToken"])

        old = session()
        old.list_secrets()
        self.t_iam.delete_role_policy(RoleName=role_name, PolicyName="p")
        self.t_iam.delete_role(RoleName=role_name)
        self.assertClientError("UnrecognizedClientException", old.list_secrets)
        # The same name again, with the same permissions: the old session grants nothing.
        make_role(self.t_iam, role_name, ["secretsmanager:ListSecrets"], "*", trust=trust)
        self.assertClientError("UnrecognizedClientException", old.list_secrets)
        session().list_secrets()  # a session of the new role works

    def test_a_secret_under_the_aws_managed_key_stays_in_its_account(self):
        name = f"managed-{uid()}"
        value = f"managed-key-canary-{uid()}"
        arn = self.sm.create_secret(Name=name, SecretString=value)["ARN"]
        self.sm.put_resource_policy(SecretId=arn, ResourcePolicy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.tenant.account}:root"},
                "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
        with self.assertRaises(ClientError) as cm:
            self.t_sm.get_secret_value(SecretId=arn)
        self.assertEqual("AccessDeniedException", error_code(cm.exception))
        self.assertEqual("Access to KMS is not allowed", error_message(cm.exception))
        self.assertNotIn(value, json.dumps(cm.exception.response, default=str))

    def test_denials_name_the_secret_as_given_and_hide_what_exists(self):
        name = f"hidden/db-{uid()}"
        full_arn = self.sm.create_secret(Name=name, SecretString="x" * 16)["ARN"]
        partial = full_arn[:-7]
        missing = f"arn:aws:secretsmanager:{DEFAULT_REGION}:{self.server.account_id}:secret:" \
                  f"hidden/none-{uid()}"
        answers = []
        for secret_id in (partial, missing, full_arn):
            with self.assertRaises(ClientError) as cm:
                self.t_sm.get_secret_value(SecretId=secret_id)
            answers.append((error_code(cm.exception), error_message(cm.exception)))
            self.assertIn(f"on resource: {secret_id} ", error_message(cm.exception))
        # An existing and a missing secret of another account read the same.
        self.assertEqual(["AccessDeniedException"] * 3, [code for code, _ in answers])
        self.assertNotIn(full_arn, answers[0][1], "the suffix of the real ARN leaked")
        self.assertEqual(answers[0][1].replace(partial, "X"), answers[1][1].replace(missing, "X"))
        # Within an account, a name is echoed as given too.
        user = f"nobody-{uid()}"
        self.iam.create_user(UserName=user)
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        nobody = self.server.client("secretsmanager", key_id=key["AccessKeyId"],
                                    secret=key["SecretAccessKey"])
        with self.assertRaises(ClientError) as cm:
            nobody.get_secret_value(SecretId=name)
        self.assertIn(f"on resource: {name} because", error_message(cm.exception))
        self.assertNotIn(full_arn, error_message(cm.exception))

    def test_a_tenant_cannot_watch_another_accounts_secret_versions(self):
        # coffer.WatchSecretVersions (coffer agent's long poll) tells which version holds a
        # stage: it must answer only what DescribeSecret would, to whom may call it.
        arn = self.sm.create_secret(Name=f"watched/db-{uid()}", SecretString="x" * 16)["ARN"]
        held = self.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = next(v for v, s in held.items() if "AWSCURRENT" in s)
        body = {"Secrets": [{"SecretId": arn, "VersionId": "0" * 32}], "WaitSeconds": 0}
        resp = self.server.signed_json_request("coffer.WatchSecretVersions", body,
                                               key_id=self.tenant.key_id,
                                               secret=self.tenant.secret)
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("AccessDeniedException", sanitize_error_type(resp.json()["__type"]))
        self.assertNotIn(current, json.dumps(resp.json()))
        # The owner may: the held version is old, so the answer names the current one at once.
        resp = self.server.signed_json_request("coffer.WatchSecretVersions", body)
        self.assertEqual(200, resp.status, resp)
        self.assertEqual(current, resp.json()["Changed"][0]["VersionId"])

    def test_a_tenant_cannot_end_another_callers_watch_by_reusing_its_watch_id(self):
        # A WatchId replaces the same caller's waiting call: a tenant who learns (or guesses) the
        # operator's agent's id must not be able to answer that call early with "nothing moved".
        arn = self.sm.create_secret(Name=f"watched/own-{uid()}", SecretString="a" * 16)["ARN"]
        held = next(v for v, s in self.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
                    .items() if "AWSCURRENT" in s)
        t_arn = self.t_sm.create_secret(Name=f"tenant-{uid()}", SecretString="b" * 16)["ARN"]
        t_held = next(v for v, s in self.t_sm.describe_secret(SecretId=t_arn)[
            "VersionIdsToStages"].items() if "AWSCURRENT" in s)
        answer = {}

        def operator_watch():
            answer["resp"] = self.server.signed_json_request(
                "coffer.WatchSecretVersions",
                {"Secrets": [{"SecretId": arn, "VersionId": held}], "WaitSeconds": 20,
                 "WatchId": "shared-id"})

        waiter = threading.Thread(target=operator_watch)
        waiter.start()
        time.sleep(0.5)  # the operator's call is waiting
        resp = self.server.signed_json_request(
            "coffer.WatchSecretVersions",
            {"Secrets": [{"SecretId": t_arn, "VersionId": t_held}], "WaitSeconds": 0,
             "WatchId": "shared-id"}, key_id=self.tenant.key_id, secret=self.tenant.secret)
        self.assertEqual(200, resp.status, resp)
        self.sm.put_secret_value(SecretId=arn, SecretString="c" * 16)
        waiter.join(timeout=30)
        # Still the operator's own call: answered by the move, not emptied by the tenant.
        self.assertEqual(200, answer["resp"].status, answer["resp"])
        self.assertEqual([arn], [c["ARN"] for c in answer["resp"].json()["Changed"]])


# =============================================================================================
# 2. Hostile rotation functions
# =============================================================================================
FD_PROBE = r'''
import json, os, sys
report = {"uid": os.getuid(), "fds": {}}
for fd in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        report["fds"][fd] = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        report["fds"][fd] = None
try:
    with open(os.environ["ROOT_KEY"]) as f:
        report["root_key"] = f.read()
except OSError as e:
    report["root_key_error"] = e.errno
with open(os.environ["REPORT"], "w") as f:
    json.dump(report, f)
sys.exit(1)
'''

HANGING_FUNCTION = r'''
import os, sys, time
with open(os.environ["PID_FILE"], "w") as f:
    f.write(str(os.getpid()))
os.close(1)
os.close(2)
time.sleep(600)
'''


class HostileFunctionTest(ServerCase):
    """Exec functions registered by the operator, run under --exec-user nobody (the server
    runs as root here, as --exec-user requires)."""
    SERVER_ARGS = ("--exec-user", "nobody")

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="coffer-hostile-")
        os.chmod(cls.tmp, 0o777)
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        for name, text in (("fd_probe.py", FD_PROBE), ("hanging.py", HANGING_FUNCTION)):
            path = os.path.join(cls.tmp, name)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
        if os.geteuid() != 0:
            raise unittest.SkipTest("--exec-user needs the server (and so the tests) to run as "
                                    "root")
        super().setUpClass()

    def register_exec(self, command, role, env=None, timeout=30):
        name = f"fn-{uid()}"
        args = ["register-function", "--name", name, "--kind", "exec", "--role-arn", role,
                "--timeout", str(timeout)]
        for k, v in (env or {}).items():
            args += ["--env", f"{k}={v}"]
        proc = run_operator(self.server, *args, "--command", *command)
        self.assertEqual(0, proc.returncode, describe(proc))
        return f"arn:aws:lambda:{DEFAULT_REGION}:{self.server.account_id}:function:{name}"

    def rotate(self, command, env=None, timeout=30, value="unused-value-123"):
        arn = self.sm.create_secret(Name=f"hostile-{uid()}", SecretString=value)["ARN"]
        role = make_role(self.iam, f"r-{uid()}", ROTATION_ACTIONS, arn)
        fn = self.register_exec(command, role, env, timeout)
        self.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
        self.addCleanup(self.sm.cancel_rotate_secret, SecretId=arn)
        return arn

    def test_an_exec_function_inherits_no_descriptor_and_cannot_read_the_keys(self):
        report = os.path.join(self.tmp, f"report-{uid()}.json")
        root_key = os.path.join(self.server.data_dir, "root.key")
        # Keep a client connection open so the server holds a socket while the function runs.
        keepalive = socket.create_connection(("127.0.0.1", self.server.port))
        self.addCleanup(keepalive.close)
        arn = self.rotate(["/usr/bin/python3", os.path.join(self.tmp, "fd_probe.py")],
                          env={"REPORT": report, "ROOT_KEY": root_key})
        wait_for_event(self.server, arn, ("RotationFailed",))
        with open(report) as f:
            got = json.load(f)
        self.assertNotEqual(0, got["uid"], "the function ran as root despite --exec-user")
        self.assertNotIn("root_key", got, "the function read the unseal key")
        extra = {fd: target for fd, target in got["fds"].items() if fd not in ("0", "1", "2")}
        self.assertLessEqual(len(extra), 1, got)  # the descriptor the listing itself opened
        for fd, target in extra.items():
            self.assertTrue(target is None or "/fd" in target, got)
        # And every descriptor the server holds is close-on-exec.
        pid = self.server.proc.pid
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    flags = int(re.search(r"flags:\s+([0-7]+)", f.read()).group(1), 8)
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(fd) > 2:
                self.assertTrue(flags & 0o2000000, f"fd {fd} ({target}) is not close-on-exec")

    def test_a_function_that_closes_its_output_and_hangs_is_killed(self):
        pid_file = os.path.join(self.tmp, f"pid-{uid()}")
        arn = self.rotate(["/usr/bin/python3", os.path.join(self.tmp, "hanging.py")],
                          env={"PID_FILE": pid_file}, timeout=2)
        failed = wait_for_event(self.server, arn, ("RotationFailed",), timeout=30)
        self.assertIn("timed out after 2 s", rotation_error(failed))
        with open(pid_file) as f:
            pid = int(f.read())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().split()[2] == "Z":
                        break
            except FileNotFoundError:
                break
            time.sleep(0.1)
        else:
            self.fail(f"the hanging function (pid {pid}) still runs")


class LeakyFunctionTest(ServerCase):
    """A failing function that prints the secret it rotates, plainly and encoded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server

        class Leaky(BaseHTTPRequestHandler):
            def do_POST(self):
                event = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                creds = event["Credentials"]
                sm = server.client("secretsmanager", key_id=creds["AccessKeyId"],
                                   secret=creds["SecretAccessKey"],
                                   session_token=creds["SessionToken"])
                raw = sm.get_secret_value(SecretId=event["SecretId"],
                                          VersionStage="AWSCURRENT")["SecretString"].encode()
                body = (f"Traceback (most recent call last):\n  value={raw.decode()}\n"
                        f"  base64={base64.b64encode(raw).decode()}\n  hex={raw.hex()}\n"
                        f"RuntimeError: provider said no to {raw.hex().upper()}\n").encode()
                self.send_response(500)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        cls.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Leaky)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.httpd.shutdown)

    def test_secret_values_never_reach_the_store_or_the_events(self):
        value = f"LeakyCanary-{uid()}-{uid()}"
        forms = [value, base64.b64encode(value.encode()).decode(), value.encode().hex(),
                 value.encode().hex().upper()]
        arn = self.sm.create_secret(Name=f"leaky-{uid()}", SecretString=value)["ARN"]
        role = make_role(self.iam, f"leaky-{uid()}", ROTATION_ACTIONS, arn)
        name = f"leaky-{uid()}"
        proc = run_operator(self.server, "register-function", "--name", name, "--kind", "http",
                            "--url", f"http://127.0.0.1:{self.httpd.server_port}/",
                            "--role-arn", role, "--timeout", "20")
        self.assertEqual(0, proc.returncode, describe(proc))
        fn = f"arn:aws:lambda:{DEFAULT_REGION}:{self.server.account_id}:function:{name}"
        self.sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
        self.addCleanup(self.sm.cancel_rotate_secret, SecretId=arn)
        failed = wait_for_event(self.server, arn, ("RotationFailed",))
        self.assertIn("provider said no", rotation_error(failed))
        events_text = json.dumps(coffer_events(self.server))
        for form in forms:
            self.assertNotIn(form, events_text)
        for path in self.server.data_files():
            with open(path, "rb") as f:
                data = f.read()
            for form in forms:
                self.assertNotIn(form.encode(), data, f"{path} holds the value")
        self.assertNotIn(value, self.server.output_text())


class StuckFunctionTest(ServerCase):
    """One stuck http function delays no other secret's rotation, and fails at its deadline."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stuck = socket.socket()
        cls.stuck.bind(("127.0.0.1", 0))
        cls.stuck.listen(16)  # accepts (in the kernel) and never answers
        cls.addClassCleanup(cls.stuck.close)

    def test_a_stuck_function_fails_at_its_deadline_and_blocks_nobody(self):
        stuck_arn = self.sm.create_secret(Name=f"stuck-{uid()}", SecretString="s" * 20)["ARN"]
        role = make_role(self.iam, f"stuck-{uid()}", ROTATION_ACTIONS, stuck_arn)
        name = f"stuck-{uid()}"
        proc = run_operator(self.server, "register-function", "--name", name, "--kind", "http",
                            "--url", f"http://127.0.0.1:{self.stuck.getsockname()[1]}/",
                            "--role-arn", role, "--timeout", "8")
        self.assertEqual(0, proc.returncode, describe(proc))
        fn = f"arn:aws:lambda:{DEFAULT_REGION}:{self.server.account_id}:function:{name}"
        proc = run_operator(self.server, "register-function", "--name", f"ok-{name}", "--kind",
                            "builtin", "--builtin", "random-api-key")
        self.assertEqual(0, proc.returncode, describe(proc))
        ok_fn = fn.replace(f"function:{name}", f"function:ok-{name}")
        self.sm.rotate_secret(SecretId=stuck_arn, RotationLambdaARN=fn)
        self.addCleanup(self.sm.cancel_rotate_secret, SecretId=stuck_arn)
        wait_for_event(self.server, stuck_arn, ("RotationStarted",))
        other = self.sm.create_secret(Name=f"other-{uid()}",
                                      SecretString=json.dumps({"apiKey": "k" * 32}))["ARN"]
        self.sm.rotate_secret(SecretId=other, RotationLambdaARN=ok_fn)
        self.addCleanup(self.sm.cancel_rotate_secret, SecretId=other)
        done = wait_for_event(self.server, other, ("RotationSucceeded",), timeout=20)
        failed = wait_for_event(self.server, stuck_arn, ("RotationFailed",), timeout=40)
        self.assertLess(done["Id"], failed["Id"], "the other rotation waited for the stuck one")
        self.assertIn("timeout", rotation_error(failed).lower())


# =============================================================================================
# 3. Requests bound to their signature
# =============================================================================================
class UnsignedPayloadQueryAuth(SigV4QueryAuth):
    """A presigned URL whose payload hash is UNSIGNED-PAYLOAD."""

    def payload(self, request):
        return "UNSIGNED-PAYLOAD"


class RequestBindingTest(ServerCase):

    def test_an_unsigned_target_is_refused(self):
        # Signed as ListSecrets' harmless body, sent as DeleteSecret: the signature must cover
        # X-Amz-Target.
        name = f"victim-{uid()}"
        sm = self.sm
        sm.create_secret(Name=name, SecretString="keep me")
        body = json.dumps({"SecretId": name, "ForceDeleteWithoutRecovery": True}).encode()
        host = f"127.0.0.1:{self.server.port}"
        req = AWSRequest(method="POST", url=f"http://{host}/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1", "Host": host})
        SigV4Auth(Credentials(DEFAULT_KEY_ID, DEFAULT_SECRET), "secretsmanager",
                  DEFAULT_REGION).add_auth(req)
        headers = dict(req.prepare().headers.items())
        headers["X-Amz-Target"] = "secretsmanager.DeleteSecret"
        resp = self.server.raw_request("POST", "/", body=body, headers=headers)
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("IncompleteSignatureException", resp.header("x-amzn-errortype"), resp)
        self.assertIn("X-Amz-Target", resp.json()["message"])
        self.assertEqual("keep me", sm.get_secret_value(SecretId=name)["SecretString"])
        # Content-Type beside a signed target must be signed as well.
        req = AWSRequest(method="POST", url=f"http://{host}/", data=b"{}", headers={
            "X-Amz-Target": "secretsmanager.ListSecrets", "Host": host})
        SigV4Auth(Credentials(DEFAULT_KEY_ID, DEFAULT_SECRET), "secretsmanager",
                  DEFAULT_REGION).add_auth(req)
        headers = dict(req.prepare().headers.items())
        headers["Content-Type"] = "application/x-amz-json-1.1"
        resp = self.server.raw_request("POST", "/", body=b"{}", headers=headers)
        self.assertEqual("IncompleteSignatureException", resp.header("x-amzn-errortype"), resp)

    def test_a_presigned_url_cannot_carry_other_parameters_in_a_body(self):
        iam = self.iam
        user = f"presigner-{uid()}"
        iam.create_user(UserName=user)
        role = iam.create_role(RoleName=f"target-{uid()}", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": iam.get_user(UserName=user)["User"]["Arn"]},
                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]}))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        # The user hands out a URL that proves its identity (as Vault's and EKS's IAM auth
        # ask for): GetCallerIdentity, presigned for POST with UNSIGNED-PAYLOAD, as the SigV4
        # documentation presigns.
        host = f"127.0.0.1:{self.server.port}"
        request = AWSRequest(method="POST",
                             url=f"http://{host}/?Action=GetCallerIdentity&Version=2011-06-15",
                             headers={"Host": host})
        UnsignedPayloadQueryAuth(Credentials(key["AccessKeyId"], key["SecretAccessKey"]), "sts",
                                 DEFAULT_REGION, expires=300).add_auth(request)
        path = request.url[request.url.index("/", len("http://")):]
        ok = self.server.raw_request("POST", path)
        self.assertEqual(200, ok.status, ok)
        self.assertIn(b"GetCallerIdentityResult", ok.body)
        # Whoever holds the URL tries to make it AssumeRole with a form body.
        body = urllib.parse.urlencode({"Action": "AssumeRole", "RoleArn": role,
                                       "RoleSessionName": "stolen", "Version": "2011-06-15"})
        resp = self.server.raw_request("POST", path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertNotIn(b"SecretAccessKey", resp.body, resp)
        self.assertNotIn(b"AssumeRoleResult", resp.body, resp)
        self.assertEqual(403, resp.status, resp)


# =============================================================================================
# 4. Bounded work under hostile input
# =============================================================================================
class HostileInputTest(ServerCase):
    SERVER_ARGS = ("--io-threads", "2")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A client that gives up long before a backtracking engine would finish.
        cls.ssm = boto3.session.Session().client(
            "ssm", region_name=DEFAULT_REGION, endpoint_url=cls.server.endpoint,
            aws_access_key_id=DEFAULT_KEY_ID, aws_secret_access_key=DEFAULT_SECRET,
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=15))

    def test_a_catastrophic_allowed_pattern_is_answered_at_once(self):
        # A 400-character pattern of nested alternatives and an 8 KB value: a backtracking
        # engine spends half a minute on each. Two at once would hold both I/O threads.
        pattern = "^" + "(a|a?)+" * 57 + "$"
        outcomes = []

        def attack():
            try:
                self.ssm.put_parameter(Name=f"/redos/{uid()}", Type="String", Tier="Advanced",
                                       AllowedPattern=pattern, Value="a" * 8000 + "b")
                outcomes.append("stored")
            except ClientError as e:
                outcomes.append(error_code(e))
            except ReadTimeoutError:
                outcomes.append("no answer within 15 s")

        attackers = [threading.Thread(target=attack) for _ in range(2)]
        for t in attackers:
            t.start()
        # The server keeps answering meanwhile (checked for a while, so the attacks have
        # surely arrived).
        watch_until = time.monotonic() + 3
        while time.monotonic() < watch_until:
            try:
                health = self.server.raw_request("GET", "/health", timeout=10)
            except socket.timeout:
                self.fail("GET /health got no answer within 10 s during the attack")
            self.assertEqual(200, health.status)
            time.sleep(0.2)
        for t in attackers:
            t.join()
        self.assertEqual(["ParameterPatternMismatchException"] * 2, outcomes)

    def test_patterns_only_a_backtracking_engine_has_are_refused(self):
        for pattern in (r"(a)\1", r"(?=a)a", r"(?<=a)b", r"a*+"):
            with self.assertRaises(ClientError) as cm:
                self.ssm.put_parameter(Name=f"/re/{uid()}", Type="String",
                                       AllowedPattern=pattern, Value="a")
            self.assertEqual("InvalidAllowedPatternException", error_code(cm.exception), pattern)
        # Java's POSIX classes, as Parameter Store users write them, work.
        name = f"/re/{uid()}"
        self.ssm.put_parameter(Name=name, Type="String", AllowedPattern=r"\p{Upper}\p{Digit}+",
                               Value="A123")
        with self.assertRaises(ClientError) as cm:
            self.ssm.put_parameter(Name=name, Type="String", Overwrite=True, Value="a123")
        self.assertEqual("ParameterPatternMismatchException", error_code(cm.exception))


class ConnectionFloodTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls, extra_args=[
            "--max-connections-per-source", "16", "--first-byte-timeout", "2"])

    def test_one_source_cannot_take_every_connection(self):
        flood = []
        self.addCleanup(lambda: [s.close() for s in flood])
        for _ in range(40):
            s = socket.socket()
            s.bind(("127.0.0.2", 0))
            s.connect(("127.0.0.1", self.server.port))
            flood.append(s)
        # Beyond its 16, the source's connections are told 503 with Retry-After (as an
        # overloaded AWS endpoint answers; SDKs back off and retry) and closed.
        refused = 0
        for s in flood[16:]:
            s.settimeout(5)
            reply = b""
            try:
                while chunk := s.recv(4096):
                    reply += chunk
            except (ConnectionResetError, socket.timeout):
                pass
            refused += (reply.startswith(b"HTTP/1.1 503 ") and b"\r\nRetry-After: 1\r\n" in reply
                        and b'"__type":"ServiceUnavailable"' in reply)
        self.assertEqual(24, refused)
        # Logged once, not once per refusal.
        output = self.server.wait_for_output("refusing connections (per_source)")
        self.assertEqual(1, output.count("refusing connections (per_source)"))
        # Another source is served meanwhile.
        self.assertEqual(200, self.server.raw_request("GET", "/health").status)
        self.server.client("secretsmanager").list_secrets()
        # Silent connections are closed after the first-byte timeout.
        for s in flood[:16]:
            s.settimeout(10)
            self.assertEqual(b"", s.recv(1))
        metrics = self.server.raw_request("GET", "/metrics").body.decode()
        self.assertIn('coffer_http_connections_refused_total{reason="per_source"} 24', metrics)
        self.assertRegex(metrics, r"coffer_http_first_byte_timeouts_total (1[6-9]|[2-9]\d)")

    def test_running_out_of_descriptors_does_not_spin(self):
        if os.geteuid() != 0:
            self.skipTest("lowering another process's descriptor limit needs root")
        pid = self.server.proc.pid
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        in_use = len(os.listdir(f"/proc/{pid}/fd"))
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 2, hard))
        flood = []
        try:
            for _ in range(8):
                s = socket.socket()
                s.bind(("127.0.0.3", 0))
                s.connect(("127.0.0.1", self.server.port))  # completes in the kernel's backlog
                flood.append(s)

            def cpu_seconds():
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

            before = cpu_seconds()
            time.sleep(2)  # what the server does meanwhile is the measurement
            burnt = cpu_seconds() - before
        finally:
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
            for s in flood:
                s.close()
        # Spinning on a failing accept burns a core; backing off costs next to nothing.
        self.assertLess(burnt, 0.5, f"{burnt:.2f} s of CPU in 2 s with accept failing")
        deadline = time.monotonic() + 10
        while True:
            try:
                metrics = self.server.raw_request("GET", "/metrics", timeout=5).body.decode()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        failures = int(re.search(r"coffer_http_accept_failures_total (\d+)", metrics).group(1))
        self.assertGreaterEqual(failures, 1)
        self.assertLess(failures, 100)

    def test_max_connections_is_clamped_to_the_descriptor_limit(self):
        server = CofferServer(extra_args=["--max-connections", "100000000"])
        self.addCleanup(server.close)
        server.start()
        server.wait_for_output("exceeds the descriptor limit")
        self.assertEqual(200, server.raw_request("GET", "/health").status)


class DenialFloodTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls, extra_args=[
            "--max-events-per-account", "100", "--purge-interval", "1"])
        cls.tenant = Tenant(cls.server)
        t_iam = cls.tenant.client("iam")
        t_iam.create_user(UserName="mallory")
        key = t_iam.create_access_key(UserName="mallory")["AccessKey"]
        cls.mallory = cls.server.client("secretsmanager", key_id=key["AccessKeyId"],
                                        secret=key["SecretAccessKey"])

    def event_rows(self):
        # The store is read directly: this is what the flood costs on disk.
        if self.server.database:  # a PostgreSQL store (tests/e2e/with_postgres.py)
            return int(self.server.store_query(
                f"SELECT COUNT(*) FROM events WHERE account = '{int(self.tenant.account):012d}'"))
        db = sqlite3.connect(f"file:{self.server.data_dir}/coffer.db?mode=ro", uri=True)
        try:
            return db.execute("SELECT COUNT(*) FROM events WHERE account = ?",
                              (self.tenant.account,)).fetchone()[0]
        finally:
            db.close()

    def test_a_flood_of_denials_is_aggregated_and_bounded(self):
        for _ in range(1500):
            with self.assertRaises(ClientError):
                self.mallory.get_secret_value(SecretId="anything")
        events = coffer_events(self.server, key_id=self.tenant.key_id, secret=self.tenant.secret)
        denied = [e for e in events if e["Detail"].get("errorCode") == "AccessDenied"]
        self.assertLessEqual(len(denied), 20, "one row per denial")
        self.assertEqual(1500, sum(e["Detail"]["additionalEventData"]["deniedCount"]
                                   for e in denied))
        self.assertLessEqual(self.event_rows(), 20)
        # Distinct names make distinct rows, but retention keeps at most 100 per account.
        for i in range(300):
            with self.assertRaises(ClientError):
                self.mallory.get_secret_value(SecretId=f"guess-{i}")
        coffer_events(self.server, key_id=self.tenant.key_id, secret=self.tenant.secret)
        deadline = time.monotonic() + 20
        while self.event_rows() > 100 and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertLessEqual(self.event_rows(), 100)


# =============================================================================================
# 5. The unseal endpoint, rekey and /metrics
# =============================================================================================
class UnsealInterferenceTest(unittest.TestCase):

    def init_shamir(self):
        root = tempfile.mkdtemp(prefix="coffer-unseal-")
        self.addCleanup(shutil.rmtree, root, True)
        data_dir = os.path.join(root, "data")
        env = dict(os.environ, COFFER_ROOT_ACCESS_KEY_ID=DEFAULT_KEY_ID,
                   COFFER_ROOT_SECRET_ACCESS_KEY=DEFAULT_SECRET)
        proc = subprocess.run([coffer_binary(), "operator", "init", "--data-dir", data_dir,
                               "--seal", "shamir", "--key-shares", "3", "--key-threshold", "2",
                               "--account-id", "123456789012"],
                              capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT)
        self.assertEqual(0, proc.returncode, describe(proc))
        shares = re.findall(r"Unseal share \d+: (\S+)", proc.stdout)
        self.assertEqual(3, len(shares))
        server = CofferServer(data_dir=data_dir, accept_sealed=True)
        self.addCleanup(server.close)
        server.start()
        return server, shares

    def post(self, server, body, content_type="application/json"):
        return server.raw_request("POST", "/coffer/unseal",
                                  body=body if isinstance(body, str) else json.dumps(body),
                                  headers={"Content-Type": content_type})

    def test_nobody_outside_the_unseal_can_disturb_it(self):
        server, shares = self.init_shamir()
        first = self.post(server, {"Share": shares[0]})
        self.assertEqual(200, first.status, first)
        self.assertEqual(1, first.json()["Progress"])
        # A cross-origin form post (what a web page can send without a preflight) is refused.
        for body, ctype in (("Reset=true", "application/x-www-form-urlencoded"),
                            (json.dumps({"Reset": True}), "text/plain"),
                            (json.dumps({"Share": "AAAA"}), "multipart/form-data; boundary=x")):
            resp = self.post(server, body, ctype)
            self.assertEqual(415, resp.status, resp)
        # A share that is not one of this seal's, and a reset without the nonce, change nothing.
        other_server, other_shares = self.init_shamir()
        other_server.close()
        for body in ({"Share": other_shares[1]}, {"Reset": True},
                     {"Reset": True, "Nonce": str(uuid.uuid4())},
                     {"Share": base64.b64encode(b"\x07" + os.urandom(32)).decode()}):
            resp = self.post(server, body)
            self.assertEqual(400, resp.status, (body, resp))
        status = server.raw_request("GET", "/coffer/seal-status").json()
        self.assertEqual((True, 1), (status["Sealed"], status["Progress"]))
        self.assertNotIn("Nonce", status)
        # The operators finish.
        resp = self.post(server, {"Share": shares[2]})
        self.assertEqual(200, resp.status, resp)
        self.assertFalse(resp.json()["Sealed"])


class RekeyTest(unittest.TestCase):

    def test_an_old_copy_of_root_key_no_longer_opens_the_store(self):
        server = CofferServer()
        self.addCleanup(server.close)
        server.start()
        sm = server.client("secretsmanager")
        sm.create_secret(Name="kept", SecretString="still here")
        key_file = os.path.join(server.data_dir, "root.key")
        with open(key_file) as f:
            old_key = f.read()
        tenant = Tenant(server)
        proc = tenant.operator("rekey", "--seal", "file")
        self.assertIn("AccessDeniedException", proc.stderr, describe(proc))
        proc = run_operator(server, "rekey", "--seal", "file")
        self.assertEqual(0, proc.returncode, describe(proc))
        with open(key_file) as f:
            new_key = f.read()
        self.assertNotEqual(old_key, new_key)
        self.assertEqual("still here", sm.get_secret_value(SecretId="kept")["SecretString"])
        server.stop()
        # Someone restores the copy they took before the rekey.
        with open(key_file, "w") as f:
            f.write(old_key)
        restarted = subprocess.run([coffer_binary(), "server", "--listen", "127.0.0.1:0",
                                    "--data-dir", server.data_dir, *server.store_args],
                                   capture_output=True, text=True, timeout=CLI_TIMEOUT)
        self.assertNotEqual(0, restarted.returncode, describe(restarted))
        self.assertIn("does not open", restarted.stderr)
        with open(key_file, "w") as f:
            f.write(new_key)
        server.start()
        sm = server.client("secretsmanager")
        self.assertEqual("still here", sm.get_secret_value(SecretId="kept")["SecretString"])


class MetricsAccessTest(unittest.TestCase):

    def test_metrics_can_require_a_bearer_token(self):
        tmp = tempfile.mkdtemp(prefix="coffer-metrics-")
        self.addCleanup(shutil.rmtree, tmp, True)
        token_file = os.path.join(tmp, "token")
        token = uuid.uuid4().hex
        with open(token_file, "w") as f:
            f.write(token + "\n")
        server = CofferServer(extra_args=["--metrics-token-file", token_file])
        self.addCleanup(server.close)
        server.start()
        resp = server.raw_request("GET", "/metrics")
        self.assertEqual(401, resp.status, resp)
        self.assertNotIn(b"coffer_", resp.body)
        resp = server.raw_request("GET", "/metrics", headers={"Authorization": "Bearer nope"})
        self.assertEqual(401, resp.status, resp)
        resp = server.raw_request("GET", "/metrics", headers={"Authorization": f"Bearer {token}"})
        self.assertEqual(200, resp.status, resp)
        self.assertIn(b"coffer_metrics_unauthorized_total 2", resp.body)

    def test_metrics_can_move_to_a_separate_address(self):
        server = CofferServer(extra_args=["--metrics-listen", "127.0.0.1:0"])
        self.addCleanup(server.close)
        server.start()
        output = server.wait_for_output("metrics on http://127.0.0.1:")
        m = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", output)
        self.assertIsNotNone(m, output)
        resp = server.raw_request("GET", "/metrics")
        self.assertNotEqual(200, resp.status, resp)
        self.assertNotIn(b"coffer_authz_denials_total", resp.body)
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", int(m.group(1)), timeout=10)
        conn.request("GET", "/metrics")
        got = conn.getresponse()
        body = got.read()
        conn.close()
        self.assertEqual(200, got.status)
        self.assertIn(b"coffer_authz_denials_total", body)


if __name__ == "__main__":
    unittest.main()
