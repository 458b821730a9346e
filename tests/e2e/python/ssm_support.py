"""Shared helpers for the SSM Parameter Store end-to-end tests (test_ssm_*.py).

Expected behaviour comes from /work/shared/reference/aws-behaviour.md rules SSM-1..SSM-24, the
botocore SSM model (service-2.json: shapes, doc strings, `errors` lists) and the AWS Systems
Manager user guide.  Where a test accepts more than one error code, the comment beside it says
why AWS's exact answer is not knowable from those sources.

This module holds no tests itself (its name does not match test_*.py).
"""

import base64
import binascii
import datetime
import unittest
import uuid

from coffer_server import (ACCOUNT_ID, AwsAssertions, DEFAULT_REGION, as_utc, start_class_server)

ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
DEFAULT_SSM_KEY = "alias/aws/ssm"
SSM_TARGET = "AmazonSSM."

# Real AWS text, quoted in an AWS error seen by Terraform users (reference SSM-5).
STANDARD_SIZE_MESSAGE = (
    "Standard tier parameters support a maximum parameter value of 4096 characters. To create a "
    "larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more "
    "information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/"
    "parameter-store-advanced-parameters.html")
# Real AWS text for a name outside the rules, also a hierarchy without its leading "/" (quoted in
# aws/aws-sdk-php#1952 for "smpt/support", dmno-dev/varlock#389 for a path missing its "/", and
# localstack/localstack#7712 for GetParameter): it names only "ssm".
INVALID_NAME_MESSAGE = (
    "Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path, it "
    "can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of "
    "letters, numbers and the following 3 symbols .-_")
# Real AWS text (Chef users, reference SSM-21).
SM_REFERENCE_NEEDS_DECRYPTION = ("WithDecryption flag must be True for retrieving a Secret "
                                 "Manager secret.")


def max_versions_message(name, version):
    """ParameterMaxVersionLimitExceeded text, from the botocore model's exception doc."""
    return (f"You attempted to create a new version of {name} by calling the PutParameter API "
            f"with the overwrite flag. Version {version}, the oldest version, can't be deleted "
            f"because it has a label associated with it. Move the label to another version of "
            f"the parameter, and try again.")


def param_arn(name, region=DEFAULT_REGION):
    """arn:aws:ssm:<region>:<account>:parameter/<name> -- one slash, never parameter//x."""
    return f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}"


def uid(n=12):
    return uuid.uuid4().hex[:n]


def tags_dict(tags):
    return {t["Key"]: t["Value"] for t in (tags or [])}


def iso_ms(dt):
    """The timestamp form of the Expiration policy examples: 2020-06-30T00:00:00.000Z."""
    dt = as_utc(dt)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def expiration_policy(when):
    return {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": iso_ms(when)}}


def expiration_notification(before, unit="Days"):
    return {"Type": "ExpirationNotification", "Version": "1.0",
            "Attributes": {"Before": str(before), "Unit": unit}}


def no_change_notification(after, unit="Days"):
    return {"Type": "NoChangeNotification", "Version": "1.0",
            "Attributes": {"After": str(after), "Unit": unit}}


def plaintext_forms(value):
    """Byte strings whose presence in a file would reveal `value` (bytes): raw, hex, and the
    alignment-independent cores of its standard and URL-safe base64 encodings."""
    forms = {value, value.hex().encode(), value.hex().upper().encode()}
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = enc(b"\x00" * pad + value)
            core = encoded[4 if pad else 0:-4]
            if len(core) >= 16:
                forms.add(core)
    return forms


class SSMTestCase(AwsAssertions, unittest.TestCase):
    """One coffer server per TestCase class; fresh unique names/paths per test."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.ssm = cls.server.client("ssm")
        # Without botocore's client-side validation, to send what only the server may reject.
        cls.ssm_raw = cls.server.client("ssm", parameter_validation=False)

    @classmethod
    def tearDownClass(cls):
        # Every class ends with a graceful shutdown check: SIGTERM must exit with code 0.
        cls.server.stop(check=True)

    # -- names --------------------------------------------------------------------------------
    def new_path(self, prefix="e2e"):
        """A fresh hierarchy root such as /e2e-1a2b3c4d5e6f (no trailing slash)."""
        return f"/{prefix}-{uid()}"

    def new_name(self, prefix="e2e"):
        return f"{self.new_path(prefix)}/param"

    # -- calls --------------------------------------------------------------------------------
    def put(self, name, value="value", type_="String", client=None, **kwargs):
        if type_ is not None:
            kwargs["Type"] = type_
        return (client or self.ssm).put_parameter(Name=name, Value=value, **kwargs)

    def get(self, name, decrypt=False, client=None):
        return (client or self.ssm).get_parameter(Name=name, WithDecryption=decrypt)["Parameter"]

    def describe_one(self, name, client=None):
        """DescribeParameters entry of exactly one parameter (Name Equals filter)."""
        resp = (client or self.ssm).describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}])
        found = [p for p in resp["Parameters"] if p["Name"].lstrip("/") == name.lstrip("/")]
        token = resp.get("NextToken")
        while not found and token:
            resp = (client or self.ssm).describe_parameters(
                ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}],
                NextToken=token)
            found = [p for p in resp["Parameters"] if p["Name"].lstrip("/") == name.lstrip("/")]
            token = resp.get("NextToken")
        self.assertEqual(1, len(found), f"DescribeParameters Name={name}: {resp!r}")
        return found[0]

    def history(self, name, decrypt=False, client=None, page_size=50):
        out, token, seen = [], None, set()
        for _ in range(200):
            kwargs = {"Name": name, "WithDecryption": decrypt, "MaxResults": page_size}
            if token:
                kwargs["NextToken"] = token
            resp = (client or self.ssm).get_parameter_history(**kwargs)
            out.extend(resp["Parameters"])
            token = resp.get("NextToken")
            if not token:
                return out
            self.assertNotIn(token, seen, "GetParameterHistory returned the same NextToken twice")
            seen.add(token)
        self.fail("GetParameterHistory pagination did not terminate")

    def by_path(self, path, client=None, max_results=10, **kwargs):
        """Every parameter GetParametersByPath returns, following NextToken to the end."""
        out, token, seen = [], None, set()
        for _ in range(500):
            call = dict(kwargs, Path=path, MaxResults=max_results)
            if token:
                call["NextToken"] = token
            resp = (client or self.ssm).get_parameters_by_path(**call)
            self.assertLessEqual(len(resp["Parameters"]), max_results, resp)
            out.extend(resp["Parameters"])
            token = resp.get("NextToken")
            if not token:
                return out
            self.assertNotIn(token, seen, "GetParametersByPath returned the same NextToken twice")
            seen.add(token)
        self.fail("GetParametersByPath pagination did not terminate")

    def describe_all(self, client=None, max_results=50, **kwargs):
        out, token, seen = [], None, set()
        for _ in range(2000):
            call = dict(kwargs, MaxResults=max_results)
            if token:
                call["NextToken"] = token
            resp = (client or self.ssm).describe_parameters(**call)
            self.assertLessEqual(len(resp["Parameters"]), max_results, resp)
            out.extend(resp["Parameters"])
            token = resp.get("NextToken")
            if not token:
                return out
            self.assertNotIn(token, seen, "DescribeParameters returned the same NextToken twice")
            seen.add(token)
        self.fail("DescribeParameters pagination did not terminate")

    def tags(self, name, client=None):
        return tags_dict((client or self.ssm).list_tags_for_resource(
            ResourceType="Parameter", ResourceId=name)["TagList"])

    def ssm_request(self, op, body, region=DEFAULT_REGION):
        """A raw, SigV4-signed AmazonSSM.<op> JSON 1.1 request (for wire-level assertions)."""
        return self.server.signed_json_request(SSM_TARGET + op, body, service="ssm",
                                               region=region)

    # -- assertions ---------------------------------------------------------------------------
    def assertCiphertext(self, value, plaintext):
        """A SecureString read without WithDecryption: a base64 ciphertext blob, never the
        plaintext (reference SSM-11; real AWS returns e.g. 'AQICAHh...==')."""
        self.assertIsInstance(value, str)
        self.assertFalse(plaintext in value,
                         f"SecureString plaintext returned without WithDecryption: {value[:80]!r}")
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as e:
            self.fail(f"SecureString value without decryption is not base64: {value[:80]!r} ({e})")
        # Authenticated encryption adds at least a 16-byte tag (plus IV/key material).
        self.assertGreaterEqual(len(raw), len(plaintext.encode("utf-8")) + 16,
                                "ciphertext is too short to hold the encrypted value")
        for form in plaintext_forms(plaintext.encode("utf-8")):
            self.assertFalse(form in value.encode("ascii") or form in raw,
                             "a form (raw/hex/base64) of the plaintext is in the ciphertext")
        return raw
