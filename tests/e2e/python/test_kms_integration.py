"""End-to-end tests of KMS as the other services and restarts see it.

* Secrets Manager secrets under a customer key (CreateSecret KmsKeyId=alias/<yours>): while the
  key is disabled reads fail with DecryptionFailure and writes with EncryptionFailure; once it is
  enabled again everything reads back unchanged.
* SSM SecureString parameters under a customer key: disabled key -> InvalidKeyId on decrypting
  reads and on writes; re-enabled -> works again.
* Keys, aliases, states, rotation settings and ciphertexts survive a graceful restart and a
  kill -9.
* No plaintext given to Encrypt / ReEncrypt or returned by GenerateDataKey / GenerateRandom /
  Decrypt ever appears in the data dir or in the server's output (raw, hex or base64; the
  scanning approach of test_durability.py).

Expected behaviour: /work/shared/reference/aws-behaviour.md KMS-1..8, SSM-11, section 3 (SM and
KMS error tables), and the botocore models.
"""

import base64
import os
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import CofferServer, error_code
from test_kms_support import (SM_MANAGED_ALIAS, SSM_MANAGED_ALIAS, KmsCase, alias_arn, key_arn,
                              uid)


def plaintext_forms(value):
    """Byte strings whose presence in a file would reveal `value` (bytes): the raw bytes,
    lower/upper hex, and the alignment-independent cores of its standard and URL-safe base64
    encodings (as in test_durability.py)."""
    forms = {value, value.hex().encode(), value.hex().upper().encode()}
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = enc(b"\x00" * pad + value)
            core = encoded[4 if pad else 0:-4]
            if len(core) >= 16:
                forms.add(core)
    return forms


def marker(kind="kms"):
    return f"COFFER-KMS-PLAINTEXT-{kind}-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


# =============================================================================================
class SecretsManagerWithCustomerKeyTest(KmsCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sm = cls.server.client("secretsmanager")

    def key_with_alias(self):
        md = self.new_key(Description="secrets key")
        return md, self.new_alias(md["KeyId"], prefix="sm")

    def test_secret_under_customer_key_follows_the_key_state(self):
        md, alias = self.key_with_alias()
        name = f"kms/app-{uid()}"
        v1 = marker("sm-v1")
        self.sm.create_secret(Name=name, SecretString=v1, KmsKeyId=alias)
        desc = self.sm.describe_secret(SecretId=name)
        # AWS: "The key ID or alias ARN of the KMS key"; which form is echoed is not documented.
        self.assertIn(desc["KmsKeyId"], (alias, alias_arn(alias), md["KeyId"], md["Arn"]))
        self.assertEqual(v1, self.sm.get_secret_value(SecretId=name)["SecretString"])
        versions_before = self.sm.list_secret_version_ids(SecretId=name)["Versions"]

        self.kms.disable_key(KeyId=md["KeyId"])
        self.assertClientError("DecryptionFailure", self.sm.get_secret_value, SecretId=name)
        self.assertClientError("EncryptionFailure", self.sm.put_secret_value, SecretId=name,
                               SecretString=marker("sm-rejected"))
        self.assertClientError("EncryptionFailure", self.sm.update_secret, SecretId=name,
                               SecretString=marker("sm-rejected-update"))
        # Metadata reads need no decryption.
        self.assertEqual(name, self.sm.describe_secret(SecretId=name)["Name"])

        self.kms.enable_key(KeyId=md["KeyId"])
        got = self.sm.get_secret_value(SecretId=name)
        self.assertEqual(v1, got["SecretString"])
        self.assertEqual(["AWSCURRENT"], got["VersionStages"])
        self.assertEqual(sorted(v["VersionId"] for v in versions_before),
                         sorted(v["VersionId"] for v in
                                self.sm.list_secret_version_ids(SecretId=name)["Versions"]),
                         "a failed write while the key was disabled created a version")
        v2 = marker("sm-v2")
        self.sm.put_secret_value(SecretId=name, SecretString=v2)
        self.assertEqual(v2, self.sm.get_secret_value(SecretId=name)["SecretString"])
        self.assertEqual(v1, self.sm.get_secret_value(SecretId=name,
                                                      VersionStage="AWSPREVIOUS")["SecretString"])

    def test_binary_secret_and_key_by_arn(self):
        md, _alias = self.key_with_alias()
        name = f"kms/bin-{uid()}"
        value = b"\x00\xff" + marker("sm-bin").encode() + os.urandom(8)
        self.sm.create_secret(Name=name, SecretBinary=value, KmsKeyId=md["Arn"])
        self.assertEqual(value, self.sm.get_secret_value(SecretId=name)["SecretBinary"])
        self.kms.disable_key(KeyId=md["Arn"])
        self.assertClientError("DecryptionFailure", self.sm.get_secret_value, SecretId=name)
        self.kms.enable_key(KeyId=md["Arn"])
        self.assertEqual(value, self.sm.get_secret_value(SecretId=name)["SecretBinary"])

    def test_create_secret_with_disabled_key_fails(self):
        md, alias = self.key_with_alias()
        self.kms.disable_key(KeyId=md["KeyId"])
        name = f"kms/never-{uid()}"
        self.assertClientError("EncryptionFailure", self.sm.create_secret, Name=name,
                               SecretString=marker("sm-never"), KmsKeyId=alias)
        self.kms.enable_key(KeyId=md["KeyId"])

    def test_key_pending_deletion_blocks_reads_until_cancelled(self):
        md, alias = self.key_with_alias()
        name = f"kms/pending-{uid()}"
        value = marker("sm-pending")
        self.sm.create_secret(Name=name, SecretString=value, KmsKeyId=alias)
        self.kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
        self.assertClientError("DecryptionFailure", self.sm.get_secret_value, SecretId=name)
        self.kms.cancel_key_deletion(KeyId=md["KeyId"])
        self.kms.enable_key(KeyId=md["KeyId"])
        self.assertEqual(value, self.sm.get_secret_value(SecretId=name)["SecretString"])

    def test_default_key_is_the_aws_managed_one(self):
        name = f"kms/default-{uid()}"
        self.sm.create_secret(Name=name, SecretString=marker("sm-default"))
        key = self.describe(SM_MANAGED_ALIAS)
        self.assertEqual(("AWS", "Enabled"), (key["KeyManager"], key["KeyState"]))


# =============================================================================================
class SsmSecureStringWithCustomerKeyTest(KmsCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ssm = cls.server.client("ssm")

    def test_secure_string_follows_the_key_state(self):
        md = self.new_key(Description="ssm key")
        name = f"/kms/param-{uid()}"
        value = marker("ssm")
        self.ssm.put_parameter(Name=name, Value=value, Type="SecureString", KeyId=md["KeyId"])
        self.assertEqual(value, self.ssm.get_parameter(Name=name, WithDecryption=True)
                         ["Parameter"]["Value"])

        self.kms.disable_key(KeyId=md["KeyId"])
        self.assertClientError("InvalidKeyId", self.ssm.get_parameter, Name=name,
                               WithDecryption=True)
        # Without decryption SSM returns the ciphertext and needs no KMS call.
        raw = self.ssm.get_parameter(Name=name)["Parameter"]
        self.assertNotIn(value, raw["Value"])
        self.assertEqual(1, raw["Version"])
        # SSM-11: a disabled key is an InvalidKeyId for writes too.
        self.assertClientError("InvalidKeyId", self.ssm.put_parameter, Name=name,
                               Value=marker("ssm-rejected"), Type="SecureString",
                               KeyId=md["KeyId"], Overwrite=True)

        self.kms.enable_key(KeyId=md["KeyId"])
        p = self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        self.assertEqual((value, 1), (p["Value"], p["Version"]))

    def test_secure_string_by_alias_and_arn(self):
        md = self.new_key()
        alias = self.new_alias(md["KeyId"], prefix="ssm")
        for ref in (alias, md["Arn"], alias_arn(alias)):
            with self.subTest(ref=ref):
                name = f"/kms/ref-{uid()}"
                value = marker("ssm-ref")
                self.ssm.put_parameter(Name=name, Value=value, Type="SecureString", KeyId=ref)
                self.assertEqual(value, self.ssm.get_parameter(Name=name, WithDecryption=True)
                                 ["Parameter"]["Value"])

    def test_default_key_is_the_aws_managed_one(self):
        self.ssm.put_parameter(Name=f"/kms/default-{uid()}", Value=marker("ssm-default"),
                               Type="SecureString")
        key = self.describe(SSM_MANAGED_ALIAS)
        self.assertEqual(("AWS", "Enabled"), (key["KeyManager"], key["KeyState"]))


# =============================================================================================
class RestartTest(unittest.TestCase):
    """A fresh server per test; restarts on the same data dir."""

    maxDiff = None

    def setUp(self):
        self.server = CofferServer()
        self.addCleanup(self.server.close)
        self.server.start()
        self.kms = self.server.client("kms")

    def reconnect(self):
        self.kms = self.server.client("kms")

    def populate(self):
        kms = self.kms
        world = {}
        a = kms.create_key(Description="restart a",
                           Tags=[{"TagKey": "k", "TagValue": "v"}])["KeyMetadata"]
        alias = f"alias/restart-{uid()}"
        kms.create_alias(AliasName=alias, TargetKeyId=a["KeyId"])
        world["a"], world["alias"] = a, alias
        world["blob"] = kms.encrypt(KeyId=alias, Plaintext=b"survives restarts",
                                    EncryptionContext={"c": "1"})["CiphertextBlob"]
        dk = kms.generate_data_key(KeyId=a["KeyId"], KeySpec="AES_256")
        world["dk"] = (dk["Plaintext"], dk["CiphertextBlob"])

        disabled = kms.create_key()["KeyMetadata"]
        world["disabled_blob"] = kms.encrypt(KeyId=disabled["KeyId"],
                                             Plaintext=b"disabled key data")["CiphertextBlob"]
        kms.disable_key(KeyId=disabled["KeyId"])
        world["disabled"] = disabled

        pending = kms.create_key()["KeyMetadata"]
        world["pending_deletion"] = kms.schedule_key_deletion(
            KeyId=pending["KeyId"], PendingWindowInDays=9)["DeletionDate"]
        world["pending"] = pending

        rotated = kms.create_key()["KeyMetadata"]
        world["pre_rotation_blob"] = kms.encrypt(KeyId=rotated["KeyId"],
                                                 Plaintext=b"pre-rotation")["CiphertextBlob"]
        kms.enable_key_rotation(KeyId=rotated["KeyId"], RotationPeriodInDays=100)
        kms.rotate_key_on_demand(KeyId=rotated["KeyId"])
        deadline = time.monotonic() + 10
        while (time.monotonic() < deadline
               and not kms.list_key_rotations(KeyId=rotated["KeyId"])["Rotations"]):
            time.sleep(0.1)
        world["post_rotation_blob"] = kms.encrypt(KeyId=rotated["KeyId"],
                                                  Plaintext=b"post-rotation")["CiphertextBlob"]
        world["rotated"] = rotated
        return world

    def snapshot(self, world):
        kms = self.kms
        out = {}
        for name in ("a", "disabled", "pending", "rotated"):
            md = kms.describe_key(KeyId=world[name]["KeyId"])["KeyMetadata"]
            out[name] = {k: md.get(k) for k in ("KeyId", "Arn", "KeyState", "Enabled",
                                                 "Description", "CreationDate", "DeletionDate",
                                                 "KeyManager")}
        out["alias_target"] = kms.describe_key(KeyId=world["alias"])["KeyMetadata"]["KeyId"]
        out["tags"] = kms.list_resource_tags(KeyId=world["a"]["KeyId"])["Tags"]
        out["policy"] = kms.get_key_policy(KeyId=world["a"]["KeyId"])["Policy"]
        rot = kms.get_key_rotation_status(KeyId=world["rotated"]["KeyId"])
        out["rotation"] = (rot["KeyRotationEnabled"], rot.get("RotationPeriodInDays"),
                           rot.get("NextRotationDate"))
        out["rotations"] = [(r["RotationType"], r["RotationDate"]) for r in
                            kms.list_key_rotations(KeyId=world["rotated"]["KeyId"])["Rotations"]]
        out["keys"] = sorted(k["KeyId"] for k in kms.list_keys()["Keys"])
        return out

    def assertWorldReadable(self, world):
        kms = self.kms
        got = kms.decrypt(CiphertextBlob=world["blob"], EncryptionContext={"c": "1"})
        self.assertEqual((b"survives restarts", world["a"]["Arn"]),
                         (got["Plaintext"], got["KeyId"]))
        self.assertEqual(world["dk"][0], kms.decrypt(CiphertextBlob=world["dk"][1])["Plaintext"])
        with self.assertRaises(ClientError) as ctx:
            kms.decrypt(CiphertextBlob=world["disabled_blob"])
        self.assertEqual("DisabledException", error_code(ctx.exception))
        with self.assertRaises(ClientError) as ctx:
            kms.encrypt(KeyId=world["pending"]["KeyId"], Plaintext=b"x")
        # Key-state table: DisabledException or KMSInvalidStateException "... is pending
        # deletion." (see test_kms_keys.KeyStateTest).
        self.assertIn(error_code(ctx.exception),
                      ("KMSInvalidStateException", "DisabledException"))
        for blob, expected in ((world["pre_rotation_blob"], b"pre-rotation"),
                               (world["post_rotation_blob"], b"post-rotation")):
            self.assertEqual(expected, kms.decrypt(CiphertextBlob=blob,
                                                   KeyId=world["rotated"]["KeyId"])["Plaintext"])

    def test_graceful_restart_keeps_keys_and_ciphertexts(self):
        world = self.populate()
        before = self.snapshot(world)
        self.assertWorldReadable(world)

        self.server.restart()  # SIGTERM; asserts exit code 0
        self.reconnect()
        self.assertEqual(before, self.snapshot(world))
        self.assertWorldReadable(world)
        # The disabled key comes back usable once enabled, with its old data.
        self.kms.enable_key(KeyId=world["disabled"]["KeyId"])
        self.assertEqual(b"disabled key data", self.kms.decrypt(
            CiphertextBlob=world["disabled_blob"])["Plaintext"])
        # Deletion can still be cancelled after the restart.
        self.kms.cancel_key_deletion(KeyId=world["pending"]["KeyId"])
        self.assertEqual("Disabled", self.kms.describe_key(
            KeyId=world["pending"]["KeyId"])["KeyMetadata"]["KeyState"])
        self.server.stop(check=True)

    def test_kill9_keeps_acknowledged_key_operations(self):
        world = self.populate()
        before = self.snapshot(world)
        self.server.kill9()
        self.server.restart(hard=True)
        self.reconnect()
        self.assertEqual(before, self.snapshot(world))
        self.assertWorldReadable(world)
        # New work after the crash, then a second crash.
        fresh = self.kms.encrypt(KeyId=world["alias"], Plaintext=b"after crash")["CiphertextBlob"]
        self.server.restart(hard=True)
        self.reconnect()
        self.assertEqual(b"after crash", self.kms.decrypt(CiphertextBlob=fresh)["Plaintext"])
        self.server.stop(check=True)


# =============================================================================================
class NoPlaintextLeakTest(unittest.TestCase):
    """Nothing handed to or produced by KMS in clear may be written to disk or logged."""

    maxDiff = None

    def setUp(self):
        self.server = CofferServer()
        self.addCleanup(self.server.close)
        self.server.start()
        self.kms = self.server.client("kms")
        self.kms_raw = self.server.client("kms", parameter_validation=False)
        self.sm = self.server.client("secretsmanager")
        self.ssm = self.server.client("ssm")
        self.values = []  # every plaintext (bytes) that must never appear

    def track(self, value):
        self.values.append(value.encode() if isinstance(value, str) else value)
        return value

    def assertNoPlaintextAtRest(self, when):
        files = self.server.data_files()
        self.assertTrue(files, f"{when}: the data dir is empty; nothing was persisted?")
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            for value in self.values:
                for form in plaintext_forms(value):
                    self.assertNotIn(form, data, f"{when}: KMS plaintext found in {path}")

    def assertNoPlaintextInOutput(self, when):
        output = self.server.output()
        for value in self.values:
            for form in plaintext_forms(value):
                self.assertNotIn(form, output, f"{when}: KMS plaintext in server output")

    def exercise(self):
        kms = self.kms
        key = kms.create_key(Description="leak check")["KeyMetadata"]
        other = kms.create_key()["KeyMetadata"]
        alias = f"alias/leak-{uid()}"
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        blobs = []
        for i in range(3):
            pt = self.track(marker(f"enc{i}").encode())
            blobs.append(kms.encrypt(KeyId=alias, Plaintext=pt,
                                     EncryptionContext={"i": str(i)})["CiphertextBlob"])
        # Binary plaintext, and a maximum-size one.
        self.track(b"\x00\x01" + marker("bin").encode() + os.urandom(16))
        kms.encrypt(KeyId=key["KeyId"], Plaintext=self.values[-1])
        big = self.track((marker("big") * 64).encode()[:4096])
        kms.encrypt(KeyId=key["KeyId"], Plaintext=big)
        # Data keys and random bytes produced by the server.
        for spec in ("AES_256", "AES_128"):
            dk = kms.generate_data_key(KeyId=key["KeyId"], KeySpec=spec)
            self.track(dk["Plaintext"])
            self.assertEqual(dk["Plaintext"], kms.decrypt(
                CiphertextBlob=dk["CiphertextBlob"])["Plaintext"])
        self.track(kms.generate_data_key(KeyId=key["KeyId"], NumberOfBytes=64)["Plaintext"])
        wo = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], KeySpec="AES_256")
        self.track(kms.decrypt(CiphertextBlob=wo["CiphertextBlob"])["Plaintext"])
        self.track(kms.generate_random(NumberOfBytes=48)["Plaintext"])
        # ReEncrypt and a decrypt of everything.
        for i, blob in enumerate(blobs):
            kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"i": str(i)},
                           DestinationKeyId=other["KeyId"])
            kms.decrypt(CiphertextBlob=blob, EncryptionContext={"i": str(i)})
        # Rotation in the middle, then more traffic.
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
        kms.encrypt(KeyId=key["KeyId"], Plaintext=self.track(marker("post-rot").encode()))

        # Failing requests that carry plaintext must not be logged either.
        kms.disable_key(KeyId=other["KeyId"])
        failing = [
            lambda v: kms.encrypt(KeyId=other["KeyId"], Plaintext=v),               # disabled
            lambda v: kms.encrypt(KeyId=str(uuid.uuid4()), Plaintext=v),            # unknown
            lambda v: kms.encrypt(KeyId=f"alias/none-{uid()}", Plaintext=v),        # unknown
            lambda v: self.kms_raw.encrypt(KeyId=key["KeyId"], Plaintext=v + b"!" * 4096),
            lambda v: kms.decrypt(CiphertextBlob=v),                                # garbage
        ]
        for attempt in failing:
            v = self.track(marker("fail").encode())
            with self.assertRaises(ClientError):
                attempt(v)

        # Secrets Manager / SSM values under the customer key.
        self.sm.create_secret(Name=f"leak/{uid()}", KmsKeyId=alias,
                              SecretString=self.track(marker("sm")))
        self.ssm.put_parameter(Name=f"/leak/{uid()}", Type="SecureString", KeyId=key["KeyId"],
                               Value=self.track(marker("ssm")))

    def test_no_plaintext_at_rest_or_in_output(self):
        self.exercise()
        self.assertNoPlaintextAtRest("while running")
        self.assertNoPlaintextInOutput("while running")
        self.server.restart()
        self.assertNoPlaintextAtRest("after a graceful restart")
        self.server.stop(check=True)
        self.assertNoPlaintextAtRest("after shutdown")
        self.assertNoPlaintextInOutput("whole run")


if __name__ == "__main__":
    unittest.main()
