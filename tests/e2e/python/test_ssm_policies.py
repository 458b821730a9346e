"""End-to-end tests of SSM parameter policies (Advanced tier), driven by boto3.

Expected behaviour: /work/shared/reference/aws-behaviour.md rule SSM-9, the botocore SSM model
(PutParameter.Policies doc: "All existing policies are preserved until you send new policies or
an empty policy"; ParameterInlinePolicy; the policy exceptions' docs) and the AWS user guide
"Assigning parameter policies" (policy JSON format, Days/Hours units).  Expiration deletes the
parameter at its timestamp: after it, no read may serve the parameter.
"""

import datetime
import json
import time
import unittest

from coffer_server import utcnow
from ssm_support import (SSMTestCase, expiration_notification, expiration_policy,
                         no_change_notification)


def later(**kwargs):
    return utcnow() + datetime.timedelta(**kwargs)


class PoliciesTest(SSMTestCase):

    def put_with_policies(self, name, policies, tier="Advanced", **kwargs):
        text = policies if isinstance(policies, str) else json.dumps(policies)
        return self.put(name, "value", Tier=tier, Policies=text, **kwargs)

    def assertPolicies(self, reported, sent):
        """[{PolicyText, PolicyType, PolicyStatus}] describing exactly the policies sent."""
        self.assertEqual(len(sent), len(reported), reported)
        texts = []
        for entry in reported:
            self.assertEqual({"PolicyText", "PolicyType", "PolicyStatus"}, set(entry), entry)
            self.assertIsInstance(entry["PolicyText"], str, entry)  # the policy's JSON text
            doc = json.loads(entry["PolicyText"])
            self.assertEqual(doc["Type"], entry["PolicyType"])
            self.assertEqual("Pending", entry["PolicyStatus"])  # not enforced yet
            texts.append(doc)
        key = lambda d: json.dumps(d, sort_keys=True)  # noqa: E731
        self.assertEqual(sorted(map(key, sent)), sorted(map(key, texts)))

    def test_policies_are_reported_by_describe_and_history(self):
        name = self.new_name()
        policies = [expiration_policy(later(days=30)), expiration_notification(5),
                    no_change_notification(60)]
        resp = self.put_with_policies(name, policies)
        self.assertEqual("Advanced", resp["Tier"])
        meta = self.describe_one(name)
        self.assertEqual("Advanced", meta["Tier"])
        self.assertPolicies(meta["Policies"], policies)
        hist = self.history(name)
        self.assertPolicies(hist[-1]["Policies"], policies)
        self.assertEqual("value", self.get(name)["Value"])

    def test_hours_unit(self):
        name = self.new_name()
        policies = [expiration_policy(later(days=2)), expiration_notification(12, "Hours"),
                    no_change_notification(36, "Hours")]
        self.put_with_policies(name, policies)
        self.assertPolicies(self.describe_one(name)["Policies"], policies)

    def test_intelligent_tiering_with_policies_is_advanced(self):
        name = self.new_name()
        resp = self.put_with_policies(name, [no_change_notification(10)],
                                      tier="Intelligent-Tiering")
        self.assertEqual("Advanced", resp["Tier"])
        self.assertEqual("Advanced", self.describe_one(name)["Tier"])

    def test_policies_need_the_advanced_tier(self):
        name = self.new_name()
        self.assertClientError("ValidationException", self.put_with_policies, name,
                               [no_change_notification(10)], tier="Standard")
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_unknown_policy_type(self):
        name = self.new_name()
        self.assertClientError("InvalidPolicyTypeException", self.put_with_policies, name,
                               [{"Type": "Deletion", "Version": "1.0",
                                 "Attributes": {"After": "5", "Unit": "Days"}}])
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_invalid_policy_attributes(self):
        bad = [
            {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "not-a-time"}},
            {"Type": "Expiration", "Version": "1.0", "Attributes": {}},
            expiration_notification(5, unit="Weeks"),
            no_change_notification("sixty"),
            {"Type": "NoChangeNotification", "Version": "1.0", "Attributes": {"Unit": "Days"}},
        ]
        for policy in bad:
            with self.subTest(policy=json.dumps(policy)):
                name = self.new_name()
                self.assertClientError("InvalidPolicyAttributeException", self.put_with_policies,
                                       name, [policy])
                self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_two_expirations_are_incompatible(self):
        name = self.new_name()
        self.assertClientError("IncompatiblePolicyException", self.put_with_policies, name,
                               [expiration_policy(later(days=3)),
                                expiration_policy(later(days=4))])

    def test_at_most_ten_policies(self):
        eleven = [expiration_policy(later(days=40))] + [expiration_notification(d)
                                                         for d in range(1, 11)]
        self.assertEqual(11, len(eleven))
        name = self.new_name()
        self.assertClientError("PoliciesLimitExceededException", self.put_with_policies,
                               name, eleven)
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_several_notification_policies_are_allowed(self):
        # Inferred, not quoted: only three policy types exist, yet the model documents a limit
        # of ten policies per parameter (PoliciesLimitExceededException), and its
        # IncompatiblePolicyException example is two *Expiration* policies.  So several
        # notifications (e.g. 30 and 7 days before expiry) must be acceptable.
        name = self.new_name()
        policies = [expiration_policy(later(days=40)), expiration_notification(30),
                    expiration_notification(7), no_change_notification(10),
                    no_change_notification(20)]
        self.put_with_policies(name, policies)
        self.assertPolicies(self.describe_one(name)["Policies"], policies)

    def test_policies_must_be_a_json_array(self):
        name = self.new_name()
        # Real AWS answers a bare policy object (not wrapped in an array) with
        # "ValidationException: Invalid policies input: {...}" (seen by pytorch/test-infra).
        self.assertClientError("ValidationException", self.put_with_policies, name,
                               json.dumps(expiration_policy(later(days=3))))
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_policies_that_are_not_json(self):
        name = self.new_name()
        # AWS's code for text that isn't JSON at all is not documented; any of the policy
        # errors or a ValidationException is an acceptable, AWS-shaped refusal.
        self.assertClientError(None, self.put_with_policies, name, "this is not json",
                               codes=("ValidationException", "InvalidPolicyAttributeException",
                                      "InvalidPolicyTypeException"))
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)

    def test_overwrite_keeps_policies_until_replaced_or_emptied(self):
        name = self.new_name()
        first = [no_change_notification(30)]
        self.put_with_policies(name, first)
        self.put(name, "second", type_=None, Overwrite=True)
        meta = self.describe_one(name)
        self.assertEqual(2, meta["Version"])
        self.assertPolicies(meta["Policies"], first)
        replaced = [expiration_policy(later(days=9)), expiration_notification(2)]
        self.put(name, "third", type_=None, Overwrite=True, Policies=json.dumps(replaced))
        self.assertPolicies(self.describe_one(name)["Policies"], replaced)
        self.put(name, "fourth", type_=None, Overwrite=True, Policies="[]")
        meta = self.describe_one(name)
        self.assertEqual(4, meta["Version"])
        self.assertEqual([], meta.get("Policies", []))
        self.assertEqual("Advanced", meta["Tier"])
        # History keeps each version's own policies.
        hist = self.history(name)
        self.assertPolicies(hist[0]["Policies"], first)
        self.assertPolicies(hist[2]["Policies"], replaced)
        self.assertEqual([], hist[3].get("Policies", []))

    def test_expiration_deletes_the_parameter(self):
        root = self.new_path("expire")
        name, survivor = f"{root}/short-lived", f"{root}/survivor"
        self.put(survivor, "stays")
        deadline = later(seconds=3)
        self.put(name, "v1", Tier="Advanced")
        self.ssm.label_parameter_version(Name=name, Labels=["lbl"])
        self.put(name, "v2", type_=None, Overwrite=True,
                 Policies=json.dumps([expiration_policy(deadline)]))
        # Before the timestamp it is served normally.
        self.assertEqual("v2", self.get(name)["Value"])
        self.assertEqual([name, survivor], sorted(p["Name"] for p in self.by_path(root)))

        wait = (deadline - utcnow()).total_seconds() + 0.3
        self.assertGreater(wait, 0, "the put took longer than the expiration delay")
        time.sleep(wait)

        # Right after the timestamp, nothing serves it any more.
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=name)
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=f"{name}:1")
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter, Name=f"{name}:lbl")
        got = self.ssm.get_parameters(Names=[name, survivor])
        self.assertEqual([survivor], [p["Name"] for p in got["Parameters"]])
        self.assertEqual([name], got["InvalidParameters"])
        self.assertEqual([survivor], [p["Name"] for p in self.by_path(root, Recursive=True)])
        self.assertEqual([survivor], sorted(p["Name"] for p in self.describe_all(
            ParameterFilters=[{"Key": "Path", "Values": [root]}])))
        self.assertClientError("ParameterNotFound", self.ssm.get_parameter_history, Name=name)
        # Deleted, not hidden: the name is free again and starts over at version 1.
        self.assertEqual(1, self.put(name, "reborn")["Version"])
        self.assertEqual(["reborn"], [h["Value"] for h in self.history(name)])


if __name__ == "__main__":
    unittest.main()
