import type { S3Client } from '@aws-sdk/client-s3';
import { deleteKeys, listKeys } from '../aws/s3-objects';
import { versionPrefix } from '../contracts/artifacts';

/**
 * Removes what a failed run wrote under `models/<version>/`, so nothing that
 * lists models finds half a version. (A task killed outright cannot clean up:
 * its version lacks `complete.json`, which is what marks a model complete.)
 * Bucket versioning keeps the deleted objects as non-current versions until
 * the lifecycle rule expires them.
 */
export async function removeAbandonedVersion(s3: S3Client, bucket: string, version: string): Promise<number> {
  const keys = await listKeys(s3, bucket, versionPrefix(version));
  await deleteKeys(s3, bucket, keys);
  return keys.length;
}
