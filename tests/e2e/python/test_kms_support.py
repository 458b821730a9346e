"""Shared helpers for the KMS end-to-end tests (test_kms_*.py).  Holds no tests itself.

(It is named test_kms_support.py only because new files in this directory are restricted to
test_kms*.py; unittest discovery imports it and finds no test methods in it.)

Expected behaviour comes from /work/shared/reference/aws-behaviour.md rules KMS-1..KMS-8 and
section 3, the botocore KMS model (data/kms/2014-11-01/service-2.json: shapes, doc strings and
`errors` lists, examples-1.json) and the AWS KMS API reference.  Where a test accepts more than
one error code, the comment beside it says why AWS's exact answer is not knowable from those
sources.
"""

import datetime
import re
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import (ACCOUNT_ID, AwsAssertions, DEFAULT_REGION, as_utc, http_status,
                           start_class_server, utcnow)

KMS_TARGET = "TrentService."
ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
KEY_ARN_RE = re.compile(rf"^arn:aws:kms:{DEFAULT_REGION}:{ACCOUNT_ID}:key/"
                        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SM_MANAGED_ALIAS = "alias/aws/secretsmanager"
SSM_MANAGED_ALIAS = "alias/aws/ssm"


def key_arn(key_id, region=DEFAULT_REGION):
    return f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}"


def alias_arn(alias_name, region=DEFAULT_REGION):
    return f"arn:aws:kms:{region}:{ACCOUNT_ID}:{alias_name}"


def uid(n=12):
    return uuid.uuid4().hex[:n]


def kms_tags(tags):
    """KMS tags are {TagKey, TagValue} (not Key/Value) -> dict."""
    return {t["TagKey"]: t["TagValue"] for t in (tags or [])}


def flip_byte(blob, index=-1):
    b = bytearray(blob)
    b[index] ^= 0x01
    return bytes(b)


class KmsCase(AwsAssertions, unittest.TestCase):
    """One coffer server per TestCase class; fresh keys/aliases per test."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.kms = cls.server.client("kms")
        # Without botocore's client-side validation, to send what only the server may reject
        # (out-of-range integers, empty or oversized blobs, missing members).
        cls.kms_raw = cls.server.client("kms", parameter_validation=False)

    @classmethod
    def tearDownClass(cls):
        # Every class ends with a graceful shutdown check: SIGTERM must exit with code 0.
        cls.server.stop(check=True)

    # -- resources ----------------------------------------------------------------------------
    def new_key(self, client=None, **kwargs):
        """CreateKey; returns KeyMetadata."""
        return (client or self.kms).create_key(**kwargs)["KeyMetadata"]

    def new_alias(self, key_id, prefix="e2e", client=None):
        name = f"alias/{prefix}-{uid()}"
        (client or self.kms).create_alias(AliasName=name, TargetKeyId=key_id)
        return name

    def describe(self, key_ref, client=None):
        return (client or self.kms).describe_key(KeyId=key_ref)["KeyMetadata"]

    def state(self, key_ref):
        return self.describe(key_ref)["KeyState"]

    def list_all(self, op, result_key, limit, client=None, **kwargs):
        """Follow Marker/NextMarker to the end; checks Truncated/NextMarker on every page."""
        fn = getattr(client or self.kms, op)
        out, marker, seen, pages = [], None, set(), 0
        for _ in range(1000):
            call = dict(kwargs, Limit=limit)
            if marker:
                call["Marker"] = marker
            resp = fn(**call)
            pages += 1
            self.assertLessEqual(len(resp[result_key]), limit, resp)
            out.extend(resp[result_key])
            if resp.get("Truncated"):
                marker = resp.get("NextMarker")
                self.assertTrue(marker, f"{op}: Truncated=true without NextMarker: {resp!r}")
                self.assertNotIn(marker, seen, f"{op} returned the same NextMarker twice")
                seen.add(marker)
            else:
                self.assertIs(False, resp.get("Truncated"), f"{op}: Truncated missing: {resp!r}")
                self.assertNotIn("NextMarker", resp, f"{op}: NextMarker on the last page")
                return out, pages
        self.fail(f"{op} pagination did not terminate")

    def kms_request(self, op, body, region=DEFAULT_REGION):
        """A raw, SigV4-signed TrentService.<op> JSON 1.1 request (wire-level assertions)."""
        return self.server.signed_json_request(KMS_TARGET + op, body, service="kms",
                                               region=region)

    # -- assertions ---------------------------------------------------------------------------
    def assertClient4xx(self, fn, *args, **kwargs):
        """Any client-fault error (4xx), for cases where AWS's exact code is not documented."""
        with self.assertRaises(ClientError) as ctx:
            fn(*args, **kwargs)
        status = http_status(ctx.exception)
        self.assertTrue(status is not None and 400 <= status < 500, ctx.exception.response)
        return ctx.exception

    def assertDaysFromNow(self, dt, days, slack=datetime.timedelta(days=1, minutes=5)):
        """dt is `days` days from now; AWS may round up to the next day boundary (the model's
        ScheduleKeyDeletion example shows a DeletionDate of exactly 00:00 UTC), so allow up
        to a day late and 5 minutes early."""
        self.assertIsInstance(dt, datetime.datetime)
        target = utcnow() + datetime.timedelta(days=days)
        got = as_utc(dt)
        self.assertGreaterEqual(got, target - datetime.timedelta(minutes=5), f"{dt!r}")
        self.assertLessEqual(got, target + slack, f"{dt!r}")

    def assertKeyArn(self, value, key_id=None):
        self.assertRegex(value, KEY_ARN_RE)
        if key_id is not None:
            self.assertEqual(key_arn(key_id), value)
