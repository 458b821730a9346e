"""End-to-end tests of coffer's AWS Secrets Manager API, driven by boto3.

Every assertion follows AWS's documented behaviour: the botocore service model (doc strings and
shapes) and /work/shared/reference/aws-behaviour.md section 2.A (rules SM-1..SM-40). Exact
message texts are asserted only where that reference quotes AWS's text.

Run: python3 -m unittest discover -s tests/e2e/python -v   (COFFER_BIN=<path to coffer>)
"""

import datetime
import json
import random
import re
import string
import threading
import time
import unittest
import uuid

import boto3
from botocore.exceptions import ClientError

from coffer_server import (ACCOUNT_ID, AwsAssertions, as_utc, error_code, error_message,
                           http_status, start_class_server, unique_name, utcnow)

NOT_FOUND_MESSAGE = "Secrets Manager can't find the specified secret."
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
DEFAULT_PASSWORD_CHARS = set(string.ascii_letters + string.digits + PUNCTUATION)


def arn_pattern(name, region="us-east-1"):
    return re.compile(
        rf"^arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{re.escape(name)}-[A-Za-z0-9]{{6}}$")


def partial_arn(arn):
    """The ARN without its '-XXXXXX' random suffix (SM-3 partial ARN)."""
    return arn[:-7]


def token():
    """A ClientRequestToken (a UUID string, 36 chars, within 32..64)."""
    return str(uuid.uuid4())


def letters(n=12):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


def tags_dict(tags):
    return {t["Key"]: t["Value"] for t in (tags or [])}


class SecretsManagerTestCase(AwsAssertions, unittest.TestCase):
    """One coffer server per TestCase class; a fresh unique secret name per test."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.server = start_class_server(cls)
        cls.sm = cls.server.client("secretsmanager")
        # Same client without botocore's client-side parameter validation, to send values that
        # only the server may reject (too-short tokens, oversized values, ...).
        cls.sm_raw = cls.server.client("secretsmanager", parameter_validation=False)

    @classmethod
    def tearDownClass(cls):
        # Every class ends with a graceful shutdown check: SIGTERM must exit with code 0.
        cls.server.stop(check=True)

    # -- helpers ------------------------------------------------------------------------------
    def new_name(self, prefix="sm"):
        return unique_name(prefix)

    def assertDeletedDate(self, entry, window_days):
        """DeletedDate is present on a secret scheduled for deletion.

        The model documents it both as "the date and time the deletion occurred" (ListSecrets)
        and "the date the secret is scheduled for deletion" (DescribeSecret), so accept either
        the time of the DeleteSecret call or the end of the recovery window."""
        self.assertIn("DeletedDate", entry)
        deleted = as_utc(entry["DeletedDate"])
        now = utcnow()
        self.assertGreater(deleted, now - datetime.timedelta(minutes=2))
        self.assertLess(deleted, now + datetime.timedelta(days=window_days, minutes=2))

    def create(self, name=None, **kwargs):
        name = name or self.new_name()
        resp = self.sm.create_secret(Name=name, **kwargs)
        return name, resp

    def stages(self, secret_id):
        return self.sm.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})


# =============================================================================================
class CreateSecretTest(SecretsManagerTestCase):

    def test_create_string_secret_with_description_and_tags(self):
        name = self.new_name()
        tok = token()
        resp = self.sm.create_secret(
            Name=name, SecretString='{"username":"app","password":"hunter2"}',
            Description="database credentials", ClientRequestToken=tok,
            Tags=[{"Key": "team", "Value": "payments"}, {"Key": "env", "Value": "prod"}])
        self.assertEqual(200, http_status(resp))
        self.assertEqual(name, resp["Name"])
        self.assertRegex(resp["ARN"], arn_pattern(name))
        self.assertEqual(tok, resp["VersionId"])

        desc = self.sm.describe_secret(SecretId=name)
        self.assertEqual(resp["ARN"], desc["ARN"])
        self.assertEqual(name, desc["Name"])
        self.assertEqual("database credentials", desc["Description"])
        self.assertEqual({"team": "payments", "env": "prod"}, tags_dict(desc["Tags"]))
        self.assertEqual({tok: ["AWSCURRENT"]}, desc["VersionIdsToStages"])
        self.assertNotIn("KmsKeyId", desc)  # SM-20: omitted for the default key
        self.assertNotIn("DeletedDate", desc)
        self.assertRecent(desc["CreatedDate"])
        self.assertRecent(desc["LastChangedDate"])

        got = self.sm.get_secret_value(SecretId=name)
        self.assertEqual('{"username":"app","password":"hunter2"}', got["SecretString"])
        self.assertNotIn("SecretBinary", got)
        self.assertEqual(tok, got["VersionId"])
        self.assertEqual(["AWSCURRENT"], got["VersionStages"])

    def test_create_without_explicit_token_gets_sdk_generated_version_id(self):
        name, resp = self.create(SecretString="v")
        self.assertRegex(resp["ARN"], arn_pattern(name))
        self.assertTrue(32 <= len(resp["VersionId"]) <= 64, resp["VersionId"])
        self.assertEqual({resp["VersionId"]: ["AWSCURRENT"]}, self.stages(name))

    def test_create_binary_secret_round_trips_arbitrary_bytes(self):
        payload = bytes(range(256)) + b"\x00\xff\xfe binary tail"
        name, resp = self.create(SecretBinary=payload)
        self.assertIn("VersionId", resp)
        got = self.sm.get_secret_value(SecretId=name)
        self.assertEqual(payload, got["SecretBinary"])
        self.assertNotIn("SecretString", got)
        self.assertEqual(["AWSCURRENT"], got["VersionStages"])

    def test_create_without_value_has_no_versions(self):
        name, resp = self.create(Description="placeholder")
        self.assertRegex(resp["ARN"], arn_pattern(name))
        self.assertNotIn("VersionId", resp)  # SM-6
        desc = self.sm.describe_secret(SecretId=name)
        self.assertFalse(desc.get("VersionIdsToStages"), desc)
        self.assertEqual([], self.sm.list_secret_version_ids(
            SecretId=name, IncludeDeprecated=True).get("Versions", []))
        self.assertClientError("ResourceNotFoundException", self.sm.get_secret_value,
                               SecretId=name)
        # The first PutSecretValue always gets AWSCURRENT.
        tok = token()
        put = self.sm.put_secret_value(SecretId=name, SecretString="first", ClientRequestToken=tok)
        self.assertEqual(["AWSCURRENT"], put["VersionStages"])
        self.assertEqual(tok, put["VersionId"])
        self.assertEqual("first", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_first_put_with_only_custom_stage_still_gets_awscurrent(self):
        name, _ = self.create()
        put = self.sm.put_secret_value(SecretId=name, SecretString="x", VersionStages=["blue"])
        self.assertEqual({"AWSCURRENT", "blue"}, set(put["VersionStages"]))

    def test_duplicate_name_is_resource_exists(self):
        name, _ = self.create(SecretString="a")
        self.assertClientError(
            "ResourceExistsException", self.sm.create_secret, Name=name, SecretString="b",
            message=f"The operation failed because the secret {name} already exists.")
        self.assertEqual("a", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_create_retry_with_same_token_and_value_is_idempotent(self):
        name = self.new_name()
        tok = token()
        first = self.sm.create_secret(Name=name, SecretString="same", ClientRequestToken=tok)
        second = self.sm.create_secret(Name=name, SecretString="same", ClientRequestToken=tok)
        self.assertEqual(first["ARN"], second["ARN"])
        self.assertEqual(tok, second["VersionId"])
        self.assertEqual({tok: ["AWSCURRENT"]}, self.stages(name))

    def test_create_retry_with_same_token_and_different_value_fails(self):
        name = self.new_name()
        tok = token()
        self.sm.create_secret(Name=name, SecretString="one", ClientRequestToken=tok)
        exc = self.assertClientError(None, self.sm.create_secret, Name=name,
                                     SecretString="two", ClientRequestToken=tok,
                                     codes=("ResourceExistsException",))
        self.assertTrue(error_message(exc))
        self.assertEqual("one", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_both_string_and_binary_is_invalid_parameter(self):
        name = self.new_name()
        self.assertClientError("InvalidParameterException", self.sm.create_secret, Name=name,
                               SecretString="s", SecretBinary=b"b")
        self.assertClientError("ResourceNotFoundException", self.sm.describe_secret,
                               SecretId=name)

    def test_name_with_every_allowed_punctuation_character(self):
        name = f"a/b_c+d=e.f@g-{uuid.uuid4().hex[:8]}"
        _, resp = self.create(name=name, SecretString="ok")
        self.assertRegex(resp["ARN"], arn_pattern(name))
        self.assertEqual("ok", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_invalid_name_characters_are_rejected(self):
        # SM-1. Real AWS answers "ValidationException: Invalid name. Must be a valid name
        # containing alphanumeric characters, or any of the following: -/_+=.@!" (seen in
        # hashicorp/terraform-provider-aws#39406 and smithy-typescript#1546 responses).
        for bad in ("has space", "semi;colon", "hash#tag", "star*", "dollar$"):
            with self.subTest(name=bad):
                name = f"{bad}{uuid.uuid4().hex[:6]}"
                self.assertClientError(None, self.sm.create_secret, Name=name,
                                       SecretString="x", codes=("ValidationException",))

    def test_name_length_limit_512(self):
        base = uuid.uuid4().hex
        name512 = (base * 20)[:512]
        _, resp = self.create(name=name512, SecretString="long name")
        self.assertRegex(resp["ARN"], arn_pattern(name512))
        self.assertEqual("long name", self.sm.get_secret_value(SecretId=name512)["SecretString"])
        name513 = (uuid.uuid4().hex * 20)[:513]
        exc = self.assertClientError(None, self.sm.create_secret, Name=name513,
                                     SecretString="x",
                                     codes=("ValidationException", "InvalidParameterException"))
        self.assertEqual(400, http_status(exc))

    def test_same_token_in_two_secrets_is_independent(self):
        # A VersionId is unique within one secret only.
        tok = token()
        n1, c1 = self.create(SecretString="first", ClientRequestToken=tok)
        n2, c2 = self.create(SecretString="second", ClientRequestToken=tok)
        self.assertEqual(tok, c1["VersionId"])
        self.assertEqual(tok, c2["VersionId"])
        self.assertEqual("first", self.sm.get_secret_value(SecretId=n1)["SecretString"])
        self.assertEqual("second", self.sm.get_secret_value(SecretId=n2)["SecretString"])

    def test_description_length_limit(self):
        name, _ = self.create(SecretString="x", Description="d" * 2048)
        self.assertEqual("d" * 2048, self.sm.describe_secret(SecretId=name)["Description"])
        self.assertClientError(None, self.sm.create_secret, Name=self.new_name(),
                               SecretString="x", Description="d" * 2049,
                               codes=("ValidationException", "InvalidParameterException"))

    def test_name_ending_like_an_arn_suffix(self):
        # SM-3 and the troubleshooting guide ("avoid ending names with a hyphen followed by six
        # characters"): an ARN whose last part looks like "-XXXXXX" is read as a complete ARN.
        # Real AWS (LocalStack's AWS-validated snapshot test_create_and_update_secret
        # [Invalid/_+=.@-Name-a1b2c3]) answers ResourceNotFoundException for the partial ARN of
        # such a name, while name, full ARN, and names ending "-a1b2" / "-a1b2c3-" all work.
        base = f"x{letters()}"
        short, c_short = self.create(name=base, SecretString="short")
        long_, c_long = self.create(name=f"{base}-Abc123", SecretString="long")
        four, c_four = self.create(name=f"{base}-a1b2", SecretString="four")
        dash, c_dash = self.create(name=f"{base}-a1b2c3-", SecretString="dash")
        prefix = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:"
        cases = {
            short: "short", long_: "long", four: "four", dash: "dash",
            c_short["ARN"]: "short", c_long["ARN"]: "long",
            prefix + base: "short",                # partial ARN of `base`
            partial_arn(c_four["ARN"]): "four",    # "-a1b2" is not suffix-shaped
            partial_arn(c_dash["ARN"]): "dash",    # nor is "-a1b2c3-"
        }
        for sid, expected in cases.items():
            with self.subTest(secret_id=sid):
                self.assertEqual(expected,
                                 self.sm.get_secret_value(SecretId=sid)["SecretString"])
        with self.subTest(secret_id=partial_arn(c_long["ARN"])):
            self.assertClientError("ResourceNotFoundException", self.sm.get_secret_value,
                                   SecretId=partial_arn(c_long["ARN"]),
                                   message=NOT_FOUND_MESSAGE)

    def test_recreated_arn_suffix_differs_between_secrets(self):
        # Each secret gets its own random 6-char suffix.
        arns = {self.create(SecretString="x")[1]["ARN"][-6:] for _ in range(5)}
        self.assertEqual(5, len(arns))
        for suffix in arns:
            self.assertRegex(suffix, r"^[A-Za-z0-9]{6}$")


# =============================================================================================
class GetSecretValueTest(SecretsManagerTestCase):

    def test_lookup_by_name_full_arn_and_partial_arn(self):
        name, created = self.create(SecretString="value-1")
        arn = created["ARN"]
        for secret_id in (name, arn, partial_arn(arn)):
            with self.subTest(secret_id=secret_id):
                got = self.sm.get_secret_value(SecretId=secret_id)
                self.assertEqual(arn, got["ARN"])
                self.assertEqual(name, got["Name"])
                self.assertEqual("value-1", got["SecretString"])
                self.assertEqual(created["VersionId"], got["VersionId"])
                self.assertEqual(["AWSCURRENT"], got["VersionStages"])
                self.assertRecent(got["CreatedDate"])

    def test_partial_arn_of_name_with_hyphen_suffix_like_part(self):
        # A name that itself contains hyphens: the partial ARN still resolves (SM-3).
        name = f"svc-db-{uuid.uuid4().hex[:4]}-main"
        _, created = self.create(name=name, SecretString="hy")
        self.assertEqual("hy", self.sm.get_secret_value(
            SecretId=partial_arn(created["ARN"]))["SecretString"])

    def test_name_plus_suffix_without_arn_prefix_is_not_a_name(self):
        name, created = self.create(SecretString="v")
        with_suffix = name + created["ARN"][-7:]
        self.assertClientError("ResourceNotFoundException", self.sm.get_secret_value,
                               SecretId=with_suffix)

    def test_missing_secret(self):
        self.assertClientError("ResourceNotFoundException", self.sm.get_secret_value,
                               SecretId=self.new_name("missing"), message=NOT_FOUND_MESSAGE)

    def test_missing_full_arn(self):
        arn = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:{self.new_name()}-AbC123"
        self.assertClientError("ResourceNotFoundException", self.sm.get_secret_value,
                               SecretId=arn)

    def test_select_by_version_id_and_stage(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="old", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="new", ClientRequestToken=v2)

        cur = self.sm.get_secret_value(SecretId=name)
        self.assertEqual(("new", v2, ["AWSCURRENT"]),
                         (cur["SecretString"], cur["VersionId"], cur["VersionStages"]))
        by_id = self.sm.get_secret_value(SecretId=name, VersionId=v1)
        self.assertEqual(("old", v1, ["AWSPREVIOUS"]),
                         (by_id["SecretString"], by_id["VersionId"], by_id["VersionStages"]))
        by_stage = self.sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
        self.assertEqual(("old", v1), (by_stage["SecretString"], by_stage["VersionId"]))
        both = self.sm.get_secret_value(SecretId=name, VersionId=v2, VersionStage="AWSCURRENT")
        self.assertEqual("new", both["SecretString"])
        # CreatedDate is the version's own creation date.
        self.assertLessEqual(as_utc(by_id["CreatedDate"]), as_utc(cur["CreatedDate"]))

    def test_mismatched_version_id_and_stage(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="old", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="new", ClientRequestToken=v2)
        self.assertClientError(
            "InvalidRequestException", self.sm.get_secret_value, SecretId=name, VersionId=v1,
            VersionStage="AWSCURRENT",
            message="You provided a VersionStage that is not associated to the provided VersionId.")

    def test_unknown_version_id_and_unknown_stage(self):
        # Messages as recorded from AWS (LocalStack snapshot test_secret_version_not_found and
        # test_get_secret_value_errors).
        name, _ = self.create(SecretString="x")
        missing = token()
        self.assertClientError(
            "ResourceNotFoundException", self.sm.get_secret_value, SecretId=name,
            VersionId=missing,
            message=f"Secrets Manager can't find the specified secret value for VersionId: "
                    f"{missing}")
        self.assertClientError(
            "ResourceNotFoundException", self.sm.get_secret_value, SecretId=name,
            VersionStage="AWSPENDING",
            message="Secrets Manager can't find the specified secret value for staging label: "
                    "AWSPENDING")
        self.assertClientError(
            "ResourceNotFoundException", self.sm.get_secret_value, SecretId=name,
            VersionStage="AWSPREVIOUS",
            message="Secrets Manager can't find the specified secret value for staging label: "
                    "AWSPREVIOUS")

    def test_no_value_is_resource_not_found(self):
        name, _ = self.create()
        self.assertClientError(
            "ResourceNotFoundException", self.sm.get_secret_value, SecretId=name,
            message="Secrets Manager can't find the specified secret value for staging label: "
                    "AWSCURRENT")

    def test_unicode_secret_string_round_trips(self):
        value = "pässwörd-✓-\U0001F511-\u00e9\u4e2d\u6587"
        name, _ = self.create(SecretString=value)
        self.assertEqual(value, self.sm.get_secret_value(SecretId=name)["SecretString"])


# =============================================================================================
class PutSecretValueTest(SecretsManagerTestCase):

    def test_awscurrent_and_awsprevious_move(self):
        v1, v2, v3 = token(), token(), token()
        name, created = self.create(SecretString="one", ClientRequestToken=v1)
        put2 = self.sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=v2)
        self.assertEqual(created["ARN"], put2["ARN"])
        self.assertEqual(name, put2["Name"])
        self.assertEqual(v2, put2["VersionId"])
        self.assertEqual(["AWSCURRENT"], put2["VersionStages"])
        self.assertEqual({v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}, self.stages(name))

        put3 = self.sm.put_secret_value(SecretId=name, SecretBinary=b"\x01three",
                                        ClientRequestToken=v3)
        self.assertEqual(["AWSCURRENT"], put3["VersionStages"])
        # v1 lost its last label: it is deprecated and no longer listed in VersionIdsToStages.
        self.assertEqual({v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT"]}, self.stages(name))
        got = self.sm.get_secret_value(SecretId=name)
        self.assertEqual(b"\x01three", got["SecretBinary"])
        self.assertNotIn("SecretString", got)
        self.assertEqual("two", self.sm.get_secret_value(
            SecretId=name, VersionStage="AWSPREVIOUS")["SecretString"])
        # A deprecated version is still readable by VersionId until it is garbage collected.
        self.assertEqual("one", self.sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"])

    def test_explicit_awspending_does_not_move_awscurrent(self):
        v1, p1, p2 = token(), token(), token()
        name, _ = self.create(SecretString="current", ClientRequestToken=v1)
        put = self.sm.put_secret_value(SecretId=name, SecretString="pending-1",
                                       ClientRequestToken=p1, VersionStages=["AWSPENDING"])
        self.assertEqual(["AWSPENDING"], put["VersionStages"])
        self.assertEqual({v1: ["AWSCURRENT"], p1: ["AWSPENDING"]}, self.stages(name))
        self.assertEqual("current", self.sm.get_secret_value(SecretId=name)["SecretString"])
        self.assertEqual("pending-1", self.sm.get_secret_value(
            SecretId=name, VersionStage="AWSPENDING")["SecretString"])
        # The label moves off the version that had it (SM-10).
        self.sm.put_secret_value(SecretId=name, SecretString="pending-2", ClientRequestToken=p2,
                                 VersionStages=["AWSPENDING"])
        self.assertEqual({v1: ["AWSCURRENT"], p2: ["AWSPENDING"]}, self.stages(name))
        self.assertEqual("current", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_custom_stages_with_awscurrent(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="a", ClientRequestToken=v1)
        put = self.sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=v2,
                                       VersionStages=["AWSCURRENT", "blue"])
        self.assertEqual({"AWSCURRENT", "blue"}, set(put["VersionStages"]))
        stages = {k: set(v) for k, v in self.stages(name).items()}
        self.assertEqual({v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT", "blue"}}, stages)
        self.assertEqual("b", self.sm.get_secret_value(SecretId=name, VersionStage="blue")["SecretString"])

    def test_custom_stage_moves_between_versions(self):
        v1, v2, v3 = token(), token(), token()
        name, _ = self.create(SecretString="a", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=v2,
                                 VersionStages=["green"])
        self.sm.put_secret_value(SecretId=name, SecretString="c", ClientRequestToken=v3,
                                 VersionStages=["green"])
        self.assertEqual({v1: ["AWSCURRENT"], v3: ["green"]}, self.stages(name))

    def test_same_token_same_value_is_idempotent(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="a", ClientRequestToken=v1)
        first = self.sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=v2)
        second = self.sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=v2)
        self.assertEqual(v2, first["VersionId"])
        self.assertEqual(v2, second["VersionId"])
        self.assertEqual(first["ARN"], second["ARN"])
        versions = self.sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
        self.assertEqual({v1, v2}, {v["VersionId"] for v in versions})
        self.assertEqual({v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}, self.stages(name))

    def test_same_token_same_binary_is_idempotent(self):
        v1 = token()
        name, _ = self.create(SecretBinary=b"\x00\x01", ClientRequestToken=v1)
        again = self.sm.put_secret_value(SecretId=name, SecretBinary=b"\x00\x01",
                                         ClientRequestToken=v1)
        self.assertEqual(v1, again["VersionId"])
        self.assertEqual({v1: ["AWSCURRENT"]}, self.stages(name))

    def test_same_token_different_value_is_resource_exists(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="a", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="b", ClientRequestToken=v2)
        self.assertClientError("ResourceExistsException", self.sm.put_secret_value,
                               SecretId=name, SecretString="DIFFERENT", ClientRequestToken=v2)
        self.assertEqual("b", self.sm.get_secret_value(SecretId=name, VersionId=v2)["SecretString"])

    def test_token_length_bounds(self):
        name, _ = self.create(SecretString="a")
        # 31 chars: below the model minimum of 32 (botocore would refuse it client-side).
        exc = self.assertClientError(None, self.sm_raw.put_secret_value, SecretId=name,
                                     SecretString="b", ClientRequestToken="x" * 31,
                                     codes=("ValidationException", "InvalidParameterException"))
        self.assertEqual(400, http_status(exc))
        # 65 chars: above the maximum of 64.
        self.assertClientError(None, self.sm_raw.put_secret_value, SecretId=name,
                               SecretString="b", ClientRequestToken="y" * 65,
                               codes=("ValidationException", "InvalidParameterException"))
        # 32 and 64 chars are fine.
        for tok in ("a" * 32, "b" * 64):
            with self.subTest(length=len(tok)):
                put = self.sm.put_secret_value(SecretId=name, SecretString=f"v{len(tok)}",
                                               ClientRequestToken=tok)
                self.assertEqual(tok, put["VersionId"])
        self.assertEqual("v64", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_both_or_neither_value(self):
        name, _ = self.create(SecretString="a")
        self.assertClientError("InvalidParameterException", self.sm.put_secret_value,
                               SecretId=name, SecretString="s", SecretBinary=b"b")
        self.assertClientError("InvalidParameterException", self.sm.put_secret_value,
                               SecretId=name)

    def test_missing_secret(self):
        self.assertClientError("ResourceNotFoundException", self.sm.put_secret_value,
                               SecretId=self.new_name("missing"), SecretString="x",
                               message=NOT_FOUND_MESSAGE)

    def test_last_changed_date_advances(self):
        name, _ = self.create(SecretString="a")
        before = self.sm.describe_secret(SecretId=name)
        time.sleep(1.1)
        self.sm.put_secret_value(SecretId=name, SecretString="b")
        after = self.sm.describe_secret(SecretId=name)
        self.assertGreater(as_utc(after["LastChangedDate"]), as_utc(before["LastChangedDate"]))
        self.assertEqual(as_utc(before["CreatedDate"]), as_utc(after["CreatedDate"]))


# =============================================================================================
class UpdateSecretTest(SecretsManagerTestCase):

    def test_metadata_only_update_creates_no_version(self):
        v1 = token()
        name, created = self.create(SecretString="a", Description="before", ClientRequestToken=v1)
        resp = self.sm.update_secret(SecretId=name, Description="after")
        self.assertEqual(created["ARN"], resp["ARN"])
        self.assertEqual(name, resp["Name"])
        self.assertNotIn("VersionId", resp)  # SM-11
        desc = self.sm.describe_secret(SecretId=name)
        self.assertEqual("after", desc["Description"])
        self.assertEqual({v1: ["AWSCURRENT"]}, desc["VersionIdsToStages"])
        self.assertEqual("a", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_update_with_value_creates_new_current_version(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="a", ClientRequestToken=v1)
        resp = self.sm.update_secret(SecretId=name, SecretString="b", ClientRequestToken=v2)
        self.assertEqual(v2, resp["VersionId"])
        self.assertEqual({v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}, self.stages(name))
        self.assertEqual("b", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_update_with_binary_value(self):
        name, _ = self.create(SecretString="text")
        resp = self.sm.update_secret(SecretId=name, SecretBinary=b"\xde\xad\xbe\xef")
        self.assertIn("VersionId", resp)
        got = self.sm.get_secret_value(SecretId=name)
        self.assertEqual(b"\xde\xad\xbe\xef", got["SecretBinary"])
        self.assertEqual(resp["VersionId"], got["VersionId"])

    def test_update_value_and_description_together(self):
        name, _ = self.create(SecretString="a", Description="d1")
        resp = self.sm.update_secret(SecretId=name, SecretString="b", Description="d2")
        self.assertIn("VersionId", resp)
        desc = self.sm.describe_secret(SecretId=name)
        self.assertEqual("d2", desc["Description"])
        self.assertEqual(["AWSCURRENT"], desc["VersionIdsToStages"][resp["VersionId"]])

    def test_update_first_value_of_valueless_secret(self):
        name, _ = self.create()
        resp = self.sm.update_secret(SecretId=name, SecretString="now")
        self.assertEqual({resp["VersionId"]: ["AWSCURRENT"]}, self.stages(name))

    def test_update_missing_and_both_values(self):
        self.assertClientError("ResourceNotFoundException", self.sm.update_secret,
                               SecretId=self.new_name("missing"), Description="x",
                               message=NOT_FOUND_MESSAGE)
        name, _ = self.create(SecretString="a")
        self.assertClientError("InvalidParameterException", self.sm.update_secret,
                               SecretId=name, SecretString="s", SecretBinary=b"b")

    def test_update_with_existing_token_and_different_value(self):
        v1 = token()
        name, _ = self.create(SecretString="a", ClientRequestToken=v1)
        self.assertClientError("ResourceExistsException", self.sm.update_secret, SecretId=name,
                               SecretString="b", ClientRequestToken=v1)
        self.assertEqual({v1: ["AWSCURRENT"]}, self.stages(name))
        self.assertEqual("a", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_update_by_partial_arn(self):
        name, created = self.create(SecretString="a")
        self.sm.update_secret(SecretId=partial_arn(created["ARN"]), Description="via partial")
        self.assertEqual("via partial", self.sm.describe_secret(SecretId=name)["Description"])


# =============================================================================================
class UpdateSecretVersionStageTest(SecretsManagerTestCase):

    def two_versions(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="one", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=v2)
        return name, v1, v2

    def test_move_awscurrent_back_moves_awsprevious(self):
        name, v1, v2 = self.two_versions()
        resp = self.sm.update_secret_version_stage(
            SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v1, RemoveFromVersionId=v2)
        self.assertEqual(name, resp["Name"])
        self.assertRegex(resp["ARN"], arn_pattern(name))
        self.assertEqual({v1: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}, self.stages(name))
        self.assertEqual("one", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_missing_remove_from_version_id(self):
        name, v1, v2 = self.two_versions()
        self.assertClientError("InvalidParameterException",
                               self.sm.update_secret_version_stage, SecretId=name,
                               VersionStage="AWSCURRENT", MoveToVersionId=v1)
        self.assertEqual({v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}, self.stages(name))

    def test_wrong_remove_from_version_id(self):
        v1, v2, v3 = token(), token(), token()
        name, _ = self.create(SecretString="one", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="two", ClientRequestToken=v2)
        self.sm.put_secret_value(SecretId=name, SecretString="three", ClientRequestToken=v3,
                                 VersionStages=["blue"])
        # AWSCURRENT is on v2; naming v3 as its holder is wrong.
        self.assertClientError("InvalidParameterException",
                               self.sm.update_secret_version_stage, SecretId=name,
                               VersionStage="AWSCURRENT", MoveToVersionId=v1,
                               RemoveFromVersionId=v3)
        self.assertEqual("two", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_add_and_remove_custom_label_leaves_awsprevious_alone(self):
        name, v1, v2 = self.two_versions()
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="blue",
                                            MoveToVersionId=v1)
        stages = {k: set(v) for k, v in self.stages(name).items()}
        self.assertEqual({v1: {"AWSPREVIOUS", "blue"}, v2: {"AWSCURRENT"}}, stages)
        self.assertEqual("one", self.sm.get_secret_value(SecretId=name, VersionStage="blue")["SecretString"])
        # Remove it (RemoveFromVersionId without MoveToVersionId).
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="blue",
                                            RemoveFromVersionId=v1)
        self.assertEqual({v1: ["AWSPREVIOUS"], v2: ["AWSCURRENT"]}, self.stages(name))
        self.assertClientError("ResourceNotFoundException", self.sm.get_secret_value,
                               SecretId=name, VersionStage="blue")

    def test_move_custom_label_between_versions(self):
        name, v1, v2 = self.two_versions()
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="green",
                                            MoveToVersionId=v1)
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="green",
                                            MoveToVersionId=v2, RemoveFromVersionId=v1)
        stages = {k: set(v) for k, v in self.stages(name).items()}
        self.assertEqual({v1: {"AWSPREVIOUS"}, v2: {"AWSCURRENT", "green"}}, stages)

    def test_promote_pending_to_current(self):
        # The rotation finishSecret step: move AWSCURRENT onto the AWSPENDING version.
        v1, p = token(), token()
        name, _ = self.create(SecretString="old", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="rotated", ClientRequestToken=p,
                                 VersionStages=["AWSPENDING"])
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                            MoveToVersionId=p, RemoveFromVersionId=v1)
        stages = {k: set(v) for k, v in self.stages(name).items()}
        self.assertEqual({v1: {"AWSPREVIOUS"}, p: {"AWSCURRENT", "AWSPENDING"}}, stages)
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="AWSPENDING",
                                            RemoveFromVersionId=p)
        self.assertEqual({v1: ["AWSPREVIOUS"], p: ["AWSCURRENT"]}, self.stages(name))
        self.assertEqual("rotated", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_unknown_version_and_missing_secret(self):
        name, v1, v2 = self.two_versions()
        self.assertClientError("InvalidParameterException",
                               self.sm.update_secret_version_stage, SecretId=name,
                               VersionStage="blue", MoveToVersionId=token())
        self.assertClientError("ResourceNotFoundException",
                               self.sm.update_secret_version_stage,
                               SecretId=self.new_name("missing"), VersionStage="blue",
                               MoveToVersionId=v1)


# =============================================================================================
class DescribeSecretTest(SecretsManagerTestCase):

    def test_describe_fields(self):
        name, created = self.create(SecretString="x", Description="desc",
                                    Tags=[{"Key": "k", "Value": "v"}])
        desc = self.sm.describe_secret(SecretId=name)
        self.assertEqual(created["ARN"], desc["ARN"])
        self.assertEqual(name, desc["Name"])
        self.assertEqual("desc", desc["Description"])
        self.assertEqual([{"Key": "k", "Value": "v"}], desc["Tags"])
        self.assertEqual({created["VersionId"]: ["AWSCURRENT"]}, desc["VersionIdsToStages"])
        self.assertNotIn("KmsKeyId", desc)
        self.assertNotIn("DeletedDate", desc)
        self.assertNotIn("LastAccessedDate", desc)  # never retrieved yet (model doc)
        self.assertIsInstance(desc["CreatedDate"], datetime.datetime)
        self.assertIsInstance(desc["LastChangedDate"], datetime.datetime)
        self.assertRecent(desc["CreatedDate"])
        self.assertGreaterEqual(as_utc(desc["LastChangedDate"]) + datetime.timedelta(seconds=1),
                                as_utc(desc["CreatedDate"]))

    def test_describe_by_arn_and_partial_arn(self):
        name, created = self.create(SecretString="x")
        for sid in (created["ARN"], partial_arn(created["ARN"])):
            with self.subTest(secret_id=sid):
                self.assertEqual(name, self.sm.describe_secret(SecretId=sid)["Name"])

    def test_last_accessed_date_is_midnight_utc_after_get(self):
        name, _ = self.create(SecretString="x")
        self.sm.get_secret_value(SecretId=name)
        desc = self.sm.describe_secret(SecretId=name)
        self.assertIn("LastAccessedDate", desc)
        accessed = as_utc(desc["LastAccessedDate"])
        self.assertEqual((0, 0, 0, 0), (accessed.hour, accessed.minute, accessed.second,
                                        accessed.microsecond), accessed.isoformat())
        today = utcnow().date()
        self.assertIn(accessed.date(), (today, today - datetime.timedelta(days=1)))

    def test_last_changed_date_tracks_metadata_changes(self):
        # Model: "The last date and time that this secret was modified in any way."
        name, _ = self.create(SecretString="x")
        steps = [
            ("UpdateSecret description",
             lambda: self.sm.update_secret(SecretId=name, Description="changed")),
            ("TagResource", lambda: self.sm.tag_resource(SecretId=name,
                                                         Tags=[{"Key": "k", "Value": "v"}])),
            ("UntagResource", lambda: self.sm.untag_resource(SecretId=name, TagKeys=["k"])),
        ]
        previous = as_utc(self.sm.describe_secret(SecretId=name)["LastChangedDate"])
        for label, action in steps:
            with self.subTest(label):
                time.sleep(1.1)
                action()
                changed = as_utc(self.sm.describe_secret(SecretId=name)["LastChangedDate"])
                self.assertGreater(changed, previous, label)
                previous = changed
        # Reading does not count as a change.
        time.sleep(1.1)
        self.sm.get_secret_value(SecretId=name)
        self.sm.describe_secret(SecretId=name)
        self.assertEqual(previous,
                         as_utc(self.sm.describe_secret(SecretId=name)["LastChangedDate"]))

    def test_missing_secret(self):
        self.assertClientError("ResourceNotFoundException", self.sm.describe_secret,
                               SecretId=self.new_name("missing"), message=NOT_FOUND_MESSAGE)

    def test_no_tags_means_no_or_empty_tags(self):
        name, _ = self.create(SecretString="x")
        self.assertFalse(self.sm.describe_secret(SecretId=name).get("Tags"))


# =============================================================================================
class ListSecretsTest(SecretsManagerTestCase):

    def list_all(self, **kwargs):
        """Drive the pagination by hand; returns (entries, pages)."""
        entries, pages, tokens = [], 0, set()
        next_token = None
        while True:
            args = dict(kwargs)
            if next_token:
                args["NextToken"] = next_token
            resp = self.sm.list_secrets(**args)
            pages += 1
            entries.extend(resp["SecretList"])
            next_token = resp.get("NextToken")
            if not next_token:
                return entries, pages
            self.assertNotIn(next_token, tokens, "NextToken repeated: pagination does not advance")
            tokens.add(next_token)
            self.assertLess(pages, 100, "runaway pagination")

    def names(self, **kwargs):
        return [e["Name"] for e in self.list_all(**kwargs)[0]]

    def test_entry_shape(self):
        tag = f"shape{letters()}"
        name, created = self.create(SecretString="x", Description="listed",
                                    Tags=[{"Key": tag, "Value": "1"}])
        entries, _ = self.list_all(Filters=[{"Key": "tag-key", "Values": [tag]}])
        self.assertEqual(1, len(entries))
        e = entries[0]
        self.assertEqual(name, e["Name"])
        self.assertEqual(created["ARN"], e["ARN"])
        self.assertEqual("listed", e["Description"])
        self.assertEqual({tag: "1"}, tags_dict(e["Tags"]))
        # ListSecrets uses SecretVersionsToStages (DescribeSecret: VersionIdsToStages).
        self.assertEqual({created["VersionId"]: ["AWSCURRENT"]}, e["SecretVersionsToStages"])
        self.assertNotIn("KmsKeyId", e)
        self.assertNotIn("DeletedDate", e)
        self.assertRecent(e["CreatedDate"])

    def test_filters(self):
        tok = letters()
        common = f"set{tok}"
        a, _ = self.create(name=f"{tok}-alpha", SecretString="a",
                           Description=f"{tok} primary database",
                           Tags=[{"Key": f"{tok}-team", "Value": "payments"},
                                 {"Key": common, "Value": "1"}])
        b, _ = self.create(name=f"zz{tok}-beta", SecretString="b",
                           Description="Secondary cache for reporting",
                           Tags=[{"Key": "team", "Value": f"{tok}-val"},
                                 {"Key": common, "Value": "1"}])
        c, _ = self.create(name=f"zz{tok}-gamma", SecretString="c", Description="other",
                           Tags=[{"Key": "owner", "Value": "nobody"},
                                 {"Key": common, "Value": "1"}])

        def run(*filters):
            return set(self.names(Filters=[{"Key": k, "Values": v} for k, v in filters]))

        cases = [
            ("name prefix", [("name", [tok])], {a}),
            ("name prefix 2", [("name", [f"zz{tok}"])], {b, c}),
            ("name exact", [("name", [f"zz{tok}-gamma"])], {c}),
            # name and description match by word (runs of letters and digits): each word of
            # the value a case-insensitive prefix of some word, in any order.
            ("name words ignore case", [("name", [tok.upper()])], {a}),
            ("name words in any order", [("name", [f"gam zz{tok}"])], {c}),
            ("name word inside a word", [("name", [tok[2:]])], set()),
            ("name without letters or digits", [("tag-key", [common]), ("name", ["-"])], set()),
            ("same key twice is AND'ed", [("name", [f"zz{tok}"]), ("name", ["beta"])], {b}),
            ("description words", [("description", ["CACHE secondary"])], {b}),
            ("name values are OR'ed", [("name", [f"{tok}-al", f"zz{tok}-b"])], {a, b}),
            ("description prefix", [("description", [tok])], {a}),
            ("description case-insensitive", [("description", [tok.upper()])], {a}),
            ("tag-key prefix", [("tag-key", [tok])], {a}),
            ("tag-key exact", [("tag-key", [f"{tok}-team"])], {a}),
            ("tag-value prefix", [("tag-value", [tok])], {b}),
            ("all", [("all", [tok])], {a, b}),
            ("keys are AND'ed", [("tag-key", [common]), ("name", [f"zz{tok}-b"])], {b}),
            ("name negation", [("tag-key", [common]), ("name", [f"!{tok}"])], {b, c}),
            ("description negation", [("tag-key", [common]), ("description", [f"!{tok}"])],
             {b, c}),
            ("tag-key only", [("tag-key", [common])], {a, b, c}),
        ]
        for label, filters, expected in cases:
            with self.subTest(label, filters=filters):
                self.assertEqual(expected, run(*filters))

    def test_sort_order_and_sort_by(self):
        tag = f"sort{letters()}"
        names = []
        for i, prefix in enumerate(("m", "z", "a")):
            name = f"{prefix}{letters(8)}"
            self.create(name=name, SecretString=str(i), Tags=[{"Key": tag, "Value": "1"}])
            names.append(name)
            if i < 2:
                time.sleep(1.1)  # distinct CreatedDate even at one-second resolution
        flt = [{"Key": "tag-key", "Values": [tag]}]
        self.assertEqual(names, self.names(Filters=flt, SortOrder="asc"))
        self.assertEqual(names[::-1], self.names(Filters=flt, SortOrder="desc"))
        self.assertEqual(names, self.names(Filters=flt, SortBy="created-date", SortOrder="asc"))
        self.assertEqual(sorted(names), self.names(Filters=flt, SortBy="name", SortOrder="asc"))
        self.assertEqual(sorted(names, reverse=True),
                         self.names(Filters=flt, SortBy="name", SortOrder="desc"))

    def test_pagination_over_25_secrets(self):
        tag = f"page{letters()}"
        expected = set()
        for i in range(25):
            name, _ = self.create(name=f"pg{i:02d}-{letters(8)}", SecretString=str(i),
                                  Tags=[{"Key": tag, "Value": "1"}])
            expected.add(name)
        flt = [{"Key": "tag-key", "Values": [tag]}]
        seen, tokens, pages = [], [], 0
        next_token = None
        while True:
            args = {"Filters": flt, "MaxResults": 10}
            if next_token:
                args["NextToken"] = next_token
            resp = self.sm.list_secrets(**args)
            pages += 1
            self.assertLessEqual(len(resp["SecretList"]), 10)
            seen.extend(e["Name"] for e in resp["SecretList"])
            next_token = resp.get("NextToken")
            if not next_token:
                break
            self.assertNotIn(next_token, tokens, "NextToken must advance")
            tokens.append(next_token)
            self.assertLess(pages, 30)
        self.assertGreaterEqual(pages, 3)
        self.assertEqual(len(seen), len(set(seen)), "a secret was listed twice")
        self.assertEqual(expected, set(seen))

        # The boto3 paginator yields the same set.
        paginated = set()
        for page in self.sm.get_paginator("list_secrets").paginate(
                Filters=flt, PaginationConfig={"PageSize": 10}):
            paginated.update(e["Name"] for e in page["SecretList"])
        self.assertEqual(expected, paginated)

    def test_include_planned_deletion(self):
        tag = f"del{letters()}"
        kept, _ = self.create(SecretString="k", Tags=[{"Key": tag, "Value": "1"}])
        gone, _ = self.create(SecretString="g", Tags=[{"Key": tag, "Value": "1"}])
        self.sm.delete_secret(SecretId=gone, RecoveryWindowInDays=7)
        flt = [{"Key": "tag-key", "Values": [tag]}]
        self.assertEqual({kept}, set(self.names(Filters=flt)))
        entries, _ = self.list_all(Filters=flt, IncludePlannedDeletion=True)
        by_name = {e["Name"]: e for e in entries}
        self.assertEqual({kept, gone}, set(by_name))
        self.assertDeletedDate(by_name[gone], 7)
        self.assertNotIn("DeletedDate", by_name[kept])

    def test_invalid_next_token(self):
        self.assertClientError("InvalidNextTokenException", self.sm.list_secrets,
                               NextToken="this-is-not-a-token-" + uuid.uuid4().hex)


# =============================================================================================
class ListSecretVersionIdsTest(SecretsManagerTestCase):

    def test_include_deprecated(self):
        v1, v2, v3 = token(), token(), token()
        name, created = self.create(SecretString="1", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="2", ClientRequestToken=v2)
        self.sm.put_secret_value(SecretId=name, SecretString="3", ClientRequestToken=v3)

        resp = self.sm.list_secret_version_ids(SecretId=name)
        self.assertEqual(created["ARN"], resp["ARN"])
        self.assertEqual(name, resp["Name"])
        self.assertNotIn("NextToken", resp)
        current = {v["VersionId"]: v for v in resp["Versions"]}
        self.assertEqual({v2, v3}, set(current))
        self.assertEqual(["AWSPREVIOUS"], current[v2]["VersionStages"])
        self.assertEqual(["AWSCURRENT"], current[v3]["VersionStages"])
        for v in resp["Versions"]:
            self.assertRecent(v["CreatedDate"])
            # AWS lists the default key as "DefaultEncryptionKey" (recorded AWS responses).
            self.assertEqual(["DefaultEncryptionKey"], v.get("KmsKeyIds"), v)

        resp = self.sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
        everything = {v["VersionId"]: v for v in resp["Versions"]}
        self.assertEqual({v1, v2, v3}, set(everything))
        # A deprecated version has no labels: AWS omits VersionStages for it.
        self.assertNotIn("VersionStages", everything[v1])
        self.assertEqual(["DefaultEncryptionKey"], everything[v1].get("KmsKeyIds"))

    def test_version_last_accessed_date_is_day_granular(self):
        v1, v2 = token(), token()
        name, _ = self.create(SecretString="1", ClientRequestToken=v1)
        self.sm.put_secret_value(SecretId=name, SecretString="2", ClientRequestToken=v2)
        versions = {v["VersionId"]: v for v in
                    self.sm.list_secret_version_ids(SecretId=name)["Versions"]}
        self.assertNotIn("LastAccessedDate", versions[v1])
        self.sm.get_secret_value(SecretId=name, VersionId=v1)
        versions = {v["VersionId"]: v for v in
                    self.sm.list_secret_version_ids(SecretId=name)["Versions"]}
        accessed = as_utc(versions[v1]["LastAccessedDate"])
        self.assertEqual((0, 0, 0), (accessed.hour, accessed.minute, accessed.second))
        today = utcnow().date()
        self.assertIn(accessed.date(), (today, today - datetime.timedelta(days=1)))
        self.assertNotIn("LastAccessedDate", versions[v2])

    def test_pagination(self):
        name, created = self.create(SecretString="0")
        expected = {created["VersionId"]}
        for i in range(4):
            expected.add(self.sm.put_secret_value(SecretId=name, SecretString=str(i + 1),
                                                  VersionStages=[f"L{i}"])["VersionId"])
        seen, tokens, next_token = [], set(), None
        while True:
            args = {"SecretId": name, "MaxResults": 2}
            if next_token:
                args["NextToken"] = next_token
            resp = self.sm.list_secret_version_ids(**args)
            self.assertLessEqual(len(resp["Versions"]), 2)
            seen.extend(v["VersionId"] for v in resp["Versions"])
            next_token = resp.get("NextToken")
            if not next_token:
                break
            self.assertNotIn(next_token, tokens)
            tokens.add(next_token)
            self.assertLess(len(tokens), 20)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(expected, set(seen))

    def test_missing_secret(self):
        self.assertClientError("ResourceNotFoundException", self.sm.list_secret_version_ids,
                               SecretId=self.new_name("missing"), message=NOT_FOUND_MESSAGE)


# =============================================================================================
class DeleteAndRestoreSecretTest(SecretsManagerTestCase):

    def test_recovery_window_range(self):
        name, _ = self.create(SecretString="x")
        for days in (0, 6, 31, 365):
            with self.subTest(days=days):
                self.assertClientError(
                    "InvalidParameterException", self.sm.delete_secret, SecretId=name,
                    RecoveryWindowInDays=days,
                    message="The RecoveryWindowInDays value must be between 7 and 30 days "
                            "(inclusive).")
        self.assertNotIn("DeletedDate", self.sm.describe_secret(SecretId=name))

    def test_window_and_force_together(self):
        name, _ = self.create(SecretString="x")
        self.assertClientError(
            "InvalidParameterException", self.sm.delete_secret, SecretId=name,
            RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True,
            message="You can't use ForceDeleteWithoutRecovery in conjunction with "
                    "RecoveryWindowInDays.")
        self.assertEqual("x", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_deletion_dates(self):
        for days in (7, 30, None):
            with self.subTest(days=days):
                name, created = self.create(SecretString="x")
                kwargs = {"RecoveryWindowInDays": days} if days else {}
                resp = self.sm.delete_secret(SecretId=name, **kwargs)
                self.assertEqual(name, resp["Name"])
                self.assertEqual(created["ARN"], resp["ARN"])
                expected = utcnow() + datetime.timedelta(days=days or 30)
                self.assertLess(abs((as_utc(resp["DeletionDate"]) - expected).total_seconds()), 120)
                desc = self.sm.describe_secret(SecretId=name)
                self.assertDeletedDate(desc, days or 30)

    def test_operations_on_deleted_secret(self):
        v1 = token()
        name, created = self.create(SecretString="x", ClientRequestToken=v1)
        self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        self.assertClientError(
            "InvalidRequestException", self.sm.get_secret_value, SecretId=name,
            message="You tried to perform the operation on a secret that's currently marked "
                    "deleted.")
        self.assertClientError(
            "InvalidRequestException", self.sm.put_secret_value, SecretId=name,
            SecretString="y",
            message="You can't perform this operation on the secret because it was marked for "
                    "deletion.")
        self.assertClientError(
            "InvalidRequestException", self.sm.update_secret, SecretId=name, Description="d",
            message="You can't perform this operation on the secret because it was marked for "
                    "deletion.")
        self.assertClientError("InvalidRequestException", self.sm.update_secret_version_stage,
                               SecretId=name, VersionStage="blue", MoveToVersionId=v1)
        self.assertClientError(
            "InvalidRequestException", self.sm.delete_secret, SecretId=name,
            message="You tried to perform the operation on a secret that's currently marked "
                    "deleted.")
        # Re-creating a name that is scheduled for deletion is refused (SM-8).
        self.assertClientError("InvalidRequestException", self.sm.create_secret, Name=name,
                               SecretString="z")
        # DescribeSecret still works and shows DeletedDate.
        desc = self.sm.describe_secret(SecretId=name)
        self.assertEqual(created["ARN"], desc["ARN"])
        self.assertIn("DeletedDate", desc)

    def test_restore(self):
        name, created = self.create(SecretString="keep me")
        self.sm.delete_secret(SecretId=name)
        resp = self.sm.restore_secret(SecretId=name)
        self.assertEqual(name, resp["Name"])
        self.assertEqual(created["ARN"], resp["ARN"])
        desc = self.sm.describe_secret(SecretId=name)
        self.assertNotIn("DeletedDate", desc)
        self.assertEqual("keep me", self.sm.get_secret_value(SecretId=name)["SecretString"])
        self.sm.put_secret_value(SecretId=name, SecretString="after restore")
        self.assertEqual("after restore", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_restore_by_arn(self):
        name, created = self.create(SecretString="v")
        self.sm.delete_secret(SecretId=created["ARN"], RecoveryWindowInDays=7)
        self.sm.restore_secret(SecretId=created["ARN"])
        self.assertEqual("v", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_force_delete_makes_name_reusable_with_new_suffix(self):
        name, first = self.create(SecretString="first life")
        resp = self.sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        self.assertEqual(first["ARN"], resp["ARN"])
        self.assertRecent(resp["DeletionDate"])
        # "there might be a short delay before the secret is permanently deleted" (model doc).
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sm.describe_secret(SecretId=name)
            except ClientError as e:
                self.assertEqual("ResourceNotFoundException", error_code(e))
                break
            self.assertLess(time.monotonic(), deadline, "force-deleted secret still exists")
            time.sleep(0.2)
        second = self.sm.create_secret(Name=name, SecretString="second life")
        self.assertRegex(second["ARN"], arn_pattern(name))
        self.assertNotEqual(first["ARN"], second["ARN"])
        self.assertEqual("second life", self.sm.get_secret_value(SecretId=name)["SecretString"])
        self.assertClientError("ResourceNotFoundException", self.sm.get_secret_value,
                               SecretId=first["ARN"])

    def test_create_over_scheduled_name_message(self):
        name, _ = self.create(SecretString="x")
        self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        self.assertClientError(
            "InvalidRequestException", self.sm.create_secret, Name=name, SecretString="y",
            message="You can't create this secret because a secret with this name is already "
                    "scheduled for deletion.")

    def test_force_delete_of_secret_already_scheduled_for_deletion(self):
        # The usual way out of "already scheduled for deletion": force-delete it, then re-create.
        name, first = self.create(SecretString="x")
        self.sm.delete_secret(SecretId=name, RecoveryWindowInDays=30)
        resp = self.sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        self.assertEqual(name, resp["Name"])
        deadline = time.monotonic() + 10
        while True:
            try:
                second = self.sm.create_secret(Name=name, SecretString="again")
                break
            except ClientError as e:
                self.assertEqual("InvalidRequestException", error_code(e), e.response)
                self.assertLess(time.monotonic(), deadline, "name never became reusable")
                time.sleep(0.2)
        self.assertNotEqual(first["ARN"], second["ARN"])
        self.assertEqual("again", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_delete_missing(self):
        self.assertClientError("ResourceNotFoundException", self.sm.delete_secret,
                               SecretId=self.new_name("missing"), message=NOT_FOUND_MESSAGE)

    def test_force_delete_of_missing_is_not_resource_not_found(self):
        # Model doc: "If you forcibly delete an already deleted or nonexistent secret, the
        # operation does not return ResourceNotFoundException."
        try:
            self.sm.delete_secret(SecretId=self.new_name("missing"),
                                  ForceDeleteWithoutRecovery=True)
        except ClientError as e:
            self.assertNotEqual("ResourceNotFoundException", error_code(e), e.response)
            self.assertEqual(400, http_status(e), e.response)

    def test_restore_missing(self):
        self.assertClientError("ResourceNotFoundException", self.sm.restore_secret,
                               SecretId=self.new_name("missing"), message=NOT_FOUND_MESSAGE)


# =============================================================================================
class RecordedAwsBehaviourTest(SecretsManagerTestCase):
    """Behaviours recorded against AWS that coffer once answered differently."""

    INVALID_NAME = ("Invalid name. Must be a valid name containing alphanumeric characters, or "
                    "any of the following: -/_+=.@!")

    def test_recovery_window_is_checked_first_and_before_the_lookup(self):
        missing = self.new_name("missing")
        # The range before the conflict with ForceDeleteWithoutRecovery...
        self.assertClientError(
            "InvalidParameterException", self.sm.delete_secret, SecretId=missing,
            RecoveryWindowInDays=3, ForceDeleteWithoutRecovery=True,
            message="The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
        # ...and both before the secret is looked up.
        self.assertClientError(
            "InvalidParameterException", self.sm.delete_secret, SecretId=missing,
            RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True,
            message="You can't use ForceDeleteWithoutRecovery in conjunction with "
                    "RecoveryWindowInDays.")

    def test_force_delete_of_a_missing_secret_answers_name_arn_and_date(self):
        missing = self.new_name("missing")
        resp = self.sm.delete_secret(SecretId=missing, ForceDeleteWithoutRecovery=True)
        self.assertEqual(missing, resp["Name"])
        self.assertRegex(resp["ARN"], rf"^arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:"
                                      rf"secret:{re.escape(missing)}-[A-Za-z0-9]{{6}}$")
        self.assertRecent(resp["DeletionDate"])

    def test_reads_of_an_invalid_name_are_validation_errors(self):
        for op, kwargs in ((self.sm.describe_secret, {}), (self.sm.get_secret_value, {}),
                           (self.sm.list_secret_version_ids, {}),
                           (self.sm.get_resource_policy, {})):
            with self.subTest(op.__name__):
                self.assertClientError("ValidationException", op, SecretId="no spaces allowed",
                                       message=self.INVALID_NAME, **kwargs)
        # A valid name that names nothing is still not found.
        self.assertClientError("ResourceNotFoundException", self.sm.describe_secret,
                               SecretId=self.new_name("missing"))

    def test_tags_member_stays_once_a_secret_was_tagged(self):
        never, _ = self.create(SecretString="x")
        self.assertNotIn("Tags", self.sm.describe_secret(SecretId=never))
        tagged, _ = self.create(SecretString="x")
        self.sm.tag_resource(SecretId=tagged, Tags=[{"Key": "k", "Value": "v"}])
        self.sm.untag_resource(SecretId=tagged, TagKeys=["k"])
        self.assertEqual([], self.sm.describe_secret(SecretId=tagged)["Tags"])
        created_with_tags, _ = self.create(SecretString="x", Tags=[{"Key": "k", "Value": "v"}])
        self.sm.untag_resource(SecretId=created_with_tags, TagKeys=["k"])
        self.assertEqual([], self.sm.describe_secret(SecretId=created_with_tags)["Tags"])

    def test_a_new_current_takes_pending_off_the_promoted_version(self):
        name, first = self.create(SecretString="v1")
        v1 = first["VersionId"]
        v2 = self.sm.put_secret_value(SecretId=name, SecretString="v2",
                                      VersionStages=["AWSPENDING"])["VersionId"]
        self.sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT",
                                            MoveToVersionId=v2, RemoveFromVersionId=v1)
        self.assertEqual(["AWSCURRENT", "AWSPENDING"], sorted(self.stages(name)[v2]))
        v3 = self.sm.put_secret_value(SecretId=name, SecretString="v3")["VersionId"]
        stages = self.stages(name)
        self.assertEqual(["AWSCURRENT"], stages[v3])
        self.assertEqual(["AWSPREVIOUS"], stages[v2])
        self.assertNotIn(v1, stages)

    def test_pages_follow_every_order_and_a_token_is_bound_to_its_order(self):
        tag = f"page{letters()}"
        names = []
        for i in range(7):
            name = f"{random.choice('amz')}{letters(8)}"
            self.create(name=name, SecretString=str(i), Tags=[{"Key": tag, "Value": "1"}])
            names.append(name)
        flt = [{"Key": "tag-key", "Values": [tag]}]
        for sort_by in ("name", "created-date", "last-changed-date", "last-accessed-date"):
            for order in ("asc", "desc"):
                with self.subTest(sort_by=sort_by, order=order):
                    whole = self.sm.list_secrets(Filters=flt, SortBy=sort_by, SortOrder=order)
                    self.assertNotIn("NextToken", whole)
                    expected = [e["Name"] for e in whole["SecretList"]]
                    self.assertEqual(sorted(names), sorted(expected))
                    if sort_by == "name":
                        self.assertEqual(sorted(names, reverse=order == "desc"), expected)
                    paged = []
                    token = None
                    while True:
                        args = dict(Filters=flt, SortBy=sort_by, SortOrder=order, MaxResults=2)
                        if token:
                            args["NextToken"] = token
                        resp = self.sm.list_secrets(**args)
                        paged += [e["Name"] for e in resp["SecretList"]]
                        token = resp.get("NextToken")
                        if not token:
                            break
                    self.assertEqual(expected, paged)
        first = self.sm.list_secrets(Filters=flt, SortBy="name", MaxResults=2)
        self.assertClientError("InvalidNextTokenException", self.sm.list_secrets, Filters=flt,
                               SortBy="created-date", MaxResults=2, NextToken=first["NextToken"])


# =============================================================================================
class TagsTest(SecretsManagerTestCase):

    def test_tag_merge_overwrite_and_untag(self):
        name, _ = self.create(SecretString="x", Tags=[{"Key": "a", "Value": "1"},
                                                      {"Key": "b", "Value": "2"}])
        resp = self.sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "20"},
                                                         {"Key": "c", "Value": "3"}])
        self.assertEqual({"ResponseMetadata"}, set(resp))
        self.assertEqual({"a": "1", "b": "20", "c": "3"},
                         tags_dict(self.sm.describe_secret(SecretId=name)["Tags"]))
        resp = self.sm.untag_resource(SecretId=name, TagKeys=["a", "does-not-exist"])
        self.assertEqual({"ResponseMetadata"}, set(resp))
        self.assertEqual({"b": "20", "c": "3"},
                         tags_dict(self.sm.describe_secret(SecretId=name)["Tags"]))
        self.sm.untag_resource(SecretId=name, TagKeys=["b", "c"])
        self.assertFalse(self.sm.describe_secret(SecretId=name).get("Tags"))

    def test_tag_keys_are_case_sensitive_and_empty_value_allowed(self):
        name, _ = self.create(SecretString="x")
        self.sm.tag_resource(SecretId=name, Tags=[{"Key": "Env", "Value": "prod"},
                                                  {"Key": "env", "Value": ""}])
        self.assertEqual({"Env": "prod", "env": ""},
                         tags_dict(self.sm.describe_secret(SecretId=name)["Tags"]))

    def test_tag_by_arn(self):
        name, created = self.create(SecretString="x")
        self.sm.tag_resource(SecretId=created["ARN"], Tags=[{"Key": "k", "Value": "v"}])
        self.sm.tag_resource(SecretId=partial_arn(created["ARN"]),
                             Tags=[{"Key": "k2", "Value": "v2"}])
        self.assertEqual({"k": "v", "k2": "v2"},
                         tags_dict(self.sm.describe_secret(SecretId=name)["Tags"]))

    def test_aws_prefix_is_reserved(self):
        name, _ = self.create(SecretString="x", Tags=[{"Key": "keep", "Value": "1"}])
        exc = self.assertClientError(None, self.sm.tag_resource, SecretId=name,
                                     Tags=[{"Key": "aws:owner", "Value": "me"}],
                                     codes=("InvalidParameterException", "ValidationException"))
        self.assertEqual(400, http_status(exc))
        self.assertEqual({"keep": "1"}, tags_dict(self.sm.describe_secret(SecretId=name)["Tags"]))

    def test_missing_secret(self):
        self.assertClientError("ResourceNotFoundException", self.sm.tag_resource,
                               SecretId=self.new_name("missing"),
                               Tags=[{"Key": "k", "Value": "v"}], message=NOT_FOUND_MESSAGE)
        self.assertClientError("ResourceNotFoundException", self.sm.untag_resource,
                               SecretId=self.new_name("missing"), TagKeys=["k"],
                               message=NOT_FOUND_MESSAGE)


# =============================================================================================
class GetRandomPasswordTest(SecretsManagerTestCase):

    def password(self, **kwargs):
        resp = self.sm.get_random_password(**kwargs)
        self.assertEqual({"RandomPassword", "ResponseMetadata"}, set(resp))
        return resp["RandomPassword"]

    def test_default(self):
        seen = set()
        for _ in range(5):
            pw = self.password()
            self.assertEqual(32, len(pw))
            self.assertNotIn(" ", pw)
            self.assertTrue(set(pw) <= DEFAULT_PASSWORD_CHARS, pw)
            # Default: at least one character of every type (model doc).
            self.assertTrue(any(c.islower() for c in pw), pw)
            self.assertTrue(any(c.isupper() for c in pw), pw)
            self.assertTrue(any(c.isdigit() for c in pw), pw)
            self.assertTrue(any(c in PUNCTUATION for c in pw), pw)
            seen.add(pw)
        self.assertEqual(5, len(seen), "passwords repeat: not random")

    def test_length(self):
        for n in (4, 100, 4096):
            with self.subTest(length=n):
                self.assertEqual(n, len(self.password(PasswordLength=n)))

    def test_exclude_characters(self):
        excluded = "abcdefgABCDEFG0123456!@#$%"
        pw = self.password(PasswordLength=500, ExcludeCharacters=excluded)
        self.assertEqual(500, len(pw))
        self.assertFalse(set(pw) & set(excluded), pw)

    def test_exclude_classes(self):
        checks = {
            "ExcludeNumbers": lambda c: c.isdigit(),
            "ExcludePunctuation": lambda c: c in PUNCTUATION,
            "ExcludeUppercase": lambda c: c.isupper(),
            "ExcludeLowercase": lambda c: c.islower(),
        }
        for flag, bad in checks.items():
            with self.subTest(flag=flag):
                pw = self.password(PasswordLength=300, **{flag: True})
                self.assertEqual(300, len(pw))
                self.assertFalse([c for c in pw if bad(c)], pw)
                self.assertTrue(set(pw) <= DEFAULT_PASSWORD_CHARS)
        pw = self.password(PasswordLength=300, ExcludePunctuation=True, ExcludeNumbers=True,
                           ExcludeUppercase=True)
        self.assertTrue(set(pw) <= set(string.ascii_lowercase), pw)

    def test_include_space(self):
        pw = self.password(PasswordLength=4096, IncludeSpace=True)
        self.assertIn(" ", pw)
        self.assertNotIn(" ", self.password(PasswordLength=4096, IncludeSpace=False))

    def test_require_each_included_type(self):
        for _ in range(20):
            pw = self.password(PasswordLength=4, RequireEachIncludedType=True)
            self.assertEqual(4, len(pw))
            self.assertEqual(1, sum(c.islower() for c in pw), pw)
            self.assertEqual(1, sum(c.isupper() for c in pw), pw)
            self.assertEqual(1, sum(c.isdigit() for c in pw), pw)
            self.assertEqual(1, sum(c in PUNCTUATION for c in pw), pw)
        for _ in range(10):
            pw = self.password(PasswordLength=2, RequireEachIncludedType=True,
                               ExcludePunctuation=True, ExcludeUppercase=True)
            self.assertEqual(1, sum(c.islower() for c in pw), pw)
            self.assertEqual(1, sum(c.isdigit() for c in pw), pw)

    def test_too_short_for_required_types(self):
        self.assertClientError("InvalidParameterException", self.sm.get_random_password,
                               PasswordLength=3, RequireEachIncludedType=True)

    def test_everything_excluded(self):
        self.assertClientError("InvalidParameterException", self.sm.get_random_password,
                               ExcludeNumbers=True, ExcludePunctuation=True,
                               ExcludeUppercase=True, ExcludeLowercase=True)

    def test_length_above_4096(self):
        self.assertClientError("ValidationException", self.sm_raw.get_random_password,
                               PasswordLength=4097)


# =============================================================================================
def _client_has(operation):
    client = boto3.session.Session().client("secretsmanager", region_name="us-east-1",
                                            aws_access_key_id="x", aws_secret_access_key="x")
    return hasattr(client, operation)


class BatchGetSecretValueTest(SecretsManagerTestCase):

    def test_the_installed_botocore_knows_the_operation(self):
        # The suite's botocore must be one that has BatchGetSecretValue (Debian's 1.29 lacks it):
        # a missing operation fails here instead of skipping the class.
        self.assertTrue(_client_has("batch_get_secret_value"),
                        "this botocore has no BatchGetSecretValue")

    def test_by_id_list_with_errors(self):
        n1, c1 = self.create(SecretString="one")
        n2, c2 = self.create(SecretBinary=b"\x02two")
        missing = self.new_name("missing")
        resp = self.sm.batch_get_secret_value(SecretIdList=[n1, c2["ARN"], missing])
        values = {v["Name"]: v for v in resp["SecretValues"]}
        self.assertEqual({n1, n2}, set(values))
        self.assertEqual("one", values[n1]["SecretString"])
        self.assertEqual(c1["ARN"], values[n1]["ARN"])
        self.assertEqual(c1["VersionId"], values[n1]["VersionId"])
        self.assertEqual(["AWSCURRENT"], values[n1]["VersionStages"])
        self.assertRecent(values[n1]["CreatedDate"])
        self.assertEqual(b"\x02two", values[n2]["SecretBinary"])
        self.assertEqual(1, len(resp["Errors"]))
        err = resp["Errors"][0]
        self.assertEqual(missing, err["SecretId"])
        self.assertEqual("ResourceNotFoundException", err["ErrorCode"])

    def test_by_filters_with_pagination(self):
        tag = f"batch{letters()}"
        expected = {}
        for i in range(3):
            name, _ = self.create(SecretString=f"value-{i}", Tags=[{"Key": tag, "Value": "1"}])
            expected[name] = f"value-{i}"
        flt = [{"Key": "tag-key", "Values": [tag]}]
        resp = self.sm.batch_get_secret_value(Filters=flt)
        self.assertEqual(expected, {v["Name"]: v["SecretString"] for v in resp["SecretValues"]})
        self.assertFalse(resp.get("Errors"))

        got, tokens, next_token = {}, set(), None
        while True:
            args = {"Filters": flt, "MaxResults": 2}
            if next_token:
                args["NextToken"] = next_token
            page = self.sm.batch_get_secret_value(**args)
            self.assertLessEqual(len(page["SecretValues"]), 2)
            for v in page["SecretValues"]:
                self.assertNotIn(v["Name"], got)
                got[v["Name"]] = v["SecretString"]
            next_token = page.get("NextToken")
            if not next_token:
                break
            self.assertNotIn(next_token, tokens)
            tokens.add(next_token)
            self.assertLess(len(tokens), 10)
        self.assertEqual(expected, got)

    def test_both_or_neither(self):
        name, _ = self.create(SecretString="x")
        msg = "Either 'SecretIdList' or 'Filters' must be provided, but not both."
        self.assertClientError("InvalidParameterException", self.sm.batch_get_secret_value,
                               SecretIdList=[name],
                               Filters=[{"Key": "name", "Values": [name]}], message=msg)
        self.assertClientError("InvalidParameterException", self.sm.batch_get_secret_value,
                               message=msg)

    def test_max_results_requires_filters(self):
        name, _ = self.create(SecretString="x")
        self.assertClientError("InvalidParameterException", self.sm.batch_get_secret_value,
                               SecretIdList=[name], MaxResults=5)


# =============================================================================================
class NotYetImplementedOperationsTest(SecretsManagerTestCase):
    """Rotation, resource policies and replication: whatever coffer answers today, it must be a
    clear client error (4xx with a code) or a well-formed success -- never a 5xx or a hang."""

    def call(self, fn, **kwargs):
        try:
            return fn(**kwargs), None
        except ClientError as e:
            status = http_status(e)
            self.assertTrue(400 <= status < 500, f"{fn.__name__}: HTTP {status} {e.response}")
            self.assertTrue(error_code(e), e.response)
            return None, e

    def test_rotate_secret_without_lambda_is_a_client_error(self):
        name, _ = self.create(SecretString="x")
        resp, err = self.call(self.sm.rotate_secret, SecretId=name)
        # Without a rotation function AWS answers InvalidRequestException (SM-40), so success
        # is wrong either way.
        self.assertIsNone(resp, resp)
        self.assertIsNotNone(err)
        self.assertEqual("x", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_rotate_missing_secret_is_a_client_error(self):
        resp, err = self.call(self.sm.rotate_secret, SecretId=self.new_name("missing"),
                              RotationLambdaARN="arn:aws:lambda:us-east-1:123456789012:function:f")
        self.assertIsNone(resp)

    def test_cancel_rotate_secret(self):
        name, _ = self.create(SecretString="x")
        resp, err = self.call(self.sm.cancel_rotate_secret, SecretId=name)
        if resp is not None:
            self.assertEqual(name, resp["Name"])

    def test_resource_policy_operations(self):
        name, created = self.create(SecretString="x")
        policy = json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                           "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
        put, _ = self.call(self.sm.put_resource_policy, SecretId=name, ResourcePolicy=policy)
        if put is not None:
            self.assertEqual(name, put["Name"])
            got, _ = self.call(self.sm.get_resource_policy, SecretId=name)
            if got is not None:
                self.assertEqual(json.loads(policy), json.loads(got["ResourcePolicy"]))
        self.call(self.sm.validate_resource_policy, ResourcePolicy=policy)
        self.call(self.sm.delete_resource_policy, SecretId=name)
        got, _ = self.call(self.sm.get_resource_policy, SecretId=name)
        if got is not None and put is not None:
            self.assertNotIn("ResourcePolicy", got)
        self.assertEqual("x", self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_resource_policy_on_missing_secret(self):
        resp, err = self.call(self.sm.put_resource_policy, SecretId=self.new_name("missing"),
                              ResourcePolicy='{"Version":"2012-10-17","Statement":[]}')
        self.assertIsNone(resp)

    def test_replication_operations(self):
        name, _ = self.create(SecretString="x")
        self.call(self.sm.replicate_secret_to_regions, SecretId=name,
                  AddReplicaRegions=[{"Region": "eu-west-1"}])
        self.call(self.sm.remove_regions_from_replication, SecretId=name,
                  RemoveReplicaRegions=["eu-west-1"])
        self.call(self.sm.stop_replication_to_replica, SecretId=name)
        self.assertEqual("x", self.sm.get_secret_value(SecretId=name)["SecretString"])


# =============================================================================================
class MissingSecretAcrossOperationsTest(SecretsManagerTestCase):

    def test_every_operation_reports_resource_not_found(self):
        missing = self.new_name("missing")
        calls = {
            "DescribeSecret": (self.sm.describe_secret, {}),
            "GetSecretValue": (self.sm.get_secret_value, {}),
            "PutSecretValue": (self.sm.put_secret_value, {"SecretString": "x"}),
            "UpdateSecret": (self.sm.update_secret, {"Description": "x"}),
            "UpdateSecretVersionStage": (self.sm.update_secret_version_stage,
                                         {"VersionStage": "x", "MoveToVersionId": token()}),
            "DeleteSecret": (self.sm.delete_secret, {}),
            "RestoreSecret": (self.sm.restore_secret, {}),
            "ListSecretVersionIds": (self.sm.list_secret_version_ids, {}),
            "TagResource": (self.sm.tag_resource, {"Tags": [{"Key": "k", "Value": "v"}]}),
            "UntagResource": (self.sm.untag_resource, {"TagKeys": ["k"]}),
        }
        for op, (fn, extra) in calls.items():
            with self.subTest(op=op):
                self.assertClientError("ResourceNotFoundException", fn, SecretId=missing,
                                       message=NOT_FOUND_MESSAGE, **extra)


# =============================================================================================
class ConcurrencyTest(SecretsManagerTestCase):
    """Concurrent writers: no 5xx (e.g. a leaked 'database is locked'), label invariants hold."""

    def run_threads(self, target, count):
        errors = []

        def wrapped(i):
            try:
                target(i)
            except Exception as e:  # noqa: BLE001 - collected and asserted below
                errors.append(repr(getattr(e, "response", e)))

        threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual([], errors)

    def test_concurrent_puts_on_one_secret(self):
        name, created = self.create(SecretString="start")
        written = {}
        lock = threading.Lock()

        def writer(i):
            client = self.server.client("secretsmanager")
            for j in range(8):
                value = f"w{i}-{j}"
                resp = client.put_secret_value(SecretId=name, SecretString=value)
                with lock:
                    written[resp["VersionId"]] = value

        self.run_threads(writer, 6)
        self.assertEqual(48, len(written))
        stages = self.stages(name)
        current = [v for v, labels in stages.items() if "AWSCURRENT" in labels]
        previous = [v for v, labels in stages.items() if "AWSPREVIOUS" in labels]
        self.assertEqual(1, len(current), stages)
        self.assertEqual(1, len(previous), stages)
        self.assertNotEqual(current, previous)
        got = self.sm.get_secret_value(SecretId=name)
        self.assertEqual(written[current[0]], got["SecretString"])
        all_versions = self.sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
        self.assertEqual(set(written) | {created["VersionId"]},
                         {v["VersionId"] for v in all_versions["Versions"]})

    def test_concurrent_creates_and_idempotent_retries(self):
        prefix = f"cc{letters()}"
        tok = token()
        results = {}
        lock = threading.Lock()

        def creator(i):
            client = self.server.client("secretsmanager")
            for j in range(5):
                client.create_secret(Name=f"{prefix}-{i}-{j}", SecretString=f"v{i}{j}")
            # Every thread retries the same idempotent create.
            resp = client.create_secret(Name=f"{prefix}-shared", SecretString="shared",
                                        ClientRequestToken=tok)
            with lock:
                results[i] = (resp["ARN"], resp["VersionId"])

        self.run_threads(creator, 6)
        self.assertEqual(1, len(set(results.values())), results)
        self.assertEqual(tok, next(iter(results.values()))[1])
        names = set()
        for page in self.sm.get_paginator("list_secrets").paginate(
                Filters=[{"Key": "name", "Values": [prefix]}]):
            names.update(e["Name"] for e in page["SecretList"])
        self.assertEqual(31, len(names))


# =============================================================================================
class ValueSizeLimitTest(SecretsManagerTestCase):

    def test_string_at_limit_accepted(self):
        value = ("0123456789abcdef" * 4096)[:65536]
        name, _ = self.create(SecretString=value)
        self.assertEqual(value, self.sm.get_secret_value(SecretId=name)["SecretString"])
        bigger = value[:-1] + "Z"
        self.sm.put_secret_value(SecretId=name, SecretString=bigger)
        self.assertEqual(bigger, self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_binary_at_limit_accepted(self):
        value = bytes(random.getrandbits(8) for _ in range(65536))
        name, _ = self.create(SecretBinary=value)
        self.assertEqual(value, self.sm.get_secret_value(SecretId=name)["SecretBinary"])

    def test_over_limit_rejected(self):
        codes = ("InvalidParameterException", "ValidationException")
        name = self.new_name()
        self.assertClientError(None, self.sm_raw.create_secret, Name=name,
                               SecretString="x" * 65537, codes=codes)
        self.assertClientError("ResourceNotFoundException", self.sm.describe_secret,
                               SecretId=name)
        self.assertClientError(None, self.sm_raw.create_secret, Name=name,
                               SecretBinary=b"\x01" * 65537, codes=codes)
        existing, _ = self.create(SecretString="small")
        self.assertClientError(None, self.sm_raw.put_secret_value, SecretId=existing,
                               SecretString="y" * 65537, codes=codes)
        self.assertClientError(None, self.sm_raw.update_secret, SecretId=existing,
                               SecretBinary=b"\x02" * 65537, codes=codes)
        self.assertEqual("small", self.sm.get_secret_value(SecretId=existing)["SecretString"])
        self.assertEqual(1, len(self.stages(existing)))

    def test_empty_string_value_rejected(self):
        # SecretStringType has min length 1.
        exc = self.assertClientError(None, self.sm_raw.create_secret, Name=self.new_name(),
                                     SecretString="",
                                     codes=("InvalidParameterException", "ValidationException"))
        self.assertEqual(400, http_status(exc))


# =============================================================================================
class NoValueInErrorsTest(SecretsManagerTestCase):
    """A secret value sent in a failing request never comes back in the error response."""

    def test_error_responses_do_not_echo_values(self):
        marker = f"ERRLEAK{uuid.uuid4().hex}"
        existing, _ = self.create(SecretString="x")
        failing = [
            ("duplicate name", self.sm.create_secret,
             {"Name": existing, "SecretString": marker}),
            ("both values", self.sm.create_secret,
             {"Name": self.new_name(), "SecretString": marker, "SecretBinary": marker.encode()}),
            ("invalid name", self.sm.create_secret,
             {"Name": "bad name " + uuid.uuid4().hex[:6], "SecretString": marker}),
            ("missing secret", self.sm.put_secret_value,
             {"SecretId": self.new_name("missing"), "SecretString": marker}),
            ("oversized", self.sm_raw.put_secret_value,
             {"SecretId": existing, "SecretString": marker * (65536 // len(marker) + 1)}),
            ("token reuse", self.sm.put_secret_value,
             {"SecretId": existing, "SecretString": marker,
              "ClientRequestToken": self.sm.describe_secret(SecretId=existing)[
                  "VersionIdsToStages"].popitem()[0]}),
        ]
        for label, fn, kwargs in failing:
            with self.subTest(label):
                with self.assertRaises(ClientError) as ctx:
                    fn(**kwargs)
                self.assertEqual(400, http_status(ctx.exception), ctx.exception.response)
                self.assertNotIn(marker, json.dumps(ctx.exception.response, default=str))


# =============================================================================================
class RegionIsolationTest(SecretsManagerTestCase):

    def test_secret_is_scoped_to_its_region(self):
        eu = self.server.client("secretsmanager", region="eu-west-1")
        name, created = self.create(SecretString="us value")
        self.assertRegex(created["ARN"], arn_pattern(name, "us-east-1"))
        self.assertIn(":us-east-1:", created["ARN"])
        for sid in (name, created["ARN"]):
            with self.subTest(secret_id=sid):
                with self.assertRaises(ClientError) as ctx:
                    eu.get_secret_value(SecretId=sid)
                self.assertEqual("ResourceNotFoundException", error_code(ctx.exception))
        # The same name can exist independently in eu-west-1, with its own ARN and value.
        eu_created = eu.create_secret(Name=name, SecretString="eu value")
        self.assertRegex(eu_created["ARN"], arn_pattern(name, "eu-west-1"))
        self.assertEqual("eu value", eu.get_secret_value(SecretId=name)["SecretString"])
        self.assertEqual("us value", self.sm.get_secret_value(SecretId=name)["SecretString"])
        eu_names = {e["Name"] for e in eu.list_secrets(
            Filters=[{"Key": "name", "Values": [name]}])["SecretList"]}
        self.assertEqual({name}, eu_names)
        eu_arns = {e["ARN"] for e in eu.list_secrets(
            Filters=[{"Key": "name", "Values": [name]}])["SecretList"]}
        self.assertEqual({eu_created["ARN"]}, eu_arns)
        eu.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        self.assertEqual("us value", self.sm.get_secret_value(SecretId=name)["SecretString"])


if __name__ == "__main__":
    unittest.main()
