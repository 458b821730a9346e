#!/usr/bin/env bash
# bench/audit.sh — what the audit trail costs a GetSecretValue (`make bench`). See bench/README.md.
#
# Two servers side by side on the same machine: one with the trail (every call's record synced
# to audit/trail.db before the call is answered, in batches) and one started with
# --audit-trail off. The same pre-signed GetSecretValue is replayed against each with wrk, in
# alternating rounds (trail, no trail, trail, ...), so drifts of the machine fall on both.
# Prints each round, the medians and their ratio, and GET /health of the trail server as the
# machine's reference; writes the same to bench/results/audit-latest.md.
#
# Knobs (environment): as bench/run.sh, plus
#   BENCH_ROUNDS          alternating rounds (default: 3)
#   AUDIT_LOOKUP_RECORDS  records of the trail the lookup timing fills (default: 1000000)
#   AUDIT_TRAIL_FLAGS     more flags for the trail server (e.g. --audit-exclude-kms-events)
set -euo pipefail

# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_RESULTS:-$BENCH_DIR/results/audit-latest.md}"
ROUNDS="${BENCH_ROUNDS:-3}"

bench_preflight

# shellcheck disable=SC2086  # AUDIT_TRAIL_FLAGS is a list of flags
start_server TRAIL "$TMP/trail/data" ${AUDIT_TRAIL_FLAGS:-}
start_server NOTRAIL "$TMP/notrail/data" --audit-trail off
log "trail server on $TRAIL_ENDPOINT, trail-off server on $NOTRAIL_ENDPOINT"

for name in TRAIL NOTRAIL; do
  endpoint_var="${name}_ENDPOINT"
  AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION" \
    "$PYTHON" "$BENCH_DIR/make_request.py" "${!endpoint_var}" "$TMP/gen-$name" ||
    die "could not create the secret or sign the request ($name)"
done

declare -a TRAIL_ALL NOTRAIL_ALL
for ((round = 1; round <= ROUNDS; round++)); do
  for name in TRAIL NOTRAIL; do
    endpoint_var="${name}_ENDPOINT"
    measure "$name" "${name}_R$round" "$TMP/gen-$name/get_secret_value.lua" "${!endpoint_var}/"
    rps_var="${name}_R${round}_RPS"
    eval "${name}_ALL+=(\"${!rps_var}\")"
  done
done
measure TRAIL HEALTH "$TMP/gen-TRAIL/status.lua" "$TRAIL_ENDPOINT/health"

# Every call of the runs is in the trail: the records written say so.
metrics="$("${CURL[@]}" "$TRAIL_ENDPOINT/metrics")"
RECORDS="$(awk '/^coffer_audit_records_total /{print $2}' <<<"$metrics")"
BATCHES="$(awk '/^coffer_audit_batches_total /{print $2}' <<<"$metrics")"
LOST="$(awk '/^coffer_audit_records_lost_total /{print $2}' <<<"$metrics")"
[[ "$LOST" == 0 ]] || die "the trail lost $LOST records"
stop_server TRAIL
stop_server NOTRAIL

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
TRAIL_MEDIAN="$(median "${TRAIL_ALL[@]}")"
NOTRAIL_MEDIAN="$(median "${NOTRAIL_ALL[@]}")"
RATIO="$(awk -v a="$TRAIL_MEDIAN" -v b="$NOTRAIL_MEDIAN" 'BEGIN { printf "%.1f", 100 * a / b }')"
PER_BATCH="$(awk -v r="$RECORDS" -v b="$BATCHES" 'BEGIN { printf "%.1f", b ? r / b : 0 }')"

machine_info
{
  echo
  echo "coffer audit-trail benchmark — $WHEN, commit $COMMIT, $CORES cores ($CPU), servers and wrk share them"
  echo "wrk -t$THREADS -c$CONNECTIONS keep-alive, ${DURATION} s measured after ${WARMUP} s warm-up, $ROUNDS alternating rounds"
  echo
  printf '%-8s %18s %18s\n' "round" "trail (req/s)" "no trail (req/s)"
  for ((i = 0; i < ROUNDS; i++)); do
    printf '%-8s %18s %18s\n' "$((i + 1))" "$(rps "${TRAIL_ALL[$i]}")" "$(rps "${NOTRAIL_ALL[$i]}")"
  done
  printf '%-8s %18s %18s\n' "median" "$(rps "$TRAIL_MEDIAN")" "$(rps "$NOTRAIL_MEDIAN")"
  echo
  echo "GetSecretValue with the trail / without: $RATIO %"
  echo "reference: GET /health on the trail server $(rps "$HEALTH_RPS") req/s"
  echo "trail: $RECORDS records in $BATCHES synced batches ($PER_BATCH records per sync), none lost"
  echo "trail server flags: ${AUDIT_TRAIL_FLAGS:-(none)}"
} | tee "$RESULTS_FILE"

# LookupEvents' query over a 1,000,000-record trail, the same lookups over 1,000 as reference.
LOOKUP_BENCH="$(dirname "$COFFER_BIN")/bench/coffer_audit_lookup_bench"
if [[ -x "$LOOKUP_BENCH" ]]; then
  log "LookupEvents over ${AUDIT_LOOKUP_RECORDS:-1000000} records (filling the index takes a minute)"
  { echo; "$LOOKUP_BENCH" "${AUDIT_LOOKUP_RECORDS:-1000000}" 100; } | tee -a "$RESULTS_FILE"
else
  log "no $LOOKUP_BENCH: the lookup timing is skipped (build the bench target)"
fi
