#!/usr/bin/env bash
# bench/run.sh — coffer's throughput/latency benchmark (`make bench`). See bench/README.md.
#
# Starts the built server on a free loopback port with a fresh data dir, creates one secret,
# pre-signs ONE GetSecretValue request with botocore and replays it with wrk (keep-alive,
# fixed duration, after a warm-up), then does the same against GET /health on the same server.
# Prints requests/s, p50/p99 latency, the server's peak RSS and GetSecretValue/health in %, and
# writes the same figures to bench/results/latest.md. Exits non-zero if any response is not 200.
# What it shares with bench/params.sh (servers, wrk runs and their checks) is in bench/lib.sh.
#
# Knobs (environment):
#   COFFER_BIN          server binary                       (default: <repo>/build/coffer)
#   PYTHON              python3 with boto3/botocore          (default: python3)
#   BENCH_DURATION      seconds measured per endpoint        (default: 15)
#   BENCH_WARMUP        seconds of unmeasured warm-up before each measured run (default: 3)
#   BENCH_THREADS       wrk threads                          (default: 1)
#   BENCH_CONNECTIONS   wrk keep-alive connections           (default: 64)
#   BENCH_IO_THREADS    coffer --io-threads                  (default: unset = one per core)
#   BENCH_RESULTS       Markdown output file                 (default: bench/results/latest.md)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_RESULTS:-$BENCH_DIR/results/latest.md}"

bench_preflight

# ------------------------------------------------------------------------------ server
start_server MAIN "$TMP/data"
ENDPOINT="$MAIN_ENDPOINT"
log "server pid $MAIN_PID listening on $ENDPOINT"

health_code="$("${CURL[@]}" -o "$TMP/health.json" -w '%{http_code}' "$ENDPOINT/health")" || true
[[ "$health_code" == 200 ]] || die "GET /health answered '$health_code'"

# ------------------------------------------------------------------------------ request
# Creates the secret with boto3 and writes the signed request as wrk scripts + curl args.
AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION" \
  "$PYTHON" "$BENCH_DIR/make_request.py" "$ENDPOINT" "$TMP/gen" ||
  die "could not create the secret or sign the request"
# shellcheck disable=SC1091
source "$TMP/gen/info.txt"
IDLE_RSS_KB="$(peak_rss_kb MAIN)"

# One replay with curl must answer 200 and return the secret.
mapfile -t curl_headers <"$TMP/gen/curl.args"
gsv_code="$("${CURL[@]}" -o "$TMP/gsv.json" -w '%{http_code}' -X POST "${curl_headers[@]}" \
  --data-binary "@$TMP/gen/body.json" "$ENDPOINT/")" || true
if [[ "$gsv_code" != 200 ]] || ! grep -q '"SecretString"' "$TMP/gsv.json"; then
  die "the replayed GetSecretValue answered '$gsv_code': $(head -c 400 "$TMP/gsv.json" 2>/dev/null)"
fi
log "replayed GetSecretValue answers 200 ($(wc -c <"$TMP/gsv.json") bytes)"

# ------------------------------------------------------------------------------ load
measure MAIN GSV "$TMP/gen/get_secret_value.lua" "$ENDPOINT/"
measure MAIN HEALTH "$TMP/gen/status.lua" "$ENDPOINT/health"

stop_server MAIN

# ------------------------------------------------------------------------------ report
RATIO="$(awk -v a="$GSV_RPS" -v b="$HEALTH_RPS" 'BEGIN { printf "%.1f", 100 * a / b }')"

machine_info
IO_DESC="${IO_THREADS:-default (one per core)}"
SETUP="wrk -t$THREADS -c$CONNECTIONS keep-alive, ${DURATION} s measured after ${WARMUP} s warm-up; coffer --io-threads $IO_DESC"

{
  echo
  echo "coffer benchmark — $WHEN, commit $COMMIT, $CORES cores ($CPU), server and wrk share them"
  echo "$SETUP"
  echo "GetSecretValue: one pre-signed SigV4 request replayed, SecretString $SECRET_BYTES bytes"
  echo
  printf '%-24s %12s %10s %10s %12s\n' "endpoint" "requests/s" "p50" "p99" "peak RSS"
  printf '%-24s %12s %10s %10s %12s\n' "GetSecretValue (SigV4)" "$(rps "$GSV_RPS")" \
    "$(ms "$GSV_P50")" "$(ms "$GSV_P99")" "$(mib "$GSV_RSS")"
  printf '%-24s %12s %10s %10s %12s\n' "GET /health" "$(rps "$HEALTH_RPS")" \
    "$(ms "$HEALTH_P50")" "$(ms "$HEALTH_P99")" "$(mib "$HEALTH_RSS")"
  echo
  echo "GetSecretValue / health: $RATIO %   (idle RSS after setup: $(mib "$IDLE_RSS_KB"); peak RSS is VmHWM after each run)"
}

mkdir -p "$(dirname "$RESULTS_FILE")"
cat >"$RESULTS_FILE.tmp" <<EOF
### coffer benchmark

$WHEN · commit \`$COMMIT\` · $CORES cores ($CPU), shared by server and load generator ·
$SETUP · GetSecretValue replays one pre-signed SigV4 request (SecretString $SECRET_BYTES bytes)

| endpoint | requests/s | p50 | p99 | peak RSS |
|---|---:|---:|---:|---:|
| GetSecretValue (SigV4) | $(rps "$GSV_RPS") | $(ms "$GSV_P50") | $(ms "$GSV_P99") | $(mib "$GSV_RSS") |
| GET /health | $(rps "$HEALTH_RPS") | $(ms "$HEALTH_P50") | $(ms "$HEALTH_P99") | $(mib "$HEALTH_RSS") |

GetSecretValue / health: **$RATIO %** · idle RSS after setup $(mib "$IDLE_RSS_KB") · peak RSS is the server's VmHWM after each run
EOF
mv "$RESULTS_FILE.tmp" "$RESULTS_FILE"
log "wrote $RESULTS_FILE"
