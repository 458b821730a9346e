#!/usr/bin/env python3
"""Makes the dashboard's API calls, as the page (/ui/, src/ui/web/app.js) makes them, on the
page's schedule, until killed: what bench/dashboard.sh measures the cost of.

  dashboard_refresher.py ENDPOINT --interval SECONDS --count-file FILE

Every refresh: GetAccessSummary (the last hour, 60-second periods), DescribeAlarms and
DescribeAlarmHistory, in parallel as the page sends them; once a minute also ListSecrets and
DescribeParameters (the near-expiry table). Each call is signed with SigV4 by botocore, as the
page signs its own with WebCrypto, and must answer 200. After every refresh the number of
refreshes and calls so far, and the slowest GetAccessSummary in milliseconds, is written to
FILE. Credentials and region from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY / AWS_REGION (the bench sets them to the server's root key).
"""

import argparse
import json
import os
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

CREDENTIALS = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
REGION = os.environ.get("AWS_REGION", "us-east-1")
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def call(endpoint, service, target, content_type, body):
    """Sends one call; returns its target and how long the answer took, in seconds."""
    began = time.monotonic()
    data = json.dumps(body).encode()
    request = AWSRequest(method="POST", url=endpoint + "/", data=data,
                         headers={"Content-Type": content_type, "X-Amz-Target": target})
    SigV4Auth(CREDENTIALS, service, REGION).add_auth(request)
    prepared = request.prepare()
    req = urllib.request.Request(endpoint + "/", data=data, method="POST",
                                 headers=dict(prepared.headers.items()))
    with OPENER.open(req, timeout=30) as resp:
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"{target}: HTTP {resp.status}")
    return target, time.monotonic() - began


def refresh_calls(now, with_lists):
    start = int(now - 3600) // 60 * 60
    calls = [
        ("cloudtrail", "CofferInsights_20261207.GetAccessSummary", "application/x-amz-json-1.1",
         {"StartTime": start, "Period": 60}),
        ("monitoring", "GraniteServiceVersion20100801.DescribeAlarms",
         "application/x-amz-json-1.0", {}),
        ("monitoring", "GraniteServiceVersion20100801.DescribeAlarmHistory",
         "application/x-amz-json-1.0", {"HistoryItemType": "StateUpdate", "MaxRecords": 20}),
    ]
    if with_lists:
        calls += [
            ("secretsmanager", "secretsmanager.ListSecrets", "application/x-amz-json-1.1",
             {"MaxResults": 100}),
            ("ssm", "AmazonSSM.DescribeParameters", "application/x-amz-json-1.1",
             {"MaxResults": 50}),
        ]
    return calls


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("endpoint")
    parser.add_argument("--interval", type=float, default=15.0)
    parser.add_argument("--count-file", required=True)
    args = parser.parse_args()
    refreshes = calls_made = 0
    summary_seconds = []
    last_lists = 0.0
    with ThreadPoolExecutor(max_workers=5) as pool:
        while True:
            began = time.time()
            with_lists = began - last_lists >= 60
            if with_lists:
                last_lists = began
            calls = refresh_calls(began, with_lists)
            for target, took in pool.map(lambda c: call(args.endpoint, *c), calls):
                if target.endswith("GetAccessSummary"):
                    summary_seconds.append(took)
            refreshes += 1
            calls_made += len(calls)
            slowest_ms = 1000 * max(summary_seconds)
            with open(args.count_file, "w") as f:
                f.write(f"{refreshes} {calls_made} {slowest_ms:.0f}\n")
            time.sleep(max(0.0, args.interval - (time.time() - began)))


if __name__ == "__main__":
    sys.exit(main())
