# Bootstrap step 2 of 3 (aws-cli image): store the recovery material in AWS Secrets
# Manager, the only place it is kept (KMS-encrypted, readable by the administrators only).
set -eu
if [ -e /work/recovery.json ]; then
  attempt=1
  until aws secretsmanager put-secret-value --secret-id "$RECOVERY_SECRET_ARN" \
      --secret-string file:///work/recovery.json --query VersionId --output text > /dev/null; do
    if [ "$attempt" -ge 60 ]; then
      echo "store: giving up after $attempt attempts; the material is still in this pod's memory volume: fix the cause and let the pod retry" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 10
  done
  : > /work/stored
  rm -f /work/recovery.json
  echo "store: recovery material written to Secrets Manager"
elif [ -e /work/stored ] || [ -e /work/already-initialised ]; then
  echo "store: nothing to store"
else
  echo "store: no recovery material and no marker: unexpected state" >&2
  exit 1
fi
