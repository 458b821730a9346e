"""Durability and encryption-at-rest end-to-end tests.

* Acknowledged writes survive a graceful restart (SIGTERM, exit code 0) and a kill -9.
* No secret value ever appears in clear under the data directory (every file, raw bytes,
  including SQLite's -wal/-shm files and anything else the server writes there) nor in the
  server's stdout/stderr -- not as raw bytes, hex or base64.
"""

import base64
import os
import unittest
import uuid

from botocore.exceptions import ClientError

from coffer_server import CofferServer, error_code


def plaintext_forms(value):
    """Byte strings whose presence in a file would reveal `value` (bytes).

    The raw bytes, lower/upper hex, and the alignment-independent cores of its standard and
    URL-safe base64 encodings (a value embedded at any offset of a base64 stream contains one of
    the three cores)."""
    forms = {value, value.hex().encode(), value.hex().upper().encode()}
    for pad in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = enc(b"\x00" * pad + value)
            core = encoded[4 if pad else 0:-4]
            if len(core) >= 16:
                forms.add(core)
    return forms


class Marker:
    """A distinctive plaintext that must never be found at rest or in logs."""

    def __init__(self, kind):
        self.kind = kind
        self.token = f"COFFER-PLAINTEXT-{kind}-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"

    def string_value(self):
        return ('{"username":"svc","password":"' + self.token + '","engine":"postgres"}')

    def binary_value(self):
        return b"\x00\xffBIN" + self.token.encode() + b"\x01\x02\x03" + os.urandom(16)


class DurabilityTest(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.server = CofferServer()
        self.addCleanup(self.server.close)
        self.server.start()
        self.sm = self.server.client("secretsmanager")
        self.secret_values = []  # every plaintext value written (bytes)

    # -- helpers --------------------------------------------------------------------------------
    def track(self, value):
        self.secret_values.append(value.encode("utf-8") if isinstance(value, str) else value)
        return value

    def reconnect(self):
        self.sm = self.server.client("secretsmanager")

    def snapshot(self, names):
        """Everything observable about the given secrets: metadata and every version's value."""
        state = {}
        for name in names:
            desc = self.sm.describe_secret(SecretId=name)
            versions = self.sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)
            values = {}
            for v in versions["Versions"]:
                got = self.sm.get_secret_value(SecretId=name, VersionId=v["VersionId"])
                values[v["VersionId"]] = got.get("SecretString", got.get("SecretBinary"))
            state[name] = {
                "ARN": desc["ARN"],
                "Description": desc.get("Description"),
                "Tags": sorted((t["Key"], t["Value"]) for t in desc.get("Tags", [])),
                "VersionIdsToStages": {k: sorted(v) for k, v in
                                       desc.get("VersionIdsToStages", {}).items()},
                "values": values,
                "current": self.current_value(name),
            }
        return state

    def current_value(self, name):
        got = self.sm.get_secret_value(SecretId=name)
        return got.get("SecretString", got.get("SecretBinary"))

    def assertNoPlaintextAtRest(self, when):
        files = self.server.data_files()
        self.assertTrue(files, f"{when}: the data dir is empty; nothing was persisted?")
        total = 0
        for path in files:
            with open(path, "rb") as f:
                data = f.read()
            total += len(data)
            for value in self.secret_values:
                for form in plaintext_forms(value):
                    self.assertNotIn(
                        form, data,
                        f"{when}: plaintext of a secret value found in {path} "
                        f"({os.path.relpath(path, self.server.data_dir)})")
        self.assertGreater(total, 0, f"{when}: all data files are empty")

    def assertNoPlaintextInOutput(self, when):
        output = self.server.output()
        for value in self.secret_values:
            for form in plaintext_forms(value):
                self.assertNotIn(form, output, f"{when}: a secret value appears in server output")

    def populate(self):
        """Create string and binary secrets with several versions, tags and descriptions."""
        names = []
        # String secrets: three versions each (AWSCURRENT, AWSPREVIOUS, one deprecated).
        for i in range(3):
            name = f"durable/str-{i}-{uuid.uuid4().hex[:8]}"
            self.sm.create_secret(Name=name, Description=f"string secret {i}",
                                  SecretString=self.track(Marker(f"S{i}V1").string_value()),
                                  Tags=[{"Key": "kind", "Value": "string"}])
            self.sm.put_secret_value(SecretId=name,
                                     SecretString=self.track(Marker(f"S{i}V2").string_value()))
            self.sm.put_secret_value(SecretId=name,
                                     SecretString=self.track(Marker(f"S{i}V3").string_value()))
            names.append(name)
        # Binary secrets, plus an AWSPENDING version and a metadata update.
        for i in range(2):
            name = f"durable/bin-{i}-{uuid.uuid4().hex[:8]}"
            self.sm.create_secret(Name=name, SecretBinary=self.track(Marker(f"B{i}V1").binary_value()))
            self.sm.put_secret_value(SecretId=name,
                                     SecretBinary=self.track(Marker(f"B{i}V2").binary_value()),
                                     VersionStages=["AWSPENDING"])
            self.sm.update_secret(SecretId=name, Description=f"binary secret {i}")
            self.sm.tag_resource(SecretId=name, Tags=[{"Key": "kind", "Value": "binary"}])
            names.append(name)
        # A value written through UpdateSecret.
        name = f"durable/upd-{uuid.uuid4().hex[:8]}"
        self.sm.create_secret(Name=name, SecretString=self.track(Marker("U1").string_value()))
        self.sm.update_secret(SecretId=name, SecretString=self.track(Marker("U2").string_value()))
        names.append(name)
        return names

    def failing_writes_with_values(self, existing):
        """Requests that fail while carrying secret values (so logs of failures are covered)."""
        attempts = [
            lambda v: self.sm.create_secret(Name=existing, SecretString=v),
            lambda v: self.sm.put_secret_value(SecretId=f"durable/missing-{uuid.uuid4().hex}",
                                               SecretString=v),
            lambda v: self.sm.create_secret(Name="bad name " + uuid.uuid4().hex[:6],
                                            SecretString=v),
        ]
        for attempt in attempts:
            value = self.track(Marker("FAIL").string_value())
            with self.assertRaises(ClientError):
                attempt(value)

    # -- tests ----------------------------------------------------------------------------------
    def test_graceful_restart_keeps_everything(self):
        names = self.populate()
        self.failing_writes_with_values(names[0])
        scheduled = f"durable/scheduled-{uuid.uuid4().hex[:8]}"
        self.sm.create_secret(Name=scheduled,
                              SecretString=self.track(Marker("DEL").string_value()))
        self.sm.delete_secret(SecretId=scheduled, RecoveryWindowInDays=7)
        before = self.snapshot(names)
        self.assertNoPlaintextAtRest("while running")

        self.server.restart()  # SIGTERM; asserts exit code 0
        self.reconnect()
        self.assertEqual(before, self.snapshot(names))
        # A secret scheduled for deletion is still scheduled, and can be restored.
        self.assertIn("DeletedDate", self.sm.describe_secret(SecretId=scheduled))
        with self.assertRaises(ClientError) as ctx:
            self.sm.get_secret_value(SecretId=scheduled)
        self.assertEqual("InvalidRequestException", error_code(ctx.exception))
        self.sm.restore_secret(SecretId=scheduled)
        self.assertIn("COFFER-PLAINTEXT-DEL",
                      self.sm.get_secret_value(SecretId=scheduled)["SecretString"])

        # Writes after the restart work and survive a second restart.
        extra = self.track(Marker("AFTER").string_value())
        self.sm.put_secret_value(SecretId=names[0], SecretString=extra)
        self.server.restart()
        self.reconnect()
        self.assertEqual(extra, self.current_value(names[0]))

        self.server.stop(check=True)
        self.assertNoPlaintextAtRest("after graceful shutdown")
        self.assertNoPlaintextInOutput("graceful restart run")

    def test_kill9_after_acknowledged_writes(self):
        names = self.populate()
        # A burst of acknowledged writes right before the crash.
        burst_name = f"durable/burst-{uuid.uuid4().hex[:8]}"
        self.sm.create_secret(Name=burst_name,
                              SecretString=self.track(Marker("BURST0").string_value()))
        last = None
        for i in range(1, 21):
            last = self.track(Marker(f"BURST{i}").string_value())
            self.sm.put_secret_value(SecretId=burst_name, SecretString=last)
        names.append(burst_name)
        before = self.snapshot(names)

        self.server.kill9()
        # The crash left whatever was on disk (typically a SQLite -wal): scan it as it is.
        self.assertNoPlaintextAtRest("after kill -9, before restart")

        self.server.restart(hard=True)  # SIGKILL already sent; start on the same data dir
        self.reconnect()
        self.assertEqual(before, self.snapshot(names))
        self.assertEqual(last, self.current_value(burst_name))

        # Crash again right after new writes, including a brand-new secret.
        fresh = f"durable/fresh-{uuid.uuid4().hex[:8]}"
        fresh_value = self.track(Marker("FRESH").binary_value())
        self.sm.create_secret(Name=fresh, SecretBinary=fresh_value)
        newest = self.track(Marker("NEWEST").string_value())
        self.sm.put_secret_value(SecretId=names[0], SecretString=newest)
        self.server.restart(hard=True)
        self.reconnect()
        self.assertEqual(fresh_value, self.current_value(fresh))
        self.assertEqual(newest, self.current_value(names[0]))

        self.server.stop(check=True)
        self.assertNoPlaintextAtRest("after kill -9 cycles and shutdown")
        self.assertNoPlaintextInOutput("kill -9 run")

    def test_no_plaintext_while_running_with_fresh_writes(self):
        # Scan while the server is up and the writes are most likely only in the WAL.
        names = self.populate()
        self.failing_writes_with_values(names[1])
        self.assertTrue(names)
        self.assertNoPlaintextAtRest("while running, right after writes")
        self.assertNoPlaintextInOutput("while running")
        for name in names:
            self.assertIsNotNone(self.current_value(name))
        self.server.stop(check=True)

    def test_every_file_in_the_data_dir_is_private(self):
        self.populate()
        files = self.server.data_files()
        self.assertTrue(any(f.endswith("coffer.db") for f in files), files)
        for path in files:
            mode = os.stat(path).st_mode & 0o777
            self.assertEqual(mode & 0o077, 0, f"{path} has mode {oct(mode)}")
        self.assertEqual(os.stat(self.server.data_dir).st_mode & 0o077, 0)


if __name__ == "__main__":
    unittest.main()
