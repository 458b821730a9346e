#!/usr/bin/env bash
# End-to-end test: SSM Parameter Store through Debian's AWS CLI v2 (/usr/bin/aws) against a
# real coffer server.
#
# Usage: tests/e2e/cli/ssm_cli_test.sh
#   COFFER_BIN  server binary (default <repo>/build/coffer)
#   AWS_CLI     AWS CLI v2 binary (default /usr/bin/aws)
# Prints one line per check and 'N passed, M failed' at the end; exits non-zero on any failure.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=coffer_e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/coffer_e2e_lib.sh"

coffer_start
aws_isolate

RUN="cli-$(new_uuid | cut -c1-8)"
P="/$RUN"
SSM=(ssm)
ARN_PREFIX="arn:aws:ssm:$TEST_REGION:$TEST_ACCOUNT_ID:parameter"
ROOT_ARN="arn:aws:iam::$TEST_ACCOUNT_ID:root"

lines() { tr -s '\t' '\n' <<<"$1" | sed '/^$/d'; }
sorted_lines() { printf '%s\n' "$@" | sort; }

# ------------------------------------------------------------------ put / get
echo "== put-parameter / get-parameter"
NAME="$P/app/api_url"
expect_ok "put-parameter String" "${SSM[@]}" put-parameter --name "$NAME" \
  --value "https://api.example.test/v1?x=1&y=2" --type String --description "cli e2e" \
  --query '[Version,Tier]' --output text
check_eq "put-parameter returns Version 1 and the Standard tier" "1	Standard" "$AWS_OUT"
expect_ok "get-parameter" "${SSM[@]}" get-parameter --name "$NAME" \
  --query 'Parameter.[Name,Type,Value,Version,DataType]' --output text
check_eq "get-parameter returns name, type, value, version, data type" \
  "$NAME	String	https://api.example.test/v1?x=1&y=2	1	text" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$NAME" --query Parameter.ARN --output text
check_eq "the ARN is arn:aws:ssm:<region>:<account>:parameter<name>" "$ARN_PREFIX$NAME" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$NAME" --query Parameter.LastModifiedDate --output text
check_match "LastModifiedDate is a timestamp" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+' "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$ARN_PREFIX$NAME" --query Parameter.Value --output text
check_eq "get-parameter accepts the ARN" "https://api.example.test/v1?x=1&y=2" "$AWS_OUT"

LIST="$P/app/origins"
expect_ok "put-parameter StringList" "${SSM[@]}" put-parameter --name "$LIST" \
  --value "https://a.test,https://b.test,https://c.test" --type StringList --query Version --output text
aws_call "${SSM[@]}" get-parameter --name "$LIST" --query 'Parameter.[Type,Value]' --output text
check_eq "StringList round-trips" "StringList	https://a.test,https://b.test,https://c.test" "$AWS_OUT"

SECURE="$P/app/db_password"
PLAIN="s3cr3t-$(new_uuid)"
expect_ok "put-parameter SecureString (default key)" "${SSM[@]}" put-parameter --name "$SECURE" \
  --value "$PLAIN" --type SecureString --query Version --output text
check_eq "SecureString version 1" "1" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$SECURE" --with-decryption --query 'Parameter.[Type,Value]' --output text
check_eq "get-parameter --with-decryption returns the plaintext" "SecureString	$PLAIN" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$SECURE" --query Parameter.Value --output text
CIPHER="$AWS_OUT"
check_ne "without --with-decryption the value is not the plaintext" "$PLAIN" "$CIPHER"
check_match "without --with-decryption the value is base64 ciphertext" '^[A-Za-z0-9+/]{20,}={0,2}$' "$CIPHER"
if [[ "$CIPHER" != *"$PLAIN"* ]] && ! base64 -d <<<"$CIPHER" 2>/dev/null | grep -qF "$PLAIN"; then
  pass "the ciphertext does not contain the plaintext"
else
  fail "the ciphertext does not contain the plaintext" "value: $CIPHER"
fi
aws_call "${SSM[@]}" get-parameter --name "$SECURE" --no-with-decryption --query Parameter.Value --output text
check_eq "--no-with-decryption returns the same ciphertext" "$CIPHER" "$AWS_OUT"
expect_ok "put-parameter SecureString --key-id alias/aws/ssm" "${SSM[@]}" put-parameter \
  --name "$P/app/token" --value tok --type SecureString --key-id alias/aws/ssm --query Version --output text
aws_call "${SSM[@]}" get-parameter --name "$P/app/token" --with-decryption --query Parameter.Value --output text
check_eq "explicit alias/aws/ssm decrypts" "tok" "$AWS_OUT"
expect_aws_error "SecureString with an unknown key" InvalidKeyId \
  "${SSM[@]}" put-parameter --name "$P/badkey" --value x --type SecureString --key-id "alias/no-such-key-$RUN"
expect_aws_error "the failed put created nothing" ParameterNotFound \
  "${SSM[@]}" get-parameter --name "$P/badkey"

# ------------------------------------------------------------------ overwrite / history
echo "== overwrite / get-parameter-history"
expect_aws_error "put-parameter on an existing name" ParameterAlreadyExists \
  "${SSM[@]}" put-parameter --name "$NAME" --value other --type String
expect_ok "put-parameter --overwrite (type kept)" "${SSM[@]}" put-parameter --name "$NAME" \
  --value "https://api.example.test/v2" --overwrite --query Version --output text
check_eq "--overwrite makes version 2" "2" "$AWS_OUT"
expect_ok "put-parameter --overwrite again" "${SSM[@]}" put-parameter --name "$NAME" \
  --value "https://api.example.test/v3" --type String --overwrite --query Version --output text
check_eq "version 3" "3" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$NAME" --query 'Parameter.[Type,Value,Version]' --output text
check_eq "get-parameter returns the latest" "String	https://api.example.test/v3	3" "$AWS_OUT"
expect_ok "get-parameter-history" "${SSM[@]}" get-parameter-history --name "$NAME" \
  --query 'Parameters[].[Version,Value]' --output text
check_eq "history lists the 3 versions oldest first" \
  "$(printf '1\thttps://api.example.test/v1?x=1&y=2\n2\thttps://api.example.test/v2\n3\thttps://api.example.test/v3')" \
  "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter-history --name "$NAME" --query 'Parameters[0].[LastModifiedUser,Description]' --output text
check_eq "history carries LastModifiedUser and Description" "$ROOT_ARN	cli e2e" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter-history --name "$SECURE" --query 'Parameters[0].Value' --output text
check_ne "history without decryption hides the SecureString" "$PLAIN" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter-history --name "$SECURE" --with-decryption --query 'Parameters[0].Value' --output text
check_eq "history --with-decryption shows it" "$PLAIN" "$AWS_OUT"
expect_aws_error "history of a missing parameter" ParameterNotFound \
  "${SSM[@]}" get-parameter-history --name "$P/missing"

# ------------------------------------------------------------------ labels
echo "== label-parameter-version / unlabel-parameter-version / selectors"
# shellcheck disable=SC2016 # JMESPath literals, not shell
expect_ok "label-parameter-version v1 as prod" "${SSM[@]}" label-parameter-version --name "$NAME" \
  --parameter-version 1 --labels prod blue --query '[ParameterVersion,length(InvalidLabels || `[]`)]' --output text
check_eq "label-parameter-version reports version 1, no invalid labels" "1	0" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$NAME:prod" --query 'Parameter.[Name,Value,Version,Selector]' --output text
check_eq "name:label selects version 1" "$NAME	https://api.example.test/v1?x=1&y=2	1	:prod" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$NAME:2" --query 'Parameter.[Value,Version,Selector]' --output text
check_eq "name:version selects version 2" "https://api.example.test/v2	2	:2" "$AWS_OUT"
expect_ok "label without --parameter-version labels the latest" "${SSM[@]}" label-parameter-version \
  --name "$NAME" --labels newest --query ParameterVersion --output text
check_eq "the latest version is 3" "3" "$AWS_OUT"
expect_ok "move prod to version 2" "${SSM[@]}" label-parameter-version --name "$NAME" \
  --parameter-version 2 --labels prod --query ParameterVersion --output text
# shellcheck disable=SC2016 # JMESPath literals, not shell
aws_call "${SSM[@]}" get-parameter-history --name "$NAME" \
  --query 'Parameters[].join(`,`, [to_string(Version), join(`+`, sort(Labels || `[]`))])' --output text
check_eq "labels after the move: v1 blue, v2 prod, v3 newest" "$(printf '1,blue\t2,prod\t3,newest')" "$AWS_OUT"
aws_call "${SSM[@]}" label-parameter-version --name "$NAME" --parameter-version 3 \
  --labels 1bad awsx ok-label --query 'sort(InvalidLabels)' --output text
check_eq "invalid labels are returned, not errors" "$(printf '1bad\tawsx')" "$AWS_OUT"
expect_ok "unlabel-parameter-version" "${SSM[@]}" unlabel-parameter-version --name "$NAME" \
  --parameter-version 2 --labels prod absent --query '[RemovedLabels,InvalidLabels]' --output text
check_eq "unlabel reports removed and invalid labels" "$(printf 'prod\nabsent')" "$AWS_OUT"
expect_aws_error "a removed label no longer selects" ParameterNotFound \
  "${SSM[@]}" get-parameter --name "$NAME:prod"
expect_aws_error "name:99 is an unknown version" ParameterVersionNotFound \
  "${SSM[@]}" get-parameter --name "$NAME:99"
expect_aws_error "label-parameter-version on an unknown version" ParameterVersionNotFound \
  "${SSM[@]}" label-parameter-version --name "$NAME" --parameter-version 42 --labels x
expect_aws_error "label-parameter-version on a missing parameter" ParameterNotFound \
  "${SSM[@]}" label-parameter-version --name "$P/missing" --labels x

# ------------------------------------------------------------------ get-parameters
echo "== get-parameters"
expect_ok "get-parameters with a missing name" "${SSM[@]}" get-parameters \
  --names "$LIST" "$P/nope" "$NAME:blue" --query 'sort_by(Parameters,&Name)[].[Name,Value]' --output text
check_eq "get-parameters returns the found ones" \
  "$(printf '%s\t%s\n%s\t%s' "$NAME" "https://api.example.test/v1?x=1&y=2" "$LIST" "https://a.test,https://b.test,https://c.test")" \
  "$AWS_OUT"
aws_call "${SSM[@]}" get-parameters --names "$LIST" "$P/nope" --query InvalidParameters --output text
check_eq "get-parameters lists the missing one in InvalidParameters" "$P/nope" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameters --names "$SECURE" --with-decryption --query 'Parameters[0].Value' --output text
check_eq "get-parameters --with-decryption" "$PLAIN" "$AWS_OUT"
# shellcheck disable=SC2046 # 11 words on purpose
expect_aws_error "get-parameters with 11 names" ValidationException \
  "${SSM[@]}" get-parameters --names $(for i in $(seq 1 11); do printf '%s/n%s ' "$P" "$i"; done)

# ------------------------------------------------------------------ by path
echo "== get-parameters-by-path"
G="$P/paged"
expected=()
for i in $(seq -w 1 23); do
  expected+=("$G/p$i")
  aws_call "${SSM[@]}" put-parameter --name "$G/p$i" --value "value-$i" --type String --query Version --output text
  [[ $AWS_RC -eq 0 ]] || fail "put-parameter $G/p$i" "$AWS_ERR"
done
aws_call "${SSM[@]}" put-parameter --name "$G/sub/deep" --value deep --type String
aws_call "${SSM[@]}" put-parameter --name "$G/sub/deeper/deepest" --value deepest --type String
expect_ok "get-parameters-by-path over 23 parameters (auto-pagination)" "${SSM[@]}" \
  get-parameters-by-path --path "$G" --query 'Parameters[].Name' --output text --debug
requests="$(grep -c 'Making request for OperationModel(name=GetParametersByPath)' <<<"$AWS_ERR" || true)"
if ((requests >= 3)); then
  pass "the CLI followed NextToken over at least 3 pages (server pages hold at most 10)"
else
  fail "the CLI followed NextToken over at least 3 pages (server pages hold at most 10)" \
    "requests: $requests"
fi
check_eq "one level: all 23 direct children exactly once, nothing deeper" \
  "$(sorted_lines "${expected[@]}")" "$(lines "$AWS_OUT" | sort)"
aws_call "${SSM[@]}" get-parameters-by-path --path "$G" --recursive --query 'Parameters[].Name' --output text
check_eq "--recursive adds the nested parameters" \
  "$(sorted_lines "${expected[@]}" "$G/sub/deep" "$G/sub/deeper/deepest")" "$(lines "$AWS_OUT" | sort)"
aws_call "${SSM[@]}" get-parameters-by-path --path "$G/sub" --query 'Parameters[].[Name,Value]' --output text
check_eq "one level below $G/sub" "$(printf '%s\tdeep' "$G/sub/deep")" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameters-by-path --path "$G" --page-size 4 --query 'Parameters[].Name' --output text
check_eq "--page-size 4 still returns all 23" "$(sorted_lines "${expected[@]}")" "$(lines "$AWS_OUT" | sort)"
# With --query and text output the CLI prints the query's result once per page fetched.
aws_call "${SSM[@]}" get-parameters-by-path --path "$G" --page-size 5 --max-items 7 \
  --query 'length(Parameters)' --output text
check_eq "--max-items 7 stops after 7" "7" "$(awk '{ n += $1 } END { print n + 0 }' <<<"$AWS_OUT")"
aws_call "${SSM[@]}" get-parameters-by-path --path "$P/app" \
  --parameter-filters Key=Type,Option=Equals,Values=SecureString --with-decryption \
  --query 'sort_by(Parameters,&Name)[].[Name,Value]' --output text
check_eq "a Type filter with --with-decryption" "$(printf '%s\t%s\n%s\ttok' "$SECURE" "$PLAIN" "$P/app/token")" "$AWS_OUT"
expect_aws_error "--max-results 11 is rejected" ValidationException \
  "${SSM[@]}" get-parameters-by-path --path "$G" --max-results 11 --no-paginate

# ------------------------------------------------------------------ describe
echo "== describe-parameters"
aws_call "${SSM[@]}" describe-parameters --parameter-filters "Key=Path,Option=OneLevel,Values=$P/app" \
  --query 'Parameters[].Name' --output text
check_eq "Path OneLevel" "$(sorted_lines "$NAME" "$LIST" "$SECURE" "$P/app/token")" "$(lines "$AWS_OUT" | sort)"
aws_call "${SSM[@]}" describe-parameters --parameter-filters "Key=Path,Option=Recursive,Values=$G/sub" \
  --query 'Parameters[].Name' --output text
check_eq "Path Recursive" "$(sorted_lines "$G/sub/deep" "$G/sub/deeper/deepest")" "$(lines "$AWS_OUT" | sort)"
aws_call "${SSM[@]}" describe-parameters --parameter-filters "Key=Path,Option=Recursive,Values=$P" \
  "Key=Type,Option=Equals,Values=SecureString" --query 'Parameters[].[Name,KeyId]' --output text
check_eq "Type SecureString shows the alias/aws/ssm key" \
  "$(printf '%s\talias/aws/ssm\n%s\talias/aws/ssm' "$SECURE" "$P/app/token")" "$(sort <<<"$AWS_OUT")"
# (ParameterMetadata.ARN is newer than CLI 2.9's model, so the CLI drops it; the JS test checks it.)
aws_call "${SSM[@]}" describe-parameters --parameter-filters "Key=Name,Option=Equals,Values=$NAME" \
  --query 'Parameters[0].[Name,Type,Version,Tier,DataType,LastModifiedUser,Description]' --output text
check_eq "describe-parameters metadata" \
  "$NAME	String	3	Standard	text	$ROOT_ARN	cli e2e" "$AWS_OUT"
aws_call "${SSM[@]}" describe-parameters --parameter-filters "Key=Name,Option=Equals,Values=$NAME" \
  --query 'Parameters[0].Value' --output text
check_eq "describe-parameters returns no values" "None" "$AWS_OUT"
expect_aws_error "describe-parameters rejects a Label filter" InvalidFilterKey \
  "${SSM[@]}" describe-parameters --parameter-filters Key=Label,Values=prod

# ------------------------------------------------------------------ tags
echo "== add-tags-to-resource / list-tags-for-resource / remove-tags-from-resource"
TAGGED="$P/tagged/redis"
expect_ok "put-parameter --tags" "${SSM[@]}" put-parameter --name "$TAGGED" --value redis://r:6379 \
  --type String --tags Key=env,Value=dev Key=team,Value=blue --query Version --output text
aws_call "${SSM[@]}" list-tags-for-resource --resource-type Parameter --resource-id "$TAGGED" \
  --query 'sort_by(TagList,&Key)[].[Key,Value]' --output text
check_eq "list-tags-for-resource shows the create-time tags" "$(printf 'env\tdev\nteam\tblue')" "$AWS_OUT"
expect_ok "add-tags-to-resource" "${SSM[@]}" add-tags-to-resource --resource-type Parameter \
  --resource-id "$TAGGED" --tags Key=env,Value=prod Key=owner,Value=ops
aws_call "${SSM[@]}" list-tags-for-resource --resource-type Parameter --resource-id "$TAGGED" \
  --query 'sort_by(TagList,&Key)[].[Key,Value]' --output text
check_eq "add-tags-to-resource overwrites by key" "$(printf 'env\tprod\nowner\tops\nteam\tblue')" "$AWS_OUT"
expect_ok "remove-tags-from-resource" "${SSM[@]}" remove-tags-from-resource --resource-type Parameter \
  --resource-id "$TAGGED" --tag-keys team owner
aws_call "${SSM[@]}" list-tags-for-resource --resource-type Parameter --resource-id "$TAGGED" \
  --query 'TagList[].[Key,Value]' --output text
check_eq "only env remains" "$(printf 'env\tprod')" "$AWS_OUT"
aws_call "${SSM[@]}" describe-parameters --parameter-filters "Key=tag:env,Values=prod" \
  "Key=Path,Option=Recursive,Values=$P" --query 'Parameters[].Name' --output text
check_eq "describe-parameters filters on tag:env" "$TAGGED" "$AWS_OUT"
expect_aws_error "list-tags-for-resource on a missing parameter" InvalidResourceId \
  "${SSM[@]}" list-tags-for-resource --resource-type Parameter --resource-id "$P/missing"
expect_aws_error "add-tags-to-resource on a missing parameter" InvalidResourceId \
  "${SSM[@]}" add-tags-to-resource --resource-type Parameter --resource-id "$P/missing" --tags Key=a,Value=b
expect_aws_error "--tags with --overwrite" ValidationException \
  "${SSM[@]}" put-parameter --name "$TAGGED" --value x --overwrite --tags Key=a,Value=b

# ------------------------------------------------------------------ delete
echo "== delete-parameter / delete-parameters"
expect_ok "delete-parameter" "${SSM[@]}" delete-parameter --name "$LIST"
expect_aws_error "a deleted parameter is gone" ParameterNotFound \
  "${SSM[@]}" get-parameter --name "$LIST"
expect_aws_error "delete-parameter of a missing parameter" ParameterNotFound \
  "${SSM[@]}" delete-parameter --name "$LIST"
expect_ok "delete-parameters with a missing name" "${SSM[@]}" delete-parameters \
  --names "$G/p01" "$G/p02" "$P/never" --query '[sort(DeletedParameters), InvalidParameters]' --output text
check_eq "delete-parameters reports deleted and invalid names" \
  "$(printf '%s\t%s\n%s' "$G/p01" "$G/p02" "$P/never")" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameters-by-path --path "$G" --query 'length(Parameters)' --output text
check_eq "21 direct children remain" "21" "$(awk '{ n += $1 } END { print n + 0 }' <<<"$AWS_OUT")"
expect_ok "re-create a deleted parameter" "${SSM[@]}" put-parameter --name "$LIST" --value again \
  --type StringList --query Version --output text
check_eq "a re-created parameter starts at version 1" "1" "$AWS_OUT"

# ------------------------------------------------------------------ secrets manager bridge
echo "== /aws/reference/secretsmanager"
SECRET="$RUN/db/creds"
aws_call secretsmanager create-secret --name "$SECRET" --secret-string '{"user":"app","pw":"one"}' \
  --query ARN --output text
SECRET_ARN="$AWS_OUT"
aws_call secretsmanager put-secret-value --secret-id "$SECRET" --secret-string '{"user":"app","pw":"two"}'
REF="/aws/reference/secretsmanager/$SECRET"
expect_ok "get-parameter on a Secrets Manager reference" "${SSM[@]}" get-parameter --name "$REF" \
  --with-decryption --query 'Parameter.[Name,Type,Value,ARN]' --output text
check_eq "the reference returns the current secret value" \
  "$REF	SecureString	{\"user\":\"app\",\"pw\":\"two\"}	$SECRET_ARN" "$AWS_OUT"
aws_call "${SSM[@]}" get-parameter --name "$REF:AWSPREVIOUS" --with-decryption --query Parameter.Value --output text
check_eq "name:AWSPREVIOUS selects the previous secret version" '{"user":"app","pw":"one"}' "$AWS_OUT"
expect_aws_error "a reference without --with-decryption" ValidationException \
  "${SSM[@]}" get-parameter --name "$REF"
expect_aws_error "a reference to a missing secret" ParameterNotFound \
  "${SSM[@]}" get-parameter --name "/aws/reference/secretsmanager/$RUN/none" --with-decryption

# ------------------------------------------------------------------ validation errors
echo "== validation errors"
deep="/$RUN"
for i in $(seq 2 16); do deep+="/l$i"; done
expect_aws_error "a 16-level name" HierarchyLevelLimitExceededException \
  "${SSM[@]}" put-parameter --name "$deep" --value x --type String
expect_ok "a 15-level name is fine" "${SSM[@]}" put-parameter --name "${deep%/l16}" --value x \
  --type String --query Version --output text
expect_aws_error "a name with a space" ValidationException \
  "${SSM[@]}" put-parameter --name "$P/has space" --value x --type String
expect_aws_error "a name prefixed with aws" ValidationException \
  "${SSM[@]}" put-parameter --name "aws-$RUN" --value x --type String
expect_aws_error "create without --type" ValidationException \
  "${SSM[@]}" put-parameter --name "$P/untyped" --value x
expect_aws_error "a 4097-character Standard value" ValidationException \
  "${SSM[@]}" put-parameter --name "$P/big" --value "$(head -c 4097 /dev/zero | tr '\0' x)" --type String
expect_aws_error "a value that misses --allowed-pattern" ParameterPatternMismatchException \
  "${SSM[@]}" put-parameter --name "$P/port" --value eighty --type String --allowed-pattern '^[0-9]+$'
expect_ok "a value that matches --allowed-pattern" "${SSM[@]}" put-parameter --name "$P/port" \
  --value 8080 --type String --allowed-pattern '^[0-9]+$' --query Version --output text
expect_aws_error "the pattern is kept on overwrite" ParameterPatternMismatchException \
  "${SSM[@]}" put-parameter --name "$P/port" --value http --overwrite

# ------------------------------------------------------------------ bad credentials
echo "== signature checks"
AWS_SECRET_ACCESS_KEY="${TEST_SECRET_ACCESS_KEY%?}X" expect_aws_error \
  "wrong secret key -> InvalidSignatureException" InvalidSignatureException \
  "${SSM[@]}" get-parameter --name "$NAME"
AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE expect_aws_error \
  "unknown access key -> UnrecognizedClientException" UnrecognizedClientException \
  "${SSM[@]}" get-parameter --name "$NAME"

# ------------------------------------------------------------------ shutdown
echo "== shutdown"
coffer_stop
check_eq "coffer exits 0 on SIGTERM" "0" "$COFFER_EXIT_CODE"

finish
