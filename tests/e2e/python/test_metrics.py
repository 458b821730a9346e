"""GET /metrics of a live server: valid for Prometheus (`promtool check metrics`, Debian's
`prometheus` package), calls counted by service, operation and outcome, latency histograms,
authentication failures by reason, the seal state — and no label holding a secret's name or
value, a user name or an access key."""

import json
import re
import shutil
import subprocess
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import start_class_server


def samples(text):
    """{(name, frozenset of label pairs): value} of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        if m is None:
            raise AssertionError("not a sample line: " + line)
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"',
                                      m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(s, name, **labels):
    return s.get((name, frozenset(labels.items())), 0.0)


class MetricsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.sm = cls.server.client("secretsmanager")

    def metrics(self):
        resp = self.server.raw_request("GET", "/metrics")
        self.assertEqual(resp.status, 200)
        return resp.body.decode()

    def test_promtool_accepts_the_exposition(self):
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool is missing: run scripts/install-deps.sh "
                                       "(Debian's prometheus package)")
        self.sm.list_secrets()
        with self.assertRaises(ClientError):
            self.sm.describe_secret(SecretId="no-such-" + uuid.uuid4().hex)
        self.server.signed_request(
            body="{}", headers={"X-Amz-Target": "secretsmanager.ListSecrets",
                                "Content-Type": "application/x-amz-json-1.1"},
            secret="wrong" + "x" * 35)
        proc = subprocess.run([promtool, "check", "metrics"], input=self.metrics(),
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_calls_are_counted_by_operation_and_outcome_without_names_or_values(self):
        before = samples(self.metrics())
        name = "metrics/canary-" + uuid.uuid4().hex
        secret_value = "canary-value-" + uuid.uuid4().hex
        arn = self.sm.create_secret(Name=name, SecretString=secret_value)["ARN"]
        for _ in range(3):
            self.sm.get_secret_value(SecretId=arn)
        with self.assertRaises(ClientError):
            self.sm.get_secret_value(SecretId=name + "-missing")
        # Refused before any operation ran: a wrong signature, an unknown access key.
        target = {"X-Amz-Target": "secretsmanager.GetSecretValue",
                  "Content-Type": "application/x-amz-json-1.1"}
        body = json.dumps({"SecretId": arn})
        self.assertEqual(self.server.signed_request(
            body=body, headers=target, secret="wrong" + "x" * 35).status, 400)
        self.assertEqual(self.server.signed_request(
            body=body, headers=target, key_id="AKIA" + "Z" * 16).status, 400)
        # An operation the service does not know is counted as "unknown", whatever its name.
        odd = "Odd" + uuid.uuid4().hex
        resp = self.server.signed_request(
            body="{}", headers={"X-Amz-Target": "secretsmanager." + odd,
                                "Content-Type": "application/x-amz-json-1.1"})
        self.assertEqual(resp.status, 400)
        self.server.client("sts").get_caller_identity()

        text = self.metrics()
        after = samples(text)

        def delta(metric, **labels):
            return value(after, metric, **labels) - value(before, metric, **labels)

        gsv = {"service": "secretsmanager", "operation": "GetSecretValue"}
        self.assertEqual(delta("coffer_requests_total", outcome="Success", **gsv), 3)
        self.assertEqual(delta("coffer_requests_total", outcome="ResourceNotFoundException",
                               **gsv), 1)
        self.assertEqual(delta("coffer_requests_total", service="secretsmanager",
                               operation="CreateSecret", outcome="Success"), 1)
        self.assertEqual(delta("coffer_requests_total", service="secretsmanager",
                               operation="unknown", outcome="UnknownOperationException"), 1)
        self.assertEqual(delta("coffer_requests_total", service="sts",
                               operation="GetCallerIdentity", outcome="Success"), 1)
        self.assertEqual(delta("coffer_authentication_failures_total", reason="bad_signature"), 1)
        self.assertEqual(delta("coffer_authentication_failures_total", reason="unknown_key"), 1)
        # The histogram counts the same four calls, cumulative up to +Inf.
        self.assertEqual(delta("coffer_request_duration_seconds_count", **gsv), 4)
        self.assertEqual(delta("coffer_request_duration_seconds_bucket", le="+Inf", **gsv), 4)
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                         if k[0] == "coffer_request_duration_seconds_bucket"
                         and dict(k[1]).get("operation") == "GetSecretValue"
                         and dict(k[1])["le"] != "+Inf")
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertEqual(value(after, "coffer_sealed"), 0)
        # What is stored is counted, not named.
        self.assertEqual(delta("coffer_secrets", state="active"), 1)
        self.assertGreaterEqual(value(after, "coffer_kms_keys", manager="AWS"), 1)

        for leaked in (name, arn, secret_value, odd, "AKIA" + "Z" * 16):
            self.assertNotIn(leaked, text)
        label_values = {v for (_, labels) in after for (_, v) in labels}
        self.assertFalse({v for v in label_values if "arn:" in v or "/" in v},
                         "a label holds an ARN or a name")


if __name__ == "__main__":
    unittest.main()
