#!/usr/bin/env bash
# bench/dashboard.sh — what an open dashboard costs GetSecretValue (`make bench`). See
# bench/README.md.
#
# One server. The same pre-signed GetSecretValue is replayed with wrk in rounds of three runs:
#   QUIET   nothing else;
#   PAGE    the dashboard's calls on the page's default schedule (a refresh every 15 s);
#   FAST    the same every 2 s (what the browser tests use, 7.5 times the page's load).
# bench/dashboard_refresher.py makes the calls exactly as the page does (GetAccessSummary over
# the last hour, DescribeAlarms, DescribeAlarmHistory; ListSecrets and DescribeParameters once a
# minute), signed, each checked 200. The trail the summaries count grows by every GetSecretValue
# of the runs (hundreds of thousands of reads in the hour they cover), so later rounds summarize
# more. Prints each round, the medians and the ratios to QUIET, and GET /health as the machine's
# reference; writes the same to bench/results/dashboard-latest.md.
#
# Knobs (environment): as bench/run.sh, plus BENCH_ROUNDS (default: 3).
set -euo pipefail

BENCH_TAG=bench-dashboard
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_RESULTS:-$BENCH_DIR/results/dashboard-latest.md}"
ROUNDS="${BENCH_ROUNDS:-3}"

bench_preflight
((ROUNDS * 3 * (WARMUP + DURATION) + WARMUP + DURATION <= 280)) ||
  die "the runs must fit in the replayed signature's 5 minutes: fewer rounds or shorter runs"

start_server MAIN "$TMP/main/data"
log "server on $MAIN_ENDPOINT"
export AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION"
"$PYTHON" "$BENCH_DIR/make_request.py" "$MAIN_ENDPOINT" "$TMP/gen" ||
  die "could not create the secret or sign the request"

REFRESHER_PID=""
stop_refresher() {
  if [[ -n "$REFRESHER_PID" ]]; then
    kill "$REFRESHER_PID" 2>/dev/null || true
    wait "$REFRESHER_PID" 2>/dev/null || true
    REFRESHER_PID=""
  fi
}
trap 'stop_refresher; bench_cleanup' EXIT

# run_round KIND ROUND: one measured run of KIND (QUIET, PAGE or FAST).
run_round() {
  local kind="$1" round="$2" interval=""
  case "$kind" in PAGE) interval=15 ;; FAST) interval=2 ;; esac
  if [[ -n "$interval" ]]; then
    "$PYTHON" "$BENCH_DIR/dashboard_refresher.py" "$MAIN_ENDPOINT" --interval "$interval" \
      --count-file "$TMP/refreshes-$kind-$round" &
    REFRESHER_PID=$!
  fi
  measure MAIN "${kind}_R$round" "$TMP/gen/get_secret_value.lua" "$MAIN_ENDPOINT/"
  if [[ -n "$interval" ]]; then
    kill -0 "$REFRESHER_PID" 2>/dev/null || die "the dashboard's calls failed ($kind, round $round)"
    stop_refresher
    read -r refreshes calls slowest <"$TMP/refreshes-$kind-$round" || die "no refresh was made ($kind)"
    printf -v "${kind}_R${round}_CALLS" '%s' "$refreshes refreshes, $calls calls, slowest GetAccessSummary $slowest ms"
  fi
  local rps_var="${kind}_R${round}_RPS"
  eval "${kind}_ALL+=(\"${!rps_var}\")"
}

# The order turns each round (quiet first, then the page first, then fast first), so that the
# server slowing as its trail grows falls on every mode alike.
declare -a QUIET_ALL PAGE_ALL FAST_ALL
KINDS=(QUIET PAGE FAST)
for ((round = 1; round <= ROUNDS; round++)); do
  for ((k = 0; k < 3; k++)); do run_round "${KINDS[(round - 1 + k) % 3]}" "$round"; done
done
measure MAIN HEALTH "$TMP/gen/status.lua" "$MAIN_ENDPOINT/health"
stop_server MAIN

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
QUIET_MEDIAN="$(median "${QUIET_ALL[@]}")"
PAGE_MEDIAN="$(median "${PAGE_ALL[@]}")"
FAST_MEDIAN="$(median "${FAST_ALL[@]}")"
ratio() { awk -v a="$1" -v b="$QUIET_MEDIAN" 'BEGIN { printf "%.1f", 100 * a / b }'; }

page_calls_var="PAGE_R${ROUNDS}_CALLS"
fast_calls_var="FAST_R${ROUNDS}_CALLS"
machine_info
{
  echo
  echo "coffer dashboard benchmark — $WHEN, commit $COMMIT, $CORES cores ($CPU), server, wrk and the dashboard's calls share them"
  echo "wrk -t$THREADS -c$CONNECTIONS keep-alive, ${DURATION} s measured after ${WARMUP} s warm-up, $ROUNDS alternating rounds"
  echo
  printf '%-8s %14s %14s %14s\n' "round" "quiet (req/s)" "page (req/s)" "fast (req/s)"
  for ((i = 0; i < ROUNDS; i++)); do
    printf '%-8s %14s %14s %14s\n' "$((i + 1))" "$(rps "${QUIET_ALL[$i]}")" \
      "$(rps "${PAGE_ALL[$i]}")" "$(rps "${FAST_ALL[$i]}")"
  done
  printf '%-8s %14s %14s %14s\n' "median" "$(rps "$QUIET_MEDIAN")" "$(rps "$PAGE_MEDIAN")" \
    "$(rps "$FAST_MEDIAN")"
  echo
  echo "GetSecretValue with the dashboard refreshing every 15 s / quiet: $(ratio "$PAGE_MEDIAN") %"
  echo "GetSecretValue with the dashboard refreshing every 2 s / quiet:  $(ratio "$FAST_MEDIAN") %"
  echo "dashboard calls in the last round: page ${!page_calls_var}; fast ${!fast_calls_var}"
  echo "reference: GET /health $(rps "$HEALTH_RPS") req/s"
} | tee "$RESULTS_FILE"
