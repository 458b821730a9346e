#!/usr/bin/env bash
# Applies the MisterSmith access control ("Access Control" and "Encryption" in the MisterSmith
# secrets design) with the AWS CLI v2, against coffer or any IAM/Secrets Manager/KMS endpoint.
#
# Usage:
#   create-access.sh --endpoint-url http://127.0.0.1:PORT [--region us-east-1]
#   COFFER_ENDPOINT=http://127.0.0.1:PORT create-access.sh
#
# Credentials come from the usual AWS CLI sources, normally the account root's
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment. The endpoint is required, so
# the script never talks to real AWS by accident. Run it after create-key.sh and
# create-secrets.sh (and create-parameters.sh): it protects what they made.
#
# It creates or updates:
#   MisterSmithEcsTaskRole           the containers' role: GetSecretValue on mistersmith/*,
#                                    GetParameter(s) on /mistersmith/production/*
#   MisterSmithEcsTaskExecutionRole  the ECS agent's role, which injects the secrets and
#                                    parameters into the containers: GetSecretValue on
#                                    mistersmith/*, GetParameters on /mistersmith/production/*,
#                                    kms:Decrypt on the alias/mistersmith-secrets key
#   MisterSmithOperators             a group whose members (operators, CI) may assume both roles
#   the design's resource policy on every mistersmith/ secret (GetSecretValue for the two roles,
#   DeleteSecret denied to everyone, the account root included), and the key policy of
#   alias/mistersmith-secrets (the account root administers the key; of the roles, only the two
#   above may Decrypt/DescribeKey).
#
# Re-running it is safe: existing roles and the group are kept (same ARN and id), and every
# policy document is put again, so anything changed by hand is set back to the version below.
set -euo pipefail

AWS_CLI="${AWS_CLI:-/usr/bin/aws}"
ENDPOINT="${COFFER_ENDPOINT:-${AWS_ENDPOINT_URL:-}}"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"

TASK_ROLE=MisterSmithEcsTaskRole
EXECUTION_ROLE=MisterSmithEcsTaskExecutionRole
OPERATORS_GROUP=MisterSmithOperators
KMS_KEY_ID=alias/mistersmith-secrets

usage() {
  sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'
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

# IAM is a global service: AWS signs its requests for us-east-1 whatever the region.
iam() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region us-east-1 iam "$@"; }
sts() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" sts "$@"; }
sm() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" secretsmanager "$@"; }
kms() { "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" kms "$@"; }

ERR="$(mktemp)"
trap 'rm -f "$ERR"' EXIT

echo "Applying MisterSmith access control at $ENDPOINT ($REGION)"

# ------------------------------------------------------------- what must exist already
ACCOUNT_ID="$(sts get-caller-identity --query Account --output text)"
if ! out="$(kms describe-key --key-id "$KMS_KEY_ID" --query 'KeyMetadata.[Arn,KeyState]' --output text 2>"$ERR")"; then
  if grep -q '(NotFoundException)' "$ERR"; then
    echo "error: $KMS_KEY_ID does not exist; run create-key.sh and create-secrets.sh first" >&2
  else
    cat "$ERR" >&2
  fi
  exit 1
fi
IFS=$'\t' read -r KEY_ARN KEY_STATE <<<"$out"
if [[ "$KEY_STATE" != Enabled ]]; then
  echo "error: $KMS_KEY_ID names $KEY_ARN, which is $KEY_STATE; enable it first (see create-key.sh)" >&2
  exit 1
fi
# Every secret of the application (list-secrets' name filter matches the prefix).
mapfile -t SECRETS < <(sm list-secrets --filters Key=name,Values=mistersmith/ \
  --query 'SecretList[].Name' --output text | tr -s '\t' '\n' | sed '/^$/d' | LC_ALL=C sort)
if [[ ${#SECRETS[@]} -eq 0 ]]; then
  echo "error: there is no mistersmith/ secret to protect; run create-secrets.sh first" >&2
  exit 1
fi

ROOT_ARN="arn:aws:iam::$ACCOUNT_ID:root"
TASK_ROLE_ARN="arn:aws:iam::$ACCOUNT_ID:role/$TASK_ROLE"
EXECUTION_ROLE_ARN="arn:aws:iam::$ACCOUNT_ID:role/$EXECUTION_ROLE"
SECRETS_ARN="arn:aws:secretsmanager:$REGION:$ACCOUNT_ID:secret:mistersmith/*"
PARAMETERS_ARN="arn:aws:ssm:$REGION:$ACCOUNT_ID:parameter/mistersmith/production/*"

# ------------------------------------------------------------- policy documents
# Who may assume the two roles:
# - ecs-tasks.amazonaws.com: ECS itself, for the task definitions of this account only
#   (aws:SourceAccount guards against another account's tasks using the role: the "confused
#   deputy").
# - the account root, arn:aws:iam::<account>:root. This does NOT let the root user assume the
#   roles (AWS never lets the root user assume a role); it hands the decision to IAM: any user or
#   role of this account whose own policies allow sts:AssumeRole on the role may assume it. That
#   is how an operator on a laptop or a CI job runs the application with exactly the task's
#   permissions, without ECS. Nobody outside the account can. Here the MisterSmithOperators group
#   grants it; a CI role would get the same statement.
trust_policy() {
  cat <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "EcsTasksOfThisAccount",
      "Effect": "Allow",
      "Principal": {"Service": "ecs-tasks.amazonaws.com"},
      "Action": "sts:AssumeRole",
      "Condition": {"StringEquals": {"aws:SourceAccount": "$ACCOUNT_ID"}}
    },
    {
      "Sid": "OperatorsAndCiOfThisAccount",
      "Effect": "Allow",
      "Principal": {"AWS": "$ROOT_ARN"},
      "Action": "sts:AssumeRole"
    }
  ]
}
EOF
}

# The running containers: read the application's secrets and its production configuration.
# (No kms:Decrypt here: the key policy below names this role itself. Add ssm:GetParametersByPath
# on .../parameter/mistersmith/production if the application reads the whole tree at start-up.)
task_policy() {
  cat <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadApplicationSecrets",
      "Effect": "Allow",
      "Action": "secretsmanager:GetSecretValue",
      "Resource": "$SECRETS_ARN"
    },
    {
      "Sid": "ReadProductionConfiguration",
      "Effect": "Allow",
      "Action": ["ssm:GetParameters", "ssm:GetParameter"],
      "Resource": "$PARAMETERS_ARN"
    }
  ]
}
EOF
}

# The ECS agent: resolves the task definition's "secrets" before the containers start
# (Secret.fromSecretsManager → GetSecretValue, Secret.fromSsmParameter → GetParameters) and
# decrypts with the secrets' key. On AWS this role also gets the AWS-managed
# AmazonECSTaskExecutionRolePolicy (image pulls, logs), which coffer does not have.
execution_policy() {
  cat <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "InjectSecrets",
      "Effect": "Allow",
      "Action": "secretsmanager:GetSecretValue",
      "Resource": "$SECRETS_ARN"
    },
    {
      "Sid": "InjectParameters",
      "Effect": "Allow",
      "Action": "ssm:GetParameters",
      "Resource": "$PARAMETERS_ARN"
    },
    {
      "Sid": "DecryptWithTheSecretsKey",
      "Effect": "Allow",
      "Action": "kms:Decrypt",
      "Resource": "$KEY_ARN"
    }
  ]
}
EOF
}

operators_policy() {
  cat <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AssumeMisterSmithTaskRoles",
      "Effect": "Allow",
      "Action": "sts:AssumeRole",
      "Resource": ["$TASK_ROLE_ARN", "$EXECUTION_ROLE_ARN"]
    }
  ]
}
EOF
}

# The design's "Secret Resource Policies", with this account's id. The Deny binds everyone,
# the account root included: deleting a secret first takes removing this policy.
secret_policy() {
  cat <<EOF
{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {
        "AWS": [
          "$TASK_ROLE_ARN",
          "$EXECUTION_ROLE_ARN"
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
}

# "Key Policy: Restrict to specific roles". The first statement is KMS's default: the account
# administers the key (without it nobody could ever change this policy again) and IAM policies of
# the account may grant its use. The second names the only roles the key policy itself lets
# decrypt: the two task roles — reading a secret decrypts it under this key, as the caller.
key_policy() {
  cat <<EOF
{
  "Version": "2012-10-17",
  "Id": "mistersmith-secrets",
  "Statement": [
    {
      "Sid": "AccountAdministersTheKey",
      "Effect": "Allow",
      "Principal": {"AWS": "$ROOT_ARN"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "MisterSmithTaskRolesDecrypt",
      "Effect": "Allow",
      "Principal": {
        "AWS": [
          "$TASK_ROLE_ARN",
          "$EXECUTION_ROLE_ARN"
        ]
      },
      "Action": ["kms:Decrypt", "kms:DescribeKey"],
      "Resource": "*"
    }
  ]
}
EOF
}

# ------------------------------------------------------------- roles and the group
# ensure_role NAME DESCRIPTION POLICY_NAME POLICY_JSON
ensure_role() {
  local name="$1" description="$2" policy_name="$3" policy="$4" arn state
  if arn="$(iam get-role --role-name "$name" --query Role.Arn --output text 2>"$ERR")"; then
    iam update-assume-role-policy --role-name "$name" --policy-document "$(trust_policy)"
    state="exists, trust policy put again"
  elif grep -q '(NoSuchEntity)' "$ERR"; then
    arn="$(iam create-role --role-name "$name" --description "$description" \
      --assume-role-policy-document "$(trust_policy)" --tags Key=project,Value=mistersmith \
      --query Role.Arn --output text)"
    state="created"
  else
    cat "$ERR" >&2
    return 1
  fi
  iam put-role-policy --role-name "$name" --policy-name "$policy_name" --policy-document "$policy"
  printf '%-36s %s  %s  (inline policy %s)\n' "$name" "$state" "$arn" "$policy_name"
}

ensure_role "$TASK_ROLE" "MisterSmith ECS task role: what the running containers may read" \
  MisterSmithTaskAccess "$(task_policy)"
ensure_role "$EXECUTION_ROLE" "MisterSmith ECS task execution role: injects secrets and parameters" \
  MisterSmithSecretInjection "$(execution_policy)"

if arn="$(iam get-group --group-name "$OPERATORS_GROUP" --query Group.Arn --output text 2>"$ERR")"; then
  state="exists"
elif grep -q '(NoSuchEntity)' "$ERR"; then
  arn="$(iam create-group --group-name "$OPERATORS_GROUP" --query Group.Arn --output text)"
  state="created"
else
  cat "$ERR" >&2
  exit 1
fi
iam put-group-policy --group-name "$OPERATORS_GROUP" --policy-name AssumeMisterSmithTaskRoles \
  --policy-document "$(operators_policy)"
printf '%-36s %s  %s  (members may assume both roles)\n' "$OPERATORS_GROUP" "$state" "$arn"

# ------------------------------------------------------------- resource and key policies
# After the roles: a policy may only name principals that exist.
for name in "${SECRETS[@]}"; do
  sm put-resource-policy --secret-id "$name" --resource-policy "$(secret_policy)" \
    --block-public-policy --query ARN --output text >/dev/null
  printf '%-36s resource policy put  (GetSecretValue: the two roles; DeleteSecret denied to all)\n' "$name"
done

# A key's only policy is named "default".
kms put-key-policy --key-id "$KEY_ARN" --policy-name default --policy "$(key_policy)"
printf '%-36s key policy put  %s  (admin: account root; Decrypt/DescribeKey: the two roles)\n' \
  "$KMS_KEY_ID" "$KEY_ARN"
echo "Done."
