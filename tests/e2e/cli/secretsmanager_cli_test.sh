#!/usr/bin/env bash
# End-to-end test: Debian's AWS CLI v2 (/usr/bin/aws) against a real coffer server.
#
# Usage: tests/e2e/cli/secretsmanager_cli_test.sh
#   COFFER_BIN  server binary (default <repo>/build/coffer)
#   AWS_CLI     AWS CLI v2 binary (default /usr/bin/aws)
# Prints one line per check and 'N passed, M failed' at the end; exits non-zero on any failure.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=coffer_e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/coffer_e2e_lib.sh"

coffer_start
aws_isolate

RUN="cli-$(new_uuid | cut -c1-8)"
SM=(secretsmanager)
ARN_PREFIX="arn:aws:secretsmanager:$TEST_REGION:$TEST_ACCOUNT_ID:secret:"

lines() { tr -s '\t' '\n' <<<"$1" | sed '/^$/d'; }

# ------------------------------------------------------------------ STS
echo "== sts"
expect_ok "sts get-caller-identity succeeds" sts get-caller-identity --query Account --output text
check_eq "caller account is the server's account" "$TEST_ACCOUNT_ID" "$AWS_OUT"
aws_call sts get-caller-identity --query Arn --output text
check_eq "caller ARN is the account root" "arn:aws:iam::$TEST_ACCOUNT_ID:root" "$AWS_OUT"

# ------------------------------------------------------------------ create / get
echo "== create-secret / get-secret-value"
NAME="$RUN/app/db"
VALUE='{"username":"app","password":"s3cr3t \"quoted\" ünïcødé"}'
T1="$(new_uuid)"
expect_ok "create-secret with a string value" "${SM[@]}" create-secret --name "$NAME" \
  --description "cli e2e" --secret-string "$VALUE" --client-request-token "$T1" \
  --query '[Name,VersionId,ARN]' --output text
IFS=$'\t' read -r got_name got_version ARN <<<"$AWS_OUT" || true
check_eq "create-secret returns the name" "$NAME" "$got_name"
check_eq "create-secret VersionId is the ClientRequestToken" "$T1" "$got_version"
check_match "create-secret ARN is arn:...:secret:<name>-<6 chars>" \
  "^${ARN_PREFIX}${NAME}-[A-Za-z0-9]{6}\$" "$ARN"

aws_call "${SM[@]}" get-secret-value --secret-id "$NAME" --query SecretString --output text
check_eq "get-secret-value by name returns the string" "$VALUE" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$ARN" --query '[VersionId,VersionStages[0]]' --output text
check_eq "get-secret-value by ARN: version and AWSCURRENT" "$T1	AWSCURRENT" "$AWS_OUT"

expect_aws_error "create-secret on an existing name" ResourceExistsException \
  "${SM[@]}" create-secret --name "$NAME" --secret-string other
expect_aws_error "get-secret-value of a missing secret" ResourceNotFoundException \
  "${SM[@]}" get-secret-value --secret-id "$RUN/missing"
expect_aws_error "create-secret with both string and binary" InvalidParameterException \
  "${SM[@]}" create-secret --name "$RUN/both" --secret-string x --secret-binary AAEC

BIN_FILE="$COFFER_TMP/secret.bin"
head -c 300 /dev/urandom >"$BIN_FILE"
printf '\000\377' >>"$BIN_FILE"
expect_ok "create-secret with a binary value (fileb://)" "${SM[@]}" create-secret \
  --name "$RUN/app/blob" --secret-binary "fileb://$BIN_FILE" --query Name --output text
aws_call "${SM[@]}" get-secret-value --secret-id "$RUN/app/blob" --query SecretBinary --output text
check_eq "binary value round-trips (base64)" "$(base64 -w0 <"$BIN_FILE")" "$AWS_OUT"

# ------------------------------------------------------------------ versions and stages
echo "== put-secret-value / update-secret-version-stage / update-secret"
T2="$(new_uuid)"
T3="$(new_uuid)"
expect_ok "put-secret-value v2" "${SM[@]}" put-secret-value --secret-id "$NAME" \
  --secret-string v2 --client-request-token "$T2" --query '[VersionId,VersionStages[0]]' --output text
check_eq "put-secret-value returns the new version as AWSCURRENT" "$T2	AWSCURRENT" "$AWS_OUT"
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" --query "VersionIdsToStages.\"$T1\"" --output text
check_eq "the old version became AWSPREVIOUS" "AWSPREVIOUS" "$AWS_OUT"

expect_ok "put-secret-value v3 as AWSPENDING" "${SM[@]}" put-secret-value --secret-id "$NAME" \
  --secret-string v3 --client-request-token "$T3" --version-stages AWSPENDING \
  --query 'VersionStages' --output text
check_eq "put-secret-value with --version-stages returns them" "AWSPENDING" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$NAME" --query SecretString --output text
check_eq "AWSCURRENT did not move" "v2" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$NAME" --version-stage AWSPENDING \
  --query SecretString --output text
check_eq "get-secret-value --version-stage AWSPENDING" "v3" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$NAME" --version-id "$T1" --query SecretString --output text
check_eq "get-secret-value --version-id" "$VALUE" "$AWS_OUT"

expect_aws_error "moving AWSCURRENT without --remove-from-version-id" InvalidParameterException \
  "${SM[@]}" update-secret-version-stage --secret-id "$NAME" --version-stage AWSCURRENT \
  --move-to-version-id "$T3"
expect_ok "update-secret-version-stage promotes AWSPENDING" "${SM[@]}" update-secret-version-stage \
  --secret-id "$NAME" --version-stage AWSCURRENT --move-to-version-id "$T3" \
  --remove-from-version-id "$T2" --query Name --output text
check_eq "update-secret-version-stage returns the name" "$NAME" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$NAME" --query SecretString --output text
check_eq "AWSCURRENT is now v3" "v3" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$NAME" --version-stage AWSPREVIOUS \
  --query SecretString --output text
check_eq "AWSPREVIOUS followed to v2" "v2" "$AWS_OUT"
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" --query "VersionIdsToStages.\"$T1\"" --output text
check_eq "v1 lost its labels (deprecated, not listed)" "None" "$AWS_OUT"

expect_ok "update-secret --description (metadata only)" "${SM[@]}" update-secret \
  --secret-id "$NAME" --description "changed by cli" --query VersionId --output text
check_eq "a metadata-only update creates no version" "None" "$AWS_OUT"
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" --query Description --output text
check_eq "describe-secret shows the new description" "changed by cli" "$AWS_OUT"
T4="$(new_uuid)"
expect_ok "update-secret --secret-string" "${SM[@]}" update-secret --secret-id "$NAME" \
  --secret-string v4 --client-request-token "$T4" --query VersionId --output text
check_eq "update-secret with a value creates a version" "$T4" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$NAME" --query SecretString --output text
check_eq "update-secret value is AWSCURRENT" "v4" "$AWS_OUT"

# ------------------------------------------------------------------ describe / versions
echo "== describe-secret / list-secret-version-ids"
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" --query '[Name,ARN]' --output text
check_eq "describe-secret name and ARN" "$NAME	$ARN" "$AWS_OUT"
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" --query CreatedDate --output text
check_match "describe-secret CreatedDate is a timestamp" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+' "$AWS_OUT"
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" --query "VersionIdsToStages.\"$T4\"" --output text
check_eq "describe-secret VersionIdsToStages has the current version" "AWSCURRENT" "$AWS_OUT"

expect_ok "list-secret-version-ids" "${SM[@]}" list-secret-version-ids --secret-id "$NAME" \
  --query 'Versions[].VersionId' --output text
check_eq "list-secret-version-ids lists the 2 labelled versions" \
  "$(printf '%s\n' "$T3" "$T4" | sort)" "$(lines "$AWS_OUT" | sort)"
aws_call "${SM[@]}" list-secret-version-ids --secret-id "$NAME" --include-deprecated \
  --query 'Versions[].VersionId' --output text
check_eq "--include-deprecated lists all 4 versions" \
  "$(printf '%s\n' "$T1" "$T2" "$T3" "$T4" | sort)" "$(lines "$AWS_OUT" | sort)"
aws_call "${SM[@]}" list-secret-version-ids --secret-id "$NAME" --query ARN --output text
check_eq "list-secret-version-ids returns the ARN" "$ARN" "$AWS_OUT"

# ------------------------------------------------------------------ tags
echo "== tag-resource / untag-resource"
expect_ok "tag-resource" "${SM[@]}" tag-resource --secret-id "$NAME" \
  --tags Key=team,Value=platform Key=env,Value=dev
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" \
  --query 'sort_by(Tags,&Key)[].[Key,Value]' --output text
check_eq "describe-secret shows both tags" "$(printf 'env\tdev\nteam\tplatform')" "$AWS_OUT"
expect_ok "tag-resource overwrites by key" "${SM[@]}" tag-resource --secret-id "$ARN" \
  --tags Key=env,Value=prod
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" \
  --query 'sort_by(Tags,&Key)[].[Key,Value]' --output text
check_eq "env was overwritten, team kept" "$(printf 'env\tprod\nteam\tplatform')" "$AWS_OUT"
expect_ok "untag-resource" "${SM[@]}" untag-resource --secret-id "$NAME" --tag-keys team
aws_call "${SM[@]}" describe-secret --secret-id "$NAME" --query 'Tags[].[Key,Value]' --output text
check_eq "only env remains" "$(printf 'env\tprod')" "$AWS_OUT"
aws_call "${SM[@]}" list-secrets --filters "Key=tag-key,Values=env" "Key=name,Values=$RUN/app/" \
  --query 'SecretList[].Name' --output text
check_eq "list-secrets filters on tag-key" "$NAME" "$AWS_OUT"
expect_aws_error "tag-resource on a missing secret" ResourceNotFoundException \
  "${SM[@]}" tag-resource --secret-id "$RUN/missing" --tags Key=a,Value=b

# ------------------------------------------------------------------ list-secrets paging
echo "== list-secrets auto-pagination"
PAGE_PREFIX="$RUN/page/"
expected_names=()
for i in $(seq -w 1 12); do
  expected_names+=("${PAGE_PREFIX}s$i")
  aws_call "${SM[@]}" create-secret --name "${PAGE_PREFIX}s$i" --secret-string "page-$i" \
    --query Name --output text
  [[ $AWS_RC -eq 0 ]] || fail "create-secret ${PAGE_PREFIX}s$i" "$AWS_ERR"
done
expect_ok "list-secrets --page-size 5 over 12 secrets" "${SM[@]}" list-secrets \
  --filters "Key=name,Values=$PAGE_PREFIX" --page-size 5 --query 'SecretList[].Name' \
  --output text --debug
requests="$(grep -c 'Making request for OperationModel(name=ListSecrets)' <<<"$AWS_ERR" || true)"
check_eq "the CLI needed 3 pages (5+5+2)" "3" "$requests"
check_eq "all 12 secrets listed exactly once" "$(printf '%s\n' "${expected_names[@]}" | sort)" \
  "$(lines "$AWS_OUT" | sort)"
# With --query and text output the CLI prints the query's result once per page fetched.
aws_call "${SM[@]}" list-secrets --filters "Key=name,Values=$PAGE_PREFIX" --page-size 5 \
  --max-items 7 --query 'length(SecretList)' --output text
check_eq "--max-items 7 stops after 7" "7" "$(awk '{ n += $1 } END { print n + 0 }' <<<"$AWS_OUT")"
aws_call "${SM[@]}" list-secrets --filters "Key=name,Values=$PAGE_PREFIX" \
  --query 'SecretList[0].SecretVersionsToStages.*[0]' --output text
check_eq "list-secrets entries carry SecretVersionsToStages" "AWSCURRENT" "$AWS_OUT"

# ------------------------------------------------------------------ delete / restore
echo "== delete-secret / restore-secret"
DEL="$RUN/del/one"
aws_call "${SM[@]}" create-secret --name "$DEL" --secret-string keep-me --query Name --output text
expect_aws_error "delete-secret with a 3-day window" InvalidParameterException \
  "${SM[@]}" delete-secret --secret-id "$DEL" --recovery-window-in-days 3
expect_ok "delete-secret with a 7-day window" "${SM[@]}" delete-secret --secret-id "$DEL" \
  --recovery-window-in-days 7 --query '[Name,DeletionDate]' --output text
IFS=$'\t' read -r del_name del_date <<<"$AWS_OUT" || true
check_eq "delete-secret returns the name" "$DEL" "$del_name"
del_epoch="$(date -d "$del_date" +%s 2>/dev/null || echo 0)"
ahead=$((del_epoch - $(date +%s)))
if ((ahead > 7 * 86400 - 600 && ahead < 7 * 86400 + 600)); then
  pass "DeletionDate is 7 days ahead"
else
  fail "DeletionDate is 7 days ahead" "DeletionDate: $del_date (${ahead}s from now)"
fi
expect_aws_error "get-secret-value of a deleted secret" InvalidRequestException \
  "${SM[@]}" get-secret-value --secret-id "$DEL"
expect_aws_error "put-secret-value on a deleted secret" InvalidRequestException \
  "${SM[@]}" put-secret-value --secret-id "$DEL" --secret-string nope
aws_call "${SM[@]}" list-secrets --filters "Key=name,Values=$RUN/del/" --query 'SecretList[].Name' --output text
check_eq "list-secrets hides the deleted secret" "" "$AWS_OUT"
aws_call "${SM[@]}" list-secrets --filters "Key=name,Values=$RUN/del/" --include-planned-deletion \
  --query 'SecretList[].Name' --output text
check_eq "list-secrets --include-planned-deletion shows it" "$DEL" "$AWS_OUT"
aws_call "${SM[@]}" describe-secret --secret-id "$DEL" --query DeletedDate --output text
check_ne "describe-secret shows DeletedDate" "None" "$AWS_OUT"
expect_ok "restore-secret" "${SM[@]}" restore-secret --secret-id "$DEL" --query Name --output text
check_eq "restore-secret returns the name" "$DEL" "$AWS_OUT"
aws_call "${SM[@]}" get-secret-value --secret-id "$DEL" --query SecretString --output text
check_eq "the restored value is readable" "keep-me" "$AWS_OUT"
aws_call "${SM[@]}" describe-secret --secret-id "$DEL" --query DeletedDate --output text
check_eq "DeletedDate is gone after restore" "None" "$AWS_OUT"
expect_ok "delete-secret --force-delete-without-recovery" "${SM[@]}" delete-secret \
  --secret-id "$DEL" --force-delete-without-recovery --query Name --output text
expect_aws_error "a force-deleted secret is gone" ResourceNotFoundException \
  "${SM[@]}" describe-secret --secret-id "$DEL"

# ------------------------------------------------------------------ random passwords
echo "== get-random-password"
expect_ok "get-random-password (defaults)" "${SM[@]}" get-random-password \
  --query RandomPassword --output text
check_eq "default password length is 32" "32" "${#AWS_OUT}"
first="$AWS_OUT"
aws_call "${SM[@]}" get-random-password --query RandomPassword --output text
check_ne "two passwords differ" "$first" "$AWS_OUT"
aws_call "${SM[@]}" get-random-password --password-length 20 --exclude-punctuation \
  --query RandomPassword --output text
check_match "--password-length 20 --exclude-punctuation" '^[A-Za-z0-9]{20}$' "$AWS_OUT"
aws_call "${SM[@]}" get-random-password --password-length 64 --exclude-uppercase \
  --exclude-punctuation --exclude-characters ghijklmnopqrstuvwxyz --query RandomPassword --output text
check_match "--exclude-characters leaves a hex alphabet" '^[0-9a-f]{64}$' "$AWS_OUT"

# ------------------------------------------------------------------ bad credentials
echo "== signature checks"
AWS_SECRET_ACCESS_KEY="${TEST_SECRET_ACCESS_KEY%?}X" expect_aws_error \
  "wrong secret key -> InvalidSignatureException" InvalidSignatureException \
  "${SM[@]}" list-secrets
AWS_SECRET_ACCESS_KEY="${TEST_SECRET_ACCESS_KEY%?}X" expect_aws_error \
  "wrong secret key on STS -> SignatureDoesNotMatch" SignatureDoesNotMatch \
  sts get-caller-identity
AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE expect_aws_error \
  "unknown access key -> UnrecognizedClientException" UnrecognizedClientException \
  "${SM[@]}" list-secrets
AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE expect_aws_error \
  "unknown access key on STS -> InvalidClientTokenId" InvalidClientTokenId \
  sts get-caller-identity

# ------------------------------------------------------------------ shutdown
echo "== shutdown"
coffer_stop
check_eq "coffer exits 0 on SIGTERM" "0" "$COFFER_EXIT_CODE"

finish
