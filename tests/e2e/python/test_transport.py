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
