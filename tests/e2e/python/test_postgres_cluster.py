"""End-to-end tests of several coffer nodes serving one PostgreSQL store (`coffer server --store
postgresql://...` on each, a data directory apiece holding a copy of the first node's root.key),
as behind a load balancer:

* a write acknowledged by one node is what every other node answers at once: a secret's new
  value and its AWSCURRENT label, an access key deleted, a policy that now denies, a KMS key
  disabled — no node serves from a stale cache;
* of three nodes under writes, one killed with SIGKILL loses no acknowledged write (its own
  or the others'), and the survivors go on serving;
* under mixed load (reads and writes through every node), the node running a rotation is killed
  in the middle and another node mid-write: the last node finishes the rotation once the dead
  one has been silent for the lease's grace (15 s), the function's steps resume where they were,
  the secret ends with one AWSCURRENT and one AWSPREVIOUS, RotationSucceeded is emitted once, no
  acknowledged write is lost and no version is left without its labels;
* PostgreSQL restarted under that load: every node answers ServiceUnavailable (retryable) while
  it is down, never a wrong value, and serves again without a restart, its cache coherent;
* the built-in alarms count what every node served: refusals and bad signatures split across
  two nodes, each under the threshold alone, turn the alarms to ALARM;
* GET /coffer/nodes and `coffer operator nodes` (operator only) list the nodes, alive or
  silent; `coffer operator status` with the operator's credentials tells which are sealed;
* a node started without a copy of root.key is refused, saying where to get one.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import DEFAULT_REGION, CofferServer, coffer_binary, error_code
from throwaway_postgres import ThrowawayPostgres

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
RUNNER = os.path.join(REPO_ROOT, "tools", "coffer-lambda-runner.py")
POLL_SECONDS = 0.2
# A node silent this long loses its leases (app/cluster_membership.h), plus the rotation
# engine's poll and a margin for a loaded machine.
TAKEOVER_SECONDS = 45.0

LAMBDA_TRUST_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}

# A rotation function that stays in setSecret, the first time it gets there, until it is killed
# with its node; it writes down every step it is called for and the node that called it.
HOLDING_FUNCTION = r'''
import os, secrets, time
import boto3

def lambda_handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    with open(os.environ["CALLS_FILE"], "a") as f:
        f.write(step + " " + os.environ["AWS_ENDPOINT_URL"] + "\n")
    sm = boto3.client("secretsmanager")
    if step == "createSecret":
        try:
            sm.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        except sm.exceptions.ResourceNotFoundException:
            sm.put_secret_value(SecretId=arn, ClientRequestToken=token,
                                SecretString=secrets.token_hex(16), VersionStages=["AWSPENDING"])
    elif step == "setSecret":
        hold = os.environ["HOLD_FILE"]
        if not os.path.exists(hold):
            with open(hold, "w") as f:
                f.write(str(os.getpid()))
            time.sleep(300)
    elif step == "finishSecret":
        described = sm.describe_secret(SecretId=arn)
        current = next(v for v, stages in described["VersionIdsToStages"].items()
                       if "AWSCURRENT" in stages)
        if current != token:
            sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                           MoveToVersionId=token, RemoveFromVersionId=current)
'''


def wait_for(what, probe, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(POLL_SECONDS)


# Secrets Manager keeps about 100 versions of a secret: the log secrets stop short of that.
MAX_LOGGED = 90


class MixedLoad:
    """Clients on every node at once: a writer per node creating secrets ("value of NAME") and
    putting a counter into that node's log secret (its first MAX_LOGGED), and a reader per node reading secrets whose
    values never change. It keeps what each node acknowledged, every answer a reader got that was
    not the value, and the error codes each node answered while it was running."""

    def __init__(self, nodes, fixed):
        self.nodes = nodes
        self.fixed = fixed  # name -> value, created before the load starts
        self.acknowledged = {n: [] for n in nodes}
        self.logged = {n: [] for n in nodes}    # counters PutSecretValue acknowledged
        self.attempted = {n: None for n in nodes}  # the counter last sent
        self.wrong = []
        self.errors = {n: [] for n in nodes}
        self.reads = {n: 0 for n in nodes}
        self.stop_event = threading.Event()
        self.threads = []

    @staticmethod
    def log_name(node):
        return f"log-{node.port}"

    def start(self):
        for node in self.nodes:
            node.client("secretsmanager").create_secret(Name=self.log_name(node),
                                                        SecretString="0")
        for node in self.nodes:
            for target in (self.write, self.read):
                t = threading.Thread(target=target, args=(node,), daemon=True)
                t.start()
                self.threads.append(t)

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(60)

    def failed(self, node, exc):
        """Keeps the error of a running node; False once the node is gone."""
        if not node.running():
            return False
        code = error_code(exc) if isinstance(exc, ClientError) else type(exc).__name__
        self.errors[node].append(code)
        time.sleep(0.05)
        return True

    def write(self, node):
        sm = node.client("secretsmanager")
        i = 0
        while not self.stop_event.is_set():
            name = f"w-{node.port}-{i}"
            try:
                sm.create_secret(Name=name, SecretString="value of " + name)
                self.acknowledged[node].append(name)
                i += 1
                if i > MAX_LOGGED:
                    continue
                self.attempted[node] = str(i)
                sm.put_secret_value(SecretId=self.log_name(node), SecretString=str(i))
                self.logged[node].append(str(i))
            except Exception as exc:  # noqa: BLE001 - an error acknowledges nothing
                if not self.failed(node, exc):
                    return

    def read(self, node):
        sm = node.client("secretsmanager")
        names = sorted(self.fixed)
        i = 0
        while not self.stop_event.is_set():
            name = names[i % len(names)]
            i += 1
            try:
                got = sm.get_secret_value(SecretId=name)["SecretString"]
            except Exception as exc:  # noqa: BLE001 - checked by the test
                if not self.failed(node, exc):
                    return
                continue
            self.reads[node] += 1
            if got != self.fixed[name]:
                self.wrong.append((node.port, name, got))

    def check_nothing_lost(self, test, reader):
        """Every acknowledged write is in the store, read through `reader`; each log secret's
        AWSCURRENT is its last acknowledged counter, or one sent after it whose answer was lost
        with its node; its labels are whole: one AWSCURRENT, and one AWSPREVIOUS on another
        version."""
        sm = reader.client("secretsmanager")
        listed = {s["Name"] for page in sm.get_paginator("list_secrets").paginate()
                  for s in page["SecretList"]}
        for node, names in self.acknowledged.items():
            for name in names:
                test.assertIn(name, listed)
            for name in names[-3:]:
                test.assertEqual("value of " + name,
                                 sm.get_secret_value(SecretId=name)["SecretString"])
        for node in self.nodes:
            log = self.log_name(node)
            current = sm.get_secret_value(SecretId=log)["SecretString"]
            last = self.logged[node][-1] if self.logged[node] else "0"
            test.assertIn(current, {last, self.attempted[node]}, (node.port, self.logged[node]))
            versions = sm.list_secret_version_ids(SecretId=log)["Versions"]
            stages = [label for v in versions for label in v["VersionStages"]]
            test.assertEqual(1, stages.count("AWSCURRENT"), versions)
            test.assertEqual(1 if len(versions) > 1 else 0, stages.count("AWSPREVIOUS"),
                             versions)


class PostgresClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = ThrowawayPostgres()
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()

    def start_cluster(self, count, extra_args=()):
        """`count` nodes on a new database: the first initialises it, the others start on data
        directories holding a copy of its root.key (the file seal's key)."""
        db = "coffer_" + uuid.uuid4().hex[:12]
        self.pg.su(f"CREATE DATABASE {db}")
        args = ["--store", self.pg.url(db), *extra_args]
        first = CofferServer(extra_args=args)
        self.addCleanup(first.close)
        first.start()
        nodes = [first]
        for i in range(1, count):
            data_dir = os.path.join(first.root, f"node{i}")
            os.mkdir(data_dir, 0o700)
            shutil.copy(os.path.join(first.data_dir, "root.key"), data_dir)
            node = CofferServer(extra_args=args, data_dir=data_dir)
            self.addCleanup(node.close)
            node.start()
            nodes.append(node)
        return nodes

    @staticmethod
    def nodes_seen_by(server):
        resp = server.signed_request(b"", method="GET", path="/coffer/nodes", service="coffer")
        if resp.status != 200:
            raise AssertionError(f"GET /coffer/nodes: {resp}")
        return resp.json()["Nodes"]

    def assertRefused(self, code, call):
        with self.assertRaises(ClientError) as caught:
            call()
        self.assertEqual(code, error_code(caught.exception), caught.exception)

    def test_a_write_on_one_node_is_what_every_node_answers_at_once(self):
        a, b, c = self.start_cluster(3)
        listed = self.nodes_seen_by(b)
        self.assertEqual(3, len(listed), listed)
        self.assertTrue(all(n["Alive"] and not n["Sealed"] for n in listed), listed)
        self.assertEqual(1, sum(1 for n in listed if n["Self"]), listed)
        self.assertEqual(sorted(str(n.port) for n in (a, b, c)),
                         sorted(n["Name"].rsplit(":", 1)[1] for n in listed))

        sm = [n.client("secretsmanager") for n in (a, b, c)]
        arn = sm[0].create_secret(Name="shared", SecretString="v1")["ARN"]
        for client in sm:
            self.assertEqual("v1", client.get_secret_value(SecretId="shared")["SecretString"])
        for round_, writer in enumerate(sm * 2):
            value = f"v{round_ + 2}"
            version = writer.put_secret_value(SecretId=arn, SecretString=value)["VersionId"]
            for reader in sm:
                got = reader.get_secret_value(SecretId=arn)
                self.assertEqual((value, version), (got["SecretString"], got["VersionId"]))

        # Identity: a key made on A works on B; deleted on A, B refuses it on the next call.
        iam = a.client("iam")
        iam.create_user(UserName="reader")
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                                                    "Action": "secretsmanager:GetSecretValue",
                                                    "Resource": "*"}]}))
        user_on_b = b.client("secretsmanager", key_id=key["AccessKeyId"],
                             secret=key["SecretAccessKey"])
        user_on_c = c.client("secretsmanager", key_id=key["AccessKeyId"],
                             secret=key["SecretAccessKey"])
        self.assertEqual("v7", user_on_b.get_secret_value(SecretId=arn)["SecretString"])
        self.assertEqual("v7", user_on_c.get_secret_value(SecretId=arn)["SecretString"])
        # A policy that now denies, put through B, holds on C at once.
        b.client("iam").put_user_policy(
            UserName="reader", PolicyName="deny", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{"Effect": "Deny",
                                                        "Action": "secretsmanager:*",
                                                        "Resource": "*"}]}))
        self.assertRefused("AccessDeniedException", lambda: user_on_c.get_secret_value(
            SecretId=arn))
        c.client("iam").delete_user_policy(UserName="reader", PolicyName="deny")
        self.assertEqual("v7", user_on_b.get_secret_value(SecretId=arn)["SecretString"])
        iam.delete_access_key(UserName="reader", AccessKeyId=key["AccessKeyId"])
        self.assertRefused("UnrecognizedClientException",
                           lambda: user_on_b.get_secret_value(SecretId=arn))
        self.assertRefused("UnrecognizedClientException",
                           lambda: user_on_c.get_secret_value(SecretId=arn))

        # KMS: a key disabled on A is refused by C; enabled again on B, C uses it.
        kms = [n.client("kms") for n in (a, b, c)]
        key_id = kms[0].create_key()["KeyMetadata"]["KeyId"]
        blob = kms[2].encrypt(KeyId=key_id, Plaintext=b"across nodes")["CiphertextBlob"]
        kms[0].disable_key(KeyId=key_id)
        self.assertRefused("DisabledException",
                           lambda: kms[2].encrypt(KeyId=key_id, Plaintext=b"x"))
        kms[1].enable_key(KeyId=key_id)
        self.assertEqual(b"across nodes", kms[2].decrypt(CiphertextBlob=blob)["Plaintext"])

        # Parameters too: the latest version is what every node returns.
        ssm = [n.client("ssm") for n in (a, b, c)]
        for i, writer in enumerate(ssm):
            writer.put_parameter(Name="/shared/p", Value=f"p{i}", Type="SecureString",
                                 Overwrite=True)
            for reader in ssm:
                got = reader.get_parameter(Name="/shared/p", WithDecryption=True)["Parameter"]
                self.assertEqual((f"p{i}", i + 1), (got["Value"], got["Version"]))

    def test_a_node_killed_while_clients_write_loses_no_acknowledged_write(self):
        a, b, c = self.start_cluster(3)
        acknowledged = {a: [], b: [], c: []}
        stop = threading.Event()

        def write(node, prefix):
            sm = node.client("secretsmanager")
            i = 0
            while not stop.is_set():
                name = f"{prefix}-{i}"
                try:
                    sm.create_secret(Name=name, SecretString="value of " + name)
                except Exception:  # noqa: BLE001 - a node killed mid-call acknowledges nothing
                    if not node.running():
                        return
                    continue
                acknowledged[node].append(name)
                i += 1

        writers = [threading.Thread(target=write, args=(node, prefix), daemon=True)
                   for node, prefix in ((a, "via-a"), (b, "via-b"), (c, "via-c"))]
        for t in writers:
            t.start()
        wait_for("writes through both nodes",
                 lambda: all(len(names) >= 20 for names in acknowledged.values()))
        a.kill9()
        counts = {node: len(acknowledged[node]) for node in (b, c)}
        wait_for("writes through the surviving nodes",
                 lambda: all(len(acknowledged[n]) >= counts[n] + 20 for n in (b, c)))
        stop.set()
        for t in writers:
            t.join(30)
        sm_b = b.client("secretsmanager")
        paginator = sm_b.get_paginator("list_secrets")
        listed = {s["Name"] for page in paginator.paginate() for s in page["SecretList"]}
        for name in acknowledged[a] + acknowledged[b] + acknowledged[c]:
            self.assertIn(name, listed)
        for name in acknowledged[a][-5:] + acknowledged[b][-5:] + acknowledged[c][-5:]:
            self.assertEqual("value of " + name,
                             sm_b.get_secret_value(SecretId=name)["SecretString"])
        # The killed node comes back to the same store.
        a.start()
        self.assertEqual("value of " + acknowledged[b][-1], a.client("secretsmanager")
                         .get_secret_value(SecretId=acknowledged[b][-1])["SecretString"])

    def create_fixed(self, node, count=5):
        fixed = {f"fixed-{i}": f"fixed value {i}" for i in range(count)}
        sm = node.client("secretsmanager")
        for name, value in fixed.items():
            sm.create_secret(Name=name, SecretString=value)
        return fixed

    def start_load(self, nodes, fixed):
        load = MixedLoad(nodes, fixed)
        load.start()
        self.addCleanup(load.stop)
        wait_for("reads and writes through every node", lambda: all(
            len(load.acknowledged[n]) >= 10 and load.reads[n] >= 10 for n in nodes))
        return load

    def test_a_database_restarted_under_load_is_served_again_by_every_node(self):
        nodes = self.start_cluster(3)
        load = self.start_load(nodes, self.create_fixed(nodes[0]))
        self.pg.pause()
        try:
            wait_for("every node to answer while the database is down",
                     lambda: all(load.errors[n] for n in nodes))
        finally:
            self.pg.resume()
        before = {n: (len(load.acknowledged[n]), load.reads[n]) for n in nodes}
        wait_for("every node to serve reads and writes again, without a restart", lambda: all(
            len(load.acknowledged[n]) >= before[n][0] + 10 and load.reads[n] >= before[n][1] + 10
            for n in nodes), timeout=60)
        load.stop()
        # During the outage every call failed with the retryable ServiceUnavailable (503), and
        # none was answered with a wrong value.
        self.assertEqual([], load.wrong)
        for n in nodes:
            self.assertTrue(n.running())
            self.assertEqual({"ServiceUnavailable"}, set(load.errors[n]), load.errors[n])
        load.check_nothing_lost(self, nodes[1])
        # The caches are coherent across the reconnected nodes.
        sm = [n.client("secretsmanager") for n in nodes]
        version = sm[2].put_secret_value(SecretId="fixed-0", SecretString="after")["VersionId"]
        for client in sm:
            got = client.get_secret_value(SecretId="fixed-0")
            self.assertEqual(("after", version), (got["SecretString"], got["VersionId"]))

    def test_operator_status_tells_which_node_is_sealed(self):
        a, b = self.start_cluster(2)
        self.operator(b, "seal")
        sealed = self.operator_run(b, "status")
        self.assertEqual(2, sealed.returncode, sealed.stdout + sealed.stderr)
        status = json.loads(sealed.stdout)
        self.assertIs(True, status["Sealed"])
        self.assertNotIn("Nodes", status)  # a sealed node checks no signature

        def both_reported():
            status = json.loads(self.operator(a, "status"))
            by_port = {n["Name"].rsplit(":", 1)[1]: n for n in status.get("Nodes", [])}
            if by_port.get(str(b.port), {}).get("Sealed"):
                return status, by_port
            return None
        status, by_port = wait_for("the other node to tell that B is sealed", both_reported)
        self.assertIs(False, status["Sealed"])
        self.assertEqual({str(a.port), str(b.port)}, set(by_port))
        self.assertEqual((False, True), (by_port[str(a.port)]["Sealed"],
                                         by_port[str(a.port)]["Self"]))
        self.assertEqual((True, False, True), (by_port[str(b.port)]["Sealed"],
                                               by_port[str(b.port)]["Self"],
                                               by_port[str(b.port)]["Alive"]))
        # Without the operator's credentials the status is the node's own.
        anonymous = subprocess.run(
            [coffer_binary(), "operator", "status", "--endpoint", a.endpoint],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                 "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
        self.assertEqual(0, anonymous.returncode, anonymous.stdout + anonymous.stderr)
        self.assertNotIn("Nodes", json.loads(anonymous.stdout))

    def test_the_alarms_count_what_every_node_served(self):
        tmp = tempfile.mkdtemp(prefix="coffer-cluster-alarms-")
        self.addCleanup(shutil.rmtree, tmp, True)
        config = os.path.join(tmp, "alarms.json")
        with open(config, "w") as f:
            json.dump({"Alarms": {"SecretAccessDenied": {"Period": 10, "Threshold": 6},
                                  "UnauthorizedSecretAccess": {"Period": 10, "Threshold": 2}}},
                      f)
        a, b = self.start_cluster(2, extra_args=["--alarms-config", config,
                                                 "--alarm-evaluation-interval", "1"])
        iam = a.client("iam")
        iam.create_user(UserName="stranger")
        key = iam.create_access_key(UserName="stranger")["AccessKey"]
        arn = a.client("secretsmanager").create_secret(Name="guarded",
                                                       SecretString="x")["ARN"]
        strangers = [n.client("secretsmanager", key_id=key["AccessKeyId"],
                              secret=key["SecretAccessKey"]) for n in (a, b)]
        forgers = [n.client("secretsmanager", key_id=key["AccessKeyId"], secret="forged" * 7)
                   for n in (a, b)]
        # Each node alone serves fewer refusals than the thresholds, both together as many: 3
        # calls refused by policy and one forged signature on each, in one 10 s period.
        wait_for("the start of a 10 s period", lambda: time.time() % 10 < 2)
        for stranger, forger in zip(strangers, forgers):
            for _ in range(3):
                self.assertRefused("AccessDeniedException",
                                   lambda: stranger.get_secret_value(SecretId=arn))
            self.assertRefused("InvalidSignatureException",
                               lambda: forger.get_secret_value(SecretId=arn))

        def state(alarm):
            listed = json.loads(self.operator(b, "alarms"))["MetricAlarms"]
            return next((x["StateValue"] for x in listed if x["AlarmName"] == alarm
                         and x["Region"] == DEFAULT_REGION), None)
        wait_for("SecretAccessDenied to count both nodes' refusals",
                 lambda: state("SecretAccessDenied") == "ALARM", timeout=60)
        wait_for("UnauthorizedSecretAccess to count both nodes' bad signatures",
                 lambda: state("UnauthorizedSecretAccess") == "ALARM", timeout=60)

    def test_a_node_needs_a_copy_of_the_root_key(self):
        (first,) = self.start_cluster(1)
        data_dir = os.path.join(first.root, "keyless")
        proc = subprocess.run([coffer_binary(), "server", "--listen", "127.0.0.1:0", "--data-dir",
                               data_dir] + first.extra_args, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("root.key is missing", proc.stderr)
        self.assertIn("Copy root.key (mode 600) from the data directory of a node", proc.stderr)
        self.assertNotIn(self.pg.superuser_password, proc.stdout + proc.stderr)

    @staticmethod
    def operator_run(node, *args):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and not k.startswith("COFFER_")}
        env.update({"AWS_ACCESS_KEY_ID": node.key_id, "AWS_SECRET_ACCESS_KEY": node.secret,
                    "AWS_REGION": DEFAULT_REGION, "AWS_CONFIG_FILE": os.devnull,
                    "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
        return subprocess.run([coffer_binary(), "operator", *args, "--endpoint", node.endpoint],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                              timeout=60)

    def operator(self, node, *args):
        proc = self.operator_run(node, *args)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        return proc.stdout

    def rotation_events(self, node, arn, name):
        events, after = [], 0
        while True:  # the events come in pages of 100
            page = json.loads(self.operator(node, "events", "--after", str(after)))
            if not page["Events"]:
                break
            events += page["Events"]
            after = page["Next"]
        return [e for e in events if e.get("Source") == "aws.secretsmanager"
                and e["Detail"]["eventName"] == name
                and e["Detail"].get("additionalEventData", {}).get("SecretId") == arn]

    def test_a_rotation_whose_node_dies_is_finished_by_another(self):
        nodes = self.start_cluster(3)
        tmp = tempfile.mkdtemp(prefix="coffer-cluster-rotation-")
        self.addCleanup(shutil.rmtree, tmp, True)
        module, calls, hold = (os.path.join(tmp, n) for n in ("holding.py", "calls", "hold"))
        with open(module, "w") as f:
            f.write(HOLDING_FUNCTION)
        self.addCleanup(self.kill_held_function, hold)
        first = nodes[0]
        iam = first.client("iam")
        role = iam.create_role(RoleName="rotator",
                               AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY))["Role"]
        iam.put_role_policy(RoleName="rotator", PolicyName="rotate", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
                "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue",
                "secretsmanager:DescribeSecret", "secretsmanager:UpdateSecretVersionStage"]}]}))
        self.operator(first, "register-function", "--name", "holding", "--kind", "exec",
                      "--role-arn", role["Arn"], "--timeout", "600", "--env",
                      f"CALLS_FILE={calls}", "--env", f"HOLD_FILE={hold}", "--command",
                      sys.executable, RUNNER, module)
        load = self.start_load(nodes, self.create_fixed(first))
        sm = first.client("secretsmanager")
        arn = sm.create_secret(Name="rotated", SecretString="before")["ARN"]
        old = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        sm.rotate_secret(SecretId=arn, RotateImmediately=True, RotationLambdaARN=(
            f"arn:aws:lambda:{DEFAULT_REGION}:{first.account_id}:function:holding"))

        wait_for("the function to reach setSecret", lambda: os.path.exists(hold), timeout=60)
        with open(calls) as f:
            holder_endpoint = f.read().splitlines()[-1].split()[1]
        holder = next(n for n in nodes if n.endpoint.rstrip("/") == holder_endpoint.rstrip("/"))
        survivors = [n for n in nodes if n is not holder]
        holder.kill9()
        # Another node is killed while its clients write; the last one finishes the rotation.
        mid_write = survivors[1]
        written = len(load.acknowledged[mid_write])
        wait_for("writes through the node about to be killed",
                 lambda: len(load.acknowledged[mid_write]) >= written + 5)
        mid_write.kill9()
        survivor = survivors[0]

        def finished():
            stages = survivor.client("secretsmanager").describe_secret(
                SecretId=arn)["VersionIdsToStages"]
            (old_version,) = old
            done = stages.get(old_version) == ["AWSPREVIOUS"] and any(
                "AWSCURRENT" in labels for labels in stages.values())
            return stages if done else None
        stages = wait_for("another node to finish the rotation", finished,
                          timeout=TAKEOVER_SECONDS)
        self.assertEqual(2, len(stages), stages)
        with open(calls) as f:
            steps = [line.split() for line in f.read().splitlines()]
        self.assertEqual(["createSecret", "setSecret"], [s[0] for s in steps[:2]])
        self.assertEqual(["setSecret", "testSecret", "finishSecret"], [s[0] for s in steps[2:]],
                         steps)
        self.assertTrue(all(s[1] != holder_endpoint for s in steps[2:]), steps)
        # The events are the store's: every node lists the same ones.
        for name in ("RotationStarted", "RotationSucceeded"):
            self.assertEqual(1, len(self.rotation_events(survivor, arn, name)), name)
        new_value = survivor.client("secretsmanager").get_secret_value(SecretId=arn)
        self.assertNotEqual("before", new_value["SecretString"])
        # Under the load, nothing acknowledged was lost, no read was wrong, and the surviving
        # node answered every call.
        written = len(load.acknowledged[survivor])
        wait_for("writes through the survivor",
                 lambda: len(load.acknowledged[survivor]) >= written + 5)
        load.stop()
        self.assertEqual([], load.wrong)
        self.assertEqual([], load.errors[survivor])
        load.check_nothing_lost(self, survivor)
        # The dead nodes are listed as silent (15 s after their last report) until they come
        # back.

        def silent(node):
            listed = {n["Name"].rsplit(":", 1)[1]: n
                      for n in json.loads(self.operator(survivor, "nodes"))["Nodes"]}
            return not listed[str(node.port)]["Alive"]
        self.assertTrue(silent(holder))
        wait_for("the node killed mid-write to be listed as silent", lambda: silent(mid_write))

    @staticmethod
    def kill_held_function(hold):
        try:
            with open(hold) as f:
                os.kill(int(f.read()), 9)
        except (OSError, ValueError):
            pass


if __name__ == "__main__":
    unittest.main()
