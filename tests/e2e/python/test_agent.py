"""`coffer agent` end to end: the real binary beside a real coffer server, asked the way code
written for the AWS Secrets Manager Agent and the Lambda extension asks (AWS's documented
examples: an HTTP GET with the token header), and refused the way the AWS agent refuses."""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from coffer_server import DEFAULT_KEY_ID, DEFAULT_SECRET, CofferServer, unique_name

TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"


class Agent:
    """A `coffer agent` process on a free loopback port."""

    def __init__(self, server, *args, token="agent-token-" + unique_name(), env=None):
        self.token = token
        self.dir = tempfile.mkdtemp(prefix="coffer-agent-")
        # The EC2 install script's way: the token in a file, named by file://.
        self.token_file = os.path.join(self.dir, "awssmatoken")
        with open(self.token_file, "w") as f:
            f.write(token + "\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(AWS_ACCESS_KEY_ID=DEFAULT_KEY_ID, AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET,
                        AWS_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                        AWS_TOKEN="file://" + self.token_file)
        self.env.update(env or {})
        self.proc = subprocess.Popen(
            [server.binary, "agent", "--port", "0", "--endpoint-url", server.endpoint, *args],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on 127.0.0.1:" not in line:
            self.proc.kill()
            raise AssertionError("the agent did not start: " + line + self.proc.stderr.read())
        self.port = int(line.split("127.0.0.1:")[1].split()[0])
        self.output = line

    def get(self, path, token=True, headers=None, method="GET"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        h = dict(headers or {})
        if token:
            h[TOKEN_HEADER] = self.token
        conn.request(method, path, headers=h)
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        return response.status, body

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        out, err = self.proc.communicate(timeout=20)
        self.output += out + err
        return self.proc.returncode


class AgentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = CofferServer()
        cls.addClassCleanup(cls.server.close)
        cls.server.start()
        cls.sm = cls.server.client("secretsmanager")
        cls.ssm = cls.server.client("ssm")
        cls.name = unique_name("agent")
        cls.value = "agent-value-" + unique_name()
        cls.arn = cls.sm.create_secret(Name=cls.name, SecretString=cls.value)["ARN"]
        cls.ssm.put_parameter(Name="/agent/plain", Value="plain-value", Type="String")
        cls.ssm.put_parameter(Name="/agent/plain", Value="plain-value-2", Type="String",
                              Overwrite=True)
        cls.ssm.label_parameter_version(Name="/agent/plain", ParameterVersion=1, Labels=["first"])
        cls.ssm.put_parameter(Name="/agent/secure", Value="secure-" + unique_name(),
                              Type="SecureString")
        cls.agent = Agent(cls.server)
        cls.addClassCleanup(cls.agent.stop)

    # -- AWS's documented client ----------------------------------------------------------------
    def test_the_documented_python_example_works_unchanged(self):
        # https://docs.aws.amazon.com/secretsmanager/latest/userguide/secrets-manager-agent.html
        # ("Retrieve secrets with the Secrets Manager Agent", Python): the token read from the
        # token file, sent in X-Aws-Parameters-Secrets-Token, SecretString from the JSON answer.
        url = f"http://localhost:{self.agent.port}/secretsmanager/get?secretId={self.name}"
        with open(self.agent.token_file) as f:
            headers = {"X-Aws-Parameters-Secrets-Token": f.read().strip()}
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
            secret = json.loads(response.read())
        self.assertEqual(secret["SecretString"], self.value)
        self.assertEqual(secret["ARN"], self.arn)
        self.assertEqual(secret["Name"], self.name)
        self.assertEqual(secret["VersionStages"], ["AWSCURRENT"])
        self.assertIsInstance(secret["CreatedDate"], float)
        self.assertIn("VersionId", secret)

    def test_the_documented_javascript_example_works_unchanged(self):
        # The same page's Node.js example: fetch with the token header.
        script = (
            "const r = await fetch(`http://localhost:${process.argv[1]}/secretsmanager/get?"
            "secretId=${process.argv[2]}`, {headers: {'X-Aws-Parameters-Secrets-Token': "
            "process.argv[3]}}); console.log(JSON.parse(await r.text()).SecretString);")
        done = subprocess.run(["node", "--input-type=module", "-e", script, str(self.agent.port),
                               self.name, self.agent.token], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout.strip(), self.value)

    def test_path_style_and_version_selectors(self):
        status, body = self.agent.get(f"/v1/{self.name}")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["SecretString"], self.value)
        name = unique_name("agent-versions")
        arn = self.sm.create_secret(Name=name, SecretString="first")["ARN"]
        first = self.sm.get_secret_value(SecretId=arn)["VersionId"]
        self.sm.put_secret_value(SecretId=arn, SecretString="second")
        for path, expected in ((f"/secretsmanager/get?secretId={name}&versionStage=AWSPREVIOUS",
                                "first"),
                               (f"/secretsmanager/get?secretId={arn}&versionId={first}", "first"),
                               (f"/v1/{name}?versionStage=AWSCURRENT", "second"),
                               (f"/secretsmanager/get?secretId={name}&refreshNow=TRUE", "second")):
            with self.subTest(path=path):
                status, body = self.agent.get(path)
                self.assertEqual(status, 200, body)
                self.assertEqual(json.loads(body)["SecretString"], expected)

    def test_parameters_as_the_lambda_extension_serves_them(self):
        base = "/systemsmanager/parameters/get?name="
        status, body = self.agent.get(base + "%2Fagent%2Fplain")
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["Parameter"]["Value"], "plain-value-2")
        status, body = self.agent.get(base + "/agent/plain&version=1")
        self.assertEqual(json.loads(body)["Parameter"]["Value"], "plain-value")
        status, body = self.agent.get(base + "/agent/plain&label=first&version=2")
        self.assertEqual(json.loads(body)["Parameter"]["Value"], "plain-value")  # first wins
        secure = self.ssm.get_parameter(Name="/agent/secure", WithDecryption=True)
        status, body = self.agent.get(base + "/agent/secure&withDecryption=true")
        self.assertEqual(json.loads(body)["Parameter"]["Value"], secure["Parameter"]["Value"])
        status, body = self.agent.get(base + "/agent/secure")
        self.assertNotEqual(json.loads(body)["Parameter"]["Value"], secure["Parameter"]["Value"])
        status, body = self.agent.get(base + "/agent/none")
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)["__type"], "ParameterNotFound")

    # -- the AWS agent's refusals, in its order -------------------------------------------------
    def test_refusals(self):
        get = f"/secretsmanager/get?secretId={self.name}"
        cases = [
            (dict(path="/ping", token=False), 200, "healthy"),
            (dict(path=get, token=False), 403, "Bad Token"),
            (dict(path=get, token=False, headers={TOKEN_HEADER: "wrong"}), 403, "Bad Token"),
            (dict(path=get, token=False, headers={"X-Vault-Token": self.agent.token}), 200, None),
            (dict(path=get, headers={"X-Forwarded-For": "127.0.0.1"}), 400, "Forwarded"),
            (dict(path=get, token=False, headers={"X-Forwarded-For": "10.0.0.1"}), 400,
             "Forwarded"),
            (dict(path=get, method="POST"), 405, "Not allowed"),
            (dict(path=get, token=False, method="POST"), 403, "Bad Token"),
            (dict(path="/secrets"), 404, "Not found"),
            (dict(path=get + "&verbose=1"), 400, "unknown parameter: verbose"),
            (dict(path="/secretsmanager/get?versionStage=AWSCURRENT"), 400,
             "missing parameter secretId"),
            (dict(path="/v1/"), 400, "missing secret ID"),
            (dict(path=get + "&refreshNow=yes"), 400, "invalid refreshNow value"),
        ]
        for kwargs, status, text in cases:
            with self.subTest(**kwargs):
                got_status, body = self.agent.get(**kwargs)
                self.assertEqual(got_status, status, body)
                if text is not None:
                    self.assertEqual(body, text)

    def test_service_errors_keep_their_code_and_status(self):
        status, body = self.agent.get("/secretsmanager/get?secretId=" + unique_name("missing"))
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body), {
            "__type": "ResourceNotFoundException",
            "message": "Secrets Manager can't find the specified secret."})

    def test_no_token_no_start(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=DEFAULT_KEY_ID, AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET,
                   AWS_REGION="us-east-1")
        done = subprocess.run([self.server.binary, "agent", "--port", "0", "--endpoint-url",
                               self.server.endpoint], env=env, capture_output=True, text=True,
                              timeout=30)
        self.assertEqual(done.returncode, 2)
        self.assertIn("no SSRF token", done.stderr)
        env["AWS_TOKEN"] = "t"
        env["AWS_SECRET_ACCESS_KEY"] = "wrong"
        done = subprocess.run([self.server.binary, "agent", "--port", "0", "--endpoint-url",
                               self.server.endpoint], env=env, capture_output=True, text=True,
                              timeout=30)
        self.assertEqual(done.returncode, 2)
        self.assertIn("the credentials do not work", done.stderr)

    def test_the_connection_limit(self):
        agent = Agent(self.server, "--max-connections", "2")
        try:
            held = [socket.create_connection(("127.0.0.1", agent.port)) for _ in range(2)]
            time.sleep(0.2)  # both accepted
            status, body = agent.get(f"/secretsmanager/get?secretId={self.name}")
            self.assertEqual((status, body), (429, "Connection limit exceeded"))
            self.assertEqual(agent.get("/ping", token=False), (200, "healthy"))  # two more
            for s in held:
                s.close()
            deadline = time.monotonic() + 10
            while agent.get(f"/secretsmanager/get?secretId={self.name}")[0] == 429:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        finally:
            agent.stop()

    # -- the cache: TTL, DescribeSecret refresh, stale on transient errors ----------------------
    def test_cache_follows_the_aws_agents_rules(self):
        server = CofferServer()
        self.addCleanup(server.close)
        server.start()
        sm = server.client("secretsmanager")
        name = unique_name("cached")
        sm.create_secret(Name=name, SecretString="v1")
        other = unique_name("uncached")
        sm.create_secret(Name=other, SecretString="o1")
        agent = Agent(server, "--ttl-seconds", "2")
        self.addCleanup(agent.stop)
        path = f"/secretsmanager/get?secretId={name}"

        def value():
            status, body = agent.get(path)
            self.assertEqual(status, 200, body)
            return json.loads(body)["SecretString"]

        self.assertEqual(value(), "v1")
        sm.put_secret_value(SecretId=name, SecretString="v2")
        self.assertEqual(value(), "v1")  # within the TTL: from the cache
        status, body = agent.get(path + "&refreshNow=true")
        self.assertEqual(json.loads(body)["SecretString"], "v2")
        # refreshNow's answer replaced the entry.
        self.assertEqual(value(), "v2")
        sm.put_secret_value(SecretId=name, SecretString="v3")
        deadline = time.monotonic() + 10
        while value() != "v3":  # once the TTL passes, DescribeSecret sees the move
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.2)
        # The server goes away: a stale value is still served (a transient error), an uncached
        # one is a 502 ConnectionError.
        server.stop()
        time.sleep(2.2)
        self.assertEqual(value(), "v3")
        status, body = agent.get(f"/secretsmanager/get?secretId={other}")
        self.assertEqual(status, 502)
        self.assertEqual(json.loads(body)["__type"], "ConnectionError")
        status, body = agent.get(path + "&refreshNow=true")
        self.assertEqual(status, 502)  # refreshNow does not serve stale
        self.assertEqual(value(), "v3")  # ... and left the entry as it was

    # -- push invalidation: a rotation reaches the agent long before its TTL ----------------------
    def wait_for_value(self, agent, path, expected, seconds=10):
        deadline = time.monotonic() + seconds
        while True:
            status, body = agent.get(path)
            if status == 200 and json.loads(body)["SecretString"] == expected:
                return
            self.assertLess(time.monotonic(), deadline, f"still {body[:80]}")
            time.sleep(0.02)

    def test_push_invalidation_serves_a_moved_stage_well_before_the_ttl(self):
        name = unique_name("pushed")
        arn = self.sm.create_secret(Name=name, SecretString="one")["ARN"]
        path = f"/secretsmanager/get?secretId={name}"
        previous = f"/secretsmanager/get?secretId={name}&versionStage=AWSPREVIOUS"
        self.wait_for_value(self.agent, path, "one")
        # A new version takes AWSCURRENT (a rotation's last step does the same): the agent's TTL
        # is 300 s, so only the push can bring it within the wait.
        self.sm.put_secret_value(SecretId=arn, SecretString="two")
        self.wait_for_value(self.agent, path, "two")
        self.wait_for_value(self.agent, previous, "one")
        # A stage moved back by hand, and the AWSPREVIOUS entry follows too.
        versions = self.sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
        current = next(v for v, s in versions.items() if "AWSCURRENT" in s)
        old = next(v for v, s in versions.items() if "AWSPREVIOUS" in s)
        self.sm.update_secret_version_stage(SecretId=arn, VersionStage="AWSCURRENT",
                                            MoveToVersionId=old, RemoveFromVersionId=current)
        self.wait_for_value(self.agent, path, "one")
        self.wait_for_value(self.agent, previous, "two")

    def test_without_push_the_ttl_rules_as_in_the_aws_agent(self):
        agent = Agent(self.server, "--no-push-invalidation")
        self.addCleanup(agent.stop)
        name = unique_name("ttl-only")
        arn = self.sm.create_secret(Name=name, SecretString="one")["ARN"]
        path = f"/secretsmanager/get?secretId={name}"
        self.wait_for_value(agent, path, "one")
        self.sm.put_secret_value(SecretId=arn, SecretString="two")
        # With push on, this agent would serve "two" in well under a second (the test above).
        time.sleep(2)
        self.assertEqual(json.loads(agent.get(path)[1])["SecretString"], "one")

    def test_push_resumes_after_the_server_comes_back(self):
        server = CofferServer()
        self.addCleanup(server.close)
        server.start()
        sm = server.client("secretsmanager")
        name = unique_name("resumed")
        arn = sm.create_secret(Name=name, SecretString="one")["ARN"]
        agent = Agent(server)
        self.addCleanup(agent.stop)
        path = f"/secretsmanager/get?secretId={name}"
        self.wait_for_value(agent, path, "one")
        port = server.port
        server.stop()
        self.wait_for_value(agent, path, "one")  # cached, served while the server is away
        server.start(port=port)
        sm = server.client("secretsmanager")
        sm.put_secret_value(SecretId=arn, SecretString="two")
        # The subscription retries with backoff (1 s, 2 s, ...), then sees the move.
        self.wait_for_value(agent, path, "two", seconds=30)
        agent.stop()
        self.assertIn("push invalidation paused", agent.output)

    @classmethod
    def tearDownClass(cls):
        code = cls.agent.stop()
        assert code == 0, f"the agent exited {code}"
        for secret in (cls.value, "plain-value"):
            assert secret not in cls.agent.output, "a value is in the agent's output"


if __name__ == "__main__":
    unittest.main()
