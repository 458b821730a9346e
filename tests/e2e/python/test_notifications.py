"""Notification sinks with real deliveries: a webhook on loopback receives the events its
EventBridge pattern selects, signed with HMAC-SHA256 over the timestamp and body; across a sink
outage and a coffer restart every event arrives, retried; a command sink gets each event on
stdin; `coffer operator sinks` adds, lists, tests and removes them; only the operator may run
commands or call loopback; no event carries a secret value."""

import hashlib
import hmac
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

from coffer_server import start_class_server

POLL_SECONDS = 60


class Receiver:
    """A webhook on 127.0.0.1 that records every delivery; stop() and start() simulate an
    outage on the same port."""

    def __init__(self):
        self.deliveries = []
        self.lock = threading.Lock()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.httpd = None

    def start(self):
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.deliveries.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def bodies(self):
        with self.lock:
            return [json.loads(b) for _, b in self.deliveries]


class NotificationsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls, extra_args=["--notification-max-backoff", "2"])
        cls.ssm = cls.server.client("ssm")
        cls.receiver = Receiver()
        cls.receiver.start()
        cls.addClassCleanup(cls.receiver.stop)
        cls.tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(cls.tmp.cleanup)

    def operator(self, *args, key_id=None, secret=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["AWS_ACCESS_KEY_ID"] = key_id or self.server.key_id
        env["AWS_SECRET_ACCESS_KEY"] = secret or self.server.secret
        return subprocess.run([self.server.binary, "operator", *args, "--endpoint",
                               self.server.endpoint], stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=env, timeout=60)

    def operator_json(self, *args, **kwargs):
        proc = self.operator(*args, **kwargs)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return json.loads(proc.stdout)

    def wait_for(self, what, predicate):
        deadline = time.monotonic() + POLL_SECONDS
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        self.fail("timed out waiting for " + what)

    def delivered_names(self, prefix):
        return sorted(b["detail"]["name"] for b in self.receiver.bodies()
                      if b.get("source") == "aws.ssm" and b["detail"]["name"].startswith(prefix))

    def test_a_webhook_gets_signed_matching_events_across_an_outage_and_a_restart(self):
        prefix = "/notify/" + uuid.uuid4().hex[:8] + "/"
        pattern = json.dumps({"source": ["aws.ssm"], "detail": {
            "operation": ["Create"], "name": [{"prefix": prefix}]}})
        added = self.operator_json(
            "sinks", "add", "--name", "hook", "--url",
            f"http://127.0.0.1:{self.receiver.port}/hook", "--pattern", pattern)
        key = added["SigningKey"]
        self.assertEqual(len(key), 64)
        canary = "canary-" + uuid.uuid4().hex
        self.ssm.put_parameter(Name=prefix + "a", Value=canary, Type="SecureString")
        self.ssm.put_parameter(Name=prefix + "a", Value=canary + "2", Type="SecureString",
                               Overwrite=True)  # an Update: the pattern leaves it out
        self.ssm.put_parameter(Name="/elsewhere/" + uuid.uuid4().hex, Value="x", Type="String")
        self.wait_for("the first delivery", lambda: self.delivered_names(prefix) == [prefix + "a"])

        headers, body = [(h, b) for h, b in self.receiver.deliveries
                         if json.loads(b).get("detail", {}).get("name") == prefix + "a"][0]
        t, v1 = [part.split("=", 1)[1] for part in headers["X-Coffer-Signature"].split(",")]
        expected = hmac.new(key.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(v1, expected))
        self.assertLess(abs(int(t) - time.time()), 300)
        envelope = json.loads(body)
        self.assertEqual(headers["X-Coffer-Event-Id"], envelope["id"])
        self.assertEqual(envelope["detail-type"], "Parameter Store Change")
        self.assertEqual(envelope["account"], self.server.account_id)
        self.assertEqual(envelope["detail"]["operation"], "Create")

        # The sink goes down; events meanwhile wait in the outbox, across a restart of coffer.
        self.receiver.stop()
        self.ssm.put_parameter(Name=prefix + "b", Value=canary, Type="SecureString")
        self.ssm.put_parameter(Name=prefix + "c", Value=canary, Type="SecureString")
        listed = self.wait_for("failed attempts", lambda: [
            s for s in self.operator_json("sinks", "list")["Sinks"]
            if s["Name"] == "hook" and s["Pending"] == 2 and "LastError" in s])
        self.assertEqual(listed[0]["EventPattern"], json.loads(pattern))
        self.server.restart()
        self.receiver.start()
        self.wait_for("the retried deliveries", lambda: self.delivered_names(prefix) ==
                      [prefix + "a", prefix + "b", prefix + "c"])
        attempts = [int(h["X-Coffer-Delivery-Attempt"]) for h, b in self.receiver.deliveries
                    if json.loads(b).get("detail", {}).get("name") in (prefix + "b", prefix + "c")]
        self.assertTrue(any(a > 1 for a in attempts), attempts)  # retried, not lost
        self.wait_for("an empty outbox", lambda: [
            s for s in self.operator_json("sinks", "list")["Sinks"]
            if s["Name"] == "hook" and s["Pending"] == 0])
        for _, b in self.receiver.deliveries:
            self.assertNotIn(canary.encode(), b)

        tested = self.operator_json("sinks", "test", "--name", "hook")
        self.assertTrue(tested["Delivered"], tested)
        self.assertIn("coffer Sink Test", [b["detail-type"] for b in self.receiver.bodies()])
        self.assertEqual(self.operator_json("sinks", "remove", "--name", "hook")["Deleted"], True)
        self.assertNotIn("hook", [s["Name"] for s in
                                  self.operator_json("sinks", "list")["Sinks"]])

    def test_secret_changes_arrive_as_cloudtrail_api_calls_without_their_values(self):
        # The pattern Secrets Manager's guide gives for changes to a secret.
        sm = self.server.client("secretsmanager")
        name = "notify/" + uuid.uuid4().hex
        value = "secret-canary-" + uuid.uuid4().hex
        arn = sm.create_secret(Name=name, SecretString=value)["ARN"]
        pattern = json.dumps({
            "source": ["aws.secretsmanager"], "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {"eventSource": ["secretsmanager.amazonaws.com"],
                       "eventName": ["PutSecretValue", "UpdateSecret", "DeleteSecret"],
                       "requestParameters": {"secretId": [arn]}}})
        self.operator_json("sinks", "add", "--name", "changes", "--url",
                           f"http://127.0.0.1:{self.receiver.port}/changes", "--pattern", pattern)
        sm.get_secret_value(SecretId=arn)  # a read: not delivered
        sm.put_secret_value(SecretId=arn, SecretString=value + "-2")
        sm.update_secret(SecretId=arn, Description="rotated by hand")

        def changes():
            names = [b["detail"]["eventName"] for b in self.receiver.bodies()
                     if b.get("detail-type") == "AWS API Call via CloudTrail"
                     and b["detail"].get("requestParameters", {}).get("secretId") == arn]
            return names if len(names) >= 2 else None
        self.assertEqual(sorted(self.wait_for("the secret's changes", changes)),
                         ["PutSecretValue", "UpdateSecret"])
        for _, body in self.receiver.deliveries:
            self.assertNotIn(value.encode(), body)
        self.operator_json("sinks", "remove", "--name", "changes")

    def test_a_command_sink_gets_each_event_on_stdin(self):
        out = os.path.join(self.tmp.name, "events.jsonl")
        script = os.path.join(self.tmp.name, "record.py")
        with open(script, "w") as f:
            f.write("import sys\nopen(sys.argv[1], 'a').write(sys.stdin.read() + '\\n')\n")
        name = "/command/" + uuid.uuid4().hex
        self.operator_json("sinks", "add", "--name", "recorder", "--pattern",
                           json.dumps({"detail": {"name": [name]}}),
                           "--command", sys.executable, script, out)
        self.ssm.put_parameter(Name=name, Value="v", Type="String")

        def recorded():
            if not os.path.exists(out):
                return None
            with open(out) as f:
                return [json.loads(line) for line in f if line.strip()]
        events = self.wait_for("the command's input", recorded)
        self.assertEqual([e["detail"]["name"] for e in events], [name])
        self.operator_json("sinks", "remove", "--name", "recorder")

    def test_other_accounts_may_not_run_commands_or_call_loopback_or_read_others_sinks(self):
        proc = self.operator("create-account")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
        key_id, secret = lines["Root access key id"], lines["Root secret access key"]
        for args in (["--command", "/bin/true"],
                     ["--url", f"http://127.0.0.1:{self.receiver.port}/"]):
            refused = self.operator("sinks", "add", "--name", "x", *args,
                                    key_id=key_id, secret=secret)
            self.assertEqual(refused.returncode, 1)
            self.assertIn("AccessDeniedException", refused.stderr)
        refused = self.operator("sinks", "list", "--account", self.server.account_id,
                                key_id=key_id, secret=secret)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("AccessDeniedException", refused.stderr)
        bad = self.operator("sinks", "add", "--name", "x", "--url", "http://127.0.0.1:9/",
                            "--pattern", '{"source": "aws.ssm"}')
        self.assertEqual(bad.returncode, 1)
        self.assertIn("InvalidEventPatternException", bad.stderr)


if __name__ == "__main__":
    unittest.main()
