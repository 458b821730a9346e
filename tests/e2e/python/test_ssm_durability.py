"""Durability and encryption-at-rest end-to-end tests for SSM Parameter Store.

* Everything about parameters (values of every version, types, labels, tags, descriptions,
  patterns, tiers, policies, data types, both regions) survives a graceful restart and a kill -9
  after acknowledged writes.
* An Expiration policy is enforced even when its timestamp passes while the server is down.
* No SecureString plaintext ever appears under the data directory (every file, raw bytes, hex
  or base64) nor in the server's stdout/stderr -- including values of failed requests.
"""

import datetime
import json
import os
import time
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import CofferServer, error_code, utcnow
from ssm_support import (expiration_notification, expiration_policy, no_change_notification,
                         plaintext_forms, uid)


class Marker:
    def __init__(self, kind):
        self.token = f"COFFER-SSM-PLAINTEXT-{kind}-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


class SSMDurabilityTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.server = CofferServer()
        self.addCleanup(self.server.close)
        self.server.start()
        self.reconnect()
        self.secure_values = []  # every SecureString plaintext written (bytes)
        self.root = f"/durable-{uid()}"

    def reconnect(self):
        self.east = self.server.client("ssm")
        self.west = self.server.client("ssm", region="eu-west-1")

    def secret(self, kind):
        value = Marker(kind).token
        self.secure_values.append(value.encode())
        return value

    # -- helpers --------------------------------------------------------------------------------
    def populate(self):
        """Returns {region: [names]} of parameters with all kinds of state."""
        r, east, west = self.root, self.east, self.west
        far = utcnow() + datetime.timedelta(days=30)
        east.put_parameter(Name=f"{r}/config/url", Value="https://one.example.com",
                           Type="String", Description="api url",
                           Tags=[{"Key": "env", "Value": "prod"}])
        east.put_parameter(Name=f"{r}/config/url", Value="https://two.example.com",
                           Overwrite=True)
        east.label_parameter_version(Name=f"{r}/config/url", ParameterVersion=1,
                                     Labels=["previous", "blue"])
        east.put_parameter(Name=f"{r}/config/origins", Value="a.example.com,b.example.com",
                           Type="StringList")
        for i in range(3):
            east.put_parameter(Name=f"{r}/secrets/db", Value=self.secret(f"DB{i}"),
                               Type="SecureString", Overwrite=True, Description=f"db v{i}")
        east.label_parameter_version(Name=f"{r}/secrets/db", ParameterVersion=2,
                                     Labels=["stable"])
        east.add_tags_to_resource(ResourceType="Parameter", ResourceId=f"{r}/secrets/db",
                                  Tags=[{"Key": "team", "Value": "data"}])
        east.put_parameter(Name=f"{r}/advanced/big", Value="B" * 6000, Type="String",
                           Tier="Advanced", Policies=json.dumps([
                               expiration_policy(far), expiration_notification(3),
                               no_change_notification(20)]))
        east.put_parameter(Name=f"{r}/advanced/secret", Value=self.secret("ADV"),
                           Type="SecureString", Tier="Advanced")
        east.put_parameter(Name=f"{r}/pattern", Value="12345", Type="String",
                           AllowedPattern=r"^\d+$")
        east.put_parameter(Name=f"{r}/ami", Value="ami-0123456789abcdef0", Type="String",
                           DataType="aws:ec2:image")
        west.put_parameter(Name=f"{r}/secrets/db", Value=self.secret("WEST"),
                           Type="SecureString")
        west.put_parameter(Name=f"{r}/only-west", Value="west", Type="String")
        return {
            "us-east-1": [f"{r}/config/url", f"{r}/config/origins", f"{r}/secrets/db",
                          f"{r}/advanced/big", f"{r}/advanced/secret", f"{r}/pattern",
                          f"{r}/ami"],
            "eu-west-1": [f"{r}/secrets/db", f"{r}/only-west"],
        }

    def failing_writes_with_secrets(self):
        """Requests that fail while carrying SecureString values (failures must not log them)."""
        r = self.root
        attempts = [
            lambda v: self.east.put_parameter(Name=f"{r}/secrets/db", Value=v,
                                              Type="SecureString"),            # already exists
            lambda v: self.east.put_parameter(Name=f"{r}/bad name", Value=v,
                                              Type="SecureString"),            # invalid name
            lambda v: self.east.put_parameter(Name=f"{r}/x-{uid()}", Value=v,
                                              Type="SecureString",
                                              KeyId=f"alias/missing-{uid()}"),  # InvalidKeyId
            lambda v: self.east.put_parameter(Name=f"{r}/y-{uid()}", Value=v,
                                              Type="SecureString", Tier="Standard",
                                              Policies=json.dumps(
                                                  [no_change_notification(5)])),  # tier
            lambda v: self.east.put_parameter(Name=f"{r}/z-{uid()}", Value=v,
                                              Type="SecureString", Tier="Advanced",
                                              Policies='[{"Type":"Nope"}]'),   # policy type
        ]
        for attempt in attempts:
            with self.assertRaises(ClientError):
                attempt(self.secret("FAIL"))

    def client(self, region):
        return self.east if region == "us-east-1" else self.west

    def snapshot(self, names_by_region):
        state = {}
        for region, names in names_by_region.items():
            ssm = self.client(region)
            for name in names:
                meta = self.all_pages(ssm.describe_parameters, ParameterFilters=[
                    {"Key": "Name", "Values": [name]}])
                history = self.all_pages(ssm.get_parameter_history, Name=name,
                                         WithDecryption=True)
                current = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
                encrypted = ssm.get_parameter(Name=name)["Parameter"]
                tags = ssm.list_tags_for_resource(ResourceType="Parameter",
                                                  ResourceId=name)["TagList"]
                state[(region, name)] = {
                    "meta": meta,
                    "history": history,
                    "current": current,
                    "encrypted_type": encrypted["Type"],
                    "encrypted_is_plaintext": (encrypted["Type"] == "SecureString"
                                               and encrypted["Value"] == current["Value"]),
                    "tags": sorted((t["Key"], t["Value"]) for t in tags),
                }
        for region, names in names_by_region.items():
            listed = self.all_pages(self.client(region).get_parameters_by_path, Path=self.root,
                                    Recursive=True, WithDecryption=True)
            state[region] = sorted((p["Name"], p["Version"], p["Value"]) for p in listed)
        return state

    def all_pages(self, op, **kwargs):
        out, token = [], None
        for _ in range(100):
            resp = op(**kwargs, **({"NextToken": token} if token else {}))
            out.extend(resp["Parameters"])
            token = resp.get("NextToken")
            if not token:
                return out
        self.fail("pagination did not terminate")

    def assertNoPlaintextAtRest(self, when):
        files = self.server.data_files()
        self.assertTrue(files, f"{when}: the data dir is empty; nothing was persisted?")
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            for value in self.secure_values:
                for form in plaintext_forms(value):
                    self.assertNotIn(
                        form, data,
                        f"{when}: SecureString plaintext found in "
                        f"{os.path.relpath(path, self.server.data_dir)}")

    def assertNoPlaintextInOutput(self, when):
        output = self.server.output()
        for value in self.secure_values:
            for form in plaintext_forms(value):
                self.assertNotIn(form, output,
                                 f"{when}: a SecureString value appears in server output")

    # -- tests ----------------------------------------------------------------------------------
    def test_graceful_restart_keeps_everything(self):
        names = self.populate()
        self.failing_writes_with_secrets()
        before = self.snapshot(names)
        for key, entry in before.items():
            if isinstance(key, tuple):
                self.assertFalse(entry["encrypted_is_plaintext"], key)
        self.assertNoPlaintextAtRest("while running")

        self.server.restart()  # SIGTERM; asserts exit code 0
        self.reconnect()
        self.assertEqual(before, self.snapshot(names))
        self.assertEqual("https://one.example.com",
                         self.east.get_parameter(Name=f"{self.root}/config/url:previous")
                         ["Parameter"]["Value"])

        # Writes after the restart work and survive a second restart.
        newest = self.secret("AFTER")
        resp = self.east.put_parameter(Name=f"{self.root}/secrets/db", Value=newest,
                                       Overwrite=True)
        self.assertEqual(4, resp["Version"])
        self.server.restart()
        self.reconnect()
        p = self.east.get_parameter(Name=f"{self.root}/secrets/db", WithDecryption=True)
        self.assertEqual((newest, 4), (p["Parameter"]["Value"], p["Parameter"]["Version"]))
        self.assertEqual("SecureString", p["Parameter"]["Type"])

        self.server.stop(check=True)
        self.assertNoPlaintextAtRest("after graceful shutdown")
        self.assertNoPlaintextInOutput("graceful restart run")

    def test_kill9_after_acknowledged_writes(self):
        names = self.populate()
        burst = f"{self.root}/burst"
        last = None
        for i in range(20):
            last = self.secret(f"BURST{i}")
            self.east.put_parameter(Name=burst, Value=last, Type="SecureString", Overwrite=True)
        names["us-east-1"].append(burst)
        before = self.snapshot(names)

        self.server.kill9()
        self.assertNoPlaintextAtRest("after kill -9, before restart")
        self.server.restart(hard=True)
        self.reconnect()
        self.assertEqual(before, self.snapshot(names))
        p = self.east.get_parameter(Name=burst, WithDecryption=True)["Parameter"]
        self.assertEqual((last, 20), (p["Value"], p["Version"]))

        # Crash right after new writes, including a brand-new parameter and a delete.
        fresh = f"{self.root}/fresh"
        fresh_value = self.secret("FRESH")
        self.east.put_parameter(Name=fresh, Value=fresh_value, Type="SecureString")
        self.east.delete_parameter(Name=f"{self.root}/config/origins")
        self.east.label_parameter_version(Name=burst, ParameterVersion=5, Labels=["five"])
        self.server.restart(hard=True)
        self.reconnect()
        self.assertEqual(fresh_value, self.east.get_parameter(
            Name=fresh, WithDecryption=True)["Parameter"]["Value"])
        with self.assertRaises(ClientError) as ctx:
            self.east.get_parameter(Name=f"{self.root}/config/origins")
        self.assertEqual("ParameterNotFound", error_code(ctx.exception))
        self.assertEqual(5, self.east.get_parameter(Name=f"{burst}:five")["Parameter"]["Version"])

        self.server.stop(check=True)
        self.assertNoPlaintextAtRest("after kill -9 cycles and shutdown")
        self.assertNoPlaintextInOutput("kill -9 run")

    def test_expiration_passes_while_the_server_is_down(self):
        name = f"{self.root}/expires"
        deadline = utcnow() + datetime.timedelta(seconds=3)
        self.east.put_parameter(Name=name, Value=self.secret("EXP"), Type="SecureString",
                                Tier="Advanced",
                                Policies=json.dumps([expiration_policy(deadline)]))
        self.east.put_parameter(Name=f"{self.root}/stays", Value="stays", Type="String")
        self.assertEqual("SecureString", self.east.get_parameter(Name=name)["Parameter"]["Type"])
        self.server.stop(check=True)
        time.sleep(max(0.0, (deadline - utcnow()).total_seconds() + 0.3))
        self.server.start()
        self.reconnect()
        with self.assertRaises(ClientError) as ctx:
            self.east.get_parameter(Name=name, WithDecryption=True)
        self.assertEqual("ParameterNotFound", error_code(ctx.exception))
        listed = self.east.get_parameters_by_path(Path=self.root)["Parameters"]
        self.assertEqual([f"{self.root}/stays"], [p["Name"] for p in listed])
        self.server.stop(check=True)
        self.assertNoPlaintextInOutput("expiration run")


if __name__ == "__main__":
    unittest.main()
