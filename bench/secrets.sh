#!/usr/bin/env bash
# bench/secrets.sh — what a ListSecrets page costs with 100,000 secrets against 100.
# See bench/README.md.
#
# Two servers on free loopback ports, each with its own fresh data dir:
#   SMALL  100 secrets (10 named bench/hot/..., 90 over 9 other paths);
#   BIG    100,000 secrets (10,000 bench/hot/..., 90,000 over 90 other paths), all created
#          through the API (CreateSecret from concurrent botocore clients; timed).
# Each measured request is ONE pre-signed SigV4 request replayed by wrk with run.sh's load
# settings (every response must be 200), on the small store and then on the big one:
#   LIST   ListSecrets with no argument: the first page (100 secrets, by creation date);
#   FILTER ListSecrets with Filters name=hot, MaxResults 10 (one secret in ten matches);
#   NAME   ListSecrets SortBy name, MaxResults 100: the first page on the small store, the page
#          after 500 pages (past 50,000 secrets) on the big one.
# GET /health on the small server is the reference every figure is also given against.
# Prints the tables and writes them to bench/results/secrets-latest.md.
#
# Knobs (environment), besides run.sh's BENCH_DURATION, BENCH_WARMUP, BENCH_THREADS,
# BENCH_CONNECTIONS, BENCH_IO_THREADS, COFFER_BIN and PYTHON:
#   BENCH_SECRETS_BIG       secrets in the big store       (default: 100000; at least
#                           100 x (BENCH_SECRETS_DEEP_PAGES + 10))
#   BENCH_SECRETS_WORKERS   concurrent CreateSecret clients (default: 24)
#   BENCH_SECRETS_DEEP_PAGES  pages skipped before the big store's NAME page (default: 500)
#   BENCH_SECRETS_RESULTS   Markdown output file (default: bench/results/secrets-latest.md)
set -euo pipefail

BENCH_TAG=bench-secrets
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_SECRETS_RESULTS:-$BENCH_DIR/results/secrets-latest.md}"
BIG="${BENCH_SECRETS_BIG:-100000}"
SMALL=100
WORKERS="${BENCH_SECRETS_WORKERS:-24}"
DEEP_PAGES="${BENCH_SECRETS_DEEP_PAGES:-500}"

bench_preflight
[[ "$BIG" =~ ^[1-9][0-9]*$ ]] && ((BIG >= (DEEP_PAGES + 10) * 100)) ||
  die "BENCH_SECRETS_BIG must be at least $(((DEEP_PAGES + 10) * 100))"
[[ "$DEEP_PAGES" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECRETS_DEEP_PAGES must be a positive integer"
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_SECRETS_WORKERS must be a positive integer"

py() {
  AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION" \
    "$PYTHON" "$@"
}
STORE_PY="$BENCH_DIR/secrets_store.py"

start_server SMALL "$TMP/small/data"
start_server BIG "$TMP/big/data"
log "populating SMALL ($SMALL secrets) and BIG ($BIG secrets, $WORKERS concurrent clients)"
py "$STORE_PY" populate "$SMALL_ENDPOINT" --total "$SMALL" --workers 4 \
  --summary "$TMP/small-populate.json" || die "could not populate the small store"
py "$STORE_PY" populate "$BIG_ENDPOINT" --total "$BIG" --workers "$WORKERS" \
  --summary "$TMP/big-populate.json" || die "could not populate the big store"
POP_SECONDS="$(json_field "$TMP/big-populate.json" seconds)"
POP_RATE="$(json_field "$TMP/big-populate.json" creates_per_s)"
BIG_STORE_KB="$(du -sk "$TMP/big/data" | awk '{ print $1 }')"

# list SERVER NAME BODY ARGS...: signs one ListSecrets just before its runs, checks one replay
# of it, then measures it.
list() {
  local server="$1" name="$2" body="$3" endpoint_var="${1}_ENDPOINT" out
  shift 3
  out="$(py "$STORE_PY" sign "${!endpoint_var}" "$TMP/gen-$server" "$name" "$body" "$@")" ||
    die "$name: the signed ListSecrets request failed its check"
  printf -v "${name}_BYTES" '%s' "${out#RESPONSE_BYTES=}"
  measure "$server" "$name" "$TMP/gen-$server/$name.lua" "${!endpoint_var}/"
}

mkdir -p "$TMP/gen"
printf -- '-- count non-200 responses\n' >"$TMP/gen/status.lua"
"$PYTHON" -c 'import sys; sys.path.insert(0, sys.argv[1]); import make_request; print(make_request.STATUS_LUA)' \
  "$BENCH_DIR" >>"$TMP/gen/status.lua"
measure SMALL HEALTH "$TMP/gen/status.lua" "$SMALL_ENDPOINT/health"

FILTER_BODY='{"Filters":[{"Key":"name","Values":["hot"]}],"MaxResults":10}'
NAME_BODY='{"SortBy":"name","MaxResults":100}'
list SMALL LIST_SMALL '{}' --expect-count 100
list BIG LIST_BIG '{}' --expect-count 100 --expect-more
list SMALL FILTER_SMALL "$FILTER_BODY" --expect-count 10
list BIG FILTER_BIG "$FILTER_BODY" --expect-count 10 --expect-more
list SMALL NAME_SMALL "$NAME_BODY" --expect-count 100
list BIG NAME_BIG "$NAME_BODY" --expect-count 100 --expect-more --advance "$DEEP_PAGES"
BIG_RSS="$(peak_rss_kb BIG)"
stop_server SMALL
stop_server BIG

machine_info
SETUP="wrk -t$THREADS -c$CONNECTIONS keep-alive, ${DURATION} s measured after ${WARMUP} s warm-up"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }
label_of() {
  case "$1" in
    LIST) echo "ListSecrets, first page (100)" ;;
    FILTER) echo "ListSecrets name=hot (10)" ;;
    NAME) echo "ListSecrets by name (100; big: page $((DEEP_PAGES + 1)))" ;;
  esac
}
{
  cat <<EOF
### coffer ListSecrets benchmark

$WHEN · commit \`$COMMIT\` · $CORES cores ($CPU), shared by server and load generator ·
$SETUP · every request is one pre-signed SigV4 request replayed

Reference: GET /health on the small server, $(rps "$HEALTH_RPS") requests/s, p50 $(ms "$HEALTH_P50").

| request | req/s ($SMALL) | p50 | vs /health | req/s ($BIG) | p50 | vs /health | cost × | p50 × |
|---|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
  for c in LIST FILTER NAME; do
    a="${c}_SMALL_RPS" b="${c}_SMALL_P50" d="${c}_BIG_RPS" e="${c}_BIG_P50"
    echo "| $(label_of "$c") | $(rps "${!a}") | $(ms "${!b}") | $(pct "${!a}" "$HEALTH_RPS") | $(rps "${!d}") | $(ms "${!e}") | $(pct "${!d}" "$HEALTH_RPS") | $(ratio "${!a}" "${!d}") | $(ratio "${!e}" "${!b}") |"
  done
  cat <<EOF

cost × = requests/s with $SMALL ÷ requests/s with $BIG; p50 × = p50 with $BIG ÷ p50 with $SMALL.
Big store: $BIG secrets created through CreateSecret by $WORKERS clients in $POP_SECONDS s
($POP_RATE/s); $(mib "$BIG_STORE_KB") on disk; peak RSS $(mib "$BIG_RSS").
EOF
} >"$TMP/report.md"
cat "$TMP/report.md"
mkdir -p "$(dirname "$RESULTS_FILE")"
cp "$TMP/report.md" "$RESULTS_FILE"
log "wrote $RESULTS_FILE"
