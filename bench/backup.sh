#!/usr/bin/env bash
# bench/backup.sh — how fast `coffer backup create`, `verify` and `restore` go on a store of
# 100,000 secrets. See bench/README.md.
#
# One server on a free loopback port with a fresh data dir, populated through the API
# (CreateSecret from concurrent botocore clients, bench/secrets_store.py). Then, each three times
# in this order, timed with the wall clock:
#   COPY     cp of a backup file taken before the rounds to a new file, then sync: what the
#            disk gives for the same bytes (the reference every figure is also given against,
#            measured in the same run);
#   CREATE   coffer backup create against the running server (snapshot, encryption, transfer
#            over the operator endpoint, fsync);
#   VERIFY   coffer backup verify (decrypts every part, SQLite's integrity check, the root key);
#   RESTORE  coffer backup restore into an empty data dir (the same, plus the writes and syncs;
#            with BENCH_POSTGRES=1, into an empty PostgreSQL database each round).
# Rates are MB/s of the store snapshot and secrets/s; the median of the three is reported.
# Prints the table and writes it to bench/results/backup-latest.md.
#
# Knobs (environment), besides COFFER_BIN and PYTHON:
#   BENCH_BACKUP_SECRETS   secrets in the store           (default: 100000)
#   BENCH_BACKUP_WORKERS   concurrent CreateSecret clients (default: 24)
#   BENCH_BACKUP_RESULTS   Markdown output file (default: bench/results/backup-latest.md)
set -euo pipefail

BENCH_TAG=bench-backup
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_BACKUP_RESULTS:-$BENCH_DIR/results/backup-latest.md}"
SECRETS="${BENCH_BACKUP_SECRETS:-100000}"
WORKERS="${BENCH_BACKUP_WORKERS:-24}"

bench_preflight
[[ "$SECRETS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_BACKUP_SECRETS must be a positive integer"

py() {
  AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION" \
    "$PYTHON" "$@"
}
coffer_as_root() {
  AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" "$COFFER_BIN" "$@"
}

start_server MAIN "$TMP/main/data"
log "populating $SECRETS secrets with $WORKERS clients"
py "$BENCH_DIR/secrets_store.py" populate "$MAIN_ENDPOINT" --total "$SECRETS" \
  --workers "$WORKERS" --summary "$TMP/populate.json" >/dev/null || die "could not populate"
ROOT_KEY="$TMP/main/data/root.key"

# seconds_of CMD...: runs CMD, prints the wall-clock seconds it took (fails if CMD fails).
seconds_of() {
  local start end
  start="$(date +%s.%N)"
  "$@" >"$TMP/last.out" 2>"$TMP/last.err" || {
    cat "$TMP/last.err" >&2
    die "failed: $*"
  }
  end="$(date +%s.%N)"
  awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
copy_store() {
  cp "$TMP/warm.cbk" "$TMP/copy.db" && sync -f "$TMP/copy.db" && rm -f "$TMP/copy.db"
}
# The restore's target: a SQLite data dir, or with BENCH_POSTGRES=1 also a new database.
restore_args() {
  if [[ "$BENCH_POSTGRES" == 1 ]]; then
    printf '%s\n' --store "$(new_database "coffer_bench_restore_$1_$$")"
  fi
}
coffer_as_root backup create --to "$TMP/warm.cbk" --endpoint "$MAIN_ENDPOINT" >/dev/null 2>&1 ||
  die "the first backup failed"
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -a T_COPY T_CREATE T_VERIFY T_RESTORE
for round in 1 2 3; do
  log "round $round"
  T_COPY+=("$(seconds_of copy_store)")
  rm -f "$TMP/b.cbk"
  T_CREATE+=("$(seconds_of coffer_as_root backup create --to "$TMP/b.cbk" --endpoint "$MAIN_ENDPOINT")")
  T_VERIFY+=("$(seconds_of "$COFFER_BIN" backup verify "$TMP/b.cbk" --root-key "$ROOT_KEY")")
  rm -rf "$TMP/restored"
  mapfile -t target < <(restore_args "$round")
  T_RESTORE+=("$(seconds_of "$COFFER_BIN" backup restore --from "$TMP/b.cbk" --data-dir \
    "$TMP/restored" --root-key "$ROOT_KEY" "${target[@]}")")
done
grep -q "is sound: $SECRETS secret(s)" <("$COFFER_BIN" backup verify "$TMP/b.cbk" --root-key \
  "$ROOT_KEY" 2>/dev/null) || die "the backup does not hold $SECRETS secrets"

STORE_BYTES="$("$COFFER_BIN" backup verify "$TMP/b.cbk" --root-key "$ROOT_KEY" 2>/dev/null |
  sed -nE 's/.*store ([0-9]+) bytes.*/\1/p')"
[[ "$STORE_BYTES" =~ ^[0-9]+$ ]] || die "cannot read the backup's store size"
BACKUP_BYTES="$(stat -c %s "$TMP/b.cbk")"
row() {
  local label="$1" secs="$2" ref="$3"
  awk -v l="$label" -v s="$secs" -v b="$STORE_BYTES" -v n="$SECRETS" -v r="$ref" 'BEGIN {
    printf "| %s | %.2f s | %.0f MB/s | %.0f secrets/s | %.2fx |\n", l, s, b / 1e6 / s, n / s, r / s }'
}
C="$(median "${T_COPY[@]}")"
machine_info
{
  echo "# coffer backup: $SECRETS secrets, $([[ "$BENCH_POSTGRES" == 1 ]] && echo PostgreSQL || echo SQLite) store"
  echo
  echo "$WHEN · commit \`$COMMIT\` · $CORES cores ($CPU), shared by server and clients"
  echo
  echo "Store snapshot $(awk -v b="$STORE_BYTES" 'BEGIN { printf "%.1f MB", b / 1e6 }'), backup file" \
    "$(awk -v b="$BACKUP_BYTES" 'BEGIN { printf "%.1f MB", b / 1e6 }'); populated at" \
    "$(json_field "$TMP/populate.json" creates_per_s) CreateSecret/s. Medians of 3 rounds."
  echo
  echo "| step | time | MB/s | secrets/s | speed vs copy |"
  echo "|---|---|---|---|---|"
  row "cp + sync of a backup file (reference)" "$C" "$C"
  row "backup create (running server)" "$(median "${T_CREATE[@]}")" "$C"
  row "backup verify" "$(median "${T_VERIFY[@]}")" "$C"
  row "backup restore" "$(median "${T_RESTORE[@]}")" "$C"
} | tee "$RESULTS_FILE"
