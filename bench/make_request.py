#!/usr/bin/env python3
"""Prepares the GetSecretValue benchmark for bench/run.sh.

  make_request.py ENDPOINT OUT_DIR

1. creates one secret (a ~200-byte JSON SecretString) with boto3 against ENDPOINT;
2. signs ONE GetSecretValue request for it with botocore's SigV4Auth (the same signer the SDKs
   use) and writes, into OUT_DIR:
     get_secret_value.lua   a wrk script that replays exactly that method/path/headers/body and
                            counts non-200 responses (shared with the /health run: status.lua);
     status.lua             the status-counting/reporting hooks alone (used for GET /health);
     curl.args, body.json   the same request for a one-off curl check before the load run;
     info.txt               secret name, SecretString and request body sizes (KEY=VALUE lines).

Credentials and region come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION, which
run.sh sets to the server's root key; no profile or config file of the machine is read.
A SigV4 signature is accepted for 5 minutes around its X-Amz-Date, longer than the whole run.
"""

import json
import os
import sys
import uuid

for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
             "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETSMANAGER"):
    os.environ.pop(_var, None)
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"

import boto3  # noqa: E402
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

# Lua hooks appended to both wrk scripts. wrk runs one Lua state per thread: each counts its own
# responses, and done() (main state) sums them through thread:get(). The BENCH_RESULT line is
# what run.sh parses; latencies are in microseconds.
STATUS_LUA = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses = 0
  non200 = 0
  last_bad_status = 0
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
    last_bad_status = status
  end
end

function done(summary, latency, requests)
  local total, bad, bad_status = 0, 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("responses")
    bad = bad + t:get("non200")
    if t:get("last_bad_status") ~= 0 then bad_status = t:get("last_bad_status") end
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "responses=%d non200=%d last_bad_status=%d connect_errors=%d read_errors=%d " ..
    "write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    total, bad, bad_status, e.connect, e.read, e.write, e.timeout))
end
"""

# The measured secret (also bench/authz_setup.py's): database credentials, a 186-byte JSON document.
SECRET_STRING = json.dumps({
    "engine": "postgres",
    "host": "db-primary.internal.example.com",
    "port": 5432,
    "dbname": "orders",
    "username": "orders_app",
    "password": "Zr8#qL2!vW9x$Kp4mN7@tB1cF6hJ3sD0",
    "sslmode": "verify-full",
}, separators=(",", ":"))


def lua_string(s):
    """A Lua long-bracket-free, escaped double-quoted string literal."""
    out = []
    for ch in s:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 0x20 <= code < 0x7F:
            out.append(ch)
        else:
            out.append("\\%03d" % code)  # bytes only: the inputs here are ASCII
    return '"' + "".join(out) + '"'


def check_loopback(endpoint):
    """Returns HOST:PORT of a loopback ENDPOINT; exits for anything else."""
    host = endpoint.split("://", 1)[1]
    if not (host.startswith("127.") or host.startswith("[::1]")):
        sys.exit(f"refusing a non-loopback endpoint: {endpoint}")
    return host


def sign_json_request(creds, region, service, endpoint, target, body):
    """Signs one AWS JSON 1.1 POST / (X-Amz-Target TARGET) with botocore's SigV4Auth, exactly
    as an SDK would send it; returns its headers as (name, value) pairs."""
    req = AWSRequest(method="POST", url=endpoint + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": target,
        "Host": check_loopback(endpoint),
    })
    SigV4Auth(creds, service, region).add_auth(req)
    return [(k, v) for k, v in req.headers.items()]


def write_replay_files(out_dir, lua_name, body_name, curl_name, body, headers, comment):
    """Writes a wrk script replaying POST / with exactly BODY and HEADERS (plus the status
    hooks), and the same request as a body file and curl -H arguments (one per line)."""
    with open(os.path.join(out_dir, lua_name), "w") as f:
        f.write(comment)
        f.write('wrk.method = "POST"\n')
        f.write('wrk.path = "/"\n')
        f.write(f"wrk.body = {lua_string(body)}\n")
        for k, v in headers:  # wrk adds Content-Length from the body
            f.write(f"wrk.headers[{lua_string(k)}] = {lua_string(v)}\n")
        f.write(STATUS_LUA)
    with open(os.path.join(out_dir, body_name), "w") as f:
        f.write(body)
    with open(os.path.join(out_dir, curl_name), "w") as f:
        for k, v in headers:
            f.write(f"-H\n{k}: {v}\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_request.py ENDPOINT OUT_DIR")
    endpoint, out_dir = sys.argv[1].rstrip("/"), sys.argv[2]
    check_loopback(endpoint)
    region = os.environ.get("AWS_REGION", "us-east-1")
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])

    # 1. The secret: a realistic small JSON document (database credentials), ~200 bytes.
    name = "bench/db-credentials-" + uuid.uuid4().hex[:8]
    secret_string = SECRET_STRING
    sm = boto3.client(
        "secretsmanager", endpoint_url=endpoint, region_name=region,
        aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
        config=Config(retries={"max_attempts": 1}))
    sm.create_secret(Name=name, SecretString=secret_string)
    got = sm.get_secret_value(SecretId=name)
    if got["SecretString"] != secret_string:
        sys.exit("GetSecretValue through boto3 returned a different SecretString")

    # 2. One signed GetSecretValue request, exactly as an SDK would send it.
    body = json.dumps({"SecretId": name}, separators=(",", ":"))
    headers = sign_json_request(creds, region, "secretsmanager", endpoint,
                                "secretsmanager.GetSecretValue", body)

    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "status.lua"), "w") as f:
        f.write("-- generated by bench/make_request.py: count non-200 responses\n")
        f.write(STATUS_LUA)
    write_replay_files(
        out_dir, "get_secret_value.lua", "body.json", "curl.args", body, headers,
        "-- generated by bench/make_request.py: replay one pre-signed GetSecretValue\n")
    with open(os.path.join(out_dir, "info.txt"), "w") as f:
        f.write(f"SECRET_NAME={name}\n")
        f.write(f"SECRET_BYTES={len(secret_string.encode())}\n")
        f.write(f"BODY_BYTES={len(body.encode())}\n")


if __name__ == "__main__":
    main()
