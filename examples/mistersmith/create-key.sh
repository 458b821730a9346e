#!/usr/bin/env bash
# Creates the MisterSmith secrets key ("Encryption" in the MisterSmith secrets design): a
# customer-managed symmetric KMS key, alias alias/mistersmith-secrets, with automatic rotation
# enabled, with the AWS CLI v2, against coffer or any KMS endpoint.
#
# Usage:
#   create-key.sh --endpoint-url http://127.0.0.1:PORT [--region us-east-1]
#   COFFER_ENDPOINT=http://127.0.0.1:PORT create-key.sh
#
# Credentials come from the usual AWS CLI sources, normally AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY in the environment. The endpoint is required, so the script never
# talks to real AWS by accident.
#
# When the alias already exists its key is reused, and the script only makes sure that automatic
# rotation is on; a key that is disabled or pending deletion is reported and left alone (exit 1).
# create-secrets.sh runs this script itself when the alias is missing.
set -euo pipefail

AWS_CLI="${AWS_CLI:-/usr/bin/aws}"
ENDPOINT="${COFFER_ENDPOINT:-${AWS_ENDPOINT_URL_KMS:-${AWS_ENDPOINT_URL:-}}}"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"

ALIAS=alias/mistersmith-secrets
DESCRIPTION="MisterSmith: encrypts the mistersmith/* secrets in Secrets Manager"

usage() {
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-url) ENDPOINT="${2:?--endpoint-url needs a value}"; shift 2 ;;
    --endpoint-url=*) ENDPOINT="${1#*=}"; shift ;;
    --region) REGION="${2:?--region needs a value}"; shift 2 ;;
    --region=*) REGION="${1#*=}"; shift ;;
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

kms() {
  "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" kms "$@"
}

ERR="$(mktemp)"
trap 'rm -f "$ERR"' EXIT

# ------------------------------------------------------------- the alias exists: reuse its key
if out="$(kms describe-key --key-id "$ALIAS" --query 'KeyMetadata.[Arn,KeyState]' --output text 2>"$ERR")"; then
  IFS=$'\t' read -r arn state <<<"$out"
  case "$state" in
    Enabled) ;;
    PendingDeletion)
      echo "error: $ALIAS names $arn, which is pending deletion; rescue it with" >&2
      echo "  aws kms cancel-key-deletion --key-id $arn && aws kms enable-key --key-id $arn" >&2
      exit 1
      ;;
    *)
      echo "error: $ALIAS names $arn, which is $state; enable it with" >&2
      echo "  aws kms enable-key --key-id $arn" >&2
      exit 1
      ;;
  esac
  # GetKeyRotationStatus and EnableKeyRotation take a key id or ARN, not an alias.
  if [[ "$(kms get-key-rotation-status --key-id "$arn" --query KeyRotationEnabled --output text)" == True ]]; then
    note="automatic rotation already enabled"
  else
    kms enable-key-rotation --key-id "$arn"
    note="automatic rotation now enabled"
  fi
  printf '%-36s exists, reused  %s  (%s)\n' "$ALIAS" "$arn" "$note"
  exit 0
fi
if ! grep -q '(NotFoundException)' "$ERR"; then
  cat "$ERR" >&2
  exit 1
fi

# ------------------------------------------------------------- create key, alias, rotation
arn="$(kms create-key --description "$DESCRIPTION" \
  --tags TagKey=project,TagValue=mistersmith TagKey=purpose,TagValue=secrets-encryption \
  TagKey=rotation,TagValue=automatic \
  --query KeyMetadata.Arn --output text)"
if ! kms create-alias --alias-name "$ALIAS" --target-key-id "$arn" 2>"$ERR"; then
  cat "$ERR" >&2
  # Another run won the race for the alias (or the name was refused): don't leave an unnamed key.
  kms schedule-key-deletion --key-id "$arn" --pending-window-in-days 7 >/dev/null 2>&1 || true
  echo "error: could not create $ALIAS; the new key $arn is scheduled for deletion" >&2
  exit 1
fi
kms enable-key-rotation --key-id "$arn"
printf '%-36s created  %s  (automatic rotation enabled)\n' "$ALIAS" "$arn"
