"""End-to-end tests of coffer's identities and policies: IAM, STS, and the AWS policy language
as every service applies it -- driven by boto3 and by the real AWS CLI.

The scenario is the MisterSmith secrets design (seed document, sections "Access Control",
"Secrets Manager Implementation", "Parameter Store Configuration", "Encryption"): the ECS task
roles MisterSmithEcsTaskRole / MisterSmithEcsTaskExecutionRole, the mistersmith/* secrets under
the customer key alias/mistersmith-secrets, the seed's secret resource policy applied verbatim,
and the /mistersmith/production vs /mistersmith/staging parameter hierarchy.

Expected behaviour (AWS's, not coffer's):
  - IAM API reference: https://docs.aws.amazon.com/IAM/latest/APIReference/ (CreateUser,
    CreateAccessKey, UpdateAccessKey, DeleteUser "DeleteConflict", CreatePolicyVersion,
    DeletePolicyVersion, DeletePolicy, SimulateCustomPolicy, SimulatePrincipalPolicy)
  - Policy evaluation logic, incl. cross-account and session policies:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session
  - STS: AssumeRole (ExternalId, Policy, PolicyArns), GetSessionToken ("cannot call ... with
    session credentials"; "cannot call any IAM API operations unless MFA ...")
    https://docs.aws.amazon.com/STS/latest/APIReference/API_GetSessionToken.html
  - Secrets Manager: resource policies, BlockPublicPolicy / PublicPolicyException,
    ValidateResourcePolicy, cross-account access (both sides must allow, key policy too):
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_examples_cross.html
  - KMS key policies, the root-account delegation statement:
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
  - Parameter Store retrieval authorization (GetParametersByPath is authorized on the path):
    https://docs.aws.amazon.com/systems-manager/latest/userguide/ps-retrieval-authorization.html

One coffer server serves the whole module (started in setUpModule); the last test class
(ZzServerOutputTest) stops it and checks that no secret value, secret access key or session
token handed out during the run ever appeared in its stdout/stderr.

Run: COFFER_BIN=$PWD/build/coffer python3 -m unittest test_iam_policies -v   (in this dir)
     (COFFER_E2E_ACCOUNT_ID=<12 digits> runs it under another account id.)
"""

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import (ACCOUNT_ID, DEFAULT_REGION, DEFAULT_SECRET,
                           CofferServer, coffer_binary, error_code, error_message)

CLI_TIMEOUT_SECONDS = 60

# The seed's "Secret Resource Policies" section, verbatim (account id 123456789012 included; it
# is swapped for the deployment's account in code, see seed_resource_policy()).
SEED_RESOURCE_POLICY = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": [
          "arn:aws:iam::123456789012:role/MisterSmithEcsTaskRole",
          "arn:aws:iam::123456789012:role/MisterSmithEcsTaskExecutionRole"
        ]
      },
      "Action": "secretsmanager:GetSecretValue",
      "Resource": "*"
    },
    {
      "Effect": "Deny",
      "Principal": "*",
      "Action": "secretsmanager:DeleteSecret",
      "Resource": "*"
    }
  ]
}"""
SEED_DOC_ACCOUNT_ID = "123456789012"

TASK_ROLE = "MisterSmithEcsTaskRole"
EXECUTION_ROLE = "MisterSmithEcsTaskExecutionRole"
SEED_KEY_ALIAS = "alias/mistersmith-secrets"
CI_USER = "mistersmith-ci"

# The module's server and every credential / secret value handed out while it ran: none of
# them may ever appear in the server's output.
SERVER = None
CANARIES = set()
_SEED = None
_OUTPUT_CHECKED = False


def setUpModule():
    global SERVER
    # COFFER_E2E_ACCOUNT_ID runs the module against another account id (the seed's policy is
    # rewritten for it).
    server = CofferServer(account_id=os.environ.get("COFFER_E2E_ACCOUNT_ID", ACCOUNT_ID))
    unittest.addModuleCleanup(server.close)
    server.start()
    SERVER = server
    CANARIES.add(DEFAULT_SECRET)


def tearDownModule():
    # When the run did not include ZzServerOutputTest (e.g. -k), still check the output.
    if SERVER is not None and not _OUTPUT_CHECKED and not SERVER.closed:
        if SERVER.running():
            SERVER.stop(check=False)
        leaked = [c for c in CANARIES if c and c in SERVER.output_text()]
        if leaked:
            raise AssertionError(f"{len(leaked)} secret(s) appeared in coffer's output")


# =============================================================================================
# Helpers
# =============================================================================================
def acct():
    return SERVER.account_id


def uid():
    return uuid.uuid4().hex[:12]


def secret_value(label):
    """A fresh secret value, remembered as a canary."""
    value = f"{label}-{uuid.uuid4().hex}"
    CANARIES.add(value)
    return value


def root_arn(account=None):
    return f"arn:aws:iam::{account or acct()}:root"


def user_arn(name, account=None):
    return f"arn:aws:iam::{account or acct()}:user/{name}"


def role_arn(name, account=None):
    return f"arn:aws:iam::{account or acct()}:role/{name}"


def secrets_arn_prefix(account=None):
    return f"arn:aws:secretsmanager:{DEFAULT_REGION}:{account or acct()}:secret:"


def parameter_arn(name, account=None):
    return f"arn:aws:ssm:{DEFAULT_REGION}:{account or acct()}:parameter{name}"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource="*", **extra):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **extra)


def deny(action, resource="*", **extra):
    return dict({"Effect": "Deny", "Action": action, "Resource": resource}, **extra)


def trust(*principals, condition=None):
    """A trust policy letting `principals` ({"AWS": ...} / {"Service": ...}) assume the role."""
    statements = []
    for p in principals:
        st = {"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"}
        if condition:
            st["Condition"] = condition
        statements.append(st)
    return {"Version": "2012-10-17", "Statement": statements}


class Creds:
    """An identity's credentials and the clients built from them."""

    def __init__(self, key_id, secret, token=None, arn=None, name=None, account=None):
        self.key_id = key_id
        self.secret = secret
        self.token = token
        self.arn = arn
        self.name = name
        self.account = account
        CANARIES.add(secret)
        if token:
            CANARIES.add(token)

    def client(self, service):
        return SERVER.client(service, key_id=self.key_id, secret=self.secret,
                             session_token=self.token)


ROOT = None  # Creds of the first account's root, set lazily


def root():
    global ROOT
    if ROOT is None:
        ROOT = Creds(SERVER.key_id, SERVER.secret, arn=root_arn(), account=acct())
    return ROOT


def make_user(name, policy_doc=None, iam=None, account=None):
    """A user with one access key and, when given, an inline policy; returns its Creds."""
    iam = iam or root().client("iam")
    created = iam.create_user(UserName=name)["User"]
    key = iam.create_access_key(UserName=name)["AccessKey"]
    if policy_doc is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy_doc)
    return Creds(key["AccessKeyId"], key["SecretAccessKey"], arn=created["Arn"], name=name,
                 account=account or acct())


def creds_from(credentials, arn=None):
    """Creds from an STS <Credentials> structure (boto3 or AWS CLI JSON)."""
    return Creds(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                 credentials["SessionToken"], arn=arn)


def assume(creds, role, session_name, **kwargs):
    resp = creds.client("sts").assume_role(RoleArn=role, RoleSessionName=session_name, **kwargs)
    return creds_from(resp["Credentials"], resp["AssumedRoleUser"]["Arn"]), resp


# ---- the real AWS CLI ------------------------------------------------------------------------
def find_aws_cli():
    for candidate in (os.environ.get("AWS_CLI"), "/usr/bin/aws", shutil.which("aws")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def cli_env(creds):
    """A hermetic environment for the AWS CLI / coffer CLI: only these credentials."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("AWS_") or name.startswith("COFFER_"):
            del env[name]
    env.update({
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_ACCESS_KEY_ID": creds.key_id, "AWS_SECRET_ACCESS_KEY": creds.secret,
        "AWS_DEFAULT_REGION": DEFAULT_REGION, "AWS_REGION": DEFAULT_REGION,
        "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard", "AWS_PAGER": "",
        "AWS_CLI_AUTO_PROMPT": "off", "AWS_DEFAULT_OUTPUT": "json",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    if creds.token:
        env["AWS_SESSION_TOKEN"] = creds.token
    return env


def describe(proc):
    return f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"


def aws_cli(creds, *args):
    """Run `aws ARGS --endpoint-url <server>` as `creds`; returns the CompletedProcess."""
    aws = find_aws_cli()
    if aws is None:  # pragma: no cover - depends on the machine
        raise unittest.SkipTest("no AWS CLI found (set AWS_CLI)")
    return subprocess.run([aws, *args, "--endpoint-url", SERVER.endpoint],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=cli_env(creds), timeout=CLI_TIMEOUT_SECONDS, start_new_session=True)


def aws_cli_json(test, creds, *args):
    proc = aws_cli(creds, *args)
    test.assertEqual(0, proc.returncode, describe(proc))
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


# ---- the seed deployment -----------------------------------------------------------------------
def seed_resource_policy():
    """The seed's resource policy, verbatim but for the account id."""
    return SEED_RESOURCE_POLICY.replace(SEED_DOC_ACCOUNT_ID, acct())


class Seed:
    """The MisterSmith deployment of the seed document, built once per module."""

    def __init__(self):
        iam = root().client("iam")
        sm = root().client("secretsmanager")
        kms = root().client("kms")
        # The CI user: no identity policy at all; the roles' trust policies name it directly.
        self.ci = make_user(CI_USER)
        self.trust_policy = trust({"Service": "ecs-tasks.amazonaws.com"},
                                  {"AWS": user_arn(CI_USER)})
        self.role_policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "ReadMisterSmithSecrets", "Effect": "Allow",
             "Action": "secretsmanager:GetSecretValue",
             "Resource": secrets_arn_prefix() + "mistersmith/*"}]}
        self.roles = {}
        for name in (TASK_ROLE, EXECUTION_ROLE):
            self.roles[name] = iam.create_role(
                RoleName=name, AssumeRolePolicyDocument=json.dumps(self.trust_policy),
                Description=f"MisterSmith {name}")["Role"]
            iam.put_role_policy(RoleName=name, PolicyName="mistersmith-secrets",
                                PolicyDocument=json.dumps(self.role_policy))
        # alias/mistersmith-secrets: root keeps kms:* (so the key stays manageable -- and IAM
        # policies decide for everyone else), the task roles get the crypto operations directly.
        self.key_policy = {"Version": "2012-10-17", "Id": "mistersmith-secrets", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": root_arn()}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "AllowMisterSmithTaskRoles", "Effect": "Allow",
             "Principal": {"AWS": [role_arn(TASK_ROLE), role_arn(EXECUTION_ROLE)]},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:Encrypt"], "Resource": "*"}]}
        self.key = kms.create_key(Description="MisterSmith secrets",
                                  Policy=json.dumps(self.key_policy))["KeyMetadata"]
        kms.create_alias(AliasName=SEED_KEY_ALIAS, TargetKeyId=self.key["KeyId"])
        # The secrets of "Secrets Manager Implementation", encrypted under the customer key.
        self.values = {
            "mistersmith/aurora/master": {
                "username": "mistersmith_admin", "password": secret_value("aurora"),
                "engine": "postgres",
                "host": "mistersmith-aurora-cluster.cluster-xxxxx.us-east-1.rds.amazonaws.com",
                "port": 5432, "dbClusterIdentifier": "mistersmith-aurora-cluster"},
            "mistersmith/app/jwt": {"secret": secret_value("jwt"), "algorithm": "HS256",
                                    "issuer": "mistersmith", "expiry": "1h"},
            "mistersmith/app/encryption": {"masterKey": secret_value("master"),
                                           "algorithm": "AES-256-GCM",
                                           "keyDerivation": "PBKDF2"},
            "mistersmith/external/openai": {"apiKey": secret_value("openai"),
                                            "organizationId": "org-e2e",
                                            "projectId": "proj-e2e"},
            "mistersmith/external/oauth/github": {
                "clientId": "client-e2e", "clientSecret": secret_value("github"),
                "redirectUri": "https://api.mistersmith.ai/auth/github/callback"},
            "mistersmith/amazonmq/credentials": {
                "username": "mistersmith_mq", "password": secret_value("mq"),
                "endpoints": {"amqps": "amqps://b-xxxxx.mq.us-east-1.amazonaws.com:5671",
                              "wss": "wss://b-xxxxx.mq.us-east-1.amazonaws.com:61619"}},
        }
        self.arns = {}
        for name, value in self.values.items():
            self.arns[name] = sm.create_secret(Name=name, SecretString=json.dumps(value),
                                               KmsKeyId=SEED_KEY_ALIAS)["ARN"]

    def string(self, name):
        return json.dumps(self.values[name])


def seed():
    global _SEED
    if _SEED is None:
        _SEED = Seed()
    return _SEED


class PolicyCase(unittest.TestCase):
    maxDiff = None

    def assertClientError(self, code, fn, *args, message=None, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(code, error_code(cm.exception), cm.exception.response)
        if message is not None:
            self.assertIn(message, error_message(cm.exception) or "", cm.exception.response)
        return cm.exception

    def assertAccessDenied(self, fn, *args, message=None, **kwargs):
        """AccessDeniedException (JSON services: Secrets Manager, SSM, KMS)."""
        return self.assertClientError("AccessDeniedException", fn, *args, message=message,
                                      **kwargs)

    def assertNotAuthorized(self, fn, *args, principal, action, because, **kwargs):
        """AWS's denial message: "User: <arn> is not authorized to perform: <action> on
        resource: <arn> because no <policy type> allows ..." / "with an explicit deny in ..."."""
        exc = self.assertAccessDenied(fn, *args, **kwargs)
        msg = error_message(exc)
        self.assertIn(f"User: {principal} is not authorized to perform: {action}", msg)
        self.assertIn(because, msg)
        return exc

    def read(self, creds, secret_id):
        return creds.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]


# =============================================================================================
# 1. IAM basics through boto3
# =============================================================================================
class IamUsersAndAccessKeysTest(PolicyCase):

    def test_user_and_access_key_lifecycle(self):
        iam = root().client("iam")
        name = f"e2e-user-{uid()}"
        user = iam.create_user(UserName=name, Tags=[{"Key": "team", "Value": "platform"}])["User"]
        self.assertEqual(user_arn(name), user["Arn"])
        self.assertEqual("/", user["Path"])
        self.assertRegex(user["UserId"], r"^AIDA[A-Z0-9]{16}$")
        self.assertEqual(user["Arn"], iam.get_user(UserName=name)["User"]["Arn"])
        self.assertIn(name, [u["UserName"] for u in iam.list_users()["Users"]])

        key = iam.create_access_key(UserName=name)["AccessKey"]
        CANARIES.add(key["SecretAccessKey"])
        self.assertRegex(key["AccessKeyId"], r"^AKIA[A-Z0-9]{16}$")
        self.assertEqual(40, len(key["SecretAccessKey"]))
        self.assertEqual("Active", key["Status"])
        self.assertEqual(name, key["UserName"])
        creds = Creds(key["AccessKeyId"], key["SecretAccessKey"])

        # The key works: GetCallerIdentity names the user.
        ident = creds.client("sts").get_caller_identity()
        self.assertEqual(user["Arn"], ident["Arn"])
        self.assertEqual(acct(), ident["Account"])
        self.assertEqual(user["UserId"], ident["UserId"])

        listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        self.assertEqual([(key["AccessKeyId"], "Active")],
                         [(k["AccessKeyId"], k["Status"]) for k in listed])
        self.assertNotIn("SecretAccessKey", listed[0])

        # Inactive: refused by every service as an unknown token.
        iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
        self.assertEqual("Inactive",
                         iam.list_access_keys(UserName=name)["AccessKeyMetadata"][0]["Status"])
        self.assertClientError("InvalidClientTokenId", creds.client("sts").get_caller_identity)
        self.assertClientError("InvalidClientTokenId", creds.client("iam").get_user)
        self.assertClientError("UnrecognizedClientException",
                               creds.client("secretsmanager").list_secrets)
        self.assertClientError("UnrecognizedClientException", creds.client("kms").list_keys)

        # Active again: accepted again.
        iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
        self.assertEqual(user["Arn"], creds.client("sts").get_caller_identity()["Arn"])

        # A user that still has keys cannot be deleted.
        self.assertClientError("DeleteConflict", iam.delete_user, UserName=name)
        iam.get_user(UserName=name)

        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
        self.assertEqual([], iam.list_access_keys(UserName=name)["AccessKeyMetadata"])
        self.assertClientError("InvalidClientTokenId", creds.client("sts").get_caller_identity)
        self.assertClientError("NoSuchEntity", iam.update_access_key, UserName=name,
                               AccessKeyId=key["AccessKeyId"], Status="Active")
        iam.delete_user(UserName=name)
        self.assertClientError("NoSuchEntity", iam.get_user, UserName=name,
                               message=f"The user with name {name} cannot be found.")
        self.assertNotIn(name, [u["UserName"] for u in iam.list_users()["Users"]])

    def test_at_most_two_access_keys(self):
        iam = root().client("iam")
        name = f"e2e-keys-{uid()}"
        iam.create_user(UserName=name)
        for _ in range(2):
            CANARIES.add(iam.create_access_key(UserName=name)["AccessKey"]["SecretAccessKey"])
        self.assertClientError("LimitExceeded", iam.create_access_key, UserName=name)

    def test_user_manages_own_keys_with_username_variable(self):
        iam = root().client("iam")
        name = f"e2e-self-{uid()}"
        creds = make_user(name, policy(allow(
            ["iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey",
             "iam:DeleteAccessKey"], "arn:aws:iam::*:user/${aws:username}")))
        own = creds.client("iam")
        # Without UserName the caller's own keys are meant.
        self.assertEqual([creds.key_id],
                         [k["AccessKeyId"] for k in own.list_access_keys()["AccessKeyMetadata"]])
        second = own.create_access_key()["AccessKey"]
        CANARIES.add(second["SecretAccessKey"])
        self.assertEqual(name, second["UserName"])
        own.delete_access_key(AccessKeyId=second["AccessKeyId"])
        # Someone else's keys: not covered by ${aws:username}.
        other = f"e2e-other-{uid()}"
        iam.create_user(UserName=other)
        self.assertClientError("AccessDenied", own.list_access_keys, UserName=other,
                               message=f"User: {creds.arn} is not authorized to perform: "
                                       f"iam:ListAccessKeys on resource: {user_arn(other)}")
        self.assertClientError("AccessDenied", own.create_access_key, UserName=other)
        self.assertEqual([], iam.list_access_keys(UserName=other)["AccessKeyMetadata"])

    def test_user_without_policies_is_denied_iam(self):
        creds = make_user(f"e2e-nopol-{uid()}")
        exc = self.assertClientError("AccessDenied", creds.client("iam").list_users)
        self.assertIn(f"User: {creds.arn} is not authorized to perform: iam:ListUsers",
                      error_message(exc))
        self.assertClientError("AccessDenied", creds.client("iam").create_user,
                               UserName=f"e2e-escalate-{uid()}")

    def test_entity_already_exists(self):
        iam = root().client("iam")
        n = uid()
        iam.create_user(UserName=f"e2e-dup-{n}")
        self.assertClientError("EntityAlreadyExists", iam.create_user, UserName=f"e2e-dup-{n}")
        iam.create_role(RoleName=f"e2e-dup-{n}",
                        AssumeRolePolicyDocument=json.dumps(trust({"AWS": root_arn()})))
        self.assertClientError("EntityAlreadyExists", iam.create_role, RoleName=f"e2e-dup-{n}",
                               AssumeRolePolicyDocument=json.dumps(trust({"AWS": root_arn()})))
        iam.create_group(GroupName=f"e2e-dup-{n}")
        self.assertClientError("EntityAlreadyExists", iam.create_group, GroupName=f"e2e-dup-{n}")
        iam.create_policy(PolicyName=f"e2e-dup-{n}", PolicyDocument=policy(allow("sts:*")))
        self.assertClientError("EntityAlreadyExists", iam.create_policy,
                               PolicyName=f"e2e-dup-{n}", PolicyDocument=policy(allow("sts:*")))

    def test_no_such_entity(self):
        iam = root().client("iam")
        n = f"e2e-missing-{uid()}"
        self.assertClientError("NoSuchEntity", iam.get_user, UserName=n)
        self.assertClientError("NoSuchEntity", iam.get_role, RoleName=n)
        self.assertClientError("NoSuchEntity", iam.get_group, GroupName=n)
        self.assertClientError("NoSuchEntity", iam.delete_user, UserName=n)
        self.assertClientError("NoSuchEntity", iam.create_access_key, UserName=n)
        self.assertClientError("NoSuchEntity", iam.put_user_policy, UserName=n,
                               PolicyName="p", PolicyDocument=policy(allow("sts:*")))
        self.assertClientError("NoSuchEntity", iam.get_policy,
                               PolicyArn=f"arn:aws:iam::{acct()}:policy/{n}")
        existing = f"e2e-present-{uid()}"
        iam.create_user(UserName=existing)
        self.assertClientError("NoSuchEntity", iam.get_user_policy, UserName=existing,
                               PolicyName="nope")
        self.assertClientError("NoSuchEntity", iam.delete_user_policy, UserName=existing,
                               PolicyName="nope")
        self.assertClientError("NoSuchEntity", iam.attach_user_policy, UserName=existing,
                               PolicyArn=f"arn:aws:iam::{acct()}:policy/{n}")
        # coffer has no AWS-managed policies.
        self.assertClientError("NoSuchEntity", iam.attach_user_policy, UserName=existing,
                               PolicyArn="arn:aws:iam::aws:policy/SecretsManagerReadWrite")


class IamRolesAndPoliciesTest(PolicyCase):

    def test_role_with_trust_policy(self):
        iam = root().client("iam")
        name = f"e2e-role-{uid()}"
        doc = trust({"Service": "ecs-tasks.amazonaws.com"})
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(doc),
                               MaxSessionDuration=7200, Description="e2e")["Role"]
        self.assertEqual(role_arn(name), role["Arn"])
        self.assertRegex(role["RoleId"], r"^AROA[A-Z0-9]{16}$")
        got = iam.get_role(RoleName=name)["Role"]
        self.assertEqual(doc, got["AssumeRolePolicyDocument"])
        self.assertEqual(7200, got["MaxSessionDuration"])
        self.assertIn(name, [r["RoleName"] for r in iam.list_roles()["Roles"]])

        # A user of the account without identity policies may not assume it.
        user = make_user(f"e2e-assumer-{uid()}")
        exc = self.assertClientError("AccessDenied", user.client("sts").assume_role,
                                     RoleArn=role["Arn"], RoleSessionName="s1")
        self.assertIn(f"User: {user.arn} is not authorized to perform: sts:AssumeRole on "
                      f"resource: {role['Arn']}", error_message(exc))
        # Trust the user directly: now it can (no identity policy is needed for that).
        new_doc = trust({"Service": "ecs-tasks.amazonaws.com"}, {"AWS": user.arn})
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(new_doc))
        self.assertEqual(new_doc, iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"])
        session, resp = assume(user, role["Arn"], "s1", DurationSeconds=7200)
        self.assertEqual(f"arn:aws:sts::{acct()}:assumed-role/{name}/s1",
                         resp["AssumedRoleUser"]["Arn"])
        self.assertEqual(f"{role['RoleId']}:s1", resp["AssumedRoleUser"]["AssumedRoleId"])
        self.assertTrue(session.key_id.startswith("ASIA"), session.key_id)
        self.assertEqual(session.arn, session.client("sts").get_caller_identity()["Arn"])
        # Over the role's MaxSessionDuration.
        self.assertClientError("ValidationError", user.client("sts").assume_role,
                               RoleArn=role["Arn"], RoleSessionName="s2", DurationSeconds=7201)

        # A role with inline policies cannot be deleted; without them it can.
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=policy(allow("kms:*")))
        self.assertClientError("DeleteConflict", iam.delete_role, RoleName=name)
        iam.delete_role_policy(RoleName=name, PolicyName="p")
        iam.delete_role(RoleName=name)
        self.assertClientError("NoSuchEntity", iam.get_role, RoleName=name)

    def test_identity_policy_alone_cannot_assume_a_role(self):
        # "Role trust policies and KMS key policies are exceptions to this logic, because they
        # must explicitly allow access for principals" (IAM policy evaluation logic): an
        # identity policy allowing sts:AssumeRole on "*" does not open a role whose trust
        # policy names only ECS tasks.
        iam = root().client("iam")
        name = f"e2e-ecsonly-{uid()}"
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            trust({"Service": "ecs-tasks.amazonaws.com"})))["Role"]
        user = make_user(f"e2e-admin-{uid()}", policy(allow("*")))
        exc = self.assertClientError("AccessDenied", user.client("sts").assume_role,
                                     RoleArn=role["Arn"], RoleSessionName="s1")
        self.assertIn(f"User: {user.arn} is not authorized to perform: sts:AssumeRole on "
                      f"resource: {role['Arn']}", error_message(exc))

    def test_trust_policy_naming_the_account_delegates_to_identity_policies(self):
        iam = root().client("iam")
        name = f"e2e-acctrust-{uid()}"
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            trust({"AWS": root_arn()})))["Role"]
        without = make_user(f"e2e-noassume-{uid()}")
        self.assertClientError("AccessDenied", without.client("sts").assume_role,
                               RoleArn=role["Arn"], RoleSessionName="s1")
        with_policy = make_user(f"e2e-canassume-{uid()}",
                                policy(allow("sts:AssumeRole", role["Arn"])))
        _, resp = assume(with_policy, role["Arn"], "s1")
        self.assertEqual(f"arn:aws:sts::{acct()}:assumed-role/{name}/s1",
                         resp["AssumedRoleUser"]["Arn"])
        # The root user never assumes roles.
        self.assertClientError("AccessDenied", root().client("sts").assume_role,
                               RoleArn=role["Arn"], RoleSessionName="root",
                               message="Roles may not be assumed by root accounts.")

    def test_inline_user_policies_take_effect(self):
        iam = root().client("iam")
        sm = root().client("secretsmanager")
        sname = f"e2e-inline-{uid()}"
        value = secret_value("inline")
        arn = sm.create_secret(Name=sname, SecretString=value)["ARN"]
        user = make_user(f"e2e-inline-user-{uid()}")
        self.assertNotAuthorized(self.read, user, sname, principal=user.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="because no identity-based policy allows")
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn}]}
        iam.put_user_policy(UserName=user.name, PolicyName="read-one",
                            PolicyDocument=json.dumps(doc))
        self.assertEqual(["read-one"], iam.list_user_policies(UserName=user.name)["PolicyNames"])
        self.assertEqual(doc, iam.get_user_policy(UserName=user.name,
                                                  PolicyName="read-one")["PolicyDocument"])
        self.assertEqual(value, self.read(user, sname))
        # An explicit deny in another inline policy wins.
        iam.put_user_policy(UserName=user.name, PolicyName="deny-all",
                            PolicyDocument=policy(deny("secretsmanager:*")))
        self.assertNotAuthorized(self.read, user, sname, principal=user.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="with an explicit deny in an identity-based policy")
        iam.delete_user_policy(UserName=user.name, PolicyName="deny-all")
        self.assertEqual(value, self.read(user, sname))
        iam.delete_user_policy(UserName=user.name, PolicyName="read-one")
        self.assertEqual([], iam.list_user_policies(UserName=user.name)["PolicyNames"])
        self.assertAccessDenied(self.read, user, sname)

    def test_group_policies_apply_to_members(self):
        iam = root().client("iam")
        sm = root().client("secretsmanager")
        sname = f"e2e-group-{uid()}"
        value = secret_value("group")
        sm.create_secret(Name=sname, SecretString=value)
        group = f"e2e-readers-{uid()}"
        iam.create_group(GroupName=group)
        iam.put_group_policy(GroupName=group, PolicyName="read", PolicyDocument=policy(
            allow("secretsmanager:GetSecretValue", secrets_arn_prefix() + sname + "-*")))
        user = make_user(f"e2e-member-{uid()}")
        self.assertAccessDenied(self.read, user, sname)
        iam.add_user_to_group(GroupName=group, UserName=user.name)
        self.assertEqual(value, self.read(user, sname))
        iam.remove_user_from_group(GroupName=group, UserName=user.name)
        self.assertAccessDenied(self.read, user, sname)

    def test_managed_policy_versions_and_attachments(self):
        iam = root().client("iam")
        sm = root().client("secretsmanager")
        one, two = f"e2e-mp-one-{uid()}", f"e2e-mp-two-{uid()}"
        v_one, v_two = secret_value("one"), secret_value("two")
        arn_one = sm.create_secret(Name=one, SecretString=v_one)["ARN"]
        arn_two = sm.create_secret(Name=two, SecretString=v_two)["ARN"]
        doc1 = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn_one}]}
        doc2 = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arn_two}]}
        pname = f"e2e-managed-{uid()}"
        pol = iam.create_policy(PolicyName=pname, PolicyDocument=json.dumps(doc1),
                                Description="e2e")["Policy"]
        parn = pol["Arn"]
        self.assertEqual(f"arn:aws:iam::{acct()}:policy/{pname}", parn)
        self.assertEqual("v1", pol["DefaultVersionId"])
        self.assertEqual(0, pol["AttachmentCount"])

        user = make_user(f"e2e-mpuser-{uid()}")
        iam.attach_user_policy(UserName=user.name, PolicyArn=parn)
        self.assertEqual([parn], [p["PolicyArn"] for p in iam.list_attached_user_policies(
            UserName=user.name)["AttachedPolicies"]])
        self.assertEqual(1, iam.get_policy(PolicyArn=parn)["Policy"]["AttachmentCount"])
        self.assertEqual(v_one, self.read(user, one))
        self.assertAccessDenied(self.read, user, two)

        # v2 becomes the default: the user's permissions follow it.
        v2 = iam.create_policy_version(PolicyArn=parn, PolicyDocument=json.dumps(doc2),
                                       SetAsDefault=True)["PolicyVersion"]
        self.assertEqual("v2", v2["VersionId"])
        self.assertTrue(v2["IsDefaultVersion"])
        versions = {v["VersionId"]: v["IsDefaultVersion"]
                    for v in iam.list_policy_versions(PolicyArn=parn)["Versions"]}
        self.assertEqual({"v1": False, "v2": True}, versions)
        self.assertEqual(doc1, iam.get_policy_version(PolicyArn=parn,
                                                      VersionId="v1")["PolicyVersion"]["Document"])
        self.assertEqual(v_two, self.read(user, two))
        self.assertAccessDenied(self.read, user, one)

        # Back to v1.
        iam.set_default_policy_version(PolicyArn=parn, VersionId="v1")
        self.assertEqual("v1", iam.get_policy(PolicyArn=parn)["Policy"]["DefaultVersionId"])
        self.assertEqual(v_one, self.read(user, one))
        self.assertAccessDenied(self.read, user, two)

        # The default version cannot be deleted; others can.
        self.assertClientError("DeleteConflict", iam.delete_policy_version, PolicyArn=parn,
                               VersionId="v1")
        for _ in range(3):
            iam.create_policy_version(PolicyArn=parn, PolicyDocument=json.dumps(doc2))
        # At most five versions.
        self.assertClientError("LimitExceeded", iam.create_policy_version, PolicyArn=parn,
                               PolicyDocument=json.dumps(doc2))
        iam.delete_policy_version(PolicyArn=parn, VersionId="v2")
        self.assertNotIn("v2", [v["VersionId"]
                                for v in iam.list_policy_versions(PolicyArn=parn)["Versions"]])
        self.assertClientError("NoSuchEntity", iam.get_policy_version, PolicyArn=parn,
                               VersionId="v2")

        # Attached policies block deleting the user and the policy.
        self.assertClientError("DeleteConflict", iam.delete_policy, PolicyArn=parn)
        iam.delete_access_key(UserName=user.name, AccessKeyId=user.key_id)
        self.assertClientError("DeleteConflict", iam.delete_user, UserName=user.name)
        iam.detach_user_policy(UserName=user.name, PolicyArn=parn)
        self.assertEqual([], iam.list_attached_user_policies(
            UserName=user.name)["AttachedPolicies"])
        self.assertClientError("NoSuchEntity", iam.detach_user_policy, UserName=user.name,
                               PolicyArn=parn)
        iam.delete_user(UserName=user.name)

        # Roles too: attach, effective for a session, detach.
        role_name = f"e2e-mprole-{uid()}"
        assumer = make_user(f"e2e-mpassumer-{uid()}")
        iam.create_role(RoleName=role_name,
                        AssumeRolePolicyDocument=json.dumps(trust({"AWS": assumer.arn})))
        iam.attach_role_policy(RoleName=role_name, PolicyArn=parn)
        self.assertEqual([parn], [p["PolicyArn"] for p in iam.list_attached_role_policies(
            RoleName=role_name)["AttachedPolicies"]])
        session, _ = assume(assumer, role_arn(role_name), "mp")
        self.assertEqual(v_one, self.read(session, one))
        self.assertClientError("DeleteConflict", iam.delete_role, RoleName=role_name)
        iam.detach_role_policy(RoleName=role_name, PolicyArn=parn)
        self.assertAccessDenied(self.read, session, one)  # evaluated at request time

        # Non-default versions must go before the policy does (AWS DeletePolicy).
        for v in iam.list_policy_versions(PolicyArn=parn)["Versions"]:
            if not v["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=parn, VersionId=v["VersionId"])
        iam.delete_policy(PolicyArn=parn)
        self.assertClientError("NoSuchEntity", iam.get_policy, PolicyArn=parn)

    def test_malformed_policy_documents(self):
        iam = root().client("iam")
        user = f"e2e-malformed-{uid()}"
        iam.create_user(UserName=user)
        bad_identity = [
            "{not json",
            json.dumps({"Version": "2012-10-17"}),  # no Statement
            json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Maybe", "Action": "sts:*", "Resource": "*"}]}),
            json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Resource": "*"}]}),  # no Action
            json.dumps({"Version": "2012-10-17", "Statement": [  # identity policy + Principal
                {"Effect": "Allow", "Principal": {"AWS": root_arn()}, "Action": "sts:*",
                 "Resource": "*"}]}),
        ]
        for doc in bad_identity:
            with self.subTest(doc=doc):
                self.assertClientError("MalformedPolicyDocument", iam.put_user_policy,
                                       UserName=user, PolicyName="bad", PolicyDocument=doc)
                self.assertClientError("MalformedPolicyDocument", iam.create_policy,
                                       PolicyName=f"e2e-bad-{uid()}", PolicyDocument=doc)
        self.assertEqual([], iam.list_user_policies(UserName=user)["PolicyNames"])
        # A trust policy needs a Principal.
        no_principal = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole"}]})
        rname = f"e2e-badtrust-{uid()}"
        self.assertClientError("MalformedPolicyDocument", iam.create_role, RoleName=rname,
                               AssumeRolePolicyDocument=no_principal)
        self.assertClientError("NoSuchEntity", iam.get_role, RoleName=rname)


class IamSimulationTest(PolicyCase):

    def decisions(self, resp):
        return {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"]
                for r in resp["EvaluationResults"]}

    def test_simulate_custom_policy(self):
        iam = root().client("iam")
        prefix = secrets_arn_prefix()
        allowed_arn, denied_arn = prefix + "mistersmith/app/jwt-AbCdEf", prefix + "other-AbCdEf"
        locked_arn = prefix + "mistersmith/aurora/master-AbCdEf"
        docs = [
            policy(allow(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                         prefix + "mistersmith/*")),
            policy(deny("secretsmanager:GetSecretValue", prefix + "mistersmith/aurora/*")),
        ]
        resp = iam.simulate_custom_policy(
            PolicyInputList=docs,
            ActionNames=["secretsmanager:GetSecretValue", "secretsmanager:DeleteSecret"],
            ResourceArns=[allowed_arn, denied_arn, locked_arn])
        self.assertEqual({
            ("secretsmanager:GetSecretValue", allowed_arn): "allowed",
            ("secretsmanager:GetSecretValue", denied_arn): "implicitDeny",
            ("secretsmanager:GetSecretValue", locked_arn): "explicitDeny",
            ("secretsmanager:DeleteSecret", allowed_arn): "implicitDeny",
            ("secretsmanager:DeleteSecret", denied_arn): "implicitDeny",
            ("secretsmanager:DeleteSecret", locked_arn): "implicitDeny",
        }, self.decisions(resp))
        # The statements that decided are reported for allowed / explicitDeny results.
        by_key = {(r["EvalActionName"], r["EvalResourceName"]): r
                  for r in resp["EvaluationResults"]}
        self.assertTrue(by_key[("secretsmanager:GetSecretValue", allowed_arn)]
                        ["MatchedStatements"])
        self.assertTrue(by_key[("secretsmanager:GetSecretValue", locked_arn)]
                        ["MatchedStatements"])

        # Conditions use the context entries.
        cond = policy(allow("ssm:GetParameter", "*",
                            Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}))
        ok = iam.simulate_custom_policy(
            PolicyInputList=[cond], ActionNames=["ssm:GetParameter"],
            ContextEntries=[{"ContextKeyName": "aws:RequestedRegion",
                             "ContextKeyValues": ["eu-west-1"], "ContextKeyType": "string"}])
        self.assertEqual("allowed", ok["EvaluationResults"][0]["EvalDecision"])
        no = iam.simulate_custom_policy(
            PolicyInputList=[cond], ActionNames=["ssm:GetParameter"],
            ContextEntries=[{"ContextKeyName": "aws:RequestedRegion",
                             "ContextKeyValues": ["us-east-1"], "ContextKeyType": "string"}])
        self.assertEqual("implicitDeny", no["EvaluationResults"][0]["EvalDecision"])

        self.assertClientError("MalformedPolicyDocument", iam.simulate_custom_policy,
                               PolicyInputList=["{nope"], ActionNames=["sts:AssumeRole"])

    def test_simulate_principal_policy(self):
        iam = root().client("iam")
        prefix = secrets_arn_prefix()
        name = f"e2e-sim-{uid()}"
        creds = make_user(name, policy(
            allow("secretsmanager:GetSecretValue", prefix + "mistersmith/*"),
            deny("secretsmanager:GetSecretValue", prefix + "mistersmith/aurora/*")))
        group = f"e2e-simgroup-{uid()}"
        iam.create_group(GroupName=group)
        iam.put_group_policy(GroupName=group, PolicyName="kms",
                             PolicyDocument=policy(allow("kms:Decrypt")))
        iam.add_user_to_group(GroupName=group, UserName=name)
        jwt = prefix + "mistersmith/app/jwt-AbCdEf"
        aurora = prefix + "mistersmith/aurora/master-AbCdEf"
        other = prefix + "unrelated-AbCdEf"
        resp = iam.simulate_principal_policy(
            PolicySourceArn=creds.arn, ActionNames=["secretsmanager:GetSecretValue"],
            ResourceArns=[jwt, aurora, other])
        self.assertEqual({
            ("secretsmanager:GetSecretValue", jwt): "allowed",
            ("secretsmanager:GetSecretValue", aurora): "explicitDeny",
            ("secretsmanager:GetSecretValue", other): "implicitDeny",
        }, self.decisions(resp))
        # Group policies count.
        resp = iam.simulate_principal_policy(PolicySourceArn=creds.arn,
                                             ActionNames=["kms:Decrypt", "kms:Encrypt"])
        self.assertEqual({("kms:Decrypt", "*"): "allowed", ("kms:Encrypt", "*"): "implicitDeny"},
                         self.decisions(resp))
        # A role's policies, with an extra policy added to the simulation.
        rname = f"e2e-simrole-{uid()}"
        iam.create_role(RoleName=rname,
                        AssumeRolePolicyDocument=json.dumps(trust({"AWS": root_arn()})))
        iam.put_role_policy(RoleName=rname, PolicyName="ssm", PolicyDocument=policy(
            allow("ssm:GetParameter", parameter_arn("/mistersmith/production/*"))))
        resp = iam.simulate_principal_policy(
            PolicySourceArn=role_arn(rname), ActionNames=["ssm:GetParameter"],
            ResourceArns=[parameter_arn("/mistersmith/production/config/log_level"),
                          parameter_arn("/mistersmith/staging/config/log_level")],
            PolicyInputList=[policy(deny("ssm:GetParameter",
                                         parameter_arn("/mistersmith/production/config/*")))])
        self.assertEqual({
            ("ssm:GetParameter", parameter_arn("/mistersmith/production/config/log_level")):
                "explicitDeny",
            ("ssm:GetParameter", parameter_arn("/mistersmith/staging/config/log_level")):
                "implicitDeny",
        }, self.decisions(resp))
        self.assertClientError("NoSuchEntity", iam.simulate_principal_policy,
                               PolicySourceArn=user_arn(f"e2e-nobody-{uid()}"),
                               ActionNames=["kms:Decrypt"])


# =============================================================================================
# 2. The seed: the ECS task roles and the mistersmith secrets
# =============================================================================================
class SeedTaskRolesTest(PolicyCase):

    @classmethod
    def setUpClass(cls):
        cls.seed = seed()

    def assertReadsAllSeedSecrets(self, creds):
        for name in self.seed.values:
            with self.subTest(secret=name, principal=creds.arn):
                self.assertEqual(self.seed.string(name), self.read(creds, name))
                # By ARN as well.
                self.assertEqual(self.seed.string(name), self.read(creds, self.seed.arns[name]))

    def test_roles_trust_ecs_tasks_and_the_ci_user(self):
        iam = root().client("iam")
        for name in (TASK_ROLE, EXECUTION_ROLE):
            with self.subTest(role=name):
                role = iam.get_role(RoleName=name)["Role"]
                self.assertEqual(role_arn(name), role["Arn"])
                self.assertEqual(self.seed.trust_policy, role["AssumeRolePolicyDocument"])
                self.assertEqual(["mistersmith-secrets"],
                                 iam.list_role_policies(RoleName=name)["PolicyNames"])
                self.assertEqual(self.seed.role_policy, iam.get_role_policy(
                    RoleName=name, PolicyName="mistersmith-secrets")["PolicyDocument"])

    def test_ci_assumes_task_role_with_aws_cli(self):
        out = aws_cli_json(self, self.seed.ci, "sts", "assume-role", "--role-arn",
                           role_arn(TASK_ROLE), "--role-session-name", "ci-cli",
                           "--duration-seconds", "900")
        session_arn = f"arn:aws:sts::{acct()}:assumed-role/{TASK_ROLE}/ci-cli"
        self.assertEqual(session_arn, out["AssumedRoleUser"]["Arn"])
        self.assertEqual(f"{self.seed.roles[TASK_ROLE]['RoleId']}:ci-cli",
                         out["AssumedRoleUser"]["AssumedRoleId"])
        session = creds_from(out["Credentials"], session_arn)
        self.assertRegex(session.key_id, r"^ASIA[A-Z0-9]{16}$")
        # The CLI itself, signing with the session token, sees the assumed-role identity...
        ident = aws_cli_json(self, session, "sts", "get-caller-identity")
        self.assertEqual(session_arn, ident["Arn"])
        self.assertEqual(acct(), ident["Account"])
        got = aws_cli_json(self, session, "secretsmanager", "get-secret-value", "--secret-id",
                           "mistersmith/app/jwt")
        self.assertEqual(self.seed.string("mistersmith/app/jwt"), got["SecretString"])
        # ... and so does boto3 with the same credentials.
        self.assertEqual(session_arn, session.client("sts").get_caller_identity()["Arn"])
        self.assertReadsAllSeedSecrets(session)

    def test_ci_assumes_execution_role_with_boto3(self):
        session, resp = assume(self.seed.ci, role_arn(EXECUTION_ROLE), "ci-boto3")
        session_arn = f"arn:aws:sts::{acct()}:assumed-role/{EXECUTION_ROLE}/ci-boto3"
        self.assertEqual(session_arn, resp["AssumedRoleUser"]["Arn"])
        self.assertEqual(session_arn, session.client("sts").get_caller_identity()["Arn"])
        self.assertReadsAllSeedSecrets(session)
        # The role reads the mistersmith secrets only.
        other = f"e2e-not-mistersmith-{uid()}"
        root().client("secretsmanager").create_secret(Name=other,
                                                      SecretString=secret_value("other"))
        self.assertNotAuthorized(self.read, session, other, principal=session_arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="because no identity-based policy allows")
        # Nor may it write them.
        self.assertAccessDenied(session.client("secretsmanager").put_secret_value,
                                SecretId="mistersmith/app/jwt", SecretString="overwritten")

    def test_ci_user_itself_cannot_read_secrets(self):
        self.assertNotAuthorized(self.read, self.seed.ci, "mistersmith/app/jwt",
                                 principal=user_arn(CI_USER),
                                 action="secretsmanager:GetSecretValue",
                                 because="because no identity-based policy allows")

    def test_users_not_in_the_trust_policy_cannot_assume(self):
        outsider = make_user(f"e2e-outsider-{uid()}", policy(allow("sts:AssumeRole")))
        for name in (TASK_ROLE, EXECUTION_ROLE):
            with self.subTest(role=name):
                self.assertClientError("AccessDenied", outsider.client("sts").assume_role,
                                       RoleArn=role_arn(name), RoleSessionName="sneaky")

    def test_role_session_may_not_reassume_without_trust(self):
        # Role chaining needs the target's trust policy to name the session's role.
        session, _ = assume(self.seed.ci, role_arn(TASK_ROLE), "chain")
        self.assertClientError("AccessDenied", session.client("sts").assume_role,
                               RoleArn=role_arn(EXECUTION_ROLE), RoleSessionName="chained")


# =============================================================================================
# 3. The seed's resource policy, verbatim
# =============================================================================================
class SeedResourcePolicyTest(PolicyCase):
    SECRET = "mistersmith/aurora/master"

    @classmethod
    def setUpClass(cls):
        cls.seed = seed()
        cls.sm = root().client("secretsmanager")
        cls.policy_text = seed_resource_policy()
        # BlockPublicPolicy: the Deny to "*" is not public access, so it is accepted.
        resp = cls.sm.put_resource_policy(SecretId=cls.SECRET, ResourcePolicy=cls.policy_text,
                                          BlockPublicPolicy=True)
        cls.put_response = resp

    def test_policy_is_stored(self):
        self.assertEqual(self.seed.arns[self.SECRET], self.put_response["ARN"])
        self.assertEqual(self.SECRET, self.put_response["Name"])
        got = self.sm.get_resource_policy(SecretId=self.SECRET)
        self.assertEqual(json.loads(self.policy_text), json.loads(got["ResourcePolicy"]))
        if acct() != SEED_DOC_ACCOUNT_ID:
            self.assertNotIn(SEED_DOC_ACCOUNT_ID, got["ResourcePolicy"])
        self.assertIn(role_arn(TASK_ROLE), got["ResourcePolicy"])

    def test_delete_is_denied_even_to_the_account_root(self):
        for kwargs in ({}, {"RecoveryWindowInDays": 7}, {"ForceDeleteWithoutRecovery": True}):
            with self.subTest(**kwargs):
                self.assertNotAuthorized(
                    self.sm.delete_secret, SecretId=self.SECRET, principal=root_arn(),
                    action="secretsmanager:DeleteSecret",
                    because="with an explicit deny in a resource-based policy", **kwargs)
        described = self.sm.describe_secret(SecretId=self.SECRET)
        self.assertNotIn("DeletedDate", described)
        self.assertEqual(self.seed.string(self.SECRET), self.read(root(), self.SECRET))

    def test_delete_is_denied_to_the_task_roles(self):
        session, _ = assume(self.seed.ci, role_arn(TASK_ROLE), "delete-attempt")
        self.assertNotAuthorized(
            session.client("secretsmanager").delete_secret, SecretId=self.SECRET,
            ForceDeleteWithoutRecovery=True, principal=session.arn,
            action="secretsmanager:DeleteSecret", because="explicit deny in a resource-based policy")

    def test_both_task_roles_read_the_secret(self):
        for name in (TASK_ROLE, EXECUTION_ROLE):
            with self.subTest(role=name):
                session, _ = assume(self.seed.ci, role_arn(name), "rp-read")
                self.assertEqual(self.seed.string(self.SECRET), self.read(session, self.SECRET))

    def test_unrelated_user_without_policies_is_denied(self):
        user = make_user(f"e2e-unrelated-{uid()}")
        self.assertNotAuthorized(self.read, user, self.SECRET, principal=user.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="because no identity-based policy allows")
        # Even with delete permission in its identity policy, the resource policy denies.
        iam = root().client("iam")
        iam.put_user_policy(UserName=user.name, PolicyName="delete",
                            PolicyDocument=policy(allow("secretsmanager:DeleteSecret")))
        self.assertNotAuthorized(user.client("secretsmanager").delete_secret,
                                 SecretId=self.SECRET, principal=user.arn,
                                 action="secretsmanager:DeleteSecret",
                                 because="with an explicit deny in a resource-based policy")

    def test_validate_resource_policy_accepts_the_seed_policy(self):
        resp = self.sm.validate_resource_policy(SecretId=self.SECRET,
                                                ResourcePolicy=self.policy_text)
        self.assertIs(True, resp["PolicyValidationPassed"], resp)
        self.assertEqual([], resp.get("ValidationErrors", []))


# =============================================================================================
# 4. The seed's KMS key policy (alias/mistersmith-secrets)
# =============================================================================================
class SeedKmsKeyPolicyTest(PolicyCase):
    SECRET = "mistersmith/external/openai"

    @classmethod
    def setUpClass(cls):
        cls.seed = seed()
        cls.kms = root().client("kms")

    def test_key_alias_and_policy(self):
        md = self.kms.describe_key(KeyId=SEED_KEY_ALIAS)["KeyMetadata"]
        self.assertEqual(self.seed.key["Arn"], md["Arn"])
        self.assertEqual("CUSTOMER", md["KeyManager"])
        # The seed secrets are encrypted under it (DescribeSecret omits KmsKeyId for the
        # default aws/secretsmanager key).
        sm = root().client("secretsmanager")
        for name in self.seed.values:
            kms_key_id = sm.describe_secret(SecretId=name).get("KmsKeyId")
            self.assertIn(kms_key_id, (SEED_KEY_ALIAS, md["KeyId"], md["Arn"],
                                       f"arn:aws:kms:{DEFAULT_REGION}:{acct()}:{SEED_KEY_ALIAS}"),
                          name)
        got = self.kms.get_key_policy(KeyId=self.seed.key["KeyId"], PolicyName="default")
        self.assertEqual(self.seed.key_policy, json.loads(got["Policy"]))
        # The root keeps managing the key through the kms:* statement.
        self.kms.tag_resource(KeyId=self.seed.key["KeyId"],
                              Tags=[{"TagKey": "app", "TagValue": "mistersmith"}])
        self.kms.update_key_description(KeyId=self.seed.key["KeyId"],
                                        Description="MisterSmith secrets")

    def test_identity_policy_without_kms_gets_access_to_kms_not_allowed(self):
        iam = root().client("iam")
        ops = make_user(f"mistersmith-ops-{uid()}", policy(
            allow("secretsmanager:GetSecretValue", secrets_arn_prefix() + "mistersmith/*")))
        exc = self.assertAccessDenied(self.read, ops, self.SECRET)
        self.assertEqual("Access to KMS is not allowed", error_message(exc))
        # The key policy delegates to the account: an IAM policy allowing kms:Decrypt on the
        # key is enough for anyone else of the account.
        iam.put_user_policy(UserName=ops.name, PolicyName="kms", PolicyDocument=policy(
            allow("kms:Decrypt", self.seed.key["Arn"])))
        self.assertEqual(self.seed.string(self.SECRET), self.read(ops, self.SECRET))
        # Decrypt for another key does not count.
        iam.put_user_policy(UserName=ops.name, PolicyName="kms", PolicyDocument=policy(
            allow("kms:Decrypt", f"arn:aws:kms:{DEFAULT_REGION}:{acct()}:key/{uuid.uuid4()}")))
        exc = self.assertAccessDenied(self.read, ops, self.SECRET)
        self.assertEqual("Access to KMS is not allowed", error_message(exc))

    def test_role_without_key_policy_grant_gets_access_to_kms_not_allowed(self):
        iam = root().client("iam")
        name = f"MisterSmithBatchRole-{uid()}"
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            trust({"AWS": user_arn(CI_USER)})))
        iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps(
            self.seed.role_policy))
        session, _ = assume(self.seed.ci, role_arn(name), "batch")
        exc = self.assertAccessDenied(self.read, session, self.SECRET)
        self.assertEqual("Access to KMS is not allowed", error_message(exc))

    def test_task_roles_read_and_use_the_key_directly(self):
        for name in (TASK_ROLE, EXECUTION_ROLE):
            with self.subTest(role=name):
                session, _ = assume(self.seed.ci, role_arn(name), "kms")
                self.assertEqual(self.seed.string(self.SECRET), self.read(session, self.SECRET))
                kms = session.client("kms")
                plaintext = secret_value("kms-direct").encode()
                blob = kms.encrypt(KeyId=SEED_KEY_ALIAS, Plaintext=plaintext)["CiphertextBlob"]
                out = kms.decrypt(CiphertextBlob=blob)
                self.assertEqual(plaintext, out["Plaintext"])
                self.assertEqual(self.seed.key["Arn"], out["KeyId"])
                dk = kms.generate_data_key(KeyId=SEED_KEY_ALIAS, KeySpec="AES_256")
                self.assertEqual(32, len(dk["Plaintext"]))
                # Only the crypto operations: the roles do not manage the key.
                self.assertAccessDenied(kms.schedule_key_deletion, KeyId=self.seed.key["KeyId"],
                                        PendingWindowInDays=7)
                self.assertAccessDenied(kms.put_key_policy, KeyId=self.seed.key["KeyId"],
                                        PolicyName="default", Policy=json.dumps(
                                            self.seed.key_policy))
        self.assertEqual("Enabled", self.kms.describe_key(
            KeyId=self.seed.key["KeyId"])["KeyMetadata"]["KeyState"])

    def test_direct_decrypt_by_unauthorized_user_is_denied(self):
        plaintext = secret_value("kms-cli").encode()
        blob = self.kms.encrypt(KeyId=SEED_KEY_ALIAS, Plaintext=plaintext)["CiphertextBlob"]
        user = make_user(f"e2e-nokms-{uid()}")
        exc = self.assertAccessDenied(user.client("kms").decrypt, CiphertextBlob=blob)
        self.assertIn(f"User: {user.arn} is not authorized to perform: kms:Decrypt",
                      error_message(exc))
        # The same through the AWS CLI.
        with tempfile.NamedTemporaryFile(prefix="coffer-e2e-blob-", suffix=".bin") as f:
            f.write(blob)
            f.flush()
            proc = aws_cli(user, "kms", "decrypt", "--ciphertext-blob", f"fileb://{f.name}")
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("AccessDeniedException", proc.stderr, describe(proc))
        self.assertNotIn(plaintext.decode(), proc.stdout)
        # A task role decrypts the same blob through the CLI.
        session, _ = assume(self.seed.ci, role_arn(TASK_ROLE), "kms-cli")
        with tempfile.NamedTemporaryFile(prefix="coffer-e2e-blob-", suffix=".bin") as f:
            f.write(blob)
            f.flush()
            out = aws_cli_json(self, session, "kms", "decrypt", "--ciphertext-blob",
                               f"fileb://{f.name}")
        self.assertEqual(plaintext, base64.b64decode(out["Plaintext"]))


# =============================================================================================
# 5. Session policies
# =============================================================================================
class SessionPolicyTest(PolicyCase):

    @classmethod
    def setUpClass(cls):
        iam = root().client("iam")
        sm = root().client("secretsmanager")
        n = uid()
        cls.alpha, cls.beta, cls.gamma = (f"session-alpha-{n}", f"session-beta-{n}",
                                          f"session-gamma-{n}")
        cls.values = {s: secret_value(s) for s in (cls.alpha, cls.beta, cls.gamma)}
        cls.arns = {s: sm.create_secret(Name=s, SecretString=v)["ARN"]
                    for s, v in cls.values.items()}
        cls.user = make_user(f"e2e-session-ci-{n}")
        cls.role = f"e2e-session-role-{n}"
        iam.create_role(RoleName=cls.role, AssumeRolePolicyDocument=json.dumps(
            trust({"AWS": cls.user.arn})))
        iam.put_role_policy(RoleName=cls.role, PolicyName="alpha-beta", PolicyDocument=policy(
            allow("secretsmanager:GetSecretValue", [cls.arns[cls.alpha], cls.arns[cls.beta]])))

    def test_without_session_policy_the_role_reads_both(self):
        session, resp = assume(self.user, role_arn(self.role), "plain")
        self.assertEqual(0, resp.get("PackedPolicySize", 0))
        self.assertEqual(self.values[self.alpha], self.read(session, self.alpha))
        self.assertEqual(self.values[self.beta], self.read(session, self.beta))
        self.assertAccessDenied(self.read, session, self.gamma)

    def test_inline_session_policy_limits_to_one_secret(self):
        session, resp = assume(self.user, role_arn(self.role), "inline", Policy=policy(
            allow("secretsmanager:GetSecretValue", self.arns[self.alpha])))
        self.assertGreater(resp["PackedPolicySize"], 0)
        self.assertEqual(self.values[self.alpha], self.read(session, self.alpha))
        self.assertNotAuthorized(self.read, session, self.beta, principal=session.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="because no session policy allows")
        # Another session of the same role is not affected.
        plain, _ = assume(self.user, role_arn(self.role), "plain2")
        self.assertEqual(self.values[self.beta], self.read(plain, self.beta))

    def test_session_policy_cannot_widen_the_role(self):
        session, _ = assume(self.user, role_arn(self.role), "wide",
                            Policy=policy(allow("secretsmanager:*")))
        self.assertEqual(self.values[self.beta], self.read(session, self.beta))
        self.assertNotAuthorized(self.read, session, self.gamma, principal=session.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="because no identity-based policy allows")
        self.assertAccessDenied(session.client("secretsmanager").delete_secret,
                                SecretId=self.alpha)

    def test_session_policy_deny_wins(self):
        session, _ = assume(self.user, role_arn(self.role), "deny", Policy=policy(
            allow("secretsmanager:GetSecretValue"),
            deny("secretsmanager:GetSecretValue", self.arns[self.alpha])))
        self.assertEqual(self.values[self.beta], self.read(session, self.beta))
        self.assertNotAuthorized(self.read, session, self.alpha, principal=session.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="with an explicit deny in a session policy")

    def test_managed_session_policy_arns(self):
        iam = root().client("iam")
        parn = iam.create_policy(PolicyName=f"e2e-session-beta-{uid()}", PolicyDocument=policy(
            allow("secretsmanager:GetSecretValue", self.arns[self.beta])))["Policy"]["Arn"]
        session, _ = assume(self.user, role_arn(self.role), "managed",
                            PolicyArns=[{"arn": parn}])
        self.assertEqual(self.values[self.beta], self.read(session, self.beta))
        self.assertNotAuthorized(self.read, session, self.alpha, principal=session.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="because no session policy allows")

    def test_malformed_session_policy(self):
        self.assertClientError("MalformedPolicyDocument", self.user.client("sts").assume_role,
                               RoleArn=role_arn(self.role), RoleSessionName="bad",
                               Policy="{not json")


# =============================================================================================
# 6. ExternalId in a trust policy
# =============================================================================================
class ExternalIdTest(PolicyCase):
    EXTERNAL_ID = "mistersmith-vendor-7f3a"

    @classmethod
    def setUpClass(cls):
        iam = root().client("iam")
        n = uid()
        cls.vendor = make_user(f"e2e-vendor-{n}")
        cls.role = f"e2e-vendor-role-{n}"
        iam.create_role(RoleName=cls.role, AssumeRolePolicyDocument=json.dumps(trust(
            {"AWS": cls.vendor.arn},
            condition={"StringEquals": {"sts:ExternalId": cls.EXTERNAL_ID}})))

    def test_without_external_id_is_denied(self):
        exc = self.assertClientError("AccessDenied", self.vendor.client("sts").assume_role,
                                     RoleArn=role_arn(self.role), RoleSessionName="noext")
        self.assertIn(f"User: {self.vendor.arn} is not authorized to perform: sts:AssumeRole on "
                      f"resource: {role_arn(self.role)}", error_message(exc))

    def test_wrong_external_id_is_denied(self):
        self.assertClientError("AccessDenied", self.vendor.client("sts").assume_role,
                               RoleArn=role_arn(self.role), RoleSessionName="wrong",
                               ExternalId="mistersmith-vendor-0000")
        proc = aws_cli(self.vendor, "sts", "assume-role", "--role-arn", role_arn(self.role),
                       "--role-session-name", "wrong-cli", "--external-id", "wrong-id")
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("AccessDenied", proc.stderr, describe(proc))
        self.assertNotIn("SecretAccessKey", proc.stdout)

    def test_right_external_id_is_allowed(self):
        session, resp = assume(self.vendor, role_arn(self.role), "right",
                               ExternalId=self.EXTERNAL_ID)
        self.assertEqual(f"arn:aws:sts::{acct()}:assumed-role/{self.role}/right",
                         session.client("sts").get_caller_identity()["Arn"])
        out = aws_cli_json(self, self.vendor, "sts", "assume-role", "--role-arn",
                           role_arn(self.role), "--role-session-name", "right-cli",
                           "--external-id", self.EXTERNAL_ID)
        creds_from(out["Credentials"])  # remember them as canaries
        self.assertEqual(f"arn:aws:sts::{acct()}:assumed-role/{self.role}/right-cli",
                         out["AssumedRoleUser"]["Arn"])


# =============================================================================================
# 7. Cross-account access
# =============================================================================================
CREATED_RE = re.compile(r"coffer: created account (\d{12})")
KEY_ID_RE = re.compile(r"Root access key id: (AKIA[A-Z0-9]{16})")
SECRET_RE = re.compile(r"Root secret access key: (\S+)")


def create_account(creds):
    env = cli_env(creds)
    return subprocess.run([coffer_binary(), "operator", "create-account", "--endpoint",
                           SERVER.endpoint], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env, timeout=CLI_TIMEOUT_SECONDS, start_new_session=True)


class CrossAccountTest(PolicyCase):

    @classmethod
    def setUpClass(cls):
        proc = create_account(root())
        if proc.returncode != 0:
            raise AssertionError(f"coffer operator create-account failed: {describe(proc)}")
        m, k, s = CREATED_RE.search(proc.stdout), KEY_ID_RE.search(proc.stdout), \
            SECRET_RE.search(proc.stdout)
        if not (m and k and s):
            raise AssertionError(f"unexpected create-account output: {describe(proc)}")
        cls.b_id = m.group(1)
        cls.b_root = Creds(k.group(1), s.group(1), arn=root_arn(cls.b_id), account=cls.b_id)
        cls.a_id = acct()

        # In A: the user 'reader'.
        cls.reader = make_user("reader")
        # In B: a customer key whose policy lets A's reader decrypt, a secret under it, a user.
        b_kms = cls.b_root.client("kms")
        cls.b_key_policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": root_arn(cls.b_id)}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "AllowReaderInAccountA", "Effect": "Allow",
             "Principal": {"AWS": user_arn("reader", cls.a_id)}, "Action": "kms:Decrypt",
             "Resource": "*"}]}
        cls.b_key = b_kms.create_key(Description="shared with account A",
                                     Policy=json.dumps(cls.b_key_policy))["KeyMetadata"]
        cls.b_secret_name = f"shared/db-{uid()}"
        cls.b_value = secret_value("cross-account")
        cls.b_secret_arn = cls.b_root.client("secretsmanager").create_secret(
            Name=cls.b_secret_name, SecretString=cls.b_value,
            KmsKeyId=cls.b_key["Arn"])["ARN"]
        cls.b_user = make_user("b-app", policy(
            allow("secretsmanager:GetSecretValue", cls.b_secret_arn),
            allow("kms:Decrypt", cls.b_key["Arn"])), iam=cls.b_root.client("iam"),
            account=cls.b_id)

    def reader_policy(self):
        return policy(allow("secretsmanager:GetSecretValue", self.b_secret_arn),
                      allow("kms:Decrypt", self.b_key["Arn"]))

    def test_account_b_is_separate(self):
        self.assertNotEqual(self.a_id, self.b_id)
        self.assertEqual(root_arn(self.b_id),
                         self.b_root.client("sts").get_caller_identity()["Arn"])
        self.assertEqual(user_arn("b-app", self.b_id),
                         self.b_user.client("sts").get_caller_identity()["Arn"])
        self.assertTrue(self.b_secret_arn.startswith(secrets_arn_prefix(self.b_id)),
                        self.b_secret_arn)
        self.assertEqual(self.b_key["AWSAccountId"], self.b_id)
        # B's user reads B's secret (identity policy + key policy delegation in B).
        self.assertEqual(self.b_value, self.read(self.b_user, self.b_secret_name))
        # Each account lists only its own secrets.
        a_names = {s["Name"] for s in root().client("secretsmanager").list_secrets(
            MaxResults=100)["SecretList"]}
        self.assertNotIn(self.b_secret_name, a_names)
        b_names = {s["Name"] for s in self.b_root.client("secretsmanager").list_secrets(
            MaxResults=100)["SecretList"]}
        self.assertEqual({self.b_secret_name}, b_names)
        # By name, A's root does not even see B's secret (names resolve in the caller's account).
        self.assertClientError("ResourceNotFoundException",
                               root().client("secretsmanager").describe_secret,
                               SecretId=self.b_secret_name)
        # IAM is per account: 'reader' exists in A only.
        self.assertClientError("NoSuchEntity", self.b_root.client("iam").get_user,
                               UserName="reader")

    def test_both_sides_must_allow(self):
        iam = root().client("iam")
        b_sm = self.b_root.client("secretsmanager")
        iam.put_user_policy(UserName="reader", PolicyName="read-b",
                            PolicyDocument=self.reader_policy())
        try:
            # (a) No resource policy in B: denied although A's identity policy allows.
            self.assertNotAuthorized(self.read, self.reader, self.b_secret_arn,
                                     principal=self.reader.arn,
                                     action="secretsmanager:GetSecretValue",
                                     because="because no resource-based policy allows")
            # (b) B's resource policy names A's reader: allowed.
            b_sm.put_resource_policy(SecretId=self.b_secret_arn, BlockPublicPolicy=True,
                                     ResourcePolicy=policy(
                                         {"Effect": "Allow",
                                          "Principal": {"AWS": user_arn("reader", self.a_id)},
                                          "Action": "secretsmanager:GetSecretValue",
                                          "Resource": "*"}))
            self.assertEqual(self.b_value, self.read(self.reader, self.b_secret_arn))
            # Only what the resource policy grants: not DescribeSecret, not A's root.
            self.assertAccessDenied(self.reader.client("secretsmanager").describe_secret,
                                    SecretId=self.b_secret_arn)
            self.assertNotAuthorized(self.read, root(), self.b_secret_arn,
                                     principal=root_arn(self.a_id),
                                     action="secretsmanager:GetSecretValue",
                                     because="because no resource-based policy allows")
            # (c) Without the identity policy in A: denied again.
            iam.delete_user_policy(UserName="reader", PolicyName="read-b")
            self.assertNotAuthorized(self.read, self.reader, self.b_secret_arn,
                                     principal=self.reader.arn,
                                     action="secretsmanager:GetSecretValue",
                                     because="because no identity-based policy allows")
            # The key policy of B must allow too: with the identity policy back but the key
            # grant for A's reader removed from B's key policy, KMS refuses.
            iam.put_user_policy(UserName="reader", PolicyName="read-b",
                                PolicyDocument=self.reader_policy())
            self.assertEqual(self.b_value, self.read(self.reader, self.b_secret_arn))
            b_only = dict(self.b_key_policy, Statement=self.b_key_policy["Statement"][:1])
            self.b_root.client("kms").put_key_policy(KeyId=self.b_key["KeyId"],
                                                     PolicyName="default",
                                                     Policy=json.dumps(b_only))
            try:
                exc = self.assertAccessDenied(self.read, self.reader, self.b_secret_arn)
                self.assertEqual("Access to KMS is not allowed", error_message(exc))
            finally:
                self.b_root.client("kms").put_key_policy(
                    KeyId=self.b_key["KeyId"], PolicyName="default",
                    Policy=json.dumps(self.b_key_policy))
            self.assertEqual(self.b_value, self.read(self.reader, self.b_secret_arn))
        finally:
            try:
                iam.delete_user_policy(UserName="reader", PolicyName="read-b")
            except ClientError:
                pass
            b_sm.delete_resource_policy(SecretId=self.b_secret_arn)

    def test_account_root_delegation_in_resource_policy(self):
        # B names account A (its root ARN): A's identity policies then decide who in A may.
        iam = root().client("iam")
        b_sm = self.b_root.client("secretsmanager")
        b_sm.put_resource_policy(SecretId=self.b_secret_arn, ResourcePolicy=policy(
            {"Effect": "Allow", "Principal": {"AWS": root_arn(self.a_id)},
             "Action": "secretsmanager:GetSecretValue", "Resource": "*"}))
        other = make_user(f"e2e-a-other-{uid()}")
        try:
            self.assertNotAuthorized(self.read, other, self.b_secret_arn, principal=other.arn,
                                     action="secretsmanager:GetSecretValue",
                                     because="because no identity-based policy allows")
            iam.put_user_policy(UserName="reader", PolicyName="read-b",
                                PolicyDocument=self.reader_policy())
            self.assertEqual(self.b_value, self.read(self.reader, self.b_secret_arn))
        finally:
            try:
                iam.delete_user_policy(UserName="reader", PolicyName="read-b")
            except ClientError:
                pass
            b_sm.delete_resource_policy(SecretId=self.b_secret_arn)

    def test_b_cannot_read_a_without_a_resource_policy(self):
        a_sm = root().client("secretsmanager")
        name = f"a-private-{uid()}"
        arn = a_sm.create_secret(Name=name, SecretString=secret_value("a-private"))["ARN"]
        self.assertNotAuthorized(self.read, self.b_root, arn, principal=root_arn(self.b_id),
                                 action="secretsmanager:GetSecretValue",
                                 because="because no resource-based policy allows")
        self.assertAccessDenied(self.b_root.client("secretsmanager").delete_secret,
                                SecretId=arn, ForceDeleteWithoutRecovery=True)
        a_sm.describe_secret(SecretId=name)

    def test_kms_key_of_b_used_directly_from_a(self):
        # KMS keys are shared across accounts by key policy + the caller's IAM policy, and are
        # addressed by key ARN (DescribeKey, Encrypt) or by the ciphertext (Decrypt).
        # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html
        iam = root().client("iam")
        blob = self.b_root.client("kms").encrypt(
            KeyId=self.b_key["KeyId"], Plaintext=b"cross-account")["CiphertextBlob"]
        kms = self.reader.client("kms")
        iam.put_user_policy(UserName="reader", PolicyName="kms-b", PolicyDocument=policy(
            allow(["kms:Decrypt", "kms:DescribeKey"], self.b_key["Arn"])))
        try:
            self.assertEqual(b"cross-account", kms.decrypt(CiphertextBlob=blob)["Plaintext"])
            # B's key policy grants the reader Decrypt only.
            self.assertAccessDenied(kms.describe_key, KeyId=self.b_key["Arn"])
            self.assertAccessDenied(kms.encrypt, KeyId=self.b_key["Arn"], Plaintext=b"x")
        finally:
            iam.delete_user_policy(UserName="reader", PolicyName="kms-b")
        # Without the identity policy in A, B's key policy alone is not enough.
        self.assertAccessDenied(kms.decrypt, CiphertextBlob=blob)

    def test_create_account_needs_the_first_accounts_root(self):
        proc = create_account(self.reader)
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIsNone(SECRET_RE.search(proc.stdout), describe(proc))
        proc = create_account(self.b_root)
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIsNone(SECRET_RE.search(proc.stdout), describe(proc))


# =============================================================================================
# 8. GetSessionToken
# =============================================================================================
class SessionTokenTest(PolicyCase):

    def test_session_token_carries_the_users_policies(self):
        sm = root().client("secretsmanager")
        iam = root().client("iam")
        n = uid()
        mine, theirs = f"gst-mine-{n}", f"gst-theirs-{n}"
        v_mine = secret_value("gst")
        arn_mine = sm.create_secret(Name=mine, SecretString=v_mine)["ARN"]
        sm.create_secret(Name=theirs, SecretString=secret_value("gst-other"))
        user = make_user(f"e2e-gst-{n}", policy(
            allow("secretsmanager:GetSecretValue", arn_mine),
            allow("iam:GetUser", "arn:aws:iam::*:user/${aws:username}")))
        resp = user.client("sts").get_session_token(DurationSeconds=900)
        session = creds_from(resp["Credentials"], user.arn)
        self.assertRegex(session.key_id, r"^ASIA[A-Z0-9]{16}$")
        self.assertNotEqual(user.key_id, session.key_id)

        ident = session.client("sts").get_caller_identity()
        self.assertEqual(user.arn, ident["Arn"])
        self.assertEqual(acct(), ident["Account"])
        self.assertEqual(v_mine, self.read(session, mine))
        self.assertNotAuthorized(self.read, session, theirs, principal=user.arn,
                                 action="secretsmanager:GetSecretValue",
                                 because="because no identity-based policy allows")
        # Policies are the user's at request time.
        iam.delete_user_policy(UserName=user.name, PolicyName="inline")
        self.assertAccessDenied(self.read, session, mine)
        iam.put_user_policy(UserName=user.name, PolicyName="inline", PolicyDocument=policy(
            allow("secretsmanager:GetSecretValue", arn_mine)))
        self.assertEqual(v_mine, self.read(session, mine))

        # Not with session credentials (boto3 and AWS CLI).
        self.assertClientError("AccessDenied", session.client("sts").get_session_token,
                               message="Cannot call GetSessionToken with session credentials")
        proc = aws_cli(session, "sts", "get-session-token")
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("AccessDenied", proc.stderr, describe(proc))

        # Session credentials from an assumed role are refused too.
        role = f"e2e-gst-role-{n}"
        iam.create_role(RoleName=role,
                        AssumeRolePolicyDocument=json.dumps(trust({"AWS": user.arn})))
        role_session, _ = assume(user, role_arn(role), "gst")
        self.assertClientError("AccessDenied", role_session.client("sts").get_session_token)

    def test_session_token_cannot_call_iam_without_mfa(self):
        # AWS: "You cannot call any IAM API operations unless MFA authentication information is
        # included in the request" (GetSessionToken API reference).
        user = make_user(f"e2e-gst-iam-{uid()}", policy(
            allow("iam:GetUser", "arn:aws:iam::*:user/${aws:username}")))
        self.assertEqual(user.arn, user.client("iam").get_user()["User"]["Arn"])
        resp = user.client("sts").get_session_token(DurationSeconds=900)
        session = creds_from(resp["Credentials"], user.arn)
        with self.assertRaises(ClientError) as cm:
            session.client("iam").get_user()
        self.assertIn(error_code(cm.exception), ("AccessDenied", "InvalidClientTokenId"),
                      cm.exception.response)

    def test_root_session_token(self):
        resp = root().client("sts").get_session_token(DurationSeconds=900)
        session = creds_from(resp["Credentials"], root_arn())
        self.assertEqual(root_arn(), session.client("sts").get_caller_identity()["Arn"])
        name = f"gst-root-{uid()}"
        value = secret_value("gst-root")
        session.client("secretsmanager").create_secret(Name=name, SecretString=value)
        self.assertEqual(value, self.read(session, name))


# =============================================================================================
# 9. Parameter Store
# =============================================================================================
class ParameterStoreTest(PolicyCase):
    PARAMS = {
        "/mistersmith/production/config/api_base_url": "https://api.mistersmith.ai",
        "/mistersmith/production/config/log_level": "info",
        "/mistersmith/production/features/max_agents_per_swarm": "10",
        "/mistersmith/staging/config/api_base_url": "https://api.staging.mistersmith.ai",
        "/mistersmith/staging/features/max_agents_per_swarm": "3",
    }

    @classmethod
    def setUpClass(cls):
        ssm = root().client("ssm")
        for name, value in cls.PARAMS.items():
            ssm.put_parameter(Name=name, Value=value, Type="String")
        cls.secure_name = "/mistersmith/production/services/redis_password"
        cls.secure_value = secret_value("redis")
        ssm.put_parameter(Name=cls.secure_name, Value=cls.secure_value, Type="SecureString")
        prod = parameter_arn("/mistersmith/production")
        cls.user = make_user(f"e2e-ssm-prod-{uid()}", policy(
            allow(["ssm:GetParameter", "ssm:GetParameters"], prod + "/*"),
            allow("ssm:GetParametersByPath", [prod, prod + "/*"])))
        cls.get_only = make_user(f"e2e-ssm-getonly-{uid()}", policy(
            allow("ssm:GetParameter", prod + "/*")))

    def prod(self):
        return {k: v for k, v in self.PARAMS.items() if k.startswith("/mistersmith/production/")}

    def test_get_parameter_production_allowed_staging_denied(self):
        ssm = self.user.client("ssm")
        for name, value in self.prod().items():
            self.assertEqual(value, ssm.get_parameter(Name=name)["Parameter"]["Value"])
        # SecureString under alias/aws/ssm: the AWS managed key needs no kms permission.
        self.assertEqual(self.secure_value, ssm.get_parameter(
            Name=self.secure_name, WithDecryption=True)["Parameter"]["Value"])
        got = ssm.get_parameters(Names=list(self.prod()))
        self.assertEqual(self.prod(), {p["Name"]: p["Value"] for p in got["Parameters"]})
        self.assertEqual([], got["InvalidParameters"])
        for name in ("/mistersmith/staging/config/api_base_url",
                     "/mistersmith/staging/features/max_agents_per_swarm"):
            with self.subTest(name=name):
                self.assertNotAuthorized(ssm.get_parameter, Name=name, principal=self.user.arn,
                                         action="ssm:GetParameter",
                                         because="because no identity-based policy allows")
                exc = self.assertAccessDenied(ssm.get_parameter, Name=name)
                self.assertIn(parameter_arn(name), error_message(exc))
        self.assertAccessDenied(ssm.get_parameters,
                                Names=["/mistersmith/staging/config/api_base_url"])
        # Writing is not allowed at all.
        self.assertAccessDenied(ssm.put_parameter, Name="/mistersmith/production/config/x",
                                Value="x", Type="String")
        # The AWS CLI sees the same.
        out = aws_cli_json(self, self.user, "ssm", "get-parameter", "--name",
                           "/mistersmith/production/features/max_agents_per_swarm")
        self.assertEqual("10", out["Parameter"]["Value"])
        proc = aws_cli(self.user, "ssm", "get-parameter", "--name",
                       "/mistersmith/staging/config/api_base_url")
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("AccessDeniedException", proc.stderr, describe(proc))

    def test_get_parameters_by_path_is_authorized_on_the_path(self):
        ssm = self.user.client("ssm")
        pages = ssm.get_paginator("get_parameters_by_path").paginate(
            Path="/mistersmith/production", Recursive=True, WithDecryption=True)
        got = {p["Name"]: p["Value"] for page in pages for p in page["Parameters"]}
        want = dict(self.prod(), **{self.secure_name: self.secure_value})
        self.assertEqual(want, got)
        # A sub-path is covered by production/*.
        got = ssm.get_parameters_by_path(Path="/mistersmith/production/config")
        self.assertEqual({k: v for k, v in self.PARAMS.items()
                          if k.startswith("/mistersmith/production/config/")},
                         {p["Name"]: p["Value"] for p in got["Parameters"]})
        for path in ("/mistersmith/staging", "/mistersmith", "/"):
            with self.subTest(path=path):
                exc = self.assertAccessDenied(ssm.get_parameters_by_path, Path=path,
                                              Recursive=True)
                self.assertIn("ssm:GetParametersByPath", error_message(exc))
        # ssm:GetParameter alone does not allow GetParametersByPath (each action on its own).
        only = self.get_only.client("ssm")
        self.assertEqual("info", only.get_parameter(
            Name="/mistersmith/production/config/log_level")["Parameter"]["Value"])
        self.assertNotAuthorized(only.get_parameters_by_path, Path="/mistersmith/production",
                                 Recursive=True, principal=self.get_only.arn,
                                 action="ssm:GetParametersByPath",
                                 because="because no identity-based policy allows")


# =============================================================================================
# 10. Public resource policies and ValidateResourcePolicy
# =============================================================================================
class PublicResourcePolicyTest(PolicyCase):

    PUBLIC = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue",
         "Resource": "*"}]}
    PUBLIC_AWS_STAR = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "secretsmanager:*",
         "Resource": "*"}]}

    @classmethod
    def setUpClass(cls):
        cls.sm = root().client("secretsmanager")
        cls.name = f"e2e-public-{uid()}"
        cls.value = secret_value("public")
        cls.arn = cls.sm.create_secret(Name=cls.name, SecretString=cls.value)["ARN"]

    def test_block_public_policy_refuses_public_policies(self):
        for doc in (self.PUBLIC, self.PUBLIC_AWS_STAR):
            with self.subTest(doc=doc):
                self.assertClientError("PublicPolicyException", self.sm.put_resource_policy,
                                       SecretId=self.name, ResourcePolicy=json.dumps(doc),
                                       BlockPublicPolicy=True)
                self.assertNotIn("ResourcePolicy",
                                 self.sm.get_resource_policy(SecretId=self.name))

    def test_principal_star_narrowed_to_the_account_is_not_public(self):
        doc = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": "secretsmanager:GetSecretValue", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalAccount": acct()}}}]}
        name = f"e2e-narrow-{uid()}"
        self.sm.create_secret(Name=name, SecretString=secret_value("narrow"))
        self.sm.put_resource_policy(SecretId=name, ResourcePolicy=json.dumps(doc),
                                    BlockPublicPolicy=True)
        self.assertEqual(doc, json.loads(
            self.sm.get_resource_policy(SecretId=name)["ResourcePolicy"]))
        resp = self.sm.validate_resource_policy(ResourcePolicy=json.dumps(doc))
        self.assertIs(True, resp["PolicyValidationPassed"], resp)

    def test_public_policy_without_block_is_stored_and_grants(self):
        # BlockPublicPolicy is off by default (PutResourcePolicy API reference).
        user = make_user(f"e2e-anyone-{uid()}")
        self.assertAccessDenied(self.read, user, self.name)
        self.sm.put_resource_policy(SecretId=self.name, ResourcePolicy=json.dumps(self.PUBLIC))
        try:
            # Same account: the resource policy grant alone is enough.
            self.assertEqual(self.value, self.read(user, self.name))
        finally:
            self.sm.delete_resource_policy(SecretId=self.name)
        self.assertNotIn("ResourcePolicy", self.sm.get_resource_policy(SecretId=self.name))
        self.assertAccessDenied(self.read, user, self.name)

    def test_validate_resource_policy(self):
        public = self.sm.validate_resource_policy(ResourcePolicy=json.dumps(self.PUBLIC))
        self.assertIs(False, public["PolicyValidationPassed"], public)
        self.assertTrue(public["ValidationErrors"], public)
        for err in public["ValidationErrors"]:
            self.assertTrue(err.get("CheckName"), err)
            self.assertTrue(err.get("ErrorMessage"), err)
        with_id = self.sm.validate_resource_policy(SecretId=self.name,
                                                   ResourcePolicy=json.dumps(self.PUBLIC_AWS_STAR))
        self.assertIs(False, with_id["PolicyValidationPassed"], with_id)
        ok = self.sm.validate_resource_policy(ResourcePolicy=seed_resource_policy_or_plain())
        self.assertIs(True, ok["PolicyValidationPassed"], ok)
        self.assertEqual([], ok.get("ValidationErrors", []))

    def test_malformed_resource_policy(self):
        self.assertClientError("MalformedPolicyDocumentException", self.sm.put_resource_policy,
                               SecretId=self.name, ResourcePolicy="{not json")
        # A resource policy needs a Principal.
        self.assertClientError("MalformedPolicyDocumentException", self.sm.put_resource_policy,
                               SecretId=self.name, ResourcePolicy=policy(
                                   allow("secretsmanager:GetSecretValue")))


def seed_resource_policy_or_plain():
    """A non-public resource policy naming existing principals: the seed's when its roles exist,
    else an account-only grant."""
    if _SEED is not None:
        return seed_resource_policy()
    return policy({"Effect": "Allow", "Principal": {"AWS": root_arn()},
                   "Action": "secretsmanager:GetSecretValue", "Resource": "*"})


# =============================================================================================
# 11. Nothing secret in the server's output -- runs last (classes run in name order)
# =============================================================================================
class ZzServerOutputTest(unittest.TestCase):

    def test_no_secret_in_server_output(self):
        global _OUTPUT_CHECKED
        SERVER.stop(check=True)
        _OUTPUT_CHECKED = True
        output = SERVER.output_text()
        self.assertIn("coffer: listening on", output)
        self.assertGreater(len(CANARIES), 10)
        leaked = sorted(c for c in CANARIES if c and c in output)
        self.assertEqual([], [c[:6] + "..." for c in leaked],
                         "secret values / secret access keys / session tokens appeared in "
                         "coffer's stdout or stderr")
        # Also no file left under the log dir with them (the harness' copies of the output).
        for dirpath, _dirs, files in os.walk(SERVER.log_dir):
            for f in files:
                with open(os.path.join(dirpath, f), "rb") as fh:
                    data = fh.read().decode("utf-8", "replace")
                self.assertFalse([c for c in CANARIES if c and c in data], f)


if __name__ == "__main__":
    unittest.main()
