"""End-to-end tests of coffer's secret rotation: RotateSecret / CancelRotateSecret, the rotation
engine, `exec` functions run through tools/coffer-lambda-runner.py (unmodified boto3 Lambda
code), the built-in rotators (random-api-key, hmac-signing-key, postgres-single-user,
postgres-alternating-users against a real PostgreSQL server) and the rotation events.

The scenario is the MisterSmith secrets design (seed document, "Rotation Strategy" and "Custom
Rotation Lambda"): its API-key Lambda, completed in
examples/mistersmith/rotation/api_key_rotation.py, rotates a key through all four steps against a
stand-in API provider (a JSON file); the database password rotates with the AWS RDS templates'
behaviour; the JWT signing key rotates blue-green.

Expected behaviour (AWS's, not coffer's):
  - How rotation works (the four steps, AWSPENDING / AWSCURRENT / AWSPREVIOUS):
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html
  - RotateSecret (RotateImmediately=false runs only testSecret; "A previous rotation isn't
    complete"; unknown function -> AccessDeniedException), CancelRotateSecret (returns the
    VersionId of the half-made version; AWSPENDING stays and blocks later rotations):
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CancelRotateSecret.html
  - Before createSecret Secrets Manager labels the rotation's ClientRequestToken AWSPENDING (a
    version without a value yet), which is why AWS's templates refuse a token that is not in
    VersionIdsToStages: https://github.com/aws-samples/aws-secrets-manager-rotation-lambdas
  - Rotation schedules (rate(), cron(), AutomaticallyAfterDays 1..1000, Duration: "The window
    must not extend into the next rotation window or the next UTC day"):
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
    https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
  - Rotation events in CloudTrail (RotationStarted, RotationSucceeded, RotationFailed, ...):
    https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-cloudtrail.html

coffer specifics (`coffer operator register-function --help`, `coffer operator events`):
functions are registered by the account root with `coffer operator register-function`; an exec
function gets the Lambda event on stdin and the credentials of its --role-arn (a role that
trusts lambda.amazonaws.com; exec and http functions need one); `coffer operator events` prints
the events.

One coffer server serves the module; PostgreSQL is started (as the postgres user, on a free
loopback port, in a temp dir) by PostgresRotationTest and removed afterwards. If PostgreSQL's
server programs are missing, those tests FAIL (they do not skip). The last class
(ZzServerOutputTest) checks that no secret value ever appeared in an event or in the server's
output.

Run (in this dir): COFFER_BIN=<repo>/build/coffer python3 -m unittest test_rotation -v
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import (DEFAULT_REGION, REPO_ROOT, CofferServer, coffer_binary, error_code,
                           error_message, sanitize_error_type)
from throwaway_postgres import ThrowawayPostgres  # noqa: E402

CLI_TIMEOUT_SECONDS = 60
ROTATION_TIMEOUT_SECONDS = 20.0
POLL_SECONDS = 0.2

RUNNER = os.path.join(REPO_ROOT, "tools", "coffer-lambda-runner.py")
API_KEY_MODULE = os.path.join(REPO_ROOT, "examples", "mistersmith", "rotation",
                              "api_key_rotation.py")
# The interpreter running the tests has boto3; the exec function runs with a minimal PATH, so
# it is named by its absolute path.
PYTHON = sys.executable

LAMBDA_TRUST_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}

SERVER = None
TMP = None
BINARY = None  # this run's copy of the coffer binary (server and operator CLI)
CANARIES = set()
_OUTPUT_CHECKED = False

# A deliberately small Lambda for the failure tests: createSecret puts a new value, setSecret
# fails while the marker file (FAIL_MARKER) exists -- printing the pending value first, as a
# careless function might, so that coffer's redaction is tested too. It does not do the
# templates' VersionIdsToStages check, so these tests do not depend on the AWSPENDING
# placeholder.
FLAKY_FUNCTION = r'''
import json, os, secrets
import boto3

def lambda_handler(event, context):
    names = sorted(k for k in os.environ if k.startswith("AWS_"))
    print("env:", ",".join(names))
    endpoint = os.environ.get("SECRETS_MANAGER_ENDPOINT")
    if endpoint:
        sm = boto3.client("secretsmanager", endpoint_url=endpoint)
    else:
        sm = boto3.client("secretsmanager")
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    if step == "createSecret":
        try:
            sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
            return
        except sm.exceptions.ResourceNotFoundException:
            pass
        value = {"password": "flaky-" + secrets.token_hex(16)}
        sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                            SecretString=json.dumps(value), VersionStages=["AWSPENDING"])
    elif step == "setSecret":
        if os.path.exists(os.environ["FAIL_MARKER"]):
            pending = sm.get_secret_value(SecretId=arn, VersionId=token,
                                          VersionStage="AWSPENDING")["SecretString"]
            print("setSecret: the target refused", pending)
            raise RuntimeError("the target refused the new password " + pending)
    elif step == "testSecret":
        sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    elif step == "finishSecret":
        stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = [v for v, s in stages.items() if "AWSCURRENT" in s][0]
        if current != token:
            sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                           MoveToVersionId=token, RemoveFromVersionId=current)
'''

# Records, at every step, what DescribeSecret shows for the rotation's token (a list of stages,
# or null when the token is not a version), then does nothing more: it finds out what Secrets
# Manager set up before invoking the function.
PROBE_FUNCTION = r'''
import json, os
import boto3

def lambda_handler(event, context):
    sm = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    stages = sm.describe_secret(SecretId=event["SecretId"])["VersionIdsToStages"]
    with open(os.environ["PROBE_OUT"], "a") as f:
        f.write(json.dumps({"Step": event["Step"], "Token": event["ClientRequestToken"],
                            "Stages": stages.get(event["ClientRequestToken"])}) + "\n")
    raise RuntimeError("probe: stop after recording " + event["Step"])
'''


# Sleeps far longer than its --timeout, after writing its pid down.
SLOW_FUNCTION = r'''
import os, time

def lambda_handler(event, context):
    with open(os.environ["PID_FILE"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
'''


def setUpModule():
    global SERVER, TMP, BINARY
    TMP = tempfile.mkdtemp(prefix="coffer-rotation-e2e-")
    unittest.addModuleCleanup(shutil.rmtree, TMP, True)
    # One binary for the whole run (server and `coffer operator`), even if build/coffer is
    # rebuilt meanwhile.
    BINARY = os.path.join(TMP, "coffer")
    shutil.copy2(coffer_binary(), BINARY)
    server = CofferServer(binary=BINARY)
    unittest.addModuleCleanup(server.close)
    server.start()
    SERVER = server
    CANARIES.add(server.secret)
    for name, text in (("flaky_rotation.py", FLAKY_FUNCTION), ("probe_rotation.py", PROBE_FUNCTION),
                       ("slow_rotation.py", SLOW_FUNCTION)):
        with open(os.path.join(TMP, name), "w") as f:
            f.write(text)


def tearDownModule():
    if SERVER is not None and not _OUTPUT_CHECKED and not SERVER.closed:
        if SERVER.running():
            SERVER.stop(check=False)
        leaked = [c for c in CANARIES if c and c in SERVER.output_text()]
        if leaked:
            raise AssertionError(f"{len(leaked)} secret value(s) appeared in coffer's output")


# =============================================================================================
# Helpers
# =============================================================================================
def uid():
    return uuid.uuid4().hex[:10]


def canary(value):
    """Remembers a secret value that must never appear in events or server output."""
    if value:
        CANARIES.add(value)
    return value


def account():
    return SERVER.account_id


def function_arn(name):
    return f"arn:aws:lambda:{DEFAULT_REGION}:{account()}:function:{name}"


def sm():
    return SERVER.client("secretsmanager")


def iam():
    return SERVER.client("iam")


def root_env():
    """A hermetic environment with only the account root's credentials (AWS CLI, coffer CLI)."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("AWS_") or name.startswith("COFFER_"):
            del env[name]
    env.update({
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_ACCESS_KEY_ID": SERVER.key_id, "AWS_SECRET_ACCESS_KEY": SERVER.secret,
        "AWS_DEFAULT_REGION": DEFAULT_REGION, "AWS_REGION": DEFAULT_REGION,
        "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard", "AWS_PAGER": "",
        "AWS_CLI_AUTO_PROMPT": "off", "AWS_DEFAULT_OUTPUT": "json",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    return env


def describe_proc(proc):
    return f"exit {proc.returncode}\nstdout: {proc.stdout[-3000:]}\nstderr: {proc.stderr[-3000:]}"


def find_aws_cli():
    for candidate in (os.environ.get("AWS_CLI"), "/usr/bin/aws", shutil.which("aws")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise AssertionError("no AWS CLI found (install Debian's awscli or set AWS_CLI)")


def aws(*args):
    """`aws ARGS --endpoint-url <server>` as the account root."""
    return subprocess.run([find_aws_cli(), *args, "--endpoint-url", SERVER.endpoint],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=root_env(), timeout=CLI_TIMEOUT_SECONDS, start_new_session=True)


def aws_json(test, *args):
    proc = aws(*args)
    test.assertEqual(0, proc.returncode, describe_proc(proc))
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def coffer_operator(*args):
    return subprocess.run([BINARY, "operator", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=root_env(),
                          timeout=CLI_TIMEOUT_SECONDS, start_new_session=True)


def register_exec(name, command, role_arn=None, env=None, timeout=60):
    """Registers an exec function; --command goes last (CLI11 takes the words after it)."""
    args = ["register-function", "--endpoint", SERVER.endpoint, "--name", name, "--kind", "exec",
            "--timeout", str(timeout)]
    if role_arn:
        args += ["--role-arn", role_arn]
    for k, v in (env or {}).items():
        args += ["--env", f"{k}={v}"]
    args += ["--command", *command]
    proc = coffer_operator(*args)
    if proc.returncode != 0:
        raise AssertionError("register-function failed: " + describe_proc(proc))
    return function_arn(name)


def register_builtin(name, builtin, role_arn=None):
    args = ["register-function", "--endpoint", SERVER.endpoint, "--name", name, "--kind",
            "builtin", "--builtin", builtin]
    if role_arn:
        args += ["--role-arn", role_arn]
    proc = coffer_operator(*args)
    if proc.returncode != 0:
        raise AssertionError("register-function failed: " + describe_proc(proc))
    return function_arn(name)


def tmp_function(filename):
    """The command of one of this module's small Lambda functions (written to TMP)."""
    return python_function(os.path.join(TMP, filename))


def python_function(module_path):
    """The command of an exec function that runs a Lambda module through the runner."""
    return [PYTHON, RUNNER, module_path]


def all_events():
    proc = coffer_operator("events", "--endpoint", SERVER.endpoint)
    if proc.returncode != 0:
        raise AssertionError("coffer operator events failed: " + describe_proc(proc))
    return json.loads(proc.stdout)["Events"]


def rotation_events(secret_arn):
    """The rotation events of one secret, oldest first."""
    return [e for e in all_events()
            if e.get("Source") == "aws.secretsmanager" and secret_arn in (e.get("Resources") or [])
            and e.get("Detail", {}).get("additionalEventData", {}).get("SecretId") == secret_arn]


def event_names(secret_arn):
    return [e["Detail"]["eventName"] for e in rotation_events(secret_arn)]


def wait_for(what, probe, timeout=ROTATION_TIMEOUT_SECONDS):
    """Polls probe() every 0.2 s until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)


def wait_event(secret_arn, name, timeout=ROTATION_TIMEOUT_SECONDS, after=0, fail_on=()):
    """The first `name` event of the secret (after the first `after` events of it); an event
    named in `fail_on` ends the wait at once with a failure that shows it."""
    def probe():
        for e in rotation_events(secret_arn)[after:]:
            if e["Detail"]["eventName"] == name:
                return e
            if e["Detail"]["eventName"] in fail_on:
                raise AssertionError(f"{e['Detail']['eventName']} instead of {name}: "
                                     f"{json.dumps(e['Detail']['serviceEventDetails'], indent=1)}")
        return None
    try:
        return wait_for(f"a {name} event for {secret_arn}", probe, timeout)
    except AssertionError as e:
        seen = [(x["Detail"]["eventName"], x["Detail"].get("serviceEventDetails"))
                for x in rotation_events(secret_arn)]
        raise AssertionError(f"{e}; events so far: {seen}")


def stages_of(secret_arn):
    return sm().describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {})


def version_with(secret_arn, stage):
    for version, stages in stages_of(secret_arn).items():
        if stage in stages:
            return version
    return None


def value_of(secret_arn, stage="AWSCURRENT", version_id=None):
    kwargs = {"SecretId": secret_arn, "VersionStage": stage}
    if version_id:
        kwargs["VersionId"] = version_id
    return sm().get_secret_value(**kwargs)["SecretString"]


def wait_current(secret_arn, version_id, timeout=ROTATION_TIMEOUT_SECONDS, after=0):
    """Waits until AWSCURRENT is `version_id` (a rotation finished); fails early on a
    RotationFailed/RotationAbandoned event of that token (among the secret's events after the
    first `after`), showing the event."""
    def probe():
        if version_with(secret_arn, "AWSCURRENT") == version_id:
            return True
        for e in rotation_events(secret_arn)[after:]:
            d = e["Detail"]
            if (d["eventName"] in ("RotationFailed", "RotationAbandoned")
                    and d["serviceEventDetails"].get("clientRequestToken") == version_id):
                raise AssertionError(f"the rotation to {version_id} failed: "
                                     f"{json.dumps(d['serviceEventDetails'], indent=1)}")
        return False
    wait_for(f"AWSCURRENT of {secret_arn} to move to {version_id}", probe, timeout)


def make_role(name, actions, resources, extra_statements=()):
    """A Lambda execution role with one inline policy allowing `actions` on `resources`."""
    arn = iam().create_role(RoleName=name,
                            AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY),
                            Description="rotation function execution role")["Role"]["Arn"]
    statements = [{"Effect": "Allow", "Action": list(actions), "Resource": resources}]
    statements += list(extra_statements)
    iam().put_role_policy(RoleName=name, PolicyName="rotation",
                          PolicyDocument=json.dumps({"Version": "2012-10-17",
                                                     "Statement": statements}))
    return arn


ROTATION_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage", "secretsmanager:DescribeSecret")


def epoch_of(value):
    """DescribeSecret dates (datetime from boto3, ISO text from the CLI) as a UTC datetime."""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc)
    return datetime.datetime.fromisoformat(value).astimezone(datetime.timezone.utc)


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def function_calls(secret_arn, builtin, names):
    """The CloudTrail records of a built-in function's calls on `secret_arn`, once every one of
    `names` is among them (10 s at most)."""
    ct = SERVER.client("cloudtrail")
    deadline = time.monotonic() + 10
    while True:
        calls = []
        for page in ct.get_paginator("lookup_events").paginate(LookupAttributes=[
                {"AttributeKey": "ResourceName", "AttributeValue": secret_arn}]):
            calls += [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]
        calls = [c for c in calls if c.get("userAgent") == "coffer-rotation-function/" + builtin]
        if names <= {c["eventName"] for c in calls} or time.monotonic() > deadline:
            return calls
        time.sleep(0.1)


class RotationCase(unittest.TestCase):
    maxDiff = None

    def assertClientError(self, code, fn, *args, message=None, **kwargs):
        with self.assertRaises(ClientError) as cm:
            fn(*args, **kwargs)
        self.assertEqual(code, error_code(cm.exception), cm.exception.response)
        if message is not None:
            self.assertIn(message, error_message(cm.exception) or "", cm.exception.response)
        return cm.exception

    def assertNoSecretIn(self, text, values, where):
        leaked = [v for v in values if v and v in text]
        self.assertEqual([], [v[:6] + "..." for v in leaked], f"secret values appear in {where}")

    def assertEventShape(self, event, secret_arn, name, step=None, token=None):
        self.assertEqual("aws.secretsmanager", event["Source"])
        self.assertEqual("AWS Service Event via CloudTrail", event["DetailType"])
        self.assertEqual(DEFAULT_REGION, event["Region"])
        self.assertEqual([secret_arn], event["Resources"])
        d = event["Detail"]
        self.assertEqual(name, d["eventName"])
        self.assertEqual("secretsmanager.amazonaws.com", d["eventSource"])
        self.assertEqual("secretsmanager.amazonaws.com", d["userIdentity"]["invokedBy"])
        self.assertEqual(account(), d["userIdentity"]["accountId"])
        self.assertEqual(secret_arn, d["additionalEventData"]["SecretId"])
        if step is not None:
            self.assertEqual(step, d["serviceEventDetails"]["step"], d)
        if token is not None:
            self.assertEqual(token, d["serviceEventDetails"]["clientRequestToken"], d)

    def new_secret(self, prefix, value):
        name = f"{prefix}-{uid()}"
        return sm().create_secret(Name=name, SecretString=value)["ARN"]


# =============================================================================================
# a. The seed's API-key Lambda through the exec runner
# =============================================================================================
class SeedApiKeyLambdaTest(RotationCase):
    """examples/mistersmith/rotation/api_key_rotation.py, unmodified, as an exec function acting
    as its own execution role."""

    def setUp(self):
        self.initial_key = canary("msk_initial_" + uuid.uuid4().hex)
        self.provider = os.path.join(TMP, f"provider-{uid()}.json")
        with open(self.provider, "w") as f:
            json.dump({"keys": [self.initial_key]}, f)
        self.body = {"apiKey": self.initial_key, "organizationId": "org-e2e",
                     "projectId": "proj-e2e"}
        self.arn = self.new_secret("mistersmith/external/openai", json.dumps(self.body))
        self.role_name = f"MisterSmithApiKeyRotation-{uid()}"
        self.role_arn = make_role(self.role_name, ROTATION_ACTIONS, self.arn)
        self.fn = register_exec(f"mistersmith-api-key-{uid()}", python_function(API_KEY_MODULE),
                                role_arn=self.role_arn, env={"API_PROVIDER_STATE": self.provider})

    def provider_keys(self):
        with open(self.provider) as f:
            return json.load(f)["keys"]

    def test_rotates_through_all_four_steps(self):
        old_version = version_with(self.arn, "AWSCURRENT")
        started = now_utc()
        out = aws_json(self, "secretsmanager", "rotate-secret", "--secret-id", self.arn,
                       "--rotation-lambda-arn", self.fn,
                       "--rotation-rules", '{"AutomaticallyAfterDays": 90}')
        self.assertEqual(self.arn, out["ARN"])
        token = out["VersionId"]
        self.assertNotEqual(old_version, token)
        wait_current(self.arn, token)

        # The new key: in AWSCURRENT, every other member kept, and the provider accepts it.
        new = json.loads(value_of(self.arn))
        canary(new["apiKey"])
        self.assertNotEqual(self.initial_key, new["apiKey"])
        self.assertTrue(new["apiKey"].startswith("msk_"), "the module's generate_api_key")
        self.assertEqual({k: v for k, v in self.body.items() if k != "apiKey"},
                         {k: v for k, v in new.items() if k != "apiKey"})
        self.assertIn(new["apiKey"], self.provider_keys())
        # The old version is AWSPREVIOUS and still readable (the provider keeps it for the
        # switch-over).
        stages = stages_of(self.arn)
        self.assertIn("AWSCURRENT", stages[token])
        self.assertEqual(["AWSPREVIOUS"], stages[old_version])
        self.assertEqual(self.body, json.loads(value_of(self.arn, "AWSPREVIOUS")))
        self.assertIn(self.initial_key, self.provider_keys())

        # DescribeSecret (AWS CLI): the configuration and the dates.
        d = aws_json(self, "secretsmanager", "describe-secret", "--secret-id", self.arn)
        self.assertIs(True, d["RotationEnabled"])
        self.assertEqual(self.fn, d["RotationLambdaARN"])
        self.assertEqual({"AutomaticallyAfterDays": 90}, d["RotationRules"])
        last = epoch_of(d["LastRotatedDate"])
        self.assertGreaterEqual(last, started - datetime.timedelta(seconds=2))
        nxt = epoch_of(d["NextRotationDate"])
        self.assertLessEqual(abs((nxt - last) - datetime.timedelta(days=90)),
                             datetime.timedelta(days=1), (last, nxt))

        # The events: RotationStarted then RotationSucceeded, for this token, and no failure.
        events = rotation_events(self.arn)
        names = [e["Detail"]["eventName"] for e in events]
        self.assertEqual(["RotationStarted", "RotationSucceeded"], names,
                         [e["Detail"] for e in events])
        self.assertEventShape(events[0], self.arn, "RotationStarted", "createSecret", token)
        self.assertEventShape(events[1], self.arn, "RotationSucceeded", token=token)
        self.assertNoSecretIn(json.dumps(events), [self.initial_key, new["apiKey"]], "the events")
        self.assertNoSecretIn(SERVER.output_text(), [self.initial_key, new["apiKey"]],
                              "coffer's output")

        # A second rotation: the first new key becomes AWSPREVIOUS, the initial key is revoked.
        out2 = aws_json(self, "secretsmanager", "rotate-secret", "--secret-id", self.arn)
        wait_current(self.arn, out2["VersionId"])
        newer = json.loads(value_of(self.arn))
        canary(newer["apiKey"])
        self.assertEqual(new, json.loads(value_of(self.arn, "AWSPREVIOUS")))
        self.assertEqual(sorted([new["apiKey"], newer["apiKey"]]), sorted(self.provider_keys()))
        self.assertEqual(["AWSPREVIOUS"], stages_of(self.arn)[token])
        self.assertNotIn(old_version, stages_of(self.arn), "a version without labels is dropped")

    def test_secrets_manager_labels_the_token_awspending_before_create_secret(self):
        """AWS creates the rotation's version (no value yet) with AWSPENDING before it invokes
        createSecret; the templates and the seed Lambda rely on it."""
        probe_out = os.path.join(TMP, f"probe-{uid()}.jsonl")
        fn = register_exec(f"probe-{uid()}", tmp_function("probe_rotation.py"),
                           role_arn=self.role_arn, env={"PROBE_OUT": probe_out})
        out = sm().rotate_secret(SecretId=self.arn, RotationLambdaARN=fn)
        token = out["VersionId"]
        wait_event(self.arn, "RotationFailed")
        with open(probe_out) as f:
            seen = [json.loads(line) for line in f]
        self.assertEqual("createSecret", seen[0]["Step"])
        self.assertEqual(token, seen[0]["Token"])
        self.assertEqual(["AWSPENDING"], seen[0]["Stages"],
                         "at createSecret, DescribeSecret must show the token's version labelled "
                         "AWSPENDING (AWS creates it before invoking the function)")
        # ... a version without a value: GetSecretValue of it is ResourceNotFoundException.
        self.assertClientError("ResourceNotFoundException", sm().get_secret_value,
                               SecretId=self.arn, VersionId=token, VersionStage="AWSPENDING")
        sm().cancel_rotate_secret(SecretId=self.arn)


# =============================================================================================
# b. A function that fails in setSecret, then recovers
# =============================================================================================
class FailedRotationTest(RotationCase):

    def test_failure_leaves_awscurrent_and_a_second_rotate_secret_retries(self):
        original = canary("orig-" + uuid.uuid4().hex)
        arn = self.new_secret("flaky", json.dumps({"password": original}))
        original_version = version_with(arn, "AWSCURRENT")
        marker = os.path.join(TMP, f"fail-{uid()}")
        open(marker, "w").close()
        role = make_role(f"flaky-rotation-{uid()}", ROTATION_ACTIONS, arn)
        fn = register_exec(f"flaky-{uid()}", tmp_function("flaky_rotation.py"),
                           role_arn=role, env={"FAIL_MARKER": marker})

        out = aws_json(self, "secretsmanager", "rotate-secret", "--secret-id", arn,
                       "--rotation-lambda-arn", fn, "--rotation-rules",
                       '{"ScheduleExpression": "rate(10 days)"}')
        token = out["VersionId"]
        failed = wait_event(arn, "RotationFailed")
        self.assertEventShape(failed, arn, "RotationFailed", "setSecret", token)

        # AWSCURRENT untouched; the new value waits under AWSPENDING.
        self.assertEqual(original_version, version_with(arn, "AWSCURRENT"))
        self.assertEqual(json.dumps({"password": original}), value_of(arn))
        self.assertEqual(["AWSPENDING"], stages_of(arn).get(token))
        pending = value_of(arn, "AWSPENDING", token)
        canary(pending)
        canary(json.loads(pending)["password"])

        # The event says why, without the value the function printed.
        error = failed["Detail"]["serviceEventDetails"].get("error", "")
        self.assertIn("RuntimeError", error)
        self.assertIn("the target refused", error)
        self.assertNoSecretIn(json.dumps(failed),
                              [original, pending, json.loads(pending)["password"]],
                              "the RotationFailed event")
        self.assertNotIn("RotationSucceeded", event_names(arn))

        # Fixed: RotateSecret again says the previous rotation isn't complete, and retries it.
        os.unlink(marker)
        seen = len(rotation_events(arn))
        proc = aws("secretsmanager", "rotate-secret", "--secret-id", arn)
        self.assertNotEqual(0, proc.returncode, describe_proc(proc))
        self.assertIn("(InvalidRequestException)", proc.stderr)
        self.assertIn("A previous rotation isn't complete", proc.stderr)
        # Retried now, not after the 1-minute backoff.
        wait_current(arn, token, after=seen)
        wait_event(arn, "RotationSucceeded")
        # The retry went on from setSecret: the value is the one createSecret made the first time.
        self.assertEqual(pending, value_of(arn))
        self.assertEqual(["AWSPREVIOUS"], stages_of(arn)[original_version])
        self.assertEqual(1, event_names(arn).count("RotationStarted"))
        self.assertEqual(1, event_names(arn).count("RotationFailed"))
        self.assertNoSecretIn(json.dumps(rotation_events(arn)),
                              [original, pending, json.loads(pending)["password"]], "the events")


# =============================================================================================
# c. Permissions of the function
# =============================================================================================
class FunctionPermissionsTest(RotationCase):

    def test_role_without_put_secret_value_is_denied(self):
        original = canary("perm-" + uuid.uuid4().hex)
        arn = self.new_secret("denied", json.dumps({"password": original}))
        role_name = f"no-put-{uid()}"
        role = make_role(role_name, ("secretsmanager:GetSecretValue",
                                     "secretsmanager:DescribeSecret",
                                     "secretsmanager:UpdateSecretVersionStage"), arn)
        fn = register_exec(f"no-put-{uid()}", tmp_function("flaky_rotation.py"),
                           role_arn=role, env={"FAIL_MARKER": os.path.join(TMP, "never")})
        self.addCleanup(sm().cancel_rotate_secret, SecretId=arn)
        token = sm().rotate_secret(SecretId=arn, RotationLambdaARN=fn)["VersionId"]
        failed = wait_event(arn, "RotationFailed")
        self.assertEventShape(failed, arn, "RotationFailed", "createSecret", token)
        error = failed["Detail"]["serviceEventDetails"].get("error", "")
        self.assertIn("AccessDeniedException", error)
        self.assertIn("secretsmanager:PutSecretValue", error)
        self.assertIn(f"assumed-role/{role_name}/", error, "the function acted as its role")
        self.assertEqual(json.dumps({"password": original}), value_of(arn))
        # The rotation's AWSPENDING version stays empty: no value was put.
        self.assertIn(stages_of(arn).get(token), (None, ["AWSPENDING"]))
        self.assertClientError("ResourceNotFoundException", sm().get_secret_value, SecretId=arn,
                               VersionStage="AWSPENDING")
        self.assertNoSecretIn(json.dumps(failed), [original], "the event")

    def test_function_without_role_is_refused_at_registration(self):
        # Lambda runs every function as its execution role; coffer refuses the registration
        # rather than running a function that could only fail with "Unable to locate
        # credentials".
        args = ["register-function", "--endpoint", SERVER.endpoint, "--name", f"no-role-{uid()}",
                "--kind", "exec", "--command", *tmp_function("flaky_rotation.py")]
        proc = coffer_operator(*args)
        self.assertNotEqual(0, proc.returncode, describe_proc(proc))
        self.assertIn("InvalidParameterValueException", proc.stderr)
        self.assertIn("needs an execution role", proc.stderr)


class ExecTimeoutTest(RotationCase):

    def test_a_step_that_outlives_its_timeout_is_killed_and_fails(self):
        original = canary("slow-" + uuid.uuid4().hex)
        arn = self.new_secret("slow", json.dumps({"password": original}))
        pid_file = os.path.join(TMP, f"slow-{uid()}.pid")
        role = make_role(f"slow-{uid()}", ROTATION_ACTIONS, arn)
        fn = register_exec(f"slow-{uid()}", tmp_function("slow_rotation.py"), role_arn=role,
                           env={"PID_FILE": pid_file}, timeout=1)
        self.addCleanup(sm().cancel_rotate_secret, SecretId=arn)
        started = time.monotonic()
        sm().rotate_secret(SecretId=arn, RotationLambdaARN=fn)
        failed = wait_event(arn, "RotationFailed")
        self.assertLess(time.monotonic() - started, 15)
        self.assertEventShape(failed, arn, "RotationFailed", "createSecret")
        self.assertIn("timed out after 1 s", failed["Detail"]["serviceEventDetails"]["error"])
        with open(pid_file) as f:
            pid = int(f.read())

        def gone():
            try:
                os.kill(pid, 0)
                return False
            except ProcessLookupError:
                return True
        wait_for(f"the timed-out function (pid {pid}) to be killed", gone, 5)
        self.assertEqual(json.dumps({"password": original}), value_of(arn))


# =============================================================================================
# d. RotateImmediately=false: only the testSecret step, as a configuration check
# =============================================================================================
class RotateImmediatelyFalseTest(RotationCase):

    def check_test_only(self, arn, original_value, fn, days):
        original_version = version_with(arn, "AWSCURRENT")
        before = now_utc()
        aws_json(self, "secretsmanager", "rotate-secret", "--secret-id", arn,
                 "--rotation-lambda-arn", fn, "--rotation-rules",
                 json.dumps({"AutomaticallyAfterDays": days}), "--no-rotate-immediately")
        succeeded = wait_event(arn, "TestRotationSucceeded", fail_on=("TestRotationFailed",))
        self.assertEventShape(succeeded, arn, "TestRotationSucceeded")
        names = event_names(arn)
        self.assertEqual(["TestRotationStarted", "TestRotationSucceeded"], names)
        self.assertEventShape(rotation_events(arn)[0], arn, "TestRotationStarted", "testSecret")
        self.assertNotIn("RotationStarted", names)
        # Nothing rotated, and the test's AWSPENDING version is gone again.
        self.assertEqual(original_value, value_of(arn))
        self.assertEqual({original_version: ["AWSCURRENT"]}, stages_of(arn))
        d = sm().describe_secret(SecretId=arn)
        self.assertIs(True, d["RotationEnabled"])
        self.assertEqual(fn, d["RotationLambdaARN"])
        self.assertIn("NextRotationDate", d)
        self.assertGreater(d["NextRotationDate"], before)
        self.assertLessEqual(d["NextRotationDate"],
                             before + datetime.timedelta(days=days, hours=24))

    def test_builtin_random_api_key(self):
        value = json.dumps({"apiKey": canary("k-" + uuid.uuid4().hex), "owner": "team-a"})
        arn = self.new_secret("test-only", value)
        fn = register_builtin(f"api-key-{uid()}", "random-api-key")
        self.check_test_only(arn, value, fn, 30)
        # The rotation's service events (a test run: TestRotation*) are in the audit trail.
        ct = SERVER.client("cloudtrail")
        deadline = time.monotonic() + 10
        while True:
            events = ct.lookup_events(LookupAttributes=[
                {"AttributeKey": "ResourceName", "AttributeValue": arn}])["Events"]
            names = [e["EventName"] for e in events]
            if "TestRotationSucceeded" in names or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertIn("TestRotationSucceeded", names)
        record = json.loads(events[names.index("TestRotationSucceeded")]["CloudTrailEvent"])
        self.assertEqual(record["eventType"], "AwsServiceEvent")
        self.assertEqual(record["userIdentity"]["invokedBy"], "secretsmanager.amazonaws.com")
        self.assertEqual(record["additionalEventData"]["SecretId"], arn)
        # Secrets Manager's invocation of the function: a Lambda data event by the service.
        deadline = time.monotonic() + 10
        while True:
            invokes = [json.loads(e["CloudTrailEvent"]) for e in ct.lookup_events(
                LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": fn}])[
                "Events"] if e["EventName"] == "Invoke"]
            if invokes or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertTrue(invokes)
        invoke = invokes[0]
        self.assertEqual(invoke["eventSource"], "lambda.amazonaws.com")
        self.assertEqual(invoke["userIdentity"],
                         {"type": "AWSService", "invokedBy": "secretsmanager.amazonaws.com"})
        self.assertEqual(invoke["sourceIPAddress"], "secretsmanager.amazonaws.com")
        self.assertEqual(invoke["eventCategory"], "Data")
        self.assertIs(invoke["managementEvent"], False)
        self.assertEqual(invoke["requestParameters"]["functionName"], fn)
        self.assertEqual(invoke["resources"][0]["ARN"], fn)
        # The function's own calls to Secrets Manager are recorded as its calls, as CloudTrail
        # records a rotation Lambda's: a test run's testSecret reads AWSPENDING (there is none)
        # and AWSCURRENT; the responses that hold values are null.
        reads = function_calls(arn, "random-api-key", {"GetSecretValue"})
        self.assertEqual({"ResourceNotFoundException", None},
                         {c.get("errorCode") for c in reads})
        for c in reads:
            self.assertEqual(c["eventType"], "AwsApiCall")
            self.assertEqual(c["sourceIPAddress"], "secretsmanager.amazonaws.com")
            self.assertEqual(c["resources"][0]["ARN"], arn)
            self.assertIsNone(c["responseElements"])

    def test_seed_api_key_lambda(self):
        key = canary("msk_test_" + uuid.uuid4().hex)
        provider = os.path.join(TMP, f"provider-{uid()}.json")
        with open(provider, "w") as f:
            json.dump({"keys": [key]}, f)
        value = json.dumps({"apiKey": key, "organizationId": "org-e2e", "projectId": "proj-e2e"})
        arn = self.new_secret("test-only-seed", value)
        role = make_role(f"api-key-test-{uid()}", ROTATION_ACTIONS, arn)
        fn = register_exec(f"api-key-test-{uid()}", python_function(API_KEY_MODULE), role_arn=role,
                           env={"API_PROVIDER_STATE": provider})
        self.check_test_only(arn, value, fn, 90)
        with open(provider) as f:
            self.assertEqual([key], json.load(f)["keys"], "a test changes nothing at the provider")


# =============================================================================================
# e. CancelRotateSecret
# =============================================================================================
class CancelRotationTest(RotationCase):

    def test_cancel_turns_rotation_off(self):
        arn = self.new_secret("cancel", json.dumps({"apiKey": canary("c-" + uuid.uuid4().hex)}))
        fn = register_builtin(f"api-key-{uid()}", "random-api-key")
        sm().rotate_secret(SecretId=arn, RotationLambdaARN=fn,
                           RotationRules={"ScheduleExpression": "cron(0 4 ? * MON *)",
                                          "Duration": "2h"}, RotateImmediately=False)
        wait_event(arn, "TestRotationSucceeded", fail_on=("TestRotationFailed",))
        d = sm().describe_secret(SecretId=arn)
        self.assertIs(True, d["RotationEnabled"])
        self.assertEqual({"ScheduleExpression": "cron(0 4 ? * MON *)", "Duration": "2h"},
                         d["RotationRules"])
        # The next window opens on a Monday at 04:00 UTC, within a week.
        nxt = epoch_of(d["NextRotationDate"])
        self.assertEqual((0, 4, 0), (nxt.weekday(), nxt.hour, nxt.minute), nxt)
        self.assertLess(nxt - now_utc(), datetime.timedelta(days=7))
        out = aws_json(self, "secretsmanager", "cancel-rotate-secret", "--secret-id", arn)
        self.assertEqual(arn, out["ARN"])
        self.assertNotIn("VersionId", out, "no rotation was under way")
        d = sm().describe_secret(SecretId=arn)
        self.assertIs(False, d["RotationEnabled"])
        self.assertNotIn("NextRotationDate", d)
        listed = [s for s in sm().list_secrets(Filters=[{"Key": "name", "Values": [d["Name"]]}])
                  ["SecretList"] if s["ARN"] == arn]
        self.assertIs(False, listed[0]["RotationEnabled"])
        self.assertNotIn("NextRotationDate", listed[0])

    def test_cancel_during_a_failed_rotation(self):
        original = canary("cancel-" + uuid.uuid4().hex)
        arn = self.new_secret("cancel-failed", json.dumps({"password": original}))
        marker = os.path.join(TMP, f"fail-{uid()}")
        open(marker, "w").close()
        role = make_role(f"cancel-{uid()}", ROTATION_ACTIONS, arn)
        fn = register_exec(f"cancel-{uid()}", tmp_function("flaky_rotation.py"),
                           role_arn=role, env={"FAIL_MARKER": marker})
        token = sm().rotate_secret(SecretId=arn, RotationLambdaARN=fn,
                                   RotationRules={"AutomaticallyAfterDays": 7})["VersionId"]
        wait_event(arn, "RotationFailed")
        canary(json.loads(value_of(arn, "AWSPENDING", token))["password"])
        out = sm().cancel_rotate_secret(SecretId=arn)
        self.assertEqual(token, out.get("VersionId"),
                         "CancelRotateSecret returns the version the cancelled rotation created")
        d = sm().describe_secret(SecretId=arn)
        self.assertIs(False, d["RotationEnabled"])
        self.assertNotIn("NextRotationDate", d)
        self.assertEqual(["AWSPENDING"], d["VersionIdsToStages"][token], "AWSPENDING stays")
        self.assertEqual(json.dumps({"password": original}), value_of(arn))
        # Until the operator removes that AWSPENDING, no new rotation can start.
        os.unlink(marker)
        self.assertClientError("InvalidRequestException", sm().rotate_secret, SecretId=arn,
                               message="A previous rotation isn't complete")
        sm().update_secret_version_stage(SecretId=arn, VersionStage="AWSPENDING",
                                         RemoveFromVersionId=token)
        token2 = sm().rotate_secret(SecretId=arn)["VersionId"]
        self.assertNotEqual(token, token2)
        wait_current(arn, token2)
        canary(json.loads(value_of(arn))["password"])
        self.assertIs(True, sm().describe_secret(SecretId=arn)["RotationEnabled"])


# =============================================================================================
# f. Errors
# =============================================================================================
class RotateSecretErrorsTest(RotationCase):

    @classmethod
    def setUpClass(cls):
        cls.fn = register_builtin(f"errors-{uid()}", "random-api-key")

    def raw_rotate(self, body):
        resp = SERVER.signed_json_request("secretsmanager.RotateSecret", body)
        data = resp.json() if resp.body else {}
        code = sanitize_error_type(data.get("__type") or resp.header("x-amzn-errortype"))
        return resp.status, code, data

    def assertNotEnabled(self, arn):
        d = sm().describe_secret(SecretId=arn)
        self.assertNotEqual(True, d.get("RotationEnabled"), d)
        self.assertNotIn("NextRotationDate", d)

    def test_unknown_function_is_access_denied(self):
        arn = self.new_secret("errors", json.dumps({"apiKey": canary("e-" + uuid.uuid4().hex)}))
        exc = self.assertClientError(
            "AccessDeniedException", sm().rotate_secret, SecretId=arn,
            RotationLambdaARN=function_arn(f"no-such-function-{uid()}"),
            RotationRules={"AutomaticallyAfterDays": 30},
            message="Secrets Manager cannot invoke the specified Lambda function")
        self.assertEqual(400, exc.response["ResponseMetadata"]["HTTPStatusCode"])
        self.assertNotEnabled(arn)
        self.assertEqual([], event_names(arn))

    def test_no_function_ever_set(self):
        arn = self.new_secret("errors", json.dumps({"apiKey": canary("e-" + uuid.uuid4().hex)}))
        self.assertClientError("InvalidRequestException", sm().rotate_secret, SecretId=arn)
        self.assertNotEnabled(arn)

    def test_bad_rules_are_invalid_parameter(self):
        arn = self.new_secret("errors", json.dumps({"apiKey": canary("e-" + uuid.uuid4().hex)}))
        bad = {
            "rate(1 minute)": {"ScheduleExpression": "rate(1 minute)"},
            "AutomaticallyAfterDays 0": {"AutomaticallyAfterDays": 0},
            "days and an expression": {"AutomaticallyAfterDays": 30,
                                       "ScheduleExpression": "rate(10 days)"},
            "cron with both day-of-month and day-of-week": {
                "ScheduleExpression": "cron(0 16 1 * MON *)"},
            "AutomaticallyAfterDays 1001": {"AutomaticallyAfterDays": 1001},
            "rate(3 hours)": {"ScheduleExpression": "rate(3 hours)"},
            "Duration 25h": {"ScheduleExpression": "cron(0 4 ? * MON *)", "Duration": "25h"},
            # "The window must not extend into the next rotation window or the next UTC day."
            "a window into the next rotation window": {"ScheduleExpression": "rate(5 hours)",
                                                       "Duration": "6h"},
        }
        for what, rules in bad.items():
            with self.subTest(what):
                status, code, body = self.raw_rotate({"SecretId": arn, "RotationLambdaARN": self.fn,
                                                      "RotationRules": rules})
                # AutomaticallyAfterDays 0 breaks the API model's own constraint (min 1), which
                # AWS's front end may answer with ValidationException ("1 validation error
                # detected ...") before Secrets Manager sees it; the others are
                # InvalidParameterException from Secrets Manager itself.
                codes = (("InvalidParameterException", "ValidationException")
                         if what.startswith("AutomaticallyAfterDays ")
                         else ("InvalidParameterException",))
                self.assertEqual(400, status, body)
                self.assertIn(code, codes, body)
        # boto3 / the AWS CLI reach the same answer for what they let through.
        self.assertClientError("InvalidParameterException", sm().rotate_secret, SecretId=arn,
                               RotationLambdaARN=self.fn,
                               RotationRules={"ScheduleExpression": "rate(1 minute)"})
        proc = aws("secretsmanager", "rotate-secret", "--secret-id", arn, "--rotation-lambda-arn",
                   self.fn, "--rotation-rules", '{"ScheduleExpression": "cron(0 16 1 * MON *)"}')
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("(InvalidParameterException)", proc.stderr)
        self.assertNotEnabled(arn)
        self.assertEqual([], event_names(arn))

    def test_window_into_the_next_utc_day_is_invalid(self):
        # RotationRulesType.Duration: "The window must not extend into the next rotation window
        # or the next UTC day." 22:00 + 4h ends at 02:00 the next day.
        arn = self.new_secret("errors", json.dumps({"apiKey": canary("e-" + uuid.uuid4().hex)}))
        status, code, body = self.raw_rotate({
            "SecretId": arn, "RotationLambdaARN": self.fn, "RotateImmediately": False,
            "RotationRules": {"ScheduleExpression": "cron(0 22 * * ? *)", "Duration": "4h"}})
        self.assertEqual((400, "InvalidParameterException"), (status, code), body)
        self.assertNotEnabled(arn)

    def test_deleted_secret_is_invalid_request(self):
        arn = self.new_secret("errors", json.dumps({"apiKey": canary("e-" + uuid.uuid4().hex)}))
        sm().delete_secret(SecretId=arn, RecoveryWindowInDays=7)
        self.assertClientError("InvalidRequestException", sm().rotate_secret, SecretId=arn,
                               RotationLambdaARN=self.fn,
                               RotationRules={"AutomaticallyAfterDays": 30})


# =============================================================================================
# g. Built-in rotators
# =============================================================================================
class BuiltinRotatorsTest(RotationCase):

    def test_random_api_key_keeps_other_members(self):
        old_key = canary("old-" + uuid.uuid4().hex)
        body = {"apiKey": old_key, "owner": "payments-team"}
        arn = self.new_secret("builtin-api-key", json.dumps(body))
        # As an execution role that may do exactly what the rotator needs.
        role = make_role(f"api-key-builtin-{uid()}", ROTATION_ACTIONS, arn, extra_statements=[
            {"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}])
        fn = register_builtin(f"api-key-{uid()}", "random-api-key", role_arn=role)
        old_version = version_with(arn, "AWSCURRENT")
        token = sm().rotate_secret(SecretId=arn, RotationLambdaARN=fn,
                                   RotationRules={"AutomaticallyAfterDays": 90})["VersionId"]
        wait_current(arn, token)
        new = json.loads(value_of(arn))
        canary(new["apiKey"])
        self.assertEqual("payments-team", new["owner"])
        self.assertEqual({"apiKey", "owner"}, set(new))
        self.assertRegex(new["apiKey"], r"^[A-Za-z0-9]{40}$")
        self.assertEqual(body, json.loads(value_of(arn, "AWSPREVIOUS")))
        self.assertEqual(["AWSPREVIOUS"], stages_of(arn)[old_version])
        self.assertEqual(["RotationStarted", "RotationSucceeded"], event_names(arn))
        # Each of the function's calls is in the trail as its execution role's, the new value
        # left out of PutSecretValue's record, with the KMS calls Secrets Manager made for it.
        steps = {"GetSecretValue", "PutSecretValue", "DescribeSecret", "UpdateSecretVersionStage"}
        calls = function_calls(arn, "random-api-key", steps)
        self.assertLessEqual(steps, {c["eventName"] for c in calls})
        for c in calls:
            self.assertEqual(c["userIdentity"]["type"], "AssumedRole")
            self.assertEqual(c["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"], role)
        put = next(c for c in calls if c["eventName"] == "PutSecretValue")
        self.assertEqual(put["requestParameters"]["secretId"], arn)
        self.assertEqual(put["requestParameters"]["versionStages"], ["AWSPENDING"])
        self.assertNotIn("secretString", put["requestParameters"])
        self.assertNotIn(new["apiKey"], json.dumps(calls))
        ct = SERVER.client("cloudtrail")
        session = put["userIdentity"]["arn"].split("/")[-1]
        kms = [json.loads(e["CloudTrailEvent"]) for e in ct.lookup_events(LookupAttributes=[
            {"AttributeKey": "Username", "AttributeValue": session}])["Events"]
            if e["EventSource"] == "kms.amazonaws.com"]
        self.assertTrue(kms)
        self.assertEqual({"secretsmanager.amazonaws.com"},
                         {k["userIdentity"]["invokedBy"] for k in kms})

    def test_hmac_signing_key_blue_green(self):
        old_secret = canary(uuid.uuid4().hex + uuid.uuid4().hex)
        body = {"secret": old_secret, "algorithm": "HS256", "issuer": "mistersmith", "expiry": "1h"}
        arn = self.new_secret("mistersmith/app/jwt", json.dumps(body))
        fn = register_builtin(f"jwt-{uid()}", "hmac-signing-key")  # no role: the account root
        token = sm().rotate_secret(SecretId=arn, RotationLambdaARN=fn,
                                   RotationRules={"AutomaticallyAfterDays": 180})["VersionId"]
        wait_current(arn, token)
        new = json.loads(value_of(arn))
        canary(new["secret"])
        self.assertRegex(new["secret"], r"^[0-9a-f]{64}$")
        self.assertNotEqual(old_secret, new["secret"])
        self.assertEqual({k: v for k, v in body.items() if k != "secret"},
                         {k: v for k, v in new.items() if k != "secret"})
        # Blue-green: tokens signed with the old key still verify while AWSPREVIOUS holds it.
        self.assertEqual(old_secret, json.loads(value_of(arn, "AWSPREVIOUS"))["secret"])
        # A second rotation moves the first new key to AWSPREVIOUS.
        token2 = sm().rotate_secret(SecretId=arn)["VersionId"]
        wait_current(arn, token2)
        newer = json.loads(value_of(arn))
        canary(newer["secret"])
        self.assertEqual(new["secret"], json.loads(value_of(arn, "AWSPREVIOUS"))["secret"])
        self.assertEqual({"RotationStarted": 2, "RotationSucceeded": 2},
                         {n: event_names(arn).count(n) for n in ("RotationStarted",
                                                                  "RotationSucceeded")})


# =============================================================================================
# h. PostgreSQL: the AWS RDS templates' single-user and alternating-users rotation
# =============================================================================================
def pg_literal(text):
    return "'" + text.replace("'", "''") + "'"


class PostgresRotationTest(RotationCase):
    PG = None
    PG_ERROR = None

    @classmethod
    def setUpClass(cls):
        try:
            cls.PG = ThrowawayPostgres()
            cls.addClassCleanup(cls.PG.stop)
            cls.PG.start()
        except Exception as e:  # reported by every test as a FAILURE, not a skip
            cls.PG_ERROR = f"cannot start a throwaway PostgreSQL server: {e}"
            return
        pg = cls.PG
        cls.master_password = canary("Master-" + uuid.uuid4().hex)
        pg.su("CREATE ROLE master WITH LOGIN CREATEROLE PASSWORD "
              + pg_literal(cls.master_password))
        pg.su(f"CREATE ROLE app WITH LOGIN PASSWORD {pg_literal('App-' + uuid.uuid4().hex)}")
        pg.su("CREATE DATABASE appdb OWNER app")
        pg.su("CREATE TABLE orders (id int PRIMARY KEY, item text); "
              "INSERT INTO orders VALUES (1, 'agent'), (2, 'swarm'); "
              "ALTER TABLE orders OWNER TO app", dbname="appdb")

    def setUp(self):
        if self.PG_ERROR:
            self.fail(self.PG_ERROR)

    def fresh_app_password(self):
        """Gives 'app' a new password (each test starts from a known one); drops app_clone."""
        password = canary("App-" + uuid.uuid4().hex)
        self.PG.su(f"ALTER ROLE app WITH PASSWORD {pg_literal(password)}")
        self.PG.su("DROP ROLE IF EXISTS app_clone")
        return password

    def db_secret(self, username, password, **extra):
        return dict({"engine": "postgres", "host": "127.0.0.1", "port": self.PG.port,
                     "username": username, "password": password, "dbname": "appdb"}, **extra)

    def assertLogsIn(self, user, password, msg=""):
        proc = self.PG.psql(user, password, "SELECT current_user", "appdb")
        self.assertEqual(0, proc.returncode, f"{user} should log in {msg}: {describe_proc(proc)}")
        self.assertEqual(user, proc.stdout.strip())

    def assertCannotLogIn(self, user, password, msg=""):
        proc = self.PG.psql(user, password, "SELECT 1", "appdb")
        self.assertNotEqual(0, proc.returncode, f"{user} must not log in {msg}")
        self.assertIn("password authentication failed", proc.stderr)

    def application_reads_orders(self, arn):
        """What the application does: read AWSCURRENT, connect with it, query."""
        creds = json.loads(value_of(arn))
        canary(creds["password"])
        proc = self.PG.psql(creds["username"], creds["password"],
                            "SELECT count(*) FROM orders", creds["dbname"])
        self.assertEqual(0, proc.returncode, describe_proc(proc))
        self.assertEqual("2", proc.stdout.strip())
        return creds

    def test_single_user(self):
        old_password = self.fresh_app_password()
        arn = self.new_secret("mistersmith/aurora/app",
                              json.dumps(self.db_secret("app", old_password)))
        role = make_role(f"pg-single-{uid()}", ROTATION_ACTIONS, arn, extra_statements=[
            {"Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}])
        fn = register_builtin(f"pg-single-{uid()}", "postgres-single-user", role_arn=role)
        self.application_reads_orders(arn)
        out = aws_json(self, "secretsmanager", "rotate-secret", "--secret-id", arn,
                       "--rotation-lambda-arn", fn, "--rotation-rules",
                       '{"AutomaticallyAfterDays": 30}')
        wait_current(arn, out["VersionId"])
        new = self.application_reads_orders(arn)
        self.assertEqual("app", new["username"])
        self.assertNotEqual(old_password, new["password"])
        self.assertEqual({k: v for k, v in self.db_secret("app", "").items() if k != "password"},
                         {k: v for k, v in new.items() if k != "password"})
        self.assertLogsIn("app", new["password"], "with the rotated password")
        self.assertCannotLogIn("app", old_password, "with the old password")
        self.assertEqual(old_password, json.loads(value_of(arn, "AWSPREVIOUS"))["password"])
        self.assertEqual(["RotationStarted", "RotationSucceeded"], event_names(arn))
        self.assertNoSecretIn(json.dumps(rotation_events(arn)), [old_password, new["password"]],
                              "the events")

    def test_alternating_users(self):
        app_password = self.fresh_app_password()
        master_arn = self.new_secret("mistersmith/aurora/master", json.dumps(
            dict(self.db_secret("master", self.master_password), dbname="postgres")))
        arn = self.new_secret("mistersmith/aurora/app-alt", json.dumps(
            self.db_secret("app", app_password, masterarn=master_arn)))
        fn = register_builtin(f"pg-alt-{uid()}", "postgres-alternating-users")  # as the root
        seen = [("app", app_password)]
        for expected_user in ("app_clone", "app"):
            with self.subTest(rotation_to=expected_user):
                token = sm().rotate_secret(SecretId=arn, RotationLambdaARN=fn,
                                           RotationRules={"AutomaticallyAfterDays": 30}
                                           )["VersionId"]
                wait_current(arn, token)
                creds = self.application_reads_orders(arn)
                self.assertEqual(expected_user, creds["username"])
                self.assertEqual(master_arn, creds["masterarn"])
                self.assertLogsIn(expected_user, creds["password"], "with AWSCURRENT")
                previous = json.loads(value_of(arn, "AWSPREVIOUS"))
                self.assertEqual(seen[-1], (previous["username"], previous["password"]))
                # Alternating users: the previous user still works until its next turn.
                self.assertLogsIn(previous["username"], previous["password"], "(AWSPREVIOUS)")
                seen.append((creds["username"], creds["password"]))
        # The master secret was only read.
        self.assertEqual(self.master_password, json.loads(value_of(master_arn))["password"])
        self.assertEqual(1, len(stages_of(master_arn)))
        self.assertNoSecretIn(json.dumps(rotation_events(arn)),
                              [p for _, p in seen] + [self.master_password], "the events")


# =============================================================================================
# Last: no secret value in any event or in the server's output
# =============================================================================================
class ZzServerOutputTest(unittest.TestCase):

    def test_no_secret_in_events_or_server_output(self):
        global _OUTPUT_CHECKED
        events = json.dumps(all_events())
        leaked = sorted(c for c in CANARIES if c and c in events)
        self.assertEqual([], [c[:6] + "..." for c in leaked], "secret values in the events")
        SERVER.stop(check=True)
        _OUTPUT_CHECKED = True
        output = SERVER.output_text()
        self.assertIn("coffer: listening on", output)
        self.assertGreater(len(CANARIES), 5)
        leaked = sorted(c for c in CANARIES if c and c in output)
        self.assertEqual([], [c[:6] + "..." for c in leaked],
                         "secret values appeared in coffer's stdout or stderr")


if __name__ == "__main__":
    unittest.main()
