#!/usr/bin/env bash
# bench/run.sh — coffer's throughput/latency benchmark (`make bench`). See bench/README.md.
#
# Starts the built server on a free loopback port with a fresh data dir, creates one secret,
# pre-signs ONE GetSecretValue request with botocore and replays it with wrk (keep-alive,
# fixed duration, after a warm-up), then does the same against GET /health on the same server.
# Prints requests/s, p50/p99 latency, the server's peak RSS and GetSecretValue/health in %, and
# writes the same figures to bench/results/latest.md. Exits non-zero if any response is not 200.
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

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
COFFER_BIN="${COFFER_BIN:-$REPO_ROOT/build/coffer}"
PYTHON="${PYTHON:-python3}"
DURATION="${BENCH_DURATION:-15}"
WARMUP="${BENCH_WARMUP:-3}"
THREADS="${BENCH_THREADS:-1}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
IO_THREADS="${BENCH_IO_THREADS:-}"
RESULTS_FILE="${BENCH_RESULTS:-$BENCH_DIR/results/latest.md}"

# Root key of the throw-away data dir (AWS's documented example key; never a real one).
ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
REGION=us-east-1
ACCOUNT_ID=123456789012

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

# ------------------------------------------------------------------------------ preflight
for v in DURATION WARMUP THREADS CONNECTIONS; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || die "BENCH_$v must be a positive integer"
done
[[ -z "$IO_THREADS" || "$IO_THREADS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_IO_THREADS must be >= 1"
# The replayed request carries one SigV4 signature, which coffer (like AWS) accepts for 5 minutes.
((WARMUP + DURATION <= 240)) || die "BENCH_WARMUP + BENCH_DURATION must stay under 240 s"
((CONNECTIONS >= THREADS)) || die "BENCH_CONNECTIONS must be >= BENCH_THREADS"
[[ -x "$COFFER_BIN" ]] || die "no server binary at $COFFER_BIN (run 'make build' or set COFFER_BIN)"
command -v wrk >/dev/null || die "wrk not found (Debian package 'wrk')"
command -v curl >/dev/null || die "curl not found"
"$PYTHON" -c 'import boto3, botocore' 2>/dev/null ||
  die "$PYTHON cannot import boto3/botocore (pip install boto3, or set PYTHON)"

# ------------------------------------------------------------------------------ server
TMP="$(mktemp -d "${TMPDIR:-/tmp}/coffer-bench.XXXXXX")"
SERVER_PID=""

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  local pid="$SERVER_PID" i
  SERVER_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "server (pid $pid) ignored SIGTERM for 15 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop_server
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

server_args=(server --listen 127.0.0.1:0 --data-dir "$TMP/data" --account-id "$ACCOUNT_ID")
[[ -n "$IO_THREADS" ]] && server_args+=(--io-threads "$IO_THREADS")
COFFER_ROOT_ACCESS_KEY_ID="$ACCESS_KEY_ID" COFFER_ROOT_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" \
  "$COFFER_BIN" "${server_args[@]}" >"$TMP/server.stdout" 2>"$TMP/server.stderr" &
SERVER_PID=$!

ENDPOINT=""
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  line="$(grep -m1 -E '^coffer: listening on http://127(\.[0-9]{1,3}){3}:[0-9]+[[:space:]]*$' \
    "$TMP/server.stdout" || true)"
  if [[ -n "$line" ]]; then
    ENDPOINT="$(sed -E 's/^coffer: listening on (http:[^[:space:]]+).*$/\1/' <<<"$line")"
    break
  fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -n 20 "$TMP/server.stderr" >&2 || true
    SERVER_PID=""
    die "the server exited before listening"
  fi
  sleep 0.1
done
[[ -n "$ENDPOINT" ]] || die "the server did not print its listening line within 30 s"
log "server pid $SERVER_PID listening on $ENDPOINT"

CURL=(curl -sS --noproxy '*' --max-time 10)
health_code="$("${CURL[@]}" -o "$TMP/health.json" -w '%{http_code}' "$ENDPOINT/health")" || true
[[ "$health_code" == 200 ]] || die "GET /health answered '$health_code'"

# VmHWM: the process's peak resident set size so far, in kB.
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
server_alive() { kill -0 "$SERVER_PID" 2>/dev/null || die "the server died; stderr:$(tail -n 20 "$TMP/server.stderr")"; }

# ------------------------------------------------------------------------------ request
# Creates the secret with boto3 and writes the signed request as wrk scripts + curl args.
AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION" \
  "$PYTHON" "$BENCH_DIR/make_request.py" "$ENDPOINT" "$TMP/gen" ||
  die "could not create the secret or sign the request"
# shellcheck disable=SC1091
source "$TMP/gen/info.txt"
IDLE_RSS_KB="$(peak_rss_kb)"

# One replay with curl must answer 200 and return the secret.
mapfile -t curl_headers <"$TMP/gen/curl.args"
gsv_code="$("${CURL[@]}" -o "$TMP/gsv.json" -w '%{http_code}' -X POST "${curl_headers[@]}" \
  --data-binary "@$TMP/gen/body.json" "$ENDPOINT/")" || true
if [[ "$gsv_code" != 200 ]] || ! grep -q '"SecretString"' "$TMP/gsv.json"; then
  die "the replayed GetSecretValue answered '$gsv_code': $(head -c 400 "$TMP/gsv.json" 2>/dev/null)"
fi
log "replayed GetSecretValue answers 200 ($(wc -c <"$TMP/gsv.json") bytes)"

# ------------------------------------------------------------------------------ load
# run_wrk LABEL SCRIPT URL SECONDS: runs wrk, checks every response was 200 and no socket
# error occurred, and leaves the BENCH_RESULT fields in R_* variables.
run_wrk() {
  local label="$1" script="$2" url="$3" secs="$4" out
  out="$TMP/wrk-${label}.txt"
  timeout --foreground --signal=INT --kill-after=10 $((secs + 30)) \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 5s --latency -s "$script" "$url" \
    >"$out" 2>&1 || {
    cat "$out" >&2
    die "wrk ($label) failed"
  }
  local result
  result="$(grep -m1 '^BENCH_RESULT ' "$out" || true)"
  [[ -n "$result" ]] || {
    cat "$out" >&2
    die "wrk ($label) printed no BENCH_RESULT line"
  }
  R_requests="" R_rps="" R_p50_us="" R_p99_us="" R_responses="" R_non200="" R_last_bad_status=""
  R_connect_errors="" R_read_errors="" R_write_errors="" R_timeouts=""
  local kv key
  for kv in ${result#BENCH_RESULT }; do
    key="R_${kv%%=*}"
    if [[ "${!key+set}" == set ]]; then printf -v "$key" '%s' "${kv#*=}"; fi
  done
  for key in R_requests R_p50_us R_p99_us R_responses R_non200 R_last_bad_status \
    R_connect_errors R_read_errors R_write_errors R_timeouts; do
    [[ "${!key}" =~ ^[0-9]+$ ]] || die "wrk ($label): bad or missing ${key#R_} in: $result"
  done
  if ((R_non200 > 0)); then
    cat "$out" >&2
    die "$label: $R_non200 of $R_responses responses were not 200 (e.g. $R_last_bad_status)"
  fi
  if ((R_responses == 0)); then die "$label: no responses"; fi
  if ((R_connect_errors + R_read_errors + R_write_errors + R_timeouts > 0)); then
    cat "$out" >&2
    die "$label: socket errors (connect $R_connect_errors, read $R_read_errors, write $R_write_errors, timeout $R_timeouts)"
  fi
  server_alive
}

# measure NAME SCRIPT URL: warm-up, then the measured run; sets <NAME>_{RPS,P50,P99,RSS,REQS}.
measure() {
  local name="$1" script="$2" url="$3"
  log "$name: ${WARMUP} s warm-up, then ${DURATION} s measured (wrk -t$THREADS -c$CONNECTIONS)"
  run_wrk "${name}-warmup" "$script" "$url" "$WARMUP"
  run_wrk "$name" "$script" "$url" "$DURATION"
  sed -n '/^Running/,/^Transfer/p' "$TMP/wrk-${name}.txt" | sed 's/^/    /' >&2
  printf -v "${name}_RPS" '%s' "$R_rps"
  printf -v "${name}_P50" '%s' "$R_p50_us"
  printf -v "${name}_P99" '%s' "$R_p99_us"
  printf -v "${name}_REQS" '%s' "$R_requests"
  printf -v "${name}_RSS" '%s' "$(peak_rss_kb)"
}

measure GSV "$TMP/gen/get_secret_value.lua" "$ENDPOINT/"
measure HEALTH "$TMP/gen/status.lua" "$ENDPOINT/health"

stop_server

# ------------------------------------------------------------------------------ report
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }
rps() { awk -v r="$1" 'BEGIN { printf "%.0f", r }'; }
RATIO="$(awk -v a="$GSV_RPS" -v b="$HEALTH_RPS" 'BEGIN { printf "%.1f", 100 * a / b }')"

CORES="$(nproc)"
CPU="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
COMMIT="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ "$COMMIT" != unknown && -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
  COMMIT="$COMMIT+dirty"
fi
WHEN="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
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
