"""Reusable harness for the coffer end-to-end tests.

CofferServer starts the real `coffer` binary on a loopback port chosen by the OS, in a fresh
temporary data directory, waits for its readiness line, drains its stdout/stderr in background
threads (so the pipes never block and the output can be scanned for leaked secrets later), and
hands out boto3 clients pointed at it with explicit credentials.

Only the standard library plus boto3/botocore are used.  The binary comes from $COFFER_BIN, or
<repo>/build/coffer when that variable is unset.

Typical use (one server per TestCase class):

    class MyTest(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            cls.server = start_class_server(cls)      # stops + cleans up via addClassCleanup
            cls.sm = cls.server.client('secretsmanager')
"""

import atexit
import base64
import datetime
import email.utils
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

# --------------------------------------------------------------------------------------------
# Hermetic AWS client environment: no profile, config file, credential file, endpoint override
# or proxy from the machine may leak into the tests.  This runs once at import.
# --------------------------------------------------------------------------------------------
_AWS_ENV_TO_DROP = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_SECRETSMANAGER", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSM",
    "AWS_ENDPOINT_URL_KMS", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CA_BUNDLE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
)


def _isolate_aws_environment():
    for name in _AWS_ENV_TO_DROP:
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    # Never route loopback traffic through a proxy from the environment.
    for var in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(var, "")
        extra = "127.0.0.1,localhost,::1"
        os.environ[var] = f"{current},{extra}" if current else extra


_isolate_aws_environment()

import boto3  # noqa: E402  (imported after the environment is isolated on purpose)
from botocore.auth import SigV4Auth, SigV4QueryAuth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

# --------------------------------------------------------------------------------------------
# Constants shared by the test modules.
# --------------------------------------------------------------------------------------------
ACCOUNT_ID = "123456789012"
DEFAULT_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
DEFAULT_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DEFAULT_REGION = "us-east-1"
READY_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 20.0

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEFAULT_BIN = os.path.join(REPO_ROOT, "build", "coffer")

_READY_RE = re.compile(r"coffer: listening on (http://(127\.0\.0\.1|\[::1\]|localhost):(\d+))")

# Every server started by this process, so that an interpreter exit (even after a crash in a
# test) never leaves a coffer process behind.
_LIVE_SERVERS = set()
_LIVE_LOCK = threading.Lock()


def _kill_leftovers():
    with _LIVE_LOCK:
        servers = list(_LIVE_SERVERS)
    for server in servers:
        try:
            server.close()
        except Exception:  # pragma: no cover - best effort at exit
            pass


atexit.register(_kill_leftovers)


def coffer_binary():
    """Path of the coffer binary; raises SkipTest when it is simply not built (no COFFER_BIN)."""
    explicit = os.environ.get("COFFER_BIN")
    path = os.path.abspath(explicit or DEFAULT_BIN)  # the server runs with cwd=<temp dir>
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        if explicit:
            raise RuntimeError(f"COFFER_BIN={explicit!r} is not an executable file")
        raise unittest.SkipTest(f"coffer binary not built at {path} (set COFFER_BIN)")
    return path


def unique_name(prefix="e2e"):
    """A fresh secret name made only of characters valid in a secret name."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def error_code(exc):
    return exc.response.get("Error", {}).get("Code")


def error_message(exc):
    return exc.response.get("Error", {}).get("Message")


def http_status(exc_or_response):
    resp = getattr(exc_or_response, "response", exc_or_response)
    return resp.get("ResponseMetadata", {}).get("HTTPStatusCode")


def sanitize_error_type(value):
    """What botocore / the JS SDK do with `__type` and x-amzn-ErrorType."""
    if value is None:
        return None
    value = value.split(":")[0]
    return value.split("#")[-1]


class RawResponse:
    """Result of a raw HTTP exchange: status, lower-cased headers, body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict: lower-case name -> value (last one wins)
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"RawResponse({self.status}, {self.headers!r}, {self.body[:500]!r})"


def _postgres_admin(sql):
    """Runs `sql` on the test PostgreSQL server (COFFER_TEST_POSTGRES_URL) as its superuser."""
    proc = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                           os.environ["COFFER_TEST_POSTGRES_URL"], "-c", sql],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed: {proc.stderr}")


def _postgres_query(url, sql):
    """The text `sql` answers on the database `url` names (one value: psql -At)."""
    proc = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f"psql {sql!r} failed: {proc.stderr}")
    return proc.stdout.strip()


def _with_database(url, dbname):
    """`url` naming the database `dbname` instead of its own."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + dbname))


class CofferServer:
    """One coffer server process on a loopback port, with its own data directory.

    When COFFER_TEST_POSTGRES_URL is set (tests/e2e/with_postgres.py), a server on a fresh data
    directory keeps its store in a PostgreSQL database of its own (`--store`), made here and
    dropped by close(): the same suites then check the PostgreSQL engine."""

    def __init__(self, key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET, use_env_credentials=True,
                 account_id=ACCOUNT_ID, extra_args=(), binary=None, data_dir=None,
                 accept_sealed=False, extra_env=None):
        """data_dir: run on an existing (e.g. `coffer operator init`-ed or copied) data directory
        instead of a fresh one; it is the caller's: close() does not remove it.
        accept_sealed: start() also accepts a sealed server (GET /health -> 503 sealed JSON)
        instead of waiting for 200.
        extra_env: variables added to the server's environment (e.g. COFFER_PASSPHRASE).
        extra_args and extra_env are read at every start(), so a test may change them between
        restarts."""
        self.binary = binary or coffer_binary()
        self.key_id = key_id
        self.secret = secret
        self.use_env_credentials = use_env_credentials
        self.account_id = account_id
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.accept_sealed = accept_sealed
        self.root = tempfile.mkdtemp(prefix="coffer-e2e-")
        self.log_dir = os.path.join(self.root, "logs")
        self.database = None
        self.store_args = []
        if data_dir is None:
            self.data_dir = os.path.join(self.root, "data")
            os.mkdir(self.data_dir, 0o700)
            if os.environ.get("COFFER_TEST_POSTGRES_URL"):
                self.database = "coffer_" + uuid.uuid4().hex[:16]
                _postgres_admin(f"CREATE DATABASE {self.database}")
                self.store_args = ["--store", _with_database(
                    os.environ["COFFER_TEST_POSTGRES_URL"], self.database)]
        else:
            self.data_dir = os.path.abspath(data_dir)
        os.mkdir(self.log_dir, 0o700)
        self.proc = None
        self.port = None
        self.endpoint = None
        self.health = None
        self.health_status = None  # HTTP status of the GET /health that ended start()
        self.start_count = 0
        self._output = bytearray()  # stdout+stderr of every run, interleaved by arrival
        self._output_lock = threading.Lock()
        self._threads = []
        self.canaries = set()  # secrets this server's clients sent or received
        self._ready_event = None
        self._ready_endpoint = None
        self.closed = False

    # -- lifecycle ----------------------------------------------------------------------------
    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def _env(self):
        env = dict(os.environ)
        for name in list(env):
            if name.startswith("COFFER_ROOT_") or name in ("COFFER_PASSPHRASE", "COFFER_ENDPOINT"):
                del env[name]
        if self.use_env_credentials:
            env["COFFER_ROOT_ACCESS_KEY_ID"] = self.key_id
            env["COFFER_ROOT_SECRET_ACCESS_KEY"] = self.secret
        env.update(self.extra_env)
        return env

    def command(self, port=0):
        return [self.binary, "server", "--listen", f"127.0.0.1:{port}",
                "--data-dir", self.data_dir, "--account-id", self.account_id] + self.store_args + \
            self.extra_args

    def start(self, port=0):
        """Start the server and wait (<= 20 s) for its readiness line and /health (200, or also
        503 {"sealed":true} when accept_sealed)."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("server already running")
        self.start_count += 1
        run = self.start_count
        self._ready_event = threading.Event()
        self._ready_endpoint = None
        self.proc = subprocess.Popen(
            self.command(port), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=self._env(), cwd=self.root, start_new_session=True)
        with _LIVE_LOCK:
            _LIVE_SERVERS.add(self)
        self._threads = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, f"stdout.{run}.log", True),
                             daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, f"stderr.{run}.log", False),
                             daemon=True),
        ]
        for t in self._threads:
            t.start()

        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self._ready_event.wait(0.05):
            if self.proc.poll() is not None:
                for t in self._threads:
                    t.join(2)
                raise RuntimeError(
                    f"coffer exited with {self.proc.returncode} before it was ready; "
                    f"command={self.command(port)!r}\noutput:\n{self.output_text()[-4000:]}")
            if time.monotonic() > deadline:
                self.kill9()
                raise RuntimeError(
                    f"coffer did not print its listening line within {READY_TIMEOUT_SECONDS}s\n"
                    f"output:\n{self.output_text()[-4000:]}")
        self.endpoint = self._ready_endpoint
        self.port = int(urllib.parse.urlsplit(self.endpoint).port)
        host = urllib.parse.urlsplit(self.endpoint).hostname
        if host not in ("127.0.0.1", "::1", "localhost"):
            self.kill9()
            raise RuntimeError(f"server listens on a non-loopback address: {self.endpoint}")
        self._wait_health(deadline)
        return self

    def _wait_health(self, deadline):
        last = None
        while time.monotonic() < deadline + 5:
            try:
                resp = self.raw_request("GET", "/health")
                if resp.status == 200:
                    self.health = json.loads(resp.body.decode("utf-8"))
                    self.health_status = resp.status
                    return
                if self.accept_sealed and resp.status == 503:
                    body = json.loads(resp.body.decode("utf-8"))
                    if isinstance(body, dict) and body.get("sealed") is True:
                        self.health = body
                        self.health_status = resp.status
                        return
                last = resp
            except (OSError, http.client.HTTPException, ValueError) as e:
                last = e
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        wanted = "200 (or 503 sealed)" if self.accept_sealed else "200"
        raise RuntimeError(f"GET /health never returned {wanted} JSON: {last!r}\n"
                           f"output:\n{self.output_text()[-4000:]}")

    def _drain(self, stream, filename, watch_ready):
        path = os.path.join(self.log_dir, filename)
        with open(path, "ab") as log:
            for line in iter(stream.readline, b""):
                with self._output_lock:
                    self._output.extend(line)
                log.write(line)
                log.flush()
                if watch_ready and not self._ready_event.is_set():
                    m = _READY_RE.search(line.decode("utf-8", "replace"))
                    if m:
                        self._ready_endpoint = m.group(1)
                        self._ready_event.set()
        stream.close()

    def _join_drains(self):
        for t in self._threads:
            t.join(10)
        self._threads = []

    def store_query(self, sql):
        """What `sql` answers on this server's PostgreSQL database (a test reading the store)."""
        if not self.database:
            raise AssertionError("this server's store is SQLite, in its data directory")
        return _postgres_query(_with_database(os.environ["COFFER_TEST_POSTGRES_URL"],
                                              self.database), sql)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, check=True):
        """SIGTERM, wait; asserts a clean exit (code 0) when check is true. Returns the code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                self._join_drains()
                raise AssertionError(
                    f"coffer did not exit within {STOP_TIMEOUT_SECONDS}s of SIGTERM\n"
                    f"output:\n{self.output_text()[-4000:]}")
        self._join_drains()
        code = self.proc.returncode
        if check and code != 0:
            raise AssertionError(f"coffer exited with code {code} after SIGTERM (expected 0)\n"
                                 f"output:\n{self.output_text()[-4000:]}")
        return code

    def kill9(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._join_drains()

    def restart(self, hard=False):
        """Stop (SIGTERM, or SIGKILL when hard) and start again on the same data dir.

        Tries the same port first; when it cannot be bound, falls back to a new one."""
        old_port = self.port
        if hard:
            self.kill9()
        else:
            self.stop(check=True)
        if old_port:
            try:
                return self.start(port=old_port)
            except RuntimeError:
                if self.running():
                    raise
        return self.start(port=0)

    def close(self):
        """Kill the process if still running and remove the temp tree (COFFER_E2E_KEEP keeps it).

        A data_dir passed to the constructor is not under the temp tree and is left alone."""
        if self.closed:
            return
        self.closed = True
        leak = None
        try:
            if self.canaries:
                try:
                    self.assert_no_canary_in_audit_trail()
                except AssertionError as e:
                    leak = e
            if self.running():
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(10)
            self._join_drains()
        finally:
            with _LIVE_LOCK:
                _LIVE_SERVERS.discard(self)
            if not os.environ.get("COFFER_E2E_KEEP"):
                shutil.rmtree(self.root, ignore_errors=True)
                if self.database is not None:
                    _postgres_admin(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        if leak is not None:
            raise leak

    # -- output ---------------------------------------------------------------------------------
    def output(self):
        """Everything the server wrote to stdout and stderr so far (all runs), as bytes."""
        with self._output_lock:
            return bytes(self._output)

    def output_text(self):
        return self.output().decode("utf-8", "replace")

    def wait_for_output(self, text, timeout=10.0):
        """Waits until the captured output contains `text` and returns the output. The server
        has written a line before the request that caused it is answered, but the drain threads
        may read it a moment later, so a test polls rather than reading once."""
        deadline = time.monotonic() + timeout
        while True:
            output = self.output_text()
            if text in output:
                return output
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not in the server output:\n{output[-2000:]}")
            time.sleep(0.05)

    # -- clients --------------------------------------------------------------------------------
    def client(self, service, region=DEFAULT_REGION, key_id=None, secret=None, session_token=None,
               **config_kwargs):
        cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                     read_timeout=60, **config_kwargs)
        session = boto3.session.Session()
        client = session.client(
            service, region_name=region, endpoint_url=self.endpoint,
            aws_access_key_id=key_id if key_id is not None else self.key_id,
            aws_secret_access_key=secret if secret is not None else self.secret,
            aws_session_token=session_token, config=cfg)
        # Every secret a test sends or receives becomes a canary the audit trail must not hold
        # (checked when the server is closed).
        client.meta.events.register("provide-client-params", self._collect_request_canaries)
        client.meta.events.register("after-call", self._collect_response_canaries)
        return client

    # -- audit trail canaries -------------------------------------------------------------------
    _CANARY_REQUEST_MEMBERS = ("SecretString", "SecretBinary", "Plaintext", "Password",
                               "NewPassword", "OldPassword")
    _CANARY_RESPONSE_MEMBERS = ("SecretString", "SecretBinary", "Plaintext", "SecretAccessKey",
                                "SessionToken")

    def _add_canary(self, value):
        if isinstance(value, str):
            value = value.encode("utf-8")
        # Short values (a test's "x", "{}") also occur in names and documents by chance.
        if isinstance(value, (bytes, bytearray)) and len(value) >= 12:
            with self._output_lock:
                self.canaries.add(bytes(value))

    def _collect_request_canaries(self, params, model=None, **_):
        for member in self._CANARY_REQUEST_MEMBERS:
            if member in params:
                self._add_canary(params[member])
        if model is not None and model.name == "PutParameter" and "Value" in params:
            self._add_canary(params["Value"])

    def _collect_response_canaries(self, parsed=None, **_):
        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    if k in self._CANARY_RESPONSE_MEMBERS:
                        self._add_canary(x)
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(parsed)

    def audit_files(self):
        """The audit trail's files: the journal segments, the index, the log files and digests."""
        audit = os.path.join(self.data_dir, "audit")
        return [p for p in self.data_files() if p.startswith(audit + os.sep)]

    def assert_no_canary_in_audit_trail(self):
        """No secret sent or received through this server's clients is in its audit trail, in
        any encoding a record could carry it (as is, JSON-escaped, base64)."""
        with self._output_lock:
            canaries = set(self.canaries)
        forms = {}
        for c in canaries:
            forms[c] = {c, json.dumps(c.decode("utf-8", "replace"))[1:-1].encode(),
                        base64.b64encode(c)}
        for path in self.audit_files():
            with open(path, "rb") as f:
                data = f.read()
            if path.endswith(".gz"):
                try:
                    data = gzip.decompress(data)
                except (OSError, EOFError):
                    pass  # a file a test damaged on purpose: scanned as it is
            for canary, encodings in forms.items():
                for form in encodings:
                    if form and form in data:
                        raise AssertionError(
                            f"a secret value ({len(canary)} bytes, starting {canary[:4]!r}) is "
                            f"in the audit trail file {path}")
        return len(canaries)

    # -- raw HTTP -------------------------------------------------------------------------------
    def raw_request(self, method, path, body=b"", headers=None, timeout=30):
        """Send one HTTP request with http.client (no proxies, no retries, no signing).

        A server may answer before it has read the whole body (e.g. 413 for an oversized body)
        and close the connection; the send then fails with EPIPE/ECONNRESET, but the answer is
        already in our receive buffer, so it is still read and returned."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            hdrs = {"Host": f"127.0.0.1:{self.port}"}
            hdrs.update(headers or {})
            if isinstance(body, str):
                body = body.encode("utf-8")
            try:
                conn.request(method, path, body=body if (body or method != "GET") else None,
                             headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                if conn.sock is None:
                    raise
            resp = conn.getresponse()
            data = resp.read()
            headers_out = {k.lower(): v for k, v in resp.getheaders()}
            return RawResponse(resp.status, headers_out, data)
        finally:
            conn.close()

    def signed_request(self, body=b"", headers=None, service="secretsmanager",
                       region=DEFAULT_REGION, key_id=None, secret=None, timestamp=None,
                       method="POST", path="/"):
        """Send a request signed in the Authorization header by botocore's SigV4Auth.

        body is sent verbatim (bytes or str).  timestamp, when given, is a naive UTC datetime
        used as the signing time (X-Amz-Date)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = {"Host": f"127.0.0.1:{self.port}"}
        hdrs.update(headers or {})
        request = AWSRequest(method=method, url=f"http://127.0.0.1:{self.port}{path}", data=body,
                             headers=hdrs)
        creds = Credentials(key_id if key_id is not None else self.key_id,
                            secret if secret is not None else self.secret)
        signer = SigV4Auth(creds, service, region)
        if timestamp is None:
            signer.add_auth(request)
        else:
            import unittest.mock as mock
            with mock.patch("botocore.auth.get_current_datetime", return_value=timestamp):
                signer.add_auth(request)
        prepared = request.prepare()
        return self.raw_request(method, path, body=body, headers=dict(prepared.headers.items()))

    def signed_json_request(self, target, body, service="secretsmanager", region=DEFAULT_REGION,
                            key_id=None, secret=None, timestamp=None, extra_headers=None,
                            content_type="application/x-amz-json-1.1"):
        """POST / with X-Amz-Target (JSON 1.1 protocol), signed with SigV4.

        body may be a dict (serialised as JSON) or raw bytes/str (sent verbatim, e.g. malformed)."""
        if isinstance(body, dict):
            body = json.dumps(body).encode("utf-8")
        headers = {"Content-Type": content_type, "X-Amz-Target": target}
        headers.update(extra_headers or {})
        return self.signed_request(body, headers, service=service, region=region, key_id=key_id,
                                   secret=secret, timestamp=timestamp)

    def signed_query_request(self, params, service="sts", region=DEFAULT_REGION, key_id=None,
                             secret=None, timestamp=None):
        """POST / with a form-encoded AWS query-protocol body (STS), signed with SigV4."""
        body = urllib.parse.urlencode(params)
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        return self.signed_request(body, headers, service=service, region=region, key_id=key_id,
                                   secret=secret, timestamp=timestamp)

    def presigned_url(self, path_and_query, service="sts", region=DEFAULT_REGION, key_id=None,
                      secret=None, expires=300, timestamp=None):
        """A SigV4 query-authenticated (presigned) GET URL, built by botocore's SigV4QueryAuth."""
        url = f"http://127.0.0.1:{self.port}{path_and_query}"
        request = AWSRequest(method="GET", url=url, headers={"Host": f"127.0.0.1:{self.port}"})
        creds = Credentials(key_id if key_id is not None else self.key_id,
                            secret if secret is not None else self.secret)
        signer = SigV4QueryAuth(creds, service, region, expires=expires)
        if timestamp is None:
            signer.add_auth(request)
        else:
            import unittest.mock as mock
            with mock.patch("botocore.auth.get_current_datetime", return_value=timestamp):
                signer.add_auth(request)
        return request.url

    # -- files ----------------------------------------------------------------------------------
    def data_files(self):
        """Every regular file under the data dir (recursively)."""
        out = []
        for dirpath, _dirs, files in os.walk(self.data_dir):
            for f in files:
                p = os.path.join(dirpath, f)
                if os.path.isfile(p) and not os.path.islink(p):
                    out.append(p)
        return sorted(out)


def mount_small_disk(test, megabytes):
    """A tmpfs of the given size, unmounted at cleanup. Needs root (CAP_SYS_ADMIN)."""
    path = tempfile.mkdtemp(prefix="coffer-disk-")
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m,mode=0700",
                             "tmpfs", path], capture_output=True, text=True)
    if result.returncode != 0:
        os.rmdir(path)
        raise unittest.SkipTest(f"cannot mount a small file system here: {result.stderr.strip()}")
    test.addCleanup(os.rmdir, path)
    test.addCleanup(subprocess.run, ["umount", "-l", path], check=False)
    return path


def start_class_server(test_class, **kwargs):
    """Start a server for a TestCase class and register its shutdown as a class cleanup.

    The clean stop (exit code 0) is checked in tearDownClass by the caller if it wants to;
    the cleanup only guarantees that no process or temp dir is left behind."""
    server = CofferServer(**kwargs)
    test_class.addClassCleanup(server.close)
    server.start()
    return server


def parse_http_date(value):
    dt = email.utils.parsedate_to_datetime(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def as_utc(dt):
    return dt.astimezone(datetime.timezone.utc)


class AwsAssertions:
    """Assertions the service test cases share (mixed into their unittest.TestCase bases)."""

    def assertClientError(self, code, fn, *args, status=400, message=None, codes=None, **kwargs):
        """Call fn, expect a ClientError with the given code (or one of `codes`) and status."""
        from botocore.exceptions import ClientError
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        exc = ctx.exception
        if codes is not None:
            self.assertIn(error_code(exc), codes, exc.response)
        else:
            self.assertEqual(code, error_code(exc), exc.response)
        if status is not None:
            self.assertEqual(status, http_status(exc), exc.response)
        if message is not None:
            self.assertEqual(message, error_message(exc), exc.response)
        return exc

    def assertRecent(self, dt, seconds=120):
        self.assertIsInstance(dt, datetime.datetime)
        delta = abs((as_utc(dt) - utcnow()).total_seconds())
        self.assertLess(delta, seconds, f"{dt!r} is not within {seconds}s of now")


def b64(data):
    return base64.b64encode(data)
