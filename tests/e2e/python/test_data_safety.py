"""Nothing lost, nothing silently replaced: what coffer does when it is stopped under load, when
its data directory is damaged or shared, when its disk fills up, and at the edges of HTTP.

Each test is the operator's or the attacker's move, against the real server binary.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

# coffer_server isolates the AWS environment on import: before boto3.
from coffer_server import (DEFAULT_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET,  # noqa: I001
                           AwsAssertions, CofferServer, coffer_binary, error_code,
                           mount_small_disk, start_class_server)

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError


def uid():
    return uuid.uuid4().hex[:12]


def signed_create_secret(port, name, value="v"):
    """The raw bytes of a signed CreateSecret request on a keep-alive connection."""
    body = json.dumps({"Name": name, "SecretString": value,
                       "ClientRequestToken": str(uuid.uuid4())}).encode()
    headers = {"Host": f"127.0.0.1:{port}", "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "secretsmanager.CreateSecret"}
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{port}/", data=body,
                         headers=headers)
    SigV4Auth(Credentials(DEFAULT_KEY_ID, DEFAULT_SECRET), "secretsmanager",
              DEFAULT_REGION).add_auth(request)
    head = "POST / HTTP/1.1\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in request.prepare().headers.items())
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def read_response(sock, buffer):
    """One HTTP response from sock (Content-Length framed); (status, body, rest of buffer) or
    None when the connection ended first."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, rest = buffer.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return int(head.split(b" ")[1]), rest[:length], rest[length:]


class GracefulStopTest(unittest.TestCase):
    """A stop answers what it commits: a write is either applied and answered, or not applied."""

    ROUNDS = 25
    CONNECTIONS = 12

    def client_loop(self, port, results, window, stop_flag):
        """Writes on one keep-alive connection until it is closed, keeping `window` requests in
        flight (1: one at a time; more: pipelined, the next sent before the last answer is
        read, as an HTTP/1.1 client may); records every name sent and every name answered."""
        sent, answered = results["sent"], results["answered"]
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        except OSError:
            return
        buffer = b""
        in_flight = []
        try:
            while True:
                while len(in_flight) < window and not stop_flag.is_set():
                    name = f"stop-{uid()}"
                    sent.append(name)
                    in_flight.append(name)
                    try:
                        sock.sendall(signed_create_secret(port, name))
                    except OSError:
                        return
                if not in_flight:
                    return
                try:
                    got = read_response(sock, buffer)
                except OSError:
                    return
                if got is None:
                    return
                status, body, buffer = got
                answered[in_flight.pop(0)] = (status, body)
        finally:
            sock.close()

    def test_every_applied_write_was_answered(self):
        server = CofferServer()
        self.addCleanup(server.close)
        results = []
        for round_no in range(self.ROUNDS):
            server.start()
            stop_flag = threading.Event()
            round_results = [{"sent": [], "answered": {}} for _ in range(self.CONNECTIONS)]
            threads = [threading.Thread(target=self.client_loop,
                                        args=(server.port, round_results[i],
                                              1 if i % 2 == 0 else 4, stop_flag))
                       for i in range(self.CONNECTIONS)]
            for t in threads:
                t.start()
            time.sleep(0.2 + 0.037 * round_no)
            server.stop(check=True)  # SIGTERM while every connection is mid-stream
            stop_flag.set()
            for t in threads:
                t.join(30)
            results.extend(round_results)
        server.start()
        existing = set()
        for page in server.client("secretsmanager").get_paginator("list_secrets").paginate():
            existing.update(s["Name"] for s in page["SecretList"])
        unanswered = applied = 0
        lost_answers = []  # applied, but the answer never arrived: a retry would apply it twice
        for r in results:
            for name in r["sent"]:
                answer = r["answered"].get(name)
                if answer is None:
                    unanswered += 1
                    if name in existing:
                        lost_answers.append(name)
                else:
                    self.assertEqual(200, answer[0], (name, answer[1]))
                    self.assertTrue(name in existing, f"{name} was answered but not applied")
                    applied += 1
        server.stop(check=True)
        self.assertEqual([], lost_answers[:5],
                         f"{len(lost_answers)} of {applied + len(lost_answers)} applied writes "
                         f"were never answered")
        # The rounds did catch requests in flight, and did apply many.
        self.assertGreater(unanswered, 0)
        self.assertGreater(applied, 200)


def run_server_once(data_dir, *args, timeout=20):
    """Runs `coffer server` on data_dir expecting it to exit by itself; (code, output)."""
    env = dict(os.environ, COFFER_ROOT_ACCESS_KEY_ID=DEFAULT_KEY_ID,
               COFFER_ROOT_SECRET_ACCESS_KEY=DEFAULT_SECRET)
    proc = subprocess.run(
        [coffer_binary(), "server", "--listen", "127.0.0.1:0", "--data-dir", data_dir] +
        list(args), capture_output=True, text=True, timeout=timeout, env=env,
        stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr


def file_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class DataDirectoryTest(unittest.TestCase):
    """The data directory defends itself: one server, key material never replaced, damage
    reported instead of served."""

    def setUp(self):
        self.server = CofferServer()
        self.addCleanup(self.server.close)
        self.server.start()
        self.sm = self.server.client("secretsmanager")
        self.names = [f"dd-{uid()}" for _ in range(3)]
        for n in self.names:
            self.sm.create_secret(Name=n, SecretString="kept")

    def test_a_second_server_on_the_directory_exits_at_once(self):
        started = time.monotonic()
        code, out = run_server_once(self.server.data_dir)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(1, code, out)
        self.assertIn("is in use by another coffer process (pid", out)
        self.assertIn("one server at a time", out)
        # The first server is unaffected.
        self.assertEqual("kept", self.sm.get_secret_value(SecretId=self.names[0])["SecretString"])

    def test_a_lost_store_is_refused_and_its_key_is_kept(self):
        self.server.stop()
        key = file_bytes(os.path.join(self.server.data_dir, "root.key"))
        db = os.path.join(self.server.data_dir, "coffer.db")
        shutil.move(db, db + ".away")
        code, out = run_server_once(self.server.data_dir)
        self.assertEqual(1, code, out)
        self.assertIn("coffer.db is missing or empty", out)
        self.assertIn("Restore coffer.db from a backup", out)
        self.assertEqual(key, file_bytes(os.path.join(self.server.data_dir, "root.key")))
        # An empty store file, as a botched copy leaves, is refused the same way.
        open(db, "wb").close()
        code, out = run_server_once(self.server.data_dir)
        self.assertEqual(1, code, out)
        self.assertIn("coffer.db is missing or empty", out)
        self.assertEqual(key, file_bytes(os.path.join(self.server.data_dir, "root.key")))
        # Restored, everything is there.
        shutil.move(db + ".away", db)
        self.server.start()
        self.assertEqual("kept", self.server.client("secretsmanager").get_secret_value(
            SecretId=self.names[2])["SecretString"])

    def test_a_store_without_its_key_or_with_another_is_refused(self):
        self.server.stop()
        key_path = os.path.join(self.server.data_dir, "root.key")
        shutil.move(key_path, key_path + ".away")
        code, out = run_server_once(self.server.data_dir)
        self.assertEqual(1, code, out)
        self.assertIn("root.key is missing", out)
        self.assertFalse(os.path.exists(key_path), "a new root.key was generated")
        with CofferServer() as other:
            shutil.copy(os.path.join(other.data_dir, "root.key"), key_path)
        code, out = run_server_once(self.server.data_dir)
        self.assertEqual(1, code, out)
        self.assertIn("root.key does not open", out)
        # A root.key that is a directory is named, not an abort.
        os.remove(key_path)
        os.mkdir(key_path)
        code, out = run_server_once(self.server.data_dir)
        self.assertEqual(1, code, out)
        self.assertIn("root.key is a directory", out)
        self.assertNotIn("terminate called", out)

    def test_a_damaged_log_is_reported_not_served(self):
        # kill -9 leaves the recent writes in the write-ahead log.
        more = [f"wal-{uid()}" for _ in range(6)]
        for n in more:
            self.sm.create_secret(Name=n, SecretString="in-the-log")
        self.server.kill9()
        wal = os.path.join(self.server.data_dir, "coffer.db-wal")
        data = bytearray(file_bytes(wal))
        page = int.from_bytes(data[8:12], "big")
        frame = 24 + page
        frames = (len(data) - 32) // frame
        commits = [i for i in range(frames)
                   if int.from_bytes(data[32 + i * frame + 4:32 + i * frame + 8], "big") != 0]
        self.assertGreater(len(commits), 6)
        # Damage the first frame after the fourth-last commit: SQLite would silently drop that
        # transaction and the two acknowledged after it.
        bad = 32 + (commits[-4] + 1) * frame
        data[bad + 24 + 200] ^= 0xFF
        with open(wal, "wb") as f:
            f.write(data)
        code, out = run_server_once(self.server.data_dir)
        self.assertEqual(1, code, out)
        self.assertIn("coffer.db-wal is damaged", out)
        self.assertIn("acknowledged write(s) would be lost", out)
        check = subprocess.run([coffer_binary(), "operator", "check", "--data-dir",
                                self.server.data_dir], capture_output=True, text=True, timeout=60)
        self.assertEqual(1, check.returncode, check.stdout + check.stderr)
        self.assertIn("(DAMAGED)", check.stdout)
        self.assertEqual(data, file_bytes(wal), "the check changed the damaged log")
        # The operator accepts the loss: the server starts and keeps the log for inspection.
        self.server.extra_args = ["--accept-damaged-wal"]
        self.server.start()
        self.server.wait_for_output("the log was kept as")
        kept = [f for f in os.listdir(self.server.data_dir)
                if f.startswith("coffer.db-wal.damaged-")]
        self.assertEqual(1, len(kept))
        self.assertEqual(data, file_bytes(os.path.join(self.server.data_dir, kept[0])))

    def test_check_store_finds_a_damaged_page(self):
        self.server.stop()  # a clean stop checkpoints: everything is in coffer.db
        code = subprocess.run([coffer_binary(), "operator", "check", "--data-dir",
                               self.server.data_dir], capture_output=True, text=True, timeout=60)
        self.assertEqual(0, code.returncode, code.stdout + code.stderr)
        self.assertIn("integrity ok", code.stdout)
        db = os.path.join(self.server.data_dir, "coffer.db")
        data = bytearray(file_bytes(db))
        page = int.from_bytes(data[16:18], "big") or 65536
        self.assertGreater(len(data) // page, 4)
        # Scribble over page 2, the root of the first table coffer created.
        data[page:2 * page] = bytes([0x0D, 0, 0, 0, 0x20]) + b"\xff" * (page - 5)
        with open(db, "wb") as f:
            f.write(data)
        code, out = run_server_once(self.server.data_dir, "--check-store")
        self.assertEqual(1, code, out)
        self.assertIn("failed its integrity check", out)
        check = subprocess.run([coffer_binary(), "operator", "check", "--data-dir",
                                self.server.data_dir], capture_output=True, text=True, timeout=60)
        self.assertEqual(1, check.returncode, check.stdout)
        self.assertIn("problem(s) (DAMAGED)", check.stdout)


class FreshDirectoryTest(unittest.TestCase):

    def test_only_an_empty_directory_is_initialised(self):
        root = tempfile.mkdtemp(prefix="coffer-e2e-")
        self.addCleanup(shutil.rmtree, root, True)
        data = os.path.join(root, "data")
        os.mkdir(data)
        with open(os.path.join(data, "notes.txt"), "w") as f:
            f.write("not coffer's")
        code, out = run_server_once(data)
        self.assertEqual(1, code, out)
        self.assertIn("is not empty (it holds notes.txt)", out)
        self.assertEqual(["notes.txt"], os.listdir(data))


def fill(path):
    """Writes to `path` until the file system is full."""
    with open(path, "wb") as f:
        block = b"\0" * 65536
        try:
            while True:
                f.write(block)
                f.flush()
        except OSError:
            pass
    # The last partial blocks as well.
    try:
        with open(path + ".tail", "wb") as f:
            while True:
                f.write(b"\0" * 512)
                f.flush()
    except OSError:
        pass


class FullDiskTest(unittest.TestCase, AwsAssertions):
    """A full disk refuses writes with ServiceUnavailable; reads go on; /health says why."""

    def test_reads_survive_a_full_disk_and_writes_say_why(self):
        disk = mount_small_disk(self, 16)
        data_dir = os.path.join(disk, "data")
        os.mkdir(data_dir, 0o700)
        server = CofferServer(data_dir=data_dir)
        self.addCleanup(server.close)
        server.start()
        sm = server.client("secretsmanager")
        ssm = server.client("ssm")
        names = [f"disk-{uid()}" for _ in range(3)]
        for n in names:
            sm.create_secret(Name=n, SecretString=f"value-of-{n}")
        ssm.put_parameter(Name="/disk/p", Value="pv", Type="String")
        filler = os.path.join(disk, "filler")
        fill(filler)

        # Reads: the first read of the day wants to record LastAccessedDate, and cannot.
        for n in names:
            self.assertEqual(f"value-of-{n}", sm.get_secret_value(SecretId=n)["SecretString"])
        self.assertEqual("pv", ssm.get_parameter(Name="/disk/p")["Parameter"]["Value"])
        sm.list_secrets()
        # Writes: ServiceUnavailable (503), which SDKs retry, never InternalFailure.
        for _ in range(3):
            exc = self.assertClientError(
                "ServiceUnavailable", sm.create_secret, status=503,
                Name=f"disk-{uid()}", SecretString="x" * 20000)
            self.assertIn("was not applied", exc.response["Error"]["Message"])
        self.assertClientError("ServiceUnavailable", ssm.put_parameter, status=503,
                               Name=f"/disk/{uid()}", Value="y" * 4000, Type="String")
        health = server.raw_request("GET", "/health")
        self.assertEqual(200, health.status)
        self.assertEqual("degraded", health.json()["status"])
        self.assertIn("the store cannot write", health.json()["reason"])
        metrics = server.raw_request("GET", "/metrics").body.decode()
        self.assertIn("coffer_store_writable 0", metrics)
        failures = int(re.search(r"^coffer_store_write_failures_total (\d+)$", metrics,
                                 re.MULTILINE).group(1))
        self.assertGreaterEqual(failures, 4)
        self.assertEqual(1, server.wait_for_output("the store cannot write").count(
                             "the store cannot write"),
                         "logged once, not once per request")

        # Space again: writes work, health is ok, and the read dates are recorded.
        os.remove(filler)
        os.remove(filler + ".tail")
        sm.create_secret(Name=f"disk-{uid()}", SecretString="after")
        self.assertEqual("ok", server.raw_request("GET", "/health").json()["status"])
        self.assertIn("coffer_store_writable 1",
                      server.raw_request("GET", "/metrics").body.decode())
        server.wait_for_output("the store writes again")
        sm.get_secret_value(SecretId=names[0])
        self.assertIn("LastAccessedDate", sm.describe_secret(SecretId=names[0]))
        server.stop()


class HttpEdgesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)

    def exchange(self, raw, wait=3):
        """Sends raw bytes; returns everything the server sends until it closes."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=wait) as s:
            s.sendall(raw)
            out = b""
            try:
                while chunk := s.recv(65536):
                    out += chunk
            except (socket.timeout, ConnectionResetError):
                pass
        return out

    def test_transfer_encodings_other_than_chunked_are_refused(self):
        smuggled = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
        for coding in (b"identity", b"gzip, chunked", b"chunked, identity"):
            out = self.exchange(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + coding +
                                b"\r\nContent-Type: application/x-amz-json-1.1\r\n\r\n" + smuggled)
            self.assertTrue(out.startswith(b"HTTP/1.1 501 "), (coding, out[:200]))
            # One answer: the body was never read as a second request.
            self.assertEqual(1, out.count(b"HTTP/1.1 "), (coding, out))
            self.assertNotIn(b"coffer_http", out)
        both = self.exchange(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                             b"Content-Length: 5\r\n\r\n0\r\n\r\n")
        self.assertTrue(both.startswith(b"HTTP/1.1 400 "), both[:200])

    def test_json_apis_require_an_aws_json_content_type(self):
        for content_type in ("application/x-www-form-urlencoded", "application/json",
                             "text/plain"):
            r = self.server.signed_json_request("secretsmanager.ListSecrets", {},
                                                content_type=content_type)
            self.assertEqual(400, r.status, content_type)
            self.assertEqual("UnknownOperationException", r.json()["__type"], content_type)
        ok = self.server.signed_json_request("secretsmanager.ListSecrets", {},
                                             content_type="application/x-amz-json-1.1")
        self.assertEqual(200, ok.status)

    def test_error_messages_do_not_echo_a_megabyte(self):
        # The fields whose invalid value an error message quotes back (found by sending each
        # operation a 900 KB value): the reply stays small whatever the request held.
        huge = "n" * 900_000
        json_cases = (
            ("secretsmanager.ListSecrets", {"Filters": [{"Key": "name", "Values": [huge]}]},
             "secretsmanager"),
            ("secretsmanager.DescribeSecret", {"SecretId": huge}, "secretsmanager"),
            ("AmazonSSM.PutParameter", {"Name": "/echo/type", "Value": "v", "Type": huge}, "ssm"),
            ("AmazonSSM.PutParameter", {"Name": "/echo/tier", "Value": "v", "Type": "String",
                                        "Tier": huge}, "ssm"),
            ("AmazonSSM.LabelParameterVersion", {"Name": "/echo/label", "Labels": [huge]}, "ssm"),
            ("TrentService.CreateKey", {"KeySpec": huge}, "kms"),
            ("TrentService.DescribeKey", {"KeyId": huge}, "kms"))
        for target, body, service in json_cases:
            r = self.server.signed_json_request(target, body, service=service)
            self.assertGreaterEqual(r.status, 400, (target, r.body[:300]))
            self.assertLess(r.status, 500, (target, r.body[:300]))
            self.assertLess(len(r.body), 8192, target)
        query_cases = (
            ({"Action": "CreateUser", "Version": "2010-05-08", "UserName": huge}, "iam"),
            ({"Action": "AssumeRole", "Version": "2011-06-15",
              "RoleArn": "arn:aws:iam::000000000000:role/echo", "RoleSessionName": huge}, "sts"))
        for params, service in query_cases:
            r = self.server.signed_query_request(params, service=service)
            self.assertGreaterEqual(r.status, 400, (params["Action"], r.body[:300]))
            self.assertLess(r.status, 500, (params["Action"], r.body[:300]))
            self.assertLess(len(r.body), 8192, params["Action"])


if __name__ == "__main__":
    unittest.main()
