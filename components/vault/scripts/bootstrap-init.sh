# Bootstrap step 1 of 3 (vault image): initialise Vault once.
# Writes the recovery material and the root token only to /work, a memory-backed
# emptyDir of this pod; nothing is printed. Does nothing when Vault is initialised.
set -eu
umask 077
if [ -e /work/recovery.json ] || [ -e /work/root-token ]; then
  echo "init: resuming an earlier attempt of this pod"
  exit 0
fi
while :; do
  rc=0
  vault status -format=json > /work/status.json 2> /dev/null || rc=$?
  # 0: unsealed, 2: sealed (an uninitialised Vault is sealed); 1: not reachable yet.
  [ "$rc" -ne 1 ] && break
  echo "init: waiting for $VAULT_ADDR"
  sleep 5
done
if grep -q '"initialized": true' /work/status.json; then
  echo "init: Vault is already initialised; nothing to do"
  : > /work/already-initialised
  exit 0
fi
vault operator init -recovery-shares="$RECOVERY_SHARES" -recovery-threshold="$RECOVERY_THRESHOLD" -format=json > /work/init.json
awk -v token_file=/work/root-token -f /scripts/split-init-output.awk /work/init.json > /work/recovery.json.tmp
rm -f /work/init.json
if ! grep -q '"recovery_keys_b64"' /work/recovery.json.tmp || grep -q '"root_token"' /work/recovery.json.tmp || [ ! -s /work/root-token ]; then
  echo "init: unexpected output of vault operator init; the material stays in this pod's memory volume" >&2
  exit 1
fi
mv /work/recovery.json.tmp /work/recovery.json
echo "init: Vault initialised with $RECOVERY_SHARES recovery key shares (threshold $RECOVERY_THRESHOLD)"
