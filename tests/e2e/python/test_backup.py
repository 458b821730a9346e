"""End-to-end tests of backups: `coffer backup create|verify|restore` and scheduled backups
(`coffer server --backup-dir`), against real servers.

* A backup taken while clients write holds every write acknowledged before it began; the
  server restored from it answers reads as the original did: secret values by version, stages,
  resource policies and tags, parameter histories with labels, KMS keys, aliases and
  ciphertexts, IAM users, roles and policies, and the original's access keys.
* A backup opens only with its seal's unseal material; a changed or cut backup is refused by
  verify and by restore; a restore killed part way leaves a directory no server starts on.
* Scheduled backups appear in their directory, are pruned to the retention count, and each is
  an event (aws.backup, Backup Job State Change) and a metric.
* Only the deployment operator may take a backup; no secret value is in a backup file (they are
  encrypted twice) or in anything the commands print.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from coffer_server import (ACCOUNT_ID, DEFAULT_KEY_ID, DEFAULT_SECRET, CofferServer, coffer_binary,
                           error_code)

CLI_TIMEOUT_SECONDS = 120


def child_env(key_id=None, secret=None, extra=None):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("COFFER_") or name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                  "AWS_SESSION_TOKEN", "AWS_PROFILE"):
            del env[name]
    if key_id is not None:
        env["AWS_ACCESS_KEY_ID"] = key_id
        env["AWS_SECRET_ACCESS_KEY"] = secret
    env.update(extra or {})
    return env


def run_coffer(args, env=None, input_text=None):
    kwargs = {"input": input_text} if input_text is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run([coffer_binary()] + list(args), capture_output=True, text=True,
                          encoding="utf-8", errors="replace", start_new_session=True,
                          env=env if env is not None else child_env(),
                          timeout=CLI_TIMEOUT_SECONDS, **kwargs)


def describe(proc):
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def canary(kind):
    return f"COFFER-BACKUP-CANARY-{kind}-{uuid.uuid4().hex}"


class BackupCase(unittest.TestCase):
    maxDiff = None

    def new_tmp(self):
        path = tempfile.mkdtemp(prefix="coffer-e2e-backup-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def server(self, **kwargs):
        server = CofferServer(**kwargs)
        self.addCleanup(server.close)
        server.start()
        return server

    def create_backup(self, server, path, key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET):
        return run_coffer(["backup", "create", "--to", path, "--endpoint", server.endpoint],
                          env=child_env(key_id, secret))

    def assert_no_canary(self, canaries, *texts_or_files):
        for item in texts_or_files:
            if os.path.isfile(item):
                with open(item, "rb") as f:
                    data = f.read()
            else:
                data = item.encode("utf-8")
            for value in canaries:
                self.assertNotIn(value.encode("utf-8"), data, f"a secret value is in {item[:80]!r}")


# Everything a restored server must answer identically.
def populate(server):
    sm = server.client("secretsmanager")
    ssm = server.client("ssm")
    kms = server.client("kms")
    iam = server.client("iam")
    values = []
    key = kms.create_key(Description="backup test key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/bk-key", TargetKeyId=key)
    plaintext = canary("kms").encode()
    values.append(plaintext.decode())
    blob = kms.encrypt(KeyId=key, Plaintext=plaintext)["CiphertextBlob"]
    for i in range(4):
        first = canary(f"secret{i}-v1")
        second = canary(f"secret{i}-v2")
        values += [first, second]
        # Odd ones under the customer managed key, even ones under aws/secretsmanager.
        extra = {"KmsKeyId": key} if i % 2 else {}
        sm.create_secret(Name=f"bk-secret-{i}", SecretString=first,
                         Tags=[{"Key": "team", "Value": f"t{i}"}], **extra)
        sm.put_secret_value(SecretId=f"bk-secret-{i}", SecretString=second,
                            VersionStages=["AWSCURRENT", "CUSTOM"])
    binary = os.urandom(64)
    sm.create_secret(Name="bk-binary", SecretBinary=binary)
    sm.put_resource_policy(SecretId="bk-secret-0", ResourcePolicy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                       "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]}))
    for i in range(3):
        secure = canary(f"param{i}")
        values.append(secure)
        ssm.put_parameter(Name=f"/bk/secure-{i}", Value=secure, Type="SecureString")
        ssm.put_parameter(Name=f"/bk/secure-{i}", Value=secure + "-2", Type="SecureString",
                          Overwrite=True)
        ssm.label_parameter_version(Name=f"/bk/secure-{i}", ParameterVersion=1, Labels=["first"])
    ssm.put_parameter(Name="/bk/plain", Value="a,b,c", Type="StringList",
                      Tags=[{"Key": "env", "Value": "test"}])
    iam.create_user(UserName="bk-user", Path="/bk/")
    iam.put_user_policy(UserName="bk-user", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
                       "Resource": "*"}]}))
    access_key = iam.create_access_key(UserName="bk-user")["AccessKey"]
    iam.create_role(RoleName="bk-role", Path="/bk/", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                       "Action": "sts:AssumeRole"}]}))
    return {"key": key, "blob": blob, "values": values, "binary": binary,
            "user_key": (access_key["AccessKeyId"], access_key["SecretAccessKey"])}


def strip(response, *drop):
    out = dict(response)
    out.pop("ResponseMetadata", None)
    for name in drop:
        out.pop(name, None)
    return out


def dump(server, populated):
    """What a client reads of the populated state."""
    sm = server.client("secretsmanager")
    ssm = server.client("ssm")
    kms = server.client("kms")
    iam = server.client("iam")
    state = {}
    names = sorted(s["Name"] for s in sm.list_secrets(
        Filters=[{"Key": "name", "Values": ["bk-"]}])["SecretList"])
    for name in names:
        versions = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
        by_version = {}
        for v in versions:
            got = sm.get_secret_value(SecretId=name, VersionId=v["VersionId"])
            by_version[v["VersionId"]] = (sorted(v["VersionStages"]), got.get("SecretString"),
                                          got.get("SecretBinary"), got["CreatedDate"])
        state[name] = {"describe": strip(sm.describe_secret(SecretId=name), "LastAccessedDate"),
                       "versions": by_version,
                       "policy": sm.get_resource_policy(SecretId=name).get("ResourcePolicy")}
    for name in sorted(p["Name"] for p in ssm.describe_parameters(
            ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/bk"]}])
            ["Parameters"]):
        state[name] = {
            "history": ssm.get_parameter_history(Name=name, WithDecryption=True)["Parameters"],
            "tags": ssm.list_tags_for_resource(ResourceType="Parameter",
                                               ResourceId=name)["TagList"]}
    state["kms"] = {"key": strip(kms.describe_key(KeyId=populated["key"])["KeyMetadata"]),
                    "aliases": [a for a in kms.list_aliases()["Aliases"]
                                if a["AliasName"] == "alias/bk-key"],
                    "plaintext": kms.decrypt(CiphertextBlob=populated["blob"])["Plaintext"]}
    state["iam"] = {"users": iam.list_users(PathPrefix="/bk/")["Users"],
                    "roles": [strip(r, "RoleLastUsed") for r in
                              iam.list_roles(PathPrefix="/bk/")["Roles"]],
                    "policy": iam.get_user_policy(UserName="bk-user", PolicyName="read")
                    ["PolicyDocument"]}
    return state


class BackupRestoreTest(BackupCase):
    def test_a_backup_under_writes_restores_every_acknowledged_write_and_the_same_answers(self):
        original = self.server()
        populated = populate(original)
        before = dump(original, populated)

        # Writers keep going through the backup; each write is timed at its acknowledgement.
        acknowledged = []  # (monotonic time acknowledged, name, value)
        stop = threading.Event()
        errors = []

        def writer(tag):
            sm = original.client("secretsmanager")
            ssm = original.client("ssm")
            i = 0
            while not stop.is_set():
                i += 1
                value = canary(f"w{tag}-{i}")
                try:
                    if i % 2:
                        sm.create_secret(Name=f"w{tag}-{i}", SecretString=value)
                    else:
                        ssm.put_parameter(Name=f"/w{tag}/{i}", Value=value, Type="SecureString")
                except Exception as e:  # noqa: BLE001 - reported below
                    errors.append(repr(e))
                    return
                acknowledged.append((time.monotonic(), f"w{tag}-{i}" if i % 2 else
                                     f"/w{tag}/{i}", value))

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(2)]
        for t in threads:
            t.start()

        def wait_for(predicate, what):
            deadline = time.monotonic() + 60
            while not predicate() and not errors:
                self.assertLess(time.monotonic(), deadline, what)
                time.sleep(0.05)

        # Polled, not slept: a sanitized server takes far longer per write.
        wait_for(lambda: len(acknowledged) > 10, "the writers write before the backup")
        path = os.path.join(self.new_tmp(), "backup.cbk")
        began = time.monotonic()
        proc = self.create_backup(original, path)
        wait_for(lambda: any(a[0] > began for a in list(acknowledged)),
                 "the writers write during the backup")
        stop.set()
        for t in threads:
            t.join(30)
        self.assertEqual([], errors)
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertRegex(proc.stdout, r"backup written to .*backup\.cbk")
        self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        must_have = [a for a in acknowledged if a[0] < began]
        self.assertGreater(len(must_have), 5, "the writers wrote before the backup began")
        self.assertTrue(any(a[0] > began for a in acknowledged), "writes went on during it")

        canaries = populated["values"] + [a[2] for a in acknowledged]
        self.assert_no_canary(canaries, path, proc.stdout, proc.stderr)

        root_key = os.path.join(original.data_dir, "root.key")
        verified = run_coffer(["backup", "verify", path, "--root-key", root_key])
        self.assertEqual(0, verified.returncode, describe(verified))
        self.assertIn("is sound", verified.stdout)

        restored_dir = os.path.join(self.new_tmp(), "restored")
        restore = run_coffer(["backup", "restore", "--from", path, "--data-dir", restored_dir,
                              "--root-key", root_key])
        self.assertEqual(0, restore.returncode, describe(restore))
        self.assert_no_canary(canaries, restore.stdout, restore.stderr)
        restored = self.server(data_dir=restored_dir, use_env_credentials=False)

        self.assertEqual(before, dump(restored, populated))
        sm = restored.client("secretsmanager")
        ssm = restored.client("ssm")
        for _, name, value in must_have:
            if name.startswith("/"):
                got = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
            else:
                got = sm.get_secret_value(SecretId=name)["SecretString"]
            self.assertEqual(value, got, name)
        # Writes during the backup are there whole or not at all.
        for _, name, value in acknowledged:
            try:
                got = (ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
                       if name.startswith("/") else sm.get_secret_value(SecretId=name)
                       ["SecretString"])
                self.assertEqual(value, got, name)
            except Exception as e:  # noqa: BLE001
                self.assertIn(error_code(e), ("ResourceNotFoundException", "ParameterNotFound"))
        # The original's access keys work on the restored server, IAM users' too.
        user_id, user_secret = populated["user_key"]
        got = restored.client("secretsmanager", key_id=user_id, secret=user_secret) \
            .get_secret_value(SecretId="bk-secret-0")["SecretString"]
        self.assertTrue(got.startswith("COFFER-BACKUP-CANARY-secret0-v2"))
        for output in (restored.output_text(), original.output_text()):
            self.assert_no_canary(canaries, output)

    def test_only_the_deployment_operator_may_take_a_backup(self):
        server = self.server()
        iam = server.client("iam")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        path = os.path.join(self.new_tmp(), "b.cbk")
        proc = self.create_backup(server, path, key["AccessKeyId"], key["SecretAccessKey"])
        self.assertEqual(1, proc.returncode, describe(proc))
        self.assertIn("AccessDenied", proc.stderr)
        self.assertFalse(os.path.exists(path))
        self.assertFalse(os.path.exists(path + ".partial"))
        other = run_coffer(["operator", "create-account", "--endpoint", server.endpoint],
                           env=child_env(DEFAULT_KEY_ID, DEFAULT_SECRET))
        self.assertEqual(0, other.returncode, describe(other))
        other_id = other.stdout.split("Root access key id: ")[1].split()[0]
        other_secret = other.stdout.split("Root secret access key: ")[1].split()[0]
        proc = self.create_backup(server, path, other_id, other_secret)
        self.assertEqual(1, proc.returncode, describe(proc))
        self.assertIn("Only the deployment operator", proc.stderr)
        resp = server.raw_request("GET", "/coffer/backups/part?BackupId=x")
        self.assertIn(resp.status, (400, 403), resp.body)


class BackupIntegrityTest(BackupCase):
    @classmethod
    def setUpClass(cls):
        cls.original = CofferServer()
        cls.addClassCleanup(cls.original.close)
        cls.original.start()
        sm = cls.original.client("secretsmanager")
        # Enough to need several parts, and a restore that takes a moment.
        for i in range(48):
            sm.create_secret(Name=f"big-{i}", SecretString=canary(f"big{i}") + "x" * 60000)
        cls.tmp = tempfile.mkdtemp(prefix="coffer-e2e-backup-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.backup = os.path.join(cls.tmp, "good.cbk")
        proc = run_coffer(["backup", "create", "--to", cls.backup, "--endpoint",
                           cls.original.endpoint], env=child_env(DEFAULT_KEY_ID, DEFAULT_SECRET))
        assert proc.returncode == 0, describe(proc)
        cls.root_key = os.path.join(cls.original.data_dir, "root.key")

    def refused_start(self, data_dir):
        proc = subprocess.run([coffer_binary(), "server", "--listen", "127.0.0.1:0", "--data-dir",
                               data_dir], capture_output=True, text=True, timeout=30,
                              stdin=subprocess.DEVNULL, env=child_env())
        return proc.returncode, proc.stdout + proc.stderr

    def test_a_changed_or_truncated_backup_is_refused_by_verify_and_restore(self):
        with open(self.backup, "rb") as f:
            good = f.read()
        cases = {
            "flipped": good[:len(good) // 2] + bytes([good[len(good) // 2] ^ 1]) +
            good[len(good) // 2 + 1:],
            "truncated": good[:len(good) - 1000],
            "header": good[:40] + bytes([good[40] ^ 1]) + good[41:],
            "empty": b"",
        }
        for name, data in cases.items():
            with self.subTest(name):
                path = os.path.join(self.new_tmp(), name + ".cbk")
                with open(path, "wb") as f:
                    f.write(data)
                proc = run_coffer(["backup", "verify", path, "--root-key", self.root_key])
                self.assertEqual(1, proc.returncode, describe(proc))
                self.assertRegex(proc.stderr, r"modified|truncated|not a coffer backup|damaged|"
                                              r"does not open")
                target = os.path.join(self.new_tmp(), "restore")
                proc = run_coffer(["backup", "restore", "--from", path, "--data-dir", target,
                                   "--root-key", self.root_key])
                self.assertEqual(1, proc.returncode, describe(proc))
                if os.path.exists(os.path.join(target, "coffer.db")):
                    rc, out = self.refused_start(target)
                    self.assertNotEqual(0, rc)
                    self.assertIn("restore that did not finish", out)

    def test_a_backup_opens_only_with_its_own_root_key(self):
        other = self.new_tmp()
        with CofferServer(data_dir=other) as unrelated:
            key = os.path.join(unrelated.data_dir, "root.key")
            proc = run_coffer(["backup", "verify", self.backup, "--root-key", key])
        self.assertEqual(1, proc.returncode, describe(proc))
        self.assertIn("does not open this backup", proc.stderr)
        proc = run_coffer(["backup", "verify", self.backup])
        self.assertEqual(1, proc.returncode, describe(proc))
        self.assertIn("--root-key", proc.stderr)

    def test_restore_refuses_a_directory_that_is_not_empty(self):
        target = self.new_tmp()
        with open(os.path.join(target, "notes.txt"), "w") as f:
            f.write("mine")
        proc = run_coffer(["backup", "restore", "--from", self.backup, "--data-dir", target,
                           "--root-key", self.root_key])
        self.assertEqual(1, proc.returncode, describe(proc))
        self.assertIn("not empty", proc.stderr)
        self.assertEqual(["notes.txt"], os.listdir(target))

    def test_a_restore_killed_part_way_leaves_no_directory_a_server_starts_on(self):
        killed_midway = 0
        completed = 0
        for delay in (0.0, 0.0, 0.002, 0.005, 0.01, 0.02, 0.05, 0.2, 2.0):
            target = os.path.join(self.new_tmp(), "restore")
            proc = subprocess.Popen(
                [coffer_binary(), "backup", "restore", "--from", self.backup, "--data-dir", target,
                 "--root-key", self.root_key], stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env())
            marker = os.path.join(target, "restore-in-progress")
            deadline = time.monotonic() + 10
            while not os.path.exists(marker) and proc.poll() is None and \
                    time.monotonic() < deadline:
                pass  # poll as fast as possible: the restore takes milliseconds
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            rc = proc.wait(10)
            if rc == 0:
                completed += 1  # finished before the kill
                continue
            if os.path.exists(marker):
                killed_midway += 1
                rc_start, out = self.refused_start(target)
                self.assertNotEqual(0, rc_start, out)
                self.assertIn("restore that did not finish", out)
                again = run_coffer(["backup", "restore", "--from", self.backup, "--data-dir",
                                    target, "--root-key", self.root_key])
                self.assertEqual(1, again.returncode, describe(again))
                self.assertIn("restore that did not finish", again.stderr)
            elif os.path.isdir(target) and os.listdir(target):
                # Killed after the marker was removed: the restore is whole.
                check = run_coffer(["operator", "check", "--data-dir", target])
                self.assertEqual(0, check.returncode, describe(check))
        self.assertGreater(killed_midway, 0, "no kill landed inside the restore")
        # An uninterrupted restore starts and serves.
        target = os.path.join(self.new_tmp(), "restore")
        proc = run_coffer(["backup", "restore", "--from", self.backup, "--data-dir", target,
                           "--root-key", self.root_key])
        self.assertEqual(0, proc.returncode, describe(proc))
        with CofferServer(data_dir=target, use_env_credentials=False) as restored:
            got = restored.client("secretsmanager").get_secret_value(SecretId="big-47")
            self.assertTrue(got["SecretString"].startswith("COFFER-BACKUP-CANARY-big47"))


class SealedBackupTest(BackupCase):
    def init(self, seal, passphrase=None):
        data_dir = os.path.join(self.new_tmp(), "data")
        extra = {"COFFER_ROOT_ACCESS_KEY_ID": DEFAULT_KEY_ID,
                 "COFFER_ROOT_SECRET_ACCESS_KEY": DEFAULT_SECRET}
        if passphrase:
            extra["COFFER_PASSPHRASE"] = passphrase
        proc = run_coffer(["operator", "init", "--data-dir", data_dir, "--account-id", ACCOUNT_ID,
                           "--seal", seal], env=child_env(extra=extra))
        self.assertEqual(0, proc.returncode, describe(proc))
        shares = [line.split(": ", 1)[1].strip() for line in proc.stdout.splitlines()
                  if line.startswith("Unseal share")]
        return data_dir, shares

    def test_a_passphrase_backup_restores_sealed_and_opens_with_the_passphrase_only(self):
        data_dir, _ = self.init("passphrase", "backup test passphrase")
        server = self.server(data_dir=data_dir, use_env_credentials=False,
                             extra_env={"COFFER_PASSPHRASE": "backup test passphrase"})
        value = canary("sealed")
        server.client("secretsmanager").create_secret(Name="sealed-one", SecretString=value)
        path = os.path.join(self.new_tmp(), "b.cbk")
        proc = self.create_backup(server, path)
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertIn("passphrase", proc.stdout)
        wrong = run_coffer(["backup", "verify", path],
                           env=child_env(extra={"COFFER_PASSPHRASE": "not it"}))
        self.assertEqual(1, wrong.returncode, describe(wrong))
        self.assertIn("passphrase does not open", wrong.stderr)
        target = os.path.join(self.new_tmp(), "restored")
        restore = run_coffer(["backup", "restore", "--from", path, "--data-dir", target],
                             env=child_env(extra={"COFFER_PASSPHRASE": "backup test passphrase"}))
        self.assertEqual(0, restore.returncode, describe(restore))
        self.assertIn("starts sealed", restore.stdout)
        self.assert_no_canary([value], path, restore.stdout, restore.stderr)
        restored = self.server(data_dir=target, use_env_credentials=False, accept_sealed=True)
        self.assertEqual(503, restored.health_status, "the restored server starts sealed")
        resp = restored.raw_request("POST", "/coffer/unseal",
                                    json.dumps({"Passphrase": "backup test passphrase"}).encode(),
                                    {"Content-Type": "application/json"})
        self.assertEqual(200, resp.status, resp.body)
        got = restored.client("secretsmanager").get_secret_value(SecretId="sealed-one")
        self.assertEqual(value, got["SecretString"])

    def test_a_shamir_backup_needs_threshold_shares_of_its_seal(self):
        data_dir, shares = self.init("shamir")
        self.assertEqual(5, len(shares))
        server = self.server(data_dir=data_dir, use_env_credentials=False, accept_sealed=True)
        for share in shares[:3]:
            resp = server.raw_request("POST", "/coffer/unseal",
                                      json.dumps({"Share": share}).encode(),
                                      {"Content-Type": "application/json"})
            self.assertEqual(200, resp.status, resp.body)
        server.client("secretsmanager").create_secret(Name="s", SecretString="shamir value")
        path = os.path.join(self.new_tmp(), "b.cbk")
        self.assertEqual(0, self.create_backup(server, path).returncode)
        share_files = []
        for i, share in enumerate(shares):
            share_file = os.path.join(self.new_tmp(), f"share{i}")
            with open(share_file, "w") as f:
                f.write(share + "\n")
            share_files.append(share_file)
        two = run_coffer(["backup", "verify", path, "--share-file", share_files[0],
                          "--share-file", share_files[3]])
        self.assertEqual(1, two.returncode, describe(two))
        self.assertIn("give 3 different shares (2 given)", two.stderr)
        three = run_coffer(["backup", "verify", path, "--share-file", share_files[4],
                            "--share-file", share_files[1], "--share-file", share_files[2]])
        self.assertEqual(0, three.returncode, describe(three))


class ScheduledBackupTest(BackupCase):
    def test_scheduled_backups_are_made_pruned_and_reported(self):
        backup_dir = os.path.join(self.new_tmp(), "backups")
        server = self.server(extra_args=["--backup-dir", backup_dir, "--backup-interval", "60",
                                         "--backup-retain", "1"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (os.path.isdir(backup_dir) and
                                                   [n for n in os.listdir(backup_dir)
                                                    if n.endswith(".cbk")]):
            time.sleep(0.1)
        made = sorted(n for n in os.listdir(backup_dir) if n.endswith(".cbk"))
        self.assertEqual(1, len(made), made)
        self.assertRegex(made[0], r"^coffer-backup-\d{8}T\d{6}Z\.cbk$")
        verified = run_coffer(["backup", "verify", os.path.join(backup_dir, made[0]),
                               "--root-key", os.path.join(server.data_dir, "root.key")])
        self.assertEqual(0, verified.returncode, describe(verified))
        events = run_coffer(["operator", "events", "--endpoint", server.endpoint],
                            env=child_env(DEFAULT_KEY_ID, DEFAULT_SECRET))
        self.assertEqual(0, events.returncode, describe(events))
        backup_events = [e for e in json.loads(events.stdout)["Events"]
                         if e["Source"] == "aws.backup"]
        self.assertEqual(1, len(backup_events), events.stdout)
        self.assertEqual("Backup Job State Change", backup_events[0]["DetailType"])
        detail = json.loads(backup_events[0]["Detail"]) if isinstance(
            backup_events[0]["Detail"], str) else backup_events[0]["Detail"]
        self.assertEqual("COMPLETED", detail["state"])
        metrics = server.raw_request("GET", "/metrics").body.decode()
        self.assertIn("coffer_backups_completed_total 1\n", metrics)
        self.assertIn("coffer_backups_failed_total 0\n", metrics)


if __name__ == "__main__":
    unittest.main()
