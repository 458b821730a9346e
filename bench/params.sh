#!/usr/bin/env bash
# bench/params.sh — coffer's Parameter Store benchmark (`make bench` runs it after run.sh).
# See bench/README.md.
#
# Two servers on free loopback ports, each with its own fresh data dir:
#   SMALL  100 parameters (10 under /bench/hot, 90 over 9 other paths) and one secret;
#   BIG    100,000 parameters (10,000 under /bench/hot, 90,000 over 90 other paths), all put
#          through the API (PutParameter from concurrent botocore clients; timed).
# Each measured request is ONE pre-signed SigV4 request replayed by wrk with run.sh's load
# settings (keep-alive, warm-up, then a fixed duration; every response must be 200):
#   1. SMALL: GetSecretValue, GET /health, GetParameter (String) and GetParameter (SecureString,
#      WithDecryption) — the Parameter Store read beside run.sh's figures;
#   2. SMALL then BIG: GetParameter, a GetParametersByPath page (MaxResults 10, one level under
#      /bench/hot) and a DescribeParameters page (Path OneLevel /bench/hot, MaxResults 10) —
#      their cost with 100,000 parameters against 100 (required: within 2x).
# Prints the tables and writes them to bench/results/params-latest.md. Exits non-zero if any
# setup step fails or any response under load is not 200 (and, with BENCH_PARAMS_STRICT=1, if
# a ratio exceeds 2x).
#
# Knobs (environment), besides run.sh's BENCH_DURATION, BENCH_WARMUP, BENCH_THREADS,
# BENCH_CONNECTIONS, BENCH_IO_THREADS, COFFER_BIN and PYTHON:
#   BENCH_PARAMS_BIG       parameters in the big store      (default: 100000; 100..110000)
#   BENCH_PARAMS_SMALL     parameters in the small store    (default: 100)
#   BENCH_PARAMS_WORKERS   concurrent PutParameter clients  (default: 24)
#   BENCH_PARAMS_STORE     keep the big store in this directory and reuse it on later runs
#                          (default: unset = a temporary data dir, populated on every run)
#   BENCH_PARAMS_STRICT    1 = exit 1 when a 100k/100 ratio exceeds 2 (default: 0 = report)
#   BENCH_PARAMS_RESULTS   Markdown output file   (default: bench/results/params-latest.md)
set -euo pipefail

BENCH_TAG=bench-params
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
RESULTS_FILE="${BENCH_PARAMS_RESULTS:-$BENCH_DIR/results/params-latest.md}"
BIG="${BENCH_PARAMS_BIG:-100000}"
SMALL="${BENCH_PARAMS_SMALL:-100}"
WORKERS="${BENCH_PARAMS_WORKERS:-24}"
STORE="${BENCH_PARAMS_STORE:-}"
STRICT="${BENCH_PARAMS_STRICT:-0}"
MAX_RATIO=2

bench_preflight
for v in BIG SMALL WORKERS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || die "BENCH_PARAMS_$v must be a positive integer"
done
((SMALL < BIG)) || die "BENCH_PARAMS_SMALL must be below BENCH_PARAMS_BIG"
[[ "$STRICT" == 0 || "$STRICT" == 1 ]] || die "BENCH_PARAMS_STRICT must be 0 or 1"

# Python with the server's root key (and nothing else of the machine's AWS setup).
py() {
  AWS_ACCESS_KEY_ID="$ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$SECRET_ACCESS_KEY" AWS_REGION="$REGION" \
    "$PYTHON" "$@"
}
STORE_PY="$BENCH_DIR/params_store.py"

# The measured names of each layout: <PREFIX>_HOT_PATH, _HOT_COUNT, _HOT_NAME, _SECURE_NAME, ...
load_names() {
  local prefix="$1" total="$2" lines k v
  lines="$(py "$STORE_PY" names --total "$total")" || die "unsupported store size $total"
  while IFS='=' read -r k v; do
    [[ "$k" =~ ^[A-Z_]+$ ]] || die "bad names output: $k=$v"
    printf -v "${prefix}_$k" '%s' "$v"
  done <<<"$lines"
}
load_names SMALL "$SMALL"
load_names BIG "$BIG"
[[ "$SMALL_HOT_PATH" == "$BIG_HOT_PATH" ]] || die "the two layouts measure different paths"
HOT_PATH="$BIG_HOT_PATH"


# ------------------------------------------------------------------------------ small store
start_server SMALL "$TMP/small/data"
log "SMALL server pid $SMALL_PID listening on $SMALL_ENDPOINT"
code="$("${CURL[@]}" -o /dev/null -w '%{http_code}' "$SMALL_ENDPOINT/health")" || true
[[ "$code" == 200 ]] || die "GET /health answered '$code'"
log "populating SMALL: $SMALL parameters"
py "$STORE_PY" populate "$SMALL_ENDPOINT" --total "$SMALL" --workers "$WORKERS" \
  --summary "$TMP/small-populate.json" || die "could not populate the small store"

# ------------------------------------------------------------------------------ big store
if [[ -n "$STORE" ]]; then
  mkdir -p "$STORE"
  STORE="$(cd "$STORE" && pwd)"
  BIG_DATA="$STORE/data"
  MARKER="$STORE/populated.json"
  REUSED=0
  if [[ -f "$MARKER" && "$(json_field "$MARKER" parameters 2>/dev/null || true)" == "$BIG" ]]; then
    REUSED=1
  elif [[ -e "$BIG_DATA" ]]; then
    die "$BIG_DATA exists but holds no completed store of $BIG parameters; remove it"
  fi
else
  BIG_DATA="$TMP/big/data"
  MARKER=""
  REUSED=0
fi
start_server BIG "$BIG_DATA"
log "BIG server pid $BIG_PID listening on $BIG_ENDPOINT (data dir $BIG_DATA)"
if ((REUSED)); then
  log "reusing the store populated earlier in $STORE; checking it through the API"
  py "$STORE_PY" check "$BIG_ENDPOINT" --total "$BIG" || die "the kept store in $STORE is not usable"
  cp "$MARKER" "$TMP/big-populate.json"
else
  log "populating BIG: $BIG parameters through PutParameter, $WORKERS concurrent clients"
  py "$STORE_PY" populate "$BIG_ENDPOINT" --total "$BIG" --workers "$WORKERS" \
    --summary "$TMP/big-populate.json" || die "could not populate the big store"
  if [[ -n "$MARKER" ]]; then cp "$TMP/big-populate.json" "$MARKER"; fi
fi
BIG_STORE_KB="$(du -sk "$BIG_DATA" | awk '{ print $1 }')"
BIG_FS="$(df -PT "$BIG_DATA" | awk 'NR == 2 { print $2 }')"
for s in SMALL BIG; do
  f="$TMP/$(tr '[:upper:]' '[:lower:]' <<<"$s")-populate.json"
  printf -v "POP_${s}_SECONDS" '%s' "$(json_field "$f" seconds)"
  printf -v "POP_${s}_RATE" '%s' "$(json_field "$f" puts_per_s)"
  printf -v "POP_${s}_STANDARD" '%s' "$(json_field "$f" standard)"
  printf -v "POP_${s}_ADVANCED" '%s' "$(json_field "$f" advanced)"
  printf -v "POP_${s}_WORKERS" '%s' "$(json_field "$f" workers)"
  printf -v "POP_${s}_TENTHS" '%s' "$(json_field "$f" puts_per_s_by_tenth)"
done
log "BIG store: $(mib "$BIG_STORE_KB") on disk ($BIG_FS); server RSS so far $(mib "$(peak_rss_kb BIG)")"

# ------------------------------------------------------------------------------ load
# ssm SERVER NAME OPERATION BODY [--expect-…]: signs one AmazonSSM.<OPERATION> request just
# before its runs (a signature lives 5 minutes), checks one replay of it, then measures it.
ssm() {
  local server="$1" name="$2" op="$3" body="$4" endpoint_var="${1}_ENDPOINT" out
  shift 4
  out="$(py "$STORE_PY" sign "${!endpoint_var}" "$TMP/gen-$server" "$name" "$op" "$body" "$@")" ||
    die "$name: the signed $op request failed its check"
  printf -v "${name}_BYTES" '%s' "${out#RESPONSE_BYTES=}"
  log "$name: replayed $op answers 200 (${out#RESPONSE_BYTES=} bytes)"
  measure "$server" "$name" "$TMP/gen-$server/$name.lua" "${!endpoint_var}/"
}
gpbp_body() { printf '{"Path":"%s","MaxResults":10}' "$HOT_PATH"; }
dp_body() {
  printf '{"ParameterFilters":[{"Key":"Path","Option":"OneLevel","Values":["%s"]}],"MaxResults":10}' \
    "$HOT_PATH"
}

# 1. GetParameter beside GetSecretValue and /health (small store). As in run.sh: one secret
#    created and its GetSecretValue signed by make_request.py, checked once with curl.
py "$BENCH_DIR/make_request.py" "$SMALL_ENDPOINT" "$TMP/gen" ||
  die "could not create the secret or sign the request"
# shellcheck disable=SC1091
source "$TMP/gen/info.txt"
mapfile -t curl_headers <"$TMP/gen/curl.args"
code="$("${CURL[@]}" -o "$TMP/gsv.json" -w '%{http_code}' -X POST "${curl_headers[@]}" \
  --data-binary "@$TMP/gen/body.json" "$SMALL_ENDPOINT/")" || true
if [[ "$code" != 200 ]] || ! grep -q '"SecretString"' "$TMP/gsv.json"; then
  die "the replayed GetSecretValue answered '$code': $(head -c 400 "$TMP/gsv.json" 2>/dev/null)"
fi
GSV_BYTES="$(wc -c <"$TMP/gsv.json")"
log "replayed GetSecretValue answers 200 ($GSV_BYTES bytes)"
measure SMALL GSV "$TMP/gen/get_secret_value.lua" "$SMALL_ENDPOINT/"
measure SMALL HEALTH "$TMP/gen/status.lua" "$SMALL_ENDPOINT/health"
# shellcheck disable=SC2034  # read through ${n}_BYTES below
HEALTH_BYTES="$(wc -c < <("${CURL[@]}" "$SMALL_ENDPOINT/health"))"
ssm SMALL GPSEC_SMALL GetParameter "{\"Name\":\"$SMALL_SECURE_NAME\",\"WithDecryption\":true}" \
  --expect-name "$SMALL_SECURE_NAME"
# 2. Scaling: each call on the small store, then at once on the big one.
ssm SMALL GP_SMALL GetParameter "{\"Name\":\"$SMALL_HOT_NAME\"}" --expect-name "$SMALL_HOT_NAME"
ssm BIG GP_BIG GetParameter "{\"Name\":\"$BIG_HOT_NAME\"}" --expect-name "$BIG_HOT_NAME"
# A page is full (10) in both stores; it has a NextToken when the path holds more than 10.
more() { if (($1 > 10)); then echo --expect-more; fi; }
# shellcheck disable=SC2046  # more prints one flag or nothing
{
  ssm SMALL GPBP_SMALL GetParametersByPath "$(gpbp_body)" --expect-count 10 $(more "$SMALL_HOT_COUNT")
  ssm BIG GPBP_BIG GetParametersByPath "$(gpbp_body)" --expect-count 10 $(more "$BIG_HOT_COUNT")
  ssm SMALL DP_SMALL DescribeParameters "$(dp_body)" --expect-count 10 $(more "$SMALL_HOT_COUNT")
  ssm BIG DP_BIG DescribeParameters "$(dp_body)" --expect-count 10 $(more "$BIG_HOT_COUNT")
}
SMALL_RSS="$(peak_rss_kb SMALL)"
BIG_RSS="$(peak_rss_kb BIG)"

stop_server SMALL
stop_server BIG

# ------------------------------------------------------------------------------ report
machine_info
IO_DESC="${IO_THREADS:-default (one per core)}"
SETUP="wrk -t$THREADS -c$CONNECTIONS keep-alive, ${DURATION} s measured after ${WARMUP} s warm-up; coffer --io-threads $IO_DESC"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
num() { awk -v n="$1" 'BEGIN { s = sprintf("%d", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }; print s o }'; }

# Cost ratios, big store / small store: time per request at saturation (inverse requests/s)
# and p50 latency. Both must stay within MAX_RATIO.
VERDICTS_OK=1
for c in GPBP DP GP; do
  small_rps="${c}_SMALL_RPS" big_rps="${c}_BIG_RPS" small_p50="${c}_SMALL_P50" big_p50="${c}_BIG_P50"
  printf -v "${c}_COST" '%s' "$(ratio "${!small_rps}" "${!big_rps}")"
  printf -v "${c}_P50R" '%s' "$(ratio "${!big_p50}" "${!small_p50}")"
  cost="${c}_COST" p50r="${c}_P50R"
  if awk -v a="${!cost}" -v b="${!p50r}" -v m="$MAX_RATIO" 'BEGIN { exit !(a <= m && b <= m) }'; then
    printf -v "${c}_OK" '%s' "yes"
  else
    printf -v "${c}_OK" '%s' "NO"
    VERDICTS_OK=0
  fi
done

label_of() {
  case "$1" in
    GPBP) echo "GetParametersByPath page" ;;
    DP) echo "DescribeParameters page" ;;
    GP) echo "GetParameter (String)" ;;
  esac
}
POP_LINE="$(num "$BIG") parameters ($(num "$POP_BIG_STANDARD") Standard + $(num "$POP_BIG_ADVANCED") Advanced; $(num "$BIG_HOT_COUNT") under $HOT_PATH, the rest over $BIG_OTHER_PATHS other paths) put through PutParameter by $POP_BIG_WORKERS concurrent clients in $POP_BIG_SECONDS s = $(num "$POP_BIG_RATE") puts/s"
((REUSED)) && POP_LINE="$POP_LINE (populated by an earlier run; reused from $STORE)"
SMALL_LINE="$(num "$SMALL") parameters ($POP_SMALL_STANDARD Standard + $POP_SMALL_ADVANCED Advanced; $SMALL_HOT_COUNT under $HOT_PATH, the rest over $SMALL_OTHER_PATHS other paths) in $POP_SMALL_SECONDS s"

{
  echo
  echo "coffer Parameter Store benchmark — $WHEN, commit $COMMIT, $CORES cores ($CPU), server and wrk share them"
  echo "$SETUP; each request is one pre-signed SigV4 request replayed"
  echo
  echo "1. Reads on the small store ($SMALL parameters, one secret)"
  printf '%-34s %12s %10s %10s %10s %12s\n' "request" "requests/s" "p50" "p99" "response" "vs /health"
  for r in GSV:"GetSecretValue" GP_SMALL:"GetParameter (String)" GPSEC_SMALL:"GetParameter (SecureString, decr.)" HEALTH:"GET /health"; do
    n="${r%%:*}" l="${r#*:}" rv="${n}_RPS" p50="${n}_P50" p99="${n}_P99" b="${n}_BYTES"
    printf '%-34s %12s %10s %10s %10s %12s\n' "$l" "$(rps "${!rv}")" "$(ms "${!p50}")" \
      "$(ms "${!p99}")" "${!b} B" "$(pct "${!rv}" "$HEALTH_RPS")"
  done
  echo
  echo "2. Cost with $(num "$BIG") parameters against $(num "$SMALL") (page: MaxResults 10, one level under $HOT_PATH, which holds $(num "$BIG_HOT_COUNT") / $SMALL_HOT_COUNT)"
  printf '%-26s %11s %9s %11s %9s %9s %9s %7s\n' "request" "req/s $SMALL" "p50" "req/s $BIG" "p50" "cost x" "p50 x" "<= ${MAX_RATIO}x"
  for c in GPBP DP GP; do
    a="${c}_SMALL_RPS" b="${c}_SMALL_P50" d="${c}_BIG_RPS" e="${c}_BIG_P50" f="${c}_COST" g="${c}_P50R" h="${c}_OK"
    printf '%-26s %11s %9s %11s %9s %9s %9s %7s\n' "$(label_of "$c")" "$(rps "${!a}")" "$(ms "${!b}")" \
      "$(rps "${!d}")" "$(ms "${!e}")" "${!f}" "${!g}" "${!h}"
  done
  echo "   cost x = requests/s with $SMALL ÷ requests/s with $BIG (time per request at saturation); p50 x = p50 with $BIG ÷ p50 with $SMALL"
  echo
  echo "Big store: $POP_LINE"
  echo "   puts/s by tenth of the population: $POP_BIG_TENTHS"
  echo "   $(mib "$BIG_STORE_KB") on disk ($BIG_FS, SQLite WAL, synchronous=FULL); peak RSS $(mib "$BIG_RSS") (small store: $(mib "$SMALL_RSS"))"
  echo "Small store: $SMALL_LINE"
}

mkdir -p "$(dirname "$RESULTS_FILE")"
{
  cat <<EOF
### coffer Parameter Store benchmark

$WHEN · commit \`$COMMIT\` · $CORES cores ($CPU), shared by server and load generator ·
$SETUP · every request is one pre-signed SigV4 request replayed (\`AmazonSSM.<Op>\`, service \`ssm\`)

**Reads on the small store** ($(num "$SMALL") parameters, one secret)

| request | requests/s | p50 | p99 | response | vs /health |
|---|---:|---:|---:|---:|---:|
EOF
  for r in GSV:"GetSecretValue" GP_SMALL:"GetParameter (String)" GPSEC_SMALL:"GetParameter (SecureString, WithDecryption)" HEALTH:"GET /health"; do
    n="${r%%:*}" l="${r#*:}" rv="${n}_RPS" p50="${n}_P50" p99="${n}_P99" b="${n}_BYTES"
    echo "| $l | $(rps "${!rv}") | $(ms "${!p50}") | $(ms "${!p99}") | ${!b} B | $(pct "${!rv}" "$HEALTH_RPS") |"
  done
  cat <<EOF

**Cost with $(num "$BIG") parameters against $(num "$SMALL")** — pages of MaxResults 10, one level under
\`$HOT_PATH\` ($(num "$BIG_HOT_COUNT") parameters there in the big store, $SMALL_HOT_COUNT in the small one);
GetParameter reads \`$BIG_HOT_NAME\` / \`$SMALL_HOT_NAME\`

| request | req/s ($(num "$SMALL")) | p50 | p99 | req/s ($(num "$BIG")) | p50 | p99 | cost ×  | p50 × | ≤ ${MAX_RATIO}× |
|---|---:|---:|---:|---:|---:|---:|---:|---:|:-:|
EOF
  for c in GPBP DP GP; do
    a="${c}_SMALL_RPS" b="${c}_SMALL_P50" b9="${c}_SMALL_P99" d="${c}_BIG_RPS" e="${c}_BIG_P50" e9="${c}_BIG_P99"
    f="${c}_COST" g="${c}_P50R" h="${c}_OK"
    echo "| $(label_of "$c") | $(rps "${!a}") | $(ms "${!b}") | $(ms "${!b9}") | $(rps "${!d}") | $(ms "${!e}") | $(ms "${!e9}") | ${!f} | ${!g} | ${!h} |"
  done
  cat <<EOF

cost × = requests/s with $(num "$SMALL") ÷ requests/s with $(num "$BIG") (time per request at saturation);
p50 × = p50 with $(num "$BIG") ÷ p50 with $(num "$SMALL").

Big store: $POP_LINE; puts/s by tenth of the population: $POP_BIG_TENTHS;
$(mib "$BIG_STORE_KB") on disk ($BIG_FS, SQLite WAL, synchronous=FULL); peak RSS $(mib "$BIG_RSS") (small store: $(mib "$SMALL_RSS")).
Small store: $SMALL_LINE.
EOF
} >"$RESULTS_FILE.tmp"
mv "$RESULTS_FILE.tmp" "$RESULTS_FILE"
log "wrote $RESULTS_FILE"

if ((!VERDICTS_OK)); then
  if [[ "$STRICT" == 1 ]]; then die "a 100k/100 cost ratio exceeds ${MAX_RATIO}x"; fi
  log "note: a ratio exceeds ${MAX_RATIO}x (set BENCH_PARAMS_STRICT=1 to fail on it)"
fi
