# Snapshot step 2 of 2 (aws-cli image): upload the snapshot in one PutObject (no
# multipart upload) under the bucket's snapshot prefix; the bucket encrypts it with KMS.
set -eu
name="$(cat /snapshots/latest)"
aws s3api put-object --bucket "$SNAPSHOT_BUCKET" --key "$SNAPSHOT_PREFIX/$name" \
  --body "/snapshots/$name" --checksum-algorithm SHA256 --query ETag --output text > /dev/null
echo "snapshot: uploaded s3://$SNAPSHOT_BUCKET/$SNAPSHOT_PREFIX/$name"
