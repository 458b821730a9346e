#!/usr/bin/env bash
# bench/agent.sh — `coffer agent`: its cached reads against coffer's own cheapest request, and
# how soon a moved secret is served. See bench/README.md.
#
# One server (SQLite) and one agent beside it (TTL 300 s, push invalidation on), both on free
# loopback ports, measured side by side in one run:
#   HEALTH  GET /health on the server: the reference;
#   CACHED  GET /secretsmanager/get?secretId=... on the agent with its token header: every
#           answer is the cached secret (the agent's hot path);
#   PING    GET /ping on the agent (no token check, no cache): the agent's own floor.
# Then staleness: BENCH_AGENT_ROUNDS times, PutSecretValue moves AWSCURRENT and the time until
# the agent serves the new value is taken (bench/agent_staleness.py); p50, p99 and max.
# Prints the table and writes it to bench/results/agent-latest.md.
#
# Knobs (environment), besides run.sh's BENCH_DURATION, BENCH_WARMUP, BENCH_THREADS,
# BENCH_CONNECTIONS, BENCH_IO_THREADS, COFFER_BIN and PYTHON:
#   BENCH_AGENT_ROUNDS   staleness rounds (default 200)
#   BENCH_AGENT_RESULTS  Markdown output file (default bench/results/agent-latest.md)
set -euo pipefail

BENCH_TAG=bench-agent
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_AGENT_RESULTS:-$BENCH_DIR/results/agent-latest.md}"
ROUNDS="${BENCH_AGENT_ROUNDS:-200}"
TOKEN="bench-token-$$"
SECRET=bench/agent/db

bench_preflight
start_server MAIN "$TMP/main/data"
export AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" \
  AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION" AWS_CONFIG_FILE=/dev/null \
  AWS_SHARED_CREDENTIALS_FILE=/dev/null
"$PYTHON" -c 'import boto3, sys; boto3.client("secretsmanager", endpoint_url=sys.argv[1]).create_secret(Name=sys.argv[2], SecretString="{\"password\":\"" + "x" * 32 + "\"}")' \
  "$MAIN_ENDPOINT" "$SECRET" || die "cannot create the secret"

agent_args=(agent --port 0 --endpoint-url "$MAIN_ENDPOINT")
[[ -n "$IO_THREADS" ]] && agent_args+=(--io-threads "$IO_THREADS")
AWS_TOKEN="$TOKEN" "$COFFER_BIN" "${agent_args[@]}" >"$TMP/agent.stdout" 2>"$TMP/agent.stderr" &
AGENT_PID=$!
BENCH_SERVERS+=(AGENT)
AGENT_PORT=""
for _ in $(seq 300); do
  AGENT_PORT="$(sed -nE 's/^coffer agent: listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$TMP/agent.stdout")"
  [[ -n "$AGENT_PORT" ]] && break
  kill -0 "$AGENT_PID" 2>/dev/null || die "the agent exited: $(cat "$TMP/agent.stderr")"
  sleep 0.1
done
[[ -n "$AGENT_PORT" ]] || die "the agent did not print its listening line"

mkdir -p "$TMP/gen"
status_lua() { # status_lua FILE [TOKEN]
  {
    [[ -n "${2:-}" ]] && printf 'wrk.headers["X-Aws-Parameters-Secrets-Token"] = "%s"\n' "$2"
    "$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import make_request; print(make_request.STATUS_LUA)' \
      "$BENCH_DIR"
  } >"$1"
}
status_lua "$TMP/gen/status.lua"
status_lua "$TMP/gen/agent.lua" "$TOKEN"
"${CURL[@]}" -H "X-Aws-Parameters-Secrets-Token: $TOKEN" \
  "http://127.0.0.1:$AGENT_PORT/secretsmanager/get?secretId=$SECRET" | grep -q SecretString ||
  die "the agent does not serve the secret"

measure MAIN HEALTH "$TMP/gen/status.lua" "$MAIN_ENDPOINT/health"
measure AGENT CACHED "$TMP/gen/agent.lua" "http://127.0.0.1:$AGENT_PORT/secretsmanager/get?secretId=$SECRET"
measure AGENT PING "$TMP/gen/status.lua" "http://127.0.0.1:$AGENT_PORT/ping"
log "staleness: $ROUNDS rounds of PutSecretValue"
STALE="$("$PYTHON" "$BENCH_DIR/agent_staleness.py" "$MAIN_ENDPOINT" "$AGENT_PORT" "$TOKEN" bench/agent/rotated "$ROUNDS")" ||
  die "the staleness run failed"
stop_server AGENT
stop_server MAIN

machine_info
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }
field() { "$PYTHON" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$STALE" "$1"; }
{
  cat <<EOF
### coffer agent benchmark

$WHEN · commit \`$COMMIT\` · $CORES cores ($CPU), shared by server, agent and load generator ·
wrk -t$THREADS -c$CONNECTIONS keep-alive, ${DURATION} s measured after ${WARMUP} s warm-up

| request | req/s | p50 | p99 | vs coffer's GET /health |
|---|---:|---:|---:|---:|
| coffer GET /health (reference) | $(rps "$HEALTH_RPS") | $(ms "$HEALTH_P50") | $(ms "$HEALTH_P99") | 100 % |
| agent GET /secretsmanager/get (cached) | $(rps "$CACHED_RPS") | $(ms "$CACHED_P50") | $(ms "$CACHED_P99") | $(pct "$CACHED_RPS" "$HEALTH_RPS") |
| agent GET /ping | $(rps "$PING_RPS") | $(ms "$PING_P50") | $(ms "$PING_P99") | $(pct "$PING_RPS" "$HEALTH_RPS") |

Staleness after PutSecretValue moves AWSCURRENT (push invalidation, TTL 300 s), $(field rounds)
rounds: p50 $(field p50_ms) ms, p99 $(field p99_ms) ms, max $(field max_ms) ms, from the
PutSecretValue answer to the first agent answer with the new value, polled every millisecond.
EOF
} >"$TMP/report.md"
cat "$TMP/report.md"
mkdir -p "$(dirname "$RESULTS_FILE")"
cp "$TMP/report.md" "$RESULTS_FILE"
log "wrote $RESULTS_FILE"
