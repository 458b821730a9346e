"""End-to-end tests of SSM SecureString parameters and of /aws/reference/secretsmanager/...
references, driven by boto3.

Expected behaviour: /work/shared/reference/aws-behaviour.md rules SSM-11 (KeyId / SecureString)
and SSM-21 (Secrets Manager references), the botocore SSM model, and the AWS user guide page
"Referencing AWS Secrets Manager secrets from Parameter Store parameters" (its example output:
Name is the reference without selector, Type SecureString, ARN the secret's ARN, SourceResult a
string holding the GetSecretValue JSON, Selector ":<stage or version id>").
"""

import json
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import ACCOUNT_ID, error_code
from ssm_support import (DEFAULT_SSM_KEY, SM_REFERENCE_NEEDS_DECRYPTION, SSMTestCase, param_arn,
                         uid)

SM_REF = "/aws/reference/secretsmanager/"


def marker(kind="secure"):
    return f"COFFER-SSM-{kind}-{uuid.uuid4().hex}"


# =============================================================================================
class SecureStringTest(SSMTestCase):

    def test_value_is_ciphertext_without_decryption(self):
        name = self.new_name()
        secret = marker()
        resp = self.put(name, secret, "SecureString", Description="db password")
        self.assertEqual((1, "Standard"), (resp["Version"], resp["Tier"]))

        p = self.get(name)
        self.assertEqual(("SecureString", 1, name), (p["Type"], p["Version"], p["Name"]))
        self.assertEqual(param_arn(name), p["ARN"])
        self.assertCiphertext(p["Value"], secret)
        self.assertEqual(secret, self.get(name, decrypt=True)["Value"])

        # On the wire, too: the plaintext is nowhere in the response body.
        raw = self.ssm_request("GetParameter", {"Name": name})
        self.assertEqual(200, raw.status, raw)
        self.assertNotIn(secret.encode(), raw.body)
        raw = self.ssm_request("GetParameter", {"Name": name, "WithDecryption": False})
        self.assertNotIn(secret.encode(), raw.body)
        raw = self.ssm_request("GetParameter", {"Name": name, "WithDecryption": True})
        self.assertEqual(secret, raw.json()["Parameter"]["Value"])

    def test_history_values(self):
        name = self.new_name()
        secrets = [marker(f"v{i}") for i in range(1, 4)]
        for s in secrets:
            self.put(name, s, "SecureString", Overwrite=True)
        hist = self.history(name)
        self.assertEqual([1, 2, 3], [h["Version"] for h in hist])
        for h, s in zip(hist, secrets):
            self.assertEqual("SecureString", h["Type"])
            self.assertEqual(DEFAULT_SSM_KEY, h["KeyId"])
            self.assertCiphertext(h["Value"], s)
        self.assertEqual(secrets, [h["Value"] for h in self.history(name, decrypt=True)])
        self.assertEqual(secrets[0], self.get(f"{name}:1", decrypt=True)["Value"])
        self.assertCiphertext(self.get(f"{name}:1")["Value"], secrets[0])

    def test_describe_shows_default_key_only_for_secure_string(self):
        root = self.new_path()
        self.put(f"{root}/secure", marker(), "SecureString")
        self.put(f"{root}/plain", "plain")
        self.assertEqual(DEFAULT_SSM_KEY, self.describe_one(f"{root}/secure")["KeyId"])
        self.assertNotIn("KeyId", self.describe_one(f"{root}/plain"))

    def test_overwrite_keeps_type_and_key(self):
        name = self.new_name()
        self.put(name, marker("first"), "SecureString")
        second = marker("second")
        self.put(name, second, type_=None, Overwrite=True)
        p = self.get(name, decrypt=True)
        self.assertEqual(("SecureString", second, 2), (p["Type"], p["Value"], p["Version"]))
        self.assertCiphertext(self.get(name)["Value"], second)
        self.assertEqual(DEFAULT_SSM_KEY, self.describe_one(name)["KeyId"])

    def test_explicit_aws_managed_key(self):
        root = self.new_path()
        alias_arn = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:alias/aws/ssm"
        for i, key in enumerate((DEFAULT_SSM_KEY, alias_arn)):
            with self.subTest(key=key):
                name = f"{root}/k{i}"
                secret = marker(f"k{i}")
                self.put(name, secret, "SecureString", KeyId=key)
                self.assertEqual(secret, self.get(name, decrypt=True)["Value"])
                self.assertCiphertext(self.get(name)["Value"], secret)
                self.assertIn("KeyId", self.describe_one(name))
        self.assertEqual(DEFAULT_SSM_KEY, self.describe_one(f"{root}/k0")["KeyId"])

    def test_unknown_key_is_invalid_key_id(self):
        root = self.new_path()
        bad_keys = [f"alias/no-such-key-{uid()}",
                    str(uuid.uuid4()),
                    f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{uuid.uuid4()}",
                    f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:alias/no-such-{uid()}"]
        for i, key in enumerate(bad_keys):
            with self.subTest(key=key):
                name = f"{root}/bad{i}"
                self.assertClientError("InvalidKeyId", self.ssm.put_parameter, Name=name,
                                       Value=marker(), Type="SecureString", KeyId=key)
                self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)
        # On overwrite: refused, the stored value and key stay.
        name = f"{root}/existing"
        secret = marker("keep")
        self.put(name, secret, "SecureString")
        self.assertClientError("InvalidKeyId", self.ssm.put_parameter, Name=name,
                               Value=marker("lost"), Overwrite=True, KeyId=bad_keys[0])
        p = self.get(name, decrypt=True)
        self.assertEqual((secret, 1), (p["Value"], p["Version"]))
        self.assertEqual(DEFAULT_SSM_KEY, self.describe_one(name)["KeyId"])

    def test_same_plaintext_gives_different_ciphertexts(self):
        root = self.new_path()
        secret = marker("same")
        self.put(f"{root}/one", secret, "SecureString")
        self.put(f"{root}/two", secret, "SecureString")
        one, two = self.get(f"{root}/one")["Value"], self.get(f"{root}/two")["Value"]
        self.assertCiphertext(one, secret)
        self.assertCiphertext(two, secret)
        self.assertNotEqual(one, two)

    def test_large_and_unicode_values(self):
        root = self.new_path()
        big = ("S" + uid(31)) * 128
        self.assertEqual(4096, len(big))
        self.put(f"{root}/big", big, "SecureString")
        self.assertEqual(big, self.get(f"{root}/big", decrypt=True)["Value"])
        self.assertCiphertext(self.get(f"{root}/big")["Value"], big)
        advanced = ("A" + uid(31)) * 256
        self.put(f"{root}/adv", advanced, "SecureString", Tier="Advanced")
        self.assertEqual(advanced, self.get(f"{root}/adv", decrypt=True)["Value"])
        uni = f"pässwörd-東京-🔑-{uid()}"
        self.put(f"{root}/uni", uni, "SecureString")
        self.assertEqual(uni, self.get(f"{root}/uni", decrypt=True)["Value"])

    def test_default_key_is_created_on_first_use(self):
        name = self.new_name()
        self.put(name, marker(), "SecureString")
        kms = self.server.client("kms")
        aliases = kms.list_aliases()["Aliases"]
        self.assertIn("alias/aws/ssm", [a["AliasName"] for a in aliases])
        key = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
        self.assertEqual("AWS", key["KeyManager"])


# =============================================================================================
class SecretsManagerReferenceTest(SSMTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sm = cls.server.client("secretsmanager")

    def create_secret(self, value):
        name = f"app/db-{uid()}"   # secret names may contain slashes
        resp = self.sm.create_secret(Name=name, SecretString=value,
                                     ClientRequestToken=str(uuid.uuid4()))
        return name, resp["ARN"], resp["VersionId"]

    def assertSourceResult(self, param, secret_name, arn, version_id, value, stage):
        source = param["SourceResult"]
        self.assertIsInstance(source, str)  # a JSON *string*, not an object
        doc = json.loads(source)
        self.assertEqual(secret_name, doc["Name"])
        self.assertEqual(arn, doc["ARN"])
        self.assertEqual(version_id, doc["VersionId"])
        self.assertEqual(value, doc["SecretString"])
        self.assertIn(stage, doc["VersionStages"])

    def test_reference_returns_the_current_secret(self):
        value = json.dumps({"username": "app", "password": marker("sm")})
        name, arn, vid = self.create_secret(value)
        ref = SM_REF + name
        p = self.get(ref, decrypt=True)
        self.assertEqual(ref, p["Name"])
        self.assertEqual("SecureString", p["Type"])
        self.assertEqual(value, p["Value"])
        self.assertEqual(arn, p["ARN"])
        self.assertRegex(arn, rf"^arn:aws:secretsmanager:us-east-1:{ACCOUNT_ID}:secret:"
                              rf"{name}-[A-Za-z0-9]{{6}}$")
        self.assertRecent(p["LastModifiedDate"])
        self.assertNotIn("Selector", p)
        self.assertSourceResult(p, name, arn, vid, value, "AWSCURRENT")

    def test_reference_by_stage_and_version_id(self):
        v1, v2 = marker("sm-v1"), marker("sm-v2")
        name, arn, vid1 = self.create_secret(v1)
        vid2 = self.sm.put_secret_value(SecretId=name, SecretString=v2,
                                        ClientRequestToken=str(uuid.uuid4()))["VersionId"]
        ref = SM_REF + name
        cases = [(":AWSCURRENT", v2, vid2, "AWSCURRENT"),
                 (":AWSPREVIOUS", v1, vid1, "AWSPREVIOUS"),
                 (f":{vid1}", v1, vid1, "AWSPREVIOUS"),
                 (f":{vid2}", v2, vid2, "AWSCURRENT")]
        for selector, value, vid, stage in cases:
            with self.subTest(selector=selector):
                p = self.get(ref + selector, decrypt=True)
                self.assertEqual(ref, p["Name"])
                self.assertEqual(selector, p["Selector"])
                self.assertEqual(value, p["Value"])
                self.assertEqual(arn, p["ARN"])
                self.assertSourceResult(p, name, arn, vid, value, stage)
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter,
                               Name=f"{ref}:NOSUCHSTAGE", WithDecryption=True,
                               codes=("ParameterNotFound", "ParameterVersionNotFound"))

    def test_reference_requires_with_decryption(self):
        name, _, _ = self.create_secret(marker("nodecrypt"))
        for kwargs in ({}, {"WithDecryption": False}):
            with self.subTest(**kwargs):
                exc = self.assertClientError("ValidationException", self.ssm.get_parameter,
                                             Name=SM_REF + name,
                                             message=SM_REFERENCE_NEEDS_DECRYPTION, **kwargs)
                self.assertNotIn("COFFER-SSM", json.dumps(exc.response, default=str))

    def test_missing_secret_is_parameter_not_found(self):
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter,
                               Name=SM_REF + f"missing-{uid()}", WithDecryption=True)

    def test_reference_in_get_parameters(self):
        value = marker("batch")
        name, arn, _ = self.create_secret(value)
        plain = self.new_name()
        self.put(plain, "plain value")
        got = self.ssm.get_parameters(Names=[SM_REF + name, plain], WithDecryption=True)
        self.assertEqual([], got["InvalidParameters"])
        by_name = {p["Name"]: p for p in got["Parameters"]}
        self.assertEqual({SM_REF + name, plain}, set(by_name))
        ref = by_name[SM_REF + name]
        self.assertEqual(("SecureString", value, arn), (ref["Type"], ref["Value"], ref["ARN"]))
        self.assertIsInstance(ref["SourceResult"], str)
        self.assertEqual("plain value", by_name[plain]["Value"])

    def test_reference_path_is_read_only(self):
        name, _, _ = self.create_secret(marker("ro"))
        self.assertClientError("AccessDeniedException", self.ssm.put_parameter,
                               Name=SM_REF + name, Value="overwrite attempt", Type="String",
                               Overwrite=True, status=None)
        # The secret itself is untouched.
        self.assertIn("COFFER-SSM-ro", self.sm.get_secret_value(SecretId=name)["SecretString"])


if __name__ == "__main__":
    unittest.main()
