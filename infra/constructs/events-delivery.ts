import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { API_EVENTS_FOLDER, DATA_LAKE_PREFIXES, EVENTS_DELIVERY } from '../../shared/resources/definitions';

export interface EventsDeliveryProps {
  readonly bucket: s3.IBucket;
  readonly streamName: string;
  /** Firehose writes a file when either hint is reached. */
  readonly bufferingIntervalSeconds: number;
  readonly bufferingSizeMiB: number;
}

/** The prefixes Firehose writes: delivered events, and records it could not process. */
const DELIVERY_PREFIXES = [API_EVENTS_FOLDER, `${DATA_LAKE_PREFIXES.rejected}api-events-delivery/`];

/**
 * Events posted to the API → Kinesis Data Firehose (Direct PUT) → one JSON Lines file per buffer under
 * `incoming/interactions/api-events/<day>/`, which triggers preprocessing like any upload. Firehose owns
 * the buffering, batching and retries (it keeps undeliverable data for 24 h), so no compactor of ours
 * reads request-sized objects back. Encrypted at rest with an AWS-owned key; the bucket's SSE applies to
 * the files.
 */
export class EventsDelivery extends Construct {
  public readonly stream: firehose.CfnDeliveryStream;
  /** The role Firehose assumes to write the files (the local double writes under it too). */
  public readonly role: iam.Role;
  public readonly streamArn: string;
  /** Events waiting in Firehose for more than 15 minutes: S3 writes are failing (Firehose retries for 24 h). */
  public readonly deliveryDelayAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: EventsDeliveryProps) {
    super(scope, id);
    const { account } = Stack.of(this);
    this.role = new iam.Role(this, 'DeliveryRole', {
      description: 'Assumed by Firehose to deliver API events into the drop folder',
      // Only this account's Firehose streams may assume it (the confused-deputy guard AWS documents).
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    });
    // The actions AWS documents for a Firehose S3 destination, on the two prefixes it writes and no others.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:AbortMultipartUpload'],
        resources: DELIVERY_PREFIXES.map((prefix) => props.bucket.arnForObjects(`${prefix}*`)),
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [props.bucket.bucketArn],
      }),
    );

    this.stream = new firehose.CfnDeliveryStream(this, 'Stream', {
      deliveryStreamName: props.streamName,
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      extendedS3DestinationConfiguration: {
        bucketArn: props.bucket.bucketArn,
        roleArn: this.role.roleArn,
        prefix: EVENTS_DELIVERY.prefix,
        errorOutputPrefix: EVENTS_DELIVERY.errorOutputPrefix,
        fileExtension: EVENTS_DELIVERY.fileExtension,
        // Uncompressed: ingestion reads gzip too, but files of a minute's events are small.
        compressionFormat: 'UNCOMPRESSED',
        bufferingHints: {
          intervalInSeconds: props.bufferingIntervalSeconds,
          sizeInMBs: props.bufferingSizeMiB,
        },
      },
    });
    // The role's policy must exist before Firehose validates the destination at creation.
    this.stream.node.addDependency(this.role);
    this.streamArn = this.stream.attrArn;

    this.deliveryDelayAlarm = new cloudwatch.Alarm(this, 'DeliveryDelayAlarm', {
      alarmDescription:
        'Posted events have waited in Firehose for over 15 minutes: delivery into the drop folder is failing',
      metric: new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName: 'DeliveryToS3.DataFreshness',
        dimensionsMap: { DeliveryStreamName: this.stream.ref },
        statistic: 'Maximum',
        period: Duration.minutes(5),
      }),
      threshold: 900,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    NagSuppressions.addResourceSuppressions(
      this.role,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Firehose names each delivered file itself (day folder, stream, time, random suffix): its object grants cover the two prefixes it writes, incoming/interactions/api-events/ and rejected/api-events-delivery/.',
          appliesTo: [
            {
              regex: `/^Resource::<.*DataLakeData.*\\.Arn>\\/(incoming\\/interactions\\/api-events|rejected\\/api-events-delivery)\\/\\*$/g`,
            },
          ],
        },
      ],
      true,
    );
  }

  /** `firehose:PutRecord` on this stream only: the one call the events function makes. */
  grantPutRecord(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['firehose:PutRecord'], resources: [this.streamArn] }),
    );
  }
}
