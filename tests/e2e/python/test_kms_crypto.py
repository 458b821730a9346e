"""End-to-end tests of coffer's KMS cryptographic operations, driven by boto3.

Covers Encrypt / Decrypt / ReEncrypt (encryption context, key selection, tampering, sizes),
GenerateDataKey / GenerateDataKeyWithoutPlaintext (with a client-side envelope round trip),
GenerateRandom, and key rotation (EnableKeyRotation / DisableKeyRotation /
GetKeyRotationStatus / RotateKeyOnDemand / ListKeyRotations).

Expected behaviour: /work/shared/reference/aws-behaviour.md KMS-5, KMS-6, KMS-8 and section 3,
the botocore KMS model and the AWS KMS API reference (see test_kms_support.py).
"""

import hashlib
import hmac
import os
import time
import unittest
import uuid

from test_kms_support import KmsCase, flip_byte, key_arn, uid

try:  # Only for the optional AES-GCM envelope round trip; the test falls back to HMAC.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except Exception:  # pragma: no cover - depends on the machine
    AESGCM = None


# =============================================================================================
class EncryptDecryptTest(KmsCase):

    def test_round_trip_and_key_arn_in_responses(self):
        md = self.new_key()
        plaintext = b"\x00\x01binary\xff" + os.urandom(32)
        enc = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=plaintext)
        self.assertEqual(md["Arn"], enc["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", enc["EncryptionAlgorithm"])
        blob = enc["CiphertextBlob"]
        self.assertIsInstance(blob, bytes)
        self.assertNotIn(plaintext, blob)
        self.assertGreaterEqual(len(blob), len(plaintext) + 16)
        self.assertLessEqual(len(blob), 6144)
        dec = self.kms.decrypt(CiphertextBlob=blob)  # no KeyId: the blob names its key (KMS-5)
        self.assertEqual(plaintext, dec["Plaintext"])
        self.assertEqual(md["Arn"], dec["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", dec["EncryptionAlgorithm"])

    def test_encrypt_by_every_key_reference(self):
        md = self.new_key()
        alias = self.new_alias(md["KeyId"])
        for ref in (md["KeyId"], md["Arn"], alias, f"arn:aws:kms:us-east-1:{md['AWSAccountId']}:"
                                                    f"{alias}"):
            with self.subTest(ref=ref):
                enc = self.kms.encrypt(KeyId=ref, Plaintext=b"by-ref")
                self.assertEqual(md["Arn"], enc["KeyId"])
                self.assertEqual(b"by-ref", self.kms.decrypt(
                    CiphertextBlob=enc["CiphertextBlob"])["Plaintext"])

    def test_encrypting_twice_gives_different_ciphertexts(self):
        md = self.new_key()
        a = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"same")["CiphertextBlob"]
        b = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"same")["CiphertextBlob"]
        self.assertNotEqual(a, b)

    def test_decrypt_with_the_right_key_id_forms(self):
        md = self.new_key()
        alias = self.new_alias(md["KeyId"])
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"p")["CiphertextBlob"]
        for ref in (md["KeyId"], md["Arn"], alias):
            with self.subTest(ref=ref):
                got = self.kms.decrypt(CiphertextBlob=blob, KeyId=ref)
                self.assertEqual((b"p", md["Arn"]), (got["Plaintext"], got["KeyId"]))

    def test_decrypt_with_the_wrong_key_id_is_incorrect_key(self):
        a, b = self.new_key(), self.new_key()
        blob = self.kms.encrypt(KeyId=a["KeyId"], Plaintext=b"p")["CiphertextBlob"]
        self.assertClientError("IncorrectKeyException", self.kms.decrypt, CiphertextBlob=blob,
                               KeyId=b["KeyId"])
        self.assertClientError("IncorrectKeyException", self.kms.decrypt, CiphertextBlob=blob,
                               KeyId=self.new_alias(b["KeyId"]))

    def test_encryption_context_must_match_exactly(self):
        md = self.new_key()
        ctx = {"tenant": "acme", "purpose": "db-password"}
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"ctx-bound",
                                EncryptionContext=ctx)["CiphertextBlob"]
        # Order of the pairs does not matter.
        reordered = {"purpose": "db-password", "tenant": "acme"}
        self.assertEqual(b"ctx-bound", self.kms.decrypt(CiphertextBlob=blob,
                                                        EncryptionContext=reordered)["Plaintext"])
        for wrong in ({}, {"tenant": "acme"}, {"tenant": "acme", "purpose": "other"},
                      {"tenant": "acme", "purpose": "db-password", "extra": "x"},
                      {"Tenant": "acme", "purpose": "db-password"}):
            with self.subTest(context=wrong):
                kwargs = {"EncryptionContext": wrong} if wrong else {}
                self.assertClientError("InvalidCiphertextException", self.kms.decrypt,
                                       CiphertextBlob=blob, **kwargs)

    def test_context_given_only_on_decrypt_is_rejected(self):
        md = self.new_key()
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"no-ctx")["CiphertextBlob"]
        self.assertClientError("InvalidCiphertextException", self.kms.decrypt,
                               CiphertextBlob=blob, EncryptionContext={"a": "b"})
        self.assertEqual(b"no-ctx", self.kms.decrypt(CiphertextBlob=blob)["Plaintext"])

    def test_tampered_ciphertext_is_invalid(self):
        md = self.new_key()
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"tamper me " * 4)["CiphertextBlob"]
        for label, bad in (("last byte flipped", flip_byte(blob, -1)),
                           ("middle byte flipped", flip_byte(blob, len(blob) // 2 + 8)),
                           ("truncated", blob[:-1]),
                           ("extended", blob + b"\x00")):
            with self.subTest(case=label):
                self.assertClientError("InvalidCiphertextException", self.kms.decrypt,
                                       CiphertextBlob=bad)
        self.assertEqual(b"tamper me " * 4, self.kms.decrypt(CiphertextBlob=blob)["Plaintext"])

    def test_garbage_ciphertext_is_invalid(self):
        for bad in (os.urandom(64), b"x", b"\x01\x02\x03" * 100):
            with self.subTest(size=len(bad)):
                self.assertClientError("InvalidCiphertextException", self.kms.decrypt,
                                       CiphertextBlob=bad)

    def test_plaintext_size_limits(self):
        md = self.new_key()
        big = os.urandom(4096)
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=big)["CiphertextBlob"]
        self.assertLessEqual(len(blob), 6144)
        self.assertEqual(big, self.kms.decrypt(CiphertextBlob=blob)["Plaintext"])
        # Model constraint PlaintextType 1..4096 -> ValidationException.
        self.assertClientError("ValidationException", self.kms_raw.encrypt, KeyId=md["KeyId"],
                               Plaintext=os.urandom(4097))
        self.assertClientError("ValidationException", self.kms_raw.encrypt, KeyId=md["KeyId"],
                               Plaintext=b"")

    def test_unknown_key_is_not_found(self):
        for ref in (str(uuid.uuid4()), f"alias/missing-{uid()}", key_arn(str(uuid.uuid4()))):
            with self.subTest(ref=ref):
                self.assertClientError("NotFoundException", self.kms.encrypt, KeyId=ref,
                                       Plaintext=b"x")

    def test_disabled_key_blocks_encrypt_and_decrypt(self):
        md = self.new_key()
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"kept")["CiphertextBlob"]
        self.kms.disable_key(KeyId=md["KeyId"])
        self.assertClientError("DisabledException", self.kms.encrypt, KeyId=md["KeyId"],
                               Plaintext=b"x")
        self.assertClientError("DisabledException", self.kms.decrypt, CiphertextBlob=blob)
        self.assertClientError("DisabledException", self.kms.generate_data_key,
                               KeyId=md["KeyId"], KeySpec="AES_256")
        self.assertClientError("DisabledException", self.kms.generate_data_key_without_plaintext,
                               KeyId=md["KeyId"], KeySpec="AES_256")
        self.kms.enable_key(KeyId=md["KeyId"])
        self.assertEqual(b"kept", self.kms.decrypt(CiphertextBlob=blob)["Plaintext"])

    def test_unsupported_encryption_algorithm_for_symmetric_key(self):
        md = self.new_key()
        # RSAES_* is an enum member but not valid for a symmetric key: InvalidKeyUsageException
        # per the model's Encrypt errors ("the request was rejected ... KeyUsage ... or
        # EncryptionAlgorithm is not compatible"); ValidationException is also AWS-shaped.
        self.assertClientError(None, self.kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x",
                               EncryptionAlgorithm="RSAES_OAEP_SHA_256",
                               codes=("InvalidKeyUsageException", "ValidationException"))


# =============================================================================================
class ReEncryptTest(KmsCase):

    def test_re_encrypt_to_another_key(self):
        a, b = self.new_key(), self.new_key()
        src_ctx, dst_ctx = {"stage": "old"}, {"stage": "new"}
        blob = self.kms.encrypt(KeyId=a["KeyId"], Plaintext=b"move me",
                                EncryptionContext=src_ctx)["CiphertextBlob"]
        resp = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=src_ctx,
                                   DestinationKeyId=self.new_alias(b["KeyId"]),
                                   DestinationEncryptionContext=dst_ctx)
        self.assertEqual(a["Arn"], resp["SourceKeyId"])
        self.assertEqual(b["Arn"], resp["KeyId"])
        self.assertEqual("SYMMETRIC_DEFAULT", resp["SourceEncryptionAlgorithm"])
        self.assertEqual("SYMMETRIC_DEFAULT", resp["DestinationEncryptionAlgorithm"])
        new_blob = resp["CiphertextBlob"]
        self.assertNotEqual(blob, new_blob)
        got = self.kms.decrypt(CiphertextBlob=new_blob, EncryptionContext=dst_ctx)
        self.assertEqual((b"move me", b["Arn"]), (got["Plaintext"], got["KeyId"]))
        self.assertClientError("IncorrectKeyException", self.kms.decrypt,
                               CiphertextBlob=new_blob, EncryptionContext=dst_ctx,
                               KeyId=a["KeyId"])
        self.assertClientError("InvalidCiphertextException", self.kms.decrypt,
                               CiphertextBlob=new_blob, EncryptionContext=src_ctx)
        # The original ciphertext is still valid under key a.
        self.assertEqual(b"move me", self.kms.decrypt(CiphertextBlob=blob,
                                                      EncryptionContext=src_ctx)["Plaintext"])

    def test_re_encrypt_errors(self):
        a, b = self.new_key(), self.new_key()
        blob = self.kms.encrypt(KeyId=a["KeyId"], Plaintext=b"p",
                                EncryptionContext={"k": "v"})["CiphertextBlob"]
        self.assertClientError("InvalidCiphertextException", self.kms.re_encrypt,
                               CiphertextBlob=blob, DestinationKeyId=b["KeyId"])
        self.assertClientError("IncorrectKeyException", self.kms.re_encrypt,
                               CiphertextBlob=blob, SourceEncryptionContext={"k": "v"},
                               SourceKeyId=b["KeyId"], DestinationKeyId=b["KeyId"])
        self.assertClientError("NotFoundException", self.kms.re_encrypt, CiphertextBlob=blob,
                               SourceEncryptionContext={"k": "v"},
                               DestinationKeyId=str(uuid.uuid4()))
        self.kms.disable_key(KeyId=b["KeyId"])
        self.assertClientError("DisabledException", self.kms.re_encrypt, CiphertextBlob=blob,
                               SourceEncryptionContext={"k": "v"}, DestinationKeyId=b["KeyId"])


# =============================================================================================
class DataKeyTest(KmsCase):

    def test_key_spec_sizes(self):
        md = self.new_key()
        for spec, size in (("AES_256", 32), ("AES_128", 16)):
            with self.subTest(spec=spec):
                resp = self.kms.generate_data_key(KeyId=md["KeyId"], KeySpec=spec)
                self.assertEqual(size, len(resp["Plaintext"]))
                self.assertEqual(md["Arn"], resp["KeyId"])
                dec = self.kms.decrypt(CiphertextBlob=resp["CiphertextBlob"])
                self.assertEqual(resp["Plaintext"], dec["Plaintext"])
                self.assertEqual(md["Arn"], dec["KeyId"])

    def test_number_of_bytes(self):
        md = self.new_key()
        for n in (1, 64, 1024):
            with self.subTest(n=n):
                resp = self.kms.generate_data_key(KeyId=md["KeyId"], NumberOfBytes=n)
                self.assertEqual(n, len(resp["Plaintext"]))
                self.assertEqual(resp["Plaintext"], self.kms.decrypt(
                    CiphertextBlob=resp["CiphertextBlob"])["Plaintext"])
        for n in (0, 1025):
            with self.subTest(n=n):
                self.assertClientError("ValidationException", self.kms_raw.generate_data_key,
                                       KeyId=md["KeyId"], NumberOfBytes=n)

    def test_key_spec_and_number_of_bytes_both_or_neither(self):
        md = self.new_key()
        # Real AWS: ValidationException "Please specify either number of bytes or key spec."
        self.assertClientError("ValidationException", self.kms.generate_data_key,
                               KeyId=md["KeyId"], KeySpec="AES_256", NumberOfBytes=32)
        self.assertClientError("ValidationException", self.kms.generate_data_key,
                               KeyId=md["KeyId"])
        self.assertClientError("ValidationException",
                               self.kms.generate_data_key_without_plaintext,
                               KeyId=md["KeyId"])
        self.assertClientError("ValidationException", self.kms_raw.generate_data_key,
                               KeyId=md["KeyId"], KeySpec="AES_512")

    def test_data_keys_are_random(self):
        md = self.new_key()
        keys = {self.kms.generate_data_key(KeyId=md["KeyId"], KeySpec="AES_256")["Plaintext"]
                for _ in range(5)}
        self.assertEqual(5, len(keys))

    def test_envelope_encryption_round_trip(self):
        md = self.new_key()
        ctx = {"object": f"s3://bucket/{uid()}"}
        document = b"envelope payload " + os.urandom(200)
        dk = self.kms.generate_data_key(KeyId=self.new_alias(md["KeyId"]), KeySpec="AES_256",
                                        EncryptionContext=ctx)
        # Client side: encrypt locally with the plaintext data key, keep only the wrapped key.
        if AESGCM is not None:
            nonce = os.urandom(12)
            sealed = AESGCM(dk["Plaintext"]).encrypt(nonce, document, b"")
        else:
            nonce, sealed = b"", hmac.new(dk["Plaintext"], document, hashlib.sha256).digest()
        wrapped = dk["CiphertextBlob"]
        del dk
        # Later: unwrap through KMS (context required) and open the document.
        self.assertClientError("InvalidCiphertextException", self.kms.decrypt,
                               CiphertextBlob=wrapped)
        unwrapped = self.kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=ctx)
        self.assertEqual(md["Arn"], unwrapped["KeyId"])
        if AESGCM is not None:
            self.assertEqual(document, AESGCM(unwrapped["Plaintext"]).decrypt(nonce, sealed, b""))
        else:
            self.assertTrue(hmac.compare_digest(
                sealed, hmac.new(unwrapped["Plaintext"], document, hashlib.sha256).digest()))

    def test_without_plaintext(self):
        md = self.new_key()
        resp = self.kms.generate_data_key_without_plaintext(KeyId=md["KeyId"], KeySpec="AES_256",
                                                            EncryptionContext={"a": "b"})
        self.assertNotIn("Plaintext", resp)
        self.assertEqual(md["Arn"], resp["KeyId"])
        dec = self.kms.decrypt(CiphertextBlob=resp["CiphertextBlob"],
                               EncryptionContext={"a": "b"})
        self.assertEqual(32, len(dec["Plaintext"]))
        resp = self.kms.generate_data_key_without_plaintext(KeyId=md["KeyId"], NumberOfBytes=48)
        self.assertEqual(48, len(self.kms.decrypt(CiphertextBlob=resp["CiphertextBlob"])
                                 ["Plaintext"]))

    def test_unknown_key_is_not_found(self):
        self.assertClientError("NotFoundException", self.kms.generate_data_key,
                               KeyId=str(uuid.uuid4()), KeySpec="AES_256")
        self.assertClientError("NotFoundException", self.kms.generate_data_key_without_plaintext,
                               KeyId=f"alias/missing-{uid()}", KeySpec="AES_256")


# =============================================================================================
class GenerateRandomTest(KmsCase):

    def test_lengths(self):
        for n in (1, 32, 1024):
            with self.subTest(n=n):
                out = self.kms.generate_random(NumberOfBytes=n)["Plaintext"]
                self.assertIsInstance(out, bytes)
                self.assertEqual(n, len(out))
        a = self.kms.generate_random(NumberOfBytes=32)["Plaintext"]
        b = self.kms.generate_random(NumberOfBytes=32)["Plaintext"]
        self.assertNotEqual(a, b)

    def test_out_of_range(self):
        for n in (0, 1025, -1):
            with self.subTest(n=n):
                self.assertClientError("ValidationException", self.kms_raw.generate_random,
                                       NumberOfBytes=n)
        # NumberOfBytes is required in practice (M doc); AWS answers ValidationException
        # "Please specify either number of bytes or key spec." (nsmithuk/local-kms#6).
        self.assertClientError("ValidationException", self.kms_raw.generate_random)


# =============================================================================================
class RotationTest(KmsCase):

    def rotation_status(self, key_ref):
        return self.kms.get_key_rotation_status(KeyId=key_ref)

    def rotate_and_wait(self, key_ref, expected_count, timeout=10):
        """RotateKeyOnDemand, then wait until ListKeyRotations shows `expected_count` entries:
        AWS rotates in the background (M: OnDemandRotationStartDate doc) and refuses a new
        on-demand rotation while one is in progress (ConflictException), so wait each time."""
        resp = self.kms.rotate_key_on_demand(KeyId=key_ref)
        deadline = time.monotonic() + timeout
        rotations = []
        while time.monotonic() < deadline:
            rotations = self.kms.list_key_rotations(KeyId=key_ref)["Rotations"]
            if len(rotations) >= expected_count:
                break
            time.sleep(0.1)
        self.assertEqual(expected_count, len(rotations), rotations)
        return resp, rotations

    def test_rotation_is_off_by_default(self):
        md = self.new_key()
        resp = self.rotation_status(md["KeyId"])
        self.assertIs(False, resp["KeyRotationEnabled"])
        self.assertNotIn("NextRotationDate", resp)
        self.assertEqual([], self.kms.list_key_rotations(KeyId=md["KeyId"])["Rotations"])

    def test_enable_with_default_period(self):
        md = self.new_key()
        self.kms.enable_key_rotation(KeyId=md["KeyId"])
        resp = self.rotation_status(md["KeyId"])
        self.assertIs(True, resp["KeyRotationEnabled"])
        self.assertEqual(365, resp["RotationPeriodInDays"])  # M: default 365
        self.assertIn(resp["KeyId"], (md["KeyId"], md["Arn"]))  # M doc does not say which
        self.assertDaysFromNow(resp["NextRotationDate"], 365)

    def test_enable_with_custom_period_and_disable(self):
        md = self.new_key()
        for days in (90, 2560, 180):
            with self.subTest(days=days):
                self.kms.enable_key_rotation(KeyId=md["Arn"], RotationPeriodInDays=days)
                resp = self.rotation_status(md["KeyId"])
                self.assertIs(True, resp["KeyRotationEnabled"])
                self.assertEqual(days, resp["RotationPeriodInDays"])
                self.assertDaysFromNow(resp["NextRotationDate"], days)
        self.kms.disable_key_rotation(KeyId=md["KeyId"])
        resp = self.rotation_status(md["KeyId"])
        self.assertIs(False, resp["KeyRotationEnabled"])
        self.assertNotIn("NextRotationDate", resp)

    def test_period_out_of_range(self):
        md = self.new_key()
        for days in (89, 2561, 0):
            with self.subTest(days=days):
                self.assertClientError("ValidationException", self.kms_raw.enable_key_rotation,
                                       KeyId=md["KeyId"], RotationPeriodInDays=days)
        self.assertIs(False, self.rotation_status(md["KeyId"])["KeyRotationEnabled"])

    def test_rotation_on_a_disabled_key(self):
        md = self.new_key()
        self.kms.disable_key(KeyId=md["KeyId"])
        # Model: EnableKeyRotation / DisableKeyRotation list DisabledException.
        self.assertClientError("DisabledException", self.kms.enable_key_rotation,
                               KeyId=md["KeyId"])
        self.assertClientError("DisabledException", self.kms.rotate_key_on_demand,
                               KeyId=md["KeyId"])

    def test_rotation_of_unknown_key_is_not_found(self):
        ghost = str(uuid.uuid4())
        for fn in (self.kms.enable_key_rotation, self.kms.disable_key_rotation,
                   self.kms.get_key_rotation_status, self.kms.rotate_key_on_demand,
                   self.kms.list_key_rotations):
            with self.subTest(op=fn.__name__):
                self.assertClientError("NotFoundException", fn, KeyId=ghost)

    def test_rotate_on_demand_keeps_old_ciphertexts_readable(self):
        md = self.new_key()
        ctx = {"doc": "rotation"}
        old = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"before rotation",
                               EncryptionContext=ctx)["CiphertextBlob"]
        old_dk = self.kms.generate_data_key(KeyId=md["KeyId"], NumberOfBytes=32)

        resp, rotations = self.rotate_and_wait(md["KeyId"], 1)
        self.assertIn(resp["KeyId"], (md["KeyId"], md["Arn"]))  # M doc does not say which
        self.assertEqual("ON_DEMAND", rotations[0]["RotationType"])
        self.assertIn(rotations[0]["KeyId"], (md["KeyId"], md["Arn"]))
        self.assertRecent(rotations[0]["RotationDate"])

        new = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"after rotation",
                               EncryptionContext=ctx)
        self.assertEqual(md["Arn"], new["KeyId"])
        for blob, expected in ((old, b"before rotation"),
                               (new["CiphertextBlob"], b"after rotation")):
            got = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=md["KeyId"])
            self.assertEqual((expected, md["Arn"]), (got["Plaintext"], got["KeyId"]))
        self.assertEqual(old_dk["Plaintext"], self.kms.decrypt(
            CiphertextBlob=old_dk["CiphertextBlob"])["Plaintext"])
        # Same key: the key id, ARN and state did not change.
        got = self.describe(md["KeyId"])
        self.assertEqual((md["Arn"], "Enabled"), (got["Arn"], got["KeyState"]))

        # A second on-demand rotation adds a second entry; every old ciphertext still opens.
        _, rotations = self.rotate_and_wait(md["Arn"], 2)
        self.assertEqual(["ON_DEMAND", "ON_DEMAND"], [r["RotationType"] for r in rotations])
        self.assertEqual(b"before rotation", self.kms.decrypt(
            CiphertextBlob=old, EncryptionContext=ctx)["Plaintext"])

    def test_on_demand_rotation_does_not_change_automatic_schedule_setting(self):
        md = self.new_key()
        self.kms.enable_key_rotation(KeyId=md["KeyId"], RotationPeriodInDays=120)
        self.rotate_and_wait(md["KeyId"], 1)
        resp = self.rotation_status(md["KeyId"])
        self.assertIs(True, resp["KeyRotationEnabled"])
        self.assertEqual(120, resp["RotationPeriodInDays"])

    def test_list_key_rotations_pagination(self):
        md = self.new_key()
        for i in range(3):
            self.rotate_and_wait(md["KeyId"], i + 1)
        entries, pages = self.list_all("list_key_rotations", "Rotations", 1, KeyId=md["KeyId"])
        self.assertEqual(3, len(entries))
        self.assertGreaterEqual(pages, 3)
        self.assertEqual({"ON_DEMAND"}, {r["RotationType"] for r in entries})


if __name__ == "__main__":
    unittest.main()
