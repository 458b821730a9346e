#!/usr/bin/env bash
# Creates the MisterSmith Parameter Store hierarchy ("Parameter Store Configuration" in the
# MisterSmith secrets design) for production and staging with the AWS CLI v2, against coffer or
# any SSM endpoint.
#
# Usage:
#   create-parameters.sh --endpoint-url http://127.0.0.1:PORT [--region us-east-1]
#                        [--environment production|staging] [--overwrite]
#   COFFER_ENDPOINT=http://127.0.0.1:PORT create-parameters.sh
#
# Credentials come from the usual AWS CLI sources, normally AWS_ACCESS_KEY_ID and
# AWS_SECRET_ACCESS_KEY in the environment. The endpoint is required, so the script never
# talks to real AWS by accident.
#
# Every parameter is a Standard-tier String (allowed_origins: a StringList), tagged
# project=mistersmith, environment=<env>, category=<config|features|services>. Without
# --environment both environments are created. A parameter that already exists is left
# unchanged; with --overwrite one whose value differs gets a new version with the value below.
set -euo pipefail

AWS_CLI="${AWS_CLI:-/usr/bin/aws}"
ENDPOINT="${COFFER_ENDPOINT:-${AWS_ENDPOINT_URL_SSM:-${AWS_ENDPOINT_URL:-}}}"
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
ENVIRONMENTS=(production staging)
OVERWRITE=false

usage() {
  sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --endpoint-url) ENDPOINT="${2:?--endpoint-url needs a value}"; shift 2 ;;
    --endpoint-url=*) ENDPOINT="${1#*=}"; shift ;;
    --region) REGION="${2:?--region needs a value}"; shift 2 ;;
    --region=*) REGION="${1#*=}"; shift ;;
    --environment) ENVIRONMENTS=("${2:?--environment needs a value}"); shift 2 ;;
    --environment=*) ENVIRONMENTS=("${1#*=}"); shift ;;
    --overwrite) OVERWRITE=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done

case "${ENVIRONMENTS[0]}" in
  production | staging) ;;
  *) echo "error: --environment must be production or staging" >&2; exit 2 ;;
esac
if [[ -z "$ENDPOINT" ]]; then
  echo "error: no endpoint; pass --endpoint-url http://127.0.0.1:PORT or set COFFER_ENDPOINT" >&2
  exit 2
fi
if [[ ! -x "$AWS_CLI" ]]; then
  echo "error: AWS CLI not found at $AWS_CLI (install Debian's awscli, or set AWS_CLI)" >&2
  exit 2
fi

ssm() {
  "$AWS_CLI" --endpoint-url "$ENDPOINT" --region "$REGION" ssm "$@"
}

# JSON string literal for a value without control characters.
json_str() {
  local s="$1"
  s="${s//\\/\\\\}"
  s="${s//\"/\\\"}"
  printf '"%s"' "$s"
}

# ------------------------------------------------------------- the values
# value ENV KEY: the value of /mistersmith/ENV/KEY. The design gives two of them
# (production api_base_url and max_agents_per_swarm); the rest follow its naming, with the
# same "xxxxx" placeholders as the design's AWS endpoints.
value() {
  local env="$1" key="$2"
  if [[ "$env" == production ]]; then
    case "$key" in
      config/api_base_url) echo "https://api.mistersmith.ai" ;;
      config/frontend_url) echo "https://app.mistersmith.ai" ;;
      config/allowed_origins) echo "https://app.mistersmith.ai,https://mistersmith.ai" ;;
      config/log_level) echo "info" ;;
      features/enable_new_ui) echo "false" ;;
      features/max_agents_per_swarm) echo "10" ;;
      features/rate_limit_requests) echo "1000" ;;
      services/elasticsearch_endpoint) echo "https://search-mistersmith-production-xxxxx.us-east-1.es.amazonaws.com" ;;
      services/redis_endpoint) echo "rediss://mistersmith-production.xxxxx.use1.cache.amazonaws.com:6379" ;;
      services/s3_bucket_name) echo "mistersmith-production-assets" ;;
      *) return 1 ;;
    esac
  else
    case "$key" in
      config/api_base_url) echo "https://api.staging.mistersmith.ai" ;;
      config/frontend_url) echo "https://app.staging.mistersmith.ai" ;;
      config/allowed_origins) echo "https://app.staging.mistersmith.ai,http://localhost:3000" ;;
      config/log_level) echo "debug" ;;
      features/enable_new_ui) echo "true" ;;
      features/max_agents_per_swarm) echo "5" ;;
      features/rate_limit_requests) echo "300" ;;
      services/elasticsearch_endpoint) echo "https://search-mistersmith-staging-xxxxx.us-east-1.es.amazonaws.com" ;;
      services/redis_endpoint) echo "rediss://mistersmith-staging.xxxxx.use1.cache.amazonaws.com:6379" ;;
      services/s3_bucket_name) echo "mistersmith-staging-assets" ;;
      *) return 1 ;;
    esac
  fi
}

KEYS=(
  config/api_base_url config/frontend_url config/allowed_origins config/log_level
  features/enable_new_ui features/max_agents_per_swarm features/rate_limit_requests
  services/elasticsearch_endpoint services/redis_endpoint services/s3_bucket_name
)

description() {
  case "$1" in
    config/api_base_url) echo "Public base URL of the MisterSmith API" ;;
    config/frontend_url) echo "Public URL of the MisterSmith web frontend" ;;
    config/allowed_origins) echo "CORS origins allowed to call the API" ;;
    config/log_level) echo "Application log level (error, warn, info, debug)" ;;
    features/enable_new_ui) echo "Feature flag: serve the new UI" ;;
    features/max_agents_per_swarm) echo "Upper bound on agents in one swarm" ;;
    features/rate_limit_requests) echo "API requests allowed per client per minute" ;;
    services/elasticsearch_endpoint) echo "OpenSearch/Elasticsearch domain endpoint" ;;
    services/redis_endpoint) echo "ElastiCache Redis endpoint (TLS)" ;;
    services/s3_bucket_name) echo "S3 bucket for uploaded assets" ;;
  esac
}

type_of() {
  [[ "$1" == config/allowed_origins ]] && echo StringList || echo String
}

# ------------------------------------------------------------- create one parameter
# put_parameter NAME TYPE VALUE DESCRIPTION ENV CATEGORY
# --cli-input-json keeps the CLI from treating values such as https://... as a URL to fetch
# (cli_follow_urlparam) or file:// as a file.
put_parameter() {
  local name="$1" type="$2" val="$3" desc="$4" env="$5" category="$6"
  local out err current_type current_value
  err="$(mktemp)"
  if out="$(ssm get-parameter --name "$name" --query 'Parameter.[Type,Version,Value]' --output text 2>"$err")"; then
    rm -f "$err"
    local version
    IFS=$'\t' read -r current_type version current_value <<<"$out"
    if [[ "$current_type" == "$type" && "$current_value" == "$val" ]]; then
      printf '%-56s exists, unchanged  (version %s)\n' "$name" "$version"
    elif [[ "$OVERWRITE" != true ]]; then
      printf '%-56s exists with another value, left unchanged (use --overwrite)\n' "$name"
    else
      if [[ "$current_type" != "$type" ]]; then
        echo "error: $name is a $current_type, expected $type; delete it first" >&2
        return 1
      fi
      version="$(ssm put-parameter --overwrite --cli-input-json "{
        \"Name\": $(json_str "$name"), \"Value\": $(json_str "$val"),
        \"Description\": $(json_str "$desc")
      }" --query Version --output text)"
      printf '%-56s updated  (version %s)\n' "$name" "$version"
    fi
    return 0
  fi
  if ! grep -q '(ParameterNotFound)' "$err"; then
    cat "$err" >&2
    rm -f "$err"
    return 1
  fi
  rm -f "$err"
  out="$(ssm put-parameter --cli-input-json "{
    \"Name\": $(json_str "$name"), \"Value\": $(json_str "$val"), \"Type\": \"$type\",
    \"Description\": $(json_str "$desc"), \"Tier\": \"Standard\", \"DataType\": \"text\",
    \"Tags\": [
      {\"Key\": \"project\", \"Value\": \"mistersmith\"},
      {\"Key\": \"environment\", \"Value\": $(json_str "$env")},
      {\"Key\": \"category\", \"Value\": $(json_str "$category")}
    ]
  }" --query '[Version,Tier]' --output text)"
  local version tier
  IFS=$'\t' read -r version tier <<<"$out"
  printf '%-56s created  (version %s, %s %s)\n' "$name" "$version" "$tier" "$type"
}

echo "Creating MisterSmith parameters at $ENDPOINT ($REGION)"
for env in "${ENVIRONMENTS[@]}"; do
  for key in "${KEYS[@]}"; do
    put_parameter "/mistersmith/$env/$key" "$(type_of "$key")" "$(value "$env" "$key")" \
      "$(description "$key")" "$env" "${key%%/*}"
  done
done
echo "Done."
