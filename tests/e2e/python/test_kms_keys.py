"""End-to-end tests of coffer's KMS key management API, driven by boto3.

Covers CreateKey / DescribeKey / ListKeys / UpdateKeyDescription / EnableKey / DisableKey /
ScheduleKeyDeletion / CancelKeyDeletion, the AWS-managed keys (alias/aws/secretsmanager,
alias/aws/ssm), aliases (CreateAlias / UpdateAlias / DeleteAlias / ListAliases), key policies,
tags, the JSON 1.1 wire format and unknown / unserved operations.

Expected behaviour: /work/shared/reference/aws-behaviour.md KMS-1..KMS-8 and section 3, the
botocore KMS model and the AWS KMS API reference (see test_kms_support.py).

Run: COFFER_BIN=$PWD/build/coffer python3 -m unittest discover -s tests/e2e/python \
         -p 'test_kms*.py' -v
"""

import datetime
import json
import unittest
import uuid

from coffer_server import ACCOUNT_ID, error_code, sanitize_error_type
from test_kms_support import (KEY_ARN_RE, ROOT_ARN, SM_MANAGED_ALIAS, SSM_MANAGED_ALIAS,
                              UUID_RE, KmsCase, alias_arn, key_arn, kms_tags, uid)


def policy_doc(sid="Enable IAM User Permissions", extra_statements=()):
    return {
        "Version": "2012-10-17",
        "Id": f"e2e-{uid()}",
        "Statement": [{
            "Sid": sid, "Effect": "Allow", "Principal": {"AWS": ROOT_ARN},
            "Action": "kms:*", "Resource": "*"}] + list(extra_statements),
    }


# =============================================================================================
class CreateKeyTest(KmsCase):

    def test_create_key_defaults(self):
        md = self.new_key()
        self.assertRegex(md["KeyId"], UUID_RE)
        self.assertEqual(key_arn(md["KeyId"]), md["Arn"])
        self.assertEqual(ACCOUNT_ID, md["AWSAccountId"])
        self.assertEqual("Enabled", md["KeyState"])
        self.assertIs(True, md["Enabled"])
        self.assertEqual("CUSTOMER", md["KeyManager"])
        self.assertEqual("SYMMETRIC_DEFAULT", md["KeySpec"])
        # Deprecated but still returned by AWS (model examples show both fields).
        self.assertEqual("SYMMETRIC_DEFAULT", md["CustomerMasterKeySpec"])
        self.assertEqual("ENCRYPT_DECRYPT", md["KeyUsage"])
        self.assertEqual("AWS_KMS", md["Origin"])
        self.assertEqual(["SYMMETRIC_DEFAULT"], md["EncryptionAlgorithms"])
        self.assertIs(False, md["MultiRegion"])
        self.assertEqual("", md["Description"])  # AWS returns "" when none was given
        self.assertRecent(md["CreationDate"])
        self.assertNotIn("DeletionDate", md)
        self.assertNotIn("SigningAlgorithms", md)
        self.assertNotIn("MacAlgorithms", md)

    def test_create_key_with_description_and_tags(self):
        md = self.new_key(Description="orders service key", KeySpec="SYMMETRIC_DEFAULT",
                          KeyUsage="ENCRYPT_DECRYPT",
                          Tags=[{"TagKey": "team", "TagValue": "orders"},
                                {"TagKey": "env", "TagValue": ""}])
        self.assertEqual("orders service key", md["Description"])
        self.assertEqual("SYMMETRIC_DEFAULT", md["KeySpec"])
        self.assertEqual("orders service key", self.describe(md["KeyId"])["Description"])
        tags = self.kms.list_resource_tags(KeyId=md["KeyId"])
        self.assertEqual({"team": "orders", "env": ""}, kms_tags(tags["Tags"]))
        self.assertIs(False, tags["Truncated"])

    def test_every_key_gets_a_fresh_id(self):
        ids = {self.new_key()["KeyId"] for _ in range(5)}
        self.assertEqual(5, len(ids))

    def test_unsupported_key_spec_is_rejected(self):
        # coffer serves symmetric keys only; the model lists UnsupportedOperationException for
        # CreateKey ("the specified operation is not supported") -- the brief's contract.
        keys_before = {k["KeyId"] for k in self.list_all("list_keys", "Keys", 1000)[0]}
        for spec, usage in (("RSA_2048", "SIGN_VERIFY"), ("ECC_NIST_P256", "SIGN_VERIFY"),
                            ("HMAC_256", "GENERATE_VERIFY_MAC")):
            with self.subTest(spec=spec):
                self.assertClientError("UnsupportedOperationException", self.kms.create_key,
                                       KeySpec=spec, KeyUsage=usage)
        keys_after = {k["KeyId"] for k in self.list_all("list_keys", "Keys", 1000)[0]}
        self.assertEqual(keys_before, keys_after, "a rejected CreateKey left a key behind")

    def test_unknown_key_spec_is_a_validation_error(self):
        # Not in the KeySpec enum -> model-constraint ValidationException.
        self.assertClientError("ValidationException", self.kms_raw.create_key,
                               KeySpec="AES_999")

    def test_malformed_policy_is_rejected(self):
        for policy in ("{not json", "[]", '"just a string"'):
            with self.subTest(policy=policy):
                self.assertClientError("MalformedPolicyDocumentException", self.kms.create_key,
                                       Policy=policy)

    def test_create_key_with_policy_stores_it(self):
        doc = policy_doc("Custom root access")
        md = self.new_key(Policy=json.dumps(doc))
        got = self.kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")
        self.assertEqual(doc, json.loads(got["Policy"]))

    def test_aws_prefixed_tag_on_create_is_tag_exception(self):
        self.assertClientError("TagException", self.kms.create_key,
                               Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])

    def test_description_over_8192_is_rejected(self):
        self.assertEqual("d" * 8192, self.new_key(Description="d" * 8192)["Description"])
        self.assertClientError("ValidationException", self.kms_raw.create_key,
                               Description="d" * 8193)


# =============================================================================================
class DescribeKeyTest(KmsCase):

    def test_describe_by_id_arn_alias_and_alias_arn(self):
        md = self.new_key(Description="describe me")
        alias = self.new_alias(md["KeyId"])
        for ref in (md["KeyId"], md["Arn"], alias, alias_arn(alias)):
            with self.subTest(ref=ref):
                got = self.describe(ref)
                self.assertEqual(md["KeyId"], got["KeyId"])
                self.assertEqual(md["Arn"], got["Arn"])
                self.assertEqual("describe me", got["Description"])
                self.assertEqual(md["CreationDate"], got["CreationDate"])

    def test_unknown_references_are_not_found(self):
        for ref in (str(uuid.uuid4()), key_arn(str(uuid.uuid4())), f"alias/missing-{uid()}",
                    alias_arn(f"alias/missing-{uid()}")):
            with self.subTest(ref=ref):
                self.assertClientError("NotFoundException", self.kms.describe_key, KeyId=ref)

    def test_key_arn_of_another_region_is_not_found(self):
        md = self.new_key()
        other = md["Arn"].replace(":us-east-1:", ":eu-west-1:")
        # An ARN names the region of the key; this key lives in us-east-1 only.  AWS answers
        # NotFoundException (or InvalidArnException for an ARN it cannot use here).
        self.assertClientError(None, self.kms.describe_key, KeyId=other,
                               codes=("NotFoundException", "InvalidArnException"))

    def test_update_key_description(self):
        md = self.new_key(Description="old")
        resp = self.kms.update_key_description(KeyId=md["KeyId"], Description="new text")
        self.assertEqual(200, resp["ResponseMetadata"]["HTTPStatusCode"])
        self.assertEqual("new text", self.describe(md["KeyId"])["Description"])
        self.kms.update_key_description(KeyId=md["Arn"], Description="")
        self.assertEqual("", self.describe(md["KeyId"])["Description"])
        self.assertClientError("NotFoundException", self.kms.update_key_description,
                               KeyId=str(uuid.uuid4()), Description="x")


# =============================================================================================
class ListKeysTest(KmsCase):

    def test_pagination_with_limit_and_marker(self):
        mine = [self.new_key()["KeyId"] for _ in range(5)]
        everything, pages = self.list_all("list_keys", "Keys", 2)
        self.assertGreaterEqual(pages, 3)
        ids = [k["KeyId"] for k in everything]
        self.assertEqual(len(ids), len(set(ids)), "a key was listed twice")
        for key_id in mine:
            self.assertIn(key_id, ids)
        for k in everything:
            self.assertEqual({"KeyId", "KeyArn"}, set(k), k)
            self.assertEqual(key_arn(k["KeyId"]), k["KeyArn"])
        # The first page with Limit=2 of >= 5 keys is truncated.
        first = self.kms.list_keys(Limit=2)
        self.assertEqual(2, len(first["Keys"]))
        self.assertIs(True, first["Truncated"])
        self.assertTrue(first["NextMarker"])
        # One big page holds the same set.
        whole = self.kms.list_keys(Limit=1000)
        self.assertIs(False, whole["Truncated"])
        self.assertNotIn("NextMarker", whole)
        self.assertEqual(sorted(ids), sorted(k["KeyId"] for k in whole["Keys"]))

    def test_limit_out_of_range_is_validation_error(self):
        for limit in (0, 1001):
            with self.subTest(limit=limit):
                self.assertClientError("ValidationException", self.kms_raw.list_keys,
                                       Limit=limit)

    def test_garbled_marker_is_invalid_marker(self):
        self.new_key()
        self.assertClientError("InvalidMarkerException", self.kms.list_keys,
                               Marker="not-a-real-marker-" + uid())

    def test_pending_deletion_keys_are_still_listed(self):
        md = self.new_key()
        self.kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
        ids = [k["KeyId"] for k in self.list_all("list_keys", "Keys", 100)[0]]
        self.assertIn(md["KeyId"], ids)


# =============================================================================================
class KeyStateTest(KmsCase):

    def test_disable_and_enable(self):
        md = self.new_key()
        self.kms.disable_key(KeyId=md["KeyId"])
        got = self.describe(md["KeyId"])
        self.assertEqual(("Disabled", False), (got["KeyState"], got["Enabled"]))
        # Key-state table: "[1] DisabledException: <key ARN> is disabled."
        self.assertClientError("DisabledException", self.kms.encrypt, KeyId=md["KeyId"],
                               Plaintext=b"secret", message=f"{md['Arn']} is disabled.")
        # Disabling twice is allowed (idempotent).
        self.kms.disable_key(KeyId=md["Arn"])
        self.kms.enable_key(KeyId=md["KeyId"])
        got = self.describe(md["KeyId"])
        self.assertEqual(("Enabled", True), (got["KeyState"], got["Enabled"]))
        self.assertEqual(md["Arn"], self.kms.encrypt(KeyId=md["KeyId"],
                                                     Plaintext=b"secret")["KeyId"])
        self.kms.enable_key(KeyId=md["KeyId"])  # idempotent

    def test_enable_disable_unknown_key_is_not_found(self):
        for fn in (self.kms.enable_key, self.kms.disable_key, self.kms.schedule_key_deletion,
                   self.kms.cancel_key_deletion):
            with self.subTest(op=fn.__name__):
                self.assertClientError("NotFoundException", fn, KeyId=str(uuid.uuid4()))

    def test_schedule_key_deletion_default_window_is_30(self):
        md = self.new_key()
        resp = self.kms.schedule_key_deletion(KeyId=md["KeyId"])
        self.assertEqual(md["Arn"], resp["KeyId"])  # the key ARN (M: response doc)
        self.assertEqual("PendingDeletion", resp["KeyState"])
        self.assertEqual(30, resp["PendingWindowInDays"])
        self.assertDaysFromNow(resp["DeletionDate"], 30)
        got = self.describe(md["KeyId"])
        self.assertEqual(("PendingDeletion", False), (got["KeyState"], got["Enabled"]))
        self.assertEqual(resp["DeletionDate"], got["DeletionDate"])

    def test_schedule_key_deletion_window_bounds(self):
        for days in (7, 30, 15):
            with self.subTest(days=days):
                md = self.new_key()
                resp = self.kms.schedule_key_deletion(KeyId=md["Arn"], PendingWindowInDays=days)
                self.assertEqual(days, resp["PendingWindowInDays"])
                self.assertEqual("PendingDeletion", resp["KeyState"])
                self.assertDaysFromNow(resp["DeletionDate"], days)

    def test_schedule_key_deletion_out_of_range(self):
        # The shape allows 1..365 but the operation accepts 7..30 (M: request doc).  AWS rejects
        # with ValidationException (moto, which mirrors AWS texts, raises the same).
        md = self.new_key()
        for days in (1, 6, 31, 365):
            with self.subTest(days=days):
                self.assertClientError("ValidationException", self.kms.schedule_key_deletion,
                                       KeyId=md["KeyId"], PendingWindowInDays=days)
        for days in (0, 366):
            with self.subTest(days=days):
                self.assertClientError("ValidationException", self.kms_raw.schedule_key_deletion,
                                       KeyId=md["KeyId"], PendingWindowInDays=days)
        self.assertEqual("Enabled", self.state(md["KeyId"]))

    def test_pending_deletion_blocks_crypto_and_cancel_leaves_it_disabled(self):
        md = self.new_key()
        blob = self.kms.encrypt(KeyId=md["KeyId"], Plaintext=b"before")["CiphertextBlob"]
        self.kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
        pending = f"{md['Arn']} is pending deletion."
        # Key-state table (KMS developer guide, key-state.md): cryptographic operations on a key
        # pending deletion fail with "[2] DisabledException: <key ARN> is pending deletion." or
        # "[3] KMSInvalidStateException: <key ARN> is pending deletion." -- either is AWS.
        crypto_codes = ("KMSInvalidStateException", "DisabledException")
        self.assertClientError(None, self.kms.encrypt, KeyId=md["KeyId"], Plaintext=b"x",
                               codes=crypto_codes, message=pending)
        self.assertClientError(None, self.kms.decrypt, CiphertextBlob=blob, codes=crypto_codes,
                               message=pending)
        self.assertClientError(None, self.kms.generate_data_key, KeyId=md["KeyId"],
                               KeySpec="AES_256", codes=crypto_codes, message=pending)
        # EnableKey / DisableKey: "[3] KMSInvalidStateException: <key ARN> is pending deletion."
        self.assertClientError("KMSInvalidStateException", self.kms.enable_key,
                               KeyId=md["KeyId"], message=pending)
        self.assertClientError("KMSInvalidStateException", self.kms.disable_key,
                               KeyId=md["KeyId"], message=pending)

        resp = self.kms.cancel_key_deletion(KeyId=md["KeyId"])
        self.assertEqual(md["Arn"], resp["KeyId"])  # the key ARN (M: response doc)
        got = self.describe(md["KeyId"])
        self.assertEqual(("Disabled", False), (got["KeyState"], got["Enabled"]))  # KMS-7
        self.assertNotIn("DeletionDate", got)
        self.assertClientError("DisabledException", self.kms.encrypt, KeyId=md["KeyId"],
                               Plaintext=b"x")
        self.kms.enable_key(KeyId=md["KeyId"])
        self.assertEqual(b"before", self.kms.decrypt(CiphertextBlob=blob)["Plaintext"])

    def test_cancel_when_not_pending_is_invalid_state(self):
        md = self.new_key()
        # Key-state table: "[4] KMSInvalidStateException: <key ARN> is not pending deletion."
        self.assertClientError("KMSInvalidStateException", self.kms.cancel_key_deletion,
                               KeyId=md["KeyId"], message=f"{md['Arn']} is not pending deletion.")
        self.assertEqual("Enabled", self.state(md["KeyId"]))

    def test_disabled_key_can_be_scheduled_for_deletion(self):
        md = self.new_key()
        self.kms.disable_key(KeyId=md["KeyId"])
        resp = self.kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=10)
        self.assertEqual("PendingDeletion", resp["KeyState"])
        self.kms.cancel_key_deletion(KeyId=md["KeyId"])
        self.assertEqual("Disabled", self.state(md["KeyId"]))


# =============================================================================================
class KeyStateTableTest(KmsCase):
    """Management operations by key state, from the KMS developer guide's key-state table
    (awsdocs/aws-kms-developer-guide doc_source/key-state.md): on a key pending deletion,
    CreateAlias, TagResource, UntagResource, UpdateKeyDescription, EnableKeyRotation,
    DisableKeyRotation and ScheduleKeyDeletion fail with "[3] KMSInvalidStateException: <key ARN>
    is pending deletion."; DescribeKey, GetKeyPolicy, PutKeyPolicy, ListKeyPolicies,
    ListResourceTags, GetKeyRotationStatus and DeleteAlias succeed; UpdateAlias fails only when
    the *destination* key is pending deletion ([10])."""

    def pending_key(self):
        md = self.new_key()
        alias = self.new_alias(md["KeyId"])
        self.kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "t", "TagValue": "1"}])
        self.kms.schedule_key_deletion(KeyId=md["KeyId"], PendingWindowInDays=7)
        return md, alias

    def test_operations_refused_while_pending_deletion(self):
        md, _alias = self.pending_key()
        message = f"{md['Arn']} is pending deletion."
        refused = {
            "CreateAlias": lambda: self.kms.create_alias(AliasName=f"alias/e2e-{uid()}",
                                                         TargetKeyId=md["KeyId"]),
            "TagResource": lambda: self.kms.tag_resource(
                KeyId=md["KeyId"], Tags=[{"TagKey": "t2", "TagValue": "2"}]),
            "UntagResource": lambda: self.kms.untag_resource(KeyId=md["KeyId"], TagKeys=["t"]),
            "UpdateKeyDescription": lambda: self.kms.update_key_description(
                KeyId=md["KeyId"], Description="changed while pending"),
            "EnableKeyRotation": lambda: self.kms.enable_key_rotation(KeyId=md["KeyId"]),
            "DisableKeyRotation": lambda: self.kms.disable_key_rotation(KeyId=md["KeyId"]),
            "ScheduleKeyDeletion": lambda: self.kms.schedule_key_deletion(KeyId=md["KeyId"]),
        }
        for op, call in refused.items():
            with self.subTest(op=op):
                self.assertClientError("KMSInvalidStateException", call, message=message)
        # Nothing changed.
        got = self.describe(md["KeyId"])
        self.assertEqual("", got["Description"])
        self.assertEqual({"t": "1"}, kms_tags(self.kms.list_resource_tags(
            KeyId=md["KeyId"])["Tags"]))

    def test_operations_allowed_while_pending_deletion(self):
        md, alias = self.pending_key()
        self.assertEqual("PendingDeletion", self.describe(alias)["KeyState"])
        policy = self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"]
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=policy)
        self.assertEqual(["default"],
                         self.kms.list_key_policies(KeyId=md["KeyId"])["PolicyNames"])
        self.assertEqual({"t": "1"}, kms_tags(self.kms.list_resource_tags(
            KeyId=md["KeyId"])["Tags"]))
        self.assertIs(False, self.kms.get_key_rotation_status(
            KeyId=md["KeyId"])["KeyRotationEnabled"])
        # UpdateAlias away from a pending key succeeds ([10]); DeleteAlias always does.
        other = self.new_key()
        self.kms.update_alias(AliasName=alias, TargetKeyId=other["KeyId"])
        self.assertEqual(other["KeyId"], self.describe(alias)["KeyId"])
        second = self.new_alias(other["KeyId"])
        self.assertClientError("KMSInvalidStateException", self.kms.update_alias,
                               AliasName=second, TargetKeyId=md["KeyId"],
                               message=f"{md['Arn']} is pending deletion.")
        self.kms.delete_alias(AliasName=alias)

    def test_disabled_key_management(self):
        md = self.new_key()
        self.kms.disable_key(KeyId=md["KeyId"])
        message = f"{md['Arn']} is disabled."
        # [1] for the rotation settings of a disabled key.
        self.assertClientError("DisabledException", self.kms.enable_key_rotation,
                               KeyId=md["KeyId"], message=message)
        self.assertClientError("DisabledException", self.kms.disable_key_rotation,
                               KeyId=md["KeyId"], message=message)
        # Everything else in the table succeeds on a disabled key.
        alias = self.new_alias(md["KeyId"])
        self.kms.update_key_description(KeyId=md["KeyId"], Description="disabled but described")
        self.kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "d", "TagValue": "1"}])
        self.kms.untag_resource(KeyId=md["KeyId"], TagKeys=["d"])
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default",
                                Policy=self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"])
        self.assertIs(False, self.kms.get_key_rotation_status(
            KeyId=md["KeyId"])["KeyRotationEnabled"])
        got = self.describe(alias)
        self.assertEqual(("Disabled", "disabled but described"),
                         (got["KeyState"], got["Description"]))


# =============================================================================================
class AwsManagedKeyTest(KmsCase):
    """KMS-3.  This class's server is fresh: no key exists until the first use."""

    def test_01_managed_keys_are_created_on_first_use(self):
        self.assertEqual([], self.kms.list_keys()["Keys"])
        sm_key = self.describe(SM_MANAGED_ALIAS)
        self.assertEqual("AWS", sm_key["KeyManager"])
        self.assertEqual("Enabled", sm_key["KeyState"])
        self.assertEqual("SYMMETRIC_DEFAULT", sm_key["KeySpec"])
        self.assertRegex(sm_key["KeyId"], UUID_RE)
        self.assertEqual(key_arn(sm_key["KeyId"]), sm_key["Arn"])
        self.assertEqual([sm_key["KeyId"]], [k["KeyId"] for k in self.kms.list_keys()["Keys"]])
        # The same key every time, and by its alias ARN too.
        self.assertEqual(sm_key["KeyId"], self.describe(SM_MANAGED_ALIAS)["KeyId"])
        self.assertEqual(sm_key["KeyId"], self.describe(alias_arn(SM_MANAGED_ALIAS))["KeyId"])

        ssm_key = self.describe(SSM_MANAGED_ALIAS)
        self.assertEqual("AWS", ssm_key["KeyManager"])
        self.assertNotEqual(sm_key["KeyId"], ssm_key["KeyId"])
        self.assertEqual(sorted([sm_key["KeyId"], ssm_key["KeyId"]]),
                         sorted(k["KeyId"] for k in self.kms.list_keys()["Keys"]))
        aliases = {a["AliasName"]: a for a in self.list_all("list_aliases", "Aliases", 100)[0]}
        self.assertEqual(sm_key["KeyId"], aliases[SM_MANAGED_ALIAS]["TargetKeyId"])
        self.assertEqual(ssm_key["KeyId"], aliases[SSM_MANAGED_ALIAS]["TargetKeyId"])
        self.assertEqual(alias_arn(SSM_MANAGED_ALIAS), aliases[SSM_MANAGED_ALIAS]["AliasArn"])

    def test_managed_key_encrypts_and_decrypts(self):
        resp = self.kms.encrypt(KeyId=SSM_MANAGED_ALIAS, Plaintext=b"managed")
        self.assertEqual(self.describe(SSM_MANAGED_ALIAS)["Arn"], resp["KeyId"])
        self.assertEqual(b"managed", self.kms.decrypt(CiphertextBlob=resp["CiphertextBlob"])
                         ["Plaintext"])

    def test_managed_keys_cannot_be_disabled_or_deleted(self):
        for alias in (SM_MANAGED_ALIAS, SSM_MANAGED_ALIAS):
            key = self.describe(alias)
            for call in (lambda: self.kms.disable_key(KeyId=key["KeyId"]),
                         lambda: self.kms.schedule_key_deletion(KeyId=key["KeyId"],
                                                                PendingWindowInDays=7),
                         lambda: self.kms.schedule_key_deletion(KeyId=key["Arn"])):
                # AWS answers with a 4xx whose code is not documented for this case.
                self.assertClient4xx(call)
            got = self.describe(alias)
            self.assertEqual(("Enabled", True), (got["KeyState"], got["Enabled"]))

    def test_managed_aliases_cannot_be_changed(self):
        mine = self.new_key()
        self.assertClient4xx(self.kms.update_alias, AliasName=SSM_MANAGED_ALIAS,
                             TargetKeyId=mine["KeyId"])
        self.assertClient4xx(self.kms.delete_alias, AliasName=SM_MANAGED_ALIAS)
        self.assertEqual("AWS", self.describe(SSM_MANAGED_ALIAS)["KeyManager"])
        self.assertEqual("AWS", self.describe(SM_MANAGED_ALIAS)["KeyManager"])


# =============================================================================================
class AliasTest(KmsCase):

    def aliases_of(self, key_id=None):
        kwargs = {"KeyId": key_id} if key_id else {}
        return {a["AliasName"]: a
                for a in self.list_all("list_aliases", "Aliases", 100, **kwargs)[0]}

    def test_create_alias_and_list(self):
        md = self.new_key()
        name = f"alias/e2e/app-{uid()}_x"
        resp = self.kms.create_alias(AliasName=name, TargetKeyId=md["KeyId"])
        self.assertEqual(200, resp["ResponseMetadata"]["HTTPStatusCode"])
        entry = self.aliases_of()[name]
        self.assertEqual(alias_arn(name), entry["AliasArn"])
        self.assertEqual(md["KeyId"], entry["TargetKeyId"])  # the key id, not the ARN
        self.assertRecent(entry["CreationDate"])
        self.assertRecent(entry["LastUpdatedDate"])
        self.assertEqual(md["KeyId"], self.describe(name)["KeyId"])

    def test_create_alias_by_target_arn(self):
        md = self.new_key()
        name = f"alias/e2e-{uid()}"
        self.kms.create_alias(AliasName=name, TargetKeyId=md["Arn"])
        self.assertEqual(md["KeyId"], self.aliases_of()[name]["TargetKeyId"])

    def test_list_aliases_filtered_by_key(self):
        a, b = self.new_key(), self.new_key()
        a1, a2 = self.new_alias(a["KeyId"]), self.new_alias(a["KeyId"])
        b1 = self.new_alias(b["KeyId"])
        self.assertEqual({a1, a2}, set(self.aliases_of(a["KeyId"])))
        self.assertEqual({a1, a2}, set(self.aliases_of(a["Arn"])))
        self.assertEqual({b1}, set(self.aliases_of(b["KeyId"])))
        self.assertEqual({}, self.aliases_of(self.new_key()["KeyId"]))
        # M: ListAliases errors include NotFoundException for an unknown KeyId.
        self.assertClientError("NotFoundException", self.kms.list_aliases,
                               KeyId=str(uuid.uuid4()))

    def test_list_aliases_pagination(self):
        md = self.new_key()
        mine = {self.new_alias(md["KeyId"]) for _ in range(5)}
        entries, pages = self.list_all("list_aliases", "Aliases", 2)
        self.assertGreaterEqual(pages, 3)
        names = [a["AliasName"] for a in entries]
        self.assertEqual(len(names), len(set(names)), "an alias was listed twice")
        self.assertTrue(mine <= set(names))
        first = self.kms.list_aliases(Limit=2)
        self.assertIs(True, first["Truncated"])
        self.assertTrue(first["NextMarker"])
        self.assertClientError("InvalidMarkerException", self.kms.list_aliases,
                               Marker="garbage-" + uid())

    def test_duplicate_alias_is_already_exists(self):
        a, b = self.new_key(), self.new_key()
        name = self.new_alias(a["KeyId"])
        self.assertClientError("AlreadyExistsException", self.kms.create_alias, AliasName=name,
                               TargetKeyId=b["KeyId"])
        self.assertEqual(a["KeyId"], self.describe(name)["KeyId"])

    def test_unknown_target_is_not_found(self):
        name = f"alias/e2e-{uid()}"
        self.assertClientError("NotFoundException", self.kms.create_alias, AliasName=name,
                               TargetKeyId=str(uuid.uuid4()))
        self.assertNotIn(name, self.aliases_of())

    def test_target_must_be_a_key_not_an_alias(self):
        md = self.new_key()
        first = self.new_alias(md["KeyId"])
        # M: TargetKeyId is a key id or key ARN.  The code for an alias there is not documented
        # (moto, mirroring AWS: ValidationException "Aliases must refer to keys. Not aliases").
        self.assertClientError(None, self.kms.create_alias, AliasName=f"alias/e2e-{uid()}",
                               TargetKeyId=first,
                               codes=("ValidationException", "NotFoundException"))

    def test_alias_name_must_start_with_alias_prefix(self):
        md = self.new_key()
        # Real AWS: "ValidationException: Alias must start with the prefix "alias/"" (seen in
        # aws-controllers-k8s/community#1878); the model also lists InvalidAliasNameException.
        for bad in (f"e2e-{uid()}", f"aliases/e2e-{uid()}"):
            with self.subTest(name=bad):
                self.assertClientError(
                    "ValidationException", self.kms.create_alias, AliasName=bad,
                    TargetKeyId=md["KeyId"],
                    message='Alias must start with the prefix "alias/". Please see '
                            "http://docs.aws.amazon.com/kms/latest/developerguide/"
                            "programming-aliases.html")
        self.assertClientError(None, self.kms.create_alias, AliasName="alias/",
                               TargetKeyId=md["KeyId"],
                               codes=("ValidationException", "InvalidAliasNameException"))

    def test_alias_name_characters_and_length(self):
        md = self.new_key()
        # Outside the model pattern ^[a-zA-Z0-9:/_-]+$ or over 256 chars: a model-constraint
        # ValidationException (InvalidAliasNameException is the modeled semantic error).
        for bad in (f"alias/has space-{uid()}", f"alias/dot.{uid()}", f"alias/ü-{uid()}",
                    "alias/" + "a" * 251):
            with self.subTest(name=bad):
                self.assertClientError(None, self.kms_raw.create_alias, AliasName=bad,
                                       TargetKeyId=md["KeyId"],
                                       codes=("ValidationException",
                                              "InvalidAliasNameException"))
        ok = "alias/" + "a" * 240 + uid(10)
        self.assertEqual(256, len(ok))
        self.kms.create_alias(AliasName=ok, TargetKeyId=md["KeyId"])
        self.assertEqual(md["KeyId"], self.describe(ok)["KeyId"])

    def test_reserved_aws_prefix(self):
        md = self.new_key()
        # M: "The alias name cannot begin with alias/aws/"; the error class is not documented
        # (moto answers NotAuthorizedException), so any 4xx is accepted.
        for name in (f"alias/aws/e2e-{uid()}", "alias/aws/secretsmanager"):
            with self.subTest(name=name):
                self.assertClient4xx(self.kms.create_alias, AliasName=name,
                                     TargetKeyId=md["KeyId"])
        self.assertEqual([], [a for a in self.aliases_of(md["KeyId"])])

    def test_update_alias_moves_it(self):
        a, b = self.new_key(), self.new_key()
        name = self.new_alias(a["KeyId"])
        created = self.aliases_of()[name]["CreationDate"]
        resp = self.kms.update_alias(AliasName=name, TargetKeyId=b["Arn"])
        self.assertEqual(200, resp["ResponseMetadata"]["HTTPStatusCode"])
        self.assertEqual(b["KeyId"], self.describe(name)["KeyId"])
        entry = self.aliases_of()[name]
        self.assertEqual(b["KeyId"], entry["TargetKeyId"])
        self.assertEqual(created, entry["CreationDate"])
        self.assertGreaterEqual(entry["LastUpdatedDate"], created)
        self.assertEqual({}, self.aliases_of(a["KeyId"]))
        # Encrypt through the alias now uses key b.
        self.assertEqual(b["Arn"], self.kms.encrypt(KeyId=name, Plaintext=b"x")["KeyId"])

    def test_update_alias_errors(self):
        md = self.new_key()
        self.assertClientError("NotFoundException", self.kms.update_alias,
                               AliasName=f"alias/missing-{uid()}", TargetKeyId=md["KeyId"])
        name = self.new_alias(md["KeyId"])
        self.assertClientError("NotFoundException", self.kms.update_alias, AliasName=name,
                               TargetKeyId=str(uuid.uuid4()))
        self.assertEqual(md["KeyId"], self.describe(name)["KeyId"])

    def test_delete_alias(self):
        md = self.new_key()
        name = self.new_alias(md["KeyId"])
        resp = self.kms.delete_alias(AliasName=name)
        self.assertEqual(200, resp["ResponseMetadata"]["HTTPStatusCode"])
        self.assertNotIn(name, self.aliases_of())
        self.assertClientError("NotFoundException", self.kms.describe_key, KeyId=name)
        self.assertEqual("Enabled", self.state(md["KeyId"]))  # the key is untouched
        self.assertClientError("NotFoundException", self.kms.delete_alias, AliasName=name)
        self.assertClientError("NotFoundException", self.kms.delete_alias,
                               AliasName=f"alias/never-{uid()}")
        # The name is free again.
        self.kms.create_alias(AliasName=name, TargetKeyId=md["KeyId"])
        self.assertEqual(md["KeyId"], self.describe(name)["KeyId"])


# =============================================================================================
class KeyPolicyTest(KmsCase):

    def test_default_policy_gives_the_account_root_everything(self):
        md = self.new_key()
        resp = self.kms.get_key_policy(KeyId=md["KeyId"])  # PolicyName defaults to "default"
        self.assertEqual("default", resp["PolicyName"])
        doc = json.loads(resp["Policy"])
        self.assertEqual("2012-10-17", doc["Version"])
        statements = doc["Statement"]
        if isinstance(statements, dict):
            statements = [statements]

        def grants_root_everything(s):
            principal = s.get("Principal", {})
            aws = principal.get("AWS") if isinstance(principal, dict) else None
            aws = aws if isinstance(aws, list) else [aws]
            actions = s.get("Action")
            actions = actions if isinstance(actions, list) else [actions]
            return (s.get("Effect") == "Allow" and ROOT_ARN in aws and "kms:*" in actions
                    and s.get("Resource") in ("*", ["*"]))
        self.assertTrue(any(grants_root_everything(s) for s in statements), doc)
        self.assertEqual(resp["Policy"],
                         self.kms.get_key_policy(KeyId=md["Arn"],
                                                 PolicyName="default")["Policy"])

    def test_list_key_policies(self):
        md = self.new_key()
        resp = self.kms.list_key_policies(KeyId=md["KeyId"])
        self.assertEqual(["default"], resp["PolicyNames"])
        self.assertIs(False, resp["Truncated"])
        self.assertClientError("NotFoundException", self.kms.list_key_policies,
                               KeyId=str(uuid.uuid4()))

    def test_put_key_policy_round_trips(self):
        md = self.new_key()
        doc = policy_doc(extra_statements=[{
            "Sid": "AllowDecryptForApp", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/app"},
            "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}])
        text = json.dumps(doc, indent=2)
        self.kms.put_key_policy(KeyId=md["KeyId"], PolicyName="default", Policy=text)
        got = self.kms.get_key_policy(KeyId=md["KeyId"], PolicyName="default")["Policy"]
        self.assertEqual(doc, json.loads(got))

    def test_put_malformed_policy_is_rejected_and_keeps_the_old_one(self):
        md = self.new_key()
        before = self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"]
        self.assertClientError("MalformedPolicyDocumentException", self.kms.put_key_policy,
                               KeyId=md["KeyId"], PolicyName="default", Policy="{bad json")
        self.assertEqual(before, self.kms.get_key_policy(KeyId=md["KeyId"])["Policy"])

    def test_policy_of_unknown_key_is_not_found(self):
        self.assertClientError("NotFoundException", self.kms.get_key_policy,
                               KeyId=str(uuid.uuid4()), PolicyName="default")
        self.assertClientError("NotFoundException", self.kms.put_key_policy,
                               KeyId=str(uuid.uuid4()), PolicyName="default",
                               Policy=json.dumps(policy_doc()))


# =============================================================================================
class TagTest(KmsCase):

    def tags(self, key_ref):
        resp = self.kms.list_resource_tags(KeyId=key_ref)
        self.assertIs(False, resp["Truncated"])
        return kms_tags(resp["Tags"])

    def test_tag_untag_list(self):
        md = self.new_key()
        self.assertEqual({}, self.tags(md["KeyId"]))
        self.kms.tag_resource(KeyId=md["KeyId"], Tags=[{"TagKey": "a", "TagValue": "1"},
                                                       {"TagKey": "b", "TagValue": "2"}])
        self.assertEqual({"a": "1", "b": "2"}, self.tags(md["KeyId"]))
        # An existing key gets its value replaced (M: TagResource doc); ARNs work too.
        self.kms.tag_resource(KeyId=md["Arn"], Tags=[{"TagKey": "a", "TagValue": "one"},
                                                     {"TagKey": "c", "TagValue": ""}])
        self.assertEqual({"a": "one", "b": "2", "c": ""}, self.tags(md["Arn"]))
        self.kms.untag_resource(KeyId=md["KeyId"], TagKeys=["b", "not-there"])
        self.assertEqual({"a": "one", "c": ""}, self.tags(md["KeyId"]))
        self.kms.untag_resource(KeyId=md["KeyId"], TagKeys=["a", "c"])
        self.assertEqual({}, self.tags(md["KeyId"]))

    def test_aws_prefix_is_tag_exception(self):
        md = self.new_key()
        for key in ("aws:created-by", "aws:x"):
            with self.subTest(key=key):
                self.assertClientError("TagException", self.kms.tag_resource, KeyId=md["KeyId"],
                                       Tags=[{"TagKey": key, "TagValue": "v"}])
        self.assertEqual({}, self.tags(md["KeyId"]))

    def test_unknown_key_is_not_found(self):
        ghost = str(uuid.uuid4())
        self.assertClientError("NotFoundException", self.kms.tag_resource, KeyId=ghost,
                               Tags=[{"TagKey": "a", "TagValue": "1"}])
        self.assertClientError("NotFoundException", self.kms.untag_resource, KeyId=ghost,
                               TagKeys=["a"])
        self.assertClientError("NotFoundException", self.kms.list_resource_tags, KeyId=ghost)


# =============================================================================================
class WireFormatTest(KmsCase):

    def test_success_response_shape(self):
        resp = self.kms_request("CreateKey", {"Description": "wire"})
        self.assertEqual(200, resp.status, resp)
        self.assertTrue(resp.header("content-type", "").startswith("application/x-amz-json-1.1"),
                        resp.headers)
        self.assertTrue(resp.header("x-amzn-requestid"), resp.headers)
        md = resp.json()["KeyMetadata"]
        # JSON-protocol timestamps are epoch-second numbers, never strings (section 1.1).
        self.assertIsInstance(md["CreationDate"], (int, float))
        self.assertNotIsInstance(md["CreationDate"], bool)
        self.assertRegex(md["Arn"], KEY_ARN_RE)
        self.assertNotIn(None, md.values(), "absent members must be omitted, not null")

        enc = self.kms_request("Encrypt", {"KeyId": md["KeyId"],
                                           "Plaintext": "aGVsbG8="}).json()
        self.assertIsInstance(enc["CiphertextBlob"], str)  # blobs are base64 strings
        dec = self.kms_request("Decrypt", {"CiphertextBlob": enc["CiphertextBlob"]}).json()
        self.assertEqual("aGVsbG8=", dec["Plaintext"])

    def test_error_response_shape(self):
        resp = self.kms_request("DescribeKey", {"KeyId": str(uuid.uuid4())})
        self.assertEqual(400, resp.status, resp)
        body = resp.json()
        self.assertEqual("NotFoundException", sanitize_error_type(body["__type"]))
        self.assertEqual("NotFoundException", sanitize_error_type(resp.header("x-amzn-errortype")))
        self.assertTrue(body.get("message") or body.get("Message"), body)

    def test_unknown_operation(self):
        for op in ("NoSuchOperation", "describeKey", "CreateSecret"):
            with self.subTest(op=op):
                resp = self.kms_request(op, {})
                self.assertEqual(400, resp.status, resp)
                self.assertEqual("UnknownOperationException",
                                 sanitize_error_type(resp.json()["__type"]))

    def test_real_but_unserved_operations(self):
        md = self.new_key()
        calls = {
            "Sign": lambda: self.kms.sign(KeyId=md["KeyId"], Message=b"m",
                                          SigningAlgorithm="RSASSA_PSS_SHA_256"),
            "Verify": lambda: self.kms.verify(KeyId=md["KeyId"], Message=b"m", Signature=b"s",
                                              SigningAlgorithm="RSASSA_PSS_SHA_256"),
            "GetPublicKey": lambda: self.kms.get_public_key(KeyId=md["KeyId"]),
            "GenerateDataKeyPair": lambda: self.kms.generate_data_key_pair(
                KeyId=md["KeyId"], KeyPairSpec="RSA_2048"),
            "CreateGrant": lambda: self.kms.create_grant(
                KeyId=md["KeyId"], GranteePrincipal=ROOT_ARN, Operations=["Decrypt"]),
            "GenerateMac": lambda: self.kms.generate_mac(KeyId=md["KeyId"], Message=b"m",
                                                         MacAlgorithm="HMAC_SHA_256"),
        }
        for op, call in calls.items():
            with self.subTest(op=op):
                self.assertClientError("UnsupportedOperationException", call)

    def test_malformed_json_body(self):
        # AWS JSON services answer SerializationException for a body that is not JSON; some
        # front ends report it as ValidationException.
        bad = self.kms_request("DescribeKey", b"{not json")
        self.assertEqual(400, bad.status, bad)
        self.assertIn(sanitize_error_type(bad.json()["__type"]),
                      ("SerializationException", "ValidationException"))

    def test_missing_required_member_is_validation_error(self):
        self.assertClientError("ValidationException", self.kms_raw.describe_key)
        self.assertClientError("ValidationException", self.kms_raw.describe_key, KeyId="")
        self.assertClientError("ValidationException", self.kms_raw.encrypt, Plaintext=b"x")

    def test_credential_scoped_to_another_service_is_rejected(self):
        # AWS: InvalidSignatureException "Credential should be scoped to correct service:
        # 'kms'." (exact text: verify) -- the scope must name the service that is called.
        for service in ("secretsmanager", "ssm"):
            with self.subTest(service=service):
                resp = self.server.signed_json_request("TrentService.ListKeys", {},
                                                       service=service)
                self.assertIn(resp.status, (400, 403), resp)
                self.assertEqual("InvalidSignatureException",
                                 sanitize_error_type(resp.json()["__type"]))


if __name__ == "__main__":
    unittest.main()
