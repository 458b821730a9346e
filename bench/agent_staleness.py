"""How long `coffer agent` serves the old value after a secret's AWSCURRENT moves.

For each of N rounds: PutSecretValue moves AWSCURRENT to a new version (what a rotation's last
step does); the time from that call's answer to the first agent answer carrying the new value is
the round's staleness, polled every millisecond through the agent's documented interface. The
rounds go round a set of secrets PREFIX-0, PREFIX-1, ... (created here, each cached by the agent
first), 50 rounds each, since a secret keeps at most about 100 versions (Secrets Manager's quota).
Prints one JSON line: {"rounds", "p50_ms", "p99_ms", "max_ms"}.

Usage: agent_staleness.py ENDPOINT AGENT_PORT TOKEN PREFIX ROUNDS
(credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION)."""

import http.client
import json
import sys
import time

import boto3


def main():
    endpoint, port, token, prefix, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        sys.argv[4], int(sys.argv[5])
    sm = boto3.client("secretsmanager", endpoint_url=endpoint)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def served(secret_id):
        conn.request("GET", f"/secretsmanager/get?secretId={secret_id}",
                     headers={"X-Aws-Parameters-Secrets-Token": token})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"agent answered {response.status}: {body[:200]!r}")
        return json.loads(body)["SecretString"]

    secrets = [f"{prefix}-{k}" for k in range((rounds + 49) // 50)]
    for secret_id in secrets:
        sm.create_secret(Name=secret_id, SecretString="initial")
        served(secret_id)  # cached from here on
    samples = []
    for i in range(rounds):
        secret_id = secrets[i % len(secrets)]
        value = f"round-{i}-{time.time_ns()}"
        sm.put_secret_value(SecretId=secret_id, SecretString=value)
        start = time.monotonic()
        while served(secret_id) != value:
            if time.monotonic() - start > 60:
                raise SystemExit(f"round {i}: the agent still served the old value after 60 s")
            time.sleep(0.001)
        samples.append((time.monotonic() - start) * 1000)
        time.sleep(0.05)
    samples.sort()

    def pct(p):
        return samples[min(len(samples) - 1, int(p / 100 * len(samples)))]

    print(json.dumps({"rounds": rounds, "p50_ms": round(pct(50), 2), "p99_ms": round(pct(99), 2),
                      "max_ms": round(samples[-1], 2)}))


if __name__ == "__main__":
    main()
