#!/usr/bin/env python3
"""Runs a command with a throwaway PostgreSQL server (python/throwaway_postgres.py) and its URL in
COFFER_TEST_POSTGRES_URL, then stops the server; exits with the command's status.

  with_postgres.py [--durable] COMMAND [ARGS...]

--durable keeps PostgreSQL's fsync and synchronous commit on (benchmarks); tests run without.

The unit tests' store fixture (src/testing/test_store.h) then opens every store on it, each test
in a schema of its own: the store conformance run of `make test`.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "python"))
from throwaway_postgres import ThrowawayPostgres  # noqa: E402


def main():
    argv = sys.argv[1:]
    durable = bool(argv) and argv[0] == "--durable"
    if durable:
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    pg = ThrowawayPostgres(durable=durable)
    try:
        pg.start()
        env = dict(os.environ, COFFER_TEST_POSTGRES_URL=pg.url())
        return subprocess.run(argv, env=env).returncode
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
