"""End-to-end tests of SigV4 authentication, the JSON wire format and STS.

Expected behaviour: /work/shared/reference/aws-behaviour.md sections 1 (protocol, error wire
format) and 4 (SigV4 checklist), plus the botocore models.
"""

import configparser
import datetime
import os
import stat
import subprocess
import sys
import unittest
import uuid
import xml.etree.ElementTree as ET

from botocore.exceptions import ClientError

from coffer_server import (ACCOUNT_ID, DEFAULT_KEY_ID, CofferServer, error_code, error_message,
                           http_status, parse_http_date, sanitize_error_type, start_class_server,
                           unique_name, utcnow)

ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
JSON_CT = "application/x-amz-json-1.1"


def naive_utcnow():
    """Naive UTC 'now', the form botocore's signer uses for X-Amz-Date."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def walk_json(value, path="$"):
    """Yield (path, value) for every node of a decoded JSON document."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_json(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk_json(v, f"{path}[{i}]")


def is_json_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def xml_text(body, tag):
    """Text of the first element whose local name is `tag` (namespace-agnostic)."""
    root = ET.fromstring(body)
    for el in root.iter():
        if el.tag.split("}")[-1] == tag:
            return el.text
    return None


class AuthTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.sm = cls.server.client("secretsmanager")
        cls.sts = cls.server.client("sts")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop(check=True)

    def assertJsonError(self, resp, code, status, require_message=True):
        """An AWS JSON-1.1 error: status, x-amzn-ErrorType header and `__type` in the body."""
        self.assertEqual(status, resp.status, resp)
        self.assertEqual(code, sanitize_error_type(resp.header("x-amzn-ErrorType")), resp)
        body = resp.json()
        self.assertEqual(code, sanitize_error_type(body.get("__type")), resp)
        if require_message:
            self.assertTrue(body.get("message") or body.get("Message"), resp)
        self.assertTrue(resp.header("x-amzn-RequestId"), resp)
        return body

    def assertDateHeaderNow(self, resp):
        self.assertIsNotNone(resp.header("Date"), resp)
        skew = abs((parse_http_date(resp.header("Date")) - utcnow()).total_seconds())
        self.assertLess(skew, 5, f"Date header {resp.header('Date')!r} is {skew}s off")

    # -- STS ------------------------------------------------------------------------------------
    def test_get_caller_identity_root(self):
        ident = self.sts.get_caller_identity()
        self.assertEqual(ACCOUNT_ID, ident["Account"])
        self.assertEqual(ROOT_ARN, ident["Arn"])
        self.assertEqual(ACCOUNT_ID, ident["UserId"])  # the root user's id is the account id
        self.assertTrue(ident["ResponseMetadata"]["RequestId"])

    def test_get_caller_identity_any_region(self):
        ident = self.server.client("sts", region="eu-west-1").get_caller_identity()
        self.assertEqual((ACCOUNT_ID, ROOT_ARN), (ident["Account"], ident["Arn"]))

    def test_sts_raw_xml_shape(self):
        resp = self.server.signed_query_request(
            {"Action": "GetCallerIdentity", "Version": "2011-06-15"})
        self.assertEqual(200, resp.status, resp)
        self.assertIn("xml", resp.header("Content-Type", ""))
        root = ET.fromstring(resp.body)
        self.assertEqual("GetCallerIdentityResponse", root.tag.split("}")[-1])
        self.assertEqual(ACCOUNT_ID, xml_text(resp.body, "Account"))
        self.assertEqual(ROOT_ARN, xml_text(resp.body, "Arn"))
        self.assertTrue(xml_text(resp.body, "RequestId"))
        self.assertDateHeaderNow(resp)

    def test_sts_unknown_action(self):
        resp = self.server.signed_query_request({"Action": "NoSuchAction",
                                                 "Version": "2011-06-15"})
        self.assertEqual(400, resp.status, resp)
        self.assertEqual("InvalidAction", xml_text(resp.body, "Code"))

    # -- wrong / unknown credentials ------------------------------------------------------------
    def test_wrong_secret_secretsmanager(self):
        sm = self.server.client("secretsmanager", secret="wrong" + self.server.secret[5:])
        with self.assertRaises(ClientError) as ctx:
            sm.list_secrets()
        self.assertEqual("InvalidSignatureException", error_code(ctx.exception))
        self.assertEqual(400, http_status(ctx.exception))
        self.assertTrue(error_message(ctx.exception).startswith(
            "The request signature we calculated does not match the signature you provided."),
            error_message(ctx.exception))

    def test_wrong_secret_sts(self):
        sts = self.server.client("sts", secret="wrong" + self.server.secret[5:])
        with self.assertRaises(ClientError) as ctx:
            sts.get_caller_identity()
        self.assertEqual("SignatureDoesNotMatch", error_code(ctx.exception))
        self.assertEqual(403, http_status(ctx.exception))

    def test_unknown_access_key_secretsmanager(self):
        sm = self.server.client("secretsmanager", key_id="AKIAUNKNOWNUNKNOWN00")
        with self.assertRaises(ClientError) as ctx:
            sm.list_secrets()
        self.assertEqual("UnrecognizedClientException", error_code(ctx.exception))
        self.assertEqual(400, http_status(ctx.exception))
        self.assertEqual("The security token included in the request is invalid.",
                         error_message(ctx.exception))

    def test_unknown_access_key_sts(self):
        sts = self.server.client("sts", key_id="AKIAUNKNOWNUNKNOWN00")
        with self.assertRaises(ClientError) as ctx:
            sts.get_caller_identity()
        self.assertEqual("InvalidClientTokenId", error_code(ctx.exception))
        self.assertEqual(403, http_status(ctx.exception))

    def test_rejected_request_has_no_effect(self):
        name = unique_name("auth")
        bad = self.server.client("secretsmanager", secret="x" * 40)
        with self.assertRaises(ClientError):
            bad.create_secret(Name=name, SecretString="should not exist")
        with self.assertRaises(ClientError) as ctx:
            self.sm.describe_secret(SecretId=name)
        self.assertEqual("ResourceNotFoundException", error_code(ctx.exception))

    # -- raw wire format ------------------------------------------------------------------------
    def test_unsigned_request_is_missing_authentication_token(self):
        resp = self.server.raw_request("POST", "/", body=b"{}", headers={
            "Content-Type": JSON_CT, "X-Amz-Target": "secretsmanager.ListSecrets"})
        self.assertJsonError(resp, "MissingAuthenticationTokenException", 403)
        self.assertDateHeaderNow(resp)

    def test_unsigned_sts_request_is_missing_authentication_token(self):
        resp = self.server.raw_request(
            "POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-15",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        self.assertEqual(403, resp.status, resp)
        self.assertEqual("MissingAuthenticationToken", xml_text(resp.body, "Code"))

    def test_malformed_json_with_valid_signature(self):
        resp = self.server.signed_json_request("secretsmanager.ListSecrets",
                                               b'{"MaxResults": 5,,, not json')
        self.assertJsonError(resp, "SerializationException", 400)
        self.assertIn("json", resp.header("Content-Type", ""))

    def test_wrong_json_type_with_valid_signature(self):
        # A JSON array where the structure (object) is expected.
        resp = self.server.signed_json_request("secretsmanager.ListSecrets", b"[1,2,3]")
        self.assertEqual(400, resp.status, resp)
        self.assertIn(sanitize_error_type(resp.json().get("__type")),
                      ("SerializationException", "ValidationException"))

    def test_unknown_operation(self):
        resp = self.server.signed_json_request("secretsmanager.NoSuchOperation", {})
        self.assertJsonError(resp, "UnknownOperationException", 400, require_message=False)

    def test_success_headers_request_id_and_date(self):
        resp = self.server.signed_json_request("secretsmanager.ListSecrets", {})
        self.assertEqual(200, resp.status, resp)
        self.assertTrue(resp.header("x-amzn-RequestId"), resp)
        self.assertEqual(JSON_CT, resp.header("Content-Type", "").split(";")[0].strip())
        self.assertDateHeaderNow(resp)
        self.assertIn("SecretList", resp.json())
        # botocore surfaces the header as ResponseMetadata.RequestId; ids are unique per call.
        a = self.sm.list_secrets()["ResponseMetadata"]["RequestId"]
        b = self.sm.list_secrets()["ResponseMetadata"]["RequestId"]
        self.assertTrue(a and b)
        self.assertNotEqual(a, b)

    def test_error_response_has_request_id_and_date(self):
        resp = self.server.signed_json_request("secretsmanager.DescribeSecret",
                                               {"SecretId": unique_name("missing")})
        body = self.assertJsonError(resp, "ResourceNotFoundException", 400)
        self.assertDateHeaderNow(resp)
        self.assertEqual("Secrets Manager can't find the specified secret.",
                         body.get("Message", body.get("message")))

    def test_timestamps_are_numbers_and_no_nulls(self):
        name = unique_name("raw")
        tok = str(uuid.uuid4())
        created = self.server.signed_json_request("secretsmanager.CreateSecret", {
            "Name": name, "SecretString": "raw value", "ClientRequestToken": tok,
            "Description": "raw", "Tags": [{"Key": "k", "Value": "v"}]})
        self.assertEqual(200, created.status, created)
        self.assertEqual(tok, created.json()["VersionId"])
        self.server.signed_json_request("secretsmanager.PutSecretValue", {
            "SecretId": name, "SecretBinary": "AAEC/w==", "ClientRequestToken": str(uuid.uuid4())})

        checks = {
            "DescribeSecret": ({"SecretId": name}, ["CreatedDate", "LastChangedDate"]),
            "GetSecretValue": ({"SecretId": name}, ["CreatedDate"]),
            "ListSecretVersionIds": ({"SecretId": name}, []),
            "ListSecrets": ({"Filters": [{"Key": "name", "Values": [name]}]}, []),
        }
        for op, (body, top_level_dates) in checks.items():
            with self.subTest(op=op):
                resp = self.server.signed_json_request(f"secretsmanager.{op}", body)
                self.assertEqual(200, resp.status, resp)
                doc = resp.json()
                for field in top_level_dates:
                    self.assertTrue(is_json_number(doc.get(field)),
                                    f"{op}.{field} = {doc.get(field)!r} is not a JSON number")
                for path, value in walk_json(doc):
                    self.assertIsNotNone(value, f"{op}: null at {path}")
                    if path.endswith("Date"):
                        self.assertTrue(is_json_number(value), f"{op}: {path} = {value!r}")
                # Only default KMS key: KmsKeyId is omitted rather than null/empty.
                self.assertNotIn("KmsKeyId", doc)

        got = self.server.signed_json_request("secretsmanager.GetSecretValue",
                                              {"SecretId": name}).json()
        self.assertEqual("AAEC/w==", got["SecretBinary"])  # blobs are base64 strings
        self.assertNotIn("SecretString", got)
        listed = self.server.signed_json_request(
            "secretsmanager.ListSecrets",
            {"Filters": [{"Key": "name", "Values": [name]}]}).json()
        self.assertEqual(1, len(listed["SecretList"]))
        self.assertTrue(is_json_number(listed["SecretList"][0]["CreatedDate"]))
        versions = self.server.signed_json_request("secretsmanager.ListSecretVersionIds",
                                                   {"SecretId": name}).json()["Versions"]
        for v in versions:
            self.assertTrue(is_json_number(v["CreatedDate"]), v)

    def test_raw_request_without_client_request_token(self):
        # Model doc: "If you generate a raw HTTP request to the Secrets Manager service endpoint,
        # then you must generate a ClientRequestToken and include it in the request."  AWS's
        # answer (LocalStack's AWS-validated snapshot test_no_client_request_token) is
        # InvalidRequestException with the message below, for each of these operations.
        msg = "You must provide a ClientRequestToken value. We recommend a UUID-type value."
        name = unique_name("notoken")
        resp = self.server.signed_json_request("secretsmanager.CreateSecret",
                                               {"Name": name, "SecretString": "v"})
        body = self.assertJsonError(resp, "InvalidRequestException", 400)
        self.assertEqual(msg, body.get("Message", body.get("message")))
        with self.assertRaises(ClientError):
            self.sm.describe_secret(SecretId=name)

        self.sm.create_secret(Name=name, SecretString="v1")
        for op in ("PutSecretValue", "UpdateSecret"):
            with self.subTest(op=op):
                resp = self.server.signed_json_request(f"secretsmanager.{op}",
                                                       {"SecretId": name, "SecretString": "v2"})
                body = self.assertJsonError(resp, "InvalidRequestException", 400)
                self.assertEqual(msg, body.get("Message", body.get("message")))
        self.assertEqual("v1", self.sm.get_secret_value(SecretId=name)["SecretString"])
        self.assertEqual(1, len(self.sm.describe_secret(SecretId=name)["VersionIdsToStages"]))

    def test_expect_100_continue(self):
        # Reference section 4.9: support "Expect: 100-continue" (http.client skips interim 1xx).
        resp = self.server.signed_json_request("secretsmanager.ListSecrets", {"MaxResults": 1},
                                               extra_headers={"Expect": "100-continue"})
        self.assertEqual(200, resp.status, resp)
        self.assertIn("SecretList", resp.json())

    def test_oversized_body_is_rejected_cleanly(self):
        # Far above any valid request (values are at most 64 KiB): a 4xx, never a crash or a 5xx.
        big = b'{"Name":"' + b"x" * (4 * 1024 * 1024) + b'","SecretString":"y"}'
        try:
            resp = self.server.signed_json_request("secretsmanager.CreateSecret", big)
            self.assertTrue(400 <= resp.status < 500, resp)
        except (ConnectionError, OSError):
            pass  # closing the connection on an oversized body is acceptable too
        self.assertTrue(self.server.running())
        self.assertEqual(200, self.server.raw_request("GET", "/health").status)
        self.assertIn("SecretList", self.sm.list_secrets(MaxResults=1))

    def test_empty_request_body_object(self):
        resp = self.server.signed_json_request("secretsmanager.GetRandomPassword", b"{}")
        self.assertEqual(200, resp.status, resp)
        self.assertEqual(32, len(resp.json()["RandomPassword"]))

    # -- timestamp skew -------------------------------------------------------------------------
    def test_signature_ten_minutes_old_is_expired(self):
        old = naive_utcnow() - datetime.timedelta(minutes=10)
        resp = self.server.signed_json_request("secretsmanager.ListSecrets", {}, timestamp=old)
        body = self.assertJsonError(resp, "InvalidSignatureException", 400)
        message = body.get("message") or body.get("Message")
        self.assertTrue(message.startswith("Signature expired"), message)
        self.assertIn(old.strftime("%Y%m%dT%H%M%SZ"), message)
        self.assertDateHeaderNow(resp)

    def test_signature_ten_minutes_in_future_is_not_yet_current(self):
        future = naive_utcnow() + datetime.timedelta(minutes=10)
        resp = self.server.signed_json_request("secretsmanager.ListSecrets", {}, timestamp=future)
        body = self.assertJsonError(resp, "InvalidSignatureException", 400)
        message = body.get("message") or body.get("Message")
        self.assertTrue(message.startswith("Signature not yet current"), message)

    def test_signature_two_minutes_old_is_accepted(self):
        recent = naive_utcnow() - datetime.timedelta(minutes=2)
        resp = self.server.signed_json_request("secretsmanager.ListSecrets", {}, timestamp=recent)
        self.assertEqual(200, resp.status, resp)

    def test_sts_signature_expired(self):
        old = naive_utcnow() - datetime.timedelta(minutes=10)
        resp = self.server.signed_query_request(
            {"Action": "GetCallerIdentity", "Version": "2011-06-15"}, timestamp=old)
        self.assertIn(resp.status, (400, 403), resp)
        self.assertIn(xml_text(resp.body, "Code"), ("SignatureDoesNotMatch", "RequestExpired"))

    # -- signature tampering and scope ----------------------------------------------------------
    def test_body_changed_after_signing_is_rejected(self):
        # Sign one body, send another (same length): the payload hash no longer matches.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        signed_body = b'{"MaxResults": 5}'
        sent_body = b'{"MaxResults": 6}'
        host = f"127.0.0.1:{self.server.port}"
        req = AWSRequest(method="POST", url=f"http://{host}/", data=signed_body, headers={
            "Content-Type": JSON_CT, "X-Amz-Target": "secretsmanager.ListSecrets", "Host": host})
        SigV4Auth(Credentials(self.server.key_id, self.server.secret), "secretsmanager",
                  "us-east-1").add_auth(req)
        resp = self.server.raw_request("POST", "/", body=sent_body,
                                       headers=dict(req.prepare().headers.items()))
        self.assertJsonError(resp, "InvalidSignatureException", 400)

    def test_scope_for_another_service_is_rejected(self):
        resp = self.server.signed_json_request("secretsmanager.ListSecrets", {}, service="kms")
        self.assertIn(resp.status, (400, 403), resp)
        self.assertNotEqual(200, resp.status)

    def test_region_comes_from_credential_scope(self):
        name = unique_name("scope")
        resp = self.server.signed_json_request(
            "secretsmanager.CreateSecret",
            {"Name": name, "SecretString": "x", "ClientRequestToken": str(uuid.uuid4())},
            region="ap-southeast-2")
        self.assertEqual(200, resp.status, resp)
        self.assertTrue(resp.json()["ARN"].startswith(
            f"arn:aws:secretsmanager:ap-southeast-2:{ACCOUNT_ID}:secret:{name}-"), resp.json())

    def test_localhost_host_header_is_signed_as_sent(self):
        # botocore signs the Host header it sends ("localhost:<port>"); the server must verify
        # against the raw Host header, whatever name the client used for the loopback address.
        import boto3
        from botocore.config import Config
        client = boto3.session.Session().client(
            "secretsmanager", region_name="us-east-1",
            endpoint_url=f"http://localhost:{self.server.port}",
            aws_access_key_id=self.server.key_id, aws_secret_access_key=self.server.secret,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        self.assertIn("SecretList", client.list_secrets(MaxResults=1))

    # -- presigned (query) auth -----------------------------------------------------------------
    def test_presigned_get_caller_identity(self):
        url = self.server.presigned_url("/?Action=GetCallerIdentity&Version=2011-06-15")
        self.assertIn("X-Amz-Signature=", url)
        path = url[url.index("/", len("http://")):]
        resp = self.server.raw_request("GET", path)
        self.assertEqual(200, resp.status, resp)
        self.assertEqual(ACCOUNT_ID, xml_text(resp.body, "Account"))
        self.assertEqual(ROOT_ARN, xml_text(resp.body, "Arn"))

    def test_presigned_with_tampered_signature(self):
        url = self.server.presigned_url("/?Action=GetCallerIdentity&Version=2011-06-15")
        path = url[url.index("/", len("http://")):]
        last = path[-1]
        tampered = path[:-1] + ("0" if last != "0" else "1")
        resp = self.server.raw_request("GET", tampered)
        self.assertEqual(403, resp.status, resp)
        self.assertEqual("SignatureDoesNotMatch", xml_text(resp.body, "Code"))

    def test_presigned_url_expired(self):
        signed_at = naive_utcnow() - datetime.timedelta(hours=2)
        url = self.server.presigned_url("/?Action=GetCallerIdentity&Version=2011-06-15",
                                        expires=60, timestamp=signed_at)
        path = url[url.index("/", len("http://")):]
        resp = self.server.raw_request("GET", path)
        self.assertIn(resp.status, (400, 403), resp)
        self.assertNotIn(b"GetCallerIdentityResult", resp.body)
        self.assertNotIn(ACCOUNT_ID.encode(), resp.body)


class BootstrapCredentialsTest(unittest.TestCase):
    """First start without COFFER_ROOT_* writes <data-dir>/root-credentials (0600, [coffer])."""

    def test_generated_root_credentials(self):
        server = CofferServer(use_env_credentials=False)
        self.addCleanup(server.close)
        server.start()
        path = os.path.join(server.data_dir, "root-credentials")
        self.assertTrue(os.path.isfile(path), os.listdir(server.data_dir))
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(0o600, mode, oct(mode))
        with open(path, "rb") as f:
            original = f.read()
        parser = configparser.ConfigParser()
        parser.read_string(original.decode("utf-8"))
        self.assertIn("coffer", parser.sections())
        key_id = parser["coffer"]["aws_access_key_id"].strip()
        secret = parser["coffer"]["aws_secret_access_key"].strip()
        self.assertTrue(key_id and secret)
        self.assertNotEqual(DEFAULT_KEY_ID, key_id)
        self.assertGreaterEqual(len(secret), 20)

        ident = server.client("sts", key_id=key_id, secret=secret).get_caller_identity()
        self.assertEqual((ACCOUNT_ID, ROOT_ARN), (ident["Account"], ident["Arn"]))
        sm = server.client("secretsmanager", key_id=key_id, secret=secret)
        name = unique_name("boot")
        sm.create_secret(Name=name, SecretString="bootstrapped")
        # The well-known example key was never configured on this server.
        with self.assertRaises(ClientError) as ctx:
            server.client("sts").get_caller_identity()
        self.assertEqual("InvalidClientTokenId", error_code(ctx.exception))

        server.restart()
        with open(path, "rb") as f:
            self.assertEqual(original, f.read(), "root-credentials changed across a restart")
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        sm = server.client("secretsmanager", key_id=key_id, secret=secret)
        self.assertEqual("bootstrapped", sm.get_secret_value(SecretId=name)["SecretString"])
        ident = server.client("sts", key_id=key_id, secret=secret).get_caller_identity()
        self.assertEqual(ROOT_ARN, ident["Arn"])
        server.stop(check=True)
        self.assertNotIn(secret.encode(), server.output(),
                         "the generated root secret key was written to the server's output")

    def test_the_generated_profile_needs_no_flags(self):
        """Beside root-credentials, aws-config holds profile coffer's region and endpoint_url:
        the AWS CLI and boto3, given the two files and the profile, need no other setting."""
        server = CofferServer(use_env_credentials=False)
        self.addCleanup(server.close)
        server.start()
        config = os.path.join(server.data_dir, "aws-config")
        parser = configparser.ConfigParser()
        parser.read(config)
        self.assertEqual({"region": "us-east-1", "endpoint_url": server.endpoint.rstrip("/")},
                         dict(parser["profile coffer"]), parser.sections())
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update({"AWS_CONFIG_FILE": config, "AWS_PROFILE": "coffer",
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(server.data_dir,
                                                                "root-credentials")})
        name = unique_name("profile")

        def run(argv):
            proc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                  text=True, timeout=120)
            self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
            return proc.stdout
        run(["aws", "secretsmanager", "create-secret", "--name", name, "--secret-string", "v"])
        self.assertIn(name, run(["aws", "secretsmanager", "list-secrets"]))
        self.assertEqual("v\n", run([sys.executable, "-c", (
            "import boto3, sys; print(boto3.client('secretsmanager').get_secret_value("
            "SecretId=sys.argv[1])['SecretString'])"), name]))

    def test_test_test_credentials(self):
        server = CofferServer(key_id="test", secret="test")
        self.addCleanup(server.close)
        server.start()
        ident = server.client("sts").get_caller_identity()
        self.assertEqual((ACCOUNT_ID, ROOT_ARN), (ident["Account"], ident["Arn"]))
        sm = server.client("secretsmanager")
        name = unique_name("tt")
        sm.create_secret(Name=name, SecretString="with test/test")
        self.assertEqual("with test/test", sm.get_secret_value(SecretId=name)["SecretString"])
        with self.assertRaises(ClientError) as ctx:
            server.client("secretsmanager", secret="nottest").list_secrets()
        self.assertEqual("InvalidSignatureException", error_code(ctx.exception))
        server.stop(check=True)

    def test_env_credentials_not_logged(self):
        secret = "Zq9" + uuid.uuid4().hex + "SECRETKEY"
        server = CofferServer(key_id="AKIAENVONLY000000001", secret=secret)
        self.addCleanup(server.close)
        server.start()
        server.client("sts").get_caller_identity()
        server.client("secretsmanager").list_secrets()
        server.stop(check=True)
        self.assertNotIn(secret.encode(), server.output())


if __name__ == "__main__":
    unittest.main()
