# Snapshot step 1 of 2 (vault image): log in with Kubernetes auth as the snapshot role
# and save a Raft snapshot to the pod's scratch volume.
set -eu
umask 077
VAULT_TOKEN="$(vault write -field=token "auth/$KUBERNETES_AUTH_PATH/login" role="$SNAPSHOT_ROLE" jwt=@/var/run/secrets/vault/token)"
export VAULT_TOKEN
name="vault-raft-$(date -u +%Y%m%dT%H%M%SZ).snap"
vault operator raft snapshot save "/snapshots/$name"
vault token revoke -self > /dev/null || true
unset VAULT_TOKEN
printf '%s\n' "$name" > /snapshots/latest
echo "snapshot: saved $name"
