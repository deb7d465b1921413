import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * Exact S3 grants on the data lake, instead of CDK's `grantRead`/`grantWrite`
 * families (which add `s3:List*` on the whole bucket, `s3:DeleteObject*`
 * including version deletion, object-lock and tagging actions nobody calls).
 * Each deployable states the actions it makes and the prefixes it makes them on.
 */

/** Object-level actions Mappa's code makes (versions: reading the exact version an event named). */
export type ObjectAction =
  's3:GetObject' | 's3:GetObjectVersion' | 's3:PutObject' | 's3:DeleteObject' | 's3:AbortMultipartUpload';

/** Object actions on every key under each prefix (a prefix may end in a partial name). */
export function grantObjects(
  bucket: s3.IBucket,
  grantee: iam.IGrantable,
  actions: readonly ObjectAction[],
  prefixes: readonly string[],
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...actions],
      resources: prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`)),
    }),
  );
}

/** Object actions on exactly the given keys. */
export function grantObjectKeys(
  bucket: s3.IBucket,
  grantee: iam.IGrantable,
  actions: readonly ObjectAction[],
  keys: readonly string[],
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...actions],
      resources: keys.map((key) => bucket.arnForObjects(key)),
    }),
  );
}

/** `s3:ListBucket` limited by the `s3:prefix` condition to keys under the given prefixes. */
export function grantListPrefixes(
  bucket: s3.IBucket,
  grantee: iam.IGrantable,
  prefixes: readonly string[],
): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
    }),
  );
}

/**
 * `s3:ListBucket` without a prefix condition. S3 answers a read of a missing
 * key with 404 only to a caller that may list the bucket (403 otherwise), and
 * it checks that without a prefix; a deployable that reads keys that may not
 * exist yet (the manifest before the first model) needs this.
 */
export function grantMissingKeyAnswers(bucket: s3.IBucket, grantee: iam.IGrantable): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }),
  );
}
