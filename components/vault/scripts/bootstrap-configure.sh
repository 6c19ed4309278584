# Bootstrap step 3 of 3 (vault image): with the root token, in memory only, enable the
# AWS auth method and the deployer's role and policy, then revoke the root token.
# The token file goes only once the server has answered that this token is invalid;
# a restart after the revoke finds the token invalid and the configuration marked done.
set -eu
W="${BOOTSTRAP_WORK_DIR:-/work}"
S="${BOOTSTRAP_SCRIPTS_DIR:-/scripts}"
if [ ! -e "$W/root-token" ]; then
  if [ -e "$W/already-initialised" ]; then
    echo "configure: Vault was initialised before; nothing to do"
    exit 0
  fi
  if [ -e "$W/revoked" ]; then
    echo "configure: the root token is revoked; nothing to do"
    exit 0
  fi
  echo "configure: no root token and no marker: unexpected state" >&2
  exit 1
fi
if [ ! -e "$W/stored" ]; then
  echo "configure: the recovery material is not stored yet; refusing to use the root token" >&2
  exit 1
fi
VAULT_TOKEN="$(cat "$W/root-token")"
export VAULT_TOKEN
retry() {
  n=1
  until "$@"; do
    [ "$n" -ge 30 ] && return 1
    n=$((n + 1))
    sleep 5
  done
}
# valid: Vault accepts the token; invalid: Vault answered 403 to its own lookup (revoked);
# anything else (Vault unreachable, a 5xx) proves nothing and is retried.
token_state() {
  rc=0
  out="$(vault token lookup -format=json 2>&1 > /dev/null)" || rc=$?
  if [ "$rc" -eq 0 ]; then
    echo valid
  elif printf '%s' "$out" | grep -q 'Code: 403' && printf '%s' "$out" | grep -q -e 'permission denied' -e 'bad token' -e 'invalid token'; then
    echo invalid
  else
    echo "configure: could not look the root token up: $(printf '%s' "$out" | tail -n 1)" >&2
    return 1
  fi
}
revoke() {
  state="$(token_state)" || return 1
  [ "$state" = invalid ] && return 0
  vault token revoke -self > /dev/null || true
  state="$(token_state)" || return 1
  [ "$state" = invalid ]
}
enable_aws_auth() {
  vault auth list -format=json > "$W/auth-methods.json" || return 1
  grep -q "\"$AWS_AUTH_PATH/\"" "$W/auth-methods.json" && return 0
  vault auth enable -path="$AWS_AUTH_PATH" aws
}
retry vault status > /dev/null
state="$(retry token_state)"
if [ "$state" = invalid ]; then
  if [ ! -e "$W/configured" ]; then
    echo "configure: the root token was revoked before this Job configured Vault: someone else used it." \
      "Treat Vault as compromised: wipe its Raft data and initialise again (docs/bootstrap.md)" >&2
    exit 1
  fi
else
  retry enable_aws_auth
  retry vault write "auth/$AWS_AUTH_PATH/config/client" \
    iam_server_id_header_value="$IAM_SERVER_ID_HEADER_VALUE" sts_endpoint="$STS_ENDPOINT" sts_region="$STS_REGION"
  retry vault policy write "$DEPLOYER_POLICY" "$S/deployer-policy.hcl"
  retry vault write "auth/$AWS_AUTH_PATH/role/$DEPLOYER_ROLE" auth_type=iam \
    bound_iam_principal_arn="$DEPLOYER_ROLE_ARNS" resolve_aws_unique_ids=true \
    token_policies="$DEPLOYER_POLICY" token_ttl="$DEPLOYER_TOKEN_TTL" token_max_ttl="$DEPLOYER_TOKEN_MAX_TTL"
  : > "$W/configured"
  if ! retry revoke; then
    echo "configure: could not prove the root token revoked; it stays in this pod's memory volume for the next attempt" >&2
    exit 1
  fi
fi
unset VAULT_TOKEN
: > "$W/revoked"
rm -f "$W/root-token" "$W/auth-methods.json"
echo "configure: AWS auth and the $DEPLOYER_ROLE role are ready; the root token is revoked"
