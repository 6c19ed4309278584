# Bootstrap step 1 of 3 (vault image): initialise Vault once.
# Writes the recovery material and the root token only to the work directory, a
# memory-backed emptyDir of this pod; nothing is printed. Every step is safe to rerun:
# the raw output of `vault operator init` is kept until its parts are in place, so a
# restarted container finishes the split instead of taking Vault for initialised before.
set -eu
umask 077
W="${BOOTSTRAP_WORK_DIR:-/work}"
S="${BOOTSTRAP_SCRIPTS_DIR:-/scripts}"
if [ -e "$W/recovery.json" ] || [ -e "$W/stored" ]; then
  echo "init: resuming an earlier attempt of this pod"
  exit 0
fi
if [ ! -s "$W/init.json" ]; then
  while :; do
    rc=0
    vault status -format=json > "$W/status.json" 2> /dev/null || rc=$?
    # 0: unsealed, 2: sealed (an uninitialised Vault is sealed); 1: not reachable yet.
    [ "$rc" -ne 1 ] && break
    echo "init: waiting for $VAULT_ADDR"
    sleep 5
  done
  if grep -q '"initialized": true' "$W/status.json"; then
    if [ -e "$W/init-started" ]; then
      # This pod ran `vault operator init` and no output arrived: lost, or another client initialised Vault first.
      echo "init: vault operator init ran in this pod and its output never arrived; the store step reports the incident" >&2
      : > "$W/init-output-lost"
    else
      echo "init: Vault is already initialised; the store step checks that its recovery material is stored"
    fi
    : > "$W/already-initialised"
    exit 0
  fi
  # Marked before the call: from here on, an initialised Vault without output is this pod's loss.
  : > "$W/init-started"
  vault operator init -recovery-shares="$RECOVERY_SHARES" -recovery-threshold="$RECOVERY_THRESHOLD" -format=json > "$W/init.json"
fi
# Split the kept output (again, after a restart): recovery material without the root token, and the token.
rm -f "$W/root-token"
awk -v token_file="$W/root-token" -f "$S/split-init-output.awk" "$W/init.json" > "$W/recovery.json.tmp"
if grep -q '"root_token"' "$W/recovery.json.tmp" || [ ! -s "$W/root-token" ]; then
  echo "init: unexpected output of vault operator init; the material stays in this pod's memory volume" >&2
  exit 1
fi
# A non-empty array opens a line of its own ("[" at the end); an empty one is [] and a missing one null.
if grep -q '"unseal_keys_b64": \[[[:space:]]*$' "$W/recovery.json.tmp" || ! grep -q '"recovery_keys_b64": \[[[:space:]]*$' "$W/recovery.json.tmp"; then
  echo "init: Vault was initialised with a Shamir seal (unseal keys, no recovery keys): its auto-unseal seal is not in effect." \
    "Nothing is stored or configured; wipe its Raft data, fix the seal and run the Job again (docs/bootstrap.md)" >&2
  exit 1
fi
mv "$W/recovery.json.tmp" "$W/recovery.json"
rm -f "$W/init.json"
echo "init: Vault initialised with $RECOVERY_SHARES recovery key shares (threshold $RECOVERY_THRESHOLD)"
