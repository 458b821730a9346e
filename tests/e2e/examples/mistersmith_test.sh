#!/usr/bin/env bash
# End-to-end test of examples/mistersmith/create-key.sh, create-secrets.sh,
# create-parameters.sh, create-access.sh and configure-rotation.sh: starts coffer, runs the
# examples with Debian's AWS CLI v2, checks the customer-managed KMS key
# alias/mistersmith-secrets (enabled, automatic rotation on, tags) and that all six secrets are
# encrypted under it (describe-secret KmsKeyId; unreadable while the key is disabled), reads
# the six secrets back and checks every field of the seed's JSON bodies, reads the Parameter
# Store hierarchy of both environments back with get-parameters-by-path and checks every name,
# type and value, then re-runs the examples to prove they leave the existing key, secrets and
# parameters alone. Then create-access.sh: the two ECS task roles, the
# operators group, the seed's resource policy on every secret and the key policy; an operator
# assumes each role and reads the secrets (and the task role its production parameters), while
# a user without policies is denied everything and the account root's DeleteSecret is refused by
# the resource policy; a re-run keeps the roles and puts back documents removed by hand.
# configure-rotation.sh: the design's rotation schedule (30/90/180 days, OAuth by hand); the API
# key (custom Lambda, through the runner) and the JWT key rotate, the task role reads the new key.
#
# Usage: tests/e2e/examples/mistersmith_test.sh   (COFFER_BIN, AWS_CLI as for the CLI test)
# Prints one line per check and 'N passed, M failed'; exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=../cli/coffer_e2e_lib.sh
source "$HERE/../cli/coffer_e2e_lib.sh"
EXAMPLE="$REPO_ROOT/examples/mistersmith/create-secrets.sh"
KEY_EXAMPLE="$REPO_ROOT/examples/mistersmith/create-key.sh"
KMS_ALIAS=alias/mistersmith-secrets
PARAMS_EXAMPLE="$REPO_ROOT/examples/mistersmith/create-parameters.sh"
PYTHON="${PYTHON:-/usr/bin/python3}"
command -v "$PYTHON" >/dev/null || PYTHON=python3

NAMES=(
  mistersmith/aurora/master
  mistersmith/app/jwt
  mistersmith/app/encryption
  mistersmith/external/openai
  mistersmith/external/oauth/github
  mistersmith/amazonmq/credentials
)

coffer_start
aws_isolate

# Before anything exists, create-access.sh has nothing to protect: it says what to run first.
if EX_OUT="$("$REPO_ROOT/examples/mistersmith/create-access.sh" --endpoint-url "$COFFER_ENDPOINT" 2>&1)"; then
  EX_RC=0
else
  EX_RC=$?
fi
check_eq "create-access.sh before the key and secrets exist exits 1" "1" "$EX_RC"
check_match "... and says to run create-key.sh and create-secrets.sh first" \
  'alias/mistersmith-secrets does not exist; run create-key.sh and create-secrets.sh first' "$EX_OUT"
aws_call iam list-roles --query 'length(Roles)' --output text
check_eq "... having created no role" "0" "$AWS_OUT"

# run_example ARGS...: runs create-secrets.sh; sets EX_OUT, EX_ERR, EX_RC.
run_example() {
  if EX_OUT="$("$EXAMPLE" "$@" 2>"$COFFER_TMP/example.stderr")"; then EX_RC=0; else EX_RC=$?; fi
  EX_ERR="$(cat "$COFFER_TMP/example.stderr")"
}

# ------------------------------------------------------------------ first run
echo "== create-secrets.sh"
run_example --endpoint-url "$COFFER_ENDPOINT"
if [[ $EX_RC -eq 0 ]]; then
  pass "create-secrets.sh exits 0"
else
  fail "create-secrets.sh exits 0" "exit $EX_RC" "$EX_OUT" "$EX_ERR"
fi
printf '%s\n' "$EX_OUT" | sed 's/^/     | /'
check_eq "create-secrets.sh reports 6 secrets created" "6" \
  "$(grep -c '^mistersmith/.* created ' <<<"$EX_OUT" || true)"
check_eq "the missing alias made create-secrets.sh run create-key.sh (key created)" "1" \
  "$(grep -cE "^$KMS_ALIAS +created  arn:aws:kms:$TEST_REGION:$TEST_ACCOUNT_ID:key/[0-9a-f-]{36}  \(automatic rotation enabled\)$" \
    <<<"$EX_OUT" || true)"

aws_call secretsmanager list-secrets --filters Key=name,Values=mistersmith/ \
  --query 'SecretList[].Name' --output text
check_eq "list-secrets shows exactly the six seed secrets" \
  "$(printf '%s\n' "${NAMES[@]}" | sort)" "$(tr -s '\t' '\n' <<<"$AWS_OUT" | sed '/^$/d' | sort)"

VALUES_DIR="$COFFER_TMP/values"
mkdir -p "$VALUES_DIR"
for name in "${NAMES[@]}"; do
  file="$VALUES_DIR/${name//\//_}.json"
  aws_call secretsmanager get-secret-value --secret-id "$name" --query SecretString --output text
  if [[ $AWS_RC -eq 0 ]]; then
    printf '%s' "$AWS_OUT" >"$file"
    pass "get-secret-value $name"
  else
    : >"$file"
    fail "get-secret-value $name" "$AWS_ERR"
  fi
  # shellcheck disable=SC2016 # JMESPath literal, not shell
  aws_call secretsmanager describe-secret --secret-id "$name" \
    --query '[Tags[?Key==`project`].Value | [0], length(keys(VersionIdsToStages))]' --output text
  check_eq "$name is tagged project=mistersmith and has one version" "$(printf 'mistersmith\t1')" "$AWS_OUT"
  aws_call secretsmanager describe-secret --secret-id "$name" --query KmsKeyId --output text
  check_eq "describe-secret $name shows KmsKeyId $KMS_ALIAS" "$KMS_ALIAS" "$AWS_OUT"
done

# ------------------------------------------------------------------ the KMS key
echo "== KMS key $KMS_ALIAS"
expect_ok "describe-key $KMS_ALIAS" kms describe-key --key-id "$KMS_ALIAS" \
  --query 'KeyMetadata.[KeyId,Arn,KeyState,KeyManager,KeySpec,KeyUsage]' --output text
IFS=$'\t' read -r KEY_ID KEY_ARN KEY_STATE KEY_MANAGER KEY_SPEC KEY_USAGE <<<"$AWS_OUT"
check_eq "the key ARN" "arn:aws:kms:$TEST_REGION:$TEST_ACCOUNT_ID:key/$KEY_ID" "$KEY_ARN"
check_eq "an enabled, customer-managed, symmetric encryption key" \
  "Enabled CUSTOMER SYMMETRIC_DEFAULT ENCRYPT_DECRYPT" "$KEY_STATE $KEY_MANAGER $KEY_SPEC $KEY_USAGE"
aws_call kms describe-key --key-id "$KMS_ALIAS" --query KeyMetadata.Description --output text
check_match "the key has a MisterSmith description" '^MisterSmith: .*secrets' "$AWS_OUT"
aws_call kms get-key-rotation-status --key-id "$KEY_ID" --query KeyRotationEnabled --output text
check_eq "automatic rotation is enabled" "True" "$AWS_OUT"
aws_call kms list-aliases --key-id "$KEY_ID" --query 'Aliases[].AliasName' --output text
check_eq "$KMS_ALIAS is the key's only alias" "$KMS_ALIAS" "$AWS_OUT"
aws_call kms list-resource-tags --key-id "$KEY_ID" --query 'sort_by(Tags,&TagKey)[].[TagKey,TagValue]' --output text
check_eq "the key's tags" "$(printf 'project\tmistersmith\npurpose\tsecrets-encryption\nrotation\tautomatic')" \
  "$AWS_OUT"

# The secrets really are under this key: while it is disabled none of them can be read.
expect_ok "disable-key $KMS_ALIAS's key" kms disable-key --key-id "$KEY_ID"
for name in "${NAMES[@]}"; do
  expect_aws_error "get-secret-value $name fails while the key is disabled" DecryptionFailure \
    secretsmanager get-secret-value --secret-id "$name"
done
run_example --endpoint-url "$COFFER_ENDPOINT"
check_eq "create-secrets.sh refuses a disabled key (exit 1)" "1" "$EX_RC"
check_match "... and says how to enable it" "aws kms enable-key --key-id $KEY_ARN" "$EX_ERR"
expect_ok "enable-key" kms enable-key --key-id "$KEY_ID"
for name in "${NAMES[@]}"; do
  aws_call secretsmanager get-secret-value --secret-id "$name" --query SecretString --output text
  check_eq "$name reads back the same after enable-key" "$(cat "$VALUES_DIR/${name//\//_}.json")" "$AWS_OUT"
done

# ------------------------------------------------------------------ field checks
echo "== secret bodies"
# The checker prints 'PASS <desc>' or 'FAIL <desc>: <detail>' per check.
check_bodies() {
  "$PYTHON" - "$VALUES_DIR" <<'PY'
import base64, binascii, json, os, re, sys

d = sys.argv[1]
def load(name):
    path = os.path.join(d, name.replace("/", "_") + ".json")
    try:
        with open(path) as f:
            return json.load(f)
    except Exception as e:  # reported as a failed check
        print(f"FAIL {name} is JSON: {e}")
        return None

def check(desc, ok, detail=""):
    print(f"PASS {desc}" if ok else f"FAIL {desc}: {detail}")

def keys(name, obj, expected):
    check(f"{name} has exactly the seed's keys", sorted(obj) == sorted(expected), sorted(obj))

UNSAFE = set("/@\"'\\ ")

aurora = load("mistersmith/aurora/master")
if aurora is not None:
    keys("aurora/master", aurora, ["username", "password", "engine", "host", "port", "dbClusterIdentifier"])
    check("aurora username", aurora.get("username") == "mistersmith_admin", aurora.get("username"))
    pw = aurora.get("password", "")
    check("aurora password is 32 characters", isinstance(pw, str) and len(pw) == 32, len(pw))
    check("aurora password has no RDS-unsafe characters", not (set(pw) & UNSAFE), sorted(set(pw) & UNSAFE))
    check("aurora password mixes letters, digits and punctuation",
          bool(re.search(r"[a-z]", pw) and re.search(r"[A-Z]", pw) and re.search(r"[0-9]", pw)
               and re.search(r"[^A-Za-z0-9]", pw)), "")
    check("aurora engine", aurora.get("engine") == "postgres", aurora.get("engine"))
    check("aurora host",
          aurora.get("host") == "mistersmith-aurora-cluster.cluster-xxxxx.us-east-1.rds.amazonaws.com",
          aurora.get("host"))
    check("aurora port is the number 5432",
          type(aurora.get("port")) is int and aurora.get("port") == 5432, repr(aurora.get("port")))
    check("aurora dbClusterIdentifier",
          aurora.get("dbClusterIdentifier") == "mistersmith-aurora-cluster", aurora.get("dbClusterIdentifier"))

jwt = load("mistersmith/app/jwt")
if jwt is not None:
    keys("app/jwt", jwt, ["secret", "algorithm", "issuer", "expiry"])
    check("jwt secret is 64 hex characters (256 bits)",
          re.fullmatch(r"[0-9a-f]{64}", jwt.get("secret", "")) is not None, jwt.get("secret"))
    check("jwt algorithm", jwt.get("algorithm") == "HS256", jwt.get("algorithm"))
    check("jwt issuer", jwt.get("issuer") == "mistersmith", jwt.get("issuer"))
    check("jwt expiry", jwt.get("expiry") == "1h", jwt.get("expiry"))

enc = load("mistersmith/app/encryption")
if enc is not None:
    keys("app/encryption", enc, ["masterKey", "algorithm", "keyDerivation"])
    try:
        raw = base64.b64decode(enc.get("masterKey", ""), validate=True)
    except (binascii.Error, ValueError) as e:
        raw = b""
    check("encryption masterKey is base64 of 32 bytes", len(raw) == 32, f"{len(raw)} bytes")
    check("encryption algorithm", enc.get("algorithm") == "AES-256-GCM", enc.get("algorithm"))
    check("encryption keyDerivation", enc.get("keyDerivation") == "PBKDF2", enc.get("keyDerivation"))
    if jwt is not None:
        check("jwt key and master key are different random values",
              raw.hex() != jwt.get("secret"), "")

openai = load("mistersmith/external/openai")
if openai is not None:
    keys("external/openai", openai, ["apiKey", "organizationId", "projectId"])
    for k in ("apiKey", "organizationId", "projectId"):
        v = openai.get(k, "")
        check(f"openai {k} is a clearly fake example value",
              isinstance(v, str) and "EXAMPLE" in v and "<" not in v, v)

gh = load("mistersmith/external/oauth/github")
if gh is not None:
    keys("external/oauth/github", gh, ["clientId", "clientSecret", "redirectUri"])
    for k in ("clientId", "clientSecret"):
        v = gh.get(k, "")
        check(f"github {k} is a clearly fake example value",
              isinstance(v, str) and "EXAMPLE" in v and "<" not in v, v)
    check("github redirectUri",
          gh.get("redirectUri") == "https://api.mistersmith.ai/auth/github/callback", gh.get("redirectUri"))

mq = load("mistersmith/amazonmq/credentials")
if mq is not None:
    keys("amazonmq/credentials", mq, ["username", "password", "endpoints"])
    check("amazonmq username", mq.get("username") == "mistersmith_mq", mq.get("username"))
    pw = mq.get("password", "")
    check("amazonmq password is 32 characters", isinstance(pw, str) and len(pw) == 32, len(pw))
    check("amazonmq endpoints",
          mq.get("endpoints") == {
              "amqps": "amqps://b-xxxxx.mq.us-east-1.amazonaws.com:5671",
              "wss": "wss://b-xxxxx.mq.us-east-1.amazonaws.com:61619",
          }, mq.get("endpoints"))
    if aurora is not None:
        check("the two generated passwords differ", aurora.get("password") != pw, "")
PY
}

while IFS= read -r line; do
  case "$line" in
    "PASS "*) pass "${line#PASS }" ;;
    "FAIL "*) fail "${line#FAIL }" ;;
    *) [[ -z "$line" ]] || fail "unexpected checker output" "$line" ;;
  esac
done < <(check_bodies 2>&1 || echo "FAIL the body checker crashed")

# ------------------------------------------------------------------ re-run
echo "== re-run"
before="$(cat "$VALUES_DIR/mistersmith_aurora_master.json")"
run_example --endpoint-url "$COFFER_ENDPOINT"
check_eq "a second run exits 0" "0" "$EX_RC"
check_eq "a second run leaves all 6 secrets unchanged" "6" \
  "$(grep -c 'exists, left unchanged' <<<"$EX_OUT" || true)"
check_eq "a second run reuses the KMS key" "1" \
  "$(grep -cE "^$KMS_ALIAS +exists  $KEY_ARN  " <<<"$EX_OUT" || true)"
aws_call secretsmanager get-secret-value --secret-id mistersmith/aurora/master \
  --query SecretString --output text
check_eq "the aurora password did not change" "$before" "$AWS_OUT"
aws_call secretsmanager list-secret-version-ids --secret-id mistersmith/aurora/master \
  --query 'length(Versions)' --output text
check_eq "no new version was written" "1" "$AWS_OUT"

run_example --endpoint-url "$COFFER_ENDPOINT" --no-such-flag
check_eq "an unknown flag is a usage error (exit 2)" "2" "$EX_RC"
EX_RC=0
if EX_OUT="$(env -u COFFER_ENDPOINT -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_SECRETS_MANAGER \
  "$EXAMPLE" 2>&1)"; then EX_RC=0; else EX_RC=$?; fi
check_eq "no endpoint is refused (exit 2), never real AWS" "2" "$EX_RC"

# ------------------------------------------------------------------ create-key.sh
echo "== create-key.sh"
# run_key ARGS...: runs create-key.sh; sets EX_OUT, EX_ERR, EX_RC.
run_key() {
  if EX_OUT="$("$KEY_EXAMPLE" "$@" 2>"$COFFER_TMP/key.stderr")"; then EX_RC=0; else EX_RC=$?; fi
  EX_ERR="$(cat "$COFFER_TMP/key.stderr")"
}
run_key --endpoint-url "$COFFER_ENDPOINT"
check_eq "create-key.sh on an existing alias exits 0" "0" "$EX_RC"
check_eq "create-key.sh reuses the key" \
  "$KMS_ALIAS exists, reused $KEY_ARN (automatic rotation already enabled)" "$(tr -s ' ' <<<"$EX_OUT")"
aws_call kms list-aliases --query "Aliases[?AliasName=='$KMS_ALIAS'].TargetKeyId" --output text
check_eq "the alias still names the first key" "$KEY_ID" "$AWS_OUT"
expect_ok "an operator turns rotation off" kms disable-key-rotation --key-id "$KEY_ID"
run_key --endpoint-url "$COFFER_ENDPOINT"
check_eq "create-key.sh turns rotation back on" \
  "$KMS_ALIAS exists, reused $KEY_ARN (automatic rotation now enabled)" "$(tr -s ' ' <<<"$EX_OUT")"
aws_call kms get-key-rotation-status --key-id "$KEY_ID" --query KeyRotationEnabled --output text
check_eq "rotation is enabled again" "True" "$AWS_OUT"
expect_ok "schedule-key-deletion of the key" kms schedule-key-deletion --key-id "$KEY_ID" \
  --pending-window-in-days 7
run_key --endpoint-url "$COFFER_ENDPOINT"
check_eq "create-key.sh refuses a key pending deletion (exit 1)" "1" "$EX_RC"
check_match "... and says how to rescue it" "aws kms cancel-key-deletion --key-id $KEY_ARN" "$EX_ERR"
expect_ok "cancel-key-deletion" kms cancel-key-deletion --key-id "$KEY_ID"
expect_ok "enable-key" kms enable-key --key-id "$KEY_ID"
aws_call secretsmanager get-secret-value --secret-id mistersmith/app/jwt --query SecretString --output text
check_eq "the rescued key still decrypts the secrets" "$(cat "$VALUES_DIR/mistersmith_app_jwt.json")" "$AWS_OUT"
run_key --endpoint-url "$COFFER_ENDPOINT" --no-such-flag
check_eq "create-key.sh: an unknown flag is a usage error (exit 2)" "2" "$EX_RC"
EX_RC=0
if EX_OUT="$(env -u COFFER_ENDPOINT -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_KMS \
  "$KEY_EXAMPLE" 2>&1)"; then EX_RC=0; else EX_RC=$?; fi
check_eq "create-key.sh without an endpoint is refused (exit 2)" "2" "$EX_RC"

echo "== a secret made before the example used its key"
OLD=mistersmith/external/openai
expect_ok "force-delete $OLD" secretsmanager delete-secret --secret-id "$OLD" --force-delete-without-recovery
expect_ok "re-create $OLD under the default key" secretsmanager create-secret --name "$OLD" \
  --secret-string "$(cat "$VALUES_DIR/mistersmith_external_openai.json")" --tags Key=project,Value=mistersmith
run_example --endpoint-url "$COFFER_ENDPOINT"
check_eq "create-secrets.sh still exits 0" "0" "$EX_RC"
hint="$(grep "^$OLD " <<<"$EX_OUT" | tr -s ' ' || true)"
check_match "it points out the secret under the default key and how to move it" \
  "exists, left unchanged .* \(encrypted under the default key aws/secretsmanager, not $KMS_ALIAS; to move it: aws secretsmanager update-secret --secret-id $OLD --kms-key-id $KMS_ALIAS\)$" \
  "$hint"
check_eq "only that secret gets the hint" "1" "$(grep -c 'to move it:' <<<"$EX_OUT" || true)"
expect_ok "the suggested update-secret" secretsmanager update-secret --secret-id "$OLD" --kms-key-id "$KMS_ALIAS"
aws_call secretsmanager describe-secret --secret-id "$OLD" --query KmsKeyId --output text
check_eq "describe-secret $OLD now shows KmsKeyId $KMS_ALIAS" "$KMS_ALIAS" "$AWS_OUT"
run_example --endpoint-url "$COFFER_ENDPOINT"
check_eq "then no secret gets the hint" "0" "$(grep -c 'to move it:' <<<"$EX_OUT" || true)"
check_eq "and all 6 are left unchanged" "6" "$(grep -c 'exists, left unchanged' <<<"$EX_OUT" || true)"

# ------------------------------------------------------------------ parameters
echo "== create-parameters.sh"
# run_params ARGS...: runs create-parameters.sh; sets EX_OUT, EX_ERR, EX_RC.
run_params() {
  if EX_OUT="$("$PARAMS_EXAMPLE" "$@" 2>"$COFFER_TMP/params.stderr")"; then EX_RC=0; else EX_RC=$?; fi
  EX_ERR="$(cat "$COFFER_TMP/params.stderr")"
}

# The seed's hierarchy, independently of the script: name<TAB>type<TAB>value. The seed fixes
# production api_base_url and max_agents_per_swarm; the rest are the example's own choices.
expected_params() {
  case "$1" in
    production)
      cat <<'EOF'
/mistersmith/production/config/allowed_origins	StringList	https://app.mistersmith.ai,https://mistersmith.ai
/mistersmith/production/config/api_base_url	String	https://api.mistersmith.ai
/mistersmith/production/config/frontend_url	String	https://app.mistersmith.ai
/mistersmith/production/config/log_level	String	info
/mistersmith/production/features/enable_new_ui	String	false
/mistersmith/production/features/max_agents_per_swarm	String	10
/mistersmith/production/features/rate_limit_requests	String	1000
/mistersmith/production/services/elasticsearch_endpoint	String	https://search-mistersmith-production-xxxxx.us-east-1.es.amazonaws.com
/mistersmith/production/services/redis_endpoint	String	rediss://mistersmith-production.xxxxx.use1.cache.amazonaws.com:6379
/mistersmith/production/services/s3_bucket_name	String	mistersmith-production-assets
EOF
      ;;
    staging)
      cat <<'EOF'
/mistersmith/staging/config/allowed_origins	StringList	https://app.staging.mistersmith.ai,http://localhost:3000
/mistersmith/staging/config/api_base_url	String	https://api.staging.mistersmith.ai
/mistersmith/staging/config/frontend_url	String	https://app.staging.mistersmith.ai
/mistersmith/staging/config/log_level	String	debug
/mistersmith/staging/features/enable_new_ui	String	true
/mistersmith/staging/features/max_agents_per_swarm	String	5
/mistersmith/staging/features/rate_limit_requests	String	300
/mistersmith/staging/services/elasticsearch_endpoint	String	https://search-mistersmith-staging-xxxxx.us-east-1.es.amazonaws.com
/mistersmith/staging/services/redis_endpoint	String	rediss://mistersmith-staging.xxxxx.use1.cache.amazonaws.com:6379
/mistersmith/staging/services/s3_bucket_name	String	mistersmith-staging-assets
EOF
      ;;
  esac
}

run_params --endpoint-url "$COFFER_ENDPOINT"
if [[ $EX_RC -eq 0 ]]; then
  pass "create-parameters.sh exits 0"
else
  fail "create-parameters.sh exits 0" "exit $EX_RC" "$EX_OUT" "$EX_ERR"
fi
printf '%s\n' "$EX_OUT" | sed 's/^/     | /'
check_eq "create-parameters.sh reports 20 parameters created" "20" \
  "$(grep -c ' created ' <<<"$EX_OUT" || true)"
check_eq "every created parameter is a Standard-tier version 1" "20" \
  "$(grep -cE ' created  \(version 1, Standard (String|StringList)\)$' <<<"$EX_OUT" || true)"

for env in production staging; do
  expect_ok "get-parameters-by-path --path /mistersmith/$env --recursive" \
    ssm get-parameters-by-path --path "/mistersmith/$env" --recursive \
    --query 'Parameters[].[Name,Type,Value]' --output text
  check_eq "/mistersmith/$env holds exactly the seed's 10 parameters with their values" \
    "$(expected_params "$env")" "$(LC_ALL=C sort <<<"$AWS_OUT")"
  for group in config features services; do
    aws_call ssm get-parameters-by-path --path "/mistersmith/$env/$group" --query 'Parameters[].Name' --output text
    check_eq "one level under /mistersmith/$env/$group" \
      "$(expected_params "$env" | cut -f1 | grep "^/mistersmith/$env/$group/")" \
      "$(tr -s '\t' '\n' <<<"$AWS_OUT" | sed '/^$/d' | LC_ALL=C sort)"
  done
  aws_call ssm get-parameters-by-path --path "/mistersmith/$env" --query 'Parameters[].Name' --output text
  check_eq "no parameter sits directly under /mistersmith/$env" "" "$AWS_OUT"
done

aws_call ssm get-parameter --name /mistersmith/production/config/api_base_url \
  --query 'Parameter.[Type,Value,Version]' --output text
check_eq "the seed's example: /mistersmith/production/config/api_base_url" \
  "$(printf 'String\thttps://api.mistersmith.ai\t1')" "$AWS_OUT"
aws_call ssm get-parameter --name /mistersmith/production/features/max_agents_per_swarm \
  --query 'Parameter.[Type,Value]' --output text
check_eq "the seed's example: /mistersmith/production/features/max_agents_per_swarm" \
  "$(printf 'String\t10')" "$AWS_OUT"

aws_call ssm describe-parameters \
  --parameter-filters Key=Path,Option=Recursive,Values=/mistersmith Key=Tier,Values=Standard \
  --query 'Parameters[].Name' --output text
check_eq "describe-parameters: all 20 are Standard tier" "20" \
  "$(tr -s '\t' '\n' <<<"$AWS_OUT" | sed '/^$/d' | wc -l | tr -d ' ')"
aws_call ssm describe-parameters --parameter-filters Key=tag:environment,Values=staging \
  Key=Path,Option=Recursive,Values=/mistersmith --query 'Parameters[].Name' --output text
check_eq "describe-parameters: tag:environment=staging selects the staging tree" \
  "$(expected_params staging | cut -f1)" "$(tr -s '\t' '\n' <<<"$AWS_OUT" | sed '/^$/d' | LC_ALL=C sort)"
aws_call ssm list-tags-for-resource --resource-type Parameter \
  --resource-id /mistersmith/production/services/redis_endpoint \
  --query 'sort_by(TagList,&Key)[].[Key,Value]' --output text
check_eq "tags of /mistersmith/production/services/redis_endpoint" \
  "$(printf 'category\tservices\nenvironment\tproduction\nproject\tmistersmith')" "$AWS_OUT"

# The same Parameter Store API reads the Secrets Manager secrets by reference.
aws_call secretsmanager get-secret-value --secret-id mistersmith/app/jwt --query SecretString --output text
jwt_body="$AWS_OUT"
aws_call ssm get-parameter --name /aws/reference/secretsmanager/mistersmith/app/jwt --with-decryption \
  --query 'Parameter.[Type,Value]' --output text
check_eq "get-parameter /aws/reference/secretsmanager/mistersmith/app/jwt returns the secret" \
  "$(printf 'SecureString\t%s' "$jwt_body")" "$AWS_OUT"

echo "== create-parameters.sh re-run"
run_params --endpoint-url "$COFFER_ENDPOINT"
check_eq "a second run exits 0" "0" "$EX_RC"
check_eq "a second run leaves all 20 parameters unchanged" "20" \
  "$(grep -c 'exists, unchanged  (version 1)' <<<"$EX_OUT" || true)"

aws_call ssm put-parameter --name /mistersmith/staging/config/log_level --value warn --overwrite \
  --query Version --output text
check_eq "an operator changes staging log_level (version 2)" "2" "$AWS_OUT"
run_params --endpoint-url "$COFFER_ENDPOINT" --environment staging
check_eq "--environment staging exits 0" "0" "$EX_RC"
check_eq "--environment staging only looks at the 10 staging parameters" "10" \
  "$(grep -c '^/mistersmith/staging/' <<<"$EX_OUT" || true)"
check_eq "without --overwrite the changed value is reported and kept" "1" \
  "$(grep -c '^/mistersmith/staging/config/log_level .*left unchanged (use --overwrite)' <<<"$EX_OUT" || true)"
aws_call ssm get-parameter --name /mistersmith/staging/config/log_level --query Parameter.Value --output text
check_eq "staging log_level is still warn" "warn" "$AWS_OUT"
run_params --endpoint-url "$COFFER_ENDPOINT" --overwrite
check_eq "--overwrite exits 0" "0" "$EX_RC"
check_eq "--overwrite updates exactly the changed parameter" \
  "/mistersmith/staging/config/log_level updated (version 3)" \
  "$(grep ' updated ' <<<"$EX_OUT" | tr -s ' ' || true)"
aws_call ssm get-parameter-history --name /mistersmith/staging/config/log_level \
  --query 'Parameters[].Value' --output text
check_eq "log_level history: debug, warn, debug" "$(printf 'debug\twarn\tdebug')" "$AWS_OUT"

run_params --endpoint-url "$COFFER_ENDPOINT" --environment qa
check_eq "an unknown environment is a usage error (exit 2)" "2" "$EX_RC"
EX_RC=0
if EX_OUT="$(env -u COFFER_ENDPOINT -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_SSM \
  "$PARAMS_EXAMPLE" 2>&1)"; then EX_RC=0; else EX_RC=$?; fi
check_eq "create-parameters.sh without an endpoint is refused (exit 2)" "2" "$EX_RC"

# ------------------------------------------------------------------ access control
# Last, because from here on DeleteSecret is denied to everyone, the root included.
echo "== create-access.sh"
ACCESS_EXAMPLE="$REPO_ROOT/examples/mistersmith/create-access.sh"
TASK_ROLE=MisterSmithEcsTaskRole
EXEC_ROLE=MisterSmithEcsTaskExecutionRole
OPS_GROUP=MisterSmithOperators
TASK_ROLE_ARN="arn:aws:iam::$TEST_ACCOUNT_ID:role/$TASK_ROLE"
EXEC_ROLE_ARN="arn:aws:iam::$TEST_ACCOUNT_ID:role/$EXEC_ROLE"
ROOT_ARN="arn:aws:iam::$TEST_ACCOUNT_ID:root"
SECRETS_ARN="arn:aws:secretsmanager:$TEST_REGION:$TEST_ACCOUNT_ID:secret:mistersmith/*"
PROD_PARAMS_ARN="arn:aws:ssm:$TEST_REGION:$TEST_ACCOUNT_ID:parameter/mistersmith/production/*"

# run_access ARGS...: runs create-access.sh; sets EX_OUT, EX_ERR, EX_RC.
run_access() {
  if EX_OUT="$("$ACCESS_EXAMPLE" "$@" 2>"$COFFER_TMP/access.stderr")"; then EX_RC=0; else EX_RC=$?; fi
  EX_ERR="$(cat "$COFFER_TMP/access.stderr")"
}

# Credentials of the principals below: CRED_<WHO>="KEY SECRET [TOKEN]".
# as_call WHO ARGS...: aws_call with WHO's credentials instead of the root's.
as_call() {
  local who="$1" var="CRED_$1" key secret token errf="$COFFER_TMP/aws.stderr"
  shift
  read -r key secret token <<<"${!var}"
  local env_args=(env -u AWS_SESSION_TOKEN AWS_ACCESS_KEY_ID="$key" AWS_SECRET_ACCESS_KEY="$secret")
  [[ -z "$token" ]] || env_args+=(AWS_SESSION_TOKEN="$token")
  if AWS_OUT="$("${env_args[@]}" "$AWS_CLI" --endpoint-url "$COFFER_ENDPOINT" "$@" 2>"$errf")"; then
    AWS_RC=0
  else
    AWS_RC=$?
  fi
  AWS_ERR="$(cat "$errf")"
}
# expect_ok_as DESC WHO ARGS...
expect_ok_as() {
  local desc="$1" who="$2"
  shift 2
  as_call "$who" "$@"
  if [[ $AWS_RC -eq 0 ]]; then pass "$desc"; else fail "$desc" "aws $* -> exit $AWS_RC" "$AWS_ERR"; fi
}
# expect_denied_as DESC WHO CODE MESSAGE_REGEX ARGS...: fails with (CODE) and a matching message.
expect_denied_as() {
  local desc="$1" who="$2" code="$3" re="$4"
  shift 4
  as_call "$who" "$@"
  if [[ $AWS_RC -ne 0 && "$AWS_ERR" == *"($code)"* && "$AWS_ERR" =~ $re ]]; then
    pass "$desc"
  elif [[ $AWS_RC -eq 0 ]]; then
    fail "$desc" "expected ($code), but the call succeeded: $AWS_OUT"
  else
    fail "$desc" "expected ($code) matching: $re" "got exit $AWS_RC: $AWS_ERR"
  fi
}
# shellcheck disable=SC2034  # CRED_* are read through ${!var} in as_call
CRED_ROOT="$TEST_ACCESS_KEY_ID $TEST_SECRET_ACCESS_KEY"

# same_json DESC EXPECTED ACTUAL: the two JSON documents are equal (key order and spacing aside).
same_json() {
  local verdict
  verdict="$("$PYTHON" -c '
import json, sys
try:
    a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
except ValueError as e:
    print("not JSON: %s" % e); sys.exit()
print("same" if a == b else "different")' "$2" "$3" 2>&1)"
  if [[ "$verdict" == same ]]; then pass "$1"; else fail "$1" "$verdict" "expected: $2" "actual:   $3"; fi
}

# The seed's "Secret Resource Policies", account id substituted.
SEED_SECRET_POLICY="$(sed "s/123456789012/$TEST_ACCOUNT_ID/g" <<'EOF'
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": [
          "arn:aws:iam::123456789012:role/MisterSmithEcsTaskRole",
          "arn:aws:iam::123456789012:role/MisterSmithEcsTaskExecutionRole"
        ]
      },
      "Action": "secretsmanager:GetSecretValue",
      "Resource": "*"
    },
    {
      "Effect": "Deny",
      "Principal": "*",
      "Action": "secretsmanager:DeleteSecret",
      "Resource": "*"
    }
  ]
}
EOF
)"

run_access --endpoint-url "$COFFER_ENDPOINT"
if [[ $EX_RC -eq 0 ]]; then
  pass "create-access.sh exits 0"
else
  fail "create-access.sh exits 0" "exit $EX_RC" "$EX_OUT" "$EX_ERR"
fi
printf '%s\n' "$EX_OUT" | sed 's/^/     | /'
check_eq "it creates both roles" "2" \
  "$(grep -cE "^MisterSmithEcsTask(Execution)?Role +created  arn:aws:iam::$TEST_ACCOUNT_ID:role/" <<<"$EX_OUT" || true)"
check_eq "it creates the operators group" "1" "$(grep -cE "^$OPS_GROUP +created " <<<"$EX_OUT" || true)"
check_eq "it puts the resource policy on the 6 secrets" \
  "$(printf '%s\n' "${NAMES[@]}" | LC_ALL=C sort)" \
  "$(grep ' resource policy put ' <<<"$EX_OUT" | cut -d' ' -f1 | LC_ALL=C sort)"
check_eq "it puts the key policy of $KMS_ALIAS" "1" \
  "$(grep -cE "^$KMS_ALIAS +key policy put  $KEY_ARN " <<<"$EX_OUT" || true)"

# --- the documents
for role in "$TASK_ROLE" "$EXEC_ROLE"; do
  # shellcheck disable=SC2016 # JMESPath literals, not shell
  aws_call iam get-role --role-name "$role" \
    --query 'Role.AssumeRolePolicyDocument.Statement[].[Effect, join(`,`, to_array(Action)), Principal.Service || Principal.AWS, Condition.StringEquals."aws:SourceAccount" || `-`]' \
    --output text
  check_eq "$role trusts ECS tasks of this account and the account's own principals" \
    "$(printf 'Allow\tsts:AssumeRole\tecs-tasks.amazonaws.com\t%s\nAllow\tsts:AssumeRole\t%s\t-' "$TEST_ACCOUNT_ID" "$ROOT_ARN")" \
    "$AWS_OUT"
done
aws_call iam list-role-policies --role-name "$TASK_ROLE" --query PolicyNames --output text
check_eq "$TASK_ROLE has one inline policy" "MisterSmithTaskAccess" "$AWS_OUT"
# shellcheck disable=SC2016 # JMESPath literals, not shell
aws_call iam get-role-policy --role-name "$TASK_ROLE" --policy-name MisterSmithTaskAccess \
  --query 'PolicyDocument.Statement[].[Effect, join(`,`, to_array(Action)), join(`,`, to_array(Resource))]' --output text
check_eq "$TASK_ROLE: GetSecretValue on mistersmith/*, GetParameter(s) on /mistersmith/production/*" \
  "$(printf 'Allow\tsecretsmanager:GetSecretValue\t%s\nAllow\tssm:GetParameters,ssm:GetParameter\t%s' "$SECRETS_ARN" "$PROD_PARAMS_ARN")" \
  "$AWS_OUT"
aws_call iam list-role-policies --role-name "$EXEC_ROLE" --query PolicyNames --output text
check_eq "$EXEC_ROLE has one inline policy" "MisterSmithSecretInjection" "$AWS_OUT"
# shellcheck disable=SC2016 # JMESPath literals, not shell
aws_call iam get-role-policy --role-name "$EXEC_ROLE" --policy-name MisterSmithSecretInjection \
  --query 'PolicyDocument.Statement[].[Effect, join(`,`, to_array(Action)), join(`,`, to_array(Resource))]' --output text
check_eq "$EXEC_ROLE: GetSecretValue, GetParameters for injection, kms:Decrypt on the key" \
  "$(printf 'Allow\tsecretsmanager:GetSecretValue\t%s\nAllow\tssm:GetParameters\t%s\nAllow\tkms:Decrypt\t%s' "$SECRETS_ARN" "$PROD_PARAMS_ARN" "$KEY_ARN")" \
  "$AWS_OUT"
for name in "${NAMES[@]}"; do
  aws_call secretsmanager get-resource-policy --secret-id "$name" --query ResourcePolicy --output text
  same_json "$name carries the seed's resource policy" "$SEED_SECRET_POLICY" "$AWS_OUT"
done
EXPECTED_KEY_POLICY="$(cat <<EOF
{"Version": "2012-10-17", "Id": "mistersmith-secrets", "Statement": [
  {"Sid": "AccountAdministersTheKey", "Effect": "Allow", "Principal": {"AWS": "$ROOT_ARN"},
   "Action": "kms:*", "Resource": "*"},
  {"Sid": "MisterSmithTaskRolesDecrypt", "Effect": "Allow",
   "Principal": {"AWS": ["$TASK_ROLE_ARN", "$EXEC_ROLE_ARN"]},
   "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}]}
EOF
)"
aws_call kms get-key-policy --key-id "$KEY_ID" --policy-name default --query Policy --output text
same_json "the key policy: root administers, the two roles may Decrypt/DescribeKey" "$EXPECTED_KEY_POLICY" "$AWS_OUT"

# --- an operator assumes each role and reads what the task reads
expect_ok "create user ms-operator" iam create-user --user-name ms-operator
expect_ok "add ms-operator to $OPS_GROUP" iam add-user-to-group --user-name ms-operator --group-name "$OPS_GROUP"
aws_call iam create-access-key --user-name ms-operator --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text
# shellcheck disable=SC2034  # read by as_call
CRED_OPERATOR="$(tr '\t' ' ' <<<"$AWS_OUT")"
expect_ok "create user ms-nobody (no policy, no group)" iam create-user --user-name ms-nobody
aws_call iam create-access-key --user-name ms-nobody --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text
# shellcheck disable=SC2034  # read by as_call
CRED_NOBODY="$(tr '\t' ' ' <<<"$AWS_OUT")"

printf hello-mistersmith >"$COFFER_TMP/plain.txt"
aws_call kms encrypt --key-id "$KMS_ALIAS" --plaintext "fileb://$COFFER_TMP/plain.txt" \
  --query CiphertextBlob --output text
base64 -d <<<"$AWS_OUT" >"$COFFER_TMP/ct.bin" || true
PLAIN_B64="$(base64 -w0 "$COFFER_TMP/plain.txt")"

for who in TASK EXEC; do
  if [[ $who == TASK ]]; then role="$TASK_ROLE" role_arn="$TASK_ROLE_ARN"; else role="$EXEC_ROLE" role_arn="$EXEC_ROLE_ARN"; fi
  as_call OPERATOR sts assume-role --role-arn "$role_arn" --role-session-name operator-local \
    --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text
  if [[ $AWS_RC -eq 0 ]]; then pass "ms-operator assumes $role"; else fail "ms-operator assumes $role" "$AWS_ERR"; fi
  printf -v "CRED_$who" '%s' "$(tr '\t' ' ' <<<"$AWS_OUT")"
  as_call "$who" sts get-caller-identity --query Arn --output text
  check_eq "... as arn:aws:sts::$TEST_ACCOUNT_ID:assumed-role/$role/operator-local" \
    "arn:aws:sts::$TEST_ACCOUNT_ID:assumed-role/$role/operator-local" "$AWS_OUT"
  for name in "${NAMES[@]}"; do
    as_call "$who" secretsmanager get-secret-value --secret-id "$name" --query SecretString --output text
    check_eq "$role reads $name" "$(cat "$VALUES_DIR/${name//\//_}.json")" "$AWS_OUT"
  done
  expect_denied_as "$role cannot delete a secret (the resource policy's Deny)" "$who" AccessDeniedException \
    'secretsmanager:DeleteSecret .* with an explicit deny in a resource-based policy' \
    secretsmanager delete-secret --secret-id mistersmith/app/jwt
  as_call "$who" kms decrypt --ciphertext-blob "fileb://$COFFER_TMP/ct.bin" --query Plaintext --output text
  check_eq "$role may decrypt with the key (key policy)" "$PLAIN_B64" "$AWS_OUT"
  expect_ok_as "$role may describe the key" "$who" kms describe-key --key-id "$KMS_ALIAS"
  expect_denied_as "$role may not encrypt with the key" "$who" AccessDeniedException 'kms:Encrypt' \
    kms encrypt --key-id "$KMS_ALIAS" --plaintext "fileb://$COFFER_TMP/plain.txt"
done
as_call TASK ssm get-parameters --names /mistersmith/production/config/api_base_url \
  /mistersmith/production/features/max_agents_per_swarm --query 'Parameters[].Value' --output text
check_eq "$TASK_ROLE reads production parameters (GetParameters)" "$(printf 'https://api.mistersmith.ai\t10')" "$AWS_OUT"
as_call TASK ssm get-parameter --name /mistersmith/production/config/log_level --query Parameter.Value --output text
check_eq "$TASK_ROLE reads a production parameter (GetParameter)" "info" "$AWS_OUT"
expect_denied_as "$TASK_ROLE may not read staging parameters" TASK AccessDeniedException \
  'no identity-based policy allows the ssm:GetParameter action' \
  ssm get-parameter --name /mistersmith/staging/config/log_level
as_call EXEC ssm get-parameters --names /mistersmith/production/config/api_base_url --query 'Parameters[].Value' --output text
check_eq "$EXEC_ROLE reads production parameters for injection (GetParameters)" "https://api.mistersmith.ai" "$AWS_OUT"

# --- everyone else
expect_denied_as "ms-operator itself may not read a secret" OPERATOR AccessDeniedException \
  'user/ms-operator is not authorized to perform: secretsmanager:GetSecretValue' \
  secretsmanager get-secret-value --secret-id mistersmith/app/jwt
expect_denied_as "ms-operator itself may not decrypt with the key" OPERATOR AccessDeniedException 'kms:Decrypt' \
  kms decrypt --ciphertext-blob "fileb://$COFFER_TMP/ct.bin"
for name in "${NAMES[@]}"; do
  expect_denied_as "a user without policies may not read $name" NOBODY AccessDeniedException \
    "user/ms-nobody is not authorized to perform: secretsmanager:GetSecretValue on resource: $name because no identity-based policy allows" \
    secretsmanager get-secret-value --secret-id "$name"
done
expect_denied_as "a user without policies may not assume $TASK_ROLE" NOBODY AccessDenied \
  'is not authorized to perform: sts:AssumeRole' \
  sts assume-role --role-arn "$TASK_ROLE_ARN" --role-session-name nobody
expect_denied_as "a user without policies may not read parameters" NOBODY AccessDeniedException 'ssm:GetParameter' \
  ssm get-parameter --name /mistersmith/production/config/api_base_url
expect_denied_as "a user without policies may not decrypt" NOBODY AccessDeniedException 'kms:Decrypt' \
  kms decrypt --ciphertext-blob "fileb://$COFFER_TMP/ct.bin"
for name in "${NAMES[@]}"; do
  expect_denied_as "the account root may not delete $name (explicit deny in the resource policy)" ROOT \
    AccessDeniedException \
    "arn:aws:iam::$TEST_ACCOUNT_ID:root is not authorized to perform: secretsmanager:DeleteSecret .* with an explicit deny in a resource-based policy" \
    secretsmanager delete-secret --secret-id "$name"
done
expect_denied_as "... not even with --force-delete-without-recovery" ROOT AccessDeniedException \
  'explicit deny in a resource-based policy' \
  secretsmanager delete-secret --secret-id mistersmith/aurora/master --force-delete-without-recovery
aws_call secretsmanager list-secrets --filters Key=name,Values=mistersmith/ \
  --query 'length(SecretList[?DeletedDate==null])' --output text
check_eq "all 6 secrets are still there, none scheduled for deletion" "6" "$AWS_OUT"
aws_call secretsmanager get-secret-value --secret-id mistersmith/app/jwt --query SecretString --output text
check_eq "the account root still reads the secrets" "$(cat "$VALUES_DIR/mistersmith_app_jwt.json")" "$AWS_OUT"

# --- re-run: same roles, documents put back
echo "== create-access.sh re-run"
aws_call iam get-role --role-name "$TASK_ROLE" --query Role.RoleId --output text
TASK_ROLE_ID="$AWS_OUT"
aws_call iam get-role --role-name "$EXEC_ROLE" --query Role.RoleId --output text
EXEC_ROLE_ID="$AWS_OUT"
expect_ok "an operator removes the resource policy of mistersmith/app/jwt" \
  secretsmanager delete-resource-policy --secret-id mistersmith/app/jwt
expect_ok "... and the task role's inline policy" \
  iam delete-role-policy --role-name "$TASK_ROLE" --policy-name MisterSmithTaskAccess
run_access --endpoint-url "$COFFER_ENDPOINT"
if [[ $EX_RC -eq 0 ]]; then pass "a second run exits 0"; else fail "a second run exits 0" "exit $EX_RC" "$EX_ERR"; fi
check_eq "a second run keeps both roles" "2" \
  "$(grep -cE "^MisterSmithEcsTask(Execution)?Role +exists, trust policy put again  arn:aws:iam::$TEST_ACCOUNT_ID:role/" <<<"$EX_OUT" || true)"
check_eq "... and the group" "1" "$(grep -cE "^$OPS_GROUP +exists " <<<"$EX_OUT" || true)"
check_eq "... and creates nothing" "0" "$(grep -c ' created ' <<<"$EX_OUT" || true)"
aws_call iam get-role --role-name "$TASK_ROLE" --query Role.RoleId --output text
check_eq "$TASK_ROLE is the same role (RoleId)" "$TASK_ROLE_ID" "$AWS_OUT"
aws_call iam get-role --role-name "$EXEC_ROLE" --query Role.RoleId --output text
check_eq "$EXEC_ROLE is the same role (RoleId)" "$EXEC_ROLE_ID" "$AWS_OUT"
# shellcheck disable=SC2016 # JMESPath literal, not shell
aws_call iam list-roles --query 'length(Roles[?starts_with(RoleName, `MisterSmith`)])' --output text
check_eq "still exactly two MisterSmith roles" "2" "$AWS_OUT"
aws_call iam list-role-policies --role-name "$TASK_ROLE" --query PolicyNames --output text
check_eq "the task role's inline policy is back" "MisterSmithTaskAccess" "$AWS_OUT"
for name in "${NAMES[@]}"; do
  aws_call secretsmanager get-resource-policy --secret-id "$name" --query ResourcePolicy --output text
  same_json "$name still (again) carries the seed's resource policy" "$SEED_SECRET_POLICY" "$AWS_OUT"
done
aws_call kms get-key-policy --key-id "$KEY_ID" --policy-name default --query Policy --output text
same_json "the key policy is unchanged" "$EXPECTED_KEY_POLICY" "$AWS_OUT"
as_call TASK secretsmanager get-secret-value --secret-id mistersmith/app/jwt --query SecretString --output text
check_eq "the task role's session from before still reads mistersmith/app/jwt" \
  "$(cat "$VALUES_DIR/mistersmith_app_jwt.json")" "$AWS_OUT"
expect_denied_as "and the root still may not delete it" ROOT AccessDeniedException 'explicit deny' \
  secretsmanager delete-secret --secret-id mistersmith/app/jwt

# --- the README's "Start over": remove the resource policy, then delete
expect_ok "delete-resource-policy of mistersmith/external/openai" \
  secretsmanager delete-resource-policy --secret-id mistersmith/external/openai
expect_ok "then the root may delete it" secretsmanager delete-secret --secret-id mistersmith/external/openai \
  --recovery-window-in-days 7
expect_ok "restore-secret" secretsmanager restore-secret --secret-id mistersmith/external/openai

run_access --endpoint-url "$COFFER_ENDPOINT" --no-such-flag
check_eq "create-access.sh: an unknown flag is a usage error (exit 2)" "2" "$EX_RC"
EX_RC=0
if EX_OUT="$(env -u COFFER_ENDPOINT -u AWS_ENDPOINT_URL "$ACCESS_EXAMPLE" 2>&1)"; then EX_RC=0; else EX_RC=$?; fi
check_eq "create-access.sh without an endpoint is refused (exit 2)" "2" "$EX_RC"

# ------------------------------------------------------------------ rotation
# configure-rotation.sh: the design's schedule. The Aurora host is not real, so the database
# secret is only configured (its configuration check may fail), never rotated here; the API key
# (the design's custom Lambda, through the runner) and the JWT key are rotated once.
echo "== configure-rotation.sh"
ROTATION_EXAMPLE="$REPO_ROOT/examples/mistersmith/configure-rotation.sh"
PROVIDER_STATE="$COFFER_TMP/api-provider.json"
run_rotation() {
  if EX_OUT="$(COFFER_BIN="$COFFER_BIN_PATH" "$ROTATION_EXAMPLE" "$@" 2>"$COFFER_TMP/rotation.stderr")"; then
    EX_RC=0
  else
    EX_RC=$?
  fi
  EX_ERR="$(cat "$COFFER_TMP/rotation.stderr")"
}
# wait_current SECRET VERSION: polls (0.2 s, 20 s at most) until AWSCURRENT is VERSION.
wait_current() {
  local deadline=$((SECONDS + 20))
  while ((SECONDS < deadline)); do
    aws_call secretsmanager get-secret-value --secret-id "$1" --query VersionId --output text
    [[ "$AWS_OUT" == "$2" ]] && return 0
    sleep 0.2
  done
  return 1
}
json_field() { # json_field JSON KEY
  "$PYTHON" -c 'import json, sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"
}

run_rotation --endpoint-url "$COFFER_ENDPOINT" --api-provider-state "$PROVIDER_STATE"
if [[ $EX_RC -eq 0 ]]; then
  pass "configure-rotation.sh exits 0"
else
  fail "configure-rotation.sh exits 0" "exit $EX_RC" "$EX_OUT" "$EX_ERR"
fi
printf '%s\n' "$EX_OUT" | sed 's/^/     | /'
check_eq "it creates the three execution roles" "3" \
  "$(grep -cE "^MisterSmith(Db|ApiKey|Jwt)Rotation +created  arn:aws:iam::$TEST_ACCOUNT_ID:role/" <<<"$EX_OUT" || true)"
check_eq "it registers the three functions" "3" "$(grep -c ' registered  arn:aws:lambda:' <<<"$EX_OUT" || true)"
declare -A ROTATION_DAYS=([mistersmith/aurora/master]=30 [mistersmith/external/openai]=90 [mistersmith/app/jwt]=180)
declare -A ROTATION_FN=([mistersmith/aurora/master]=mistersmith-db-rotation
  [mistersmith/external/openai]=mistersmith-api-key-rotation [mistersmith/app/jwt]=mistersmith-jwt-rotation)
for name in mistersmith/aurora/master mistersmith/external/openai mistersmith/app/jwt; do
  aws_call secretsmanager describe-secret --secret-id "$name" \
    --query '[RotationEnabled, RotationRules.AutomaticallyAfterDays, RotationLambdaARN, NextRotationDate != null]' --output text
  check_eq "$name rotates every ${ROTATION_DAYS[$name]} days with ${ROTATION_FN[$name]} (NextRotationDate set)" \
    "$(printf 'True\t%s\tarn:aws:lambda:%s:%s:function:%s\tTrue' "${ROTATION_DAYS[$name]}" "$TEST_REGION" "$TEST_ACCOUNT_ID" "${ROTATION_FN[$name]}")" \
    "$AWS_OUT"
done
# shellcheck disable=SC2016 # JMESPath literal, not shell
aws_call secretsmanager describe-secret --secret-id mistersmith/external/oauth/github --query 'RotationEnabled || `false`' --output text
check_eq "mistersmith/external/oauth/github is rotated by hand (no rotation)" "False" "$AWS_OUT"
# shellcheck disable=SC2016 # JMESPath literal, not shell
aws_call iam get-role-policy --role-name MisterSmithApiKeyRotation --policy-name MisterSmithRotation \
  --query 'PolicyDocument.Statement[].[join(`,`, to_array(Action)), join(`,`, to_array(Resource))]' --output text
check_match "the API-key role may rotate only mistersmith/external/openai and use the key" \
  "secretsmanager:DescribeSecret,secretsmanager:GetSecretValue,secretsmanager:PutSecretValue,secretsmanager:UpdateSecretVersionStage"$'\t'"arn:aws:secretsmanager:$TEST_REGION:$TEST_ACCOUNT_ID:secret:mistersmith/external/openai-[A-Za-z0-9]{6}"$'\n'"kms:Decrypt,kms:GenerateDataKey"$'\t'"$KEY_ARN\$" \
  "$AWS_OUT"
check_eq "the stand-in provider starts with the current key" \
  "$(json_field "$(cat "$VALUES_DIR/mistersmith_external_openai.json")" apiKey)" \
  "$("$PYTHON" -c 'import json, sys; print(",".join(json.load(open(sys.argv[1]))["keys"]))' "$PROVIDER_STATE")"

for name in mistersmith/external/openai mistersmith/app/jwt; do
  aws_call secretsmanager rotate-secret --secret-id "$name" --query VersionId --output text
  version="$AWS_OUT"
  if [[ $AWS_RC -eq 0 ]] && wait_current "$name" "$version"; then
    pass "rotate-secret $name: AWSCURRENT moves to the new version"
  else
    fail "rotate-secret $name: AWSCURRENT moves to the new version" "$AWS_ERR" \
      "$("$COFFER_BIN_PATH" operator events --endpoint "$COFFER_ENDPOINT" | tail -c 3000)"
  fi
  aws_call secretsmanager get-secret-value --secret-id "$name" --version-stage AWSPREVIOUS --query SecretString --output text
  check_eq "$name: AWSPREVIOUS holds the value before the rotation" \
    "$(cat "$VALUES_DIR/${name//\//_}.json")" "$AWS_OUT"
done
aws_call secretsmanager get-secret-value --secret-id mistersmith/external/openai --query SecretString --output text
NEW_API="$AWS_OUT"
check_match "the new API key comes from the custom Lambda" '^msk_' "$(json_field "$NEW_API" apiKey)"
check_eq "organizationId and projectId are kept" \
  "$(json_field "$(cat "$VALUES_DIR/mistersmith_external_openai.json")" organizationId) $(json_field "$(cat "$VALUES_DIR/mistersmith_external_openai.json")" projectId)" \
  "$(json_field "$NEW_API" organizationId) $(json_field "$NEW_API" projectId)"
check_match "the provider accepts the new key" "(^|,)$(json_field "$NEW_API" apiKey)(,|$)" \
  "$("$PYTHON" -c 'import json, sys; print(",".join(json.load(open(sys.argv[1]))["keys"]))' "$PROVIDER_STATE")"
as_call TASK secretsmanager get-secret-value --secret-id mistersmith/external/openai --query SecretString --output text
check_eq "$TASK_ROLE reads the rotated key" "$NEW_API" "$AWS_OUT"
aws_call secretsmanager get-secret-value --secret-id mistersmith/app/jwt --query SecretString --output text
check_match "the new JWT signing key is 64 hex characters" '^[0-9a-f]{64}$' "$(json_field "$AWS_OUT" secret)"
check_ne "... and not the old one" "$(json_field "$(cat "$VALUES_DIR/mistersmith_app_jwt.json")" secret)" \
  "$(json_field "$AWS_OUT" secret)"
aws_call secretsmanager get-secret-value --secret-id mistersmith/aurora/master --query SecretString --output text
check_eq "the database password is not rotated by the example test" \
  "$(cat "$VALUES_DIR/mistersmith_aurora_master.json")" "$AWS_OUT"

run_rotation --endpoint-url "$COFFER_ENDPOINT" --api-provider-state "$PROVIDER_STATE"
check_eq "a second configure-rotation.sh run exits 0" "0" "$EX_RC"
check_eq "... and keeps the three roles" "3" "$(grep -c 'Rotation  *exists, policies put again' <<<"$EX_OUT" || true)"
check_eq "... and the provider's state" "1" "$(grep -c '^api provider  *exists' <<<"$EX_OUT" || true)"
run_rotation --endpoint-url "$COFFER_ENDPOINT" --no-such-flag
check_eq "configure-rotation.sh: an unknown flag is a usage error (exit 2)" "2" "$EX_RC"

# ------------------------------------------------------------------ coffer exec
# The seed's container as `cdk synth` writes it, resolved by coffer exec as the task execution
# role (which the ECS agent uses to pull secrets): ms-operator's keys, --role-arn.
echo "== coffer exec: the seed's container"
TEMPLATE="$REPO_ROOT/examples/mistersmith/cdk.out/MisterSmithStack.template.json"
read -r op_key op_secret _ <<<"$CRED_OPERATOR"
run_app() {
  EXEC_RC=0
  EXEC_OUT="$(env -u AWS_SESSION_TOKEN -u AWS_PROFILE AWS_ACCESS_KEY_ID="$op_key" \
    AWS_SECRET_ACCESS_KEY="$op_secret" AWS_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null \
    AWS_SHARED_CREDENTIALS_FILE=/dev/null "$COFFER_BIN_PATH" exec --endpoint-url "$COFFER_ENDPOINT" \
    --role-arn "$EXEC_ROLE_ARN" --task-definition "$TEMPLATE" --container app -- "$PYTHON" -c \
    'import json, os; print(json.dumps({k: os.environ.get(k) for k in ("DATABASE_URL", "JWT_SECRET", "OPENAI_API_KEY", "API_BASE_URL", "NODE_ENV", "SERVICE_NAME")}))' \
    2>"$COFFER_TMP/exec.err")" || EXEC_RC=$?
  EXEC_ERR="$(cat "$COFFER_TMP/exec.err")"
}
# The seed's task definition asks the database secret for `connectionString`, a key its body
# (above) does not have: ECS would stop the task, and so does coffer exec, before the app runs.
run_app
check_eq "the seed's template as written: coffer exec refuses (exit 125)" "125" "$EXEC_RC"
check_match "... with ECS's error, naming the missing key" \
  'ResourceInitializationError: .*did not contain json key connectionString' "$EXEC_ERR"
check_eq "... and the app never ran" "" "$EXEC_OUT"
# With the key added, the app starts with all four values.
aws_call secretsmanager get-secret-value --secret-id mistersmith/aurora/master --query SecretString --output text
DB_WITH_URL="$("$PYTHON" -c 'import json, sys; b = json.loads(sys.argv[1]); b["connectionString"] = "postgres://%s:%s@%s:%s/mistersmith" % (b["username"], b["password"], b["host"], b["port"]); print(json.dumps(b))' "$AWS_OUT")"
expect_ok "put-secret-value mistersmith/aurora/master with a connectionString" \
  secretsmanager put-secret-value --secret-id mistersmith/aurora/master --secret-string "$DB_WITH_URL"
run_app
check_eq "with the key: coffer exec runs the app (exit 0)" "0" "$EXEC_RC"
check_eq "... DATABASE_URL is the secret's connectionString" \
  "$(json_field "$DB_WITH_URL" connectionString)" "$(json_field "$EXEC_OUT" DATABASE_URL)"
aws_call secretsmanager get-secret-value --secret-id mistersmith/app/jwt --query SecretString --output text
check_eq "... JWT_SECRET is mistersmith/app/jwt's secret" "$(json_field "$AWS_OUT" secret)" \
  "$(json_field "$EXEC_OUT" JWT_SECRET)"
check_eq "... OPENAI_API_KEY is the rotated key" "$(json_field "$NEW_API" apiKey)" \
  "$(json_field "$EXEC_OUT" OPENAI_API_KEY)"
check_eq "... API_BASE_URL comes from Parameter Store" "https://api.mistersmith.ai" \
  "$(json_field "$EXEC_OUT" API_BASE_URL)"
check_eq "... and the plain environment is the container's" "production mistersmith-api" \
  "$(json_field "$EXEC_OUT" NODE_ENV) $(json_field "$EXEC_OUT" SERVICE_NAME)"

# ------------------------------------------------------------------ shutdown
echo "== shutdown"
coffer_stop
check_eq "coffer exits 0 on SIGTERM" "0" "$COFFER_EXIT_CODE"

finish
