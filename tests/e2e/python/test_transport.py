"""HTTP transport: TLS, keep-alive, body limit, malformed framing, connection limit.

Every server here listens on 127.0.0.1 only."""
import http.client
import os
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import boto3
from botocore.config import Config

from coffer_server import (ACCOUNT_ID, DEFAULT_KEY_ID, DEFAULT_SECRET, CofferServer,
                           coffer_binary, start_class_server)


class KeepAliveAndLimitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            for _ in range(5):
                conn.request("GET", "/health")
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                self.assertEqual(resp.read(), b'{"status":"ok","sealed":false}')
                self.assertNotEqual(resp.getheader("Connection", "").lower(), "close")
        finally:
            conn.close()

    def test_oversized_body_is_refused_with_413(self):
        body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
        resp = self.server.raw_request("POST", "/", body=body, headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.ListSecrets"})
        self.assertEqual(resp.status, 413)
        self.assertEqual(resp.header("x-amzn-errortype"), "RequestEntityTooLarge")
        # The server is still serving.
        self.assertEqual(self.server.raw_request("GET", "/health").status, 200)

    def test_malformed_http_gets_400_not_a_crash(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:100])
        self.assertEqual(self.server.raw_request("GET", "/health").status, 200)


class NewEdgesBadInputTest(unittest.TestCase):
    """Bad input at the edges closed last: every request gets a small 4xx, nothing is lost."""

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)

    def test_edges_get_a_small_4xx_and_the_store_is_untouched(self):
        sm = self.server.client("secretsmanager")
        sm.create_secret(Name="edge-kept", SecretString="kept")
        json_cases = [
            # Content types the JSON protocol does not take.
            ("secretsmanager.GetSecretValue", {"SecretId": "edge-kept"}, "secretsmanager",
             "text/plain"),
            ("AmazonSSM.GetParameter", {"Name": "x"}, "ssm", "application/json"),
            ("TrentService.ListKeys", {}, "kms", ""),
            # Names no secret, parameter or alias can have.
            ("secretsmanager.GetSecretValue", {"SecretId": "a b"}, "secretsmanager", None),
            ("secretsmanager.DeleteSecret", {"SecretId": "a*b", "ForceDeleteWithoutRecovery": True},
             "secretsmanager", None),
            ("secretsmanager.DeleteSecret", {"SecretId": "edge-kept", "RecoveryWindowInDays": 99},
             "secretsmanager", None),
            ("AmazonSSM.PutParameter", {"Name": "/a//b", "Value": "v", "Type": "String"}, "ssm",
             None),
            ("AmazonSSM.PutParameter", {"Name": "a/b/c", "Value": "v", "Type": "String"}, "ssm",
             None),
            ("TrentService.CreateAlias", {"AliasName": "x" * 300, "TargetKeyId": "k"}, "kms",
             None),
            # Filters and tokens of every wrong shape.
            ("AmazonSSM.DescribeParameters", {"ParameterFilters": [
                {"Key": "k" * 200, "Option": "o" * 50, "Values": [""] * 60}]}, "ssm", None),
            ("secretsmanager.ListSecrets", {"Filters": [{"Key": "name", "Values": ["-"]}] * 11},
             "secretsmanager", None),
            ("secretsmanager.ListSecrets", {"NextToken": "Y29mZmVyLXNlY3JldHM6MDphMDp4OjE6"},
             "secretsmanager", None),
            ("secretsmanager.ListSecrets", {"SortBy": "name", "NextToken": "A" * 4096},
             "secretsmanager", None),
            ("secretsmanager.ListSecrets", {"Filters": [{"Key": "name", "Values": ["\u00e9" * 600]}]},
             "secretsmanager", None),
        ]
        for target, body, service, content_type in json_cases:
            with self.subTest(target=target, body=str(body)[:80], content_type=content_type):
                kwargs = {} if content_type is None else {"content_type": content_type}
                r = self.server.signed_json_request(target, body, service=service, **kwargs)
                self.assertGreaterEqual(r.status, 400, r.body[:200])
                self.assertLess(r.status, 500, r.body[:200])
                self.assertLess(len(r.body), 8192)
        # Framing edges on raw connections.
        for raw in (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
                    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Length: 3\r\n\r\n0\r\n\r\n"):
            with self.subTest(raw=raw[:60]):
                with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as c:
                    c.sendall(raw)
                    data = c.recv(4096)
                self.assertRegex(data[:12], rb"^HTTP/1\.1 (400|501)", data[:200])
        self.assertEqual("kept", sm.get_secret_value(SecretId="edge-kept")["SecretString"])
        self.assertEqual(200, self.server.raw_request("GET", "/health").status)


class ConnectionLimitTest(unittest.TestCase):
    """A server of its own, so no other test's connection counts against the limit."""

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls, extra_args=["--max-connections", "2"])

    def _open_served_connection(self):
        # The harness's own readiness probes may still hold a slot until the server has seen
        # them close, so retry briefly.
        deadline = time.monotonic() + 5
        while True:
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            try:
                conn.request("GET", "/health")
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    return conn  # kept alive: it holds one of the server's connection slots
                self.assertEqual(503, resp.status)  # refused: no slot free yet
                raise ConnectionRefusedError
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                self.assertLess(time.monotonic(), deadline, "no connection slot became free")
                time.sleep(0.05)

    def test_connections_beyond_the_limit_are_refused(self):
        held = [self._open_served_connection() for _ in range(2)]
        try:
            extra = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            try:
                extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
                data = b""
                while chunk := extra.recv(4096):
                    data += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass
            finally:
                extra.close()
            # Refused with an answer a client can act on, and the connection closed.
            self.assertTrue(data.startswith(b"HTTP/1.1 503 "), data[:200])
            self.assertIn(b"Retry-After: 1", data)
            self.assertIn(b"Connection: close", data)
            self.assertNotIn(b'"status":"ok"', data, "the refused request was served")
            # The held connections are still served.
            for conn in held:
                conn.request("GET", "/health")
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                resp.read()
        finally:
            for conn in held:
                conn.close()
        # Once the held connections are gone, new ones are served again.
        deadline = time.monotonic() + 5
        while True:
            try:
                if self.server.raw_request("GET", "/health", timeout=2).status == 200:
                    break
            except (ConnectionError, OSError, http.client.HTTPException):
                pass
            self.assertLess(time.monotonic(), deadline, "server did not accept again")
            time.sleep(0.05)


class TlsTest(unittest.TestCase):
    """coffer with --tls-cert/--tls-key, used by boto3 with certificate verification on."""

    @classmethod
    def setUpClass(cls):
        cls.root = tempfile.mkdtemp(prefix="coffer-tls-")
        cls.cert = os.path.join(cls.root, "cert.pem")
        cls.key = os.path.join(cls.root, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", cls.key, "-out", cls.cert, "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True)
        env = dict(os.environ, COFFER_ROOT_ACCESS_KEY_ID=DEFAULT_KEY_ID,
                   COFFER_ROOT_SECRET_ACCESS_KEY=DEFAULT_SECRET)
        cls.proc = subprocess.Popen(
            [coffer_binary(), "server", "--listen", "127.0.0.1:0", "--data-dir",
             os.path.join(cls.root, "data"), "--account-id", ACCOUNT_ID, "--tls-cert", cls.cert,
             "--tls-key", cls.key],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        cls.endpoint = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = cls.proc.stdout.readline().decode()
            if "listening on " in line:
                cls.endpoint = line.strip().split("listening on ")[1]
                break
            if not line and cls.proc.poll() is not None:
                break
        if cls.endpoint is None:
            cls.proc.kill()
            raise RuntimeError("TLS server did not start")

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait(10)
        cls.proc.stdout.close()

    def test_endpoint_is_https(self):
        self.assertTrue(self.endpoint.startswith("https://127.0.0.1:"), self.endpoint)

    def test_boto3_works_over_verified_tls(self):
        client = boto3.session.Session().client(
            "secretsmanager", region_name="us-east-1", endpoint_url=self.endpoint,
            aws_access_key_id=DEFAULT_KEY_ID, aws_secret_access_key=DEFAULT_SECRET,
            verify=self.cert, config=Config(retries={"max_attempts": 1}))
        client.create_secret(Name="tls/secret", SecretString="over-tls")
        self.assertEqual(client.get_secret_value(SecretId="tls/secret")["SecretString"],
                         "over-tls")

    def test_plain_http_to_the_tls_port_is_not_served(self):
        port = int(self.endpoint.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        with self.assertRaises((http.client.HTTPException, ConnectionError, OSError)):
            conn.request("GET", "/health")
            resp = conn.getresponse()
            resp.read()
            if resp.status == 200:
                raise AssertionError("plain HTTP was served on the TLS port")
            raise ConnectionError("refused as expected")
        conn.close()

    def test_health_over_tls(self):
        ctx = ssl.create_default_context(cafile=self.cert)
        port = int(self.endpoint.rsplit(":", 1)[1])
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
        conn.request("GET", "/health")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 200)
        conn.close()


if __name__ == "__main__":
    unittest.main()
