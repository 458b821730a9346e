# bench/lib.sh — shared by bench/run.sh, bench/params.sh and bench/authz.sh (sourced, not run). See bench/README.md.
#
# Before sourcing, a script may set BENCH_TAG (the log prefix, default "bench"). Sourcing reads
# the common knobs (BENCH_DURATION, BENCH_WARMUP, BENCH_THREADS, BENCH_CONNECTIONS,
# BENCH_IO_THREADS, COFFER_BIN, PYTHON), creates the scratch directory $TMP and installs the
# EXIT/INT/TERM/HUP traps that stop every server started with start_server and remove $TMP.
# shellcheck shell=bash disable=SC2034  # the variables set here are used by the sourcing scripts

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_TAG="${BENCH_TAG:-bench}"
COFFER_BIN="${COFFER_BIN:-$REPO_ROOT/build/coffer}"
PYTHON="${PYTHON:-python3}"
DURATION="${BENCH_DURATION:-15}"
WARMUP="${BENCH_WARMUP:-3}"
THREADS="${BENCH_THREADS:-1}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
IO_THREADS="${BENCH_IO_THREADS:-}"
# BENCH_POSTGRES=1: every server keeps its store in PostgreSQL — a throwaway server of the
# machine's Debian package with fsync on (tests/e2e/with_postgres.py --durable, which runs the
# script again inside it), a database per coffer server.
BENCH_POSTGRES="${BENCH_POSTGRES:-0}"
if [[ "$BENCH_POSTGRES" == 1 && -z "${COFFER_TEST_POSTGRES_URL:-}" ]]; then
  exec "$PYTHON" "$REPO_ROOT/tests/e2e/with_postgres.py" --durable "$0" "$@"
fi

# Root key of the throw-away data dirs (AWS's documented example key; never a real one).
ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
REGION=us-east-1
ACCOUNT_ID=123456789012

log() { printf '%s: %s\n' "$BENCH_TAG" "$*" >&2; }
die() {
  log "FAILED: $*"
  exit 1
}

# ------------------------------------------------------------------------------ preflight
bench_preflight() {
  local v
  for v in DURATION WARMUP THREADS CONNECTIONS; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || die "BENCH_$v must be a positive integer"
  done
  [[ -z "$IO_THREADS" || "$IO_THREADS" =~ ^[1-9][0-9]*$ ]] || die "BENCH_IO_THREADS must be >= 1"
  # A replayed request carries one SigV4 signature, which coffer (like AWS) accepts for 5 minutes.
  ((WARMUP + DURATION <= 240)) || die "BENCH_WARMUP + BENCH_DURATION must stay under 240 s"
  ((CONNECTIONS >= THREADS)) || die "BENCH_CONNECTIONS must be >= BENCH_THREADS"
  [[ -x "$COFFER_BIN" ]] || die "no server binary at $COFFER_BIN (run 'make build' or set COFFER_BIN)"
  command -v wrk >/dev/null || die "wrk not found (Debian package 'wrk')"
  command -v curl >/dev/null || die "curl not found"
  "$PYTHON" -c 'import boto3, botocore' 2>/dev/null ||
    die "$PYTHON cannot import boto3/botocore (pip install boto3, or set PYTHON)"
}

# ------------------------------------------------------------------------------ servers
# Servers are named (e.g. MAIN, SMALL, BIG); start_server NAME sets <NAME>_PID and
# <NAME>_ENDPOINT. Every started server is stopped by the EXIT trap.
TMP="$(mktemp -d "${TMPDIR:-/tmp}/coffer-bench.XXXXXX")"
BENCH_SERVERS=()

stop_server() {
  local name="$1" pid_var="${1}_PID" pid i
  pid="${!pid_var:-}"
  [[ -n "$pid" ]] || return 0
  printf -v "$pid_var" '%s' ""
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "server $name (pid $pid) ignored SIGTERM for 15 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}
bench_cleanup() {
  local name
  for name in "${BENCH_SERVERS[@]}"; do stop_server "$name"; done
  rm -rf "$TMP"
}
trap bench_cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# new_database NAME: creates database NAME on the throwaway PostgreSQL server
# (COFFER_TEST_POSTGRES_URL) and prints its URL.
new_database() {
  psql -X -q -v ON_ERROR_STOP=1 "$COFFER_TEST_POSTGRES_URL" -c "CREATE DATABASE $1" >/dev/null ||
    die "cannot create the database $1"
  "$PYTHON" -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' \
    "$COFFER_TEST_POSTGRES_URL" "$1"
}

# start_server NAME DATA_DIR [FLAG...]: starts build/coffer on a free loopback port (with the
# extra server flags given) and waits until it prints its listening line (30 s at most).
start_server() {
  local name="$1" data_dir="$2" out="$TMP/server-$1"
  local args=(server --listen 127.0.0.1:0 --data-dir "$data_dir" --account-id "$ACCOUNT_ID"
    "${@:3}")
  [[ -n "$IO_THREADS" ]] && args+=(--io-threads "$IO_THREADS")
  [[ "$BENCH_POSTGRES" == 1 ]] && args+=(--store "$(new_database "coffer_bench_${1,,}_$$")")
  mkdir -p "$(dirname "$data_dir")"
  COFFER_ROOT_ACCESS_KEY_ID="$ACCESS_KEY_ID" COFFER_ROOT_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" \
    "$COFFER_BIN" "${args[@]}" >"$out.stdout" 2>"$out.stderr" &
  local pid=$!
  printf -v "${name}_PID" '%s' "$pid"
  BENCH_SERVERS+=("$name")

  local endpoint="" line deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    line="$(grep -m1 -E '^coffer: listening on http://127(\.[0-9]{1,3}){3}:[0-9]+[[:space:]]*$' \
      "$out.stdout" || true)"
    if [[ -n "$line" ]]; then
      endpoint="$(sed -E 's/^coffer: listening on (http:[^[:space:]]+).*$/\1/' <<<"$line")"
      break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 20 "$out.stderr" >&2 || true
      printf -v "${name}_PID" '%s' ""
      die "the server exited before listening"
    fi
    sleep 0.1
  done
  [[ -n "$endpoint" ]] || die "the server did not print its listening line within 30 s"
  printf -v "${name}_ENDPOINT" '%s' "$endpoint"
}

CURL=(curl -sS --noproxy '*' --max-time 10)

# VmHWM of server NAME: the process's peak resident set size so far, in kB.
peak_rss_kb() {
  local pid_var="${1}_PID"
  awk '/^VmHWM:/ { print $2 }' "/proc/${!pid_var}/status"
}
server_alive() {
  local pid_var="${1}_PID"
  kill -0 "${!pid_var}" 2>/dev/null ||
    die "the server died; stderr:$(tail -n 20 "$TMP/server-$1.stderr")"
}

# ------------------------------------------------------------------------------ load
# run_wrk SERVER LABEL SCRIPT URL SECONDS: runs wrk, checks every response was 200 and no socket
# error occurred, and leaves the BENCH_RESULT fields in R_* variables.
run_wrk() {
  local server="$1" label="$2" script="$3" url="$4" secs="$5" out
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
  server_alive "$server"
}

# measure SERVER NAME SCRIPT URL: warm-up, then the measured run; sets
# <NAME>_{RPS,P50,P99,RSS,REQS} (RSS: the server's VmHWM after the run).
measure() {
  local server="$1" name="$2" script="$3" url="$4"
  log "$name: ${WARMUP} s warm-up, then ${DURATION} s measured (wrk -t$THREADS -c$CONNECTIONS)"
  run_wrk "$server" "${name}-warmup" "$script" "$url" "$WARMUP"
  run_wrk "$server" "$name" "$script" "$url" "$DURATION"
  sed -n '/^Running/,/^Transfer/p' "$TMP/wrk-${name}.txt" | sed 's/^/    /' >&2
  printf -v "${name}_RPS" '%s' "$R_rps"
  printf -v "${name}_P50" '%s' "$R_p50_us"
  printf -v "${name}_P99" '%s' "$R_p99_us"
  printf -v "${name}_REQS" '%s' "$R_requests"
  printf -v "${name}_RSS" '%s' "$(peak_rss_kb "$server")"
}

# ------------------------------------------------------------------------------ report
ms() { awk -v us="$1" 'BEGIN { printf "%.2f ms", us / 1000 }'; }
mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }
rps() { awk -v r="$1" 'BEGIN { printf "%.0f", r }'; }

# Sets CORES, CPU, COMMIT (with +dirty for uncommitted tracked changes) and WHEN (UTC).
# json_field FILE KEY: one top-level field of a JSON file (a list as space-separated items).
json_field() {
  "$PYTHON" -c 'import json, sys; v = json.load(open(sys.argv[1]))[sys.argv[2]]; print(v if not isinstance(v, list) else " ".join(str(x) for x in v))' "$1" "$2"
}

machine_info() {
  CORES="$(nproc)"
  CPU="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)"
  COMMIT="$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  if [[ "$COMMIT" != unknown && -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ]]; then
    COMMIT="$COMMIT+dirty"
  fi
  WHEN="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
