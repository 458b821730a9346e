#!/usr/bin/env python3
"""Write load for bench/postgres.sh: C concurrent clients, each with its own botocore client and
keep-alive connection, writing for S seconds; prints the acknowledged writes per second as JSON.

  writes.py ENDPOINT put-secret-value|put-parameter --clients C --seconds S

put-secret-value: each client first creates a secret of its own, then PutSecretValue on it
(a new version, AWSCURRENT moved: the write path with stage labels and the version limit);
after 90 versions (Secrets Manager keeps about 100 that are younger than a day) it creates its
next secret, which counts as a write too;
put-parameter: PutParameter Overwrite on a SecureString parameter of its own (a new version,
the tier count). Any error fails the run.

Credentials and region come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION.
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid

import make_request  # noqa: F401 - clears the machine's AWS profile, config and proxies
import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("endpoint")
    ap.add_argument("kind", choices=["put-secret-value", "put-parameter"])
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=15)
    args = ap.parse_args()
    run = uuid.uuid4().hex[:8]
    cfg = Config(retries={"total_max_attempts": 1}, max_pool_connections=2)
    clients = []
    for i in range(args.clients):
        service = "secretsmanager" if args.kind == "put-secret-value" else "ssm"
        c = boto3.session.Session().client(service, endpoint_url=args.endpoint, config=cfg,
                                           region_name=os.environ.get("AWS_REGION", "us-east-1"))
        name = f"bench-writes-{run}-{i}"
        if args.kind == "put-secret-value":
            c.create_secret(Name=name, SecretString="v0")
        clients.append((c, name))
    counts = [0] * args.clients
    errors = []
    start = threading.Event()
    deadline = [0.0]

    def work(i):
        c, name = clients[i]
        start.wait()
        n = 0
        generation = 0
        while time.monotonic() < deadline[0]:
            try:
                if args.kind == "put-secret-value" and n % 90 == 89:
                    generation += 1
                    name = f"{clients[i][1]}-{generation}"
                    c.create_secret(Name=name, SecretString="v0")
                elif args.kind == "put-secret-value":
                    c.put_secret_value(SecretId=name, SecretString=f"value-{n}")
                else:
                    c.put_parameter(Name="/" + name, Value=f"value-{n}", Type="SecureString",
                                    Overwrite=True)
            except Exception as e:  # noqa: BLE001 - reported
                errors.append(repr(e))
                return
            n += 1
        counts[i] = n

    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    began = time.monotonic()
    deadline[0] = began + args.seconds
    start.set()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    if errors:
        print(f"writes.py: {len(errors)} errors, e.g. {errors[0]}", file=sys.stderr)
        return 1
    print(json.dumps({"writes": sum(counts), "seconds": round(elapsed, 2),
                      "writes_per_s": round(sum(counts) / elapsed, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
