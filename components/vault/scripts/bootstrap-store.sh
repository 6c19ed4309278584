# Bootstrap step 2 of 3 (aws-cli image): store the recovery material in AWS Secrets
# Manager, the only place it is kept (KMS-encrypted, readable by the administrators only).
# On a Vault initialised before, check that its material is there: a Vault initialised
# without it (by someone else, or by this pod with its output lost) is an incident.
set -eu
W="${BOOTSTRAP_WORK_DIR:-/work}"
# Runs the command until it succeeds, at most $1 times, 10 seconds apart.
attempts() {
  max=$1
  shift
  n=1
  until "$@"; do
    [ "$n" -ge "$max" ] && return 1
    n=$((n + 1))
    sleep 10
  done
}
incident() {
  message="Vault bootstrap incident on $VAULT_CLUSTER: $1. Vault must be treated as compromised: wipe its Raft data and initialise again (docs/bootstrap.md, \"Vault initialised by someone else\")."
  echo "store: $message" >&2
  [ -e "$W/incident-published" ] && exit 1
  if ! attempts 6 aws sns publish --topic-arn "$ALARM_TOPIC_ARN" --subject "Vault bootstrap incident: $VAULT_CLUSTER" \
      --message "$message" --query MessageId --output text > /dev/null; then
    echo "store: could not publish to the alarm topic $ALARM_TOPIC_ARN either; the next attempt retries" >&2
    exit 1
  fi
  : > "$W/incident-published"
  exit 1
}
if [ -e "$W/stored" ]; then
  echo "store: the recovery material is stored"
elif [ -e "$W/recovery.json" ]; then
  if ! attempts 60 aws secretsmanager put-secret-value --secret-id "$RECOVERY_SECRET_ARN" \
      --secret-string "file://$W/recovery.json" --query VersionId --output text > /dev/null; then
    echo "store: giving up after 60 attempts; the material is still in this pod's memory volume: fix the cause and let the pod retry" >&2
    exit 1
  fi
  : > "$W/stored"
  rm -f "$W/recovery.json"
  echo "store: recovery material written to Secrets Manager"
elif [ -e "$W/already-initialised" ]; then
  if [ -e "$W/init-output-lost" ]; then
    incident "vault operator init ran in this Job's pod but its output (recovery keys, root token) never arrived: lost, or another client initialised Vault first"
  fi
  stages="$(aws secretsmanager describe-secret --secret-id "$RECOVERY_SECRET_ARN" --query VersionIdsToStages --output json)"
  case "$stages" in
    *'"AWSCURRENT"'*) echo "store: Vault was initialised before and its recovery material is stored; nothing to store" ;;
    *) incident "Vault is initialised but $RECOVERY_SECRET_ARN holds no recovery material: someone else initialised it" ;;
  esac
else
  echo "store: no recovery material and no marker: unexpected state" >&2
  exit 1
fi
