#!/usr/bin/env python3
"""Secrets Manager side of bench/secrets.sh: populates a store and signs ListSecrets requests.

  secrets_store.py populate ENDPOINT --total N [--workers W] [--summary FILE]
      Creates N secrets through the API (CreateSecret, concurrently from W threads, each with its
      own botocore client and keep-alive connection), in a shuffled (seeded) order:
        bench/hot/s-00000 ... s-(N/10-1)       N/10 secrets whose name has the word "hot"
        bench/other-NN/s-KKKKK                 the other 9N/10, over 90 paths (9 when N < 1000)
      Each value is a ~190-byte JSON document under the default key. Then lists the store back
      (ListSecrets, pages of 100) and checks the count. The summary (JSON) has the counts, the
      elapsed time and the create rate.

  secrets_store.py sign ENDPOINT OUT_DIR STEM BODY_JSON --expect-count N [--expect-more]
                        [--advance PAGES]
      Signs ONE secretsmanager.ListSecrets request (with --advance, the request for the page
      after PAGES pages of the same query, its NextToken found by paging there first), writes
      STEM.lua (a wrk script replaying it, with bench/make_request.py's status hooks), STEM.body
      and STEM.curl, then sends that exact request once and checks the answer: N entries, with
      a NextToken if --expect-more, without one otherwise. Prints RESPONSE_BYTES=....

Credentials and region come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION (the
server's root key); make_request.py's import clears profiles, config files and proxies.
"""

import argparse
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_request  # noqa: E402  (clears the AWS environment on import)
from params_store import put_concurrently, send_once  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402


def layout(total):
    """The names of a store of TOTAL secrets (see the docstring)."""
    hot = total // 10
    others = total - hot
    paths = 90 if total >= 1000 else 9
    if hot < 10 or others < paths:
        sys.exit(f"unsupported store size {total}: need N >= 100")
    names = [f"bench/hot/s-{i:05d}" for i in range(hot)]
    names += [f"bench/other-{j % paths:02d}/s-{j // paths:05d}" for j in range(others)]
    return names


def env_creds():
    return (Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]),
            os.environ.get("AWS_REGION", "us-east-1"))


def sm_client(endpoint, creds, region):
    return boto3.session.Session().client(
        "secretsmanager", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=2,
                      connect_timeout=10, read_timeout=60))


def populate(args):
    make_request.check_loopback(args.endpoint)
    creds, region = env_creds()
    items = layout(args.total)
    random.Random(20261204).shuffle(items)
    total = len(items)
    _, elapsed = put_concurrently(
        items, args.workers, lambda: sm_client(args.endpoint, creds, region),
        lambda client, name: client.create_secret(Name=name,
                                                  SecretString=make_request.SECRET_STRING),
        "CreateSecret", args.progress_every)

    listed = 0
    client = sm_client(args.endpoint, creds, region)
    for page in client.get_paginator("list_secrets").paginate(
            PaginationConfig={"PageSize": 100}):
        listed += len(page["SecretList"])
    if listed != total:
        sys.exit(f"store check failed: listed {listed:,} secrets, created {total:,}")
    summary = {"secrets": total, "hot": total // 10, "workers": args.workers,
               "seconds": round(elapsed, 1), "creates_per_s": round(total / elapsed, 1)}
    print(f"  populate: {total:,} secrets in {elapsed:,.1f} s ({total / elapsed:,.0f}/s); "
          f"listed back {listed:,}", file=sys.stderr, flush=True)
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f)
            f.write("\n")


def sign(args):
    creds, region = env_creds()
    query = json.loads(args.body)
    if args.advance:
        client = sm_client(args.endpoint, creds, region)
        token = None
        for _ in range(args.advance):
            page = client.list_secrets(**query, **({"NextToken": token} if token else {}))
            token = page.get("NextToken")
            if not token:
                sys.exit(f"the query has fewer than {args.advance + 1} pages")
        query["NextToken"] = token
    body = json.dumps(query, separators=(",", ":"))
    target = "secretsmanager.ListSecrets"
    headers = make_request.sign_json_request(creds, region, "secretsmanager", args.endpoint,
                                             target, body)
    os.makedirs(args.out_dir, exist_ok=True)
    make_request.write_replay_files(
        args.out_dir, args.stem + ".lua", args.stem + ".body", args.stem + ".curl", body, headers,
        f"-- generated by bench/secrets_store.py: replay one pre-signed {target}\n")
    status, raw = send_once(args.endpoint, body, headers)
    if status != 200:
        sys.exit(f"{target} answered {status}: {raw[:400]!r}")
    doc = json.loads(raw)
    got = len(doc.get("SecretList", []))
    if got != args.expect_count or ("NextToken" in doc) != args.expect_more:
        sys.exit(f"{target} returned {got} entries (NextToken: {'NextToken' in doc}), not "
                 f"{args.expect_count} {'with' if args.expect_more else 'without'} a NextToken")
    print(f"RESPONSE_BYTES={len(raw)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("populate")
    p.add_argument("endpoint")
    p.add_argument("--total", type=int, required=True)
    p.add_argument("--workers", type=int, default=24)
    p.add_argument("--summary")
    p.add_argument("--progress-every", type=float, default=10.0)
    p = sub.add_parser("sign")
    p.add_argument("endpoint")
    p.add_argument("out_dir")
    p.add_argument("stem")
    p.add_argument("body")
    p.add_argument("--expect-count", type=int, required=True)
    p.add_argument("--expect-more", action="store_true", help="the page must have a NextToken")
    p.add_argument("--advance", type=int, default=0)
    args = ap.parse_args()
    args.endpoint = args.endpoint.rstrip("/")
    if args.cmd == "populate":
        if args.workers < 1:
            sys.exit("--workers must be >= 1")
        populate(args)
    else:
        sign(args)


if __name__ == "__main__":
    main()
