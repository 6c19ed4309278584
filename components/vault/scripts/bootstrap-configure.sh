# Bootstrap step 3 of 3 (vault image): with the root token, in memory only, enable the
# AWS auth method and the deployer's role and policy, then revoke the root token.
set -eu
if [ ! -e /work/root-token ]; then
  if [ -e /work/already-initialised ]; then
    echo "configure: Vault was initialised before; nothing to do"
    exit 0
  fi
  echo "configure: no root token and no marker: unexpected state" >&2
  exit 1
fi
if [ ! -e /work/stored ]; then
  echo "configure: the recovery material is not stored yet; refusing to use the root token" >&2
  exit 1
fi
VAULT_TOKEN="$(cat /work/root-token)"
export VAULT_TOKEN
retry() {
  n=1
  until "$@"; do
    [ "$n" -ge 30 ] && return 1
    n=$((n + 1))
    sleep 5
  done
}
enable_aws_auth() {
  vault auth list -format=json > /work/auth-methods.json || return 1
  grep -q "\"$AWS_AUTH_PATH/\"" /work/auth-methods.json && return 0
  vault auth enable -path="$AWS_AUTH_PATH" aws
}
retry vault status > /dev/null
retry enable_aws_auth
retry vault write "auth/$AWS_AUTH_PATH/config/client" \
  iam_server_id_header_value="$IAM_SERVER_ID_HEADER_VALUE" sts_endpoint="$STS_ENDPOINT" sts_region="$STS_REGION"
retry vault policy write "$DEPLOYER_POLICY" /scripts/deployer-policy.hcl
retry vault write "auth/$AWS_AUTH_PATH/role/$DEPLOYER_ROLE" auth_type=iam \
  bound_iam_principal_arn="$DEPLOYER_ROLE_ARNS" resolve_aws_unique_ids=true \
  token_policies="$DEPLOYER_POLICY" token_ttl="$DEPLOYER_TOKEN_TTL" token_max_ttl="$DEPLOYER_TOKEN_MAX_TTL"
if ! vault token revoke -self; then
  if vault token lookup > /dev/null 2>&1; then
    echo "configure: could not revoke the root token" >&2
    exit 1
  fi
fi
unset VAULT_TOKEN
rm -f /work/root-token /work/auth-methods.json
echo "configure: AWS auth and the $DEPLOYER_ROLE role are ready; the root token is revoked"
