"""End-to-end tests of sealing: `coffer operator init|status|unseal|seal|rotate-root`, the sealed
server state, and what a data directory (or a copy of it) gives away without the unseal input.

Interface under test (seal_interface.md):
* `coffer operator init --data-dir DIR --seal file|passphrase|shamir` prints the shamir shares
  ("Unseal share N: <text>") once and, when it generated the root access key, the key
  ("Root access key id: ...", "Root secret access key: ..."); refuses (exit 1) an initialised DIR.
* A shamir server always starts sealed; a passphrase server unless --passphrase-file or
  COFFER_PASSPHRASE is given (a wrong one: exit 1).  Sealed: GET /health -> 503
  {"status":"sealed","sealed":true}; every AWS API call -> 503 ServiceUnavailableException (JSON
  protocols, message mentions "sealed") / ServiceUnavailable (STS query protocol).
* GET /coffer/seal-status -> {"Sealed","Type","Threshold","Shares","Progress"};
  POST /coffer/unseal {"Share"}|{"Passphrase"}|{"Reset":true}: a repeated share or a malformed
  one -> 400 InvalidParameterException; shares that do not reconstruct the key or a wrong
  passphrase -> 400 InvalidUnsealKeyException (progress back to 0).
* POST /coffer/seal and /coffer/rotate-root are SigV4-signed (service "coffer") by the root.
* The CLI: status exits 0 unsealed / 2 sealed / 1 on error; unseal reads one line from stdin and
  exits 0 on accepted input, 1 on error; seal prints "coffer: sealed"; rotate-root prints
  "coffer: root key rotated (generation G, N key materials re-wrapped)".  The same shares /
  passphrase keep unsealing after rotate-root.

botocore retries 503s: every boto3 client here is built with
retries={"total_max_attempts": 1} (one attempt; the harness's {"max_attempts": 1} still allows one
retry after a back-off of up to a second), and the AWS CLI runs with AWS_MAX_ATTEMPTS=1 (which
counts every attempt).
"""

import base64
import configparser
import json
import os
import random
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import uuid

from coffer_server import (ACCOUNT_ID, DEFAULT_KEY_ID, DEFAULT_REGION, DEFAULT_SECRET,
                           CofferServer, coffer_binary, error_code, error_message, http_status,
                           sanitize_error_type)

# After coffer_server, which makes the AWS environment hermetic before boto3 is imported.
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
CLI_TIMEOUT_SECONDS = 60

SHARE_RE = re.compile(r"Unseal share\s+(\d+)\s*:\s*(\S+)")
GENERATED_KEY_ID_RE = re.compile(r"Root access key id\s*:\s*(\S+)")
GENERATED_SECRET_RE = re.compile(r"Root secret access key\s*:\s*(\S+)")
GENERATION_RE = re.compile(r"generation\s+(\d+)")
REWRAPPED_RE = re.compile(r"(\d+)\s+key\s+materials?\s+re-?wrapped")
JSON_UNAVAILABLE = "ServiceUnavailableException"
QUERY_UNAVAILABLE = "ServiceUnavailable"


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------
def uid(n=12):
    return uuid.uuid4().hex[:n]


def marker(kind):
    """A distinctive plaintext that must never be found at rest or in logs."""
    return f"COFFER-SEAL-PLAINTEXT-{kind}-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


def plaintext_forms(value):
    """Byte strings whose presence in a file would reveal `value` (bytes): raw, lower/upper hex,
    the full standard and URL-safe base64, and the alignment-independent cores of both base64
    encodings (a value embedded at any offset of a base64 stream contains one of the cores)."""
    forms = {value, value.hex().encode(), value.hex().upper().encode(),
             base64.b64encode(value), base64.urlsafe_b64encode(value)}
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = enc(b"\x00" * pad + value)
            core = encoded[4 if pad else 0:-4]
            if len(core) >= 16:
                forms.add(core)
    return forms


def child_env(key_id=None, secret=None, extra=None):
    """The environment for a coffer CLI child: no COFFER_* or AWS credentials from outside
    (the harness already made the AWS config hermetic at import), plus what is asked for."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("COFFER_") or name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                  "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                                                  "AWS_PROFILE"):
            del env[name]
    if key_id is not None:
        env["AWS_ACCESS_KEY_ID"] = key_id
    if secret is not None:
        env["AWS_SECRET_ACCESS_KEY"] = secret
    env.update(extra or {})
    return env


def run_coffer(args, input_text=None, env=None, timeout=CLI_TIMEOUT_SECONDS):
    """Run `coffer ARGS` to completion; stdin is `input_text` (a pipe) or /dev/null."""
    kwargs = {"input": input_text} if input_text is not None else {"stdin": subprocess.DEVNULL}
    # A new session: no controlling terminal, so nothing can prompt on /dev/tty and hang.
    return subprocess.run([coffer_binary()] + list(args), capture_output=True, text=True,
                          encoding="utf-8", errors="replace", start_new_session=True,
                          env=env if env is not None else child_env(), timeout=timeout, **kwargs)


def describe(proc):
    return (f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n"
            f"--- stderr ---\n{proc.stderr}")


def parse_json_output(text):
    """The JSON object printed by `coffer operator status` (tolerates surrounding text)."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        raise AssertionError(f"no JSON object in {text!r}")
    return json.loads(text[start:end + 1])


def find_aws_cli():
    for candidate in (os.environ.get("AWS_CLI"), "/usr/bin/aws", shutil.which("aws")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


class InitResult:
    def __init__(self, data_dir, proc):
        self.data_dir = data_dir
        self.proc = proc
        self.stdout = proc.stdout
        self.shares = {int(n): text for n, text in SHARE_RE.findall(proc.stdout)}
        m = GENERATED_KEY_ID_RE.search(proc.stdout)
        self.generated_key_id = m.group(1) if m else None
        m = GENERATED_SECRET_RE.search(proc.stdout)
        self.generated_secret = m.group(1) if m else None

    def share_list(self, *numbers):
        return [self.shares[n] for n in numbers]


class SealData:
    """What populate() wrote: secrets, parameters and KMS ciphertexts with their plaintexts."""

    def __init__(self):
        self.key_id = None
        self.secrets = {}      # name -> str or bytes
        self.params = {}       # name -> (type, value)
        self.ciphertexts = []  # (ciphertext blob, plaintext bytes)
        self.data_key = None   # GenerateDataKey's Plaintext

    def plaintexts(self):
        out = []
        for value in self.secrets.values():
            out.append(value.encode("utf-8") if isinstance(value, str) else value)
        for ptype, value in self.params.values():
            if ptype == "SecureString":
                out.append(value.encode("utf-8"))
        for _blob, plaintext in self.ciphertexts:
            out.append(plaintext)
        return out


# ---------------------------------------------------------------------------------------------
# Base class
# ---------------------------------------------------------------------------------------------
class SealCase(unittest.TestCase):
    maxDiff = None

    # -- clients ------------------------------------------------------------------------------
    @staticmethod
    def client(server, service, key_id=None, secret=None):
        """A boto3 client for `server` that sends every request exactly once.

        Config(retries={"max_attempts": 1}) (the harness's client()) still means one *retry*
        in botocore, and 503 is retried after a back-off of up to a second; total_max_attempts
        is the number of attempts including the first."""
        cfg = Config(retries={"total_max_attempts": 1, "mode": "standard"}, connect_timeout=5,
                     read_timeout=60)
        return boto3.session.Session().client(
            service, region_name=DEFAULT_REGION, endpoint_url=server.endpoint,
            aws_access_key_id=key_id if key_id is not None else server.key_id,
            aws_secret_access_key=secret if secret is not None else server.secret,
            config=cfg)

    # -- temp dirs, init, servers ---------------------------------------------------------------
    def new_tmp(self):
        path = tempfile.mkdtemp(prefix="coffer-e2e-seal-")
        if not os.environ.get("COFFER_E2E_KEEP"):
            self.addCleanup(shutil.rmtree, path, True)
        return path

    def init_dir(self, seal="shamir", shares=None, threshold=None, passphrase_file=None,
                 root_creds=True, extra_env=None, data_dir=None):
        """`coffer operator init` into a fresh directory; asserts success and returns the result."""
        if data_dir is None:
            data_dir = os.path.join(self.new_tmp(), "data")  # not yet existing
        args = ["operator", "init", "--data-dir", data_dir, "--account-id", ACCOUNT_ID,
                "--seal", seal]
        if shares is not None:
            args += ["--key-shares", str(shares)]
        if threshold is not None:
            args += ["--key-threshold", str(threshold)]
        if passphrase_file is not None:
            args += ["--passphrase-file", passphrase_file]
        extra = dict(extra_env or {})
        if root_creds:
            extra.update({"COFFER_ROOT_ACCESS_KEY_ID": DEFAULT_KEY_ID,
                          "COFFER_ROOT_SECRET_ACCESS_KEY": DEFAULT_SECRET})
        proc = run_coffer(args, env=child_env(extra=extra))
        self.assertEqual(0, proc.returncode, f"coffer operator init failed: {describe(proc)}")
        result = InitResult(data_dir, proc)
        self.assertRegex(proc.stdout, rf"coffer: initialized .*for account {ACCOUNT_ID}, "
                                      rf"seal {seal}\b")
        self.assertTrue(os.path.isdir(data_dir), f"init did not create {data_dir}")
        if seal == "shamir":
            want_n = shares if shares is not None else 5
            want_t = threshold if threshold is not None else 3
            self.assertRegex(proc.stdout, rf"\b{want_t} of {want_n}\b")
            self.assertEqual(list(range(1, want_n + 1)), sorted(result.shares), proc.stdout)
            self.assertEqual(want_n, len(set(result.shares.values())), "shares are not distinct")
        else:
            self.assertEqual({}, result.shares, f"{seal} seal printed unseal shares")
        if root_creds:
            self.assertIsNone(result.generated_key_id, proc.stdout)
            self.assertIsNone(result.generated_secret, proc.stdout)
        return result

    def new_server(self, data_dir, key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET, start=True,
                   **kwargs):
        """A server on an existing data dir; accepts a sealed start. The root's credentials live
        in the store since init, so none are passed in the environment."""
        kwargs.setdefault("accept_sealed", True)
        kwargs.setdefault("use_env_credentials", False)
        server = CofferServer(key_id=key_id, secret=secret, data_dir=data_dir, **kwargs)
        self.addCleanup(server.close)
        if start:
            server.start()
        return server

    def spawn_server_expect_exit(self, data_dir, extra_args=(), extra_env=None):
        """Run `coffer server` where it must refuse to start; returns (exit code, output)."""
        cmd = [coffer_binary(), "server", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
               "--account-id", ACCOUNT_ID] + list(extra_args)
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, env=child_env(extra=extra_env),
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate(timeout=10)
            self.fail(f"coffer server kept running where it had to exit: {cmd!r}\n"
                      f"{out.decode('utf-8', 'replace')}")
        return proc.returncode, out.decode("utf-8", "replace")

    def wait_for_output(self, server, text, timeout=5.0):
        """The server's captured output contains `text` (it may follow the listening line)."""
        server.wait_for_output(text, timeout)

    # -- operator CLI ---------------------------------------------------------------------------
    def operator(self, server, *args, input_text=None, key_id=None, secret=None):
        return run_coffer(["operator"] + list(args) + ["--endpoint", server.endpoint],
                          input_text=input_text, env=child_env(key_id=key_id, secret=secret))

    def cli_status(self, server):
        proc = self.operator(server, "status")
        return proc.returncode, parse_json_output(proc.stdout), proc

    def cli_unseal(self, server, text):
        return self.operator(server, "unseal", input_text=text + "\n")

    def cli_unseal_ok(self, server, text, progress, threshold):
        """Unseal with one share/passphrase through the CLI; progress is the expected number of
        shares received afterwards (None when this input must unseal)."""
        proc = self.cli_unseal(server, text)
        self.assertEqual(0, proc.returncode, describe(proc))
        if progress is None:
            self.assertIn("unsealed", proc.stdout.lower(), describe(proc))
        else:
            self.assertNotIn("unsealed", proc.stdout.lower(), describe(proc))
            self.assertRegex(proc.stdout, rf"\b{progress} of {threshold}\b")
        return proc

    def unseal_until_not_throttled(self, server, body, timeout=15):
        """POST /coffer/unseal, repeated while the server throttles passphrase attempts."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.unseal_http(server, body)
            if resp.status != 429 or time.monotonic() > deadline:
                return resp
            time.sleep(0.2)

    def cli_unseal_all(self, server, shares):
        threshold = len(shares)
        for i, share in enumerate(shares, start=1):
            self.cli_unseal_ok(server, share, None if i == threshold else i, threshold)
        self.assertUnsealed(server)

    def root_operator(self, server, *args):
        return self.operator(server, *args, key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET)

    def rotate_root(self, server):
        """`coffer operator rotate-root`; returns (generation, re-wrapped count)."""
        proc = self.root_operator(server, "rotate-root")
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertIn("root key rotated", proc.stdout, describe(proc))
        gen = GENERATION_RE.search(proc.stdout)
        rewrapped = REWRAPPED_RE.search(proc.stdout)
        self.assertIsNotNone(gen, describe(proc))
        self.assertIsNotNone(rewrapped, describe(proc))
        return int(gen.group(1)), int(rewrapped.group(1))

    # -- operator HTTP --------------------------------------------------------------------------
    def seal_status(self, server):
        resp = server.raw_request("GET", "/coffer/seal-status")
        self.assertEqual(200, resp.status, resp)
        return resp.json()

    def unseal_status_http(self, server):
        return server.raw_request("GET", "/coffer/seal-status").json()

    def unseal_http(self, server, body):
        return server.raw_request("POST", "/coffer/unseal", body=json.dumps(body),
                                  headers={"Content-Type": "application/json"})

    def coffer_signed(self, server, path, key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET):
        return server.signed_request(b"", {"Content-Type": "application/json"}, service="coffer",
                                     region=DEFAULT_REGION,
                                     key_id=key_id, secret=secret, method="POST", path=path)

    def assertStatus(self, server, sealed, type_, threshold, shares, progress):
        got = self.seal_status(server)
        self.assertEqual({"Sealed": sealed, "Type": type_, "Threshold": threshold,
                          "Shares": shares, "Progress": progress},
                         {k: got.get(k) for k in ("Sealed", "Type", "Threshold", "Shares",
                                                  "Progress")}, got)
        return got

    def assertHealthSealed(self, server):
        resp = server.raw_request("GET", "/health")
        self.assertEqual(503, resp.status, resp)
        body = resp.json()
        self.assertEqual({"status": "sealed", "sealed": True},
                         {"status": body.get("status"), "sealed": body.get("sealed")}, body)

    def assertHealthOk(self, server):
        resp = server.raw_request("GET", "/health")
        self.assertEqual(200, resp.status, resp)
        body = resp.json()
        self.assertEqual({"status": "ok", "sealed": False},
                         {"status": body.get("status"), "sealed": body.get("sealed")}, body)

    def assertSealed(self, server, progress=None):
        self.assertHealthSealed(server)
        got = self.seal_status(server)
        self.assertIs(True, got.get("Sealed"), got)
        if progress is not None:
            self.assertEqual(progress, got.get("Progress"), got)
        with self.assertRaises(ClientError) as ctx:
            self.client(server, "secretsmanager").list_secrets()
        self.assertEqual(503, http_status(ctx.exception), ctx.exception.response)

    def assertUnsealed(self, server):
        self.assertHealthOk(server)
        got = self.seal_status(server)
        self.assertEqual((False, 0), (got.get("Sealed"), got.get("Progress")), got)

    def assertUnavailable(self, fn, code=JSON_UNAVAILABLE, what=""):
        with self.assertRaises(ClientError) as ctx:
            fn()
        exc = ctx.exception
        self.assertEqual(503, http_status(exc), f"{what}: {exc.response}")
        self.assertEqual(code, error_code(exc), f"{what}: {exc.response}")
        if code == JSON_UNAVAILABLE:
            self.assertIn("sealed", (error_message(exc) or "").lower(), f"{what}: {exc.response}")
        return exc

    def assertApiSealed(self, server, data=None):
        """Every service answers 503 (boto3, raw unsigned and raw signed); nothing stored leaks."""
        sm = self.client(server, "secretsmanager")
        ssm = self.client(server, "ssm")
        kms = self.client(server, "kms")
        sts = self.client(server, "sts")
        secret_name = next(iter(data.secrets)) if data else "seal/any"
        param_name = next(iter(data.params)) if data else "/seal/any"
        key_id = data.key_id if data else str(uuid.uuid4())
        blob = data.ciphertexts[0][0] if data else b"\x01" * 64
        calls = [
            ("GetSecretValue", lambda: sm.get_secret_value(SecretId=secret_name)),
            ("ListSecrets", lambda: sm.list_secrets()),
            ("DescribeSecret", lambda: sm.describe_secret(SecretId=secret_name)),
            ("CreateSecret", lambda: sm.create_secret(Name=f"seal/new-{uid()}",
                                                      SecretString="x")),
            ("GetParameter", lambda: ssm.get_parameter(Name=param_name, WithDecryption=True)),
            ("GetParametersByPath", lambda: ssm.get_parameters_by_path(
                Path="/", Recursive=True, WithDecryption=True)),
            ("ListKeys", lambda: kms.list_keys()),
            ("Decrypt", lambda: kms.decrypt(CiphertextBlob=blob)),
            ("GenerateDataKey", lambda: kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")),
        ]
        for what, fn in calls:
            with self.subTest(call=what):
                self.assertUnavailable(fn, JSON_UNAVAILABLE, what)
        with self.subTest(call="GetCallerIdentity"):
            self.assertUnavailable(lambda: sts.get_caller_identity(), QUERY_UNAVAILABLE,
                                   "GetCallerIdentity")

        # Unsigned, and signed with credentials nobody has: still 503, not an auth error.
        target_body = json.dumps({"SecretId": secret_name})
        unsigned = server.raw_request(
            "POST", "/", body=target_body,
            headers={"Content-Type": "application/x-amz-json-1.1",
                     "X-Amz-Target": "secretsmanager.GetSecretValue"})
        self.assertEqual(503, unsigned.status, unsigned)
        self.assertEqual(JSON_UNAVAILABLE,
                         sanitize_error_type(unsigned.header("x-amzn-errortype")), unsigned)
        bogus = server.signed_json_request("secretsmanager.GetSecretValue", target_body,
                                           key_id="AKIANOBODY0000000000", secret="nope")
        self.assertEqual(503, bogus.status, bogus)
        signed = server.signed_json_request("secretsmanager.GetSecretValue", target_body)
        self.assertEqual(503, signed.status, signed)
        self.assertEqual(JSON_UNAVAILABLE, sanitize_error_type(signed.json().get("__type")),
                         signed)
        sts_raw = server.signed_query_request({"Action": "GetCallerIdentity",
                                               "Version": "2011-06-15"})
        self.assertEqual(503, sts_raw.status, sts_raw)
        self.assertIn(b"<Code>ServiceUnavailable</Code>", sts_raw.body)
        self.assertNotIn(ACCOUNT_ID.encode(), sts_raw.body)
        if data:
            for resp in (unsigned, bogus, signed):
                for value in data.plaintexts():
                    self.assertNotIn(value, resp.body)

    # -- data -----------------------------------------------------------------------------------
    def populate(self, server, data=None):
        """Secrets (string, binary, under a customer key), SecureString (default and customer
        key) and String parameters, a customer KMS key, an Encrypt and a GenerateDataKey."""
        data = data or SealData()
        sm = self.client(server, "secretsmanager")
        ssm = self.client(server, "ssm")
        kms = self.client(server, "kms")
        u = uid()
        if data.key_id is None:
            md = kms.create_key(Description=f"seal e2e {u}")["KeyMetadata"]
            data.key_id = md["KeyId"]
        values = {
            f"seal/str-{u}": '{"password":"' + marker("STR") + '"}',
            f"seal/bin-{u}": b"\x00\xffBIN" + marker("BIN").encode() + os.urandom(16),
            f"seal/cmk-{u}": marker("CMK"),
        }
        for name, value in values.items():
            kwargs = {"SecretBinary": value} if isinstance(value, bytes) else {"SecretString": value}
            if name.startswith("seal/cmk-"):
                kwargs["KmsKeyId"] = data.key_id
            sm.create_secret(Name=name, **kwargs)
            data.secrets[name] = value
        params = {
            f"/seal/{u}/secure": ("SecureString", marker("SSM"), None),
            f"/seal/{u}/secure-cmk": ("SecureString", marker("SSMCMK"), data.key_id),
            f"/seal/{u}/plain": ("String", f"plain-{u}", None),
        }
        for name, (ptype, value, key) in params.items():
            kwargs = {"KeyId": key} if key else {}
            ssm.put_parameter(Name=name, Value=value, Type=ptype, **kwargs)
            data.params[name] = (ptype, value)
        plaintext = marker("KMS").encode() + os.urandom(8)
        blob = kms.encrypt(KeyId=data.key_id, Plaintext=plaintext)["CiphertextBlob"]
        data.ciphertexts.append((blob, plaintext))
        dk = kms.generate_data_key(KeyId=data.key_id, KeySpec="AES_256")
        self.assertEqual(32, len(dk["Plaintext"]))
        data.data_key = dk["Plaintext"]
        data.ciphertexts.append((dk["CiphertextBlob"], dk["Plaintext"]))
        return data

    def verify(self, server, data, when=""):
        """Every secret, parameter and ciphertext reads back; the key still encrypts."""
        sm = self.client(server, "secretsmanager")
        ssm = self.client(server, "ssm")
        kms = self.client(server, "kms")
        for name, value in data.secrets.items():
            got = sm.get_secret_value(SecretId=name)
            self.assertEqual(value, got.get("SecretString", got.get("SecretBinary")),
                             f"{when}: secret {name}")
        for name, (ptype, value) in data.params.items():
            p = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
            self.assertEqual((ptype, value), (p["Type"], p["Value"]), f"{when}: parameter {name}")
        for blob, plaintext in data.ciphertexts:
            got = kms.decrypt(CiphertextBlob=blob)
            self.assertEqual(plaintext, got["Plaintext"], f"{when}: KMS decrypt")
            self.assertTrue(got["KeyId"].endswith(data.key_id), got["KeyId"])
        fresh = os.urandom(20)
        blob = kms.encrypt(KeyId=data.key_id, Plaintext=fresh)["CiphertextBlob"]
        self.assertEqual(fresh, kms.decrypt(CiphertextBlob=blob)["Plaintext"], when)
        ident = self.client(server, "sts").get_caller_identity()
        self.assertEqual((ACCOUNT_ID, ROOT_ARN), (ident["Account"], ident["Arn"]), when)

    # -- files ----------------------------------------------------------------------------------
    @staticmethod
    def files_under(path):
        out = []
        for dirpath, _dirs, files in os.walk(path):
            for f in files:
                p = os.path.join(dirpath, f)
                if os.path.isfile(p) and not os.path.islink(p):
                    out.append(p)
        return sorted(out)

    def assertNotInFiles(self, data_dir, needles, when):
        """None of the byte strings `needles` (already expanded) occurs in any file."""
        files = self.files_under(data_dir)
        self.assertTrue(files, f"{when}: {data_dir} is empty")
        for path in files:
            with open(path, "rb") as f:
                content = f.read()
            for needle in needles:
                if needle in content:
                    self.fail(f"{when}: {needle[:60]!r} found in "
                              f"{os.path.relpath(path, data_dir)}")

    def assertNoRootKeyFile(self, data_dir):
        names = [os.path.basename(p) for p in self.files_under(data_dir)]
        self.assertNotIn("root.key", names, f"a root.key file exists in {data_dir}: {names}")


# =============================================================================================
class InitTest(SealCase):
    """`coffer operator init` on its own, and the file seal."""

    def test_file_seal_init_and_server(self):
        init = self.init_dir(seal="file", root_creds=False)
        # The generated key goes to DIR/root-credentials for the file seal, as before.
        self.assertIsNone(GENERATED_SECRET_RE.search(init.stdout), init.stdout)
        names = [os.path.basename(p) for p in self.files_under(init.data_dir)]
        self.assertIn("root.key", names)
        self.assertIn("root-credentials", names)
        parser = configparser.ConfigParser()
        parser.read(os.path.join(init.data_dir, "root-credentials"))
        key_id = parser["coffer"]["aws_access_key_id"].strip()
        secret = parser["coffer"]["aws_secret_access_key"].strip()

        server = self.new_server(init.data_dir, key_id=key_id, secret=secret)
        self.assertEqual(200, server.health_status, server.health)
        self.assertUnsealed(server)
        self.assertStatus(server, False, "file", 1, 1, 0)
        code, status, proc = self.cli_status(server)
        self.assertEqual(0, code, describe(proc))
        self.assertIs(False, status.get("Sealed"), status)
        ident = self.client(server, "sts").get_caller_identity()
        self.assertEqual(ROOT_ARN, ident["Arn"])
        # An unseal request to a file-sealed server changes nothing.  (seal_interface.md: "Unsealing
        # an unsealed server -> 200 status (no-op)"; coffer answers a file seal, which has nothing
        # to unseal, with 400 InvalidRequestException "This server uses the file seal.")
        resp = self.unseal_http(server, {"Share": "anything"})
        self.assertIn(resp.status, (200, 400), resp)
        if resp.status == 200:
            self.assertIs(False, resp.json().get("Sealed"), resp)
        else:
            self.assertEqual("InvalidRequestException",
                             sanitize_error_type(resp.json().get("__type")), resp)
        self.assertUnsealed(server)
        server.stop(check=True)

        # A data dir that `coffer server` initialised itself (what `make run` does) is a file
        # seal too, and init refuses it.
        plain = CofferServer()
        self.addCleanup(plain.close)
        plain.start()
        self.assertStatus(plain, False, "file", 1, 1, 0)
        plain.stop(check=True)
        for data_dir in (plain.data_dir, init.data_dir):
            proc = run_coffer(["operator", "init", "--data-dir", data_dir, "--seal", "shamir"])
            self.assertEqual(1, proc.returncode, describe(proc))
            self.assertTrue(proc.stderr.strip(), describe(proc))
            self.assertIsNone(SHARE_RE.search(proc.stdout), describe(proc))

    def test_init_rejects_bad_options(self):
        tmp = self.new_tmp()
        bad = [
            ["--seal", "shamir", "--key-shares", "3", "--key-threshold", "4"],
            ["--seal", "shamir", "--key-shares", "0", "--key-threshold", "0"],
            ["--seal", "shamir", "--key-shares", "256", "--key-threshold", "3"],
            ["--seal", "passphrase"],  # no file, no COFFER_PASSPHRASE, stdin is not a tty
            ["--seal", "nonsense"],
        ]
        for i, extra in enumerate(bad):
            with self.subTest(args=extra):
                data_dir = os.path.join(tmp, f"d{i}")
                proc = run_coffer(["operator", "init", "--data-dir", data_dir,
                                   "--account-id", ACCOUNT_ID] + extra)
                self.assertNotEqual(0, proc.returncode, describe(proc))
                self.assertIsNone(SHARE_RE.search(proc.stdout), describe(proc))
        # 1 of 1 and an explicit 2 of 3 are fine.
        one = self.init_dir(shares=1, threshold=1)
        self.assertEqual(1, len(one.shares))
        two = self.init_dir(shares=3, threshold=2)
        server = self.new_server(two.data_dir)
        self.assertStatus(server, True, "shamir", 2, 3, 0)
        self.cli_unseal_all(server, two.share_list(3, 1))
        server.stop(check=True)


# =============================================================================================
class ShamirTest(SealCase):

    def aws_cli_is_refused(self, server):
        aws = find_aws_cli()
        # make test installs the AWS CLI (scripts/install-deps.sh): without it this check must
        # fail, not pass without having run.
        self.assertIsNotNone(aws, "no AWS CLI found (set AWS_CLI or install awscli)")
        env = child_env(key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET, extra={
            "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard",
            "AWS_DEFAULT_REGION": DEFAULT_REGION, "AWS_REGION": DEFAULT_REGION,
            "AWS_PAGER": "", "AWS_CLI_AUTO_PROMPT": "off", "AWS_DEFAULT_OUTPUT": "json"})
        proc = subprocess.run([aws, "secretsmanager", "list-secrets", "--endpoint-url",
                               server.endpoint], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=env, timeout=CLI_TIMEOUT_SECONDS)
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertIn("ServiceUnavailableException", proc.stderr, describe(proc))

    # 1 ------------------------------------------------------------------------------------------
    def test_shamir_unseal_lifecycle(self):
        init = self.init_dir(shares=5, threshold=3)
        self.assertNoRootKeyFile(init.data_dir)
        # A second init of the same dir is refused and leaves the first one's shares valid.
        again = run_coffer(["operator", "init", "--data-dir", init.data_dir, "--account-id",
                            ACCOUNT_ID, "--seal", "shamir"])
        self.assertEqual(1, again.returncode, describe(again))
        self.assertTrue(again.stderr.strip(), describe(again))
        self.assertIsNone(SHARE_RE.search(again.stdout), describe(again))

        server = self.new_server(init.data_dir)
        self.assertEqual(503, server.health_status, server.health)
        self.wait_for_output(server, "coffer: sealed")
        self.assertHealthSealed(server)
        self.assertStatus(server, True, "shamir", 3, 5, 0)
        self.assertApiSealed(server)
        self.aws_cli_is_refused(server)
        code, status, proc = self.cli_status(server)
        self.assertEqual(2, code, describe(proc))
        self.assertEqual((True, "shamir", 0), (status.get("Sealed"), status.get("Type"),
                                               status.get("Progress")), status)

        s1, s2, s3 = init.share_list(1, 2, 3)
        self.cli_unseal_ok(server, s1, 1, 3)
        self.assertStatus(server, True, "shamir", 3, 5, 1)
        self.cli_unseal_ok(server, s2, 2, 3)
        code, status, proc = self.cli_status(server)
        self.assertEqual(2, code, describe(proc))
        self.assertEqual((True, 2), (status.get("Sealed"), status.get("Progress")), status)
        self.assertStatus(server, True, "shamir", 3, 5, 2)
        self.assertHealthSealed(server)
        self.assertUnavailable(lambda: self.client(server, "secretsmanager").list_secrets())
        self.assertUnavailable(lambda: self.client(server, "sts").get_caller_identity(),
                               QUERY_UNAVAILABLE)

        # The same share twice does not count.
        dup = self.cli_unseal(server, s2)
        self.assertEqual(1, dup.returncode, describe(dup))
        self.assertTrue(dup.stderr.strip(), describe(dup))
        self.assertStatus(server, True, "shamir", 3, 5, 2)
        resp = self.unseal_http(server, {"Share": s2})
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("InvalidParameterException",
                         sanitize_error_type(resp.json().get("__type")), resp)
        self.assertStatus(server, True, "shamir", 3, 5, 2)

        self.cli_unseal_ok(server, s3, None, 3)
        self.assertUnsealed(server)
        self.assertStatus(server, False, "shamir", 3, 5, 0)
        code, status, proc = self.cli_status(server)
        self.assertEqual(0, code, describe(proc))
        self.assertIs(False, status.get("Sealed"), status)
        # Unsealing an unsealed server: 200, no-op.
        resp = self.unseal_http(server, {"Share": init.shares[4]})
        self.assertEqual(200, resp.status, resp)
        self.assertIs(False, resp.json().get("Sealed"), resp)

        data = self.populate(server)
        self.verify(server, data, "after unseal")
        server.stop(check=True)
        output = server.output()
        for share in init.shares.values():
            self.assertNotIn(share.encode(), output, "a share appears in the server output")

    def test_generated_root_key_printed_by_init(self):
        init = self.init_dir(root_creds=False)  # defaults: 5 shares, threshold 3
        key_id, secret = init.generated_key_id, init.generated_secret
        self.assertIsNotNone(key_id, init.stdout)
        self.assertIsNotNone(secret, init.stdout)
        self.assertTrue(key_id.startswith("AKIA"), key_id)
        self.assertEqual(40, len(secret), secret)
        self.assertNotIn("root-credentials",
                         [os.path.basename(p) for p in self.files_under(init.data_dir)])
        self.assertNotInFiles(init.data_dir, [secret.encode()], "after init")

        server = self.new_server(init.data_dir, key_id=key_id, secret=secret)
        self.assertStatus(server, True, "shamir", 3, 5, 0)
        # Through the HTTP API this time, shares 2, 5, 4.
        for progress, n in ((1, 2), (2, 5)):
            resp = self.unseal_http(server, {"Share": init.shares[n]})
            self.assertEqual(200, resp.status, resp)
            self.assertEqual((True, progress), (resp.json().get("Sealed"),
                                                resp.json().get("Progress")), resp)
        resp = self.unseal_http(server, {"Share": init.shares[4]})
        self.assertEqual(200, resp.status, resp)
        self.assertEqual((False, 0), (resp.json().get("Sealed"), resp.json().get("Progress")),
                         resp)
        ident = self.client(server, "sts").get_caller_identity()
        self.assertEqual((ACCOUNT_ID, ROOT_ARN), (ident["Account"], ident["Arn"]))
        sm = self.client(server, "secretsmanager")
        name = f"seal/gen-{uid()}"
        sm.create_secret(Name=name, SecretString="with the generated key")
        self.assertEqual("with the generated key",
                         sm.get_secret_value(SecretId=name)["SecretString"])
        # The well-known example key was never configured here.
        with self.assertRaises(ClientError) as ctx:
            self.client(server, "sts", key_id=DEFAULT_KEY_ID,
                          secret=DEFAULT_SECRET).get_caller_identity()
        self.assertEqual(403, http_status(ctx.exception), ctx.exception.response)
        server.stop(check=True)
        self.assertNotIn(secret.encode(), server.output())

    # 2 ------------------------------------------------------------------------------------------
    def test_restart_seals_and_other_shares_unseal(self):
        init = self.init_dir()
        server = self.new_server(init.data_dir)
        self.cli_unseal_all(server, init.share_list(1, 2, 3))
        data = self.populate(server)
        self.verify(server, data, "before restart")

        server.restart()  # SIGTERM (exit 0 checked), start again
        self.assertEqual(503, server.health_status, server.health)
        self.assertSealed(server, progress=0)
        self.assertStatus(server, True, "shamir", 3, 5, 0)
        self.assertApiSealed(server, data)

        # Shares 3, 4 and 5: one through --share-file, one on stdin, one over HTTP.
        share_file = os.path.join(self.new_tmp(), "share")
        with open(share_file, "w") as f:
            f.write(init.shares[5])
        proc = self.operator(server, "unseal", "--share-file", share_file)
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertRegex(proc.stdout, r"\b1 of 3\b")
        self.cli_unseal_ok(server, init.shares[4], 2, 3)
        resp = self.unseal_http(server, {"Share": init.shares[3]})
        self.assertEqual(200, resp.status, resp)
        self.assertIs(False, resp.json().get("Sealed"), resp)
        self.assertUnsealed(server)
        self.verify(server, data, "after restart")
        # Writes after the unseal survive the next cycle too.
        more = self.populate(server, SealData())
        server.restart()
        self.assertSealed(server, progress=0)
        self.cli_unseal_all(server, init.share_list(2, 4, 1))
        self.verify(server, data, "second restart")
        self.verify(server, more, "second restart (later writes)")
        server.stop(check=True)

    # 3 ------------------------------------------------------------------------------------------
    def test_copied_data_dir_stays_sealed_and_foreign_shares_fail(self):
        init = self.init_dir()
        server = self.new_server(init.data_dir)
        self.cli_unseal_all(server, init.share_list(1, 2, 3))
        data = self.populate(server)
        server.stop(check=True)

        copy_dir = os.path.join(self.new_tmp(), "copy")
        shutil.copytree(init.data_dir, copy_dir)
        copy = self.new_server(copy_dir)
        self.assertEqual(503, copy.health_status, copy.health)
        self.assertSealed(copy, progress=0)
        self.assertApiSealed(copy, data)

        # Two of the three shares: still nothing.
        self.cli_unseal_ok(copy, init.shares[1], 1, 3)
        self.cli_unseal_ok(copy, init.shares[2], 2, 3)
        self.assertSealed(copy, progress=2)
        self.assertApiSealed(copy, data)

        # A third share from another deployment is refused on arrival: it is not one of this
        # seal's shares, and the progress of the attempt stays as it was.
        other = self.init_dir()
        wrong = self.cli_unseal(copy, other.shares[3])
        self.assertEqual(1, wrong.returncode, describe(wrong))
        self.assertIn("InvalidUnsealKeyException", wrong.stderr, describe(wrong))
        self.assertSealed(copy, progress=2)
        self.assertStatus(copy, True, "shamir", 3, 5, 2)
        self.assertApiSealed(copy, data)

        # The same over HTTP, checking the error type.
        resp = self.unseal_http(copy, {"Share": other.shares[3]})
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("InvalidUnsealKeyException",
                         sanitize_error_type(resp.json().get("__type")), resp)
        for value in data.plaintexts():
            self.assertNotIn(value, resp.body)
        self.assertStatus(copy, True, "shamir", 3, 5, 2)
        self.assertHealthSealed(copy)

        # Nobody outside the attempt resets it; a share of this seal (or the attempt's nonce)
        # does.
        resp = self.unseal_http(copy, {"Reset": True})
        self.assertEqual(400, resp.status, resp)
        resp = self.unseal_http(copy, {"Reset": True, "Share": other.shares[1]})
        self.assertEqual(400, resp.status, resp)
        self.assertStatus(copy, True, "shamir", 3, 5, 2)
        resp = self.unseal_http(copy, {"Reset": True, "Share": init.shares[5]})
        self.assertEqual(200, resp.status, resp)
        self.assertStatus(copy, True, "shamir", 3, 5, 0)

        # A malformed share is refused without counting; Reset with the nonce drops what was
        # given.
        resp = self.unseal_http(copy, {"Share": "!!not-a-share!!"})
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("InvalidParameterException",
                         sanitize_error_type(resp.json().get("__type")), resp)
        self.assertStatus(copy, True, "shamir", 3, 5, 0)
        resp = self.unseal_http(copy, {"Share": init.shares[4]})
        self.assertEqual(1, resp.json().get("Progress"), resp)
        nonce = resp.json().get("Nonce")
        self.assertTrue(nonce, resp)
        self.assertNotIn("Nonce", self.unseal_status_http(copy), "the nonce is not public")
        resp = self.unseal_http(copy, {"Reset": True, "Nonce": nonce})
        self.assertEqual(200, resp.status, resp)
        self.assertEqual((True, 0), (resp.json().get("Sealed"), resp.json().get("Progress")),
                         resp)
        self.assertSealed(copy, progress=0)
        self.assertApiSealed(copy, data)

        # Another deployment's shares are refused one by one.
        for n in (1, 2, 3):
            wrong = self.cli_unseal(copy, other.shares[n])
            self.assertEqual(1, wrong.returncode, describe(wrong))
        self.assertSealed(copy, progress=0)

        # The copy holds the data (it is the same deployment): its own shares open it.
        self.cli_unseal_all(copy, init.share_list(3, 4, 5))
        self.verify(copy, data, "copy unsealed with its shares")
        copy.stop(check=True)

    # 4 ------------------------------------------------------------------------------------------
    def test_operator_seal(self):
        init = self.init_dir()
        server = self.new_server(init.data_dir)
        self.cli_unseal_all(server, init.share_list(1, 2, 3))
        data = self.populate(server)

        # Wrong credentials: refused, still unsealed.
        for key_id, secret in ((DEFAULT_KEY_ID, "wrong" + DEFAULT_SECRET[5:]),
                               ("AKIANOBODY0000000000", DEFAULT_SECRET)):
            proc = self.operator(server, "seal", key_id=key_id, secret=secret)
            self.assertEqual(1, proc.returncode, describe(proc))
            self.assertUnsealed(server)
        proc = self.operator(server, "seal")  # no credentials at all
        self.assertNotEqual(0, proc.returncode, describe(proc))
        self.assertUnsealed(server)
        for key_id, secret in ((DEFAULT_KEY_ID, "wrong" + DEFAULT_SECRET[5:]),
                               ("AKIANOBODY0000000000", DEFAULT_SECRET)):
            resp = self.coffer_signed(server, "/coffer/seal", key_id=key_id, secret=secret)
            # seal_interface.md: "bad signature -> 403 like AWS"; AWS's JSON services answer
            # UnrecognizedClientException / InvalidSignatureException with 400, so either.
            self.assertIn(resp.status, (400, 403), resp)
        resp = server.raw_request("POST", "/coffer/seal", body=b"")
        self.assertTrue(400 <= resp.status < 500, resp)
        self.assertUnsealed(server)
        self.verify(server, data, "after refused seals")

        proc = self.root_operator(server, "seal")
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertIn("coffer: sealed", proc.stdout, describe(proc))
        self.assertSealed(server, progress=0)
        self.assertStatus(server, True, "shamir", 3, 5, 0)
        self.assertApiSealed(server, data)
        code, _status, proc = self.cli_status(server)
        self.assertEqual(2, code, describe(proc))
        # rotate-root needs an unsealed server.
        proc = self.root_operator(server, "rotate-root")
        self.assertNotEqual(0, proc.returncode, describe(proc))
        resp = self.coffer_signed(server, "/coffer/rotate-root")
        self.assertEqual(503, resp.status, resp)
        self.assertSealed(server)

        self.cli_unseal_all(server, init.share_list(5, 1, 3))
        self.verify(server, data, "after seal + unseal")
        # Sealing over HTTP works the same; then once more with the CLI shares 2, 3, 4.
        resp = self.coffer_signed(server, "/coffer/seal")
        self.assertEqual(200, resp.status, resp)
        self.assertIs(True, resp.json().get("Sealed"), resp)
        self.assertSealed(server, progress=0)
        self.cli_unseal_all(server, init.share_list(2, 3, 4))
        self.verify(server, data, "after HTTP seal + unseal")
        server.stop(check=True)

    # 5 ------------------------------------------------------------------------------------------
    def test_rotate_root(self):
        init = self.init_dir()
        server = self.new_server(init.data_dir)
        self.cli_unseal_all(server, init.share_list(1, 2, 3))
        data = self.populate(server)

        generation, rewrapped = self.rotate_root(server)
        self.assertEqual(2, generation)
        self.assertGreaterEqual(rewrapped, 1)  # at least the customer key's material
        self.assertUnsealed(server)
        self.verify(server, data, "after rotate-root (generation 2)")
        self.populate(server, data)  # writes under the new root key

        server.restart()
        self.assertSealed(server, progress=0)
        self.cli_unseal_all(server, init.share_list(1, 2, 3))  # the same shares
        self.verify(server, data, "restart after generation 2")

        # Twice more: once over HTTP, once with the CLI.
        resp = self.coffer_signed(server, "/coffer/rotate-root")
        self.assertEqual(200, resp.status, resp)
        self.assertEqual(3, resp.json().get("RootKeyGeneration"), resp)
        self.assertGreaterEqual(resp.json().get("RewrappedKeyMaterials"), 1, resp)
        generation, _ = self.rotate_root(server)
        self.assertEqual(4, generation)
        self.verify(server, data, "after generation 4")
        # Only the root may rotate.
        resp = self.coffer_signed(server, "/coffer/rotate-root",
                                  secret="wrong" + DEFAULT_SECRET[5:])
        self.assertIn(resp.status, (400, 403), resp)
        proc = self.operator(server, "rotate-root", key_id=DEFAULT_KEY_ID,
                             secret="wrong" + DEFAULT_SECRET[5:])
        self.assertEqual(1, proc.returncode, describe(proc))

        server.restart()
        self.assertSealed(server, progress=0)
        self.cli_unseal_all(server, init.share_list(4, 5, 1))
        self.verify(server, data, "restart after generation 4")
        generation, _ = self.rotate_root(server)
        self.assertEqual(5, generation, "the generation did not survive the restart")
        server.stop(check=True)

    # 7 ------------------------------------------------------------------------------------------
    def test_nothing_in_clear_in_data_dir_or_output(self):
        init = self.init_dir()
        self.assertNoRootKeyFile(init.data_dir)
        server = self.new_server(init.data_dir)
        self.cli_unseal_all(server, init.share_list(1, 2, 3))
        data = self.populate(server)
        kms = self.client(server, "kms")
        # More data keys and encryptions, their plaintexts recorded.
        for _ in range(3):
            dk = kms.generate_data_key(KeyId=data.key_id, NumberOfBytes=32)
            data.ciphertexts.append((dk["CiphertextBlob"], dk["Plaintext"]))
            pt = marker("ENC").encode()
            data.ciphertexts.append(
                (kms.encrypt(KeyId=data.key_id, Plaintext=pt)["CiphertextBlob"], pt))
        self.verify(server, data, "before the scan")
        rotated = self.rotate_root(server)[0]
        self.assertEqual(2, rotated)

        plaintexts = data.plaintexts()
        self.assertIn(data.data_key, plaintexts)
        needles = set()
        for value in plaintexts:
            needles |= plaintext_forms(value)
        share_needles = {s.encode() for s in init.shares.values()}
        root_secret = {DEFAULT_SECRET.encode()}

        self.assertNotInFiles(init.data_dir, needles, "while running")
        server.stop(check=True)
        self.assertNoRootKeyFile(init.data_dir)
        self.assertNotInFiles(init.data_dir, needles, "after shutdown")
        self.assertNotInFiles(init.data_dir, share_needles, "after shutdown (shares)")
        self.assertNotInFiles(init.data_dir, root_secret, "after shutdown (root secret key)")

        # A sealed start and a kill -9 change nothing about that.
        server.start()
        self.assertSealed(server)
        server.kill9()
        self.assertNotInFiles(init.data_dir, needles, "after a sealed run")

        output = server.output()
        self.assertTrue(output, "the harness captured no server output")
        for needle in needles | share_needles | root_secret:
            self.assertNotIn(needle, output, f"{needle[:60]!r} appears in the server output")

    # 8 ------------------------------------------------------------------------------------------
    def test_kill9_during_rotate_root(self):
        seed = random.randrange(1 << 30)
        rng = random.Random(seed)
        init = self.init_dir()
        server = self.new_server(init.data_dir)
        self.cli_unseal_all(server, init.share_list(1, 2, 3))
        kms = self.client(server, "kms")
        sm = self.client(server, "secretsmanager")
        keys = [kms.create_key(Description=f"bulk {i}")["KeyMetadata"]["KeyId"]
                for i in range(200)]
        ciphertexts = []  # (key id, blob, plaintext) for every 5th key
        for key_id in keys[::5]:
            pt = os.urandom(24)
            ciphertexts.append((key_id, kms.encrypt(KeyId=key_id, Plaintext=pt)["CiphertextBlob"],
                                pt))
        secrets = {}
        for i in range(6):
            name = f"seal/crash-{i}-{uid()}"
            value = marker(f"CRASH{i}")
            kwargs = {"KmsKeyId": keys[i * 31]} if i % 2 else {}
            sm.create_secret(Name=name, SecretString=value, **kwargs)
            secrets[name] = value

        def check(when):
            sm_ = self.client(server, "secretsmanager")
            kms_ = self.client(server, "kms")
            for name, value in secrets.items():
                self.assertEqual(value, sm_.get_secret_value(SecretId=name)["SecretString"],
                                 f"{when}: secret {name} (seed {seed})")
            for key_id, blob, pt in ciphertexts:
                got = kms_.decrypt(CiphertextBlob=blob)
                self.assertEqual(pt, got["Plaintext"], f"{when}: key {key_id} (seed {seed})")
                self.assertTrue(got["KeyId"].endswith(key_id), got)
            for key_id in rng.sample(keys, 10):
                pt = os.urandom(8)
                blob = kms_.encrypt(KeyId=key_id, Plaintext=pt)["CiphertextBlob"]
                self.assertEqual(pt, kms_.decrypt(CiphertextBlob=blob)["Plaintext"], when)

        committed = 1  # the highest generation known to be reached (the CLI reported it)
        attempted = 1  # the highest generation that may have been reached
        share_sets = [(1, 2, 3), (3, 4, 5), (5, 1, 2), (2, 4, 5)]
        # A rotation of ~200 materials takes a few milliseconds (CLI start included), so the
        # first rounds draw their delay from the start of the 0-50 ms window, where the kill
        # is most likely to land before, during or right after the commit.
        for round_, window in enumerate((0.004, 0.012, 0.05)):
            when = f"round {round_ + 1}"
            delay = rng.uniform(0.0, window)
            proc = subprocess.Popen(
                [coffer_binary(), "operator", "rotate-root", "--endpoint", server.endpoint],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, env=child_env(key_id=DEFAULT_KEY_ID, secret=DEFAULT_SECRET),
                start_new_session=True)
            attempted += 1
            try:
                time.sleep(delay)
                server.kill9()
            finally:
                try:
                    out, err = proc.communicate(timeout=CLI_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    out, err = proc.communicate(timeout=10)
            if proc.returncode == 0:
                # Acknowledged: this generation must survive the kill -9.
                m = GENERATION_RE.search(out)
                self.assertIsNotNone(m, f"{when}: {out!r}")
                reported = int(m.group(1))
                self.assertGreater(reported, committed, f"{when}: {out!r}")
                self.assertLessEqual(reported, attempted, f"{when}: {out!r}")
                committed = reported

            server.restart(hard=True)
            self.assertEqual(503, server.health_status,
                             f"{when}: not sealed after the crash: {server.health}")
            self.cli_unseal_all(server, init.share_list(*share_sets[round_ + 1]))
            check(f"{when} (kill -9 after {delay * 1000:.1f} ms, seed {seed}, "
                  f"rotate-root exit {proc.returncode}: {out.strip()!r} {err.strip()!r})")

        # Whatever the crashes left, rotating again works and counts on from a generation
        # that was really reached; every material is re-wrapped.
        generation, rewrapped = self.rotate_root(server)
        self.assertGreaterEqual(generation - 1, committed, f"seed {seed}")
        self.assertLessEqual(generation - 1, attempted, f"seed {seed}")
        self.assertGreaterEqual(rewrapped, len(keys), f"seed {seed}")
        check("after a clean rotation")
        server.restart()
        self.assertSealed(server, progress=0)
        self.cli_unseal_all(server, init.share_list(4, 2, 1))
        check("after the final restart")
        server.stop(check=True)


# =============================================================================================
class PassphraseTest(SealCase):

    def write_file(self, directory, name, text):
        path = os.path.join(directory, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)  # no trailing newline: read the same whether or not one is stripped
        return path

    # 6 ------------------------------------------------------------------------------------------
    def test_passphrase_seal(self):
        tmp = self.new_tmp()
        passphrase = f"correct horse {uid(16)} battery staple"
        wrong = passphrase + " not"
        good_file = self.write_file(tmp, "passphrase", passphrase)
        wrong_file = self.write_file(tmp, "wrong-passphrase", wrong)

        init = self.init_dir(seal="passphrase", passphrase_file=good_file)
        self.assertNoRootKeyFile(init.data_dir)
        self.assertNotInFiles(init.data_dir, plaintext_forms(passphrase.encode()), "after init")

        # Without the passphrase: sealed.
        server = self.new_server(init.data_dir)
        self.assertEqual(503, server.health_status, server.health)
        self.wait_for_output(server, "coffer: sealed")
        self.assertStatus(server, True, "passphrase", 1, 1, 0)
        self.assertApiSealed(server)
        code, _status, proc = self.cli_status(server)
        self.assertEqual(2, code, describe(proc))

        proc = self.cli_unseal(server, wrong)
        self.assertEqual(1, proc.returncode, describe(proc))
        self.assertTrue(proc.stderr.strip(), describe(proc))
        self.assertSealed(server, progress=0)
        # Right after a wrong passphrase the next attempt is throttled (1 s, then 2 s, ...), so
        # the unauthenticated endpoint cannot be used to guess at PBKDF2's pace. On a loaded
        # machine the first second may pass before the next attempt arrives: that attempt is
        # then one more failure, which doubles the window, so one of the next few is refused.
        for _ in range(4):
            resp = self.unseal_http(server, {"Passphrase": wrong})
            if resp.status != 400:
                break
            self.assertEqual("InvalidUnsealKeyException",
                             sanitize_error_type(resp.json().get("__type")), resp)
        self.assertEqual(429, resp.status, resp)
        self.assertEqual("ThrottlingException",
                         sanitize_error_type(resp.json().get("__type")), resp)
        self.assertStatus(server, True, "passphrase", 1, 1, 0)
        self.assertApiSealed(server)
        resp = self.unseal_until_not_throttled(server, {"Passphrase": wrong},
                                               timeout=90)
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("InvalidUnsealKeyException",
                         sanitize_error_type(resp.json().get("__type")), resp)
        self.assertStatus(server, True, "passphrase", 1, 1, 0)
        self.assertApiSealed(server)

        resp = self.unseal_until_not_throttled(server, {"Passphrase": passphrase},
                                               timeout=90)
        self.assertEqual(200, resp.status, resp)
        self.assertUnsealed(server)
        proc = self.root_operator(server, "seal")
        self.assertEqual(0, proc.returncode, describe(proc))
        self.cli_unseal_ok(server, passphrase, None, 1)
        self.assertUnsealed(server)
        self.assertStatus(server, False, "passphrase", 1, 1, 0)
        data = self.populate(server)
        self.verify(server, data, "passphrase unsealed")

        # Seal, then unseal with --passphrase-file.
        proc = self.root_operator(server, "seal")
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertSealed(server, progress=0)
        self.assertApiSealed(server, data)
        proc = self.operator(server, "unseal", "--passphrase-file", good_file)
        self.assertEqual(0, proc.returncode, describe(proc))
        self.assertIn("unsealed", proc.stdout.lower(), describe(proc))
        self.verify(server, data, "after seal + --passphrase-file unseal")
        generation, _ = self.rotate_root(server)
        self.assertEqual(2, generation)
        server.stop(check=True)

        # COFFER_PASSPHRASE: unsealed at start.
        server.accept_sealed = False
        server.extra_env = {"COFFER_PASSPHRASE": passphrase}
        server.start()
        self.assertEqual(200, server.health_status, server.health)
        self.assertUnsealed(server)
        self.verify(server, data, "started with COFFER_PASSPHRASE (after rotate-root)")
        server.stop(check=True)

        # --passphrase-file with the right passphrase: unsealed at start.
        server.extra_env = {}
        server.extra_args = ["--passphrase-file", good_file]
        server.start()
        self.assertEqual(200, server.health_status, server.health)
        self.verify(server, data, "started with --passphrase-file")
        server.stop(check=True)
        self.assertNotIn(passphrase.encode(), server.output())

        # A wrong passphrase at start: the server refuses to run.
        code, output = self.spawn_server_expect_exit(init.data_dir,
                                                     ["--passphrase-file", wrong_file])
        self.assertNotEqual(0, code, output)
        self.assertTrue(output.strip(), "no message for a wrong passphrase")
        code, output = self.spawn_server_expect_exit(init.data_dir,
                                                     extra_env={"COFFER_PASSPHRASE": wrong})
        self.assertNotEqual(0, code, output)

        # A copy of the data dir, started without the passphrase, stays sealed.
        copy_dir = os.path.join(self.new_tmp(), "copy")
        shutil.copytree(init.data_dir, copy_dir)
        self.assertNoRootKeyFile(copy_dir)
        copy = self.new_server(copy_dir)
        self.assertEqual(503, copy.health_status, copy.health)
        self.assertSealed(copy, progress=0)
        self.assertStatus(copy, True, "passphrase", 1, 1, 0)
        self.assertApiSealed(copy, data)
        copy.stop(check=True)

        needles = set()
        for value in data.plaintexts() + [passphrase.encode()]:
            needles |= plaintext_forms(value)
        self.assertNotInFiles(init.data_dir, needles, "passphrase dir after shutdown")
        output = server.output() + copy.output()
        for needle in needles:
            self.assertNotIn(needle, output, f"{needle[:60]!r} appears in the server output")


if __name__ == "__main__":
    unittest.main()
