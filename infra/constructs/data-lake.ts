import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DATA_LAKE_PREFIXES } from '../../shared/resources/definitions';

export interface DataLakeProps {
  /** Keep or delete the buckets with the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** Days quarantined data under `rejected/` is kept. @default 90 */
  readonly rejectedRetentionDays?: number;
  /** Days a non-current object version is kept. @default 30 */
  readonly noncurrentVersionRetentionDays?: number;
  /** Days server access logs are kept. @default 365 */
  readonly accessLogRetentionDays?: number;
}

/**
 * The data lake: one bucket holding the drop folder and everything derived from
 * it (see `DATA_LAKE_PREFIXES`), plus a bucket for its server access logs.
 * Encrypted, versioned, private, TLS-only.
 */
export class DataLake extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: DataLakeProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    for (const [name, days] of [
      ['rejectedRetentionDays', props.rejectedRetentionDays],
      ['noncurrentVersionRetentionDays', props.noncurrentVersionRetentionDays],
      ['accessLogRetentionDays', props.accessLogRetentionDays],
    ] as const) {
      if (days !== undefined && (!Number.isInteger(days) || days < 1)) {
        throw new Error(`DataLake: ${name} must be a positive whole number of days, got ${days}`);
      }
    }
    const autoDeleteObjects = removalPolicy === RemovalPolicy.DESTROY;

    // cdk-nag's S1 accepts this bucket unlogged because it is the access-log destination.
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      removalPolicy,
      autoDeleteObjects,
      lifecycleRules: [
        { id: 'expire-access-logs', expiration: Duration.days(props.accessLogRetentionDays ?? 365) },
      ],
    });
    this.bucket = new s3.Bucket(this, 'Data', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      removalPolicy,
      autoDeleteObjects,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'data-bucket/',
      lifecycleRules: [
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) },
        {
          id: 'expire-rejected',
          prefix: DATA_LAKE_PREFIXES.rejected,
          expiration: Duration.days(props.rejectedRetentionDays ?? 90),
        },
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionRetentionDays ?? 30),
        },
      ],
    });
  }
}
