"""End-to-end tests of coffer's PostgreSQL store (`coffer server --store postgresql://...`) on a
throwaway PostgreSQL server of its own:

* the database never holds a value in clear: a pg_dump holds none of the secrets, parameters or
  KMS plaintexts written, in any common encoding, though it holds their names;
* a database that goes away and comes back is reconnected to without restarting coffer; calls
  while it is down fail with ServiceUnavailable (which SDKs retry), never a wrong answer, and
  nothing acknowledged is lost;
* a data directory with a SQLite store is not used for a PostgreSQL one (several nodes on one
  database: test_postgres_cluster.py);
* TLS to the database with sslmode=verify-full: the connections are encrypted, and a server
  whose certificate another CA issued is refused;
* `coffer backup create` on a PostgreSQL-backed server, restored onto SQLite and onto another
  PostgreSQL database (and a SQLite server's backup onto PostgreSQL): every restored server
  answers as the original did.
(The API suites themselves run on PostgreSQL in ctest's e2e_boto3_postgres.)
"""

import base64
import json
import os
import subprocess
import time
import unittest
import uuid

from coffer_server import DEFAULT_KEY_ID, DEFAULT_SECRET, CofferServer, coffer_binary, error_code
from throwaway_postgres import ThrowawayPostgres  # noqa: E402


def canary(kind):
    return f"COFFER-PG-CANARY-{kind}-{uuid.uuid4().hex}"


def encodings(value):
    raw = value.encode() if isinstance(value, str) else value
    forms = {raw, raw.hex().encode(), base64.b64encode(raw), base64.b64encode(raw)[4:-4]}
    return forms


class PostgresStoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = ThrowawayPostgres()
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()

    def new_database(self):
        name = "coffer_" + uuid.uuid4().hex[:12]
        self.pg.su(f"CREATE DATABASE {name}")
        return name

    def server_on(self, dbname, **kwargs):
        server = CofferServer(extra_args=["--store", self.pg.url(dbname)], **kwargs)
        self.addCleanup(server.close)
        server.start()
        return server

    def test_no_value_reaches_the_database_in_clear(self):
        db = self.new_database()
        server = self.server_on(db)
        sm = server.client("secretsmanager")
        ssm = server.client("ssm")
        kms = server.client("kms")
        values = [canary("string"), canary("param"), canary("kms")]
        binary = os.urandom(48)
        sm.create_secret(Name="pg-canary", SecretString=values[0])
        sm.create_secret(Name="pg-binary", SecretBinary=binary)
        ssm.put_parameter(Name="/pg/canary", Value=values[1], Type="SecureString")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.encrypt(KeyId=key, Plaintext=values[2].encode())
        self.assertEqual(values[0], sm.get_secret_value(SecretId="pg-canary")["SecretString"])
        dump = self.pg.dump(db)
        self.assertIn(b"pg-canary", dump, "the dump holds the store (names are in clear)")
        self.assertIn(b"/pg/canary", dump)
        for value in values + [binary]:
            for form in encodings(value):
                self.assertNotIn(form, dump, "a value is in the database in clear")

    def test_a_database_that_goes_away_and_comes_back_is_reconnected_to(self):
        db = self.new_database()
        server = self.server_on(db)
        sm = server.client("secretsmanager")
        sm.create_secret(Name="before", SecretString="acknowledged")
        self.pg.pause()
        try:
            for call in (lambda: sm.get_secret_value(SecretId="before"),
                         lambda: sm.create_secret(Name="during", SecretString="x")):
                with self.assertRaises(Exception) as caught:
                    call()
                self.assertEqual("ServiceUnavailable", error_code(caught.exception),
                                 caught.exception)
        finally:
            self.pg.resume()
        deadline = time.monotonic() + 20
        while True:
            try:
                got = sm.get_secret_value(SecretId="before")["SecretString"]
                break
            except Exception:  # noqa: BLE001 - retried until the deadline
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.assertEqual("acknowledged", got)
        sm.create_secret(Name="after", SecretString="written again")
        self.assertEqual("written again", sm.get_secret_value(SecretId="after")["SecretString"])
        names = {s["Name"] for s in sm.list_secrets()["SecretList"]}
        self.assertIn("before", names)
        self.assertNotIn("during", names)
        self.assertTrue(server.running())

    def start_expecting_exit(self, args):
        proc = subprocess.run([coffer_binary(), "server", "--listen", "127.0.0.1:0"] + args,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60)
        return proc.returncode, proc.stdout + proc.stderr

    def test_a_data_directory_per_store(self):
        # A data directory that holds a SQLite store is not used for a PostgreSQL one.
        sqlite_server = CofferServer()
        self.addCleanup(sqlite_server.close)
        sqlite_server.start()
        sqlite_server.stop()
        rc, out = self.start_expecting_exit(["--data-dir", sqlite_server.data_dir, "--store",
                                             self.pg.url(self.new_database())])
        self.assertNotEqual(0, rc)
        self.assertIn("holds a SQLite store", out)
        self.assertNotIn(self.pg.superuser_password, out)
        rc, out = self.start_expecting_exit(["--data-dir", os.path.join(sqlite_server.root, "new"),
                                             "--store", "mysql://x"])
        self.assertNotEqual(0, rc)
        self.assertIn("--store takes a PostgreSQL URL", out)


    def run_coffer(self, args, env_extra=None):
        env = dict(os.environ, AWS_ACCESS_KEY_ID=DEFAULT_KEY_ID,
                   AWS_SECRET_ACCESS_KEY=DEFAULT_SECRET, **(env_extra or {}))
        proc = subprocess.run([coffer_binary()] + args, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stdout + proc.stderr)
        return proc

    @staticmethod
    def answers(server):
        sm = server.client("secretsmanager")
        ssm = server.client("ssm")
        out = {}
        for s in sm.list_secrets()["SecretList"]:
            versions = sm.list_secret_version_ids(SecretId=s["Name"])["Versions"]
            out[s["Name"]] = sorted(
                (v["VersionId"], tuple(sorted(v["VersionStages"])),
                 sm.get_secret_value(SecretId=s["Name"], VersionId=v["VersionId"])["SecretString"])
                for v in versions)
        for p in ssm.describe_parameters()["Parameters"]:
            out[p["Name"]] = [(h["Version"], h["Value"], tuple(h.get("Labels", []))) for h in
                              ssm.get_parameter_history(Name=p["Name"], WithDecryption=True)
                              ["Parameters"]]
        return out

    def test_backups_move_between_the_engines(self):
        db = self.new_database()
        original = self.server_on(db)
        sm = original.client("secretsmanager")
        ssm = original.client("ssm")
        for i in range(3):
            sm.create_secret(Name=f"moved-{i}", SecretString=canary(f"moved{i}"))
            sm.put_secret_value(SecretId=f"moved-{i}", SecretString=canary(f"moved{i}b"),
                                VersionStages=["AWSCURRENT", "NEXT"])
        ssm.put_parameter(Name="/moved/p", Value="one", Type="SecureString")
        ssm.put_parameter(Name="/moved/p", Value="two", Type="SecureString", Overwrite=True)
        ssm.label_parameter_version(Name="/moved/p", ParameterVersion=1, Labels=["first"])
        want = self.answers(original)
        root_key = os.path.join(original.data_dir, "root.key")
        backup = os.path.join(original.root, "pg.cbk")
        self.run_coffer(["backup", "create", "--to", backup, "--endpoint", original.endpoint])

        # Onto SQLite.
        sqlite_dir = os.path.join(original.root, "as-sqlite")
        self.run_coffer(["backup", "restore", "--from", backup, "--data-dir", sqlite_dir,
                         "--root-key", root_key])
        with CofferServer(data_dir=sqlite_dir, use_env_credentials=False) as on_sqlite:
            self.assertEqual(want, self.answers(on_sqlite))
        # Onto another PostgreSQL database, and writes go on there (the ids continue).
        other = self.new_database()
        pg_dir = os.path.join(original.root, "as-postgres")
        self.run_coffer(["backup", "restore", "--from", backup, "--data-dir", pg_dir,
                         "--root-key", root_key, "--store", self.pg.url(other)])
        restored = CofferServer(data_dir=pg_dir, use_env_credentials=False,
                                extra_args=["--store", self.pg.url(other)])
        self.addCleanup(restored.close)
        restored.start()
        self.assertEqual(want, self.answers(restored))
        restored.client("secretsmanager").create_secret(Name="after-restore", SecretString="x")
        restored.client("ssm").put_parameter(Name="/after/restore", Value="y", Type="String")
        # A database that holds a deployment is not restored over.
        proc = subprocess.run([coffer_binary(), "backup", "restore", "--from", backup,
                               "--data-dir", os.path.join(original.root, "again"), "--root-key",
                               root_key, "--store", self.pg.url(other)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("already holds a deployment", proc.stderr)


class PostgresTlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = ThrowawayPostgres(tls=True)
        cls.addClassCleanup(cls.pg.stop)
        cls.pg.start()

    def test_verify_full_connects_encrypted_and_refuses_another_ca(self):
        self.pg.su("CREATE DATABASE coffer_tls")
        base = self.pg.url("coffer_tls").replace("sslmode=disable", "sslmode=verify-full")
        url = f"{base}&sslrootcert={self.pg.ca_file}&application_name=coffer-tls-test"
        server = CofferServer(extra_args=["--store", url])
        self.addCleanup(server.close)
        server.start()
        sm = server.client("secretsmanager")
        sm.create_secret(Name="over-tls", SecretString="encrypted in transit")
        self.assertEqual("encrypted in transit",
                         sm.get_secret_value(SecretId="over-tls")["SecretString"])
        seen = self.pg.su("SELECT string_agg(DISTINCT s.ssl::text, ',') FROM pg_stat_ssl s JOIN "
                          "pg_stat_activity a USING (pid) WHERE a.application_name = "
                          "'coffer-tls-test'")
        self.assertEqual("true", seen, "every coffer connection uses TLS")
        server.stop()

        # A certificate another CA issued (the one of a second throwaway server) is refused.
        other = ThrowawayPostgres(tls=True)
        self.addCleanup(other.stop)
        other.start()
        wrong = f"{base}&sslrootcert={other.ca_file}"
        proc = subprocess.run([coffer_binary(), "server", "--listen", "127.0.0.1:0", "--data-dir",
                               os.path.join(server.root, "wrong-ca"), "--store", wrong],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=60)
        self.assertNotEqual(0, proc.returncode)
        self.assertIn("certificate verify failed", proc.stdout + proc.stderr)
        self.assertNotIn(self.pg.superuser_password, proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()
