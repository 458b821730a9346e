#!/usr/bin/env python3
"""Parameter Store side of bench/params.sh: populates a store and signs requests to replay.

  params_store.py populate ENDPOINT --total N [--workers W] [--summary FILE]
      Creates N parameters through the API (PutParameter, concurrently from W threads, each with
      its own botocore client and keep-alive connection), prints progress, then checks the
      layout by listing (DescribeParameters). The layout, for N = 100,000 (scaled with N):
        /bench/hot/p-00000 ... p-09999      N/10 String parameters, Standard tier: the measured
                                            path, one level deep
        /bench/other-NN/p-KKKKK             the other 9N/10, Advanced tier, spread evenly over
                                            90 paths (9 when N < 1000)
        /bench/other-00/db-password         one of those: a SecureString (alias/aws/ssm)
      i.e. 10,000 Standard + 90,000 Advanced, inside the per-region limits (10,000 Standard,
      100,000 Advanced). Names are put in a shuffled (seeded) order. The summary (JSON) has the
      counts, the elapsed time, the put rate and the rate per tenth of the population.

  params_store.py check ENDPOINT --total N
      Only the listing check that follows a populate (for a store populated earlier).

  params_store.py names --total N
      Prints the measured names as shell assignments (HOT_PATH, HOT_NAME, SECURE_NAME, ...).

  params_store.py sign ENDPOINT OUT_DIR STEM OPERATION BODY_JSON [--expect-name NAME]
                       [--expect-count N [--expect-more]]
      Signs ONE AmazonSSM.<OPERATION> request (SigV4 service "ssm") with botocore, writes
      STEM.lua (a wrk script replaying it, with bench/make_request.py's status hooks), STEM.body
      and STEM.curl, then sends that exact request once and checks the answer (200; the expected
      parameter name, or a full page of N entries, with a NextToken if --expect-more, without
      one otherwise). Prints RESPONSE_BYTES=... for the report.

Credentials and region come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION (the
server's root key); make_request.py's import clears profiles, config files and proxies.
"""

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_request  # noqa: E402  (clears the AWS environment on import)

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

HOT_PATH = "/bench/hot"
SECURE_NAME = "/bench/other-00/db-password"
STANDARD_LIMIT = 10000
ADVANCED_LIMIT = 100000


def layout(total):
    """Returns [(name, type, tier, value)] for a store of TOTAL parameters (see the docstring)."""
    hot = total // 10
    others = total - hot
    paths = 90 if total >= 1000 else 9
    if hot < 10 or hot > STANDARD_LIMIT or others > ADVANCED_LIMIT or others < paths:
        sys.exit(f"unsupported store size {total}: need 100 <= N <= 110,000")
    items = []
    for i in range(hot):
        items.append((f"{HOT_PATH}/p-{i:05d}", "String", "Standard",
                      f"https://hot-{i:05d}.svc.internal.example.com:8443/api/v2?timeout=30"))
    for j in range(others):
        path = j % paths
        k = j // paths
        name = f"/bench/other-{path:02d}/p-{k:05d}"
        kind, value = "String", f"jdbc:postgresql://db-{path:02d}.internal.example.com:5432/app{k}"
        if j == 0:
            name, kind, value = SECURE_NAME, "SecureString", "Zr8#qL2!vW9x$Kp4mN7@tB1cF6hJ3sD0"
        items.append((name, kind, "Advanced", value))
    return items


def names(total):
    hot = total // 10
    return {
        "HOT_PATH": HOT_PATH,
        "HOT_COUNT": hot,
        "HOT_NAME": f"{HOT_PATH}/p-{hot // 2:05d}",  # the middle of the measured path
        "SECURE_NAME": SECURE_NAME,
        "OTHER_PATHS": 90 if total >= 1000 else 9,
    }


def env_creds():
    return (Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]),
            os.environ.get("AWS_REGION", "us-east-1"))


def ssm_client(endpoint, creds, region):
    return boto3.session.Session().client(
        "ssm", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        config=Config(retries={"max_attempts": 1}, max_pool_connections=2,
                      connect_timeout=10, read_timeout=60))


def check_store(endpoint, creds, region, total):
    """Lists the store through the API: every parameter, its tier, and the measured path full.
    Exits when the layout is not the one layout(TOTAL) creates."""
    client = ssm_client(endpoint, creds, region)
    t0 = time.monotonic()
    listed, tiers = 0, {}
    for page in client.get_paginator("describe_parameters").paginate(
            PaginationConfig={"PageSize": 50}):
        for p in page["Parameters"]:
            listed += 1
            tiers[p["Tier"]] = tiers.get(p["Tier"], 0) + 1
    n = names(total)
    hot_listed = 0
    for page in client.get_paginator("get_parameters_by_path").paginate(
            Path=HOT_PATH, PaginationConfig={"PageSize": 10}):
        hot_listed += len(page["Parameters"])
    verify_s = time.monotonic() - t0
    expected_tiers = {"Standard": n["HOT_COUNT"], "Advanced": total - n["HOT_COUNT"]}
    if listed != total or hot_listed != n["HOT_COUNT"] or tiers != expected_tiers:
        sys.exit(f"store check failed: listed {listed} (want {total}), {HOT_PATH} has "
                 f"{hot_listed} (want {n['HOT_COUNT']}), tiers {tiers} (want {expected_tiers})")
    return listed, tiers, hot_listed, verify_s


def put_concurrently(items, workers, make_client, put, what, progress_every):
    """Calls put(client, item) for every item from `workers` threads, each with its own client
    (and keep-alive connection), printing progress; exits on the first failure. The clock starts
    once every client exists. Returns ([(done, monotonic) at each tenth of the items, starting
    with (0, start)], elapsed seconds)."""
    total = len(items)
    lock = threading.Lock()
    state = {"next": 0, "done": 0, "failed": None}
    marks = []  # (done, monotonic) at each tenth

    def start_clock():
        marks.append((0, time.monotonic()))

    ready = threading.Barrier(workers + 1, action=start_clock)

    def worker():
        try:
            client = make_client()
        except Exception as e:  # noqa: BLE001
            with lock:
                state["failed"] = state["failed"] or f"creating a client: {e}"
            ready.abort()
            return
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        while True:
            with lock:
                if state["failed"] or state["next"] >= total:
                    return
                item = items[state["next"]]
                state["next"] += 1
            try:
                put(client, item)
            except Exception as e:  # noqa: BLE001 — any failure stops the population
                name = item[0] if isinstance(item, tuple) else item
                with lock:
                    state["failed"] = state["failed"] or f"{name}: {e}"
                return
            with lock:
                state["done"] += 1
                while len(marks) <= state["done"] * 10 // total:  # crossed a tenth
                    marks.append((state["done"], time.monotonic()))

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    try:
        ready.wait(timeout=120)
    except threading.BrokenBarrierError:
        sys.exit(f"the {what} workers did not start: {state['failed'] or 'timeout'}")
    start = marks[0][1]
    last_done, last_t = 0, start
    while any(t.is_alive() for t in threads):
        time.sleep(0.25)
        now = time.monotonic()
        if now - last_t >= progress_every or not any(t.is_alive() for t in threads):
            with lock:
                done = state["done"]
            rate_now = (done - last_done) / (now - last_t)
            print(f"  populate: {done:,}/{total:,} {what}, {rate_now:,.0f}/s now, "
                  f"{done / (now - start):,.0f}/s overall, {now - start:,.0f} s",
                  file=sys.stderr, flush=True)
            last_done, last_t = done, now
    elapsed = time.monotonic() - start
    if state["failed"]:
        sys.exit(f"{what} failed after {state['done']:,}: {state['failed']}")
    if state["done"] != total:
        sys.exit(f"only {state['done']:,} of {total:,} {what} calls completed")
    return marks, elapsed


def populate(args):
    make_request.check_loopback(args.endpoint)
    creds, region = env_creds()
    items = layout(args.total)
    random.Random(20261128).shuffle(items)
    total = len(items)

    def put(client, item):
        name, kind, tier, value = item
        out = client.put_parameter(Name=name, Type=kind, Tier=tier, Value=value)
        if out.get("Version") != 1 or out.get("Tier") != tier:
            raise RuntimeError(f"unexpected PutParameter answer for {name}: {out}")

    marks, elapsed = put_concurrently(items, args.workers,
                                      lambda: ssm_client(args.endpoint, creds, region), put,
                                      "PutParameter", args.progress_every)

    listed, tiers, hot_listed, verify_s = check_store(args.endpoint, creds, region, args.total)
    tenths = []
    for (d0, ta), (d1, tb) in zip(marks, marks[1:]):
        tenths.append(round((d1 - d0) / (tb - ta), 1) if tb > ta else None)
    summary = {
        "parameters": total, "standard": tiers.get("Standard", 0),
        "advanced": tiers.get("Advanced", 0), "hot_path": HOT_PATH, "hot_count": hot_listed,
        "other_paths": names(total)["OTHER_PATHS"], "workers": args.workers,
        "seconds": round(elapsed, 1), "puts_per_s": round(total / elapsed, 1),
        "puts_per_s_by_tenth": tenths, "verify_seconds": round(verify_s, 1),
    }
    print(f"  populate: {total:,} parameters in {elapsed:,.1f} s ({total / elapsed:,.0f} puts/s); "
          f"listed back {listed:,} ({tiers}), {hot_listed:,} under {HOT_PATH} "
          f"({verify_s:.1f} s)", file=sys.stderr, flush=True)
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f)
            f.write("\n")


def send_once(endpoint, body, headers):
    """Sends exactly the signed request (the same bytes wrk replays) and returns (status, body)."""
    host, port = make_request.check_loopback(endpoint).rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
    for k, v in headers:
        conn.putheader(k, v)
    data = body.encode()
    conn.putheader("Content-Length", str(len(data)))
    conn.endheaders(data)
    resp = conn.getresponse()
    out = resp.read()
    conn.close()
    return resp.status, out


def sign(args):
    creds, region = env_creds()
    body = json.dumps(json.loads(args.body), separators=(",", ":"))
    target = "AmazonSSM." + args.operation
    headers = make_request.sign_json_request(creds, region, "ssm", args.endpoint, target, body)
    os.makedirs(args.out_dir, exist_ok=True)
    make_request.write_replay_files(
        args.out_dir, args.stem + ".lua", args.stem + ".body", args.stem + ".curl", body, headers,
        f"-- generated by bench/params_store.py: replay one pre-signed {target}\n")

    status, raw = send_once(args.endpoint, body, headers)
    if status != 200:
        sys.exit(f"{target} answered {status}: {raw[:400]!r}")
    doc = json.loads(raw)
    if args.expect_name:
        p = doc.get("Parameter", {})
        if p.get("Name") != args.expect_name or not p.get("Value"):
            sys.exit(f"{target} returned {raw[:400]!r}, not the value of {args.expect_name}")
    if args.expect_count:
        got = len(doc.get("Parameters", []))
        if got != args.expect_count or ("NextToken" in doc) != args.expect_more:
            sys.exit(f"{target} returned {got} entries (NextToken: {'NextToken' in doc}), "
                     f"not a full page of {args.expect_count} "
                     f"{'with' if args.expect_more else 'without'} a NextToken")
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
    p = sub.add_parser("check")
    p.add_argument("endpoint")
    p.add_argument("--total", type=int, required=True)
    p = sub.add_parser("names")
    p.add_argument("--total", type=int, required=True)
    p = sub.add_parser("sign")
    p.add_argument("endpoint")
    p.add_argument("out_dir")
    p.add_argument("stem")
    p.add_argument("operation")
    p.add_argument("body")
    p.add_argument("--expect-name")
    p.add_argument("--expect-count", type=int)
    p.add_argument("--expect-more", action="store_true", help="the page must have a NextToken")
    args = ap.parse_args()
    if args.cmd == "populate":
        if args.workers < 1:
            sys.exit("--workers must be >= 1")
        populate(args)
    elif args.cmd == "check":
        make_request.check_loopback(args.endpoint)
        layout(args.total)  # validates the size
        creds, region = env_creds()
        listed, tiers, hot_listed, verify_s = check_store(args.endpoint, creds, region, args.total)
        print(f"  check: listed {listed:,} parameters ({tiers}), {hot_listed:,} under {HOT_PATH} "
              f"({verify_s:.1f} s)", file=sys.stderr)
    elif args.cmd == "names":
        layout(args.total)  # validates the size
        for k, v in names(args.total).items():
            print(f"{k}={v}")
    else:
        args.endpoint = args.endpoint.rstrip("/")
        sign(args)


if __name__ == "__main__":
    main()
