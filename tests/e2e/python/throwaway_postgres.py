"""A throwaway PostgreSQL server for tests: Debian's postgresql package's programs, run as the
postgres user from a temporary directory, listening only on 127.0.0.1 at a free port, with
password (SCRAM) authentication. Used by the rotation tests (a database to rotate credentials
of) and by tests/e2e/with_postgres.py (coffer's own PostgreSQL store).
"""

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid


def describe_proc(proc):
    return (f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n"
            f"--- stderr ---\n{proc.stderr}")


class ThrowawayPostgres:
    """A PostgreSQL server of this machine's Debian package, run as the postgres user from a
    temp dir, listening only on 127.0.0.1 at a free port."""

    def __init__(self, durable=False, tls=False):
        """durable: keep PostgreSQL's fsync and synchronous commit (benchmarks); tests turn
        them off, since they never crash the machine. tls: serve TLS too, with a certificate for
        127.0.0.1 and localhost issued by a CA of its own (ca_file)."""
        self.durable = durable
        self.tls = tls
        self.ca_file = None
        self.bindir = self.find_bindir()
        self.dir = None
        self.port = None
        self.superuser = "postgres"
        self.superuser_password = "su-" + uuid.uuid4().hex
        self.started = False

    @staticmethod
    def find_bindir():
        candidates = [os.environ.get("COFFER_PG_BINDIR")] + sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(re.sub(r"\D", "", p.split("/")[-2]) or 0), reverse=True)
        for d in candidates:
            if d and all(os.access(os.path.join(d, p), os.X_OK) for p in ("initdb", "pg_ctl")):
                return d
        raise RuntimeError(
            "PostgreSQL's server programs (initdb, pg_ctl) are not installed: looked in "
            "$COFFER_PG_BINDIR and /usr/lib/postgresql/<version>/bin. Install Debian's postgresql "
            "package (scripts/install-deps.sh).")

    def psql_path(self):
        p = os.path.join(self.bindir, "psql")
        return p if os.access(p, os.X_OK) else (shutil.which("psql") or p)

    def as_postgres(self, argv):
        if os.geteuid() != 0:
            return argv
        runuser = next((p for p in ("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser")
                        if os.access(p, os.X_OK)), None)
        if runuser is None:
            raise RuntimeError("running as root, and PostgreSQL refuses to: runuser is needed")
        return [runuser, "-u", "postgres", "--", *argv]

    def run(self, argv, what):
        proc = subprocess.run(self.as_postgres(argv), cwd=self.dir, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=90)
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed: {describe_proc(proc)}")
        return proc

    @staticmethod
    def free_port():
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def start(self):
        pg = None
        if os.geteuid() == 0:
            try:
                pg = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root needs the 'postgres' system user (Debian's "
                                   "postgresql package creates it)")
        # Under /tmp: a short socket path the postgres user can reach.
        self.dir = tempfile.mkdtemp(prefix="coffer-pg-", dir="/tmp")
        pwfile = os.path.join(self.dir, "pwfile")
        with open(pwfile, "w") as f:
            f.write(self.superuser_password + "\n")
        os.chmod(pwfile, 0o600)
        if pg is not None:
            os.chown(self.dir, pg.pw_uid, pg.pw_gid)
            os.chown(pwfile, pg.pw_uid, pg.pw_gid)
        os.chmod(self.dir, 0o700)
        data = os.path.join(self.dir, "data")
        self.run([os.path.join(self.bindir, "initdb"), "-D", data, "-U", self.superuser,
                  "--auth=scram-sha-256", f"--pwfile={pwfile}", "--locale=C", "--encoding=UTF8",
                  "--no-sync"], "initdb")
        os.unlink(pwfile)
        tls_conf = self.make_certificates(data, pg) if self.tls else ""
        failure = None
        for _ in range(3):  # another process may take the port between the pick and the bind
            self.port = self.free_port()
            with open(os.path.join(data, "postgresql.conf"), "a") as conf:
                conf.write("\n# coffer rotation e2e\n"
                           "listen_addresses = '127.0.0.1'\n"
                           f"port = {self.port}\n"
                           f"unix_socket_directories = '{self.dir}'\n" + tls_conf
                           + ("" if self.durable else
                              "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"))
            try:
                self.run([os.path.join(self.bindir, "pg_ctl"), "-D", data, "-l",
                          os.path.join(self.dir, "server.log"), "-w", "-t", "30", "start"],
                         "pg_ctl start")
                self.started = True
                return self
            except RuntimeError as e:
                failure = e
        raise failure

    def make_certificates(self, data, pg):
        """A CA and a server certificate for 127.0.0.1 and localhost, in `data`; returns the
        postgresql.conf lines that turn TLS on."""
        def openssl(*args):
            proc = subprocess.run(["openssl", *args], cwd=self.dir, capture_output=True,
                                  text=True, timeout=60)
            if proc.returncode != 0:
                raise RuntimeError(f"openssl {args[0]} failed: {describe_proc(proc)}")
        ext = os.path.join(self.dir, "san.ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
                "ca.crt", "-days", "2", "-subj", "/CN=coffer test CA")
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "data/server.key", "-out",
                "server.csr", "-subj", "/CN=localhost")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", "data/server.crt", "-days", "2", "-extfile", ext)
        for name in ("server.key", "server.crt"):
            path = os.path.join(data, name)
            os.chmod(path, 0o600)
            if pg is not None:
                os.chown(path, pg.pw_uid, pg.pw_gid)
        self.ca_file = os.path.join(self.dir, "ca.crt")
        return "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"

    def pause(self):
        """Stops the server (fast shutdown: sessions are cut), keeping its data and port."""
        data = os.path.join(self.dir, "data")
        self.run([os.path.join(self.bindir, "pg_ctl"), "-D", data, "-m", "fast", "-w", "-t",
                  "30", "stop"], "pg_ctl stop")

    def resume(self):
        """Starts the server paused() stopped, on the same port."""
        data = os.path.join(self.dir, "data")
        self.run([os.path.join(self.bindir, "pg_ctl"), "-D", data, "-l",
                  os.path.join(self.dir, "server.log"), "-w", "-t", "30", "start"],
                 "pg_ctl start")

    def dump(self, dbname):
        """pg_dump of `dbname` (plain SQL, data included) as bytes."""
        env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": self.superuser_password,
               "PGSSLMODE": "disable"}
        pg_dump = os.path.join(self.bindir, "pg_dump")
        proc = subprocess.run([pg_dump if os.access(pg_dump, os.X_OK) else "pg_dump", "-h",
                               "127.0.0.1", "-p", str(self.port), "-U", self.superuser, dbname],
                              stdin=subprocess.DEVNULL, capture_output=True, env=env,
                              timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"pg_dump failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout

    def stop(self):
        if self.dir is None:
            return
        data = os.path.join(self.dir, "data")
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            subprocess.run(self.as_postgres([os.path.join(self.bindir, "pg_ctl"), "-D", data,
                                             "-m", "immediate", "-w", "-t", "30", "stop"]),
                           cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def psql(self, user, password, sql, dbname="postgres"):
        """Runs `sql` as user/password over TCP; returns the CompletedProcess (rc 0 = ok)."""
        env = {"PATH": "/usr/bin:/bin", "PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5",
               "PGSSLMODE": "disable", "PGAPPNAME": "coffer-e2e"}
        return subprocess.run([self.psql_path(), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-h", "127.0.0.1", "-p", str(self.port), "-U", user, "-d", dbname,
                               "-c", sql], stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, env=env, timeout=30)

    def su(self, sql, dbname="postgres"):
        proc = self.psql(self.superuser, self.superuser_password, sql, dbname)
        if proc.returncode != 0:
            raise AssertionError(f"as the superuser: {sql!r}: {describe_proc(proc)}")
        return proc.stdout.strip()

    def url(self, dbname="postgres"):
        """A libpq URL for the superuser."""
        return (f"postgresql://{self.superuser}:{self.superuser_password}@127.0.0.1:{self.port}/"
                f"{dbname}?sslmode=disable")
