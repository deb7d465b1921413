import { INGESTION_V8_FLAGS } from '../../shared/ingest/runtime-flags';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ENV } from '../../shared/config/env-names';
import { CONTINUATIONS_FOLDER } from '../../shared/ingest/layout';
import { DATA_LAKE_PREFIXES, DATASETS, incomingPrefix } from '../../shared/resources/definitions';
import { AppFunction } from './app-function';
import { grantMissingKeyAnswers, grantObjects } from './data-lake-grants';
import type { FeatureStore } from './feature-store';

export interface IngestionProps {
  readonly bucket: s3.Bucket;
  readonly featureStore: FeatureStore;
  /**
   * Reserved concurrency of the preprocess function, to bound DynamoDB write pressure; 0 = no reservation
   * (accounts with the default limit of 10 cannot reserve any). @default 0
   */
  readonly reservedConcurrency?: number;
  /** Memory of the preprocessing function in MB (a 200k-row chunk is held in memory). @default 2048 */
  readonly memorySize?: number;
}

/**
 * The drop-folder pipeline: S3 ObjectCreated under `incoming/<dataset>/` →
 * preprocess Lambda (two retries) → on repeated failure an SQS dead-letter
 * queue that keeps the event (and so the object key); alarms on errors and
 * on messages in the dead-letter queue.
 */
export class Ingestion extends Construct {
  public readonly function: AppFunction;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly errorsAlarm: cloudwatch.Alarm;
  public readonly deadLetterAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: IngestionProps) {
    super(scope, id);
    const concurrency = props.reservedConcurrency ?? 0;
    if (!Number.isInteger(concurrency) || concurrency < 0) {
      throw new Error(`Ingestion: reservedConcurrency must be a whole number >= 0, got ${concurrency}`);
    }
    const tables = props.featureStore.tables;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    NagSuppressions.addResourceSuppressions(this.deadLetterQueue, [
      {
        id: 'AwsSolutions-SQS3',
        reason: 'This queue is itself the dead-letter destination of the preprocess function.',
      },
    ]);

    this.function = new AppFunction(this, 'Preprocess', {
      entryPath: 'functions/preprocess/handler.ts',
      description: 'Cleans, validates and quarantines drop-folder files; maintains the feature store',
      timeout: Duration.minutes(15),
      memorySize: props.memorySize ?? 2048,
      // A file too large for one invocation continues through a marker object under
      // incoming/<dataset>/_continuations/, which triggers this function again: a Lambda → S3
      // → same Lambda chain that Lambda's recursive-loop detection stops after ~16 links. The
      // chain is bounded (each marker names the next chunk, the ledger applies each chunk once,
      // the file's size bounds the chunks), so it is allowed explicitly.
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
      ...(concurrency > 0 ? { reservedConcurrentExecutions: concurrency } : {}),
      environment: {
        NODE_OPTIONS: ['--enable-source-maps', ...INGESTION_V8_FLAGS].join(' '),
        [ENV.dataBucket]: props.bucket.bucketName,
        [ENV.usersTable]: tables.users.tableName,
        [ENV.itemsTable]: tables.items.tableName,
        [ENV.datasetStatsTable]: tables.datasetStats.tableName,
        [ENV.ledgerTable]: tables.ledger.tableName,
      },
    });
    this.function.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new SqsDestination(this.deadLetterQueue),
    });

    // Least privilege, exact actions: read the version an event names, move quarantined files out of the
    // drop folder, write only derived prefixes, and only the tables ingestion maintains.
    grantObjects(
      props.bucket,
      this.function,
      ['s3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject'],
      [DATA_LAKE_PREFIXES.incoming],
    );
    grantObjects(
      props.bucket,
      this.function,
      ['s3:PutObject'],
      DATASETS.map((dataset) => `${incomingPrefix(dataset)}${CONTINUATIONS_FOLDER}`),
    );
    // curated/: parts written, a newer version's replace the older's; rejected/: parts appended
    // (read back) and cleaned up; reports/: written once per file.
    grantObjects(
      props.bucket,
      this.function,
      ['s3:PutObject', 's3:DeleteObject'],
      [DATA_LAKE_PREFIXES.curated],
    );
    grantObjects(
      props.bucket,
      this.function,
      ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      [DATA_LAKE_PREFIXES.rejected],
    );
    grantObjects(props.bucket, this.function, ['s3:PutObject'], [DATA_LAKE_PREFIXES.reports]);
    grantMissingKeyAnswers(props.bucket, this.function);
    for (const table of [tables.users, tables.items, tables.datasetStats, tables.ledger]) {
      // Conditional puts (optimistic versions), never updates in place.
      table.grant(this.function, 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem');
    }
    // The forgotten users' tombstones, one partition read per file: their rows are dropped.
    tables.ledger.grant(this.function, 'dynamodb:Query');
    NagSuppressions.addResourceSuppressions(
      this.function,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Object actions are scoped to the data-lake prefixes this function owns (incoming/, curated/, rejected/, reports/); object keys below them are data-dependent.',
          appliesTo: [
            { regex: '/^Resource::<.*DataLakeData.*\\.Arn>\\/(incoming|curated|rejected|reports)\\/.*$/g' },
          ],
        },
      ],
      true,
    );

    for (const dataset of DATASETS) {
      props.bucket.addEventNotification(
        s3.EventType.OBJECT_CREATED,
        new s3n.LambdaDestination(this.function),
        {
          prefix: incomingPrefix(dataset),
        },
      );
    }

    this.errorsAlarm = new cloudwatch.Alarm(this, 'ErrorsAlarm', {
      alarmDescription:
        'Preprocessing invocations failed (each is retried twice before the dead-letter queue)',
      metric: this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.deadLetterAlarm = new cloudwatch.Alarm(this, 'DeadLettersAlarm', {
      alarmDescription: 'A drop-folder file kept failing and was sent to the dead-letter queue',
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}
