#!/usr/bin/env bash
# bench/postgres.sh — the PostgreSQL store against the SQLite store, side by side in one run.
# See bench/README.md.
#
# A throwaway PostgreSQL server of the machine's Debian package (tests/e2e/with_postgres.py
# --durable: fsync and synchronous commit on, as a production database runs) and two coffer
# servers on free loopback ports: SQLITE (the default store in a fresh data dir) and POSTGRES
# (--store on a fresh database of that server). Measured, in this order:
#   1. GetSecretValue: one pre-signed SigV4 request replayed by wrk (run.sh's load settings) on
#      each server, and GET /health on the SQLite one (the reference);
#   2. writes with BENCH_PG_CLIENTS concurrent botocore clients for BENCH_PG_WRITE_SECONDS:
#      PutSecretValue (each client on a secret of its own) and PutParameter (Overwrite, each on
#      a SecureString of its own), on each server.
# Prints the table and writes it to bench/results/postgres-latest.md.
#
# Knobs (environment), besides run.sh's BENCH_DURATION, BENCH_WARMUP, BENCH_THREADS,
# BENCH_CONNECTIONS, BENCH_IO_THREADS, COFFER_BIN and PYTHON:
#   BENCH_PG_CLIENTS        concurrent writers         (default: 32)
#   BENCH_PG_WRITE_SECONDS  seconds of writes per run  (default: 15)
#   BENCH_PG_RESULTS        Markdown output file (default: bench/results/postgres-latest.md)
set -euo pipefail

if [[ -z "${COFFER_TEST_POSTGRES_URL:-}" ]]; then
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  exec "${PYTHON:-python3}" "$here/../tests/e2e/with_postgres.py" --durable "$0" "$@"
fi

BENCH_TAG=bench-postgres
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_PG_RESULTS:-$BENCH_DIR/results/postgres-latest.md}"
CLIENTS="${BENCH_PG_CLIENTS:-32}"
WRITE_SECONDS="${BENCH_PG_WRITE_SECONDS:-15}"

bench_preflight
command -v psql >/dev/null || die "psql not found (Debian package postgresql-client)"
PG_URL="$(new_database "coffer_bench_$$")"

start_server SQLITE "$TMP/sqlite/data"
start_server POSTGRES "$TMP/postgres/data" --store "$PG_URL"

py() {
  AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION" \
    PYTHONPATH="$BENCH_DIR" "$PYTHON" "$@"
}
for s in SQLITE POSTGRES; do
  endpoint_var="${s}_ENDPOINT"
  py "$BENCH_DIR/make_request.py" "${!endpoint_var}" "$TMP/gen-$s" >/dev/null ||
    die "could not sign the request for $s"
done

measure SQLITE GSV_SQLITE "$TMP/gen-SQLITE/get_secret_value.lua" "$SQLITE_ENDPOINT/"
measure POSTGRES GSV_POSTGRES "$TMP/gen-POSTGRES/get_secret_value.lua" "$POSTGRES_ENDPOINT/"
measure SQLITE HEALTH "$TMP/gen-SQLITE/status.lua" "$SQLITE_ENDPOINT/health"

declare -A WRITES
for kind in put-secret-value put-parameter; do
  for s in SQLITE POSTGRES; do
    endpoint_var="${s}_ENDPOINT"
    log "$kind on $s: $CLIENTS clients, $WRITE_SECONDS s"
    out="$(py "$BENCH_DIR/writes.py" "${!endpoint_var}" "$kind" --clients "$CLIENTS" \
      --seconds "$WRITE_SECONDS")" || die "$kind on $s failed"
    WRITES["$kind/$s"]="$(json_field <(echo "$out") writes_per_s)"
    server_alive "$s"
  done
done

machine_info
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }
{
  echo "### coffer on PostgreSQL against SQLite"
  echo
  echo "$WHEN · commit \`$COMMIT\` · $CORES cores ($CPU), shared by both servers, PostgreSQL"
  echo "(fsync on) and the load generators · wrk -t$THREADS -c$CONNECTIONS, ${DURATION} s after ${WARMUP} s warm-up"
  echo
  echo "| request | SQLite | PostgreSQL | PostgreSQL / SQLite |"
  echo "|---|---:|---:|---:|"
  echo "| GetSecretValue (one pre-signed request), req/s | $(rps "$GSV_SQLITE_RPS") | $(rps "$GSV_POSTGRES_RPS") | $(ratio "$GSV_POSTGRES_RPS" "$GSV_SQLITE_RPS") |"
  echo "| GetSecretValue p99 | $(ms "$GSV_SQLITE_P99") | $(ms "$GSV_POSTGRES_P99") | |"
  for kind in put-secret-value put-parameter; do
    echo "| $kind, $CLIENTS clients, writes/s | ${WRITES[$kind/SQLITE]} | ${WRITES[$kind/POSTGRES]} | $(ratio "${WRITES[$kind/POSTGRES]}" "${WRITES[$kind/SQLITE]}") |"
  done
  echo
  echo "Reference: GET /health on the SQLite server, $(rps "$HEALTH_RPS") req/s; GetSecretValue is"
  echo "$(ratio "$GSV_SQLITE_RPS" "$HEALTH_RPS") of it on SQLite and $(ratio "$GSV_POSTGRES_RPS" "$HEALTH_RPS") on PostgreSQL."
} | tee "$RESULTS_FILE"
