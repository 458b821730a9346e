#!/usr/bin/env bash
# End-to-end test: KMS through Debian's AWS CLI v2 (/usr/bin/aws) against a real coffer server.
#
# Usage: tests/e2e/cli/kms_cli_test.sh
#   COFFER_BIN  server binary (default <repo>/build/coffer)
#   AWS_CLI     AWS CLI v2 binary (default /usr/bin/aws)
# Prints one line per check and 'N passed, M failed' at the end; exits non-zero on any failure.
#
# The CLI v2 takes blob arguments (--plaintext, --ciphertext-blob) as fileb://<path> and prints
# blob results (CiphertextBlob, Plaintext) base64-encoded; the checks decode them with base64 -d.
# (Debian's CLI 2.9 predates RotateKeyOnDemand and ListKeyRotations; the JS SDK test covers them.)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=coffer_e2e_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/coffer_e2e_lib.sh"

coffer_start
aws_isolate

RUN="cli-$(new_uuid | cut -c1-8)"
KMS=(kms)
KEY_ARN_PREFIX="arn:aws:kms:$TEST_REGION:$TEST_ACCOUNT_ID:key/"
ALIAS_ARN_PREFIX="arn:aws:kms:$TEST_REGION:$TEST_ACCOUNT_ID:"
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
W="$COFFER_TMP/work"
mkdir -p "$W"

lines() { tr -s '\t' '\n' <<<"$1" | sed '/^$/d'; }
# b64_to_file B64 FILE: decodes base64 CLI output into FILE.
b64_to_file() { printf '%s' "$1" | base64 -d >"$2"; }
# same_bytes DESC FILE1 FILE2
same_bytes() {
  if cmp -s "$2" "$3"; then
    pass "$1"
  else
    fail "$1" "$(od -An -tx1 "$2" | head -n 2)" "vs" "$(od -An -tx1 "$3" | head -n 2)"
  fi
}
# new_key [DESCRIPTION]: creates a key; prints its KeyId.
new_key() {
  aws_call "${KMS[@]}" create-key --description "${1:-cli e2e $RUN}" --query KeyMetadata.KeyId --output text
  [[ $AWS_RC -eq 0 ]] || fail "create-key (helper)" "$AWS_ERR"
  printf '%s' "$AWS_OUT"
}

# ------------------------------------------------------------------ create-key / describe-key
echo "== create-key / describe-key"
expect_ok "create-key with description and tags" "${KMS[@]}" create-key --description "cli e2e $RUN" \
  --tags TagKey=project,TagValue=coffer TagKey=run,TagValue="$RUN" \
  --query 'KeyMetadata.[KeyId,Arn,AWSAccountId,Enabled,KeyState,KeyUsage,KeySpec,KeyManager,Origin,Description]' \
  --output text
IFS=$'\t' read -r KEY_ID KEY_ARN ACCT ENABLED STATE USAGE SPEC MANAGER ORIGIN DESC <<<"$AWS_OUT"
check_match "KeyId is a UUID" "$UUID_RE" "$KEY_ID"
check_eq "Arn is arn:aws:kms:<region>:<account>:key/<id>" "$KEY_ARN_PREFIX$KEY_ID" "$KEY_ARN"
check_eq "key metadata" \
  "$TEST_ACCOUNT_ID True Enabled ENCRYPT_DECRYPT SYMMETRIC_DEFAULT CUSTOMER AWS_KMS cli e2e $RUN" \
  "$ACCT $ENABLED $STATE $USAGE $SPEC $MANAGER $ORIGIN $DESC"
aws_call "${KMS[@]}" describe-key --key-id "$KEY_ID" --query KeyMetadata.CreationDate --output text
check_match "CreationDate is a timestamp" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+' "$AWS_OUT"
expect_ok "describe-key by key ARN" "${KMS[@]}" describe-key --key-id "$KEY_ARN" \
  --query 'KeyMetadata.[KeyId,EncryptionAlgorithms[0]]' --output text
check_eq "describe-key by ARN finds the key" "$KEY_ID	SYMMETRIC_DEFAULT" "$AWS_OUT"
expect_aws_error "describe-key of an unknown key id" NotFoundException \
  "${KMS[@]}" describe-key --key-id "$(new_uuid)"
expect_aws_error "describe-key of an unknown alias" NotFoundException \
  "${KMS[@]}" describe-key --key-id "alias/$RUN-missing"
aws_call "${KMS[@]}" list-keys --query 'Keys[].KeyId' --output text
if lines "$AWS_OUT" | grep -qx "$KEY_ID"; then pass "list-keys lists the key"; else fail "list-keys lists the key" "$AWS_OUT"; fi
expect_ok "update-key-description" "${KMS[@]}" update-key-description --key-id "$KEY_ID" \
  --description "cli e2e $RUN (updated)"
aws_call "${KMS[@]}" describe-key --key-id "$KEY_ID" --query KeyMetadata.Description --output text
check_eq "the description changed" "cli e2e $RUN (updated)" "$AWS_OUT"

# ------------------------------------------------------------------ aliases
echo "== create-alias / list-aliases / update-alias / delete-alias"
ALIAS="alias/$RUN/app"
expect_ok "create-alias" "${KMS[@]}" create-alias --alias-name "$ALIAS" --target-key-id "$KEY_ID"
aws_call "${KMS[@]}" describe-key --key-id "$ALIAS" --query KeyMetadata.KeyId --output text
check_eq "describe-key by alias name" "$KEY_ID" "$AWS_OUT"
aws_call "${KMS[@]}" describe-key --key-id "$ALIAS_ARN_PREFIX$ALIAS" --query KeyMetadata.KeyId --output text
check_eq "describe-key by alias ARN" "$KEY_ID" "$AWS_OUT"
# shellcheck disable=SC2016 # JMESPath literal, not shell
expect_ok "list-aliases" "${KMS[@]}" list-aliases \
  --query "Aliases[?AliasName=='$ALIAS'].[AliasName,AliasArn,TargetKeyId]" --output text
check_eq "list-aliases shows name, ARN and target" "$ALIAS	$ALIAS_ARN_PREFIX$ALIAS	$KEY_ID" "$AWS_OUT"
expect_aws_error "create-alias with a taken name" AlreadyExistsException \
  "${KMS[@]}" create-alias --alias-name "$ALIAS" --target-key-id "$KEY_ID"
expect_aws_error "create-alias under alias/aws/" NotAuthorizedException \
  "${KMS[@]}" create-alias --alias-name "alias/aws/$RUN" --target-key-id "$KEY_ID"
expect_aws_error "create-alias without the alias/ prefix" ValidationException \
  "${KMS[@]}" create-alias --alias-name "$RUN-noprefix" --target-key-id "$KEY_ID"
expect_aws_error "create-alias for a missing key" NotFoundException \
  "${KMS[@]}" create-alias --alias-name "alias/$RUN/orphan" --target-key-id "$(new_uuid)"
KEY2_ID="$(new_key "cli e2e $RUN second")"
expect_ok "create-alias for the second key" "${KMS[@]}" create-alias --alias-name "alias/$RUN/moving" \
  --target-key-id "$KEY2_ID"
aws_call "${KMS[@]}" list-aliases --key-id "$KEY2_ID" --query 'Aliases[].AliasName' --output text
check_eq "list-aliases --key-id filters by target" "alias/$RUN/moving" "$AWS_OUT"
expect_ok "update-alias to the first key" "${KMS[@]}" update-alias --alias-name "alias/$RUN/moving" \
  --target-key-id "$KEY_ID"
aws_call "${KMS[@]}" list-aliases --key-id "$KEY_ID" --query 'sort(Aliases[].AliasName)' --output text
check_eq "both aliases now name the first key" "alias/$RUN/app	alias/$RUN/moving" "$AWS_OUT"
expect_ok "delete-alias" "${KMS[@]}" delete-alias --alias-name "alias/$RUN/moving"
expect_aws_error "a deleted alias is gone" NotFoundException \
  "${KMS[@]}" describe-key --key-id "alias/$RUN/moving"

# ------------------------------------------------------------------ encrypt / decrypt
echo "== encrypt / decrypt"
# Binary plaintext: every byte value, then some text.
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) + b"coffer kms\n")' >"$W/pt.bin"
expect_ok "encrypt by alias (no context)" "${KMS[@]}" encrypt --key-id "$ALIAS" \
  --plaintext "fileb://$W/pt.bin" --query '[KeyId,EncryptionAlgorithm]' --output text
check_eq "encrypt returns the key ARN and SYMMETRIC_DEFAULT" "$KEY_ARN	SYMMETRIC_DEFAULT" "$AWS_OUT"
aws_call "${KMS[@]}" encrypt --key-id "$ALIAS" --plaintext "fileb://$W/pt.bin" \
  --query CiphertextBlob --output text
check_match "CiphertextBlob is printed as base64" '^[A-Za-z0-9+/]{40,}={0,2}$' "$AWS_OUT"
b64_to_file "$AWS_OUT" "$W/ct.bin"
if grep -qF "coffer kms" "$W/ct.bin"; then
  fail "the ciphertext does not contain the plaintext"
else
  pass "the ciphertext does not contain the plaintext"
fi
expect_ok "decrypt (no key id, no context)" "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin" \
  --query '[KeyId,EncryptionAlgorithm]' --output text
check_eq "decrypt finds the key from the ciphertext" "$KEY_ARN	SYMMETRIC_DEFAULT" "$AWS_OUT"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin" --query Plaintext --output text
b64_to_file "$AWS_OUT" "$W/pt.out"
same_bytes "decrypt round-trips 267 binary bytes" "$W/pt.bin" "$W/pt.out"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin" --key-id "$ALIAS" --query Plaintext --output text
b64_to_file "$AWS_OUT" "$W/pt.out2"
same_bytes "decrypt --key-id <alias> of the right key" "$W/pt.bin" "$W/pt.out2"
expect_aws_error "decrypt --key-id <another key>" IncorrectKeyException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin" --key-id "$KEY2_ID"
expect_aws_error "decrypt with a context the ciphertext was not made with" InvalidCiphertextException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin" --encryption-context purpose=test

echo "== encrypt / decrypt with --encryption-context"
printf 'db-password-%s' "$RUN" >"$W/secret.txt"
aws_call "${KMS[@]}" encrypt --key-id "$KEY_ID" --plaintext "fileb://$W/secret.txt" \
  --encryption-context app=coffer,env=test --query CiphertextBlob --output text
if [[ $AWS_RC -eq 0 ]]; then pass "encrypt --encryption-context app=coffer,env=test"; else fail "encrypt --encryption-context" "$AWS_ERR"; fi
b64_to_file "$AWS_OUT" "$W/ctx.bin"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ctx.bin" \
  --encryption-context app=coffer,env=test --query Plaintext --output text
check_eq "decrypt with the same context" "db-password-$RUN" "$(printf '%s' "$AWS_OUT" | base64 -d)"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ctx.bin" \
  --encryption-context '{"env":"test","app":"coffer"}' --query Plaintext --output text
check_eq "decrypt with the context as JSON, in another order" "db-password-$RUN" \
  "$(printf '%s' "$AWS_OUT" | base64 -d)"
expect_aws_error "decrypt with a changed context value" InvalidCiphertextException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ctx.bin" --encryption-context app=coffer,env=prod
expect_aws_error "decrypt with a missing context pair" InvalidCiphertextException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ctx.bin" --encryption-context app=coffer
expect_aws_error "decrypt without the context" InvalidCiphertextException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ctx.bin"
cp "$W/ctx.bin" "$W/tampered.bin"
# Flip every bit of the last byte: writing a fixed byte would change nothing when the
# ciphertext already ends in it (one run in 256).
last_byte=$(tail -c 1 "$W/ctx.bin" | od -An -tu1 | tr -d ' ')
printf "\\$(printf '%03o' $((last_byte ^ 0xff)))" |
  dd of="$W/tampered.bin" bs=1 seek=$(($(stat -c %s "$W/ctx.bin") - 1)) conv=notrunc status=none
cmp -s "$W/ctx.bin" "$W/tampered.bin" && fail "the tampered copy differs from the ciphertext" "cmp found no difference"
expect_aws_error "decrypt of a tampered ciphertext" InvalidCiphertextException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/tampered.bin" --encryption-context app=coffer,env=test
head -c 4097 /dev/zero >"$W/big.bin"
expect_aws_error "encrypt of 4097 bytes" ValidationException \
  "${KMS[@]}" encrypt --key-id "$KEY_ID" --plaintext "fileb://$W/big.bin"

expect_ok "re-encrypt to the second key with a new context" "${KMS[@]}" re-encrypt \
  --ciphertext-blob "fileb://$W/ctx.bin" --source-encryption-context app=coffer,env=test \
  --destination-key-id "$KEY2_ID" --destination-encryption-context stage=moved \
  --query '[SourceKeyId,KeyId,CiphertextBlob]' --output text
IFS=$'\t' read -r SRC DST RE_B64 <<<"$AWS_OUT"
check_eq "re-encrypt reports source and destination key ARNs" "$KEY_ARN $KEY_ARN_PREFIX$KEY2_ID" "$SRC $DST"
b64_to_file "$RE_B64" "$W/re.bin"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/re.bin" --encryption-context stage=moved \
  --query '[KeyId,Plaintext]' --output text
IFS=$'\t' read -r RK RP <<<"$AWS_OUT"
check_eq "the re-encrypted ciphertext decrypts under the second key" \
  "$KEY_ARN_PREFIX$KEY2_ID db-password-$RUN" "$RK $(printf '%s' "$RP" | base64 -d)"

# ------------------------------------------------------------------ data keys / random
echo "== generate-data-key / generate-data-key-without-plaintext / generate-random"
expect_ok "generate-data-key --key-spec AES_256" "${KMS[@]}" generate-data-key --key-id "$ALIAS" \
  --key-spec AES_256 --encryption-context purpose=envelope --query '[Plaintext,CiphertextBlob,KeyId]' --output text
IFS=$'\t' read -r DK_PLAIN DK_CT DK_KEY <<<"$AWS_OUT"
b64_to_file "$DK_PLAIN" "$W/dk.plain"
b64_to_file "$DK_CT" "$W/dk.ct"
check_eq "the data key is 32 bytes" "32" "$(stat -c %s "$W/dk.plain")"
check_eq "generate-data-key returns the key ARN" "$KEY_ARN" "$DK_KEY"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/dk.ct" --encryption-context purpose=envelope \
  --query Plaintext --output text
b64_to_file "$AWS_OUT" "$W/dk.dec"
same_bytes "the encrypted data key decrypts to the same 32 bytes" "$W/dk.plain" "$W/dk.dec"
aws_call "${KMS[@]}" generate-data-key --key-id "$KEY_ID" --number-of-bytes 64 --query Plaintext --output text
check_eq "generate-data-key --number-of-bytes 64" "64" "$(printf '%s' "$AWS_OUT" | base64 -d | wc -c | tr -d ' ')"
aws_call "${KMS[@]}" generate-data-key --key-id "$KEY_ID" --key-spec AES_128 --query Plaintext --output text
check_eq "generate-data-key --key-spec AES_128" "16" "$(printf '%s' "$AWS_OUT" | base64 -d | wc -c | tr -d ' ')"
expect_aws_error "generate-data-key without key spec or length" ValidationException \
  "${KMS[@]}" generate-data-key --key-id "$KEY_ID"
expect_ok "generate-data-key-without-plaintext" "${KMS[@]}" generate-data-key-without-plaintext \
  --key-id "$KEY_ID" --key-spec AES_256 --query '[Plaintext,CiphertextBlob]' --output text
IFS=$'\t' read -r NP_PLAIN NP_CT <<<"$AWS_OUT"
check_eq "no Plaintext in generate-data-key-without-plaintext" "None" "$NP_PLAIN"
b64_to_file "$NP_CT" "$W/np.ct"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/np.ct" --query Plaintext --output text
check_eq "its CiphertextBlob decrypts to 32 bytes" "32" "$(printf '%s' "$AWS_OUT" | base64 -d | wc -c | tr -d ' ')"

expect_ok "generate-random --number-of-bytes 32" "${KMS[@]}" generate-random --number-of-bytes 32 \
  --query Plaintext --output text
R1="$AWS_OUT"
check_eq "generate-random returns 32 bytes, base64" "32" "$(printf '%s' "$R1" | base64 -d | wc -c | tr -d ' ')"
aws_call "${KMS[@]}" generate-random --number-of-bytes 32 --query Plaintext --output text
check_ne "two generate-random calls differ" "$R1" "$AWS_OUT"
aws_call "${KMS[@]}" generate-random --number-of-bytes 1024 --query Plaintext --output text
check_eq "generate-random --number-of-bytes 1024" "1024" "$(printf '%s' "$AWS_OUT" | base64 -d | wc -c | tr -d ' ')"
expect_aws_error "generate-random --number-of-bytes 1025" ValidationException \
  "${KMS[@]}" generate-random --number-of-bytes 1025

# ------------------------------------------------------------------ disable / enable
echo "== disable-key / enable-key"
expect_ok "disable-key" "${KMS[@]}" disable-key --key-id "$KEY_ID"
aws_call "${KMS[@]}" describe-key --key-id "$KEY_ID" --query 'KeyMetadata.[KeyState,Enabled]' --output text
check_eq "the key is Disabled" "Disabled	False" "$AWS_OUT"
expect_aws_error "encrypt under a disabled key" DisabledException \
  "${KMS[@]}" encrypt --key-id "$ALIAS" --plaintext "fileb://$W/secret.txt"
expect_aws_error "decrypt under a disabled key" DisabledException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin"
expect_aws_error "generate-data-key under a disabled key" DisabledException \
  "${KMS[@]}" generate-data-key --key-id "$KEY_ID" --key-spec AES_256
expect_ok "enable-key" "${KMS[@]}" enable-key --key-id "$KEY_ARN"
aws_call "${KMS[@]}" describe-key --key-id "$KEY_ID" --query 'KeyMetadata.[KeyState,Enabled]' --output text
check_eq "the key is Enabled again" "Enabled	True" "$AWS_OUT"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin" --query Plaintext --output text
b64_to_file "$AWS_OUT" "$W/pt.out3"
same_bytes "old ciphertext decrypts after enable-key" "$W/pt.bin" "$W/pt.out3"
expect_aws_error "disable-key of a missing key" NotFoundException \
  "${KMS[@]}" disable-key --key-id "$(new_uuid)"

# ------------------------------------------------------------------ deletion
echo "== schedule-key-deletion / cancel-key-deletion"
DOOMED="$(new_key "cli e2e $RUN doomed")"
aws_call "${KMS[@]}" encrypt --key-id "$DOOMED" --plaintext "fileb://$W/secret.txt" --query CiphertextBlob --output text
b64_to_file "$AWS_OUT" "$W/doomed.ct"
expect_aws_error "schedule-key-deletion --pending-window-in-days 6" ValidationException \
  "${KMS[@]}" schedule-key-deletion --key-id "$DOOMED" --pending-window-in-days 6
expect_ok "schedule-key-deletion --pending-window-in-days 7" "${KMS[@]}" schedule-key-deletion \
  --key-id "$DOOMED" --pending-window-in-days 7 --query '[KeyId,KeyState,PendingWindowInDays,DeletionDate]' --output text
IFS=$'\t' read -r SK_ID SK_STATE SK_DAYS SK_DATE <<<"$AWS_OUT"
check_eq "schedule-key-deletion returns the ARN, PendingDeletion and 7 days" \
  "$KEY_ARN_PREFIX$DOOMED PendingDeletion 7" "$SK_ID $SK_STATE $SK_DAYS"
# 7 days from now, give or take 10 minutes.
sk_offset=$(($(date -u -d "$SK_DATE" +%s 2>/dev/null || echo 0) - $(date -u +%s) - 7 * 86400))
if ((sk_offset > -600 && sk_offset < 600)); then
  pass "DeletionDate is 7 days from now"
else
  fail "DeletionDate is 7 days from now" "DeletionDate: $SK_DATE (off by $sk_offset s)"
fi
aws_call "${KMS[@]}" describe-key --key-id "$DOOMED" \
  --query 'KeyMetadata.[KeyState,Enabled,PendingDeletionWindowInDays]' --output text
check_eq "describe-key shows PendingDeletion" "PendingDeletion	False	7" "$AWS_OUT"
aws_call "${KMS[@]}" describe-key --key-id "$DOOMED" --query KeyMetadata.DeletionDate --output text
check_eq "describe-key shows the DeletionDate" "$SK_DATE" "$AWS_OUT"
expect_aws_error "encrypt under a key pending deletion" KMSInvalidStateException \
  "${KMS[@]}" encrypt --key-id "$DOOMED" --plaintext "fileb://$W/secret.txt"
expect_aws_error "decrypt under a key pending deletion" KMSInvalidStateException \
  "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/doomed.ct"
expect_aws_error "enable-key on a key pending deletion" KMSInvalidStateException \
  "${KMS[@]}" enable-key --key-id "$DOOMED"
expect_ok "cancel-key-deletion" "${KMS[@]}" cancel-key-deletion --key-id "$DOOMED" --query KeyId --output text
check_eq "cancel-key-deletion returns the key ARN" "$KEY_ARN_PREFIX$DOOMED" "$AWS_OUT"
aws_call "${KMS[@]}" describe-key --key-id "$DOOMED" \
  --query 'KeyMetadata.[KeyState,Enabled,DeletionDate]' --output text
check_eq "a cancelled deletion leaves the key Disabled, without DeletionDate" "Disabled	False	None" "$AWS_OUT"
expect_aws_error "cancel-key-deletion again" KMSInvalidStateException \
  "${KMS[@]}" cancel-key-deletion --key-id "$DOOMED"
expect_ok "enable-key after cancelling" "${KMS[@]}" enable-key --key-id "$DOOMED"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/doomed.ct" --query Plaintext --output text
check_eq "the rescued key decrypts its old ciphertext" "db-password-$RUN" "$(printf '%s' "$AWS_OUT" | base64 -d)"
aws_call "${KMS[@]}" schedule-key-deletion --key-id "$DOOMED" --query PendingWindowInDays --output text
check_eq "schedule-key-deletion defaults to 30 days" "30" "$AWS_OUT"

# ------------------------------------------------------------------ rotation
echo "== enable-key-rotation / get-key-rotation-status / disable-key-rotation"
aws_call "${KMS[@]}" get-key-rotation-status --key-id "$KEY_ID" --query KeyRotationEnabled --output text
check_eq "rotation is off for a new key" "False" "$AWS_OUT"
expect_ok "enable-key-rotation" "${KMS[@]}" enable-key-rotation --key-id "$KEY_ID"
aws_call "${KMS[@]}" get-key-rotation-status --key-id "$KEY_ARN" --query KeyRotationEnabled --output text
check_eq "get-key-rotation-status after enable-key-rotation" "True" "$AWS_OUT"
aws_call "${KMS[@]}" decrypt --ciphertext-blob "fileb://$W/ct.bin" --query Plaintext --output text
b64_to_file "$AWS_OUT" "$W/pt.out4"
same_bytes "enabling rotation keeps old ciphertexts readable" "$W/pt.bin" "$W/pt.out4"
expect_ok "disable-key-rotation" "${KMS[@]}" disable-key-rotation --key-id "$KEY_ID"
aws_call "${KMS[@]}" get-key-rotation-status --key-id "$KEY_ID" --query KeyRotationEnabled --output text
check_eq "get-key-rotation-status after disable-key-rotation" "False" "$AWS_OUT"
expect_ok "enable-key-rotation again" "${KMS[@]}" enable-key-rotation --key-id "$KEY_ID"
expect_aws_error "get-key-rotation-status of a missing key" NotFoundException \
  "${KMS[@]}" get-key-rotation-status --key-id "$(new_uuid)"
aws_call "${KMS[@]}" disable-key --key-id "$KEY2_ID"
expect_aws_error "enable-key-rotation on a disabled key" DisabledException \
  "${KMS[@]}" enable-key-rotation --key-id "$KEY2_ID"
aws_call "${KMS[@]}" enable-key --key-id "$KEY2_ID"

# ------------------------------------------------------------------ policies
echo "== get-key-policy / put-key-policy / list-key-policies"
expect_ok "get-key-policy --policy-name default" "${KMS[@]}" get-key-policy --key-id "$KEY_ID" \
  --policy-name default --query Policy --output text
POLICY="$AWS_OUT"
if python3 - "$POLICY" "$TEST_ACCOUNT_ID" <<'PY'
import json, sys
p = json.loads(sys.argv[1])
root = f"arn:aws:iam::{sys.argv[2]}:root"
ok = any(s.get("Effect") == "Allow" and (s.get("Principal") or {}).get("AWS") == root
         and s.get("Action") == "kms:*" for s in p["Statement"])
sys.exit(0 if ok else 1)
PY
then
  pass "the default policy allows kms:* to the account root"
else
  fail "the default policy allows kms:* to the account root" "$POLICY"
fi
aws_call "${KMS[@]}" list-key-policies --key-id "$KEY_ID" --query PolicyNames --output text
check_eq "list-key-policies" "default" "$AWS_OUT"
NEW_POLICY="{\"Version\":\"2012-10-17\",\"Id\":\"$RUN\",\"Statement\":[{\"Sid\":\"Root\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::$TEST_ACCOUNT_ID:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"
printf '%s' "$NEW_POLICY" >"$W/policy.json"
expect_ok "put-key-policy" "${KMS[@]}" put-key-policy --key-id "$KEY_ID" --policy-name default \
  --policy "file://$W/policy.json"
aws_call "${KMS[@]}" get-key-policy --key-id "$KEY_ID" --policy-name default --query Policy --output text
check_eq "get-key-policy returns the new policy verbatim" "$NEW_POLICY" "$AWS_OUT"
expect_aws_error "put-key-policy with a malformed document" MalformedPolicyDocumentException \
  "${KMS[@]}" put-key-policy --key-id "$KEY_ID" --policy-name default --policy '{"not":"a policy"'
expect_aws_error "get-key-policy of a missing key" NotFoundException \
  "${KMS[@]}" get-key-policy --key-id "$(new_uuid)" --policy-name default

# ------------------------------------------------------------------ tags
echo "== tag-resource / list-resource-tags / untag-resource"
aws_call "${KMS[@]}" list-resource-tags --key-id "$KEY_ID" --query 'sort_by(Tags,&TagKey)[].[TagKey,TagValue]' --output text
check_eq "list-resource-tags shows the create-key tags" "$(printf 'project\tcoffer\nrun\t%s' "$RUN")" "$AWS_OUT"
expect_ok "tag-resource" "${KMS[@]}" tag-resource --key-id "$KEY_ID" \
  --tags TagKey=project,TagValue=mistersmith TagKey=owner,TagValue=ops
aws_call "${KMS[@]}" list-resource-tags --key-id "$KEY_ID" --query 'sort_by(Tags,&TagKey)[].[TagKey,TagValue]' --output text
check_eq "tag-resource adds and overwrites by key" \
  "$(printf 'owner\tops\nproject\tmistersmith\nrun\t%s' "$RUN")" "$AWS_OUT"
expect_ok "untag-resource" "${KMS[@]}" untag-resource --key-id "$KEY_ID" --tag-keys run owner
aws_call "${KMS[@]}" list-resource-tags --key-id "$KEY_ID" --query 'Tags[].[TagKey,TagValue]' --output text
check_eq "only project remains" "$(printf 'project\tmistersmith')" "$AWS_OUT"
expect_aws_error "tag-resource with an aws: key" TagException \
  "${KMS[@]}" tag-resource --key-id "$KEY_ID" --tags TagKey=aws:x,TagValue=y
expect_aws_error "list-resource-tags of a missing key" NotFoundException \
  "${KMS[@]}" list-resource-tags --key-id "$(new_uuid)"

# ------------------------------------------------------------------ bad credentials
echo "== signature checks"
AWS_SECRET_ACCESS_KEY="${TEST_SECRET_ACCESS_KEY%?}X" expect_aws_error \
  "wrong secret key -> InvalidSignatureException" InvalidSignatureException \
  "${KMS[@]}" describe-key --key-id "$KEY_ID"
AWS_ACCESS_KEY_ID=AKIAI44QH8DHBEXAMPLE expect_aws_error \
  "unknown access key -> UnrecognizedClientException" UnrecognizedClientException \
  "${KMS[@]}" generate-random --number-of-bytes 8

# ------------------------------------------------------------------ shutdown
echo "== shutdown"
coffer_stop
check_eq "coffer exits 0 on SIGTERM" "0" "$COFFER_EXIT_CODE"

finish
