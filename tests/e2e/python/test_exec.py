"""`coffer exec` and `coffer env` end to end: the real binary resolves a container's secrets from a
real coffer server, as the ECS agent resolves a task definition's, and starts a real child.

The child is a small Python program that writes its environment to a file, so a test can tell
both what it was given and whether it ran at all (all or nothing: on any failure it must not)."""

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import unittest

from coffer_server import ACCOUNT_ID, DEFAULT_KEY_ID, DEFAULT_SECRET, start_class_server, unique_name

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TEMPLATE = os.path.join(REPO, "examples", "mistersmith", "cdk.out",
                        "MisterSmithStack.template.json")
PRINT_ENV = "import json, os, sys; json.dump(dict(os.environ), open(sys.argv[1], 'w'))"
# Appends its DATABASE_URL to a file at every start, then waits to be stopped.
RECORD_AND_WAIT = ("import os, sys, time\n"
                   "open(sys.argv[1], 'a').write(os.environ['DB_PASSWORD'] + '\\n')\n"
                   "time.sleep(600)\n")


def recorded(path):
    """The words a test command wrote to `path` so far (none before it first wrote)."""
    try:
        with open(path) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


class ExecTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.sm = cls.server.client("secretsmanager")
        cls.ssm = cls.server.client("ssm")
        cls.iam = cls.server.client("iam")
        cls.dir = tempfile.mkdtemp(prefix="coffer-exec-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, True)
        # The seed's secrets (examples/mistersmith/create-secrets.sh writes the same bodies),
        # with the connectionString the seed's task definition asks of the database secret.
        cls.db_body = {"username": "mistersmith_admin", "password": "db-pass-" + unique_name(),
                       "engine": "postgres", "host": "aurora.example", "port": 5432,
                       "dbClusterIdentifier": "mistersmith-aurora-cluster"}
        cls.db_body["connectionString"] = (
            f"postgres://mistersmith_admin:{cls.db_body['password']}@aurora.example:5432/app")
        cls.jwt = "jwt-" + unique_name()
        cls.openai = "sk-" + unique_name()
        cls.db_arn = cls.sm.create_secret(Name="mistersmith/aurora/master",
                                          SecretString=json.dumps(cls.db_body))["ARN"]
        cls.jwt_arn = cls.sm.create_secret(
            Name="mistersmith/app/jwt",
            SecretString=json.dumps({"secret": cls.jwt, "algorithm": "HS256"}))["ARN"]
        cls.openai_arn = cls.sm.create_secret(
            Name="mistersmith/external/openai",
            SecretString=json.dumps({"apiKey": cls.openai, "organizationId": "org"}))["ARN"]
        cls.ssm.put_parameter(Name="/mistersmith/production/config/api_base_url",
                              Value="https://api.mistersmith.ai", Type="String")
        cls.config = os.path.join(cls.dir, "config")
        cls.credentials = os.path.join(cls.dir, "credentials")
        with open(cls.config, "w") as f:
            f.write(f"[profile coffer]\nregion = us-east-1\nendpoint_url = {cls.server.endpoint}\n")
        with open(cls.credentials, "w") as f:
            f.write(f"[coffer]\naws_access_key_id = {DEFAULT_KEY_ID}\n"
                    f"aws_secret_access_key = {DEFAULT_SECRET}\n")

    # -- helpers --------------------------------------------------------------------------------
    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE=self.config, AWS_SHARED_CREDENTIALS_FILE=self.credentials,
                   AWS_PROFILE="coffer")
        env.update(extra)
        return env

    def coffer(self, *args, env=None, timeout=60):
        return subprocess.run([self.server.binary, *args], env=env or self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def run_child(self, *args, env=None):
        """Runs `coffer exec ARGS -- <print env>`; answers (completed process, child env or
        None when the child never ran)."""
        out = os.path.join(self.dir, unique_name("env") + ".json")
        done = self.coffer("exec", *args, "--", sys.executable, "-c", PRINT_ENV, out, env=env)
        child = None
        if os.path.exists(out):
            with open(out) as f:
                child = json.load(f)
        return done, child

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def assert_refused(self, done, child, *expected):
        self.assertEqual(done.returncode, 125, done.stderr)
        self.assertIsNone(child, "the command ran although a secret failed")
        self.assertIn("ResourceInitializationError", done.stderr)
        for text in expected:
            self.assertIn(text, done.stderr)
        for value in (self.db_body["password"], self.jwt, self.openai):
            self.assertNotIn(value, done.stderr)

    def seed_task_definition(self):
        """The seed's container as RegisterTaskDefinition's input, with the secrets' ARNs."""
        return {"family": "mistersmith-api", "containerDefinitions": [{
            "name": "app", "image": "mistersmith-api:latest",
            "environment": [{"name": "NODE_ENV", "value": "production"},
                            {"name": "SERVICE_NAME", "value": "mistersmith-api"}],
            "secrets": [
                {"name": "DATABASE_URL", "valueFrom": self.db_arn + ":connectionString::"},
                {"name": "JWT_SECRET", "valueFrom": self.jwt_arn + ":secret::"},
                {"name": "OPENAI_API_KEY", "valueFrom": self.openai_arn + ":apiKey::"},
                {"name": "API_BASE_URL", "valueFrom": "arn:aws:ssm:us-east-1:" + ACCOUNT_ID +
                 ":parameter/mistersmith/production/config/api_base_url"}]}]}

    def assert_seed_environment(self, child):
        self.assertIsNotNone(child)
        self.assertEqual(child["DATABASE_URL"], self.db_body["connectionString"])
        self.assertEqual(child["JWT_SECRET"], self.jwt)
        self.assertEqual(child["OPENAI_API_KEY"], self.openai)
        self.assertEqual(child["API_BASE_URL"], "https://api.mistersmith.ai")
        self.assertEqual(child["NODE_ENV"], "production")
        self.assertEqual(child["SERVICE_NAME"], "mistersmith-api")

    # -- the seed's task definition -------------------------------------------------------------
    def test_the_seeds_task_definition_as_json(self):
        definition = self.write("taskdef.json", json.dumps(self.seed_task_definition()))
        done, child = self.run_child("--task-definition", definition)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_seed_environment(child)
        # DescribeTaskDefinition's output shape reads the same.
        described = self.write("described.json",
                               json.dumps({"taskDefinition": self.seed_task_definition()}))
        done, child = self.run_child("--task-definition", described, "--container", "app")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_seed_environment(child)

    def test_the_seeds_synthesized_template(self):
        done, child = self.run_child("--task-definition", TEMPLATE, "--container", "app")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_seed_environment(child)

    def test_a_template_reference_that_cannot_be_resolved_is_named(self):
        with open(TEMPLATE) as f:
            template = json.load(f)
        container = template["Resources"]["TaskDef54694570"]["Properties"][
            "ContainerDefinitions"][0]
        container["Secrets"].append({"Name": "X", "ValueFrom": {"Fn::GetAtt": ["Db", "Id"]}})
        container["Secrets"].append({"Name": "Y", "ValueFrom": {"Ref": "Missing"}})
        path = self.write("unresolvable.template.json", json.dumps(template))
        done, child = self.run_child("--task-definition", path)
        self.assertEqual(done.returncode, 125)
        self.assertIsNone(child)
        self.assertIn("Secrets X: Fn::GetAtt", done.stderr)
        self.assertIn("Secrets Y: Ref Missing is not in the template", done.stderr)

    # -- valueFrom, every form ------------------------------------------------------------------
    def test_every_value_from_form(self):
        name = unique_name("forms")
        arn = self.sm.create_secret(Name=name, SecretString=json.dumps(
            {"user": "u1", "port": 5432, "big": 1000000, "ratio": 0.5, "on": True,
             "none": None, "list": [1, "a"], "map": {"b": 2, "a": "x"}}))["ARN"]
        first = self.sm.describe_secret(SecretId=arn)
        first_id = next(v for v, s in first["VersionIdsToStages"].items() if "AWSCURRENT" in s)
        self.sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"user": "u2"}))
        self.ssm.put_parameter(Name="/exec/secure", Value="s3cure-" + name, Type="SecureString")
        self.ssm.put_parameter(Name="plain-" + name, Value="top-level", Type="String")
        forms = {
            "WHOLE": arn,
            "KEY": arn + ":user::",
            "PREVIOUS": arn + ":user:AWSPREVIOUS:",
            "BY_ID": arn + ":user::" + first_id,
            "STAGE_ONLY": arn + "::AWSPREVIOUS:",
            "PARTIAL_ARN": "arn:aws:secretsmanager:us-east-1:" + ACCOUNT_ID + ":secret:" + name +
                           ":user::",
            "PARAM_NAME": "/exec/secure",
            "PARAM_TOP": "plain-" + name,
            "PARAM_ARN": "arn:aws:ssm:us-east-1:" + ACCOUNT_ID + ":parameter/exec/secure",
        }
        args = [a for n, v in forms.items() for a in ("--secret", f"{n}={v}")]
        for key in ("port", "big", "ratio", "on", "none", "list", "map"):
            args += ["--secret", f"OLD_{key.upper()}={arn}:{key}:AWSPREVIOUS:"]
        done, child = self.run_child(*args)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(json.loads(child["WHOLE"]), {"user": "u2"})
        self.assertEqual(child["KEY"], "u2")
        self.assertEqual(child["PREVIOUS"], "u1")
        self.assertEqual(child["BY_ID"], "u1")
        self.assertEqual(json.loads(child["STAGE_ONLY"])["user"], "u1")
        self.assertEqual(child["PARTIAL_ARN"], "u2")
        self.assertEqual(child["PARAM_NAME"], "s3cure-" + name)  # decrypted, as ECS asks
        self.assertEqual(child["PARAM_TOP"], "top-level")
        self.assertEqual(child["PARAM_ARN"], "s3cure-" + name)
        # Non-string JSON values as the agent's Go code prints them.
        self.assertEqual(child["OLD_PORT"], "5432")
        self.assertEqual(child["OLD_BIG"], "1e+06")
        self.assertEqual(child["OLD_RATIO"], "0.5")
        self.assertEqual(child["OLD_ON"], "true")
        self.assertEqual(child["OLD_NONE"], "<nil>")
        self.assertEqual(child["OLD_LIST"], "[1 a]")
        self.assertEqual(child["OLD_MAP"], "map[a:x b:2]")

    def test_an_arn_carries_its_own_region_and_a_name_is_the_tasks(self):
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-ssm-paramstore.html:
        # a parameter in another region needs its full ARN; a name is looked up in the task's.
        west_sm = self.server.client("secretsmanager", region="us-west-2")
        west_ssm = self.server.client("ssm", region="us-west-2")
        name = unique_name("west")
        arn = west_sm.create_secret(Name=name, SecretString=json.dumps({"k": "west-value"}))["ARN"]
        west_ssm.put_parameter(Name="/exec/west/" + name, Value="west-param", Type="String")
        param_arn = f"arn:aws:ssm:us-west-2:{ACCOUNT_ID}:parameter/exec/west/{name}"
        done, child = self.run_child("--secret", f"S={arn}:k::", "--secret", f"P={param_arn}")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(child["S"], "west-value")
        self.assertEqual(child["P"], "west-param")
        done, child = self.run_child("--secret", f"P=/exec/west/{name}")  # us-east-1: none
        self.assert_refused(done, child, "in us-east-1: invalid parameters: /exec/west/" + name)

    def test_more_than_ten_parameters_are_fetched_in_batches(self):
        names = [f"/exec/batch-{unique_name()}/{i}" for i in range(23)]
        for i, n in enumerate(names):
            self.ssm.put_parameter(Name=n, Value=f"v{i}", Type="String")
        args = [a for i, n in enumerate(names) for a in ("--secret", f"P{i}={n}")]
        done, child = self.run_child(*args)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual([child[f"P{i}"] for i in range(23)], [f"v{i}" for i in range(23)])

    # -- failures: nothing runs, ECS's message, distinct exit status ----------------------------
    def test_every_failure_stops_the_command_before_it_runs(self):
        missing = "arn:aws:secretsmanager:us-east-1:" + ACCOUNT_ID + ":secret:missing-AbCdEf"
        cases = [
            (["--secret", "A=" + missing], ["The task can't retrieve the secret with ARN '" +
                                             missing + "'", "ResourceNotFoundException"]),
            (["--secret", "A=" + self.jwt_arn + ":nokey::"],
             ["did not contain json key nokey"]),
            (["--secret", "A=" + self.jwt_arn + ":secret"],
             ["an invalid ARN format for the AWS Secrets Manager secret was specified"]),
            (["--secret", "A=/no/such/parameter"],
             ["unable to retrieve secrets from ssm", "invalid parameters: /no/such/parameter"]),
            (["--secret", "A=" + self.jwt_arn + ":secret::not-a-version-id"],
             ["failed to fetch secret", "ValidationException", "versionId"]),
            (["--secret", "A=" + self.jwt_arn + "::NOSUCHSTAGE:"],
             ["ResourceNotFoundException"]),
            # ECS: the parameter must be in the task's account.
            (["--secret", "A=arn:aws:ssm:us-east-1:999999999999:parameter/x"],
             ["unable to retrieve secrets from ssm", "AccessDeniedException"]),
        ]
        for args, expected in cases:
            with self.subTest(args=args):
                # A good secret beside the bad one: all or nothing.
                done, child = self.run_child(*args, "--secret", "GOOD=" + self.jwt_arn)
                self.assert_refused(done, child, *expected)
        # Every failure at once: each one's error, joined.
        done, child = self.run_child("--secret", "A=" + missing,
                                     "--secret", "B=" + self.jwt_arn + ":nokey::",
                                     "--secret", "C=/no/such/parameter")
        self.assert_refused(done, child, "missing-AbCdEf", "json key nokey",
                            "/no/such/parameter")

    def test_a_caller_without_permission_gets_the_access_error(self):
        user = unique_name("noperm")
        self.iam.create_user(UserName=user)
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        env = self.env(AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                       AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"])
        done, child = self.run_child("--secret", "A=" + self.jwt_arn, env=env)
        self.assert_refused(done, child, "AccessDeniedException")

    def test_the_command_exit_status_is_its_own(self):
        done = self.coffer("exec", "--secret", "A=" + self.jwt_arn, "--", sys.executable, "-c",
                           "import sys; sys.exit(7)")
        self.assertEqual(done.returncode, 7)
        done = self.coffer("exec", "--", "/nonexistent/command")
        self.assertEqual(done.returncode, 127)
        self.assertIn("cannot run /nonexistent/command", done.stderr)

    # -- environment files and precedence -------------------------------------------------------
    def test_environment_files_follow_ecs_rules(self):
        first = self.write("first.env", '# comment\n\nQUOTED="kept"\nSPACED= kept \nBOTH=first\n'
                                        'OVERRIDDEN=file\n')
        second = self.write("second.env", "BOTH=second\nONLY_SECOND=2\n")
        definition = {"containerDefinitions": [{
            "name": "app", "environment": [{"name": "OVERRIDDEN", "value": "environment"}],
            "environmentFiles": [{"value": "first.env", "type": "s3"},
                                 {"value": "second.env", "type": "s3"}]}]}
        path = self.write("withfiles.json", json.dumps(definition))
        done, child = self.run_child("--task-definition", path)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(child["QUOTED"], '"kept"')
        self.assertEqual(child["SPACED"], " kept ")
        self.assertEqual(child["BOTH"], "first")
        self.assertEqual(child["ONLY_SECOND"], "2")
        self.assertEqual(child["OVERRIDDEN"], "environment")
        # --env-file replaces the definition's files, as a container override does.
        done, child = self.run_child("--task-definition", path, "--env-file", second)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(child["BOTH"], "second")
        self.assertNotIn("QUOTED", child)
        bad = self.write("bad.env", "GOOD=1\nnot-a-variable-line\n")
        done, child = self.run_child("--env-file", bad)
        self.assertEqual(done.returncode, 125)
        self.assertIsNone(child)
        self.assertIn("line 2", done.stderr)
        self.assertNotIn("not-a-variable-line", done.stderr)

    # -- coffer env -----------------------------------------------------------------------------
    def test_env_prints_what_exec_injects(self):
        definition = self.write("envdef.json", json.dumps(self.seed_task_definition()))
        out = os.path.join(self.dir, unique_name("dotenv"))
        done = self.coffer("env", "--task-definition", definition, "--output", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
        with open(out) as f:
            text = f.read()
        self.assertTrue(text.startswith("# "))
        self.assertIn("holds secrets", text.splitlines()[0])
        self.assertIn("JWT_SECRET=" + self.jwt + "\n", text)
        self.assertEqual(done.stdout, "")
        # The file reads back as an environment file: exec gives the same values.
        done, child = self.run_child("--env-file", out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assert_seed_environment(child)
        as_json = self.coffer("env", "--task-definition", definition, "--format", "json")
        self.assertEqual(json.loads(as_json.stdout)["DATABASE_URL"],
                         self.db_body["connectionString"])
        as_shell = self.coffer("env", "--task-definition", definition, "--format", "shell")
        echoed = subprocess.run(["sh", "-c", as_shell.stdout + 'printf %s "$DATABASE_URL"'],
                                capture_output=True, text=True)
        self.assertEqual(echoed.stdout, self.db_body["connectionString"])
        # A value across lines cannot be an environment file's.
        multi = self.sm.create_secret(Name=unique_name("pem"), SecretString="line1\nline2")["ARN"]
        done = self.coffer("env", "--secret", "PEM=" + multi)
        self.assertEqual(done.returncode, 1)
        self.assertIn("--format json", done.stderr)
        self.assertNotIn("line1", done.stdout + done.stderr)

    # -- rotation reaches running code ----------------------------------------------------------
    def test_restart_on_rotation_restarts_the_command_with_the_new_value(self):
        name = unique_name("rotating")
        arn = self.sm.create_secret(Name=name, SecretString=json.dumps({"password": "one"}))[
            "ARN"]
        record = os.path.join(self.dir, unique_name("starts"))
        proc = subprocess.Popen(
            [self.server.binary, "exec", "--secret", f"DB_PASSWORD={arn}:password::",
             "--restart-on-rotation", "--poll-interval", "1", "--stop-timeout", "5", "--",
             sys.executable, "-c", RECORD_AND_WAIT, record],
            env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            def starts():
                return recorded(record)

            def wait_for(expected):
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and starts() != expected:
                    time.sleep(0.1)
                self.assertEqual(starts(), expected)

            wait_for(["one"])
            # A new version takes AWSCURRENT, as a rotation's finishSecret moves it.
            self.sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"password": "two"}))
            wait_for(["one", "two"])
            # A change to another stage only (AWSPENDING) is not a rotation of what it was given.
            self.sm.put_secret_value(SecretId=arn, SecretString=json.dumps({"password": "p"}),
                                     VersionStages=["AWSPENDING"])
            time.sleep(2.5)  # more than two polls
            self.assertEqual(starts(), ["one", "two"])
            proc.terminate()  # forwarded to the command; coffer exits as it exits
            _, stderr = proc.communicate(timeout=20)
            self.assertEqual(proc.returncode, 128 + 15, stderr)
            self.assertIn("restarting", stderr)
            self.assertNotIn("two", stderr.replace("restarting", ""))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_a_reload_signal_is_sent_instead_of_a_restart(self):
        name = unique_name("reloaded")
        arn = self.sm.create_secret(Name=name, SecretString="one")["ARN"]
        record = os.path.join(self.dir, unique_name("reloads"))
        script = ("import os, signal, sys, time\n"
                  "out = sys.argv[1]\n"
                  "signal.signal(signal.SIGHUP, lambda *_: open(out, 'a').write('reloaded\\n'))\n"
                  "open(out, 'a').write(os.environ['V'] + '\\n')\n"
                  "while True: time.sleep(1)\n")
        proc = subprocess.Popen(
            [self.server.binary, "exec", "--secret", f"V={arn}", "--restart-on-rotation",
             "--poll-interval", "1", "--reload-signal", "HUP", "--", sys.executable, "-c", script,
             record], env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            def lines():
                return recorded(record)

            deadline = time.monotonic() + 30
            while lines() != ["one"]:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
            self.sm.put_secret_value(SecretId=arn, SecretString="two")
            while lines() != ["one", "reloaded"]:
                self.assertLess(time.monotonic(), deadline, lines())
                time.sleep(0.1)
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=20)
        self.assertIn("signalling", stderr)
        self.assertNotIn("restarting", stderr)

    def test_a_real_rotation_restarts_the_command(self):
        # RotateSecret with coffer's built-in random-api-key function: its four steps end with
        # finishSecret moving AWSCURRENT, which the watching coffer exec sees.
        fn_name = unique_name("exec-rotator")
        register = self.coffer("operator", "register-function", "--endpoint", self.server.endpoint,
                               "--name", fn_name, "--kind", "builtin", "--builtin",
                               "random-api-key",
                               env=dict(self.env(), AWS_ACCESS_KEY_ID=DEFAULT_KEY_ID,
                                        AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET))
        self.assertEqual(register.returncode, 0, register.stderr)
        arn = self.sm.create_secret(Name=unique_name("rotated"), SecretString=json.dumps(
            {"apiKey": "first-" + unique_name(), "owner": "team-a"}))["ARN"]
        record = os.path.join(self.dir, unique_name("rotation-starts"))
        script = RECORD_AND_WAIT.replace("DB_PASSWORD", "API_KEY")
        proc = subprocess.Popen(
            [self.server.binary, "exec", "--secret", f"API_KEY={arn}:apiKey::",
             "--restart-on-rotation", "--poll-interval", "1", "--", sys.executable, "-c",
             script, record], env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)
        try:
            def starts():
                return recorded(record)

            deadline = time.monotonic() + 30
            while len(starts()) < 1:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.1)
            self.sm.rotate_secret(
                SecretId=arn,
                RotationLambdaARN=f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{fn_name}",
                RotationRules={"AutomaticallyAfterDays": 30})
            deadline = time.monotonic() + 60
            while len(starts()) < 2:
                self.assertLess(time.monotonic(), deadline, "no restart after the rotation")
                time.sleep(0.1)
            current = json.loads(self.sm.get_secret_value(SecretId=arn)["SecretString"])
            self.assertEqual(starts()[1], current["apiKey"])
            self.assertNotEqual(starts()[0], starts()[1])
        finally:
            proc.terminate()
            proc.communicate(timeout=20)

    # -- local development: a profile's role, as aws-vault exec ---------------------------------
    def test_a_profile_exports_the_roles_temporary_credentials_and_refuses_nesting(self):
        user, role = unique_name("dev"), unique_name("devrole")
        self.iam.create_user(UserName=user)
        self.iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
        key = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "sts:AssumeRole"}]}))
        self.iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                "Resource": "*"}]}))
        config = self.write("dev-config", (
            f"[profile dev]\nregion = us-east-1\nendpoint_url = {self.server.endpoint}\n"
            f"role_arn = arn:aws:iam::{ACCOUNT_ID}:role/{role}\nsource_profile = {user}\n"))
        credentials = self.write("dev-credentials", (
            f"[{user}]\naws_access_key_id = {key['AccessKeyId']}\n"
            f"aws_secret_access_key = {key['SecretAccessKey']}\n"))
        env = self.env(AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials)
        del env["AWS_PROFILE"]
        done, child = self.run_child("--profile", "dev", "--secret", "JWT=" + self.jwt_arn +
                                     ":secret::", env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(child["JWT"], self.jwt)
        self.assertTrue(child["AWS_ACCESS_KEY_ID"].startswith("ASIA"))
        self.assertTrue(child["AWS_SESSION_TOKEN"])
        self.assertTrue(child["AWS_CREDENTIAL_EXPIRATION"].endswith("Z"))
        self.assertEqual(child["AWS_REGION"], "us-east-1")
        self.assertEqual(child["COFFER_EXEC_PROFILE"], "dev")
        self.assertNotEqual(child["AWS_SECRET_ACCESS_KEY"], key["SecretAccessKey"])
        # The exported credentials are the role's session.
        sts = self.server.client("sts", key_id=child["AWS_ACCESS_KEY_ID"],
                                 secret=child["AWS_SECRET_ACCESS_KEY"],
                                 session_token=child["AWS_SESSION_TOKEN"])
        self.assertIn(f":assumed-role/{role}/", sts.get_caller_identity()["Arn"])
        # Nested: refused, and nothing runs.
        nested_env = dict(env, COFFER_EXEC_PROFILE="dev")
        done, child = self.run_child("--profile", "dev", env=nested_env)
        self.assertEqual(done.returncode, 125)
        self.assertIsNone(child)
        self.assertIn("nested sessions are refused", done.stderr)

    def test_credential_process_and_environment_credentials(self):
        script = self.write("process.sh", "#!/bin/sh\necho '" + json.dumps({
            "Version": 1, "AccessKeyId": DEFAULT_KEY_ID, "SecretAccessKey": DEFAULT_SECRET}) +
            "'\n")
        os.chmod(script, 0o700)
        config = self.write("process-config", (
            f"[profile proc]\nregion = us-east-1\nendpoint_url = {self.server.endpoint}\n"
            f"credential_process = {script}\n"))
        env = self.env(AWS_CONFIG_FILE=config, AWS_PROFILE="proc",
                       AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        done, child = self.run_child("--secret", "JWT=" + self.jwt_arn + ":secret::", env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(child["JWT"], self.jwt)
        # Plain environment credentials and --endpoint-url, with no file at all.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=DEFAULT_KEY_ID, AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET,
                   AWS_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        done, child = self.run_child("--endpoint-url", self.server.endpoint,
                                     "--secret", "JWT=" + self.jwt_arn + ":secret::", env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(child["JWT"], self.jwt)

    @classmethod
    def tearDownClass(cls):
        # No secret a client sent or received is in the server's output or audit trail.
        for value in (cls.db_body["password"], cls.jwt, cls.openai):
            assert value not in cls.server.output_text(), "a secret is in the server's output"
        cls.server.assert_no_canary_in_audit_trail()


if __name__ == "__main__":
    unittest.main()
