"""End-to-end tests of coffer's PostgreSQL store (`coffer server --store postgresql://...`) on a
throwaway PostgreSQL server of its own:

* the database never holds a value in clear: a pg_dump holds none of the secrets, parameters or
  KMS plaintexts written, in any common encoding, though it holds their names;
* a database that goes away and comes back is reconnected to without restarting coffer; calls
  while it is down fail with ServiceUnavailable (which SDKs retry), never a wrong answer, and
  nothing acknowledged is lost;
* one coffer node per database: a second is refused; a data directory with a SQLite store is
  not used for a PostgreSQL one.
(The API suites themselves run on PostgreSQL in ctest's e2e_boto3_postgres.)
"""

import base64
import os
import subprocess
import time
import unittest
import uuid

from coffer_server import CofferServer, coffer_binary, error_code
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

    def test_one_node_per_database_and_a_data_directory_per_store(self):
        db = self.new_database()
        server = self.server_on(db)
        second = os.path.join(server.root, "second")
        rc, out = self.start_expecting_exit(["--data-dir", second, "--store", self.pg.url(db)])
        self.assertNotEqual(0, rc)
        self.assertIn("another coffer node serves this PostgreSQL store", out)
        self.assertNotIn(self.pg.superuser_password, out)
        # A data directory that holds a SQLite store is not used for a PostgreSQL one.
        sqlite_server = CofferServer()
        self.addCleanup(sqlite_server.close)
        sqlite_server.start()
        sqlite_server.stop()
        rc, out = self.start_expecting_exit(["--data-dir", sqlite_server.data_dir, "--store",
                                             self.pg.url(self.new_database())])
        self.assertNotEqual(0, rc)
        self.assertIn("holds a SQLite store", out)
        rc, out = self.start_expecting_exit(["--data-dir", second, "--store", "mysql://x"])
        self.assertNotEqual(0, rc)
        self.assertIn("--store takes a PostgreSQL URL", out)


if __name__ == "__main__":
    unittest.main()
