# shellcheck shell=bash
# Shared helpers for coffer's shell end-to-end tests (sourced, not run).
#
#   coffer_start / coffer_stop  start `coffer server` on a free loopback port with a fresh data
#                               dir; coffer_start installs an EXIT trap that always stops it.
#   aws_isolate                 point the AWS CLI at the test credentials only (no user config).
#   aws_call ARGS...            run the AWS CLI against the server; sets AWS_OUT, AWS_ERR, AWS_RC.
#   pass / fail / check_*       count results; finish prints 'N passed, M failed'.
#
# The binary is $COFFER_BIN, else <repo>/build/coffer. The AWS CLI is $AWS_CLI, else
# /usr/bin/aws (Debian's AWS CLI v2; the `aws` first on PATH may be v1).

COFFER_E2E_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="${REPO_ROOT:-$(cd "$COFFER_E2E_LIB_DIR/../../.." && pwd)}"
COFFER_BIN_PATH="${COFFER_BIN:-$REPO_ROOT/build/coffer}"
AWS_CLI="${AWS_CLI:-/usr/bin/aws}"

TEST_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
TEST_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
TEST_REGION=us-east-1
TEST_ACCOUNT_ID=123456789012

COFFER_PID=""
COFFER_ENDPOINT=""
COFFER_EXIT_CODE=""
COFFER_TMP=""
PASSED=0
FAILED=0

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- results
pass() {
  PASSED=$((PASSED + 1))
  printf 'ok   %s\n' "$1"
}

fail() {
  FAILED=$((FAILED + 1))
  printf 'FAIL %s\n' "$1"
  if [[ $# -gt 1 ]]; then printf '%s\n' "${@:2}" | sed 's/^/     /'; fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
  if [[ "$3" == "$2" ]]; then
    pass "$1"
  else
    fail "$1" "expected: $2" "actual:   $3"
  fi
}

# check_match DESC EXTENDED_REGEX ACTUAL
check_match() {
  if [[ "$3" =~ $2 ]]; then
    pass "$1"
  else
    fail "$1" "expected to match: $2" "actual: $3"
  fi
}

# check_ne DESC UNEXPECTED ACTUAL
check_ne() {
  if [[ "$3" != "$2" ]]; then
    pass "$1"
  else
    fail "$1" "expected anything but: $2"
  fi
}

# finish: prints the totals line and returns non-zero if anything failed.
finish() {
  echo
  echo "$PASSED passed, $FAILED failed"
  [[ $FAILED -eq 0 && $PASSED -gt 0 ]]
}

# ---------------------------------------------------------------- server
coffer_cleanup() {
  coffer_stop >/dev/null 2>&1 || true
  if [[ -n "$COFFER_TMP" && -d "$COFFER_TMP" ]]; then rm -rf "$COFFER_TMP"; fi
}

coffer_start() {
  if [[ ! -x "$COFFER_BIN_PATH" ]]; then
    log "coffer binary not found or not executable at $COFFER_BIN_PATH; build it or set COFFER_BIN"
    return 2
  fi
  if [[ -z "$COFFER_TMP" ]]; then
    COFFER_TMP="$(mktemp -d "${TMPDIR:-/tmp}/coffer-e2e-sh.XXXXXX")"
    trap coffer_cleanup EXIT
    trap 'exit 130' INT TERM
  fi
  local data_dir="$COFFER_TMP/data"
  mkdir -p "$data_dir"
  COFFER_ROOT_ACCESS_KEY_ID="$TEST_ACCESS_KEY_ID" \
    COFFER_ROOT_SECRET_ACCESS_KEY="$TEST_SECRET_ACCESS_KEY" \
    "$COFFER_BIN_PATH" server --listen 127.0.0.1:0 --data-dir "$data_dir" \
    --account-id "$TEST_ACCOUNT_ID" >"$COFFER_TMP/server.stdout" 2>"$COFFER_TMP/server.stderr" &
  COFFER_PID=$!
  COFFER_EXIT_CODE=""

  local deadline=$((SECONDS + ${COFFER_E2E_START_TIMEOUT:-30})) line=""
  while ((SECONDS < deadline)); do
    line="$(grep -m1 -E '^coffer: listening on http://127(\.[0-9]{1,3}){3}:[0-9]+[[:space:]]*$' \
      "$COFFER_TMP/server.stdout" 2>/dev/null || true)"
    [[ -n "$line" ]] && break
    if ! kill -0 "$COFFER_PID" 2>/dev/null; then
      wait "$COFFER_PID" && COFFER_EXIT_CODE=0 || COFFER_EXIT_CODE=$?
      log "coffer exited (code $COFFER_EXIT_CODE) before listening; stderr:"
      tail -n 40 "$COFFER_TMP/server.stderr" >&2 || true
      COFFER_PID=""
      return 1
    fi
    sleep 0.1
  done
  if [[ -z "$line" ]]; then
    log "coffer did not print its listening line in time; stdout/stderr:"
    tail -n 20 "$COFFER_TMP/server.stdout" "$COFFER_TMP/server.stderr" >&2 || true
    coffer_stop || true
    return 1
  fi
  COFFER_ENDPOINT="$(sed -E 's/^coffer: listening on (http:[^[:space:]]+).*$/\1/' <<<"$line")"
  log "coffer (pid $COFFER_PID) listening on $COFFER_ENDPOINT"
}

# coffer_stop: SIGTERM, wait up to 15 s, then SIGKILL. Sets COFFER_EXIT_CODE.
coffer_stop() {
  [[ -n "$COFFER_PID" ]] || return 0
  local pid="$COFFER_PID"
  COFFER_PID=""
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "coffer (pid $pid) ignored SIGTERM; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null && COFFER_EXIT_CODE=0 || COFFER_EXIT_CODE=$?
}

# ---------------------------------------------------------------- AWS CLI
aws_isolate() {
  if [[ ! -x "$AWS_CLI" ]]; then
    log "AWS CLI not found at $AWS_CLI (Debian package awscli; or set AWS_CLI)"
    return 2
  fi
  local version
  version="$("$AWS_CLI" --version 2>&1)"
  if [[ "$version" != aws-cli/2.* ]]; then
    log "$AWS_CLI is not AWS CLI v2: $version"
    return 2
  fi
  : >"$COFFER_TMP/aws-config"
  : >"$COFFER_TMP/aws-credentials"
  unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_ENDPOINT_URL \
    AWS_CA_BUNDLE AWS_ROLE_ARN AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  export AWS_ACCESS_KEY_ID="$TEST_ACCESS_KEY_ID"
  export AWS_SECRET_ACCESS_KEY="$TEST_SECRET_ACCESS_KEY"
  export AWS_DEFAULT_REGION="$TEST_REGION"
  export AWS_REGION="$TEST_REGION"
  export AWS_CONFIG_FILE="$COFFER_TMP/aws-config"
  export AWS_SHARED_CREDENTIALS_FILE="$COFFER_TMP/aws-credentials"
  export AWS_PAGER=""
  export AWS_CLI_AUTO_PROMPT=off
  export AWS_EC2_METADATA_DISABLED=true
  export AWS_DEFAULT_OUTPUT=json
}

# aws_call ARGS...: runs the CLI against the server without tripping `set -e`.
aws_call() {
  local errf="$COFFER_TMP/aws.stderr"
  if AWS_OUT="$("$AWS_CLI" --endpoint-url "$COFFER_ENDPOINT" "$@" 2>"$errf")"; then
    AWS_RC=0
  else
    AWS_RC=$?
  fi
  AWS_ERR="$(cat "$errf")"
}

# expect_ok DESC ARGS...: the call must succeed; its stdout is left in AWS_OUT.
# Always returns 0 (callers run under `set -e`); a failure is counted and AWS_RC is set.
expect_ok() {
  local desc="$1"
  shift
  aws_call "$@"
  if [[ $AWS_RC -eq 0 ]]; then
    pass "$desc"
  else
    fail "$desc" "aws $* -> exit $AWS_RC" "$AWS_ERR"
  fi
}

# expect_aws_error DESC CODE ARGS...: the call must fail with "(CODE)" in the CLI's message.
expect_aws_error() {
  local desc="$1" code="$2"
  shift 2
  aws_call "$@"
  if [[ $AWS_RC -ne 0 && "$AWS_ERR" == *"($code)"* ]]; then
    pass "$desc"
  elif [[ $AWS_RC -eq 0 ]]; then
    fail "$desc" "expected ($code), but the call succeeded: $AWS_OUT"
  else
    fail "$desc" "expected ($code), got exit $AWS_RC:" "$AWS_ERR"
  fi
}

new_uuid() { cat /proc/sys/kernel/random/uuid; }
