#!/usr/bin/env bash
# Configures the MisterSmith rotation schedule ("Rotation Strategy" in the MisterSmith secrets
# design) on coffer, with the AWS CLI v2 and `coffer operator register-function`.
#
# Usage:
#   configure-rotation.sh --endpoint-url http://127.0.0.1:PORT [--region us-east-1]
#                         [--api-provider-state FILE] [--rotate-now] [--python PYTHON]
#   COFFER_ENDPOINT=http://127.0.0.1:PORT configure-rotation.sh
#
# Credentials: the account root's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the
# environment (registering a rotation function is the account root's job). Run it after
# create-secrets.sh (and create-access.sh, if you use it). The coffer binary is $COFFER_BIN,
# else `coffer` on PATH, else build/coffer of this repository.
#
#   secret                              every     rotation function
#   mistersmith/aurora/master           30 days   built-in postgres-single-user (the AWS RDS
#                                                 template): needs the database host reachable
#                                                 from coffer when a rotation runs
#   mistersmith/external/openai         90 days   rotation/api_key_rotation.py (the design's
#                                                 custom Lambda), run by tools/coffer-lambda-runner.py
#   mistersmith/app/jwt                 180 days  built-in hmac-signing-key: blue-green, the old
#                                                 key stays readable as AWSPREVIOUS
#   mistersmith/external/oauth/github   manual    none: the client secret is issued by GitHub;
#                                                 rotate it in GitHub's console, then put-secret-value
#
# Each function acts as its own IAM execution role (MisterSmithDbRotation,
# MisterSmithApiKeyRotation, MisterSmithJwtRotation), allowed only what rotation needs on its one
# secret, and kms:Decrypt / kms:GenerateDataKey on alias/mistersmith-secrets.
#
# By default the schedule is configured with RotateImmediately=false: Secrets Manager only runs
# each function's testSecret step as a configuration check, and the first rotation comes with
# the schedule. --rotate-now rotates the API key and the JWT key at once too (never the database
# password: the example's Aurora host is not real).
#
# The API-key function talks to a stand-in provider, a JSON file of the keys it accepts
# (--api-provider-state or API_PROVIDER_STATE, default
# ${XDG_STATE_HOME:-~/.local/state}/mistersmith/api-provider.json). When the file does not exist
# it is created holding the secret's current key, as a real provider would already know it. A
# real deployment replaces the stand-in (see the module).
#
# Re-running is safe: roles and functions are updated in place, the schedule is set again.
# Secret values are never printed.
set -euo pipefail

AWS_CLI="${AWS_CLI:-/usr/bin/aws}"
ENDPOINT="${COFFER_ENDPOINT:-${AWS_ENDPOINT_URL:-}}"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PROVIDER_STATE="${API_PROVIDER_STATE:-${XDG_STATE_HOME:-$HOME/.local/state}/mistersmith/api-provider.json}"
ROTATE_NOW=false
PYTHON="${ROTATION_PYTHON:-}"

usage() {
  sed -n '2,42p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-url) ENDPOINT="${2:?--endpoint-url needs a value}"; shift 2 ;;
    --endpoint-url=*) ENDPOINT="${1#*=}"; shift ;;
    --region) REGION="${2:?--region needs a value}"; shift 2 ;;
    --region=*) REGION="${1#*=}"; shift ;;
    --api-provider-state) PROVIDER_STATE="${2:?--api-provider-state needs a value}"; shift 2 ;;
    --api-provider-state=*) PROVIDER_STATE="${1#*=}"; shift ;;
    --python) PYTHON="${2:?--python needs a value}"; shift 2 ;;
    --python=*) PYTHON="${1#*=}"; shift ;;
    --rotate-now) ROTATE_NOW=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ -z "$ENDPOINT" ]]; then
  echo "error: no endpoint; pass --endpoint-url http://127.0.0.1:PORT or set COFFER_ENDPOINT" >&2
  exit 2
fi
if [[ ! -x "$AWS_CLI" ]]; then
  echo "error: AWS CLI not found at $AWS_CLI (install Debian's awscli, or set AWS_CLI)" >&2
  exit 2
fi
COFFER="${COFFER_BIN:-$(command -v coffer || true)}"
[[ -n "$COFFER" ]] || COFFER="$REPO/build/coffer"
if [[ ! -x "$COFFER" ]]; then
  echo "error: coffer not found (set COFFER_BIN, put coffer on PATH, or build it: make)" >&2
  exit 2
fi
# The exec function runs with a minimal PATH, so it gets the interpreter's absolute path; that
# interpreter needs boto3 (the Lambda runtime has it built in).
find_python() {
  local candidate exe
  for candidate in ${PYTHON:+"$PYTHON"} python3 /usr/bin/python3; do
    exe="$("$candidate" -c 'import sys, boto3; print(sys.executable)' 2>/dev/null)" || continue
    [[ -x "$exe" ]] && { printf '%s\n' "$exe"; return 0; }
  done
  return 1
}
if ! PYTHON="$(find_python)"; then
  echo "error: no python3 with boto3 found for the API-key rotation function (pip install boto3," >&2
  echo "  or pass --python /path/to/python3)" >&2
  exit 2
fi

iam() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region us-east-1 iam "$@"; }
sts() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" sts "$@"; }
sm() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" secretsmanager "$@"; }
kms() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" kms "$@"; }
operator() { "$COFFER" operator "$@" --endpoint "$ENDPOINT" --region "$REGION"; }

ERR="$(mktemp)"
trap 'rm -f "$ERR"' EXIT

DB_SECRET=mistersmith/aurora/master
API_SECRET=mistersmith/external/openai
JWT_SECRET=mistersmith/app/jwt
OAUTH_SECRET=mistersmith/external/oauth/github
KMS_KEY_ID=alias/mistersmith-secrets

echo "Configuring MisterSmith rotation at $ENDPOINT ($REGION)"
ACCOUNT_ID="$(sts get-caller-identity --query Account --output text)"

# secret_arn NAME: the secret's ARN, or exit 1 saying what to run first.
secret_arn() {
  local arn
  if arn="$(sm describe-secret --secret-id "$1" --query ARN --output text 2>"$ERR")"; then
    printf '%s\n' "$arn"
  elif grep -q '(ResourceNotFoundException)' "$ERR"; then
    echo "error: $1 does not exist; run create-secrets.sh first" >&2
    exit 1
  else
    cat "$ERR" >&2
    exit 1
  fi
}
DB_ARN="$(secret_arn "$DB_SECRET")"
API_ARN="$(secret_arn "$API_SECRET")"
JWT_ARN="$(secret_arn "$JWT_SECRET")"
KEY_ARN="$(kms describe-key --key-id "$KMS_KEY_ID" --query KeyMetadata.Arn --output text)"

# ------------------------------------------------------------- execution roles
# Lambda's trust policy: on AWS the function's service assumes the role; coffer hands the
# registered function the role's temporary credentials itself.
trust_policy() {
  cat <<'EOF'
{
  "Version": "2012-10-17",
  "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
  ]
}
EOF
}

# rotation_policy SECRET_ARN [random]: what a rotation function needs on its one secret; with
# "random", also GetRandomPassword (which has no resource).
rotation_policy() {
  local random=""
  if [[ "${2:-}" == random ]]; then
    random=',
    {"Sid": "GeneratePasswords", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"}'
  fi
  cat <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "RotateThisSecret",
      "Effect": "Allow",
      "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                 "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"],
      "Resource": "$1"
    },
    {
      "Sid": "UseTheSecretsKey",
      "Effect": "Allow",
      "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
      "Resource": "$KEY_ARN"
    }$random
  ]
}
EOF
}

# ensure_role VAR NAME DESCRIPTION POLICY_JSON: creates or updates the role; sets VAR to its ARN.
ensure_role() {
  local var="$1" name="$2" description="$3" policy="$4" arn state
  if arn="$(iam get-role --role-name "$name" --query Role.Arn --output text 2>"$ERR")"; then
    iam update-assume-role-policy --role-name "$name" --policy-document "$(trust_policy)"
    state="exists, policies put again"
  elif grep -q '(NoSuchEntity)' "$ERR"; then
    arn="$(iam create-role --role-name "$name" --description "$description" \
      --assume-role-policy-document "$(trust_policy)" --tags Key=project,Value=mistersmith \
      --query Role.Arn --output text)"
    state="created"
  else
    cat "$ERR" >&2
    return 1
  fi
  iam put-role-policy --role-name "$name" --policy-name MisterSmithRotation --policy-document "$policy"
  printf '%-36s %s  %s\n' "$name" "$state" "$arn"
  printf -v "$var" '%s' "$arn"
}

ensure_role DB_ROLE MisterSmithDbRotation "MisterSmith: rotates the Aurora password" \
  "$(rotation_policy "$DB_ARN" random)"
ensure_role API_ROLE MisterSmithApiKeyRotation "MisterSmith: rotates the OpenAI API key" \
  "$(rotation_policy "$API_ARN")"
ensure_role JWT_ROLE MisterSmithJwtRotation "MisterSmith: rotates the JWT signing key" \
  "$(rotation_policy "$JWT_ARN")"

# ------------------------------------------------------------- the stand-in API provider
mkdir -p "$(dirname "$PROVIDER_STATE")"
PROVIDER_STATE="$(cd "$(dirname "$PROVIDER_STATE")" && pwd)/$(basename "$PROVIDER_STATE")"
if [[ ! -e "$PROVIDER_STATE" ]]; then
  # The provider already knows today's key. The value goes from the CLI to the file through a
  # pipe, never on a command line or the terminal.
  (umask 077 && sm get-secret-value --secret-id "$API_ARN" --query SecretString --output text |
    "$PYTHON" -c 'import json, sys; json.dump({"keys": [json.load(sys.stdin)["apiKey"]]}, open(sys.argv[1], "w"))' \
      "$PROVIDER_STATE")
  printf '%-36s created  %s  (stand-in API provider: accepts the current key)\n' "api provider" "$PROVIDER_STATE"
else
  printf '%-36s exists  %s\n' "api provider" "$PROVIDER_STATE"
fi

# ------------------------------------------------------------- rotation functions
# register NAME ARGS...: (re-)registers a function; --command must come last.
register() {
  local name="$1"
  shift
  operator register-function --name "$name" "$@" >/dev/null
  printf '%-36s registered  arn:aws:lambda:%s:%s:function:%s\n' "$name" "$REGION" "$ACCOUNT_ID" "$name"
}
register mistersmith-db-rotation --kind builtin --builtin postgres-single-user --role-arn "$DB_ROLE"
register mistersmith-jwt-rotation --kind builtin --builtin hmac-signing-key --role-arn "$JWT_ROLE"
register mistersmith-api-key-rotation --kind exec --role-arn "$API_ROLE" --timeout 60 \
  --env "API_PROVIDER_STATE=$PROVIDER_STATE" \
  --command "$PYTHON" "$REPO/tools/coffer-lambda-runner.py" "$HERE/rotation/api_key_rotation.py"

# ------------------------------------------------------------- schedules
# schedule SECRET FUNCTION DAYS NOW(true|false) NOTE
schedule() {
  local secret="$1" fn="$2" days="$3" now="$4" note="$5" immediately=--no-rotate-immediately out
  [[ "$now" == true ]] && immediately=--rotate-immediately
  if out="$(sm rotate-secret --secret-id "$secret" \
    --rotation-lambda-arn "arn:aws:lambda:$REGION:$ACCOUNT_ID:function:$fn" \
    --rotation-rules "{\"AutomaticallyAfterDays\": $days}" "$immediately" \
    --query VersionId --output text 2>"$ERR")"; then
    if [[ "$now" == true ]]; then
      note="rotating now (version $out); $note"
    fi
    printf '%-36s every %s days  %s  (%s)\n' "$secret" "$days" "$fn" "$note"
  elif grep -q "A previous rotation isn't complete" "$ERR"; then
    printf '%-36s a previous rotation is not complete: retried now; see coffer operator events\n' "$secret"
  else
    cat "$ERR" >&2
    return 1
  fi
}
schedule "$DB_SECRET" mistersmith-db-rotation 30 false \
  "PostgreSQL single user; the database host must be reachable when it runs"
schedule "$API_SECRET" mistersmith-api-key-rotation 90 "$ROTATE_NOW" "custom Lambda"
schedule "$JWT_SECRET" mistersmith-jwt-rotation 180 "$ROTATE_NOW" "blue-green signing key"
printf '%-36s manual  (rotate the client secret in the provider console, then put-secret-value)\n' \
  "$OAUTH_SECRET"
echo "Done. Rotation events: $COFFER operator events --endpoint $ENDPOINT"
